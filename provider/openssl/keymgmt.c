/* Key management for EC (P-256/384/521), RSA and Ed25519 keys of the SE (X25519:
 * x25519.c, with the se05x_km_* functions of this file): load by
 * reference from our store, has/match on public parts (both directions:
 * OpenSSL exports a foreign key into us, we never export private parts),
 * the parameters TLS and the apps read (delegated to the public key held in
 * the private library context), export of public parts only, import of
 * public keys. A private key never leaves the SE, not even as a fake. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "prov.h"

#define KM_PUBLIC (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)

static se05x_key *km_new(se05x_prov *pc, se05x_key_kind kind)
{
    return se05x_key_from_pub(pc, kind, NULL);
}
static void *ec_new(void *provctx) { return km_new(provctx, SE05X_KEY_EC); }
static void *rsa_new(void *provctx) { return km_new(provctx, SE05X_KEY_RSA); }
static void *ed_new(void *provctx) { return km_new(provctx, SE05X_KEY_ED25519); }

void se05x_km_free(void *keydata) { se05x_key_unref(keydata); }

void *se05x_km_load(se05x_key_kind kind, const void *ref, size_t ref_sz)
{
    se05x_keyref r;
    if (ref == NULL || ref_sz != sizeof(r))
        return NULL;
    memcpy(&r, ref, sizeof(r));
    if (memcmp(r.magic, SE05X_KEYREF_MAGIC, sizeof(r.magic)) != 0 || r.key == NULL ||
        r.key->kind != kind)
        return NULL;
    return se05x_key_ref(r.key);
}
static void *ec_load(const void *ref, size_t sz) { return se05x_km_load(SE05X_KEY_EC, ref, sz); }
static void *rsa_load(const void *ref, size_t sz) { return se05x_km_load(SE05X_KEY_RSA, ref, sz); }
static void *ed_load(const void *ref, size_t sz)
{
    return se05x_km_load(SE05X_KEY_ED25519, ref, sz);
}

int se05x_km_has(const void *keydata, int selection)
{
    const se05x_key *k = keydata;
    if (k == NULL)
        return 0;
    if (k->eph)
        return se05x_eph_has(k, selection);
    int ok = 1;
    if (selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS))
        ok = ok && k->pub != NULL;
    if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)
        ok = ok && k->priv;
    return ok;
}

int se05x_km_match(const void *a, const void *b, int selection)
{
    const se05x_key *k1 = a, *k2 = b;
    int proven = se05x_keycert_match(k1, k2, selection); /* SE key with unreadable public part */
    if (proven >= 0)
        return proven;
    if (k1->pub == NULL || k2->pub == NULL)
        return 0;
    if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) {
        /* Private parts cannot be compared; the public key determines the
         * private one, and two SE references to one id are the same key. */
        if (k1->priv && k2->priv && k1->id != k2->id)
            return 0;
    }
    if (selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_PRIVATE_KEY))
        return EVP_PKEY_eq(k1->pub, k2->pub) == 1;
    if (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS)
        return EVP_PKEY_parameters_eq(k1->pub, k2->pub) == 1;
    return 1;
}

int se05x_km_get_params(void *keydata, OSSL_PARAM params[])
{
    se05x_key *k = keydata;
    if (k == NULL || k->pub == NULL)
        return 0;
    if (k->eph)
        return se05x_eph_get_params(k, params);
    /* bits, security-bits, max-size, group-name, encoded-pub-key, pub-key,
     * point-format, default-digest, n, e...: the public key knows them. */
    return EVP_PKEY_get_params(k->pub, params);
}

static const OSSL_PARAM *ec_gettable_params(void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_X, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_Y, NULL, 0),
        OSSL_PARAM_END,
    };
    return t;
}

/* EC/X25519 keys take a public point only as the peer's share of a TLS
 * ephemeral (ephemeral.c) */
int se05x_km_set_params(void *keydata, const OSSL_PARAM params[])
{
    se05x_key *k = keydata;
    if (k == NULL)
        return 0;
    if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY) == NULL)
        return 1;
    return k->eph && se05x_eph_set_params(k, params);
}

