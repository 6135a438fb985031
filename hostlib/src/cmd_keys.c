/* Typed wrappers for asymmetric key objects: WriteECKey (generate, import
 * pair / public / private) with the middleware's set-key flow, and
 * WriteRSAKey (generation, and the fixed one-component-per-APDU import
 * sequences of spec §2.2 with odd-length components left-padded). */
#include <string.h>

#include <openssl/crypto.h>

#include "cmd_internal.h"
#include "conn_internal.h"

static se05x_status run_w(se05x_conn *c, se05x_cmd_req *r, se05x_tlvw *w)
{
    se05x_status st = w->err;
    if (st != SE05X_OK) {
        se05x_cmd_fail(c, r->cmd, r->has_id, r->id, st);
        return st;
    }
    r->data = w->buf;
    r->len = w->len;
    return se05x_cmd_xchg(c, r, NULL);
}

/* ---- EC -------------------------------------------------------------- */

se05x_status se05x_write_ec_key(se05x_conn *c, const se05x_obj_opts *o, const se05x_ec_key *k)
{
    if (!c || !k || (k->priv_len && !k->priv) || (k->pub_len && !k->pub))
        return SE05X_ERR_ARG;
    if (k->keypart != SE05X_KEY_PAIR && k->keypart != SE05X_KEY_PRIVATE &&
        k->keypart != SE05X_KEY_PUBLIC)
        return SE05X_ERR_ARG;
    bool generate = !k->priv_len && !k->pub_len;
    if (generate && k->keypart != SE05X_KEY_PAIR)
        return SE05X_ERR_ARG;
    if (!k->exists && k->curve == SE05X_CURVE_NONE)
        return SE05X_ERR_ARG;
    bool v7 = se05x_applet_is_7x(c);
    uint8_t buf[SE05X_CMD_BUF];
    se05x_tlvw w;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_cmd_req r = {.cmd = CMD_WRITE_EC_KEY, .has_id = true, .id = k->id,
                       .ins_or = se05x_cmd_ins_flags(o),
                       /* an import into an existing object carries no key part */
                       .p1_or = (uint8_t)((k->exists && !generate) ? 0 : k->keypart)};
    if (!k->exists)
        se05x_cmd_put_policy(&w, SE05X_TAG_POLICY, o);
    if (o)
        se05x_tlvw_u16_opt(&w, SE05X_TAG_MAX_ATTEMPTS, o->max_attempts);
    if (k->exists && v7 && !generate)
        se05x_cmd_put_policy(&w, SE05X_TAG_POLICY_CHECK, o);
    se05x_tlvw_u32(&w, SE05X_TAG_1, k->id);
    if (!k->exists)
        se05x_tlvw_u8(&w, SE05X_TAG_2, k->curve);
    if (k->priv_len)
        se05x_tlvw_bytes(&w, SE05X_TAG_3, k->priv, k->priv_len);
    if (k->pub_len)
        se05x_tlvw_bytes(&w, SE05X_TAG_4, k->pub, k->pub_len);
    /* 7.x: the middleware's set-key path (WriteECKey_Ver) appends the
     * version; its generate path does not (trace in spec §12). */
    if (v7 && !generate)
        se05x_tlvw_u32(&w, SE05X_TAG_11, o ? o->version : 0);
    se05x_status st = run_w(c, &r, &w);
    OPENSSL_cleanse(buf, sizeof(buf));
    return st;
}

/* CheckObjectExists and, for an existing object, GetECCurveId == curve. */
static se05x_status ec_prepare(se05x_conn *c, uint32_t id, uint8_t curve, bool *exists)
{
    se05x_status st = se05x_ec_curve_ensure(c, curve);
    if (st == SE05X_OK)
        st = se05x_object_exists(c, id, exists);
    if (st == SE05X_OK && *exists) {
        uint8_t have = 0;
        st = se05x_get_ec_curve_id(c, id, &have);
        if (st == SE05X_OK && have != curve) {
            se05x_conn_seterr(c, "WriteECKey 0x%08X: object exists on curve 0x%02X, not 0x%02X",
                              id, have, curve);
            st = SE05X_ERR_ARG;
        }
    }
    return st;
}

