/* TEMPORARY stand-ins until the JRCP and T=1 transports land (deleted at merge). */
#include "se05x/transport.h"
se05x_status se05x_jrcp_open(const char *host, uint16_t port, se05x_transport **out) { return SE05X_ERR_UNSUPPORTED; }
se05x_status se05x_t1_i2c_open(const char *dev, uint8_t addr, se05x_transport **out) { return SE05X_ERR_UNSUPPORTED; }
se05x_status se05x_t1_socket_open(const char *path, se05x_transport **out) { return SE05X_ERR_UNSUPPORTED; }
