/* Offline remote trust provisioning (RTP, spec el2go-protocol.md §8):
 * what rtp-server, rtp-client and rtp-make share: the TCP framing
 * (cmd u16 BE | length u16 BE | payload), the JSON provisioning model
 * (json-c) with strict base64 (libcrypto), the device id of a UID,
 * small helpers (hex, object-id lists), the server and client sessions, and
 * rtp-make's key objects (PEM loading, APDUs from hostlib's encoders). */
#ifndef RTP_H
#define RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/status.h"

/* ---- framing ---------------------------------------------------------- */

enum {
    RTP_TAG_START = 0x0000,
    RTP_TAG_APDU_CMD = 0x8000,
    RTP_TAG_APDU_RESPONSE = 0x8100,
    RTP_TAG_PROVISIONED_LIST = 0x8200,
    RTP_TAG_PROVISIONED_LIST_RESPONSE = 0x8300,
    RTP_TAG_FAILED_LIST = 0x8400,
    RTP_TAG_FAILED_LIST_RESPONSE = 0x8500,
    RTP_TAG_DONE = 0xFF00,
};

#define RTP_DEFAULT_PORT 7050
#define RTP_CLIENT_MAX 892   /* client receive buffer (NXP's RTP_MAX_BUFFER_SIZE) */
#define RTP_SERVER_MAX 8192  /* server receive buffer: largest APDU response accepted */
#define RTP_TIMEOUT_MS 20000 /* server socket read timeout */

/* Name of a tag ("APDU_CMD"), "unknown" otherwise. */
const char *rtp_tag_name(uint16_t tag);

/* Send one frame (len <= 65535). Errors as se05x_sock_send_all. */
se05x_status rtp_send(int fd, uint16_t tag, const uint8_t *payload, size_t len,
                      long long deadline);

/* Receive one frame into buf (cap bytes), looping on partial reads.
 * SE05X_ERR_BUFFER when the announced length exceeds cap (nothing of the
 * payload is read; the stream is then out of step: close it);
 * SE05X_ERR_TRANSPORT with errno 0 when the peer closed; SE05X_ERR_TIMEOUT.
 * err (may be NULL) receives a one-line description of any failure. */
se05x_status rtp_recv(int fd, uint16_t *tag, uint8_t *buf, size_t cap, size_t *len,
                      long long deadline, char *err, size_t errlen);

/* ---- JSON model --------------------------------------------------------- */

typedef struct {
    uint8_t *data;
    size_t len;
} rtp_bytes;

typedef struct {
    long long provisioning_id;
    char state[48];
    char type[48];      /* secureObject.type ("KEYPAIR", "CERTIFICATE", ...) */
    char algorithm[48]; /* secureObject.algorithm, "" if absent */
    char name[128];     /* secureObject.name, "" if absent */
    uint32_t object_id; /* secureObject.objectId (hex string) */
    rtp_bytes create;   /* apdus.createApdu.apdu */
    rtp_bytes *writes;  /* apdus.writeApdus[].apdu */
    size_t nwrites;
} rtp_prov;

typedef struct {
    char device_id[64]; /* decimal */
    rtp_prov *provs;
    size_t nprovs;
} rtp_device;

typedef struct {
    rtp_device *devs;
    size_t ndevs;
} rtp_file;

/* Parse a provisioning file's text (a JSON array of devices). Every field
 * is type-checked and every APDU base64-decoded strictly (and must be
 * 4..RTP_CLIENT_MAX bytes) before anything is returned: on error *out is
 * left empty and err says what and where. */
se05x_status rtp_file_parse(const char *text, size_t len, rtp_file *out, char *err,
                            size_t errlen);
/* Read and parse a file (at most 16 MiB). */
se05x_status rtp_file_load(const char *path, rtp_file *out, char *err, size_t errlen);
/* Free (and wipe: APDUs carry keys) everything in f. */
void rtp_file_free(rtp_file *f);

/* Strict base64 (RFC 4648 alphabet, padding required, no whitespace).
 * *out is malloc'ed (free with OPENSSL_clear_free(*out, *outlen)). */
se05x_status rtp_b64_decode(const char *in, uint8_t **out, size_t *outlen);
/* Base64 of data, malloc'ed NUL-terminated string. */
char *rtp_b64_encode(const uint8_t *data, size_t len);

/* ---- device identity ------------------------------------------------------ */

/* Decimal string of an 18-byte UID read as a signed big-endian integer
 * (java.math.BigInteger semantics). SE05X_ERR_BUFFER if cap is too small. */
se05x_status rtp_device_id(const uint8_t *uid, size_t len, char *out, size_t cap);