se05x_status se05x_ec_generate(se05x_conn *c, const se05x_obj_opts *o, uint32_t id, uint8_t curve)
{
    bool exists = false;
    se05x_conn_lock(c);
    se05x_status st = ec_prepare(c, id, curve, &exists);
    if (st == SE05X_OK) {
        se05x_ec_key k = {.id = id, .curve = curve, .keypart = SE05X_KEY_PAIR, .exists = exists};
        st = se05x_write_ec_key(c, o, &k);
    }
    se05x_conn_unlock(c);
    return st;
}

se05x_status se05x_ec_import(se05x_conn *c, const se05x_obj_opts *o, uint32_t id, uint8_t curve,
                             const uint8_t *priv, size_t priv_len, const uint8_t *pub,
                             size_t pub_len)
{
    if (!priv_len && !pub_len)
        return SE05X_ERR_ARG;
    bool exists = false;
    se05x_conn_lock(c);
    se05x_status st = ec_prepare(c, id, curve, &exists);
    if (st == SE05X_OK) {
        se05x_ec_key k = {.id = id, .curve = curve, .priv = priv, .priv_len = priv_len,
                          .pub = pub, .pub_len = pub_len, .exists = exists};
        k.keypart = priv_len && pub_len ? SE05X_KEY_PAIR
                    : priv_len          ? SE05X_KEY_PRIVATE
                                        : SE05X_KEY_PUBLIC;
        st = se05x_write_ec_key(c, o, &k);
    }
    se05x_conn_unlock(c);
    return st;
}

/* ---- RSA ------------------------------------------------------------- */

#define RSA_P2_CRT 0x00
#define RSA_P2_RAW 0x4F

static bool rsa_bits_ok(uint16_t bits)
{
    return bits == 512 || bits == 1024 || bits == 1152 || bits == 2048 || bits == 3072 ||
           bits == 4096;
}

se05x_status se05x_rsa_generate(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                                uint16_t bits, bool crt)
{
    if (!rsa_bits_ok(bits))
        return SE05X_ERR_ARG;
    uint8_t buf[SE05X_CMD_BUF];
    se05x_tlvw w;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_cmd_req r = {.cmd = CMD_WRITE_RSA_KEY, .has_id = true, .id = id,
                       .ins_or = se05x_cmd_ins_flags(o), .p1_or = SE05X_KEY_PAIR,
                       .p2_set = true, .p2 = crt ? RSA_P2_CRT : RSA_P2_RAW};
    se05x_cmd_put_policy(&w, SE05X_TAG_POLICY, o);
    if (o)
        se05x_tlvw_u16_opt(&w, SE05X_TAG_MAX_ATTEMPTS, o->max_attempts);
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_tlvw_u16(&w, SE05X_TAG_2, bits);
    return run_w(c, &r, &w);
}

/* One component of the import sequence. */
typedef struct {
    uint8_t tag;
    const uint8_t *v;
    size_t len;
    bool pad; /* left-pad odd lengths with 00 (all but E) */
} rsa_part;

