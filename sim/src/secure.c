/* Outer layer of the simulated applet (spec §2.8, §5): platform SCP03
 * (INITIALIZE UPDATE / EXTERNAL AUTHENTICATE with the card's static keys,
 * C-MAC/C-ENC unwrapping, R-MAC/R-ENC wrapping, opts.require_platform_scp),
 * the 80 05 session wrapper, applet sessions (UserID with attempt counting,
 * AESKey with an SCP03 channel keyed by the auth object, ECKey with the
 * INTERNAL AUTHENTICATE checks of secure_eckey.c), and the session
 * command table (CreateSession, VerifySessionUserID, CloseSession,
 * RefreshSession, ExchangeSessionData) and loading the platform keys
 * (sesim_scp03_load_keys). Inner commands go to sesim_dispatch(); a SELECT
 * ends channel and sessions. SCP03 cryptography is shared with the host
 * (se05x/scp03.h). A bad C-MAC answers 6982 and drops the channel/session.
 * Protocol choices: docs/secure-channels.md. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "se05x/scp03.h"
#include "sim_internal.h"

struct sesim_scp03_card {
    se05x_scp03_ctx ctx;
    se05x_scp03_algs *algs; /* CMAC/AES fetched once per channel (ctx.algs) */
};

#define SW_OK 0x9000u

/* ---- helpers --------------------------------------------------------- */

static size_t sw_only(uint8_t *rapdu, uint16_t sw)
{
    se05x_put_u16(rapdu, sw);
    return 2;
}

static void card_free(struct sesim_scp03_card *sc)
{
    if (!sc)
        return;
    se05x_scp03_ctx_wipe(&sc->ctx);
    se05x_scp03_algs_free(sc->algs);
    free(sc);
}

static void session_drop(sesim_session *ss)
{
    card_free(ss->scp);
    OPENSSL_cleanse(ss, sizeof(*ss));
    ss->scp = NULL;
}

static void platform_drop(sesim_chan *ch)
{
    card_free(ch->platform_scp);
    ch->platform_scp = NULL;
}

void sesim_secure_reset(sesim_chan *ch)
{
    if (!ch)
        return;
    platform_drop(ch);
    for (int i = 0; i < SESIM_MAX_SESSIONS; i++)
        session_drop(&ch->sessions[i]);
}

se05x_status sesim_scp03_load_keys(sesim *s)
{
    char err[512];
    if (!s->opts.scp03_keyfile) {
        memcpy(s->scp_enc, se05x_scp03_se050e_enc, 16);
        memcpy(s->scp_mac, se05x_scp03_se050e_mac, 16);
        memcpy(s->scp_dek, se05x_scp03_se050e_dek, 16);
        return SE05X_OK;
    }
    se05x_status st = se05x_scp03_keyfile_read(s->opts.scp03_keyfile, s->scp_enc, s->scp_mac,
                                               s->scp_dek, err, sizeof(err));
    if (st != SE05X_OK)
        sesim_log(s, "platform SCP03 keys: %s", err);
    return st;
}

static uint8_t platform_kvn(const sesim *s)
{
    return s->opts.scp03_kvn ? s->opts.scp03_kvn : SE05X_SCP03_KVN_DEFAULT;
}

/* Key diversification data of the INITIALIZE UPDATE answer: the last 10
 * bytes of the 18-byte card UID (they hold the per-die serial part). */
static const uint8_t *divdata(const sesim *s) { return s->uid + 8; }

static bool is_select(const uint8_t *cmd, size_t len)
{
    return len >= 4 && (cmd[0] & 0xF4) == 0x00 && cmd[1] == 0xA4;
}

/* sesim_dispatch, plus: a SELECT that succeeds or deselects the applet ends
 * the platform channel and all sessions of the channel (the dispatcher
 * leaves that to this layer). Callers re-check their channel afterwards. */
static size_t dispatch(sesim_chan *ch, const uint8_t *cmd, size_t len, uint32_t auth_id, bool sm,
                       uint8_t *rapdu, size_t cap)
{
    size_t n = sesim_dispatch(ch, cmd, len, auth_id, sm, rapdu, cap);
    if (is_select(cmd, len) && n >= 2 &&
        (se05x_get_u16(rapdu + n - 2) == SW_OK || !ch->selected))
        sesim_secure_reset(ch);
    return n;
}

