/* Host side of ECKey applet sessions (spec §2.8; our protocol choices in
 * docs/secure-channels.md "ECKey sessions"): read the SE's key-agreement
 * key KP_ECKEY_USER (0x7FFF0201), CreateSession with the ECKey auth
 * object, INTERNAL AUTHENTICATE `84 88 00 00` with a fresh ephemeral P-256
 * key signed by the host key, receipt check, and an SCP03 session channel
 * keyed from the ECKey master key. Byte formats and key derivation are the
 * shared ones in core/scp03.c; the 80 05 wrapper and session bookkeeping
 * are session.c's. All crypto runs in the connection's library context. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <string.h>

#include "conn_internal.h"
#include "se05x/commands.h"
#include "se05x/scp03.h"
#include "se05x/tlv.h"

#define KP_ECKEY_USER 0x7FFF0201u
#define ECKEY_SIG_MAX 80 /* DER ECDSA P-256 signature: at most 72 bytes */

/* The host key must be an EC P-256 key usable for signing. */
static se05x_status check_host_key(se05x_conn *c, EVP_PKEY *key)
{
    char group[64] = "";
    size_t glen = 0;
    if (!EVP_PKEY_is_a(key, "EC") ||
        !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        &glen) ||
        (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
        se05x_conn_seterr(c, "ECKey session: the host key must be an EC P-256 private key");
        return SE05X_ERR_ARG;
    }
    return SE05X_OK;
}

/* Uncompressed public point of an EC P-256 key. */
static se05x_status key_point(EVP_PKEY *key, uint8_t point[SE05X_ECKEY_POINT_LEN])
{
    size_t n = 0;
    if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point,
                                         SE05X_ECKEY_POINT_LEN, &n) ||
        n != SE05X_ECKEY_POINT_LEN || point[0] != 0x04)
        return SE05X_ERR_CRYPTO;
    return SE05X_OK;
}

/* The SE's KP_ECKEY_USER public key (ReadObject, outside any session). */
static se05x_status read_device_key(se05x_conn *c, uint8_t point[SE05X_ECKEY_POINT_LEN])
{
    uint8_t buf[160];
    size_t n = sizeof(buf);
    se05x_status st = se05x_read_object(c, KP_ECKEY_USER, 0, 0, buf, &n);
    if (st != SE05X_OK) {
        char why[sizeof(c->err)];
        memcpy(why, c->err, sizeof(why));
        se05x_conn_seterr(c, "ECKey session: cannot read the SE's key agreement key 0x%08X: %s",
                          KP_ECKEY_USER, why[0] ? why : se05x_strerror(st));
        return st;
    }
    if (n != SE05X_ECKEY_POINT_LEN || buf[0] != 0x04) {
        se05x_conn_seterr(c, "ECKey session: key 0x%08X is not an uncompressed P-256 point "
                          "(%zu bytes)", KP_ECKEY_USER, n);
        return SE05X_ERR_RESPONSE;
    }
    memcpy(point, buf, SE05X_ECKEY_POINT_LEN);
    return SE05X_OK;
}

/* ECDSA-SHA-256 (DER) of msg with key, in the connection's library context. */
static se05x_status sign(se05x_conn *c, EVP_PKEY *key, const uint8_t *msg, size_t len,
                         uint8_t *sig, size_t *siglen)
{
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    se05x_status st = SE05X_ERR_CRYPTO;
    if (mc && EVP_DigestSignInit_ex(mc, NULL, "SHA256", c->opts.libctx, NULL, key, NULL) > 0 &&
        EVP_DigestSign(mc, sig, siglen, msg, len) > 0)
        st = SE05X_OK;
    EVP_MD_CTX_free(mc);
    return st;
}

/* The INTERNAL AUTHENTICATE command APDU for the ephemeral point, signed
 * with the host key. *body_len = length of the signed A6 || 7F49 part
 * (it starts at apdu offset 5). */
static se05x_status build_auth(se05x_conn *c, EVP_PKEY *host_key,
                               const uint8_t eph[SE05X_ECKEY_POINT_LEN], uint8_t *apdu,
                               size_t cap, size_t *alen, size_t *body_len)
{
    uint8_t data[256], sig[ECKEY_SIG_MAX];
    size_t dlen = 0, siglen = sizeof(sig);
    se05x_status st = se05x_eckey_auth_body(eph, data, sizeof(data), &dlen);
    if (st != SE05X_OK)
        return st;
    *body_len = dlen;
    st = sign(c, host_key, data, dlen, sig, &siglen);
    if (st != SE05X_OK) {
        se05x_conn_seterr(c, "ECKey session: signing with the host key failed (is it a private "
                          "key?)");
        return st;
    }
    st = se05x_eckey_auth_add_sig(data, sizeof(data), &dlen, sig, siglen);
    if (st != SE05X_OK)
        return st;
    se05x_apdu a = {.cla = 0x84, .ins = 0x88, .p1 = 0x00, .p2 = 0x00, .data = data, .lc = dlen};
    return se05x_apdu_encode(&a, apdu, cap, alen);
}

