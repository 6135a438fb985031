/* Shared declarations of the se05x CLI: the subcommand table entry type,
 * the run context (global options, lazily opened connection), exit codes,
 * and small helpers for ids, hex and error reporting. */
#ifndef SE05X_CLI_H
#define SE05X_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/conn.h"

#define SE05X_CLI_VERSION "0.1.0"

/* Exit codes. */
enum {
    CLI_OK = 0,      /* success */
    CLI_FAIL = 1,    /* the SE answered an error SW or the operation failed */
    CLI_USAGE = 2,   /* bad command line */
    CLI_NOCONN = 3,  /* cannot connect */
};

typedef struct {
    const char *port;   /* --port, NULL = se05x_connstr_default() */
    const char *scp03;  /* --scp03 key file */
    bool trace;         /* -v / --trace */
    se05x_conn *conn;   /* opened by cli_connect() */
} cli_ctx;

typedef struct {
    const char *name;
    const char *args;    /* argument synopsis, e.g. "ID" */
    const char *summary; /* one line */
    const char *help;    /* extra lines for `COMMAND --help` (may be NULL) */
    int (*run)(cli_ctx *ctx, int argc, char **argv); /* argv[0] = command name */
} cli_command;

/* The subcommand table (cmd_*.c entries collected in main.c). */
extern const cli_command cli_cmd_info, cli_cmd_uid, cli_cmd_list, cli_cmd_erase, cli_cmd_apdu;

/* Open the connection (once). Returns CLI_OK or CLI_NOCONN after printing
 * the reason. */
int cli_connect(cli_ctx *ctx);
/* Print "se05x: <what>: <detail>" for a failed library call; returns the
 * exit code for st (CLI_FAIL, or CLI_NOCONN for link failures). */
int cli_fail(cli_ctx *ctx, se05x_status st, const char *what);
/* Print "se05x: <msg>" and a hint, return CLI_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse an object id: hex with or without 0x, at most 8 digits. */
bool cli_parse_id(const char *s, uint32_t *id);
/* Parse hex (spaces, ':' allowed between bytes). Returns false on odd
 * length, bad characters or overflow. */
bool cli_parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len);
/* Print bytes as uppercase hex (no separators) followed by newline. */
void cli_print_hex(const uint8_t *b, size_t n);

#endif
