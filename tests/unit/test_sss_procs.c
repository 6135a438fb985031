/* sss across processes: two processes signing in loops against one
 * simulator (the se05x-sim daemon over JRCP, and the in-process sim:DIR
 * shared through its directory lock) both succeed; a session and an open
 * key used in a child after fork() work (the child re-opens its link);
 * threads sharing one session are serialised by its lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sss/sss.h"
#include "testutil.h"

#define LOOPS 15
#define KEY_ID 0x40000001u

typedef struct {
    char *dir;
    tu_daemon d;
    char cs_jrcp[64];
    char cs_sim[1200];
} fixture;

static fixture g;

static sss_session *open_session(const char *cs)
{
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X, .connstr = cs};
    sss_session *s = NULL;
    char err[256];
    if (sss_session_open(&cfg, &s, err, sizeof(err)) != SSS_OK) {
        fprintf(stderr, "open %s: %s\n", cs, err);
        return NULL;
    }
    return s;
}

static int setup(void **state)
{
    g.dir = tu_tempdir("sssprocs");
    if (!g.dir)
        return -1;
    char card[1200];
    snprintf(card, sizeof(card), "%s/daemon", g.dir);
    if (tu_daemon_start(&g.d, card, NULL) != 0)
        return -1;
    snprintf(g.cs_jrcp, sizeof(g.cs_jrcp), "127.0.0.1:%u", g.d.port);
    snprintf(g.cs_sim, sizeof(g.cs_sim), "sim:%s/inproc", g.dir);
    /* one P-256 key on each card */
    const char *cs[] = {g.cs_jrcp, g.cs_sim};
    for (int i = 0; i < 2; i++) {
        sss_session *s = open_session(cs[i]);
        if (!s)
            return -1;
        sss_keygen kg = {.type = SSS_KT_EC_PAIR, .curve = SSS_CURVE_P256};
        sss_write_opts o = {.force = true};
        sss_status st = sss_key_generate(s, KEY_ID, &kg, &o);
        sss_session_close(s);
        if (st != SSS_OK)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    tu_daemon_stop(&g.d, 0);
    tu_rmtree(g.dir);
    free(g.dir);
    return 0;
}

/* Sign and verify once with an open key; 0 on success. */
static int sign_once(sss_key *k, int round)
{
    uint8_t dg[32], sig[100];
    unsigned int dl;
    EVP_Digest(&round, sizeof(round), dg, &dl, EVP_sha256(), NULL);
    size_t sl = sizeof(sig);
    sss_sig_params p = {.alg = SSS_SIG_ECDSA, .hash = SSS_HASH_SHA256};
    if (sss_sign(k, &p, dg, 32, sig, &sl) != SSS_OK)
        return 1;
    return sss_verify(k, &p, dg, 32, sig, sl) == SSS_OK ? 0 : 2;
}

/* A signer process: own session, LOOPS signatures. Exit status 0 = ok. */
static int signer(const char *cs)
{
    sss_session *s = open_session(cs);
    if (!s)
        return 10;
    sss_key *k = NULL;
    int rc = sss_key_open(s, KEY_ID, &k) == SSS_OK ? 0 : 11;
    for (int i = 0; i < LOOPS && rc == 0; i++) {
        rc = sign_once(k, i);
        if (rc)
            fprintf(stderr, "pid %d round %d: %s\n", (int)getpid(), i, sss_session_errmsg(s));
    }
    sss_key_close(k);
    sss_session_close(s);
    return rc;
}

static void two_signers(const char *cs)
{
    pid_t pid[2];
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0)
            _exit(signer(cs));
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;
        assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

static void test_two_processes_jrcp(void **state) { two_signers(g.cs_jrcp); }
static void test_two_processes_inproc(void **state) { two_signers(g.cs_sim); }

/* A session opened before fork() works in the child and still in the parent. */
static void fork_session(const char *cs)
{
    sss_session *s = open_session(cs);
    assert_non_null(s);
    sss_key *k = NULL;
    assert_int_equal(sss_key_open(s, KEY_ID, &k), SSS_OK);
    assert_int_equal(sign_once(k, 100), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int rc = 0;
        for (int i = 0; i < 3 && rc == 0; i++)
            rc = sign_once(k, 200 + i);
        uint8_t r[16];
        if (rc == 0 && sss_rng(s, r, sizeof(r)) != SSS_OK)
            rc = 5;
        if (rc)
            fprintf(stderr, "child: %s\n", sss_session_errmsg(s));
        _exit(rc);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(sign_once(k, 300), 0);
    sss_key_close(k);
    sss_session_close(s);
}

static void test_fork_jrcp(void **state) { fork_session(g.cs_jrcp); }
static void test_fork_inproc(void **state) { fork_session(g.cs_sim); }

/* Threads sharing one session and one key handle. */
typedef struct {
    sss_key *k;
    int base, rc;
} thr_arg;

static void *thr_sign(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < LOOPS && a->rc == 0; i++)
        a->rc = sign_once(a->k, a->base + i);
    return NULL;
}

static void threads_share(const char *cs)
{
    sss_session *s = open_session(cs);
    assert_non_null(s);
    sss_key *k = NULL;
    assert_int_equal(sss_key_open(s, KEY_ID, &k), SSS_OK);
    pthread_t t[3];
    thr_arg a[3];
    for (int i = 0; i < 3; i++) {
        a[i] = (thr_arg){k, 1000 * (i + 1), 0};
        assert_int_equal(pthread_create(&t[i], NULL, thr_sign, &a[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].rc, 0);
    }
    sss_counters c;
    sss_session_counters(s, &c);
    assert_true(c.apdus >= 3 * LOOPS); /* one sign APDU each, all on this link */
    sss_key_close(k);
    sss_session_close(s);
}

static void test_threads_jrcp(void **state) { threads_share(g.cs_jrcp); }
static void test_threads_inproc(void **state) { threads_share(g.cs_sim); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_processes_jrcp),
        cmocka_unit_test(test_two_processes_inproc),
        cmocka_unit_test(test_fork_jrcp),
        cmocka_unit_test(test_fork_inproc),
        cmocka_unit_test(test_threads_jrcp),
        cmocka_unit_test(test_threads_inproc),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
