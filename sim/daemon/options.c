/* Command-line parsing of the se05x-sim daemon: long options, strict
 * number parsing, --t1-faults lists; every mistake gets one clear line
 * and exit code 2. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

static const char USAGE[] =
    "Usage: " SESIM_DAEMON_NAME " [OPTIONS]\n"
    "Virtual SE05x secure element: serves JRCP v1 over TCP (and optionally T=1\n"
    "over a virtual I2C Unix socket) with its persistent state in a directory.\n"
    "\n"
    "  --dir DIR            state directory (default " SESIM_DAEMON_DEFAULT_DIR ")\n"
    "  --port N             JRCP TCP port (default 8050; 0 = ephemeral)\n"
    "  --listen ADDR        listen address (default 127.0.0.1; e.g. ::1, 0.0.0.0)\n"
    "  --port-file FILE     write the bound port to FILE once listening\n"
    "  --t1-socket PATH     also serve T=1 over virtual I2C on this Unix socket\n"
    "  --t1-faults LIST     T=1 fault injection: crc=N,drop=N,wtx=N,busy=N\n"
    "                       (every Nth frame/read; 0 = never)\n"
    "  --applet 3|7         applet profile (default 7)\n"
    "  --require-scp        refuse plain commands after SELECT (platform SCP03)\n"
    "  --scp03-keys FILE    platform SCP03 static keys (ENC/MAC/DEK lines)\n"
    "  --memory BYTES       persistent memory size (suffix K or M allowed)\n"
    "  --quiet              no log lines (errors are still reported)\n"
    "  --help               this text\n"
    "  --version            version\n"
    "\n"
    "Stops cleanly on SIGTERM or SIGINT. Exit codes: 0 clean stop, 1 startup\n"
    "failure (port in use, bad state directory), 2 bad options.\n";

enum {
    OPT_DIR = 256, OPT_PORT, OPT_LISTEN, OPT_PORT_FILE, OPT_T1_SOCKET, OPT_T1_FAULTS,
    OPT_APPLET, OPT_REQUIRE_SCP, OPT_SCP03_KEYS, OPT_MEMORY, OPT_QUIET, OPT_HELP, OPT_VERSION,
};

static const struct option LONGOPTS[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"port", required_argument, NULL, OPT_PORT},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {"t1-socket", required_argument, NULL, OPT_T1_SOCKET},
    {"t1-faults", required_argument, NULL, OPT_T1_FAULTS},
    {"applet", required_argument, NULL, OPT_APPLET},
    {"require-scp", no_argument, NULL, OPT_REQUIRE_SCP},
    {"scp03-keys", required_argument, NULL, OPT_SCP03_KEYS},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Decimal digits only, value <= max. */
static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_memory(const char *s, size_t *out)
{
    char buf[32];
    size_t n = strlen(s);
    unsigned long long mult = 1, v;
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n + 1);
    if (buf[n - 1] == 'K' || buf[n - 1] == 'k')
        mult = 1024;
    else if (buf[n - 1] == 'M' || buf[n - 1] == 'm')
        mult = 1024 * 1024;
    if (mult != 1)
        buf[n - 1] = '\0';
    if (!parse_uint(buf, (1ull << 32) / mult, &v) || v == 0)
        return false;
    *out = (size_t)(v * mult);
    return true;
}

/* "crc=N,drop=N,wtx=N,busy=N", any subset in any order. */
static bool parse_faults(const char *s, sesim_t1_faults *f, FILE *err)
{
    char *copy = strdup(s), *save = NULL;
    bool ok = copy != NULL && *s != '\0';
    for (char *item = copy ? strtok_r(copy, ",", &save) : NULL; ok && item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        unsigned long long v;
        if (eq == NULL || !parse_uint(eq + 1, 1000000, &v)) {
            fprintf(err, SESIM_DAEMON_NAME ": --t1-faults: '%s' is not NAME=N\n", item);
            ok = false;
            break;
        }
        *eq = '\0';
        if (strcmp(item, "crc") == 0)
            f->crc_every = (unsigned)v;
        else if (strcmp(item, "drop") == 0)
            f->drop_every = (unsigned)v;
        else if (strcmp(item, "wtx") == 0)
            f->wtx_every = (unsigned)v;
        else if (strcmp(item, "busy") == 0)
            f->busy_every = (unsigned)v;
        else {
            fprintf(err,
                    SESIM_DAEMON_NAME ": --t1-faults: unknown fault '%s' (crc, drop, wtx, busy)\n",
                    item);
            ok = false;
        }
    }
    free(copy);
    return ok;
}

