/* Unit tests of the shared SCP03 primitives (hostlib/src/core/scp03.c):
 * CMAC known answers, KDF and cryptograms against an independent
 * computation with libcrypto, a full host <-> card round trip using the
 * primitives on both ends (handshake, wrapped commands with and without
 * data, bare error SWs, counter rules of applet 7.x and 3.x), independent
 * checks of C-ENC/C-MAC/R-ENC bytes, and tampering on both directions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "se05x/apdu.h"
#include "se05x/scp03.h"

/* ---- independent reference helpers (libcrypto only) ------------------ */

static void ref_cmac(const uint8_t key[16], const uint8_t *msg, size_t len, uint8_t out[16])
{
    EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string("cipher", (char *)"AES-128-CBC", 0),
                      OSSL_PARAM_construct_end()};
    size_t ol = 0;
    assert_int_equal(EVP_MAC_init(c, key, 16, p), 1);
    assert_int_equal(EVP_MAC_update(c, msg, len), 1);
    assert_int_equal(EVP_MAC_final(c, out, &ol, 16), 1);
    assert_int_equal(ol, 16);
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
}

static void ref_aes(const uint8_t key[16], const uint8_t *iv, int enc, const uint8_t *in,
                    size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;
    assert_int_equal(EVP_CipherInit_ex2(c, iv ? EVP_aes_128_cbc() : EVP_aes_128_ecb(), key, iv,
                                        enc, NULL), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_CipherUpdate(c, out, &n, in, (int)len), 1);
    assert_int_equal(EVP_CipherFinal_ex(c, out + n, &f), 1);
    EVP_CIPHER_CTX_free(c);
}

/* Derivation data per GP SCP03 written out by hand, one CMAC block. */
static void ref_kdf(const uint8_t key[16], uint8_t dd, uint16_t lbits, const uint8_t hc[8],
                    const uint8_t cc[8], uint8_t out[16])
{
    uint8_t d[32] = {0};
    d[11] = dd;
    d[13] = (uint8_t)(lbits >> 8);
    d[14] = (uint8_t)lbits;
    d[15] = 1;
    memcpy(d + 16, hc, 8);
    memcpy(d + 24, cc, 8);
    ref_cmac(key, d, 32, out);
}

static const se05x_scp03_static KEYS = {
    .enc = {0x35, 0xC2, 0x56, 0x45, 0x89, 0x58, 0xA3, 0x4F, 0x61, 0x36, 0x15, 0x5F, 0x82, 0x09, 0xD6, 0xCD},
    .mac = {0xAF, 0x17, 0x7D, 0x5D, 0xBD, 0xF7, 0xC0, 0xD5, 0xC1, 0x0A, 0x05, 0xB9, 0xF1, 0x60, 0x7F, 0x78},
};
static const uint8_t HC[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t CC[8] = {0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8};
static const uint8_t DIV[10] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};

/* ---- primitives ------------------------------------------------------ */

