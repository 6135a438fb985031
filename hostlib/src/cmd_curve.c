/* EC curve management (spec §2.4): ReadECCurveList,
 * CreateECCurve, SetECCurveParam, GetECCurveId, DeleteECCurve, and
 * se05x_ec_curve_ensure(), which installs a Weierstrass curve with the
 * parameters A, B, G, N, prime taken from OpenSSL's EC_GROUP. */
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "cmd_internal.h"
#include "conn_internal.h"

/* ---- commands ---------------------------------------------------------- */

static se05x_status run_simple(se05x_conn *c, se05x_cmd_id cmd, se05x_tlvw *w, bool has_id,
                               uint32_t id, se05x_tlv_item *out, uint8_t *rsp, size_t cap)
{
    se05x_cmd_req r = {.cmd = cmd, .has_id = has_id, .id = id, .rsp = rsp, .rsp_cap = cap};
    if (w) {
        if (w->err != SE05X_OK) {
            se05x_cmd_fail(c, cmd, has_id, id, w->err);
            return w->err;
        }
        r.data = w->buf;
        r.len = w->len;
    }
    return se05x_cmd_xchg(c, &r, out);
}

se05x_status se05x_read_ec_curve_list(se05x_conn *c, uint8_t list[SE05X_CURVE_LIST_MAX],
                                      size_t *n)
{
    uint8_t rsp[64];
    se05x_tlv_item it[1];
    if (!list || !n)
        return SE05X_ERR_ARG;
    se05x_status st = run_simple(c, CMD_READ_EC_CURVE_LIST, NULL, false, 0, it, rsp, sizeof(rsp));
    if (st != SE05X_OK)
        return st;
    memset(list, 0, SE05X_CURVE_LIST_MAX);
    if (it[0].len)
        memcpy(list, it[0].val, it[0].len);
    *n = it[0].len;
    return SE05X_OK;
}

se05x_status se05x_create_ec_curve(se05x_conn *c, uint8_t curve)
{
    uint8_t buf[16];
    se05x_tlvw w;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_u8(&w, SE05X_TAG_1, curve);
    return run_simple(c, CMD_CREATE_EC_CURVE, &w, false, 0, NULL, NULL, 0);
}

se05x_status se05x_set_ec_curve_param(se05x_conn *c, uint8_t curve, uint8_t param,
                                      const uint8_t *val, size_t len)
{
    uint8_t buf[SE05X_CMD_BUF];
    se05x_tlvw w;
    if (!val || !len)
        return SE05X_ERR_ARG;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_u8(&w, SE05X_TAG_1, curve);
    se05x_tlvw_u8(&w, SE05X_TAG_2, param);
    se05x_tlvw_bytes(&w, SE05X_TAG_3, val, len);
    return run_simple(c, CMD_SET_EC_CURVE_PARAM, &w, false, 0, NULL, NULL, 0);
}

se05x_status se05x_get_ec_curve_id(se05x_conn *c, uint32_t id, uint8_t *curve)
{
    uint8_t buf[16], rsp[64];
    se05x_tlvw w;
    se05x_tlv_item it[1];
    if (!curve)
        return SE05X_ERR_ARG;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_status st = run_simple(c, CMD_GET_EC_CURVE_ID, &w, true, id, it, rsp, sizeof(rsp));
    if (st == SE05X_OK)
        *curve = it[0].val[0];
    return st;
}

se05x_status se05x_delete_ec_curve(se05x_conn *c, uint8_t curve)
{
    uint8_t buf[16];
    se05x_tlvw w;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_u8(&w, SE05X_TAG_1, curve);
    return run_simple(c, CMD_DELETE_EC_CURVE, &w, false, 0, NULL, NULL, 0);
}

/* ---- curve installation ------------------------------------------------ */

typedef struct {
    uint8_t a[66], b[66], prime[66], n[67], g[1 + 2 * 66];
    size_t flen, nlen, glen;
} curve_params;

