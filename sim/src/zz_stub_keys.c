/* TEMPORARY stand-in for keys.c (deleted at merge): minimal object <->
 * EVP_PKEY conversion for NIST P-256/384/521 and RSA, and curve helpers. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <string.h>

#include "sim_internal.h"

const char *sesim_curve_name(uint8_t curve)
{
    switch (curve) {
    case 0x03: return "prime256v1";
    case 0x04: return "secp384r1";
    case 0x05: return "secp521r1";
    default: return NULL;
    }
}

size_t sesim_curve_bytes(uint8_t curve)
{
    switch (curve) {
    case 0x03: return 32;
    case 0x04: return 48;
    case 0x05: return 66;
    default: return 0;
    }
}

uint8_t sesim_curve_from_name(const char *name)
{
    for (uint8_t c = 3; c <= 5; c++)
        if (strcmp(name, sesim_curve_name(c)) == 0)
            return c;
    return 0;
}

static EVP_PKEY *fromdata(const char *alg, OSSL_PARAM_BLD *b, int sel)
{
    EVP_PKEY *pk = NULL;
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    if (p && c && EVP_PKEY_fromdata_init(c) == 1)
        EVP_PKEY_fromdata(c, &pk, sel, p);
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(p);
    return pk;
}

static int push_bn(OSSL_PARAM_BLD *b, const char *k, const sesim_comp *c, BIGNUM **keep)
{
    if (!c->len)
        return 1;
    *keep = BN_bin2bn(c->v, (int)c->len, NULL);
    return *keep && OSSL_PARAM_BLD_push_BN(b, k, *keep);
}

EVP_PKEY *sesim_obj_to_pkey(const sesim_obj *o)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY *pk = NULL;
    BIGNUM *bn[8] = {0};
    if (!b)
        return NULL;
    if (o->type <= SESIM_T_EC_PUB && o->type >= SESIM_T_EC_PAIR) {
        const char *g = sesim_curve_name(o->curve);
        const sesim_comp *pub = &o->comp[SESIM_C_PUB], *priv = &o->comp[SESIM_C_PRIV];
        if (!g || !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, g, 0))
            goto out;
        if (pub->len && !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub->v, pub->len))
            goto out;
        if (!push_bn(b, OSSL_PKEY_PARAM_PRIV_KEY, priv, &bn[0]))
            goto out;
        pk = fromdata("EC", b, priv->len ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
    } else if (o->type >= SESIM_T_RSA_PAIR && o->type <= SESIM_T_RSA_PUB) {
        if (!push_bn(b, OSSL_PKEY_PARAM_RSA_N, &o->comp[SESIM_C_N], &bn[0]) ||
            !push_bn(b, OSSL_PKEY_PARAM_RSA_E, &o->comp[SESIM_C_E], &bn[1]) ||
            !push_bn(b, OSSL_PKEY_PARAM_RSA_D, &o->comp[SESIM_C_D], &bn[2]) ||
            !push_bn(b, OSSL_PKEY_PARAM_RSA_FACTOR1, &o->comp[SESIM_C_P], &bn[3]) ||
            !push_bn(b, OSSL_PKEY_PARAM_RSA_FACTOR2, &o->comp[SESIM_C_Q], &bn[4]) ||
            !push_bn(b, OSSL_PKEY_PARAM_RSA_EXPONENT1, &o->comp[SESIM_C_DP], &bn[5]) ||
            !push_bn(b, OSSL_PKEY_PARAM_RSA_EXPONENT2, &o->comp[SESIM_C_DQ], &bn[6]) ||
            !push_bn(b, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &o->comp[SESIM_C_INVQ], &bn[7]))
            goto out;
        if (!o->comp[SESIM_C_N].len || !o->comp[SESIM_C_E].len)
            goto out;
        pk = fromdata("RSA", b, o->comp[SESIM_C_D].len ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
    }
out:
    for (int i = 0; i < 8; i++)
        BN_clear_free(bn[i]);
    OSSL_PARAM_BLD_free(b);
    return pk;
}

static se05x_status put_bn(sesim_obj *o, int comp, EVP_PKEY *pk, const char *k, size_t pad)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pk, k, &bn))
        return SE05X_OK;
    uint8_t buf[1024];
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    se05x_status rc = SE05X_ERR_CRYPTO;
    if (n <= sizeof(buf) && BN_bn2binpad(bn, buf, (int)n) == (int)n)
        rc = sesim_obj_set_comp(o, comp, buf, n);
    OPENSSL_cleanse(buf, sizeof(buf));
    BN_clear_free(bn);
    return rc;
}

se05x_status sesim_obj_from_pkey(sesim_obj *o, EVP_PKEY *pk)
{
    if (EVP_PKEY_is_a(pk, "EC")) {
        char g[64];
        uint8_t pub[200];
        size_t pl = 0;
        if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof(g), NULL))
            return SE05X_ERR_CRYPTO;
        o->curve = sesim_curve_from_name(g);
        if (!o->curve)
            return SE05X_ERR_UNSUPPORTED;
        if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &pl) &&
            sesim_obj_set_comp(o, SESIM_C_PUB, pub, pl) != SE05X_OK)
            return SE05X_ERR_NOMEM;
        return put_bn(o, SESIM_C_PRIV, pk, OSSL_PKEY_PARAM_PRIV_KEY, sesim_curve_bytes(o->curve));
    }
    if (EVP_PKEY_is_a(pk, "RSA")) {
        static const struct { int c; const char *k; } m[] = {
            {SESIM_C_N, OSSL_PKEY_PARAM_RSA_N}, {SESIM_C_E, OSSL_PKEY_PARAM_RSA_E},
            {SESIM_C_D, OSSL_PKEY_PARAM_RSA_D}, {SESIM_C_P, OSSL_PKEY_PARAM_RSA_FACTOR1},
            {SESIM_C_Q, OSSL_PKEY_PARAM_RSA_FACTOR2}, {SESIM_C_DP, OSSL_PKEY_PARAM_RSA_EXPONENT1},
            {SESIM_C_DQ, OSSL_PKEY_PARAM_RSA_EXPONENT2},
            {SESIM_C_INVQ, OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
        for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
            se05x_status rc = put_bn(o, m[i].c, pk, m[i].k, 0);
            if (rc != SE05X_OK)
                return rc;
        }
        return SE05X_OK;
    }
    return SE05X_ERR_UNSUPPORTED;
}
