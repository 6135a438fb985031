/* Key conversions of the simulator: sesim_obj components (SE formats of
 * spec §2.2: big-endian EC scalars of field length, 04||X||Y points,
 * byte-reversed Montgomery/Edwards keys, big-endian RSA components) to and
 * from OpenSSL 3 EVP_PKEYs, plus the ECCurve id table of spec §2.4. Only
 * the OpenSSL 3 param/fromdata APIs are used (nothing deprecated). */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "se05x/curves.h"
#include "sim_internal.h"

/* ---- curve table ----------------------------------------------------- */

static bool curve_is_raw(uint8_t curve) /* 25519 / 448 family */
{
    return curve == 0x40 || curve == 0x41 || curve == 0x43;
}

static void reverse_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[n - 1 - i];
}

/* ---- EVP_PKEY construction helpers ------------------------------------ */

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
        (void)EVP_PKEY_fromdata(ctx, &pkey, selection, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* secure part (private BNs) is cleared on free */
    return pkey;
}

/* Public point 04||X||Y = priv * G (when an object holds only the scalar). */
static bool ec_pub_from_priv(const char *group, const BIGNUM *priv, uint8_t *out, size_t outlen)
{
    bool ok = false;
    int nid = OBJ_sn2nid(group);
    EC_GROUP *g = nid != NID_undef ? EC_GROUP_new_by_curve_name(nid) : NULL;
    EC_POINT *pt = g ? EC_POINT_new(g) : NULL;
    if (pt && EC_POINT_mul(g, pt, priv, NULL, NULL, NULL) == 1 &&
        EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, out, outlen, NULL) == outlen)
        ok = true;
    EC_POINT_free(pt);
    EC_GROUP_free(g);
    return ok;
}

