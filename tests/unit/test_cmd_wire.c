/* Byte-exact tests of the typed SE05x commands (hostlib/src/cmd_*.c)
 * through a capture transport: every command APDU is compared with the
 * bytes NXP's middleware sends (spec §2, §12) and canned answers are parsed
 * into the typed outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/commands.h"
#include "test_cmd_capture.h"

#define ID "F0000001"

/* n copies of the 2-hex-digit byte b, into a static-per-call buffer. */
static char *rep(char *buf, const char *b, size_t n)
{
    buf[0] = 0;
    for (size_t i = 0; i < n; i++)
        strcat(buf, b);
    return buf;
}

static void test_uid_read(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    cap_push(cap, "4112 000102030405060708090A0B0C0D0E0F1011 9000");
    uint8_t uid[SE05X_UID_LEN];
    assert_int_equal(se05x_read_uid(c, uid), SE05X_OK);
    CAP_EXPECT(cap, 0, "80 02 00 00 00 00 0A 41 04 7F FF 02 06 43 02 00 12 00 00");
    for (int i = 0; i < SE05X_UID_LEN; i++)
        assert_int_equal(uid[i], i);
    /* a UID of the wrong length is rejected */
    cap_push(cap, "4111 000102030405060708090A0B0C0D0E0F10 9000");
    assert_int_equal(se05x_read_uid(c, uid), SE05X_ERR_TLV_LENGTH);
    se05x_conn_close(c);
}

static void test_version_and_curve_list(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    cap_push(cap, "4107 070200 6FFF 0100 9000");
    se05x_version v;
    uint8_t raw[7];
    assert_int_equal(se05x_get_version(c, &v, raw), SE05X_OK);
    CAP_EXPECT(cap, 0, "80 04 00 20 00");
    assert_int_equal(v.major, 7);
    assert_int_equal(v.minor, 2);
    assert_int_equal(v.config, 0x6FFF);
    assert_int_equal(v.sb_major, 1);
    char feat[256];
    se05x_features_format(0x0006, feat, sizeof(feat));
    assert_string_equal(feat, "ECDSA/ECDH/ECDHE,EdDSA");

    cap_push(cap, "4111 0202020202010101010101010101010101 9000");
    uint8_t list[SE05X_CURVE_LIST_MAX];
    size_t n;
    assert_int_equal(se05x_read_ec_curve_list(c, list, &n), SE05X_OK);
    CAP_EXPECT(cap, 1, "80 02 0B 25 00");
    assert_int_equal(n, 17);
    assert_int_equal(list[2], SE05X_CURVE_SET);
    assert_int_equal(list[5], SE05X_CURVE_NOT_SET);
    /* more than 17 entries is oversized */
    cap_push(cap, "4112 020202020201010101010101010101010101 9000");
    assert_int_equal(se05x_read_ec_curve_list(c, list, &n), SE05X_ERR_TLV_LENGTH);
    se05x_conn_close(c);
}

static void test_exists_delete_type_size(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    bool ex = false;
    cap_push(cap, "410101 9000");
    assert_int_equal(se05x_object_exists(c, SE05X_OBJID_UID, &ex), SE05X_OK);
    CAP_EXPECT(cap, 0, "80 04 00 27 06 41 04 7F FF 02 06");
    assert_true(ex);
    cap_push(cap, "410102 9000");
    assert_int_equal(se05x_object_exists(c, 0xF0000001, &ex), SE05X_OK);
    assert_false(ex);

    cap_push(cap, "9000");
    assert_int_equal(se05x_delete_object(c, 0xF0000001), SE05X_OK);
    CAP_EXPECT(cap, 2, "80 04 00 28 06 41 04 " ID);

    uint8_t type = 0, tr = 0;
    cap_push(cap, "410129 420101 9000");
    assert_int_equal(se05x_read_type(c, 0xF0000001, &type, &tr), SE05X_OK);
    CAP_EXPECT(cap, 3, "80 02 00 26 06 41 04 " ID);
    assert_int_equal(type, 0x29);
    assert_int_equal(tr, 1);
    assert_string_equal(se05x_type_name(type), "EC key pair (NIST_P256)");
    assert_string_equal(se05x_type_name(0x0B), "binary");
    assert_string_equal(se05x_type_name(0x6D), "unknown");

    uint16_t size = 0;
    cap_push(cap, "41020020 9000");
    assert_int_equal(se05x_read_size(c, 0xF0000001, &size), SE05X_OK);
    CAP_EXPECT(cap, 4, "80 02 00 07 06 41 04 " ID);
    assert_int_equal(size, 32);

    uint32_t fm = 0;
    cap_push(cap, "41027FFF 9000");
    assert_int_equal(se05x_get_free_memory(c, SE05X_MEM_PERSISTENT, &fm), SE05X_OK);
    CAP_EXPECT(cap, 5, "80 04 00 22 03 41 01 01");
    assert_int_equal(fm, 0x7FFF);

    uint8_t rnd[4];
    cap_push(cap, "4104 DEADBEEF 9000");
    assert_int_equal(se05x_get_random(c, rnd, 4), SE05X_OK);
    CAP_EXPECT(cap, 6, "80 04 00 49 00 00 04 41 02 00 04 00 00");
    assert_int_equal(rnd[0], 0xDE);

    cap_push(cap, "9000");
    assert_int_equal(se05x_delete_all(c), SE05X_OK);
    CAP_EXPECT(cap, 7, "80 04 00 2A 00");
    se05x_conn_close(c);
}

