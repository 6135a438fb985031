/* Unit tests for the shared TLV writer and the strict TLV readers
 * (hostlib/src/core/tlv.c): length forms, optional-zero omission, and every
 * class of malformed input the parsers reject. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/tlv.h"

static void test_length_forms(void **state)
{
    uint8_t buf[600], val[300];
    se05x_tlvw w;
    memset(val, 0xAB, sizeof(val));
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_bytes(&w, 0x41, val, 0x7F);
    assert_int_equal(w.len, 2 + 0x7F);
    assert_int_equal(buf[1], 0x7F);
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_bytes(&w, 0x41, val, 0x80);
    assert_int_equal(buf[1], 0x81);
    assert_int_equal(buf[2], 0x80);
    assert_int_equal(w.len, 3 + 0x80);
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_bytes(&w, 0x41, val, 0x100);
    assert_int_equal(buf[1], 0x82);
    assert_int_equal(buf[2], 0x01);
    assert_int_equal(buf[3], 0x00);
    assert_int_equal(w.len, 4 + 0x100);
    /* reader accepts each form, including a long form for a short value */
    const uint8_t longform[] = {0x41, 0x82, 0x00, 0x02, 0xAA, 0xBB, 0x42, 0x81, 0x01, 0xCC};
    size_t pos = 0, vlen;
    uint8_t tag;
    const uint8_t *v;
    assert_int_equal(se05x_tlv_next(longform, sizeof(longform), &pos, &tag, &v, &vlen), SE05X_OK);
    assert_int_equal(tag, 0x41);
    assert_int_equal(vlen, 2);
    assert_int_equal(se05x_tlv_next(longform, sizeof(longform), &pos, &tag, &v, &vlen), SE05X_OK);
    assert_int_equal(tag, 0x42);
    assert_int_equal(v[0], 0xCC);
    assert_int_equal(pos, sizeof(longform));
}

