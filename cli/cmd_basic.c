/* se05x CLI subcommands about the chip and its object store: info
 * (applet version, features, free memory, UID), uid, list [--json],
 * erase ID, and apdu HEX (raw exchange). list and erase go through sss
 * (cmd_keys.c) with --host-store or a session --auth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "se05x/commands.h"

/* Reject any argument beyond the expected count. */
static int check_args(const cli_command *cmd, int argc, char **argv, int want)
{
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error(cmd, "unknown option '%s' for '%s'", argv[i], cmd->name);
    if (argc - 1 < want)
        return cli_usage_error(cmd, "'%s' needs %s", cmd->name, cmd->args);
    if (argc - 1 > want)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[want + 1]);
    return CLI_OK;
}

/* ---- info ------------------------------------------------------------- */

/* Free memory of one kind: text line, or a JSON member (null if refused). */
static void print_mem(const char *label, const char *key, se05x_conn *c, uint8_t type, bool json)
{
    uint32_t v = 0;
    bool ok = se05x_get_free_memory(c, type, &v) == SE05X_OK;
    if (json)
        ok ? printf(", \"%s\": %u", key, v) : printf(", \"%s\": null", key);
    else if (ok)
        printf("%-27s %u bytes%s\n", label, v, v == 0x7FFF ? " (or more)" : "");
    else
        printf("%-27s unavailable (%s)\n", label, se05x_conn_errmsg(c));
}

/* info and uid need a chip. */
static int need_chip(const cli_ctx *ctx, const char *name)
{
    if (!ctx->host_store)
        return CLI_OK;
    fprintf(stderr, "se05x: '%s' needs an SE; --host-store has no chip\n", name);
    return CLI_FAIL;
}

static int run_info(cli_ctx *ctx, int argc, char **argv)
{
    bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
    int rc = check_args(&cli_cmd_info, json ? 1 : argc, argv, 0);
    if (rc == CLI_OK)
        rc = need_chip(ctx, "info");
    if (rc != CLI_OK || (rc = cli_connect(ctx)) != CLI_OK)
        return rc;
    se05x_conn *c = ctx->conn;
    se05x_version v;
    uint8_t raw[SE05X_VERSION_LEN];
    se05x_status st = se05x_get_version(c, &v, raw);
    if (st != SE05X_OK) /* fall back to the SELECT answer */
        se05x_version_decode(se05x_conn_applet_version(c), &v);
    uint8_t uid[SE05X_UID_LEN];
    st = se05x_read_uid(c, uid);
    if (st != SE05X_OK)
        return cli_fail(ctx, st, "reading the UID");
    char feat[512];
    se05x_features_format(v.config, feat, sizeof(feat));
    const char *conn = ctx->port ? ctx->port : se05x_connstr_default();
    if (json) {
        printf("{\"connection\": ");
        cli_json_str(conn);
        printf(", \"applet_version\": \"%u.%u.%u\", \"securebox_version\": \"%u.%u\", "
               "\"applet_config\": \"0x%04X\", \"features\": ",
               v.major, v.minor, v.patch, v.sb_major, v.sb_minor, v.config);
        cli_json_str(feat);
    } else {
        printf("%-27s %s\n", "Connection:", conn);
        printf("%-27s %u.%u.%u\n", "Applet version:", v.major, v.minor, v.patch);
        printf("%-27s %u.%u\n", "SecureBox version:", v.sb_major, v.sb_minor);
        printf("%-27s 0x%04X %s\n", "Applet config:", v.config, feat);
    }
    print_mem("Free persistent:", "free_persistent", c, SE05X_MEM_PERSISTENT, json);
    print_mem("Free transient (reset):", "free_transient_reset", c, SE05X_MEM_TRANSIENT_RESET,
              json);
    print_mem("Free transient (deselect):", "free_transient_deselect", c,
              SE05X_MEM_TRANSIENT_DESELECT, json);
    if (json) {
        printf(", \"uid\": \"");
        for (size_t i = 0; i < sizeof(uid); i++)
            printf("%02X", uid[i]);
        printf("\"}\n");
    } else {
        printf("%-27s ", "UID:");
        cli_print_hex(uid, sizeof(uid));
    }
    return CLI_OK;
}

const cli_command cli_cmd_info = {
    "info", "[--json]", "show applet version, features, free memory and UID",
    "The applet configuration bits are decoded (ECDSA/ECDH, EdDSA, RSA, AES, ...).\n"
    "--json prints one object: connection, applet_version, securebox_version,\n"
    "applet_config, features, free_* (bytes, null if refused) and uid.\n"
    "Free memory is reported by the SE as 2 bytes; 32767 means \"32767 or more\".\n",
    run_info};

/* ---- uid -------------------------------------------------------------- */

static int run_uid(cli_ctx *ctx, int argc, char **argv)
{
    int rc = check_args(&cli_cmd_uid, argc, argv, 0);
    if (rc == CLI_OK)
        rc = need_chip(ctx, "uid");
    if (rc != CLI_OK || (rc = cli_connect(ctx)) != CLI_OK)
        return rc;
    uint8_t uid[SE05X_UID_LEN];
    se05x_status st = se05x_read_uid(ctx->conn, uid);
    if (st != SE05X_OK)
        return cli_fail(ctx, st, "reading the UID");
    cli_print_hex(uid, sizeof(uid));
    return CLI_OK;
}

