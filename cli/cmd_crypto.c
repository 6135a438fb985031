/* se05x CLI crypto subcommands on sss: sign / verify (ECDSA and RSA
 * PKCS#1 v1.5 / PSS over the file's hash, so `openssl dgst -verify` checks
 * the result; Ed25519 over the message itself), encrypt / decrypt (RSA
 * PKCS#1 v1.5 or OAEP), derive (ECDH with a peer public key or
 * certificate), and rand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"

#define SIG_MAX 1024
#define EDDSA_MSG_MAX (64 * 1024)
#define RSA_IN_MAX 1024
#define PEER_MAX (64 * 1024)
#define RAND_MAX_BYTES 65536
#define RAND_CHUNK 256

/* Open key id; on failure print and return the exit code. */
static int open_key(cli_ctx *ctx, uint32_t id, sss_key **k)
{
    sss_status st = sss_key_open(ctx->sss, id, k);
    if (st == SSS_OK)
        return CLI_OK;
    char what[32];
    snprintf(what, sizeof(what), "key 0x%08X", id);
    return cli_sss_fail(ctx, st, what);
}

static bool is_ec(sss_key_type t)
{
    return t == SSS_KT_EC_PAIR || t == SSS_KT_EC_PUB || t == SSS_KT_EC_PRIV;
}

static bool is_rsa(sss_key_type t)
{
    return t == SSS_KT_RSA_PAIR || t == SSS_KT_RSA_PUB || t == SSS_KT_RSA_PRIV;
}

static int wrong_type(const sss_key *k, const char *op, const char *needs)
{
    char desc[96];
    cli_describe(sss_key_info(k), desc, sizeof(desc));
    fprintf(stderr, "se05x: %s: key 0x%08X is %s %s; wrong key type (%s needs %s)\n", op,
            sss_key_info(k)->id, (desc[0] == 'A' || desc[0] == 'E') ? "an" : "a", desc, op,
            needs);
    return CLI_FAIL;
}

/* Hash a file with h (streaming). */
static int hash_file(const char *path, sss_hash h, uint8_t *md, size_t *mdlen)
{
    static const char *const names[] = {NULL, "SHA1", "SHA224", "SHA256", "SHA384", "SHA512"};
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "se05x: cannot open %s: %m\n", path);
        return CLI_FAIL;
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_MD *md_alg = EVP_MD_fetch(NULL, names[h], NULL);
    bool ok = c && md_alg && EVP_DigestInit_ex(c, md_alg, NULL) == 1;
    uint8_t buf[8192];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        ok = EVP_DigestUpdate(c, buf, n) == 1;
    if (ok && ferror(f)) {
        fprintf(stderr, "se05x: cannot read %s: %m\n", path);
        ok = false;
    }
    unsigned int l = 0;
    ok = ok && EVP_DigestFinal_ex(c, md, &l) == 1;
    *mdlen = l;
    EVP_MD_free(md_alg);
    EVP_MD_CTX_free(c);
    if (f != stdin)
        fclose(f);
    return ok ? CLI_OK : CLI_FAIL;
}

typedef struct {
    const char *hash, *salt;
    bool pss;
} sig_opts;

/* Choose the algorithm for key k and compute what it signs: the digest of
 * IN, or IN itself for EdDSA (*msg malloc'ed then). */
static int sig_input(const char *op, sss_key *k, const sig_opts *o, const char *in,
                     sss_sig_params *p, uint8_t *md, uint8_t **msg, size_t *len)
{
    const sss_object_info *info = sss_key_info(k);
    memset(p, 0, sizeof(*p));
    p->salt_len = -1;
    if (is_ec(info->type) && info->curve == SSS_CURVE_ED25519) {
        if (o->pss)
            return wrong_type(k, op, "an RSA key for --pss");
        p->alg = SSS_SIG_EDDSA;
        return cli_read_file(in, EDDSA_MSG_MAX, msg, len);
    }
    if (is_ec(info->type)) {
        if (o->pss)
            return wrong_type(k, op, "an RSA key for --pss");
        p->alg = SSS_SIG_ECDSA;
    } else if (is_rsa(info->type)) {
        p->alg = o->pss ? SSS_SIG_RSA_PSS : SSS_SIG_RSA_PKCS1;
    } else {
        return wrong_type(k, op, "an EC, Ed25519 or RSA key");
    }
    if (sss_hash_from_name(o->hash ? o->hash : "sha256", &p->hash) != SSS_OK ||
        p->hash == SSS_HASH_NONE)
        return cli_usage_error(NULL, "unknown --hash '%s' (sha256, sha384, sha512)", o->hash);
    if (o->salt) {
        char *end = NULL;
        long v = strtol(o->salt, &end, 10);
        if (*end || v < 0 || v > 512)
            return cli_usage_error(NULL, "--salt must be a byte count 0..512");
        p->salt_len = (int)v;
    }
    *msg = NULL;
    return hash_file(in, p->hash, md, len);
}

