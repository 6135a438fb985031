/* el2go-server protocol engine (spec §2, server side): drives one device-link
 * session over an el2go_stream. The server speaks first: hello, the CRL when
 * the agent asks for one, then the remote SE is used through a hostlib
 * se05x_conn whose transport wraps every command APDU into an ApduRequest to
 * the agent's keystore endpoint (so every command is built by hostlib's
 * encoders, and an ECKey session on that connection is end to end), then
 * datastore reads and transactional writes, and a goodbye carrying the full
 * UpdateStatusReport. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "el2go/datastore.h"
#include "el2go_server/server.h"
#include "nxp/Dispatcher.pb-c.h"
#include "se05x/commands.h"
#include "se05x/conn.h"
#include "se05x/curves.h"
#include "se05x/transport.h"

#define SERVER_VERSION 0x01000000u
#define MAX_RESPONSE (1u << 20)
#define DS_CHUNK 2048u /* READ/WRITE chunk: fits the agent's 4096-byte response buffer */
#define MAX_DETAILS 64

typedef struct {
    const el2gs_engine_cfg *cfg;
    el2go_stream *s;
    el2gs_session_result *r;
    bool has_ks, has_cds, has_ds, want_crl;
    uint32_t ks_id, cds_id, ds_id;
    int cds_type, ds_type;
    se05x_conn *se;
    /* report details */
    Nxp__Iot__AgentRtpStatus__RtpObjectStatus rtp_d[MAX_DETAILS], *rtp_p[MAX_DETAILS];
    size_t n_rtp;
    Nxp__Iot__AgentCspStatus__CspServiceStatus csp_d[MAX_DETAILS], *csp_p[MAX_DETAILS];
    size_t n_csp;
} eng;

static void logf_(eng *e, const char *fmt, ...)
{
    if (!e->cfg->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(e->cfg->log, "el2go-server: ");
    vfprintf(e->cfg->log, fmt, ap);
    fputc('\n', e->cfg->log);
    va_end(ap);
}

static el2go_status fail(eng *e, el2go_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->r->err, sizeof(e->r->err), fmt, ap);
    va_end(ap);
    logf_(e, "%s", e->r->err);
    return st;
}

const char *el2gs_update_status_name(int st)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &nxp__iot__update_status_report__update_status__descriptor, st);
    return v ? v->name : "UNKNOWN";
}

/* ---- message exchange ------------------------------------------------ */

static el2go_status send_reqs(eng *e, Nxp__Iot__EndpointRequest **reqs, size_t n)
{
    Nxp__Iot__EndpointRequests m = NXP__IOT__ENDPOINT_REQUESTS__INIT;
    m.n_requests = n;
    m.requests = reqs;
    size_t len = nxp__iot__endpoint_requests__get_packed_size(&m);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return EL2GO_ERR_NOMEM;
    nxp__iot__endpoint_requests__pack(&m, buf);
    el2go_status st = el2go_frame_write(e->s, buf, len);
    free(buf);
    if (st != EL2GO_OK)
        return fail(e, st, "cannot write to the agent: %s", el2go_strerror(st));
    return EL2GO_OK;
}

/* Read one Responses holding exactly n entries. */
static el2go_status recv_resp(eng *e, size_t n, Nxp__Iot__Responses **out)
{
    uint8_t *msg = NULL;
    size_t len = 0;
    el2go_status st = el2go_frame_read(e->s, MAX_RESPONSE, &msg, &len);
    if (st != EL2GO_OK)
        return fail(e, st, "no response from the agent: %s", el2go_strerror(st));
    Nxp__Iot__Responses *r = nxp__iot__responses__unpack(NULL, len, msg);
    free(msg);
    if (!r)
        return fail(e, EL2GO_ERR_DECODE, "malformed Responses message from the agent (%zu bytes)", len);
    if (r->n_responses != n) {
        size_t got = r->n_responses;
        nxp__iot__responses__free_unpacked(r, NULL);
        return fail(e, EL2GO_ERR_PROTOCOL, "the agent sent %zu responses for %zu requests", got, n);
    }
    *out = r;
    return EL2GO_OK;
}

typedef struct {
    Nxp__Iot__EndpointRequest er;
    Nxp__Iot__RequestPayload p;
} req_t;

static void req_init(req_t *q, int type, uint32_t id)
{
    nxp__iot__endpoint_request__init(&q->er);
    nxp__iot__request_payload__init(&q->p);
    q->er.has_type = q->er.has_endpointid = 1;
    q->er.type = type;
    q->er.endpointid = id;
    q->er.payload = &q->p;
}

/* ---- the remote SE as a hostlib transport --------------------------- */

typedef struct {
    se05x_transport base;
    eng *e;
} link_t;

