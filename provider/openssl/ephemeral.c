/* Ephemeral (EC)DHE keys for TLS when `se05x` is listed before `default`.
 *
 * Why: OpenSSL 3.0's libssl keeps a TLS group only if the provider that
 * declares it (TLS-GROUP capability) is also the one whose keymgmt
 * `EVP_KEYMGMT_fetch("EC")` returns; and it uses ECDHE in TLS 1.2 only for
 * groups whose algorithm is literally "EC"/"X25519"/"X448". With se05x
 * first, "EC" is our SE keymgmt, so the default provider's ECDHE groups
 * vanish. tls_groups.c therefore declares the groups again from this
 * provider, with internal names "se05x-eph-<group>" that only libssl uses:
 * our keymgmt generates a key for such a group name as a host ephemeral.
 * Any other group name still means "generate in the SE at se05x-id" (never
 * a host key), so `genpkey -algorithm EC` cannot get a host key by mistake.
 *
 * Ephemerals are host keys on purpose: one lives for one handshake, its
 * shared secret is on the host anyway, and doing it in the SE would cost
 * three APDUs (generate, derive, delete) per handshake. They are made in
 * the provider's private library context (default provider), their
 * private part is never exported or handed out, and EVP_PKEY_free wipes
 * it. The helpers below are the ephemeral branch of keymgmt.c, keygen.c
 * and keyexch.c. */
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "prov.h"

#define EPH_PREFIX "se05x-eph-"

/* internal TLS group name -> key type + OpenSSL group (NULL: X25519) */
static const struct {
    const char *name, *type, *group;
} eph_groups[] = {
    {EPH_PREFIX "prime256v1", "EC", "prime256v1"},
    {EPH_PREFIX "secp384r1", "EC", "secp384r1"},
    {EPH_PREFIX "secp521r1", "EC", "secp521r1"},
    {EPH_PREFIX "X25519", "X25519", NULL},
};

int se05x_eph_group(const char *name, const char **type, const char **group)
{
    for (size_t i = 0; i < sizeof(eph_groups) / sizeof(eph_groups[0]); i++)
        if (strcasecmp(name, eph_groups[i].name) == 0) {
            *type = eph_groups[i].type;
            *group = eph_groups[i].group;
            return 1;
        }
    return 0;
}

/* keymgmt selection -> EVP_PKEY_fromdata/todata selection */
static int evp_selection(int selection)
{
    if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)
        return EVP_PKEY_KEYPAIR;
    if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY)
        return EVP_PKEY_PUBLIC_KEY;
    return EVP_PKEY_KEY_PARAMETERS;
}

static EVP_PKEY *eph_make(se05x_prov *pc, const char *type, const char *group, bool pair)
{
    EVP_PKEY *out = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(pc->libctx, type, NULL);
    if (ctx != NULL && (pair ? EVP_PKEY_keygen_init(ctx) : EVP_PKEY_paramgen_init(ctx)) == 1 &&
        (group == NULL || EVP_PKEY_CTX_set_group_name(ctx, group) == 1))
        (void)(pair ? EVP_PKEY_keygen(ctx, &out) : EVP_PKEY_paramgen(ctx, &out));
    EVP_PKEY_CTX_free(ctx);
    return out;
}

static se05x_key *eph_wrap(se05x_prov *pc, se05x_key_kind kind, EVP_PKEY *pk, int held)
{
    se05x_key *k = se05x_key_from_pub(pc, kind, pk);
    if (k != NULL) {
        k->eph = true;
        k->eph_held = held;
    }
    return k;
}

se05x_key *se05x_eph_generate(se05x_prov *pc, se05x_key_kind kind, const char *type,
                              const char *group, bool pair)
{
    EVP_PKEY *pk = eph_make(pc, type, group, pair);
    if (pk == NULL) {
        SE05X_ERR(pc, SE05X_R_INTERNAL, "cannot make an ephemeral %s key for TLS", type);
        return NULL;
    }
    return eph_wrap(pc, kind, pk,
                    pair ? OSSL_KEYMGMT_SELECT_ALL : OSSL_KEYMGMT_SELECT_ALL_PARAMETERS);
}

