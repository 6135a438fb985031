/* Unit tests of the simulator's key conversions (keys.c) and signature
 * handlers (cmd_crypto.c): ECDSA on P-256/384/521, EdDSA with reversed
 * halves, RSA PKCS#1 v1.5 and PSS, each checked against libcrypto, plus
 * policy denial and the 6A80 / 6985 answers to bad inputs. */
#include "test_simcrypto_util.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#define KID 0x00001001u

/* One card and one RSA-2048 key for the whole file (key generation is slow). */
static EVP_PKEY *g_rsa;
static tfx *g_fx;

static void sign_cmd(tfx *f, uint32_t id, uint8_t algo, const uint8_t *d, size_t dl)
{
    se05x_tlvw *w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, id);
    se05x_tlvw_u8(w, SE05X_TAG_2, algo);
    se05x_tlvw_bytes(w, SE05X_TAG_3, d, dl);
}

static void verify_cmd(tfx *f, uint32_t id, uint8_t algo, const uint8_t *d, size_t dl,
                       const uint8_t *sig, size_t sl)
{
    sign_cmd(f, id, algo, d, dl);
    se05x_tlvw_bytes(&f->w, SE05X_TAG_5, sig, sl);
}

/* ---- keys.c ----------------------------------------------------------------- */

static void roundtrip(EVP_PKEY *k, uint8_t type)
{
    sesim_obj o;
    sesim_obj_init(&o);
    o.type = type;
    assert_int_equal(sesim_obj_from_pkey(&o, k), SE05X_OK);
    EVP_PKEY *back = sesim_obj_to_pkey(&o);
    assert_non_null(back);
    assert_int_equal(EVP_PKEY_eq(k, back), 1);
    EVP_PKEY_free(back);
    sesim_obj_free(&o);
}

static void test_keys_roundtrip(void **state)
{
    (void)state;
    const char *curves[] = {"P-256", "P-384", "P-521", "brainpoolP256r1", "secp256k1"};
    for (size_t i = 0; i < 5; i++) {
        EVP_PKEY *k = tfx_ec(curves[i]);
        assert_non_null(k);
        roundtrip(k, 0);
        roundtrip(k, SESIM_T_EC_PRIV); /* public point recomputed from the scalar */
        EVP_PKEY_free(k);
    }
    const char *raw[] = {"ED25519", "X25519", "X448"};
    for (size_t i = 0; i < 3; i++) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, raw[i]);
        assert_non_null(k);
        roundtrip(k, 0);
        EVP_PKEY_free(k);
    }
    roundtrip(g_rsa, 0);
    roundtrip(g_rsa, SESIM_T_RSA_PAIR);
    roundtrip(g_rsa, SESIM_T_RSA_PRIV_CRT); /* N, E, D rebuilt from the factors */
}

static void test_keys_formats(void **state)
{
    (void)state;
    uint8_t id = 0;
    assert_string_equal(se05x_curve_ossl_name(0x03), "prime256v1");
    assert_int_equal(se05x_curve_field_len(0x05), 66);
    assert_int_equal(se05x_curve_field_len(0x43), 56);
    assert_int_equal(se05x_curve_from_name("P-384", &id), SE05X_OK);
    assert_int_equal(id, 0x04);
    assert_int_equal(se05x_curve_from_name("secp256r1", &id), SE05X_OK);
    assert_int_equal(id, 0x03);
    assert_int_equal(se05x_curve_from_name("X25519", &id), SE05X_OK);
    assert_int_equal(id, 0x41);
    assert_int_equal(se05x_curve_from_name("nonsense", &id), SE05X_ERR_NOT_FOUND);
    assert_null(se05x_curve_ossl_name(0x11));
    assert_string_equal(se05x_curve_info_get(0x40)->ossl, "ED25519");

    /* P-521: scalar of field length, public 04||X||Y */
    EVP_PKEY *k = tfx_ec("P-521");
    sesim_obj o;
    sesim_obj_init(&o);
    assert_int_equal(sesim_obj_from_pkey(&o, k), SE05X_OK);
    assert_int_equal(o.type, SESIM_T_EC_PAIR);
    assert_int_equal(o.curve, 0x05);
    assert_int_equal(o.comp[SESIM_C_PRIV].len, 66);
    assert_int_equal(o.comp[SESIM_C_PUB].len, 133);
    assert_int_equal(o.comp[SESIM_C_PUB].v[0], 0x04);
    sesim_obj_free(&o);
    EVP_PKEY_free(k);

    /* Ed25519: seed unchanged, public reversed */
    k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    uint8_t seed[32], pub[32];
    size_t l = 32;
    assert_int_equal(EVP_PKEY_get_raw_private_key(k, seed, &l), 1);
    l = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &l), 1);
    sesim_obj_init(&o);
    assert_int_equal(sesim_obj_from_pkey(&o, k), SE05X_OK);
    assert_memory_equal(o.comp[SESIM_C_PRIV].v, seed, 32);
    for (int i = 0; i < 32; i++)
        assert_int_equal(o.comp[SESIM_C_PUB].v[i], pub[31 - i]);
    sesim_obj_free(&o);
    EVP_PKEY_free(k);

    /* X25519: private reversed too */
    k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    l = 32;
    assert_int_equal(EVP_PKEY_get_raw_private_key(k, seed, &l), 1);
    sesim_obj_init(&o);
    assert_int_equal(sesim_obj_from_pkey(&o, k), SE05X_OK);
    for (int i = 0; i < 32; i++)
        assert_int_equal(o.comp[SESIM_C_PRIV].v[i], seed[31 - i]);
    sesim_obj_free(&o);
    EVP_PKEY_free(k);

    /* mismatching curve and malformed public key */
    k = tfx_ec("P-256");
    sesim_obj_init(&o);
    o.curve = 0x04;
    assert_int_equal(sesim_obj_from_pkey(&o, k), SE05X_ERR_ARG);
    sesim_obj_free(&o);
    sesim_obj_init(&o);
    o.type = SESIM_T_EC_PUB;
    o.curve = 0x03;
    uint8_t bad[65] = {0x04, 1, 2, 3};
    sesim_obj_set_comp(&o, SESIM_C_PUB, bad, sizeof(bad));
    assert_null(sesim_obj_to_pkey(&o));
    sesim_obj_free(&o);
    EVP_PKEY_free(k);
}