static void test_read_id_list_pages(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    cap_push(cap, "410102 4208 F0000001 F0000002 9000");
    cap_push(cap, "410101 4204 7FFF0206 9000");
    uint32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(se05x_read_id_list(c, SE05X_TYPE_ALL, &ids, &n), SE05X_OK);
    CAP_EXPECT(cap, 0, "80 02 00 25 00 00 07 41 02 00 00 42 01 FF 00 00");
    CAP_EXPECT(cap, 1, "80 02 00 25 00 00 07 41 02 00 02 42 01 FF 00 00");
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 0xF0000001);
    assert_int_equal(ids[2], 0x7FFF0206);
    free(ids);
    se05x_conn_close(c);
}

static void test_ec_import_7x(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open_version(&cap, 7, 2);
    char priv[80], pub[140], hex[600];
    uint8_t pk[32], pb[65];
    memset(pk, 0x11, sizeof(pk));
    memset(pb, 0x22, sizeof(pb));
    pb[0] = 0x04;
    rep(priv, "11", 32);
    rep(pub, "22", 64);
    /* MW flow: curve list (P-256 set), CheckObjectExists (no), WriteECKey */
    cap_push(cap, "4111 0202020202010101010101010101010101 9000");
    cap_push(cap, "410102 9000");
    cap_push(cap, "9000");
    assert_int_equal(se05x_ec_import(c, NULL, 0xF0000001, SE05X_CURVE_NIST_P256, pk, 32, pb, 65),
                     SE05X_OK);
    assert_int_equal(cap->ncmd, 3);
    CAP_EXPECT(cap, 0, "80 02 0B 25 00");
    CAP_EXPECT(cap, 1, "80 04 00 27 06 41 04 " ID);
    CAP_EXPECT(cap, 2, cap_fmt(hex, sizeof(hex),
                               "80 01 61 00 74 41 04 " ID " 42 01 03 43 20 %s 44 41 04 %s"
                               " 4B 04 00 00 00 00", priv, pub));
    /* public key only on 3.x: P1 0x21, no TAG_11 */
    se05x_conn_close(c);
    c = cap_open_version(&cap, 3, 1);
    cap_push(cap, "9000");
    se05x_ec_key k = {.id = 0xF0000001, .curve = SE05X_CURVE_NIST_P256,
                      .keypart = SE05X_KEY_PUBLIC, .pub = pb, .pub_len = 65};
    assert_int_equal(se05x_write_ec_key(c, NULL, &k), SE05X_OK);
    CAP_EXPECT(cap, 0, cap_fmt(hex, sizeof(hex), "80 01 21 00 4C 41 04 " ID " 42 01 03 44 41 04 %s",
                               pub));
    /* existing object: P1 without key part, no TAG_2; 7.x adds the policy check */
    se05x_conn_close(c);
    c = cap_open_version(&cap, 7, 2);
    se05x_policy pol;
    se05x_policy_init(&pol);
    se05x_policy_add(&pol, 0, SE05X_AR_SIGN);
    se05x_obj_opts o = {.policy = &pol};
    k.exists = true;
    cap_push(cap, "9000");
    assert_int_equal(se05x_write_ec_key(c, &o, &k), SE05X_OK);
    CAP_EXPECT(cap, 0, cap_fmt(hex, sizeof(hex),
                               "80 01 01 00 5A 15 09 08 00000000 10000000 41 04 " ID
                               " 44 41 04 %s 4B 04 00000000", pub));
    se05x_conn_close(c);
}

static void test_ec_generate_with_policy(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open_version(&cap, 7, 2);
    se05x_policy pol;
    se05x_policy_init(&pol);
    se05x_policy_add(&pol, 0, SE05X_AR_SIGN | SE05X_AR_ENC | SE05X_AR_DEC | SE05X_AR_DELETE |
                                  SE05X_AR_ATTESTATION);
    se05x_obj_opts o = {.policy = &pol};
    cap_push(cap, "4111 0202020202010101010101010101010101 9000");
    cap_push(cap, "410102 9000");
    cap_push(cap, "9000");
    assert_int_equal(se05x_ec_generate(c, &o, 0xF0000001, SE05X_CURVE_NIST_P256), SE05X_OK);
    /* the trace of spec §12: no TAG_11 on generation, even on 7.x */
    CAP_EXPECT(cap, 2, "80 01 61 00 14 11 09 08 00 00 00 00 13 04 80 00 41 04 " ID " 42 01 03");
    /* existing object: GetECCurveId must match; TAG_2 and policy dropped, P1 stays 61 */
    cap->ncmd = 0;
    cap_push(cap, "4111 0202020202010101010101010101010101 9000");
    cap_push(cap, "410101 9000");
    cap_push(cap, "410103 9000");
    cap_push(cap, "9000");
    assert_int_equal(se05x_ec_generate(c, &o, 0xF0000001, SE05X_CURVE_NIST_P256), SE05X_OK);
    CAP_EXPECT(cap, 2, "80 02 0B 36 06 41 04 " ID);
    CAP_EXPECT(cap, 3, "80 01 61 00 06 41 04 " ID);
    /* curve mismatch refuses to overwrite */
    cap->ncmd = 0;
    cap_push(cap, "4111 0202020202010101010101010101010101 9000");
    cap_push(cap, "410101 9000");
    cap_push(cap, "410104 9000");
    assert_int_equal(se05x_ec_generate(c, &o, 0xF0000001, SE05X_CURVE_NIST_P256), SE05X_ERR_ARG);
    assert_int_equal(cap->ncmd, 3);
    assert_non_null(strstr(se05x_conn_errmsg(c), "curve"));
    se05x_conn_close(c);
}

