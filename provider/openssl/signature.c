/* Signatures with SE keys: ECDSA and RSA (PKCS#1 v1.5 and PSS), over a
 * digest (sign/verify) or a message (digest-sign/verify: the digest is
 * computed in the provider's private library context). Signing is one
 * sss_sign call on the SE key; verification uses the public key in the
 * private library context, so it also works for imported public keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "prov.h"

typedef struct {
    se05x_prov *pc;
    se05x_key_kind kind;
    se05x_key *key;
    EVP_MD *md;           /* NULL: guessed from the digest length */
    EVP_MD_CTX *mdctx;    /* digest-sign/verify */
    int pad;              /* RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING */
    int saltlen;          /* RSA_PSS_SALTLEN_* or >= 0 */
    EVP_MD *mgf1;         /* NULL: same as md */
} sig_ctx;

static void *sig_newctx(se05x_prov *pc, se05x_key_kind kind)
{
    sig_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->pc = pc;
    c->kind = kind;
    c->pad = RSA_PKCS1_PADDING;
    c->saltlen = RSA_PSS_SALTLEN_AUTO;
    return c;
}
static void *ecdsa_newctx(void *provctx, const char *propq) { return sig_newctx(provctx, SE05X_KEY_EC); }
static void *rsa_newctx(void *provctx, const char *propq) { return sig_newctx(provctx, SE05X_KEY_RSA); }

static void sig_freectx(void *vctx)
{
    sig_ctx *c = vctx;
    if (c == NULL)
        return;
    se05x_key_unref(c->key);
    EVP_MD_free(c->md);
    EVP_MD_free(c->mgf1);
    EVP_MD_CTX_free(c->mdctx);
    free(c);
}

static void *sig_dupctx(void *vctx)
{
    sig_ctx *c = vctx, *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *c;
    d->mdctx = NULL;
    if (d->key != NULL)
        se05x_key_ref(d->key);
    if (d->md != NULL)
        EVP_MD_up_ref(d->md);
    if (d->mgf1 != NULL)
        EVP_MD_up_ref(d->mgf1);
    if (c->mdctx != NULL &&
        ((d->mdctx = EVP_MD_CTX_new()) == NULL || !EVP_MD_CTX_copy_ex(d->mdctx, c->mdctx))) {
        sig_freectx(d);
        return NULL;
    }
    return d;
}

static sss_hash hash_of_md(const EVP_MD *md)
{
    switch (EVP_MD_get_type(md)) {
    case NID_sha1: return SSS_HASH_SHA1;
    case NID_sha224: return SSS_HASH_SHA224;
    case NID_sha256: return SSS_HASH_SHA256;
    case NID_sha384: return SSS_HASH_SHA384;
    case NID_sha512: return SSS_HASH_SHA512;
    default: return SSS_HASH_NONE;
    }
}

static sss_hash hash_of_len(size_t len)
{
    static const sss_hash all[] = {SSS_HASH_SHA1, SSS_HASH_SHA224, SSS_HASH_SHA256,
                                   SSS_HASH_SHA384, SSS_HASH_SHA512};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (sss_hash_len(all[i]) == len)
            return all[i];
    return SSS_HASH_NONE;
}

static int set_md(sig_ctx *c, EVP_MD **slot, const char *name, const char *props)
{
    EVP_MD *md = EVP_MD_fetch(c->pc->libctx, name, props);
    if (md == NULL || hash_of_md(md) == SSS_HASH_NONE) {
        EVP_MD_free(md);
        SE05X_ERR(c->pc, SE05X_R_UNSUPPORTED, "digest '%s' is not supported (SHA-1/224/256/384/512)",
                  name);
        return 0;
    }
    EVP_MD_free(*slot);
    *slot = md;
    return 1;
}

/* ---- parameters ---------------------------------------------------------- */

static int set_pad(sig_ctx *c, const OSSL_PARAM *p)
{
    int pad = 0;
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        const char *s = p->data;
        pad = strcasecmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
              : strcasecmp(s, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0   ? RSA_PKCS1_PSS_PADDING
                                                                 : 0;
    } else if (!OSSL_PARAM_get_int(p, &pad)) {
        pad = 0;
    }
    if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING) {
        SE05X_ERR(c->pc, SE05X_R_UNSUPPORTED, "RSA padding mode not supported (pkcs1 or pss)");
        return 0;
    }
    c->pad = pad;
    return 1;
}