/* Card side of INITIALIZE UPDATE: derive into a fresh channel and write the
 * 29-byte answer + 9000. *out receives the pending channel. */
static size_t init_update(sesim *s, const se05x_apdu *a, const se05x_scp03_static *keys,
                          uint8_t kvn, se05x_scp03_rule rule, struct sesim_scp03_card **out,
                          uint8_t *rapdu)
{
    uint8_t card_chal[8];
    *out = NULL;
    if (a->lc != 8)
        return sw_only(rapdu, SE05X_SW_WRONG_LENGTH);
    struct sesim_scp03_card *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return sw_only(rapdu, SE05X_SW_NO_MEMORY);
    if (RAND_bytes(card_chal, 8) != 1 || (sc->algs = se05x_scp03_algs_new(NULL, NULL)) == NULL ||
        se05x_scp03_derive_ex(&sc->ctx, sc->algs, keys, a->data, card_chal, rule) != SE05X_OK ||
        se05x_scp03_iu_answer(&sc->ctx, divdata(s), kvn, rapdu) != SE05X_OK) {
        card_free(sc);
        return sw_only(rapdu, SE05X_SW_NO_DIAGNOSIS);
    }
    *out = sc;
    se05x_put_u16(rapdu + SE05X_SCP03_IU_RSP_LEN, SW_OK);
    return SE05X_SCP03_IU_RSP_LEN + 2;
}

/* EXTERNAL AUTHENTICATE on a pending channel: SW only. */
static uint16_t ext_auth(struct sesim_scp03_card *sc, const uint8_t *capdu, size_t len)
{
    switch (se05x_scp03_ext_auth_check(&sc->ctx, capdu, len)) {
    case SE05X_OK: return SW_OK;
    case SE05X_ERR_UNSUPPORTED: return SE05X_SW_WRONG_P1P2;
    case SE05X_ERR_APDU: return SE05X_SW_WRONG_LENGTH;
    case SE05X_ERR_STATE: return SE05X_SW_CONDITIONS;
    default: return SE05X_SW_SECURITY_STATUS;
    }
}

/* Wrap (data || SW) in rsp into rapdu with channel sc. */
static size_t wrap_answer(struct sesim_scp03_card *sc, const uint8_t *rsp, size_t rlen,
                          uint8_t *rapdu, size_t cap)
{
    size_t olen = 0;
    uint16_t sw = se05x_get_u16(rsp + rlen - 2);
    if (se05x_scp03_wrap_rsp(&sc->ctx, rsp, rlen - 2, sw, rapdu, cap, &olen) != SE05X_OK)
        return sw_only(rapdu, SE05X_SW_NO_DIAGNOSIS);
    return olen;
}

/* ---- applet sessions ------------------------------------------------- */

static sesim_session *session_find(sesim_chan *ch, const uint8_t id[8])
{
    for (int i = 0; i < SESIM_MAX_SESSIONS; i++) {
        sesim_session *ss = &ch->sessions[i];
        if (ss->active && CRYPTO_memcmp(ss->id, id, 8) == 0)
            return ss;
    }
    return NULL;
}

static bool blocked(const sesim_obj *o)
{
    return o->max_attempts && o->failed_attempts >= o->max_attempts;
}

/* Record one failed or successful authentication against the auth object. */
static void count_attempt(sesim *s, sesim_obj *o, bool ok)
{
    uint16_t before = o->failed_attempts;
    if (ok)
        o->failed_attempts = 0;
    else if (o->failed_attempts < 0xFFFF)
        o->failed_attempts++;
    if (o->failed_attempts != before && sesim_store_save(s, o) != SE05X_OK)
        sesim_log(s, "could not record an authentication attempt on 0x%08X", o->id);
}

