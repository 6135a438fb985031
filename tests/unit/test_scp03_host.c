/* Host-side tests of platform SCP03 (scp03_host.c) and applet sessions
 * (session.c) through a real se05x_conn, over a fake card defined in this
 * file (a transport whose card side is built from the shared SCP03
 * primitives, independent of the simulator): handshake and wrapped
 * commands for applet 7.x and 3.x counter rules, wrong keys, tampered
 * R-MAC (SE05X_ERR_SCP, channel dropped), UserID and AESKey sessions with
 * exact 80 05 bytes, wrong UserID, tampered session R-MAC, re-open, close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn_internal.h"
#include "se05x/apdu.h"
#include "se05x/scp03.h"
#include "se05x/tlv.h"
#include "testutil.h"

/* ---- fake card ------------------------------------------------------- */

enum { FK_USERID = 1, FK_AES = 2 };

typedef struct {
    se05x_transport base;
    uint8_t ver[7];
    se05x_scp03_static keys;
    se05x_scp03_ctx pscp;
    struct {
        bool active, auth;
        int kind;
        uint8_t id[8];
        se05x_scp03_ctx scp;
    } sess;
    uint8_t aeskey[16];
    uint8_t next_id;
    uint8_t wire[SE05X_APDU_MAX]; /* last command as received */
    size_t wire_len;
    uint8_t outer[SE05X_APDU_MAX]; /* last command after platform SCP */
    size_t outer_len;
    uint8_t inner[SE05X_APDU_MAX]; /* last plain command inside a session */
    size_t inner_len;
    int tamper_rmac, tamper_sess_rmac;
    unsigned closes, wrapped_cmds, plain_rejected;
} fcard;

static const uint8_t USERID[] = {0xC0, 0x01, 0x02, 0x03, 0x04};
static const uint8_t CC[8] = {0xCC, 1, 2, 3, 4, 5, 6, 7};
static const uint8_t DIV[10] = {0};

static size_t sw_out(uint8_t *r, uint16_t sw)
{
    se05x_put_u16(r, sw);
    return 2;
}

/* Commands every layer understands: GetVersion, echo (80 EE), error (80 EF). */
static size_t common_cmd(fcard *f, const se05x_apdu *a, uint8_t *r)
{
    if (a->ins == 0x04 && a->p2 == 0x20) {
        memcpy(r, f->ver, 7);
        return 7 + sw_out(r + 7, 0x9000);
    }
    if (a->ins == 0xEE) {
        memcpy(r, a->data, a->lc);
        return a->lc + sw_out(r + a->lc, 0x9000);
    }
    if (a->ins == 0xEF)
        return sw_out(r, 0x6985);
    return sw_out(r, 0x6D00);
}

static size_t card_handshake(se05x_scp03_ctx *ctx, const se05x_scp03_static *k, uint8_t kvn,
                             se05x_scp03_rule rule, const uint8_t *cmd, size_t len, uint8_t *r)
{
    se05x_apdu a;
    assert_int_equal(se05x_apdu_decode(cmd, len, &a), SE05X_OK);
    if (a.ins == 0x50) {
        assert_int_equal(a.lc, 8);
        if (a.p1 != kvn)
            return sw_out(r, 0x6A88);
        assert_int_equal(se05x_scp03_derive(ctx, k, a.data, CC, rule), SE05X_OK);
        assert_int_equal(se05x_scp03_iu_answer(ctx, DIV, kvn, r), SE05X_OK);
        return 29 + sw_out(r + 29, 0x9000);
    }
    return sw_out(r, se05x_scp03_ext_auth_check(ctx, cmd, len) == SE05X_OK ? 0x9000 : 0x6982);
}