static se05x_status rsa_send(se05x_conn *c, const se05x_obj_opts *o, uint32_t id, uint16_t bits,
                             uint8_t keypart, uint8_t p2, bool first, bool exists,
                             const rsa_part *part)
{
    bool v7 = se05x_applet_is_7x(c);
    uint8_t buf[SE05X_CMD_BUF];
    se05x_tlvw w;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_cmd_req r = {.cmd = CMD_WRITE_RSA_KEY, .has_id = true, .id = id, .p2_set = true,
                       .p2 = p2};
    if (first) {
        r.ins_or = se05x_cmd_ins_flags(o);
        if (!exists) {
            r.p1_or = keypart;
            se05x_cmd_put_policy(&w, SE05X_TAG_POLICY, o);
        }
        if (o)
            se05x_tlvw_u16_opt(&w, SE05X_TAG_MAX_ATTEMPTS, o->max_attempts);
        if (exists && v7)
            se05x_cmd_put_policy(&w, SE05X_TAG_POLICY_CHECK, o);
    }
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    if (first && !exists)
        se05x_tlvw_u16(&w, SE05X_TAG_2, bits);
    if (part->pad && (part->len & 1)) {
        uint8_t tmp[SE05X_CMD_BUF];
        if (part->len + 1 > sizeof(tmp)) {
            w.err = SE05X_ERR_BUFFER;
        } else {
            tmp[0] = 0x00;
            memcpy(tmp + 1, part->v, part->len);
            se05x_tlvw_bytes(&w, part->tag, tmp, part->len + 1);
            OPENSSL_cleanse(tmp, part->len + 1);
        }
    } else {
        se05x_tlvw_bytes(&w, part->tag, part->v, part->len);
    }
    if (v7)
        se05x_tlvw_u32(&w, SE05X_TAG_11, o ? o->version : 0);
    se05x_status st = run_w(c, &r, &w);
    OPENSSL_cleanse(buf, sizeof(buf));
    return st;
}

se05x_status se05x_rsa_import(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                              uint16_t bits, uint8_t keypart, const se05x_rsa_comps *k,
                              bool exists)
{
    if (!c || !k || (!exists && !rsa_bits_ok(bits)))
        return SE05X_ERR_ARG;
    rsa_part seq[8];
    size_t n = 0;
    bool crt = k->p_len > 0;
    const rsa_part P = {SE05X_TAG_3, k->p, k->p_len, true}, Q = {SE05X_TAG_4, k->q, k->q_len, true},
                   DP = {SE05X_TAG_5, k->dp, k->dp_len, true},
                   DQ = {SE05X_TAG_6, k->dq, k->dq_len, true},
                   QI = {SE05X_TAG_7, k->qinv, k->qinv_len, true},
                   E = {SE05X_TAG_8, k->e, k->e_len, false}, D = {SE05X_TAG_9, k->d, k->d_len, true},
                   N = {SE05X_TAG_10, k->n, k->n_len, true};
    if (keypart == SE05X_KEY_PUBLIC) {
        seq[n++] = E;
        seq[n++] = N;
        crt = false;
    } else if (keypart == SE05X_KEY_PAIR && crt) {
        seq[n++] = P; seq[n++] = Q; seq[n++] = DP; seq[n++] = DQ; seq[n++] = QI;
        seq[n++] = E;
        seq[n++] = N;
    } else if (keypart == SE05X_KEY_PAIR) {
        seq[n++] = E;
        seq[n++] = D;
        seq[n++] = N;
    } else if (keypart == SE05X_KEY_PRIVATE && crt) {
        seq[n++] = P; seq[n++] = Q; seq[n++] = DP; seq[n++] = DQ; seq[n++] = QI;
    } else if (keypart == SE05X_KEY_PRIVATE) {
        seq[n++] = D;
        seq[n++] = N;
    } else {
        return SE05X_ERR_ARG;
    }
    for (size_t i = 0; i < n; i++)
        if (!seq[i].v || !seq[i].len)
            return SE05X_ERR_ARG;
    uint8_t p2 = crt ? RSA_P2_CRT : RSA_P2_RAW;
    se05x_status st = SE05X_OK;
    se05x_conn_lock(c);
    for (size_t i = 0; i < n && st == SE05X_OK; i++)
        st = rsa_send(c, o, id, bits, keypart, p2, i == 0, exists, &seq[i]);
    se05x_conn_unlock(c);
    return st;
}
