/* Internal interfaces of the simulator, shared by its modules:
 *   sim.c        card/channel lifecycle, locking, sesim_chan_process()
 *   secure.c     outer layer: platform SCP03, INITIALIZE UPDATE / EXTERNAL
 *                AUTHENTICATE, the 80 05 session wrapper, applet sessions
 *                (UserID, AESKey, ECKey); calls sesim_dispatch() for inner commands
 *   secure_eckey.c  ECKey INTERNAL AUTHENTICATE checks and key agreement
 *   dispatch.c   command table walk, TLV parsing, SELECT, unknown INS
 *   store.c      crash-safe object store in DIR (one file per object)
 *   factory.c    first start: UID, EdgeLock 2GO keys/certs, attestation key
 *   policy.c     policy parsing and access checks
 *   cmd_*.c      command handlers, each module exporting one table
 *   keys.c       sesim_obj <-> EVP_PKEY conversions
 *   objcache.c   cache of parsed objects and their EVP_PKEYs (used by store.c)
 * The wire facts are in ../shared/spec/se05x-apdu.md. */
#ifndef SESIM_INTERNAL_H
#define SESIM_INTERNAL_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "se05x/apdu.h"
#include "se05x/curves.h"
#include "se05x/scp03.h"
#include "se05x/status.h"
#include "se05x/tlv.h"
#include "sesim/sesim.h"

/* ---- objects -------------------------------------------------------- */

/* SecureObjectType base values (3.x numbering, spec §2.3). EC objects are
 * stored with these; 7.x reports curve-specific types (sesim_type_report). */
enum {
    SESIM_T_EC_PAIR = 0x01, SESIM_T_EC_PRIV = 0x02, SESIM_T_EC_PUB = 0x03,
    SESIM_T_RSA_PAIR = 0x04, SESIM_T_RSA_PAIR_CRT = 0x05, SESIM_T_RSA_PRIV = 0x06,
    SESIM_T_RSA_PRIV_CRT = 0x07, SESIM_T_RSA_PUB = 0x08, SESIM_T_AES = 0x09,
    SESIM_T_DES = 0x0A, SESIM_T_BINARY = 0x0B, SESIM_T_USERID = 0x0C,
    SESIM_T_COUNTER = 0x0D, SESIM_T_PCR = 0x0F, SESIM_T_CURVE = 0x10, SESIM_T_HMAC = 0x11,
};

/* Object origin (attributes). */
enum { SESIM_ORIGIN_EXTERNAL = 1, SESIM_ORIGIN_INTERNAL = 2, SESIM_ORIGIN_PROVISIONED = 3 };

/* Key-material components of an object. */
enum {
    SESIM_C_PRIV,  /* EC private scalar (BE, field length; Ed25519 seed as RFC 8032) */
    SESIM_C_PUB,   /* EC public key in SE format (04||X||Y; 25519/448 reversed) */
    SESIM_C_N, SESIM_C_E, SESIM_C_D, SESIM_C_P, SESIM_C_Q, SESIM_C_DP, SESIM_C_DQ, SESIM_C_INVQ,
    SESIM_C_VALUE, /* symmetric key, binary content, UserID value, counter value, PCR */
    SESIM_C_COUNT
};

typedef struct {
    uint8_t *v; /* heap, wiped on free */
    size_t len;
} sesim_comp;

typedef struct {
    uint32_t id;
    uint8_t type;      /* SESIM_T_* base type */
    uint8_t curve;     /* ECCurve id for EC objects (spec §2.4), else 0 */
    uint8_t origin;    /* SESIM_ORIGIN_* */
    bool auth;         /* authentication object (created with INS_AUTH_OBJECT) */
    bool transient;    /* lives in RAM only, gone at reset */
    uint16_t max_attempts;
    uint16_t failed_attempts;
    uint8_t policy[256];
    uint16_t policy_len; /* 0 = default policy */
    uint32_t version;
    uint16_t size;       /* binary/counter length in bytes, RSA modulus bits, ... */
    sesim_comp comp[SESIM_C_COUNT];
} sesim_obj;

void sesim_obj_init(sesim_obj *o);
void sesim_obj_free(sesim_obj *o); /* wipes key material */
se05x_status sesim_obj_set_comp(sesim_obj *o, int comp, const uint8_t *v, size_t len);
/* Total bytes the object takes against the persistent memory limit. */
size_t sesim_obj_footprint(const sesim_obj *o);

/* ---- store (store.c) -------------------------------------------------- */
/* All calls expect the card lock to be held (they run inside
 * sesim_chan_process). Transient objects are kept in memory by the store. */
