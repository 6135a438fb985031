/* Unit tests of rtp-make's key objects (rtp/common/rtp_make.c) and of the
 * shared key conversions of hostlib (se05x_curve_raw_order for the 25519/448
 * byte order, se05x_ec_values_from_pkey, se05x_rsa_values_from_pkey): the APDUs
 * recorded for Ed25519 / X25519 key pairs carry the SE's byte order (seed
 * unchanged, Ed25519 public and X25519 values reversed) and, replayed into
 * the in-process simulator, give a key that signs (verified by OpenSSL) or
 * derives OpenSSL's X25519 secret; public-only objects (Ed25519, P-256,
 * RSA) read back equal; a policy parsed by sss_policy_parse_text is encoded
 * as TAG_POLICY and a key without "sign" is refused with SW 6986; key
 * types, curves and sizes rtp-make cannot store and key files of the wrong
 * kind (missing, empty, no PEM, certificate, public/private swapped,
 * encrypted) are refused with errors that say why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "rtp.h"
#include "se05x/commands.h"
#include "se05x/record.h"
#include "sss/spec.h"
#include "testutil.h"

typedef struct {
    char *dir;
    se05x_conn *se;  /* in-process simulator */
    se05x_conn *rec; /* recording connection */
    se05x_recorder *r;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tu_tempdir("rtp-make");
    char cs[600];
    snprintf(cs, sizeof(cs), "sim:%s/sim", f->dir);
    assert_int_equal(se05x_conn_open(cs, NULL, &f->se), SE05X_OK);
    assert_int_equal(se05x_recorder_open(7, 2, &f->rec, &f->r), SE05X_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    se05x_conn_close(f->rec);
    se05x_conn_close(f->se);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Send every recorded APDU to the simulator; each must answer 9000. */
static void replay(fx *f)
{
    for (size_t i = 0; i < se05x_recorder_count(f->r); i++) {
        size_t len = 0, rl = 0;
        const uint8_t *a = se05x_recorder_get(f->r, i, &len);
        uint8_t rsp[300];
        assert_int_equal(se05x_conn_raw(f->se, a, len, rsp, sizeof(rsp), &rl), SE05X_OK);
        assert_true(rl >= 2);
        assert_int_equal(rsp[rl - 2] << 8 | rsp[rl - 1], 0x9000);
    }
    se05x_recorder_clear(f->r);
}

/* The value of the first TLV with tag t (1-byte length) in APDU i. */
static const uint8_t *tlv_in(fx *f, size_t i, uint8_t t, size_t *vlen)
{
    size_t len = 0;
    const uint8_t *a = se05x_recorder_get(f->r, i, &len);
    assert_non_null(a);
    for (size_t p = 5; p + 2 <= len;) { /* short APDU: header 4 + Lc */
        size_t l = a[p + 1];
        if (a[p] == t) {
            *vlen = l;
            return a + p + 2;
        }
        p += 2 + l;
    }
    return NULL;
}

static void reversed(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(a[i], b[n - 1 - i]);
}

static EVP_PKEY *pub_only(EVP_PKEY *k)
{
    uint8_t *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    assert_true(n > 0);
    const uint8_t *p = der;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, n);
    OPENSSL_free(der);
    assert_non_null(pk);
    return pk;
}

/* ---- byte order ------------------------------------------------------------ */

static void test_raw_order(void **state)
{
    (void)state;
    uint8_t in[56], b[56];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i + 1);
    const struct { uint8_t curve; bool priv, rev; size_t n; } cases[] = {
        {SE05X_CURVE_X25519, true, true, 32},      {SE05X_CURVE_X25519, false, true, 32},
        {SE05X_CURVE_ED25519, false, true, 32},    {SE05X_CURVE_ED25519, true, false, 32},
        {SE05X_CURVE_X448, true, true, 56},        {SE05X_CURVE_NIST_P256, false, false, 32},
        {SE05X_CURVE_NIST_P256, true, false, 32},  {0x7E, false, false, 32},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        memcpy(b, in, sizeof(b));
        se05x_curve_raw_order(cases[c].curve, cases[c].priv, b, cases[c].n);
        if (cases[c].rev)
            reversed(b, in, cases[c].n);
        else
            assert_memory_equal(b, in, cases[c].n);
        se05x_curve_raw_order(cases[c].curve, cases[c].priv, b, cases[c].n); /* involution */
        assert_memory_equal(b, in, sizeof(in));
    }
    se05x_curve_raw_order(SE05X_CURVE_X25519, false, NULL, 32); /* no crash */
}

