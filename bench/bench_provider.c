/* Signs per second through the se05x OpenSSL provider versus the default
 * provider's software key, in one run: ECDSA P-256 (digest-sign SHA-256)
 * with a software key, with the SE key on the in-process simulator (sim:DIR
 * inside the module) and with the SE key over JRCP to the se05x-sim daemon
 * on loopback. Each SE signature is checked by the default provider. Paths
 * come from this program's location (BUILD/bench): BUILD/provider/se05x.so
 * and BUILD/sim/se05x-sim. Usage: bench_provider [seconds per case]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "bench_util.h"

static int sign_once(OSSL_LIB_CTX *lc, EVP_PKEY *k, unsigned char *sig, size_t *siglen)
{
    static const unsigned char msg[] = "bench message";
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m != NULL && EVP_DigestSignInit_ex(m, NULL, "SHA256", lc, NULL, k, NULL) == 1 &&
             EVP_DigestSign(m, sig, siglen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(m);
    return ok;
}

static int verify_once(EVP_PKEY *pub, const unsigned char *sig, size_t siglen)
{
    static const unsigned char msg[] = "bench message";
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m != NULL && EVP_DigestVerifyInit_ex(m, NULL, "SHA256", NULL, NULL, pub, NULL) == 1 &&
             EVP_DigestVerify(m, sig, siglen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(m);
    return ok;
}

/* Signs per second with k for secs seconds; -1 on a failure. */
static double rate(OSSL_LIB_CTX *lc, EVP_PKEY *k, double secs)
{
    unsigned char sig[128];
    long n = 0;
    double t0 = bench_now(), t;
    do {
        size_t siglen = sizeof(sig);
        if (!sign_once(lc, k, sig, &siglen))
            return -1;
        n++;
    } while ((t = bench_now()) - t0 < secs);
    return (double)n / (t - t0);
}

/* One provider case: a fresh library context whose se05x provider talks
 * to port; prints the rate and returns it (-1 on failure). */
static double provider_case(const char *label, const char *moddir, const char *port, double secs,
                            double base)
{
    setenv("SE05X_PORT", port, 1);
    OSSL_LIB_CTX *lc = OSSL_LIB_CTX_new();
    OSSL_PROVIDER_set_default_search_path(lc, moddir);
    OSSL_PROVIDER *d = OSSL_PROVIDER_load(lc, "default");
    OSSL_PROVIDER *p = OSSL_PROVIDER_load(lc, "se05x");
    EVP_PKEY *k = p != NULL ? bench_store_load(lc, "se05x:0xF0000000", OSSL_STORE_INFO_PKEY) : NULL;
    double r = -1;
    if (k != NULL) {
        unsigned char sig[128];
        size_t siglen = sizeof(sig);
        unsigned char *der = NULL;
        int len = i2d_PUBKEY(k, &der);
        const unsigned char *q = der;
        EVP_PKEY *pub = len > 0 ? d2i_PUBKEY(NULL, &q, len) : NULL;
        if (pub != NULL && sign_once(lc, k, sig, &siglen) && verify_once(pub, sig, siglen))
            r = rate(lc, k, secs);
        EVP_PKEY_free(pub);
        OPENSSL_free(der);
    }
    if (r < 0)
        printf("%-34s FAILED (%s)\n", label, port);
    else
        printf("%-34s %9.0f signs/s  (%.2fx default)\n", label, r, r / base);
    EVP_PKEY_free(k);
    OSSL_PROVIDER_unload(p);
    OSSL_PROVIDER_unload(d);
    OSSL_LIB_CTX_free(lc);
    return r;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    bench_paths bp;
    if (!bench_paths_find(&bp))
        return 1;
    const char *moddir = bp.moddir;

    char tmpl[] = "/tmp/bench_provider.XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (dir == NULL)
        return 1;
    char card1[PATH_MAX], card2[PATH_MAX], port[64];
    snprintf(card1, sizeof(card1), "sim:%s/inproc", dir);
    snprintf(card2, sizeof(card2), "%s/daemon", dir);

    EVP_PKEY *soft = EVP_EC_gen("P-256");
    double base = soft != NULL ? rate(NULL, soft, secs) : -1;
    printf("%-34s %9.0f signs/s\n", "ECDSA P-256, default provider", base);
    EVP_PKEY_free(soft);
    provider_case("ECDSA P-256, se05x in-process", moddir, card1, secs, base);

    pid_t d = bench_daemon_start(bp.sim, card2, port, sizeof(port));
    if (d > 0) {
        provider_case("ECDSA P-256, se05x over JRCP", moddir, port, secs, base);
        bench_daemon_stop(d);
    } else {
        printf("%-34s FAILED (cannot start %s)\n", "ECDSA P-256, se05x over JRCP", bp.sim);
    }
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
