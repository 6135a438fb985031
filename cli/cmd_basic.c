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

/* Free memory of one kind: a text line, or (js given) a member of js,
 * null if refused. */
static void print_mem(const char *label, const char *key, se05x_conn *c, uint8_t type,
                      json_object *js)
{
    uint32_t v = 0;
    bool ok = se05x_get_free_memory(c, type, &v) == SE05X_OK;
    if (js)
        json_object_object_add(js, key, ok ? json_object_new_int64(v) : NULL);
    else if (ok)
        printf("%-27s %u bytes%s\n", label, v, v == 0x7FFF ? " (or more)" : "");
    else
        printf("%-27s unavailable (%s)\n", label, se05x_conn_errmsg(c));
}

/* The --json object of info without the free memory and the UID. */
static json_object *info_json(const char *conn, const se05x_version *v, const char *feat)
{
    json_object *js = json_object_new_object();
    if (!js)
        return NULL;
    char buf[32];
    cli_json_add_str(js, "connection", conn);
    snprintf(buf, sizeof(buf), "%u.%u.%u", v->major, v->minor, v->patch);
    cli_json_add_str(js, "applet_version", buf);
    snprintf(buf, sizeof(buf), "%u.%u", v->sb_major, v->sb_minor);
    cli_json_add_str(js, "securebox_version", buf);
    snprintf(buf, sizeof(buf), "0x%04X", v->config);
    cli_json_add_str(js, "applet_config", buf);
    cli_json_add_str(js, "features", feat);
    return js;
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
    json_object *js = NULL;
    if (json) {
        if (!(js = info_json(conn, &v, feat)))
            return cli_json_print(NULL);
    } else {
        printf("%-27s %s\n", "Connection:", conn);
        printf("%-27s %u.%u.%u\n", "Applet version:", v.major, v.minor, v.patch);
        printf("%-27s %u.%u\n", "SecureBox version:", v.sb_major, v.sb_minor);
        printf("%-27s 0x%04X %s\n", "Applet config:", v.config, feat);
    }
    print_mem("Free persistent:", "free_persistent", c, SE05X_MEM_PERSISTENT, js);
    print_mem("Free transient (reset):", "free_transient_reset", c, SE05X_MEM_TRANSIENT_RESET, js);
    print_mem("Free transient (deselect):", "free_transient_deselect", c,
              SE05X_MEM_TRANSIENT_DESELECT, js);
    if (!js) {
        printf("%-27s ", "UID:");
        cli_print_hex(uid, sizeof(uid));
        return CLI_OK;
    }
    char hex[2 * SE05X_UID_LEN + 1];
    for (size_t i = 0; i < sizeof(uid); i++)
        snprintf(hex + 2 * i, 3, "%02X", uid[i]);
    cli_json_add_str(js, "uid", hex);
    return cli_json_print(js);
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

json_object *cli_list_entry(uint32_t id, const char *type, int type_code, long long size)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    char hex[16];
    snprintf(hex, sizeof(hex), "0x%08X", id);
    cli_json_add_str(o, "id", hex);
    cli_json_add_str(o, "type", type);
    json_object_object_add(o, "type_code", type_code >= 0 ? json_object_new_int(type_code) : NULL);
    json_object_object_add(o, "size", size >= 0 ? json_object_new_int64(size) : NULL);
    return o;
}

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
    json_object *arr = json ? json_object_new_array() : NULL;
    if (json && !arr) {
        free(ids);
        return cli_json_print(NULL);
    }
    if (!json)
        printf("%-12s %-34s %s\n", "ID", "TYPE", "SIZE");
    for (size_t i = 0; i < n; i++) {
        uint8_t type = 0;
        uint16_t size = 0;
        bool have_type = se05x_read_type(ctx->conn, ids[i], &type, NULL) == SE05X_OK;
        /* UserID and some policies refuse ReadSize: show no size then */
        bool have_size = se05x_read_size(ctx->conn, ids[i], &size) == SE05X_OK;
        const char *tname = have_type ? se05x_type_name(type) : "unknown";
        if (json) {
            json_object *o = cli_list_entry(ids[i], tname, have_type ? (int)type : -1,
                                            have_size ? (long long)size : -1);
            if (!o || json_object_array_add(arr, o) != 0) {
                json_object_put(o);
                json_object_put(arr);
                free(ids);
                return cli_json_print(NULL);
            }
        } else if (have_size) {
            printf("0x%08X   %-34s %u\n", ids[i], tname, size);
        } else {
            printf("0x%08X   %-34s -\n", ids[i], tname);
        }
    }
    free(ids);
    return json ? cli_json_print(arr) : CLI_OK;
}

const cli_command cli_cmd_list = {
    "list", "[--json]", "list every object: id, type and size (all pages)",
    "  --json   print a JSON array of {\"id\", \"type\", \"type_code\", \"size\"} (one line)\n"
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
