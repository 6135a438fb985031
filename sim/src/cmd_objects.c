/* Secure-object commands of the simulator, part 1: the command table
 * sesim_cmds_objects (write, read, management and curve commands, one row
 * per command), helpers shared by the object modules, the 7.x type report,
 * the attribute encoding, and the Write* handlers (spec §2.2): WriteECKey,
 * WriteRSAKey (multi-APDU), WriteSymmKey (AES/DES/HMAC, optional KEK),
 * WriteBinary, WriteUserID, WriteCounter, WritePCR. Choices are documented
 * in docs/simulator.md ("Simulator core"). */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <string.h>

#include "cmd_objects.h"

/* ---- shared helpers ------------------------------------------------------ */

uint16_t objc_get_id(const sesim_req *r, uint8_t t, uint32_t *id)
{
    return se05x_tlv_get_u32(tag(r, t), id) == SE05X_OK ? SW_OK : SE05X_SW_WRONG_DATA;
}

uint16_t objc_opt_u16(const sesim_req *r, uint8_t t, uint16_t *v)
{
    *v = 0;
    if (!has(r, t))
        return SW_OK;
    return se05x_tlv_get_u16(tag(r, t), v) == SE05X_OK ? SW_OK : SE05X_SW_WRONG_DATA;
}

bool objc_visible(const sesim_obj *o) { return !sesim_id_internal(o->id) && o->type != SESIM_T_CURVE; }

uint16_t objc_load(const sesim_req *r, uint32_t id, sesim_obj *o)
{
    if (sesim_id_internal(id) || sesim_store_load(r->sim, id, o) != SE05X_OK)
        return SE05X_SW_CONDITIONS;
    if (!objc_visible(o)) {
        sesim_obj_free(o);
        return SE05X_SW_CONDITIONS;
    }
    return SW_OK;
}

uint16_t objc_save(const sesim_req *r, const sesim_obj *o)
{
    se05x_status rc = sesim_store_save(r->sim, o);
    if (rc == SE05X_OK)
        return SW_OK;
    return rc == SE05X_ERR_BUFFER ? SE05X_SW_NO_MEMORY : SE05X_SW_NO_DIAGNOSIS;
}

uint8_t sesim_type_report(const sesim *s, const sesim_obj *o)
{
    if (!is_ec(o->type) || s->opts.applet_major == 3)
        return o->type;
    unsigned idx;
    if (o->curve >= 0x01 && o->curve <= 0x11)
        idx = o->curve - 1u;
    else if (o->curve >= 0x40 && o->curve <= 0x43)
        idx = 17u + (o->curve - 0x40u);
    else
        return o->type;
    return (uint8_t)(0x21u + 4u * idx + (o->type - SESIM_T_EC_PAIR));
}

size_t sesim_obj_attributes(const sesim *s, const sesim_obj *o, uint8_t *out, size_t cap)
{
    bool v7 = s->opts.applet_major != 3;
    size_t n = 14 + o->policy_len + 1 + (v7 ? 4 : 1);
    if (cap < n)
        return 0;
    se05x_put_u32(out, o->id);
    out[4] = sesim_type_report(s, o);
    out[5] = o->auth ? 0x02 : 0x01;
    se05x_put_u16(out + 6, o->auth ? o->failed_attempts : 0); /* or GMAC tag length */
    se05x_put_u32(out + 8, 0);                               /* owner auth object */
    se05x_put_u16(out + 12, o->auth ? o->max_attempts : 0);   /* or RFU */
    memmove(out + 14, o->policy, o->policy_len);
    size_t p = 14 + o->policy_len;
    out[p++] = o->origin;
    if (v7) {
        se05x_put_u32(out + p, o->version);
        p += 4;
    } else {
        out[p++] = (uint8_t)o->version;
    }
    return p;
}

/* ---- write context -------------------------------------------------------- */

typedef struct {
    uint32_t id;
    bool exists;
    sesim_obj o;
} wctx;

static bool policy_equal(const sesim_obj *o, const se05x_tlv_item *it)
{
    return it->len == o->policy_len && (it->len == 0 || memcmp(it->val, o->policy, it->len) == 0);
}

static uint16_t parse_max_attempts(const sesim_req *r, uint16_t *v)
{
    const se05x_tlv_item *t = tag(r, SE05X_TAG_MAX_ATTEMPTS);
    *v = 0;
    if (!t->present)
        return SW_OK;
    if (t->len == 1)
        *v = t->val[0];
    else if (t->len == 2)
        *v = se05x_get_u16(t->val);
    else
        return SE05X_SW_WRONG_DATA;
    return SW_OK;
}

