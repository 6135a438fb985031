/* Crypto command handlers of the simulator (spec §2.5-§2.7): ECDSA /
 * EdDSA / RSA sign and verify, ECDH, RSA encrypt/decrypt (raw, PKCS#1 v1.5,
 * OAEP), one-shot digest, cipher and MAC, HKDF and PBKDF2, and crypto
 * objects (per-channel multi-step digest / cipher / MAC contexts). Every
 * handler loads its key with sesim_store_load (and its EVP_PKEY with
 * sesim_store_pkey, cached with the object), checks the key type (6985
 * when the object cannot do the operation), asks sesim_policy_check for
 * the access rule, validates its inputs (6A80 when malformed) and answers
 * exactly the TLVs of the spec. All cryptography is OpenSSL 3 EVP. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

#define RESULT_SUCCESS 0x01
#define RESULT_FAILURE 0x02

#define ALGO_EDDSA 0xA3

/* ---- small helpers ---------------------------------------------------- */

static const se05x_tlv_item *arg(const sesim_req *r, uint8_t tag) { return &r->tlv->t[tag]; }

static uint16_t arg_u32(const sesim_req *r, uint8_t tag, uint32_t *v)
{
    return se05x_tlv_get_u32(arg(r, tag), v) == SE05X_OK ? SE05X_SW_OK : SE05X_SW_WRONG_DATA;
}

static uint16_t arg_u8(const sesim_req *r, uint8_t tag, uint8_t *v)
{
    return se05x_tlv_get_u8(arg(r, tag), v) == SE05X_OK ? SE05X_SW_OK : SE05X_SW_WRONG_DATA;
}

/* Load the key named by TAG_1. o is always initialised (free it). */
static uint16_t load_key(sesim_req *r, sesim_obj *o)
{
    uint32_t id;
    sesim_obj_init(o);
    uint16_t sw = arg_u32(r, SE05X_TAG_1, &id);
    if (sw != SE05X_SW_OK)
        return sw;
    if (sesim_store_load(r->sim, id, o) != SE05X_OK) {
        sesim_obj_init(o);
        return SE05X_SW_CONDITIONS; /* object does not exist */
    }
    return SE05X_SW_OK;
}

static uint16_t reply(sesim_req *r, uint8_t tag, const uint8_t *v, size_t len)
{
    se05x_tlvw_bytes(r->out, tag, v, len);
    return se05x_tlvw_status(r->out) == SE05X_OK ? SE05X_SW_OK : SE05X_SW_NO_DIAGNOSIS;
}

static uint16_t reply_result(sesim_req *r, bool ok)
{
    uint8_t v = ok ? RESULT_SUCCESS : RESULT_FAILURE;
    return reply(r, SE05X_TAG_1, &v, 1);
}

static void reverse_inplace(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = t;
    }
}

static bool is_ec(const sesim_obj *o)
{
    return o->type >= SESIM_T_EC_PAIR && o->type <= SESIM_T_EC_PUB;
}

static bool is_rsa(const sesim_obj *o)
{
    return o->type >= SESIM_T_RSA_PAIR && o->type <= SESIM_T_RSA_PUB;
}

static bool has_private(const sesim_obj *o)
{
    switch (o->type) {
    case SESIM_T_EC_PAIR: case SESIM_T_EC_PRIV: case SESIM_T_RSA_PAIR:
    case SESIM_T_RSA_PAIR_CRT: case SESIM_T_RSA_PRIV: case SESIM_T_RSA_PRIV_CRT:
        return true;
    default:
        return false;
    }
}

static bool has_public(const sesim_obj *o)
{
    return o->type != SESIM_T_EC_PRIV && o->type != SESIM_T_RSA_PRIV &&
           o->type != SESIM_T_RSA_PRIV_CRT;
}

static bool is_weierstrass(uint8_t curve)
{
    return curve != 0x40 && curve != 0x41 && curve != 0x43;
}

/* Type check + policy check + EVP_PKEY, the common prologue of key use. */
static uint16_t key_prologue(sesim_req *r, const sesim_obj *o, bool type_ok, uint32_t ar,
                             EVP_PKEY **pkey)
{
    if (!type_ok)
        return SE05X_SW_CONDITIONS;
    uint16_t sw = sesim_policy_check(r, o, ar);
    if (sw != SE05X_SW_OK)
        return sw;
    *pkey = sesim_store_pkey(r->sim, o); /* cached with the object (objcache.c) */
    return *pkey ? SE05X_SW_OK : SE05X_SW_CONDITIONS;
}

/* ---- algorithm tables ---------------------------------------------------- */

typedef struct {
    uint8_t algo;
    const char *md;
    size_t dlen;
    bool pss; /* RSA only */
} hash_algo;

static const hash_algo EC_ALGOS[] = {
    {0x11, "SHA1", 20, false},   {0x25, "SHA224", 28, false}, {0x21, "SHA256", 32, false},
    {0x22, "SHA384", 48, false}, {0x26, "SHA512", 64, false},
};

static const hash_algo RSA_ALGOS[] = {
    {0x0A, "SHA1", 20, false},   {0x27, "SHA224", 28, false}, {0x28, "SHA256", 32, false},
    {0x29, "SHA384", 48, false}, {0x2A, "SHA512", 64, false}, {0x15, "SHA1", 20, true},
    {0x2B, "SHA224", 28, true},  {0x2C, "SHA256", 32, true},  {0x2D, "SHA384", 48, true},
    {0x2E, "SHA512", 64, true},
};

static const hash_algo *find_algo(const hash_algo *t, size_t n, uint8_t algo)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].algo == algo)
            return &t[i];
    return NULL;
}

#define EC_ALGO(a) find_algo(EC_ALGOS, sizeof(EC_ALGOS) / sizeof(EC_ALGOS[0]), (a))
#define RSA_ALGO(a) find_algo(RSA_ALGOS, sizeof(RSA_ALGOS) / sizeof(RSA_ALGOS[0]), (a))

/* ---- ECDSA ------------------------------------------------------------ */

/* A strictly DER-encoded ECDSA-Sig-Value? */
static bool ecdsa_der_ok(const uint8_t *sig, size_t len)
{
    const unsigned char *p = sig;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
    bool ok = false;
    if (s && p == sig + len) {
        unsigned char *re = NULL;
        int rl = i2d_ECDSA_SIG(s, &re);
        ok = rl == (int)len && memcmp(re, sig, len) == 0;
        OPENSSL_free(re);
    }
    ECDSA_SIG_free(s);
    return ok;
}

static uint16_t ecdsa_sign(sesim_req *r, const sesim_obj *o, const hash_algo *h)
{
    const se05x_tlv_item *d = arg(r, SE05X_TAG_3);
    EVP_PKEY *pkey = NULL;
    uint8_t sig[160];
    size_t siglen = sizeof(sig);
    uint16_t sw = key_prologue(r, o, is_ec(o) && has_private(o) && is_weierstrass(o->curve),
                               SESIM_AR_SIGN, &pkey);
    if (sw != SE05X_SW_OK)
        return sw;
    sw = SE05X_SW_WRONG_DATA;
    if (d->present && d->len == h->dlen) {
        /* the cached key's context when there is one (saves a costly
         * EVP_PKEY_CTX_new per sign), else our own */
        EVP_PKEY_CTX *cached = sesim_store_sign_ctx(r->sim, o);
        EVP_PKEY_CTX *ctx = cached ? cached : EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (ctx && EVP_PKEY_sign_init(ctx) == 1 &&
            EVP_PKEY_sign(ctx, sig, &siglen, d->val, d->len) == 1)
            sw = reply(r, SE05X_TAG_1, sig, siglen);
        else
            sw = SE05X_SW_NO_DIAGNOSIS;
        if (!cached)
            EVP_PKEY_CTX_free(ctx);
    }
    EVP_PKEY_free(pkey);
    return sw;
}