static uint16_t verify_userid(sesim *s, sesim_session *ss, const se05x_apdu *in)
{
    static const se05x_tlv_expect_t exp[] = {{SE05X_TAG_1, 0, 1, 0}};
    se05x_tlv_item it;
    sesim_obj o;
    if (se05x_tlv_expect(in->data, in->lc, exp, 1, &it) != SE05X_OK)
        return SE05X_SW_WRONG_DATA;
    sesim_obj_init(&o);
    if (sesim_store_load(s, ss->auth_id, &o) != SE05X_OK) {
        sesim_obj_free(&o);
        return SE05X_SW_CONDITIONS;
    }
    uint16_t sw = SE05X_SW_CONDITIONS;
    if (!blocked(&o)) {
        const sesim_comp *v = &o.comp[SESIM_C_VALUE];
        bool ok = v->v && v->len == it.len && CRYPTO_memcmp(v->v, it.val, it.len) == 0;
        count_attempt(s, &o, ok);
        ss->authenticated = ok;
        if (ok)
            sw = SW_OK;
    }
    sesim_obj_free(&o);
    return sw;
}

/* INITIALIZE UPDATE inside an AESKey session: key = the auth object's value. */
static size_t session_init_update(sesim *s, sesim_session *ss, const se05x_apdu *in,
                                  uint8_t *rapdu)
{
    sesim_obj o;
    se05x_scp03_static keys;
    if (in->p1 != 0x00 || in->p2 != 0x00)
        return sw_only(rapdu, SE05X_SW_REF_NOT_FOUND);
    sesim_obj_init(&o);
    se05x_status st = sesim_store_load(s, ss->auth_id, &o);
    const sesim_comp *v = &o.comp[SESIM_C_VALUE];
    if (st != SE05X_OK || blocked(&o) || !v->v || v->len != 16) {
        sesim_obj_free(&o);
        return sw_only(rapdu, SE05X_SW_CONDITIONS);
    }
    memcpy(keys.enc, v->v, 16);
    memcpy(keys.mac, v->v, 16);
    sesim_obj_free(&o);
    card_free(ss->scp);
    size_t n = init_update(s, in, &keys, 0x00, SE05X_SCP03_RULE_7X, &ss->scp, rapdu);
    OPENSSL_cleanse(&keys, sizeof(keys));
    return n;
}

static size_t session_ext_auth(sesim *s, sesim_session *ss, const uint8_t *inner, size_t ilen,
                               uint8_t *rapdu)
{
    if (!ss->scp)
        return sw_only(rapdu, SE05X_SW_CONDITIONS);
    uint16_t sw = ext_auth(ss->scp, inner, ilen);
    sesim_obj o;
    sesim_obj_init(&o);
    if (sesim_store_load(s, ss->auth_id, &o) == SE05X_OK)
        count_attempt(s, &o, sw == SW_OK);
    sesim_obj_free(&o);
    if (sw == SW_OK) {
        ss->authenticated = true;
    } else {
        card_free(ss->scp);
        ss->scp = NULL;
    }
    return sw_only(rapdu, sw);
}

/* Session-management commands that act on the current session (they are
 * recognised here because only this layer knows which session is meant).
 * Returns the SW, or 0 when the command is not one of them. *close is set
 * for CloseSession (the caller drops the session after answering). */
static uint16_t session_mgmt(sesim *s, sesim_session *ss, const se05x_apdu *in, bool *close)
{
    *close = false;
    if (in->cla != 0x80 || in->ins != 0x04 || in->p1 != 0x00)
        return 0;
    switch (in->p2) {
    case 0x1C: /* CloseSession */
        *close = true;
        return SW_OK;
    case 0x2C: /* VerifySessionUserID */
        if (ss->kind != SESIM_SESSION_USERID)
            return SE05X_SW_CONDITIONS;
        return verify_userid(s, ss, in);
    case 0x1E: /* RefreshSession: policy accepted, not enforced */
    case 0x1F: /* ExchangeSessionData */
        return ss->authenticated ? SW_OK : SE05X_SW_SECURITY_STATUS;
    default:
        return 0;
    }
}

/* An inner command of an authenticated session (SCP already removed). */
static size_t session_inner(sesim_chan *ch, sesim_session *ss, const uint8_t *cmd, size_t len,
                            bool sm, uint8_t *rapdu, size_t cap, bool *close)
{
    se05x_apdu in;
    *close = false;
    if (se05x_apdu_decode(cmd, len, &in) != SE05X_OK)
        return sw_only(rapdu, SE05X_SW_WRONG_LENGTH);
    uint16_t sw = session_mgmt(ch->sim, ss, &in, close);
    if (sw)
        return sw_only(rapdu, sw);
    if (!ss->authenticated)
        return sw_only(rapdu, SE05X_SW_SECURITY_STATUS);
    return dispatch(ch, cmd, len, ss->auth_id, sm, rapdu, cap);
}

