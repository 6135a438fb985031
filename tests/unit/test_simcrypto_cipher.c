/* Unit tests of the simulator's ECDH, RSA encrypt/decrypt, digest, cipher
 * and MAC handlers (cmd_crypto.c), each compared with libcrypto, plus the
 * 6A80 / 6985 answers to malformed inputs and unsuitable keys. */
#include "test_simcrypto_util.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#define KID 0x00002001u

static EVP_PKEY *g_rsa;
static tfx *g_fx;

static void reverse(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = t;
    }
}

/* ---- ECDH ------------------------------------------------------------------------ */

static size_t lib_derive(EVP_PKEY *a, EVP_PKEY *b, uint8_t *out)
{
    size_t l = 128;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(a, NULL);
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, b), 1);
    assert_int_equal(EVP_PKEY_derive(c, out, &l), 1);
    EVP_PKEY_CTX_free(c);
    return l;
}

/* Peer public key in SE format via the object conversion. */
static size_t se_pub(EVP_PKEY *k, uint8_t *out)
{
    sesim_obj o;
    sesim_obj_init(&o);
    o.type = SESIM_T_EC_PUB;
    assert_int_equal(sesim_obj_from_pkey(&o, k), SE05X_OK);
    size_t l = o.comp[SESIM_C_PUB].len;
    memcpy(out, o.comp[SESIM_C_PUB].v, l);
    sesim_obj_free(&o);
    return l;
}

static void ecdh_cmd(tfx *f, uint32_t id, const uint8_t *pub, size_t pl)
{
    se05x_tlvw *w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, id);
    se05x_tlvw_bytes(w, SE05X_TAG_2, pub, pl);
}

static void ecdh_case(tfx *f, EVP_PKEY *mine, EVP_PKEY *peer, bool reversed_out)
{
    uint8_t pub[200], want[128];
    tfx_put_pkey(f, KID, mine, 0, 0);
    size_t pl = se_pub(peer, pub);
    size_t wl = lib_derive(peer, mine, want);
    if (reversed_out)
        reverse(want, wl);
    ecdh_cmd(f, KID, pub, pl);
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x0F), 0x9000);
    size_t l;
    const uint8_t *got = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, wl);
    assert_memory_equal(got, want, wl);
}

static void test_ecdh(void **state)
{
    (void)state;
    tfx *f = g_fx;
    const char *curves[] = {"P-256", "P-384", "P-521"};
    for (int i = 0; i < 3; i++) {
        EVP_PKEY *a = tfx_ec(curves[i]), *b = tfx_ec(curves[i]);
        ecdh_case(f, a, b, false);
        EVP_PKEY_free(a);
        EVP_PKEY_free(b);
    }
    const char *mont[] = {"X25519", "X448"};
    for (int i = 0; i < 2; i++) {
        EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, mont[i]);
        EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, mont[i]);
        ecdh_case(f, a, b, true); /* the SE answers the secret reversed */
        EVP_PKEY_free(a);
        EVP_PKEY_free(b);
    }
}

