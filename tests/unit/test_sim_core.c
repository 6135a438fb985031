/* Unit tests of the simulator core: SELECT / GET DATA / card manager, the
 * byte-exact UID read of spec §4.2, version commands, ATR, the card
 * interface adapter, every ISO case, and the dispatcher's answers to bad
 * input (length, CLA, INS, P1/P2, TLV errors). Raw APDU bytes on a temp dir. */
#include "test_sim_util.h"

#include "sesim/servers.h"

static int setup(void **state)
{
    simfx *f = calloc(1, sizeof(*f));
    tu_setup_dir(f);
    sesim_opts o = tu_opts();
    tu_open(f, &o);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    simfx *f = *state;
    tu_close(f);
    tu_rm_rf(f->dir);
    free(f);
    return 0;
}

static void test_select(void **state)
{
    simfx *f = *state;
    assert_int_equal(tu_tx(f, "00A4040010 A0000003965453000000010300000000 00"), 0x9000);
    uint8_t exp[7] = {0x07, 0x02, 0x00, 0x13, 0xFE, 0x01, 0x00};
    assert_int_equal(f->rlen, 7);
    assert_memory_equal(f->r, exp, 7);
    /* without Le (case 3) as well */
    assert_int_equal(tu_tx(f, "00A4040010 A0000003965453000000010300000000"), 0x9000);
    assert_int_equal(f->rlen, 7);
}

static void test_select_other_aids(void **state)
{
    simfx *f = *state;
    tu_select(f);
    /* SEMS Lite AID: not present -> 6A82 and the applet is deselected */
    assert_int_equal(tu_tx(f, "00A4040010 A0000003965453000000010330000000 00"), 0x6A82);
    assert_int_equal(tu_tx(f, "8004002000"), 0x6D00);
    tu_select(f);
    assert_int_equal(tu_tx(f, "8004002000"), 0x9000);
    /* card manager with empty AID: 9000, no data */
    assert_int_equal(tu_tx(f, "00A4040000"), 0x9000);
    assert_int_equal(f->rlen, 0);
    assert_int_equal(tu_tx(f, "8004002000"), 0x6D00);
    /* SELECT by something else than DF name */
    assert_int_equal(tu_tx(f, "00A4000002 3F00"), 0x6A86);
}

static void test_applet_before_select(void **state)
{
    simfx *f = *state;
    assert_int_equal(tu_tx(f, "800400270641047FFF0206"), 0x6D00);
}

static void test_uid_exact(void **state)
{
    simfx *f = *state;
    uint8_t uid[18];
    tu_select(f);
    assert_int_equal(tu_tx(f, "800400270641047FFF0206"), 0x9000);
    assert_int_equal(f->rlen, 3);
    assert_int_equal(f->r[2], 0x01);
    assert_int_equal(tu_tx(f, "80 02 00 00 00 00 0A 41 04 7F FF 02 06 43 02 00 12 00 00"), 0x9000);
    assert_int_equal(f->rlen, 20);
    assert_int_equal(f->r[0], 0x41);
    assert_int_equal(f->r[1], 0x12);
    memcpy(uid, f->r + 2, 18);
    /* stable across reopen */
    tu_close(f);
    sesim_opts o = tu_opts();
    tu_open(f, &o);
    tu_select(f);
    assert_int_equal(tu_tx(f, "80 02 00 00 00 00 0A 41 04 7F FF 02 06 43 02 00 12 00 00"), 0x9000);
    assert_int_equal(f->rlen, 20);
    assert_memory_equal(f->r + 2, uid, 18);
    /* UID can be neither written nor deleted */
    assert_int_equal(tu_tx(f, "80010600 0A 41047FFF0206 4402 0102"), 0x6985);
    assert_int_equal(tu_tx(f, "80040028 06 41047FFF0206"), 0x6985);
}

static void test_get_data(void **state)
{
    simfx *f = *state;
    uint8_t cplc[45];
    assert_int_equal(tu_tx(f, "80CA9F7F00"), 0x9000);
    assert_int_equal(f->rlen, 45);
    assert_int_equal(f->r[0], 0x9F);
    assert_int_equal(f->r[1], 0x7F);
    assert_int_equal(f->r[2], 42);
    memcpy(cplc, f->r, 45);
    assert_int_equal(tu_tx(f, "80CA00FE02DF2800"), 0x6A88);
    assert_int_equal(tu_tx(f, "80CA9F7F00"), 0x9000);
    assert_memory_equal(f->r, cplc, 45);
    tu_close(f);
    sesim_opts o = tu_opts();
    tu_open(f, &o);
    assert_int_equal(tu_tx(f, "80CA9F7F00"), 0x9000);
    assert_memory_equal(f->r, cplc, 45);
}

static void test_versions(void **state)
{
    simfx *f = *state;
    const uint8_t *v;
    tu_select(f);
    assert_int_equal(tu_tx(f, "8004002000"), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 7);
    assert_int_equal(v[0], 7);
    assert_int_equal(tu_tx(f, "8004002100"), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 37);
    assert_int_equal(tu_tx(f, "8002005B00"), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 3);
    assert_int_equal(v[2], 0x02);
}

