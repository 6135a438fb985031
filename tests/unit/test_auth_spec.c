/* Unit tests of sss/spec.h, the parser shared by the se05x CLI and the
 * OpenSSL provider: object ids, hex, session authentication text (methods,
 * auth ids, secrets inline / in hex or raw files, host EC key, platform
 * SCP03 combination, fields that do not apply, option names in messages,
 * wiping) and object policy text. No SE involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sss/spec.h"
#include "testutil.h"

typedef struct {
    char *dir;
    char path[1200];
} files;

static int setup(void **state)
{
    files *f = calloc(1, sizeof(*f));
    if (f == NULL || (f->dir = tu_tempdir("authspec")) == NULL)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    files *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Write bytes to DIR/name; returns the path (in f->path). */
static const char *put(files *f, const char *name, const void *data, size_t len)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    return f->path;
}

/* Parse and expect failure st with `needle` in the message. */
static void parse_fails(const sss_auth_text *t, sss_status want, const char *needle)
{
    sss_auth_spec a;
    char err[300];
    sss_status st = sss_auth_spec_parse(t, &a, err, sizeof(err));
    if (st != want || strstr(err, needle) == NULL)
        fail_msg("status %d (want %d), message '%s' (want '%s')", st, want, err, needle);
    assert_int_equal(a.auth, SSS_AUTH_NONE); /* cleared on failure */
    assert_int_equal(a.secret_len, 0);
    assert_null(a.eckey);
    assert_null(a.scp03_keyfile);
}

/* ---- ids and hex ------------------------------------------------------ */

static void test_parse_id(void **state)
{
    (void)state;
    uint32_t id = 0;
    assert_true(sss_parse_id("0x7DA00001", &id));
    assert_int_equal(id, 0x7DA00001u);
    assert_true(sss_parse_id("7da00002", &id));
    assert_int_equal(id, 0x7DA00002u);
    assert_true(sss_parse_id("0XF", &id));
    assert_int_equal(id, 0xF);
    assert_false(sss_parse_id(NULL, &id));
    assert_false(sss_parse_id("", &id));
    assert_false(sss_parse_id("0x", &id));
    assert_false(sss_parse_id("123456789", &id)); /* 9 digits */
    assert_false(sss_parse_id("0x7DA0000G", &id));
    assert_false(sss_parse_id("-1", &id));
    assert_false(sss_parse_id(" 1", &id));
}

static void test_parse_hex(void **state)
{
    (void)state;
    uint8_t b[4];
    size_t n = 0;
    const char *s = "c0:01 02\n03";
    assert_true(sss_parse_hex(s, strlen(s), b, sizeof(b), &n));
    assert_int_equal(n, 4);
    assert_memory_equal(b, "\xC0\x01\x02\x03", 4);
    assert_false(sss_parse_hex("ABC", 3, b, sizeof(b), &n));         /* odd digits */
    assert_false(sss_parse_hex("A B", 3, b, sizeof(b), &n));         /* split byte */
    assert_false(sss_parse_hex("0102030405", 10, b, sizeof(b), &n)); /* over cap */
    assert_false(sss_parse_hex("01zz", 4, b, sizeof(b), &n));
    assert_false(sss_parse_hex("01\0" "02", 5, b, sizeof(b), &n)); /* NUL is not a separator */
    assert_true(sss_parse_hex("0102ZZ", 4, b, sizeof(b), &n));     /* length-bounded */
    assert_int_equal(n, 2);
    assert_true(sss_parse_hex("", 0, b, sizeof(b), &n));
    assert_int_equal(n, 0);
}

/* ---- methods ------------------------------------------------------------ */

static void test_methods(void **state)
{
    (void)state;
    sss_auth_spec a;
    char err[300];
    sss_auth_text t = {0};
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.auth, SSS_AUTH_NONE);
    assert_int_equal(sss_auth_spec_parse(NULL, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.auth, SSS_AUTH_NONE);
    t.method = "NONE";
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.auth, SSS_AUTH_NONE);
    t.method = "kerberos";
    parse_fails(&t, SSS_ERR_ARG, "auth 'kerberos' is not one of");
    assert_string_equal(sss_auth_name(SSS_AUTH_USERID), "userid");
    assert_string_equal(sss_auth_name(SSS_AUTH_PLATFORM_SCP03), "platformscp03");
    assert_string_equal(sss_auth_name(SSS_AUTH_ECKEY), "eckey");
}

