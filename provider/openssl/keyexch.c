/* ECDH key exchange with an SE EC private key: the peer's public key (any
 * provider's: OpenSSL imports its public part into our keymgmt) goes to the
 * SE as SubjectPublicKeyInfo and the shared secret (x-coordinate) comes
 * back (sss_derive_ecdh). A host key is never captured: our keymgmt refuses
 * private key imports, so OpenSSL keeps using its own ECDH for those. */
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

static void *ecdh_newctx(void *provctx)
{
    ecdh_ctx *c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->pc = provctx;
    return c;
}

static void ecdh_freectx(void *vctx)
{
    ecdh_ctx *c = vctx;
    if (c == NULL)
        return;
    se05x_key_unref(c->key);
    se05x_key_unref(c->peer);
    free(c);
}

static void *ecdh_dupctx(void *vctx)
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

static int ecdh_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    ecdh_ctx *c = vctx;
    se05x_key *k = provkey;
    if (k == NULL || k->kind != SE05X_KEY_EC ||
        (k->eph ? !se05x_eph_has(k, OSSL_KEYMGMT_SELECT_PRIVATE_KEY) : !k->priv || k->sk == NULL)) {
        SE05X_ERR(c->pc, SE05X_R_NO_PRIVATE, "ECDH needs an EC private key held in the SE");
        return 0;
    }
    se05x_key_unref(c->key);
    c->key = se05x_key_ref(k);
    return 1;
}

static int ecdh_set_peer(void *vctx, void *provkey)
{
    ecdh_ctx *c = vctx;
    se05x_key *p = provkey;
    if (p == NULL || p->kind != SE05X_KEY_EC || p->pub == NULL)
        return 0;
    se05x_key_unref(c->peer);
    c->peer = se05x_key_ref(p);
    return 1;
}

static int ecdh_derive(void *vctx, unsigned char *secret, size_t *secretlen, size_t outlen)
{
    ecdh_ctx *c = vctx;
    if (c->key == NULL || c->peer == NULL) {
        SE05X_ERR(c->pc, SE05X_R_BAD_PARAM, "ECDH: key and peer key must both be set");
        return 0;
    }
    if (c->key->eph) /* TLS ephemeral on the host (ephemeral.c) */
        return se05x_eph_derive(c->key, c->peer, secret, secretlen, outlen);
    size_t field = ((size_t)EVP_PKEY_get_bits(c->key->pub) + 7) / 8;
    if (secret == NULL) {
        *secretlen = field;
        return 1;
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
            snprintf(what, sizeof(what), "ECDH with 0x%08X", (unsigned)c->key->id);
            SE05X_ERR_SSS(c->pc, st, what);
        }
        se05x_session_release(c->pc);
    }
    OPENSSL_free(spki);
    if (st != SSS_OK) {
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
    FN(OSSL_FUNC_KEYEXCH_NEWCTX, ecdh_newctx),
    FN(OSSL_FUNC_KEYEXCH_INIT, ecdh_init),
    FN(OSSL_FUNC_KEYEXCH_SET_PEER, ecdh_set_peer),
    FN(OSSL_FUNC_KEYEXCH_DERIVE, ecdh_derive),
    FN(OSSL_FUNC_KEYEXCH_FREECTX, ecdh_freectx),
    FN(OSSL_FUNC_KEYEXCH_DUPCTX, ecdh_dupctx),
    {0, NULL},
};