static uint16_t ecdsa_verify(sesim_req *r, const sesim_obj *o, const hash_algo *h)
{
    const se05x_tlv_item *d = arg(r, SE05X_TAG_3), *s = arg(r, SE05X_TAG_5);
    EVP_PKEY *pkey = NULL;
    uint16_t sw = key_prologue(r, o, is_ec(o) && is_weierstrass(o->curve), SESIM_AR_VERIFY, &pkey);
    if (sw != SE05X_SW_OK)
        return sw;
    sw = SE05X_SW_WRONG_DATA;
    if (d->present && d->len == h->dlen && s->present && ecdsa_der_ok(s->val, s->len)) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (ctx && EVP_PKEY_verify_init(ctx) == 1)
            sw = reply_result(r, EVP_PKEY_verify(ctx, s->val, s->len, d->val, d->len) == 1);
        else
            sw = SE05X_SW_NO_DIAGNOSIS;
        EVP_PKEY_CTX_free(ctx);
    }
    EVP_PKEY_free(pkey);
    return sw;
}

/* ---- EdDSA (Ed25519, halves of the signature byte-reversed) -------------- */

static uint16_t eddsa_sign(sesim_req *r, const sesim_obj *o)
{
    const se05x_tlv_item *m = arg(r, SE05X_TAG_3);
    EVP_PKEY *pkey = NULL;
    uint8_t sig[64];
    size_t siglen = sizeof(sig);
    uint16_t sw = key_prologue(r, o, is_ec(o) && has_private(o) && o->curve == 0x40,
                               SESIM_AR_SIGN, &pkey);
    if (sw != SE05X_SW_OK)
        return sw;
    if (!m->present) {
        EVP_PKEY_free(pkey);
        return SE05X_SW_WRONG_DATA;
    }
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    sw = SE05X_SW_NO_DIAGNOSIS;
    if (mctx && EVP_DigestSignInit_ex(mctx, NULL, NULL, NULL, NULL, pkey, NULL) == 1 &&
        EVP_DigestSign(mctx, sig, &siglen, m->val, m->len) == 1 && siglen == 64) {
        reverse_inplace(sig, 32);
        reverse_inplace(sig + 32, 32);
        sw = reply(r, SE05X_TAG_1, sig, 64);
    }
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pkey);
    return sw;
}

static uint16_t eddsa_verify(sesim_req *r, const sesim_obj *o)
{
    const se05x_tlv_item *m = arg(r, SE05X_TAG_3), *s = arg(r, SE05X_TAG_5);
    EVP_PKEY *pkey = NULL;
    uint8_t sig[64];
    uint16_t sw = key_prologue(r, o, is_ec(o) && o->curve == 0x40, SESIM_AR_VERIFY, &pkey);
    if (sw != SE05X_SW_OK)
        return sw;
    if (!m->present || !s->present || s->len != 64) {
        EVP_PKEY_free(pkey);
        return SE05X_SW_WRONG_DATA;
    }
    memcpy(sig, s->val, 64);
    reverse_inplace(sig, 32);
    reverse_inplace(sig + 32, 32);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    sw = SE05X_SW_NO_DIAGNOSIS;
    if (mctx && EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, NULL, pkey, NULL) == 1)
        sw = reply_result(r, EVP_DigestVerify(mctx, sig, 64, m->val, m->len) == 1);
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pkey);
    return sw;
}

/* ---- RSA signatures (the SE hashes the message) --------------------------- */

static EVP_MD_CTX *rsa_md_ctx(EVP_PKEY *pkey, const hash_algo *h, int saltlen, bool sign)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = mctx != NULL;
    if (ok)
        ok = sign ? EVP_DigestSignInit_ex(mctx, &pctx, h->md, NULL, NULL, pkey, NULL)
                  : EVP_DigestVerifyInit_ex(mctx, &pctx, h->md, NULL, NULL, pkey, NULL);
    if (ok == 1 && h->pss)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, h->md, NULL) == 1;
    else if (ok == 1)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    if (ok != 1) {
        EVP_MD_CTX_free(mctx);
        return NULL;
    }
    return mctx;
}

static int pss_saltlen(const sesim_req *r, const hash_algo *h)
{
    const se05x_tlv_item *t4 = arg(r, SE05X_TAG_4);
    return t4->present ? (int)t4->len : (int)h->dlen;
}

static uint16_t rsa_sign(sesim_req *r, const sesim_obj *o, const hash_algo *h)
{
    const se05x_tlv_item *m = arg(r, SE05X_TAG_3);
    EVP_PKEY *pkey = NULL;
    uint16_t sw = key_prologue(r, o, is_rsa(o) && has_private(o), SESIM_AR_SIGN, &pkey);
    if (sw != SE05X_SW_OK)
        return sw;
    size_t siglen = (size_t)EVP_PKEY_get_size(pkey);
    uint8_t *sig = OPENSSL_malloc(siglen ? siglen : 1);
    EVP_MD_CTX *mctx = m->present ? rsa_md_ctx(pkey, h, pss_saltlen(r, h), true) : NULL;
    if (!m->present)
        sw = SE05X_SW_WRONG_DATA;
    else if (sig && mctx && EVP_DigestSign(mctx, sig, &siglen, m->val, m->len) == 1)
        sw = reply(r, SE05X_TAG_1, sig, siglen);
    else
        sw = SE05X_SW_WRONG_DATA; /* e.g. salt too long for the modulus */
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(sig);
    EVP_PKEY_free(pkey);
    return sw;
}

static uint16_t rsa_verify(sesim_req *r, const sesim_obj *o, const hash_algo *h)
{
    const se05x_tlv_item *m = arg(r, SE05X_TAG_3), *s = arg(r, SE05X_TAG_5);
    EVP_PKEY *pkey = NULL;
    uint16_t sw = key_prologue(r, o, is_rsa(o) && has_public(o), SESIM_AR_VERIFY, &pkey);
    if (sw != SE05X_SW_OK)
        return sw;
    EVP_MD_CTX *mctx = NULL;
    if (!m->present || !s->present || s->len != (size_t)EVP_PKEY_get_size(pkey))
        sw = SE05X_SW_WRONG_DATA;
    else if (!(mctx = rsa_md_ctx(pkey, h, pss_saltlen(r, h), false)))
        sw = SE05X_SW_WRONG_DATA;
    else
        sw = reply_result(r, EVP_DigestVerify(mctx, s->val, s->len, m->val, m->len) == 1);
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pkey);
    return sw;
}

/* ---- sign / verify dispatch (80 03 0C 09 / 0A) ------------------------- */

static uint16_t sig_common(sesim_req *r, bool sign)
{
    sesim_obj o;
    uint8_t algo;
    uint16_t sw = arg_u8(r, SE05X_TAG_2, &algo);
    if (sw != SE05X_SW_OK)
        return sw;
    const hash_algo *eh = EC_ALGO(algo), *rh = RSA_ALGO(algo);
    if (!eh && !rh && algo != ALGO_EDDSA)
        return SE05X_SW_WRONG_DATA;
    sw = load_key(r, &o);
    if (sw == SE05X_SW_OK) {
        if (algo == ALGO_EDDSA)
            sw = sign ? eddsa_sign(r, &o) : eddsa_verify(r, &o);
        else if (eh && !is_rsa(&o))
            sw = sign ? ecdsa_sign(r, &o, eh) : ecdsa_verify(r, &o, eh);
        else if (rh && is_rsa(&o))
            sw = sign ? rsa_sign(r, &o, rh) : rsa_verify(r, &o, rh);
        else
            sw = SE05X_SW_CONDITIONS; /* algorithm family does not fit the key */
    }
    sesim_obj_free(&o);
    return sw;
}

