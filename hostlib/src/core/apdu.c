/* ISO 7816-4 APDU encoding/decoding shared by hostlib and the simulator
 * (see se05x/apdu.h). */
#include "se05x/apdu.h"

#include <string.h>

se05x_status se05x_apdu_encode(const se05x_apdu *a, uint8_t *out, size_t cap, size_t *outlen)
{
    if (!a || !out || !outlen || (a->lc && !a->data))
        return SE05X_ERR_ARG;
    if (a->lc > 0xFFFF || a->ne > 65536)
        return SE05X_ERR_ARG;
    bool ext = a->extended || a->lc >= 255 || a->ne > 256;
    size_t need = 4;
    if (a->lc)
        need += (ext ? 3 : 1) + a->lc;
    if (a->ne)
        need += ext ? (a->lc ? 2 : 3) : 1;
    if (need > cap)
        return SE05X_ERR_BUFFER;
    size_t p = 0;
    out[p++] = a->cla;
    out[p++] = a->ins;
    out[p++] = a->p1;
    out[p++] = a->p2;
    if (a->lc) {
        if (ext) {
            out[p++] = 0x00;
            out[p++] = (uint8_t)(a->lc >> 8);
            out[p++] = (uint8_t)a->lc;
        } else {
            out[p++] = (uint8_t)a->lc;
        }
        memcpy(out + p, a->data, a->lc);
        p += a->lc;
    }
    if (a->ne) {
        if (ext) {
            if (!a->lc)
                out[p++] = 0x00;
            uint32_t le = a->ne == 65536 ? 0 : a->ne;
            out[p++] = (uint8_t)(le >> 8);
            out[p++] = (uint8_t)le;
        } else {
            out[p++] = (uint8_t)(a->ne == 256 ? 0 : a->ne);
        }
    }
    *outlen = p;
    return SE05X_OK;
}

se05x_status se05x_apdu_decode(const uint8_t *buf, size_t len, se05x_apdu *a)
{
    if (!buf || !a)
        return SE05X_ERR_ARG;
    memset(a, 0, sizeof(*a));
    if (len < 4)
        return SE05X_ERR_APDU;
    a->cla = buf[0];
    a->ins = buf[1];
    a->p1 = buf[2];
    a->p2 = buf[3];
    if (len == 4)
        return SE05X_OK; /* case 1 */
    if (len == 5) {      /* case 2S */
        a->ne = buf[4] ? buf[4] : 256;
        return SE05X_OK;
    }
    if (buf[4] != 0) { /* short Lc: 3S or 4S */
        size_t lc = buf[4];
        if (len == 5 + lc) {
            a->data = buf + 5;
            a->lc = lc;
            return SE05X_OK;
        }
        if (len == 6 + lc) {
            a->data = buf + 5;
            a->lc = lc;
            a->ne = buf[5 + lc] ? buf[5 + lc] : 256;
            return SE05X_OK;
        }
        return SE05X_ERR_APDU;
    }
    /* buf[4] == 0 and len >= 6: extended forms */
    if (len < 7)
        return SE05X_ERR_APDU;
    size_t v = ((size_t)buf[5] << 8) | buf[6];
    a->extended = true;
    if (len == 7) { /* case 2E */
        a->ne = v ? (uint32_t)v : 65536;
        return SE05X_OK;
    }
    if (v == 0)
        return SE05X_ERR_APDU;
    if (len == 7 + v) { /* 3E */
        a->data = buf + 7;
        a->lc = v;
        return SE05X_OK;
    }
    if (len == 9 + v) { /* 4E */
        size_t le = ((size_t)buf[7 + v] << 8) | buf[8 + v];
        a->data = buf + 7;
        a->lc = v;
        a->ne = le ? (uint32_t)le : 65536;
        return SE05X_OK;
    }
    return SE05X_ERR_APDU;
}

se05x_status se05x_rapdu_split(const uint8_t *buf, size_t len, size_t *dlen, uint16_t *sw)
{
    if (!buf || len < 2)
        return SE05X_ERR_RESPONSE;
    *dlen = len - 2;
    *sw = (uint16_t)((buf[len - 2] << 8) | buf[len - 1]);
    return SE05X_OK;
}
