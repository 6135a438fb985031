/* Applet-level sessions (spec §2.8) on the host: CreateSession, UserID
 * sessions (VerifySessionUserID) and AESKey sessions (SCP03 handshake with
 * key version 0x00 inside the wrapper, one AES key as ENC = MAC = DEK),
 * the 80 05 wrapper for every command while a session is active
 * (se05x_session_xfer, called by se05x_conn_apdu), CloseSession, and
 * re-opening after fork. Wrapper and SCP03 formats are in core/scp03.c.
 * ECKey sessions live in session_eckey.c and use the se05x_session_begin /
 * _abandon / _forget helpers exported here. */
#include <openssl/crypto.h>
#include <string.h>

#include "conn_internal.h"
#include "se05x/scp03.h"
#include "se05x/tlv.h"

/* Forget the session locally (no command sent), wiping its secrets. */
static void session_clear(se05x_conn *c)
{
    se05x_scp03_chan_free(c->session.scp);
    OPENSSL_cleanse(&c->session, sizeof(c->session));
    c->session.kind = SE05X_SESSION_NONE;
    c->session.scp = NULL;
}

se05x_status se05x_session_xfer(se05x_conn *c, const uint8_t *inner, size_t len, uint8_t *rapdu,
                                size_t cap, size_t *rlen)
{
    uint8_t plain[SE05X_APDU_MAX], wrapped[SE05X_APDU_MAX], outer[SE05X_APDU_MAX];
    uint8_t rsp[SE05X_APDU_MAX];
    size_t plen = 0, wlen = 0, olen = 0, rl = 0;
    if (!c || !inner || !rapdu || !rlen)
        return SE05X_ERR_ARG;
    if (c->session.kind == SE05X_SESSION_NONE)
        return SE05X_ERR_STATE;
    se05x_status st = se05x_sesswrap_inner(inner, len, plain, sizeof(plain), &plen);
    if (st != SE05X_OK) {
        se05x_conn_seterr(c, "session: cannot encode the inner command (%s)", se05x_strerror(st));
        return st;
    }
    const uint8_t *in = plain;
    size_t ilen = plen;
    if (c->session.scp) {
        st = se05x_scp03_chan_wrap(c->session.scp, plain, plen, wrapped, sizeof(wrapped), &wlen);
        if (st != SE05X_OK) {
            se05x_conn_seterr(c, "session: SCP03 wrap failed (%s)", se05x_strerror(st));
            return st;
        }
        in = wrapped;
        ilen = wlen;
    }
    st = se05x_sesswrap_build(c->session.id, in, ilen, outer, sizeof(outer), &olen);
    if (st != SE05X_OK) {
        se05x_conn_seterr(c, "session: command too large for the 80 05 wrapper");
        return st;
    }
    st = se05x_conn_xfer(c, outer, olen, rsp, sizeof(rsp), &rl);
    if (st != SE05X_OK)
        return st;
    if (!c->session.scp) {
        if (rl > cap)
            return SE05X_ERR_BUFFER;
        memcpy(rapdu, rsp, rl);
        *rlen = rl;
        return SE05X_OK;
    }
    st = se05x_scp03_chan_unwrap(c->session.scp, rsp, rl, rapdu, cap, rlen);
    if (st == SE05X_ERR_SCP || st == SE05X_ERR_RESPONSE) {
        se05x_conn_seterr(c, "session 0x%08X: response MAC or padding invalid; session dropped",
                          c->session.auth_id);
        session_clear(c);
        return SE05X_ERR_SCP;
    }
    OPENSSL_cleanse(plain, sizeof(plain));
    return st;
}

/* Send a plain command outside any session; return its SW and data. */
static se05x_status plain_cmd(se05x_conn *c, const se05x_apdu *a, uint8_t *rsp, size_t cap,
                              size_t *dlen, uint16_t *sw)
{
    uint8_t cmd[SE05X_APDU_MAX];
    size_t clen = 0, rl = 0;
    se05x_status st = se05x_apdu_encode(a, cmd, sizeof(cmd), &clen);
    if (st == SE05X_OK)
        st = se05x_conn_xfer(c, cmd, clen, rsp, cap, &rl);
    if (st == SE05X_OK)
        st = se05x_rapdu_split(rsp, rl, dlen, sw);
    if (st == SE05X_OK)
        c->last_sw = *sw;
    return st;
}

