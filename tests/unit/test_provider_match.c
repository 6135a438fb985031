/* The se05x provider with SE keys whose object policy forbids reading the
 * public part (provider/openssl/keycert.c), against the se05x-sim daemon:
 * the public part comes from the certificate at id+1 or, failing that,
 * from another certificate found by enumeration, only after an SE
 * signature verifies under it (a decoy or garbage at id+1 is skipped, a
 * certificate over 4 KiB is read); with no
 * matching certificate the key loads, public-key operations fail with a
 * clear error, and keymgmt match proves (or refuses) a foreign public key
 * by an SE signature, adopting a proven one. EC P-256, RSA 2048, Ed25519.
 * APDU costs are asserted from the provider's counter: a normal key still
 * loads in 4 (store lookup 2 + key open 2) and signs in 1. Skips when build/provider/se05x.so is not built. */
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
#include <openssl/store.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include "sss/sss.h"
#include "testutil.h"

#define ID_EC_NEXT 0x31000010u  /* certificate at id+1 */
#define ID_EC_ENUM 0x31000020u  /* decoy certificate at id+1, its own at ID_EC_ENUM_CERT */
#define ID_EC_ENUM_CERT 0x31000030u
#define ID_EC_NONE 0x31000040u  /* no certificate */
#define ID_RSA_NEXT 0x31000050u
#define ID_ED_NONE 0x31000060u
#define ID_EC_BIG 0x31000070u   /* garbage at id+1, a certificate over 4 KiB elsewhere */
#define ID_EC_BIG_CERT 0x31000080u
#define ID_X25519 0x31000090u   /* key agreement only: no proof possible */
#define ID_NORMAL 0xF0000000u   /* factory key with the default policy (readable) */

typedef struct {
    char *dir;
    tu_daemon d;
    char moddir[1024];
    bool have_module;
    OSSL_LIB_CTX *lc;
    OSSL_PROVIDER *deflt, *se;
    EVP_PKEY *ec_next, *ec_enum, *ec_none, *rsa_next, *ed_none, *decoy, *ec_big; /* host keys */
} fixture;

static fixture g;

/* ---- provisioning (test side: its own sss session, closed before use) ---- */

static EVP_PKEY *host_key(const char *alg, const char *param)
{
    EVP_PKEY *k = NULL;
    if (strcmp(alg, "EC") == 0)
        k = EVP_EC_gen(param);
    else if (strcmp(alg, "RSA") == 0)
        k = EVP_RSA_gen(2048);
    else
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    return k;
}

/* Self-signed certificate of key (DER, OPENSSL_malloc'ed); big: with a
 * 6000-byte comment extension (over the provider's first 4 KiB buffer). */
static unsigned char *make_cert_ex(EVP_PKEY *key, int *len, bool big)
{
    static char comment[6001];
    memset(comment, 'x', sizeof(comment) - 1);
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_EXTENSION *ext =
        big ? X509V3_EXT_conf_nid(NULL, NULL, NID_netscape_comment, comment) : NULL;
    unsigned char *der = NULL;
    int ok = x != NULL && n != NULL && (!big || ext != NULL) && X509_set_version(x, 2) &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
             X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 86400) &&
             X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                        (const unsigned char *)"keycert test", -1, -1, 0) &&
             X509_set_subject_name(x, n) && X509_set_issuer_name(x, n) &&
             X509_set_pubkey(x, key) && (!big || X509_add_ext(x, ext, -1)) &&
             X509_sign(x, key, EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256()) > 0;
    *len = ok ? i2d_X509(x, &der) : 0;
    X509_EXTENSION_free(ext);
    X509_NAME_free(n);
    X509_free(x);
    return *len > 0 ? der : NULL;
}

