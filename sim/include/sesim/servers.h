/* Network faces of the simulator: the JRCP v1 server (TCP) and the virtual
 * I2C (T=1 frames on a Unix socket, with fault injection). Both are written
 * against sesim_card_if, so they can be tested with any card behind them;
 * the daemon plugs the real simulator in with sesim_card_if_for(). Each
 * accepted client gets its own logical channel; the card serialises APDUs. */
#ifndef SESIM_SERVERS_H
#define SESIM_SERVERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/status.h"
#include "sesim/sesim.h"

typedef struct {
    void *ctx;
    /* New logical connection (NULL on failure). */
    void *(*chan_open)(void *ctx);
    void (*chan_close)(void *chan);
    /* Cold reset of one connection (T=1 soft reset / chip reset). */
    void (*chan_reset)(void *chan);
    /* One APDU in, data||SW out; returns the response length (>= 2). */
    size_t (*process)(void *chan, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap);
    /* ATR bytes. */
    size_t (*atr)(void *ctx, uint8_t *out, size_t cap);
} sesim_card_if;

/* The real simulator behind the interface. */
sesim_card_if sesim_card_if_for(sesim *s);

/* ---- JRCP v1 over TCP ------------------------------------------------ */
typedef struct sesim_jrcp_server sesim_jrcp_server;
/* Listen on addr:port (addr NULL = 127.0.0.1; port 0 = ephemeral) and serve
 * in a background thread. */
se05x_status sesim_jrcp_server_start(const sesim_card_if *card, const char *addr, uint16_t port,
                                     sesim_jrcp_server **out);
uint16_t sesim_jrcp_server_port(const sesim_jrcp_server *srv);
/* Options of sesim_jrcp_server_start_ex (all optional, zero = default). */
typedef struct {
    /* One log line (no newline) per client connect/disconnect or dropped
     * connection, called from server threads; NULL = silent. */
    void (*log)(void *log_ctx, const char *line);
    void *log_ctx;
    unsigned max_clients; /* simultaneous clients, default 64 */
    char *err;            /* on failure, a description goes here (may be NULL) */
    size_t errlen;
} sesim_jrcp_opts;
se05x_status sesim_jrcp_server_start_ex(const sesim_card_if *card, const char *addr,
                                        uint16_t port, const sesim_jrcp_opts *opts,
                                        sesim_jrcp_server **out);
void sesim_jrcp_server_stop(sesim_jrcp_server *srv);

/* ---- T=1 over virtual I2C (Unix socket) --------------------------- */
typedef struct {
    unsigned crc_every;  /* corrupt the CRC of every Nth frame sent (0 = never) */
    unsigned drop_every; /* drop every Nth frame sent (0 = never) */
    unsigned wtx_every;  /* request a WTX before every Nth response (0 = never) */
    unsigned busy_every; /* NACK (busy) every Nth read attempt (0 = never) */
} sesim_t1_faults;

typedef struct sesim_t1_server sesim_t1_server;
se05x_status sesim_t1_server_start(const sesim_card_if *card, const char *sock_path,
                                   const sesim_t1_faults *faults, sesim_t1_server **out);
void sesim_t1_server_stop(sesim_t1_server *srv);

#endif
