/* TEMPORARY: empty backend tables until the backends land (deleted at merge). */
#include "sss_internal.h"
const sss_backend_ops sss_backend_se05x_ops = {.name = "se05x"};