se05x_status sesim_store_load(sesim *s, uint32_t id, sesim_obj *out);  /* NOT_FOUND */
bool sesim_store_exists(sesim *s, uint32_t id);
/* Atomically create or replace; SE05X_ERR_BUFFER when the memory limit is hit. */
se05x_status sesim_store_save(sesim *s, const sesim_obj *o);
se05x_status sesim_store_delete(sesim *s, uint32_t id);
/* Sorted ascending; *ids is malloc'ed. */
se05x_status sesim_store_list(sesim *s, uint32_t **ids, size_t *n);
size_t sesim_store_used(sesim *s);
void sesim_store_drop_transient(sesim *s);

/* Key of an object for key use (sign, verify, ECDH, ...): a new reference
 * to the EVP_PKEY cached with the object when o has the key material of the
 * cached entry for o->id (as after sesim_store_load in the same APDU), else
 * a freshly built one (sesim_obj_to_pkey). Free with EVP_PKEY_free. */
EVP_PKEY *sesim_store_pkey(sesim *s, const sesim_obj *o);
/* A signing context on that cached key (call EVP_PKEY_sign_init before each
 * use), owned by the cache and valid until the next store call on s; NULL
 * when o is not the cached entry's key (make your own context then). */
EVP_PKEY_CTX *sesim_store_sign_ctx(sesim *s, const sesim_obj *o);

/* ---- object cache (objcache.c) ---------------------------------------- */
/* Only the store calls these, with the card lock held. */

/* Identity of an object file: a change of any field means "re-read". */
typedef struct {
    uint64_t dev, ino;
    int64_t size, mtime_ns, ctime_ns;
} sesim_file_id;

/* Counters, for tests and diagnostics. */
typedef struct {
    uint64_t hits;        /* trusted on stat() alone */
    uint64_t confirms;    /* racy entry re-read and found unchanged */
    uint64_t fills;       /* parsed and cached */
    uint64_t stale;       /* entry found outdated and dropped */
    uint64_t drops;       /* dropped by a write or delete */
    uint64_t evictions;   /* least recently used entry evicted */
    uint64_t pkey_builds; /* EVP_PKEY built for a cached entry */
    uint64_t pkey_hits;   /* cached EVP_PKEY reused */
} sesim_objcache_stats;

typedef struct sesim_objcache sesim_objcache;
sesim_objcache *sesim_objcache_new(void);
void sesim_objcache_free(sesim_objcache *c); /* wipes every entry */
void sesim_objcache_clear(sesim_objcache *c);
void sesim_objcache_drop(sesim_objcache *c, uint32_t id);
int64_t sesim_objcache_now(void); /* CLOCK_REALTIME in ns */
void sesim_file_id_from_stat(sesim_file_id *f, const struct stat *sb);
/* The cached object for id if fid matches and the entry is not racy; an
 * entry whose file identity differs is dropped. */
const sesim_obj *sesim_objcache_lookup(sesim_objcache *c, uint32_t id, const sesim_file_id *fid);
/* The file was read (content raw, identity fid, clock read_ns taken before
 * the read): the cached object if its image is byte-identical (the entry is
 * refreshed), else NULL (a differing entry is dropped). */
const sesim_obj *sesim_objcache_confirm(sesim_objcache *c, uint32_t id, const sesim_file_id *fid,
                                        int64_t read_ns, const uint8_t *raw, size_t rawlen);
/* Cache the parsed object *o (its components are taken over and *o is
 * reset), returning the cached copy; NULL when not cached (too big,
 * transient, no memory), in which case *o is left to the caller. */
const sesim_obj *sesim_objcache_put(sesim_objcache *c, const sesim_file_id *fid, int64_t read_ns,
                                    const uint8_t *raw, size_t rawlen, sesim_obj *o);
EVP_PKEY *sesim_objcache_pkey(sesim_objcache *c, const sesim_obj *o);
EVP_PKEY_CTX *sesim_objcache_sign_ctx(sesim_objcache *c, const sesim_obj *o);
void sesim_objcache_get_stats(const sesim_objcache *c, sesim_objcache_stats *out);
/* store.c: the counters of a card's cache (zeros when closed). */
void sesim_store_cache_stats(sesim *s, sesim_objcache_stats *out);

/* ---- card and channel ------------------------------------------------- */

#define SESIM_MAX_SESSIONS 2
#define SESIM_MAX_CRYPTO_OBJS 8

struct sesim_scp03_card; /* secure.c */

