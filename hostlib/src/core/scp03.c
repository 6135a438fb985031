/* GlobalPlatform SCP03 (spec §5) for both ends of a channel, and the 80 05
 * applet-session wrapper format (spec §2.8): KDF with AES-CMAC, cryptograms,
 * EXTERNAL AUTHENTICATE, C-MAC/C-ENC command wrapping with ISO 9797-1 M2
 * padding, R-MAC/R-ENC response wrapping, MAC chaining and the counter rules
 * of applet 3.x versus >= 4.3 / applet sessions, and the platform key file
 * parser. See se05x/scp03.h. A context's algorithms come from its
 * se05x_scp03_algs (fetched once from one library context) or, without
 * one, are fetched from the default context per operation. */
#include "se05x/scp03.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "se05x/apdu.h"
#include "se05x/tlv.h"

/* ---- algorithms ------------------------------------------------------ */

struct se05x_scp03_algs {
    OSSL_LIB_CTX *libctx;
    EVP_MAC *cmac;
    EVP_MAC_CTX *mac; /* CMAC with AES-128-CBC chosen; keyed per operation */
    EVP_CIPHER *cbc, *ecb;
    EVP_CIPHER_CTX *cbc_ctx, *ecb_ctx; /* set to their cipher; keyed per operation */
};

void se05x_scp03_algs_free(se05x_scp03_algs *a)
{
    if (!a)
        return;
    EVP_MAC_CTX_free(a->mac); /* the EVP_*_CTX frees wipe their key state */
    EVP_MAC_free(a->cmac);
    EVP_CIPHER_CTX_free(a->cbc_ctx);
    EVP_CIPHER_CTX_free(a->ecb_ctx);
    EVP_CIPHER_free(a->cbc);
    EVP_CIPHER_free(a->ecb);
    free(a);
}

/* CMAC's parameters: the block cipher and, if given, the property query. */
static bool cmac_choose_cipher(EVP_MAC_CTX *mc, const char *propq)
{
    char cipher[] = "AES-128-CBC";
    OSSL_PARAM params[3];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0);
    if (propq)
        params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_PROPERTIES, (char *)propq, 0);
    params[n] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(mc, params) == 1;
}

se05x_scp03_algs *se05x_scp03_algs_new(OSSL_LIB_CTX *libctx, const char *propq)
{
    se05x_scp03_algs *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->libctx = libctx;
    a->cmac = EVP_MAC_fetch(libctx, "CMAC", propq);
    a->mac = a->cmac ? EVP_MAC_CTX_new(a->cmac) : NULL;
    a->cbc = EVP_CIPHER_fetch(libctx, "AES-128-CBC", propq);
    a->ecb = EVP_CIPHER_fetch(libctx, "AES-128-ECB", propq);
    a->cbc_ctx = EVP_CIPHER_CTX_new();
    a->ecb_ctx = EVP_CIPHER_CTX_new();
    if (!a->mac || !cmac_choose_cipher(a->mac, propq) || !a->cbc || !a->ecb || !a->cbc_ctx ||
        !a->ecb_ctx || !EVP_CipherInit_ex2(a->cbc_ctx, a->cbc, NULL, NULL, 1, NULL) ||
        !EVP_CipherInit_ex2(a->ecb_ctx, a->ecb, NULL, NULL, 1, NULL)) {
        se05x_scp03_algs_free(a);
        return NULL;
    }
    return a;
}

OSSL_LIB_CTX *se05x_scp03_algs_libctx(const se05x_scp03_algs *a)
{
    return a ? a->libctx : NULL;
}

/* ---- primitives ------------------------------------------------------ */

/* CMAC without an algs object: fetched from the default context per call. */
static se05x_status cmac_fetching(const uint8_t key[16], const uint8_t *data, size_t len,
                                  uint8_t out[16])
{
    se05x_status st = SE05X_ERR_CRYPTO;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *mc = mac ? EVP_MAC_CTX_new(mac) : NULL;
    size_t olen = 0;
    if (mc && cmac_choose_cipher(mc, NULL) && EVP_MAC_init(mc, key, 16, NULL) &&
        EVP_MAC_update(mc, data, len) && EVP_MAC_final(mc, out, &olen, 16) && olen == 16)
        st = SE05X_OK;
    EVP_MAC_CTX_free(mc);
    EVP_MAC_free(mac);
    return st;
}

se05x_status se05x_scp03_cmac_ex(se05x_scp03_algs *a, const uint8_t key[16], const uint8_t *data,
                                 size_t len, uint8_t out[16])
{
    size_t olen = 0;
    if (!a)
        return cmac_fetching(key, data, len, out);
    if (EVP_MAC_init(a->mac, key, 16, NULL) && EVP_MAC_update(a->mac, data, len) &&
        EVP_MAC_final(a->mac, out, &olen, 16) && olen == 16)
        return SE05X_OK;
    return SE05X_ERR_CRYPTO;
}

se05x_status se05x_scp03_cmac(const uint8_t key[16], const uint8_t *data, size_t len,
                              uint8_t out[16])
{
    return se05x_scp03_cmac_ex(NULL, key, data, len, out);
}

se05x_status se05x_scp03_kdf_ex(se05x_scp03_algs *a, const uint8_t key[16], uint8_t dd,
                                uint16_t lbits, const uint8_t *context, size_t clen,
                                uint8_t *out)
{
    uint8_t buf[16 + 64];
    uint8_t full[16];
    if ((lbits != 64 && lbits != 128) || clen > 64)
        return SE05X_ERR_ARG;
    memset(buf, 0, 11);
    buf[11] = dd;
    buf[12] = 0x00;
    buf[13] = (uint8_t)(lbits >> 8);
    buf[14] = (uint8_t)lbits;
    buf[15] = 0x01;
    if (clen)
        memcpy(buf + 16, context, clen);
    se05x_status st = se05x_scp03_cmac_ex(a, key, buf, 16 + clen, full);
    if (st == SE05X_OK)
        memcpy(out, full, lbits / 8);
    OPENSSL_cleanse(full, sizeof(full));
    return st;
}

