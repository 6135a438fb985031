/* Public part of an SE key whose object policy forbids reading it (no
 * ALLOW_READ: ReadObject answers 6986). The key still loads; its public key
 * is then taken from a certificate held in the SE -- the binary object at
 * id+1 first (EdgeLock 2GO's convention: key at id, certificate at id+1),
 * then every other binary object holding a certificate -- and only when a
 * fresh signature made by the SE key over a random digest verifies under
 * the certificate's key (proof, never assumption). keymgmt `match` against
 * a foreign public key falls back to the same proof, and a proven key
 * becomes the SE key's public part. X25519 keys cannot sign, so they are
 * never searched for. Everything here runs only for keys whose public part
 * the SE refused: normal keys never get here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "prov.h"

#define PROOF_DIGEST_LEN 32 /* random "SHA-256 digest" signed by the SE */

/* One signature made by the SE key over a random digest, made at most once
 * per search and checked against every candidate public key. */
typedef struct {
    bool tried, ok;
    sss_status status; /* of the signature */
    sss_sig_params sp;
    uint8_t tbs[PROOF_DIGEST_LEN];
    uint8_t sig[1024]; /* RSA-4096: 512 bytes; ECDSA P-521: 139 */
    size_t siglen;
} keycert_proof;

/* Keys that can prove possession by a signature (X25519 keys cannot). */
static bool can_sign(se05x_key_kind kind)
{
    return kind == SE05X_KEY_EC || kind == SE05X_KEY_RSA || kind == SE05X_KEY_ED25519;
}

static bool link_down(sss_status st) { return st == SSS_ERR_CONNECT || st == SSS_ERR_LINK; }

static sss_status proof_sign_as(sss_key *sk, keycert_proof *pr, sss_sig_alg alg)
{
    pr->sp = (sss_sig_params){.alg = alg, .hash = SSS_HASH_SHA256, .salt_len = -1};
    pr->siglen = sizeof(pr->sig);
    return sss_sign(sk, &pr->sp, pr->tbs, sizeof(pr->tbs), pr->sig, &pr->siglen);
}

/* Make the proof signature (session lock held). 1 APDU; an RSA key whose
 * PKCS#1 v1.5 signature is refused gets a second try with PSS. */
static bool proof_make(se05x_prov *pc, sss_key *sk, se05x_key_kind kind, keycert_proof *pr)
{
    if (pr->tried)
        return pr->ok;
    pr->tried = true;
    if (RAND_bytes_ex(pc->libctx, pr->tbs, sizeof(pr->tbs), 0) != 1)
        return false;
    sss_status st;
    switch (kind) {
    case SE05X_KEY_EC: st = proof_sign_as(sk, pr, SSS_SIG_ECDSA); break;
    case SE05X_KEY_ED25519: st = proof_sign_as(sk, pr, SSS_SIG_EDDSA); break;
    case SE05X_KEY_RSA:
        st = proof_sign_as(sk, pr, SSS_SIG_RSA_PKCS1);
        if (st != SSS_OK && !link_down(st))
            st = proof_sign_as(sk, pr, SSS_SIG_RSA_PSS);
        break;
    default: st = SSS_ERR_KEY_TYPE; break; /* X25519: no signatures */
    }
    pr->ok = st == SSS_OK;
    pr->status = st;
    if (!pr->ok)
        se05x_log("key 0x%08X: proof signature failed: %s", (unsigned)sss_key_info(sk)->id,
                  sss_strerror(st));
    return pr->ok;
}

