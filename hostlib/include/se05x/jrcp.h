/* JRCP v1 ("Remote JC Terminal" protocol, spec §6.2) frame codec, shared by
 * the host-side client transport (hostlib/src/jrcp.c) and the simulator's
 * TCP server (sim/src/jrcp_server.c). Every message is
 *     MTY | NAD | LEN_hi | LEN_lo | payload[LEN]
 * The encoder writes whole frames; the decoder is incremental (feed it any
 * split of the byte stream) and rejects a header whose length exceeds the
 * limit it was initialised with, before any payload is buffered.
 * Also declares the extended client opener (timeouts, error text). */
#ifndef SE05X_JRCP_H
#define SE05X_JRCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/apdu.h"
#include "se05x/status.h"
#include "se05x/transport.h"

#define SE05X_JRCP_HDR_LEN 4u
/* Largest payload either side accepts: one APDU plus some slack for
 * ATRs, terminal texts and tools that pad. Longer headers are rejected. */
#define SE05X_JRCP_MAX_PAYLOAD (SE05X_APDU_MAX + 256u)

/* Message types (MTY). */
enum {
    SE05X_JRCP_WAIT_FOR_CARD = 0x00, /* payload: 4-byte BE timeout ms; reply: ATR */
    SE05X_JRCP_APDU_DATA = 0x01,     /* payload: C-APDU; reply: R-APDU (data || SW) */
    SE05X_JRCP_STATUS = 0x02,
    SE05X_JRCP_ERROR_MSG = 0x03,     /* empty payload = CLOSE (NXP clients) */
    SE05X_JRCP_TERMINAL_INFO = 0x04,
    SE05X_JRCP_INIT_DATA = 0x05,
    SE05X_JRCP_INFO_TEXT = 0x06,
    SE05X_JRCP_DEBUG_INFO = 0x07,
    SE05X_JRCP_LOCK = 0x30,          /* reply: bare header */
    SE05X_JRCP_UNLOCK = 0x31,        /* reply: bare header */
    SE05X_JRCP_SET_UINT32 = 0x40,
    SE05X_JRCP_GET_UINT32 = 0x41,
    SE05X_JRCP_QUIT = 0x50,
};
#define SE05X_JRCP_NAD 0x00u

/* Name of a message type ("APDU_DATA", ...; "UNKNOWN" otherwise). */
const char *se05x_jrcp_type_name(uint8_t mty);

/* Write the 4-byte header for a payload of len bytes (len <= 0xFFFF). */
se05x_status se05x_jrcp_header(uint8_t mty, size_t len, uint8_t hdr[SE05X_JRCP_HDR_LEN]);

/* Encode one frame (header || payload) into out[cap]. payload may be NULL
 * when len == 0. SE05X_ERR_BUFFER if cap is too small, SE05X_ERR_ARG if
 * len > 0xFFFF. */
se05x_status se05x_jrcp_encode(uint8_t mty, const uint8_t *payload, size_t len, uint8_t *out,
                               size_t cap, size_t *outlen);

/* ---- incremental decoder ------------------------------------------------ */

typedef struct {
    size_t max;                  /* largest accepted payload */
    uint8_t hdr[SE05X_JRCP_HDR_LEN];
    size_t hdr_have;             /* header bytes received so far */
    bool hdr_parsed;             /* header complete and validated */
    size_t have;                 /* payload bytes received so far */
    bool done;                   /* a complete frame is ready */
    bool bad;                    /* a bad header was seen; stays bad until reset */
    /* The frame, valid once se05x_jrcp_decoder_feed reported completion. */
    uint8_t mty, nad;
    size_t len;
    uint8_t payload[SE05X_JRCP_MAX_PAYLOAD];
} se05x_jrcp_decoder;

/* max = largest payload to accept (0 or > SE05X_JRCP_MAX_PAYLOAD means
 * SE05X_JRCP_MAX_PAYLOAD). */
void se05x_jrcp_decoder_init(se05x_jrcp_decoder *d, size_t max);

/* Feed up to len bytes. Consumes bytes up to the end of the current frame
 * and reports the count in *used; *done becomes true when a whole frame
 * has arrived (read mty/nad/len/payload, then call _next before feeding
 * the remaining bytes). Returns SE05X_ERR_PROTOCOL when a header announces
 * more than max bytes (the stream cannot be re-synchronised: drop it). */
se05x_status se05x_jrcp_decoder_feed(se05x_jrcp_decoder *d, const uint8_t *in, size_t len,
                                     size_t *used, bool *done);

/* Forget the completed frame and start on the next one. */
void se05x_jrcp_decoder_next(se05x_jrcp_decoder *d);

/* True when no partial frame is buffered (EOF here is a clean end; EOF
 * elsewhere means a truncated frame). */
bool se05x_jrcp_decoder_idle(const se05x_jrcp_decoder *d);

/* ---- client transport options ----------------------------------------- */

typedef struct {
    unsigned connect_timeout_ms; /* default 5000 */
    unsigned io_timeout_ms;      /* per reply, default 60000 (slow RSA keygen) */
    uint32_t wait_ms;            /* WAIT_FOR_CARD timeout sent, default 256 (NXP MW) */
} se05x_jrcp_opts;

void se05x_jrcp_opts_default(se05x_jrcp_opts *o);

/* se05x_jrcp_open with options (NULL = defaults) and an error description
 * (err may be NULL): TCP connect to host:port (IPv4 or IPv6, names resolved
 * with getaddrinfo), then WAIT_FOR_CARD. On success *out is the transport;
 * its ops->reset repeats WAIT_FOR_CARD and returns the ATR (reconnecting
 * first if an I/O error, timeout or bad frame dropped the link), ops->close
 * sends CLOSE (03 00 00 00) and frees it. Errors after opening are
 * described in (*out)->err. */
se05x_status se05x_jrcp_open_ex(const char *host, uint16_t port, const se05x_jrcp_opts *opts,
                                se05x_transport **out, char *err, size_t errlen);

#endif
