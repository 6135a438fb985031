/* Internals of the se05x-sim daemon: command-line options (options.c) and
 * the run loop (main.c). */
#ifndef SESIM_DAEMON_H
#define SESIM_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sesim/servers.h"

#define SESIM_DAEMON_NAME "se05x-sim"
#define SESIM_DAEMON_VERSION "0.1.0"
#define SESIM_DAEMON_DEFAULT_DIR "./se05x-sim-state"
#define SESIM_DAEMON_DEFAULT_PORT 8050u
#define SESIM_DAEMON_DEFAULT_ADDR "127.0.0.1"

typedef struct {
    const char *dir;
    const char *listen;
    uint16_t port;
    const char *port_file;
    const char *t1_socket;
    bool have_t1_faults;
    sesim_t1_faults t1_faults;
    int applet_major;      /* 0 = simulator default */
    bool require_scp;
    const char *scp03_keys;
    size_t memory;         /* 0 = simulator default */
    bool quiet;
} sesim_daemon_opts;

enum {
    SESIM_DAEMON_RUN = -1, /* options fine: run */
    SESIM_DAEMON_EXIT_OK = 0,
    SESIM_DAEMON_EXIT_STARTUP = 1,
    SESIM_DAEMON_EXIT_USAGE = 2,
};

/* Parse argv. Returns SESIM_DAEMON_RUN, or the exit code to leave with
 * (help/version printed to out; errors to err). */
int sesim_daemon_parse(int argc, char **argv, sesim_daemon_opts *o, FILE *out, FILE *err);

#endif
