/* Object policies from user text (sss/spec.h): "[AUTHID:]rules" entries
 * separated by ';' (e.g. "sign,read" or "0x7DA00001:sign;0:read,verify"),
 * the one parser behind the CLI's --policy and the provider's se05x-policy
 * key generation parameter. Rule names and bitmaps are hostlib's
 * se05x_ar_parse; entries go through se05x_policy_add (merged per id). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sss/spec.h"

static sss_status perr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static sss_status perr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return SSS_ERR_ARG;
}

/* One "[AUTHID:]rules" entry (e is modified). */
static sss_status parse_entry(char *e, se05x_policy *p, char *err, size_t errlen)
{
    uint32_t auth_id = 0, ar = 0;
    char *colon = strchr(e, ':');
    if (colon != NULL) {
        *colon = '\0';
        char *id = e;
        while (isspace((unsigned char)*id))
            id++;
        for (char *t = colon; t > id && isspace((unsigned char)t[-1]);)
            *--t = '\0';
        if (!sss_parse_id(id, &auth_id))
            return perr(err, errlen, "invalid auth object id '%s' (hex, before ':')", id);
        e = colon + 1;
    }
    char why[128] = "";
    if (se05x_ar_parse(e, &ar, why, sizeof(why)) != SE05X_OK || ar == 0)
        return perr(err, errlen, "%s", why[0] ? why : "no access rules given");
    if (se05x_policy_add(p, auth_id, ar) != SE05X_OK)
        return perr(err, errlen, "too many entries (at most %d auth object ids)",
                    SE05X_POLICY_MAX_ENTRIES);
    return SSS_OK;
}

sss_status sss_policy_parse_text(const char *rules, se05x_policy *p, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    se05x_policy_init(p);
    if (rules == NULL)
        return perr(err, errlen, "no access rules given");
    char *copy = strdup(rules);
    if (copy == NULL)
        return SSS_ERR_NOMEM;
    sss_status st = SSS_OK;
    char *save = NULL;
    for (char *e = strtok_r(copy, ";", &save); e != NULL && st == SSS_OK;
         e = strtok_r(NULL, ";", &save)) {
        while (isspace((unsigned char)*e))
            e++;
        if (*e != '\0')
            st = parse_entry(e, p, err, errlen);
    }
    if (st == SSS_OK && p->n == 0)
        st = perr(err, errlen, "no access rules given");
    free(copy);
    if (st != SSS_OK)
        se05x_policy_init(p);
    return st;
}
