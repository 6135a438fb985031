/* Host side of T=1 over I2C (spec §6.1), written against the small phy
 * interface of se05x/t1.h so that the Linux i2c-dev backend (t1_i2c.c) and
 * the simulator's virtual I2C (t1_socket.c) run the same code. It moves one
 * APDU per transceive: command I-blocks chained at IFSC bytes, the SE's
 * chained I-blocks acknowledged with R-blocks, WTX requests answered (echoing
 * the multiplier, extending the wait), lost or corrupt frames recovered by
 * R-blocks asking for a resend and by resending our last block when the SE
 * asks; after max_retries consecutive failures the link is re-synchronised
 * (RESYNC) and the call fails. reset = RESYNC + GET ATR; close sends END OF
 * APDU SESSION. Frames are read as the SE05x expects: NAD+PCB, then LEN,
 * then INF+CRC, polling (1 ms sleeps) while the SE NACKs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "se05x/apdu.h"
#include "se05x/t1.h"

#define T1_DEFAULT_RETRIES 3u
#define T1_MAX_WTX 10000u /* WTX requests tolerated per block exchange */
#define T1_MAX_RSP 65538u /* longest response chain followed before giving up */

typedef struct {
    se05x_transport base; /* first: the transport handed out */
    const se05x_t1_phy_ops *phy;
    void *ctx;
    unsigned bwt_ms, ifsc, max_retries;
    bool bwt_fixed;
    bool need_resync; /* a RESYNC failed: redo it before the next APDU */
    unsigned ns, nr;  /* our next N(S); the N(S) we expect from the SE */
    unsigned wtx_mult;/* BWT multiplier for the next wait (1 = none) */
    uint8_t last[SE05X_T1_FRAME_MAX]; /* last frame we sent, for resends */
    size_t last_len;
    se05x_t1_stats st;
} t1_engine;

/* Outcome of waiting for one frame. */
typedef enum { RX_OK, RX_BAD, RX_TIMEOUT, RX_IO } rx_rc;

static const se05x_transport_ops t1_ops;