static uint16_t h_sign(sesim_req *r) { return sig_common(r, true); }
static uint16_t h_verify(sesim_req *r) { return sig_common(r, false); }

/* ---- ECDH (80 03 01 0F, 80 03 01 59) ------------------------------------- */

static EVP_PKEY *peer_key(const sesim_obj *mine, const se05x_tlv_item *pub)
{
    sesim_obj peer;
    sesim_obj_init(&peer);
    peer.type = SESIM_T_EC_PUB;
    peer.curve = mine->curve;
    EVP_PKEY *pk = NULL;
    if (sesim_obj_set_comp(&peer, SESIM_C_PUB, pub->val, pub->len) == SE05X_OK)
        pk = sesim_obj_to_pkey(&peer);
    sesim_obj_free(&peer);
    return pk;
}

static uint16_t ecdh_derive(EVP_PKEY *pkey, EVP_PKEY *peer, uint8_t *out, size_t *outlen)
{
    uint16_t sw = SE05X_SW_WRONG_DATA;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
        EVP_PKEY_derive(ctx, out, outlen) == 1)
        sw = SE05X_SW_OK;
    EVP_PKEY_CTX_free(ctx);
    return sw;
}

/* Keep a derived secret in an HMAC key object (ECDH / HKDF TAG_7) instead of
 * returning it: an existing HMAC object is overwritten, else one is created. */
static uint16_t store_secret(sesim_req *r, uint32_t id, const uint8_t *secret, size_t len)
{
    sesim_obj t;
    uint16_t sw = SE05X_SW_OK;
    sesim_obj_init(&t);
    if (sesim_store_load(r->sim, id, &t) == SE05X_OK) {
        if (t.type != SESIM_T_HMAC)
            sw = SE05X_SW_CONDITIONS;
        else
            sw = sesim_policy_check(r, &t, SESIM_AR_WRITE);
    } else {
        sesim_obj_init(&t);
        t.id = id;
        t.type = SESIM_T_HMAC;
        t.origin = SESIM_ORIGIN_INTERNAL;
    }
    if (sw == SE05X_SW_OK) {
        t.size = (uint16_t)len;
        if (sesim_obj_set_comp(&t, SESIM_C_VALUE, secret, len) != SE05X_OK)
            sw = SE05X_SW_NO_DIAGNOSIS;
        else if (sesim_store_save(r->sim, &t) != SE05X_OK)
            sw = SE05X_SW_NO_MEMORY;
    }
    sesim_obj_free(&t);
    return sw;
}

static uint16_t h_ecdh(sesim_req *r)
{
    const se05x_tlv_item *pub = arg(r, SE05X_TAG_2), *t7 = arg(r, SE05X_TAG_7);
    bool reversed = r->apdu->p2 == 0x59;
    uint32_t store_id = 0;
    sesim_obj o;
    EVP_PKEY *pkey = NULL, *peer = NULL;
    uint8_t secret[80]; /* P-521: 66 bytes, X448: 56 */
    size_t slen = sizeof(secret);
    if (!pub->present || (t7->present && arg_u32(r, SE05X_TAG_7, &store_id) != SE05X_SW_OK) ||
        (reversed && !t7->present))
        return SE05X_SW_WRONG_DATA;
    uint16_t sw = load_key(r, &o);
    if (sw == SE05X_SW_OK)
        sw = key_prologue(r, &o, is_ec(&o) && has_private(&o) && o.curve != 0x40, SESIM_AR_KA,
                          &pkey);
    if (sw == SE05X_SW_OK && !(peer = peer_key(&o, pub)))
        sw = SE05X_SW_WRONG_DATA; /* bad peer point */
    if (sw == SE05X_SW_OK)
        sw = ecdh_derive(pkey, peer, secret, &slen);
    if (sw == SE05X_SW_OK) {
        /* OpenSSL: big-endian x for Weierstrass, RFC 7748 (little-endian)
         * for X25519/X448; the SE answers 25519/448 secrets reversed. */
        if (!is_weierstrass(o.curve))
            reverse_inplace(secret, slen);
        if (reversed)
            reverse_inplace(secret, slen);
        sw = t7->present ? store_secret(r, store_id, secret, slen)
                         : reply(r, SE05X_TAG_1, secret, slen);
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    EVP_PKEY_free(peer);
    EVP_PKEY_free(pkey);
    sesim_obj_free(&o);
    return sw;
}

/* ---- RSA encrypt / decrypt (80 03 02 37 / 38) ------------------------------ */

static int rsa_padding_for(uint8_t algo)
{
    switch (algo) {
    case 0x0C: return RSA_NO_PADDING;
    case 0x0A: return RSA_PKCS1_PADDING;
    case 0x0F: return RSA_PKCS1_OAEP_PADDING;
    default: return -1;
    }
}

static uint16_t rsa_crypt(sesim_req *r, bool enc)
{
    const se05x_tlv_item *in = arg(r, SE05X_TAG_3);
    uint8_t algo;
    sesim_obj o;
    EVP_PKEY *pkey = NULL;
    uint16_t sw = arg_u8(r, SE05X_TAG_2, &algo);
    int pad = rsa_padding_for(algo);
    if (sw != SE05X_SW_OK || pad < 0 || !in->present)
        return SE05X_SW_WRONG_DATA;
    sw = load_key(r, &o);
    if (sw == SE05X_SW_OK)
        sw = key_prologue(r, &o, is_rsa(&o) && (enc ? has_public(&o) : has_private(&o)),
                          enc ? SESIM_AR_ENC : SESIM_AR_DEC, &pkey);
    sesim_obj_free(&o);
    if (sw != SE05X_SW_OK)
        return sw;
    size_t mb = (size_t)EVP_PKEY_get_size(pkey), outlen = mb;
    uint8_t *buf = OPENSSL_secure_zalloc(mb), *out = OPENSSL_secure_zalloc(mb);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    sw = SE05X_SW_WRONG_DATA;
    /* Raw input shorter than the modulus is taken as a left-padded number;
     * decryption input must otherwise be exactly modulus-long. */
    bool lenok = pad == RSA_NO_PADDING ? in->len <= mb : enc || in->len == mb;
    if (!buf || !out || !ctx) {
        sw = SE05X_SW_NO_DIAGNOSIS;
    } else if (lenok && in->len <= mb) {
        const uint8_t *src = in->val;
        size_t srclen = in->len;
        if (pad == RSA_NO_PADDING) {
            memcpy(buf + (mb - in->len), in->val, in->len);
            src = buf;
            srclen = mb;
        }
        int ok = enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx);
        if (ok == 1)
            ok = EVP_PKEY_CTX_set_rsa_padding(ctx, pad);
        if (ok == 1 && pad == RSA_PKCS1_OAEP_PADDING)
            ok = EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "SHA1", NULL) == 1 &&
                 EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA1", NULL) == 1;
        if (ok == 1)
            ok = enc ? EVP_PKEY_encrypt(ctx, out, &outlen, src, srclen)
                     : EVP_PKEY_decrypt(ctx, out, &outlen, src, srclen);
        if (ok == 1)
            sw = reply(r, SE05X_TAG_1, out, outlen);
    }
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_secure_clear_free(buf, mb);
    OPENSSL_secure_clear_free(out, mb);
    EVP_PKEY_free(pkey);
    return sw;
}

static uint16_t h_rsa_enc(sesim_req *r) { return rsa_crypt(r, true); }
static uint16_t h_rsa_dec(sesim_req *r) { return rsa_crypt(r, false); }

/* ---- DigestOneShot (80 03 00 0E) ------------------------------------------- */

static const char *digest_name(uint8_t mode)
{
    switch (mode) {
    case 0x01: return "SHA1";
    case 0x04: return "SHA256";
    case 0x05: return "SHA384";
    case 0x06: return "SHA512";
    default: return NULL; /* 00 none, 07 SHA-224: not supported by the applet */
    }
}

