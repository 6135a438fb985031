/* ISO 7816-4 command APDU encoding and decoding, every case (1, 2S, 2E, 3S,
 * 3E, 4S, 4E), and response APDU splitting. The encoder follows NXP's
 * middleware rule (spec §1.3): Lc is short only when the data is shorter
 * than 255 bytes and no extended Le is requested; otherwise both Lc and Le
 * use the extended form. The decoder implements the full ISO grammar so the
 * simulator accepts what any host sends. */
#ifndef SE05X_APDU_H
#define SE05X_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/status.h"

/* Largest APDU (command or response) any transport of ours carries. */
#define SE05X_APDU_MAX 4096u
/* Largest command data field the simulator (and a real 7.x applet) accepts. */
#define SE05X_MAX_CMD_DATA 1024u

/* Le conventions of NXP's middleware (spec §2 "Le" column). */
#define SE05X_NE_NONE 0u        /* case 1/3: no Le field */
#define SE05X_NE_SHORT 256u     /* single 00 */
#define SE05X_NE_EXT 65536u     /* 00 00 (with extended Lc) */

typedef struct {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* command data (Lc bytes), may be NULL if lc == 0 */
    size_t lc;
    uint32_t ne;   /* expected response length, 0 = no Le field, 1..65536 */
    bool extended; /* force extended length fields */
} se05x_apdu;

/* Encode a into out[cap]; *outlen receives the size. */
se05x_status se05x_apdu_encode(const se05x_apdu *a, uint8_t *out, size_t cap, size_t *outlen);

/* Decode a command APDU. a->data points into buf. Returns SE05X_ERR_APDU on
 * anything that is not one of the ISO cases. */
se05x_status se05x_apdu_decode(const uint8_t *buf, size_t len, se05x_apdu *a);

/* Split a response APDU: data is the first *dlen bytes, *sw the last two.
 * SE05X_ERR_RESPONSE if shorter than 2 bytes. */
se05x_status se05x_rapdu_split(const uint8_t *buf, size_t len, size_t *dlen, uint16_t *sw);

#endif
