/* Simulator-side tests of the secure layer (sim/src/secure.c) through the
 * public simulator API, with the host role played by the shared SCP03
 * primitives: platform SCP03 with the SE050E defaults and with a key file,
 * wrong keys / key version, tampered C-MAC (6982 and channel dropped),
 * require_platform_scp, the 3.x counter profile, UserID sessions (wrong
 * value, attempt counter, blocking), AESKey sessions (handshake inside
 * 80 05, tampered C-MAC drops the session), session limits; and an
 * end-to-end run of the host library (se05x_conn over "sim:DIR") with
 * platform SCP03 plus UserID and AESKey sessions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/apdu.h"
#include "se05x/conn.h"
#include "se05x/scp03.h"
#include "se05x/tlv.h"
#include "sesim/sesim.h"
#include "testutil.h"

static const uint8_t SELECT[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00, 0x03, 0x96, 0x54,
                                 0x53, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00};
static const uint8_t GETVER[] = {0x80, 0x04, 0x00, 0x20, 0x00};
/* ReadObject of an id that does not exist: some error SW */
static const uint8_t READ_MISSING[] = {0x80, 0x02, 0x00, 0x00, 0x06, 0x41, 0x04, 0x6E, 0x6F, 0x6E, 0x65};
/* CheckObjectExists(0x7FFF0206): data-bearing, 9000 */
static const uint8_t EXISTS_UID[] = {0x80, 0x04, 0x00, 0x27, 0x06, 0x41, 0x04, 0x7F, 0xFF, 0x02, 0x06};

static const uint8_t AESKEY[16] = {0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
                                   0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F};
static const uint8_t USERID[] = {0xC0, 0x01, 0x02, 0x03, 0x04};

typedef struct {
    char *dir;
    sesim *s;
    sesim_chan *ch;
} simfix;

static uint8_t g_r[SE05X_APDU_MAX];
static size_t g_rl;

static bool sim_open(simfix *f, const sesim_opts *opts)
{
    sesim_opts o;
    sesim_opts_default(&o);
    if (opts)
        o = *opts;
    o.quiet = true;
    f->dir = tu_tempdir("sesssim");
    assert_non_null(f->dir);
    se05x_status st = sesim_open(f->dir, &o, &f->s);
    if (st == SE05X_ERR_UNSUPPORTED) { /* simulator core not linked in yet */
        tu_rmtree(f->dir);
        free(f->dir);
        return false;
    }
    assert_int_equal(st, SE05X_OK);
    assert_int_equal(sesim_chan_open(f->s, &f->ch), SE05X_OK);
    return true;
}

static void sim_close(simfix *f)
{
    sesim_chan_close(f->ch);
    sesim_close(f->s);
    tu_rmtree(f->dir);
    free(f->dir);
}

static uint16_t xch(simfix *f, const uint8_t *c, size_t len)
{
    g_rl = sesim_chan_process(f->ch, c, len, g_r, sizeof(g_r));
    assert_true(g_rl >= 2);
    return se05x_get_u16(g_r + g_rl - 2);
}

#define OPEN_OR_SKIP(f, o)                                                                         \
    do {                                                                                           \
        if (!sim_open((f), (o)))                                                                   \
            skip();                                                                                \
    } while (0)