typedef struct {
    bool active;
    uint8_t id[8];
    uint32_t auth_id;     /* auth object the session was opened with */
    uint8_t kind;         /* SESIM_SESSION_* */
    bool authenticated;   /* UserID verified / SCP handshake done */
    struct sesim_scp03_card *scp; /* AESKey / ECKey session channel */
} sesim_session;

enum { SESIM_SESSION_USERID = 1, SESIM_SESSION_AESKEY = 2, SESIM_SESSION_ECKEY = 3 };

typedef struct {
    bool used;
    uint16_t id;
    uint8_t context; /* 01 digest, 02 cipher, 03 signature/MAC, 04 AEAD */
    uint8_t subtype;
    void *state;     /* owned by the crypto module */
    void (*free_state)(void *);
} sesim_crypto_obj;

struct sesim {
    char *dir;
    int lockfd;
    pthread_mutex_t mu;
    sesim_opts opts;
    uint8_t uid[18];
    void *store;        /* store.c private state */
    uint8_t scp_enc[16], scp_mac[16], scp_dek[16]; /* platform SCP03 static keys */
    uint32_t serial;    /* monotonically increasing, for session ids */
};

struct sesim_chan {
    sesim *sim;
    bool selected;
    struct sesim_scp03_card *platform_scp; /* non-NULL once platform SCP03 is open */
    sesim_session sessions[SESIM_MAX_SESSIONS];
    sesim_crypto_obj cobj[SESIM_MAX_CRYPTO_OBJS];
};

/* factory.c: first start ("leaving the factory"), called by sesim_open
 * with the lock held when DIR holds no card yet: creates the UID object
 * 0x7FFF0206, EdgeLock 2GO keys/certs 0xF0000000/01 (EC P-256) and
 * 0xF0000004/05 (RSA 2048) under a per-installation root CA written to
 * DIR/factory-ca.pem, attestation key 0xF0000012, ECKey auth object
 * 0xF0000020 (private half to DIR/el2go-auth-key.pem). */
se05x_status sesim_factory_provision(sesim *s);