static void test_ecdh_store_and_bad(void **state)
{
    (void)state;
    tfx *f = g_fx;
    EVP_PKEY *a = tfx_ec("P-256"), *b = tfx_ec("P-256");
    uint8_t pub[65], want[32];
    tfx_put_pkey(f, KID, a, 0, 0);
    se_pub(b, pub);
    lib_derive(b, a, want);

    /* TAG_7: secret stored in an HMAC object, no data returned */
    ecdh_cmd(f, KID, pub, 65);
    se05x_tlvw_u32(&f->w, SE05X_TAG_7, KID + 7);
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x0F), 0x9000);
    assert_int_equal(f->outlen, 0);
    sesim_obj o;
    sesim_obj_init(&o);
    assert_int_equal(sesim_store_load(f->s, KID + 7, &o), SE05X_OK);
    assert_int_equal(o.type, SESIM_T_HMAC);
    assert_int_equal(o.comp[SESIM_C_VALUE].len, 32);
    assert_memory_equal(o.comp[SESIM_C_VALUE].v, want, 32);
    sesim_obj_free(&o);
    /* DH_REVERSE: stored little-endian */
    ecdh_cmd(f, KID, pub, 65);
    se05x_tlvw_u32(&f->w, SE05X_TAG_7, KID + 7);
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x59), 0x9000);
    sesim_obj_init(&o);
    assert_int_equal(sesim_store_load(f->s, KID + 7, &o), SE05X_OK);
    reverse(want, 32);
    assert_memory_equal(o.comp[SESIM_C_VALUE].v, want, 32);
    sesim_obj_free(&o);
    ecdh_cmd(f, KID, pub, 65); /* DH_REVERSE without TAG_7 */
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x59), 0x6A80);

    /* point not on the curve, wrong length, compressed form */
    uint8_t bad[65];
    memcpy(bad, pub, 65);
    bad[64] ^= 1;
    ecdh_cmd(f, KID, bad, 65);
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x0F), 0x6A80);
    ecdh_cmd(f, KID, pub, 64);
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x0F), 0x6A80);
    bad[0] = 0x02;
    ecdh_cmd(f, KID, bad, 33);
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x0F), 0x6A80);
    /* X25519 low-order point (all zero) */
    EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    tfx_put_pkey(f, KID + 1, x, 0, 0);
    uint8_t zero[32] = {0};
    ecdh_cmd(f, KID + 1, zero, 32);
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x0F), 0x6A80);
    /* Ed25519, public-only and RSA keys cannot do ECDH */
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    tfx_put_pkey(f, KID + 2, ed, 0, 0);
    ecdh_cmd(f, KID + 2, zero, 32);
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x0F), 0x6985);
    tfx_put_pkey(f, KID + 3, a, SESIM_T_EC_PUB, 0);
    ecdh_cmd(f, KID + 3, pub, 65);
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x0F), 0x6985);
    tfx_put_pkey(f, KID + 4, g_rsa, 0, 0);
    ecdh_cmd(f, KID + 4, pub, 65);
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x0F), 0x6985);
    /* policy without KA */
    tfx_put_pkey(f, KID + 5, a, 0, SESIM_AR_SIGN);
    ecdh_cmd(f, KID + 5, pub, 65);
    assert_int_equal(tfx_call(f, 0x03, 0x01, 0x0F), 0x6986);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(x);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
}

/* ---- RSA encrypt / decrypt -------------------------------------------------------- */

static void rsa_cmd(tfx *f, uint32_t id, uint8_t algo, const uint8_t *in, size_t l)
{
    se05x_tlvw *w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, id);
    se05x_tlvw_u8(w, SE05X_TAG_2, algo);
    se05x_tlvw_bytes(w, SE05X_TAG_3, in, l);
}

static size_t lib_encrypt(int pad, const uint8_t *in, size_t l, uint8_t *out)
{
    size_t ol = 256;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(g_rsa, NULL);
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, pad), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, out, &ol, in, l), 1);
    EVP_PKEY_CTX_free(c);
    return ol;
}

static void test_rsa_raw(void **state)
{
    (void)state;
    tfx *f = g_fx;
    tfx_put_pkey(f, KID, g_rsa, 0, 0);
    uint8_t m[256], c[256], want[256];
    RAND_bytes(m, sizeof(m));
    m[0] = 0x00; /* below the modulus */
    lib_encrypt(RSA_NO_PADDING, m, 256, want);

    rsa_cmd(f, KID, 0x0C, m, 256);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x37), 0x9000);
    size_t l;
    const uint8_t *v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 256);
    assert_memory_equal(v, want, 256);
    memcpy(c, v, 256);

    rsa_cmd(f, KID, 0x0C, c, 256);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x38), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 256);
    assert_memory_equal(v, m, 256);

    /* raw input >= modulus, or longer than the modulus */
    memset(c, 0xFF, sizeof(c));
    rsa_cmd(f, KID, 0x0C, c, 256);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x38), 0x6A80);
    uint8_t big[257] = {0};
    rsa_cmd(f, KID, 0x0C, big, 257);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x37), 0x6A80);
}

