/* Unit tests of sss/refkey.h: our "SE05X KEY REFERENCE" format (PEM and
 * DER round trips for EC, Ed25519 and RSA keys, exact DER layout) and NXP's
 * magic-number EC/RSA keys (layout of the private scalar, p/q/iqmp, real
 * public key kept), and rejection of malformed input of every kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "sss/refkey.h"

/* ---- helpers ------------------------------------------------------------ */

static EVP_PKEY *gen_key(const char *what)
{
    EVP_PKEY *pk = NULL;
    if (strcmp(what, "RSA") == 0)
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else if (strcmp(what, "ED25519") == 0)
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", what);
    assert_non_null(pk);
    return pk;
}

static size_t spki_of(EVP_PKEY *pk, uint8_t **der)
{
    *der = NULL;
    int n = i2d_PUBKEY(pk, der);
    assert_true(n > 0);
    return (size_t)n;
}

/* DER length bytes. */
static size_t put_len(uint8_t *o, size_t n)
{
    if (n < 0x80) {
        o[0] = (uint8_t)n;
        return 1;
    }
    if (n < 0x100) {
        o[0] = 0x81;
        o[1] = (uint8_t)n;
        return 2;
    }
    o[0] = 0x82;
    o[1] = (uint8_t)(n >> 8);
    o[2] = (uint8_t)n;
    return 3;
}

/* Hand-built SEQUENCE { INTEGER ver, UTF8String uri, spki } (+ extra). */
static size_t build_der(uint8_t *out, uint8_t ver, const char *uri, const uint8_t *spki,
                        size_t spki_len)
{
    uint8_t body[4096];
    size_t n = 0;
    body[n++] = 0x02;
    body[n++] = 0x01;
    body[n++] = ver;
    body[n++] = 0x0C;
    n += put_len(body + n, strlen(uri));
    memcpy(body + n, uri, strlen(uri));
    n += strlen(uri);
    memcpy(body + n, spki, spki_len);
    n += spki_len;
    size_t m = 0;
    out[m++] = 0x30;
    m += put_len(out + m, n);
    memcpy(out + m, body, n);
    return m + n;
}

static void roundtrip_ours(const char *what, uint32_t id)
{
    EVP_PKEY *pk = gen_key(what);
    uint8_t *spki;
    size_t slen = spki_of(pk, &spki);

    uint8_t *der = NULL;
    size_t dlen = 0;
    assert_int_equal(sss_refkey_encode_der(id, spki, slen, &der, &dlen), SSS_OK);
    /* exact layout: our encoder and the hand-built one agree */
    char uri[32];
    sss_refkey_uri(id, uri, sizeof(uri));
    uint8_t want[4096];
    size_t wlen = build_der(want, 1, uri, spki, slen);
    assert_int_equal(dlen, wlen);
    assert_memory_equal(der, want, wlen);

    sss_refkey r;
    assert_int_equal(sss_refkey_decode(der, dlen, &r), SSS_OK);
    assert_int_equal(r.format, SSS_REFKEY_OURS);
    assert_int_equal(r.id, id);
    assert_int_equal(r.spki_len, slen);
    assert_memory_equal(r.spki, spki, slen);
    sss_refkey_free(&r);

    char *pem = NULL;
    size_t plen = 0;
    assert_int_equal(sss_refkey_encode_pem(id, spki, slen, &pem, &plen), SSS_OK);
    assert_int_equal(strlen(pem), plen);
    assert_non_null(strstr(pem, "-----BEGIN SE05X KEY REFERENCE-----"));
    assert_int_equal(sss_refkey_decode((const uint8_t *)pem, plen, &r), SSS_OK);
    assert_int_equal(r.id, id);
    assert_memory_equal(r.spki, spki, slen);
    sss_refkey_free(&r);

    free(pem);
    free(der);
    OPENSSL_free(spki);
    EVP_PKEY_free(pk);
}

