/* el2go-server: the local EdgeLock 2GO device-link service CLI (issue 7).
 * init | serve | session | devices | groups | claimcodes | objects |
 * services (add / remove / list), all working on a server directory (--dir, env EL2GO_SERVER_DIR,
 * default ./el2go-server) holding el2go-server.conf, the CA files and the
 * SQLite database. See docs/el2go-server.md. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "el2go_server/server.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_NOTFOUND = 3, EX_REFUSED = 4, EX_LINK = 5 };

typedef struct {
    char dir[1024];
    char hostname[256];
    unsigned port;
    char listen[300];
    char factory_ca[2048];
    char auth_key[1024];
    char database[1100];
} config;

static const char USAGE[] =
    "usage: el2go-server [--dir DIR] COMMAND [ARGS]\n"
    "Local EdgeLock 2GO device-link provisioning service.\n"
    "\n"
    "  init [--hostname H] [--port P] [--factory-ca PEM] [--auth-key PEM] [--force]\n"
    "                        create DIR, its CAs, config file and database\n"
    "  serve [--listen HOST:PORT] [--count N]\n"
    "                        TLS listener (mutual TLS, factory CA trusted)\n"
    "  session -- CMD [ARGS] run one session with a local agent started as CMD\n"
    "                        (e.g. el2go-agent --se sim:D session --stdio)\n"
    "  groups add NAME | remove NAME [--force] | list\n"
    "                        remove refuses a group in use; --force deletes its\n"
    "                        objects, services and claim codes and detaches its devices\n"
    "  devices add UID [--group G] | remove UID | list | show UID\n"
    "  claimcodes create GROUP [--limit N] [--length L] | revoke CODE | list\n"
    "  objects add GROUP --id ID --type ec-p256|ec-p384|rsa2048 [--name N]\n"
    "          | remove GROUP --id ID | list [GROUP]\n"
    "                        remove: no longer provisioned; the key and certificate\n"
    "                        already on devices stay there\n"
    "  services add GROUP --id N --type aws|azure|custom --host H --port P\n"
    "           [--client-id C] [--username U] [--key-id ID] [--cert-id ID]\n"
    "           [--azure-scope S] [--metadata JSON]\n"
    "           | remove GROUP --id N | list [GROUP]\n"
    "                        remove: dropped from the customer datastore at the next\n"
    "                        session (emptied when no service is left)\n"
    "\n"
    "  --dir DIR   server directory (env EL2GO_SERVER_DIR, default ./el2go-server)\n"
    "UID: 0x + 36 hex digits, or 42 decimal digits.\n"
    "Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 session refused or\n"
    "failed (goodbye status not SUCCESS), 5 link/protocol error.\n";

static int usage_err(const char *fmt, const char *arg)
{
    fprintf(stderr, "el2go-server: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see el2go-server --help)\n");
    return EX_USAGE;
}

/* ---- config file ---------------------------------------------------- */

static void trim(char *s)
{
    char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    memmove(s, p, strlen(p) + 1);
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = 0;
}