/* Common first step of every Write*: id, existing object, policy, version.
 * On SW_OK the caller owns w->o (free with sesim_obj_free). */
static uint16_t write_begin(sesim_req *r, wctx *w)
{
    const se05x_apdu *a = r->apdu;
    uint16_t sw = objc_get_id(r, SE05X_TAG_1, &w->id);
    if (sw != SW_OK)
        return sw;
    if (w->id == UID_OBJ_ID || sesim_id_internal(w->id))
        return SE05X_SW_CONDITIONS;
    const se05x_tlv_item *pol = tag(r, SE05X_TAG_POLICY), *chk = tag(r, SE05X_TAG_POLICY_CHECK);
    uint16_t max_att;
    if ((sw = parse_max_attempts(r, &max_att)) != SW_OK)
        return sw;
    if (has(r, SE05X_TAG_11) && tag(r, SE05X_TAG_11)->len != 4)
        return SE05X_SW_WRONG_DATA;
    w->exists = sesim_store_load(r->sim, w->id, &w->o) == SE05X_OK;
    if (w->exists) {
        if (!objc_visible(&w->o)) {
            sesim_obj_free(&w->o);
            return SE05X_SW_CONDITIONS;
        }
        /* the policy is fixed at creation; a repeated one must be identical */
        if ((pol->present && !policy_equal(&w->o, pol)) ||
            (chk->present && !policy_equal(&w->o, chk))) {
            sesim_obj_free(&w->o);
            return SE05X_SW_CONDITIONS;
        }
    } else {
        if (chk->present)
            return SE05X_SW_CONDITIONS;
        if (max_att && !(a->ins & 0x40))
            return SE05X_SW_WRONG_DATA;
        if (pol->present && (sw = sesim_policy_validate(pol->val, pol->len)) != SW_OK)
            return sw;
        sesim_obj_init(&w->o);
        w->o.id = w->id;
        w->o.transient = (a->ins & 0x80) != 0;
        w->o.auth = (a->ins & 0x40) != 0;
        w->o.max_attempts = max_att;
        w->o.origin = SESIM_ORIGIN_EXTERNAL;
        if (pol->present) {
            memcpy(w->o.policy, pol->val, pol->len);
            w->o.policy_len = (uint16_t)pol->len;
        }
    }
    if (has(r, SE05X_TAG_11))
        w->o.version = se05x_get_u32(tag(r, SE05X_TAG_11)->val);
    return SW_OK;
}

static uint16_t write_end(sesim_req *r, wctx *w, uint16_t sw)
{
    if (sw == SW_OK)
        sw = objc_save(r, &w->o);
    sesim_obj_free(&w->o);
    return sw;
}

static void clear_key_comps(sesim_obj *o)
{
    for (int i = 0; i < SESIM_C_COUNT; i++)
        sesim_obj_set_comp(o, i, NULL, 0);
}

/* ---- WriteECKey ------------------------------------------------------------ */

static bool weierstrass(uint8_t curve) { return curve >= 0x01 && curve <= 0x11; }

static EVP_PKEY *ec_generate(uint8_t curve)
{
    switch (curve) {
    case 0x40: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    case 0x41: return EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    case 0x43: return EVP_PKEY_Q_keygen(NULL, NULL, "X448");
    default: break;
    }
    const char *name = se05x_curve_ossl_name(curve);
    return name ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", name) : NULL;
}

static uint16_t ec_gen_into(sesim_obj *o)
{
    EVP_PKEY *pk = ec_generate(o->curve);
    if (!pk)
        return SE05X_SW_WRONG_DATA;
    uint8_t curve = o->curve;
    clear_key_comps(o);
    se05x_status rc = sesim_obj_from_pkey(o, pk);
    EVP_PKEY_free(pk);
    o->curve = curve;
    o->origin = SESIM_ORIGIN_INTERNAL;
    return rc == SE05X_OK ? SW_OK : SE05X_SW_WRONG_DATA;
}

