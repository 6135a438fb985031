/* Helpers of the se05x CLI: connecting with the global options, uniform
 * one-line error reporting with exit codes, and parsing of object ids and
 * hex strings; the sss session from the global --auth/--host-store options,
 * subcommand option parsing, policies, file reading/writing, and the
 * --json output (json-c). Ids, hex, --auth* and --policy text go through
 * sss's shared parsers (sss/spec.h), the same as the OpenSSL provider's
 * configuration. */
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "sss/spec.h"

int cli_connect(cli_ctx *ctx)
{
    if (ctx->conn)
        return CLI_OK;
    if (ctx->trace)
        setenv("SE05X_APDU_TRACE", "1", 1);
    const char *port = ctx->port ? ctx->port : se05x_connstr_default();
    se05x_conn_opts opts = {.scp03_keyfile = ctx->scp03};
    char err[512] = "";
    se05x_status st = se05x_conn_open_err(port, &opts, &ctx->conn, err, sizeof(err));
    if (st != SE05X_OK) {
        if (err[0])
            fprintf(stderr, "se05x: cannot connect: %s\n", err);
        else
            fprintf(stderr, "se05x: cannot connect to %s: %s\n", port, se05x_strerror(st));
        ctx->conn = NULL;
        /* a malformed connection string is the user's typo, not a dead link */
        return st == SE05X_ERR_CONNSTR ? CLI_USAGE : CLI_NOCONN;
    }
    return CLI_OK;
}

int cli_fail(cli_ctx *ctx, se05x_status st, const char *what)
{
    const char *detail = ctx->conn ? se05x_conn_errmsg(ctx->conn) : "";
    if (detail && detail[0])
        fprintf(stderr, "se05x: %s\n", detail);
    else
        fprintf(stderr, "se05x: %s: %s\n", what, se05x_strerror(st));
    if (st == SE05X_ERR_TRANSPORT || st == SE05X_ERR_TIMEOUT || st == SE05X_ERR_PROTOCOL)
        return CLI_NOCONN;
    return CLI_FAIL;
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("se05x: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, " (see 'se05x %s --help')\n", cmd->name);
    else
        fputs(" (see 'se05x --help')\n", stderr);
    return CLI_USAGE;
}

bool cli_parse_id(const char *s, uint32_t *id)
{
    return sss_parse_id(s, id);
}

bool cli_parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
    return sss_parse_hex(s, strlen(s), out, cap, len);
}

void cli_print_hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02X", b[i]);
    putchar('\n');
}

/* ---- sss sessions and shared argument handling ------------------------ */

bool cli_use_sss(const cli_ctx *ctx)
{
    return ctx->host_store ||
           (ctx->auth && strcasecmp(ctx->auth, "none") != 0 && strcasecmp(ctx->auth, "scp03") != 0);
}

/* Fill the auth part of cfg from --auth, --auth-id, --auth-secret,
 * --auth-key, --scp03 (the shared parser of sss/spec.h; spec holds the
 * secret until the caller clears it). */
static int auth_cfg(cli_ctx *ctx, sss_session_cfg *cfg, sss_auth_spec *spec)
{
    static const sss_auth_names names = {
        .method = "--auth", .auth_id = "--auth-id", .secret = "--auth-secret",
        .eckey = "--auth-key", .scp03_keyfile = "--scp03",
    };
    sss_auth_text t = {
        .method = ctx->auth, .auth_id = ctx->auth_id, .secret = ctx->auth_secret,
        .eckey = ctx->auth_key, .scp03_keyfile = ctx->scp03, .names = &names,
    };
    char err[300];
    if (sss_auth_spec_parse(&t, spec, err, sizeof(err)) != SSS_OK)
        return cli_usage_error(NULL, "%s", err);
    sss_auth_spec_apply(spec, cfg);
    return CLI_OK;
}