static EVP_PKEY *ec_to_pkey(const sesim_obj *o, const se05x_curve_info *c)
{
    const sesim_comp *priv = &o->comp[SESIM_C_PRIV];
    const sesim_comp *pub = &o->comp[SESIM_C_PUB];
    size_t fl = c->field_len;
    size_t publen = 1 + 2 * fl;
    uint8_t pubbuf[1 + 2 * 66];
    BIGNUM *d = NULL;
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (!bld)
        return NULL;
    bool have_pub = pub->v && pub->len == publen && pub->v[0] == 0x04;
    if (pub->v && !have_pub)
        goto done; /* stored public key malformed */
    if (priv->v && priv->len > 0) {
        d = BN_secure_new();
        if (!d || !BN_bin2bn(priv->v, (int)priv->len, d))
            goto done;
        if (!have_pub) {
            if (!ec_pub_from_priv(c->ossl, d, pubbuf, publen))
                goto done;
        }
    }
    if (have_pub)
        memcpy(pubbuf, pub->v, publen);
    if (!d && !have_pub)
        goto done;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->ossl, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pubbuf, publen) ||
        (d && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)))
        goto done;
    pkey = pkey_fromdata("EC", bld, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
done:
    BN_clear_free(d);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

static EVP_PKEY *raw_to_pkey(const sesim_obj *o, const se05x_curve_info *c)
{
    const sesim_comp *priv = &o->comp[SESIM_C_PRIV];
    const sesim_comp *pub = &o->comp[SESIM_C_PUB];
    uint8_t buf[56];
    EVP_PKEY *pkey = NULL;
    if (priv->v && priv->len == c->field_len) {
        if (c->id == 0x40)
            memcpy(buf, priv->v, c->field_len); /* Ed25519 seed: unchanged */
        else
            reverse_copy(buf, priv->v, c->field_len);
        pkey = EVP_PKEY_new_raw_private_key_ex(NULL, c->ossl, NULL, buf, c->field_len);
        OPENSSL_cleanse(buf, sizeof(buf));
        return pkey;
    }
    if (pub->v && pub->len == c->field_len) {
        reverse_copy(buf, pub->v, c->field_len);
        pkey = EVP_PKEY_new_raw_public_key_ex(NULL, c->ossl, NULL, buf, c->field_len);
    }
    return pkey;
}

static BIGNUM *comp_bn(const sesim_obj *o, int comp)
{
    const sesim_comp *c = &o->comp[comp];
    if (!c->v || c->len == 0)
        return NULL;
    BIGNUM *b = BN_secure_new();
    if (b && !BN_bin2bn(c->v, (int)c->len, b)) {
        BN_clear_free(b);
        b = NULL;
    }
    return b;
}

/* Fill in N, E and D from the CRT factors when an object lacks them
 * (private CRT objects hold only P, Q, DP, DQ, INV_Q). */
static bool rsa_complete(BIGNUM **n, BIGNUM **e, BIGNUM **d, const BIGNUM *p, const BIGNUM *q,
                         const BIGNUM *dp)
{
    bool ok = false;
    BN_CTX *bctx = BN_CTX_secure_new();
    BIGNUM *p1 = BN_new(), *q1 = BN_new(), *g = BN_new(), *l = BN_secure_new();
    if (!bctx || !p1 || !q1 || !g || !l)
        goto done;
    if (!BN_sub(p1, p, BN_value_one()) || !BN_sub(q1, q, BN_value_one()))
        goto done;
    if (!*n) {
        *n = BN_new();
        if (!*n || !BN_mul(*n, p, q, bctx))
            goto done;
    }
    if (!*e) {
        if (!dp)
            goto done;
        *e = BN_mod_inverse(NULL, dp, p1, bctx); /* e < p-1 for real keys */
        if (!*e)
            goto done;
    }
    if (!*d) {
        /* d = e^-1 mod lcm(p-1, q-1) */
        if (!BN_gcd(g, p1, q1, bctx) || !BN_mul(l, p1, q1, bctx) || !BN_div(l, NULL, l, g, bctx))
            goto done;
        *d = BN_mod_inverse(BN_secure_new(), *e, l, bctx);
        if (!*d)
            goto done;
    }
    ok = true;
done:
    BN_free(p1);
    BN_free(q1);
    BN_free(g);
    BN_clear_free(l);
    BN_CTX_free(bctx);
    return ok;
}

static EVP_PKEY *rsa_to_pkey(const sesim_obj *o)
{
    BIGNUM *n = comp_bn(o, SESIM_C_N), *e = comp_bn(o, SESIM_C_E), *d = comp_bn(o, SESIM_C_D);
    BIGNUM *p = comp_bn(o, SESIM_C_P), *q = comp_bn(o, SESIM_C_Q), *dp = comp_bn(o, SESIM_C_DP);
    BIGNUM *dq = comp_bn(o, SESIM_C_DQ), *qi = comp_bn(o, SESIM_C_INVQ);
    EVP_PKEY *pkey = NULL;
    bool crt = p && q && dp && dq && qi;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (!bld)
        goto done;
    if (crt && (!n || !e || !d) && !rsa_complete(&n, &e, &d, p, q, dp))
        goto done;
    if (!n || !e)
        goto done;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
        (d && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d)))
        goto done;
    if (d && crt &&
        (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
         !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
         !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) ||
         !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) ||
         !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qi)))
        goto done;
    pkey = pkey_fromdata("RSA", bld, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
done:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    BN_clear_free(d);
    BN_clear_free(p);
    BN_clear_free(q);
    BN_clear_free(dp);
    BN_clear_free(dq);
    BN_clear_free(qi);
    return pkey;
}

EVP_PKEY *sesim_obj_to_pkey(const sesim_obj *o)
{
    switch (o->type) {
    case SESIM_T_EC_PAIR:
    case SESIM_T_EC_PRIV:
    case SESIM_T_EC_PUB: {
        const se05x_curve_info *c = se05x_curve_info_get(o->curve);
        if (!c || !c->ossl)
            return NULL;
        return curve_is_raw(o->curve) ? raw_to_pkey(o, c) : ec_to_pkey(o, c);
    }
    case SESIM_T_RSA_PAIR:
    case SESIM_T_RSA_PAIR_CRT:
    case SESIM_T_RSA_PRIV:
    case SESIM_T_RSA_PRIV_CRT:
    case SESIM_T_RSA_PUB:
        return rsa_to_pkey(o);
    default:
        return NULL;
    }
}

