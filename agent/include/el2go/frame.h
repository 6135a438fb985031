/* Varint-delimited framing of the device link (spec §2.1): every message is
 * one protobuf varint length followed by that many bytes, in both
 * directions. The stream is abstract (read/write callbacks) so the
 * dispatcher runs over TLS, a socket or an in-memory buffer alike. */
#ifndef EL2GO_FRAME_H
#define EL2GO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "el2go/common.h"

typedef struct {
    void *ctx;
    /* Read up to len bytes: >0 bytes read, 0 at end of stream, <0 error.
     * Short reads are fine; the framing loops. */
    ssize_t (*read)(void *ctx, uint8_t *buf, size_t len);
    /* Write up to len bytes: >0 bytes written, <=0 error. */
    ssize_t (*write)(void *ctx, const uint8_t *buf, size_t len);
} el2go_stream;

#define EL2GO_VARINT_MAX 10u

/* Minimal varint encoding of v into out; returns its length (1..10). */
size_t el2go_varint_encode(uint64_t v, uint8_t out[EL2GO_VARINT_MAX]);
/* Decode a varint at buf[0..len): EL2GO_ERR_IO if it is cut short,
 * EL2GO_ERR_DECODE if longer than 10 bytes or overflowing 64 bits.
 * Non-minimal (padded) forms are accepted. */
el2go_status el2go_varint_decode(const uint8_t *buf, size_t len, uint64_t *v, size_t *used);

/* Read one delimited message of at most max bytes into a malloc'ed *msg
 * (free()). EL2GO_ERR_EOF when the stream ends before its first byte,
 * EL2GO_ERR_IO when it ends inside the message or read fails,
 * EL2GO_ERR_TOO_LARGE when the length exceeds max (nothing more is read). */
el2go_status el2go_frame_read(el2go_stream *s, size_t max, uint8_t **msg, size_t *len);
/* Write varint(len) || msg (loops over short writes). */
el2go_status el2go_frame_write(el2go_stream *s, const uint8_t *msg, size_t len);

/* Walk delimited messages inside a buffer: on EL2GO_OK, msg and mlen name the
 * next message and *pos moves past it. EL2GO_ERR_DECODE/IO when the
 * varint or the message runs past the end. */
el2go_status el2go_delimited_next(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **msg,
                                  size_t *mlen);

/* In-memory stream for tests and tools: reads from in[] (at most chunk
 * bytes per call when chunk > 0, to exercise partial reads), appends
 * writes to a growing out buffer (free out with el2go_memstream_free). */
typedef struct {
    const uint8_t *in;
    size_t in_len, in_pos, chunk;
    uint8_t *out;
    size_t out_len, out_cap;
    bool fail_write;
} el2go_memstream;

void el2go_memstream_init(el2go_memstream *m, const uint8_t *in, size_t len, el2go_stream *s);
void el2go_memstream_free(el2go_memstream *m);

/* Stream over two file descriptors (a socket: rfd == wfd; stdio: 0 and 1).
 * fds must stay valid while s is used. */
typedef struct {
    int rfd, wfd;
} el2go_fdstream;

void el2go_fdstream_init(el2go_fdstream *f, int rfd, int wfd, el2go_stream *s);

#endif