static int put_key(sss_session *s, uint32_t id, EVP_PKEY *k, uint32_t ar)
{
    unsigned char *der = NULL;
    int len = i2d_PrivateKey(k, &der);
    se05x_policy pol;
    se05x_policy_init(&pol);
    se05x_policy_add(&pol, 0, ar);
    sss_write_opts o = {.policy = &pol, .force = true};
    sss_status st = len > 0 ? sss_key_import(s, id, SSS_IMPORT_KEY_PAIR, der, (size_t)len, &o)
                            : SSS_ERR_CRYPTO;
    OPENSSL_free(der);
    if (st != SSS_OK)
        fprintf(stderr, "import key 0x%08X: %s\n", id, sss_session_errmsg(s));
    return st == SSS_OK ? 0 : -1;
}

static int put_cert_ex(sss_session *s, uint32_t id, EVP_PKEY *k, bool big)
{
    int len = 0;
    unsigned char *der = make_cert_ex(k, &len, big);
    sss_write_opts o = {.force = true};
    sss_status st = der != NULL ? sss_binary_write(s, id, der, (size_t)len, &o) : SSS_ERR_CRYPTO;
    OPENSSL_free(der);
    return st == SSS_OK ? 0 : -1;
}

static int put_cert(sss_session *s, uint32_t id, EVP_PKEY *k) { return put_cert_ex(s, id, k, false); }

static int put_garbage(sss_session *s, uint32_t id)
{
    static const uint8_t junk[] = "not a certificate";
    sss_write_opts o = {.force = true};
    return sss_binary_write(s, id, junk, sizeof(junk), &o) == SSS_OK ? 0 : -1;
}

static int provision(void)
{
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X};
    sss_session *s = NULL;
    char err[256];
    if (sss_session_open(&cfg, &s, err, sizeof(err)) != SSS_OK) {
        fprintf(stderr, "session: %s\n", err);
        return -1;
    }
    const uint32_t sv = SE05X_AR_SIGN | SE05X_AR_VERIFY; /* no READ */
    int rc = put_key(s, ID_EC_NEXT, g.ec_next, sv) | put_cert(s, ID_EC_NEXT + 1, g.ec_next) |
             put_key(s, ID_EC_ENUM, g.ec_enum, sv) | put_cert(s, ID_EC_ENUM + 1, g.decoy) |
             put_cert(s, ID_EC_ENUM_CERT, g.ec_enum) | put_key(s, ID_EC_NONE, g.ec_none, sv) |
             /* the SE's RSA signature path is a raw RSA decryption */
             put_key(s, ID_RSA_NEXT, g.rsa_next, sv | SE05X_AR_DEC) |
             put_cert(s, ID_RSA_NEXT + 1, g.rsa_next) | put_key(s, ID_ED_NONE, g.ed_none, sv) |
             put_key(s, ID_EC_BIG, g.ec_big, sv) | put_garbage(s, ID_EC_BIG + 1) |
             put_cert_ex(s, ID_EC_BIG_CERT, g.ec_big, true);
    sss_keygen x = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_X25519, .bits = 256};
    se05x_policy ka;
    se05x_policy_init(&ka);
    se05x_policy_add(&ka, 0, SE05X_AR_KA);
    sss_write_opts o = {.policy = &ka, .force = true};
    if (sss_key_generate(s, ID_X25519, &x, &o) != SSS_OK) {
        fprintf(stderr, "X25519 generation: %s\n", sss_session_errmsg(s));
        rc = -1;
    }
    sss_session_close(s);
    return rc;
}

