/* se05x CLI `refpem`: write a reference-key file for an SE key, in our
 * "SE05X KEY REFERENCE" format (docs/refkey.md) or, with --nxp, NXP's
 * magic-number EC / RSA private-key format for tools that expect it. The
 * encoding is sss/refkey.h; the public key is read from the SE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sss/refkey.h"

static int run_refpem(cli_ctx *ctx, int argc, char **argv)
{
    const char *pos[2];
    bool nxp = false, der_out = false;
    const cli_opt opts[] = {{"--nxp", NULL, &nxp}, {"--der", NULL, &der_out}, {NULL, NULL, NULL}};
    uint32_t id;
    int rc = cli_parse_args(&cli_cmd_refpem, argc, argv, opts, pos, 2);
    if (rc == CLI_OK && nxp && der_out)
        rc = cli_usage_error(&cli_cmd_refpem, "--der is for our format only (not with --nxp)");
    if (rc != CLI_OK || (rc = cli_key_id(&cli_cmd_refpem, pos[0], false, &id)) != CLI_OK ||
        (rc = cli_sss_open(ctx)) != CLI_OK)
        return rc;
    sss_key *k = NULL;
    char what[40];
    snprintf(what, sizeof(what), "refpem 0x%08X", id);
    sss_status st = sss_key_open(ctx->sss, id, &k);
    if (st != SSS_OK)
        return cli_sss_fail(ctx, st, what);
    const sss_object_info *info = sss_key_info(k);
    bool pair = info->type == SSS_KT_EC_PAIR || info->type == SSS_KT_RSA_PAIR ||
                info->type == SSS_KT_EC_PRIV || info->type == SSS_KT_RSA_PRIV;
    bool pub = info->type == SSS_KT_EC_PUB || info->type == SSS_KT_RSA_PUB;
    uint8_t spki[2048];
    size_t slen = sizeof(spki);
    uint8_t *out = NULL;
    size_t outlen = 0;
    char desc[96];
    cli_describe(info, desc, sizeof(desc));
    if (!pair && !pub) {
        fprintf(stderr, "se05x: %s: %s is not an asymmetric key; wrong key type\n", what, desc);
        rc = CLI_FAIL;
    } else if ((st = sss_key_public_der(k, spki, &slen)) != SSS_OK) {
        rc = cli_sss_fail(ctx, st, what);
    } else {
        if (nxp)
            st = sss_refkey_nxp_encode_pem(id,
                                           pair ? SSS_REFKEY_NXP_CLASS_PAIR
                                                : SSS_REFKEY_NXP_CLASS_PUB,
                                           spki, slen, (char **)&out, &outlen);
        else if (der_out)
            st = sss_refkey_encode_der(id, spki, slen, &out, &outlen);
        else
            st = sss_refkey_encode_pem(id, spki, slen, (char **)&out, &outlen);
        if (st == SSS_ERR_UNSUPPORTED) {
            fprintf(stderr, "se05x: %s: NXP's format has no form for %s (only NIST EC and RSA "
                            "keys); use the default format\n", what, desc);
            rc = CLI_FAIL;
        } else if (st != SSS_OK) {
            fprintf(stderr, "se05x: %s: cannot encode the reference key: %s\n", what,
                    sss_strerror(st));
            rc = CLI_FAIL;
        } else {
            rc = cli_write_file(pos[1], out, outlen);
        }
    }
    free(out);
    sss_key_close(k);
    return rc;
}

const cli_command cli_cmd_refpem = {
    "refpem", "ID FILE [--nxp | --der]", "write a reference-key file naming SE key ID",
    "Default: PEM \"SE05X KEY REFERENCE\" holding the key id (se05x:0x<id>) and its\n"
    "public key (docs/refkey.md); --der writes the same as DER.\n"
    "--nxp: NXP's magic-number format (EC: \"EC PRIVATE KEY\" whose private value\n"
    "carries the id and A5A6B5B6 markers; RSA: \"RSA PRIVATE KEY\" with p = 1,\n"
    "q = id), which opens with `openssl pkey` and NXP-compatible providers.\n"
    "FILE '-' writes to stdout.\n",
    run_refpem};
