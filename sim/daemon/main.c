/* se05x-sim: the simulator daemon. Opens the card in --dir with
 * sesim_open(), serves it over JRCP v1 on TCP (sesim_jrcp_server) and,
 * with --t1-socket, T=1 over the virtual I2C (sesim_t1_server); writes the
 * bound port to --port-file atomically; logs one line per event on
 * stderr; stops cleanly on SIGTERM/SIGINT (exit 0). Exit 2 for bad
 * options, 1 when startup fails. Signals are blocked in every thread and
 * taken synchronously with sigwait() in the main thread. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "sesim/servers.h"
#include "sesim/sesim.h"

/* Log sink for the servers: one whole line per call. */
static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    flockfile(stderr);
    fprintf(stderr, SESIM_DAEMON_NAME ": %s\n", line);
    funlockfile(stderr);
}

/* Write "PORT\n" to path via a temporary file and rename(). */
static bool write_port_file(const char *path, uint16_t port)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (tmp == NULL)
        return false;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    bool ok = f != NULL;
    if (ok) {
        ok = fprintf(f, "%u\n", (unsigned)port) > 0;
        ok = (fflush(f) == 0) && ok;
        ok = (fsync(fileno(f)) == 0) && ok;
        ok = (fclose(f) == 0) && ok;
    }
    if (ok)
        ok = rename(tmp, path) == 0;
    if (!ok) {
        fprintf(stderr, SESIM_DAEMON_NAME ": cannot write port file %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok;
}

/* Catch-all handler: installed so that SIGINT/SIGTERM are not ignored
 * (shells start background jobs with SIGINT ignored); the signals stay
 * blocked and are taken by sigwait(), so this never runs in practice. */
static void on_stop_signal(int sig) { (void)sig; }

/* Refuse a --dir that exists but is no directory, or cannot be looked at;
 * a missing one is created by sesim_open(). */
static bool check_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return true;
        fprintf(stderr, SESIM_DAEMON_NAME ": --dir %s: not a directory\n", dir);
        return false;
    }
    if (errno == ENOENT)
        return true;
    fprintf(stderr, SESIM_DAEMON_NAME ": --dir %s: %s\n", dir, strerror(errno));
    return false;
}

typedef struct {
    sesim *sim;
    sesim_card_if card;
    sesim_jrcp_server *jrcp;
    sesim_t1_server *t1;
    bool port_file_written;
} daemon_state;

static int open_card(const sesim_daemon_opts *o, daemon_state *d)
{
    if (!check_dir(o->dir))
        return SESIM_DAEMON_EXIT_STARTUP;
    sesim_opts so;
    sesim_opts_default(&so);
    if (o->applet_major != 0)
        so.applet_major = o->applet_major;
    so.require_platform_scp = o->require_scp;
    if (o->scp03_keys != NULL)
        so.scp03_keyfile = o->scp03_keys;
    if (o->memory != 0)
        so.persistent_mem = o->memory;
    so.quiet = o->quiet;
    se05x_status st = sesim_open(o->dir, &so, &d->sim);
    if (st != SE05X_OK) {
        fprintf(stderr, SESIM_DAEMON_NAME ": cannot open the card state in %s: %s\n", o->dir,
                se05x_strerror(st));
        return SESIM_DAEMON_EXIT_STARTUP;
    }
    d->card = sesim_card_if_for(d->sim);
    return SESIM_DAEMON_RUN;
}

static int start_servers(const sesim_daemon_opts *o, daemon_state *d)
{
    char err[256] = "";
    sesim_jrcp_opts jo = {.log = o->quiet ? NULL : log_line, .err = err, .errlen = sizeof err};
    if (sesim_jrcp_server_start_ex(&d->card, o->listen, o->port, &jo, &d->jrcp) != SE05X_OK) {
        fprintf(stderr, SESIM_DAEMON_NAME ": %s\n", err[0] ? err : "cannot start the JRCP server");
        return SESIM_DAEMON_EXIT_STARTUP;
    }
    if (o->t1_socket != NULL) {
        sesim_t1_faults none = {0};
        se05x_status st = sesim_t1_server_start(&d->card, o->t1_socket,
                                                o->have_t1_faults ? &o->t1_faults : &none, &d->t1);
        if (st != SE05X_OK) {
            fprintf(stderr, SESIM_DAEMON_NAME ": cannot serve T=1 on %s: %s\n", o->t1_socket,
                    se05x_strerror(st));
            return SESIM_DAEMON_EXIT_STARTUP;
        }
    }
    if (o->port_file != NULL) {
        if (!write_port_file(o->port_file, sesim_jrcp_server_port(d->jrcp)))
            return SESIM_DAEMON_EXIT_STARTUP;
        d->port_file_written = true;
    }
    return SESIM_DAEMON_RUN;
}

static void shutdown_all(const sesim_daemon_opts *o, daemon_state *d)
{
    if (d->t1 != NULL)
        sesim_t1_server_stop(d->t1);
    if (d->jrcp != NULL)
        sesim_jrcp_server_stop(d->jrcp);
    if (d->sim != NULL)
        sesim_close(d->sim);
    if (d->port_file_written)
        unlink(o->port_file);
}

int main(int argc, char **argv)
{
    sesim_daemon_opts o;
    int rc = sesim_daemon_parse(argc, argv, &o, stdout, stderr);
    if (rc != SESIM_DAEMON_RUN)
        return rc;

    /* Block the stop signals before any thread exists; ignore SIGPIPE. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    daemon_state d = {0};
    rc = open_card(&o, &d);
    if (rc == SESIM_DAEMON_RUN)
        rc = start_servers(&o, &d);
    if (rc != SESIM_DAEMON_RUN) {
        shutdown_all(&o, &d);
        return rc;
    }
    if (!o.quiet) {
        bool v6 = strchr(o.listen, ':') != NULL;
        fprintf(stderr, SESIM_DAEMON_NAME ": listening on %s%s%s:%u dir=%s%s%s\n", v6 ? "[" : "",
                o.listen, v6 ? "]" : "", (unsigned)sesim_jrcp_server_port(d.jrcp), o.dir,
                o.t1_socket ? " t1=" : "", o.t1_socket ? o.t1_socket : "");
    }
    int sig = 0;
    while (sigwait(&stop, &sig) != 0) {
    }
    if (!o.quiet)
        fprintf(stderr, SESIM_DAEMON_NAME ": %s received, stopping\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM");
    shutdown_all(&o, &d);
    return SESIM_DAEMON_EXIT_OK;
}
