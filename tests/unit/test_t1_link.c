/* End-to-end tests of T=1 over the virtual I2C: the host engine
 * (se05x_t1_socket_open + ops->transceive/reset/close) against the
 * simulator's T=1 server (sesim_t1_server_start) with a fake card defined
 * here: short APDUs, chaining both ways (up to SE05X_APDU_MAX), recovery from
 * injected CRC errors and dropped frames, WTX, busy NACK polling, RESYNC via
 * reset, permanent failure, and misbehaving raw clients (bad socket records,
 * bad frames, wrong NAD, LEN > 254) that must not stop the server serving
 * others; server S-blocks (IFS, GET ATR, SOFT/CHIP RESET, ABORT, END OF
 * APDU SESSION) and the command-size limit are checked with a raw client. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "se05x/apdu.h"
#include "se05x/t1.h"
#include "sesim/servers.h"

/* ---- fake card --------------------------------------------------------- *
 * INS 01: response = the whole command APDU reversed || 9000
 * INS 02: response = (P1<<8|P2) bytes of pattern || 9000
 * INS 03: response = number of resets of this channel (1 byte) || 9000 */

typedef struct {
    pthread_mutex_t mu;
    unsigned opened, closed, processed;
} fake_card;

typedef struct {
    fake_card *card;
    unsigned resets;
} fake_chan;

/* ATR with BWT 300 ms and IFSC 254. */
static const uint8_t k_atr[] = {0x00, 0xA0, 0x00, 0x00, 0x03, 0x96, 0x04, 0x01, 0x2C, 0x00,
                                0xFE, 0x02, 0x0B, 0x03, 0xE8, 0x08, 0x01, 0x00, 0x00, 0x00,
                                0x00, 0x64, 0x00, 0x00, 0x04, 'F', 'A', 'K', 'E'};

static void *fc_open(void *ctx)
{
    fake_card *c = ctx;
    fake_chan *ch = calloc(1, sizeof *ch);
    ch->card = c;
    pthread_mutex_lock(&c->mu);
    c->opened++;
    pthread_mutex_unlock(&c->mu);
    return ch;
}

static void fc_close(void *chan)
{
    fake_chan *ch = chan;
    pthread_mutex_lock(&ch->card->mu);
    ch->card->closed++;
    pthread_mutex_unlock(&ch->card->mu);
    free(ch);
}

static void fc_reset(void *chan) { ((fake_chan *)chan)->resets++; }

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7u + 3u); }

static size_t fc_process(void *chan, const uint8_t *c, size_t len, uint8_t *r, size_t cap)
{
    fake_chan *ch = chan;
    pthread_mutex_lock(&ch->card->mu);
    ch->card->processed++;
    pthread_mutex_unlock(&ch->card->mu);
    size_t n = 0;
    if (len >= 4 && c[1] == 0x01 && len + 2 <= cap) {
        for (size_t i = 0; i < len; i++)
            r[i] = c[len - 1 - i];
        n = len;
    } else if (len >= 4 && c[1] == 0x02 && (((size_t)c[2] << 8) | c[3]) + 2 <= cap) {
        n = ((size_t)c[2] << 8) | c[3];
        for (size_t i = 0; i < n; i++)
            r[i] = pattern(i);
    } else if (len >= 4 && c[1] == 0x03) {
        r[0] = (uint8_t)ch->resets;
        n = 1;
    } else {
        r[0] = 0x6D;
        r[1] = 0x00;
        return 2;
    }
    r[n] = 0x90;
    r[n + 1] = 0x00;
    return n + 2;
}

static size_t fc_atr(void *ctx, uint8_t *out, size_t cap)
{
    (void)ctx;
    if (cap < sizeof k_atr)
        return 0;
    memcpy(out, k_atr, sizeof k_atr);
    return sizeof k_atr;
}

/* ---- fixture ------------------------------------------------------------ */

