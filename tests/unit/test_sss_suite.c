/* One suite of sss behaviour run over several sessions: the se05x backend
 * in-process (sim:DIR), the se05x backend over JRCP (a JRCP server in this
 * process on the same card) and the host backend. Every result is checked
 * with libcrypto; APDU counts (open <= 2, sign == 1) are asserted on the
 * se05x groups. Bad input: missing objects, wrong key types, policy
 * denials, malformed PEM (SE unchanged), reserved ids, oversized data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "se05x/commands.h"
#include "sesim/servers.h"
#include "sesim/sesim.h"
#include "sss/sss.h"
#include "testutil.h"

/* ---- fixtures ------------------------------------------------------------ */

static char *g_dir, *g_dir3, *g_hostdir;
static sesim *g_card, *g_card3;
static sesim_jrcp_server *g_jrcp, *g_jrcp3;
static char g_cs_sim[1100], g_cs_jrcp[64], g_cs_jrcp3[64];
static EVP_PKEY *g_rsa, *g_ec, *g_ed; /* host keys for imports */
static X509 *g_cert;

typedef struct {
    const char *name;
    sss_backend be;
    const char *connstr;
    uint32_t base; /* object ids of this group */
    bool v3;       /* 3.x applet profile */
} group_t;

#define NGROUPS 4
static group_t g_groups[NGROUPS];
static group_t *g_grp;
static sss_session *g_s;

static bool is_se(void) { return g_grp->be == SSS_BACKEND_SE05X; }
static uint32_t oid(uint32_t n) { return g_grp->base + n; }

static X509 *make_cert(EVP_PKEY *k)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"sss test", -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    return x;
}

static int suite_setup(void **state)
{
    g_dir = tu_tempdir("sss");
    g_dir3 = tu_tempdir("sss3x");
    g_hostdir = tu_tempdir("ssshost");
    if (!g_dir || !g_dir3 || !g_hostdir)
        return -1;
    sesim_opts o;
    sesim_opts_default(&o);
    o.quiet = true;
    if (sesim_open(g_dir, &o, &g_card) != SE05X_OK)
        return -1;
    sesim_card_if cif = sesim_card_if_for(g_card);
    if (sesim_jrcp_server_start(&cif, "127.0.0.1", 0, &g_jrcp) != SE05X_OK)
        return -1;
    /* a second card with the 3.x applet profile (generic EC types,
     * GetECCurveId, attributes in TAG_2) */
    o.applet_major = 3;
    if (sesim_open(g_dir3, &o, &g_card3) != SE05X_OK)
        return -1;
    sesim_card_if cif3 = sesim_card_if_for(g_card3);
    if (sesim_jrcp_server_start(&cif3, "127.0.0.1", 0, &g_jrcp3) != SE05X_OK)
        return -1;
    snprintf(g_cs_jrcp3, sizeof(g_cs_jrcp3), "127.0.0.1:%u", sesim_jrcp_server_port(g_jrcp3));
    snprintf(g_cs_sim, sizeof(g_cs_sim), "sim:%s", g_dir);
    snprintf(g_cs_jrcp, sizeof(g_cs_jrcp), "127.0.0.1:%u", sesim_jrcp_server_port(g_jrcp));
    g_groups[0] = (group_t){"se05x-inproc", SSS_BACKEND_SE05X, g_cs_sim, 0x30000000, false};
    g_groups[1] = (group_t){"se05x-jrcp", SSS_BACKEND_SE05X, g_cs_jrcp, 0x31000000, false};
    g_groups[2] = (group_t){"se05x-3x-jrcp", SSS_BACKEND_SE05X, g_cs_jrcp3, 0x33000000, true};
    g_groups[3] = (group_t){"host", SSS_BACKEND_HOST, g_hostdir, 0x32000000, false};
    g_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    g_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    g_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    g_cert = g_ec ? make_cert(g_ec) : NULL;
    return g_rsa && g_ec && g_ed && g_cert ? 0 : -1;
}

static int suite_teardown(void **state)
{
    X509_free(g_cert);
    EVP_PKEY_free(g_rsa);
    EVP_PKEY_free(g_ec);
    EVP_PKEY_free(g_ed);
    sesim_jrcp_server_stop(g_jrcp);
    sesim_jrcp_server_stop(g_jrcp3);
    sesim_close(g_card);
    sesim_close(g_card3);
    tu_rmtree(g_dir);
    tu_rmtree(g_dir3);
    free(g_dir3);
    tu_rmtree(g_hostdir);
    free(g_dir);
    free(g_hostdir);
    return 0;
}

static int group_setup(void **state)
{
    sss_session_cfg cfg = {.backend = g_grp->be, .connstr = g_grp->connstr};
    char err[512];
    sss_status st = sss_session_open(&cfg, &g_s, err, sizeof(err));
    if (st != SSS_OK) {
        fprintf(stderr, "%s: session open failed: %s\n", g_grp->name, err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    sss_session_close(g_s);
    g_s = NULL;
    return 0;
}

/* ---- helpers -------------------------------------------------------------- */

#define OK(x) \
    do { \
        sss_status st_ = (x); \
        if (st_ != SSS_OK) \
            fail_msg("%s: %s -> %s: %s", g_grp->name, #x, sss_strerror(st_), \
                     sss_session_errmsg(g_s)); \
    } while (0)

static const sss_write_opts FORCE = {.force = true};

static void sha(const EVP_MD *md, const void *d, size_t n, uint8_t *out)
{
    unsigned int l;
    assert_int_equal(EVP_Digest(d, n, out, &l, md, NULL), 1);
}

static uint64_t apdus(void)
{
    sss_counters c;
    sss_session_counters(g_s, &c);
    return c.apdus;
}

static EVP_PKEY *pub_of(sss_key *k)
{
    uint8_t der[1200];
    size_t n = sizeof(der);
    OK(sss_key_public_der(k, der, &n));
    const unsigned char *p = der;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)n);
    assert_non_null(pk);
    return pk;
}

/* Open key id asserting the APDU budget on se05x. */
static sss_key *open_key(uint32_t id)
{
    sss_key *k = NULL;
    sss_session_counters_reset(g_s);
    OK(sss_key_open(g_s, id, &k));
    if (is_se())
        assert_true(apdus() <= 2);
    return k;
}

static void sign1(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                  uint8_t *sig, size_t *siglen)
{
    sss_session_counters_reset(g_s);
    OK(sss_sign(k, p, in, inlen, sig, siglen));
    if (is_se())
        assert_int_equal(apdus(), 1);
}

