/* Unit tests of the JRCP v1 frame codec (hostlib/src/core/jrcp_frame.c):
 * exact encodings, incremental decoding over arbitrary splits, several
 * frames in one buffer, and rejection of oversized length fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/jrcp.h"

static void test_encode_apdu(void **state)
{
    (void)state;
    const uint8_t apdu[5] = {0x80, 0x04, 0x00, 0x20, 0x00};
    const uint8_t want[9] = {0x01, 0x00, 0x00, 0x05, 0x80, 0x04, 0x00, 0x20, 0x00};
    uint8_t out[16];
    size_t n = 0;
    assert_int_equal(
        se05x_jrcp_encode(SE05X_JRCP_APDU_DATA, apdu, sizeof apdu, out, sizeof out, &n), SE05X_OK);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
}

static void test_encode_wait_for_card(void **state)
{
    (void)state;
    const uint8_t tmo[4] = {0x00, 0x00, 0x01, 0x00};
    const uint8_t want[8] = {0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00};
    uint8_t out[8];
    size_t n = 0;
    assert_int_equal(se05x_jrcp_encode(SE05X_JRCP_WAIT_FOR_CARD, tmo, 4, out, sizeof out, &n),
                     SE05X_OK);
    assert_int_equal(n, 8);
    assert_memory_equal(out, want, 8);
}

static void test_encode_close_and_long(void **state)
{
    (void)state;
    uint8_t out[4];
    size_t n = 0;
    assert_int_equal(se05x_jrcp_encode(SE05X_JRCP_ERROR_MSG, NULL, 0, out, sizeof out, &n),
                     SE05X_OK);
    const uint8_t bye[4] = {0x03, 0x00, 0x00, 0x00};
    assert_int_equal(n, 4);
    assert_memory_equal(out, bye, 4);

    uint8_t hdr[4];
    assert_int_equal(se05x_jrcp_header(SE05X_JRCP_APDU_DATA, 4002, hdr), SE05X_OK);
    const uint8_t h4002[4] = {0x01, 0x00, 0x0F, 0xA2};
    assert_memory_equal(hdr, h4002, 4);
}

static void test_encode_errors(void **state)
{
    (void)state;
    uint8_t out[8];
    const uint8_t p[8] = {0};
    size_t n = 0;
    /* buffer one byte short */
    assert_int_equal(se05x_jrcp_encode(SE05X_JRCP_APDU_DATA, p, 5, out, 8, &n), SE05X_ERR_BUFFER);
    /* NULL payload with a length */
    assert_int_equal(se05x_jrcp_encode(SE05X_JRCP_APDU_DATA, NULL, 1, out, 8, &n), SE05X_ERR_ARG);
    /* length not representable in 16 bits */
    assert_int_equal(se05x_jrcp_header(SE05X_JRCP_APDU_DATA, 0x10000, out), SE05X_ERR_ARG);
    uint8_t *big = calloc(1, 0x10010);
    assert_non_null(big);
    assert_int_equal(se05x_jrcp_encode(SE05X_JRCP_APDU_DATA, big, 0x10000, big, 0x10010, &n),
                     SE05X_ERR_ARG);
    free(big);
}

static se05x_jrcp_decoder *new_dec(size_t max)
{
    se05x_jrcp_decoder *d = malloc(sizeof *d);
    assert_non_null(d);
    se05x_jrcp_decoder_init(d, max);
    return d;
}

static void test_decode_whole(void **state)
{
    (void)state;
    se05x_jrcp_decoder *d = new_dec(0);
    const uint8_t f[7] = {0x01, 0x00, 0x00, 0x03, 0xAA, 0xBB, 0xCC};
    size_t used;
    bool done;
    assert_true(se05x_jrcp_decoder_idle(d));
    assert_int_equal(se05x_jrcp_decoder_feed(d, f, sizeof f, &used, &done), SE05X_OK);
    assert_true(done);
    assert_int_equal(used, 7);
    assert_int_equal(d->mty, 0x01);
    assert_int_equal(d->nad, 0x00);
    assert_int_equal(d->len, 3);
    assert_memory_equal(d->payload, f + 4, 3);
    assert_false(se05x_jrcp_decoder_idle(d));
    se05x_jrcp_decoder_next(d);
    assert_true(se05x_jrcp_decoder_idle(d));
    free(d);
}

