/* Unit tests of the simulator's object/EVP_PKEY cache (sim/src/objcache.c)
 * and its use by the store: a key cached by one card handle is never used
 * after another handle or another process replaced or deleted the object
 * (both inside the "racy" window right after a write, where the file is
 * re-read, and later, when the cache is trusted on stat() alone), an
 * in-place overwrite of the file is noticed, writes through the same handle
 * drop the entry, the cache stays bounded, and the cache rules themselves
 * (identity, racy window, confirm, eviction) on synthetic entries. */
#include "test_sim_util.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sys/wait.h>
#include <time.h>

#include "sim_internal.h"

#define KID 0xEF000100u

typedef struct {
    simfx a, b; /* two card handles on the same directory */
} fx2;

static int setup(void **state)
{
    fx2 *f = calloc(1, sizeof(*f));
    tu_setup_dir(&f->a);
    memcpy(f->b.dir, f->a.dir, sizeof(f->b.dir));
    sesim_opts o = tu_opts();
    tu_open(&f->a, &o);
    tu_select(&f->a);
    tu_open(&f->b, &o);
    tu_select(&f->b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx2 *f = *state;
    if (f->b.s)
        tu_close(&f->b);
    if (f->a.s)
        tu_close(&f->a);
    tu_rm_rf(f->a.dir);
    free(f);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
}

/* Past the racy window (50 ms) so that entries are trusted on stat(). */
static void let_settle(void) { sleep_ms(120); }

static uint16_t gen_key(simfx *f, uint32_t id)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "80016100 09 4104%08X 420103", id);
    return tu_tx(f, cmd);
}

static void read_pub(simfx *f, uint32_t id, uint8_t pub[65])
{
    char cmd[64];
    const uint8_t *v;
    snprintf(cmd, sizeof(cmd), "80020000 06 4104%08X", id);
    assert_int_equal(tu_tx(f, cmd), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 65);
    memcpy(pub, v, 65);
}

static const uint8_t DIGEST[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* ECDSASign SHA-256 with key id; returns the SW, signature into sig. */
static uint16_t sign(simfx *f, uint32_t id, uint8_t *sig, size_t *siglen)
{
    uint8_t d[64];
    size_t n = 0;
    d[n++] = 0x41;
    d[n++] = 4;
    se05x_put_u32(d + n, id);
    n += 4;
    d[n++] = 0x42;
    d[n++] = 1;
    d[n++] = 0x21;
    d[n++] = 0x43;
    d[n++] = 32;
    memcpy(d + n, DIGEST, 32);
    n += 32;
    uint16_t sw = tu_cmd(f, 0x03, 0x0C, 0x09, d, n);
    if (sw == 0x9000) {
        const uint8_t *v;
        int l = tu_resp_tlv(f, 0x41, &v);
        assert_true(l > 8 && (size_t)l <= *siglen);
        memcpy(sig, v, (size_t)l);
        *siglen = (size_t)l;
    }
    return sw;
}

static bool verifies(const uint8_t pub[65], const uint8_t *sig, size_t siglen)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    assert_non_null(bld);
    assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0), 1);
    assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65), 1);
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(fc), 1);
    assert_int_equal(EVP_PKEY_fromdata(fc, &k, EVP_PKEY_PUBLIC_KEY, p), 1);
    EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    assert_int_equal(EVP_PKEY_verify_init(vc), 1);
    int ok = EVP_PKEY_verify(vc, sig, siglen, DIGEST, sizeof(DIGEST));
    EVP_PKEY_CTX_free(vc);
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(fc);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(bld);
    return ok == 1;
}

/* Sign with handle f and expect a signature under pub (and not under not). */
static void sign_expect(simfx *f, uint32_t id, const uint8_t pub[65], const uint8_t *not)
{
    uint8_t sig[80];
    size_t sl = sizeof(sig);
    assert_int_equal(sign(f, id, sig, &sl), 0x9000);
    assert_true(verifies(pub, sig, sl));
    if (not)
        assert_false(verifies(not, sig, sl));
}

static sesim_objcache_stats stats(simfx *f)
{
    sesim_objcache_stats s;
    sesim_store_cache_stats(f->s, &s);
    return s;
}

/* Let f's entry for id leave the racy window: wait, sign once (the file is
 * re-read and confirmed), then check that the next sign is trusted on
 * stat() alone and reuses the cached EVP_PKEY. */