static int lc_verify(EVP_PKEY *pk, const sss_sig_params *p, const EVP_MD *md, const uint8_t *in,
                     size_t inlen, const uint8_t *sig, size_t siglen)
{
    if (p->alg == SSS_SIG_EDDSA) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        int r = EVP_DigestVerifyInit(m, NULL, NULL, NULL, pk) == 1 &&
                EVP_DigestVerify(m, sig, siglen, in, inlen) == 1;
        EVP_MD_CTX_free(m);
        return r;
    }
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
    int r = EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, md) > 0;
    if (r && p->alg == SSS_SIG_RSA_PKCS1)
        r = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0;
    if (r && p->alg == SSS_SIG_RSA_PSS)
        r = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) > 0 &&
            EVP_PKEY_CTX_set_rsa_pss_saltlen(c, p->salt_len < 0 ? RSA_PSS_SALTLEN_DIGEST
                                                                : p->salt_len) > 0;
    r = r && EVP_PKEY_verify(c, sig, siglen, in, inlen) == 1;
    EVP_PKEY_CTX_free(c);
    return r;
}

/* Sign a digest with k (1 APDU), verify with libcrypto and with sss, and
 * check that a tampered signature fails. */
static void sign_and_check(sss_key *k, EVP_PKEY *pk, sss_sig_alg alg, sss_hash h, int salt)
{
    static const char msg[] = "the quick brown fox";
    const EVP_MD *md = h == SSS_HASH_SHA384   ? EVP_sha384()
                       : h == SSS_HASH_SHA512 ? EVP_sha512()
                       : h == SSS_HASH_SHA1   ? EVP_sha1()
                                              : EVP_sha256();
    uint8_t dg[64], sig[600];
    size_t dl = alg == SSS_SIG_EDDSA ? sizeof(msg) - 1 : sss_hash_len(h);
    const uint8_t *in = alg == SSS_SIG_EDDSA ? (const uint8_t *)msg : dg;
    sha(md, msg, sizeof(msg) - 1, dg);
    sss_sig_params p = {.alg = alg, .hash = h, .salt_len = salt};
    size_t sl = sizeof(sig);
    sign1(k, &p, in, dl, sig, &sl);
    assert_true(lc_verify(pk, &p, md, in, dl, sig, sl));
    OK(sss_verify(k, &p, in, dl, sig, sl));
    sig[sl / 2] ^= 0x01;
    assert_int_equal(sss_verify(k, &p, in, dl, sig, sl), SSS_ERR_VERIFY);
    assert_false(lc_verify(pk, &p, md, in, dl, sig, sl));
}

static void spki_equal(sss_key *k, EVP_PKEY *want)
{
    uint8_t der[1200];
    size_t n = sizeof(der);
    OK(sss_key_public_der(k, der, &n));
    unsigned char *w = NULL;
    int wl = i2d_PUBKEY(want, &w);
    assert_int_equal((int)n, wl);
    assert_memory_equal(der, w, n);
    OPENSSL_free(w);
}

static uint8_t *pem_of(EVP_PKEY *k, bool priv, bool traditional, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (priv && traditional)
        PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL);
    else if (priv)
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PUBKEY(b, k);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    uint8_t *out = malloc((size_t)n);
    memcpy(out, p, (size_t)n);
    *len = (size_t)n;
    BIO_free(b);
    return out;
}

/* ---- tests: generation and signatures -------------------------------------- */

static void test_generate_ec(void **state)
{
    static const struct { uint8_t curve; const char *group; uint16_t bits; sss_hash h; } c[] = {
        {SSS_CURVE_P256, "prime256v1", 256, SSS_HASH_SHA256},
        {SSS_CURVE_P384, "secp384r1", 384, SSS_HASH_SHA384},
        {SSS_CURVE_P521, "secp521r1", 521, SSS_HASH_SHA512},
    };
    for (size_t i = 0; i < 3; i++) {
        sss_keygen g = {.type = SSS_KT_EC_PAIR, .curve = c[i].curve};
        OK(sss_key_generate(g_s, oid(0x10 + (uint32_t)i), &g, &FORCE));
        sss_key *k = open_key(oid(0x10 + (uint32_t)i));
        assert_int_equal(sss_key_info(k)->type, SSS_KT_EC_PAIR);
        assert_int_equal(sss_key_info(k)->curve, c[i].curve);
        assert_int_equal(sss_key_info(k)->bits, c[i].bits);
        EVP_PKEY *pk = pub_of(k);
        char gn[64];
        assert_int_equal(EVP_PKEY_get_group_name(pk, gn, sizeof(gn), NULL), 1);
        assert_string_equal(gn, c[i].group);
        sign_and_check(k, pk, SSS_SIG_ECDSA, c[i].h, 0);
        sign_and_check(k, pk, SSS_SIG_ECDSA, SSS_HASH_SHA256, 0);
        EVP_PKEY_free(pk);
        sss_key_close(k);
    }
}

static void test_generate_ed25519(void **state)
{
    sss_keygen g = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_ED25519};
    OK(sss_key_generate(g_s, oid(0x20), &g, &FORCE));
    sss_key *k = open_key(oid(0x20));
    assert_int_equal(sss_key_info(k)->curve, SSS_CURVE_ED25519);
    EVP_PKEY *pk = pub_of(k);
    assert_true(EVP_PKEY_is_a(pk, "ED25519"));
    sign_and_check(k, pk, SSS_SIG_EDDSA, SSS_HASH_SHA512, 0);
    EVP_PKEY_free(pk);
    sss_key_close(k);
}

static void test_generate_rsa(void **state)
{
    sss_keygen g = {.type = SSS_KT_RSA_PAIR, .bits = 2048};
    OK(sss_key_generate(g_s, oid(0x30), &g, &FORCE));
    sss_key *k = open_key(oid(0x30));
    assert_int_equal(sss_key_info(k)->type, SSS_KT_RSA_PAIR);
    assert_int_equal(sss_key_info(k)->bits, 2048);
    EVP_PKEY *pk = pub_of(k);
    assert_int_equal(EVP_PKEY_get_bits(pk), 2048);
    sign_and_check(k, pk, SSS_SIG_RSA_PKCS1, SSS_HASH_SHA256, 0);
    EVP_PKEY_free(pk);
    sss_key_close(k);
}

