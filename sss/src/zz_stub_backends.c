/* TEMPORARY: empty host backend table until be_host*.c lands (deleted at merge). */
#include "sss_internal.h"
const sss_backend_ops sss_backend_host_ops = {.name = "host"};
