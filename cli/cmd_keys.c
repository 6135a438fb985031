/* se05x CLI key-store subcommands on sss: gen (EC, RSA, Ed25519, AES,
 * HMAC, with --policy/--force/--json), set key|pub|cert (PEM or DER), get
 * pub|cert (PEM or --der), and the sss versions of list and erase used with
 * --host-store or a session --auth. Existing objects are never replaced
 * without --force. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "se05x/commands.h"

#define KEYFILE_MAX (64 * 1024)
#define PUB_MAX 2048

/* Parse an unsigned decimal option value in [lo, hi]. */
static bool parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *v)
{
    char *end = NULL;
    if (!s || !*s || *s == '-')
        return false;
    unsigned long x = strtoul(s, &end, 10);
    if (*end || x < lo || x > hi)
        return false;
    *v = (unsigned)x;
    return true;
}

/* Public key of the open key as DER SubjectPublicKeyInfo. */
static sss_status read_pub(cli_ctx *ctx, uint32_t id, uint8_t *der, size_t *len,
                           sss_object_info *info)
{
    sss_key *k = NULL;
    sss_status st = sss_key_open(ctx->sss, id, &k);
    if (st != SSS_OK)
        return st;
    if (info)
        *info = *sss_key_info(k);
    st = sss_key_public_der(k, der, len);
    sss_key_close(k);
    return st;
}

/* ---- gen ------------------------------------------------------------- */

static int gen_spec(const char *kind, const char *curve, const char *bits, const char *bytes,
                    sss_keygen *spec)
{
    const cli_command *cmd = &cli_cmd_gen;
    unsigned v = 0;
    memset(spec, 0, sizeof(*spec));
    bool ec = strcmp(kind, "ec") == 0, rsa = strcmp(kind, "rsa") == 0;
    bool ed = strcmp(kind, "ed25519") == 0, aes = strcmp(kind, "aes") == 0;
    bool hmac = strcmp(kind, "hmac") == 0;
    if (!ec && !rsa && !ed && !aes && !hmac)
        return cli_usage_error(cmd, "unknown key kind '%s' (ec, rsa, ed25519, aes, hmac)", kind);
    if (curve && !ec)
        return cli_usage_error(cmd, "--curve is for 'gen ec' only");
    if (bits && !rsa && !aes)
        return cli_usage_error(cmd, "--bits is for 'gen rsa' and 'gen aes' only");
    if (bytes && !hmac)
        return cli_usage_error(cmd, "--bytes is for 'gen hmac' only");
    if (ec) {
        spec->type = SSS_KT_EC_PAIR;
        const char *c = curve ? curve : "P-256";
        if (strcasecmp(c, "P-256") == 0 || strcasecmp(c, "prime256v1") == 0)
            spec->curve = SSS_CURVE_P256;
        else if (strcasecmp(c, "P-384") == 0 || strcasecmp(c, "secp384r1") == 0)
            spec->curve = SSS_CURVE_P384;
        else if (strcasecmp(c, "P-521") == 0 || strcasecmp(c, "secp521r1") == 0)
            spec->curve = SSS_CURVE_P521;
        else
            return cli_usage_error(cmd, "unknown curve '%s' (P-256, P-384, P-521)", c);
        spec->bits = spec->curve == SSS_CURVE_P256 ? 256 : spec->curve == SSS_CURVE_P384 ? 384 : 521;
    } else if (ed) {
        spec->type = SSS_KT_EC_PAIR;
        spec->curve = SSS_CURVE_ED25519;
        spec->bits = 256;
    } else if (rsa) {
        spec->type = SSS_KT_RSA_PAIR;
        if (!parse_uint(bits ? bits : "2048", 512, 8192, &v) ||
            (v != 2048 && v != 3072 && v != 4096))
            return cli_usage_error(cmd, "--bits for RSA must be 2048, 3072 or 4096");
        spec->bits = (uint16_t)v;
    } else if (aes) {
        spec->type = SSS_KT_AES;
        if (!bits)
            return cli_usage_error(cmd, "'gen aes' needs --bits 128|192|256");
        if (!parse_uint(bits, 1, 1024, &v) || (v != 128 && v != 192 && v != 256))
            return cli_usage_error(cmd, "--bits for AES must be 128, 192 or 256");
        spec->bits = (uint16_t)v;
    } else {
        spec->type = SSS_KT_HMAC;
        if (!bytes)
            return cli_usage_error(cmd, "'gen hmac' needs --bytes N");
        if (!parse_uint(bytes, 1, 256, &v))
            return cli_usage_error(cmd, "--bytes for HMAC must be 1..256");
        spec->bits = (uint16_t)(v * 8);
    }
    return CLI_OK;
}