static int bad(FILE *err, const char *fmt, const char *arg)
{
    fprintf(err, SESIM_DAEMON_NAME ": ");
    fprintf(err, fmt, arg);
    fprintf(err, "\nTry '" SESIM_DAEMON_NAME " --help'.\n");
    return SESIM_DAEMON_EXIT_USAGE;
}

/* Apply one option; SESIM_DAEMON_RUN or an exit code. */
static int apply(int c, const char *arg, sesim_daemon_opts *o, FILE *out, FILE *err)
{
    unsigned long long v;
    switch (c) {
    case OPT_DIR:
        if (*arg == '\0')
            return bad(err, "--dir needs a directory%s", "");
        o->dir = arg;
        break;
    case OPT_PORT:
        if (!parse_uint(arg, 65535, &v))
            return bad(err, "--port: '%s' is not a port number (0-65535)", arg);
        o->port = (uint16_t)v;
        break;
    case OPT_LISTEN:
        if (*arg == '\0')
            return bad(err, "--listen needs an address%s", "");
        o->listen = arg;
        break;
    case OPT_PORT_FILE: o->port_file = arg; break;
    case OPT_T1_SOCKET: o->t1_socket = arg; break;
    case OPT_T1_FAULTS:
        memset(&o->t1_faults, 0, sizeof o->t1_faults);
        if (!parse_faults(arg, &o->t1_faults, err))
            return bad(err, "--t1-faults: bad list '%s'", arg);
        o->have_t1_faults = true;
        break;
    case OPT_APPLET:
        if (strcmp(arg, "3") != 0 && strcmp(arg, "7") != 0)
            return bad(err, "--applet: '%s' is not 3 or 7", arg);
        o->applet_major = arg[0] - '0';
        break;
    case OPT_REQUIRE_SCP: o->require_scp = true; break;
    case OPT_SCP03_KEYS: o->scp03_keys = arg; break;
    case OPT_MEMORY:
        if (!parse_memory(arg, &o->memory))
            return bad(err, "--memory: '%s' is not a size in bytes (e.g. 65536, 64K)", arg);
        break;
    case OPT_QUIET: o->quiet = true; break;
    case OPT_HELP: fputs(USAGE, out); return SESIM_DAEMON_EXIT_OK;
    case OPT_VERSION:
        fputs(SESIM_DAEMON_NAME " " SESIM_DAEMON_VERSION " (JRCP v1, T=1 over virtual I2C)\n", out);
        return SESIM_DAEMON_EXIT_OK;
    default: return SESIM_DAEMON_EXIT_USAGE;
    }
    return SESIM_DAEMON_RUN;
}

int sesim_daemon_parse(int argc, char **argv, sesim_daemon_opts *o, FILE *out, FILE *err)
{
    memset(o, 0, sizeof *o);
    o->dir = SESIM_DAEMON_DEFAULT_DIR;
    o->listen = SESIM_DAEMON_DEFAULT_ADDR;
    o->port = SESIM_DAEMON_DEFAULT_PORT;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":", LONGOPTS, NULL)) != -1) {
        if (c == '?')
            return bad(err, "unknown option '%s'", argv[optind - 1]);
        if (c == ':')
            return bad(err, "option '%s' needs a value", argv[optind - 1]);
        int rc = apply(c, optarg, o, out, err);
        if (rc != SESIM_DAEMON_RUN)
            return rc;
    }
    if (optind < argc)
        return bad(err, "unexpected argument '%s'", argv[optind]);
    if (o->have_t1_faults && o->t1_socket == NULL)
        return bad(err, "--t1-faults needs --t1-socket%s", "");
    return SESIM_DAEMON_RUN;
}
