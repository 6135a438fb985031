/* Internals of the se05x OpenSSL 3 provider (architecture: provider/openssl).
 * prov.c holds the provider context (configuration, lazy sss session, lock,
 * private OSSL_LIB_CTX, logging, errors) and the algorithm tables; key.c
 * the key object shared by keymgmt (keymgmt.c, keygen.c), signatures
 * (signature.c, eddsa.c), keyexch.c, X25519 keymgmt and keyexch (x25519.c),
 * asym_cipher.c, encoders (encoder.c, refkey.c), rand.c and the store
 * (store.c); uri.c the se05x:/nxp: URI syntax. The provider never builds
 * APDUs: everything goes through sss. */
#ifndef SE05X_PROV_H
#define SE05X_PROV_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sss/spec.h"
#include "sss/sss.h"

#define SE05X_PROV_NAME "se05x"
#define SE05X_PROV_PROPS "provider=se05x"
/* Provider parameter (OSSL_PROVIDER_get_params): APDUs sent so far. */
#define SE05X_PROV_PARAM_APDUS "se05x-apdus"

/* Reason codes of our error strings (prov.c: reason table). */
enum {
    SE05X_R_CONNECT = 1,  /* cannot open the SE session */
    SE05X_R_NOT_FOUND,    /* no such object */
    SE05X_R_BAD_URI,      /* malformed se05x: URI */
    SE05X_R_SSS,          /* an sss call failed (message from sss) */
    SE05X_R_KEY_TYPE,     /* object type not usable here */
    SE05X_R_NO_PRIVATE,   /* operation needs the SE private key */
    SE05X_R_UNSUPPORTED,  /* parameter or mode not supported */
    SE05X_R_BAD_PARAM,    /* malformed parameter */
    SE05X_R_CONFIG,       /* invalid provider configuration */
    SE05X_R_INTERNAL,     /* allocation or libcrypto failure */
    SE05X_R_NO_PUBLIC,    /* the SE key's public part is unknown (keycert.c) */
};

typedef struct se05x_prov {
    const OSSL_CORE_HANDLE *handle;
    OSSL_LIB_CTX *libctx; /* private: our own libcrypto use (default provider) */
    OSSL_FUNC_core_new_error_fn *c_new_error;
    OSSL_FUNC_core_set_error_debug_fn *c_set_error_debug;
    OSSL_FUNC_core_vset_error_fn *c_vset_error;

    /* configuration (strings owned) */
    char *connstr;        /* NULL: SE05X_PORT / EX_SSS_BOOT_SSS_PORT / default */
    sss_auth_spec authspec; /* auth method, id, secret (wiped at unload), key paths */
    char config_err[320];   /* invalid configuration: reported on first use */

    pthread_mutex_t lock; /* guards sess and every sss call */
    pid_t lock_pid;       /* process that initialised lock (fork detection) */
    sss_session *sess;    /* opened on first use */
} se05x_prov;

/* ---- prov.c ---------------------------------------------------------- */

/* Raise an OpenSSL error with our provider as library and a formatted
 * detail line. */
