/* Helpers of the se05x CLI: connecting with the global options, uniform
 * one-line error reporting with exit codes, and parsing of object ids and
 * hex strings; the sss session from the global --auth/--host-store options,
 * subcommand option parsing, policies, file reading/writing, and the
 * --json output (json-c). */
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
    if (!s)
        return false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    size_t n = strlen(s);
    if (n == 0 || n > 8)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (!isxdigit(c))
            return false;
        v = (v << 4) | (uint32_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
    }
    *id = v;
    return true;
}

bool cli_parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int c = (unsigned char)*s;
        if (isspace(c) || c == ':') {
            if (hi >= 0)
                return false; /* separator inside a byte */
            continue;
        }
        if (!isxdigit(c))
            return false;
        int v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= cap)
            return false;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0)
        return false;
    *len = n;
    return true;
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

/* --auth-secret HEX or @FILE (the file holds hex text or raw bytes). */
static int parse_secret(const char *s, uint8_t *out, size_t cap, size_t *len)
{
    if (s[0] != '@') {
        if (!cli_parse_hex(s, out, cap, len) || *len == 0)
            return cli_usage_error(NULL, "--auth-secret: invalid hex (or use @FILE)");
        return CLI_OK;
    }
    uint8_t *buf = NULL;
    size_t n = 0;
    if (cli_read_file(s + 1, 4096, &buf, &n) != CLI_OK)
        return CLI_USAGE;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = 0;
    int rc = CLI_OK;
    if (!cli_parse_hex((const char *)buf, out, cap, len) || *len == 0) {
        if (n > cap || n == 0)
            rc = cli_usage_error(NULL, "--auth-secret: %s holds %zu bytes (at most %zu)", s + 1,
                                 n, cap);
        else {
            memcpy(out, buf, n); /* raw bytes */
            *len = n;
        }
    }
    OPENSSL_cleanse(buf, n);
    free(buf);
    return rc;
}

/* Fill the auth part of cfg from --auth, --auth-id, --auth-secret,
 * --auth-key, --scp03. */
static int auth_cfg(cli_ctx *ctx, sss_session_cfg *cfg, uint8_t *secret, size_t cap)
{
    const char *a = ctx->auth ? ctx->auth : "none";
    cfg->scp03_keyfile = ctx->scp03;
    if (strcasecmp(a, "none") == 0)
        cfg->auth = ctx->scp03 ? SSS_AUTH_PLATFORM_SCP03 : SSS_AUTH_NONE;
    else if (strcasecmp(a, "scp03") == 0 || strcasecmp(a, "platformscp") == 0)
        cfg->auth = SSS_AUTH_PLATFORM_SCP03;
    else if (strcasecmp(a, "userid") == 0)
        cfg->auth = SSS_AUTH_USERID;
    else if (strcasecmp(a, "aeskey") == 0)
        cfg->auth = SSS_AUTH_AESKEY;
    else if (strcasecmp(a, "eckey") == 0)
        cfg->auth = SSS_AUTH_ECKEY;
    else
        return cli_usage_error(NULL, "--auth: unknown method '%s' (none, scp03, userid, aeskey, "
                                     "eckey)", a);
    if (cfg->auth == SSS_AUTH_PLATFORM_SCP03 && !ctx->scp03)
        return cli_usage_error(NULL, "--auth scp03 needs --scp03 KEYFILE");
    if (cfg->auth == SSS_AUTH_NONE || cfg->auth == SSS_AUTH_PLATFORM_SCP03)
        return CLI_OK;
    if (!ctx->auth_id || !cli_parse_id(ctx->auth_id, &cfg->auth_id))
        return cli_usage_error(NULL, "--auth %s needs --auth-id ID (hex)", a);
    if (cfg->auth == SSS_AUTH_ECKEY) {
        if (!ctx->auth_key)
            return cli_usage_error(NULL, "--auth eckey needs --auth-key PEM");
        cfg->eckey_pem = ctx->auth_key;
        return CLI_OK;
    }
    if (!ctx->auth_secret)
        return cli_usage_error(NULL, "--auth %s needs --auth-secret HEX|@FILE", a);
    size_t n = 0;
    int rc = parse_secret(ctx->auth_secret, secret, cap, &n);
    if (rc != CLI_OK)
        return rc;
    if (cfg->auth == SSS_AUTH_AESKEY && n != 16)
        return cli_usage_error(NULL, "--auth aeskey: the secret must be 16 bytes, not %zu", n);
    cfg->secret = secret;
    cfg->secret_len = n;
    return CLI_OK;
}

int cli_sss_open(cli_ctx *ctx)
{
    if (ctx->sss)
        return CLI_OK;
    if (ctx->trace)
        setenv("SE05X_APDU_TRACE", "1", 1);
    sss_session_cfg cfg = {0};
    uint8_t secret[256];
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
        if ((rc = auth_cfg(ctx, &cfg, secret, sizeof(secret))) != CLI_OK)
            return rc;
    }
    char err[512] = "";
    sss_status st = sss_session_open(&cfg, &ctx->sss, err, sizeof(err));
    OPENSSL_cleanse(secret, sizeof(secret));
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
    se05x_policy_init(p);
    char *copy = strdup(rules);
    if (!copy)
        return CLI_FAIL;
    int rc = CLI_OK;
    char *save = NULL;
    for (char *e = strtok_r(copy, ";", &save); e && rc == CLI_OK; e = strtok_r(NULL, ";", &save)) {
        while (isspace((unsigned char)*e))
            e++;
        if (!*e)
            continue;
        uint32_t auth_id = 0, ar = 0;
        char *colon = strchr(e, ':');
        if (colon) {
            *colon = '\0';
            if (!cli_parse_id(e, &auth_id)) {
                rc = cli_usage_error(cmd, "--policy: invalid auth object id '%s'", e);
                break;
            }
            e = colon + 1;
        }
        char err[128] = "";
        if (se05x_ar_parse(e, &ar, err, sizeof(err)) != SE05X_OK || ar == 0)
            rc = cli_usage_error(cmd, "--policy: %s", err[0] ? err : "no access rules given");
        else if (se05x_policy_add(p, auth_id, ar) != SE05X_OK)
            rc = cli_usage_error(cmd, "--policy: too many entries");
    }
    if (rc == CLI_OK && p->n == 0)
        rc = cli_usage_error(cmd, "--policy: no access rules given");
    free(copy);
    return rc;
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
