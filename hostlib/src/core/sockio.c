/* The one implementation of the stream-socket send/receive loops (see
 * se05x/sockio.h): EINTR retried, MSG_NOSIGNAL on sends, optional
 * deadlines enforced with poll(). Used by the JRCP client and server and
 * by both ends of the virtual I2C. */
#include "se05x/sockio.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

long long se05x_sock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long se05x_sock_deadline(unsigned timeout_ms)
{
    return se05x_sock_now_ms() + timeout_ms;
}

int se05x_sock_wait(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = -1;
        if (deadline != SE05X_SOCK_FOREVER) {
            left = deadline - se05x_sock_now_ms();
            if (left < 0)
                left = 0;
            if (left > 1000000)
                left = 1000000;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r > 0)
            return 1;
        if (left == 0) {
            errno = ETIMEDOUT;
            return 0;
        }
    }
}

/* Outcome of one failed send()/recv() call: retry (0) or a final status. */
static int on_error(int fd, short events, long long deadline, se05x_status *st)
{
    if (errno == EINTR)
        return 0;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
        *st = SE05X_ERR_TRANSPORT;
        return 1;
    }
    if (deadline == SE05X_SOCK_FOREVER) { /* socket timeout or non-blocking: caller's choice */
        *st = SE05X_ERR_TIMEOUT;
        return 1;
    }
    int r = se05x_sock_wait(fd, events, deadline);
    if (r > 0)
        return 0;
    *st = r == 0 ? SE05X_ERR_TIMEOUT : SE05X_ERR_TRANSPORT;
    return 1;
}

static int io_flags(long long deadline)
{
    return deadline == SE05X_SOCK_FOREVER ? 0 : MSG_DONTWAIT;
}

se05x_status se05x_sock_send_all(int fd, const void *buf, size_t n, long long deadline)
{
    const uint8_t *p = buf;
    se05x_status st = SE05X_OK;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | io_flags(deadline));
        if (w < 0 && on_error(fd, POLLOUT, deadline, &st))
            return st;
        if (w == 0) { /* cannot happen for n > 0 on a stream; do not spin */
            errno = EPIPE;
            return SE05X_ERR_TRANSPORT;
        }
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
    }
    return SE05X_OK;
}

se05x_status se05x_sock_recv_some(int fd, void *buf, size_t cap, long long deadline,
                                  size_t *got)
{
    se05x_status st = SE05X_OK;
    *got = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, cap, io_flags(deadline));
        if (r >= 0) {
            *got = (size_t)r;
            return SE05X_OK;
        }
        if (on_error(fd, POLLIN, deadline, &st))
            return st;
    }
}

se05x_status se05x_sock_recv_all(int fd, void *buf, size_t n, long long deadline)
{
    uint8_t *p = buf;
    while (n > 0) {
        size_t got;
        se05x_status st = se05x_sock_recv_some(fd, p, n, deadline, &got);
        if (st != SE05X_OK)
            return st;
        if (got == 0) {
            errno = 0; /* orderly close by the peer */
            return SE05X_ERR_TRANSPORT;
        }
        p += got;
        n -= got;
    }
    return SE05X_OK;
}