static se05x_status link_tx(se05x_transport *t, const uint8_t *cmd, size_t len, uint8_t *rsp,
                            size_t cap, size_t *rlen)
{
    eng *e = ((link_t *)t)->e;
    req_t q;
    Nxp__Iot__ApduRequest a = NXP__IOT__APDU_REQUEST__INIT;
    req_init(&q, NXP__IOT__ENDPOINT_TYPE__KS_SSS_SE05X, e->ks_id);
    a.has_message = 1;
    a.message.data = (uint8_t *)cmd;
    a.message.len = len;
    q.p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_APDU;
    q.p.apdu = &a;
    Nxp__Iot__EndpointRequest *pq = &q.er;
    Nxp__Iot__Responses *r = NULL;
    if (send_reqs(e, &pq, 1) != EL2GO_OK || recv_resp(e, 1, &r) != EL2GO_OK) {
        snprintf(t->err, sizeof(t->err), "%s", e->r->err);
        return SE05X_ERR_TRANSPORT;
    }
    e->r->apdus++;
    se05x_status st = SE05X_OK;
    Nxp__Iot__ResponsePayload *p = r->responses[0];
    if (p->message_case != NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_APDU || !p->apdu->has_message ||
        p->apdu->message.len < 2) {
        fail(e, EL2GO_ERR_PROTOCOL, "the agent answered an APDU with something else");
        st = SE05X_ERR_RESPONSE;
    } else if (p->apdu->message.len > cap) {
        st = SE05X_ERR_BUFFER;
    } else {
        memcpy(rsp, p->apdu->message.data, p->apdu->message.len);
        *rlen = p->apdu->message.len;
    }
    nxp__iot__responses__free_unpacked(r, NULL);
    return st;
}

static se05x_status link_reset(se05x_transport *t, uint8_t *atr, size_t cap, size_t *atrlen)
{
    (void)t, (void)atr, (void)cap;
    if (atrlen)
        *atrlen = 0;
    return SE05X_ERR_UNSUPPORTED;
}

static void link_close(se05x_transport *t)
{
    free(t);
}

static const se05x_transport_ops LINK_OPS = {
    .name = "el2go-link", .transceive = link_tx, .reset = link_reset, .close = link_close};

/* ---- datastores ----------------------------------------------------- */

/* Read the whole committed contents (READ in chunks until a short one). */
static el2go_status ds_read_all(eng *e, int type, uint32_t id, uint8_t **out, size_t *olen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    for (;;) {
        req_t q;
        Nxp__Iot__DatastoreRequest d = NXP__IOT__DATASTORE_REQUEST__INIT;
        req_init(&q, type, id);
        d.has_operation = d.has_offset = d.has_length = 1;
        d.operation = NXP__IOT__DATASTORE_OPERATION__READ;
        d.offset = (int32_t)len;
        d.length = DS_CHUNK;
        q.p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_DATASTORE;
        q.p.datastore = &d;
        Nxp__Iot__EndpointRequest *pq = &q.er;
        Nxp__Iot__Responses *r = NULL;
        el2go_status st = send_reqs(e, &pq, 1);
        if (st == EL2GO_OK)
            st = recv_resp(e, 1, &r);
        if (st != EL2GO_OK) {
            free(buf);
            return st;
        }
        Nxp__Iot__ResponsePayload *p = r->responses[0];
        if (p->message_case != NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_DATASTORE ||
            p->datastore->status != NXP__IOT__DATASTORE_STATUS__OK) {
            nxp__iot__responses__free_unpacked(r, NULL);
            free(buf);
            return fail(e, EL2GO_ERR_PROTOCOL, "datastore 0x%08X: READ failed", id);
        }
        size_t got = p->datastore->has_data ? p->datastore->data.len : 0;
        if (got > DS_CHUNK || len + got > EL2GO_DS_MAX_SIZE) {
            nxp__iot__responses__free_unpacked(r, NULL);
            free(buf);
            return fail(e, EL2GO_ERR_TOO_LARGE, "datastore 0x%08X: READ answer too long", id);
        }
        uint8_t *nb = realloc(buf, len + got + 1);
        if (!nb) {
            nxp__iot__responses__free_unpacked(r, NULL);
            free(buf);
            return EL2GO_ERR_NOMEM;
        }
        buf = nb;
        if (got)
            memcpy(buf + len, p->datastore->data.data, got);
        len += got;
        nxp__iot__responses__free_unpacked(r, NULL);
        if (got < DS_CHUNK)
            break;
    }
    *out = buf;
    *olen = len;
    return EL2GO_OK;
}

/* Replace the contents: ALLOCATE, WRITE chunks, COMMIT in one message. */
static el2go_status ds_write_all(eng *e, int type, uint32_t id, const uint8_t *data, size_t len)
{
    size_t nw = (len + DS_CHUNK - 1) / DS_CHUNK, n = nw + 2;
    req_t *q = calloc(n, sizeof(*q));
    Nxp__Iot__DatastoreRequest *d = calloc(n, sizeof(*d));
    Nxp__Iot__EndpointRequest **pq = calloc(n, sizeof(*pq));
    el2go_status st = EL2GO_ERR_NOMEM;
    Nxp__Iot__Responses *r = NULL;
    if (!q || !d || !pq)
        goto out;
    for (size_t i = 0; i < n; i++) {
        req_init(&q[i], type, id);
        nxp__iot__datastore_request__init(&d[i]);
        d[i].has_operation = 1;
        q[i].p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_DATASTORE;
        q[i].p.datastore = &d[i];
        pq[i] = &q[i].er;
    }
    d[0].operation = NXP__IOT__DATASTORE_OPERATION__ALLOCATE;
    d[0].has_length = 1;
    d[0].length = (int32_t)len;
    for (size_t i = 0; i < nw; i++) {
        size_t off = i * DS_CHUNK, c = len - off < DS_CHUNK ? len - off : DS_CHUNK;
        d[1 + i].operation = NXP__IOT__DATASTORE_OPERATION__WRITE;
        d[1 + i].has_offset = d[1 + i].has_data = 1;
        d[1 + i].offset = (int32_t)off;
        d[1 + i].data.data = (uint8_t *)data + off;
        d[1 + i].data.len = c;
    }
    d[n - 1].operation = NXP__IOT__DATASTORE_OPERATION__COMMIT;
    st = send_reqs(e, pq, n);
    if (st == EL2GO_OK)
        st = recv_resp(e, n, &r);
    for (size_t i = 0; st == EL2GO_OK && i < n; i++)
        if (r->responses[i]->message_case != NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_DATASTORE ||
            r->responses[i]->datastore->status != NXP__IOT__DATASTORE_STATUS__OK)
            st = fail(e, EL2GO_ERR_PROTOCOL, "datastore 0x%08X: write step %zu failed", id, i);
out:
    if (r)
        nxp__iot__responses__free_unpacked(r, NULL);
    free(q);
    free(d);
    free(pq);
    return st;
}

