/* TEMPORARY stand-in for factory.c (deleted at merge): creates only the
 * random 18-byte UID object 0x7FFF0206 with origin PROVISIONED. */
#include <openssl/rand.h>

#include "sim_internal.h"

se05x_status sesim_factory_provision(sesim *s)
{
    uint8_t uid[18];
    sesim_obj o;
    if (RAND_bytes(uid, sizeof(uid)) != 1)
        return SE05X_ERR_CRYPTO;
    sesim_obj_init(&o);
    o.id = 0x7FFF0206u;
    o.type = SESIM_T_BINARY;
    o.origin = SESIM_ORIGIN_PROVISIONED;
    o.size = sizeof(uid);
    se05x_status rc = sesim_obj_set_comp(&o, SESIM_C_VALUE, uid, sizeof(uid));
    if (rc == SE05X_OK)
        rc = sesim_store_save(s, &o);
    sesim_obj_free(&o);
    return rc;
}