static void test_profile3(void **state)
{
    simfx *f = *state;
    tu_close(f);
    sesim_opts o = tu_opts();
    o.applet_major = 3;
    tu_open(f, &o);
    assert_int_equal(tu_tx(f, "00A4040010 A0000003965453000000010300000000 00"), 0x9000);
    assert_int_equal(f->rlen, 7);
    assert_int_equal(f->r[0], 3);
    assert_int_equal(f->r[1], 5);
    assert_int_equal(tu_tx(f, "8004002100"), 0x6A86);
    assert_int_equal(tu_tx(f, "8002005B00"), 0x6A86);
}

static void test_iso_cases(void **state)
{
    simfx *f = *state;
    tu_select(f);
    assert_int_equal(tu_tx(f, "80040020"), 0x9000);         /* case 1 */
    assert_int_equal(f->rlen, 9);
    assert_int_equal(tu_tx(f, "8004002000"), 0x9000);       /* 2S */
    assert_int_equal(tu_tx(f, "80040020000000"), 0x9000);   /* 2E */
    assert_int_equal(tu_tx(f, "800400270641047FFF0206"), 0x9000);          /* 3S */
    assert_int_equal(tu_tx(f, "800400270641047FFF020600"), 0x9000);        /* 4S */
    assert_int_equal(tu_tx(f, "8004002700000641047FFF0206"), 0x9000);      /* 3E */
    assert_int_equal(tu_tx(f, "8004002700000641047FFF02060000"), 0x9000);  /* 4E */
    assert_int_equal(f->rlen, 3);
    /* a short Le smaller than the answer is not enforced */
    assert_int_equal(tu_tx(f, "800400270641047FFF020601"), 0x9000);
    assert_int_equal(f->rlen, 3);
}

static void test_bad_length(void **state)
{
    simfx *f = *state;
    uint8_t big[8 + 1100];
    tu_select(f);
    assert_int_equal(tu_tx(f, "8004"), 0x6700);                       /* truncated header */
    assert_int_equal(tu_tx(f, "8004002706 41047FFF02"), 0x6700);      /* Lc > data */
    assert_int_equal(tu_tx(f, "8004002703 41047FFF0206"), 0x6700);    /* Lc < data */
    assert_int_equal(tu_tx(f, "800400270000"), 0x6700);               /* bad extended */
    /* Lc 1025 > SE05X_MAX_CMD_DATA */
    memset(big, 0, sizeof(big));
    big[0] = 0x80; big[1] = 0x01; big[2] = 0x06; big[3] = 0x00;
    big[4] = 0x00; big[5] = 0x04; big[6] = 0x01;
    assert_int_equal(tu_raw(f, big, 7 + 1025), 0x6700);
    /* a response that cannot fit is 6700: GetRandom larger than any APDU */
    assert_int_equal(tu_tx(f, "80040049 04 4102 0FFF"), 0x6700);
    assert_int_equal(tu_tx(f, "80040049 04 4102 0000"), 0x6A80);
    assert_int_equal(tu_tx(f, "80040049 04 4102 0020"), 0x9000);
    assert_int_equal(f->rlen, 2 + 32);
}

static void test_bad_cla_ins_p1p2(void **state)
{
    simfx *f = *state;
    tu_select(f);
    assert_int_equal(tu_tx(f, "9004002000"), 0x6E00);
    assert_int_equal(tu_tx(f, "0004002000"), 0x6D00);
    assert_int_equal(tu_tx(f, "800F000000"), 0x6D00);
    assert_int_equal(tu_tx(f, "8004007F00"), 0x6A86);
    assert_int_equal(tu_tx(f, "8002017F00"), 0x6A86);
    assert_int_equal(tu_tx(f, "80A4040000"), 0x6E00);
}

static void test_bad_tlv(void **state)
{
    simfx *f = *state;
    tu_select(f);
    /* value shorter than announced */
    assert_int_equal(tu_tx(f, "8004002706 41057FFF0206"), 0x6A80);
    /* header truncated */
    assert_int_equal(tu_tx(f, "8004002701 41"), 0x6A80);
    /* invalid length form 83 */
    assert_int_equal(tu_tx(f, "8004002707 4183007FFF0206"), 0x6A80);
    /* wrong width of an id */
    assert_int_equal(tu_tx(f, "8004002705 41037FFF02"), 0x6A80);
    /* 81 / 82 length forms are accepted */
    assert_int_equal(tu_tx(f, "8004002707 4181047FFF0206"), 0x9000);
    assert_int_equal(tu_tx(f, "8004002708 418200047FFF0206"), 0x9000);
    /* duplicate tag */
    assert_int_equal(tu_tx(f, "800200000C 41047FFF0206 41047FFF0206"), 0x6A80);
    /* out of order */
    assert_int_equal(tu_tx(f, "800200000A 43020012 41047FFF0206"), 0x6A80);
    /* unknown tag for the command */
    assert_int_equal(tu_tx(f, "800400270A 41047FFF0206 42020000"), 0x6A80);
    /* missing mandatory tag */
    assert_int_equal(tu_tx(f, "8004002700"), 0x6A80);
}

