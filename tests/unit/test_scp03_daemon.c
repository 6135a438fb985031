/* Platform SCP03 and an AESKey session across the real stack: the se05x-sim
 * daemon started with --require-scp and --scp03-keys, the host library
 * over JRCP on loopback. Plain commands are refused (6982), the right key
 * file opens the channel, a wrong one fails with SE05X_ERR_SCP and a
 * message, and an AESKey session runs inside platform SCP03. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/conn.h"
#include "se05x/tlv.h"
#include "testutil.h"

typedef struct {
    char *dir;
    tu_daemon d;
    char keys[1200], wrong[1200], wrong_enc[1200], conn[64];
} fixture;

static void write_keys(const char *path, const char *enc, const char *mac)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# test keys\nENC %s\nMAC %s\nDEK A1BC8438BF77935B361A4425FE79FA29\n", enc, mac);
    fclose(f);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fx->dir = tu_tempdir("scp03d");
    if (!fx->dir)
        return -1;
    snprintf(fx->keys, sizeof(fx->keys), "%s/keys.txt", fx->dir);
    snprintf(fx->wrong, sizeof(fx->wrong), "%s/wrong.txt", fx->dir);
    snprintf(fx->wrong_enc, sizeof(fx->wrong_enc), "%s/wrong-enc.txt", fx->dir);
    tu_write_scp03_keys(fx->keys);
    write_keys(fx->wrong, "35C256458958A34F6136155F8209D6CD", "AF177D5DBDF7C0D5C10A05B9F1607F79");
    write_keys(fx->wrong_enc, "35C256458958A34F6136155F8209D6CE", "AF177D5DBDF7C0D5C10A05B9F1607F78");
    char card[1200];
    snprintf(card, sizeof(card), "%s/card", fx->dir);
    if (tu_scp03_daemon_start(&fx->d, card, fx->keys, fx->conn, sizeof(fx->conn)) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    tu_daemon_stop(&fx->d, 0);
    tu_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static const se05x_apdu GETVER = {.cla = 0x80, .ins = 0x04, .p1 = 0, .p2 = 0x20,
                                  .ne = SE05X_NE_SHORT};

static void test_plain_refused(void **state)
{
    fixture *fx = *state;
    se05x_conn *c = NULL;
    uint8_t out[64];
    size_t n;
    uint16_t sw = 0;
    assert_int_equal(se05x_conn_open(fx->conn, NULL, &c), SE05X_OK); /* SELECT is plain */
    assert_int_equal(se05x_conn_apdu(c, &GETVER, out, sizeof(out), &n, &sw), SE05X_OK);
    assert_int_equal(sw, 0x6982);
    se05x_conn_close(c);
}

static void test_wrong_keys(void **state)
{
    fixture *fx = *state;
    se05x_conn *c = NULL;
    char err[512] = "";
    se05x_conn_opts o = {.scp03_keyfile = fx->wrong};
    assert_int_equal(se05x_conn_open_err(fx->conn, &o, &c, err, sizeof(err)), SE05X_ERR_SCP);
    assert_null(c);
    if (!strstr(err, "card cryptogram mismatch"))
        fail_msg("unexpected error: %s", err);
    /* a wrong ENC key passes the handshake (cryptograms use S-MAC only) but
     * the first encrypted response is rejected and the channel closed */
    o.scp03_keyfile = fx->wrong_enc;
    assert_int_equal(se05x_conn_open_err(fx->conn, &o, &c, err, sizeof(err)), SE05X_OK);
    uint8_t out[64];
    size_t n;
    uint16_t sw;
    se05x_status st = SE05X_OK;
    /* (a garbage block has valid M2 padding with probability < 1/128: retry) */
    for (int i = 0; i < 8 && st == SE05X_OK; i++)
        st = se05x_conn_apdu(c, &GETVER, out, sizeof(out), &n, &sw);
    assert_int_equal(st, SE05X_ERR_SCP);
    assert_non_null(strstr(se05x_conn_errmsg(c), "secure channel closed"));
    se05x_conn_close(c);
    c = NULL;
    /* a key file that cannot be parsed is reported as such */
    char bad[1200];
    snprintf(bad, sizeof(bad), "%s/bad.txt", fx->dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("ENC 1234\n", f);
    fclose(f);
    o.scp03_keyfile = bad;
    assert_int_not_equal(se05x_conn_open_err(fx->conn, &o, &c, err, sizeof(err)), SE05X_OK);
    if (!strstr(err, "bad.txt:1"))
        fail_msg("unexpected error: %s", err);
}

static void test_scp_and_aeskey_session(void **state)
{
    fixture *fx = *state;
    se05x_conn *c = NULL;
    char err[512] = "";
    uint8_t out[256];
    size_t n;
    se05x_conn_opts o = {.scp03_keyfile = fx->keys};
    if (se05x_conn_open_err(fx->conn, &o, &c, err, sizeof(err)) != SE05X_OK)
        fail_msg("open: %s", err);
    for (int i = 0; i < 5; i++)
        assert_int_equal(se05x_conn_apdu_ok(c, &GETVER, out, sizeof(out), &n), SE05X_OK);
    /* create an AESKey auth object (WriteSymmKey with INS 0x41) */
    static const uint8_t key[16] = {0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
                                    0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F};
    uint8_t data[64];
    se05x_tlvw w;
    se05x_tlvw_init(&w, data, sizeof(data));
    se05x_tlvw_u32(&w, SE05X_TAG_1, 0x7DA00002);
    se05x_tlvw_bytes(&w, SE05X_TAG_3, key, 16);
    se05x_apdu wr = {.cla = 0x80, .ins = 0x41, .p1 = 0x03, .p2 = 0x00, .data = data, .lc = w.len};
    uint16_t sw = 0;
    assert_int_equal(se05x_conn_apdu(c, &wr, out, sizeof(out), &n, &sw), SE05X_OK);
    assert_true(sw == 0x9000 || sw == 0x6985); /* 6985: exists from an earlier run */
    assert_int_equal(se05x_session_open_aeskey(c, 0x7DA00002, key), SE05X_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(se05x_conn_apdu_ok(c, &GETVER, out, sizeof(out), &n), SE05X_OK);
    assert_int_equal(se05x_session_close(c), SE05X_OK);
    assert_int_equal(se05x_conn_apdu_ok(c, &GETVER, out, sizeof(out), &n), SE05X_OK);
    se05x_conn_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_refused),
        cmocka_unit_test(test_wrong_keys),
        cmocka_unit_test(test_scp_and_aeskey_session),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
