/* el2go claim codes against the in-process simulator (spec §5.1): the file
 * reader (spaces/CR/LF dropped, stops at NUL, bad content refused), the
 * policy set (default user write+delete but no read; EdgeLock 2GO user
 * read+write+delete, 0xF0000021 on demo parts), injection replacing an old
 * code, reading it back only through an EL2GO-user session, deletion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "el2go/claimcode.h"
#include "se05x/commands.h"
#include "se05x/conn.h"
#include "sss/sss.h"
#include "testutil.h"

static const uint8_t USER_SECRET[] = "el2go-user-pw";

typedef struct {
    char *dir;
    char cs[600];
    sss_session *s; /* for reading attributes */
    se05x_conn *c;  /* for injecting / deleting */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tu_tempdir("el2go_cc");
    snprintf(f->cs, sizeof(f->cs), "sim:%s", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->s)
        sss_session_close(f->s);
    if (f->c)
        se05x_conn_close(f->c);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Create a UserID auth object on the simulator (before any sss session). */
static void make_user(fx *f, uint32_t id)
{
    se05x_conn *c;
    assert_int_equal(se05x_conn_open(f->cs, NULL, &c), SE05X_OK);
    se05x_obj_opts o = {.auth = true};
    se05x_status st = se05x_write_userid(c, &o, id, USER_SECRET, sizeof(USER_SECRET) - 1);
    if (st != SE05X_OK)
        fail_msg("WriteUserID 0x%08x: SW %04x %s", id, se05x_conn_last_sw(c), se05x_conn_errmsg(c));
    se05x_conn_close(c);
}

static void open_default(fx *f)
{
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X, .connstr = f->cs};
    char err[200];
    assert_int_equal(sss_session_open(&cfg, &f->s, err, sizeof(err)), SSS_OK);
    assert_int_equal(se05x_conn_open(f->cs, NULL, &f->c), SE05X_OK);
}

static void close_default(fx *f)
{
    sss_session_close(f->s);
    se05x_conn_close(f->c);
    f->s = NULL;
    f->c = NULL;
}

static const se05x_policy_entry *entry(const se05x_policy *p, uint32_t id)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->e[i].auth_id == id)
            return &p->e[i];
    return NULL;
}

static void check_policy(fx *f, uint32_t user)
{
    sss_object_info info;
    assert_int_equal(sss_object_info_get(f->s, EL2GO_CLAIMCODE_ID, &info), SSS_OK);
    assert_int_equal(info.type, SSS_KT_BINARY);
    assert_false(info.transient);
    const se05x_policy_entry *d = entry(&info.policy, 0), *u = entry(&info.policy, user);
    assert_non_null(d);
    assert_non_null(u);
    assert_true(d->ar & SE05X_AR_WRITE);
    assert_true(d->ar & SE05X_AR_DELETE);
    assert_false(d->ar & SE05X_AR_READ);
    assert_int_equal(u->ar & (SE05X_AR_READ | SE05X_AR_WRITE | SE05X_AR_DELETE),
                     SE05X_AR_READ | SE05X_AR_WRITE | SE05X_AR_DELETE);
}

static void read_with(sss_session_cfg *cfg, const char *expect)
{
    sss_session *us;
    char err[200];
    assert_int_equal(sss_session_open(cfg, &us, err, sizeof(err)), SSS_OK);
    uint8_t buf[64];
    size_t n = sizeof(buf);
    assert_int_equal(sss_binary_read(us, EL2GO_CLAIMCODE_ID, buf, &n), SSS_OK);
    assert_int_equal(n, strlen(expect));
    assert_memory_equal(buf, expect, n);
    sss_session_close(us);
}

/* Demo parts: a UserID auth object we create at 0xF0000021. */
static void read_as_user(fx *f, uint32_t user, const char *expect)
{
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X,
                           .connstr = f->cs,
                           .auth = SSS_AUTH_USERID,
                           .auth_id = user,
                           .secret = USER_SECRET,
                           .secret_len = sizeof(USER_SECRET) - 1};
    read_with(&cfg, expect);
}

/* Production parts: the simulator's factory ECKey object 0xF0000020 (its
 * private half is left in DIR/el2go-auth-key.pem for tests). */
static void read_as_el2go(fx *f, const char *expect)
{
    char pem[700];
    snprintf(pem, sizeof(pem), "%s/el2go-auth-key.pem", f->dir);
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X,
                           .connstr = f->cs,
                           .auth = SSS_AUTH_ECKEY,
                           .auth_id = EL2GO_AUTH_USER_PROD,
                           .eckey_pem = pem};
    read_with(&cfg, expect);
}

