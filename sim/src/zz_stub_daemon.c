/* TEMPORARY stand-ins so the se05x-sim daemon links on the jrcp branch
 * before sim.c (sesim_open & co.) and t1_server.c land. Delete at merge.
 * The stand-in card answers every APDU with 6D00 and has an empty ATR;
 * the T=1 server is "unsupported". No real code lives here. */
#include <stdlib.h>
#include <string.h>

#include "sesim/servers.h"
#include "sesim/sesim.h"

struct sesim {
    int unused;
};

void sesim_opts_default(sesim_opts *o)
{
    memset(o, 0, sizeof *o);
    o->applet_major = 7;
}

se05x_status sesim_open(const char *dir, const sesim_opts *opts, sesim **out)
{
    (void)dir;
    (void)opts;
    *out = calloc(1, sizeof **out);
    return *out ? SE05X_OK : SE05X_ERR_NOMEM;
}

void sesim_close(sesim *s) { free(s); }

static void *stub_chan_open(void *ctx) { return ctx; }
static void stub_chan_close(void *chan) { (void)chan; }
static void stub_chan_reset(void *chan) { (void)chan; }
static size_t stub_process(void *chan, const uint8_t *c, size_t len, uint8_t *r, size_t cap)
{
    (void)chan, (void)c, (void)len, (void)cap;
    r[0] = 0x6D;
    r[1] = 0x00;
    return 2;
}
static size_t stub_atr(void *ctx, uint8_t *out, size_t cap)
{
    (void)ctx, (void)out, (void)cap;
    return 0;
}

sesim_card_if sesim_card_if_for(sesim *s)
{
    sesim_card_if c = {.ctx = s, .chan_open = stub_chan_open, .chan_close = stub_chan_close,
                       .chan_reset = stub_chan_reset, .process = stub_process, .atr = stub_atr};
    return c;
}

se05x_status sesim_t1_server_start(const sesim_card_if *card, const char *sock_path,
                                   const sesim_t1_faults *faults, sesim_t1_server **out)
{
    (void)card, (void)sock_path, (void)faults;
    *out = NULL;
    return SE05X_ERR_UNSUPPORTED;
}

void sesim_t1_server_stop(sesim_t1_server *srv) { (void)srv; }
