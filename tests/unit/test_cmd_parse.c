/* Response-parsing and error-path tests of the typed SE05x commands:
 * strict rejection of truncated, trailing, duplicated, reordered, missing
 * and oversized TLVs, status-word errors with their one-line message, bad
 * result bytes, buffer limits, ReadIDList paging guards, and the attested
 * read (7.x layout) with host-side signature verification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "se05x/commands.h"
#include "se05x/tlv.h"
#include "test_cmd_capture.h"

static void test_truncated(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    uint16_t size;
    cap_push(cap, "4102 00 9000"); /* value runs past the end */
    assert_int_equal(se05x_read_size(c, 0xF0000001, &size), SE05X_ERR_TLV_TRUNCATED);
    assert_non_null(strstr(se05x_conn_errmsg(c), "ReadSize 0xF0000001: malformed response"));
    cap_push(cap, "41 9000"); /* only a tag */
    assert_int_equal(se05x_read_size(c, 0xF0000001, &size), SE05X_ERR_TLV_TRUNCATED);
    se05x_conn_close(c);
}

static void test_trailing_and_unexpected(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    se05x_version v;
    /* an extra TLV after the expected one */
    cap_push(cap, "4107 07020000100100 420100 9000");
    assert_int_equal(se05x_get_version(c, &v, NULL), SE05X_ERR_TLV_UNEXPECTED);
    /* a lone trailing byte */
    cap_push(cap, "4107 07020000100100 00 9000");
    assert_int_equal(se05x_get_version(c, &v, NULL), SE05X_ERR_TLV_TRUNCATED);
    /* data where only a status word is expected */
    cap_push(cap, "410101 9000");
    assert_int_equal(se05x_delete_object(c, 0xF0000001), SE05X_ERR_TLV_TRAILING);
    se05x_conn_close(c);
}

static void test_duplicate_order_missing_oversized(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    uint8_t type, tr;
    bool ex;
    cap_push(cap, "410101 410101 420101 9000");
    assert_int_equal(se05x_read_type(c, 1, &type, &tr), SE05X_ERR_TLV_DUPLICATE);
    cap_push(cap, "420101 410101 9000");
    assert_int_equal(se05x_read_type(c, 1, &type, &tr), SE05X_ERR_TLV_ORDER);
    cap_push(cap, "410101 9000");
    assert_int_equal(se05x_read_type(c, 1, &type, &tr), SE05X_ERR_TLV_MISSING);
    cap_push(cap, "9000");
    assert_int_equal(se05x_object_exists(c, 1, &ex), SE05X_ERR_TLV_MISSING);
    cap_push(cap, "41020101 9000");
    assert_int_equal(se05x_object_exists(c, 1, &ex), SE05X_ERR_TLV_LENGTH);
    cap_push(cap, "4100 9000");
    assert_int_equal(se05x_object_exists(c, 1, &ex), SE05X_ERR_TLV_LENGTH);
    /* result byte other than 01/02 */
    cap_push(cap, "410103 9000");
    assert_int_equal(se05x_object_exists(c, 1, &ex), SE05X_ERR_RESPONSE);
    se05x_conn_close(c);
}

static void test_sw_error_message(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    uint8_t buf[32];
    size_t len = sizeof(buf);
    cap_push(cap, "6985");
    assert_int_equal(se05x_read_object(c, 0xF0000001, 0, 0, buf, &len), SE05X_ERR_SW);
    assert_int_equal(se05x_conn_last_sw(c), 0x6985);
    assert_string_equal(se05x_conn_errmsg(c),
                        "ReadObject 0xF0000001: SE answered 6985 (conditions of use not satisfied)");
    /* error SW even with data attached */
    cap_push(cap, "410101 6A80");
    bool ex;
    assert_int_equal(se05x_object_exists(c, 2, &ex), SE05X_ERR_SW);
    assert_int_equal(se05x_conn_last_sw(c), 0x6A80);
    /* commands without an object id */
    cap_push(cap, "6D00");
    se05x_version v;
    assert_int_equal(se05x_get_version(c, &v, NULL), SE05X_ERR_SW);
    assert_string_equal(se05x_conn_errmsg(c), "GetVersion: SE answered 6D00 (instruction not supported)");
    /* link failure: the transport's detail is kept */
    assert_int_equal(se05x_get_version(c, &v, NULL), SE05X_ERR_TRANSPORT);
    assert_non_null(strstr(se05x_conn_errmsg(c), "GetVersion: "));
    assert_non_null(strstr(se05x_conn_errmsg(c), "no canned response"));
    se05x_conn_close(c);
}

