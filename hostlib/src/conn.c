/* se05x_conn: a transport plus applet selection, platform SCP03 and applet
 * session layers, APDU tracing (env SE05X_APDU_TRACE), per-connection
 * counters, a recursive lock per connection and fork detection (a child
 * re-opens the link, re-selects and re-establishes its secure channel and
 * session before its first APDU). See se05x/conn.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "conn_internal.h"

static const uint8_t IOT_APPLET_AID[16] = {0xA0, 0x00, 0x00, 0x03, 0x96, 0x54, 0x53, 0x00,
                                           0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00};

void se05x_conn_seterr(se05x_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
}

/* ---- tracing ------------------------------------------------------- */

static void trace_open(se05x_conn *c)
{
    const char *e = getenv("SE05X_APDU_TRACE");
    if (!e || !*e || strcmp(e, "0") == 0)
        return;
    if (strcmp(e, "1") == 0 || strcmp(e, "stderr") == 0) {
        c->trace = stderr;
        return;
    }
    c->trace = fopen(e, "a");
    if (!c->trace) {
        fprintf(stderr, "se05x: cannot open APDU trace file %s; tracing to stderr\n", e);
        c->trace = stderr;
        return;
    }
    c->trace_owned = true;
}

static void trace(se05x_conn *c, const char *dir, const uint8_t *b, size_t n)
{
    if (!c->trace)
        return;
    fprintf(c->trace, "se05x %s", dir);
    for (size_t i = 0; i < n; i++)
        fprintf(c->trace, " %02X", b[i]);
    fputc('\n', c->trace);
    fflush(c->trace);
}

/* ---- lifecycle ----------------------------------------------------- */

static se05x_status conn_new(se05x_transport *t, const char *connstr, const se05x_conn_opts *opts,
                             se05x_conn **out)
{
    se05x_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return SE05X_ERR_NOMEM;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&c->mu, &a);
    pthread_mutexattr_destroy(&a);
    c->t = t;
    c->pid = getpid();
    if (opts)
        c->opts = *opts;
    c->opts.scp03_keyfile = NULL;
    if (connstr && !(c->connstr = strdup(connstr)))
        goto nomem;
    if (opts && opts->scp03_keyfile && !(c->keyfile = strdup(opts->scp03_keyfile)))
        goto nomem;
    c->opts.scp03_keyfile = c->keyfile;
    trace_open(c);
    *out = c;
    return SE05X_OK;
nomem:
    free(c->connstr);
    free(c);
    return SE05X_ERR_NOMEM;
}

static void drop_channels(se05x_conn *c)
{
    if (c->pscp) {
        se05x_scp03_chan_free(c->pscp);
        c->pscp = NULL;
    }
    if (c->session.scp) {
        se05x_scp03_chan_free(c->session.scp);
        c->session.scp = NULL;
    }
}

static void forget_session(se05x_conn *c)
{
    drop_channels(c);
    OPENSSL_cleanse(&c->session, sizeof(c->session));
    c->session.kind = SE05X_SESSION_NONE;
}

/* Bring a freshly opened link to the state the connection had: select the
 * applet, platform SCP03, applet session. */
static se05x_status conn_setup(se05x_conn *c, bool reopen_session)
{
    se05x_status st = SE05X_OK;
    if (!c->opts.no_select) {
        st = se05x_conn_select(c, NULL);
        if (st != SE05X_OK)
            return st;
    }
    if (c->have_scp_keys) {
        st = se05x_conn_scp03_open(c, &c->scp_keys, c->opts.scp03_kvn);
        if (st != SE05X_OK)
            return st;
    }
    if (reopen_session && c->session.kind != SE05X_SESSION_NONE)
        st = se05x_session_reopen(c);
    return st;
}

/* First open: load the SCP03 key file (if any), then conn_setup. */
static se05x_status conn_first_setup(se05x_conn *c)
{
    se05x_status st = SE05X_OK;
    if (c->keyfile) {
        st = se05x_scp03_keys_load(c->keyfile, &c->scp_keys, c->err, sizeof(c->err));
        c->have_scp_keys = st == SE05X_OK;
    }
    return st == SE05X_OK ? conn_setup(c, false) : st;
}

