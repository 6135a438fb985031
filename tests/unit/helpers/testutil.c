/* Shared test helpers (see testutil.h). */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "se05x/tlv.h"

#ifndef SE05X_SIM_BIN
#define SE05X_SIM_BIN "se05x-sim"
#endif

char *tu_tempdir(const char *tag)
{
    const char *base = getenv("SE05X_TEST_TMP");
    char path[1024];
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0700);
    snprintf(path, sizeof(path), "%s/%s-XXXXXX", base, tag);
    if (!mkdtemp(path))
        return NULL;
    return strdup(path);
}

void tu_rmtree(const char *path)
{
    char cmd[1200];
    if (!path || !*path || strcmp(path, "/") == 0)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int tu_daemon_start(tu_daemon *d, const char *dir, const char *const *extra)
{
    return tu_daemon_start_on(d, dir, 0, extra);
}

int tu_write_scp03_keys(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("# platform SCP03 test keys of the simulator\n"
          "ENC 35C256458958A34F6136155F8209D6CD\nMAC AF177D5DBDF7C0D5C10A05B9F1607F78\n"
          "DEK A1BC8438BF77935B361A4425FE79FA29\n",
          f);
    return fclose(f) == 0 ? 0 : -1;
}

int tu_scp03_daemon_start(tu_daemon *d, const char *dir, const char *keyfile, char *conn,
                          size_t connlen)
{
    const char *extra[] = {"--require-scp", "--scp03-keys", keyfile, NULL};
    if (tu_daemon_start(d, dir, extra) != 0) {
        fprintf(stderr, "cannot start se05x-sim\n");
        return -1;
    }
    snprintf(conn, connlen, "127.0.0.1:%u", d->port);
    return 0;
}

int tu_daemon_start_on(tu_daemon *d, const char *dir, uint16_t port, const char *const *extra)
{
    const char *argv[32];
    char portarg[8];
    int n = 0;
    snprintf(portarg, sizeof(portarg), "%u", port);
    snprintf(d->portfile, sizeof(d->portfile), "%s.port", dir);
    unlink(d->portfile);
    argv[n++] = "se05x-sim";
    argv[n++] = "--dir";
    argv[n++] = dir;
    argv[n++] = "--port";
    argv[n++] = portarg;
    argv[n++] = "--port-file";
    argv[n++] = d->portfile;
    argv[n++] = "--quiet";
    for (int i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    d->pid = fork();
    if (d->pid < 0)
        return -1;
    if (d->pid == 0) {
        execv(SE05X_SIM_BIN, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 3000; i++) { /* up to 30 s (first start generates keys) */
        FILE *f = fopen(d->portfile, "r");
        if (f) {
            unsigned p = 0;
            int ok = fscanf(f, "%u", &p);
            fclose(f);
            if (ok == 1 && p > 0 && p < 65536) {
                d->port = (uint16_t)p;
                return 0;
            }
        }
        int st;
        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
            d->pid = 0;
            return -1;
        }
        msleep(10);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    return -1;
}

int tu_daemon_stop(tu_daemon *d, int hard)
{
    int st = -1;
    if (d->pid <= 0)
        return -1;
    kill(d->pid, hard ? SIGKILL : SIGTERM);
    while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
        ;
    d->pid = 0;
    return st;
}

se05x_status tu_write_binary(se05x_conn *c, uint32_t id, const uint8_t *data, size_t len, int create,
                             uint16_t *sw)
{
    uint8_t buf[1024];
    se05x_tlvw w;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    if (create)
        se05x_tlvw_u16(&w, SE05X_TAG_3, (uint16_t)len);
    se05x_tlvw_bytes(&w, SE05X_TAG_4, data, len);
    if (se05x_tlvw_status(&w) != SE05X_OK)
        return SE05X_ERR_BUFFER;
    se05x_apdu a = {.cla = 0x80, .ins = 0x01, .p1 = 0x06, .p2 = 0x00, .data = buf, .lc = w.len};
    size_t rl;
    uint8_t r[16];
    return se05x_conn_apdu(c, &a, r, sizeof(r), &rl, sw);
}

se05x_status tu_read_object(se05x_conn *c, uint32_t id, uint16_t len, uint8_t *out, size_t cap,
                            size_t *olen, uint16_t *sw)
{
    uint8_t buf[32], r[SE05X_APDU_MAX];
    size_t rl;
    se05x_tlvw w;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_tlvw_u16_opt(&w, SE05X_TAG_3, len);
    se05x_apdu a = {.cla = 0x80, .ins = 0x02, .data = buf, .lc = w.len, .ne = SE05X_NE_EXT};
    se05x_status st = se05x_conn_apdu(c, &a, r, sizeof(r), &rl, sw);
    if (st != SE05X_OK || *sw != 0x9000)
        return st;
    static const se05x_tlv_expect_t exp[] = {{SE05X_TAG_1, 0, 0, 0}};
    se05x_tlv_item it;
    st = se05x_tlv_expect(r, rl, exp, 1, &it);
    if (st != SE05X_OK)
        return st;
    if (it.len > cap)
        return SE05X_ERR_BUFFER;
    memcpy(out, it.val, it.len);
    *olen = it.len;
    return SE05X_OK;
}
