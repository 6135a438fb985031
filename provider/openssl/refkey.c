/* Reference keys in files: the private part of an SE key is encoded as our
 * "SE05X KEY REFERENCE" (PEM or DER, format of sss/refkey.h and
 * docs/refkey.md: the key's URI and its public key), so that
 * `openssl pkey -in se05x:0x...` and `genpkey -out` write a harmless file
 * naming the SE key; the decoder reads such files back for applications
 * that load key files through OpenSSL's decoders (SSL_CTX_use_PrivateKey_file,
 * PEM_read_bio_PrivateKey: curl, mosquitto, Python's ssl). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_object.h>
#include <openssl/core_names.h>
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
    if (k == NULL || !k->priv) {
        SE05X_ERR(pc, SE05X_R_NO_PRIVATE,
                  "only references to SE private keys can be written (use -pubout for the public key)");
        return 0;
    }
    if (!se05x_key_need_pub(k))
        return 0;
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

/* ---- decoders ---------------------------------------------------------------------- */

/* Our decoder reads PEM itself (OpenSSL's PEM-to-DER step drops labels it
 * does not know) and DER. It only claims "SE05X KEY REFERENCE" input;
 * anything else returns 1 without an object so that the other decoders
 * run. The key comes out as our keyref, which only our keymgmt loads. PEM
 * files (ours and NXP's magic-number keys) normally reach it through
 * nxpref.c, which reads them ahead of OpenSSL's decoders in any provider
 * order and in the CLI's file: store, and hands this decoder the DER. */
#define REF_MAX_DER 2048

static int ref_dec_does_selection(void *provctx, int selection)
{
    return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
}

static size_t read_all(se05x_prov *pc, OSSL_CORE_BIO *cin, uint8_t *buf, size_t cap)
{
    BIO *in = BIO_new_from_core_bio(pc->libctx, cin);
    size_t total = 0, n = 0;
    while (in != NULL && total < cap && BIO_read_ex(in, buf + total, cap - total, &n) && n > 0)
        total += n;
    BIO_free(in);
    return total;
}

/* The reference's public key must be the SE key's: a reference to an id
 * that now holds another key is refused rather than silently used. */
static int same_public(se05x_prov *pc, const se05x_key *k, const sss_refkey *r)
{
    if (!se05x_key_need_pub(k))
        return 0;
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(k->pub, &der);
    int same = len > 0 && (size_t)len == r->spki_len && memcmp(der, r->spki, r->spki_len) == 0;
    OPENSSL_free(der);
    if (!same)
        SE05X_ERR(pc, SE05X_R_KEY_TYPE,
                  "the key reference names se05x:0x%08X but its public key is not that key's",
                  (unsigned)r->id);
    return same;
}

/* Cheap test for our PEM label or our DER: SEQUENCE { INTEGER 1, UTF8String ... }. */
static bool looks_like_ours(const uint8_t *d, size_t len)
{
    static const char label[] = "-----BEGIN " SSS_REFKEY_PEM_LABEL "-----";
    if (len >= sizeof(label) - 1 && memmem(d, len, label, sizeof(label) - 1) != NULL)
        return true;
    size_t hdr = len > 1 && d[1] < 0x80 ? 2 : len > 2 && d[1] == 0x81 ? 3 : len > 3 && d[1] == 0x82 ? 4 : 0;
    return hdr != 0 && d[0] == 0x30 && len >= hdr + 4 && d[hdr] == 0x02 && d[hdr + 1] == 0x01 &&
           d[hdr + 2] == SSS_REFKEY_VERSION && d[hdr + 3] == 0x0C;
}