static uint16_t ec_import_into(sesim_obj *o, const se05x_tlv_item *priv, const se05x_tlv_item *pub)
{
    size_t f = se05x_curve_field_len(o->curve);
    if (!f)
        return SE05X_SW_WRONG_DATA;
    size_t publen = weierstrass(o->curve) ? 2 * f + 1 : f;
    if ((priv->present && priv->len != f) || (pub->present && pub->len != publen) ||
        (pub->present && weierstrass(o->curve) && pub->val[0] != 0x04))
        return SE05X_SW_WRONG_DATA;
    clear_key_comps(o);
    if ((priv->present && sesim_obj_set_comp(o, SESIM_C_PRIV, priv->val, priv->len) != SE05X_OK) ||
        (pub->present && sesim_obj_set_comp(o, SESIM_C_PUB, pub->val, pub->len) != SE05X_OK))
        return SE05X_SW_NO_DIAGNOSIS;
    EVP_PKEY *pk = sesim_obj_to_pkey(o);
    if (!pk)
        return SE05X_SW_WRONG_DATA;
    uint16_t sw = SW_OK;
    if (priv->present && pub->present) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
        int ok = c ? EVP_PKEY_pairwise_check(c) : 0;
        if (ok != 1 && ok != -2)
            sw = SE05X_SW_WRONG_DATA;
        EVP_PKEY_CTX_free(c);
    }
    EVP_PKEY_free(pk);
    o->origin = SESIM_ORIGIN_EXTERNAL;
    return sw;
}

static uint16_t ec_existing(sesim_req *r, sesim_obj *o)
{
    const se05x_tlv_item *priv = tag(r, SE05X_TAG_3), *pub = tag(r, SE05X_TAG_4);
    if (!is_ec(o->type))
        return SE05X_SW_CONDITIONS;
    if (has(r, SE05X_TAG_2)) {
        uint8_t c;
        if (se05x_tlv_get_u8(tag(r, SE05X_TAG_2), &c) != SE05X_OK)
            return SE05X_SW_WRONG_DATA;
        if (c != o->curve)
            return SE05X_SW_CONDITIONS;
    }
    uint16_t sw;
    if (!priv->present && !pub->present) {
        if (o->type != SESIM_T_EC_PAIR)
            return SE05X_SW_CONDITIONS;
        if ((sw = sesim_policy_check(r, o, SESIM_AR_GEN)) != SW_OK)
            return sw;
        return ec_gen_into(o);
    }
    bool want_priv = o->type != SESIM_T_EC_PUB, want_pub = o->type != SESIM_T_EC_PRIV;
    if (priv->present != want_priv || pub->present != want_pub)
        return SE05X_SW_CONDITIONS;
    if ((sw = sesim_policy_check(r, o, SESIM_AR_WRITE)) != SW_OK)
        return sw;
    return ec_import_into(o, priv, pub);
}

static uint16_t ec_create(sesim_req *r, sesim_obj *o)
{
    const se05x_tlv_item *priv = tag(r, SE05X_TAG_3), *pub = tag(r, SE05X_TAG_4);
    uint8_t curve;
    if (se05x_tlv_get_u8(tag(r, SE05X_TAG_2), &curve) != SE05X_OK)
        return SE05X_SW_WRONG_DATA;
    if (!se05x_curve_field_len(curve))
        return SE05X_SW_WRONG_DATA;
    if (!sesim_curve_is_set(r->sim, curve))
        return SE05X_SW_CONDITIONS;
    o->curve = curve;
    switch (r->apdu->p1 & 0x60) {
    case 0x60:
        o->type = SESIM_T_EC_PAIR;
        if (!priv->present && !pub->present)
            return ec_gen_into(o);
        if (!priv->present || !pub->present)
            return SE05X_SW_WRONG_DATA;
        break;
    case 0x40:
        o->type = SESIM_T_EC_PRIV;
        if (!priv->present || pub->present)
            return SE05X_SW_WRONG_DATA;
        break;
    case 0x20:
        o->type = SESIM_T_EC_PUB;
        if (priv->present || !pub->present)
            return SE05X_SW_WRONG_DATA;
        break;
    default:
        return SE05X_SW_WRONG_DATA;
    }
    return ec_import_into(o, priv, pub);
}

static uint16_t h_write_ec(sesim_req *r)
{
    wctx w;
    uint16_t sw = write_begin(r, &w);
    if (sw != SW_OK)
        return sw;
    sw = w.exists ? ec_existing(r, &w.o) : ec_create(r, &w.o);
    return write_end(r, &w, sw);
}

/* ---- WriteRSAKey ------------------------------------------------------------- */

/* Component per tag TAG_3..TAG_10. */
static const int rsa_comp_of_tag[8] = {SESIM_C_P, SESIM_C_Q, SESIM_C_DP, SESIM_C_DQ,
                                       SESIM_C_INVQ, SESIM_C_E, SESIM_C_D, SESIM_C_N};
#define RC(c) (1u << (c))
#define RSA_CRT (RC(SESIM_C_P) | RC(SESIM_C_Q) | RC(SESIM_C_DP) | RC(SESIM_C_DQ) | RC(SESIM_C_INVQ))

