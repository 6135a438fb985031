/* Tests for the SE05x PSA driver (provider/psa) through the mbedTLS 3.6 PSA
 * API against the simulator in-process (sim:DIR): generate (EC P-256/384/521,
 * RSA) inside the SE, sign/verify (checked with libcrypto and mbedTLS
 * software), export public (equals sss's and `se05x get pub`'s), import, destroy
 * (object gone from the SE), allocation refusing occupied ids, registration
 * of the factory keys 0xF0000000/0xF0000004 (signatures verified with the
 * certificates at 0xF0000001/05), concurrent signing, and the negative
 * cases: unknown id, destroyed key, PSA and SE policies forbidding signing,
 * unreachable SE, unsupported algorithms/sizes, malformed signatures. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <psa/crypto.h>

#include "se05x_psa.h"
#include "sesim/servers.h"
#include "sesim/sesim.h"
#include "testutil.h"

static char *g_dir;
static char g_cs[600];
static sss_session *g_s;
static char g_cwd[4096];

#define ECC_PAIR PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1)
#define ECC_PUB PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1)
#define SIGN_VERIFY (PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_VERIFY_HASH)
#define ES256 PSA_ALG_ECDSA(PSA_ALG_SHA_256)

/* ---- setup ---------------------------------------------------------- */

static int suite_setup(void **state)
{
    g_dir = tu_tempdir("psa");
    if (!g_dir || !getcwd(g_cwd, sizeof(g_cwd)))
        return -1;
    /* PSA's ITS files go to the current directory */
    if (chdir(g_dir) != 0)
        return -1;
    snprintf(g_cs, sizeof(g_cs), "sim:%s/se", g_dir);
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X, .connstr = g_cs};
    char err[256];
    if (sss_session_open(&cfg, &g_s, err, sizeof(err)) != SSS_OK) {
        fprintf(stderr, "session: %s\n", err);
        return -1;
    }
    return 0;
}

static int suite_teardown(void **state)
{
    sss_session_close(g_s);
    if (chdir(g_cwd) != 0)
        return -1;
    tu_rmtree(g_dir);
    free(g_dir);
    return 0;
}

/* Driver on the shared session, PSA initialised. */
static int psa_up(void **state)
{
    se05x_psa_core *c;
    if (se05x_psa_core_new_session(g_s, &c) != PSA_SUCCESS)
        return -1;
    if (se05x_psa_register(c) != PSA_SUCCESS) {
        se05x_psa_core_free(c);
        return -1;
    }
    return psa_crypto_init() == PSA_SUCCESS ? 0 : -1;
}

static int psa_down(void **state)
{
    mbedtls_psa_crypto_free();
    se05x_psa_unregister();
    return 0;
}

static void se_attrs(psa_key_attributes_t *a, psa_key_id_t id, psa_key_type_t type, size_t bits,
                     psa_key_usage_t usage, psa_algorithm_t alg)
{
    *a = psa_key_attributes_init();
    psa_set_key_id(a, id);
    psa_set_key_lifetime(a, SE05X_PSA_LIFETIME);
    psa_set_key_type(a, type);
    psa_set_key_bits(a, bits);
    psa_set_key_usage_flags(a, usage);
    psa_set_key_algorithm(a, alg);
}

static bool se_has(uint32_t id)
{
    bool e = false;
    assert_int_equal(sss_object_exists(g_s, id, &e), SSS_OK);
    return e;
}

static size_t hash_of(psa_algorithm_t h, const char *msg, uint8_t *out)
{
    size_t n = 0;
    assert_int_equal(psa_hash_compute(h, (const uint8_t *)msg, strlen(msg), out, 64, &n),
                     PSA_SUCCESS);
    return n;
}

/* libcrypto public key from PSA's export format. */
static EVP_PKEY *pkey_from_psa(psa_key_type_t type, size_t bits, const uint8_t *pub, size_t len)
{
    if (PSA_KEY_TYPE_IS_RSA(type)) {
        const unsigned char *p = pub;
        return d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
    }
    const char *grp = bits == 256 ? "P-256" : bits == 384 ? "P-384" : "P-521";
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, grp, 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, len);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    return k;
}

/* libcrypto verification of a PSA signature (ECDSA raw r||s converted). */
static int ossl_verify(EVP_PKEY *k, psa_algorithm_t alg, const uint8_t *hash, size_t hlen,
                       const uint8_t *sig, size_t siglen)
{
    uint8_t der[200];
    size_t derlen = sizeof(der);
    if (PSA_ALG_IS_ECDSA(alg)) {
        assert_int_equal(se05x_psa_ecdsa_raw_to_der(sig, siglen, der, sizeof(der), &derlen),
                         PSA_SUCCESS);
        sig = der;
        siglen = derlen;
    }
    psa_algorithm_t h = PSA_ALG_SIGN_GET_HASH(alg);
    const EVP_MD *md = h == PSA_ALG_SHA_384 ? EVP_sha384() : h == PSA_ALG_SHA_512 ? EVP_sha512()
                                                                                   : EVP_sha256();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
    int ok = EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
    if (ok && PSA_ALG_IS_RSA_PSS(alg))
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) == 1;
    else if (ok && PSA_ALG_IS_RSA_PKCS1V15_SIGN(alg))
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
    int r = ok ? EVP_PKEY_verify(ctx, sig, siglen, hash, hlen) : -1;
    EVP_PKEY_CTX_free(ctx);
    return r;
}

/* Sign through the driver, verify through the driver, libcrypto and
 * mbedTLS software (the public key imported as a volatile key). */
