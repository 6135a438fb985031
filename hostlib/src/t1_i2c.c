/* Linux i2c-dev phy for the T=1 engine (se05x/t1.h): opens /dev/i2c-N,
 * selects the SE's 7-bit address with ioctl(I2C_SLAVE) and moves each frame
 * piece with one read()/write() (one I2C transaction each). While the SE is
 * busy it NACKs its address, which the kernel reports as EREMOTEIO or ENXIO
 * (some adapters: EAGAIN/ETIMEDOUT); that becomes SE05X_T1_PHY_NACK and the
 * engine polls with 1 ms sleeps. */
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "se05x/t1.h"

typedef struct {
    int fd;
} i2c_phy;

static bool is_nack(int e)
{
    return e == EREMOTEIO || e == ENXIO || e == EAGAIN || e == ETIMEDOUT;
}

static se05x_t1_phy_rc i2c_result(ssize_t r, size_t n, const char *what, char *err, size_t errlen)
{
    if (r == (ssize_t)n)
        return SE05X_T1_PHY_OK;
    if (r < 0 && is_nack(errno))
        return SE05X_T1_PHY_NACK;
    if (err && errlen) {
        if (r < 0)
            snprintf(err, errlen, "i2c %s: %s", what, strerror(errno));
        else
            snprintf(err, errlen, "i2c %s: %zd of %zu bytes", what, r, n);
    }
    return SE05X_T1_PHY_ERROR;
}

static se05x_t1_phy_rc i2c_write(void *ctx, const uint8_t *buf, size_t n, char *err, size_t errlen)
{
    i2c_phy *p = ctx;
    ssize_t r;
    do
        r = write(p->fd, buf, n);
    while (r < 0 && errno == EINTR);
    return i2c_result(r, n, "write", err, errlen);
}

static se05x_t1_phy_rc i2c_read(void *ctx, uint8_t *buf, size_t n, char *err, size_t errlen)
{
    i2c_phy *p = ctx;
    ssize_t r;
    do
        r = read(p->fd, buf, n);
    while (r < 0 && errno == EINTR);
    return i2c_result(r, n, "read", err, errlen);
}

static void i2c_sleep(void *ctx, unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void i2c_close(void *ctx)
{
    i2c_phy *p = ctx;
    if (p) {
        close(p->fd);
        free(p);
    }
}

static const se05x_t1_phy_ops i2c_ops = {
    .name = "i2c",
    .write = i2c_write,
    .read = i2c_read,
    .sleep_ms = i2c_sleep,
    .close = i2c_close,
};

se05x_status se05x_t1_i2c_open_ex(const char *dev, uint8_t addr, const se05x_t1_opts *opts,
                                  se05x_transport **out, char *err, size_t errlen)
{
    if (!dev || !out || addr > 0x7F) {
        if (err && errlen)
            snprintf(err, errlen, "i2c: missing device or address 0x%02X is not 7-bit", addr);
        return SE05X_ERR_ARG;
    }
    *out = NULL;
    int fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (err && errlen)
            snprintf(err, errlen, "i2c: cannot open %s: %s%s", dev, strerror(e),
                     e == ENOENT ? " (is the i2c-dev module loaded and the bus enabled?)" : "");
        errno = e; /* kept for callers that only see the status */
        return SE05X_ERR_TRANSPORT;
    }
    if (ioctl(fd, I2C_SLAVE, (unsigned long)addr) < 0) {
        int e = errno;
        if (err && errlen)
            snprintf(err, errlen, "i2c: cannot select address 0x%02X on %s: %s", addr, dev,
                     strerror(e));
        close(fd);
        errno = e;
        return SE05X_ERR_TRANSPORT;
    }
    i2c_phy *p = malloc(sizeof *p);
    if (!p) {
        close(fd);
        return SE05X_ERR_NOMEM;
    }
    p->fd = fd;
    /* Wake-up time after power-up before the first frame (spec §6.1: 5 ms). */
    i2c_sleep(p, 5);
    se05x_status st = se05x_t1_open_phy(&i2c_ops, p, opts, out, err, errlen);
    if (st != SE05X_OK)
        errno = 0; /* a protocol failure: errno says nothing */
    return st;
}

se05x_status se05x_t1_i2c_open(const char *dev, uint8_t addr, se05x_transport **out)
{
    return se05x_t1_i2c_open_ex(dev, addr, NULL, out, NULL, 0);
}
