/* Unit tests of el2go_server (issue 7): UID forms, the SQLite store
 * (errors, persistence across reopen, claim codes), the CAs (chain, CRL
 * with revoked serials), and the protocol engine: against the agent library's
 * dispatcher on a socketpair (agent in a thread, keystore on the in-process
 * simulator, RAM datastores, CRL gate on with the agent's real CRL check)
 * for refusal / provisioning / no-change / revoked server certificate and
 * for removals (service, last service -> emptied datastore, object, group),
 * and against scripted bad peers (malformed Responses, wrong response
 * count, EOF, no keystore). Removal in the store: not found, refusal of a
 * group in use, --force, per-device states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "el2go/agent.h"
#include "el2go/crl.h"
#include "el2go/datastore.h"
#include "el2go_server/server.h"
#include "nxp/Dispatcher.pb-c.h"
#include "se05x/commands.h"
#include "se05x/conn.h"
#include "testutil.h"

static void test_uid_forms(void **state)
{
    (void)state;
    char u[EL2GS_UID_HEX + 1];
    assert_true(el2gs_uid_normalize("0x0123456789abcdef0123456789ABCDEF0123", u));
    assert_string_equal(u, "0123456789ABCDEF0123456789ABCDEF0123");
    assert_true(el2gs_uid_normalize("000000000000000000000000000000000000000255", u));
    assert_string_equal(u, "0000000000000000000000000000000000FF");
    assert_false(el2gs_uid_normalize("0x0123456789abcdef0123456789ABCDEF012", u));   /* 35 */
    assert_false(el2gs_uid_normalize("0x0123456789abcdef0123456789ABCDEF01234", u)); /* 37 */
    assert_false(el2gs_uid_normalize("0x0123456789abcdef0123456789ABCDEF012G", u));
    assert_false(el2gs_uid_normalize("0123456789abcdef0123456789ABCDEF0123", u)); /* no 0x */
    assert_false(el2gs_uid_normalize("00000000000000000000000000000000000000025", u)); /* 41 */
    assert_false(el2gs_uid_normalize("00000000000000000000000000000000000000025x", u));
    assert_false(el2gs_uid_normalize("", u));
    assert_false(el2gs_uid_normalize(NULL, u));
}

static el2gs_store *open_db(const char *dir)
{
    char p[600];
    snprintf(p, sizeof(p), "%s/t.db", dir);
    el2gs_store *s = NULL;
    char err[256];
    assert_int_equal(el2gs_store_open(p, &s, err, sizeof(err)), EL2GO_OK);
    return s;
}

static void count_dev(void *ctx, const el2gs_device *d)
{
    (void)d;
    (*(int *)ctx)++;
}

