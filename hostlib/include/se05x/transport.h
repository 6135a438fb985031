/* One small interface for every link to an SE05x (architecture: transports):
 *   jrcp    JRCP v1 client over TCP           "HOST:PORT"
 *   t1oi2c  T=1 over I2C on Linux i2c-dev     "/dev/i2c-N[:0xADDR]"
 *   t1sock  T=1 over the simulator's virtual I2C (Unix socket)  "t1:PATH"
 *   inproc  in-process simulator              "sim:DIR"
 * A transport moves one complete command APDU and returns one complete
 * response APDU (data || SW); secure channels and sessions sit above it. */
#ifndef SE05X_TRANSPORT_H
#define SE05X_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "se05x/status.h"

typedef struct se05x_transport se05x_transport;

typedef struct {
    const char *name;
    se05x_status (*transceive)(se05x_transport *t, const uint8_t *cmd, size_t len, uint8_t *rsp,
                               size_t cap, size_t *rlen);
    /* Re-synchronise the link (T=1 RESYNC + GET ATR, JRCP WAIT_FOR_CARD,
     * in-process cold reset). atr may be NULL. */
    se05x_status (*reset)(se05x_transport *t, uint8_t *atr, size_t cap, size_t *atrlen);
    void (*close)(se05x_transport *t);
    /* Optional: free local resources without talking to the peer (used in
     * a child after fork(), where the link still belongs to the parent).
     * NULL = the connection layer simply forgets the transport. */
    void (*abandon)(se05x_transport *t);
} se05x_transport_ops;

struct se05x_transport {
    const se05x_transport_ops *ops;
    char err[256]; /* last error detail, "" if none */
};

/* ---- connection strings ---------------------------------------------- */

typedef enum {
    SE05X_LINK_JRCP = 1,
    SE05X_LINK_T1_I2C,
    SE05X_LINK_T1_SOCKET,
    SE05X_LINK_SIM,
} se05x_link_kind;

typedef struct {
    se05x_link_kind kind;
    char host[256];   /* JRCP */
    uint16_t port;    /* JRCP */
    char path[1024];  /* i2c device, unix socket or sim directory */
    uint8_t i2c_addr; /* 7-bit, default 0x48 */
} se05x_connstr;

#define SE05X_DEFAULT_PORT "127.0.0.1:8050"
#define SE05X_DEFAULT_I2C_ADDR 0x48

/* Parse HOST:PORT, [IPv6]:PORT, /dev/i2c-N[:0xADDR], t1:PATH or sim:DIR.
 * On error, a description is written to err (if non-NULL). */
se05x_status se05x_connstr_parse(const char *s, se05x_connstr *out, char *err, size_t errlen);

/* The connection string to use when none is given: env SE05X_PORT, then
 * env EX_SSS_BOOT_SSS_PORT (NXP's name), then SE05X_DEFAULT_PORT. */
const char *se05x_connstr_default(void);

/* ---- opening ------------------------------------------------------- */

/* Open the transport a connection string names (NULL = default). On error
 * a description goes to err. */
se05x_status se05x_transport_open(const char *connstr, se05x_transport **out, char *err,
                                  size_t errlen);
void se05x_transport_close(se05x_transport *t);

se05x_status se05x_jrcp_open(const char *host, uint16_t port, se05x_transport **out);
se05x_status se05x_t1_i2c_open(const char *dev, uint8_t addr, se05x_transport **out);
se05x_status se05x_t1_socket_open(const char *path, se05x_transport **out);
se05x_status se05x_inproc_open(const char *dir, se05x_transport **out);

#endif
