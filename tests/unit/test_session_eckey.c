/* ECKey applet sessions (spec §2.8, docs/secure-channels.md "ECKey
 * sessions"), host library against the in-process simulator (sim:DIR):
 * the factory's EdgeLock 2GO auth object 0xF0000020 with the private half
 * from DIR/el2go-auth-key.pem, commands inside the session (UID, a binary
 * object only the auth id may read), wrong / unsuitable host keys, tampered
 * and malformed INTERNAL AUTHENTICATE data sent raw, CloseSession, two
 * sessions at once, an auth object written by the host (WriteECKey INS 0x41
 * P1 0x21) with attempt limits, re-open after fork(), the card end alone
 * in the applet 3.x profile, and the shared
 * derivation primitives against independent computations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "conn_internal.h"
#include "se05x/apdu.h"
#include "se05x/commands.h"
#include "se05x/conn.h"
#include "se05x/policy.h"
#include "se05x/scp03.h"
#include "se05x/tlv.h"
#include "sesim/sesim.h"
#include "testutil.h"

#define EL2GO_AUTH 0xF0000020u
#define HOST_AUTH 0x7DA00003u
#define SECRET_ID 0x10000042u
#define KP_ECKEY_USER 0x7FFF0201u

typedef struct {
    char *dir;
    se05x_conn *c;
    EVP_PKEY *el2go; /* private half of 0xF0000020 */
} fix;

static se05x_conn *conn_open(const char *dir)
{
    char cs[1200], err[512] = "";
    se05x_conn *c = NULL;
    snprintf(cs, sizeof(cs), "sim:%s", dir);
    se05x_status st = se05x_conn_open_err(cs, NULL, &c, err, sizeof(err));
    if (st != SE05X_OK)
        fail_msg("open %s: %s", cs, err);
    return c;
}

static EVP_PKEY *read_pem(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s", path);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

static int setup(void **state)
{
    fix *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = tu_tempdir("eckey");
    assert_non_null(f->dir);
    f->c = conn_open(f->dir); /* first open provisions the card */
    f->el2go = read_pem(f->dir, "el2go-auth-key.pem");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    se05x_conn_close(f->c);
    EVP_PKEY_free(f->el2go);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void point_of(EVP_PKEY *k, uint8_t pt[65])
{
    size_t n = 0;
    assert_true(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, 65, &n));
    assert_int_equal(n, 65);
}

/* A binary object that only auth id `reader` may read; user 0 may write
 * and delete it. */
static void write_secret(se05x_conn *c, uint32_t id, uint32_t reader, const uint8_t *data,
                         size_t len)
{
    se05x_policy p;
    se05x_policy_init(&p);
    assert_int_equal(se05x_policy_add(&p, reader, SE05X_AR_READ | SE05X_AR_WRITE), SE05X_OK);
    assert_int_equal(se05x_policy_add(&p, 0, SE05X_AR_WRITE | SE05X_AR_DELETE), SE05X_OK);
    se05x_obj_opts o = {.policy = &p};
    se05x_status st = se05x_write_binary(c, &o, id, data, len, false);
    if (st != SE05X_OK)
        fail_msg("write binary: %s", se05x_conn_errmsg(c));
}

/* ---- sessions through the host library ------------------------------- */

static void test_factory_auth_object(void **state)
{
    fix *f = *state;
    uint8_t uid_plain[SE05X_UID_LEN], uid[SE05X_UID_LEN];
    assert_int_equal(se05x_read_uid(f->c, uid_plain), SE05X_OK);
    se05x_counters ctr;
    se05x_conn_counters_reset(f->c);
    se05x_status st = se05x_session_open_eckey(f->c, EL2GO_AUTH, f->el2go);
    if (st != SE05X_OK)
        fail_msg("ECKey open: %s (%s)", se05x_strerror(st), se05x_conn_errmsg(f->c));
    se05x_conn_counters(f->c, &ctr);
    /* ReadObject(KP_ECKEY_USER), CreateSession, INTERNAL AUTHENTICATE */
    assert_int_equal(ctr.apdus, 3);
    assert_true(se05x_session_active(f->c));
    assert_int_equal(f->c->session.kind, SE05X_SESSION_ECKEY);
    assert_non_null(f->c->session.scp);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(se05x_read_uid(f->c, uid), SE05X_OK);
        assert_memory_equal(uid, uid_plain, sizeof(uid));
    }
    /* a failing command inside the session keeps both ends in step */
    uint8_t buf[16];
    size_t n = sizeof(buf);
    assert_int_equal(se05x_read_object(f->c, 0x6E6F6E65u, 0, 0, buf, &n), SE05X_ERR_SW);
    assert_int_equal(se05x_read_uid(f->c, uid), SE05X_OK);
    /* a second open on the same connection is refused */
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, f->el2go), SE05X_ERR_STATE);
    assert_true(se05x_session_active(f->c));
    assert_int_equal(se05x_session_close(f->c), SE05X_OK);
    assert_false(se05x_session_active(f->c));
    assert_int_equal(se05x_read_uid(f->c, uid), SE05X_OK);
    /* and again */
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, f->el2go), SE05X_OK);
    assert_int_equal(se05x_read_uid(f->c, uid), SE05X_OK);
    assert_int_equal(se05x_session_close(f->c), SE05X_OK);
}

