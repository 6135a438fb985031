/* Unit tests of the host T=1 engine (hostlib/src/t1_engine.c) over a
 * scripted phy defined here: every frame the engine writes is recorded and
 * a per-test script decides what the "SE" makes readable next. Covers the
 * exact bytes of the protocol decisions: open sequence (RESYNC, GET ATR,
 * BWT/IFSC from the ATR), WTX echo and wait extension, the "00 A5" read
 * quirk, R-block error codes (CRC vs other), resending our block when the SE
 * asks, SE-initiated IFS and ABORT, and END OF APDU SESSION on close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "se05x/t1.h"

#define MAXW 400

typedef struct fake_phy fake_phy;
typedef void (*script_fn)(fake_phy *p, unsigned idx, const se05x_t1_frame *w);

struct fake_phy {
    uint8_t out[2048];
    size_t out_len, out_pos;
    struct timespec ready_at; /* reads NACK until then */
    uint8_t wr[MAXW][SE05X_T1_FRAME_MAX];
    size_t wlen[MAXW];
    se05x_t1_frame wf[MAXW];
    unsigned nw;
    script_fn script;
    unsigned se_ns; /* N(S) of the fake SE's next I-block */
    bool closed;
};

static void add_ms(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += (long)ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

static bool ready(const fake_phy *p)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > p->ready_at.tv_sec ||
           (now.tv_sec == p->ready_at.tv_sec && now.tv_nsec >= p->ready_at.tv_nsec);
}

static se05x_t1_phy_rc fp_write(void *ctx, const uint8_t *buf, size_t n, char *err, size_t errlen)
{
    fake_phy *p = ctx;
    assert_true(p->nw < MAXW);
    memcpy(p->wr[p->nw], buf, n);
    p->wlen[p->nw] = n;
    assert_int_equal(se05x_t1_frame_decode(buf, n, SE05X_T1_NAD_HOST, &p->wf[p->nw]),
                     SE05X_T1_FRAME_OK);
    unsigned idx = p->nw++;
    p->out_len = p->out_pos = 0;
    p->ready_at = (struct timespec){0, 0};
    p->script(p, idx, &p->wf[idx]);
    return SE05X_T1_PHY_OK;
}

static se05x_t1_phy_rc fp_read(void *ctx, uint8_t *buf, size_t n, char *err, size_t errlen)
{
    fake_phy *p = ctx;
    if (p->out_pos >= p->out_len || !ready(p))
        return SE05X_T1_PHY_NACK;
    for (size_t i = 0; i < n; i++)
        buf[i] = p->out_pos + i < p->out_len ? p->out[p->out_pos + i] : 0xFF;
    p->out_pos += n;
    return SE05X_T1_PHY_OK;
}

static void fp_sleep(void *ctx, unsigned ms) { usleep(ms * 1000u); }
static void fp_close(void *ctx) { ((fake_phy *)ctx)->closed = true; }

static const se05x_t1_phy_ops fp_ops = {"fake", fp_write, fp_read, fp_sleep, fp_close};

static void q_raw(fake_phy *p, const uint8_t *b, size_t n)
{
    memcpy(p->out + p->out_len, b, n);
    p->out_len += n;
}

static size_t q_frame(fake_phy *p, uint8_t pcb, const uint8_t *inf, size_t len)
{
    size_t n;
    assert_int_equal(se05x_t1_frame_encode(SE05X_T1_NAD_SE, pcb, inf, len, p->out + p->out_len,
                                           sizeof p->out - p->out_len, &n),
                     SE05X_OK);
    p->out_len += n;
    return n;
}

static const uint8_t k_sw[2] = {0x90, 0x00};
static const uint8_t k_cmd[5] = {0x80, 0x01, 0x00, 0x00, 0x00};

/* Queue the response I-block "90 00" with the SE's next N(S). */
static size_t q_resp(fake_phy *p)
{
    size_t n = q_frame(p, se05x_t1_i_pcb(p->se_ns, false), k_sw, 2);
    p->se_ns ^= 1u;
    return n;
}