static size_t session_cmd(fcard *f, const uint8_t *in, size_t ilen, uint8_t *r)
{
    se05x_apdu a;
    uint8_t plain[SE05X_APDU_MAX], rsp[SE05X_APDU_MAX];
    size_t pl = 0, rl;
    assert_int_equal(se05x_apdu_decode(in, ilen, &a), SE05X_OK);
    if (f->sess.kind == FK_AES && !f->sess.auth) {
        if (a.ins == 0x50 || a.ins == 0x82) {
            se05x_scp03_static k;
            memcpy(k.enc, f->aeskey, 16);
            memcpy(k.mac, f->aeskey, 16);
            size_t n = card_handshake(&f->sess.scp, &k, 0x00, SE05X_SCP03_RULE_7X, in, ilen, r);
            f->sess.auth = f->sess.scp.open;
            return n;
        }
        if (a.ins == 0x04 && a.p2 == 0x1C) {
            f->closes++;
            f->sess.active = false;
            return sw_out(r, 0x9000);
        }
        return sw_out(r, 0x6982);
    }
    if (f->sess.kind == FK_AES) {
        if (se05x_scp03_unwrap_cmd(&f->sess.scp, in, ilen, plain, sizeof(plain), &pl) != SE05X_OK) {
            f->sess.active = false;
            return sw_out(r, 0x6982);
        }
        in = plain;
        ilen = pl;
        assert_int_equal(se05x_apdu_decode(in, ilen, &a), SE05X_OK);
    }
    memcpy(f->inner, in, ilen);
    f->inner_len = ilen;
    bool close = false;
    if (a.ins == 0x04 && a.p2 == 0x2C) {
        static const uint8_t want[] = {0x41, 0x05, 0xC0, 0x01, 0x02, 0x03, 0x04};
        f->sess.auth = a.lc == sizeof(want) && memcmp(a.data, want, a.lc) == 0;
        rl = sw_out(rsp, f->sess.auth ? 0x9000 : 0x6985);
    } else if (a.ins == 0x04 && a.p2 == 0x1C) {
        f->closes++;
        close = true;
        rl = sw_out(rsp, 0x9000);
    } else if (!f->sess.auth) {
        rl = sw_out(rsp, 0x6982);
    } else {
        rl = common_cmd(f, &a, rsp);
    }
    if (f->sess.kind != FK_AES) {
        memcpy(r, rsp, rl);
    } else {
        size_t n = 0;
        assert_int_equal(se05x_scp03_wrap_rsp(&f->sess.scp, rsp, rl - 2, se05x_get_u16(rsp + rl - 2),
                                              r, SE05X_APDU_MAX, &n),
                         SE05X_OK);
        if (f->tamper_sess_rmac && n >= 10) {
            f->tamper_sess_rmac = 0;
            r[n - 3] ^= 0x01;
        }
        rl = n;
    }
    if (close)
        f->sess.active = false;
    return rl;
}

static size_t applet_cmd(fcard *f, const uint8_t *cmd, size_t len, uint8_t *r)
{
    se05x_apdu a;
    memcpy(f->outer, cmd, len);
    f->outer_len = len;
    assert_int_equal(se05x_apdu_decode(cmd, len, &a), SE05X_OK);
    if (a.ins == 0x04 && a.p2 == 0x1B) { /* CreateSession */
        uint32_t auth = se05x_get_u32(a.data + 2);
        if (a.lc != 6 || (auth != 0x7DA00001 && auth != 0x7DA00002))
            return sw_out(r, 0x6985);
        memset(&f->sess, 0, sizeof(f->sess));
        f->sess.active = true;
        f->sess.kind = auth == 0x7DA00001 ? FK_USERID : FK_AES;
        for (int i = 0; i < 8; i++)
            f->sess.id[i] = (uint8_t)(0xA0 + i);
        f->sess.id[7] = f->next_id++;
        r[0] = 0x41;
        r[1] = 0x08;
        memcpy(r + 2, f->sess.id, 8);
        return 10 + sw_out(r + 10, 0x9000);
    }
    if (a.ins == 0x05) {
        uint8_t id[8];
        const uint8_t *in;
        size_t il;
        assert_int_equal(se05x_sesswrap_parse(a.data, a.lc, id, &in, &il), SE05X_OK);
        if (!f->sess.active || memcmp(id, f->sess.id, 8) != 0)
            return sw_out(r, 0x6982);
        return session_cmd(f, in, il, r);
    }
    return common_cmd(f, &a, r);
}

