/* Virtual I2C master over a Unix stream socket to the simulator's T=1
 * server (sim/src/t1_server.c): the phy of se05x/t1.h for the T=1 engine.
 * Each I2C transaction is one request record: 'W' len16 data (master write)
 * or 'R' len16 (master read); the slave answers ACK (+ data for a read) or
 * NACK (busy, nothing transferred). Wire format: docs/virtual-i2c.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "se05x/sockio.h"
#include "se05x/t1.h"

typedef struct {
    int fd;
} sock_phy;

static void errf(char *err, size_t errlen, const char *what, int e)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", what, e ? strerror(e) : "connection closed by the simulator");
}

static se05x_t1_phy_rc sock_xact(sock_phy *s, uint8_t op, const uint8_t *wdata, uint8_t *rdata,
                                 size_t n, char *err, size_t errlen)
{
    uint8_t hdr[3 + SE05X_VI2C_MAX_XFER];
    if (n == 0 || n > SE05X_VI2C_MAX_XFER) {
        if (err && errlen)
            snprintf(err, errlen, "virtual I2C transfer of %zu bytes (1..%u allowed)", n,
                     SE05X_VI2C_MAX_XFER);
        return SE05X_T1_PHY_ERROR;
    }
    hdr[0] = op;
    hdr[1] = (uint8_t)(n >> 8);
    hdr[2] = (uint8_t)n;
    size_t hl = 3;
    if (wdata) {
        memcpy(hdr + 3, wdata, n);
        hl += n;
    }
    uint8_t ack;
    if (se05x_sock_send_all(s->fd, hdr, hl, SE05X_SOCK_FOREVER) != SE05X_OK) {
        errf(err, errlen, "virtual I2C send", errno);
        return SE05X_T1_PHY_ERROR;
    }
    if (se05x_sock_recv_all(s->fd, &ack, 1, SE05X_SOCK_FOREVER) != SE05X_OK) {
        errf(err, errlen, "virtual I2C receive", errno);
        return SE05X_T1_PHY_ERROR;
    }
    if (ack == SE05X_VI2C_NACK)
        return SE05X_T1_PHY_NACK;
    if (ack != SE05X_VI2C_ACK) {
        if (err && errlen)
            snprintf(err, errlen, "virtual I2C: bad reply byte 0x%02X", ack);
        return SE05X_T1_PHY_ERROR;
    }
    if (rdata && se05x_sock_recv_all(s->fd, rdata, n, SE05X_SOCK_FOREVER) != SE05X_OK) {
        errf(err, errlen, "virtual I2C receive", errno);
        return SE05X_T1_PHY_ERROR;
    }
    return SE05X_T1_PHY_OK;
}

static se05x_t1_phy_rc sock_write(void *ctx, const uint8_t *buf, size_t n, char *err, size_t errlen)
{
    return sock_xact(ctx, SE05X_VI2C_OP_WRITE, buf, NULL, n, err, errlen);
}

static se05x_t1_phy_rc sock_read(void *ctx, uint8_t *buf, size_t n, char *err, size_t errlen)
{
    return sock_xact(ctx, SE05X_VI2C_OP_READ, NULL, buf, n, err, errlen);
}

static void sock_sleep(void *ctx, unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void sock_close(void *ctx)
{
    sock_phy *s = ctx;
    if (s) {
        close(s->fd);
        free(s);
    }
}

static const se05x_t1_phy_ops sock_ops = {
    .name = "virtual I2C",
    .write = sock_write,
    .read = sock_read,
    .sleep_ms = sock_sleep,
    .close = sock_close,
};

se05x_status se05x_t1_socket_open_ex(const char *path, const se05x_t1_opts *opts,
                                     se05x_transport **out, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path || !out || strlen(path) >= sizeof sa.sun_path) {
        if (err && errlen)
            snprintf(err, errlen, "virtual I2C: socket path missing or longer than %zu bytes",
                     sizeof sa.sun_path - 1);
        return SE05X_ERR_ARG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    sock_phy *s = calloc(1, sizeof *s);
    if (!s)
        return SE05X_ERR_NOMEM;
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        if (err && errlen)
            snprintf(err, errlen, "virtual I2C: cannot connect to %s: %s", path, strerror(e));
        if (s->fd >= 0)
            close(s->fd);
        free(s);
        errno = e; /* kept for callers that only see the status */
        return SE05X_ERR_TRANSPORT;
    }
    /* Backstop against a hung simulator (a slow APDU delays the read reply). */
    struct timeval tv = {.tv_sec = 60};
    (void)setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    se05x_status st = se05x_t1_open_phy(&sock_ops, s, opts, out, err, errlen);
    if (st != SE05X_OK)
        errno = 0; /* a protocol failure: errno says nothing */
    return st;
}

se05x_status se05x_t1_socket_open(const char *path, se05x_transport **out)
{
    return se05x_t1_socket_open_ex(path, NULL, out, NULL, 0);
}