static int print_generated(uint32_t id, const sss_object_info *info, const char *pem, bool json)
{
    char desc[96];
    cli_describe(info, desc, sizeof(desc));
    if (!json) {
        printf("Generated %s at 0x%08X\n", desc, id);
        if (pem)
            fputs(pem, stdout);
        return CLI_OK;
    }
    json_object *js = json_object_new_object();
    if (!js)
        return cli_json_print(NULL);
    char hex[16];
    snprintf(hex, sizeof(hex), "0x%08X", id);
    cli_json_add_str(js, "id", hex);
    cli_json_add_str(js, "type", sss_key_type_name(info->type));
    cli_json_add_str(js, "description", desc);
    const char *c = cli_curve_name(info->curve);
    if (c)
        cli_json_add_str(js, "curve", c);
    json_object_object_add(js, "bits", json_object_new_int(info->bits));
    cli_json_add_str(js, "public_key", pem);
    return cli_json_print(js);
}

static int run_gen(cli_ctx *ctx, int argc, char **argv)
{
    const char *curve = NULL, *bits = NULL, *bytes = NULL, *policy = NULL, *pos[2];
    bool force = false, json = false;
    const cli_opt opts[] = {{"--curve", &curve, NULL}, {"--bits", &bits, NULL},
                            {"--bytes", &bytes, NULL}, {"--policy", &policy, NULL},
                            {"--force", NULL, &force}, {"--json", NULL, &json},
                            {NULL, NULL, NULL}};
    int rc = cli_parse_args(&cli_cmd_gen, argc, argv, opts, pos, 2);
    sss_keygen spec;
    uint32_t id;
    se05x_policy pol;
    if (rc != CLI_OK || (rc = gen_spec(pos[0], curve, bits, bytes, &spec)) != CLI_OK ||
        (rc = cli_key_id(&cli_cmd_gen, pos[1], true, &id)) != CLI_OK ||
        (policy && (rc = cli_parse_policy(&cli_cmd_gen, policy, &pol)) != CLI_OK) ||
        (rc = cli_sss_open(ctx)) != CLI_OK)
        return rc;
    sss_write_opts wo = {.policy = policy ? &pol : NULL, .force = force};
    char what[64];
    snprintf(what, sizeof(what), "gen %s 0x%08X", pos[0], id);
    sss_status st = sss_key_generate(ctx->sss, id, &spec, &wo);
    if (st != SSS_OK)
        return cli_sss_fail(ctx, st, what);
    sss_object_info info = {.id = id, .type = spec.type, .curve = spec.curve, .bits = spec.bits};
    char *pem = NULL;
    if (spec.type == SSS_KT_EC_PAIR || spec.type == SSS_KT_RSA_PAIR) {
        uint8_t der[PUB_MAX];
        size_t dlen = sizeof(der);
        st = read_pub(ctx, id, der, &dlen, &info);
        if (st == SSS_ERR_DENIED) /* generated; its policy forbids reading it */
            fprintf(stderr, "se05x: note: the public key of 0x%08X is not readable under its "
                            "policy\n", id);
        else if (st != SSS_OK)
            return cli_sss_fail(ctx, st, "reading the new public key");
        else
            pem = cli_pem_encode("PUBLIC KEY", der, dlen);
    }
    rc = print_generated(id, &info, pem, json);
    free(pem);
    return rc;
}

const cli_command cli_cmd_gen = {
    "gen", "ec|rsa|ed25519|aes|hmac ID [OPTIONS]", "generate a key inside the SE at ID",
    "  gen ec ID [--curve P-256|P-384|P-521]   (default P-256)\n"
    "  gen rsa ID [--bits 2048|3072|4096]      (default 2048)\n"
    "  gen ed25519 ID\n"
    "  gen aes ID --bits 128|192|256\n"
    "  gen hmac ID --bytes N\n"
    "Options:\n"
    "  --policy RULES  access rules instead of the SE's default, e.g.\n"
    "                  'sign,verify,read' or '0x7DA00001:sign;0:read' (entries per\n"
    "                  auth object id separated by ';', rules as names or 0x bitmap)\n"
    "  --force         replace an existing object at ID (otherwise refused, exit 1)\n"
    "  --json          print {\"id\", \"type\", \"curve\", \"bits\", \"public_key\"}\n"
    "Prints the public key (PEM) of asymmetric keys.\n",
    run_gen};