static se05x_transport *open_fake(fake_phy *p, script_fn s, unsigned bwt, bool open_seq)
{
    memset(p, 0, sizeof *p);
    p->script = s;
    se05x_t1_opts o = {.bwt_ms = bwt, .no_open_sequence = !open_seq};
    se05x_transport *t = NULL;
    char err[256] = "";
    se05x_status st = se05x_t1_open_phy(&fp_ops, p, &o, &t, err, sizeof err);
    if (st != SE05X_OK)
        fail_msg("open: %s", err);
    return t;
}

static void expect_ok_9000(se05x_transport *t, const uint8_t *cmd, size_t len)
{
    uint8_t rsp[64];
    size_t rlen = 0;
    se05x_status st = t->ops->transceive(t, cmd, len, rsp, sizeof rsp, &rlen);
    if (st != SE05X_OK)
        fail_msg("transceive: %s: %s", se05x_strerror(st), t->err);
    assert_int_equal(rlen, 2);
    assert_memory_equal(rsp, k_sw, 2);
}

/* ---- open sequence -------------------------------------------------------- */

static const uint8_t k_atr_50_64[] = {0x00, 0xA0, 0x00, 0x00, 0x03, 0x96, 0x04, 0x00, 0x32,
                                      0x00, 0x40, 0x02, 0x00, 0x00};

static void s_open(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    if (w->pcb == 0xC0)
        q_frame(p, 0xE0, NULL, 0);
    else if (w->pcb == 0xC7)
        q_frame(p, 0xE7, k_atr_50_64, sizeof k_atr_50_64);
    else if (se05x_t1_is_i(w->pcb) && (w->pcb & SE05X_T1_I_M))
        q_frame(p, se05x_t1_r_pcb(se05x_t1_i_ns(w->pcb) ^ 1u, 0), NULL, 0);
    else if (se05x_t1_is_i(w->pcb))
        q_resp(p);
}

static void test_open_sequence_and_atr(void **state)
{
    fake_phy p;
    se05x_transport *t = open_fake(&p, s_open, 0, true);
    assert_int_equal(p.nw, 2);
    assert_int_equal(p.wf[0].pcb, 0xC0); /* RESYNC */
    assert_int_equal(p.wf[1].pcb, 0xC7); /* GET ATR */
    /* exact bytes of RESYNC: 5A C0 00 CRC */
    assert_int_equal(p.wlen[0], 5);
    assert_int_equal(p.wr[0][0], 0x5A);
    unsigned bwt, ifsc;
    assert_int_equal(se05x_t1_get_params(t, &bwt, &ifsc), SE05X_OK);
    assert_int_equal(bwt, 50);
    assert_int_equal(ifsc, 64);
    /* a 100-byte command goes out as 64 + 36 */
    uint8_t cmd[100] = {0x80, 0x01};
    expect_ok_9000(t, cmd, sizeof cmd);
    assert_int_equal(p.wf[2].pcb, 0x20);
    assert_int_equal(p.wf[2].len, 64);
    assert_int_equal(p.wf[3].pcb, 0x40);
    assert_int_equal(p.wf[3].len, 36);
    assert_int_equal(p.nw, 4);
    t->ops->close(t);
    assert_true(p.closed);
}

static void s_short_atr(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    if (w->pcb == 0xC0)
        q_frame(p, 0xE0, NULL, 0);
    else if (w->pcb == 0xC7)
        q_frame(p, 0xE7, (const uint8_t[]){0x00, 0x01}, 2);
}

static void test_unreadable_atr_means_defaults(void **state)
{
    fake_phy p;
    se05x_transport *t = open_fake(&p, s_short_atr, 0, true);
    unsigned bwt, ifsc;
    assert_int_equal(se05x_t1_get_params(t, &bwt, &ifsc), SE05X_OK);
    assert_int_equal(bwt, 1000);
    assert_int_equal(ifsc, 254);
    uint8_t atr[8];
    size_t alen = 0;
    assert_int_equal(t->ops->reset(t, atr, sizeof atr, &alen), SE05X_OK);
    assert_int_equal(alen, 2); /* returned as received */
    assert_int_equal(atr[1], 0x01);
    t->ops->close(t);
}

/* ---- WTX ------------------------------------------------------------------ */

static void s_wtx(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    if (idx == 0) {
        q_frame(p, 0xC3, (const uint8_t[]){10}, 1);
    } else if (idx == 1) {
        /* the answer comes after 4 x BWT: fine only with the WTX extension */
        q_resp(p);
        add_ms(&p->ready_at, 160);
    }
}