se05x_status se05x_conn_open_transport(se05x_transport *t, const se05x_conn_opts *opts,
                                       se05x_conn **out)
{
    se05x_conn *c;
    if (!t || !out) {
        se05x_transport_close(t);
        return SE05X_ERR_ARG;
    }
    se05x_status st = conn_new(t, NULL, opts, &c);
    if (st != SE05X_OK) {
        se05x_transport_close(t);
        return st;
    }
    st = conn_first_setup(c);
    if (st != SE05X_OK) {
        se05x_conn_close(c);
        return st;
    }
    *out = c;
    return SE05X_OK;
}

se05x_status se05x_conn_open_err(const char *connstr, const se05x_conn_opts *opts,
                                 se05x_conn **out, char *err, size_t errlen)
{
    se05x_transport *t;
    se05x_conn *c;
    if (err && errlen)
        err[0] = 0;
    if (!out)
        return SE05X_ERR_ARG;
    if (!connstr)
        connstr = se05x_connstr_default();
    se05x_status st = se05x_transport_open(connstr, &t, err, errlen);
    if (st != SE05X_OK)
        return st;
    st = conn_new(t, connstr, opts, &c);
    if (st != SE05X_OK) {
        se05x_transport_close(t);
        return st;
    }
    st = conn_first_setup(c);
    if (st != SE05X_OK) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", connstr, c->err[0] ? c->err : se05x_strerror(st));
        se05x_conn_close(c);
        return st;
    }
    *out = c;
    return SE05X_OK;
}

se05x_status se05x_conn_open(const char *connstr, const se05x_conn_opts *opts, se05x_conn **out)
{
    return se05x_conn_open_err(connstr, opts, out, NULL, 0);
}

void se05x_conn_close(se05x_conn *c)
{
    if (!c)
        return;
    if (c->t) {
        if (c->pid == getpid())
            se05x_transport_close(c->t);
        else if (c->t->ops->abandon)
            c->t->ops->abandon(c->t);
    }
    forget_session(c);
    OPENSSL_cleanse(&c->scp_keys, sizeof(c->scp_keys));
    if (c->trace_owned)
        fclose(c->trace);
    pthread_mutex_destroy(&c->mu);
    free(c->connstr);
    free(c->keyfile);
    free(c);
}

/* conn_setup on a re-opened link (reconnect or fork), keeping the applet
 * session's parameters if re-opening it fails: after a link failure the
 * next command retries the whole relink with them; after a refusal (wrong
 * secret, auth object changed, applet gone) the connection is marked
 * unusable instead: commands never run silently outside the session, and
 * a refused secret is not tried again (each try counts against the auth
 * object's limit on the SE). */
static se05x_status conn_resetup(se05x_conn *c)
{
    struct se05x_conn_session saved = c->session;
    saved.scp = NULL; /* dropped with the old link (drop_channels) */
    se05x_status st = conn_setup(c, true);
    if (st != SE05X_OK) {
        if (saved.kind != SE05X_SESSION_NONE && c->session.kind == SE05X_SESSION_NONE)
            c->session = saved; /* not open: only what is needed to open it again */
        if (!c->link_broken) {
            snprintf(c->refused, sizeof(c->refused), "%.190s",
                     c->err[0] ? c->err : se05x_strerror(st));
            se05x_conn_seterr(c, "the SE refused to re-establish this connection after a "
                                 "reconnect (%s); open a new connection",
                              c->refused);
            st = SE05X_ERR_STATE; /* not the SE's answer to the caller's command */
        }
    }
    OPENSSL_cleanse(&saved, sizeof(saved));
    return st;
}

/* The previous exchange failed on the link (peer gone, timeout, framing):
 * reset the transport (JRCP reconnects, T=1 resynchronises) and bring the
 * connection back to its state. The failed command itself is not retried. */
static se05x_status conn_relink(se05x_conn *c)
{
    uint8_t atr[64];
    size_t atrlen = 0;
    if (!c->t || !c->t->ops->reset) {
        se05x_conn_seterr(c, "the link to the SE failed and cannot be re-established");
        return SE05X_ERR_STATE;
    }
    c->t->err[0] = 0;
    se05x_status st = c->t->ops->reset(c->t, atr, sizeof(atr), &atrlen);
    if (st != SE05X_OK) {
        se05x_conn_seterr(c, "the link to the SE failed earlier and reconnecting failed: %s",
                          c->t->err[0] ? c->t->err : se05x_strerror(st));
        return st;
    }
    drop_channels(c); /* the card side of any secure channel is gone */
    c->link_broken = false;
    return conn_resetup(c);
}

