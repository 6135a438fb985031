/* T=1 over I2C as spoken by the SE05x (NXP UM11225 flavour, spec §6.1):
 * the frame codec (NAD | PCB | LEN | INF | CRC-16/X-25 LSB first), shared by
 * the host engine and the simulator, and the host protocol engine. The
 * engine runs over a small "phy" interface (master write of N bytes, master
 * read of N bytes that the slave may NACK while busy, sleep), implemented by
 * the Linux i2c-dev backend and by the simulator's virtual I2C socket
 * (docs/virtual-i2c.md), so both use the same engine code path. */
#ifndef SE05X_T1_H
#define SE05X_T1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/status.h"
#include "se05x/transport.h"

/* ---- frame format ---------------------------------------------------- */

#define SE05X_T1_NAD_HOST 0x5Au /* host -> SE */
#define SE05X_T1_NAD_SE 0xA5u   /* SE -> host */
#define SE05X_T1_IFS_MAX 254u   /* largest INF (LEN is one byte, 0xFF reserved) */
#define SE05X_T1_HDR_LEN 3u     /* NAD PCB LEN */
#define SE05X_T1_CRC_LEN 2u
#define SE05X_T1_FRAME_MAX (SE05X_T1_HDR_LEN + SE05X_T1_IFS_MAX + SE05X_T1_CRC_LEN)

/* PCB bits. I-block: 0 N(S) M 00000; R-block: 100 N(R) 00 ee; S-block: 11 xxxxxx. */
#define SE05X_T1_I_NS 0x40u
#define SE05X_T1_I_M 0x20u
#define SE05X_T1_R 0x80u
#define SE05X_T1_R_NR 0x10u
#define SE05X_T1_R_ERR_CRC 0x01u   /* CRC / parity error */
#define SE05X_T1_R_ERR_OTHER 0x02u /* other error */
#define SE05X_T1_S_RESPONSE 0x20u  /* S-block response = request | 0x20 */

/* S-block requests (responses are these | SE05X_T1_S_RESPONSE). */
enum {
    SE05X_T1_S_RESYNC = 0xC0,
    SE05X_T1_S_IFS = 0xC1,
    SE05X_T1_S_ABORT = 0xC2,
    SE05X_T1_S_WTX = 0xC3,
    SE05X_T1_S_END_SESSION = 0xC5, /* END OF APDU SESSION */
    SE05X_T1_S_CHIP_RESET = 0xC6,
    SE05X_T1_S_GET_ATR = 0xC7,
    SE05X_T1_S_SOFT_RESET = 0xCF, /* INTERFACE SOFT RESET */
};

static inline bool se05x_t1_is_i(uint8_t pcb) { return (pcb & 0x80u) == 0; }
static inline bool se05x_t1_is_r(uint8_t pcb) { return (pcb & 0xC0u) == 0x80u; }
static inline bool se05x_t1_is_s(uint8_t pcb) { return (pcb & 0xC0u) == 0xC0u; }
static inline unsigned se05x_t1_i_ns(uint8_t pcb) { return (pcb >> 6) & 1u; }
static inline unsigned se05x_t1_r_nr(uint8_t pcb) { return (pcb >> 4) & 1u; }
static inline uint8_t se05x_t1_i_pcb(unsigned ns, bool more)
{
    return (uint8_t)((ns ? SE05X_T1_I_NS : 0u) | (more ? SE05X_T1_I_M : 0u));
}
static inline uint8_t se05x_t1_r_pcb(unsigned nr, unsigned err)
{
    return (uint8_t)(SE05X_T1_R | (nr ? SE05X_T1_R_NR : 0u) | (err & 3u));
}

/* CRC-16/X-25 (reflected poly 0x8408, init 0xFFFF, xorout 0xFFFF). The
 * check value of "123456789" is 0x906E. */
uint16_t se05x_t1_crc(const uint8_t *p, size_t n);

typedef struct {
    uint8_t nad, pcb, len;
    uint8_t inf[SE05X_T1_IFS_MAX];
} se05x_t1_frame;

/* Why a received frame is rejected. */
typedef enum {
    SE05X_T1_FRAME_OK = 0,
    SE05X_T1_FRAME_SHORT,   /* fewer bytes than the header / LEN announce */
    SE05X_T1_FRAME_LONG,    /* bytes after the CRC */
    SE05X_T1_FRAME_BAD_LEN, /* LEN > 254 */
    SE05X_T1_FRAME_BAD_NAD, /* not the NAD expected for this direction */
    SE05X_T1_FRAME_BAD_CRC,
    SE05X_T1_FRAME_BAD_PCB, /* reserved PCB bits set or unknown S-block */
} se05x_t1_frame_err;