/* INTERNAL AUTHENTICATE in an ECKey session (checks in secure_eckey.c);
 * attempts are counted like EXTERNAL AUTHENTICATE's. */
static size_t session_internal_auth(sesim *s, sesim_session *ss, const se05x_apdu *in,
                                    uint8_t *rapdu, size_t cap)
{
    struct sesim_scp03_card *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return sw_only(rapdu, SE05X_SW_NO_MEMORY);
    int verdict = 0;
    size_t n = sesim_eckey_internal_auth(s, ss->auth_id, in, &sc->ctx, &verdict, rapdu, cap);
    if (verdict != 0) {
        sesim_obj o;
        sesim_obj_init(&o);
        if (sesim_store_load(s, ss->auth_id, &o) == SE05X_OK)
            count_attempt(s, &o, verdict > 0);
        sesim_obj_free(&o);
    }
    if (verdict > 0) {
        card_free(ss->scp);
        ss->scp = sc;
        ss->authenticated = true;
    } else {
        card_free(sc);
    }
    return n;
}

/* AESKey and ECKey sessions: handshake, then SCP03-wrapped inner commands. */
static size_t keyed_session(sesim_chan *ch, sesim_session *ss, const uint8_t *inner,
                            size_t ilen, uint8_t *rapdu, size_t cap)
{
    se05x_apdu in;
    bool close = false;
    if (se05x_apdu_decode(inner, ilen, &in) != SE05X_OK)
        return sw_only(rapdu, SE05X_SW_WRONG_LENGTH);
    if (!ss->authenticated) {
        bool aes = ss->kind == SESIM_SESSION_AESKEY;
        if (aes && in.cla == 0x80 && in.ins == 0x50)
            return session_init_update(ch->sim, ss, &in, rapdu);
        if (aes && in.cla == 0x84 && in.ins == 0x82)
            return session_ext_auth(ch->sim, ss, inner, ilen, rapdu);
        if (!aes && in.cla == 0x84 && in.ins == 0x88)
            return session_internal_auth(ch->sim, ss, &in, rapdu, cap);
        size_t n = session_inner(ch, ss, inner, ilen, false, rapdu, cap, &close);
        if (close)
            session_drop(ss);
        return n;
    }
    uint8_t plain[SE05X_APDU_MAX], rsp[SE05X_APDU_MAX];
    size_t plen = 0;
    if (!(in.cla & 0x04) ||
        se05x_scp03_unwrap_cmd(&ss->scp->ctx, inner, ilen, plain, sizeof(plain), &plen) != SE05X_OK) {
        session_drop(ss); /* bad or missing C-MAC: the session is gone */
        return sw_only(rapdu, SE05X_SW_SECURITY_STATUS);
    }
    size_t rl = session_inner(ch, ss, plain, plen, true, rsp, sizeof(rsp), &close);
    OPENSSL_cleanse(plain, sizeof(plain));
    if (!ss->active || !ss->scp) { /* the command ended the session (inner SELECT) */
        memcpy(rapdu, rsp + rl - 2, 2);
        return 2;
    }
    size_t n = wrap_answer(ss->scp, rsp, rl, rapdu, cap);
    OPENSSL_cleanse(rsp, sizeof(rsp));
    if (close)
        session_drop(ss);
    return n;
}

/* ProcessSessionCmd 80 05 00 00: 10 08 <session id> 41 L <inner APDU>. */
static size_t session_wrapper(sesim_chan *ch, const se05x_apdu *a, bool sm, uint8_t *rapdu,
                              size_t cap)
{
    uint8_t id[8];
    const uint8_t *inner = NULL;
    size_t ilen = 0;
    bool close = false;
    if (a->p1 != 0x00 || a->p2 != 0x00)
        return sw_only(rapdu, SE05X_SW_WRONG_P1P2);
    if (se05x_sesswrap_parse(a->data, a->lc, id, &inner, &ilen) != SE05X_OK)
        return sw_only(rapdu, SE05X_SW_WRONG_DATA);
    sesim_session *ss = session_find(ch, id);
    if (!ss)
        return sw_only(rapdu, SE05X_SW_SECURITY_STATUS);
    if (ss->kind == SESIM_SESSION_AESKEY || ss->kind == SESIM_SESSION_ECKEY)
        return keyed_session(ch, ss, inner, ilen, rapdu, cap);
    size_t n = session_inner(ch, ss, inner, ilen, sm, rapdu, cap, &close);
    if (close)
        session_drop(ss);
    return n;
}