const OSSL_PARAM *se05x_km_settable_params(void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_END,
    };
    return t;
}

static const OSSL_PARAM *rsa_gettable_params(void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        OSSL_PARAM_END,
    };
    return t;
}

static bool has_private_params(se05x_key_kind kind, const OSSL_PARAM params[])
{
    if (kind != SE05X_KEY_RSA)
        return OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) != NULL;
    return OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D) != NULL;
}

int se05x_km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    se05x_key *k = keydata;
    if (k == NULL || k->pub != NULL || k->sk != NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && has_private_params(k->kind, params)) {
        SE05X_ERR(k->pc, SE05X_R_UNSUPPORTED,
                  "the se05x provider does not hold host private keys (import one into the SE)");
        return 0;
    }
    if (!(selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY))
        return 0;
    EVP_PKEY_CTX *ctx =
        EVP_PKEY_CTX_new_from_name(k->pc->libctx, se05x_kind_name(k->kind), NULL);
    EVP_PKEY *pub = NULL;
    /* drop any private components: only the public part is imported */
    int ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        SE05X_ERR(k->pc, SE05X_R_BAD_PARAM, "cannot import the %s public key",
                  se05x_kind_name(k->kind));
        return 0;
    }
    k->pub = pub;
    return 1;
}

const OSSL_PARAM *se05x_km_raw_gettable(bool ed25519)
{
    /* Ed25519 also names its mandatory digest (none); X25519 starts after it */
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_END,
    };
    return ed25519 ? t : t + 1;
}
static const OSSL_PARAM *ed_gettable_params(void *provctx)
{
    return se05x_km_raw_gettable(true);
}

se05x_key *se05x_key_import_params(se05x_prov *pc, se05x_key_kind kind, int selection,
                                   const OSSL_PARAM params[])
{
    se05x_key *k = km_new(pc, kind);
    if (k == NULL)
        return NULL;
    if (!se05x_km_import(k, selection, params)) {
        se05x_key_unref(k);
        return NULL;
    }
    return k;
}

static const OSSL_PARAM *ec_import_types(int selection)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_END,
    };
    return (selection & KM_PUBLIC) ? t : NULL;
}

static const OSSL_PARAM *rsa_import_types(int selection)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        OSSL_PARAM_END,
    };
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ? t : NULL;
}

const OSSL_PARAM *se05x_km_raw_pub_types(int selection)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_END,
    };
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ? t : NULL;
}

int se05x_km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    se05x_key *k = keydata;
    if (k == NULL || k->pub == NULL)
        return 0;
    if (k->eph)
        return se05x_eph_export(k, selection, cb, cbarg);
    /* Refusing keeps another provider from taking a public-only copy and
     * then failing (or worse) when asked to sign: operations on SE keys
     * stay in this provider. Public parts alone export freely. */
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && k->priv)
        return 0;
    if (!(selection & KM_PUBLIC))
        return 0;
    OSSL_PARAM *params = NULL;
    if (EVP_PKEY_todata(k->pub, EVP_PKEY_PUBLIC_KEY, &params) != 1)
        return 0;
    int ok = cb(params, cbarg);
    OSSL_PARAM_free(params);
    return ok;
}

static const char *ec_query_op(int op)
{
    return op == OSSL_OP_SIGNATURE ? "ECDSA" : op == OSSL_OP_KEYEXCH ? "ECDH" : NULL;
}
static const char *rsa_query_op(int op)
{
    return op == OSSL_OP_SIGNATURE ? "RSA" : NULL;
}

static const char *ed_query_op(int op)
{
    return op == OSSL_OP_SIGNATURE ? "ED25519" : NULL;
}

void *se05x_km_dup(const void *keydata, int selection)
{
    const se05x_key *k = keydata;
    if (k != NULL && k->eph) /* a TLS peer's share is set into a copy */
        return se05x_eph_dup(k, selection);
    /* keys are immutable once loaded or imported: share the object */
    return k != NULL ? se05x_key_ref((se05x_key *)k) : NULL;
}

