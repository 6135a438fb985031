/* JRCP v1 server (spec §6.2, §12): the simulator's TCP face, written
 * against sesim_card_if so any card can sit behind it. One acceptor thread
 * polls the listening socket and a wake-up pipe; each accepted client gets
 * its own thread and its own logical channel (chan_open), the card
 * serialising APDUs itself. A frame whose header announces more than
 * SE05X_JRCP_MAX_PAYLOAD bytes, or that is cut short by EOF, drops only
 * that connection. Message handling:
 *   00 WAIT_FOR_CARD  cold reset of the channel, reply 00 with the ATR
 *   01 APDU_DATA      one APDU to the card, reply 01 with data || SW
 *   03 ERROR_MSG      (CLOSE) reply bare 03 header, then close
 *   04 TERMINAL_INFO  reply 04 with a short text
 *   30/31 LOCK/UNLOCK reply bare header of the same type
 *   50 QUIT           reply bare 50 header, then close this connection
 *   anything else     reply 03 ERROR_MSG with a text, keep the connection
 * Clients may also just close the socket. Stop: mark stopping, shut down
 * every client socket (which wakes blocked reads and writes), wake and
 * join the acceptor, join every client thread, close everything. Sockets
 * are closed only by the thread that joins their owner, never while a
 * client thread may still use them. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "se05x/jrcp.h"
#include "se05x/sockio.h"
#include "sesim/servers.h"

#define JRCP_DEFAULT_MAX_CLIENTS 64u
#define JRCP_ATR_MAX 255u
#define JRCP_TERMINAL_TEXT "se05x-sim JRCP v1 terminal (virtual SE05x)"

typedef struct jclient {
    struct sesim_jrcp_server *srv;
    struct jclient *next;
    int fd;
    pthread_t th;
    bool done; /* thread finished; guarded by srv->mu */
    unsigned id;
    unsigned long apdus;
    char peer[80];
    se05x_jrcp_decoder dec;
    uint8_t out[SE05X_JRCP_HDR_LEN + SE05X_JRCP_MAX_PAYLOAD];
} jclient;

struct sesim_jrcp_server {
    sesim_card_if card;
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
    unsigned max_clients;
    int lfd;
    int wake[2];
    uint16_t port;
    pthread_t acceptor;
    pthread_mutex_t mu;
    bool stopping;
    jclient *clients;
    unsigned nclients;
    unsigned next_id;
};

