/* rtp-make's key material (rtp.h, "key objects"): PEM key files loaded with
 * errors that say what the file holds instead (certificate, public key
 * where a private key is wanted, encrypted key, no PEM at all), and the
 * recording of a key object's create APDUs with hostlib's own encoders on a
 * recording connection (se05x/record.h): WriteECKey for EC keys
 * (Weierstrass curves; Ed25519, X25519, X448 as EC objects on their curve
 * ids in the SE's byte order) and the WriteRSAKey sequences for RSA (CRT
 * key pair, or E then N for a public key). The key values come from
 * hostlib's se05x_ec_values_from_pkey / se05x_rsa_values_from_pkey, the
 * conversion sss uses for its imports. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "rtp.h"

#define KEY_FILE_MAX (64 * 1024)

static se05x_status kerr(char *err, size_t errlen, se05x_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static se05x_status kerr(char *err, size_t errlen, se05x_status st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* "CERTIFICATE" of the first "-----BEGIN CERTIFICATE-----" line, or "". */
static void pem_label(const char *text, char *label, size_t cap)
{
    label[0] = 0;
    const char *b = strstr(text, "-----BEGIN ");
    if (!b)
        return;
    b += 11;
    const char *e = strstr(b, "-----");
    const char *nl = strchr(b, '\n');
    if (e && (!nl || e < nl) && (size_t)(e - b) < cap) {
        memcpy(label, b, (size_t)(e - b));
        label[e - b] = 0;
    }
}

