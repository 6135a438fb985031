/* Unit tests of the RTP server and client sessions (rtp/common) over a
 * socketpair, with the in-process simulator (sim:DIR) as the SE: a binary
 * object and an EC P-384 key (curve installed by the server) provisioned
 * and usable; objects already present deleted and rewritten; states other
 * than GENERATION_COMPLETED skipped (warning except PROVISIONING_COMPLETED);
 * empty and unknown devices get DONE and nothing; bad files (malformed JSON,
 * bad base64) reported and skipped, nothing of them sent; -o and -f; a
 * create the SE refuses and a curve that cannot be installed land in the
 * failed list; clients that disconnect,
 * stay silent or send oversized frames end their session with a clear
 * error and the next session works; the client refuses oversized frames
 * and ignores unknown tags. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "rtp.h"
#include "se05x/commands.h"
#include "se05x/record.h"
#include "se05x/sockio.h"
#include "testutil.h"

typedef struct {
    char *dir, files[1200];
    se05x_conn *se;
    char devid[64];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tu_tempdir("rtp-session");
    char cs[1100];
    snprintf(cs, sizeof(cs), "sim:%s/sim", f->dir);
    snprintf(f->files, sizeof(f->files), "%s/files", f->dir);
    mkdir(f->files, 0700);
    assert_int_equal(se05x_conn_open(cs, NULL, &f->se), SE05X_OK);
    uint8_t uid[SE05X_UID_LEN];
    assert_int_equal(se05x_read_uid(f->se, uid), SE05X_OK);
    assert_int_equal(rtp_device_id(uid, sizeof(uid), f->devid, sizeof(f->devid)), SE05X_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    se05x_conn_close(f->se);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- building provisionings --------------------------------------------- */

/* JSON of one provisioning from the APDUs recorded in rec. */
static char *prov_json(se05x_recorder *rec, const char *state, const char *type,
                       const char *algo, uint32_t id)
{
    size_t cap = 65536, off = 0;
    char *s = malloc(cap);
    off += (size_t)snprintf(s + off, cap - off,
                            "{\"provisioningId\": %u, \"state\": \"%s\", \"secureObject\": "
                            "{\"type\": \"%s\", \"objectId\": \"%08X\", \"algorithm\": \"%s\"}, "
                            "\"apdus\": {", id & 0xFFFF, state, type, id, algo);
    for (size_t i = 0; i < se05x_recorder_count(rec); i++) {
        size_t len;
        const uint8_t *a = se05x_recorder_get(rec, i, &len);
        char *b = rtp_b64_encode(a, len);
        if (i == 0)
            off += (size_t)snprintf(s + off, cap - off, "\"createApdu\": {\"apdu\": \"%s\"}, "
                                    "\"writeApdus\": [", b);
        else
            off += (size_t)snprintf(s + off, cap - off, "%s{\"apdu\": \"%s\"}", i > 1 ? "," : "",
                                    b);
        free(b);
    }
    snprintf(s + off, cap - off, "]}}");
    return s;
}

static char *binary_prov(const char *state, uint32_t id, const uint8_t *data, size_t len)
{
    se05x_conn *c;
    se05x_recorder *r;
    assert_int_equal(se05x_recorder_open(7, 2, &c, &r), SE05X_OK);
    assert_int_equal(se05x_write_binary(c, NULL, id, data, len, false), SE05X_OK);
    char *s = prov_json(r, state, "BINARY_FILE", "", id);
    se05x_conn_close(c);
    return s;
}

/* EC key pair on curve (OpenSSL group name) as a KEYPAIR provisioning. */
static char *ec_prov(const char *state, uint32_t id, const char *group, uint8_t curve,
                     const char *algo)
{
    EVP_PKEY *k = EVP_EC_gen(group);
    assert_non_null(k);
    size_t fl = se05x_curve_field_len(curve);
    uint8_t priv[66], pub[133] = {0x04};
    BIGNUM *d = NULL, *x = NULL, *y = NULL;
    assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d));
    assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x));
    assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y));
    BN_bn2binpad(d, priv, (int)fl);
    BN_bn2binpad(x, pub + 1, (int)fl);
    BN_bn2binpad(y, pub + 1 + fl, (int)fl);
    BN_clear_free(d);
    BN_free(x);
    BN_free(y);
    EVP_PKEY_free(k);
    se05x_conn *c;
    se05x_recorder *r;
    assert_int_equal(se05x_recorder_open(7, 2, &c, &r), SE05X_OK);
    se05x_ec_key ek = {.id = id, .curve = curve, .keypart = SE05X_KEY_PAIR, .priv = priv,
                       .priv_len = fl, .pub = pub, .pub_len = 1 + 2 * fl};
    assert_int_equal(se05x_write_ec_key(c, NULL, &ek), SE05X_OK);
    char *s = prov_json(r, state, "KEYPAIR", algo, id);
    se05x_conn_close(c);
    return s;
}