/* Host side of a handshake with the given static keys and key version. */
static se05x_status handshake(simfix *f, se05x_scp03_ctx *h, const uint8_t enc[16],
                              const uint8_t mac[16], uint8_t kvn, se05x_scp03_rule rule)
{
    uint8_t iu[13] = {0x80, 0x50, kvn, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
    se05x_scp03_static k;
    memcpy(k.enc, enc, 16);
    memcpy(k.mac, mac, 16);
    if (xch(f, iu, sizeof(iu)) != 0x9000)
        return SE05X_ERR_SW;
    assert_int_equal(g_rl, 31);
    assert_int_equal(g_r[10], kvn ? kvn : 0x0B);
    assert_int_equal(g_r[11], 0x03);
    assert_int_equal(g_r[12], 0x00);
    se05x_status st = se05x_scp03_host_iu_check(h, &k, iu + 5, g_r, 29, rule);
    if (st != SE05X_OK)
        return st;
    uint8_t ea[21];
    assert_int_equal(se05x_scp03_ext_auth_build(h, ea), SE05X_OK);
    if (xch(f, ea, sizeof(ea)) != 0x9000)
        return SE05X_ERR_SCP;
    se05x_scp03_ext_auth_done(h);
    return SE05X_OK;
}

/* Send cmd wrapped with h, return the SW of the unwrapped answer (in g_r). */
static uint16_t wrapped(simfix *f, se05x_scp03_ctx *h, const uint8_t *cmd, size_t len)
{
    uint8_t w[SE05X_APDU_MAX], u[SE05X_APDU_MAX];
    size_t wl = 0, ul = 0;
    assert_int_equal(se05x_scp03_wrap_cmd(h, cmd, len, w, sizeof(w), &wl), SE05X_OK);
    xch(f, w, wl);
    assert_int_equal(se05x_scp03_unwrap_rsp(h, g_r, g_rl, u, sizeof(u), &ul), SE05X_OK);
    memcpy(g_r, u, ul);
    g_rl = ul;
    return se05x_get_u16(g_r + g_rl - 2);
}

/* ---- platform SCP03 -------------------------------------------------- */

static void test_platform_defaults(void **state)
{
    (void)state;
    simfix f;
    se05x_scp03_ctx h;
    OPEN_OR_SKIP(&f, NULL);
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    assert_int_equal(handshake(&f, &h, se05x_scp03_se050e_enc, se05x_scp03_se050e_mac, 0x0B,
                               SE05X_SCP03_RULE_7X),
                     SE05X_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wrapped(&f, &h, GETVER, sizeof(GETVER)), 0x9000);
        assert_true(g_rl > 2);
        assert_int_equal(wrapped(&f, &h, EXISTS_UID, sizeof(EXISTS_UID)), 0x9000);
        assert_int_not_equal(wrapped(&f, &h, READ_MISSING, sizeof(READ_MISSING)), 0x9000);
    }
    /* a plain command while the channel is open is refused */
    assert_int_equal(xch(&f, GETVER, sizeof(GETVER)), 0x6982);
    assert_int_equal(wrapped(&f, &h, GETVER, sizeof(GETVER)), 0x9000);
    /* a SELECT sent through the channel does not upset the card */
    {
        se05x_scp03_ctx h2 = h;
        uint8_t w2[64];
        size_t wl2;
        assert_int_equal(se05x_scp03_wrap_cmd(&h2, SELECT, sizeof(SELECT), w2, sizeof(w2), &wl2),
                         SE05X_OK);
        assert_int_equal(xch(&f, w2, wl2), 0x9000);
        assert_int_equal(g_rl, 2); /* bare: the channel ended with it */
    }
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    assert_int_equal(handshake(&f, &h, se05x_scp03_se050e_enc, se05x_scp03_se050e_mac, 0x0B,
                               SE05X_SCP03_RULE_7X),
                     SE05X_OK);
    /* SELECT ends the channel: wrapped commands are refused afterwards */
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    uint8_t w[64];
    size_t wl;
    assert_int_equal(se05x_scp03_wrap_cmd(&h, GETVER, sizeof(GETVER), w, sizeof(w), &wl), SE05X_OK);
    assert_int_equal(xch(&f, w, wl), 0x6982);
    assert_int_equal(xch(&f, GETVER, sizeof(GETVER)), 0x9000);
    sim_close(&f);
}