static void slog(sesim_jrcp_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slog(sesim_jrcp_server *s, const char *fmt, ...)
{
    if (s->log == NULL)
        return;
    char line[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->log(s->log_ctx, line);
}

static void wake_acceptor(sesim_jrcp_server *s)
{
    static const char b = 1;
    ssize_t r = write(s->wake[1], &b, 1);
    (void)r; /* a full pipe already means "wake up" */
}

/* ---- one client ---------------------------------------------------------- */

/* Blocking whole-buffer send on a client socket (se05x/sockio.h). */
static bool send_all(int fd, const uint8_t *b, size_t n)
{
    return se05x_sock_send_all(fd, b, n, SE05X_SOCK_FOREVER) == SE05X_OK;
}

/* After a final message: stop sending, then discard what the peer still
 * sends (its request, typically) until EOF or ms pass, so that the close
 * does not turn into a TCP reset that could destroy the message before
 * the peer reads it. The socket stays open (the caller closes it). */
static void drain_after_send(int fd, int ms)
{
    shutdown(fd, SHUT_WR);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    uint8_t junk[512];
    for (int i = 0; i < 64 && poll(&p, 1, ms) > 0; i++) {
        ssize_t r = recv(fd, junk, sizeof junk, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
            break;
    }
}

/* Send a frame whose payload (len bytes) is already at c->out + 4. */
static bool reply(jclient *c, uint8_t mty, size_t len)
{
    se05x_jrcp_header(mty, len, c->out);
    return send_all(c->fd, c->out, SE05X_JRCP_HDR_LEN + len);
}

static bool reply_text(jclient *c, uint8_t mty, const char *text)
{
    size_t n = strlen(text);
    memcpy(c->out + SE05X_JRCP_HDR_LEN, text, n);
    return reply(c, mty, n);
}

/* Handle the complete frame in c->dec. *keep = false ends the connection. */
static bool handle_frame(jclient *c, void *chan, bool *keep)
{
    const sesim_card_if *card = &c->srv->card;
    se05x_jrcp_decoder *d = &c->dec;
    uint8_t *p = c->out + SE05X_JRCP_HDR_LEN;
    char text[96];
    *keep = true;
    switch (d->mty) {
    case SE05X_JRCP_WAIT_FOR_CARD: {
        if (card->chan_reset != NULL)
            card->chan_reset(chan);
        size_t n = card->atr != NULL ? card->atr(card->ctx, p, JRCP_ATR_MAX) : 0;
        return reply(c, d->mty, n > JRCP_ATR_MAX ? JRCP_ATR_MAX : n);
    }
    case SE05X_JRCP_APDU_DATA: {
        size_t n = card->process(chan, d->payload, d->len, p, SE05X_APDU_MAX);
        c->apdus++;
        if (n < 2) { /* a card must always answer a status word */
            p[0] = 0x6F;
            p[1] = 0x00;
            n = 2;
        }
        return reply(c, d->mty, n > SE05X_APDU_MAX ? SE05X_APDU_MAX : n);
    }
    case SE05X_JRCP_ERROR_MSG:
    case SE05X_JRCP_QUIT:
        *keep = false;
        return reply(c, d->mty, 0);
    case SE05X_JRCP_LOCK:
    case SE05X_JRCP_UNLOCK:
        return reply(c, d->mty, 0);
    case SE05X_JRCP_TERMINAL_INFO:
        return reply_text(c, d->mty, JRCP_TERMINAL_TEXT);
    default:
        snprintf(text, sizeof text, "unsupported JRCP message type 0x%02X", d->mty);
        return reply_text(c, SE05X_JRCP_ERROR_MSG, text);
    }
}

/* Feed received bytes to the decoder, handling every complete frame.
 * Returns false when the connection must end. */
static bool feed(jclient *c, void *chan, const uint8_t *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        size_t used;
        bool done, keep;
        if (se05x_jrcp_decoder_feed(&c->dec, buf + off, n - off, &used, &done) != SE05X_OK) {
            slog(c->srv, "client #%u dropped: %s frame announces %zu bytes (limit %zu)", c->id,
                 se05x_jrcp_type_name(c->dec.mty), c->dec.len, c->dec.max);
            return false;
        }
        off += used;
        if (!done)
            continue;
        if (!handle_frame(c, chan, &keep) || !keep)
            return false;
        se05x_jrcp_decoder_next(&c->dec);
    }
    return true;
}

static bool is_stopping(sesim_jrcp_server *s)
{
    pthread_mutex_lock(&s->mu);
    bool st = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return st;
}

static void serve(jclient *c, void *chan)
{
    uint8_t buf[2048];
    for (;;) {
        size_t got;
        if (se05x_sock_recv_some(c->fd, buf, sizeof buf, SE05X_SOCK_FOREVER, &got) != SE05X_OK ||
            got == 0) {
            if (!se05x_jrcp_decoder_idle(&c->dec) && !is_stopping(c->srv))
                slog(c->srv, "client #%u dropped: connection closed in the middle of a frame",
                     c->id);
            return;
        }
        if (!feed(c, chan, buf, got))
            return;
    }
}

static void *client_main(void *arg)
{
    jclient *c = arg;
    sesim_jrcp_server *s = c->srv;
    slog(s, "client #%u connected from %s", c->id, c->peer);
    void *chan = s->card.chan_open(s->card.ctx);
    if (chan == NULL) {
        slog(s, "client #%u: the card refused a new channel", c->id);
        if (reply_text(c, SE05X_JRCP_ERROR_MSG, "se05x-sim: cannot open a channel to the card"))
            drain_after_send(c->fd, 500);
    } else {
        serve(c, chan);
        s->card.chan_close(chan);
    }
    shutdown(c->fd, SHUT_RDWR);
    slog(s, "client #%u disconnected (%lu APDUs)", c->id, c->apdus);
    pthread_mutex_lock(&s->mu);
    c->done = true;
    pthread_mutex_unlock(&s->mu);
    wake_acceptor(s);
    return NULL;
}

static void client_free(jclient *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

/* ---- acceptor ------------------------------------------------------------ */

/* Unlink finished clients (under mu) and return them for joining. */
static jclient *take_done(sesim_jrcp_server *s)
{
    jclient *done = NULL, **pp = &s->clients;
    while (*pp != NULL) {
        jclient *c = *pp;
        if (c->done) {
            *pp = c->next;
            c->next = done;
            done = c;
            s->nclients--;
        } else {
            pp = &c->next;
        }
    }
    return done;
}

static void join_list(jclient *c)
{
    while (c != NULL) {
        jclient *next = c->next;
        pthread_join(c->th, NULL);
        client_free(c);
        c = next;
    }
}

static void peer_name(const struct sockaddr_storage *ss, socklen_t sl, char *out, size_t cap)
{
    char h[64], p[8];
    if (getnameinfo((const struct sockaddr *)ss, sl, h, sizeof h, p, sizeof p,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, cap, "?");
    else
        snprintf(out, cap, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
}

static void refuse(int fd, const char *why)
{
    uint8_t f[SE05X_JRCP_HDR_LEN + 64];
    size_t n = strlen(why), fl;
    if (se05x_jrcp_encode(SE05X_JRCP_ERROR_MSG, (const uint8_t *)why, n, f, sizeof f, &fl) ==
        SE05X_OK && send_all(fd, f, fl))
        drain_after_send(fd, 200);
    close(fd);
}

static void accept_one(sesim_jrcp_server *s)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            poll(NULL, 0, 50); /* back off instead of spinning */
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    jclient *c = malloc(sizeof *c);
    if (c == NULL) {
        refuse(fd, "se05x-sim: out of memory");
        return;
    }
    memset(c, 0, offsetof(jclient, dec));
    c->srv = s;
    c->fd = fd;
    peer_name(&ss, sl, c->peer, sizeof c->peer);
    se05x_jrcp_decoder_init(&c->dec, 0);
    pthread_mutex_lock(&s->mu);
    if (s->stopping || s->nclients >= s->max_clients) {
        bool full = !s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (full)
            slog(s, "client from %s refused: %u clients already connected", c->peer,
                 s->max_clients);
        free(c);
        refuse(fd, "se05x-sim: too many clients");
        return;
    }
    c->id = ++s->next_id;
    if (pthread_create(&c->th, NULL, client_main, c) != 0) {
        pthread_mutex_unlock(&s->mu);
        free(c);
        refuse(fd, "se05x-sim: cannot start a client thread");
        return;
    }
    c->next = s->clients;
    s->clients = c;
    s->nclients++;
    pthread_mutex_unlock(&s->mu);
}

static void *acceptor_main(void *arg)
{
    sesim_jrcp_server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
                              {.fd = s->wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            poll(NULL, 0, 50);
        if (p[1].revents & POLLIN) {
            char junk[64];
            while (read(s->wake[0], junk, sizeof junk) > 0) {
            }
        }
        pthread_mutex_lock(&s->mu);
        bool stopping = s->stopping;
        jclient *done = take_done(s);
        pthread_mutex_unlock(&s->mu);
        join_list(done);
        if (stopping)
            return NULL;
        if (p[0].revents & POLLIN)
            accept_one(s);
    }
}

/* ---- start / stop -------------------------------------------------------- */

static void set_err(const sesim_jrcp_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_err(const sesim_jrcp_opts *o, const char *fmt, ...)
{
    if (o == NULL || o->err == NULL || o->errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->err, o->errlen, fmt, ap);
    va_end(ap);
}

/* Bind and listen on the first usable address for addr:port. */
static se05x_status listen_on(sesim_jrcp_server *s, const char *addr, uint16_t port,
                              const sesim_jrcp_opts *o)
{
    char svc[8];
    snprintf(svc, sizeof svc, "%u", (unsigned)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gr = getaddrinfo(addr, svc, &hints, &res);
    if (gr != 0) {
        set_err(o, "cannot resolve listen address '%s': %s", addr, gai_strerror(gr));
        return SE05X_ERR_ARG;
    }
    int e = EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai != NULL && s->lfd < 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        int one = 1, zero = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
            e = errno;
            close(fd);
            continue;
        }
        s->lfd = fd;
    }
    freeaddrinfo(res);
    if (s->lfd < 0) {
        set_err(o, "cannot listen on %s%s%s:%u: %s", strchr(addr, ':') ? "[" : "", addr,
                strchr(addr, ':') ? "]" : "", (unsigned)port, strerror(e));
        return e == EADDRINUSE ? SE05X_ERR_LOCKED : SE05X_ERR_IO;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(s->lfd, (struct sockaddr *)&ss, &sl);
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    return SE05X_OK;
}

static void server_free(sesim_jrcp_server *s)
{
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->wake[0] >= 0)
        close(s->wake[0]);
    if (s->wake[1] >= 0)
        close(s->wake[1]);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

se05x_status sesim_jrcp_server_start_ex(const sesim_card_if *card, const char *addr,
                                        uint16_t port, const sesim_jrcp_opts *opts,
                                        sesim_jrcp_server **out)
{
    if (out == NULL || card == NULL || card->chan_open == NULL || card->chan_close == NULL ||
        card->process == NULL) {
        set_err(opts, "JRCP server: missing card interface");
        return SE05X_ERR_ARG;
    }
    *out = NULL;
    sesim_jrcp_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        set_err(opts, "JRCP server: out of memory");
        return SE05X_ERR_NOMEM;
    }
    s->card = *card;
    s->lfd = s->wake[0] = s->wake[1] = -1;
    s->max_clients = JRCP_DEFAULT_MAX_CLIENTS;
    if (opts != NULL) {
        s->log = opts->log;
        s->log_ctx = opts->log_ctx;
        if (opts->max_clients > 0)
            s->max_clients = opts->max_clients;
    }
    pthread_mutex_init(&s->mu, NULL);
    se05x_status st = listen_on(s, addr != NULL ? addr : "127.0.0.1", port, opts);
    if (st == SE05X_OK && pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        set_err(opts, "JRCP server: pipe: %s", strerror(errno));
        st = SE05X_ERR_IO;
    }
    if (st == SE05X_OK && pthread_create(&s->acceptor, NULL, acceptor_main, s) != 0) {
        set_err(opts, "JRCP server: cannot start the acceptor thread");
        st = SE05X_ERR_NOMEM;
    }
    if (st != SE05X_OK) {
        server_free(s);
        return st;
    }
    *out = s;
    return SE05X_OK;
}

se05x_status sesim_jrcp_server_start(const sesim_card_if *card, const char *addr, uint16_t port,
                                     sesim_jrcp_server **out)
{
    return sesim_jrcp_server_start_ex(card, addr, port, NULL, out);
}

uint16_t sesim_jrcp_server_port(const sesim_jrcp_server *srv)
{
    return srv != NULL ? srv->port : 0;
}

void sesim_jrcp_server_stop(sesim_jrcp_server *srv)
{
    if (srv == NULL)
        return;
    pthread_mutex_lock(&srv->mu);
    srv->stopping = true;
    for (jclient *c = srv->clients; c != NULL; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&srv->mu);
    wake_acceptor(srv);
    pthread_join(srv->acceptor, NULL);
    /* The acceptor is gone: no new clients; join the remaining ones. */
    join_list(srv->clients);
    srv->clients = NULL;
    server_free(srv);
}