se05x_status se05x_scp03_kdf(const uint8_t key[16], uint8_t dd, uint16_t lbits,
                             const uint8_t *context, size_t clen, uint8_t *out)
{
    return se05x_scp03_kdf_ex(NULL, key, dd, lbits, context, clen, out);
}

/* One AES-128 operation over whole blocks: ECB when iv is NULL. With a,
 * its prepared context is re-keyed; without, the cipher is fetched from
 * the default context. */
static se05x_status aes_blocks(se05x_scp03_algs *a, const uint8_t key[16], const uint8_t *iv,
                               bool enc, const uint8_t *in, size_t len, uint8_t *out)
{
    if (len % 16)
        return SE05X_ERR_ARG;
    EVP_CIPHER_CTX *cc = a ? (iv ? a->cbc_ctx : a->ecb_ctx) : EVP_CIPHER_CTX_new();
    const EVP_CIPHER *ciph = a ? NULL : iv ? EVP_aes_128_cbc() : EVP_aes_128_ecb();
    int n = 0, f = 0;
    se05x_status st = SE05X_ERR_CRYPTO;
    if (cc && EVP_CipherInit_ex2(cc, ciph, key, iv, enc ? 1 : 0, NULL) &&
        EVP_CIPHER_CTX_set_padding(cc, 0) && EVP_CipherUpdate(cc, out, &n, in, (int)len) &&
        EVP_CipherFinal_ex(cc, out + n, &f) && (size_t)(n + f) == len)
        st = SE05X_OK;
    if (!a)
        EVP_CIPHER_CTX_free(cc);
    return st;
}

se05x_scp03_rule se05x_scp03_rule_for_version(uint8_t major, uint8_t minor)
{
    if (major < 4 || (major == 4 && minor < 3))
        return SE05X_SCP03_RULE_3X;
    return SE05X_SCP03_RULE_7X;
}

void se05x_scp03_ctx_wipe(se05x_scp03_ctx *ctx)
{
    if (ctx)
        OPENSSL_cleanse(ctx, sizeof(*ctx));
}

/* ---- counter --------------------------------------------------------- */

static void ctr_add(uint8_t ctr[16], int delta)
{
    for (int i = 15; i >= 0 && delta; i--) {
        if (delta > 0) {
            if (++ctr[i] != 0)
                break;
        } else {
            if (ctr[i]-- != 0)
                break;
        }
    }
}

/* IV for response decryption: E(S-ENC, counter with first byte 0x80),
 * where the counter value depends on the rule (spec §5.4). */
static se05x_status rsp_iv(const se05x_scp03_ctx *ctx, uint8_t iv[16])
{
    uint8_t c[16];
    memcpy(c, ctx->ctr, 16);
    if (ctx->rule == SE05X_SCP03_RULE_3X && ctx->pending_lc == 0)
        ctr_add(c, -1);
    c[0] = 0x80;
    return aes_blocks(ctx->algs, ctx->s_enc, NULL, true, c, 16, iv);
}

/* Counter step after the response of one command (spec §5.4 and the
 * answer to open question 5 in docs/secure-channels.md). */
static void ctr_step(se05x_scp03_ctx *ctx, uint16_t sw)
{
    if (ctx->rule == SE05X_SCP03_RULE_7X)
        ctr_add(ctx->ctr, 1);
    else if (sw == 0x9000)
        ctr_add(ctx->ctr, ctx->pending_lc ? 1 : 0);
    else
        ctr_add(ctx->ctr, ctx->pending_lc == 8 ? 0 : 1);
    ctx->pending = false;
    ctx->pending_lc = 0;
}

/* ---- handshake ------------------------------------------------------- */

se05x_status se05x_scp03_derive_ex(se05x_scp03_ctx *ctx, se05x_scp03_algs *a,
                                   const se05x_scp03_static *keys, const uint8_t host_chal[8],
                                   const uint8_t card_chal[8], se05x_scp03_rule rule)
{
    uint8_t context[16];
    se05x_scp03_ctx_wipe(ctx);
    ctx->algs = a;
    memcpy(context, host_chal, 8);
    memcpy(context + 8, card_chal, 8);
    se05x_status st = se05x_scp03_kdf_ex(a, keys->enc, SE05X_SCP03_DD_S_ENC, 128, context, 16,
                                         ctx->s_enc);
    if (st == SE05X_OK)
        st = se05x_scp03_kdf_ex(a, keys->mac, SE05X_SCP03_DD_S_MAC, 128, context, 16, ctx->s_mac);
    if (st == SE05X_OK)
        st = se05x_scp03_kdf_ex(a, keys->mac, SE05X_SCP03_DD_S_RMAC, 128, context, 16,
                                ctx->s_rmac);
    if (st != SE05X_OK) {
        se05x_scp03_ctx_wipe(ctx);
        return st;
    }
    memcpy(ctx->host_chal, host_chal, 8);
    memcpy(ctx->card_chal, card_chal, 8);
    ctx->rule = rule;
    ctx->derived = true;
    return SE05X_OK;
}

se05x_status se05x_scp03_derive(se05x_scp03_ctx *ctx, const se05x_scp03_static *keys,
                                const uint8_t host_chal[8], const uint8_t card_chal[8],
                                se05x_scp03_rule rule)
{
    return se05x_scp03_derive_ex(ctx, NULL, keys, host_chal, card_chal, rule);
}

