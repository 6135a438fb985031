/* sss host backend: cryptographic operations on stored objects with
 * libcrypto (EVP): signatures (ECDSA over a digest, RSA PKCS#1 v1.5 / PSS
 * over a digest, Ed25519 over the message), ECDH, RSA encryption (OAEP
 * SHA-1, PKCS#1, raw), HMAC / CMAC, AES ECB/CBC/CTR without padding, digests
 * and random bytes. Every key operation reloads the object from the store,
 * checks the key type (SSS_ERR_KEY_TYPE), then the stored policy for the
 * default user (SSS_ERR_DENIED), like an SE05x would. */
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "be_host.h"
#include "se05x/curves.h"

#define ECDSA_RAW_MAX 64u /* SSS_HASH_NONE: at most a SHA-512-sized input */

static const char *type_name(const hobj *o)
{
    return sss_key_type_name((sss_key_type)o->type);
}

/* Copy a result into the caller's buffer (*cap in: capacity, out: size). */
static sss_status give(sss_session *s, const hobj *o, const uint8_t *res, size_t n, uint8_t *out,
                       size_t *cap)
{
    if (*cap < n) {
        sss_status rc = host_err(s, SSS_ERR_BUFFER,
                                 "key 0x%08X: result needs %zu bytes, buffer %zu", o->id, n, *cap);
        *cap = n;
        return rc;
    }
    memcpy(out, res, n);
    *cap = n;
    return SSS_OK;
}

/* ---- signatures ------------------------------------------------------ */

/* Type, algorithm and input checks of sign/verify. */
static sss_status sig_check(sss_session *s, const hobj *o, const sss_sig_params *p, size_t inlen,
                            bool sign)
{
    bool ok_type = sign ? host_type_has_priv(o->type) : host_type_has_pub(o->type);
    const se05x_curve_info *ci = se05x_curve_info_get(o->curve);
    bool weier = ci && !ci->raw;
    switch (p->alg) {
    case SSS_SIG_ECDSA: ok_type = ok_type && host_type_is_ec(o->type) && weier; break;
    case SSS_SIG_EDDSA:
        ok_type = ok_type && host_type_is_ec(o->type) && o->curve == SSS_CURVE_ED25519;
        break;
    case SSS_SIG_RSA_PKCS1:
    case SSS_SIG_RSA_PSS: ok_type = ok_type && host_type_is_rsa(o->type); break;
    default: return host_err(s, SSS_ERR_ARG, "unknown signature algorithm %d", (int)p->alg);
    }
    if (!ok_type)
        return host_err(s, SSS_ERR_KEY_TYPE, "key 0x%08X (%s) cannot %s with this algorithm",
                        o->id, type_name(o), sign ? "sign" : "verify");
    if (p->alg == SSS_SIG_EDDSA)
        return SSS_OK;
    const EVP_MD *md = sss_hash_md(p->hash);
    if (p->hash != SSS_HASH_NONE && !md)
        return host_err(s, SSS_ERR_ARG, "unknown hash %d", (int)p->hash);
    if (md && inlen != (size_t)EVP_MD_get_size(md))
        return host_err(s, SSS_ERR_ARG, "digest is %zu bytes, %s needs %d", inlen,
                        EVP_MD_get0_name(md), EVP_MD_get_size(md));
    if (!md && p->alg == SSS_SIG_RSA_PSS)
        return host_err(s, SSS_ERR_ARG, "RSA-PSS needs a hash");
    if (!md && (inlen == 0 || (p->alg == SSS_SIG_ECDSA && inlen > ECDSA_RAW_MAX)))
        return host_err(s, SSS_ERR_ARG, "input of %zu bytes cannot be signed", inlen);
    if (p->alg == SSS_SIG_RSA_PSS) {
        size_t em = ((size_t)o->bits - 1u + 7u) / 8u;
        size_t salt = p->salt_len < 0 ? inlen : (size_t)p->salt_len;
        if (p->salt_len < -1 || salt + inlen + 2u > em)
            return host_err(s, SSS_ERR_ARG, "PSS salt length %d invalid for RSA-%u", p->salt_len,
                            o->bits);
    }
    return SSS_OK;
}

