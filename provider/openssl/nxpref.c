/* Decoders for NXP's magic-number reference keys (read-only, for migration
 * from NXP's Plug & Trust middleware; format in docs/refkey.md, parsing in
 * sss/refkey.h): an "EC PRIVATE KEY" whose private scalar carries
 * A5A6B5B6 markers and the SE object id, or an "RSA PRIVATE KEY" with
 * p = 1, q = id, iqmp = 0xA5A6B5B6. Such a file is returned as a reference
 * to the SE key (our keymgmt), never as a host key with a fake private value.
 *
 * Why a chain of three decoders: OpenSSL 3.0 tries the decoder instances of
 * an OSSL_DECODER_CTX from the LAST added to the first, and stops at the
 * first one that recurses (PEM to DER always does) or constructs. Key
 * decoders are collected first (in provider load order), then
 * OSSL_DECODER_CTX_add_extra() appends, window by window, the decoders
 * whose name is an input type of the previous window: window 2 holds
 * OpenSSL's PEM-to-DER decoder. A plain "EC"/"RSA" decoder of ours (input
 * pem or der) therefore runs after PEM-to-DER, and at the DER level it runs
 * before OpenSSL's DER-to-EC only when `se05x` was activated after
 * `default`. So we hook one window deeper, independent of provider order:
 *   window 1: "EC" / "RSA"       input=se05x-nxpref-a   (anchor, declines)
 *   window 2: "SE05X-NXPREF-A"   input=se05x-nxpref-b   (anchor, declines)
 *   window 3: "SE05X-NXPREF-B"   input=pem / input=der  (the real decoder)
 * The window-3 decoders sit after PEM-to-DER, so at the top level (input
 * PEM or DER) they are tried first: they read the input, decline anything
 * that is not an NXP reference (cheap magic test first) and return an
 * object reference typed "EC"/"RSA", which OpenSSL loads through our
 * keymgmt. A magic key naming a missing or different object is an error
 * (decoding stops; never a wrong host key). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "prov.h"
#include "sss/refkey.h"

#define NXPREF_MAX_IN 16384 /* an RSA-4096 PEM private key is about 3.3 kB */

static void *nx_newctx(void *provctx) { return provctx; }
static void nx_freectx(void *ctx) { (void)ctx; }

static int nx_does_selection(void *provctx, int selection)
{
    return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
}

/* The anchors of windows 1 and 2: nothing ever produces their input type. */
static int nx_anchor_decode(void *ctx, OSSL_CORE_BIO *in, int selection, OSSL_CALLBACK *cb,
                            void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw, void *pwarg)
{
    return 1; /* decline: no object */
}

/* Read the whole input (at most cap bytes; *len = cap + 1 if longer). */
static uint8_t *read_input(se05x_prov *pc, OSSL_CORE_BIO *cin, size_t cap, size_t *len)
{
    uint8_t *buf = malloc(cap + 1);
    BIO *in = BIO_new_from_core_bio(pc->libctx, cin);
    size_t total = 0, n = 0;
    while (buf != NULL && in != NULL && total <= cap &&
           BIO_read_ex(in, buf + total, cap + 1 - total, &n) && n > 0)
        total += n;
    BIO_free(in);
    *len = total;
    return buf;
}

/* PEM input: the DER of an EC / RSA / PKCS#8 private key block, else NULL. */
static uint8_t *pem_private_der(const uint8_t *in, size_t len, long *dlen)
{
    static const char *const labels[] = {"-----BEGIN EC PRIVATE KEY-----",
                                         "-----BEGIN RSA PRIVATE KEY-----",
                                         "-----BEGIN PRIVATE KEY-----"};
    bool any = false;
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        any = any || memmem(in, len, labels[i], strlen(labels[i])) != NULL;
    if (!any)
        return NULL;
    BIO *b = BIO_new_mem_buf(in, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    ERR_set_mark();
    /* the first PEM block: an NXP file holds exactly the key */
    int ok = b != NULL && PEM_read_bio(b, &name, &header, &data, dlen) == 1;
    ERR_pop_to_mark();
    BIO_free(b);
    if (ok && strcmp(name, "EC PRIVATE KEY") != 0 && strcmp(name, "RSA PRIVATE KEY") != 0 &&
        strcmp(name, "PRIVATE KEY") != 0) {
        OPENSSL_free(data);
        data = NULL;
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    return ok ? data : NULL;
}

/* The NXP file's public key must be the SE key's (an id reused for
 * another key must not be signed with silently). */
static int same_public(se05x_prov *pc, const se05x_key *k, const sss_refkey *r)
{
    unsigned char *der = NULL;
    int len = k->pub != NULL ? i2d_PUBKEY(k->pub, &der) : 0;
    int same = len > 0 && (size_t)len == r->spki_len && memcmp(der, r->spki, r->spki_len) == 0;
    OPENSSL_free(der);
    if (!same)
        SE05X_ERR(pc, SE05X_R_KEY_TYPE,
                  "the NXP reference key names 0x%08X but its public key is not that SE key's",
                  (unsigned)r->id);
    return same;
}

/* Hand the SE key to OpenSSL as an object reference for our keymgmt. */
static int give_reference(se05x_key *k, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    if (selection != 0 && !(selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY))
        k->priv = false; /* public view */
    const char *type = se05x_kind_name(k->kind);
    int otype = OSSL_OBJECT_PKEY;
    se05x_keyref ref;
    se05x_keyref_set(&ref, k);
    OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &otype),
        OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)type, strlen(type)),
        OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &ref, sizeof(ref)),
        OSSL_PARAM_END,
    };
    return cb(params, cbarg);
}

