/* Key generation inside the SE at a caller-chosen object id: keymgmt gen
 * for EC (group P-256/384/521), RSA (bits 2048/3072/4096), Ed25519 and X25519, with the
 * parameters "se05x-id" (required: there is no host-key fallback, ever)
 * and "se05x-overwrite" (1 to replace an existing object; otherwise an
 * existing id is an error) and "se05x-policy" (the object's access rules
 * instead of the SE's default, in the syntax of the CLI's --policy, parsed
 * by sss: "sign,read" or "0x7DA00001:sign;0:read,verify"). E.g.
 *   openssl genpkey -propquery provider=se05x -algorithm EC \
 *     -pkeyopt group:P-256 -pkeyopt se05x-id:0x30000001 -out ref.pem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "prov.h"

#define PARAM_ID "se05x-id"
#define PARAM_OVERWRITE "se05x-overwrite"
#define PARAM_POLICY "se05x-policy"

typedef struct {
    se05x_prov *pc;
    se05x_key_kind kind;
    uint8_t curve;
    unsigned bits;
    bool have_id;
    uint32_t id;
    int overwrite;
    int selection;
    /* a TLS ephemeral (group "se05x-eph-*", ephemeral.c): made on the host */
    const char *eph_type, *eph_group;
    bool have_policy;
    se05x_policy policy;
} gen_ctx;

static const struct {
    const char *name;
    uint8_t curve;
} curves[] = {
    {"P-256", SSS_CURVE_P256}, {"prime256v1", SSS_CURVE_P256}, {"secp256r1", SSS_CURVE_P256},
    {"P-384", SSS_CURVE_P384}, {"secp384r1", SSS_CURVE_P384},
    {"P-521", SSS_CURVE_P521}, {"secp521r1", SSS_CURVE_P521},
};

static int parse_id(gen_ctx *g, const OSSL_PARAM *p)
{
    unsigned long v = 0;
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        const char *s = p->data;
        char *end = NULL;
        v = strtoul(s, &end, 0);
        if (end == s || *end != '\0' || v > 0xFFFFFFFFul) {
            SE05X_ERR(g->pc, SE05X_R_BAD_PARAM, "%s '%s' is not a 32-bit object id", PARAM_ID, s);
            return 0;
        }
    } else {
        uint32_t u;
        if (!OSSL_PARAM_get_uint32(p, &u))
            return 0;
        v = u;
    }
    g->id = (uint32_t)v;
    g->have_id = true;
    return 1;
}

/* se05x-policy: rejected here, before anything reaches the SE */
static int parse_policy(gen_ctx *g, const OSSL_PARAM *p)
{
    const char *text = NULL;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &text)) {
        SE05X_ERR(g->pc, SE05X_R_BAD_PARAM, "%s must be a string", PARAM_POLICY);
        return 0;
    }
    char err[200];
    if (sss_policy_parse_text(text, &g->policy, err, sizeof(err)) != SSS_OK) {
        SE05X_ERR(g->pc, SE05X_R_BAD_PARAM, "%s '%s': %s (e.g. sign,verify,read or "
                  "0x7DA00001:sign;0:read)", PARAM_POLICY, text, err);
        g->have_policy = false;
        return 0;
    }
    g->have_policy = true;
    return 1;
}

int se05x_gen_set_params(void *vctx, const OSSL_PARAM params[])
{
    gen_ctx *g = vctx;
    const OSSL_PARAM *p;
    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, PARAM_ID)) != NULL && !parse_id(g, p))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, PARAM_OVERWRITE)) != NULL &&
        !OSSL_PARAM_get_int(p, &g->overwrite))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, PARAM_POLICY)) != NULL && !parse_policy(g, p))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME)) != NULL &&
        (g->kind == SE05X_KEY_EC || g->kind == SE05X_KEY_X25519)) {
        const char *name = NULL;
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &name))
            return 0;
        /* libssl's internal names for TLS ephemerals (ephemeral.c) */
        g->eph_type = NULL;
        if (se05x_eph_group(name, &g->eph_type, &g->eph_group))
            return strcmp(g->eph_type, g->kind == SE05X_KEY_EC ? "EC" : "X25519") == 0;
        if (g->kind == SE05X_KEY_X25519) /* the X25519 keymgmt has one curve */
            return strcasecmp(name, "X25519") == 0;
        g->curve = 0;
        for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
            if (strcasecmp(name, curves[i].name) == 0)
                g->curve = curves[i].curve;
        if (g->curve == 0) {
            SE05X_ERR(g->pc, SE05X_R_UNSUPPORTED, "curve '%s' (the SE does P-256, P-384, P-521)",
                      name);
            return 0;
        }
    }
    if (g->kind == SE05X_KEY_RSA) {
        if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_BITS)) != NULL &&
            (!OSSL_PARAM_get_uint(p, &g->bits) ||
             (g->bits != 2048 && g->bits != 3072 && g->bits != 4096))) {
            SE05X_ERR(g->pc, SE05X_R_UNSUPPORTED, "RSA key size (2048, 3072 or 4096 bits)");
            return 0;
        }
        if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_PRIMES)) != NULL) {
            unsigned primes = 0;
            if (!OSSL_PARAM_get_uint(p, &primes) || primes != 2) {
                SE05X_ERR(g->pc, SE05X_R_UNSUPPORTED, "RSA keys in the SE have 2 primes");
                return 0;
            }
        }
    }
    return 1;
}

