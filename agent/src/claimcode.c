/* Claim code injection and deletion on SE05x through hostlib (spec §5.1), and
 * the claim code file reader of el2go-claimcode-inject. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "el2go/claimcode.h"
#include "se05x/commands.h"
#include "se05x/conn.h"

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

static el2go_status fail(se05x_conn *c, se05x_status st, const char *what, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s (%s)", what, se05x_strerror(st), se05x_conn_errmsg(c));
    return st == SE05X_ERR_ARG ? EL2GO_ERR_ARG : EL2GO_ERR_SE;
}

el2go_status el2go_claimcode_inject(se05x_conn *c, const char *code, size_t len, char *err,
                                    size_t errlen)
{
    if (!c || !code || len == 0 || len > EL2GO_CLAIMCODE_MAX)
        return EL2GO_ERR_ARG;
    bool demo = false, old = false;
    se05x_status st = se05x_object_exists(c, EL2GO_AUTH_USER_DEMO, &demo);
    if (st != SE05X_OK)
        return fail(c, st, "checking for the demo EdgeLock 2GO user", err, errlen);
    se05x_policy pol;
    el2go_claimcode_policy(demo ? EL2GO_AUTH_USER_DEMO : EL2GO_AUTH_USER_PROD, &pol);
    st = se05x_object_exists(c, EL2GO_CLAIMCODE_ID, &old);
    if (st == SE05X_OK && old)
        st = se05x_delete_object(c, EL2GO_CLAIMCODE_ID);
    if (st != SE05X_OK)
        return fail(c, st, "deleting the old claim code", err, errlen);
    se05x_obj_opts o = {.policy = &pol};
    st = se05x_write_binary(c, &o, EL2GO_CLAIMCODE_ID, (const uint8_t *)code, len, false);
    if (st != SE05X_OK)
        return fail(c, st, "writing the claim code", err, errlen);
    return EL2GO_OK;
}

el2go_status el2go_claimcode_delete(se05x_conn *c, char *err, size_t errlen)
{
    if (!c)
        return EL2GO_ERR_ARG;
    bool exists = false;
    se05x_status st = se05x_object_exists(c, EL2GO_CLAIMCODE_ID, &exists);
    if (st == SE05X_OK && !exists) {
        if (err && errlen)
            snprintf(err, errlen, "no claim code (object 0x%08X) on the SE", EL2GO_CLAIMCODE_ID);
        return EL2GO_ERR_NOT_FOUND;
    }
    if (st == SE05X_OK)
        st = se05x_delete_object(c, EL2GO_CLAIMCODE_ID);
    if (st != SE05X_OK)
        return fail(c, st, "deleting the claim code", err, errlen);
    return EL2GO_OK;
}
