/* sss host backend: the ops table sss_backend_host_ops, session open/close
 * on a store directory, object queries (exists, info, list, remove), object
 * creation (generate in software, import key pairs / public keys /
 * symmetric keys / binaries), binary reads and key handles. Behaves like an
 * SE05x for the default user (auth id 0): stored policies are enforced,
 * private and secret keys never leave the backend. Crypto operations are in
 * be_host_crypto.c, the file format in be_host_store.c. */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "be_host.h"
#include "se05x/curves.h"

sss_status host_err(sss_session *s, sss_status st, const char *fmt, ...)
{
    char buf[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    sss_seterr(s, "%s", buf);
    return st;
}

bool host_type_is_ec(uint8_t t)
{
    return t == SSS_KT_EC_PAIR || t == SSS_KT_EC_PUB || t == SSS_KT_EC_PRIV;
}

bool host_type_is_rsa(uint8_t t)
{
    return t == SSS_KT_RSA_PAIR || t == SSS_KT_RSA_PUB || t == SSS_KT_RSA_PRIV;
}

bool host_type_has_priv(uint8_t t)
{
    return t == SSS_KT_EC_PAIR || t == SSS_KT_EC_PRIV || t == SSS_KT_RSA_PAIR ||
           t == SSS_KT_RSA_PRIV;
}

bool host_type_has_pub(uint8_t t)
{
    return t == SSS_KT_EC_PAIR || t == SSS_KT_EC_PUB || t == SSS_KT_RSA_PAIR ||
           t == SSS_KT_RSA_PUB;
}

/* ---- curves (the shared table se05x/curves.h) ------------------------ */

uint8_t host_pkey_curve(const EVP_PKEY *pkey)
{
    bool ec = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC;
    char name[64] = "";
    const char *t = ec ? NULL : EVP_PKEY_get0_type_name(pkey);
    if (ec ? !EVP_PKEY_get_group_name(pkey, name, sizeof(name), NULL) : !t)
        return SSS_CURVE_NONE;
    uint8_t curve = SSS_CURVE_NONE;
    if (se05x_curve_from_name(ec ? name : t, &curve) != SE05X_OK)
        return SSS_CURVE_NONE;
    const se05x_curve_info *ci = se05x_curve_info_get(curve);
    /* a curve the host can compute on, and the key kind that goes with it */
    if (!ci || !ci->ossl || ci->raw == ec)
        return SSS_CURVE_NONE;
    return curve;
}

/* Key size in bits of a key on curve: the group's order size for
 * Weierstrass curves (521 for P-521), the key length for Edwards/Montgomery. */
static uint16_t curve_bits(const se05x_curve_info *ci, const EVP_PKEY *pkey)
{
    return ci->raw ? (uint16_t)(ci->field_len * 8u) : (uint16_t)EVP_PKEY_get_bits(pkey);
}

static bool rsa_bits_ok(unsigned bits)
{
    return bits == 1024 || bits == 2048 || bits == 3072 || bits == 4096;
}

/* ---- DER encodings (buffers we own, wiped before free) --------------- */

static void wipe_free(uint8_t *p, size_t n)
{
    if (p) {
        OPENSSL_cleanse(p, n);
        free(p);
    }
}

static sss_status der_private(EVP_PKEY *pkey, uint8_t **der, size_t *len)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
    if (!p8)
        return SSS_ERR_ARG;
    sss_status rc = SSS_ERR_CRYPTO;
    int n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
    uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
    uint8_t *p = b;
    if (b && i2d_PKCS8_PRIV_KEY_INFO(p8, &p) == n) {
        *der = b;
        *len = (size_t)n;
        rc = SSS_OK;
    } else if (b) {
        wipe_free(b, (size_t)n);
    }
    PKCS8_PRIV_KEY_INFO_free(p8);
    return rc;
}

static sss_status der_public(EVP_PKEY *pkey, uint8_t **der, size_t *len)
{
    int n = i2d_PUBKEY(pkey, NULL);
    uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
    uint8_t *p = b;
    if (!b || i2d_PUBKEY(pkey, &p) != n) {
        free(b);
        return SSS_ERR_CRYPTO;
    }
    *der = b;
    *len = (size_t)n;
    return SSS_OK;
}