se05x_status se05x_scp03_cryptogram(const se05x_scp03_ctx *ctx, uint8_t dd, uint8_t out[8])
{
    uint8_t context[16];
    if (!ctx->derived)
        return SE05X_ERR_STATE;
    memcpy(context, ctx->host_chal, 8);
    memcpy(context + 8, ctx->card_chal, 8);
    return se05x_scp03_kdf_ex(ctx->algs, ctx->s_mac, dd, 64, context, 16, out);
}

se05x_status se05x_scp03_iu_answer(const se05x_scp03_ctx *ctx, const uint8_t divdata[10],
                                   uint8_t kvn, uint8_t out[29])
{
    memcpy(out, divdata, 10);
    out[10] = kvn;
    out[11] = 0x03; /* SCP03 */
    out[12] = 0x00; /* "i": random card challenge, no sequence counter */
    memcpy(out + 13, ctx->card_chal, 8);
    return se05x_scp03_cryptogram(ctx, SE05X_SCP03_DD_CARD_CRYPTO, out + 21);
}

se05x_status se05x_scp03_host_iu_check_ex(se05x_scp03_ctx *ctx, se05x_scp03_algs *a,
                                          const se05x_scp03_static *keys,
                                          const uint8_t host_chal[8], const uint8_t *rsp,
                                          size_t len, se05x_scp03_rule rule)
{
    uint8_t crypt[8];
    if ((len != 29 && len != 32) || rsp[11] != 0x03)
        return SE05X_ERR_RESPONSE;
    se05x_status st = se05x_scp03_derive_ex(ctx, a, keys, host_chal, rsp + 13, rule);
    if (st == SE05X_OK)
        st = se05x_scp03_cryptogram(ctx, SE05X_SCP03_DD_CARD_CRYPTO, crypt);
    if (st == SE05X_OK && CRYPTO_memcmp(crypt, rsp + 21, 8) != 0)
        st = SE05X_ERR_SCP;
    if (st != SE05X_OK)
        se05x_scp03_ctx_wipe(ctx);
    return st;
}

se05x_status se05x_scp03_host_iu_check(se05x_scp03_ctx *ctx, const se05x_scp03_static *keys,
                                       const uint8_t host_chal[8], const uint8_t *rsp,
                                       size_t len, se05x_scp03_rule rule)
{
    return se05x_scp03_host_iu_check_ex(ctx, NULL, keys, host_chal, rsp, len, rule);
}

/* MCV = CMAC(S-MAC, MCV || msg); mac8 (may be NULL) gets the first 8 bytes. */
static se05x_status chain_mac(se05x_scp03_ctx *ctx, const uint8_t *key, const uint8_t *msg,
                              size_t len, uint8_t *mcv_out, uint8_t mac8[8])
{
    uint8_t buf[16 + SE05X_APDU_MAX];
    uint8_t full[16];
    if (len > SE05X_APDU_MAX)
        return SE05X_ERR_BUFFER;
    memcpy(buf, ctx->mcv, 16);
    memcpy(buf + 16, msg, len);
    se05x_status st = se05x_scp03_cmac_ex(ctx->algs, key, buf, 16 + len, full);
    if (st == SE05X_OK) {
        if (mac8)
            memcpy(mac8, full, 8);
        if (mcv_out)
            memcpy(mcv_out, full, 16);
    }
    return st;
}

se05x_status se05x_scp03_ext_auth_build(se05x_scp03_ctx *ctx, uint8_t out[21])
{
    if (!ctx->derived || ctx->open)
        return SE05X_ERR_STATE;
    out[0] = 0x84;
    out[1] = 0x82;
    out[2] = SE05X_SCP03_LEVEL;
    out[3] = 0x00;
    out[4] = 0x10;
    se05x_status st = se05x_scp03_cryptogram(ctx, SE05X_SCP03_DD_HOST_CRYPTO, out + 5);
    memset(ctx->mcv, 0, 16);
    if (st == SE05X_OK)
        st = chain_mac(ctx, ctx->s_mac, out, 13, ctx->mcv, out + 13);
    return st;
}

void se05x_scp03_ext_auth_done(se05x_scp03_ctx *ctx)
{
    memset(ctx->ctr, 0, 16);
    ctx->ctr[15] = 1;
    ctx->open = true;
    ctx->pending = false;
}

se05x_status se05x_scp03_ext_auth_check(se05x_scp03_ctx *ctx, const uint8_t *capdu, size_t len)
{
    uint8_t crypt[8], mac[8], mcv[16];
    if (!ctx->derived || ctx->open)
        return SE05X_ERR_STATE;
    if (len < 21 || len > 22 || capdu[0] != 0x84 || capdu[1] != 0x82 || capdu[4] != 0x10)
        return SE05X_ERR_APDU;
    if (capdu[2] != SE05X_SCP03_LEVEL || capdu[3] != 0x00)
        return SE05X_ERR_UNSUPPORTED;
    se05x_status st = se05x_scp03_cryptogram(ctx, SE05X_SCP03_DD_HOST_CRYPTO, crypt);
    memset(ctx->mcv, 0, 16);
    if (st == SE05X_OK)
        st = chain_mac(ctx, ctx->s_mac, capdu, 13, mcv, mac);
    if (st != SE05X_OK)
        return st;
    if (CRYPTO_memcmp(crypt, capdu + 5, 8) != 0 || CRYPTO_memcmp(mac, capdu + 13, 8) != 0)
        return SE05X_ERR_SCP;
    memcpy(ctx->mcv, mcv, 16);
    se05x_scp03_ext_auth_done(ctx);
    return SE05X_OK;
}

/* ---- wrapping -------------------------------------------------------- */