/* Write contents unless the datastore holds exactly them already, or
 * (keep_blank) was never written at all (0 bytes). *written tells which. */
static el2go_status ds_sync(eng *e, int type, uint32_t id, const uint8_t *want, size_t wlen,
                            bool keep_blank, bool *written)
{
    uint8_t *cur = NULL;
    size_t clen = 0;
    *written = false;
    el2go_status st = ds_read_all(e, type, id, &cur, &clen);
    if (st != EL2GO_OK)
        return st;
    bool same = (clen == wlen && !memcmp(cur, want, wlen)) || (keep_blank && clen == 0);
    free(cur);
    if (same)
        return EL2GO_OK;
    st = ds_write_all(e, type, id, want, wlen);
    *written = st == EL2GO_OK;
    return st;
}

/* ---- hello / CRL ---------------------------------------------------- */

static void parse_agent_ad(eng *e, const ProtobufCBinaryData *ad)
{
    uint64_t l;
    size_t used;
    if (el2go_varint_decode(ad->data, ad->len, &l, &used) != EL2GO_OK || l > ad->len - used)
        return;
    Nxp__Iot__AgentAdditionalData *a =
        nxp__iot__agent_additional_data__unpack(NULL, (size_t)l, ad->data + used);
    if (a) {
        e->want_crl = a->has_requestcrl && a->requestcrl;
        nxp__iot__agent_additional_data__free_unpacked(a, NULL);
    }
}

static el2go_status do_hello(eng *e)
{
    req_t q;
    Nxp__Iot__AgentHelloRequest h = NXP__IOT__AGENT_HELLO_REQUEST__INIT;
    req_init(&q, NXP__IOT__ENDPOINT_TYPE__AGENT, 0);
    h.has_version = h.has_communicationbuffersize = 1;
    h.version = SERVER_VERSION;
    h.communicationbuffersize = (int32_t)MAX_RESPONSE;
    q.p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_HELLO;
    q.p.hello = &h;
    Nxp__Iot__EndpointRequest *pq = &q.er;
    Nxp__Iot__Responses *r = NULL;
    el2go_status st = send_reqs(e, &pq, 1);
    if (st == EL2GO_OK)
        st = recv_resp(e, 1, &r);
    if (st != EL2GO_OK)
        return st;
    Nxp__Iot__ResponsePayload *p = r->responses[0];
    if (p->message_case != NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_HELLO) {
        nxp__iot__responses__free_unpacked(r, NULL);
        return fail(e, EL2GO_ERR_PROTOCOL, "the agent did not answer the hello");
    }
    for (size_t i = 0; i < p->hello->n_endpoints; i++) {
        Nxp__Iot__EndpointInformation *ep = p->hello->endpoints[i];
        if (!ep->has_type || !ep->has_endpointid)
            continue;
        bool ds = ep->type == NXP__IOT__ENDPOINT_TYPE__DS_FS || ep->type == NXP__IOT__ENDPOINT_TYPE__DS_PLAIN;
        if (ep->type == NXP__IOT__ENDPOINT_TYPE__AGENT && ep->has_additionaldata)
            parse_agent_ad(e, &ep->additionaldata);
        else if (ep->type == NXP__IOT__ENDPOINT_TYPE__KS_SSS_SE05X && !e->has_ks) {
            e->has_ks = true;
            e->ks_id = ep->endpointid;
        } else if (ds && ep->endpointid == EL2GO_DATASTORE_ID && !e->has_cds) {
            e->has_cds = true;
            e->cds_id = ep->endpointid;
            e->cds_type = ep->type;
        } else if (ds && !e->has_ds) {
            e->has_ds = true;
            e->ds_id = ep->endpointid;
            e->ds_type = ep->type;
        }
    }
    logf_(e, "hello: agent version 0x%08X, %zu endpoints%s",
          p->hello->has_version ? p->hello->version : 0, p->hello->n_endpoints,
          e->want_crl ? ", CRL requested" : "");
    nxp__iot__responses__free_unpacked(r, NULL);
    return EL2GO_OK;
}