static se05x_status fcard_transceive(se05x_transport *t, const uint8_t *cmd, size_t len,
                                     uint8_t *rsp, size_t cap, size_t *rlen)
{
    fcard *f = (fcard *)t;
    uint8_t r[SE05X_APDU_MAX], plain[SE05X_APDU_MAX];
    size_t n = 0, pl = 0;
    memcpy(f->wire, cmd, len);
    f->wire_len = len;
    if (cmd[0] == 0x00 && cmd[1] == 0xA4) {
        memset(&f->pscp, 0, sizeof(f->pscp));
        memset(&f->sess, 0, sizeof(f->sess));
        memcpy(r, f->ver, 7);
        n = 7 + sw_out(r + 7, 0x9000);
    } else if ((cmd[0] == 0x80 && cmd[1] == 0x50) || (cmd[0] == 0x84 && cmd[1] == 0x82)) {
        se05x_scp03_rule rule = se05x_scp03_rule_for_version(f->ver[0], f->ver[1]);
        n = card_handshake(&f->pscp, &f->keys, 0x0B, rule, cmd, len, r);
    } else if (f->pscp.open) {
        if (!(cmd[0] & 0x04)) {
            f->plain_rejected++;
            n = sw_out(r, 0x6982);
        } else if (se05x_scp03_unwrap_cmd(&f->pscp, cmd, len, plain, sizeof(plain), &pl) != SE05X_OK) {
            memset(&f->pscp, 0, sizeof(f->pscp));
            n = sw_out(r, 0x6982);
        } else {
            uint8_t ar[SE05X_APDU_MAX];
            f->wrapped_cmds++;
            size_t al = applet_cmd(f, plain, pl, ar);
            assert_int_equal(se05x_scp03_wrap_rsp(&f->pscp, ar, al - 2, se05x_get_u16(ar + al - 2),
                                                  r, sizeof(r), &n),
                             SE05X_OK);
            if (f->tamper_rmac && n >= 10) {
                f->tamper_rmac = 0;
                r[n - 3] ^= 0x01;
            }
        }
    } else {
        n = applet_cmd(f, cmd, len, r);
    }
    assert_true(n <= cap);
    memcpy(rsp, r, n);
    *rlen = n;
    return SE05X_OK;
}

static void fcard_close(se05x_transport *t) { free(t); }

static const se05x_transport_ops fcard_ops = {.name = "fakecard", .transceive = fcard_transceive,
                                              .close = fcard_close};

static const se05x_scp03_keys KEYS = {
    .enc = {0x35, 0xC2, 0x56, 0x45, 0x89, 0x58, 0xA3, 0x4F, 0x61, 0x36, 0x15, 0x5F, 0x82, 0x09, 0xD6, 0xCD},
    .mac = {0xAF, 0x17, 0x7D, 0x5D, 0xBD, 0xF7, 0xC0, 0xD5, 0xC1, 0x0A, 0x05, 0xB9, 0xF1, 0x60, 0x7F, 0x78},
    .dek = {0xA1, 0xBC, 0x84, 0x38, 0xBF, 0x77, 0x93, 0x5B, 0x36, 0x1A, 0x44, 0x25, 0xFE, 0x79, 0xFA, 0x29},
};

static fcard *fcard_new(uint8_t major, uint8_t minor)
{
    fcard *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->base.ops = &fcard_ops;
    f->ver[0] = major;
    f->ver[1] = minor;
    f->ver[3] = 0x3F;
    f->ver[4] = 0xFF;
    memcpy(f->keys.enc, KEYS.enc, 16);
    memcpy(f->keys.mac, KEYS.mac, 16);
    for (int i = 0; i < 16; i++)
        f->aeskey[i] = (uint8_t)(0x40 + i);
    return f;
}

/* Open a connection over a fake card, with platform SCP03 from a key file
 * (scp) or plain. */
static se05x_conn *open_conn(fcard *f, bool scp, char **dir)
{
    se05x_conn_opts o = {0};
    char path[1200];
    *dir = tu_tempdir("scp03host");
    assert_non_null(*dir);
    if (scp) {
        snprintf(path, sizeof(path), "%s/keys.txt", *dir);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("ENC 35C256458958A34F6136155F8209D6CD\nMAC AF177D5DBDF7C0D5C10A05B9F1607F78\n"
              "DEK A1BC8438BF77935B361A4425FE79FA29\n", fp);
        fclose(fp);
        o.scp03_keyfile = path;
    }
    se05x_conn *c = NULL;
    assert_int_equal(se05x_conn_open_transport(&f->base, &o, &c), SE05X_OK);
    return c;
}