/* ISO 9797-1 method 2 padding of in into out; returns the padded length. */
static size_t pad_m2(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t plen = (len / 16 + 1) * 16;
    memcpy(out, in, len);
    out[len] = 0x80;
    memset(out + len + 1, 0, plen - len - 1);
    return plen;
}

/* Length without M2 padding, or SIZE_MAX if the padding is malformed. */
static size_t unpad_m2(const uint8_t *buf, size_t len)
{
    size_t i = len;
    while (i > 0 && buf[i - 1] == 0x00 && len - i < 16)
        i--;
    if (i == 0 || buf[i - 1] != 0x80 || len - i >= 16)
        return SIZE_MAX;
    return i - 1;
}

se05x_status se05x_scp03_wrap_cmd(se05x_scp03_ctx *ctx, const uint8_t *capdu, size_t len,
                                  uint8_t *out, size_t cap, size_t *olen)
{
    se05x_apdu a;
    uint8_t enc[SE05X_APDU_MAX + 16 + 8];
    uint8_t iv[16];
    size_t elen = 0;
    if (!ctx->open || ctx->pending)
        return SE05X_ERR_STATE;
    se05x_status st = se05x_apdu_decode(capdu, len, &a);
    if (st != SE05X_OK)
        return st;
    if (a.lc > SE05X_APDU_MAX)
        return SE05X_ERR_BUFFER;
    if (a.lc) {
        elen = pad_m2(a.data, a.lc, enc);
        st = aes_blocks(ctx->algs, ctx->s_enc, NULL, true, ctx->ctr, 16, iv);
        if (st == SE05X_OK)
            st = aes_blocks(ctx->algs, ctx->s_enc, iv, true, enc, elen, enc);
        if (st != SE05X_OK)
            goto done;
    }
    memset(enc + elen, 0, 8); /* MAC placeholder */
    se05x_apdu w = a;
    w.cla = (uint8_t)(a.cla | 0x04);
    w.data = enc;
    w.lc = elen + 8;
    st = se05x_apdu_encode(&w, out, cap, olen);
    if (st != SE05X_OK)
        goto done;
    /* MAC input: header | Lc | encrypted data (everything before the MAC) */
    bool ext = w.extended || w.lc >= 255 || w.ne > 256;
    size_t macpos = 4 + (ext ? 3u : 1u) + elen;
    st = chain_mac(ctx, ctx->s_mac, out, macpos, ctx->mcv, out + macpos);
    if (st == SE05X_OK) {
        ctx->pending = true;
        ctx->pending_lc = a.lc;
    }
done:
    OPENSSL_cleanse(enc, sizeof(enc));
    return st;
}

se05x_status se05x_scp03_unwrap_cmd(se05x_scp03_ctx *ctx, const uint8_t *capdu, size_t len,
                                    uint8_t *out, size_t cap, size_t *olen)
{
    se05x_apdu a;
    uint8_t mac[8], mcv[16], iv[16];
    uint8_t plain[SE05X_APDU_MAX];
    if (!ctx->open || ctx->pending)
        return SE05X_ERR_STATE;
    se05x_status st = se05x_apdu_decode(capdu, len, &a);
    if (st != SE05X_OK)
        return st;
    if (!(a.cla & 0x04) || a.lc < 8)
        return SE05X_ERR_APDU;
    size_t elen = a.lc - 8;
    size_t macpos = (size_t)(a.data - capdu) + elen;
    st = chain_mac(ctx, ctx->s_mac, capdu, macpos, mcv, mac);
    if (st != SE05X_OK)
        return st;
    if (CRYPTO_memcmp(mac, a.data + elen, 8) != 0)
        return SE05X_ERR_SCP;
    memcpy(ctx->mcv, mcv, 16);
    size_t plen = 0;
    if (elen) {
        if (elen % 16 || elen > sizeof(plain))
            return SE05X_ERR_SCP;
        st = aes_blocks(ctx->algs, ctx->s_enc, NULL, true, ctx->ctr, 16, iv);
        if (st == SE05X_OK)
            st = aes_blocks(ctx->algs, ctx->s_enc, iv, false, a.data, elen, plain);
        if (st != SE05X_OK)
            goto done;
        plen = unpad_m2(plain, elen);
        if (plen == SIZE_MAX) {
            st = SE05X_ERR_SCP;
            goto done;
        }
    }
    se05x_apdu p = a;
    p.cla = (uint8_t)(a.cla & ~0x04);
    p.data = plain;
    p.lc = plen;
    st = se05x_apdu_encode(&p, out, cap, olen);
    if (st == SE05X_OK) {
        ctx->pending = true;
        ctx->pending_lc = plen;
    }
done:
    OPENSSL_cleanse(plain, sizeof(plain));
    return st;
}

se05x_status se05x_scp03_wrap_rsp(se05x_scp03_ctx *ctx, const uint8_t *data, size_t dlen,
                                  uint16_t sw, uint8_t *out, size_t cap, size_t *olen)
{
    uint8_t iv[16];
    se05x_status st = SE05X_OK;
    if (!ctx->open || !ctx->pending)
        return SE05X_ERR_STATE;
    if (sw != 0x9000) {
        if (cap < 2) {
            st = SE05X_ERR_BUFFER;
        } else {
            se05x_put_u16(out, sw);
            *olen = 2;
        }
        ctr_step(ctx, sw);
        return st;
    }
    size_t elen = dlen ? (dlen / 16 + 1) * 16 : 0;
    if (elen + 10 > cap || elen + 16 > SE05X_APDU_MAX) {
        ctr_step(ctx, sw);
        return SE05X_ERR_BUFFER;
    }
    if (dlen) {
        pad_m2(data, dlen, out);
        st = rsp_iv(ctx, iv);
        if (st == SE05X_OK)
            st = aes_blocks(ctx->algs, ctx->s_enc, iv, true, out, elen, out);
    }
    se05x_put_u16(out + elen, sw);
    if (st == SE05X_OK)
        st = chain_mac(ctx, ctx->s_rmac, out, elen + 2, NULL, out + elen);
    se05x_put_u16(out + elen + 8, sw);
    *olen = elen + 10;
    ctr_step(ctx, sw);
    return st;
}