static void test_rsa_padded(void **state)
{
    (void)state;
    tfx *f = g_fx;
    tfx_put_pkey(f, KID, g_rsa, 0, 0);
    const uint8_t msg[] = "a secret for the card";
    uint8_t c[256];
    size_t l;
    const uint8_t *v;

    /* OAEP (SHA-1) and PKCS#1 v1.5 ciphertexts made by libcrypto */
    lib_encrypt(RSA_PKCS1_OAEP_PADDING, msg, sizeof(msg), c);
    rsa_cmd(f, KID, 0x0F, c, 256);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x38), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, sizeof(msg));
    assert_memory_equal(v, msg, sizeof(msg));

    lib_encrypt(RSA_PKCS1_PADDING, msg, sizeof(msg), c);
    rsa_cmd(f, KID, 0x0A, c, 256);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x38), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, sizeof(msg));
    assert_memory_equal(v, msg, sizeof(msg));

    /* the card encrypts with OAEP, libcrypto decrypts */
    rsa_cmd(f, KID, 0x0F, msg, sizeof(msg));
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x37), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 256);
    uint8_t pt[256];
    size_t pl = sizeof(pt);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(g_rsa, NULL);
    assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_decrypt(ctx, pt, &pl, v, l), 1);
    EVP_PKEY_CTX_free(ctx);
    assert_int_equal(pl, sizeof(msg));
    assert_memory_equal(pt, msg, pl);

    /* garbage ciphertext, wrong length, unknown algorithm, plaintext too long */
    memset(c, 0x11, sizeof(c));
    rsa_cmd(f, KID, 0x0F, c, 256);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x38), 0x6A80);
    rsa_cmd(f, KID, 0x0A, c, 200);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x38), 0x6A80);
    rsa_cmd(f, KID, 0x55, c, 256);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x38), 0x6A80);
    rsa_cmd(f, KID, 0x0F, c, 250);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x37), 0x6A80);

    /* unsuitable keys */
    tfx_put_pkey(f, KID + 1, g_rsa, SESIM_T_RSA_PUB, 0);
    rsa_cmd(f, KID + 1, 0x0F, c, 256);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x38), 0x6985);
    EVP_PKEY *ec = tfx_ec("P-256");
    tfx_put_pkey(f, KID + 2, ec, 0, 0);
    rsa_cmd(f, KID + 2, 0x0F, msg, sizeof(msg));
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x37), 0x6985);
    EVP_PKEY_free(ec);
    tfx_put_pkey(f, KID + 3, g_rsa, 0, SESIM_AR_ENC);
    rsa_cmd(f, KID + 3, 0x0C, c, 256);
    assert_int_equal(tfx_call(f, 0x03, 0x02, 0x38), 0x6986);
}

/* ---- digest ------------------------------------------------------------------------ */

static void test_digest(void **state)
{
    (void)state;
    tfx *f = g_fx;
    struct {
        uint8_t mode;
        const char *md;
    } cases[] = {{0x01, "SHA1"}, {0x04, "SHA256"}, {0x05, "SHA384"}, {0x06, "SHA512"}};
    const uint8_t data[] = "digest me";
    for (int i = 0; i < 4; i++) {
        uint8_t want[64];
        unsigned int wl = 0;
        EVP_Digest(data, sizeof(data), want, &wl, EVP_get_digestbyname(cases[i].md), NULL);
        se05x_tlvw *w = tfx_begin(f);
        se05x_tlvw_u8(w, SE05X_TAG_1, cases[i].mode);
        se05x_tlvw_bytes(w, SE05X_TAG_2, data, sizeof(data));
        assert_int_equal(tfx_call(f, 0x03, 0x00, 0x0E), 0x9000);
        size_t l;
        const uint8_t *v = tfx_single(f, SE05X_TAG_1, &l);
        assert_int_equal(l, wl);
        assert_memory_equal(v, want, wl);
    }
    uint8_t bad[] = {0x00, 0x07, 0x99};
    for (int i = 0; i < 3; i++) {
        se05x_tlvw *w = tfx_begin(f);
        se05x_tlvw_u8(w, SE05X_TAG_1, bad[i]);
        se05x_tlvw_bytes(w, SE05X_TAG_2, data, sizeof(data));
        assert_int_equal(tfx_call(f, 0x03, 0x00, 0x0E), 0x6A80);
    }
    tfx_begin(f); /* no data TLV */
    se05x_tlvw_u8(&f->w, SE05X_TAG_1, 0x04);
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x0E), 0x6A80);
}

/* ---- cipher ------------------------------------------------------------------------ */

static void cipher_cmd(tfx *f, uint32_t id, uint8_t mode, const uint8_t *in, size_t l,
                       const uint8_t *iv, size_t ivl)
{
    se05x_tlvw *w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, id);
    se05x_tlvw_u8(w, SE05X_TAG_2, mode);
    se05x_tlvw_bytes(w, SE05X_TAG_3, in, l);
    if (iv)
        se05x_tlvw_bytes(w, SE05X_TAG_4, iv, ivl);
}

static size_t lib_cipher(const char *name, const uint8_t *key, const uint8_t *iv, int enc,
                         const uint8_t *in, size_t l, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int a = 0, b = 0;
    assert_int_equal(EVP_CipherInit_ex2(c, EVP_get_cipherbyname(name), key, iv, enc, NULL), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_CipherUpdate(c, out, &a, in, (int)l), 1);
    assert_int_equal(EVP_CipherFinal_ex(c, out + a, &b), 1);
    EVP_CIPHER_CTX_free(c);
    return (size_t)(a + b);
}

