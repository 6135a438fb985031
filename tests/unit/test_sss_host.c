/* Unit tests of the sss host backend (sss_backend_host_ops), driven through
 * its ops table: store directory creation, every object operation, every
 * crypto operation checked against independent libcrypto computations,
 * policy enforcement for the default user, wrong key types, buffer sizes,
 * the on-disk store (mode 0600, leftover temporary files ignored, truncated
 * / corrupt / misplaced object files -> SSS_ERR_FORMAT naming the file). */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "be_host.h"
#include "testutil.h"

static const sss_backend_ops *const H = &sss_backend_host_ops;

typedef struct {
    char *tmp;
    char dir[600];
    sss_session s;
} fx;

static sss_status open_store(sss_session *s, const char *dir)
{
    memset(s, 0, sizeof(*s));
    s->ops = H;
    sss_session_cfg cfg = {.backend = SSS_BACKEND_HOST, .connstr = dir};
    return H->open(s, &cfg);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->tmp = tu_tempdir("ssshost");
    snprintf(f->dir, sizeof(f->dir), "%s/store/sub", f->tmp);
    assert_int_equal(open_store(&f->s, f->dir), SSS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->s.be)
        H->close(&f->s);
    tu_rmtree(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

/* ---- helpers ----------------------------------------------------------- */

static void gen(fx *f, uint32_t id, sss_key_type t, uint8_t curve, uint16_t bits,
                const se05x_policy *pol)
{
    sss_keygen g = {.type = t, .curve = curve, .bits = bits};
    sss_status rc = H->generate(&f->s, id, &g, pol);
    if (rc != SSS_OK)
        fail_msg("generate 0x%08X: %d %s", id, rc, f->s.err);
}

static sss_key *kopen(fx *f, uint32_t id)
{
    sss_key *k = calloc(1, sizeof(*k));
    k->s = &f->s;
    k->info.id = id;
    sss_status rc = H->key_open(k);
    if (rc != SSS_OK)
        fail_msg("key_open 0x%08X: %d %s", id, rc, f->s.err);
    return k;
}

static void kclose(sss_key *k)
{
    H->key_close(k);
    EVP_PKEY_free(k->pub);
    free(k);
}

static EVP_PKEY *pubkey(sss_key *k)
{
    EVP_PKEY *p = NULL;
    assert_int_equal(H->key_public(k, &p), SSS_OK);
    assert_non_null(p);
    return p;
}

static void sha(const char *name, const void *d, size_t n, uint8_t *out, size_t *outlen)
{
    unsigned int l = 0;
    assert_int_equal(EVP_Digest(d, n, out, &l, EVP_get_digestbyname(name), NULL), 1);
    *outlen = l;
}

/* Independent signature check with libcrypto. */
static int ossl_verify(EVP_PKEY *pub, const char *md, int pad, int salt, const uint8_t *dg,
                       size_t dlen, const uint8_t *sig, size_t siglen)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_verify_init(c), 1);
    if (pad)
        assert_true(EVP_PKEY_CTX_set_rsa_padding(c, pad) > 0);
    if (md)
        assert_true(EVP_PKEY_CTX_set_signature_md(c, EVP_get_digestbyname(md)) > 0);
    if (pad == RSA_PKCS1_PSS_PADDING)
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(c, salt) > 0);
    int r = EVP_PKEY_verify(c, sig, siglen, dg, dlen);
    EVP_PKEY_CTX_free(c);
    return r;
}

/* PKCS#1 v1.5 SHA-256 signature made by libcrypto. */
static int pkey_sign_ok(EVP_PKEY *priv, const uint8_t *dg, size_t dlen, uint8_t *sig, size_t *slen)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
    int r = EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0 &&
            EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) > 0 &&
            EVP_PKEY_sign(c, sig, slen, dg, dlen) == 1;
    EVP_PKEY_CTX_free(c);
    return r;
}

static bool file_contains(const char *s, const char *needle)
{
    return strstr(s, needle) != NULL;
}

static void obj_path(fx *f, uint32_t id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%08X.obj", f->dir, id);
}

static uint8_t KEY16[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                            0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};

/* ---- session ----------------------------------------------------------- */

static void t_open(void **state)
{
    fx *f = *state;
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);

    sss_session s2;
    assert_int_equal(open_store(&s2, NULL), SSS_ERR_ARG);
    assert_true(file_contains(s2.err, "directory"));
    char file[700];
    snprintf(file, sizeof(file), "%s/plainfile", f->tmp);
    FILE *fp = fopen(file, "w");
    fclose(fp);
    assert_int_equal(open_store(&s2, file), SSS_ERR_CONNECT);
    assert_true(file_contains(s2.err, "plainfile"));
    memset(&s2, 0, sizeof(s2));
    sss_session_cfg cfg = {.backend = SSS_BACKEND_HOST, .connstr = f->dir,
                           .auth = SSS_AUTH_USERID, .auth_id = 0x7DA00001};
    assert_int_equal(H->open(&s2, &cfg), SSS_ERR_UNSUPPORTED);

    sss_counters c = {.apdus = 5, .bytes_tx = 6, .bytes_rx = 7};
    H->counters(&f->s, &c, false);
    assert_int_equal(c.apdus + c.bytes_tx + c.bytes_rx, 0);
    H->counters(&f->s, NULL, true);

    /* objects persist across sessions */
    gen(f, 0x100, SSS_KT_AES, 0, 128, NULL);
    H->close(&f->s);
    assert_int_equal(open_store(&f->s, f->dir), SSS_OK);
    bool ex = false;
    assert_int_equal(H->exists(&f->s, 0x100, &ex), SSS_OK);
    assert_true(ex);
}

/* ---- objects ----------------------------------------------------------- */