/* Common front of sign and verify: arguments, session, key, input. */
static int sig_prepare(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv,
                       const char **pos, sss_key **k, sss_sig_params *p, uint8_t *md,
                       uint8_t **msg, size_t *len)
{
    sig_opts o = {0};
    const cli_opt opts[] = {{"--hash", &o.hash, NULL}, {"--pss", NULL, &o.pss},
                            {"--salt", &o.salt, NULL}, {NULL, NULL, NULL}};
    uint32_t id;
    int rc = cli_parse_args(cmd, argc, argv, opts, pos, 3);
    if (rc == CLI_OK && o.salt && !o.pss)
        rc = cli_usage_error(cmd, "--salt needs --pss");
    if (rc != CLI_OK || (rc = cli_key_id(cmd, pos[0], false, &id)) != CLI_OK ||
        (rc = cli_sss_open(ctx)) != CLI_OK || (rc = open_key(ctx, id, k)) != CLI_OK)
        return rc;
    rc = sig_input(cmd->name, *k, &o, pos[1], p, md, msg, len);
    if (rc != CLI_OK) {
        sss_key_close(*k);
        *k = NULL;
    }
    return rc;
}

static int run_sign(cli_ctx *ctx, int argc, char **argv)
{
    const char *pos[3];
    sss_key *k = NULL;
    sss_sig_params p;
    uint8_t md[64], *msg = NULL, sig[SIG_MAX];
    size_t len = 0, siglen = sizeof(sig);
    int rc = sig_prepare(ctx, &cli_cmd_sign, argc, argv, pos, &k, &p, md, &msg, &len);
    if (rc != CLI_OK)
        return rc;
    sss_status st = sss_sign(k, &p, msg ? msg : md, len, sig, &siglen);
    char what[32];
    snprintf(what, sizeof(what), "sign with 0x%08X", sss_key_info(k)->id);
    rc = st == SSS_OK ? cli_write_file(pos[2], sig, siglen) : cli_sss_fail(ctx, st, what);
    sss_key_close(k);
    free(msg);
    return rc;
}

const cli_command cli_cmd_sign = {
    "sign", "ID IN SIG [--hash H] [--pss [--salt N]]", "sign the file IN with key ID into SIG",
    "ECDSA and RSA sign the hash of IN (--hash sha256|sha384|sha512, default\n"
    "sha256), so that `openssl dgst -sha256 -verify pub.pem -signature SIG IN`\n"
    "checks it. ECDSA signatures are DER. RSA uses PKCS#1 v1.5, or PSS with\n"
    "--pss (MGF1 with the same hash, salt length = hash length unless --salt N).\n"
    "Ed25519 signs the message itself, at most 64 KiB (`openssl pkeyutl -verify\n"
    "-rawin`); --hash does not apply to it.\n"
    "IN '-' reads stdin.\n",
    run_sign};

static int run_verify(cli_ctx *ctx, int argc, char **argv)
{
    const char *pos[3];
    sss_key *k = NULL;
    sss_sig_params p;
    uint8_t md[64], *msg = NULL, *sig = NULL;
    size_t len = 0, siglen = 0;
    int rc = sig_prepare(ctx, &cli_cmd_verify, argc, argv, pos, &k, &p, md, &msg, &len);
    if (rc != CLI_OK)
        return rc;
    if ((rc = cli_read_file(pos[2], SIG_MAX, &sig, &siglen)) == CLI_OK) {
        sss_status st = sss_verify(k, &p, msg ? msg : md, len, sig, siglen);
        char what[40];
        snprintf(what, sizeof(what), "verify with 0x%08X", sss_key_info(k)->id);
        if (st == SSS_OK) {
            printf("Signature valid\n");
        } else if (st == SSS_ERR_VERIFY) {
            fprintf(stderr, "se05x: %s: signature INVALID\n", what);
            rc = CLI_FAIL;
        } else {
            rc = cli_sss_fail(ctx, st, what);
        }
    }
    sss_key_close(k);
    free(msg);
    free(sig);
    return rc;
}

