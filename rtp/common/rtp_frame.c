/* RTP TCP framing: cmd (u16 BE) | length (u16 BE) | payload, on top of
 * hostlib's socket loops (partial reads/writes, EINTR, deadlines). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rtp.h"
#include "se05x/sockio.h"

const char *rtp_tag_name(uint16_t tag)
{
    switch (tag) {
    case RTP_TAG_START: return "START";
    case RTP_TAG_APDU_CMD: return "APDU_CMD";
    case RTP_TAG_APDU_RESPONSE: return "APDU_RESPONSE";
    case RTP_TAG_PROVISIONED_LIST: return "PROVISIONED_OBJECTS_LIST";
    case RTP_TAG_PROVISIONED_LIST_RESPONSE: return "PROVISIONED_OBJECTS_LIST_RESPONSE";
    case RTP_TAG_FAILED_LIST: return "FAILED_PROVISIONED_LIST";
    case RTP_TAG_FAILED_LIST_RESPONSE: return "FAILED_PROVISIONED_LIST_RESPONSE";
    case RTP_TAG_DONE: return "DONE";
    default: return "unknown";
    }
}

se05x_status rtp_send(int fd, uint16_t tag, const uint8_t *payload, size_t len,
                      long long deadline)
{
    if (len > 0xFFFF || (len && !payload))
        return SE05X_ERR_ARG;
    uint8_t hdr[4] = {(uint8_t)(tag >> 8), (uint8_t)tag, (uint8_t)(len >> 8), (uint8_t)len};
    se05x_status st = se05x_sock_send_all(fd, hdr, sizeof(hdr), deadline);
    if (st == SE05X_OK && len)
        st = se05x_sock_send_all(fd, payload, len, deadline);
    return st;
}

static void io_err(se05x_status st, const char *what, char *err, size_t errlen)
{
    if (!err || !errlen)
        return;
    if (st == SE05X_ERR_TIMEOUT)
        snprintf(err, errlen, "timeout while reading the %s", what);
    else if (errno == 0)
        snprintf(err, errlen, "peer closed the connection while the %s was expected", what);
    else
        snprintf(err, errlen, "read error on the %s: %s", what, strerror(errno));
}

se05x_status rtp_recv(int fd, uint16_t *tag, uint8_t *buf, size_t cap, size_t *len,
                      long long deadline, char *err, size_t errlen)
{
    uint8_t hdr[4];
    if (!tag || !len || (cap && !buf))
        return SE05X_ERR_ARG;
    *len = 0;
    se05x_status st = se05x_sock_recv_all(fd, hdr, sizeof(hdr), deadline);
    if (st != SE05X_OK) {
        io_err(st, "frame header", err, errlen);
        return st;
    }
    *tag = (uint16_t)(hdr[0] << 8 | hdr[1]);
    size_t n = (size_t)(hdr[2] << 8 | hdr[3]);
    if (n > cap) {
        if (err && errlen)
            snprintf(err, errlen, "frame %s (0x%04X) announces %zu payload bytes, more than the "
                     "%zu-byte buffer", rtp_tag_name(*tag), *tag, n, cap);
        return SE05X_ERR_BUFFER;
    }
    if (n) {
        st = se05x_sock_recv_all(fd, buf, n, deadline);
        if (st != SE05X_OK) {
            io_err(st, "frame payload", err, errlen);
            return st;
        }
    }
    *len = n;
    return SE05X_OK;
}
