/* se05x_psa formats: PSA key import/export formats <-> the DER that sss
 * speaks, and ECDSA signatures DER <-> raw r||s, all through libcrypto
 * (EVP / X509_PUBKEY / ECDSA_SIG; no deprecated APIs). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "psa_internal.h"

psa_status_t se05x_psa_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t field_bytes,
                                        uint8_t *raw, size_t cap, size_t *rawlen)
{
    if (!der || !raw || !rawlen || field_bytes == 0 || field_bytes > 66)
        return PSA_ERROR_INVALID_ARGUMENT;
    if (cap < 2 * field_bytes)
        return PSA_ERROR_BUFFER_TOO_SMALL;
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (!s || (size_t)(p - der) != derlen) {
        ECDSA_SIG_free(s);
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    const BIGNUM *r, *sv;
    ECDSA_SIG_get0(s, &r, &sv);
    int ok = BN_bn2binpad(r, raw, (int)field_bytes) == (int)field_bytes &&
             BN_bn2binpad(sv, raw + field_bytes, (int)field_bytes) == (int)field_bytes;
    ECDSA_SIG_free(s);
    if (!ok)
        return PSA_ERROR_INVALID_ARGUMENT;
    *rawlen = 2 * field_bytes;
    return PSA_SUCCESS;
}

psa_status_t se05x_psa_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t *der,
                                        size_t cap, size_t *derlen)
{
    if (!raw || !der || !derlen || rawlen == 0 || rawlen % 2 || rawlen > 132)
        return PSA_ERROR_INVALID_ARGUMENT;
    size_t h = rawlen / 2;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)h, NULL), *sv = BN_bin2bn(raw + h, (int)h, NULL);
    if (!s || !r || !sv || !ECDSA_SIG_set0(s, r, sv)) {
        ECDSA_SIG_free(s);
        BN_free(r);
        BN_free(sv);
        return PSA_ERROR_INSUFFICIENT_MEMORY;
    }
    psa_status_t ps = PSA_SUCCESS;
    int n = i2d_ECDSA_SIG(s, NULL);
    if (n <= 0)
        ps = PSA_ERROR_GENERIC_ERROR;
    else if ((size_t)n > cap)
        ps = PSA_ERROR_BUFFER_TOO_SMALL;
    else {
        unsigned char *q = der;
        *derlen = (size_t)i2d_ECDSA_SIG(s, &q);
    }
    ECDSA_SIG_free(s);
    return ps;
}

psa_status_t se05x_psa_spki_to_psa(const uint8_t *spki, size_t len, uint8_t *out, size_t cap,
                                   size_t *outlen)
{
    const unsigned char *p = spki;
    X509_PUBKEY *xp = d2i_X509_PUBKEY(NULL, &p, (long)len);
    const unsigned char *pk = NULL;
    int pklen = 0;
    psa_status_t ps = PSA_ERROR_INVALID_ARGUMENT;
    if (xp && X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xp) == 1 && pklen > 0) {
        if ((size_t)pklen > cap)
            ps = PSA_ERROR_BUFFER_TOO_SMALL;
        else {
            memcpy(out, pk, (size_t)pklen);
            *outlen = (size_t)pklen;
            ps = PSA_SUCCESS;
        }
    }
    X509_PUBKEY_free(xp);
    return ps;
}

static const char *group_for(size_t bits)
{
    return bits == 256 ? "P-256" : bits == 384 ? "P-384" : bits == 521 ? "P-521" : NULL;
}

/* EVP_PKEY from EC params (private scalar and/or public point). */
static EVP_PKEY *ec_fromdata(const char *group, const uint8_t *priv, size_t privlen,
                             const uint8_t *pub, size_t publen, int selection)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    /* a secure BIGNUM makes OSSL_PARAM_BLD keep its copy in the secure heap */
    BIGNUM *d = priv ? BN_secure_new() : NULL;
    if (d && !BN_bin2bn(priv, (int)privlen, d)) {
        BN_clear_free(d);
        d = NULL;
    }
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    if (!b || (priv && !d))
        goto out;
    if (!OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        (d && !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d)) ||
        !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, publen))
        goto out;
    params = OSSL_PARAM_BLD_to_param(b);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
        pkey = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* the secure-heap copy of the scalar is cleared */
    OSSL_PARAM_BLD_free(b);
    BN_clear_free(d);
    return pkey;
}