static se05x_status params_from_openssl(int nid, curve_params *cp)
{
    se05x_status st = SE05X_ERR_CRYPTO;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new();
    if (!g || !ctx || !p || !a || !b)
        goto out;
    if (!EC_GROUP_get_curve(g, p, a, b, ctx))
        goto out;
    cp->flen = (size_t)BN_num_bytes(p);
    const BIGNUM *order = EC_GROUP_get0_order(g);
    cp->nlen = (size_t)BN_num_bytes(order);
    if (cp->flen > sizeof(cp->a) || cp->nlen > sizeof(cp->n))
        goto out;
    if (BN_bn2binpad(a, cp->a, (int)cp->flen) < 0 || BN_bn2binpad(b, cp->b, (int)cp->flen) < 0 ||
        BN_bn2binpad(p, cp->prime, (int)cp->flen) < 0 ||
        BN_bn2binpad(order, cp->n, (int)cp->nlen) < 0)
        goto out;
    cp->glen = EC_POINT_point2oct(g, EC_GROUP_get0_generator(g), POINT_CONVERSION_UNCOMPRESSED,
                                  cp->g, sizeof(cp->g), ctx);
    if (cp->glen != 1 + 2 * cp->flen)
        goto out;
    st = SE05X_OK;
out:
    BN_free(p);
    BN_free(a);
    BN_free(b);
    BN_CTX_free(ctx);
    EC_GROUP_free(g);
    return st;
}

/* CreateECCurve, treating 6985 (already exists) as success like the MW. */
static se05x_status create_tolerant(se05x_conn *c, uint8_t curve)
{
    se05x_status st = se05x_create_ec_curve(c, curve);
    if (st == SE05X_ERR_SW && se05x_conn_last_sw(c) == SE05X_SW_CONDITIONS)
        st = SE05X_OK;
    return st;
}

se05x_status se05x_ec_curve_ensure(se05x_conn *c, uint8_t curve)
{
    const se05x_curve_info *ci = se05x_curve_info_get(curve);
    if (!c || !ci)
        return SE05X_ERR_ARG;
    if (curve == SE05X_CURVE_ED25519)
        return SE05X_OK;
    se05x_status st;
    se05x_conn_lock(c);
    if (curve == SE05X_CURVE_X25519 || curve == SE05X_CURVE_X448) {
        st = se05x_applet_is_7x(c) ? create_tolerant(c, curve) : SE05X_OK;
        goto out;
    }
    uint8_t list[SE05X_CURVE_LIST_MAX];
    size_t n = 0;
    st = se05x_read_ec_curve_list(c, list, &n);
    if (st != SE05X_OK || (curve <= n && list[curve - 1] == SE05X_CURVE_SET))
        goto out;
    if (ci->nid == NID_undef) {
        se05x_conn_seterr(c, "curve %s is not installed and its parameters are unknown", ci->se_name);
        st = SE05X_ERR_UNSUPPORTED;
        goto out;
    }
    curve_params cp;
    st = params_from_openssl(ci->nid, &cp);
    if (st != SE05X_OK) {
        se05x_conn_seterr(c, "curve %s: cannot get parameters from OpenSSL", ci->se_name);
        goto out;
    }
    st = create_tolerant(c, curve);
    if (st == SE05X_OK)
        st = se05x_set_ec_curve_param(c, curve, SE05X_CURVE_PARAM_A, cp.a, cp.flen);
    if (st == SE05X_OK)
        st = se05x_set_ec_curve_param(c, curve, SE05X_CURVE_PARAM_B, cp.b, cp.flen);
    if (st == SE05X_OK)
        st = se05x_set_ec_curve_param(c, curve, SE05X_CURVE_PARAM_G, cp.g, cp.glen);
    if (st == SE05X_OK)
        st = se05x_set_ec_curve_param(c, curve, SE05X_CURVE_PARAM_N, cp.n, cp.nlen);
    if (st == SE05X_OK)
        st = se05x_set_ec_curve_param(c, curve, SE05X_CURVE_PARAM_PRIME, cp.prime, cp.flen);
out:
    se05x_conn_unlock(c);
    return st;
}