static void t_objects(void **state)
{
    fx *f = *state;
    bool ex = true;
    assert_int_equal(H->exists(&f->s, 0x20, &ex), SSS_OK);
    assert_false(ex);
    gen(f, 0x30, SSS_KT_HMAC, 0, 8 * 40, NULL);
    gen(f, 0x10, SSS_KT_EC_PAIR, SSS_CURVE_P521, 0, NULL);
    gen(f, 0xEF000001, SSS_KT_AES, 0, 256, NULL);
    uint8_t data[100];
    memset(data, 0xA5, sizeof(data));
    assert_int_equal(H->binary_write(&f->s, 0x20, data, sizeof(data), NULL), SSS_OK);
    assert_int_equal(H->exists(&f->s, 0x20, &ex), SSS_OK);
    assert_true(ex);

    sss_object_info *l = NULL;
    size_t n = 0;
    assert_int_equal(H->list(&f->s, &l, &n), SSS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(l[0].id, 0x10);
    assert_int_equal(l[1].id, 0x20);
    assert_int_equal(l[2].id, 0x30);
    assert_int_equal(l[3].id, 0xEF000001);
    assert_int_equal(l[0].type, SSS_KT_EC_PAIR);
    assert_int_equal(l[0].curve, SSS_CURVE_P521);
    assert_int_equal(l[0].bits, 521);
    assert_int_equal(l[0].size, 66);
    assert_int_equal(l[0].origin, SSS_ORIGIN_INTERNAL);
    assert_int_equal(l[1].type, SSS_KT_BINARY);
    assert_int_equal(l[1].size, 100);
    assert_int_equal(l[1].origin, SSS_ORIGIN_EXTERNAL);
    assert_int_equal(l[2].type, SSS_KT_HMAC);
    assert_int_equal(l[2].bits, 320);
    assert_int_equal(l[2].size, 40);
    assert_int_equal(l[3].type, SSS_KT_AES);
    assert_int_equal(l[3].bits, 256);
    assert_int_equal(l[3].policy.n, 0);
    free(l);

    sss_object_info info;
    assert_int_equal(H->info(&f->s, 0x30, &info), SSS_OK);
    assert_int_equal(info.type, SSS_KT_HMAC);
    assert_int_equal(H->info(&f->s, 0x31, &info), SSS_ERR_NOT_FOUND);
    assert_true(file_contains(f->s.err, "0x00000031"));

    assert_int_equal(H->remove(&f->s, 0x30), SSS_OK);
    assert_int_equal(H->exists(&f->s, 0x30, &ex), SSS_OK);
    assert_false(ex);
    assert_int_equal(H->remove(&f->s, 0x30), SSS_ERR_NOT_FOUND);

    /* creating over an existing object is refused (the core deletes first) */
    sss_keygen g = {.type = SSS_KT_AES, .bits = 128};
    assert_int_equal(H->generate(&f->s, 0x10, &g, NULL), SSS_ERR_EXISTS);
    assert_int_equal(H->info(&f->s, 0x10, &info), SSS_OK);
    assert_int_equal(info.type, SSS_KT_EC_PAIR);

    /* an empty store lists nothing */
    H->close(&f->s);
    char d2[700];
    snprintf(d2, sizeof(d2), "%s/empty", f->tmp);
    assert_int_equal(open_store(&f->s, d2), SSS_OK);
    assert_int_equal(H->list(&f->s, &l, &n), SSS_OK);
    assert_int_equal(n, 0);
    free(l);
}

static void t_generate_args(void **state)
{
    fx *f = *state;
    struct {
        sss_key_type t;
        uint8_t curve;
        uint16_t bits;
    } bad[] = {
        {SSS_KT_EC_PAIR, 0x00, 0},  {SSS_KT_EC_PAIR, 0x11, 0}, {SSS_KT_EC_PAIR, 0x99, 0},
        {SSS_KT_RSA_PAIR, 0, 1000},
        {SSS_KT_AES, 0, 100},       {SSS_KT_AES, 0, 512},      {SSS_KT_HMAC, 0, 0},
        {SSS_KT_HMAC, 0, 12},       {SSS_KT_HMAC, 0, 8 * 257}, {SSS_KT_EC_PUB, 0x03, 0},
        {SSS_KT_BINARY, 0, 64},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sss_keygen g = {.type = bad[i].t, .curve = bad[i].curve, .bits = bad[i].bits};
        assert_int_equal(H->generate(&f->s, 0x40, &g, NULL), SSS_ERR_ARG);
    }
    bool ex = true;
    assert_int_equal(H->exists(&f->s, 0x40, &ex), SSS_OK);
    assert_false(ex);
    /* HMAC of any byte length 1..256 */
    gen(f, 0x41, SSS_KT_HMAC, 0, 8, NULL);
    gen(f, 0x42, SSS_KT_HMAC, 0, 8 * 256, NULL);
    gen(f, 0x43, SSS_KT_AES, 0, 192, NULL);
    gen(f, 0x44, SSS_KT_EC_PAIR, SSS_CURVE_X25519, 0, NULL);
    /* RSA generated in software: info, and a signature libcrypto accepts */
    gen(f, 0x45, SSS_KT_RSA_PAIR, 0, 2048, NULL);
    sss_key *k = kopen(f, 0x45);
    assert_int_equal(k->info.type, SSS_KT_RSA_PAIR);
    assert_int_equal(k->info.bits, 2048);
    assert_int_equal(k->info.size, 256);
    assert_int_equal(k->info.origin, SSS_ORIGIN_INTERNAL);
    uint8_t dg[48], sig[300];
    size_t dlen, slen = sizeof(sig);
    sha("SHA384", "m", 1, dg, &dlen);
    sss_sig_params p = {.alg = SSS_SIG_RSA_PSS, .hash = SSS_HASH_SHA384, .salt_len = -1};
    assert_int_equal(H->sign(k, &p, dg, dlen, sig, &slen), SSS_OK);
    EVP_PKEY *pub = pubkey(k);
    assert_int_equal(EVP_PKEY_get_bits(pub), 2048);
    assert_int_equal(ossl_verify(pub, "SHA384", RSA_PKCS1_PSS_PADDING, 48, dg, dlen, sig, slen), 1);
    EVP_PKEY_free(pub);
    kclose(k);
}

/* ---- signatures -------------------------------------------------------- */

static void sign_ecdsa_curve(fx *f, uint32_t id, uint8_t curve, const char *md, sss_hash h)
{
    gen(f, id, SSS_KT_EC_PAIR, curve, 0, NULL);
    sss_key *k = kopen(f, id);
    assert_int_equal(k->info.type, SSS_KT_EC_PAIR);
    assert_int_equal(k->info.curve, curve);
    uint8_t dg[64], sig[200];
    size_t dlen, slen = sizeof(sig);
    sha(md, "hello", 5, dg, &dlen);
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = h};
    assert_int_equal(H->sign(k, &p, dg, dlen, sig, &slen), SSS_OK);
    EVP_PKEY *pub = pubkey(k);
    assert_int_equal(host_pkey_curve(pub), curve);
    assert_int_equal(ossl_verify(pub, md, 0, 0, dg, dlen, sig, slen), 1);
    assert_int_equal(H->verify(k, &p, dg, dlen, sig, slen), SSS_OK);
    dg[0] ^= 1;
    assert_int_equal(ossl_verify(pub, md, 0, 0, dg, dlen, sig, slen), 0);
    assert_int_equal(H->verify(k, &p, dg, dlen, sig, slen), SSS_ERR_VERIFY);
    assert_int_equal(H->verify(k, &p, dg, dlen, (const uint8_t *)"garbage", 7), SSS_ERR_VERIFY);
    /* digest length must match the hash */
    assert_int_equal(H->sign(k, &p, dg, dlen - 1, sig, &slen), SSS_ERR_ARG);
    /* small buffer: BUFFER and the needed size */
    size_t small = 8;
    assert_int_equal(H->sign(k, &p, dg, dlen, sig, &small), SSS_ERR_BUFFER);
    assert_true(small > 8);
    EVP_PKEY_free(pub);
    kclose(k);
}

static void t_ecdsa(void **state)
{
    fx *f = *state;
    sign_ecdsa_curve(f, 0x51, SSS_CURVE_P256, "SHA256", SSS_HASH_SHA256);
    sign_ecdsa_curve(f, 0x52, SSS_CURVE_P384, "SHA384", SSS_HASH_SHA384);
    sign_ecdsa_curve(f, 0x53, SSS_CURVE_P521, "SHA512", SSS_HASH_SHA512);
    sign_ecdsa_curve(f, 0x54, SSS_CURVE_P256, "SHA1", SSS_HASH_SHA1);
    /* other SE05x curves of the shared table: Brainpool, Koblitz */
    sign_ecdsa_curve(f, 0x55, 0x09 /* brainpoolP256r1 */, "SHA256", SSS_HASH_SHA256);
    sign_ecdsa_curve(f, 0x56, 0x10 /* secp256k1 */, "SHA224", SSS_HASH_SHA224);
    sss_object_info info;
    assert_int_equal(H->info(&f->s, 0x55, &info), SSS_OK);
    assert_int_equal(info.bits, 256);
    assert_int_equal(info.size, 32);
}