static void test_generate_symmetric(void **state)
{
    sss_keygen a = {.type = SSS_KT_AES, .bits = 256}, h = {.type = SSS_KT_HMAC, .bits = 256};
    OK(sss_key_generate(g_s, oid(0x40), &a, &FORCE));
    OK(sss_key_generate(g_s, oid(0x41), &h, &FORCE));
    sss_key *ka = open_key(oid(0x40)), *kh = open_key(oid(0x41));
    assert_int_equal(sss_key_info(ka)->type, SSS_KT_AES);
    assert_int_equal(sss_key_info(ka)->bits, 256);
    assert_int_equal(sss_key_info(kh)->type, SSS_KT_HMAC);
    /* AES round trip with the unknown key */
    uint8_t pt[32], ct[32], back[32], iv[16] = {1};
    size_t n = sizeof(ct);
    RAND_bytes(pt, sizeof(pt));
    OK(sss_aes(ka, SSS_AES_CBC, true, iv, 16, pt, 32, ct, &n));
    assert_int_equal(n, 32);
    assert_memory_not_equal(pt, ct, 32);
    n = sizeof(back);
    OK(sss_aes(ka, SSS_AES_CBC, false, iv, 16, ct, 32, back, &n));
    assert_memory_equal(pt, back, 32);
    uint8_t mac[64];
    n = sizeof(mac);
    OK(sss_mac(kh, SSS_MAC_HMAC_SHA256, pt, 32, mac, &n));
    assert_int_equal(n, 32);
    /* a generated key is not readable */
    uint8_t buf[64];
    n = sizeof(buf);
    assert_int_not_equal(sss_binary_read(g_s, oid(0x40), buf, &n), SSS_OK);
    sss_key_close(ka);
    sss_key_close(kh);
}

/* ---- tests: imports ---------------------------------------------------------- */

static void test_import_rsa_ops(void **state)
{
    size_t pl;
    uint8_t *pem = pem_of(g_rsa, true, false, &pl); /* PKCS#8 */
    OK(sss_key_import(g_s, oid(0x50), SSS_IMPORT_AUTO, pem, pl, &FORCE));
    free(pem);
    sss_key *k = open_key(oid(0x50));
    assert_int_equal(sss_key_info(k)->type, SSS_KT_RSA_PAIR);
    assert_int_equal(sss_key_info(k)->bits, 2048);
    spki_equal(k, g_rsa);
    sign_and_check(k, g_rsa, SSS_SIG_RSA_PKCS1, SSS_HASH_SHA256, 0);
    sign_and_check(k, g_rsa, SSS_SIG_RSA_PKCS1, SSS_HASH_SHA384, 0);
    sign_and_check(k, g_rsa, SSS_SIG_RSA_PSS, SSS_HASH_SHA256, -1);
    sign_and_check(k, g_rsa, SSS_SIG_RSA_PSS, SSS_HASH_SHA256, 20);
    sign_and_check(k, g_rsa, SSS_SIG_RSA_PSS, SSS_HASH_SHA512, 0);

    /* decrypt libcrypto ciphertexts: OAEP (SHA-1) and PKCS#1 v1.5 */
    static const uint8_t secret[] = "attack at dawn";
    for (int pad = 0; pad < 2; pad++) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(g_rsa, NULL);
        assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
        assert_true(EVP_PKEY_CTX_set_rsa_padding(c, pad ? RSA_PKCS1_OAEP_PADDING
                                                        : RSA_PKCS1_PADDING) > 0);
        uint8_t ct[256], pt[256];
        size_t cl = sizeof(ct), ptl = sizeof(pt);
        assert_int_equal(EVP_PKEY_encrypt(c, ct, &cl, secret, sizeof(secret)), 1);
        EVP_PKEY_CTX_free(c);
        OK(sss_rsa_decrypt(k, pad ? SSS_RSA_PAD_OAEP_SHA1 : SSS_RSA_PAD_PKCS1, ct, cl, pt, &ptl));
        assert_int_equal(ptl, sizeof(secret));
        assert_memory_equal(pt, secret, ptl);
        /* and encrypt with sss, decrypt with libcrypto */
        cl = sizeof(ct);
        OK(sss_rsa_encrypt(k, pad ? SSS_RSA_PAD_OAEP_SHA1 : SSS_RSA_PAD_PKCS1, secret,
                           sizeof(secret), ct, &cl));
        c = EVP_PKEY_CTX_new(g_rsa, NULL);
        assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
        assert_true(EVP_PKEY_CTX_set_rsa_padding(c, pad ? RSA_PKCS1_OAEP_PADDING
                                                        : RSA_PKCS1_PADDING) > 0);
        ptl = sizeof(pt);
        assert_int_equal(EVP_PKEY_decrypt(c, pt, &ptl, ct, cl), 1);
        EVP_PKEY_CTX_free(c);
        assert_memory_equal(pt, secret, sizeof(secret));
    }
    /* oversized input: more than the modulus */
    uint8_t big[300] = {0}, out[300];
    size_t ol = sizeof(out);
    assert_int_equal(sss_rsa_encrypt(k, SSS_RSA_PAD_NONE, big, sizeof(big), out, &ol),
                     SSS_ERR_BUFFER);
    /* ECDSA on an RSA key */
    uint8_t dg[32] = {0}, sig[600];
    size_t sl = sizeof(sig);
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    assert_int_equal(sss_sign(k, &p, dg, 32, sig, &sl), SSS_ERR_KEY_TYPE);
    sss_key_close(k);

    /* public key only (DER SPKI) */
    unsigned char *der = NULL;
    int dl = i2d_PUBKEY(g_rsa, &der);
    OK(sss_key_import(g_s, oid(0x51), SSS_IMPORT_PUBLIC, der, (size_t)dl, &FORCE));
    OPENSSL_free(der);
    k = open_key(oid(0x51));
    assert_int_equal(sss_key_info(k)->type, SSS_KT_RSA_PUB);
    spki_equal(k, g_rsa);
    sl = sizeof(sig);
    p.alg = SSS_SIG_RSA_PKCS1;
    assert_int_equal(sss_sign(k, &p, dg, 32, sig, &sl), SSS_ERR_KEY_TYPE);
    sss_key_close(k);
}