static bool pkey_has_private(const EVP_PKEY *pkey)
{
    int id = EVP_PKEY_get_base_id(pkey);
    BIGNUM *bn = NULL;
    bool has = false;
    if (id == EVP_PKEY_EC) {
        has = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1;
    } else if (id == EVP_PKEY_RSA) {
        has = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &bn) == 1;
    } else {
        size_t n = 0;
        has = EVP_PKEY_get_raw_private_key(pkey, NULL, &n) == 1 && n > 0;
    }
    BN_clear_free(bn);
    return has;
}

sss_status host_obj_pkey(sss_session *s, const hobj *o, EVP_PKEY **pkey)
{
    const uint8_t *p = o->mat;
    EVP_PKEY *k = NULL;
    if (host_type_has_priv(o->type)) {
        PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)o->matlen);
        if (p8 && p == o->mat + o->matlen)
            k = EVP_PKCS82PKEY(p8);
        PKCS8_PRIV_KEY_INFO_free(p8);
    } else {
        k = d2i_PUBKEY(NULL, &p, (long)o->matlen);
        if (k && p != o->mat + o->matlen) {
            EVP_PKEY_free(k);
            k = NULL;
        }
    }
    bool ok = k != NULL;
    if (ok && host_type_is_ec(o->type)) {
        ok = host_pkey_curve(k) == o->curve;
    } else if (ok) {
        ok = host_type_is_rsa(o->type) && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA;
    }
    if (!ok) {
        EVP_PKEY_free(k);
        char path[4200];
        host_obj_path(host_store(s), o->id, path, sizeof(path));
        return host_err(s, SSS_ERR_FORMAT, "%s: corrupt object file (key material does not decode)",
                        path);
    }
    *pkey = k;
    return SSS_OK;
}

/* ---- session --------------------------------------------------------- */

/* mkdir -p with mode 0700 for created components. */
static int mkdirs(const char *dir)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(buf))
        return ENAMETOOLONG;
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return errno;
        buf[i] = c;
    }
    return 0;
}

static sss_status h_open(sss_session *s, const sss_session_cfg *cfg)
{
    const char *dir = cfg ? cfg->connstr : NULL;
    if (!dir || !*dir) {
        sss_seterr(s, "host backend: no key store directory given");
        return SSS_ERR_ARG;
    }
    if (cfg->auth != SSS_AUTH_NONE) {
        sss_seterr(s, "host backend: session authentication is not supported (use auth none)");
        return SSS_ERR_UNSUPPORTED;
    }
    if (strlen(dir) > 4000) {
        sss_seterr(s, "host backend: key store path too long");
        return SSS_ERR_ARG;
    }
    int e = mkdirs(dir);
    struct stat st;
    if (e == 0 && stat(dir, &st) != 0)
        e = errno;
    if (e == 0 && !S_ISDIR(st.st_mode))
        e = ENOTDIR;
    if (e == 0 && access(dir, R_OK | W_OK | X_OK) != 0)
        e = errno;
    if (e) {
        sss_seterr(s, "host backend: key store %s: %s", dir, strerror(e));
        return SSS_ERR_CONNECT;
    }
    hstore *h = calloc(1, sizeof(*h));
    if (!h)
        return SSS_ERR_NOMEM;
    snprintf(h->dir, sizeof(h->dir), "%s", dir);
    s->be = h;
    return SSS_OK;
}

static void h_close(sss_session *s)
{
    free(s->be);
    s->be = NULL;
}

static void h_counters(const sss_session *s, sss_counters *out, bool reset)
{
    (void)s;
    (void)reset;
    if (out)
        memset(out, 0, sizeof(*out));
}

/* ---- objects --------------------------------------------------------- */

static sss_status h_exists(sss_session *s, uint32_t id, bool *exists)
{
    char path[4200];
    struct stat st;
    host_obj_path(host_store(s), id, path, sizeof(path));
    if (lstat(path, &st) == 0) {
        *exists = true;
        return SSS_OK;
    }
    if (errno == ENOENT) {
        *exists = false;
        return SSS_OK;
    }
    return host_err(s, SSS_ERR_STATE, "%s: %s", path, strerror(errno));
}