static uint16_t h_digest(sesim_req *r)
{
    uint8_t mode, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const se05x_tlv_item *d = arg(r, SE05X_TAG_2);
    if (arg_u8(r, SE05X_TAG_1, &mode) != SE05X_SW_OK || !digest_name(mode) || !d->present)
        return SE05X_SW_WRONG_DATA;
    EVP_MD *m = EVP_MD_fetch(NULL, digest_name(mode), NULL);
    uint16_t sw = SE05X_SW_NO_DIAGNOSIS;
    if (m && EVP_Digest(d->val, d->len, md, &mdlen, m, NULL) == 1)
        sw = reply(r, SE05X_TAG_1, md, mdlen);
    EVP_MD_free(m);
    return sw;
}

/* ---- CipherOneShot (80 03 0E 37 / 38) ------------------------------------- */

enum { PAD_NONE, PAD_M1, PAD_M2 };

typedef struct {
    uint8_t mode;
    bool aes;      /* else (3)DES */
    const char *m; /* "ECB", "CBC", "CTR" */
    int pad;
} cipher_mode;

static const cipher_mode CIPHER_MODES[] = {
    {0x0E, true, "ECB", PAD_NONE},  {0x0D, true, "CBC", PAD_NONE},  {0x16, true, "CBC", PAD_M1},
    {0x17, true, "CBC", PAD_M2},    {0xF0, true, "CTR", PAD_NONE},  {0x01, false, "CBC", PAD_NONE},
    {0x02, false, "CBC", PAD_M1},   {0x03, false, "CBC", PAD_M2},   {0x05, false, "ECB", PAD_NONE},
};

static const cipher_mode *find_cipher_mode(uint8_t mode)
{
    for (size_t i = 0; i < sizeof(CIPHER_MODES) / sizeof(CIPHER_MODES[0]); i++)
        if (CIPHER_MODES[i].mode == mode)
            return &CIPHER_MODES[i];
    return NULL;
}

/* EVP cipher and key bytes for a key object; DES keys of 8/16 bytes are
 * expanded to three-key form (K1 K2 K3 with K3 = K1, K2 = K1 for single DES). */
static EVP_CIPHER *fetch_cipher(const cipher_mode *cm, const sesim_obj *o, uint8_t key[32])
{
    const sesim_comp *v = &o->comp[SESIM_C_VALUE];
    char name[32];
    if (!v->v)
        return NULL;
    if (cm->aes) {
        if (v->len != 16 && v->len != 24 && v->len != 32)
            return NULL;
        snprintf(name, sizeof(name), "AES-%zu-%s", v->len * 8, cm->m);
        memcpy(key, v->v, v->len);
    } else {
        if (v->len != 8 && v->len != 16 && v->len != 24)
            return NULL;
        snprintf(name, sizeof(name), "DES-EDE3-%s", cm->m);
        memcpy(key, v->v, v->len);
        if (v->len == 8)
            memcpy(key + 8, v->v, 8);
        if (v->len <= 16)
            memcpy(key + 16, v->v, 8);
    }
    return EVP_CIPHER_fetch(NULL, name, NULL);
}

static uint16_t cipher_run(EVP_CIPHER *c, const uint8_t *key, const uint8_t *iv, bool enc,
                           const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    uint16_t sw = SE05X_SW_NO_DIAGNOSIS;
    if (ctx && EVP_CipherInit_ex2(ctx, c, key, iv, enc ? 1 : 0, NULL) == 1 &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
        EVP_CipherUpdate(ctx, out, &l1, in, (int)inlen) == 1 &&
        EVP_CipherFinal_ex(ctx, out + l1, &l2) == 1) {
        *outlen = (size_t)l1 + (size_t)l2;
        sw = SE05X_SW_OK;
    }
    EVP_CIPHER_CTX_free(ctx);
    return sw;
}

/* ISO 9797-1 method 2 padding removal; false if malformed. */
static bool unpad_m2(const uint8_t *p, size_t *len)
{
    size_t n = *len;
    while (n > 0 && p[n - 1] == 0x00)
        n--;
    if (n == 0 || p[n - 1] != 0x80)
        return false;
    *len = n - 1;
    return true;
}

static uint16_t cipher_iv(sesim_req *r, const cipher_mode *cm, bool enc, size_t bs,
                          uint8_t iv[16], bool *internal)
{
    const se05x_tlv_item *t4 = arg(r, SE05X_TAG_4);
    *internal = false;
    memset(iv, 0, 16);
    if (strcmp(cm->m, "ECB") == 0)
        return t4->present ? SE05X_SW_WRONG_DATA : SE05X_SW_OK;
    if (strcmp(cm->m, "CTR") == 0 && enc && t4->present && t4->len == 2) {
        if (se05x_get_u16(t4->val) != 16 || RAND_bytes(iv, 16) != 1)
            return SE05X_SW_WRONG_DATA;
        *internal = true; /* CTR with IV generated on the card */
        return SE05X_SW_OK;
    }
    if (!t4->present)
        return strcmp(cm->m, "CTR") == 0 ? SE05X_SW_WRONG_DATA : SE05X_SW_OK;
    if (t4->len != bs)
        return SE05X_SW_WRONG_DATA;
    memcpy(iv, t4->val, bs);
    return SE05X_SW_OK;
}

static uint16_t h_cipher_oneshot(sesim_req *r)
{
    bool enc = r->apdu->p2 == 0x37, internal_iv = false;
    const se05x_tlv_item *in = arg(r, SE05X_TAG_3);
    uint8_t mode, key[32], iv[16];
    sesim_obj o;
    if (arg_u8(r, SE05X_TAG_2, &mode) != SE05X_SW_OK || !find_cipher_mode(mode) || !in->present)
        return SE05X_SW_WRONG_DATA;
    const cipher_mode *cm = find_cipher_mode(mode);
    size_t bs = cm->aes ? 16 : 8;
    uint16_t sw = load_key(r, &o);
    if (sw == SE05X_SW_OK && o.type != (cm->aes ? SESIM_T_AES : SESIM_T_DES))
        sw = SE05X_SW_CONDITIONS;
    if (sw == SE05X_SW_OK)
        sw = sesim_policy_check(r, &o, enc ? SESIM_AR_ENC : SESIM_AR_DEC);
    if (sw == SE05X_SW_OK)
        sw = cipher_iv(r, cm, enc, bs, iv, &internal_iv);
    EVP_CIPHER *c = sw == SE05X_SW_OK ? fetch_cipher(cm, &o, key) : NULL;
    if (sw == SE05X_SW_OK && !c)
        sw = SE05X_SW_CONDITIONS;
    size_t inlen = in->len, outlen = 0, cap = in->len + bs;
    uint8_t *src = NULL, *out = NULL;
    if (sw == SE05X_SW_OK) {
        src = OPENSSL_secure_zalloc(cap);
        out = OPENSSL_secure_zalloc(cap);
        if (!src || !out)
            sw = SE05X_SW_NO_DIAGNOSIS;
    }
    if (sw == SE05X_SW_OK) {
        memcpy(src, in->val, in->len);
        if (enc && cm->pad != PAD_NONE) {
            if (cm->pad == PAD_M2)
                src[inlen++] = 0x80;
            while (inlen % bs || inlen == 0)
                src[inlen++] = 0x00;
        }
        if (strcmp(cm->m, "CTR") != 0 && inlen % bs != 0)
            sw = SE05X_SW_WRONG_DATA;
    }
    if (sw == SE05X_SW_OK)
        sw = cipher_run(c, key, iv, enc, src, inlen, out, &outlen);
    if (sw == SE05X_SW_OK && !enc && cm->pad == PAD_M2 && !unpad_m2(out, &outlen))
        sw = SE05X_SW_WRONG_DATA;
    if (sw == SE05X_SW_OK) {
        sw = reply(r, SE05X_TAG_1, out, outlen);
        if (sw == SE05X_SW_OK && internal_iv)
            sw = reply(r, SE05X_TAG_3, iv, 16);
    }
    OPENSSL_secure_clear_free(src, cap);
    OPENSSL_secure_clear_free(out, cap);
    OPENSSL_cleanse(key, sizeof(key));
    EVP_CIPHER_free(c);
    sesim_obj_free(&o);
    return sw;
}