static void sign_check(psa_key_id_t id, psa_key_type_t type, size_t bits, psa_algorithm_t alg)
{
    uint8_t hash[64], sig[600], pub[600];
    size_t hlen = hash_of(PSA_ALG_SIGN_GET_HASH(alg), "hello from the PSA driver", hash);
    size_t siglen = 0, publen = 0;
    assert_int_equal(psa_sign_hash(id, alg, hash, hlen, sig, sizeof(sig), &siglen), PSA_SUCCESS);
    assert_int_equal(siglen, PSA_SIGN_OUTPUT_SIZE(type, bits, alg));
    assert_int_equal(psa_verify_hash(id, alg, hash, hlen, sig, siglen), PSA_SUCCESS);
    assert_int_equal(psa_export_public_key(id, pub, sizeof(pub), &publen), PSA_SUCCESS);

    EVP_PKEY *k = pkey_from_psa(type, bits, pub, publen);
    assert_non_null(k);
    assert_int_equal(ossl_verify(k, alg, hash, hlen, sig, siglen), 1);

    psa_key_attributes_t a = psa_key_attributes_init();
    psa_set_key_type(&a, PSA_KEY_TYPE_PUBLIC_KEY_OF_KEY_PAIR(type));
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_VERIFY_HASH);
    psa_set_key_algorithm(&a, alg);
    psa_key_id_t soft;
    assert_int_equal(psa_import_key(&a, pub, publen, &soft), PSA_SUCCESS);
    assert_int_equal(psa_verify_hash(soft, alg, hash, hlen, sig, siglen), PSA_SUCCESS);

    sig[siglen / 2] ^= 0x01;
    assert_int_equal(psa_verify_hash(id, alg, hash, hlen, sig, siglen),
                     PSA_ERROR_INVALID_SIGNATURE);
    assert_int_equal(psa_verify_hash(soft, alg, hash, hlen, sig, siglen),
                     PSA_ERROR_INVALID_SIGNATURE);
    assert_int_not_equal(ossl_verify(k, alg, hash, hlen, sig, siglen), 1);
    psa_destroy_key(soft);
    EVP_PKEY_free(k);
}

/* ---- key management ------------------------------------------------- */

static void test_generate_ec_sign_verify(void **state)
{
    const size_t sizes[] = {256, 384, 521};
    const psa_algorithm_t hashes[] = {PSA_ALG_SHA_256, PSA_ALG_SHA_384, PSA_ALG_SHA_512};
    for (size_t i = 0; i < 3; i++) {
        psa_key_id_t id = 0x21000010 + (psa_key_id_t)i, got = 0;
        psa_key_attributes_t a;
        se_attrs(&a, id, ECC_PAIR, sizes[i], SIGN_VERIFY,
                 PSA_ALG_ECDSA(PSA_ALG_ANY_HASH));
        assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
        assert_int_equal(got, id);
        /* the key lives in the SE object with the same id */
        sss_object_info info;
        assert_int_equal(sss_object_info_get(g_s, id, &info), SSS_OK);
        assert_int_equal(info.type, SSS_KT_EC_PAIR);
        assert_int_equal(info.origin, SSS_ORIGIN_INTERNAL);
        sign_check(id, ECC_PAIR, sizes[i], PSA_ALG_ECDSA(hashes[i]));
        sign_check(id, ECC_PAIR, sizes[i], ES256);
        assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);
        assert_false(se_has(id));
    }
}

static void test_generate_rsa_sign_verify(void **state)
{
    /* one key (RSA generation is slow): PKCS#1 v1.5 and, as the second
     * algorithm, PSS (the TLS 1.3 RSA signature) */
    psa_key_id_t id = 0x21000020, got = 0;
    psa_key_attributes_t a;
    se_attrs(&a, id, PSA_KEY_TYPE_RSA_KEY_PAIR, 2048, SIGN_VERIFY,
             PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_ANY_HASH));
    psa_set_key_enrollment_algorithm(&a, PSA_ALG_RSA_PSS(PSA_ALG_ANY_HASH));
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    sss_object_info info;
    assert_int_equal(sss_object_info_get(g_s, id, &info), SSS_OK);
    assert_int_equal(info.type, SSS_KT_RSA_PAIR);
    assert_int_equal(info.bits, 2048);
    sign_check(id, PSA_KEY_TYPE_RSA_KEY_PAIR, 2048, PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256));
    sign_check(id, PSA_KEY_TYPE_RSA_KEY_PAIR, 2048, PSA_ALG_RSA_PSS(PSA_ALG_SHA_256));
    sign_check(id, PSA_KEY_TYPE_RSA_KEY_PAIR, 2048, PSA_ALG_RSA_PSS(PSA_ALG_SHA_384));
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);
    assert_false(se_has(id));
}

/* The exported public key is the one sss reads from the SE. */
static void test_export_public_matches_sss(void **state)
{
    psa_key_id_t id = 0x21000030, got;
    psa_key_attributes_t a;
    se_attrs(&a, id, ECC_PAIR, 256, PSA_KEY_USAGE_SIGN_HASH, ES256);
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    uint8_t pub[200], spki[300], point[200];
    size_t publen = 0, spkilen = sizeof(spki), pointlen = 0;
    assert_int_equal(psa_export_public_key(id, pub, sizeof(pub), &publen), PSA_SUCCESS);
    assert_int_equal(publen, 65);
    assert_int_equal(pub[0], 0x04);

    sss_key *k;
    assert_int_equal(sss_key_open(g_s, id, &k), SSS_OK);
    assert_int_equal(sss_key_public_der(k, spki, &spkilen), SSS_OK);
    sss_key_close(k);
    const unsigned char *p = spki;
    EVP_PKEY *ek = d2i_PUBKEY(NULL, &p, (long)spkilen);
    assert_non_null(ek);
    assert_int_equal(EVP_PKEY_get_octet_string_param(ek, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                                     sizeof(point), &pointlen),
                     1);
    EVP_PKEY_free(ek);
    assert_int_equal(pointlen, publen);
    assert_memory_equal(point, pub, publen);

    /* ... and the one `se05x get pub` writes (another process on the same sim:DIR) */
    char cmd[2048], path[700];
    snprintf(path, sizeof(path), "%s/pub.der", g_dir);
    snprintf(cmd, sizeof(cmd), "'%s' --port '%s' get pub 0x%08X '%s' --der", SE05X_CLI_BIN, g_cs,
             (unsigned)id, path);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t cli[300];
    size_t clilen = fread(cli, 1, sizeof(cli), f);
    fclose(f);
    p = cli;
    ek = d2i_PUBKEY(NULL, &p, (long)clilen);
    assert_non_null(ek);
    assert_int_equal(EVP_PKEY_get_octet_string_param(ek, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                                     sizeof(point), &pointlen),
                     1);
    EVP_PKEY_free(ek);
    assert_int_equal(pointlen, publen);
    assert_memory_equal(point, pub, publen);

    /* too small a buffer: clear error, nothing written past it */
    uint8_t small[10];
    assert_int_equal(psa_export_public_key(id, small, sizeof(small), &publen),
                     PSA_ERROR_BUFFER_TOO_SMALL);
    /* private keys never leave the SE */
    uint8_t priv[100];
    size_t privlen;
    assert_int_not_equal(psa_export_key(id, priv, sizeof(priv), &privlen), PSA_SUCCESS);
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);
}