/* ---- EVP_PKEY -> object ----------------------------------------------- */

static bool pkey_has_private(EVP_PKEY *pkey, const char *param)
{
    BIGNUM *b = NULL;
    bool yes = EVP_PKEY_get_bn_param(pkey, param, &b) == 1;
    BN_clear_free(b);
    return yes;
}

/* Store BN param `param` of pkey as component comp, left-padded to pad
 * bytes (0 = minimal length). Returns false if absent or on error. */
static bool put_bn(sesim_obj *o, int comp, EVP_PKEY *pkey, const char *param, size_t pad)
{
    BIGNUM *b = NULL;
    bool ok = false;
    if (EVP_PKEY_get_bn_param(pkey, param, &b) != 1)
        return false;
    size_t n = (size_t)BN_num_bytes(b);
    if (pad < n)
        pad = n;
    if (pad == 0)
        pad = 1;
    uint8_t *buf = OPENSSL_secure_malloc(pad);
    if (buf && BN_bn2binpad(b, buf, (int)pad) == (int)pad)
        ok = sesim_obj_set_comp(o, comp, buf, pad) == SE05X_OK;
    if (buf)
        OPENSSL_secure_clear_free(buf, pad);
    BN_clear_free(b);
    return ok;
}

static se05x_status rsa_from_pkey(sesim_obj *o, EVP_PKEY *pkey)
{
    int bits = EVP_PKEY_get_bits(pkey);
    if (bits <= 0)
        return SE05X_ERR_CRYPTO;
    size_t mb = ((size_t)bits + 7) / 8;
    bool priv = pkey_has_private(pkey, OSSL_PKEY_PARAM_RSA_D);
    bool crt = priv && pkey_has_private(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1);
    if (o->type == 0 || o->type < SESIM_T_RSA_PAIR || o->type > SESIM_T_RSA_PUB)
        o->type = crt ? SESIM_T_RSA_PAIR_CRT : priv ? SESIM_T_RSA_PAIR : SESIM_T_RSA_PUB;
    bool want_pub = o->type != SESIM_T_RSA_PRIV_CRT;
    bool want_d = o->type == SESIM_T_RSA_PAIR || o->type == SESIM_T_RSA_PRIV;
    bool want_crt = o->type == SESIM_T_RSA_PAIR_CRT || o->type == SESIM_T_RSA_PRIV_CRT;
    if ((want_d && !priv) || (want_crt && !crt))
        return SE05X_ERR_ARG;
    if (want_pub && (!put_bn(o, SESIM_C_N, pkey, OSSL_PKEY_PARAM_RSA_N, mb) ||
                     (o->type != SESIM_T_RSA_PRIV &&
                      !put_bn(o, SESIM_C_E, pkey, OSSL_PKEY_PARAM_RSA_E, 0))))
        return SE05X_ERR_CRYPTO;
    if (want_d && !put_bn(o, SESIM_C_D, pkey, OSSL_PKEY_PARAM_RSA_D, mb))
        return SE05X_ERR_CRYPTO;
    if (want_crt) {
        size_t h = (mb + 1) / 2;
        if (!put_bn(o, SESIM_C_P, pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, h) ||
            !put_bn(o, SESIM_C_Q, pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, h) ||
            !put_bn(o, SESIM_C_DP, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, h) ||
            !put_bn(o, SESIM_C_DQ, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, h) ||
            !put_bn(o, SESIM_C_INVQ, pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, h))
            return SE05X_ERR_CRYPTO;
    }
    o->size = (uint16_t)bits;
    return SE05X_OK;
}

static se05x_status ec_type_for(sesim_obj *o, bool priv)
{
    if (o->type < SESIM_T_EC_PAIR || o->type > SESIM_T_EC_PUB)
        o->type = priv ? SESIM_T_EC_PAIR : SESIM_T_EC_PUB;
    if (o->type != SESIM_T_EC_PUB && !priv)
        return SE05X_ERR_ARG;
    return SE05X_OK;
}