static void finish(se05x_conn *c, char *dir)
{
    se05x_conn_close(c);
    tu_rmtree(dir);
    free(dir);
}

static uint16_t run(se05x_conn *c, uint8_t ins, const uint8_t *data, size_t lc, uint32_t ne,
                    uint8_t *out, size_t *olen)
{
    uint8_t buf[SE05X_APDU_MAX];
    size_t n = 0;
    uint16_t sw = 0;
    se05x_apdu a = {.cla = 0x80, .ins = ins, .p1 = 0, .p2 = ins == 0x04 ? 0x20 : 0, .data = data,
                    .lc = lc, .ne = ne};
    assert_int_equal(se05x_conn_apdu(c, &a, out ? out : buf, SE05X_APDU_MAX, olen ? olen : &n, &sw),
                     SE05X_OK);
    return sw;
}

static uint32_t ctr_low(const se05x_scp03_ctx *x)
{
    return (uint32_t)x->ctr[12] << 24 | (uint32_t)x->ctr[13] << 16 | (uint32_t)x->ctr[14] << 8 |
           x->ctr[15];
}

/* ---- tests: platform SCP03 ------------------------------------------- */

static void exercise(se05x_conn *c, fcard *f)
{
    uint8_t out[SE05X_APDU_MAX], data[300];
    size_t n = 0;
    assert_int_equal(run(c, 0x04, NULL, 0, SE05X_NE_SHORT, out, &n), 0x9000);
    assert_int_equal(n, 7);
    assert_memory_equal(out, f->ver, 7);
    for (size_t len = 1; len <= sizeof(data); len = len * 3 + 1) {
        for (size_t i = 0; i < len; i++)
            data[i] = (uint8_t)(i + len);
        assert_int_equal(run(c, 0xEE, data, len, 0, out, &n), 0x9000);
        assert_int_equal(n, len);
        assert_memory_equal(out, data, len);
    }
    assert_int_equal(run(c, 0xEF, NULL, 0, 0, NULL, NULL), 0x6985);
    assert_int_equal(run(c, 0xEF, data, 8, 0, NULL, NULL), 0x6985);
    assert_int_equal(run(c, 0xEF, data, 9, 0, NULL, NULL), 0x6985);
    assert_int_equal(run(c, 0x04, NULL, 0, SE05X_NE_SHORT, out, &n), 0x9000);
    assert_int_equal(run(c, 0xEE, data, 16, SE05X_NE_EXT, out, &n), 0x9000);
    assert_int_equal(n, 16);
}

static void test_platform_7x(void **state)
{
    (void)state;
    char *dir;
    fcard *f = fcard_new(7, 2);
    se05x_conn *c = open_conn(f, true, &dir);
    assert_non_null(c->pscp);
    assert_true(f->pscp.open);
    assert_int_equal(f->pscp.rule, SE05X_SCP03_RULE_7X);
    exercise(c, f);
    /* 7.x: every command advances the counter: 11 commands from 1 */
    assert_int_equal(ctr_low(&f->pscp), 1 + 11);
    assert_int_equal(f->wrapped_cmds, 11);
    assert_int_equal(f->wire[0], 0x84);
    finish(c, dir);
}

static void test_platform_3x(void **state)
{
    (void)state;
    char *dir;
    fcard *f = fcard_new(3, 1);
    se05x_conn *c = open_conn(f, true, &dir);
    assert_int_equal(f->pscp.rule, SE05X_SCP03_RULE_3X);
    exercise(c, f);
    /* 3.x: +1 per data command on 9000 (6 echoes), +0 for GetVersion,
     * +1 for the data-less error, +0 for the 8-byte error, +1 for 9 bytes */
    assert_int_equal(ctr_low(&f->pscp), 1 + 6 + 1 + 0 + 1);
    finish(c, dir);
}