static void test_cmac_rfc4493(void **state)
{
    (void)state;
    static const uint8_t k[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                  0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
    static const uint8_t m[16] = {0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
                                  0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a};
    static const uint8_t t0[16] = {0xbb, 0x1d, 0x69, 0x29, 0xe9, 0x59, 0x37, 0x28,
                                   0x7f, 0xa3, 0x7d, 0x12, 0x9b, 0x75, 0x67, 0x46};
    static const uint8_t t1[16] = {0x07, 0x0a, 0x16, 0xb4, 0x6b, 0x4d, 0x41, 0x44,
                                   0xf7, 0x9b, 0xdd, 0x9d, 0xd0, 0x4a, 0x28, 0x7c};
    uint8_t out[16];
    assert_int_equal(se05x_scp03_cmac(k, NULL, 0, out), SE05X_OK);
    assert_memory_equal(out, t0, 16);
    assert_int_equal(se05x_scp03_cmac(k, m, 16, out), SE05X_OK);
    assert_memory_equal(out, t1, 16);
}

static void test_kdf_and_cryptograms(void **state)
{
    (void)state;
    se05x_scp03_ctx ctx;
    uint8_t ref[16], crypt[8];
    assert_int_equal(se05x_scp03_derive(&ctx, &KEYS, HC, CC, SE05X_SCP03_RULE_7X), SE05X_OK);
    ref_kdf(KEYS.enc, 0x04, 0x80, HC, CC, ref);
    assert_memory_equal(ctx.s_enc, ref, 16);
    ref_kdf(KEYS.mac, 0x06, 0x80, HC, CC, ref);
    assert_memory_equal(ctx.s_mac, ref, 16);
    ref_kdf(KEYS.mac, 0x07, 0x80, HC, CC, ref);
    assert_memory_equal(ctx.s_rmac, ref, 16);
    /* cryptograms: S-MAC, constants 00/01, L = 64 bits, first 8 bytes */
    ref_kdf(ctx.s_mac, 0x00, 0x40, HC, CC, ref);
    assert_int_equal(se05x_scp03_cryptogram(&ctx, SE05X_SCP03_DD_CARD_CRYPTO, crypt), SE05X_OK);
    assert_memory_equal(crypt, ref, 8);
    ref_kdf(ctx.s_mac, 0x01, 0x40, HC, CC, ref);
    assert_int_equal(se05x_scp03_cryptogram(&ctx, SE05X_SCP03_DD_HOST_CRYPTO, crypt), SE05X_OK);
    assert_memory_equal(crypt, ref, 8);
    /* the KDF rejects lengths other than 64/128 bits */
    assert_int_equal(se05x_scp03_kdf(KEYS.enc, 4, 256, HC, 8, ref), SE05X_ERR_ARG);
}

static void test_rule_for_version(void **state)
{
    (void)state;
    assert_int_equal(se05x_scp03_rule_for_version(3, 1), SE05X_SCP03_RULE_3X);
    assert_int_equal(se05x_scp03_rule_for_version(4, 2), SE05X_SCP03_RULE_3X);
    assert_int_equal(se05x_scp03_rule_for_version(4, 3), SE05X_SCP03_RULE_7X);
    assert_int_equal(se05x_scp03_rule_for_version(7, 2), SE05X_SCP03_RULE_7X);
}

/* ---- handshake ------------------------------------------------------- */

static void handshake(se05x_scp03_ctx *host, se05x_scp03_ctx *card, se05x_scp03_rule rule)
{
    uint8_t iu[29], ea[21];
    assert_int_equal(se05x_scp03_derive(card, &KEYS, HC, CC, rule), SE05X_OK);
    assert_int_equal(se05x_scp03_iu_answer(card, DIV, 0x0B, iu), SE05X_OK);
    assert_memory_equal(iu, DIV, 10);
    assert_int_equal(iu[10], 0x0B);
    assert_int_equal(iu[11], 0x03);
    assert_memory_equal(iu + 13, CC, 8);
    assert_int_equal(se05x_scp03_host_iu_check(host, &KEYS, HC, iu, 29, rule), SE05X_OK);
    assert_int_equal(se05x_scp03_ext_auth_build(host, ea), SE05X_OK);
    static const uint8_t hdr[5] = {0x84, 0x82, 0x33, 0x00, 0x10};
    assert_memory_equal(ea, hdr, 5);
    /* C-MAC = CMAC(S-MAC, 16 zero bytes || 84 82 33 00 10 || host cryptogram) */
    uint8_t m[29] = {0}, ref[16];
    memcpy(m + 16, ea, 13);
    ref_cmac(host->s_mac, m, 29, ref);
    assert_memory_equal(ea + 13, ref, 8);
    assert_memory_equal(host->mcv, ref, 16);
    assert_int_equal(se05x_scp03_ext_auth_check(card, ea, sizeof(ea)), SE05X_OK);
    se05x_scp03_ext_auth_done(host);
    assert_true(card->open);
    assert_memory_equal(card->mcv, host->mcv, 16);
    assert_int_equal(host->ctr[15], 1);
}

static void test_handshake_failures(void **state)
{
    (void)state;
    se05x_scp03_ctx host, card;
    uint8_t iu[32], ea[21];
    se05x_scp03_static wrong = KEYS;
    wrong.mac[0] ^= 1;
    assert_int_equal(se05x_scp03_derive(&card, &KEYS, HC, CC, SE05X_SCP03_RULE_7X), SE05X_OK);
    assert_int_equal(se05x_scp03_iu_answer(&card, DIV, 0x0B, iu), SE05X_OK);
    /* wrong static keys on the host: card cryptogram mismatch */
    assert_int_equal(se05x_scp03_host_iu_check(&host, &wrong, HC, iu, 29, 0), SE05X_ERR_SCP);
    assert_false(host.derived);
    /* malformed answers */
    assert_int_equal(se05x_scp03_host_iu_check(&host, &KEYS, HC, iu, 28, 0), SE05X_ERR_RESPONSE);
    iu[11] = 0x02;
    assert_int_equal(se05x_scp03_host_iu_check(&host, &KEYS, HC, iu, 29, 0), SE05X_ERR_RESPONSE);
    iu[11] = 0x03;
    /* the 32-byte form (sequence counter appended) is accepted */
    assert_int_equal(se05x_scp03_host_iu_check(&host, &KEYS, HC, iu, 32, 0), SE05X_OK);
    assert_int_equal(se05x_scp03_ext_auth_build(&host, ea), SE05X_OK);
    /* wrong host cryptogram / wrong MAC / wrong level are refused */
    uint8_t bad[21];
    memcpy(bad, ea, 21);
    bad[5] ^= 0x80;
    assert_int_equal(se05x_scp03_ext_auth_check(&card, bad, 21), SE05X_ERR_SCP);
    memcpy(bad, ea, 21);
    bad[20] ^= 0x01;
    assert_int_equal(se05x_scp03_ext_auth_check(&card, bad, 21), SE05X_ERR_SCP);
    memcpy(bad, ea, 21);
    bad[2] = 0x01;
    assert_int_equal(se05x_scp03_ext_auth_check(&card, bad, 21), SE05X_ERR_UNSUPPORTED);
    assert_int_equal(se05x_scp03_ext_auth_check(&card, ea, 20), SE05X_ERR_APDU);
    assert_false(card.open);
    assert_int_equal(se05x_scp03_ext_auth_check(&card, ea, 21), SE05X_OK);
    /* wrapping before the handshake is a state error */
    se05x_scp03_ctx fresh;
    memset(&fresh, 0, sizeof(fresh));
    uint8_t cmd[4] = {0x80, 0x04, 0x00, 0x20}, out[64];
    size_t ol;
    assert_int_equal(se05x_scp03_wrap_cmd(&fresh, cmd, 4, out, sizeof(out), &ol), SE05X_ERR_STATE);
}

/* ---- round trip ------------------------------------------------------ */

/* Host wraps cmd, card unwraps (must equal cmd), card answers rsp data +
 * sw, host unwraps (must equal). Returns the wrapped response length. */
static size_t exchange(se05x_scp03_ctx *host, se05x_scp03_ctx *card, const uint8_t *cmd,
                       size_t clen, const uint8_t *rdata, size_t rdlen, uint16_t sw)
{
    uint8_t w[SE05X_APDU_MAX], p[SE05X_APDU_MAX], r[SE05X_APDU_MAX], u[SE05X_APDU_MAX];
    size_t wl = 0, pl = 0, rl = 0, ul = 0;
    assert_int_equal(se05x_scp03_wrap_cmd(host, cmd, clen, w, sizeof(w), &wl), SE05X_OK);
    assert_int_equal(w[0], cmd[0] | 0x04);
    assert_int_equal(se05x_scp03_unwrap_cmd(card, w, wl, p, sizeof(p), &pl), SE05X_OK);
    assert_int_equal(pl, clen);
    assert_memory_equal(p, cmd, clen);
    assert_memory_equal(card->mcv, host->mcv, 16);
    assert_int_equal(se05x_scp03_wrap_rsp(card, rdata, rdlen, sw, r, sizeof(r), &rl), SE05X_OK);
    if (sw != 0x9000)
        assert_int_equal(rl, 2);
    assert_int_equal(se05x_scp03_unwrap_rsp(host, r, rl, u, sizeof(u), &ul), SE05X_OK);
    size_t want = sw == 0x9000 ? rdlen : 0;
    assert_int_equal(ul, want + 2);
    if (want)
        assert_memory_equal(u, rdata, want);
    assert_int_equal(u[ul - 2], sw >> 8);
    assert_int_equal(u[ul - 1], sw & 0xFF);
    assert_memory_equal(card->ctr, host->ctr, 16);
    return rl;
}

static uint32_t ctr_low(const se05x_scp03_ctx *c)
{
    return (uint32_t)c->ctr[12] << 24 | (uint32_t)c->ctr[13] << 16 | (uint32_t)c->ctr[14] << 8 |
           c->ctr[15];
}

static void test_round_trip_7x(void **state)
{
    (void)state;
    se05x_scp03_ctx host, card;
    handshake(&host, &card, SE05X_SCP03_RULE_7X);
    static const uint8_t getver[] = {0x80, 0x04, 0x00, 0x20, 0x00};
    static const uint8_t ver[] = {7, 2, 0, 0x3F, 0xFF, 1, 0};
    exchange(&host, &card, getver, sizeof(getver), ver, sizeof(ver), 0x9000);
    assert_int_equal(ctr_low(&host), 2);
    /* data, exactly one block, with a 16-byte answer */
    uint8_t cmd[5 + 16] = {0x80, 0x02, 0x00, 0x00, 16};
    memset(cmd + 5, 0x41, 16);
    uint8_t rsp[16];
    memset(rsp, 0x5A, 16);
    assert_int_equal(exchange(&host, &card, cmd, sizeof(cmd), rsp, 16, 0x9000), 32 + 8 + 2);
    assert_int_equal(ctr_low(&host), 3);
    /* error SW: bare 2 bytes, counter still advances */
    exchange(&host, &card, cmd, sizeof(cmd), NULL, 0, 0x6985);
    assert_int_equal(ctr_low(&host), 4);
    static const uint8_t nodata[] = {0x80, 0x04, 0x00, 0x1C};
    exchange(&host, &card, nodata, sizeof(nodata), NULL, 0, 0x6A80);
    assert_int_equal(ctr_low(&host), 5);
    /* 9000 without data: R-MAC only (10 bytes) */
    assert_int_equal(exchange(&host, &card, nodata, sizeof(nodata), NULL, 0, 0x9000), 10);
    assert_int_equal(ctr_low(&host), 6);
    /* large command (extended Lc after wrapping) with extended Le */
    uint8_t big[7 + 300 + 2] = {0x80, 0x01, 0x00, 0x00, 0x00, 0x01, 0x2C};
    for (int i = 0; i < 300; i++)
        big[7 + i] = (uint8_t)i;
    uint8_t bigrsp[600];
    for (int i = 0; i < 600; i++)
        bigrsp[i] = (uint8_t)(i * 7);
    exchange(&host, &card, big, sizeof(big), bigrsp, sizeof(bigrsp), 0x9000);
    assert_int_equal(ctr_low(&host), 7);
}

/* Independent check of the bytes of one wrapped command and response. */
static void test_wire_bytes(void **state)
{
    (void)state;
    se05x_scp03_ctx host, card;
    handshake(&host, &card, SE05X_SCP03_RULE_7X);
    uint8_t mcv0[16], ctr[16] = {0}, iv[16], enc[16], mac[16];
    memcpy(mcv0, host.mcv, 16);
    ctr[15] = 1;
    static const uint8_t cmd[] = {0x80, 0x04, 0x00, 0x27, 0x06, 0x41, 0x04, 0x7F, 0xFF, 0x02, 0x06};
    uint8_t w[64];
    size_t wl = 0;
    assert_int_equal(se05x_scp03_wrap_cmd(&host, cmd, sizeof(cmd), w, sizeof(w), &wl), SE05X_OK);
    assert_int_equal(wl, 5 + 16 + 8);
    static const uint8_t hdr[] = {0x84, 0x04, 0x00, 0x27, 24};
    assert_memory_equal(w, hdr, 5);
    uint8_t padded[16] = {0x41, 0x04, 0x7F, 0xFF, 0x02, 0x06, 0x80};
    ref_aes(host.s_enc, NULL, 1, ctr, 16, iv);
    ref_aes(host.s_enc, iv, 1, padded, 16, enc);
    assert_memory_equal(w + 5, enc, 16);
    uint8_t m[16 + 21];
    memcpy(m, mcv0, 16);
    memcpy(m + 16, w, 21);
    ref_cmac(host.s_mac, m, sizeof(m), mac);
    assert_memory_equal(w + 21, mac, 8);
    /* response: IV = E(S-ENC, 80 || counter[1..15]), R-MAC over MCV || enc || SW */
    uint8_t p[64], r[64], u[64];
    size_t pl, rl, ul;
    assert_int_equal(se05x_scp03_unwrap_cmd(&card, w, wl, p, sizeof(p), &pl), SE05X_OK);
    static const uint8_t data[] = {0x41, 0x01, 0x01};
    assert_int_equal(se05x_scp03_wrap_rsp(&card, data, 3, 0x9000, r, sizeof(r), &rl), SE05X_OK);
    assert_int_equal(rl, 16 + 8 + 2);
    uint8_t rctr[16] = {0x80}, dec[16];
    rctr[15] = 1;
    ref_aes(host.s_enc, NULL, 1, rctr, 16, iv);
    ref_aes(host.s_enc, iv, 0, r, 16, dec);
    static const uint8_t want[16] = {0x41, 0x01, 0x01, 0x80};
    assert_memory_equal(dec, want, 16);
    uint8_t rm[16 + 18];
    memcpy(rm, host.mcv, 16);
    memcpy(rm + 16, r, 16);
    rm[32] = 0x90;
    rm[33] = 0x00;
    ref_cmac(host.s_rmac, rm, sizeof(rm), mac);
    assert_memory_equal(r + 16, mac, 8);
    assert_int_equal(se05x_scp03_unwrap_rsp(&host, r, rl, u, sizeof(u), &ul), SE05X_OK);
    assert_int_equal(ul, 5);
}

static void test_round_trip_3x(void **state)
{
    (void)state;
    se05x_scp03_ctx host, card;
    handshake(&host, &card, SE05X_SCP03_RULE_3X);
    uint8_t cmd[5 + 6] = {0x80, 0x04, 0x00, 0x27, 6, 0x41, 0x04, 1, 2, 3, 4};
    static const uint8_t nodata[] = {0x80, 0x04, 0x00, 0x20, 0x00};
    static const uint8_t ver[] = {3, 1, 0, 0x3F, 0xFF, 1, 0};
    uint8_t one = 1;
    /* data + 9000: counter advances */
    exchange(&host, &card, cmd, sizeof(cmd), &one, 1, 0x9000);
    assert_int_equal(ctr_low(&host), 2);
    /* no data + 9000: counter stays; the response IV uses counter - 1 */
    {
        uint8_t w[64], p[64], r[64], u[64], iv[16], dec[16];
        size_t wl, pl, rl, ul;
        assert_int_equal(se05x_scp03_wrap_cmd(&host, nodata, 5, w, 64, &wl), SE05X_OK);
        assert_int_equal(se05x_scp03_unwrap_cmd(&card, w, wl, p, 64, &pl), SE05X_OK);
        assert_int_equal(se05x_scp03_wrap_rsp(&card, ver, 7, 0x9000, r, 64, &rl), SE05X_OK);
        uint8_t rctr[16] = {0x80};
        rctr[15] = 1; /* counter 2 - 1 */
        ref_aes(card.s_enc, NULL, 1, rctr, 16, iv);
        ref_aes(card.s_enc, iv, 0, r, 16, dec);
        assert_memory_equal(dec, ver, 7);
        assert_int_equal(se05x_scp03_unwrap_rsp(&host, r, rl, u, 64, &ul), SE05X_OK);
        assert_memory_equal(u, ver, 7);
    }
    assert_int_equal(ctr_low(&host), 2);
    assert_int_equal(ctr_low(&card), 2);
    exchange(&host, &card, nodata, sizeof(nodata), ver, sizeof(ver), 0x9000);
    assert_int_equal(ctr_low(&host), 2);
    /* no data + error SW: advances */
    exchange(&host, &card, nodata, sizeof(nodata), NULL, 0, 0x6985);
    assert_int_equal(ctr_low(&host), 3);
    /* data (6 bytes) + error SW: advances */
    exchange(&host, &card, cmd, sizeof(cmd), NULL, 0, 0x6A80);
    assert_int_equal(ctr_low(&host), 4);
    /* exactly 8 plain data bytes + error SW: does not advance (MW rule) */
    uint8_t eight[5 + 8] = {0x80, 0x02, 0x00, 0x00, 8, 0x41, 0x04, 1, 2, 3, 4, 0x43, 0x00};
    exchange(&host, &card, eight, sizeof(eight), NULL, 0, 0x6985);
    assert_int_equal(ctr_low(&host), 4);
    /* ... but 8 bytes + 9000 does */
    exchange(&host, &card, eight, sizeof(eight), &one, 1, 0x9000);
    assert_int_equal(ctr_low(&host), 5);
}

static void test_tampered_cmac(void **state)
{
    (void)state;
    se05x_scp03_ctx host, card;
    handshake(&host, &card, SE05X_SCP03_RULE_7X);
    static const uint8_t cmd[] = {0x80, 0x04, 0x00, 0x27, 0x06, 0x41, 0x04, 0x7F, 0xFF, 0x02, 0x06};
    uint8_t w[64], p[64];
    size_t wl, pl;
    for (int where = 0; where < 3; where++) {
        se05x_scp03_ctx h = host, c = card;
        assert_int_equal(se05x_scp03_wrap_cmd(&h, cmd, sizeof(cmd), w, sizeof(w), &wl), SE05X_OK);
        size_t pos = where == 0 ? wl - 1 : where == 1 ? 7 : 3; /* MAC, cipher, header */
        w[pos] ^= 0x01;
        assert_int_equal(se05x_scp03_unwrap_cmd(&c, w, wl, p, sizeof(p), &pl), SE05X_ERR_SCP);
    }
    /* a plain (CLA 80) command is not accepted as wrapped */
    assert_int_equal(se05x_scp03_unwrap_cmd(&card, cmd, sizeof(cmd), p, sizeof(p), &pl),
                     SE05X_ERR_APDU);
    /* replay of an earlier command fails: the MCV has moved on */
    se05x_scp03_ctx h = host, c = card;
    assert_int_equal(se05x_scp03_wrap_cmd(&h, cmd, sizeof(cmd), w, sizeof(w), &wl), SE05X_OK);
    assert_int_equal(se05x_scp03_unwrap_cmd(&c, w, wl, p, sizeof(p), &pl), SE05X_OK);
    uint8_t r[64];
    size_t rl;
    assert_int_equal(se05x_scp03_wrap_rsp(&c, NULL, 0, 0x9000, r, sizeof(r), &rl), SE05X_OK);
    assert_int_equal(se05x_scp03_unwrap_cmd(&c, w, wl, p, sizeof(p), &pl), SE05X_ERR_SCP);
}

static void test_tampered_rmac(void **state)
{
    (void)state;
    se05x_scp03_ctx host, card;
    handshake(&host, &card, SE05X_SCP03_RULE_7X);
    static const uint8_t cmd[] = {0x80, 0x04, 0x00, 0x20, 0x00};
    static const uint8_t ver[] = {7, 2, 0, 0x3F, 0xFF, 1, 0};
    uint8_t w[64], p[64], r[64], u[64];
    size_t wl, pl, rl, ul;
    for (int where = 0; where < 3; where++) {
        se05x_scp03_ctx h = host, c = card;
        assert_int_equal(se05x_scp03_wrap_cmd(&h, cmd, sizeof(cmd), w, 64, &wl), SE05X_OK);
        assert_int_equal(se05x_scp03_unwrap_cmd(&c, w, wl, p, 64, &pl), SE05X_OK);
        assert_int_equal(se05x_scp03_wrap_rsp(&c, ver, 7, 0x9000, r, 64, &rl), SE05X_OK);
        if (where == 0)
            r[rl - 3] ^= 0x01; /* R-MAC */
        else if (where == 1)
            r[0] ^= 0x01; /* cipher text */
        else {
            r[20] = 0x90; /* truncated R-MAC, SW 9000 kept */
            r[21] = 0x00;
            rl = 22;
        }
        se05x_status st = se05x_scp03_unwrap_rsp(&h, r, rl, u, 64, &ul);
        assert_true(st == SE05X_ERR_SCP);
    }
}

/* Any single-bit change anywhere in a wrapped command or in the protected
 * part of a wrapped response is detected. */
static void test_tamper_every_byte(void **state)
{
    (void)state;
    se05x_scp03_ctx host, card;
    handshake(&host, &card, SE05X_SCP03_RULE_7X);
    uint8_t cmd[5 + 20] = {0x80, 0x01, 0x00, 0x00, 20};
    for (int i = 0; i < 20; i++)
        cmd[5 + i] = (uint8_t)(i * 13);
    uint8_t w[128], p[128], r[128], u[128];
    size_t wl, pl, rl, ul;
    se05x_scp03_ctx h0 = host;
    assert_int_equal(se05x_scp03_wrap_cmd(&h0, cmd, sizeof(cmd), w, sizeof(w), &wl), SE05X_OK);
    for (size_t pos = 0; pos < wl; pos++) {
        for (int bit = 0; bit < 8; bit += 3) {
            se05x_scp03_ctx c = card;
            uint8_t t[128];
            memcpy(t, w, wl);
            t[pos] ^= (uint8_t)(1u << bit);
            assert_int_not_equal(se05x_scp03_unwrap_cmd(&c, t, wl, p, sizeof(p), &pl), SE05X_OK);
        }
    }
    se05x_scp03_ctx c0 = card;
    assert_int_equal(se05x_scp03_unwrap_cmd(&c0, w, wl, p, sizeof(p), &pl), SE05X_OK);
    static const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
    assert_int_equal(se05x_scp03_wrap_rsp(&c0, data, sizeof(data), 0x9000, r, sizeof(r), &rl),
                     SE05X_OK);
    for (size_t pos = 0; pos + 2 < rl; pos++) {
        se05x_scp03_ctx h = h0;
        uint8_t t[128];
        memcpy(t, r, rl);
        t[pos] ^= 0x10;
        assert_int_equal(se05x_scp03_unwrap_rsp(&h, t, rl, u, sizeof(u), &ul), SE05X_ERR_SCP);
    }
    assert_int_equal(se05x_scp03_unwrap_rsp(&h0, r, rl, u, sizeof(u), &ul), SE05X_OK);
    assert_int_equal(ul, sizeof(data) + 2);
    assert_memory_equal(u, data, sizeof(data));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmac_rfc4493),
        cmocka_unit_test(test_kdf_and_cryptograms),
        cmocka_unit_test(test_rule_for_version),
        cmocka_unit_test(test_handshake_failures),
        cmocka_unit_test(test_round_trip_7x),
        cmocka_unit_test(test_wire_bytes),
        cmocka_unit_test(test_round_trip_3x),
        cmocka_unit_test(test_tampered_cmac),
        cmocka_unit_test(test_tampered_rmac),
        cmocka_unit_test(test_tamper_every_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