/* hostlib's key values (se05x_ec_values_from_pkey / se05x_rsa_values_from_pkey) */
static void test_key_values(void **state)
{
    (void)state;
    se05x_ec_values v;
    EVP_PKEY *x448 = EVP_PKEY_Q_keygen(NULL, NULL, "X448");
    uint8_t raw[56];
    size_t rl = sizeof(raw);
    assert_int_equal(se05x_ec_values_from_pkey(x448, true, &v), SE05X_OK);
    assert_int_equal(v.curve, SE05X_CURVE_X448);
    assert_int_equal(v.priv_len, 56);
    assert_int_equal(v.pub_len, 56);
    assert_true(EVP_PKEY_get_raw_private_key(x448, raw, &rl));
    reversed(v.priv, raw, 56);
    OPENSSL_cleanse(&v, sizeof(v));

    EVP_PKEY *p521 = EVP_EC_gen("P-521"), *p521p = pub_only(p521);
    BIGNUM *dbn = NULL;
    uint8_t dwant[66];
    assert_int_equal(se05x_ec_values_from_pkey(p521, true, &v), SE05X_OK);
    assert_int_equal(v.curve, SE05X_CURVE_NIST_P521);
    assert_int_equal(v.priv_len, 66); /* padded to the field length */
    assert_int_equal(v.pub_len, 133);
    assert_int_equal(v.pub[0], 0x04);
    assert_true(EVP_PKEY_get_bn_param(p521, OSSL_PKEY_PARAM_PRIV_KEY, &dbn));
    assert_int_equal(BN_bn2binpad(dbn, dwant, 66), 66);
    BN_clear_free(dbn);
    assert_memory_equal(v.priv, dwant, 66);
    assert_int_equal(se05x_ec_values_from_pkey(p521p, false, &v), SE05X_OK);
    assert_int_equal(v.priv_len, 0);
    assert_int_equal(se05x_ec_values_from_pkey(p521p, true, &v), SE05X_ERR_CRYPTO);
    EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    assert_int_equal(se05x_ec_values_from_pkey(ed448, true, &v), SE05X_ERR_UNSUPPORTED);
    assert_int_equal(se05x_ec_values_from_pkey(NULL, true, &v), SE05X_ERR_ARG);

    se05x_rsa_values rv;
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024), *rsap = pub_only(rsa);
    assert_int_equal(se05x_ec_values_from_pkey(rsa, true, &v), SE05X_ERR_UNSUPPORTED);
    assert_int_equal(se05x_rsa_values_from_pkey(rsa, true, &rv), SE05X_OK);
    assert_int_equal(rv.bits, 1024);
    assert_int_equal(rv.c.n_len, 128);
    assert_int_equal(rv.c.p_len, 64);
    assert_non_null(rv.c.qinv);
    se05x_rsa_values_free(&rv);
    assert_null(rv.mem);
    assert_int_equal(se05x_rsa_values_from_pkey(rsap, false, &rv), SE05X_OK);
    assert_null(rv.c.p);
    se05x_rsa_values_free(&rv);
    assert_int_equal(se05x_rsa_values_from_pkey(rsap, true, &rv), SE05X_ERR_CRYPTO);
    assert_null(rv.mem);
    assert_int_equal(se05x_rsa_values_from_pkey(x448, false, &rv), SE05X_ERR_UNSUPPORTED);
    EVP_PKEY_free(x448);
    EVP_PKEY_free(p521);
    EVP_PKEY_free(p521p);
    EVP_PKEY_free(ed448);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsap);
}