static void test_ours_p256(void **s) { (void)s; roundtrip_ours("P-256", 0xEF000010); }
static void test_ours_p384(void **s) { (void)s; roundtrip_ours("P-384", 0x00000001); }
static void test_ours_p521(void **s) { (void)s; roundtrip_ours("P-521", 0xFFFFFFFF); }
static void test_ours_ed25519(void **s) { (void)s; roundtrip_ours("ED25519", 0x7DA00001); }
static void test_ours_rsa(void **s) { (void)s; roundtrip_ours("RSA", 0xEF000011); }

static void test_uri(void **s)
{
    (void)s;
    char buf[32];
    uint32_t id = 0;
    sss_refkey_uri(0xAB, buf, sizeof(buf));
    assert_string_equal(buf, "se05x:0x000000AB");
    assert_int_equal(sss_refkey_uri_parse(buf, strlen(buf), &id), SSS_OK);
    assert_int_equal(id, 0xAB);
    assert_int_equal(sss_refkey_uri_parse("se05x:0xef00001a", 16, &id), SSS_OK);
    assert_int_equal(id, 0xEF00001A);
    assert_int_equal(sss_refkey_uri_parse("se05x:0x0000001", 15, &id), SSS_ERR_FORMAT);
    assert_int_equal(sss_refkey_uri_parse("se05x:0x000000001", 17, &id), SSS_ERR_FORMAT);
    assert_int_equal(sss_refkey_uri_parse("se05x:0x0000000G", 16, &id), SSS_ERR_FORMAT);
    assert_int_equal(sss_refkey_uri_parse("nxp:0x0000000012", 16, &id), SSS_ERR_FORMAT);
    assert_int_equal(sss_refkey_uri_parse(NULL, 0, &id), SSS_ERR_FORMAT);
}

/* ---- NXP format ------------------------------------------------------------ */

static EVP_PKEY *read_priv_pem(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(pk);
    return pk;
}

static void roundtrip_nxp_ec(const char *curve, size_t flen, uint32_t id, uint8_t cls)
{
    EVP_PKEY *pk = gen_key(curve);
    uint8_t *spki;
    size_t slen = spki_of(pk, &spki);
    char *pem = NULL;
    size_t plen = 0;
    assert_int_equal(sss_refkey_nxp_encode_pem(id, cls, spki, slen, &pem, &plen), SSS_OK);
    assert_non_null(strstr(pem, "-----BEGIN EC PRIVATE KEY-----"));

    /* the private scalar has the documented layout; the public key is real */
    EVP_PKEY *ref = read_priv_pem(pem);
    BIGNUM *priv = NULL;
    assert_true(EVP_PKEY_get_bn_param(ref, OSSL_PKEY_PARAM_PRIV_KEY, &priv));
    uint8_t sc[80];
    assert_int_equal(BN_bn2binpad(priv, sc, (int)flen), (int)flen);
    uint8_t want[80] = {0};
    want[0] = 0x10;
    want[flen - 14] = (uint8_t)(id >> 24);
    want[flen - 13] = (uint8_t)(id >> 16);
    want[flen - 12] = (uint8_t)(id >> 8);
    want[flen - 11] = (uint8_t)id;
    const uint8_t magic[8] = {0xA5, 0xA6, 0xB5, 0xB6, 0xA5, 0xA6, 0xB5, 0xB6};
    memcpy(want + flen - 10, magic, 8);
    want[flen - 2] = cls;
    assert_memory_equal(sc, want, flen);
    uint8_t *rspki;
    size_t rlen = spki_of(ref, &rspki);
    assert_int_equal(rlen, slen);
    assert_memory_equal(rspki, spki, slen);

    sss_refkey r;
    assert_int_equal(sss_refkey_decode((const uint8_t *)pem, plen, &r), SSS_OK);
    assert_int_equal(r.format, SSS_REFKEY_NXP_EC);
    assert_int_equal(r.id, id);
    assert_int_equal(r.key_class, cls);
    assert_int_equal(r.spki_len, slen);
    assert_memory_equal(r.spki, spki, slen);
    sss_refkey_free(&r);

    /* the same key as DER decodes too */
    uint8_t *der = NULL;
    int dn = i2d_PrivateKey(ref, &der);
    assert_true(dn > 0);
    assert_int_equal(sss_refkey_decode(der, (size_t)dn, &r), SSS_OK);
    assert_int_equal(r.id, id);
    sss_refkey_free(&r);

    OPENSSL_free(der);
    OPENSSL_free(rspki);
    BN_free(priv);
    EVP_PKEY_free(ref);
    free(pem);
    OPENSSL_free(spki);
    EVP_PKEY_free(pk);
}

