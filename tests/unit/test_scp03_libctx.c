/* Connections with their own OpenSSL library context
 * (se05x_conn_opts.libctx): platform SCP03, an AESKey session and an ECKey
 * session against a se05x-sim daemon (started with --require-scp), and the
 * check of an attested read, run with the private context alone. To show that the process default context is
 * not used, this program loads only the "base" provider into the default
 * context before anything else: CMAC, AES, EC and the DRBG are missing
 * there, so any fallback to the default context fails. A connection
 * without libctx, or with a context lacking the algorithms, is refused
 * with a message naming the missing algorithms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "se05x/commands.h"
#include "se05x/conn.h"
#include "se05x/scp03.h"
#include "testutil.h"

#define AES_AUTH 0x7DA00012u
#define EC_AUTH 0x7DA00013u
#define KP_ECKEY_USER 0x7FFF0201u
#define ATTEST_KEY 0xF0000012u /* factory attestation key (P-256) */

typedef struct {
    char *dir;
    char keys[1200];
    char conn[64];
    tu_daemon d;
    OSSL_LIB_CTX *lc;       /* private context with the default provider */
    OSSL_PROVIDER *lc_prov;
    OSSL_LIB_CTX *bare;     /* private context with only the base provider */
    OSSL_PROVIDER *bare_prov;
} fixture;

static const uint8_t AESKEY[16] = {0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
                                   0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x30};
static const se05x_apdu GETVER = {.cla = 0x80, .ins = 0x04, .p1 = 0, .p2 = 0x20,
                                  .ne = SE05X_NE_SHORT};

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx || !(fx->dir = tu_tempdir("scp03libctx")))
        return -1;
    snprintf(fx->keys, sizeof(fx->keys), "%s/keys.txt", fx->dir);
    char card[1300];
    snprintf(card, sizeof(card), "%s/card", fx->dir);
    if (tu_write_scp03_keys(fx->keys) != 0 ||
        tu_scp03_daemon_start(&fx->d, card, fx->keys, fx->conn, sizeof(fx->conn)) != 0)
        return -1;
    fx->lc = OSSL_LIB_CTX_new();
    fx->lc_prov = fx->lc ? OSSL_PROVIDER_load(fx->lc, "default") : NULL;
    fx->bare = OSSL_LIB_CTX_new();
    fx->bare_prov = fx->bare ? OSSL_PROVIDER_load(fx->bare, "base") : NULL;
    if (!fx->lc_prov || !fx->bare_prov)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    tu_daemon_stop(&fx->d, 0);
    OSSL_PROVIDER_unload(fx->lc_prov);
    OSSL_PROVIDER_unload(fx->bare_prov);
    OSSL_LIB_CTX_free(fx->lc);
    OSSL_LIB_CTX_free(fx->bare);
    tu_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static se05x_conn *open_scp(fixture *fx, OSSL_LIB_CTX *lc)
{
    se05x_conn_opts o = {.scp03_keyfile = fx->keys, .libctx = lc};
    se05x_conn *c = NULL;
    char err[512] = "";
    se05x_status st = se05x_conn_open_err(fx->conn, &o, &c, err, sizeof(err));
    if (st != SE05X_OK)
        fail_msg("open %s with SCP03 and a private context: %s", fx->conn, err);
    return c;
}

static void getver_ok(se05x_conn *c)
{
    uint8_t out[64];
    size_t n = 0;
    se05x_status st = se05x_conn_apdu_ok(c, &GETVER, out, sizeof(out), &n);
    if (st != SE05X_OK)
        fail_msg("GetVersion: %s", se05x_conn_errmsg(c));
    assert_true(n >= 7);
}

/* The premise of the other tests: the default context cannot do SCP03. */
static void test_default_context_lacks_cmac(void **state)
{
    (void)state;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
    assert_null(m);
    assert_null(ciph);
    assert_null(se05x_scp03_algs_new(NULL, NULL));
}

