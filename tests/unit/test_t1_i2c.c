/* Unit tests of the Linux i2c-dev T=1 backend (hostlib/src/t1_i2c.c) that
 * need no hardware: a nonexistent bus gives a clear error, a file that is
 * not an i2c adapter is refused at address selection, bad arguments. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "se05x/t1.h"
#include "se05x/transport.h"

static void test_nonexistent_bus(void **state)
{
    (void)state;
    se05x_transport *t = (se05x_transport *)0x1;
    char err[256] = "";
    assert_int_equal(se05x_t1_i2c_open_ex("/dev/i2c-99", 0x48, NULL, &t, err, sizeof err),
                     SE05X_ERR_TRANSPORT);
    assert_null(t);
    assert_non_null(strstr(err, "/dev/i2c-99"));
    assert_non_null(strstr(err, "No such file or directory"));
    /* the plain entry point fails the same way and leaves the cause in errno */
    errno = 0;
    assert_int_equal(se05x_t1_i2c_open("/dev/i2c-99", 0x48, &t), SE05X_ERR_TRANSPORT);
    assert_int_equal(errno, ENOENT);
}

static void test_not_an_adapter(void **state)
{
    (void)state;
    se05x_transport *t = NULL;
    char err[256] = "";
    /* /dev/null opens but does not know I2C_SLAVE */
    assert_int_equal(se05x_t1_i2c_open_ex("/dev/null", 0x48, NULL, &t, err, sizeof err),
                     SE05X_ERR_TRANSPORT);
    assert_null(t);
    assert_non_null(strstr(err, "cannot select address 0x48"));
}

static void test_bad_arguments(void **state)
{
    (void)state;
    se05x_transport *t = NULL;
    char err[256] = "";
    assert_int_equal(se05x_t1_i2c_open_ex("/dev/i2c-1", 0x90, NULL, &t, err, sizeof err),
                     SE05X_ERR_ARG); /* 8-bit address */
    assert_non_null(strstr(err, "7-bit"));
    assert_int_equal(se05x_t1_i2c_open_ex(NULL, 0x48, NULL, &t, err, sizeof err), SE05X_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonexistent_bus),
        cmocka_unit_test(test_not_an_adapter),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