/* CreateSession 80 04 00 1B, TAG_1 auth id -> TAG_1 8-byte session id. */
static se05x_status create_session(se05x_conn *c, uint32_t auth_id, uint8_t id[8])
{
    uint8_t data[6] = {SE05X_TAG_1, 4};
    uint8_t rsp[SE05X_APDU_MAX];
    size_t dlen = 0;
    uint16_t sw = 0;
    se05x_put_u32(data + 2, auth_id);
    se05x_apdu a = {.cla = 0x80, .ins = 0x04, .p1 = 0x00, .p2 = 0x1B, .data = data, .lc = 6};
    se05x_status st = plain_cmd(c, &a, rsp, sizeof(rsp), &dlen, &sw);
    if (st != SE05X_OK)
        return st;
    if (sw != SE05X_SW_OK) {
        se05x_conn_seterr(c, "CreateSession for auth object 0x%08X failed: SW %04X (%s)", auth_id,
                          sw, se05x_sw_str(sw));
        return SE05X_ERR_SW;
    }
    static const se05x_tlv_expect_t exp[] = {{SE05X_TAG_1, 0, 8, 8}};
    se05x_tlv_item it;
    st = se05x_tlv_expect(rsp, dlen, exp, 1, &it);
    if (st != SE05X_OK) {
        se05x_conn_seterr(c, "CreateSession: malformed answer (%s)", se05x_strerror(st));
        return SE05X_ERR_RESPONSE;
    }
    memcpy(id, it.val, 8);
    return SE05X_OK;
}

/* One command inside the session: SE05X_ERR_SW (with c->err) unless 9000. */
static se05x_status session_cmd(se05x_conn *c, const se05x_apdu *a, const char *what)
{
    uint8_t cmd[SE05X_APDU_MAX], rsp[SE05X_APDU_MAX];
    size_t clen = 0, rl = 0, dlen = 0;
    uint16_t sw = 0;
    se05x_status st = se05x_apdu_encode(a, cmd, sizeof(cmd), &clen);
    if (st == SE05X_OK)
        st = se05x_session_xfer(c, cmd, clen, rsp, sizeof(rsp), &rl);
    OPENSSL_cleanse(cmd, sizeof(cmd));
    if (st == SE05X_OK)
        st = se05x_rapdu_split(rsp, rl, &dlen, &sw);
    if (st != SE05X_OK)
        return st;
    c->last_sw = sw;
    if (sw != SE05X_SW_OK) {
        se05x_conn_seterr(c, "%s failed: SW %04X (%s)", what, sw, se05x_sw_str(sw));
        return SE05X_ERR_SW;
    }
    return SE05X_OK;
}

/* Best-effort CloseSession after a failed open, then forget the session. */
static void abandon(se05x_conn *c)
{
    if (c->session.kind != SE05X_SESSION_NONE) {
        char keep[sizeof(c->err)];
        uint16_t sw = c->last_sw;
        memcpy(keep, c->err, sizeof(keep));
        se05x_apdu a = {.cla = 0x80, .ins = 0x04, .p1 = 0x00, .p2 = 0x1C};
        (void)session_cmd(c, &a, "CloseSession");
        memcpy(c->err, keep, sizeof(keep));
        c->last_sw = sw;
    }
    session_clear(c);
}

static se05x_status begin(se05x_conn *c, int kind, uint32_t auth_id, const uint8_t *secret,
                          size_t len)
{
    if (c->session.kind != SE05X_SESSION_NONE) {
        se05x_conn_seterr(c, "a session (auth object 0x%08X) is already open; close it first",
                          c->session.auth_id);
        return SE05X_ERR_STATE;
    }
    uint8_t id[8];
    se05x_status st = create_session(c, auth_id, id);
    if (st != SE05X_OK)
        return st;
    session_clear(c);
    c->session.kind = kind;
    c->session.auth_id = auth_id;
    memcpy(c->session.id, id, 8);
    memcpy(c->session.secret, secret, len);
    c->session.secret_len = len;
    return SE05X_OK;
}