/* ---- Ed25519 / X25519 key pairs -------------------------------------------- */

static void test_ed25519_pair_signs(void **state)
{
    fx *f = *state;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k);
    rtp_key_desc d;
    char err[256];
    assert_int_equal(rtp_make_key(f->rec, NULL, k, 0x83000020, true, &d, err, sizeof(err)),
                     SE05X_OK);
    assert_string_equal(d.type, "KEYPAIR");
    assert_string_equal(d.algorithm, "ED_25519");
    assert_int_equal(d.bits, 256);
    assert_int_equal(se05x_recorder_count(f->r), 1);
    uint8_t seed[32], pub[32];
    size_t sl = 32, pl = 32, vl = 0;
    assert_true(EVP_PKEY_get_raw_private_key(k, seed, &sl));
    assert_true(EVP_PKEY_get_raw_public_key(k, pub, &pl));
    const uint8_t *v = tlv_in(f, 0, 0x42, &vl);
    assert_non_null(v);
    assert_int_equal(vl, 1);
    assert_int_equal(v[0], SE05X_CURVE_ED25519);
    assert_non_null(v = tlv_in(f, 0, 0x43, &vl));
    assert_int_equal(vl, 32);
    assert_memory_equal(v, seed, 32); /* seed unchanged */
    assert_non_null(v = tlv_in(f, 0, 0x44, &vl));
    assert_int_equal(vl, 32);
    reversed(v, pub, 32); /* public reversed */
    assert_null(tlv_in(f, 0, 0x11, &vl)); /* no policy */
    replay(f);

    const uint8_t msg[] = "provisioned offline";
    uint8_t sig[64];
    assert_int_equal(se05x_eddsa_sign(f->se, 0x83000020, msg, sizeof(msg), sig), SE05X_OK);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(m, NULL, NULL, NULL, k), 1);
    assert_int_equal(EVP_DigestVerify(m, sig, sizeof(sig), msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(m);
    OPENSSL_cleanse(seed, sizeof(seed));
    EVP_PKEY_free(k);
}

static void test_x25519_pair_derives(void **state)
{
    fx *f = *state;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    rtp_key_desc d;
    char err[256];
    assert_int_equal(rtp_make_key(f->rec, NULL, k, 0x83000021, true, &d, err, sizeof(err)),
                     SE05X_OK);
    assert_string_equal(d.algorithm, "MONT_DH_25519");
    uint8_t priv[32], pub[32];
    size_t kl = 32, pl = 32, vl = 0;
    assert_true(EVP_PKEY_get_raw_private_key(k, priv, &kl));
    assert_true(EVP_PKEY_get_raw_public_key(k, pub, &pl));
    const uint8_t *v = tlv_in(f, 0, 0x43, &vl);
    assert_non_null(v);
    reversed(v, priv, 32); /* X25519: both reversed */
    assert_non_null(v = tlv_in(f, 0, 0x44, &vl));
    reversed(v, pub, 32);
    assert_int_equal(se05x_ec_curve_ensure(f->se, SE05X_CURVE_X25519), SE05X_OK);
    replay(f);

    uint8_t peer_pub[32], se_secret[32], ossl_secret[32];
    size_t ppl = 32, sl = sizeof(se_secret), ol = sizeof(ossl_secret);
    assert_true(EVP_PKEY_get_raw_public_key(peer, peer_pub, &ppl));
    se05x_curve_raw_order(SE05X_CURVE_X25519, false, peer_pub, 32);
    assert_int_equal(se05x_ecdh(f->se, 0x83000021, peer_pub, 32, se_secret, &sl), SE05X_OK);
    assert_int_equal(sl, 32);
    se05x_curve_raw_order(SE05X_CURVE_X25519, false, se_secret, sl);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(peer, NULL);
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, k), 1);
    assert_int_equal(EVP_PKEY_derive(c, ossl_secret, &ol), 1);
    EVP_PKEY_CTX_free(c);
    assert_memory_equal(se_secret, ossl_secret, 32);
    OPENSSL_cleanse(priv, sizeof(priv));
    EVP_PKEY_free(k);
    EVP_PKEY_free(peer);
}