static void test_inject_policies_and_delete(void **state)
{
    fx *f = *state;
    open_default(f);
    char err[256];
    el2go_status st = el2go_claimcode_inject(f->c, "FIRSTCODE", 9, err, sizeof(err));
    if (st != EL2GO_OK)
        fail_msg("%s", err);
    check_policy(f, EL2GO_AUTH_USER_PROD);
    /* the default user cannot read it */
    uint8_t buf[64];
    size_t n = sizeof(buf);
    assert_int_equal(sss_binary_read(f->s, EL2GO_CLAIMCODE_ID, buf, &n), SSS_ERR_DENIED);
    /* a second injection replaces the first */
    assert_int_equal(el2go_claimcode_inject(f->c, "second-claim-code", 17, err, sizeof(err)),
                     EL2GO_OK);
    sss_object_info info;
    assert_int_equal(sss_object_info_get(f->s, EL2GO_CLAIMCODE_ID, &info), SSS_OK);
    assert_int_equal(info.size, 17);
    close_default(f);
    /* the EdgeLock 2GO user reads the plain ASCII code, no terminator */
    read_as_el2go(f, "second-claim-code");
    open_default(f);
    assert_int_equal(el2go_claimcode_delete(f->c, err, sizeof(err)), EL2GO_OK);
    bool exists = true;
    assert_int_equal(sss_object_exists(f->s, EL2GO_CLAIMCODE_ID, &exists), SSS_OK);
    assert_false(exists);
    assert_int_equal(el2go_claimcode_delete(f->c, err, sizeof(err)), EL2GO_ERR_NOT_FOUND);
}

static void test_inject_demo_part(void **state)
{
    fx *f = *state;
    make_user(f, EL2GO_AUTH_USER_DEMO);
    open_default(f);
    char err[256];
    assert_int_equal(el2go_claimcode_inject(f->c, "demo", 4, err, sizeof(err)), EL2GO_OK);
    check_policy(f, EL2GO_AUTH_USER_DEMO);
    sss_object_info info;
    assert_int_equal(sss_object_info_get(f->s, EL2GO_CLAIMCODE_ID, &info), SSS_OK);
    assert_null(entry(&info.policy, EL2GO_AUTH_USER_PROD));
    close_default(f);
    read_as_user(f, EL2GO_AUTH_USER_DEMO, "demo");
}

static void test_inject_bad_args(void **state)
{
    fx *f = *state;
    open_default(f);
    char err[64];
    assert_int_equal(el2go_claimcode_inject(f->c, "", 0, err, sizeof(err)), EL2GO_ERR_ARG);
    assert_int_equal(el2go_claimcode_inject(NULL, "x", 1, err, sizeof(err)), EL2GO_ERR_ARG);
    assert_int_equal(el2go_claimcode_inject(f->c, "x", EL2GO_CLAIMCODE_MAX + 1, err, sizeof(err)),
                     EL2GO_ERR_ARG);
    se05x_policy p;
    assert_int_equal(el2go_claimcode_policy(EL2GO_AUTH_USER_PROD, &p), EL2GO_OK);
    assert_int_equal(p.n, 2);
}

static char *write_tmp(fx *f, const char *name, const void *d, size_t n)
{
    char *p = malloc(700);
    snprintf(p, 700, "%s/%s", f->dir, name);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(d, 1, n, fp), n);
    fclose(fp);
    return p;
}

static void test_read_file(void **state)
{
    fx *f = *state;
    char code[EL2GO_CLAIMCODE_MAX + 1];
    size_t n;
    char *p = write_tmp(f, "a", " AB CD\r\nEF \n", 12);
    assert_int_equal(el2go_claimcode_read_file(p, code, sizeof(code), &n), EL2GO_OK);
    assert_int_equal(n, 6);
    assert_string_equal(code, "ABCDEF");
    free(p);
    p = write_tmp(f, "b", "XY\0ZZ", 5); /* stops at NUL */
    assert_int_equal(el2go_claimcode_read_file(p, code, sizeof(code), &n), EL2GO_OK);
    assert_string_equal(code, "XY");
    free(p);
    p = write_tmp(f, "c", " \r\n", 3);
    assert_int_equal(el2go_claimcode_read_file(p, code, sizeof(code), &n), EL2GO_ERR_INVALID);
    free(p);
    p = write_tmp(f, "d", "AB\tC", 4);
    assert_int_equal(el2go_claimcode_read_file(p, code, sizeof(code), &n), EL2GO_ERR_INVALID);
    free(p);
    p = write_tmp(f, "e", "\xc3\xa9", 2);
    assert_int_equal(el2go_claimcode_read_file(p, code, sizeof(code), &n), EL2GO_ERR_INVALID);
    free(p);
    char big[EL2GO_CLAIMCODE_MAX + 10];
    memset(big, 'A', sizeof(big));
    p = write_tmp(f, "f", big, sizeof(big));
    assert_int_equal(el2go_claimcode_read_file(p, code, sizeof(code), &n), EL2GO_ERR_TOO_LARGE);
    free(p);
    assert_int_equal(el2go_claimcode_read_file("/nonexistent/x", code, sizeof(code), &n),
                     EL2GO_ERR_NOT_FOUND);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_inject_policies_and_delete),
        T(test_inject_demo_part),
        T(test_inject_bad_args),
        T(test_read_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