static void test_nxp_p256(void **s) { (void)s; roundtrip_nxp_ec("P-256", 32, 0xEF000010, 0x10); }
static void test_nxp_p384(void **s) { (void)s; roundtrip_nxp_ec("P-384", 48, 0x12345678, 0x10); }
static void test_nxp_p521(void **s) { (void)s; roundtrip_nxp_ec("P-521", 66, 0xEF0000FF, 0x20); }

static void test_nxp_rsa(void **s)
{
    (void)s;
    EVP_PKEY *pk = gen_key("RSA");
    uint8_t *spki;
    size_t slen = spki_of(pk, &spki);
    char *pem = NULL;
    size_t plen = 0;
    assert_int_equal(sss_refkey_nxp_encode_pem(0xEF000011, SSS_REFKEY_NXP_CLASS_PAIR, spki, slen,
                                               &pem, &plen),
                     SSS_OK);
    assert_non_null(strstr(pem, "-----BEGIN RSA PRIVATE KEY-----"));
    EVP_PKEY *ref = read_priv_pem(pem);
    BIGNUM *p = NULL, *q = NULL, *iqmp = NULL, *n0 = NULL, *n1 = NULL;
    assert_true(EVP_PKEY_get_bn_param(ref, OSSL_PKEY_PARAM_RSA_FACTOR1, &p));
    assert_true(EVP_PKEY_get_bn_param(ref, OSSL_PKEY_PARAM_RSA_FACTOR2, &q));
    assert_true(EVP_PKEY_get_bn_param(ref, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &iqmp));
    assert_true(BN_is_one(p));
    assert_true(BN_is_word(q, 0xEF000011));
    assert_true(BN_is_word(iqmp, 0xA5A6B5B6));
    assert_true(EVP_PKEY_get_bn_param(ref, OSSL_PKEY_PARAM_RSA_N, &n0));
    assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n1));
    assert_int_equal(BN_cmp(n0, n1), 0);

    sss_refkey r;
    assert_int_equal(sss_refkey_decode((const uint8_t *)pem, plen, &r), SSS_OK);
    assert_int_equal(r.format, SSS_REFKEY_NXP_RSA);
    assert_int_equal(r.id, 0xEF000011);
    assert_int_equal(r.spki_len, slen);
    assert_memory_equal(r.spki, spki, slen);
    sss_refkey_free(&r);

    BN_free(p);
    BN_free(q);
    BN_free(iqmp);
    BN_free(n0);
    BN_free(n1);
    EVP_PKEY_free(ref);
    free(pem);
    OPENSSL_free(spki);
    EVP_PKEY_free(pk);
}

static void test_nxp_unsupported(void **s)
{
    (void)s;
    EVP_PKEY *pk = gen_key("ED25519");
    uint8_t *spki;
    size_t slen = spki_of(pk, &spki);
    char *pem = NULL;
    size_t plen = 0;
    assert_int_equal(sss_refkey_nxp_encode_pem(1, SSS_REFKEY_NXP_CLASS_PAIR, spki, slen, &pem,
                                               &plen),
                     SSS_ERR_UNSUPPORTED);
    assert_null(pem);
    /* bad key class */
    assert_int_equal(sss_refkey_nxp_encode_pem(1, 0x30, spki, slen, &pem, &plen), SSS_ERR_ARG);
    OPENSSL_free(spki);
    EVP_PKEY_free(pk);
}