static void test_wtx_echo_and_extension(void **state)
{
    fake_phy p;
    se05x_transport *t = open_fake(&p, s_wtx, 40, false);
    expect_ok_9000(t, k_cmd, sizeof k_cmd);
    assert_int_equal(p.nw, 2);
    assert_int_equal(p.wf[1].pcb, 0xE3);
    assert_int_equal(p.wf[1].len, 1);
    assert_int_equal(p.wf[1].inf[0], 10); /* multiplier echoed */
    se05x_t1_stats s;
    assert_int_equal(se05x_t1_get_stats(t, &s), SE05X_OK);
    assert_int_equal(s.wtx, 1);
    assert_int_equal(s.timeouts, 0);
    t->ops->close(t);
}

/* ---- read quirk, R-block error codes --------------------------------------- */

static void s_quirk(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    q_raw(p, (const uint8_t[]){0x00}, 1);
    q_resp(p);
}

static void test_read_quirk_00_a5(void **state)
{
    fake_phy p;
    se05x_transport *t = open_fake(&p, s_quirk, 50, false);
    expect_ok_9000(t, k_cmd, sizeof k_cmd);
    assert_int_equal(p.nw, 1);
    t->ops->close(t);
}

static void s_errors(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    if (idx == 0) { /* response with a broken CRC */
        size_t n = q_frame(p, 0x00, k_sw, 2);
        p->out[n - 1] ^= 0x01;
    } else if (idx == 1) { /* nothing: timeout */
    } else if (idx == 2) { /* wrong NAD */
        q_frame(p, 0x00, k_sw, 2);
        p->out[0] = 0x5A;
        uint16_t crc = se05x_t1_crc(p->out, 5);
        p->out[5] = (uint8_t)crc;
        p->out[6] = (uint8_t)(crc >> 8);
    } else {
        q_resp(p);
    }
}

static void test_r_block_error_codes(void **state)
{
    fake_phy p;
    se05x_transport *t = open_fake(&p, s_errors, 30, false);
    expect_ok_9000(t, k_cmd, sizeof k_cmd);
    assert_int_equal(p.nw, 4);
    assert_int_equal(p.wf[1].pcb, 0x81); /* R(0) CRC error */
    assert_int_equal(p.wf[2].pcb, 0x82); /* R(0) other error (timeout) */
    assert_int_equal(p.wf[3].pcb, 0x82); /* R(0) other error (bad NAD) */
    /* next APDU uses N(S) = 1 */
    expect_ok_9000(t, k_cmd, sizeof k_cmd);
    assert_int_equal(p.wf[4].pcb, 0x40);
    se05x_t1_stats s;
    assert_int_equal(se05x_t1_get_stats(t, &s), SE05X_OK);
    assert_int_equal(s.bad_frames, 2);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(s.retransmit_requests, 3);
    t->ops->close(t);
}

/* ---- the SE asks for our block again --------------------------------------- */

static void s_resend(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    if (idx == 0)
        q_frame(p, se05x_t1_r_pcb(0, SE05X_T1_R_ERR_CRC), NULL, 0); /* chained block 1 bad */
    else if (idx == 1)
        q_frame(p, se05x_t1_r_pcb(1, 0), NULL, 0); /* ack */
    else if (idx == 2)
        q_frame(p, se05x_t1_r_pcb(1, SE05X_T1_R_ERR_OTHER), NULL, 0); /* last block bad */
    else if (idx == 3)
        q_resp(p);
}

static void test_resend_on_se_request(void **state)
{
    fake_phy p;
    se05x_transport *t = open_fake(&p, s_resend, 50, false);
    uint8_t cmd[300] = {0x80, 0x01};
    expect_ok_9000(t, cmd, sizeof cmd);
    assert_int_equal(p.nw, 4);
    assert_int_equal(p.wlen[0], p.wlen[1]);
    assert_memory_equal(p.wr[0], p.wr[1], p.wlen[0]); /* same I(0) M again */
    assert_int_equal(p.wf[2].pcb, 0x40);               /* I(1), last */
    assert_memory_equal(p.wr[2], p.wr[3], p.wlen[2]);
    se05x_t1_stats s;
    assert_int_equal(se05x_t1_get_stats(t, &s), SE05X_OK);
    assert_int_equal(s.resends, 2);
    t->ops->close(t);
}

