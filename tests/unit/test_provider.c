/* The se05x OpenSSL provider seen from a C application: the URI parser
 * (every class of malformed URI), loading the module into an OSSL_LIB_CTX
 * with no SE (succeeds; first use fails with a clear error), and, against
 * the se05x-sim daemon over JRCP: key parameters, public-only export,
 * match in both directions, refusal of private key imports, bad signing
 * input (digest length, digest, padding, MGF1), dupctx in mid-stream, key
 * reference files written and read back (and a mismatching one refused), and a
 * key signing from several threads at once and on both sides of a fork(),
 * every signature verified by the default provider alone; X25519 keys made in the
 * SE (parameters, export, import, match, derive both ways, bad peers, reference).
 * The module is build/provider/se05x.so; if
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
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sss/refkey.h"
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

/* ---- against the simulator: one daemon and provider context for all ---- */

typedef struct {
    char *dir;
    tu_daemon d;
    char port[64];
    prov_ctx pc;
    EVP_PKEY *ec, *rsa;       /* SE keys through the provider */
    EVP_PKEY *ec_pub, *rsa_pub; /* their public keys in the default context */
} sim_fixture;

static sim_fixture g_sim;

static int sim_setup(void **state)
{
    if (!g_have_module)
        return 0;
    sim_fixture *f = &g_sim;
    if ((f->dir = tu_tempdir("provider")) == NULL || tu_daemon_start(&f->d, f->dir, NULL) != 0)
        return -1;
    snprintf(f->port, sizeof(f->port), "127.0.0.1:%u", f->d.port);
    setenv("SE05X_PORT", f->port, 1);
    provider_ctx(&f->pc);
    f->ec = store_key(f->pc.lc, "se05x:0xF0000000");
    f->rsa = store_key(f->pc.lc, "se05x:0xF0000004");
    if (f->ec == NULL || f->rsa == NULL)
        return -1;
    f->ec_pub = default_copy(f->ec);
    f->rsa_pub = default_copy(f->rsa);
    return 0;
}

static int sim_teardown(void **state)
{
    sim_fixture *f = &g_sim;
    if (!g_have_module)
        return 0;
    EVP_PKEY_free(f->ec);
    EVP_PKEY_free(f->rsa);
    EVP_PKEY_free(f->ec_pub);
    EVP_PKEY_free(f->rsa_pub);
    if (f->pc.lc != NULL)
        provider_ctx_free(&f->pc);
    tu_daemon_stop(&f->d, 0);
    tu_rmtree(f->dir);
    free(f->dir);
    return 0;
}

static void test_key_params(void **state)
{
    if (!g_have_module)
        skip();
    EVP_PKEY *ec = g_sim.ec, *rsa = g_sim.rsa;
    assert_true(EVP_PKEY_is_a(ec, "EC"));
    assert_int_equal(EVP_PKEY_get_bits(ec), 256);
    assert_int_equal(EVP_PKEY_get_security_bits(ec), 128);
    assert_true(EVP_PKEY_get_size(ec) >= 70);
    char name[64];
    assert_int_equal(EVP_PKEY_get_group_name(ec, name, sizeof(name), NULL), 1);
    assert_string_equal(name, "prime256v1");
    unsigned char *enc = NULL;
    assert_int_equal(EVP_PKEY_get1_encoded_public_key(ec, &enc), 65);
    assert_int_equal(enc[0], 0x04);
    OPENSSL_free(enc);
    /* 1 = advisory: TLS may pick another digest (2 would be mandatory) */
    assert_int_equal(EVP_PKEY_get_default_digest_name(ec, name, sizeof(name)), 1);
    assert_string_equal(name, "SHA256");
    assert_int_equal(EVP_PKEY_get_utf8_string_param(ec, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                                    name, sizeof(name), NULL), 1);
    assert_string_equal(name, "uncompressed");
    /* no mandatory digest for EC (TLS would refuse other digests) */
    assert_int_equal(EVP_PKEY_get_utf8_string_param(ec, OSSL_PKEY_PARAM_MANDATORY_DIGEST, name,
                                                    sizeof(name), NULL), 0);
    assert_true(EVP_PKEY_is_a(rsa, "RSA"));
    assert_int_equal(EVP_PKEY_get_bits(rsa), 2048);
    assert_int_equal(EVP_PKEY_get_size(rsa), 256);
    BIGNUM *e = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_E, &e), 1);
    assert_true(BN_is_word(e, 65537));
    BN_free(e);
    /* private parts are not readable */
    BIGNUM *d = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_D, &d), 0);
    assert_int_equal(EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_PRIV_KEY, &d), 0);
}

