/* STUB (to be replaced): host-side SCP03. */
#include "conn_internal.h"

se05x_status se05x_scp03_chan_wrap(se05x_scp03_chan *s, const uint8_t *capdu, size_t len,
                                   uint8_t *out, size_t cap, size_t *olen)
{
    return SE05X_ERR_UNSUPPORTED;
}
se05x_status se05x_scp03_chan_unwrap(se05x_scp03_chan *s, const uint8_t *rapdu, size_t len,
                                     uint8_t *out, size_t cap, size_t *olen)
{
    return SE05X_ERR_UNSUPPORTED;
}
void se05x_scp03_chan_free(se05x_scp03_chan *s) { (void)s; }
se05x_status se05x_scp03_keys_load(const char *path, se05x_scp03_keys *keys, char *err,
                                   size_t errlen)
{
    return SE05X_ERR_UNSUPPORTED;
}
se05x_status se05x_conn_scp03_open(se05x_conn *c, const se05x_scp03_keys *keys, uint8_t kvn)
{
    return SE05X_ERR_UNSUPPORTED;
}