static void test_store(void **state)
{
    (void)state;
    char *dir = tu_tempdir("el2gs_store");
    el2gs_store *s = open_db(dir);
    const char *uid = "0123456789ABCDEF0123456789ABCDEF0123";
    assert_int_equal(el2gs_group_add(s, "g"), EL2GO_OK);
    assert_int_equal(el2gs_group_add(s, "g"), EL2GO_ERR_STATE);
    assert_int_equal(el2gs_group_add(s, ""), EL2GO_ERR_ARG);
    assert_int_equal(el2gs_device_add(s, uid, "nosuch"), EL2GO_ERR_NOT_FOUND);
    assert_non_null(strstr(el2gs_store_err(s), "no group named 'nosuch'"));
    assert_int_equal(el2gs_device_add(s, uid, "g"), EL2GO_OK);
    el2gs_object o = {.group = "g", .name = "k", .key_id = 0x83000101, .type = EL2GS_KEY_EC_P256};
    assert_int_equal(el2gs_object_add(s, &o), EL2GO_OK);
    assert_int_equal(el2gs_object_add(s, &o), EL2GO_ERR_STATE);
    o.type = 0;
    o.key_id = 0x83000201;
    assert_int_equal(el2gs_object_add(s, &o), EL2GO_ERR_ARG);
    el2gs_service v = {.group = "g", .id = 7, .type = 0, .hostname = "h", .port = 0};
    assert_int_equal(el2gs_service_add(s, &v), EL2GO_ERR_ARG);
    v.port = 8883;
    assert_int_equal(el2gs_service_add(s, &v), EL2GO_OK);
    char code[256];
    assert_int_equal(el2gs_claimcode_create(s, "g", 1, 15, code, sizeof(code)), EL2GO_ERR_ARG);
    assert_int_equal(el2gs_claimcode_create(s, "g", 0, 20, code, sizeof(code)), EL2GO_ERR_ARG);
    assert_int_equal(el2gs_claimcode_create(s, "nosuch", 1, 20, code, sizeof(code)), EL2GO_ERR_NOT_FOUND);
    assert_int_equal(el2gs_claimcode_create(s, "g", 2, 255, code, sizeof(code)), EL2GO_OK);
    assert_int_equal(strlen(code), 255);
    assert_int_equal(el2gs_claimcode_revoke(s, "nosuch"), EL2GO_ERR_NOT_FOUND);
    assert_int_equal(el2gs_devobj_set(s, uid, 0x83000101, EL2GS_PROVISIONING_COMPLETED, "AB"), EL2GO_OK);
    assert_int_equal(el2gs_device_record(s, uid, "PROVISIONED", 1), EL2GO_OK);
    el2gs_store_close(s);

    /* Reopen: everything persisted. */
    s = open_db(dir);
    el2gs_device d;
    assert_int_equal(el2gs_device_get(s, uid, &d), EL2GO_OK);
    assert_string_equal(d.group, "g");
    assert_string_equal(d.state, "PROVISIONED");
    assert_int_equal(d.connections, 1);
    assert_int_equal(d.last_status, 1);
    int st = 0;
    char ser[41];
    assert_int_equal(el2gs_devobj_get(s, uid, 0x83000101, &st, ser, sizeof(ser)), EL2GO_OK);
    assert_int_equal(st, EL2GS_PROVISIONING_COMPLETED);
    assert_string_equal(ser, "AB");
    el2gs_claimcode cc;
    assert_int_equal(el2gs_claimcode_get(s, code, &cc), EL2GO_OK);
    assert_int_equal(cc.limit, 2);
    assert_false(cc.revoked);
    assert_int_equal(el2gs_claimcode_revoke(s, code), EL2GO_OK);
    assert_int_equal(el2gs_claimcode_get(s, code, &cc), EL2GO_OK);
    assert_true(cc.revoked);
    int n = 0;
    el2gs_device_list(s, count_dev, &n);
    assert_int_equal(n, 1);
    assert_int_equal(el2gs_device_remove(s, uid), EL2GO_OK);
    assert_int_equal(el2gs_device_remove(s, uid), EL2GO_ERR_NOT_FOUND);
    assert_int_equal(el2gs_device_get(s, uid, &d), EL2GO_ERR_NOT_FOUND);
    assert_int_equal(el2gs_devobj_get(s, uid, 0x83000101, &st, ser, sizeof(ser)), EL2GO_OK);
    assert_int_equal(st, 0);
    el2gs_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void count_obj(void *ctx, const el2gs_object *o)
{
    (void)o;
    (*(int *)ctx)++;
}

static void count_svc(void *ctx, const el2gs_service *v)
{
    (void)v;
    (*(int *)ctx)++;
}

static void count_group(void *ctx, const char *n)
{
    (void)n;
    (*(int *)ctx)++;
}

static int devobj_state(el2gs_store *s, const char *uid, uint32_t key_id)
{
    int st = -1;
    assert_int_equal(el2gs_devobj_get(s, uid, key_id, &st, NULL, 0), EL2GO_OK);
    return st;
}

static int n_objects(el2gs_store *s, const char *group)
{
    int n = 0;
    assert_int_equal(el2gs_object_list(s, group, count_obj, &n), EL2GO_OK);
    return n;
}

static int n_services(el2gs_store *s, const char *group)
{
    int n = 0;
    assert_int_equal(el2gs_service_list(s, group, count_svc, &n), EL2GO_OK);
    return n;
}

/* Group g: device u1, objects K1/K2 (u1 has a state for each), services 1
 * and 2, a claim code. Group h: device u2 with a state for K1 (h has its
 * own object K1). */
static void fill_remove_fixture(el2gs_store *s, const char *u1, const char *u2, char code[256])
{
    assert_int_equal(el2gs_group_add(s, "g"), EL2GO_OK);
    assert_int_equal(el2gs_group_add(s, "h"), EL2GO_OK);
    assert_int_equal(el2gs_device_add(s, u1, "g"), EL2GO_OK);
    assert_int_equal(el2gs_device_add(s, u2, "h"), EL2GO_OK);
    el2gs_object o = {.group = "g", .name = "k", .key_id = 0x83000101, .type = EL2GS_KEY_EC_P256};
    assert_int_equal(el2gs_object_add(s, &o), EL2GO_OK);
    o.key_id = 0x83000201;
    assert_int_equal(el2gs_object_add(s, &o), EL2GO_OK);
    snprintf(o.group, sizeof(o.group), "h");
    o.key_id = 0x83000101;
    assert_int_equal(el2gs_object_add(s, &o), EL2GO_OK);
    el2gs_service v = {.group = "g", .id = 1, .type = 0, .hostname = "h", .port = 8883};
    assert_int_equal(el2gs_service_add(s, &v), EL2GO_OK);
    v.id = 2;
    assert_int_equal(el2gs_service_add(s, &v), EL2GO_OK);
    assert_int_equal(el2gs_claimcode_create(s, "g", 1, 20, code, 256), EL2GO_OK);
    assert_int_equal(el2gs_devobj_set(s, u1, 0x83000101, EL2GS_PROVISIONING_COMPLETED, "01"), EL2GO_OK);
    assert_int_equal(el2gs_devobj_set(s, u1, 0x83000201, EL2GS_PROVISIONING_COMPLETED, "02"), EL2GO_OK);
    assert_int_equal(el2gs_devobj_set(s, u2, 0x83000101, EL2GS_PROVISIONING_COMPLETED, "03"), EL2GO_OK);
}

static void test_store_remove(void **state)
{
    (void)state;
    char *dir = tu_tempdir("el2gs_strm");
    el2gs_store *s = open_db(dir);
    const char *u1 = "0123456789ABCDEF0123456789ABCDEF0123", *u2 = "0123456789ABCDEF0123456789ABCDEF0456";
    char code[256];
    fill_remove_fixture(s, u1, u2, code);

    /* Not found: unknown group, object, service. */
    assert_int_equal(el2gs_object_remove(s, "nosuch", 0x83000101), EL2GO_ERR_NOT_FOUND);
    assert_non_null(strstr(el2gs_store_err(s), "no group named 'nosuch'"));
    assert_int_equal(el2gs_object_remove(s, "g", 0x83000301), EL2GO_ERR_NOT_FOUND);
    assert_non_null(strstr(el2gs_store_err(s), "group 'g' has no object 0x83000301"));
    assert_int_equal(el2gs_service_remove(s, "g", 9), EL2GO_ERR_NOT_FOUND);
    assert_non_null(strstr(el2gs_store_err(s), "group 'g' has no service 9"));
    assert_int_equal(el2gs_service_remove(s, "nosuch", 1), EL2GO_ERR_NOT_FOUND);
    assert_int_equal(el2gs_group_remove(s, "nosuch", true), EL2GO_ERR_NOT_FOUND);
    assert_int_equal(el2gs_group_remove(s, "", false), EL2GO_ERR_ARG);
    assert_int_equal(devobj_state(s, u1, 0x83000101), EL2GS_PROVISIONING_COMPLETED);

    /* Object K1 of g: gone with u1's state for it; h's K1 and u2's state stay. */
    assert_int_equal(el2gs_object_remove(s, "g", 0x83000101), EL2GO_OK);
    assert_int_equal(el2gs_object_remove(s, "g", 0x83000101), EL2GO_ERR_NOT_FOUND);
    assert_int_equal(n_objects(s, "g"), 1);
    assert_int_equal(n_objects(s, "h"), 1);
    assert_int_equal(devobj_state(s, u1, 0x83000101), 0);
    assert_int_equal(devobj_state(s, u1, 0x83000201), EL2GS_PROVISIONING_COMPLETED);
    assert_int_equal(devobj_state(s, u2, 0x83000101), EL2GS_PROVISIONING_COMPLETED);

    /* Service 1 of g. */
    assert_int_equal(el2gs_service_remove(s, "g", 1), EL2GO_OK);
    assert_int_equal(el2gs_service_remove(s, "g", 1), EL2GO_ERR_NOT_FOUND);
    assert_int_equal(n_services(s, "g"), 1);

    /* g in use: refused with the counts, nothing removed (rolled back). */
    assert_int_equal(el2gs_group_remove(s, "g", false), EL2GO_ERR_STATE);
    assert_non_null(strstr(el2gs_store_err(s), "1 device(s), 1 claim code(s), 1 object(s), 1 service(s)"));
    assert_non_null(strstr(el2gs_store_err(s), "--force"));
    bool ex = false;
    assert_int_equal(el2gs_group_exists(s, "g", &ex), EL2GO_OK);
    assert_true(ex);
    assert_int_equal(n_objects(s, "g"), 1);
    el2gs_claimcode cc;
    assert_int_equal(el2gs_claimcode_get(s, code, &cc), EL2GO_OK);

    /* --force: objects (and u1's states), services, claim codes gone; u1
     * detached but still allowlisted; group h untouched. Persisted. */
    assert_int_equal(el2gs_group_remove(s, "g", true), EL2GO_OK);
    el2gs_store_close(s);
    s = open_db(dir);
    assert_int_equal(el2gs_group_exists(s, "g", &ex), EL2GO_OK);
    assert_false(ex);
    int n = 0;
    el2gs_group_list(s, count_group, &n);
    assert_int_equal(n, 1);
    assert_int_equal(n_objects(s, "g"), 0);
    assert_int_equal(n_services(s, "g"), 0);
    assert_int_equal(el2gs_claimcode_get(s, code, &cc), EL2GO_ERR_NOT_FOUND);
    el2gs_device d;
    assert_int_equal(el2gs_device_get(s, u1, &d), EL2GO_OK);
    assert_string_equal(d.group, "");
    assert_int_equal(devobj_state(s, u1, 0x83000201), 0);
    assert_int_equal(el2gs_device_get(s, u2, &d), EL2GO_OK);
    assert_string_equal(d.group, "h");
    assert_int_equal(n_objects(s, "h"), 1);
    assert_int_equal(devobj_state(s, u2, 0x83000101), EL2GS_PROVISIONING_COMPLETED);

    /* An empty group goes without --force; the name can be reused. */
    assert_int_equal(el2gs_group_add(s, "e"), EL2GO_OK);
    assert_int_equal(el2gs_group_remove(s, "e", false), EL2GO_OK);
    assert_int_equal(el2gs_group_add(s, "e"), EL2GO_OK);
    el2gs_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_ca(void **state)
{
    (void)state;
    char *dir = tu_tempdir("el2gs_ca");
    char err[512], p[700];
    assert_int_equal(el2gs_ca_init(dir, "device-link.local", false, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(el2gs_ca_init(dir, "x", false, err, sizeof(err)), EL2GO_ERR_STATE);
    el2gs_ca ca;
    assert_int_equal(el2gs_ca_load(dir, &ca, err, sizeof(err)), EL2GO_OK);
    /* Issue a certificate for a fresh key and verify root -> intermediate -> leaf. */
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t *der = NULL;
    size_t len = 0;
    char serial[41];
    assert_int_equal(el2gs_ca_issue(&ca, k, "ABCDEF", &der, &len, serial), EL2GO_OK);
    const uint8_t *q = der;
    X509 *leaf = d2i_X509(NULL, &q, (long)len);
    assert_non_null(leaf);
    X509_STORE *xs = X509_STORE_new();
    X509_STORE_add_cert(xs, ca.dev_root);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    sk_X509_push(untrusted, ca.int_cert);
    X509_STORE_CTX *xc = X509_STORE_CTX_new();
    X509_STORE_CTX_init(xc, xs, leaf, untrusted);
    assert_int_equal(X509_verify_cert(xc), 1);
    X509_STORE_CTX_free(xc);
    sk_X509_free(untrusted);
    X509_STORE_free(xs);
    assert_true(strlen(serial) >= 30);
    /* CRL: signed by the link root, lists the serials of revoked.txt. */
    snprintf(p, sizeof(p), "%s/revoked.txt", dir);
    FILE *f = fopen(p, "w");
    fprintf(f, "# revoked\n%s\n\n", serial);
    fclose(f);
    uint8_t *cd = NULL;
    size_t cl = 0;
    assert_int_equal(el2gs_ca_crl(&ca, dir, &cd, &cl), EL2GO_OK);
    q = cd;
    X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)cl);
    assert_non_null(crl);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca.link_root)), 1);
    X509_REVOKED *rv = NULL;
    assert_int_equal(X509_CRL_get0_by_serial(crl, &rv, X509_get_serialNumber(leaf)), 1);
    X509_CRL_free(crl);
    OPENSSL_free(cd);
    /* A garbage revocation line makes the CRL fail, not silently drop it. */
    f = fopen(p, "w");
    fprintf(f, "not-hex\n");
    fclose(f);
    assert_int_equal(el2gs_ca_crl(&ca, dir, &cd, &cl), EL2GO_ERR_CRYPTO);
    X509_free(leaf);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    el2gs_ca_free(&ca);
    snprintf(p, sizeof(p), "%s/intermediate-key.pem", dir);
    unlink(p);
    assert_int_equal(el2gs_ca_load(dir, &ca, err, sizeof(err)), EL2GO_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "el2go-server init"));
    tu_rmtree(dir);
    free(dir);
}

