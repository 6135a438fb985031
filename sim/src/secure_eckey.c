/* Card side of ECKey applet sessions (spec §2.8; protocol choices in
 * docs/secure-channels.md "ECKey sessions"): INTERNAL AUTHENTICATE
 * `84 88 00 00` inside the 80 05 wrapper of a session opened with an ECKey
 * auth object. Checks the A6 / 7F49 / 5F37 data, verifies the host's
 * ECDSA-SHA-256 signature over A6 || 7F49 with the auth object's P-256
 * public key, runs ECDH between KP_ECKEY_USER (0x7FFF0201) and the host's
 * ephemeral point, derives the master key with a fresh DR.SE, answers
 * 85 DR.SE / 86 receipt and hands back the open session channel. Session
 * bookkeeping and attempt counting stay in secure.c; byte formats and key
 * derivation are the shared ones in core/scp03.c. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "se05x/scp03.h"
#include "sim_internal.h"

#define KP_ECKEY_USER 0x7FFF0201u
#define CURVE_P256 0x03u

static size_t sw_only(uint8_t *rapdu, uint16_t sw)
{
    se05x_put_u16(rapdu, sw);
    return 2;
}

/* The auth object's public key, if it is a usable ECKey auth object.
 * *blocked is set when its failed-attempt limit is reached. */
static EVP_PKEY *auth_key(sesim *s, uint32_t auth_id, bool *blocked)
{
    sesim_obj o;
    EVP_PKEY *pk = NULL;
    *blocked = false;
    sesim_obj_init(&o);
    if (sesim_store_load(s, auth_id, &o) == SE05X_OK && o.auth && o.curve == CURVE_P256 &&
        (o.type == SESIM_T_EC_PUB || o.type == SESIM_T_EC_PAIR)) {
        *blocked = o.max_attempts && o.failed_attempts >= o.max_attempts;
        if (!*blocked)
            pk = sesim_obj_to_pkey(&o);
    }
    sesim_obj_free(&o);
    return pk;
}

/* ECDSA-SHA-256 (DER) check of sig over msg. */
static bool sig_ok(EVP_PKEY *pub, const uint8_t *msg, size_t len, const uint8_t *sig,
                   size_t siglen)
{
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    bool ok = mc && EVP_DigestVerifyInit_ex(mc, NULL, "SHA256", NULL, NULL, pub, NULL) > 0 &&
              EVP_DigestVerify(mc, sig, siglen, msg, len) == 1;
    EVP_MD_CTX_free(mc);
    return ok;
}

/* z = ECDH(KP_ECKEY_USER, host point). */
static se05x_status device_ecdh(sesim *s, const uint8_t point[SE05X_ECKEY_POINT_LEN],
                                uint8_t z[32])
{
    sesim_obj o;
    sesim_obj_init(&o);
    se05x_status st = sesim_store_load(s, KP_ECKEY_USER, &o);
    EVP_PKEY *kp = st == SE05X_OK && o.comp[SESIM_C_PRIV].v ? sesim_obj_to_pkey(&o) : NULL;
    sesim_obj_free(&o);
    if (!kp) {
        sesim_log(s, "ECKey session: device key 0x%08X missing", KP_ECKEY_USER);
        return SE05X_ERR_NOT_FOUND;
    }
    st = se05x_eckey_ecdh(kp, point, z);
    EVP_PKEY_free(kp);
    return st;
}

/* Key agreement after a good signature: channel keys and the answer. */
static size_t agree(sesim *s, const uint8_t *data, size_t signed_len, const uint8_t *point,
                    se05x_scp03_ctx *ctx, uint8_t *rapdu, size_t cap)
{
    uint8_t z[32], master[16], drse[SE05X_ECKEY_DRSE_LEN], receipt[SE05X_ECKEY_RECEIPT_LEN];
    uint8_t v[7];
    se05x_tlvw w;
    sesim_version_info(s, v);
    se05x_status st = device_ecdh(s, point, z);
    if (st == SE05X_OK && RAND_bytes(drse, sizeof(drse)) != 1)
        st = SE05X_ERR_CRYPTO;
    if (st == SE05X_OK)
        st = se05x_eckey_master(z, sizeof(z), drse, se05x_eckey_counter_prefix(v[0], v[1]),
                                master);
    if (st == SE05X_OK)
        st = se05x_eckey_receipt(master, data, signed_len, receipt);
    if (st == SE05X_OK)
        st = se05x_eckey_channel(ctx, master);
    OPENSSL_cleanse(z, sizeof(z));
    OPENSSL_cleanse(master, sizeof(master));
    if (st != SE05X_OK)
        return sw_only(rapdu, SE05X_SW_NO_DIAGNOSIS);
    se05x_tlvw_init(&w, rapdu, cap - 2);
    se05x_tlvw_bytes(&w, SE05X_ECKEY_TAG_DRSE, drse, sizeof(drse));
    se05x_tlvw_bytes(&w, SE05X_ECKEY_TAG_RECEIPT, receipt, sizeof(receipt));
    if (se05x_tlvw_status(&w) != SE05X_OK) {
        se05x_scp03_ctx_wipe(ctx);
        return sw_only(rapdu, SE05X_SW_NO_DIAGNOSIS);
    }
    se05x_put_u16(rapdu + w.len, SE05X_SW_OK);
    return w.len + 2;
}

size_t sesim_eckey_internal_auth(sesim *s, uint32_t auth_id, const se05x_apdu *in,
                                 se05x_scp03_ctx *ctx, int *verdict, uint8_t *rapdu, size_t cap)
{
    const uint8_t *point = NULL, *sig = NULL;
    size_t signed_len = 0, siglen = 0;
    bool blocked = false;
    *verdict = 0;
    se05x_scp03_ctx_wipe(ctx);
    if (cap < 64)
        return sw_only(rapdu, SE05X_SW_NO_DIAGNOSIS);
    if (in->p1 != 0x00 || in->p2 != 0x00)
        return sw_only(rapdu, SE05X_SW_WRONG_P1P2);
    if (se05x_eckey_auth_parse(in->data, in->lc, &signed_len, &point, &sig, &siglen) != SE05X_OK)
        return sw_only(rapdu, SE05X_SW_WRONG_DATA);
    EVP_PKEY *pub = auth_key(s, auth_id, &blocked);
    if (!pub)
        return sw_only(rapdu, SE05X_SW_CONDITIONS);
    /* the host's point must be on the curve before anything else uses it */
    EVP_PKEY *hp = se05x_eckey_point_pkey(point);
    if (!hp) {
        EVP_PKEY_free(pub);
        return sw_only(rapdu, SE05X_SW_WRONG_DATA);
    }
    EVP_PKEY_free(hp);
    bool ok = sig_ok(pub, in->data, signed_len, sig, siglen);
    EVP_PKEY_free(pub);
    if (!ok) {
        *verdict = -1;
        sesim_log(s, "ECKey session 0x%08X: host signature rejected", auth_id);
        return sw_only(rapdu, SE05X_SW_SECURITY_STATUS);
    }
    size_t n = agree(s, in->data, signed_len, point, ctx, rapdu, cap);
    if (n > 2)
        *verdict = 1;
    return n;
}
