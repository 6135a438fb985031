/* The agent's TLS client (agent/src/tls.c) against an in-process TLS
 * server on loopback (libssl, a CA + server certificate made here, client
 * certificates required from the simulator's factory CA): configuration
 * errors (no roots, garbage roots, no provider module, bad connection
 * string), PEM roots files, the SE key/certificate through the se05x
 * provider on the in-process simulator (EC pair by default, explicit RSA
 * pair, RSA fallback when the EC key is absent, neither pair, missing key,
 * mismatched pair, SE unreachable), connect errors
 * (no host, nothing listening, handshake timeout, untrusted server, host
 * name mismatch), and a session: frames both ways over el2go_stream, the
 * server sees the SE's certificate, the peer chain copy (leaf first)
 * survives TLS 1.3 tickets, read timeout, graceful close. The provider
 * module is build/provider/se05x.so; without it those tests are skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <libgen.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "el2go/crl.h"
#include "el2go/frame.h"
#include "el2go/tls.h"
#include "testutil.h"

static char g_moddir[1024];
static bool g_have_module;

/* ---- a small PKI -------------------------------------------------------- */

typedef struct {
    EVP_PKEY *ca_key, *srv_key;
    X509 *ca, *srv;
} pki;

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, bool ca,
                       const char *san)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509_set_pubkey(x, key);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e =
        X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    if (san) {
        e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
    return x;
}

static void pki_make(pki *p, const char *san)
{
    p->ca_key = EVP_EC_gen("P-256");
    p->srv_key = EVP_EC_gen("P-256");
    assert_non_null(p->ca_key);
    assert_non_null(p->srv_key);
    p->ca = make_cert("Unit Test Root", p->ca_key, NULL, p->ca_key, true, NULL);
    p->srv = make_cert("unit server", p->srv_key, p->ca, p->ca_key, false, san);
}

static void pki_free(pki *p)
{
    EVP_PKEY_free(p->ca_key);
    EVP_PKEY_free(p->srv_key);
    X509_free(p->ca);
    X509_free(p->srv);
}

static uint8_t *der_of(X509 *x, size_t *len)
{
    uint8_t *d = NULL;
    int n = i2d_X509(x, &d);
    assert_true(n > 0);
    *len = (size_t)n;
    return d;
}

/* ---- the server --------------------------------------------------------- */

typedef enum { SRV_ECHO, SRV_SILENT, SRV_NO_TLS } srv_mode;

typedef struct {
    int lfd;
    uint16_t port;
    srv_mode mode;
    SSL_CTX *ctx;
    pthread_t th;
    X509 *client_cert; /* what the client presented */
    bool handshake_ok;
} server;

