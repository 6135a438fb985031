/* Unit tests for object policies (hostlib/src/policy.c): TAG_POLICY bytes,
 * merging per auth id, extensions, limits, parsing round trip and errors,
 * and the access-rule name parser/formatter used by the CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/policy.h"

static void test_single_entry_bytes(void **state)
{
    se05x_policy p;
    se05x_policy_init(&p);
    assert_int_equal(se05x_policy_add(&p, 0, SE05X_AR_SIGN | SE05X_AR_ENC | SE05X_AR_DEC |
                                                 SE05X_AR_DELETE | SE05X_AR_ATTESTATION),
                     SE05X_OK);
    uint8_t out[64];
    size_t len = 0;
    assert_int_equal(se05x_policy_serialize(&p, out, sizeof(out), &len), SE05X_OK);
    const uint8_t want[] = {0x08, 0, 0, 0, 0, 0x13, 0x04, 0x80, 0x00}; /* spec §12 trace */
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    /* empty policy serialises to nothing */
    se05x_policy_init(&p);
    assert_int_equal(se05x_policy_serialize(&p, out, sizeof(out), &len), SE05X_OK);
    assert_int_equal(len, 0);
}

static void test_merge_per_auth_id(void **state)
{
    se05x_policy p;
    se05x_policy_init(&p);
    se05x_policy_add(&p, 0, SE05X_AR_SIGN);
    se05x_policy_add(&p, 0x7DA00001, SE05X_AR_READ | SE05X_AR_DELETE);
    se05x_policy_add(&p, 0, SE05X_AR_VERIFY);
    assert_int_equal(p.n, 2);
    uint8_t out[64];
    size_t len;
    assert_int_equal(se05x_policy_serialize(&p, out, sizeof(out), &len), SE05X_OK);
    const uint8_t want[] = {0x08, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00,
                            0x08, 0x7D, 0xA0, 0x00, 0x01, 0x00, 0x24, 0x00, 0x00};
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    /* too small output buffer */
    assert_int_equal(se05x_policy_serialize(&p, out, 10, &len), SE05X_ERR_BUFFER);
}

static void test_extension_and_limits(void **state)
{
    se05x_policy p;
    se05x_policy_init(&p);
    uint8_t ext[36];
    memset(ext, 0xEE, sizeof(ext));
    assert_int_equal(se05x_policy_add_ext(&p, 0, SE05X_AR_REQUIRE_PCR_VALUE, ext, 36), SE05X_OK);
    assert_int_equal(se05x_policy_add(&p, 0, SE05X_AR_SIGN), SE05X_OK); /* keeps the ext */
    ext[0] = 0;
    assert_int_equal(se05x_policy_add_ext(&p, 0, SE05X_AR_READ, ext, 36), SE05X_ERR_ARG);
    assert_int_equal(se05x_policy_add_ext(&p, 0, SE05X_AR_READ, ext, SE05X_POLICY_MAX_EXT + 1),
                     SE05X_ERR_ARG);
    uint8_t out[64];
    size_t len;
    assert_int_equal(se05x_policy_serialize(&p, out, sizeof(out), &len), SE05X_OK);
    assert_int_equal(len, 1 + 44);
    assert_int_equal(out[0], 44);
    assert_int_equal(out[5], 0x10);
    assert_int_equal(out[6], 0x01);
    assert_int_equal(out[9], 0xEE);
    /* table full */
    se05x_policy_init(&p);
    for (uint32_t i = 0; i < SE05X_POLICY_MAX_ENTRIES; i++)
        assert_int_equal(se05x_policy_add(&p, i + 1, SE05X_AR_READ), SE05X_OK);
    assert_int_equal(se05x_policy_add(&p, 999, SE05X_AR_READ), SE05X_ERR_BUFFER);
    /* merging into an existing id still works when full */
    assert_int_equal(se05x_policy_add(&p, 1, SE05X_AR_SIGN), SE05X_OK);
}

static void test_parse(void **state)
{
    se05x_policy p, q;
    se05x_policy_init(&p);
    se05x_policy_add(&p, 0, SE05X_AR_SIGN);
    se05x_policy_add(&p, 0x7DA00001, SE05X_AR_READ);
    uint8_t out[64];
    size_t len;
    se05x_policy_serialize(&p, out, sizeof(out), &len);
    assert_int_equal(se05x_policy_parse(out, len, &q), SE05X_OK);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.e[1].auth_id, 0x7DA00001);
    assert_int_equal(q.e[1].ar, SE05X_AR_READ);
    const uint8_t short_l[] = {0x07, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(se05x_policy_parse(short_l, sizeof(short_l), &q), SE05X_ERR_TLV_LENGTH);
    const uint8_t trunc[] = {0x08, 0, 0, 0, 0, 0x10, 0, 0};
    assert_int_equal(se05x_policy_parse(trunc, sizeof(trunc), &q), SE05X_ERR_TLV_TRUNCATED);
}

static void test_names(void **state)
{
    uint32_t ar = 0;
    char err[128];
    assert_int_equal(se05x_ar_parse("sign,verify,read", &ar, err, sizeof(err)), SE05X_OK);
    assert_int_equal(ar, SE05X_AR_SIGN | SE05X_AR_VERIFY | SE05X_AR_READ);
    assert_int_equal(se05x_ar_parse("Sign | ALLOW_DELETE + enc", &ar, err, sizeof(err)), SE05X_OK);
    assert_int_equal(ar, SE05X_AR_SIGN | SE05X_AR_DELETE | SE05X_AR_ENC);
    assert_int_equal(se05x_ar_parse("0x00100000,gen", &ar, err, sizeof(err)), SE05X_OK);
    assert_int_equal(ar, SE05X_AR_WRITE | SE05X_AR_GEN);
    assert_int_equal(se05x_ar_parse("sign,frobnicate", &ar, err, sizeof(err)), SE05X_ERR_ARG);
    assert_string_equal(err, "unknown access rule 'frobnicate'");
    assert_int_equal(se05x_ar_parse(" , ", &ar, err, sizeof(err)), SE05X_ERR_ARG);
    assert_int_equal(se05x_ar_parse("0xZZ", &ar, err, sizeof(err)), SE05X_ERR_ARG);
    char buf[128];
    size_t n = se05x_ar_format(SE05X_AR_SIGN | SE05X_AR_READ | 0x1, buf, sizeof(buf));
    assert_string_equal(buf, "sign,read,0x00000001");
    assert_int_equal(n, strlen(buf));
    /* truncation reports the full length */
    char tiny[5];
    n = se05x_ar_format(SE05X_AR_SIGN | SE05X_AR_READ, tiny, sizeof(tiny));
    assert_int_equal(n, strlen("sign,read"));
    assert_int_equal(strlen(tiny), 4);
    assert_string_equal(se05x_ar_name(SE05X_AR_KA), "ka");
    assert_null(se05x_ar_name(0x3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_entry_bytes), cmocka_unit_test(test_merge_per_auth_id),
        cmocka_unit_test(test_extension_and_limits), cmocka_unit_test(test_parse),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