static void t_eddsa(void **state)
{
    fx *f = *state;
    gen(f, 0x60, SSS_KT_EC_PAIR, SSS_CURVE_ED25519, 0, NULL);
    sss_key *k = kopen(f, 0x60);
    assert_int_equal(k->info.curve, SSS_CURVE_ED25519);
    assert_int_equal(k->info.bits, 256);
    const uint8_t msg[] = "a message of any length, not a digest";
    uint8_t sig[64];
    size_t slen = sizeof(sig);
    sss_sig_params p = {.alg = SSS_SIG_EDDSA};
    assert_int_equal(H->sign(k, &p, msg, sizeof(msg), sig, &slen), SSS_OK);
    assert_int_equal(slen, 64);
    EVP_PKEY *pub = pubkey(k);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(c, NULL, NULL, NULL, pub), 1);
    assert_int_equal(EVP_DigestVerify(c, sig, slen, msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(c);
    assert_int_equal(H->verify(k, &p, msg, sizeof(msg), sig, slen), SSS_OK);
    sig[10] ^= 0x40;
    assert_int_equal(H->verify(k, &p, msg, sizeof(msg), sig, slen), SSS_ERR_VERIFY);
    /* ECDSA and ECDH are not for Ed25519 keys */
    sss_sig_params e = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    uint8_t dg[32] = {0};
    slen = sizeof(sig);
    assert_int_equal(H->sign(k, &e, dg, 32, sig, &slen), SSS_ERR_KEY_TYPE);
    assert_int_equal(H->ecdh(k, pub, dg, &slen), SSS_ERR_KEY_TYPE);
    EVP_PKEY_free(pub);
    kclose(k);
}

/* One RSA key (generated here, imported as a pair) for all RSA modes. */
static void t_rsa(void **state)
{
    fx *f = *state;
    EVP_PKEY *priv = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(priv);
    assert_int_equal(H->import_pkey(&f->s, 0x70, priv, true, NULL), SSS_OK);
    sss_key *k = kopen(f, 0x70);
    assert_int_equal(k->info.type, SSS_KT_RSA_PAIR);
    assert_int_equal(k->info.bits, 2048);
    assert_int_equal(k->info.size, 256);
    assert_int_equal(k->info.origin, SSS_ORIGIN_EXTERNAL);

    uint8_t dg[64], sig[512], out[512];
    size_t dlen, slen;
    sha("SHA256", "data", 4, dg, &dlen);
    /* PKCS#1 v1.5 */
    sss_sig_params p1 = {.alg = SSS_SIG_RSA_PKCS1, .hash = SSS_HASH_SHA256};
    slen = sizeof(sig);
    assert_int_equal(H->sign(k, &p1, dg, dlen, sig, &slen), SSS_OK);
    assert_int_equal(slen, 256);
    assert_int_equal(ossl_verify(priv, "SHA256", RSA_PKCS1_PADDING, 0, dg, dlen, sig, slen), 1);
    assert_int_equal(H->verify(k, &p1, dg, dlen, sig, slen), SSS_OK);
    sig[0] ^= 1;
    assert_int_equal(H->verify(k, &p1, dg, dlen, sig, slen), SSS_ERR_VERIFY);
    /* PSS with salt = digest length, 0 and 20 */
    int salts[] = {-1, 0, 20};
    for (size_t i = 0; i < 3; i++) {
        sss_sig_params pp = {.alg = SSS_SIG_RSA_PSS, .hash = SSS_HASH_SHA256, .salt_len = salts[i]};
        int exp = salts[i] < 0 ? 32 : salts[i];
        slen = sizeof(sig);
        assert_int_equal(H->sign(k, &pp, dg, dlen, sig, &slen), SSS_OK);
        assert_int_equal(ossl_verify(priv, "SHA256", RSA_PKCS1_PSS_PADDING, exp, dg, dlen, sig,
                                     slen), 1);
        assert_int_equal(H->verify(k, &pp, dg, dlen, sig, slen), SSS_OK);
        sss_sig_params other = pp;
        other.salt_len = exp + 1;
        assert_int_equal(H->verify(k, &other, dg, dlen, sig, slen), SSS_ERR_VERIFY);
    }
    sss_sig_params bad = {.alg = SSS_SIG_RSA_PSS, .hash = SSS_HASH_SHA256, .salt_len = -5};
    slen = sizeof(sig);
    assert_int_equal(H->sign(k, &bad, dg, dlen, sig, &slen), SSS_ERR_ARG);
    bad.salt_len = 300;
    assert_int_equal(H->sign(k, &bad, dg, dlen, sig, &slen), SSS_ERR_ARG);
    bad.hash = SSS_HASH_NONE;
    bad.salt_len = -1;
    assert_int_equal(H->sign(k, &bad, dg, dlen, sig, &slen), SSS_ERR_ARG);
    /* an ECDSA request on an RSA key */
    sss_sig_params e = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    assert_int_equal(H->sign(k, &e, dg, dlen, sig, &slen), SSS_ERR_KEY_TYPE);

    /* OAEP / PKCS#1 decrypt of libcrypto ciphertexts; encrypt round trips */
    const uint8_t msg[] = "secret message";
    int pads[] = {RSA_PKCS1_OAEP_PADDING, RSA_PKCS1_PADDING};
    sss_rsa_pad spads[] = {SSS_RSA_PAD_OAEP_SHA1, SSS_RSA_PAD_PKCS1};
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
        size_t clen = sizeof(sig), olen = sizeof(out);
        assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
        assert_true(EVP_PKEY_CTX_set_rsa_padding(c, pads[i]) > 0);
        assert_int_equal(EVP_PKEY_encrypt(c, sig, &clen, msg, sizeof(msg)), 1);
        assert_int_equal(H->rsa_crypt(k, false, spads[i], sig, clen, out, &olen), SSS_OK);
        assert_int_equal(olen, sizeof(msg));
        assert_memory_equal(out, msg, sizeof(msg));
        /* ours encrypts, libcrypto decrypts */
        clen = sizeof(sig);
        assert_int_equal(H->rsa_crypt(k, true, spads[i], msg, sizeof(msg), sig, &clen), SSS_OK);
        assert_int_equal(clen, 256);
        assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
        assert_true(EVP_PKEY_CTX_set_rsa_padding(c, pads[i]) > 0);
        olen = sizeof(out);
        assert_int_equal(EVP_PKEY_decrypt(c, out, &olen, sig, clen), 1);
        assert_memory_equal(out, msg, sizeof(msg));
        EVP_PKEY_CTX_free(c);
        /* tampered ciphertext: an error, not garbage */
        sig[100] ^= 0x55;
        olen = sizeof(out);
        assert_int_not_equal(H->rsa_crypt(k, false, spads[i], sig, clen, out, &olen), SSS_OK);
    }
    /* raw: x^e^d = x */
    uint8_t x[256], y[256], z[256];
    RAND_bytes(x, sizeof(x));
    x[0] = 0x01;
    size_t ylen = sizeof(y), zlen = sizeof(z);
    assert_int_equal(H->rsa_crypt(k, true, SSS_RSA_PAD_NONE, x, 256, y, &ylen), SSS_OK);
    assert_int_equal(H->rsa_crypt(k, false, SSS_RSA_PAD_NONE, y, ylen, z, &zlen), SSS_OK);
    assert_memory_equal(x, z, 256);
    ylen = sizeof(y);
    assert_int_equal(H->rsa_crypt(k, true, SSS_RSA_PAD_NONE, x, 255, y, &ylen), SSS_ERR_ARG);
    /* oversized input, small output buffer, wrong ciphertext length */
    ylen = sizeof(y);
    assert_int_equal(H->rsa_crypt(k, true, SSS_RSA_PAD_OAEP_SHA1, x, 215, y, &ylen),
                     SSS_ERR_BUFFER);
    ylen = 100;
    assert_int_equal(H->rsa_crypt(k, true, SSS_RSA_PAD_PKCS1, x, 10, y, &ylen), SSS_ERR_BUFFER);
    assert_int_equal(ylen, 256);
    zlen = sizeof(z);
    assert_int_equal(H->rsa_crypt(k, false, SSS_RSA_PAD_PKCS1, y, 100, z, &zlen), SSS_ERR_ARG);

    /* public key read back equals the imported one */
    EVP_PKEY *pub = pubkey(k);
    assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
    EVP_PKEY_free(pub);
    kclose(k);

    /* a public-only import: verify and encrypt, no sign / decrypt */
    assert_int_equal(H->import_pkey(&f->s, 0x71, priv, false, NULL), SSS_OK);
    k = kopen(f, 0x71);
    assert_int_equal(k->info.type, SSS_KT_RSA_PUB);
    slen = sizeof(sig);
    assert_int_equal(H->sign(k, &p1, dg, dlen, sig, &slen), SSS_ERR_KEY_TYPE);
    assert_int_equal(pkey_sign_ok(priv, dg, dlen, sig, &slen), 1);
    assert_int_equal(H->verify(k, &p1, dg, dlen, sig, slen), SSS_OK);
    ylen = sizeof(y);
    assert_int_equal(H->rsa_crypt(k, false, SSS_RSA_PAD_PKCS1, sig, 256, y, &ylen),
                     SSS_ERR_KEY_TYPE);
    ylen = sizeof(y);
    assert_int_equal(H->rsa_crypt(k, true, SSS_RSA_PAD_PKCS1, msg, sizeof(msg), y, &ylen), SSS_OK);
    kclose(k);
    EVP_PKEY_free(priv);
}

/* ---- ECDH, EC imports -------------------------------------------------- */

