/* el2go-server certificate authorities (libcrypto EVP/X509 only): the
 * device-link root and server chain created by `init`, the CRL sent at the
 * start of every session (issued by the CA that signed the server leaf),
 * and the device root + intermediate CA that issue the certificates written
 * next to keys generated inside the devices' SEs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "el2go_server/server.h"

static void sslerr(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    snprintf(err, errlen, "%s: %s", what, e ? ERR_reason_error_string(e) : "failed");
    ERR_clear_error();
}

static char *path_of(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

static bool rand_serial(X509 *x, char hex[41])
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return false;
    b[0] &= 0x7F;
    b[0] |= 0x10;
    BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
    bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    if (ok && hex) {
        char *h = BN_bn2hex(bn);
        ok = h != NULL;
        if (ok)
            snprintf(hex, 41, "%s", h);
        OPENSSL_free(h);
    }
    BN_free(bn);
    return ok;
}

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *val)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, val);
    bool ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* New certificate for pub with subject "O=..., CN=cn", signed by
 * issuer/ikey (self-signed when issuer is NULL). kind: 'c' CA, 's' TLS
 * server, 'd' device client. */
static X509 *make_cert(EVP_PKEY *pub, const char *org, const char *cn, X509 *issuer, EVP_PKEY *ikey,
                       char kind, const char *san, long days, char serial[41])
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    bool ok = x && n && X509_set_version(x, 2) && rand_serial(x, serial) &&
              X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0) &&
              X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) &&
              X509_set_subject_name(x, n) &&
              X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n) &&
              X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
              X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L) && X509_set_pubkey(x, pub) &&
              add_ext(x, issuer, NID_subject_key_identifier, "hash") &&
              add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    if (ok && kind == 'c')
        ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (ok && kind == 's')
        ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, issuer, NID_ext_key_usage, "serverAuth") &&
             (!san || add_ext(x, issuer, NID_subject_alt_name, san));
    if (ok && kind == 'd')
        ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, issuer, NID_key_usage, "critical,digitalSignature,keyAgreement") &&
             add_ext(x, issuer, NID_ext_key_usage, "clientAuth");
    if (ok)
        ok = X509_sign(x, ikey, EVP_sha256()) > 0;
    X509_NAME_free(n);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static bool write_pem(const char *dir, const char *name, X509 *x, X509 *x2, EVP_PKEY *k)
{
    char *p = path_of(dir, name);
    if (!p)
        return false;
    FILE *f = NULL;
    if (k) {
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
    } else {
        f = fopen(p, "w");
    }
    free(p);
    if (!f)
        return false;
    bool ok = k ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1
                : PEM_write_X509(f, x) == 1 && (!x2 || PEM_write_X509(f, x2) == 1);
    return fclose(f) == 0 && ok;
}

el2go_status el2gs_ca_init(const char *dir, const char *hostname, bool force, char *err,
                           size_t errlen)
{
    char *probe = path_of(dir, "link-root.pem");
    struct stat sb;
    bool exists = probe && stat(probe, &sb) == 0;
    free(probe);
    if (exists && !force) {
        snprintf(err, errlen, "%s already holds a CA (link-root.pem); use --force to replace it", dir);
        return EL2GO_ERR_STATE;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return EL2GO_ERR_IO;
    }
    EVP_PKEY *lk = EVP_EC_gen("P-256"), *sk = EVP_EC_gen("P-256"), *rk = EVP_EC_gen("P-256"),
             *ik = EVP_EC_gen("P-256");
    X509 *lr = NULL, *sc = NULL, *rc = NULL, *ic = NULL;
    char san[320], ser[41];
    snprintf(san, sizeof(san), "DNS:%s,DNS:localhost,IP:127.0.0.1", hostname);
    el2go_status st = EL2GO_ERR_CRYPTO;
    if (!lk || !sk || !rk || !ik) {
        sslerr(err, errlen, "key generation");
        goto out;
    }
    lr = make_cert(lk, "se05x-stack local EdgeLock 2GO", "device-link root CA", NULL, lk, 'c', NULL,
                   3650, ser);
    sc = lr ? make_cert(sk, "se05x-stack local EdgeLock 2GO", hostname, lr, lk, 's', san, 825, ser)
            : NULL;
    rc = make_cert(rk, "se05x-stack customer cloud", "device root CA", NULL, rk, 'c', NULL, 3650, ser);
    ic = rc ? make_cert(ik, "se05x-stack customer cloud", "device intermediate CA", rc, rk, 'c', NULL,
                        3650, ser)
            : NULL;
    if (!lr || !sc || !rc || !ic) {
        sslerr(err, errlen, "certificate creation");
        goto out;
    }
    st = EL2GO_ERR_IO;
    if (!write_pem(dir, "link-root.pem", lr, NULL, NULL) || !write_pem(dir, "link-root-key.pem", NULL, NULL, lk) ||
        !write_pem(dir, "server.pem", sc, lr, NULL) || !write_pem(dir, "server-key.pem", NULL, NULL, sk) ||
        !write_pem(dir, "device-root.pem", rc, NULL, NULL) ||
        !write_pem(dir, "device-root-key.pem", NULL, NULL, rk) ||
        !write_pem(dir, "intermediate.pem", ic, NULL, NULL) ||
        !write_pem(dir, "intermediate-key.pem", NULL, NULL, ik) ||
        !write_pem(dir, "device-chain.pem", ic, rc, NULL)) {
        snprintf(err, errlen, "cannot write the CA files in %s: %s", dir, strerror(errno));
        goto out;
    }
    st = EL2GO_OK;
out:
    X509_free(lr);
    X509_free(sc);
    X509_free(rc);
    X509_free(ic);
    EVP_PKEY_free(lk);
    EVP_PKEY_free(sk);
    EVP_PKEY_free(rk);
    EVP_PKEY_free(ik);
    return st;
}