typedef struct {
    char dir[256];
    char sock[300];
    fake_card card;
    sesim_card_if cif;
    sesim_t1_server *srv;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    const char *base = getenv("SE05X_TEST_TMP");
    char tmpl[256];
    if (base) {
        (void)mkdir(base, 0700);
        snprintf(tmpl, sizeof tmpl, "%s/t1XXXXXX", base);
    } else
        snprintf(tmpl, sizeof tmpl, "/tmp/t1XXXXXX");
    /* Unix socket paths are short: fall back to /tmp if the build dir is deep. */
    if (strlen(tmpl) > 80)
        snprintf(tmpl, sizeof tmpl, "/tmp/t1XXXXXX");
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "%s", tmpl);
    snprintf(fx->sock, sizeof fx->sock, "%s/t1.sock", fx->dir);
    pthread_mutex_init(&fx->card.mu, NULL);
    fx->cif = (sesim_card_if){.ctx = &fx->card, .chan_open = fc_open, .chan_close = fc_close,
                              .chan_reset = fc_reset, .process = fc_process, .atr = fc_atr};
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (fx->srv)
        sesim_t1_server_stop(fx->srv);
    rmdir(fx->dir);
    pthread_mutex_destroy(&fx->card.mu);
    free(fx);
    return 0;
}

static void start(fixture *fx, const sesim_t1_faults *faults)
{
    assert_int_equal(sesim_t1_server_start(&fx->cif, fx->sock, faults, &fx->srv), SE05X_OK);
}

static se05x_transport *connect_host(fixture *fx, unsigned bwt_ms)
{
    se05x_t1_opts o = {.bwt_ms = bwt_ms};
    se05x_transport *t = NULL;
    char err[256] = "";
    se05x_status st = se05x_t1_socket_open_ex(fx->sock, &o, &t, err, sizeof err);
    if (st != SE05X_OK)
        fail_msg("open: %s (%s)", se05x_strerror(st), err);
    return t;
}

/* Echo APDU of total length len (header 80 01 00 00 + filler). */
static void echo_roundtrip(se05x_transport *t, size_t len)
{
    uint8_t *cmd = malloc(len), *rsp = malloc(SE05X_APDU_MAX);
    cmd[0] = 0x80;
    cmd[1] = 0x01;
    for (size_t i = 2; i < len; i++)
        cmd[i] = (uint8_t)(i * 13u);
    size_t rlen = 0;
    se05x_status st = t->ops->transceive(t, cmd, len, rsp, SE05X_APDU_MAX, &rlen);
    if (st != SE05X_OK)
        fail_msg("transceive(%zu): %s: %s", len, se05x_strerror(st), t->err);
    assert_int_equal(rlen, len + 2);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(rsp[i], cmd[len - 1 - i]);
    assert_int_equal(rsp[len], 0x90);
    assert_int_equal(rsp[len + 1], 0x00);
    free(cmd);
    free(rsp);
}

static void big_roundtrip(se05x_transport *t, size_t n)
{
    uint8_t cmd[4] = {0x80, 0x02, (uint8_t)(n >> 8), (uint8_t)n};
    uint8_t *rsp = malloc(SE05X_APDU_MAX);
    size_t rlen = 0;
    se05x_status st = t->ops->transceive(t, cmd, 4, rsp, SE05X_APDU_MAX, &rlen);
    if (st != SE05X_OK)
        fail_msg("transceive(big %zu): %s: %s", n, se05x_strerror(st), t->err);
    assert_int_equal(rlen, n + 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rsp[i], pattern(i));
    assert_int_equal(rsp[n], 0x90);
    free(rsp);
}

/* ---- engine over the socket ------------------------------------------------ */

static void test_open_atr_and_short_apdu(void **state)
{
    fixture *fx = *state;
    start(fx, NULL);
    se05x_transport *t = connect_host(fx, 0);
    unsigned bwt = 0, ifsc = 0;
    assert_int_equal(se05x_t1_get_params(t, &bwt, &ifsc), SE05X_OK);
    assert_int_equal(bwt, 300); /* from the ATR */
    assert_int_equal(ifsc, 254);
    echo_roundtrip(t, 5);
    echo_roundtrip(t, 4);
    echo_roundtrip(t, 250);
    /* unknown INS answered with 6D00 by the card, passed through */
    uint8_t cmd[4] = {0x80, 0x7F, 0, 0}, rsp[16];
    size_t rlen;
    assert_int_equal(t->ops->transceive(t, cmd, 4, rsp, sizeof rsp, &rlen), SE05X_OK);
    assert_int_equal(rlen, 2);
    assert_int_equal(rsp[0], 0x6D);
    t->ops->close(t);
}