int cli_sss_open(cli_ctx *ctx)
{
    if (ctx->sss)
        return CLI_OK;
    if (ctx->trace)
        setenv("SE05X_APDU_TRACE", "1", 1);
    sss_session_cfg cfg = {0};
    sss_auth_spec spec = {0};
    int rc;
    if (ctx->host_store) {
        if (ctx->port)
            return cli_usage_error(NULL, "--host-store and --port exclude each other");
        if (ctx->scp03 || (ctx->auth && strcasecmp(ctx->auth, "none") != 0))
            return cli_usage_error(NULL, "--auth and --scp03 need an SE; not with --host-store");
        cfg.backend = SSS_BACKEND_HOST;
        cfg.connstr = ctx->host_store;
    } else {
        cfg.backend = SSS_BACKEND_SE05X;
        cfg.connstr = ctx->port ? ctx->port : se05x_connstr_default();
        if ((rc = auth_cfg(ctx, &cfg, &spec)) != CLI_OK)
            return rc;
    }
    char err[512] = "";
    sss_status st = sss_session_open(&cfg, &ctx->sss, err, sizeof(err));
    sss_auth_spec_clear(&spec);
    if (st == SSS_OK)
        return CLI_OK;
    ctx->sss = NULL;
    const char *where = ctx->host_store ? ctx->host_store : cfg.connstr;
    if (err[0])
        fprintf(stderr, "se05x: cannot connect: %s\n", err);
    else
        fprintf(stderr, "se05x: cannot connect to %s: %s\n", where, sss_strerror(st));
    return st == SSS_ERR_ARG ? CLI_USAGE : CLI_NOCONN;
}

int cli_sss_fail(cli_ctx *ctx, sss_status st, const char *what)
{
    const char *detail = ctx->sss ? sss_session_errmsg(ctx->sss) : NULL;
    if (!detail || !detail[0])
        detail = sss_strerror(st);
    switch (st) {
    case SSS_ERR_EXISTS:
        fprintf(stderr, "se05x: %s: the object already exists; not overwritten (use --force to "
                        "replace it) [%s]\n", what, detail);
        break;
    case SSS_ERR_DENIED:
        fprintf(stderr, "se05x: %s: denied by the object's policy [%s]\n", what, detail);
        break;
    case SSS_ERR_NOT_FOUND:
        fprintf(stderr, "se05x: %s: no such object [%s]\n", what, detail);
        break;
    case SSS_ERR_KEY_TYPE:
        fprintf(stderr, "se05x: %s: wrong key type for this operation [%s]\n", what, detail);
        break;
    default:
        fprintf(stderr, "se05x: %s: %s\n", what, detail);
        break;
    }
    if (st == SSS_ERR_CONNECT || st == SSS_ERR_LINK || st == SSS_ERR_AUTH)
        return CLI_NOCONN;
    if (st == SSS_ERR_RESERVED_ID)
        return CLI_USAGE;
    return CLI_FAIL;
}

int cli_key_id(const cli_command *cmd, const char *s, bool for_write, uint32_t *id)
{
    if (!cli_parse_id(s, id))
        return cli_usage_error(cmd, "invalid object id '%s' (expected at most 8 hex digits, "
                                    "e.g. 0xEF000010)", s);
    if (for_write && (*id & 0xFFFF0000u) == 0x7FFF0000u)
        return cli_usage_error(cmd, "object id 0x%08X is reserved (0x7FFF0000-0x7FFFFFFF)", *id);
    return CLI_OK;
}

int cli_parse_policy(const cli_command *cmd, const char *rules, se05x_policy *p)
{
    char err[200];
    sss_status st = sss_policy_parse_text(rules, p, err, sizeof(err));
    if (st == SSS_ERR_NOMEM)
        return CLI_FAIL;
    return st == SSS_OK ? CLI_OK : cli_usage_error(cmd, "--policy: %s", err);
}

int cli_parse_args(const cli_command *cmd, int argc, char **argv, const cli_opt *opts,
                   const char **pos, int npos)
{
    int n = 0;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (n >= npos)
                return cli_usage_error(cmd, "unexpected argument '%s'", a);
            pos[n++] = a;
            continue;
        }
        const cli_opt *o = opts;
        size_t len = strcspn(a, "=");
        for (; o && o->name; o++)
            if (strlen(o->name) == len && strncmp(a, o->name, len) == 0)
                break;
        if (!o || !o->name)
            return cli_usage_error(cmd, "unknown option '%s' for '%s'", a, cmd->name);
        if (!o->value) {
            if (a[len] == '=')
                return cli_usage_error(cmd, "option %s takes no value", o->name);
            *o->flag = true;
        } else if (a[len] == '=') {
            *o->value = a + len + 1;
        } else if (i + 1 < argc) {
            *o->value = argv[++i];
        } else {
            return cli_usage_error(cmd, "option %s needs a value", o->name);
        }
    }
    if (n < npos)
        return cli_usage_error(cmd, "'%s' needs %s", cmd->name, cmd->args);
    return CLI_OK;
}

int cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "se05x: cannot open %s: %s\n", path, strerror(errno));
        return CLI_FAIL;
    }
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap + 1);
    int rc = b ? CLI_OK : CLI_FAIL;
    while (rc == CLI_OK) {
        if (n == cap) {
            if (cap > max) {
                fprintf(stderr, "se05x: %s is too large (at most %zu bytes)\n", path, max);
                rc = CLI_FAIL;
                break;
            }
            uint8_t *nb = realloc(b, cap * 2 + 1);
            if (!nb) {
                rc = CLI_FAIL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                fprintf(stderr, "se05x: cannot read %s: %s\n", path, strerror(errno));
                rc = CLI_FAIL;
            }
            break;
        }
    }
    if (rc == CLI_OK && n > max) {
        fprintf(stderr, "se05x: %s is too large (%zu bytes, at most %zu)\n", path, n, max);
        rc = CLI_FAIL;
    }
    if (f != stdin)
        fclose(f);
    if (rc != CLI_OK) {
        free(b);
        return rc;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return CLI_OK;
}

int cli_write_file(const char *path, const void *buf, size_t len)
{
    bool out = strcmp(path, "-") == 0;
    FILE *f = out ? stdout : fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "se05x: cannot create %s: %s\n", path, strerror(errno));
        return CLI_FAIL;
    }
    bool ok = fwrite(buf, 1, len, f) == len;
    ok = (out ? fflush(f) == 0 : fclose(f) == 0) && ok;
    if (!ok) {
        fprintf(stderr, "se05x: cannot write %s: %s\n", path, strerror(errno));
        return CLI_FAIL;
    }
    return CLI_OK;
}

char *cli_pem_encode(const char *label, const uint8_t *der, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL, *data = NULL;
    if (b && PEM_write_bio(b, label, "", der, (long)len) > 0) {
        long n = BIO_get_mem_data(b, &data);
        if (n > 0 && (out = malloc((size_t)n + 1))) {
            memcpy(out, data, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

void cli_json_add_str(json_object *obj, const char *key, const char *v)
{
    json_object_object_add(obj, key, v ? json_object_new_string(v) : NULL);
}

int cli_json_print(json_object *j)
{
    if (!j) {
        fprintf(stderr, "se05x: out of memory building the JSON output\n");
        return CLI_FAIL;
    }
    const char *text =
        json_object_to_json_string_ext(j, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = CLI_OK;
    if (!text) {
        fprintf(stderr, "se05x: out of memory printing the JSON output\n");
        rc = CLI_FAIL;
    } else {
        puts(text);
    }
    json_object_put(j);
    return rc;
}

const char *cli_curve_name(uint8_t curve)
{
    switch (curve) {
    case SSS_CURVE_P256: return "P-256";
    case SSS_CURVE_P384: return "P-384";
    case SSS_CURVE_P521: return "P-521";
    case SSS_CURVE_ED25519: return "Ed25519";
    case SSS_CURVE_X25519: return "X25519";
    default: return NULL;
    }
}

void cli_describe(const sss_object_info *info, char *buf, size_t cap)
{
    const char *t = sss_key_type_name(info->type);
    const char *c = cli_curve_name(info->curve);
    switch (info->type) {
    case SSS_KT_EC_PAIR:
    case SSS_KT_EC_PUB:
    case SSS_KT_EC_PRIV:
        if (c)
            snprintf(buf, cap, "%s (%s)", t, c);
        else
            snprintf(buf, cap, "%s (curve 0x%02X)", t, info->curve);
        break;
    case SSS_KT_RSA_PAIR:
    case SSS_KT_RSA_PUB:
    case SSS_KT_RSA_PRIV:
    case SSS_KT_AES:
    case SSS_KT_HMAC:
    case SSS_KT_DES:
        snprintf(buf, cap, "%s (%u bits)", t, info->bits);
        break;
    default:
        snprintf(buf, cap, "%s", t);
        break;
    }
}
