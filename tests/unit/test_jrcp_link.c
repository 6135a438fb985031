/* Unit tests of the JRCP v1 client transport (hostlib/src/jrcp.c) against
 * the JRCP server (sim/src/jrcp_server.c) on an ephemeral loopback port,
 * with a fake card defined here (no real simulator): it answers an APDU
 * with its bytes reversed + 9000, 80 BB with 4000 pattern bytes + 9000,
 * 80 CA with its channel number + 9000, and counts channels/resets.
 * Also drives the server with raw sockets for malformed and unusual
 * frames, and the client against misbehaving raw servers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "se05x/jrcp.h"
#include "se05x/transport.h"
#include "sesim/servers.h"

/* ---- fake card ----------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    int opened, closed, resets, live, max_live;
    bool refuse;
} fake_card;

typedef struct {
    fake_card *card;
    int id;
} fake_chan;

static void *fake_chan_open(void *ctx)
{
    fake_card *fc = ctx;
    pthread_mutex_lock(&fc->mu);
    fake_chan *ch = NULL;
    if (!fc->refuse) {
        ch = calloc(1, sizeof *ch);
        if (ch != NULL) {
            ch->card = fc;
            ch->id = ++fc->opened;
            if (++fc->live > fc->max_live)
                fc->max_live = fc->live;
        }
    }
    pthread_mutex_unlock(&fc->mu);
    return ch;
}

static void fake_chan_close(void *chan)
{
    fake_chan *ch = chan;
    pthread_mutex_lock(&ch->card->mu);
    ch->card->closed++;
    ch->card->live--;
    pthread_mutex_unlock(&ch->card->mu);
    free(ch);
}

static void fake_chan_reset(void *chan)
{
    fake_chan *ch = chan;
    pthread_mutex_lock(&ch->card->mu);
    ch->card->resets++;
    pthread_mutex_unlock(&ch->card->mu);
}

static size_t fake_process(void *chan, const uint8_t *c, size_t len, uint8_t *r, size_t cap)
{
    fake_chan *ch = chan;
    if (len >= 2 && c[0] == 0x80 && c[1] == 0xBB) {
        for (size_t i = 0; i < 4000; i++)
            r[i] = (uint8_t)(i * 13 + 5);
        r[4000] = 0x90;
        r[4001] = 0x00;
        return 4002;
    }
    if (len >= 2 && c[0] == 0x80 && c[1] == 0xCA) {
        r[0] = (uint8_t)ch->id;
        r[1] = 0x90;
        r[2] = 0x00;
        return 3;
    }
    if (len + 2 > cap)
        len = cap - 2;
    for (size_t i = 0; i < len; i++)
        r[i] = c[len - 1 - i];
    r[len] = 0x90;
    r[len + 1] = 0x00;
    return len + 2;
}

static const uint8_t FAKE_ATR[5] = {0x3B, 0x01, 0x02, 0x03, 0x04};

static size_t fake_atr(void *ctx, uint8_t *out, size_t cap)
{
    (void)ctx;
    memcpy(out, FAKE_ATR, cap < 5 ? cap : 5);
    return 5;
}

typedef struct {
    fake_card card;
    sesim_card_if cif;
    sesim_jrcp_server *srv;
    uint16_t port;
    int log_lines;
    pthread_mutex_t log_mu;
} fixture;

static void fix_log(void *ctx, const char *line)
{
    fixture *f = ctx;
    pthread_mutex_lock(&f->log_mu);
    f->log_lines++;
    pthread_mutex_unlock(&f->log_mu);
    (void)line;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->card.mu, NULL);
    pthread_mutex_init(&f->log_mu, NULL);
    f->cif = (sesim_card_if){.ctx = &f->card, .chan_open = fake_chan_open,
                             .chan_close = fake_chan_close, .chan_reset = fake_chan_reset,
                             .process = fake_process, .atr = fake_atr};
    sesim_jrcp_opts o = {.log = fix_log, .log_ctx = f};
    if (sesim_jrcp_server_start_ex(&f->cif, NULL, 0, &o, &f->srv) != SE05X_OK)
        return -1;
    f->port = sesim_jrcp_server_port(f->srv);
    *state = f;
    return f->port != 0 ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sesim_jrcp_server_stop(f->srv);
    pthread_mutex_destroy(&f->card.mu);
    pthread_mutex_destroy(&f->log_mu);
    free(f);
    return 0;
}

static int card_get(fake_card *c, const int *field)
{
    pthread_mutex_lock(&c->mu);
    int v = *field;
    pthread_mutex_unlock(&c->mu);
    return v;
}

/* Wait (up to 5 s) until *field reaches want. */
static bool wait_count(fake_card *c, const int *field, int want)
{
    for (int i = 0; i < 500; i++) {
        if (card_get(c, field) >= want)
            return true;
        poll(NULL, 0, 10);
    }
    return false;
}

