/* Session loop and request dispatch of the device link (spec §2.1-§2.8):
 * one delimited EndpointRequests in, one delimited Responses out (by
 * position, goodbye answered by nothing, nothing written for an empty
 * list), hello intercepted whatever its address, CRL gate, AGENT /
 * keystore / datastore endpoints. Every failure ends the session without
 * an answer and drops open datastore transactions. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "el2go/agent.h"
#include "internal.h"
#include "nxp/Dispatcher.pb-c.h"

/* One response under construction; everything it points to lives here
 * (data is malloc'ed). */
typedef struct {
    Nxp__Iot__ResponsePayload payload;
    Nxp__Iot__AgentHelloResponse hello;
    Nxp__Iot__EndpointInformation ep[EL2GO_MAX_ENDPOINTS];
    Nxp__Iot__EndpointInformation *epp[EL2GO_MAX_ENDPOINTS];
    uint8_t ad[EL2GO_MAX_ENDPOINTS][EL2GO_VARINT_MAX + 8]; /* varint length || message */
    Nxp__Iot__AgentCrlResponse crl;
    Nxp__Iot__ApduResponse apdu;
    Nxp__Iot__DatastoreResponse ds;
    uint8_t *data;
} rsp_item;

typedef struct {
    const el2go_agent_cfg *cfg;
    el2go_session_result *res;
    rsp_item **items;
    size_t n_items, cap_items;
    size_t budget; /* bytes of response data promised in this message */
    bool closed;
    el2go_status close_status;
} session;

static el2go_status fail(session *s, el2go_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->res->err, sizeof(s->res->err), fmt, ap);
    va_end(ap);
    if (s->cfg->log)
        fprintf(s->cfg->log, "el2go: session ends: %s\n", s->res->err);
    return st;
}