static bool set_sig_params(EVP_PKEY_CTX *c, const sss_sig_params *p)
{
    const EVP_MD *md = sss_hash_md(p->hash);
    if (p->alg == SSS_SIG_RSA_PKCS1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0)
        return false;
    if (p->alg == SSS_SIG_RSA_PSS) {
        int salt = p->salt_len < 0 ? EVP_MD_get_size(md) : p->salt_len;
        if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_signature_md(c, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(c, salt) <= 0)
            return false;
    }
    return !md || EVP_PKEY_CTX_set_signature_md(c, md) > 0;
}

/* Load the key behind k and run the checks; on success *pkey is set. */
static sss_status sig_prologue(sss_key *k, const sss_sig_params *p, size_t inlen, bool sign,
                               hobj *o, EVP_PKEY **pkey)
{
    sss_session *s = k->s;
    sss_status rc = host_obj_load(s, k->info.id, o);
    if (rc != SSS_OK)
        return rc;
    rc = sig_check(s, o, p, inlen, sign);
    if (rc == SSS_OK)
        rc = host_policy_check(s, o, sign ? SE05X_AR_SIGN : SE05X_AR_VERIFY,
                               sign ? "signing" : "verification");
    if (rc == SSS_OK)
        rc = host_obj_pkey(s, o, pkey);
    if (rc != SSS_OK)
        host_obj_free(o);
    return rc;
}

static bool eddsa_sign(EVP_PKEY *pkey, const uint8_t *in, size_t inlen, uint8_t *sig, size_t *n)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestSignInit(c, NULL, NULL, NULL, pkey) == 1 &&
              EVP_DigestSign(c, sig, n, in, inlen) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

static bool pkey_sign(EVP_PKEY *pkey, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                      uint8_t *sig, size_t *n)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);
    bool ok = c && EVP_PKEY_sign_init(c) == 1 && set_sig_params(c, p) &&
              EVP_PKEY_sign(c, sig, n, in, inlen) == 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

sss_status host_sign(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                     uint8_t *sig, size_t *siglen)
{
    hobj o;
    EVP_PKEY *pkey = NULL;
    sss_status rc = sig_prologue(k, p, inlen, true, &o, &pkey);
    if (rc != SSS_OK)
        return rc;
    size_t max = (size_t)EVP_PKEY_get_size(pkey), n = max;
    uint8_t *tmp = malloc(max ? max : 1);
    bool ok = tmp && (p->alg == SSS_SIG_EDDSA ? eddsa_sign(pkey, in, inlen, tmp, &n)
                                              : pkey_sign(pkey, p, in, inlen, tmp, &n));
    if (!ok)
        rc = host_err(k->s, tmp ? SSS_ERR_CRYPTO : SSS_ERR_NOMEM, "key 0x%08X: signing failed",
                      o.id);
    else
        rc = give(k->s, &o, tmp, n, sig, siglen);
    free(tmp);
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    host_obj_free(&o);
    return rc;
}

/* 1 valid, 0 invalid, -1 setup failure. */
static int do_verify(EVP_PKEY *pkey, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                     const uint8_t *sig, size_t siglen)
{
    int r = -1;
    if (p->alg == SSS_SIG_EDDSA) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, pkey) == 1)
            r = EVP_DigestVerify(c, sig, siglen, in, inlen) == 1;
        EVP_MD_CTX_free(c);
    } else {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);
        if (c && EVP_PKEY_verify_init(c) == 1 && set_sig_params(c, p))
            r = EVP_PKEY_verify(c, sig, siglen, in, inlen) == 1;
        EVP_PKEY_CTX_free(c);
    }
    return r;
}

sss_status host_verify(sss_key *k, const sss_sig_params *p, const uint8_t *in, size_t inlen,
                       const uint8_t *sig, size_t siglen)
{
    hobj o;
    EVP_PKEY *pkey = NULL;
    sss_status rc = sig_prologue(k, p, inlen, false, &o, &pkey);
    if (rc != SSS_OK)
        return rc;
    int r = do_verify(pkey, p, in, inlen, sig, siglen);
    if (r < 0)
        rc = host_err(k->s, SSS_ERR_CRYPTO, "key 0x%08X: cannot set up verification", o.id);
    else if (r == 0)
        rc = host_err(k->s, SSS_ERR_VERIFY, "key 0x%08X: signature does not verify", o.id);
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    host_obj_free(&o);
    return rc;
}