/* Public point d*G of the scalar (uncompressed), into pub (cap >= 133). */
static int ec_pub_from_priv(const char *group, const uint8_t *priv, size_t privlen, uint8_t *pub,
                            size_t cap, size_t *publen)
{
    int nid = EC_curve_nist2nid(group);
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    BIGNUM *d = BN_bin2bn(priv, (int)privlen, NULL);
    EC_POINT *q = g ? EC_POINT_new(g) : NULL;
    int ok = 0;
    if (g && d && q && !BN_is_zero(d) && BN_cmp(d, EC_GROUP_get0_order(g)) < 0 &&
        EC_POINT_mul(g, q, d, NULL, NULL, NULL) == 1) {
        *publen = EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub, cap, NULL);
        ok = *publen > 0;
    }
    EC_POINT_free(q);
    BN_clear_free(d);
    EC_GROUP_free(g);
    return ok;
}

static psa_status_t der_of(EVP_PKEY *pkey, bool priv, uint8_t **der, size_t *derlen)
{
    unsigned char *buf = NULL;
    int n = priv ? i2d_PrivateKey(pkey, &buf) : i2d_PUBKEY(pkey, &buf);
    if (n <= 0)
        return PSA_ERROR_INVALID_ARGUMENT;
    *der = malloc((size_t)n);
    if (*der)
        memcpy(*der, buf, (size_t)n);
    OPENSSL_clear_free(buf, (size_t)n);
    if (!*der)
        return PSA_ERROR_INSUFFICIENT_MEMORY;
    *derlen = (size_t)n;
    return PSA_SUCCESS;
}

static psa_status_t ec_to_der(psa_key_type_t type, const uint8_t *data, size_t len,
                              uint8_t **der, size_t *derlen, size_t *bits)
{
    bool pair = PSA_KEY_TYPE_IS_ECC_KEY_PAIR(type);
    size_t fb = pair ? len : (len - 1) / 2;
    size_t b = fb == 32 ? 256 : fb == 48 ? 384 : fb == 66 ? 521 : 0;
    const char *group = group_for(b);
    if (!group || (!pair && (len != 1 + 2 * fb || data[0] != 0x04)))
        return PSA_ERROR_INVALID_ARGUMENT;
    uint8_t pub[133];
    size_t publen = len;
    if (pair && !ec_pub_from_priv(group, data, len, pub, sizeof(pub), &publen))
        return PSA_ERROR_INVALID_ARGUMENT;
    EVP_PKEY *pkey = pair ? ec_fromdata(group, data, len, pub, publen, EVP_PKEY_KEYPAIR)
                          : ec_fromdata(group, NULL, 0, data, len, EVP_PKEY_PUBLIC_KEY);
    if (!pkey)
        return PSA_ERROR_INVALID_ARGUMENT;
    psa_status_t ps = der_of(pkey, pair, der, derlen);
    EVP_PKEY_free(pkey);
    *bits = b;
    return ps;
}

static psa_status_t rsa_to_der(psa_key_type_t type, const uint8_t *data, size_t len,
                               uint8_t **der, size_t *derlen, size_t *bits)
{
    bool pair = type == PSA_KEY_TYPE_RSA_KEY_PAIR;
    const unsigned char *p = data;
    EVP_PKEY *pkey = pair ? d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len)
                          : d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
    if (!pkey || (size_t)(p - data) != len) {
        EVP_PKEY_free(pkey);
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    *bits = (size_t)EVP_PKEY_get_bits(pkey);
    psa_status_t ps = der_of(pkey, pair, der, derlen);
    EVP_PKEY_free(pkey);
    return ps;
}

psa_status_t se05x_psa_psa_to_der(psa_key_type_t type, const uint8_t *data, size_t len,
                                  uint8_t **der, size_t *derlen, sss_import_kind *kind,
                                  size_t *bits)
{
    if (!data || len == 0 || len > 4096)
        return PSA_ERROR_INVALID_ARGUMENT;
    bool pair = PSA_KEY_TYPE_IS_KEY_PAIR(type);
    *kind = pair ? SSS_IMPORT_KEY_PAIR : SSS_IMPORT_PUBLIC;
    if (PSA_KEY_TYPE_IS_ECC(type) &&
        PSA_KEY_TYPE_ECC_GET_FAMILY(type) == PSA_ECC_FAMILY_SECP_R1)
        return ec_to_der(type, data, len, der, derlen, bits);
    if (type == PSA_KEY_TYPE_RSA_KEY_PAIR || type == PSA_KEY_TYPE_RSA_PUBLIC_KEY)
        return rsa_to_der(type, data, len, der, derlen, bits);
    return PSA_ERROR_NOT_SUPPORTED;
}