se05x_status se05x_conn_check_fork(se05x_conn *c)
{
    if (c->refused[0]) {
        se05x_conn_seterr(c, "the SE refused to re-establish this connection after a "
                             "reconnect (%s); open a new connection",
                          c->refused);
        return SE05X_ERR_STATE;
    }
    if (c->pid == getpid())
        return c->link_broken ? conn_relink(c) : SE05X_OK;
    if (!c->connstr) {
        se05x_conn_seterr(c, "connection built on a caller's transport cannot be re-opened after fork()");
        return SE05X_ERR_STATE;
    }
    if (c->t && c->t->ops->abandon)
        c->t->ops->abandon(c->t);
    c->t = NULL;
    drop_channels(c);
    c->pid = getpid();
    se05x_status st = se05x_transport_open(c->connstr, &c->t, c->err, sizeof(c->err));
    if (st != SE05X_OK) {
        c->t = NULL;
        return st;
    }
    return conn_resetup(c);
}

/* ---- exchanges ----------------------------------------------------- */

static se05x_status link_xfer(se05x_conn *c, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                              size_t cap, size_t *rlen)
{
    if (!c->t) {
        se05x_conn_seterr(c, "connection is closed");
        return SE05X_ERR_STATE;
    }
    trace(c, ">>", capdu, len);
    c->t->err[0] = 0;
    se05x_status st = c->t->ops->transceive(c->t, capdu, len, rapdu, cap, rlen);
    c->ctr.apdus++;
    c->ctr.bytes_tx += len;
    if (st != SE05X_OK) {
        se05x_conn_seterr(c, "%s link: %s", c->t->ops->name,
                          c->t->err[0] ? c->t->err : se05x_strerror(st));
        if (st == SE05X_ERR_TRANSPORT || st == SE05X_ERR_TIMEOUT || st == SE05X_ERR_PROTOCOL ||
            st == SE05X_ERR_STATE)
            c->link_broken = true;
        return st;
    }
    c->ctr.bytes_rx += *rlen;
    trace(c, "<<", rapdu, *rlen);
    if (*rlen < 2) {
        se05x_conn_seterr(c, "response shorter than a status word");
        return SE05X_ERR_RESPONSE;
    }
    return SE05X_OK;
}

se05x_status se05x_conn_xfer(se05x_conn *c, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                             size_t cap, size_t *rlen)
{
    if (!c->pscp)
        return link_xfer(c, capdu, len, rapdu, cap, rlen);
    uint8_t w[SE05X_APDU_MAX], r[SE05X_APDU_MAX];
    size_t wlen, rl;
    se05x_status st = se05x_scp03_chan_wrap(c->pscp, capdu, len, w, sizeof(w), &wlen);
    if (st != SE05X_OK) {
        se05x_conn_seterr(c, "platform SCP03: cannot wrap command: %s", se05x_strerror(st));
        return st;
    }
    st = link_xfer(c, w, wlen, r, sizeof(r), &rl);
    if (st != SE05X_OK)
        return st;
    st = se05x_scp03_chan_unwrap(c->pscp, r, rl, rapdu, cap, rlen);
    if (st != SE05X_OK) {
        se05x_conn_seterr(c, "platform SCP03: response rejected (%s); secure channel closed",
                          se05x_strerror(st));
        se05x_scp03_chan_free(c->pscp);
        c->pscp = NULL;
    }
    return st;
}