static void test_chaining_both_ways(void **state)
{
    fixture *fx = *state;
    start(fx, NULL);
    se05x_transport *t = connect_host(fx, 0);
    se05x_t1_stats s0, s1;
    assert_int_equal(se05x_t1_get_stats(t, &s0), SE05X_OK);
    echo_roundtrip(t, 1000); /* 4 command blocks, 4 response blocks */
    assert_int_equal(se05x_t1_get_stats(t, &s1), SE05X_OK);
    /* 4 I-blocks out + 3 R-acks of the response chain */
    assert_int_equal(s1.frames_sent - s0.frames_sent, 4 + 3);
    /* 3 R-acks + 4 I-blocks in */
    assert_int_equal(s1.frames_received - s0.frames_received, 3 + 4);
    big_roundtrip(t, 2000);
    big_roundtrip(t, 254 - 2); /* exactly one full block */
    big_roundtrip(t, 254 - 1); /* one byte into a second block */
    echo_roundtrip(t, 254);
    echo_roundtrip(t, 255);
    echo_roundtrip(t, SE05X_APDU_MAX - 2); /* response is exactly SE05X_APDU_MAX */
    big_roundtrip(t, SE05X_APDU_MAX - 2);
    assert_int_equal(se05x_t1_get_stats(t, &s1), SE05X_OK);
    assert_int_equal(s1.bad_frames + s1.timeouts + s1.retransmit_requests, 0);
    t->ops->close(t);
}

static void test_bad_arguments_and_small_buffer(void **state)
{
    fixture *fx = *state;
    start(fx, NULL);
    se05x_transport *t = connect_host(fx, 0);
    uint8_t *cmd = calloc(1, SE05X_APDU_MAX + 1), rsp[64];
    size_t rlen = 0;
    assert_int_equal(t->ops->transceive(t, cmd, SE05X_APDU_MAX + 1, rsp, sizeof rsp, &rlen),
                     SE05X_ERR_ARG);
    assert_int_equal(t->ops->transceive(t, cmd, 0, rsp, sizeof rsp, &rlen), SE05X_ERR_ARG);
    /* 600-byte response into a 64-byte buffer: ERR_BUFFER, real length reported */
    uint8_t big[4] = {0x80, 0x02, 0x02, 0x58};
    assert_int_equal(t->ops->transceive(t, big, 4, rsp, sizeof rsp, &rlen), SE05X_ERR_BUFFER);
    assert_int_equal(rlen, 602);
    assert_non_null(strstr(t->err, "does not fit"));
    /* the link stays in sync */
    echo_roundtrip(t, 300);
    free(cmd);
    t->ops->close(t);
}

static void test_recovers_from_crc_errors(void **state)
{
    fixture *fx = *state;
    sesim_t1_faults f = {.crc_every = 3};
    start(fx, &f);
    se05x_transport *t = connect_host(fx, 100);
    for (int i = 0; i < 4; i++) {
        echo_roundtrip(t, 7);
        echo_roundtrip(t, 1000);
        big_roundtrip(t, 2000);
    }
    se05x_t1_stats s;
    assert_int_equal(se05x_t1_get_stats(t, &s), SE05X_OK);
    assert_true(s.bad_frames >= 5);
    assert_true(s.retransmit_requests >= s.bad_frames);
    t->ops->close(t);
}

static void test_recovers_from_dropped_frames(void **state)
{
    fixture *fx = *state;
    sesim_t1_faults f = {.drop_every = 4};
    start(fx, &f);
    se05x_transport *t = connect_host(fx, 80);
    echo_roundtrip(t, 7);
    echo_roundtrip(t, 1000);
    big_roundtrip(t, 2000);
    se05x_t1_stats s;
    assert_int_equal(se05x_t1_get_stats(t, &s), SE05X_OK);
    assert_true(s.timeouts >= 3);
    assert_true(s.retransmit_requests >= s.timeouts);
    t->ops->close(t);
}

static void test_mixed_faults(void **state)
{
    fixture *fx = *state;
    sesim_t1_faults f = {.crc_every = 5, .drop_every = 7, .wtx_every = 2, .busy_every = 3};
    start(fx, &f);
    se05x_transport *t = connect_host(fx, 80);
    for (int i = 0; i < 3; i++) {
        echo_roundtrip(t, 600);
        big_roundtrip(t, 1500);
    }
    t->ops->close(t);
}

