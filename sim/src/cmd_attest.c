/* Attested reads of the simulator (spec §2.3.1): ReadObject with
 * attestation (80 22 00 00) and ReadObjectAttributes with attestation
 * (80 22 00 3B). The response carries the object data (when readable), the
 * chip UID (object 0x7FFF0206), the object attributes (§2.3 layout, from
 * sesim_obj_attributes), its size, a 12-byte timestamp and a signature by
 * the attestation key named in TAG_5 (EC, ALLOW_ATTESTATION), with the algorithm of TAG_6:
 *  - 7.x: every TLV in the 0x82 long length form; signature over
 *    H(80 22 P1 P2 00 Lc_hi Lc_lo payload) || the TLVs 0x41..0x4F as sent;
 *  - 3.x: TAG_1 data, TAG_2 attributes, TAG_3 timestamp, TAG_4 freshness,
 *    TAG_5 UID, TAG_6 signature over the concatenated values of TAG_1..5.
 * Exports the table sesim_cmds_attest, walked by the dispatcher. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <time.h>

#include "sim_internal.h"

#define UID_OBJECT_ID 0x7FFF0206u
#define UID_LEN 18
#define FRESHNESS_LEN 16
#define TIMESTAMP_LEN 12

/* Object size as ReadSize reports it (bytes). */
static uint16_t object_size(const sesim_obj *o)
{
    switch (o->type) {
    case SESIM_T_EC_PAIR: case SESIM_T_EC_PRIV: case SESIM_T_EC_PUB:
        return (uint16_t)se05x_curve_field_len(o->curve);
    case SESIM_T_RSA_PAIR: case SESIM_T_RSA_PAIR_CRT: case SESIM_T_RSA_PRIV:
    case SESIM_T_RSA_PRIV_CRT: case SESIM_T_RSA_PUB:
        if (o->comp[SESIM_C_N].len)
            return (uint16_t)o->comp[SESIM_C_N].len;
        return (uint16_t)((o->size + 7) / 8);
    default:
        return (uint16_t)(o->comp[SESIM_C_VALUE].v ? o->comp[SESIM_C_VALUE].len : o->size);
    }
}

/* The bytes a plain ReadObject would return, or *readable = false. */
static uint16_t object_data(const sesim_req *r, const sesim_obj *o, const uint8_t **data,
                            size_t *len, bool *readable)
{
    const se05x_tlv_item *off = &r->tlv->t[SE05X_TAG_2], *ln = &r->tlv->t[SE05X_TAG_3];
    const se05x_tlv_item *rc = &r->tlv->t[SE05X_TAG_4];
    const sesim_comp *c = NULL;
    uint16_t offset = 0, length = 0;
    uint8_t comp = 0;
    *readable = false;
    if ((off->present && se05x_tlv_get_u16(off, &offset) != SE05X_OK) ||
        (ln->present && se05x_tlv_get_u16(ln, &length) != SE05X_OK) ||
        (rc->present && se05x_tlv_get_u8(rc, &comp) != SE05X_OK))
        return SE05X_SW_WRONG_DATA;
    switch (o->type) {
    case SESIM_T_EC_PAIR: case SESIM_T_EC_PUB:
        c = &o->comp[SESIM_C_PUB];
        break;
    case SESIM_T_RSA_PAIR: case SESIM_T_RSA_PAIR_CRT: case SESIM_T_RSA_PUB:
        c = comp == 0x01 ? &o->comp[SESIM_C_E] : comp == 0x00 ? &o->comp[SESIM_C_N] : NULL;
        break;
    case SESIM_T_BINARY: case SESIM_T_COUNTER: case SESIM_T_PCR:
        c = &o->comp[SESIM_C_VALUE];
        break;
    default:
        break; /* private, symmetric, UserID: never readable */
    }
    if (!c || !c->v || sesim_policy_check(r, o, SESIM_AR_READ) != SE05X_SW_OK)
        return SE05X_SW_OK;
    if (o->type == SESIM_T_BINARY) {
        if (offset > c->len || (length && length > c->len - offset))
            return SE05X_SW_WRONG_DATA;
        *data = c->v + offset;
        *len = length ? length : c->len - offset;
    } else {
        *data = c->v;
        *len = c->len;
    }
    *readable = true;
    return SE05X_SW_OK;
}