static void test_policy_only_auth_id_reads(void **state)
{
    fix *f = *state;
    static const uint8_t secret[] = "only the EdgeLock 2GO auth object may read this";
    uint8_t buf[128];
    size_t n = sizeof(buf);
    write_secret(f->c, SECRET_ID, EL2GO_AUTH, secret, sizeof(secret));
    assert_int_equal(se05x_read_object(f->c, SECRET_ID, 0, sizeof(secret), buf, &n), SE05X_ERR_SW);
    assert_int_equal(se05x_conn_last_sw(f->c), 0x6986);
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, f->el2go), SE05X_OK);
    n = sizeof(buf);
    assert_int_equal(se05x_read_object(f->c, SECRET_ID, 0, sizeof(secret), buf, &n), SE05X_OK);
    assert_int_equal(n, sizeof(secret));
    assert_memory_equal(buf, secret, sizeof(secret));
    assert_int_equal(se05x_session_close(f->c), SE05X_OK);
    n = sizeof(buf);
    assert_int_equal(se05x_read_object(f->c, SECRET_ID, 0, sizeof(secret), buf, &n), SE05X_ERR_SW);
    assert_int_equal(se05x_conn_last_sw(f->c), 0x6986);
    assert_int_equal(se05x_delete_object(f->c, SECRET_ID), SE05X_OK);
}

static void test_wrong_and_unsuitable_keys(void **state)
{
    fix *f = *state;
    uint8_t uid[SE05X_UID_LEN];
    /* another P-256 key: the SE refuses the signature */
    EVP_PKEY *other = EVP_EC_gen("P-256");
    assert_non_null(other);
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, other), SE05X_ERR_SCP);
    assert_int_equal(se05x_conn_last_sw(f->c), 0x6982);
    assert_non_null(strstr(se05x_conn_errmsg(f->c), "INTERNAL AUTHENTICATE"));
    assert_non_null(strstr(se05x_conn_errmsg(f->c), "0xF0000020"));
    assert_false(se05x_session_active(f->c));
    assert_int_equal(se05x_read_uid(f->c, uid), SE05X_OK); /* plain again */
    /* a P-384 key and an RSA key are refused before anything is sent */
    EVP_PKEY *p384 = EVP_EC_gen("P-384");
    EVP_PKEY *rsa = EVP_RSA_gen(1024);
    assert_non_null(p384);
    assert_non_null(rsa);
    se05x_conn_counters_reset(f->c);
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, p384), SE05X_ERR_ARG);
    assert_non_null(strstr(se05x_conn_errmsg(f->c), "P-256"));
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, rsa), SE05X_ERR_ARG);
    se05x_counters ctr;
    se05x_conn_counters(f->c, &ctr);
    assert_int_equal(ctr.apdus, 0);
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, NULL), SE05X_ERR_ARG);
    assert_int_equal(se05x_session_open_eckey(NULL, EL2GO_AUTH, f->el2go), SE05X_ERR_ARG);
    /* a public-only key cannot sign: no session */
    uint8_t pt[65];
    point_of(f->el2go, pt);
    EVP_PKEY *pub = se05x_eckey_point_pkey(pt);
    assert_non_null(pub);
    assert_int_not_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, pub), SE05X_OK);
    assert_false(se05x_session_active(f->c));
    /* not an auth object / not an ECKey auth object */
    assert_int_equal(se05x_session_open_eckey(f->c, 0xF0000000u, f->el2go), SE05X_ERR_SW);
    assert_false(se05x_session_active(f->c));
    assert_int_equal(se05x_session_open_eckey(f->c, 0x7FFF0205u, f->el2go), SE05X_ERR_SCP);
    assert_false(se05x_session_active(f->c));
    /* after all that the right key still works (factory object: no limit) */
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, f->el2go), SE05X_OK);
    assert_int_equal(se05x_read_uid(f->c, uid), SE05X_OK);
    assert_int_equal(se05x_session_close(f->c), SE05X_OK);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(other);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(rsa);
}

