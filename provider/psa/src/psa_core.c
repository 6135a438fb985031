/* se05x_psa core: the SE work of the PSA driver as plain functions on one
 * sss session (lazily opened, re-tried while the SE is unreachable), all
 * serialised by the core's mutex. Speaks PSA types and formats, knows
 * nothing about psa_drv_se_t (see se05x_psa.h). Open sss_key handles are
 * cached per object id so that a sign costs one APDU. */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "psa_internal.h"

#define KEY_CACHE 8

struct se05x_psa_core {
    pthread_mutex_t mu;
    sss_session *s;
    bool owned;     /* session opened (and closed) by the core */
    bool have_cfg;  /* lazily (re)openable from cfg */
    sss_session_cfg cfg;
    char *connstr, *scp03, *eckey;
    uint8_t *secret;
    se05x_psa_se_policy se_policy;
    sss_key *keys[KEY_CACHE];
    unsigned next_victim;
    char err[320];
};

void se05x_psa_core_seterr(se05x_psa_core *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
}
#define seterr se05x_psa_core_seterr

psa_status_t se05x_psa_status(sss_status st)
{
    switch (st) {
    case SSS_OK: return PSA_SUCCESS;
    case SSS_ERR_ARG:
    case SSS_ERR_FORMAT:
    case SSS_ERR_RESERVED_ID: return PSA_ERROR_INVALID_ARGUMENT;
    case SSS_ERR_NOMEM: return PSA_ERROR_INSUFFICIENT_MEMORY;
    case SSS_ERR_BUFFER: return PSA_ERROR_BUFFER_TOO_SMALL;
    case SSS_ERR_NOT_FOUND: return PSA_ERROR_DOES_NOT_EXIST;
    case SSS_ERR_EXISTS: return PSA_ERROR_ALREADY_EXISTS;
    case SSS_ERR_KEY_TYPE:
    case SSS_ERR_UNSUPPORTED: return PSA_ERROR_NOT_SUPPORTED;
    case SSS_ERR_DENIED: return PSA_ERROR_NOT_PERMITTED;
    case SSS_ERR_AUTH:
    case SSS_ERR_CONNECT:
    case SSS_ERR_LINK: return PSA_ERROR_COMMUNICATION_FAILURE;
    case SSS_ERR_SE: return PSA_ERROR_HARDWARE_FAILURE;
    case SSS_ERR_VERIFY: return PSA_ERROR_INVALID_SIGNATURE;
    case SSS_ERR_NO_MEMORY: return PSA_ERROR_INSUFFICIENT_STORAGE;
    case SSS_ERR_STATE: return PSA_ERROR_BAD_STATE;
    case SSS_ERR_CRYPTO:
    default: return PSA_ERROR_GENERIC_ERROR;
    }
}

/* ---- lifecycle ------------------------------------------------------- */

static char *dupstr(const char *s, bool *ok)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

static psa_status_t core_alloc(se05x_psa_core **out)
{
    se05x_psa_core *c = calloc(1, sizeof(*c));
    if (!c)
        return PSA_ERROR_INSUFFICIENT_MEMORY;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return PSA_ERROR_GENERIC_ERROR;
    }
    *out = c;
    return PSA_SUCCESS;
}

psa_status_t se05x_psa_core_new(const sss_session_cfg *cfg, se05x_psa_core **out)
{
    if (!cfg || !out)
        return PSA_ERROR_INVALID_ARGUMENT;
    se05x_psa_core *c;
    psa_status_t st = core_alloc(&c);
    if (st != PSA_SUCCESS)
        return st;
    bool ok = true;
    c->cfg = *cfg;
    c->cfg.connstr = c->connstr = dupstr(cfg->connstr, &ok);
    c->cfg.scp03_keyfile = c->scp03 = dupstr(cfg->scp03_keyfile, &ok);
    c->cfg.eckey_pem = c->eckey = dupstr(cfg->eckey_pem, &ok);
    if (cfg->secret && cfg->secret_len) {
        c->secret = malloc(cfg->secret_len);
        if (c->secret)
            memcpy(c->secret, cfg->secret, cfg->secret_len);
        else
            ok = false;
        c->cfg.secret = c->secret;
    }
    c->have_cfg = true;
    c->owned = true;
    if (!ok) {
        se05x_psa_core_free(c);
        return PSA_ERROR_INSUFFICIENT_MEMORY;
    }
    *out = c;
    return PSA_SUCCESS;
}