static void derive_ossl(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *out, size_t *n)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, peer), 1);
    assert_int_equal(EVP_PKEY_derive(c, out, n), 1);
    EVP_PKEY_CTX_free(c);
}

static void t_ecdh(void **state)
{
    fx *f = *state;
    const char *groups[] = {"P-256", "P-384", "P-521", NULL, NULL};
    const char *raw[] = {NULL, NULL, NULL, "X25519", "X448"};
    uint8_t curves[] = {SSS_CURVE_P256, SSS_CURVE_P384, SSS_CURVE_P521, SSS_CURVE_X25519, 0x43};
    size_t lens[] = {32, 48, 66, 32, 56};
    for (size_t i = 0; i < 5; i++) {
        uint32_t id = 0x80 + (uint32_t)i;
        gen(f, id, SSS_KT_EC_PAIR, curves[i], 0, NULL);
        sss_key *k = kopen(f, id);
        EVP_PKEY *peer = groups[i] ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", groups[i])
                                   : EVP_PKEY_Q_keygen(NULL, NULL, raw[i]);
        EVP_PKEY *pub = pubkey(k);
        uint8_t a[80], b[80];
        size_t alen = sizeof(a), blen = sizeof(b);
        assert_int_equal(H->ecdh(k, peer, a, &alen), SSS_OK);
        derive_ossl(peer, pub, b, &blen);
        assert_int_equal(alen, lens[i]);
        assert_int_equal(blen, lens[i]);
        assert_memory_equal(a, b, alen);
        alen = 4;
        assert_int_equal(H->ecdh(k, peer, a, &alen), SSS_ERR_BUFFER);
        assert_int_equal(alen, lens[i]);
        EVP_PKEY_free(pub);
        EVP_PKEY_free(peer);
        kclose(k);
    }
    /* a peer on another curve */
    sss_key *k = kopen(f, 0x80);
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    uint8_t a[80];
    size_t alen = sizeof(a);
    assert_int_equal(H->ecdh(k, other, a, &alen), SSS_ERR_ARG);
    assert_true(file_contains(f->s.err, "curve"));
    EVP_PKEY_free(other);
    kclose(k);
}

static void t_ec_import(void **state)
{
    fx *f = *state;
    EVP_PKEY *priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_int_equal(H->import_pkey(&f->s, 0x90, priv, true, NULL), SSS_OK);
    assert_int_equal(H->import_pkey(&f->s, 0x91, priv, false, NULL), SSS_OK);
    sss_key *kp = kopen(f, 0x90), *kq = kopen(f, 0x91);
    assert_int_equal(kp->info.type, SSS_KT_EC_PAIR);
    assert_int_equal(kq->info.type, SSS_KT_EC_PUB);
    assert_int_equal(kq->info.curve, SSS_CURVE_P256);
    assert_int_equal(kq->info.origin, SSS_ORIGIN_EXTERNAL);
    uint8_t dg[32], sig[100];
    size_t dlen, slen = sizeof(sig);
    sha("SHA256", "x", 1, dg, &dlen);
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    assert_int_equal(H->sign(kp, &p, dg, dlen, sig, &slen), SSS_OK);
    assert_int_equal(ossl_verify(priv, "SHA256", 0, 0, dg, dlen, sig, slen), 1);
    assert_int_equal(H->verify(kq, &p, dg, dlen, sig, slen), SSS_OK);
    size_t s2 = sizeof(sig);
    assert_int_equal(H->sign(kq, &p, dg, dlen, sig, &s2), SSS_ERR_KEY_TYPE);
    /* SSS_HASH_NONE: a raw input up to 64 bytes */
    sss_sig_params raw = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_NONE};
    slen = sizeof(sig);
    assert_int_equal(H->sign(kp, &raw, dg, 20, sig, &slen), SSS_OK);
    assert_int_equal(ossl_verify(priv, NULL, 0, 0, dg, 20, sig, slen), 1);
    uint8_t ecdh[40];
    size_t elen = sizeof(ecdh);
    assert_int_equal(H->ecdh(kq, priv, ecdh, &elen), SSS_ERR_KEY_TYPE);
    EVP_PKEY *a = pubkey(kp), *b = pubkey(kq);
    assert_int_equal(EVP_PKEY_eq(a, priv), 1);
    assert_int_equal(EVP_PKEY_eq(b, priv), 1);
    /* key_public gives no private part */
    BIGNUM *bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(a, OSSL_PKEY_PARAM_PRIV_KEY, &bn), 0);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    kclose(kp);
    kclose(kq);

    /* a pair import without a private key; an unsupported curve */
    EVP_PKEY *pubonly = NULL;
    {
        uint8_t der[200], *w = der;
        int n = i2d_PUBKEY(priv, &w);
        const uint8_t *r = der;
        pubonly = d2i_PUBKEY(NULL, &r, n);
    }
    assert_int_equal(H->import_pkey(&f->s, 0x92, pubonly, true, NULL), SSS_ERR_ARG);
    EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    assert_int_equal(H->import_pkey(&f->s, 0x92, k1, true, NULL), SSS_ERR_UNSUPPORTED);
    EVP_PKEY *dsa = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    assert_int_equal(H->import_pkey(&f->s, 0x94, dsa, false, NULL), SSS_OK);
    sss_object_info info;
    assert_int_equal(H->info(&f->s, 0x94, &info), SSS_OK);
    assert_int_equal(info.curve, 0x10);
    assert_int_equal(info.type, SSS_KT_EC_PUB);
    EVP_PKEY_free(dsa);
    bool ex = true;
    assert_int_equal(H->exists(&f->s, 0x92, &ex), SSS_OK);
    assert_false(ex);
    /* Ed25519 import */
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_int_equal(H->import_pkey(&f->s, 0x93, ed, true, NULL), SSS_OK);
    sss_key *ke = kopen(f, 0x93);
    assert_int_equal(ke->info.curve, SSS_CURVE_ED25519);
    sss_sig_params pe = {.alg = SSS_SIG_EDDSA};
    slen = sizeof(sig);
    assert_int_equal(H->sign(ke, &pe, (const uint8_t *)"m", 1, sig, &slen), SSS_OK);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(c, NULL, NULL, NULL, ed), 1);
    assert_int_equal(EVP_DigestVerify(c, sig, slen, (const uint8_t *)"m", 1), 1);
    EVP_MD_CTX_free(c);
    kclose(ke);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(pubonly);
    EVP_PKEY_free(priv);
}

/* ---- symmetric, digest, random ----------------------------------------- */

static void t_mac(void **state)
{
    fx *f = *state;
    uint8_t hk[70];
    for (size_t i = 0; i < sizeof(hk); i++)
        hk[i] = (uint8_t)i;
    assert_int_equal(H->import_symmetric(&f->s, 0xA0, SSS_KT_HMAC, hk, sizeof(hk), NULL), SSS_OK);
    assert_int_equal(H->import_symmetric(&f->s, 0xA1, SSS_KT_AES, KEY16, 16, NULL), SSS_OK);
    const uint8_t data[] = "The quick brown fox";
    sss_mac_alg algs[] = {SSS_MAC_HMAC_SHA1, SSS_MAC_HMAC_SHA256, SSS_MAC_HMAC_SHA384,
                          SSS_MAC_HMAC_SHA512};
    const char *mds[] = {"SHA1", "SHA256", "SHA384", "SHA512"};
    sss_key *kh = kopen(f, 0xA0), *ka = kopen(f, 0xA1);
    assert_int_equal(kh->info.type, SSS_KT_HMAC);
    assert_int_equal(kh->info.size, 70);
    for (size_t i = 0; i < 4; i++) {
        uint8_t a[64], b[64];
        size_t alen = sizeof(a), blen = 0;
        assert_int_equal(H->mac(kh, algs[i], data, sizeof(data), a, &alen), SSS_OK);
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, mds[i], NULL, hk, sizeof(hk), data,
                                  sizeof(data), b, sizeof(b), &blen));
        assert_int_equal(alen, blen);
        assert_memory_equal(a, b, alen);
    }
    uint8_t a[64], b[64];
    size_t alen = sizeof(a), blen = 0;
    assert_int_equal(H->mac(ka, SSS_MAC_CMAC_AES, data, sizeof(data), a, &alen), SSS_OK);
    assert_non_null(EVP_Q_mac(NULL, "CMAC", NULL, "AES-128-CBC", NULL, KEY16, 16, data,
                              sizeof(data), b, sizeof(b), &blen));
    assert_int_equal(alen, 16);
    assert_memory_equal(a, b, 16);
    alen = sizeof(a);
    assert_int_equal(H->mac(ka, SSS_MAC_HMAC_SHA256, data, 3, a, &alen), SSS_ERR_KEY_TYPE);
    assert_int_equal(H->mac(kh, SSS_MAC_CMAC_AES, data, 3, a, &alen), SSS_ERR_KEY_TYPE);
    assert_int_equal(H->mac(kh, (sss_mac_alg)99, data, 3, a, &alen), SSS_ERR_ARG);
    alen = 10;
    assert_int_equal(H->mac(kh, SSS_MAC_HMAC_SHA256, data, 3, a, &alen), SSS_ERR_BUFFER);
    assert_int_equal(alen, 32);
    /* bad symmetric imports */
    assert_int_equal(H->import_symmetric(&f->s, 0xA2, SSS_KT_AES, KEY16, 15, NULL), SSS_ERR_ARG);
    assert_int_equal(H->import_symmetric(&f->s, 0xA2, SSS_KT_HMAC, hk, 0, NULL), SSS_ERR_ARG);
    assert_int_equal(H->import_symmetric(&f->s, 0xA2, SSS_KT_EC_PAIR, hk, 32, NULL),
                     SSS_ERR_UNSUPPORTED);
    kclose(kh);
    kclose(ka);
}

