/* The se05x OpenSSL provider seen from a C application: the URI parser
 * (every class of malformed URI), loading the module into an OSSL_LIB_CTX
 * with no SE (succeeds; first use fails with a clear error), and, against
 * the se05x-sim daemon over JRCP, a key from the store signing from several
 * threads at once and on both sides of a fork(), every signature verified
 * by the default provider alone. The module is build/provider/se05x.so; if
 * it has not been built this program says so and skips the module tests. */
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
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* The provider's URI parser is a pure function: test it directly. */
#include "../../provider/openssl/uri.c"

#define THREADS 4
#define SIGNS 8

static char g_moddir[1024];
static bool g_have_module;

/* ---- URI syntax ------------------------------------------------------------ */

static void test_uri_valid(void **state)
{
    bool all = true;
    uint32_t id = 0;
    assert_int_equal(se05x_uri_parse("se05x:0xF0000000", &all, &id), 1);
    assert_false(all);
    assert_int_equal(id, 0xF0000000u);
    assert_int_equal(se05x_uri_parse("nxp:0xf0000001", &all, &id), 1);
    assert_int_equal(id, 0xF0000001u);
    assert_int_equal(se05x_uri_parse("SE05X:1234", &all, &id), 1);
    assert_int_equal(id, 0x1234u);
    assert_int_equal(se05x_uri_parse("se05x:0X7fff0206", &all, &id), 1);
    assert_int_equal(id, 0x7FFF0206u);
    assert_int_equal(se05x_uri_parse("se05x:", &all, &id), 1);
    assert_true(all);
    all = false;
    assert_int_equal(se05x_uri_parse("nxp:", &all, &id), 1);
    assert_true(all);
    char buf[32];
    se05x_uri_format(0xF0000004u, buf, sizeof(buf));
    assert_string_equal(buf, "se05x:0xF0000004");
}

static void test_uri_malformed(void **state)
{
    static const char *const bad[] = {
        NULL, "", "file:/etc/x", "se05x", "pkcs11:0x1", /* scheme */
        "se05x:0x", "nxp:0x",                            /* no digits */
        "se05x:0xZZ", "se05x:12g4", "se05x:-1",          /* not hex */
        "se05x:0x123456789", "se05x:000000000",          /* more than 8 digits */
        "se05x:0x1 ", "se05x: 0x1", "se05x:0x1/x",       /* extra characters */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bool all = false;
        uint32_t id = 0;
        if (se05x_uri_parse(bad[i], &all, &id) != 0)
            fail_msg("accepted malformed URI '%s'", bad[i] ? bad[i] : "(null)");
    }
}

/* ---- module ------------------------------------------------------------------ */

typedef struct {
    OSSL_LIB_CTX *lc;
    OSSL_PROVIDER *deflt, *se;
} prov_ctx;

/* default first, then se05x: the recommended order (docs/provider.md) */
static void provider_ctx(prov_ctx *p)
{
    p->lc = OSSL_LIB_CTX_new();
    assert_non_null(p->lc);
    assert_int_equal(OSSL_PROVIDER_set_default_search_path(p->lc, g_moddir), 1);
    assert_non_null(p->deflt = OSSL_PROVIDER_load(p->lc, "default"));
    assert_non_null(p->se = OSSL_PROVIDER_load(p->lc, "se05x"));
}

static void provider_ctx_free(prov_ctx *p)
{
    OSSL_PROVIDER_unload(p->se);
    OSSL_PROVIDER_unload(p->deflt);
    OSSL_LIB_CTX_free(p->lc);
}

