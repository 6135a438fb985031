/* First start of a simulated card ("leaving the factory", spec §4 and
 * docs/simulator-factory.md): a random 18-byte UID, a per-installation
 * factory root CA (EC P-256, exported to DIR/factory-ca.pem, its key to
 * DIR/factory-ca-key.pem as a test artefact), the EdgeLock 2GO client keys
 * and certificates (0xF0000000/01 EC P-256, 0xF0000004/05 RSA 2048 CRT),
 * the attestation key and certificate (0xF0000012/13), the EdgeLock 2GO
 * ECKey authentication object (0xF0000020, public half only; private half
 * to DIR/el2go-auth-key.pem), the ECKey-session device key KP_ECKEY_USER
 * (0x7FFF0201), the FACTORY_RESET UserID (0x7FFF0205) and the UID object
 * (0x7FFF0206, written last: its presence means provisioning completed).
 * Files are written atomically (tmp + fsync + rename); key material is
 * wiped. Called with the card lock held, after sim.c has installed the
 * P-256 curve. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_internal.h"

#define ID_EL2GO_EC_KEY 0xF0000000u
#define ID_EL2GO_EC_CERT 0xF0000001u
#define ID_EL2GO_RSA_KEY 0xF0000004u
#define ID_EL2GO_RSA_CERT 0xF0000005u
#define ID_ATTEST_KEY 0xF0000012u
#define ID_ATTEST_CERT 0xF0000013u
#define ID_EL2GO_AUTH 0xF0000020u
#define ID_KP_ECKEY_USER 0x7FFF0201u
#define ID_FACTORY_RESET 0x7FFF0205u
#define ID_UNIQUE_ID 0x7FFF0206u

#define FACTORY_RESET_VALUE "se05x-sim-reset!" /* 16 ASCII bytes, see docs */

/* Access rules of factory objects (user 0 = any session / none). */
#define AR_KEYPAIR (SESIM_AR_SIGN | SESIM_AR_VERIFY | SESIM_AR_KA | SESIM_AR_READ | SESIM_AR_ATTEST)
/* The RSA client key also allows raw ENC/DEC: NXP's middleware signs RSA
 * digests as host EMSA encoding + RSADecrypt (no padding), see sss. */
#define AR_RSA_KEYPAIR (AR_KEYPAIR | SESIM_AR_ENC | SESIM_AR_DEC)
#define AR_ATTEST_KEY (SESIM_AR_ATTEST | SESIM_AR_SIGN | SESIM_AR_VERIFY | SESIM_AR_READ)
#define AR_READ_ONLY SESIM_AR_READ

/* Certificates valid 25 years from provisioning. */
#define CERT_DAYS (25 * 365)

typedef struct {
    sesim *s;
    char uidhex[2 * 18 + 1];
    EVP_PKEY *ca_key;
    X509 *ca_cert;
} factory;

/* ---- objects ---------------------------------------------------------------- */

static void set_policy(sesim_obj *o, uint32_t rules)
{
    o->policy[0] = 8;
    se05x_put_u32(o->policy + 1, 0);
    se05x_put_u32(o->policy + 5, rules);
    o->policy_len = 9;
}

static se05x_status save(factory *f, sesim_obj *o)
{
    se05x_status st = sesim_store_save(f->s, o);
    if (st != SE05X_OK)
        sesim_log(f->s, "factory: cannot store object 0x%08X: %s", o->id, se05x_strerror(st));
    sesim_obj_free(o);
    return st;
}

static se05x_status save_binary(factory *f, uint32_t id, const uint8_t *v, size_t len)
{
    sesim_obj o;
    sesim_obj_init(&o);
    o.id = id;
    o.type = SESIM_T_BINARY;
    o.origin = SESIM_ORIGIN_PROVISIONED;
    o.size = (uint16_t)len;
    set_policy(&o, AR_READ_ONLY);
    if (sesim_obj_set_comp(&o, SESIM_C_VALUE, v, len) != SE05X_OK) {
        sesim_obj_free(&o);
        return SE05X_ERR_NOMEM;
    }
    return save(f, &o);
}

/* Store pkey at id as a key pair (or public key only when public_only). */
static se05x_status save_key(factory *f, uint32_t id, EVP_PKEY *pkey, uint32_t rules,
                             bool public_only, bool auth)
{
    sesim_obj o;
    sesim_obj_init(&o);
    o.id = id;
    o.origin = SESIM_ORIGIN_PROVISIONED;
    o.auth = auth;
    if (EVP_PKEY_is_a(pkey, "RSA"))
        o.type = public_only ? SESIM_T_RSA_PUB : SESIM_T_RSA_PAIR_CRT;
    else
        o.type = public_only ? SESIM_T_EC_PUB : SESIM_T_EC_PAIR;
    set_policy(&o, rules);
    se05x_status st = sesim_obj_from_pkey(&o, pkey);
    if (st != SE05X_OK) {
        sesim_log(f->s, "factory: key conversion for 0x%08X failed: %s", id, se05x_strerror(st));
        sesim_obj_free(&o);
        return st;
    }
    return save(f, &o);
}