/* Send INTERNAL AUTHENTICATE inside the new session; DR.SE and receipt. */
static se05x_status internal_auth(se05x_conn *c, const uint8_t *apdu, size_t alen,
                                  uint8_t drse[SE05X_ECKEY_DRSE_LEN],
                                  uint8_t receipt[SE05X_ECKEY_RECEIPT_LEN])
{
    static const se05x_tlv_expect_t exp[] = {
        {SE05X_ECKEY_TAG_DRSE, 0, SE05X_ECKEY_DRSE_LEN, SE05X_ECKEY_DRSE_LEN},
        {SE05X_ECKEY_TAG_RECEIPT, 0, SE05X_ECKEY_RECEIPT_LEN, SE05X_ECKEY_RECEIPT_LEN},
    };
    uint8_t rsp[SE05X_APDU_MAX];
    size_t rl = 0, dlen = 0;
    uint16_t sw = 0;
    se05x_tlv_item it[2];
    se05x_status st = se05x_session_xfer(c, apdu, alen, rsp, sizeof(rsp), &rl);
    if (st == SE05X_OK)
        st = se05x_rapdu_split(rsp, rl, &dlen, &sw);
    if (st != SE05X_OK)
        return st;
    c->last_sw = sw;
    if (sw != SE05X_SW_OK) {
        se05x_conn_seterr(c, "ECKey session: INTERNAL AUTHENTICATE for auth object 0x%08X "
                          "rejected: SW %04X (%s); the host key does not match the auth "
                          "object, or the object is not usable", c->session.auth_id, sw,
                          se05x_sw_str(sw));
        return SE05X_ERR_SCP;
    }
    if (se05x_tlv_expect(rsp, dlen, exp, 2, it) != SE05X_OK) {
        se05x_conn_seterr(c, "ECKey session: malformed INTERNAL AUTHENTICATE answer (%zu bytes)",
                          dlen);
        return SE05X_ERR_SCP;
    }
    memcpy(drse, it[0].val, SE05X_ECKEY_DRSE_LEN);
    memcpy(receipt, it[1].val, SE05X_ECKEY_RECEIPT_LEN);
    return SE05X_OK;
}

/* Master key from the ECDH secret, check the receipt, open the channel. */
static se05x_status finish(se05x_conn *c, EVP_PKEY *eph, const uint8_t se_pub[65],
                           const uint8_t *body, size_t blen, const uint8_t drse[16],
                           const uint8_t receipt[16])
{
    uint8_t z[32], master[16], want[16];
    bool prefix = c->version[0] == 0 || se05x_eckey_counter_prefix(c->version[0], c->version[1]);
    se05x_scp03_chan *ch = se05x_scp03_chan_new(c);
    if (!ch)
        return SE05X_ERR_CRYPTO;
    se05x_status st = se05x_eckey_ecdh_ex(c->opts.libctx, eph, se_pub, z);
    if (st == SE05X_OK)
        st = se05x_eckey_master_ex(c->opts.libctx, z, sizeof(z), drse, prefix, master);
    if (st == SE05X_OK)
        st = se05x_eckey_receipt_ex(se05x_scp03_chan_algs(ch), master, body, blen, want);
    if (st != SE05X_OK) {
        se05x_conn_seterr(c, "ECKey session: key agreement failed (%s)", se05x_strerror(st));
    } else if (CRYPTO_memcmp(want, receipt, 16) != 0) {
        se05x_conn_seterr(c, "ECKey session: receipt mismatch: the SE did not derive the same "
                          "keys (key agreement key 0x%08X or protocol differs)", KP_ECKEY_USER);
        st = SE05X_ERR_SCP;
    } else {
        st = se05x_eckey_channel_ex(se05x_scp03_chan_ctx(ch), se05x_scp03_chan_algs(ch), master);
    }
    if (st == SE05X_OK)
        c->session.scp = ch;
    else
        se05x_scp03_chan_free(ch);
    OPENSSL_cleanse(z, sizeof(z));
    OPENSSL_cleanse(master, sizeof(master));
    return st;
}