/* ---- public-only objects ------------------------------------------------------ */

static void test_public_only(void **state)
{
    fx *f = *state;
    rtp_key_desc d;
    char err[256];
    uint8_t back[600];
    size_t bl = sizeof(back);

    /* Ed25519 */
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), *edp = pub_only(ed);
    assert_int_equal(rtp_make_key(f->rec, NULL, edp, 0x83000030, false, &d, err, sizeof(err)),
                     SE05X_OK);
    assert_string_equal(d.type, "STATIC_PUBLIC_KEY");
    size_t len = 0;
    const uint8_t *a = se05x_recorder_get(f->r, 0, &len);
    assert_int_equal(a[2], SE05X_KEY_PUBLIC | 0x01); /* P1: public part, EC */
    size_t vl = 0;
    assert_null(tlv_in(f, 0, 0x43, &vl)); /* no private key */
    replay(f);
    uint8_t pub[32];
    size_t pl = 32;
    assert_true(EVP_PKEY_get_raw_public_key(ed, pub, &pl));
    assert_int_equal(se05x_read_object(f->se, 0x83000030, 0, 0, back, &bl), SE05X_OK);
    assert_int_equal(bl, 32);
    reversed(back, pub, 32);

    /* P-256: 04 || X || Y */
    EVP_PKEY *ec = EVP_EC_gen("P-256"), *ecp = pub_only(ec);
    assert_int_equal(rtp_make_key(f->rec, NULL, ecp, 0x83000031, false, &d, err, sizeof(err)),
                     SE05X_OK);
    assert_string_equal(d.algorithm, "NIST_P256");
    replay(f);
    uint8_t pt[65];
    size_t ptl = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(ecp, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
                                                     sizeof(pt), &ptl), 1);
    bl = sizeof(back);
    assert_int_equal(se05x_read_object(f->se, 0x83000031, 0, 0, back, &bl), SE05X_OK);
    assert_int_equal(bl, 65);
    assert_memory_equal(back, pt, 65);

    /* RSA 1024: E then N, two APDUs */
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024), *rsap = pub_only(rsa);
    assert_int_equal(rtp_make_key(f->rec, NULL, rsap, 0x83000032, false, &d, err, sizeof(err)),
                     SE05X_OK);
    assert_string_equal(d.type, "STATIC_PUBLIC_KEY");
    assert_string_equal(d.algorithm, "RSA_1024");
    assert_int_equal(se05x_recorder_count(f->r), 2);
    a = se05x_recorder_get(f->r, 0, &len);
    assert_int_equal(a[2], SE05X_KEY_PUBLIC | 0x02);
    replay(f);
    BIGNUM *n = NULL;
    assert_true(EVP_PKEY_get_bn_param(rsap, OSSL_PKEY_PARAM_RSA_N, &n));
    uint8_t nb[128];
    assert_int_equal(BN_bn2binpad(n, nb, sizeof(nb)), 128);
    BN_free(n);
    bl = sizeof(back);
    assert_int_equal(se05x_read_rsa_component(f->se, 0x83000032, SE05X_RSA_COMP_MOD, back, &bl),
                     SE05X_OK);
    assert_int_equal(bl, 128);
    assert_memory_equal(back, nb, 128);
    uint8_t type = 0, tr = 0;
    assert_int_equal(se05x_read_type(f->se, 0x83000032, &type, &tr), SE05X_OK);
    assert_int_equal(type, SE05X_TYPE_RSA_PUB);

    /* a key pair cannot come from a public key */
    assert_int_equal(rtp_make_key(f->rec, NULL, edp, 0x83000033, true, &d, err, sizeof(err)),
                     SE05X_ERR_CRYPTO);
    assert_non_null(strstr(err, "cannot read the ED25519 key values"));
    assert_int_equal(rtp_make_key(f->rec, NULL, rsap, 0x83000033, true, &d, err, sizeof(err)),
                     SE05X_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "CRT"));
    assert_int_equal(se05x_recorder_count(f->r), 0);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(edp);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ecp);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsap);
}

