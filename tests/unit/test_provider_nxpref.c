/* NXP's magic-number reference keys: the sss parsing added for the
 * provider (sss_refkey_nxp_maybe, sss_refkey_decode_ex in a private library
 * context, error queue left alone) and the se05x provider's reference-file
 * decoder (provider/openssl/nxpref.c) loaded into an OSSL_LIB_CTX in both
 * provider orders with no SE reachable: an NXP EC or RSA file never becomes
 * a host key (it is the provider's stand-in whose signing fails cleanly), a
 * host key file stays a host key that signs, and our own reference format
 * fails to load. The SE-backed paths are in
 * tests/integration/provider_nxpref.sh. Module: build/provider/se05x.so
 * (skipped with a message if it is not built). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libgen.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "sss/refkey.h"

#define REF_ID 0x30001234u

static char g_moddir[1024];
static bool g_have_module;

typedef struct {
    EVP_PKEY *ec, *rsa;          /* host keys whose public parts the files carry */
    char *ec_nxp, *rsa_nxp, *ours; /* PEM files (malloc'ed) */
    size_t ec_nxp_len, rsa_nxp_len, ours_len;
    char *host;                  /* PEM of the EC host private key */
    size_t host_len;
} fixture;

static fixture g;

static uint8_t *spki_of(EVP_PKEY *k, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    assert_true(n > 0);
    *len = (size_t)n;
    return der;
}

static int setup(void **state)
{
    g.ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    g.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (g.ec == NULL || g.rsa == NULL)
        return -1;
    size_t n = 0;
    uint8_t *spki = spki_of(g.ec, &n);
    if (sss_refkey_nxp_encode_pem(REF_ID, SSS_REFKEY_NXP_CLASS_PAIR, spki, n, &g.ec_nxp,
                                  &g.ec_nxp_len) != SSS_OK ||
        sss_refkey_encode_pem(REF_ID, spki, n, &g.ours, &g.ours_len) != SSS_OK)
        return -1;
    OPENSSL_free(spki);
    spki = spki_of(g.rsa, &n);
    if (sss_refkey_nxp_encode_pem(REF_ID, SSS_REFKEY_NXP_CLASS_PAIR, spki, n, &g.rsa_nxp,
                                  &g.rsa_nxp_len) != SSS_OK)
        return -1;
    OPENSSL_free(spki);
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    if (b == NULL || PEM_write_bio_PrivateKey(b, g.ec, NULL, NULL, 0, NULL, NULL) != 1)
        return -1;
    long len = BIO_get_mem_data(b, &p);
    g.host = strndup(p, (size_t)len);
    g.host_len = (size_t)len;
    BIO_free(b);
    return g.host != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    EVP_PKEY_free(g.ec);
    EVP_PKEY_free(g.rsa);
    free(g.ec_nxp);
    free(g.rsa_nxp);
    free(g.ours);
    free(g.host);
    return 0;
}

/* DER body of a PEM text. */
static uint8_t *pem_body(const char *pem, size_t len, long *dlen)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    char *name = NULL, *hdr = NULL;
    unsigned char *data = NULL;
    assert_int_equal(PEM_read_bio(b, &name, &hdr, &data, dlen), 1);
    OPENSSL_free(name);
    OPENSSL_free(hdr);
    BIO_free(b);
    return data;
}

/* ---- sss: cheap magic test ----------------------------------------------------- */

static void test_nxp_maybe(void **state)
{
    long n = 0;
    uint8_t *der = pem_body(g.ec_nxp, g.ec_nxp_len, &n);
    assert_true(sss_refkey_nxp_maybe(der, (size_t)n));
    /* a damaged magic (one byte) is not found */
    uint8_t *m = memmem(der, (size_t)n, "\xA5\xA6\xB5\xB6\xA5\xA6\xB5\xB6", 8);
    assert_non_null(m);
    m[7] ^= 1;
    assert_false(sss_refkey_nxp_maybe(der, (size_t)n));
    OPENSSL_free(der);

    der = pem_body(g.rsa_nxp, g.rsa_nxp_len, &n);
    assert_true(sss_refkey_nxp_maybe(der, (size_t)n));
    OPENSSL_free(der);

    der = pem_body(g.host, g.host_len, &n); /* a real key */
    assert_false(sss_refkey_nxp_maybe(der, (size_t)n));
    assert_false(sss_refkey_nxp_maybe(der, 0));
    OPENSSL_free(der);
    assert_false(sss_refkey_nxp_maybe(NULL, 100));
    assert_false(sss_refkey_nxp_maybe((const uint8_t *)"\xA5\xA6\xB5", 3));
}