/* ---- files ------------------------------------------------------------------ */

/* Write data to DIR/name atomically (tmp + fsync + rename + dir fsync). */
static se05x_status write_file_atomic(factory *f, const char *name, const void *data,
                                      size_t len, mode_t mode)
{
    char path[4096], tmp[4096];
    const char *dir = f->s->dir;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= sizeof(tmp))
        return SE05X_ERR_ARG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        goto fail;
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            goto fail;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0)
        goto fail;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return SE05X_OK;
fail:
    sesim_log(f->s, "factory: cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    return SE05X_ERR_IO;
}

/* PEM of a private key (secure memory BIO, wiped on free) or a cert.
 * Private keys get a leading text line (PEM readers skip it) saying what
 * they are. */
static se05x_status write_pem(factory *f, const char *name, EVP_PKEY *key, X509 *cert,
                              const char *what)
{
    BIO *b = BIO_new(key ? BIO_s_secmem() : BIO_s_mem());
    char *data = NULL;
    char note[256];
    se05x_status st = SE05X_ERR_CRYPTO;
    if (!b)
        return SE05X_ERR_NOMEM;
    snprintf(note, sizeof(note),
             "se05x-sim TEST ARTEFACT: %s of simulated card %s. Not a real key; never use it "
             "outside tests.\n",
             what ? what : "", f->uidhex);
    int ok = key ? BIO_puts(b, note) > 0 &&
                       PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1
                 : PEM_write_bio_X509(b, cert) == 1;
    long n = BIO_get_mem_data(b, &data);
    if (ok && n > 0)
        st = write_file_atomic(f, name, data, (size_t)n, key ? 0600 : 0644);
    BIO_free(b);
    return st;
}

/* ---- certificates ----------------------------------------------------------- */

static EVP_PKEY *gen_ec(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); }

static bool add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    bool ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

static bool set_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    bool ok = bn && BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 &&
              BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

static bool set_name(X509_NAME *n, const char *org, const char *cn)
{
    return X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1,
                                      0) == 1 &&
           X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                      0) == 1;
}

/* Build a certificate for pub named (org, cn). issuer NULL = self-signed CA. */
static X509 *make_cert(factory *f, EVP_PKEY *pub, const char *org, const char *cn,
                       const char *key_usage, const char *eku)
{
    X509 *x = X509_new();
    X509V3_CTX ctx;
    bool ca = f->ca_cert == NULL;
    X509_NAME *subj = X509_NAME_new();
    bool ok = x && subj && X509_set_version(x, 2) == 1 && set_serial(x) &&
              set_name(subj, org, cn) && X509_set_subject_name(x, subj) == 1 &&
              X509_set_issuer_name(x, ca ? subj : X509_get_subject_name(f->ca_cert)) == 1 &&
              X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
              X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) != NULL &&
              X509_set_pubkey(x, pub) == 1;
    X509_NAME_free(subj);
    if (ok) {
        X509V3_set_ctx(&ctx, ca ? x : f->ca_cert, x, NULL, NULL, 0);
        ok = add_ext(x, &ctx, NID_basic_constraints,
                     ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
             add_ext(x, &ctx, NID_key_usage, key_usage) &&
             (!eku || add_ext(x, &ctx, NID_ext_key_usage, eku)) &&
             add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
             add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    }
    if (ok)
        ok = X509_sign(x, f->ca_key, EVP_sha256()) > 0;
    if (!ok) {
        sesim_log(f->s, "factory: cannot build certificate \"%s\"", cn);
        X509_free(x);
        return NULL;
    }
    return x;
}

static se05x_status save_cert(factory *f, uint32_t id, X509 *x)
{
    unsigned char *der = NULL;
    int n = x ? i2d_X509(x, &der) : -1;
    se05x_status st = n > 0 ? save_binary(f, id, der, (size_t)n) : SE05X_ERR_CRYPTO;
    OPENSSL_free(der);
    return st;
}

/* Key pair at key_id and its certificate at cert_id. */
static se05x_status provision_pair(factory *f, EVP_PKEY *k, uint32_t key_id, uint32_t cert_id,
                                   uint32_t rules, const char *org, const char *ku,
                                   const char *eku)
{
    if (!k)
        return SE05X_ERR_CRYPTO;
    se05x_status st = save_key(f, key_id, k, rules, false, false);
    if (st == SE05X_OK) {
        X509 *x = make_cert(f, k, org, f->uidhex, ku, eku);
        st = save_cert(f, cert_id, x);
        X509_free(x);
    }
    return st;
}

/* ---- steps ------------------------------------------------------------------ */

