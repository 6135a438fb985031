/* el2go-agent: command-line front end of the EdgeLock 2GO agent library
 * (connect over TLS, session --stdio, status, services, settings,
 * claimcode). Also built as el2go-claimcode-inject with the NXP tool's usage
 * `el2go-claimcode-inject FILE [CONN] | --delete [CONN]`.
 *
 * Exit codes: 0 success; 1 failure; 2 usage error; 3 nothing stored yet
 * (no report, no valid datastore); 4 the server's (or the last) report
 * status is not SUCCESS (connect: a status without its own code); 5 the
 * session ended without a goodbye (protocol error, connection lost); 6 the
 * CRL check failed; 7 cannot connect; 8 server certificate not trusted;
 * 9 host name mismatch; 10 other TLS handshake failure; 11 SE unreachable;
 * 12 no client key/certificate in the SE; 13 not configured (no host, no
 * trusted roots, no provider module); connect: 16..81 = the goodbye's
 * UpdateStatus error code (0x10..0x51). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "el2go/agent.h"
#include "el2go/claimcode.h"
#include "el2go/datastore.h"
#include "el2go/crl.h"
#include "el2go/export.h"
#include "el2go/settings.h"
#include "el2go/tls.h"
#include "se05x/conn.h"
#include "sss/sss.h"

enum {
    EXIT_USAGE = 2,
    EXIT_NODATA = 3,
    EXIT_REPORT = 4,
    EXIT_SESSION = 5,
    EXIT_CRL = 6,
    EXIT_CONNECT = 7,
    EXIT_UNTRUSTED = 8,
    EXIT_HOSTNAME = 9,
    EXIT_HANDSHAKE = 10,
    EXIT_SE = 11,
    EXIT_NOKEY = 12,
    EXIT_NOTCONF = 13,
};

#define REPORT_FILE "el2go-last-report.pb"
#define CONN_DS_FILE "edgelock2go_datastore.bin"
#define SERVICES_DS_FILE "datastore.bin"

typedef struct {
    const char *dir;
    const char *se;
    const char *scp03; /* platform SCP03 key file (--scp03, env SE05X_SCP03_KEYFILE) or NULL */
} globals;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: el2go-agent [--dir DIR] [--se CONN] [--scp03 KEYFILE] COMMAND [ARGS]\n"
        "  connect [--host H] [--port P] [--ca FILE] [--se CONN] [--scp03 KEYFILE]\n"
        "          [--daemon [--max-tries N]]\n"
        "          [--backoff SECS] [--timeout SECS] [--connect-timeout SECS]\n"
        "          [--provider-dir DIR] [-v]\n"
        "                                run a device-link session over TLS\n"
        "  status                        print the last update status report\n"
        "  services [--json]             list the provisioned cloud services\n"
        "  settings [--host H] [--port P] show the connection settings in effect\n"
        "  session --stdio [-v]          serve one device-link session on stdin/stdout\n"
        "                                (no TLS, no CRL gate: for tests and tunnels)\n"
        "  export DIR                    write the provisioned services for other apps:\n"
        "                                key reference / certificate PEMs, services.json\n"
        "  claimcode inject FILE         store the claim code from FILE in the SE\n"
        "  claimcode delete              remove the claim code from the SE\n"
        "options:\n"
        "  --dir DIR   state directory (datastores, last report); env EL2GO_STATE_DIR, default .\n"
        "  --se CONN   SE connection string (hostlib syntax; default SE05X_PORT)\n"
        "  --scp03 KEYFILE\n"
        "              open platform SCP03 with the keys in KEYFILE (lines ENC/MAC/DEK <hex>)\n"
        "              for the agent's SE connection, the keystore APDUs it forwards and the\n"
        "              TLS client key (provider); env SE05X_SCP03_KEYFILE\n"
        "exit codes: 0 ok, 1 failure, 2 usage, 3 nothing stored,\n"
        "            4 report status not SUCCESS, 5 session ended without goodbye,\n"
        "            6 CRL check failed, 7 cannot connect, 8 untrusted server,\n"
        "            9 host name mismatch, 10 TLS handshake failed, 11 SE unreachable,\n"
        "            12 no client key in the SE, 13 not configured,\n"
        "            16..81 (connect) the server's UpdateStatus error code\n");
}

