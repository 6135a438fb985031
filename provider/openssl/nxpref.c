/* Reference-key files read at the PEM level, ahead of OpenSSL's own
 * decoders: NXP's magic-number reference keys (read-only, for migration
 * from NXP's Plug & Trust middleware; format in docs/refkey.md, parsing in
 * sss/refkey.h: an "EC PRIVATE KEY" whose private scalar carries A5A6B5B6
 * markers and the SE object id, or an "RSA PRIVATE KEY" with p = 1, q = id,
 * iqmp = 0xA5A6B5B6) and our own "SE05X KEY REFERENCE". Either becomes a
 * reference to the SE key, never a host key with a fake private value.
 *
 * Why this shape (OpenSSL 3.0, crypto/encode_decode): a decoder context
 * tries its decoder instances from the LAST added to the first and stops at
 * the first one that recurses (PEM-to-DER always does) or constructs. Key
 * decoders are collected first, in provider activation order; then
 * OSSL_DECODER_CTX_add_extra() appends, window by window, the decoders
 * named after an input type of the previous window: window 2 holds
 * OpenSSL's PEM-to-DER ("DER", input=pem). A plain "EC"/"RSA" decoder of
 * ours therefore runs after PEM-to-DER, and at the DER level before
 * OpenSSL's DER-to-EC only when `se05x` was activated after `default`.
 * So we hook one window deeper, which works in any provider order, and in
 * the CLI's file: store too (its chain starts from "DER" objects):
 *   window 2: "DER"            input=se05x-nxpref-b  (pass-through)
 *   window 3: "SE05X-NXPREF-B" input=pem             (reads the PEM)
 * The window-3 decoder is tried first on any PEM input. It declines
 * anything that is not a reference (cheap tests first). For a reference it
 * opens the SE key it names (a missing object, another key type or another
 * public key is an error: decoding stops, never a wrong key) and passes on
 * our "SE05X KEY REFERENCE" DER as data typed "EC"/"RSA"/"ED25519":
 *  - in a key decoder context (PEM_read_bio_PrivateKey,
 *    SSL_CTX_use_PrivateKey_file) the pass-through hands it to the DER
 *    level, where our reference decoder (refkey.c) returns the key to our
 *    keymgmt and OpenSSL's decoders decline it;
 *  - in the file: store (openssl CLI -in/-inkey FILE) the store receives a
 *    DER key object and decodes it the same way in the application's
 *    library context (a key *reference* would be handed to the default
 *    provider's keymgmt there, which cannot load it). */
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

/* Read PEM input up to the end of its first block, line by line as
 * OpenSSL's PEM reader does, so that what follows the block (a certificate
 * after the key, say) stays in the input for the next reader. At most cap
 * bytes (*len = cap + 1 if longer). */
static uint8_t *read_pem_block(se05x_prov *pc, OSSL_CORE_BIO *cin, size_t cap, size_t *len)
{
    uint8_t *buf = malloc(cap + 2);
    BIO *in = BIO_new_from_core_bio(pc->libctx, cin);
    size_t total = 0;
    bool begun = false;
    while (buf != NULL && in != NULL && total <= cap) {
        char *line = (char *)buf + total;
        int n = BIO_gets(in, line, (int)(cap + 2 - total));
        if (n <= 0)
            break;
        total += (size_t)n;
        if (strncmp(line, "-----BEGIN ", 11) == 0)
            begun = true;
        else if (begun && strncmp(line, "-----END ", 9) == 0)
            break;
    }
    BIO_free(in);
    *len = total > cap ? cap + 1 : total;
    return buf;
}

/* The DER of the first PEM block if it is a private key or our reference
 * (label test first: most PEM input is something else), else NULL. */