const cli_command cli_cmd_verify = {
    "verify", "ID IN SIG [--hash H] [--pss [--salt N]]", "verify the signature SIG of IN",
    "Same algorithms and options as 'sign'. Exit status 0 when the signature is\n"
    "valid, 1 when it is not (with a message).\n",
    run_verify};

/* ---- encrypt / decrypt ------------------------------------------------ */

static int rsa_crypt(cli_ctx *ctx, const cli_command *cmd, bool enc, int argc, char **argv)
{
    const char *pos[3];
    bool oaep = false;
    const cli_opt opts[] = {{"--oaep", NULL, &oaep}, {NULL, NULL, NULL}};
    uint32_t id;
    sss_key *k = NULL;
    int rc = cli_parse_args(cmd, argc, argv, opts, pos, 3);
    if (rc != CLI_OK || (rc = cli_key_id(cmd, pos[0], false, &id)) != CLI_OK ||
        (rc = cli_sss_open(ctx)) != CLI_OK || (rc = open_key(ctx, id, &k)) != CLI_OK)
        return rc;
    uint8_t *in = NULL, out[RSA_IN_MAX];
    size_t inlen = 0, outlen = sizeof(out);
    if (!is_rsa(sss_key_info(k)->type)) {
        rc = wrong_type(k, cmd->name, "an RSA key");
    } else if ((rc = cli_read_file(pos[1], RSA_IN_MAX, &in, &inlen)) == CLI_OK) {
        sss_rsa_pad pad = oaep ? SSS_RSA_PAD_OAEP_SHA1 : SSS_RSA_PAD_PKCS1;
        sss_status st = enc ? sss_rsa_encrypt(k, pad, in, inlen, out, &outlen)
                            : sss_rsa_decrypt(k, pad, in, inlen, out, &outlen);
        char what[40];
        snprintf(what, sizeof(what), "%s with 0x%08X", cmd->name, id);
        rc = st == SSS_OK ? cli_write_file(pos[2], out, outlen) : cli_sss_fail(ctx, st, what);
        OPENSSL_cleanse(out, sizeof(out));
    }
    if (in)
        OPENSSL_cleanse(in, inlen);
    free(in);
    sss_key_close(k);
    return rc;
}

static int run_encrypt(cli_ctx *ctx, int argc, char **argv)
{
    return rsa_crypt(ctx, &cli_cmd_encrypt, true, argc, argv);
}

static int run_decrypt(cli_ctx *ctx, int argc, char **argv)
{
    return rsa_crypt(ctx, &cli_cmd_decrypt, false, argc, argv);
}

const cli_command cli_cmd_encrypt = {
    "encrypt", "ID IN OUT [--oaep]", "RSA-encrypt IN with key ID",
    "PKCS#1 v1.5 padding, or OAEP (SHA-1, MGF1-SHA-1: openssl's default) with\n"
    "--oaep. IN must fit the key (RSA-2048: at most 245 bytes, OAEP 214).\n",
    run_encrypt};

const cli_command cli_cmd_decrypt = {
    "decrypt", "ID IN OUT [--oaep]", "RSA-decrypt IN with key ID",
    "Decrypts e.g. `openssl pkeyutl -encrypt -pubin -inkey pub.pem` output\n"
    "(add --oaep for `-pkeyopt rsa_padding_mode:oaep`).\n",
    run_decrypt};

/* ---- derive ------------------------------------------------------------ */