static void s_resend_i(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    if (idx == 0) { /* corrupt response */
        size_t n = q_frame(p, 0x00, k_sw, 2);
        p->out[n - 1] ^= 0x01;
    } else if (idx == 1) { /* the SE in turn asks for our I-block */
        q_frame(p, se05x_t1_r_pcb(0, SE05X_T1_R_ERR_OTHER), NULL, 0);
    } else if (idx == 2) {
        q_resp(p);
    }
}

static void test_resend_i_block_not_r_block(void **state)
{
    fake_phy p;
    se05x_transport *t = open_fake(&p, s_resend_i, 50, false);
    expect_ok_9000(t, k_cmd, sizeof k_cmd);
    assert_int_equal(p.nw, 3);
    assert_int_equal(p.wf[1].pcb, 0x81);
    assert_memory_equal(p.wr[2], p.wr[0], p.wlen[0]); /* the I-block, not our R-block */
    t->ops->close(t);
}

/* ---- random SE behaviour: every call ends, with a result or an error ------- */

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static uint32_t g_seed;

static void s_random(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    static const uint8_t pcbs[] = {0x00, 0x40, 0x20, 0x60, 0x80, 0x90, 0x81, 0x92,
                                   0xC1, 0xC2, 0xC3, 0xE0, 0xE7, 0xE5, 0xC6};
    uint8_t inf[254];
    uint32_t r = rnd(&g_seed);
    size_t len = rnd(&g_seed) % 40;
    for (size_t i = 0; i < len; i++)
        inf[i] = (uint8_t)rnd(&g_seed);
    switch (r % 4) {
    case 0: /* nothing: timeout */
        break;
    case 1: /* raw garbage */
        q_raw(p, inf, len);
        break;
    default: { /* a well-formed frame with an arbitrary PCB */
        uint8_t pcb = pcbs[rnd(&g_seed) % sizeof pcbs];
        if (pcb == 0xC3 || pcb == 0xC1) {
            len = 1;
            inf[0] = (uint8_t)(1 + rnd(&g_seed) % 3);
        }
        q_frame(p, pcb, inf, len);
    }
    }
}

static void test_random_se_behaviour(void **state)
{
    fake_phy *p = malloc(sizeof *p);
    g_seed = 0x12345678u;
    uint8_t cmd[600] = {0x80, 0x01};
    uint8_t rsp[256];
    for (int i = 0; i < 60; i++) {
        se05x_transport *t = open_fake(p, s_random, 3, false);
        size_t rlen = 0;
        size_t len = 4 + rnd(&g_seed) % (sizeof cmd - 4);
        se05x_status st = t->ops->transceive(t, cmd, len, rsp, sizeof rsp, &rlen);
        if (st == SE05X_OK)
            assert_true(rlen <= sizeof rsp);
        else
            assert_true(t->err[0] != '\0');
        t->ops->close(t);
    }
    free(p);
}

/* ---- SE-initiated S-blocks ------------------------------------------------- */

static void s_ifs(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    if (idx == 0)
        q_frame(p, 0xC1, (const uint8_t[]){16}, 1);
    else if (idx == 1)
        q_resp(p);
    else
        s_open(p, idx, w);
}

static void test_se_ifs_request(void **state)
{
    fake_phy p;
    se05x_transport *t = open_fake(&p, s_ifs, 50, false);
    expect_ok_9000(t, k_cmd, sizeof k_cmd);
    assert_int_equal(p.wf[1].pcb, 0xE1);
    assert_int_equal(p.wf[1].inf[0], 16);
    uint8_t cmd[40] = {0x80, 0x01};
    expect_ok_9000(t, cmd, sizeof cmd);
    assert_int_equal(p.wf[2].len, 16);
    assert_int_equal(p.wf[3].len, 16);
    assert_int_equal(p.wf[4].len, 8);
    t->ops->close(t);
}

static void s_abort(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    if (w->pcb == 0xC0)
        q_frame(p, 0xE0, NULL, 0);
    else if (idx == 0)
        q_frame(p, 0xC2, NULL, 0);
}

