/* sss: one tested way to use secure objects, the same code on a real SE05x,
 * on the simulator and on plain software (architecture: sss). A session is
 * opened on a backend (se05x through hostlib, or host software on libcrypto
 * keys kept in a directory); keys are found by their 32-bit object id and
 * opened as sss_key handles that cache type, curve, size and public key.
 *
 * Costs on the se05x backend (asserted by tests): sss_key_open of an
 * existing key takes at most 2 APDUs; signing with an open key exactly 1.
 *
 * No global state; a session is thread-safe (its calls are serialised) and
 * fork-safe (a child re-opens its link on first use). Every call returns an
 * sss_status; sss_session_errmsg() holds one line explaining the last
 * failure ("key 0xEF000001: SE answered 6986 (policy forbids signing)"). */
#ifndef SSS_SSS_H
#define SSS_SSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "se05x/policy.h"

typedef enum {
    SSS_OK = 0,
    SSS_ERR_ARG,         /* invalid argument (bad id, bad length, ...) */
    SSS_ERR_NOMEM,
    SSS_ERR_BUFFER,      /* output buffer too small / input too large */
    SSS_ERR_NOT_FOUND,   /* no object with this id */
    SSS_ERR_EXISTS,      /* object exists and overwriting was not allowed */
    SSS_ERR_KEY_TYPE,    /* the object's type does not support this operation */
    SSS_ERR_DENIED,      /* the object's policy forbids it (SW 6986) */
    SSS_ERR_AUTH,        /* authentication / secure channel failure */
    SSS_ERR_CONNECT,     /* cannot reach the SE */
    SSS_ERR_LINK,        /* link failure after connecting */
    SSS_ERR_SE,          /* the SE refused for another reason (see errmsg) */
    SSS_ERR_FORMAT,      /* malformed input file / encoding (PEM, DER...) */
    SSS_ERR_VERIFY,      /* signature or MAC did not verify */
    SSS_ERR_CRYPTO,      /* host cryptography failure */
    SSS_ERR_UNSUPPORTED, /* not supported by this backend / object */
    SSS_ERR_RESERVED_ID, /* id in a reserved range (0x7FFF0000..) */
    SSS_ERR_NO_MEMORY,   /* the SE is out of memory (6A84) */
    SSS_ERR_STATE,
} sss_status;

const char *sss_strerror(sss_status st);

/* ---- sessions ------------------------------------------------------- */

typedef enum { SSS_BACKEND_SE05X = 1, SSS_BACKEND_HOST } sss_backend;

typedef enum {
    SSS_AUTH_NONE = 0,
    SSS_AUTH_PLATFORM_SCP03, /* scp03_keyfile */
    SSS_AUTH_USERID,         /* auth_id + secret (UserID value) */
    SSS_AUTH_AESKEY,         /* auth_id + secret (16-byte AES key) */
    SSS_AUTH_ECKEY,          /* auth_id + eckey_pem (host's EC private key) */
} sss_auth;

typedef struct {
    sss_backend backend;
    /* se05x: connection string (NULL = SE05X_PORT / default);
     * host: directory holding the key store (created if missing). */
    const char *connstr;
    sss_auth auth;
    const char *scp03_keyfile; /* platform SCP03 keys; may combine with a session auth */
    uint32_t auth_id;
    const uint8_t *secret;
    size_t secret_len;
    const char *eckey_pem;
    /* libcrypto context for sss's own host-side crypto (key parsing,
     * digests, verification, random padding); NULL = the process default.
     * An OpenSSL provider passes its private context here so that sss never
     * recurses into the application's providers. Must outlive the session. */
    OSSL_LIB_CTX *libctx;
} sss_session_cfg;

typedef struct sss_session sss_session;

/* Open a session; on failure err (may be NULL) receives one line. */
sss_status sss_session_open(const sss_session_cfg *cfg, sss_session **out, char *err,
                            size_t errlen);
void sss_session_close(sss_session *s);
const char *sss_session_errmsg(const sss_session *s);
sss_backend sss_session_backend(const sss_session *s);

typedef struct {
    uint64_t apdus, bytes_tx, bytes_rx; /* se05x backend; zero on host */
} sss_counters;
void sss_session_counters(const sss_session *s, sss_counters *out);
void sss_session_counters_reset(sss_session *s);