static void test_two_sessions(void **state)
{
    fix *f = *state;
    se05x_conn *c2 = conn_open(f->dir);
    uint8_t u1[SE05X_UID_LEN], u2[SE05X_UID_LEN];
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, f->el2go), SE05X_OK);
    assert_int_equal(se05x_session_open_eckey(c2, EL2GO_AUTH, f->el2go), SE05X_OK);
    assert_memory_not_equal(f->c->session.id, c2->session.id, 8);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(se05x_read_uid(f->c, u1), SE05X_OK);
        assert_int_equal(se05x_read_uid(c2, u2), SE05X_OK);
        assert_memory_equal(u1, u2, sizeof(u1));
    }
    assert_int_equal(se05x_session_close(f->c), SE05X_OK);
    assert_int_equal(se05x_read_uid(c2, u2), SE05X_OK);
    assert_true(se05x_session_active(c2));
    assert_int_equal(se05x_session_close(c2), SE05X_OK);
    se05x_conn_close(c2);
}

static void test_closed_session_id_is_dead(void **state)
{
    fix *f = *state;
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, f->el2go), SE05X_OK);
    uint8_t id[8];
    memcpy(id, f->c->session.id, 8);
    assert_int_equal(se05x_session_close(f->c), SE05X_OK);
    /* the old id no longer names a session on the card */
    static const uint8_t getver[] = {0x80, 0x04, 0x00, 0x20};
    uint8_t w[64], r[64];
    size_t wl = 0, rl = 0;
    assert_int_equal(se05x_sesswrap_build(id, getver, sizeof(getver), w, sizeof(w), &wl), SE05X_OK);
    assert_int_equal(se05x_conn_raw(f->c, w, wl, r, sizeof(r), &rl), SE05X_OK);
    assert_int_equal(rl, 2);
    assert_int_equal(se05x_get_u16(r), 0x6982);
}