/* ---- ECDSA ---------------------------------------------------------------------- */

static void ecdsa_case(tfx *f, const char *curve, uint8_t algo, const char *md)
{
    EVP_PKEY *k = tfx_ec(curve);
    assert_non_null(k);
    tfx_put_pkey(f, KID, k, 0, 0);
    uint8_t dg[64];
    unsigned int dl = 0;
    assert_int_equal(EVP_Digest("hello", 5, dg, &dl, EVP_get_digestbyname(md), NULL), 1);

    sign_cmd(f, KID, algo, dg, dl);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x9000);
    size_t sl;
    const uint8_t *sig = tfx_single(f, SE05X_TAG_1, &sl);
    uint8_t sigcopy[160];
    memcpy(sigcopy, sig, sl);

    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    assert_int_equal(EVP_PKEY_verify_init(c), 1);
    assert_int_equal(EVP_PKEY_verify(c, sigcopy, sl, dg, dl), 1);
    EVP_PKEY_CTX_free(c);

    /* and the card verifies it; a different digest fails with result 02 */
    verify_cmd(f, KID, algo, dg, dl, sigcopy, sl);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x9000);
    assert_int_equal(tfx_result(f), 0x01);
    dg[0] ^= 1;
    verify_cmd(f, KID, algo, dg, dl, sigcopy, sl);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x9000);
    assert_int_equal(tfx_result(f), 0x02);
    EVP_PKEY_free(k);
}

static void test_ecdsa_curves(void **state)
{
    (void)state;
    ecdsa_case(g_fx, "P-256", 0x21, "SHA256");
    ecdsa_case(g_fx, "P-384", 0x22, "SHA384");
    ecdsa_case(g_fx, "P-521", 0x26, "SHA512");
    ecdsa_case(g_fx, "P-256", 0x11, "SHA1");
}

static void test_ecdsa_policy_denied(void **state)
{
    tfx *f = g_fx;
    (void)state;
    EVP_PKEY *k = tfx_ec("P-256");
    tfx_put_pkey(f, KID, k, 0, SESIM_AR_VERIFY | SESIM_AR_READ);
    uint8_t dg[32] = {1};
    sign_cmd(f, KID, 0x21, dg, 32);
    uint16_t sw = tfx_call(f, 0x03, 0x0C, 0x09);
    /* whatever the policy module says is what the handler answers */
    sesim_obj o;
    sesim_obj_init(&o);
    assert_int_equal(sesim_store_load(f->s, KID, &o), SE05X_OK);
    se05x_tlvw dummy;
    sesim_req r = {.ch = f->ch, .sim = f->s, .apdu = &f->apdu, .tlv = &f->set, .out = &dummy};
    assert_int_equal(sw, sesim_policy_check(&r, &o, SESIM_AR_SIGN));
    assert_int_equal(sw, 0x6986);
    sesim_obj_free(&o);
    EVP_PKEY_free(k);
}

