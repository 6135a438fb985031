/* sss se05x backend, key operations: key open (ReadType + at most one more
 * APDU), lazy public key read (EC point / RSA modulus and exponent into an
 * EVP_PKEY), signing in exactly one APDU (ECDSASign over the digest,
 * EdDSASign over the message, RSA as NXP's middleware does it: EMSA-PKCS1-v1_5
 * or EMSA-PSS encoding on the host per RFC 8017 then RSADecrypt without
 * padding), verification on the host with the cached public key (libcrypto;
 * no APDU once the public key is cached), ECDH, RSA encrypt/decrypt, MAC,
 * AES, digest and random one-shots. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "be_se05x.h"

static sss_status mapped(sss_key *k, se05x_status st, const char *what)
{
    return st == SE05X_OK ? SSS_OK : be_se05x_map(k->s, st, k->info.id, what);
}

/* ---- open / public key --------------------------------------------------------- */

sss_status be_se05x_key_open(sss_key *k)
{
    uint8_t code = 0, tr = 0;
    se05x_status st = se05x_read_type(be_conn(k->s), k->info.id, &code, &tr);
    if (st != SE05X_OK)
        return mapped(k, st, "key");
    return be_se05x_describe(k->s, k->info.id, code, tr, &k->info);
}

static sss_status pub_from_params(sss_key *k, OSSL_PARAM_BLD *b, const char *type, EVP_PKEY **pub)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(k->s->libctx, type, NULL);
    int ok = params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, pub, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    ERR_clear_error();
    if (ok)
        return SSS_OK;
    sss_seterr(k->s, "key 0x%08X: the SE returned an unusable public key", k->info.id);
    return SSS_ERR_SE;
}

static sss_status ec_public(sss_key *k, EVP_PKEY **pub)
{
    uint8_t pt[200];
    size_t n = sizeof(pt);
    se05x_status st = se05x_read_object(be_conn(k->s), k->info.id, 0, 0, pt, &n);
    if (st != SE05X_OK)
        return mapped(k, st, "public key");
    uint8_t c = k->info.curve;
    if (c == SSS_CURVE_ED25519 || c == SSS_CURVE_X25519) {
        if (n != 32) {
            sss_seterr(k->s, "key 0x%08X: 25519 public key of %zu bytes", k->info.id, n);
            return SSS_ERR_SE;
        }
        se05x_curve_raw_order(c, false, pt, n);
        *pub = EVP_PKEY_new_raw_public_key_ex(k->s->libctx, c == SSS_CURVE_ED25519 ? "ED25519" : "X25519",
                                              NULL, pt, n);
        return *pub ? SSS_OK : SSS_ERR_SE;
    }
    const char *g = NULL;
    switch (c) {
    case SSS_CURVE_P256: g = "prime256v1"; break;
    case SSS_CURVE_P384: g = "secp384r1"; break;
    case SSS_CURVE_P521: g = "secp521r1"; break;
    default: break;
    }
    if (!g) {
        sss_seterr(k->s, "key 0x%08X: curve 0x%02X not supported for public key export",
                   k->info.id, c);
        return SSS_ERR_UNSUPPORTED;
    }
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    if (!b)
        return SSS_ERR_NOMEM;
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, g, 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, n);
    sss_status r = pub_from_params(k, b, "EC", pub);
    OSSL_PARAM_BLD_free(b);
    return r;
}

static sss_status rsa_public(sss_key *k, EVP_PKEY **pub)
{
    uint8_t n[520], e[16];
    size_t nl = sizeof(n), el = sizeof(e);
    se05x_conn *c = be_conn(k->s);
    se05x_status st = se05x_read_rsa_component(c, k->info.id, SE05X_RSA_COMP_MOD, n, &nl);
    if (st == SE05X_OK)
        st = se05x_read_rsa_component(c, k->info.id, SE05X_RSA_COMP_PUB_EXP, e, &el);
    if (st != SE05X_OK)
        return mapped(k, st, "public key");
    BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    sss_status r = SSS_ERR_NOMEM;
    if (bn && be && b && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be))
        r = pub_from_params(k, b, "RSA", pub);
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    return r;
}