static int config_load(config *c)
{
    snprintf(c->hostname, sizeof(c->hostname), "localhost");
    c->port = 8443;
    snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8443");
    snprintf(c->database, sizeof(c->database), "%s/el2go.db", c->dir);
    char path[1100];
    snprintf(path, sizeof(path), "%s/el2go-server.conf", c->dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "el2go-server: cannot read %s: %s (run `el2go-server --dir %s init`)\n",
                path, strerror(errno), c->dir);
        return EX_FAIL;
    }
    char line[2300];
    int ln = 0, rc = EX_OK;
    while (fgets(line, sizeof(line), f)) {
        ln++;
        line[strcspn(line, "#")] = 0;
        trim(line);
        if (!line[0])
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            fprintf(stderr, "el2go-server: %s:%d: expected KEY = VALUE\n", path, ln);
            rc = EX_FAIL;
            continue;
        }
        *eq = 0;
        char *k = line, *v = eq + 1;
        trim(k);
        trim(v);
        char *end;
        if (!strcmp(k, "hostname"))
            snprintf(c->hostname, sizeof(c->hostname), "%s", v);
        else if (!strcmp(k, "port")) {
            unsigned long p = strtoul(v, &end, 10);
            if (*end || !p || p > 65535) {
                fprintf(stderr, "el2go-server: %s:%d: port must be 1..65535\n", path, ln);
                rc = EX_FAIL;
            }
            c->port = (unsigned)p;
        } else if (!strcmp(k, "listen"))
            snprintf(c->listen, sizeof(c->listen), "%s", v);
        else if (!strcmp(k, "factory_ca"))
            snprintf(c->factory_ca, sizeof(c->factory_ca), "%s", v);
        else if (!strcmp(k, "el2go_auth_key"))
            snprintf(c->auth_key, sizeof(c->auth_key), "%s", v);
        else if (!strcmp(k, "database"))
            snprintf(c->database, sizeof(c->database), "%s", v);
        else {
            fprintf(stderr, "el2go-server: %s:%d: unknown key '%s'\n", path, ln, k);
            rc = EX_FAIL;
        }
    }
    fclose(f);
    return rc;
}

static int open_store(const config *c, el2gs_store **s)
{
    char err[512];
    if (el2gs_store_open(c->database, s, err, sizeof(err)) != EL2GO_OK) {
        fprintf(stderr, "el2go-server: %s\n", err);
        return EX_FAIL;
    }
    return EX_OK;
}

static int store_fail(el2gs_store *s, el2go_status st)
{
    fprintf(stderr, "el2go-server: %s\n", el2gs_store_err(s)[0] ? el2gs_store_err(s) : el2go_strerror(st));
    return st == EL2GO_ERR_NOT_FOUND ? EX_NOTFOUND : st == EL2GO_ERR_ARG ? EX_USAGE : EX_FAIL;
}

/* ---- init ----------------------------------------------------------- */

static int cmd_init(config *c, int argc, char **argv)
{
    static const struct option lo[] = {{"hostname", 1, 0, 'h'}, {"port", 1, 0, 'p'},
                                       {"factory-ca", 1, 0, 'f'}, {"auth-key", 1, 0, 'a'},
                                       {"force", 0, 0, 'F'}, {0, 0, 0, 0}};
    const char *host = "localhost", *fca = "", *ak = "";
    unsigned long port = 8443;
    bool force = false;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        char *end;
        switch (o) {
        case 'h': host = optarg; break;
        case 'p':
            port = strtoul(optarg, &end, 10);
            if (*end || !port || port > 65535)
                return usage_err("--port must be 1..65535, not '%s'", optarg);
            break;
        case 'f': fca = optarg; break;
        case 'a': ak = optarg; break;
        case 'F': force = true; break;
        default: return EX_USAGE;
        }
    }
    if (optind != argc)
        return usage_err("init: unexpected argument '%s'", argv[optind]);
    char err[512];
    if (el2gs_ca_init(c->dir, host, force, err, sizeof(err)) != EL2GO_OK) {
        fprintf(stderr, "el2go-server: %s\n", err);
        return EX_FAIL;
    }
    char path[1100];
    snprintf(path, sizeof(path), "%s/el2go-server.conf", c->dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "el2go-server: cannot write %s: %s\n", path, strerror(errno));
        return EX_FAIL;
    }
    fprintf(f, "# el2go-server configuration (docs/el2go-server.md)\n"
               "# name advertised to devices in the connection datastore 0x70000000\n"
               "hostname = %s\nport = %lu\n"
               "# TLS listener address\nlisten = 127.0.0.1:%lu\n"
               "# trusted device factory CA(s), ':'-separated PEM files\nfactory_ca = %s\n"
               "# EdgeLock 2GO ECKey auth key (0xF0000020) for claim codes, optional\n"
               "el2go_auth_key = %s\n"
               "database = %s/el2go.db\n",
            host, port, port, fca, ak, c->dir);
    fclose(f);
    el2gs_store *s;
    snprintf(c->database, sizeof(c->database), "%s/el2go.db", c->dir);
    if (open_store(c, &s) != EX_OK)
        return EX_FAIL;
    el2gs_store_close(s);
    printf("initialized %s (device-link root, server certificate for %s, device CA, database)\n",
           c->dir, host);
    return EX_OK;
}