const char *se05x_t1_frame_errstr(se05x_t1_frame_err e);

/* Encode one frame into out[cap] (cap >= len + 5). SE05X_ERR_ARG if
 * len > 254, SE05X_ERR_BUFFER if cap is too small. */
se05x_status se05x_t1_frame_encode(uint8_t nad, uint8_t pcb, const uint8_t *inf, size_t len,
                                   uint8_t *out, size_t cap, size_t *outlen);

/* Decode exactly one frame of buf[len] expected to carry NAD nad. */
se05x_t1_frame_err se05x_t1_frame_decode(const uint8_t *buf, size_t len, uint8_t nad,
                                         se05x_t1_frame *f);

/* ATR fields the engine uses (spec §6.1 layout). Missing or zero fields
 * give the defaults BWT 1000 ms, IFSC 254. SE05X_ERR_PROTOCOL if the ATR is
 * shorter than its own length fields say. */
typedef struct {
    unsigned bwt_ms;
    unsigned ifsc;
} se05x_t1_atr_info;
se05x_status se05x_t1_atr_parse(const uint8_t *atr, size_t len, se05x_t1_atr_info *info);

/* ---- phy: the bus under the engine ----------------------------------- */

typedef enum {
    SE05X_T1_PHY_OK = 0, /* transaction done (all n bytes) */
    SE05X_T1_PHY_NACK,   /* slave did not acknowledge its address (busy): poll again */
    SE05X_T1_PHY_ERROR,  /* bus or link failure; description in err */
} se05x_t1_phy_rc;

typedef struct {
    const char *name; /* "i2c", "socket" */
    se05x_t1_phy_rc (*write)(void *ctx, const uint8_t *buf, size_t n, char *err, size_t errlen);
    se05x_t1_phy_rc (*read)(void *ctx, uint8_t *buf, size_t n, char *err, size_t errlen);
    void (*sleep_ms)(void *ctx, unsigned ms);
    void (*close)(void *ctx);
} se05x_t1_phy_ops;

/* Virtual I2C over a Unix stream socket (docs/virtual-i2c.md): request
 * records op(1) len(2, big-endian) [data] from the master; reply ACK [data]
 * or NACK from the slave. */
#define SE05X_VI2C_OP_WRITE 0x57u /* 'W' len data   -> ACK | NACK */
#define SE05X_VI2C_OP_READ 0x52u  /* 'R' len        -> ACK data[len] | NACK */
#define SE05X_VI2C_ACK 0x06u
#define SE05X_VI2C_NACK 0x15u
#define SE05X_VI2C_MAX_XFER 1024u /* largest len of one transaction */
#define SE05X_VI2C_IDLE 0xFFu     /* bytes read past the end of a frame */

/* ---- engine ---------------------------------------------------------- */

typedef struct {
    unsigned bwt_ms;      /* 0 = from the ATR (default 1000) */
    unsigned max_retries; /* per block before RESYNC + failure; 0 = 3 */
    bool no_open_sequence;/* do not send RESYNC + GET ATR when opening */
} se05x_t1_opts;

typedef struct {
    unsigned long frames_sent, frames_received;
    unsigned long retransmit_requests; /* R-blocks sent asking for a resend */
    unsigned long resends;             /* blocks resent at the SE's request */
    unsigned long timeouts, bad_frames, wtx, busy_polls, resyncs;
} se05x_t1_stats;

/* Open an engine over a phy; takes ownership of ctx (phy->close on any
 * failure too). Unless opts->no_open_sequence, runs RESYNC + GET ATR. */
se05x_status se05x_t1_open_phy(const se05x_t1_phy_ops *phy, void *ctx, const se05x_t1_opts *opts,
                               se05x_transport **out, char *err, size_t errlen);

/* se05x_t1_i2c_open / se05x_t1_socket_open with options and an error text. */
se05x_status se05x_t1_i2c_open_ex(const char *dev, uint8_t addr, const se05x_t1_opts *opts,
                                  se05x_transport **out, char *err, size_t errlen);
se05x_status se05x_t1_socket_open_ex(const char *path, const se05x_t1_opts *opts,
                                     se05x_transport **out, char *err, size_t errlen);

/* Counters and link parameters of a T=1 transport; SE05X_ERR_ARG if t is
 * not one. */
se05x_status se05x_t1_get_stats(const se05x_transport *t, se05x_t1_stats *st);
se05x_status se05x_t1_get_params(const se05x_transport *t, unsigned *bwt_ms, unsigned *ifsc);

#endif