psa_status_t se05x_psa_core_new_session(sss_session *s, se05x_psa_core **out)
{
    if (!s || !out)
        return PSA_ERROR_INVALID_ARGUMENT;
    se05x_psa_core *c;
    psa_status_t st = core_alloc(&c);
    if (st != PSA_SUCCESS)
        return st;
    c->s = s;
    *out = c;
    return PSA_SUCCESS;
}

static void cache_clear(se05x_psa_core *c)
{
    for (size_t i = 0; i < KEY_CACHE; i++) {
        sss_key_close(c->keys[i]);
        c->keys[i] = NULL;
    }
}

void se05x_psa_core_free(se05x_psa_core *c)
{
    if (!c)
        return;
    cache_clear(c);
    if (c->owned)
        sss_session_close(c->s);
    free(c->connstr);
    free(c->scp03);
    free(c->eckey);
    if (c->secret) {
        OPENSSL_cleanse(c->secret, c->cfg.secret_len);
        free(c->secret);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void se05x_psa_core_set_se_policy(se05x_psa_core *c, se05x_psa_se_policy mode)
{
    pthread_mutex_lock(&c->mu);
    c->se_policy = mode;
    pthread_mutex_unlock(&c->mu);
}

const char *se05x_psa_core_errmsg(const se05x_psa_core *c)
{
    return c ? c->err : "no SE05x PSA driver core";
}

/* ---- locked helpers (caller holds c->mu) ----------------------------- */

static psa_status_t fail(se05x_psa_core *c, sss_status st, const char *what, uint32_t id)
{
    const char *why = c->s ? sss_session_errmsg(c->s) : "";
    seterr(c, "se05x psa: %s 0x%08X: %s%s%s", what, (unsigned)id, sss_strerror(st),
           why && *why ? ": " : "", why ? why : "");
    /* A session the core opened itself is dropped when the link fails and
     * opened again on the next call (the SE may come back). */
    if ((st == SSS_ERR_LINK || st == SSS_ERR_CONNECT) && c->owned && c->have_cfg) {
        cache_clear(c);
        sss_session_close(c->s);
        c->s = NULL;
    }
    return se05x_psa_status(st);
}

static psa_status_t ensure_session(se05x_psa_core *c)
{
    if (c->s)
        return PSA_SUCCESS;
    if (!c->have_cfg) {
        seterr(c, "se05x psa: no session");
        return PSA_ERROR_BAD_STATE;
    }
    char err[256] = "";
    sss_status st = sss_session_open(&c->cfg, &c->s, err, sizeof(err));
    if (st != SSS_OK) {
        c->s = NULL;
        seterr(c, "se05x psa: cannot open the SE session (%s): %s",
               c->cfg.connstr ? c->cfg.connstr : "SE05X_PORT/default", err);
        return st == SSS_ERR_CONNECT || st == SSS_ERR_LINK ? PSA_ERROR_COMMUNICATION_FAILURE
                                                           : se05x_psa_status(st);
    }
    return PSA_SUCCESS;
}

static void cache_drop(se05x_psa_core *c, uint32_t id)
{
    for (size_t i = 0; i < KEY_CACHE; i++) {
        if (c->keys[i] && sss_key_info(c->keys[i])->id == id) {
            sss_key_close(c->keys[i]);
            c->keys[i] = NULL;
        }
    }
}

static psa_status_t key_get(se05x_psa_core *c, uint32_t id, sss_key **out)
{
    psa_status_t ps = ensure_session(c);
    if (ps != PSA_SUCCESS)
        return ps;
    for (size_t i = 0; i < KEY_CACHE; i++) {
        if (c->keys[i] && sss_key_info(c->keys[i])->id == id) {
            *out = c->keys[i];
            return PSA_SUCCESS;
        }
    }
    sss_key *k;
    sss_status st = sss_key_open(c->s, id, &k);
    if (st != SSS_OK)
        return fail(c, st, "open key", id);
    size_t slot = KEY_CACHE;
    for (size_t i = 0; i < KEY_CACHE && slot == KEY_CACHE; i++)
        if (!c->keys[i])
            slot = i;
    if (slot == KEY_CACHE) {
        slot = c->next_victim++ % KEY_CACHE;
        sss_key_close(c->keys[slot]);
    }
    c->keys[slot] = k;
    *out = k;
    return PSA_SUCCESS;
}

/* A failed operation on a cached key: forget the handle if the object may
 * have gone, so that the next call looks again. */
static psa_status_t key_fail(se05x_psa_core *c, sss_status st, const char *what, uint32_t id)
{
    psa_status_t ps = fail(c, st, what, id);
    if (st == SSS_ERR_NOT_FOUND || st == SSS_ERR_LINK || st == SSS_ERR_CONNECT)
        cache_drop(c, id);
    return ps;
}

/* ---- type mapping ---------------------------------------------------- */

static uint8_t curve_for_bits(size_t bits)
{
    switch (bits) {
    case 256: return SSS_CURVE_P256;
    case 384: return SSS_CURVE_P384;
    case 521: return SSS_CURVE_P521;
    default: return SSS_CURVE_NONE;
    }
}

static size_t bits_for_curve(uint8_t curve)
{
    switch (curve) {
    case SSS_CURVE_P256: return 256;
    case SSS_CURVE_P384: return 384;
    case SSS_CURVE_P521: return 521;
    default: return 0;
    }
}

static bool is_secp_r1(psa_key_type_t type)
{
    return PSA_KEY_TYPE_IS_ECC(type) && PSA_KEY_TYPE_ECC_GET_FAMILY(type) == PSA_ECC_FAMILY_SECP_R1;
}

/* PSA type/bits of an sss object; PSA_ERROR_NOT_SUPPORTED for others. */
static psa_status_t psa_type_of(const sss_object_info *info, psa_key_type_t *type, size_t *bits)
{
    switch (info->type) {
    case SSS_KT_EC_PAIR:
    case SSS_KT_EC_PUB:
        *bits = bits_for_curve(info->curve);
        if (!*bits)
            return PSA_ERROR_NOT_SUPPORTED;
        *type = info->type == SSS_KT_EC_PAIR ? PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1)
                                             : PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1);
        return PSA_SUCCESS;
    case SSS_KT_RSA_PAIR:
    case SSS_KT_RSA_PUB:
        *bits = info->bits;
        *type = info->type == SSS_KT_RSA_PAIR ? PSA_KEY_TYPE_RSA_KEY_PAIR
                                              : PSA_KEY_TYPE_RSA_PUBLIC_KEY;
        return PSA_SUCCESS;
    default:
        return PSA_ERROR_NOT_SUPPORTED;
    }
}