static int set_saltlen(sig_ctx *c, const OSSL_PARAM *p)
{
    int v;
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        const char *s = p->data;
        char *end;
        if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0)
            v = RSA_PSS_SALTLEN_DIGEST;
        else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0)
            v = RSA_PSS_SALTLEN_MAX;
        else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0)
            v = RSA_PSS_SALTLEN_AUTO;
        else if ((v = (int)strtol(s, &end, 10)) < 0 || *end != '\0' || end == s)
            v = -100;
    } else if (!OSSL_PARAM_get_int(p, &v)) {
        v = -100;
    }
    if (v < RSA_PSS_SALTLEN_MAX) {
        SE05X_ERR(c->pc, SE05X_R_BAD_PARAM, "invalid PSS salt length");
        return 0;
    }
    c->saltlen = v;
    return 1;
}

static int sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    sig_ctx *c = vctx;
    const OSSL_PARAM *p;
    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL) {
        const char *name = NULL, *props = NULL;
        const OSSL_PARAM *pp = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PROPERTIES);
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) ||
            (pp != NULL && !OSSL_PARAM_get_utf8_string_ptr(pp, &props)))
            return 0;
        if (c->mdctx != NULL) {
            SE05X_ERR(c->pc, SE05X_R_BAD_PARAM, "digest cannot change during digest-sign");
            return 0;
        }
        if (!set_md(c, &c->md, name, props))
            return 0;
    }
    if (c->kind != SE05X_KEY_RSA)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL &&
        !set_pad(c, p))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL &&
        !set_saltlen(c, p))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != NULL) {
        const char *name = NULL;
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !set_md(c, &c->mgf1, name, NULL))
            return 0;
    }
    return 1;
}

static const OSSL_PARAM *ecdsa_settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
        OSSL_PARAM_END,
    };
    return t;
}

static const OSSL_PARAM *rsa_settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_END,
    };
    return t;
}

/* DER AlgorithmIdentifier for X.509 signing (ECDSA and RSA PKCS#1). */
static int algorithm_id(const sig_ctx *c, unsigned char **der)
{
    int sig_nid = 0;
    if (c->md == NULL || (c->kind == SE05X_KEY_RSA && c->pad != RSA_PKCS1_PADDING))
        return -1;
    int pkey_nid = c->kind == SE05X_KEY_EC ? NID_X9_62_id_ecPublicKey : NID_rsaEncryption;
    if (!OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(c->md), pkey_nid))
        return -1;
    X509_ALGOR *a = X509_ALGOR_new();
    if (a == NULL)
        return -1;
    int len = -1;
    if (X509_ALGOR_set0(a, OBJ_nid2obj(sig_nid),
                        c->kind == SE05X_KEY_RSA ? V_ASN1_NULL : V_ASN1_UNDEF, NULL))
        len = i2d_X509_ALGOR(a, der);
    X509_ALGOR_free(a);
    return len;
}

static int sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    sig_ctx *c = vctx;
    OSSL_PARAM *p;
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) != NULL) {
        unsigned char *der = NULL;
        int len = algorithm_id(c, &der);
        int ok = len > 0 && OSSL_PARAM_set_octet_string(p, der, (size_t)len);
        OPENSSL_free(der);
        if (!ok)
            return 0;
    }
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL &&
        !OSSL_PARAM_set_utf8_string(p, c->md != NULL ? EVP_MD_get0_name(c->md) : ""))
        return 0;
    if (c->kind == SE05X_KEY_RSA) {
        if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL) {
            int ok = p->data_type == OSSL_PARAM_INTEGER
                         ? OSSL_PARAM_set_int(p, c->pad)
                         : OSSL_PARAM_set_utf8_string(p, c->pad == RSA_PKCS1_PSS_PADDING
                                                             ? OSSL_PKEY_RSA_PAD_MODE_PSS
                                                             : OSSL_PKEY_RSA_PAD_MODE_PKCSV15);
            if (!ok)
                return 0;
        }
        if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL &&
            p->data_type == OSSL_PARAM_INTEGER && !OSSL_PARAM_set_int(p, c->saltlen))
            return 0;
    }
    return 1;
}

static const OSSL_PARAM *sig_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL),
        OSSL_PARAM_END,
    };
    return t;
}

/* ---- sign / verify ------------------------------------------------------ */

