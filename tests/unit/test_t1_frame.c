/* Unit tests of the T=1 frame codec (hostlib/src/core/t1_frame.c):
 * CRC-16/X-25 known answers, frame encoding layout (CRC LSB first), strict
 * decoding (bad CRC, NAD, LEN, PCB, truncation, trailing bytes) and ATR
 * parsing (BWT, IFSC, defaults, truncated ATR). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/t1.h"

static void test_crc_known_answers(void **state)
{
    (void)state;
    assert_int_equal(se05x_t1_crc((const uint8_t *)"123456789", 9), 0x906E);
    assert_int_equal(se05x_t1_crc(NULL, 0), 0x0000); /* init FFFF ^ xorout FFFF */
    /* Residue property of X-25: CRC over data||crc(LSB first) is 0xF0B8 before xorout. */
    uint8_t buf[11] = "123456789";
    buf[9] = 0x6E;
    buf[10] = 0x90;
    assert_int_equal(se05x_t1_crc(buf, 11) ^ 0xFFFF, 0xF0B8);
}

static void test_encode_layout(void **state)
{
    (void)state;
    uint8_t out[SE05X_T1_FRAME_MAX];
    size_t n = 0;
    assert_int_equal(se05x_t1_frame_encode(0x5A, 0xC0, NULL, 0, out, sizeof out, &n), SE05X_OK);
    assert_int_equal(n, 5);
    assert_int_equal(out[0], 0x5A);
    assert_int_equal(out[1], 0xC0);
    assert_int_equal(out[2], 0x00);
    uint16_t crc = se05x_t1_crc(out, 3);
    assert_int_equal(out[3], crc & 0xFF);
    assert_int_equal(out[4], crc >> 8);

    uint8_t inf[SE05X_T1_IFS_MAX];
    memset(inf, 0xAB, sizeof inf);
    assert_int_equal(se05x_t1_frame_encode(0xA5, 0x20, inf, 254, out, sizeof out, &n), SE05X_OK);
    assert_int_equal(n, SE05X_T1_FRAME_MAX);
    assert_int_equal(out[2], 254);
    /* too long, too small a buffer */
    uint8_t big[255] = {0};
    assert_int_equal(se05x_t1_frame_encode(0x5A, 0, big, 255, out, sizeof out, &n), SE05X_ERR_ARG);
    assert_int_equal(se05x_t1_frame_encode(0x5A, 0, inf, 10, out, 14, &n), SE05X_ERR_BUFFER);
}

static void test_decode_roundtrip(void **state)
{
    (void)state;
    uint8_t out[SE05X_T1_FRAME_MAX], inf[3] = {1, 2, 3};
    size_t n;
    se05x_t1_frame f;
    assert_int_equal(se05x_t1_frame_encode(0xA5, 0x60, inf, 3, out, sizeof out, &n), SE05X_OK);
    assert_int_equal(se05x_t1_frame_decode(out, n, 0xA5, &f), SE05X_T1_FRAME_OK);
    assert_int_equal(f.pcb, 0x60);
    assert_int_equal(f.len, 3);
    assert_memory_equal(f.inf, inf, 3);
    assert_true(se05x_t1_is_i(f.pcb));
    assert_int_equal(se05x_t1_i_ns(f.pcb), 1);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    uint8_t out[SE05X_T1_FRAME_MAX + 1], inf[4] = {0x80, 0x04, 0, 0};
    size_t n;
    se05x_t1_frame f;
    assert_int_equal(se05x_t1_frame_encode(0x5A, 0x00, inf, 4, out, sizeof out, &n), SE05X_OK);
    /* bad CRC (either byte) */
    out[n - 1] ^= 1;
    assert_int_equal(se05x_t1_frame_decode(out, n, 0x5A, &f), SE05X_T1_FRAME_BAD_CRC);
    out[n - 1] ^= 1;
    out[n - 2] ^= 0x80;
    assert_int_equal(se05x_t1_frame_decode(out, n, 0x5A, &f), SE05X_T1_FRAME_BAD_CRC);
    out[n - 2] ^= 0x80;
    /* CRC stored MSB first is wrong */
    uint8_t swapped[16];
    memcpy(swapped, out, n);
    swapped[n - 2] = out[n - 1];
    swapped[n - 1] = out[n - 2];
    assert_int_equal(se05x_t1_frame_decode(swapped, n, 0x5A, &f), SE05X_T1_FRAME_BAD_CRC);
    /* wrong direction NAD */
    assert_int_equal(se05x_t1_frame_decode(out, n, 0xA5, &f), SE05X_T1_FRAME_BAD_NAD);
    /* truncated, trailing */
    assert_int_equal(se05x_t1_frame_decode(out, n - 1, 0x5A, &f), SE05X_T1_FRAME_SHORT);
    assert_int_equal(se05x_t1_frame_decode(out, 4, 0x5A, &f), SE05X_T1_FRAME_SHORT);
    out[n] = 0;
    assert_int_equal(se05x_t1_frame_decode(out, n + 1, 0x5A, &f), SE05X_T1_FRAME_LONG);
    /* LEN 0xFF */
    uint8_t badlen[5] = {0x5A, 0x00, 0xFF, 0, 0};
    assert_int_equal(se05x_t1_frame_decode(badlen, 5, 0x5A, &f), SE05X_T1_FRAME_BAD_LEN);
    /* invalid PCBs with a valid CRC: I with reserved bits, R with bit 5, unknown S */
    const uint8_t bad_pcbs[] = {0x01, 0x10, 0xA0, 0x84, 0xC4, 0xC8, 0xE4};
    for (size_t i = 0; i < sizeof bad_pcbs; i++) {
        assert_int_equal(se05x_t1_frame_encode(0x5A, bad_pcbs[i], NULL, 0, out, sizeof out, &n),
                         SE05X_OK);
        assert_int_equal(se05x_t1_frame_decode(out, n, 0x5A, &f), SE05X_T1_FRAME_BAD_PCB);
    }
    /* every defined S-block request and response is accepted */
    const uint8_t s[] = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xCF};
    for (size_t i = 0; i < sizeof s; i++)
        for (int r = 0; r < 2; r++) {
            uint8_t pcb = (uint8_t)(s[i] | (r ? 0x20 : 0));
            assert_int_equal(se05x_t1_frame_encode(0xA5, pcb, NULL, 0, out, sizeof out, &n), SE05X_OK);
            assert_int_equal(se05x_t1_frame_decode(out, n, 0xA5, &f), SE05X_T1_FRAME_OK);
        }
    assert_string_equal(se05x_t1_frame_errstr(SE05X_T1_FRAME_BAD_CRC), "CRC mismatch");
}