static void test_cipher(void **state)
{
    (void)state;
    tfx *f = g_fx;
    uint8_t key[16], iv[16], pt[48], want[64];
    RAND_bytes(key, 16);
    RAND_bytes(iv, 16);
    RAND_bytes(pt, sizeof(pt));
    tfx_put_value(f, KID, SESIM_T_AES, key, 16);
    struct {
        uint8_t mode;
        const char *name;
        bool iv;
        size_t len;
    } cases[] = {{0x0E, "AES-128-ECB", false, 48}, {0x0D, "AES-128-CBC", true, 48},
                 {0xF0, "AES-128-CTR", true, 37}};
    for (int i = 0; i < 3; i++) {
        const uint8_t *civ = cases[i].iv ? iv : NULL;
        size_t wl = lib_cipher(cases[i].name, key, civ, 1, pt, cases[i].len, want);
        cipher_cmd(f, KID, cases[i].mode, pt, cases[i].len, cases[i].iv ? iv : NULL, 16);
        assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x37), 0x9000);
        size_t l;
        const uint8_t *v = tfx_single(f, SE05X_TAG_1, &l);
        assert_int_equal(l, wl);
        assert_memory_equal(v, want, wl);
        cipher_cmd(f, KID, cases[i].mode, want, wl, cases[i].iv ? iv : NULL, 16);
        assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x38), 0x9000);
        v = tfx_single(f, SE05X_TAG_1, &l);
        assert_int_equal(l, cases[i].len);
        assert_memory_equal(v, pt, l);
    }

    /* CTR with an IV generated by the card: TAG_1 output, TAG_3 IV */
    uint8_t ivlen[2] = {0x00, 0x10};
    cipher_cmd(f, KID, 0xF0, pt, 20, ivlen, 2);
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x37), 0x9000);
    se05x_tlv_expect_t e[2] = {{SE05X_TAG_1, 0, 20, 20}, {SE05X_TAG_3, 0, 16, 16}};
    se05x_tlv_item it[2];
    assert_int_equal(se05x_tlv_expect(f->out, f->outlen, e, 2, it), SE05X_OK);
    lib_cipher("AES-128-CTR", key, it[1].val, 0, it[0].val, 20, want);
    assert_memory_equal(want, pt, 20);

    /* ISO 9797 M2 padding round trip */
    cipher_cmd(f, KID, 0x17, pt, 21, iv, 16);
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x37), 0x9000);
    size_t l;
    const uint8_t *v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 32);
    uint8_t ct[32];
    memcpy(ct, v, 32);
    cipher_cmd(f, KID, 0x17, ct, 32, iv, 16);
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x38), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 21);
    assert_memory_equal(v, pt, 21);
    /* M2 decryption of data without valid padding */
    uint8_t zeros[16] = {0};
    lib_cipher("AES-128-CBC", key, iv, 1, zeros, 16, ct);
    cipher_cmd(f, KID, 0x17, ct, 16, iv, 16);
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x38), 0x6A80);

    /* 3DES (two-key) CBC */
    uint8_t dkey[16], dkey3[24];
    RAND_bytes(dkey, 16);
    memcpy(dkey3, dkey, 16);
    memcpy(dkey3 + 16, dkey, 8);
    tfx_put_value(f, KID + 1, SESIM_T_DES, dkey, 16);
    size_t wl = lib_cipher("DES-EDE3-CBC", dkey3, iv, 1, pt, 24, want);
    cipher_cmd(f, KID + 1, 0x01, pt, 24, iv, 8);
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x37), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, wl);
    assert_memory_equal(v, want, wl);

    /* bad inputs */
    cipher_cmd(f, KID, 0x0D, pt, 20, iv, 16); /* not a block multiple */
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x37), 0x6A80);
    cipher_cmd(f, KID, 0x0D, pt, 16, iv, 8); /* IV length */
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x37), 0x6A80);
    cipher_cmd(f, KID, 0xF0, pt, 16, NULL, 0); /* CTR without IV */
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x37), 0x6A80);
    cipher_cmd(f, KID, 0x0E, pt, 16, iv, 16); /* ECB with IV */
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x37), 0x6A80);
    cipher_cmd(f, KID, 0x42, pt, 16, NULL, 0); /* unknown mode */
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x37), 0x6A80);
    cipher_cmd(f, KID + 1, 0x0E, pt, 16, NULL, 0); /* DES key, AES mode */
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x37), 0x6985);
    EVP_PKEY *ec = tfx_ec("P-256");
    tfx_put_pkey(f, KID + 2, ec, 0, 0);
    cipher_cmd(f, KID + 2, 0x0E, pt, 16, NULL, 0); /* EC key */
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x37), 0x6985);
    EVP_PKEY_free(ec);
}

/* ---- MAC --------------------------------------------------------------------------- */