static char *state_path(const globals *g, const char *name)
{
    size_t n = strlen(g->dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", g->dir, name);
    return p;
}

static int cmd_status(const globals *g)
{
    char *path = state_path(g, REPORT_FILE);
    Nxp__Iot__UpdateStatusReport *r = NULL;
    el2go_status st = path ? el2go_report_load(path, &r) : EL2GO_ERR_NOMEM;
    free(path);
    if (st == EL2GO_ERR_NOT_FOUND) {
        fprintf(stderr, "el2go-agent: no status report yet (no session has completed)\n");
        return EXIT_NODATA;
    }
    if (st != EL2GO_OK) {
        fprintf(stderr, "el2go-agent: cannot read the last report: %s\n", el2go_strerror(st));
        return EXIT_FAILURE;
    }
    el2go_report_print(stdout, r);
    int rc = r->has_status && r->status == NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__SUCCESS
                 ? EXIT_SUCCESS
                 : EXIT_REPORT;
    el2go_report_free(r);
    return rc;
}

/* {"endpoint_id", "object_id"} of an SSS object reference as member key. */
static void json_ref(json_object *o, const char *key, const Nxp__Iot__SssObjectReference *r)
{
    if (!r)
        return;
    json_object *j = json_object_new_object();
    if (j) {
        json_object_object_add(j, "endpoint_id", json_object_new_int64(r->endpoint_id));
        json_object_object_add(j, "object_id", json_object_new_int64(r->object_id));
    }
    json_object_object_add(o, key, j);
}

static void print_service(const Nxp__Iot__ServiceDescriptor *sd)
{
    const char *type = sd->has_service_type ? el2go_service_type_name(sd->service_type) : "aws";
    printf("service %llu: type %s, protocol %s, host %s:%u", (unsigned long long)sd->identifier,
           type, el2go_service_protocol_name(sd), sd->hostname ? sd->hostname : "-",
           sd->has_port ? sd->port : 0);
    if (sd->client_key_sss_ref)
        printf(", key 0x%08x", sd->client_key_sss_ref->object_id);
    if (sd->client_certificate_sss_ref)
        printf(", cert 0x%08x", sd->client_certificate_sss_ref->object_id);
    printf("\n");
}

/* The `services --json` entry: the settings and the SE object references. */
static json_object *service_json(const Nxp__Iot__ServiceDescriptor *sd)
{
    json_object *o = el2go_service_json(sd);
    if (o) {
        json_ref(o, "client_key_ref", sd->client_key_sss_ref);
        json_ref(o, "client_certificate_ref", sd->client_certificate_sss_ref);
    }
    return o;
}

/* Print the services --json array on one line; releases arr. */
static int print_json(json_object *arr, int rc)
{
    int flags = JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE;
    const char *text = json_object_to_json_string_ext(arr, flags);
    if (!text) {
        fprintf(stderr, "el2go-agent: out of memory printing JSON\n");
        rc = EXIT_FAILURE;
    } else {
        puts(text);
    }
    json_object_put(arr);
    return rc;
}

static int cmd_services(const globals *g, int argc, char **argv)
{
    bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
    if (argc > (json ? 2 : 1)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    json_object *arr = json ? json_object_new_array() : NULL;
    if (json && !arr) {
        fprintf(stderr, "el2go-agent: out of memory\n");
        return EXIT_FAILURE;
    }
    char *base = state_path(g, SERVICES_DS_FILE);
    el2go_datastore *ds = NULL;
    el2go_status st =
        base ? el2go_ds_fs_open(0, base, el2go_dscontent_valid, &ds) : EL2GO_ERR_NOMEM;
    free(base);
    if (st != EL2GO_OK) {
        json_object_put(arr);
        fprintf(stderr, "el2go-agent: cannot open the service datastore: %s\n", el2go_strerror(st));
        return EXIT_FAILURE;
    }
    size_t len, n = 0;
    const uint8_t *data = el2go_ds_data(ds, &len);
    if (el2go_services_count(data, len, &n) != EL2GO_OK) {
        el2go_ds_free(ds);
        fprintf(stderr, "el2go-agent: no valid service datastore in %s\n", g->dir);
        return json ? print_json(arr, EXIT_NODATA) : EXIT_NODATA;
    }
    int rc = EXIT_SUCCESS;
    for (size_t i = 0; i < n && rc == EXIT_SUCCESS; i++) {
        Nxp__Iot__ServiceDescriptor *sd;
        if (el2go_service_by_index(data, len, i, &sd) != EL2GO_OK) {
            fprintf(stderr, "el2go-agent: service %zu is corrupt\n", i);
            rc = EXIT_FAILURE;
            break;
        }
        if (!json) {
            print_service(sd);
        } else {
            json_object *o = service_json(sd);
            if (!o || json_object_array_add(arr, o) != 0) {
                json_object_put(o);
                fprintf(stderr, "el2go-agent: out of memory\n");
                rc = EXIT_FAILURE;
            }
        }
        el2go_service_free(sd);
    }
    el2go_ds_free(ds);
    return json ? print_json(arr, rc) : rc;
}

static int parse_host_port(int argc, char **argv, const char **host, const char **port)
{
    static const struct option opts[] = {{"host", required_argument, NULL, 'H'},
                                         {"port", required_argument, NULL, 'P'},
                                         {NULL, 0, NULL, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'H')
            *host = optarg;
        else if (c == 'P')
            *port = optarg;
        else
            return -1;
    }
    return optind == argc ? 0 : -1;
}

static int cmd_settings(const globals *g, int argc, char **argv)
{
    const char *host = NULL, *port = NULL;
    if (parse_host_port(argc, argv, &host, &port) != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    char *base = state_path(g, CONN_DS_FILE);
    el2go_datastore *ds = NULL;
    /* No validator: a corrupted file is still read so it can be reported. */
    el2go_status st =
        base ? el2go_ds_fs_open(EL2GO_DATASTORE_ID, base, NULL, &ds) : EL2GO_ERR_NOMEM;
    free(base);
    if (st != EL2GO_OK) {
        fprintf(stderr, "el2go-agent: %s\n", el2go_strerror(st));
        return EXIT_FAILURE;
    }
    size_t len;
    const uint8_t *data = el2go_ds_data(ds, &len);
    el2go_settings s;
    char warn[256];
    st = el2go_settings_resolve(host, port, data, len, &s, warn, sizeof(warn));
    el2go_ds_free(ds);
    if (warn[0])
        fprintf(stderr, "el2go-agent: warning: %s\n", warn);
    if (st != EL2GO_OK) {
        fprintf(stderr, "el2go-agent: invalid host or port\n");
        return EXIT_USAGE;
    }
    printf(
        "hostname: %s\nport: %u\nsource: %s\nkeystore: 0x%08x\nkey: 0x%08x\ncertificate: 0x%08x\n"
        "trusted roots: %s\n",
        s.hostname[0] ? s.hostname : "(not configured)", s.port,
        el2go_settings_source_name(s.source), s.keystore_id, s.key_id, s.cert_id,
        s.roots ? "from the datastore" : "configured defaults");
    el2go_settings_clear(&s);
    return EXIT_SUCCESS;
}

/* A plain connection to an SE that requires platform SCP03 opens (SELECT
 * is plain) but every later command is refused with 6982: probe with
 * GetVersion so that the user learns why, instead of a failed session. */
static int probe_plain(se05x_conn *c)
{
    static const se05x_apdu getver = {.cla = 0x80, .ins = 0x04, .p1 = 0, .p2 = 0x20,
                                      .ne = SE05X_NE_SHORT};
    uint8_t out[32];
    size_t n;
    uint16_t sw = 0;
    if (se05x_conn_apdu(c, &getver, out, sizeof(out), &n, &sw) != SE05X_OK || sw != 0x6982)
        return EXIT_SUCCESS; /* other failures show up where they matter */
    fprintf(stderr, "el2go-agent: cannot use the SE: it refuses plain commands (SW 6982, security "
                    "status not satisfied): it requires platform SCP03; give --scp03 KEYFILE "
                    "(or SE05X_SCP03_KEYFILE)\n");
    return EXIT_FAILURE;
}

static int open_se(const char *conn, const char *scp03, se05x_conn **c)
{
    char err[256] = "";
    se05x_conn_opts o = {.scp03_keyfile = scp03};
    se05x_status st = se05x_conn_open_err(conn, &o, c, err, sizeof(err));
    if (st != SE05X_OK) {
        fprintf(stderr, "el2go-agent: cannot open the SE%s: %s\n",
                scp03 ? " with platform SCP03" : "", err[0] ? err : se05x_strerror(st));
        return EXIT_FAILURE;
    }
    if (!scp03 && probe_plain(*c) != EXIT_SUCCESS) {
        se05x_conn_close(*c);
        *c = NULL;
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

static int claim_inject(const char *conn, const char *scp03, const char *file)
{
    char code[EL2GO_CLAIMCODE_MAX + 1];
    size_t len;
    el2go_status st = el2go_claimcode_read_file(file, code, sizeof(code), &len);
    if (st != EL2GO_OK) {
        fprintf(stderr, "el2go-agent: claim code file %s: %s\n", file,
                st == EL2GO_ERR_INVALID ? "empty or not printable ASCII" : el2go_strerror(st));
        return EXIT_FAILURE;
    }
    se05x_conn *c;
    int rc = open_se(conn, scp03, &c);
    if (rc == EXIT_SUCCESS) {
        char err[256];
        st = el2go_claimcode_inject(c, code, len, err, sizeof(err));
        if (st == EL2GO_OK)
            printf("Injecting new claim code successful!\n");
        else
            fprintf(stderr, "el2go-agent: %s\n", err);
        rc = st == EL2GO_OK ? EXIT_SUCCESS : EXIT_FAILURE;
        se05x_conn_close(c);
    }
    OPENSSL_cleanse(code, sizeof(code));
    return rc;
}

static int claim_delete(const char *conn, const char *scp03)
{
    se05x_conn *c;
    int rc = open_se(conn, scp03, &c);
    if (rc != EXIT_SUCCESS)
        return rc;
    char err[256];
    el2go_status st = el2go_claimcode_delete(c, err, sizeof(err));
    if (st == EL2GO_OK)
        printf("Deleting claim code successful!\n");
    else
        fprintf(stderr, "el2go-agent: %s\n", err);
    se05x_conn_close(c);
    return st == EL2GO_OK ? EXIT_SUCCESS : st == EL2GO_ERR_NOT_FOUND ? EXIT_NODATA : EXIT_FAILURE;
}

/* Datastores of the state directory, as the reference demo lays them out. */
static el2go_status open_datastores(const globals *g, el2go_datastore **conn, el2go_datastore **svc)
{
    char *b1 = state_path(g, CONN_DS_FILE), *b2 = state_path(g, SERVICES_DS_FILE);
    el2go_status st = b1 && b2 ? EL2GO_OK : EL2GO_ERR_NOMEM;
    *conn = *svc = NULL;
    if (st == EL2GO_OK)
        st = el2go_ds_fs_open(EL2GO_DATASTORE_ID, b1, el2go_dscontent_valid, conn);
    if (st == EL2GO_OK)
        st = el2go_ds_fs_open(0, b2, el2go_dscontent_valid, svc);
    free(b1);
    free(b2);
    return st;
}

static int session_exit(el2go_status st, const el2go_session_result *r)
{
    if (st == EL2GO_OK) {
        el2go_report_print(stderr, r->report);
        return r->report && r->report->has_status &&
                       r->report->status == NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__SUCCESS
                   ? EXIT_SUCCESS
                   : EXIT_REPORT;
    }
    fprintf(stderr, "el2go-agent: session failed: %s\n", r->err[0] ? r->err : el2go_strerror(st));
    return st == EL2GO_ERR_CRL ? EXIT_CRL : EXIT_SESSION;
}

static int cmd_session(const globals *g, int argc, char **argv)
{
    bool stdio = false, verbose = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--stdio"))
            stdio = true;
        else if (!strcmp(argv[i], "-v"))
            verbose = true;
        else
            stdio = false, i = argc;
    }
    if (!stdio) {
        usage(stderr);
        return EXIT_USAGE;
    }
    el2go_datastore *conn_ds, *svc_ds;
    if (open_datastores(g, &conn_ds, &svc_ds) != EL2GO_OK) {
        fprintf(stderr, "el2go-agent: cannot open the datastores in %s\n", g->dir);
        el2go_ds_free(conn_ds);
        return EXIT_FAILURE;
    }
    se05x_conn *c = NULL;
    el2go_keystore *ks = NULL;
    int rc = open_se(g->se, g->scp03, &c);
    if (rc == EXIT_SUCCESS && el2go_ks_se05x_new(EL2GO_KEYSTORE_ID, c, &ks) != EL2GO_OK)
        rc = EXIT_FAILURE;
    if (rc == EXIT_SUCCESS) {
        signal(SIGPIPE, SIG_IGN); /* a vanished peer is a write error, not a kill */
        el2go_agent_cfg cfg = {.el2go_ds = conn_ds,
                               .datastores = {svc_ds},
                               .n_datastores = 1,
                               .keystore = ks,
                               .log = verbose ? stderr : NULL};
        el2go_fdstream fds;
        el2go_stream s;
        el2go_fdstream_init(&fds, 0, 1, &s);
        el2go_session_result r;
        el2go_status st = el2go_session_run(&cfg, &s, &r);
        char *path = state_path(g, REPORT_FILE);
        if (st == EL2GO_OK && r.report_raw && path &&
            el2go_report_save(path, r.report_raw, r.report_raw_len) != EL2GO_OK)
            fprintf(stderr, "el2go-agent: warning: cannot save the report to %s\n", path);
        free(path);
        rc = session_exit(st, &r);
        el2go_session_result_clear(&r);
    }
    el2go_ks_free(ks);
    if (c)
        se05x_conn_close(c);
    el2go_ds_free(conn_ds);
    el2go_ds_free(svc_ds);
    return rc;
}

/* ---- connect ---------------------------------------------------------- */

typedef struct {
    const char *host, *port, *ca, *provider_dir;
    bool daemon, verbose;
    unsigned max_tries;  /* 0 = unlimited (daemon) */
    unsigned backoff_ms; /* first retry delay, doubled up to BACKOFF_MAX_MS */
    unsigned io_ms, connect_ms;
} connect_opts;

#define BACKOFF_MAX_MS (3600u * 1000u)

static int parse_secs(const char *v, unsigned *ms)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || d < 0 || d > 86400)
        return -1;
    *ms = (unsigned)(d * 1000.0);
    return 0;
}

static int parse_connect(int argc, char **argv, globals *g, connect_opts *o)
{
    static const struct option opts[] = {{"host", required_argument, NULL, 'H'},
                                         {"port", required_argument, NULL, 'P'},
                                         {"ca", required_argument, NULL, 'c'},
                                         {"se", required_argument, NULL, 's'},
                                         {"scp03", required_argument, NULL, 'k'},
                                         {"provider-dir", required_argument, NULL, 'm'},
                                         {"daemon", no_argument, NULL, 'D'},
                                         {"max-tries", required_argument, NULL, 'n'},
                                         {"backoff", required_argument, NULL, 'b'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"connect-timeout", required_argument, NULL, 'T'},
                                         {NULL, 0, NULL, 0}};
    *o = (connect_opts){.backoff_ms = 5000, .max_tries = 0};
    optind = 1;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "+v", opts, NULL)) != -1) {
        switch (c) {
        case 'H': o->host = optarg; break;
        case 'P': o->port = optarg; break;
        case 'c': o->ca = optarg; break;
        case 's': g->se = optarg; break;
        case 'k': g->scp03 = optarg; break;
        case 'm': o->provider_dir = optarg; break;
        case 'D': o->daemon = true; break;
        case 'v': o->verbose = true; break;
        case 'n':
            o->max_tries = (unsigned)strtoul(optarg, &end, 10);
            if (*end || !*optarg)
                return -1;
            break;
        case 'b':
            if (parse_secs(optarg, &o->backoff_ms))
                return -1;
            break;
        case 't':
            if (parse_secs(optarg, &o->io_ms) || !o->io_ms)
                return -1;
            break;
        case 'T':
            if (parse_secs(optarg, &o->connect_ms) || !o->connect_ms)
                return -1;
            break;
        default: return -1;
        }
    }
    if (!o->daemon)
        o->max_tries = 1;
    return optind == argc ? 0 : -1;
}

