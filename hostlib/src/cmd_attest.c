/* ReadObject with attestation (80 22, spec §2.3.1): sends the attested
 * read, keeps the answer and splits it into its parts for the 3.x and 7.x
 * layouts, and verifies the ECDSA attestation signature on the host with
 * the attestation key's public point (OpenSSL EVP, in the library context
 * of the connection the answer came from). */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "cmd_internal.h"
#include "conn_internal.h"

se05x_status se05x_read_object_attested(se05x_conn *c, uint32_t id, uint16_t offset,
                                        uint16_t length, uint32_t attest_key, uint8_t algo,
                                        const uint8_t freshness[16], se05x_attested_read *a)
{
    if (!c || !freshness || !a)
        return SE05X_ERR_ARG;
    memset(a, 0, sizeof(*a));
    a->libctx = c->opts.libctx;
    a->v7 = se05x_applet_is_7x(c);
    se05x_tlvw w;
    se05x_tlvw_init(&w, a->cmd, sizeof(a->cmd));
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_tlvw_u16_opt(&w, SE05X_TAG_2, offset);
    se05x_tlvw_u16_opt(&w, SE05X_TAG_3, length);
    se05x_tlvw_u32(&w, SE05X_TAG_5, attest_key);
    se05x_tlvw_u8(&w, SE05X_TAG_6, algo);
    se05x_tlvw_bytes(&w, SE05X_TAG_7, freshness, 16);
    if (w.err != SE05X_OK)
        return w.err;
    a->cmd_len = w.len;
    se05x_cmd_id cmd = a->v7 ? CMD_READ_OBJECT_ATTEST_7X : CMD_READ_OBJECT_ATTEST_3X;
    se05x_tlv_item it[SE05X_CMD_MAX_RSP_TLVS];
    se05x_cmd_req r = {.cmd = cmd, .has_id = true, .id = id, .data = a->cmd, .len = a->cmd_len,
                       .rsp = a->raw, .rsp_cap = sizeof(a->raw)};
    se05x_status st = se05x_cmd_xchg(c, &r, it);
    if (st != SE05X_OK)
        return st;
    if (a->v7) {
        a->data = it[0].val; a->data_len = it[0].len;
        a->uid = it[1].val; a->uid_len = it[1].len;
        a->attributes = it[2].val; a->attributes_len = it[2].len;
        a->size = it[3].val; a->size_len = it[3].len;
        a->timestamp = it[4].val; a->timestamp_len = it[4].len;
        a->signature = it[5].val; a->signature_len = it[5].len;
    } else {
        a->data = it[0].val; a->data_len = it[0].len;
        a->attributes = it[1].val; a->attributes_len = it[1].len;
        a->timestamp = it[2].val; a->timestamp_len = it[2].len;
        a->freshness = it[3].val; a->freshness_len = it[3].len;
        a->uid = it[4].val; a->uid_len = it[4].len;
        a->signature = it[5].val; a->signature_len = it[5].len;
    }
    /* raw_len: the response data as received (pointers refer into raw) */
    a->raw_len = (size_t)(a->signature + a->signature_len - a->raw);
    return SE05X_OK;
}

static EVP_PKEY *ec_pub_key(OSSL_LIB_CTX *libctx, uint8_t curve, const uint8_t *pub, size_t len)
{
    const char *group = se05x_curve_ossl_name(curve);
    if (!group || !pub || !len)
        return NULL;
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(libctx, "EC", NULL);
    if (!bld || !ctx ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, len))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (!params || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static const char *algo_md(uint8_t algo)
{
    switch (algo) {
    case SE05X_ECSIGN_SHA1: return "SHA1";
    case SE05X_ECSIGN_SHA224: return "SHA224";
    case SE05X_ECSIGN_SHA256: return "SHA256";
    case SE05X_ECSIGN_SHA384: return "SHA384";
    case SE05X_ECSIGN_SHA512: return "SHA512";
    default: return NULL;
    }
}

/* Append a TLV with the 82 HH LL length form (7.x signed layout). */
static void put_long(se05x_tlvw *w, uint8_t tag, const uint8_t *v, size_t len, bool present)
{
    if (present)
        se05x_tlvw_bytes_long(w, tag, v, len);
}

se05x_status se05x_attested_read_verify(const se05x_attested_read *a, uint8_t curve,
                                        const uint8_t *pub, size_t pub_len)
{
    if (!a || !a->signature)
        return SE05X_ERR_ARG;
    uint8_t algo = a->cmd[a->cmd_len - 16 - 2 - 1]; /* TAG_6 value precedes TAG_7 */
    const char *md = algo_md(algo);
    if (!md)
        return SE05X_ERR_UNSUPPORTED;
    static uint8_t zero;
    uint8_t msg[SE05X_APDU_MAX + 64];
    se05x_tlvw w;
    se05x_tlvw_init(&w, msg, sizeof(msg));
    if (a->v7) {
        uint8_t cmd[8 + sizeof(a->cmd)], h[32];
        size_t cl = 0;
        const uint8_t hdr[] = {0x80, 0x22, 0x00, 0x00, 0x00, 0x00, (uint8_t)a->cmd_len};
        memcpy(cmd, hdr, sizeof(hdr));
        cl = sizeof(hdr);
        memcpy(cmd + cl, a->cmd, a->cmd_len);
        cl += a->cmd_len;
        if (!EVP_Q_digest(a->libctx, "SHA256", NULL, cmd, cl, h, NULL))
            return SE05X_ERR_CRYPTO;
        se05x_tlvw_raw(&w, h, sizeof(h));
        put_long(&w, SE05X_TAG_1, a->data ? a->data : &zero, a->data_len, a->data != NULL);
        put_long(&w, SE05X_TAG_2, a->uid, a->uid_len, true);
        put_long(&w, SE05X_TAG_3, a->attributes, a->attributes_len, true);
        put_long(&w, SE05X_TAG_4, a->size, a->size_len, true);
        put_long(&w, SE05X_TAG_TIMESTAMP, a->timestamp, a->timestamp_len, true);
    } else {
        se05x_tlvw_raw(&w, a->data, a->data_len);
        se05x_tlvw_raw(&w, a->attributes, a->attributes_len);
        se05x_tlvw_raw(&w, a->timestamp, a->timestamp_len);
        se05x_tlvw_raw(&w, a->freshness, a->freshness_len);
        se05x_tlvw_raw(&w, a->uid, a->uid_len);
    }
    if (w.err != SE05X_OK)
        return w.err;
    EVP_PKEY *pkey = ec_pub_key(a->libctx, curve, pub, pub_len);
    if (!pkey)
        return SE05X_ERR_ARG;
    se05x_status st = SE05X_ERR_CRYPTO;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (mctx && EVP_DigestVerifyInit_ex(mctx, NULL, md, a->libctx, NULL, pkey, NULL) == 1 &&
        EVP_DigestVerify(mctx, a->signature, a->signature_len, msg, w.len) == 1)
        st = SE05X_OK;
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pkey);
    return st;
}