/* A command after platform-SCP unwrapping: session wrapper or applet. */
static size_t applet_cmd(sesim_chan *ch, const uint8_t *cmd, size_t len, bool sm, uint8_t *rapdu,
                         size_t cap)
{
    se05x_apdu a;
    if (se05x_apdu_decode(cmd, len, &a) == SE05X_OK && a.cla == 0x80 && a.ins == 0x05)
        return session_wrapper(ch, &a, sm, rapdu, cap);
    return dispatch(ch, cmd, len, 0, sm, rapdu, cap);
}

/* ---- platform SCP03 -------------------------------------------------- */

static size_t platform_init_update(sesim_chan *ch, const se05x_apdu *a, uint8_t *rapdu)
{
    sesim *s = ch->sim;
    uint8_t kvn = platform_kvn(s);
    platform_drop(ch); /* a new handshake ends the old channel */
    if (a->p1 != kvn && a->p1 != 0x00)
        return sw_only(rapdu, SE05X_SW_REF_NOT_FOUND);
    if (a->p2 != 0x00)
        return sw_only(rapdu, SE05X_SW_WRONG_P1P2);
    if (sesim_scp03_load_keys(s) != SE05X_OK)
        return sw_only(rapdu, SE05X_SW_REF_NOT_FOUND);
    se05x_scp03_static keys;
    memcpy(keys.enc, s->scp_enc, 16);
    memcpy(keys.mac, s->scp_mac, 16);
    int major = s->opts.applet_major ? s->opts.applet_major : 7;
    se05x_scp03_rule rule = se05x_scp03_rule_for_version((uint8_t)major, 0);
    size_t n = init_update(s, a, &keys, kvn, rule, &ch->platform_scp, rapdu);
    OPENSSL_cleanse(&keys, sizeof(keys));
    return n;
}

static size_t platform_ext_auth(sesim_chan *ch, const uint8_t *capdu, size_t len, uint8_t *rapdu)
{
    if (!ch->platform_scp || ch->platform_scp->ctx.open)
        return sw_only(rapdu, SE05X_SW_CONDITIONS);
    uint16_t sw = ext_auth(ch->platform_scp, capdu, len);
    if (sw != SW_OK)
        platform_drop(ch);
    return sw_only(rapdu, sw);
}

static size_t platform_wrapped(sesim_chan *ch, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                               size_t cap)
{
    uint8_t plain[SE05X_APDU_MAX], rsp[SE05X_APDU_MAX];
    size_t plen = 0;
    if (se05x_scp03_unwrap_cmd(&ch->platform_scp->ctx, capdu, len, plain, sizeof(plain), &plen) !=
        SE05X_OK) {
        sesim_log(ch->sim, "platform SCP03: bad C-MAC or padding, channel closed");
        platform_drop(ch);
        return sw_only(rapdu, SE05X_SW_SECURITY_STATUS);
    }
    size_t rl = applet_cmd(ch, plain, plen, true, rsp, sizeof(rsp));
    OPENSSL_cleanse(plain, sizeof(plain));
    size_t n;
    if (ch->platform_scp) {
        n = wrap_answer(ch->platform_scp, rsp, rl, rapdu, cap);
    } else { /* the command ended the channel (SELECT inside it): bare SW */
        memcpy(rapdu, rsp + rl - 2, 2);
        n = 2;
    }
    OPENSSL_cleanse(rsp, sizeof(rsp));
    return n;
}

static bool platform_open(const sesim_chan *ch)
{
    return ch->platform_scp && ch->platform_scp->ctx.open;
}

