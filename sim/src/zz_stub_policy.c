/* TEMPORARY STAND-IN (simcrypto branch only; deleted at merge): a crude
 * policy checker (user-0 entries only) so that handler tests can observe a
 * denial; the real one is policy.c. */
#include "sim_internal.h"

uint16_t sesim_policy_validate(const uint8_t *pol, size_t len)
{
    (void)pol;
    (void)len;
    return 0x9000;
}

uint16_t sesim_policy_check(const sesim_req *r, const sesim_obj *o, uint32_t ar)
{
    size_t p = 0;
    if (o->policy_len == 0)
        return 0x9000;
    while (p + 9 <= o->policy_len) {
        uint8_t l = o->policy[p];
        uint32_t who = se05x_get_u32(o->policy + p + 1);
        uint32_t bits = se05x_get_u32(o->policy + p + 5);
        if (who == 0 || who == r->auth_id)
            return (bits & ar) == ar && !(bits & SESIM_AR_FORBID_ALL) ? 0x9000 : 0x6986;
        p += 1u + l;
    }
    return 0x6986;
}