/* Does the proof signature verify under pub? (private library context) */
static bool proof_verify(se05x_prov *pc, const keycert_proof *pr, EVP_PKEY *pub)
{
    int r = 0;
    if (pr->sp.alg == SSS_SIG_EDDSA) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        r = m != NULL &&
            EVP_DigestVerifyInit_ex(m, NULL, NULL, pc->libctx, NULL, pub, NULL) == 1 &&
            EVP_DigestVerify(m, pr->sig, pr->siglen, pr->tbs, sizeof(pr->tbs)) == 1;
        EVP_MD_CTX_free(m);
        return r;
    }
    EVP_PKEY_CTX *v = EVP_PKEY_CTX_new_from_pkey(pc->libctx, pub, NULL);
    EVP_MD *md = EVP_MD_fetch(pc->libctx, "SHA256", NULL);
    bool ok = v != NULL && md != NULL && EVP_PKEY_verify_init(v) == 1 &&
              EVP_PKEY_CTX_set_signature_md(v, md) == 1;
    if (ok && pr->sp.alg == SSS_SIG_RSA_PKCS1)
        ok = EVP_PKEY_CTX_set_rsa_padding(v, RSA_PKCS1_PADDING) == 1;
    if (ok && pr->sp.alg == SSS_SIG_RSA_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(v, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(v, md) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(v, RSA_PSS_SALTLEN_DIGEST) == 1;
    r = ok && EVP_PKEY_verify(v, pr->sig, pr->siglen, pr->tbs, sizeof(pr->tbs)) == 1;
    EVP_MD_free(md);
    EVP_PKEY_CTX_free(v);
    return r;
}

/* Could pub be the public part of the SE key described by info? (cheap
 * filter so that no APDU is spent on keys of another type or size) */
static bool candidate_fits(const sss_object_info *info, se05x_key_kind kind, EVP_PKEY *pub)
{
    if (!EVP_PKEY_is_a(pub, se05x_kind_name(kind)))
        return false;
    if (kind == SE05X_KEY_ED25519 || info->bits == 0)
        return true;
    return EVP_PKEY_get_bits(pub) == (int)info->bits;
}

/* Public key of the certificate held in binary object id (lock held), in
 * the private library context; NULL if there is none or it does not parse.
 * *status: the status of the read (a broken link ends the search). */
static EVP_PKEY *cert_public(se05x_prov *pc, sss_session *s, uint32_t id, sss_status *status)
{
    const size_t cap = 4096;
    size_t len = cap;
    uint8_t *der = malloc(cap);
    sss_status st = der != NULL ? sss_cert_read_der(s, id, der, &len) : SSS_ERR_NOMEM;
    if (st == SSS_ERR_BUFFER && len > cap) { /* a big certificate: read it again */
        uint8_t *bigger = realloc(der, len);
        if (bigger != NULL)
            der = bigger;
        st = bigger != NULL ? sss_cert_read_der(s, id, der, &len) : SSS_ERR_NOMEM;
    }
    EVP_PKEY *pub = NULL;
    *status = st;
    if (st == SSS_OK) {
        const unsigned char *p = der;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        unsigned char *spki = NULL;
        int n = x != NULL ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki) : 0;
        const unsigned char *q = spki;
        if (n > 0)
            pub = d2i_PUBKEY_ex(NULL, &q, n, pc->libctx, NULL);
        OPENSSL_free(spki);
        X509_free(x);
    }
    free(der);
    return pub;
}

/* Try the certificate at cert_id: its key if the proof verifies under it.
 * *st: a failure that ends the search (broken link), else SSS_OK. */
static EVP_PKEY *try_cert(se05x_prov *pc, sss_session *s, sss_key *sk, se05x_key_kind kind,
                          uint32_t cert_id, keycert_proof *pr, sss_status *st)
{
    EVP_PKEY *pub = cert_public(pc, s, cert_id, st);
    if (!link_down(*st))
        *st = SSS_OK;
    const sss_object_info *info = sss_key_info(sk);
    if (pub != NULL && candidate_fits(info, kind, pub) && proof_make(pc, sk, kind, pr) &&
        proof_verify(pc, pr, pub)) {
        se05x_log("key 0x%08X: public part proven by the certificate at 0x%08X",
                  (unsigned)info->id, (unsigned)cert_id);
        return pub;
    }
    if (pr->tried && link_down(pr->status))
        *st = pr->status;
    EVP_PKEY_free(pub);
    return NULL;
}