static unsigned rsa_needed(uint8_t type)
{
    switch (type) {
    case SESIM_T_RSA_PUB: return RC(SESIM_C_E) | RC(SESIM_C_N);
    case SESIM_T_RSA_PAIR: return RC(SESIM_C_E) | RC(SESIM_C_D) | RC(SESIM_C_N);
    case SESIM_T_RSA_PAIR_CRT: return RSA_CRT | RC(SESIM_C_E) | RC(SESIM_C_N);
    case SESIM_T_RSA_PRIV: return RC(SESIM_C_D) | RC(SESIM_C_N);
    case SESIM_T_RSA_PRIV_CRT: return RSA_CRT;
    default: return 0;
    }
}

static bool rsa_complete(const sesim_obj *o)
{
    unsigned need = rsa_needed(o->type);
    for (int c = 0; c < SESIM_C_COUNT; c++)
        if ((need & RC(c)) && !o->comp[c].len)
            return false;
    return need != 0;
}

static bool rsa_size_ok(uint16_t bits)
{
    return bits == 512 || bits == 1024 || bits == 1152 || bits == 2048 || bits == 3072 ||
           bits == 4096;
}

static uint16_t rsa_generate(sesim_obj *o)
{
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_CTX_set_rsa_keygen_bits(c, o->size) != 1 ||
        EVP_PKEY_generate(c, &pk) != 1) {
        EVP_PKEY_CTX_free(c);
        return SE05X_SW_NO_DIAGNOSIS;
    }
    EVP_PKEY_CTX_free(c);
    clear_key_comps(o);
    se05x_status rc = sesim_obj_from_pkey(o, pk);
    EVP_PKEY_free(pk);
    if (rc != SE05X_OK)
        return SE05X_SW_NO_DIAGNOSIS;
    if (o->type == SESIM_T_RSA_PAIR) /* raw format: no CRT parts */
        for (int i = 0; i < SESIM_C_COUNT; i++)
            if (RSA_CRT & RC(i))
                sesim_obj_set_comp(o, i, NULL, 0);
    o->origin = SESIM_ORIGIN_INTERNAL;
    return SW_OK;
}

static uint8_t rsa_type_for(uint8_t keypart, bool crt)
{
    switch (keypart) {
    case 0x60: return crt ? SESIM_T_RSA_PAIR_CRT : SESIM_T_RSA_PAIR;
    case 0x40: return crt ? SESIM_T_RSA_PRIV_CRT : SESIM_T_RSA_PRIV;
    case 0x20: return SESIM_T_RSA_PUB;
    default: return 0;
    }
}

/* Store the component TLVs present in this APDU. */
static uint16_t rsa_put_comps(sesim_req *r, sesim_obj *o, unsigned present)
{
    unsigned need = rsa_needed(o->type);
    size_t maxlen = o->size / 8u;
    for (int t = 0; t < 8; t++) {
        const se05x_tlv_item *it = tag(r, (uint8_t)(SE05X_TAG_3 + t));
        int c = rsa_comp_of_tag[t];
        if (!(present & RC(c)))
            continue;
        if (!(need & RC(c)))
            return SE05X_SW_WRONG_DATA;
        const uint8_t *v = it->val;
        size_t l = it->len;
        while (l && *v == 0) { /* MW left-pads odd lengths with 00 */
            v++;
            l--;
        }
        if (!l || l > maxlen || (c == SESIM_C_N && l != maxlen))
            return SE05X_SW_WRONG_DATA;
        if (sesim_obj_set_comp(o, c, v, l) != SE05X_OK)
            return SE05X_SW_NO_DIAGNOSIS;
    }
    if (rsa_complete(o) && o->type != SESIM_T_RSA_PRIV_CRT) {
        EVP_PKEY *pk = sesim_obj_to_pkey(o);
        if (!pk)
            return SE05X_SW_WRONG_DATA;
        EVP_PKEY_free(pk);
    }
    return SW_OK;
}