static void logf_(const session *s, const char *fmt, ...)
{
    if (!s->cfg->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("el2go: ", s->cfg->log);
    vfprintf(s->cfg->log, fmt, ap);
    fputc('\n', s->cfg->log);
    va_end(ap);
}

static rsp_item *new_item(session *s)
{
    if (s->n_items == s->cap_items) {
        size_t cap = s->cap_items ? 2 * s->cap_items : 8;
        rsp_item **p = realloc(s->items, cap * sizeof(*p));
        if (!p)
            return NULL;
        s->items = p;
        s->cap_items = cap;
    }
    rsp_item *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    nxp__iot__response_payload__init(&it->payload);
    s->items[s->n_items++] = it;
    return it;
}

static void free_items(session *s)
{
    for (size_t i = 0; i < s->n_items; i++) {
        free(s->items[i]->data);
        free(s->items[i]);
    }
    s->n_items = 0;
    s->budget = 0;
}

/* ---- hello (spec §2.4) ----------------------------------------------- */

static size_t delimited(uint8_t *out, const uint8_t *msg, size_t len)
{
    size_t h = el2go_varint_encode(len, out);
    memcpy(out + h, msg, len);
    return h + len;
}

static void endpoint(rsp_item *it, size_t i, int type, uint32_t id)
{
    Nxp__Iot__EndpointInformation *e = &it->ep[i];
    nxp__iot__endpoint_information__init(e);
    e->has_type = e->has_endpointid = e->has_version = 1;
    e->type = (Nxp__Iot__EndpointType)type;
    e->endpointid = id;
    e->version = EL2GO_ENDPOINT_VERSION;
    it->epp[i] = e;
}

static void ds_endpoint(rsp_item *it, size_t i, const el2go_datastore *ds)
{
    static const uint8_t dsad[] = {0x08, 0x01}; /* supportsTransactions = true */
    endpoint(it, i, el2go_ds_type(ds), el2go_ds_id(ds));
    it->ep[i].has_additionaldata = 1;
    it->ep[i].additionaldata.data = it->ad[i];
    it->ep[i].additionaldata.len = delimited(it->ad[i], dsad, sizeof(dsad));
}

static void build_hello(const el2go_agent_cfg *cfg, rsp_item *it)
{
    Nxp__Iot__AgentHelloResponse *h = &it->hello;
    nxp__iot__agent_hello_response__init(h);
    h->has_version = 1;
    h->version = EL2GO_AGENT_VERSION;
    h->has_communicationbuffersizeresponses = 1;
    h->communicationbuffersizeresponses = EL2GO_RESPONSE_BUFFER;
    h->has_communicationbuffersizerequests = 1;
    h->communicationbuffersizerequests = (int32_t)EL2GO_REQUEST_BUFFER;
    h->has_usemultiplerequestspermessage = 1;
    h->usemultiplerequestspermessage = 1;

    /* AGENT/0 with a length-prefixed AgentAdditionalData. */
    size_t n = 0;
    endpoint(it, n, NXP__IOT__ENDPOINT_TYPE__AGENT, 0);
    uint8_t ad[4] = {0x08, NXP__IOT__SERVICE_DESCRIPTOR_VERSION__PROTOBUF, 0x10, 0x01};
    it->ep[n].has_additionaldata = 1;
    it->ep[n].additionaldata.data = it->ad[n];
    it->ep[n].additionaldata.len = delimited(it->ad[n], ad, cfg->request_crl ? 4 : 2);
    n++;
    if (cfg->el2go_ds)
        ds_endpoint(it, n++, cfg->el2go_ds);
    for (size_t i = 0; i < cfg->n_datastores && i < EL2GO_MAX_DATASTORES; i++)
        if (cfg->datastores[i])
            ds_endpoint(it, n++, cfg->datastores[i]);
    if (cfg->keystore)
        endpoint(it, n++, NXP__IOT__ENDPOINT_TYPE__KS_SSS_SE05X, el2go_ks_id(cfg->keystore));
    h->n_endpoints = n;
    h->endpoints = it->epp;
    it->payload.message_case = NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_HELLO;
    it->payload.hello = h;
}

el2go_status el2go_hello_response_pack(const el2go_agent_cfg *cfg, uint8_t **out, size_t *len)
{
    if (!cfg || !out || !len)
        return EL2GO_ERR_ARG;
    rsp_item *it = calloc(1, sizeof(*it));
    if (!it)
        return EL2GO_ERR_NOMEM;
    build_hello(cfg, it);
    size_t n = nxp__iot__agent_hello_response__get_packed_size(&it->hello);
    *out = malloc(n ? n : 1);
    if (*out)
        *len = nxp__iot__agent_hello_response__pack(&it->hello, *out);
    free(it);
    return *out ? EL2GO_OK : EL2GO_ERR_NOMEM;
}

/* ---- AGENT endpoint: goodbye, CRL ------------------------------------ */

static el2go_status on_goodbye(session *s, const Nxp__Iot__AgentGoodbyeRequest *g)
{
    el2go_session_result *r = s->res;
    r->goodbye = true;
    s->closed = true;
    s->close_status = EL2GO_OK;
    if (!g->status || r->report)
        return EL2GO_OK;
    size_t n = nxp__iot__update_status_report__get_packed_size(g->status);
    r->report_raw = malloc(n ? n : 1);
    if (!r->report_raw)
        return fail(s, EL2GO_ERR_NOMEM, "out of memory storing the report");
    r->report_raw_len = nxp__iot__update_status_report__pack(g->status, r->report_raw);
    r->report = nxp__iot__update_status_report__unpack(NULL, r->report_raw_len, r->report_raw);
    if (!r->report)
        return fail(s, EL2GO_ERR_NOMEM, "out of memory storing the report");
    logf_(s, "goodbye, status %s",
          el2go_update_status_name(r->report->has_status ? (int)r->report->status : 0));
    return EL2GO_OK;
}

static el2go_status on_crl(session *s, const Nxp__Iot__AgentCrlRequest *c)
{
    rsp_item *it = new_item(s);
    if (!it)
        return fail(s, EL2GO_ERR_NOMEM, "out of memory");
    /* Always empty, like the reference agent (spec §2.5). */
    nxp__iot__agent_crl_response__init(&it->crl);
    it->payload.message_case = NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_CRL;
    it->payload.crl = &it->crl;
    char err[160] = "no CRL verifier configured";
    el2go_status st = EL2GO_ERR_CRL;
    if (s->cfg->crl_verify && c->has_crl && c->crl.len)
        st = s->cfg->crl_verify(s->cfg->crl_ctx, c->crl.data, c->crl.len, err, sizeof(err));
    else if (s->cfg->crl_verify)
        snprintf(err, sizeof(err), "empty CRL");
    if (st == EL2GO_OK) {
        s->res->crl_verified = true;
        logf_(s, "CRL verified");
        return EL2GO_OK;
    }
    /* Answer, then end the session (spec §2.5). */
    s->closed = true;
    s->close_status = fail(s, EL2GO_ERR_CRL, "CRL check failed: %s", err);
    return EL2GO_OK;
}

/* ---- keystore ------------------------------------------------------- */

static el2go_status on_apdu(session *s, const Nxp__Iot__ApduRequest *a)
{
    if (!a->has_message || a->message.len == 0)
        return fail(s, EL2GO_ERR_PROTOCOL, "APDU request without an APDU");
    rsp_item *it = new_item(s);
    if (!it || !(it->data = malloc(EL2GO_RESPONSE_BUFFER)))
        return fail(s, EL2GO_ERR_NOMEM, "out of memory");
    size_t olen;
    el2go_status st = el2go_ks_forward(s->cfg->keystore, a->message.data, a->message.len, it->data,
                                       EL2GO_RESPONSE_BUFFER, &olen);
    if (st != EL2GO_OK)
        return fail(s, st, "APDU forwarding: %s", el2go_strerror(st));
    nxp__iot__apdu_response__init(&it->apdu);
    it->apdu.has_message = 1;
    it->apdu.message.data = it->data;
    it->apdu.message.len = olen;
    it->payload.message_case = NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_APDU;
    it->payload.apdu = &it->apdu;
    s->budget += olen;
    return EL2GO_OK;
}

/* ---- datastores (spec §2.8) ------------------------------------------ */

static rsp_item *ds_ok(session *s)
{
    rsp_item *it = new_item(s);
    if (!it)
        return NULL;
    nxp__iot__datastore_response__init(&it->ds);
    it->ds.has_status = 1;
    it->ds.status = NXP__IOT__DATASTORE_STATUS__OK;
    it->payload.message_case = NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_DATASTORE;
    it->payload.datastore = &it->ds;
    return it;
}

static el2go_status ds_read(session *s, el2go_datastore *ds, const Nxp__Iot__DatastoreRequest *r)
{
    int32_t off = r->has_offset ? r->offset : 0, len = r->has_length ? r->length : 0;
    if (off < 0 || len < 0)
        return fail(s, EL2GO_ERR_PROTOCOL, "datastore READ with a negative offset or length");
    if ((size_t)len > EL2GO_RESPONSE_BUFFER - s->budget)
        return fail(s, EL2GO_ERR_TOO_LARGE,
                    "datastore READ of %d bytes exceeds the response buffer", len);
    rsp_item *it = ds_ok(s);
    if (!it || !(it->data = malloc(len ? (size_t)len : 1)))
        return fail(s, EL2GO_ERR_NOMEM, "out of memory");
    size_t got;
    el2go_ds_read(ds, (size_t)off, it->data, (size_t)len, &got);
    it->ds.has_data = 1;
    it->ds.data.data = it->data;
    it->ds.data.len = got;
    s->budget += got;
    return EL2GO_OK;
}

static el2go_status on_datastore(session *s, el2go_datastore *ds,
                                 const Nxp__Iot__DatastoreRequest *r)
{
    if (!r->has_operation)
        return EL2GO_OK; /* no answer at all, like the reference (spec §2.8) */
    el2go_status st;
    switch (r->operation) {
    case NXP__IOT__DATASTORE_OPERATION__READ: return ds_read(s, ds, r);
    case NXP__IOT__DATASTORE_OPERATION__ALLOCATE:
        st = r->has_length && r->length > 0 ? el2go_ds_allocate(ds, (size_t)r->length)
                                            : EL2GO_ERR_PROTOCOL;
        break;
    case NXP__IOT__DATASTORE_OPERATION__WRITE:
        st = r->has_offset && r->offset >= 0 ? el2go_ds_write(ds, (size_t)r->offset, r->data.data,
                                                              r->has_data ? r->data.len : 0)
                                             : EL2GO_ERR_PROTOCOL;
        break;
    case NXP__IOT__DATASTORE_OPERATION__COMMIT:
        st = el2go_ds_commit(ds);
        if (st == EL2GO_OK)
            logf_(s, "datastore 0x%08x committed (%zu bytes)", el2go_ds_id(ds), el2go_ds_size(ds));
        break;
    default: st = EL2GO_ERR_PROTOCOL;
    }
    if (st != EL2GO_OK)
        return fail(s, st, "datastore 0x%08x operation %d failed: %s", el2go_ds_id(ds),
                    (int)r->operation, el2go_strerror(st));
    return ds_ok(s) ? EL2GO_OK : fail(s, EL2GO_ERR_NOMEM, "out of memory");
}

static el2go_datastore *find_ds(const el2go_agent_cfg *cfg, int type, uint32_t id)
{
    if (cfg->el2go_ds && el2go_ds_type(cfg->el2go_ds) == type && el2go_ds_id(cfg->el2go_ds) == id)
        return cfg->el2go_ds;
    for (size_t i = 0; i < cfg->n_datastores && i < EL2GO_MAX_DATASTORES; i++) {
        el2go_datastore *d = cfg->datastores[i];
        if (d && el2go_ds_type(d) == type && el2go_ds_id(d) == id)
            return d;
    }
    return NULL;
}

/* ---- routing ------------------------------------------------------- */

static bool gate_allows(int pc)
{
    return pc == NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_HELLO ||
           pc == NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_GOODBYE ||
           pc == NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_CRL;
}

static el2go_status dispatch(session *s, const Nxp__Iot__EndpointRequest *req)
{
    const Nxp__Iot__RequestPayload *p = req->payload;
    if (!p || p->payload_case == NXP__IOT__REQUEST_PAYLOAD__PAYLOAD__NOT_SET)
        return fail(s, EL2GO_ERR_ENDPOINT, "request without a known payload");
    int pc = p->payload_case;
    if (pc == NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_HELLO) {
        rsp_item *it = new_item(s);
        if (!it)
            return fail(s, EL2GO_ERR_NOMEM, "out of memory");
        build_hello(s->cfg, it);
        logf_(s, "hello");
        return EL2GO_OK;
    }
    if (!req->has_type || !req->has_endpointid)
        return fail(s, EL2GO_ERR_ENDPOINT, "request without endpoint type or id");
    if (s->cfg->request_crl && !s->res->crl_verified && !gate_allows(pc))
        return fail(s, EL2GO_ERR_PROTOCOL, "request (payload %d) before a CRL was accepted", pc);
    int type = req->type;
    uint32_t id = req->endpointid;
    if (type == NXP__IOT__ENDPOINT_TYPE__AGENT && id == 0) {
        if (pc == NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_GOODBYE)
            return on_goodbye(s, p->goodbye);
        if (pc == NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_CRL)
            return on_crl(s, p->crl);
        return fail(s, EL2GO_ERR_ENDPOINT, "payload %d not supported by the agent endpoint", pc);
    }
    if (type == NXP__IOT__ENDPOINT_TYPE__KS_SSS_SE05X && s->cfg->keystore &&
        el2go_ks_id(s->cfg->keystore) == id) {
        if (pc == NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_APDU)
            return on_apdu(s, p->apdu);
        return fail(s, EL2GO_ERR_ENDPOINT, "payload %d not supported by the keystore", pc);
    }
    el2go_datastore *ds = find_ds(s->cfg, type, id);
    if (ds) {
        if (pc == NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_DATASTORE)
            return on_datastore(s, ds, p->datastore);
        return fail(s, EL2GO_ERR_ENDPOINT, "payload %d not supported by a datastore", pc);
    }
    return fail(s, EL2GO_ERR_ENDPOINT, "unknown endpoint type %d id 0x%08x", type, id);
}

static el2go_status send_responses(session *s, el2go_stream *st)
{
    if (s->n_items == 0)
        return EL2GO_OK; /* nothing at all is written (spec §2.1) */
    Nxp__Iot__ResponsePayload **arr = calloc(s->n_items, sizeof(*arr));
    if (!arr)
        return fail(s, EL2GO_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s->n_items; i++)
        arr[i] = &s->items[i]->payload;
    Nxp__Iot__Responses r = NXP__IOT__RESPONSES__INIT;
    r.n_responses = s->n_items;
    r.responses = arr;
    size_t n = nxp__iot__responses__get_packed_size(&r);
    el2go_status ret = EL2GO_OK;
    uint8_t *buf = NULL;
    if (n > EL2GO_RESPONSE_BUFFER)
        ret = fail(s, EL2GO_ERR_TOO_LARGE, "responses (%zu bytes) exceed the %u-byte buffer", n,
                   EL2GO_RESPONSE_BUFFER);
    else if (!(buf = malloc(n)))
        ret = fail(s, EL2GO_ERR_NOMEM, "out of memory");
    if (ret == EL2GO_OK) {
        nxp__iot__responses__pack(&r, buf);
        ret = el2go_frame_write(st, buf, n);
        if (ret != EL2GO_OK)
            fail(s, ret, "writing responses failed");
    }
    free(buf);
    free(arr);
    return ret;
}

static el2go_status one_message(session *s, el2go_stream *st)
{
    size_t max = s->cfg->max_request ? s->cfg->max_request : EL2GO_MAX_REQUEST_DEFAULT;
    uint8_t *msg;
    size_t len;
    el2go_status ret = el2go_frame_read(st, max, &msg, &len);
    if (ret != EL2GO_OK)
        return fail(s, ret, "reading a request: %s", el2go_strerror(ret));
    Nxp__Iot__EndpointRequests *reqs = nxp__iot__endpoint_requests__unpack(NULL, len, msg);
    free(msg);
    if (!reqs)
        return fail(s, EL2GO_ERR_DECODE, "undecodable EndpointRequests (%zu bytes)", len);
    s->res->messages++;
    for (size_t i = 0; ret == EL2GO_OK && i < reqs->n_requests; i++) {
        s->res->requests++;
        ret = dispatch(s, reqs->requests[i]);
    }
    nxp__iot__endpoint_requests__free_unpacked(reqs, NULL);
    if (ret == EL2GO_OK)
        ret = send_responses(s, st);
    free_items(s);
    return ret;
}

static void abort_transactions(const el2go_agent_cfg *cfg)
{
    el2go_ds_abort(cfg->el2go_ds);
    for (size_t i = 0; i < cfg->n_datastores && i < EL2GO_MAX_DATASTORES; i++)
        el2go_ds_abort(cfg->datastores[i]);
}

/* Endpoint ids are unique across datastores and the keystore, and
 * 0x70000000 belongs to the connection datastore (spec §7). */
static bool cfg_valid(const el2go_agent_cfg *cfg)
{
    uint32_t ids[EL2GO_MAX_ENDPOINTS];
    size_t n = 0;
    if (cfg->n_datastores > EL2GO_MAX_DATASTORES)
        return false;
    if (cfg->el2go_ds && el2go_ds_id(cfg->el2go_ds) != EL2GO_DATASTORE_ID)
        return false;
    for (size_t i = 0; i < cfg->n_datastores; i++) {
        if (!cfg->datastores[i] || el2go_ds_id(cfg->datastores[i]) == EL2GO_DATASTORE_ID)
            return false;
        ids[n++] = el2go_ds_id(cfg->datastores[i]);
    }
    if (cfg->keystore)
        ids[n++] = el2go_ks_id(cfg->keystore);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (ids[i] == ids[j])
                return false;
    return true;
}

el2go_status el2go_session_run(const el2go_agent_cfg *cfg, el2go_stream *st,
                               el2go_session_result *result)
{
    if (!cfg || !st || !result)
        return EL2GO_ERR_ARG;
    memset(result, 0, sizeof(*result));
    if (!cfg_valid(cfg)) {
        snprintf(result->err, sizeof(result->err),
                 "invalid endpoint configuration (duplicate ids or reserved 0x70000000)");
        return EL2GO_ERR_ARG;
    }
    session s = {.cfg = cfg, .res = result};
    el2go_status ret = EL2GO_OK;
    while (ret == EL2GO_OK && !s.closed)
        ret = one_message(&s, st);
    if (ret == EL2GO_OK)
        ret = s.close_status;
    abort_transactions(cfg); /* uncommitted data is never kept */
    free_items(&s);
    free(s.items);
    return ret;
}

void el2go_session_result_clear(el2go_session_result *r)
{
    if (!r)
        return;
    if (r->report)
        nxp__iot__update_status_report__free_unpacked(r->report, NULL);
    free(r->report_raw);
    memset(r, 0, sizeof(*r));
}
