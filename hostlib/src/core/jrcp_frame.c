/* JRCP v1 frame encoding and incremental decoding (see se05x/jrcp.h),
 * shared by the host client transport and the simulator's TCP server.
 * The decoder validates the announced length against its limit as soon as
 * the 4-byte header is complete, so an oversized frame is refused before
 * any payload is buffered. */
#include "se05x/jrcp.h"

#include <stddef.h>
#include <string.h>

const char *se05x_jrcp_type_name(uint8_t mty)
{
    switch (mty) {
    case SE05X_JRCP_WAIT_FOR_CARD: return "WAIT_FOR_CARD";
    case SE05X_JRCP_APDU_DATA: return "APDU_DATA";
    case SE05X_JRCP_STATUS: return "STATUS";
    case SE05X_JRCP_ERROR_MSG: return "ERROR_MSG";
    case SE05X_JRCP_TERMINAL_INFO: return "TERMINAL_INFO";
    case SE05X_JRCP_INIT_DATA: return "INITIALIZATION_DATA";
    case SE05X_JRCP_INFO_TEXT: return "INFORMATION_TEXT";
    case SE05X_JRCP_DEBUG_INFO: return "DEBUG_INFORMATION";
    case SE05X_JRCP_LOCK: return "LOCK";
    case SE05X_JRCP_UNLOCK: return "UNLOCK";
    case SE05X_JRCP_SET_UINT32: return "SET_UINT32";
    case SE05X_JRCP_GET_UINT32: return "GET_UINT32";
    case SE05X_JRCP_QUIT: return "QUIT";
    default: return "UNKNOWN";
    }
}

se05x_status se05x_jrcp_header(uint8_t mty, size_t len, uint8_t hdr[SE05X_JRCP_HDR_LEN])
{
    if (hdr == NULL || len > 0xFFFFu)
        return SE05X_ERR_ARG;
    hdr[0] = mty;
    hdr[1] = SE05X_JRCP_NAD;
    hdr[2] = (uint8_t)(len >> 8);
    hdr[3] = (uint8_t)len;
    return SE05X_OK;
}

se05x_status se05x_jrcp_encode(uint8_t mty, const uint8_t *payload, size_t len, uint8_t *out,
                               size_t cap, size_t *outlen)
{
    if (out == NULL || outlen == NULL || (payload == NULL && len > 0) || len > 0xFFFFu)
        return SE05X_ERR_ARG;
    if (cap < SE05X_JRCP_HDR_LEN + len)
        return SE05X_ERR_BUFFER;
    se05x_jrcp_header(mty, len, out);
    if (len > 0)
        memmove(out + SE05X_JRCP_HDR_LEN, payload, len);
    *outlen = SE05X_JRCP_HDR_LEN + len;
    return SE05X_OK;
}

void se05x_jrcp_decoder_init(se05x_jrcp_decoder *d, size_t max)
{
    memset(d, 0, offsetof(se05x_jrcp_decoder, payload));
    d->max = (max == 0 || max > SE05X_JRCP_MAX_PAYLOAD) ? SE05X_JRCP_MAX_PAYLOAD : max;
}

void se05x_jrcp_decoder_next(se05x_jrcp_decoder *d)
{
    d->hdr_have = 0;
    d->have = 0;
    d->done = false;
    d->hdr_parsed = false;
    d->mty = d->nad = 0;
    d->len = 0;
}

bool se05x_jrcp_decoder_idle(const se05x_jrcp_decoder *d)
{
    return d->hdr_have == 0 && !d->done && !d->bad;
}

/* Header complete: parse and validate it. */
static se05x_status take_header(se05x_jrcp_decoder *d)
{
    d->mty = d->hdr[0];
    d->nad = d->hdr[1];
    d->len = ((size_t)d->hdr[2] << 8) | d->hdr[3];
    if (d->len > d->max) {
        d->bad = true;
        return SE05X_ERR_PROTOCOL;
    }
    d->hdr_parsed = true;
    d->done = d->len == 0;
    return SE05X_OK;
}

se05x_status se05x_jrcp_decoder_feed(se05x_jrcp_decoder *d, const uint8_t *in, size_t len,
                                     size_t *used, bool *done)
{
    size_t n = 0;
    *used = 0;
    *done = d->done;
    if (d->bad)
        return SE05X_ERR_PROTOCOL;
    if (d->done)
        return SE05X_OK;
    while (d->hdr_have < SE05X_JRCP_HDR_LEN && n < len)
        d->hdr[d->hdr_have++] = in[n++];
    if (d->hdr_have < SE05X_JRCP_HDR_LEN) {
        *used = n;
        return SE05X_OK;
    }
    if (!d->hdr_parsed) {
        se05x_status st = take_header(d);
        if (st != SE05X_OK) {
            *used = n;
            return st;
        }
    }
    size_t take = d->len - d->have;
    if (take > len - n)
        take = len - n;
    memcpy(d->payload + d->have, in + n, take);
    d->have += take;
    n += take;
    if (d->have == d->len)
        d->done = true;
    *used = n;
    *done = d->done;
    return SE05X_OK;
}
