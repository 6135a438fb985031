/* Unit tests for ISO 7816-4 APDU encoding/decoding (hostlib/src/core/apdu.c):
 * every case short and extended, NXP's middleware Lc rule, and malformed
 * command APDUs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/apdu.h"

static void enc(const se05x_apdu *a, const uint8_t *want, size_t wlen)
{
    uint8_t out[SE05X_APDU_MAX];
    size_t n;
    assert_int_equal(se05x_apdu_encode(a, out, sizeof(out), &n), SE05X_OK);
    assert_int_equal(n, wlen);
    assert_memory_equal(out, want, wlen);
    /* and it decodes back to the same fields */
    se05x_apdu d;
    assert_int_equal(se05x_apdu_decode(out, n, &d), SE05X_OK);
    assert_int_equal(d.cla, a->cla);
    assert_int_equal(d.ins, a->ins);
    assert_int_equal(d.lc, a->lc);
    assert_int_equal(d.ne, a->ne);
    if (a->lc)
        assert_memory_equal(d.data, a->data, a->lc);
}

static void test_cases(void **state)
{
    const uint8_t uid_data[] = {0x41, 0x04, 0x7F, 0xFF, 0x02, 0x06, 0x43, 0x02, 0x00, 0x12};
    /* case 1 */
    se05x_apdu c1 = {.cla = 0x80, .ins = 0x04, .p1 = 0x00, .p2 = 0x1C};
    enc(&c1, (const uint8_t[]){0x80, 0x04, 0x00, 0x1C}, 4);
    /* case 2S: GetVersion as the MW sends it */
    se05x_apdu c2 = {.cla = 0x80, .ins = 0x04, .p1 = 0x00, .p2 = 0x20, .ne = SE05X_NE_SHORT};
    enc(&c2, (const uint8_t[]){0x80, 0x04, 0x00, 0x20, 0x00}, 5);
    /* case 2E */
    se05x_apdu c2e = {.cla = 0x80, .ins = 0x04, .p1 = 0x00, .p2 = 0x20, .ne = SE05X_NE_EXT};
    enc(&c2e, (const uint8_t[]){0x80, 0x04, 0x00, 0x20, 0x00, 0x00, 0x00}, 7);
    /* case 3S: CheckObjectExists */
    const uint8_t id[] = {0x41, 0x04, 0x7F, 0xFF, 0x02, 0x06};
    se05x_apdu c3 = {.cla = 0x80, .ins = 0x04, .p2 = 0x27, .data = id, .lc = sizeof(id)};
    enc(&c3, (const uint8_t[]){0x80, 0x04, 0x00, 0x27, 0x06, 0x41, 0x04, 0x7F, 0xFF, 0x02, 0x06}, 11);
    /* case 4E: the UID read of spec §4.2 */
    se05x_apdu c4e = {.cla = 0x80, .ins = 0x02, .data = uid_data, .lc = sizeof(uid_data),
                      .ne = SE05X_NE_EXT};
    enc(&c4e,
        (const uint8_t[]){0x80, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0A, 0x41, 0x04, 0x7F, 0xFF, 0x02,
                          0x06, 0x43, 0x02, 0x00, 0x12, 0x00, 0x00},
        19);
    /* case 4S */
    se05x_apdu c4 = {.cla = 0x00, .ins = 0xA4, .p1 = 0x04, .data = id, .lc = 2, .ne = 256};
    enc(&c4, (const uint8_t[]){0x00, 0xA4, 0x04, 0x00, 0x02, 0x41, 0x04, 0x00}, 8);
}

static void test_mw_lc_rule(void **state)
{
    uint8_t data[300], out[SE05X_APDU_MAX];
    size_t n;
    memset(data, 0x5A, sizeof(data));
    se05x_apdu a = {.cla = 0x80, .ins = 0x01, .data = data, .lc = 254};
    assert_int_equal(se05x_apdu_encode(&a, out, sizeof(out), &n), SE05X_OK);
    assert_int_equal(n, 4 + 1 + 254);
    a.lc = 255; /* 0xFF itself goes extended */
    assert_int_equal(se05x_apdu_encode(&a, out, sizeof(out), &n), SE05X_OK);
    assert_int_equal(n, 4 + 3 + 255);
    assert_int_equal(out[4], 0);
    assert_int_equal(out[5], 0);
    assert_int_equal(out[6], 0xFF);
    /* a small buffer is refused */
    assert_int_equal(se05x_apdu_encode(&a, out, 100, &n), SE05X_ERR_BUFFER);
}

static void test_decode_rejects(void **state)
{
    se05x_apdu d;
    const uint8_t short3[] = {0x80, 0x04, 0x00};
    const uint8_t lc_too_long[] = {0x80, 0x04, 0x00, 0x27, 0x06, 0x41, 0x04};
    const uint8_t lc_short_by_more[] = {0x80, 0x04, 0x00, 0x27, 0x02, 0x41, 0x04, 0x00, 0x00};
    const uint8_t ext6[] = {0x80, 0x04, 0x00, 0x27, 0x00, 0x01};
    const uint8_t ext_zero_lc[] = {0x80, 0x04, 0x00, 0x27, 0x00, 0x00, 0x00, 0x41};
    const uint8_t ext_mismatch[] = {0x80, 0x04, 0x00, 0x27, 0x00, 0x00, 0x05, 0x41, 0x01};
    assert_int_equal(se05x_apdu_decode(short3, sizeof(short3), &d), SE05X_ERR_APDU);
    assert_int_equal(se05x_apdu_decode(lc_too_long, sizeof(lc_too_long), &d), SE05X_ERR_APDU);
    assert_int_equal(se05x_apdu_decode(lc_short_by_more, sizeof(lc_short_by_more), &d), SE05X_ERR_APDU);
    assert_int_equal(se05x_apdu_decode(ext6, sizeof(ext6), &d), SE05X_ERR_APDU);
    assert_int_equal(se05x_apdu_decode(ext_zero_lc, sizeof(ext_zero_lc), &d), SE05X_ERR_APDU);
    assert_int_equal(se05x_apdu_decode(ext_mismatch, sizeof(ext_mismatch), &d), SE05X_ERR_APDU);
}

static void test_rapdu(void **state)
{
    const uint8_t r[] = {0x41, 0x01, 0x01, 0x90, 0x00};
    size_t dlen;
    uint16_t sw;
    assert_int_equal(se05x_rapdu_split(r, sizeof(r), &dlen, &sw), SE05X_OK);
    assert_int_equal(dlen, 3);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(se05x_rapdu_split(r, 1, &dlen, &sw), SE05X_ERR_RESPONSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_mw_lc_rule),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_rapdu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