static void test_ecdsa_sign_verify(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    char dg[80], der[160], hex[600];
    uint8_t digest[32], sig[80];
    memset(digest, 0xAB, sizeof(digest));
    rep(dg, "AB", 32);
    /* 70-byte DER: 30 44 02 20 <r> 02 20 <s> */
    char r[80], s[80];
    rep(r, "5A", 32);
    rep(s, "A5", 32);
    cap_fmt(der, sizeof(der), "3044 0220%s 0220%s", r, s);
    cap_push(cap, cap_fmt(hex, sizeof(hex), "41 46 %s 9000", der));
    size_t sl = sizeof(sig);
    assert_int_equal(se05x_ecdsa_sign(c, 0xF0000001, SE05X_ECSIGN_SHA256, digest, 32, sig, &sl),
                     SE05X_OK);
    CAP_EXPECT(cap, 0, cap_fmt(hex, sizeof(hex), "80 03 0C 09 2B 41 04 " ID " 42 01 21 43 20 %s", dg));
    assert_int_equal(sl, 70);
    assert_int_equal(sig[0], 0x30);

    bool ok = false;
    cap_push(cap, "410101 9000");
    assert_int_equal(se05x_ecdsa_verify(c, 0xF0000001, SE05X_ECSIGN_SHA256, digest, 32, sig, sl, &ok),
                     SE05X_OK);
    CAP_EXPECT(cap, 1, cap_fmt(hex, sizeof(hex),
                               "80 03 0C 0A 73 41 04 " ID " 42 01 21 43 20 %s 45 46 %s", dg, der));
    assert_true(ok);
    cap_push(cap, "410102 9000");
    assert_int_equal(se05x_ecdsa_verify(c, 0xF0000001, SE05X_ECSIGN_SHA256, digest, 32, sig, sl, &ok),
                     SE05X_OK);
    assert_false(ok);
    se05x_conn_close(c);
}

static void test_eddsa_reversal_and_ecdh(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    uint8_t wire[64], sig[64];
    for (int i = 0; i < 64; i++)
        wire[i] = (uint8_t)i;
    uint8_t rsp[66] = {0x41, 0x40};
    memcpy(rsp + 2, wire, 64);
    cap_push_bytes(cap, rsp, sizeof(rsp), 0x9000);
    assert_int_equal(se05x_eddsa_sign(c, 0xF0000001, (const uint8_t *)"hi", 2, sig), SE05X_OK);
    CAP_EXPECT(cap, 0, "80 03 0C 09 0D 41 04 " ID " 42 01 A3 43 02 68 69");
    assert_int_equal(sig[0], 31);
    assert_int_equal(sig[31], 0);
    assert_int_equal(sig[32], 63);
    assert_int_equal(sig[63], 32);

    uint8_t peer[65], out[32];
    memset(peer, 0x33, sizeof(peer));
    char hp[140], hex[400];
    cap_push(cap, "4120 0101010101010101010101010101010101010101010101010101010101010101 9000");
    size_t ol = sizeof(out);
    assert_int_equal(se05x_ecdh(c, 0xF0000001, peer, sizeof(peer), out, &ol), SE05X_OK);
    CAP_EXPECT(cap, 1, cap_fmt(hex, sizeof(hex), "80 03 01 0F 00 00 49 41 04 " ID " 42 41 %s 00 00",
                               rep(hp, "33", 65)));
    assert_int_equal(ol, 32);
    se05x_conn_close(c);
}