static int tls_exit(el2go_tls_failure f)
{
    switch (f) {
    case EL2GO_TLS_CONFIG: return EXIT_NOTCONF;
    case EL2GO_TLS_SE: return EXIT_SE;
    case EL2GO_TLS_NO_KEY: return EXIT_NOKEY;
    case EL2GO_TLS_CONNECT: return EXIT_CONNECT;
    case EL2GO_TLS_UNTRUSTED: return EXIT_UNTRUSTED;
    case EL2GO_TLS_HOSTNAME: return EXIT_HOSTNAME;
    case EL2GO_TLS_HANDSHAKE: return EXIT_HANDSHAKE;
    default: return EXIT_SESSION;
    }
}

/* connect's exit code for a goodbye: 0 SUCCESS, the UpdateStatus code for
 * the defined error codes 0x10..0x51, 4 otherwise. */
static int report_exit(const Nxp__Iot__UpdateStatusReport *r)
{
    if (!r || !r->has_status)
        return EXIT_REPORT;
    int st = (int)r->status;
    if (st == NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__SUCCESS)
        return EXIT_SUCCESS;
    if (st >= 0x10 && st <= 0x51 && strcmp(el2go_update_status_name(st), "UNKNOWN") != 0)
        return st;
    return EXIT_REPORT;
}