/* ---- groups / devices ---------------------------------------------- */

static void print_group(void *ctx, const char *n)
{
    (void)ctx;
    printf("%s\n", n);
}

static int cmd_groups(config *c, int argc, char **argv)
{
    if (argc < 2)
        return usage_err("groups: expected add NAME | remove NAME [--force] | list%s", "");
    el2gs_store *s;
    if (open_store(c, &s) != EX_OK)
        return EX_FAIL;
    int rc = EX_OK;
    el2go_status st;
    /* remove NAME [--force] or remove --force NAME */
    bool force = argc == 4 && (!strcmp(argv[3], "--force") || !strcmp(argv[2], "--force"));
    const char *name = force && !strcmp(argv[2], "--force") ? argv[3] : argv[2];
    if (!strcmp(argv[1], "add") && argc == 3)
        rc = (st = el2gs_group_add(s, argv[2])) == EL2GO_OK ? EX_OK : store_fail(s, st);
    else if (!strcmp(argv[1], "remove") && (argc == 3 || force) && strcmp(name, "--force"))
        rc = (st = el2gs_group_remove(s, name, force)) == EL2GO_OK ? EX_OK : store_fail(s, st);
    else if (!strcmp(argv[1], "list") && argc == 2)
        el2gs_group_list(s, print_group, NULL);
    else
        rc = usage_err("groups: bad arguments (%s)", argv[1]);
    el2gs_store_close(s);
    return rc;
}

static void print_dev(void *ctx, const el2gs_device *d)
{
    (void)ctx;
    printf("0x%s  group=%s  state=%s  last=%s  status=%s  connections=%d\n", d->uid,
           d->group[0] ? d->group : "-", d->state, d->last_seen[0] ? d->last_seen : "never",
           d->last_status ? el2gs_update_status_name(d->last_status) : "-", d->connections);
}

static void print_devobj(void *ctx, uint32_t key_id, int state, const char *serial)
{
    (void)ctx;
    printf("  object 0x%08X (+ certificate 0x%08X): %s%s%s\n", key_id, key_id + 1,
           el2gs_prov_state_name(state), serial[0] ? ", serial " : "", serial);
}

static int parse_uid(const char *in, char uid[EL2GS_UID_HEX + 1])
{
    if (!el2gs_uid_normalize(in, uid))
        return usage_err("invalid UID '%s': expected 0x + 36 hex digits or 42 decimal digits", in);
    return EX_OK;
}

static int cmd_devices(config *c, int argc, char **argv)
{
    if (argc < 2)
        return usage_err("devices: expected add|remove|list|show%s", "");
    char uid[EL2GS_UID_HEX + 1];
    const char *group = "";
    const char *sub = argv[1];
    if (!strcmp(sub, "add")) {
        if (argc != 3 && !(argc == 5 && !strcmp(argv[3], "--group")))
            return usage_err("devices add: expected UID [--group G]%s", "");
        if (argc == 5)
            group = argv[4];
    } else if (!strcmp(sub, "list")) {
        if (argc != 2)
            return usage_err("devices list: unexpected argument '%s'", argv[2]);
    } else if (!strcmp(sub, "show") || !strcmp(sub, "remove")) {
        if (argc != 3)
            return usage_err("devices %s: expected UID", sub);
    } else {
        return usage_err("devices: unknown subcommand '%s'", sub);
    }
    if (argc >= 3 && parse_uid(argv[2], uid) != EX_OK)
        return EX_USAGE;
    el2gs_store *s;
    if (open_store(c, &s) != EX_OK)
        return EX_FAIL;
    el2go_status st = EL2GO_OK;
    el2gs_device d;
    if (!strcmp(sub, "add"))
        st = el2gs_device_add(s, uid, group);
    else if (!strcmp(sub, "remove"))
        st = el2gs_device_remove(s, uid);
    else if (!strcmp(sub, "list"))
        st = el2gs_device_list(s, print_dev, NULL);
    else if ((st = el2gs_device_get(s, uid, &d)) == EL2GO_OK) {
        print_dev(NULL, &d);
        el2gs_devobj_list(s, uid, print_devobj, NULL);
    }
    int rc = st == EL2GO_OK ? EX_OK : store_fail(s, st);
    el2gs_store_close(s);
    return rc;
}