static int setup(void **state)
{
    char sim[1024];
    snprintf(sim, sizeof(sim), "%s", SE05X_SIM_BIN);
    snprintf(g.moddir, sizeof(g.moddir), "%s/../provider", dirname(sim));
    char so[1100];
    snprintf(so, sizeof(so), "%s/se05x.so", g.moddir);
    if (!(g.have_module = access(so, R_OK) == 0)) {
        fprintf(stderr, "SKIP: %s is not built\n", so);
        return 0;
    }
    g.ec_next = host_key("EC", "P-256");
    g.ec_enum = host_key("EC", "P-256");
    g.ec_none = host_key("EC", "P-256");
    g.decoy = host_key("EC", "P-256");
    g.rsa_next = host_key("RSA", NULL);
    g.ed_none = host_key("ED25519", NULL);
    g.ec_big = host_key("EC", "P-256");
    if (!g.ec_next || !g.ec_enum || !g.ec_none || !g.decoy || !g.rsa_next || !g.ed_none ||
        !g.ec_big)
        return -1;
    if ((g.dir = tu_tempdir("provider_match")) == NULL || tu_daemon_start(&g.d, g.dir, NULL) != 0)
        return -1;
    char port[64];
    snprintf(port, sizeof(port), "127.0.0.1:%u", g.d.port);
    setenv("SE05X_PORT", port, 1);
    if (provision() != 0)
        return -1;
    g.lc = OSSL_LIB_CTX_new();
    if (g.lc == NULL || OSSL_PROVIDER_set_default_search_path(g.lc, g.moddir) != 1 ||
        (g.deflt = OSSL_PROVIDER_load(g.lc, "default")) == NULL ||
        (g.se = OSSL_PROVIDER_load(g.lc, "se05x")) == NULL)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    if (!g.have_module)
        return 0;
    OSSL_PROVIDER_unload(g.se);
    OSSL_PROVIDER_unload(g.deflt);
    OSSL_LIB_CTX_free(g.lc);
    EVP_PKEY *keys[] = {g.ec_next, g.ec_enum, g.ec_none, g.decoy, g.rsa_next, g.ed_none, g.ec_big};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        EVP_PKEY_free(keys[i]);
    tu_daemon_stop(&g.d, 0);
    tu_rmtree(g.dir);
    free(g.dir);
    return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static uint64_t apdus(void)
{
    uint64_t n = 0;
    OSSL_PARAM p[] = {OSSL_PARAM_uint64("se05x-apdus", &n), OSSL_PARAM_END};
    assert_int_equal(OSSL_PROVIDER_get_params(g.se, p), 1);
    return n;
}

static EVP_PKEY *load(uint32_t id)
{
    char uri[32];
    snprintf(uri, sizeof(uri), "se05x:0x%08X", id);
    OSSL_STORE_CTX *sc = OSSL_STORE_open_ex(uri, g.lc, NULL, NULL, NULL, NULL, NULL, NULL);
    EVP_PKEY *pk = NULL;
    while (sc != NULL && pk == NULL && !OSSL_STORE_eof(sc)) {
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

/* The public key of k (any context) as SubjectPublicKeyInfo DER. */
static int spki(EVP_PKEY *k, unsigned char **der)
{
    *der = NULL;
    return i2d_PUBKEY(k, der);
}

static void assert_same_public(EVP_PKEY *se_key, EVP_PKEY *host)
{
    unsigned char *a = NULL, *b = NULL;
    int la = spki(se_key, &a), lb = spki(host, &b);
    assert_true(la > 0);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, (size_t)la);
    OPENSSL_free(a);
    OPENSSL_free(b);
}

/* The public key of a host key alone, in the test's library context
 * (a foreign key as a certificate would hand it to OpenSSL). */
static EVP_PKEY *public_only(EVP_PKEY *host)
{
    unsigned char *der = NULL;
    int len = spki(host, &der);
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY_ex(NULL, &p, len, g.lc, NULL);
    OPENSSL_free(der);
    assert_non_null(pub);
    return pub;
}

static bool error_queue_has(const char *text)
{
    bool seen = false;
    const char *data = NULL;
    unsigned long e;
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, NULL)) != 0)
        if (data != NULL && strstr(data, text) != NULL)
            seen = true;
    return seen;
}