static uint16_t h_write_rsa(sesim_req *r)
{
    wctx w;
    bool crt = r->apdu->p2 == 0x00;
    uint16_t sw = write_begin(r, &w), bits;
    if (sw != SW_OK)
        return sw;
    unsigned present = 0;
    for (int t = 0; t < 8; t++)
        if (has(r, (uint8_t)(SE05X_TAG_3 + t)))
            present |= RC(rsa_comp_of_tag[t]);
    if ((sw = objc_opt_u16(r, SE05X_TAG_2, &bits)) != SW_OK)
        return write_end(r, &w, sw);
    sesim_obj *o = &w.o;
    if (w.exists) {
        if (!is_rsa(o->type) || (bits && bits != o->size))
            return write_end(r, &w, SE05X_SW_CONDITIONS);
        bool obj_crt = o->type == SESIM_T_RSA_PAIR_CRT || o->type == SESIM_T_RSA_PRIV_CRT;
        if (o->type != SESIM_T_RSA_PUB && obj_crt != crt)
            return write_end(r, &w, SE05X_SW_CONDITIONS);
        if (!present) {
            if (o->type != SESIM_T_RSA_PAIR && o->type != SESIM_T_RSA_PAIR_CRT)
                return write_end(r, &w, SE05X_SW_CONDITIONS);
            sw = sesim_policy_check(r, o, SESIM_AR_GEN);
            return write_end(r, &w, sw == SW_OK ? rsa_generate(o) : sw);
        }
        if (rsa_complete(o)) { /* a new import replaces the whole key */
            if ((sw = sesim_policy_check(r, o, SESIM_AR_WRITE)) != SW_OK)
                return write_end(r, &w, sw);
            clear_key_comps(o);
            o->origin = SESIM_ORIGIN_EXTERNAL;
        }
        return write_end(r, &w, rsa_put_comps(r, o, present));
    }
    o->type = rsa_type_for(r->apdu->p1 & 0x60, crt);
    if (!o->type || !rsa_size_ok(bits))
        return write_end(r, &w, SE05X_SW_WRONG_DATA);
    o->size = bits;
    if (!present) {
        if (o->type != SESIM_T_RSA_PAIR && o->type != SESIM_T_RSA_PAIR_CRT)
            return write_end(r, &w, SE05X_SW_WRONG_DATA);
        return write_end(r, &w, rsa_generate(o));
    }
    return write_end(r, &w, rsa_put_comps(r, o, present));
}

/* ---- WriteSymmKey ------------------------------------------------------------ */

static bool symm_len_ok(uint8_t type, size_t l)
{
    switch (type) {
    case SESIM_T_AES: return l == 16 || l == 24 || l == 32;
    case SESIM_T_DES: return l == 8 || l == 16 || l == 24;
    case SESIM_T_HMAC: return l >= 1 && l <= 256;
    default: return false;
    }
}

/* RFC 3394 unwrap of it with the AES key object kek_id. */
static uint16_t kek_unwrap(sesim_req *r, uint32_t kek_id, const se05x_tlv_item *it, uint8_t *out,
                           size_t *outlen)
{
    sesim_obj kek;
    uint16_t sw = objc_load(r, kek_id, &kek);
    if (sw != SW_OK)
        return sw;
    static const char *names[] = {"AES-128-WRAP", "AES-192-WRAP", "AES-256-WRAP"};
    size_t kl = kek.comp[SESIM_C_VALUE].len;
    if (kek.type != SESIM_T_AES || !symm_len_ok(SESIM_T_AES, kl)) {
        sesim_obj_free(&kek);
        return SE05X_SW_CONDITIONS;
    }
    if ((sw = sesim_policy_check(r, &kek, SESIM_AR_WRAP)) != SW_OK) {
        sesim_obj_free(&kek);
        return sw;
    }
    sw = SE05X_SW_WRONG_DATA;
    EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, names[(kl - 16) / 8], NULL);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    if (ci && c && it->len >= 16 && it->len <= 264 && it->len % 8 == 0 &&
        EVP_DecryptInit_ex2(c, ci, kek.comp[SESIM_C_VALUE].v, NULL, NULL) == 1 &&
        EVP_DecryptUpdate(c, out, &l1, it->val, (int)it->len) == 1 &&
        EVP_DecryptFinal_ex(c, out + l1, &l2) == 1) {
        *outlen = (size_t)(l1 + l2);
        sw = SW_OK;
    }
    EVP_CIPHER_CTX_free(c);
    EVP_CIPHER_free(ci);
    sesim_obj_free(&kek);
    return sw;
}

