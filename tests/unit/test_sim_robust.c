/* Robustness test of the simulator core: thousands of mutated command APDUs
 * (bit flips, truncation, length changes, byte insertion, CLA/INS/P1/P2
 * swaps) derived from valid commands are fed to one card. Every answer
 * must be a well-formed response (>= 2 bytes, SW1 in 0x61..0x6F or 0x90)
 * and, under ASan/UBSan, free of memory errors; the card must still answer
 * the UID read correctly afterwards. Deterministic seed. */
#include "test_sim_util.h"

static const char *seeds[] = {
    "00A4040010 A0000003965453000000010300000000 00",
    "80020000 00000A 41047FFF0206 43020012 0000",
    "80016100 09 4104EF000001 420103",
    "80016100 14 1109 08 00000000 13048000 4104EF000002 420103",
    "80010600 0E 4104EF000003 43020010 44020102",
    "80010600 0E 4104EF000003 42020004 44020102",
    "80010800 0A 4104EF000004 42020004",
    "80010800 06 4104EF000004",
    "80010300 18 4104EF000005 4310 000102030405060708090A0B0C0D0E0F",
    "80416100 09 4104EF000006 420103",
    "80410700 0D 41047DA00001 4205C001020304",
    "80016200 0F 4104EF000007 42020200 4803010001",
    "80010200 0A 4104EF000007 4A020102",
    "80010900 28 4104EF000008 4220 0000000000000000000000000000000000000000000000000000000000000000",
    "80020025000007410200004201FF0000",
    "800200070641047FFF0206",
    "800200260641047FFF0206",
    "8002003B0641047FFF0206",
    "800400270641047FFF0206",
    "8004002806 4104EF000003",
    "8004002A00",
    "8004002000", "8004002100", "8002005B00", "80020B2500",
    "80040022 03 410101",
    "80040049 04 41020010",
    "80010B04 03 410104",
    "80010B40 0B 410104 420101 4303010203",
    "80020B36 06 4104EF000001",
    "80040B28 03 410104",
    "80CA9F7F00",
};

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static size_t mutate(uint8_t *b, size_t n, size_t cap, uint32_t *s)
{
    int k = 1 + (int)(rnd(s) % 3);
    while (k--) {
        switch (rnd(s) % 7) {
        case 0: /* bit flip */
            if (n)
                b[rnd(s) % n] ^= (uint8_t)(1u << (rnd(s) % 8));
            break;
        case 1: /* truncate */
            if (n)
                n = rnd(s) % n;
            break;
        case 2: /* random byte */
            if (n)
                b[rnd(s) % n] = (uint8_t)rnd(s);
            break;
        case 3: /* insert a byte */
            if (n < cap) {
                size_t p = rnd(s) % (n + 1);
                memmove(b + p + 1, b + p, n - p);
                b[p] = (uint8_t)rnd(s);
                n++;
            }
            break;
        case 4: /* fix the short Lc to the new length */
            if (n > 5 && b[4] != 0)
                b[4] = (uint8_t)(n - 5);
            break;
        case 5: /* interesting header bytes */
            if (n >= 4)
                b[rnd(s) % 4] = (uint8_t[]){0x00, 0x80, 0x84, 0xFF, 0x41, 0x81, 0x7F}[rnd(s) % 7];
            break;
        default: /* TLV length byte to a long form */
            if (n > 6)
                b[5 + rnd(s) % (n - 5)] = (uint8_t[]){0x81, 0x82, 0x83, 0x80, 0xFF}[rnd(s) % 5];
            break;
        }
    }
    return n;
}

static void test_mutations(void **state)
{
    (void)state;
    simfx *f = calloc(1, sizeof(*f));
    tu_setup_dir(f);
    sesim_opts o = tu_opts();
    tu_open(f, &o);
    uint8_t uid[18];
    tu_select(f);
    assert_int_equal(tu_tx(f, "80020000 00000A 41047FFF0206 43020012 0000"), 0x9000);
    memcpy(uid, f->r + 2, 18);
    uint32_t s = 0x12345678u;
    const size_t nseeds = sizeof(seeds) / sizeof(seeds[0]);
    for (int i = 0; i < 4000; i++) {
        uint8_t b[600];
        size_t n = tu_hex(seeds[rnd(&s) % nseeds], b, sizeof(b));
        n = mutate(b, n, sizeof(b), &s);
        if (rnd(&s) % 2 && n > 5 && b[4] != 0) /* keep the short Lc consistent */
            b[4] = (uint8_t)(n - 5);
        uint16_t sw = tu_raw(f, b, n);
        if (getenv("SESIM_TEST_VERBOSE"))
            fprintf(stderr, "%04X\n", sw);
        uint8_t sw1 = (uint8_t)(sw >> 8);
        assert_true(sw == 0x9000 || (sw1 >= 0x61 && sw1 <= 0x6F));
        if (sw != 0x9000)
            assert_int_equal(f->rlen, 0);
        if (rnd(&s) % 8) /* keep the applet selected most of the time */
            tu_select(f);
    }
    tu_select(f);
    assert_int_equal(tu_tx(f, "80020000 00000A 41047FFF0206 43020012 0000"), 0x9000);
    assert_memory_equal(f->r + 2, uid, 18);
    tu_close(f);
    tu_rm_rf(f->dir);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
