/* The device-link dispatcher (spec §2): reads varint-delimited
 * EndpointRequests from a stream (the server speaks first), hands each
 * request to its endpoint (AGENT, the SE05x keystore, the datastores) and
 * writes one varint-delimited Responses per incoming message, responses in
 * request order; nothing is written when a message yields no response (a
 * goodbye). Any decode error, unknown endpoint or payload, request refused
 * by the CRL gate or endpoint failure ends the session: open datastore
 * transactions are dropped and an error is returned; nothing is sent back.
 *
 * The stream is abstract (el2go_stream) so that tests drive sessions in
 * memory; TLS plugs in as another stream, and the CRL check as a callback. */
#ifndef EL2GO_AGENT_H
#define EL2GO_AGENT_H

#include <stdbool.h>
#include <stdio.h>

#include "el2go/common.h"
#include "el2go/datastore.h"
#include "el2go/frame.h"
#include "nxp/Agent.pb-c.h"

typedef struct se05x_conn se05x_conn;

/* ---- keystore endpoint (KS_SSS_SE05X) ------------------------------- */

typedef struct el2go_keystore el2go_keystore;

/* Exchange one raw command APDU; rapdu receives data || SW1 SW2. Return
 * EL2GO_OK when a response arrived (any SW), an error on link failure. */
typedef el2go_status (*el2go_apdu_fn)(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                                      size_t cap, size_t *rlen);

/* Keystore forwarding through hostlib se05x_conn_forward: inside c's platform
 * SCP03 channel when open, never inside c's applet session (c stays the
 * caller's). */
el2go_status el2go_ks_se05x_new(uint32_t id, se05x_conn *c, el2go_keystore **out);
/* Keystore forwarding through a callback (tests, fuzzing, other links). */
el2go_status el2go_ks_fn_new(uint32_t id, el2go_apdu_fn fn, void *ctx, el2go_keystore **out);
void el2go_ks_free(el2go_keystore *ks);
/* Forward one APDU and build the documented answer (spec §2.6): data || SW
 * when SW is 9000, otherwise the bare 2-byte SW (0xFFFF on link failure). */
el2go_status el2go_ks_forward(el2go_keystore *ks, const uint8_t *capdu, size_t len, uint8_t *out,
                              size_t cap, size_t *olen);

/* ---- session -------------------------------------------------------- */

/* Verify the server chain with the DER CRL the server sent (spec §2.5).
 * EL2GO_OK accepts; anything else ends the session (EL2GO_ERR_CRL). */
typedef el2go_status (*el2go_crl_fn)(void *ctx, const uint8_t *crl, size_t len, char *err,
                                     size_t errlen);

typedef struct {
    el2go_datastore *el2go_ds; /* connection datastore 0x70000000, or NULL */
    el2go_datastore *datastores[EL2GO_MAX_DATASTORES];
    size_t n_datastores;
    el2go_keystore *keystore; /* or NULL */
    bool request_crl;         /* announce requestCrl and gate on it */
    el2go_crl_fn crl_verify;  /* required when request_crl */
    void *crl_ctx;
    size_t max_request; /* 0 = EL2GO_MAX_REQUEST_DEFAULT */
    FILE *log;          /* progress/diagnostics; NULL = silent */
} el2go_agent_cfg;

typedef struct {
    bool goodbye; /* the server said goodbye */
    bool crl_verified;
    unsigned messages; /* incoming messages processed */
    unsigned requests; /* requests dispatched */
    /* The goodbye's UpdateStatusReport (NULL if none): unpacked, and packed
     * as received (for el2go_report_save). */
    Nxp__Iot__UpdateStatusReport *report;
    uint8_t *report_raw;
    size_t report_raw_len;
    char err[256]; /* why the session ended, when it failed */
} el2go_session_result;

/* Run one session until the goodbye (EL2GO_OK; check result->report for
 * the server's verdict) or an error. EL2GO_ERR_ARG without reading when
 * the configuration is invalid: endpoint ids must be unique across the
 * datastores and the keystore, el2go_ds must have id 0x70000000 and no
 * other datastore may use it, datastores[0..n_datastores) non-NULL. result must be cleared with
 * el2go_session_result_clear. */
el2go_status el2go_session_run(const el2go_agent_cfg *cfg, el2go_stream *s,
                               el2go_session_result *result);
void el2go_session_result_clear(el2go_session_result *r);

/* Build the hello response this configuration announces (spec §2.4);
 * *out malloc'ed, the packed AgentHelloResponse (tests, tools). */
el2go_status el2go_hello_response_pack(const el2go_agent_cfg *cfg, uint8_t **out, size_t *len);

/* ---- status report -------------------------------------------------- */

const char *el2go_update_status_name(int status);
/* Human-readable report, one line per domain and detail. */
void el2go_report_print(FILE *f, const Nxp__Iot__UpdateStatusReport *r);
/* Persist / load a packed report (the "last report" of `status`). */
el2go_status el2go_report_save(const char *path, const uint8_t *raw, size_t len);
el2go_status el2go_report_load(const char *path, Nxp__Iot__UpdateStatusReport **out);
void el2go_report_free(Nxp__Iot__UpdateStatusReport *r);

#endif