/* ---- sss: decoding in a private library context ------------------------------------ */

static void expect_decoded(OSSL_LIB_CTX *lc, const char *pem, size_t len, sss_refkey_format f,
                           EVP_PKEY *pub)
{
    sss_refkey r;
    assert_int_equal(sss_refkey_decode_ex(lc, (const uint8_t *)pem, len, &r), SSS_OK);
    assert_int_equal(r.format, f);
    assert_int_equal(r.id, REF_ID);
    assert_int_equal(r.key_class, SSS_REFKEY_NXP_CLASS_PAIR);
    size_t n = 0;
    uint8_t *spki = spki_of(pub, &n);
    assert_int_equal(r.spki_len, n);
    assert_memory_equal(r.spki, spki, n);
    OPENSSL_free(spki);
    sss_refkey_free(&r);
}

static void test_decode_ex_private_ctx(void **state)
{
    OSSL_LIB_CTX *lc = OSSL_LIB_CTX_new();
    OSSL_PROVIDER *d = OSSL_PROVIDER_load(lc, "default");
    assert_non_null(d);
    expect_decoded(lc, g.ec_nxp, g.ec_nxp_len, SSS_REFKEY_NXP_EC, g.ec);
    expect_decoded(lc, g.rsa_nxp, g.rsa_nxp_len, SSS_REFKEY_NXP_RSA, g.rsa);
    expect_decoded(lc, g.ours, g.ours_len, SSS_REFKEY_OURS, g.ec);
    expect_decoded(NULL, g.ec_nxp, g.ec_nxp_len, SSS_REFKEY_NXP_EC, g.ec);

    /* a real private key is not a reference; the caller's errors stay */
    ERR_clear_error();
    ERR_raise_data(ERR_LIB_USER, 42, "caller's error");
    sss_refkey r;
    assert_int_equal(sss_refkey_decode_ex(lc, (const uint8_t *)g.host, g.host_len, &r),
                     SSS_ERR_FORMAT);
    assert_null(r.spki);
    assert_int_equal(ERR_GET_REASON(ERR_peek_last_error()), 42);
    assert_int_equal(ERR_GET_REASON(ERR_get_error()), 42);
    assert_int_equal(ERR_get_error(), 0);

    OSSL_PROVIDER_unload(d);
    OSSL_LIB_CTX_free(lc);
}

static void test_decode_ex_bad_input(void **state)
{
    sss_refkey r;
    assert_int_equal(sss_refkey_decode_ex(NULL, NULL, 10, &r), SSS_ERR_FORMAT);
    assert_int_equal(sss_refkey_decode_ex(NULL, (const uint8_t *)"x", 0, &r), SSS_ERR_FORMAT);
    assert_int_equal(sss_refkey_decode_ex(NULL, (const uint8_t *)"x", 1, NULL), SSS_ERR_ARG);
    /* truncated PEM */
    assert_int_equal(sss_refkey_decode_ex(NULL, (const uint8_t *)g.ec_nxp, g.ec_nxp_len / 2, &r),
                     SSS_ERR_FORMAT);
    /* damaged magic inside an otherwise valid EC private key */
    long n = 0;
    uint8_t *der = pem_body(g.ec_nxp, g.ec_nxp_len, &n);
    uint8_t *m = memmem(der, (size_t)n, "\xA5\xA6\xB5\xB6\xA5\xA6\xB5\xB6", 8);
    m[0] = 0xA4;
    assert_int_equal(sss_refkey_decode_ex(NULL, der, (size_t)n, &r), SSS_ERR_FORMAT);
    OPENSSL_free(der);
}

/* ---- provider: the decoder with no SE ------------------------------------------------ */

typedef struct {
    OSSL_LIB_CTX *lc;
    OSSL_PROVIDER *a, *b;
} prov_ctx;

static void provider_ctx(prov_ctx *p, bool se_first)
{
    p->lc = OSSL_LIB_CTX_new();
    assert_non_null(p->lc);
    assert_int_equal(OSSL_PROVIDER_set_default_search_path(p->lc, g_moddir), 1);
    assert_non_null(p->a = OSSL_PROVIDER_load(p->lc, se_first ? "se05x" : "default"));
    assert_non_null(p->b = OSSL_PROVIDER_load(p->lc, se_first ? "default" : "se05x"));
}