static void test_import_ec_ecdh(void **state)
{
    size_t pl;
    uint8_t *pem = pem_of(g_ec, true, true, &pl); /* traditional "EC PRIVATE KEY" */
    OK(sss_key_import(g_s, oid(0x60), SSS_IMPORT_KEY_PAIR, pem, pl, &FORCE));
    free(pem);
    sss_key *k = open_key(oid(0x60));
    assert_int_equal(sss_key_info(k)->type, SSS_KT_EC_PAIR);
    assert_int_equal(sss_key_info(k)->curve, SSS_CURVE_P256);
    spki_equal(k, g_ec);
    sign_and_check(k, g_ec, SSS_SIG_ECDSA, SSS_HASH_SHA256, 0);

    /* ECDH with a fresh peer equals libcrypto's */
    EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *pd = NULL;
    int pdl = i2d_PUBKEY(peer, &pd);
    uint8_t sec[80], want[80];
    size_t sl = sizeof(sec), wl = sizeof(want);
    OK(sss_derive_ecdh(k, pd, (size_t)pdl, sec, &sl));
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(peer, NULL);
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, g_ec), 1);
    assert_int_equal(EVP_PKEY_derive(c, want, &wl), 1);
    EVP_PKEY_CTX_free(c);
    assert_int_equal(sl, wl);
    assert_memory_equal(sec, want, sl);
    /* malformed peer */
    sl = sizeof(sec);
    assert_int_equal(sss_derive_ecdh(k, pd, (size_t)pdl - 3, sec, &sl), SSS_ERR_FORMAT);
    OPENSSL_free(pd);
    EVP_PKEY_free(peer);
    sss_key_close(k);

    /* public key, PEM SPKI */
    pem = pem_of(g_ec, false, false, &pl);
    OK(sss_key_import(g_s, oid(0x61), SSS_IMPORT_AUTO, pem, pl, &FORCE));
    free(pem);
    k = open_key(oid(0x61));
    assert_int_equal(sss_key_info(k)->type, SSS_KT_EC_PUB);
    spki_equal(k, g_ec);
    uint8_t small[8];
    size_t sml = sizeof(small);
    assert_int_equal(sss_key_public_der(k, small, &sml), SSS_ERR_BUFFER);
    assert_int_equal(sml, 91); /* P-256 SubjectPublicKeyInfo */
    /* a public key cannot sign or derive */
    sss_sig_params sp = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    uint8_t dg[32] = {0}, sg[100];
    size_t sgl = sizeof(sg);
    assert_int_equal(sss_sign(k, &sp, dg, 32, sg, &sgl), SSS_ERR_KEY_TYPE);
    sss_key_close(k);

    /* Ed25519 pair (PKCS#8 DER) */
    unsigned char *d8 = NULL;
    int d8l = i2d_PrivateKey(g_ed, &d8);
    assert_true(d8l > 0);
    OK(sss_key_import(g_s, oid(0x62), SSS_IMPORT_AUTO, d8, (size_t)d8l, &FORCE));
    OPENSSL_free(d8);
    k = open_key(oid(0x62));
    assert_int_equal(sss_key_info(k)->curve, SSS_CURVE_ED25519);
    spki_equal(k, g_ed);
    sign_and_check(k, g_ed, SSS_SIG_EDDSA, SSS_HASH_SHA512, 0);
    sss_key_close(k);
}

/* X25519 generated in the SE (or host): ECDH equals libcrypto with the
 * exported public key; byte order is RFC 7748 on both sides. */
static void test_x25519(void **state)
{
    if (g_grp->v3) {
        /* 3.x applets have no X25519 curve object: refused, nothing created */
        sss_keygen x = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_X25519};
        assert_int_equal(sss_key_generate(g_s, oid(0x68), &x, &FORCE), SSS_ERR_SE);
        bool ex = true;
        OK(sss_object_exists(g_s, oid(0x68), &ex));
        assert_false(ex);
        return;
    }
    sss_keygen g = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_X25519};
    OK(sss_key_generate(g_s, oid(0x68), &g, &FORCE));
    sss_key *k = open_key(oid(0x68));
    assert_int_equal(sss_key_info(k)->curve, SSS_CURVE_X25519);
    EVP_PKEY *pub = pub_of(k);
    assert_true(EVP_PKEY_is_a(pub, "X25519"));
    EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    unsigned char *pd = NULL;
    int pdl = i2d_PUBKEY(peer, &pd);
    uint8_t sec[32], want[32];
    size_t sl = sizeof(sec), wl = sizeof(want);
    OK(sss_derive_ecdh(k, pd, (size_t)pdl, sec, &sl));
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(peer, NULL);
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, pub), 1);
    assert_int_equal(EVP_PKEY_derive(c, want, &wl), 1);
    EVP_PKEY_CTX_free(c);
    assert_int_equal(sl, 32);
    assert_memory_equal(sec, want, 32);
    /* a P-256 peer does not fit */
    unsigned char *ed = NULL;
    int edl = i2d_PUBKEY(g_ec, &ed);
    sl = sizeof(sec);
    assert_int_equal(sss_derive_ecdh(k, ed, (size_t)edl, sec, &sl), SSS_ERR_ARG);
    /* X25519 cannot sign */
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    sl = sizeof(sec);
    assert_int_equal(sss_sign(k, &p, want, 32, sec, &sl), SSS_ERR_KEY_TYPE);
    OPENSSL_free(ed);
    OPENSSL_free(pd);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(pub);
    sss_key_close(k);
}

static void test_import_cert(void **state)
{
    unsigned char *der = NULL;
    int dl = i2d_X509(g_cert, &der);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, g_cert);
    char *pem;
    long pl = BIO_get_mem_data(b, &pem);
    uint8_t out[2048];
    size_t n;
    /* PEM in, DER out */
    OK(sss_key_import(g_s, oid(0x70), SSS_IMPORT_CERT, (const uint8_t *)pem, (size_t)pl, &FORCE));
    n = sizeof(out);
    OK(sss_cert_read_der(g_s, oid(0x70), out, &n));
    assert_int_equal(n, (size_t)dl);
    assert_memory_equal(out, der, n);
    /* too small an output buffer tells the size needed */
    n = 10;
    assert_int_equal(sss_cert_read_der(g_s, oid(0x70), out, &n), SSS_ERR_BUFFER);
    assert_int_equal(n, (size_t)dl);
    /* DER in (auto-detected) */
    OK(sss_key_import(g_s, oid(0x71), SSS_IMPORT_AUTO, der, (size_t)dl, &FORCE));
    n = sizeof(out);
    OK(sss_cert_read_der(g_s, oid(0x71), out, &n));
    assert_int_equal(n, (size_t)dl);
    assert_memory_equal(out, der, n);
    /* a binary object holding DER with zero padding, and one holding PEM */
    uint8_t padded[2048] = {0};
    memcpy(padded, der, (size_t)dl);
    OK(sss_binary_write(g_s, oid(0x72), padded, (size_t)dl + 3, &FORCE));
    n = sizeof(out);
    OK(sss_cert_read_der(g_s, oid(0x72), out, &n));
    assert_int_equal(n, (size_t)dl);
    assert_memory_equal(out, der, n);
    OK(sss_binary_write(g_s, oid(0x73), (const uint8_t *)pem, (size_t)pl, &FORCE));
    n = sizeof(out);
    OK(sss_cert_read_der(g_s, oid(0x73), out, &n));
    assert_memory_equal(out, der, n);
    /* raw binary read gives the bytes as written */
    n = sizeof(out);
    OK(sss_binary_read(g_s, oid(0x73), out, &n));
    assert_int_equal(n, (size_t)pl);
    assert_memory_equal(out, pem, n);
    /* public key from a certificate */
    OK(sss_key_import(g_s, oid(0x74), SSS_IMPORT_PUBLIC, der, (size_t)dl, &FORCE));
    sss_key *k = open_key(oid(0x74));
    spki_equal(k, g_ec);
    sss_key_close(k);
    /* not a certificate */
    uint8_t junk[40];
    memset(junk, 0x5A, sizeof(junk));
    OK(sss_binary_write(g_s, oid(0x75), junk, sizeof(junk), &FORCE));
    n = sizeof(out);
    assert_int_equal(sss_cert_read_der(g_s, oid(0x75), out, &n), SSS_ERR_FORMAT);
    BIO_free(b);
    OPENSSL_free(der);
}

