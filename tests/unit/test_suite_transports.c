/* The hostlib + simulator suite, run identically over every transport:
 * in-process (sim:DIR), JRCP v1 over TCP, T=1 over the virtual I2C, and
 * JRCP with platform SCP03. One card directory sits behind all of them
 * (the servers run in this process on their own card handles), so each
 * group also proves the transports reach the same chip. Typed commands from
 * hostlib drive the simulator; results are checked with libcrypto. */
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
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "se05x/commands.h"
#include "se05x/conn.h"
#include "sesim/servers.h"
#include "sesim/sesim.h"
#include "testutil.h"

static char *g_dir;
static sesim *g_card;
static sesim_jrcp_server *g_jrcp;
static sesim_t1_server *g_t1;
static char g_cs_sim[1100], g_cs_jrcp[64], g_cs_t1[1100], g_keyfile[1100];
static uint8_t g_uid[18];
static bool g_have_uid;

typedef struct {
    const char *name;
    const char *connstr;
    const char *keyfile;
    uint32_t idbase; /* distinct object ids per transport */
} link_t;

static link_t g_links[4];
static link_t *g_link;

static int suite_setup(void **state)
{
    g_dir = tu_tempdir("suite");
    if (!g_dir)
        return -1;
    /* platform SCP03 keys for this card: random, in a key file both the
     * card and the host read */
    snprintf(g_keyfile, sizeof(g_keyfile), "%s.scp03", g_dir);
    FILE *f = fopen(g_keyfile, "w");
    if (!f)
        return -1;
    fprintf(f, "# test keys\n");
    const char *names[] = {"ENC", "MAC", "DEK"};
    for (int k = 0; k < 3; k++) {
        uint8_t key[16];
        RAND_bytes(key, sizeof(key));
        fprintf(f, "%s ", names[k]);
        for (int i = 0; i < 16; i++)
            fprintf(f, "%02X", key[i]);
        fprintf(f, "\n");
    }
    fclose(f);
    sesim_opts o;
    sesim_opts_default(&o);
    o.quiet = true;
    o.scp03_keyfile = g_keyfile;
    if (sesim_open(g_dir, &o, &g_card) != SE05X_OK)
        return -1;
    sesim_card_if cif = sesim_card_if_for(g_card);
    if (sesim_jrcp_server_start(&cif, "127.0.0.1", 0, &g_jrcp) != SE05X_OK)
        return -1;
    snprintf(g_cs_t1, sizeof(g_cs_t1), "%s.sock", g_dir);
    if (sesim_t1_server_start(&cif, g_cs_t1, NULL, &g_t1) != SE05X_OK)
        return -1;
    snprintf(g_cs_sim, sizeof(g_cs_sim), "sim:%s", g_dir);
    snprintf(g_cs_jrcp, sizeof(g_cs_jrcp), "127.0.0.1:%u", sesim_jrcp_server_port(g_jrcp));
    char t1[1100];
    if (snprintf(t1, sizeof(t1), "t1:%s", g_cs_t1) >= (int)sizeof(t1))
        return -1;
    strcpy(g_cs_t1, t1);
    g_links[0] = (link_t){"inproc", g_cs_sim, NULL, 0x30000000};
    g_links[1] = (link_t){"jrcp", g_cs_jrcp, NULL, 0x31000000};
    g_links[2] = (link_t){"t1", g_cs_t1, NULL, 0x32000000};
    g_links[3] = (link_t){"jrcp+scp03", g_cs_jrcp, g_keyfile, 0x33000000};
    return 0;
}

static int suite_teardown(void **state)
{
    sesim_t1_server_stop(g_t1);
    sesim_jrcp_server_stop(g_jrcp);
    sesim_close(g_card);
    tu_rmtree(g_dir);
    free(g_dir);
    return 0;
}

static se05x_conn *open_link(void)
{
    se05x_conn *c = NULL;
    char err[256];
    se05x_conn_opts o = {.scp03_keyfile = g_link->keyfile};
    se05x_status st = se05x_conn_open_err(g_link->connstr, &o, &c, err, sizeof(err));
    if (st != SE05X_OK)
        fail_msg("%s: open failed: %s", g_link->name, err);
    return c;
}

static void test_select_version_uid(void **state)
{
    se05x_conn *c = open_link();
    const uint8_t *v = se05x_conn_applet_version(c);
    assert_int_equal(v[0], 7);
    se05x_version ver;
    uint8_t raw[7];
    assert_int_equal(se05x_get_version(c, &ver, raw), SE05X_OK);
    assert_memory_equal(raw, v, 7);
    uint8_t uid[18];
    assert_int_equal(se05x_read_uid(c, uid), SE05X_OK);
    if (!g_have_uid) {
        memcpy(g_uid, uid, 18);
        g_have_uid = true;
    }
    assert_memory_equal(uid, g_uid, 18); /* same chip behind every link */
    se05x_conn_close(c);
}