/* Every split point, and byte-by-byte. */
static void test_decode_split(void **state)
{
    (void)state;
    uint8_t f[4 + 300];
    size_t fl;
    uint8_t p[300];
    for (size_t i = 0; i < sizeof p; i++)
        p[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(se05x_jrcp_encode(SE05X_JRCP_APDU_DATA, p, sizeof p, f, sizeof f, &fl),
                     SE05X_OK);
    se05x_jrcp_decoder *d = new_dec(0);
    for (size_t cut = 0; cut <= fl; cut++) {
        size_t u1, u2;
        bool done;
        se05x_jrcp_decoder_next(d);
        assert_int_equal(se05x_jrcp_decoder_feed(d, f, cut, &u1, &done), SE05X_OK);
        assert_int_equal(u1, cut);
        assert_int_equal(done, cut == fl);
        assert_int_equal(se05x_jrcp_decoder_idle(d), cut == 0);
        assert_int_equal(se05x_jrcp_decoder_feed(d, f + cut, fl - cut, &u2, &done), SE05X_OK);
        assert_true(done);
        assert_int_equal(u2, fl - cut);
        assert_int_equal(d->len, sizeof p);
        assert_memory_equal(d->payload, p, sizeof p);
    }
    se05x_jrcp_decoder_next(d);
    for (size_t i = 0; i < fl; i++) {
        size_t u;
        bool done;
        assert_int_equal(se05x_jrcp_decoder_feed(d, f + i, 1, &u, &done), SE05X_OK);
        assert_int_equal(u, 1);
        assert_int_equal(done, i == fl - 1);
    }
    assert_memory_equal(d->payload, p, sizeof p);
    free(d);
}

/* Two frames in one buffer: the first feed stops at the end of frame 1. */
static void test_decode_two_frames(void **state)
{
    (void)state;
    const uint8_t buf[] = {0x30, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x90, 0x00};
    se05x_jrcp_decoder *d = new_dec(0);
    size_t used;
    bool done;
    assert_int_equal(se05x_jrcp_decoder_feed(d, buf, sizeof buf, &used, &done), SE05X_OK);
    assert_true(done);
    assert_int_equal(used, 4);
    assert_int_equal(d->mty, SE05X_JRCP_LOCK);
    assert_int_equal(d->len, 0);
    /* feeding again before _next consumes nothing */
    size_t u2;
    assert_int_equal(se05x_jrcp_decoder_feed(d, buf + used, sizeof buf - used, &u2, &done),
                     SE05X_OK);
    assert_int_equal(u2, 0);
    assert_true(done);
    se05x_jrcp_decoder_next(d);
    assert_int_equal(se05x_jrcp_decoder_feed(d, buf + used, sizeof buf - used, &u2, &done),
                     SE05X_OK);
    assert_true(done);
    assert_int_equal(u2, 6);
    assert_int_equal(d->mty, SE05X_JRCP_APDU_DATA);
    assert_int_equal(d->len, 2);
    free(d);
}

static void test_decode_too_long(void **state)
{
    (void)state;
    se05x_jrcp_decoder *d = new_dec(0);
    assert_int_equal(d->max, SE05X_JRCP_MAX_PAYLOAD);
    const uint8_t h5000[4] = {0x01, 0x00, 0x13, 0x88}; /* 5000 */
    size_t used;
    bool done;
    assert_int_equal(se05x_jrcp_decoder_feed(d, h5000, 4, &used, &done), SE05X_ERR_PROTOCOL);
    assert_false(done);
    assert_int_equal(d->len, 5000);
    assert_false(se05x_jrcp_decoder_idle(d));
    /* stays bad */
    assert_int_equal(se05x_jrcp_decoder_feed(d, h5000, 1, &used, &done), SE05X_ERR_PROTOCOL);
    /* reset by init */
    se05x_jrcp_decoder_init(d, 10);
    const uint8_t h11[4] = {0x01, 0x00, 0x00, 0x0B};
    const uint8_t h10[4] = {0x01, 0x00, 0x00, 0x0A};
    assert_int_equal(se05x_jrcp_decoder_feed(d, h11, 4, &used, &done), SE05X_ERR_PROTOCOL);
    se05x_jrcp_decoder_init(d, 10);
    assert_int_equal(se05x_jrcp_decoder_feed(d, h10, 4, &used, &done), SE05X_OK);
    assert_false(done);
    assert_int_equal(used, 4);
    /* maximum possible header value with the default limit */
    se05x_jrcp_decoder_init(d, 0);
    const uint8_t hmax[4] = {0x01, 0x00, 0xFF, 0xFF};
    assert_int_equal(se05x_jrcp_decoder_feed(d, hmax, 4, &used, &done), SE05X_ERR_PROTOCOL);
    /* limit above the buffer is clamped */
    se05x_jrcp_decoder_init(d, 100000);
    assert_int_equal(d->max, SE05X_JRCP_MAX_PAYLOAD);
    free(d);
}

static void test_decode_exact_max(void **state)
{
    (void)state;
    se05x_jrcp_decoder *d = new_dec(0);
    uint8_t *f = calloc(1, 4 + SE05X_JRCP_MAX_PAYLOAD);
    assert_non_null(f);
    size_t fl;
    assert_int_equal(se05x_jrcp_encode(SE05X_JRCP_APDU_DATA, f + 4, SE05X_JRCP_MAX_PAYLOAD, f,
                                       4 + SE05X_JRCP_MAX_PAYLOAD, &fl),
                     SE05X_OK);
    size_t used;
    bool done;
    assert_int_equal(se05x_jrcp_decoder_feed(d, f, fl, &used, &done), SE05X_OK);
    assert_true(done);
    assert_int_equal(d->len, SE05X_JRCP_MAX_PAYLOAD);
    free(f);
    free(d);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(se05x_jrcp_type_name(0x00), "WAIT_FOR_CARD");
    assert_string_equal(se05x_jrcp_type_name(0x01), "APDU_DATA");
    assert_string_equal(se05x_jrcp_type_name(0x03), "ERROR_MSG");
    assert_string_equal(se05x_jrcp_type_name(0x50), "QUIT");
    assert_string_equal(se05x_jrcp_type_name(0x99), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_apdu),
        cmocka_unit_test(test_encode_wait_for_card),
        cmocka_unit_test(test_encode_close_and_long),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_decode_whole),
        cmocka_unit_test(test_decode_split),
        cmocka_unit_test(test_decode_two_frames),
        cmocka_unit_test(test_decode_too_long),
        cmocka_unit_test(test_decode_exact_max),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
