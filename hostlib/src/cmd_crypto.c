/* Typed wrappers for one-shot crypto commands (spec §2.6, §2.7): ECDSA and
 * EdDSA sign/verify, ECDH, RSA sign/verify/encrypt/decrypt, digest, AES
 * cipher and HMAC/CMAC one-shots. Each builds its TLVs in ascending tag
 * order and parses the single-TLV answer through the command table. */
#include <string.h>

#include <openssl/crypto.h>

#include "cmd_internal.h"

typedef struct {
    uint8_t buf[SE05X_CMD_BUF];
    se05x_tlvw w;
    uint8_t rsp[SE05X_APDU_MAX];
    size_t rsp_len; /* bytes of rsp written by the exchange */
    se05x_tlv_item it[SE05X_CMD_MAX_RSP_TLVS];
} op_ctx;

static void op_init(op_ctx *o)
{
    se05x_tlvw_init(&o->w, o->buf, sizeof(o->buf));
    o->rsp_len = 0;
}

static se05x_status op_run(se05x_conn *c, op_ctx *o, se05x_cmd_id cmd, bool has_id, uint32_t id)
{
    se05x_cmd_req r = {.cmd = cmd, .has_id = has_id, .id = id, .rsp = o->rsp,
                       .rsp_cap = sizeof(o->rsp), .data = o->buf, .len = o->w.len,
                       .rsp_len = &o->rsp_len};
    if (!c)
        return SE05X_ERR_ARG;
    if (o->w.err != SE05X_OK) {
        se05x_cmd_fail(c, cmd, has_id, id, o->w.err);
        return o->w.err;
    }
    return se05x_cmd_xchg(c, &r, o->it);
}

/* Wipe what was written (the writer never goes past w.len); wiping the
 * whole buffers cost more than a sign APDU on the in-process simulator. */
static void op_done(op_ctx *o)
{
    OPENSSL_cleanse(o->buf, o->w.len);
    OPENSSL_cleanse(o->rsp, o->rsp_len <= sizeof(o->rsp) ? o->rsp_len : sizeof(o->rsp));
}

/* Copy TLV 0 of the answer into out/out_len. */
static se05x_status op_out(se05x_conn *c, op_ctx *o, se05x_cmd_id cmd, uint32_t id, uint8_t *out,
                           size_t *out_len)
{
    se05x_status st = se05x_cmd_copy_out(&o->it[0], out, out_len);
    if (st != SE05X_OK)
        se05x_cmd_fail(c, cmd, true, id, st);
    return st;
}

/* Result byte 01 (success) / 02 (failure) into *valid. */
static se05x_status op_result(se05x_conn *c, op_ctx *o, se05x_cmd_id cmd, uint32_t id,
                              bool *valid)
{
    uint8_t v = o->it[0].val[0];
    if (v != 0x01 && v != 0x02) {
        se05x_cmd_fail(c, cmd, true, id, SE05X_ERR_RESPONSE);
        return SE05X_ERR_RESPONSE;
    }
    *valid = v == 0x01;
    return SE05X_OK;
}

/* Run `cmd` and copy the output TLV; the usual tail of every wrapper. */
static se05x_status op_finish_out(se05x_conn *c, op_ctx *o, se05x_cmd_id cmd, uint32_t id,
                                  uint8_t *out, size_t *out_len)
{
    se05x_status st = op_run(c, o, cmd, true, id);
    if (st == SE05X_OK)
        st = op_out(c, o, cmd, id, out, out_len);
    op_done(o);
    return st;
}

static se05x_status op_finish_result(se05x_conn *c, op_ctx *o, se05x_cmd_id cmd, uint32_t id,
                                     bool *valid)
{
    se05x_status st = op_run(c, o, cmd, true, id);
    if (st == SE05X_OK)
        st = op_result(c, o, cmd, id, valid);
    op_done(o);
    return st;
}

/* The common request body "object id (tag 1), algorithm (tag 2), data
 * (tag 3)" of the sign / verify / cipher / MAC commands. */