static void test_import(void **state)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k);
    BIGNUM *d = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
    uint8_t scalar[32], point[65];
    size_t pointlen;
    assert_int_equal(BN_bn2binpad(d, scalar, 32), 32);
    BN_clear_free(d);
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                                     sizeof(point), &pointlen),
                     1);

    psa_key_id_t id = 0x21000040, got;
    psa_key_attributes_t a;
    se_attrs(&a, id, ECC_PAIR, 0, SIGN_VERIFY,
             ES256);
    assert_int_equal(psa_import_key(&a, scalar, sizeof(scalar), &got), PSA_SUCCESS);
    sss_object_info info;
    assert_int_equal(sss_object_info_get(g_s, id, &info), SSS_OK);
    assert_int_equal(info.type, SSS_KT_EC_PAIR);
    assert_int_equal(info.origin, SSS_ORIGIN_EXTERNAL);
    uint8_t pub[100];
    size_t publen;
    assert_int_equal(psa_export_public_key(id, pub, sizeof(pub), &publen), PSA_SUCCESS);
    assert_int_equal(publen, pointlen);
    assert_memory_equal(pub, point, publen);
    /* signature by the SE verifies with the original libcrypto key */
    uint8_t hash[64], sig[200];
    size_t hlen = hash_of(PSA_ALG_SHA_256, "imported", hash), siglen;
    assert_int_equal(psa_sign_hash(id, ES256, hash, hlen, sig,
                                   sizeof(sig), &siglen),
                     PSA_SUCCESS);
    assert_int_equal(ossl_verify(k, ES256, hash, hlen, sig, siglen), 1);
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);

    /* public key only: verifies, cannot sign */
    se_attrs(&a, id + 1, ECC_PUB, 256, PSA_KEY_USAGE_VERIFY_HASH, ES256);
    assert_int_equal(psa_import_key(&a, point, pointlen, &got), PSA_SUCCESS);
    assert_int_equal(psa_verify_hash(id + 1, ES256, hash, hlen, sig, siglen),
                     PSA_SUCCESS);
    assert_int_equal(psa_destroy_key(id + 1), PSA_SUCCESS);
    assert_false(se_has(id + 1));

    /* bad scalar (zero) and bad point: refused, nothing created */
    uint8_t zero[32] = {0};
    se_attrs(&a, id + 2, ECC_PAIR, 0, PSA_KEY_USAGE_SIGN_HASH, ES256);
    assert_int_not_equal(psa_import_key(&a, zero, sizeof(zero), &got), PSA_SUCCESS);
    assert_false(se_has(id + 2));
    point[10] ^= 0xFF;
    se_attrs(&a, id + 3, ECC_PUB, 0, PSA_KEY_USAGE_VERIFY_HASH, ES256);
    assert_int_not_equal(psa_import_key(&a, point, pointlen, &got), PSA_SUCCESS);
    assert_false(se_has(id + 3));
    EVP_PKEY_free(k);
}

static void test_import_rsa_and_sizes(void **state)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(k);
    unsigned char *priv = NULL, *pubder = NULL;
    int privlen = i2d_PrivateKey(k, &priv), publen = i2d_PublicKey(k, &pubder);
    assert_true(privlen > 0 && publen > 0);

    psa_key_id_t id = 0x21000045, got;
    psa_key_attributes_t a;
    psa_algorithm_t alg = PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256);
    se_attrs(&a, id, PSA_KEY_TYPE_RSA_KEY_PAIR, 0, SIGN_VERIFY,
             alg);
    assert_int_equal(psa_import_key(&a, priv, (size_t)privlen, &got), PSA_SUCCESS);
    psa_key_attributes_t r = PSA_KEY_ATTRIBUTES_INIT;
    assert_int_equal(psa_get_key_attributes(id, &r), PSA_SUCCESS);
    assert_int_equal(psa_get_key_bits(&r), 2048);
    psa_reset_key_attributes(&r);
    uint8_t exported[600];
    size_t explen;
    assert_int_equal(psa_export_public_key(id, exported, sizeof(exported), &explen), PSA_SUCCESS);
    assert_int_equal(explen, (size_t)publen);
    assert_memory_equal(exported, pubder, explen);
    uint8_t hash[64], sig[600];
    size_t hlen = hash_of(PSA_ALG_SHA_256, "rsa import", hash), siglen;
    assert_int_equal(psa_sign_hash(id, alg, hash, hlen, sig, sizeof(sig), &siglen), PSA_SUCCESS);
    assert_int_equal(ossl_verify(k, alg, hash, hlen, sig, siglen), 1);
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);
    assert_false(se_has(id));

    /* RSA public key: verification in the SE */
    se_attrs(&a, id + 1, PSA_KEY_TYPE_RSA_PUBLIC_KEY, 2048, PSA_KEY_USAGE_VERIFY_HASH, alg);
    assert_int_equal(psa_import_key(&a, pubder, (size_t)publen, &got), PSA_SUCCESS);
    assert_int_equal(psa_verify_hash(id + 1, alg, hash, hlen, sig, siglen), PSA_SUCCESS);
    sig[5] ^= 1;
    assert_int_equal(psa_verify_hash(id + 1, alg, hash, hlen, sig, siglen),
                     PSA_ERROR_INVALID_SIGNATURE);
    assert_int_equal(psa_destroy_key(id + 1), PSA_SUCCESS);

    /* declared size differs from the data: refused, the SE object removed */
    se_attrs(&a, id + 2, PSA_KEY_TYPE_RSA_KEY_PAIR, 3072, PSA_KEY_USAGE_SIGN_HASH, alg);
    assert_int_not_equal(psa_import_key(&a, priv, (size_t)privlen, &got), PSA_SUCCESS);
    assert_false(se_has(id + 2));
    /* truncated DER */
    se_attrs(&a, id + 3, PSA_KEY_TYPE_RSA_KEY_PAIR, 0, PSA_KEY_USAGE_SIGN_HASH, alg);
    assert_int_not_equal(psa_import_key(&a, priv, (size_t)privlen - 10, &got), PSA_SUCCESS);
    assert_false(se_has(id + 3));
    OPENSSL_clear_free(priv, (size_t)privlen);
    OPENSSL_free(pubder);
    EVP_PKEY_free(k);

    /* P-384 and P-521 scalars; a 33-byte scalar is no curve */
    const char *curves[] = {"P-384", "P-521"};
    const size_t bytes[] = {48, 66}, bits[] = {384, 521};
    for (int i = 0; i < 2; i++) {
        EVP_PKEY *ek = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i]);
        BIGNUM *d = NULL;
        uint8_t scalar[66];
        assert_int_equal(EVP_PKEY_get_bn_param(ek, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
        assert_int_equal(BN_bn2binpad(d, scalar, (int)bytes[i]), (int)bytes[i]);
        BN_clear_free(d);
        se_attrs(&a, id + 4 + (psa_key_id_t)i, ECC_PAIR, 0,
                 SIGN_VERIFY,
                 PSA_ALG_ECDSA(PSA_ALG_ANY_HASH));
        assert_int_equal(psa_import_key(&a, scalar, bytes[i], &got), PSA_SUCCESS);
        sign_check(got, ECC_PAIR, bits[i], PSA_ALG_ECDSA(PSA_ALG_SHA_384));
        assert_int_equal(psa_destroy_key(got), PSA_SUCCESS);
        OPENSSL_cleanse(scalar, sizeof(scalar));
        EVP_PKEY_free(ek);
    }
    uint8_t odd[33];
    memset(odd, 0x11, sizeof(odd));
    se_attrs(&a, id + 6, ECC_PAIR, 0, PSA_KEY_USAGE_SIGN_HASH, ES256);
    assert_int_not_equal(psa_import_key(&a, odd, sizeof(odd), &got), PSA_SUCCESS);
    assert_false(se_has(id + 6));
}

