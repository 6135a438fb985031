/* Host side of SCP03 channels (spec §5): the channel object used by conn.c
 * for platform SCP03 and by session.c for AESKey sessions, the handshake
 * (INITIALIZE UPDATE / EXTERNAL AUTHENTICATE) over any carrier, opening the
 * platform channel of a connection, and loading the platform key file.
 * Cryptography and the key file parser are in core/scp03.c (shared with the
 * simulator). */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "se05x/scp03.h"

/* ctx.algs points to algs: CMAC and AES fetched once per channel from the
 * connection's library context. */
struct se05x_scp03_chan {
    se05x_scp03_ctx ctx;
    se05x_scp03_algs *algs;
};

se05x_status se05x_scp03_chan_wrap(se05x_scp03_chan *s, const uint8_t *capdu, size_t len,
                                   uint8_t *out, size_t cap, size_t *olen)
{
    if (!s || !capdu || !out || !olen)
        return SE05X_ERR_ARG;
    return se05x_scp03_wrap_cmd(&s->ctx, capdu, len, out, cap, olen);
}

se05x_status se05x_scp03_chan_unwrap(se05x_scp03_chan *s, const uint8_t *rapdu, size_t len,
                                     uint8_t *out, size_t cap, size_t *olen)
{
    if (!s || !rapdu || !out || !olen)
        return SE05X_ERR_ARG;
    return se05x_scp03_unwrap_rsp(&s->ctx, rapdu, len, out, cap, olen);
}

void se05x_scp03_chan_free(se05x_scp03_chan *s)
{
    if (!s)
        return;
    se05x_scp03_ctx_wipe(&s->ctx);
    se05x_scp03_algs_free(s->algs);
    free(s);
}

se05x_scp03_chan *se05x_scp03_chan_new(se05x_conn *c)
{
    se05x_scp03_chan *ch = calloc(1, sizeof(*ch));
    if (!ch) {
        se05x_conn_seterr(c, "SCP03: out of memory");
        return NULL;
    }
    ch->algs = se05x_scp03_algs_new(c->opts.libctx, NULL);
    if (!ch->algs) {
        se05x_conn_seterr(c, "SCP03: CMAC or AES-128-CBC/ECB not available in the %s library "
                          "context", c->opts.libctx ? "connection's" : "default");
        free(ch);
        return NULL;
    }
    ch->ctx.algs = ch->algs;
    return ch;
}

se05x_scp03_ctx *se05x_scp03_chan_ctx(se05x_scp03_chan *s)
{
    return s ? &s->ctx : NULL;
}

se05x_scp03_algs *se05x_scp03_chan_algs(se05x_scp03_chan *s)
{
    return s ? s->algs : NULL;
}

/* ---- handshake ------------------------------------------------------- */

static se05x_status initialize_update(se05x_conn *c, se05x_scp03_chan *ch,
                                      const se05x_scp03_static *sk, uint8_t kvn, int rule,
                                      se05x_scp03_send_fn send)
{
    uint8_t cmd[13] = {0x80, 0x50, kvn, 0x00, 0x08};
    uint8_t rsp[SE05X_APDU_MAX];
    size_t rlen = 0, dlen = 0;
    uint16_t sw = 0;
    if (RAND_bytes_ex(c->opts.libctx, cmd + 5, 8, 0) != 1) {
        se05x_conn_seterr(c, "SCP03: no random bytes for the host challenge");
        return SE05X_ERR_CRYPTO;
    }
    se05x_status st = send(c, cmd, sizeof(cmd), rsp, sizeof(rsp), &rlen);
    if (st != SE05X_OK)
        return st;
    if (se05x_rapdu_split(rsp, rlen, &dlen, &sw) != SE05X_OK)
        return SE05X_ERR_RESPONSE;
    c->last_sw = sw;
    if (sw != SE05X_SW_OK) {
        se05x_conn_seterr(c, "SCP03: INITIALIZE UPDATE (key version 0x%02X) rejected: SW %04X (%s)",
                          kvn, sw, se05x_sw_str(sw));
        return SE05X_ERR_SCP;
    }
    st = se05x_scp03_host_iu_check_ex(&ch->ctx, ch->algs, sk, cmd + 5, rsp, dlen,
                                      (se05x_scp03_rule)rule);
    if (st == SE05X_ERR_RESPONSE)
        se05x_conn_seterr(c, "SCP03: INITIALIZE UPDATE answer malformed (%zu bytes, want 29 or 32 "
                          "with SCP id 03)", dlen);
    else if (st == SE05X_ERR_SCP)
        se05x_conn_seterr(c, "SCP03: card cryptogram mismatch: the card does not hold these "
                          "static keys (key version 0x%02X); check the key file", kvn);
    if (st == SE05X_ERR_RESPONSE)
        st = SE05X_ERR_SCP;
    return st;
}