static void provider_ctx_free(prov_ctx *p)
{
    OSSL_PROVIDER_unload(p->b);
    OSSL_PROVIDER_unload(p->a);
    OSSL_LIB_CTX_free(p->lc);
}

static EVP_PKEY *read_pem(OSSL_LIB_CTX *lc, const char *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = PEM_read_bio_PrivateKey_ex(b, NULL, NULL, NULL, lc, NULL);
    BIO_free(b);
    return k;
}

/* 1: signed and verified with pub; 0: signing failed. */
static int sign_with(OSSL_LIB_CTX *lc, EVP_PKEY *k, EVP_PKEY *pub)
{
    static const unsigned char msg[] = "reference key test";
    unsigned char sig[512];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = EVP_DigestSignInit_ex(m, NULL, "SHA256", lc, NULL, k, NULL) == 1 &&
             EVP_DigestSign(m, sig, &siglen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(m);
    if (!ok)
        return 0;
    m = EVP_MD_CTX_new();
    int v = EVP_DigestVerifyInit_ex(m, NULL, "SHA256", NULL, NULL, pub, NULL) == 1 &&
            EVP_DigestVerify(m, sig, siglen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(m);
    assert_true(v); /* a signature that was made must be right */
    return 1;
}

static bool error_mentions(const char *needle)
{
    bool seen = false;
    const char *data = NULL;
    while (ERR_get_error_all(NULL, NULL, NULL, &data, NULL) != 0)
        seen = seen || (data != NULL && strstr(data, needle) != NULL);
    return seen;
}

static void check_order(bool se_first)
{
    prov_ctx p;
    provider_ctx(&p, se_first);
    const char *files[] = {g.ec_nxp, g.rsa_nxp};
    size_t lens[] = {g.ec_nxp_len, g.rsa_nxp_len};
    for (int i = 0; i < 2; i++) {
        ERR_clear_error();
        EVP_PKEY *k = read_pem(p.lc, files[i], lens[i]);
        /* never a host key with the fake private value */
        assert_non_null(k);
        assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(k)), "se05x");
        ERR_clear_error();
        assert_int_equal(sign_with(p.lc, k, i == 0 ? g.ec : g.rsa), 0);
        assert_true(error_mentions("not a usable private key") || error_mentions("cannot open"));
        EVP_PKEY_free(k);
    }
    /* a host key stays a host key and signs */
    EVP_PKEY *h = read_pem(p.lc, g.host, g.host_len);
    assert_non_null(h);
    assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(h)), "default");
    assert_int_equal(sign_with(p.lc, h, g.ec), 1);
    EVP_PKEY_free(h);
    /* our own format without its SE key: not loaded at all */
    ERR_clear_error();
    assert_null(read_pem(p.lc, g.ours, g.ours_len));
    assert_true(error_mentions("127.0.0.1:1"));
    provider_ctx_free(&p);
}

static void test_provider_default_first(void **state)
{
    if (!g_have_module)
        skip();
    check_order(false);
}

static void test_provider_se05x_first(void **state)
{
    if (!g_have_module)
        skip();
    check_order(true);
}

int main(void)
{
    char sim[1024];
    snprintf(sim, sizeof(sim), "%s", SE05X_SIM_BIN); /* BUILD/sim/se05x-sim */
    snprintf(g_moddir, sizeof(g_moddir), "%s/../provider", dirname(sim));
    char so[1100];
    snprintf(so, sizeof(so), "%s/se05x.so", g_moddir);
    g_have_module = access(so, R_OK) == 0;
    if (!g_have_module)
        fprintf(stderr, "SKIP module tests: %s is not built (cmake --build BUILD "
                        "--target se05x_provider)\n", so);
    setenv("SE05X_PORT", "127.0.0.1:1", 1); /* no SE: nothing may reach one */
    unsetenv("SE05X_PROVIDER_LOG");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nxp_maybe),
        cmocka_unit_test(test_decode_ex_private_ctx),
        cmocka_unit_test(test_decode_ex_bad_input),
        cmocka_unit_test(test_provider_default_first),
        cmocka_unit_test(test_provider_se05x_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
