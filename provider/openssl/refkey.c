/* Reference keys in files: the private part of an SE key is written as a
 * PEM "SE05X KEY REFERENCE" (or its DER) that holds only the key's URI,
 *   SE05xKeyReference ::= SEQUENCE { version INTEGER (0), uri UTF8String }
 * so that `openssl pkey -in se05x:0x...` (and any private key encoding of
 * an SE key) yields a harmless reference instead of failing silently.
 * Reading it back needs a decoder (not yet: with OpenSSL 3.0 the file:
 * store hands a decoder's object reference to the default provider's
 * keymgmt, so references must not flow through it; see docs/provider.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "prov.h"

#define REF_PEM_LABEL "SE05X KEY REFERENCE"

/* DER of the reference for id into der (>= 64 bytes); returns its length. */
static size_t ref_der(uint32_t id, uint8_t *der)
{
    char uri[32];
    se05x_uri_format(id, uri, sizeof(uri));
    size_t ul = strlen(uri);
    der[0] = 0x30;
    der[1] = (uint8_t)(3 + 2 + ul);
    der[2] = 0x02, der[3] = 0x01, der[4] = 0x00;
    der[5] = 0x0C, der[6] = (uint8_t)ul;
    memcpy(der + 7, uri, ul);
    return 7 + ul;
}

/* ---- encoders ----------------------------------------------------------------- */

static void *ref_newctx(void *provctx) { return provctx; }
static void ref_freectx(void *ctx) { (void)ctx; }

static int ref_enc_does_selection(void *provctx, int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

static int ref_encode(void *ctx, OSSL_CORE_BIO *cout, const void *obj_raw, bool pem)
{
    se05x_prov *pc = ctx;
    const se05x_key *k = obj_raw;
    if (k == NULL || !k->priv) {
        SE05X_ERR(pc, SE05X_R_NO_PRIVATE,
                  "only references to SE private keys can be written (use -pubout for the public key)");
        return 0;
    }
    uint8_t der[64];
    size_t len = ref_der(k->id, der);
    BIO *out = BIO_new_from_core_bio(pc->libctx, cout);
    int ok = out != NULL &&
             (pem ? PEM_write_bio(out, REF_PEM_LABEL, "", der, (long)len) > 0
                  : BIO_write(out, der, (int)len) == (int)len);
    BIO_free(out);
    return ok;
}

static int ref_encode_pem(void *ctx, OSSL_CORE_BIO *out, const void *obj_raw,
                          const OSSL_PARAM obj_abstract[], int selection,
                          OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    return ref_encode(ctx, out, obj_raw, true);
}

static int ref_encode_der(void *ctx, OSSL_CORE_BIO *out, const void *obj_raw,
                          const OSSL_PARAM obj_abstract[], int selection,
                          OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    return ref_encode(ctx, out, obj_raw, false);
}

#define FN(id, f) {id, (void (*)(void))(f)}
const OSSL_DISPATCH se05x_ref_pem_encoder_functions[] = {
    FN(OSSL_FUNC_ENCODER_NEWCTX, ref_newctx),
    FN(OSSL_FUNC_ENCODER_FREECTX, ref_freectx),
    FN(OSSL_FUNC_ENCODER_DOES_SELECTION, ref_enc_does_selection),
    FN(OSSL_FUNC_ENCODER_ENCODE, ref_encode_pem),
    {0, NULL},
};
const OSSL_DISPATCH se05x_ref_der_encoder_functions[] = {
    FN(OSSL_FUNC_ENCODER_NEWCTX, ref_newctx),
    FN(OSSL_FUNC_ENCODER_FREECTX, ref_freectx),
    FN(OSSL_FUNC_ENCODER_DOES_SELECTION, ref_enc_does_selection),
    FN(OSSL_FUNC_ENCODER_ENCODE, ref_encode_der),
    {0, NULL},
};