static void test_export_public_only(void **state)
{
    if (!g_have_module)
        skip();
    OSSL_PARAM *params = NULL;
    assert_int_equal(EVP_PKEY_todata(g_sim.ec, EVP_PKEY_KEYPAIR, &params), 0);
    assert_null(params);
    assert_int_equal(EVP_PKEY_todata(g_sim.ec, EVP_PKEY_PUBLIC_KEY, &params), 1);
    assert_non_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PUB_KEY));
    assert_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY));
    OSSL_PARAM_free(params);
}

static void test_match_both_directions(void **state)
{
    if (!g_have_module)
        skip();
    assert_int_equal(EVP_PKEY_eq(g_sim.ec, g_sim.ec_pub), 1);
    assert_int_equal(EVP_PKEY_eq(g_sim.ec_pub, g_sim.ec), 1);
    EVP_PKEY *other = EVP_EC_gen("P-256");
    assert_non_null(other);
    assert_int_equal(EVP_PKEY_eq(g_sim.ec, other), 0);
    assert_int_equal(EVP_PKEY_eq(other, g_sim.ec), 0);
    EVP_PKEY_free(other);
    assert_true(EVP_PKEY_eq(g_sim.ec, g_sim.rsa) != 1);
    assert_int_equal(EVP_PKEY_eq(g_sim.rsa_pub, g_sim.rsa), 1);
}

static void test_import_refuses_private(void **state)
{
    if (!g_have_module)
        skip();
    EVP_PKEY *host = EVP_EC_gen("P-256");
    assert_non_null(host);
    OSSL_PARAM *params = NULL;
    assert_int_equal(EVP_PKEY_todata(host, EVP_PKEY_KEYPAIR, &params), 1);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(g_sim.pc.lc, "EC", "provider=se05x");
    assert_non_null(c);
    assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
    EVP_PKEY *pk = NULL;
    assert_int_not_equal(EVP_PKEY_fromdata(c, &pk, EVP_PKEY_KEYPAIR, params), 1);
    assert_null(pk);
    /* the public part imports, verifies, and cannot sign */
    assert_int_equal(EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
    assert_int_equal(EVP_PKEY_eq(pk, host), 1);
    EVP_PKEY_CTX *s = EVP_PKEY_CTX_new_from_pkey(g_sim.pc.lc, pk, "provider=se05x");
    assert_non_null(s);
    assert_int_not_equal(EVP_PKEY_sign_init(s), 1);
    EVP_PKEY_CTX_free(s);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(params);
    EVP_PKEY_free(host);
}

/* One raw signature with key over a digest of dlen bytes; 1 if it worked. */
static int raw_sign(EVP_PKEY *key, const char *md, size_t dlen, const char *pad, const char *mgf1)
{
    unsigned char dg[64] = {1, 2, 3}, sig[512];
    size_t siglen = sizeof(sig);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(g_sim.pc.lc, key, NULL);
    int ok = c != NULL && EVP_PKEY_sign_init(c) == 1;
    if (ok && md != NULL)
        ok = EVP_PKEY_CTX_set_signature_md(c, EVP_get_digestbyname(md)) == 1;
    if (ok && pad != NULL) {
        OSSL_PARAM p[] = {OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, (char *)pad, 0),
                          OSSL_PARAM_END};
        ok = EVP_PKEY_CTX_set_params(c, p) == 1;
    }
    if (ok && mgf1 != NULL) {
        OSSL_PARAM p[] = {OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, (char *)mgf1, 0),
                          OSSL_PARAM_END};
        ok = EVP_PKEY_CTX_set_params(c, p) == 1;
    }
    ok = ok && EVP_PKEY_sign(c, sig, &siglen, dg, dlen) == 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