sss_status be_se05x_key_public(sss_key *k, EVP_PKEY **pub)
{
    switch (k->info.type) {
    case SSS_KT_EC_PAIR:
    case SSS_KT_EC_PUB:
        return ec_public(k, pub);
    case SSS_KT_RSA_PAIR:
    case SSS_KT_RSA_PUB:
        return rsa_public(k, pub);
    default:
        sss_seterr(k->s, "key 0x%08X: %s has no public key", k->info.id,
                   sss_key_type_name(k->info.type));
        return SSS_ERR_KEY_TYPE;
    }
}

/* The cached public key (read once). */
static sss_status cached_pub(sss_key *k)
{
    if (k->pub)
        return SSS_OK;
    return be_se05x_key_public(k, &k->pub);
}

/* ---- RSA EMSA encodings (RFC 8017 §9.1.1, §9.2) ----------------------------------- */

/* DER DigestInfo prefixes (RFC 8017 §9.2 note 1). */
static const uint8_t *digest_info(sss_hash h, size_t *len)
{
    static const uint8_t sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                   0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
#define DI_SHA2(name, l1, idx, l2) \
    static const uint8_t name[] = {0x30, l1, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, \
                                   0x65, 0x03, 0x04, 0x02, idx, 0x05, 0x00, 0x04, l2}
    DI_SHA2(sha224, 0x2d, 0x04, 0x1c);
    DI_SHA2(sha256, 0x31, 0x01, 0x20);
    DI_SHA2(sha384, 0x41, 0x02, 0x30);
    DI_SHA2(sha512, 0x51, 0x03, 0x40);
#undef DI_SHA2
    *len = 19;
    switch (h) {
    case SSS_HASH_SHA1: *len = sizeof(sha1); return sha1;
    case SSS_HASH_SHA224: return sha224;
    case SSS_HASH_SHA256: return sha256;
    case SSS_HASH_SHA384: return sha384;
    case SSS_HASH_SHA512: return sha512;
    default: return NULL;
    }
}

/* EMSA-PKCS1-v1_5: 00 01 FF..FF 00 DigestInfo || H, em of kb bytes. */
static sss_status emsa_pkcs1(sss_key *k, sss_hash h, const uint8_t *d, size_t dl, uint8_t *em,
                             size_t kb)
{
    size_t pl = 0;
    const uint8_t *pre = digest_info(h, &pl);
    if (!pre || kb < pl + dl + 11) {
        sss_seterr(k->s, "key 0x%08X: modulus too short for PKCS#1 v1.5 with this hash",
                   k->info.id);
        return SSS_ERR_ARG;
    }
    size_t ps = kb - pl - dl - 3;
    em[0] = 0x00;
    em[1] = 0x01;
    memset(em + 2, 0xFF, ps);
    em[2 + ps] = 0x00;
    memcpy(em + 3 + ps, pre, pl);
    memcpy(em + 3 + ps + pl, d, dl);
    return SSS_OK;
}

/* MGF1 (RFC 8017 B.2.1): mask of mlen bytes XOR-ed into out. */
static bool mgf1_xor(const EVP_MD *md, const uint8_t *seed, size_t sl, uint8_t *out, size_t mlen)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t hl = (size_t)EVP_MD_get_size(md), done = 0;
    bool ok = c != NULL;
    for (uint32_t ctr = 0; ok && done < mlen; ctr++) {
        uint8_t cb[4] = {(uint8_t)(ctr >> 24), (uint8_t)(ctr >> 16), (uint8_t)(ctr >> 8),
                         (uint8_t)ctr};
        uint8_t t[EVP_MAX_MD_SIZE];
        ok = EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, seed, sl) &&
             EVP_DigestUpdate(c, cb, 4) && EVP_DigestFinal_ex(c, t, NULL);
        for (size_t i = 0; ok && i < hl && done < mlen; i++)
            out[done++] ^= t[i];
    }
    EVP_MD_CTX_free(c);
    return ok;
}