se05x_status se05x_scp03_unwrap_rsp(se05x_scp03_ctx *ctx, const uint8_t *rapdu, size_t len,
                                    uint8_t *out, size_t cap, size_t *olen)
{
    uint8_t mac[8], iv[16];
    uint8_t buf[SE05X_APDU_MAX];
    size_t dlen;
    uint16_t sw;
    if (!ctx->open || !ctx->pending)
        return SE05X_ERR_STATE;
    se05x_status st = se05x_rapdu_split(rapdu, len, &dlen, &sw);
    if (st != SE05X_OK)
        return st;
    if (sw != 0x9000) { /* bare SW; anything else is ignored as the MW does */
        ctr_step(ctx, sw);
        if (cap < 2)
            return SE05X_ERR_BUFFER;
        se05x_put_u16(out, sw);
        *olen = 2;
        return SE05X_OK;
    }
    if (dlen < 8 || (dlen - 8) % 16 || dlen - 8 > sizeof(buf))
        return SE05X_ERR_SCP;
    size_t elen = dlen - 8;
    memcpy(buf, rapdu, elen);
    se05x_put_u16(buf + elen, sw);
    st = chain_mac(ctx, ctx->s_rmac, buf, elen + 2, NULL, mac);
    if (st != SE05X_OK)
        return st;
    if (CRYPTO_memcmp(mac, rapdu + elen, 8) != 0)
        return SE05X_ERR_SCP;
    size_t plen = 0;
    if (elen) {
        st = rsp_iv(ctx, iv);
        if (st == SE05X_OK)
            st = aes_blocks(ctx->algs, ctx->s_enc, iv, false, rapdu, elen, buf);
        if (st != SE05X_OK)
            goto done;
        plen = unpad_m2(buf, elen);
        if (plen == SIZE_MAX) {
            st = SE05X_ERR_SCP;
            goto done;
        }
    }
    if (plen + 2 > cap) {
        st = SE05X_ERR_BUFFER;
        goto done;
    }
    memcpy(out, buf, plen);
    se05x_put_u16(out + plen, sw);
    *olen = plen + 2;
    ctr_step(ctx, sw);
done:
    OPENSSL_cleanse(buf, sizeof(buf));
    return st;
}

/* ---- applet-session wrapper ----------------------------------------- */

se05x_status se05x_sesswrap_build(const uint8_t id[8], const uint8_t *inner, size_t ilen,
                                  uint8_t *out, size_t cap, size_t *olen)
{
    uint8_t data[SE05X_APDU_MAX];
    se05x_tlvw w;
    se05x_tlvw_init(&w, data, sizeof(data));
    se05x_tlvw_bytes(&w, SE05X_TAG_SESSION_ID, id, 8);
    se05x_tlvw_bytes(&w, SE05X_TAG_1, inner, ilen);
    if (se05x_tlvw_status(&w) != SE05X_OK)
        return se05x_tlvw_status(&w);
    se05x_apdu a = {.cla = 0x80, .ins = 0x05, .p1 = 0x00, .p2 = 0x00, .data = data, .lc = w.len};
    return se05x_apdu_encode(&a, out, cap, olen);
}

se05x_status se05x_sesswrap_parse(const uint8_t *data, size_t len, uint8_t id[8],
                                  const uint8_t **inner, size_t *ilen)
{
    static const se05x_tlv_expect_t exp[] = {
        {SE05X_TAG_SESSION_ID, 0, 8, 8},
        {SE05X_TAG_1, 0, 4, 0},
    };
    se05x_tlv_item it[2];
    se05x_status st = se05x_tlv_expect(data, len, exp, 2, it);
    if (st != SE05X_OK)
        return st;
    memcpy(id, it[0].val, 8);
    *inner = it[1].val;
    *ilen = it[1].len;
    return SE05X_OK;
}

se05x_status se05x_sesswrap_inner(const uint8_t *capdu, size_t len, uint8_t *out, size_t cap,
                                  size_t *olen)
{
    se05x_apdu a;
    se05x_status st = se05x_apdu_decode(capdu, len, &a);
    if (st != SE05X_OK)
        return st;
    a.ne = 0;
    a.extended = false;
    return se05x_apdu_encode(&a, out, cap, olen);
}

/* ---- ECKey sessions ------------------------------------------------- */

/* IoT applet AID (spec §1.1), carried in A6 / 4F. */
static const uint8_t ECKEY_AID[16] = {0xA0, 0x00, 0x00, 0x03, 0x96, 0x54, 0x53, 0x00,
                                      0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00};
/* A6 / 90: SCP identifier and parameters as chosen in docs/secure-channels.md. */
static const uint8_t ECKEY_SCP_PARAM[3] = {0xAB, 0x01, 0x33};
/* Key-derivation "shared info" appended to the master-key input. */
static const uint8_t ECKEY_SHARED_INFO[4] = {0x01, 0x33, 0x88, 0x10};
#define ECKEY_KEY_TYPE 0x88u  /* A6 / 80: AES */
#define ECKEY_KEY_LEN 0x10u   /* A6 / 81: 16 bytes */
#define ECKEY_CURVE_P256 0x03u /* 7F49 / F0: ECCurve NIST P-256 */
#define ECKEY_DD_MCV 0x08u    /* KDF constant of the initial MCV */