/* ---- tests: symmetric, digest, random ------------------------------------------ */

static void test_symmetric_vs_libcrypto(void **state)
{
    uint8_t key[16], hkey[32], data[100], iv[16], want[128], got[128];
    RAND_bytes(key, sizeof(key));
    RAND_bytes(hkey, sizeof(hkey));
    RAND_bytes(data, sizeof(data));
    RAND_bytes(iv, sizeof(iv));
    OK(sss_key_import_symmetric(g_s, oid(0x80), SSS_KT_AES, key, 16, &FORCE));
    OK(sss_key_import_symmetric(g_s, oid(0x81), SSS_KT_HMAC, hkey, 32, &FORCE));
    sss_key *ka = open_key(oid(0x80)), *kh = open_key(oid(0x81));
    size_t n, wl;
    /* HMAC-SHA256 / SHA-512 */
    const char *mds[] = {"SHA256", "SHA512"};
    sss_mac_alg algs[] = {SSS_MAC_HMAC_SHA256, SSS_MAC_HMAC_SHA512};
    for (int i = 0; i < 2; i++) {
        n = sizeof(got);
        OK(sss_mac(kh, algs[i], data, sizeof(data), got, &n));
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, mds[i], NULL, hkey, 32, data, sizeof(data),
                                  want, sizeof(want), &wl));
        assert_int_equal(n, wl);
        assert_memory_equal(got, want, n);
    }
    /* CMAC */
    n = sizeof(got);
    OK(sss_mac(ka, SSS_MAC_CMAC_AES, data, sizeof(data), got, &n));
    assert_non_null(EVP_Q_mac(NULL, "CMAC", NULL, "AES-128-CBC", NULL, key, 16, data,
                              sizeof(data), want, sizeof(want), &wl));
    assert_int_equal(n, 16);
    assert_memory_equal(got, want, 16);
    /* AES ECB / CBC / CTR */
    const EVP_CIPHER *ciphers[] = {EVP_aes_128_ecb(), EVP_aes_128_cbc(), EVP_aes_128_ctr()};
    sss_aes_mode modes[] = {SSS_AES_ECB, SSS_AES_CBC, SSS_AES_CTR};
    for (int i = 0; i < 3; i++) {
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        int l1, l2;
        assert_int_equal(EVP_EncryptInit_ex(c, ciphers[i], NULL, key, iv), 1);
        EVP_CIPHER_CTX_set_padding(c, 0);
        assert_int_equal(EVP_EncryptUpdate(c, want, &l1, data, 96), 1);
        assert_int_equal(EVP_EncryptFinal_ex(c, want + l1, &l2), 1);
        EVP_CIPHER_CTX_free(c);
        n = sizeof(got);
        OK(sss_aes(ka, modes[i], true, iv, 16, data, 96, got, &n));
        assert_int_equal(n, 96);
        assert_memory_equal(got, want, 96);
        n = sizeof(got);
        OK(sss_aes(ka, modes[i], false, iv, 16, want, 96, got, &n));
        assert_memory_equal(got, data, 96);
    }
    /* wrong key types */
    n = sizeof(got);
    assert_int_equal(sss_mac(ka, SSS_MAC_HMAC_SHA256, data, 10, got, &n), SSS_ERR_KEY_TYPE);
    n = sizeof(got);
    assert_int_equal(sss_aes(kh, SSS_AES_ECB, true, NULL, 0, data, 16, got, &n), SSS_ERR_KEY_TYPE);
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    n = sizeof(got);
    assert_int_equal(sss_sign(ka, &p, data, 32, got, &n), SSS_ERR_KEY_TYPE);
    /* bad lengths */
    n = sizeof(got);
    assert_int_equal(sss_aes(ka, SSS_AES_CBC, true, iv, 16, data, 15, got, &n), SSS_ERR_ARG);
    assert_int_equal(sss_key_import_symmetric(g_s, oid(0x82), SSS_KT_AES, key, 15, NULL),
                     SSS_ERR_ARG);
    sss_key_close(ka);
    sss_key_close(kh);
}

static void test_digest_rng(void **state)
{
    static const char msg[] = "abc";
    uint8_t got[64], want[64];
    size_t n = sizeof(got);
    OK(sss_digest(g_s, SSS_HASH_SHA256, (const uint8_t *)msg, 3, got, &n));
    sha(EVP_sha256(), msg, 3, want);
    assert_int_equal(n, 32);
    assert_memory_equal(got, want, 32);
    n = sizeof(got);
    OK(sss_digest(g_s, SSS_HASH_SHA512, (const uint8_t *)msg, 3, got, &n));
    sha(EVP_sha512(), msg, 3, want);
    assert_memory_equal(got, want, 64);
    n = 10;
    assert_int_equal(sss_digest(g_s, SSS_HASH_SHA256, (const uint8_t *)msg, 3, got, &n),
                     SSS_ERR_BUFFER);
    uint8_t r1[700] = {0}, r2[700] = {0}, z[700] = {0};
    OK(sss_rng(g_s, r1, sizeof(r1)));
    OK(sss_rng(g_s, r2, sizeof(r2)));
    assert_memory_not_equal(r1, r2, sizeof(r1));
    assert_memory_not_equal(r1, z, sizeof(r1));
}