static void aes_ossl(const char *name, int enc, const uint8_t *key, const uint8_t *iv,
                     const uint8_t *in, size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    assert_int_equal(EVP_CipherInit_ex2(c, EVP_get_cipherbyname(name), key, iv, enc, NULL), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_CipherUpdate(c, out, &n, in, (int)len), 1);
    assert_int_equal(EVP_CipherFinal_ex(c, out + n, &m), 1);
    assert_int_equal((size_t)(n + m), len);
    EVP_CIPHER_CTX_free(c);
}

static void t_aes(void **state)
{
    fx *f = *state;
    uint8_t k32[32];
    RAND_bytes(k32, sizeof(k32));
    assert_int_equal(H->import_symmetric(&f->s, 0xB0, SSS_KT_AES, k32, 32, NULL), SSS_OK);
    sss_key *k = kopen(f, 0xB0);
    assert_int_equal(k->info.bits, 256);
    uint8_t iv[16], in[48], a[48], b[48], c[48];
    RAND_bytes(iv, sizeof(iv));
    RAND_bytes(in, sizeof(in));
    struct {
        sss_aes_mode m;
        const char *name;
        size_t len;
    } modes[] = {{SSS_AES_ECB, "AES-256-ECB", 48}, {SSS_AES_CBC, "AES-256-CBC", 32},
                 {SSS_AES_CTR, "AES-256-CTR", 37}};
    for (size_t i = 0; i < 3; i++) {
        size_t alen = sizeof(a), clen = sizeof(c);
        const uint8_t *v = modes[i].m == SSS_AES_ECB ? NULL : iv;
        size_t vlen = v ? 16 : 0;
        assert_int_equal(H->aes(k, modes[i].m, true, v, vlen, in, modes[i].len, a, &alen), SSS_OK);
        assert_int_equal(alen, modes[i].len);
        aes_ossl(modes[i].name, 1, k32, v, in, modes[i].len, b);
        assert_memory_equal(a, b, alen);
        assert_int_equal(H->aes(k, modes[i].m, false, v, vlen, a, alen, c, &clen), SSS_OK);
        assert_memory_equal(c, in, modes[i].len);
    }
    size_t alen = sizeof(a);
    assert_int_equal(H->aes(k, SSS_AES_CBC, true, iv, 16, in, 17, a, &alen), SSS_ERR_ARG);
    assert_int_equal(H->aes(k, SSS_AES_ECB, true, NULL, 0, in, 15, a, &alen), SSS_ERR_ARG);
    assert_int_equal(H->aes(k, SSS_AES_CBC, true, NULL, 0, in, 16, a, &alen), SSS_ERR_ARG);
    assert_int_equal(H->aes(k, SSS_AES_CTR, true, iv, 8, in, 16, a, &alen), SSS_ERR_ARG);
    assert_int_equal(H->aes(k, (sss_aes_mode)9, true, iv, 16, in, 16, a, &alen), SSS_ERR_ARG);
    alen = 16;
    assert_int_equal(H->aes(k, SSS_AES_ECB, true, NULL, 0, in, 32, a, &alen), SSS_ERR_BUFFER);
    assert_int_equal(alen, 32);
    kclose(k);
    /* AES on an HMAC key */
    gen(f, 0xB1, SSS_KT_HMAC, 0, 256, NULL);
    k = kopen(f, 0xB1);
    alen = sizeof(a);
    assert_int_equal(H->aes(k, SSS_AES_ECB, true, NULL, 0, in, 16, a, &alen), SSS_ERR_KEY_TYPE);
    kclose(k);
}

static void t_digest_rng(void **state)
{
    fx *f = *state;
    const char *names[] = {"SHA1", "SHA224", "SHA256", "SHA384", "SHA512"};
    sss_hash hs[] = {SSS_HASH_SHA1, SSS_HASH_SHA224, SSS_HASH_SHA256, SSS_HASH_SHA384,
                     SSS_HASH_SHA512};
    for (size_t i = 0; i < 5; i++) {
        uint8_t a[64], b[64];
        size_t alen = sizeof(a), blen;
        assert_int_equal(H->digest(&f->s, hs[i], (const uint8_t *)"abc", 3, a, &alen), SSS_OK);
        sha(names[i], "abc", 3, b, &blen);
        assert_int_equal(alen, blen);
        assert_memory_equal(a, b, alen);
    }
    uint8_t a[64];
    size_t alen = sizeof(a);
    assert_int_equal(H->digest(&f->s, SSS_HASH_NONE, a, 1, a, &alen), SSS_ERR_ARG);
    alen = 31;
    assert_int_equal(H->digest(&f->s, SSS_HASH_SHA256, a, 1, a, &alen), SSS_ERR_BUFFER);
    assert_int_equal(alen, 32);
    uint8_t r1[32] = {0}, r2[32] = {0}, zero[32] = {0};
    assert_int_equal(H->rng(&f->s, r1, sizeof(r1)), SSS_OK);
    assert_int_equal(H->rng(&f->s, r2, sizeof(r2)), SSS_OK);
    assert_memory_not_equal(r1, zero, 32);
    assert_memory_not_equal(r1, r2, 32);
    assert_int_equal(H->rng(&f->s, r1, 0), SSS_OK);
}

/* ---- binaries ---------------------------------------------------------- */

static void t_binary(void **state)
{
    fx *f = *state;
    uint8_t *big = malloc(HOST_BINARY_MAX + 1);
    RAND_bytes(big, HOST_BINARY_MAX + 1);
    assert_int_equal(H->binary_write(&f->s, 0xC0, big, HOST_BINARY_MAX, NULL), SSS_OK);
    uint8_t *back = malloc(HOST_BINARY_MAX);
    size_t len = HOST_BINARY_MAX;
    assert_int_equal(H->binary_read(&f->s, 0xC0, back, &len), SSS_OK);
    assert_int_equal(len, HOST_BINARY_MAX);
    assert_memory_equal(back, big, len);
    len = 100;
    assert_int_equal(H->binary_read(&f->s, 0xC0, back, &len), SSS_ERR_BUFFER);
    assert_int_equal(len, HOST_BINARY_MAX);
    assert_int_equal(H->binary_write(&f->s, 0xC1, big, HOST_BINARY_MAX + 1, NULL),
                     SSS_ERR_BUFFER);
    assert_int_equal(H->binary_write(&f->s, 0xC1, big, 0, NULL), SSS_ERR_ARG);
    len = 10;
    assert_int_equal(H->binary_read(&f->s, 0xC1, back, &len), SSS_ERR_NOT_FOUND);
    gen(f, 0xC2, SSS_KT_AES, 0, 128, NULL);
    len = HOST_BINARY_MAX;
    assert_int_equal(H->binary_read(&f->s, 0xC2, back, &len), SSS_ERR_KEY_TYPE);
    /* a binary is no key */
    sss_key *k = kopen(f, 0xC0);
    assert_int_equal(k->info.type, SSS_KT_BINARY);
    EVP_PKEY *p = NULL;
    assert_int_equal(H->key_public(k, &p), SSS_ERR_KEY_TYPE);
    sss_sig_params sp = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    uint8_t sig[100];
    size_t slen = sizeof(sig);
    assert_int_equal(H->sign(k, &sp, big, 32, sig, &slen), SSS_ERR_KEY_TYPE);
    kclose(k);
    free(big);
    free(back);
}

