/* sss backend on an SE05x through hostlib: session open (connection string,
 * platform SCP03, UserID / AESKey / ECKey applet sessions), status mapping,
 * object metadata (exists, info, list, delete), creation (generate, import
 * of EVP_PKEYs in SE format, symmetric keys, binary objects) and the
 * backend table. Key operations are in be_se05x_crypto.c.
 *
 * Symmetric keys: the SE05x has no symmetric key generation command, so
 * AES/HMAC keys are drawn on the host with RAND_priv_bytes, written with
 * WriteSymmKey and wiped at once; they are never readable afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "be_se05x.h"

/* ---- status mapping ------------------------------------------------------- */

static sss_status map_sw(sss_session *s, uint16_t sw, uint32_t id, bool probe)
{
    switch (sw) {
    case SE05X_SW_NOT_ALLOWED:
    case SE05X_SW_SECURITY_STATUS:
        return SSS_ERR_DENIED;
    case SE05X_SW_NO_MEMORY:
        return SSS_ERR_NO_MEMORY;
    case SE05X_SW_FILE_NOT_FOUND:
    case SE05X_SW_REF_NOT_FOUND:
        return SSS_ERR_NOT_FOUND;
    case SE05X_SW_CONDITIONS: {
        bool ex = true;
        if (probe && id && se05x_object_exists(be_conn(s), id, &ex) == SE05X_OK && !ex)
            return SSS_ERR_NOT_FOUND;
        return SSS_ERR_SE;
    }
    default:
        return SSS_ERR_SE;
    }
}

sss_status be_se05x_map(sss_session *s, se05x_status st, uint32_t id, const char *what)
{
    return be_se05x_map_ex(s, st, id, what, true);
}

sss_status be_se05x_map_ex(sss_session *s, se05x_status st, uint32_t id, const char *what,
                           bool probe)
{
    se05x_conn *c = be_conn(s);
    char detail[400];
    snprintf(detail, sizeof(detail), "%s", se05x_conn_errmsg(c));
    if (!detail[0])
        snprintf(detail, sizeof(detail), "%s", se05x_strerror(st));
    sss_status r;
    switch (st) {
    case SE05X_OK: return SSS_OK;
    case SE05X_ERR_SW: r = map_sw(s, se05x_conn_last_sw(c), id, probe); break;
    case SE05X_ERR_ARG: r = SSS_ERR_ARG; break;
    case SE05X_ERR_NOMEM: r = SSS_ERR_NOMEM; break;
    case SE05X_ERR_BUFFER: r = SSS_ERR_BUFFER; break;
    case SE05X_ERR_TRANSPORT:
    case SE05X_ERR_TIMEOUT:
    case SE05X_ERR_PROTOCOL:
    case SE05X_ERR_RESPONSE:
    case SE05X_ERR_IO:
    case SE05X_ERR_LOCKED: r = SSS_ERR_LINK; break;
    case SE05X_ERR_SCP: r = SSS_ERR_AUTH; break;
    case SE05X_ERR_CRYPTO: r = SSS_ERR_CRYPTO; break;
    case SE05X_ERR_UNSUPPORTED: r = SSS_ERR_UNSUPPORTED; break;
    case SE05X_ERR_NOT_FOUND: r = SSS_ERR_NOT_FOUND; break;
    default: r = SSS_ERR_SE; break;
    }
    if (r == SSS_ERR_NOT_FOUND && id)
        sss_seterr(s, "%s 0x%08X: no such object (%s)", what, id, detail);
    else if (r == SSS_ERR_DENIED && id)
        sss_seterr(s, "%s 0x%08X: denied by the object's policy (%s)", what, id, detail);
    else if (r == SSS_ERR_LINK)
        sss_seterr(s, "%s: link to the SE failed: %s", what, detail);
    else if (id)
        sss_seterr(s, "%s 0x%08X: %s", what, id, detail);
    else
        sss_seterr(s, "%s: %s", what, detail);
    return r;
}

/* ---- session ---------------------------------------------------------------- */

