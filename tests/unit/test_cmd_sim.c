/* Round trips of the typed SE05x commands against the in-process
 * simulator ("sim:DIR"): versions, UID, memory, random, EC key generation
 * and import with policies, ECDSA sign/verify checked on the host with
 * OpenSSL, chunked binary write/read, RSA import and signature, id listing
 * and deletion. Complements the byte-exact capture tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "se05x/commands.h"
#include "testutil.h"

/* Skip (visibly) when the simulator build lacks crypto commands (6D00). */
#define SKIP_IF_NO_CRYPTO(c, st)                                                 \
    do {                                                                         \
        if ((st) == SE05X_ERR_SW && se05x_conn_last_sw(c) == SE05X_SW_INS_NOT_SUPPORTED) \
            skip();                                                              \
    } while (0)

typedef struct {
    char *dir;
    se05x_conn *c;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_tempdir("cmdsim");
    char cs[1100];
    snprintf(cs, sizeof(cs), "sim:%s", f->dir);
    if (se05x_conn_open(cs, NULL, &f->c) != SE05X_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    se05x_conn_close(f->c);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Verify a DER ECDSA signature over digest with an uncompressed point. */
static int host_ecdsa_verify(const char *group, const uint8_t *pub, size_t pl, const uint8_t *dg,
                             size_t dl, const uint8_t *sig, size_t sl)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, pl);
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    EVP_PKEY_fromdata_init(kc);
    EVP_PKEY_fromdata(kc, &k, EVP_PKEY_PUBLIC_KEY, p);
    EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new(k, NULL);
    EVP_PKEY_verify_init(vc);
    int r = EVP_PKEY_verify(vc, sig, sl, dg, dl);
    EVP_PKEY_CTX_free(vc);
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(kc);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(b);
    return r;
}

static void test_info(void **state)
{
    fixture *f = *state;
    se05x_version v;
    assert_int_equal(se05x_get_version(f->c, &v, NULL), SE05X_OK);
    assert_true(v.major == 7 || v.major == 3);
    uint8_t uid[SE05X_UID_LEN];
    assert_int_equal(se05x_read_uid(f->c, uid), SE05X_OK);
    uint32_t fm = 0;
    assert_int_equal(se05x_get_free_memory(f->c, SE05X_MEM_PERSISTENT, &fm), SE05X_OK);
    assert_true(fm > 0);
    uint8_t rnd[700];
    memset(rnd, 0, sizeof(rnd));
    assert_int_equal(se05x_get_random(f->c, rnd, sizeof(rnd)), SE05X_OK);
    int nz = 0;
    for (size_t i = 0; i < sizeof(rnd); i++)
        nz += rnd[i] != 0;
    assert_true(nz > 600);
}