/* ---- MACOneShot (80 03 0D 45 / 46) ------------------------------------------ */

typedef struct {
    uint8_t algo;
    uint8_t key_type;
    const char *mac;    /* EVP_MAC name */
    const char *param;  /* digest or cipher name */
} mac_algo;

static const mac_algo MAC_ALGOS[] = {
    {0x18, SESIM_T_HMAC, "HMAC", "SHA1"},   {0x19, SESIM_T_HMAC, "HMAC", "SHA256"},
    {0x1A, SESIM_T_HMAC, "HMAC", "SHA384"}, {0x1B, SESIM_T_HMAC, "HMAC", "SHA512"},
    {0x31, SESIM_T_AES, "CMAC", NULL},      {0x7A, SESIM_T_DES, "CMAC", "DES-EDE3-CBC"},
};

static const mac_algo *find_mac(uint8_t algo)
{
    for (size_t i = 0; i < sizeof(MAC_ALGOS) / sizeof(MAC_ALGOS[0]); i++)
        if (MAC_ALGOS[i].algo == algo)
            return &MAC_ALGOS[i];
    return NULL;
}

/* A MAC context keyed with o for algorithm ma; *sw tells why on NULL. */
static EVP_MAC_CTX *mac_start(const mac_algo *ma, const sesim_obj *o, uint16_t *sw)
{
    const sesim_comp *v = &o->comp[SESIM_C_VALUE];
    uint8_t key[24];
    const uint8_t *k = v->v;
    size_t klen = v->len;
    char cname[16];
    OSSL_PARAM params[2];
    *sw = SE05X_SW_CONDITIONS;
    if (!v->v || v->len == 0)
        return NULL;
    if (ma->key_type == SESIM_T_AES) {
        if (klen != 16 && klen != 24 && klen != 32)
            return NULL;
        snprintf(cname, sizeof(cname), "AES-%zu-CBC", klen * 8);
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cname, 0);
    } else if (ma->key_type == SESIM_T_DES) {
        if (klen != 8 && klen != 16 && klen != 24)
            return NULL;
        memcpy(key, v->v, klen);
        if (klen == 8)
            memcpy(key + 8, v->v, 8);
        if (klen <= 16)
            memcpy(key + 16, v->v, 8);
        k = key;
        klen = 24;
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)ma->param, 0);
    } else {
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)ma->param, 0);
    }
    params[1] = OSSL_PARAM_construct_end();
    EVP_MAC *m = EVP_MAC_fetch(NULL, ma->mac, NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    *sw = SE05X_SW_NO_DIAGNOSIS;
    if (ctx && EVP_MAC_init(ctx, k, klen, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    EVP_MAC_free(m);
    OPENSSL_cleanse(key, sizeof(key));
    if (ctx)
        *sw = SE05X_SW_OK;
    return ctx;
}

/* Finish a MAC: output (truncated to 8 bytes for DES-CMAC8). */
static bool mac_finish(EVP_MAC_CTX *ctx, uint8_t algo, uint8_t *mac, size_t *maclen)
{
    if (EVP_MAC_final(ctx, mac, maclen, EVP_MAX_MD_SIZE) != 1)
        return false;
    if (algo == 0x7A && *maclen > 8)
        *maclen = 8; /* DES-CMAC8 */
    return true;
}

/* Answer a generated MAC (TAG_1) or the result of comparing it with chk. */
static uint16_t mac_reply(sesim_req *r, bool gen, const uint8_t *mac, size_t maclen,
                          const se05x_tlv_item *chk)
{
    if (gen)
        return reply(r, SE05X_TAG_1, mac, maclen);
    return reply_result(r, chk->len == maclen && CRYPTO_memcmp(chk->val, mac, maclen) == 0);
}

static uint16_t mac_compute(const mac_algo *ma, const sesim_obj *o, const uint8_t *in,
                            size_t inlen, uint8_t *mac, size_t *maclen)
{
    uint16_t sw;
    EVP_MAC_CTX *ctx = mac_start(ma, o, &sw);
    if (ctx && (EVP_MAC_update(ctx, in, inlen) != 1 || !mac_finish(ctx, ma->algo, mac, maclen)))
        sw = SE05X_SW_NO_DIAGNOSIS;
    EVP_MAC_CTX_free(ctx);
    return sw;
}

static uint16_t h_mac_oneshot(sesim_req *r)
{
    bool gen = r->apdu->p2 == 0x45;
    const se05x_tlv_item *in = arg(r, SE05X_TAG_3), *chk = arg(r, SE05X_TAG_5);
    uint8_t algo, mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    sesim_obj o;
    if (arg_u8(r, SE05X_TAG_2, &algo) != SE05X_SW_OK || !find_mac(algo) || !in->present ||
        (!gen && !chk->present))
        return SE05X_SW_WRONG_DATA;
    const mac_algo *ma = find_mac(algo);
    uint16_t sw = load_key(r, &o);
    if (sw == SE05X_SW_OK && o.type != ma->key_type)
        sw = SE05X_SW_CONDITIONS;
    if (sw == SE05X_SW_OK)
        sw = sesim_policy_check(r, &o, gen ? SESIM_AR_SIGN : SESIM_AR_VERIFY);
    if (sw == SE05X_SW_OK)
        sw = mac_compute(ma, &o, in->val, in->len, mac, &maclen);
    if (sw == SE05X_SW_OK)
        sw = mac_reply(r, gen, mac, maclen, chk);
    OPENSSL_cleanse(mac, sizeof(mac));
    sesim_obj_free(&o);
    return sw;
}

/* ---- HKDF (80 03 00 2D, expand-only 2F) and PBKDF2 (80 03 00 2E) ------------- */

#define KDF_MAX_OUT 1024u
#define AR_PBKDF_7X 0x00000080u /* 7.x ALLOW_PBKDF (spec §3.1) */

/* The secret value of an HMAC key object named by tag (IKM / password). */
static uint16_t kdf_key(sesim_req *r, uint8_t tag, uint32_t ar, sesim_obj *o)
{
    uint32_t id;
    sesim_obj_init(o);
    if (arg_u32(r, tag, &id) != SE05X_SW_OK)
        return SE05X_SW_WRONG_DATA;
    if (sesim_store_load(r->sim, id, o) != SE05X_OK) {
        sesim_obj_init(o);
        return SE05X_SW_CONDITIONS;
    }
    if (o->type != SESIM_T_HMAC || !o->comp[SESIM_C_VALUE].v)
        return SE05X_SW_CONDITIONS;
    return sesim_policy_check(r, o, ar);
}

static uint16_t kdf_run(const char *kdf, OSSL_PARAM *params, uint8_t *out, size_t len)
{
    EVP_KDF *k = EVP_KDF_fetch(NULL, kdf, NULL);
    EVP_KDF_CTX *ctx = k ? EVP_KDF_CTX_new(k) : NULL;
    uint16_t sw = ctx && EVP_KDF_derive(ctx, out, len, params) == 1 ? SE05X_SW_OK
                                                                   : SE05X_SW_WRONG_DATA;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(k);
    return sw;
}

static uint16_t h_hkdf(sesim_req *r)
{
    bool expand_only = r->apdu->p2 == 0x2F;
    const se05x_tlv_item *salt = arg(r, SE05X_TAG_3), *info = arg(r, SE05X_TAG_4);
    const se05x_tlv_item *t6 = arg(r, SE05X_TAG_6), *t7 = arg(r, SE05X_TAG_7);
    uint8_t mode;
    uint16_t L;
    uint32_t salt_id = 0, out_id = 0;
    sesim_obj ikm, so;
    sesim_obj_init(&so);
    if (arg_u8(r, SE05X_TAG_2, &mode) != SE05X_SW_OK || !digest_name(mode) ||
        se05x_tlv_get_u16(arg(r, SE05X_TAG_5), &L) != SE05X_OK || L == 0 ||
        L > KDF_MAX_OUT || (t6->present && arg_u32(r, SE05X_TAG_6, &salt_id) != SE05X_SW_OK) ||
        (t7->present && arg_u32(r, SE05X_TAG_7, &out_id) != SE05X_SW_OK) ||
        (salt->present && t6->present) || (expand_only && (salt->present || t6->present)))
        return SE05X_SW_WRONG_DATA;
    uint16_t sw = kdf_key(r, SE05X_TAG_1, SESIM_AR_KDF, &ikm);
    const uint8_t *sv = salt->present ? salt->val : NULL;
    size_t sl = salt->present ? salt->len : 0;
    if (sw == SE05X_SW_OK && t6->present) {
        if (sesim_store_load(r->sim, salt_id, &so) != SE05X_OK || !so.comp[SESIM_C_VALUE].v) {
            sesim_obj_free(&so);
            sesim_obj_init(&so);
            sw = SE05X_SW_CONDITIONS;
        } else {
            sv = so.comp[SESIM_C_VALUE].v;
            sl = so.comp[SESIM_C_VALUE].len;
        }
    }
    uint8_t *out = OPENSSL_secure_zalloc(KDF_MAX_OUT);
    if (sw == SE05X_SW_OK && !out)
        sw = SE05X_SW_NO_DIAGNOSIS;
    if (sw == SE05X_SW_OK) {
        int m = expand_only ? EVP_KDF_HKDF_MODE_EXPAND_ONLY : EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
        OSSL_PARAM p[6], *q = p;
        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                (char *)digest_name(mode), 0);
        *q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &m);
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm.comp[SESIM_C_VALUE].v,
                                                 ikm.comp[SESIM_C_VALUE].len);
        if (sl)
            *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)sv, sl);
        if (info->present && info->len)
            *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info->val,
                                                     info->len);
        *q = OSSL_PARAM_construct_end();
        sw = kdf_run("HKDF", p, out, L);
    }
    if (sw == SE05X_SW_OK)
        sw = t7->present ? store_secret(r, out_id, out, L) : reply(r, SE05X_TAG_1, out, L);
    OPENSSL_secure_clear_free(out, KDF_MAX_OUT);
    sesim_obj_free(&so);
    sesim_obj_free(&ikm);
    return sw;
}