static int sig_init(sig_ctx *c, se05x_key *k, const OSSL_PARAM params[], bool signing)
{
    if (k == NULL || k->kind != c->kind) {
        SE05X_ERR(c->pc, SE05X_R_KEY_TYPE, "not an %s key of the se05x provider",
                  se05x_kind_name(c->kind));
        return 0;
    }
    if (!se05x_key_need_pub(k))
        return 0;
    if (signing && !k->priv) {
        SE05X_ERR(c->pc, SE05X_R_NO_PRIVATE, "key%s has no private part in the SE",
                  k->id ? "" : " (imported public key)");
        return 0;
    }
    se05x_key_ref(k);
    se05x_key_unref(c->key);
    c->key = k;
    return sig_set_ctx_params(c, params);
}
static int sign_init(void *c, void *k, const OSSL_PARAM p[]) { return sig_init(c, k, p, true); }
static int verify_init(void *c, void *k, const OSSL_PARAM p[]) { return sig_init(c, k, p, false); }

/* Fill the sss parameters for a digest of tbslen bytes. */
static int sss_params(sig_ctx *c, size_t tbslen, sss_sig_params *sp)
{
    sss_hash h = c->md != NULL ? hash_of_md(c->md) : hash_of_len(tbslen);
    if (h == SSS_HASH_NONE || sss_hash_len(h) != tbslen) {
        SE05X_ERR(c->pc, SE05X_R_BAD_PARAM,
                  "input of %zu bytes is not a %s digest (the SE signs SHA-1/2 digests)", tbslen,
                  c->md != NULL ? EVP_MD_get0_name(c->md) : "SHA-1/224/256/384/512");
        return 0;
    }
    memset(sp, 0, sizeof(*sp));
    sp->hash = h;
    if (c->kind == SE05X_KEY_EC) {
        sp->alg = SSS_SIG_ECDSA;
        return 1;
    }
    if (c->pad == RSA_PKCS1_PADDING) {
        sp->alg = SSS_SIG_RSA_PKCS1;
        return 1;
    }
    if (c->mgf1 != NULL && hash_of_md(c->mgf1) != h) {
        SE05X_ERR(c->pc, SE05X_R_UNSUPPORTED, "PSS: MGF1 digest must equal the message digest");
        return 0;
    }
    sp->alg = SSS_SIG_RSA_PSS;
    int bits = EVP_PKEY_get_bits(c->key->pub);
    int max = (bits - 1 + 7) / 8 - (int)tbslen - 2;
    /* "auto" signs with the digest length (what the SE would pick and
     * what TLS 1.3 requires); verifiers in auto mode accept any length. */
    if (c->saltlen == RSA_PSS_SALTLEN_DIGEST || c->saltlen == RSA_PSS_SALTLEN_AUTO)
        sp->salt_len = -1;
    else if (c->saltlen == RSA_PSS_SALTLEN_MAX)
        sp->salt_len = max;
    else
        sp->salt_len = c->saltlen;
    if (sp->salt_len > max) {
        SE05X_ERR(c->pc, SE05X_R_BAD_PARAM, "PSS salt of %d bytes does not fit a %d-bit key",
                  sp->salt_len, bits);
        return 0;
    }
    return 1;
}

static int sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                    const unsigned char *tbs, size_t tbslen)
{
    sig_ctx *c = vctx;
    if (c->key == NULL || !c->key->priv)
        return 0;
    size_t max = (size_t)EVP_PKEY_get_size(c->key->pub);
    if (sig == NULL) {
        *siglen = max;
        return 1;
    }
    sss_sig_params sp;
    if (!sss_params(c, tbslen, &sp))
        return 0;
    return se05x_key_sign(c->key, &sp, tbs, tbslen, sig, siglen, sigsize, "signing");
}

static int sig_verify(void *vctx, const unsigned char *sig, size_t siglen,
                      const unsigned char *tbs, size_t tbslen)
{
    sig_ctx *c = vctx;
    if (c->key == NULL)
        return 0;
    EVP_PKEY_CTX *v = EVP_PKEY_CTX_new_from_pkey(c->pc->libctx, c->key->pub, NULL);
    int ok = v != NULL && EVP_PKEY_verify_init(v) == 1;
    if (ok && c->md != NULL)
        ok = EVP_PKEY_CTX_set_signature_md(v, c->md) == 1;
    if (ok && c->kind == SE05X_KEY_RSA) {
        ok = EVP_PKEY_CTX_set_rsa_padding(v, c->pad) == 1;
        if (ok && c->pad == RSA_PKCS1_PSS_PADDING) {
            ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(v, c->saltlen) == 1;
            if (ok && c->mgf1 != NULL)
                ok = EVP_PKEY_CTX_set_rsa_mgf1_md(v, c->mgf1) == 1;
        }
    }
    int r = ok ? EVP_PKEY_verify(v, sig, siglen, tbs, tbslen) : 0;
    EVP_PKEY_CTX_free(v);
    return r == 1;
}

