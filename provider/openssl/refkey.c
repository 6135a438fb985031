/* Reference keys in files: the private part of an SE key is encoded as our
 * "SE05X KEY REFERENCE" (PEM or DER, format of sss/refkey.h and
 * docs/refkey.md: the key's URI and its public key), so that
 * `openssl pkey -in se05x:0x...` and `genpkey -out` write a harmless file
 * naming the SE key instead of failing silently. Reading such files back
 * needs a decoder (not yet: with OpenSSL 3.0 the file: store hands a
 * decoder's object reference to the default provider's keymgmt, so a
 * reference must not flow through it; see docs/provider.md). */
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "prov.h"
#include "sss/refkey.h"

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
    if (k == NULL || !k->priv || k->pub == NULL) {
        SE05X_ERR(pc, SE05X_R_NO_PRIVATE,
                  "only references to SE private keys can be written (use -pubout for the public key)");
        return 0;
    }
    unsigned char *spki = NULL;
    int spki_len = i2d_PUBKEY(k->pub, &spki);
    if (spki_len <= 0)
        return 0;
    uint8_t *der = NULL;
    char *text = NULL;
    size_t len = 0;
    sss_status st = pem ? sss_refkey_encode_pem(k->id, spki, (size_t)spki_len, &text, &len)
                        : sss_refkey_encode_der(k->id, spki, (size_t)spki_len, &der, &len);
    OPENSSL_free(spki);
    int ok = 0;
    if (st != SSS_OK) {
        SE05X_ERR(pc, SE05X_R_INTERNAL, "cannot encode the reference to 0x%08X: %s",
                  (unsigned)k->id, sss_strerror(st));
    } else {
        BIO *out = BIO_new_from_core_bio(pc->libctx, cout);
        ok = out != NULL && BIO_write(out, pem ? (void *)text : (void *)der, (int)len) == (int)len;
        BIO_free(out);
    }
    free(der);
    free(text);
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