static void test_platform_wrong_keys(void **state)
{
    (void)state;
    simfix f;
    se05x_scp03_ctx h;
    OPEN_OR_SKIP(&f, NULL);
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    uint8_t bad[16];
    memcpy(bad, se05x_scp03_se050e_mac, 16);
    bad[0] ^= 1;
    assert_int_equal(handshake(&f, &h, se05x_scp03_se050e_enc, bad, 0x0B, 0), SE05X_ERR_SCP);
    /* unknown key version */
    assert_int_equal(handshake(&f, &h, se05x_scp03_se050e_enc, se05x_scp03_se050e_mac, 0x0C, 0),
                     SE05X_ERR_SW);
    assert_int_equal(se05x_get_u16(g_r), 0x6A88);
    /* EXTERNAL AUTHENTICATE without INITIALIZE UPDATE / with a bad cryptogram */
    static const uint8_t ea[21] = {0x84, 0x82, 0x33, 0x00, 0x10};
    assert_int_equal(xch(&f, ea, sizeof(ea)), 0x6985);
    static const uint8_t iu[13] = {0x80, 0x50, 0x0B, 0x00, 0x08};
    assert_int_equal(xch(&f, iu, sizeof(iu)), 0x9000);
    assert_int_equal(xch(&f, ea, sizeof(ea)), 0x6982);
    /* not open: a wrapped-looking command is refused, plain works */
    static const uint8_t fake[] = {0x84, 0x04, 0x00, 0x20, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(xch(&f, fake, sizeof(fake)), 0x6982);
    assert_int_equal(xch(&f, GETVER, sizeof(GETVER)), 0x9000);
    sim_close(&f);
}

static void test_platform_tampered_cmac(void **state)
{
    (void)state;
    simfix f;
    se05x_scp03_ctx h;
    OPEN_OR_SKIP(&f, NULL);
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    assert_int_equal(handshake(&f, &h, se05x_scp03_se050e_enc, se05x_scp03_se050e_mac, 0x0B, 0),
                     SE05X_OK);
    assert_int_equal(wrapped(&f, &h, EXISTS_UID, sizeof(EXISTS_UID)), 0x9000);
    uint8_t w[64], u[64];
    size_t wl, ul;
    assert_int_equal(se05x_scp03_wrap_cmd(&h, EXISTS_UID, sizeof(EXISTS_UID), w, sizeof(w), &wl),
                     SE05X_OK);
    w[wl - 1] ^= 0x01;
    assert_int_equal(xch(&f, w, wl), 0x6982);
    assert_int_equal(g_rl, 2);
    assert_int_equal(se05x_scp03_unwrap_rsp(&h, g_r, g_rl, u, sizeof(u), &ul), SE05X_OK);
    /* the card dropped the channel: a correct next command fails too */
    assert_int_equal(se05x_scp03_wrap_cmd(&h, GETVER, sizeof(GETVER), w, sizeof(w), &wl), SE05X_OK);
    assert_int_equal(xch(&f, w, wl), 0x6982);
    sim_close(&f);
}

static void test_require_platform_scp_and_keyfile(void **state)
{
    (void)state;
    simfix f;
    se05x_scp03_ctx h;
    char path[1200];
    sesim_opts o;
    sesim_opts_default(&o);
    char *kd = tu_tempdir("sesskeys");
    snprintf(path, sizeof(path), "%s/keys.txt", kd);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("ENC 35C256458958A34F6136155F8209D6CD\nMAC AF177D5DBDF7C0D5C10A05B9F1607F78\n"
          "DEK A1BC8438BF77935B361A4425FE79FA29\n", fp);
    fclose(fp);
    o.scp03_keyfile = path;
    o.require_platform_scp = true;
    if (!sim_open(&f, &o)) {
        tu_rmtree(kd);
        free(kd);
        skip();
    }
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    assert_int_equal(xch(&f, GETVER, sizeof(GETVER)), 0x6982);
    /* the defaults no longer match */
    assert_int_equal(handshake(&f, &h, se05x_scp03_se050e_enc, se05x_scp03_se050e_mac, 0x0B, 0),
                     SE05X_ERR_SCP);
    static const uint8_t enc[16] = {0x35, 0xC2, 0x56, 0x45, 0x89, 0x58, 0xA3, 0x4F,
                                    0x61, 0x36, 0x15, 0x5F, 0x82, 0x09, 0xD6, 0xCD};
    static const uint8_t mac[16] = {0xAF, 0x17, 0x7D, 0x5D, 0xBD, 0xF7, 0xC0, 0xD5,
                                    0xC1, 0x0A, 0x05, 0xB9, 0xF1, 0x60, 0x7F, 0x78};
    assert_int_equal(handshake(&f, &h, enc, mac, 0x0B, 0), SE05X_OK);
    assert_int_equal(wrapped(&f, &h, GETVER, sizeof(GETVER)), 0x9000);
    sim_close(&f);
    tu_rmtree(kd);
    free(kd);
}

static void test_platform_3x_profile(void **state)
{
    (void)state;
    simfix f;
    se05x_scp03_ctx h;
    sesim_opts o;
    sesim_opts_default(&o);
    o.applet_major = 3;
    OPEN_OR_SKIP(&f, &o);
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    assert_int_equal(handshake(&f, &h, se05x_scp03_se050e_enc, se05x_scp03_se050e_mac, 0x0B,
                               SE05X_SCP03_RULE_3X),
                     SE05X_OK);
    /* every mix of data / no data and success / error keeps both ends in step */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(wrapped(&f, &h, GETVER, sizeof(GETVER)), 0x9000);
        assert_int_equal(wrapped(&f, &h, EXISTS_UID, sizeof(EXISTS_UID)), 0x9000);
        assert_int_not_equal(wrapped(&f, &h, READ_MISSING, sizeof(READ_MISSING)), 0x9000);
        static const uint8_t unknown[] = {0x80, 0x04, 0x00, 0x7E};
        assert_int_not_equal(wrapped(&f, &h, unknown, sizeof(unknown)), 0x9000);
        assert_int_equal(wrapped(&f, &h, GETVER, sizeof(GETVER)), 0x9000);
    }
    sim_close(&f);
}