/* ---- engine against the agent library --------------------------------- */

typedef struct {
    el2go_agent_cfg cfg;
    int fd;
    el2go_status st;
    el2go_session_result res;
} agent_thread;

static void *agent_main(void *arg)
{
    agent_thread *a = arg;
    el2go_fdstream fs;
    el2go_stream s;
    el2go_fdstream_init(&fs, a->fd, a->fd, &s);
    memset(&a->res, 0, sizeof(a->res));
    a->st = el2go_session_run(&a->cfg, &s, &a->res);
    close(a->fd);
    return NULL;
}

typedef struct {
    char *dir;
    el2gs_store *store;
    el2gs_ca ca;
    se05x_conn *se;
    el2go_datastore *cds, *ds;
    el2go_keystore *ks;
} engfx;

/* The agent's real CRL check over the server chain of DIR/server.pem
 * (leaf + link root), trusting the link root. */
static STACK_OF(X509) *server_chain(const char *dir)
{
    char p[700];
    snprintf(p, sizeof(p), "%s/server.pem", dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)))
        sk_X509_push(sk, x);
    ERR_clear_error();
    fclose(f);
    assert_int_equal(sk_X509_num(sk), 2);
    return sk;
}

static el2go_status session_st(engfx *f, el2gs_session_result *r, el2go_status *agent_st,
                               int *agent_report)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uint8_t *root = NULL;
    int rlen = i2d_X509(f->ca.link_root, &root);
    assert_true(rlen > 0);
    el2go_crl_check chk = {.peer_chain = server_chain(f->dir), .roots = root, .roots_len = (size_t)rlen};
    agent_thread a = {.fd = sv[1]};
    a.cfg.el2go_ds = f->cds;
    a.cfg.datastores[0] = f->ds;
    a.cfg.n_datastores = 1;
    a.cfg.keystore = f->ks;
    a.cfg.request_crl = true;
    a.cfg.crl_verify = el2go_crl_verify_cb;
    a.cfg.crl_ctx = &chk;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, agent_main, &a), 0);
    el2gs_engine_cfg ec = {.store = f->store, .ca = &f->ca, .dir = f->dir, .hostname = "srv.local",
                           .port = 9443};
    el2go_fdstream fs;
    el2go_stream s;
    el2go_fdstream_init(&fs, sv[0], sv[0], &s);
    el2go_status st = el2gs_session_run(&ec, &s, r);
    close(sv[0]);
    pthread_join(t, NULL);
    *agent_st = a.st;
    *agent_report = a.res.report && a.res.report->has_status ? (int)a.res.report->status : -1;
    if (a.st == EL2GO_OK)
        assert_true(a.res.crl_verified);
    el2go_session_result_clear(&a.res);
    sk_X509_pop_free(chk.peer_chain, X509_free);
    OPENSSL_free(root);
    return st;
}

