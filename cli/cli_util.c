/* Helpers of the se05x CLI: connecting with the global options, uniform
 * one-line error reporting with exit codes, and parsing of object ids and
 * hex strings. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