/* PBKDF2 with HMAC-SHA1 as PRF (the applet's PBKDF2, RFC 8018). */
static uint16_t h_pbkdf2(sesim_req *r)
{
    const se05x_tlv_item *salt = arg(r, SE05X_TAG_2);
    uint16_t iter, len;
    sesim_obj pw;
    if (se05x_tlv_get_u16(arg(r, SE05X_TAG_3), &iter) != SE05X_OK || iter == 0 ||
        se05x_tlv_get_u16(arg(r, SE05X_TAG_4), &len) != SE05X_OK || len == 0 ||
        len > KDF_MAX_OUT)
        return SE05X_SW_WRONG_DATA;
    uint32_t ar = r->sim->opts.applet_major == 3 ? SESIM_AR_KDF : AR_PBKDF_7X;
    uint16_t sw = kdf_key(r, SE05X_TAG_1, ar, &pw);
    uint8_t *out = sw == SE05X_SW_OK ? OPENSSL_secure_zalloc(len) : NULL;
    if (sw == SE05X_SW_OK && !out)
        sw = SE05X_SW_NO_DIAGNOSIS;
    if (sw == SE05X_SW_OK) {
        unsigned int it = iter;
        int pkcs5 = 1; /* 1 = no SP 800-132 limits (short salts / outputs allowed) */
        OSSL_PARAM p[6], *q = p;
        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA1", 0);
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                                 pw.comp[SESIM_C_VALUE].v,
                                                 pw.comp[SESIM_C_VALUE].len);
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                 salt->present ? (void *)salt->val : (void *)"",
                                                 salt->present ? salt->len : 0);
        *q++ = OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &it);
        *q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5);
        *q = OSSL_PARAM_construct_end();
        sw = kdf_run("PBKDF2", p, out, len);
    }
    if (sw == SE05X_SW_OK)
        sw = reply(r, SE05X_TAG_1, out, len);
    if (out)
        OPENSSL_secure_clear_free(out, len);
    sesim_obj_free(&pw);
    return sw;
}

/* ---- crypto objects: multi-step digest / cipher / MAC (spec §2.5, §2.7) ---- */

enum { COBJ_DIGEST = 0x01, COBJ_CIPHER = 0x02, COBJ_MAC = 0x03 };

typedef struct {
    EVP_MD_CTX *md;
    EVP_CIPHER_CTX *cipher;
    EVP_MAC_CTX *mac;
    bool started;  /* Init done, Final not yet */
    bool mac_gen;  /* MAC: generate (else validate) */
} cobj_state;

static void cobj_state_free(void *p)
{
    cobj_state *st = p;
    if (!st)
        return;
    EVP_MD_CTX_free(st->md);
    EVP_CIPHER_CTX_free(st->cipher); /* cleanses the key schedule */
    EVP_MAC_CTX_free(st->mac);
    OPENSSL_free(st);
}

static void cobj_reset(cobj_state *st)
{
    EVP_MD_CTX_free(st->md);
    EVP_CIPHER_CTX_free(st->cipher);
    EVP_MAC_CTX_free(st->mac);
    memset(st, 0, sizeof(*st));
}

static sesim_crypto_obj *cobj_find(sesim_chan *ch, uint16_t id)
{
    for (int i = 0; i < SESIM_MAX_CRYPTO_OBJS; i++)
        if (ch->cobj[i].used && ch->cobj[i].id == id)
            return &ch->cobj[i];
    return NULL;
}

static bool cobj_subtype_ok(uint8_t context, uint8_t sub)
{
    switch (context) {
    case COBJ_DIGEST:
        return digest_name(sub) != NULL;
    case COBJ_CIPHER: /* multi-step: block modes without padding, CTR */
        return find_cipher_mode(sub) && find_cipher_mode(sub)->pad == PAD_NONE;
    case COBJ_MAC:
        return find_mac(sub) != NULL;
    default:
        return false;
    }
}

/* The crypto object named by the 2-byte id in tag, of the given context. */
static uint16_t cobj_get(sesim_req *r, uint8_t tag, uint8_t context, sesim_crypto_obj **out)
{
    uint16_t id;
    if (se05x_tlv_get_u16(arg(r, tag), &id) != SE05X_OK)
        return SE05X_SW_WRONG_DATA;
    *out = cobj_find(r->ch, id);
    if (!*out || (*out)->context != context)
        return SE05X_SW_CONDITIONS;
    return SE05X_SW_OK;
}