/* ---- tests: object management ----------------------------------------------- */

static void test_info_list_delete(void **state)
{
    se05x_policy pol;
    se05x_policy_init(&pol);
    se05x_policy_add(&pol, 0, SE05X_AR_SIGN | SE05X_AR_VERIFY | SE05X_AR_READ | SE05X_AR_DELETE);
    sss_write_opts o = {.policy = &pol, .force = true};
    sss_keygen g = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_P256};
    OK(sss_key_generate(g_s, oid(0x90), &g, &o));
    uint8_t data[10] = {1, 2, 3};
    OK(sss_binary_write(g_s, oid(0x91), data, sizeof(data), &FORCE));
    sss_object_info info;
    OK(sss_object_info_get(g_s, oid(0x90), &info));
    assert_int_equal(info.id, oid(0x90));
    assert_int_equal(info.type, SSS_KT_EC_PAIR);
    assert_int_equal(info.curve, SSS_CURVE_P256);
    assert_int_equal(info.bits, 256);
    assert_int_equal(info.origin, SSS_ORIGIN_INTERNAL);
    assert_int_equal(info.policy.n, 1);
    assert_int_equal(info.policy.e[0].ar, pol.e[0].ar);
    OK(sss_object_info_get(g_s, oid(0x91), &info));
    assert_int_equal(info.type, SSS_KT_BINARY);
    assert_int_equal(info.size, sizeof(data));
    assert_int_equal(info.origin, SSS_ORIGIN_EXTERNAL);

    sss_object_info *list = NULL;
    size_t n = 0;
    OK(sss_object_list(g_s, &list, &n));
    bool f90 = false, f91 = false;
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_true(list[i - 1].id < list[i].id);
        if (list[i].id == oid(0x90)) {
            f90 = true;
            assert_int_equal(list[i].type, SSS_KT_EC_PAIR);
        }
        if (list[i].id == oid(0x91)) {
            f91 = true;
            assert_int_equal(list[i].type, SSS_KT_BINARY);
            assert_int_equal(list[i].size, sizeof(data));
        }
    }
    free(list);
    assert_true(f90 && f91);

    OK(sss_object_delete(g_s, oid(0x91)));
    bool ex = true;
    OK(sss_object_exists(g_s, oid(0x91), &ex));
    assert_false(ex);
    assert_int_equal(sss_object_delete(g_s, oid(0x91)), SSS_ERR_NOT_FOUND);
    assert_int_equal(sss_object_info_get(g_s, oid(0x91), &info), SSS_ERR_NOT_FOUND);
    assert_true(strstr(sss_session_errmsg(g_s), "0x") != NULL);
}

static void test_overwrite_and_reserved(void **state)
{
    sss_keygen g = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_P256};
    OK(sss_key_generate(g_s, oid(0xA0), &g, &FORCE));
    sss_key *k = open_key(oid(0xA0));
    EVP_PKEY *before = pub_of(k);
    sss_key_close(k);
    assert_int_equal(sss_key_generate(g_s, oid(0xA0), &g, NULL), SSS_ERR_EXISTS);
    uint8_t d[4] = {1};
    assert_int_equal(sss_binary_write(g_s, oid(0xA0), d, 4, NULL), SSS_ERR_EXISTS);
    k = open_key(oid(0xA0));
    spki_equal(k, before); /* unchanged */
    sss_key_close(k);
    OK(sss_key_generate(g_s, oid(0xA0), &g, &FORCE));
    k = open_key(oid(0xA0));
    EVP_PKEY *after = pub_of(k);
    assert_int_not_equal(EVP_PKEY_eq(before, after), 1);
    EVP_PKEY_free(after);
    EVP_PKEY_free(before);
    sss_key_close(k);
    /* the key type may change with force */
    OK(sss_binary_write(g_s, oid(0xA0), d, 4, &FORCE));
    k = open_key(oid(0xA0));
    assert_int_equal(sss_key_info(k)->type, SSS_KT_BINARY);
    sss_key_close(k);

    assert_true(sss_id_reserved(0x7FFF0206));
    assert_true(sss_id_reserved(0x7FFF0000));
    assert_false(sss_id_reserved(0x7FFEFFFF));
    assert_int_equal(sss_key_generate(g_s, 0x7FFF0210, &g, &FORCE), SSS_ERR_RESERVED_ID);
    assert_int_equal(sss_binary_write(g_s, 0x7FFF0206, d, 4, &FORCE), SSS_ERR_RESERVED_ID);
    assert_int_equal(sss_object_delete(g_s, 0x7FFF0206), SSS_ERR_RESERVED_ID);
    assert_true(strstr(sss_session_errmsg(g_s), "reserved") != NULL);
}