static void session(engfx *f, el2gs_session_result *r, el2go_status *agent_st, int *agent_report)
{
    assert_int_equal(session_st(f, r, agent_st, agent_report), EL2GO_OK);
}

/* A server directory with CAs and store, an in-process simulated SE as the
 * agent's keystore and RAM datastores. */
static void engfx_setup(engfx *f, const char *name)
{
    char err[512], cs[700];
    memset(f, 0, sizeof(*f));
    f->dir = tu_tempdir(name);
    assert_int_equal(el2gs_ca_init(f->dir, "srv.local", false, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(el2gs_ca_load(f->dir, &f->ca, err, sizeof(err)), EL2GO_OK);
    f->store = open_db(f->dir);
    snprintf(cs, sizeof(cs), "sim:%s/se", f->dir);
    assert_int_equal(se05x_conn_open(cs, NULL, &f->se), SE05X_OK);
    assert_int_equal(el2go_ks_se05x_new(EL2GO_KEYSTORE_ID, f->se, &f->ks), EL2GO_OK);
    assert_int_equal(el2go_ds_plain_new(EL2GO_DATASTORE_ID, &f->cds), EL2GO_OK);
    assert_int_equal(el2go_ds_plain_new(0, &f->ds), EL2GO_OK);
    uint8_t uidb[SE05X_UID_LEN];
    assert_int_equal(se05x_read_uid(f->se, uidb), SE05X_OK);
}

static void engfx_teardown(engfx *f)
{
    el2go_ks_free(f->ks);
    el2go_ds_free(f->cds);
    el2go_ds_free(f->ds);
    se05x_conn_close(f->se);
    el2gs_store_close(f->store);
    el2gs_ca_free(&f->ca);
    tu_rmtree(f->dir);
    free(f->dir);
}

static void test_engine_with_agent(void **state)
{
    (void)state;
    engfx f;
    engfx_setup(&f, "el2gs_eng");

    /* Not allowlisted: refused, nothing written. */
    el2gs_session_result r;
    el2go_status ast;
    int rep;
    session(&f, &r, &ast, &rep);
    assert_int_equal(r.update_status, NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__ERR_DEVICE_NOT_WHITELISTED);
    assert_int_equal(ast, EL2GO_OK);
    assert_int_equal(rep, r.update_status);
    assert_int_equal(el2go_ds_size(f.ds), 0);
    assert_int_equal(el2go_ds_size(f.cds), 0);
    bool ex = true;
    assert_int_equal(se05x_object_exists(f.se, 0x83000101, &ex), SE05X_OK);
    assert_false(ex);

    /* Allowlisted with one object and one service: provisioned. */
    assert_int_equal(el2gs_group_add(f.store, "g"), EL2GO_OK);
    assert_int_equal(el2gs_device_add(f.store, r.uid, "g"), EL2GO_OK);
    el2gs_object o = {.group = "g", .name = "k", .key_id = 0x83000101, .type = EL2GS_KEY_EC_P256};
    assert_int_equal(el2gs_object_add(f.store, &o), EL2GO_OK);
    el2gs_service v = {.group = "g", .id = 101, .type = 0, .hostname = "mqtt.local", .port = 8883,
                       .key_id = 0x83000101, .cert_id = 0x83000102};
    assert_int_equal(el2gs_service_add(f.store, &v), EL2GO_OK);
    session(&f, &r, &ast, &rep);
    assert_int_equal(r.update_status, 1);
    assert_int_equal(rep, 1);
    assert_int_equal(r.rtp_status, NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__SUCCESS);
    assert_int_equal(r.csp_status, NXP__IOT__AGENT_CSP_STATUS__CSP_STATUS__SUCCESS);
    assert_int_equal(r.objects_written, 1);
    assert_true(r.conn_ds_written);
    size_t dlen;
    const uint8_t *dd = el2go_ds_data(f.ds, &dlen);
    assert_int_equal(el2go_dscontent_check(dd, dlen, NULL, 0), EL2GO_OK);
    Nxp__Iot__ServiceDescriptor *sd = NULL;
    assert_int_equal(el2go_service_by_id(dd, dlen, 101, &sd), EL2GO_OK);
    assert_string_equal(sd->hostname, "mqtt.local");
    assert_string_equal(sd->client_id, r.uid);
    assert_int_equal(sd->client_key_sss_ref->object_id, 0x83000101);
    el2go_service_free(sd);
    dd = el2go_ds_data(f.cds, &dlen);
    assert_int_equal(el2go_service_by_index(dd, dlen, 0, &sd), EL2GO_OK);
    assert_string_equal(sd->hostname, "srv.local");
    assert_int_equal(sd->port, 9443);
    el2go_service_free(sd);
    /* The certificate at 0x83000102 matches the key generated at 0x83000101. */
    uint8_t cert[2048], pub[200];
    size_t clen = sizeof(cert), plen = sizeof(pub);
    assert_int_equal(se05x_read_binary(f.se, 0x83000102, cert, &clen), SE05X_OK);
    assert_int_equal(se05x_read_object(f.se, 0x83000101, 0, 0, pub, &plen), SE05X_OK);
    const uint8_t *q = cert;
    X509 *x = d2i_X509(NULL, &q, (long)clen);
    assert_non_null(x);
    uint8_t xpub[200];
    size_t xlen = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(X509_get0_pubkey(x), "encoded-pub-key", xpub,
                                                     sizeof(xpub), &xlen), 1);
    assert_int_equal(xlen, plen);
    assert_memory_equal(xpub, pub, plen);
    X509_free(x);

    /* Nothing to change: NO_CHANGE, nothing written. */
    session(&f, &r, &ast, &rep);
    assert_int_equal(r.update_status, 1);
    assert_int_equal(r.rtp_status, NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__SUCCESS_NO_CHANGE);
    assert_int_equal(r.csp_status, NXP__IOT__AGENT_CSP_STATUS__CSP_STATUS__SUCCESS_NO_CHANGE);
    assert_int_equal(r.objects_written, 0);
    assert_int_equal(r.services_written, 0);
    assert_false(r.conn_ds_written);
    el2gs_device d;
    assert_int_equal(el2gs_device_get(f.store, r.uid, &d), EL2GO_OK);
    assert_int_equal(d.connections, 2);

    /* The server certificate revoked in the CRL: the agent aborts after the
     * CRL, the server sees the link close and sends no goodbye. */
    char p[700], uid[EL2GS_UID_HEX + 1];
    memcpy(uid, r.uid, sizeof(uid));
    snprintf(p, sizeof(p), "%s/server.pem", f.dir);
    FILE *sf = fopen(p, "r");
    X509 *leaf = PEM_read_X509(sf, NULL, NULL, NULL);
    fclose(sf);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
    char *hx = BN_bn2hex(bn);
    snprintf(p, sizeof(p), "%s/revoked.txt", f.dir);
    sf = fopen(p, "w");
    fprintf(sf, "%s\n", hx);
    fclose(sf);
    OPENSSL_free(hx);
    BN_free(bn);
    X509_free(leaf);
    assert_int_not_equal(session_st(&f, &r, &ast, &rep), EL2GO_OK);
    assert_int_equal(ast, EL2GO_ERR_CRL);
    assert_int_equal(r.update_status, 0);
    assert_int_equal(r.uid[0], 0); /* no APDU got through */
    assert_int_equal(el2gs_device_get(f.store, uid, &d), EL2GO_OK);
    assert_int_equal(d.connections, 2);
    engfx_teardown(&f);
}

/* Number of descriptors in the agent's customer datastore (-1: invalid). */
static int ds_services(const engfx *f)
{
    size_t len, n = 0;
    const uint8_t *d = el2go_ds_data(f->ds, &len);
    return el2go_services_count(d, len, &n) == EL2GO_OK ? (int)n : -1;
}

/* Removals seen by the next session: a removed service disappears from the
 * customer datastore, the last one removed empties it (a valid header with
 * no descriptor) while a group that never had services leaves a blank
 * datastore alone; a removed object is no longer provisioned but its key
 * stays on the SE; a group removed with force leaves its devices refused. */
static void test_engine_removals(void **state)
{
    (void)state;
    engfx f;
    engfx_setup(&f, "el2gs_rm");
    el2gs_session_result r;
    el2go_status ast;
    int rep;
    session(&f, &r, &ast, &rep); /* learn the UID: refused */
    char uid[EL2GS_UID_HEX + 1];
    memcpy(uid, r.uid, sizeof(uid));
    assert_int_equal(el2gs_group_add(f.store, "g"), EL2GO_OK);
    assert_int_equal(el2gs_device_add(f.store, uid, "g"), EL2GO_OK);
    el2gs_object o = {.group = "g", .name = "k", .key_id = 0x83000101, .type = EL2GS_KEY_EC_P256};
    assert_int_equal(el2gs_object_add(f.store, &o), EL2GO_OK);

    /* No services yet: the blank datastore is not touched. */
    session(&f, &r, &ast, &rep);
    assert_int_equal(r.update_status, 1);
    assert_int_equal(r.csp_status, NXP__IOT__AGENT_CSP_STATUS__CSP_STATUS__SUCCESS_NO_CHANGE);
    assert_false(r.ds_cleared);
    assert_int_equal(el2go_ds_size(f.ds), 0);

    el2gs_service v = {.group = "g", .id = 101, .type = 0, .hostname = "a.local", .port = 8883};
    assert_int_equal(el2gs_service_add(f.store, &v), EL2GO_OK);
    v.id = 102;
    assert_int_equal(el2gs_service_add(f.store, &v), EL2GO_OK);
    session(&f, &r, &ast, &rep);
    assert_int_equal(r.services_written, 2);
    assert_int_equal(ds_services(&f), 2);

    /* One service removed: rewritten with the other one only. */
    assert_int_equal(el2gs_service_remove(f.store, "g", 101), EL2GO_OK);
    session(&f, &r, &ast, &rep);
    assert_int_equal(r.csp_status, NXP__IOT__AGENT_CSP_STATUS__CSP_STATUS__SUCCESS);
    assert_int_equal(r.services_written, 1);
    assert_int_equal(ds_services(&f), 1);
    size_t len;
    const uint8_t *dd = el2go_ds_data(f.ds, &len);
    Nxp__Iot__ServiceDescriptor *sd = NULL;
    assert_int_equal(el2go_service_by_id(dd, len, 101, &sd), EL2GO_ERR_NOT_FOUND);
    assert_int_equal(el2go_service_by_id(dd, len, 102, &sd), EL2GO_OK);
    el2go_service_free(sd);

    /* The object removed: not provisioned any more (RTP has nothing to do),
     * its key and certificate stay on the SE, its device state is gone. */
    assert_int_equal(el2gs_object_remove(f.store, "g", 0x83000101), EL2GO_OK);
    session(&f, &r, &ast, &rep);
    assert_int_equal(r.update_status, 1);
    assert_int_equal(r.rtp_status, NXP__IOT__AGENT_RTP_STATUS__RTP_STATUS__SUCCESS_NO_CHANGE);
    assert_int_equal(r.objects_written, 0);
    bool ex = false;
    assert_int_equal(se05x_object_exists(f.se, 0x83000101, &ex), SE05X_OK);
    assert_true(ex);
    assert_int_equal(se05x_object_exists(f.se, 0x83000102, &ex), SE05X_OK);
    assert_true(ex);
    int st = -1;
    assert_int_equal(el2gs_devobj_get(f.store, uid, 0x83000101, &st, NULL, 0), EL2GO_OK);
    assert_int_equal(st, 0);

    /* The last service removed: the datastore is emptied, once. */
    assert_int_equal(el2gs_service_remove(f.store, "g", 102), EL2GO_OK);
    session(&f, &r, &ast, &rep);
    assert_int_equal(r.update_status, 1);
    assert_int_equal(rep, 1);
    assert_int_equal(r.csp_status, NXP__IOT__AGENT_CSP_STATUS__CSP_STATUS__SUCCESS);
    assert_true(r.ds_cleared);
    assert_int_equal(r.services_written, 0);
    assert_int_equal(el2go_ds_size(f.ds), EL2GO_DS_HEADER_LEN);
    assert_int_equal(ds_services(&f), 0);
    session(&f, &r, &ast, &rep);
    assert_int_equal(r.csp_status, NXP__IOT__AGENT_CSP_STATUS__CSP_STATUS__SUCCESS_NO_CHANGE);
    assert_false(r.ds_cleared);
    assert_int_equal(ds_services(&f), 0);

    /* The group removed with force: the device is detached and refused,
     * nothing written. */
    v.id = 103;
    assert_int_equal(el2gs_service_add(f.store, &v), EL2GO_OK);
    assert_int_equal(el2gs_group_remove(f.store, "g", false), EL2GO_ERR_STATE);
    assert_int_equal(el2gs_group_remove(f.store, "g", true), EL2GO_OK);
    session(&f, &r, &ast, &rep);
    assert_int_equal(r.update_status,
                     NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__ERR_DEVICE_NOT_WHITELISTED);
    assert_int_equal(ds_services(&f), 0);
    engfx_teardown(&f);
}

/* ---- engine against scripted bad peers ------------------------------- */

typedef struct {
    char *dir;
    el2gs_store *store;
    el2gs_ca ca;
} badfx;

static el2go_status run_script(badfx *f, const uint8_t *in, size_t len, el2gs_session_result *r,
                               el2go_memstream *m)
{
    el2go_stream s;
    el2go_memstream_init(m, in, len, &s);
    el2gs_engine_cfg ec = {.store = f->store, .ca = &f->ca, .dir = f->dir};
    return el2gs_session_run(&ec, &s, r);
}

static size_t frame(const ProtobufCMessage *msg, uint8_t *out)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t v[EL2GO_VARINT_MAX];
    size_t vl = el2go_varint_encode(n, v);
    memcpy(out, v, vl);
    protobuf_c_message_pack(msg, out + vl);
    return vl + n;
}

