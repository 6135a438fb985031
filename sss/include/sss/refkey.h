/* Reference keys: files that name a key inside an SE05x instead of holding
 * it, so that tools (the se05x CLI, the OpenSSL provider) can pass "this SE
 * key" around as a file. Two formats:
 *  - ours (docs/refkey.md): PEM label "SE05X KEY REFERENCE", DER
 *      SEQUENCE { version INTEGER 1, uri UTF8String "se05x:0x<8 hex>",
 *                 publicKey SubjectPublicKeyInfo }
 *  - NXP's magic-number keys (spec §7.1/§7.2), for tools that expect them:
 *    EC: an "EC PRIVATE KEY" (Ed25519: PKCS#8 "PRIVATE KEY") whose private
 *    scalar is 10 | 00.. | key id (4) | A5 A6 B5 B6 A5 A6 B5 B6 | class | 00
 *    with the real public key; RSA: an "RSA PRIVATE KEY" with p = 1,
 *    q = key id, iqmp = 0xA5A6B5B6 and the real n, e.
 * Encoders take the key's public key as DER SubjectPublicKeyInfo (what
 * sss_key_public_der() gives). Outputs are malloc'ed (free()). */
#ifndef SSS_REFKEY_H
#define SSS_REFKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sss/sss.h"

#define SSS_REFKEY_PEM_LABEL "SE05X KEY REFERENCE"
#define SSS_REFKEY_URI_PREFIX "se05x:0x"
#define SSS_REFKEY_VERSION 1

/* NXP key class byte (spec §7.1). */
#define SSS_REFKEY_NXP_CLASS_PAIR 0x10
#define SSS_REFKEY_NXP_CLASS_PUB 0x20

typedef enum {
    SSS_REFKEY_OURS = 1, /* "SE05X KEY REFERENCE" */
    SSS_REFKEY_NXP_EC,   /* EC or Ed25519 magic-number private key */
    SSS_REFKEY_NXP_RSA,  /* RSA magic-number private key */
} sss_refkey_format;

typedef struct {
    sss_refkey_format format;
    uint32_t id;
    uint8_t key_class; /* NXP EC: SSS_REFKEY_NXP_CLASS_*; else SSS_REFKEY_NXP_CLASS_PAIR */
    uint8_t *spki;     /* DER SubjectPublicKeyInfo (malloc'ed) */
    size_t spki_len;
} sss_refkey;

/* Our format, DER or PEM. SSS_ERR_FORMAT if spki is not a valid
 * SubjectPublicKeyInfo (nothing may follow it). */
sss_status sss_refkey_encode_der(uint32_t id, const uint8_t *spki, size_t spki_len, uint8_t **der,
                                 size_t *der_len);
sss_status sss_refkey_encode_pem(uint32_t id, const uint8_t *spki, size_t spki_len, char **pem,
                                 size_t *pem_len);

/* NXP's format as PEM (EC: "EC PRIVATE KEY"; Ed25519: "PRIVATE KEY";
 * RSA: "RSA PRIVATE KEY"; key_class is used for EC only). Other key types
 * give SSS_ERR_UNSUPPORTED. */
sss_status sss_refkey_nxp_encode_pem(uint32_t id, uint8_t key_class, const uint8_t *spki,
                                     size_t spki_len, char **pem, size_t *pem_len);

/* Decode any of the formats above, PEM or DER. A plain private key (no
 * magic) or any malformed input gives SSS_ERR_FORMAT; out is then zeroed.
 * On success release with sss_refkey_free(). */
sss_status sss_refkey_decode(const uint8_t *in, size_t len, sss_refkey *out);
/* The same with libcrypto's work (key parsing) done in libctx (NULL: the
 * process default), e.g. a provider's private library context so that
 * decoding never recurses into the application's decoders. Unlike
 * sss_refkey_decode() it leaves libcrypto's error queue as it found it. */
sss_status sss_refkey_decode_ex(OSSL_LIB_CTX *libctx, const uint8_t *in, size_t len,
                                sss_refkey *out);
/* Cheap pre-test on DER (no parsing): true if in carries NXP's EC magic
 * (A5 A6 B5 B6 A5 A6 B5 B6) or the RSA iqmp INTEGER 0xA5A6B5B6; false
 * means it cannot be an NXP reference. */
bool sss_refkey_nxp_maybe(const uint8_t *der, size_t len);
void sss_refkey_free(sss_refkey *r);

/* Formats "se05x:0x%08X" into buf (>= 17 bytes); parses it back (exactly
 * 8 hex digits after the prefix). */
void sss_refkey_uri(uint32_t id, char *buf, size_t cap);
sss_status sss_refkey_uri_parse(const char *uri, size_t len, uint32_t *id);

#endif
