/* sss core: every public function of sss.h. Checks arguments, applies the
 * reserved-id and overwrite rules, parses PEM/DER input into EVP_PKEYs and
 * certificates with libcrypto, encodes cached public keys as
 * SubjectPublicKeyInfo, decodes certificates stored in binary objects,
 * serialises each session's calls with a recursive mutex and dispatches to
 * the backend table (be_se05x*.c or be_host*.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "se05x/commands.h"
#include "sss_internal.h"

#define SSS_CERT_MAX 0x7FFF /* largest binary object (WriteBinary length) */

/* ---- strings ----------------------------------------------------------- */

const char *sss_strerror(sss_status st)
{
    switch (st) {
    case SSS_OK: return "success";
    case SSS_ERR_ARG: return "invalid argument";
    case SSS_ERR_NOMEM: return "out of host memory";
    case SSS_ERR_BUFFER: return "buffer too small or input too large";
    case SSS_ERR_NOT_FOUND: return "object not found";
    case SSS_ERR_EXISTS: return "object exists (use force to overwrite)";
    case SSS_ERR_KEY_TYPE: return "key type does not support this operation";
    case SSS_ERR_DENIED: return "denied by the object's policy";
    case SSS_ERR_AUTH: return "authentication failed";
    case SSS_ERR_CONNECT: return "cannot connect to the secure element";
    case SSS_ERR_LINK: return "link to the secure element failed";
    case SSS_ERR_SE: return "the secure element refused the command";
    case SSS_ERR_FORMAT: return "malformed input";
    case SSS_ERR_VERIFY: return "verification failed";
    case SSS_ERR_CRYPTO: return "host cryptography failed";
    case SSS_ERR_UNSUPPORTED: return "not supported";
    case SSS_ERR_RESERVED_ID: return "reserved object id";
    case SSS_ERR_NO_MEMORY: return "secure element out of memory";
    case SSS_ERR_STATE: return "invalid state";
    }
    return "unknown status";
}