static void test_integers_and_optional(void **state)
{
    uint8_t buf[64];
    se05x_tlvw w;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_u32(&w, SE05X_TAG_1, 0x7FFF0206);
    se05x_tlvw_u16_opt(&w, SE05X_TAG_2, 0); /* omitted */
    se05x_tlvw_u16_opt(&w, SE05X_TAG_3, 0x12);
    const uint8_t want[] = {0x41, 0x04, 0x7F, 0xFF, 0x02, 0x06, 0x43, 0x02, 0x00, 0x12};
    assert_int_equal(w.len, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(se05x_tlvw_status(&w), SE05X_OK);
}

static void test_writer_overflow(void **state)
{
    uint8_t buf[4], v[8] = {0};
    se05x_tlvw w;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_bytes(&w, 0x41, v, sizeof(v));
    assert_int_equal(se05x_tlvw_status(&w), SE05X_ERR_BUFFER);
    se05x_tlvw_u8(&w, 0x42, 1); /* ignored after the error */
    assert_int_equal(w.len, 0);
}

static const se05x_tlv_expect_t EXP[] = {
    {SE05X_TAG_1, 0, 1, 1},
    {SE05X_TAG_2, SE05X_TLV_OPTIONAL, 0, 0},
    {SE05X_TAG_3, 0, 2, 2},
};

static se05x_status expect(const uint8_t *b, size_t n)
{
    se05x_tlv_item out[3];
    return se05x_tlv_expect(b, n, EXP, 3, out);
}

static void test_expect_good(void **state)
{
    const uint8_t a[] = {0x41, 0x01, 0x01, 0x42, 0x00, 0x43, 0x02, 0x00, 0x10};
    const uint8_t b[] = {0x41, 0x01, 0x01, 0x43, 0x02, 0x00, 0x10};
    se05x_tlv_item out[3];
    assert_int_equal(se05x_tlv_expect(a, sizeof(a), EXP, 3, out), SE05X_OK);
    assert_true(out[1].present);
    assert_int_equal(se05x_tlv_expect(b, sizeof(b), EXP, 3, out), SE05X_OK);
    assert_false(out[1].present);
    uint16_t v;
    assert_int_equal(se05x_tlv_get_u16(&out[2], &v), SE05X_OK);
    assert_int_equal(v, 0x10);
}

static void test_expect_rejects(void **state)
{
    const uint8_t truncated[] = {0x41, 0x01, 0x01, 0x43, 0x05, 0x00};
    const uint8_t trunc_hdr[] = {0x41, 0x01, 0x01, 0x43};
    const uint8_t trunc_len82[] = {0x41, 0x82, 0x00};
    const uint8_t badlen[] = {0x41, 0x83, 0x00, 0x00, 0x01, 0x01};
    const uint8_t oversized[] = {0x41, 0x02, 0x01, 0x02, 0x43, 0x02, 0x00, 0x10};
    const uint8_t dup[] = {0x41, 0x01, 0x01, 0x41, 0x01, 0x01, 0x43, 0x02, 0x00, 0x10};
    const uint8_t order[] = {0x43, 0x02, 0x00, 0x10, 0x41, 0x01, 0x01};
    const uint8_t missing[] = {0x41, 0x01, 0x01};
    const uint8_t unexpected[] = {0x41, 0x01, 0x01, 0x43, 0x02, 0x00, 0x10, 0x44, 0x00};
    const uint8_t trailing_dup[] = {0x41, 0x01, 0x01, 0x43, 0x02, 0x00, 0x10, 0x43, 0x02, 0x00, 0x10};
    assert_int_equal(expect(truncated, sizeof(truncated)), SE05X_ERR_TLV_TRUNCATED);
    assert_int_equal(expect(trunc_hdr, sizeof(trunc_hdr)), SE05X_ERR_TLV_TRUNCATED);
    assert_int_equal(expect(trunc_len82, sizeof(trunc_len82)), SE05X_ERR_TLV_TRUNCATED);
    assert_int_equal(expect(badlen, sizeof(badlen)), SE05X_ERR_TLV_LENGTH);
    assert_int_equal(expect(oversized, sizeof(oversized)), SE05X_ERR_TLV_LENGTH);
    assert_int_equal(expect(dup, sizeof(dup)), SE05X_ERR_TLV_DUPLICATE);
    assert_int_equal(expect(order, sizeof(order)), SE05X_ERR_TLV_ORDER);
    assert_int_equal(expect(missing, sizeof(missing)), SE05X_ERR_TLV_MISSING);
    assert_int_equal(expect(unexpected, sizeof(unexpected)), SE05X_ERR_TLV_UNEXPECTED);
    assert_int_equal(expect(trailing_dup, sizeof(trailing_dup)), SE05X_ERR_TLV_DUPLICATE);
}

static void test_parse_set(void **state)
{
    static const uint8_t allowed[] = {0x11, 0x41, 0x42, 0};
    se05x_tlv_set set;
    const uint8_t ok[] = {0x11, 0x00, 0x41, 0x01, 0x05, 0x42, 0x00};
    const uint8_t desc[] = {0x41, 0x01, 0x05, 0x11, 0x00};
    const uint8_t dup[] = {0x41, 0x01, 0x05, 0x41, 0x01, 0x05};
    const uint8_t unk[] = {0x41, 0x01, 0x05, 0x49, 0x00};
    assert_int_equal(se05x_tlv_parse_set(ok, sizeof(ok), allowed, true, &set), SE05X_OK);
    assert_true(set.t[0x41].present);
    assert_int_equal(set.t[0x41].val[0], 5);
    assert_false(set.t[0x43].present);
    assert_int_equal(se05x_tlv_parse_set(desc, sizeof(desc), allowed, true, &set), SE05X_ERR_TLV_ORDER);
    assert_int_equal(se05x_tlv_parse_set(desc, sizeof(desc), allowed, false, &set), SE05X_OK);
    assert_int_equal(se05x_tlv_parse_set(dup, sizeof(dup), allowed, false, &set), SE05X_ERR_TLV_DUPLICATE);
    assert_int_equal(se05x_tlv_parse_set(unk, sizeof(unk), allowed, true, &set), SE05X_ERR_TLV_UNEXPECTED);
    assert_int_equal(se05x_tlv_parse_set(unk, sizeof(unk), NULL, true, &set), SE05X_OK);
}

static void test_get_width(void **state)
{
    const uint8_t three[] = {1, 2, 3};
    se05x_tlv_item it = {three, 3, true};
    uint32_t v32;
    assert_int_equal(se05x_tlv_get_u32(&it, &v32), SE05X_ERR_TLV_LENGTH);
    it.present = false;
    assert_int_equal(se05x_tlv_get_u32(&it, &v32), SE05X_ERR_TLV_MISSING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length_forms),   cmocka_unit_test(test_integers_and_optional),
        cmocka_unit_test(test_writer_overflow), cmocka_unit_test(test_expect_good),
        cmocka_unit_test(test_expect_rejects), cmocka_unit_test(test_parse_set),
        cmocka_unit_test(test_get_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