se05x_status se05x_conn_apdu(se05x_conn *c, const se05x_apdu *a, uint8_t *rsp, size_t cap,
                             size_t *rlen, uint16_t *sw)
{
    uint8_t cmd[SE05X_APDU_MAX], r[SE05X_APDU_MAX];
    size_t clen = sizeof(cmd), rl = sizeof(r), dlen; /* wiped lengths unless known */
    if (!c || !a || (!rsp && cap))
        return SE05X_ERR_ARG;
    se05x_conn_lock(c);
    c->err[0] = 0;
    se05x_status st = se05x_conn_check_fork(c);
    if (st == SE05X_OK) {
        st = se05x_apdu_encode(a, cmd, sizeof(cmd), &clen);
        if (st != SE05X_OK) {
            se05x_conn_seterr(c, "cannot encode command APDU: %s", se05x_strerror(st));
            clen = sizeof(cmd);
        }
    }
    if (st == SE05X_OK) {
        if (c->session.kind != SE05X_SESSION_NONE)
            st = se05x_session_xfer(c, cmd, clen, r, sizeof(r), &rl);
        else
            st = se05x_conn_xfer(c, cmd, clen, r, sizeof(r), &rl);
        if (st != SE05X_OK || rl > sizeof(r))
            rl = sizeof(r); /* a failed link may have left anything in r */
    }
    if (st == SE05X_OK) {
        uint16_t s;
        st = se05x_rapdu_split(r, rl, &dlen, &s);
        if (st == SE05X_OK) {
            c->last_sw = s;
            if (sw)
                *sw = s;
            if (dlen > cap) {
                se05x_conn_seterr(c, "response of %zu bytes exceeds the %zu-byte buffer", dlen, cap);
                st = SE05X_ERR_BUFFER;
            } else {
                if (dlen)
                    memcpy(rsp, r, dlen);
                if (rlen)
                    *rlen = dlen;
            }
        }
    }
    /* only the bytes used: wiping 2 x 4 KiB cost more than the APDU itself */
    OPENSSL_cleanse(cmd, clen);
    OPENSSL_cleanse(r, rl);
    se05x_conn_unlock(c);
    return st;
}

se05x_status se05x_conn_apdu_ok(se05x_conn *c, const se05x_apdu *a, uint8_t *rsp, size_t cap,
                                size_t *rlen)
{
    uint16_t sw = 0;
    se05x_status st = se05x_conn_apdu(c, a, rsp, cap, rlen, &sw);
    if (st != SE05X_OK)
        return st;
    if (sw != SE05X_SW_OK) {
        se05x_conn_seterr(c, "SE answered %04X (%s)", sw, se05x_sw_str(sw));
        return SE05X_ERR_SW;
    }
    return SE05X_OK;
}

se05x_status se05x_conn_raw(se05x_conn *c, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                            size_t cap, size_t *rlen)
{
    if (!c || !capdu || !rapdu || !rlen)
        return SE05X_ERR_ARG;
    se05x_conn_lock(c);
    c->err[0] = 0;
    se05x_status st = se05x_conn_check_fork(c);
    if (st == SE05X_OK)
        st = link_xfer(c, capdu, len, rapdu, cap, rlen);
    if (st == SE05X_OK)
        c->last_sw = (uint16_t)((rapdu[*rlen - 2] << 8) | rapdu[*rlen - 1]);
    se05x_conn_unlock(c);
    return st;
}

/* An ISO SELECT (CLA without secure messaging, INS A4): GlobalPlatform
 * sends it in plain and a successful one ends the secure channel and the
 * applet sessions on the card. */
static bool forward_is_select(const uint8_t *capdu, size_t len)
{
    return len >= 4 && (capdu[0] & 0xF4) == 0x00 && capdu[1] == 0xA4;
}

/* One forwarded command into r: a SELECT goes plain and, when it succeeded
 * and the connection had platform SCP03 or an applet session, the
 * connection re-establishes them (as after a reconnect) so that the next
 * forwarded commands stay inside platform SCP03; anything else goes
 * through se05x_conn_xfer (platform SCP03 if open). */
static se05x_status forward_xfer(se05x_conn *c, const uint8_t *capdu, size_t len, uint8_t *r,
                                 size_t cap, size_t *rl)
{
    if (!forward_is_select(capdu, len))
        return se05x_conn_xfer(c, capdu, len, r, cap, rl);
    se05x_status st = link_xfer(c, capdu, len, r, cap, rl);
    if (st != SE05X_OK || *rl < 2 || r[*rl - 2] != 0x90 || r[*rl - 1] != 0x00)
        return st;
    if (!c->have_scp_keys && c->session.kind == SE05X_SESSION_NONE)
        return SE05X_OK;
    drop_channels(c); /* the card ended them */
    return conn_resetup(c);
}

