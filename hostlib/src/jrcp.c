/* JRCP v1 client transport over TCP (spec §6.2), the link to se05x-sim or
 * any "Remote JC Terminal" server. Open: resolve HOST with getaddrinfo
 * (IPv4/IPv6), non-blocking connect with a timeout, then WAIT_FOR_CARD
 * (`00 00 00 04 <timeout ms BE>`, NXP's sequence) whose reply carries the
 * ATR. transceive: one APDU per APDU_DATA frame, reading until the reply
 * frame is complete (partial reads and split headers are fine) within a
 * receive timeout. An I/O error, timeout or bad header drops the socket
 * (the stream cannot be trusted); later calls fail with SE05X_ERR_STATE
 * until reset, which reconnects first. reset: WAIT_FOR_CARD again, ATR
 * returned. close: CLOSE
 * (`03 00 00 00`), then the socket is closed. Errors leave a sentence in
 * t->err. Frame coding lives in core/jrcp_frame.c. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "se05x/jrcp.h"
#include "se05x/sockio.h"
#include "se05x/transport.h"

typedef struct {
    se05x_transport base;
    int fd;         /* -1 once the link broke (reset reconnects) */
    char host[256];
    uint16_t port;
    char peer[300]; /* "host:port" for messages */
    se05x_jrcp_opts opts;
    se05x_jrcp_decoder dec;
} jrcp_link;

static void jerr(jrcp_link *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jerr(jrcp_link *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->base.err, sizeof j->base.err, fmt, ap);
    va_end(ap);
}

/* The byte stream can no longer be trusted (I/O error, timeout, bad
 * header): drop the socket; the next reset reconnects. */
static void mark_broken(jrcp_link *j)
{
    if (j->fd >= 0) {
        close(j->fd);
        j->fd = -1;
    }
}

void se05x_jrcp_opts_default(se05x_jrcp_opts *o)
{
    o->connect_timeout_ms = 5000;
    o->io_timeout_ms = 60000;
    o->wait_ms = 256;
}

static se05x_status send_all(jrcp_link *j, const uint8_t *b, size_t n)
{
    se05x_status st = se05x_sock_send_all(j->fd, b, n, se05x_sock_deadline(j->opts.io_timeout_ms));
    if (st == SE05X_ERR_TIMEOUT)
        jerr(j, "send to %s timed out", j->peer);
    else if (st != SE05X_OK)
        jerr(j, "send to %s failed: %s", j->peer, strerror(errno));
    return st;
}

/* A frame up to this size goes out in one send(): header and payload in
 * two writes meant two TCP segments and two wake-ups of the server per
 * APDU. Larger frames (rare) are sent in two writes. */
#define JRCP_ONE_SEND_MAX (SE05X_JRCP_HDR_LEN + 1024u)

static se05x_status send_frame(jrcp_link *j, uint8_t mty, const uint8_t *p, size_t len)
{
    uint8_t frame[JRCP_ONE_SEND_MAX];
    if (se05x_jrcp_header(mty, len, frame) != SE05X_OK) {
        jerr(j, "JRCP payload of %zu bytes is too long", len);
        return SE05X_ERR_ARG;
    }
    se05x_status st;
    if (len <= sizeof frame - SE05X_JRCP_HDR_LEN) {
        if (len > 0)
            memcpy(frame + SE05X_JRCP_HDR_LEN, p, len);
        st = send_all(j, frame, SE05X_JRCP_HDR_LEN + len);
        OPENSSL_cleanse(frame, SE05X_JRCP_HDR_LEN + len); /* may hold key material */
    } else {
        st = send_all(j, frame, SE05X_JRCP_HDR_LEN);
        if (st == SE05X_OK)
            st = send_all(j, p, len);
    }
    if (st != SE05X_OK)
        mark_broken(j);
    return st;
}

/* Read one complete frame into j->dec (call se05x_jrcp_decoder_next after
 * use). Bytes are read one frame at a time: the server sends exactly one
 * reply per request, so nothing beyond the frame is consumed. */
static se05x_status recv_frame_raw(jrcp_link *j);
static se05x_status recv_frame(jrcp_link *j)
{
    se05x_status st = recv_frame_raw(j);
    if (st != SE05X_OK)
        mark_broken(j);
    return st;
}