static void settle(simfx *f, uint32_t id, const uint8_t pub[65])
{
    let_settle();
    sign_expect(f, id, pub, NULL);
    sesim_objcache_stats s0 = stats(f);
    sign_expect(f, id, pub, NULL);
    sesim_objcache_stats s1 = stats(f);
    assert_true(s1.hits > s0.hits);
    assert_true(s1.pkey_hits > s0.pkey_hits);
}

/* ---- across card handles ---------------------------------------------- */

static void test_replace_by_other_handle_racy(void **state)
{
    fx2 *f = *state;
    uint8_t p1[65], p2[65];
    assert_int_equal(gen_key(&f->a, KID), 0x9000);
    read_pub(&f->a, KID, p1);
    sign_expect(&f->a, KID, p1, NULL);
    sign_expect(&f->a, KID, p1, NULL);
    assert_true(stats(&f->a).pkey_hits >= 1); /* the key was cached */
    /* B regenerates the key at once: A's entry is racy and re-read */
    assert_int_equal(tu_tx(&f->b, "80016100 06 4104EF000100"), 0x9000);
    read_pub(&f->b, KID, p2);
    assert_memory_not_equal(p1, p2, 65);
    sign_expect(&f->a, KID, p2, p1);
    sign_expect(&f->a, KID, p2, p1);
}

static void test_replace_by_other_handle_trusted(void **state)
{
    fx2 *f = *state;
    uint8_t p1[65], p2[65];
    assert_int_equal(gen_key(&f->a, KID), 0x9000);
    read_pub(&f->a, KID, p1);
    sign_expect(&f->a, KID, p1, NULL);
    settle(&f->a, KID, p1);
    sesim_objcache_stats s1 = stats(&f->a);
    assert_int_equal(tu_tx(&f->b, "80016100 06 4104EF000100"), 0x9000);
    read_pub(&f->b, KID, p2);
    sign_expect(&f->a, KID, p2, p1);
    assert_true(stats(&f->a).stale > s1.stale);
    /* and the other way round: B's fresh entry, A replaces after settling */
    sign_expect(&f->b, KID, p2, NULL);
    settle(&f->b, KID, p2);
    assert_int_equal(tu_tx(&f->a, "80016100 06 4104EF000100"), 0x9000);
    read_pub(&f->a, KID, p1);
    sign_expect(&f->b, KID, p1, p2);
}

static void test_replace_by_other_process(void **state)
{
    fx2 *f = *state;
    uint8_t p1[65], p2[65];
    assert_int_equal(gen_key(&f->a, KID), 0x9000);
    read_pub(&f->a, KID, p1);
    sign_expect(&f->a, KID, p1, NULL);
    settle(&f->a, KID, p1); /* trusted entry in this process */
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* another process: its own card handle, replaces the key */
        close(pfd[0]);
        sesim_opts o = tu_opts();
        sesim *s;
        sesim_chan *ch;
        uint8_t sel[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00, 0x03, 0x96, 0x54, 0x53,
                         0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00};
        uint8_t gen[] = {0x80, 0x01, 0x61, 0x00, 0x06, 0x41, 0x04, 0xEF, 0x00, 0x01, 0x00};
        uint8_t rd[] = {0x80, 0x02, 0x00, 0x00, 0x06, 0x41, 0x04, 0xEF, 0x00, 0x01, 0x00};
        uint8_t r[512];
        if (sesim_open(f->a.dir, &o, &s) != SE05X_OK || sesim_chan_open(s, &ch) != SE05X_OK)
            _exit(2);
        size_t n = sesim_chan_process(ch, sel, sizeof(sel), r, sizeof(r));
        if (n < 2 || r[n - 2] != 0x90)
            _exit(3);
        n = sesim_chan_process(ch, gen, sizeof(gen), r, sizeof(r));
        if (n != 2 || r[0] != 0x90)
            _exit(4);
        n = sesim_chan_process(ch, rd, sizeof(rd), r, sizeof(r));
        if (n != 2 + 2 + 65 || r[0] != 0x41 || r[1] != 65)
            _exit(5);
        if (write(pfd[1], r + 2, 65) != 65)
            _exit(6);
        sesim_chan_close(ch);
        sesim_close(s);
        _exit(0);
    }
    close(pfd[1]);
    int wst;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    assert_true(WIFEXITED(wst));
    assert_int_equal(WEXITSTATUS(wst), 0);
    assert_int_equal(read(pfd[0], p2, 65), 65);
    close(pfd[0]);
    assert_memory_not_equal(p1, p2, 65);
    sign_expect(&f->a, KID, p2, p1);
}