int se05x_keycert_find(se05x_prov *pc, sss_session *s, sss_key *sk, se05x_key_kind kind,
                       EVP_PKEY **out)
{
    uint32_t id = sss_key_info(sk)->id;
    *out = NULL;
    if (!can_sign(kind))
        return 1; /* no proof possible: the key loads without its public part */
    keycert_proof pr = {0};
    sss_status st = SSS_OK;
    ERR_set_mark();
    EVP_PKEY *pub = id != UINT32_MAX ? try_cert(pc, s, sk, kind, id + 1, &pr, &st) : NULL;
    sss_object_info *list = NULL;
    size_t n = 0;
    if (pub == NULL && st == SSS_OK && (st = sss_object_list(s, &list, &n)) == SSS_OK) {
        for (size_t i = 0; i < n && pub == NULL && st == SSS_OK && (!pr.tried || pr.ok); i++) {
            if (list[i].type == SSS_KT_BINARY && list[i].id != id + 1 && list[i].id != id)
                pub = try_cert(pc, s, sk, kind, list[i].id, &pr, &st);
        }
    }
    free(list);
    ERR_pop_to_mark();
    OPENSSL_cleanse(&pr, sizeof(pr));
    if (link_down(st)) { /* not "no certificate matches": the SE is gone */
        char what[80];
        snprintf(what, sizeof(what), "looking for the certificate of 0x%08X", (unsigned)id);
        SE05X_ERR_SSS(pc, st, what);
        return 0;
    }
    if (pub == NULL)
        se05x_log("key 0x%08X: public part not readable and no certificate in the SE matches it",
                  (unsigned)id);
    *out = pub;
    return 1;
}

/* Can k prove possession of its key in the SE (an SE private key)? */
static bool provable(const se05x_key *k)
{
    return k->sk != NULL && can_sign(k->kind) && se05x_type_has_private(sss_key_info(k->sk)->type);
}

/* Prove that the SE key k (no public part) owns pub; on success pub (a
 * reference is taken) becomes k's public part. */
static int prove(se05x_key *k, EVP_PKEY *pub)
{
    const sss_object_info *info = sss_key_info(k->sk);
    if (!candidate_fits(info, k->kind, pub))
        return 0;
    sss_session *s;
    if (!se05x_session_acquire(k->pc, &s))
        return 0;
    keycert_proof pr = {0};
    ERR_set_mark();
    bool ok = proof_make(k->pc, k->sk, k->kind, &pr) && proof_verify(k->pc, &pr, pub);
    ERR_pop_to_mark();
    se05x_session_release(k->pc);
    OPENSSL_cleanse(&pr, sizeof(pr));
    se05x_log("key 0x%08X: %s the public key it was compared with", (unsigned)k->id,
              ok ? "proved it owns" : "does not own");
    if (!ok || EVP_PKEY_up_ref(pub) != 1)
        return ok;
    EVP_PKEY *none = NULL;
    /* keys are shared between threads: publish once, atomically */
    if (!__atomic_compare_exchange_n(&k->pub, &none, pub, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        EVP_PKEY_free(pub);
    return 1;
}

int se05x_keycert_match(const se05x_key *a, const se05x_key *b, int selection)
{
    EVP_PKEY *pa = __atomic_load_n(&a->pub, __ATOMIC_ACQUIRE);
    EVP_PKEY *pb = __atomic_load_n(&b->pub, __ATOMIC_ACQUIRE);
    if ((pa == NULL) == (pb == NULL))
        return -1; /* both known (the normal comparison) or neither */
    se05x_key *k = (se05x_key *)(pa == NULL ? a : b); /* keys are shared, not const */
    EVP_PKEY *other = pa == NULL ? pb : pa;
    if (!provable(k) || a->kind != b->kind)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && a->priv && b->priv && a->id != b->id)
        return 0;
    if (!(selection & (OSSL_KEYMGMT_SELECT_KEYPAIR | OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS)))
        return 1;
    return prove(k, other);
}

int se05x_key_need_pub(const se05x_key *k)
{
    if (k == NULL)
        return 0;
    if (__atomic_load_n(&k->pub, __ATOMIC_ACQUIRE) != NULL)
        return 1;
    if (k->id != 0)
        SE05X_ERR(k->pc, SE05X_R_NO_PUBLIC,
                  "public part of 0x%08X is not readable and no certificate in the SE matches it",
                  (unsigned)k->id);
    else
        SE05X_ERR(k->pc, SE05X_R_NO_PUBLIC, "the %s key has no public part",
                  se05x_kind_name(k->kind));
    return 0;
}