static void test_wtx(void **state)
{
    fixture *fx = *state;
    sesim_t1_faults f = {.wtx_every = 1};
    start(fx, &f);
    se05x_transport *t = connect_host(fx, 0);
    echo_roundtrip(t, 5);
    echo_roundtrip(t, 700);
    big_roundtrip(t, 900);
    se05x_t1_stats s;
    assert_int_equal(se05x_t1_get_stats(t, &s), SE05X_OK);
    assert_int_equal(s.wtx, 3); /* one per response */
    assert_int_equal(s.bad_frames + s.timeouts, 0);
    t->ops->close(t);
}

static void test_busy_polling(void **state)
{
    fixture *fx = *state;
    sesim_t1_faults f = {.busy_every = 2};
    start(fx, &f);
    se05x_transport *t = connect_host(fx, 0);
    echo_roundtrip(t, 5);
    echo_roundtrip(t, 800);
    se05x_t1_stats s;
    assert_int_equal(se05x_t1_get_stats(t, &s), SE05X_OK);
    assert_true(s.busy_polls >= 5);
    assert_int_equal(s.bad_frames + s.timeouts, 0);
    t->ops->close(t);
}

static void test_reset_resync_and_atr(void **state)
{
    fixture *fx = *state;
    start(fx, NULL);
    se05x_transport *t = connect_host(fx, 0);
    echo_roundtrip(t, 5); /* host N(S) now 1 */
    uint8_t atr[64];
    size_t alen = 0;
    assert_int_equal(t->ops->reset(t, atr, sizeof atr, &alen), SE05X_OK);
    assert_int_equal(alen, sizeof k_atr);
    assert_memory_equal(atr, k_atr, sizeof k_atr);
    echo_roundtrip(t, 5); /* sequence numbers restarted on both sides */
    echo_roundtrip(t, 5);
    uint8_t small[4];
    assert_int_equal(t->ops->reset(t, small, sizeof small, &alen), SE05X_ERR_BUFFER);
    assert_int_equal(t->ops->reset(t, NULL, 0, NULL), SE05X_OK);
    se05x_t1_stats s;
    assert_int_equal(se05x_t1_get_stats(t, &s), SE05X_OK);
    assert_int_equal(s.resyncs, 4); /* open + 3 resets */
    t->ops->close(t);
}

static void test_permanent_failure(void **state)
{
    fixture *fx = *state;
    sesim_t1_faults f = {.crc_every = 1};
    start(fx, &f);
    se05x_t1_opts o = {.bwt_ms = 50};
    se05x_transport *t = NULL;
    char err[256] = "";
    /* the open sequence itself fails: clear message, no transport */
    assert_int_equal(se05x_t1_socket_open_ex(fx->sock, &o, &t, err, sizeof err), SE05X_ERR_PROTOCOL);
    assert_null(t);
    assert_non_null(strstr(err, "CRC mismatch"));
    /* without the open sequence, an APDU fails after the retries */
    o.no_open_sequence = true;
    assert_int_equal(se05x_t1_socket_open_ex(fx->sock, &o, &t, err, sizeof err), SE05X_OK);
    uint8_t cmd[5] = {0x80, 0x01, 0, 0, 0}, rsp[16];
    size_t rlen;
    assert_int_equal(t->ops->transceive(t, cmd, 5, rsp, sizeof rsp, &rlen), SE05X_ERR_PROTOCOL);
    assert_non_null(strstr(t->err, "after 3 retries"));
    se05x_t1_stats s;
    assert_int_equal(se05x_t1_get_stats(t, &s), SE05X_OK);
    assert_int_equal(s.retransmit_requests, 3);
    assert_int_equal(s.resyncs, 1);
    /* the failed RESYNC is retried before the next APDU */
    assert_int_equal(t->ops->transceive(t, cmd, 5, rsp, sizeof rsp, &rlen), SE05X_ERR_PROTOCOL);
    assert_non_null(strstr(t->err, "S-block C0 not answered"));
    assert_int_equal(se05x_t1_get_stats(t, &s), SE05X_OK);
    assert_int_equal(s.resyncs, 2);
    t->ops->close(t);
}