/* ---- set ------------------------------------------------------------- */

static int run_set(cli_ctx *ctx, int argc, char **argv)
{
    const char *policy = NULL, *pos[3];
    bool force = false;
    const cli_opt opts[] = {{"--policy", &policy, NULL}, {"--force", NULL, &force},
                            {NULL, NULL, NULL}};
    int rc = cli_parse_args(&cli_cmd_set, argc, argv, opts, pos, 3);
    if (rc != CLI_OK)
        return rc;
    sss_import_kind kind;
    if (strcmp(pos[0], "key") == 0)
        kind = SSS_IMPORT_KEY_PAIR;
    else if (strcmp(pos[0], "pub") == 0)
        kind = SSS_IMPORT_PUBLIC;
    else if (strcmp(pos[0], "cert") == 0)
        kind = SSS_IMPORT_CERT;
    else
        return cli_usage_error(&cli_cmd_set, "unknown object kind '%s' (key, pub, cert)", pos[0]);
    uint32_t id;
    se05x_policy pol;
    uint8_t *data = NULL;
    size_t len = 0;
    if ((rc = cli_key_id(&cli_cmd_set, pos[1], true, &id)) != CLI_OK ||
        (policy && (rc = cli_parse_policy(&cli_cmd_set, policy, &pol)) != CLI_OK) ||
        (rc = cli_read_file(pos[2], KEYFILE_MAX, &data, &len)) != CLI_OK)
        return rc;
    if ((rc = cli_sss_open(ctx)) == CLI_OK) {
        sss_write_opts wo = {.policy = policy ? &pol : NULL, .force = force};
        sss_status st = sss_key_import(ctx->sss, id, kind, data, len, &wo);
        char what[512];
        snprintf(what, sizeof(what), "set %s 0x%08X from %s", pos[0], id, pos[2]);
        if (st == SSS_ERR_FORMAT) {
            const char *d = sss_session_errmsg(ctx->sss);
            fprintf(stderr, "se05x: %s: not a valid PEM or DER %s%s%s\n", what,
                    kind == SSS_IMPORT_CERT ? "X.509 certificate"
                    : kind == SSS_IMPORT_PUBLIC ? "public key"
                                                : "private key",
                    d && d[0] ? " - " : "", d ? d : "");
            rc = CLI_FAIL;
        } else if (st != SSS_OK) {
            rc = cli_sss_fail(ctx, st, what);
        } else {
            printf("Stored %s at 0x%08X\n",
                   kind == SSS_IMPORT_CERT ? "certificate" : kind == SSS_IMPORT_PUBLIC ? "public key"
                                                                                      : "key pair",
                   id);
        }
    }
    OPENSSL_cleanse(data, len);
    free(data);
    return rc;
}

const cli_command cli_cmd_set = {
    "set", "key|pub|cert ID FILE", "store a key pair, public key or certificate (PEM or DER)",
    "  set key ID FILE    private key (PKCS#8 or traditional EC/RSA/Ed25519), PEM or DER\n"
    "  set pub ID FILE    public key (SubjectPublicKeyInfo), PEM or DER\n"
    "  set cert ID FILE   X.509 certificate, stored as DER in a binary object\n"
    "FILE '-' reads stdin. Options: --policy RULES (see 'gen --help'), --force.\n",
    run_set};

/* ---- get ------------------------------------------------------------- */

static int run_get(cli_ctx *ctx, int argc, char **argv)
{
    const char *pos[3];
    bool der_out = false;
    const cli_opt opts[] = {{"--der", NULL, &der_out}, {NULL, NULL, NULL}};
    int rc = cli_parse_args(&cli_cmd_get, argc, argv, opts, pos, 3);
    if (rc != CLI_OK)
        return rc;
    bool cert = strcmp(pos[0], "cert") == 0;
    if (!cert && strcmp(pos[0], "pub") != 0)
        return cli_usage_error(&cli_cmd_get, "unknown object kind '%s' (pub, cert)", pos[0]);
    uint32_t id;
    if ((rc = cli_key_id(&cli_cmd_get, pos[1], false, &id)) != CLI_OK ||
        (rc = cli_sss_open(ctx)) != CLI_OK)
        return rc;
    size_t cap = cert ? KEYFILE_MAX : PUB_MAX, len = cap;
    uint8_t *der = malloc(cap);
    if (!der)
        return CLI_FAIL;
    sss_status st = cert ? sss_cert_read_der(ctx->sss, id, der, &len)
                         : read_pub(ctx, id, der, &len, NULL);
    char what[48];
    snprintf(what, sizeof(what), "get %s 0x%08X", pos[0], id);
    if (st != SSS_OK) {
        rc = cli_sss_fail(ctx, st, what);
    } else if (der_out) {
        rc = cli_write_file(pos[2], der, len);
    } else {
        char *pem = cli_pem_encode(cert ? "CERTIFICATE" : "PUBLIC KEY", der, len);
        rc = pem ? cli_write_file(pos[2], pem, strlen(pem)) : CLI_FAIL;
        free(pem);
    }
    free(der);
    return rc;
}

