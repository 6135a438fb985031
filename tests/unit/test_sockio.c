/* Unit tests of the shared socket loops (hostlib/src/core/sockio.c) over
 * socketpairs: whole transfers larger than the socket buffer (a peer
 * thread drains/feeds in small pieces), EOF before the last byte (errno 0),
 * deadlines on blocking and non-blocking sockets, SO_RCVTIMEO without a
 * deadline reported as a timeout, a closed peer as EPIPE without SIGPIPE,
 * recv_some returning partial data and 0 at EOF, and EINTR from a signal
 * not ending a blocking receive. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "se05x/sockio.h"

#define BIG (1u << 20)

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void unpair(int sv[2])
{
    close(sv[0]);
    close(sv[1]);
}

typedef struct {
    int fd;
    uint8_t *buf;
    size_t n;
    int delay_ms; /* before starting */
} peer_job;

/* Reads everything in 1000-byte pieces until EOF. */
static void *drain_main(void *arg)
{
    peer_job *j = arg;
    poll(NULL, 0, j->delay_ms);
    for (;;) {
        ssize_t r = recv(j->fd, j->buf + j->n, 1000, 0);
        if (r <= 0)
            break;
        j->n += (size_t)r;
    }
    return NULL;
}

/* Writes j->n bytes in 777-byte pieces. */
static void *feed_main(void *arg)
{
    peer_job *j = arg;
    poll(NULL, 0, j->delay_ms);
    for (size_t off = 0; off < j->n;) {
        size_t k = j->n - off < 777 ? j->n - off : 777;
        ssize_t w = send(j->fd, j->buf + off, k, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    return NULL;
}

static uint8_t *pattern(size_t n)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31u + (i >> 9));
    return p;
}

static void check_big_send(long long deadline, bool nonblock)
{
    int sv[2];
    pair(sv);
    if (nonblock)
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
    uint8_t *src = pattern(BIG);
    peer_job j = {.fd = sv[1], .buf = calloc(1, BIG + 1000), .delay_ms = 20};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, drain_main, &j), 0);
    assert_int_equal(se05x_sock_send_all(sv[0], src, BIG, deadline), SE05X_OK);
    shutdown(sv[0], SHUT_WR);
    pthread_join(th, NULL);
    assert_int_equal(j.n, BIG);
    assert_memory_equal(j.buf, src, BIG);
    free(j.buf);
    free(src);
    unpair(sv);
}

static void test_send_all_big(void **state)
{
    (void)state;
    check_big_send(SE05X_SOCK_FOREVER, false);
    check_big_send(se05x_sock_deadline(10000), false);
    check_big_send(se05x_sock_deadline(10000), true);
}

static void test_recv_all_big(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    uint8_t *dst = malloc(BIG);
    peer_job j = {.fd = sv[1], .buf = pattern(BIG), .n = BIG, .delay_ms = 20};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, feed_main, &j), 0);
    assert_int_equal(se05x_sock_recv_all(sv[0], dst, BIG / 2, SE05X_SOCK_FOREVER), SE05X_OK);
    assert_int_equal(se05x_sock_recv_all(sv[0], dst + BIG / 2, BIG / 2, se05x_sock_deadline(10000)),
                     SE05X_OK);
    pthread_join(th, NULL);
    assert_memory_equal(dst, j.buf, BIG);
    free(dst);
    free(j.buf);
    unpair(sv);
}

static void test_recv_all_eof(void **state)
{
    (void)state;
    int sv[2];
    uint8_t b[8];
    pair(sv);
    assert_int_equal(send(sv[1], "abc", 3, 0), 3);
    close(sv[1]);
    errno = EINVAL;
    assert_int_equal(se05x_sock_recv_all(sv[0], b, sizeof b, SE05X_SOCK_FOREVER),
                     SE05X_ERR_TRANSPORT);
    assert_int_equal(errno, 0);
    close(sv[0]);

    pair(sv);
    close(sv[1]);
    errno = EINVAL;
    assert_int_equal(se05x_sock_recv_all(sv[0], b, 1, se05x_sock_deadline(1000)),
                     SE05X_ERR_TRANSPORT);
    assert_int_equal(errno, 0);
    close(sv[0]);
}

static void test_recv_deadline(void **state)
{
    (void)state;
    int sv[2];
    uint8_t b[4];
    size_t got = 99;
    pair(sv); /* blocking socket, nothing sent: the deadline must still apply */
    long long t0 = se05x_sock_now_ms();
    assert_int_equal(se05x_sock_recv_all(sv[0], b, sizeof b, se05x_sock_deadline(100)),
                     SE05X_ERR_TIMEOUT);
    long long dt = se05x_sock_now_ms() - t0;
    assert_true(dt >= 90 && dt < 3000);
    assert_int_equal(se05x_sock_recv_some(sv[0], b, sizeof b, se05x_sock_deadline(0), &got),
                     SE05X_ERR_TIMEOUT);
    assert_int_equal(got, 0);
    /* Part of the bytes then silence: still a timeout. */
    assert_int_equal(send(sv[1], "xy", 2, 0), 2);
    assert_int_equal(se05x_sock_recv_all(sv[0], b, sizeof b, se05x_sock_deadline(50)),
                     SE05X_ERR_TIMEOUT);
    unpair(sv);
}

