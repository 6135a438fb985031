/* se05x CLI entry point: global options (--port, --scp03, -v/--trace,
 * --help, --version, accepted before or after the subcommand), the
 * subcommand table, `COMMAND --help`, dispatch, and exit codes
 * (0 ok, 1 SE error / failure, 2 usage, 3 cannot connect). New
 * subcommands are added by defining a cli_command and listing it below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "se05x/transport.h"

static const cli_command *const COMMANDS[] = {
    &cli_cmd_info, &cli_cmd_uid, &cli_cmd_list, &cli_cmd_erase, &cli_cmd_apdu,
};
#define N_COMMANDS (sizeof(COMMANDS) / sizeof(COMMANDS[0]))

static void usage(FILE *f)
{
    fprintf(f,
            "usage: se05x [--port CONN] [--scp03 KEYFILE] [-v|--trace] COMMAND [ARGS]\n"
            "       se05x --help | --version | COMMAND --help\n\n"
            "Talk to an NXP SE05x secure element (or the se05x-sim simulator).\n\n"
            "Options:\n"
            "  -p, --port CONN      connection: HOST:PORT (JRCP v1), /dev/i2c-N[:0xADDR],\n"
            "                       t1:PATH or sim:DIR; default from $SE05X_PORT,\n"
            "                       $EX_SSS_BOOT_SSS_PORT, else %s\n"
            "      --scp03 KEYFILE  open platform SCP03 with the keys in KEYFILE\n"
            "  -v, --trace          print every APDU on stderr\n"
            "  -h, --help           this help\n"
            "  -V, --version        print the version\n\n"
            "Commands:\n",
            SE05X_DEFAULT_PORT);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char left[64];
        snprintf(left, sizeof(left), "%s %s", COMMANDS[i]->name, COMMANDS[i]->args);
        fprintf(f, "  %-20s %s\n", left, COMMANDS[i]->summary);
    }
    fprintf(f, "\nExit status: 0 ok, 1 SE error or failure, 2 usage error, 3 cannot connect.\n");
}

static void command_usage(const cli_command *c)
{
    printf("usage: se05x [OPTIONS] %s %s\n\n%s\n", c->name, c->args, c->summary);
    if (c->help)
        printf("\n%s", c->help);
    printf("\nGlobal options (--port, --scp03, --trace) may come before or after COMMAND.\n");
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

/* Strip global options from argv (anywhere before "--"); the rest, in
 * order, goes to rest[]. Returns CLI_OK, CLI_USAGE, or -1 when help/version
 * was printed. */
static int parse_globals(cli_ctx *ctx, int argc, char **argv, char **rest, int *nrest,
                         bool *want_help)
{
    bool in_cmd_args = false;
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
    free(rest);
    return rc;
}