void sss_seterr(sss_session *s, const char *fmt, ...)
{
    if (!s)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

/* Set a message unless the backend already left one. */
static sss_status fail(sss_session *s, sss_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static sss_status fail(sss_session *s, sss_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    return st;
}

/* After a backend call: make sure a failure has a message. */
static sss_status done(sss_session *s, sss_status st, const char *what)
{
    if (st != SSS_OK && s->err[0] == '\0')
        snprintf(s->err, sizeof(s->err), "%s: %s", what, sss_strerror(st));
    return st;
}

const EVP_MD *sss_hash_md(sss_hash h)
{
    switch (h) {
    case SSS_HASH_SHA1: return EVP_sha1();
    case SSS_HASH_SHA224: return EVP_sha224();
    case SSS_HASH_SHA256: return EVP_sha256();
    case SSS_HASH_SHA384: return EVP_sha384();
    case SSS_HASH_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

EVP_MD *sss_hash_fetch(const sss_session *s, sss_hash h)
{
    const char *name = NULL;
    switch (h) {
    case SSS_HASH_SHA1: name = "SHA1"; break;
    case SSS_HASH_SHA224: name = "SHA224"; break;
    case SSS_HASH_SHA256: name = "SHA256"; break;
    case SSS_HASH_SHA384: name = "SHA384"; break;
    case SSS_HASH_SHA512: name = "SHA512"; break;
    default: return NULL;
    }
    return EVP_MD_fetch(s != NULL ? s->libctx : NULL, name, NULL);
}

size_t sss_hash_len(sss_hash h)
{
    switch (h) {
    case SSS_HASH_SHA1: return 20;
    case SSS_HASH_SHA224: return 28;
    case SSS_HASH_SHA256: return 32;
    case SSS_HASH_SHA384: return 48;
    case SSS_HASH_SHA512: return 64;
    default: return 0;
    }
}

sss_status sss_hash_from_name(const char *name, sss_hash *h)
{
    static const struct { const char *n1, *n2; sss_hash h; } t[] = {
        {"sha1", "sha-1", SSS_HASH_SHA1},       {"sha224", "sha-224", SSS_HASH_SHA224},
        {"sha256", "sha-256", SSS_HASH_SHA256}, {"sha384", "sha-384", SSS_HASH_SHA384},
        {"sha512", "sha-512", SSS_HASH_SHA512},
    };
    if (!name || !h)
        return SSS_ERR_ARG;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (!strcasecmp(name, t[i].n1) || !strcasecmp(name, t[i].n2)) {
            *h = t[i].h;
            return SSS_OK;
        }
    }
    return SSS_ERR_ARG;
}

const char *sss_key_type_name(sss_key_type t)
{
    switch (t) {
    case SSS_KT_NONE: return "none";
    case SSS_KT_EC_PAIR: return "EC key pair";
    case SSS_KT_EC_PUB: return "EC public key";
    case SSS_KT_EC_PRIV: return "EC private key";
    case SSS_KT_RSA_PAIR: return "RSA key pair";
    case SSS_KT_RSA_PUB: return "RSA public key";
    case SSS_KT_RSA_PRIV: return "RSA private key";
    case SSS_KT_AES: return "AES key";
    case SSS_KT_DES: return "DES key";
    case SSS_KT_HMAC: return "HMAC key";
    case SSS_KT_BINARY: return "binary";
    case SSS_KT_USERID: return "UserID";
    case SSS_KT_COUNTER: return "counter";
    case SSS_KT_PCR: return "PCR";
    case SSS_KT_OTHER: return "other";
    }
    return "unknown";
}

bool sss_id_reserved(uint32_t id) { return (id & 0xFFFF0000u) == 0x7FFF0000u; }

/* ---- locking ------------------------------------------------------------ */

static void lock(sss_session *s)
{
    pthread_mutex_lock(&s->mu);
    s->err[0] = '\0';
}

static sss_status unlock(sss_session *s, sss_status st)
{
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* ---- sessions ------------------------------------------------------------ */

static void put_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

sss_status sss_session_open(const sss_session_cfg *cfg, sss_session **out, char *err,
                            size_t errlen)
{
    put_err(err, errlen, "");
    if (!cfg || !out) {
        put_err(err, errlen, "sss_session_open: missing configuration or output");
        return SSS_ERR_ARG;
    }
    *out = NULL;
    const sss_backend_ops *ops = NULL;
    if (cfg->backend == SSS_BACKEND_SE05X)
        ops = &sss_backend_se05x_ops;
    else if (cfg->backend == SSS_BACKEND_HOST)
        ops = &sss_backend_host_ops;
    if (!ops) {
        put_err(err, errlen, "unknown backend");
        return SSS_ERR_ARG;
    }
    if (!ops->open) {
        char m[128];
        snprintf(m, sizeof(m), "backend %s is not available in this build", ops->name);
        put_err(err, errlen, m);
        return SSS_ERR_UNSUPPORTED;
    }
    sss_session *s = calloc(1, sizeof(*s));
    if (!s) {
        put_err(err, errlen, "out of memory");
        return SSS_ERR_NOMEM;
    }
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->mu, &a);
    pthread_mutexattr_destroy(&a);
    s->ops = ops;
    s->libctx = cfg->libctx;
    sss_status st = ops->open(s, cfg);
    if (st != SSS_OK) {
        done(s, st, "session open");
        put_err(err, errlen, s->err);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return st;
    }
    *out = s;
    return SSS_OK;
}

void sss_session_close(sss_session *s)
{
    if (!s)
        return;
    if (s->ops->close)
        s->ops->close(s);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const char *sss_session_errmsg(const sss_session *s) { return s ? s->err : "no session"; }

sss_backend sss_session_backend(const sss_session *s)
{
    return s && s->ops == &sss_backend_host_ops ? SSS_BACKEND_HOST : SSS_BACKEND_SE05X;
}

void sss_session_counters(const sss_session *s, sss_counters *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!s || !s->ops->counters)
        return;
    sss_session *m = (sss_session *)s; /* the lock is not part of the logical state */
    pthread_mutex_lock(&m->mu);
    s->ops->counters(s, out, false);
    pthread_mutex_unlock(&m->mu);
}

void sss_session_counters_reset(sss_session *s)
{
    if (!s || !s->ops->counters)
        return;
    sss_counters tmp;
    pthread_mutex_lock(&s->mu);
    s->ops->counters(s, &tmp, true);
    pthread_mutex_unlock(&s->mu);
}

/* ---- objects --------------------------------------------------------------- */

#define NEED(s, fn) \
    do { \
        if (!(s)->ops->fn) \
            return unlock((s), fail((s), SSS_ERR_UNSUPPORTED, "%s: not supported by the %s backend", \
                                    #fn, (s)->ops->name)); \
    } while (0)

sss_status sss_object_exists(sss_session *s, uint32_t id, bool *exists)
{
    if (!s || !exists)
        return SSS_ERR_ARG;
    lock(s);
    NEED(s, exists);
    return unlock(s, done(s, s->ops->exists(s, id, exists), "exists"));
}

sss_status sss_object_info_get(sss_session *s, uint32_t id, sss_object_info *info)
{
    if (!s || !info)
        return SSS_ERR_ARG;
    lock(s);
    NEED(s, info);
    memset(info, 0, sizeof(*info));
    se05x_policy_init(&info->policy);
    info->id = id;
    return unlock(s, done(s, s->ops->info(s, id, info), "object info"));
}

static int cmp_info(const void *a, const void *b)
{
    uint32_t x = ((const sss_object_info *)a)->id, y = ((const sss_object_info *)b)->id;
    return x < y ? -1 : x > y;
}

sss_status sss_object_list(sss_session *s, sss_object_info **list, size_t *n)
{
    if (!s || !list || !n)
        return SSS_ERR_ARG;
    *list = NULL;
    *n = 0;
    lock(s);
    NEED(s, list);
    sss_status st = done(s, s->ops->list(s, list, n), "list");
    if (st == SSS_OK && *n > 1)
        qsort(*list, *n, sizeof(**list), cmp_info);
    return unlock(s, st);
}

static sss_status check_id(sss_session *s, uint32_t id, const char *what)
{
    if (sss_id_reserved(id))
        return fail(s, SSS_ERR_RESERVED_ID,
                    "%s 0x%08X: id is in the reserved range 0x7FFF0000..0x7FFFFFFF", what, id);
    if (id == 0)
        return fail(s, SSS_ERR_ARG, "%s: object id 0 is not valid", what);
    return SSS_OK;
}

sss_status sss_object_delete(sss_session *s, uint32_t id)
{
    if (!s)
        return SSS_ERR_ARG;
    lock(s);
    sss_status st = check_id(s, id, "delete");
    if (st != SSS_OK)
        return unlock(s, st);
    NEED(s, remove);
    return unlock(s, done(s, s->ops->remove(s, id), "delete"));
}

/* Overwrite rule before any creation at id (session locked). */
static sss_status prepare_create(sss_session *s, uint32_t id, const sss_write_opts *o,
                                 const char *what)
{
    sss_status st = check_id(s, id, what);
    if (st != SSS_OK)
        return st;
    if (!s->ops->exists || !s->ops->remove)
        return fail(s, SSS_ERR_UNSUPPORTED, "%s: backend %s cannot check objects", what,
                    s->ops->name);
    bool ex = false;
    st = done(s, s->ops->exists(s, id, &ex), what);
    if (st != SSS_OK || !ex)
        return st;
    if (!o || !o->force)
        return fail(s, SSS_ERR_EXISTS, "%s 0x%08X: object exists (use force to replace it)", what,
                    id);
    return done(s, s->ops->remove(s, id), what);
}

static const se05x_policy *opts_policy(const sss_write_opts *o) { return o ? o->policy : NULL; }

static sss_status check_keygen(sss_session *s, const sss_keygen *g)
{
    switch (g->type) {
    case SSS_KT_EC_PAIR:
        if (g->curve == SSS_CURVE_P256 || g->curve == SSS_CURVE_P384 ||
            g->curve == SSS_CURVE_P521 || g->curve == SSS_CURVE_ED25519 ||
            g->curve == SSS_CURVE_X25519)
            return SSS_OK;
        return fail(s, SSS_ERR_ARG, "generate: unsupported curve 0x%02X", g->curve);
    case SSS_KT_RSA_PAIR:
        if (g->bits == 1024 || g->bits == 2048 || g->bits == 3072 || g->bits == 4096)
            return SSS_OK;
        return fail(s, SSS_ERR_ARG, "generate: RSA size %u not supported (2048, 3072, 4096)",
                    g->bits);
    case SSS_KT_AES:
        if (g->bits == 128 || g->bits == 192 || g->bits == 256)
            return SSS_OK;
        return fail(s, SSS_ERR_ARG, "generate: AES key size %u not supported (128, 192, 256)",
                    g->bits);
    case SSS_KT_HMAC:
        if (g->bits >= 8 && g->bits <= 8 * 256 && g->bits % 8 == 0)
            return SSS_OK;
        return fail(s, SSS_ERR_ARG, "generate: HMAC key size must be 1..256 bytes (got %u bits)",
                    g->bits);
    default:
        return fail(s, SSS_ERR_ARG, "generate: type %s cannot be generated",
                    sss_key_type_name(g->type));
    }
}

sss_status sss_key_generate(sss_session *s, uint32_t id, const sss_keygen *spec,
                            const sss_write_opts *o)
{
    if (!s || !spec)
        return SSS_ERR_ARG;
    lock(s);
    sss_status st = check_keygen(s, spec);
    if (st == SSS_OK && !s->ops->generate)
        st = fail(s, SSS_ERR_UNSUPPORTED, "generate: not supported by the %s backend",
                  s->ops->name);
    if (st == SSS_OK)
        st = prepare_create(s, id, o, "generate");
    if (st == SSS_OK)
        st = done(s, s->ops->generate(s, id, spec, opts_policy(o)), "generate");
    return unlock(s, st);
}

/* ---- PEM / DER parsing --------------------------------------------------- */

static bool is_pem(const uint8_t *d, size_t len)
{
    static const char tag[] = "-----BEGIN ";
    if (len < sizeof(tag) - 1)
        return false;
    for (size_t i = 0; i + sizeof(tag) - 1 <= len && i < 4096; i++)
        if (!memcmp(d + i, tag, sizeof(tag) - 1))
            return true;
    return false;
}

/* Decode a key with OSSL_DECODER (PEM or DER; PKCS#8, traditional, SPKI).
 * selection: OSSL_KEYMGMT_SELECT_KEYPAIR or _PUBLIC_KEY. */
static EVP_PKEY *decode_key(OSSL_LIB_CTX *libctx, const uint8_t *data, size_t len,
                            int selection)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dc =
        OSSL_DECODER_CTX_new_for_pkey(&pkey, is_pem(data, len) ? "PEM" : "DER", NULL, NULL,
                                      selection, libctx, NULL);
    if (!dc)
        return NULL;
    const unsigned char *p = data;
    size_t left = len;
    if (!OSSL_DECODER_from_data(dc, &p, &left)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dc);
    ERR_clear_error();
    return pkey;
}

/* X.509 certificate from PEM or DER (exactly one DER structure). */
static X509 *decode_cert(OSSL_LIB_CTX *libctx, const uint8_t *data, size_t len)
{
    X509 *x = X509_new_ex(libctx, NULL);
    if (!x)
        return NULL;
    if (is_pem(data, len)) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        if (!b || !PEM_read_bio_X509(b, &x, NULL, NULL)) {
            X509_free(x);
            x = NULL;
        }
        BIO_free(b);
    } else {
        const unsigned char *p = data;
        if (!d2i_X509(&x, &p, (long)len)) {
            X509_free(x);
            x = NULL;
        }
        if (x && p != data + len) { /* trailing garbage */
            X509_free(x);
            x = NULL;
        }
    }
    ERR_clear_error();
    return x;
}

static bool pkey_supported(EVP_PKEY *k)
{
    return EVP_PKEY_is_a(k, "EC") || EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "ED25519") ||
           EVP_PKEY_is_a(k, "X25519");
}

static sss_status import_cert(sss_session *s, uint32_t id, X509 *x, const sss_write_opts *o)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0)
        return fail(s, SSS_ERR_CRYPTO, "import 0x%08X: cannot encode the certificate", id);
    sss_status st = SSS_OK;
    if (!s->ops->binary_write)
        st = fail(s, SSS_ERR_UNSUPPORTED, "import: backend cannot write binary objects");
    if (st == SSS_OK && (size_t)n > SSS_CERT_MAX)
        st = fail(s, SSS_ERR_BUFFER, "import 0x%08X: certificate of %d bytes is too large", id, n);
    if (st == SSS_OK)
        st = prepare_create(s, id, o, "import");
    if (st == SSS_OK)
        st = done(s, s->ops->binary_write(s, id, der, (size_t)n, opts_policy(o)), "import");
    OPENSSL_free(der);
    return st;
}

