/* se05x CLI entry point: global options (--port, --scp03, --auth*, --host-store,
 * -v/--trace, --help, --version, accepted before or after the subcommand), the
 * subcommand table, `COMMAND --help`, dispatch, and exit codes
 * (0 ok, 1 SE error / failure, 2 usage, 3 cannot connect). New
 * subcommands are added by defining a cli_command and listing it below. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "se05x/transport.h"

static const cli_command *const COMMANDS[] = {
    &cli_cmd_info,    &cli_cmd_uid,     &cli_cmd_list,   &cli_cmd_erase,  &cli_cmd_apdu,
    &cli_cmd_gen,     &cli_cmd_set,     &cli_cmd_get,    &cli_cmd_sign,   &cli_cmd_verify,
    &cli_cmd_encrypt, &cli_cmd_decrypt, &cli_cmd_derive, &cli_cmd_rand,   &cli_cmd_refpem,
};
#define N_COMMANDS (sizeof(COMMANDS) / sizeof(COMMANDS[0]))

static void usage(FILE *f)
{
    fprintf(f,
            "usage: se05x [--port CONN | --host-store DIR] [--auth ...] [-v|--trace] COMMAND [ARGS]\n"
            "       se05x --help | --version | COMMAND --help\n\n"
            "Talk to an NXP SE05x secure element (or the se05x-sim simulator).\n\n"
            "Options:\n"
            "  -p, --port CONN      connection: HOST:PORT (JRCP v1), /dev/i2c-N[:0xADDR],\n"
            "                       t1:PATH or sim:DIR; default from $SE05X_PORT,\n"
            "                       $EX_SSS_BOOT_SSS_PORT, else %s\n"
            "      --scp03 KEYFILE  open platform SCP03 with the keys in KEYFILE\n"
            "      --auth none|scp03|userid|aeskey|eckey\n"
            "                       authentication (scp03 needs --scp03; userid/aeskey\n"
            "                       need --auth-id and --auth-secret; eckey needs\n"
            "                       --auth-id and --auth-key)\n"
            "      --auth-id ID     authentication object id (hex)\n"
            "      --auth-secret HEX|@FILE  UserID value or 16-byte AES key\n"
            "      --auth-key PEM   host's EC private key for ECKey sessions\n"
            "      --host-store DIR no SE: keys in software, kept in DIR (same commands)\n"
            "  -v, --trace          print every APDU on stderr\n"
            "  -h, --help           this help\n"
            "  -V, --version        print the version\n\n"
            "Commands:\n",
            SE05X_DEFAULT_PORT);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char left[96];
        snprintf(left, sizeof(left), "%s %s", COMMANDS[i]->name, COMMANDS[i]->args);
        if (strlen(left) > 20) /* long synopsis: summary on its own line */
            fprintf(f, "  %s\n  %-20s %s\n", left, "", COMMANDS[i]->summary);
        else
            fprintf(f, "  %-20s %s\n", left, COMMANDS[i]->summary);
    }
    fprintf(f, "\nExit status: 0 ok, 1 SE error or failure, 2 usage error, 3 cannot connect.\n");
}

static void command_usage(const cli_command *c)
{
    printf("usage: se05x [OPTIONS] %s %s\n\n%s\n", c->name, c->args, c->summary);
    if (c->help)
        printf("\n%s", c->help);
    printf("\nGlobal options (--port, --host-store, --scp03, --auth*, --trace) may come\n"
           "before or after COMMAND. Ids are hex (0xEF000010 or EF000010).\n");
}

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i]->name, name) == 0)
            return COMMANDS[i];
    return NULL;
}

/* Take an option value: "--opt=VAL" or "--opt VAL". Returns NULL if none. */
static const char *opt_value(int argc, char **argv, int *i, const char *arg, size_t optlen)
{
    if (arg[optlen] == '=')
        return arg + optlen + 1;
    if (*i + 1 < argc)
        return argv[++*i];
    return NULL;
}