static void test_rsa_import_sequences(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    uint8_t n[256], e[3] = {1, 0, 1}, p[3] = {0xC1, 0xC2, 0xC3}, q[2] = {0xD1, 0xD2};
    memset(n, 0x99, sizeof(n));
    char hn[600], hex[800];
    rep(hn, "99", 256);
    /* public key: (P1 22, size, E) then (P1 02, N); N >= 255 bytes -> extended Lc */
    se05x_rsa_comps pubk = {.e = e, .e_len = 3, .n = n, .n_len = 256};
    cap_push(cap, "9000");
    cap_push(cap, "9000");
    assert_int_equal(se05x_rsa_import(c, NULL, 0xF0000001, 2048, SE05X_KEY_PUBLIC, &pubk, false),
                     SE05X_OK);
    assert_int_equal(cap->ncmd, 2);
    CAP_EXPECT(cap, 0, "80 01 22 4F 0F 41 04 " ID " 42 02 08 00 48 03 01 00 01");
    CAP_EXPECT(cap, 1, cap_fmt(hex, sizeof(hex), "80 01 02 4F 00 01 0A 41 04 " ID " 4A 82 01 00 %s", hn));

    /* CRT pair: P Q DP DQ INV_Q E N, one per APDU, odd lengths padded with 00 */
    cap->ncmd = 0;
    se05x_rsa_comps crt = {.p = p, .p_len = 3, .q = q, .q_len = 2, .dp = p, .dp_len = 3,
                           .dq = q, .dq_len = 2, .qinv = p, .qinv_len = 3, .e = e, .e_len = 3,
                           .n = n, .n_len = 255};
    se05x_policy pol;
    se05x_policy_init(&pol);
    se05x_policy_add(&pol, 0, SE05X_AR_SIGN);
    se05x_obj_opts o = {.policy = &pol};
    for (int i = 0; i < 7; i++)
        cap_push(cap, "9000");
    assert_int_equal(se05x_rsa_import(c, &o, 0xF0000001, 2048, SE05X_KEY_PAIR, &crt, false),
                     SE05X_OK);
    assert_int_equal(cap->ncmd, 7);
    CAP_EXPECT(cap, 0, "80 01 62 00 1B 11 09 08 00000000 10000000 41 04 " ID
                       " 42 02 08 00 43 04 00 C1 C2 C3");
    CAP_EXPECT(cap, 1, "80 01 02 00 0A 41 04 " ID " 44 02 D1 D2");
    CAP_EXPECT(cap, 2, "80 01 02 00 0C 41 04 " ID " 45 04 00 C1 C2 C3");
    CAP_EXPECT(cap, 3, "80 01 02 00 0A 41 04 " ID " 46 02 D1 D2");
    CAP_EXPECT(cap, 4, "80 01 02 00 0C 41 04 " ID " 47 04 00 C1 C2 C3");
    CAP_EXPECT(cap, 5, "80 01 02 00 0B 41 04 " ID " 48 03 01 00 01"); /* E not padded */
    CAP_EXPECT(cap, 6, cap_fmt(hex, sizeof(hex), "80 01 02 00 00 01 0A 41 04 " ID " 4A 82 01 00 00 %.510s", hn));

    /* raw pair on 7.x: E, D, N with P2 4F and TAG_11 on each */
    se05x_conn_close(c);
    c = cap_open_version(&cap, 7, 2);
    se05x_rsa_comps raw = {.e = e, .e_len = 3, .d = q, .d_len = 2, .n = q, .n_len = 2};
    for (int i = 0; i < 3; i++)
        cap_push(cap, "9000");
    assert_int_equal(se05x_rsa_import(c, NULL, 0xF0000001, 1024, SE05X_KEY_PAIR, &raw, false),
                     SE05X_OK);
    CAP_EXPECT(cap, 0, "80 01 62 4F 15 41 04 " ID " 42 02 04 00 48 03 01 00 01 4B 04 00000000");
    CAP_EXPECT(cap, 1, "80 01 02 4F 10 41 04 " ID " 49 02 D1 D2 4B 04 00000000");
    CAP_EXPECT(cap, 2, "80 01 02 4F 10 41 04 " ID " 4A 02 D1 D2 4B 04 00000000");

    /* generation: one APDU, no components, no TAG_11 */
    cap->ncmd = 0;
    cap_push(cap, "9000");
    assert_int_equal(se05x_rsa_generate(c, NULL, 0xF0000001, 2048, true), SE05X_OK);
    CAP_EXPECT(cap, 0, "80 01 62 00 0A 41 04 " ID " 42 02 08 00");
    /* bad size / missing component are caught before sending */
    assert_int_equal(se05x_rsa_generate(c, NULL, 0xF0000001, 2000, true), SE05X_ERR_ARG);
    se05x_rsa_comps bad = {.e = e, .e_len = 3};
    assert_int_equal(se05x_rsa_import(c, NULL, 1, 2048, SE05X_KEY_PUBLIC, &bad, false), SE05X_ERR_ARG);
    assert_int_equal(cap->ncmd, 1);
    se05x_conn_close(c);
}