static void test_host_written_auth_object(void **state)
{
    fix *f = *state;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    EVP_PKEY *wrong = EVP_EC_gen("P-256");
    assert_non_null(k);
    assert_non_null(wrong);
    uint8_t pt[65];
    point_of(k, pt);
    se05x_obj_opts o = {.auth = true, .max_attempts = 2};
    se05x_ec_key ek = {.id = HOST_AUTH, .curve = 0x03, .keypart = SE05X_KEY_PUBLIC,
                       .pub = pt, .pub_len = sizeof(pt)};
    se05x_status st = se05x_write_ec_key(f->c, &o, &ek);
    if (st != SE05X_OK)
        fail_msg("WriteECKey auth object: %s", se05x_conn_errmsg(f->c));
    static const uint8_t secret[] = "for the host's auth object";
    write_secret(f->c, SECRET_ID + 1, HOST_AUTH, secret, sizeof(secret));
    uint8_t buf[64];
    size_t n = sizeof(buf);
    assert_int_equal(se05x_session_open_eckey(f->c, HOST_AUTH, k), SE05X_OK);
    assert_int_equal(se05x_read_object(f->c, SECRET_ID + 1, 0, sizeof(secret), buf, &n), SE05X_OK);
    assert_memory_equal(buf, secret, sizeof(secret));
    assert_int_equal(se05x_session_close(f->c), SE05X_OK);
    /* the factory key is not this object's key */
    assert_int_equal(se05x_session_open_eckey(f->c, HOST_AUTH, f->el2go), SE05X_ERR_SCP);
    /* one failure, then success resets the count */
    assert_int_equal(se05x_session_open_eckey(f->c, HOST_AUTH, k), SE05X_OK);
    assert_int_equal(se05x_session_close(f->c), SE05X_OK);
    /* two failures block the object, even for the right key */
    assert_int_equal(se05x_session_open_eckey(f->c, HOST_AUTH, wrong), SE05X_ERR_SCP);
    assert_int_equal(se05x_session_open_eckey(f->c, HOST_AUTH, wrong), SE05X_ERR_SCP);
    assert_int_equal(se05x_session_open_eckey(f->c, HOST_AUTH, k), SE05X_ERR_SCP);
    assert_int_equal(se05x_conn_last_sw(f->c), 0x6985);
    assert_false(se05x_session_active(f->c));
    /* the EdgeLock 2GO object is unaffected */
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, f->el2go), SE05X_OK);
    assert_int_equal(se05x_session_close(f->c), SE05X_OK);
    EVP_PKEY_free(k);
    EVP_PKEY_free(wrong);
}

static void test_reopen_after_fork(void **state)
{
    fix *f = *state;
    uint8_t uid[SE05X_UID_LEN];
    assert_int_equal(se05x_session_open_eckey(f->c, EL2GO_AUTH, f->el2go), SE05X_OK);
    assert_int_equal(f->c->session.eckey_len, 32 + 65);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child re-opens link and ECKey session on first use */
        int ok = se05x_read_uid(f->c, uid) == SE05X_OK && se05x_session_active(f->c) &&
                 f->c->session.kind == SE05X_SESSION_ECKEY &&
                 se05x_read_uid(f->c, uid) == SE05X_OK;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(se05x_read_uid(f->c, uid), SE05X_OK);
    assert_int_equal(se05x_session_close(f->c), SE05X_OK);
}

/* ---- INTERNAL AUTHENTICATE sent raw ----------------------------------- */

static void raw(se05x_conn *c, const uint8_t *cmd, size_t len, uint8_t *r, size_t cap,
                size_t *rl)
{
    assert_int_equal(se05x_conn_raw(c, cmd, len, r, cap, rl), SE05X_OK);
    assert_true(*rl >= 2);
}

static void raw_create(se05x_conn *c, uint32_t auth, uint8_t id[8])
{
    uint8_t cmd[] = {0x80, 0x04, 0x00, 0x1B, 0x06, 0x41, 0x04, 0, 0, 0, 0};
    uint8_t r[64];
    size_t rl = 0;
    se05x_put_u32(cmd + 7, auth);
    raw(c, cmd, sizeof(cmd), r, sizeof(r), &rl);
    assert_int_equal(rl, 12);
    assert_int_equal(se05x_get_u16(r + 10), 0x9000);
    memcpy(id, r + 2, 8);
}

/* Send data as INTERNAL AUTHENTICATE in session id; returns the SW. */
static uint16_t raw_auth(se05x_conn *c, const uint8_t id[8], const uint8_t *data, size_t len,
                         uint8_t *r, size_t *rl)
{
    uint8_t inner[SE05X_APDU_MAX], w[SE05X_APDU_MAX];
    size_t il = 0, wl = 0;
    se05x_apdu a = {.cla = 0x84, .ins = 0x88, .data = data, .lc = len};
    assert_int_equal(se05x_apdu_encode(&a, inner, sizeof(inner), &il), SE05X_OK);
    assert_int_equal(se05x_sesswrap_build(id, inner, il, w, sizeof(w), &wl), SE05X_OK);
    raw(c, w, wl, r, SE05X_APDU_MAX, rl);
    return se05x_get_u16(r + *rl - 2);
}