bool se05x_eckey_counter_prefix(uint8_t major, uint8_t minor)
{
    return major > 3 || (major == 3 && minor >= 5);
}

se05x_status se05x_eckey_master_ex(OSSL_LIB_CTX *libctx, const uint8_t *z, size_t zlen,
                                   const uint8_t drse[SE05X_ECKEY_DRSE_LEN], bool prefix,
                                   uint8_t out[16])
{
    static const uint8_t ctr1[4] = {0x00, 0x00, 0x00, 0x01};
    uint8_t md[32];
    unsigned int mdlen = 0;
    if (!z || !drse || !out)
        return SE05X_ERR_ARG;
    EVP_MD *sha = EVP_MD_fetch(libctx, "SHA256", NULL);
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    se05x_status st = SE05X_ERR_CRYPTO;
    if (sha && mc && EVP_DigestInit_ex2(mc, sha, NULL) &&
        (!prefix || EVP_DigestUpdate(mc, ctr1, sizeof(ctr1))) && EVP_DigestUpdate(mc, z, zlen) &&
        EVP_DigestUpdate(mc, drse, SE05X_ECKEY_DRSE_LEN) &&
        EVP_DigestUpdate(mc, ECKEY_SHARED_INFO, sizeof(ECKEY_SHARED_INFO)) &&
        EVP_DigestFinal_ex(mc, md, &mdlen) && mdlen == 32) {
        memcpy(out, md, 16);
        st = SE05X_OK;
    }
    EVP_MD_CTX_free(mc);
    EVP_MD_free(sha);
    OPENSSL_cleanse(md, sizeof(md));
    return st;
}

se05x_status se05x_eckey_master(const uint8_t *z, size_t zlen,
                                const uint8_t drse[SE05X_ECKEY_DRSE_LEN], bool prefix,
                                uint8_t out[16])
{
    return se05x_eckey_master_ex(NULL, z, zlen, drse, prefix, out);
}

se05x_status se05x_eckey_receipt_ex(se05x_scp03_algs *a, const uint8_t master[16],
                                    const uint8_t *signed_part, size_t len,
                                    uint8_t out[SE05X_ECKEY_RECEIPT_LEN])
{
    if (!master || !signed_part || !out)
        return SE05X_ERR_ARG;
    return se05x_scp03_cmac_ex(a, master, signed_part, len, out);
}

se05x_status se05x_eckey_receipt(const uint8_t master[16], const uint8_t *signed_part,
                                 size_t len, uint8_t out[SE05X_ECKEY_RECEIPT_LEN])
{
    return se05x_eckey_receipt_ex(NULL, master, signed_part, len, out);
}

se05x_status se05x_eckey_channel_ex(se05x_scp03_ctx *ctx, se05x_scp03_algs *a,
                                    const uint8_t master[16])
{
    if (!ctx || !master)
        return SE05X_ERR_ARG;
    se05x_scp03_ctx_wipe(ctx);
    ctx->algs = a;
    se05x_status st = se05x_scp03_kdf_ex(a, master, SE05X_SCP03_DD_S_ENC, 128, NULL, 0, ctx->s_enc);
    if (st == SE05X_OK)
        st = se05x_scp03_kdf_ex(a, master, SE05X_SCP03_DD_S_MAC, 128, NULL, 0, ctx->s_mac);
    if (st == SE05X_OK)
        st = se05x_scp03_kdf_ex(a, master, SE05X_SCP03_DD_S_RMAC, 128, NULL, 0, ctx->s_rmac);
    if (st == SE05X_OK)
        st = se05x_scp03_kdf_ex(a, master, ECKEY_DD_MCV, 128, NULL, 0, ctx->mcv);
    if (st != SE05X_OK) {
        se05x_scp03_ctx_wipe(ctx);
        return st;
    }
    ctx->rule = SE05X_SCP03_RULE_7X;
    ctx->derived = true;
    memset(ctx->ctr, 0, 16);
    ctx->ctr[15] = 1;
    ctx->open = true;
    ctx->pending = false;
    return SE05X_OK;
}

se05x_status se05x_eckey_channel(se05x_scp03_ctx *ctx, const uint8_t master[16])
{
    return se05x_eckey_channel_ex(ctx, NULL, master);
}

/* A two-byte tag (first byte t1) written with the shared TLV writer. */
static void tlvw_tag2(se05x_tlvw *w, uint8_t t1, uint8_t t2, const uint8_t *val, size_t len)
{
    se05x_tlvw_raw(w, &t1, 1);
    se05x_tlvw_bytes(w, t2, val, len);
}

se05x_status se05x_eckey_auth_body(const uint8_t point[SE05X_ECKEY_POINT_LEN], uint8_t *out,
                                   size_t cap, size_t *olen)
{
    uint8_t a6[64], pk[96];
    se05x_tlvw w;
    if (!point || !out || !olen)
        return SE05X_ERR_ARG;
    se05x_tlvw_init(&w, a6, sizeof(a6));
    se05x_tlvw_bytes(&w, 0x4F, ECKEY_AID, sizeof(ECKEY_AID));
    se05x_tlvw_bytes(&w, 0x90, ECKEY_SCP_PARAM, sizeof(ECKEY_SCP_PARAM));
    se05x_tlvw_u8(&w, 0x80, ECKEY_KEY_TYPE);
    se05x_tlvw_u8(&w, 0x81, ECKEY_KEY_LEN);
    size_t a6len = w.len;
    se05x_tlvw_init(&w, pk, sizeof(pk));
    se05x_tlvw_bytes(&w, 0xB0, point, SE05X_ECKEY_POINT_LEN);
    se05x_tlvw_u8(&w, 0xF0, ECKEY_CURVE_P256);
    size_t pklen = w.len;
    se05x_tlvw_init(&w, out, cap);
    se05x_tlvw_bytes(&w, 0xA6, a6, a6len);
    tlvw_tag2(&w, 0x7F, 0x49, pk, pklen);
    if (se05x_tlvw_status(&w) != SE05X_OK)
        return se05x_tlvw_status(&w);
    *olen = w.len;
    return SE05X_OK;
}