static void test_no_answer_times_out(void **state)
{
    fixture *fx = *state;
    sesim_t1_faults f = {.drop_every = 1};
    start(fx, &f);
    se05x_t1_opts o = {.bwt_ms = 30, .max_retries = 2};
    se05x_transport *t = NULL;
    char err[256] = "";
    assert_int_equal(se05x_t1_socket_open_ex(fx->sock, &o, &t, err, sizeof err), SE05X_ERR_TIMEOUT);
    assert_non_null(strstr(err, "no answer"));
    o.no_open_sequence = true;
    assert_int_equal(se05x_t1_socket_open_ex(fx->sock, &o, &t, err, sizeof err), SE05X_OK);
    uint8_t cmd[5] = {0x80, 0x01, 0, 0, 0}, rsp[16];
    size_t rlen;
    assert_int_equal(t->ops->transceive(t, cmd, 5, rsp, sizeof rsp, &rlen), SE05X_ERR_TIMEOUT);
    assert_non_null(strstr(t->err, "no answer within BWT"));
    t->ops->close(t);
}

static void test_open_errors(void **state)
{
    fixture *fx = *state;
    se05x_transport *t = NULL;
    char err[256] = "";
    assert_int_equal(se05x_t1_socket_open_ex(fx->sock, NULL, &t, err, sizeof err),
                     SE05X_ERR_TRANSPORT);
    assert_non_null(strstr(err, "cannot connect"));
    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(se05x_t1_socket_open(longp, &t), SE05X_ERR_ARG);
    assert_int_equal(sesim_t1_server_start(&fx->cif, longp, NULL, &fx->srv), SE05X_ERR_ARG);
    assert_null(fx->srv);
    /* a second server on a live path is refused; the first keeps serving */
    start(fx, NULL);
    sesim_t1_server *other = NULL;
    assert_int_equal(sesim_t1_server_start(&fx->cif, fx->sock, NULL, &other), SE05X_ERR_LOCKED);
    assert_null(other);
    t = connect_host(fx, 0);
    echo_roundtrip(t, 5);
    t->ops->close(t);
    /* a stale socket file (no server) is replaced */
    sesim_t1_server_stop(fx->srv);
    fx->srv = NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(snprintf(sa.sun_path, sizeof sa.sun_path, "%s", fx->sock) <
                (int)sizeof sa.sun_path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    start(fx, NULL);
    t = connect_host(fx, 0);
    echo_roundtrip(t, 5);
    t->ops->close(t);
}

/* ---- raw virtual-I2C clients -------------------------------------------- */

static int raw_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void raw_send(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void raw_recv(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        assert_true(r > 0);
        p += r;
        n -= (size_t)r;
    }
}

static void raw_write_bytes(int fd, const uint8_t *buf, size_t n)
{
    uint8_t hdr[3] = {SE05X_VI2C_OP_WRITE, (uint8_t)(n >> 8), (uint8_t)n}, ack;
    raw_send(fd, hdr, 3);
    raw_send(fd, buf, n);
    raw_recv(fd, &ack, 1);
    assert_int_equal(ack, SE05X_VI2C_ACK);
}

static void raw_write_frame(int fd, uint8_t pcb, const uint8_t *inf, size_t len)
{
    uint8_t fr[SE05X_T1_FRAME_MAX];
    size_t n;
    assert_int_equal(se05x_t1_frame_encode(SE05X_T1_NAD_HOST, pcb, inf, len, fr, sizeof fr, &n),
                     SE05X_OK);
    raw_write_bytes(fd, fr, n);
}

/* One read transaction; false when NACKed. */
static bool raw_read(int fd, uint8_t *buf, size_t n)
{
    uint8_t hdr[3] = {SE05X_VI2C_OP_READ, (uint8_t)(n >> 8), (uint8_t)n}, ack;
    raw_send(fd, hdr, 3);
    raw_recv(fd, &ack, 1);
    if (ack == SE05X_VI2C_NACK)
        return false;
    assert_int_equal(ack, SE05X_VI2C_ACK);
    raw_recv(fd, buf, n);
    return true;
}

/* Read one whole SE frame (NAD PCB LEN first, then the rest) and decode it. */
static void raw_read_frame(int fd, se05x_t1_frame *f)
{
    uint8_t buf[SE05X_T1_FRAME_MAX];
    int polls = 0;
    while (!raw_read(fd, buf, 3)) {
        assert_true(++polls < 1000);
        usleep(1000);
    }
    assert_true(buf[2] <= 254);
    assert_true(raw_read(fd, buf + 3, (size_t)buf[2] + 2));
    assert_int_equal(se05x_t1_frame_decode(buf, (size_t)buf[2] + 5, SE05X_T1_NAD_SE, f),
                     SE05X_T1_FRAME_OK);
}

static void test_raw_bad_frames_get_error_r_blocks(void **state)
{
    fixture *fx = *state;
    start(fx, NULL);
    int fd = raw_connect(fx->sock);
    se05x_t1_frame f;
    uint8_t buf[8];
    /* nothing to read yet: NACK, never unsolicited data */
    assert_false(raw_read(fd, buf, 2));
    /* bad CRC -> R-block with the CRC error bit, N(R) = 0 */
    uint8_t fr[16];
    size_t n;
    uint8_t apdu[4] = {0x80, 0x01, 0, 0};
    assert_int_equal(se05x_t1_frame_encode(0x5A, 0x00, apdu, 4, fr, sizeof fr, &n), SE05X_OK);
    fr[n - 1] ^= 0xFF;
    raw_write_bytes(fd, fr, n);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x81);
    /* wrong NAD with a good CRC -> "other error" */
    assert_int_equal(se05x_t1_frame_encode(0xA5, 0x00, apdu, 4, fr, sizeof fr, &n), SE05X_OK);
    raw_write_bytes(fd, fr, n);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x82);
    /* LEN 0xFF */
    const uint8_t badlen[5] = {0x5A, 0x00, 0xFF, 0x00, 0x00};
    raw_write_bytes(fd, badlen, 5);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x82);
    /* garbage bytes in a write */
    const uint8_t junk[7] = {1, 2, 3, 4, 5, 6, 7};
    raw_write_bytes(fd, junk, 7);
    raw_read_frame(fd, &f);
    assert_true(se05x_t1_is_r(f.pcb));
    assert_int_equal(f.pcb & 3, 2);
    /* unknown S-block / host sending a WTX request / stray WTX response */
    raw_write_frame(fd, 0xC3, (const uint8_t[]){1}, 1);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x82);
    raw_write_frame(fd, 0xE3, (const uint8_t[]){1}, 1);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x82);
    /* a valid APDU afterwards still works: I(0) -> I(0) response */
    raw_write_frame(fd, 0x00, apdu, 4);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x00);
    assert_int_equal(f.len, 6);
    assert_int_equal(f.inf[0], 0x00);
    assert_int_equal(f.inf[3], 0x80);
    assert_int_equal(f.inf[4], 0x90);
    /* R-block asking for a resend gets the same response again */
    raw_write_frame(fd, se05x_t1_r_pcb(0, SE05X_T1_R_ERR_CRC), NULL, 0);
    se05x_t1_frame g;
    raw_read_frame(fd, &g);
    assert_int_equal(g.pcb, f.pcb);
    assert_memory_equal(g.inf, f.inf, f.len);
    /* a frame is consumed once read: the next read is NACKed */
    assert_false(raw_read(fd, buf, 2));
    close(fd);
}

