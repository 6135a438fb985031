/* T=1 over I2C frame codec shared by the host engine (hostlib/src/t1_engine.c)
 * and the simulator's T=1 server (sim/src/t1_server.c): CRC-16/X-25, frame
 * encoding and strict decoding (NAD, PCB, LEN, CRC), and the ATR fields the
 * engine needs (BWT, IFSC). Spec §6.1. */
#include <string.h>

#include "se05x/t1.h"

uint16_t se05x_t1_crc(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0x8408u) : (uint16_t)(crc >> 1);
    }
    return (uint16_t)(crc ^ 0xFFFFu);
}

const char *se05x_t1_frame_errstr(se05x_t1_frame_err e)
{
    switch (e) {
    case SE05X_T1_FRAME_OK: return "valid frame";
    case SE05X_T1_FRAME_SHORT: return "frame truncated";
    case SE05X_T1_FRAME_LONG: return "bytes after the frame CRC";
    case SE05X_T1_FRAME_BAD_LEN: return "LEN above 254";
    case SE05X_T1_FRAME_BAD_NAD: return "unexpected NAD";
    case SE05X_T1_FRAME_BAD_CRC: return "CRC mismatch";
    case SE05X_T1_FRAME_BAD_PCB: return "invalid PCB";
    }
    return "unknown frame error";
}

se05x_status se05x_t1_frame_encode(uint8_t nad, uint8_t pcb, const uint8_t *inf, size_t len,
                                   uint8_t *out, size_t cap, size_t *outlen)
{
    if (len > SE05X_T1_IFS_MAX || (len && !inf) || !out || !outlen)
        return SE05X_ERR_ARG;
    if (cap < len + SE05X_T1_HDR_LEN + SE05X_T1_CRC_LEN)
        return SE05X_ERR_BUFFER;
    out[0] = nad;
    out[1] = pcb;
    out[2] = (uint8_t)len;
    if (len)
        memcpy(out + 3, inf, len);
    uint16_t crc = se05x_t1_crc(out, len + 3);
    out[len + 3] = (uint8_t)(crc & 0xFFu); /* least-significant byte first */
    out[len + 4] = (uint8_t)(crc >> 8);
    *outlen = len + 5;
    return SE05X_OK;
}

/* PCB values defined by the protocol (reserved bits clear, known S-blocks). */
static bool pcb_valid(uint8_t pcb)
{
    if (se05x_t1_is_i(pcb))
        return (pcb & 0x1Fu) == 0;
    if (se05x_t1_is_r(pcb))
        return (pcb & 0x2Cu) == 0;
    switch (pcb & ~SE05X_T1_S_RESPONSE & 0xFFu) {
    case SE05X_T1_S_RESYNC: case SE05X_T1_S_IFS: case SE05X_T1_S_ABORT: case SE05X_T1_S_WTX:
    case SE05X_T1_S_END_SESSION: case SE05X_T1_S_CHIP_RESET: case SE05X_T1_S_GET_ATR:
    case SE05X_T1_S_SOFT_RESET:
        return true;
    default:
        return false;
    }
}

se05x_t1_frame_err se05x_t1_frame_decode(const uint8_t *buf, size_t len, uint8_t nad,
                                         se05x_t1_frame *f)
{
    if (!buf || len < SE05X_T1_HDR_LEN + SE05X_T1_CRC_LEN)
        return SE05X_T1_FRAME_SHORT;
    size_t inf = buf[2];
    if (inf > SE05X_T1_IFS_MAX)
        return SE05X_T1_FRAME_BAD_LEN;
    if (len < inf + 5)
        return SE05X_T1_FRAME_SHORT;
    if (len > inf + 5)
        return SE05X_T1_FRAME_LONG;
    uint16_t crc = se05x_t1_crc(buf, inf + 3);
    if (buf[inf + 3] != (crc & 0xFFu) || buf[inf + 4] != (crc >> 8))
        return SE05X_T1_FRAME_BAD_CRC;
    if (buf[0] != nad)
        return SE05X_T1_FRAME_BAD_NAD;
    if (!pcb_valid(buf[1]))
        return SE05X_T1_FRAME_BAD_PCB;
    if (f) {
        f->nad = buf[0];
        f->pcb = buf[1];
        f->len = (uint8_t)inf;
        memcpy(f->inf, buf + 3, inf);
    }
    return SE05X_T1_FRAME_OK;
}

/* ATR: PVER(1) VID(5) DLLP-len(1) [BWT(2) IFSC(2) ...] PLID(1) PLP-len(1) ... */
se05x_status se05x_t1_atr_parse(const uint8_t *atr, size_t len, se05x_t1_atr_info *info)
{
    if (!info)
        return SE05X_ERR_ARG;
    info->bwt_ms = 1000;
    info->ifsc = SE05X_T1_IFS_MAX;
    if (!atr || len == 0)
        return SE05X_OK; /* no ATR: defaults */
    if (len < 7)
        return SE05X_ERR_PROTOCOL;
    size_t dllp = atr[6];
    if (len < 7 + dllp)
        return SE05X_ERR_PROTOCOL;
    if (dllp >= 2) {
        unsigned bwt = ((unsigned)atr[7] << 8) | atr[8];
        if (bwt)
            info->bwt_ms = bwt;
    }
    if (dllp >= 4) {
        unsigned ifsc = ((unsigned)atr[9] << 8) | atr[10];
        if (ifsc)
            info->ifsc = ifsc > SE05X_T1_IFS_MAX ? SE05X_T1_IFS_MAX : ifsc;
    }
    return SE05X_OK;
}
