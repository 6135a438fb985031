/* The provider's key object: a reference to an EC, RSA, Ed25519 or X25519 key held in the
 * SE (an open sss_key plus its public key as an EVP_PKEY in the provider's
 * private library context), or a public key imported from elsewhere.
 * Reference-counted because the store hands the same object to keymgmt
 * (OSSL_OBJECT_PARAM_REFERENCE, as a magic-tagged se05x_keyref) and OpenSSL
 * may duplicate it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "prov.h"

se05x_key_kind se05x_kind_of(sss_key_type t, uint8_t curve)
{
    switch (t) {
    case SSS_KT_EC_PAIR:
    case SSS_KT_EC_PUB:
    case SSS_KT_EC_PRIV:
        return curve == SSS_CURVE_ED25519 ? SE05X_KEY_ED25519
               : curve == SSS_CURVE_X25519 ? SE05X_KEY_X25519
                                           : SE05X_KEY_EC;
    case SSS_KT_RSA_PAIR:
    case SSS_KT_RSA_PUB:
    case SSS_KT_RSA_PRIV: return SE05X_KEY_RSA;
    default: return 0;
    }
}

bool se05x_type_has_private(sss_key_type t)
{
    return t == SSS_KT_EC_PAIR || t == SSS_KT_EC_PRIV || t == SSS_KT_RSA_PAIR ||
           t == SSS_KT_RSA_PRIV;
}

const char *se05x_kind_name(se05x_key_kind kind)
{
    return kind == SE05X_KEY_EC       ? "EC"
           : kind == SE05X_KEY_RSA    ? "RSA"
           : kind == SE05X_KEY_X25519 ? "X25519"
                                      : "ED25519";
}

static se05x_key *key_new(se05x_prov *pc, se05x_key_kind kind)
{
    se05x_key *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        SE05X_ERR(pc, SE05X_R_INTERNAL, "out of memory");
        return NULL;
    }
    k->pc = pc;
    k->refs = 1;
    k->kind = kind;
    return k;
}

/* Public key of an open SE key, decoded in the private library context.
 * *denied: the key's policy forbids reading it (no error raised then). */
static EVP_PKEY *read_public(se05x_prov *pc, sss_key *sk, uint32_t id, bool *denied)
{
    uint8_t der[1200];
    size_t len = sizeof(der);
    sss_status st = sss_key_public_der(sk, der, &len);
    if ((*denied = st == SSS_ERR_DENIED))
        return NULL;
    if (st != SSS_OK) {
        char what[64];
        snprintf(what, sizeof(what), "reading the public key of 0x%08X", (unsigned)id);
        SE05X_ERR_SSS(pc, st, what);
        return NULL;
    }
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY_ex(NULL, &p, (long)len, pc->libctx, NULL);
    if (pub == NULL)
        SE05X_ERR(pc, SE05X_R_INTERNAL, "public key of 0x%08X does not decode", (unsigned)id);
    return pub;
}

se05x_key *se05x_key_open(se05x_prov *pc, uint32_t id)
{
    sss_session *s;
    if (!se05x_session_acquire(pc, &s))
        return NULL;
    se05x_key *k = NULL;
    sss_key *sk = NULL;
    sss_status st = sss_key_open(s, id, &sk);
    if (st != SSS_OK) {
        char what[64];
        snprintf(what, sizeof(what), "opening key 0x%08X", (unsigned)id);
        SE05X_ERR_SSS(pc, st, what);
        goto out;
    }
    const sss_object_info *info = sss_key_info(sk);
    se05x_key_kind kind = se05x_kind_of(info->type, info->curve);
    if (kind == 0) {
        SE05X_ERR(pc, SE05X_R_KEY_TYPE,
                  "object 0x%08X is a %s, not an EC, RSA, Ed25519 or X25519 key", (unsigned)id,
                  sss_key_type_name(info->type));
        goto out;
    }
    bool denied = false;
    EVP_PKEY *pub = read_public(pc, sk, id, &denied);
    /* unreadable public part: a certificate in the SE may prove it (keycert.c) */
    if ((pub == NULL && !denied) || (denied && !se05x_keycert_find(pc, s, sk, kind, &pub)))
        goto out;
    if ((k = key_new(pc, kind)) == NULL) {
        EVP_PKEY_free(pub);
        goto out;
    }
    k->id = id;
    k->priv = se05x_type_has_private(info->type);
    k->sk = sk;
    k->pub = pub;
    sk = NULL;
    se05x_log("key 0x%08X opened (%s%s%s)", (unsigned)id, se05x_kind_name(kind),
              k->priv ? ", private in SE" : ", public", pub == NULL ? ", public part unknown" : "");
out:
    if (sk != NULL)
        sss_key_close(sk);
    se05x_session_release(pc);
    return k;
}

se05x_key *se05x_key_from_pub(se05x_prov *pc, se05x_key_kind kind, EVP_PKEY *pub)
{
    se05x_key *k = key_new(pc, kind);
    if (k == NULL) {
        EVP_PKEY_free(pub);
        return NULL;
    }
    k->pub = pub;
    return k;
}

se05x_key *se05x_key_ref(se05x_key *k)
{
    __atomic_add_fetch(&k->refs, 1, __ATOMIC_ACQ_REL);
    return k;
}

void se05x_key_unref(se05x_key *k)
{
    if (k == NULL || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    if (k->sk != NULL)
        sss_key_close(k->sk); /* sss serialises this against other users */
    EVP_PKEY_free(k->pub);
    free(k);
}

void se05x_keyref_set(se05x_keyref *r, se05x_key *k)
{
    memcpy(r->magic, SE05X_KEYREF_MAGIC, sizeof(r->magic));
    r->key = k;
}

int se05x_key_sign(se05x_key *k, const sss_sig_params *sp, const unsigned char *tbs,
                   size_t tbslen, unsigned char *sig, size_t *siglen, size_t sigsize,
                   const char *what)
{
    sss_session *s;
    if (k->sk == NULL) { /* a stand-in for an unusable reference file (nxpref.c) */
        SE05X_ERR(k->pc, SE05X_R_NO_PRIVATE,
                  "%s: the reference file names 0x%08X, which is not a usable private key "
                  "in the SE05x (see the error logged when it was read)",
                  what, (unsigned)k->id);
        return 0;
    }
    if (!se05x_session_acquire(k->pc, &s))
        return 0;
    size_t len = sigsize;
    sss_status st = sss_sign(k->sk, sp, tbs, tbslen, sig, &len);
    if (st != SSS_OK) {
        char msg[80];
        snprintf(msg, sizeof(msg), "%s with 0x%08X", what, (unsigned)k->id);
        SE05X_ERR_SSS(k->pc, st, msg);
    }
    se05x_session_release(k->pc);
    if (st != SSS_OK)
        return 0;
    *siglen = len;
    return 1;
}