static se05x_status recv_frame_raw(jrcp_link *j)
{
    long long deadline = se05x_sock_deadline(j->opts.io_timeout_ms);
    se05x_jrcp_decoder_next(&j->dec);
    for (;;) {
        size_t want = j->dec.hdr_parsed ? j->dec.len - j->dec.have
                                        : SE05X_JRCP_HDR_LEN - j->dec.hdr_have;
        uint8_t buf[1024];
        if (want > sizeof buf)
            want = sizeof buf;
        size_t got;
        se05x_status st = se05x_sock_recv_some(j->fd, buf, want, deadline, &got);
        if (st == SE05X_ERR_TIMEOUT) {
            jerr(j, "no answer from %s within %u ms", j->peer, j->opts.io_timeout_ms);
            return SE05X_ERR_TIMEOUT;
        }
        if (st != SE05X_OK) {
            jerr(j, "receive from %s failed: %s", j->peer, strerror(errno));
            return SE05X_ERR_TRANSPORT;
        }
        if (got == 0) {
            jerr(j, "%s closed the connection%s", j->peer,
                 se05x_jrcp_decoder_idle(&j->dec) ? "" : " in the middle of a frame");
            return SE05X_ERR_TRANSPORT;
        }
        size_t used;
        bool done;
        if (se05x_jrcp_decoder_feed(&j->dec, buf, got, &used, &done) != SE05X_OK) {
            jerr(j, "%s sent a JRCP frame announcing %zu bytes (limit %zu)", j->peer, j->dec.len,
                 j->dec.max);
            return SE05X_ERR_PROTOCOL;
        }
        if (done)
            return SE05X_OK;
    }
}

/* Wait for the reply of type mty, skipping informational messages. An
 * ERROR_MSG reply becomes SE05X_ERR_PROTOCOL with its text in t->err. */
static se05x_status recv_reply(jrcp_link *j, uint8_t mty)
{
    for (;;) {
        se05x_status st = recv_frame(j);
        if (st != SE05X_OK)
            return st;
        uint8_t got = j->dec.mty;
        if (got == mty)
            return SE05X_OK;
        if (got == SE05X_JRCP_INFO_TEXT || got == SE05X_JRCP_DEBUG_INFO)
            continue;
        if (got == SE05X_JRCP_ERROR_MSG) {
            jerr(j, "%s answered %s with an error: %.*s", j->peer, se05x_jrcp_type_name(mty),
                 (int)(j->dec.len > 200 ? 200 : j->dec.len), (const char *)j->dec.payload);
            return SE05X_ERR_PROTOCOL;
        }
        jerr(j, "%s answered %s with unexpected message type 0x%02X", j->peer,
             se05x_jrcp_type_name(mty), got);
        return SE05X_ERR_PROTOCOL;
    }
}

static se05x_status jrcp_transceive(se05x_transport *t, const uint8_t *cmd, size_t len,
                                    uint8_t *rsp, size_t cap, size_t *rlen)
{
    jrcp_link *j = (jrcp_link *)t;
    if (cmd == NULL || rsp == NULL || rlen == NULL || len == 0 || len > SE05X_APDU_MAX) {
        jerr(j, "invalid APDU arguments (length %zu)", len);
        return SE05X_ERR_ARG;
    }
    if (j->fd < 0) {
        jerr(j, "connection to %s was lost after an earlier error; reset the link to reconnect",
             j->peer);
        return SE05X_ERR_STATE;
    }
    t->err[0] = '\0';
    se05x_status st = send_frame(j, SE05X_JRCP_APDU_DATA, cmd, len);
    if (st == SE05X_OK)
        st = recv_reply(j, SE05X_JRCP_APDU_DATA);
    if (st != SE05X_OK)
        return st;
    if (j->dec.len < 2) {
        jerr(j, "%s sent a response APDU of %zu bytes (no status word)", j->peer, j->dec.len);
        return SE05X_ERR_RESPONSE;
    }
    if (j->dec.len > cap) {
        jerr(j, "response APDU of %zu bytes does not fit the %zu-byte buffer", j->dec.len, cap);
        return SE05X_ERR_BUFFER;
    }
    memcpy(rsp, j->dec.payload, j->dec.len);
    *rlen = j->dec.len;
    return SE05X_OK;
}

/* WAIT_FOR_CARD; the reply payload (possibly empty) is the ATR. */
static se05x_status wait_for_card(jrcp_link *j, uint8_t *atr, size_t cap, size_t *atrlen)
{
    uint8_t p[4] = {(uint8_t)(j->opts.wait_ms >> 24), (uint8_t)(j->opts.wait_ms >> 16),
                    (uint8_t)(j->opts.wait_ms >> 8), (uint8_t)j->opts.wait_ms};
    se05x_status st = send_frame(j, SE05X_JRCP_WAIT_FOR_CARD, p, sizeof p);
    if (st == SE05X_OK)
        st = recv_reply(j, SE05X_JRCP_WAIT_FOR_CARD);
    if (st != SE05X_OK)
        return st;
    if (atrlen != NULL)
        *atrlen = 0;
    if (atr != NULL) {
        if (j->dec.len > cap) {
            jerr(j, "ATR of %zu bytes does not fit the %zu-byte buffer", j->dec.len, cap);
            return SE05X_ERR_BUFFER;
        }
        memcpy(atr, j->dec.payload, j->dec.len);
        if (atrlen != NULL)
            *atrlen = j->dec.len;
    }
    return SE05X_OK;
}