static void test_buffers_and_args(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    uint8_t small[4];
    size_t len = sizeof(small);
    cap_push(cap, "4105 0102030405 9000");
    assert_int_equal(se05x_read_object(c, 1, 0, 0, small, &len), SE05X_ERR_BUFFER);
    assert_int_equal(len, 5); /* needed size reported */
    uint8_t sig[8];
    size_t sl = sizeof(sig);
    uint8_t d[32] = {0};
    cap_push(cap, "410A 30080201010203010203 9000");
    assert_int_equal(se05x_ecdsa_sign(c, 1, SE05X_ECSIGN_SHA256, d, 32, sig, &sl), SE05X_ERR_BUFFER);
    /* binary larger than the caller's buffer: stop after ReadSize */
    cap->ncmd = 0;
    cap_push(cap, "4102 0100 9000");
    len = sizeof(small);
    assert_int_equal(se05x_read_binary(c, 1, small, &len), SE05X_ERR_BUFFER);
    assert_int_equal(cap->ncmd, 1);
    assert_int_equal(len, 0x100);
    /* argument checks before any APDU */
    cap->ncmd = 0;
    assert_int_equal(se05x_write_binary(c, NULL, 1, d, 0, false), SE05X_ERR_ARG);
    assert_int_equal(se05x_write_userid(c, NULL, 1, d, 17), SE05X_ERR_ARG);
    assert_int_equal(se05x_counter_create(c, NULL, 1, 9), SE05X_ERR_ARG);
    assert_int_equal(se05x_get_free_memory(c, 4, (uint32_t *)&len), SE05X_ERR_ARG);
    se05x_ec_key k = {.id = 1, .curve = SE05X_CURVE_NIST_P256, .keypart = SE05X_KEY_PUBLIC};
    assert_int_equal(se05x_write_ec_key(c, NULL, &k), SE05X_ERR_ARG); /* generate needs KEY_PAIR */
    assert_int_equal(cap->ncmd, 0);
    /* GetFreeMemory with a 3-byte value */
    uint32_t fm;
    cap_push(cap, "4103 010203 9000");
    assert_int_equal(se05x_get_free_memory(c, 1, &fm), SE05X_ERR_TLV_LENGTH);
    se05x_conn_close(c);
}

static void test_id_list_guards(void **state)
{
    cap_t *cap;
    se05x_conn *c = cap_open(&cap);
    uint32_t *ids = NULL;
    size_t n;
    cap_push(cap, "410101 4203 010203 9000"); /* not a multiple of 4 */
    assert_int_equal(se05x_read_id_list(c, SE05X_TYPE_ALL, &ids, &n), SE05X_ERR_TLV_LENGTH);
    cap_push(cap, "410102 4200 9000"); /* "more" without progress */
    assert_int_equal(se05x_read_id_list(c, SE05X_TYPE_ALL, &ids, &n), SE05X_ERR_RESPONSE);
    cap_push(cap, "410101 9000"); /* empty list, TAG_2 absent */
    assert_int_equal(se05x_read_id_list(c, SE05X_TYPE_ALL, &ids, &n), SE05X_OK);
    assert_int_equal(n, 0);
    free(ids);
    cap_push(cap, "410103 4204 00000001 9000"); /* bad more-indicator */
    assert_int_equal(se05x_read_id_list(c, SE05X_TYPE_ALL, &ids, &n), SE05X_ERR_RESPONSE);
    se05x_conn_close(c);
}

