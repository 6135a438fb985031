/* rtp-client: device side of offline remote trust provisioning (spec
 * el2go-protocol.md §8): connects to rtp-server, forwards every APDU to
 * the SE through hostlib (se05x_conn_forward: inside platform SCP03 when
 * --scp03 is given) and prints the provisioned and
 * failed object lists. Exit: 0 all provisioned, 1 some failed, 2 usage,
 * 3 connection failure (server, SE or protocol). */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtp.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rtp-client [--se CONN] [--scp03 KEYFILE] [HOST [PORT]]\n"
            "Connects to rtp-server at HOST:PORT (default 127.0.0.1 %d) and forwards its APDUs\n"
            "to the secure element.\n"
            "      --se CONN   SE connection string (HOST:PORT JRCP, /dev/i2c-N[:0xADDR], t1:PATH,\n"
            "                  sim:DIR); default env SE05X_PORT, then 127.0.0.1:8050\n"
            "      --scp03 KEYFILE  open platform SCP03 with these keys (ENC/MAC/DEK lines) and\n"
            "                  send the server's APDUs inside it; default env SE05X_SCP03_KEYFILE\n"
            "  -h, --help      this help (also -help)\n"
            "Exit status: 0 all objects provisioned, 1 some failed, 2 usage error,\n"
            "3 connection failure (server, SE link or protocol).\n",
            RTP_DEFAULT_PORT);
}

static int dial(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV}, *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc) {
        fprintf(stderr, "rtp-client: %s:%s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "rtp-client: cannot connect to %s:%s: %s\n", host, port, strerror(err));
    return fd;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"se", required_argument, NULL, 's'},
                                       {"scp03", required_argument, NULL, 'k'},
                                       {"help", no_argument, NULL, 'h'}, {0}};
    const char *se = NULL, *keyfile = getenv("SE05X_SCP03_KEYFILE");
    int c;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-help")) {
            usage(stdout);
            return 0;
        }
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (c == 's') {
            se = optarg;
        } else if (c == 'k') {
            keyfile = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind > 2) {
        fprintf(stderr, "rtp-client: too many arguments\n");
        usage(stderr);
        return 2;
    }
    const char *host = optind < argc ? argv[optind] : "127.0.0.1";
    char defport[8];
    snprintf(defport, sizeof(defport), "%d", RTP_DEFAULT_PORT);
    const char *port = optind + 1 < argc ? argv[optind + 1] : defport;
    char *end;
    long pv = strtol(port, &end, 10);
    if (*end || end == port || pv < 1 || pv > 65535) {
        fprintf(stderr, "rtp-client: bad port '%s'\n", port);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    se05x_conn *conn = NULL;
    char err[256] = "";
    se05x_conn_opts opts = {.scp03_keyfile = keyfile && *keyfile ? keyfile : NULL};
    if (se05x_conn_open_err(se, &opts, &conn, err, sizeof(err)) != SE05X_OK) {
        fprintf(stderr, "rtp-client: cannot open the SE (%s%s): %s\n",
                se ? se : se05x_connstr_default(), opts.scp03_keyfile ? ", platform SCP03" : "",
                err);
        return 3;
    }
    int fd = dial(host, port);
    if (fd < 0) {
        se05x_conn_close(conn);
        return 3;
    }
    rtp_client_result r;
    se05x_status st = rtp_client_run(fd, conn, NULL, &r);
    close(fd);
    if (st != SE05X_OK && !opts.scp03_keyfile && se05x_conn_last_sw(conn) == 0x6982)
        fprintf(stderr, "rtp-client: the SE refused a plain command (SW 6982): it may require "
                        "platform SCP03; give --scp03 KEYFILE\n");
    se05x_conn_close(conn);
    char list[4096];
    rtp_idlist_format(r.provisioned.ids, r.provisioned.n, list, sizeof(list));
    printf("provisioned: %s\n", list);
    rtp_idlist_format(r.failed.ids, r.failed.n, list, sizeof(list));
    printf("failed: %s\n", list);
    int rc = 0;
    if (st != SE05X_OK) {
        fprintf(stderr, "rtp-client: %s after %zu APDU(s)\n", r.error, r.apdus);
        rc = 3;
    } else {
        printf("done: %zu APDU(s) forwarded\n", r.apdus);
        rc = r.failed.n ? 1 : 0;
    }
    rtp_client_result_free(&r);
    return rc;
}