static void test_platform_scp03(void **state)
{
    (void)state;
    sss_auth_spec a;
    char err[300];
    sss_auth_text t = {.scp03_keyfile = "/keys.txt"}; /* alone: implies platformscp03 */
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.auth, SSS_AUTH_PLATFORM_SCP03);
    assert_string_equal(a.scp03_keyfile, "/keys.txt");
    sss_session_cfg cfg = {0};
    sss_auth_spec_apply(&a, &cfg);
    assert_int_equal(cfg.auth, SSS_AUTH_PLATFORM_SCP03);
    assert_string_equal(cfg.scp03_keyfile, "/keys.txt");
    assert_null(cfg.secret);
    sss_auth_spec_clear(&a);
    assert_null(a.scp03_keyfile);
    for (const char *const *m = (const char *const[]){"platformscp03", "SCP03", "platform_scp03",
                                                       "platformscp", NULL};
         *m; m++) {
        sss_auth_text u = {.method = *m};
        parse_fails(&u, SSS_ERR_ARG, "auth platformscp03 needs scp03_keyfile");
    }
    sss_auth_text u = {.method = "scp03", .scp03_keyfile = "k", .auth_id = "1"};
    parse_fails(&u, SSS_ERR_ARG, "auth_id is set but auth is platformscp03");
}

/* ---- UserID / AESKey secrets ---------------------------------------------- */

static void test_userid_hex_file(void **state)
{
    files *f = *state;
    sss_auth_spec a;
    char err[300];
    sss_auth_text t = {.method = "userid", .auth_id = "0x7DA00001",
                       .secret_file = put(f, "uid.hex", "C0 01 02 03 04\r\n", 16)};
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.auth, SSS_AUTH_USERID);
    assert_int_equal(a.auth_id, 0x7DA00001u);
    assert_int_equal(a.secret_len, 5);
    assert_memory_equal(a.secret, "\xC0\x01\x02\x03\x04", 5);
    sss_session_cfg cfg = {0};
    sss_auth_spec_apply(&a, &cfg);
    assert_int_equal(cfg.auth, SSS_AUTH_USERID);
    assert_int_equal(cfg.auth_id, 0x7DA00001u);
    assert_ptr_equal(cfg.secret, a.secret);
    assert_int_equal(cfg.secret_len, 5);
    sss_auth_spec_clear(&a);
    uint8_t zero[SSS_AUTH_SECRET_MAX] = {0};
    assert_memory_equal(a.secret, zero, sizeof(zero)); /* wiped */
    assert_int_equal(a.auth, SSS_AUTH_NONE);
}

static void test_userid_raw_file(void **state)
{
    files *f = *state;
    sss_auth_spec a;
    char err[300];
    /* raw bytes ending in '\n' and holding a NUL: taken as they are */
    sss_auth_text t = {.method = "UserID", .auth_id = "7DA00001",
                       .secret_file = put(f, "uid.bin", "\xC0\x00\x41\x0A", 4)};
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.secret_len, 4);
    assert_memory_equal(a.secret, "\xC0\x00\x41\x0A", 4);
    sss_auth_spec_clear(&a);
    /* "AB\0..." must not be read as the hex byte AB */
    t.secret_file = put(f, "uid2.bin", "AB\0CD", 5);
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.secret_len, 5);
    sss_auth_spec_clear(&a);
}

static void test_secret_errors(void **state)
{
    files *f = *state;
    sss_auth_text t = {.method = "userid", .auth_id = "0x7DA00001"};
    parse_fails(&t, SSS_ERR_ARG, "auth userid needs auth_secret_file");
    t.secret_file = put(f, "empty", "", 0);
    parse_fails(&t, SSS_ERR_ARG, "is empty");
    t.secret_file = put(f, "long.bin", "0123456789abcdefXY", 18); /* 18 raw bytes */
    parse_fails(&t, SSS_ERR_ARG, "holds 18 bytes (at most 16");
    t.secret_file = put(f, "long.hex", "000102030405060708090A0B0C0D0E0F10", 34);
    parse_fails(&t, SSS_ERR_ARG, "at most 16");
    char big[5000];
    memset(big, 'x', sizeof(big));
    t.secret_file = put(f, "huge", big, sizeof(big));
    parse_fails(&t, SSS_ERR_ARG, "too large");
    snprintf(f->path, sizeof(f->path), "%s/missing", f->dir);
    t.secret_file = f->path;
    parse_fails(&t, SSS_ERR_FORMAT, "cannot read");
    t.secret_file = f->dir; /* a directory */
    parse_fails(&t, SSS_ERR_FORMAT, "auth_secret_file");
    t.secret_file = "x";
    t.secret = "0102";
    parse_fails(&t, SSS_ERR_ARG, "not both");
    sss_auth_text u = {.method = "userid", .secret_file = "x"};
    parse_fails(&u, SSS_ERR_ARG, "auth userid needs auth_id");
    u.auth_id = "0xZZ";
    parse_fails(&u, SSS_ERR_ARG, "auth_id '0xZZ' is not an object id");
}

