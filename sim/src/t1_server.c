/* The simulator's SE side of T=1 over I2C (spec §6.1) on a virtual I2C bus:
 * a Unix stream socket where each accepted client is one I2C master talking
 * to its own SE (its own logical channel of the card behind sesim_card_if).
 * Transactions are request records (docs/virtual-i2c.md): a master write
 * delivers one frame, a master read takes bytes of the frame the SE has
 * ready or is NACKed (busy / nothing to send). The SE never sends
 * unsolicited data. Implemented here: strict frame checks (R-block with the
 * CRC or "other" error bit for bad frames), reassembly of chained command
 * I-blocks (each acked with an R-block), the response chained at IFSD,
 * retransmission of the last block on request, the S-blocks RESYNC, IFS,
 * ABORT, WTX (response), END OF APDU SESSION, CHIP RESET, GET ATR and
 * INTERFACE SOFT RESET, and fault injection (sesim_t1_faults): corrupt CRC or
 * drop every Nth frame sent, WTX request before every Nth response, NACK
 * every Nth read. Fault counters are per connection. Starting on a path
 * where a live server already listens gives SE05X_ERR_LOCKED; a stale
 * socket file is replaced. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "se05x/apdu.h"
#include "se05x/sockio.h"
#include "se05x/t1.h"
#include "sesim/servers.h"

#define T1S_MAX_BAD 64u /* consecutive bad frames before the connection is closed */
#define T1S_WTX_MULT 2u /* multiplier carried by injected WTX requests */

typedef struct t1_client t1_client;

struct sesim_t1_server {
    sesim_card_if card;
    sesim_t1_faults faults;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int lfd;
    int wake[2];
    pthread_t thr;
    pthread_mutex_t mu;
    t1_client *clients;
};

struct t1_client {
    t1_client *next;
    sesim_t1_server *srv;
    int fd;
    pthread_t thr;
    bool done; /* under srv->mu */
};

/* SE-side protocol state of one connection. */
typedef struct {
    const sesim_card_if *card;
    const sesim_t1_faults *faults;
    void *chan;
    unsigned nr;   /* N(S) expected in the host's next I-block */
    unsigned ns;   /* N(S) of our next I-block */
    unsigned ifsd; /* largest INF the host accepts */
    uint8_t cmd[SE05X_APDU_MAX];
    size_t cmd_len;
    bool cmd_overflow;
    uint8_t rsp[SE05X_APDU_MAX];
    size_t rsp_len, rsp_off, rsp_chunk;
    bool rsp_active;  /* response being sent in chained I-blocks */
    bool wtx_pending; /* WTX request sent, response held until its answer */
    uint8_t last[SE05X_T1_FRAME_MAX]; /* last frame sent (as meant, uncorrupted) */
    size_t last_len;
    uint8_t out[SE05X_T1_FRAME_MAX]; /* what the master can read now */
    size_t out_len, out_pos;
    unsigned long sent, reads, responses;
    unsigned bad_in_row;
} t1_se;

/* ---- sending -------------------------------------------------------- */

/* Make buf the frame the master reads next, applying the fault plan. */
static void emit(t1_se *se, const uint8_t *buf, size_t len)
{
    se->sent++;
    se->out_len = se->out_pos = 0;
    if (se->faults->drop_every && se->sent % se->faults->drop_every == 0)
        return;
    memcpy(se->out, buf, len);
    se->out_len = len;
    if (se->faults->crc_every && se->sent % se->faults->crc_every == 0)
        se->out[len - 1] ^= 0x5Au;
}

static void send_block(t1_se *se, uint8_t pcb, const uint8_t *inf, size_t len)
{
    if (se05x_t1_frame_encode(SE05X_T1_NAD_SE, pcb, inf, len, se->last, sizeof se->last,
                              &se->last_len) != SE05X_OK)
        se->last_len = 0;
    else
        emit(se, se->last, se->last_len);
}

static void send_r_error(t1_se *se, unsigned err)
{
    send_block(se, se05x_t1_r_pcb(se->nr, err), NULL, 0);
}

static void resend_last(t1_se *se)
{
    if (se->last_len)
        emit(se, se->last, se->last_len);
    else
        send_r_error(se, SE05X_T1_R_ERR_OTHER);
}

