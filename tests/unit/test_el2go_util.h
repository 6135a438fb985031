/* Helpers shared by the el2go test programs (header-only, static inline):
 * building scripted server messages (EndpointRequests, varint-delimited)
 * from protobuf-c structs, running a session over an in-memory stream and
 * decoding the agent's delimited Responses. */
#ifndef TEST_EL2GO_UTIL_H
#define TEST_EL2GO_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "el2go/agent.h"
#include "el2go/frame.h"
#include "nxp/Dispatcher.pb-c.h"

typedef struct {
    uint8_t *b;
    size_t n, cap;
} tbuf;

static inline void tbuf_put(tbuf *t, const void *d, size_t n)
{
    if (t->n + n > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->n + n)
            cap *= 2;
        t->b = realloc(t->b, cap);
        if (!t->b)
            abort();
        t->cap = cap;
    }
    if (n)
        memcpy(t->b + t->n, d, n);
    t->n += n;
}

static inline void tbuf_varint(tbuf *t, uint64_t v)
{
    uint8_t b[EL2GO_VARINT_MAX];
    tbuf_put(t, b, el2go_varint_encode(v, b));
}

static inline void tbuf_free(tbuf *t)
{
    free(t->b);
    memset(t, 0, sizeof(*t));
}

/* Append one EndpointRequest (as repeated field 1) to message m. */
static inline void msg_add(tbuf *m, const Nxp__Iot__EndpointRequest *r)
{
    size_t n = nxp__iot__endpoint_request__get_packed_size(r);
    uint8_t *tmp = malloc(n ? n : 1);
    nxp__iot__endpoint_request__pack(r, tmp);
    uint8_t tag = 0x0a;
    tbuf_put(m, &tag, 1);
    tbuf_varint(m, n);
    tbuf_put(m, tmp, n);
    free(tmp);
}

/* Close message m into the script (delimited) and reset m. */
static inline void script_msg(tbuf *script, tbuf *m)
{
    tbuf_varint(script, m->n);
    tbuf_put(script, m->b, m->n);
    m->n = 0;
}

static inline void add_payload(tbuf *m, int type, uint32_t id, Nxp__Iot__RequestPayload *p)
{
    Nxp__Iot__EndpointRequest r = NXP__IOT__ENDPOINT_REQUEST__INIT;
    if (type >= 0) {
        r.has_type = 1;
        r.type = (Nxp__Iot__EndpointType)type;
        r.has_endpointid = 1;
        r.endpointid = id;
    }
    r.payload = p;
    msg_add(m, &r);
}

static inline void add_hello(tbuf *m)
{
    Nxp__Iot__AgentHelloRequest h = NXP__IOT__AGENT_HELLO_REQUEST__INIT;
    h.has_version = 1;
    h.version = 0x01000000;
    h.has_communicationbuffersize = 1;
    h.communicationbuffersize = 4096;
    Nxp__Iot__RequestPayload p = NXP__IOT__REQUEST_PAYLOAD__INIT;
    p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_HELLO;
    p.hello = &h;
    add_payload(m, NXP__IOT__ENDPOINT_TYPE__AGENT, 0, &p);
}

static inline void add_goodbye(tbuf *m, int status, const char *corr)
{
    Nxp__Iot__UpdateStatusReport rep = NXP__IOT__UPDATE_STATUS_REPORT__INIT;
    rep.has_status = 1;
    rep.status = (Nxp__Iot__UpdateStatusReport__UpdateStatus)status;
    rep.correlationid = (char *)corr;
    Nxp__Iot__AgentGoodbyeRequest g = NXP__IOT__AGENT_GOODBYE_REQUEST__INIT;
    g.status = &rep;
    Nxp__Iot__RequestPayload p = NXP__IOT__REQUEST_PAYLOAD__INIT;
    p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_GOODBYE;
    p.goodbye = &g;
    add_payload(m, NXP__IOT__ENDPOINT_TYPE__AGENT, 0, &p);
}

static inline void add_crl(tbuf *m, const uint8_t *der, size_t n)
{
    Nxp__Iot__AgentCrlRequest c = NXP__IOT__AGENT_CRL_REQUEST__INIT;
    c.has_crl = 1;
    c.crl.data = (uint8_t *)der;
    c.crl.len = n;
    Nxp__Iot__RequestPayload p = NXP__IOT__REQUEST_PAYLOAD__INIT;
    p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_CRL;
    p.crl = &c;
    add_payload(m, NXP__IOT__ENDPOINT_TYPE__AGENT, 0, &p);
}

static inline void add_apdu(tbuf *m, uint32_t ks, const uint8_t *apdu, size_t n)
{
    Nxp__Iot__ApduRequest a = NXP__IOT__APDU_REQUEST__INIT;
    a.has_message = 1;
    a.message.data = (uint8_t *)apdu;
    a.message.len = n;
    Nxp__Iot__RequestPayload p = NXP__IOT__REQUEST_PAYLOAD__INIT;
    p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_APDU;
    p.apdu = &a;
    add_payload(m, NXP__IOT__ENDPOINT_TYPE__KS_SSS_SE05X, ks, &p);
}

/* op/off/len == -1: field omitted (other negative values are sent). */
static inline void add_ds(tbuf *m, int type, uint32_t id, int op, int off, int len,
                          const uint8_t *d, size_t dn)
{
    Nxp__Iot__DatastoreRequest r = NXP__IOT__DATASTORE_REQUEST__INIT;
    if (op != -1) {
        r.has_operation = 1;
        r.operation = (Nxp__Iot__DatastoreOperation)op;
    }
    if (off != -1) {
        r.has_offset = 1;
        r.offset = off;
    }
    if (len != -1) {
        r.has_length = 1;
        r.length = len;
    }
    if (d) {
        r.has_data = 1;
        r.data.data = (uint8_t *)d;
        r.data.len = dn;
    }
    Nxp__Iot__RequestPayload p = NXP__IOT__REQUEST_PAYLOAD__INIT;
    p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_DATASTORE;
    p.datastore = &r;
    add_payload(m, type, id, &p);
}

/* Decode every delimited Responses the agent wrote (max 16). Returns the
 * count, -1 on a decoding error. */
static inline int parse_out(const uint8_t *out, size_t len, Nxp__Iot__Responses *msgs[16])
{
    size_t pos = 0;
    int n = 0;
    while (pos < len) {
        const uint8_t *m;
        size_t ml;
        if (n == 16 || el2go_delimited_next(out, len, &pos, &m, &ml) != EL2GO_OK)
            return -1;
        msgs[n] = nxp__iot__responses__unpack(NULL, ml, m);
        if (!msgs[n])
            return -1;
        n++;
    }
    return n;
}

static inline void free_out(Nxp__Iot__Responses *msgs[16], int n)
{
    for (int i = 0; i < n; i++)
        nxp__iot__responses__free_unpacked(msgs[i], NULL);
}

/* Run a session over script (chunk > 0: partial reads of that size). */
static inline el2go_status run_script(const el2go_agent_cfg *cfg, const tbuf *script, size_t chunk,
                                      el2go_memstream *ms, el2go_session_result *res)
{
    el2go_stream s;
    el2go_memstream_init(ms, script->b, script->n, &s);
    ms->chunk = chunk;
    return el2go_session_run(cfg, &s, res);
}

#endif