static el2go_status do_crl(eng *e)
{
    uint8_t *der = NULL;
    size_t len = 0;
    if (el2gs_ca_crl(e->cfg->ca, e->cfg->dir, &der, &len) != EL2GO_OK)
        return fail(e, EL2GO_ERR_CRYPTO, "cannot build the CRL");
    req_t q;
    Nxp__Iot__AgentCrlRequest c = NXP__IOT__AGENT_CRL_REQUEST__INIT;
    req_init(&q, NXP__IOT__ENDPOINT_TYPE__AGENT, 0);
    c.has_crl = 1;
    c.crl.data = der;
    c.crl.len = len;
    q.p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_CRL;
    q.p.crl = &c;
    Nxp__Iot__EndpointRequest *pq = &q.er;
    Nxp__Iot__Responses *r = NULL;
    el2go_status st = send_reqs(e, &pq, 1);
    OPENSSL_free(der);
    if (st == EL2GO_OK)
        st = recv_resp(e, 1, &r);
    if (st == EL2GO_OK) {
        if (r->responses[0]->message_case != NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_CRL)
            st = fail(e, EL2GO_ERR_PROTOCOL, "the agent did not answer the CRL");
        nxp__iot__responses__free_unpacked(r, NULL);
    }
    return st;
}

/* ---- goodbye -------------------------------------------------------- */

static void uuid4(char out[37])
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        memset(b, 0, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static el2go_status do_goodbye(eng *e, int status, int claim)
{
    Nxp__Iot__UpdateStatusReport rep = NXP__IOT__UPDATE_STATUS_REPORT__INIT;
    Nxp__Iot__AgentClaimStatus cs = NXP__IOT__AGENT_CLAIM_STATUS__INIT;
    Nxp__Iot__AgentRtpStatus rs = NXP__IOT__AGENT_RTP_STATUS__INIT;
    Nxp__Iot__AgentCspStatus ps = NXP__IOT__AGENT_CSP_STATUS__INIT;
    char corr[37];
    uuid4(corr);
    rep.has_status = 1;
    rep.status = status;
    rep.correlationid = corr;
    cs.has_status = 1;
    cs.status = claim;
    rep.claimstatus = &cs;
    if (e->r->rtp_status) {
        rs.has_status = 1;
        rs.status = e->r->rtp_status;
        rs.n_details = e->n_rtp;
        rs.details = e->rtp_p;
        rep.rtpstatus = &rs;
    }
    if (e->r->csp_status) {
        ps.has_status = 1;
        ps.status = e->r->csp_status;
        ps.n_details = e->n_csp;
        ps.details = e->csp_p;
        rep.cspstatus = &ps;
    }
    req_t q;
    Nxp__Iot__AgentGoodbyeRequest g = NXP__IOT__AGENT_GOODBYE_REQUEST__INIT;
    req_init(&q, NXP__IOT__ENDPOINT_TYPE__AGENT, 0);
    g.status = &rep;
    q.p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_GOODBYE;
    q.p.goodbye = &g;
    Nxp__Iot__EndpointRequest *pq = &q.er;
    e->r->claim_status = claim;
    el2go_status st = send_reqs(e, &pq, 1);
    if (st == EL2GO_OK) {
        e->r->update_status = status;
        logf_(e, "goodbye %s (claim 0x%02X, rtp %d, csp %d, correlation %s)",
              el2gs_update_status_name(status), claim, e->r->rtp_status, e->r->csp_status, corr);
    }
    return st;
}

static void add_rtp(eng *e, uint32_t obj, int status)
{
    if (e->n_rtp >= MAX_DETAILS)
        return;
    Nxp__Iot__AgentRtpStatus__RtpObjectStatus *d = &e->rtp_d[e->n_rtp];
    nxp__iot__agent_rtp_status__rtp_object_status__init(d);
    d->has_status = d->has_endpointid = d->has_objectid = 1;
    d->status = status;
    d->endpointid = e->ks_id;
    d->objectid = obj;
    e->rtp_p[e->n_rtp++] = d;
}

static void add_csp(eng *e, uint32_t ep, uint64_t svc, int status)
{
    if (e->n_csp >= MAX_DETAILS)
        return;
    Nxp__Iot__AgentCspStatus__CspServiceStatus *d = &e->csp_d[e->n_csp];
    nxp__iot__agent_csp_status__csp_service_status__init(d);
    d->has_status = d->has_endpointid = d->has_serviceid = 1;
    d->status = status;
    d->endpointid = ep;
    d->serviceid = svc;
    e->csp_p[e->n_csp++] = d;
}

/* ---- RTP: key pairs generated in the SE + certificates ------------- */

static EVP_PKEY *pub_from_se(eng *e, const el2gs_object *o)
{
    uint8_t buf[1100], buf2[16];
    size_t len = sizeof(buf), len2 = sizeof(buf2);
    EVP_PKEY *pk = NULL;
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *pa = NULL;
    BIGNUM *n = NULL, *x = NULL;
    EVP_PKEY_CTX *c = NULL;
    if (!b)
        return NULL;
    const char *kt = "EC";
    if (o->type == EL2GS_KEY_RSA2048) {
        kt = "RSA";
        if (se05x_read_rsa_component(e->se, o->key_id, SE05X_RSA_COMP_MOD, buf, &len) != SE05X_OK ||
            se05x_read_rsa_component(e->se, o->key_id, SE05X_RSA_COMP_PUB_EXP, buf2, &len2) != SE05X_OK)
            goto out;
        n = BN_bin2bn(buf, (int)len, NULL);
        x = BN_bin2bn(buf2, (int)len2, NULL);
        if (!n || !x || !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, x))
            goto out;
    } else {
        if (se05x_read_object(e->se, o->key_id, 0, 0, buf, &len) != SE05X_OK)
            goto out;
        const char *g = o->type == EL2GS_KEY_EC_P384 ? "P-384" : "P-256";
        if (!OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, g, 0) ||
            !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, buf, len))
            goto out;
    }
    pa = OSSL_PARAM_BLD_to_param(b);
    c = EVP_PKEY_CTX_new_from_name(NULL, kt, NULL);
    if (!pa || !c || EVP_PKEY_fromdata_init(c) <= 0 ||
        EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, pa) <= 0)
        pk = NULL;