static void test_factory_objects(void **state)
{
    se05x_conn *c = open_link();
    uint32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(se05x_read_id_list(c, SE05X_TYPE_ALL, &ids, &n), SE05X_OK);
    const uint32_t want[] = {0xF0000000, 0xF0000001, 0xF0000004, 0xF0000005, 0xF0000012, 0xF0000020};
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= ids[i] == want[k];
        if (!found)
            fail_msg("factory object 0x%08X missing from ReadIDList", want[k]);
    }
    free(ids);
    se05x_conn_close(c);
}

static void test_binary_chunked(void **state)
{
    se05x_conn *c = open_link();
    uint32_t id = g_link->idbase + 1;
    uint8_t data[1200], back[1300];
    size_t len = sizeof(back);
    RAND_bytes(data, sizeof(data));
    assert_int_equal(se05x_write_binary(c, NULL, id, data, sizeof(data), false), SE05X_OK);
    assert_int_equal(se05x_read_binary(c, id, back, &len), SE05X_OK);
    assert_int_equal(len, sizeof(data));
    assert_memory_equal(back, data, sizeof(data));
    /* rewrite in place and read again */
    data[0] ^= 0xFF;
    data[1199] ^= 0xFF;
    assert_int_equal(se05x_write_binary(c, NULL, id, data, sizeof(data), true), SE05X_OK);
    len = sizeof(back);
    assert_int_equal(se05x_read_binary(c, id, back, &len), SE05X_OK);
    assert_memory_equal(back, data, sizeof(data));
    assert_int_equal(se05x_delete_object(c, id), SE05X_OK);
    bool exists = true;
    assert_int_equal(se05x_object_exists(c, id, &exists), SE05X_OK);
    assert_false(exists);
    se05x_conn_close(c);
}

static EVP_PKEY *p256_from_point(const uint8_t *pub, size_t len)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, len);
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    EVP_PKEY_fromdata_init(ctx);
    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, p);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(b);
    return k;
}

static void test_ec_sign_verify_ecdh(void **state)
{
    se05x_conn *c = open_link();
    uint32_t id = g_link->idbase + 2;
    assert_int_equal(se05x_ec_generate(c, NULL, id, SE05X_CURVE_NIST_P256), SE05X_OK);
    uint8_t pub[100];
    size_t plen = sizeof(pub);
    assert_int_equal(se05x_read_object(c, id, 0, 0, pub, &plen), SE05X_OK);
    assert_int_equal(plen, 65);
    assert_int_equal(pub[0], 0x04);
    EVP_PKEY *k = p256_from_point(pub, plen);
    assert_non_null(k);
    uint8_t digest[32], sig[80];
    size_t slen = sizeof(sig);
    RAND_bytes(digest, sizeof(digest));
    assert_int_equal(se05x_ecdsa_sign(c, id, SE05X_ECSIGN_SHA256, digest, 32, sig, &slen), SE05X_OK);
    EVP_PKEY_CTX *v = EVP_PKEY_CTX_new(k, NULL);
    assert_int_equal(EVP_PKEY_verify_init(v), 1);
    assert_int_equal(EVP_PKEY_verify(v, sig, slen, digest, 32), 1);
    EVP_PKEY_CTX_free(v);
    bool valid = false;
    assert_int_equal(se05x_ecdsa_verify(c, id, SE05X_ECSIGN_SHA256, digest, 32, sig, slen, &valid),
                     SE05X_OK);
    assert_true(valid);
    digest[0] ^= 1;
    assert_int_equal(se05x_ecdsa_verify(c, id, SE05X_ECSIGN_SHA256, digest, 32, sig, slen, &valid),
                     SE05X_OK);
    assert_false(valid);
    /* ECDH with a host ephemeral key equals libcrypto's derive */
    EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t epub[100], se_secret[80], host_secret[80];
    size_t eplen = 0, sslen = sizeof(se_secret), hslen = sizeof(host_secret);
    EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, epub, sizeof(epub), &eplen);
    assert_int_equal(se05x_ecdh(c, id, epub, eplen, se_secret, &sslen), SE05X_OK);
    EVP_PKEY_CTX *d = EVP_PKEY_CTX_new(eph, NULL);
    EVP_PKEY_derive_init(d);
    EVP_PKEY_derive_set_peer(d, k);
    assert_int_equal(EVP_PKEY_derive(d, host_secret, &hslen), 1);
    assert_int_equal(sslen, hslen);
    assert_memory_equal(se_secret, host_secret, hslen);
    EVP_PKEY_CTX_free(d);
    EVP_PKEY_free(eph);
    EVP_PKEY_free(k);
    assert_int_equal(se05x_delete_object(c, id), SE05X_OK);
    se05x_conn_close(c);
}