const OSSL_PARAM *se05x_ec_gen_settable(void *vctx, void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_utf8_string(PARAM_ID, NULL, 0),
        OSSL_PARAM_int(PARAM_OVERWRITE, NULL),
        OSSL_PARAM_utf8_string(PARAM_POLICY, NULL, 0),
        OSSL_PARAM_END,
    };
    return t;
}

const OSSL_PARAM *se05x_rsa_gen_settable(void *vctx, void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_uint(OSSL_PKEY_PARAM_RSA_BITS, NULL),
        OSSL_PARAM_uint(OSSL_PKEY_PARAM_RSA_PRIMES, NULL),
        OSSL_PARAM_utf8_string(PARAM_ID, NULL, 0),
        OSSL_PARAM_int(PARAM_OVERWRITE, NULL),
        OSSL_PARAM_utf8_string(PARAM_POLICY, NULL, 0),
        OSSL_PARAM_END,
    };
    return t;
}

static void *gen_init(se05x_prov *pc, se05x_key_kind kind, int selection,
                      const OSSL_PARAM params[])
{
    gen_ctx *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->pc = pc;
    g->kind = kind;
    g->curve = SSS_CURVE_P256;
    g->bits = 2048;
    g->selection = selection;
    if (!se05x_gen_set_params(g, params)) {
        free(g);
        return NULL;
    }
    return g;
}
void *se05x_ec_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, SE05X_KEY_EC, selection, params);
}
void *se05x_rsa_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, SE05X_KEY_RSA, selection, params);
}
/* Ed25519 and X25519: the curve is implied by the algorithm. */
static void *gen_init_curve(se05x_prov *pc, se05x_key_kind kind, uint8_t curve, int selection,
                            const OSSL_PARAM params[])
{
    gen_ctx *g = gen_init(pc, kind, selection, NULL);
    if (g != NULL) {
        g->curve = curve;
        if (!se05x_gen_set_params(g, params)) {
            free(g);
            return NULL;
        }
    }
    return g;
}
void *se05x_ed25519_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init_curve(provctx, SE05X_KEY_ED25519, SSS_CURVE_ED25519, selection, params);
}
void *se05x_x25519_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init_curve(provctx, SE05X_KEY_X25519, SSS_CURVE_X25519, selection, params);
}

/* the settable parameters of Ed25519 and X25519 generation */
const OSSL_PARAM *se05x_ed25519_gen_settable(void *vctx, void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_utf8_string(PARAM_ID, NULL, 0),
        OSSL_PARAM_int(PARAM_OVERWRITE, NULL),
        OSSL_PARAM_utf8_string(PARAM_POLICY, NULL, 0),
        OSSL_PARAM_END,
    };
    return t;
}

int se05x_gen_set_template(void *vctx, void *templ)
{
    gen_ctx *g = vctx;
    return se05x_eph_template(templ, &g->eph_type, &g->eph_group);
}

void *se05x_gen(void *vctx, OSSL_CALLBACK *cb, void *cbarg)
{
    gen_ctx *g = vctx;
    if (g->eph_type != NULL)
        return se05x_eph_generate(g->pc, g->kind, g->eph_type, g->eph_group,
                                  (g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0);
    if (!(g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) {
        SE05X_ERR(g->pc, SE05X_R_UNSUPPORTED, "parameter-only generation is not offered");
        return NULL;
    }
    if (!g->have_id) {
        SE05X_ERR(g->pc, SE05X_R_BAD_PARAM,
                  "key generation happens in the SE at an object id: set %s (e.g. -pkeyopt "
                  "%s:0x30000001); the se05x provider makes long-term keys only in the SE",
                  PARAM_ID, PARAM_ID);
        return NULL;
    }
    sss_keygen spec = {
        .type = g->kind == SE05X_KEY_RSA ? SSS_KT_RSA_PAIR : SSS_KT_EC_PAIR,
        .curve = g->kind == SE05X_KEY_RSA ? SSS_CURVE_NONE : g->curve,
        .bits = g->kind == SE05X_KEY_RSA ? (uint16_t)g->bits : 0,
    };
    sss_write_opts opts = {.policy = g->have_policy ? &g->policy : NULL,
                           .force = g->overwrite != 0};
    sss_session *s;
    if (!se05x_session_acquire(g->pc, &s))
        return NULL;
    sss_status st = sss_key_generate(s, g->id, &spec, &opts);
    if (st == SSS_ERR_EXISTS)
        SE05X_ERR(g->pc, SE05X_R_SSS,
                  "object 0x%08X already exists; set %s:1 to replace it", (unsigned)g->id,
                  PARAM_OVERWRITE);
    else if (st != SSS_OK) {
        char what[64];
        snprintf(what, sizeof(what), "generating a key at 0x%08X", (unsigned)g->id);
        SE05X_ERR_SSS(g->pc, st, what);
    }
    se05x_session_release(g->pc);
    if (st != SSS_OK)
        return NULL;
    se05x_log("generated %s key at 0x%08X", se05x_kind_name(g->kind), (unsigned)g->id);
    se05x_key *k = se05x_key_open(g->pc, g->id);
    if (g->have_policy && (k == NULL || __atomic_load_n(&k->pub, __ATOMIC_ACQUIRE) == NULL))
        se05x_log("key 0x%08X: its %s has no 'read' for this session, so OpenSSL cannot get its "
                  "public key from the SE", (unsigned)g->id, PARAM_POLICY);
    return k;
}

void se05x_gen_cleanup(void *vctx)
{
    free(vctx);
}