static void test_rcvtimeo_without_deadline(void **state)
{
    (void)state;
    int sv[2];
    uint8_t b;
    pair(sv);
    struct timeval tv = {.tv_usec = 50000};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(se05x_sock_recv_all(sv[0], &b, 1, SE05X_SOCK_FOREVER), SE05X_ERR_TIMEOUT);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    unpair(sv);
}

static void test_send_deadline_full_buffer(void **state)
{
    (void)state;
    int sv[2];
    pair(sv); /* nobody reads: the buffer fills, then the deadline passes */
    uint8_t *src = pattern(BIG);
    assert_int_equal(se05x_sock_send_all(sv[0], src, BIG, se05x_sock_deadline(100)),
                     SE05X_ERR_TIMEOUT);
    assert_int_equal(errno, ETIMEDOUT);
    fcntl(sv[0], F_SETFL, O_NONBLOCK); /* no deadline on a non-blocking socket: EAGAIN */
    assert_int_equal(se05x_sock_send_all(sv[0], src, BIG, SE05X_SOCK_FOREVER),
                     SE05X_ERR_TIMEOUT);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    free(src);
    unpair(sv);
}

static void test_send_to_closed_peer(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    close(sv[1]);
    /* Default SIGPIPE disposition: without MSG_NOSIGNAL this would kill us. */
    assert_int_equal(se05x_sock_send_all(sv[0], "hello", 5, SE05X_SOCK_FOREVER),
                     SE05X_ERR_TRANSPORT);
    assert_int_equal(errno, EPIPE);
    assert_int_equal(se05x_sock_send_all(sv[0], "hello", 5, se05x_sock_deadline(100)),
                     SE05X_ERR_TRANSPORT);
    assert_int_equal(errno, EPIPE);
    close(sv[0]);
}

static void test_recv_some(void **state)
{
    (void)state;
    int sv[2];
    uint8_t b[16];
    size_t got = 0;
    pair(sv);
    assert_int_equal(send(sv[1], "abcde", 5, 0), 5);
    assert_int_equal(se05x_sock_recv_some(sv[0], b, sizeof b, SE05X_SOCK_FOREVER, &got), SE05X_OK);
    assert_int_equal(got, 5);
    assert_memory_equal(b, "abcde", 5);
    assert_int_equal(send(sv[1], "fgh", 3, 0), 3);
    assert_int_equal(se05x_sock_recv_some(sv[0], b, 2, se05x_sock_deadline(1000), &got), SE05X_OK);
    assert_int_equal(got, 2);
    close(sv[1]);
    assert_int_equal(se05x_sock_recv_some(sv[0], b, sizeof b, SE05X_SOCK_FOREVER, &got), SE05X_OK);
    assert_int_equal(got, 1);
    assert_int_equal(se05x_sock_recv_some(sv[0], b, sizeof b, se05x_sock_deadline(1000), &got),
                     SE05X_OK);
    assert_int_equal(got, 0); /* EOF */
    close(sv[0]);
}

static void on_alarm(int sig) { (void)sig; }

typedef struct {
    pthread_t target;
    int fd;
} intr_job;

/* Interrupts the main thread's blocking recv with a signal, then sends. */
static void *interrupt_main(void *arg)
{
    intr_job *j = arg;
    for (int i = 0; i < 5; i++) {
        poll(NULL, 0, 20);
        pthread_kill(j->target, SIGUSR1);
    }
    send(j->fd, "z", 1, 0);
    return NULL;
}

static void test_eintr_retried(void **state)
{
    (void)state;
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: recv fails with EINTR */
    struct sigaction old;
    sigaction(SIGUSR1, &sa, &old);
    int sv[2];
    pair(sv);
    intr_job j = {.target = pthread_self(), .fd = sv[1]};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, interrupt_main, &j), 0);
    uint8_t b = 0;
    assert_int_equal(se05x_sock_recv_all(sv[0], &b, 1, SE05X_SOCK_FOREVER), SE05X_OK);
    assert_int_equal(b, 'z');
    pthread_join(th, NULL);
    sigaction(SIGUSR1, &old, NULL);
    unpair(sv);
}

static void test_wait(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    assert_int_equal(se05x_sock_wait(sv[0], POLLIN, se05x_sock_deadline(30)), 0);
    assert_int_equal(errno, ETIMEDOUT);
    assert_int_equal(se05x_sock_wait(sv[0], POLLOUT, SE05X_SOCK_FOREVER), 1);
    send(sv[1], "q", 1, 0);
    assert_int_equal(se05x_sock_wait(sv[0], POLLIN, se05x_sock_deadline(1000)), 1);
    unpair(sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_all_big),
        cmocka_unit_test(test_recv_all_big),
        cmocka_unit_test(test_recv_all_eof),
        cmocka_unit_test(test_recv_deadline),
        cmocka_unit_test(test_rcvtimeo_without_deadline),
        cmocka_unit_test(test_send_deadline_full_buffer),
        cmocka_unit_test(test_send_to_closed_peer),
        cmocka_unit_test(test_recv_some),
        cmocka_unit_test(test_eintr_retried),
        cmocka_unit_test(test_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
