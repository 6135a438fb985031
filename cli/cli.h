/* Shared declarations of the se05x CLI: the subcommand table entry type,
 * the run context (global options, lazily opened connection), exit codes,
 * and small helpers for ids, hex and error reporting. */
#ifndef SE05X_CLI_H
#define SE05X_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "se05x/conn.h"
#include "se05x/policy.h"
#include "sss/sss.h"

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
    const char *auth;        /* --auth none|scp03|userid|aeskey|eckey (NULL = none) */
    const char *auth_id;     /* --auth-id ID */
    const char *auth_secret; /* --auth-secret HEX|@FILE */
    const char *auth_key;    /* --auth-key PEM (ECKey: host's EC private key) */
    const char *host_store;  /* --host-store DIR: sss host backend instead of an SE */
    se05x_conn *conn;   /* opened by cli_connect() */
    sss_session *sss;   /* opened by cli_sss_open() */
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
/* cmd_keys.c, cmd_crypto.c, cmd_refpem.c (on sss). */
extern const cli_command cli_cmd_gen, cli_cmd_set, cli_cmd_get, cli_cmd_sign, cli_cmd_verify,
    cli_cmd_encrypt, cli_cmd_decrypt, cli_cmd_derive, cli_cmd_rand, cli_cmd_refpem;

/* True when the run must go through sss (--host-store, or a session auth
 * that hostlib's plain connection does not open). */
bool cli_use_sss(const cli_ctx *ctx);
/* list / erase on sss (cmd_keys.c), used by cmd_basic.c when cli_use_sss(). */
int cli_sss_list(cli_ctx *ctx, bool json);
/* One element of `list --json` (cmd_basic.c): {"id": "0x%08X", "type",
 * "type_code" (the SE05x object type, null when type_code < 0), "size"
 * (bytes, null when size < 0)}; NULL when out of memory. */
json_object *cli_list_entry(uint32_t id, const char *type, int type_code, long long size);
int cli_sss_erase(cli_ctx *ctx, uint32_t id);

/* Open the connection (once). Returns CLI_OK or CLI_NOCONN after printing
 * the reason. */
int cli_connect(cli_ctx *ctx);
/* Print "se05x: <what>: <detail>" for a failed library call; returns the
 * exit code for st (CLI_FAIL, or CLI_NOCONN for link failures). */
int cli_fail(cli_ctx *ctx, se05x_status st, const char *what);
/* Print "se05x: <msg>" and a hint, return CLI_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open the sss session (once) from the global options (backend, --auth*).
 * Returns CLI_OK, CLI_USAGE (bad --auth options) or CLI_NOCONN. */
int cli_sss_open(cli_ctx *ctx);
/* Print "se05x: <what>: <detail>" for a failed sss call (with a hint for
 * existing objects and policy denials); returns the exit code: CLI_NOCONN
 * for connection/link/auth failures, CLI_USAGE for reserved ids, else
 * CLI_FAIL. */
int cli_sss_fail(cli_ctx *ctx, sss_status st, const char *what);
/* Parse an object id argument for cmd; for_write refuses the reserved
 * range 0x7FFF0000.. . Prints the problem and returns CLI_USAGE, or CLI_OK. */
int cli_key_id(const cli_command *cmd, const char *s, bool for_write, uint32_t *id);
/* --policy RULES: entries separated by ';', each "[AUTHID:]names" with
 * names as for se05x_ar_parse ("sign,verify,read" or "0x..."). */
int cli_parse_policy(const cli_command *cmd, const char *rules, se05x_policy *p);

/* Options of a subcommand: "--name" alone (flag) or with a value. */
typedef struct {
    const char *name;   /* "--curve" */
    const char **value; /* receives the value; NULL for a flag */
    bool *flag;         /* set for a flag */
} cli_opt;
/* Split argv[1..] into options (from opts, "--x VAL" or "--x=VAL") and
 * positionals (exactly npos wanted, into pos[]). Prints the problem and
 * returns CLI_USAGE, or CLI_OK. */
int cli_parse_args(const cli_command *cmd, int argc, char **argv, const cli_opt *opts,
                   const char **pos, int npos);

/* Read a whole file ("-" = stdin) of at most max bytes into a malloc'ed
 * buffer (NUL-terminated). Prints the problem and returns CLI_FAIL. */
int cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len);
/* Write a file ("-" = stdout). Prints the problem and returns CLI_FAIL. */
int cli_write_file(const char *path, const void *buf, size_t len);

/* PEM text (malloc'ed, NUL-terminated) of DER under label ("PUBLIC KEY"). */
char *cli_pem_encode(const char *label, const uint8_t *der, size_t len);
/* --json output, built with json-c (which does all the escaping). Add
 * member key to the JSON object obj: the string v, or null when v is NULL. */
void cli_json_add_str(json_object *obj, const char *key, const char *v);
/* Print the JSON document j on one line (members separated by ", ") and a
 * newline to stdout, then release it (json_object_put). Returns CLI_OK, or
 * CLI_FAIL after a message when j is NULL (out of memory building it). */
int cli_json_print(json_object *j);
/* Name of an SSS_CURVE_* ("P-256", "Ed25519"...) or NULL. */
const char *cli_curve_name(uint8_t curve);
/* One-line description of an object ("EC key pair (P-256)"). */
void cli_describe(const sss_object_info *info, char *buf, size_t cap);

/* Parse an object id: hex with or without 0x, at most 8 digits. */
bool cli_parse_id(const char *s, uint32_t *id);
/* Parse hex (spaces, ':' allowed between bytes). Returns false on odd
 * length, bad characters or overflow. */
bool cli_parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len);
/* Print bytes as uppercase hex (no separators) followed by newline. */
void cli_print_hex(const uint8_t *b, size_t n);

#endif
