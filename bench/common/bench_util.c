/* Shared bench helpers (see bench_util.h). */
#include "bench_util.h"

#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/store.h>

double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int bench_paths_find(bench_paths *p)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    snprintf(p->build, sizeof(p->build), "%s", dirname(dirname(exe)));
    snprintf(p->moddir, sizeof(p->moddir), "%s/provider", p->build);
    snprintf(p->sim, sizeof(p->sim), "%s/sim/se05x-sim", p->build);
    return 1;
}

static int read_port(const char *portfile)
{
    FILE *f = fopen(portfile, "r");
    int port = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%d", &port) != 1)
        port = 0;
    fclose(f);
    return port;
}

pid_t bench_daemon_start(const char *sim, const char *dir, char *port, size_t portlen)
{
    char portfile[PATH_MAX];
    snprintf(portfile, sizeof(portfile), "%s.port", dir);
    unlink(portfile);
    pid_t pid = fork();
    if (pid == 0) {
        execl(sim, sim, "--dir", dir, "--port", "0", "--port-file", portfile, "--quiet",
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300 && pid > 0; i++) {
        int p = read_port(portfile);
        if (p > 0) {
            snprintf(port, portlen, "127.0.0.1:%d", p);
            return pid;
        }
        usleep(100000);
    }
    if (pid > 0)
        bench_daemon_stop(pid);
    return -1;
}

void bench_daemon_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

void *bench_store_load(void *lc, const char *uri, int info_type)
{
    OSSL_STORE_CTX *sc = OSSL_STORE_open_ex(uri, lc, NULL, NULL, NULL, NULL, NULL, NULL);
    void *obj = NULL;
    while (sc != NULL && obj == NULL && !OSSL_STORE_eof(sc)) {
        OSSL_STORE_INFO *i = OSSL_STORE_load(sc);
        if (i == NULL)
            break;
        if (OSSL_STORE_INFO_get_type(i) == info_type)
            obj = info_type == OSSL_STORE_INFO_PKEY ? (void *)OSSL_STORE_INFO_get1_PKEY(i)
                                                    : (void *)OSSL_STORE_INFO_get1_CERT(i);
        OSSL_STORE_INFO_free(i);
    }
    OSSL_STORE_close(sc);
    return obj;
}