static size_t lib_mac(const char *mac, const char *pname, const char *pval, const uint8_t *key,
                      size_t kl, const uint8_t *in, size_t l, uint8_t *out)
{
    EVP_MAC *m = EVP_MAC_fetch(NULL, mac, NULL);
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_utf8_string(pname, (char *)pval, 0),
                       OSSL_PARAM_construct_end()};
    size_t ol = 0;
    assert_int_equal(EVP_MAC_init(c, key, kl, p), 1);
    assert_int_equal(EVP_MAC_update(c, in, l), 1);
    assert_int_equal(EVP_MAC_final(c, out, &ol, 64), 1);
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
    return ol;
}

static void mac_cmd(tfx *f, uint32_t id, uint8_t algo, const uint8_t *in, size_t l,
                    const uint8_t *chk, size_t cl)
{
    se05x_tlvw *w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, id);
    se05x_tlvw_u8(w, SE05X_TAG_2, algo);
    se05x_tlvw_bytes(w, SE05X_TAG_3, in, l);
    if (chk)
        se05x_tlvw_bytes(w, SE05X_TAG_5, chk, cl);
}

static void mac_case(tfx *f, uint32_t id, uint8_t algo, const uint8_t *want, size_t wl,
                     const uint8_t *in, size_t l)
{
    mac_cmd(f, id, algo, in, l, NULL, 0);
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x45), 0x9000);
    size_t gl;
    const uint8_t *v = tfx_single(f, SE05X_TAG_1, &gl);
    assert_int_equal(gl, wl);
    assert_memory_equal(v, want, wl);
    mac_cmd(f, id, algo, in, l, want, wl);
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x46), 0x9000);
    assert_int_equal(tfx_result(f), 0x01);
    uint8_t wrong[64];
    memcpy(wrong, want, wl);
    wrong[0] ^= 0x80;
    mac_cmd(f, id, algo, in, l, wrong, wl);
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x46), 0x9000);
    assert_int_equal(tfx_result(f), 0x02);
    mac_cmd(f, id, algo, in, l, want, wl - 1); /* truncated MAC does not validate */
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x46), 0x9000);
    assert_int_equal(tfx_result(f), 0x02);
}

static void test_mac(void **state)
{
    (void)state;
    tfx *f = g_fx;
    uint8_t hk[32], ak[16], want[64];
    const uint8_t data[] = "authenticate these bytes";
    RAND_bytes(hk, sizeof(hk));
    RAND_bytes(ak, sizeof(ak));
    tfx_put_value(f, KID, SESIM_T_HMAC, hk, sizeof(hk));
    tfx_put_value(f, KID + 1, SESIM_T_AES, ak, sizeof(ak));
    struct {
        uint8_t algo;
        const char *md;
    } h[] = {{0x18, "SHA1"}, {0x19, "SHA256"}, {0x1A, "SHA384"}, {0x1B, "SHA512"}};
    for (int i = 0; i < 4; i++) {
        size_t wl = lib_mac("HMAC", OSSL_MAC_PARAM_DIGEST, h[i].md, hk, sizeof(hk), data,
                            sizeof(data), want);
        mac_case(f, KID, h[i].algo, want, wl, data, sizeof(data));
    }
    size_t wl = lib_mac("CMAC", OSSL_MAC_PARAM_CIPHER, "AES-128-CBC", ak, sizeof(ak), data,
                        sizeof(data), want);
    assert_int_equal(wl, 16);
    mac_case(f, KID + 1, 0x31, want, wl, data, sizeof(data));

    /* wrong key type for the algorithm, unknown algorithm, missing MAC */
    mac_cmd(f, KID + 1, 0x19, data, sizeof(data), NULL, 0);
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x45), 0x6985);
    mac_cmd(f, KID, 0x31, data, sizeof(data), NULL, 0);
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x45), 0x6985);
    mac_cmd(f, KID, 0x99, data, sizeof(data), NULL, 0);
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x45), 0x6A80);
    mac_cmd(f, KID, 0x19, data, sizeof(data), NULL, 0);
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x46), 0x6A80);
}

/* ---- crypto objects (multi-step) ---------------------------------------------------- */

static uint16_t cobj_create(tfx *f, uint16_t id, uint8_t context, uint8_t sub)
{
    se05x_tlvw *w = tfx_begin(f);
    se05x_tlvw_u16(w, SE05X_TAG_1, id);
    se05x_tlvw_u8(w, SE05X_TAG_2, context);
    se05x_tlvw_u8(w, SE05X_TAG_3, sub);
    return tfx_call(f, 0x01, 0x10, 0x00);
}

static uint16_t cobj_delete(tfx *f, uint16_t id)
{
    se05x_tlvw_u16(tfx_begin(f), SE05X_TAG_1, id);
    return tfx_call(f, 0x04, 0x10, 0x28);
}

