/* A connection survives the SE link going away: the daemon is stopped
 * under an open JRCP connection (the next command fails with a link
 * error), then restarted on the same port and directory; the following
 * command reconnects, re-selects the applet and succeeds, with the same
 * chip behind it. Also with an applet session (UserID), which must be
 * re-opened on the new link; if the SE refuses that (the UserID changed
 * meanwhile), the connection fails every command with a clear error and
 * never runs them outside the session or retries the refused secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "se05x/commands.h"
#include "testutil.h"

static void test_reconnect_after_restart(void **state)
{
    char *dir = tu_tempdir("relink");
    assert_non_null(dir);
    tu_daemon d;
    assert_int_equal(tu_daemon_start(&d, dir, NULL), 0);
    uint16_t port = d.port;
    char cs[64];
    snprintf(cs, sizeof(cs), "127.0.0.1:%u", port);
    se05x_conn *c;
    assert_int_equal(se05x_conn_open(cs, NULL, &c), SE05X_OK);
    uint8_t uid1[18], uid2[18];
    assert_int_equal(se05x_read_uid(c, uid1), SE05X_OK);

    /* a UserID session whose object only it may read */
    static const uint8_t pin[] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(se05x_write_userid(c, NULL, 0x7DA00001, pin, sizeof(pin)), SE05X_OK);
    se05x_policy pol;
    se05x_policy_init(&pol);
    se05x_policy_add(&pol, 0x7DA00001, SE05X_AR_READ | SE05X_AR_WRITE | SE05X_AR_DELETE);
    se05x_obj_opts o = {.policy = &pol};
    assert_int_equal(se05x_session_open_userid(c, 0x7DA00001, pin, sizeof(pin)), SE05X_OK);
    const uint8_t secret[4] = {0xCA, 0xFE, 0xBA, 0xBE};
    assert_int_equal(se05x_write_binary(c, &o, 0x40000001, secret, sizeof(secret), false), SE05X_OK);

    tu_daemon_stop(&d, 0);
    assert_int_not_equal(se05x_read_uid(c, uid2), SE05X_OK); /* the link is gone */
    assert_true(strlen(se05x_conn_errmsg(c)) > 0);
    /* still down: the reconnect attempt fails with a clear error */
    assert_int_not_equal(se05x_read_uid(c, uid2), SE05X_OK);
    assert_non_null(strstr(se05x_conn_errmsg(c), "reconnecting failed"));

    assert_int_equal(tu_daemon_start_on(&d, dir, port, NULL), 0);
    assert_int_equal(se05x_read_uid(c, uid2), SE05X_OK); /* reconnected */
    assert_memory_equal(uid1, uid2, 18);
    /* the session was re-opened: the object only the UserID may read is readable */
    assert_true(se05x_session_active(c));
    uint8_t back[16];
    size_t n = sizeof(back);
    assert_int_equal(se05x_read_object(c, 0x40000001, 0, 0, back, &n), SE05X_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(back, secret, 4);
    se05x_conn_close(c);
    assert_int_equal(tu_daemon_stop(&d, 0), 0);
    tu_rmtree(dir);
    free(dir);
}

static void test_reconnect_session_refused(void **state)
{
    char *dir = tu_tempdir("relink-refused");
    assert_non_null(dir);
    tu_daemon d, d2;
    assert_int_equal(tu_daemon_start(&d, dir, NULL), 0);
    uint16_t port = d.port;
    char cs[64];
    snprintf(cs, sizeof(cs), "127.0.0.1:%u", port);
    se05x_conn *c;
    assert_int_equal(se05x_conn_open(cs, NULL, &c), SE05X_OK);
    static const uint8_t pin[] = {1, 2, 3, 4, 5, 6}, other[] = {9, 9, 9, 9};
    assert_int_equal(se05x_write_userid(c, NULL, 0x7DA00002, pin, sizeof(pin)), SE05X_OK);
    assert_int_equal(se05x_session_open_userid(c, 0x7DA00002, pin, sizeof(pin)), SE05X_OK);
    uint8_t uid[18];
    assert_int_equal(se05x_read_uid(c, uid), SE05X_OK);

    /* while c's link is down, somebody replaces the UserID value */
    tu_daemon_stop(&d, 0);
    assert_int_not_equal(se05x_read_uid(c, uid), SE05X_OK);
    assert_int_equal(tu_daemon_start(&d2, dir, NULL), 0);
    char cs2[64];
    snprintf(cs2, sizeof(cs2), "127.0.0.1:%u", d2.port);
    se05x_conn *c2;
    assert_int_equal(se05x_conn_open(cs2, NULL, &c2), SE05X_OK);
    assert_int_equal(se05x_delete_object(c2, 0x7DA00002), SE05X_OK);
    assert_int_equal(se05x_write_userid(c2, NULL, 0x7DA00002, other, sizeof(other)), SE05X_OK);
    se05x_conn_close(c2);
    tu_daemon_stop(&d2, 0);
    assert_int_equal(tu_daemon_start_on(&d, dir, port, NULL), 0);

    /* the reconnect works, re-opening the session is refused */
    assert_int_not_equal(se05x_read_uid(c, uid), SE05X_OK);
    assert_non_null(strstr(se05x_conn_errmsg(c), "refused to re-establish"));
    /* later commands fail at once: nothing is sent (no retry of the secret,
     * no command outside the session) */
    se05x_counters before, after;
    se05x_conn_counters(c, &before);
    assert_int_not_equal(se05x_read_uid(c, uid), SE05X_OK);
    assert_non_null(strstr(se05x_conn_errmsg(c), "open a new connection"));
    se05x_conn_counters(c, &after);
    assert_int_equal(after.apdus, before.apdus);
    se05x_conn_close(c);

    /* a new connection with the new value works */
    assert_int_equal(se05x_conn_open(cs, NULL, &c), SE05X_OK);
    assert_int_equal(se05x_session_open_userid(c, 0x7DA00002, other, sizeof(other)), SE05X_OK);
    assert_int_equal(se05x_read_uid(c, uid), SE05X_OK);
    se05x_conn_close(c);
    assert_int_equal(tu_daemon_stop(&d, 0), 0);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_reconnect_after_restart),
                                       cmocka_unit_test(test_reconnect_session_refused)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