/* ---- attestation context ------------------------------------------------ */

typedef struct {
    sesim_obj obj;            /* object being read */
    EVP_PKEY *key;            /* attestation key */
    const char *md;           /* hash of the signature algorithm */
    uint8_t uid[UID_LEN];
    uint8_t attrs[320];
    size_t attrs_len;
    uint8_t size[2];
    uint8_t ts[TIMESTAMP_LEN];
    uint8_t freshness[FRESHNESS_LEN]; /* copied: command and response may share a buffer */
} attest_ctx;

static const char *attest_md(uint8_t algo)
{
    switch (algo) {
    case 0x11: return "SHA1";
    case 0x25: return "SHA224";
    case 0x21: return "SHA256";
    case 0x22: return "SHA384";
    case 0x26: return "SHA512";
    default: return NULL;
    }
}

static void timestamp(uint8_t out[TIMESTAMP_LEN])
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    memset(out, 0, TIMESTAMP_LEN);
    for (int i = 0; i < 8; i++)
        out[TIMESTAMP_LEN - 1 - i] = (uint8_t)(ns >> (8 * i));
}

static void chip_uid(sesim_req *r, uint8_t uid[UID_LEN])
{
    sesim_obj u;
    sesim_obj_init(&u);
    memcpy(uid, r->sim->uid, UID_LEN);
    if (sesim_store_load(r->sim, UID_OBJECT_ID, &u) == SE05X_OK &&
        u.comp[SESIM_C_VALUE].len == UID_LEN)
        memcpy(uid, u.comp[SESIM_C_VALUE].v, UID_LEN);
    sesim_obj_free(&u);
}

/* Load the attestation key (TAG_5/TAG_6/TAG_7) and the object (TAG_1). */
static uint16_t attest_setup(sesim_req *r, attest_ctx *a)
{
    const se05x_tlv_item *fr = &r->tlv->t[SE05X_TAG_7];
    uint32_t id, kid;
    uint8_t algo;
    sesim_obj k;
    memset(a, 0, sizeof(*a));
    sesim_obj_init(&a->obj);
    if (se05x_tlv_get_u32(&r->tlv->t[SE05X_TAG_1], &id) != SE05X_OK ||
        se05x_tlv_get_u32(&r->tlv->t[SE05X_TAG_5], &kid) != SE05X_OK ||
        se05x_tlv_get_u8(&r->tlv->t[SE05X_TAG_6], &algo) != SE05X_OK || !attest_md(algo) ||
        !fr->present || fr->len != FRESHNESS_LEN)
        return SE05X_SW_WRONG_DATA;
    a->md = attest_md(algo);
    memcpy(a->freshness, fr->val, FRESHNESS_LEN);
    sesim_obj_init(&k);
    if (sesim_store_load(r->sim, kid, &k) != SE05X_OK) {
        sesim_obj_init(&k);
        sesim_obj_free(&k);
        return SE05X_SW_CONDITIONS;
    }
    uint16_t sw = SE05X_SW_CONDITIONS;
    bool ok_type = (k.type == SESIM_T_EC_PAIR || k.type == SESIM_T_EC_PRIV) && k.curve != 0x40 &&
                   k.curve != 0x41 && k.curve != 0x43;
    if (ok_type) {
        sw = sesim_policy_check(r, &k, SESIM_AR_ATTEST);
        if (sw == SE05X_SW_OK && !(a->key = sesim_obj_to_pkey(&k)))
            sw = SE05X_SW_CONDITIONS;
    }
    sesim_obj_free(&k);
    if (sw != SE05X_SW_OK)
        return sw;
    if (sesim_store_load(r->sim, id, &a->obj) != SE05X_OK) {
        sesim_obj_init(&a->obj);
        return SE05X_SW_CONDITIONS;
    }
    chip_uid(r, a->uid);
    a->attrs_len = sesim_obj_attributes(r->sim, &a->obj, a->attrs, sizeof(a->attrs));
    se05x_put_u16(a->size, object_size(&a->obj));
    timestamp(a->ts);
    return a->attrs_len ? SE05X_SW_OK : SE05X_SW_NO_DIAGNOSIS;
}

