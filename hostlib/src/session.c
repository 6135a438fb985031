/* STUB (to be replaced): applet sessions. */
#include "conn_internal.h"

se05x_status se05x_session_xfer(se05x_conn *c, const uint8_t *inner, size_t len, uint8_t *rapdu,
                                size_t cap, size_t *rlen)
{
    return SE05X_ERR_UNSUPPORTED;
}
se05x_status se05x_session_reopen(se05x_conn *c) { return SE05X_ERR_UNSUPPORTED; }
se05x_status se05x_session_open_userid(se05x_conn *c, uint32_t auth_id, const uint8_t *userid,
                                       size_t len)
{
    return SE05X_ERR_UNSUPPORTED;
}
se05x_status se05x_session_open_aeskey(se05x_conn *c, uint32_t auth_id, const uint8_t key[16])
{
    return SE05X_ERR_UNSUPPORTED;
}
se05x_status se05x_session_close(se05x_conn *c) { return SE05X_ERR_UNSUPPORTED; }
bool se05x_session_active(const se05x_conn *c) { return c->session.kind != SE05X_SESSION_NONE; }