se05x_status se05x_conn_forward(se05x_conn *c, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                                size_t cap, size_t *rlen)
{
    if (!c || !capdu || !rapdu || !rlen)
        return SE05X_ERR_ARG;
    uint8_t r[SE05X_APDU_MAX];
    size_t rl = sizeof(r);
    se05x_conn_lock(c);
    c->err[0] = 0;
    se05x_status st = se05x_conn_check_fork(c);
    /* platform SCP03 (if open) and the link, never the applet session; the
     * answer lands in r first so that a short rapdu does not cost the channel
     * (a SELECT's answer stays in r while the channel is re-opened) */
    if (st == SE05X_OK)
        st = forward_xfer(c, capdu, len, r, sizeof(r), &rl);
    if (st != SE05X_OK || rl > sizeof(r))
        rl = sizeof(r);
    else if (rl < 2) {
        se05x_conn_seterr(c, "response shorter than a status word");
        st = SE05X_ERR_RESPONSE;
    } else {
        c->last_sw = (uint16_t)((r[rl - 2] << 8) | r[rl - 1]);
        if (rl > cap) {
            se05x_conn_seterr(c, "response of %zu bytes exceeds the %zu-byte buffer", rl, cap);
            st = SE05X_ERR_BUFFER;
        } else {
            memcpy(rapdu, r, rl);
            *rlen = rl;
        }
    }
    OPENSSL_cleanse(r, rl);
    se05x_conn_unlock(c);
    return st;
}

se05x_status se05x_conn_select(se05x_conn *c, uint8_t version[7])
{
    uint8_t cmd[32], r[64];
    size_t clen, rl;
    se05x_apdu a = {.cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x00, .data = IOT_APPLET_AID,
                    .lc = sizeof(IOT_APPLET_AID), .ne = SE05X_NE_SHORT};
    se05x_conn_lock(c);
    /* SELECT ends any secure channel and applet session. */
    if (c->pscp || c->session.kind != SE05X_SESSION_NONE) {
        int kind = c->session.kind;
        drop_channels(c);
        if (kind == SE05X_SESSION_NONE)
            memset(&c->session, 0, sizeof(c->session));
    }
    se05x_status st = se05x_apdu_encode(&a, cmd, sizeof(cmd), &clen);
    if (st == SE05X_OK)
        st = link_xfer(c, cmd, clen, r, sizeof(r), &rl);
    if (st == SE05X_OK) {
        uint16_t sw = (uint16_t)((r[rl - 2] << 8) | r[rl - 1]);
        size_t dlen = rl - 2;
        c->last_sw = sw;
        if (sw == SE05X_SW_FILE_NOT_FOUND) {
            se05x_conn_seterr(c, "SE05x IoT applet not found (SELECT answered 6A82)");
            st = SE05X_ERR_SW;
        } else if (sw != SE05X_SW_OK) {
            se05x_conn_seterr(c, "SELECT of the IoT applet answered %04X (%s)", sw, se05x_sw_str(sw));
            st = SE05X_ERR_SW;
        } else if (dlen != 7 && dlen != 5 && dlen != 4) {
            se05x_conn_seterr(c, "SELECT answer has %zu bytes, expected 7", dlen);
            st = SE05X_ERR_RESPONSE;
        } else {
            memset(c->version, 0, sizeof(c->version));
            memcpy(c->version, r, dlen);
            if (version)
                memcpy(version, c->version, 7);
        }
    }
    se05x_conn_unlock(c);
    return st;
}

const uint8_t *se05x_conn_applet_version(const se05x_conn *c) { return c->version; }

void se05x_conn_lock(se05x_conn *c) { pthread_mutex_lock(&c->mu); }
void se05x_conn_unlock(se05x_conn *c) { pthread_mutex_unlock(&c->mu); }
uint16_t se05x_conn_last_sw(const se05x_conn *c) { return c->last_sw; }
const char *se05x_conn_errmsg(const se05x_conn *c) { return c->err; }

void se05x_conn_counters(const se05x_conn *c, se05x_counters *out) { *out = c->ctr; }
void se05x_conn_counters_reset(se05x_conn *c) { memset(&c->ctr, 0, sizeof(c->ctr)); }