/* Write name in the files dir: [{deviceId, rtpProvisionings: [provs...]}]
 * (provs NULL-terminated, freed). */
static void write_file(fx *f, const char *name, const char *devid, ...)
{
    char path[1400];
    snprintf(path, sizeof(path), "%s/%s", f->files, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "[{\"deviceId\": \"%s\", \"rtpProvisionings\": [", devid);
    va_list ap;
    va_start(ap, devid);
    char *p;
    for (int i = 0; (p = va_arg(ap, char *)); i++) {
        fprintf(fp, "%s%s", i ? ",\n" : "", p);
        free(p);
    }
    va_end(ap);
    fprintf(fp, "]}]\n");
    fclose(fp);
}

static void write_raw(fx *f, const char *name, const char *text)
{
    char path[1400];
    snprintf(path, sizeof(path), "%s/%s", f->files, name);
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
}

/* ---- running sessions ----------------------------------------------------- */

typedef struct {
    int fd;
    rtp_server_opts o;
    rtp_server_result r;
    se05x_status st;
    char *log;
    size_t loglen;
} srv_run;

static void *server_thread(void *p)
{
    srv_run *s = p;
    FILE *log = open_memstream(&s->log, &s->loglen);
    s->o.log = log;
    s->st = rtp_server_session(s->fd, &s->o, &s->r);
    fclose(log);
    close(s->fd);
    return NULL;
}

/* Full session: server thread + real client on f->se. */
typedef struct {
    srv_run s;
    rtp_client_result c;
    se05x_status cst;
    pthread_t th;
} session;

static void run_session(fx *f, session *x, bool optimize, bool force)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    memset(x, 0, sizeof(*x));
    x->s.fd = sv[0];
    x->s.o.dir = f->files;
    x->s.o.optimize = optimize;
    x->s.o.force_curves = force;
    x->s.o.timeout_ms = 5000;
    assert_int_equal(pthread_create(&x->th, NULL, server_thread, &x->s), 0);
    FILE *out = fopen("/dev/null", "w");
    rtp_client_opts co = {.out = out, .timeout_ms = 5000};
    x->cst = rtp_client_run(sv[1], f->se, &co, &x->c);
    fclose(out);
    close(sv[1]);
    pthread_join(x->th, NULL);
}

static void end_session(session *x)
{
    rtp_client_result_free(&x->c);
    free(x->s.log);
}

static bool has_obj(fx *f, uint32_t id)
{
    bool e = false;
    assert_int_equal(se05x_object_exists(f->se, id, &e), SE05X_OK);
    return e;
}

static void log_has(const srv_run *s, const char *needle)
{
    if (!s->log || !strstr(s->log, needle)) {
        print_error("server log lacks '%s':\n%s\n", needle, s->log ? s->log : "(none)");
        fail();
    }
}

/* ---- tests ------------------------------------------------------------------ */