static uint16_t h_write_symm(sesim_req *r)
{
    static const uint8_t types[] = {0, 0, 0, SESIM_T_AES, SESIM_T_DES, SESIM_T_HMAC};
    uint8_t type = types[r->apdu->p1 & 0x07];
    wctx w;
    uint8_t key[272];
    size_t klen = 0;
    uint16_t sw = write_begin(r, &w);
    if (sw != SW_OK)
        return sw;
    const se05x_tlv_item *val = tag(r, SE05X_TAG_3);
    if (!val->present) {
        sw = SE05X_SW_WRONG_DATA;
    } else if (has(r, SE05X_TAG_2)) {
        uint32_t kek_id;
        sw = objc_get_id(r, SE05X_TAG_2, &kek_id);
        if (sw == SW_OK)
            sw = kek_unwrap(r, kek_id, val, key, &klen);
    } else if (val->len <= sizeof(key)) {
        memcpy(key, val->val, val->len);
        klen = val->len;
    } else {
        sw = SE05X_SW_WRONG_DATA;
    }
    if (sw == SW_OK && has(r, SE05X_TAG_4) && tag(r, SE05X_TAG_4)->len != 1)
        sw = SE05X_SW_WRONG_DATA;
    if (sw == SW_OK && !symm_len_ok(type, klen))
        sw = SE05X_SW_WRONG_DATA;
    if (sw == SW_OK && w.exists) {
        if (w.o.type != type)
            sw = SE05X_SW_CONDITIONS;
        else
            sw = sesim_policy_check(r, &w.o, SESIM_AR_WRITE);
        w.o.failed_attempts = 0;
    } else if (sw == SW_OK) {
        if (w.o.auth && type != SESIM_T_AES)
            sw = SE05X_SW_WRONG_DATA;
        w.o.type = type;
    }
    if (sw == SW_OK) {
        w.o.size = (uint16_t)klen;
        w.o.origin = SESIM_ORIGIN_EXTERNAL;
        if (sesim_obj_set_comp(&w.o, SESIM_C_VALUE, key, klen) != SE05X_OK)
            sw = SE05X_SW_NO_DIAGNOSIS;
    }
    OPENSSL_cleanse(key, sizeof(key));
    return write_end(r, &w, sw);
}

/* ---- WriteBinary ------------------------------------------------------------- */

static uint16_t h_write_binary(sesim_req *r)
{
    wctx w;
    uint16_t off, total, sw = write_begin(r, &w);
    if (sw != SW_OK)
        return sw;
    if ((sw = objc_opt_u16(r, SE05X_TAG_2, &off)) != SW_OK ||
        (sw = objc_opt_u16(r, SE05X_TAG_3, &total)) != SW_OK)
        return write_end(r, &w, sw);
    const se05x_tlv_item *data = tag(r, SE05X_TAG_4);
    sesim_obj *o = &w.o;
    if (w.exists) {
        if (o->type != SESIM_T_BINARY || (has(r, SE05X_TAG_3) && total != o->size))
            return write_end(r, &w, SE05X_SW_CONDITIONS);
        if ((sw = sesim_policy_check(r, o, SESIM_AR_WRITE)) != SW_OK)
            return write_end(r, &w, sw);
    } else {
        if (total == 0 || total > 0x7FFF)
            return write_end(r, &w, SE05X_SW_WRONG_DATA);
        o->type = SESIM_T_BINARY;
        o->size = total;
        uint8_t *zero = calloc(1, total);
        if (!zero || sesim_obj_set_comp(o, SESIM_C_VALUE, zero, total) != SE05X_OK) {
            free(zero);
            return write_end(r, &w, SE05X_SW_NO_MEMORY);
        }
        free(zero);
    }
    if (data->present) {
        if ((size_t)off + data->len > o->size)
            return write_end(r, &w, SE05X_SW_WRONG_DATA);
        memcpy(o->comp[SESIM_C_VALUE].v + off, data->val, data->len);
    } else if (has(r, SE05X_TAG_2)) {
        return write_end(r, &w, SE05X_SW_WRONG_DATA);
    }
    return write_end(r, &w, SW_OK);
}

/* ---- WriteUserID ------------------------------------------------------------- */

static uint16_t h_write_userid(sesim_req *r)
{
    wctx w;
    uint16_t sw = write_begin(r, &w);
    if (sw != SW_OK)
        return sw;
    const se05x_tlv_item *v = tag(r, SE05X_TAG_2);
    if (!v->present || v->len < 4 || v->len > 16)
        return write_end(r, &w, SE05X_SW_WRONG_DATA);
    if (w.exists) {
        if (w.o.type != SESIM_T_USERID)
            return write_end(r, &w, SE05X_SW_CONDITIONS);
        if ((sw = sesim_policy_check(r, &w.o, SESIM_AR_WRITE)) != SW_OK)
            return write_end(r, &w, sw);
        w.o.failed_attempts = 0;
    }
    w.o.type = SESIM_T_USERID;
    w.o.auth = true; /* a UserID is always an authentication object */
    w.o.size = (uint16_t)v->len;
    if (sesim_obj_set_comp(&w.o, SESIM_C_VALUE, v->val, v->len) != SE05X_OK)
        sw = SE05X_SW_NO_DIAGNOSIS;
    return write_end(r, &w, sw);
}

/* ---- WriteCounter ------------------------------------------------------------ */

static void counter_inc(uint8_t *v, size_t n)
{
    size_t i;
    for (i = 0; i < n && v[i] == 0xFF; i++)
        ;
    if (i == n) /* saturated at the maximum */
        return;
    for (size_t k = n; k-- > 0;) {
        if (++v[k] != 0)
            break;
    }
}