size_t sesim_secure_process(sesim_chan *ch, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                            size_t cap)
{
    se05x_apdu a;
    if (se05x_apdu_decode(capdu, len, &a) != SE05X_OK)
        return sesim_dispatch(ch, capdu, len, 0, false, rapdu, cap);
    if (is_select(capdu, len)) /* SELECT is always plain */
        return dispatch(ch, capdu, len, 0, false, rapdu, cap);
    if (ch->selected && a.cla == 0x80 && a.ins == 0x50)
        return platform_init_update(ch, &a, rapdu);
    if (ch->selected && a.cla == 0x84 && a.ins == 0x82)
        return platform_ext_auth(ch, capdu, len, rapdu);
    if (platform_open(ch)) {
        if (!(a.cla & 0x04))
            return sw_only(rapdu, SE05X_SW_SECURITY_STATUS);
        return platform_wrapped(ch, capdu, len, rapdu, cap);
    }
    if (ch->selected && ((a.cla & 0x04) || ch->sim->opts.require_platform_scp))
        return sw_only(rapdu, SE05X_SW_SECURITY_STATUS);
    return applet_cmd(ch, capdu, len, false, rapdu, cap);
}

/* ---- session command table ------------------------------------------ */

static uint8_t session_kind(const sesim_obj *o)
{
    if (!o->auth)
        return 0;
    switch (o->type) {
    case SESIM_T_USERID: return SESIM_SESSION_USERID;
    case SESIM_T_AES: return SESIM_SESSION_AESKEY;
    case SESIM_T_EC_PUB:
    case SESIM_T_EC_PAIR: return SESIM_SESSION_ECKEY;
    default: return 0;
    }
}

/* CreateSession 80 04 00 1B: TAG_1 auth object id -> TAG_1 session id. */
static uint16_t h_create_session(sesim_req *r)
{
    uint32_t auth_id = 0;
    sesim_obj o;
    if (se05x_tlv_get_u32(&r->tlv->t[SE05X_TAG_1], &auth_id) != SE05X_OK)
        return SE05X_SW_WRONG_DATA;
    sesim_obj_init(&o);
    se05x_status st = sesim_store_load(r->sim, auth_id, &o);
    uint8_t kind = st == SE05X_OK ? session_kind(&o) : 0;
    sesim_obj_free(&o);
    if (!kind)
        return SE05X_SW_CONDITIONS;
    sesim_session *ss = NULL;
    for (int i = 0; i < SESIM_MAX_SESSIONS && !ss; i++)
        if (!r->ch->sessions[i].active)
            ss = &r->ch->sessions[i];
    if (!ss)
        return SE05X_SW_NO_MEMORY;
    uint8_t id[8];
    if (RAND_bytes(id, 4) != 1)
        return SE05X_SW_NO_DIAGNOSIS;
    se05x_put_u32(id + 4, ++r->sim->serial);
    session_drop(ss);
    memcpy(ss->id, id, 8);
    ss->auth_id = auth_id;
    ss->kind = kind;
    ss->active = true;
    se05x_tlvw_bytes(r->out, SE05X_TAG_1, id, 8);
    return SW_OK;
}

/* Session management outside the 80 05 wrapper: no session is meant. */
static uint16_t h_outside_session(sesim_req *r)
{
    (void)r;
    return SE05X_SW_SECURITY_STATUS;
}

static const uint8_t tags_tag1[] = {SE05X_TAG_1, 0};
static const uint8_t tags_policy[] = {SE05X_TAG_POLICY, 0};

const sesim_cmd sesim_cmds_session[] = {
    {0x04, 0xFF, 0x00, 0xFF, 0x1B, tags_tag1, h_create_session, "CreateSession"},
    {0x04, 0xFF, 0x00, 0xFF, 0x2C, tags_tag1, h_outside_session, "VerifySessionUserID"},
    {0x04, 0xFF, 0x00, 0xFF, 0x1C, NULL, h_outside_session, "CloseSession"},
    {0x04, 0xFF, 0x00, 0xFF, 0x1E, tags_policy, h_outside_session, "RefreshSession"},
    {0x04, 0xFF, 0x00, 0xFF, 0x1F, tags_tag1, h_outside_session, "ExchangeSessionData"},
    {0, 0, 0, 0, 0, NULL, NULL, NULL},
};