/* EMSA-PSS-ENCODE with emBits = modBits - 1; em padded to kb bytes. */
static sss_status emsa_pss(sss_key *k, sss_hash h, int salt_len, const uint8_t *d, size_t dl,
                           uint8_t *em, size_t kb)
{
    size_t hl = dl, sl = salt_len < 0 ? dl : (size_t)salt_len;
    size_t embits = (size_t)k->info.bits - 1, emlen = (embits + 7) / 8;
    if (emlen > kb || emlen < hl + sl + 2) {
        sss_seterr(k->s, "key 0x%08X: PSS salt of %zu bytes does not fit the modulus",
                   k->info.id, sl);
        return SSS_ERR_ARG;
    }
    EVP_MD *md = sss_hash_fetch(k->s, h);
    if (!md) {
        sss_seterr(k->s, "PSS: digest not available");
        return SSS_ERR_CRYPTO;
    }
    memset(em, 0, kb);
    uint8_t *e = em + (kb - emlen); /* leading zero byte when modBits % 8 == 1 */
    size_t dblen = emlen - hl - 1;
    uint8_t *db = e, *hh = e + dblen;
    uint8_t salt[EVP_MAX_MD_SIZE * 8];
    static const uint8_t zeros[8] = {0};
    if (sl > sizeof(salt) || (sl && RAND_bytes_ex(k->s->libctx, salt, sl, 0) != 1)) {
        EVP_MD_free(md);
        return SSS_ERR_CRYPTO;
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, zeros, 8) &&
              EVP_DigestUpdate(c, d, dl) && EVP_DigestUpdate(c, salt, sl) &&
              EVP_DigestFinal_ex(c, hh, NULL);
    EVP_MD_CTX_free(c);
    if (ok) {
        db[dblen - sl - 1] = 0x01; /* PS is zeros */
        memcpy(db + dblen - sl, salt, sl);
        ok = mgf1_xor(md, hh, hl, db, dblen);
        db[0] &= (uint8_t)(0xFFu >> (8 * emlen - embits));
        e[emlen - 1] = 0xBC;
    }
    OPENSSL_cleanse(salt, sizeof(salt));
    EVP_MD_free(md);
    if (!ok) {
        sss_seterr(k->s, "PSS encoding failed");
        return SSS_ERR_CRYPTO;
    }
    return SSS_OK;
}

static sss_status rsa_sign(sss_key *k, const sss_sig_params *p, const uint8_t *d, size_t dl,
                           uint8_t *sig, size_t *siglen)
{
    size_t kb = k->info.size;
    uint8_t em[520], out[520];
    if (kb < 64 || kb > sizeof(em)) {
        sss_seterr(k->s, "key 0x%08X: unexpected RSA modulus size %zu", k->info.id, kb);
        return SSS_ERR_SE;
    }
    if (*siglen < kb) {
        *siglen = kb;
        sss_seterr(k->s, "sign: the signature needs %zu bytes", kb);
        return SSS_ERR_BUFFER;
    }
    sss_status r = p->alg == SSS_SIG_RSA_PKCS1 ? emsa_pkcs1(k, p->hash, d, dl, em, kb)
                                               : emsa_pss(k, p->hash, p->salt_len, d, dl, em, kb);
    if (r != SSS_OK)
        return r;
    size_t ol = sizeof(out);
    se05x_status st = se05x_rsa_decrypt(be_conn(k->s), k->info.id, SE05X_RSAENC_NO_PAD, em, kb,
                                        out, &ol);
    if (st != SE05X_OK)
        return mapped(k, st, "sign");
    if (ol > kb)
        return SSS_ERR_SE;
    memset(sig, 0, kb - ol); /* left-pad to the modulus length */
    memcpy(sig + kb - ol, out, ol);
    *siglen = kb;
    return SSS_OK;
}