static psa_status_t sss_hash_of(psa_algorithm_t hash_alg, size_t hlen, sss_hash *h)
{
    switch (hash_alg) {
    case PSA_ALG_SHA_1: *h = SSS_HASH_SHA1; break;
    case PSA_ALG_SHA_224: *h = SSS_HASH_SHA224; break;
    case PSA_ALG_SHA_256: *h = SSS_HASH_SHA256; break;
    case PSA_ALG_SHA_384: *h = SSS_HASH_SHA384; break;
    case PSA_ALG_SHA_512: *h = SSS_HASH_SHA512; break;
    case 0: /* PSA_ALG_ECDSA_ANY: the hash is given by its length */
        switch (hlen) {
        case 20: *h = SSS_HASH_SHA1; break;
        case 28: *h = SSS_HASH_SHA224; break;
        case 32: *h = SSS_HASH_SHA256; break;
        case 48: *h = SSS_HASH_SHA384; break;
        case 64: *h = SSS_HASH_SHA512; break;
        default: return PSA_ERROR_INVALID_ARGUMENT;
        }
        return PSA_SUCCESS;
    default: return PSA_ERROR_NOT_SUPPORTED;
    }
    return sss_hash_len(*h) == hlen ? PSA_SUCCESS : PSA_ERROR_INVALID_ARGUMENT;
}