static void test_sign_bad_input(void **state)
{
    if (!g_have_module)
        skip();
    ERR_set_mark();
    assert_int_equal(raw_sign(g_sim.ec, NULL, 32, NULL, NULL), 1);
    assert_int_equal(raw_sign(g_sim.ec, NULL, 48, NULL, NULL), 1);
    assert_int_equal(raw_sign(g_sim.ec, NULL, 31, NULL, NULL), 0);      /* not a digest length */
    assert_int_equal(raw_sign(g_sim.ec, "SHA256", 48, NULL, NULL), 0);  /* length != SHA-256 */
    assert_int_equal(raw_sign(g_sim.ec, "MD5", 16, NULL, NULL), 0);     /* digest not offered */
    assert_int_equal(raw_sign(g_sim.rsa, "SHA256", 32, "pkcs1", NULL), 1);
    assert_int_equal(raw_sign(g_sim.rsa, "SHA256", 32, "pss", NULL), 1);
    assert_int_equal(raw_sign(g_sim.rsa, "SHA256", 32, "pss", "SHA1"), 0); /* MGF1 != digest */
    assert_int_equal(raw_sign(g_sim.rsa, "SHA256", 32, "x931", NULL), 0);  /* padding */
    assert_int_equal(raw_sign(g_sim.rsa, "SHA256", 32, "none", NULL), 0);
    ERR_pop_to_mark();
}

static void test_dupctx_mid_stream(void **state)
{
    if (!g_have_module)
        skip();
    static const unsigned char a[] = "first half ", b[] = "second half";
    EVP_MD_CTX *m = EVP_MD_CTX_new(), *copy = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit_ex(m, NULL, "SHA384", g_sim.pc.lc, NULL, g_sim.ec, NULL), 1);
    assert_int_equal(EVP_DigestSignUpdate(m, a, sizeof(a) - 1), 1);
    assert_int_equal(EVP_MD_CTX_copy_ex(copy, m), 1);
    EVP_MD_CTX *ms[2] = {m, copy};
    for (int i = 0; i < 2; i++) {
        unsigned char sig[128];
        size_t siglen = sizeof(sig);
        assert_int_equal(EVP_DigestSignUpdate(ms[i], b, sizeof(b) - 1), 1);
        assert_int_equal(EVP_DigestSignFinal(ms[i], sig, &siglen), 1);
        EVP_MD_CTX *v = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestVerifyInit_ex(v, NULL, "SHA384", NULL, NULL, g_sim.ec_pub, NULL), 1);
        assert_int_equal(EVP_DigestVerifyUpdate(v, a, sizeof(a) - 1), 1);
        assert_int_equal(EVP_DigestVerifyUpdate(v, b, sizeof(b) - 1), 1);
        assert_int_equal(EVP_DigestVerifyFinal(v, sig, siglen), 1);
        EVP_MD_CTX_free(v);
    }
    EVP_MD_CTX_free(m);
    EVP_MD_CTX_free(copy);
}

/* An SE key written as a reference file and read back through OpenSSL's
 * decoders (the path SSL_CTX_use_PrivateKey_file takes) is the same key
 * and signs; a reference whose public key is not the SE key's is refused. */
static void test_reference_round_trip(void **state)
{
    if (!g_have_module)
        skip();
    BIO *mem = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey_ex(mem, g_sim.ec, NULL, NULL, 0, NULL, NULL,
                                                 g_sim.pc.lc, NULL), 1);
    char *text = NULL;
    long len = BIO_get_mem_data(mem, &text);
    assert_true(len > 0 && strstr(text, "-----BEGIN SE05X KEY REFERENCE-----") != NULL);
    EVP_PKEY *back = PEM_read_bio_PrivateKey_ex(mem, NULL, NULL, NULL, g_sim.pc.lc, NULL);
    BIO_free(mem);
    assert_non_null(back);
    assert_int_equal(EVP_PKEY_eq(back, g_sim.ec_pub), 1);
    assert_int_equal(sign_and_verify(back, g_sim.ec_pub, 1), 1);
    EVP_PKEY_free(back);

    /* id of another key, public key of this one */
    unsigned char *spki = NULL;
    int spki_len = i2d_PUBKEY(g_sim.ec_pub, &spki);
    char *pem = NULL;
    size_t pem_len = 0;
    assert_int_equal(sss_refkey_encode_pem(0xF0000012u, spki, (size_t)spki_len, &pem, &pem_len),
                     SSS_OK);
    OPENSSL_free(spki);
    mem = BIO_new_mem_buf(pem, (int)pem_len);
    ERR_clear_error();
    back = PEM_read_bio_PrivateKey_ex(mem, NULL, NULL, NULL, g_sim.pc.lc, NULL);
    assert_null(back);
    bool seen = false;
    const char *data = NULL;
    while (ERR_get_error_all(NULL, NULL, NULL, &data, NULL) != 0)
        seen = seen || (data != NULL && strstr(data, "is not that key's") != NULL);
    assert_true(seen);
    BIO_free(mem);
    free(pem);
}

