/* TLS 1.3 mutual-TLS handshakes through libssl with the client key in the
 * SE (issue 4): handshakes per second and APDUs per handshake once the key
 * is loaded, against a client with a software key in the same run. Client
 * and server run in this process over a BIO pair (no sockets); the server
 * uses a software P-256 key and requires a client certificate. The SE
 * client uses se05x:0xF0000000 and its certificate se05x:0xF0000001 through
 * our provider, on the in-process simulator (sim:DIR) and over JRCP to a
 * se05x-sim daemon. Usage: bench_tls_handshake [seconds per case]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "bench_util.h"

/* A self-signed certificate for key (software or SE: signed with it). */
static X509 *self_signed(OSSL_LIB_CTX *lc, EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new_ex(lc, NULL);
    X509_NAME *n = X509_NAME_new();
    int ok = x != NULL && n != NULL && X509_set_version(x, X509_VERSION_3) &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
             X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                        -1, 0) &&
             X509_set_subject_name(x, n) && X509_set_issuer_name(x, n) &&
             X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 86400) && X509_set_pubkey(x, key) &&
             X509_sign(x, key, EVP_sha256()) > 0;
    X509_NAME_free(n);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int accept_any(int ok, X509_STORE_CTX *ctx)
{
    (void)ok;
    (void)ctx;
    return 1;
}

/* One full handshake between fresh SSL objects; 1 if both ends finished
 * and the server received the client's certificate. */
static int handshake(SSL_CTX *sctx, SSL_CTX *cctx)
{
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    BIO *bc = NULL, *bs = NULL;
    int done = 0;
    if (c == NULL || s == NULL || !BIO_new_bio_pair(&bc, 0, &bs, 0))
        goto out;
    SSL_set_bio(c, bc, bc);
    SSL_set_bio(s, bs, bs);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    for (int i = 0; i < 32 && done == 0; i++) {
        int rc = SSL_do_handshake(c), rs = SSL_do_handshake(s);
        if (rc == 1 && rs == 1)
            done = 1;
        else if ((rc != 1 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ) ||
                 (rs != 1 && SSL_get_error(s, rs) != SSL_ERROR_WANT_READ))
            done = -1;
    }
    if (done == 1 && SSL_get0_peer_certificate(s) == NULL)
        done = -1;
out:
    SSL_free(c);
    SSL_free(s);
    return done == 1;
}

static uint64_t apdus(OSSL_PROVIDER *p)
{
    uint64_t n = 0;
    OSSL_PARAM q[] = {OSSL_PARAM_uint64("se05x-apdus", &n), OSSL_PARAM_END};
    if (p == NULL || !OSSL_PROVIDER_get_params(p, q))
        return 0;
    return n;
}

/* Handshakes per second for secs seconds (-1 on a failure); *count gets
 * the number done. */
static double rate(SSL_CTX *sctx, SSL_CTX *cctx, double secs, long *count)
{
    long n = 0;
    double t0 = bench_now(), t;
    do {
        if (!handshake(sctx, cctx))
            return -1;
        n++;
    } while ((t = bench_now()) - t0 < secs);
    *count = n;
    return (double)n / (t - t0);
}

static SSL_CTX *client_ctx(OSSL_LIB_CTX *lc, EVP_PKEY *key, X509 *cert)
{
    SSL_CTX *c = SSL_CTX_new_ex(lc, NULL, TLS_client_method());
    if (c == NULL || !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
        SSL_CTX_use_certificate(c, cert) != 1 || SSL_CTX_use_PrivateKey(c, key) != 1) {
        SSL_CTX_free(c);
        return NULL;
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    return c;
}

/* One SE case: a library context whose se05x provider talks to port. */
static void se_case(const char *label, const char *moddir, const char *port, SSL_CTX *sctx,
                    double secs, double base)
{
    setenv("SE05X_PORT", port, 1);
    OSSL_LIB_CTX *lc = OSSL_LIB_CTX_new();
    OSSL_PROVIDER_set_default_search_path(lc, moddir);
    OSSL_PROVIDER *d = OSSL_PROVIDER_load(lc, "default");
    OSSL_PROVIDER *p = OSSL_PROVIDER_load(lc, "se05x");
    EVP_PKEY *key = p != NULL ? bench_store_load(lc, "se05x:0xF0000000", OSSL_STORE_INFO_PKEY)
                              : NULL;
    X509 *cert = key != NULL ? bench_store_load(lc, "se05x:0xF0000001", OSSL_STORE_INFO_CERT)
                             : NULL;
    SSL_CTX *cctx = cert != NULL ? client_ctx(lc, key, cert) : NULL;
    long n = 0;
    double r = -1;
    uint64_t before = 0, after = 0;
    if (cctx != NULL && handshake(sctx, cctx)) { /* warm-up: key loaded, session open */
        before = apdus(p);
        r = rate(sctx, cctx, secs, &n);
        after = apdus(p);
    }
    if (r < 0) {
        printf("%-36s FAILED (%s)\n", label, port);
        ERR_print_errors_fp(stdout);
    } else {
        printf("%-36s %8.0f handshakes/s  (%.2fx software)  %.2f APDUs/handshake\n", label, r,
               r / base, (double)(after - before) / (double)n);
    }
    SSL_CTX_free(cctx);
    X509_free(cert);
    EVP_PKEY_free(key);
    OSSL_PROVIDER_unload(p);
    OSSL_PROVIDER_unload(d);
    OSSL_LIB_CTX_free(lc);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    bench_paths bp;
    char tmpl[] = "/tmp/bench_tls.XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!bench_paths_find(&bp) || dir == NULL)
        return 1;

    EVP_PKEY *skey = EVP_EC_gen("P-256"), *ckey = EVP_EC_gen("P-256");
    X509 *scert = skey != NULL ? self_signed(NULL, skey, "server") : NULL;
    X509 *ccert = ckey != NULL ? self_signed(NULL, ckey, "client") : NULL;
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    if (scert == NULL || ccert == NULL || sctx == NULL ||
        SSL_CTX_use_certificate(sctx, scert) != 1 || SSL_CTX_use_PrivateKey(sctx, skey) != 1) {
        printf("cannot set up the server\n");
        return 1;
    }
    SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    SSL_CTX_set_num_tickets(sctx, 0);

    SSL_CTX *soft = client_ctx(NULL, ckey, ccert);
    long n = 0;
    double base = soft != NULL ? rate(sctx, soft, secs, &n) : -1;
    printf("%-36s %8.0f handshakes/s\n", "TLS 1.3 mutual, software client key", base);

    char card[PATH_MAX + 16], port[64];
    snprintf(card, sizeof(card), "sim:%s/inproc", dir);
    se_case("TLS 1.3 mutual, SE client key inproc", bp.moddir, card, sctx, secs, base);
    snprintf(card, sizeof(card), "%s/daemon", dir);
    pid_t d = bench_daemon_start(bp.sim, card, port, sizeof(port));
    if (d > 0)
        se_case("TLS 1.3 mutual, SE client key JRCP", bp.moddir, port, sctx, secs, base);
    else
        printf("%-36s FAILED (cannot start %s)\n", "TLS 1.3 mutual, SE client key JRCP", bp.sim);
    bench_daemon_stop(d);

    SSL_CTX_free(soft);
    SSL_CTX_free(sctx);
    X509_free(scert);
    X509_free(ccert);
    EVP_PKEY_free(skey);
    EVP_PKEY_free(ckey);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
