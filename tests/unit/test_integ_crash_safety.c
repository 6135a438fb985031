/* Crash safety of the simulator's store: a client writes and rewrites binary
 * objects over JRCP while another thread kills se05x-sim with SIGKILL at
 * random moments; the daemon is restarted on the same directory each time.
 * At the end every acknowledged write must be intact (a write that was in
 * flight when the process died may hold its old or its new value, nothing
 * else). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define NOBJ 48
#define ROUNDS 12
#define BASE_ID 0x10000000u

typedef struct {
    int version; /* content generation acknowledged (-1 = not created) */
    int inflight; /* generation sent but not acknowledged (-1 = none) */
    uint16_t len;
} obj_state;

static void content(uint32_t id, int version, uint8_t *out, uint16_t len)
{
    uint32_t x = id * 2654435761u + (uint32_t)version * 40503u + 1;
    for (uint16_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (uint8_t)x;
    }
}

typedef struct {
    pid_t pid;
    unsigned delay_ms;
} killer_arg;

static void *killer(void *p)
{
    killer_arg *k = p;
    struct timespec ts = {k->delay_ms / 1000, (long)(k->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    kill(k->pid, SIGKILL);
    return NULL;
}

/* Read every object back: acknowledged writes must be intact; an object
 * with a write in flight at the kill holds the old or the new value, which
 * then becomes its acknowledged state. Returns the number verified. */
static unsigned verify_all(se05x_conn *c, obj_state *obj)
{
    unsigned checked = 0;
    for (int i = 0; i < NOBJ; i++) {
        uint32_t id = BASE_ID + (uint32_t)i;
        uint8_t got[512], want[512], alt[512];
        size_t n = 0;
        uint16_t sw = 0;
        assert_int_equal(tu_read_object(c, id, obj[i].len, got, sizeof(got), &n, &sw), SE05X_OK);
        if (obj[i].version < 0 && sw != 0x9000) {
            obj[i].inflight = -1; /* creation never landed */
            continue;
        }
        if (sw != 0x9000)
            fail_msg("acknowledged object 0x%08X lost (SW %04X)", id, sw);
        assert_int_equal(n, obj[i].len);
        if (obj[i].version >= 0)
            content(id, obj[i].version, want, obj[i].len);
        if (obj[i].version >= 0 && memcmp(got, want, n) == 0) {
            obj[i].inflight = -1;
        } else {
            if (obj[i].inflight < 0)
                fail_msg("object 0x%08X corrupted", id);
            content(id, obj[i].inflight, alt, obj[i].len);
            if (memcmp(got, alt, n) != 0)
                fail_msg("object 0x%08X holds neither its old nor its new value", id);
            obj[i].version = obj[i].inflight;
            obj[i].inflight = -1;
        }
        checked++;
    }
    return checked;
}

static void test_kill_during_writes(void **state)
{
    char *dir = tu_tempdir("crash");
    assert_non_null(dir);
    obj_state obj[NOBJ];
    for (int i = 0; i < NOBJ; i++) {
        obj[i].version = -1;
        obj[i].inflight = -1;
        obj[i].len = (uint16_t)(32 + (i * 37) % 400);
    }
    srand(12345);
    unsigned acked = 0, checked = 0;
    for (int round = 0; round <= ROUNDS; round++) {
        tu_daemon d;
        assert_int_equal(tu_daemon_start(&d, dir, NULL), 0);
        char cs[64];
        snprintf(cs, sizeof(cs), "127.0.0.1:%u", d.port);
        se05x_conn *c;
        assert_int_equal(se05x_conn_open(cs, NULL, &c), SE05X_OK);
        checked += verify_all(c, obj);
        if (round == ROUNDS) { /* final check only */
            se05x_conn_close(c);
            assert_int_equal(tu_daemon_stop(&d, 0), 0);
            break;
        }
        killer_arg ka = {d.pid, 20 + (unsigned)(rand() % 120)};
        pthread_t th;
        pthread_create(&th, NULL, killer, &ka);
        for (;;) {
            int i = rand() % NOBJ;
            uint32_t id = BASE_ID + (uint32_t)i;
            int next = obj[i].version + 1;
            uint8_t buf[512];
            content(id, next, buf, obj[i].len);
            obj[i].inflight = next;
            uint16_t sw = 0;
            se05x_status st = tu_write_binary(c, id, buf, obj[i].len, obj[i].version < 0, &sw);
            if (st != SE05X_OK)
                break; /* the link died with the process */
            if (sw != 0x9000)
                fail_msg("write of 0x%08X answered %04X", id, sw);
            obj[i].version = next;
            obj[i].inflight = -1;
            acked++;
        }
        pthread_join(th, NULL);
        se05x_conn_close(c);
        tu_daemon_stop(&d, 1);
    }
    printf("crash safety: %d kills, %u acknowledged writes, %u object checks\n", ROUNDS, acked,
           checked);
    assert_true(acked > 0);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kill_during_writes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