static void test_free_memory_random(void **state)
{
    simfx *f = *state;
    const uint8_t *v;
    tu_select(f);
    assert_int_equal(tu_tx(f, "80040022 03 410101"), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 2);
    assert_true(se05x_get_u16(v) > 0x1000 && se05x_get_u16(v) <= 0x7FFF);
    assert_int_equal(tu_tx(f, "80040022 03 410102"), 0x9000);
    assert_int_equal(tu_tx(f, "80040022 03 410104"), 0x6A80);
    assert_int_equal(tu_tx(f, "8004002200"), 0x6A80);
}

static void test_atr_and_card_if(void **state)
{
    simfx *f = *state;
    uint8_t atr[64], rsp[SE05X_APDU_MAX];
    size_t n = sesim_atr(f->s, atr, sizeof(atr));
    assert_int_equal(n, 25 + 9);
    assert_int_equal(atr[0], 0x00);
    assert_int_equal(atr[11], 0x02);
    assert_int_equal(atr[24], 9);
    assert_memory_equal(atr + 25, "se05x-sim", 9);
    assert_int_equal(sesim_atr(f->s, atr, 10), 0);
    sesim_card_if c = sesim_card_if_for(f->s);
    assert_int_equal(c.atr(c.ctx, atr, sizeof(atr)), n);
    void *ch = c.chan_open(c.ctx);
    assert_non_null(ch);
    uint8_t sel[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00, 0x03, 0x96, 0x54, 0x53,
                     0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(c.process(ch, sel, sizeof(sel), rsp, sizeof(rsp)), 9);
    c.chan_reset(ch);
    uint8_t ver[] = {0x80, 0x04, 0x00, 0x20, 0x00};
    assert_int_equal(c.process(ch, ver, sizeof(ver), rsp, sizeof(rsp)), 2); /* deselected */
    c.chan_close(ch);
    assert_string_equal(sesim_dir(f->s), f->dir);
}

static void test_open_errors(void **state)
{
    simfx *f = *state;
    sesim *s = NULL;
    char path[700];
    assert_int_equal(sesim_open(NULL, NULL, &s), SE05X_ERR_ARG);
    assert_int_equal(sesim_open("", NULL, &s), SE05X_ERR_ARG);
    assert_int_equal(sesim_open(f->dir, NULL, NULL), SE05X_ERR_ARG);
    /* a regular file where the directory should be */
    snprintf(path, sizeof(path), "%s/.lock/card", f->dir);
    assert_int_not_equal(sesim_open(path, NULL, &s), SE05X_OK);
    assert_null(s);
    /* zero-initialised options get the defaults; nested dirs are created */
    sesim_opts o;
    memset(&o, 0, sizeof(o));
    o.quiet = true;
    snprintf(path, sizeof(path), "%s/a/b/c", f->dir);
    assert_int_equal(sesim_open(path, &o, &s), SE05X_OK);
    sesim_chan *ch;
    assert_int_equal(sesim_chan_open(s, &ch), SE05X_OK);
    uint8_t r[SE05X_APDU_MAX];
    uint8_t sel[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00, 0x03, 0x96, 0x54, 0x53,
                     0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(sesim_chan_process(ch, sel, sizeof(sel), r, sizeof(r)), 9);
    assert_int_equal(r[0], 7);
    assert_int_equal(sesim_chan_process(ch, NULL, 0, r, sizeof(r)), 2);
    assert_int_equal(sesim_chan_process(ch, sel, sizeof(sel), r, 1), 0);
    /* a response that does not fit the caller's buffer: 6700 */
    assert_int_equal(sesim_chan_process(ch, sel, sizeof(sel), r, 8), 2);
    assert_int_equal(se05x_get_u16(r), 0x6700);
    assert_int_equal(sesim_chan_process(ch, sel, sizeof(sel), r, sizeof(r)), 9);
    uint8_t uid[] = {0x80, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0A, 0x41, 0x04, 0x7F,
                     0xFF, 0x02, 0x06, 0x43, 0x02, 0x00, 0x12, 0x00, 0x00};
    assert_int_equal(sesim_chan_process(ch, uid, sizeof(uid), r, 21), 2);
    assert_int_equal(se05x_get_u16(r), 0x6700);
    assert_int_equal(sesim_chan_process(ch, uid, sizeof(uid), r, 22), 22);
    sesim_chan_close(ch);
    sesim_close(s);
    sesim_close(NULL);
    sesim_chan_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_other_aids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_applet_before_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uid_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iso_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_cla_ins_p1p2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_tlv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_memory_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atr_and_card_if, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