static void test_platform_wrong_keys(void **state)
{
    (void)state;
    char *dir;
    fcard *f = fcard_new(7, 2);
    se05x_conn *c = open_conn(f, false, &dir);
    se05x_scp03_keys wrong = KEYS;
    wrong.enc[3] ^= 0x10;
    wrong.mac[3] ^= 0x10;
    assert_int_equal(se05x_conn_scp03_open(c, &wrong, 0), SE05X_ERR_SCP);
    assert_non_null(strstr(se05x_conn_errmsg(c), "card cryptogram mismatch"));
    assert_null(c->pscp);
    /* the right keys work on the same connection afterwards */
    assert_int_equal(se05x_conn_scp03_open(c, &KEYS, 0), SE05X_OK);
    assert_non_null(c->pscp);
    assert_int_equal(run(c, 0x04, NULL, 0, SE05X_NE_SHORT, NULL, NULL), 0x9000);
    /* a card that refuses the key version */
    assert_int_equal(se05x_conn_scp03_open(c, &KEYS, 0x0C), SE05X_ERR_SCP);
    finish(c, dir);
}

static void test_platform_tampered_rmac(void **state)
{
    (void)state;
    char *dir;
    fcard *f = fcard_new(7, 2);
    se05x_conn *c = open_conn(f, true, &dir);
    uint8_t out[64];
    size_t n;
    uint16_t sw;
    f->tamper_rmac = 1;
    se05x_apdu a = {.cla = 0x80, .ins = 0x04, .p1 = 0, .p2 = 0x20, .ne = SE05X_NE_SHORT};
    assert_int_equal(se05x_conn_apdu(c, &a, out, sizeof(out), &n, &sw), SE05X_ERR_SCP);
    assert_non_null(strstr(se05x_conn_errmsg(c), "secure channel closed"));
    assert_null(c->pscp);
    /* the channel is gone: the next command travels plain and is refused */
    assert_int_equal(run(c, 0x04, NULL, 0, SE05X_NE_SHORT, NULL, NULL), 0x6982);
    assert_int_equal(f->plain_rejected, 1);
    finish(c, dir);
}

/* ---- tests: sessions ------------------------------------------------- */

static void test_userid_session(void **state)
{
    (void)state;
    char *dir;
    fcard *f = fcard_new(7, 2);
    se05x_conn *c = open_conn(f, false, &dir);
    assert_int_equal(se05x_session_open_userid(c, 0x7DA00001, USERID, sizeof(USERID)), SE05X_OK);
    assert_true(se05x_session_active(c));
    assert_int_equal(run(c, 0x04, NULL, 0, SE05X_NE_SHORT, NULL, NULL), 0x9000);
    /* exact wrapper: 80 05 00 00 10 | 10 08 <id> | 41 04 80 04 00 20 */
    static const uint8_t want[] = {0x80, 0x05, 0x00, 0x00, 0x10, 0x10, 0x08, 0xA0, 0xA1, 0xA2, 0xA3,
                                   0xA4, 0xA5, 0xA6, 0x00, 0x41, 0x04, 0x80, 0x04, 0x00, 0x20};
    assert_int_equal(f->wire_len, sizeof(want));
    assert_memory_equal(f->wire, want, sizeof(want));
    uint8_t d[3] = {1, 2, 3}, out[16];
    size_t n;
    assert_int_equal(run(c, 0xEE, d, 3, SE05X_NE_EXT, out, &n), 0x9000);
    assert_int_equal(n, 3);
    static const uint8_t inner[] = {0x80, 0xEE, 0x00, 0x00, 0x03, 1, 2, 3};
    assert_int_equal(f->inner_len, sizeof(inner)); /* Le stripped inside */
    assert_memory_equal(f->inner, inner, sizeof(inner));
    assert_int_equal(run(c, 0xEF, NULL, 0, 0, NULL, NULL), 0x6985);
    /* a second open while one is active is refused */
    assert_int_equal(se05x_session_open_userid(c, 0x7DA00001, USERID, 5), SE05X_ERR_STATE);
    /* re-open (as after fork): a new session id */
    assert_int_equal(se05x_session_reopen(c), SE05X_OK);
    assert_int_equal(c->session.id[7], 1);
    assert_int_equal(run(c, 0x04, NULL, 0, SE05X_NE_SHORT, NULL, NULL), 0x9000);
    assert_int_equal(se05x_session_close(c), SE05X_OK);
    assert_false(se05x_session_active(c));
    assert_int_equal(f->closes, 1);
    static const uint8_t close_inner[] = {0x80, 0x04, 0x00, 0x1C};
    assert_memory_equal(f->inner, close_inner, 4);
    /* after close, commands go plain again */
    assert_int_equal(run(c, 0x04, NULL, 0, SE05X_NE_SHORT, NULL, NULL), 0x9000);
    assert_int_equal(f->wire[1], 0x04);
    finish(c, dir);
}

