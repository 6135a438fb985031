/* Unit tests of the 80 05 applet-session wrapper format (core/scp03.c):
 * exact bytes for a known session id and inner APDU, Le stripping of the
 * inner APDU (NXP middleware style), extended Lc for large inner commands,
 * the card-side parser and its rejection of malformed wrappers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/apdu.h"
#include "se05x/scp03.h"

static const uint8_t SID[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};

static void test_build_exact(void **state)
{
    (void)state;
    /* ReadObject(0x7FFF0206, length 18) as the inner APDU */
    static const uint8_t inner[] = {0x80, 0x02, 0x00, 0x00, 0x0A, 0x41, 0x04, 0x7F,
                                    0xFF, 0x02, 0x06, 0x43, 0x02, 0x00, 0x12};
    static const uint8_t want[] = {0x80, 0x05, 0x00, 0x00, 0x1B,                   /* hdr, Lc 27 */
                                   0x10, 0x08, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
                                   0x41, 0x0F, 0x80, 0x02, 0x00, 0x00, 0x0A, 0x41, 0x04, 0x7F,
                                   0xFF, 0x02, 0x06, 0x43, 0x02, 0x00, 0x12};
    uint8_t out[128];
    size_t ol = 0;
    assert_int_equal(se05x_sesswrap_build(SID, inner, sizeof(inner), out, sizeof(out), &ol), SE05X_OK);
    assert_int_equal(ol, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    /* CloseSession: a bare 4-byte header inside */
    static const uint8_t close_in[] = {0x80, 0x04, 0x00, 0x1C};
    static const uint8_t close_want[] = {0x80, 0x05, 0x00, 0x00, 0x10, 0x10, 0x08, 0x01, 0x23, 0x45,
                                         0x67, 0x89, 0xAB, 0xCD, 0xEF, 0x41, 0x04, 0x80, 0x04,
                                         0x00, 0x1C};
    assert_int_equal(se05x_sesswrap_build(SID, close_in, 4, out, sizeof(out), &ol), SE05X_OK);
    assert_int_equal(ol, sizeof(close_want));
    assert_memory_equal(out, close_want, sizeof(close_want));
}

static void test_build_large(void **state)
{
    (void)state;
    uint8_t inner[4 + 3 + 300];
    uint8_t out[512];
    size_t ol = 0;
    memset(inner, 0x33, sizeof(inner));
    assert_int_equal(se05x_sesswrap_build(SID, inner, sizeof(inner), out, sizeof(out), &ol), SE05X_OK);
    /* data = 10 + (1 + 3 + 307) = 321 -> extended Lc 00 01 41, TAG_1 length 82 01 33 */
    static const uint8_t hdr[] = {0x80, 0x05, 0x00, 0x00, 0x00, 0x01, 0x41, 0x10, 0x08};
    assert_memory_equal(out, hdr, sizeof(hdr));
    static const uint8_t t1[] = {0x41, 0x82, 0x01, 0x33};
    assert_memory_equal(out + 7 + 10, t1, 4);
    assert_int_equal(ol, 7 + 321);
    assert_int_equal(se05x_sesswrap_build(SID, inner, sizeof(inner), out, 100, &ol), SE05X_ERR_BUFFER);
}

static void test_inner_strips_le(void **state)
{
    (void)state;
    uint8_t out[600];
    size_t ol = 0;
    /* GetVersion as the MW sends it outside a session: 80 04 00 20 00 */
    static const uint8_t gv[] = {0x80, 0x04, 0x00, 0x20, 0x00};
    assert_int_equal(se05x_sesswrap_inner(gv, sizeof(gv), out, sizeof(out), &ol), SE05X_OK);
    assert_int_equal(ol, 4);
    assert_memory_equal(out, gv, 4);
    /* extended Lc + Le 00 00 with small data -> short Lc, no Le */
    static const uint8_t ext[] = {0x80, 0x02, 0x00, 0x00, 0x00, 0x00, 0x06,
                                  0x41, 0x04, 0x7F, 0xFF, 0x02, 0x06, 0x00, 0x00};
    static const uint8_t want[] = {0x80, 0x02, 0x00, 0x00, 0x06, 0x41, 0x04, 0x7F, 0xFF, 0x02, 0x06};
    assert_int_equal(se05x_sesswrap_inner(ext, sizeof(ext), out, sizeof(out), &ol), SE05X_OK);
    assert_int_equal(ol, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    /* 255 data bytes stay extended (MW rule: short only below 255) */
    uint8_t big[5 + 255] = {0x80, 0x01, 0x00, 0x00, 0xFF};
    assert_int_equal(se05x_sesswrap_inner(big, sizeof(big), out, sizeof(out), &ol), SE05X_OK);
    assert_int_equal(ol, 7 + 255);
    assert_int_equal(out[4], 0x00);
    assert_int_equal(out[5], 0x00);
    assert_int_equal(out[6], 0xFF);
    /* malformed inner APDU */
    static const uint8_t bad[] = {0x80, 0x04, 0x00, 0x20, 0x05, 0x01};
    assert_int_equal(se05x_sesswrap_inner(bad, sizeof(bad), out, sizeof(out), &ol), SE05X_ERR_APDU);
}

static void test_parse(void **state)
{
    (void)state;
    static const uint8_t inner[] = {0x80, 0x04, 0x00, 0x20};
    uint8_t out[64], id[8];
    size_t ol = 0, il = 0;
    const uint8_t *in = NULL;
    assert_int_equal(se05x_sesswrap_build(SID, inner, 4, out, sizeof(out), &ol), SE05X_OK);
    assert_int_equal(se05x_sesswrap_parse(out + 5, ol - 5, id, &in, &il), SE05X_OK);
    assert_memory_equal(id, SID, 8);
    assert_int_equal(il, 4);
    assert_memory_equal(in, inner, 4);
    uint8_t d[32];
    memcpy(d, out + 5, ol - 5);
    size_t dl = ol - 5;
    /* session id of 7 bytes */
    static const uint8_t short_id[] = {0x10, 0x07, 1, 2, 3, 4, 5, 6, 7, 0x41, 0x04, 0x80, 0x04, 0x00, 0x20};
    assert_int_not_equal(se05x_sesswrap_parse(short_id, sizeof(short_id), id, &in, &il), SE05X_OK);
    /* missing inner APDU */
    assert_int_not_equal(se05x_sesswrap_parse(d, 10, id, &in, &il), SE05X_OK);
    /* trailing byte */
    d[dl] = 0x00;
    assert_int_not_equal(se05x_sesswrap_parse(d, dl + 1, id, &in, &il), SE05X_OK);
    /* truncated */
    assert_int_not_equal(se05x_sesswrap_parse(d, dl - 1, id, &in, &il), SE05X_OK);
    /* inner shorter than an APDU header */
    static const uint8_t tiny[] = {0x10, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x41, 0x02, 0x80, 0x04};
    assert_int_not_equal(se05x_sesswrap_parse(tiny, sizeof(tiny), id, &in, &il), SE05X_OK);
    /* tags swapped */
    static const uint8_t swapped[] = {0x41, 0x04, 0x80, 0x04, 0x00, 0x20, 0x10, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_not_equal(se05x_sesswrap_parse(swapped, sizeof(swapped), id, &in, &il), SE05X_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_exact),
        cmocka_unit_test(test_build_large),
        cmocka_unit_test(test_inner_strips_le),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