/* ---- objects -------------------------------------------------------- */

typedef enum {
    SSS_KT_NONE = 0,
    SSS_KT_EC_PAIR, SSS_KT_EC_PUB, SSS_KT_EC_PRIV,       /* curve in .curve */
    SSS_KT_RSA_PAIR, SSS_KT_RSA_PUB, SSS_KT_RSA_PRIV,    /* bits in .bits */
    SSS_KT_AES, SSS_KT_DES, SSS_KT_HMAC,
    SSS_KT_BINARY,                                        /* data, certificates */
    SSS_KT_USERID, SSS_KT_COUNTER, SSS_KT_PCR,
    SSS_KT_OTHER,
} sss_key_type;

/* Curves: the SE05x curve ids (SE05X_CURVE_* of se05x/commands.h). */
#define SSS_CURVE_NONE 0x00
#define SSS_CURVE_P256 0x03
#define SSS_CURVE_P384 0x04
#define SSS_CURVE_P521 0x05
#define SSS_CURVE_ED25519 0x40
#define SSS_CURVE_X25519 0x41

typedef enum { SSS_ORIGIN_UNKNOWN = 0, SSS_ORIGIN_EXTERNAL = 1, SSS_ORIGIN_INTERNAL = 2,
               SSS_ORIGIN_PROVISIONED = 3 } sss_origin;

typedef struct {
    uint32_t id;
    sss_key_type type;
    uint8_t curve;     /* EC keys */
    uint16_t bits;     /* key size in bits (EC field, RSA modulus, AES/HMAC key) */
    uint32_t size;     /* bytes: binary length, key length... */
    sss_origin origin;
    bool transient;
    se05x_policy policy; /* empty when the object has the default policy or unknown */
} sss_object_info;

/* Reserved ids refused for creation/deletion: 0x7FFF0000..0x7FFFFFFF. */
bool sss_id_reserved(uint32_t id);

sss_status sss_object_exists(sss_session *s, uint32_t id, bool *exists);
sss_status sss_object_info_get(sss_session *s, uint32_t id, sss_object_info *info);
/* All objects, sorted by id; *list is malloc'ed (free()). */
sss_status sss_object_list(sss_session *s, sss_object_info **list, size_t *n);
sss_status sss_object_delete(sss_session *s, uint32_t id);

/* ---- key store: create ---------------------------------------------- */

typedef struct {
    sss_key_type type;  /* SSS_KT_EC_PAIR, SSS_KT_RSA_PAIR, SSS_KT_AES, SSS_KT_HMAC */
    uint8_t curve;      /* EC: SSS_CURVE_*; Ed25519 = SSS_CURVE_ED25519 */
    uint16_t bits;      /* RSA: 2048/3072/4096; AES: 128/192/256; HMAC: 8 * bytes */
} sss_keygen;

typedef struct {
    const se05x_policy *policy; /* NULL = the SE's default policy */
    bool force;                 /* replace an existing object (otherwise SSS_ERR_EXISTS) */
} sss_write_opts;

/* Generate inside the SE (host: in software) at id. Never falls back. */
sss_status sss_key_generate(sss_session *s, uint32_t id, const sss_keygen *spec,
                            const sss_write_opts *o);

typedef enum {
    SSS_IMPORT_AUTO = 0,  /* key pair if the input holds a private key, else public / cert */
    SSS_IMPORT_KEY_PAIR,
    SSS_IMPORT_PUBLIC,
    SSS_IMPORT_CERT,      /* stored as a binary object holding the DER certificate */
} sss_import_kind;

/* Import PEM or DER (keys: PKCS#8, traditional, SubjectPublicKeyInfo;
 * certificates: X.509). Bad input gives SSS_ERR_FORMAT and changes nothing. */
sss_status sss_key_import(sss_session *s, uint32_t id, sss_import_kind kind, const uint8_t *data,
                          size_t len, const sss_write_opts *o);
/* Symmetric keys (AES, HMAC) from raw bytes. */
sss_status sss_key_import_symmetric(sss_session *s, uint32_t id, sss_key_type type,
                                    const uint8_t *key, size_t len, const sss_write_opts *o);
/* Binary objects. */
sss_status sss_binary_write(sss_session *s, uint32_t id, const uint8_t *data, size_t len,
                            const sss_write_opts *o);