/* server_certificate of the first descriptor of a valid connection
 * datastore that has one (malloc'ed), for host/port given elsewhere. */
static uint8_t *datastore_roots(const uint8_t *ds, size_t ds_len, size_t *len)
{
    size_t n = 0;
    uint8_t *out = NULL;
    if (!ds || el2go_dscontent_check(ds, ds_len, NULL, 0) != EL2GO_OK ||
        el2go_services_count(ds, ds_len, &n) != EL2GO_OK)
        return NULL;
    for (size_t i = 0; !out && i < n; i++) {
        Nxp__Iot__ServiceDescriptor *sd = NULL;
        if (el2go_service_by_index(ds, ds_len, i, &sd) != EL2GO_OK)
            break;
        if (sd->has_server_certificate && sd->server_certificate.len &&
            (out = malloc(sd->server_certificate.len))) {
            memcpy(out, sd->server_certificate.data, sd->server_certificate.len);
            *len = sd->server_certificate.len;
        }
        el2go_service_free(sd);
    }
    return out;
}

/* Roots: --ca FILE wins, else the settings' (connection datastore), else
 * those of the connection datastore when host/port came from elsewhere. */
static int connect_roots(const connect_opts *o, const el2go_settings *s, const uint8_t *ds,
                         size_t ds_len, uint8_t **roots, size_t *len)
{
    char err[300];
    if (o->ca) {
        if (el2go_pem_file_to_der(o->ca, roots, len, err, sizeof(err)) != EL2GO_OK) {
            fprintf(stderr, "el2go-agent: --ca: %s\n", err);
            return EXIT_NOTCONF;
        }
        return EXIT_SUCCESS;
    }
    if (s->roots && s->roots_len && (*roots = malloc(s->roots_len))) {
        memcpy(*roots, s->roots, s->roots_len);
        *len = s->roots_len;
        return EXIT_SUCCESS;
    }
    if ((*roots = datastore_roots(ds, ds_len, len)) != NULL)
        return EXIT_SUCCESS;
    fprintf(stderr, "el2go-agent: no trusted root certificates: the connection datastore has "
                    "none; give --ca FILE (PEM)\n");
    return EXIT_NOTCONF;
}