static void *server_main(void *arg)
{
    server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    if (s->mode == SRV_NO_TLS) { /* never answer: wait for the client to give up */
        char b[64];
        while (read(fd, b, sizeof(b)) > 0)
            ;
        close(fd);
        return NULL;
    }
    SSL *ssl = SSL_new(s->ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
        s->handshake_ok = true;
        s->client_cert = SSL_get1_peer_certificate(ssl);
        uint8_t buf[512];
        size_t got;
        if (s->mode == SRV_ECHO) {
            while (SSL_read_ex(ssl, buf, sizeof(buf), &got) == 1) {
                size_t put;
                SSL_write_ex(ssl, buf, got, &put);
            }
        } else {
            while (SSL_read_ex(ssl, buf, sizeof(buf), &got) == 1)
                ;
        }
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    close(fd);
    return NULL;
}

static void server_start(server *s, srv_mode mode, const pki *p, const char *client_ca)
{
    memset(s, 0, sizeof(*s));
    s->mode = mode;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    socklen_t al = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    if (mode != SRV_NO_TLS) {
        s->ctx = SSL_CTX_new(TLS_server_method());
        assert_int_equal(SSL_CTX_use_certificate(s->ctx, p->srv), 1);
        assert_int_equal(SSL_CTX_add1_chain_cert(s->ctx, p->ca), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, p->srv_key), 1);
        assert_int_equal(SSL_CTX_load_verify_locations(s->ctx, client_ca, NULL), 1);
        SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void server_stop(server *s)
{
    shutdown(s->lfd, SHUT_RDWR);
    pthread_join(s->th, NULL);
    close(s->lfd);
    SSL_CTX_free(s->ctx);
}

/* ---- fixture: a simulator directory --------------------------------------- */

typedef struct {
    char *dir;
    char se[600];
    char factory_ca[600];
    pki p;
    uint8_t *roots;
    size_t roots_len;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_tempdir("el2go_tls");
    snprintf(f->se, sizeof(f->se), "sim:%s", f->dir);
    snprintf(f->factory_ca, sizeof(f->factory_ca), "%s/factory-ca.pem", f->dir);
    pki_make(&f->p, "DNS:localhost");
    f->roots = der_of(f->p.ca, &f->roots_len);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    pki_free(&f->p);
    OPENSSL_free(f->roots);
    free(f);
    return 0;
}

static el2go_tls_cfg base_cfg(const fixture *f)
{
    return (el2go_tls_cfg){.se = f->se,
                           .provider_dir = g_moddir,
                           .roots = f->roots,
                           .roots_len = f->roots_len,
                           .io_timeout_ms = 5000};
}

#define NEED_MODULE()                                                                              \
    do {                                                                                           \
        if (!g_have_module)                                                                        \
            skip();                                                                                \
    } while (0)

/* ---- configuration errors ---------------------------------------------------- */

static void test_config_errors(void **state)
{
    fixture *f = *state;
    el2go_tls *t = (el2go_tls *)0x1;
    el2go_tls_failure why;
    char err[300];
    el2go_tls_cfg c = base_cfg(f);
    c.roots = NULL;
    c.roots_len = 0;
    assert_int_not_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_CONFIG);
    assert_non_null(strstr(err, "no trusted root"));
    assert_null(t);

    const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    c = base_cfg(f);
    c.roots = junk;
    c.roots_len = sizeof(junk);
    if (g_have_module) {
        assert_int_not_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
        assert_int_equal(why, EL2GO_TLS_CONFIG);
        assert_non_null(strstr(err, "no trusted root"));
    }

    c = base_cfg(f);
    c.provider_dir = f->dir; /* no se05x.so there */
    assert_int_not_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_CONFIG);
    assert_non_null(strstr(err, "se05x.so not found"));

    if (g_have_module) {
        c = base_cfg(f);
        c.se = "sim:/tmp/x\nmodule = /evil.so";
        assert_int_not_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
        assert_int_equal(why, EL2GO_TLS_CONFIG);
        assert_non_null(strstr(err, "unsupported characters"));
        /* the SCP03 key file path goes into the same configuration text */
        static const char *const bad_keyfiles[] = {"/tmp/k\nmodule = /evil.so", "/tmp/k;x",
                                                   "/tmp/$HOME", "/tmp/k#x", "/tmp/k=x",
                                                   "/tmp/\"k\"", ""};
        for (size_t i = 0; i < sizeof(bad_keyfiles) / sizeof(bad_keyfiles[0]); i++) {
            c = base_cfg(f);
            c.scp03_keyfile = bad_keyfiles[i];
            assert_int_not_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
            assert_int_equal(why, EL2GO_TLS_CONFIG);
            if (!strstr(err, "SCP03 key file path contains unsupported characters"))
                fail_msg("key file '%s': %s", bad_keyfiles[i], err);
            assert_null(t);
        }
    }
    assert_string_equal(el2go_tls_failure_name(EL2GO_TLS_HOSTNAME), "hostname mismatch");
}