static void send_chunk(t1_se *se)
{
    size_t left = se->rsp_len - se->rsp_off;
    se->rsp_chunk = left < se->ifsd ? left : se->ifsd;
    bool more = se->rsp_off + se->rsp_chunk < se->rsp_len;
    send_block(se, se05x_t1_i_pcb(se->ns, more), se->rsp + se->rsp_off, se->rsp_chunk);
    se->ns ^= 1u;
    se->rsp_active = more;
}

static void proto_reset(t1_se *se)
{
    se->nr = se->ns = 0;
    se->cmd_len = 0;
    se->cmd_overflow = false;
    se->rsp_active = se->wtx_pending = false;
}

static void send_atr(t1_se *se, uint8_t pcb)
{
    uint8_t atr[SE05X_T1_IFS_MAX];
    size_t n = se->card->atr ? se->card->atr(se->card->ctx, atr, sizeof atr) : 0;
    send_block(se, pcb, atr, n > sizeof atr ? sizeof atr : n);
}

/* ---- receiving -------------------------------------------------------- */

static void apdu_complete(t1_se *se)
{
    static const uint8_t wrong_len[2] = {0x67, 0x00};
    size_t n = 0;
    if (se->cmd_overflow || se->cmd_len == 0) {
        memcpy(se->rsp, wrong_len, 2);
        n = 2;
    } else {
        n = se->card->process(se->chan, se->cmd, se->cmd_len, se->rsp, sizeof se->rsp);
        if (n < 2 || n > sizeof se->rsp) {
            memcpy(se->rsp, (const uint8_t[]){0x6F, 0x00}, 2);
            n = 2;
        }
    }
    se->cmd_len = 0;
    se->cmd_overflow = false;
    se->rsp_len = n;
    se->rsp_off = 0;
    se->responses++;
    if (se->faults->wtx_every && se->responses % se->faults->wtx_every == 0) {
        uint8_t mult = T1S_WTX_MULT;
        se->wtx_pending = true;
        send_block(se, SE05X_T1_S_WTX, &mult, 1);
        return;
    }
    send_chunk(se);
}

static void on_i_block(t1_se *se, const se05x_t1_frame *f)
{
    if (se->rsp_active || se->wtx_pending) {
        send_r_error(se, SE05X_T1_R_ERR_OTHER); /* host must ack our chain first */
        return;
    }
    if (se05x_t1_i_ns(f->pcb) != se->nr) { /* repeated block: answer it again */
        resend_last(se);
        return;
    }
    se->nr ^= 1u;
    if (se->cmd_len + f->len > sizeof se->cmd)
        se->cmd_overflow = true;
    else {
        memcpy(se->cmd + se->cmd_len, f->inf, f->len);
        se->cmd_len += f->len;
    }
    if (f->pcb & SE05X_T1_I_M)
        send_block(se, se05x_t1_r_pcb(se->nr, 0), NULL, 0);
    else
        apdu_complete(se);
}

static void on_r_block(t1_se *se, const se05x_t1_frame *f)
{
    unsigned last_ns = se->ns ^ 1u; /* N(S) of the I-block we sent last */
    if (se->rsp_active && !se->wtx_pending && se05x_t1_r_nr(f->pcb) != last_ns) {
        se->rsp_off += se->rsp_chunk;
        send_chunk(se);
        return;
    }
    resend_last(se);
}

static void on_s_block(t1_se *se, const se05x_t1_frame *f)
{
    uint8_t rsp = (uint8_t)(f->pcb | SE05X_T1_S_RESPONSE);
    switch (f->pcb) {
    case SE05X_T1_S_RESYNC:
    case SE05X_T1_S_END_SESSION:
        proto_reset(se);
        send_block(se, rsp, NULL, 0);
        return;
    case SE05X_T1_S_IFS:
        if (f->len == 1 && f->inf[0] >= 1 && f->inf[0] <= SE05X_T1_IFS_MAX) {
            se->ifsd = f->inf[0];
            send_block(se, rsp, f->inf, 1);
            return;
        }
        break;
    case SE05X_T1_S_ABORT:
        se->cmd_len = 0;
        se->cmd_overflow = se->rsp_active = se->wtx_pending = false;
        send_block(se, rsp, NULL, 0);
        return;
    case SE05X_T1_S_CHIP_RESET:
    case SE05X_T1_S_SOFT_RESET:
        if (se->card->chan_reset && se->chan)
            se->card->chan_reset(se->chan);
        proto_reset(se);
        send_atr(se, rsp);
        return;
    case SE05X_T1_S_GET_ATR:
        send_atr(se, rsp);
        return;
    case SE05X_T1_S_WTX | SE05X_T1_S_RESPONSE:
        if (se->wtx_pending) {
            se->wtx_pending = false;
            send_chunk(se);
            return;
        }
        break;
    default:
        break;
    }
    send_r_error(se, SE05X_T1_R_ERR_OTHER);
}