se05x_status se05x_eckey_auth_add_sig(uint8_t *buf, size_t cap, size_t *len,
                                      const uint8_t *sig, size_t siglen)
{
    se05x_tlvw w;
    if (!buf || !len || !sig || *len > cap)
        return SE05X_ERR_ARG;
    se05x_tlvw_init(&w, buf, cap);
    w.len = *len;
    tlvw_tag2(&w, 0x5F, 0x37, sig, siglen);
    if (se05x_tlvw_status(&w) != SE05X_OK)
        return se05x_tlvw_status(&w);
    *len = w.len;
    return SE05X_OK;
}

/* Read a TLV with a two-byte tag t1 t2 at *pos. */
static se05x_status tlv_next_tag2(const uint8_t *buf, size_t len, size_t *pos, uint8_t t1,
                                  uint8_t t2, const uint8_t **val, size_t *vlen)
{
    uint8_t tag = 0;
    if (*pos >= len)
        return SE05X_ERR_TLV_MISSING;
    if (buf[*pos] != t1)
        return SE05X_ERR_TLV_UNEXPECTED;
    (*pos)++;
    se05x_status st = se05x_tlv_next(buf, len, pos, &tag, val, vlen);
    if (st == SE05X_OK && tag != t2)
        st = SE05X_ERR_TLV_UNEXPECTED;
    return st;
}

/* The A6 control reference template: every value must be ours. */
static se05x_status parse_a6(const uint8_t *v, size_t len)
{
    static const se05x_tlv_expect_t exp[] = {
        {0x4F, 0, 16, 16}, {0x90, 0, 3, 3}, {0x80, 0, 1, 1}, {0x81, 0, 1, 1}};
    se05x_tlv_item it[4];
    se05x_status st = se05x_tlv_expect(v, len, exp, 4, it);
    if (st != SE05X_OK)
        return st;
    if (memcmp(it[0].val, ECKEY_AID, 16) != 0 || memcmp(it[1].val, ECKEY_SCP_PARAM, 3) != 0 ||
        it[2].val[0] != ECKEY_KEY_TYPE || it[3].val[0] != ECKEY_KEY_LEN)
        return SE05X_ERR_APDU;
    return SE05X_OK;
}

se05x_status se05x_eckey_auth_parse(const uint8_t *data, size_t len, size_t *signed_len,
                                    const uint8_t **point, const uint8_t **sig, size_t *siglen)
{
    static const se05x_tlv_expect_t pexp[] = {{0xB0, 0, SE05X_ECKEY_POINT_LEN,
                                               SE05X_ECKEY_POINT_LEN},
                                              {0xF0, 0, 1, 1}};
    se05x_tlv_item it[2];
    const uint8_t *v = NULL;
    size_t vlen = 0, pos = 0;
    uint8_t tag = 0;
    if (!data || !signed_len || !point || !sig || !siglen)
        return SE05X_ERR_ARG;
    se05x_status st = se05x_tlv_next(data, len, &pos, &tag, &v, &vlen);
    if (st != SE05X_OK)
        return st;
    if (tag != 0xA6)
        return SE05X_ERR_TLV_UNEXPECTED;
    if ((st = parse_a6(v, vlen)) != SE05X_OK)
        return st;
    if ((st = tlv_next_tag2(data, len, &pos, 0x7F, 0x49, &v, &vlen)) != SE05X_OK)
        return st;
    if ((st = se05x_tlv_expect(v, vlen, pexp, 2, it)) != SE05X_OK)
        return st;
    if (it[0].val[0] != 0x04 || it[1].val[0] != ECKEY_CURVE_P256)
        return SE05X_ERR_APDU;
    *signed_len = pos;
    *point = it[0].val;
    if ((st = tlv_next_tag2(data, len, &pos, 0x5F, 0x37, sig, siglen)) != SE05X_OK)
        return st;
    if (pos != len)
        return SE05X_ERR_TLV_TRAILING;
    if (*siglen == 0)
        return SE05X_ERR_TLV_LENGTH;
    return SE05X_OK;
}

EVP_PKEY *se05x_eckey_point_pkey_ex(OSSL_LIB_CTX *libctx,
                                    const uint8_t point[SE05X_ECKEY_POINT_LEN])
{
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point,
                                          SE05X_ECKEY_POINT_LEN),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pk = NULL;
    if (!point || point[0] != 0x04)
        return NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(libctx, "EC", NULL);
    if (!pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
        EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(pc);
    if (!pk)
        return NULL;
    /* fromdata does not insist on the point being on the curve */
    EVP_PKEY_CTX *cc = EVP_PKEY_CTX_new_from_pkey(libctx, pk, NULL);
    int ok = cc && EVP_PKEY_public_check(cc) == 1;
    EVP_PKEY_CTX_free(cc);
    if (!ok) {
        EVP_PKEY_free(pk);
        return NULL;
    }
    return pk;
}

EVP_PKEY *se05x_eckey_point_pkey(const uint8_t point[SE05X_ECKEY_POINT_LEN])
{
    return se05x_eckey_point_pkey_ex(NULL, point);
}