static sss_status h_info(sss_session *s, uint32_t id, sss_object_info *info)
{
    hobj o;
    sss_status rc = host_obj_load(s, id, &o);
    if (rc != SSS_OK)
        return rc;
    host_obj_info(&o, info);
    host_obj_free(&o);
    return SSS_OK;
}

static sss_status h_list(sss_session *s, sss_object_info **list, size_t *n)
{
    uint32_t *ids = NULL;
    size_t cnt = 0, out = 0;
    sss_status rc = host_obj_ids(s, &ids, &cnt);
    if (rc != SSS_OK)
        return rc;
    sss_object_info *v = calloc(cnt ? cnt : 1, sizeof(*v));
    if (!v) {
        free(ids);
        return host_err(s, SSS_ERR_NOMEM, "out of memory listing objects");
    }
    for (size_t i = 0; i < cnt && rc == SSS_OK; i++) {
        hobj o;
        rc = host_obj_load(s, ids[i], &o);
        if (rc == SSS_ERR_NOT_FOUND) { /* deleted meanwhile */
            rc = SSS_OK;
            continue;
        }
        if (rc == SSS_OK) {
            host_obj_info(&o, &v[out++]);
            host_obj_free(&o);
        }
    }
    free(ids);
    if (rc != SSS_OK) {
        free(v);
        return rc;
    }
    *list = v;
    *n = out;
    return SSS_OK;
}

static sss_status h_remove(sss_session *s, uint32_t id)
{
    hobj o;
    sss_status rc = host_obj_load(s, id, &o);
    if (rc != SSS_OK)
        return rc;
    rc = host_policy_check(s, &o, SE05X_AR_DELETE, "deletion");
    host_obj_free(&o);
    return rc == SSS_OK ? host_obj_unlink(s, id) : rc;
}

/* ---- creation -------------------------------------------------------- */

/* Store an asymmetric key: PKCS#8 for pairs, SPKI for public keys. */
static sss_status store_pkey(sss_session *s, uint32_t id, EVP_PKEY *pkey, bool pair,
                             sss_origin origin, const se05x_policy *pol)
{
    const se05x_curve_info *ci = NULL;
    sss_key_type type;
    uint16_t bits;
    uint32_t size;
    uint8_t curve = SSS_CURVE_NONE;
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        int b = EVP_PKEY_get_bits(pkey);
        if (!rsa_bits_ok((unsigned)b))
            return host_err(s, SSS_ERR_UNSUPPORTED,
                            "object 0x%08X: RSA-%d not supported (1024, 2048, 3072, 4096)", id, b);
        type = pair ? SSS_KT_RSA_PAIR : SSS_KT_RSA_PUB;
        bits = (uint16_t)b;
        size = (uint32_t)b / 8u;
    } else if ((curve = host_pkey_curve(pkey)) != SSS_CURVE_NONE) {
        ci = se05x_curve_info_get(curve);
        type = pair ? SSS_KT_EC_PAIR : SSS_KT_EC_PUB;
        bits = curve_bits(ci, pkey);
        size = ci->field_len;
    } else {
        return host_err(s, SSS_ERR_UNSUPPORTED,
                        "object 0x%08X: key type or curve not supported by the host backend", id);
    }
    if (pair && !pkey_has_private(pkey))
        return host_err(s, SSS_ERR_ARG, "object 0x%08X: key pair import without a private key",
                        id);
    uint8_t *der = NULL;
    size_t len = 0;
    sss_status rc = pair ? der_private(pkey, &der, &len) : der_public(pkey, &der, &len);
    if (rc != SSS_OK)
        return host_err(s, SSS_ERR_CRYPTO, "object 0x%08X: cannot encode the key", id);
    rc = host_obj_store(s, id, type, curve, bits, size, origin, pol, der, len);
    wipe_free(der, len);
    return rc;
}