static void test_platform_scp03_private_ctx(void **state)
{
    fixture *fx = *state;
    se05x_conn *c = open_scp(fx, fx->lc);
    for (int i = 0; i < 20; i++)
        getver_ok(c);
    /* data in both directions, several blocks */
    static const uint8_t blob[300] = {1, 2, 3};
    se05x_status st = se05x_write_binary(c, NULL, 0x10000051u, blob, sizeof(blob), false);
    if (st != SE05X_OK)
        fail_msg("write binary over SCP03: %s", se05x_conn_errmsg(c));
    uint8_t back[sizeof(blob)];
    size_t n = sizeof(back);
    assert_int_equal(se05x_read_object(c, 0x10000051u, 0, 0, back, &n), SE05X_OK);
    assert_int_equal(n, sizeof(blob));
    assert_memory_equal(back, blob, sizeof(blob));
    se05x_conn_close(c);
}

static void test_aeskey_session_private_ctx(void **state)
{
    fixture *fx = *state;
    se05x_conn *c = open_scp(fx, fx->lc);
    se05x_obj_opts o = {.auth = true};
    se05x_status st = se05x_write_symm_key(c, &o, AES_AUTH, SE05X_P1_AES, 0, AESKEY, 16);
    if (st != SE05X_OK)
        fail_msg("WriteSymmKey auth object: %s", se05x_conn_errmsg(c));
    st = se05x_session_open_aeskey(c, AES_AUTH, AESKEY);
    if (st != SE05X_OK)
        fail_msg("AESKey session: %s", se05x_conn_errmsg(c));
    assert_true(se05x_session_active(c));
    for (int i = 0; i < 5; i++)
        getver_ok(c);
    assert_int_equal(se05x_session_close(c), SE05X_OK);
    /* a wrong key is still refused by the card cryptogram check */
    uint8_t bad[16] = {0};
    assert_int_equal(se05x_session_open_aeskey(c, AES_AUTH, bad), SE05X_ERR_SCP);
    getver_ok(c);
    se05x_conn_close(c);
}

static void test_eckey_session_private_ctx(void **state)
{
    fixture *fx = *state;
    se05x_conn *c = open_scp(fx, fx->lc);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(fx->lc, NULL, "EC", "P-256");
    assert_non_null(k);
    uint8_t pt[65];
    size_t n = 0;
    assert_true(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n));
    assert_int_equal(n, sizeof(pt));
    se05x_obj_opts o = {.auth = true};
    se05x_ec_key ek = {.id = EC_AUTH, .curve = 0x03, .keypart = SE05X_KEY_PUBLIC, .pub = pt,
                       .pub_len = sizeof(pt)};
    se05x_status st = se05x_write_ec_key(c, &o, &ek);
    if (st != SE05X_OK)
        fail_msg("WriteECKey auth object: %s", se05x_conn_errmsg(c));
    st = se05x_session_open_eckey(c, EC_AUTH, k);
    if (st != SE05X_OK)
        fail_msg("ECKey session: %s", se05x_conn_errmsg(c));
    assert_true(se05x_session_active(c));
    uint8_t pub[160];
    n = sizeof(pub);
    assert_int_equal(se05x_read_object(c, KP_ECKEY_USER, 0, 0, pub, &n), SE05X_OK);
    assert_int_equal(n, 65);
    getver_ok(c);
    assert_int_equal(se05x_session_close(c), SE05X_OK);
    EVP_PKEY_free(k);
    se05x_conn_close(c);
}

/* An attested read over the private-context connection is verified in
 * that context (recorded in the answer); the default one cannot. */