void se05x_err(const se05x_prov *pc, int reason, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define SE05X_ERR(pc, r, ...) se05x_err((pc), (r), __FILE__, __LINE__, __VA_ARGS__)

/* Log a line to SE05X_PROVIDER_LOG ("stderr" or a file); silent if unset. */
void se05x_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Take the lock and make sure the session is open (connecting on first
 * use). On success the lock is held and *s is the session; on failure an
 * error is raised, the lock is released and 0 is returned. */
int se05x_session_acquire(se05x_prov *pc, sss_session **s);
void se05x_session_release(se05x_prov *pc);
/* Raise the sss error of the last failed call (lock held). */
void se05x_err_sss(se05x_prov *pc, sss_status st, const char *file, int line, const char *what);
#define SE05X_ERR_SSS(pc, st, what) se05x_err_sss((pc), (st), __FILE__, __LINE__, (what))

/* ---- uri.c ----------------------------------------------------------- */

/* Parse "se05x:0xID" / "nxp:0xID" (also without 0x; 1..8 hex digits), or
 * "se05x:" / "nxp:" alone for enumeration (*all = true). Returns 0 on a
 * malformed URI or another scheme. */
int se05x_uri_parse(const char *uri, bool *all, uint32_t *id);
/* "se05x:0x%08X" into buf (at least 17 bytes). */
void se05x_uri_format(uint32_t id, char *buf, size_t len);

/* ---- key.c ----------------------------------------------------------- */

typedef enum {
    SE05X_KEY_EC = 1,
    SE05X_KEY_RSA,
    SE05X_KEY_ED25519,
    SE05X_KEY_X25519,
} se05x_key_kind;

typedef struct se05x_key {
    se05x_prov *pc;
    int refs;             /* atomic */
    se05x_key_kind kind;
    uint32_t id;          /* SE object id (0 for imported public keys) */
    bool priv;            /* the SE holds the private key */
    sss_key *sk;          /* open SE handle (NULL for imported public keys) */
    EVP_PKEY *pub;        /* public key in pc->libctx */
    bool eph;             /* a host ephemeral for TLS key exchange (ephemeral.c): */
    int eph_held;         /* pub is then the host key; OSSL_KEYMGMT_SELECT_* held */
} se05x_key;

/* What our store and decoder hand to our keymgmt's load(): a magic and
 * the key. Its size differs from a pointer's on purpose, so that another
 * provider's keymgmt, if OpenSSL ever hands it this reference (the 3.0
 * file: store passes a decoder's reference to the store provider's
 * keymgmt), rejects it instead of misreading it. */
#define SE05X_KEYREF_MAGIC "SE05XREF"
typedef struct {
    char magic[8];
    se05x_key *key;
} se05x_keyref;
void se05x_keyref_set(se05x_keyref *r, se05x_key *k);

/* Open the SE key at id; raises an error and returns NULL on failure. */
se05x_key *se05x_key_open(se05x_prov *pc, uint32_t id);
/* A public-only key of the given kind (pub: reference taken over). */
se05x_key *se05x_key_from_pub(se05x_prov *pc, se05x_key_kind kind, EVP_PKEY *pub);
se05x_key *se05x_key_ref(se05x_key *k);
void se05x_key_unref(se05x_key *k);
/* Kind of an SE object (type and curve), 0 if not an EC/RSA/Ed25519/X25519 key. */
se05x_key_kind se05x_kind_of(sss_key_type t, uint8_t curve);
bool se05x_type_has_private(sss_key_type t);
const char *se05x_kind_name(se05x_key_kind kind); /* "EC" / "RSA" / "ED25519" / "X25519" */
/* Sign tbs with the SE key (one APDU through sss) into sig[sigsize];
 * *siglen receives the length. On failure raises an error naming `what`
 * and the key id, returns 0. */
int se05x_key_sign(se05x_key *k, const sss_sig_params *sp, const unsigned char *tbs,
                   size_t tbslen, unsigned char *sig, size_t *siglen, size_t sigsize,
                   const char *what);

/* ---- keycert.c: SE keys whose policy forbids reading the public part --- */

/* The public part of SE key sk (of the given kind) from a certificate in
 * the SE: the binary object at id+1 first, then every other binary object;
 * accepted only when a fresh SE signature over a random digest verifies
 * under it. Lock held (session s). *pub: the key, or NULL if none matches
 * (no error raised). Returns 0 (error raised) only when the SE link fails. */
int se05x_keycert_find(se05x_prov *pc, sss_session *s, sss_key *sk, se05x_key_kind kind,
                       EVP_PKEY **pub);
/* keymgmt match when exactly one of a, b has no public part: the SE key
 * signs a random digest, the other key verifies it; a proven key becomes
 * the SE key's public part. 1 match, 0 not; -1: not this case (compare
 * public keys as usual). */
int se05x_keycert_match(const se05x_key *a, const se05x_key *b, int selection);
/* 1 if k has a public part; otherwise raises "public part of 0x... is not
 * readable and no certificate in the SE matches it" and returns 0. */
int se05x_key_need_pub(const se05x_key *k);

/* ---- algorithm tables (one file each) -------------------------------- */

extern const OSSL_DISPATCH se05x_ec_keymgmt_functions[];
extern const OSSL_DISPATCH se05x_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH se05x_ed25519_keymgmt_functions[];
extern const OSSL_DISPATCH se05x_ed25519_signature_functions[];
extern const OSSL_DISPATCH se05x_ed25519_spki_der_encoder_functions[];
extern const OSSL_DISPATCH se05x_ed25519_spki_pem_encoder_functions[];
extern const OSSL_DISPATCH se05x_ed25519_text_encoder_functions[];
extern const OSSL_DISPATCH se05x_ed25519_ref_decoder_functions[];
extern const OSSL_DISPATCH se05x_ecdsa_signature_functions[];
extern const OSSL_DISPATCH se05x_rsa_signature_functions[];
extern const OSSL_DISPATCH se05x_ecdh_keyexch_functions[];
extern const OSSL_DISPATCH se05x_rsa_asym_cipher_functions[];
extern const OSSL_DISPATCH se05x_store_functions[];
extern const OSSL_DISPATCH se05x_trng_functions[];
extern const OSSL_DISPATCH se05x_ec_spki_der_encoder_functions[];
extern const OSSL_DISPATCH se05x_ec_spki_pem_encoder_functions[];
extern const OSSL_DISPATCH se05x_ec_text_encoder_functions[];
extern const OSSL_DISPATCH se05x_rsa_spki_der_encoder_functions[];
extern const OSSL_DISPATCH se05x_rsa_spki_pem_encoder_functions[];
extern const OSSL_DISPATCH se05x_rsa_text_encoder_functions[];
extern const OSSL_DISPATCH se05x_ref_pem_encoder_functions[];
extern const OSSL_DISPATCH se05x_ref_der_encoder_functions[];
extern const OSSL_DISPATCH se05x_ec_ref_decoder_functions[];
extern const OSSL_DISPATCH se05x_rsa_ref_decoder_functions[];
extern const OSSL_DISPATCH se05x_x25519_keymgmt_functions[];
extern const OSSL_DISPATCH se05x_x25519_keyexch_functions[];
extern const OSSL_DISPATCH se05x_x25519_spki_der_encoder_functions[];
extern const OSSL_DISPATCH se05x_x25519_spki_pem_encoder_functions[];
extern const OSSL_DISPATCH se05x_x25519_text_encoder_functions[];
extern const OSSL_DISPATCH se05x_x25519_ref_decoder_functions[];
extern const OSSL_DISPATCH se05x_nxpref_pass_decoder_functions[]; /* nxpref.c */
extern const OSSL_DISPATCH se05x_nxpref_pem_decoder_functions[];

/* keygen.c: keymgmt gen functions (generation in the SE at an object id) */
void *se05x_ec_gen_init(void *provctx, int selection, const OSSL_PARAM params[]);
void *se05x_rsa_gen_init(void *provctx, int selection, const OSSL_PARAM params[]);
void *se05x_ed25519_gen_init(void *provctx, int selection, const OSSL_PARAM params[]);
const OSSL_PARAM *se05x_ed25519_gen_settable(void *genctx, void *provctx);
void *se05x_x25519_gen_init(void *provctx, int selection, const OSSL_PARAM params[]);
int se05x_gen_set_params(void *genctx, const OSSL_PARAM params[]);
const OSSL_PARAM *se05x_ec_gen_settable(void *genctx, void *provctx);
const OSSL_PARAM *se05x_rsa_gen_settable(void *genctx, void *provctx);
void *se05x_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg);
int se05x_gen_set_template(void *genctx, void *templ);
void se05x_gen_cleanup(void *genctx);