/* An NXP reference (already parsed): open the SE key it names. */
static int use_reference(se05x_prov *pc, const sss_refkey *r, int selection, OSSL_CALLBACK *cb,
                         void *cbarg)
{
    se05x_key_kind want = r->format == SSS_REFKEY_NXP_EC ? SE05X_KEY_EC : SE05X_KEY_RSA;
    se05x_log("NXP reference key to 0x%08X read", (unsigned)r->id);
    se05x_key *k = se05x_key_open(pc, r->id);
    if (k == NULL)
        return 0; /* the error names the object: decoding stops there */
    int ok = 0;
    if (k->kind != want)
        SE05X_ERR(pc, SE05X_R_KEY_TYPE,
                  "the NXP %s reference key names 0x%08X, which holds an %s key",
                  se05x_kind_name(want), (unsigned)r->id, se05x_kind_name(k->kind));
    else if (same_public(pc, k, r))
        ok = give_reference(k, selection, cb, cbarg);
    se05x_key_unref(k);
    return ok;
}

static int nx_decode(se05x_prov *pc, bool pem, OSSL_CORE_BIO *cin, int selection,
                     OSSL_CALLBACK *cb, void *cbarg)
{
    size_t len = 0;
    uint8_t *in = read_input(pc, cin, NXPREF_MAX_IN, &len);
    if (in == NULL)
        return 0;
    uint8_t *der = in;
    long dlen = (long)len;
    if (len > NXPREF_MAX_IN)
        der = NULL; /* too big to be a reference: not ours */
    else if (pem)
        der = pem_private_der(in, len, &dlen);
    int ok = 1; /* default: decline, the other decoders run */
    sss_refkey r;
    if (der != NULL && dlen > 0 && sss_refkey_nxp_maybe(der, (size_t)dlen) &&
        sss_refkey_decode_ex(pc->libctx, der, (size_t)dlen, &r) == SSS_OK) {
        if (r.format == SSS_REFKEY_NXP_EC || r.format == SSS_REFKEY_NXP_RSA)
            ok = use_reference(pc, &r, selection, cb, cbarg);
        sss_refkey_free(&r);
    }
    if (der != NULL && der != in) {
        OPENSSL_cleanse(der, (size_t)dlen);
        OPENSSL_free(der);
    }
    OPENSSL_cleanse(in, len);
    free(in);
    return ok;
}

static int nx_decode_pem(void *ctx, OSSL_CORE_BIO *in, int selection, OSSL_CALLBACK *cb,
                         void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw, void *pwarg)
{
    return nx_decode(ctx, true, in, selection, cb, cbarg);
}


#define FN(id, f) {id, (void (*)(void))(f)}
const OSSL_DISPATCH se05x_nxpref_anchor_decoder_functions[] = {
    FN(OSSL_FUNC_DECODER_NEWCTX, nx_newctx),
    FN(OSSL_FUNC_DECODER_FREECTX, nx_freectx),
    FN(OSSL_FUNC_DECODER_DOES_SELECTION, nx_does_selection),
    FN(OSSL_FUNC_DECODER_DECODE, nx_anchor_decode),
    {0, NULL},
};
const OSSL_DISPATCH se05x_nxpref_pem_decoder_functions[] = {
    FN(OSSL_FUNC_DECODER_NEWCTX, nx_newctx),
    FN(OSSL_FUNC_DECODER_FREECTX, nx_freectx),
    FN(OSSL_FUNC_DECODER_DOES_SELECTION, nx_does_selection),
    FN(OSSL_FUNC_DECODER_DECODE, nx_decode_pem),
    {0, NULL},
};
