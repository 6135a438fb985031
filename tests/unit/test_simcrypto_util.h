/* Shared fixture of the simcrypto unit tests: opens a simulated card in a
 * temporary directory, stores keys made with libcrypto, and calls the
 * handlers of sesim_cmds_crypto / sesim_cmds_attest directly through a sesim_req built here
 * (the payload TLVs parsed with the row's allowed tags, as the dispatcher
 * does). Header-only (static functions) so that each test program stays
 * one file. */
#ifndef TEST_SIMCRYPTO_UTIL_H
#define TEST_SIMCRYPTO_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_internal.h"

typedef struct {
    char dir[512];
    sesim *s;
    sesim_chan *ch;
    uint8_t cmd[SE05X_APDU_MAX];
    se05x_tlvw w;       /* payload under construction */
    uint8_t out[SE05X_APDU_MAX];
    size_t outlen;
    se05x_tlv_set set;
    se05x_apdu apdu;
} tfx;

static inline void tfx_rmrf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p))
            continue;
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            tfx_rmrf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static inline tfx *tfx_open(void)
{
    tfx *f = calloc(1, sizeof(*f));
    const char *base = getenv("SE05X_TEST_TMP");
    if (!f)
        return NULL;
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0700);
    snprintf(f->dir, sizeof(f->dir), "%s/simcrypto-XXXXXX", base);
    if (!mkdtemp(f->dir)) {
        free(f);
        return NULL;
    }
    sesim_opts o;
    sesim_opts_default(&o);
    o.quiet = true;
    if (sesim_open(f->dir, &o, &f->s) != SE05X_OK || sesim_chan_open(f->s, &f->ch) != SE05X_OK) {
        tfx_rmrf(f->dir);
        free(f);
        return NULL;
    }
    return f;
}

static inline void tfx_close(tfx *f)
{
    if (!f)
        return;
    sesim_chan_close(f->ch);
    sesim_close(f->s);
    tfx_rmrf(f->dir);
    free(f);
}

/* Start a new command payload. */
static inline se05x_tlvw *tfx_begin(tfx *f)
{
    se05x_tlvw_init(&f->w, f->cmd, sizeof(f->cmd));
    return &f->w;
}

/* The row of the crypto or attestation table for (ins, p1, p2). */
static inline const sesim_cmd *tfx_row(uint8_t ins, uint8_t p1, uint8_t p2)
{
    const sesim_cmd *tables[] = {sesim_cmds_crypto, sesim_cmds_attest};
    for (size_t t = 0; t < 2; t++)
        for (const sesim_cmd *c = tables[t]; c->fn; c++)
            if ((ins & c->ins_mask) == c->ins && (p1 & c->p1_mask) == c->p1 && p2 == c->p2)
                return c;
    return NULL;
}

/* Run the handler of (ins, p1, p2) on the payload built since tfx_begin;
 * returns the SW, response data in f->out / f->outlen. */
static inline uint16_t tfx_call(tfx *f, uint8_t ins, uint8_t p1, uint8_t p2)
{
    const sesim_cmd *row = tfx_row(ins, p1, p2);
    assert_non_null(row);
    assert_int_equal(se05x_tlvw_status(&f->w), SE05X_OK);
    memset(&f->apdu, 0, sizeof(f->apdu));
    f->apdu.cla = 0x80;
    f->apdu.ins = ins;
    f->apdu.p1 = p1;
    f->apdu.p2 = p2;
    f->apdu.data = f->cmd;
    f->apdu.lc = f->w.len;
    assert_int_equal(se05x_tlv_parse_set(f->cmd, f->w.len, row->allowed_tags, true, &f->set),
                     SE05X_OK);
    se05x_tlvw out;
    se05x_tlvw_init(&out, f->out, SE05X_APDU_MAX - 2);
    sesim_req r = {.ch = f->ch, .sim = f->s, .apdu = &f->apdu, .tlv = &f->set, .out = &out};
    uint16_t sw = row->fn(&r);
    f->outlen = out.len;
    if (sw != 0x9000)
        assert_int_equal(f->outlen, 0); /* errors carry no data */
    return sw;
}

/* The response must be exactly one TLV with tag; returns its value. */
static inline const uint8_t *tfx_single(tfx *f, uint8_t tag, size_t *len)
{
    se05x_tlv_expect_t e = {tag, 0, 0, 0};
    se05x_tlv_item it;
    assert_int_equal(se05x_tlv_expect(f->out, f->outlen, &e, 1, &it), SE05X_OK);
    *len = it.len;
    return it.val;
}

static inline uint8_t tfx_result(tfx *f)
{
    size_t l;
    const uint8_t *v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 1);
    return v[0];
}

static inline void tfx_policy(sesim_obj *o, uint32_t rules)
{
    o->policy[0] = 8;
    se05x_put_u32(o->policy + 1, 0);
    se05x_put_u32(o->policy + 5, rules);
    o->policy_len = 9;
}

/* Store pkey at id with the given object type (0 = derived) and policy
 * (0 = default policy). */
static inline void tfx_put_pkey(tfx *f, uint32_t id, EVP_PKEY *pkey, uint8_t type, uint32_t rules)
{
    sesim_obj o;
    sesim_obj_init(&o);
    o.id = id;
    o.type = type;
    o.origin = SESIM_ORIGIN_EXTERNAL;
    if (rules)
        tfx_policy(&o, rules);
    assert_int_equal(sesim_obj_from_pkey(&o, pkey), SE05X_OK);
    assert_int_equal(sesim_store_save(f->s, &o), SE05X_OK);
    sesim_obj_free(&o);
}

static inline void tfx_put_value(tfx *f, uint32_t id, uint8_t type, const uint8_t *v, size_t len)
{
    sesim_obj o;
    sesim_obj_init(&o);
    o.id = id;
    o.type = type;
    o.origin = SESIM_ORIGIN_EXTERNAL;
    o.size = (uint16_t)len;
    assert_int_equal(sesim_obj_set_comp(&o, SESIM_C_VALUE, v, len), SE05X_OK);
    assert_int_equal(sesim_store_save(f->s, &o), SE05X_OK);
    sesim_obj_free(&o);
}

static inline EVP_PKEY *tfx_ec(const char *curve)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

#endif