static uint8_t *pem_candidate_der(const uint8_t *in, size_t len, long *dlen, bool *ours)
{
    static const char *const labels[] = {"-----BEGIN EC PRIVATE KEY-----",
                                         "-----BEGIN RSA PRIVATE KEY-----",
                                         "-----BEGIN PRIVATE KEY-----",
                                         "-----BEGIN " SSS_REFKEY_PEM_LABEL "-----"};
    bool any = false;
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        any = any || memmem(in, len, labels[i], strlen(labels[i])) != NULL;
    if (!any)
        return NULL;
    BIO *b = BIO_new_mem_buf(in, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    ERR_set_mark();
    int ok = b != NULL && PEM_read_bio(b, &name, &header, &data, dlen) == 1;
    ERR_pop_to_mark();
    BIO_free(b);
    if (ok) {
        *ours = strcmp(name, SSS_REFKEY_PEM_LABEL) == 0;
        if (!*ours && strcmp(name, "EC PRIVATE KEY") != 0 &&
            strcmp(name, "RSA PRIVATE KEY") != 0 && strcmp(name, "PRIVATE KEY") != 0) {
            OPENSSL_cleanse(data, (size_t)*dlen);
            OPENSSL_free(data);
            data = NULL;
        }
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    return ok ? data : NULL;
}

/* The file's public key must be the SE key's (an id reused for another
 * key must not be signed with silently). */
static int same_public(se05x_prov *pc, const se05x_key *k, const sss_refkey *r)
{
    unsigned char *der = NULL;
    int len = k->pub != NULL ? i2d_PUBKEY(k->pub, &der) : 0;
    int same = len > 0 && (size_t)len == r->spki_len && memcmp(der, r->spki, r->spki_len) == 0;
    OPENSSL_free(der);
    if (!same)
        SE05X_ERR(pc, SE05X_R_KEY_TYPE,
                  "the key reference names 0x%08X but its public key is not that key's",
                  (unsigned)r->id);
    return same;
}

/* Pass our reference DER on as a key object, of the given type or (type
 * NULL) untyped: OpenSSL only hands typed data to decoders named after the
 * type, and the pass-through below is named "DER". */
static int pass_on(const uint8_t *der, size_t len, const char *type, OSSL_CALLBACK *cb,
                   void *cbarg)
{
    int otype = OSSL_OBJECT_PKEY;
    OSSL_PARAM params[4], *p = params;
    *p++ = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &otype);
    if (type != NULL)
        *p++ = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)type, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, (void *)der, len);
    *p = OSSL_PARAM_construct_end();
    return cb(params, cbarg);
}

/* An NXP reference cannot be used (object missing, SE unreachable, another
 * key type or public key): the error is raised, and OpenSSL still gets a
 * stand-in key: the file's public key, marked private but with no SE
 * handle, so that every private operation fails cleanly ("not a usable
 * private key in the SE05x") and it can never be exported as a private key. Failing
 * the decode instead would not be clean: PEM_read_bio_PrivateKey() then
 * falls back to its legacy (non-provider) reader, which turns the magic
 * file into a host key with a fake private value (and it also rejects a
 * key without a private part the same way). Our own format has no such
 * fallback, so an unusable "SE05X KEY REFERENCE" simply fails to load. In the file: store (the
 * CLI) this reference is refused, so the command fails with the error. */
static int stand_in(se05x_prov *pc, const sss_refkey *r, se05x_key_kind kind, OSSL_CALLBACK *cb,
                    void *cbarg)
{
    const unsigned char *p = r->spki;
    EVP_PKEY *pub = d2i_PUBKEY_ex(NULL, &p, (long)r->spki_len, pc->libctx, NULL);
    se05x_key *k = pub != NULL ? se05x_key_from_pub(pc, kind, pub) : NULL;
    if (k == NULL)
        return 0;
    k->id = r->id;
    k->priv = true; /* ... held nowhere: k->sk stays NULL */
    se05x_log("reference to 0x%08X unusable: stand-in key that refuses private operations",
              (unsigned)r->id);
    int otype = OSSL_OBJECT_PKEY;
    const char *type = se05x_kind_name(kind);
    se05x_keyref ref;
    se05x_keyref_set(&ref, k);
    OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &otype),
        OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)type, strlen(type)),
        OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &ref, sizeof(ref)),
        OSSL_PARAM_END,
    };
    int ok = cb(params, cbarg);
    se05x_key_unref(k);
    return ok;
}

static se05x_key_kind kind_of_spki(se05x_prov *pc, const sss_refkey *r)
{
    const unsigned char *p = r->spki;
    EVP_PKEY *pub = d2i_PUBKEY_ex(NULL, &p, (long)r->spki_len, pc->libctx, NULL);
    se05x_key_kind kind = pub == NULL                     ? 0
                          : EVP_PKEY_is_a(pub, "EC")      ? SE05X_KEY_EC
                          : EVP_PKEY_is_a(pub, "RSA")     ? SE05X_KEY_RSA
                          : EVP_PKEY_is_a(pub, "ED25519") ? SE05X_KEY_ED25519
                          : EVP_PKEY_is_a(pub, "X25519")  ? SE05X_KEY_X25519
                                                          : 0;
    EVP_PKEY_free(pub);
    return kind;
}

