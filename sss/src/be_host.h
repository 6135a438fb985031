/* Internals of the sss host backend (be_host*.c): the on-disk object store
 * (be_host_store.c), the session/object functions (be_host.c) and the
 * cryptographic operations on libcrypto keys (be_host_crypto.c). The store
 * format is documented in docs/sss-host-backend.md. */
#ifndef SSS_BE_HOST_H
#define SSS_BE_HOST_H

#include "sss_internal.h"

/* Session state: the store directory. */
typedef struct {
    char dir[4096];
} hstore;

/* One object as stored: header fields, raw policy, material. */
typedef struct {
    uint32_t id;
    uint8_t type;   /* sss_key_type */
    uint8_t curve;  /* SSS_CURVE_* */
    uint8_t origin; /* sss_origin */
    uint16_t bits;
    uint32_t size;
    uint8_t policy[SE05X_POLICY_MAX_BYTES];
    size_t policy_len;
    se05x_policy pol;   /* parsed policy (empty when policy_len == 0) */
    uint8_t *mat;       /* PKCS#8 / SPKI DER, raw key or binary data (wiped on free) */
    size_t matlen;
} hobj;

#define HOST_BINARY_MAX 0x7FFFu /* like the SE05x: binary files up to 32767 bytes */

static inline hstore *host_store(sss_session *s) { return (hstore *)s->be; }

/* ---- be_host_store.c ---- */
/* Path of object id's file into buf. */
void host_obj_path(const hstore *st, uint32_t id, char *buf, size_t cap);
/* Load and validate one object. NOT_FOUND if absent; FORMAT (message naming
 * the file) if corrupt. On success free with host_obj_free. */
sss_status host_obj_load(sss_session *s, uint32_t id, hobj *o);
void host_obj_free(hobj *o);
/* Write a new object atomically (tmp + fsync + link). SSS_ERR_EXISTS if an
 * object with this id appeared meanwhile. pol may be NULL or empty. */
sss_status host_obj_store(sss_session *s, uint32_t id, sss_key_type type, uint8_t curve,
                          uint16_t bits, uint32_t size, sss_origin origin,
                          const se05x_policy *pol, const uint8_t *mat, size_t matlen);
sss_status host_obj_unlink(sss_session *s, uint32_t id);
/* Ids of all object files in the store, sorted ascending (malloc'ed). */
sss_status host_obj_ids(sss_session *s, uint32_t **ids, size_t *n);
/* Fill an sss_object_info from a loaded object. */
void host_obj_info(const hobj *o, sss_object_info *info);
/* Access check for the default user (auth id 0); what names the operation
 * for the message. SSS_ERR_DENIED when the policy forbids it. */
sss_status host_policy_check(sss_session *s, const hobj *o, uint32_t ar, const char *what);

/* ---- be_host.c ---- */
/* printf-style message, returns st. */
sss_status host_err(sss_session *s, sss_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The key of a loaded asymmetric object as an EVP_PKEY (private if the
 * object holds one). FORMAT if the material does not decode. */
sss_status host_obj_pkey(sss_session *s, const hobj *o, EVP_PKEY **pkey);
/* SSS_CURVE_* of a libcrypto key; SSS_CURVE_NONE if not a supported curve. */
uint8_t host_pkey_curve(const EVP_PKEY *pkey);
bool host_type_is_ec(uint8_t t);
bool host_type_is_rsa(uint8_t t);
bool host_type_has_priv(uint8_t t);
bool host_type_has_pub(uint8_t t);

/* ---- be_host_crypto.c ---- */
sss_status host_sign(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                     uint8_t *sig, size_t *siglen);
sss_status host_verify(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                       const uint8_t *sig, size_t siglen);
sss_status host_ecdh(sss_key *k, EVP_PKEY *peer, uint8_t *secret, size_t *secretlen);
sss_status host_rsa_crypt(sss_key *k, bool encrypt, sss_rsa_pad pad, const uint8_t *in,
                          size_t inlen, uint8_t *out, size_t *outlen);
sss_status host_mac(sss_key *k, sss_mac_alg alg, const uint8_t *data, size_t len, uint8_t *mac,
                    size_t *maclen);
sss_status host_aes(sss_key *k, sss_aes_mode mode, bool encrypt, const uint8_t *iv, size_t ivlen,
                    const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);
sss_status host_digest(sss_session *s, sss_hash h, const uint8_t *data, size_t len, uint8_t *out,
                       size_t *outlen);
sss_status host_rng(sss_session *s, uint8_t *out, size_t len);

#endif