/* One master write = one frame. Returns false to drop the connection. */
static bool on_write(t1_se *se, const uint8_t *buf, size_t len)
{
    se05x_t1_frame f;
    se->out_len = se->out_pos = 0; /* a new frame from the host replaces unread output */
    se05x_t1_frame_err e = se05x_t1_frame_decode(buf, len, SE05X_T1_NAD_HOST, &f);
    if (e != SE05X_T1_FRAME_OK) {
        send_r_error(se, e == SE05X_T1_FRAME_BAD_CRC ? SE05X_T1_R_ERR_CRC : SE05X_T1_R_ERR_OTHER);
        return ++se->bad_in_row < T1S_MAX_BAD;
    }
    se->bad_in_row = 0;
    if (se05x_t1_is_i(f.pcb))
        on_i_block(se, &f);
    else if (se05x_t1_is_r(f.pcb))
        on_r_block(se, &f);
    else
        on_s_block(se, &f);
    return true;
}

/* A master read: ACK with n bytes of the ready frame (0xFF past its end), or
 * NACK when busy or when nothing is ready. Returns the reply length. */
static size_t on_read(t1_se *se, size_t n, uint8_t *reply)
{
    se->reads++;
    bool busy = se->faults->busy_every && se->reads % se->faults->busy_every == 0;
    if (busy || se->out_pos >= se->out_len) {
        reply[0] = SE05X_VI2C_NACK;
        return 1;
    }
    reply[0] = SE05X_VI2C_ACK;
    for (size_t i = 0; i < n; i++)
        reply[1 + i] = se->out_pos + i < se->out_len ? se->out[se->out_pos + i] : SE05X_VI2C_IDLE;
    se->out_pos += n;
    if (se->out_pos >= se->out_len)
        se->out_len = se->out_pos = 0;
    return n + 1;
}

/* ---- socket plumbing ---------------------------------------------------- */

/* Blocking whole-buffer I/O on a client socket (se05x/sockio.h). */
static bool recv_all(int fd, uint8_t *p, size_t n)
{
    return se05x_sock_recv_all(fd, p, n, SE05X_SOCK_FOREVER) == SE05X_OK;
}

static bool send_all(int fd, const uint8_t *p, size_t n)
{
    return se05x_sock_send_all(fd, p, n, SE05X_SOCK_FOREVER) == SE05X_OK;
}

/* Serve one transaction; false when the connection ends or misbehaves. */
static bool serve_one(int fd, t1_se *se, uint8_t *buf)
{
    uint8_t hdr[3];
    if (!recv_all(fd, hdr, 3))
        return false;
    size_t n = ((size_t)hdr[1] << 8) | hdr[2];
    if (n == 0 || n > SE05X_VI2C_MAX_XFER)
        return false;
    if (hdr[0] == SE05X_VI2C_OP_WRITE) {
        if (!recv_all(fd, buf, n))
            return false;
        bool keep = on_write(se, buf, n);
        uint8_t ack = SE05X_VI2C_ACK;
        return send_all(fd, &ack, 1) && keep;
    }
    if (hdr[0] == SE05X_VI2C_OP_READ)
        return send_all(fd, buf, on_read(se, n, buf));
    return false; /* unknown operation */
}