/* ---- sign / verify -------------------------------------------------------------------- */

static uint8_t ecdsa_algo(sss_hash h)
{
    switch (h) {
    case SSS_HASH_SHA1: return SE05X_ECSIGN_SHA1;
    case SSS_HASH_SHA224: return SE05X_ECSIGN_SHA224;
    case SSS_HASH_SHA256: return SE05X_ECSIGN_SHA256;
    case SSS_HASH_SHA384: return SE05X_ECSIGN_SHA384;
    default: return SE05X_ECSIGN_SHA512;
    }
}

sss_status be_se05x_sign(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                         uint8_t *sig, size_t *siglen)
{
    se05x_conn *c = be_conn(k->s);
    switch (p->alg) {
    case SSS_SIG_ECDSA:
        return mapped(k, se05x_ecdsa_sign(c, k->info.id, ecdsa_algo(p->hash), in, inlen, sig,
                                          siglen),
                      "sign");
    case SSS_SIG_EDDSA:
        if (*siglen < 64) {
            *siglen = 64;
            sss_seterr(k->s, "sign: the signature needs 64 bytes");
            return SSS_ERR_BUFFER;
        }
        *siglen = 64;
        return mapped(k, se05x_eddsa_sign(c, k->info.id, in, inlen, sig), "sign");
    default:
        return rsa_sign(k, p, in, inlen, sig, siglen);
    }
}

static bool set_rsa_params(const sss_session *s, EVP_PKEY_CTX *ctx, const sss_sig_params *p)
{
    EVP_MD *md = sss_hash_fetch(s, p->hash);
    bool ok = md != NULL && EVP_PKEY_CTX_set_signature_md(ctx, md) > 0;
    if (ok && p->alg == SSS_SIG_RSA_PKCS1)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
    else if (ok)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, p->salt_len < 0 ? RSA_PSS_SALTLEN_DIGEST
                                                                   : p->salt_len) > 0;
    EVP_MD_free(md);
    return ok;
}

/* Verification on the host with the cached public key (no APDU once cached). */
sss_status be_se05x_verify(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                           const uint8_t *sig, size_t siglen)
{
    sss_status r = cached_pub(k);
    if (r != SSS_OK)
        return r;
    int ok;
    if (p->alg == SSS_SIG_EDDSA) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        ok = m && EVP_DigestVerifyInit_ex(m, NULL, NULL, k->s->libctx, NULL, k->pub, NULL) == 1
                 ? EVP_DigestVerify(m, sig, siglen, in, inlen)
                 : -2;
        EVP_MD_CTX_free(m);
    } else {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(k->s->libctx, k->pub, NULL);
        ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
                     (p->alg == SSS_SIG_ECDSA || set_rsa_params(k->s, ctx, p))
                 ? EVP_PKEY_verify(ctx, sig, siglen, in, inlen)
                 : -2;
        EVP_PKEY_CTX_free(ctx);
    }
    ERR_clear_error();
    if (ok == 1)
        return SSS_OK;
    if (ok == -2) {
        sss_seterr(k->s, "verify: host cryptography failed");
        return SSS_ERR_CRYPTO;
    }
    sss_seterr(k->s, "key 0x%08X: signature does not verify", k->info.id);
    return SSS_ERR_VERIFY;
}

/* ---- ECDH, RSA ------------------------------------------------------------------------- */

