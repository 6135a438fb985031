/* Ed25519 signatures with SE keys (PureEdDSA, RFC 8032): one-shot
 * digest-sign over the message (sss_sign with SSS_SIG_EDDSA, one APDU);
 * verification with the public key in the private library context. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "prov.h"

#define ED25519_SIG_LEN 64

typedef struct {
    se05x_prov *pc;
    se05x_key *key;
} ed_ctx;

static void *ed_newctx(void *provctx, const char *propq)
{
    ed_ctx *c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->pc = provctx;
    return c;
}

static void ed_freectx(void *vctx)
{
    ed_ctx *c = vctx;
    if (c != NULL) {
        se05x_key_unref(c->key);
        free(c);
    }
}

static void *ed_dupctx(void *vctx)
{
    ed_ctx *c = vctx, *d = malloc(sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *c;
    if (d->key != NULL)
        se05x_key_ref(d->key);
    return d;
}

static int ed_init(ed_ctx *c, const char *mdname, se05x_key *k, bool signing)
{
    if (mdname != NULL && *mdname != '\0') {
        SE05X_ERR(c->pc, SE05X_R_UNSUPPORTED, "Ed25519 takes no digest (got %s)", mdname);
        return 0;
    }
    if (k == NULL || k->kind != SE05X_KEY_ED25519 || (signing && (!k->priv || k->sk == NULL))) {
        SE05X_ERR(c->pc, SE05X_R_NO_PRIVATE, "Ed25519 signing needs a private key held in the SE");
        return 0;
    }
    if (!se05x_key_need_pub(k))
        return 0;
    se05x_key_unref(c->key);
    c->key = se05x_key_ref(k);
    return 1;
}
static int ed_sign_init(void *c, const char *md, void *k, const OSSL_PARAM p[])
{
    return ed_init(c, md, k, true);
}
static int ed_verify_init(void *c, const char *md, void *k, const OSSL_PARAM p[])
{
    return ed_init(c, md, k, false);
}

static int ed_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                   const unsigned char *tbs, size_t tbslen)
{
    ed_ctx *c = vctx;
    if (sig == NULL) {
        *siglen = ED25519_SIG_LEN;
        return 1;
    }
    sss_sig_params sp = {.alg = SSS_SIG_EDDSA, .hash = SSS_HASH_NONE, .salt_len = 0};
    return se05x_key_sign(c->key, &sp, tbs, tbslen, sig, siglen, sigsize, "Ed25519 signing");
}

static int ed_verify(void *vctx, const unsigned char *sig, size_t siglen,
                     const unsigned char *tbs, size_t tbslen)
{
    ed_ctx *c = vctx;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m != NULL &&
             EVP_DigestVerifyInit_ex(m, NULL, NULL, c->pc->libctx, NULL, c->key->pub, NULL) == 1 &&
             EVP_DigestVerify(m, sig, siglen, tbs, tbslen) == 1;
    EVP_MD_CTX_free(m);
    return ok;
}

static int ed_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    /* AlgorithmIdentifier of Ed25519: SEQUENCE { OID 1.3.101.112 } */
    static const unsigned char alg_id[] = {0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70};
    OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
    return p == NULL || OSSL_PARAM_set_octet_string(p, alg_id, sizeof(alg_id));
}

static const OSSL_PARAM *ed_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
        OSSL_PARAM_END,
    };
    return t;
}

#define FN(id, f) {id, (void (*)(void))(f)}
const OSSL_DISPATCH se05x_ed25519_signature_functions[] = {
    FN(OSSL_FUNC_SIGNATURE_NEWCTX, ed_newctx),
    FN(OSSL_FUNC_SIGNATURE_FREECTX, ed_freectx),
    FN(OSSL_FUNC_SIGNATURE_DUPCTX, ed_dupctx),
    FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, ed_sign_init),
    FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN, ed_sign),
    FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, ed_verify_init),
    FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY, ed_verify),
    FN(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, ed_get_ctx_params),
    FN(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, ed_gettable_ctx_params),
    {0, NULL},
};