static sss_status gen_asym(sss_session *s, uint32_t id, const sss_keygen *spec,
                           const se05x_policy *pol)
{
    EVP_PKEY *k = NULL;
    if (spec->type == SSS_KT_RSA_PAIR) {
        if (!rsa_bits_ok(spec->bits))
            return host_err(s, SSS_ERR_ARG,
                            "object 0x%08X: RSA key size %u not supported (1024, 2048, 3072, 4096)",
                            id, spec->bits);
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)spec->bits);
    } else {
        const se05x_curve_info *ci = se05x_curve_info_get(spec->curve);
        if (!ci || !ci->ossl)
            return host_err(s, SSS_ERR_ARG, "object 0x%08X: curve 0x%02X not supported", id,
                            spec->curve);
        k = ci->raw ? EVP_PKEY_Q_keygen(NULL, NULL, ci->ossl)
                    : EVP_PKEY_Q_keygen(NULL, NULL, "EC", ci->ossl);
    }
    if (!k)
        return host_err(s, SSS_ERR_CRYPTO, "object 0x%08X: key generation failed", id);
    sss_status rc = store_pkey(s, id, k, true, SSS_ORIGIN_INTERNAL, pol);
    EVP_PKEY_free(k);
    return rc;
}

/* Symmetric key length check; returns a message or NULL. */
static const char *symm_len_error(sss_key_type type, size_t len)
{
    if (type == SSS_KT_AES)
        return len == 16 || len == 24 || len == 32 ? NULL : "AES keys are 128, 192 or 256 bits";
    if (type == SSS_KT_HMAC)
        return len >= 1 && len <= 256 ? NULL : "HMAC keys are 1 to 256 bytes";
    return "only AES and HMAC symmetric keys are supported";
}

static sss_status store_symm(sss_session *s, uint32_t id, sss_key_type type, const uint8_t *key,
                             size_t len, sss_origin origin, const se05x_policy *pol)
{
    const char *why = symm_len_error(type, len);
    if (why)
        return host_err(s, type == SSS_KT_AES || type == SSS_KT_HMAC ? SSS_ERR_ARG
                                                                      : SSS_ERR_UNSUPPORTED,
                        "object 0x%08X: %s", id, why);
    return host_obj_store(s, id, type, SSS_CURVE_NONE, (uint16_t)(len * 8u), (uint32_t)len, origin,
                          pol, key, len);
}

