/* libFuzzer target: the T=1 frame codec (hostlib/src/core/t1_frame.c) on
 * arbitrary bytes. se05x_t1_frame_decode for both NADs and the ATR parser
 * must never crash or read out of bounds; properties checked:
 *  - a frame that decodes re-encodes to exactly the input bytes;
 *  - encoding (first byte = PCB, rest = INF) then decoding gives the same
 *    fields back, or is refused only for an invalid PCB;
 *  - parsed ATR values stay in range (BWT 1..65535 ms, IFSC 1..254). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "se05x/t1.h"

static void check_decoded(const uint8_t *data, size_t size, uint8_t nad)
{
    se05x_t1_frame f;
    if (se05x_t1_frame_decode(data, size, nad, &f) != SE05X_T1_FRAME_OK)
        return;
    uint8_t re[SE05X_T1_FRAME_MAX];
    size_t n = 0;
    if (f.nad != nad || f.len != size - 5 || f.len > SE05X_T1_IFS_MAX)
        __builtin_trap();
    if (se05x_t1_frame_encode(f.nad, f.pcb, f.inf, f.len, re, sizeof re, &n) != SE05X_OK)
        __builtin_trap();
    if (n != size || memcmp(re, data, size) != 0)
        __builtin_trap();
}

static void check_roundtrip(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    uint8_t pcb = data[0];
    size_t len = size - 1 > SE05X_T1_IFS_MAX ? SE05X_T1_IFS_MAX : size - 1;
    uint8_t buf[SE05X_T1_FRAME_MAX];
    size_t n = 0;
    /* Too small a buffer must be refused, not overrun. */
    if (se05x_t1_frame_encode(SE05X_T1_NAD_SE, pcb, data + 1, len, buf, len + 4, &n) !=
        SE05X_ERR_BUFFER)
        __builtin_trap();
    if (se05x_t1_frame_encode(SE05X_T1_NAD_SE, pcb, data + 1, len, buf, sizeof buf, &n) !=
        SE05X_OK || n != len + 5)
        __builtin_trap();
    se05x_t1_frame f;
    se05x_t1_frame_err e = se05x_t1_frame_decode(buf, n, SE05X_T1_NAD_SE, &f);
    if (e == SE05X_T1_FRAME_BAD_PCB)
        return;
    if (e != SE05X_T1_FRAME_OK || f.pcb != pcb || f.len != len || memcmp(f.inf, data + 1, len))
        __builtin_trap();
    /* The other direction's NAD and any truncation are refused. */
    if (se05x_t1_frame_decode(buf, n, SE05X_T1_NAD_HOST, &f) != SE05X_T1_FRAME_BAD_NAD)
        __builtin_trap();
    if (se05x_t1_frame_decode(buf, n - 1, SE05X_T1_NAD_SE, &f) != SE05X_T1_FRAME_SHORT)
        __builtin_trap();
}

static void check_atr(const uint8_t *data, size_t size)
{
    se05x_t1_atr_info info;
    if (se05x_t1_atr_parse(data, size, &info) != SE05X_OK)
        return;
    if (info.bwt_ms == 0 || info.bwt_ms > 0xFFFFu || info.ifsc == 0 ||
        info.ifsc > SE05X_T1_IFS_MAX)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decoded(data, size, SE05X_T1_NAD_HOST);
    check_decoded(data, size, SE05X_T1_NAD_SE);
    (void)se05x_t1_frame_decode(data, size, SE05X_T1_NAD_HOST, NULL);
    (void)se05x_t1_frame_errstr(se05x_t1_frame_decode(data, size, size ? data[0] : 0, NULL));
    check_roundtrip(data, size);
    check_atr(data, size);
    return 0;
}