static void *client_main(void *arg)
{
    t1_client *c = arg;
    sesim_t1_server *srv = c->srv;
    t1_se *se = calloc(1, sizeof *se);
    uint8_t *buf = malloc(SE05X_VI2C_MAX_XFER + 1);
    if (se && buf) {
        se->card = &srv->card;
        se->faults = &srv->faults;
        se->ifsd = SE05X_T1_IFS_MAX;
        se->chan = srv->card.chan_open ? srv->card.chan_open(srv->card.ctx) : NULL;
        if (se->chan) {
            while (serve_one(c->fd, se, buf))
                ;
            if (srv->card.chan_close)
                srv->card.chan_close(se->chan);
        }
    }
    free(buf);
    free(se);
    shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_lock(&srv->mu);
    c->done = true;
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

/* Join and free finished clients (all of them when all is set). */
static void reap_clients(sesim_t1_server *srv, bool all)
{
    pthread_mutex_lock(&srv->mu);
    t1_client **pp = &srv->clients;
    while (*pp) {
        t1_client *c = *pp;
        if (all)
            shutdown(c->fd, SHUT_RDWR);
        if (!all && !c->done) {
            pp = &c->next;
            continue;
        }
        *pp = c->next;
        pthread_mutex_unlock(&srv->mu);
        pthread_join(c->thr, NULL);
        close(c->fd);
        free(c);
        pthread_mutex_lock(&srv->mu);
    }
    pthread_mutex_unlock(&srv->mu);
}

static void accept_one(sesim_t1_server *srv)
{
    int fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    t1_client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    pthread_mutex_lock(&srv->mu);
    if (pthread_create(&c->thr, NULL, client_main, c) != 0) {
        pthread_mutex_unlock(&srv->mu);
        close(fd);
        free(c);
        return;
    }
    c->next = srv->clients;
    srv->clients = c;
    pthread_mutex_unlock(&srv->mu);
}

static void *accept_main(void *arg)
{
    sesim_t1_server *srv = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = srv->lfd, .events = POLLIN}, {.fd = srv->wake[0], .events = POLLIN}};
        int r = poll(p, 2, 500);
        if (r < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (r > 0 && (p[0].revents & POLLIN))
            accept_one(srv);
        reap_clients(srv, false);
    }
    return NULL;
}

static se05x_status listen_on(sesim_t1_server *srv, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return SE05X_ERR_ARG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    memcpy(srv->path, path, strlen(path) + 1);
    srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (srv->lfd < 0)
        return SE05X_ERR_TRANSPORT;
    struct stat stt;
    if (lstat(path, &stt) == 0 && S_ISSOCK(stt.st_mode)) {
        if (connect(srv->lfd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            close(srv->lfd); /* a live server owns the path */
            srv->lfd = -1;
            return SE05X_ERR_LOCKED;
        }
        unlink(path); /* stale socket of an earlier run */
    }
    if (bind(srv->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(srv->lfd, 16) != 0) {
        close(srv->lfd);
        srv->lfd = -1;
        return SE05X_ERR_TRANSPORT;
    }
    return SE05X_OK;
}

se05x_status sesim_t1_server_start(const sesim_card_if *card, const char *sock_path,
                                   const sesim_t1_faults *faults, sesim_t1_server **out)
{
    if (!card || !card->process || !card->chan_open || !sock_path || !out)
        return SE05X_ERR_ARG;
    *out = NULL;
    sesim_t1_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return SE05X_ERR_NOMEM;
    srv->card = *card;
    if (faults)
        srv->faults = *faults;
    srv->lfd = -1;
    pthread_mutex_init(&srv->mu, NULL);
    se05x_status st = listen_on(srv, sock_path);
    if (st == SE05X_OK && pipe2(srv->wake, O_CLOEXEC) != 0)
        st = SE05X_ERR_TRANSPORT;
    else if (st == SE05X_OK && pthread_create(&srv->thr, NULL, accept_main, srv) != 0) {
        close(srv->wake[0]);
        close(srv->wake[1]);
        st = SE05X_ERR_NOMEM;
    }
    if (st != SE05X_OK) {
        if (srv->lfd >= 0) {
            close(srv->lfd);
            unlink(srv->path);
        }
        pthread_mutex_destroy(&srv->mu);
        free(srv);
        return st;
    }
    *out = srv;
    return SE05X_OK;
}

void sesim_t1_server_stop(sesim_t1_server *srv)
{
    if (!srv)
        return;
    ssize_t w;
    do
        w = write(srv->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(srv->thr, NULL);
    reap_clients(srv, true);
    close(srv->lfd);
    close(srv->wake[0]);
    close(srv->wake[1]);
    unlink(srv->path);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}