static uint16_t step(tfx *f, uint8_t p1, uint8_t p2, uint8_t idtag, uint16_t id, uint8_t dtag,
                     const uint8_t *d, size_t l)
{
    se05x_tlvw *w = tfx_begin(f);
    if (dtag && dtag < idtag)
        se05x_tlvw_bytes(w, dtag, d, l);
    se05x_tlvw_u16(w, idtag, id);
    if (dtag && dtag > idtag)
        se05x_tlvw_bytes(w, dtag, d, l);
    return tfx_call(f, 0x03, p1, p2);
}

static void test_cobj_digest(void **state)
{
    (void)state;
    tfx *f = g_fx;
    const uint8_t data[] = "multi-step digest input";
    uint8_t want[32];
    unsigned int wl = 0;
    EVP_Digest(data, sizeof(data), want, &wl, EVP_sha256(), NULL);

    assert_int_equal(cobj_create(f, 3, 0x01, 0x04), 0x9000);
    assert_int_equal(cobj_create(f, 3, 0x01, 0x04), 0x6985); /* exists */
    assert_int_equal(cobj_create(f, 4, 0x01, 0x07), 0x6A80); /* SHA-224 */
    assert_int_equal(cobj_create(f, 4, 0x09, 0x04), 0x6A80); /* context */
    /* list: id(2) context subtype */
    tfx_begin(f);
    assert_int_equal(tfx_call(f, 0x02, 0x10, 0x25), 0x9000);
    size_t l;
    const uint8_t *v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 4);
    assert_memory_equal(v, ((uint8_t[]){0x00, 0x03, 0x01, 0x04}), 4);

    /* Update before Init */
    assert_int_equal(step(f, 0x00, 0x0C, SE05X_TAG_2, 3, SE05X_TAG_3, data, 5), 0x6985);
    assert_int_equal(step(f, 0x00, 0x0B, SE05X_TAG_2, 3, 0, NULL, 0), 0x9000);
    assert_int_equal(step(f, 0x00, 0x0C, SE05X_TAG_2, 3, SE05X_TAG_3, data, 5), 0x9000);
    assert_int_equal(step(f, 0x00, 0x0C, SE05X_TAG_2, 3, SE05X_TAG_3, data + 5, 10), 0x9000);
    assert_int_equal(step(f, 0x00, 0x0D, SE05X_TAG_2, 3, SE05X_TAG_3, data + 15, sizeof(data) - 15),
                     0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 32);
    assert_memory_equal(v, want, 32);
    assert_int_equal(step(f, 0x00, 0x0D, SE05X_TAG_2, 3, 0, NULL, 0), 0x6985); /* finished */
    assert_int_equal(step(f, 0x00, 0x0B, SE05X_TAG_2, 9, 0, NULL, 0), 0x6985); /* unknown */
    assert_int_equal(cobj_delete(f, 3), 0x9000);
    assert_int_equal(cobj_delete(f, 3), 0x6985);
    tfx_begin(f);
    assert_int_equal(tfx_call(f, 0x02, 0x10, 0x25), 0x9000);
    tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 0);

    /* slots run out */
    for (uint16_t i = 0; i < SESIM_MAX_CRYPTO_OBJS; i++)
        assert_int_equal(cobj_create(f, (uint16_t)(100 + i), 0x01, 0x04), 0x9000);
    assert_int_equal(cobj_create(f, 99, 0x01, 0x04), 0x6A84);
    for (uint16_t i = 0; i < SESIM_MAX_CRYPTO_OBJS; i++)
        assert_int_equal(cobj_delete(f, (uint16_t)(100 + i)), 0x9000);
}

