/* Stream-socket I/O loops shared by every socket user of the stack (the
 * JRCP client and server, the virtual-I2C master and slave, tests and
 * fuzzers): send everything, receive exactly n bytes, receive what is
 * there. All of them retry EINTR, send with MSG_NOSIGNAL (a closed peer is
 * an error, never a SIGPIPE) and take an optional deadline.
 *
 * Deadlines are absolute times of se05x_sock_now_ms() (a monotonic clock);
 * SE05X_SOCK_FOREVER means "no deadline": the call then blocks in
 * send()/recv() as the socket is configured, and an EAGAIN it reports
 * (non-blocking socket, or SO_RCVTIMEO/SO_SNDTIMEO expired) is returned as
 * SE05X_ERR_TIMEOUT with errno kept. With a deadline, the calls never
 * block in send()/recv() (MSG_DONTWAIT) but wait in poll() until the
 * deadline, so they work on blocking and non-blocking sockets alike. */
#ifndef SE05X_SOCKIO_H
#define SE05X_SOCKIO_H

#include <stddef.h>

#include "se05x/status.h"

#define SE05X_SOCK_FOREVER (-1LL)

/* Milliseconds of CLOCK_MONOTONIC. */
long long se05x_sock_now_ms(void);

/* now + timeout_ms: a deadline for the calls below. */
long long se05x_sock_deadline(unsigned timeout_ms);

/* Wait until fd reports one of events (POLLIN, POLLOUT...) or the
 * deadline passes. 1 ready (also on POLLERR/POLLHUP), 0 timeout (errno
 * ETIMEDOUT), -1 poll error (errno). */
int se05x_sock_wait(int fd, short events, long long deadline);

/* Send all n bytes. SE05X_OK; SE05X_ERR_TIMEOUT (deadline passed, or
 * EAGAIN without a deadline; errno says which); SE05X_ERR_TRANSPORT with
 * errno (EPIPE, ECONNRESET...). */
se05x_status se05x_sock_send_all(int fd, const void *buf, size_t n, long long deadline);

/* Receive exactly n bytes. SE05X_OK; SE05X_ERR_TRANSPORT with errno = 0
 * when the peer closed the connection first (bytes already read are lost
 * to the caller), with errno otherwise; SE05X_ERR_TIMEOUT as above. */
se05x_status se05x_sock_recv_all(int fd, void *buf, size_t n, long long deadline);

/* Receive 1..cap bytes (cap > 0): SE05X_OK with *got > 0, or SE05X_OK with
 * *got == 0 when the peer closed the connection; errors as above (*got 0). */
se05x_status se05x_sock_recv_some(int fd, void *buf, size_t cap, long long deadline,
                                  size_t *got);

#endif