static void test_ecdsa_bad_inputs(void **state)
{
    tfx *f = g_fx;
    (void)state;
    EVP_PKEY *k = tfx_ec("P-256");
    tfx_put_pkey(f, KID, k, 0, 0);
    uint8_t dg[33] = {0};

    sign_cmd(f, KID, 0x21, dg, 31); /* digest shorter than SHA-256 */
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6A80);
    sign_cmd(f, KID, 0x21, dg, 33);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6A80);
    sign_cmd(f, KID, 0x77, dg, 32); /* unknown algorithm */
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6A80);
    sign_cmd(f, 0x0BADBEEF, 0x21, dg, 32); /* no such object */
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6985);
    sign_cmd(f, KID, 0x28, dg, 32); /* RSA algorithm on an EC key */
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6985);
    tfx_begin(f); /* TAG_2 missing */
    se05x_tlvw_u32(&f->w, SE05X_TAG_1, KID);
    se05x_tlvw_bytes(&f->w, SE05X_TAG_3, dg, 32);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6A80);

    /* malformed DER signatures */
    const uint8_t notder[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01};
    verify_cmd(f, KID, 0x21, dg, 32, notder, sizeof(notder));
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x6A80);
    const uint8_t trailing[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00};
    verify_cmd(f, KID, 0x21, dg, 32, trailing, sizeof(trailing));
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x6A80);
    const uint8_t nonminimal[] = {0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01};
    verify_cmd(f, KID, 0x21, dg, 32, nonminimal, sizeof(nonminimal));
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x6A80);
    /* well-formed but wrong signature: result 02 */
    const uint8_t wrong[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
    verify_cmd(f, KID, 0x21, dg, 32, wrong, sizeof(wrong));
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x9000);
    assert_int_equal(tfx_result(f), 0x02);

    /* public-only key cannot sign; a symmetric key is no ECDSA key */
    tfx_put_pkey(f, KID + 1, k, SESIM_T_EC_PUB, 0);
    sign_cmd(f, KID + 1, 0x21, dg, 32);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6985);
    uint8_t aes[16] = {0};
    tfx_put_value(f, KID + 2, SESIM_T_AES, aes, 16);
    sign_cmd(f, KID + 2, 0x21, dg, 32);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6985);
    /* an X25519 key cannot sign */
    EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    tfx_put_pkey(f, KID + 3, x, 0, 0);
    sign_cmd(f, KID + 3, 0x21, dg, 32);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6985);
    sign_cmd(f, KID + 3, 0xA3, dg, 32);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6985);
    EVP_PKEY_free(x);
    EVP_PKEY_free(k);
}

/* ---- EdDSA ----------------------------------------------------------------------- */

static void rev32(uint8_t *p)
{
    for (int i = 0; i < 16; i++) {
        uint8_t t = p[i];
        p[i] = p[31 - i];
        p[31 - i] = t;
    }
}

static void test_eddsa(void **state)
{
    tfx *f = g_fx;
    (void)state;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    tfx_put_pkey(f, KID, k, 0, 0);
    const uint8_t msg[] = "message signed by the card";

    sign_cmd(f, KID, 0xA3, msg, sizeof(msg));
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x9000);
    size_t sl;
    const uint8_t *s = tfx_single(f, SE05X_TAG_1, &sl);
    assert_int_equal(sl, 64);
    uint8_t sig[64];
    memcpy(sig, s, 64);
    rev32(sig);
    rev32(sig + 32);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(m, NULL, NULL, NULL, k), 1);
    assert_int_equal(EVP_DigestVerify(m, sig, 64, msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(m);

    /* libcrypto signature, halves reversed, verified by the card */
    size_t l = 64;
    m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(m, NULL, NULL, NULL, k), 1);
    assert_int_equal(EVP_DigestSign(m, sig, &l, msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(m);
    rev32(sig);
    rev32(sig + 32);
    verify_cmd(f, KID, 0xA3, msg, sizeof(msg), sig, 64);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x9000);
    assert_int_equal(tfx_result(f), 0x01);
    /* not reversed: fails */
    rev32(sig);
    verify_cmd(f, KID, 0xA3, msg, sizeof(msg), sig, 64);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x9000);
    assert_int_equal(tfx_result(f), 0x02);
    /* bad length */
    verify_cmd(f, KID, 0xA3, msg, sizeof(msg), sig, 63);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x6A80);
    /* ECDSA algorithm on an Ed25519 key */
    uint8_t dg[32] = {0};
    sign_cmd(f, KID, 0x21, dg, 32);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6985);
    EVP_PKEY_free(k);
}