/* Allocation refuses occupied ids and leaves the existing object alone. */
static void test_allocate_refuses_occupied(void **state)
{
    uint32_t id = 0x21000050;
    sss_keygen spec = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_P256};
    sss_write_opts o = {0};
    assert_int_equal(sss_key_generate(g_s, id, &spec, &o), SSS_OK);
    uint8_t before[200], after[200];
    size_t blen = sizeof(before), alen = sizeof(after);
    sss_key *k;
    assert_int_equal(sss_key_open(g_s, id, &k), SSS_OK);
    assert_int_equal(sss_key_public_der(k, before, &blen), SSS_OK);
    sss_key_close(k);

    psa_key_attributes_t a;
    psa_key_id_t got;
    se_attrs(&a, id, ECC_PAIR, 256, PSA_KEY_USAGE_SIGN_HASH, ES256);
    assert_int_equal(psa_generate_key(&a, &got), PSA_ERROR_ALREADY_EXISTS);
    /* explicit slot number, occupied */
    se_attrs(&a, 0x21000051, ECC_PAIR, 256, PSA_KEY_USAGE_SIGN_HASH, ES256);
    psa_set_key_slot_number(&a, id);
    assert_int_equal(psa_generate_key(&a, &got), PSA_ERROR_ALREADY_EXISTS);
    assert_non_null(strstr(se05x_psa_core_errmsg(se05x_psa_driver_core()), "already exists"));

    assert_int_equal(sss_key_open(g_s, id, &k), SSS_OK);
    assert_int_equal(sss_key_public_der(k, after, &alen), SSS_OK);
    sss_key_close(k);
    assert_int_equal(alen, blen);
    assert_memory_equal(before, after, blen);
    /* PSA knows neither id */
    assert_int_not_equal(psa_sign_hash(id, ES256, before, 32, after,
                                       sizeof(after), &alen),
                         PSA_SUCCESS);

    /* explicit free slot: key id and object id differ */
    se_attrs(&a, 0x21000052, ECC_PAIR, 256, SIGN_VERIFY,
             ES256);
    psa_set_key_slot_number(&a, 0x21000053);
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    assert_true(se_has(0x21000053));
    assert_false(se_has(0x21000052));
    sign_check(0x21000052, ECC_PAIR, 256, ES256);
    /* the PSA id is taken even though the new slot is free */
    psa_set_key_slot_number(&a, 0x21000054);
    assert_int_equal(psa_generate_key(&a, &got), PSA_ERROR_ALREADY_EXISTS);
    assert_false(se_has(0x21000054));
    assert_true(se_has(0x21000053));
    assert_int_equal(psa_destroy_key(0x21000052), PSA_SUCCESS);
    assert_false(se_has(0x21000053));
    assert_int_equal(sss_object_delete(g_s, id), SSS_OK);
}

/* SE05X_PSA_SE_POLICY_FROM_USAGE: the SE object's policy follows the PSA
 * usage flags, so the SE itself refuses what PSA would refuse. */
static void test_se_policy_from_usage(void **state)
{
    se05x_psa_core_set_se_policy(se05x_psa_driver_core(), SE05X_PSA_SE_POLICY_FROM_USAGE);
    psa_key_id_t id = 0x21000058, got;
    psa_key_attributes_t a;
    se_attrs(&a, id, ECC_PAIR, 256, PSA_KEY_USAGE_SIGN_HASH, ES256);
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    sss_object_info info;
    assert_int_equal(sss_object_info_get(g_s, id, &info), SSS_OK);
    assert_int_equal(info.policy.n, 1);
    assert_int_equal(info.policy.e[0].auth_id, 0);
    assert_int_equal(info.policy.e[0].ar, SE05X_AR_SIGN | SE05X_AR_READ | SE05X_AR_DELETE);

    uint8_t hash[32] = {8}, sig[64], der[80], pub[100];
    size_t siglen, derlen = sizeof(der), publen;
    assert_int_equal(psa_sign_hash(id, ES256, hash, 32, sig, sizeof(sig), &siglen), PSA_SUCCESS);
    assert_int_equal(psa_export_public_key(id, pub, sizeof(pub), &publen), PSA_SUCCESS);
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);
    assert_false(se_has(id));

    /* a verify-only key pair: signing is denied by the SE itself (sss directly) */
    se_attrs(&a, id + 3, ECC_PAIR, 256, PSA_KEY_USAGE_VERIFY_HASH, ES256);
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    sss_key *k;
    assert_int_equal(sss_key_open(g_s, id + 3, &k), SSS_OK);
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    assert_int_equal(sss_sign(k, &p, hash, 32, der, &derlen), SSS_ERR_DENIED);
    sss_key_close(k);
    assert_int_equal(psa_destroy_key(id + 3), PSA_SUCCESS);

    /* imported public key for verification only */
    se_attrs(&a, id + 1, ECC_PUB, 256, PSA_KEY_USAGE_VERIFY_HASH, ES256);
    assert_int_equal(psa_import_key(&a, pub, publen, &got), PSA_SUCCESS);
    assert_int_equal(sss_object_info_get(g_s, id + 1, &info), SSS_OK);
    assert_int_equal(info.policy.n, 1);
    assert_int_equal(info.policy.e[0].ar, SE05X_AR_VERIFY | SE05X_AR_READ | SE05X_AR_DELETE);
    assert_int_equal(psa_verify_hash(id + 1, ES256, hash, 32, sig, siglen), PSA_SUCCESS);
    assert_int_equal(psa_destroy_key(id + 1), PSA_SUCCESS);

    /* back to the SE's default policy */
    se05x_psa_core_set_se_policy(se05x_psa_driver_core(), SE05X_PSA_SE_POLICY_DEFAULT);
    se_attrs(&a, id + 2, ECC_PAIR, 256, PSA_KEY_USAGE_SIGN_HASH, ES256);
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    assert_int_equal(sss_object_info_get(g_s, id + 2, &info), SSS_OK);
    assert_int_not_equal(info.policy.n == 1 && info.policy.e[0].ar ==
                             (SE05X_AR_SIGN | SE05X_AR_READ | SE05X_AR_DELETE),
                         1);
    assert_int_equal(psa_destroy_key(id + 2), PSA_SUCCESS);
}

