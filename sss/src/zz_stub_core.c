/* TEMPORARY (branch ssshost): stand-ins for core functions (sss.c) that the
 * host backend and its tests use until the core lands; deleted at merge. */
#include <stdarg.h>
#include <stdio.h>

#include "sss_internal.h"

void sss_seterr(sss_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

const char *sss_key_type_name(sss_key_type t)
{
    static const char *const names[] = {"none", "ec-pair", "ec-pub", "ec-priv", "rsa-pair",
                                        "rsa-pub", "rsa-priv", "aes", "des", "hmac", "binary",
                                        "userid", "counter", "pcr", "other"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}