/* ---- digest-sign / digest-verify ---------------------------------------- */

static int dsig_init(void *vctx, const char *mdname, void *key, const OSSL_PARAM params[],
                     bool signing)
{
    sig_ctx *c = vctx;
    EVP_MD_CTX_free(c->mdctx);
    c->mdctx = NULL;
    if (!sig_init(c, key, params, signing))
        return 0;
    if (mdname != NULL && *mdname != '\0' && !set_md(c, &c->md, mdname, NULL))
        return 0;
    if (c->md == NULL && !set_md(c, &c->md, "SHA256", NULL))
        return 0;
    if ((c->mdctx = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex2(c->mdctx, c->md, NULL)) {
        SE05X_ERR(c->pc, SE05X_R_INTERNAL, "cannot start the %s digest", EVP_MD_get0_name(c->md));
        return 0;
    }
    return 1;
}
static int dsign_init(void *c, const char *md, void *k, const OSSL_PARAM p[])
{
    return dsig_init(c, md, k, p, true);
}
static int dverify_init(void *c, const char *md, void *k, const OSSL_PARAM p[])
{
    return dsig_init(c, md, k, p, false);
}

static int dsig_update(void *vctx, const unsigned char *data, size_t len)
{
    sig_ctx *c = vctx;
    return c->mdctx != NULL && EVP_DigestUpdate(c->mdctx, data, len) == 1;
}

static int dsign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    sig_ctx *c = vctx;
    unsigned char dgst[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (c->mdctx == NULL)
        return 0;
    if (sig == NULL) /* size query: the digest stays open */
        return sig_sign(c, NULL, siglen, sigsize, NULL, 0);
    if (!EVP_DigestFinal_ex(c->mdctx, dgst, &dlen))
        return 0;
    return sig_sign(c, sig, siglen, sigsize, dgst, dlen);
}

static int dverify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
    sig_ctx *c = vctx;
    unsigned char dgst[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (c->mdctx == NULL || !EVP_DigestFinal_ex(c->mdctx, dgst, &dlen))
        return 0;
    return sig_verify(c, sig, siglen, dgst, dlen);
}

#define FN(id, f) {id, (void (*)(void))(f)}
#define COMMON_SIG_FUNCS                                                   \
    FN(OSSL_FUNC_SIGNATURE_FREECTX, sig_freectx),                           \
    FN(OSSL_FUNC_SIGNATURE_DUPCTX, sig_dupctx),                             \
    FN(OSSL_FUNC_SIGNATURE_SIGN_INIT, sign_init),                           \
    FN(OSSL_FUNC_SIGNATURE_SIGN, sig_sign),                                 \
    FN(OSSL_FUNC_SIGNATURE_VERIFY_INIT, verify_init),                       \
    FN(OSSL_FUNC_SIGNATURE_VERIFY, sig_verify),                             \
    FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, dsign_init),                   \
    FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, dsig_update),                \
    FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, dsign_final),                 \
    FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, dverify_init),               \
    FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, dsig_update),              \
    FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, dverify_final),             \
    FN(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, sig_get_ctx_params),             \
    FN(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, sig_gettable_ctx_params),   \
    FN(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, sig_set_ctx_params)

const OSSL_DISPATCH se05x_ecdsa_signature_functions[] = {
    FN(OSSL_FUNC_SIGNATURE_NEWCTX, ecdsa_newctx),
    COMMON_SIG_FUNCS,
    FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, ecdsa_settable_ctx_params),
    {0, NULL},
};

const OSSL_DISPATCH se05x_rsa_signature_functions[] = {
    FN(OSSL_FUNC_SIGNATURE_NEWCTX, rsa_newctx),
    COMMON_SIG_FUNCS,
    FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, rsa_settable_ctx_params),
    {0, NULL},
};
