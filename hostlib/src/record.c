/* Recording transport behind se05x/record.h: stores each command APDU
 * (heap copies, wiped on clear/close) and answers as an SE that accepts
 * everything: SELECT -> the configured version, ReadECCurveList -> every
 * curve NOT_SET, anything else -> 9000 with no data. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "se05x/record.h"
#include "se05x/transport.h"

struct se05x_recorder {
    se05x_transport base;
    uint8_t major, minor;
    uint8_t **apdu;
    size_t *len;
    size_t n, cap;
};

static se05x_status rec_add(se05x_recorder *r, const uint8_t *cmd, size_t len)
{
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        uint8_t **a = realloc(r->apdu, ncap * sizeof(*a));
        if (!a)
            return SE05X_ERR_NOMEM;
        r->apdu = a;
        size_t *l = realloc(r->len, ncap * sizeof(*l));
        if (!l)
            return SE05X_ERR_NOMEM;
        r->len = l;
        r->cap = ncap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return SE05X_ERR_NOMEM;
    memcpy(copy, cmd, len);
    r->apdu[r->n] = copy;
    r->len[r->n++] = len;
    return SE05X_OK;
}

static se05x_status rec_transceive(se05x_transport *t, const uint8_t *cmd, size_t len,
                                   uint8_t *rsp, size_t cap, size_t *rlen)
{
    se05x_recorder *r = (se05x_recorder *)t;
    size_t n = 0;
    uint8_t out[32];
    if (len >= 4 && cmd[0] == 0x00 && cmd[1] == 0xA4) {
        /* SELECT: version major.minor.0, config 6FFF, secure box 01 00 */
        const uint8_t sel[] = {r->major, r->minor, 0x00, 0x6F, 0xFF, 0x01, 0x00};
        memcpy(out, sel, sizeof(sel));
        n = sizeof(sel);
    } else {
        se05x_status st = rec_add(r, cmd, len);
        if (st != SE05X_OK)
            return st;
        if (len >= 4 && cmd[1] == 0x02 && cmd[2] == 0x0B && cmd[3] == 0x25) {
            out[0] = 0x41;
            out[1] = 17;
            memset(out + 2, 0x01, 17); /* SE05X_CURVE_NOT_SET */
            n = 19;
        }
    }
    if (n + 2 > cap)
        return SE05X_ERR_BUFFER;
    memcpy(rsp, out, n);
    rsp[n] = 0x90;
    rsp[n + 1] = 0x00;
    *rlen = n + 2;
    return SE05X_OK;
}

static se05x_status rec_reset(se05x_transport *t, uint8_t *atr, size_t cap, size_t *atrlen)
{
    if (atrlen)
        *atrlen = 0;
    return SE05X_OK;
}

void se05x_recorder_clear(se05x_recorder *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        OPENSSL_cleanse(r->apdu[i], r->len[i]);
        free(r->apdu[i]);
    }
    r->n = 0;
}

static void rec_close(se05x_transport *t)
{
    se05x_recorder *r = (se05x_recorder *)t;
    se05x_recorder_clear(r);
    free(r->apdu);
    free(r->len);
    free(r);
}

static const se05x_transport_ops REC_OPS = {
    .name = "recorder", .transceive = rec_transceive, .reset = rec_reset, .close = rec_close};

se05x_status se05x_recorder_open(uint8_t major, uint8_t minor, se05x_conn **conn,
                                 se05x_recorder **rec)
{
    if (!conn || !rec)
        return SE05X_ERR_ARG;
    se05x_recorder *r = calloc(1, sizeof(*r));
    if (!r)
        return SE05X_ERR_NOMEM;
    r->base.ops = &REC_OPS;
    r->major = major;
    r->minor = minor;
    se05x_conn_opts o = {.no_select = true};
    se05x_conn *c = NULL;
    se05x_status st = se05x_conn_open_transport(&r->base, &o, &c);
    if (st != SE05X_OK)
        return st; /* the transport was closed (freed) by the connection layer */
    st = se05x_conn_select(c, NULL);
    if (st != SE05X_OK) {
        se05x_conn_close(c);
        return st;
    }
    *conn = c;
    *rec = r;
    return SE05X_OK;
}

size_t se05x_recorder_count(const se05x_recorder *r) { return r ? r->n : 0; }

const uint8_t *se05x_recorder_get(const se05x_recorder *r, size_t i, size_t *len)
{
    if (!r || i >= r->n)
        return NULL;
    if (len)
        *len = r->len[i];
    return r->apdu[i];
}