/* Signature parameters for alg on a key of the given sss type. */
static psa_status_t sig_params(se05x_psa_core *c, const sss_object_info *info,
                               psa_algorithm_t alg, size_t hlen, sss_sig_params *p)
{
    bool ec = info->type == SSS_KT_EC_PAIR || info->type == SSS_KT_EC_PUB;
    bool rsa = info->type == SSS_KT_RSA_PAIR || info->type == SSS_KT_RSA_PUB;
    psa_algorithm_t h = PSA_ALG_SIGN_GET_HASH(alg);
    memset(p, 0, sizeof(*p));
    if (PSA_ALG_IS_DETERMINISTIC_ECDSA(alg)) {
        seterr(c, "se05x psa: deterministic ECDSA is not available in the SE");
        return PSA_ERROR_NOT_SUPPORTED;
    }
    if (PSA_ALG_IS_RANDOMIZED_ECDSA(alg) && ec)
        p->alg = SSS_SIG_ECDSA;
    else if (PSA_ALG_IS_RSA_PKCS1V15_SIGN(alg) && rsa && alg != PSA_ALG_RSA_PKCS1V15_SIGN_RAW)
        p->alg = SSS_SIG_RSA_PKCS1;
    else if (PSA_ALG_IS_RSA_PSS(alg) && rsa)
        p->alg = SSS_SIG_RSA_PSS;
    else {
        seterr(c, "se05x psa: algorithm 0x%08X not supported for key 0x%08X (%s)", (unsigned)alg,
               (unsigned)info->id, sss_key_type_name(info->type));
        return PSA_ERROR_NOT_SUPPORTED;
    }
    if (h == PSA_ALG_ANY_HASH)
        return PSA_ERROR_INVALID_ARGUMENT;
    if (p->alg != SSS_SIG_ECDSA && h == 0)
        return PSA_ERROR_NOT_SUPPORTED;
    p->salt_len = -1;
    psa_status_t st = sss_hash_of(h, hlen, &p->hash);
    if (st != PSA_SUCCESS)
        seterr(c, "se05x psa: hash of %zu bytes does not match algorithm 0x%08X", hlen,
               (unsigned)alg);
    return st;
}

/* ---- operations ------------------------------------------------------ */