static void test_cobj_cipher_mac(void **state)
{
    (void)state;
    tfx *f = g_fx;
    uint8_t key[16], iv[16], pt[64], want[64];
    RAND_bytes(key, 16);
    RAND_bytes(iv, 16);
    RAND_bytes(pt, sizeof(pt));
    tfx_put_value(f, KID, SESIM_T_AES, key, 16);
    lib_cipher("AES-128-CBC", key, iv, 1, pt, 64, want);

    assert_int_equal(cobj_create(f, 5, 0x02, 0x0D), 0x9000);
    assert_int_equal(cobj_create(f, 6, 0x02, 0x17), 0x6A80); /* padded modes: one-shot only */
    se05x_tlvw *w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, KID);
    se05x_tlvw_u16(w, SE05X_TAG_2, 5);
    se05x_tlvw_bytes(w, SE05X_TAG_4, iv, 16);
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x42), 0x9000);
    uint8_t got[64];
    size_t n = 0, l;
    const uint8_t *v;
    /* 10 + 30 + 24 bytes: output comes in whole blocks */
    assert_int_equal(step(f, 0x0E, 0x0C, SE05X_TAG_2, 5, SE05X_TAG_3, pt, 10), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 0);
    assert_int_equal(step(f, 0x0E, 0x0C, SE05X_TAG_2, 5, SE05X_TAG_3, pt + 10, 30), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 32);
    memcpy(got + n, v, l);
    n += l;
    assert_int_equal(step(f, 0x0E, 0x0D, SE05X_TAG_2, 5, SE05X_TAG_3, pt + 40, 24), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    memcpy(got + n, v, l);
    n += l;
    assert_int_equal(n, 64);
    assert_memory_equal(got, want, 64);
    /* Final with a partial block */
    w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, KID);
    se05x_tlvw_u16(w, SE05X_TAG_2, 5);
    se05x_tlvw_bytes(w, SE05X_TAG_4, iv, 16);
    assert_int_equal(tfx_call(f, 0x03, 0x0E, 0x43), 0x9000);
    assert_int_equal(step(f, 0x0E, 0x0D, SE05X_TAG_2, 5, SE05X_TAG_3, pt, 7), 0x6A80);
    /* digest operation on a cipher object */
    assert_int_equal(step(f, 0x00, 0x0B, SE05X_TAG_2, 5, 0, NULL, 0), 0x6985);
    assert_int_equal(cobj_delete(f, 5), 0x9000);

    /* HMAC-SHA256 generate and validate in steps */
    uint8_t hk[32], mac[32];
    RAND_bytes(hk, sizeof(hk));
    tfx_put_value(f, KID + 1, SESIM_T_HMAC, hk, sizeof(hk));
    size_t ml = lib_mac("HMAC", OSSL_MAC_PARAM_DIGEST, "SHA256", hk, sizeof(hk), pt, 64, mac);
    assert_int_equal(cobj_create(f, 7, 0x03, 0x19), 0x9000);
    w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, KID + 1);
    se05x_tlvw_u16(w, SE05X_TAG_2, 7);
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x03), 0x9000);
    assert_int_equal(step(f, 0x0D, 0x0C, SE05X_TAG_2, 7, SE05X_TAG_1, pt, 20), 0x9000);
    assert_int_equal(step(f, 0x0D, 0x0D, SE05X_TAG_2, 7, SE05X_TAG_1, pt + 20, 44), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, ml);
    assert_memory_equal(v, mac, ml);

    w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, KID + 1);
    se05x_tlvw_u16(w, SE05X_TAG_2, 7);
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x44), 0x9000);
    w = tfx_begin(f);
    se05x_tlvw_bytes(w, SE05X_TAG_1, pt, 64);
    se05x_tlvw_u16(w, SE05X_TAG_2, 7);
    se05x_tlvw_bytes(w, SE05X_TAG_3, mac, ml);
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x0D), 0x9000);
    assert_int_equal(tfx_result(f), 0x01);
    /* MAC init with an AES key on an HMAC object */
    w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, KID);
    se05x_tlvw_u16(w, SE05X_TAG_2, 7);
    assert_int_equal(tfx_call(f, 0x03, 0x0D, 0x03), 0x6985);
    assert_int_equal(cobj_delete(f, 7), 0x9000);
}

/* ---- HKDF / PBKDF2 -------------------------------------------------------------------- */

static void lib_kdf(const char *kdf, OSSL_PARAM *p, uint8_t *out, size_t l)
{
    EVP_KDF *k = EVP_KDF_fetch(NULL, kdf, NULL);
    EVP_KDF_CTX *c = EVP_KDF_CTX_new(k);
    assert_int_equal(EVP_KDF_derive(c, out, l, p), 1);
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(k);
}

static void hkdf_cmd(tfx *f, uint32_t id, uint8_t mode, const uint8_t *salt, size_t sl,
                     const uint8_t *info, size_t il, uint16_t L)
{
    se05x_tlvw *w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, id);
    se05x_tlvw_u8(w, SE05X_TAG_2, mode);
    if (salt)
        se05x_tlvw_bytes(w, SE05X_TAG_3, salt, sl);
    if (info)
        se05x_tlvw_bytes(w, SE05X_TAG_4, info, il);
    se05x_tlvw_u16(w, SE05X_TAG_5, L);
}

