/* TEMPORARY STAND-IN (deleted at merge): card lifecycle, logging and type
 * reporting owned by sim.c / dispatch.c / cmd_objects.c, reduced to what
 * the crypto unit tests need. Superset of main's zz_stub_sim.c (same
 * symbols plus a working sesim_open over the in-memory stub store). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sesim/servers.h"
#include "sim_internal.h"

void zz_stub_store_free(sesim *s);

void sesim_opts_default(sesim_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->applet_major = 7;
    o->scp03_kvn = 0x0B;
    o->persistent_mem = 64 * 1024;
}

se05x_status sesim_open(const char *dir, const sesim_opts *opts, sesim **out)
{
    sesim *s = calloc(1, sizeof(*s));
    if (!s)
        return SE05X_ERR_NOMEM;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        free(s);
        return SE05X_ERR_IO;
    }
    s->dir = strdup(dir);
    s->lockfd = -1;
    pthread_mutex_init(&s->mu, NULL);
    if (opts)
        s->opts = *opts;
    else
        sesim_opts_default(&s->opts);
    se05x_status st = sesim_curve_install(s, 0x03);
    if (st == SE05X_OK)
        st = sesim_factory_provision(s);
    if (st != SE05X_OK) {
        sesim_close(s);
        return st;
    }
    *out = s;
    return SE05X_OK;
}

void sesim_close(sesim *s)
{
    if (!s)
        return;
    zz_stub_store_free(s);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s);
}

const char *sesim_dir(const sesim *s) { return s->dir; }

se05x_status sesim_chan_open(sesim *s, sesim_chan **out)
{
    sesim_chan *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return SE05X_ERR_NOMEM;
    ch->sim = s;
    ch->selected = true;
    *out = ch;
    return SE05X_OK;
}

void sesim_chan_close(sesim_chan *ch)
{
    if (!ch)
        return;
    for (int i = 0; i < SESIM_MAX_CRYPTO_OBJS; i++)
        if (ch->cobj[i].used && ch->cobj[i].free_state)
            ch->cobj[i].free_state(ch->cobj[i].state);
    free(ch);
}

void sesim_log(const sesim *s, const char *fmt, ...)
{
    if (s && s->opts.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("se05x-sim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

uint8_t sesim_type_report(const sesim *s, const sesim_obj *o)
{
    if (s->opts.applet_major != 3 && o->type >= SESIM_T_EC_PAIR && o->type <= SESIM_T_EC_PUB) {
        static const uint8_t base[] = {[0x01] = 0x21, [0x02] = 0x25, [0x03] = 0x29, [0x04] = 0x2D,
                                       [0x05] = 0x31, [0x10] = 0x5D};
        uint8_t b = 0;
        if (o->curve < sizeof(base))
            b = base[o->curve];
        else if (o->curve == 0x40)
            b = 0x65;
        else if (o->curve == 0x41)
            b = 0x69;
        else if (o->curve == 0x43)
            b = 0x71;
        if (b)
            return (uint8_t)(b + o->type - 1);
    }
    return o->type;
}

se05x_status sesim_curve_install(sesim *s, uint8_t curve)
{
    (void)s;
    (void)curve;
    return SE05X_OK;
}

bool sesim_curve_is_set(sesim *s, uint8_t curve)
{
    (void)s;
    return curve == 0x03 || curve == 0x40;
}

/* Same layout as cmd_objects.c's (spec §2.3). */
size_t sesim_obj_attributes(const sesim *s, const sesim_obj *o, uint8_t *out, size_t cap)
{
    bool v7 = s->opts.applet_major != 3;
    size_t n = 14 + o->policy_len + 1 + (v7 ? 4 : 1);
    if (cap < n)
        return 0;
    se05x_put_u32(out, o->id);
    out[4] = sesim_type_report(s, o);
    out[5] = o->auth ? 0x02 : 0x01;
    se05x_put_u16(out + 6, o->auth ? o->failed_attempts : 0);
    se05x_put_u32(out + 8, 0);
    se05x_put_u16(out + 12, o->auth ? o->max_attempts : 0);
    memcpy(out + 14, o->policy, o->policy_len);
    size_t p = 14 + o->policy_len;
    out[p++] = o->origin;
    if (v7) {
        se05x_put_u32(out + p, o->version);
        p += 4;
    } else {
        out[p++] = (uint8_t)o->version;
    }
    return p;
}

size_t sesim_atr(const sesim *s, uint8_t *out, size_t cap)
{
    (void)s;
    (void)out;
    (void)cap;
    return 0;
}

void sesim_chan_reset(sesim_chan *ch) { (void)ch; }

static size_t stub_sw(uint8_t *r, size_t cap)
{
    if (cap < 2)
        return 0;
    r[0] = 0x6F;
    r[1] = 0x00;
    return 2;
}

size_t sesim_chan_process(sesim_chan *ch, const uint8_t *c, size_t l, uint8_t *r, size_t cap)
{
    (void)ch;
    (void)c;
    (void)l;
    return stub_sw(r, cap);
}

size_t sesim_dispatch(sesim_chan *ch, const uint8_t *c, size_t l, uint32_t a, bool sm, uint8_t *r,
                      size_t cap)
{
    (void)ch;
    (void)c;
    (void)l;
    (void)a;
    (void)sm;
    return stub_sw(r, cap);
}

sesim_card_if sesim_card_if_for(sesim *s)
{
    sesim_card_if c;
    (void)s;
    memset(&c, 0, sizeof(c));
    return c;
}