static void test_bad_input(void **state)
{
    sss_key *k = NULL;
    /* missing object */
    assert_int_equal(sss_key_open(g_s, oid(0xB0), &k), SSS_ERR_NOT_FOUND);
    assert_null(k);
    assert_true(strstr(sss_session_errmsg(g_s), "0x") != NULL);
    uint8_t buf[64];
    size_t n = sizeof(buf);
    assert_int_equal(sss_binary_read(g_s, oid(0xB0), buf, &n), SSS_ERR_NOT_FOUND);
    n = sizeof(buf);
    assert_int_equal(sss_cert_read_der(g_s, oid(0xB0), buf, &n), SSS_ERR_NOT_FOUND);

    /* malformed PEM: SSS_ERR_FORMAT and nothing created / changed */
    static const char bad[] = "-----BEGIN PRIVATE KEY-----\nMIIBVgIBADANBg==garbage\n"
                              "-----END PRIVATE KEY-----\n";
    assert_int_equal(sss_key_import(g_s, oid(0xB1), SSS_IMPORT_AUTO, (const uint8_t *)bad,
                                    sizeof(bad) - 1, &FORCE),
                     SSS_ERR_FORMAT);
    bool ex = true;
    OK(sss_object_exists(g_s, oid(0xB1), &ex));
    assert_false(ex);
    uint8_t d[4] = {9, 8, 7, 6};
    OK(sss_binary_write(g_s, oid(0xB2), d, 4, &FORCE));
    assert_int_equal(sss_key_import(g_s, oid(0xB2), SSS_IMPORT_AUTO, (const uint8_t *)bad,
                                    sizeof(bad) - 1, &FORCE),
                     SSS_ERR_FORMAT);
    n = sizeof(buf);
    OK(sss_binary_read(g_s, oid(0xB2), buf, &n));
    assert_int_equal(n, 4);
    assert_memory_equal(buf, d, 4);
    static const uint8_t junk[] = {0x30, 0x82, 0x01};
    assert_int_equal(sss_key_import(g_s, oid(0xB1), SSS_IMPORT_AUTO, junk, sizeof(junk), NULL),
                     SSS_ERR_FORMAT);
    /* a cert where a private key is required */
    unsigned char *der = NULL;
    int dl = i2d_X509(g_cert, &der);
    assert_int_equal(sss_key_import(g_s, oid(0xB1), SSS_IMPORT_KEY_PAIR, der, (size_t)dl, NULL),
                     SSS_ERR_FORMAT);
    OPENSSL_free(der);

    /* oversized binary */
    uint8_t *big = calloc(1, 0x8000);
    assert_int_equal(sss_binary_write(g_s, oid(0xB3), big, 0x8000, NULL), SSS_ERR_BUFFER);
    free(big);
    OK(sss_object_exists(g_s, oid(0xB3), &ex));
    assert_false(ex);

    /* digest length must match the hash */
    sss_keygen g = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_P256};
    OK(sss_key_generate(g_s, oid(0xB4), &g, &FORCE));
    k = open_key(oid(0xB4));
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    uint8_t sig[200];
    n = sizeof(sig);
    assert_int_equal(sss_sign(k, &p, buf, 20, sig, &n), SSS_ERR_ARG);
    p.alg = SSS_SIG_EDDSA;
    n = sizeof(sig);
    assert_int_equal(sss_sign(k, &p, buf, 32, sig, &n), SSS_ERR_KEY_TYPE);
    p.alg = SSS_SIG_RSA_PSS;
    n = sizeof(sig);
    assert_int_equal(sss_sign(k, &p, buf, 32, sig, &n), SSS_ERR_KEY_TYPE);
    n = sizeof(sig);
    assert_int_equal(sss_rsa_decrypt(k, SSS_RSA_PAD_PKCS1, buf, 32, sig, &n), SSS_ERR_KEY_TYPE);
    n = sizeof(sig);
    assert_int_equal(sss_derive_ecdh(k, buf, 10, sig, &n), SSS_ERR_FORMAT);
    sss_key_close(k);
    /* the key was deleted behind an open handle */
    k = open_key(oid(0xB4));
    OK(sss_object_delete(g_s, oid(0xB4)));
    p.alg = SSS_SIG_ECDSA;
    n = sizeof(sig);
    assert_int_equal(sss_sign(k, &p, buf, 32, sig, &n), SSS_ERR_NOT_FOUND);
    sss_key_close(k);

    /* bad generation parameters */
    sss_keygen bg = {.type = SSS_KT_RSA_PAIR, .bits = 1000};
    assert_int_equal(sss_key_generate(g_s, oid(0xB5), &bg, NULL), SSS_ERR_ARG);
    bg = (sss_keygen){.type = SSS_KT_EC_PAIR, .curve = 0x77};
    assert_int_equal(sss_key_generate(g_s, oid(0xB5), &bg, NULL), SSS_ERR_ARG);
}

/* Policy denial (all backends enforce policies). */
static void test_policy_denied(void **state)
{
    se05x_policy pol;
    se05x_policy_init(&pol);
    se05x_policy_add(&pol, 0, SE05X_AR_VERIFY | SE05X_AR_READ | SE05X_AR_DELETE);
    sss_write_opts o = {.policy = &pol, .force = true};
    sss_keygen g = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_P256};
    OK(sss_key_generate(g_s, oid(0xC0), &g, &o));
    sss_key *k = open_key(oid(0xC0));
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    uint8_t dg[32] = {0}, sig[200];
    size_t n = sizeof(sig);
    assert_int_equal(sss_sign(k, &p, dg, 32, sig, &n), SSS_ERR_DENIED);
    if (is_se())
        assert_true(strstr(sss_session_errmsg(g_s), "6986") != NULL);
    sss_key_close(k);
}

static void test_se_limits(void **state)
{
    if (!is_se())
        skip();
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    uint8_t sig[200];
    size_t n;
    sss_key *k;
    /* a digest of more data than an APDU carries */
    uint8_t *big = calloc(1, 4000);
    n = sizeof(sig);
    assert_int_equal(sss_digest(g_s, SSS_HASH_SHA256, big, 4000, sig, &n), SSS_ERR_BUFFER);
    /* an EdDSA message larger than an APDU */
    sss_keygen eg = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_ED25519};
    OK(sss_key_generate(g_s, oid(0xC1), &eg, &FORCE));
    k = open_key(oid(0xC1));
    p.alg = SSS_SIG_EDDSA;
    n = sizeof(sig);
    assert_int_equal(sss_sign(k, &p, big, 4000, sig, &n), SSS_ERR_BUFFER);
    sss_key_close(k);
    free(big);
    /* the factory RSA key signs through raw decrypt (1 APDU) */
    k = open_key(0xF0000004);
    assert_int_equal(sss_key_info(k)->type, SSS_KT_RSA_PAIR);
    EVP_PKEY *pk = pub_of(k);
    sign_and_check(k, pk, SSS_SIG_RSA_PSS, SSS_HASH_SHA256, -1);
    EVP_PKEY_free(pk);
    sss_key_close(k);
}

/* ---- backend-independent checks (run once) ------------------------------------- */

static void test_helpers(void **state)
{
    sss_hash h;
    assert_int_equal(sss_hash_from_name("SHA-384", &h), SSS_OK);
    assert_int_equal(h, SSS_HASH_SHA384);
    assert_int_equal(sss_hash_from_name("md5", &h), SSS_ERR_ARG);
    assert_int_equal(sss_hash_len(SSS_HASH_SHA224), 28);
    assert_int_equal(sss_hash_len(SSS_HASH_NONE), 0);
    for (int st = SSS_OK; st <= SSS_ERR_STATE; st++)
        assert_string_not_equal(sss_strerror((sss_status)st), "unknown status");
    assert_string_equal(sss_key_type_name(SSS_KT_RSA_PAIR), "RSA key pair");
}