#define FN(id, f) {id, (void (*)(void))(f)}
const OSSL_DISPATCH se05x_ec_keymgmt_functions[] = {
    FN(OSSL_FUNC_KEYMGMT_NEW, ec_new),
    FN(OSSL_FUNC_KEYMGMT_GEN_INIT, se05x_ec_gen_init),
    FN(OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE, se05x_gen_set_template),
    FN(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, se05x_gen_set_params),
    FN(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, se05x_ec_gen_settable),
    FN(OSSL_FUNC_KEYMGMT_GEN, se05x_gen),
    FN(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, se05x_gen_cleanup),
    FN(OSSL_FUNC_KEYMGMT_FREE, se05x_km_free),
    FN(OSSL_FUNC_KEYMGMT_LOAD, ec_load),
    FN(OSSL_FUNC_KEYMGMT_HAS, se05x_km_has),
    FN(OSSL_FUNC_KEYMGMT_MATCH, se05x_km_match),
    FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, se05x_km_get_params),
    FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, ec_gettable_params),
    FN(OSSL_FUNC_KEYMGMT_SET_PARAMS, se05x_km_set_params),
    FN(OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, se05x_km_settable_params),
    FN(OSSL_FUNC_KEYMGMT_IMPORT, se05x_km_import),
    FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, ec_import_types),
    FN(OSSL_FUNC_KEYMGMT_EXPORT, se05x_km_export),
    FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, ec_import_types),
    FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, ec_query_op),
    FN(OSSL_FUNC_KEYMGMT_DUP, se05x_km_dup),
    {0, NULL},
};

const OSSL_DISPATCH se05x_rsa_keymgmt_functions[] = {
    FN(OSSL_FUNC_KEYMGMT_NEW, rsa_new),
    FN(OSSL_FUNC_KEYMGMT_GEN_INIT, se05x_rsa_gen_init),
    FN(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, se05x_gen_set_params),
    FN(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, se05x_rsa_gen_settable),
    FN(OSSL_FUNC_KEYMGMT_GEN, se05x_gen),
    FN(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, se05x_gen_cleanup),
    FN(OSSL_FUNC_KEYMGMT_FREE, se05x_km_free),
    FN(OSSL_FUNC_KEYMGMT_LOAD, rsa_load),
    FN(OSSL_FUNC_KEYMGMT_HAS, se05x_km_has),
    FN(OSSL_FUNC_KEYMGMT_MATCH, se05x_km_match),
    FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, se05x_km_get_params),
    FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, rsa_gettable_params),
    FN(OSSL_FUNC_KEYMGMT_IMPORT, se05x_km_import),
    FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, rsa_import_types),
    FN(OSSL_FUNC_KEYMGMT_EXPORT, se05x_km_export),
    FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, rsa_import_types),
    FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, rsa_query_op),
    FN(OSSL_FUNC_KEYMGMT_DUP, se05x_km_dup),
    {0, NULL},
};

const OSSL_DISPATCH se05x_ed25519_keymgmt_functions[] = {
    FN(OSSL_FUNC_KEYMGMT_NEW, ed_new),
    FN(OSSL_FUNC_KEYMGMT_GEN_INIT, se05x_ed25519_gen_init),
    FN(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, se05x_gen_set_params),
    FN(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, se05x_ed25519_gen_settable),
    FN(OSSL_FUNC_KEYMGMT_GEN, se05x_gen),
    FN(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, se05x_gen_cleanup),
    FN(OSSL_FUNC_KEYMGMT_FREE, se05x_km_free),
    FN(OSSL_FUNC_KEYMGMT_LOAD, ed_load),
    FN(OSSL_FUNC_KEYMGMT_HAS, se05x_km_has),
    FN(OSSL_FUNC_KEYMGMT_MATCH, se05x_km_match),
    FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, se05x_km_get_params),
    FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, ed_gettable_params),
    FN(OSSL_FUNC_KEYMGMT_IMPORT, se05x_km_import),
    FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, se05x_km_raw_pub_types),
    FN(OSSL_FUNC_KEYMGMT_EXPORT, se05x_km_export),
    FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, se05x_km_raw_pub_types),
    FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, ed_query_op),
    FN(OSSL_FUNC_KEYMGMT_DUP, se05x_km_dup),
    {0, NULL},
};