static uint16_t h_cobj_create(sesim_req *r)
{
    uint16_t id;
    uint8_t context, sub;
    if (se05x_tlv_get_u16(arg(r, SE05X_TAG_1), &id) != SE05X_OK ||
        arg_u8(r, SE05X_TAG_2, &context) != SE05X_SW_OK ||
        arg_u8(r, SE05X_TAG_3, &sub) != SE05X_SW_OK || !cobj_subtype_ok(context, sub))
        return SE05X_SW_WRONG_DATA;
    if (cobj_find(r->ch, id))
        return SE05X_SW_CONDITIONS;
    for (int i = 0; i < SESIM_MAX_CRYPTO_OBJS; i++) {
        sesim_crypto_obj *c = &r->ch->cobj[i];
        if (c->used)
            continue;
        cobj_state *st = OPENSSL_zalloc(sizeof(*st));
        if (!st)
            return SE05X_SW_NO_MEMORY;
        c->used = true;
        c->id = id;
        c->context = context;
        c->subtype = sub;
        c->state = st;
        c->free_state = cobj_state_free;
        return SE05X_SW_OK;
    }
    return SE05X_SW_NO_MEMORY;
}

static uint16_t h_cobj_list(sesim_req *r)
{
    uint8_t buf[4 * SESIM_MAX_CRYPTO_OBJS];
    size_t n = 0;
    for (int i = 0; i < SESIM_MAX_CRYPTO_OBJS; i++) {
        const sesim_crypto_obj *c = &r->ch->cobj[i];
        if (!c->used)
            continue;
        se05x_put_u16(buf + n, c->id);
        buf[n + 2] = c->context;
        buf[n + 3] = c->subtype;
        n += 4;
    }
    return reply(r, SE05X_TAG_1, buf, n);
}

static uint16_t h_cobj_delete(sesim_req *r)
{
    uint16_t id;
    if (se05x_tlv_get_u16(arg(r, SE05X_TAG_1), &id) != SE05X_OK)
        return SE05X_SW_WRONG_DATA;
    sesim_crypto_obj *c = cobj_find(r->ch, id);
    if (!c)
        return SE05X_SW_CONDITIONS;
    if (c->free_state)
        c->free_state(c->state);
    memset(c, 0, sizeof(*c));
    return SE05X_SW_OK;
}

/* Digest: Init (80 03 00 0B), Update (0C), Final (0D). */
static uint16_t h_digest_multi(sesim_req *r)
{
    sesim_crypto_obj *c;
    const se05x_tlv_item *d = arg(r, SE05X_TAG_3);
    uint16_t sw = cobj_get(r, SE05X_TAG_2, COBJ_DIGEST, &c);
    if (sw != SE05X_SW_OK)
        return sw;
    cobj_state *st = c->state;
    uint8_t p2 = r->apdu->p2;
    if (p2 == 0x0B) {
        cobj_reset(st);
        EVP_MD *md = EVP_MD_fetch(NULL, digest_name(c->subtype), NULL);
        st->md = EVP_MD_CTX_new();
        st->started = md && st->md && EVP_DigestInit_ex2(st->md, md, NULL) == 1;
        EVP_MD_free(md);
        return st->started ? SE05X_SW_OK : SE05X_SW_NO_DIAGNOSIS;
    }
    if (!st->started)
        return SE05X_SW_CONDITIONS;
    if (p2 == 0x0C && !d->present)
        return SE05X_SW_WRONG_DATA;
    if (d->present && EVP_DigestUpdate(st->md, d->val, d->len) != 1)
        return SE05X_SW_NO_DIAGNOSIS;
    if (p2 == 0x0C)
        return SE05X_SW_OK;
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    st->started = false;
    if (EVP_DigestFinal_ex(st->md, h, &hl) != 1)
        return SE05X_SW_NO_DIAGNOSIS;
    return reply(r, SE05X_TAG_1, h, hl);
}

/* Cipher: Init (80 03 0E 42 enc / 43 dec) with TAG_1 key, TAG_2 object, TAG_4 IV. */
static uint16_t h_cipher_init(sesim_req *r)
{
    bool enc = r->apdu->p2 == 0x42, internal_iv = false;
    sesim_crypto_obj *c;
    sesim_obj o;
    uint8_t key[32], iv[16];
    uint16_t sw = cobj_get(r, SE05X_TAG_2, COBJ_CIPHER, &c);
    if (sw != SE05X_SW_OK)
        return sw;
    cobj_state *st = c->state;
    const cipher_mode *cm = find_cipher_mode(c->subtype);
    cobj_reset(st);
    sw = load_key(r, &o);
    if (sw == SE05X_SW_OK && o.type != (cm->aes ? SESIM_T_AES : SESIM_T_DES))
        sw = SE05X_SW_CONDITIONS;
    if (sw == SE05X_SW_OK)
        sw = sesim_policy_check(r, &o, enc ? SESIM_AR_ENC : SESIM_AR_DEC);
    if (sw == SE05X_SW_OK)
        sw = cipher_iv(r, cm, enc, cm->aes ? 16 : 8, iv, &internal_iv);
    EVP_CIPHER *ci = sw == SE05X_SW_OK ? fetch_cipher(cm, &o, key) : NULL;
    if (sw == SE05X_SW_OK && !ci)
        sw = SE05X_SW_CONDITIONS;
    if (sw == SE05X_SW_OK) {
        st->cipher = EVP_CIPHER_CTX_new();
        st->started = st->cipher &&
                      EVP_CipherInit_ex2(st->cipher, ci, key, iv, enc ? 1 : 0, NULL) == 1 &&
                      EVP_CIPHER_CTX_set_padding(st->cipher, 0) == 1;
        sw = st->started ? SE05X_SW_OK : SE05X_SW_NO_DIAGNOSIS;
    }
    if (sw == SE05X_SW_OK && internal_iv)
        sw = reply(r, SE05X_TAG_3, iv, 16);
    OPENSSL_cleanse(key, sizeof(key));
    EVP_CIPHER_free(ci);
    sesim_obj_free(&o);
    return sw;
}

/* Cipher: Update (80 03 0E 0C) and Final (0D), TAG_2 object, TAG_3 data. */
static uint16_t h_cipher_step(sesim_req *r)
{
    bool final = r->apdu->p2 == 0x0D;
    sesim_crypto_obj *c;
    const se05x_tlv_item *d = arg(r, SE05X_TAG_3);
    uint16_t sw = cobj_get(r, SE05X_TAG_2, COBJ_CIPHER, &c);
    if (sw != SE05X_SW_OK)
        return sw;
    cobj_state *st = c->state;
    if (!st->started)
        return SE05X_SW_CONDITIONS;
    if (!final && !d->present)
        return SE05X_SW_WRONG_DATA;
    size_t cap = (d->present ? d->len : 0) + 32;
    uint8_t *out = OPENSSL_secure_zalloc(cap);
    int l1 = 0, l2 = 0;
    sw = out ? SE05X_SW_OK : SE05X_SW_NO_DIAGNOSIS;
    if (sw == SE05X_SW_OK && d->present && d->len &&
        EVP_CipherUpdate(st->cipher, out, &l1, d->val, (int)d->len) != 1)
        sw = SE05X_SW_WRONG_DATA;
    if (sw == SE05X_SW_OK && final) {
        st->started = false;
        if (EVP_CipherFinal_ex(st->cipher, out + l1, &l2) != 1)
            sw = SE05X_SW_WRONG_DATA; /* total length not a block multiple */
    }
    if (sw == SE05X_SW_OK)
        sw = reply(r, SE05X_TAG_1, out, (size_t)l1 + (size_t)l2);
    OPENSSL_secure_clear_free(out, cap);
    return sw;
}

