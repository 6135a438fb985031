/* KS_SSS_SE05X keystore endpoint (spec §2.6): raw command APDUs from the
 * cloud go unchanged to the SE through hostlib (se05x_conn_forward: inside
 * the connection's platform SCP03 channel when one is open, never inside
 * the host's own applet session) or a caller's callback; the answer is data || SW when the SW is 9000, else
 * only the 2-byte SW (0xFFFF when the link failed). */
#include <stdlib.h>
#include <string.h>

#include "el2go/agent.h"
#include "internal.h"
#include "se05x/apdu.h"
#include "se05x/conn.h"

struct el2go_keystore {
    uint32_t id;
    el2go_apdu_fn fn;
    void *ctx;
};

static el2go_status conn_xfer(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                              size_t cap, size_t *rlen)
{
    se05x_status st = se05x_conn_forward(ctx, capdu, len, rapdu, cap, rlen);
    return st == SE05X_OK ? EL2GO_OK : EL2GO_ERR_SE;
}

el2go_status el2go_ks_fn_new(uint32_t id, el2go_apdu_fn fn, void *ctx, el2go_keystore **out)
{
    if (!fn || !out)
        return EL2GO_ERR_ARG;
    el2go_keystore *ks = calloc(1, sizeof(*ks));
    if (!ks)
        return EL2GO_ERR_NOMEM;
    ks->id = id;
    ks->fn = fn;
    ks->ctx = ctx;
    *out = ks;
    return EL2GO_OK;
}

el2go_status el2go_ks_se05x_new(uint32_t id, se05x_conn *c, el2go_keystore **out)
{
    if (!c)
        return EL2GO_ERR_ARG;
    return el2go_ks_fn_new(id, conn_xfer, c, out);
}

void el2go_ks_free(el2go_keystore *ks) { free(ks); }

uint32_t el2go_ks_id(const el2go_keystore *ks) { return ks->id; }

static void put_sw(uint8_t *out, uint16_t sw)
{
    out[0] = (uint8_t)(sw >> 8);
    out[1] = (uint8_t)sw;
}

el2go_status el2go_ks_forward(el2go_keystore *ks, const uint8_t *capdu, size_t len, uint8_t *out,
                              size_t cap, size_t *olen)
{
    if (!ks || !capdu || !out || !olen || cap < 2)
        return EL2GO_ERR_ARG;
    size_t rlen = 0;
    el2go_status st = EL2GO_ERR_SE;
    if (len >= 4 && len <= SE05X_APDU_MAX)
        st = ks->fn(ks->ctx, capdu, len, out, cap, &rlen);
    if (st != EL2GO_OK || rlen < 2 || rlen > cap) {
        put_sw(out, 0xFFFF); /* communication failure, like SM_NOT_OK */
        *olen = 2;
        return EL2GO_OK;
    }
    uint16_t sw = (uint16_t)((out[rlen - 2] << 8) | out[rlen - 1]);
    if (sw != 0x9000) {
        put_sw(out, sw);
        rlen = 2;
    }
    *olen = rlen;
    return EL2GO_OK;
}