/* ephemeral.c: host (EC)DHE keys for TLS groups "se05x-eph-*" (tls_groups.c) */
int se05x_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg);
/* Is name one of our internal TLS group names? type: "EC"/"X25519", group:
 * the OpenSSL group (NULL for X25519). */
int se05x_eph_group(const char *name, const char **type, const char **group);
se05x_key *se05x_eph_generate(se05x_prov *pc, se05x_key_kind kind, const char *type,
                              const char *group, bool pair);
/* type/group of an ephemeral template key (keygen from a peer's key) */
int se05x_eph_template(const se05x_key *t, const char **type, const char **group);
int se05x_eph_has(const se05x_key *k, int selection);
int se05x_eph_get_params(se05x_key *k, OSSL_PARAM params[]);
int se05x_eph_set_params(se05x_key *k, const OSSL_PARAM params[]);
se05x_key *se05x_eph_dup(const se05x_key *k, int selection);
int se05x_eph_export(se05x_key *k, int selection, OSSL_CALLBACK *cb, void *cbarg);
int se05x_eph_derive(se05x_key *k, se05x_key *peer, unsigned char *secret, size_t *secretlen,
                     size_t outlen);

/* keymgmt.c: import public key params into a new key (used by encoders). */
se05x_key *se05x_key_import_params(se05x_prov *pc, se05x_key_kind kind, int selection,
                                   const OSSL_PARAM params[]);
/* keymgmt.c: functions shared by every kind's keymgmt (x25519.c too). */
void se05x_km_free(void *keydata);
void *se05x_km_load(se05x_key_kind kind, const void *ref, size_t ref_sz);
int se05x_km_has(const void *keydata, int selection);
/* the peer's share of a TLS ephemeral (encoded-pub-key), ephemeral keys only */
int se05x_km_set_params(void *keydata, const OSSL_PARAM params[]);
const OSSL_PARAM *se05x_km_settable_params(void *provctx);
int se05x_km_match(const void *a, const void *b, int selection);
int se05x_km_get_params(void *keydata, OSSL_PARAM params[]);
int se05x_km_import(void *keydata, int selection, const OSSL_PARAM params[]);
int se05x_km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg);
void *se05x_km_dup(const void *keydata, int selection);
/* import/export types and gettable parameters of raw public keys (Ed25519, X25519) */
const OSSL_PARAM *se05x_km_raw_pub_types(int selection);
const OSSL_PARAM *se05x_km_raw_gettable(bool ed25519);

/* keyexch.c: key exchange context shared by ECDH and X25519 (x25519.c);
 * init and set_peer check the key kind. */
void *se05x_kx_newctx(void *provctx);
void se05x_kx_freectx(void *vctx);
void *se05x_kx_dupctx(void *vctx);
int se05x_kx_init(void *vctx, void *provkey, se05x_key_kind kind);
int se05x_kx_set_peer(void *vctx, void *provkey, se05x_key_kind kind);
int se05x_kx_derive(void *vctx, unsigned char *secret, size_t *secretlen, size_t outlen);

#endif