/* Rewrite the connection datastore with the settings in use (host/port
 * from the command line or the environment, as the reference agent does). */
static void rewrite_connds(el2go_datastore *ds, const el2go_settings *s, el2go_tls *tls,
                           const uint8_t *roots, size_t roots_len, bool verbose)
{
    uint32_t key_id, cert_id;
    el2go_tls_client_ids(tls, &key_id, &cert_id);
    uint8_t *blob = NULL;
    size_t len = 0;
    el2go_status st = el2go_connds_build(s->hostname, s->port, EL2GO_KEYSTORE_ID, key_id, cert_id,
                                         roots, roots_len, &blob, &len);
    if (st == EL2GO_OK)
        st = el2go_ds_store(ds, blob, len);
    free(blob);
    if (st != EL2GO_OK)
        fprintf(stderr, "el2go-agent: warning: cannot rewrite the connection datastore: %s\n",
                el2go_strerror(st));
    else if (verbose)
        fprintf(stderr, "el2go-agent: connection datastore rewritten (%s:%u, key 0x%08x)\n",
                s->hostname, s->port, key_id);
}

static int run_session(const globals *g, const connect_opts *o, el2go_tls *tls,
                       el2go_datastore *conn_ds, el2go_datastore *svc_ds, el2go_keystore *ks,
                       const uint8_t *roots, size_t roots_len)
{
    el2go_crl_check chk = {
        .peer_chain = el2go_tls_peer_chain(tls), .roots = roots, .roots_len = roots_len};
    el2go_agent_cfg cfg = {.el2go_ds = conn_ds,
                           .datastores = {svc_ds},
                           .n_datastores = 1,
                           .keystore = ks,
                           .request_crl = true,
                           .crl_verify = el2go_crl_verify_cb,
                           .crl_ctx = &chk,
                           .log = o->verbose ? stderr : NULL};
    el2go_stream s;
    el2go_tls_stream(tls, &s);
    el2go_session_result r;
    el2go_status st = el2go_session_run(&cfg, &s, &r);
    el2go_tls_close(tls, st == EL2GO_OK);
    int rc;
    if (st == EL2GO_OK) {
        char *path = state_path(g, REPORT_FILE);
        if (r.report_raw && path && el2go_report_save(path, r.report_raw, r.report_raw_len))
            fprintf(stderr, "el2go-agent: warning: cannot save the report to %s\n", path);
        free(path);
        el2go_report_print(stderr, r.report);
        rc = report_exit(r.report);
    } else {
        char ioerr[200];
        bool io = el2go_tls_io_failure(tls, ioerr, sizeof(ioerr)) != EL2GO_TLS_OK;
        fprintf(stderr, "el2go-agent: session failed: %s%s%s\n",
                r.err[0] ? r.err : el2go_strerror(st), io ? " (" : "", io ? ioerr : "");
        rc = st == EL2GO_ERR_CRL ? EXIT_CRL : EXIT_SESSION;
    }
    el2go_session_result_clear(&r);
    return rc;
}

