/* Signs per second through the se05x OpenSSL provider versus the default
 * provider's software key, in one run: ECDSA P-256 (digest-sign SHA-256)
 * with a software key, with the SE key on the in-process simulator (sim:DIR
 * inside the module) and with the SE key over JRCP to the se05x-sim daemon
 * on loopback. Each SE signature is checked by the default provider. Paths
 * come from this program's location (BUILD/bench): BUILD/provider/se05x.so
 * and BUILD/sim/se05x-sim. Usage: bench_provider [seconds per case]. */
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/x509.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

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
    double t0 = now(), t;
    do {
        size_t siglen = sizeof(sig);
        if (!sign_once(lc, k, sig, &siglen))
            return -1;
        n++;
    } while ((t = now()) - t0 < secs);
    return (double)n / (t - t0);
}

static EVP_PKEY *store_key(OSSL_LIB_CTX *lc, const char *uri)
{
    OSSL_STORE_CTX *sc = OSSL_STORE_open_ex(uri, lc, NULL, NULL, NULL, NULL, NULL, NULL);
    EVP_PKEY *pk = NULL;
    while (sc != NULL && pk == NULL && !OSSL_STORE_eof(sc)) {
        OSSL_STORE_INFO *i = OSSL_STORE_load(sc);
        if (i == NULL)
            break;
        if (OSSL_STORE_INFO_get_type(i) == OSSL_STORE_INFO_PKEY)
            pk = OSSL_STORE_INFO_get1_PKEY(i);
        OSSL_STORE_INFO_free(i);
    }
    OSSL_STORE_close(sc);
    return pk;
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
    EVP_PKEY *k = p != NULL ? store_key(lc, "se05x:0xF0000000") : NULL;
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

static pid_t start_daemon(const char *sim, const char *dir, const char *portfile)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(sim, sim, "--dir", dir, "--port", "0", "--port-file", portfile, "--quiet",
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300 && pid > 0; i++) {
        if (access(portfile, R_OK) == 0) {
            FILE *f = fopen(portfile, "r");
            int port = 0;
            if (f != NULL && fscanf(f, "%d", &port) == 1 && port > 0) {
                fclose(f);
                return pid;
            }
            if (f != NULL)
                fclose(f);
        }
        usleep(100000);
    }
    return -1;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    char exe[PATH_MAX], build[PATH_MAX], moddir[PATH_MAX + 16], sim[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return 1;
    exe[n] = '\0';
    snprintf(build, sizeof(build), "%s", dirname(dirname(exe)));
    snprintf(moddir, sizeof(moddir), "%s/provider", build);
    snprintf(sim, sizeof(sim), "%s/sim/se05x-sim", build);

    char tmpl[] = "/tmp/bench_provider.XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (dir == NULL)
        return 1;
    char card1[PATH_MAX], card2[PATH_MAX], portfile[PATH_MAX], port[64];
    snprintf(card1, sizeof(card1), "sim:%s/inproc", dir);
    snprintf(card2, sizeof(card2), "%s/daemon", dir);
    snprintf(portfile, sizeof(portfile), "%s/port", dir);

    EVP_PKEY *soft = EVP_EC_gen("P-256");
    double base = soft != NULL ? rate(NULL, soft, secs) : -1;
    printf("%-34s %9.0f signs/s\n", "ECDSA P-256, default provider", base);
    EVP_PKEY_free(soft);
    provider_case("ECDSA P-256, se05x in-process", moddir, card1, secs, base);

    pid_t d = start_daemon(sim, card2, portfile);
    if (d > 0) {
        FILE *f = fopen(portfile, "r");
        int p = 0;
        if (f != NULL) {
            if (fscanf(f, "%d", &p) != 1)
                p = 0;
            fclose(f);
        }
        snprintf(port, sizeof(port), "127.0.0.1:%d", p);
        provider_case("ECDSA P-256, se05x over JRCP", moddir, port, secs, base);
        kill(d, SIGTERM);
        waitpid(d, NULL, 0);
    } else {
        printf("%-34s FAILED (cannot start %s)\n", "ECDSA P-256, se05x over JRCP", sim);
    }
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