static sss_status import_locked(sss_session *s, uint32_t id, sss_import_kind kind,
                                const uint8_t *data, size_t len, const sss_write_opts *o)
{
    EVP_PKEY *pk = NULL;
    X509 *x = NULL;
    bool pair = false;
    if (kind == SSS_IMPORT_AUTO || kind == SSS_IMPORT_KEY_PAIR) {
        pk = decode_key(s->libctx, data, len, OSSL_KEYMGMT_SELECT_KEYPAIR);
        pair = pk != NULL;
    }
    if (!pk && (kind == SSS_IMPORT_AUTO || kind == SSS_IMPORT_PUBLIC))
        pk = decode_key(s->libctx, data, len, OSSL_KEYMGMT_SELECT_PUBLIC_KEY);
    if (!pk && kind != SSS_IMPORT_KEY_PAIR)
        x = decode_cert(s->libctx, data, len);
    if (x && kind == SSS_IMPORT_PUBLIC) { /* public key of a certificate */
        pk = X509_get_pubkey(x);
        X509_free(x);
        x = NULL;
    }
    if (kind == SSS_IMPORT_CERT && pk) {
        EVP_PKEY_free(pk);
        return fail(s, SSS_ERR_FORMAT, "import 0x%08X: input is a key, not a certificate", id);
    }
    if (x) {
        sss_status st = import_cert(s, id, x, o);
        X509_free(x);
        return st;
    }
    if (!pk) {
        static const char *const want[] = {"a key or certificate", "a private key",
                                           "a public key or certificate", "an X.509 certificate"};
        return fail(s, SSS_ERR_FORMAT, "import 0x%08X: input is not %s (PEM or DER)", id,
                    want[kind <= SSS_IMPORT_CERT ? kind : 0]);
    }
    sss_status st = SSS_OK;
    if (!pkey_supported(pk))
        st = fail(s, SSS_ERR_UNSUPPORTED, "import 0x%08X: key type %s not supported", id,
                  EVP_PKEY_get0_type_name(pk));
    if (st == SSS_OK && !s->ops->import_pkey)
        st = fail(s, SSS_ERR_UNSUPPORTED, "import: not supported by the %s backend", s->ops->name);
    if (st == SSS_OK)
        st = prepare_create(s, id, o, "import");
    if (st == SSS_OK)
        st = done(s, s->ops->import_pkey(s, id, pk, pair, opts_policy(o)), "import");
    EVP_PKEY_free(pk);
    return st;
}