static X509 *load_cert(const char *dir, const char *name)
{
    char *p = path_of(dir, name);
    FILE *f = p ? fopen(p, "r") : NULL;
    free(p);
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return x;
}

static EVP_PKEY *load_key(const char *dir, const char *name)
{
    char *p = path_of(dir, name);
    FILE *f = p ? fopen(p, "r") : NULL;
    free(p);
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return k;
}

el2go_status el2gs_ca_load(const char *dir, el2gs_ca *ca, char *err, size_t errlen)
{
    memset(ca, 0, sizeof(*ca));
    ca->link_root = load_cert(dir, "link-root.pem");
    ca->link_key = load_key(dir, "link-root-key.pem");
    ca->int_cert = load_cert(dir, "intermediate.pem");
    ca->int_key = load_key(dir, "intermediate-key.pem");
    ca->dev_root = load_cert(dir, "device-root.pem");
    if (!ca->link_root || !ca->link_key || !ca->int_cert || !ca->int_key || !ca->dev_root) {
        snprintf(err, errlen, "cannot load the CA files from %s (run `el2go-server init` first)", dir);
        el2gs_ca_free(ca);
        ERR_clear_error();
        return EL2GO_ERR_NOT_FOUND;
    }
    return EL2GO_OK;
}

void el2gs_ca_free(el2gs_ca *ca)
{
    EVP_PKEY_free(ca->link_key);
    EVP_PKEY_free(ca->int_key);
    X509_free(ca->link_root);
    X509_free(ca->int_cert);
    X509_free(ca->dev_root);
    memset(ca, 0, sizeof(*ca));
}

static bool crl_add_revoked(X509_CRL *crl, const char *dir)
{
    char *p = path_of(dir, "revoked.txt");
    FILE *f = p ? fopen(p, "r") : NULL;
    free(p);
    if (!f)
        return true;
    char line[128];
    bool ok = true;
    while (ok && fgets(line, sizeof(line), f)) {
        line[strcspn(line, " \r\n#")] = 0;
        if (!line[0])
            continue;
        BIGNUM *bn = NULL;
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_TIME *t = ASN1_TIME_adj(NULL, time(NULL), 0, -60);
        ASN1_INTEGER *ser = NULL;
        ok = r && t && BN_hex2bn(&bn, line) > 0 && (ser = BN_to_ASN1_INTEGER(bn, NULL)) &&
             X509_REVOKED_set_serialNumber(r, ser) && X509_REVOKED_set_revocationDate(r, t) &&
             X509_CRL_add0_revoked(crl, r);
        if (ok)
            r = NULL;
        X509_REVOKED_free(r);
        ASN1_INTEGER_free(ser);
        ASN1_TIME_free(t);
        BN_free(bn);
    }
    fclose(f);
    return ok;
}

el2go_status el2gs_ca_crl(const el2gs_ca *ca, const char *dir, uint8_t **der, size_t *len)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *lu = ASN1_TIME_adj(NULL, time(NULL), 0, -300);
    ASN1_TIME *nu = ASN1_TIME_adj(NULL, time(NULL), 7, 0);
    bool ok = crl && lu && nu && X509_CRL_set_version(crl, 1) &&
              X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->link_root)) &&
              X509_CRL_set1_lastUpdate(crl, lu) && X509_CRL_set1_nextUpdate(crl, nu) &&
              crl_add_revoked(crl, dir) && X509_CRL_sort(crl) &&
              X509_CRL_sign(crl, ca->link_key, EVP_sha256()) > 0;
    uint8_t *out = NULL;
    int n = ok ? i2d_X509_CRL(crl, &out) : -1;
    X509_CRL_free(crl);
    ASN1_TIME_free(lu);
    ASN1_TIME_free(nu);
    if (n <= 0) {
        ERR_clear_error();
        return EL2GO_ERR_CRYPTO;
    }
    *der = out; /* OPENSSL_free */
    *len = (size_t)n;
    return EL2GO_OK;
}

el2go_status el2gs_ca_issue(const el2gs_ca *ca, EVP_PKEY *pub, const char *cn, uint8_t **der,
                            size_t *len, char serial_hex[41])
{
    X509 *x = make_cert(pub, "se05x-stack device", cn, ca->int_cert, ca->int_key, 'd', NULL, 3650,
                        serial_hex);
    uint8_t *out = NULL;
    int n = x ? i2d_X509(x, &out) : -1;
    X509_free(x);
    if (n <= 0) {
        ERR_clear_error();
        return EL2GO_ERR_CRYPTO;
    }
    *der = out; /* OPENSSL_free */
    *len = (size_t)n;
    return EL2GO_OK;
}