/* Keys persist in PSA storage across a restart of the PSA core. */
static void test_persistence(void **state)
{
    psa_key_id_t id = 0x21000060, got;
    psa_key_attributes_t a;
    se_attrs(&a, id, ECC_PAIR, 256, SIGN_VERIFY,
             ES256);
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    psa_down(state);
    assert_int_equal(psa_up(state), 0);
    sign_check(id, ECC_PAIR, 256, ES256);
    psa_key_attributes_t r = PSA_KEY_ATTRIBUTES_INIT;
    assert_int_equal(psa_get_key_attributes(id, &r), PSA_SUCCESS);
    assert_int_equal(psa_get_key_lifetime(&r), SE05X_PSA_LIFETIME);
    assert_int_equal(psa_get_key_bits(&r), 256);
    psa_reset_key_attributes(&r);
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);
}

/* ---- pre-provisioned objects ---------------------------------------- */

static X509 *cert_at(uint32_t id)
{
    uint8_t der[2048];
    size_t len = sizeof(der);
    assert_int_equal(sss_cert_read_der(g_s, id, der, &len), SSS_OK);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    return x;
}

/* Sign with the registered key id and alg; verify with the certificate. */
static void factory_sign(psa_key_id_t id, uint32_t cert_id, psa_algorithm_t alg)
{
    uint8_t hash[64], sig[600];
    size_t hlen = hash_of(PSA_ALG_SIGN_GET_HASH(alg), "factory key", hash), siglen;
    assert_int_equal(psa_sign_hash(id, alg, hash, hlen, sig, sizeof(sig), &siglen), PSA_SUCCESS);
    X509 *x = cert_at(cert_id);
    assert_int_equal(ossl_verify(X509_get0_pubkey(x), alg, hash, hlen, sig, siglen), 1);
    X509_free(x);
    assert_int_equal(psa_verify_hash(id, alg, hash, hlen, sig, siglen), PSA_SUCCESS);
}

/* Register se_id under PSA id with alg (and alg2), sign with each. */
static void factory_check(psa_key_id_t id, uint32_t se_id, uint32_t cert_id, psa_algorithm_t alg,
                          psa_algorithm_t alg2)
{
    assert_int_equal(se05x_psa_register_object(id, se_id, SIGN_VERIFY, alg, alg2), PSA_SUCCESS);
    factory_sign(id, cert_id, alg);
    if (alg2)
        factory_sign(id, cert_id, alg2);
    /* registering the same PSA id twice is refused */
    assert_int_equal(se05x_psa_register_object(id, se_id, PSA_KEY_USAGE_SIGN_HASH, alg, 0),
                     PSA_ERROR_ALREADY_EXISTS);
    /* the factory policy forbids deletion: PSA forgets the key, the SE keeps it */
    assert_int_equal(psa_destroy_key(id), PSA_ERROR_NOT_PERMITTED);
    assert_true(se_has(se_id));
    uint8_t hash[32] = {6}, sig[600];
    size_t siglen;
    assert_int_equal(psa_sign_hash(id, alg, hash, 32, sig, sizeof(sig), &siglen),
                     PSA_ERROR_INVALID_HANDLE);
}

static void test_register_factory_ec(void **state)
{
    factory_check(0x3F000000, 0xF0000000, 0xF0000001, ES256, 0);
}

static void test_register_factory_rsa(void **state)
{
    const psa_algorithm_t pkcs1 = PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256),
                          pss = PSA_ALG_RSA_PSS(PSA_ALG_SHA_256);
    factory_check(0x3F000004, 0xF0000004, 0xF0000005, pkcs1, 0);
    factory_check(0x3F000005, 0xF0000004, 0xF0000005, pss, 0);
    /* one registration for TLS 1.2 (PKCS#1 v1.5) and TLS 1.3 (PSS) */
    factory_check(0x3F000006, 0xF0000004, 0xF0000005, pkcs1, pss);
    /* an algorithm outside both policies is refused by PSA */
    assert_int_equal(se05x_psa_register_object(0x3F000007, 0xF0000004, SIGN_VERIFY, pkcs1, 0),
                     PSA_SUCCESS);
    uint8_t hash[32] = {7}, sig[600];
    size_t siglen;
    assert_int_equal(psa_sign_hash(0x3F000007, pss, hash, 32, sig, sizeof(sig), &siglen),
                     PSA_ERROR_NOT_PERMITTED);
    assert_int_equal(psa_destroy_key(0x3F000007), PSA_ERROR_NOT_PERMITTED);
}

static void test_register_bad_objects(void **state)
{
    /* no such object */
    assert_int_equal(se05x_psa_register_object(0x3F000010, 0x21EEEEEE, PSA_KEY_USAGE_SIGN_HASH,
                                               ES256, 0),
                     PSA_ERROR_DOES_NOT_EXIST);
    assert_non_null(strstr(se05x_psa_core_errmsg(se05x_psa_driver_core()), "0x21EEEEEE"));
    /* a certificate is not a key */
    assert_int_equal(se05x_psa_register_object(0x3F000011, 0xF0000001, PSA_KEY_USAGE_SIGN_HASH,
                                               ES256, 0),
                     PSA_ERROR_NOT_SUPPORTED);
    /* registration with a type that does not match the object */
    psa_key_attributes_t a;
    se_attrs(&a, 0x3F000012, PSA_KEY_TYPE_RSA_KEY_PAIR, 2048, PSA_KEY_USAGE_SIGN_HASH,
             PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256));
    psa_set_key_slot_number(&a, 0xF0000000);
    assert_int_equal(mbedtls_psa_register_se_key(&a), PSA_ERROR_INVALID_ARGUMENT);
}