static void test_provision_and_rewrite(void **state)
{
    fx *f = *state;
    uint8_t data[1234];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    write_file(f, "a.json", f->devid, binary_prov("GENERATION_COMPLETED", 0x83000010, data, sizeof(data)),
               ec_prov("GENERATION_COMPLETED", 0x83000011, "P-384", SE05X_CURVE_NIST_P384, "NIST_P384"),
               NULL);
    session x;
    run_session(f, &x, false, false);
    assert_int_equal(x.cst, SE05X_OK);
    assert_int_equal(x.s.st, SE05X_OK);
    assert_true(x.c.done);
    assert_int_equal(x.c.provisioned.n, 2);
    assert_int_equal(x.c.provisioned.ids[0], 0x83000010);
    assert_int_equal(x.c.provisioned.ids[1], 0x83000011);
    assert_int_equal(x.c.failed.n, 0);
    assert_true(x.s.r.known && x.s.r.completed);
    assert_int_equal(x.s.r.provisioned, 2);
    /* 4 reads + 3 binary + curve (create + 5 params) + 1 key */
    assert_int_equal(x.c.apdus, 4 + 3 + 6 + 1);
    log_has(&x.s, "provisioned 2 [0x83000010, 0x83000011], failed 0");
    end_session(&x);
    uint8_t back[2000];
    size_t bl = sizeof(back);
    assert_int_equal(se05x_read_binary(f->se, 0x83000010, back, &bl), SE05X_OK);
    assert_int_equal(bl, sizeof(data));
    assert_memory_equal(back, data, bl);
    uint8_t dg[48] = {1}, sig[160];
    size_t sl = sizeof(sig);
    assert_int_equal(se05x_ecdsa_sign(f->se, 0x83000011, SE05X_ECSIGN_SHA384, dg, 48, sig, &sl),
                     SE05X_OK);
    /* again with other content: deleted and rewritten, curve not re-installed */
    memset(data, 0x5A, 100);
    write_file(f, "a.json", f->devid, binary_prov("GENERATION_COMPLETED", 0x83000010, data, 100),
               ec_prov("GENERATION_COMPLETED", 0x83000011, "P-384", SE05X_CURVE_NIST_P384,
                       "SECP384R1"), NULL);
    run_session(f, &x, false, false);
    assert_int_equal(x.cst, SE05X_OK);
    assert_int_equal(x.c.provisioned.n, 2);
    assert_int_equal(x.c.apdus, 4 + 1 + 1 + 1 + 1); /* delete + create, twice */
    end_session(&x);
    bl = sizeof(back);
    assert_int_equal(se05x_read_binary(f->se, 0x83000010, back, &bl), SE05X_OK);
    assert_int_equal(bl, 100);
    assert_memory_equal(back, data, 100);
}

static void test_states_skipped(void **state)
{
    fx *f = *state;
    uint8_t d[10] = {1, 2, 3};
    write_file(f, "s.json", f->devid, binary_prov("PROVISIONING_COMPLETED", 0x83000020, d, 10),
               binary_prov("GENERATION_FAILED", 0x83000021, d, 10),
               binary_prov("GENERATION_TRIGGERED", 0x83000022, d, 10),
               binary_prov("GENERATION_COMPLETED", 0x83000023, d, 10), NULL);
    session x;
    run_session(f, &x, false, false);
    assert_int_equal(x.cst, SE05X_OK);
    assert_int_equal(x.c.provisioned.n, 1);
    assert_int_equal(x.c.provisioned.ids[0], 0x83000023);
    assert_int_equal(x.s.r.skipped, 3);
    log_has(&x.s, "state GENERATION_FAILED: skipped");
    log_has(&x.s, "state GENERATION_TRIGGERED: skipped");
    assert_null(strstr(x.s.log, "state PROVISIONING_COMPLETED"));
    end_session(&x);
    assert_false(has_obj(f, 0x83000020));
    assert_false(has_obj(f, 0x83000021));
    assert_false(has_obj(f, 0x83000022));
    assert_true(has_obj(f, 0x83000023));
}

static void test_empty_and_unknown(void **state)
{
    fx *f = *state;
    write_file(f, "e.json", f->devid, NULL);
    session x;
    run_session(f, &x, false, false);
    assert_int_equal(x.cst, SE05X_OK);
    assert_true(x.c.done);
    assert_int_equal(x.c.apdus, 4);
    assert_int_equal(x.c.provisioned.n + x.c.failed.n, 0);
    assert_true(x.s.r.known);
    end_session(&x);
    uint8_t d[4] = {9};
    write_file(f, "e.json", "123456789", binary_prov("GENERATION_COMPLETED", 0x83000030, d, 4),
               NULL);
    run_session(f, &x, false, false);
    assert_int_equal(x.cst, SE05X_OK);
    assert_int_equal(x.c.apdus, 4);
    assert_false(x.s.r.known);
    log_has(&x.s, "unknown device");
    end_session(&x);
    assert_false(has_obj(f, 0x83000030));
}

static void test_bad_files(void **state)
{
    fx *f = *state;
    uint8_t d[4] = {9};
    write_raw(f, "1-malformed.json", "[{\"deviceId\": \"1\", ");
    /* this device's provisioning, but in a file with a bad base64 APDU */
    char *good = binary_prov("GENERATION_COMPLETED", 0x83000040, d, 4);
    char bad[4096];
    snprintf(bad, sizeof(bad), "[{\"deviceId\": \"%s\", \"rtpProvisionings\": [%s, "
             "{\"state\": \"GENERATION_COMPLETED\", \"secureObject\": {\"type\": \"BINARY_FILE\", "
             "\"objectId\": \"83000041\"}, \"apdus\": {\"createApdu\": {\"apdu\": \"gA*=\"}}}]}]",
             f->devid, good);
    free(good);
    write_raw(f, "2-badb64.json", bad);
    write_file(f, "3-good.json", f->devid, binary_prov("GENERATION_COMPLETED", 0x83000042, d, 4),
               NULL);
    write_raw(f, "notjson.txt", "garbage");
    session x;
    run_session(f, &x, false, false);
    assert_int_equal(x.cst, SE05X_OK);
    assert_int_equal(x.s.r.bad_files, 2);
    log_has(&x.s, "1-malformed.json: malformed JSON");
    log_has(&x.s, "2-badb64.json: device");
    log_has(&x.s, "not valid base64");
    assert_int_equal(x.c.provisioned.n, 1);
    end_session(&x);
    assert_false(has_obj(f, 0x83000040)); /* nothing of the bad file was sent */
    assert_true(has_obj(f, 0x83000042));
}