static void test_raw_s_blocks(void **state)
{
    fixture *fx = *state;
    start(fx, NULL);
    int fd = raw_connect(fx->sock);
    se05x_t1_frame f;
    raw_write_frame(fd, 0xC0, NULL, 0); /* RESYNC */
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0xE0);
    assert_int_equal(f.len, 0);
    raw_write_frame(fd, 0xC7, NULL, 0); /* GET ATR */
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0xE7);
    assert_int_equal(f.len, sizeof k_atr);
    assert_memory_equal(f.inf, k_atr, sizeof k_atr);
    /* IFS 32: the response is chained in blocks of at most 32 bytes */
    raw_write_frame(fd, 0xC1, (const uint8_t[]){32}, 1);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0xE1);
    assert_int_equal(f.inf[0], 32);
    raw_write_frame(fd, 0xC1, (const uint8_t[]){0}, 1); /* IFS 0 is invalid */
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x82);
    uint8_t big[4] = {0x80, 0x02, 0x00, 70}; /* 72-byte response: 32 + 32 + 8 */
    raw_write_frame(fd, 0x00, big, 4);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x20); /* I(0) M */
    assert_int_equal(f.len, 32);
    raw_write_frame(fd, 0x90, NULL, 0); /* R(1): next please */
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x60); /* I(1) M */
    assert_int_equal(f.inf[0], pattern(32));
    raw_write_frame(fd, 0x80, NULL, 0); /* R(0) */
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x00); /* I(0) last */
    assert_int_equal(f.len, 8);
    assert_int_equal(f.inf[7], 0x00);
    assert_int_equal(f.inf[6], 0x90);
    /* SOFT RESET and CHIP RESET: ATR and a channel reset */
    raw_write_frame(fd, 0xCF, NULL, 0);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0xEF);
    assert_int_equal(f.len, sizeof k_atr);
    raw_write_frame(fd, 0xC6, NULL, 0);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0xE6);
    assert_int_equal(f.len, sizeof k_atr);
    uint8_t q[4] = {0x80, 0x03, 0, 0};
    raw_write_frame(fd, 0x00, q, 4); /* sequence numbers restarted at 0 */
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x00);
    assert_int_equal(f.inf[0], 2); /* two resets */
    /* ABORT in the middle of a command chain: the chain is dropped */
    raw_write_frame(fd, 0x60, q, 2); /* I(1) M */
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x80); /* R(0) */
    raw_write_frame(fd, 0xC2, NULL, 0);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0xE2);
    /* END OF APDU SESSION resets the protocol state */
    raw_write_frame(fd, 0xC5, NULL, 0);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0xE5);
    raw_write_frame(fd, 0x00, q, 4);
    raw_read_frame(fd, &f);
    assert_int_equal(f.pcb, 0x00);
    assert_int_equal(f.len, 3);
    close(fd);
}