/* Build a 7.x attested-read answer signed with key, as the applet does. */
static size_t make_attested(EVP_PKEY *key, const uint8_t *cmdp, size_t cmdlen, uint8_t *out)
{
    uint8_t cmd[128] = {0x80, 0x22, 0x00, 0x00, 0x00, 0x00, (uint8_t)cmdlen};
    memcpy(cmd + 7, cmdp, cmdlen);
    uint8_t tlvs[512], msg[600], uid[18], attr[20], size[2] = {0, 5}, ts[12], sig[128];
    memset(uid, 0x55, sizeof(uid));
    memset(attr, 0x66, sizeof(attr));
    memset(ts, 0x77, sizeof(ts));
    se05x_tlvw w;
    se05x_tlvw_init(&w, tlvs, sizeof(tlvs));
    se05x_tlvw_bytes_long(&w, 0x41, (const uint8_t *)"hello", 5);
    se05x_tlvw_bytes_long(&w, 0x42, uid, sizeof(uid));
    se05x_tlvw_bytes_long(&w, 0x43, attr, sizeof(attr));
    se05x_tlvw_bytes_long(&w, 0x44, size, 2);
    se05x_tlvw_bytes_long(&w, 0x4F, ts, sizeof(ts));
    size_t tl = w.len;
    assert_true(EVP_Q_digest(NULL, "SHA256", NULL, cmd, 7 + cmdlen, msg, NULL));
    memcpy(msg + 32, tlvs, tl);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    size_t sl = sizeof(sig);
    assert_int_equal(EVP_DigestSignInit_ex(m, NULL, "SHA256", NULL, NULL, key, NULL), 1);
    assert_int_equal(EVP_DigestSign(m, sig, &sl, msg, 32 + tl), 1);
    EVP_MD_CTX_free(m);
    se05x_tlvw_bytes_long(&w, 0x52, sig, sl);
    memcpy(out, tlvs, w.len);
    return w.len;
}

static void test_attested_read_7x(void **state)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(key);
    uint8_t pub[65];
    size_t pl = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(key, "pub", pub, sizeof(pub), &pl), 1);
    cap_t *cap;
    se05x_conn *c = cap_open_version(&cap, 7, 2);
    uint8_t fresh[16];
    memset(fresh, 0xF5, sizeof(fresh));
    /* the command payload we expect the library to send */
    uint8_t cmdp[64];
    size_t cl = cap_hex("41 04 F0000001 45 04 F0000012 46 01 21 47 10 "
                        "F5F5F5F5F5F5F5F5F5F5F5F5F5F5F5F5", cmdp, sizeof(cmdp));
    uint8_t rsp[700];
    size_t rl = make_attested(key, cmdp, cl, rsp);
    cap_push_bytes(cap, rsp, rl, 0x9000);
    se05x_attested_read *a = calloc(1, sizeof(*a));
    assert_int_equal(se05x_read_object_attested(c, 0xF0000001, 0, 0, 0xF0000012, SE05X_ECSIGN_SHA256,
                                                fresh, a),
                     SE05X_OK);
    assert_int_equal(cap->cmd_len[0], 4 + 3 + cl + 2);
    assert_memory_equal(cap->cmd[0] + 7, cmdp, cl);
    assert_true(a->v7);
    assert_int_equal(a->data_len, 5);
    assert_memory_equal(a->data, "hello", 5);
    assert_int_equal(a->uid_len, 18);
    assert_int_equal(a->size_len, 2);
    assert_int_equal(se05x_attested_read_verify(a, SE05X_CURVE_NIST_P256, pub, pl), SE05X_OK);
    /* tampered data or wrong key fails */
    ((uint8_t *)a->data)[0] ^= 1;
    assert_int_equal(se05x_attested_read_verify(a, SE05X_CURVE_NIST_P256, pub, pl), SE05X_ERR_CRYPTO);
    ((uint8_t *)a->data)[0] ^= 1;
    pub[64] ^= 1; /* no longer on the curve */
    assert_int_not_equal(se05x_attested_read_verify(a, SE05X_CURVE_NIST_P256, pub, pl), SE05X_OK);
    /* a 3.x-layout answer on a 7.x applet is rejected by the strict parser */
    cap_push(cap, "4101 00 4201 00 9000");
    assert_int_not_equal(se05x_read_object_attested(c, 1, 0, 0, 2, SE05X_ECSIGN_SHA256, fresh, a),
                         SE05X_OK);
    free(a);
    EVP_PKEY_free(key);
    se05x_conn_close(c);
}