static void test_delete_by_other_handle(void **state)
{
    fx2 *f = *state;
    uint8_t p1[65], p2[65], sig[80];
    size_t sl = sizeof(sig);
    assert_int_equal(gen_key(&f->a, KID), 0x9000);
    read_pub(&f->a, KID, p1);
    sign_expect(&f->a, KID, p1, NULL);
    settle(&f->a, KID, p1);
    /* DeleteSecureObject through B */
    assert_int_equal(tu_tx(&f->b, "80040028 06 4104EF000100"), 0x9000);
    assert_int_equal(sign(&f->a, KID, sig, &sl), 0x6985);
    assert_int_equal(tu_tx(&f->a, "80040027 06 4104EF000100"), 0x9000);
    const uint8_t *v;
    assert_int_equal(tu_resp_tlv(&f->a, 0x41, &v), 1);
    assert_int_equal(v[0], 0x02); /* does not exist */
    /* re-created through B: A signs with the new key */
    assert_int_equal(gen_key(&f->b, KID), 0x9000);
    read_pub(&f->b, KID, p2);
    sign_expect(&f->a, KID, p2, p1);
    /* deleted through A itself, racy or not */
    assert_int_equal(tu_tx(&f->a, "80040028 06 4104EF000100"), 0x9000);
    sl = sizeof(sig);
    assert_int_equal(sign(&f->a, KID, sig, &sl), 0x6985);
    sl = sizeof(sig);
    assert_int_equal(sign(&f->b, KID, sig, &sl), 0x6985);
}

static void test_inplace_overwrite(void **state)
{
    fx2 *f = *state;
    uint8_t p1[65], p2[65], img[2048];
    char path[700];
    snprintf(path, sizeof(path), "%s/objects/%08X.obj", f->a.dir, KID);
    assert_int_equal(gen_key(&f->a, KID), 0x9000);
    read_pub(&f->a, KID, p1);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(img, 1, sizeof(img), fp);
    fclose(fp);
    assert_true(n > 40);
    assert_int_equal(tu_tx(&f->a, "80016100 06 4104EF000100"), 0x9000);
    read_pub(&f->a, KID, p2);
    sign_expect(&f->a, KID, p2, p1);
    settle(&f->a, KID, p2); /* trusted entry */
    /* the old image written over the file in place (same inode, same size) */
    fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fwrite(img, 1, n, fp), n);
    fclose(fp);
    sign_expect(&f->a, KID, p1, p2);
}

static void test_write_same_handle(void **state)
{
    fx2 *f = *state;
    uint8_t p1[65], p2[65];
    assert_int_equal(gen_key(&f->a, KID), 0x9000);
    read_pub(&f->a, KID, p1);
    sign_expect(&f->a, KID, p1, NULL);
    settle(&f->a, KID, p1);
    sesim_objcache_stats s0 = stats(&f->a);
    assert_int_equal(tu_tx(&f->a, "80016100 06 4104EF000100"), 0x9000);
    assert_true(stats(&f->a).drops > s0.drops);
    read_pub(&f->a, KID, p2);
    sign_expect(&f->a, KID, p2, p1);
}

static void test_transient_key(void **state)
{
    fx2 *f = *state;
    uint8_t p1[65], p2[65];
    /* transient EC key pair (INS 0x01 | 0x80 transient) */
    assert_int_equal(tu_tx(&f->a, "80816100 09 4104EF000101 420103"), 0x9000);
    read_pub(&f->a, 0xEF000101, p1);
    sign_expect(&f->a, 0xEF000101, p1, NULL);
    assert_int_equal(tu_tx(&f->a, "80816100 06 4104EF000101"), 0x9000);
    read_pub(&f->a, 0xEF000101, p2);
    assert_memory_not_equal(p1, p2, 65);
    sign_expect(&f->a, 0xEF000101, p2, p1);
}

static void test_bounded(void **state)
{
    fx2 *f = *state;
    enum { N = 40 };
    static uint8_t pubs[N][65];
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(gen_key(&f->a, KID + i), 0x9000);
        read_pub(&f->a, KID + i, pubs[i]);
    }
    for (int round = 0; round < 2; round++)
        for (uint32_t i = 0; i < N; i++)
            sign_expect(&f->a, KID + i, pubs[i], i ? pubs[i - 1] : NULL);
    assert_true(stats(&f->a).evictions > 0);
}

/* ---- the cache rules on synthetic entries ------------------------------ */

