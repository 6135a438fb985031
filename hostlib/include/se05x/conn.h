/* A connection to an SE05x: a transport plus the layers above it (applet
 * selection, platform SCP03, applet sessions in the 80 05 wrapper), APDU
 * tracing and counters. Every higher layer (typed commands, sss, the CLI)
 * talks to the SE through one of these.
 *
 * Thread-safe: one recursive mutex per connection; se05x_conn_lock() holds it
 * across a multi-APDU sequence. Fork-safe: after fork() the child re-opens
 * the link (and re-selects, re-opens platform SCP03) on first use.
 *
 * Tracing: env SE05X_APDU_TRACE=1 (or "stderr") prints every APDU in hex on
 * stderr; any other value is a file path to append to. */
#ifndef SE05X_CONN_H
#define SE05X_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "se05x/apdu.h"
#include "se05x/status.h"
#include "se05x/transport.h"

typedef struct se05x_conn se05x_conn;

typedef struct {
    const char *scp03_keyfile; /* platform SCP03 key file (ENC/MAC/DEK lines); NULL = plain */
    uint8_t scp03_kvn;         /* key version, 0 = default 0x0B */
    bool no_select;            /* do not SELECT the applet on open */
    /* libcrypto context for all host crypto of the connection (platform
     * SCP03, AESKey/ECKey session channels, ECKey key agreement, attestation
     * checks); NULL = the process default. Borrowed: must outlive the
     * connection. Needs CMAC, AES-128-CBC/ECB (SCP03, AESKey sessions) and
     * EC, ECDH, SHA-256 (ECKey sessions), e.g. the "default" provider. */
    OSSL_LIB_CTX *libctx;
} se05x_conn_opts;

typedef struct {
    uint64_t apdus;    /* command APDUs sent on the transport */
    uint64_t bytes_tx; /* bytes of command APDUs (as sent, wrapped) */
    uint64_t bytes_rx; /* bytes of response APDUs */
} se05x_counters;

/* Open connstr (NULL = se05x_connstr_default()), SELECT the applet unless
 * opts->no_select, open platform SCP03 if a key file is given. */
se05x_status se05x_conn_open(const char *connstr, const se05x_conn_opts *opts, se05x_conn **out);
/* Like se05x_conn_open, but on failure leaves a message in err. */
se05x_status se05x_conn_open_err(const char *connstr, const se05x_conn_opts *opts,
                                 se05x_conn **out, char *err, size_t errlen);
/* Build a connection over an already-open transport (takes ownership of t,
 * also on failure). Used by tests and by callers with their own links. */
se05x_status se05x_conn_open_transport(se05x_transport *t, const se05x_conn_opts *opts,
                                       se05x_conn **out);
void se05x_conn_close(se05x_conn *c);

/* SELECT the IoT applet; version (may be NULL) receives the 7-byte answer. */
se05x_status se05x_conn_select(se05x_conn *c, uint8_t version[7]);
/* The 7 bytes of the last SELECT answer (zero before). */
const uint8_t *se05x_conn_applet_version(const se05x_conn *c);

/* Send one command through session and SCP layers. rsp receives the
 * response data (without SW), *sw the status word. Returns SE05X_OK when a
 * response arrived (whatever the SW), an error for link/SCP failures. */
se05x_status se05x_conn_apdu(se05x_conn *c, const se05x_apdu *a, uint8_t *rsp, size_t cap,
                             size_t *rlen, uint16_t *sw);
/* Same, and SE05X_ERR_SW unless *sw == 9000. */
se05x_status se05x_conn_apdu_ok(se05x_conn *c, const se05x_apdu *a, uint8_t *rsp, size_t cap,
                                size_t *rlen);
/* Raw bytes in, raw bytes out (data || SW): no session/SCP wrapping. */
se05x_status se05x_conn_raw(se05x_conn *c, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                            size_t cap, size_t *rlen);
/* Forward a raw command APDU (bytes as received, e.g. from a remote
 * service that runs its own applet sessions): wrapped by the connection's
 * platform SCP03 channel when one is open, never by the host's own applet
 * session. A SELECT goes plain; when it succeeds (which ends the card's
 * channel and sessions) the connection re-opens platform SCP03 and its
 * session as after a reconnect. rapdu receives data || SW (unwrapped); same
 * fork/reconnect handling, tracing, counters and last SW as se05x_conn_raw;
 * SE05X_ERR_BUFFER (channel kept) when the answer exceeds cap. */
se05x_status se05x_conn_forward(se05x_conn *c, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                                size_t cap, size_t *rlen);

void se05x_conn_lock(se05x_conn *c);
void se05x_conn_unlock(se05x_conn *c);

uint16_t se05x_conn_last_sw(const se05x_conn *c);
/* Last error detail ("" if none). */
const char *se05x_conn_errmsg(const se05x_conn *c);
void se05x_conn_counters(const se05x_conn *c, se05x_counters *out);
void se05x_conn_counters_reset(se05x_conn *c);

/* ---- sessions and secure channels (implemented in session.c/scp03.c) -- */

/* Platform SCP03 keys (AES-128). */
typedef struct {
    uint8_t enc[16], mac[16], dek[16];
} se05x_scp03_keys;

/* Read a key file with lines "ENC <hex>", "MAC <hex>", "DEK <hex>"
 * (# comments and blank lines allowed). err receives a message. */
se05x_status se05x_scp03_keys_load(const char *path, se05x_scp03_keys *keys, char *err,
                                   size_t errlen);
/* Open platform SCP03 (INITIALIZE UPDATE + EXTERNAL AUTHENTICATE, security
 * level C-MAC|C-ENC|R-MAC|R-ENC); kvn 0 = 0x0B. */
se05x_status se05x_conn_scp03_open(se05x_conn *c, const se05x_scp03_keys *keys, uint8_t kvn);

/* Applet sessions (spec §2.8). After opening, every se05x_conn_apdu() goes
 * through the 80 05 wrapper until se05x_session_close(). */
se05x_status se05x_session_open_userid(se05x_conn *c, uint32_t auth_id, const uint8_t *userid,
                                       size_t len);
se05x_status se05x_session_open_aeskey(se05x_conn *c, uint32_t auth_id, const uint8_t key[16]);
/* ECKey session (spec §2.8): auth_id names an ECKey auth object holding the
 * public half of host_key (an EC P-256 private key); the session runs an
 * SCP03 channel keyed from ECDH with the SE's KP_ECKEY_USER key. */
se05x_status se05x_session_open_eckey(se05x_conn *c, uint32_t auth_id, EVP_PKEY *host_key);
se05x_status se05x_session_close(se05x_conn *c);
bool se05x_session_active(const se05x_conn *c);

#endif