/* ---- negative cases ------------------------------------------------- */

static void test_unknown_and_destroyed(void **state)
{
    uint8_t hash[32] = {1}, sig[200];
    size_t siglen;
    assert_int_equal(psa_sign_hash(0x21EEEEEE, ES256, hash, 32, sig,
                                   sizeof(sig), &siglen),
                     PSA_ERROR_INVALID_HANDLE);
    psa_key_id_t id = 0x21000070, got;
    psa_key_attributes_t a;
    se_attrs(&a, id, ECC_PAIR, 256, PSA_KEY_USAGE_SIGN_HASH, ES256);
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);
    assert_int_equal(psa_sign_hash(id, ES256, hash, 32, sig, sizeof(sig),
                                   &siglen),
                     PSA_ERROR_INVALID_HANDLE);
    assert_int_equal(psa_destroy_key(id), PSA_ERROR_INVALID_HANDLE);

    /* the SE object vanished behind PSA's back: clear error */
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    assert_int_equal(psa_sign_hash(id, ES256, hash, 32, sig, sizeof(sig),
                                   &siglen),
                     PSA_SUCCESS);
    assert_int_equal(sss_object_delete(g_s, id), SSS_OK);
    assert_int_equal(psa_sign_hash(id, ES256, hash, 32, sig, sizeof(sig),
                                   &siglen),
                     PSA_ERROR_DOES_NOT_EXIST);
    assert_non_null(strstr(se05x_psa_core_errmsg(se05x_psa_driver_core()), "0x21000070"));
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);
}

static void test_policies_forbid_signing(void **state)
{
    uint8_t hash[32] = {2}, sig[200];
    size_t siglen;
    /* PSA usage policy without SIGN_HASH */
    psa_key_id_t id = 0x21000080, got;
    psa_key_attributes_t a;
    se_attrs(&a, id, ECC_PAIR, 256, PSA_KEY_USAGE_VERIFY_HASH, ES256);
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    assert_int_equal(psa_sign_hash(id, ES256, hash, 32, sig, sizeof(sig),
                                   &siglen),
                     PSA_ERROR_NOT_PERMITTED);
    /* another algorithm than the policy's */
    assert_int_equal(psa_sign_hash(id, PSA_ALG_ECDSA(PSA_ALG_SHA_384), hash, 32, sig, sizeof(sig),
                                   &siglen),
                     PSA_ERROR_NOT_PERMITTED);
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);

    /* SE object policy without SIGN, registered with SIGN usage: the SE refuses */
    se05x_policy pol;
    se05x_policy_init(&pol);
    se05x_policy_add(&pol, 0, SE05X_AR_VERIFY | SE05X_AR_READ | SE05X_AR_DELETE);
    sss_keygen spec = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_P256};
    sss_write_opts o = {.policy = &pol};
    assert_int_equal(sss_key_generate(g_s, 0x21000081, &spec, &o), SSS_OK);
    assert_int_equal(se05x_psa_register_object(0x3F000081, 0x21000081, PSA_KEY_USAGE_SIGN_HASH,
                                               ES256, 0),
                     PSA_SUCCESS);
    assert_int_equal(psa_sign_hash(0x3F000081, ES256, hash, 32, sig,
                                   sizeof(sig), &siglen),
                     PSA_ERROR_NOT_PERMITTED);
    assert_non_null(strstr(se05x_psa_core_errmsg(se05x_psa_driver_core()), "0x21000081"));
    assert_int_equal(psa_destroy_key(0x3F000081), PSA_SUCCESS);
    assert_false(se_has(0x21000081));
}

static void test_unsupported(void **state)
{
    psa_key_id_t got;
    psa_key_attributes_t a;
    /* P-224 and Brainpool are not generated by the driver; nothing created */
    se_attrs(&a, 0x21000090, ECC_PAIR, 224, PSA_KEY_USAGE_SIGN_HASH, ES256);
    assert_int_not_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    assert_false(se_has(0x21000090));
    se_attrs(&a, 0x21000091, PSA_KEY_TYPE_RSA_KEY_PAIR, 1000, PSA_KEY_USAGE_SIGN_HASH,
             PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256));
    assert_int_not_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    assert_false(se_has(0x21000091));
    /* symmetric keys are not handled by this driver */
    se_attrs(&a, 0x21000092, PSA_KEY_TYPE_AES, 128, PSA_KEY_USAGE_ENCRYPT, PSA_ALG_CTR);
    assert_int_not_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    assert_false(se_has(0x21000092));

    /* deterministic ECDSA cannot be done by the SE */
    psa_key_id_t id = 0x21000093;
    se_attrs(&a, id, ECC_PAIR, 256, PSA_KEY_USAGE_SIGN_HASH,
             PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256));
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    uint8_t hash[48] = {3}, sig[200];
    size_t siglen;
    assert_int_equal(psa_sign_hash(id, PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256), hash, 32, sig,
                                   sizeof(sig), &siglen),
                     PSA_ERROR_NOT_SUPPORTED);
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);

    /* hash length not matching the algorithm; buffer too small */
    se_attrs(&a, id, ECC_PAIR, 256, PSA_KEY_USAGE_SIGN_HASH, ES256);
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    assert_int_equal(psa_sign_hash(id, ES256, hash, 48, sig, sizeof(sig),
                                   &siglen),
                     PSA_ERROR_INVALID_ARGUMENT);
    assert_int_equal(psa_sign_hash(id, ES256, hash, 32, sig, 10, &siglen),
                     PSA_ERROR_BUFFER_TOO_SMALL);
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);
}

/* The SE cannot be reached: PSA still initialises (software keys work),
 * SE operations fail with COMMUNICATION_FAILURE and an explanation. */