/* ---- RSA ---------------------------------------------------------------------------- */

static void rsa_check(EVP_PKEY *k, const char *md, bool pss, int salt, const uint8_t *msg,
                      size_t ml, const uint8_t *sig, size_t sl)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    assert_int_equal(EVP_DigestVerifyInit_ex(m, &pc, md, NULL, NULL, k, NULL), 1);
    if (pss) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, salt), 1);
    }
    assert_int_equal(EVP_DigestVerify(m, sig, sl, msg, ml), 1);
    EVP_MD_CTX_free(m);
}

static void test_rsa_sign(void **state)
{
    tfx *f = g_fx;
    (void)state;
    tfx_put_pkey(f, KID, g_rsa, 0, 0);
    const uint8_t msg[] = "the SE hashes this message";
    struct {
        uint8_t algo;
        const char *md;
        bool pss;
        int salt; /* -1: TAG_4 absent (digest length) */
    } cases[] = {
        {0x28, "SHA256", false, -1}, {0x0A, "SHA1", false, -1}, {0x2A, "SHA512", false, -1},
        {0x2C, "SHA256", true, -1},  {0x2C, "SHA256", true, 20}, {0x2E, "SHA512", true, -1},
        {0x15, "SHA1", true, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sign_cmd(f, KID, cases[i].algo, msg, sizeof(msg));
        uint8_t zero[64] = {0};
        if (cases[i].salt >= 0)
            se05x_tlvw_bytes(&f->w, SE05X_TAG_4, zero, (size_t)cases[i].salt);
        assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x9000);
        size_t sl;
        const uint8_t *s = tfx_single(f, SE05X_TAG_1, &sl);
        assert_int_equal(sl, 256);
        uint8_t sig[256];
        memcpy(sig, s, 256);
        int salt = cases[i].salt >= 0 ? cases[i].salt
                                      : EVP_MD_get_size(EVP_get_digestbyname(cases[i].md));
        rsa_check(g_rsa, cases[i].md, cases[i].pss, salt, msg, sizeof(msg), sig, 256);

        verify_cmd(f, KID, cases[i].algo, msg, sizeof(msg), sig, 256);
        if (cases[i].salt >= 0) { /* TAG_4 must precede TAG_5 */
            tfx_begin(f);
            se05x_tlvw_u32(&f->w, SE05X_TAG_1, KID);
            se05x_tlvw_u8(&f->w, SE05X_TAG_2, cases[i].algo);
            se05x_tlvw_bytes(&f->w, SE05X_TAG_3, msg, sizeof(msg));
            se05x_tlvw_bytes(&f->w, SE05X_TAG_4, zero, (size_t)cases[i].salt);
            se05x_tlvw_bytes(&f->w, SE05X_TAG_5, sig, 256);
        }
        assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x9000);
        assert_int_equal(tfx_result(f), 0x01);
    }
    /* verify: wrong message -> 02, truncated signature -> 6A80 */
    uint8_t sig[256] = {0};
    verify_cmd(f, KID, 0x28, msg, 3, sig, 256);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x9000);
    assert_int_equal(tfx_result(f), 0x02);
    verify_cmd(f, KID, 0x28, msg, 3, sig, 255);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x0A), 0x6A80);
    /* salt too long for the modulus */
    sign_cmd(f, KID, 0x2E, msg, sizeof(msg));
    uint8_t big[200] = {0};
    se05x_tlvw_bytes(&f->w, SE05X_TAG_4, big, sizeof(big));
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6A80);
    /* ECDSA algorithm on RSA key; public-only RSA cannot sign */
    uint8_t dg[32] = {0};
    sign_cmd(f, KID, 0x21, dg, 32);
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6985);
    tfx_put_pkey(f, KID + 1, g_rsa, SESIM_T_RSA_PUB, 0);
    sign_cmd(f, KID + 1, 0x28, msg, sizeof(msg));
    assert_int_equal(tfx_call(f, 0x03, 0x0C, 0x09), 0x6985);
}

static int group_setup(void **state)
{
    (void)state;
    g_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    g_fx = tfx_open();
    return g_rsa && g_fx ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(g_rsa);
    tfx_close(g_fx);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_roundtrip),
        cmocka_unit_test(test_keys_formats),
        cmocka_unit_test(test_ecdsa_curves),
        cmocka_unit_test(test_ecdsa_policy_denied),
        cmocka_unit_test(test_ecdsa_bad_inputs),
        cmocka_unit_test(test_eddsa),
        cmocka_unit_test(test_rsa_sign),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