static void attest_cleanup(attest_ctx *a)
{
    EVP_PKEY_free(a->key);
    sesim_obj_free(&a->obj);
}

/* ECDSA signature over msg with the context's hash. */
static uint16_t attest_sign(attest_ctx *a, const uint8_t *msg, size_t len, uint8_t *sig,
                            size_t *siglen)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    uint16_t sw = SE05X_SW_NO_DIAGNOSIS;
    if (m && EVP_DigestSignInit_ex(m, NULL, a->md, NULL, NULL, a->key, NULL) == 1 &&
        EVP_DigestSign(m, sig, siglen, msg, len) == 1)
        sw = SE05X_SW_OK;
    EVP_MD_CTX_free(m);
    return sw;
}

/* 7.x: long-form TLVs; signed message = H(rebuilt command) || TLVs. */
static uint16_t respond_v7(sesim_req *r, attest_ctx *a, const uint8_t *data, size_t dlen,
                           bool with_data)
{
    const se05x_apdu *ap = r->apdu;
    uint8_t hdr[7] = {0x80, 0x22, ap->p1, ap->p2, 0x00, (uint8_t)(ap->lc >> 8), (uint8_t)ap->lc};
    uint8_t sig[160];
    size_t siglen = sizeof(sig), hlen = (size_t)EVP_MAX_MD_SIZE;
    size_t start = r->out->len;
    EVP_MD *md = EVP_MD_fetch(NULL, a->md, NULL);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    uint16_t sw = SE05X_SW_NO_DIAGNOSIS;
    bool ok = md && mctx && EVP_DigestInit_ex2(mctx, md, NULL) == 1 &&
              EVP_DigestUpdate(mctx, hdr, sizeof(hdr)) == 1 &&
              EVP_DigestUpdate(mctx, ap->data, ap->lc) == 1 &&
              EVP_DigestFinal_ex(mctx, h, &hl) == 1;
    EVP_MD_CTX_free(mctx);
    EVP_MD_free(md);
    if (!ok)
        return sw;
    hlen = hl;
    if (with_data)
        se05x_tlvw_bytes_long(r->out, SE05X_TAG_1, data, dlen);
    se05x_tlvw_bytes_long(r->out, SE05X_TAG_2, a->uid, UID_LEN);
    se05x_tlvw_bytes_long(r->out, SE05X_TAG_3, a->attrs, a->attrs_len);
    se05x_tlvw_bytes_long(r->out, SE05X_TAG_4, a->size, 2);
    se05x_tlvw_bytes_long(r->out, SE05X_TAG_TIMESTAMP, a->ts, TIMESTAMP_LEN);
    if (se05x_tlvw_status(r->out) != SE05X_OK)
        return sw;
    size_t tlvs = r->out->len - start;
    uint8_t *msg = OPENSSL_malloc(hlen + tlvs);
    if (!msg)
        return sw;
    memcpy(msg, h, hlen);
    memcpy(msg + hlen, r->out->buf + start, tlvs);
    sw = attest_sign(a, msg, hlen + tlvs, sig, &siglen);
    OPENSSL_free(msg);
    if (sw == SE05X_SW_OK) {
        se05x_tlvw_bytes_long(r->out, SE05X_TAG_SIGNATURE, sig, siglen);
        if (se05x_tlvw_status(r->out) != SE05X_OK)
            sw = SE05X_SW_NO_DIAGNOSIS;
    }
    return sw;
}