/* The value-taking global options of sss: 0 = a is none of them, 1 =
 * taken, -1 = value missing. */
static int global_value(cli_ctx *ctx, int argc, char **argv, int *i, const char *a)
{
    static const struct {
        const char *name;
        size_t off;
    } opts[] = {
        {"--auth", offsetof(cli_ctx, auth)},
        {"--auth-id", offsetof(cli_ctx, auth_id)},
        {"--auth-secret", offsetof(cli_ctx, auth_secret)},
        {"--auth-key", offsetof(cli_ctx, auth_key)},
        {"--host-store", offsetof(cli_ctx, host_store)},
    };
    for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
        size_t n = strlen(opts[k].name);
        if (strncmp(a, opts[k].name, n) != 0 || (a[n] != '\0' && a[n] != '='))
            continue;
        const char *v = opt_value(argc, argv, i, a, n);
        if (!v || !v[0])
            return -1;
        *(const char **)((char *)ctx + opts[k].off) = v;
        return 1;
    }
    return 0;
}

/* Strip global options from argv (anywhere before "--"); the rest, in
 * order, goes to rest[]. Returns CLI_OK, CLI_USAGE, or -1 when help/version
 * was printed. */
static int parse_globals(cli_ctx *ctx, int argc, char **argv, char **rest, int *nrest,
                         bool *want_help)
{
    bool in_cmd_args = false;
    int gv;
    *nrest = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++)
                rest[(*nrest)++] = argv[i];
            break;
        }
        if (strcmp(a, "-p") == 0 || strcmp(a, "--port") == 0 || strncmp(a, "--port=", 7) == 0) {
            ctx->port = opt_value(argc, argv, &i, a, a[1] == '-' ? 6 : 2);
            if (!ctx->port || !ctx->port[0])
                return cli_usage_error(NULL, "option --port needs a value");
        } else if (strncmp(a, "--scp03", 7) == 0 && (a[7] == '\0' || a[7] == '=')) {
            ctx->scp03 = opt_value(argc, argv, &i, a, 7);
            if (!ctx->scp03 || !ctx->scp03[0])
                return cli_usage_error(NULL, "option --scp03 needs a key file");
        } else if ((gv = global_value(ctx, argc, argv, &i, a)) != 0) {
            if (gv < 0)
                return cli_usage_error(NULL, "option %.*s needs a value", (int)strcspn(a, "="),
                                       a);
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--trace") == 0) {
            ctx->trace = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *want_help = true;
        } else if (!in_cmd_args && (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)) {
            printf("se05x %s\n", SE05X_CLI_VERSION);
            return -1;
        } else {
            if (a[0] == '-' && !in_cmd_args)
                return cli_usage_error(NULL, "unknown option '%s'", a);
            in_cmd_args = true;
            rest[(*nrest)++] = argv[i];
        }
    }
    return CLI_OK;
}

int main(int argc, char **argv)
{
    cli_ctx ctx = {0};
    bool want_help = false;
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int nrest = 0;
    if (!rest)
        return CLI_FAIL;
    int rc = parse_globals(&ctx, argc, argv, rest, &nrest, &want_help);
    if (rc != CLI_OK) {
        free(rest);
        return rc < 0 ? CLI_OK : rc;
    }
    if (nrest == 0) {
        free(rest);
        if (want_help) {
            usage(stdout);
            return CLI_OK;
        }
        usage(stderr);
        return CLI_USAGE;
    }
    const cli_command *cmd = find_command(rest[0]);
    if (!cmd) {
        rc = cli_usage_error(NULL, "unknown command '%s'", rest[0]);
    } else if (want_help) {
        command_usage(cmd);
        rc = CLI_OK;
    } else {
        rc = cmd->run(&ctx, nrest, rest);
    }
    if (ctx.conn)
        se05x_conn_close(ctx.conn);
    if (ctx.sss)
        sss_session_close(ctx.sss);
    free(rest);
    return rc;
}
