/* el2go-server public interface (issue 7): the SQLite fleet store (groups,
 * allowlisted devices by UID, claim codes, secure objects, service
 * descriptors, per-device provisioning state), the local CAs (device-link
 * root + server chain + CRL, device root + intermediate CA issuing the
 * provisioned certificates), the protocol engine that drives one device-link
 * session over an abstract el2go_stream, and the TLS listener. Names use the
 * prefix el2gs_ (the agent library owns el2go_). */
#ifndef EL2GO_SERVER_H
#define EL2GO_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "el2go/common.h"
#include "el2go/frame.h"

/* ---- UIDs ----------------------------------------------------------- */

#define EL2GS_UID_HEX 36 /* 18 bytes */

/* Accept "0x" + 36 hex digits (either case) or 42 decimal digits (the
 * number must fit 18 bytes); out = 36 upper-case hex digits + NUL. */
bool el2gs_uid_normalize(const char *in, char out[EL2GS_UID_HEX + 1]);

/* ---- store ---------------------------------------------------------- */

typedef struct el2gs_store el2gs_store;

/* Per-object provisioning states (the EL2GO REST API's enum, spec §8). */
enum {
    EL2GS_GENERATION_TRIGGERED = 1,
    EL2GS_GENERATION_COMPLETED = 2,
    EL2GS_GENERATION_FAILED = 3,
    EL2GS_PROVISIONING_COMPLETED = 4,
    EL2GS_PROVISIONING_FAILED = 5,
    EL2GS_GENERATION_ON_CONNECTION = 6,
};
const char *el2gs_prov_state_name(int state);

typedef struct {
    char uid[EL2GS_UID_HEX + 1];
    char group[64];    /* "" = allowlisted in no group */
    char state[32];    /* NEW, PROVISIONED, FAILED, REFUSED */
    char last_seen[32];/* UTC ISO 8601, "" = never */
    int last_status;   /* UpdateStatus of the last goodbye, 0 = none */
    int connections;
} el2gs_device;

typedef enum { EL2GS_KEY_EC_P256 = 1, EL2GS_KEY_EC_P384, EL2GS_KEY_RSA2048 } el2gs_key_type;

typedef struct {
    char group[64];
    char name[64];
    uint32_t key_id; /* the certificate goes to key_id + 1 */
    el2gs_key_type type;
} el2gs_object;

typedef struct {
    char group[64];
    uint64_t id;    /* service identifier */
    int type;       /* ServiceType: 0 aws, 2 azure, 15 custom */
    char hostname[256];
    uint32_t port;
    char client_id[128];
    char username[128];
    uint32_t key_id, cert_id; /* SSS references (0 = none) */
    char azure_scope[64];
    char metadata[512]; /* customer_metadata_json */
} el2gs_service;

typedef struct {
    char code[256];
    char group[64];
    int limit, used;
    bool revoked;
} el2gs_claimcode;

/* Open (create) the database; err gets a message on failure. */
el2go_status el2gs_store_open(const char *path, el2gs_store **out, char *err, size_t errlen);
void el2gs_store_close(el2gs_store *s);
/* Last error message of the store. */
const char *el2gs_store_err(const el2gs_store *s);

el2go_status el2gs_group_add(el2gs_store *s, const char *name);
el2go_status el2gs_group_exists(el2gs_store *s, const char *name, bool *exists);
/* Remove a group. Without force, a group that still has devices, claim
 * codes, objects or services is refused with EL2GO_ERR_STATE (the message
 * counts them). With force, in one transaction: its objects (and every
 * device's state for them), services and claim codes are deleted and its
 * devices detached (still allowlisted, in no group: refused at their next
 * session until moved). Nothing is deleted on the devices. */
el2go_status el2gs_group_remove(el2gs_store *s, const char *name, bool force);
/* Calls fn for each group name. */
el2go_status el2gs_group_list(el2gs_store *s, void (*fn)(void *, const char *), void *ctx);

/* uid must be normalized; group must exist ("" = no group). Adding an
 * existing device moves it to the group. */
el2go_status el2gs_device_add(el2gs_store *s, const char *uid, const char *group);
el2go_status el2gs_device_remove(el2gs_store *s, const char *uid);
/* EL2GO_ERR_NOT_FOUND when the UID is not allowlisted. */
el2go_status el2gs_device_get(el2gs_store *s, const char *uid, el2gs_device *d);
el2go_status el2gs_device_list(el2gs_store *s, void (*fn)(void *, const el2gs_device *), void *ctx);
el2go_status el2gs_device_record(el2gs_store *s, const char *uid, const char *state, int status);
/* Per-device object state (0 = never provisioned). */
el2go_status el2gs_devobj_get(el2gs_store *s, const char *uid, uint32_t key_id, int *state,
                              char *serial, size_t serial_len);
el2go_status el2gs_devobj_set(el2gs_store *s, const char *uid, uint32_t key_id, int state,
                              const char *serial);
el2go_status el2gs_devobj_list(el2gs_store *s, const char *uid,
                               void (*fn)(void *, uint32_t key_id, int state, const char *serial),
                               void *ctx);

el2go_status el2gs_object_add(el2gs_store *s, const el2gs_object *o);
/* Remove object key_id from group, with the per-device states of it of the
 * group's devices (one transaction). The key and certificate already on a
 * device stay there. EL2GO_ERR_NOT_FOUND if the group has no such object. */
