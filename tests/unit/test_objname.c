/* Unit tests for the shared object file names of the directory stores
 * (hostlib/src/core/objname.c, se05x/objname.h): the names both stores
 * write parse back to their id, and every other kind of directory entry
 * (wrong length, non-hex, lower case, temporary and quarantine suffixes)
 * is refused without touching the id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/objname.h"

#define UNTOUCHED 0xDEADBEEFu

static void refused(const char *name)
{
    uint32_t id = UNTOUCHED;
    if (se05x_objname_parse(name, &id))
        fail_msg("'%s' was accepted as an object file name", name ? name : "(null)");
    assert_int_equal(id, UNTOUCHED);
}

static void test_valid_names(void **state)
{
    uint32_t id = 0;
    assert_true(se05x_objname_parse("EF000010.obj", &id));
    assert_int_equal(id, 0xEF000010u);
    assert_true(se05x_objname_parse("00000000.obj", &id));
    assert_int_equal(id, 0);
    assert_true(se05x_objname_parse("FFFFFFFF.obj", &id));
    assert_int_equal(id, 0xFFFFFFFFu);
    assert_true(se05x_objname_parse("0123ABCD.obj", &id));
    assert_int_equal(id, 0x0123ABCDu);
    assert_int_equal(strlen("EF000010.obj"), SE05X_OBJNAME_LEN);
}

static void test_wrong_length(void **state)
{
    refused("");
    refused(".obj");
    refused("EF00001.obj");     /* 7 digits */
    refused("EF0000100.obj");   /* 9 digits */
    refused("0EF000010.obj");   /* leading zero makes 9 */
    refused("EF000010");        /* no extension */
    refused("EF000010.ob");
    refused("EF000010.objx");
    refused(NULL);
}

static void test_non_hex(void **state)
{
    refused("EF00001G.obj");
    refused("EF0000 0.obj");
    refused("0xEF0000.obj");
    refused("-F000010.obj");
    refused("EF00+010.obj");
    refused("EF000010.OBJ"); /* the extension is lower case */
    refused("EF000010_obj");
    char nul_inside[] = "EF000010.obj";
    nul_inside[3] = '\0'; /* a 3-character string */
    refused(nul_inside);
}

static void test_lower_case_refused(void **state)
{
    /* the stores write upper case; another spelling is another file, not
     * the same object */
    refused("ef000010.obj");
    refused("Ef000010.obj");
    refused("EF00001a.obj");
    refused("abcdef01.obj");
}

static void test_suffixes_and_temporaries(void **state)
{
    refused("EF000010.obj.tmp");
    refused("EF000010.obj.corrupt");       /* the simulator's quarantine */
    refused(".EF000010.obj.tmp-Ab12Cd");   /* sss host backend temporary */
    refused(".tmp.EF000010.1234");          /* simulator temporary */
    refused(".EF000010.obj");
    refused("EF000010.tmp");
    refused("EF000010.obj~");
    refused(".");
    refused("..");
    refused("lock");
}

static void test_path_round_trip(void **state)
{
    char buf[64];
    const uint32_t ids[] = {0, 1, 0xEF000010u, 0x7FFF0206u, 0xFFFFFFFFu, 0x0000ABCDu};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        assert_true(se05x_objname_path("/d/objects", ids[i], buf, sizeof(buf)));
        const char *slash = strrchr(buf, '/');
        assert_non_null(slash);
        assert_int_equal(slash - buf, strlen("/d/objects"));
        uint32_t back = ~ids[i];
        assert_true(se05x_objname_parse(slash + 1, &back));
        assert_int_equal(back, ids[i]);
    }
    assert_true(se05x_objname_path("dir", 0xAB, buf, sizeof(buf)));
    assert_string_equal(buf, "dir/000000AB.obj");
}

static void test_path_too_small(void **state)
{
    char buf[32];
    /* "dir/" + 12 + NUL = 17 bytes: 17 fits, 16 does not */
    assert_true(se05x_objname_path("dir", 0xEF000010u, buf, 17));
    assert_string_equal(buf, "dir/EF000010.obj");
    memset(buf, 'x', sizeof(buf));
    assert_false(se05x_objname_path("dir", 0xEF000010u, buf, 16));
    assert_int_equal(strlen(buf), 15); /* truncated but terminated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_names),        cmocka_unit_test(test_wrong_length),
        cmocka_unit_test(test_non_hex),            cmocka_unit_test(test_lower_case_refused),
        cmocka_unit_test(test_suffixes_and_temporaries), cmocka_unit_test(test_path_round_trip),
        cmocka_unit_test(test_path_too_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
