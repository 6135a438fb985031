/* RAND "SE05X-TRNG": random bytes from the SE's TRNG (sss_rng). Opt-in:
 * OpenSSL only uses it when openssl.cnf names it, normally as the seed
 * source of its DRBG ([random] seed = SE05X-TRNG, seed_properties =
 * provider=se05x), or as the DRBG itself (random = SE05X-TRNG). When the SE
 * cannot be reached, generation fails with the usual connect error. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "prov.h"

#define TRNG_CHUNK 256    /* bytes per GetRandom */
#define TRNG_MAX_REQUEST 65536

typedef struct {
    se05x_prov *pc;
    int state;
} trng_ctx;

static void *trng_newctx(void *provctx, void *parent, const OSSL_DISPATCH *parent_calls)
{
    trng_ctx *c = calloc(1, sizeof(*c));
    if (c != NULL) {
        c->pc = provctx;
        c->state = EVP_RAND_STATE_UNINITIALISED;
    }
    return c;
}

static void trng_freectx(void *vctx) { free(vctx); }

static int trng_instantiate(void *vctx, unsigned int strength, int prediction_resistance,
                            const unsigned char *pstr, size_t pstr_len, const OSSL_PARAM params[])
{
    ((trng_ctx *)vctx)->state = EVP_RAND_STATE_READY;
    return 1;
}

static int trng_uninstantiate(void *vctx)
{
    ((trng_ctx *)vctx)->state = EVP_RAND_STATE_UNINITIALISED;
    return 1;
}

static int trng_fill(trng_ctx *c, unsigned char *out, size_t len)
{
    sss_session *s;
    if (!se05x_session_acquire(c->pc, &s)) {
        c->state = EVP_RAND_STATE_ERROR;
        return 0;
    }
    sss_status st = SSS_OK;
    for (size_t off = 0; off < len && st == SSS_OK; off += TRNG_CHUNK) {
        size_t n = len - off < TRNG_CHUNK ? len - off : TRNG_CHUNK;
        st = sss_rng(s, out + off, n);
    }
    if (st != SSS_OK)
        SE05X_ERR_SSS(c->pc, st, "random bytes from the SE");
    se05x_session_release(c->pc);
    if (st != SSS_OK) {
        OPENSSL_cleanse(out, len);
        return 0;
    }
    se05x_log("%zu random bytes from the SE TRNG", len);
    return 1;
}

static int trng_generate(void *vctx, unsigned char *out, size_t outlen, unsigned int strength,
                         int prediction_resistance, const unsigned char *adin, size_t adin_len)
{
    return trng_fill(vctx, out, outlen);
}

static int trng_reseed(void *vctx, int prediction_resistance, const unsigned char *ent,
                       size_t ent_len, const unsigned char *adin, size_t adin_len)
{
    return 1;
}

static size_t trng_get_seed(void *vctx, unsigned char **pout, int entropy, size_t min_len,
                            size_t max_len, int prediction_resistance, const unsigned char *adin,
                            size_t adin_len)
{
    /* full entropy: entropy bits need entropy/8 bytes */
    size_t len = ((size_t)entropy + 7) / 8;
    if (len < min_len)
        len = min_len;
    if (len > max_len)
        return 0;
    unsigned char *buf = OPENSSL_secure_malloc(len);
    if (buf == NULL)
        return 0;
    if (!trng_fill(vctx, buf, len)) {
        OPENSSL_secure_clear_free(buf, len);
        return 0;
    }
    *pout = buf;
    return len;
}

static void trng_clear_seed(void *vctx, unsigned char *out, size_t outlen)
{
    OPENSSL_secure_clear_free(out, outlen);
}

static int trng_enable_locking(void *vctx) { return 1; } /* sss calls are serialised */
static int trng_lock(void *vctx) { return 1; }
static void trng_unlock(void *vctx) {}

static const OSSL_PARAM *trng_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_int(OSSL_RAND_PARAM_STATE, NULL),
        OSSL_PARAM_uint(OSSL_RAND_PARAM_STRENGTH, NULL),
        OSSL_PARAM_size_t(OSSL_RAND_PARAM_MAX_REQUEST, NULL),
        OSSL_PARAM_END,
    };
    return t;
}

static int trng_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    trng_ctx *c = vctx;
    OSSL_PARAM *p;
    if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STATE)) != NULL &&
        !OSSL_PARAM_set_int(p, c->state))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STRENGTH)) != NULL &&
        !OSSL_PARAM_set_uint(p, 256))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_MAX_REQUEST)) != NULL &&
        !OSSL_PARAM_set_size_t(p, TRNG_MAX_REQUEST))
        return 0;
    return 1;
}

#define FN(id, f) {id, (void (*)(void))(f)}
const OSSL_DISPATCH se05x_trng_functions[] = {
    FN(OSSL_FUNC_RAND_NEWCTX, trng_newctx),
    FN(OSSL_FUNC_RAND_FREECTX, trng_freectx),
    FN(OSSL_FUNC_RAND_INSTANTIATE, trng_instantiate),
    FN(OSSL_FUNC_RAND_UNINSTANTIATE, trng_uninstantiate),
    FN(OSSL_FUNC_RAND_GENERATE, trng_generate),
    FN(OSSL_FUNC_RAND_RESEED, trng_reseed),
    FN(OSSL_FUNC_RAND_GET_SEED, trng_get_seed),
    FN(OSSL_FUNC_RAND_CLEAR_SEED, trng_clear_seed),
    FN(OSSL_FUNC_RAND_ENABLE_LOCKING, trng_enable_locking),
    FN(OSSL_FUNC_RAND_LOCK, trng_lock),
    FN(OSSL_FUNC_RAND_UNLOCK, trng_unlock),
    FN(OSSL_FUNC_RAND_GETTABLE_CTX_PARAMS, trng_gettable_ctx_params),
    FN(OSSL_FUNC_RAND_GET_CTX_PARAMS, trng_get_ctx_params),
    {0, NULL},
};