static se05x_status raw_from_pkey(sesim_obj *o, EVP_PKEY *pkey, const se05x_curve_info *c)
{
    uint8_t buf[56], rev[56];
    size_t len = sizeof(buf);
    bool priv = EVP_PKEY_get_raw_private_key(pkey, buf, &len) == 1 && len == c->field_len;
    se05x_status st = ec_type_for(o, priv);
    if (st != SE05X_OK)
        goto done;
    st = SE05X_ERR_CRYPTO;
    if (o->type != SESIM_T_EC_PUB) {
        if (c->id == 0x40)
            memcpy(rev, buf, c->field_len);
        else
            reverse_copy(rev, buf, c->field_len);
        if (sesim_obj_set_comp(o, SESIM_C_PRIV, rev, c->field_len) != SE05X_OK)
            goto done;
    }
    if (o->type != SESIM_T_EC_PRIV) {
        len = sizeof(buf);
        if (EVP_PKEY_get_raw_public_key(pkey, buf, &len) != 1 || len != c->field_len)
            goto done;
        reverse_copy(rev, buf, c->field_len);
        if (sesim_obj_set_comp(o, SESIM_C_PUB, rev, c->field_len) != SE05X_OK)
            goto done;
    }
    o->curve = c->id;
    st = SE05X_OK;
done:
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(rev, sizeof(rev));
    return st;
}

static se05x_status ec_from_pkey(sesim_obj *o, EVP_PKEY *pkey)
{
    char group[64];
    size_t gl = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &gl) != 1)
        return SE05X_ERR_UNSUPPORTED;
    uint8_t id = 0;
    if (se05x_curve_from_name(group, &id) != SE05X_OK)
        return SE05X_ERR_UNSUPPORTED;
    const se05x_curve_info *c = se05x_curve_info_get(id);
    if (!c || !c->ossl || curve_is_raw(id))
        return SE05X_ERR_UNSUPPORTED;
    if (o->curve && o->curve != id)
        return SE05X_ERR_ARG;
    bool priv = pkey_has_private(pkey, OSSL_PKEY_PARAM_PRIV_KEY);
    se05x_status st = ec_type_for(o, priv);
    if (st != SE05X_OK)
        return st;
    size_t fl = c->field_len;
    if (o->type != SESIM_T_EC_PUB && !put_bn(o, SESIM_C_PRIV, pkey, OSSL_PKEY_PARAM_PRIV_KEY, fl))
        return SE05X_ERR_CRYPTO;
    if (o->type != SESIM_T_EC_PRIV) {
        uint8_t pt[1 + 2 * 66];
        BIGNUM *x = NULL, *y = NULL;
        bool ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
                  EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
                  BN_bn2binpad(x, pt + 1, (int)fl) == (int)fl &&
                  BN_bn2binpad(y, pt + 1 + fl, (int)fl) == (int)fl;
        BN_free(x);
        BN_free(y);
        pt[0] = 0x04;
        if (!ok || sesim_obj_set_comp(o, SESIM_C_PUB, pt, 1 + 2 * fl) != SE05X_OK)
            return SE05X_ERR_CRYPTO;
    }
    o->curve = id;
    return SE05X_OK;
}

se05x_status sesim_obj_from_pkey(sesim_obj *o, EVP_PKEY *pkey)
{
    if (!o || !pkey)
        return SE05X_ERR_ARG;
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return rsa_from_pkey(o, pkey);
    if (EVP_PKEY_is_a(pkey, "EC"))
        return ec_from_pkey(o, pkey);
    const se05x_curve_info *c;
    for (size_t i = 0; (c = se05x_curve_info_at(i)) != NULL; i++) {
        if (curve_is_raw(c->id) && EVP_PKEY_is_a(pkey, c->ossl)) {
            if (o->curve && o->curve != c->id)
                return SE05X_ERR_ARG;
            return raw_from_pkey(o, pkey, c);
        }
    }
    return SE05X_ERR_UNSUPPORTED;
}