sss_status sss_key_import(sss_session *s, uint32_t id, sss_import_kind kind, const uint8_t *data,
                          size_t len, const sss_write_opts *o)
{
    if (!s)
        return SSS_ERR_ARG;
    lock(s);
    if (!data || !len || len > (size_t)INT32_MAX || kind > SSS_IMPORT_CERT)
        return unlock(s, fail(s, SSS_ERR_ARG, "import: empty input or bad kind"));
    sss_status st = check_id(s, id, "import");
    if (st == SSS_OK)
        st = import_locked(s, id, kind, data, len, o);
    return unlock(s, st);
}

sss_status sss_key_import_symmetric(sss_session *s, uint32_t id, sss_key_type type,
                                    const uint8_t *key, size_t len, const sss_write_opts *o)
{
    if (!s)
        return SSS_ERR_ARG;
    lock(s);
    sss_status st = SSS_OK;
    if (!key || (type != SSS_KT_AES && type != SSS_KT_HMAC))
        st = fail(s, SSS_ERR_ARG, "import: symmetric keys are AES or HMAC");
    else if (type == SSS_KT_AES && len != 16 && len != 24 && len != 32)
        st = fail(s, SSS_ERR_ARG, "import: AES keys are 16, 24 or 32 bytes (got %zu)", len);
    else if (type == SSS_KT_HMAC && (len < 1 || len > 256))
        st = fail(s, SSS_ERR_ARG, "import: HMAC keys are 1..256 bytes (got %zu)", len);
    if (st == SSS_OK && !s->ops->import_symmetric)
        st = fail(s, SSS_ERR_UNSUPPORTED, "import: not supported by the %s backend", s->ops->name);
    if (st == SSS_OK)
        st = prepare_create(s, id, o, "import");
    if (st == SSS_OK)
        st = done(s, s->ops->import_symmetric(s, id, type, key, len, opts_policy(o)), "import");
    return unlock(s, st);
}

