/* TEMPORARY stand-ins (link only) for conn.c, written by the lead; deleted
 * at merge. */
#include "conn_internal.h"

void se05x_conn_seterr(se05x_conn *c, const char *fmt, ...) { (void)fmt; }
se05x_status se05x_conn_xfer(se05x_conn *c, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                             size_t cap, size_t *rlen)
{
    return SE05X_ERR_UNSUPPORTED;
}
void se05x_conn_lock(se05x_conn *c) { (void)c; }
void se05x_conn_unlock(se05x_conn *c) { (void)c; }
