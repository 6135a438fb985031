/* Reference keys (sss/refkey.h): our "SE05X KEY REFERENCE" DER/PEM
 * (libcrypto ASN.1 template) and NXP's magic-number EC and RSA private keys
 * (spec §7.1/§7.2, built with OSSL_PARAM_BLD + EVP_PKEY_fromdata and the
 * OSSL_ENCODER, read back with d2i_AutoPrivateKey), plus their decoders.
 * Shared by the se05x CLI (refpem) and the OpenSSL provider. */
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sss/refkey.h"

/* ---- our format: ASN.1 template -------------------------------------- */

typedef struct {
    ASN1_INTEGER *version;
    ASN1_UTF8STRING *uri;
    X509_PUBKEY *pub;
} SSS_REFKEY_ASN1;

ASN1_SEQUENCE(SSS_REFKEY_ASN1) = {
    ASN1_SIMPLE(SSS_REFKEY_ASN1, version, ASN1_INTEGER),
    ASN1_SIMPLE(SSS_REFKEY_ASN1, uri, ASN1_UTF8STRING),
    ASN1_SIMPLE(SSS_REFKEY_ASN1, pub, X509_PUBKEY),
} static_ASN1_SEQUENCE_END(SSS_REFKEY_ASN1)

static const uint8_t NXP_MAGIC[8] = {0xA5, 0xA6, 0xB5, 0xB6, 0xA5, 0xA6, 0xB5, 0xB6};
#define NXP_RSA_IQMP 0xA5A6B5B6u
#define URI_LEN 16 /* "se05x:0x" + 8 hex */

void sss_refkey_uri(uint32_t id, char *buf, size_t cap)
{
    snprintf(buf, cap, SSS_REFKEY_URI_PREFIX "%08X", id);
}

sss_status sss_refkey_uri_parse(const char *uri, size_t len, uint32_t *id)
{
    size_t plen = strlen(SSS_REFKEY_URI_PREFIX);
    if (!uri || len != URI_LEN || memcmp(uri, SSS_REFKEY_URI_PREFIX, plen) != 0)
        return SSS_ERR_FORMAT;
    uint32_t v = 0;
    for (size_t i = plen; i < len; i++) {
        char c = uri[i];
        int d = (c >= '0' && c <= '9') ? c - '0'
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : -1;
        if (d < 0)
            return SSS_ERR_FORMAT;
        v = v << 4 | (uint32_t)d;
    }
    *id = v;
    return SSS_OK;
}

/* Parse a whole DER SubjectPublicKeyInfo (nothing may follow). */
static EVP_PKEY *spki_parse_ex(OSSL_LIB_CTX *libctx, const uint8_t *spki, size_t len)
{
    if (!spki || len == 0 || len > 0x10000)
        return NULL;
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY_ex(NULL, &p, (long)len, libctx, NULL);
    if (pk && p != spki + len) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    return pk;
}

static EVP_PKEY *spki_parse(const uint8_t *spki, size_t len)
{
    return spki_parse_ex(NULL, spki, len);
}

/* Copy an OPENSSL_malloc'ed buffer to a malloc'ed one (NUL-terminated). */
static sss_status dup_out(const unsigned char *src, size_t len, uint8_t **out, size_t *out_len)
{
    uint8_t *b = malloc(len + 1);
    if (!b)
        return SSS_ERR_NOMEM;
    memcpy(b, src, len);
    b[len] = 0;
    *out = b;
    *out_len = len;
    return SSS_OK;
}