/* ---- policies ------------------------------------------------------------------ */

static void test_policy_forbids_sign(void **state)
{
    fx *f = *state;
    se05x_policy pol;
    char err[256];
    assert_int_equal(sss_policy_parse_text("verify,read;0x7DA00001:sign", &pol, err, sizeof(err)),
                     SSS_OK);
    uint8_t want[SE05X_POLICY_MAX_BYTES];
    size_t wl = 0;
    assert_int_equal(se05x_policy_serialize(&pol, want, sizeof(want), &wl), SE05X_OK);
    se05x_obj_opts o = {.policy = &pol};
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    rtp_key_desc d;
    assert_int_equal(rtp_make_key(f->rec, &o, k, 0x83000040, true, &d, err, sizeof(err)),
                     SE05X_OK);
    size_t vl = 0;
    const uint8_t *v = tlv_in(f, 0, 0x11, &vl);
    assert_non_null(v);
    assert_int_equal(vl, wl);
    assert_memory_equal(v, want, wl);
    replay(f);

    uint8_t sig[64], pub[32], back[64];
    size_t pl = 32, bl = sizeof(back);
    assert_int_equal(se05x_eddsa_sign(f->se, 0x83000040, (const uint8_t *)"m", 1, sig),
                     SE05X_ERR_SW);
    assert_int_equal(se05x_conn_last_sw(f->se), SE05X_SW_NOT_ALLOWED);
    /* "read" granted: the public key reads back */
    assert_true(EVP_PKEY_get_raw_public_key(k, pub, &pl));
    assert_int_equal(se05x_read_object(f->se, 0x83000040, 0, 0, back, &bl), SE05X_OK);
    reversed(back, pub, 32);

    /* an RSA public key with a policy: TAG_POLICY only on the first APDU */
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024), *rsap = pub_only(rsa);
    assert_int_equal(rtp_make_key(f->rec, &o, rsap, 0x83000041, false, &d, err, sizeof(err)),
                     SE05X_OK);
    assert_non_null(tlv_in(f, 0, 0x11, &vl));
    assert_null(tlv_in(f, 1, 0x11, &vl));
    replay(f);
    EVP_PKEY_free(k);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsap);
}

/* ---- refused keys ---------------------------------------------------------------- */

static void test_unsupported_keys(void **state)
{
    fx *f = *state;
    rtp_key_desc d;
    char err[256];
    EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    assert_int_equal(rtp_make_key(f->rec, NULL, ed448, 1, true, &d, err, sizeof(err)),
                     SE05X_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "key type ED448 not supported"));
    EVP_PKEY *rsa512 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
    assert_int_equal(rtp_make_key(f->rec, NULL, rsa512, 1, true, &d, err, sizeof(err)),
                     SE05X_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "RSA size 512 not supported"));
    EVP_PKEY *p192k = EVP_EC_gen("secp224k1"); /* in the table: accepted */
    assert_int_equal(rtp_make_key(f->rec, NULL, p192k, 1, true, &d, err, sizeof(err)), SE05X_OK);
    assert_string_equal(d.algorithm, "Secp224k1");
    EVP_PKEY *x448 = EVP_PKEY_Q_keygen(NULL, NULL, "X448");
    assert_int_equal(rtp_make_key(f->rec, NULL, x448, 2, true, &d, err, sizeof(err)), SE05X_OK);
    assert_string_equal(d.algorithm, "MONT_DH_448");
    assert_int_equal(d.bits, 448);
    assert_int_equal(rtp_make_key(f->rec, NULL, NULL, 1, true, &d, err, sizeof(err)),
                     SE05X_ERR_ARG);
    EVP_PKEY_free(ed448);
    EVP_PKEY_free(rsa512);
    EVP_PKEY_free(p192k);
    EVP_PKEY_free(x448);
}