static sss_status h_generate(sss_session *s, uint32_t id, const sss_keygen *spec,
                             const se05x_policy *pol)
{
    if (spec->type == SSS_KT_EC_PAIR || spec->type == SSS_KT_RSA_PAIR)
        return gen_asym(s, id, spec, pol);
    if (spec->type != SSS_KT_AES && spec->type != SSS_KT_HMAC)
        return host_err(s, SSS_ERR_ARG, "object 0x%08X: cannot generate a key of type %d", id,
                        (int)spec->type);
    if (spec->bits % 8u != 0)
        return host_err(s, SSS_ERR_ARG, "object 0x%08X: key size %u is not a whole number of bytes",
                        id, spec->bits);
    size_t len = spec->bits / 8u;
    uint8_t key[256];
    const char *why = symm_len_error(spec->type, len);
    if (why)
        return host_err(s, SSS_ERR_ARG, "object 0x%08X: %s", id, why);
    if (RAND_priv_bytes(key, (int)len) != 1)
        return host_err(s, SSS_ERR_CRYPTO, "object 0x%08X: random generator failed", id);
    sss_status rc = store_symm(s, id, spec->type, key, len, SSS_ORIGIN_INTERNAL, pol);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

static sss_status h_import_pkey(sss_session *s, uint32_t id, EVP_PKEY *pkey, bool pair,
                                const se05x_policy *pol)
{
    return store_pkey(s, id, pkey, pair, SSS_ORIGIN_EXTERNAL, pol);
}

static sss_status h_import_symmetric(sss_session *s, uint32_t id, sss_key_type type,
                                     const uint8_t *key, size_t len, const se05x_policy *pol)
{
    return store_symm(s, id, type, key, len, SSS_ORIGIN_EXTERNAL, pol);
}

static sss_status h_binary_write(sss_session *s, uint32_t id, const uint8_t *data, size_t len,
                                 const se05x_policy *pol)
{
    if (len == 0)
        return host_err(s, SSS_ERR_ARG, "object 0x%08X: empty binary object", id);
    if (len > HOST_BINARY_MAX)
        return host_err(s, SSS_ERR_BUFFER,
                        "object 0x%08X: %zu bytes, binary objects hold at most %u", id, len,
                        HOST_BINARY_MAX);
    return host_obj_store(s, id, SSS_KT_BINARY, SSS_CURVE_NONE, 0, (uint32_t)len,
                          SSS_ORIGIN_EXTERNAL, pol, data, len);
}

static sss_status h_binary_read(sss_session *s, uint32_t id, uint8_t *out, size_t *len)
{
    hobj o;
    sss_status rc = host_obj_load(s, id, &o);
    if (rc != SSS_OK)
        return rc;
    if (o.type != SSS_KT_BINARY)
        rc = host_err(s, SSS_ERR_KEY_TYPE, "object 0x%08X is a %s, not a binary object", id,
                      sss_key_type_name((sss_key_type)o.type));
    if (rc == SSS_OK)
        rc = host_policy_check(s, &o, SE05X_AR_READ, "reading");
    if (rc == SSS_OK && *len < o.matlen)
        rc = host_err(s, SSS_ERR_BUFFER, "object 0x%08X: %zu bytes, buffer holds %zu", id,
                      o.matlen, *len);
    if (rc == SSS_OK)
        memcpy(out, o.mat, o.matlen);
    if (rc == SSS_OK || rc == SSS_ERR_BUFFER)
        *len = o.matlen;
    host_obj_free(&o);
    return rc;
}

/* ---- key handles ----------------------------------------------------- */

static sss_status h_key_open(sss_key *k)
{
    hobj o;
    sss_status rc = host_obj_load(k->s, k->info.id, &o);
    if (rc != SSS_OK)
        return rc;
    host_obj_info(&o, &k->info);
    host_obj_free(&o);
    return SSS_OK;
}

static void h_key_close(sss_key *k)
{
    (void)k;
}

static sss_status h_key_public(sss_key *k, EVP_PKEY **pub)
{
    hobj o;
    sss_session *s = k->s;
    sss_status rc = host_obj_load(s, k->info.id, &o);
    if (rc != SSS_OK)
        return rc;
    EVP_PKEY *full = NULL;
    uint8_t *der = NULL;
    size_t len = 0;
    if (!host_type_has_pub(o.type))
        rc = host_err(s, SSS_ERR_KEY_TYPE, "object 0x%08X (%s) has no public key", o.id,
                      sss_key_type_name((sss_key_type)o.type));
    if (rc == SSS_OK)
        rc = host_policy_check(s, &o, SE05X_AR_READ, "reading");
    if (rc == SSS_OK)
        rc = host_obj_pkey(s, &o, &full);
    if (rc == SSS_OK && der_public(full, &der, &len) != SSS_OK)
        rc = host_err(s, SSS_ERR_CRYPTO, "object 0x%08X: cannot encode the public key", o.id);
    if (rc == SSS_OK) {
        const uint8_t *p = der;
        *pub = d2i_PUBKEY(NULL, &p, (long)len);
        if (!*pub)
            rc = host_err(s, SSS_ERR_CRYPTO, "object 0x%08X: cannot decode the public key", o.id);
    }
    free(der);
    EVP_PKEY_free(full);
    host_obj_free(&o);
    return rc;
}

const sss_backend_ops sss_backend_host_ops = {
    .name = "host",
    .open = h_open,
    .close = h_close,
    .counters = h_counters,
    .exists = h_exists,
    .info = h_info,
    .list = h_list,
    .remove = h_remove,
    .generate = h_generate,
    .import_pkey = h_import_pkey,
    .import_symmetric = h_import_symmetric,
    .binary_write = h_binary_write,
    .binary_read = h_binary_read,
    .key_open = h_key_open,
    .key_close = h_key_close,
    .key_public = h_key_public,
    .sign = host_sign,
    .verify = host_verify,
    .ecdh = host_ecdh,
    .rsa_crypt = host_rsa_crypt,
    .mac = host_mac,
    .aes = host_aes,
    .digest = host_digest,
    .rng = host_rng,
};