const cli_command cli_cmd_uid = {"uid", "", "print the 18-byte chip UID in hex", NULL, run_uid};

/* ---- list ------------------------------------------------------------- */

static int run_list(cli_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-')
            return cli_usage_error(&cli_cmd_list, "unknown option '%s' for 'list'", argv[i]);
        else
            return cli_usage_error(&cli_cmd_list, "unexpected argument '%s'", argv[i]);
    }
    if (cli_use_sss(ctx))
        return cli_sss_list(ctx, json);
    int rc = cli_connect(ctx);
    if (rc != CLI_OK)
        return rc;
    uint32_t *ids = NULL;
    size_t n = 0;
    se05x_status st = se05x_read_id_list(ctx->conn, SE05X_TYPE_ALL, &ids, &n);
    if (st != SE05X_OK)
        return cli_fail(ctx, st, "listing objects");
    if (json)
        printf("[");
    else
        printf("%-12s %-34s %s\n", "ID", "TYPE", "SIZE");
    for (size_t i = 0; i < n; i++) {
        uint8_t type = 0;
        uint16_t size = 0;
        bool have_type = se05x_read_type(ctx->conn, ids[i], &type, NULL) == SE05X_OK;
        /* UserID and some policies refuse ReadSize: show no size then */
        bool have_size = se05x_read_size(ctx->conn, ids[i], &size) == SE05X_OK;
        const char *tname = have_type ? se05x_type_name(type) : "unknown";
        if (json) {
            printf("%s\n  {\"id\": \"0x%08X\", \"type\": ", i ? "," : "", ids[i]);
            cli_json_str(tname);
            if (have_type)
                printf(", \"type_code\": %u", type);
            else
                printf(", \"type_code\": null");
            if (have_size)
                printf(", \"size\": %u}", size);
            else
                printf(", \"size\": null}");
        } else if (have_size) {
            printf("0x%08X   %-34s %u\n", ids[i], tname, size);
        } else {
            printf("0x%08X   %-34s -\n", ids[i], tname);
        }
    }
    if (json)
        printf("%s]\n", n ? "\n" : "");
    free(ids);
    return CLI_OK;
}

const cli_command cli_cmd_list = {
    "list", "[--json]", "list every object: id, type and size (all pages)",
    "  --json   print a JSON array of {\"id\", \"type\", \"type_code\", \"size\"}\n"
    "Sizes are in bytes (EC keys: field size; RSA: modulus bytes); '-' (null in\n"
    "JSON) when the SE does not report one (e.g. UserID objects).\n",
    run_list};

/* ---- erase ------------------------------------------------------------ */

static int run_erase(cli_ctx *ctx, int argc, char **argv)
{
    int rc = check_args(&cli_cmd_erase, argc, argv, 1);
    if (rc != CLI_OK)
        return rc;
    uint32_t id;
    if ((rc = cli_key_id(&cli_cmd_erase, argv[1], true, &id)) != CLI_OK)
        return rc;
    if (cli_use_sss(ctx))
        return cli_sss_erase(ctx, id);
    if ((rc = cli_connect(ctx)) != CLI_OK)
        return rc;
    se05x_status st = se05x_delete_object(ctx->conn, id);
    if (st != SE05X_OK)
        return cli_fail(ctx, st, "erase");
    printf("Deleted 0x%08X\n", id);
    return CLI_OK;
}

const cli_command cli_cmd_erase = {
    "erase", "ID", "delete the object ID (hex, with or without 0x)",
    "Objects provisioned by NXP refuse deletion (SW 6985 or 6986). Reserved ids\n"
    "0x7FFF0000-0x7FFFFFFF are refused (exit 2).\n", run_erase};

/* ---- apdu ------------------------------------------------------------- */

static int run_apdu(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(&cli_cmd_apdu, "'apdu' needs HEX");
    uint8_t cmd[SE05X_APDU_MAX], rsp[SE05X_APDU_MAX];
    size_t clen = 0;
    for (int i = 1; i < argc; i++) { /* several arguments are concatenated */
        size_t n = 0;
        if (!cli_parse_hex(argv[i], cmd + clen, sizeof(cmd) - clen, &n))
            return cli_usage_error(&cli_cmd_apdu, "invalid hex '%s'", argv[i]);
        clen += n;
    }
    if (clen < 4)
        return cli_usage_error(&cli_cmd_apdu, "an APDU has at least 4 bytes (CLA INS P1 P2)");
    int rc = cli_connect(ctx);
    if (rc != CLI_OK)
        return rc;
    size_t rlen = 0;
    se05x_status st = se05x_conn_raw(ctx->conn, cmd, clen, rsp, sizeof(rsp), &rlen);
    if (st != SE05X_OK)
        return cli_fail(ctx, st, "apdu");
    uint16_t sw = (uint16_t)(rsp[rlen - 2] << 8 | rsp[rlen - 1]);
    if (rlen > 2)
        cli_print_hex(rsp, rlen - 2);
    printf("SW %04X (%s)\n", sw, se05x_sw_str(sw));
    return sw == SE05X_SW_OK ? CLI_OK : CLI_FAIL;
}

const cli_command cli_cmd_apdu = {
    "apdu", "HEX", "send raw APDU bytes, print the response data and SW",
    "HEX may contain spaces or ':' between bytes and may span several arguments.\n"
    "The APDU goes to the link as is (no applet-session or SCP03 wrapping).\n"
    "Exit status is 1 when the SW is not 9000.\n",
    run_apdu};
