/* rtp-server: offline remote trust provisioning server (spec
 * el2go-protocol.md §8, NXP's Java "RTP Server" re-done in C). Listens on
 * TCP (loopback by default), serves one client at a time in a loop, and
 * pushes the APDUs of the JSON provisioning files of -d DIR into each
 * connecting device through rtp-client. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rtp.h"

#define RTP_SERVER_VERSION "rtp-server 0.1.0 (se05x-stack; protocol of RTP Server v1.9.0)"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rtp-server [options]\n"
            "Serves EdgeLock 2GO offline provisionings (JSON files) to rtp-client over TCP.\n"
            "  -d, --dir DIR             directory with the *.json provisioning files (default .)\n"
            "  -p, --port PORT           TCP port (default %d; 0 = any free port)\n"
            "  -o, --optimize            only read files whose name contains the device id\n"
            "  -f, --force-curve-install always install EC curves, ignore the SW of those APDUs\n"
            "      --listen ADDR         address to listen on (default 127.0.0.1; 0.0.0.0 = all)\n"
            "      --port-file FILE      write the listening port to FILE\n"
            "      --clients N           exit after serving N clients (default: run forever)\n"
            "  -h, --help                this help\n"
            "  -V, --version             print the version\n"
            "One client at a time; a client that stays silent for 20 s is dropped.\n"
            "Each device gets one log line (stderr) with its result.\n",
            RTP_DEFAULT_PORT);
}

typedef struct {
    const char *dir, *listen, *port_file;
    long port, clients;
    bool optimize, force;
} sopts;

static int parse(int argc, char **argv, sopts *o)
{
    enum { OPT_LISTEN = 256, OPT_PORT_FILE, OPT_CLIENTS };
    static const struct option lo[] = {
        {"dir", required_argument, NULL, 'd'},      {"port", required_argument, NULL, 'p'},
        {"optimize", no_argument, NULL, 'o'},       {"force-curve-install", no_argument, NULL, 'f'},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"clients", required_argument, NULL, OPT_CLIENTS},
        {"help", no_argument, NULL, 'h'},           {"version", no_argument, NULL, 'V'},
        {0}};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "d:p:ofhV", lo, NULL)) != -1) {
        switch (c) {
        case 'd': o->dir = optarg; break;
        case 'p':
            errno = 0;
            o->port = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || o->port < 0 || o->port > 65535) {
                fprintf(stderr, "rtp-server: bad port '%s'\n", optarg);
                return 2;
            }
            break;
        case 'o': o->optimize = true; break;
        case 'f': o->force = true; break;
        case OPT_LISTEN: o->listen = optarg; break;
        case OPT_PORT_FILE: o->port_file = optarg; break;
        case OPT_CLIENTS:
            errno = 0;
            o->clients = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || o->clients < 1) {
                fprintf(stderr, "rtp-server: bad --clients '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("%s\n", RTP_SERVER_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rtp-server: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

static int listen_on(const sopts *o)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%ld", o->port);
    int rc = getaddrinfo(o->listen, port, &hints, &res);
    if (rc) {
        fprintf(stderr, "rtp-server: --listen %s: %s\n", o->listen, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 8) == 0)
            break;
        fprintf(stderr, "rtp-server: cannot listen on %s:%s: %s\n", o->listen, port,
                strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static bool write_port_file(const char *path, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[64], serv[16];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) ||
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV))
        return false;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return false;
    fprintf(f, "%s\n", serv);
    return fclose(f) == 0 && rename(tmp, path) == 0;
}

static void peer_name(int fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[64] = "?", serv[16] = "?";
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(buf, cap, "client %s:%s", host, serv);
}

int main(int argc, char **argv)
{
    sopts o = {.dir = ".", .listen = "127.0.0.1", .port = RTP_DEFAULT_PORT};
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct stat sb;
    if (stat(o.dir, &sb) || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "rtp-server: -d %s: not a readable directory\n", o.dir);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(&o);
    if (lfd < 0)
        return 1;
    if (o.port_file && !write_port_file(o.port_file, lfd)) {
        fprintf(stderr, "rtp-server: cannot write %s\n", o.port_file);
        close(lfd);
        return 1;
    }
    fprintf(stderr, "rtp-server: serving %s on %s port %ld%s%s\n", o.dir, o.listen, o.port,
            o.optimize ? ", -o" : "", o.force ? ", -f" : "");
    for (long served = 0; !o.clients || served < o.clients;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            fprintf(stderr, "rtp-server: accept: %s\n", strerror(errno));
            close(lfd);
            return 1;
        }
        char peer[128];
        peer_name(fd, peer, sizeof(peer));
        rtp_server_opts so = {.dir = o.dir, .optimize = o.optimize, .force_curves = o.force,
                              .peer = peer};
        rtp_server_result r;
        rtp_server_session(fd, &so, &r);
        close(fd);
        served++;
    }
    close(lfd);
    return 0;
}