out:
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(pa);
    OSSL_PARAM_BLD_free(b);
    BN_free(n);
    BN_free(x);
    return pk;
}

static bool se_exists(eng *e, uint32_t id)
{
    bool ex = false;
    return se05x_object_exists(e->se, id, &ex) == SE05X_OK && ex;
}

/* Provision one object; returns an RtpStatus. */
static int provision_object(eng *e, const el2gs_object *o, int *written)
{
    const char *uid = e->r->uid;
    uint32_t cert_id = o->key_id + 1;
    int state = 0;
    char serial[41] = "";
    el2gs_devobj_get(e->cfg->store, uid, o->key_id, &state, serial, sizeof(serial));
    if (state == EL2GS_PROVISIONING_COMPLETED && se_exists(e, o->key_id) && se_exists(e, cert_id))
        return NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__SUCCESS_NO_CHANGE;
    el2gs_devobj_set(e->cfg->store, uid, o->key_id, EL2GS_GENERATION_TRIGGERED, "");
    /* Re-provisioning: remove what is there (spec §2.6 note). */
    if (se_exists(e, o->key_id) && se05x_delete_object(e->se, o->key_id) != SE05X_OK)
        goto fail_delete;
    if (se_exists(e, cert_id) && se05x_delete_object(e->se, cert_id) != SE05X_OK)
        goto fail_delete;
    se05x_status st = o->type == EL2GS_KEY_RSA2048
                          ? se05x_rsa_generate(e->se, NULL, o->key_id, 2048, true)
                          : se05x_ec_generate(e->se, NULL, o->key_id,
                                              o->type == EL2GS_KEY_EC_P384 ? SE05X_CURVE_NIST_P384
                                                                           : SE05X_CURVE_NIST_P256);
    (*written)++;
    if (st != SE05X_OK) {
        logf_(e, "object 0x%08X: key generation failed: %s", o->key_id, se05x_strerror(st));
        el2gs_devobj_set(e->cfg->store, uid, o->key_id, EL2GS_GENERATION_FAILED, "");
        return NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__ERR_OBJECT_WRITE_FAILED;
    }
    el2gs_devobj_set(e->cfg->store, uid, o->key_id, EL2GS_GENERATION_COMPLETED, "");
    EVP_PKEY *pub = pub_from_se(e, o);
    if (!pub) {
        logf_(e, "object 0x%08X: cannot read the public key back", o->key_id);
        el2gs_devobj_set(e->cfg->store, uid, o->key_id, EL2GS_PROVISIONING_FAILED, "");
        return NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__ERR_OBJECT_ATTRIBUTES_READ_FAILED;
    }
    uint8_t *der = NULL;
    size_t dlen = 0;
    el2go_status es = el2gs_ca_issue(e->cfg->ca, pub, uid, &der, &dlen, serial);
    EVP_PKEY_free(pub);
    if (es != EL2GO_OK) {
        el2gs_devobj_set(e->cfg->store, uid, o->key_id, EL2GS_PROVISIONING_FAILED, "");
        return NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__ERR_INTERNAL;
    }
    st = se05x_write_binary(e->se, NULL, cert_id, der, dlen, false);
    OPENSSL_free(der);
    (*written)++;
    if (st != SE05X_OK) {
        logf_(e, "object 0x%08X: certificate write failed: %s", cert_id, se05x_strerror(st));
        el2gs_devobj_set(e->cfg->store, uid, o->key_id, EL2GS_PROVISIONING_FAILED, "");
        return NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__ERR_OBJECT_WRITE_FAILED;
    }
    el2gs_devobj_set(e->cfg->store, uid, o->key_id, EL2GS_PROVISIONING_COMPLETED, serial);
    logf_(e, "object 0x%08X (%s %s): key generated, certificate serial %s written at 0x%08X",
          o->key_id, o->name, el2gs_key_type_name(o->type), serial, cert_id);
    return NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__SUCCESS;
fail_delete:
    el2gs_devobj_set(e->cfg->store, uid, o->key_id, EL2GS_PROVISIONING_FAILED, "");
    return NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__ERR_OBJECT_DELETE_FAILED;
}

typedef struct {
    el2gs_object *v;
    size_t n;
} objlist;

static void collect_obj(void *ctx, const el2gs_object *o)
{
    objlist *l = ctx;
    el2gs_object *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv) {
        l->v = nv;
        l->v[l->n++] = *o;
    }
}