static void test_binary_chunks(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    uint8_t data[1200];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)i;
    char h1[1100], h2[1100], h3[500], hex[1300];
    cap_tohex(data, 500, h1);
    cap_tohex(data + 500, 500, h2);
    cap_tohex(data + 1000, 200, h3);
    for (int i = 0; i < 3; i++)
        cap_push(cap, "9000");
    assert_int_equal(se05x_write_binary(c, NULL, 0xF0000001, data, sizeof(data), false), SE05X_OK);
    assert_int_equal(cap->ncmd, 3);
    CAP_EXPECT(cap, 0, cap_fmt(hex, sizeof(hex), "80 01 06 00 00 02 02 41 04 " ID " 43 02 04 B0 44 82 01 F4 %s", h1));
    CAP_EXPECT(cap, 1, cap_fmt(hex, sizeof(hex), "80 01 06 00 00 02 02 41 04 " ID " 42 02 01 F4 44 82 01 F4 %s", h2));
    CAP_EXPECT(cap, 2, cap_fmt(hex, sizeof(hex), "80 01 06 00 D5 41 04 " ID " 42 02 03 E8 44 81 C8 %s", h3));

    /* chunked read: ReadSize then 3 ReadObject of <= 500 bytes */
    cap->ncmd = 0;
    cap_push(cap, "4102 04B0 9000");
    cap_push(cap, cap_fmt(hex, sizeof(hex), "41 82 01 F4 %s 9000", h1));
    cap_push(cap, cap_fmt(hex, sizeof(hex), "41 82 01 F4 %s 9000", h2));
    cap_push(cap, cap_fmt(hex, sizeof(hex), "41 81 C8 %s 9000", h3));
    uint8_t back[1300];
    size_t bl = sizeof(back);
    assert_int_equal(se05x_read_binary(c, 0xF0000001, back, &bl), SE05X_OK);
    CAP_EXPECT(cap, 0, "80 02 00 07 06 41 04 " ID);
    CAP_EXPECT(cap, 1, "80 02 00 00 00 00 0A 41 04 " ID " 43 02 01 F4 00 00");
    CAP_EXPECT(cap, 2, "80 02 00 00 00 00 0E 41 04 " ID " 42 02 01 F4 43 02 01 F4 00 00");
    CAP_EXPECT(cap, 3, "80 02 00 00 00 00 0E 41 04 " ID " 42 02 03 E8 43 02 00 C8 00 00");
    assert_int_equal(bl, 1200);
    assert_memory_equal(back, data, 1200);
    /* a short chunk is an error, not silently accepted */
    cap->ncmd = 0;
    cap_push(cap, "4102 04B0 9000");
    cap_push(cap, "41 02 00 01 9000");
    bl = sizeof(back);
    assert_int_equal(se05x_read_binary(c, 0xF0000001, back, &bl), SE05X_ERR_TLV_LENGTH);
    se05x_conn_close(c);

    /* 7.x with policy: later chunks carry TAG_POLICY_CHECK, all carry TAG_11 */
    c = cap_open_version(&cap, 7, 2);
    se05x_policy pol;
    se05x_policy_init(&pol);
    se05x_policy_add(&pol, 0, SE05X_AR_READ);
    se05x_obj_opts o = {.policy = &pol};
    cap_push(cap, "9000");
    cap_push(cap, "9000");
    assert_int_equal(se05x_write_binary(c, &o, 0xF0000001, data, 600, false), SE05X_OK);
    uint8_t *a1 = cap->cmd[0], *a2 = cap->cmd[1];
    assert_memory_equal(a1, "\x80\x01\x06\x00\x00\x02\x13\x11\x09\x08", 10);
    assert_memory_equal(a1 + cap->cmd_len[0] - 6, "\x4B\x04\x00\x00\x00\x00", 6);
    CAP_EXPECT(cap, 1, cap_fmt(hex, sizeof(hex), "80 01 06 00 81 15 09 08 00000000 00200000 41 04 " ID
                               " 42 02 01 F4 44 64 %.200s 4B 04 00000000", h2));
    (void)a2;
    se05x_conn_close(c);
}

static void test_symm_counter_userid(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    uint8_t key[16];
    memset(key, 0x40, sizeof(key));
    cap_push(cap, "9000");
    assert_int_equal(se05x_write_symm_key(c, NULL, 0xF0000002, SE05X_P1_AES, 0, key, 16), SE05X_OK);
    CAP_EXPECT(cap, 0, "80 01 03 00 18 41 04 F0000002 43 10 40404040404040404040404040404040");
    se05x_obj_opts ao = {.auth = true, .max_attempts = 5};
    cap_push(cap, "9000");
    assert_int_equal(se05x_write_symm_key(c, &ao, 0x7DA00002, SE05X_P1_HMAC, 0, key, 16), SE05X_OK);
    CAP_EXPECT(cap, 1, "80 41 05 00 1C 12 02 00 05 41 04 7DA00002 43 10 40404040404040404040404040404040");
    cap_push(cap, "9000");
    assert_int_equal(se05x_counter_create(c, NULL, 0xF0000003, 4), SE05X_OK);
    CAP_EXPECT(cap, 2, "80 01 08 00 0A 41 04 F0000003 42 02 00 04");
    cap_push(cap, "9000");
    assert_int_equal(se05x_counter_set(c, 0xF0000003, 0x0102, 4), SE05X_OK);
    CAP_EXPECT(cap, 3, "80 01 08 00 0C 41 04 F0000003 43 04 00 00 01 02");
    cap_push(cap, "9000");
    assert_int_equal(se05x_counter_set(c, 0xF0000003, 0, 4), SE05X_OK);
    CAP_EXPECT(cap, 4, "80 01 08 00 06 41 04 F0000003");
    assert_int_equal(se05x_counter_set(c, 0xF0000003, 0x1FF, 1), SE05X_ERR_ARG);
    cap_push(cap, "9000");
    const uint8_t uidv[] = {0xC0, 0x01, 0x02, 0x03, 0x04};
    assert_int_equal(se05x_write_userid(c, NULL, 0x7DA00001, uidv, sizeof(uidv)), SE05X_OK);
    CAP_EXPECT(cap, 5, "80 41 07 00 0D 41 04 7DA00001 42 05 C0 01 02 03 04");
    se05x_conn_close(c);
}