/* ---- policies ---------------------------------------------------------- */

static void t_policy(void **state)
{
    fx *f = *state;
    se05x_policy verify_only;
    se05x_policy_init(&verify_only);
    assert_int_equal(se05x_policy_add(&verify_only, 0, SE05X_AR_VERIFY), SE05X_OK);
    gen(f, 0xD0, SSS_KT_EC_PAIR, SSS_CURVE_P256, 0, &verify_only);
    sss_object_info info;
    assert_int_equal(H->info(&f->s, 0xD0, &info), SSS_OK);
    assert_int_equal(info.policy.n, 1);
    assert_int_equal(info.policy.e[0].auth_id, 0);
    assert_int_equal(info.policy.e[0].ar, SE05X_AR_VERIFY);

    sss_key *k = kopen(f, 0xD0);
    uint8_t dg[32] = {1}, sig[100];
    size_t slen = sizeof(sig);
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    assert_int_equal(H->sign(k, &p, dg, 32, sig, &slen), SSS_ERR_DENIED);
    assert_true(file_contains(f->s.err, "0x000000D0"));
    assert_true(file_contains(f->s.err, "sign"));
    assert_int_equal(H->verify(k, &p, dg, 32, (const uint8_t *)"x", 1), SSS_ERR_VERIFY);
    EVP_PKEY *pub = NULL;
    assert_int_equal(H->key_public(k, &pub), SSS_ERR_DENIED); /* no READ */
    assert_null(pub);
    uint8_t out[80];
    size_t olen = sizeof(out);
    EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_int_equal(H->ecdh(k, peer, out, &olen), SSS_ERR_DENIED);
    assert_int_equal(H->remove(&f->s, 0xD0), SSS_ERR_DENIED);
    bool ex = false;
    assert_int_equal(H->exists(&f->s, 0xD0, &ex), SSS_OK);
    assert_true(ex);
    kclose(k);

    /* rules only for another user: everything denied for the default user */
    se05x_policy other;
    se05x_policy_init(&other);
    assert_int_equal(se05x_policy_add(&other, 0x7DA00001, 0xFFFFFFFFu & ~SE05X_AR_FORBID_ALL),
                     SE05X_OK);
    assert_int_equal(H->binary_write(&f->s, 0xD1, (const uint8_t *)"abc", 3, &other), SSS_OK);
    olen = sizeof(out);
    assert_int_equal(H->binary_read(&f->s, 0xD1, out, &olen), SSS_ERR_DENIED);
    assert_int_equal(H->remove(&f->s, 0xD1), SSS_ERR_DENIED);

    /* read + delete allowed; forbid-all beats everything */
    se05x_policy rd;
    se05x_policy_init(&rd);
    assert_int_equal(se05x_policy_add(&rd, 0, SE05X_AR_READ | SE05X_AR_DELETE), SE05X_OK);
    assert_int_equal(H->binary_write(&f->s, 0xD2, (const uint8_t *)"abc", 3, &rd), SSS_OK);
    olen = sizeof(out);
    assert_int_equal(H->binary_read(&f->s, 0xD2, out, &olen), SSS_OK);
    assert_int_equal(olen, 3);
    assert_int_equal(H->remove(&f->s, 0xD2), SSS_OK);
    se05x_policy fa;
    se05x_policy_init(&fa);
    assert_int_equal(se05x_policy_add(&fa, 0, SE05X_AR_FORBID_ALL | SE05X_AR_READ), SE05X_OK);
    assert_int_equal(H->binary_write(&f->s, 0xD3, (const uint8_t *)"abc", 3, &fa), SSS_OK);
    olen = sizeof(out);
    assert_int_equal(H->binary_read(&f->s, 0xD3, out, &olen), SSS_ERR_DENIED);

    /* symmetric: ENC without DEC, SIGN for MAC */
    se05x_policy enc;
    se05x_policy_init(&enc);
    assert_int_equal(se05x_policy_add(&enc, 0, SE05X_AR_ENC), SE05X_OK);
    assert_int_equal(H->import_symmetric(&f->s, 0xD4, SSS_KT_AES, KEY16, 16, &enc), SSS_OK);
    k = kopen(f, 0xD4);
    olen = sizeof(out);
    assert_int_equal(H->aes(k, SSS_AES_ECB, true, NULL, 0, dg, 32, out, &olen), SSS_OK);
    olen = sizeof(out);
    assert_int_equal(H->aes(k, SSS_AES_ECB, false, NULL, 0, dg, 32, out, &olen), SSS_ERR_DENIED);
    olen = sizeof(out);
    assert_int_equal(H->mac(k, SSS_MAC_CMAC_AES, dg, 32, out, &olen), SSS_ERR_DENIED);
    kclose(k);

    /* RSA: DEC only */
    se05x_policy dec;
    se05x_policy_init(&dec);
    assert_int_equal(se05x_policy_add(&dec, 0, SE05X_AR_DEC | SE05X_AR_READ), SE05X_OK);
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_int_equal(H->import_pkey(&f->s, 0xD5, rsa, true, &dec), SSS_OK);
    k = kopen(f, 0xD5);
    uint8_t ct[128];
    size_t clen = sizeof(ct);
    assert_int_equal(H->rsa_crypt(k, true, SSS_RSA_PAD_PKCS1, dg, 16, ct, &clen), SSS_ERR_DENIED);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(rsa, NULL);
    clen = sizeof(ct);
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, ct, &clen, dg, 16), 1);
    EVP_PKEY_CTX_free(c);
    olen = sizeof(out);
    assert_int_equal(H->rsa_crypt(k, false, SSS_RSA_PAD_PKCS1, ct, clen, out, &olen), SSS_OK);
    assert_memory_equal(out, dg, 16);
    pub = pubkey(k); /* READ granted */
    EVP_PKEY_free(pub);
    kclose(k);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(peer);
}

/* ---- wrong key types --------------------------------------------------- */

static void t_key_type(void **state)
{
    fx *f = *state;
    gen(f, 0xE0, SSS_KT_AES, 0, 128, NULL);
    gen(f, 0xE1, SSS_KT_EC_PAIR, SSS_CURVE_P256, 0, NULL);
    sss_key *ka = kopen(f, 0xE0), *ke = kopen(f, 0xE1);
    uint8_t in[64] = {0}, out[512];
    size_t olen = sizeof(out);
    sss_sig_params ps[] = {{.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256},
                           {.alg = SSS_SIG_RSA_PKCS1, .hash = SSS_HASH_SHA256},
                           {.alg = SSS_SIG_RSA_PSS, .hash = SSS_HASH_SHA256, .salt_len = -1},
                           {.alg = SSS_SIG_EDDSA}};
    for (size_t i = 0; i < 4; i++) {
        olen = sizeof(out);
        assert_int_equal(H->sign(ka, &ps[i], in, 32, out, &olen), SSS_ERR_KEY_TYPE);
        assert_int_equal(H->verify(ka, &ps[i], in, 32, out, 64), SSS_ERR_KEY_TYPE);
    }
    for (size_t i = 1; i < 4; i++) {
        olen = sizeof(out);
        assert_int_equal(H->sign(ke, &ps[i], in, 32, out, &olen), SSS_ERR_KEY_TYPE);
    }
    sss_sig_params unk = {.alg = (sss_sig_alg)77};
    assert_int_equal(H->sign(ke, &unk, in, 32, out, &olen), SSS_ERR_ARG);
    EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    olen = sizeof(out);
    assert_int_equal(H->ecdh(ka, peer, out, &olen), SSS_ERR_KEY_TYPE);
    assert_int_equal(H->rsa_crypt(ke, true, SSS_RSA_PAD_PKCS1, in, 16, out, &olen),
                     SSS_ERR_KEY_TYPE);
    assert_int_equal(H->rsa_crypt(ka, false, SSS_RSA_PAD_PKCS1, in, 16, out, &olen),
                     SSS_ERR_KEY_TYPE);
    assert_int_equal(H->mac(ke, SSS_MAC_HMAC_SHA256, in, 16, out, &olen), SSS_ERR_KEY_TYPE);
    assert_int_equal(H->aes(ke, SSS_AES_ECB, true, NULL, 0, in, 16, out, &olen), SSS_ERR_KEY_TYPE);
    EVP_PKEY *p = NULL;
    assert_int_equal(H->key_public(ka, &p), SSS_ERR_KEY_TYPE);
    assert_true(file_contains(f->s.err, "0x000000E0"));
    EVP_PKEY_free(peer);
    kclose(ka);
    kclose(ke);
    /* operations on a deleted key */
    sss_key *k = kopen(f, 0xE1);
    assert_int_equal(H->remove(&f->s, 0xE1), SSS_OK);
    olen = sizeof(out);
    assert_int_equal(H->sign(k, &ps[0], in, 32, out, &olen), SSS_ERR_NOT_FOUND);
    kclose(k);
    sss_key k2 = {.s = &f->s, .info.id = 0xE1};
    assert_int_equal(H->key_open(&k2), SSS_ERR_NOT_FOUND);
}