static void test_se_unreachable(void **state)
{
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X, .connstr = "127.0.0.1:1"};
    se05x_psa_core *c;
    assert_int_equal(se05x_psa_core_new(&cfg, &c), PSA_SUCCESS);
    assert_int_equal(se05x_psa_register(c), PSA_SUCCESS);
    assert_int_equal(psa_crypto_init(), PSA_SUCCESS);

    psa_key_id_t got;
    psa_key_attributes_t a;
    se_attrs(&a, 0x210000A0, ECC_PAIR, 256, PSA_KEY_USAGE_SIGN_HASH, ES256);
    assert_int_equal(psa_generate_key(&a, &got), PSA_ERROR_COMMUNICATION_FAILURE);
    assert_non_null(strstr(se05x_psa_core_errmsg(c), "cannot open the SE session"));
    assert_non_null(strstr(se05x_psa_core_errmsg(c), "127.0.0.1:1"));
    assert_int_equal(se05x_psa_register_object(0x3F0000A0, 0xF0000000, PSA_KEY_USAGE_SIGN_HASH,
                                               ES256, 0),
                     PSA_ERROR_COMMUNICATION_FAILURE);

    /* software keys are unaffected */
    psa_key_attributes_t s = psa_key_attributes_init();
    psa_set_key_type(&s, ECC_PAIR);
    psa_set_key_bits(&s, 256);
    psa_set_key_usage_flags(&s, PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&s, ES256);
    assert_int_equal(psa_generate_key(&s, &got), PSA_SUCCESS);
    uint8_t hash[32] = {4}, sig[64];
    size_t siglen;
    assert_int_equal(psa_sign_hash(got, ES256, hash, 32, sig, sizeof(sig),
                                   &siglen),
                     PSA_SUCCESS);
    psa_destroy_key(got);
    mbedtls_psa_crypto_free();
    se05x_psa_unregister();
    assert_null(se05x_psa_driver_core());
}

/* The SE goes away after the session was open (JRCP server stopped): SE
 * operations fail with COMMUNICATION_FAILURE, no crash; PSA keeps the key. */
static void test_se_lost(void **state)
{
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/se-jrcp", g_dir);
    sesim_opts so;
    sesim_opts_default(&so);
    so.quiet = true;
    sesim *card;
    sesim_jrcp_server *srv;
    assert_int_equal(sesim_open(dir, &so, &card), SE05X_OK);
    sesim_card_if cif = sesim_card_if_for(card);
    assert_int_equal(sesim_jrcp_server_start(&cif, "127.0.0.1", 0, &srv), SE05X_OK);
    char cs[64];
    snprintf(cs, sizeof(cs), "127.0.0.1:%u", sesim_jrcp_server_port(srv));
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X, .connstr = cs};
    se05x_psa_core *c;
    assert_int_equal(se05x_psa_core_new(&cfg, &c), PSA_SUCCESS);
    assert_int_equal(se05x_psa_register(c), PSA_SUCCESS);
    assert_int_equal(psa_crypto_init(), PSA_SUCCESS);

    psa_key_id_t id = 0x210000C0, got;
    psa_key_attributes_t a;
    se_attrs(&a, id, ECC_PAIR, 256, PSA_KEY_USAGE_SIGN_HASH, ES256);
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    uint8_t hash[32] = {5}, sig[64];
    size_t siglen;
    assert_int_equal(psa_sign_hash(id, ES256, hash, 32, sig, sizeof(sig),
                                   &siglen),
                     PSA_SUCCESS);
    sesim_jrcp_server_stop(srv);
    assert_int_equal(psa_sign_hash(id, ES256, hash, 32, sig, sizeof(sig),
                                   &siglen),
                     PSA_ERROR_COMMUNICATION_FAILURE);
    assert_non_null(strstr(se05x_psa_core_errmsg(c), "0x210000C0"));
    /* the next calls try to reconnect, and say so */
    assert_int_equal(psa_sign_hash(id, ES256, hash, 32, sig, sizeof(sig),
                                   &siglen),
                     PSA_ERROR_COMMUNICATION_FAILURE);
    assert_non_null(strstr(se05x_psa_core_errmsg(c), "cannot open the SE session"));
    uint8_t pub[100];
    size_t publen;
    assert_int_equal(psa_export_public_key(id, pub, sizeof(pub), &publen),
                     PSA_ERROR_COMMUNICATION_FAILURE);
    /* the key is still known to PSA */
    psa_key_attributes_t r = PSA_KEY_ATTRIBUTES_INIT;
    assert_int_equal(psa_get_key_attributes(id, &r), PSA_SUCCESS);
    psa_reset_key_attributes(&r);
    /* the SE comes back on the same address: the driver reconnects */
    uint16_t port = 0;
    sscanf(cs, "127.0.0.1:%hu", &port);
    assert_int_equal(sesim_jrcp_server_start(&cif, "127.0.0.1", port, &srv), SE05X_OK);
    assert_int_equal(psa_sign_hash(id, ES256, hash, 32, sig, sizeof(sig),
                                   &siglen),
                     PSA_SUCCESS);
    sesim_jrcp_server_stop(srv);
    /* destroy cannot reach the SE: reported, PSA forgets the key anyway */
    assert_int_equal(psa_destroy_key(id), PSA_ERROR_COMMUNICATION_FAILURE);
    mbedtls_psa_crypto_free();
    se05x_psa_unregister();
    sesim_close(card);
}

/* The same driver against a card with the 3.x applet profile (over JRCP). */
static void test_applet_3x(void **state)
{
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/se-3x", g_dir);
    sesim_opts so;
    sesim_opts_default(&so);
    so.quiet = true;
    so.applet_major = 3;
    sesim *card;
    sesim_jrcp_server *srv;
    assert_int_equal(sesim_open(dir, &so, &card), SE05X_OK);
    sesim_card_if cif = sesim_card_if_for(card);
    assert_int_equal(sesim_jrcp_server_start(&cif, "127.0.0.1", 0, &srv), SE05X_OK);
    char cs[64];
    snprintf(cs, sizeof(cs), "127.0.0.1:%u", sesim_jrcp_server_port(srv));
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X, .connstr = cs};
    se05x_psa_core *c;
    assert_int_equal(se05x_psa_core_new(&cfg, &c), PSA_SUCCESS);
    assert_int_equal(se05x_psa_register(c), PSA_SUCCESS);
    assert_int_equal(psa_crypto_init(), PSA_SUCCESS);

    psa_key_id_t id = 0x210000D0, got;
    psa_key_attributes_t a;
    se_attrs(&a, id, ECC_PAIR, 384, SIGN_VERIFY, PSA_ALG_ECDSA(PSA_ALG_ANY_HASH));
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    sign_check(id, ECC_PAIR, 384, PSA_ALG_ECDSA(PSA_ALG_SHA_384));
    assert_int_equal(psa_destroy_key(id), PSA_SUCCESS);
    se_attrs(&a, id + 1, PSA_KEY_TYPE_RSA_KEY_PAIR, 2048, SIGN_VERIFY,
             PSA_ALG_RSA_PSS(PSA_ALG_ANY_HASH));
    assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    sign_check(id + 1, PSA_KEY_TYPE_RSA_KEY_PAIR, 2048, PSA_ALG_RSA_PSS(PSA_ALG_SHA_256));
    assert_int_equal(psa_destroy_key(id + 1), PSA_SUCCESS);
    mbedtls_psa_crypto_free();
    se05x_psa_unregister();
    sesim_jrcp_server_stop(srv);
    sesim_close(card);
}

