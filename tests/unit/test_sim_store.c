/* Unit tests of the simulator's store and card sharing: persistence across
 * reopen, stale temporary files and corrupt/partial object files ignored,
 * SIGKILL of a writing process at random instants never losing or
 * corrupting an acknowledged write, several channels on one card, several
 * cards (threads and processes) on one directory. */
#include "test_sim_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static int setup(void **state)
{
    simfx *f = calloc(1, sizeof(*f));
    tu_setup_dir(f);
    sesim_opts o = tu_opts();
    tu_open(f, &o);
    tu_select(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    simfx *f = *state;
    if (f->s)
        tu_close(f);
    tu_rm_rf(f->dir);
    free(f);
    return 0;
}

static void reopen(simfx *f)
{
    tu_close(f);
    sesim_opts o = tu_opts();
    tu_open(f, &o);
    tu_select(f);
}

static uint8_t exists(simfx *f, uint32_t id)
{
    char cmd[64];
    const uint8_t *v;
    snprintf(cmd, sizeof(cmd), "80040027 06 4104%08X", id);
    assert_int_equal(tu_tx(f, cmd), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 1);
    return v[0];
}

static void obj_file(simfx *f, uint32_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/objects/%08X.obj", f->dir, id);
}

static void write_file(const char *path, const uint8_t *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

static size_t read_whole(const char *path, uint8_t *b, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(b, 1, cap, fp);
    fclose(fp);
    return n;
}

static void test_persist(void **state)
{
    simfx *f = *state;
    const uint8_t *v;
    assert_int_equal(tu_tx(f, "80010600 0E 4104EF000001 43020002 4402ABCD"), 0x9000);
    assert_int_equal(tu_tx(f, "80016100 09 4104EF000002 420103"), 0x9000);
    assert_int_equal(tu_tx(f, "8002000006 4104EF000002"), 0x9000);
    uint8_t pub[65];
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 65);
    memcpy(pub, v, 65);
    reopen(f);
    assert_int_equal(tu_tx(f, "8002000006 4104EF000001"), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 2);
    assert_int_equal(se05x_get_u16(v), 0xABCD);
    assert_int_equal(tu_tx(f, "8002000006 4104EF000002"), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 65);
    assert_memory_equal(v, pub, 65);
    /* deletion persists too */
    assert_int_equal(tu_tx(f, "80040028 06 4104EF000001"), 0x9000);
    reopen(f);
    assert_int_equal(exists(f, 0xEF000001), 0x02);
}

static void test_tmp_and_corrupt_files(void **state)
{
    simfx *f = *state;
    char path[700], tmp[700], bad[700];
    uint8_t b[4096];
    assert_int_equal(tu_tx(f, "80010600 0E 4104EF000010 43020002 44021234"), 0x9000);
    assert_int_equal(tu_tx(f, "80010600 0E 4104EF000011 43020002 44025678"), 0x9000);
    obj_file(f, 0xEF000010, path, sizeof(path));
    size_t n = read_whole(path, b, sizeof(b));
    assert_true(n > 40);
    tu_close(f);
    /* a stale temporary file (crash before rename), half written */
    snprintf(tmp, sizeof(tmp), "%s/objects/.tmp.EF000010.4242", f->dir);
    write_file(tmp, b, n / 2);
    /* a partial object file and a bit-flipped one */
    obj_file(f, 0xEF000012, bad, sizeof(bad));
    b[9] = 0x12; /* make the id inside match EF000012 */
    write_file(bad, b, n - 7);
    obj_file(f, 0xEF000011, path, sizeof(path));
    n = read_whole(path, b, sizeof(b));
    b[n / 2] ^= 0x40;
    write_file(path, b, n);
    /* garbage named like an object */
    obj_file(f, 0xEF000013, bad, sizeof(bad));
    write_file(bad, (const uint8_t *)"hello", 5);

    sesim_opts o = tu_opts();
    tu_open(f, &o);
    tu_select(f);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(exists(f, 0xEF000010), 0x01);
    assert_int_equal(exists(f, 0xEF000011), 0x02);
    assert_int_equal(exists(f, 0xEF000012), 0x02);
    assert_int_equal(exists(f, 0xEF000013), 0x02);
    snprintf(bad, sizeof(bad), "%s/objects/EF000011.obj.corrupt", f->dir);
    assert_int_equal(access(bad, F_OK), 0);
    const uint8_t *v;
    assert_int_equal(tu_tx(f, "8002000006 4104EF000010"), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 2);
    assert_int_equal(se05x_get_u16(v), 0x1234);
    /* the id can be written again */
    assert_int_equal(tu_tx(f, "80010600 0E 4104EF000011 43020002 44029999"), 0x9000);
    /* corruption while running: treated as absent */
    obj_file(f, 0xEF000010, path, sizeof(path));
    n = read_whole(path, b, sizeof(b));
    b[n - 1] ^= 1;
    write_file(path, b, n);
    assert_int_equal(tu_tx(f, "8002000006 4104EF000010"), 0x6985);
}

static void test_two_channels(void **state)
{
    simfx *f = *state;
    sesim_chan *ch2;
    assert_int_equal(sesim_chan_open(f->s, &ch2), SE05X_OK);
    uint8_t ver[] = {0x80, 0x04, 0x00, 0x20, 0x00};
    assert_int_equal(tu_raw_ch(f, ch2, ver, sizeof(ver)), 0x6D00); /* not selected on ch2 */
    uint8_t sel[22];
    tu_hex("00A4040010 A0000003965453000000010300000000 00", sel, sizeof(sel));
    assert_int_equal(tu_raw_ch(f, ch2, sel, sizeof(sel)), 0x9000);
    assert_int_equal(tu_tx(f, "80010600 0E 4104EF000020 43020002 4402ABCD"), 0x9000);
    uint8_t rd[12];
    tu_hex("8002000006 4104EF000020", rd, sizeof(rd));
    assert_int_equal(tu_raw_ch(f, ch2, rd, 11), 0x9000);
    assert_int_equal(f->rlen, 4);
    /* reset of ch2 leaves ch1 selected */
    sesim_chan_reset(ch2);
    assert_int_equal(tu_raw_ch(f, ch2, ver, sizeof(ver)), 0x6D00);
    assert_int_equal(tu_tx(f, "8004002000"), 0x9000);
    sesim_chan_close(ch2);
}

/* ---- several cards on one directory --------------------------------------- */

typedef struct {
    const char *dir;
    uint32_t base;
    int count;
    int ok;
} writer_arg;

static int write_bin(sesim_chan *ch, uint32_t id, uint32_t val, size_t len)
{
    uint8_t c[700], r[SE05X_APDU_MAX], d[400], pl[600];
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        d[i] = (uint8_t)(val * 31 + i);
    se05x_tlvw w;
    se05x_tlvw_init(&w, pl, sizeof(pl));
    se05x_tlvw_u32(&w, 0x41, id);
    se05x_tlvw_u16(&w, 0x43, (uint16_t)len);
    se05x_tlvw_bytes(&w, 0x44, d, len);
    se05x_apdu a = {0x80, 0x01, 0x06, 0x00, pl, w.len, 0, false};
    if (se05x_apdu_encode(&a, c, sizeof(c), &n) != SE05X_OK)
        return 0;
    size_t l = sesim_chan_process(ch, c, n, r, sizeof(r));
    return l == 2 && r[0] == 0x90 && r[1] == 0x00;
}

static int select_ch(sesim_chan *ch)
{
    uint8_t sel[22], r[64];
    tu_hex("00A4040010 A0000003965453000000010300000000 00", sel, sizeof(sel));
    return sesim_chan_process(ch, sel, sizeof(sel), r, sizeof(r)) == 9;
}

static void *writer(void *p)
{
    writer_arg *a = p;
    sesim *s;
    sesim_chan *ch;
    sesim_opts o = tu_opts();
    if (sesim_open(a->dir, &o, &s) != SE05X_OK)
        return NULL;
    sesim_chan_open(s, &ch);
    select_ch(ch);
    for (int i = 0; i < a->count; i++)
        a->ok += write_bin(ch, a->base + (uint32_t)i, (uint32_t)i, 40);
    sesim_chan_close(ch);
    sesim_close(s);
    return NULL;
}

static void test_two_cards_threads(void **state)
{
    simfx *f = *state;
    pthread_t t[2];
    writer_arg a[2] = {{f->dir, 0x20000000, 25, 0}, {f->dir, 0x30000000, 25, 0}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, &a[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(a[0].ok, 25);
    assert_int_equal(a[1].ok, 25);
    /* the card opened before sees everything (no stale cache) */
    for (int i = 0; i < 25; i++) {
        assert_int_equal(exists(f, 0x20000000u + (uint32_t)i), 0x01);
        assert_int_equal(exists(f, 0x30000000u + (uint32_t)i), 0x01);
    }
    /* and a second card on the same directory sees writes of the first */
    sesim *s2;
    sesim_chan *ch2;
    sesim_opts o = tu_opts();
    assert_int_equal(sesim_open(f->dir, &o, &s2), SE05X_OK);
    assert_int_equal(sesim_chan_open(s2, &ch2), SE05X_OK);
    assert_true(select_ch(ch2));
    assert_int_equal(tu_tx(f, "80010600 0E 4104EF000030 43020002 4402ABCD"), 0x9000);
    uint8_t rd[12];
    tu_hex("8002000006 4104EF000030", rd, sizeof(rd));
    assert_int_equal(tu_raw_ch(f, ch2, rd, 11), 0x9000);
    assert_int_equal(f->rlen, 4);
    sesim_chan_close(ch2);
    sesim_close(s2);
}

static void test_two_processes(void **state)
{
    simfx *f = *state;
    tu_close(f);
    pid_t pid[2];
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            writer_arg a = {f->dir, 0x40000000u + (uint32_t)i * 0x100000u, 20, 0};
            writer(&a);
            _exit(a.ok == 20 ? 0 : 1);
        }
    }
    for (int i = 0; i < 2; i++) {
        int st;
        assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    sesim_opts o = tu_opts();
    tu_open(f, &o);
    tu_select(f);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(exists(f, 0x40000000u + (uint32_t)i), 0x01);
        assert_int_equal(exists(f, 0x40100000u + (uint32_t)i), 0x01);
    }
}

/* ---- crash safety ----------------------------------------------------------- */

#define SLOTS 6
#define SLOT_LEN 300

/* Child: overwrite SLOTS objects round-robin with values start, start+1,
 * ...; report each acknowledged value on the pipe, until killed. */
static void crash_child(const char *dir, int wfd, uint32_t start)
{
    sesim *s;
    sesim_chan *ch;
    sesim_opts o = tu_opts();
    if (sesim_open(dir, &o, &s) != SE05X_OK)
        _exit(2);
    sesim_chan_open(s, &ch);
    select_ch(ch);
    for (uint32_t i = start;; i++) {
        if (!write_bin(ch, 0x50000000u + i % SLOTS, i, SLOT_LEN))
            _exit(3);
        if (write(wfd, &i, sizeof(i)) != sizeof(i))
            _exit(4);
    }
}

static bool slot_holds(const uint8_t *d, uint32_t v)
{
    for (int i = 0; i < SLOT_LEN; i++)
        if (d[i] != (uint8_t)(v * 31 + (uint32_t)i))
            return false;
    return true;
}

static void test_kill_at_any_instant(void **state)
{
    simfx *f = *state;
    tu_close(f);
    srand((unsigned)time(NULL));
    int64_t last[SLOTS]; /* value on disk per slot, -1 = none */
    for (int s = 0; s < SLOTS; s++)
        last[s] = -1;
    int acked_total = 0;
    for (uint32_t round = 0; round < 12; round++) {
        uint32_t start = round * 100000u;
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            crash_child(f->dir, p[1], start);
        }
        close(p[1]);
        struct timespec ts = {0, (long)(5 + rand() % 40) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFSIGNALED(st));
        uint32_t v, inflight = start;
        while (read(p[0], &v, sizeof(v)) == sizeof(v)) {
            last[v % SLOTS] = v;
            inflight = v + 1;
            acked_total++;
        }
        close(p[0]);
        /* every slot holds its last acknowledged value, or the value of the
         * single write in flight when the child died, never anything else */
        sesim_opts o = tu_opts();
        tu_open(f, &o);
        tu_select(f);
        for (uint32_t sl = 0; sl < SLOTS; sl++) {
            char cmd[64];
            const uint8_t *d;
            bool may_fly = inflight % SLOTS == sl;
            snprintf(cmd, sizeof(cmd), "8002000006 4104%08X", 0x50000000u + sl);
            uint16_t sw = tu_tx(f, cmd);
            if (sw == 0x6985) {
                assert_true(last[sl] < 0);
                continue;
            }
            assert_int_equal(sw, 0x9000);
            assert_int_equal(tu_resp_tlv(f, 0x41, &d), SLOT_LEN);
            if (last[sl] >= 0 && slot_holds(d, (uint32_t)last[sl]))
                continue;
            assert_true(may_fly && slot_holds(d, inflight));
            last[sl] = inflight;
        }
        /* no temporary or quarantined file survives a reopen */
        char objdir[700];
        snprintf(objdir, sizeof(objdir), "%s/objects", f->dir);
        DIR *dd = opendir(objdir);
        struct dirent *e;
        while ((e = readdir(dd)) != NULL)
            assert_true(strncmp(e->d_name, ".tmp.", 5) != 0 && !strstr(e->d_name, ".corrupt"));
        closedir(dd);
        tu_close(f);
    }
    if (getenv("SESIM_TEST_VERBOSE"))
        fprintf(stderr, "acknowledged writes: %d\n", acked_total);
    assert_true(acked_total > 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_persist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmp_and_corrupt_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_channels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_cards_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_at_any_instant, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
