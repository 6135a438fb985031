/* Store loader for "se05x:0xID" (alias "nxp:0xID") URIs: an EC, RSA, Ed25519 or X25519
 * key is handed to our keymgmt by reference (OSSL_OBJECT_PARAM_REFERENCE,
 * an se05x_keyref), a binary object holding a DER or PEM certificate is returned
 * as DER certificate data; the bare "se05x:" enumerates every object as a
 * name (its URI) or, when a type is expected, as the keys/certificates
 * themselves. The expected type (OSSL_STORE_expect) is honoured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>

#include "prov.h"

typedef struct {
    se05x_prov *pc;
    bool all;
    uint32_t id;
    int expect;                 /* OSSL_STORE_INFO_* or 0 */
    bool eof;
    sss_object_info *list;      /* enumeration */
    size_t n, pos;
    bool listed;
} store_ctx;

static void *st_open(void *provctx, const char *uri)
{
    se05x_prov *pc = provctx;
    store_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->pc = pc;
    if (!se05x_uri_parse(uri, &c->all, &c->id)) {
        SE05X_ERR(pc, SE05X_R_BAD_URI, "'%s' is not se05x:0xID (1 to 8 hex digits) or se05x:",
                  uri);
        free(c);
        return NULL;
    }
    return c;
}

static int st_close(void *vctx)
{
    store_ctx *c = vctx;
    if (c != NULL) {
        free(c->list);
        free(c);
    }
    return 1;
}

static int st_eof(void *vctx)
{
    return ((store_ctx *)vctx)->eof;
}

static const OSSL_PARAM *st_settable_ctx_params(void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
        OSSL_PARAM_END,
    };
    return t;
}

static int st_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    store_ctx *c = vctx;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
    if (p != NULL && !OSSL_PARAM_get_int(p, &c->expect))
        return 0;
    return 1; /* search criteria (subject, alias...) are not used */
}

static bool wants_key(int expect)
{
    return expect == 0 || expect == OSSL_STORE_INFO_PKEY || expect == OSSL_STORE_INFO_PUBKEY;
}

static bool wants_cert(int expect)
{
    return expect == 0 || expect == OSSL_STORE_INFO_CERT;
}

static int pass_key(store_ctx *c, uint32_t id, OSSL_CALLBACK *cb, void *cbarg)
{
    se05x_key *k = se05x_key_open(c->pc, id);
    if (k == NULL)
        return 0;
    /* A caller that expects a public key gets a public view of the SE key
     * (OpenSSL files it as PUBKEY because "has private" is then false). */
    if (c->expect == OSSL_STORE_INFO_PUBKEY)
        k->priv = false;
    int type = OSSL_OBJECT_PKEY;
    se05x_keyref ref;
    se05x_keyref_set(&ref, k);
    OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &type),
        OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)se05x_kind_name(k->kind),
                               strlen(se05x_kind_name(k->kind))),
        OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &ref, sizeof(ref)),
        OSSL_PARAM_END,
    };
    int ok = cb(params, cbarg);
    se05x_key_unref(k); /* keymgmt load took its own reference */
    return ok;
}

/* quiet: enumeration skips binary objects that are not certificates
 * (returns -1 then, without calling cb). */
static int pass_cert(store_ctx *c, const sss_object_info *info, bool quiet, OSSL_CALLBACK *cb,
                     void *cbarg)
{
    size_t cap = info->size + 16, len = cap;
    uint8_t *der = malloc(cap);
    if (der == NULL)
        return 0;
    sss_session *s;
    if (!se05x_session_acquire(c->pc, &s)) {
        free(der);
        return 0;
    }
    sss_status st = sss_cert_read_der(s, info->id, der, &len);
    if (st != SSS_OK && !quiet) {
        char what[80];
        snprintf(what, sizeof(what), "reading a certificate from binary object 0x%08X",
                 (unsigned)info->id);
        SE05X_ERR_SSS(c->pc, st, what);
    }
    se05x_session_release(c->pc);
    int ok = st == SSS_OK;
    if (ok) {
        int type = OSSL_OBJECT_CERT;
        OSSL_PARAM params[] = {
            OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &type),
            OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE, "Certificate",
                                   strlen("Certificate")),
            OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_DATA, der, len),
            OSSL_PARAM_END,
        };
        ok = cb(params, cbarg);
    }
    free(der);
    return st != SSS_OK && quiet ? -1 : ok;
}

