/* Several processes and threads opening the same `sim:DIR` in-process are
 * serialised by the simulator's lock on DIR: concurrent writers from forked
 * children and from threads all land, and a connection survives fork() (the
 * child re-opens its own link). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define NPROC 4
#define NTHREAD 3
#define PER 12

static char connstr[1200];

static int writer(uint32_t base)
{
    se05x_conn *c;
    if (se05x_conn_open(connstr, NULL, &c) != SE05X_OK)
        return 1;
    for (uint32_t k = 0; k < PER; k++) {
        uint8_t data[40];
        uint16_t sw;
        memset(data, (int)(base + k), sizeof(data));
        if (tu_write_binary(c, base + k, data, sizeof(data), 1, &sw) != SE05X_OK || sw != 0x9000) {
            se05x_conn_close(c);
            return 2;
        }
    }
    se05x_conn_close(c);
    return 0;
}

static void *thread_writer(void *p) { return (void *)(intptr_t)writer((uint32_t)(uintptr_t)p); }

static void check_all(se05x_conn *c, uint32_t base, int groups)
{
    for (int g = 0; g < groups; g++)
        for (uint32_t k = 0; k < PER; k++) {
            uint32_t id = base + (uint32_t)g * 0x100 + k;
            uint8_t got[64], want[40];
            size_t n;
            uint16_t sw;
            memset(want, (int)id, sizeof(want));
            assert_int_equal(tu_read_object(c, id, 40, got, sizeof(got), &n, &sw), SE05X_OK);
            assert_int_equal(sw, 0x9000);
            assert_memory_equal(got, want, 40);
        }
}

static void test_processes_and_threads(void **state)
{
    char *dir = tu_tempdir("inproc");
    assert_non_null(dir);
    snprintf(connstr, sizeof(connstr), "sim:%s", dir);
    /* first open leaves the factory before the race starts */
    se05x_conn *c;
    assert_int_equal(se05x_conn_open(connstr, NULL, &c), SE05X_OK);
    pid_t kids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0)
            _exit(writer(0x20000000u + (uint32_t)i * 0x100));
    }
    pthread_t th[NTHREAD];
    for (int i = 0; i < NTHREAD; i++)
        pthread_create(&th[i], NULL, thread_writer, (void *)(uintptr_t)(0x21000000u + (uint32_t)i * 0x100));
    for (int i = 0; i < NPROC; i++) {
        int st;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    for (int i = 0; i < NTHREAD; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        assert_int_equal((intptr_t)rv, 0);
    }
    check_all(c, 0x20000000u, NPROC);
    check_all(c, 0x21000000u, NTHREAD);
    se05x_conn_close(c);
    tu_rmtree(dir);
    free(dir);
}

static void test_connection_survives_fork(void **state)
{
    char *dir = tu_tempdir("fork");
    assert_non_null(dir);
    snprintf(connstr, sizeof(connstr), "sim:%s", dir);
    se05x_conn *c;
    assert_int_equal(se05x_conn_open(connstr, NULL, &c), SE05X_OK);
    uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint16_t sw;
    assert_int_equal(tu_write_binary(c, 0x22000000u, data, sizeof(data), 1, &sw), SE05X_OK);
    assert_int_equal(sw, 0x9000);
    pid_t pid = fork();
    if (pid == 0) {
        /* the child uses the inherited connection: it must re-open its link */
        uint8_t got[16];
        size_t n;
        uint16_t csw = 0;
        int bad = tu_read_object(c, 0x22000000u, 8, got, sizeof(got), &n, &csw) != SE05X_OK ||
                  csw != 0x9000 || memcmp(got, data, 8) != 0;
        bad |= tu_write_binary(c, 0x22000001u, data, sizeof(data), 1, &csw) != SE05X_OK || csw != 0x9000;
        se05x_conn_close(c);
        _exit(bad);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* the parent's connection still works and sees the child's write */
    uint8_t got[16];
    size_t n;
    assert_int_equal(tu_read_object(c, 0x22000001u, 8, got, sizeof(got), &n, &sw), SE05X_OK);
    assert_int_equal(sw, 0x9000);
    se05x_conn_close(c);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_processes_and_threads),
        cmocka_unit_test(test_connection_survives_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
