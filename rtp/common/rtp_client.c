/* rtp-client's protocol loop (spec el2go-protocol.md §8): echo START,
 * forward each APDU_CMD to the SE with se05x_conn_forward() (inside the
 * connection's platform SCP03 channel, if any) and return the
 * response (data || SW) as APDU_RESPONSE, acknowledge and record the
 * provisioned / failed lists, stop at DONE. Frames are read whole (partial
 * reads looped) into a RTP_CLIENT_MAX buffer; larger ones are refused;
 * unknown tags are logged and ignored. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "rtp.h"
#include "se05x/apdu.h"
#include "se05x/sockio.h"
#include "se05x/tlv.h"

static se05x_status cfail(rtp_client_result *r, se05x_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
    return st;
}

static se05x_status take_list(rtp_idlist *l, const uint8_t *p, size_t len, rtp_client_result *r)
{
    if (len % 4)
        return cfail(r, SE05X_ERR_PROTOCOL, "object list of %zu bytes (not a multiple of 4)", len);
    for (size_t i = 0; i + 4 <= len; i += 4)
        if (rtp_idlist_add(l, se05x_get_u32(p + i)) != SE05X_OK)
            return cfail(r, SE05X_ERR_NOMEM, "out of memory");
    return SE05X_OK;
}

se05x_status rtp_client_run(int fd, se05x_conn *se, const rtp_client_opts *o,
                            rtp_client_result *r)
{
    if (!se || !r)
        return SE05X_ERR_ARG;
    memset(r, 0, sizeof(*r));
    FILE *out = o && o->out ? o->out : stdout;
    unsigned tmo = o ? o->timeout_ms : 0;
    uint8_t buf[RTP_CLIENT_MAX];
    uint8_t rsp[SE05X_APDU_MAX];
    for (;;) {
        char err[200];
        uint16_t tag = 0;
        size_t len = 0;
        long long dl = tmo ? se05x_sock_deadline(tmo) : SE05X_SOCK_FOREVER;
        se05x_status st = rtp_recv(fd, &tag, buf, sizeof(buf), &len, dl, err, sizeof(err));
        if (st != SE05X_OK)
            return cfail(r, st, "%s", err);
        uint16_t reply = 0;
        bool answer = true;
        size_t rlen = 0;
        switch (tag) {
        case RTP_TAG_START:
            reply = RTP_TAG_START;
            break;
        case RTP_TAG_APDU_CMD:
            st = se05x_conn_forward(se, buf, len, rsp, sizeof(rsp), &rlen);
            if (st != SE05X_OK)
                return cfail(r, st, "SE link failed on APDU %zu: %s (%s)", r->apdus + 1,
                             se05x_strerror(st), se05x_conn_errmsg(se));
            if (rlen > 0xFFFF)
                return cfail(r, SE05X_ERR_BUFFER, "SE response too large");
            r->apdus++;
            reply = RTP_TAG_APDU_RESPONSE;
            break;
        case RTP_TAG_PROVISIONED_LIST:
            st = take_list(&r->provisioned, buf, len, r);
            reply = RTP_TAG_PROVISIONED_LIST_RESPONSE;
            break;
        case RTP_TAG_FAILED_LIST:
            st = take_list(&r->failed, buf, len, r);
            reply = RTP_TAG_FAILED_LIST_RESPONSE;
            break;
        case RTP_TAG_DONE:
            r->done = true;
            return SE05X_OK;
        default:
            fprintf(out, "rtp-client: ignoring unknown tag 0x%04X (%zu bytes)\n", tag, len);
            fflush(out);
            answer = false;
            break;
        }
        if (st != SE05X_OK)
            return st;
        if (answer) {
            st = rtp_send(fd, reply, reply == RTP_TAG_APDU_RESPONSE ? rsp : NULL,
                          reply == RTP_TAG_APDU_RESPONSE ? rlen : 0,
                          tmo ? se05x_sock_deadline(tmo) : SE05X_SOCK_FOREVER);
            if (st != SE05X_OK)
                return cfail(r, st, "cannot send %s: %s", rtp_tag_name(reply),
                             errno ? strerror(errno) : "timeout");
        }
    }
}

void rtp_client_result_free(rtp_client_result *r)
{
    if (!r)
        return;
    rtp_idlist_free(&r->provisioned);
    rtp_idlist_free(&r->failed);
}
