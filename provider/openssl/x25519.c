/* X25519 keys of the SE (EC objects on curve 0x41): key management (load by
 * reference from our store, generation in the SE at `se05x-id`, has/match,
 * parameters, public-only export, public-only import, dup) and the X25519
 * key exchange with the SE private key (one APDU through sss_derive_ecdh;
 * the peer key may come from any provider). The functions are the ones of
 * keymgmt.c and keyexch.c with the X25519 kind; this file holds what is
 * X25519's own: the tables and the kind checks. A host X25519 private key
 * is never captured: our keymgmt refuses private imports, so OpenSSL uses
 * the default provider for it. */
#include "prov.h"

/* ---- keymgmt ------------------------------------------------------------------------ */

static void *x_new(void *provctx) { return se05x_key_from_pub(provctx, SE05X_KEY_X25519, NULL); }

static void *x_load(const void *ref, size_t sz)
{
    return se05x_km_load(SE05X_KEY_X25519, ref, sz);
}

static const OSSL_PARAM *x_gettable_params(void *provctx)
{
    return se05x_km_raw_gettable(false);
}

static const char *x_query_op(int op)
{
    return op == OSSL_OP_KEYEXCH ? "X25519" : NULL;
}

#define FN(id, f) {id, (void (*)(void))(f)}
const OSSL_DISPATCH se05x_x25519_keymgmt_functions[] = {
    FN(OSSL_FUNC_KEYMGMT_NEW, x_new),
    FN(OSSL_FUNC_KEYMGMT_GEN_INIT, se05x_x25519_gen_init),
    FN(OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE, se05x_gen_set_template),
    FN(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, se05x_gen_set_params),
    FN(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, se05x_ec_gen_settable),
    FN(OSSL_FUNC_KEYMGMT_GEN, se05x_gen),
    FN(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, se05x_gen_cleanup),
    FN(OSSL_FUNC_KEYMGMT_FREE, se05x_km_free),
    FN(OSSL_FUNC_KEYMGMT_LOAD, x_load),
    FN(OSSL_FUNC_KEYMGMT_HAS, se05x_km_has),
    FN(OSSL_FUNC_KEYMGMT_MATCH, se05x_km_match),
    FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, se05x_km_get_params),
    FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, x_gettable_params),
    FN(OSSL_FUNC_KEYMGMT_SET_PARAMS, se05x_km_set_params),
    FN(OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, se05x_km_settable_params),
    FN(OSSL_FUNC_KEYMGMT_IMPORT, se05x_km_import),
    FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, se05x_km_raw_pub_types),
    FN(OSSL_FUNC_KEYMGMT_EXPORT, se05x_km_export),
    FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, se05x_km_raw_pub_types),
    FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, x_query_op),
    FN(OSSL_FUNC_KEYMGMT_DUP, se05x_km_dup),
    {0, NULL},
};

/* ---- keyexch ------------------------------------------------------------------------ */

static int x_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return se05x_kx_init(vctx, provkey, SE05X_KEY_X25519);
}

static int x_set_peer(void *vctx, void *provkey)
{
    return se05x_kx_set_peer(vctx, provkey, SE05X_KEY_X25519);
}

const OSSL_DISPATCH se05x_x25519_keyexch_functions[] = {
    FN(OSSL_FUNC_KEYEXCH_NEWCTX, se05x_kx_newctx),
    FN(OSSL_FUNC_KEYEXCH_INIT, x_init),
    FN(OSSL_FUNC_KEYEXCH_SET_PEER, x_set_peer),
    FN(OSSL_FUNC_KEYEXCH_DERIVE, se05x_kx_derive),
    FN(OSSL_FUNC_KEYEXCH_FREECTX, se05x_kx_freectx),
    FN(OSSL_FUNC_KEYEXCH_DUPCTX, se05x_kx_dupctx),
    {0, NULL},
};