/* ---- applet sessions ------------------------------------------------- */

static void write_userid(simfix *f, uint32_t id, uint16_t max_attempts)
{
    uint8_t c[64] = {0x80, 0x41, 0x07, 0x00, 0};
    se05x_tlvw w;
    se05x_tlvw_init(&w, c + 5, sizeof(c) - 5);
    se05x_tlvw_u16_opt(&w, SE05X_TAG_MAX_ATTEMPTS, max_attempts);
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_tlvw_bytes(&w, SE05X_TAG_2, USERID, sizeof(USERID));
    c[4] = (uint8_t)w.len;
    assert_int_equal(xch(f, c, 5 + w.len), 0x9000);
}

static void write_aeskey(simfix *f, uint32_t id)
{
    uint8_t c[64] = {0x80, 0x41, 0x03, 0x00, 0};
    se05x_tlvw w;
    se05x_tlvw_init(&w, c + 5, sizeof(c) - 5);
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_tlvw_bytes(&w, SE05X_TAG_3, AESKEY, 16);
    c[4] = (uint8_t)w.len;
    assert_int_equal(xch(f, c, 5 + w.len), 0x9000);
}

static void create_session(simfix *f, uint32_t auth, uint8_t id[8])
{
    uint8_t c[11] = {0x80, 0x04, 0x00, 0x1B, 0x06, 0x41, 0x04};
    se05x_put_u32(c + 7, auth);
    assert_int_equal(xch(f, c, sizeof(c)), 0x9000);
    assert_int_equal(g_rl, 12);
    assert_int_equal(g_r[0], 0x41);
    assert_int_equal(g_r[1], 0x08);
    memcpy(id, g_r + 2, 8);
}

static uint16_t in_session(simfix *f, const uint8_t id[8], const uint8_t *inner, size_t len)
{
    uint8_t c[SE05X_APDU_MAX];
    size_t cl = 0;
    assert_int_equal(se05x_sesswrap_build(id, inner, len, c, sizeof(c), &cl), SE05X_OK);
    return xch(f, c, cl);
}

static uint16_t verify(simfix *f, const uint8_t id[8], const uint8_t *v, size_t len)
{
    uint8_t c[32] = {0x80, 0x04, 0x00, 0x2C, (uint8_t)(len + 2), 0x41, (uint8_t)len};
    memcpy(c + 7, v, len);
    return in_session(f, id, c, 7 + len);
}