/* ---- the store on disk ------------------------------------------------- */

static void t_file_mode(void **state)
{
    fx *f = *state;
    gen(f, 0xF0, SSS_KT_EC_PAIR, SSS_CURVE_P256, 0, NULL);
    assert_int_equal(H->binary_write(&f->s, 0xF1, (const uint8_t *)"x", 1, NULL), SSS_OK);
    char path[700];
    struct stat st;
    obj_path(f, 0xF0, path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    obj_path(f, 0xF1, path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* no temporary file left behind */
    DIR *d = opendir(f->dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
        else
            assert_true(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0);
    }
    closedir(d);
    assert_int_equal(n, 2);
}

static void write_bytes(const char *path, const uint8_t *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

static uint8_t *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t *b = malloc(100000);
    *n = fread(b, 1, 100000, fp);
    fclose(fp);
    return b;
}

static void expect_format(fx *f, uint32_t id, const char *name)
{
    sss_object_info info;
    assert_int_equal(H->info(&f->s, id, &info), SSS_ERR_FORMAT);
    assert_true(file_contains(f->s.err, name));
    sss_key k = {.s = &f->s, .info.id = id};
    assert_int_equal(H->key_open(&k), SSS_ERR_FORMAT);
    sss_object_info *l = NULL;
    size_t n = 0;
    assert_int_equal(H->list(&f->s, &l, &n), SSS_ERR_FORMAT);
    assert_true(file_contains(f->s.err, name));
}

static void t_corrupt(void **state)
{
    fx *f = *state;
    gen(f, 0x10, SSS_KT_EC_PAIR, SSS_CURVE_P256, 0, NULL);
    gen(f, 0x11, SSS_KT_AES, 0, 128, NULL);
    char p10[700], p11[700], p12[700], tmp[700];
    obj_path(f, 0x10, p10, sizeof(p10));
    obj_path(f, 0x11, p11, sizeof(p11));
    obj_path(f, 0x12, p12, sizeof(p12));

    /* a leftover temporary file and unrelated names are ignored */
    snprintf(tmp, sizeof(tmp), "%s/.00000012.obj.tmp-abcdef", f->dir);
    write_bytes(tmp, (const uint8_t *)"partial", 7);
    snprintf(tmp, sizeof(tmp), "%s/notes.txt", f->dir);
    write_bytes(tmp, (const uint8_t *)"x", 1);
    snprintf(tmp, sizeof(tmp), "%s/0000001g.obj", f->dir);
    write_bytes(tmp, (const uint8_t *)"x", 1);
    sss_object_info *l = NULL;
    size_t n = 0;
    assert_int_equal(H->list(&f->s, &l, &n), SSS_OK);
    assert_int_equal(n, 2);
    free(l);
    bool ex = true;
    assert_int_equal(H->exists(&f->s, 0x12, &ex), SSS_OK);
    assert_false(ex);
    gen(f, 0x12, SSS_KT_AES, 0, 128, NULL); /* the stale tmp does not block a write */

    size_t len = 0;
    uint8_t *img = read_bytes(p10, &len);
    /* truncated */
    write_bytes(p12, img, len / 2);
    expect_format(f, 0x12, "00000012.obj");
    assert_true(file_contains(f->s.err, "corrupt"));
    /* empty */
    write_bytes(p12, img, 0);
    expect_format(f, 0x12, "00000012.obj");
    /* one flipped bit in the material */
    img[40] ^= 0x01;
    write_bytes(p12, img, len);
    expect_format(f, 0x12, "00000012.obj");
    img[40] ^= 0x01;
    /* a valid file under another id's name */
    write_bytes(p12, img, len);
    expect_format(f, 0x12, "00000012.obj");
    /* garbage */
    uint8_t junk[300];
    RAND_bytes(junk, sizeof(junk));
    write_bytes(p12, junk, sizeof(junk));
    expect_format(f, 0x12, "00000012.obj");
    /* a directory under an object's name */
    unlink(p12);
    assert_int_equal(mkdir(p12, 0700), 0);
    expect_format(f, 0x12, "00000012.obj");
    rmdir(p12);
    /* every header field length-checked: all truncations of a real file */
    for (size_t cut = 0; cut < len; cut += 7) {
        write_bytes(p12, img, cut);
        sss_object_info info;
        assert_int_equal(H->info(&f->s, 0x12, &info), SSS_ERR_FORMAT);
    }
    /* trailing bytes */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, img, len);
    longer[len] = 0;
    write_bytes(p12, longer, len + 1);
    expect_format(f, 0x12, "00000012.obj");
    free(longer);
    unlink(p12);

    /* the untouched objects still work */
    sss_key *k = kopen(f, 0x10);
    uint8_t dg[32] = {0}, sig[100];
    size_t slen = sizeof(sig);
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    assert_int_equal(H->sign(k, &p, dg, 32, sig, &slen), SSS_OK);
    /* corruption after open: the operation reports it */
    size_t l11 = 0;
    uint8_t *i11 = read_bytes(p11, &l11);
    write_bytes(p10, i11, l11 - 3);
    slen = sizeof(sig);
    assert_int_equal(H->sign(k, &p, dg, 32, sig, &slen), SSS_ERR_FORMAT);
    assert_true(file_contains(f->s.err, "00000010.obj"));
    kclose(k);
    free(i11);
    free(img);
}

/* An object file written from the documented format (docs/sss-host-backend.md)
 * with a correct checksum, so that the checks behind it are reached. */
static void craft(fx *f, uint32_t id, uint8_t version, uint8_t type, uint8_t curve,
                  const uint8_t *pol, size_t plen, const uint8_t *mat, size_t mlen)
{
    uint8_t b[4096];
    size_t n = 0;
    memcpy(b, "SSSH", 4);
    b[4] = version;
    b[5] = type;
    b[6] = curve;
    b[7] = SSS_ORIGIN_EXTERNAL;
    b[8] = 0;
    b[9] = (uint8_t)(mlen * 8);
    b[10] = b[11] = b[12] = 0;
    b[13] = (uint8_t)mlen;
    b[14] = (uint8_t)(plen >> 8);
    b[15] = (uint8_t)plen;
    b[16] = (uint8_t)(mlen >> 24);
    b[17] = (uint8_t)(mlen >> 16);
    b[18] = (uint8_t)(mlen >> 8);
    b[19] = (uint8_t)mlen;
    b[20] = (uint8_t)(id >> 24);
    b[21] = (uint8_t)(id >> 16);
    b[22] = (uint8_t)(id >> 8);
    b[23] = (uint8_t)id;
    n = 24;
    if (plen)
        memcpy(b + n, pol, plen);
    n += plen;
    if (mlen)
        memcpy(b + n, mat, mlen);
    n += mlen;
    unsigned int l = 0;
    assert_int_equal(EVP_Digest(b, n, b + n, &l, EVP_sha256(), NULL), 1);
    n += l;
    char path[700];
    obj_path(f, id, path, sizeof(path));
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

static void t_crafted(void **state)
{
    fx *f = *state;
    /* a well-formed AES key written by hand is usable: the format is as documented */
    craft(f, 0x200, 1, SSS_KT_AES, 0, NULL, 0, KEY16, 16);
    sss_key *k = kopen(f, 0x200);
    assert_int_equal(k->info.bits, 128);
    uint8_t a[16], b[16];
    size_t alen = sizeof(a), blen = 0;
    assert_int_equal(H->mac(k, SSS_MAC_CMAC_AES, (const uint8_t *)"abc", 3, a, &alen), SSS_OK);
    assert_non_null(EVP_Q_mac(NULL, "CMAC", NULL, "AES-128-CBC", NULL, KEY16, 16,
                              (const uint8_t *)"abc", 3, b, sizeof(b), &blen));
    assert_memory_equal(a, b, 16);
    kclose(k);
    /* a hand-written policy entry (auth 0, SIGN only) is enforced */
    const uint8_t sign_only[] = {8, 0, 0, 0, 0, 0x10, 0, 0, 0};
    craft(f, 0x201, 1, SSS_KT_AES, 0, sign_only, sizeof(sign_only), KEY16, 16);
    k = kopen(f, 0x201);
    assert_int_equal(k->info.policy.n, 1);
    alen = sizeof(a);
    assert_int_equal(H->mac(k, SSS_MAC_CMAC_AES, (const uint8_t *)"abc", 3, a, &alen), SSS_OK);
    alen = sizeof(a);
    assert_int_equal(H->aes(k, SSS_AES_ECB, true, NULL, 0, KEY16, 16, a, &alen), SSS_ERR_DENIED);
    kclose(k);

    /* header-level faults: FORMAT from info */
    sss_object_info info;
    craft(f, 0x202, 2, SSS_KT_AES, 0, NULL, 0, KEY16, 16);
    assert_int_equal(H->info(&f->s, 0x202, &info), SSS_ERR_FORMAT);
    assert_true(file_contains(f->s.err, "version"));
    craft(f, 0x202, 1, 0xEE, 0, NULL, 0, KEY16, 16);
    assert_int_equal(H->info(&f->s, 0x202, &info), SSS_ERR_FORMAT);
    craft(f, 0x202, 1, SSS_KT_NONE, 0, NULL, 0, KEY16, 16);
    assert_int_equal(H->info(&f->s, 0x202, &info), SSS_ERR_FORMAT);
    const uint8_t badpol[] = {3, 0, 0, 0};
    craft(f, 0x202, 1, SSS_KT_AES, 0, badpol, sizeof(badpol), KEY16, 16);
    assert_int_equal(H->info(&f->s, 0x202, &info), SSS_ERR_FORMAT);
    assert_true(file_contains(f->s.err, "policy"));
    craft(f, 0x202, 1, SSS_KT_BINARY, 0, NULL, 0, KEY16, 0);
    assert_int_equal(H->info(&f->s, 0x202, &info), SSS_ERR_FORMAT);

    /* material-level faults: the header opens, the operation reports FORMAT */
    struct {
        uint8_t type, curve;
        int mat; /* 0 garbage, 1 P-384 PKCS#8, 2 15-byte key */
    } cases[] = {{SSS_KT_EC_PAIR, SSS_CURVE_P256, 0}, {SSS_KT_EC_PAIR, SSS_CURVE_P256, 1},
                 {SSS_KT_RSA_PAIR, 0, 1},            {SSS_KT_EC_PUB, SSS_CURVE_P384, 1},
                 {SSS_KT_AES, 0, 2}};
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(p384);
    uint8_t der[400], *w = der;
    int dlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &w);
    PKCS8_PRIV_KEY_INFO_free(p8);
    uint8_t junk[100];
    memset(junk, 0x30, sizeof(junk));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const uint8_t *m = cases[i].mat == 1 ? der : junk;
        size_t ml = cases[i].mat == 1 ? (size_t)dlen : cases[i].mat == 2 ? 15 : sizeof(junk);
        craft(f, 0x203, 1, cases[i].type, cases[i].curve, NULL, 0, m, ml);
        k = kopen(f, 0x203);
        uint8_t out[600];
        size_t olen = sizeof(out);
        sss_status rc;
        if (cases[i].type == SSS_KT_AES) {
            rc = H->mac(k, SSS_MAC_CMAC_AES, junk, 16, out, &olen);
        } else if (cases[i].type == SSS_KT_EC_PUB) {
            sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA384};
            rc = H->verify(k, &p, junk, 48, junk, 60);
        } else {
            sss_sig_params p = {.alg = cases[i].type == SSS_KT_RSA_PAIR ? SSS_SIG_RSA_PKCS1
                                                                        : SSS_SIG_ECDSA,
                                .hash = SSS_HASH_SHA256};
            rc = H->sign(k, &p, junk, 32, out, &olen);
        }
        assert_int_equal(rc, SSS_ERR_FORMAT);
        assert_true(file_contains(f->s.err, "00000203.obj"));
        EVP_PKEY *pub = NULL;
        if (cases[i].type != SSS_KT_AES)
            assert_int_equal(H->key_public(k, &pub), SSS_ERR_FORMAT);
        kclose(k);
    }
    EVP_PKEY_free(p384);
}