/* A6 || 7F49 for eph, signed by key; *blen = length of the signed part. */
static size_t auth_data(EVP_PKEY *key, EVP_PKEY *eph, uint8_t *out, size_t cap, size_t *blen)
{
    uint8_t pt[65], sig[80];
    size_t len = 0, siglen = sizeof(sig);
    point_of(eph, pt);
    assert_int_equal(se05x_eckey_auth_body(pt, out, cap, &len), SE05X_OK);
    *blen = len;
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    assert_true(EVP_DigestSignInit_ex(mc, NULL, "SHA256", NULL, NULL, key, NULL) > 0);
    assert_true(EVP_DigestSign(mc, sig, &siglen, out, len) > 0);
    EVP_MD_CTX_free(mc);
    assert_int_equal(se05x_eckey_auth_add_sig(out, cap, &len, sig, siglen), SE05X_OK);
    return len;
}

static void test_raw_tampered_and_malformed(void **state)
{
    fix *f = *state;
    uint8_t id[8], d[256], t[256], r[SE05X_APDU_MAX];
    size_t blen = 0, rl = 0;
    EVP_PKEY *eph = EVP_EC_gen("P-256");
    EVP_PKEY *other = EVP_EC_gen("P-256");
    raw_create(f->c, EL2GO_AUTH, id);
    size_t len = auth_data(f->el2go, eph, d, sizeof(d), &blen);
    /* layout: A6 1D ... 7F 49 46 B0 41 <point> F0 01 03 5F 37 L <sig> */
    assert_int_equal(d[0], 0xA6);
    assert_int_equal(d[1], 29);
    assert_int_equal(d[31], 0x7F);
    assert_int_equal(d[32], 0x49);
    assert_int_equal(blen, 31 + 3 + 70);
    assert_int_equal(d[blen], 0x5F);
    assert_int_equal(d[blen + 1], 0x37);

    /* commands before authentication are refused */
    static const uint8_t getver[] = {0x80, 0x04, 0x00, 0x20};
    uint8_t w[64];
    size_t wl = 0;
    assert_int_equal(se05x_sesswrap_build(id, getver, sizeof(getver), w, sizeof(w), &wl), SE05X_OK);
    raw(f->c, w, wl, r, sizeof(r), &rl);
    assert_int_equal(se05x_get_u16(r + rl - 2), 0x6982);

    /* tampered signature (last byte of s) */
    memcpy(t, d, len);
    t[len - 1] ^= 0x01;
    assert_int_equal(raw_auth(f->c, id, t, len, r, &rl), 0x6982);
    /* tampered signed data (a byte of the point's X coordinate) keeps the
     * signature but no longer matches it, or leaves the curve */
    memcpy(t, d, len);
    t[36 + 10] ^= 0x01;
    uint16_t sw = raw_auth(f->c, id, t, len, r, &rl);
    assert_true(sw == 0x6982 || sw == 0x6A80);
    /* signed by another key */
    size_t olen = auth_data(other, eph, t, sizeof(t), &blen);
    assert_int_equal(raw_auth(f->c, id, t, olen, r, &rl), 0x6982);
    /* wrong AID in A6, wrong curve in 7F49, truncated, trailing byte */
    memcpy(t, d, len);
    t[4] ^= 0xFF;
    assert_int_equal(raw_auth(f->c, id, t, len, r, &rl), 0x6A80);
    memcpy(t, d, len);
    t[blen - 1] = 0x04;
    assert_int_equal(raw_auth(f->c, id, t, len, r, &rl), 0x6A80);
    assert_int_equal(raw_auth(f->c, id, d, len - 1, r, &rl), 0x6A80);
    assert_int_equal(raw_auth(f->c, id, d, blen, r, &rl), 0x6A80);
    memcpy(t, d, len);
    t[len] = 0x00;
    assert_int_equal(raw_auth(f->c, id, t, len + 1, r, &rl), 0x6A80);
    /* a point that is not on the curve */
    memcpy(t, d, len);
    memset(t + 36, 0x11, 64);
    assert_int_equal(raw_auth(f->c, id, t, len, r, &rl), 0x6A80);

    /* the genuine one still works after all of these */
    assert_int_equal(raw_auth(f->c, id, d, len, r, &rl), 0x9000);
    assert_int_equal(rl, 2 + 18 + 18);
    assert_int_equal(r[0], 0x85);
    assert_int_equal(r[1], 16);
    assert_int_equal(r[18], 0x86);
    assert_int_equal(r[19], 16);
    /* the receipt is CMAC(master, A6 || 7F49) with master from ECDH of
     * the ephemeral key with KP_ECKEY_USER */
    uint8_t se_pub[65], z[32], master[16], receipt[16];
    size_t n = sizeof(se_pub);
    assert_int_equal(se05x_read_object(f->c, KP_ECKEY_USER, 0, 0, se_pub, &n), SE05X_OK);
    assert_int_equal(n, 65);
    assert_int_equal(se05x_eckey_ecdh(eph, se_pub, z), SE05X_OK);
    assert_int_equal(se05x_eckey_master(z, 32, r + 2, true, master), SE05X_OK);
    assert_int_equal(se05x_eckey_receipt(master, d, blen, receipt), SE05X_OK);
    assert_memory_equal(receipt, r + 20, 16);

    /* the session is now keyed: a plain inner command drops it */
    raw(f->c, w, wl, r, sizeof(r), &rl);
    assert_int_equal(se05x_get_u16(r + rl - 2), 0x6982);
    raw(f->c, w, wl, r, sizeof(r), &rl);
    assert_int_equal(se05x_get_u16(r + rl - 2), 0x6982);

    /* INTERNAL AUTHENTICATE outside any session is not accepted */
    uint8_t plain[SE05X_APDU_MAX];
    size_t pl = 0;
    se05x_apdu a = {.cla = 0x84, .ins = 0x88, .data = d, .lc = len};
    assert_int_equal(se05x_apdu_encode(&a, plain, sizeof(plain), &pl), SE05X_OK);
    raw(f->c, plain, pl, r, sizeof(r), &rl);
    assert_int_not_equal(se05x_get_u16(r + rl - 2), 0x9000);
    EVP_PKEY_free(eph);
    EVP_PKEY_free(other);
}