/* ---- ECDH ------------------------------------------------------------ */

static sss_status derive(sss_session *s, const hobj *o, EVP_PKEY *pkey, EVP_PKEY *peer,
                         uint8_t *secret, size_t *secretlen)
{
    uint8_t tmp[128];
    size_t n = sizeof(tmp);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);
    sss_status rc = SSS_OK;
    if (!c || EVP_PKEY_derive_init(c) != 1)
        rc = host_err(s, SSS_ERR_CRYPTO, "key 0x%08X: cannot set up ECDH", o->id);
    else if (EVP_PKEY_derive_set_peer_ex(c, peer, 1) != 1)
        rc = host_err(s, SSS_ERR_ARG, "key 0x%08X: invalid peer public key", o->id);
    else if (EVP_PKEY_derive(c, tmp, &n) != 1)
        rc = host_err(s, SSS_ERR_CRYPTO, "key 0x%08X: ECDH failed", o->id);
    else
        rc = give(s, o, tmp, n, secret, secretlen);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    EVP_PKEY_CTX_free(c);
    ERR_clear_error();
    return rc;
}

sss_status host_ecdh(sss_key *k, EVP_PKEY *peer, uint8_t *secret, size_t *secretlen)
{
    sss_session *s = k->s;
    hobj o;
    EVP_PKEY *pkey = NULL;
    sss_status rc = host_obj_load(s, k->info.id, &o);
    if (rc != SSS_OK)
        return rc;
    if (!host_type_is_ec(o.type) || !host_type_has_priv(o.type) || o.curve == SSS_CURVE_ED25519)
        rc = host_err(s, SSS_ERR_KEY_TYPE, "key 0x%08X (%s) cannot do key agreement", o.id,
                      type_name(&o));
    if (rc == SSS_OK)
        rc = host_policy_check(s, &o, SE05X_AR_KA, "key agreement");
    if (rc == SSS_OK && (!peer || host_pkey_curve(peer) != o.curve))
        rc = host_err(s, SSS_ERR_ARG, "key 0x%08X: peer public key is not on the key's curve",
                      o.id);
    if (rc == SSS_OK)
        rc = host_obj_pkey(s, &o, &pkey);
    if (rc == SSS_OK)
        rc = derive(s, &o, pkey, peer, secret, secretlen);
    EVP_PKEY_free(pkey);
    host_obj_free(&o);
    return rc;
}

/* ---- RSA encryption -------------------------------------------------- */

static sss_status rsa_len_check(sss_session *s, const hobj *o, bool encrypt, sss_rsa_pad pad,
                                size_t inlen, size_t n)
{
    if (!encrypt || pad == SSS_RSA_PAD_NONE) {
        if (inlen != n)
            return host_err(s, SSS_ERR_ARG, "key 0x%08X: input must be %zu bytes, got %zu", o->id,
                            n, inlen);
        return SSS_OK;
    }
    size_t over = pad == SSS_RSA_PAD_PKCS1 ? 11u : 42u; /* OAEP SHA-1: 2 * 20 + 2 */
    if (inlen + over > n)
        return host_err(s, SSS_ERR_BUFFER, "key 0x%08X: input of %zu bytes too large (max %zu)",
                        o->id, inlen, n > over ? n - over : 0);
    return SSS_OK;
}

static bool set_rsa_pad(EVP_PKEY_CTX *c, sss_rsa_pad pad, bool encrypt)
{
    int p = pad == SSS_RSA_PAD_PKCS1 ? RSA_PKCS1_PADDING
            : pad == SSS_RSA_PAD_OAEP_SHA1 ? RSA_PKCS1_OAEP_PADDING
                                           : RSA_NO_PADDING;
    if (EVP_PKEY_CTX_set_rsa_padding(c, p) <= 0)
        return false;
    if (pad == SSS_RSA_PAD_OAEP_SHA1 && (EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha1()) <= 0 ||
                                         EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha1()) <= 0))
        return false;