/* A parsed reference: check the SE key it names, then pass on our DER. */
static int use_reference(se05x_prov *pc, const sss_refkey *r, int selection, OSSL_CALLBACK *cb,
                         void *cbarg)
{
    se05x_log("%s reference key to 0x%08X read",
              r->format == SSS_REFKEY_OURS ? "SE05X KEY REFERENCE" : "NXP", (unsigned)r->id);
    se05x_key_kind want = r->format == SSS_REFKEY_NXP_EC    ? SE05X_KEY_EC
                          : r->format == SSS_REFKEY_NXP_RSA ? SE05X_KEY_RSA
                                                            : kind_of_spki(pc, r);
    if (want == 0)
        return 1; /* not a key we know: decline */
    se05x_key *k = se05x_key_open(pc, r->id);
    if (k == NULL) /* the error names the object */
        return r->format == SSS_REFKEY_OURS ? 0 : stand_in(pc, r, want, cb, cbarg);
    int ok = -1;
    uint8_t *der = NULL;
    size_t len = 0;
    bool want_private = selection == 0 || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
    if (k->kind != want) {
        SE05X_ERR(pc, SE05X_R_KEY_TYPE, "the %s reference key names 0x%08X, which holds an %s key",
                  se05x_kind_name(want), (unsigned)r->id, se05x_kind_name(k->kind));
    } else if (r->format != SSS_REFKEY_OURS && !k->priv && want_private) {
        /* read as a private key, a public-only object would again leave
         * OpenSSL to its legacy reader (see stand_in) */
        SE05X_ERR(pc, SE05X_R_NO_PRIVATE, "the NXP reference key names 0x%08X, a public key",
                  (unsigned)r->id);
    } else if (same_public(pc, k, r)) {
        sss_status st = sss_refkey_encode_der(r->id, r->spki, r->spki_len, &der, &len);
        if (st != SSS_OK)
            SE05X_ERR(pc, SE05X_R_INTERNAL, "cannot encode the reference to 0x%08X: %s",
                      (unsigned)r->id, sss_strerror(st));
        else
            ok = pass_on(der, len, NULL, cb, cbarg);
    }
    free(der);
    se05x_key_unref(k);
    return ok >= 0 ? ok : r->format == SSS_REFKEY_OURS ? 0 : stand_in(pc, r, want, cb, cbarg);
}

/* window 3: PEM in, our reference DER out */
static int nx_decode_pem(void *ctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *cb,
                         void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw, void *pwarg)
{
    se05x_prov *pc = ctx;
    size_t len = 0;
    uint8_t *in = read_pem_block(pc, cin, NXPREF_MAX_IN, &len);
    if (in == NULL)
        return 0;
    long dlen = 0;
    bool ours = false;
    uint8_t *der = len <= NXPREF_MAX_IN ? pem_candidate_der(in, len, &dlen, &ours) : NULL;
    int ok = 1; /* default: decline, the other decoders run */
    sss_refkey r;
    if (der != NULL && dlen > 0 && (ours || sss_refkey_nxp_maybe(der, (size_t)dlen)) &&
        sss_refkey_decode_ex(pc->libctx, der, (size_t)dlen, &r) == SSS_OK) {
        ok = use_reference(pc, &r, selection, cb, cbarg);
        sss_refkey_free(&r);
    }
    if (der != NULL) {
        OPENSSL_cleanse(der, (size_t)dlen);
        OPENSSL_free(der);
    }
    OPENSSL_cleanse(in, len);
    free(in);
    return ok;
}

/* window 2: named "DER", so that what it passes on reaches the DER-level
 * key decoders; it only ever receives the DER made above. */
static int nx_decode_pass(void *ctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *cb,
                          void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw, void *pwarg)
{
    se05x_prov *pc = ctx;
    size_t len = 0;
    uint8_t *in = read_input(pc, cin, NXPREF_MAX_IN, &len);
    if (in == NULL)
        return 0;
    int ok = 1;
    sss_refkey r;
    if (len <= NXPREF_MAX_IN && sss_refkey_decode_ex(pc->libctx, in, len, &r) == SSS_OK) {
        const unsigned char *p = r.spki;
        EVP_PKEY *pub = d2i_PUBKEY_ex(NULL, &p, (long)r.spki_len, pc->libctx, NULL);
        const char *type = pub == NULL                     ? NULL
                           : EVP_PKEY_is_a(pub, "EC")      ? "EC"
                           : EVP_PKEY_is_a(pub, "RSA")     ? "RSA"
                           : EVP_PKEY_is_a(pub, "ED25519") ? "ED25519"
                           : EVP_PKEY_is_a(pub, "X25519")  ? "X25519"
                                                           : NULL;
        if (r.format == SSS_REFKEY_OURS && type != NULL)
            ok = pass_on(in, len, type, cb, cbarg);
        EVP_PKEY_free(pub);
        sss_refkey_free(&r);
    }
    free(in);
    return ok;
}

#define FN(id, f) {id, (void (*)(void))(f)}
const OSSL_DISPATCH se05x_nxpref_pass_decoder_functions[] = {
    FN(OSSL_FUNC_DECODER_NEWCTX, nx_newctx),
    FN(OSSL_FUNC_DECODER_FREECTX, nx_freectx),
    FN(OSSL_FUNC_DECODER_DOES_SELECTION, nx_does_selection),
    FN(OSSL_FUNC_DECODER_DECODE, nx_decode_pass),
    {0, NULL},
};
const OSSL_DISPATCH se05x_nxpref_pem_decoder_functions[] = {
    FN(OSSL_FUNC_DECODER_NEWCTX, nx_newctx),
    FN(OSSL_FUNC_DECODER_FREECTX, nx_freectx),
    FN(OSSL_FUNC_DECODER_DOES_SELECTION, nx_does_selection),
    FN(OSSL_FUNC_DECODER_DECODE, nx_decode_pem),
    {0, NULL},
};
