/* Helpers shared by the simulator-core unit tests (test_sim_*.c): temporary
 * card directories, raw APDU exchange from hex strings, and APDU building
 * with the shared TLV/APDU encoders. Header-only (static functions). */
#ifndef TEST_SIM_UTIL_H
#define TEST_SIM_UTIL_H

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "se05x/apdu.h"
#include "se05x/tlv.h"
#include "sesim/sesim.h"

typedef struct {
    char dir[512];
    sesim *s;
    sesim_chan *ch;
    uint8_t r[SE05X_APDU_MAX];
    size_t rlen;
} simfx;

static inline int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb; (void)flag; (void)f;
    return remove(p);
}

static inline void tu_rm_rf(const char *dir) { nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static inline void tu_mkdtemp(char *out, size_t cap)
{
    const char *base = getenv("SE05X_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0700);
    snprintf(out, cap, "%s/sesim-XXXXXX", base);
    assert_non_null(mkdtemp(out));
}

static inline sesim_opts tu_opts(void)
{
    sesim_opts o;
    sesim_opts_default(&o);
    o.quiet = true;
    return o;
}

static inline void tu_open(simfx *f, const sesim_opts *o)
{
    assert_int_equal(sesim_open(f->dir, o, &f->s), SE05X_OK);
    assert_int_equal(sesim_chan_open(f->s, &f->ch), SE05X_OK);
}

static inline void tu_close(simfx *f)
{
    sesim_chan_close(f->ch);
    sesim_close(f->s);
    f->ch = NULL;
    f->s = NULL;
}

static inline size_t tu_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9') v = *p - '0';
        else if (*p >= 'a' && *p <= 'f') v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F') v = *p - 'A' + 10;
        else continue;
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    return n;
}

/* Send raw bytes on a channel; returns the SW, response in f->r/f->rlen
 * (rlen excludes the SW). */
static inline uint16_t tu_raw_ch(simfx *f, sesim_chan *ch, const uint8_t *c, size_t n)
{
    size_t l = sesim_chan_process(ch, c, n, f->r, sizeof(f->r));
    assert_true(l >= 2);
    f->rlen = l - 2;
    return (uint16_t)(f->r[l - 2] << 8 | f->r[l - 1]);
}

static inline uint16_t tu_raw(simfx *f, const uint8_t *c, size_t n) { return tu_raw_ch(f, f->ch, c, n); }

static inline uint16_t tu_tx(simfx *f, const char *hex)
{
    uint8_t c[SE05X_APDU_MAX + 16];
    size_t n = tu_hex(hex, c, sizeof(c));
    return tu_raw(f, c, n);
}

/* Build and send CLA INS P1 P2 with payload (MW encoding, no Le). */
static inline uint16_t tu_cmd(simfx *f, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *d, size_t n)
{
    uint8_t c[SE05X_APDU_MAX + 16];
    size_t cl;
    se05x_apdu a = {0x80, ins, p1, p2, d, n, 0, false};
    assert_int_equal(se05x_apdu_encode(&a, c, sizeof(c), &cl), SE05X_OK);
    return tu_raw(f, c, cl);
}

static inline void tu_select(simfx *f)
{
    assert_int_equal(tu_tx(f, "00A4040010 A0000003965453000000010300000000 00"), 0x9000);
    assert_int_equal(f->rlen, 7);
}

/* Find TLV tag in the last response; returns its value length or -1. */
static inline int tu_resp_tlv(simfx *f, uint8_t t, const uint8_t **val)
{
    size_t pos = 0;
    *val = NULL; /* set on every path (gcc -O2 cannot see the caller's assert) */
    while (pos < f->rlen) {
        uint8_t tg;
        const uint8_t *v;
        size_t vl;
        if (se05x_tlv_next(f->r, f->rlen, &pos, &tg, &v, &vl) != SE05X_OK)
            return -1;
        if (tg == t) {
            *val = v;
            return (int)vl;
        }
    }
    return -1;
}

static inline void tu_setup_dir(simfx *f)
{
    memset(f, 0, sizeof(*f));
    tu_mkdtemp(f->dir, sizeof(f->dir));
}

#endif