static void test_rsa_digest_cipher_mac(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    uint8_t out[64];
    size_t ol = sizeof(out);
    bool ok;
    cap_push(cap, "4104 01020304 9000");
    assert_int_equal(se05x_rsa_sign(c, 0xF0000001, SE05X_RSASIGN_PSS_SHA256, (const uint8_t *)"m", 1,
                                    4, out, &ol), SE05X_OK);
    CAP_EXPECT(cap, 0, "80 03 0C 09 00 00 12 41 04 " ID " 42 01 2C 43 01 6D 44 04 00000000 00 00");
    cap_push(cap, "410101 9000");
    assert_int_equal(se05x_rsa_verify(c, 0xF0000001, SE05X_RSASIGN_PKCS1_SHA256, (const uint8_t *)"m", 1,
                                      0, out, 4, &ok), SE05X_OK);
    CAP_EXPECT(cap, 1, "80 03 0C 0A 12 41 04 " ID " 42 01 28 43 01 6D 45 04 01020304");
    assert_true(ok);
    ol = sizeof(out);
    cap_push(cap, "4102 AABB 9000");
    assert_int_equal(se05x_rsa_encrypt(c, 0xF0000001, SE05X_RSAENC_OAEP, (const uint8_t *)"m", 1, out, &ol),
                     SE05X_OK);
    CAP_EXPECT(cap, 2, "80 03 02 37 00 00 0C 41 04 " ID " 42 01 0F 43 01 6D 00 00");
    ol = sizeof(out);
    cap_push(cap, "4101 6D 9000");
    assert_int_equal(se05x_rsa_decrypt(c, 0xF0000001, SE05X_RSAENC_NO_PAD, out, 2, out, &ol), SE05X_OK);
    CAP_EXPECT(cap, 3, "80 03 02 38 00 00 0D 41 04 " ID " 42 01 0C 43 02 AABB 00 00");
    assert_int_equal(ol, 1);

    ol = sizeof(out);
    cap_push(cap, "4120 BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD 9000");
    assert_int_equal(se05x_digest_oneshot(c, SE05X_DIGEST_SHA256, (const uint8_t *)"abc", 3, out, &ol),
                     SE05X_OK);
    CAP_EXPECT(cap, 4, "80 03 00 0E 08 41 01 04 42 03 616263");
    assert_int_equal(ol, 32);

    uint8_t iv[16] = {0}, blk[16] = {0};
    ol = sizeof(out);
    cap_push(cap, "4110 66E94BD4EF8A2C3B884CFA59CA342B2E 9000");
    assert_int_equal(se05x_cipher_oneshot(c, 0xF0000002, SE05X_CIPHER_AES_CBC_NOPAD, true, iv, 16, blk,
                                          16, out, &ol), SE05X_OK);
    CAP_EXPECT(cap, 5, "80 03 0E 37 00 00 2D 41 04 F0000002 42 01 0D 43 10 00000000000000000000000000000000"
                       " 44 10 00000000000000000000000000000000 00 00");
    ol = sizeof(out);
    cap_push(cap, "4110 00000000000000000000000000000000 9000");
    assert_int_equal(se05x_cipher_oneshot(c, 0xF0000002, SE05X_CIPHER_AES_ECB_NOPAD, false, NULL, 0, blk,
                                          16, out, &ol), SE05X_OK);
    CAP_EXPECT(cap, 6, "80 03 0E 38 00 00 1B 41 04 F0000002 42 01 0E 43 10 00000000000000000000000000000000 00 00");

    ol = sizeof(out);
    cap_push(cap, "4110 0102030405060708090A0B0C0D0E0F10 9000");
    assert_int_equal(se05x_mac_oneshot(c, 0xF0000002, SE05X_MAC_CMAC_128, blk, 16, out, &ol), SE05X_OK);
    CAP_EXPECT(cap, 7, "80 03 0D 45 1B 41 04 F0000002 42 01 31 43 10 00000000000000000000000000000000");
    cap_push(cap, "410102 9000");
    assert_int_equal(se05x_mac_validate(c, 0xF0000002, SE05X_MAC_HMAC_SHA256, blk, 1, out, 16, &ok),
                     SE05X_OK);
    CAP_EXPECT(cap, 8, "80 03 0D 46 1E 41 04 F0000002 42 01 19 43 01 00 45 10 0102030405060708090A0B0C0D0E0F10");
    assert_false(ok);
    se05x_conn_close(c);
}