static void test_engine_bad_peers(void **state)
{
    (void)state;
    badfx f = {0};
    char err[512];
    f.dir = tu_tempdir("el2gs_bad");
    assert_int_equal(el2gs_ca_init(f.dir, "h", false, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(el2gs_ca_load(f.dir, &f.ca, err, sizeof(err)), EL2GO_OK);
    f.store = open_db(f.dir);
    el2gs_session_result r;
    el2go_memstream m;

    /* Malformed Responses. */
    const uint8_t garbage[] = {0x06, 0x0a, 0x04, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(run_script(&f, garbage, sizeof(garbage), &r, &m), EL2GO_ERR_DECODE);
    assert_non_null(strstr(r.err, "malformed Responses"));
    assert_true(m.out_len > 0); /* our hello went out */
    el2go_memstream_free(&m);

    /* EOF before any answer. */
    assert_int_equal(run_script(&f, NULL, 0, &r, &m), EL2GO_ERR_EOF);
    assert_non_null(strstr(r.err, "no response from the agent"));
    el2go_memstream_free(&m);

    /* Two responses to one hello. */
    Nxp__Iot__AgentHelloResponse h;
    nxp__iot__agent_hello_response__init(&h);
    Nxp__Iot__ResponsePayload p = NXP__IOT__RESPONSE_PAYLOAD__INIT;
    p.message_case = NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_HELLO;
    p.hello = &h;
    Nxp__Iot__ResponsePayload *pp[2] = {&p, &p};
    Nxp__Iot__Responses rs = NXP__IOT__RESPONSES__INIT;
    rs.n_responses = 2;
    rs.responses = pp;
    uint8_t buf[256];
    size_t n = frame(&rs.base, buf);
    assert_int_equal(run_script(&f, buf, n, &r, &m), EL2GO_ERR_PROTOCOL);
    assert_non_null(strstr(r.err, "2 responses for 1 requests"));
    el2go_memstream_free(&m);

    /* A hello without a keystore: goodbye ERR_CONFIGURATION. */
    rs.n_responses = 1;
    n = frame(&rs.base, buf);
    assert_int_equal(run_script(&f, buf, n, &r, &m), EL2GO_OK);
    assert_int_equal(r.update_status, NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__ERR_CONFIGURATION);
    /* The second frame written is the goodbye. */
    size_t pos = 0;
    const uint8_t *msg;
    size_t mlen;
    assert_int_equal(el2go_delimited_next(m.out, m.out_len, &pos, &msg, &mlen), EL2GO_OK);
    assert_int_equal(el2go_delimited_next(m.out, m.out_len, &pos, &msg, &mlen), EL2GO_OK);
    Nxp__Iot__EndpointRequests *er = nxp__iot__endpoint_requests__unpack(NULL, mlen, msg);
    assert_non_null(er);
    assert_int_equal(er->n_requests, 1);
    assert_int_equal(er->requests[0]->payload->payload_case, NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_GOODBYE);
    assert_int_equal(er->requests[0]->payload->goodbye->status->status,
                     NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__ERR_CONFIGURATION);
    assert_int_equal(strlen(er->requests[0]->payload->goodbye->status->correlationid), 36);
    nxp__iot__endpoint_requests__free_unpacked(er, NULL);
    el2go_memstream_free(&m);

    el2gs_store_close(f.store);
    el2gs_ca_free(&f.ca);
    tu_rmtree(f.dir);
    free(f.dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the server writes to an agent that aborted */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uid_forms),
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_store_remove),
        cmocka_unit_test(test_ca),
        cmocka_unit_test(test_engine_with_agent),
        cmocka_unit_test(test_engine_removals),
        cmocka_unit_test(test_engine_bad_peers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
