/* bench_psa: PSA psa_sign_hash per second through the SE05x PSA driver
 * (factory key 0xF0000000 registered as a PSA key, simulator in-process)
 * versus mbedTLS's software ECDSA P-256 in the same run, plus APDUs and
 * bytes per driver signature. Runs in a temporary directory (simulator
 * state and PSA's ITS files) that it removes at the end. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <psa/crypto.h>

#include "se05x_psa.h"

#define SE_KEY 0xF0000000u
#define PSA_KEY ((psa_key_id_t)0x3F000000)
#define SECONDS 1.0

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Signatures per second with key id; -1 on error. */
static double rate(psa_key_id_t id, unsigned long *count)
{
    uint8_t hash[32], sig[PSA_SIGNATURE_MAX_SIZE];
    size_t siglen;
    unsigned long n = 0;
    double t0 = now(), t;
    do {
        memset(hash, (int)(n & 0xFF), sizeof(hash));
        if (psa_sign_hash(id, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, sizeof(hash), sig,
                          sizeof(sig), &siglen) != PSA_SUCCESS)
            return -1;
        n++;
        t = now() - t0;
    } while (t < SECONDS);
    *count = n;
    return (double)n / t;
}

static int run(const char *dir, sss_session *s)
{
    se05x_psa_core *core;
    if (se05x_psa_core_new_session(s, &core) != PSA_SUCCESS ||
        se05x_psa_register(core) != PSA_SUCCESS ||
        psa_crypto_init() != PSA_SUCCESS) {
        fprintf(stderr, "bench_psa: PSA/driver initialisation failed\n");
        return 1;
    }
    int rc = 1;
    psa_key_id_t soft = 0;
    if (se05x_psa_register_object(PSA_KEY, SE_KEY, PSA_KEY_USAGE_SIGN_HASH,
                                  PSA_ALG_ECDSA(PSA_ALG_SHA_256), 0) != PSA_SUCCESS) {
        fprintf(stderr, "bench_psa: %s\n", se05x_psa_core_errmsg(core));
        goto out;
    }
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
    if (psa_generate_key(&a, &soft) != PSA_SUCCESS)
        goto out;

    unsigned long n_se = 0, n_sw = 0;
    sss_counters c0, c1;
    rate(PSA_KEY, &n_se); /* warm-up: opens the key (cached afterwards) */
    sss_session_counters(s, &c0);
    double se = rate(PSA_KEY, &n_se);
    sss_session_counters(s, &c1);
    double sw = rate(soft, &n_sw);
    if (se < 0 || sw < 0) {
        fprintf(stderr, "bench_psa: signing failed: %s\n", se05x_psa_core_errmsg(core));
        goto out;
    }
    printf("PSA sign_hash ECDSA P-256/SHA-256, %.0f s each (simulator state in %s)\n", SECONDS,
           dir);
    printf("  %-44s %10.1f sign/s\n", "SE05x driver, key 0xF0000000 (sim in-process)", se);
    printf("  %-44s %10.1f sign/s\n", "mbedTLS software key", sw);
    printf("  driver: %.2f APDUs, %.1f bytes out, %.1f bytes in per signature\n",
           (double)(c1.apdus - c0.apdus) / (double)n_se,
           (double)(c1.bytes_tx - c0.bytes_tx) / (double)n_se,
           (double)(c1.bytes_rx - c0.bytes_rx) / (double)n_se);
    rc = 0;
out:
    if (soft)
        psa_destroy_key(soft);
    psa_destroy_key(PSA_KEY); /* unregisters; the factory object stays */
    mbedtls_psa_crypto_free();
    se05x_psa_unregister();
    return rc;
}

int main(void)
{
    char tmpl[] = "/tmp/bench_psa-XXXXXX";
    char *dir = mkdtemp(tmpl);
    char cwd[4096], cs[600];
    if (!dir || !getcwd(cwd, sizeof(cwd)) || chdir(dir) != 0) {
        perror("bench_psa: temporary directory");
        return 1;
    }
    snprintf(cs, sizeof(cs), "sim:%s/se", dir);
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X, .connstr = cs};
    sss_session *s = NULL;
    char err[256];
    int rc = 1;
    if (sss_session_open(&cfg, &s, err, sizeof(err)) != SSS_OK)
        fprintf(stderr, "bench_psa: %s\n", err);
    else
        rc = run(dir, s);
    sss_session_close(s);
    if (chdir(cwd) != 0)
        rc = 1;
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
