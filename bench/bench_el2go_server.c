/* bench_el2go_server: EdgeLock 2GO provisioning figures (issue 7). Each
 * simulated device is an in-process simulator plus the agent library's
 * dispatcher in a thread, linked to the server engine by a socketpair (no
 * TLS). Prints the time to provision one device (one EC P-256 key pair
 * generated in the SE + certificate + one service descriptor + the
 * connection datastore), the time of a no-change session, and devices per
 * second with N devices provisioned concurrently (argv[1], default 8). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "el2go/agent.h"
#include "el2go/datastore.h"
#include "el2go_server/server.h"
#include "se05x/commands.h"
#include "se05x/conn.h"

typedef struct {
    const char *root;
    el2gs_ca *ca;
    int idx;
    se05x_conn *se;
    el2go_datastore *cds, *ds;
    el2go_keystore *ks;
    char uid[EL2GS_UID_HEX + 1];
    int fd;
    el2go_status agent_st;
    int status, rtp;
} dev;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *agent_main(void *arg)
{
    dev *d = arg;
    el2go_agent_cfg cfg = {.el2go_ds = d->cds, .datastores = {d->ds}, .n_datastores = 1,
                           .keystore = d->ks};
    el2go_fdstream fs;
    el2go_stream s;
    el2go_fdstream_init(&fs, d->fd, d->fd, &s);
    el2go_session_result r = {0};
    d->agent_st = el2go_session_run(&cfg, &s, &r);
    el2go_session_result_clear(&r);
    close(d->fd);
    return NULL;
}

static int dev_open(dev *d)
{
    char cs[700];
    snprintf(cs, sizeof(cs), "sim:%s/se%d", d->root, d->idx);
    uint8_t u[SE05X_UID_LEN];
    if (se05x_conn_open(cs, NULL, &d->se) != SE05X_OK || se05x_read_uid(d->se, u) != SE05X_OK ||
        el2go_ks_se05x_new(EL2GO_KEYSTORE_ID, d->se, &d->ks) != EL2GO_OK ||
        el2go_ds_plain_new(EL2GO_DATASTORE_ID, &d->cds) != EL2GO_OK ||
        el2go_ds_plain_new(0, &d->ds) != EL2GO_OK)
        return -1;
    for (size_t i = 0; i < sizeof(u); i++)
        snprintf(d->uid + 2 * i, 3, "%02X", u[i]);
    return 0;
}

static void dev_close(dev *d)
{
    el2go_ks_free(d->ks);
    el2go_ds_free(d->cds);
    el2go_ds_free(d->ds);
    if (d->se)
        se05x_conn_close(d->se);
}

/* One session: engine here, agent in a thread. */
static int session(dev *d)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    d->fd = sv[1];
    pthread_t t;
    if (pthread_create(&t, NULL, agent_main, d) != 0)
        return -1;
    char db[600], err[256];
    snprintf(db, sizeof(db), "%s/el2go.db", d->root);
    el2gs_store *store = NULL;
    el2go_status st = el2gs_store_open(db, &store, err, sizeof(err));
    el2gs_session_result r = {0};
    if (st == EL2GO_OK) {
        el2gs_engine_cfg ec = {.store = store, .ca = d->ca, .dir = d->root, .hostname = "bench.local",
                               .port = 8443};
        el2go_fdstream fs;
        el2go_stream s;
        el2go_fdstream_init(&fs, sv[0], sv[0], &s);
        st = el2gs_session_run(&ec, &s, &r);
    }
    close(sv[0]);
    pthread_join(t, NULL);
    el2gs_store_close(store);
    d->status = r.update_status;
    d->rtp = r.rtp_status;
    return st == EL2GO_OK && r.update_status == 1 && d->agent_st == EL2GO_OK ? 0 : -1;
}

static void *dev_thread(void *arg)
{
    dev *d = arg;
    if (session(d) != 0)
        d->status = -1;
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 8;
    if (n < 1 || n > 200) {
        fprintf(stderr, "usage: bench_el2go_server [N concurrent devices, 1..200]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    char root[] = "/tmp/bench_el2gs.XXXXXX";
    if (!mkdtemp(root))
        return 1;
    char err[512], db[600];
    el2gs_ca ca;
    el2gs_store *s = NULL;
    snprintf(db, sizeof(db), "%s/el2go.db", root);
    el2gs_object o = {.group = "bench", .name = "k", .key_id = 0x83000101, .type = EL2GS_KEY_EC_P256};
    el2gs_service v = {.group = "bench", .id = 101, .hostname = "mqtt.local", .port = 8883,
                       .key_id = 0x83000101, .cert_id = 0x83000102};
    if (el2gs_ca_init(root, "bench.local", false, err, sizeof(err)) != EL2GO_OK ||
        el2gs_ca_load(root, &ca, err, sizeof(err)) != EL2GO_OK ||
        el2gs_store_open(db, &s, err, sizeof(err)) != EL2GO_OK || el2gs_group_add(s, "bench") ||
        el2gs_object_add(s, &o) || el2gs_service_add(s, &v)) {
        fprintf(stderr, "bench_el2go_server: setup failed: %s\n", err);
        return 1;
    }
    dev *d = calloc((size_t)n + 1, sizeof(*d));
    int rc = 0;
    for (int i = 0; i <= n && !rc; i++) {
        d[i] = (dev){.root = root, .ca = &ca, .idx = i};
        rc = dev_open(&d[i]) || el2gs_device_add(s, d[i].uid, "bench") != EL2GO_OK;
    }
    el2gs_store_close(s);
    if (rc) {
        fprintf(stderr, "bench_el2go_server: cannot open the simulated devices\n");
        return 1;
    }
    double t0 = now();
    rc |= session(&d[0]);
    double t1 = now();
    rc |= session(&d[0]);
    double t2 = now();
    printf("el2go provisioning, one device: %.1f ms (key pair + certificate + service + "
           "connection datastore)\n", (t1 - t0) * 1e3);
    printf("el2go session with nothing to change: %.1f ms\n", (t2 - t1) * 1e3);
    pthread_t *th = calloc((size_t)n, sizeof(*th));
    double t3 = now();
    for (int i = 1; i <= n; i++)
        pthread_create(&th[i - 1], NULL, dev_thread, &d[i]);
    int okc = 0;
    for (int i = 1; i <= n; i++) {
        pthread_join(th[i - 1], NULL);
        okc += d[i].status == 1;
    }
    double t4 = now();
    printf("el2go provisioning, %d concurrent devices: %d ok in %.1f ms, %.1f devices/s\n", n, okc,
           (t4 - t3) * 1e3, okc / (t4 - t3));
    for (int i = 0; i <= n; i++)
        dev_close(&d[i]);
    free(th);
    free(d);
    el2gs_ca_free(&ca);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_el2go_server: could not remove %s\n", root);
    return rc || okc != n ? 1 : 0;
}
