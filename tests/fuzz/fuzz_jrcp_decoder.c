/* libFuzzer target: the incremental JRCP decoder (core/jrcp_frame.c) fed
 * an arbitrary byte stream in arbitrary pieces. Input layout:
 *   byte 0        limit selector: 0 = default limit, else limit = b * 8
 *   byte 1        k = number of split sizes that follow (0..15)
 *   bytes 2..k+1  split sizes, used cyclically (0 = an empty feed, then 1)
 *   rest          the stream
 * Properties: no crash; every frame has len <= limit; its bytes in the
 * stream are exactly header(mty, nad, len) || payload (re-encoding with
 * se05x_jrcp_encode and the stream's NAD); a bad header happens only when
 * the announced length exceeds the limit, and the decoder then stays bad;
 * idle is true exactly at frame boundaries. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "se05x/jrcp.h"

static se05x_jrcp_decoder dec;

static void check_frame(const uint8_t *frame, size_t consumed, size_t limit)
{
    static uint8_t re[SE05X_JRCP_HDR_LEN + SE05X_JRCP_MAX_PAYLOAD];
    size_t n = 0;
    if (!dec.done || dec.len > limit || dec.len != dec.have)
        __builtin_trap();
    if (se05x_jrcp_encode(dec.mty, dec.payload, dec.len, re, sizeof re, &n) != SE05X_OK)
        __builtin_trap();
    re[1] = dec.nad;
    if (n != SE05X_JRCP_HDR_LEN + dec.len || n != consumed || memcmp(re, frame, n) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t limit = data[0] ? (size_t)data[0] * 8u : SE05X_JRCP_MAX_PAYLOAD;
    if (limit > SE05X_JRCP_MAX_PAYLOAD)
        limit = SE05X_JRCP_MAX_PAYLOAD;
    size_t k = data[1] & 15u;
    if (size < 2 + k)
        return 0;
    const uint8_t *splits = data + 2;
    const uint8_t *s = data + 2 + k;
    size_t len = size - 2 - k, pos = 0, frame_start = 0, i = 0;
    se05x_jrcp_decoder_init(&dec, data[0] ? limit : 0);
    if (dec.max != limit)
        __builtin_trap();
    while (pos < len) {
        size_t chunk = k ? splits[i++ % k] : len - pos;
        size_t used = 99999;
        bool done = false;
        if (chunk == 0) { /* an empty feed changes nothing */
            bool idle = se05x_jrcp_decoder_idle(&dec);
            if (se05x_jrcp_decoder_feed(&dec, s + pos, 0, &used, &done) != SE05X_OK || used != 0 ||
                done || se05x_jrcp_decoder_idle(&dec) != idle)
                __builtin_trap();
            chunk = 1;
        }
        if (chunk > len - pos)
            chunk = len - pos;
        se05x_status st = se05x_jrcp_decoder_feed(&dec, s + pos, chunk, &used, &done);
        if (used > chunk)
            __builtin_trap();
        pos += used;
        if (st != SE05X_OK) {
            /* Only an oversized header, announced in the 4 bytes just read. */
            size_t ann = ((size_t)s[frame_start + 2] << 8) | s[frame_start + 3];
            if (st != SE05X_ERR_PROTOCOL || ann <= limit || pos != frame_start + 4 ||
                se05x_jrcp_decoder_idle(&dec))
                __builtin_trap();
            if (se05x_jrcp_decoder_feed(&dec, s + pos, len - pos, &used, &done) !=
                    SE05X_ERR_PROTOCOL || used != 0)
                __builtin_trap();
            return 0;
        }
        if (done) {
            check_frame(s + frame_start, pos - frame_start, limit);
            se05x_jrcp_decoder_next(&dec);
            frame_start = pos;
        } else if (used != chunk) {
            __builtin_trap(); /* an unfinished frame takes everything offered */
        }
        if (se05x_jrcp_decoder_idle(&dec) != (pos == frame_start))
            __builtin_trap();
    }
    return 0;
}