/* 3.x: plain TLVs; signed message = values of TAG_1..TAG_5 concatenated. */
static uint16_t respond_v3(sesim_req *r, attest_ctx *a, const uint8_t *data, size_t dlen,
                           bool with_data)
{
    size_t mlen = (with_data ? dlen : 0) + a->attrs_len + TIMESTAMP_LEN + FRESHNESS_LEN + UID_LEN;
    uint8_t *msg = OPENSSL_malloc(mlen ? mlen : 1), sig[160];
    size_t p = 0, siglen = sizeof(sig);
    if (!msg)
        return SE05X_SW_NO_DIAGNOSIS;
    if (with_data) {
        memcpy(msg, data, dlen);
        p = dlen;
        se05x_tlvw_bytes(r->out, SE05X_TAG_1, data, dlen);
    }
    memcpy(msg + p, a->attrs, a->attrs_len);
    p += a->attrs_len;
    memcpy(msg + p, a->ts, TIMESTAMP_LEN);
    p += TIMESTAMP_LEN;
    memcpy(msg + p, a->freshness, FRESHNESS_LEN);
    p += FRESHNESS_LEN;
    memcpy(msg + p, a->uid, UID_LEN);
    se05x_tlvw_bytes(r->out, SE05X_TAG_2, a->attrs, a->attrs_len);
    se05x_tlvw_bytes(r->out, SE05X_TAG_3, a->ts, TIMESTAMP_LEN);
    se05x_tlvw_bytes(r->out, SE05X_TAG_4, a->freshness, FRESHNESS_LEN);
    se05x_tlvw_bytes(r->out, SE05X_TAG_5, a->uid, UID_LEN);
    uint16_t sw = attest_sign(a, msg, mlen, sig, &siglen);
    OPENSSL_free(msg);
    if (sw == SE05X_SW_OK)
        se05x_tlvw_bytes(r->out, SE05X_TAG_6, sig, siglen);
    if (sw == SE05X_SW_OK && se05x_tlvw_status(r->out) != SE05X_OK)
        sw = SE05X_SW_NO_DIAGNOSIS;
    return sw;
}

static uint16_t attested(sesim_req *r, bool read_data)
{
    attest_ctx a;
    const uint8_t *data = NULL;
    size_t dlen = 0;
    bool readable = false;
    uint16_t sw = attest_setup(r, &a);
    if (sw == SE05X_SW_OK && read_data)
        sw = object_data(r, &a.obj, &data, &dlen, &readable);
    if (sw == SE05X_SW_OK) {
        bool with = read_data && readable;
        sw = r->sim->opts.applet_major == 3 ? respond_v3(r, &a, data, dlen, with)
                                            : respond_v7(r, &a, data, dlen, with);
    }
    attest_cleanup(&a);
    return sw;
}

static uint16_t h_read_attested(sesim_req *r) { return attested(r, true); }

static uint16_t h_read_attributes_attested(sesim_req *r) { return attested(r, false); }

static const uint8_t TAGS_ATTEST[] = {SE05X_TAG_1, SE05X_TAG_2, SE05X_TAG_3, SE05X_TAG_4,
                                      SE05X_TAG_5, SE05X_TAG_6, SE05X_TAG_7, 0};

const sesim_cmd sesim_cmds_attest[] = {
    {0x22, 0xFF, 0x00, 0xFF, 0x00, TAGS_ATTEST, h_read_attested, "ReadObjectAttested"},
    {0x22, 0xFF, 0x00, 0xFF, 0x3B, TAGS_ATTEST, h_read_attributes_attested,
     "ReadObjectAttributesAttested"},
    {0, 0, 0, 0, 0, NULL, NULL, NULL},
};