/* ---- claim codes ---------------------------------------------------- */

static void print_cc(void *ctx, const el2gs_claimcode *cc)
{
    (void)ctx;
    printf("%s  group=%s  used=%d/%d%s\n", cc->code, cc->group, cc->used, cc->limit,
           cc->revoked ? "  REVOKED" : "");
}

static bool parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (!*s || *end || errno || v > max)
        return false;
    *out = v;
    return true;
}

static int cmd_claimcodes(config *c, int argc, char **argv)
{
    if (argc < 2)
        return usage_err("claimcodes: expected create|revoke|list%s", "");
    el2gs_store *s;
    int rc = EX_OK;
    el2go_status st = EL2GO_OK;
    if (!strcmp(argv[1], "create") && argc >= 3) {
        unsigned long long lim = 1, len = 32;
        for (int i = 3; i < argc; i += 2) {
            if (i + 1 >= argc)
                return usage_err("claimcodes create: %s needs a value", argv[i]);
            if (!strcmp(argv[i], "--limit")) {
                if (!parse_num(argv[i + 1], 1000000, &lim) || !lim)
                    return usage_err("--limit must be 1..1000000, not '%s'", argv[i + 1]);
            } else if (!strcmp(argv[i], "--length")) {
                if (!parse_num(argv[i + 1], 255, &len) || len < 16)
                    return usage_err("--length must be 16..255, not '%s'", argv[i + 1]);
            } else {
                return usage_err("claimcodes create: unknown option '%s'", argv[i]);
            }
        }
        if (open_store(c, &s) != EX_OK)
            return EX_FAIL;
        char code[256];
        st = el2gs_claimcode_create(s, argv[2], (int)lim, (size_t)len, code, sizeof(code));
        if (st == EL2GO_OK)
            printf("%s\n", code);
    } else if (!strcmp(argv[1], "revoke") && argc == 3) {
        if (open_store(c, &s) != EX_OK)
            return EX_FAIL;
        st = el2gs_claimcode_revoke(s, argv[2]);
    } else if (!strcmp(argv[1], "list") && argc == 2) {
        if (open_store(c, &s) != EX_OK)
            return EX_FAIL;
        st = el2gs_claimcode_list(s, print_cc, NULL);
    } else {
        return usage_err("claimcodes: bad arguments (%s)", argv[1]);
    }
    if (st != EL2GO_OK)
        rc = store_fail(s, st);
    el2gs_store_close(s);
    return rc;
}

/* ---- objects / services --------------------------------------------- */

static void print_obj(void *ctx, const el2gs_object *o)
{
    (void)ctx;
    printf("%s  key 0x%08X  cert 0x%08X  %s  %s\n", o->group, o->key_id, o->key_id + 1,
           el2gs_key_type_name(o->type), o->name);
}

static const char *svc_type_name(int t)
{
    return t == 0 ? "aws" : t == 2 ? "azure" : t == 15 ? "custom" : "other";
}

static void print_svc(void *ctx, const el2gs_service *v)
{
    (void)ctx;
    printf("%s  service %llu  %s  mqtts://%s:%u  key 0x%08X cert 0x%08X%s%s\n", v->group,
           (unsigned long long)v->id, svc_type_name(v->type), v->hostname, v->port, v->key_id,
           v->cert_id, v->client_id[0] ? "  client_id=" : "", v->client_id);
}