static void test_pcb_helpers(void **state)
{
    (void)state;
    assert_int_equal(se05x_t1_i_pcb(0, false), 0x00);
    assert_int_equal(se05x_t1_i_pcb(1, false), 0x40);
    assert_int_equal(se05x_t1_i_pcb(1, true), 0x60);
    assert_int_equal(se05x_t1_r_pcb(1, 0), 0x90);
    assert_int_equal(se05x_t1_r_pcb(0, SE05X_T1_R_ERR_CRC), 0x81);
    assert_int_equal(se05x_t1_r_pcb(1, SE05X_T1_R_ERR_OTHER), 0x92);
    assert_true(se05x_t1_is_r(0x92));
    assert_int_equal(se05x_t1_r_nr(0x92), 1);
    assert_true(se05x_t1_is_s(0xE3));
}

static void test_atr_parse(void **state)
{
    (void)state;
    /* spec §6.1 example ATR */
    const uint8_t atr[] = {0x00, 0xA0, 0x00, 0x00, 0x03, 0x96, 0x04, 0x03, 0xE8, 0x00, 0xFE,
                           0x02, 0x0B, 0x03, 0xE8, 0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x64,
                           0x00, 0x00, 0x0A, 'J', 'C', 'O', 'P', '4', ' ', 'A', 'T', 'P', 'O'};
    se05x_t1_atr_info info;
    assert_int_equal(se05x_t1_atr_parse(atr, sizeof atr, &info), SE05X_OK);
    assert_int_equal(info.bwt_ms, 1000);
    assert_int_equal(info.ifsc, 254);
    uint8_t a2[sizeof atr];
    memcpy(a2, atr, sizeof atr);
    a2[7] = 0x00;
    a2[8] = 0x64; /* BWT 100 ms */
    a2[9] = 0x00;
    a2[10] = 0x40; /* IFSC 64 */
    assert_int_equal(se05x_t1_atr_parse(a2, sizeof a2, &info), SE05X_OK);
    assert_int_equal(info.bwt_ms, 100);
    assert_int_equal(info.ifsc, 64);
    a2[9] = 0x01; /* IFSC 0x140 > 254: clamped */
    assert_int_equal(se05x_t1_atr_parse(a2, sizeof a2, &info), SE05X_OK);
    assert_int_equal(info.ifsc, 254);
    /* empty ATR: defaults; truncated ATR: error */
    assert_int_equal(se05x_t1_atr_parse(NULL, 0, &info), SE05X_OK);
    assert_int_equal(info.bwt_ms, 1000);
    assert_int_equal(se05x_t1_atr_parse(atr, 5, &info), SE05X_ERR_PROTOCOL);
    assert_int_equal(se05x_t1_atr_parse(atr, 9, &info), SE05X_ERR_PROTOCOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_known_answers), cmocka_unit_test(test_encode_layout),
        cmocka_unit_test(test_decode_roundtrip),  cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_pcb_helpers),       cmocka_unit_test(test_atr_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