static void op_id_algo_data(op_ctx *o, uint32_t id, uint8_t algo, const uint8_t *data,
                            size_t len)
{
    op_init(o);
    se05x_tlvw_u32(&o->w, SE05X_TAG_1, id);
    se05x_tlvw_u8(&o->w, SE05X_TAG_2, algo);
    se05x_tlvw_bytes(&o->w, SE05X_TAG_3, data, len);
}

/* ---- EC ---------------------------------------------------------------- */

se05x_status se05x_ecdsa_sign(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *digest,
                              size_t dlen, uint8_t *sig, size_t *sig_len)
{
    op_ctx o;
    if (!digest || !dlen || !sig_len)
        return SE05X_ERR_ARG;
    op_id_algo_data(&o, id, algo, digest, dlen);
    return op_finish_out(c, &o, CMD_ECDSA_SIGN, id, sig, sig_len);
}

se05x_status se05x_ecdsa_verify(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *digest,
                                size_t dlen, const uint8_t *sig, size_t sig_len, bool *valid)
{
    op_ctx o;
    if (!digest || !dlen || !sig || !sig_len || !valid)
        return SE05X_ERR_ARG;
    op_id_algo_data(&o, id, algo, digest, dlen);
    se05x_tlvw_bytes(&o.w, SE05X_TAG_5, sig, sig_len);
    return op_finish_result(c, &o, CMD_ECDSA_VERIFY, id, valid);
}

/* RFC 8032 r||s <-> SE order (each 32-byte half reversed). */
static void eddsa_swap(const uint8_t in[64], uint8_t out[64])
{
    for (int i = 0; i < 32; i++) {
        out[i] = in[31 - i];
        out[32 + i] = in[63 - i];
    }
}

se05x_status se05x_eddsa_sign(se05x_conn *c, uint32_t id, const uint8_t *msg, size_t len,
                              uint8_t sig[64])
{
    op_ctx o;
    if ((!msg && len) || !sig)
        return SE05X_ERR_ARG;
    op_id_algo_data(&o, id, SE05X_EDDSA_PURE, msg, len);
    se05x_status st = op_run(c, &o, CMD_EDDSA_SIGN, true, id);
    if (st == SE05X_OK)
        eddsa_swap(o.it[0].val, sig);
    op_done(&o);
    return st;
}

se05x_status se05x_eddsa_verify(se05x_conn *c, uint32_t id, const uint8_t *msg, size_t len,
                                const uint8_t sig[64], bool *valid)
{
    op_ctx o;
    uint8_t se_sig[64];
    if ((!msg && len) || !sig || !valid)
        return SE05X_ERR_ARG;
    eddsa_swap(sig, se_sig);
    op_id_algo_data(&o, id, SE05X_EDDSA_PURE, msg, len);
    se05x_tlvw_bytes(&o.w, SE05X_TAG_5, se_sig, sizeof(se_sig));
    return op_finish_result(c, &o, CMD_EDDSA_VERIFY, id, valid);
}

se05x_status se05x_ecdh(se05x_conn *c, uint32_t id, const uint8_t *peer, size_t peer_len,
                        uint8_t *out, size_t *out_len)
{
    op_ctx o;
    if (!peer || !peer_len || !out_len)
        return SE05X_ERR_ARG;
    op_init(&o);
    se05x_tlvw_u32(&o.w, SE05X_TAG_1, id);
    se05x_tlvw_bytes(&o.w, SE05X_TAG_2, peer, peer_len);
    return op_finish_out(c, &o, CMD_ECDH, id, out, out_len);
}

/* ---- RSA --------------------------------------------------------------- */

/* TAG_4 for PSS: a zero-filled buffer whose length is the salt length. */
static void put_salt(se05x_tlvw *w, uint16_t salt_len)
{
    static const uint8_t zeros[64];
    if (!salt_len)
        return;
    if (salt_len > sizeof(zeros)) {
        if (w->err == SE05X_OK)
            w->err = SE05X_ERR_ARG;
        return;
    }
    se05x_tlvw_bytes(w, SE05X_TAG_4, zeros, salt_len);
}

se05x_status se05x_rsa_sign(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *msg,
                            size_t len, uint16_t salt_len, uint8_t *sig, size_t *sig_len)
{
    op_ctx o;
    if ((!msg && len) || !sig_len)
        return SE05X_ERR_ARG;
    op_id_algo_data(&o, id, algo, msg, len);
    put_salt(&o.w, salt_len);
    return op_finish_out(c, &o, CMD_RSA_SIGN, id, sig, sig_len);
}

