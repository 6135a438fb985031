/* Claim code injection and deletion on SE05x through sss (spec §5.1), and
 * the claim code file reader of el2go-claimcode-inject. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "el2go/claimcode.h"

el2go_status el2go_claimcode_read_file(const char *path, char *out, size_t cap, size_t *len)
{
    if (!path || !out || !len || cap == 0)
        return EL2GO_ERR_ARG;
    FILE *f = fopen(path, "rb");
    if (!f)
        return EL2GO_ERR_NOT_FOUND;
    size_t n = 0;
    el2go_status st = EL2GO_OK;
    int c;
    while (st == EL2GO_OK && (c = fgetc(f)) != EOF && c != 0) {
        if (c == ' ' || c == '\r' || c == '\n')
            continue;
        if (c < 0x21 || c > 0x7E)
            st = EL2GO_ERR_INVALID;
        else if (n >= cap || n >= EL2GO_CLAIMCODE_MAX)
            st = EL2GO_ERR_TOO_LARGE;
        else
            out[n++] = (char)c;
    }
    if (st == EL2GO_OK && ferror(f))
        st = EL2GO_ERR_IO;
    fclose(f);
    if (st == EL2GO_OK && n == 0)
        st = EL2GO_ERR_INVALID;
    if (st != EL2GO_OK) {
        OPENSSL_cleanse(out, cap);
        return st;
    }
    if (n < cap)
        out[n] = 0;
    *len = n;
    return EL2GO_OK;
}

el2go_status el2go_claimcode_policy(uint32_t el2go_user, se05x_policy *p)
{
    if (!p)
        return EL2GO_ERR_ARG;
    se05x_policy_init(p);
    if (se05x_policy_add(p, 0, SE05X_AR_WRITE | SE05X_AR_DELETE) != SE05X_OK ||
        se05x_policy_add(p, el2go_user, SE05X_AR_READ | SE05X_AR_WRITE | SE05X_AR_DELETE) !=
            SE05X_OK)
        return EL2GO_ERR_ARG;
    return EL2GO_OK;
}

static el2go_status map(sss_status st)
{
    switch (st) {
    case SSS_OK: return EL2GO_OK;
    case SSS_ERR_NOT_FOUND: return EL2GO_ERR_NOT_FOUND;
    case SSS_ERR_ARG: return EL2GO_ERR_ARG;
    case SSS_ERR_NOMEM: return EL2GO_ERR_NOMEM;
    default: return EL2GO_ERR_SE;
    }
}

static el2go_status fail(sss_session *s, sss_status st, const char *what, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s (%s)", what, sss_strerror(st), sss_session_errmsg(s));
    return map(st);
}

el2go_status el2go_claimcode_inject(sss_session *s, const char *code, size_t len, char *err,
                                    size_t errlen)
{
    if (!s || !code || len == 0 || len > EL2GO_CLAIMCODE_MAX)
        return EL2GO_ERR_ARG;
    bool demo = false;
    sss_status st = sss_object_exists(s, EL2GO_AUTH_USER_DEMO, &demo);
    if (st != SSS_OK)
        return fail(s, st, "checking for the demo EdgeLock 2GO user", err, errlen);
    se05x_policy pol;
    el2go_claimcode_policy(demo ? EL2GO_AUTH_USER_DEMO : EL2GO_AUTH_USER_PROD, &pol);
    st = sss_object_delete(s, EL2GO_CLAIMCODE_ID);
    if (st != SSS_OK && st != SSS_ERR_NOT_FOUND)
        return fail(s, st, "deleting the old claim code", err, errlen);
    sss_write_opts o = {.policy = &pol, .force = false};
    st = sss_binary_write(s, EL2GO_CLAIMCODE_ID, (const uint8_t *)code, len, &o);
    if (st != SSS_OK)
        return fail(s, st, "writing the claim code", err, errlen);
    return EL2GO_OK;
}

el2go_status el2go_claimcode_delete(sss_session *s, char *err, size_t errlen)
{
    if (!s)
        return EL2GO_ERR_ARG;
    sss_status st = sss_object_delete(s, EL2GO_CLAIMCODE_ID);
    if (st != SSS_OK)
        return fail(s, st, "deleting the claim code", err, errlen);
    return EL2GO_OK;
}