static sesim_obj mkobj(uint32_t id, uint8_t v)
{
    sesim_obj o;
    sesim_obj_init(&o);
    o.id = id;
    o.type = SESIM_T_BINARY;
    assert_int_equal(sesim_obj_set_comp(&o, SESIM_C_VALUE, &v, 1), SE05X_OK);
    return o;
}

static void test_rules(void **state)
{
    (void)state;
    sesim_objcache *c = sesim_objcache_new();
    assert_non_null(c);
    sesim_file_id fid = {1, 100, 10, 5000000000LL, 5000000000LL};
    const uint8_t raw1[10] = "abcdefghi", raw2[10] = "abcdefghX";
    sesim_obj o = mkobj(7, 0x11);
    /* read 10 ms after the change: racy */
    const sesim_obj *e = sesim_objcache_put(c, &fid, fid.ctime_ns + 10000000LL, raw1, 10, &o);
    assert_non_null(e);
    assert_null(o.comp[SESIM_C_VALUE].v); /* taken over */
    assert_null(sesim_objcache_lookup(c, 7, &fid));
    /* confirmed with the same image one second later: trusted from then on */
    e = sesim_objcache_confirm(c, 7, &fid, fid.ctime_ns + 1000000000LL, raw1, 10);
    assert_non_null(e);
    assert_int_equal(e->comp[SESIM_C_VALUE].v[0], 0x11);
    assert_ptr_equal(sesim_objcache_lookup(c, 7, &fid), e);
    /* any field of the identity differs: dropped */
    sesim_file_id f2 = fid;
    f2.ctime_ns++;
    assert_null(sesim_objcache_lookup(c, 7, &f2));
    assert_null(sesim_objcache_lookup(c, 7, &fid));
    /* a racy entry whose file now holds other bytes: dropped on confirm */
    o = mkobj(8, 0x22);
    assert_non_null(sesim_objcache_put(c, &fid, fid.ctime_ns, raw1, 10, &o));
    assert_null(sesim_objcache_confirm(c, 8, &fid, fid.ctime_ns + 1000000000LL, raw2, 10));
    assert_null(sesim_objcache_confirm(c, 8, &fid, fid.ctime_ns + 1000000000LL, raw1, 10));
    /* too big images are not cached and stay with the caller */
    static uint8_t big[64 * 1024];
    o = mkobj(9, 0x33);
    assert_null(sesim_objcache_put(c, &fid, fid.ctime_ns, big, sizeof(big), &o));
    assert_non_null(o.comp[SESIM_C_VALUE].v);
    sesim_obj_free(&o);
    /* bounded: the least recently used entry goes */
    for (uint32_t id = 100; id < 200; id++) {
        o = mkobj(id, (uint8_t)id);
        assert_non_null(sesim_objcache_put(c, &fid, fid.ctime_ns + 1000000000LL, raw1, 10, &o));
    }
    assert_null(sesim_objcache_lookup(c, 100, &fid));
    e = sesim_objcache_lookup(c, 199, &fid);
    assert_non_null(e);
    assert_int_equal(e->comp[SESIM_C_VALUE].v[0], 199);
    sesim_objcache_stats s;
    sesim_objcache_get_stats(c, &s);
    assert_true(s.evictions >= 100 - 32);
    /* drop */
    sesim_objcache_drop(c, 199);
    assert_null(sesim_objcache_lookup(c, 199, &fid));
    sesim_objcache_free(c);
}

/* An EVP_PKEY is shared only with an object of identical key material. */
static void test_pkey_match(void **state)
{
    fx2 *f = *state;
    assert_int_equal(gen_key(&f->a, KID), 0x9000);
    sesim_obj o;
    pthread_mutex_lock(&f->a.s->mu);
    assert_int_equal(sesim_store_load(f->a.s, KID, &o), SE05X_OK);
    EVP_PKEY *k1 = sesim_store_pkey(f->a.s, &o);
    EVP_PKEY *k2 = sesim_store_pkey(f->a.s, &o);
    assert_non_null(k1);
    assert_ptr_equal(k1, k2); /* cached */
    o.comp[SESIM_C_PRIV].v[5] ^= 1; /* a modified copy gets its own key */
    EVP_PKEY *k3 = sesim_store_pkey(f->a.s, &o);
    assert_non_null(k3);
    assert_ptr_not_equal(k1, k3);
    pthread_mutex_unlock(&f->a.s->mu);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
    sesim_obj_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replace_by_other_handle_racy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_by_other_handle_trusted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_by_other_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_by_other_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inplace_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_same_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transient_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pkey_match, setup, teardown),
        cmocka_unit_test(test_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