/* One connection attempt: settings, SE, TLS, session. */
static int connect_once(const globals *g, const connect_opts *o)
{
    el2go_datastore *conn_ds = NULL, *svc_ds = NULL;
    if (open_datastores(g, &conn_ds, &svc_ds) != EL2GO_OK) {
        fprintf(stderr, "el2go-agent: cannot open the datastores in %s\n", g->dir);
        el2go_ds_free(conn_ds);
        return EXIT_FAILURE;
    }
    size_t dlen;
    const uint8_t *data = el2go_ds_data(conn_ds, &dlen);
    el2go_settings s;
    char warn[256];
    el2go_status st = el2go_settings_resolve(o->host, o->port, data, dlen, &s, warn, sizeof(warn));
    if (warn[0])
        fprintf(stderr, "el2go-agent: warning: %s\n", warn);
    int rc = st == EL2GO_OK ? EXIT_SUCCESS : EXIT_USAGE;
    if (rc != EXIT_SUCCESS)
        fprintf(stderr, "el2go-agent: invalid host or port\n");
    else if (!s.hostname[0]) {
        fprintf(stderr, "el2go-agent: no EdgeLock 2GO host name configured (use --host, "
                        "EDGELOCK2GO_HOSTNAME/EDGELOCK2GO_PORT or a connection datastore)\n");
        rc = EXIT_NOTCONF;
    }
    uint8_t *roots = NULL;
    size_t roots_len = 0;
    if (rc == EXIT_SUCCESS)
        rc = connect_roots(o, &s, data, dlen, &roots, &roots_len);
    se05x_conn *c = NULL;
    el2go_keystore *ks = NULL;
    if (rc == EXIT_SUCCESS && open_se(g->se, g->scp03, &c) != EXIT_SUCCESS)
        rc = EXIT_SE;
    if (rc == EXIT_SUCCESS && el2go_ks_se05x_new(EL2GO_KEYSTORE_ID, c, &ks) != EL2GO_OK)
        rc = EXIT_FAILURE;
    el2go_tls *tls = NULL;
    char err[512];
    el2go_tls_failure why = EL2GO_TLS_OK;
    if (rc == EXIT_SUCCESS) {
        bool from_ds = s.source == EL2GO_SRC_DATASTORE;
        el2go_tls_cfg tc = {.se = g->se,
                            .scp03_keyfile = g->scp03,
                            .provider_dir = o->provider_dir,
                            .key_id = from_ds ? s.key_id : 0,
                            .cert_id = from_ds ? s.cert_id : 0,
                            .roots = roots,
                            .roots_len = roots_len,
                            .connect_timeout_ms = o->connect_ms,
                            .io_timeout_ms = o->io_ms};
        if (el2go_tls_new(&tc, &tls, &why, err, sizeof(err)) != EL2GO_OK) {
            fprintf(stderr, "el2go-agent: %s\n", err);
            rc = tls_exit(why);
        }
    }
    if (rc == EXIT_SUCCESS &&
        (s.source == EL2GO_SRC_CMDLINE || s.source == EL2GO_SRC_ENV))
        rewrite_connds(conn_ds, &s, tls, roots, roots_len, o->verbose);
    if (rc == EXIT_SUCCESS) {
        if (o->verbose)
            fprintf(stderr, "el2go-agent: updating device configuration from [%s]:[%u]\n",
                    s.hostname, s.port);
        if (el2go_tls_connect(tls, s.hostname, s.port, &why, err, sizeof(err)) != EL2GO_OK) {
            fprintf(stderr, "el2go-agent: %s\n", err);
            rc = tls_exit(why);
        } else {
            if (o->verbose)
                fprintf(stderr, "el2go-agent: connected, %s %s\n", el2go_tls_version(tls),
                        el2go_tls_cipher(tls));
            rc = run_session(g, o, tls, conn_ds, svc_ds, ks, roots, roots_len);
        }
    }
    el2go_tls_free(tls);
    el2go_ks_free(ks);
    if (c)
        se05x_conn_close(c);
    free(roots);
    el2go_settings_clear(&s);
    el2go_ds_free(conn_ds);
    el2go_ds_free(svc_ds);
    return rc;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int cmd_connect(globals *g, int argc, char **argv)
{
    connect_opts o;
    if (parse_connect(argc, argv, g, &o) != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    unsigned delay = o.backoff_ms;
    for (unsigned attempt = 1;; attempt++) {
        int rc = connect_once(g, &o);
        /* configuration errors do not heal by retrying */
        if (!o.daemon || rc == EXIT_SUCCESS || rc == EXIT_USAGE || rc == EXIT_NOTCONF ||
            (o.max_tries && attempt >= o.max_tries))
            return rc;
        fprintf(stderr, "el2go-agent: attempt %u failed (exit %d); retrying in %u.%03u s\n",
                attempt, rc, delay / 1000u, delay % 1000u);
        sleep_ms(delay);
        delay = delay > BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : delay * 2;
        if (!delay)
            delay = 1;
    }
}

static int cmd_export(const globals *g, int argc, char **argv)
{
    if (argc != 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    char *base = state_path(g, SERVICES_DS_FILE);
    el2go_datastore *ds = NULL;
    el2go_status st =
        base ? el2go_ds_fs_open(0, base, el2go_dscontent_valid, &ds) : EL2GO_ERR_NOMEM;
    free(base);
    if (st != EL2GO_OK) {
        fprintf(stderr, "el2go-agent: cannot open the service datastore: %s\n", el2go_strerror(st));
        return EXIT_FAILURE;
    }
    size_t len, n = 0;
    const uint8_t *data = el2go_ds_data(ds, &len);
    if (el2go_services_count(data, len, &n) != EL2GO_OK) {
        el2go_ds_free(ds);
        fprintf(stderr, "el2go-agent: no valid service datastore in %s\n", g->dir);
        return EXIT_NODATA;
    }
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X, .connstr = g->se,
                           .scp03_keyfile = g->scp03};
    sss_session *s = NULL;
    char err[300] = "";
    if (sss_session_open(&cfg, &s, err, sizeof(err)) != SSS_OK) {
        fprintf(stderr, "el2go-agent: cannot open the SE: %s\n", err);
        el2go_ds_free(ds);
        return EXIT_SE;
    }
    size_t count = 0;
    st = el2go_export(data, len, s, argv[1], &count, err, sizeof(err));
    sss_session_close(s);
    el2go_ds_free(ds);
    if (st != EL2GO_OK) {
        fprintf(stderr, "el2go-agent: export: %s\n", err);
        return EXIT_FAILURE;
    }
    printf("exported %zu service%s to %s\n", count, count == 1 ? "" : "s", argv[1]);
    return EXIT_SUCCESS;
}

static int cmd_claimcode(const globals *g, int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "inject") == 0)
        return claim_inject(g->se, g->scp03, argv[2]);
    if (argc == 2 && strcmp(argv[1], "delete") == 0)
        return claim_delete(g->se, g->scp03);
    usage(stderr);
    return EXIT_USAGE;
}

