/* Unit tests for connection strings (hostlib/src/connstr.c): every accepted
 * form, the environment defaults, and malformed strings with clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/transport.h"

static void test_forms(void **state)
{
    se05x_connstr cs;
    char err[256];
    assert_int_equal(se05x_connstr_parse("127.0.0.1:8050", &cs, err, sizeof(err)), SE05X_OK);
    assert_int_equal(cs.kind, SE05X_LINK_JRCP);
    assert_string_equal(cs.host, "127.0.0.1");
    assert_int_equal(cs.port, 8050);
    assert_int_equal(se05x_connstr_parse("[::1]:9000", &cs, err, sizeof(err)), SE05X_OK);
    assert_string_equal(cs.host, "::1");
    assert_int_equal(cs.port, 9000);
    assert_int_equal(se05x_connstr_parse("localhost:1", &cs, err, sizeof(err)), SE05X_OK);
    assert_int_equal(se05x_connstr_parse("/dev/i2c-1", &cs, err, sizeof(err)), SE05X_OK);
    assert_int_equal(cs.kind, SE05X_LINK_T1_I2C);
    assert_string_equal(cs.path, "/dev/i2c-1");
    assert_int_equal(cs.i2c_addr, 0x48);
    assert_int_equal(se05x_connstr_parse("/dev/i2c-3:0x49", &cs, err, sizeof(err)), SE05X_OK);
    assert_string_equal(cs.path, "/dev/i2c-3");
    assert_int_equal(cs.i2c_addr, 0x49);
    assert_int_equal(se05x_connstr_parse("sim:/tmp/x y", &cs, err, sizeof(err)), SE05X_OK);
    assert_int_equal(cs.kind, SE05X_LINK_SIM);
    assert_string_equal(cs.path, "/tmp/x y");
    assert_int_equal(se05x_connstr_parse("t1:/run/sim.sock", &cs, err, sizeof(err)), SE05X_OK);
    assert_int_equal(cs.kind, SE05X_LINK_T1_SOCKET);
}

static void bad(const char *s, const char *needle)
{
    se05x_connstr cs;
    char err[256] = "";
    assert_int_equal(se05x_connstr_parse(s, &cs, err, sizeof(err)), SE05X_ERR_CONNSTR);
    if (!strstr(err, needle))
        fail_msg("error for '%s' was '%s', expected to mention '%s'", s, err, needle);
}

static void test_bad(void **state)
{
    bad("", "empty");
    bad("localhost", "not a connection string");
    bad("host:0", "port");
    bad("host:65536", "port");
    bad("host:80x", "port");
    bad("host:-1", "port");
    bad(":8050", "empty host");
    bad("a b:8050", "invalid character");
    bad("::1:8050", "IPv6");
    bad("[::1]8050", "[IPV6]:PORT");
    bad("/dev/i2c-1:48", "hex");
    bad("/dev/i2c-1:0x100", "7-bit");
    bad("/dev/i2c-1:0x03", "7-bit");
    bad("sim:", "missing directory");
    bad("t1:", "missing socket path");
}

static void test_default_env(void **state)
{
    unsetenv("SE05X_PORT");
    unsetenv("EX_SSS_BOOT_SSS_PORT");
    assert_string_equal(se05x_connstr_default(), "127.0.0.1:8050");
    setenv("EX_SSS_BOOT_SSS_PORT", "10.0.0.1:1234", 1);
    assert_string_equal(se05x_connstr_default(), "10.0.0.1:1234");
    setenv("SE05X_PORT", "sim:/tmp/s", 1);
    assert_string_equal(se05x_connstr_default(), "sim:/tmp/s");
    unsetenv("SE05X_PORT");
    unsetenv("EX_SSS_BOOT_SSS_PORT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_default_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