const cli_command cli_cmd_get = {
    "get", "pub|cert ID FILE [--der]", "read a public key or certificate into FILE",
    "  get pub ID FILE    public key of a key pair or public key (SubjectPublicKeyInfo)\n"
    "  get cert ID FILE   certificate stored in a binary object\n"
    "  --der              write DER instead of PEM\n"
    "FILE '-' writes to stdout.\n",
    run_get};

/* ---- list and erase on sss ------------------------------------------- */

/* type_code of `list --json` on sss: the SE05x object type (SE05X_TYPE_*)
 * an object of this kind has on the SE (plain, not CRT or curve-specific);
 * -1 (null) for none. */
static int se_type_code(sss_key_type t)
{
    switch (t) {
    case SSS_KT_EC_PAIR: return SE05X_TYPE_EC_KEY_PAIR;
    case SSS_KT_EC_PUB: return SE05X_TYPE_EC_PUB;
    case SSS_KT_EC_PRIV: return SE05X_TYPE_EC_PRIV;
    case SSS_KT_RSA_PAIR: return SE05X_TYPE_RSA_KEY_PAIR;
    case SSS_KT_RSA_PUB: return SE05X_TYPE_RSA_PUB;
    case SSS_KT_RSA_PRIV: return SE05X_TYPE_RSA_PRIV;
    case SSS_KT_AES: return SE05X_TYPE_AES;
    case SSS_KT_DES: return SE05X_TYPE_DES;
    case SSS_KT_HMAC: return SE05X_TYPE_HMAC;
    case SSS_KT_BINARY: return SE05X_TYPE_BINARY;
    case SSS_KT_USERID: return SE05X_TYPE_USERID;
    case SSS_KT_COUNTER: return SE05X_TYPE_COUNTER;
    case SSS_KT_PCR: return SE05X_TYPE_PCR;
    case SSS_KT_NONE:
    case SSS_KT_OTHER: break;
    }
    return -1;
}

int cli_sss_list(cli_ctx *ctx, bool json)
{
    int rc = cli_sss_open(ctx);
    if (rc != CLI_OK)
        return rc;
    sss_object_info *list = NULL;
    size_t n = 0;
    sss_status st = sss_object_list(ctx->sss, &list, &n);
    if (st != SSS_OK)
        return cli_sss_fail(ctx, st, "listing objects");
    json_object *arr = json ? json_object_new_array() : NULL;
    if (json && !arr) {
        free(list);
        return cli_json_print(NULL);
    }
    if (!json)
        printf("%-12s %-34s %s\n", "ID", "TYPE", "SIZE");
    for (size_t i = 0; i < n; i++) {
        char desc[96];
        cli_describe(&list[i], desc, sizeof(desc));
        if (!json) {
            printf("0x%08X   %-34s %u\n", list[i].id, desc, list[i].size);
            continue;
        }
        json_object *o =
            cli_list_entry(list[i].id, desc, se_type_code(list[i].type), (long long)list[i].size);
        if (!o || json_object_array_add(arr, o) != 0) {
            json_object_put(o);
            json_object_put(arr);
            free(list);
            return cli_json_print(NULL);
        }
    }
    free(list);
    return json ? cli_json_print(arr) : CLI_OK;
}

int cli_sss_erase(cli_ctx *ctx, uint32_t id)
{
    int rc = cli_sss_open(ctx);
    if (rc != CLI_OK)
        return rc;
    char what[32];
    snprintf(what, sizeof(what), "erase 0x%08X", id);
    sss_status st = sss_object_delete(ctx->sss, id);
    if (st != SSS_OK)
        return cli_sss_fail(ctx, st, what);
    printf("Deleted 0x%08X\n", id);
    return CLI_OK;
}