sss_status sss_refkey_encode_der(uint32_t id, const uint8_t *spki, size_t spki_len, uint8_t **der,
                                 size_t *der_len)
{
    if (!der || !der_len)
        return SSS_ERR_ARG;
    EVP_PKEY *pk = spki_parse(spki, spki_len);
    if (!pk)
        return SSS_ERR_FORMAT;
    EVP_PKEY_free(pk);
    char uri[32];
    sss_refkey_uri(id, uri, sizeof(uri));
    SSS_REFKEY_ASN1 r = {ASN1_INTEGER_new(), ASN1_UTF8STRING_new(), NULL};
    const unsigned char *p = spki;
    r.pub = d2i_X509_PUBKEY(NULL, &p, (long)spki_len);
    sss_status st = SSS_ERR_NOMEM;
    unsigned char *enc = NULL;
    int n = -1;
    if (r.version && r.uri && r.pub && ASN1_INTEGER_set(r.version, SSS_REFKEY_VERSION) == 1 &&
        ASN1_STRING_set(r.uri, uri, (int)strlen(uri)) == 1)
        n = ASN1_item_i2d((ASN1_VALUE *)&r, &enc, ASN1_ITEM_rptr(SSS_REFKEY_ASN1));
    if (n > 0)
        st = dup_out(enc, (size_t)n, der, der_len);
    OPENSSL_free(enc);
    ASN1_INTEGER_free(r.version);
    ASN1_UTF8STRING_free(r.uri);
    X509_PUBKEY_free(r.pub);
    return st;
}

/* PEM-wrap DER under label; *pem malloc'ed and NUL-terminated. */
static sss_status pem_wrap(const char *label, const uint8_t *der, size_t len, char **pem,
                           size_t *pem_len)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return SSS_ERR_NOMEM;
    sss_status st = SSS_ERR_CRYPTO;
    char *data = NULL;
    if (PEM_write_bio(b, label, "", der, (long)len) > 0) {
        long n = BIO_get_mem_data(b, &data);
        if (n > 0)
            st = dup_out((const unsigned char *)data, (size_t)n, (uint8_t **)pem, pem_len);
    }
    BIO_free(b);
    return st;
}

sss_status sss_refkey_encode_pem(uint32_t id, const uint8_t *spki, size_t spki_len, char **pem,
                                 size_t *pem_len)
{
    if (!pem || !pem_len)
        return SSS_ERR_ARG;
    uint8_t *der = NULL;
    size_t dlen = 0;
    sss_status st = sss_refkey_encode_der(id, spki, spki_len, &der, &dlen);
    if (st != SSS_OK)
        return st;
    st = pem_wrap(SSS_REFKEY_PEM_LABEL, der, dlen, pem, pem_len);
    free(der);
    return st;
}

/* ---- NXP format: encoders -------------------------------------------- */

/* Encode a key pair as PEM with the given structure ("type-specific" for
 * EC PRIVATE KEY / RSA PRIVATE KEY, "PrivateKeyInfo" for PKCS#8). */
static sss_status encode_private_pem(EVP_PKEY *pk, const char *structure, char **pem,
                                     size_t *pem_len)
{
    OSSL_ENCODER_CTX *ec =
        OSSL_ENCODER_CTX_new_for_pkey(pk, EVP_PKEY_KEYPAIR, "PEM", structure, NULL);
    unsigned char *data = NULL;
    size_t len = 0;
    sss_status st = SSS_ERR_CRYPTO;
    if (ec && OSSL_ENCODER_CTX_get_num_encoders(ec) > 0 && OSSL_ENCODER_to_data(ec, &data, &len))
        st = dup_out(data, len, (uint8_t **)pem, pem_len);
    OPENSSL_free(data);
    OSSL_ENCODER_CTX_free(ec);
    return st;
}

/* Build a key pair from params and encode it. */
static sss_status fromdata_encode(const char *alg, OSSL_PARAM_BLD *bld, const char *structure,
                                  char **pem, size_t *pem_len)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    EVP_PKEY *pk = NULL;
    sss_status st = SSS_ERR_CRYPTO;
    if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) == 1)
        st = encode_private_pem(pk, structure, pem, pem_len);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return st;
}