static int pass_name(const sss_object_info *info, OSSL_CALLBACK *cb, void *cbarg)
{
    char uri[32], desc[96];
    se05x_uri_format(info->id, uri, sizeof(uri));
    const char *tn = sss_key_type_name(info->type);
    se05x_key_kind kind = se05x_kind_of(info->type, info->curve);
    if (info->type == SSS_KT_BINARY)
        snprintf(desc, sizeof(desc), "%s, %u bytes", tn, (unsigned)info->size);
    else if (kind == SE05X_KEY_ED25519 || kind == SE05X_KEY_X25519)
        snprintf(desc, sizeof(desc), "%s, %s", tn, kind == SE05X_KEY_X25519 ? "X25519" : "Ed25519");
    else if (info->bits != 0)
        snprintf(desc, sizeof(desc), "%s, %u bits", tn, (unsigned)info->bits);
    else
        snprintf(desc, sizeof(desc), "%s", tn);
    int type = OSSL_OBJECT_NAME;
    OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &type),
        OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA, uri, strlen(uri)),
        OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DESC, desc, strlen(desc)),
        OSSL_PARAM_END,
    };
    return cb(params, cbarg);
}

/* Load the single object named by the URI. */
static int load_one(store_ctx *c, OSSL_CALLBACK *cb, void *cbarg)
{
    c->eof = true;
    sss_session *s;
    if (!se05x_session_acquire(c->pc, &s))
        return 0;
    sss_object_info info;
    sss_status st = sss_object_info_get(s, c->id, &info);
    if (st != SSS_OK) {
        char what[48];
        snprintf(what, sizeof(what), "loading se05x:0x%08X", (unsigned)c->id);
        SE05X_ERR_SSS(c->pc, st, what);
    }
    se05x_session_release(c->pc);
    if (st != SSS_OK)
        return 0;
    if (se05x_kind_of(info.type, info.curve) != 0) {
        if (!wants_key(c->expect))
            return 0; /* not what the caller looks for: no object */
        return pass_key(c, c->id, cb, cbarg);
    }
    if (info.type == SSS_KT_BINARY) {
        if (!wants_cert(c->expect))
            return 0;
        return pass_cert(c, &info, false, cb, cbarg);
    }
    SE05X_ERR(c->pc, SE05X_R_KEY_TYPE,
              "object 0x%08X is a %s; only EC/RSA/Ed25519/X25519 keys and certificates load",
              (unsigned)c->id, sss_key_type_name(info.type));
    return 0;
}

/* Next object of the enumeration: names, or typed objects when expected. */
static int load_next(store_ctx *c, OSSL_CALLBACK *cb, void *cbarg)
{
    if (!c->listed) {
        sss_session *s;
        if (!se05x_session_acquire(c->pc, &s)) {
            c->eof = true;
            return 0;
        }
        sss_status st = sss_object_list(s, &c->list, &c->n);
        if (st != SSS_OK)
            SE05X_ERR_SSS(c->pc, st, "listing objects");
        se05x_session_release(c->pc);
        c->listed = true;
        if (st != SSS_OK) {
            c->eof = true;
            return 0;
        }
    }
    while (c->pos < c->n) {
        const sss_object_info *info = &c->list[c->pos++];
        c->eof = c->pos >= c->n;
        if (c->expect == 0 || c->expect == OSSL_STORE_INFO_NAME)
            return pass_name(info, cb, cbarg);
        if (se05x_kind_of(info->type, info->curve) != 0 && wants_key(c->expect))
            return pass_key(c, info->id, cb, cbarg);
        if (info->type == SSS_KT_BINARY && c->expect == OSSL_STORE_INFO_CERT) {
            int r = pass_cert(c, info, true, cb, cbarg);
            if (r >= 0)
                return r;
        }
    }
    c->eof = true;
    return 0;
}

static int st_load(void *vctx, OSSL_CALLBACK *cb, void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb,
                   void *pw_cbarg)
{
    store_ctx *c = vctx;
    if (c->eof)
        return 0;
    return c->all ? load_next(c, cb, cbarg) : load_one(c, cb, cbarg);
}

#define FN(id, f) {id, (void (*)(void))(f)}
const OSSL_DISPATCH se05x_store_functions[] = {
    FN(OSSL_FUNC_STORE_OPEN, st_open),
    FN(OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, st_settable_ctx_params),
    FN(OSSL_FUNC_STORE_SET_CTX_PARAMS, st_set_ctx_params),
    FN(OSSL_FUNC_STORE_LOAD, st_load),
    FN(OSSL_FUNC_STORE_EOF, st_eof),
    FN(OSSL_FUNC_STORE_CLOSE, st_close),
    {0, NULL},
};