/* ---- helpers -------------------------------------------------------------- */

/* Hex (even length, optional 0x, no separators) to bytes. */
se05x_status rtp_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len);
/* Object id: 1..8 hex digits with optional 0x. */
se05x_status rtp_parse_objid(const char *s, uint32_t *id);

typedef struct {
    uint32_t *ids;
    size_t n, cap;
} rtp_idlist;

se05x_status rtp_idlist_add(rtp_idlist *l, uint32_t id);
bool rtp_idlist_has(const rtp_idlist *l, uint32_t id);
void rtp_idlist_free(rtp_idlist *l);
/* "0x83000001, 0x83000002" (or "-" when empty) into buf. */
void rtp_idlist_format(const uint32_t *ids, size_t n, char *buf, size_t cap);


/* ---- server and client sessions (rtp_server.c, rtp_client.c) ------------ */

#include <stdio.h>

#include "se05x/conn.h"

typedef struct {
    const char *dir;      /* directory with the *.json provisioning files */
    bool optimize;        /* -o: only files whose name contains the device id */
    bool force_curves;    /* -f: always install curves, ignore their SWs */
    unsigned timeout_ms;  /* read timeout, 0 = RTP_TIMEOUT_MS */
    FILE *log;            /* log lines (NULL = stderr) */
    const char *peer;     /* client name for log lines (may be NULL) */
} rtp_server_opts;

typedef struct {
    char device_id[64];   /* "" if the UID was not read */
    bool known;           /* the device appears in a file */
    bool completed;       /* DONE was sent */
    size_t provisioned, failed, skipped, bad_files;
    char error[256];      /* why the session stopped early ("" if it did not) */
} rtp_server_result;

/* Serve one connected client (§8 sequence). Returns SE05X_OK when DONE was
 * sent, an error when the link failed or the client broke the protocol
 * (r->error says what). Logs one summary line per device. */
se05x_status rtp_server_session(int fd, const rtp_server_opts *o, rtp_server_result *r);

typedef struct {
    FILE *out;            /* lists and log lines (NULL = stdout) */
    unsigned timeout_ms;  /* 0 = wait forever for the server */
} rtp_client_opts;

typedef struct {
    rtp_idlist provisioned, failed;
    size_t apdus;
    bool done;
    char error[256];
} rtp_client_result;

/* Run the client side on a connected socket, forwarding APDU_CMD payloads
 * to the SE with se05x_conn_raw(). SE05X_OK when DONE arrived; errors for
 * link failures, oversized frames or SE link failures (r->error). Free r
 * with rtp_client_result_free(). */
se05x_status rtp_client_run(int fd, se05x_conn *se, const rtp_client_opts *o,
                            rtp_client_result *r);
void rtp_client_result_free(rtp_client_result *r);

/* ---- rtp-make's key objects (rtp_make.c) ----------------------------------- */

#include <openssl/types.h>

#include "se05x/commands.h"

typedef struct {
    const char *type;   /* secureObject.type: "KEYPAIR" or "STATIC_PUBLIC_KEY" */
    char algorithm[32]; /* "NIST_P256", "ED_25519", "MONT_DH_25519", "RSA_2048", ... */
    size_t bits;        /* key size in bits (256 for Ed25519/X25519) */
} rtp_key_desc;

/* Load a PEM key file (at most 64 KiB): a private key (priv; PKCS#8 or
 * traditional, never prompting for a passphrase) or a SubjectPublicKeyInfo
 * public key. NULL on failure with err saying what the file holds instead
 * (no PEM, a certificate, a public key where a private key is wanted or
 * the other way round, an encrypted key). */
EVP_PKEY *rtp_load_key(const char *path, bool priv, char *err, size_t errlen);

/* Run the commands that create key object id from k (a key pair when pair,
 * else only its public part) on c, a recording connection
 * (se05x/record.h), with options o (policy; may be NULL): WriteECKey for EC
 * keys (Weierstrass curves; Ed25519, X25519, X448 as EC objects on curves
 * 0x40/0x41/0x43 with the SE's byte order), the WriteRSAKey sequence for
 * RSA 1024/2048/3072/4096 (CRT components for a pair, E then N for a
 * public key). *d describes the object for the JSON file. Errors:
 * SE05X_ERR_UNSUPPORTED (key type, curve or size), SE05X_ERR_CRYPTO (key
 * values unreadable, e.g. a pair wanted from a public key), encoder errors;
 * err says why. */
se05x_status rtp_make_key(se05x_conn *c, const se05x_obj_opts *o, const EVP_PKEY *k,
                          uint32_t id, bool pair, rtp_key_desc *d, char *err, size_t errlen);

#endif
