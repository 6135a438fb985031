/* Varint-delimited framing (spec §2.1), the in-memory stream used by tests
 * and tools, and a stream over file descriptors. Reads loop over partial
 * reads; a length above the caller's limit is refused before any
 * allocation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "el2go/frame.h"

size_t el2go_varint_encode(uint64_t v, uint8_t out[EL2GO_VARINT_MAX])
{
    size_t n = 0;
    do {
        uint8_t b = (uint8_t)(v & 0x7F);
        v >>= 7;
        out[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

el2go_status el2go_varint_decode(const uint8_t *buf, size_t len, uint64_t *v, size_t *used)
{
    uint64_t r = 0;
    for (size_t i = 0; i < EL2GO_VARINT_MAX; i++) {
        if (i >= len)
            return EL2GO_ERR_IO;
        uint8_t b = buf[i];
        if (i == 9 && (b & 0x7E))
            return EL2GO_ERR_DECODE; /* more than 64 bits */
        r |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            *used = i + 1;
            return EL2GO_OK;
        }
    }
    return EL2GO_ERR_DECODE;
}

static el2go_status read_full(el2go_stream *s, uint8_t *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        ssize_t n = s->read(s->ctx, buf + *got, len - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return EL2GO_ERR_IO;
        if (n == 0)
            return EL2GO_ERR_EOF;
        *got += (size_t)n;
    }
    return EL2GO_OK;
}

static el2go_status read_length(el2go_stream *s, uint64_t *v)
{
    uint8_t b[EL2GO_VARINT_MAX];
    for (size_t i = 0; i < EL2GO_VARINT_MAX; i++) {
        size_t got;
        el2go_status st = read_full(s, &b[i], 1, &got);
        if (st == EL2GO_ERR_EOF && i > 0)
            return EL2GO_ERR_IO;
        if (st != EL2GO_OK)
            return st;
        if (!(b[i] & 0x80)) {
            size_t used;
            return el2go_varint_decode(b, i + 1, v, &used);
        }
    }
    return EL2GO_ERR_DECODE;
}

el2go_status el2go_frame_read(el2go_stream *s, size_t max, uint8_t **msg, size_t *len)
{
    if (!s || !s->read || !msg || !len)
        return EL2GO_ERR_ARG;
    *msg = NULL;
    *len = 0;
    uint64_t n;
    el2go_status st = read_length(s, &n);
    if (st != EL2GO_OK)
        return st;
    if (n > max)
        return EL2GO_ERR_TOO_LARGE;
    uint8_t *buf = malloc(n ? (size_t)n : 1);
    if (!buf)
        return EL2GO_ERR_NOMEM;
    size_t got;
    st = read_full(s, buf, (size_t)n, &got);
    if (st != EL2GO_OK) {
        free(buf);
        return st == EL2GO_ERR_EOF ? EL2GO_ERR_IO : st;
    }
    *msg = buf;
    *len = (size_t)n;
    return EL2GO_OK;
}

static el2go_status write_full(el2go_stream *s, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = s->write(s->ctx, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return EL2GO_ERR_IO;
        buf += n;
        len -= (size_t)n;
    }
    return EL2GO_OK;
}

el2go_status el2go_frame_write(el2go_stream *s, const uint8_t *msg, size_t len)
{
    if (!s || !s->write || (!msg && len))
        return EL2GO_ERR_ARG;
    uint8_t hdr[EL2GO_VARINT_MAX];
    size_t h = el2go_varint_encode(len, hdr);
    el2go_status st = write_full(s, hdr, h);
    return st == EL2GO_OK && len ? write_full(s, msg, len) : st;
}

el2go_status el2go_delimited_next(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **msg,
                                  size_t *mlen)
{
    if (!buf || !pos || !msg || !mlen || *pos > len)
        return EL2GO_ERR_ARG;
    uint64_t n;
    size_t used;
    el2go_status st = el2go_varint_decode(buf + *pos, len - *pos, &n, &used);
    if (st != EL2GO_OK)
        return st;
    if (n > len - *pos - used)
        return EL2GO_ERR_IO;
    *msg = buf + *pos + used;
    *mlen = (size_t)n;
    *pos += used + (size_t)n;
    return EL2GO_OK;
}

/* ---- in-memory stream ---------------------------------------------- */

static ssize_t mem_read(void *ctx, uint8_t *buf, size_t len)
{
    el2go_memstream *m = ctx;
    size_t left = m->in_len - m->in_pos;
    if (len > left)
        len = left;
    if (m->chunk && len > m->chunk)
        len = m->chunk;
    if (len)
        memcpy(buf, m->in + m->in_pos, len);
    m->in_pos += len;
    return (ssize_t)len;
}

static ssize_t mem_write(void *ctx, const uint8_t *buf, size_t len)
{
    el2go_memstream *m = ctx;
    if (m->fail_write)
        return -1;
    if (m->out_len + len > m->out_cap) {
        size_t cap = m->out_cap ? m->out_cap : 256;
        while (cap < m->out_len + len)
            cap *= 2;
        uint8_t *p = realloc(m->out, cap);
        if (!p)
            return -1;
        m->out = p;
        m->out_cap = cap;
    }
    memcpy(m->out + m->out_len, buf, len);
    m->out_len += len;
    return (ssize_t)len;
}

void el2go_memstream_init(el2go_memstream *m, const uint8_t *in, size_t len, el2go_stream *s)
{
    memset(m, 0, sizeof(*m));
    m->in = in;
    m->in_len = len;
    s->ctx = m;
    s->read = mem_read;
    s->write = mem_write;
}

void el2go_memstream_free(el2go_memstream *m)
{
    free(m->out);
    m->out = NULL;
    m->out_len = m->out_cap = 0;
}

/* ---- file-descriptor stream ----------------------------------------- */

static ssize_t fd_read(void *ctx, uint8_t *buf, size_t len)
{
    return read(((el2go_fdstream *)ctx)->rfd, buf, len);
}

static ssize_t fd_write(void *ctx, const uint8_t *buf, size_t len)
{
    return write(((el2go_fdstream *)ctx)->wfd, buf, len);
}

void el2go_fdstream_init(el2go_fdstream *f, int rfd, int wfd, el2go_stream *s)
{
    f->rfd = rfd;
    f->wfd = wfd;
    s->ctx = f;
    s->read = fd_read;
    s->write = fd_write;
}