#ifdef OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION
    /* A bad PKCS#1 padding is an error, as on the SE, not a random result. */
    if (!encrypt && pad == SSS_RSA_PAD_PKCS1) {
        unsigned int off = 0;
        OSSL_PARAM prm[] = {
            OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION, &off),
            OSSL_PARAM_construct_end()};
        if (EVP_PKEY_CTX_set_params(c, prm) != 1)
            return false;
    }
#else
    (void)encrypt;
#endif
    return true;
}

static sss_status rsa_run(sss_session *s, const hobj *o, EVP_PKEY *pkey, bool encrypt,
                          sss_rsa_pad pad, const uint8_t *in, size_t inlen, uint8_t *out,
                          size_t *outlen)
{
    size_t cap = (size_t)EVP_PKEY_get_size(pkey), n = cap;
    uint8_t *tmp = malloc(cap);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);
    sss_status rc = SSS_OK;
    if (!tmp || !c)
        rc = host_err(s, SSS_ERR_NOMEM, "out of memory");
    else if ((encrypt ? EVP_PKEY_encrypt_init(c) : EVP_PKEY_decrypt_init(c)) != 1 ||
             !set_rsa_pad(c, pad, encrypt))
        rc = host_err(s, SSS_ERR_CRYPTO, "key 0x%08X: cannot set up RSA", o->id);
    else if ((encrypt ? EVP_PKEY_encrypt(c, tmp, &n, in, inlen)
                      : EVP_PKEY_decrypt(c, tmp, &n, in, inlen)) != 1)
        rc = host_err(s, SSS_ERR_CRYPTO, "key 0x%08X: RSA %s failed%s", o->id,
                      encrypt ? "encryption" : "decryption",
                      encrypt ? " (input out of range)" : " (bad padding or wrong key)");
    else
        rc = give(s, o, tmp, n, out, outlen);
    if (tmp) {
        OPENSSL_cleanse(tmp, cap);
        free(tmp);
    }
    EVP_PKEY_CTX_free(c);
    ERR_clear_error();
    return rc;
}

sss_status host_rsa_crypt(sss_key *k, bool encrypt, sss_rsa_pad pad, const uint8_t *in,
                          size_t inlen, uint8_t *out, size_t *outlen)
{
    sss_session *s = k->s;
    hobj o;
    EVP_PKEY *pkey = NULL;
    sss_status rc = host_obj_load(s, k->info.id, &o);
    if (rc != SSS_OK)
        return rc;
    bool type_ok = host_type_is_rsa(o.type) &&
                   (encrypt ? host_type_has_pub(o.type) : host_type_has_priv(o.type));
    if (!type_ok)
        rc = host_err(s, SSS_ERR_KEY_TYPE, "key 0x%08X (%s) cannot RSA-%s", o.id, type_name(&o),
                      encrypt ? "encrypt" : "decrypt");
    else if (pad != SSS_RSA_PAD_PKCS1 && pad != SSS_RSA_PAD_OAEP_SHA1 && pad != SSS_RSA_PAD_NONE)
        rc = host_err(s, SSS_ERR_ARG, "unknown RSA padding %d", (int)pad);
    if (rc == SSS_OK)
        rc = host_policy_check(s, &o, encrypt ? SE05X_AR_ENC : SE05X_AR_DEC,
                               encrypt ? "encryption" : "decryption");
    if (rc == SSS_OK)
        rc = host_obj_pkey(s, &o, &pkey);
    if (rc == SSS_OK)
        rc = rsa_len_check(s, &o, encrypt, pad, inlen, (size_t)EVP_PKEY_get_size(pkey));
    if (rc == SSS_OK)
        rc = rsa_run(s, &o, pkey, encrypt, pad, in, inlen, out, outlen);
    EVP_PKEY_free(pkey);
    host_obj_free(&o);
    return rc;
}

/* ---- MAC ------------------------------------------------------------- */

static const char *aes_cbc_name(size_t keylen)
{
    return keylen == 16 ? "AES-128-CBC" : keylen == 24 ? "AES-192-CBC" : "AES-256-CBC";
}

