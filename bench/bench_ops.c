/* bench_ops: APDUs and bytes per operation, and operations per second, for
 * the operations that dominate TLS and provisioning on an SE05x: P-256
 * ECDSA sign with a factory key, public-key read, and a 1 KB certificate
 * read (ReadSize + 500-byte ReadObject chunks). Measured over the in-process
 * link and over JRCP v1 on loopback against the same simulator directory,
 * each in plain and with platform SCP03 (the simulator's default SE050E
 * development keys, written to a key file in the card directory).
 * On a real chip every APDU round trip costs milliseconds, so the APDU and
 * byte counts are the figures that transfer; ops/s shows host overhead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "se05x/commands.h"
#include "se05x/conn.h"
#include "se05x/scp03.h"
#include "sesim/servers.h"
#include "sesim/sesim.h"

#define KEY_ID 0xF0000000u
#define CERT_ID 0xEF000100u

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef se05x_status (*op_fn)(se05x_conn *c);

static se05x_status op_sign(se05x_conn *c)
{
    uint8_t digest[32], sig[80];
    size_t slen = sizeof(sig);
    memset(digest, 0x5A, sizeof(digest));
    return se05x_ecdsa_sign(c, KEY_ID, SE05X_ECSIGN_SHA256, digest, sizeof(digest), sig, &slen);
}

static se05x_status op_pub(se05x_conn *c)
{
    uint8_t pub[160];
    size_t len = sizeof(pub);
    return se05x_read_object(c, KEY_ID, 0, 0, pub, &len);
}

static se05x_status op_cert(se05x_conn *c)
{
    uint8_t cert[2048];
    size_t len = sizeof(cert);
    return se05x_read_binary(c, CERT_ID, cert, &len);
}

static int run(const char *name, const char *link, se05x_conn *c, op_fn fn, double secs)
{
    se05x_counters ctr;
    se05x_conn_counters_reset(c);
    if (fn(c) != SE05X_OK) {
        fprintf(stderr, "bench: %s over %s failed: %s\n", name, link, se05x_conn_errmsg(c));
        return 1;
    }
    se05x_conn_counters(c, &ctr);
    unsigned long n = 0;
    double t0 = now(), t;
    do {
        if (fn(c) != SE05X_OK) {
            fprintf(stderr, "bench: %s over %s failed: %s\n", name, link, se05x_conn_errmsg(c));
            return 1;
        }
        n++;
        t = now();
    } while (t - t0 < secs);
    printf("%-28s %-10s %8llu %13llu %13llu %10.0f\n", name, link, (unsigned long long)ctr.apdus,
           (unsigned long long)ctr.bytes_tx, (unsigned long long)ctr.bytes_rx, (double)n / (t - t0));
    return 0;
}

/* A key file with the simulator's default platform SCP03 keys in dir. */
static int write_keyfile(const char *dir, char *path, size_t cap)
{
    static const uint8_t *const keys[3] = {se05x_scp03_se050e_enc, se05x_scp03_se050e_mac,
                                           se05x_scp03_se050e_dek};
    static const char *const names[3] = {"ENC", "MAC", "DEK"};
    snprintf(path, cap, "%s/bench-scp03-keys.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int k = 0; k < 3; k++) {
        fprintf(f, "%s ", names[k]);
        for (int i = 0; i < 16; i++)
            fprintf(f, "%02X", keys[k][i]);
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static se05x_conn *open_or_die(const char *cs, const char *keyfile)
{
    se05x_conn_opts o = {.scp03_keyfile = keyfile};
    se05x_conn *c = NULL;
    char err[300] = "";
    if (se05x_conn_open_err(cs, &o, &c, err, sizeof(err)) != SE05X_OK) {
        fprintf(stderr, "bench: cannot open %s%s: %s\n", cs, keyfile ? " with SCP03" : "", err);
        exit(1);
    }
    return c;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    char dir[] = "/tmp/se05x-bench-XXXXXX";
    char cs_sim[64], cs_jrcp[64];
    if (secs <= 0 || !mkdtemp(dir)) {
        fprintf(stderr, "usage: bench_ops [SECONDS_PER_CASE]\n");
        return 2;
    }
    snprintf(cs_sim, sizeof(cs_sim), "sim:%s", dir);
    char keyfile[128];
    if (write_keyfile(dir, keyfile, sizeof(keyfile)) != 0) {
        fprintf(stderr, "bench: cannot write %s\n", keyfile);
        return 1;
    }
    se05x_conn *in = open_or_die(cs_sim, NULL), *in_scp = open_or_die(cs_sim, keyfile);
    /* a 1 KB certificate-sized binary object */
    uint8_t blob[1024];
    for (size_t i = 0; i < sizeof(blob); i++)
        blob[i] = (uint8_t)(i * 7);
    bool exists = false;
    se05x_object_exists(in, CERT_ID, &exists);
    if (!exists && se05x_write_binary(in, NULL, CERT_ID, blob, sizeof(blob), false) != SE05X_OK) {
        fprintf(stderr, "bench: cannot write the test object: %s\n", se05x_conn_errmsg(in));
        return 1;
    }
    /* JRCP server on loopback, on its own card handle of the same directory */
    sesim *card;
    sesim_opts o;
    sesim_opts_default(&o);
    o.quiet = true;
    sesim_jrcp_server *srv;
    if (sesim_open(dir, &o, &card) != SE05X_OK) {
        fprintf(stderr, "bench: cannot open the card\n");
        return 1;
    }
    sesim_card_if cif = sesim_card_if_for(card);
    if (sesim_jrcp_server_start(&cif, "127.0.0.1", 0, &srv) != SE05X_OK) {
        fprintf(stderr, "bench: cannot start the JRCP server\n");
        return 1;
    }
    snprintf(cs_jrcp, sizeof(cs_jrcp), "127.0.0.1:%u", sesim_jrcp_server_port(srv));
    se05x_conn *net = open_or_die(cs_jrcp, NULL), *net_scp = open_or_die(cs_jrcp, keyfile);
    printf("%-28s %-10s %8s %13s %13s %10s\n", "operation", "link", "APDUs/op", "bytes->SE/op",
           "bytes<-SE/op", "ops/s");
    int rc = 0;
    struct {
        const char *name;
        op_fn fn;
    } ops[] = {{"P-256 ECDSA sign (SHA-256)", op_sign},
               {"EC public key read", op_pub},
               {"1 KB certificate read", op_cert}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        rc |= run(ops[i].name, "inproc", in, ops[i].fn, secs);
        rc |= run(ops[i].name, "jrcp", net, ops[i].fn, secs);
        rc |= run(ops[i].name, "inproc+scp", in_scp, ops[i].fn, secs);
        rc |= run(ops[i].name, "jrcp+scp", net_scp, ops[i].fn, secs);
    }
    se05x_conn_close(net_scp);
    se05x_conn_close(net);
    se05x_conn_close(in_scp);
    se05x_conn_close(in);
    sesim_jrcp_server_stop(srv);
    sesim_close(card);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: could not remove %s\n", dir);
    return rc;
}