static void test_userid_session(void **state)
{
    (void)state;
    simfix f;
    uint8_t id[8], id2[8];
    OPEN_OR_SKIP(&f, NULL);
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    write_userid(&f, 0x7DA00001, 3);
    create_session(&f, 0x7DA00001, id);
    static const uint8_t gv_inner[] = {0x80, 0x04, 0x00, 0x20};
    /* nothing but VerifySessionUserID before verification */
    assert_int_equal(in_session(&f, id, gv_inner, 4), 0x6982);
    static const uint8_t wrong[] = {0xC0, 0x01, 0x02, 0x03, 0x05};
    assert_int_equal(verify(&f, id, wrong, sizeof(wrong)), 0x6985);
    assert_int_equal(verify(&f, id, USERID, sizeof(USERID)), 0x9000);
    assert_int_equal(in_session(&f, id, gv_inner, 4), 0x9000);
    assert_true(g_rl > 2);
    /* VerifySessionUserID outside the wrapper is meaningless */
    uint8_t plain_verify[] = {0x80, 0x04, 0x00, 0x2C, 0x07, 0x41, 0x05, 0xC0, 0x01, 0x02, 0x03, 0x04};
    assert_int_equal(xch(&f, plain_verify, sizeof(plain_verify)), 0x6982);
    /* unknown session id */
    uint8_t other[8];
    memcpy(other, id, 8);
    other[0] ^= 0xFF;
    assert_int_equal(in_session(&f, other, gv_inner, 4), 0x6982);
    /* malformed wrapper */
    static const uint8_t badwrap[] = {0x80, 0x05, 0x00, 0x00, 0x04, 0x41, 0x02, 0x80, 0x04};
    assert_int_equal(xch(&f, badwrap, sizeof(badwrap)), 0x6A80);
    /* two sessions per connection at most */
    create_session(&f, 0x7DA00001, id2);
    assert_memory_not_equal(id, id2, 8);
    uint8_t cs[11] = {0x80, 0x04, 0x00, 0x1B, 0x06, 0x41, 0x04, 0x7D, 0xA0, 0x00, 0x01};
    assert_int_equal(xch(&f, cs, sizeof(cs)), 0x6A84);
    /* CreateSession on a missing object */
    cs[10] = 0x77;
    static const uint8_t close_inner[] = {0x80, 0x04, 0x00, 0x1C};
    assert_int_equal(in_session(&f, id2, close_inner, 4), 0x9000);
    assert_int_equal(xch(&f, cs, sizeof(cs)), 0x6985);
    /* CloseSession: the id is gone afterwards */
    assert_int_equal(in_session(&f, id, close_inner, 4), 0x9000);
    assert_int_equal(in_session(&f, id, gv_inner, 4), 0x6982);
    sim_close(&f);
}

static void test_userid_blocked(void **state)
{
    (void)state;
    simfix f;
    uint8_t id[8];
    OPEN_OR_SKIP(&f, NULL);
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    write_userid(&f, 0x7DA00011, 2);
    create_session(&f, 0x7DA00011, id);
    static const uint8_t wrong[] = {9, 9, 9, 9};
    assert_int_equal(verify(&f, id, wrong, sizeof(wrong)), 0x6985);
    /* a success resets the failure count */
    assert_int_equal(verify(&f, id, USERID, sizeof(USERID)), 0x9000);
    assert_int_equal(verify(&f, id, wrong, sizeof(wrong)), 0x6985);
    assert_int_equal(verify(&f, id, wrong, sizeof(wrong)), 0x6985);
    /* two failures in a row with max 2: blocked, even the right value fails */
    assert_int_equal(verify(&f, id, USERID, sizeof(USERID)), 0x6985);
    /* the block is persistent: a new connection sees it too */
    sesim_chan_close(f.ch);
    assert_int_equal(sesim_chan_open(f.s, &f.ch), SE05X_OK);
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    create_session(&f, 0x7DA00011, id);
    assert_int_equal(verify(&f, id, USERID, sizeof(USERID)), 0x6985);
    sim_close(&f);
}

