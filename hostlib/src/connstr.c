/* Connection strings: one syntax for every tool and library of the stack.
 *   HOST:PORT, [IPV6]:PORT      JRCP v1 over TCP (default 127.0.0.1:8050)
 *   /dev/i2c-N[:0xADDR]         T=1 over I2C (7-bit address, default 0x48)
 *   t1:PATH                     T=1 over the simulator's virtual I2C socket
 *   sim:DIR                     in-process simulator with its state in DIR
 * Also the environment defaults (SE05X_PORT, NXP's EX_SSS_BOOT_SSS_PORT) and
 * se05x_transport_open(), which picks the transport a string names. */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "se05x/jrcp.h"
#include "se05x/t1.h"
#include "se05x/transport.h"

static se05x_status fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static se05x_status fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return SE05X_ERR_CONNSTR;
}

static bool parse_uint(const char *s, int base, unsigned long max, unsigned long *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, base);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static se05x_status parse_i2c(const char *s, se05x_connstr *out, char *err, size_t errlen)
{
    const char *colon = strchr(s, ':');
    size_t plen = colon ? (size_t)(colon - s) : strlen(s);
    if (plen >= sizeof(out->path))
        return fail(err, errlen, "I2C device path too long");
    memcpy(out->path, s, plen);
    out->path[plen] = 0;
    out->kind = SE05X_LINK_T1_I2C;
    out->i2c_addr = SE05X_DEFAULT_I2C_ADDR;
    if (colon) {
        unsigned long a;
        const char *as = colon + 1;
        if (strncmp(as, "0x", 2) != 0 && strncmp(as, "0X", 2) != 0)
            return fail(err, errlen, "I2C address '%s' must be hex like 0x48", as);
        if (!parse_uint(as + 2, 16, 0x7F, &a) || a < 0x08 || a > 0x77)
            return fail(err, errlen, "I2C address '%s' is not a 7-bit address in 0x08..0x77", as);
        out->i2c_addr = (uint8_t)a;
    }
    return SE05X_OK;
}

static se05x_status parse_tcp(const char *s, se05x_connstr *out, char *err, size_t errlen)
{
    const char *host = s, *port;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return fail(err, errlen, "'%s': expected [IPV6]:PORT", s);
        host = s + 1;
        hlen = (size_t)(close - host);
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return fail(err, errlen,
                        "'%s' is not a connection string (expected HOST:PORT, "
                        "/dev/i2c-N[:0xADDR], t1:PATH or sim:DIR)",
                        s);
        if (memchr(s, ':', (size_t)(colon - s)))
            return fail(err, errlen, "'%s': write IPv6 addresses as [ADDR]:PORT", s);
        hlen = (size_t)(colon - s);
        port = colon + 1;
    }
    if (hlen == 0)
        return fail(err, errlen, "'%s': empty host name", s);
    if (hlen >= sizeof(out->host))
        return fail(err, errlen, "'%s': host name too long", s);
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c == '/' || c >= 0x7F)
            return fail(err, errlen, "'%s': invalid character in host name", s);
    }
    unsigned long p;
    if (!parse_uint(port, 10, 65535, &p) || p == 0)
        return fail(err, errlen, "'%s': port '%s' is not a number in 1..65535", s, port);
    memcpy(out->host, host, hlen);
    out->host[hlen] = 0;
    out->port = (uint16_t)p;
    out->kind = SE05X_LINK_JRCP;
    return SE05X_OK;
}

se05x_status se05x_connstr_parse(const char *s, se05x_connstr *out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!s || !out)
        return fail(err, errlen, "no connection string");
    memset(out, 0, sizeof(*out));
    if (!*s)
        return fail(err, errlen, "empty connection string");
    if (strncmp(s, "sim:", 4) == 0 || strncmp(s, "t1:", 3) == 0) {
        bool sim = s[0] == 's';
        const char *p = s + (sim ? 4 : 3);
        if (!*p)
            return fail(err, errlen, "'%s': missing %s after '%s'", s, sim ? "directory" : "socket path",
                        sim ? "sim:" : "t1:");
        if (strlen(p) >= sizeof(out->path))
            return fail(err, errlen, "'%s': path too long", s);
        strcpy(out->path, p);
        out->kind = sim ? SE05X_LINK_SIM : SE05X_LINK_T1_SOCKET;
        return SE05X_OK;
    }
    if (strncmp(s, "/dev/", 5) == 0)
        return parse_i2c(s, out, err, errlen);
    return parse_tcp(s, out, err, errlen);
}

const char *se05x_connstr_default(void)
{
    const char *e = getenv("SE05X_PORT");
    if (e && *e)
        return e;
    e = getenv("EX_SSS_BOOT_SSS_PORT");
    if (e && *e)
        return e;
    return SE05X_DEFAULT_PORT;
}

se05x_status se05x_transport_open(const char *connstr, se05x_transport **out, char *err,
                                  size_t errlen)
{
    se05x_connstr cs;
    if (!connstr)
        connstr = se05x_connstr_default();
    se05x_status st = se05x_connstr_parse(connstr, &cs, err, errlen);
    if (st != SE05X_OK)
        return st;
    errno = 0;
    switch (cs.kind) {
    case SE05X_LINK_JRCP:
        /* the JRCP client describes its own failures (refused, timeout...) */
        return se05x_jrcp_open_ex(cs.host, cs.port, NULL, out, err, errlen);
    case SE05X_LINK_T1_I2C:
        return se05x_t1_i2c_open_ex(cs.path, cs.i2c_addr, NULL, out, err, errlen);
    case SE05X_LINK_T1_SOCKET:
        return se05x_t1_socket_open_ex(cs.path, NULL, out, err, errlen);
    case SE05X_LINK_SIM:
        st = se05x_inproc_open(cs.path, out);
        break;
    default:
        st = SE05X_ERR_CONNSTR;
    }
    if (st != SE05X_OK && err && errlen) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s%s%s%s", connstr, se05x_strerror(st),
                 e ? " (" : "", e ? strerror(e) : "", e ? ")" : "");
    }
    return st;
}

void se05x_transport_close(se05x_transport *t)
{
    if (t && t->ops && t->ops->close)
        t->ops->close(t);
}