int se05x_eph_has(const se05x_key *k, int selection)
{
    selection &= OSSL_KEYMGMT_SELECT_ALL;
    return (k->eph_held & selection) == selection;
}

int se05x_eph_get_params(se05x_key *k, OSSL_PARAM params[])
{
    /* the private scalar is never handed out, not even an ephemeral's */
    if (OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY) != NULL)
        return 0;
    return EVP_PKEY_get_params(k->pub, params);
}

int se05x_eph_set_params(se05x_key *k, const OSSL_PARAM params[])
{
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
    const void *pub = NULL;
    size_t len = 0;
    if (p == NULL)
        return 1;
    /* the peer's share, into a key that so far held parameters only */
    if (!k->eph || (k->eph_held & OSSL_KEYMGMT_SELECT_KEYPAIR) ||
        !OSSL_PARAM_get_octet_string_ptr(p, &pub, &len) ||
        EVP_PKEY_set1_encoded_public_key(k->pub, pub, len) != 1)
        return 0;
    k->eph_held |= OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
    return 1;
}

/* type and group of an ephemeral (the inverse of se05x_eph_group) */
static int eph_type_of(const se05x_key *k, const char **type, const char **group)
{
    char name[64] = EPH_PREFIX;
    size_t n = strlen(name);
    if (k == NULL || !k->eph || k->pub == NULL)
        return 0;
    if (EVP_PKEY_is_a(k->pub, "X25519"))
        strcpy(name + n, "X25519");
    else if (!EVP_PKEY_get_utf8_string_param(k->pub, OSSL_PKEY_PARAM_GROUP_NAME, name + n,
                                             sizeof(name) - n, NULL))
        return 0;
    return se05x_eph_group(name, type, group);
}

int se05x_eph_template(const se05x_key *t, const char **type, const char **group)
{
    return eph_type_of(t, type, group);
}

se05x_key *se05x_eph_dup(const se05x_key *k, int selection)
{
    EVP_PKEY *out = NULL;
    const char *type, *group;
    selection &= k->eph_held;
    if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) {
        out = EVP_PKEY_dup(k->pub);
    } else if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) {
        OSSL_PARAM *params = NULL;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(k->pc->libctx, k->pub, NULL);
        if (ctx != NULL && EVP_PKEY_todata(k->pub, EVP_PKEY_PUBLIC_KEY, &params) == 1 &&
            EVP_PKEY_fromdata_init(ctx) == 1)
            (void)EVP_PKEY_fromdata(ctx, &out, EVP_PKEY_PUBLIC_KEY, params);
        OSSL_PARAM_free(params);
        EVP_PKEY_CTX_free(ctx);
    } else if (eph_type_of(k, &type, &group)) {
        out = eph_make(k->pc, type, group, false); /* parameters only */
    }
    if (out == NULL)
        return NULL;
    return eph_wrap(k->pc, k->kind, out, selection | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS);
}

int se05x_eph_export(se05x_key *k, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    OSSL_PARAM *params = NULL;
    if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)
        return 0; /* the private part stays in the provider */
    if (EVP_PKEY_todata(k->pub, evp_selection(selection & k->eph_held), &params) != 1)
        return 0;
    int ok = cb(params, cbarg);
    OSSL_PARAM_free(params);
    return ok;
}

int se05x_eph_derive(se05x_key *k, se05x_key *peer, unsigned char *secret, size_t *secretlen,
                     size_t outlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(k->pc->libctx, k->pub, NULL);
    size_t len = outlen;
    int ok = ctx != NULL && (k->eph_held & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) &&
             peer->pub != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
             EVP_PKEY_derive_set_peer(ctx, peer->pub) == 1 &&
             EVP_PKEY_derive(ctx, secret, secret != NULL ? &len : secretlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        SE05X_ERR(k->pc, SE05X_R_INTERNAL, "ephemeral key exchange failed");
        return 0;
    }
    if (secret != NULL)
        *secretlen = len;
    return 1;
}