/* Several processes on one store: concurrent creation of one id gives one
 * winner (the others SSS_ERR_EXISTS, never a torn file); concurrent signing
 * works. */
static void t_processes(void **state)
{
    fx *f = *state;
    gen(f, 0x300, SSS_KT_EC_PAIR, SSS_CURVE_P256, 0, NULL);
    enum { N = 4 };
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            sss_session s;
            if (open_store(&s, f->dir) != SSS_OK)
                _exit(10);
            sss_keygen g = {.type = SSS_KT_AES, .bits = 256};
            sss_status rc = H->generate(&s, 0x301, &g, NULL);
            int code = rc == SSS_OK ? 0 : rc == SSS_ERR_EXISTS ? 1 : 11;
            sss_key k = {.s = &s, .info.id = 0x300};
            sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
            uint8_t dg[32] = {(uint8_t)i}, sig[100];
            for (int j = 0; j < 20 && code < 10; j++) {
                size_t n = sizeof(sig);
                if (H->key_open(&k) != SSS_OK || H->sign(&k, &p, dg, 32, sig, &n) != SSS_OK ||
                    H->verify(&k, &p, dg, 32, sig, n) != SSS_OK)
                    code = 12;
            }
            H->close(&s);
            _exit(code);
        }
    }
    int winners = 0;
    for (int i = 0; i < N; i++) {
        int st = 0;
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st));
        assert_true(WEXITSTATUS(st) <= 1);
        winners += WEXITSTATUS(st) == 0;
    }
    assert_int_equal(winners, 1);
    sss_object_info info;
    assert_int_equal(H->info(&f->s, 0x301, &info), SSS_OK);
    assert_int_equal(info.type, SSS_KT_AES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_open, setup, teardown),
        cmocka_unit_test_setup_teardown(t_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(t_generate_args, setup, teardown),
        cmocka_unit_test_setup_teardown(t_ecdsa, setup, teardown),
        cmocka_unit_test_setup_teardown(t_eddsa, setup, teardown),
        cmocka_unit_test_setup_teardown(t_rsa, setup, teardown),
        cmocka_unit_test_setup_teardown(t_ecdh, setup, teardown),
        cmocka_unit_test_setup_teardown(t_ec_import, setup, teardown),
        cmocka_unit_test_setup_teardown(t_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(t_aes, setup, teardown),
        cmocka_unit_test_setup_teardown(t_digest_rng, setup, teardown),
        cmocka_unit_test_setup_teardown(t_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(t_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(t_key_type, setup, teardown),
        cmocka_unit_test_setup_teardown(t_file_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(t_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(t_crafted, setup, teardown),
        cmocka_unit_test_setup_teardown(t_processes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