static void test_aeskey(void **state)
{
    files *f = *state;
    sss_auth_spec a;
    char err[300];
    sss_auth_text t = {.method = "aeskey", .auth_id = "0x7DA00002",
                       .secret_file = put(f, "aes.hex", "000102030405060708090A0B0C0D0E0F\n", 33)};
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.auth, SSS_AUTH_AESKEY);
    assert_int_equal(a.secret_len, 16);
    assert_int_equal(a.secret[15], 0x0F);
    sss_auth_spec_clear(&a);
    t.secret_file = put(f, "aes.bin", "0123456789ABCDEZ", 16); /* raw 16 bytes */
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.secret_len, 16);
    assert_memory_equal(a.secret, "0123456789ABCDEZ", 16);
    sss_auth_spec_clear(&a);
    t.secret_file = put(f, "short.hex", "C001020304", 10);
    parse_fails(&t, SSS_ERR_ARG, "must be 16 bytes, not 5");
}

/* Inline secrets (the CLI's --auth-secret HEX|@FILE) and the CLI's names. */
static void test_inline_secret_and_names(void **state)
{
    files *f = *state;
    static const sss_auth_names cli = {.method = "--auth", .auth_id = "--auth-id",
                                       .secret = "--auth-secret", .eckey = "--auth-key",
                                       .scp03_keyfile = "--scp03"};
    sss_auth_spec a;
    char err[300];
    sss_auth_text t = {.method = "userid", .auth_id = "1", .secret = "C0:01", .names = &cli};
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.secret_len, 2);
    sss_auth_spec_clear(&a);
    char at[1300];
    snprintf(at, sizeof(at), "@%s", put(f, "s.hex", "0A0B\n", 5));
    t.secret = at;
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.secret_len, 2);
    assert_int_equal(a.secret[1], 0x0B);
    sss_auth_spec_clear(&a);
    t.secret = "C0FFEE5ECRE7"; /* invalid hex: the message must not echo it */
    parse_fails(&t, SSS_ERR_ARG, "--auth-secret: invalid hex");
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_ERR_ARG);
    assert_null(strstr(err, "C0FFEE"));
    t.secret = NULL;
    parse_fails(&t, SSS_ERR_ARG, "--auth userid needs --auth-secret");
    t.auth_id = NULL;
    parse_fails(&t, SSS_ERR_ARG, "--auth userid needs --auth-id");
    sss_auth_text u = {.method = "magic", .names = &cli};
    parse_fails(&u, SSS_ERR_ARG, "--auth 'magic'");
    sss_auth_text v = {.method = "scp03", .names = &cli};
    parse_fails(&v, SSS_ERR_ARG, "--auth platformscp03 needs --scp03");
}

/* ---- ECKey, combinations, fields that do not apply ----------------------- */

