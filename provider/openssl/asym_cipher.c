/* RSA decryption with an SE private key (PKCS#1 v1.5 and OAEP with SHA-1,
 * what the SE offers), through sss_rsa_decrypt; encryption with the public
 * part runs in the private library context. Only our keys reach this code:
 * OpenSSL cannot import a host RSA private key into our keymgmt, so it
 * keeps those in its own provider. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "prov.h"

typedef struct {
    se05x_prov *pc;
    se05x_key *key;
    int pad; /* RSA_PKCS1_PADDING or RSA_PKCS1_OAEP_PADDING */
} rsa_ctx;

static void *rc_newctx(void *provctx)
{
    rsa_ctx *c = calloc(1, sizeof(*c));
    if (c != NULL) {
        c->pc = provctx;
        c->pad = RSA_PKCS1_PADDING;
    }
    return c;
}

static void rc_freectx(void *vctx)
{
    rsa_ctx *c = vctx;
    if (c != NULL) {
        se05x_key_unref(c->key);
        free(c);
    }
}

static void *rc_dupctx(void *vctx)
{
    rsa_ctx *c = vctx, *d = malloc(sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *c;
    if (d->key != NULL)
        se05x_key_ref(d->key);
    return d;
}

static bool is_sha1(const char *name)
{
    return strcasecmp(name, "SHA1") == 0 || strcasecmp(name, "SHA-1") == 0;
}

static int rc_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    rsa_ctx *c = vctx;
    const OSSL_PARAM *p;
    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) != NULL) {
        int pad = 0;
        if (p->data_type == OSSL_PARAM_UTF8_STRING) {
            const char *s = p->data;
            pad = strcasecmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0  ? RSA_PKCS1_PADDING
                  : strcasecmp(s, OSSL_PKEY_RSA_PAD_MODE_OAEP) == 0   ? RSA_PKCS1_OAEP_PADDING
                                                                      : 0;
        } else if (!OSSL_PARAM_get_int(p, &pad)) {
            pad = 0;
        }
        if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_OAEP_PADDING) {
            SE05X_ERR(c->pc, SE05X_R_UNSUPPORTED, "RSA padding not supported (pkcs1 or oaep)");
            return 0;
        }
        c->pad = pad;
    }
    const char *names[] = {OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST};
    for (size_t i = 0; i < 2; i++) {
        const char *v = NULL;
        if ((p = OSSL_PARAM_locate_const(params, names[i])) != NULL &&
            (!OSSL_PARAM_get_utf8_string_ptr(p, &v) || !is_sha1(v))) {
            SE05X_ERR(c->pc, SE05X_R_UNSUPPORTED, "OAEP in the SE uses SHA-1 only (%s)",
                      names[i]);
            return 0;
        }
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) != NULL &&
        p->data_size != 0) {
        SE05X_ERR(c->pc, SE05X_R_UNSUPPORTED, "OAEP labels are not supported by the SE");
        return 0;
    }
    return 1;
}

static const OSSL_PARAM *rc_settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
        OSSL_PARAM_END,
    };
    return t;
}

static int rc_init(rsa_ctx *c, se05x_key *k, const OSSL_PARAM params[], bool private_op)
{
    if (k == NULL || k->kind != SE05X_KEY_RSA || (private_op && (!k->priv || k->sk == NULL))) {
        SE05X_ERR(c->pc, SE05X_R_NO_PRIVATE, "RSA decryption needs a private key held in the SE");
        return 0;
    }
    if (!se05x_key_need_pub(k))
        return 0;
    se05x_key_unref(c->key);
    c->key = se05x_key_ref(k);
    return rc_set_ctx_params(c, params);
}
static int rc_encrypt_init(void *c, void *k, const OSSL_PARAM p[]) { return rc_init(c, k, p, false); }
static int rc_decrypt_init(void *c, void *k, const OSSL_PARAM p[]) { return rc_init(c, k, p, true); }

static int rc_encrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
                      const unsigned char *in, size_t inlen)
{
    rsa_ctx *c = vctx;
    EVP_PKEY_CTX *e = EVP_PKEY_CTX_new_from_pkey(c->pc->libctx, c->key->pub, NULL);
    int ok = e != NULL && EVP_PKEY_encrypt_init(e) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(e, c->pad) == 1;
    size_t len = outsize;
    ok = ok && EVP_PKEY_encrypt(e, out, out != NULL ? &len : outlen, in, inlen) == 1;
    EVP_PKEY_CTX_free(e);
    if (ok && out != NULL)
        *outlen = len;
    return ok;
}

static int rc_decrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
                      const unsigned char *in, size_t inlen)
{
    rsa_ctx *c = vctx;
    size_t size = (size_t)EVP_PKEY_get_size(c->key->pub);
    if (out == NULL) {
        *outlen = size;
        return 1;
    }
    /* decrypt into a full-size buffer, then copy what fits */
    uint8_t *buf = malloc(size);
    if (buf == NULL)
        return 0;
    size_t len = size;
    sss_session *s;
    sss_status st = SSS_ERR_STATE;
    if (se05x_session_acquire(c->pc, &s)) {
        st = sss_rsa_decrypt(c->key->sk,
                             c->pad == RSA_PKCS1_OAEP_PADDING ? SSS_RSA_PAD_OAEP_SHA1
                                                              : SSS_RSA_PAD_PKCS1,
                             in, inlen, buf, &len);
        if (st != SSS_OK) {
            char what[64];
            snprintf(what, sizeof(what), "RSA decryption with 0x%08X", (unsigned)c->key->id);
            SE05X_ERR_SSS(c->pc, st, what);
        }
        se05x_session_release(c->pc);
    }
    int ok = st == SSS_OK && len <= outsize;
    if (st == SSS_OK && !ok)
        SE05X_ERR(c->pc, SE05X_R_BAD_PARAM, "output buffer of %zu bytes is too small", outsize);
    if (ok) {
        memcpy(out, buf, len);
        *outlen = len;
    }
    OPENSSL_cleanse(buf, size);
    free(buf);
    return ok;
}

#define FN(id, f) {id, (void (*)(void))(f)}
const OSSL_DISPATCH se05x_rsa_asym_cipher_functions[] = {
    FN(OSSL_FUNC_ASYM_CIPHER_NEWCTX, rc_newctx),
    FN(OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, rc_encrypt_init),
    FN(OSSL_FUNC_ASYM_CIPHER_ENCRYPT, rc_encrypt),
    FN(OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, rc_decrypt_init),
    FN(OSSL_FUNC_ASYM_CIPHER_DECRYPT, rc_decrypt),
    FN(OSSL_FUNC_ASYM_CIPHER_FREECTX, rc_freectx),
    FN(OSSL_FUNC_ASYM_CIPHER_DUPCTX, rc_dupctx),
    FN(OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, rc_set_ctx_params),
    FN(OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, rc_settable_ctx_params),
    {0, NULL},
};