static void test_curve_ensure(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    /* P-256 NOT_SET: create + A, B, G, N, prime from OpenSSL */
    cap_push(cap, "4111 0202010202010101010101010101010101 9000");
    for (int i = 0; i < 6; i++)
        cap_push(cap, "9000");
    assert_int_equal(se05x_ec_curve_ensure(c, SE05X_CURVE_NIST_P256), SE05X_OK);
    assert_int_equal(cap->ncmd, 7);
    CAP_EXPECT(cap, 1, "80 01 0B 04 03 41 01 03");
    CAP_EXPECT(cap, 2, "80 01 0B 40 28 41 01 03 42 01 01 43 20"
                       " FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC");
    CAP_EXPECT(cap, 3, "80 01 0B 40 28 41 01 03 42 01 02 43 20"
                       " 5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B");
    assert_int_equal(cap->cmd_len[4], 5 + 6 + 2 + 65);
    assert_memory_equal(cap->cmd[4], "\x80\x01\x0B\x40\x49\x41\x01\x03\x42\x01\x04\x43\x41\x04\x6B\x17", 16);
    CAP_EXPECT(cap, 5, "80 01 0B 40 28 41 01 03 42 01 08 43 20"
                       " FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
    CAP_EXPECT(cap, 6, "80 01 0B 40 28 41 01 03 42 01 10 43 20"
                       " FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF");
    /* already SET: only the list is read */
    cap->ncmd = 0;
    cap_push(cap, "4111 0202020202010101010101010101010101 9000");
    assert_int_equal(se05x_ec_curve_ensure(c, SE05X_CURVE_NIST_P256), SE05X_OK);
    assert_int_equal(cap->ncmd, 1);
    /* CreateECCurve answering 6985 (exists) is tolerated like the MW does */
    cap->ncmd = 0;
    cap_push(cap, "4111 0101010101010101010101010101010101 9000");
    cap_push(cap, "6985");
    for (int i = 0; i < 5; i++)
        cap_push(cap, "9000");
    assert_int_equal(se05x_ec_curve_ensure(c, SE05X_CURVE_SECP256K1), SE05X_OK);
    assert_int_equal(cap->ncmd, 7);
    CAP_EXPECT(cap, 1, "80 01 0B 04 03 41 01 10");
    /* Ed25519 needs nothing; BN-P256 params are unknown to OpenSSL */
    cap->ncmd = 0;
    assert_int_equal(se05x_ec_curve_ensure(c, SE05X_CURVE_ED25519), SE05X_OK);
    assert_int_equal(cap->ncmd, 0);
    cap_push(cap, "4111 0101010101010101010101010101010101 9000");
    assert_int_equal(se05x_ec_curve_ensure(c, SE05X_CURVE_TPM_BN_P256), SE05X_ERR_UNSUPPORTED);
    se05x_conn_close(c);
}

static void test_curve_names(void **state)
{
    uint8_t cv = 0;
    assert_int_equal(se05x_curve_from_name("prime256v1", &cv), SE05X_OK);
    assert_int_equal(cv, SE05X_CURVE_NIST_P256);
    assert_int_equal(se05x_curve_from_name("NIST_P384", &cv), SE05X_OK);
    assert_int_equal(cv, SE05X_CURVE_NIST_P384);
    assert_int_equal(se05x_curve_from_name("ed25519", &cv), SE05X_OK);
    assert_int_equal(cv, SE05X_CURVE_ED25519);
    assert_int_equal(se05x_curve_from_name("P-999", &cv), SE05X_ERR_NOT_FOUND);
    assert_string_equal(se05x_curve_name(SE05X_CURVE_BP256), "Brainpool256");
    assert_int_equal(se05x_curve_field_len(SE05X_CURVE_NIST_P521), 66);
    uint8_t kp, curve;
    assert_true(se05x_type_ec_info(0x5F, &kp, &curve));
    assert_int_equal(kp, SE05X_KEY_PUBLIC);
    assert_int_equal(curve, SE05X_CURVE_SECP256K1);
    assert_true(se05x_type_ec_info(0x72, &kp, &curve));
    assert_int_equal(curve, SE05X_CURVE_X448);
    assert_false(se05x_type_ec_info(0x24, &kp, &curve));
}


static void test_rsa_private_and_update(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    uint8_t d[3] = {0xDD, 0xDD, 0xDD}, n[2] = {0xEE, 0xEE}, p[2] = {0xAA, 0xAA};
    /* private raw: D then N, P1 0x42 on the first */
    se05x_rsa_comps raw = {.d = d, .d_len = 3, .n = n, .n_len = 2};
    cap_push(cap, "9000");
    cap_push(cap, "9000");
    assert_int_equal(se05x_rsa_import(c, NULL, 0xF0000001, 1024, SE05X_KEY_PRIVATE, &raw, false),
                     SE05X_OK);
    CAP_EXPECT(cap, 0, "80 01 42 4F 10 41 04 " ID " 42 02 04 00 49 04 00 DD DD DD");
    CAP_EXPECT(cap, 1, "80 01 02 4F 0A 41 04 " ID " 4A 02 EE EE");
    /* private CRT: P Q DP DQ INV_Q, P2 00 */
    cap->ncmd = 0;
    se05x_rsa_comps crt = {.p = p, .p_len = 2, .q = p, .q_len = 2, .dp = p, .dp_len = 2,
                           .dq = p, .dq_len = 2, .qinv = p, .qinv_len = 2};
    for (int i = 0; i < 5; i++)
        cap_push(cap, "9000");
    assert_int_equal(se05x_rsa_import(c, NULL, 0xF0000001, 1024, SE05X_KEY_PRIVATE, &crt, false),
                     SE05X_OK);
    assert_int_equal(cap->ncmd, 5);
    CAP_EXPECT(cap, 0, "80 01 42 00 0E 41 04 " ID " 42 02 04 00 43 02 AA AA");
    CAP_EXPECT(cap, 4, "80 01 02 00 0A 41 04 " ID " 47 02 AA AA");
    /* update of an existing public key: no size, no key part, no policy */
    cap->ncmd = 0;
    uint8_t e[1] = {3};
    se05x_rsa_comps pub = {.e = e, .e_len = 1, .n = n, .n_len = 2};
    cap_push(cap, "9000");
    cap_push(cap, "9000");
    se05x_obj_opts tr = {.transient = true};
    assert_int_equal(se05x_rsa_import(c, &tr, 0xF0000001, 0, SE05X_KEY_PUBLIC, &pub, true), SE05X_OK);
    CAP_EXPECT(cap, 0, "80 81 02 4F 09 41 04 " ID " 48 01 03");
    CAP_EXPECT(cap, 1, "80 01 02 4F 0A 41 04 " ID " 4A 02 EE EE");
    se05x_conn_close(c);
}

static void test_ins_flags_and_misc_reads(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    /* transient auth EC key with max attempts */
    se05x_obj_opts o = {.transient = true, .auth = true, .max_attempts = 3};
    uint8_t pub[65];
    memset(pub, 0x04, sizeof(pub));
    se05x_ec_key k = {.id = 0x7DA00003, .curve = SE05X_CURVE_NIST_P256,
                      .keypart = SE05X_KEY_PUBLIC, .pub = pub, .pub_len = 65};
    cap_push(cap, "9000");
    assert_int_equal(se05x_write_ec_key(c, &o, &k), SE05X_OK);
    assert_memory_equal(cap->cmd[0], "\x80\xC1\x21\x00\x50\x12\x02\x00\x03\x41\x04\x7D\xA0\x00\x03\x42\x01\x03", 18);

    uint8_t buf[300];
    size_t len = sizeof(buf);
    cap_push(cap, "4103 010001 9000");
    assert_int_equal(se05x_read_rsa_component(c, 0xF0000001, SE05X_RSA_COMP_PUB_EXP, buf, &len), SE05X_OK);
    CAP_EXPECT(cap, 1, "80 02 00 00 00 00 09 41 04 " ID " 44 01 01 00 00");
    assert_int_equal(len, 3);
    len = sizeof(buf);
    cap_push(cap, "4102 AABB 9000");
    assert_int_equal(se05x_read_object(c, 0xF0000001, 0x10, 0, buf, &len), SE05X_OK);
    CAP_EXPECT(cap, 2, "80 02 00 00 00 00 0A 41 04 " ID " 42 02 00 10 00 00");

    uint8_t ext[SE05X_EXT_VERSION_LEN], ts[12];
    char hex[200], body[80];
    cap_push(cap, cap_fmt(hex, sizeof(hex), "4125 %s 9000", rep(body, "01", 37)));
    assert_int_equal(se05x_get_ext_version(c, ext), SE05X_OK);
    CAP_EXPECT(cap, 3, "80 04 00 21 00");
    cap_push(cap, "410C 000102030405060708090A0B 9000");
    assert_int_equal(se05x_get_timestamp(c, ts), SE05X_OK);
    CAP_EXPECT(cap, 4, "80 04 00 3D 00");
    assert_int_equal(ts[11], 0x0B);
    /* curve helpers */
    cap_push(cap, "9000");
    assert_int_equal(se05x_delete_ec_curve(c, SE05X_CURVE_NIST_P256), SE05X_OK);
    CAP_EXPECT(cap, 5, "80 04 0B 28 03 41 01 03");
    se05x_conn_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uid_read),
        cmocka_unit_test(test_version_and_curve_list),
        cmocka_unit_test(test_exists_delete_type_size),
        cmocka_unit_test(test_read_id_list_pages),
        cmocka_unit_test(test_ec_import_7x),
        cmocka_unit_test(test_ec_generate_with_policy),
        cmocka_unit_test(test_ecdsa_sign_verify),
        cmocka_unit_test(test_eddsa_reversal_and_ecdh),
        cmocka_unit_test(test_rsa_import_sequences),
        cmocka_unit_test(test_binary_chunks),
        cmocka_unit_test(test_symm_counter_userid),
        cmocka_unit_test(test_rsa_digest_cipher_mac),
        cmocka_unit_test(test_curve_ensure),
        cmocka_unit_test(test_curve_names),
        cmocka_unit_test(test_rsa_private_and_update),
        cmocka_unit_test(test_ins_flags_and_misc_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