static void test_optimize_force_failed(void **state)
{
    fx *f = *state;
    uint8_t d[4] = {7};
    char name[200];
    write_file(f, "other.json", f->devid, binary_prov("GENERATION_COMPLETED", 0x83000050, d, 4),
               NULL);
    snprintf(name, sizeof(name), "dev-%s.json", f->devid);
    /* P-256 is installed on the simulator: -f re-installs and ignores SWs;
     * the second item's create APDU is refused by the SE (bad TLVs) */
    se05x_conn *c;
    se05x_recorder *r;
    assert_int_equal(se05x_recorder_open(7, 2, &c, &r), SE05X_OK);
    uint8_t junk[] = {0x80, 0x01, 0x06, 0x00, 0x03, 0x77, 0x01, 0x00};
    se05x_conn_raw(c, junk, sizeof(junk), (uint8_t[16]){0}, 16, &(size_t){0});
    char *refused = prov_json(r, "GENERATION_COMPLETED", "BINARY_FILE", "", 0x83000052);
    se05x_conn_close(c);
    write_file(f, name, f->devid,
               ec_prov("GENERATION_COMPLETED", 0x83000051, "P-256", SE05X_CURVE_NIST_P256,
                       "NIST_P256"), refused, NULL);
    session x;
    run_session(f, &x, true, true);
    assert_int_equal(x.cst, SE05X_OK);
    assert_int_equal(x.c.provisioned.n, 1);
    assert_int_equal(x.c.provisioned.ids[0], 0x83000051);
    assert_int_equal(x.c.failed.n, 1);
    assert_int_equal(x.c.failed.ids[0], 0x83000052);
    assert_int_equal(x.c.apdus, 4 + 6 + 1 + 1); /* forced curve install */
    log_has(&x.s, "object 0x83000052: create APDU answered");
    end_session(&x);
    assert_false(has_obj(f, 0x83000050)); /* -o: other.json not read */
    assert_true(has_obj(f, 0x83000051));
}

static void test_curve_install_fails(void **state)
{
    fx *f = *state;
    uint8_t d[4] = {7};
    /* BN_P256: not installed and no parameters known -> failed, nothing sent
     * for that object; the next object is provisioned */
    se05x_conn *c;
    se05x_recorder *r;
    assert_int_equal(se05x_recorder_open(7, 2, &c, &r), SE05X_OK);
    assert_int_equal(se05x_write_binary(c, NULL, 0x83000070, d, 4, false), SE05X_OK);
    char *bn = prov_json(r, "GENERATION_COMPLETED", "KEYPAIR", "BN_P256", 0x83000070);
    se05x_conn_close(c);
    write_file(f, "c.json", f->devid, bn,
               binary_prov("GENERATION_COMPLETED", 0x83000071, d, 4), NULL);
    session x;
    run_session(f, &x, false, false);
    assert_int_equal(x.cst, SE05X_OK);
    assert_int_equal(x.c.failed.n, 1);
    assert_int_equal(x.c.failed.ids[0], 0x83000070);
    assert_int_equal(x.c.provisioned.n, 1);
    assert_int_equal(x.c.apdus, 4 + 1);
    log_has(&x.s, "cannot install curve BN_P256");
    end_session(&x);
    assert_false(has_obj(f, 0x83000070));
    assert_true(has_obj(f, 0x83000071));
}

/* A fake client: answers START, then misbehaves as told. */
typedef enum { FAKE_CLOSE_AFTER_START, FAKE_SILENT, FAKE_OVERSIZED } fake_kind;