static EVP_PKEY *load_eckey(OSSL_LIB_CTX *libctx, const char *pem)
{
    BIO *b = strstr(pem, "-----BEGIN") ? BIO_new_mem_buf(pem, -1) : BIO_new_file(pem, "r");
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey_ex(b, NULL, NULL, NULL, libctx, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return k;
}

static sss_status open_auth(sss_session *s, const sss_session_cfg *cfg)
{
    se05x_conn *c = be_conn(s);
    se05x_status st = SE05X_OK;
    const char *kind = "";
    switch (cfg->auth) {
    case SSS_AUTH_NONE:
    case SSS_AUTH_PLATFORM_SCP03:
        return SSS_OK;
    case SSS_AUTH_USERID:
        kind = "UserID";
        if (!cfg->secret || cfg->secret_len < 1 || cfg->secret_len > 16) {
            sss_seterr(s, "UserID session: the UserID value must be 1..16 bytes");
            return SSS_ERR_ARG;
        }
        st = se05x_session_open_userid(c, cfg->auth_id, cfg->secret, cfg->secret_len);
        break;
    case SSS_AUTH_AESKEY:
        kind = "AESKey";
        if (!cfg->secret || cfg->secret_len != 16) {
            sss_seterr(s, "AESKey session: the key must be 16 bytes");
            return SSS_ERR_ARG;
        }
        st = se05x_session_open_aeskey(c, cfg->auth_id, cfg->secret);
        break;
    case SSS_AUTH_ECKEY: {
        kind = "ECKey";
        EVP_PKEY *k = cfg->eckey_pem ? load_eckey(cfg->libctx, cfg->eckey_pem) : NULL;
        if (!k) {
            sss_seterr(s, "ECKey session: cannot read the host EC private key (PEM file or text)");
            return SSS_ERR_FORMAT;
        }
        st = se05x_session_open_eckey(c, cfg->auth_id, k);
        EVP_PKEY_free(k);
        break;
    }
    default:
        sss_seterr(s, "unknown authentication kind %d", (int)cfg->auth);
        return SSS_ERR_ARG;
    }
    if (st == SE05X_OK)
        return SSS_OK;
    sss_status r = be_se05x_map(s, st, 0, "session");
    char m[sizeof(s->err)];
    snprintf(m, sizeof(m), "%s", s->err);
    sss_seterr(s, "%s session with auth object 0x%08X failed: %.300s", kind, cfg->auth_id, m);
    if (r == SSS_ERR_LINK || r == SSS_ERR_UNSUPPORTED || r == SSS_ERR_ARG)
        return r;
    return SSS_ERR_AUTH;
}

static sss_status be_open(sss_session *s, const sss_session_cfg *cfg)
{
    be_se05x *b = calloc(1, sizeof(*b));
    if (!b)
        return SSS_ERR_NOMEM;
    s->be = b;
    if (cfg->auth == SSS_AUTH_PLATFORM_SCP03 && !cfg->scp03_keyfile) {
        sss_seterr(s, "platform SCP03 needs a key file");
        free(b);
        s->be = NULL;
        return SSS_ERR_ARG;
    }
    /* hostlib's SCP03 and session crypto runs in the caller's library context */
    se05x_conn_opts o = {.scp03_keyfile = cfg->scp03_keyfile, .libctx = cfg->libctx};
    char err[300] = "";
    se05x_status st = se05x_conn_open_err(cfg->connstr, &o, &b->c, err, sizeof(err));
    if (st != SE05X_OK) {
        sss_seterr(s, "cannot open the SE at %s: %s", cfg->connstr ? cfg->connstr : "(default)",
                   err[0] ? err : se05x_strerror(st));
        free(b);
        s->be = NULL;
        return st == SE05X_ERR_SCP ? SSS_ERR_AUTH
               : st == SE05X_ERR_CONNSTR ? SSS_ERR_ARG
                                         : SSS_ERR_CONNECT;
    }
    sss_status r = open_auth(s, cfg);
    if (r != SSS_OK) {
        se05x_conn_close(b->c);
        free(b);
        s->be = NULL;
    }
    return r;
}

static void be_close(sss_session *s)
{
    be_se05x *b = s->be;
    if (!b)
        return;
    /* Once OPENSSL_cleanup has begun (an OpenSSL provider torn down at
     * exit) libcrypto must not be used, and CloseSession of an AESKey or
     * ECKey session (or inside platform SCP03) needs a MAC: then only the
     * link is closed; the card drops the session at the next SELECT. */
    if (se05x_session_active(b->c) && OPENSSL_init_crypto(0, NULL) /* 0: cleanup begun */)
        se05x_session_close(b->c);
    se05x_conn_close(b->c);
    free(b);
    s->be = NULL;
}

static void be_counters(const sss_session *s, sss_counters *out, bool reset)
{
    se05x_conn *c = ((be_se05x *)s->be)->c;
    se05x_counters k;
    se05x_conn_counters(c, &k);
    out->apdus = k.apdus;
    out->bytes_tx = k.bytes_tx;
    out->bytes_rx = k.bytes_rx;
    if (reset)
        se05x_conn_counters_reset(c);
}

/* ---- metadata ------------------------------------------------------------------ */

void be_se05x_type(uint8_t code, sss_key_type *t, uint8_t *curve)
{
    uint8_t part = 0, cv = 0;
    *curve = SSS_CURVE_NONE;
    if (se05x_type_ec_info(code, &part, &cv)) {
        *t = part == SE05X_KEY_PAIR ? SSS_KT_EC_PAIR
             : part == SE05X_KEY_PRIVATE ? SSS_KT_EC_PRIV
                                         : SSS_KT_EC_PUB;
        *curve = cv;
        return;
    }
    switch (code) {
    case SE05X_TYPE_RSA_KEY_PAIR:
    case SE05X_TYPE_RSA_KEY_PAIR_CRT: *t = SSS_KT_RSA_PAIR; break;
    case SE05X_TYPE_RSA_PRIV:
    case SE05X_TYPE_RSA_PRIV_CRT: *t = SSS_KT_RSA_PRIV; break;
    case SE05X_TYPE_RSA_PUB: *t = SSS_KT_RSA_PUB; break;
    case SE05X_TYPE_AES: *t = SSS_KT_AES; break;
    case SE05X_TYPE_DES: *t = SSS_KT_DES; break;
    case SE05X_TYPE_HMAC: *t = SSS_KT_HMAC; break;
    case SE05X_TYPE_BINARY: *t = SSS_KT_BINARY; break;
    case SE05X_TYPE_USERID: *t = SSS_KT_USERID; break;
    case SE05X_TYPE_COUNTER: *t = SSS_KT_COUNTER; break;
    case SE05X_TYPE_PCR: *t = SSS_KT_PCR; break;
    default: *t = SSS_KT_OTHER; break;
    }
}

static uint16_t curve_bits(uint8_t curve)
{
    if (curve == SSS_CURVE_ED25519 || curve == SSS_CURVE_X25519)
        return 256;
    if (curve == SSS_CURVE_P521)
        return 521;
    return (uint16_t)(8 * se05x_curve_field_len(curve));
}

sss_status be_se05x_describe(sss_session *s, uint32_t id, uint8_t code, uint8_t transient,
                             sss_object_info *info)
{
    se05x_conn *c = be_conn(s);
    info->id = id;
    info->transient = transient == 0x02;
    be_se05x_type(code, &info->type, &info->curve);
    se05x_status st = SE05X_OK;
    switch (info->type) {
    case SSS_KT_EC_PAIR:
    case SSS_KT_EC_PRIV:
    case SSS_KT_EC_PUB:
        if (info->curve == SSS_CURVE_NONE)
            st = se05x_get_ec_curve_id(c, id, &info->curve);
        if (st != SE05X_OK)
            return be_se05x_map(s, st, id, "key");
        info->bits = curve_bits(info->curve);
        info->size = (uint32_t)se05x_curve_field_len(info->curve);
        if (!info->size)
            info->size = 32;
        return SSS_OK;
    case SSS_KT_RSA_PAIR:
    case SSS_KT_RSA_PRIV:
    case SSS_KT_RSA_PUB:
    case SSS_KT_AES:
    case SSS_KT_DES:
    case SSS_KT_HMAC:
    case SSS_KT_BINARY:
    case SSS_KT_COUNTER:
    case SSS_KT_PCR: {
        uint16_t sz = 0;
        st = se05x_read_size(c, id, &sz);
        if (st != SE05X_OK)
            return be_se05x_map(s, st, id, "object size");
        info->size = sz;
        info->bits = (uint16_t)(sz <= 0x1FFF ? 8u * sz : 0);
        return SSS_OK;
    }
    default:
        return SSS_OK;
    }
}

static sss_status be_exists(sss_session *s, uint32_t id, bool *exists)
{
    se05x_status st = se05x_object_exists(be_conn(s), id, exists);
    return st == SE05X_OK ? SSS_OK : be_se05x_map(s, st, id, "exists");
}

static sss_status read_type(sss_session *s, uint32_t id, uint8_t *code, uint8_t *tr)
{
    se05x_status st = se05x_read_type(be_conn(s), id, code, tr);
    return st == SE05X_OK ? SSS_OK : be_se05x_map(s, st, id, "object");
}

static sss_status be_info(sss_session *s, uint32_t id, sss_object_info *info)
{
    uint8_t code = 0, tr = 0;
    sss_status r = read_type(s, id, &code, &tr);
    if (r == SSS_OK)
        r = be_se05x_describe(s, id, code, tr, info);
    if (r != SSS_OK)
        return r;
    se05x_obj_attrs a;
    se05x_status st = se05x_read_attributes(be_conn(s), id, &a);
    if (st == SE05X_OK) {
        info->policy = a.policy;
        info->origin = a.origin >= 1 && a.origin <= 3 ? (sss_origin)a.origin : SSS_ORIGIN_UNKNOWN;
    } else if (st != SE05X_ERR_SW) { /* an SE without attributes keeps the rest */
        return be_se05x_map(s, st, id, "object attributes");
    }
    return SSS_OK;
}

static sss_status be_list(sss_session *s, sss_object_info **list, size_t *n)
{
    uint32_t *ids = NULL;
    size_t cnt = 0;
    se05x_status st = se05x_read_id_list(be_conn(s), SE05X_TYPE_ALL, &ids, &cnt);
    if (st != SE05X_OK)
        return be_se05x_map(s, st, 0, "list");
    sss_object_info *v = calloc(cnt ? cnt : 1, sizeof(*v));
    if (!v) {
        free(ids);
        return SSS_ERR_NOMEM;
    }
    sss_status r = SSS_OK;
    size_t out = 0;
    for (size_t i = 0; i < cnt && r == SSS_OK; i++) {
        uint8_t code = 0, tr = 0;
        memset(&v[out], 0, sizeof(v[out]));
        se05x_policy_init(&v[out].policy);
        r = read_type(s, ids[i], &code, &tr);
        if (r == SSS_OK)
            r = be_se05x_describe(s, ids[i], code, tr, &v[out]);
        if (r == SSS_ERR_SE || r == SSS_ERR_DENIED) /* e.g. ReadSize refused: keep the type */
            r = SSS_OK;
        if (r == SSS_ERR_NOT_FOUND) { /* deleted meanwhile by another user */
            r = SSS_OK;
            continue;
        }
        out++;
    }
    free(ids);
    if (r != SSS_OK) {
        free(v);
        return r;
    }
    s->err[0] = '\0';
    *list = v;
    *n = out;
    return SSS_OK;
}

static sss_status be_remove(sss_session *s, uint32_t id)
{
    se05x_status st = se05x_delete_object(be_conn(s), id);
    return st == SE05X_OK ? SSS_OK : be_se05x_map(s, st, id, "delete");
}

/* ---- creation ----------------------------------------------------------------- */

static sss_status write_symm(sss_session *s, uint32_t id, sss_key_type type, const uint8_t *key,
                             size_t len, const se05x_policy *pol)
{
    se05x_obj_opts o = {.policy = pol};
    uint8_t p1 = type == SSS_KT_AES ? SE05X_P1_AES : SE05X_P1_HMAC;
    se05x_status st = se05x_write_symm_key(be_conn(s), &o, id, p1, 0, key, len);
    return st == SE05X_OK ? SSS_OK : be_se05x_map_ex(s, st, id, "write key", false);
}

static sss_status be_generate(sss_session *s, uint32_t id, const sss_keygen *g,
                              const se05x_policy *pol)
{
    se05x_obj_opts o = {.policy = pol};
    se05x_status st;
    switch (g->type) {
    case SSS_KT_EC_PAIR:
        st = se05x_ec_generate(be_conn(s), &o, id, g->curve);
        break;
    case SSS_KT_RSA_PAIR:
        st = se05x_rsa_generate(be_conn(s), &o, id, g->bits, true);
        break;
    case SSS_KT_AES:
    case SSS_KT_HMAC: {
        uint8_t key[256];
        size_t n = g->bits / 8u;
        if (n > sizeof(key) || RAND_priv_bytes_ex(s->libctx, key, n, 0) != 1) {
            sss_seterr(s, "generate 0x%08X: host random generator failed", id);
            return SSS_ERR_CRYPTO;
        }
        sss_status r = write_symm(s, id, g->type, key, n, pol);
        OPENSSL_cleanse(key, sizeof(key));
        return r;
    }
    default:
        return SSS_ERR_ARG;
    }
    return st == SE05X_OK ? SSS_OK : be_se05x_map_ex(s, st, id, "generate", false);
}

/* EC (named curve), Ed25519 and X25519 keys: values converted by hostlib
 * (se05x_ec_values_from_pkey: big-endian scalar and 04||X||Y, or the 25519
 * byte strings in the SE's order, spec §2.2); the curve is created first
 * when the SE lacks it (Ed25519 is built in). */
static sss_status import_ec(sss_session *s, uint32_t id, EVP_PKEY *k, bool pair,
                            const se05x_obj_opts *o)
{
    se05x_ec_values v;
    se05x_status st = se05x_ec_values_from_pkey(k, pair, &v);
    if (st == SE05X_ERR_UNSUPPORTED) {
        sss_seterr(s, "import 0x%08X: unsupported EC curve", id);
        return SSS_ERR_UNSUPPORTED;
    }
    if (st != SE05X_OK) {
        sss_seterr(s, "import 0x%08X: cannot convert the EC key", id);
        return SSS_ERR_CRYPTO;
    }
    sss_status r = SSS_OK;
    if (v.curve != SE05X_CURVE_ED25519 &&
        (st = se05x_ec_curve_ensure(be_conn(s), v.curve)) != SE05X_OK)
        r = be_se05x_map_ex(s, st, id, "import (curve)", false);
    if (r == SSS_OK) {
        st = se05x_ec_import(be_conn(s), o, id, v.curve, pair ? v.priv : NULL, v.priv_len, v.pub,
                             v.pub_len);
        r = st == SE05X_OK ? SSS_OK : be_se05x_map_ex(s, st, id, "import", false);
    }
    OPENSSL_cleanse(&v, sizeof(v));
    return r;
}

static sss_status import_rsa(sss_session *s, uint32_t id, EVP_PKEY *k, bool pair,
                             const se05x_obj_opts *o)
{
    int bits = EVP_PKEY_get_bits(k);
    if (bits != 1024 && bits != 2048 && bits != 3072 && bits != 4096) {
        sss_seterr(s, "import 0x%08X: RSA size %d not supported (1024, 2048, 3072, 4096)", id,
                   bits);
        return SSS_ERR_UNSUPPORTED;
    }
    se05x_rsa_values v;
    se05x_status st = se05x_rsa_values_from_pkey(k, pair, &v);
    if (st == SE05X_ERR_NOMEM)
        return SSS_ERR_NOMEM;
    if (st != SE05X_OK) {
        sss_seterr(s, "import 0x%08X: RSA key lacks CRT components", id);
        return SSS_ERR_UNSUPPORTED;
    }
    st = se05x_rsa_import(be_conn(s), o, id, v.bits, pair ? SE05X_KEY_PAIR : SE05X_KEY_PUBLIC,
                          &v.c, false);
    se05x_rsa_values_free(&v);
    return st == SE05X_OK ? SSS_OK : be_se05x_map_ex(s, st, id, "import", false);
}

static sss_status be_import_pkey(sss_session *s, uint32_t id, EVP_PKEY *k, bool pair,
                                 const se05x_policy *pol)
{
    se05x_obj_opts o = {.policy = pol};
    /* 25519 keys use EC objects with the matching curve */
    if (EVP_PKEY_is_a(k, "EC") || EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "X25519"))
        return import_ec(s, id, k, pair, &o);
    if (EVP_PKEY_is_a(k, "RSA"))
        return import_rsa(s, id, k, pair, &o);
    sss_seterr(s, "import 0x%08X: unsupported key type", id);
    return SSS_ERR_UNSUPPORTED;
}

