/* Capture transport for the command-layer unit tests: a se05x_transport
 * whose transceive records every command APDU and replays queued canned
 * responses, so tests can assert the exact bytes the typed commands send
 * and feed them exact (good or malformed) answers. Header-only, included
 * by test_cmd_*.c; names use the cap_ prefix (no library symbol). */
#ifndef TEST_CMD_CAPTURE_H
#define TEST_CMD_CAPTURE_H

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "se05x/apdu.h"
#include "se05x/conn.h"
#include "se05x/transport.h"

#define CAP_MAX 24

typedef struct {
    se05x_transport base;
    uint8_t cmd[CAP_MAX][SE05X_APDU_MAX];
    size_t cmd_len[CAP_MAX];
    size_t ncmd;
    uint8_t rsp[CAP_MAX][SE05X_APDU_MAX];
    size_t rsp_len[CAP_MAX];
    size_t nrsp, next;
} cap_t;

static inline se05x_status cap_transceive(se05x_transport *t, const uint8_t *cmd, size_t len,
                                   uint8_t *rsp, size_t cap, size_t *rlen)
{
    cap_t *c = (cap_t *)t;
    if (c->ncmd >= CAP_MAX || len > SE05X_APDU_MAX)
        return SE05X_ERR_TRANSPORT;
    memcpy(c->cmd[c->ncmd], cmd, len);
    c->cmd_len[c->ncmd++] = len;
    if (c->next >= c->nrsp) {
        snprintf(t->err, sizeof(t->err), "capture: no canned response left");
        return SE05X_ERR_TRANSPORT;
    }
    size_t n = c->rsp_len[c->next];
    if (n > cap)
        return SE05X_ERR_BUFFER;
    memcpy(rsp, c->rsp[c->next++], n);
    *rlen = n;
    return SE05X_OK;
}

static inline se05x_status cap_reset(se05x_transport *t, uint8_t *atr, size_t cap, size_t *atrlen)
{
    if (atrlen)
        *atrlen = 0;
    return SE05X_OK;
}

static inline void cap_close(se05x_transport *t) { free(t); }

static const se05x_transport_ops CAP_OPS = {
    .name = "capture", .transceive = cap_transceive, .reset = cap_reset, .close = cap_close};

/* Hex string (spaces ignored) to bytes; returns the length. */
static inline size_t cap_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        int v = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
        if (hi < 0) {
            hi = v;
        } else {
            if (n < cap)
                out[n] = (uint8_t)(hi << 4 | v);
            n++;
            hi = -1;
        }
    }
    return n;
}

/* Queue one response (data || SW) given as hex. */
static inline void cap_push(cap_t *c, const char *hex)
{
    c->rsp_len[c->nrsp] = cap_hex(hex, c->rsp[c->nrsp], SE05X_APDU_MAX);
    c->nrsp++;
}

/* Queue one response from bytes + SW. */
static inline void cap_push_bytes(cap_t *c, const uint8_t *data, size_t len, uint16_t sw)
{
    memcpy(c->rsp[c->nrsp], data, len);
    c->rsp[c->nrsp][len] = (uint8_t)(sw >> 8);
    c->rsp[c->nrsp][len + 1] = (uint8_t)sw;
    c->rsp_len[c->nrsp++] = len + 2;
}

/* Open a connection over a fresh capture transport (no SELECT). */
static inline se05x_conn *cap_open(cap_t **out)
{
    cap_t *c = calloc(1, sizeof(*c));
    se05x_conn *conn = NULL;
    *out = NULL; /* set on every path (gcc -O2 cannot see the caller's assert) */
    if (c == NULL)
        return NULL;
    c->base.ops = &CAP_OPS;
    se05x_conn_opts o = {.no_select = true};
    if (se05x_conn_open_transport(&c->base, &o, &conn) != SE05X_OK)
        return NULL; /* the transport (c) was closed by the failed open */
    *out = c;
    return conn;
}

/* Open and SELECT an applet answering version major.minor.0 (7.x or 3.x
 * encodings), then forget the SELECT in the capture. */
static inline se05x_conn *cap_open_version(cap_t **out, uint8_t major, uint8_t minor)
{
    se05x_conn *conn = cap_open(out);
    char sel[64];
    snprintf(sel, sizeof(sel), "%02X%02X00 6FFF 0100 9000", major, minor);
    cap_push(*out, sel);
    if (se05x_conn_select(conn, NULL) != SE05X_OK)
        return NULL;
    (*out)->ncmd = 0;
    return conn;
}

/* Build a hex string from printf-style pieces. */
static inline char *cap_fmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline char *cap_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return buf;
}

/* Hex of n bytes of `b` (for composing expectations). */
static inline char *cap_tohex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02X", b[i]);
    out[2 * n] = 0;
    return out;
}

/* Assert command i equals the hex string. */
#define CAP_EXPECT(c, i, hex)                                                     \
    do {                                                                          \
        uint8_t want_[SE05X_APDU_MAX];                                            \
        size_t wl_ = cap_hex((hex), want_, sizeof(want_));                        \
        assert_true((size_t)(i) < (c)->ncmd);                                     \
        assert_int_equal((c)->cmd_len[i], wl_);                                   \
        assert_memory_equal((c)->cmd[i], want_, wl_);                             \
    } while (0)

#endif