static void test_raw_command_too_long(void **state)
{
    fixture *fx = *state;
    start(fx, NULL);
    int fd = raw_connect(fx->sock);
    se05x_t1_frame f;
    uint8_t chunk[254];
    memset(chunk, 0x11, sizeof chunk);
    chunk[1] = 0x01;
    unsigned ns = 0;
    for (int i = 0; i < 17; i++) { /* 17 * 254 = 4318 > SE05X_APDU_MAX */
        raw_write_frame(fd, se05x_t1_i_pcb(ns, true), chunk, sizeof chunk);
        ns ^= 1;
        raw_read_frame(fd, &f);
        assert_int_equal(f.pcb, se05x_t1_r_pcb(ns, 0));
    }
    raw_write_frame(fd, se05x_t1_i_pcb(ns, false), chunk, 10);
    raw_read_frame(fd, &f);
    assert_int_equal(f.len, 2);
    assert_int_equal(f.inf[0], 0x67);
    assert_int_equal(f.inf[1], 0x00);
    close(fd);
}

static void test_garbage_client_does_not_stop_server(void **state)
{
    fixture *fx = *state;
    start(fx, NULL);
    se05x_transport *t1 = connect_host(fx, 0); /* a well-behaved client already connected */
    /* unknown operation byte: the server closes that connection */
    int fd = raw_connect(fx->sock);
    raw_send(fd, "GARBAGE!GARBAGE!", 16);
    uint8_t b;
    assert_int_equal(recv(fd, &b, 1, 0), 0);
    close(fd);
    /* a transaction length above the limit: closed too */
    fd = raw_connect(fx->sock);
    raw_send(fd, (const uint8_t[]){SE05X_VI2C_OP_READ, 0xFF, 0xFF}, 3);
    assert_int_equal(recv(fd, &b, 1, 0), 0);
    close(fd);
    /* a zero-length read: closed */
    fd = raw_connect(fx->sock);
    raw_send(fd, (const uint8_t[]){SE05X_VI2C_OP_READ, 0, 0}, 3);
    assert_int_equal(recv(fd, &b, 1, 0), 0);
    close(fd);
    /* a client that hangs up mid-record */
    fd = raw_connect(fx->sock);
    raw_send(fd, (const uint8_t[]){SE05X_VI2C_OP_WRITE, 0, 50, 1, 2}, 5);
    close(fd);
    /* a client flooding bad frames gets disconnected eventually */
    fd = raw_connect(fx->sock);
    const uint8_t junk[5] = {9, 9, 9, 9, 9};
    uint8_t hdr[3] = {SE05X_VI2C_OP_WRITE, 0, 5}, ack = 0;
    int closed_after = -1;
    for (int i = 0; i < 200 && closed_after < 0; i++) {
        if (send(fd, hdr, 3, MSG_NOSIGNAL) != 3 || send(fd, junk, 5, MSG_NOSIGNAL) != 5 ||
            recv(fd, &ack, 1, 0) != 1)
            closed_after = i;
    }
    assert_true(closed_after > 0);
    close(fd);
    /* the server still serves the first client and a new one */
    echo_roundtrip(t1, 300);
    se05x_transport *t2 = connect_host(fx, 0);
    echo_roundtrip(t2, 1000);
    echo_roundtrip(t1, 5);
    t2->ops->close(t2);
    t1->ops->close(t1);
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Random frames and garbage: every write is answered by exactly one valid
 * SE frame, and the server keeps serving. */
static void test_random_host_frames(void **state)
{
    fixture *fx = *state;
    sesim_t1_faults faults = {.wtx_every = 5};
    start(fx, &faults);
    static const uint8_t pcbs[] = {0x00, 0x40, 0x20, 0x60, 0x80, 0x90, 0x81, 0x92, 0xC0,
                                   0xC1, 0xC2, 0xC3, 0xE3, 0xC5, 0xC6, 0xC7, 0xCF, 0xE0};
    uint32_t seed = 0xC0FFEEu;
    int fd = raw_connect(fx->sock);
    for (int i = 0; i < 1500; i++) {
        uint8_t inf[300];
        size_t len = rnd(&seed) % 260;
        for (size_t k = 0; k < len; k++)
            inf[k] = (uint8_t)rnd(&seed);
        if (len >= 2 && (rnd(&seed) & 7) == 0)
            inf[1] = 0x02; /* sometimes a "big response" APDU */
        if (rnd(&seed) % 3 == 0) {
            raw_write_bytes(fd, inf, len ? len : 1); /* garbage */
        } else {
            uint8_t pcb = pcbs[rnd(&seed) % sizeof pcbs];
            raw_write_frame(fd, pcb, inf, len > 254 ? 254 : len);
        }
        se05x_t1_frame f;
        raw_read_frame(fd, &f); /* exactly one valid answer */
        if (rnd(&seed) % 4 == 0) { /* stray extra reads are NACKed */
            uint8_t b[3];
            assert_false(raw_read(fd, b, 3));
        }
    }
    close(fd);
    se05x_transport *t = connect_host(fx, 0);
    echo_roundtrip(t, 700);
    t->ops->close(t);
}

typedef struct {
    fixture *fx;
    int ok;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *w = p;
    se05x_transport *t = NULL;
    se05x_t1_opts o = {0};
    if (se05x_t1_socket_open_ex(w->fx->sock, &o, &t, NULL, 0) != SE05X_OK)
        return NULL;
    uint8_t cmd[4] = {0x80, 0x02, 0x03, 0x00};
    uint8_t *rsp = malloc(SE05X_APDU_MAX);
    size_t rlen;
    w->ok = 1;
    for (int i = 0; i < 10; i++)
        if (t->ops->transceive(t, cmd, 4, rsp, SE05X_APDU_MAX, &rlen) != SE05X_OK || rlen != 770 ||
            rsp[500] != pattern(500))
            w->ok = 0;
    free(rsp);
    t->ops->close(t);
    return NULL;
}

static void test_parallel_clients(void **state)
{
    fixture *fx = *state;
    start(fx, NULL);
    pthread_t th[4];
    worker_arg w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_arg){fx, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 1);
    }
    /* each client had its own channel, all closed by now or soon */
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&fx->card.mu);
        unsigned closed = fx->card.closed;
        pthread_mutex_unlock(&fx->card.mu);
        if (closed == 4)
            break;
        usleep(10000);
    }
    assert_int_equal(fx->card.opened, 4);
    assert_int_equal(fx->card.closed, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_atr_and_short_apdu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chaining_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments_and_small_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovers_from_crc_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovers_from_dropped_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wtx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_resync_and_atr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_answer_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_bad_frames_get_error_r_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_s_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_command_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_client_does_not_stop_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_host_frames, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