sss_status sss_binary_write(sss_session *s, uint32_t id, const uint8_t *data, size_t len,
                            const sss_write_opts *o)
{
    if (!s)
        return SSS_ERR_ARG;
    lock(s);
    sss_status st = SSS_OK;
    if (!data || !len)
        st = fail(s, SSS_ERR_ARG, "binary write: empty data");
    else if (len > SSS_CERT_MAX)
        st = fail(s, SSS_ERR_BUFFER, "binary write 0x%08X: %zu bytes exceed the maximum of %u",
                  id, len, SSS_CERT_MAX);
    if (st == SSS_OK && !s->ops->binary_write)
        st = fail(s, SSS_ERR_UNSUPPORTED, "binary write: not supported by the %s backend",
                  s->ops->name);
    if (st == SSS_OK)
        st = prepare_create(s, id, o, "binary write");
    if (st == SSS_OK)
        st = done(s, s->ops->binary_write(s, id, data, len, opts_policy(o)), "binary write");
    return unlock(s, st);
}

sss_status sss_binary_read(sss_session *s, uint32_t id, uint8_t *out, size_t *len)
{
    if (!s || !len || (!out && *len))
        return SSS_ERR_ARG;
    lock(s);
    NEED(s, binary_read);
    return unlock(s, done(s, s->ops->binary_read(s, id, out, len), "binary read"));
}

/* Certificate bytes (DER or PEM, maybe zero-padded) -> DER in out. */
static sss_status cert_to_der(sss_session *s, uint32_t id, const uint8_t *buf, size_t n,
                              uint8_t *out, size_t *len)
{
    while (n > 0 && buf[n - 1] == 0x00 && is_pem(buf, n))
        n--;
    X509 *x = NULL;
    if (is_pem(buf, n)) {
        x = decode_cert(s->libctx, buf, n);
    } else {
        const unsigned char *p = buf;
        x = X509_new_ex(s->libctx, NULL);
        if (x && !d2i_X509(&x, &p, (long)n)) {
            X509_free(x);
            x = NULL;
        }
        /* whatever follows the DER structure must be zero padding */
        for (const unsigned char *q = p; x && q < buf + n; q++) {
            if (*q) {
                X509_free(x);
                x = NULL;
            }
        }
        ERR_clear_error();
    }
    if (!x)
        return fail(s, SSS_ERR_FORMAT, "certificate 0x%08X: object does not hold an X.509 "
                                       "certificate", id);
    int dl = i2d_X509(x, NULL);
    sss_status st = SSS_OK;
    if (dl <= 0) {
        st = fail(s, SSS_ERR_CRYPTO, "certificate 0x%08X: cannot encode", id);
    } else if (!out || *len < (size_t)dl) {
        *len = (size_t)dl;
        st = fail(s, SSS_ERR_BUFFER, "certificate 0x%08X: needs %d bytes", id, dl);
    } else {
        unsigned char *p = out;
        *len = (size_t)i2d_X509(x, &p);
    }
    X509_free(x);
    return st;
}