static se05x_status external_authenticate(se05x_conn *c, se05x_scp03_chan *ch,
                                          se05x_scp03_send_fn send)
{
    uint8_t cmd[21];
    uint8_t rsp[SE05X_APDU_MAX];
    size_t rlen = 0, dlen = 0;
    uint16_t sw = 0;
    se05x_status st = se05x_scp03_ext_auth_build(&ch->ctx, cmd);
    if (st != SE05X_OK)
        return st;
    st = send(c, cmd, sizeof(cmd), rsp, sizeof(rsp), &rlen);
    if (st != SE05X_OK)
        return st;
    if (se05x_rapdu_split(rsp, rlen, &dlen, &sw) != SE05X_OK)
        return SE05X_ERR_RESPONSE;
    c->last_sw = sw;
    if (sw != SE05X_SW_OK) {
        se05x_conn_seterr(c, "SCP03: EXTERNAL AUTHENTICATE rejected: SW %04X (%s)", sw,
                          se05x_sw_str(sw));
        return SE05X_ERR_SCP;
    }
    se05x_scp03_ext_auth_done(&ch->ctx);
    return SE05X_OK;
}

se05x_status se05x_scp03_chan_open(se05x_conn *c, const se05x_scp03_keys *keys, uint8_t kvn,
                                   int rule, se05x_scp03_send_fn send, se05x_scp03_chan **out)
{
    if (!c || !keys || !send || !out)
        return SE05X_ERR_ARG;
    *out = NULL;
    se05x_scp03_chan *ch = se05x_scp03_chan_new(c);
    if (!ch)
        return SE05X_ERR_CRYPTO;
    se05x_scp03_static sk;
    memcpy(sk.enc, keys->enc, 16);
    memcpy(sk.mac, keys->mac, 16);
    se05x_status st = initialize_update(c, ch, &sk, kvn, rule, send);
    OPENSSL_cleanse(&sk, sizeof(sk));
    if (st == SE05X_OK)
        st = external_authenticate(c, ch, send);
    if (st != SE05X_OK) {
        se05x_scp03_chan_free(ch);
        return st;
    }
    *out = ch;
    return SE05X_OK;
}

se05x_status se05x_conn_scp03_open(se05x_conn *c, const se05x_scp03_keys *keys, uint8_t kvn)
{
    if (!c || !keys)
        return SE05X_ERR_ARG;
    if (!kvn)
        kvn = SE05X_SCP03_KVN_DEFAULT;
    se05x_conn_lock(c);
    /* a new handshake replaces the old channel; it runs in plain */
    se05x_scp03_chan_free(c->pscp);
    c->pscp = NULL;
    if (keys != &c->scp_keys) {
        memcpy(&c->scp_keys, keys, sizeof(*keys));
        c->have_scp_keys = true;
    }
    bool selected = c->version[0] != 0;
    se05x_scp03_rule rule = selected ? se05x_scp03_rule_for_version(c->version[0], c->version[1])
                                     : SE05X_SCP03_RULE_7X;
    se05x_scp03_chan *ch = NULL;
    se05x_status st = se05x_scp03_chan_open(c, keys, kvn, rule, se05x_conn_xfer, &ch);
    if (st == SE05X_OK)
        c->pscp = ch;
    se05x_conn_unlock(c);
    return st;
}

/* ---- key file -------------------------------------------------------- */

se05x_status se05x_scp03_keys_load(const char *path, se05x_scp03_keys *keys, char *err,
                                   size_t errlen)
{
    if (!keys)
        return SE05X_ERR_ARG;
    return se05x_scp03_keyfile_read(path, keys->enc, keys->mac, keys->dek, err, errlen);
}