static bool mac_run(const hobj *o, sss_mac_alg alg, const uint8_t *data, size_t len, uint8_t *mac,
                    size_t *n)
{
    bool cmac = alg == SSS_MAC_CMAC_AES;
    const char *md = alg == SSS_MAC_HMAC_SHA1     ? "SHA1"
                     : alg == SSS_MAC_HMAC_SHA256 ? "SHA256"
                     : alg == SSS_MAC_HMAC_SHA384 ? "SHA384"
                                                  : "SHA512";
    OSSL_PARAM prm[] = {
        cmac ? OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
                                                (char *)aes_cbc_name(o->matlen), 0)
             : OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0),
        OSSL_PARAM_construct_end()};
    EVP_MAC *m = EVP_MAC_fetch(NULL, cmac ? "CMAC" : "HMAC", NULL);
    EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
    bool ok = c && EVP_MAC_init(c, o->mat, o->matlen, prm) == 1 &&
              EVP_MAC_update(c, data, len) == 1 && EVP_MAC_final(c, mac, n, EVP_MAX_MD_SIZE) == 1;
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
    return ok;
}

static bool aes_len_ok(size_t n)
{
    return n == 16 || n == 24 || n == 32;
}

static sss_status corrupt(sss_session *s, const hobj *o)
{
    char path[4200];
    host_obj_path(host_store(s), o->id, path, sizeof(path));
    return host_err(s, SSS_ERR_FORMAT, "%s: corrupt object file (bad key length)", path);
}

sss_status host_mac(sss_key *k, sss_mac_alg alg, const uint8_t *data, size_t len, uint8_t *mac,
                    size_t *maclen)
{
    sss_session *s = k->s;
    hobj o;
    sss_status rc = host_obj_load(s, k->info.id, &o);
    if (rc != SSS_OK)
        return rc;
    uint8_t tmp[EVP_MAX_MD_SIZE];
    size_t n = 0;
    if (alg < SSS_MAC_HMAC_SHA1 || alg > SSS_MAC_CMAC_AES)
        rc = host_err(s, SSS_ERR_ARG, "unknown MAC algorithm %d", (int)alg);
    else if (o.type != (alg == SSS_MAC_CMAC_AES ? SSS_KT_AES : SSS_KT_HMAC))
        rc = host_err(s, SSS_ERR_KEY_TYPE, "key 0x%08X (%s) cannot compute %s", o.id,
                      type_name(&o), alg == SSS_MAC_CMAC_AES ? "a CMAC" : "an HMAC");
    if (rc == SSS_OK)
        rc = host_policy_check(s, &o, SE05X_AR_SIGN, "MAC generation");
    if (rc == SSS_OK && o.type == SSS_KT_AES && !aes_len_ok(o.matlen))
        rc = corrupt(s, &o);
    if (rc == SSS_OK && !mac_run(&o, alg, data, len, tmp, &n))
        rc = host_err(s, SSS_ERR_CRYPTO, "key 0x%08X: MAC computation failed", o.id);
    if (rc == SSS_OK)
        rc = give(s, &o, tmp, n, mac, maclen);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    ERR_clear_error();
    host_obj_free(&o);
    return rc;
}

/* ---- AES ------------------------------------------------------------- */

static sss_status aes_check(sss_session *s, const hobj *o, sss_aes_mode mode, const uint8_t *iv,
                            size_t ivlen, size_t len)
{
    if (o->type != SSS_KT_AES)
        return host_err(s, SSS_ERR_KEY_TYPE, "key 0x%08X (%s) is not an AES key", o->id,
                        type_name(o));
    if (mode != SSS_AES_ECB && mode != SSS_AES_CBC && mode != SSS_AES_CTR)
        return host_err(s, SSS_ERR_ARG, "unknown AES mode %d", (int)mode);
    if (mode != SSS_AES_CTR && len % 16u != 0)
        return host_err(s, SSS_ERR_ARG, "AES %s input must be a multiple of 16 bytes, got %zu",
                        mode == SSS_AES_ECB ? "ECB" : "CBC", len);
    if (mode != SSS_AES_ECB && (!iv || ivlen != 16))
        return host_err(s, SSS_ERR_ARG, "AES %s needs a 16-byte IV",
                        mode == SSS_AES_CBC ? "CBC" : "CTR");
    if (!aes_len_ok(o->matlen))
        return corrupt(s, o);
    return SSS_OK;
}