static void test_threads_and_fork(void **state)
{
    if (!g_have_module)
        skip();
    EVP_PKEY *key = g_sim.ec, *pub = g_sim.ec_pub;

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
}

/* ---- X25519 (x25519.c) --------------------------------------------------------- */

/* Shared secret of key and peer in lc (NULL: the default context); *len in/out. */
static int x_derive(OSSL_LIB_CTX *lc, EVP_PKEY *key, EVP_PKEY *peer, unsigned char *out,
                    size_t *len)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(lc, key, NULL);
    int ok = c != NULL && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
             EVP_PKEY_derive(c, out, len) == 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

/* An X25519 key made in the SE at id (NULL: generation refused). */
static EVP_PKEY *x_generate(OSSL_LIB_CTX *lc, const char *id)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(lc, "X25519", "provider=se05x");
    assert_non_null(c);
    int overwrite = 1;
    OSSL_PARAM p[] = {
        OSSL_PARAM_utf8_string("se05x-id", (char *)id, id != NULL ? strlen(id) : 0),
        OSSL_PARAM_int("se05x-overwrite", &overwrite),
        OSSL_PARAM_END,
    };
    EVP_PKEY *k = NULL;
    if (EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_CTX_set_params(c, id != NULL ? p : p + 1) == 1)
        EVP_PKEY_generate(c, &k);
    EVP_PKEY_CTX_free(c);
    return k;
}

