/* Internals of se05x_conn shared by conn.c (link, tracing, counters, fork
 * safety), session.c (applet sessions, 80 05 wrapper) and scp03_host.c
 * (platform and session SCP03 channels). */
#ifndef SE05X_CONN_INTERNAL_H
#define SE05X_CONN_INTERNAL_H

#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>

#include "se05x/conn.h"
#include "se05x/scp03.h"
#include "se05x/transport.h"

/* A host-side SCP03 channel (platform or applet-session level), in
 * scp03_host.c. wrap: plain command APDU bytes -> C-MAC/C-ENC APDU bytes.
 * unwrap: response (data||SW) -> plain data||SW; SE05X_ERR_SCP on a bad
 * R-MAC (the caller then drops the channel). */
typedef struct se05x_scp03_chan se05x_scp03_chan;
se05x_status se05x_scp03_chan_wrap(se05x_scp03_chan *s, const uint8_t *capdu, size_t len,
                                   uint8_t *out, size_t cap, size_t *olen);
se05x_status se05x_scp03_chan_unwrap(se05x_scp03_chan *s, const uint8_t *rapdu, size_t len,
                                     uint8_t *out, size_t cap, size_t *olen);
void se05x_scp03_chan_free(se05x_scp03_chan *s);
/* One plain command APDU out, data||SW back (the layer the handshake runs
 * over: se05x_conn_xfer for platform SCP, the session wrapper for AESKey). */
typedef se05x_status (*se05x_scp03_send_fn)(se05x_conn *c, const uint8_t *capdu, size_t len,
                                           uint8_t *rapdu, size_t cap, size_t *rlen);
/* scp03_host.c: INITIALIZE UPDATE (P1 kvn, random host challenge), card
 * cryptogram check, EXTERNAL AUTHENTICATE (level 0x33) over send; on
 * success *out is an open channel. SE05X_ERR_SCP with c->err on failure.
 * rule: SE05X_SCP03_RULE_* (se05x/scp03.h). */
se05x_status se05x_scp03_chan_open(se05x_conn *c, const se05x_scp03_keys *keys, uint8_t kvn,
                                   int rule, se05x_scp03_send_fn send, se05x_scp03_chan **out);
/* scp03_host.c: an empty channel with the algorithms of the connection's
 * library context (c->opts.libctx), for channels keyed by their opener
 * (ECKey sessions: se05x_eckey_channel_ex on se05x_scp03_chan_ctx with
 * se05x_scp03_chan_algs). NULL with c->err set when out of memory or the
 * algorithms are missing in the library context. */
se05x_scp03_chan *se05x_scp03_chan_new(se05x_conn *c);
se05x_scp03_ctx *se05x_scp03_chan_ctx(se05x_scp03_chan *s);
se05x_scp03_algs *se05x_scp03_chan_algs(se05x_scp03_chan *s);

enum { SE05X_SESSION_NONE = 0, SE05X_SESSION_USERID, SE05X_SESSION_AESKEY, SE05X_SESSION_ECKEY };

struct se05x_conn {
    se05x_transport *t;
    pthread_mutex_t mu; /* recursive */
    pid_t pid;          /* process that opened the link (fork detection) */
    char *connstr;
    se05x_conn_opts opts;
    char *keyfile;      /* owned copy of opts.scp03_keyfile */
    bool have_scp_keys;
    se05x_scp03_keys scp_keys;
    se05x_scp03_chan *pscp; /* platform SCP03, NULL if plain */
    struct se05x_conn_session {
        int kind;           /* SE05X_SESSION_* */
        uint32_t auth_id;
        uint8_t id[8];
        se05x_scp03_chan *scp; /* AESKey sessions */
        uint8_t secret[16];    /* UserID value or AES key, to re-open after fork */
        size_t secret_len;
        /* ECKey sessions: the host key as P-256 scalar || 04||X||Y, to
         * re-open after fork (eckey_len 0 if the key was not exportable) */
        uint8_t eckey[32 + 65];
        size_t eckey_len;
    } session;
    uint8_t version[7];
    se05x_counters ctr;
    uint16_t last_sw;
    bool link_broken;   /* the last exchange failed on the link: reconnect before the next */
    /* re-establishing the connection's state after a reconnect or fork was
     * refused (not a link failure): every command fails with this message
     * until the connection is re-opened (never silently outside the
     * session, never re-trying a refused secret) */
    char refused[200]; /* empty: not refused */
    char err[256];
    FILE *trace;
    bool trace_owned;
};

/* printf-style error detail into c->err. */
void se05x_conn_seterr(se05x_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Send bytes through the platform SCP layer (if any) and the transport,
 * with tracing and counters. No session wrapping. */
se05x_status se05x_conn_xfer(se05x_conn *c, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                             size_t cap, size_t *rlen);

/* Before an exchange (lock held): re-open the link after fork(), and
 * reconnect a link that failed on the previous exchange (transport reset,
 * then SELECT, platform SCP03 and the applet session again). */
se05x_status se05x_conn_check_fork(se05x_conn *c);

/* session.c: exchange one plain command APDU inside the active applet
 * session: SCP-wrap it with the session channel (AESKey), put it in the
 * 80 05 wrapper, send it with se05x_conn_xfer, unwrap the answer into
 * rapdu (data || SW). Used by se05x_conn_apdu when a session is active. */
se05x_status se05x_session_xfer(se05x_conn *c, const uint8_t *inner, size_t len, uint8_t *rapdu,
                                size_t cap, size_t *rlen);
/* session.c: re-open the applet session after a fork/reconnect. */
se05x_status se05x_session_reopen(se05x_conn *c);
/* session.c, for the session kinds in other files (session_eckey.c):
 * begin = refuse if a session is open, CreateSession(auth_id), record the
 * session (kind, id; secret of len bytes, len <= 16); abandon = best-effort
 * CloseSession and forget; forget = wipe the local state only. */
se05x_status se05x_session_begin(se05x_conn *c, int kind, uint32_t auth_id,
                                 const uint8_t *secret, size_t len);
void se05x_session_abandon(se05x_conn *c);
void se05x_session_forget(se05x_conn *c);
/* session_eckey.c: re-open an ECKey session with the stored host key
 * (the caller holds the lock; the old session state is replaced). */
se05x_status se05x_session_eckey_reopen(se05x_conn *c);

#endif