static void do_rtp(eng *e, const char *group)
{
    objlist l = {0};
    el2gs_object_list(e->cfg->store, group, collect_obj, &l);
    bool any_change = false, any_err = false;
    for (size_t i = 0; i < l.n; i++) {
        int w = 0;
        int st = provision_object(e, &l.v[i], &w);
        e->r->objects_written += w ? 1 : 0;
        add_rtp(e, l.v[i].key_id, st);
        if (st != NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__SUCCESS_NO_CHANGE)
            add_rtp(e, l.v[i].key_id + 1, st);
        any_change |= st == NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__SUCCESS;
        any_err |= st >= 0x10;
    }
    free(l.v);
    e->r->rtp_status = any_err      ? NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__ERR_RTP_FAILED
                       : any_change ? NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__SUCCESS
                                    : NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__SUCCESS_NO_CHANGE;
}

/* ---- CSP: service descriptors -------------------------------------- */

typedef struct {
    el2gs_service *v;
    size_t n;
} svclist;

static void collect_svc(void *ctx, const el2gs_service *s)
{
    svclist *l = ctx;
    el2gs_service *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv) {
        l->v = nv;
        l->v[l->n++] = *s;
    }
}

static el2go_status build_services(eng *e, const svclist *l, uint8_t **out, size_t *len)
{
    if (!l->n) /* empty contents: the §4 header with no descriptor */
        return el2go_dscontent_build(NULL, 0, out, len);
    Nxp__Iot__ServiceDescriptor *sd = calloc(l->n, sizeof(*sd));
    Nxp__Iot__ServiceDescriptor **sp = calloc(l->n, sizeof(*sp));
    Nxp__Iot__SssObjectReference *kr = calloc(l->n, sizeof(*kr)), *cr = calloc(l->n, sizeof(*cr));
    uint8_t *root = NULL;
    int rlen = i2d_X509(e->cfg->ca->dev_root, &root);
    el2go_status st = EL2GO_ERR_NOMEM;
    if (!sd || !sp || !kr || !cr || rlen <= 0)
        goto out;
    for (size_t i = 0; i < l->n; i++) {
        const el2gs_service *v = &l->v[i];
        Nxp__Iot__ServiceDescriptor *d = &sd[i];
        nxp__iot__service_descriptor__init(d);
        d->identifier = v->id;
        d->has_service_type = 1;
        d->service_type = v->type;
        d->hostname = (char *)v->hostname;
        d->has_port = d->has_protocol = d->has_timeout_ms = 1;
        d->port = v->port;
        d->protocol = NXP__IOT__SERVICE_PROTOCOL_TYPE__MQTTS;
        d->timeout_ms = 20000;
        d->client_id = (char *)(v->client_id[0] ? v->client_id : e->r->uid);
        if (v->username[0])
            d->username = (char *)v->username;
        if (v->metadata[0])
            d->customer_metadata_json = (char *)v->metadata;
        if (v->type == NXP__IOT__SERVICE_TYPE__AZURESERVICE) {
            d->azure_id_scope = (char *)v->azure_scope;
            d->azure_registration_id = (char *)(v->client_id[0] ? v->client_id : e->r->uid);
            d->azure_global_device_endpoint = (char *)v->hostname;
        }
        d->has_server_certificate = 1;
        d->server_certificate.data = root;
        d->server_certificate.len = (size_t)rlen;
        if (v->key_id) {
            nxp__iot__sss_object_reference__init(&kr[i]);
            kr[i].has_type = kr[i].has_endpoint_id = kr[i].has_object_id = 1;
            kr[i].type = NXP__IOT__ENDPOINT_TYPE__KS_SSS_SE05X;
            kr[i].endpoint_id = e->ks_id;
            kr[i].object_id = v->key_id;
            d->client_key_sss_ref = &kr[i];
        }
        if (v->cert_id) {
            nxp__iot__sss_object_reference__init(&cr[i]);
            cr[i].has_type = cr[i].has_endpoint_id = cr[i].has_object_id = 1;
            cr[i].type = NXP__IOT__ENDPOINT_TYPE__KS_SSS_SE05X;
            cr[i].endpoint_id = e->ks_id;
            cr[i].object_id = v->cert_id;
            d->client_certificate_sss_ref = &cr[i];
        }
        sp[i] = d;
    }
    st = el2go_dscontent_build(sp, l->n, out, len);
out:
    OPENSSL_free(root);
    free(sd);
    free(sp);
    free(kr);
    free(cr);
    return st;
}

/* The customer datastore holds exactly the group's descriptors. A group
 * without services leaves a datastore that was never written alone, but
 * empties one that still lists services (they were all removed). */