/* Keep scalar || point of the host key for se05x_session_eckey_reopen;
 * keys that do not export their scalar (provider keys) are not kept. */
static void remember_key(se05x_conn *c, EVP_PKEY *key)
{
    BIGNUM *d = NULL;
    c->session.eckey_len = 0;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) && d &&
        BN_bn2binpad(d, c->session.eckey, 32) == 32 &&
        key_point(key, c->session.eckey + 32) == SE05X_OK)
        c->session.eckey_len = sizeof(c->session.eckey);
    BN_clear_free(d);
}

static se05x_status open_eckey(se05x_conn *c, uint32_t auth_id, EVP_PKEY *host_key)
{
    uint8_t se_pub[SE05X_ECKEY_POINT_LEN], eph_pub[SE05X_ECKEY_POINT_LEN];
    uint8_t apdu[SE05X_APDU_MAX], drse[16], receipt[16];
    size_t alen = 0, blen = 0;
    static const uint8_t none[1] = {0};
    if (c->session.kind != SE05X_SESSION_NONE) {
        se05x_conn_seterr(c, "a session (auth object 0x%08X) is already open; close it first",
                          c->session.auth_id);
        return SE05X_ERR_STATE;
    }
    se05x_status st = check_host_key(c, host_key);
    if (st == SE05X_OK)
        st = read_device_key(c, se_pub);
    if (st != SE05X_OK)
        return st;
    EVP_PKEY *eph = EVP_PKEY_Q_keygen(c->opts.libctx, NULL, "EC", "P-256");
    if (!eph || key_point(eph, eph_pub) != SE05X_OK) {
        EVP_PKEY_free(eph);
        se05x_conn_seterr(c, "ECKey session: cannot generate the ephemeral key");
        return SE05X_ERR_CRYPTO;
    }
    st = build_auth(c, host_key, eph_pub, apdu, sizeof(apdu), &alen, &blen);
    if (st == SE05X_OK)
        st = se05x_session_begin(c, SE05X_SESSION_ECKEY, auth_id, none, 0);
    if (st == SE05X_OK) {
        st = internal_auth(c, apdu, alen, drse, receipt);
        if (st == SE05X_OK)
            st = finish(c, eph, se_pub, apdu + 5, blen, drse, receipt);
        if (st == SE05X_OK)
            remember_key(c, host_key);
        else
            se05x_session_abandon(c);
    }
    EVP_PKEY_free(eph);
    OPENSSL_cleanse(apdu, sizeof(apdu));
    return st;
}

/* Rebuild the host key from the stored scalar || point. */
static EVP_PKEY *stored_key(OSSL_LIB_CTX *libctx, const uint8_t k[32 + 65])
{
    char group[] = "prime256v1";
    EVP_PKEY *pk = NULL;
    BIGNUM *d = BN_secure_new();
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    if (d && b && BN_bin2bn(k, 32, d) &&
        OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d) &&
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, k + 32, 65))
        params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *pc = params ? EVP_PKEY_CTX_new_from_name(libctx, "EC", NULL) : NULL;
    if (!pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
        EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_KEYPAIR, params) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_clear_free(d);
    return pk;
}

se05x_status se05x_session_eckey_reopen(se05x_conn *c)
{
    uint32_t auth_id = c->session.auth_id;
    uint8_t k[sizeof(c->session.eckey)];
    size_t klen = c->session.eckey_len;
    memcpy(k, c->session.eckey, sizeof(k));
    se05x_session_forget(c); /* the card forgot it together with the old link */
    if (klen != sizeof(k)) {
        OPENSSL_cleanse(k, sizeof(k));
        se05x_conn_seterr(c, "ECKey session 0x%08X cannot be re-opened: the host key was not "
                          "exportable", auth_id);
        return SE05X_ERR_STATE;
    }
    EVP_PKEY *key = stored_key(c->opts.libctx, k);
    OPENSSL_cleanse(k, sizeof(k));
    if (!key) {
        se05x_conn_seterr(c, "ECKey session: cannot rebuild the host key");
        return SE05X_ERR_CRYPTO;
    }
    se05x_status st = open_eckey(c, auth_id, key);
    EVP_PKEY_free(key);
    return st;
}

se05x_status se05x_session_open_eckey(se05x_conn *c, uint32_t auth_id, EVP_PKEY *host_key)
{
    if (!c || !host_key)
        return SE05X_ERR_ARG;
    se05x_conn_lock(c);
    c->err[0] = 0;
    se05x_status st = open_eckey(c, auth_id, host_key);
    se05x_conn_unlock(c);
    return st;
}
