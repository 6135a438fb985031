/* Internals of sss: the backend interface and the session/key structs.
 * sss.c (the core) does argument checks, reserved-id and overwrite rules,
 * PEM/DER parsing into EVP_PKEYs, SubjectPublicKeyInfo encoding, certificate
 * decoding, locking and error messages; a backend does only what differs
 * between an SE05x (be_se05x*.c, through hostlib) and host software
 * (be_host*.c, on libcrypto keys stored in a directory). Core calls backend
 * functions with the session lock held and the id already validated. */
#ifndef SSS_INTERNAL_H
#define SSS_INTERNAL_H

#include <openssl/evp.h>
#include <pthread.h>

#include "sss/sss.h"

typedef struct sss_backend_ops sss_backend_ops;

struct sss_session {
    const sss_backend_ops *ops;
    pthread_mutex_t mu; /* recursive */
    char err[512];
    void *be;           /* backend state */
    OSSL_LIB_CTX *libctx; /* sss_session_cfg.libctx: NULL = process default */
};

struct sss_key {
    sss_session *s;
    sss_object_info info;
    EVP_PKEY *pub;      /* cached public key (NULL until first needed) */
    void *be;           /* backend per-key state (may be NULL) */
};

struct sss_backend_ops {
    const char *name;
    sss_status (*open)(sss_session *s, const sss_session_cfg *cfg);
    void (*close)(sss_session *s);
    void (*counters)(const sss_session *s, sss_counters *out, bool reset);

    sss_status (*exists)(sss_session *s, uint32_t id, bool *exists);
    sss_status (*info)(sss_session *s, uint32_t id, sss_object_info *info);
    sss_status (*list)(sss_session *s, sss_object_info **list, size_t *n);
    sss_status (*remove)(sss_session *s, uint32_t id);

    /* Creation: the core has already applied the overwrite rule (an
     * existing object was deleted when force was given). */
    sss_status (*generate)(sss_session *s, uint32_t id, const sss_keygen *spec,
                           const se05x_policy *pol);
    /* pkey holds a private key for pair imports, else only a public key. */
    sss_status (*import_pkey)(sss_session *s, uint32_t id, EVP_PKEY *pkey, bool pair,
                              const se05x_policy *pol);
    sss_status (*import_symmetric)(sss_session *s, uint32_t id, sss_key_type type,
                                   const uint8_t *key, size_t len, const se05x_policy *pol);
    sss_status (*binary_write)(sss_session *s, uint32_t id, const uint8_t *data, size_t len,
                               const se05x_policy *pol);
    sss_status (*binary_read)(sss_session *s, uint32_t id, uint8_t *out, size_t *len);

    /* Fill k->info (type, curve, bits) for an existing key; se05x: <= 2 APDUs. */
    sss_status (*key_open)(sss_key *k);
    void (*key_close)(sss_key *k);
    /* Read the public key (called once; the core caches it in k->pub). */
    sss_status (*key_public)(sss_key *k, EVP_PKEY **pub);

    sss_status (*sign)(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                       uint8_t *sig, size_t *siglen);
    sss_status (*verify)(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                         const uint8_t *sig, size_t siglen);
    sss_status (*ecdh)(sss_key *k, EVP_PKEY *peer, uint8_t *secret, size_t *secretlen);
    sss_status (*rsa_crypt)(sss_key *k, bool encrypt, sss_rsa_pad pad, const uint8_t *in,
                            size_t inlen, uint8_t *out, size_t *outlen);
    sss_status (*mac)(sss_key *k, sss_mac_alg alg, const uint8_t *data, size_t len, uint8_t *mac,
                      size_t *maclen);
    sss_status (*aes)(sss_key *k, sss_aes_mode mode, bool encrypt, const uint8_t *iv,
                      size_t ivlen, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);
    sss_status (*digest)(sss_session *s, sss_hash h, const uint8_t *data, size_t len,
                         uint8_t *out, size_t *outlen);
    sss_status (*rng)(sss_session *s, uint8_t *out, size_t len);
};

extern const sss_backend_ops sss_backend_se05x_ops; /* be_se05x*.c */
extern const sss_backend_ops sss_backend_host_ops;  /* be_host*.c */

/* libcrypto digest of an sss_hash (NULL for SSS_HASH_NONE / unknown). */
const EVP_MD *sss_hash_md(sss_hash h);
/* The same fetched in the session's library context (EVP_MD_free it). */
EVP_MD *sss_hash_fetch(const sss_session *s, sss_hash h);

/* printf-style message into s->err (core and backends). */
void sss_seterr(sss_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