static se05x_status provision_ca(factory *f)
{
    char cn[96];
    snprintf(cn, sizeof(cn), "se05x-sim factory root CA %s", f->uidhex);
    f->ca_key = gen_ec();
    if (!f->ca_key)
        return SE05X_ERR_CRYPTO;
    X509 *ca = make_cert(f, f->ca_key, "se05x-sim simulator (TEST ONLY, not a real NXP CA)", cn,
                         "critical,keyCertSign,cRLSign", NULL);
    if (!ca)
        return SE05X_ERR_CRYPTO;
    f->ca_cert = ca;
    se05x_status st = write_pem(f, "factory-ca.pem", NULL, ca, NULL);
    if (st == SE05X_OK)
        st = write_pem(f, "factory-ca-key.pem", f->ca_key, NULL, "factory root CA private key");
    return st;
}

static se05x_status provision_el2go(factory *f)
{
    EVP_PKEY *ec = gen_ec(), *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    se05x_status st = provision_pair(f, ec, ID_EL2GO_EC_KEY, ID_EL2GO_EC_CERT, AR_KEYPAIR,
                                     "se05x-sim EdgeLock 2GO client",
                                     "critical,digitalSignature,keyAgreement", "clientAuth");
    if (st == SE05X_OK)
        st = provision_pair(f, rsa, ID_EL2GO_RSA_KEY, ID_EL2GO_RSA_CERT, AR_RSA_KEYPAIR,
                            "se05x-sim EdgeLock 2GO client",
                            "critical,digitalSignature,keyEncipherment", "clientAuth");
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
    return st;
}

static se05x_status provision_attestation(factory *f)
{
    EVP_PKEY *k = gen_ec();
    se05x_status st = provision_pair(f, k, ID_ATTEST_KEY, ID_ATTEST_CERT, AR_ATTEST_KEY,
                                     "se05x-sim attestation", "critical,digitalSignature", NULL);
    EVP_PKEY_free(k);
    return st;
}

/* ECKey auth object: the card keeps the public half; the private half is
 * the local provisioning service's (exported to el2go-auth-key.pem). */
static se05x_status provision_el2go_auth(factory *f)
{
    EVP_PKEY *k = gen_ec();
    if (!k)
        return SE05X_ERR_CRYPTO;
    se05x_status st = save_key(f, ID_EL2GO_AUTH, k, AR_READ_ONLY, true, true);
    if (st == SE05X_OK)
        st = write_pem(f, "el2go-auth-key.pem", k, NULL,
                       "private half of the EdgeLock 2GO ECKey auth object 0xF0000020");
    EVP_PKEY_free(k);
    return st;
}

static se05x_status provision_device_keys(factory *f)
{
    EVP_PKEY *k = gen_ec();
    if (!k)
        return SE05X_ERR_CRYPTO;
    se05x_status st = save_key(f, ID_KP_ECKEY_USER, k,
                               SESIM_AR_SIGN | SESIM_AR_VERIFY | SESIM_AR_KA | SESIM_AR_READ,
                               false, false);
    EVP_PKEY_free(k);
    if (st != SE05X_OK)
        return st;
    sesim_obj o;
    sesim_obj_init(&o);
    o.id = ID_FACTORY_RESET;
    o.type = SESIM_T_USERID;
    o.origin = SESIM_ORIGIN_PROVISIONED;
    o.auth = true;
    o.size = (uint16_t)strlen(FACTORY_RESET_VALUE);
    if (sesim_obj_set_comp(&o, SESIM_C_VALUE, (const uint8_t *)FACTORY_RESET_VALUE,
                           strlen(FACTORY_RESET_VALUE)) != SE05X_OK) {
        sesim_obj_free(&o);
        return SE05X_ERR_NOMEM;
    }
    return save(f, &o);
}

se05x_status sesim_factory_provision(sesim *s)
{
    factory f;
    memset(&f, 0, sizeof(f));
    f.s = s;
    if (RAND_bytes(s->uid, sizeof(s->uid)) != 1)
        return SE05X_ERR_CRYPTO;
    for (size_t i = 0; i < sizeof(s->uid); i++)
        snprintf(f.uidhex + 2 * i, 3, "%02X", s->uid[i]);
    se05x_status st = provision_ca(&f);
    if (st == SE05X_OK)
        st = provision_el2go(&f);
    if (st == SE05X_OK)
        st = provision_attestation(&f);
    if (st == SE05X_OK)
        st = provision_el2go_auth(&f);
    if (st == SE05X_OK)
        st = provision_device_keys(&f);
    if (st == SE05X_OK)
        st = save_binary(&f, ID_UNIQUE_ID, s->uid, sizeof(s->uid));
    if (st == SE05X_OK)
        sesim_log(s, "factory: provisioned card %s (root CA in %s/factory-ca.pem)", f.uidhex,
                  s->dir);
    else
        sesim_log(s, "factory: provisioning failed: %s", se05x_strerror(st));
    EVP_PKEY_free(f.ca_key);
    X509_free(f.ca_cert);
    return st;
}