se05x_status se05x_rsa_verify(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *msg,
                              size_t len, uint16_t salt_len, const uint8_t *sig, size_t sig_len,
                              bool *valid)
{
    op_ctx o;
    if ((!msg && len) || !sig || !sig_len || !valid)
        return SE05X_ERR_ARG;
    op_id_algo_data(&o, id, algo, msg, len);
    put_salt(&o.w, salt_len);
    se05x_tlvw_bytes(&o.w, SE05X_TAG_5, sig, sig_len);
    return op_finish_result(c, &o, CMD_RSA_VERIFY, id, valid);
}

static se05x_status rsa_crypt(se05x_conn *c, se05x_cmd_id cmd, uint32_t id, uint8_t algo,
                              const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    op_ctx o;
    if (!in || !len || !out_len)
        return SE05X_ERR_ARG;
    op_id_algo_data(&o, id, algo, in, len);
    return op_finish_out(c, &o, cmd, id, out, out_len);
}

se05x_status se05x_rsa_encrypt(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *in,
                               size_t len, uint8_t *out, size_t *out_len)
{
    return rsa_crypt(c, CMD_RSA_ENCRYPT, id, algo, in, len, out, out_len);
}

se05x_status se05x_rsa_decrypt(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *in,
                               size_t len, uint8_t *out, size_t *out_len)
{
    return rsa_crypt(c, CMD_RSA_DECRYPT, id, algo, in, len, out, out_len);
}

/* ---- digest, cipher, MAC ------------------------------------------------ */

se05x_status se05x_digest_oneshot(se05x_conn *c, uint8_t mode, const uint8_t *data, size_t len,
                                  uint8_t *out, size_t *out_len)
{
    op_ctx o;
    if ((!data && len) || !out_len)
        return SE05X_ERR_ARG;
    op_init(&o);
    se05x_tlvw_u8(&o.w, SE05X_TAG_1, mode);
    se05x_tlvw_bytes(&o.w, SE05X_TAG_2, data, len);
    se05x_status st = op_run(c, &o, CMD_DIGEST_ONESHOT, false, 0);
    if (st == SE05X_OK) {
        st = se05x_cmd_copy_out(&o.it[0], out, out_len);
        if (st != SE05X_OK)
            se05x_cmd_fail(c, CMD_DIGEST_ONESHOT, false, 0, st);
    }
    op_done(&o);
    return st;
}

se05x_status se05x_cipher_oneshot(se05x_conn *c, uint32_t id, uint8_t mode, bool encrypt,
                                  const uint8_t *iv, size_t iv_len, const uint8_t *in,
                                  size_t len, uint8_t *out, size_t *out_len)
{
    op_ctx o;
    if (!in || !len || !out_len || (iv_len && !iv))
        return SE05X_ERR_ARG;
    op_id_algo_data(&o, id, mode, in, len);
    if (iv_len)
        se05x_tlvw_bytes(&o.w, SE05X_TAG_4, iv, iv_len);
    return op_finish_out(c, &o, encrypt ? CMD_CIPHER_ENCRYPT : CMD_CIPHER_DECRYPT, id, out,
                         out_len);
}

se05x_status se05x_mac_oneshot(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *data,
                               size_t len, uint8_t *mac, size_t *mac_len)
{
    op_ctx o;
    if ((!data && len) || !mac_len)
        return SE05X_ERR_ARG;
    op_id_algo_data(&o, id, algo, data, len);
    return op_finish_out(c, &o, CMD_MAC_GENERATE, id, mac, mac_len);
}

se05x_status se05x_mac_validate(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *data,
                                size_t len, const uint8_t *mac, size_t mac_len, bool *valid)
{
    op_ctx o;
    if ((!data && len) || !mac || !mac_len || !valid)
        return SE05X_ERR_ARG;
    op_id_algo_data(&o, id, algo, data, len);
    se05x_tlvw_bytes(&o.w, SE05X_TAG_5, mac, mac_len);
    return op_finish_result(c, &o, CMD_MAC_VALIDATE, id, valid);
}
