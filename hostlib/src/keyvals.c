/* Key values of OpenSSL keys in the SE's formats (spec §2.2), the one
 * conversion behind every import (sss's set/import, rtp-make's offline
 * provisioning files): EC private scalar of field length and 04||X||Y for
 * Weierstrass curves, raw byte strings in the SE's byte order for Ed25519,
 * X25519 and X448 (se05x_curve_raw_order), RSA N, E and CRT components as
 * minimal big-endian integers in secure memory. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "se05x/commands.h"

#define RSA_COMP_MAX 512 /* bytes of a 4096-bit component */

/* Big-endian BIGNUM parameter, left-padded to pad bytes (0 = minimal);
 * 0 if absent or larger than cap / pad. */
static size_t bn_param(const EVP_PKEY *k, const char *name, uint8_t *out, size_t cap, size_t pad)
{
    BIGNUM *b = NULL;
    size_t n = 0;
    if (EVP_PKEY_get_bn_param(k, name, &b)) {
        size_t need = (size_t)BN_num_bytes(b);
        size_t w = pad ? pad : need;
        if (need <= w && w <= cap && BN_bn2binpad(b, out, (int)w) == (int)w)
            n = w;
    }
    BN_clear_free(b);
    return n;
}

/* SE curve id of an EC (named curve), Ed25519, X25519 or X448 key. */
static se05x_status pkey_curve(const EVP_PKEY *k, uint8_t *curve)
{
    char g[64];
    const char *name = NULL;
    if (EVP_PKEY_is_a(k, "EC")) {
        if (EVP_PKEY_get_group_name(k, g, sizeof(g), NULL))
            name = g;
    } else if (EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "X25519") ||
               EVP_PKEY_is_a(k, "X448")) {
        name = EVP_PKEY_get0_type_name(k);
    }
    return name && se05x_curve_from_name(name, curve) == SE05X_OK ? SE05X_OK
                                                                  : SE05X_ERR_UNSUPPORTED;
}

static bool raw_values(const EVP_PKEY *k, bool pair, size_t fl, se05x_ec_values *v)
{
    size_t pl = fl, kl = fl;
    if (!EVP_PKEY_get_raw_public_key(k, v->pub, &pl) || pl != fl ||
        (pair && (!EVP_PKEY_get_raw_private_key(k, v->priv, &kl) || kl != fl)))
        return false;
    se05x_curve_raw_order(v->curve, false, v->pub, fl);
    v->pub_len = fl;
    if (pair) {
        se05x_curve_raw_order(v->curve, true, v->priv, fl);
        v->priv_len = fl;
    }
    return true;
}

static bool point_values(const EVP_PKEY *k, bool pair, size_t fl, se05x_ec_values *v)
{
    v->pub[0] = 0x04;
    if (bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, v->pub + 1, fl, fl) != fl ||
        bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, v->pub + 1 + fl, fl, fl) != fl)
        return false;
    v->pub_len = 1 + 2 * fl;
    if (pair && bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, v->priv, fl, fl) != fl)
        return false;
    v->priv_len = pair ? fl : 0;
    return true;
}

se05x_status se05x_ec_values_from_pkey(const EVP_PKEY *k, bool pair, se05x_ec_values *v)
{
    if (!k || !v)
        return SE05X_ERR_ARG;
    memset(v, 0, sizeof(*v));
    se05x_status st = pkey_curve(k, &v->curve);
    size_t fl = se05x_curve_field_len(v->curve);
    if (st == SE05X_OK && (fl == 0 || fl > sizeof(v->priv)))
        st = SE05X_ERR_UNSUPPORTED;
    if (st == SE05X_OK) {
        bool ok = se05x_curve_info_get(v->curve)->raw ? raw_values(k, pair, fl, v)
                                                      : point_values(k, pair, fl, v);
        st = ok ? SE05X_OK : SE05X_ERR_CRYPTO;
    }
    ERR_clear_error();
    if (st != SE05X_OK)
        OPENSSL_cleanse(v, sizeof(*v));
    return st;
}

se05x_status se05x_rsa_values_from_pkey(const EVP_PKEY *k, bool pair, se05x_rsa_values *v)
{
    if (!k || !v)
        return SE05X_ERR_ARG;
    memset(v, 0, sizeof(*v));
    if (!EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_get_bits(k) <= 0 || EVP_PKEY_get_bits(k) > 4096)
        return SE05X_ERR_UNSUPPORTED;
    uint8_t *m = OPENSSL_secure_zalloc(7 * RSA_COMP_MAX);
    if (!m)
        return SE05X_ERR_NOMEM;
    v->mem = m;
    v->bits = (uint16_t)EVP_PKEY_get_bits(k);
    se05x_rsa_comps *c = &v->c;
    c->n = m, c->e = m + RSA_COMP_MAX;
    c->n_len = bn_param(k, OSSL_PKEY_PARAM_RSA_N, m, RSA_COMP_MAX, 0);
    c->e_len = bn_param(k, OSSL_PKEY_PARAM_RSA_E, m + RSA_COMP_MAX, RSA_COMP_MAX, 0);
    bool ok = c->n_len && c->e_len;
    if (ok && pair) {
        c->p = m + 2 * RSA_COMP_MAX, c->q = m + 3 * RSA_COMP_MAX;
        c->dp = m + 4 * RSA_COMP_MAX, c->dq = m + 5 * RSA_COMP_MAX;
        c->qinv = m + 6 * RSA_COMP_MAX;
        c->p_len = bn_param(k, OSSL_PKEY_PARAM_RSA_FACTOR1, m + 2 * RSA_COMP_MAX, RSA_COMP_MAX, 0);
        c->q_len = bn_param(k, OSSL_PKEY_PARAM_RSA_FACTOR2, m + 3 * RSA_COMP_MAX, RSA_COMP_MAX, 0);
        c->dp_len =
            bn_param(k, OSSL_PKEY_PARAM_RSA_EXPONENT1, m + 4 * RSA_COMP_MAX, RSA_COMP_MAX, 0);
        c->dq_len =
            bn_param(k, OSSL_PKEY_PARAM_RSA_EXPONENT2, m + 5 * RSA_COMP_MAX, RSA_COMP_MAX, 0);
        c->qinv_len =
            bn_param(k, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, m + 6 * RSA_COMP_MAX, RSA_COMP_MAX, 0);
        ok = c->p_len && c->q_len && c->dp_len && c->dq_len && c->qinv_len;
    }
    ERR_clear_error();
    if (!ok) {
        se05x_rsa_values_free(v);
        return SE05X_ERR_CRYPTO;
    }
    return SE05X_OK;
}

void se05x_rsa_values_free(se05x_rsa_values *v)
{
    if (!v)
        return;
    OPENSSL_secure_clear_free(v->mem, 7 * RSA_COMP_MAX);
    memset(v, 0, sizeof(*v));
}