static void test_pem_roots(void **state)
{
    fixture *f = *state;
    char path[700];
    snprintf(path, sizeof(path), "%s/roots.pem", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("some text before\n", fp);
    PEM_write_X509(fp, f->p.ca);
    PEM_write_X509(fp, f->p.srv);
    fclose(fp);
    uint8_t *der;
    size_t len;
    char err[300];
    assert_int_equal(el2go_pem_file_to_der(path, &der, &len, err, sizeof(err)), EL2GO_OK);
    STACK_OF(X509) *sk = el2go_der_certs(der, len);
    assert_non_null(sk);
    assert_int_equal(sk_X509_num(sk), 2);
    assert_int_equal(X509_cmp(sk_X509_value(sk, 0), f->p.ca), 0);
    sk_X509_pop_free(sk, X509_free);
    free(der);

    fp = fopen(path, "w");
    fputs("-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n", fp);
    fclose(fp);
    assert_int_equal(el2go_pem_file_to_der(path, &der, &len, err, sizeof(err)),
                     EL2GO_ERR_INVALID);
    assert_null(der);
    assert_non_null(strstr(err, "no PEM certificate"));
    snprintf(path, sizeof(path), "%s/missing.pem", f->dir);
    assert_int_equal(el2go_pem_file_to_der(path, &der, &len, err, sizeof(err)), EL2GO_ERR_IO);
    assert_non_null(strstr(err, "cannot read"));
}

/* ---- the SE key and certificate --------------------------------------------------- */

static void test_client_pairs(void **state)
{
    NEED_MODULE();
    fixture *f = *state;
    el2go_tls *t = NULL;
    el2go_tls_failure why;
    char err[400];
    el2go_tls_cfg c = base_cfg(f);
    assert_int_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
    uint32_t k, ce;
    el2go_tls_client_ids(t, &k, &ce);
    assert_int_equal(k, EL2GO_KEY_ECC);
    assert_int_equal(ce, EL2GO_CERT_ECC);
    X509 *x = el2go_tls_client_cert(t);
    assert_non_null(x);
    char cn[64] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    assert_int_equal(strlen(cn), 36); /* the UID in hex */
    EVP_PKEY *pub = X509_get0_pubkey(x);
    assert_true(EVP_PKEY_is_a(pub, "EC"));
    el2go_tls_free(t);

    c.key_id = EL2GO_KEY_RSA;
    c.cert_id = EL2GO_CERT_RSA;
    assert_int_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
    assert_true(EVP_PKEY_is_a(X509_get0_pubkey(el2go_tls_client_cert(t)), "RSA"));
    el2go_tls_free(t);

    c.key_id = 0xF0001234u;
    c.cert_id = EL2GO_CERT_ECC;
    assert_int_not_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_NO_KEY);
    assert_non_null(strstr(err, "0xF0001234"));

    c.key_id = EL2GO_KEY_ECC;
    c.cert_id = EL2GO_CERT_RSA;
    assert_int_not_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_NO_KEY);
    assert_non_null(strstr(err, "does not match"));

    c.key_id = EL2GO_KEY_ECC;
    c.cert_id = EL2GO_KEY_RSA; /* a key, not a certificate */
    assert_int_not_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_NO_KEY);

    /* the EC key gone (a simulator store file removed): the RSA pair */
    char obj[700];
    snprintf(obj, sizeof(obj), "%s/objects/F0000000.obj", f->dir);
    assert_int_equal(unlink(obj), 0);
    c = base_cfg(f);
    assert_int_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
    el2go_tls_client_ids(t, &k, &ce);
    assert_int_equal(k, EL2GO_KEY_RSA);
    assert_int_equal(ce, EL2GO_CERT_RSA);
    el2go_tls_free(t);
    /* neither pair */
    snprintf(obj, sizeof(obj), "%s/objects/F0000004.obj", f->dir);
    assert_int_equal(unlink(obj), 0);
    assert_int_not_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_NO_KEY);
    assert_non_null(strstr(err, "RSA fallback"));

    c = base_cfg(f);
    c.se = "127.0.0.1:1";
    assert_int_not_equal(el2go_tls_new(&c, &t, &why, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_SE);
    assert_non_null(strstr(err, "SE unreachable"));
}

/* ---- connections -------------------------------------------------------------- */

static el2go_tls *new_client(fixture *f, unsigned io_ms)
{
    el2go_tls *t = NULL;
    char err[400];
    el2go_tls_cfg c = base_cfg(f);
    c.io_timeout_ms = io_ms;
    assert_int_equal(el2go_tls_new(&c, &t, NULL, err, sizeof(err)), EL2GO_OK);
    return t;
}