/* SE05X_SCP03_KEYFILE, NULL when unset or empty. */
static const char *env_scp03(void)
{
    const char *e = getenv("SE05X_SCP03_KEYFILE");
    return e && *e ? e : NULL;
}

/* NXP tool usage: FILE [CONN] or --delete [CONN]. */
static int claimcode_tool(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: el2go-claimcode-inject FILE [CONN] | --delete [CONN]\n");
        return EXIT_SUCCESS;
    }
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: el2go-claimcode-inject FILE [CONN] | --delete [CONN]\n");
        return EXIT_USAGE;
    }
    const char *conn = argc == 3 ? argv[2] : NULL;
    const char *scp03 = env_scp03();
    if (strcmp(argv[1], "--delete") == 0)
        return claim_delete(conn, scp03);
    return claim_inject(conn, scp03, argv[1]);
}

int main(int argc, char **argv)
{
    const char *prog = strrchr(argv[0], '/');
    prog = prog ? prog + 1 : argv[0];
    if (strcmp(prog, "el2go-claimcode-inject") == 0)
        return claimcode_tool(argc, argv);

    globals g = {.dir = getenv("EL2GO_STATE_DIR"), .se = NULL, .scp03 = env_scp03()};
    if (!g.dir || !*g.dir)
        g.dir = ".";
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"se", required_argument, NULL, 's'},
                                         {"scp03", required_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': g.dir = optarg; break;
        case 's': g.se = optarg; break;
        case 'k': g.scp03 = optarg; break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    int sub_argc = argc - optind;
    char **sub = argv + optind;
    const char *cmd = sub[0];
    if (!strcmp(cmd, "status") && sub_argc == 1)
        return cmd_status(&g);
    if (!strcmp(cmd, "services"))
        return cmd_services(&g, sub_argc, sub);
    if (!strcmp(cmd, "settings"))
        return cmd_settings(&g, sub_argc, sub);
    if (!strcmp(cmd, "claimcode"))
        return cmd_claimcode(&g, sub_argc, sub);
    if (!strcmp(cmd, "session"))
        return cmd_session(&g, sub_argc, sub);
    if (!strcmp(cmd, "export"))
        return cmd_export(&g, sub_argc, sub);
    if (!strcmp(cmd, "connect"))
        return cmd_connect(&g, sub_argc, sub);
    if (!strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_SUCCESS;
    }
    fprintf(stderr, "el2go-agent: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