static void seterr(t1_engine *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(t1_engine *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->base.err, sizeof t->base.err, fmt, ap);
    va_end(ap);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wait_deadline(t1_engine *t)
{
    return now_ms() + (uint64_t)t->bwt_ms * (t->wtx_mult ? t->wtx_mult : 1u);
}

/* ---- phy with NACK polling ----------------------------------------- */

static se05x_status phy_write(t1_engine *t, const uint8_t *buf, size_t n)
{
    uint64_t deadline = now_ms() + t->bwt_ms;
    char e[160] = "";
    for (;;) {
        se05x_t1_phy_rc rc = t->phy->write(t->ctx, buf, n, e, sizeof e);
        if (rc == SE05X_T1_PHY_OK) {
            t->st.frames_sent++;
            return SE05X_OK;
        }
        if (rc == SE05X_T1_PHY_ERROR) {
            seterr(t, "T=1 over %s: write failed: %s", t->phy->name, e);
            return SE05X_ERR_TRANSPORT;
        }
        if (now_ms() >= deadline) {
            seterr(t, "T=1 over %s: SE did not accept a write within %u ms (busy)",
                   t->phy->name, t->bwt_ms);
            return SE05X_ERR_TIMEOUT;
        }
        t->st.busy_polls++;
        t->phy->sleep_ms(t->ctx, 1);
    }
}

/* Read exactly n bytes, polling while NACKed until deadline. */
static rx_rc phy_read(t1_engine *t, uint8_t *buf, size_t n, uint64_t deadline)
{
    char e[160] = "";
    for (;;) {
        se05x_t1_phy_rc rc = t->phy->read(t->ctx, buf, n, e, sizeof e);
        if (rc == SE05X_T1_PHY_OK)
            return RX_OK;
        if (rc == SE05X_T1_PHY_ERROR) {
            seterr(t, "T=1 over %s: read failed: %s", t->phy->name, e);
            return RX_IO;
        }
        if (now_ms() >= deadline)
            return RX_TIMEOUT;
        t->st.busy_polls++;
        t->phy->sleep_ms(t->ctx, 1);
    }
}

/* ---- frames ---------------------------------------------------------- */

static se05x_status send_block(t1_engine *t, uint8_t pcb, const uint8_t *inf, size_t len)
{
    se05x_status st = se05x_t1_frame_encode(SE05X_T1_NAD_HOST, pcb, inf, len, t->last,
                                            sizeof t->last, &t->last_len);
    if (st != SE05X_OK) {
        seterr(t, "T=1: cannot encode a block of %zu bytes", len);
        return st;
    }
    return phy_write(t, t->last, t->last_len);
}

static se05x_status resend_last(t1_engine *t)
{
    t->st.resends++;
    return phy_write(t, t->last, t->last_len);
}

/* Receive one frame: NAD+PCB (also accepting the "00 A5" quirk), LEN, then
 * INF+CRC. *ferr tells why a frame was rejected (RX_BAD). */
static rx_rc recv_frame(t1_engine *t, se05x_t1_frame *f, se05x_t1_frame_err *ferr)
{
    uint8_t buf[SE05X_T1_FRAME_MAX];
    uint64_t deadline = wait_deadline(t);
    rx_rc rc = phy_read(t, buf, 2, deadline);
    if (rc != RX_OK) {
        if (rc == RX_TIMEOUT)
            t->st.timeouts++;
        return rc;
    }
    uint64_t more = now_ms() + t->bwt_ms; /* the rest of a started frame */
    if (buf[0] == 0x00 && buf[1] == SE05X_T1_NAD_SE) {
        buf[0] = SE05X_T1_NAD_SE;
        if ((rc = phy_read(t, buf + 1, 1, more)) != RX_OK)
            return rc;
    }
    if ((rc = phy_read(t, buf + 2, 1, more)) != RX_OK)
        return rc;
    t->st.frames_received++;
    if (buf[2] > SE05X_T1_IFS_MAX) {
        *ferr = SE05X_T1_FRAME_BAD_LEN;
        t->st.bad_frames++;
        return RX_BAD;
    }
    if ((rc = phy_read(t, buf + 3, (size_t)buf[2] + 2, more)) != RX_OK)
        return rc;
    *ferr = se05x_t1_frame_decode(buf, (size_t)buf[2] + 5, SE05X_T1_NAD_SE, f);
    if (*ferr != SE05X_T1_FRAME_OK) {
        t->st.bad_frames++;
        return RX_BAD;
    }
    t->wtx_mult = 1;
    return RX_OK;
}

/* Answer a WTX request: echo the multiplier, extend the next wait. */
static se05x_status answer_wtx(t1_engine *t, const se05x_t1_frame *f)
{
    t->st.wtx++;
    se05x_status st = send_block(t, SE05X_T1_S_WTX | SE05X_T1_S_RESPONSE, f->inf, f->len);
    t->wtx_mult = f->len == 1 && f->inf[0] ? f->inf[0] : 1u;
    return st;
}

static bool is_wtx_request(const se05x_t1_frame *f)
{
    return f->pcb == SE05X_T1_S_WTX && f->len == 1;
}

/* ---- S-block exchanges ------------------------------------------------ */

/* Send S-block request type and wait for its response (resending the
 * request on a bad frame or timeout, up to tries extra times). */
static se05x_status s_exchange(t1_engine *t, uint8_t type, const uint8_t *inf, size_t len,
                               se05x_t1_frame *rsp, unsigned tries)
{
    se05x_status st = send_block(t, type, inf, len);
    unsigned fails = 0, wtx = 0;
    const char *why = "no answer";
    rx_rc rc;
    se05x_t1_frame_err ferr = SE05X_T1_FRAME_OK;
    while (st == SE05X_OK) {
        rc = recv_frame(t, rsp, &ferr);
        if (rc == RX_IO)
            return SE05X_ERR_TRANSPORT;
        if (rc == RX_OK && rsp->pcb == (type | SE05X_T1_S_RESPONSE))
            return SE05X_OK;
        if (rc == RX_OK && is_wtx_request(rsp) && ++wtx < T1_MAX_WTX) {
            st = answer_wtx(t, rsp);
            continue;
        }
        why = rc == RX_TIMEOUT ? "no answer" : rc == RX_BAD ? se05x_t1_frame_errstr(ferr)
                                                           : "unexpected block";
        if (++fails > tries) {
            seterr(t, "T=1: S-block %02X not answered (%s after %u attempts, BWT %u ms)", type,
                   why, fails, t->bwt_ms);
            return rc == RX_TIMEOUT ? SE05X_ERR_TIMEOUT : SE05X_ERR_PROTOCOL;
        }
        st = resend_last(t);
    }
    return st;
}

static se05x_status do_resync(t1_engine *t, unsigned tries)
{
    se05x_t1_frame f;
    t->st.resyncs++;
    t->ns = t->nr = 0;
    t->wtx_mult = 1;
    se05x_status st = s_exchange(t, SE05X_T1_S_RESYNC, NULL, 0, &f, tries);
    t->need_resync = st != SE05X_OK;
    return st;
}

static se05x_status t1_reset(se05x_transport *tp, uint8_t *atr, size_t cap, size_t *atrlen)
{
    t1_engine *t = (t1_engine *)tp;
    se05x_t1_frame f;
    t->base.err[0] = '\0';
    se05x_status st = do_resync(t, t->max_retries);
    if (st == SE05X_OK)
        st = s_exchange(t, SE05X_T1_S_GET_ATR, NULL, 0, &f, t->max_retries);
    if (st != SE05X_OK)
        return st;
    se05x_t1_atr_info info;
    /* The ATR is informational: a layout we cannot read means defaults. */
    if (se05x_t1_atr_parse(f.inf, f.len, &info) != SE05X_OK)
        (void)se05x_t1_atr_parse(NULL, 0, &info);
    if (!t->bwt_fixed)
        t->bwt_ms = info.bwt_ms;
    t->ifsc = info.ifsc;
    if (atrlen)
        *atrlen = f.len;
    if (atr) {
        if (cap < f.len) {
            seterr(t, "T=1: ATR of %u bytes does not fit in %zu", f.len, cap);
            return SE05X_ERR_BUFFER;
        }
        memcpy(atr, f.inf, f.len);
    }
    return SE05X_OK;
}

/* ---- APDU exchange ---------------------------------------------------- */

typedef struct {
    const uint8_t *cmd;
    size_t len, off, chunk;
    bool sending; /* our current I-block is not yet acknowledged */
    uint8_t *rsp;
    size_t cap, rlen;
    unsigned fails, wtx;
    rx_rc last_fail;
    se05x_t1_frame_err last_ferr;
} xfer;

static se05x_status send_chunk(t1_engine *t, xfer *x)
{
    size_t left = x->len - x->off;
    x->chunk = left < t->ifsc ? left : t->ifsc;
    bool more = x->off + x->chunk < x->len;
    return send_block(t, se05x_t1_i_pcb(t->ns, more), x->cmd + x->off, x->chunk);
}

static bool chunk_more(const xfer *x) { return x->off + x->chunk < x->len; }

/* Failure bookkeeping: true while another attempt is allowed. */
static bool may_retry(t1_engine *t, xfer *x, rx_rc why, se05x_t1_frame_err ferr)
{
    x->last_fail = why;
    x->last_ferr = ferr;
    return ++x->fails <= t->max_retries;
}

static se05x_status give_up(t1_engine *t, xfer *x)
{
    const char *what = x->last_fail == RX_TIMEOUT ? "no answer within BWT"
                       : x->last_fail == RX_BAD   ? se05x_t1_frame_errstr(x->last_ferr)
                                                  : "unexpected block";
    char msg[160];
    snprintf(msg, sizeof msg, "T=1: APDU exchange failed after %u retries (%s, BWT %u ms)",
             t->max_retries, what, t->bwt_ms);
    se05x_status rs = do_resync(t, 0);
    seterr(t, "%s; %s", msg, rs == SE05X_OK ? "link re-synchronised" : "RESYNC failed too");
    return x->last_fail == RX_TIMEOUT ? SE05X_ERR_TIMEOUT : SE05X_ERR_PROTOCOL;
}

/* A bad, missing or unexpected frame: ask the SE to send its block again. */
static se05x_status ask_resend(t1_engine *t, xfer *x, rx_rc why, se05x_t1_frame_err ferr)
{
    if (!may_retry(t, x, why, ferr))
        return give_up(t, x);
    t->st.retransmit_requests++;
    unsigned err = why == RX_BAD && ferr == SE05X_T1_FRAME_BAD_CRC ? SE05X_T1_R_ERR_CRC
                                                                   : SE05X_T1_R_ERR_OTHER;
    return send_block(t, se05x_t1_r_pcb(t->nr, err), NULL, 0);
}

/* SE R-block: acknowledgement of a chained I-block, or a resend request. */
static se05x_status on_r_block(t1_engine *t, xfer *x, const se05x_t1_frame *f)
{
    unsigned nr = se05x_t1_r_nr(f->pcb);
    if (x->sending && chunk_more(x) && nr != t->ns) {
        t->ns ^= 1u;
        x->off += x->chunk;
        x->fails = 0;
        return send_chunk(t, x);
    }
    if (x->sending && nr != t->ns)
        return ask_resend(t, x, RX_OK, SE05X_T1_FRAME_OK); /* ack of a last block: invalid */
    if (!may_retry(t, x, RX_OK, SE05X_T1_FRAME_OK))
        return give_up(t, x);
    if (x->sending) { /* the SE wants our current I-block again */
        t->st.resends++;
        return send_chunk(t, x);
    }
    return resend_last(t); /* our last R-block (or S response) again */
}

/* SE I-block: (part of) the response. *done when the last one arrived. */
static se05x_status on_i_block(t1_engine *t, xfer *x, const se05x_t1_frame *f, bool *done)
{
    if (x->sending) {
        if (chunk_more(x))
            return ask_resend(t, x, RX_OK, SE05X_T1_FRAME_OK); /* we are still chaining */
        t->ns ^= 1u; /* the response acknowledges our last block */
        x->sending = false;
    }
    if (se05x_t1_i_ns(f->pcb) != t->nr) { /* a block we already have */
        if (!may_retry(t, x, RX_OK, SE05X_T1_FRAME_OK))
            return give_up(t, x);
        return send_block(t, se05x_t1_r_pcb(t->nr, 0), NULL, 0);
    }
    t->nr ^= 1u;
    x->fails = 0;
    if (x->rlen + f->len > T1_MAX_RSP) {
        (void)do_resync(t, 0);
        seterr(t, "T=1: response chain longer than %u bytes", T1_MAX_RSP);
        return SE05X_ERR_PROTOCOL;
    }
    if (x->rlen + f->len <= x->cap)
        memcpy(x->rsp + x->rlen, f->inf, f->len);
    x->rlen += f->len;
    if (f->pcb & SE05X_T1_I_M)
        return send_block(t, se05x_t1_r_pcb(t->nr, 0), NULL, 0);
    *done = true;
    return SE05X_OK;
}

static se05x_status on_s_block(t1_engine *t, xfer *x, const se05x_t1_frame *f)
{
    if (is_wtx_request(f) && ++x->wtx < T1_MAX_WTX)
        return answer_wtx(t, f);
    if (f->pcb == SE05X_T1_S_IFS && f->len == 1 && f->inf[0] >= 1 && f->inf[0] <= 254) {
        t->ifsc = f->inf[0];
        return send_block(t, SE05X_T1_S_IFS | SE05X_T1_S_RESPONSE, f->inf, 1);
    }
    if (f->pcb == SE05X_T1_S_ABORT) {
        (void)send_block(t, SE05X_T1_S_ABORT | SE05X_T1_S_RESPONSE, NULL, 0);
        t->ns = t->nr = 0;
        (void)do_resync(t, 0);
        seterr(t, "T=1: the SE aborted the APDU exchange");
        return SE05X_ERR_PROTOCOL;
    }
    return ask_resend(t, x, RX_OK, SE05X_T1_FRAME_OK);
}

static se05x_status t1_transceive(se05x_transport *tp, const uint8_t *cmd, size_t len,
                                  uint8_t *rsp, size_t cap, size_t *rlen)
{
    t1_engine *t = (t1_engine *)tp;
    t->base.err[0] = '\0';
    if (!cmd || len == 0 || len > SE05X_APDU_MAX || (!rsp && cap) || !rlen) {
        seterr(t, "T=1: invalid APDU buffer (%zu bytes, max %u)", len, SE05X_APDU_MAX);
        return SE05X_ERR_ARG;
    }
    xfer x = {.cmd = cmd, .len = len, .sending = true, .rsp = rsp, .cap = cap};
    t->wtx_mult = 1;
    se05x_status st = SE05X_OK;
    /* After a failed RESYNC the two sides may disagree on sequence numbers;
     * an old block could then pass for the answer to a new command. */
    if (t->need_resync && (st = do_resync(t, t->max_retries)) != SE05X_OK)
        return st;
    st = send_chunk(t, &x);
    bool done = false;
    while (st == SE05X_OK && !done) {
        se05x_t1_frame f;
        se05x_t1_frame_err ferr = SE05X_T1_FRAME_OK;
        rx_rc rc = recv_frame(t, &f, &ferr);
        if (rc == RX_IO)
            return SE05X_ERR_TRANSPORT;
        if (rc != RX_OK)
            st = ask_resend(t, &x, rc, ferr);
        else if (se05x_t1_is_s(f.pcb))
            st = on_s_block(t, &x, &f);
        else if (se05x_t1_is_r(f.pcb))
            st = on_r_block(t, &x, &f);
        else
            st = on_i_block(t, &x, &f, &done);
    }
    if (st != SE05X_OK)
        return st;
    *rlen = x.rlen;
    if (x.rlen > cap) {
        seterr(t, "T=1: response of %zu bytes does not fit in %zu", x.rlen, cap);
        return SE05X_ERR_BUFFER;
    }
    return SE05X_OK;
}

static void t1_close(se05x_transport *tp)
{
    t1_engine *t = (t1_engine *)tp;
    if (!t)
        return;
    se05x_t1_frame f;
    unsigned bwt = t->bwt_ms;
    t->bwt_ms = bwt < 200 ? bwt : 200; /* do not hang on a dead link */
    (void)s_exchange(t, SE05X_T1_S_END_SESSION, NULL, 0, &f, 0);
    t->phy->close(t->ctx);
    free(t);
}

static const se05x_transport_ops t1_ops = {
    .name = "t1",
    .transceive = t1_transceive,
    .reset = t1_reset,
    .close = t1_close,
};

se05x_status se05x_t1_open_phy(const se05x_t1_phy_ops *phy, void *ctx, const se05x_t1_opts *opts,
                               se05x_transport **out, char *err, size_t errlen)
{
    if (!phy || !out) {
        if (phy && phy->close)
            phy->close(ctx);
        if (err && errlen)
            snprintf(err, errlen, "T=1: missing phy or output");
        return SE05X_ERR_ARG;
    }
    *out = NULL;
    t1_engine *t = calloc(1, sizeof *t);
    if (!t) {
        phy->close(ctx);
        if (err && errlen)
            snprintf(err, errlen, "T=1: out of memory");
        return SE05X_ERR_NOMEM;
    }
    t->base.ops = &t1_ops;
    t->phy = phy;
    t->ctx = ctx;
    t->bwt_fixed = opts && opts->bwt_ms;
    t->bwt_ms = t->bwt_fixed ? opts->bwt_ms : 1000u;
    t->max_retries = opts && opts->max_retries ? opts->max_retries : T1_DEFAULT_RETRIES;
    t->ifsc = SE05X_T1_IFS_MAX;
    t->wtx_mult = 1;
    if (!(opts && opts->no_open_sequence)) {
        se05x_status st = t1_reset(&t->base, NULL, 0, NULL);
        if (st != SE05X_OK) {
            if (err && errlen)
                snprintf(err, errlen, "%s", t->base.err);
            t->phy->close(t->ctx);
            free(t);
            return st;
        }
    }
    *out = &t->base;
    return SE05X_OK;
}

static const t1_engine *as_t1(const se05x_transport *t)
{
    return t && t->ops == &t1_ops ? (const t1_engine *)t : NULL;
}

se05x_status se05x_t1_get_stats(const se05x_transport *t, se05x_t1_stats *st)
{
    const t1_engine *e = as_t1(t);
    if (!e || !st)
        return SE05X_ERR_ARG;
    *st = e->st;
    return SE05X_OK;
}

se05x_status se05x_t1_get_params(const se05x_transport *t, unsigned *bwt_ms, unsigned *ifsc)
{
    const t1_engine *e = as_t1(t);
    if (!e)
        return SE05X_ERR_ARG;
    if (bwt_ms)
        *bwt_ms = e->bwt_ms;
    if (ifsc)
        *ifsc = e->ifsc;
    return SE05X_OK;
}