static void test_kdf(void **state)
{
    (void)state;
    tfx *f = g_fx;
    uint8_t ikm[32], salt[16], want[100];
    const uint8_t info[] = "context info";
    RAND_bytes(ikm, sizeof(ikm));
    RAND_bytes(salt, sizeof(salt));
    tfx_put_value(f, KID, SESIM_T_HMAC, ikm, sizeof(ikm));

    int mode = EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
                      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
                      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm, sizeof(ikm)),
                      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof(salt)),
                      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                                        sizeof(info)),
                      OSSL_PARAM_construct_end()};
    lib_kdf("HKDF", p, want, 100);
    hkdf_cmd(f, KID, 0x04, salt, sizeof(salt), info, sizeof(info), 100);
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x2D), 0x9000);
    size_t l;
    const uint8_t *v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 100);
    assert_memory_equal(v, want, 100);

    /* stored into an HMAC object with TAG_7 */
    hkdf_cmd(f, KID, 0x04, salt, sizeof(salt), info, sizeof(info), 32);
    se05x_tlvw_u32(&f->w, SE05X_TAG_7, KID + 9);
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x2D), 0x9000);
    assert_int_equal(f->outlen, 0);
    sesim_obj o;
    sesim_obj_init(&o);
    assert_int_equal(sesim_store_load(f->s, KID + 9, &o), SE05X_OK);
    assert_memory_equal(o.comp[SESIM_C_VALUE].v, want, 32);
    sesim_obj_free(&o);

    /* expand only: the key is the PRK */
    mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM pe[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA512", 0),
                       OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
                       OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm, sizeof(ikm)),
                       OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                                         sizeof(info)),
                       OSSL_PARAM_construct_end()};
    lib_kdf("HKDF", pe, want, 70);
    hkdf_cmd(f, KID, 0x06, NULL, 0, info, sizeof(info), 70);
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x2F), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 70);
    assert_memory_equal(v, want, 70);

    /* length limits, unknown digest, salt with expand-only, AES key */
    hkdf_cmd(f, KID, 0x04, salt, sizeof(salt), NULL, 0, 0);
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x2D), 0x6A80);
    hkdf_cmd(f, KID, 0x01, salt, sizeof(salt), NULL, 0, 1000); /* <= 1024 and <= 255 * 20 */
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x2D), 0x9000);
    hkdf_cmd(f, KID, 0x01, salt, sizeof(salt), NULL, 0, 1025);
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x2D), 0x6A80);
    hkdf_cmd(f, KID, 0x07, salt, sizeof(salt), NULL, 0, 16);
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x2D), 0x6A80);
    hkdf_cmd(f, KID, 0x04, salt, sizeof(salt), NULL, 0, 16);
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x2F), 0x6A80);
    uint8_t aes[16] = {0};
    tfx_put_value(f, KID + 1, SESIM_T_AES, aes, 16);
    hkdf_cmd(f, KID + 1, 0x04, salt, sizeof(salt), NULL, 0, 16);
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x2D), 0x6985);

    /* PBKDF2-HMAC-SHA1 */
    unsigned int iter = 100;
    OSSL_PARAM pp[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA1", 0),
                       OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, ikm, 8),
                       OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof(salt)),
                       OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter),
                       OSSL_PARAM_construct_end()};
    lib_kdf("PBKDF2", pp, want, 40);
    tfx_put_value(f, KID + 2, SESIM_T_HMAC, ikm, 8);
    se05x_tlvw *w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, KID + 2);
    se05x_tlvw_bytes(w, SE05X_TAG_2, salt, sizeof(salt));
    se05x_tlvw_u16(w, SE05X_TAG_3, 100);
    se05x_tlvw_u16(w, SE05X_TAG_4, 40);
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x2E), 0x9000);
    v = tfx_single(f, SE05X_TAG_1, &l);
    assert_int_equal(l, 40);
    assert_memory_equal(v, want, 40);
    w = tfx_begin(f); /* zero iterations */
    se05x_tlvw_u32(w, SE05X_TAG_1, KID + 2);
    se05x_tlvw_bytes(w, SE05X_TAG_2, salt, sizeof(salt));
    se05x_tlvw_u16(w, SE05X_TAG_3, 0);
    se05x_tlvw_u16(w, SE05X_TAG_4, 40);
    assert_int_equal(tfx_call(f, 0x03, 0x00, 0x2E), 0x6A80);
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
        cmocka_unit_test(test_ecdh),        cmocka_unit_test(test_ecdh_store_and_bad),
        cmocka_unit_test(test_rsa_raw),     cmocka_unit_test(test_rsa_padded),
        cmocka_unit_test(test_digest),      cmocka_unit_test(test_cipher),
        cmocka_unit_test(test_mac),         cmocka_unit_test(test_cobj_digest),
        cmocka_unit_test(test_cobj_cipher_mac), cmocka_unit_test(test_kdf),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