/* ---- key files ------------------------------------------------------------------------ */

/* Write len bytes of text (0: strlen) to DIR/name; returns the path. */
static char *write_file(fx *f, const char *name, const char *text, size_t len)
{
    if (len == 0)
        len = strlen(text);
    char *p = malloc(strlen(f->dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", f->dir, name);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    if (len)
        assert_int_equal(fwrite(text, 1, len, fp), len);
    fclose(fp);
    return p;
}

static char *write_pem(fx *f, const char *name, EVP_PKEY *k, int kind)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (kind == 0)
        assert_true(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL));
    else if (kind == 1)
        assert_true(PEM_write_bio_PUBKEY(b, k));
    else if (kind == 2)
        assert_true(PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL));
    else
        assert_true(PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_128_cbc(), "pass", 4, NULL,
                                                  NULL));
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *p = write_file(f, name, data, (size_t)n);
    BIO_free(b);
    return p;
}

static void expect_load_error(const char *path, bool priv, const char *what)
{
    char err[512] = "";
    EVP_PKEY *k = rtp_load_key(path, priv, err, sizeof(err));
    assert_null(k);
    if (!strstr(err, what))
        fail_msg("'%s' lacks '%s'", err, what);
}

static void test_load_key(void **state)
{
    fx *f = *state;
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    char *priv = write_pem(f, "priv.pem", ec, 0), *pub = write_pem(f, "pub.pem", ec, 1),
         *trad = write_pem(f, "trad.pem", ec, 2), *enc = write_pem(f, "enc.pem", ec, 3);
    char err[512];
    EVP_PKEY *k = rtp_load_key(priv, true, err, sizeof(err));
    assert_non_null(k);
    assert_int_equal(EVP_PKEY_eq(k, ec), 1);
    EVP_PKEY_free(k);
    assert_non_null(k = rtp_load_key(trad, true, err, sizeof(err)));
    EVP_PKEY_free(k);
    assert_non_null(k = rtp_load_key(pub, false, err, sizeof(err)));
    assert_int_equal(EVP_PKEY_eq(k, ec), 1);
    EVP_PKEY_free(k);

    expect_load_error(pub, true, "holds a public key; expected a private key");
    expect_load_error(priv, false, "holds a private key; expected a public key");
    expect_load_error(trad, false, "holds a private key");
    expect_load_error(enc, true, "encrypted private keys are not supported");
    char *cert = write_file(f, "cert.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                           "-----END CERTIFICATE-----\n", 0);
    expect_load_error(cert, true, "PEM 'CERTIFICATE' is not usable; expected a private key");
    expect_load_error(cert, false, "PEM 'CERTIFICATE' is not usable; expected a public key");
    char *junk = write_file(f, "junk.bin", "\x30\x82\x01\x00 binary", 11);
    expect_load_error(junk, true, "not a PEM file");
    char *empty = write_file(f, "empty.pem", "", 0);
    expect_load_error(empty, true, "cannot read");
    char missing[600];
    snprintf(missing, sizeof(missing), "%s/none.pem", f->dir);
    expect_load_error(missing, true, "No such file");
    /* a corrupted key body under a private-key label */
    char *broken = write_file(f, "broken.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                               "-----END PRIVATE KEY-----\n", 0);
    expect_load_error(broken, true, "PEM 'PRIVATE KEY' is not usable");
    free(priv), free(pub), free(trad), free(enc), free(cert), free(junk), free(empty),
        free(broken);
    EVP_PKEY_free(ec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_order),
        cmocka_unit_test(test_key_values),
        cmocka_unit_test_setup_teardown(test_ed25519_pair_signs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x25519_pair_derives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_forbids_sign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