/* The magic private value of spec §7.1 in flen bytes. */
static void nxp_ec_scalar(uint32_t id, uint8_t key_class, uint8_t *buf, size_t flen)
{
    memset(buf, 0, flen);
    buf[0] = 0x10;
    buf[flen - 14] = (uint8_t)(id >> 24);
    buf[flen - 13] = (uint8_t)(id >> 16);
    buf[flen - 12] = (uint8_t)(id >> 8);
    buf[flen - 11] = (uint8_t)id;
    memcpy(buf + flen - 10, NXP_MAGIC, sizeof(NXP_MAGIC));
    buf[flen - 2] = key_class;
    buf[flen - 1] = 0x00;
}

static sss_status nxp_encode_ec(EVP_PKEY *pub, uint32_t id, uint8_t key_class, char **pem,
                                size_t *pem_len)
{
    char group[64];
    uint8_t point[160], scalar[80];
    size_t plen = 0;
    int bits = EVP_PKEY_get_bits(pub);
    size_t flen = (size_t)(bits + 7) / 8;
    if (bits <= 0 || flen < 15 || flen > sizeof(scalar) ||
        !EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL) ||
        !EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                         &plen))
        return SSS_ERR_UNSUPPORTED;
    nxp_ec_scalar(id, key_class, scalar, flen);
    BIGNUM *priv = BN_bin2bn(scalar, (int)flen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    sss_status st = SSS_ERR_NOMEM;
    if (priv && bld &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, plen) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv))
        st = fromdata_encode("EC", bld, "type-specific", pem, pem_len);
    OSSL_PARAM_BLD_free(bld);
    BN_free(priv);
    return st;
}

static sss_status nxp_encode_rsa(EVP_PKEY *pub, uint32_t id, char **pem, size_t *pem_len)
{
    BIGNUM *n = NULL, *e = NULL;
    BIGNUM *one = BN_new(), *q = BN_new(), *iqmp = BN_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    sss_status st = SSS_ERR_NOMEM;
    if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) ||
        !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e)) {
        st = SSS_ERR_UNSUPPORTED;
        goto out;
    }
    if (one && q && iqmp && bld && BN_set_word(one, 1) && BN_set_word(q, id) &&
        BN_set_word(iqmp, NXP_RSA_IQMP) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, one) && /* d arbitrary */
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, one) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, one) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, one) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp))
        st = fromdata_encode("RSA", bld, "type-specific", pem, pem_len);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    BN_free(one);
    BN_free(q);
    BN_free(iqmp);
    return st;
}

sss_status sss_refkey_nxp_encode_pem(uint32_t id, uint8_t key_class, const uint8_t *spki,
                                     size_t spki_len, char **pem, size_t *pem_len)
{
    if (!pem || !pem_len ||
        (key_class != SSS_REFKEY_NXP_CLASS_PAIR && key_class != SSS_REFKEY_NXP_CLASS_PUB))
        return SSS_ERR_ARG;
    EVP_PKEY *pub = spki_parse(spki, spki_len);
    if (!pub)
        return SSS_ERR_FORMAT;
    sss_status st = SSS_ERR_UNSUPPORTED;
    if (EVP_PKEY_is_a(pub, "EC"))
        st = nxp_encode_ec(pub, id, key_class, pem, pem_len);
    else if (EVP_PKEY_is_a(pub, "RSA"))
        st = nxp_encode_rsa(pub, id, pem, pem_len);
    EVP_PKEY_free(pub);
    return st;
}

/* ---- decoders ---------------------------------------------------------- */

static sss_status spki_of(EVP_PKEY *pk, sss_refkey *out)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    if (n <= 0)
        return SSS_ERR_FORMAT;
    sss_status st = dup_out(der, (size_t)n, &out->spki, &out->spki_len);
    OPENSSL_free(der);
    return st;
}