sss_status sss_cert_read_der(sss_session *s, uint32_t id, uint8_t *out, size_t *len)
{
    if (!s || !len)
        return SSS_ERR_ARG;
    lock(s);
    NEED(s, binary_read);
    size_t n = SSS_CERT_MAX;
    uint8_t *buf = malloc(n);
    if (!buf)
        return unlock(s, fail(s, SSS_ERR_NOMEM, "out of memory"));
    sss_status st = done(s, s->ops->binary_read(s, id, buf, &n), "certificate read");
    if (st == SSS_OK)
        st = cert_to_der(s, id, buf, n, out, len);
    free(buf);
    return unlock(s, st);
}

/* ---- key objects ------------------------------------------------------------ */

sss_status sss_key_open(sss_session *s, uint32_t id, sss_key **out)
{
    if (!s || !out)
        return SSS_ERR_ARG;
    *out = NULL;
    lock(s);
    NEED(s, key_open);
    sss_key *k = calloc(1, sizeof(*k));
    if (!k)
        return unlock(s, fail(s, SSS_ERR_NOMEM, "out of memory"));
    k->s = s;
    k->info.id = id;
    se05x_policy_init(&k->info.policy);
    sss_status st = done(s, s->ops->key_open(k), "key open");
    if (st != SSS_OK) {
        if (s->ops->key_close)
            s->ops->key_close(k);
        free(k);
        return unlock(s, st);
    }
    *out = k;
    return unlock(s, SSS_OK);
}

void sss_key_close(sss_key *k)
{
    if (!k)
        return;
    sss_session *s = k->s;
    pthread_mutex_lock(&s->mu);
    if (s->ops->key_close)
        s->ops->key_close(k);
    EVP_PKEY_free(k->pub);
    pthread_mutex_unlock(&s->mu);
    free(k);
}

const sss_object_info *sss_key_info(const sss_key *k) { return k ? &k->info : NULL; }

static bool kt_ec(sss_key_type t)
{
    return t == SSS_KT_EC_PAIR || t == SSS_KT_EC_PUB || t == SSS_KT_EC_PRIV;
}
static bool kt_rsa(sss_key_type t)
{
    return t == SSS_KT_RSA_PAIR || t == SSS_KT_RSA_PUB || t == SSS_KT_RSA_PRIV;
}
static bool kt_priv(sss_key_type t)
{
    return t == SSS_KT_EC_PAIR || t == SSS_KT_EC_PRIV || t == SSS_KT_RSA_PAIR ||
           t == SSS_KT_RSA_PRIV;
}

static sss_status key_type_err(sss_key *k, const char *op)
{
    return fail(k->s, SSS_ERR_KEY_TYPE, "key 0x%08X: %s cannot be used for %s", k->info.id,
                sss_key_type_name(k->info.type), op);
}

/* Load the public key into the cache (session locked). */
static sss_status ensure_pub(sss_key *k)
{
    if (k->pub)
        return SSS_OK;
    sss_session *s = k->s;
    if (!kt_ec(k->info.type) && !kt_rsa(k->info.type))
        return key_type_err(k, "public key export");
    if (k->info.type == SSS_KT_EC_PRIV || k->info.type == SSS_KT_RSA_PRIV)
        return fail(s, SSS_ERR_KEY_TYPE, "key 0x%08X: private-only key has no readable public key",
                    k->info.id);
    if (!s->ops->key_public)
        return fail(s, SSS_ERR_UNSUPPORTED, "public key: not supported by the %s backend",
                    s->ops->name);
    EVP_PKEY *p = NULL;
    sss_status st = done(s, s->ops->key_public(k, &p), "public key");
    if (st == SSS_OK)
        k->pub = p;
    return st;
}

sss_status sss_key_public_der(sss_key *k, uint8_t *out, size_t *len)
{
    if (!k || !len)
        return SSS_ERR_ARG;
    sss_session *s = k->s;
    lock(s);
    sss_status st = ensure_pub(k);
    if (st != SSS_OK)
        return unlock(s, st);
    int n = i2d_PUBKEY(k->pub, NULL);
    if (n <= 0)
        return unlock(s, fail(s, SSS_ERR_CRYPTO, "key 0x%08X: cannot encode the public key",
                              k->info.id));
    if (!out || *len < (size_t)n) {
        *len = (size_t)n;
        return unlock(s, fail(s, SSS_ERR_BUFFER, "public key needs %d bytes", n));
    }
    unsigned char *p = out;
    *len = (size_t)i2d_PUBKEY(k->pub, &p);
    return unlock(s, SSS_OK);
}