static void test_attested_read_private_ctx(void **state)
{
    fixture *fx = *state;
    se05x_conn *c = open_scp(fx, fx->lc);
    uint8_t pub[160], fresh[16];
    size_t n = sizeof(pub);
    memset(fresh, 0xA5, sizeof(fresh));
    assert_int_equal(se05x_read_object(c, ATTEST_KEY, 0, 0, pub, &n), SE05X_OK);
    se05x_attested_read *a = calloc(1, sizeof(*a));
    assert_non_null(a);
    se05x_status st = se05x_read_object_attested(c, 0xF0000001u, 0, 32, ATTEST_KEY,
                                                 SE05X_ECSIGN_SHA256, fresh, a);
    if (st != SE05X_OK)
        fail_msg("attested read: %s", se05x_conn_errmsg(c));
    assert_ptr_equal(a->libctx, fx->lc);
    assert_int_equal(se05x_attested_read_verify(a, SE05X_CURVE_NIST_P256, pub, n), SE05X_OK);
    a->libctx = NULL; /* base provider only: no EC, no SHA-256 */
    assert_int_not_equal(se05x_attested_read_verify(a, SE05X_CURVE_NIST_P256, pub, n), SE05X_OK);
    free(a);
    se05x_conn_close(c);
}

/* Without libctx (default context: base provider only) and with a context
 * lacking CMAC/AES the platform channel cannot open; the message says why. */
static void test_missing_algorithms_refused(void **state)
{
    fixture *fx = *state;
    OSSL_LIB_CTX *ctxs[2] = {NULL, fx->bare};
    const char *want[2] = {"default library context", "connection's library context"};
    for (int i = 0; i < 2; i++) {
        se05x_conn_opts o = {.scp03_keyfile = fx->keys, .libctx = ctxs[i]};
        se05x_conn *c = NULL;
        char err[512] = "";
        assert_int_equal(se05x_conn_open_err(fx->conn, &o, &c, err, sizeof(err)), SE05X_ERR_CRYPTO);
        assert_null(c);
        if (!strstr(err, want[i]) || !strstr(err, "CMAC"))
            fail_msg("unexpected message: %s", err);
    }
    /* a session channel in a context without AES fails cleanly too */
    assert_null(se05x_scp03_algs_new(fx->bare, NULL));
    assert_null(se05x_scp03_algs_new(fx->lc, "provider=nonexistent"));
}

/* The algs primitives give the same CMAC as the RFC 4493 example. */
static void test_algs_cmac_vector(void **state)
{
    fixture *fx = *state;
    static const uint8_t key[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                    0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
    static const uint8_t msg[16] = {0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
                                    0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a};
    static const uint8_t want[16] = {0x07, 0x0a, 0x16, 0xb4, 0x6b, 0x4d, 0x41, 0x44,
                                     0xf7, 0x9b, 0xdd, 0x9d, 0xd0, 0x4a, 0x28, 0x7c};
    se05x_scp03_algs *a = se05x_scp03_algs_new(fx->lc, NULL);
    assert_non_null(a);
    assert_ptr_equal(se05x_scp03_algs_libctx(a), fx->lc);
    uint8_t out[16];
    for (int i = 0; i < 3; i++) { /* the CMAC context is re-keyed per use */
        memset(out, 0, sizeof(out));
        assert_int_equal(se05x_scp03_cmac_ex(a, key, msg, sizeof(msg), out), SE05X_OK);
        assert_memory_equal(out, want, 16);
    }
    se05x_scp03_algs_free(a);
    se05x_scp03_algs_free(NULL);
}

int main(void)
{
    /* Before any other libcrypto use: no config file, and only "base" in
     * the default context, so nothing can silently fall back to it. */
    if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL))
        return 1;
    OSSL_PROVIDER *base = OSSL_PROVIDER_load(NULL, "base");
    if (!base)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_context_lacks_cmac),
        cmocka_unit_test(test_platform_scp03_private_ctx),
        cmocka_unit_test(test_aeskey_session_private_ctx),
        cmocka_unit_test(test_eckey_session_private_ctx),
        cmocka_unit_test(test_attested_read_private_ctx),
        cmocka_unit_test(test_missing_algorithms_refused),
        cmocka_unit_test(test_algs_cmac_vector),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    OSSL_PROVIDER_unload(base);
    return rc;
}
