/* Object policies (spec §3): validation of a TAG_POLICY value and the
 * access check made by every command handler. Choices (docs/simulator.md):
 *  - default policy (none given at creation, policy_len 0): every operation
 *    applicable to the object type is allowed for everybody (spec §3.3 /
 *    open question 1);
 *  - the entry for the requester's session auth object applies if present,
 *    else the entry for auth id 0 (sessionless / any user); a policy with
 *    entries only for other auth ids denies everything else (6986);
 *  - FORBID_ALL denies (6986); REQUIRE_SM without secure messaging gives
 *    6982; REQUIRE_PCR_VALUE compares the PCR object named in the extension
 *    with the expected 32-byte value (mismatch or missing PCR: 6986). */
#include <openssl/crypto.h>
#include <string.h>

#include "sim_internal.h"

#define PCR_EXT_LEN 36u /* PCR object id (4) + expected value (32) */

uint16_t sesim_policy_validate(const uint8_t *pol, size_t len)
{
    size_t p = 0;
    if (len > 255 || (len && !pol))
        return SE05X_SW_DATA_INVALID;
    while (p < len) {
        size_t l = pol[p];
        if (l < 8 || l > len - p - 1)
            return SE05X_SW_DATA_INVALID;
        uint32_t ar = se05x_get_u32(pol + p + 5);
        if ((ar & SESIM_AR_REQUIRE_PCR) && l < 8 + PCR_EXT_LEN)
            return SE05X_SW_DATA_INVALID;
        /* one entry per auth id */
        uint32_t id = se05x_get_u32(pol + p + 1);
        for (size_t q = 0; q < p; q += 1 + pol[q]) {
            if (se05x_get_u32(pol + q + 1) == id)
                return SE05X_SW_DATA_INVALID;
        }
        p += 1 + l;
    }
    return SE05X_SW_OK;
}

/* Find the entry for auth_id; NULL if none. */
static const uint8_t *find_entry(const sesim_obj *o, uint32_t auth_id)
{
    size_t p = 0;
    while (p < o->policy_len) {
        size_t l = o->policy[p];
        if (l < 8 || l > o->policy_len - p - 1)
            return NULL;
        if (se05x_get_u32(o->policy + p + 1) == auth_id)
            return o->policy + p;
        p += 1 + l;
    }
    return NULL;
}

static bool pcr_ok(const sesim_req *r, const uint8_t *e)
{
    if (e[0] < 8 + PCR_EXT_LEN)
        return false;
    uint32_t pcr_id = se05x_get_u32(e + 9);
    sesim_obj pcr;
    if (sesim_store_load(r->sim, pcr_id, &pcr) != SE05X_OK)
        return false;
    bool ok = pcr.type == SESIM_T_PCR && pcr.comp[SESIM_C_VALUE].len == 32 &&
              CRYPTO_memcmp(pcr.comp[SESIM_C_VALUE].v, e + 13, 32) == 0;
    sesim_obj_free(&pcr);
    return ok;
}

uint16_t sesim_policy_check(const sesim_req *r, const sesim_obj *o, uint32_t ar)
{
    if (o->policy_len == 0)
        return SE05X_SW_OK;
    const uint8_t *e = NULL;
    if (r->auth_id != 0)
        e = find_entry(o, r->auth_id);
    if (!e)
        e = find_entry(o, 0);
    if (!e)
        return SE05X_SW_NOT_ALLOWED;
    uint32_t rules = se05x_get_u32(e + 5);
    if (rules & SESIM_AR_FORBID_ALL)
        return SE05X_SW_NOT_ALLOWED;
    if ((rules & SESIM_AR_REQUIRE_SM) && !r->secure_messaging)
        return SE05X_SW_SECURITY_STATUS;
    if ((rules & SESIM_AR_REQUIRE_PCR) && !pcr_ok(r, e))
        return SE05X_SW_NOT_ALLOWED;
    if ((rules & ar) != ar)
        return SE05X_SW_NOT_ALLOWED;
    return SE05X_SW_OK;
}