/* Our DER; SSS_ERR_FORMAT if it is not exactly one valid structure. */
static sss_status decode_ours(OSSL_LIB_CTX *libctx, const uint8_t *der, size_t len,
                              sss_refkey *out)
{
    const unsigned char *p = der;
    SSS_REFKEY_ASN1 *r =
        (SSS_REFKEY_ASN1 *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(SSS_REFKEY_ASN1));
    if (!r)
        return SSS_ERR_FORMAT;
    sss_status st = SSS_ERR_FORMAT;
    int64_t ver = 0;
    unsigned char *spki = NULL;
    int n;
    if (p != der + len || ASN1_INTEGER_get_int64(&ver, r->version) != 1 ||
        ver != SSS_REFKEY_VERSION ||
        sss_refkey_uri_parse((const char *)ASN1_STRING_get0_data(r->uri),
                             (size_t)ASN1_STRING_length(r->uri), &out->id) != SSS_OK)
        goto done;
    n = i2d_X509_PUBKEY(r->pub, &spki);
    if (n <= 0)
        goto done;
    EVP_PKEY *pk = spki_parse_ex(libctx, spki, (size_t)n);
    if (pk) {
        EVP_PKEY_free(pk);
        st = dup_out(spki, (size_t)n, &out->spki, &out->spki_len);
        out->format = SSS_REFKEY_OURS;
        out->key_class = SSS_REFKEY_NXP_CLASS_PAIR;
    }
done:
    OPENSSL_free(spki);
    ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(SSS_REFKEY_ASN1));
    return st;
}

static sss_status decode_nxp_ec(EVP_PKEY *pk, sss_refkey *out)
{
    BIGNUM *priv = NULL;
    uint8_t s[80];
    size_t flen = (size_t)(EVP_PKEY_get_bits(pk) + 7) / 8;
    sss_status st = SSS_ERR_FORMAT;
    if (flen < 15 || flen > sizeof(s) ||
        !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &priv) ||
        BN_bn2binpad(priv, s, (int)flen) < 0)
        goto out;
    if (s[0] != 0x10 || s[flen - 1] != 0x00 ||
        memcmp(s + flen - 10, NXP_MAGIC, sizeof(NXP_MAGIC)) != 0 ||
        (s[flen - 2] != SSS_REFKEY_NXP_CLASS_PAIR && s[flen - 2] != SSS_REFKEY_NXP_CLASS_PUB))
        goto out;
    for (size_t i = 1; i < flen - 14; i++)
        if (s[i] != 0)
            goto out;
    out->id = (uint32_t)s[flen - 14] << 24 | (uint32_t)s[flen - 13] << 16 |
              (uint32_t)s[flen - 12] << 8 | s[flen - 11];
    out->key_class = s[flen - 2];
    out->format = SSS_REFKEY_NXP_EC;
    st = spki_of(pk, out);
out:
    BN_free(priv);
    return st;
}

static sss_status decode_nxp_rsa(EVP_PKEY *pk, sss_refkey *out)
{
    BIGNUM *p = NULL, *q = NULL, *iqmp = NULL;
    sss_status st = SSS_ERR_FORMAT;
    if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_FACTOR1, &p) ||
        !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_FACTOR2, &q) ||
        !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &iqmp))
        goto out;
    if (!BN_is_one(p) || !BN_is_word(iqmp, NXP_RSA_IQMP) || BN_num_bits(q) > 32)
        goto out;
    out->id = (uint32_t)BN_get_word(q);
    out->key_class = SSS_REFKEY_NXP_CLASS_PAIR;
    out->format = SSS_REFKEY_NXP_RSA;
    st = spki_of(pk, out);
out:
    BN_free(p);
    BN_free(q);
    BN_free(iqmp);
    return st;
}