static void test_ec_generate_sign(void **state)
{
    fixture *f = *state;
    const uint32_t id = 0xF0001001;
    se05x_policy pol;
    se05x_policy_init(&pol);
    se05x_policy_add(&pol, 0, SE05X_AR_SIGN | SE05X_AR_VERIFY | SE05X_AR_READ | SE05X_AR_DELETE |
                                  SE05X_AR_GEN | SE05X_AR_WRITE);
    se05x_obj_opts o = {.policy = &pol};
    assert_int_equal(se05x_ec_generate(f->c, &o, id, SE05X_CURVE_NIST_P256), SE05X_OK);
    bool ex = false;
    assert_int_equal(se05x_object_exists(f->c, id, &ex), SE05X_OK);
    assert_true(ex);
    uint8_t type = 0, kp = 0, cv = 0;
    assert_int_equal(se05x_read_type(f->c, id, &type, NULL), SE05X_OK);
    assert_true(se05x_type_ec_info(type, &kp, &cv));
    assert_int_equal(kp, SE05X_KEY_PAIR);
    uint16_t size = 0;
    assert_int_equal(se05x_read_size(f->c, id, &size), SE05X_OK);
    assert_int_equal(size, 32);
    uint8_t pub[100];
    size_t pl = sizeof(pub);
    assert_int_equal(se05x_read_object(f->c, id, 0, 0, pub, &pl), SE05X_OK);
    assert_int_equal(pl, 65);
    assert_int_equal(pub[0], 0x04);
    /* regenerate in place: same curve accepted */
    assert_int_equal(se05x_ec_generate(f->c, &o, id, SE05X_CURVE_NIST_P256), SE05X_OK);
    /* listed, then deleted */
    uint32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(se05x_read_id_list(f->c, SE05X_TYPE_ALL, &ids, &n), SE05X_OK);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= ids[i] == id;
    free(ids);
    assert_true(found);
    assert_int_equal(se05x_delete_object(f->c, id), SE05X_OK);
    assert_int_equal(se05x_object_exists(f->c, id, &ex), SE05X_OK);
    assert_false(ex);
    assert_int_equal(se05x_delete_object(f->c, id), SE05X_ERR_SW);
    assert_non_null(strstr(se05x_conn_errmsg(f->c), "DeleteSecureObject 0xF0001001: SE answered"));
    /* generate again and sign with it */
    assert_int_equal(se05x_ec_generate(f->c, &o, id, SE05X_CURVE_NIST_P256), SE05X_OK);
    pl = sizeof(pub);
    assert_int_equal(se05x_read_object(f->c, id, 0, 0, pub, &pl), SE05X_OK);
    uint8_t dg[32], sig[80];
    memset(dg, 0x42, sizeof(dg));
    size_t sl = sizeof(sig);
    se05x_status st = se05x_ecdsa_sign(f->c, id, SE05X_ECSIGN_SHA256, dg, 32, sig, &sl);
    SKIP_IF_NO_CRYPTO(f->c, st);
    assert_int_equal(st, SE05X_OK);
    assert_int_equal(host_ecdsa_verify("prime256v1", pub, pl, dg, 32, sig, sl), 1);
    bool ok = false;
    assert_int_equal(se05x_ecdsa_verify(f->c, id, SE05X_ECSIGN_SHA256, dg, 32, sig, sl, &ok), SE05X_OK);
    assert_true(ok);
    dg[0] ^= 1;
    assert_int_equal(se05x_ecdsa_verify(f->c, id, SE05X_ECSIGN_SHA256, dg, 32, sig, sl, &ok), SE05X_OK);
    assert_false(ok);
}

static void test_ec_import(void **state)
{
    fixture *f = *state;
    const uint32_t id = 0xF0001002;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    BIGNUM *d = NULL;
    uint8_t priv[32], pub[65];
    size_t pl = 0;
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
    assert_int_equal(BN_bn2binpad(d, priv, 32), 32);
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, 65, &pl), 1);
    assert_int_equal(se05x_ec_import(f->c, NULL, id, SE05X_CURVE_NIST_P256, priv, 32, pub, 65),
                     SE05X_OK);
    uint8_t back[80];
    size_t bl = sizeof(back);
    assert_int_equal(se05x_read_object(f->c, id, 0, 0, back, &bl), SE05X_OK);
    assert_int_equal(bl, 65);
    assert_memory_equal(back, pub, 65);
    uint8_t dg[32], sig[80];
    size_t sl = sizeof(sig);
    memset(dg, 7, sizeof(dg));
    se05x_status st = se05x_ecdsa_sign(f->c, id, SE05X_ECSIGN_SHA256, dg, 32, sig, &sl);
    if (st == SE05X_ERR_SW && se05x_conn_last_sw(f->c) == SE05X_SW_INS_NOT_SUPPORTED) {
        BN_clear_free(d);
        EVP_PKEY_free(k);
        skip();
    }
    assert_int_equal(st, SE05X_OK);
    assert_int_equal(host_ecdsa_verify("prime256v1", pub, 65, dg, 32, sig, sl), 1);
    /* a public-key object on another id */
    assert_int_equal(se05x_ec_import(f->c, NULL, id + 1, SE05X_CURVE_NIST_P256, NULL, 0, pub, 65),
                     SE05X_OK);
    bool ok = false;
    assert_int_equal(se05x_ecdsa_verify(f->c, id + 1, SE05X_ECSIGN_SHA256, dg, 32, sig, sl, &ok),
                     SE05X_OK);
    assert_true(ok);
    BN_clear_free(d);
    EVP_PKEY_free(k);
}