static int cmd_objects(config *c, int argc, char **argv)
{
    el2gs_store *s;
    el2go_status st;
    if (argc >= 2 && !strcmp(argv[1], "list") && argc <= 3) {
        if (open_store(c, &s) != EX_OK)
            return EX_FAIL;
        st = el2gs_object_list(s, argc == 3 ? argv[2] : NULL, print_obj, NULL);
    } else if (argc >= 3 && !strcmp(argv[1], "add")) {
        el2gs_object o = {0};
        snprintf(o.group, sizeof(o.group), "%s", argv[2]);
        unsigned long long id = 0;
        for (int i = 3; i < argc; i += 2) {
            if (i + 1 >= argc)
                return usage_err("objects add: %s needs a value", argv[i]);
            const char *v = argv[i + 1];
            if (!strcmp(argv[i], "--id")) {
                if (!parse_num(v, 0xFFFFFFFEull, &id) || !id)
                    return usage_err("--id must be a 32-bit object id (not 0, not 0xFFFFFFFF), not '%s'", v);
            } else if (!strcmp(argv[i], "--type")) {
                if (!(o.type = el2gs_key_type_parse(v)))
                    return usage_err("--type must be ec-p256, ec-p384 or rsa2048, not '%s'", v);
            } else if (!strcmp(argv[i], "--name")) {
                snprintf(o.name, sizeof(o.name), "%s", v);
            } else {
                return usage_err("objects add: unknown option '%s'", argv[i]);
            }
        }
        if (!id || !o.type)
            return usage_err("objects add: --id and --type are required%s", "");
        o.key_id = (uint32_t)id;
        if (!o.name[0])
            snprintf(o.name, sizeof(o.name), "object-%08X", o.key_id);
        if (open_store(c, &s) != EX_OK)
            return EX_FAIL;
        st = el2gs_object_add(s, &o);
    } else if (argc >= 3 && !strcmp(argv[1], "remove")) {
        unsigned long long id = 0;
        if (argc != 5 || strcmp(argv[3], "--id"))
            return usage_err("objects remove: expected GROUP --id ID%s", "");
        if (!parse_num(argv[4], 0xFFFFFFFEull, &id) || !id)
            return usage_err("--id must be a 32-bit object id (not 0, not 0xFFFFFFFF), not '%s'",
                             argv[4]);
        if (open_store(c, &s) != EX_OK)
            return EX_FAIL;
        st = el2gs_object_remove(s, argv[2], (uint32_t)id);
    } else {
        return usage_err("objects: expected add GROUP ... | remove GROUP --id ID | list [GROUP]%s", "");
    }
    int rc = st == EL2GO_OK ? EX_OK : store_fail(s, st);
    el2gs_store_close(s);
    return rc;
}

static int svc_opt(el2gs_service *v, const char *k, const char *val)
{
    unsigned long long n;
    if (!strcmp(k, "--id")) {
        if (!parse_num(val, UINT64_MAX, &n))
            return usage_err("--id must be a number, not '%s'", val);
        v->id = n;
    } else if (!strcmp(k, "--type")) {
        v->type = !strcmp(val, "aws") ? 0 : !strcmp(val, "azure") ? 2 : !strcmp(val, "custom") ? 15 : -1;
        if (v->type < 0)
            return usage_err("--type must be aws, azure or custom, not '%s'", val);
    } else if (!strcmp(k, "--host"))
        snprintf(v->hostname, sizeof(v->hostname), "%s", val);
    else if (!strcmp(k, "--port")) {
        if (!parse_num(val, 65535, &n) || !n)
            return usage_err("--port must be 1..65535, not '%s'", val);
        v->port = (uint32_t)n;
    } else if (!strcmp(k, "--client-id"))
        snprintf(v->client_id, sizeof(v->client_id), "%s", val);
    else if (!strcmp(k, "--username"))
        snprintf(v->username, sizeof(v->username), "%s", val);
    else if (!strcmp(k, "--key-id") || !strcmp(k, "--cert-id")) {
        if (!parse_num(val, 0xFFFFFFFFull, &n))
            return usage_err("object id '%s' is not a 32-bit number", val);
        *(k[2] == 'k' ? &v->key_id : &v->cert_id) = (uint32_t)n;
    } else if (!strcmp(k, "--azure-scope"))
        snprintf(v->azure_scope, sizeof(v->azure_scope), "%s", val);
    else if (!strcmp(k, "--metadata"))
        snprintf(v->metadata, sizeof(v->metadata), "%s", val);
    else
        return usage_err("services add: unknown option '%s'", k);
    return EX_OK;
}