/* ---- card end alone, applet 3.x profile --------------------------------- */

static uint16_t card_xch(sesim_chan *ch, const uint8_t *c, size_t len, uint8_t *r, size_t *rl)
{
    *rl = sesim_chan_process(ch, c, len, r, SE05X_APDU_MAX);
    assert_true(*rl >= 2);
    return se05x_get_u16(r + *rl - 2);
}

static void test_card_3x_profile(void **state)
{
    (void)state;
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00, 0x03, 0x96,
                                     0x54, 0x53, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00,
                                     0x00, 0x00};
    static const uint8_t getver[] = {0x80, 0x04, 0x00, 0x20, 0x00};
    char *dir = tu_tempdir("eckey3x");
    sesim_opts o;
    sesim_opts_default(&o);
    o.applet_major = 3;
    o.quiet = true;
    sesim *s = NULL;
    sesim_chan *ch = NULL;
    assert_int_equal(sesim_open(dir, &o, &s), SE05X_OK);
    assert_int_equal(sesim_chan_open(s, &ch), SE05X_OK);
    EVP_PKEY *key = read_pem(dir, "el2go-auth-key.pem");
    EVP_PKEY *eph = EVP_EC_gen("P-256");
    uint8_t r[SE05X_APDU_MAX], cmd[SE05X_APDU_MAX], w[SE05X_APDU_MAX], d[256];
    size_t rl = 0, cl = 0, wl = 0, blen = 0;
    assert_int_equal(card_xch(ch, select, sizeof(select), r, &rl), 0x9000);
    assert_int_equal(r[0], 3);
    bool prefix = se05x_eckey_counter_prefix(r[0], r[1]);
    /* KP_ECKEY_USER public key */
    static const uint8_t rd[] = {0x80, 0x02, 0x00, 0x00, 0x06, 0x41, 0x04, 0x7F, 0xFF, 0x02, 0x01};
    assert_int_equal(card_xch(ch, rd, sizeof(rd), r, &rl), 0x9000);
    assert_int_equal(rl, 2 + 65 + 2);
    uint8_t se_pub[65];
    memcpy(se_pub, r + 2, 65);
    /* CreateSession + INTERNAL AUTHENTICATE */
    uint8_t cs[] = {0x80, 0x04, 0x00, 0x1B, 0x06, 0x41, 0x04, 0xF0, 0x00, 0x00, 0x20};
    assert_int_equal(card_xch(ch, cs, sizeof(cs), r, &rl), 0x9000);
    uint8_t id[8];
    memcpy(id, r + 2, 8);
    size_t len = auth_data(key, eph, d, sizeof(d), &blen);
    se05x_apdu a = {.cla = 0x84, .ins = 0x88, .data = d, .lc = len};
    assert_int_equal(se05x_apdu_encode(&a, cmd, sizeof(cmd), &cl), SE05X_OK);
    assert_int_equal(se05x_sesswrap_build(id, cmd, cl, w, sizeof(w), &wl), SE05X_OK);
    assert_int_equal(card_xch(ch, w, wl, r, &rl), 0x9000);
    assert_int_equal(rl, 38);
    uint8_t z[32], master[16], receipt[16];
    assert_int_equal(se05x_eckey_ecdh(eph, se_pub, z), SE05X_OK);
    /* the other prefix choice would not match */
    assert_int_equal(se05x_eckey_master(z, 32, r + 2, !prefix, master), SE05X_OK);
    assert_int_equal(se05x_eckey_receipt(master, d, blen, receipt), SE05X_OK);
    assert_memory_not_equal(receipt, r + 20, 16);
    assert_int_equal(se05x_eckey_master(z, 32, r + 2, prefix, master), SE05X_OK);
    assert_int_equal(se05x_eckey_receipt(master, d, blen, receipt), SE05X_OK);
    assert_memory_equal(receipt, r + 20, 16);
    /* commands in the session channel, with the 7.x counter rule */
    se05x_scp03_ctx h;
    assert_int_equal(se05x_eckey_channel(&h, master), SE05X_OK);
    for (int i = 0; i < 3; i++) {
        uint8_t inner[64], u[SE05X_APDU_MAX];
        size_t il = 0, ul = 0;
        assert_int_equal(se05x_scp03_wrap_cmd(&h, getver, sizeof(getver) - 1, inner,
                                              sizeof(inner), &il),
                         SE05X_OK);
        assert_int_equal(se05x_sesswrap_build(id, inner, il, w, sizeof(w), &wl), SE05X_OK);
        assert_int_equal(card_xch(ch, w, wl, r, &rl), 0x9000);
        assert_int_equal(se05x_scp03_unwrap_rsp(&h, r, rl, u, sizeof(u), &ul), SE05X_OK);
        assert_int_equal(se05x_get_u16(u + ul - 2), 0x9000);
        assert_int_equal(u[2], 3); /* TAG_1 version info: major 3 */
    }
    se05x_scp03_ctx_wipe(&h);
    EVP_PKEY_free(key);
    EVP_PKEY_free(eph);
    sesim_chan_close(ch);
    sesim_close(s);
    tu_rmtree(dir);
    free(dir);
}