/* A private key in DER (PKCS#8 or traditional) holding NXP's magic. */
static sss_status decode_nxp(OSSL_LIB_CTX *libctx, const uint8_t *der, size_t len,
                             sss_refkey *out)
{
    const unsigned char *p = der;
    EVP_PKEY *pk = d2i_AutoPrivateKey_ex(NULL, &p, (long)len, libctx, NULL);
    if (!pk)
        return SSS_ERR_FORMAT;
    sss_status st = SSS_ERR_FORMAT;
    if (p != der + len)
        st = SSS_ERR_FORMAT;
    else if (EVP_PKEY_is_a(pk, "EC"))
        st = decode_nxp_ec(pk, out);
    else if (EVP_PKEY_is_a(pk, "RSA"))
        st = decode_nxp_rsa(pk, out);
    EVP_PKEY_free(pk);
    return st;
}

static bool looks_pem(const uint8_t *in, size_t len)
{
    size_t i = 0;
    while (i < len && (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n'))
        i++;
    return len - i >= 10 && memcmp(in + i, "-----BEGIN", 10) == 0;
}

static sss_status decode_pem(OSSL_LIB_CTX *libctx, const uint8_t *in, size_t len,
                             sss_refkey *out)
{
    BIO *b = BIO_new_mem_buf(in, (int)len);
    if (!b)
        return SSS_ERR_NOMEM;
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    sss_status st = SSS_ERR_FORMAT;
    if (PEM_read_bio(b, &name, &header, &data, &dlen) == 1 && dlen > 0) {
        if (strcmp(name, SSS_REFKEY_PEM_LABEL) == 0)
            st = decode_ours(libctx, data, (size_t)dlen, out);
        else if (strcmp(name, "EC PRIVATE KEY") == 0 || strcmp(name, "RSA PRIVATE KEY") == 0 ||
                 strcmp(name, "PRIVATE KEY") == 0)
            st = decode_nxp(libctx, data, (size_t)dlen, out);
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    if (data != NULL)
        OPENSSL_cleanse(data, (size_t)dlen);
    OPENSSL_free(data);
    BIO_free(b);
    return st;
}

static sss_status decode_any(OSSL_LIB_CTX *libctx, const uint8_t *in, size_t len,
                             sss_refkey *out)
{
    if (!out)
        return SSS_ERR_ARG;
    memset(out, 0, sizeof(*out));
    if (!in || len == 0 || len > 0x100000)
        return SSS_ERR_FORMAT;
    sss_status st;
    if (looks_pem(in, len))
        st = decode_pem(libctx, in, len, out);
    else if ((st = decode_ours(libctx, in, len, out)) != SSS_OK)
        st = decode_nxp(libctx, in, len, out);
    if (st != SSS_OK)
        sss_refkey_free(out);
    return st;
}

sss_status sss_refkey_decode(const uint8_t *in, size_t len, sss_refkey *out)
{
    sss_status st = decode_any(NULL, in, len, out);
    ERR_clear_error(); /* failed trial decodes leave libcrypto errors behind */
    return st;
}

sss_status sss_refkey_decode_ex(OSSL_LIB_CTX *libctx, const uint8_t *in, size_t len,
                                sss_refkey *out)
{
    ERR_set_mark();
    sss_status st = decode_any(libctx, in, len, out);
    ERR_pop_to_mark(); /* failed trial decodes are not the caller's errors */
    return st;
}

bool sss_refkey_nxp_maybe(const uint8_t *der, size_t len)
{
    /* EC: the 8-byte magic inside the private scalar; RSA: iqmp is the
     * INTEGER 0xA5A6B5B6 (content 00 A5 A6 B5 B6, the sign byte needed) */
    static const uint8_t rsa_iqmp[] = {0x02, 0x05, 0x00, 0xA5, 0xA6, 0xB5, 0xB6};
    if (!der)
        return false;
    return (len >= sizeof(NXP_MAGIC) && memmem(der, len, NXP_MAGIC, sizeof(NXP_MAGIC)) != NULL) ||
           (len >= sizeof(rsa_iqmp) && memmem(der, len, rsa_iqmp, sizeof(rsa_iqmp)) != NULL);
}

void sss_refkey_free(sss_refkey *r)
{
    if (!r)
        return;
    free(r->spki);
    memset(r, 0, sizeof(*r));
}