el2go_status el2gs_object_remove(el2gs_store *s, const char *group, uint32_t key_id);
el2go_status el2gs_object_list(el2gs_store *s, const char *group,
                               void (*fn)(void *, const el2gs_object *), void *ctx);
el2gs_key_type el2gs_key_type_parse(const char *name); /* 0 if unknown */
const char *el2gs_key_type_name(el2gs_key_type t);

el2go_status el2gs_service_add(el2gs_store *s, const el2gs_service *sv);
/* EL2GO_ERR_NOT_FOUND if the group has no service id. At the next session
 * the customer datastore is rewritten without it (emptied when it was the
 * group's last service). */
el2go_status el2gs_service_remove(el2gs_store *s, const char *group, uint64_t id);
el2go_status el2gs_service_list(el2gs_store *s, const char *group,
                                void (*fn)(void *, const el2gs_service *), void *ctx);

/* Random base64url code of len chars (16..255). */
el2go_status el2gs_claimcode_create(el2gs_store *s, const char *group, int limit, size_t len,
                                    char *code, size_t cap);
el2go_status el2gs_claimcode_revoke(el2gs_store *s, const char *code);
el2go_status el2gs_claimcode_get(el2gs_store *s, const char *code, el2gs_claimcode *c);
el2go_status el2gs_claimcode_use(el2gs_store *s, const char *code);
el2go_status el2gs_claimcode_list(el2gs_store *s, void (*fn)(void *, const el2gs_claimcode *),
                                  void *ctx);

/* ---- CAs ------------------------------------------------------------ */

typedef struct {
    EVP_PKEY *link_key;  /* device-link root: signs the server cert and the CRL */
    X509 *link_root;
    EVP_PKEY *int_key;   /* intermediate CA issuing provisioned certificates */
    X509 *int_cert;
    X509 *dev_root;      /* root above the intermediate */
} el2gs_ca;

/* Create DIR/link-root.pem (+ -key), DIR/server.pem (+ -key; CN and SAN
 * = hostname, also 127.0.0.1), DIR/device-root.pem (+ -key),
 * DIR/intermediate.pem (+ -key), DIR/device-chain.pem (intermediate +
 * root). Existing files are an error unless force. */
el2go_status el2gs_ca_init(const char *dir, const char *hostname, bool force, char *err,
                           size_t errlen);
el2go_status el2gs_ca_load(const char *dir, el2gs_ca *ca, char *err, size_t errlen);
void el2gs_ca_free(el2gs_ca *ca);
/* DER CRL from the device-link root listing the serials in DIR/revoked.txt
 * (hex, one a line; missing file = empty CRL), valid for 7 days. */
el2go_status el2gs_ca_crl(const el2gs_ca *ca, const char *dir, uint8_t **der, size_t *len);
/* Certificate for pub signed by the intermediate CA (CN = cn, serial
 * random, 10 years, clientAuth). */
el2go_status el2gs_ca_issue(const el2gs_ca *ca, EVP_PKEY *pub, const char *cn, uint8_t **der,
                            size_t *len, char serial_hex[41]);

/* ---- engine --------------------------------------------------------- */

typedef struct {
    el2gs_store *store;
    const el2gs_ca *ca;
    const char *dir;        /* server directory (CRL revocations) */
    const char *uid_hint;   /* UID from the TLS client certificate, or NULL */
    const char *hostname;   /* advertised in the connection datastore ("" = do not manage) */
    uint32_t port;
    EVP_PKEY *auth_key;     /* EL2GO ECKey auth key (0xF0000020) for claim codes, or NULL */
    FILE *log;              /* NULL = silent */
} el2gs_engine_cfg;

typedef struct {
    char uid[EL2GS_UID_HEX + 1];
    int update_status;      /* UpdateStatus sent in the goodbye, 0 = none sent */
    int rtp_status, csp_status, claim_status;
    unsigned objects_written, services_written, apdus;
    bool conn_ds_written;
    char err[256];
    bool ds_cleared;        /* customer datastore emptied (the group has no services left) */
} el2gs_session_result;

/* Drive one session: hello, CRL if requested, UID, allowlist check, claim
 * code, objects, datastores, goodbye. EL2GO_OK when a goodbye was sent
 * (r->update_status tells which); an error when the link failed (no
 * goodbye sent; r->err says why). Writes may hit a closed peer: callers
 * ignore SIGPIPE. */
el2go_status el2gs_session_run(const el2gs_engine_cfg *cfg, el2go_stream *s,
                               el2gs_session_result *r);
const char *el2gs_update_status_name(int st);

/* ---- TLS listener --------------------------------------------------- */

typedef struct {
    const char *dir;        /* server directory (certs, database) */
    const char *listen;     /* "HOST:PORT" */
    const char *trust;      /* PEM file(s) of trusted factory CAs, ':'-separated */
    const char *hostname;
    uint32_t port;
    const char *auth_key;   /* PEM path or NULL */
    int max_sessions;       /* stop after that many (0 = forever) */
    FILE *log;
} el2gs_serve_cfg;

el2go_status el2gs_serve(const el2gs_serve_cfg *cfg, char *err, size_t errlen);

#endif