static void test_aeskey_session(void **state)
{
    (void)state;
    simfix f;
    uint8_t id[8], inner[SE05X_APDU_MAX], u[SE05X_APDU_MAX];
    size_t il, ul;
    se05x_scp03_ctx h;
    se05x_scp03_static k;
    memcpy(k.enc, AESKEY, 16);
    memcpy(k.mac, AESKEY, 16);
    OPEN_OR_SKIP(&f, NULL);
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    write_aeskey(&f, 0x7DA00002);
    create_session(&f, 0x7DA00002, id);
    static const uint8_t gv_inner[] = {0x80, 0x04, 0x00, 0x20};
    assert_int_equal(in_session(&f, id, gv_inner, 4), 0x6982);
    /* INITIALIZE UPDATE with key version 00 inside the wrapper */
    uint8_t iu[13] = {0x80, 0x50, 0x00, 0x00, 0x08, 8, 7, 6, 5, 4, 3, 2, 1};
    assert_int_equal(in_session(&f, id, iu, sizeof(iu)), 0x9000);
    assert_int_equal(g_rl, 31);
    assert_int_equal(se05x_scp03_host_iu_check(&h, &k, iu + 5, g_r, 29, SE05X_SCP03_RULE_7X),
                     SE05X_OK);
    uint8_t ea[21];
    assert_int_equal(se05x_scp03_ext_auth_build(&h, ea), SE05X_OK);
    assert_int_equal(in_session(&f, id, ea, sizeof(ea)), 0x9000);
    se05x_scp03_ext_auth_done(&h);
    /* wrapped commands inside the session */
    const uint8_t *cmds[] = {gv_inner, EXISTS_UID, READ_MISSING, gv_inner};
    const size_t lens[] = {4, sizeof(EXISTS_UID), sizeof(READ_MISSING), 4};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(se05x_scp03_wrap_cmd(&h, cmds[i], lens[i], inner, sizeof(inner), &il),
                         SE05X_OK);
        in_session(&f, id, inner, il);
        assert_int_equal(se05x_scp03_unwrap_rsp(&h, g_r, g_rl, u, sizeof(u), &ul), SE05X_OK);
        uint16_t sw = se05x_get_u16(u + ul - 2);
        if (cmds[i] == READ_MISSING)
            assert_int_not_equal(sw, 0x9000);
        else
            assert_int_equal(sw, 0x9000);
    }
    /* an inner SELECT ends the session (and must not upset the card) */
    {
        se05x_scp03_ctx h2 = h;
        assert_int_equal(se05x_scp03_wrap_cmd(&h2, SELECT, sizeof(SELECT), inner, sizeof(inner), &il),
                         SE05X_OK);
        in_session(&f, id, inner, il);
        assert_int_equal(g_rl, 2);
        assert_int_equal(in_session(&f, id, gv_inner, 4), 0x6982);
        assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
        create_session(&f, 0x7DA00002, id);
        h = h2;
        assert_int_equal(in_session(&f, id, iu, sizeof(iu)), 0x9000);
        assert_int_equal(se05x_scp03_host_iu_check(&h, &k, iu + 5, g_r, 29, SE05X_SCP03_RULE_7X),
                         SE05X_OK);
        assert_int_equal(se05x_scp03_ext_auth_build(&h, ea), SE05X_OK);
        assert_int_equal(in_session(&f, id, ea, sizeof(ea)), 0x9000);
        se05x_scp03_ext_auth_done(&h);
    }
    /* a tampered C-MAC is refused and drops the session */
    assert_int_equal(se05x_scp03_wrap_cmd(&h, gv_inner, 4, inner, sizeof(inner), &il), SE05X_OK);
    inner[il - 2] ^= 0x40;
    assert_int_equal(in_session(&f, id, inner, il), 0x6982);
    assert_int_equal(se05x_scp03_unwrap_rsp(&h, g_r, g_rl, u, sizeof(u), &ul), SE05X_OK);
    assert_int_equal(se05x_scp03_wrap_cmd(&h, gv_inner, 4, inner, sizeof(inner), &il), SE05X_OK);
    assert_int_equal(in_session(&f, id, inner, il), 0x6982); /* unknown session now */
    sim_close(&f);
}