static void test_userid_wrong(void **state)
{
    (void)state;
    char *dir;
    fcard *f = fcard_new(7, 2);
    se05x_conn *c = open_conn(f, false, &dir);
    static const uint8_t bad[] = {0xC0, 0x01, 0x02, 0x03, 0x05};
    assert_int_equal(se05x_session_open_userid(c, 0x7DA00001, bad, sizeof(bad)), SE05X_ERR_SW);
    assert_int_equal(se05x_conn_last_sw(c), 0x6985);
    assert_non_null(strstr(se05x_conn_errmsg(c), "VerifySessionUserID"));
    assert_false(se05x_session_active(c));
    assert_int_equal(f->closes, 1); /* the half-open session was closed */
    /* unknown auth object: CreateSession fails */
    assert_int_equal(se05x_session_open_userid(c, 0x12345678, USERID, 5), SE05X_ERR_SW);
    assert_non_null(strstr(se05x_conn_errmsg(c), "CreateSession"));
    assert_int_equal(se05x_session_open_userid(c, 0x7DA00001, USERID, 0), SE05X_ERR_ARG);
    finish(c, dir);
}

static void test_aeskey_session_over_platform_scp(void **state)
{
    (void)state;
    char *dir;
    fcard *f = fcard_new(7, 2);
    se05x_conn *c = open_conn(f, true, &dir);
    uint8_t key[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(0x40 + i);
    assert_int_equal(se05x_session_open_aeskey(c, 0x7DA00002, key), SE05X_OK);
    assert_true(f->sess.auth);
    assert_non_null(c->session.scp);
    exercise(c, f);
    /* the session channel counts every command (11) from 1 */
    assert_int_equal(ctr_low(&f->sess.scp), 12);
    /* platform layer saw: CreateSession, INIT UPDATE, EXT AUTH, 11 commands */
    assert_int_equal(f->wrapped_cmds, 3 + 11);
    /* inner APDU of the wrapper is SCP-wrapped: CLA 84 in TAG_1 */
    assert_int_equal(f->outer[0], 0x80);
    assert_int_equal(f->outer[1], 0x05);
    assert_int_equal(f->outer[5 + 10 + 2], 0x84);
    assert_int_equal(se05x_session_close(c), SE05X_OK);
    assert_int_equal(f->closes, 1);
    finish(c, dir);
}

static void test_aeskey_wrong_key_and_tamper(void **state)
{
    (void)state;
    char *dir;
    fcard *f = fcard_new(7, 2);
    se05x_conn *c = open_conn(f, false, &dir);
    uint8_t key[16] = {0};
    assert_int_equal(se05x_session_open_aeskey(c, 0x7DA00002, key), SE05X_ERR_SCP);
    assert_non_null(strstr(se05x_conn_errmsg(c), "cryptogram"));
    assert_false(se05x_session_active(c));
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(0x40 + i);
    assert_int_equal(se05x_session_open_aeskey(c, 0x7DA00002, key), SE05X_OK);
    assert_int_equal(run(c, 0x04, NULL, 0, SE05X_NE_SHORT, NULL, NULL), 0x9000);
    f->tamper_sess_rmac = 1;
    uint8_t out[64];
    size_t n;
    uint16_t sw;
    se05x_apdu a = {.cla = 0x80, .ins = 0x04, .p1 = 0, .p2 = 0x20, .ne = SE05X_NE_SHORT};
    assert_int_equal(se05x_conn_apdu(c, &a, out, sizeof(out), &n, &sw), SE05X_ERR_SCP);
    assert_non_null(strstr(se05x_conn_errmsg(c), "session dropped"));
    assert_false(se05x_session_active(c));
    assert_null(c->session.scp);
    finish(c, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_platform_7x),
        cmocka_unit_test(test_platform_3x),
        cmocka_unit_test(test_platform_wrong_keys),
        cmocka_unit_test(test_platform_tampered_rmac),
        cmocka_unit_test(test_userid_session),
        cmocka_unit_test(test_userid_wrong),
        cmocka_unit_test(test_aeskey_session_over_platform_scp),
        cmocka_unit_test(test_aeskey_wrong_key_and_tamper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
