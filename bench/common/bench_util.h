/* Helpers shared by the bench programs: a monotonic clock, the build
 * tree's paths found from the program's own location (BUILD/bench/prog),
 * and a se05x-sim daemon on a free loopback port. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <limits.h>
#include <sys/types.h>

/* seconds on a monotonic clock */
double bench_now(void);

typedef struct {
    char build[PATH_MAX];          /* BUILD */
    char moddir[PATH_MAX + 16];    /* BUILD/provider (se05x.so) */
    char sim[PATH_MAX + 32];       /* BUILD/sim/se05x-sim */
} bench_paths;

/* Fill p from /proc/self/exe; 0 on failure. */
int bench_paths_find(bench_paths *p);

/* Start se05x-sim on DIR with a free loopback port; on success returns its
 * pid and writes "127.0.0.1:PORT" into port[portlen]; -1 on failure. */
pid_t bench_daemon_start(const char *sim, const char *dir, char *port, size_t portlen);
void bench_daemon_stop(pid_t pid);

/* The first key (OSSL_STORE_INFO_PKEY) or certificate (OSSL_STORE_INFO_CERT)
 * that the store at uri yields in library context lc; NULL if none. */
void *bench_store_load(void *lc, const char *uri, int info_type);

#endif
