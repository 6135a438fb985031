/* TLS-GROUP capabilities of the se05x provider: the key exchange groups
 * P-256, P-384, P-521 and X25519 (with the TLS names and code points of
 * RFC 8422 / RFC 8446) with internal names "se05x-eph-*", for which our
 * keymgmt makes host ephemerals (ephemeral.c explains why). libssl uses them when `se05x` is loaded before `default`
 * (the default provider's own entries for these groups are then dropped
 * by libssl, see ephemeral.c); with `default` first its entries come first
 * and these duplicates are never picked. */
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "prov.h"

#define TLS1_VERSION_NUM 0x0301
#define DTLS1_VERSION_NUM 0xFEFF

typedef struct {
    const char *name, *internal, *alg;
    unsigned id, secbits;
} tls_group;

/* Both spellings OpenSSL accepts in -groups / -curves lists. */
static const tls_group groups[] = {
    {"secp256r1", "se05x-eph-prime256v1", "EC", 23, 128},
    {"P-256", "se05x-eph-prime256v1", "EC", 23, 128},
    {"secp384r1", "se05x-eph-secp384r1", "EC", 24, 192},
    {"P-384", "se05x-eph-secp384r1", "EC", 24, 192},
    {"secp521r1", "se05x-eph-secp521r1", "EC", 25, 256},
    {"P-521", "se05x-eph-secp521r1", "EC", 25, 256},
    /* kept by libssl only while our provider has an X25519 keymgmt */
    {"x25519", "se05x-eph-X25519", "X25519", 29, 128},
};

static int report_group(const tls_group *g, OSSL_CALLBACK *cb, void *arg)
{
    unsigned id = g->id, secbits = g->secbits, is_kem = 0;
    int min_tls = TLS1_VERSION_NUM, max_tls = 0, min_dtls = DTLS1_VERSION_NUM, max_dtls = 0;
    OSSL_PARAM p[] = {
        OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, (char *)g->name, 0),
        OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL, (char *)g->internal, 0),
        OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, (char *)g->alg, 0),
        OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &id),
        OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &secbits),
        OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_IS_KEM, &is_kem),
        OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &min_tls),
        OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &max_tls),
        OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &min_dtls),
        OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &max_dtls),
        OSSL_PARAM_END,
    };
    /* the string lengths: OSSL_PARAM_utf8_string with size 0 means "unknown" */
    p[0].data_size = strlen(g->name);
    p[1].data_size = strlen(g->internal);
    p[2].data_size = strlen(g->alg);
    return cb(p, arg);
}

int se05x_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg)
{
    if (strcasecmp(capability, "TLS-GROUP") != 0)
        return 0;
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (!report_group(&groups[i], cb, arg))
            return 0;
    return 1;
}