/* MAC: Init (80 03 0D 03 generate / 44 validate) with TAG_1 key, TAG_2 object. */
static uint16_t h_mac_init(sesim_req *r)
{
    bool gen = r->apdu->p2 == 0x03;
    sesim_crypto_obj *c;
    sesim_obj o;
    uint16_t sw = cobj_get(r, SE05X_TAG_2, COBJ_MAC, &c);
    if (sw != SE05X_SW_OK)
        return sw;
    cobj_state *st = c->state;
    const mac_algo *ma = find_mac(c->subtype);
    cobj_reset(st);
    sw = load_key(r, &o);
    if (sw == SE05X_SW_OK && o.type != ma->key_type)
        sw = SE05X_SW_CONDITIONS;
    if (sw == SE05X_SW_OK)
        sw = sesim_policy_check(r, &o, gen ? SESIM_AR_SIGN : SESIM_AR_VERIFY);
    if (sw == SE05X_SW_OK)
        st->mac = mac_start(ma, &o, &sw);
    st->started = st->mac != NULL;
    st->mac_gen = gen;
    sesim_obj_free(&o);
    return sw;
}

/* MAC: Update (80 03 0D 0C: TAG_1 data, TAG_2 object) and Final (0D: + TAG_3 MAC). */
static uint16_t h_mac_step(sesim_req *r)
{
    bool final = r->apdu->p2 == 0x0D;
    sesim_crypto_obj *c;
    const se05x_tlv_item *d = arg(r, SE05X_TAG_1), *chk = arg(r, SE05X_TAG_3);
    uint16_t sw = cobj_get(r, SE05X_TAG_2, COBJ_MAC, &c);
    if (sw != SE05X_SW_OK)
        return sw;
    cobj_state *st = c->state;
    if (!st->started)
        return SE05X_SW_CONDITIONS;
    if ((!final && !d->present) || (final && !st->mac_gen && !chk->present))
        return SE05X_SW_WRONG_DATA;
    if (d->present && EVP_MAC_update(st->mac, d->val, d->len) != 1)
        return SE05X_SW_NO_DIAGNOSIS;
    if (!final)
        return SE05X_SW_OK;
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    st->started = false;
    if (!mac_finish(st->mac, c->subtype, mac, &maclen))
        return SE05X_SW_NO_DIAGNOSIS;
    sw = mac_reply(r, st->mac_gen, mac, maclen, chk);
    OPENSSL_cleanse(mac, sizeof(mac));
    return sw;
}

/* ---- command table -------------------------------------------------------- */

static const uint8_t TAGS_SIGN[] = {SE05X_TAG_1, SE05X_TAG_2, SE05X_TAG_3, SE05X_TAG_4, 0};
static const uint8_t TAGS_VERIFY[] = {SE05X_TAG_1, SE05X_TAG_2, SE05X_TAG_3, SE05X_TAG_4,
                                      SE05X_TAG_5, 0};
static const uint8_t TAGS_ECDH[] = {SE05X_TAG_1, SE05X_TAG_2, SE05X_TAG_7, 0};
static const uint8_t TAGS_123[] = {SE05X_TAG_1, SE05X_TAG_2, SE05X_TAG_3, 0};
static const uint8_t TAGS_12[] = {SE05X_TAG_1, SE05X_TAG_2, 0};
static const uint8_t TAGS_1234[] = {SE05X_TAG_1, SE05X_TAG_2, SE05X_TAG_3, SE05X_TAG_4, 0};
static const uint8_t TAGS_MAC[] = {SE05X_TAG_1, SE05X_TAG_2, SE05X_TAG_3, SE05X_TAG_5, 0};
static const uint8_t TAGS_NONE[] = {0};
static const uint8_t TAGS_1[] = {SE05X_TAG_1, 0};
static const uint8_t TAGS_23[] = {SE05X_TAG_2, SE05X_TAG_3, 0};
static const uint8_t TAGS_124[] = {SE05X_TAG_1, SE05X_TAG_2, SE05X_TAG_4, 0};
static const uint8_t TAGS_HKDF[] = {SE05X_TAG_1, SE05X_TAG_2, SE05X_TAG_3, SE05X_TAG_4,
                                    SE05X_TAG_5, SE05X_TAG_6, SE05X_TAG_7, 0};

const sesim_cmd sesim_cmds_crypto[] = {
    {0x03, 0xFF, 0x0C, 0xFF, 0x09, TAGS_SIGN, h_sign, "Sign"},
    {0x03, 0xFF, 0x0C, 0xFF, 0x0A, TAGS_VERIFY, h_verify, "Verify"},
    {0x03, 0xFF, 0x01, 0xFF, 0x0F, TAGS_ECDH, h_ecdh, "ECDHGenerateSharedSecret"},
    {0x03, 0xFF, 0x01, 0xFF, 0x59, TAGS_ECDH, h_ecdh, "ECDHGenerateSharedSecretReverse"},
    {0x03, 0xFF, 0x02, 0xFF, 0x37, TAGS_123, h_rsa_enc, "RSAEncrypt"},
    {0x03, 0xFF, 0x02, 0xFF, 0x38, TAGS_123, h_rsa_dec, "RSADecrypt"},
    {0x03, 0xFF, 0x00, 0xFF, 0x0E, TAGS_12, h_digest, "DigestOneShot"},
    {0x03, 0xFF, 0x0E, 0xFF, 0x37, TAGS_1234, h_cipher_oneshot, "CipherOneShotEncrypt"},
    {0x03, 0xFF, 0x0E, 0xFF, 0x38, TAGS_1234, h_cipher_oneshot, "CipherOneShotDecrypt"},
    {0x03, 0xFF, 0x0D, 0xFF, 0x45, TAGS_MAC, h_mac_oneshot, "MACOneShotGenerate"},
    {0x03, 0xFF, 0x0D, 0xFF, 0x46, TAGS_MAC, h_mac_oneshot, "MACOneShotValidate"},
    {0x03, 0xFF, 0x00, 0xFF, 0x2D, TAGS_HKDF, h_hkdf, "HKDF"},
    {0x03, 0xFF, 0x00, 0xFF, 0x2F, TAGS_HKDF, h_hkdf, "HKDFExpandOnly"},
    {0x03, 0xFF, 0x00, 0xFF, 0x2E, TAGS_1234, h_pbkdf2, "PBKDF2"},
    {0x01, 0xFF, 0x10, 0xFF, 0x00, TAGS_123, h_cobj_create, "CreateCryptoObject"},
    {0x02, 0xFF, 0x10, 0xFF, 0x25, TAGS_NONE, h_cobj_list, "ReadCryptoObjectList"},
    {0x04, 0xFF, 0x10, 0xFF, 0x28, TAGS_1, h_cobj_delete, "DeleteCryptoObject"},
    {0x03, 0xFF, 0x00, 0xFF, 0x0B, TAGS_23, h_digest_multi, "DigestInit"},
    {0x03, 0xFF, 0x00, 0xFF, 0x0C, TAGS_23, h_digest_multi, "DigestUpdate"},
    {0x03, 0xFF, 0x00, 0xFF, 0x0D, TAGS_23, h_digest_multi, "DigestFinal"},
    {0x03, 0xFF, 0x0E, 0xFF, 0x42, TAGS_124, h_cipher_init, "CipherInitEncrypt"},
    {0x03, 0xFF, 0x0E, 0xFF, 0x43, TAGS_124, h_cipher_init, "CipherInitDecrypt"},
    {0x03, 0xFF, 0x0E, 0xFF, 0x0C, TAGS_23, h_cipher_step, "CipherUpdate"},
    {0x03, 0xFF, 0x0E, 0xFF, 0x0D, TAGS_23, h_cipher_step, "CipherFinal"},
    {0x03, 0xFF, 0x0D, 0xFF, 0x03, TAGS_12, h_mac_init, "MACInitGenerate"},
    {0x03, 0xFF, 0x0D, 0xFF, 0x44, TAGS_12, h_mac_init, "MACInitValidate"},
    {0x03, 0xFF, 0x0D, 0xFF, 0x0C, TAGS_12, h_mac_step, "MACUpdate"},
    {0x03, 0xFF, 0x0D, 0xFF, 0x0D, TAGS_123, h_mac_step, "MACFinal"},
    {0, 0, 0, 0, 0, NULL, NULL, NULL},
};