static el2go_status do_csp(eng *e, const char *group)
{
    svclist l = {0};
    el2gs_service_list(e->cfg->store, group, collect_svc, &l);
    el2go_status st = EL2GO_OK;
    e->r->csp_status = NXP__IOT__AGENT_CSP_STATUS__CSP_STATUS__SUCCESS_NO_CHANGE;
    if (!e->has_ds) {
        if (l.n) {
            logf_(e, "%zu service(s) for group %s but the agent has no customer datastore", l.n,
                  group);
            e->r->csp_status =
                NXP__IOT__AGENT_CSP_STATUS__CSP_STATUS__ERR_SERVICE_DESCRIPTOR_WRITE_FAILED;
        }
        free(l.v);
        return EL2GO_OK;
    }
    uint8_t *want = NULL;
    size_t wlen = 0;
    bool written = false;
    st = build_services(e, &l, &want, &wlen);
    if (st == EL2GO_OK)
        st = ds_sync(e, e->ds_type, e->ds_id, want, wlen, l.n == 0, &written);
    free(want);
    int s = st != EL2GO_OK ? NXP__IOT__AGENT_CSP_STATUS__CSP_STATUS__ERR_SERVICE_DESCRIPTOR_WRITE_FAILED
            : written     ? NXP__IOT__AGENT_CSP_STATUS__CSP_STATUS__SUCCESS
                          : NXP__IOT__AGENT_CSP_STATUS__CSP_STATUS__SUCCESS_NO_CHANGE;
    for (size_t i = 0; i < l.n; i++)
        add_csp(e, e->ds_id, l.v[i].id, s);
    e->r->csp_status = s;
    if (written && l.n) {
        e->r->services_written = (unsigned)l.n;
        logf_(e, "%zu service descriptor(s) written to datastore 0x%08X", l.n, e->ds_id);
    } else if (written) {
        e->r->ds_cleared = true;
        logf_(e, "group %s has no services: datastore 0x%08X cleared", group, e->ds_id);
    }
    free(l.v);
    return st;
}

/* The connection datastore 0x70000000: hostname/port of this server, the
 * factory key/cert references and the device-link root. */
static el2go_status do_conn_ds(eng *e)
{
    if (!e->has_cds || !e->cfg->hostname || !e->cfg->hostname[0])
        return EL2GO_OK;
    Nxp__Iot__ServiceDescriptor d = NXP__IOT__SERVICE_DESCRIPTOR__INIT, *dp = &d;
    Nxp__Iot__SssObjectReference kr = NXP__IOT__SSS_OBJECT_REFERENCE__INIT,
                                 cr = NXP__IOT__SSS_OBJECT_REFERENCE__INIT;
    uint8_t *root = NULL, *want = NULL;
    int rlen = i2d_X509(e->cfg->ca->link_root, &root);
    if (rlen <= 0)
        return EL2GO_ERR_CRYPTO;
    d.identifier = 0;
    d.hostname = (char *)e->cfg->hostname;
    d.has_port = 1;
    d.port = e->cfg->port;
    kr.has_type = kr.has_endpoint_id = kr.has_object_id = 1;
    kr.type = NXP__IOT__ENDPOINT_TYPE__KS_SSS_SE05X;
    kr.endpoint_id = e->ks_id;
    kr.object_id = EL2GO_KEY_ECC;
    cr = kr;
    cr.object_id = EL2GO_CERT_ECC;
    d.client_key_sss_ref = &kr;
    d.client_certificate_sss_ref = &cr;
    d.has_server_certificate = 1;
    d.server_certificate.data = root;
    d.server_certificate.len = (size_t)rlen;
    size_t wlen = 0;
    bool written = false;
    el2go_status st = el2go_dscontent_build(&dp, 1, &want, &wlen);
    OPENSSL_free(root);
    if (st == EL2GO_OK)
        st = ds_sync(e, e->cds_type, e->cds_id, want, wlen, false, &written);
    free(want);
    e->r->conn_ds_written = written;
    if (written)
        logf_(e, "connection datastore 0x%08X updated (%s:%u)", e->cds_id, e->cfg->hostname,
              e->cfg->port);
    return st;
}

/* ---- claim codes (spec §5.1) ---------------------------------------- */

/* Read and delete 0xF00000E0 through an ECKey session with the EL2GO auth
 * object: the session's APDUs are encrypted end to end, the agent relays
 * ciphertext. Returns a ClaimStatus; on SUCCESS the device joined the code's
 * group (*group). UNKNOWN when there is no claim code object at all. */
static int do_claim(eng *e, char *group, size_t glen)
{
    bool ex = false;
    if (se05x_object_exists(e->se, EL2GO_CLAIMCODE_ID, &ex) != SE05X_OK || !ex)
        return NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__ERR_NOT_FOUND;
    if (!e->cfg->auth_key) {
        logf_(e, "claim code present but no EL2GO auth key configured (el2go_auth_key)");
        return NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__ERR_CLAIM_CODE_READ;
    }
    uint32_t auth = se_exists(e, EL2GO_AUTH_USER_DEMO) ? EL2GO_AUTH_USER_DEMO : EL2GO_AUTH_USER_PROD;
    se05x_status ss = se05x_session_open_eckey(e->se, auth, e->cfg->auth_key);
    if (ss != SE05X_OK) {
        logf_(e, "ECKey session with 0x%08X failed: %s", auth, se05x_strerror(ss));
        return NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__ERR_CLAIM_CODE_READ;
    }
    char code[256];
    size_t len = sizeof(code) - 1;
    ss = se05x_read_binary(e->se, EL2GO_CLAIMCODE_ID, (uint8_t *)code, &len);
    int cs = NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__SUCCESS;
    el2gs_claimcode cc;
    if (ss != SE05X_OK) {
        logf_(e, "claim code read failed: %s", se05x_strerror(ss));
        cs = NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__ERR_CLAIM_CODE_READ;
    } else {
        code[len] = 0;
        if (strlen(code) != len || len < 16)
            cs = NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__ERR_CLAIM_CODE_FORMAT;
        else if (el2gs_claimcode_get(e->cfg->store, code, &cc) != EL2GO_OK)
            cs = NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__ERR_NOT_FOUND;
        else if (cc.revoked)
            cs = NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__ERR_CLAIM_CODE_REVOKED;
        else if (cc.used >= cc.limit)
            cs = NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__ERR_CLAIM_CODE_LIMIT_REACHED;
    }
    if (cs == NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__SUCCESS &&
        se05x_delete_object(e->se, EL2GO_CLAIMCODE_ID) != SE05X_OK)
        cs = NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__ERR_CLAIM_CODE_DELETE;
    se05x_session_close(e->se);
    if (cs == NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__SUCCESS) {
        if (el2gs_device_add(e->cfg->store, e->r->uid, cc.group) != EL2GO_OK ||
            el2gs_claimcode_use(e->cfg->store, code) != EL2GO_OK)
            cs = NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__ERR_INTERNAL;
        else {
            snprintf(group, glen, "%s", cc.group);
            logf_(e, "claim code accepted: device joined group %s (activation %d of %d)", cc.group,
                  cc.used + 1, cc.limit);
        }
    } else {
        logf_(e, "claim code refused (claim status 0x%02X)", cs);
    }
    OPENSSL_cleanse(code, sizeof(code));
    return cs;
}