static se05x_status open_userid(se05x_conn *c, uint32_t auth_id, const uint8_t *userid,
                                size_t len)
{
    uint8_t data[2 + 16];
    se05x_status st = begin(c, SE05X_SESSION_USERID, auth_id, userid, len);
    if (st != SE05X_OK)
        return st;
    data[0] = SE05X_TAG_1;
    data[1] = (uint8_t)len;
    memcpy(data + 2, userid, len);
    se05x_apdu a = {.cla = 0x80, .ins = 0x04, .p1 = 0x00, .p2 = 0x2C, .data = data, .lc = 2 + len};
    st = session_cmd(c, &a, "VerifySessionUserID");
    OPENSSL_cleanse(data, sizeof(data));
    if (st != SE05X_OK)
        abandon(c);
    return st;
}

/* Carrier for the AESKey handshake: the wrapper without session SCP. */
static se05x_status handshake_send(se05x_conn *c, const uint8_t *capdu, size_t len,
                                   uint8_t *rapdu, size_t cap, size_t *rlen)
{
    return se05x_session_xfer(c, capdu, len, rapdu, cap, rlen);
}

static se05x_status open_aeskey(se05x_conn *c, uint32_t auth_id, const uint8_t key[16])
{
    se05x_status st = begin(c, SE05X_SESSION_AESKEY, auth_id, key, 16);
    if (st != SE05X_OK)
        return st;
    se05x_scp03_keys k;
    memcpy(k.enc, key, 16);
    memcpy(k.mac, key, 16);
    memcpy(k.dek, key, 16);
    se05x_scp03_chan *ch = NULL;
    st = se05x_scp03_chan_open(c, &k, 0x00, SE05X_SCP03_RULE_7X, handshake_send, &ch);
    OPENSSL_cleanse(&k, sizeof(k));
    if (st != SE05X_OK) {
        abandon(c);
        return st;
    }
    c->session.scp = ch;
    return SE05X_OK;
}

se05x_status se05x_session_open_userid(se05x_conn *c, uint32_t auth_id, const uint8_t *userid,
                                       size_t len)
{
    if (!c || !userid || len == 0 || len > sizeof(c->session.secret))
        return SE05X_ERR_ARG;
    se05x_conn_lock(c);
    se05x_status st = open_userid(c, auth_id, userid, len);
    se05x_conn_unlock(c);
    return st;
}

se05x_status se05x_session_open_aeskey(se05x_conn *c, uint32_t auth_id, const uint8_t key[16])
{
    if (!c || !key)
        return SE05X_ERR_ARG;
    se05x_conn_lock(c);
    se05x_status st = open_aeskey(c, auth_id, key);
    se05x_conn_unlock(c);
    return st;
}

se05x_status se05x_session_close(se05x_conn *c)
{
    if (!c)
        return SE05X_ERR_ARG;
    se05x_conn_lock(c);
    se05x_status st = SE05X_OK;
    if (c->session.kind != SE05X_SESSION_NONE) {
        se05x_apdu a = {.cla = 0x80, .ins = 0x04, .p1 = 0x00, .p2 = 0x1C};
        st = session_cmd(c, &a, "CloseSession");
        session_clear(c);
    }
    se05x_conn_unlock(c);
    return st;
}

se05x_status se05x_session_reopen(se05x_conn *c)
{
    if (!c)
        return SE05X_ERR_ARG;
    if (c->session.kind == SE05X_SESSION_NONE)
        return SE05X_OK;
    int kind = c->session.kind;
    if (kind == SE05X_SESSION_ECKEY)
        return se05x_session_eckey_reopen(c);
    uint32_t auth_id = c->session.auth_id;
    uint8_t secret[sizeof(c->session.secret)];
    size_t slen = c->session.secret_len;
    memcpy(secret, c->session.secret, sizeof(secret));
    session_clear(c); /* the card forgot it together with the old link */
    se05x_status st = kind == SE05X_SESSION_AESKEY ? open_aeskey(c, auth_id, secret)
                                                   : open_userid(c, auth_id, secret, slen);
    OPENSSL_cleanse(secret, sizeof(secret));
    return st;
}

se05x_status se05x_session_begin(se05x_conn *c, int kind, uint32_t auth_id,
                                 const uint8_t *secret, size_t len)
{
    if (len > sizeof(c->session.secret))
        return SE05X_ERR_ARG;
    return begin(c, kind, auth_id, secret, len);
}

void se05x_session_abandon(se05x_conn *c) { abandon(c); }

void se05x_session_forget(se05x_conn *c) { session_clear(c); }

bool se05x_session_active(const se05x_conn *c)
{
    return c && c->session.kind != SE05X_SESSION_NONE;
}