se05x_status se05x_eckey_ecdh_ex(OSSL_LIB_CTX *libctx, EVP_PKEY *priv,
                                 const uint8_t peer[SE05X_ECKEY_POINT_LEN], uint8_t z[32])
{
    if (!priv || !peer || !z)
        return SE05X_ERR_ARG;
    EVP_PKEY *pub = se05x_eckey_point_pkey_ex(libctx, peer);
    if (!pub)
        return SE05X_ERR_ARG;
    se05x_status st = SE05X_ERR_CRYPTO;
    size_t zlen = 32;
    EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(libctx, priv, NULL);
    if (dc && EVP_PKEY_derive_init(dc) > 0 && EVP_PKEY_derive_set_peer(dc, pub) > 0 &&
        EVP_PKEY_derive(dc, z, &zlen) > 0 && zlen == 32)
        st = SE05X_OK;
    EVP_PKEY_CTX_free(dc);
    EVP_PKEY_free(pub);
    return st;
}

se05x_status se05x_eckey_ecdh(EVP_PKEY *priv, const uint8_t peer[SE05X_ECKEY_POINT_LEN],
                              uint8_t z[32])
{
    return se05x_eckey_ecdh_ex(NULL, priv, peer, z);
}

/* ---- platform key file ---------------------------------------------- */

static void kerr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void kerr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Parse exactly 32 hex digits from s (trailing blanks allowed). */
static se05x_status parse_key_hex(const char *s, uint8_t out[16], const char **why)
{
    size_t n = 0;
    while (s[n] && !isspace((unsigned char)s[n]))
        n++;
    for (size_t i = n; s[i]; i++) {
        if (!isspace((unsigned char)s[i])) {
            *why = "unexpected text after the key";
            return SE05X_ERR_ARG;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (hexval((unsigned char)s[i]) < 0) {
            *why = "key is not hexadecimal";
            return SE05X_ERR_ARG;
        }
    }
    if (n != 32) {
        *why = "key must be 32 hex digits (AES-128)";
        return SE05X_ERR_ARG;
    }
    for (size_t i = 0; i < 16; i++)
        out[i] = (uint8_t)(hexval((unsigned char)s[2 * i]) << 4 | hexval((unsigned char)s[2 * i + 1]));
    return SE05X_OK;
}

/* One line of the key file; *seen collects the keys found (bits 1/2/4). */
static se05x_status parse_key_line(char *line, uint8_t keys[3][16], unsigned *seen,
                                   const char **why)
{
    static const char *names[] = {"ENC", "MAC", "DEK"};
    char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == '#')
        return SE05X_OK;
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]))
        n++;
    for (int k = 0; k < 3; k++) {
        if (n != 3 || strncasecmp(p, names[k], 3) != 0)
            continue;
        if (*seen & (1u << k)) {
            *why = "key given twice";
            return SE05X_ERR_ARG;
        }
        const char *v = p + n;
        while (isspace((unsigned char)*v))
            v++;
        se05x_status st = parse_key_hex(v, keys[k], why);
        if (st == SE05X_OK)
            *seen |= 1u << k;
        return st;
    }
    *why = "unknown line (expected ENC, MAC or DEK followed by 32 hex digits)";
    return SE05X_ERR_ARG;
}

se05x_status se05x_scp03_keyfile_read(const char *path, uint8_t enc[16], uint8_t mac[16],
                                      uint8_t dek[16], char *err, size_t errlen)
{
    if (!path || !enc || !mac || !dek) {
        kerr(err, errlen, "no SCP03 key file given");
        return SE05X_ERR_ARG;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        kerr(err, errlen, "cannot read SCP03 key file %s: %s", path, strerror(errno));
        return SE05X_ERR_IO;
    }
    uint8_t k[3][16];
    memset(k, 0, sizeof(k));
    char line[512];
    unsigned seen = 0, lineno = 0;
    const char *why = NULL;
    se05x_status st = SE05X_OK;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            why = "line too long";
            st = SE05X_ERR_ARG;
            break;
        }
        st = parse_key_line(line, k, &seen, &why);
        if (st != SE05X_OK)
            break;
    }
    if (st == SE05X_OK && ferror(f)) {
        kerr(err, errlen, "cannot read SCP03 key file %s: %s", path, strerror(errno));
        st = SE05X_ERR_IO;
    } else if (st != SE05X_OK) {
        kerr(err, errlen, "%s:%u: %s", path, lineno, why);
    } else if (seen != 7u) {
        kerr(err, errlen, "%s: missing %s key", path,
             !(seen & 1u) ? "ENC" : !(seen & 2u) ? "MAC" : "DEK");
        st = SE05X_ERR_ARG;
    }
    fclose(f);
    OPENSSL_cleanse(line, sizeof(line));
    if (st == SE05X_OK) {
        memcpy(enc, k[0], 16);
        memcpy(mac, k[1], 16);
        memcpy(dek, k[2], 16);
    }
    OPENSSL_cleanse(k, sizeof(k));
    return st;
}

/* SE050E (OEF 0001A921) development defaults (public, NXP AN12436). */
const uint8_t se05x_scp03_se050e_enc[16] = {0xD2, 0xDB, 0x63, 0xE7, 0xA0, 0xA5, 0xAE, 0xD7,
                                            0x2A, 0x64, 0x60, 0xC4, 0xDF, 0xDC, 0xAF, 0x64};
const uint8_t se05x_scp03_se050e_mac[16] = {0x73, 0x8D, 0x5B, 0x79, 0x8E, 0xD2, 0x41, 0xB0,
                                            0xB2, 0x47, 0x68, 0x51, 0x4B, 0xFB, 0xA9, 0x5B};
const uint8_t se05x_scp03_se050e_dek[16] = {0x67, 0x02, 0xDA, 0xC3, 0x09, 0x42, 0xB2, 0xC8,
                                            0x5E, 0x7F, 0x47, 0xB4, 0x2C, 0xED, 0x4E, 0x7F};