static uint16_t h_write_counter(sesim_req *r)
{
    wctx w;
    uint16_t size, sw = write_begin(r, &w);
    if (sw != SW_OK)
        return sw;
    if ((sw = objc_opt_u16(r, SE05X_TAG_2, &size)) != SW_OK)
        return write_end(r, &w, sw);
    const se05x_tlv_item *val = tag(r, SE05X_TAG_3);
    sesim_obj *o = &w.o;
    if (!w.exists) {
        if (size < 1 || size > 8 || (val->present && val->len != size))
            return write_end(r, &w, SE05X_SW_WRONG_DATA);
        uint8_t zero[8] = {0};
        o->type = SESIM_T_COUNTER;
        o->size = size;
        const uint8_t *init = val->present ? val->val : zero;
        return write_end(r, &w, sesim_obj_set_comp(o, SESIM_C_VALUE, init, size) == SE05X_OK
                                    ? SW_OK : SE05X_SW_NO_DIAGNOSIS);
    }
    if (o->type != SESIM_T_COUNTER || (size && size != o->size))
        return write_end(r, &w, SE05X_SW_CONDITIONS);
    if ((sw = sesim_policy_check(r, o, SESIM_AR_WRITE)) != SW_OK)
        return write_end(r, &w, sw);
    uint8_t *cur = o->comp[SESIM_C_VALUE].v;
    if (val->present) {
        if (val->len != o->size || memcmp(val->val, cur, o->size) < 0)
            return write_end(r, &w, SE05X_SW_WRONG_DATA); /* never decreases */
        memcpy(cur, val->val, o->size);
    } else {
        counter_inc(cur, o->size);
    }
    return write_end(r, &w, SW_OK);
}

/* ---- WritePCR ------------------------------------------------------------------ */

static uint16_t h_write_pcr(sesim_req *r)
{
    wctx w;
    uint16_t sw = write_begin(r, &w);
    if (sw != SW_OK)
        return sw;
    const se05x_tlv_item *init = tag(r, SE05X_TAG_2), *ext = tag(r, SE05X_TAG_3);
    sesim_obj *o = &w.o;
    uint8_t v[32] = {0};
    if (!w.exists) {
        if (!init->present || init->len != 32)
            return write_end(r, &w, SE05X_SW_WRONG_DATA);
        o->type = SESIM_T_PCR;
        o->size = 32;
        memcpy(v, init->val, 32);
    } else {
        if (o->type != SESIM_T_PCR || init->present)
            return write_end(r, &w, SE05X_SW_CONDITIONS);
        if ((sw = sesim_policy_check(r, o, SESIM_AR_WRITE)) != SW_OK)
            return write_end(r, &w, sw);
        if (ext->present)
            memcpy(v, o->comp[SESIM_C_VALUE].v, 32);
        /* neither TAG_2 nor TAG_3: reset to zero */
    }
    if (ext->present) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned int l = 0;
        if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(c, v, 32) != 1 ||
            EVP_DigestUpdate(c, ext->val, ext->len) != 1 || EVP_DigestFinal_ex(c, v, &l) != 1)
            sw = SE05X_SW_NO_DIAGNOSIS;
        EVP_MD_CTX_free(c);
    }
    if (sw == SW_OK && sesim_obj_set_comp(o, SESIM_C_VALUE, v, 32) != SE05X_OK)
        sw = SE05X_SW_NO_DIAGNOSIS;
    return write_end(r, &w, sw);
}

/* ---- table ----------------------------------------------------------------------- */

#define T_POL SE05X_TAG_POLICY, SE05X_TAG_MAX_ATTEMPTS
static const uint8_t tags_ec[] = {T_POL, SE05X_TAG_POLICY_CHECK, 0x41, 0x42, 0x43, 0x44, 0x4B, 0};
static const uint8_t tags_rsa[] = {T_POL, SE05X_TAG_POLICY_CHECK, 0x41, 0x42, 0x43, 0x44, 0x45,
                                   0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0};
static const uint8_t tags_symm[] = {T_POL, SE05X_TAG_POLICY_CHECK, 0x41, 0x42, 0x43, 0x44, 0x4B, 0};
static const uint8_t tags_bin[] = {SE05X_TAG_POLICY, SE05X_TAG_POLICY_CHECK, 0x41, 0x42, 0x43,
                                   0x44, 0x4B, 0};
static const uint8_t tags_uid[] = {T_POL, SE05X_TAG_POLICY_CHECK, 0x41, 0x42, 0x4B, 0};
static const uint8_t tags_ctr[] = {SE05X_TAG_POLICY, SE05X_TAG_POLICY_CHECK, 0x41, 0x42, 0x43,
                                   0x4B, 0};