/* Shared checks of sign/verify: key type and input length per algorithm. */
static sss_status check_sig(sss_key *k, const sss_sig_params *p, size_t inlen, bool signing)
{
    sss_key_type t = k->info.type;
    bool ed = k->info.curve == SSS_CURVE_ED25519;
    if (signing && !kt_priv(t))
        return key_type_err(k, "signing");
    switch (p->alg) {
    case SSS_SIG_ECDSA:
        if (!kt_ec(t) || ed || k->info.curve == SSS_CURVE_X25519)
            return key_type_err(k, "ECDSA");
        break;
    case SSS_SIG_EDDSA:
        if (!kt_ec(t) || !ed)
            return key_type_err(k, "EdDSA");
        return SSS_OK; /* message, any length the backend accepts */
    case SSS_SIG_RSA_PKCS1:
    case SSS_SIG_RSA_PSS:
        if (!kt_rsa(t))
            return key_type_err(k, "RSA signatures");
        if (p->alg == SSS_SIG_RSA_PSS && p->salt_len < -1)
            return fail(k->s, SSS_ERR_ARG, "PSS salt length %d is invalid", p->salt_len);
        break;
    default:
        return fail(k->s, SSS_ERR_ARG, "unknown signature algorithm %d", (int)p->alg);
    }
    size_t hl = sss_hash_len(p->hash);
    if (!hl)
        return fail(k->s, SSS_ERR_ARG, "signature: a hash (sha1..sha512) is required");
    if (inlen != hl)
        return fail(k->s, SSS_ERR_ARG, "signature: digest of %zu bytes does not match the hash "
                                       "(%zu bytes)", inlen, hl);
    return SSS_OK;
}

sss_status sss_sign(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                    uint8_t *sig, size_t *siglen)
{
    if (!k || !p || !in || !siglen || !sig)
        return SSS_ERR_ARG;
    sss_session *s = k->s;
    lock(s);
    NEED(s, sign);
    sss_status st = check_sig(k, p, inlen, true);
    if (st == SSS_OK)
        st = done(s, s->ops->sign(k, p, in, inlen, sig, siglen), "sign");
    return unlock(s, st);
}

sss_status sss_verify(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                      const uint8_t *sig, size_t siglen)
{
    if (!k || !p || !in || !sig)
        return SSS_ERR_ARG;
    sss_session *s = k->s;
    lock(s);
    NEED(s, verify);
    sss_status st = check_sig(k, p, inlen, false);
    if (st == SSS_OK)
        st = done(s, s->ops->verify(k, p, in, inlen, sig, siglen), "verify");
    return unlock(s, st);
}

/* The peer key must be on the same curve as k. */
static sss_status check_peer(sss_key *k, EVP_PKEY *peer)
{
    if (k->info.curve == SSS_CURVE_X25519)
        return EVP_PKEY_is_a(peer, "X25519")
                   ? SSS_OK
                   : fail(k->s, SSS_ERR_ARG, "ECDH: peer key is not an X25519 key");
    if (!EVP_PKEY_is_a(peer, "EC"))
        return fail(k->s, SSS_ERR_ARG, "ECDH: peer key is not an EC key");
    char g[64];
    uint8_t curve = 0;
    if (!EVP_PKEY_get_group_name(peer, g, sizeof(g), NULL) ||
        se05x_curve_from_name(g, &curve) != SE05X_OK || curve != k->info.curve)
        return fail(k->s, SSS_ERR_ARG, "ECDH: peer key is on another curve than key 0x%08X",
                    k->info.id);
    return SSS_OK;
}

sss_status sss_derive_ecdh(sss_key *k, const uint8_t *peer_spki, size_t peerlen, uint8_t *secret,
                           size_t *secretlen)
{
    if (!k || !peer_spki || !secret || !secretlen)
        return SSS_ERR_ARG;
    sss_session *s = k->s;
    lock(s);
    NEED(s, ecdh);
    if (!kt_ec(k->info.type) || k->info.type == SSS_KT_EC_PUB ||
        k->info.curve == SSS_CURVE_ED25519)
        return unlock(s, key_type_err(k, "ECDH"));
    const unsigned char *p = peer_spki;
    EVP_PKEY *peer = d2i_PUBKEY_ex(NULL, &p, (long)peerlen, s->libctx, NULL);
    ERR_clear_error();
    if (!peer || p != peer_spki + peerlen) {
        EVP_PKEY_free(peer);
        return unlock(s, fail(s, SSS_ERR_FORMAT, "ECDH: peer key is not a DER "
                                                 "SubjectPublicKeyInfo"));
    }
    sss_status st = check_peer(k, peer);
    if (st == SSS_OK)
        st = done(s, s->ops->ecdh(k, peer, secret, secretlen), "ECDH");
    EVP_PKEY_free(peer);
    return unlock(s, st);
}