/* Log one line on stderr unless quiet. */
void sesim_log(const sesim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- command processing --------------------------------------------- */

/* One command being processed (after SCP/session unwrapping). */
typedef struct {
    sesim_chan *ch;
    sesim *sim;
    const se05x_apdu *apdu;  /* the decoded (inner) command */
    se05x_tlv_set *tlv;      /* its payload TLVs */
    uint32_t auth_id;        /* auth object of the current session, 0 = none */
    bool secure_messaging;   /* arrived with C-MAC and C-ENC (REQUIRE_SM) */
    se05x_tlvw *out;         /* response data, cap SE05X_APDU_MAX - 2 */
} sesim_req;

typedef uint16_t (*sesim_handler)(sesim_req *r); /* returns the SW */

/* One row of a command table. A row matches when
 * (INS & ins_mask) == ins, (P1 & p1_mask) == p1 and P2 == p2. */
typedef struct {
    uint8_t ins, ins_mask;
    uint8_t p1, p1_mask;
    uint8_t p2;
    const uint8_t *allowed_tags; /* 0-terminated; NULL = no payload TLV check */
    sesim_handler fn;
    const char *name;
} sesim_cmd;

/* Tables exported by the handler modules, each terminated by a row with
 * fn == NULL. */
extern const sesim_cmd sesim_cmds_objects[];  /* cmd_objects.c: write/read/mgmt */
extern const sesim_cmd sesim_cmds_crypto[];   /* cmd_crypto.c: sign/verify/ECDH/RSA/digest/cipher/MAC */
extern const sesim_cmd sesim_cmds_session[];  /* secure.c: CreateSession, VerifySessionUserID, ... */

/* Dispatch one inner command (already unwrapped). Writes data||SW into rapdu
 * and returns its length. Handles SELECT, unknown INS/P1/P2, TLV errors. */
size_t sesim_dispatch(sesim_chan *ch, const uint8_t *capdu, size_t len, uint32_t auth_id,
                      bool secure_messaging, uint8_t *rapdu, size_t cap);

/* Outer layer (secure.c): platform SCP03 and the 80 05 session wrapper.
 * Called by sesim_chan_process() with the lock held. */
size_t sesim_secure_process(sesim_chan *ch, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                            size_t cap);
/* Drop secure channel and sessions of a channel (reset/close). */
void sesim_secure_reset(sesim_chan *ch);
/* secure.c: fill s->scp_enc/mac/dek from opts.scp03_keyfile, or with the
 * SE050E development defaults when none is set. Called on every platform
 * INITIALIZE UPDATE (so sesim_open need not), may also be called at open to
 * report a bad key file early. Logs and returns the error on a bad file. */
se05x_status sesim_scp03_load_keys(sesim *s);
/* secure_eckey.c: INTERNAL AUTHENTICATE (84 88 00 00) of an ECKey session
 * opened with auth object auth_id: checks the A6/7F49/5F37 data and the
 * host signature with the auth object's public key, ECDH with
 * KP_ECKEY_USER, master key, receipt. Writes the answer (85 DR.SE, 86
 * receipt, 9000, or an error SW) to rapdu and returns its length. On
 * success ctx is the open session channel. *verdict: +1 authenticated,
 * -1 signature rejected (count a failed attempt), 0 not judged. */
size_t sesim_eckey_internal_auth(sesim *s, uint32_t auth_id, const se05x_apdu *in,
                                 se05x_scp03_ctx *ctx, int *verdict, uint8_t *rapdu, size_t cap);

/* ---- policies (policy.c) -------------------------------------------- */

/* Access-rule bits (spec §3.1). */
#define SESIM_AR_FORBID_ALL 0x20000000u
#define SESIM_AR_SIGN 0x10000000u
#define SESIM_AR_VERIFY 0x08000000u
#define SESIM_AR_KA 0x04000000u
#define SESIM_AR_ENC 0x02000000u
#define SESIM_AR_DEC 0x01000000u
#define SESIM_AR_KDF 0x00800000u
#define SESIM_AR_WRAP 0x00400000u
#define SESIM_AR_READ 0x00200000u
#define SESIM_AR_WRITE 0x00100000u
#define SESIM_AR_GEN 0x00080000u
#define SESIM_AR_DELETE 0x00040000u
#define SESIM_AR_REQUIRE_SM 0x00020000u
#define SESIM_AR_REQUIRE_PCR 0x00010000u
#define SESIM_AR_ATTEST 0x00008000u
#define SESIM_AR_IMPORT_EXPORT 0x00001000u

/* Validate a policy TLV value; 0x9000 or 0x6984. */
uint16_t sesim_policy_validate(const uint8_t *pol, size_t len);
/* May the requester do `ar` on o? 0x9000, or 0x6986 (denied by policy). */
uint16_t sesim_policy_check(const sesim_req *r, const sesim_obj *o, uint32_t ar);

/* ---- keys (keys.c) -------------------------------------------------- */

/* Build an EVP_PKEY (private if available, else public) from an EC or RSA
 * object; NULL if the object has no usable key. */
EVP_PKEY *sesim_obj_to_pkey(const sesim_obj *o);
/* Fill an EC/RSA object's components from pkey (private parts if present). */
se05x_status sesim_obj_from_pkey(sesim_obj *o, EVP_PKEY *pkey);
/* Curve ids, names and sizes: se05x/curves.h (shared with hostlib). */

/* Report type for ReadType / ReadIDList filter: curve-specific for 7.x. */
uint8_t sesim_type_report(const sesim *s, const sesim_obj *o);


/* ---- additions of the simulator core (sim.c, store.c, cmd_objects.c) --- */

/* Store lifecycle (sim.c calls these): open creates DIR/objects, removes
 * stale temporary files and quarantines corrupt ones; close frees the
 * transient objects. */
se05x_status sesim_store_open(sesim *s);
void sesim_store_close(sesim *s);

/* EC curves (CreateECCurve/SetECCurveParam state, persistent). A curve is
 * usable when SET: Weierstrass curves need all five parameters, X25519/X448
 * only CreateECCurve, Ed25519 is always present. */
bool sesim_curve_is_set(sesim *s, uint8_t curve);
/* Create the curve with all parameters set (first start leaves P-256 set). */
se05x_status sesim_curve_install(sesim *s, uint8_t curve);
/* Ids of the internal curve records (hidden from every object command). */
#define SESIM_CURVE_OBJ_BASE 0x7FFFFC00u
static inline bool sesim_id_internal(uint32_t id) { return (id & 0xFFFFFF00u) == SESIM_CURVE_OBJ_BASE; }

/* Object attributes as reported by ReadObjectAttributes (spec §2.3); returns
 * the length written to out (0 if cap is too small). */
size_t sesim_obj_attributes(const sesim *s, const sesim_obj *o, uint8_t *out, size_t cap);

/* Table of cmd_attest.c (attested ReadObject / ReadObjectAttributes, INS
 * 0x22), walked by the dispatcher after the three tables above. */
extern const sesim_cmd sesim_cmds_attest[];

/* VersionInfo (7 bytes) as in the SELECT answer. */
void sesim_version_info(const sesim *s, uint8_t out[7]);

#endif