static void test_se_abort(void **state)
{
    fake_phy p;
    se05x_transport *t = open_fake(&p, s_abort, 50, false);
    uint8_t rsp[8];
    size_t rlen;
    assert_int_equal(t->ops->transceive(t, k_cmd, sizeof k_cmd, rsp, sizeof rsp, &rlen),
                     SE05X_ERR_PROTOCOL);
    assert_non_null(strstr(t->err, "aborted"));
    assert_int_equal(p.wf[1].pcb, 0xE2);
    assert_int_equal(p.wf[2].pcb, 0xC0);
    t->ops->close(t);
}

/* ---- lost link, failed RESYNC, endless chain ----------------------------- */

static void s_lost(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    if (idx < 5)
        return; /* I, 3 x R, RESYNC: all unanswered */
    if (w->pcb == 0xC0)
        q_frame(p, 0xE0, NULL, 0);
    else if (se05x_t1_is_i(w->pcb))
        q_resp(p);
}

static void test_failed_resync_is_redone(void **state)
{
    fake_phy p;
    se05x_transport *t = open_fake(&p, s_lost, 20, false);
    uint8_t rsp[8];
    size_t rlen;
    assert_int_equal(t->ops->transceive(t, k_cmd, sizeof k_cmd, rsp, sizeof rsp, &rlen),
                     SE05X_ERR_TIMEOUT);
    assert_non_null(strstr(t->err, "RESYNC failed"));
    assert_int_equal(p.nw, 5);
    assert_int_equal(p.wf[4].pcb, 0xC0);
    expect_ok_9000(t, k_cmd, sizeof k_cmd);
    assert_int_equal(p.wf[5].pcb, 0xC0); /* re-synchronised first */
    assert_int_equal(p.wf[6].pcb, 0x00); /* then I(0) */
    t->ops->close(t);
}

static void s_endless(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    static const uint8_t blk[254];
    if (w->pcb == 0xC0) {
        q_frame(p, 0xE0, NULL, 0);
        return;
    }
    q_frame(p, se05x_t1_i_pcb(p->se_ns, true), blk, sizeof blk);
    p->se_ns ^= 1u;
}

static void test_endless_response_chain(void **state)
{
    fake_phy *p = malloc(sizeof *p);
    se05x_transport *t = open_fake(p, s_endless, 50, false);
    uint8_t rsp[8];
    size_t rlen;
    assert_int_equal(t->ops->transceive(t, k_cmd, sizeof k_cmd, rsp, sizeof rsp, &rlen),
                     SE05X_ERR_PROTOCOL);
    assert_non_null(strstr(t->err, "longer than"));
    assert_int_equal(p->wf[p->nw - 1].pcb, 0xC0);
    t->ops->close(t);
    free(p);
}

/* ---- close ------------------------------------------------------------------- */

static void s_close(fake_phy *p, unsigned idx, const se05x_t1_frame *w)
{
    if (w->pcb == 0xC5)
        q_frame(p, 0xE5, NULL, 0);
}

static void test_close_ends_apdu_session(void **state)
{
    fake_phy p;
    se05x_transport *t = open_fake(&p, s_close, 50, false);
    t->ops->close(t);
    assert_int_equal(p.nw, 1);
    assert_int_equal(p.wf[0].pcb, 0xC5);
    assert_true(p.closed);
    /* a non-T=1 transport is refused by the accessors */
    se05x_transport other = {0};
    se05x_t1_stats s;
    assert_int_equal(se05x_t1_get_stats(&other, &s), SE05X_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_sequence_and_atr), cmocka_unit_test(test_wtx_echo_and_extension),
        cmocka_unit_test(test_read_quirk_00_a5),      cmocka_unit_test(test_r_block_error_codes),
        cmocka_unit_test(test_resend_on_se_request),  cmocka_unit_test(test_se_ifs_request),
        cmocka_unit_test(test_se_abort),              cmocka_unit_test(test_close_ends_apdu_session),
        cmocka_unit_test(test_unreadable_atr_means_defaults),
        cmocka_unit_test(test_failed_resync_is_redone),
        cmocka_unit_test(test_resend_i_block_not_r_block),
        cmocka_unit_test(test_random_se_behaviour), cmocka_unit_test(test_endless_response_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