static int cmd_services(config *c, int argc, char **argv)
{
    el2gs_store *s;
    el2go_status st;
    if (argc >= 2 && !strcmp(argv[1], "list") && argc <= 3) {
        if (open_store(c, &s) != EX_OK)
            return EX_FAIL;
        st = el2gs_service_list(s, argc == 3 ? argv[2] : NULL, print_svc, NULL);
    } else if (argc >= 3 && !strcmp(argv[1], "add")) {
        el2gs_service v = {0};
        v.type = 15;
        snprintf(v.group, sizeof(v.group), "%s", argv[2]);
        for (int i = 3; i < argc; i += 2) {
            if (i + 1 >= argc)
                return usage_err("services add: %s needs a value", argv[i]);
            if (svc_opt(&v, argv[i], argv[i + 1]) != EX_OK)
                return EX_USAGE;
        }
        if (!v.hostname[0] || !v.port)
            return usage_err("services add: --host and --port are required%s", "");
        if (open_store(c, &s) != EX_OK)
            return EX_FAIL;
        st = el2gs_service_add(s, &v);
    } else if (argc >= 3 && !strcmp(argv[1], "remove")) {
        el2gs_service v = {0};
        if (argc != 5 || strcmp(argv[3], "--id"))
            return usage_err("services remove: expected GROUP --id N%s", "");
        if (svc_opt(&v, argv[3], argv[4]) != EX_OK)
            return EX_USAGE;
        if (open_store(c, &s) != EX_OK)
            return EX_FAIL;
        st = el2gs_service_remove(s, argv[2], v.id);
    } else {
        return usage_err("services: expected add GROUP ... | remove GROUP --id N | list [GROUP]%s", "");
    }
    int rc = st == EL2GO_OK ? EX_OK : store_fail(s, st);
    el2gs_store_close(s);
    return rc;
}

/* ---- session with a local agent (tests, tunnels) -------------------- */

static EVP_PKEY *load_auth_key(const char *path)
{
    if (!path || !path[0])
        return NULL;
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!k)
        fprintf(stderr, "el2go-server: warning: cannot load the EL2GO auth key %s\n", path);
    return k;
}

static int session_exit(el2go_status st, const el2gs_session_result *r)
{
    if (st != EL2GO_OK) {
        fprintf(stderr, "el2go-server: session failed: %s\n", r->err[0] ? r->err : el2go_strerror(st));
        return EX_LINK;
    }
    printf("device 0x%s: %s (rtp 0x%02X, csp 0x%02X, claim 0x%02X; %u object(s), %u service(s)%s%s, "
           "%u APDUs)\n",
           r->uid[0] ? r->uid : "?", el2gs_update_status_name(r->update_status), r->rtp_status,
           r->csp_status, r->claim_status, r->objects_written, r->services_written,
           r->ds_cleared ? ", customer datastore cleared" : "",
           r->conn_ds_written ? ", connection datastore" : "", r->apdus);
    return r->update_status == 1 ? EX_OK : EX_REFUSED;
}