static void test_attrs_parse(void **state)
{
    /* id · type · auth · attempts · owner · rfu · policy(9) · origin · version(4) */
    uint8_t a[] = {0x30, 0, 0, 1, 0x29, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
                   8, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x02, 0, 0, 0, 5};
    se05x_obj_attrs at;
    assert_int_equal(se05x_attrs_parse(a, sizeof(a), true, &at), SE05X_OK);
    assert_int_equal(at.id, 0x30000001);
    assert_int_equal(at.type, 0x29);
    assert_false(at.auth);
    assert_int_equal(at.policy.n, 1);
    assert_int_equal(at.policy.e[0].ar, SE05X_AR_SIGN);
    assert_int_equal(at.origin, 2);
    assert_int_equal(at.version, 5);
    /* 3.x: one version byte, so the policy appears 3 bytes longer -> malformed */
    assert_int_not_equal(se05x_attrs_parse(a, sizeof(a), false, &at), SE05X_OK);
    /* too short */
    assert_int_equal(se05x_attrs_parse(a, 18, true, &at), SE05X_ERR_TLV_LENGTH);
    /* no policy */
    uint8_t b[] = {0x30, 0, 0, 2, 0x0B, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0};
    assert_int_equal(se05x_attrs_parse(b, sizeof(b), false, &at), SE05X_OK);
    assert_int_equal(at.policy.n, 0);
    assert_int_equal(at.origin, 1);
}

static sss_status try_open(const sss_session_cfg *cfg, char *err, size_t errlen)
{
    sss_session *s = NULL;
    sss_status st = sss_session_open(cfg, &s, err, errlen);
    sss_session_close(s);
    return st;
}

static void test_session_open(void **state)
{
    char err[512];
    sss_session_cfg c = {.backend = (sss_backend)42};
    assert_int_equal(try_open(&c, err, sizeof(err)), SSS_ERR_ARG);
    sss_session *s = (sss_session *)1;
    assert_int_equal(sss_session_open(NULL, &s, err, sizeof(err)), SSS_ERR_ARG);
    /* nobody listens on port 1 */
    c = (sss_session_cfg){.backend = SSS_BACKEND_SE05X, .connstr = "127.0.0.1:1"};
    assert_int_equal(try_open(&c, err, sizeof(err)), SSS_ERR_CONNECT);
    assert_true(strstr(err, "127.0.0.1:1") != NULL);
    c.connstr = "nonsense:://";
    assert_int_not_equal(try_open(&c, err, sizeof(err)), SSS_OK);
    c.connstr = g_cs_jrcp;
    c.auth = SSS_AUTH_PLATFORM_SCP03;
    assert_int_equal(try_open(&c, err, sizeof(err)), SSS_ERR_ARG);
    /* UserID session with the simulator's FACTORY_RESET object */
    static const char reset[] = "se05x-sim-reset!";
    c = (sss_session_cfg){.backend = SSS_BACKEND_SE05X, .connstr = g_cs_jrcp,
                          .auth = SSS_AUTH_USERID, .auth_id = 0x7FFF0205,
                          .secret = (const uint8_t *)reset, .secret_len = 16};
    assert_int_equal(sss_session_open(&c, &s, err, sizeof(err)), SSS_OK);
    uint8_t r[8];
    assert_int_equal(sss_rng(s, r, sizeof(r)), SSS_OK);
    sss_session_close(s);
    c.secret = (const uint8_t *)"wrong-value-here";
    assert_int_equal(try_open(&c, err, sizeof(err)), SSS_ERR_AUTH);
    assert_true(strstr(err, "0x7FFF0205") != NULL);
    c.secret_len = 0;
    assert_int_equal(try_open(&c, err, sizeof(err)), SSS_ERR_ARG);
    /* AESKey needs 16 bytes; ECKey needs a readable PEM */
    c.auth = SSS_AUTH_AESKEY;
    c.secret_len = 5;
    assert_int_equal(try_open(&c, err, sizeof(err)), SSS_ERR_ARG);
    c.auth = SSS_AUTH_ECKEY;
    c.eckey_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert_int_equal(try_open(&c, err, sizeof(err)), SSS_ERR_FORMAT);
    /* ECKey session with the simulator's EdgeLock 2GO auth object; its
     * private half is DIR/el2go-auth-key.pem. TEMPORARY: hostlib's ECKey
     * session is a stub on main (SSS_ERR_UNSUPPORTED) until it lands. */
    char pem[1200];
    snprintf(pem, sizeof(pem), "%s/el2go-auth-key.pem", g_dir);
    c.auth_id = 0xF0000020;
    c.eckey_pem = pem;
    sss_status st = sss_session_open(&c, &s, err, sizeof(err));
    if (st == SSS_ERR_UNSUPPORTED) {
        fprintf(stderr, "[  SKIPPED ] ECKey session: %s\n", err);
    } else {
        assert_int_equal(st, SSS_OK);
        assert_int_equal(sss_rng(s, r, sizeof(r)), SSS_OK);
        sss_session_close(s);
        /* another host key is refused */
        size_t pl;
        uint8_t *other = pem_of(g_ec, true, false, &pl);
        char *txt = calloc(1, pl + 1);
        memcpy(txt, other, pl);
        c.eckey_pem = txt;
        assert_int_equal(try_open(&c, err, sizeof(err)), SSS_ERR_AUTH);
        free(txt);
        free(other);
    }
}

#define SUITE(name, idx) \
    const struct CMUnitTest name[] = { \
        cmocka_unit_test(test_generate_ec), \
        cmocka_unit_test(test_generate_ed25519), \
        cmocka_unit_test(test_generate_rsa), \
        cmocka_unit_test(test_generate_symmetric), \
        cmocka_unit_test(test_import_rsa_ops), \
        cmocka_unit_test(test_import_ec_ecdh), \
        cmocka_unit_test(test_x25519), \
        cmocka_unit_test(test_import_cert), \
        cmocka_unit_test(test_symmetric_vs_libcrypto), \
        cmocka_unit_test(test_digest_rng), \
        cmocka_unit_test(test_info_list_delete), \
        cmocka_unit_test(test_overwrite_and_reserved), \
        cmocka_unit_test(test_bad_input), \
        cmocka_unit_test(test_policy_denied), \
        cmocka_unit_test(test_se_limits), \
    }

static int run_group(int idx, const struct CMUnitTest *t, size_t n)
{
    return _cmocka_run_group_tests(g_groups[idx].name, t, n, group_setup, group_teardown);
}

int main(void)
{
    if (suite_setup(NULL) != 0) {
        fprintf(stderr, "suite setup failed\n");
        return 1;
    }
    const struct CMUnitTest core[] = {
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_attrs_parse),
        cmocka_unit_test(test_session_open),
    };
    int rc = cmocka_run_group_tests_name("core", core, NULL, NULL);
    for (int i = 0; i < NGROUPS; i++) {
        SUITE(tests, i);
        g_grp = &g_groups[i];
        rc |= run_group(i, tests, sizeof(tests) / sizeof(tests[0]));
    }
    suite_teardown(NULL);
    return rc;
}