static void fake_client(int fd, fake_kind k)
{
    uint8_t buf[RTP_CLIENT_MAX];
    uint16_t tag;
    size_t len;
    char err[200];
    assert_int_equal(rtp_recv(fd, &tag, buf, sizeof(buf), &len, se05x_sock_deadline(5000), err,
                              sizeof(err)), SE05X_OK);
    assert_int_equal(tag, RTP_TAG_START);
    if (k == FAKE_CLOSE_AFTER_START)
        return;
    assert_int_equal(rtp_send(fd, RTP_TAG_START, NULL, 0, SE05X_SOCK_FOREVER), SE05X_OK);
    assert_int_equal(rtp_recv(fd, &tag, buf, sizeof(buf), &len, se05x_sock_deadline(5000), err,
                              sizeof(err)), SE05X_OK);
    assert_int_equal(tag, RTP_TAG_APDU_CMD);
    if (k == FAKE_OVERSIZED) {
        uint8_t hdr[4] = {0x81, 0x00, 0xFF, 0xFF};
        assert_int_equal(write(fd, hdr, 4), 4);
    }
    /* FAKE_SILENT: no answer at all */
}

static void test_misbehaving_clients(void **state)
{
    fx *f = *state;
    uint8_t d[4] = {7};
    write_file(f, "m.json", f->devid, binary_prov("GENERATION_COMPLETED", 0x83000060, d, 4), NULL);
    fake_kind kinds[] = {FAKE_CLOSE_AFTER_START, FAKE_SILENT, FAKE_OVERSIZED};
    const char *why[] = {"closed the connection", "timeout", "more than the 8192-byte buffer"};
    for (size_t i = 0; i < 3; i++) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        srv_run s = {.fd = sv[0], .o = {.dir = f->files, .timeout_ms = 300}};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, server_thread, &s), 0);
        fake_client(sv[1], kinds[i]);
        if (kinds[i] == FAKE_CLOSE_AFTER_START)
            close(sv[1]);
        pthread_join(th, NULL);
        if (kinds[i] != FAKE_CLOSE_AFTER_START)
            close(sv[1]);
        assert_int_not_equal(s.st, SE05X_OK);
        assert_false(s.r.completed);
        assert_non_null(strstr(s.r.error, why[i]));
        log_has(&s, "ABORTED");
        free(s.log);
    }
    assert_false(has_obj(f, 0x83000060));
    /* the next client is served normally */
    session x;
    run_session(f, &x, false, false);
    assert_int_equal(x.cst, SE05X_OK);
    assert_int_equal(x.c.provisioned.n, 1);
    end_session(&x);
    assert_true(has_obj(f, 0x83000060));
}

static void test_client_oversized_and_unknown_tag(void **state)
{
    fx *f = *state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    uint8_t junk[5] = {1, 2, 3, 4, 5};
    assert_int_equal(rtp_send(sv[0], 0x1234, junk, 5, SE05X_SOCK_FOREVER), SE05X_OK);
    assert_int_equal(rtp_send(sv[0], RTP_TAG_DONE, NULL, 0, SE05X_SOCK_FOREVER), SE05X_OK);
    char *out = NULL;
    size_t outlen = 0;
    FILE *o = open_memstream(&out, &outlen);
    rtp_client_opts co = {.out = o, .timeout_ms = 2000};
    rtp_client_result r;
    assert_int_equal(rtp_client_run(sv[1], f->se, &co, &r), SE05X_OK);
    fclose(o);
    assert_true(r.done);
    assert_non_null(strstr(out, "ignoring unknown tag 0x1234"));
    free(out);
    rtp_client_result_free(&r);
    /* 893-byte APDU_CMD: refused, nothing sent to the SE */
    uint8_t big[893];
    memset(big, 0x80, sizeof(big));
    assert_int_equal(rtp_send(sv[0], RTP_TAG_APDU_CMD, big, sizeof(big), SE05X_SOCK_FOREVER),
                     SE05X_OK);
    assert_int_equal(rtp_client_run(sv[1], f->se, &co, &r), SE05X_ERR_BUFFER);
    assert_int_equal(r.apdus, 0);
    assert_non_null(strstr(r.error, "893"));
    rtp_client_result_free(&r);
    /* server gone before DONE (fresh link: the refused payload is unread) */
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(rtp_send(sv[0], RTP_TAG_START, NULL, 0, SE05X_SOCK_FOREVER), SE05X_OK);
    close(sv[0]);
    assert_int_equal(rtp_client_run(sv[1], f->se, &co, &r), SE05X_ERR_TRANSPORT);
    rtp_client_result_free(&r);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_provision_and_rewrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_states_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optimize_force_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_curve_install_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misbehaving_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_oversized_and_unknown_tag, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
