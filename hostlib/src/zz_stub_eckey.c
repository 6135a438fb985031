/* TEMPORARY until ECKey sessions land (deleted at merge). */
#include "se05x/conn.h"
se05x_status se05x_session_open_eckey(se05x_conn *c, uint32_t auth_id, EVP_PKEY *host_key) { return SE05X_ERR_UNSUPPORTED; }