sss_status be_se05x_ecdh(sss_key *k, EVP_PKEY *peer, uint8_t *secret, size_t *secretlen)
{
    uint8_t pt[200];
    size_t pl = sizeof(pt);
    bool x25519 = k->info.curve == SSS_CURVE_X25519;
    if (x25519) {
        if (!EVP_PKEY_get_raw_public_key(peer, pt, &pl) || pl != 32)
            return SSS_ERR_FORMAT;
        se05x_curve_raw_order(SE05X_CURVE_X25519, false, pt, pl);
    } else {
        /* uncompressed point whatever the peer's encoding was */
        EVP_PKEY *dup = EVP_PKEY_dup(peer);
        bool ok = dup &&
                  EVP_PKEY_set_utf8_string_param(dup, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                                 "uncompressed") == 1 &&
                  EVP_PKEY_get_octet_string_param(dup, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
                                                  sizeof(pt), &pl) == 1;
        EVP_PKEY_free(dup);
        ERR_clear_error();
        if (!ok) {
            sss_seterr(k->s, "ECDH: cannot encode the peer key");
            return SSS_ERR_CRYPTO;
        }
    }
    se05x_status st = se05x_ecdh(be_conn(k->s), k->info.id, pt, pl, secret, secretlen);
    if (st != SE05X_OK)
        return mapped(k, st, "ECDH");
    if (x25519)
        se05x_curve_raw_order(SE05X_CURVE_X25519, false, secret, *secretlen);
    return SSS_OK;
}

sss_status be_se05x_rsa_crypt(sss_key *k, bool encrypt, sss_rsa_pad pad, const uint8_t *in,
                              size_t inlen, uint8_t *out, size_t *outlen)
{
    uint8_t algo = pad == SSS_RSA_PAD_PKCS1   ? SE05X_RSAENC_PKCS1
                   : pad == SSS_RSA_PAD_OAEP_SHA1 ? SE05X_RSAENC_OAEP
                                                  : SE05X_RSAENC_NO_PAD;
    se05x_conn *c = be_conn(k->s);
    se05x_status st = encrypt ? se05x_rsa_encrypt(c, k->info.id, algo, in, inlen, out, outlen)
                              : se05x_rsa_decrypt(c, k->info.id, algo, in, inlen, out, outlen);
    return mapped(k, st, encrypt ? "RSA encrypt" : "RSA decrypt");
}

/* ---- symmetric, digest, random -------------------------------------------------------- */

sss_status be_se05x_mac(sss_key *k, sss_mac_alg alg, const uint8_t *data, size_t len,
                        uint8_t *mac, size_t *maclen)
{
    static const uint8_t algo[] = {0, SE05X_MAC_HMAC_SHA1, SE05X_MAC_HMAC_SHA256,
                                   SE05X_MAC_HMAC_SHA384, SE05X_MAC_HMAC_SHA512,
                                   SE05X_MAC_CMAC_128};
    return mapped(k, se05x_mac_oneshot(be_conn(k->s), k->info.id, algo[alg], data, len, mac,
                                       maclen),
                  "MAC");
}

sss_status be_se05x_aes(sss_key *k, sss_aes_mode mode, bool encrypt, const uint8_t *iv,
                        size_t ivlen, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
    uint8_t m = mode == SSS_AES_ECB   ? SE05X_CIPHER_AES_ECB_NOPAD
                : mode == SSS_AES_CBC ? SE05X_CIPHER_AES_CBC_NOPAD
                                      : SE05X_CIPHER_AES_CTR;
    return mapped(k, se05x_cipher_oneshot(be_conn(k->s), k->info.id, m, encrypt, iv, ivlen, in,
                                          len, out, outlen),
                  "AES");
}

sss_status be_se05x_digest(sss_session *s, sss_hash h, const uint8_t *data, size_t len,
                           uint8_t *out, size_t *outlen)
{
    static const uint8_t mode[] = {0, SE05X_DIGEST_SHA1, SE05X_DIGEST_SHA224, SE05X_DIGEST_SHA256,
                                   SE05X_DIGEST_SHA384, SE05X_DIGEST_SHA512};
    se05x_status st = se05x_digest_oneshot(be_conn(s), mode[h], data, len, out, outlen);
    return st == SE05X_OK ? SSS_OK : be_se05x_map(s, st, 0, "digest");
}

sss_status be_se05x_rng(sss_session *s, uint8_t *out, size_t len)
{
    se05x_status st = se05x_get_random(be_conn(s), out, len);
    return st == SE05X_OK ? SSS_OK : be_se05x_map(s, st, 0, "random");
}