static void test_policies(void **state)
{
    se05x_conn *c = open_link();
    uint32_t id = g_link->idbase + 3;
    se05x_policy pol;
    se05x_policy_init(&pol);
    se05x_policy_add(&pol, 0, SE05X_AR_READ | SE05X_AR_DELETE | SE05X_AR_VERIFY);
    se05x_obj_opts o = {.policy = &pol};
    assert_int_equal(se05x_ec_generate(c, &o, id, SE05X_CURVE_NIST_P256), SE05X_OK);
    uint8_t digest[32] = {1}, sig[80];
    size_t slen = sizeof(sig);
    assert_int_equal(se05x_ecdsa_sign(c, id, SE05X_ECSIGN_SHA256, digest, 32, sig, &slen),
                     SE05X_ERR_SW);
    assert_int_equal(se05x_conn_last_sw(c), 0x6986);
    assert_int_equal(se05x_delete_object(c, id), SE05X_OK);
    /* private keys are never readable */
    uint8_t key[16], out[64];
    size_t olen = sizeof(out);
    RAND_bytes(key, sizeof(key));
    assert_int_equal(se05x_write_symm_key(c, NULL, id + 1, SE05X_P1_AES, 0, key, 16), SE05X_OK);
    assert_int_equal(se05x_read_object(c, id + 1, 0, 0, out, &olen), SE05X_ERR_SW);
    assert_int_equal(se05x_conn_last_sw(c), 0x6985);
    assert_int_equal(se05x_delete_object(c, id + 1), SE05X_OK);
    se05x_conn_close(c);
}

static void raw_sw(se05x_conn *c, const char *hex, uint16_t want)
{
    uint8_t cmd[2048], r[SE05X_APDU_MAX];
    size_t n = 0, rl;
    for (const char *p = hex; p[0] && p[1]; p += 2) {
        unsigned b;
        sscanf(p, "%2x", &b);
        cmd[n++] = (uint8_t)b;
    }
    assert_int_equal(se05x_conn_raw(c, cmd, n, r, sizeof(r), &rl), SE05X_OK);
    assert_true(rl >= 2);
    uint16_t sw = (uint16_t)((r[rl - 2] << 8) | r[rl - 1]);
    if (sw != want)
        fail_msg("%s over %s answered %04X, expected %04X", hex, g_link->name, sw, want);
}

static void test_bad_input(void **state)
{
    if (g_link->keyfile)
        skip(); /* raw plain APDUs are refused inside a secure channel */
    se05x_conn *c = open_link();
    raw_sw(c, "801F000000", 0x6D00);              /* unknown INS */
    raw_sw(c, "800400270341050000", 0x6A80);      /* TLV length beyond the data */
    raw_sw(c, "80040027", 0x6A80);                /* CheckObjectExists without its id */
    raw_sw(c, "8004", 0x6700);                    /* truncated APDU */
    raw_sw(c, "800400270641047FFF020641047FFF0206", 0x6700); /* Lc disagrees with the data */
    /* oversized data: 1100 bytes in an extended APDU */
    char big[2 * 1110 + 32];
    strcpy(big, "8001060000044C");
    for (int i = 0; i < 1100; i++)
        strcat(big, "AA");
    raw_sw(c, big, 0x6700);
    /* the link still serves normal commands afterwards */
    uint8_t uid[18];
    assert_int_equal(se05x_read_uid(c, uid), SE05X_OK);
    se05x_conn_close(c);
}

static void test_random(void **state)
{
    se05x_conn *c = open_link();
    uint8_t a[64] = {0}, b[64] = {0}, z[64] = {0};
    assert_int_equal(se05x_get_random(c, a, sizeof(a)), SE05X_OK);
    assert_int_equal(se05x_get_random(c, b, sizeof(b)), SE05X_OK);
    assert_memory_not_equal(a, z, 64);
    assert_memory_not_equal(a, b, 64);
    se05x_conn_close(c);
}

#define SUITE(i)                                                                              \
    static int link##i(void **s)                                                              \
    {                                                                                         \
        g_link = &g_links[i];                                                                 \
        return 0;                                                                             \
    }

SUITE(0)
SUITE(1)
SUITE(2)
SUITE(3)

#define TESTS(i)                                                                              \
    cmocka_unit_test_setup(test_select_version_uid, link##i),                                 \
        cmocka_unit_test_setup(test_factory_objects, link##i),                                \
        cmocka_unit_test_setup(test_binary_chunked, link##i),                                 \
        cmocka_unit_test_setup(test_ec_sign_verify_ecdh, link##i),                            \
        cmocka_unit_test_setup(test_policies, link##i),                                       \
        cmocka_unit_test_setup(test_bad_input, link##i),                                      \
        cmocka_unit_test_setup(test_random, link##i)

int main(void)
{
    const struct CMUnitTest tests[] = {TESTS(0), TESTS(1), TESTS(2), TESTS(3)};
    return cmocka_run_group_tests_name("hostlib+sim over inproc, jrcp, t1, jrcp+scp03", tests,
                                       suite_setup, suite_teardown);
}