static bool sign_verifies(EVP_PKEY *key, EVP_PKEY *host, const char *md)
{
    static const unsigned char msg[] = "signed with an SE key whose public part is unreadable";
    unsigned char sig[512];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *m = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
    bool ok = m != NULL && v != NULL &&
              EVP_DigestSignInit_ex(m, NULL, md, g.lc, NULL, key, NULL) == 1 &&
              EVP_DigestSign(m, sig, &siglen, msg, sizeof(msg)) == 1 &&
              EVP_DigestVerifyInit_ex(v, NULL, md, NULL, NULL, host, NULL) == 1 &&
              EVP_DigestVerify(v, sig, siglen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(m);
    EVP_MD_CTX_free(v);
    return ok;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_normal_key_costs_unchanged(void **state)
{
    if (!g.have_module)
        skip();
    EVP_PKEY *warm = load(ID_NORMAL); /* opens the session */
    assert_non_null(warm);
    uint64_t a = apdus();
    EVP_PKEY *k = load(ID_NORMAL);
    assert_non_null(k);
    /* the store's object info (ReadType, ReadAttributes), then the key
     * open: ReadType + ReadObject (public key) */
    assert_int_equal(apdus() - a, 4);
    a = apdus();
    EVP_PKEY *pub = public_only(warm);
    assert_true(sign_verifies(k, pub, "SHA256"));
    assert_int_equal(apdus() - a, 1);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(k);
    EVP_PKEY_free(warm);
}

static void test_certificate_at_next_id(void **state)
{
    if (!g.have_module)
        skip();
    uint64_t a = apdus();
    EVP_PKEY *k = load(ID_EC_NEXT);
    assert_non_null(k);
    /* as a normal key (4, the public read refused with 6986), then
     * ReadSize + ReadObject of the certificate (< 500 bytes: one chunk)
     * and one proof signature: 3 more */
    assert_int_equal(apdus() - a, 7);
    assert_same_public(k, g.ec_next);
    assert_int_equal(EVP_PKEY_get_bits(k), 256);
    EVP_PKEY *right = public_only(g.ec_next), *wrong = public_only(g.decoy);
    assert_int_equal(EVP_PKEY_eq(k, right), 1);
    assert_int_equal(EVP_PKEY_eq(k, wrong), 0);
    EVP_PKEY_free(right);
    EVP_PKEY_free(wrong);
    a = apdus();
    assert_true(sign_verifies(k, g.ec_next, "SHA256"));
    assert_int_equal(apdus() - a, 1);
    EVP_PKEY_free(k);
}

static void test_certificate_found_by_enumeration(void **state)
{
    if (!g.have_module)
        skip();
    EVP_PKEY *k = load(ID_EC_ENUM); /* id+1 holds the decoy's certificate */
    assert_non_null(k);
    assert_same_public(k, g.ec_enum);
    EVP_PKEY *right = public_only(g.ec_enum), *wrong = public_only(g.decoy);
    assert_int_equal(EVP_PKEY_eq(right, k), 1);
    assert_int_equal(EVP_PKEY_eq(wrong, k), 0);
    EVP_PKEY_free(right);
    EVP_PKEY_free(wrong);
    EVP_PKEY_free(k);
}

static void test_garbage_next_big_certificate(void **state)
{
    if (!g.have_module)
        skip();
    EVP_PKEY *k = load(ID_EC_BIG); /* id+1 is no certificate; its own is over 4 KiB */
    assert_non_null(k);
    assert_same_public(k, g.ec_big);
    EVP_PKEY_free(k);
}

static void test_rsa_certificate_at_next_id(void **state)
{
    if (!g.have_module)
        skip();
    EVP_PKEY *k = load(ID_RSA_NEXT);
    assert_non_null(k);
    assert_same_public(k, g.rsa_next);
    assert_int_equal(EVP_PKEY_get_bits(k), 2048);
    assert_true(sign_verifies(k, g.rsa_next, "SHA256"));
    EVP_PKEY_free(k);
}

static void test_no_certificate_loads_without_public(void **state)
{
    if (!g.have_module)
        skip();
    ERR_clear_error();
    EVP_PKEY *k = load(ID_EC_NONE);
    assert_non_null(k);
    assert_int_equal(ERR_peek_error(), 0); /* loading left no error behind */
    unsigned char *der = NULL;
    assert_true(i2d_PUBKEY(k, &der) <= 0);
    assert_true(error_queue_has("public part of 0x31000040 is not readable and no certificate "
                                "in the SE matches it"));
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_not_equal(EVP_DigestSignInit_ex(m, NULL, "SHA256", g.lc, NULL, k, NULL), 1);
    EVP_MD_CTX_free(m);
    assert_true(error_queue_has("is not readable and no certificate"));
    EVP_PKEY_free(k);
}

static void test_match_proves_foreign_key(void **state)
{
    if (!g.have_module)
        skip();
    EVP_PKEY *k = load(ID_EC_NONE);
    assert_non_null(k);
    EVP_PKEY *p384_host = host_key("EC", "P-384");
    EVP_PKEY *p384 = public_only(p384_host), *rsa = public_only(g.rsa_next);
    EVP_PKEY_free(p384_host);
    uint64_t a = apdus();
    /* another type or size: refused without an APDU */
    assert_true(EVP_PKEY_eq(k, p384) != 1);
    assert_true(EVP_PKEY_eq(rsa, k) != 1);
    assert_int_equal(apdus() - a, 0);
    /* same type, other key: one proof signature, refused */
    EVP_PKEY *wrong = public_only(g.decoy), *right = public_only(g.ec_none);
    a = apdus();
    assert_int_equal(EVP_PKEY_eq(wrong, k), 0);
    assert_int_equal(apdus() - a, 1);
    unsigned char *der = NULL;
    assert_true(i2d_PUBKEY(k, &der) <= 0); /* nothing adopted */
    ERR_clear_error();
    /* the right key: proven by one signature, then adopted */
    a = apdus();
    assert_int_equal(EVP_PKEY_eq(k, right), 1);
    assert_int_equal(apdus() - a, 1);
    a = apdus();
    assert_int_equal(EVP_PKEY_eq(right, k), 1);
    assert_int_equal(EVP_PKEY_eq(k, wrong), 0);
    assert_int_equal(apdus() - a, 0); /* compared on the adopted public key */
    assert_same_public(k, g.ec_none);
    assert_true(sign_verifies(k, g.ec_none, "SHA256"));
    EVP_PKEY_free(wrong);
    EVP_PKEY_free(right);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(k);
}

static void test_match_proves_ed25519(void **state)
{
    if (!g.have_module)
        skip();
    EVP_PKEY *k = load(ID_ED_NONE);
    assert_non_null(k);
    EVP_PKEY *other_host = host_key("ED25519", NULL);
    EVP_PKEY *other = public_only(other_host), *right = public_only(g.ed_none);
    EVP_PKEY_free(other_host);
    assert_int_equal(EVP_PKEY_eq(k, other), 0);
    assert_int_equal(EVP_PKEY_eq(right, k), 1);
    assert_same_public(k, g.ed_none);
    assert_true(sign_verifies(k, g.ed_none, NULL));
    EVP_PKEY_free(other);
    EVP_PKEY_free(right);
    EVP_PKEY_free(k);
}

static void test_x25519_without_public(void **state)
{
    if (!g.have_module)
        skip();
    EVP_PKEY *k = load(ID_X25519);
    assert_non_null(k);
    EVP_PKEY *host = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    assert_non_null(host);
    EVP_PKEY *other = public_only(host);
    uint64_t a = apdus();
    assert_true(EVP_PKEY_eq(k, other) != 1); /* cannot sign: no proof, no APDU */
    assert_int_equal(apdus() - a, 0);
    ERR_clear_error();
    unsigned char *der = NULL;
    assert_true(i2d_PUBKEY(k, &der) <= 0);
    assert_true(error_queue_has("public part of 0x31000090 is not readable"));
    EVP_PKEY_free(other);
    EVP_PKEY_free(host);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_key_costs_unchanged),
        cmocka_unit_test(test_certificate_at_next_id),
        cmocka_unit_test(test_certificate_found_by_enumeration),
        cmocka_unit_test(test_garbage_next_big_certificate),
        cmocka_unit_test(test_rsa_certificate_at_next_id),
        cmocka_unit_test(test_no_certificate_loads_without_public),
        cmocka_unit_test(test_match_proves_foreign_key),
        cmocka_unit_test(test_match_proves_ed25519),
        cmocka_unit_test(test_x25519_without_public),
    };
    return cmocka_run_group_tests_name("provider_match", tests, setup, teardown);
}