static const uint8_t tags_pcr[] = {SE05X_TAG_POLICY, SE05X_TAG_POLICY_CHECK, 0x41, 0x42, 0x43, 0};
static const uint8_t tags_id[] = {0x41, 0};
static const uint8_t tags_read[] = {0x41, 0x42, 0x43, 0x44, 0};
static const uint8_t tags_idlist[] = {0x41, 0x42, 0};
static const uint8_t tags_none[] = {0};
static const uint8_t tags_curve_param[] = {0x41, 0x42, 0x43, 0};

const sesim_cmd sesim_cmds_objects[] = {
    /* writes: INS 01 with the transient (80) and auth-object (40) flags */
    {0x01, 0x3F, 0x01, 0x1F, 0x00, tags_ec, h_write_ec, "WriteECKey"},
    {0x01, 0x3F, 0x02, 0x1F, 0x00, tags_rsa, h_write_rsa, "WriteRSAKey CRT"},
    {0x01, 0x3F, 0x02, 0x1F, 0x4F, tags_rsa, h_write_rsa, "WriteRSAKey raw"},
    {0x01, 0x3F, 0x03, 0x1F, 0x00, tags_symm, h_write_symm, "WriteSymmKey AES"},
    {0x01, 0x3F, 0x04, 0x1F, 0x00, tags_symm, h_write_symm, "WriteSymmKey DES"},
    {0x01, 0x3F, 0x05, 0x1F, 0x00, tags_symm, h_write_symm, "WriteSymmKey HMAC"},
    {0x01, 0x7F, 0x06, 0xFF, 0x00, tags_bin, h_write_binary, "WriteBinary"},
    {0x01, 0x3F, 0x07, 0xFF, 0x00, tags_uid, h_write_userid, "WriteUserID"},
    {0x01, 0x7F, 0x08, 0xFF, 0x00, tags_ctr, h_write_counter, "WriteCounter"},
    {0x01, 0x7F, 0x09, 0xFF, 0x00, tags_pcr, h_write_pcr, "WritePCR"},
    {0x01, 0xFF, 0x0B, 0xFF, 0x04, tags_id, objc_curve_create, "CreateECCurve"},
    {0x01, 0xFF, 0x0B, 0xFF, 0x40, tags_curve_param, objc_curve_param, "SetECCurveParam"},
    /* reads */
    {0x02, 0xFF, 0x00, 0xFF, 0x00, tags_read, objc_read, "ReadObject"},
    {0x02, 0xFF, 0x00, 0xFF, 0x07, tags_id, objc_read_size, "ReadSize"},
    {0x02, 0xBF, 0x00, 0xFF, 0x26, tags_id, objc_read_type, "ReadType"},
    {0x02, 0xFF, 0x00, 0xFF, 0x25, tags_idlist, objc_read_idlist, "ReadIDList"},
    {0x02, 0xFF, 0x00, 0xFF, 0x3B, tags_id, objc_read_attributes, "ReadObjectAttributes"},
    {0x02, 0xFF, 0x00, 0xFF, 0x5B, tags_none, objc_read_state, "ReadState"},
    {0x02, 0xFF, 0x0B, 0xFF, 0x36, tags_id, objc_curve_get_id, "GetECCurveId"},
    {0x02, 0xFF, 0x0B, 0xFF, 0x25, tags_none, objc_curve_list, "ReadECCurveList"},
    /* management */
    {0x04, 0xFF, 0x00, 0xFF, 0x27, tags_id, objc_exists, "CheckObjectExists"},
    {0x04, 0xFF, 0x00, 0xFF, 0x28, tags_id, objc_delete, "DeleteSecureObject"},
    {0x04, 0xFF, 0x00, 0xFF, 0x2A, tags_none, objc_delete_all, "DeleteAll"},
    {0x04, 0xFF, 0x00, 0xFF, 0x20, tags_none, objc_version, "GetVersion"},
    {0x04, 0xFF, 0x00, 0xFF, 0x21, tags_none, objc_ext_version, "GetExtVersion"},
    {0x04, 0xFF, 0x00, 0xFF, 0x22, tags_id, objc_free_memory, "GetFreeMemory"},
    {0x04, 0xFF, 0x00, 0xFF, 0x49, tags_id, objc_random, "GetRandom"},
    {0x04, 0xFF, 0x0B, 0xFF, 0x28, tags_id, objc_curve_delete, "DeleteECCurve"},
    {0, 0, 0, 0, 0, NULL, NULL, NULL},
};