psa_status_t se05x_psa_core_check_free(se05x_psa_core *c, uint32_t id)
{
    if (id == 0 || sss_id_reserved(id)) {
        seterr(c, "se05x psa: object id 0x%08X is not usable for keys", (unsigned)id);
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    pthread_mutex_lock(&c->mu);
    psa_status_t ps = ensure_session(c);
    if (ps == PSA_SUCCESS) {
        bool exists = false;
        sss_status st = sss_object_exists(c->s, id, &exists);
        if (st != SSS_OK)
            ps = fail(c, st, "look up object", id);
        else if (exists) {
            seterr(c, "se05x psa: object 0x%08X already exists in the SE", (unsigned)id);
            ps = PSA_ERROR_ALREADY_EXISTS;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return ps;
}

psa_status_t se05x_psa_core_key_type(se05x_psa_core *c, uint32_t id, psa_key_type_t *type,
                                     size_t *bits)
{
    pthread_mutex_lock(&c->mu);
    sss_key *k;
    psa_status_t ps = key_get(c, id, &k);
    if (ps == PSA_SUCCESS) {
        ps = psa_type_of(sss_key_info(k), type, bits);
        if (ps != PSA_SUCCESS)
            seterr(c, "se05x psa: object 0x%08X (%s) is not an EC (NIST P) or RSA key",
                   (unsigned)id, sss_key_type_name(sss_key_info(k)->type));
    }
    pthread_mutex_unlock(&c->mu);
    return ps;
}

psa_status_t se05x_psa_core_check_key(se05x_psa_core *c, uint32_t id, psa_key_type_t type,
                                      size_t bits)
{
    psa_key_type_t t;
    size_t b;
    psa_status_t ps = se05x_psa_core_key_type(c, id, &t, &b);
    if (ps != PSA_SUCCESS)
        return ps;
    if (t != type || (bits != 0 && bits != b)) {
        seterr(c, "se05x psa: object 0x%08X holds type 0x%04X/%zu bits, not 0x%04X/%zu",
               (unsigned)id, (unsigned)t, b, (unsigned)type, bits);
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    return PSA_SUCCESS;
}

/* Write options for a new key: the SE policy per c->se_policy (locked). */
static void write_opts(const se05x_psa_core *c, psa_key_usage_t usage, se05x_policy *pol,
                       sss_write_opts *o)
{
    memset(o, 0, sizeof(*o));
    if (c->se_policy != SE05X_PSA_SE_POLICY_FROM_USAGE)
        return;
    uint32_t ar = SE05X_AR_READ | SE05X_AR_DELETE;
    if (usage & (PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_SIGN_MESSAGE))
        ar |= SE05X_AR_SIGN;
    if (usage & (PSA_KEY_USAGE_VERIFY_HASH | PSA_KEY_USAGE_VERIFY_MESSAGE))
        ar |= SE05X_AR_VERIFY;
    if (usage & PSA_KEY_USAGE_DERIVE)
        ar |= SE05X_AR_KA;
    if (usage & PSA_KEY_USAGE_ENCRYPT)
        ar |= SE05X_AR_ENC;
    if (usage & PSA_KEY_USAGE_DECRYPT)
        ar |= SE05X_AR_DEC;
    bool session = c->have_cfg && (c->cfg.auth == SSS_AUTH_USERID ||
                                   c->cfg.auth == SSS_AUTH_AESKEY || c->cfg.auth == SSS_AUTH_ECKEY);
    se05x_policy_init(pol);
    se05x_policy_add(pol, session ? c->cfg.auth_id : 0, ar);
    o->policy = pol;
}

psa_status_t se05x_psa_core_generate(se05x_psa_core *c, uint32_t id, psa_key_type_t type,
                                     size_t bits, psa_key_usage_t usage)
{
    sss_keygen spec = {0};
    if (type == PSA_KEY_TYPE_RSA_KEY_PAIR && (bits == 2048 || bits == 3072 || bits == 4096)) {
        spec.type = SSS_KT_RSA_PAIR;
        spec.bits = (uint16_t)bits;
    } else if (PSA_KEY_TYPE_IS_ECC_KEY_PAIR(type) && is_secp_r1(type) && curve_for_bits(bits)) {
        spec.type = SSS_KT_EC_PAIR;
        spec.curve = curve_for_bits(bits);
    } else {
        seterr(c, "se05x psa: cannot generate type 0x%04X with %zu bits (EC P-256/384/521, "
                  "RSA 2048/3072/4096)", (unsigned)type, bits);
        return PSA_ERROR_NOT_SUPPORTED;
    }
    pthread_mutex_lock(&c->mu);
    psa_status_t ps = ensure_session(c);
    if (ps == PSA_SUCCESS) {
        cache_drop(c, id);
        se05x_policy pol;
        sss_write_opts o;
        write_opts(c, usage, &pol, &o);
        sss_status st = sss_key_generate(c->s, id, &spec, &o);
        if (st != SSS_OK)
            ps = fail(c, st, "generate key", id);
    }
    pthread_mutex_unlock(&c->mu);
    return ps;
}

psa_status_t se05x_psa_core_import(se05x_psa_core *c, uint32_t id, psa_key_type_t type,
                                   psa_key_usage_t usage, const uint8_t *data, size_t len,
                                   size_t *bits)
{
    uint8_t *der = NULL;
    size_t derlen = 0;
    sss_import_kind kind;
    psa_status_t ps = se05x_psa_psa_to_der(type, data, len, &der, &derlen, &kind, bits);
    if (ps != PSA_SUCCESS) {
        seterr(c, "se05x psa: cannot import type 0x%04X (%zu bytes): bad or unsupported key",
               (unsigned)type, len);
        return ps;
    }
    pthread_mutex_lock(&c->mu);
    ps = ensure_session(c);
    if (ps == PSA_SUCCESS) {
        cache_drop(c, id);
        se05x_policy pol;
        sss_write_opts o;
        write_opts(c, usage, &pol, &o);
        sss_status st = sss_key_import(c->s, id, kind, der, derlen, &o);
        if (st != SSS_OK)
            ps = fail(c, st, "import key", id);
    }
    pthread_mutex_unlock(&c->mu);
    OPENSSL_cleanse(der, derlen);
    free(der);
    return ps;
}

psa_status_t se05x_psa_core_export_public(se05x_psa_core *c, uint32_t id, uint8_t *out,
                                          size_t cap, size_t *len)
{
    uint8_t spki[1200];
    size_t spkilen = sizeof(spki);
    pthread_mutex_lock(&c->mu);
    sss_key *k;
    psa_status_t ps = key_get(c, id, &k);
    if (ps == PSA_SUCCESS) {
        sss_status st = sss_key_public_der(k, spki, &spkilen);
        if (st != SSS_OK)
            ps = key_fail(c, st, "read public key", id);
    }
    pthread_mutex_unlock(&c->mu);
    if (ps != PSA_SUCCESS)
        return ps;
    ps = se05x_psa_spki_to_psa(spki, spkilen, out, cap, len);
    if (ps != PSA_SUCCESS)
        seterr(c, "se05x psa: public key of 0x%08X: %s", (unsigned)id,
               ps == PSA_ERROR_BUFFER_TOO_SMALL ? "output buffer too small" : "bad encoding");
    return ps;
}

psa_status_t se05x_psa_core_destroy(se05x_psa_core *c, uint32_t id)
{
    pthread_mutex_lock(&c->mu);
    psa_status_t ps = ensure_session(c);
    if (ps == PSA_SUCCESS) {
        cache_drop(c, id);
        sss_status st = sss_object_delete(c->s, id);
        if (st != SSS_OK && st != SSS_ERR_NOT_FOUND) {
            ps = fail(c, st, "delete object", id);
            /* ids sss never deletes (reserved, factory) are a permission matter */
            if (st == SSS_ERR_RESERVED_ID)
                ps = PSA_ERROR_NOT_PERMITTED;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return ps;
}

psa_status_t se05x_psa_core_sign(se05x_psa_core *c, uint32_t id, psa_algorithm_t alg,
                                 const uint8_t *hash, size_t hlen, uint8_t *sig, size_t cap,
                                 size_t *siglen)
{
    uint8_t buf[600];
    size_t blen = sizeof(buf);
    sss_object_info info;
    pthread_mutex_lock(&c->mu);
    sss_key *k;
    sss_sig_params p;
    psa_status_t ps = key_get(c, id, &k);
    if (ps == PSA_SUCCESS) {
        info = *sss_key_info(k);
        ps = sig_params(c, &info, alg, hlen, &p);
    }
    if (ps == PSA_SUCCESS) {
        sss_status st = sss_sign(k, &p, hash, hlen, buf, &blen);
        if (st != SSS_OK)
            ps = key_fail(c, st, "sign with key", id);
    }
    pthread_mutex_unlock(&c->mu);
    if (ps != PSA_SUCCESS)
        return ps;
    if (p.alg == SSS_SIG_ECDSA) {
        ps = se05x_psa_ecdsa_der_to_raw(buf, blen, (bits_for_curve(info.curve) + 7) / 8, sig, cap,
                                        siglen);
        if (ps != PSA_SUCCESS)
            seterr(c, "se05x psa: signature of 0x%08X: %s", (unsigned)id,
                   ps == PSA_ERROR_BUFFER_TOO_SMALL ? "output buffer too small"
                                                    : "malformed DER from the SE");
        return ps;
    }
    if (blen > cap) {
        seterr(c, "se05x psa: signature of 0x%08X: output buffer too small", (unsigned)id);
        return PSA_ERROR_BUFFER_TOO_SMALL;
    }
    memcpy(sig, buf, blen);
    *siglen = blen;
    return PSA_SUCCESS;
}

psa_status_t se05x_psa_core_verify(se05x_psa_core *c, uint32_t id, psa_algorithm_t alg,
                                   const uint8_t *hash, size_t hlen, const uint8_t *sig,
                                   size_t siglen)
{
    uint8_t der[600];
    size_t derlen = sizeof(der);
    pthread_mutex_lock(&c->mu);
    sss_key *k;
    sss_sig_params p;
    psa_status_t ps = key_get(c, id, &k);
    if (ps == PSA_SUCCESS)
        ps = sig_params(c, sss_key_info(k), alg, hlen, &p);
    if (ps == PSA_SUCCESS && p.alg == SSS_SIG_ECDSA) {
        size_t fb = (bits_for_curve(sss_key_info(k)->curve) + 7) / 8;
        if (siglen != 2 * fb ||
            se05x_psa_ecdsa_raw_to_der(sig, siglen, der, sizeof(der), &derlen) != PSA_SUCCESS) {
            seterr(c, "se05x psa: ECDSA signature of %zu bytes, expected %zu", siglen, 2 * fb);
            ps = PSA_ERROR_INVALID_SIGNATURE;
        } else {
            sig = der;
            siglen = derlen;
        }
    }
    if (ps == PSA_SUCCESS) {
        sss_status st = sss_verify(k, &p, hash, hlen, sig, siglen);
        if (st != SSS_OK)
            ps = st == SSS_ERR_VERIFY ? PSA_ERROR_INVALID_SIGNATURE
                                      : key_fail(c, st, "verify with key", id);
    }
    pthread_mutex_unlock(&c->mu);
    return ps;
}