static sss_status rsa_crypt(sss_key *k, bool enc, sss_rsa_pad pad, const uint8_t *in,
                            size_t inlen, uint8_t *out, size_t *outlen)
{
    if (!k || !in || !out || !outlen)
        return SSS_ERR_ARG;
    sss_session *s = k->s;
    lock(s);
    NEED(s, rsa_crypt);
    const char *op = enc ? "RSA encryption" : "RSA decryption";
    if (!kt_rsa(k->info.type) || (enc && k->info.type == SSS_KT_RSA_PRIV) ||
        (!enc && k->info.type == SSS_KT_RSA_PUB))
        return unlock(s, key_type_err(k, op));
    if (pad < SSS_RSA_PAD_PKCS1 || pad > SSS_RSA_PAD_NONE)
        return unlock(s, fail(s, SSS_ERR_ARG, "%s: unknown padding %d", op, (int)pad));
    size_t kb = (k->info.bits + 7u) / 8u;
    if (kb && inlen > kb)
        return unlock(s, fail(s, SSS_ERR_BUFFER, "%s: %zu bytes of input exceed the %zu-byte "
                                                 "modulus", op, inlen, kb));
    if (!inlen)
        return unlock(s, fail(s, SSS_ERR_ARG, "%s: empty input", op));
    return unlock(s, done(s, s->ops->rsa_crypt(k, enc, pad, in, inlen, out, outlen), op));
}

sss_status sss_rsa_encrypt(sss_key *k, sss_rsa_pad pad, const uint8_t *in, size_t inlen,
                           uint8_t *out, size_t *outlen)
{
    return rsa_crypt(k, true, pad, in, inlen, out, outlen);
}

sss_status sss_rsa_decrypt(sss_key *k, sss_rsa_pad pad, const uint8_t *in, size_t inlen,
                           uint8_t *out, size_t *outlen)
{
    return rsa_crypt(k, false, pad, in, inlen, out, outlen);
}

/* ---- symmetric, digest, random ------------------------------------------- */

sss_status sss_mac(sss_key *k, sss_mac_alg alg, const uint8_t *data, size_t len, uint8_t *mac,
                   size_t *maclen)
{
    if (!k || (!data && len) || !mac || !maclen)
        return SSS_ERR_ARG;
    sss_session *s = k->s;
    lock(s);
    NEED(s, mac);
    if (alg == SSS_MAC_CMAC_AES) {
        if (k->info.type != SSS_KT_AES)
            return unlock(s, key_type_err(k, "CMAC"));
    } else if (alg >= SSS_MAC_HMAC_SHA1 && alg <= SSS_MAC_HMAC_SHA512) {
        if (k->info.type != SSS_KT_HMAC)
            return unlock(s, key_type_err(k, "HMAC"));
    } else {
        return unlock(s, fail(s, SSS_ERR_ARG, "MAC: unknown algorithm %d", (int)alg));
    }
    return unlock(s, done(s, s->ops->mac(k, alg, data, len, mac, maclen), "MAC"));
}

sss_status sss_aes(sss_key *k, sss_aes_mode mode, bool encrypt, const uint8_t *iv, size_t ivlen,
                   const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
    if (!k || !in || !out || !outlen)
        return SSS_ERR_ARG;
    sss_session *s = k->s;
    lock(s);
    NEED(s, aes);
    if (k->info.type != SSS_KT_AES)
        return unlock(s, key_type_err(k, "AES"));
    if (mode < SSS_AES_ECB || mode > SSS_AES_CTR)
        return unlock(s, fail(s, SSS_ERR_ARG, "AES: unknown mode %d", (int)mode));
    if (!len || (mode != SSS_AES_CTR && len % 16))
        return unlock(s, fail(s, SSS_ERR_ARG, "AES: input must be a non-empty multiple of 16 "
                                              "bytes (got %zu)", len));
    if (mode != SSS_AES_ECB && (!iv || ivlen != 16))
        return unlock(s, fail(s, SSS_ERR_ARG, "AES: this mode needs a 16-byte IV"));
    if (*outlen < len) {
        *outlen = len;
        return unlock(s, fail(s, SSS_ERR_BUFFER, "AES: output needs %zu bytes", len));
    }
    return unlock(s, done(s, s->ops->aes(k, mode, encrypt, mode == SSS_AES_ECB ? NULL : iv,
                                         mode == SSS_AES_ECB ? 0 : ivlen, in, len, out, outlen),
                          "AES"));
}

sss_status sss_digest(sss_session *s, sss_hash h, const uint8_t *data, size_t len, uint8_t *out,
                      size_t *outlen)
{
    if (!s || (!data && len) || !out || !outlen)
        return SSS_ERR_ARG;
    lock(s);
    NEED(s, digest);
    size_t hl = sss_hash_len(h);
    if (!hl)
        return unlock(s, fail(s, SSS_ERR_ARG, "digest: unknown hash"));
    if (*outlen < hl) {
        *outlen = hl;
        return unlock(s, fail(s, SSS_ERR_BUFFER, "digest: output needs %zu bytes", hl));
    }
    return unlock(s, done(s, s->ops->digest(s, h, data, len, out, outlen), "digest"));
}

sss_status sss_rng(sss_session *s, uint8_t *out, size_t len)
{
    if (!s || (!out && len))
        return SSS_ERR_ARG;
    if (!len)
        return SSS_OK;
    lock(s);
    NEED(s, rng);
    return unlock(s, done(s, s->ops->rng(s, out, len), "random"));
}