/* *len: in capacity, out size. */
sss_status sss_binary_read(sss_session *s, uint32_t id, uint8_t *out, size_t *len);

/* Certificate at id (binary object holding DER or PEM, possibly with
 * trailing zero padding) as DER. *len: in capacity, out size. */
sss_status sss_cert_read_der(sss_session *s, uint32_t id, uint8_t *out, size_t *len);

/* ---- key objects ------------------------------------------------------ */

typedef struct sss_key sss_key;

/* Open an existing key (<= 2 APDUs on se05x). */
sss_status sss_key_open(sss_session *s, uint32_t id, sss_key **out);
void sss_key_close(sss_key *k);
const sss_object_info *sss_key_info(const sss_key *k);
/* Public key as DER SubjectPublicKeyInfo (read once, then cached). */
sss_status sss_key_public_der(sss_key *k, uint8_t *out, size_t *len);

typedef enum { SSS_HASH_NONE = 0, SSS_HASH_SHA1, SSS_HASH_SHA224, SSS_HASH_SHA256,
               SSS_HASH_SHA384, SSS_HASH_SHA512 } sss_hash;

typedef enum {
    SSS_SIG_ECDSA = 1,   /* DER signature over a digest */
    SSS_SIG_RSA_PKCS1,   /* PKCS#1 v1.5 over a digest */
    SSS_SIG_RSA_PSS,     /* PSS (MGF1 with the same hash) over a digest */
    SSS_SIG_EDDSA,       /* Ed25519 over the message itself (RFC 8032 signature) */
} sss_sig_alg;

typedef struct {
    sss_sig_alg alg;
    sss_hash hash;   /* the hash that produced the digest */
    int salt_len;    /* PSS: salt length in bytes; -1 = digest length */
} sss_sig_params;

/* Sign a digest (EdDSA: the message); exactly 1 APDU on se05x. */
sss_status sss_sign(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                    uint8_t *sig, size_t *siglen);
/* SSS_OK if valid, SSS_ERR_VERIFY if not. */
sss_status sss_verify(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                      const uint8_t *sig, size_t siglen);

/* ECDH: peer public key as DER SubjectPublicKeyInfo; secret = x-coordinate. */
sss_status sss_derive_ecdh(sss_key *k, const uint8_t *peer_spki, size_t peerlen, uint8_t *secret,
                           size_t *secretlen);

typedef enum { SSS_RSA_PAD_PKCS1 = 1, SSS_RSA_PAD_OAEP_SHA1, SSS_RSA_PAD_NONE } sss_rsa_pad;
sss_status sss_rsa_encrypt(sss_key *k, sss_rsa_pad pad, const uint8_t *in, size_t inlen,
                           uint8_t *out, size_t *outlen);
sss_status sss_rsa_decrypt(sss_key *k, sss_rsa_pad pad, const uint8_t *in, size_t inlen,
                           uint8_t *out, size_t *outlen);

/* ---- symmetric, digest, random ------------------------------------- */

typedef enum { SSS_MAC_HMAC_SHA1 = 1, SSS_MAC_HMAC_SHA256, SSS_MAC_HMAC_SHA384,
               SSS_MAC_HMAC_SHA512, SSS_MAC_CMAC_AES } sss_mac_alg;
sss_status sss_mac(sss_key *k, sss_mac_alg alg, const uint8_t *data, size_t len, uint8_t *mac,
                   size_t *maclen);

typedef enum { SSS_AES_ECB = 1, SSS_AES_CBC, SSS_AES_CTR } sss_aes_mode;
sss_status sss_aes(sss_key *k, sss_aes_mode mode, bool encrypt, const uint8_t *iv, size_t ivlen,
                   const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);

sss_status sss_digest(sss_session *s, sss_hash h, const uint8_t *data, size_t len, uint8_t *out,
                      size_t *outlen);
sss_status sss_rng(sss_session *s, uint8_t *out, size_t len);

/* ---- helpers ------------------------------------------------------- */

/* Digest length of h (0 for NONE). */
size_t sss_hash_len(sss_hash h);
/* "sha256" -> SSS_HASH_SHA256 etc.; SSS_ERR_ARG if unknown. */
sss_status sss_hash_from_name(const char *name, sss_hash *h);
const char *sss_key_type_name(sss_key_type t);

#endif
