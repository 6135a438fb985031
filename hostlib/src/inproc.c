/* In-process transport: the simulator linked into the caller ("sim:DIR").
 * Each transport opens its own card handle on DIR (own lock descriptor), so
 * several connections, threads or processes on the same directory are
 * serialised by the simulator's lock, one APDU at a time. */
#include <stdlib.h>
#include <string.h>

#include "se05x/apdu.h"
#include "se05x/transport.h"
#include "sesim/sesim.h"

typedef struct {
    se05x_transport base;
    sesim *sim;
    sesim_chan *ch;
} inproc_t;

static se05x_status inproc_transceive(se05x_transport *t, const uint8_t *cmd, size_t len,
                                      uint8_t *rsp, size_t cap, size_t *rlen)
{
    inproc_t *ip = (inproc_t *)t;
    uint8_t buf[SE05X_APDU_MAX];
    size_t n = sesim_chan_process(ip->ch, cmd, len, buf, sizeof(buf));
    if (n > cap) {
        strcpy(t->err, "response larger than the caller's buffer");
        return SE05X_ERR_BUFFER;
    }
    memcpy(rsp, buf, n);
    *rlen = n;
    return SE05X_OK;
}

static se05x_status inproc_reset(se05x_transport *t, uint8_t *atr, size_t cap, size_t *atrlen)
{
    inproc_t *ip = (inproc_t *)t;
    sesim_chan_reset(ip->ch);
    if (atr && atrlen)
        *atrlen = sesim_atr(ip->sim, atr, cap);
    return SE05X_OK;
}

static void inproc_close(se05x_transport *t)
{
    inproc_t *ip = (inproc_t *)t;
    sesim_chan_close(ip->ch);
    sesim_close(ip->sim);
    free(ip);
}

static const se05x_transport_ops inproc_ops = {
    .name = "inproc",
    .transceive = inproc_transceive,
    .reset = inproc_reset,
    .close = inproc_close,
    .abandon = inproc_close, /* nothing is shared with a peer: closing is safe */
};

se05x_status se05x_inproc_open(const char *dir, se05x_transport **out)
{
    sesim_opts o;
    if (!dir || !*dir || !out)
        return SE05X_ERR_ARG;
    inproc_t *ip = calloc(1, sizeof(*ip));
    if (!ip)
        return SE05X_ERR_NOMEM;
    sesim_opts_default(&o);
    o.quiet = true;
    se05x_status st = sesim_open(dir, &o, &ip->sim);
    if (st == SE05X_OK) {
        st = sesim_chan_open(ip->sim, &ip->ch);
        if (st != SE05X_OK)
            sesim_close(ip->sim);
    }
    if (st != SE05X_OK) {
        free(ip);
        return st;
    }
    ip->base.ops = &inproc_ops;
    *out = &ip->base;
    return SE05X_OK;
}