static void test_attested_read_3x(void **state)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(key);
    uint8_t pub[65];
    size_t pl = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(key, "pub", pub, sizeof(pub), &pl), 1);
    cap_t *cap;
    se05x_conn *c = cap_open_version(&cap, 3, 6);
    uint8_t fresh[16], attr[16], ts[12], uid[18], msg[128], sig[128];
    memset(fresh, 0x0F, sizeof(fresh));
    memset(attr, 0xA7, sizeof(attr));
    memset(ts, 0x75, sizeof(ts));
    memset(uid, 0x1D, sizeof(uid));
    size_t ml = 0;
    memcpy(msg + ml, "abc", 3); ml += 3;
    memcpy(msg + ml, attr, 16); ml += 16;
    memcpy(msg + ml, ts, 12); ml += 12;
    memcpy(msg + ml, fresh, 16); ml += 16;
    memcpy(msg + ml, uid, 18); ml += 18;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    size_t sl = sizeof(sig);
    assert_int_equal(EVP_DigestSignInit_ex(m, NULL, "SHA256", NULL, NULL, key, NULL), 1);
    assert_int_equal(EVP_DigestSign(m, sig, &sl, msg, ml), 1);
    EVP_MD_CTX_free(m);
    uint8_t rsp[300];
    se05x_tlvw w;
    se05x_tlvw_init(&w, rsp, sizeof(rsp));
    se05x_tlvw_bytes(&w, 0x41, (const uint8_t *)"abc", 3);
    se05x_tlvw_bytes(&w, 0x42, attr, 16);
    se05x_tlvw_bytes(&w, 0x43, ts, 12);
    se05x_tlvw_bytes(&w, 0x44, fresh, 16);
    se05x_tlvw_bytes(&w, 0x45, uid, 18);
    se05x_tlvw_bytes(&w, 0x46, sig, sl);
    cap_push_bytes(cap, rsp, w.len, 0x9000);
    se05x_attested_read *a = calloc(1, sizeof(*a));
    assert_int_equal(se05x_read_object_attested(c, 0xF0000001, 0, 3, 0xF0000012, SE05X_ECSIGN_SHA256,
                                                fresh, a),
                     SE05X_OK);
    CAP_EXPECT(cap, 0, "80 22 00 00 00 00 25 41 04 F0000001 43 02 00 03 45 04 F0000012 46 01 21"
                       " 47 10 0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F 00 00");
    assert_false(a->v7);
    assert_int_equal(a->freshness_len, 16);
    assert_int_equal(se05x_attested_read_verify(a, SE05X_CURVE_NIST_P256, pub, pl), SE05X_OK);
    ((uint8_t *)a->uid)[0] ^= 1;
    assert_int_equal(se05x_attested_read_verify(a, SE05X_CURVE_NIST_P256, pub, pl), SE05X_ERR_CRYPTO);
    free(a);
    EVP_PKEY_free(key);
    se05x_conn_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_trailing_and_unexpected),
        cmocka_unit_test(test_duplicate_order_missing_oversized),
        cmocka_unit_test(test_sw_error_message),
        cmocka_unit_test(test_buffers_and_args),
        cmocka_unit_test(test_id_list_guards),
        cmocka_unit_test(test_attested_read_7x),
        cmocka_unit_test(test_attested_read_3x),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
