/* Internals shared by the se05x backend files: per-session state (the
 * hostlib connection), status mapping from hostlib/SE status words to
 * sss_status with messages, and the key/crypto entry points of
 * be_se05x_crypto.c used in the backend table of be_se05x.c. */
#ifndef SSS_BE_SE05X_H
#define SSS_BE_SE05X_H

#include "se05x/commands.h"
#include "sss_internal.h"

typedef struct {
    se05x_conn *c;
} be_se05x;

static inline se05x_conn *be_conn(sss_session *s) { return ((be_se05x *)s->be)->c; }

/* Map a failed hostlib call on object id (0 = none) to an sss_status and
 * leave "what 0xID: <detail>" in s->err. SW 6985 is ambiguous on the SE
 * (missing object or unusable): the object's existence is checked. */
sss_status be_se05x_map(sss_session *s, se05x_status st, uint32_t id, const char *what);
/* Same; probe = false skips the existence check (creation commands, where
 * the object is not expected to exist). */
sss_status be_se05x_map_ex(sss_session *s, se05x_status st, uint32_t id, const char *what,
                           bool probe);

/* Key object operations (be_se05x_crypto.c). */
sss_status be_se05x_key_open(sss_key *k);
sss_status be_se05x_key_public(sss_key *k, EVP_PKEY **pub);
sss_status be_se05x_sign(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                         uint8_t *sig, size_t *siglen);
sss_status be_se05x_verify(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                           const uint8_t *sig, size_t siglen);
sss_status be_se05x_ecdh(sss_key *k, EVP_PKEY *peer, uint8_t *secret, size_t *secretlen);
sss_status be_se05x_rsa_crypt(sss_key *k, bool encrypt, sss_rsa_pad pad, const uint8_t *in,
                              size_t inlen, uint8_t *out, size_t *outlen);
sss_status be_se05x_mac(sss_key *k, sss_mac_alg alg, const uint8_t *data, size_t len,
                        uint8_t *mac, size_t *maclen);
sss_status be_se05x_aes(sss_key *k, sss_aes_mode mode, bool encrypt, const uint8_t *iv,
                        size_t ivlen, const uint8_t *in, size_t len, uint8_t *out,
                        size_t *outlen);
sss_status be_se05x_digest(sss_session *s, sss_hash h, const uint8_t *data, size_t len,
                           uint8_t *out, size_t *outlen);
sss_status be_se05x_rng(sss_session *s, uint8_t *out, size_t len);

/* Object type byte (ReadType, 3.x or 7.x codes) to sss type and curve. */
void be_se05x_type(uint8_t code, sss_key_type *t, uint8_t *curve);

/* Fill type, curve, bits, size from a ReadType answer with at most one more
 * APDU (GetECCurveId for 3.x EC codes, ReadSize for sized objects). */
sss_status be_se05x_describe(sss_session *s, uint32_t id, uint8_t code, uint8_t transient,
                             sss_object_info *info);

#endif