/* ---- malformed input ---------------------------------------------------- */

static void expect_bad(const void *in, size_t len)
{
    sss_refkey r;
    memset(&r, 0xAA, sizeof(r));
    assert_int_equal(sss_refkey_decode(in, len, &r), SSS_ERR_FORMAT);
    assert_null(r.spki);
    assert_int_equal(r.id, 0);
}

static void test_reject_garbage(void **s)
{
    (void)s;
    expect_bad("", 0);
    expect_bad(NULL, 10);
    expect_bad("hello world", 11);
    const uint8_t seq[] = {0x30, 0x00};
    expect_bad(seq, sizeof(seq));
    const char *badpem = "-----BEGIN SE05X KEY REFERENCE-----\n!!!!notbase64\n"
                         "-----END SE05X KEY REFERENCE-----\n";
    expect_bad(badpem, strlen(badpem));
    const char *nopem = "-----BEGIN SE05X KEY REFERENCE-----\nMAA=\n";
    expect_bad(nopem, strlen(nopem));
}

static void test_reject_bad_der(void **s)
{
    (void)s;
    EVP_PKEY *pk = gen_key("P-256");
    uint8_t *spki;
    size_t slen = spki_of(pk, &spki);
    uint8_t der[4096];
    size_t n;

    n = build_der(der, 1, "se05x:0xEF000001", spki, slen);
    sss_refkey r;
    assert_int_equal(sss_refkey_decode(der, n, &r), SSS_OK); /* control */
    sss_refkey_free(&r);
    expect_bad(der, n - 1);       /* truncated */
    der[n] = 0x00;
    expect_bad(der, n + 1);       /* trailing byte */

    n = build_der(der, 2, "se05x:0xEF000001", spki, slen);
    expect_bad(der, n);           /* version 2 */
    n = build_der(der, 1, "nxp:0xEF000001", spki, slen);
    expect_bad(der, n);           /* wrong scheme */
    n = build_der(der, 1, "se05x:0xEF00001", spki, slen);
    expect_bad(der, n);           /* 7 digits */
    n = build_der(der, 1, "se05x:0xEF00000Z", spki, slen);
    expect_bad(der, n);           /* not hex */

    /* a corrupted public key point inside the SubjectPublicKeyInfo */
    uint8_t bad[512];
    memcpy(bad, spki, slen);
    bad[slen - 1] ^= 0xFF;
    bad[slen - 10] ^= 0x55;
    n = build_der(der, 1, "se05x:0xEF000001", bad, slen);
    expect_bad(der, n);

    /* the PEM wrapper under an unknown label */
    char *pem = NULL;
    size_t plen = 0;
    assert_int_equal(sss_refkey_encode_pem(1, spki, slen, &pem, &plen), SSS_OK);
    char *lbl = strstr(pem, "SE05X KEY");
    memcpy(lbl, "SE06X", 5);
    lbl = strstr(lbl + 5, "SE05X KEY");
    memcpy(lbl, "SE06X", 5);
    expect_bad(pem, plen);
    free(pem);

    OPENSSL_free(spki);
    EVP_PKEY_free(pk);
}

static void test_reject_plain_private_keys(void **s)
{
    (void)s;
    const char *kinds[] = {"P-256", "RSA"};
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *pk = gen_key(kinds[i]);
        BIO *b = BIO_new(BIO_s_mem());
        assert_true(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL));
        char *data;
        long n = BIO_get_mem_data(b, &data);
        expect_bad(data, (size_t)n); /* a real private key is not a reference */
        BIO_free(b);
        uint8_t *der = NULL;
        int dn = i2d_PrivateKey(pk, &der);
        expect_bad(der, (size_t)dn);
        OPENSSL_free(der);
        EVP_PKEY_free(pk);
    }
}