/* A public key or certificate, PEM or DER, as DER SubjectPublicKeyInfo. */
static int peer_spki(const char *path, uint8_t **spki, size_t *len)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = cli_read_file(path, PEER_MAX, &buf, &n);
    if (rc != CLI_OK)
        return rc;
    EVP_PKEY *pk = NULL;
    X509 *cert = NULL;
    BIO *b = BIO_new_mem_buf(buf, (int)n);
    if (b && !(pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL))) {
        (void)BIO_reset(b);
        cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
    }
    const unsigned char *p = buf;
    if (!pk && !cert && !(pk = d2i_PUBKEY(NULL, &p, (long)n))) {
        p = buf;
        cert = d2i_X509(NULL, &p, (long)n);
    }
    unsigned char *der = NULL;
    int dn = -1;
    if (pk)
        dn = i2d_PUBKEY(pk, &der);
    else if (cert)
        dn = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
    if (dn > 0 && (*spki = malloc((size_t)dn))) {
        memcpy(*spki, der, (size_t)dn);
        *len = (size_t)dn;
    } else {
        fprintf(stderr, "se05x: %s: not a PEM or DER public key or certificate\n", path);
        rc = CLI_FAIL;
    }
    OPENSSL_free(der);
    EVP_PKEY_free(pk);
    X509_free(cert);
    BIO_free(b);
    free(buf);
    return rc;
}

static int run_derive(cli_ctx *ctx, int argc, char **argv)
{
    const char *pos[3];
    uint32_t id;
    sss_key *k = NULL;
    int rc = cli_parse_args(&cli_cmd_derive, argc, argv, NULL, pos, 3);
    if (rc != CLI_OK || (rc = cli_key_id(&cli_cmd_derive, pos[0], false, &id)) != CLI_OK ||
        (rc = cli_sss_open(ctx)) != CLI_OK || (rc = open_key(ctx, id, &k)) != CLI_OK)
        return rc;
    const sss_object_info *info = sss_key_info(k);
    uint8_t *spki = NULL, secret[128];
    size_t slen = 0, seclen = sizeof(secret);
    if (!is_ec(info->type) || info->curve == SSS_CURVE_ED25519) {
        rc = wrong_type(k, "derive", "an EC key pair (P-256, P-384, P-521)");
    } else if ((rc = peer_spki(pos[1], &spki, &slen)) == CLI_OK) {
        sss_status st = sss_derive_ecdh(k, spki, slen, secret, &seclen);
        char what[40];
        snprintf(what, sizeof(what), "derive with 0x%08X", id);
        rc = st == SSS_OK ? cli_write_file(pos[2], secret, seclen) : cli_sss_fail(ctx, st, what);
        OPENSSL_cleanse(secret, sizeof(secret));
    }
    free(spki);
    sss_key_close(k);
    return rc;
}

const cli_command cli_cmd_derive = {
    "derive", "ID PEERPUB OUT", "ECDH of key ID with a peer public key; secret into OUT",
    "PEERPUB is a public key (PEM or DER SubjectPublicKeyInfo) or a certificate.\n"
    "OUT receives the shared secret (the x-coordinate), as from\n"
    "`openssl pkeyutl -derive -inkey KEY -peerkey PEERPUB`.\n",
    run_derive};

/* ---- rand ------------------------------------------------------------- */

static int run_rand(cli_ctx *ctx, int argc, char **argv)
{
    const char *pos[1], *out = NULL;
    const cli_opt opts[] = {{"--out", &out, NULL}, {NULL, NULL, NULL}};
    int rc = cli_parse_args(&cli_cmd_rand, argc, argv, opts, pos, 1);
    if (rc != CLI_OK)
        return rc;
    char *end = NULL;
    long n = strtol(pos[0], &end, 10);
    if (*end || n < 1 || n > RAND_MAX_BYTES)
        return cli_usage_error(&cli_cmd_rand, "N must be a byte count 1..%d", RAND_MAX_BYTES);
    if ((rc = cli_sss_open(ctx)) != CLI_OK)
        return rc;
    uint8_t *buf = malloc((size_t)n);
    if (!buf)
        return CLI_FAIL;
    sss_status st = SSS_OK;
    for (long off = 0; off < n && st == SSS_OK; off += RAND_CHUNK)
        st = sss_rng(ctx->sss, buf + off, (size_t)(n - off < RAND_CHUNK ? n - off : RAND_CHUNK));
    if (st != SSS_OK)
        rc = cli_sss_fail(ctx, st, "rand");
    else if (out)
        rc = cli_write_file(out, buf, (size_t)n);
    else
        cli_print_hex(buf, (size_t)n);
    free(buf);
    return rc;
}

const cli_command cli_cmd_rand = {
    "rand", "N [--out FILE]", "N random bytes from the SE, in hex (or raw into FILE)",
    "N is 1..65536. Without --out the bytes are printed as one line of hex.\n", run_rand};