/* No passphrase prompt: encrypted keys fail instead of reading the tty. */
static int no_pass(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* Read a whole text file (at most KEY_FILE_MAX bytes), NUL-terminated. */
static char *read_text(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        kerr(err, errlen, SE05X_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *b = OPENSSL_secure_zalloc(KEY_FILE_MAX + 2);
    size_t n = b ? fread(b, 1, KEY_FILE_MAX + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    if (!b || bad || n == 0 || n > KEY_FILE_MAX) {
        kerr(err, errlen, SE05X_ERR_IO, "%s: cannot read (empty, unreadable or larger than 64 KiB)",
             path);
        OPENSSL_secure_clear_free(b, KEY_FILE_MAX + 2);
        return NULL;
    }
    *len = n;
    return b;
}

EVP_PKEY *rtp_load_key(const char *path, bool priv, char *err, size_t errlen)
{
    size_t n = 0;
    char *text = read_text(path, &n, err, errlen);
    if (!text)
        return NULL;
    EVP_PKEY *k = NULL;
    BIO *bio = BIO_new_mem_buf(text, (int)n);
    if (bio)
        k = priv ? PEM_read_bio_PrivateKey(bio, NULL, no_pass, NULL)
                 : PEM_read_bio_PUBKEY(bio, NULL, no_pass, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (!k) {
        char label[64];
        pem_label(text, label, sizeof(label));
        const char *want = priv ? "a private key" : "a public key (PEM 'PUBLIC KEY')";
        if (!label[0])
            kerr(err, errlen, SE05X_ERR_ARG, "%s: not a PEM file; expected %s", path, want);
        else if (strstr(label, "ENCRYPTED"))
            kerr(err, errlen, SE05X_ERR_ARG,
                 "%s: encrypted private keys are not supported (decrypt it with openssl pkey)",
                 path);
        else if (priv && strstr(label, "PUBLIC KEY"))
            kerr(err, errlen, SE05X_ERR_ARG,
                 "%s: holds a public key; expected a private key (public-only objects: "
                 "--ec-pub / --rsa-pub)",
                 path);
        else if (!priv && strstr(label, "PRIVATE KEY"))
            kerr(err, errlen, SE05X_ERR_ARG,
                 "%s: holds a private key; expected a public key (openssl pkey -pubout)", path);
        else
            kerr(err, errlen, SE05X_ERR_ARG, "%s: PEM '%s' is not usable; expected %s", path,
                 label, want);
    }
    OPENSSL_secure_clear_free(text, KEY_FILE_MAX + 2);
    return k;
}

static se05x_status make_ec(se05x_conn *c, const se05x_obj_opts *o, const EVP_PKEY *k,
                            uint32_t id, bool pair, rtp_key_desc *d, char *err, size_t errlen)
{
    se05x_ec_values v;
    se05x_status st = se05x_ec_values_from_pkey(k, pair, &v);
    if (st != SE05X_OK) {
        char g[64] = "";
        const char *tn = EVP_PKEY_get0_type_name(k);
        if (!EVP_PKEY_is_a(k, "EC") || !EVP_PKEY_get_group_name(k, g, sizeof(g), NULL))
            snprintf(g, sizeof(g), "%s", tn ? tn : "?");
        ERR_clear_error();
        if (st == SE05X_ERR_UNSUPPORTED)
            return kerr(err, errlen, st, "EC curve %s not supported", g[0] ? g : "(explicit)");
        return kerr(err, errlen, st, "cannot read the %s key values", g);
    }
    se05x_ec_key ek = {.id = id,
                       .curve = v.curve,
                       .keypart = pair ? SE05X_KEY_PAIR : SE05X_KEY_PUBLIC,
                       .priv = pair ? v.priv : NULL,
                       .priv_len = v.priv_len,
                       .pub = v.pub,
                       .pub_len = v.pub_len};
    st = se05x_write_ec_key(c, o, &ek);
    snprintf(d->algorithm, sizeof(d->algorithm), "%s", se05x_curve_name(v.curve));
    d->bits = v.curve == SE05X_CURVE_X448 ? 448 : 8 * se05x_curve_field_len(v.curve);
    OPENSSL_cleanse(&v, sizeof(v));
    return st;
}

static se05x_status make_rsa(se05x_conn *c, const se05x_obj_opts *o, const EVP_PKEY *k,
                             uint32_t id, bool pair, rtp_key_desc *d, char *err, size_t errlen)
{
    int bits = EVP_PKEY_get_bits(k);
    if (bits != 1024 && bits != 2048 && bits != 3072 && bits != 4096)
        return kerr(err, errlen, SE05X_ERR_UNSUPPORTED,
                    "RSA size %d not supported (1024, 2048, 3072, 4096)", bits);
    se05x_rsa_values v;
    se05x_status st = se05x_rsa_values_from_pkey(k, pair, &v);
    if (st == SE05X_ERR_CRYPTO)
        return kerr(err, errlen, SE05X_ERR_UNSUPPORTED, "RSA key lacks %s",
                    pair ? "its CRT components" : "modulus or exponent");
    if (st != SE05X_OK)
        return st;
    st = se05x_rsa_import(c, o, id, v.bits, pair ? SE05X_KEY_PAIR : SE05X_KEY_PUBLIC, &v.c,
                          false);
    se05x_rsa_values_free(&v);
    snprintf(d->algorithm, sizeof(d->algorithm), "RSA_%d", bits);
    d->bits = (size_t)bits;
    return st;
}

se05x_status rtp_make_key(se05x_conn *c, const se05x_obj_opts *o, const EVP_PKEY *k,
                          uint32_t id, bool pair, rtp_key_desc *d, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!c || !k || !d)
        return SE05X_ERR_ARG;
    memset(d, 0, sizeof(*d));
    d->type = pair ? "KEYPAIR" : "STATIC_PUBLIC_KEY";
    se05x_status st;
    if (EVP_PKEY_is_a(k, "RSA"))
        st = make_rsa(c, o, k, id, pair, d, err, errlen);
    else if (EVP_PKEY_is_a(k, "EC") || EVP_PKEY_is_a(k, "ED25519") ||
             EVP_PKEY_is_a(k, "X25519") || EVP_PKEY_is_a(k, "X448"))
        st = make_ec(c, o, k, id, pair, d, err, errlen);
    else
        st = kerr(err, errlen, SE05X_ERR_UNSUPPORTED, "key type %s not supported",
                  EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "?");
    if (st != SE05X_OK && err && errlen && !err[0])
        kerr(err, errlen, st, "cannot encode: %s",
             se05x_conn_errmsg(c)[0] ? se05x_conn_errmsg(c) : se05x_strerror(st));
    ERR_clear_error();
    return st;
}