static void test_x25519(void **state)
{
    if (!g_have_module)
        skip();
    OSSL_LIB_CTX *lc = g_sim.pc.lc;
    assert_null(x_generate(lc, NULL)); /* no id: never a host key */
    EVP_PKEY *se = x_generate(lc, "0x30000020");
    assert_non_null(se);
    assert_true(EVP_PKEY_is_a(se, "X25519"));
    assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(se)), "se05x");
    assert_int_equal(EVP_PKEY_get_bits(se), 253);
    assert_int_equal(EVP_PKEY_get_security_bits(se), 128);
    assert_int_equal(EVP_PKEY_get_size(se), 32);
    EVP_PKEY *se_pub = default_copy(se);
    unsigned char *enc = NULL, raw[32];
    size_t rawlen = sizeof(raw);
    assert_int_equal(EVP_PKEY_get1_encoded_public_key(se, &enc), 32);
    assert_int_equal(EVP_PKEY_get_raw_public_key(se_pub, raw, &rawlen), 1);
    assert_memory_equal(enc, raw, 32);
    OPENSSL_free(enc);

    /* public part only out; host private keys not in */
    OSSL_PARAM *params = NULL;
    assert_int_equal(EVP_PKEY_todata(se, EVP_PKEY_KEYPAIR, &params), 0);
    assert_int_equal(EVP_PKEY_todata(se, EVP_PKEY_PUBLIC_KEY, &params), 1);
    assert_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY));
    OSSL_PARAM_free(params);
    EVP_PKEY *host = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    assert_non_null(host);
    params = NULL;
    assert_int_equal(EVP_PKEY_todata(host, EVP_PKEY_KEYPAIR, &params), 1);
    EVP_PKEY_CTX *ic = EVP_PKEY_CTX_new_from_name(lc, "X25519", "provider=se05x");
    EVP_PKEY *imp = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(ic), 1);
    assert_int_not_equal(EVP_PKEY_fromdata(ic, &imp, EVP_PKEY_KEYPAIR, params), 1);
    assert_int_equal(EVP_PKEY_fromdata(ic, &imp, EVP_PKEY_PUBLIC_KEY, params), 1);
    assert_int_equal(EVP_PKEY_eq(imp, host), 1);
    unsigned char s0[32];
    size_t l0 = sizeof(s0);
    assert_int_equal(x_derive(lc, imp, host, s0, &l0), 0); /* public only: no derive */
    EVP_PKEY_free(imp);
    EVP_PKEY_CTX_free(ic);
    OSSL_PARAM_free(params);

    /* match both ways */
    assert_int_equal(EVP_PKEY_eq(se, se_pub), 1);
    assert_int_equal(EVP_PKEY_eq(se_pub, se), 1);
    assert_int_equal(EVP_PKEY_eq(se, host), 0);
    assert_int_equal(EVP_PKEY_eq(host, se), 0);

    /* both sides derive the same secret; a host key stays with the default provider */
    unsigned char s1[64], s2[64], s3[64];
    size_t l1 = sizeof(s1), l2 = sizeof(s2), l3 = sizeof(s3);
    EVP_PKEY *host_pub = default_copy(host);
    assert_int_equal(x_derive(lc, se, host_pub, s1, &l1), 1);
    assert_int_equal(x_derive(NULL, host, se_pub, s2, &l2), 1);
    assert_int_equal(l1, 32);
    assert_int_equal(l2, 32);
    assert_memory_equal(s1, s2, 32);
    EVP_PKEY *host2 = EVP_PKEY_Q_keygen(lc, NULL, "X25519"); /* default first: a host key */
    assert_non_null(host2);
    assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(host2)), "default");
    assert_int_equal(x_derive(lc, host2, se_pub, s3, &l3), 1);

    /* bad peers: an EC key, a small-order point (all-zero secret); short buffer */
    assert_int_equal(x_derive(lc, se, g_sim.ec_pub, s3, &l3), 0);
    static const unsigned char zero[32];
    EVP_PKEY *small = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, zero, sizeof(zero));
    assert_non_null(small);
    l3 = sizeof(s3);
    assert_int_equal(x_derive(lc, se, small, s3, &l3), 0);
    l3 = 16;
    assert_int_equal(x_derive(lc, se, host_pub, s3, &l3), 0);
    ERR_clear_error();

    /* key reference file written and read back */
    BIO *mem = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey_ex(mem, se, NULL, NULL, 0, NULL, NULL, lc, NULL),
                     1);
    EVP_PKEY *back = PEM_read_bio_PrivateKey_ex(mem, NULL, NULL, NULL, lc, NULL);
    BIO_free(mem);
    assert_non_null(back);
    assert_true(EVP_PKEY_is_a(back, "X25519"));
    l3 = sizeof(s3);
    assert_int_equal(x_derive(lc, back, host_pub, s3, &l3), 1);
    assert_memory_equal(s3, s1, 32);
    OPENSSL_cleanse(s1, sizeof(s1));
    OPENSSL_cleanse(s2, sizeof(s2));
    OPENSSL_cleanse(s3, sizeof(s3));
    EVP_PKEY_free(back);
    EVP_PKEY_free(small);
    EVP_PKEY_free(host2);
    EVP_PKEY_free(host_pub);
    EVP_PKEY_free(host);
    EVP_PKEY_free(se_pub);
    EVP_PKEY_free(se);
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
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(test_uri_valid),
        cmocka_unit_test(test_uri_malformed),
        cmocka_unit_test(test_load_without_se),
    };
    const struct CMUnitTest with_sim[] = {
        cmocka_unit_test(test_key_params),
        cmocka_unit_test(test_export_public_only),
        cmocka_unit_test(test_match_both_directions),
        cmocka_unit_test(test_import_refuses_private),
        cmocka_unit_test(test_sign_bad_input),
        cmocka_unit_test(test_dupctx_mid_stream),
        cmocka_unit_test(test_reference_round_trip),
        cmocka_unit_test(test_threads_and_fork),
        cmocka_unit_test(test_x25519),
    };
    int fails = cmocka_run_group_tests_name("offline", offline, NULL, NULL);
    return fails + cmocka_run_group_tests_name("simulator", with_sim, sim_setup, sim_teardown);
}
