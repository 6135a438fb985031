/* Encoders for our keys: SubjectPublicKeyInfo as DER or PEM, and text
 * (the public key plus a line naming the SE object that holds the private
 * key). Private keys are never encoded. Output goes through the core BIO
 * into the provider's private library context, where the public key lives. */
#include <openssl/bio.h>
#include <openssl/core_object.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "prov.h"

typedef enum { ENC_DER = 1, ENC_PEM, ENC_TEXT } enc_out;

static void *enc_newctx(void *provctx) { return provctx; }
static void enc_freectx(void *ctx) { (void)ctx; }

static int spki_does_selection(void *provctx, int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0;
}

static int text_does_selection(void *provctx, int selection)
{
    return (selection & (OSSL_KEYMGMT_SELECT_KEYPAIR | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)) != 0;
}

static int write_text(BIO *out, const se05x_key *k)
{
    if (k->priv && BIO_printf(out, "SE05x %s key, private key held in the SE at se05x:0x%08X\n",
                              se05x_kind_name(k->kind), (unsigned)k->id) <= 0)
        return 0;
    return EVP_PKEY_print_public(out, k->pub, 0, NULL) == 1;
}

static int encode(se05x_prov *pc, se05x_key_kind kind, enc_out how, OSSL_CORE_BIO *cout,
                  const void *obj_raw, const OSSL_PARAM obj_abstract[], int selection)
{
    se05x_key *tmp = NULL;
    const se05x_key *k = obj_raw;
    if (k == NULL && obj_abstract != NULL)
        k = tmp = se05x_key_import_params(pc, kind, selection & ~OSSL_KEYMGMT_SELECT_PRIVATE_KEY,
                                          obj_abstract);
    if (k == NULL || !se05x_key_need_pub(k)) {
        se05x_key_unref(tmp);
        return 0;
    }
    BIO *out = BIO_new_from_core_bio(pc->libctx, cout);
    int ok = out != NULL;
    if (ok) {
        switch (how) {
        case ENC_DER: ok = i2d_PUBKEY_bio(out, k->pub) == 1; break;
        case ENC_PEM: ok = PEM_write_bio_PUBKEY(out, k->pub) == 1; break;
        case ENC_TEXT: ok = write_text(out, k); break;
        }
    }
    BIO_free(out);
    se05x_key_unref(tmp);
    if (!ok)
        SE05X_ERR(pc, SE05X_R_INTERNAL, "cannot encode the %s public key", se05x_kind_name(kind));
    return ok;
}

static void enc_free_object(void *obj) { se05x_key_unref(obj); }

#define FN(id, f) {id, (void (*)(void))(f)}
#define ENCODER(kname, KIND, how, HOW, sel)                                                  \
    static int kname##_##how##_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj_raw,     \
                                      const OSSL_PARAM obj_abstract[], int selection,         \
                                      OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)              \
    {                                                                                         \
        return encode(ctx, KIND, HOW, out, obj_raw, obj_abstract, selection);                 \
    }                                                                                         \
    static void *kname##_##how##_import(void *ctx, int selection, const OSSL_PARAM params[])  \
    {                                                                                         \
        return se05x_key_import_params(ctx, KIND, selection, params);                         \
    }                                                                                         \
    const OSSL_DISPATCH se05x_##kname##_##how##_encoder_functions[] = {                       \
        FN(OSSL_FUNC_ENCODER_NEWCTX, enc_newctx),                                             \
        FN(OSSL_FUNC_ENCODER_FREECTX, enc_freectx),                                           \
        FN(OSSL_FUNC_ENCODER_DOES_SELECTION, sel),                                            \
        FN(OSSL_FUNC_ENCODER_IMPORT_OBJECT, kname##_##how##_import),                          \
        FN(OSSL_FUNC_ENCODER_FREE_OBJECT, enc_free_object),                                   \
        FN(OSSL_FUNC_ENCODER_ENCODE, kname##_##how##_encode),                                 \
        {0, NULL},                                                                            \
    };

ENCODER(ec, SE05X_KEY_EC, spki_der, ENC_DER, spki_does_selection)
ENCODER(ec, SE05X_KEY_EC, spki_pem, ENC_PEM, spki_does_selection)
ENCODER(ec, SE05X_KEY_EC, text, ENC_TEXT, text_does_selection)
ENCODER(rsa, SE05X_KEY_RSA, spki_der, ENC_DER, spki_does_selection)
ENCODER(rsa, SE05X_KEY_RSA, spki_pem, ENC_PEM, spki_does_selection)
ENCODER(rsa, SE05X_KEY_RSA, text, ENC_TEXT, text_does_selection)
ENCODER(ed25519, SE05X_KEY_ED25519, spki_der, ENC_DER, spki_does_selection)
ENCODER(ed25519, SE05X_KEY_ED25519, spki_pem, ENC_PEM, spki_does_selection)
ENCODER(ed25519, SE05X_KEY_ED25519, text, ENC_TEXT, text_does_selection)
ENCODER(x25519, SE05X_KEY_X25519, spki_der, ENC_DER, spki_does_selection)
ENCODER(x25519, SE05X_KEY_X25519, spki_pem, ENC_PEM, spki_does_selection)
ENCODER(x25519, SE05X_KEY_X25519, text, ENC_TEXT, text_does_selection)