static EVP_PKEY *store_key(OSSL_LIB_CTX *lc, const char *uri)
{
    OSSL_STORE_CTX *sc = OSSL_STORE_open_ex(uri, lc, NULL, NULL, NULL, NULL, NULL, NULL);
    if (sc == NULL)
        return NULL;
    EVP_PKEY *pk = NULL;
    while (pk == NULL && !OSSL_STORE_eof(sc)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(sc);
        if (info == NULL)
            break;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pk = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(sc);
    return pk;
}

static void test_load_without_se(void **state)
{
    if (!g_have_module)
        skip();
    setenv("SE05X_PORT", "127.0.0.1:1", 1);
    prov_ctx pc;
    provider_ctx(&pc);
    ERR_clear_error();
    EVP_PKEY *pk = store_key(pc.lc, "se05x:0xF0000000");
    assert_null(pk);
    /* the error queue holds our reason with the port in the detail */
    bool seen = false;
    const char *data = NULL;
    int flags = 0;
    unsigned long e;
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        const char *reason = ERR_reason_error_string(e);
        if (reason != NULL && strstr(reason, "cannot open a session") != NULL &&
            data != NULL && strstr(data, "127.0.0.1:1") != NULL)
            seen = true;
    }
    assert_true(seen);
    provider_ctx_free(&pc);
}

typedef struct {
    EVP_PKEY *key;     /* SE key (provider context) */
    EVP_PKEY *verify;  /* same public key in the default context */
    int good;
} signer;

static int sign_and_verify(EVP_PKEY *key, EVP_PKEY *verify, int n)
{
    static const unsigned char msg[] = "signed through the se05x provider";
    int good = 0;
    for (int i = 0; i < n; i++) {
        unsigned char sig[256];
        size_t siglen = sizeof(sig);
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        int ok = m != NULL &&
                 EVP_DigestSignInit_ex(m, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
                 EVP_DigestSign(m, sig, &siglen, msg, sizeof(msg)) == 1;
        EVP_MD_CTX_free(m);
        if (!ok)
            continue;
        EVP_MD_CTX *v = EVP_MD_CTX_new();
        ok = v != NULL && EVP_DigestVerifyInit_ex(v, NULL, "SHA256", NULL, NULL, verify, NULL) == 1 &&
             EVP_DigestVerify(v, sig, siglen, msg, sizeof(msg)) == 1;
        EVP_MD_CTX_free(v);
        good += ok;
    }
    return good;
}

static void *signer_thread(void *arg)
{
    signer *s = arg;
    s->good = sign_and_verify(s->key, s->verify, SIGNS);
    return NULL;
}

/* The public key of k re-created in the default library context. */
static EVP_PKEY *default_copy(EVP_PKEY *k)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(k, &der);
    assert_true(len > 0);
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, len);
    OPENSSL_free(der);
    assert_non_null(pub);
    return pub;
}

static void test_threads_and_fork(void **state)
{
    if (!g_have_module)
        skip();
    char *dir = tu_tempdir("provider");
    assert_non_null(dir);
    tu_daemon d;
    assert_int_equal(tu_daemon_start(&d, dir, NULL), 0);
    char port[64];
    snprintf(port, sizeof(port), "127.0.0.1:%u", d.port);
    setenv("SE05X_PORT", port, 1);

    prov_ctx pc;
    provider_ctx(&pc);
    EVP_PKEY *key = store_key(pc.lc, "se05x:0xF0000000");
    assert_non_null(key);
    EVP_PKEY *pub = default_copy(key);

    signer s[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        s[i] = (signer){.key = key, .verify = pub};
        assert_int_equal(pthread_create(&t[i], NULL, signer_thread, &s[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(s[i].good, SIGNS);
    }

    /* fork after load: both sides sign with the same loaded key */
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(sign_and_verify(key, pub, SIGNS) == SIGNS ? 0 : 1);
    int parent_good = sign_and_verify(key, pub, SIGNS);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(parent_good, SIGNS);

    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    provider_ctx_free(&pc);
    tu_daemon_stop(&d, 0);
    tu_rmtree(dir);
    free(dir);
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_valid),
        cmocka_unit_test(test_uri_malformed),
        cmocka_unit_test(test_load_without_se),
        cmocka_unit_test(test_threads_and_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
