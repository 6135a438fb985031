/* Strict SE05x TLV writer and reader (spec §1.4): 1-byte tags, lengths in
 * the 1-byte (00..7F), 81 LL and 82 HH LL forms, big-endian fixed-width
 * integers. The writer always uses the shortest form (as NXP's middleware
 * does); the reader accepts any of the three forms for any value.
 *
 * Two parsers are offered:
 *  - se05x_tlv_expect(): for responses. The caller lists the tags it expects
 *    in order (each mandatory or optional, with length bounds); anything
 *    truncated, oversized, duplicated, out of order, unexpected or trailing
 *    is rejected with a distinct status code.
 *  - se05x_tlv_parse_set(): for command payloads (the simulator). Collects
 *    every TLV by tag, rejecting duplicates, truncation, tags outside the
 *    allowed set and (optionally) descending order. */
#ifndef SE05X_TLV_H
#define SE05X_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/status.h"

/* Tag values (spec §1.4). */
enum {
    SE05X_TAG_SESSION_ID = 0x10,
    SE05X_TAG_POLICY = 0x11,
    SE05X_TAG_MAX_ATTEMPTS = 0x12,
    SE05X_TAG_IMPORT_AUTH_DATA = 0x13,
    SE05X_TAG_IMPORT_AUTH_KEY_ID = 0x14,
    SE05X_TAG_POLICY_CHECK = 0x15,
    SE05X_TAG_1 = 0x41,
    SE05X_TAG_2 = 0x42,
    SE05X_TAG_3 = 0x43,
    SE05X_TAG_4 = 0x44,
    SE05X_TAG_5 = 0x45,
    SE05X_TAG_6 = 0x46,
    SE05X_TAG_7 = 0x47,
    SE05X_TAG_8 = 0x48,
    SE05X_TAG_9 = 0x49,
    SE05X_TAG_10 = 0x4A,
    SE05X_TAG_11 = 0x4B,
    SE05X_TAG_TIMESTAMP = 0x4F,
    SE05X_TAG_SIGNATURE = 0x52,
};

/* ---- writer ---------------------------------------------------------- */

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    se05x_status err; /* first error seen; later writes are ignored */
} se05x_tlvw;

void se05x_tlvw_init(se05x_tlvw *w, uint8_t *buf, size_t cap);
/* Append tag + length + value (value may be NULL when len is 0). */
void se05x_tlvw_bytes(se05x_tlvw *w, uint8_t tag, const uint8_t *val, size_t len);
void se05x_tlvw_u8(se05x_tlvw *w, uint8_t tag, uint8_t v);
void se05x_tlvw_u16(se05x_tlvw *w, uint8_t tag, uint16_t v);
void se05x_tlvw_u32(se05x_tlvw *w, uint8_t tag, uint32_t v);
/* Optional numeric TLVs: omitted when the value is 0 (spec §1.4). */
void se05x_tlvw_u8_opt(se05x_tlvw *w, uint8_t tag, uint8_t v);
void se05x_tlvw_u16_opt(se05x_tlvw *w, uint8_t tag, uint16_t v);
void se05x_tlvw_u32_opt(se05x_tlvw *w, uint8_t tag, uint32_t v);
/* Append raw bytes (no TLV header). */
void se05x_tlvw_raw(se05x_tlvw *w, const uint8_t *data, size_t len);
/* Append a TLV whose length always uses the 82 HH LL form (attestation). */
void se05x_tlvw_bytes_long(se05x_tlvw *w, uint8_t tag, const uint8_t *val, size_t len);
/* SE05X_OK or the first error (SE05X_ERR_BUFFER on overflow). */
static inline se05x_status se05x_tlvw_status(const se05x_tlvw *w) { return w->err; }

/* Encode just a TLV length field into out (1..3 bytes); returns its size. */
size_t se05x_tlv_encode_len(size_t len, uint8_t out[3]);

/* ---- reader ---------------------------------------------------------- */

typedef struct {
    const uint8_t *val; /* points into the parsed buffer */
    size_t len;
    bool present;
} se05x_tlv_item;

/* Read one TLV at *pos; advances *pos past it. */
se05x_status se05x_tlv_next(const uint8_t *buf, size_t len, size_t *pos,
                            uint8_t *tag, const uint8_t **val, size_t *vlen);

#define SE05X_TLV_OPTIONAL 0x01u

typedef struct {
    uint8_t tag;
    uint8_t flags;    /* SE05X_TLV_OPTIONAL */
    uint16_t min_len;
    uint16_t max_len; /* 0 = no upper bound (0xFFFF) */
} se05x_tlv_expect_t;

/* Strict sequential parse of a response payload (without SW): the TLVs must
 * appear in exactly the order of exp[], optional ones may be absent, nothing
 * else may follow. out[i] receives the value of exp[i]. */
se05x_status se05x_tlv_expect(const uint8_t *buf, size_t len,
                              const se05x_tlv_expect_t *exp, size_t nexp,
                              se05x_tlv_item *out);

/* All TLVs of a command payload, indexed by tag. */
typedef struct {
    se05x_tlv_item t[256];
} se05x_tlv_set;

/* Parse every TLV of buf into set. allowed (may be NULL = any tag) is a
 * 0-terminated list of permitted tags. With ascending, tags must appear in
 * strictly ascending order. */
se05x_status se05x_tlv_parse_set(const uint8_t *buf, size_t len, const uint8_t *allowed,
                                 bool ascending, se05x_tlv_set *set);

/* Big-endian integer helpers for TLV values of exact width. */
se05x_status se05x_tlv_get_u8(const se05x_tlv_item *it, uint8_t *v);
se05x_status se05x_tlv_get_u16(const se05x_tlv_item *it, uint16_t *v);
se05x_status se05x_tlv_get_u32(const se05x_tlv_item *it, uint32_t *v);

static inline void se05x_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void se05x_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline uint16_t se05x_get_u16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t se05x_get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

#endif