static bool aes_run(const hobj *o, sss_aes_mode mode, bool encrypt, const uint8_t *iv,
                    const uint8_t *in, size_t len, uint8_t *out)
{
    char name[32];
    snprintf(name, sizeof(name), "AES-%zu-%s", o->matlen * 8u,
             mode == SSS_AES_ECB ? "ECB" : mode == SSS_AES_CBC ? "CBC" : "CTR");
    EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    bool ok = ci && c &&
              EVP_CipherInit_ex2(c, ci, o->mat, mode == SSS_AES_ECB ? NULL : iv, encrypt ? 1 : 0,
                                 NULL) == 1 &&
              EVP_CIPHER_CTX_set_padding(c, 0) == 1;
    /* EVP lengths are int: feed large inputs in chunks. */
    for (size_t off = 0; ok && off < len;) {
        size_t chunk = len - off > (1u << 30) ? (1u << 30) : len - off;
        ok = EVP_CipherUpdate(c, out + off, &n1, in + off, (int)chunk) == 1 && (size_t)n1 == chunk;
        off += chunk;
    }
    ok = ok && EVP_CipherFinal_ex(c, out + len, &n2) == 1 && n2 == 0;
    EVP_CIPHER_CTX_free(c);
    EVP_CIPHER_free(ci);
    return ok;
}

sss_status host_aes(sss_key *k, sss_aes_mode mode, bool encrypt, const uint8_t *iv, size_t ivlen,
                    const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
    sss_session *s = k->s;
    hobj o;
    sss_status rc = host_obj_load(s, k->info.id, &o);
    if (rc != SSS_OK)
        return rc;
    rc = aes_check(s, &o, mode, iv, ivlen, len);
    if (rc == SSS_OK)
        rc = host_policy_check(s, &o, encrypt ? SE05X_AR_ENC : SE05X_AR_DEC,
                               encrypt ? "encryption" : "decryption");
    if (rc == SSS_OK && *outlen < len) {
        rc = host_err(s, SSS_ERR_BUFFER, "key 0x%08X: result needs %zu bytes, buffer %zu", o.id,
                      len, *outlen);
        *outlen = len;
    }
    if (rc == SSS_OK && len && !aes_run(&o, mode, encrypt, iv, in, len, out))
        rc = host_err(s, SSS_ERR_CRYPTO, "key 0x%08X: AES failed", o.id);
    if (rc == SSS_OK)
        *outlen = len;
    ERR_clear_error();
    host_obj_free(&o);
    return rc;
}

/* ---- digest, random -------------------------------------------------- */

sss_status host_digest(sss_session *s, sss_hash h, const uint8_t *data, size_t len, uint8_t *out,
                       size_t *outlen)
{
    const EVP_MD *md = sss_hash_md(h);
    if (!md)
        return host_err(s, SSS_ERR_ARG, "unknown hash %d", (int)h);
    size_t n = (size_t)EVP_MD_get_size(md);
    if (*outlen < n) {
        sss_status rc = host_err(s, SSS_ERR_BUFFER, "%s digest needs %zu bytes, buffer %zu",
                                 EVP_MD_get0_name(md), n, *outlen);
        *outlen = n;
        return rc;
    }
    unsigned int got = 0;
    if (EVP_Digest(data, len, out, &got, md, NULL) != 1) {
        ERR_clear_error();
        return host_err(s, SSS_ERR_CRYPTO, "digest failed");
    }
    *outlen = got;
    return SSS_OK;
}

sss_status host_rng(sss_session *s, uint8_t *out, size_t len)
{
    while (len) {
        int chunk = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(out, chunk) != 1) {
            ERR_clear_error();
            return host_err(s, SSS_ERR_CRYPTO, "random generator failed");
        }
        out += chunk;
        len -= (size_t)chunk;
    }
    return SSS_OK;
}