/* ---- raw socket helpers ------------------------------------------------- */

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void raw_send(int fd, const void *b, size_t n)
{
    assert_int_equal(send(fd, b, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Read exactly n bytes; returns the count read before EOF/error. */
static size_t raw_recv(int fd, uint8_t *b, size_t n)
{
    size_t have = 0;
    while (have < n) {
        ssize_t r = recv(fd, b + have, n - have, 0);
        if (r <= 0)
            break;
        have += (size_t)r;
    }
    return have;
}

/* Read one frame: header into hdr, payload into p (cap); returns payload length. */
static size_t raw_frame(int fd, uint8_t hdr[4], uint8_t *p, size_t cap)
{
    assert_int_equal(raw_recv(fd, hdr, 4), 4);
    size_t len = ((size_t)hdr[2] << 8) | hdr[3];
    assert_true(len <= cap);
    assert_int_equal(raw_recv(fd, p, len), len);
    return len;
}

/* True when the peer closed the connection (EOF or reset) within 5 s. */
static bool raw_is_closed(int fd)
{
    uint8_t b;
    ssize_t r = recv(fd, &b, 1, 0);
    return r == 0 || (r < 0 && errno == ECONNRESET);
}

static se05x_transport *open_client(fixture *f)
{
    se05x_transport *t = NULL;
    char err[256] = "";
    se05x_status st = se05x_jrcp_open_ex("127.0.0.1", f->port, NULL, &t, err, sizeof err);
    if (st != SE05X_OK)
        fail_msg("open: %s", err);
    return t;
}

static void check_echo(se05x_transport *t, const uint8_t *cmd, size_t len)
{
    uint8_t r[SE05X_APDU_MAX];
    size_t rl = 0;
    assert_int_equal(t->ops->transceive(t, cmd, len, r, sizeof r, &rl), SE05X_OK);
    assert_int_equal(rl, len + 2);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(r[i], cmd[len - 1 - i]);
    assert_int_equal(r[len], 0x90);
    assert_int_equal(r[len + 1], 0x00);
}

static int chan_id(se05x_transport *t)
{
    const uint8_t cmd[4] = {0x80, 0xCA, 0x00, 0x00};
    uint8_t r[16];
    size_t rl = 0;
    assert_int_equal(t->ops->transceive(t, cmd, 4, r, sizeof r, &rl), SE05X_OK);
    assert_int_equal(rl, 3);
    return r[0];
}

/* ---- tests --------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    fixture *f = *state;
    se05x_transport *t = open_client(f);
    assert_string_equal(t->ops->name, "jrcp");
    assert_int_equal(card_get(&f->card, &f->card.resets), 1); /* WAIT_FOR_CARD on open */
    const uint8_t sel[7] = {0x00, 0xA4, 0x04, 0x00, 0x02, 0xAA, 0xBB};
    check_echo(t, sel, sizeof sel);

    /* 4000-byte response */
    const uint8_t big[5] = {0x80, 0xBB, 0x00, 0x00, 0x00};
    uint8_t *r = malloc(SE05X_APDU_MAX);
    size_t rl = 0;
    assert_int_equal(t->ops->transceive(t, big, 5, r, SE05X_APDU_MAX, &rl), SE05X_OK);
    assert_int_equal(rl, 4002);
    for (size_t i = 0; i < 4000; i++)
        assert_int_equal(r[i], (uint8_t)(i * 13 + 5));
    assert_int_equal(r[4000], 0x90);
    /* too-small buffer: error, and the link stays in sync */
    assert_int_equal(t->ops->transceive(t, big, 5, r, 100, &rl), SE05X_ERR_BUFFER);
    assert_non_null(strstr(t->err, "does not fit"));
    check_echo(t, sel, sizeof sel);
    /* a 1500-byte command */
    uint8_t *cmd = malloc(1500);
    for (size_t i = 0; i < 1500; i++)
        cmd[i] = (uint8_t)(i ^ 0x5A);
    check_echo(t, cmd, 1500);
    free(cmd);
    free(r);

    /* reset repeats WAIT_FOR_CARD and returns the ATR */
    uint8_t atr[32];
    size_t al = 0;
    assert_int_equal(t->ops->reset(t, atr, sizeof atr, &al), SE05X_OK);
    assert_int_equal(al, 5);
    assert_memory_equal(atr, FAKE_ATR, 5);
    assert_int_equal(card_get(&f->card, &f->card.resets), 2);
    assert_int_equal(t->ops->reset(t, NULL, 0, NULL), SE05X_OK);
    assert_int_equal(t->ops->reset(t, atr, 2, &al), SE05X_ERR_BUFFER);

    /* bad arguments */
    assert_int_equal(t->ops->transceive(t, sel, 0, atr, sizeof atr, &al), SE05X_ERR_ARG);

    t->ops->close(t);
    assert_true(wait_count(&f->card, &f->card.closed, 1));
    assert_int_equal(f->card.opened, 1);
}

typedef struct {
    fixture *f;
    int idx;
    int chan;
    int ok;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    se05x_transport *t = NULL;
    if (se05x_jrcp_open("127.0.0.1", w->f->port, &t) != SE05X_OK)
        return NULL;
    const uint8_t id[4] = {0x80, 0xCA, 0x00, 0x00};
    uint8_t r[SE05X_APDU_MAX];
    size_t rl = 0;
    if (t->ops->transceive(t, id, 4, r, sizeof r, &rl) == SE05X_OK && rl == 3)
        w->chan = r[0];
    int good = 0;
    for (int i = 0; i < 40; i++) {
        uint8_t c[40];
        size_t n = 5 + (size_t)(i % 30);
        for (size_t k = 0; k < n; k++)
            c[k] = (uint8_t)(w->idx * 31 + i + k);
        c[0] = 0x00; /* never one of the fake card's special commands */
        if (t->ops->transceive(t, c, n, r, sizeof r, &rl) != SE05X_OK || rl != n + 2)
            continue;
        bool same = true;
        for (size_t k = 0; k < n; k++)
            same = same && r[k] == c[n - 1 - k];
        good += same;
    }
    w->ok = good;
    t->ops->close(t);
    return NULL;
}

static void test_concurrent_clients(void **state)
{
    fixture *f = *state;
    enum { N = 6 };
    worker w[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker){.f = f, .idx = i};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        assert_int_equal(w[i].ok, 40);
        assert_true(w[i].chan >= 1 && w[i].chan <= N);
        for (int k = 0; k < i; k++)
            assert_int_not_equal(w[i].chan, w[k].chan); /* each its own channel */
    }
    assert_true(wait_count(&f->card, &f->card.closed, N));
    assert_int_equal(f->card.opened, N);
}

/* Two clients open at the same time on distinct channels, interleaved. */
static void test_two_channels_interleaved(void **state)
{
    fixture *f = *state;
    se05x_transport *a = open_client(f), *b = open_client(f);
    int ia = chan_id(a), ib = chan_id(b);
    assert_int_not_equal(ia, ib);
    assert_int_equal(chan_id(a), ia);
    assert_int_equal(chan_id(b), ib);
    assert_int_equal(card_get(&f->card, &f->card.max_live), 2);
    a->ops->close(a);
    b->ops->close(b);
}

static void test_oversized_frame_dropped(void **state)
{
    fixture *f = *state;
    se05x_transport *good = open_client(f);
    int bad = raw_connect(f->port);
    const uint8_t h5000[4] = {0x01, 0x00, 0x13, 0x88};
    raw_send(bad, h5000, 4);
    assert_true(raw_is_closed(bad));
    close(bad);
    const uint8_t c[6] = {1, 2, 3, 4, 5, 6};
    check_echo(good, c, 6);
    /* maximum header value too */
    bad = raw_connect(f->port);
    const uint8_t hmax[4] = {0x00, 0x00, 0xFF, 0xFF};
    raw_send(bad, hmax, 4);
    assert_true(raw_is_closed(bad));
    close(bad);
    check_echo(good, c, 6);
    good->ops->close(good);
    assert_true(wait_count(&f->card, &f->card.closed, 3));
}

static void test_truncated_frame_dropped(void **state)
{
    fixture *f = *state;
    se05x_transport *good = open_client(f);
    int bad = raw_connect(f->port);
    const uint8_t part[7] = {0x01, 0x00, 0x00, 0x0A, 0x00, 0xA4, 0x04}; /* says 10, sends 3 */
    raw_send(bad, part, sizeof part);
    shutdown(bad, SHUT_WR);
    assert_true(raw_is_closed(bad)); /* no reply, connection ended */
    close(bad);
    assert_true(wait_count(&f->card, &f->card.closed, 1));
    const uint8_t c[3] = {9, 8, 7};
    check_echo(good, c, 3);
    /* header cut short, then close */
    bad = raw_connect(f->port);
    raw_send(bad, part, 2);
    close(bad);
    assert_true(wait_count(&f->card, &f->card.closed, 2));
    check_echo(good, c, 3);
    good->ops->close(good);
}

static void test_message_types(void **state)
{
    fixture *f = *state;
    int fd = raw_connect(f->port);
    uint8_t h[4], p[256];

    /* NXP's first message: WAIT_FOR_CARD 256 ms -> ATR */
    const uint8_t wfc[8] = {0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00};
    raw_send(fd, wfc, 8);
    assert_int_equal(raw_frame(fd, h, p, sizeof p), 5);
    assert_int_equal(h[0], 0x00);
    assert_memory_equal(p, FAKE_ATR, 5);

    /* unknown type: ERROR_MSG with a text, connection kept */
    const uint8_t unk[6] = {0x42, 0x00, 0x00, 0x02, 0xDE, 0xAD};
    raw_send(fd, unk, sizeof unk);
    size_t n = raw_frame(fd, h, p, sizeof p - 1);
    assert_int_equal(h[0], SE05X_JRCP_ERROR_MSG);
    p[n] = 0;
    assert_non_null(strstr((char *)p, "0x42"));
    const uint8_t get32[4] = {SE05X_JRCP_GET_UINT32, 0, 0, 0};
    raw_send(fd, get32, 4);
    raw_frame(fd, h, p, sizeof p);
    assert_int_equal(h[0], SE05X_JRCP_ERROR_MSG);

    /* TERMINAL_INFO: short text */
    const uint8_t ti[4] = {0x04, 0x00, 0x00, 0x00};
    raw_send(fd, ti, 4);
    n = raw_frame(fd, h, p, sizeof p - 1);
    assert_int_equal(h[0], 0x04);
    assert_true(n > 0);
    p[n] = 0;
    assert_non_null(strstr((char *)p, "se05x-sim"));

    /* LOCK / UNLOCK: bare headers */
    const uint8_t lock[4] = {0x30, 0x00, 0x00, 0x00}, unlock[4] = {0x31, 0x00, 0x00, 0x00};
    raw_send(fd, lock, 4);
    assert_int_equal(raw_frame(fd, h, p, sizeof p), 0);
    assert_memory_equal(h, lock, 4);
    raw_send(fd, unlock, 4);
    assert_int_equal(raw_frame(fd, h, p, sizeof p), 0);
    assert_memory_equal(h, unlock, 4);

    /* pipelined APDUs sent byte by byte */
    const uint8_t two[] = {0x01, 0x00, 0x00, 0x02, 0x11, 0x22, 0x01, 0x00, 0x00, 0x01, 0x33};
    for (size_t i = 0; i < sizeof two; i++)
        raw_send(fd, two + i, 1);
    assert_int_equal(raw_frame(fd, h, p, sizeof p), 4);
    const uint8_t r1[4] = {0x22, 0x11, 0x90, 0x00};
    assert_memory_equal(p, r1, 4);
    assert_int_equal(raw_frame(fd, h, p, sizeof p), 3);
    const uint8_t r2[3] = {0x33, 0x90, 0x00};
    assert_memory_equal(p, r2, 3);

    /* CLOSE: bare 03 header, then the server closes */
    const uint8_t bye[4] = {0x03, 0x00, 0x00, 0x00};
    raw_send(fd, bye, 4);
    assert_int_equal(raw_frame(fd, h, p, sizeof p), 0);
    assert_memory_equal(h, bye, 4);
    assert_true(raw_is_closed(fd));
    close(fd);

    /* QUIT: bare 50 header, then this connection ends (the server keeps running) */
    fd = raw_connect(f->port);
    const uint8_t quit[4] = {0x50, 0x00, 0x00, 0x00};
    raw_send(fd, quit, 4);
    assert_int_equal(raw_frame(fd, h, p, sizeof p), 0);
    assert_memory_equal(h, quit, 4);
    assert_true(raw_is_closed(fd));
    close(fd);
    se05x_transport *t = open_client(f);
    const uint8_t c[2] = {1, 2};
    check_echo(t, c, 2);
    t->ops->close(t);
}

/* A client that just closes the socket (no CLOSE), then a second
 * connection right after the first, as some tools do. */
static void test_close_without_close_msg(void **state)
{
    fixture *f = *state;
    int fd = raw_connect(f->port);
    uint8_t h[4], p[64];
    const uint8_t wfc[8] = {0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00};
    raw_send(fd, wfc, 8);
    raw_frame(fd, h, p, sizeof p);
    const uint8_t apdu[9] = {0x01, 0x00, 0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00};
    raw_send(fd, apdu, sizeof apdu);
    assert_int_equal(raw_frame(fd, h, p, sizeof p), 7);
    close(fd);
    se05x_transport *t = open_client(f);
    assert_int_equal(chan_id(t), 2);
    assert_true(wait_count(&f->card, &f->card.closed, 1));
    t->ops->close(t);
    assert_true(wait_count(&f->card, &f->card.closed, 2));
    /* log: connect + disconnect lines for both */
    pthread_mutex_lock(&f->log_mu);
    int lines = f->log_lines;
    pthread_mutex_unlock(&f->log_mu);
    assert_true(lines >= 4);
}

/* The card refuses a channel: the client's open fails with the server's text. */
static void test_card_refuses_channel(void **state)
{
    fixture *f = *state;
    pthread_mutex_lock(&f->card.mu);
    f->card.refuse = true;
    pthread_mutex_unlock(&f->card.mu);
    se05x_transport *t = NULL;
    char err[256] = "";
    assert_int_not_equal(se05x_jrcp_open_ex("127.0.0.1", f->port, NULL, &t, err, sizeof err),
                         SE05X_OK);
    assert_null(t);
    assert_non_null(strstr(err, "cannot open a channel"));
}

static void test_stop_with_clients(void **state)
{
    fixture *f = *state;
    se05x_transport *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = open_client(f);
    int mid = raw_connect(f->port);
    const uint8_t part[6] = {0x01, 0x00, 0x00, 0x20, 0x00, 0x00}; /* mid-frame */
    raw_send(mid, part, sizeof part);
    int idle = raw_connect(f->port); /* connected, never speaks */
    assert_true(wait_count(&f->card, &f->card.opened, 5));
    sesim_jrcp_server_stop(f->srv);
    f->srv = NULL;
    assert_int_equal(card_get(&f->card, &f->card.live), 0);
    assert_int_equal(f->card.closed, 5);
    const uint8_t c[2] = {1, 2};
    uint8_t r[16];
    size_t rl;
    for (int i = 0; i < 3; i++) {
        se05x_status st = t[i]->ops->transceive(t[i], c, 2, r, sizeof r, &rl);
        assert_true(st == SE05X_ERR_TRANSPORT);
        assert_non_null(strstr(t[i]->err, "127.0.0.1"));
        t[i]->ops->close(t[i]);
    }
    assert_true(raw_is_closed(mid));
    assert_true(raw_is_closed(idle));
    close(mid);
    close(idle);
    sesim_jrcp_server_stop(NULL); /* harmless */
}

/* A lost link stays down (ERR_STATE) until reset, which reconnects. */
static void test_reconnect_after_restart(void **state)
{
    fixture *f = *state;
    se05x_transport *t = open_client(f);
    sesim_jrcp_server_stop(f->srv);
    f->srv = NULL;
    const uint8_t c[2] = {1, 2};
    uint8_t r[16];
    size_t rl;
    assert_int_equal(t->ops->transceive(t, c, 2, r, sizeof r, &rl), SE05X_ERR_TRANSPORT);
    assert_int_equal(t->ops->transceive(t, c, 2, r, sizeof r, &rl), SE05X_ERR_STATE);
    assert_non_null(strstr(t->err, "reset the link"));
    /* nothing listening: reset fails with the refused message */
    assert_int_equal(t->ops->reset(t, NULL, 0, NULL), SE05X_ERR_TRANSPORT);
    assert_non_null(strstr(t->err, "connection refused"));
    /* server back on the same port: reset reconnects */
    assert_int_equal(sesim_jrcp_server_start(&f->cif, "127.0.0.1", f->port, &f->srv), SE05X_OK);
    uint8_t atr[16];
    size_t al = 0;
    assert_int_equal(t->ops->reset(t, atr, sizeof atr, &al), SE05X_OK);
    assert_int_equal(al, 5);
    check_echo(t, c, 2);
    t->ops->close(t);
}

/* ---- client errors ---------------------------------------------------- */

/* A loopback port with nothing listening. */
static uint16_t dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t sl = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &sl);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_client_refused(void **state)
{
    (void)state;
    uint16_t port = dead_port();
    se05x_transport *t = (se05x_transport *)0x1;
    char err[256] = "", want[128];
    assert_int_equal(se05x_jrcp_open_ex("127.0.0.1", port, NULL, &t, err, sizeof err),
                     SE05X_ERR_TRANSPORT);
    assert_null(t);
    snprintf(want, sizeof want, "connection refused to 127.0.0.1:%u -- is se05x-sim running?",
             (unsigned)port);
    assert_string_equal(err, want);
    /* the plain opener reports the same status */
    assert_int_equal(se05x_jrcp_open("127.0.0.1", port, &t), SE05X_ERR_TRANSPORT);
    /* arguments */
    assert_int_equal(se05x_jrcp_open_ex("127.0.0.1", 0, NULL, &t, err, sizeof err), SE05X_ERR_ARG);
    assert_int_equal(se05x_jrcp_open_ex("", 1, NULL, &t, err, sizeof err), SE05X_ERR_ARG);
    assert_int_equal(se05x_jrcp_open(NULL, 1, &t), SE05X_ERR_ARG);
    /* numeric address that does not parse as a host */
    assert_int_equal(se05x_jrcp_open_ex("999.1.1.1.1", 8050, NULL, &t, err, sizeof err),
                     SE05X_ERR_TRANSPORT);
    assert_non_null(strstr(err, "999.1.1.1.1"));
}

