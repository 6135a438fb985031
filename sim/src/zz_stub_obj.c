/* TEMPORARY STAND-IN (simcrypto branch only; deleted at merge): sesim_obj
 * helpers owned by the object-store engineer, just enough for the crypto
 * modules and their unit tests. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

void sesim_obj_init(sesim_obj *o) { memset(o, 0, sizeof(*o)); }

void sesim_obj_free(sesim_obj *o)
{
    for (int i = 0; i < SESIM_C_COUNT; i++) {
        if (o->comp[i].v) {
            OPENSSL_cleanse(o->comp[i].v, o->comp[i].len);
            free(o->comp[i].v);
        }
        o->comp[i].v = NULL;
        o->comp[i].len = 0;
    }
}

se05x_status sesim_obj_set_comp(sesim_obj *o, int comp, const uint8_t *v, size_t len)
{
    if (comp < 0 || comp >= SESIM_C_COUNT)
        return SE05X_ERR_ARG;
    uint8_t *n = malloc(len ? len : 1);
    if (!n)
        return SE05X_ERR_NOMEM;
    if (len)
        memcpy(n, v, len);
    if (o->comp[comp].v) {
        OPENSSL_cleanse(o->comp[comp].v, o->comp[comp].len);
        free(o->comp[comp].v);
    }
    o->comp[comp].v = n;
    o->comp[comp].len = len;
    return SE05X_OK;
}

size_t sesim_obj_footprint(const sesim_obj *o)
{
    size_t n = 64 + o->policy_len;
    for (int i = 0; i < SESIM_C_COUNT; i++)
        n += o->comp[i].len;
    return n;
}