static sss_status be_binary_write(sss_session *s, uint32_t id, const uint8_t *data, size_t len,
                                  const se05x_policy *pol)
{
    se05x_obj_opts o = {.policy = pol};
    se05x_status st = se05x_write_binary(be_conn(s), &o, id, data, len, false);
    return st == SE05X_OK ? SSS_OK : be_se05x_map_ex(s, st, id, "binary write", false);
}

static sss_status be_binary_read(sss_session *s, uint32_t id, uint8_t *out, size_t *len)
{
    se05x_status st = se05x_read_binary(be_conn(s), id, out, len);
    return st == SE05X_OK ? SSS_OK : be_se05x_map(s, st, id, "binary read");
}

const sss_backend_ops sss_backend_se05x_ops = {
    .name = "se05x",
    .open = be_open,
    .close = be_close,
    .counters = be_counters,
    .exists = be_exists,
    .info = be_info,
    .list = be_list,
    .remove = be_remove,
    .generate = be_generate,
    .import_pkey = be_import_pkey,
    .import_symmetric = write_symm,
    .binary_write = be_binary_write,
    .binary_read = be_binary_read,
    .key_open = be_se05x_key_open,
    .key_public = be_se05x_key_public,
    .sign = be_se05x_sign,
    .verify = be_se05x_verify,
    .ecdh = be_se05x_ecdh,
    .rsa_crypt = be_se05x_rsa_crypt,
    .mac = be_se05x_mac,
    .aes = be_se05x_aes,
    .digest = be_se05x_digest,
    .rng = be_se05x_rng,
};