static void test_eckey(void **state)
{
    files *f = *state;
    sss_auth_spec a;
    char err[300];
    sss_auth_text t = {.method = "eckey", .auth_id = "0xF0000020",
                       .eckey = put(f, "host.pem", "-----BEGIN PRIVATE KEY-----\n", 28),
                       .scp03_keyfile = "/k"};
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_int_equal(a.auth, SSS_AUTH_ECKEY);
    assert_int_equal(a.auth_id, 0xF0000020u);
    assert_string_equal(a.eckey, f->path);
    assert_string_equal(a.scp03_keyfile, "/k"); /* combines with platform SCP03 */
    sss_session_cfg cfg = {0};
    sss_auth_spec_apply(&a, &cfg);
    assert_string_equal(cfg.eckey_pem, f->path);
    assert_string_equal(cfg.scp03_keyfile, "/k");
    assert_int_equal(cfg.auth, SSS_AUTH_ECKEY);
    sss_auth_spec_clear(&a);
    t.eckey = "-----BEGIN PRIVATE KEY-----\nMIGH...\n"; /* PEM text is passed on as it is */
    assert_int_equal(sss_auth_spec_parse(&t, &a, err, sizeof(err)), SSS_OK);
    assert_string_equal(a.eckey, t.eckey);
    sss_auth_spec_clear(&a);
    t.eckey = NULL;
    parse_fails(&t, SSS_ERR_ARG, "auth eckey needs auth_eckey");
    t.eckey = "/nonexistent/host.pem";
    parse_fails(&t, SSS_ERR_FORMAT, "auth_eckey: cannot read /nonexistent/host.pem");
}

static void test_unused_fields(void **state)
{
    (void)state;
    sss_auth_text t = {.secret_file = "s"};
    parse_fails(&t, SSS_ERR_ARG, "auth_secret_file is set but auth is none");
    sss_auth_text u = {.method = "eckey", .auth_id = "1", .eckey = "k", .secret_file = "s"};
    parse_fails(&u, SSS_ERR_ARG, "auth_secret_file is set but auth is eckey");
    sss_auth_text v = {.method = "userid", .auth_id = "1", .secret_file = "s", .eckey = "k"};
    parse_fails(&v, SSS_ERR_ARG, "auth_eckey is set but auth is userid (it applies to eckey)");
    sss_auth_text w = {.auth_id = "1"};
    parse_fails(&w, SSS_ERR_ARG, "auth_id is set but auth is none");
}

/* ---- policies ------------------------------------------------------------- */

static void policy_fails(const char *text, const char *needle)
{
    se05x_policy p;
    char err[200];
    if (sss_policy_parse_text(text, &p, err, sizeof(err)) != SSS_ERR_ARG ||
        strstr(err, needle) == NULL)
        fail_msg("policy '%s': message '%s' (want '%s')", text ? text : "(null)", err, needle);
    assert_int_equal(p.n, 0);
}

static void test_policy_text(void **state)
{
    (void)state;
    se05x_policy p;
    char err[200];
    assert_int_equal(sss_policy_parse_text("sign,read", &p, err, sizeof(err)), SSS_OK);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.e[0].auth_id, 0);
    assert_int_equal(p.e[0].ar, SE05X_AR_SIGN | SE05X_AR_READ);
    assert_int_equal(sss_policy_parse_text(" 0x7DA00001 : sign ; 0:read|verify;", &p, err,
                                           sizeof(err)), SSS_OK);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.e[0].auth_id, 0x7DA00001u);
    assert_int_equal(p.e[0].ar, SE05X_AR_SIGN);
    assert_int_equal(p.e[1].auth_id, 0);
    assert_int_equal(p.e[1].ar, SE05X_AR_READ | SE05X_AR_VERIFY);
    assert_int_equal(sss_policy_parse_text("sign;read", &p, err, sizeof(err)), SSS_OK);
    assert_int_equal(p.n, 1); /* same id: merged */
    assert_int_equal(p.e[0].ar, SE05X_AR_SIGN | SE05X_AR_READ);
    assert_int_equal(sss_policy_parse_text("0x10000000", &p, err, sizeof(err)), SSS_OK);
    assert_int_equal(p.e[0].ar, SE05X_AR_SIGN);
    policy_fails("sign,fly", "fly");
    policy_fails("zz:sign", "invalid auth object id 'zz'");
    policy_fails("", "no access rules");
    policy_fails(" ; ;", "no access rules");
    policy_fails(NULL, "no access rules");
    policy_fails("0x7DA00001:", "empty access-rule list");
    char many[400] = "";
    for (int i = 1; i <= SE05X_POLICY_MAX_ENTRIES + 1; i++) {
        size_t l = strlen(many);
        snprintf(many + l, sizeof(many) - l, "%x:sign;", i);
    }
    policy_fails(many, "too many entries");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_parse_hex),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_platform_scp03),
        cmocka_unit_test_setup_teardown(test_userid_hex_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_userid_raw_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aeskey, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_secret_and_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eckey, setup, teardown),
        cmocka_unit_test(test_unused_fields),
        cmocka_unit_test(test_policy_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