static int cmd_session(config *c, int argc, char **argv)
{
    int i = 1;
    bool verbose = false;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "-v"))
            verbose = true;
        else
            return usage_err("session: unknown option '%s'", argv[i]);
    }
    if (i + 1 >= argc)
        return usage_err("session: expected -- CMD [ARGS] (the agent to talk to)%s", "");
    char **cmd = argv + i + 1;
    el2gs_ca ca;
    char err[512];
    if (el2gs_ca_load(c->dir, &ca, err, sizeof(err)) != EL2GO_OK) {
        fprintf(stderr, "el2go-server: %s\n", err);
        return EX_FAIL;
    }
    el2gs_store *s;
    if (open_store(c, &s) != EX_OK) {
        el2gs_ca_free(&ca);
        return EX_FAIL;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        perror("el2go-server: socketpair");
        return EX_FAIL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        dup2(sv[1], 0);
        dup2(sv[1], 1);
        close(sv[1]);
        execvp(cmd[0], cmd);
        fprintf(stderr, "el2go-server: cannot run %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    close(sv[1]);
    signal(SIGPIPE, SIG_IGN);
    EVP_PKEY *ak = load_auth_key(c->auth_key);
    el2gs_engine_cfg ec = {.store = s, .ca = &ca, .dir = c->dir, .hostname = c->hostname,
                           .port = c->port, .auth_key = ak, .log = verbose ? stderr : NULL};
    el2go_fdstream fs;
    el2go_stream st;
    el2go_fdstream_init(&fs, sv[0], sv[0], &st);
    el2gs_session_result r;
    el2go_status es = pid > 0 ? el2gs_session_run(&ec, &st, &r) : EL2GO_ERR_IO;
    if (pid < 0)
        snprintf(r.err, sizeof(r.err), "fork: %s", strerror(errno));
    close(sv[0]);
    int ws = 0;
    if (pid > 0)
        waitpid(pid, &ws, 0);
    EVP_PKEY_free(ak);
    el2gs_store_close(s);
    el2gs_ca_free(&ca);
    return session_exit(es, &r);
}

/* ---- serve ---------------------------------------------------------- */

static int cmd_serve(config *c, int argc, char **argv)
{
    static const struct option lo[] = {
        {"listen", 1, 0, 'l'}, {"count", 1, 0, 'n'}, {"verbose", 0, 0, 'v'}, {0, 0, 0, 0}};
    unsigned long long count = 0;
    bool verbose = false;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
        switch (o) {
        case 'l': snprintf(c->listen, sizeof(c->listen), "%s", optarg); break;
        case 'n':
            if (!parse_num(optarg, 1000000, &count))
                return usage_err("--count must be a number, not '%s'", optarg);
            break;
        case 'v': verbose = true; break;
        default: return EX_USAGE;
        }
    }
    if (optind != argc)
        return usage_err("serve: unexpected argument '%s'", argv[optind]);
    if (!c->factory_ca[0]) {
        fprintf(stderr, "el2go-server: no factory_ca configured in %s/el2go-server.conf: "
                        "devices cannot be authenticated\n", c->dir);
        return EX_FAIL;
    }
    el2gs_serve_cfg sc = {.dir = c->dir, .listen = c->listen, .trust = c->factory_ca,
                          .hostname = c->hostname, .port = c->port, .auth_key = c->auth_key,
                          .max_sessions = (int)count, .log = verbose ? stderr : NULL};
    char err[512];
    if (el2gs_serve(&sc, err, sizeof(err)) != EL2GO_OK) {
        fprintf(stderr, "el2go-server: %s\n", err);
        return EX_FAIL;
    }
    return EX_OK;
}

int main(int argc, char **argv)
{
    config c = {0};
    const char *dir = getenv("EL2GO_SERVER_DIR");
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(USAGE, stdout);
            return EX_OK;
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else {
            return usage_err("unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc) {
        fputs(USAGE, stderr);
        return EX_USAGE;
    }
    snprintf(c.dir, sizeof(c.dir), "%s", dir && *dir ? dir : "el2go-server");
    const char *cmd = argv[i];
    argc -= i;
    argv += i;
    if (!strcmp(cmd, "init"))
        return cmd_init(&c, argc, argv);
    static const struct {
        const char *name;
        int (*fn)(config *, int, char **);
    } cmds[] = {{"serve", cmd_serve},       {"session", cmd_session},   {"groups", cmd_groups},
                {"devices", cmd_devices},   {"claimcodes", cmd_claimcodes},
                {"objects", cmd_objects},   {"services", cmd_services}};
    for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
        if (!strcmp(cmd, cmds[k].name)) {
            if (config_load(&c) != EX_OK)
                return EX_FAIL;
            return cmds[k].fn(&c, argc, argv);
        }
    }
    return usage_err("unknown command '%s'", cmd);
}