/* ---- shared primitives against independent computations -------------- */

static void test_derivations(void **state)
{
    (void)state;
    uint8_t z[32], drse[16], m[16], m2[16], buf[64], md[32];
    unsigned int mdlen = 0;
    for (int i = 0; i < 32; i++)
        z[i] = (uint8_t)(0xA0 + i);
    for (int i = 0; i < 16; i++)
        drse[i] = (uint8_t)i;
    static const uint8_t info[4] = {0x01, 0x33, 0x88, 0x10};
    /* with the 00 00 00 01 prefix */
    memcpy(buf, "\x00\x00\x00\x01", 4);
    memcpy(buf + 4, z, 32);
    memcpy(buf + 36, drse, 16);
    memcpy(buf + 52, info, 4);
    assert_true(EVP_Digest(buf, 56, md, &mdlen, EVP_sha256(), NULL));
    assert_int_equal(se05x_eckey_master(z, 32, drse, true, m), SE05X_OK);
    assert_memory_equal(m, md, 16);
    /* without */
    assert_true(EVP_Digest(buf + 4, 52, md, &mdlen, EVP_sha256(), NULL));
    assert_int_equal(se05x_eckey_master(z, 32, drse, false, m2), SE05X_OK);
    assert_memory_equal(m2, md, 16);
    assert_true(se05x_eckey_counter_prefix(3, 5));
    assert_true(se05x_eckey_counter_prefix(7, 2));
    assert_false(se05x_eckey_counter_prefix(3, 4));
    assert_false(se05x_eckey_counter_prefix(2, 9));
    /* channel keys: KDF constants 04/06/07/08, empty context */
    se05x_scp03_ctx ctx;
    assert_int_equal(se05x_eckey_channel(&ctx, m), SE05X_OK);
    assert_true(ctx.open);
    assert_int_equal(ctx.rule, SE05X_SCP03_RULE_7X);
    assert_int_equal(ctx.ctr[15], 1);
    const uint8_t *want[4] = {ctx.s_enc, ctx.s_mac, ctx.s_rmac, ctx.mcv};
    const uint8_t dd[4] = {0x04, 0x06, 0x07, 0x08};
    for (int i = 0; i < 4; i++) {
        uint8_t in[16] = {0}, out[16];
        in[11] = dd[i];
        in[13] = 0x00;
        in[14] = 0x80;
        in[15] = 0x01;
        assert_int_equal(se05x_scp03_cmac(m, in, 16, out), SE05X_OK);
        assert_memory_equal(out, want[i], 16);
    }
    se05x_scp03_ctx_wipe(&ctx);
    /* parse rejects what build never makes */
    uint8_t pt[65], d[256];
    size_t len = 0, sl = 0, siglen = 0;
    const uint8_t *p = NULL, *s = NULL;
    memset(pt, 0x22, sizeof(pt));
    pt[0] = 0x04;
    assert_int_equal(se05x_eckey_auth_body(pt, d, sizeof(d), &len), SE05X_OK);
    assert_int_not_equal(se05x_eckey_auth_parse(d, len, &sl, &p, &s, &siglen), SE05X_OK);
    static const uint8_t sig[3] = {1, 2, 3};
    assert_int_equal(se05x_eckey_auth_add_sig(d, sizeof(d), &len, sig, 3), SE05X_OK);
    assert_int_equal(se05x_eckey_auth_parse(d, len, &sl, &p, &s, &siglen), SE05X_OK);
    assert_ptr_equal(p, d + 36);
    assert_int_equal(siglen, 3);
    assert_memory_equal(s, sig, 3);
    assert_int_equal(sl, len - 6);
    assert_int_equal(se05x_eckey_auth_body(pt, d, 50, &len), SE05X_ERR_BUFFER);
    assert_null(se05x_eckey_point_pkey(pt)); /* 22..22 is not on P-256 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derivations),
        cmocka_unit_test_setup_teardown(test_factory_auth_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_only_auth_id_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_and_unsuitable_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_session_id_is_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_written_auth_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_after_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_tampered_and_malformed, setup, teardown),
        cmocka_unit_test(test_card_3x_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