static void test_reject_bad_encode_input(void **s)
{
    (void)s;
    EVP_PKEY *pk = gen_key("P-256");
    uint8_t *spki;
    size_t slen = spki_of(pk, &spki);
    uint8_t buf[512];
    memcpy(buf, spki, slen);
    buf[slen] = 0x00;
    uint8_t *der = NULL;
    size_t dlen = 0;
    char *pem = NULL;
    size_t plen = 0;
    assert_int_equal(sss_refkey_encode_der(1, buf, slen + 1, &der, &dlen), SSS_ERR_FORMAT);
    assert_int_equal(sss_refkey_encode_der(1, buf, slen - 3, &der, &dlen), SSS_ERR_FORMAT);
    assert_int_equal(sss_refkey_encode_der(1, NULL, 0, &der, &dlen), SSS_ERR_FORMAT);
    assert_int_equal(sss_refkey_encode_pem(1, (const uint8_t *)"xyz", 3, &pem, &plen),
                     SSS_ERR_FORMAT);
    assert_int_equal(sss_refkey_nxp_encode_pem(1, 0x10, buf, slen + 1, &pem, &plen),
                     SSS_ERR_FORMAT);
    assert_null(der);
    assert_null(pem);
    OPENSSL_free(spki);
    EVP_PKEY_free(pk);
}

/* An NXP EC key whose magic or padding is damaged is refused. */
static void test_reject_bad_nxp_magic(void **s)
{
    (void)s;
    EVP_PKEY *pk = gen_key("P-256");
    uint8_t *spki;
    size_t slen = spki_of(pk, &spki);
    char *pem = NULL;
    size_t plen = 0;
    assert_int_equal(sss_refkey_nxp_encode_pem(0xEF000001, 0x10, spki, slen, &pem, &plen), SSS_OK);
    EVP_PKEY *ref = read_priv_pem(pem);
    uint8_t *der = NULL;
    int dn = i2d_PrivateKey(ref, &der); /* traditional ECPrivateKey */
    assert_true(dn > 0);
    /* the private OCTET STRING follows 30 len 02 01 01 04 20 */
    uint8_t *priv = NULL;
    for (int i = 0; i + 2 < dn; i++)
        if (der[i] == 0x04 && der[i + 1] == 0x20 && der[i + 2] == 0x10) {
            priv = der + i + 2;
            break;
        }
    assert_non_null(priv);
    sss_refkey r;
    const size_t pos[] = {32 - 4 /* magic */, 5 /* padding */, 32 - 1 /* last byte */};
    for (size_t i = 0; i < 3; i++) {
        priv[pos[i]] ^= 0x01;
        expect_bad(der, (size_t)dn);
        priv[pos[i]] ^= 0x01;
    }
    priv[30] = 0x30; /* unknown key class */
    expect_bad(der, (size_t)dn);
    priv[30] = 0x10;
    assert_int_equal(sss_refkey_decode(der, (size_t)dn, &r), SSS_OK);
    assert_int_equal(r.id, 0xEF000001);
    sss_refkey_free(&r);
    OPENSSL_free(der);
    EVP_PKEY_free(ref);
    free(pem);
    OPENSSL_free(spki);
    EVP_PKEY_free(pk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ours_p256),
        cmocka_unit_test(test_ours_p384),
        cmocka_unit_test(test_ours_p521),
        cmocka_unit_test(test_ours_ed25519),
        cmocka_unit_test(test_ours_rsa),
        cmocka_unit_test(test_uri),
        cmocka_unit_test(test_nxp_p256),
        cmocka_unit_test(test_nxp_p384),
        cmocka_unit_test(test_nxp_p521),
        cmocka_unit_test(test_nxp_rsa),
        cmocka_unit_test(test_nxp_unsupported),
        cmocka_unit_test(test_reject_garbage),
        cmocka_unit_test(test_reject_bad_der),
        cmocka_unit_test(test_reject_plain_private_keys),
        cmocka_unit_test(test_reject_bad_encode_input),
        cmocka_unit_test(test_reject_bad_nxp_magic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
