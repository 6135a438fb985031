/* Unit tests of the platform SCP03 key file parser se05x_scp03_keys_load():
 * good files (comments, blank lines, lower-case hex, CRLF, any order) and
 * every class of bad input (missing key, bad hex, wrong length, unknown
 * line, duplicate key, trailing text, unreadable file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "se05x/conn.h"

static char g_dir[512];

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("SE05X_TEST_TMP");
    if (base) {
        mkdir(base, 0700);
        snprintf(g_dir, sizeof(g_dir), "%s/scp03keysXXXXXX", base);
    } else {
        snprintf(g_dir, sizeof(g_dir), "/tmp/scp03keysXXXXXX");
    }
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char p[600];
    snprintf(p, sizeof(p), "%s/keys.txt", g_dir);
    unlink(p);
    rmdir(g_dir);
    return 0;
}

static const char *write_file(const char *content)
{
    static char p[600];
    snprintf(p, sizeof(p), "%s/keys.txt", g_dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return p;
}

static const char GOOD[] = "# SE050 dev kit keys\n"
                           "\n"
                           "ENC 35C256458958A34F6136155F8209D6CD\n"
                           "  MAC af177d5dbdf7c0d5c10a05b9f1607f78  \r\n"
                           "DEK A1BC8438BF77935B361A4425FE79FA29";

static void test_good(void **state)
{
    (void)state;
    se05x_scp03_keys k;
    char err[256] = "";
    assert_int_equal(se05x_scp03_keys_load(write_file(GOOD), &k, err, sizeof(err)), SE05X_OK);
    static const uint8_t enc[16] = {0x35, 0xC2, 0x56, 0x45, 0x89, 0x58, 0xA3, 0x4F,
                                    0x61, 0x36, 0x15, 0x5F, 0x82, 0x09, 0xD6, 0xCD};
    static const uint8_t mac[16] = {0xAF, 0x17, 0x7D, 0x5D, 0xBD, 0xF7, 0xC0, 0xD5,
                                    0xC1, 0x0A, 0x05, 0xB9, 0xF1, 0x60, 0x7F, 0x78};
    static const uint8_t dek[16] = {0xA1, 0xBC, 0x84, 0x38, 0xBF, 0x77, 0x93, 0x5B,
                                    0x36, 0x1A, 0x44, 0x25, 0xFE, 0x79, 0xFA, 0x29};
    assert_memory_equal(k.enc, enc, 16);
    assert_memory_equal(k.mac, mac, 16);
    assert_memory_equal(k.dek, dek, 16);
    /* any order */
    assert_int_equal(se05x_scp03_keys_load(write_file("DEK A1BC8438BF77935B361A4425FE79FA29\n"
                                                      "MAC AF177D5DBDF7C0D5C10A05B9F1607F78\n"
                                                      "ENC 35C256458958A34F6136155F8209D6CD\n"),
                                           &k, err, sizeof(err)),
                     SE05X_OK);
    assert_memory_equal(k.enc, enc, 16);
}

/* A bad file must fail, leave keys untouched and mention `needle`. */
static void expect_bad(const char *content, se05x_status want, const char *needle)
{
    se05x_scp03_keys k;
    memset(&k, 0xEE, sizeof(k));
    char err[256] = "";
    assert_int_equal(se05x_scp03_keys_load(write_file(content), &k, err, sizeof(err)), want);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
    for (size_t i = 0; i < 16; i++)
        assert_int_equal(k.enc[i], 0xEE);
}

static void test_missing_key(void **state)
{
    (void)state;
    expect_bad("ENC 35C256458958A34F6136155F8209D6CD\nDEK A1BC8438BF77935B361A4425FE79FA29\n",
               SE05X_ERR_ARG, "missing MAC");
    expect_bad("# only a comment\n", SE05X_ERR_ARG, "missing ENC");
    expect_bad("ENC 35C256458958A34F6136155F8209D6CD\nMAC AF177D5DBDF7C0D5C10A05B9F1607F78\n",
               SE05X_ERR_ARG, "missing DEK");
    expect_bad("ENC\n", SE05X_ERR_ARG, ":1: key must be 32 hex digits");
}

static void test_bad_hex(void **state)
{
    (void)state;
    expect_bad("ENC 35C256458958A34F6136155F8209D6CD\nMAC AF177D5DBDF7C0D5C10A05B9F1607FXX\n",
               SE05X_ERR_ARG, ":2: key is not hexadecimal");
}

static void test_wrong_length(void **state)
{
    (void)state;
    expect_bad("ENC 35C256458958A34F6136155F8209D6\n", SE05X_ERR_ARG, ":1: key must be 32 hex");
    expect_bad("ENC 35C256458958A34F6136155F8209D6CD00\n", SE05X_ERR_ARG, "32 hex digits");
}

static void test_unknown_line(void **state)
{
    (void)state;
    expect_bad("\nKEK 35C256458958A34F6136155F8209D6CD\n", SE05X_ERR_ARG, ":2: unknown line");
    expect_bad("ENCX 35C256458958A34F6136155F8209D6CD\n", SE05X_ERR_ARG, "unknown line");
}

static void test_duplicate_and_trailing(void **state)
{
    (void)state;
    expect_bad("ENC 35C256458958A34F6136155F8209D6CD\nENC 35C256458958A34F6136155F8209D6CD\n",
               SE05X_ERR_ARG, ":2: key given twice");
    expect_bad("ENC 35C256458958A34F6136155F8209D6CD junk\n", SE05X_ERR_ARG,
               "unexpected text after the key");
}

static void test_unreadable(void **state)
{
    (void)state;
    se05x_scp03_keys k;
    char err[256] = "", p[600];
    snprintf(p, sizeof(p), "%s/does-not-exist", g_dir);
    assert_int_equal(se05x_scp03_keys_load(p, &k, err, sizeof(err)), SE05X_ERR_IO);
    assert_non_null(strstr(err, "cannot read SCP03 key file"));
    assert_non_null(strstr(err, "does-not-exist"));
    /* a directory opens but cannot be read */
    err[0] = '\0';
    assert_int_equal(se05x_scp03_keys_load(g_dir, &k, err, sizeof(err)), SE05X_ERR_IO);
    assert_non_null(strstr(err, "cannot read"));
    assert_int_equal(se05x_scp03_keys_load(NULL, &k, err, sizeof(err)), SE05X_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_missing_key),
        cmocka_unit_test(test_bad_hex),
        cmocka_unit_test(test_wrong_length),
        cmocka_unit_test(test_unknown_line),
        cmocka_unit_test(test_duplicate_and_trailing),
        cmocka_unit_test(test_unreadable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