/* ---- session -------------------------------------------------------- */

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * n] = 0;
}

static el2go_status run(eng *e)
{
    el2go_status st = do_hello(e);
    if (st != EL2GO_OK)
        return st;
    if (e->want_crl && (st = do_crl(e)) != EL2GO_OK)
        return st;
    if (!e->has_ks) {
        fail(e, EL2GO_ERR_PROTOCOL, "the agent announced no SE05x keystore");
        return do_goodbye(e, NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__ERR_CONFIGURATION,
                          NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__UNKNOWN);
    }
    link_t *lk = calloc(1, sizeof(*lk));
    if (!lk)
        return EL2GO_ERR_NOMEM;
    lk->base.ops = &LINK_OPS;
    lk->e = e;
    se05x_conn_opts opts = {0};
    se05x_status ss = se05x_conn_open_transport(&lk->base, &opts, &e->se);
    uint8_t uid[SE05X_UID_LEN];
    if (ss == SE05X_OK)
        ss = se05x_read_uid(e->se, uid);
    if (ss != SE05X_OK) {
        if (e->r->err[0])
            return EL2GO_ERR_IO; /* the link itself failed */
        fail(e, EL2GO_ERR_SE, "cannot read the device UID: %s", se05x_strerror(ss));
        return do_goodbye(e, NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__ERR_SSS_COMMUNICATION,
                          NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__UNKNOWN);
    }
    hex(uid, sizeof(uid), e->r->uid);
    logf_(e, "device UID 0x%s", e->r->uid);
    el2gs_device dev;
    bool listed = el2gs_device_get(e->cfg->store, e->r->uid, &dev) == EL2GO_OK && dev.group[0];
    bool mismatch = e->cfg->uid_hint && strcmp(e->cfg->uid_hint, e->r->uid) != 0;
    int claim = NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__SUCCESS;
    if (!mismatch && !listed) {
        claim = do_claim(e, dev.group, sizeof(dev.group));
        listed = claim == NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__SUCCESS;
    }
    if (mismatch || !listed) {
        if (mismatch)
            fail(e, EL2GO_ERR_PROTOCOL, "UID 0x%s of the SE differs from the certificate's %s",
                 e->r->uid, e->cfg->uid_hint);
        else
            fail(e, EL2GO_ERR_NOT_FOUND, "device 0x%s is not allowlisted in any group", e->r->uid);
        st = do_goodbye(e, NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__ERR_DEVICE_NOT_WHITELISTED,
                        mismatch ? NXP__IOT__AGENT_CLAIM_STATUS__CLAIM_STATUS__ERR_NOT_FOUND : claim);
        if (el2gs_device_get(e->cfg->store, e->r->uid, &dev) == EL2GO_OK)
            el2gs_device_record(e->cfg->store, e->r->uid, "REFUSED", e->r->update_status);
        return st;
    }
    do_rtp(e, dev.group);
    st = do_csp(e, dev.group);
    if (st == EL2GO_OK)
        st = do_conn_ds(e);
    if (st != EL2GO_OK && e->r->err[0] && e->r->update_status == 0 &&
        (st == EL2GO_ERR_IO || st == EL2GO_ERR_EOF || st == EL2GO_ERR_DECODE))
        return st; /* link gone: no goodbye possible */
    bool ok = st == EL2GO_OK && e->r->rtp_status < 0x10 && e->r->csp_status < 0x10;
    int us = ok ? NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__SUCCESS
                : NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__ERR_UPDATE_FAILED;
    st = do_goodbye(e, us, claim);
    if (st == EL2GO_OK)
        el2gs_device_record(e->cfg->store, e->r->uid, ok ? "PROVISIONED" : "FAILED", us);
    return st;
}

el2go_status el2gs_session_run(const el2gs_engine_cfg *cfg, el2go_stream *s, el2gs_session_result *r)
{
    if (!cfg || !cfg->store || !cfg->ca || !s || !r)
        return EL2GO_ERR_ARG;
    memset(r, 0, sizeof(*r));
    eng *e = calloc(1, sizeof(*e));
    if (!e)
        return EL2GO_ERR_NOMEM;
    e->cfg = cfg;
    e->s = s;
    e->r = r;
    el2go_status st = run(e);
    if (e->se)
        se05x_conn_close(e->se);
    free(e);
    return st;
}