/* A raw server for misbehaviour tests: listens; the thread accepts one
 * client, reads its WAIT_FOR_CARD and answers with `answer` (or nothing). */
typedef struct {
    int lfd;
    uint16_t port;
    const uint8_t *answer;
    size_t alen;
    bool silent;
} raw_server;

static void raw_server_listen(raw_server *rs)
{
    rs->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(rs->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(rs->lfd, 4), 0);
    socklen_t sl = sizeof a;
    getsockname(rs->lfd, (struct sockaddr *)&a, &sl);
    rs->port = ntohs(a.sin_port);
}

static void *raw_server_main(void *arg)
{
    raw_server *rs = arg;
    int fd = accept(rs->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    uint8_t b[8];
    raw_recv(fd, b, 8);
    if (!rs->silent) {
        /* answer in two pieces to exercise partial reads */
        send(fd, rs->answer, 1, MSG_NOSIGNAL);
        poll(NULL, 0, 20);
        send(fd, rs->answer + 1, rs->alen - 1, MSG_NOSIGNAL);
    } else {
        poll(NULL, 0, 400);
    }
    close(fd);
    return NULL;
}

static se05x_status open_against(const uint8_t *answer, size_t alen, bool silent, char *err,
                                 size_t errlen, se05x_transport **t)
{
    raw_server rs = {.answer = answer, .alen = alen, .silent = silent};
    raw_server_listen(&rs);
    pthread_t th;
    pthread_create(&th, NULL, raw_server_main, &rs);
    se05x_jrcp_opts o;
    se05x_jrcp_opts_default(&o);
    o.io_timeout_ms = 200;
    se05x_status st = se05x_jrcp_open_ex("localhost", rs.port, &o, t, err, errlen);
    pthread_join(th, NULL);
    close(rs.lfd);
    return st;
}

static void test_client_bad_servers(void **state)
{
    (void)state;
    se05x_transport *t = NULL;
    char err[256];
    /* silent server: receive timeout */
    assert_int_equal(open_against(NULL, 0, true, err, sizeof err, &t), SE05X_ERR_TIMEOUT);
    assert_non_null(strstr(err, "no answer"));
    /* oversized reply header */
    const uint8_t huge[4] = {0x00, 0x00, 0xFF, 0xFF};
    assert_int_equal(open_against(huge, 4, false, err, sizeof err, &t), SE05X_ERR_PROTOCOL);
    assert_non_null(strstr(err, "65535"));
    /* truncated reply then EOF */
    const uint8_t cut[6] = {0x00, 0x00, 0x00, 0x08, 0x3B, 0x00};
    assert_int_equal(open_against(cut, 6, false, err, sizeof err, &t), SE05X_ERR_TRANSPORT);
    assert_non_null(strstr(err, "middle of a frame"));
    /* error message instead of an ATR */
    const uint8_t em[7] = {0x03, 0x00, 0x00, 0x03, 'b', 'a', 'd'};
    assert_int_equal(open_against(em, 7, false, err, sizeof err, &t), SE05X_ERR_PROTOCOL);
    assert_non_null(strstr(err, "bad"));
    /* wrong reply type */
    const uint8_t wrong[4] = {0x01, 0x00, 0x00, 0x00};
    assert_int_equal(open_against(wrong, 4, false, err, sizeof err, &t), SE05X_ERR_PROTOCOL);
    assert_non_null(strstr(err, "unexpected message type 0x01"));
    /* informational text first, then an empty ATR: accepted */
    const uint8_t ok[9] = {0x06, 0x00, 0x00, 0x01, 'x', 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(open_against(ok, 9, false, err, sizeof err, &t), SE05X_OK);
    assert_non_null(t);
    t->ops->close(t);
}

static void test_ipv6_loopback(void **state)
{
    (void)state;
    fake_card card = {0};
    pthread_mutex_init(&card.mu, NULL);
    sesim_card_if cif = {.ctx = &card, .chan_open = fake_chan_open, .chan_close = fake_chan_close,
                         .chan_reset = fake_chan_reset, .process = fake_process, .atr = fake_atr};
    sesim_jrcp_server *srv = NULL;
    char e[128] = "";
    sesim_jrcp_opts o = {.err = e, .errlen = sizeof e};
    if (sesim_jrcp_server_start_ex(&cif, "::1", 0, &o, &srv) != SE05X_OK) {
        pthread_mutex_destroy(&card.mu);
        skip(); /* no IPv6 loopback here */
    }
    se05x_transport *t = NULL;
    char err[256] = "";
    assert_int_equal(se05x_jrcp_open_ex("::1", sesim_jrcp_server_port(srv), NULL, &t, err,
                                        sizeof err),
                     SE05X_OK);
    const uint8_t c[3] = {1, 2, 3};
    check_echo(t, c, 3);
    t->ops->close(t);
    sesim_jrcp_server_stop(srv);
    pthread_mutex_destroy(&card.mu);
}

static void test_server_start_errors(void **state)
{
    fixture *f = *state;
    sesim_jrcp_server *s2 = NULL;
    char e[256] = "";
    sesim_jrcp_opts o = {.err = e, .errlen = sizeof e};
    /* port in use */
    assert_int_not_equal(sesim_jrcp_server_start_ex(&f->cif, "127.0.0.1", f->port, &o, &s2),
                         SE05X_OK);
    assert_null(s2);
    assert_non_null(strstr(e, "in use"));
    /* bad listen address */
    assert_int_equal(sesim_jrcp_server_start_ex(&f->cif, "not an address", 0, &o, &s2),
                     SE05X_ERR_ARG);
    assert_non_null(strstr(e, "not an address"));
    /* incomplete card interface */
    sesim_card_if bad = f->cif;
    bad.process = NULL;
    assert_int_equal(sesim_jrcp_server_start_ex(&bad, NULL, 0, &o, &s2), SE05X_ERR_ARG);
}

static void test_max_clients(void **state)
{
    (void)state;
    fake_card card = {0};
    pthread_mutex_init(&card.mu, NULL);
    sesim_card_if cif = {.ctx = &card, .chan_open = fake_chan_open, .chan_close = fake_chan_close,
                         .chan_reset = fake_chan_reset, .process = fake_process, .atr = fake_atr};
    sesim_jrcp_server *srv = NULL;
    sesim_jrcp_opts o = {.max_clients = 1};
    assert_int_equal(sesim_jrcp_server_start_ex(&cif, NULL, 0, &o, &srv), SE05X_OK);
    uint16_t port = sesim_jrcp_server_port(srv);
    se05x_transport *a = NULL, *b = NULL;
    assert_int_equal(se05x_jrcp_open("127.0.0.1", port, &a), SE05X_OK);
    char err[256] = "";
    assert_int_equal(se05x_jrcp_open_ex("127.0.0.1", port, NULL, &b, err, sizeof err),
                     SE05X_ERR_PROTOCOL);
    assert_non_null(strstr(err, "too many clients"));
    a->ops->close(a);
    assert_true(wait_count(&card, &card.closed, 1));
    /* the slot is free again once the first client is reaped */
    se05x_status st = SE05X_ERR_PROTOCOL;
    for (int i = 0; i < 500 && st != SE05X_OK; i++) {
        st = se05x_jrcp_open("127.0.0.1", port, &b);
        if (st != SE05X_OK)
            poll(NULL, 0, 10);
    }
    assert_int_equal(st, SE05X_OK);
    b->ops->close(b);
    sesim_jrcp_server_stop(srv);
    pthread_mutex_destroy(&card.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_channels_interleaved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_frame_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_frame_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_without_close_msg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_card_refuses_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_start_errors, setup, teardown),
        cmocka_unit_test(test_client_refused),
        cmocka_unit_test(test_client_bad_servers),
        cmocka_unit_test(test_ipv6_loopback),
        cmocka_unit_test(test_max_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