static se05x_status tcp_connect(jrcp_link *j);

/* WAIT_FOR_CARD again; reconnects first when the link was lost. */
static se05x_status jrcp_reset(se05x_transport *t, uint8_t *atr, size_t cap, size_t *atrlen)
{
    jrcp_link *j = (jrcp_link *)t;
    t->err[0] = '\0';
    if (j->fd < 0) {
        se05x_status st = tcp_connect(j);
        if (st != SE05X_OK)
            return st;
    }
    return wait_for_card(j, atr, cap, atrlen);
}

static void jrcp_close(se05x_transport *t)
{
    jrcp_link *j = (jrcp_link *)t;
    if (j == NULL)
        return;
    if (j->fd >= 0) {
        static const uint8_t bye[4] = {SE05X_JRCP_ERROR_MSG, 0, 0, 0};
        (void)send(j->fd, bye, sizeof bye, MSG_NOSIGNAL | MSG_DONTWAIT);
        shutdown(j->fd, SHUT_WR);
        close(j->fd);
    }
    free(j);
}

static const se05x_transport_ops jrcp_ops = {
    .name = "jrcp",
    .transceive = jrcp_transceive,
    .reset = jrcp_reset,
    .close = jrcp_close,
};

/* Non-blocking connect to one address with a deadline; fd or -1 (errno). */
static int connect_one(const struct addrinfo *ai, long long deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int r = se05x_sock_wait(fd, POLLOUT, deadline);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (r == 0) {
        close(fd);
        errno = ETIMEDOUT;
        return -1;
    }
    if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
        close(fd);
        errno = soerr != 0 ? soerr : EIO;
        return -1;
    }
    return fd;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

/* Resolve and connect; on failure describe it in j->base.err. */
static se05x_status tcp_connect(jrcp_link *j)
{
    char svc[8];
    snprintf(svc, sizeof svc, "%u", (unsigned)j->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gr = getaddrinfo(j->host, svc, &hints, &res);
    if (gr != 0) {
        jerr(j, "cannot resolve host '%s': %s", j->host, gai_strerror(gr));
        return SE05X_ERR_TRANSPORT;
    }
    long long deadline = se05x_sock_deadline(j->opts.connect_timeout_ms);
    int e = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL && j->fd < 0; ai = ai->ai_next) {
        j->fd = connect_one(ai, deadline);
        if (j->fd < 0)
            e = errno;
    }
    freeaddrinfo(res);
    if (j->fd >= 0) {
        int one = 1;
        setsockopt(j->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return SE05X_OK;
    }
    if (e == ECONNREFUSED)
        jerr(j, "connection refused to %s -- is se05x-sim running?", j->peer);
    else if (e == ETIMEDOUT)
        jerr(j, "connection to %s timed out after %u ms", j->peer, j->opts.connect_timeout_ms);
    else
        jerr(j, "cannot connect to %s: %s", j->peer, strerror(e));
    return e == ETIMEDOUT ? SE05X_ERR_TIMEOUT : SE05X_ERR_TRANSPORT;
}

se05x_status se05x_jrcp_open_ex(const char *host, uint16_t port, const se05x_jrcp_opts *opts,
                                se05x_transport **out, char *err, size_t errlen)
{
    if (out == NULL || host == NULL || host[0] == '\0' || port == 0 || strlen(host) >= 256) {
        set_err(err, errlen, "JRCP needs a host (up to 255 characters) and a non-zero port");
        return SE05X_ERR_ARG;
    }
    *out = NULL;
    jrcp_link *j = calloc(1, sizeof *j);
    if (j == NULL) {
        set_err(err, errlen, "out of memory");
        return SE05X_ERR_NOMEM;
    }
    j->base.ops = &jrcp_ops;
    j->fd = -1;
    if (opts != NULL)
        j->opts = *opts;
    else
        se05x_jrcp_opts_default(&j->opts);
    snprintf(j->host, sizeof j->host, "%s", host);
    j->port = port;
    snprintf(j->peer, sizeof j->peer, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
             (unsigned)port);
    se05x_jrcp_decoder_init(&j->dec, 0);
    se05x_status st = tcp_connect(j);
    if (st == SE05X_OK)
        st = wait_for_card(j, NULL, 0, NULL);
    if (st != SE05X_OK) {
        set_err(err, errlen, j->base.err);
        if (j->fd >= 0)
            close(j->fd);
        free(j);
        return st;
    }
    *out = &j->base;
    return SE05X_OK;
}

se05x_status se05x_jrcp_open(const char *host, uint16_t port, se05x_transport **out)
{
    return se05x_jrcp_open_ex(host, port, NULL, out, NULL, 0);
}