static int ref_decode(se05x_prov *pc, se05x_key_kind kind, OSSL_CORE_BIO *cin, int selection,
                      OSSL_CALLBACK *cb, void *cbarg)
{
    uint8_t *buf = malloc(REF_MAX_DER + 1);
    if (buf == NULL)
        return 0;
    size_t len = read_all(pc, cin, buf, REF_MAX_DER + 1);
    sss_refkey r;
    sss_status st = SSS_ERR_FORMAT;
    if (len <= REF_MAX_DER && looks_like_ours(buf, len)) /* parsed in our private context */
        st = sss_refkey_decode_ex(pc->libctx, buf, len, &r);
    free(buf);
    if (st != SSS_OK)
        return 1; /* not a reference: let the other decoders try */
    int ok = 1;
    if (r.format == SSS_REFKEY_OURS) {
        se05x_log("key reference to se05x:0x%08X read", (unsigned)r.id);
        se05x_key *k = se05x_key_open(pc, r.id);
        if (k == NULL) {
            ok = 0; /* ours but unusable: the error says why */
        } else if (k->kind == kind) {
            if (!same_public(pc, k, &r)) {
                ok = 0;
            } else {
                if (selection != 0 && !(selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY))
                    k->priv = false; /* public view */
                int type = OSSL_OBJECT_PKEY;
                se05x_keyref ref;
                se05x_keyref_set(&ref, k);
                OSSL_PARAM params[] = {
                    OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &type),
                    OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                           (char *)se05x_kind_name(kind),
                                           strlen(se05x_kind_name(kind))),
                    OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &ref, sizeof(ref)),
                    OSSL_PARAM_END,
                };
                ok = cb(params, cbarg);
            }
        } /* else: the other kind's decoder takes it */
        se05x_key_unref(k);
    }
    sss_refkey_free(&r);
    return ok;
}

static int ec_ref_decode(void *ctx, OSSL_CORE_BIO *in, int selection, OSSL_CALLBACK *cb,
                         void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw, void *pwarg)
{
    return ref_decode(ctx, SE05X_KEY_EC, in, selection, cb, cbarg);
}

static int rsa_ref_decode(void *ctx, OSSL_CORE_BIO *in, int selection, OSSL_CALLBACK *cb,
                          void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw, void *pwarg)
{
    return ref_decode(ctx, SE05X_KEY_RSA, in, selection, cb, cbarg);
}

static int ed_ref_decode(void *ctx, OSSL_CORE_BIO *in, int selection, OSSL_CALLBACK *cb,
                         void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw, void *pwarg)
{
    return ref_decode(ctx, SE05X_KEY_ED25519, in, selection, cb, cbarg);
}

static int x25519_ref_decode(void *ctx, OSSL_CORE_BIO *in, int selection, OSSL_CALLBACK *cb,
                             void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw, void *pwarg)
{
    return ref_decode(ctx, SE05X_KEY_X25519, in, selection, cb, cbarg);
}

const OSSL_DISPATCH se05x_x25519_ref_decoder_functions[] = {
    FN(OSSL_FUNC_DECODER_NEWCTX, ref_newctx),
    FN(OSSL_FUNC_DECODER_FREECTX, ref_freectx),
    FN(OSSL_FUNC_DECODER_DOES_SELECTION, ref_dec_does_selection),
    FN(OSSL_FUNC_DECODER_DECODE, x25519_ref_decode),
    {0, NULL},
};
const OSSL_DISPATCH se05x_ed25519_ref_decoder_functions[] = {
    FN(OSSL_FUNC_DECODER_NEWCTX, ref_newctx),
    FN(OSSL_FUNC_DECODER_FREECTX, ref_freectx),
    FN(OSSL_FUNC_DECODER_DOES_SELECTION, ref_dec_does_selection),
    FN(OSSL_FUNC_DECODER_DECODE, ed_ref_decode),
    {0, NULL},
};
const OSSL_DISPATCH se05x_ec_ref_decoder_functions[] = {
    FN(OSSL_FUNC_DECODER_NEWCTX, ref_newctx),
    FN(OSSL_FUNC_DECODER_FREECTX, ref_freectx),
    FN(OSSL_FUNC_DECODER_DOES_SELECTION, ref_dec_does_selection),
    FN(OSSL_FUNC_DECODER_DECODE, ec_ref_decode),
    {0, NULL},
};
const OSSL_DISPATCH se05x_rsa_ref_decoder_functions[] = {
    FN(OSSL_FUNC_DECODER_NEWCTX, ref_newctx),
    FN(OSSL_FUNC_DECODER_FREECTX, ref_freectx),
    FN(OSSL_FUNC_DECODER_DOES_SELECTION, ref_dec_does_selection),
    FN(OSSL_FUNC_DECODER_DECODE, rsa_ref_decode),
    {0, NULL},
};
