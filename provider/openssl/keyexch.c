/* Key exchange with an SE private key: ECDH (EC keys) here, and the context
 * functions shared with X25519 (x25519.c). The peer's public key (any
 * provider's: OpenSSL imports its public part into our keymgmt) goes to the
 * SE as SubjectPublicKeyInfo and the shared secret (EC: x-coordinate;
 * X25519: the u-coordinate, little-endian as RFC 7748, sss undoes the SE's
 * byte order) comes back (sss_derive_ecdh). A host key is never captured:
 * our keymgmt refuses private key imports, so OpenSSL keeps using its own
 * ECDH/X25519 for those. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "prov.h"

typedef struct {
    se05x_prov *pc;
    se05x_key *key, *peer;
} ecdh_ctx;

#define X25519_SECRET_LEN 32

static const char *kx_name(se05x_key_kind kind)
{
    return kind == SE05X_KEY_X25519 ? "X25519" : "ECDH";
}

void *se05x_kx_newctx(void *provctx)
{
    ecdh_ctx *c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->pc = provctx;
    return c;
}

void se05x_kx_freectx(void *vctx)
{
    ecdh_ctx *c = vctx;
    if (c == NULL)
        return;
    se05x_key_unref(c->key);
    se05x_key_unref(c->peer);
    free(c);
}

void *se05x_kx_dupctx(void *vctx)
{
    ecdh_ctx *c = vctx, *d = malloc(sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *c;
    if (d->key != NULL)
        se05x_key_ref(d->key);
    if (d->peer != NULL)
        se05x_key_ref(d->peer);
    return d;
}

int se05x_kx_init(void *vctx, void *provkey, se05x_key_kind kind)
{
    ecdh_ctx *c = vctx;
    se05x_key *k = provkey;
    if (k == NULL || k->kind != kind ||
        (k->eph ? !se05x_eph_has(k, OSSL_KEYMGMT_SELECT_PRIVATE_KEY) : !k->priv || k->sk == NULL)) {
        SE05X_ERR(c->pc, SE05X_R_NO_PRIVATE, "%s needs an %s private key held in the SE",
                  kx_name(kind), se05x_kind_name(kind));
        return 0;
    }
    if (!se05x_key_need_pub(k))
        return 0;
    se05x_key_unref(c->key);
    c->key = se05x_key_ref(k);
    return 1;
}

int se05x_kx_set_peer(void *vctx, void *provkey, se05x_key_kind kind)
{
    ecdh_ctx *c = vctx;
    se05x_key *p = provkey;
    if (p == NULL || p->kind != kind || p->pub == NULL) {
        SE05X_ERR(c->pc, SE05X_R_KEY_TYPE, "%s: the peer key is not an %s public key",
                  kx_name(kind), se05x_kind_name(kind));
        return 0;
    }
    se05x_key_unref(c->peer);
    c->peer = se05x_key_ref(p);
    return 1;
}

static int ecdh_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return se05x_kx_init(vctx, provkey, SE05X_KEY_EC);
}

static int ecdh_set_peer(void *vctx, void *provkey)
{
    return se05x_kx_set_peer(vctx, provkey, SE05X_KEY_EC);
}

/* X25519 as OpenSSL does it: an all-zero secret (peer key of small order)
 * is an error (RFC 7748, section 6.1), in case the SE computed one. */
static int x25519_check(ecdh_ctx *c, const uint8_t *buf, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= buf[i];
    if (len != X25519_SECRET_LEN || acc == 0) {
        SE05X_ERR(c->pc, SE05X_R_BAD_PARAM,
                  "X25519 with 0x%08X: the peer key gives no secret (small-order point)",
                  (unsigned)c->key->id);
        return 0;
    }
    return 1;
}

int se05x_kx_derive(void *vctx, unsigned char *secret, size_t *secretlen, size_t outlen)
{
    ecdh_ctx *c = vctx;
    if (c->key == NULL || c->peer == NULL) {
        SE05X_ERR(c->pc, SE05X_R_BAD_PARAM, "key exchange: key and peer key must both be set");
        return 0;
    }
    if (c->key->eph) /* TLS ephemeral on the host (ephemeral.c) */
        return se05x_eph_derive(c->key, c->peer, secret, secretlen, outlen);
    bool x25519 = c->key->kind == SE05X_KEY_X25519;
    size_t field =
        x25519 ? X25519_SECRET_LEN : ((size_t)EVP_PKEY_get_bits(c->key->pub) + 7) / 8;
    if (secret == NULL) {
        *secretlen = field;
        return 1;
    }
    if (x25519 && outlen < X25519_SECRET_LEN) { /* OpenSSL's X25519 does not truncate */
        SE05X_ERR(c->pc, SE05X_R_BAD_PARAM, "X25519: output buffer of %zu bytes (needs %d)",
                  outlen, X25519_SECRET_LEN);
        return 0;
    }
    unsigned char *spki = NULL;
    int spki_len = i2d_PUBKEY(c->peer->pub, &spki);
    if (spki_len <= 0)
        return 0;
    uint8_t buf[80];
    size_t len = sizeof(buf);
    sss_session *s;
    sss_status st = SSS_ERR_STATE;
    if (se05x_session_acquire(c->pc, &s)) {
        st = sss_derive_ecdh(c->key->sk, spki, (size_t)spki_len, buf, &len);
        if (st != SSS_OK) {
            char what[64];
            snprintf(what, sizeof(what), "%s with 0x%08X", kx_name(c->key->kind),
                     (unsigned)c->key->id);
            SE05X_ERR_SSS(c->pc, st, what);
        }
        se05x_session_release(c->pc);
    }
    OPENSSL_free(spki);
    if (st != SSS_OK || (x25519 && !x25519_check(c, buf, len))) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return 0;
    }
    /* like OpenSSL's own ECDH: a shorter output buffer truncates */
    size_t n = len < outlen ? len : outlen;
    memcpy(secret, buf, n);
    OPENSSL_cleanse(buf, sizeof(buf));
    *secretlen = n;
    return 1;
}

#define FN(id, f) {id, (void (*)(void))(f)}
const OSSL_DISPATCH se05x_ecdh_keyexch_functions[] = {
    FN(OSSL_FUNC_KEYEXCH_NEWCTX, se05x_kx_newctx),
    FN(OSSL_FUNC_KEYEXCH_INIT, ecdh_init),
    FN(OSSL_FUNC_KEYEXCH_SET_PEER, ecdh_set_peer),
    FN(OSSL_FUNC_KEYEXCH_DERIVE, se05x_kx_derive),
    FN(OSSL_FUNC_KEYEXCH_FREECTX, se05x_kx_freectx),
    FN(OSSL_FUNC_KEYEXCH_DUPCTX, se05x_kx_dupctx),
    {0, NULL},
};