static void test_binary(void **state)
{
    fixture *f = *state;
    const uint32_t id = 0xF0001010;
    uint8_t data[1200], back[1300];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    assert_int_equal(se05x_write_binary(f->c, NULL, id, data, sizeof(data), false), SE05X_OK);
    size_t bl = sizeof(back);
    assert_int_equal(se05x_read_binary(f->c, id, back, &bl), SE05X_OK);
    assert_int_equal(bl, sizeof(data));
    assert_memory_equal(back, data, sizeof(data));
    /* update in place */
    memset(data, 0x5C, 600);
    assert_int_equal(se05x_write_binary(f->c, NULL, id, data, 600, true), SE05X_OK);
    bl = sizeof(back);
    assert_int_equal(se05x_read_binary(f->c, id, back, &bl), SE05X_OK);
    assert_memory_equal(back, data, sizeof(data));
    /* creating it again fails with an SE status word */
    assert_int_equal(se05x_write_binary(f->c, NULL, id, data, 10, false), SE05X_ERR_SW);
}

static void test_rsa_import_sign(void **state)
{
    fixture *f = *state;
    const uint32_t id = 0xF0001020;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(k);
    const char *names[] = {OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
                           OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
                           OSSL_PKEY_PARAM_RSA_COEFFICIENT1, OSSL_PKEY_PARAM_RSA_E,
                           OSSL_PKEY_PARAM_RSA_N};
    uint8_t buf[7][256];
    size_t len[7];
    for (int i = 0; i < 7; i++) {
        BIGNUM *bn = NULL;
        assert_int_equal(EVP_PKEY_get_bn_param(k, names[i], &bn), 1);
        len[i] = (size_t)BN_bn2bin(bn, buf[i]);
        BN_clear_free(bn);
    }
    se05x_rsa_comps c = {.p = buf[0], .p_len = len[0], .q = buf[1], .q_len = len[1],
                         .dp = buf[2], .dp_len = len[2], .dq = buf[3], .dq_len = len[3],
                         .qinv = buf[4], .qinv_len = len[4], .e = buf[5], .e_len = len[5],
                         .n = buf[6], .n_len = len[6]};
    assert_int_equal(se05x_rsa_import(f->c, NULL, id, 2048, SE05X_KEY_PAIR, &c, false), SE05X_OK);
    uint8_t mod[300];
    size_t ml = sizeof(mod);
    assert_int_equal(se05x_read_rsa_component(f->c, id, SE05X_RSA_COMP_MOD, mod, &ml), SE05X_OK);
    assert_int_equal(ml, 256);
    assert_memory_equal(mod, buf[6], 256);
    uint8_t sig[256];
    size_t sl = sizeof(sig);
    const uint8_t msg[] = "hello, se05x";
    se05x_status st = se05x_rsa_sign(f->c, id, SE05X_RSASIGN_PKCS1_SHA256, msg, sizeof(msg), 0, sig, &sl);
    if (st == SE05X_ERR_SW && se05x_conn_last_sw(f->c) == SE05X_SW_INS_NOT_SUPPORTED) {
        EVP_PKEY_free(k);
        skip();
    }
    assert_int_equal(st, SE05X_OK);
    assert_int_equal(sl, 256);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, "SHA256", NULL, NULL, k, NULL), 1);
    assert_int_equal(EVP_DigestVerify(m, sig, sl, msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(m);
    bool ok = false;
    assert_int_equal(se05x_rsa_verify(f->c, id, SE05X_RSASIGN_PKCS1_SHA256, msg, sizeof(msg), 0, sig, sl,
                                      &ok), SE05X_OK);
    assert_true(ok);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ec_generate_sign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ec_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_import_sign, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