/* ---- end to end through the host library ---------------------------- */

static void test_host_library_e2e(void **state)
{
    (void)state;
    simfix f;
    /* prepare the card directory with the auth objects through the raw API */
    OPEN_OR_SKIP(&f, NULL);
    assert_int_equal(xch(&f, SELECT, sizeof(SELECT)), 0x9000);
    write_userid(&f, 0x7DA00001, 0);
    write_aeskey(&f, 0x7DA00002);
    sesim_chan_close(f.ch);
    sesim_close(f.s);
    f.ch = NULL;
    f.s = NULL;

    char path[1200], conn[1200];
    snprintf(path, sizeof(path), "%s/keys.txt", f.dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("ENC D2DB63E7A0A5AED72A6460C4DFDCAF64\nMAC 738D5B798ED241B0B24768514BFBA95B\n"
          "DEK 6702DAC30942B2C85E7F47B42CED4E7F\n", fp);
    fclose(fp);
    snprintf(conn, sizeof(conn), "sim:%s", f.dir);
    se05x_conn_opts o = {.scp03_keyfile = path};
    se05x_conn *c = NULL;
    char err[512] = "";
    se05x_status st = se05x_conn_open_err(conn, &o, &c, err, sizeof(err));
    if (st != SE05X_OK)
        fail_msg("open %s: %s", conn, err);
    uint8_t out[256];
    size_t n = 0;
    se05x_apdu gv = {.cla = 0x80, .ins = 0x04, .p1 = 0, .p2 = 0x20, .ne = SE05X_NE_SHORT};
    assert_int_equal(se05x_conn_apdu_ok(c, &gv, out, sizeof(out), &n), SE05X_OK);
    /* UserID session over platform SCP03 */
    assert_int_equal(se05x_session_open_userid(c, 0x7DA00001, USERID, sizeof(USERID)), SE05X_OK);
    assert_int_equal(se05x_conn_apdu_ok(c, &gv, out, sizeof(out), &n), SE05X_OK);
    assert_int_equal(se05x_session_close(c), SE05X_OK);
    static const uint8_t wrong[] = {1, 2, 3, 4};
    assert_int_equal(se05x_session_open_userid(c, 0x7DA00001, wrong, sizeof(wrong)), SE05X_ERR_SW);
    assert_int_equal(se05x_conn_last_sw(c), 0x6985);
    /* AESKey session over platform SCP03 */
    assert_int_equal(se05x_session_open_aeskey(c, 0x7DA00002, AESKEY), SE05X_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(se05x_conn_apdu_ok(c, &gv, out, sizeof(out), &n), SE05X_OK);
    assert_int_equal(se05x_session_close(c), SE05X_OK);
    uint8_t badkey[16] = {0};
    assert_int_equal(se05x_session_open_aeskey(c, 0x7DA00002, badkey), SE05X_ERR_SCP);
    assert_false(se05x_session_active(c));
    assert_int_equal(se05x_conn_apdu_ok(c, &gv, out, sizeof(out), &n), SE05X_OK);
    se05x_conn_close(c);
    tu_rmtree(f.dir);
    free(f.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_platform_defaults),
        cmocka_unit_test(test_platform_wrong_keys),
        cmocka_unit_test(test_platform_tampered_cmac),
        cmocka_unit_test(test_require_platform_scp_and_keyfile),
        cmocka_unit_test(test_platform_3x_profile),
        cmocka_unit_test(test_userid_session),
        cmocka_unit_test(test_userid_blocked),
        cmocka_unit_test(test_aeskey_session),
        cmocka_unit_test(test_host_library_e2e),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