/* Registration rules: no core; twice without mbedtls_psa_crypto_free. */
static void test_register_rules(void **state)
{
    assert_int_equal(se05x_psa_register(NULL), PSA_ERROR_INVALID_ARGUMENT);
    assert_int_equal(se05x_psa_register_object(1, 0xF0000000, 0, 0, 0), PSA_ERROR_BAD_STATE);
    se05x_psa_core *c;
    assert_int_equal(se05x_psa_core_new_session(g_s, &c), PSA_SUCCESS);
    assert_int_equal(se05x_psa_register(c), PSA_SUCCESS);
    assert_ptr_equal(se05x_psa_driver_core(), c);
    assert_int_equal(se05x_psa_core_new_session(g_s, &c), PSA_SUCCESS);
    assert_int_equal(se05x_psa_register(c), PSA_ERROR_ALREADY_EXISTS); /* caller keeps c */
    se05x_psa_core_free(c);
    assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
    mbedtls_psa_crypto_free(); /* forgets the driver */
    se05x_psa_unregister();
    assert_null(se05x_psa_driver_core());
}

/* ---- signature format conversion ------------------------------------ */

static void test_ecdsa_der_raw(void **state)
{
    /* r = 1, s = 0x80 (needs a leading zero in DER) */
    const uint8_t der[] = {0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80};
    uint8_t raw[64], back[80];
    size_t rawlen, backlen;
    assert_int_equal(se05x_psa_ecdsa_der_to_raw(der, sizeof(der), 32, raw, sizeof(raw), &rawlen),
                     PSA_SUCCESS);
    assert_int_equal(rawlen, 64);
    assert_int_equal(raw[31], 0x01);
    assert_int_equal(raw[63], 0x80);
    assert_int_equal(raw[0] | raw[32] | raw[62], 0);
    assert_int_equal(se05x_psa_ecdsa_raw_to_der(raw, rawlen, back, sizeof(back), &backlen),
                     PSA_SUCCESS);
    assert_int_equal(backlen, sizeof(der));
    assert_memory_equal(back, der, sizeof(der));
    /* buffer too small, trailing garbage, truncated, integer too long for the field */
    assert_int_equal(se05x_psa_ecdsa_der_to_raw(der, sizeof(der), 32, raw, 63, &rawlen),
                     PSA_ERROR_BUFFER_TOO_SMALL);
    uint8_t trailing[sizeof(der) + 1];
    memcpy(trailing, der, sizeof(der));
    trailing[sizeof(der)] = 0;
    assert_int_equal(se05x_psa_ecdsa_der_to_raw(trailing, sizeof(trailing), 32, raw, sizeof(raw),
                                                &rawlen),
                     PSA_ERROR_INVALID_ARGUMENT);
    assert_int_equal(se05x_psa_ecdsa_der_to_raw(der, sizeof(der) - 1, 32, raw, sizeof(raw),
                                                &rawlen),
                     PSA_ERROR_INVALID_ARGUMENT);
    const uint8_t wide[] = {0x30, 0x08, 0x02, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80};
    assert_int_equal(se05x_psa_ecdsa_der_to_raw(wide, sizeof(wide), 1, raw, sizeof(raw), &rawlen),
                     PSA_ERROR_INVALID_ARGUMENT);
    assert_int_equal(se05x_psa_ecdsa_der_to_raw(wide, sizeof(wide), 2, raw, sizeof(raw), &rawlen),
                     PSA_SUCCESS);
    assert_int_equal(se05x_psa_ecdsa_raw_to_der(raw, 63, back, sizeof(back), &backlen),
                     PSA_ERROR_INVALID_ARGUMENT);
    assert_int_equal(se05x_psa_ecdsa_raw_to_der(raw, 64, back, 4, &backlen),
                     PSA_ERROR_BUFFER_TOO_SMALL);
}

/* ---- concurrency ---------------------------------------------------- */

#define THREADS 4
#define SIGNS 10

static void *signer(void *arg)
{
    psa_key_id_t id = *(psa_key_id_t *)arg;
    uint8_t hash[32], sig[64];
    size_t siglen;
    for (int i = 0; i < SIGNS; i++) {
        memset(hash, i + 1, sizeof(hash));
        if (psa_sign_hash(id, ES256, hash, 32, sig, sizeof(sig),
                          &siglen) != PSA_SUCCESS ||
            psa_verify_hash(id, ES256, hash, 32, sig, siglen) !=
                PSA_SUCCESS)
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    psa_key_id_t ids[2] = {0x210000B0, 0x210000B1}, got;
    for (int i = 0; i < 2; i++) {
        psa_key_attributes_t a;
        se_attrs(&a, ids[i], ECC_PAIR, 256, SIGN_VERIFY,
                 ES256);
        assert_int_equal(psa_generate_key(&a, &got), PSA_SUCCESS);
    }
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, signer, &ids[i % 2]), 0);
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(psa_destroy_key(ids[i]), PSA_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_register_rules, psa_down),
        cmocka_unit_test(test_ecdsa_der_raw),
        cmocka_unit_test_teardown(test_se_unreachable, psa_down),
        cmocka_unit_test_teardown(test_se_lost, psa_down),
        cmocka_unit_test_teardown(test_applet_3x, psa_down),
        cmocka_unit_test_setup_teardown(test_generate_ec_sign_verify, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_generate_rsa_sign_verify, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_export_public_matches_sss, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_import, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_import_rsa_and_sizes, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_allocate_refuses_occupied, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_se_policy_from_usage, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_persistence, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_register_factory_ec, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_register_factory_rsa, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_register_bad_objects, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_unknown_and_destroyed, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_policies_forbid_signing, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_unsupported, psa_up, psa_down),
        cmocka_unit_test_setup_teardown(test_threads, psa_up, psa_down),
    };
    return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
