/* TEMPORARY stand-ins until the simulator core lands (deleted at merge). */
#include "sim_internal.h"
void sesim_opts_default(sesim_opts *o) { (void)o; }
se05x_status sesim_open(const char *dir, const sesim_opts *opts, sesim **out) { return SE05X_ERR_UNSUPPORTED; }
void sesim_close(sesim *s) { (void)s; }
size_t sesim_atr(const sesim *s, uint8_t *out, size_t cap) { return 0; }
se05x_status sesim_chan_open(sesim *s, sesim_chan **out) { return SE05X_ERR_UNSUPPORTED; }
void sesim_chan_close(sesim_chan *ch) { (void)ch; }
void sesim_chan_reset(sesim_chan *ch) { (void)ch; }
size_t sesim_chan_process(sesim_chan *ch, const uint8_t *c, size_t l, uint8_t *r, size_t cap) { r[0] = 0x6F; r[1] = 0; return 2; }
size_t sesim_dispatch(sesim_chan *ch, const uint8_t *c, size_t l, uint32_t a, bool sm, uint8_t *r, size_t cap) { r[0] = 0x6F; r[1] = 0; return 2; }
#include "sesim/servers.h"
sesim_card_if sesim_card_if_for(sesim *s) { sesim_card_if c = {0}; return c; }