static void test_connect_errors(void **state)
{
    NEED_MODULE();
    fixture *f = *state;
    el2go_tls *t = new_client(f, 300);
    el2go_tls_failure why;
    char err[400];
    assert_int_not_equal(el2go_tls_connect(t, "", 443, &why, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_CONFIG);

    server s;
    server_start(&s, SRV_NO_TLS, &f->p, f->factory_ca);
    uint16_t port = s.port;
    assert_int_not_equal(el2go_tls_connect(t, "127.0.0.1", s.port, &why, err, sizeof(err)),
                         EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_HANDSHAKE);
    if (!strstr(err, "timed out"))
        fail_msg("%s", err);
    server_stop(&s);
    /* the port is closed now */
    assert_int_not_equal(el2go_tls_connect(t, "127.0.0.1", port, &why, err, sizeof(err)),
                         EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_CONNECT);
    assert_int_not_equal(el2go_tls_connect(t, "no-such-host.invalid", port, &why, err,
                                           sizeof(err)),
                         EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_CONNECT);
    assert_non_null(strstr(err, "cannot resolve"));

    /* the server's certificate is for localhost, not for the IP literal */
    server_start(&s, SRV_ECHO, &f->p, f->factory_ca);
    assert_int_not_equal(el2go_tls_connect(t, "127.0.0.1", s.port, &why, err, sizeof(err)),
                         EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_HOSTNAME);
    server_stop(&s);

    /* a server under another root */
    pki other;
    pki_make(&other, "DNS:localhost");
    server_start(&s, SRV_ECHO, &other, f->factory_ca);
    assert_int_not_equal(el2go_tls_connect(t, "localhost", s.port, &why, err, sizeof(err)),
                         EL2GO_OK);
    assert_int_equal(why, EL2GO_TLS_UNTRUSTED);
    assert_non_null(strstr(err, "untrusted server certificate"));
    server_stop(&s);
    pki_free(&other);
    el2go_tls_free(t);
}

static void test_session(void **state)
{
    NEED_MODULE();
    fixture *f = *state;
    el2go_tls *t = new_client(f, 5000);
    server s;
    server_start(&s, SRV_ECHO, &f->p, f->factory_ca);
    char err[400];
    el2go_tls_failure why;
    assert_int_equal(el2go_tls_connect(t, "localhost", s.port, &why, err, sizeof(err)), EL2GO_OK);
    assert_string_equal(el2go_tls_version(t), "TLSv1.3");
    el2go_stream st;
    el2go_tls_stream(t, &st);
    const uint8_t m1[] = "hello over TLS";
    uint8_t big[3000];
    memset(big, 0xA5, sizeof(big));
    assert_int_equal(el2go_frame_write(&st, m1, sizeof(m1)), EL2GO_OK);
    assert_int_equal(el2go_frame_write(&st, big, sizeof(big)), EL2GO_OK);
    uint8_t *got;
    size_t len;
    assert_int_equal(el2go_frame_read(&st, 1 << 20, &got, &len), EL2GO_OK);
    assert_memory_equal(got, m1, sizeof(m1));
    free(got);
    assert_int_equal(el2go_frame_read(&st, 1 << 20, &got, &len), EL2GO_OK);
    assert_int_equal(len, sizeof(big));
    free(got);
    /* the chain copy: leaf first, then the CA; verifiable after tickets */
    STACK_OF(X509) *chain = el2go_tls_peer_chain(t);
    assert_non_null(chain);
    assert_int_equal(sk_X509_num(chain), 2);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 0), f->p.srv), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 1), f->p.ca), 0);
    el2go_tls_close(t, true);
    assert_null(el2go_tls_peer_chain(t));
    assert_int_equal(st.read(st.ctx, big, 1), -1); /* closed */
    server_stop(&s);
    assert_true(s.handshake_ok);
    assert_non_null(s.client_cert);
    /* the server saw the SE's certificate */
    assert_int_equal(X509_cmp(s.client_cert, el2go_tls_client_cert(t)), 0);
    X509_free(s.client_cert);
    el2go_tls_free(t);
}

static void test_read_timeout(void **state)
{
    NEED_MODULE();
    fixture *f = *state;
    el2go_tls *t = new_client(f, 300);
    server s;
    server_start(&s, SRV_SILENT, &f->p, f->factory_ca);
    char err[400];
    assert_int_equal(el2go_tls_connect(t, "localhost", s.port, NULL, err, sizeof(err)), EL2GO_OK);
    el2go_stream st;
    el2go_tls_stream(t, &st);
    uint8_t *got = NULL;
    size_t len;
    assert_int_equal(el2go_frame_read(&st, 1 << 20, &got, &len), EL2GO_ERR_IO);
    assert_int_equal(el2go_tls_io_failure(t, err, sizeof(err)), EL2GO_TLS_IO);
    assert_non_null(strstr(err, "timed out"));
    el2go_tls_close(t, false);
    el2go_tls_close(t, false); /* twice is fine */
    server_stop(&s);
    X509_free(s.client_cert);
    el2go_tls_free(t);
}

int main(void)
{
    /* the module sits in <build>/provider, the simulator in <build>/sim */
    char bin[1024];
    snprintf(bin, sizeof(bin), "%s", SE05X_SIM_BIN);
    char *simdir = dirname(bin);
    snprintf(g_moddir, sizeof(g_moddir), "%s/../provider", simdir);
    char mod[1100];
    snprintf(mod, sizeof(mod), "%s/se05x.so", g_moddir);
    g_have_module = access(mod, R_OK) == 0;
    if (!g_have_module)
        fprintf(stderr, "note: %s not built; provider tests skipped\n", mod);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pem_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_timeout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
