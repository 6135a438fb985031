/* Typed SE05x applet commands (spec §2) on top of a connection. Each
 * function builds one command (or the middleware's fixed multi-APDU
 * sequence), sends it through se05x_conn_apdu() and parses the answer
 * strictly (exact TLVs in order, nothing trailing).
 *
 * Errors: a status word other than 9000 gives SE05X_ERR_SW (the SW is in
 * se05x_conn_last_sw()); a malformed answer gives the SE05X_ERR_TLV_* code
 * of the problem. In both cases se05x_conn_errmsg() holds one line such as
 * "ReadObject 0xF0000001: SE answered 6985 (conditions of use not satisfied)".
 *
 * Version-dependent encodings (TAG_11 object version, TAG_POLICY_CHECK,
 * curve-specific object types) follow the applet version of the last SELECT
 * (se05x_applet_is_7x()). */
#ifndef SE05X_COMMANDS_H
#define SE05X_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/conn.h"
#include "se05x/curves.h"
#include "se05x/policy.h"
#include "se05x/status.h"

/* ---- constants ------------------------------------------------------ */

#define SE05X_OBJID_UID 0x7FFF0206u /* 18-byte chip unique id */
#define SE05X_UID_LEN 18
#define SE05X_BINARY_CHUNK 500 /* MW chunk size for binary read/write */
#define SE05X_VERSION_LEN 7
#define SE05X_EXT_VERSION_LEN 37

/* Key part (P1 bits). */
#define SE05X_KEY_PAIR 0x60
#define SE05X_KEY_PRIVATE 0x40
#define SE05X_KEY_PUBLIC 0x20

/* P1 credential types used by commands here. */
#define SE05X_P1_EC 0x01
#define SE05X_P1_RSA 0x02
#define SE05X_P1_AES 0x03
#define SE05X_P1_DES 0x04
#define SE05X_P1_HMAC 0x05

#define SE05X_CURVE_LIST_MAX 17
#define SE05X_CURVE_NOT_SET 0x01
#define SE05X_CURVE_SET 0x02

/* SetECCurveParam parameter ids. */
enum {
    SE05X_CURVE_PARAM_A = 0x01,
    SE05X_CURVE_PARAM_B = 0x02,
    SE05X_CURVE_PARAM_G = 0x04,
    SE05X_CURVE_PARAM_N = 0x08,
    SE05X_CURVE_PARAM_PRIME = 0x10,
};

/* Secure object types (ReadType, ReadIDList filter; 3.x values; 7.x EC
 * types are curve-specific, see se05x_type_ec_info()). */
enum {
    SE05X_TYPE_EC_KEY_PAIR = 0x01,
    SE05X_TYPE_EC_PRIV = 0x02,
    SE05X_TYPE_EC_PUB = 0x03,
    SE05X_TYPE_RSA_KEY_PAIR = 0x04,
    SE05X_TYPE_RSA_KEY_PAIR_CRT = 0x05,
    SE05X_TYPE_RSA_PRIV = 0x06,
    SE05X_TYPE_RSA_PRIV_CRT = 0x07,
    SE05X_TYPE_RSA_PUB = 0x08,
    SE05X_TYPE_AES = 0x09,
    SE05X_TYPE_DES = 0x0A,
    SE05X_TYPE_BINARY = 0x0B,
    SE05X_TYPE_USERID = 0x0C,
    SE05X_TYPE_COUNTER = 0x0D,
    SE05X_TYPE_PCR = 0x0F,
    SE05X_TYPE_CURVE = 0x10,
    SE05X_TYPE_HMAC = 0x11,
    SE05X_TYPE_ALL = 0xFF, /* ReadIDList filter */
};

/* GetFreeMemory memory types. */
enum { SE05X_MEM_PERSISTENT = 1, SE05X_MEM_TRANSIENT_RESET = 2, SE05X_MEM_TRANSIENT_DESELECT = 3 };

/* Algorithms (spec §2.6, §2.7). */
enum {
    SE05X_ECSIGN_SHA1 = 0x11, SE05X_ECSIGN_SHA224 = 0x25, SE05X_ECSIGN_SHA256 = 0x21,
    SE05X_ECSIGN_SHA384 = 0x22, SE05X_ECSIGN_SHA512 = 0x26, SE05X_EDDSA_PURE = 0xA3,
};
enum {
    SE05X_RSASIGN_PKCS1_SHA1 = 0x0A, SE05X_RSASIGN_PKCS1_SHA224 = 0x27,
    SE05X_RSASIGN_PKCS1_SHA256 = 0x28, SE05X_RSASIGN_PKCS1_SHA384 = 0x29,
    SE05X_RSASIGN_PKCS1_SHA512 = 0x2A, SE05X_RSASIGN_PSS_SHA1 = 0x15,
    SE05X_RSASIGN_PSS_SHA224 = 0x2B, SE05X_RSASIGN_PSS_SHA256 = 0x2C,
    SE05X_RSASIGN_PSS_SHA384 = 0x2D, SE05X_RSASIGN_PSS_SHA512 = 0x2E,
};
enum { SE05X_RSAENC_NO_PAD = 0x0C, SE05X_RSAENC_PKCS1 = 0x0A, SE05X_RSAENC_OAEP = 0x0F };
enum {
    SE05X_DIGEST_SHA1 = 0x01, SE05X_DIGEST_SHA224 = 0x07, SE05X_DIGEST_SHA256 = 0x04,
    SE05X_DIGEST_SHA384 = 0x05, SE05X_DIGEST_SHA512 = 0x06,
};
enum {
    SE05X_CIPHER_AES_ECB_NOPAD = 0x0E, SE05X_CIPHER_AES_CBC_NOPAD = 0x0D,
    SE05X_CIPHER_AES_CBC_M1 = 0x16, SE05X_CIPHER_AES_CBC_M2 = 0x17, SE05X_CIPHER_AES_CTR = 0xF0,
};
enum {
    SE05X_MAC_HMAC_SHA1 = 0x18, SE05X_MAC_HMAC_SHA256 = 0x19, SE05X_MAC_HMAC_SHA384 = 0x1A,
    SE05X_MAC_HMAC_SHA512 = 0x1B, SE05X_MAC_CMAC_128 = 0x31,
};
/* RSA components (ReadObject TAG_4). */
enum { SE05X_RSA_COMP_MOD = 0x00, SE05X_RSA_COMP_PUB_EXP = 0x01, SE05X_RSA_COMP_NONE = 0xFF };

/* ---- names ---------------------------------------------------------- */

/* Curve ids and names: see se05x/curves.h. */
/* Human-readable type name, e.g. "EC key pair", "EC public key (NIST_P256)",
 * "binary", "RSA key pair (CRT)"; "unknown" for unknown codes. */
const char *se05x_type_name(uint8_t type);
/* EC type decoding for 3.x (01..03) and 7.x (0x21..0x73) codes: key part
 * (SE05X_KEY_*) and curve (SE05X_CURVE_NONE for 3.x codes). */
bool se05x_type_ec_info(uint8_t type, uint8_t *keypart, uint8_t *curve);

/* ---- version / management ------------------------------------------- */

typedef struct {
    uint8_t major, minor, patch;
    uint16_t config; /* applet features bitmap (spec §2.10) */
    uint8_t sb_major, sb_minor;
} se05x_version;

void se05x_version_decode(const uint8_t raw[SE05X_VERSION_LEN], se05x_version *v);
/* Comma-separated names of the feature bits in config ("ECDSA/ECDH,EdDSA,..."). */
size_t se05x_features_format(uint16_t config, char *buf, size_t cap);
/* True when the selected applet is 7.x or newer (major >= 7). */
bool se05x_applet_is_7x(const se05x_conn *c);

/* GetVersion (80 04 00 20); raw may be NULL. */
se05x_status se05x_get_version(se05x_conn *c, se05x_version *v, uint8_t raw[SE05X_VERSION_LEN]);
/* GetExtVersion (7.x). */
se05x_status se05x_get_ext_version(se05x_conn *c, uint8_t out[SE05X_EXT_VERSION_LEN]);
se05x_status se05x_get_timestamp(se05x_conn *c, uint8_t ts[12]);
/* GetFreeMemory (SE05X_MEM_*). */
se05x_status se05x_get_free_memory(se05x_conn *c, uint8_t memtype, uint32_t *free_bytes);
/* GetRandom; requests of more than 512 bytes are split. */
se05x_status se05x_get_random(se05x_conn *c, uint8_t *out, size_t len);
/* DeleteAll (needs a FACTORY_RESET session). */
se05x_status se05x_delete_all(se05x_conn *c);

/* ---- object metadata ------------------------------------------------- */

se05x_status se05x_object_exists(se05x_conn *c, uint32_t id, bool *exists);
se05x_status se05x_delete_object(se05x_conn *c, uint32_t id);
se05x_status se05x_read_size(se05x_conn *c, uint32_t id, uint16_t *size);
/* ReadType: type code and transient indicator byte (either may be NULL). */
se05x_status se05x_read_type(se05x_conn *c, uint32_t id, uint8_t *type, uint8_t *transient);
/* Object attributes (ReadObjectAttributes, spec §2.3): id(4) · type(1) ·
 * auth indicator(1: 01 not set / 02 set) · tag length or failed attempts(2)
 * · owner auth id(4) · RFU or max attempts(2) · policy · origin(1) ·
 * version (3.x: 1 byte, 7.x: 4 bytes). */
typedef struct {
    uint32_t id;
    uint8_t type;          /* as ReadType (curve-specific EC codes on 7.x) */
    bool auth;             /* authentication object */
    uint16_t attempts;     /* auth: failed attempts; else GMAC tag length */
    uint32_t owner;        /* owning auth object id */
    uint16_t max_attempts; /* auth objects; RFU otherwise */
    se05x_policy policy;   /* empty when the object has no explicit policy */
    uint8_t origin;        /* 01 external, 02 internal, 03 provisioned */
    uint32_t version;
} se05x_obj_attrs;
/* ReadObjectAttributes (80 02 00 3B): answer in TAG_2 (3.x) / TAG_3 (7.x). */
se05x_status se05x_read_attributes(se05x_conn *c, uint32_t id, se05x_obj_attrs *a);
/* Parse an attributes value (as above; v7 selects the version width). */
se05x_status se05x_attrs_parse(const uint8_t *buf, size_t len, bool v7, se05x_obj_attrs *a);
/* One ReadIDList page starting after `offset` ids; *more set from the
 * more-indicator (02). SE05X_ERR_BUFFER if more than cap ids came. */
se05x_status se05x_read_id_list_page(se05x_conn *c, uint16_t offset, uint8_t filter,
                                     uint32_t *ids, size_t cap, size_t *n, bool *more);
/* All pages. *ids is malloc'ed (free() it); filter SE05X_TYPE_ALL for all. */
se05x_status se05x_read_id_list(se05x_conn *c, uint8_t filter, uint32_t **ids, size_t *n);

/* ---- reading objects ------------------------------------------------- */

/* ReadObject with optional offset/length (0 = omitted). *len: in capacity,
 * out bytes read. */
se05x_status se05x_read_object(se05x_conn *c, uint32_t id, uint16_t offset, uint16_t length,
                               uint8_t *out, size_t *len);
/* ReadObject of one RSA public component (SE05X_RSA_COMP_MOD / _PUB_EXP). */
se05x_status se05x_read_rsa_component(se05x_conn *c, uint32_t id, uint8_t comp, uint8_t *out,
                                      size_t *len);
/* Binary file: ReadSize, then ReadObject in 500-byte chunks. *len: in
 * capacity, out size. */
se05x_status se05x_read_binary(se05x_conn *c, uint32_t id, uint8_t *out, size_t *len);
/* The 18-byte UID (ReadObject 0x7FFF0206, length 18). */
se05x_status se05x_read_uid(se05x_conn *c, uint8_t uid[SE05X_UID_LEN]);

/* Attested read (80 22). The answer is kept in raw[]; the pointers refer
 * into it. 7.x layout: data (may be absent) · uid · attributes · size ·
 * timestamp · signature. 3.x layout: data · attributes · timestamp ·
 * freshness · uid · signature (size absent). */
typedef struct {
    bool v7;
    const uint8_t *data; size_t data_len;
    const uint8_t *uid; size_t uid_len;
    const uint8_t *attributes; size_t attributes_len;
    const uint8_t *size; size_t size_len; /* 7.x */
    const uint8_t *timestamp; size_t timestamp_len;
    const uint8_t *freshness; size_t freshness_len; /* 3.x echo */
    const uint8_t *signature; size_t signature_len;
    uint8_t cmd[300]; size_t cmd_len; /* the command payload as sent */
    uint8_t raw[SE05X_APDU_MAX]; size_t raw_len;
    OSSL_LIB_CTX *libctx; /* the connection's library context (NULL = default), for _verify */
} se05x_attested_read;

se05x_status se05x_read_object_attested(se05x_conn *c, uint32_t id, uint16_t offset,
                                        uint16_t length, uint32_t attest_key, uint8_t algo,
                                        const uint8_t freshness[16], se05x_attested_read *out);
/* Verify the attestation signature with the attestation key's public key
 * (uncompressed P-256/384/521 point `04||X||Y` with curve id). ECDSA-SHA-256
 * over SHA-256(cmd) || re-encoded TLVs (7.x) or over the concatenated
 * values (3.x). SE05X_ERR_CRYPTO if the signature does not verify. */
se05x_status se05x_attested_read_verify(const se05x_attested_read *a, uint8_t curve,
                                        const uint8_t *pub, size_t pub_len);

/* ---- writing objects ------------------------------------------------- */

/* Options shared by write commands (NULL = all defaults). */
typedef struct {
    const se05x_policy *policy; /* TAG_POLICY at creation (NULL/empty = omitted) */
    bool transient;             /* INS |= 0x80 */
    bool auth;                  /* INS |= 0x40: authentication object */
    uint16_t max_attempts;      /* TAG_MAX_ATTEMPTS (auth objects), 0 = omitted */
    uint32_t version;           /* 7.x TAG_11 object version (imports) */
} se05x_obj_opts;

/* One WriteECKey APDU. `exists` = the object exists already: TAG_2 is
 * dropped, the policy becomes TAG_POLICY_CHECK (7.x) or is omitted (3.x),
 * and for imports P1 carries no key part. Key part SE05X_KEY_PAIR without
 * priv/pub = generate on chip. TAG_11 is appended on 7.x for imports only
 * (generation is sent without it, as NXP's middleware does). */
typedef struct {
    uint32_t id;
    uint8_t curve;
    uint8_t keypart; /* SE05X_KEY_PAIR / _PRIVATE / _PUBLIC */
    const uint8_t *priv; size_t priv_len;
    const uint8_t *pub; size_t pub_len;
    bool exists;
} se05x_ec_key;
se05x_status se05x_write_ec_key(se05x_conn *c, const se05x_obj_opts *o, const se05x_ec_key *k);

/* Middleware flow: curve ensure → CheckObjectExists → (exists: GetECCurveId
 * must match) → WriteECKey. */
se05x_status se05x_ec_generate(se05x_conn *c, const se05x_obj_opts *o, uint32_t id, uint8_t curve);
/* Import a key pair (priv and pub), a public key (priv NULL) or a private
 * key (pub NULL). Values in SE format (spec §2.2). */
se05x_status se05x_ec_import(se05x_conn *c, const se05x_obj_opts *o, uint32_t id, uint8_t curve,
                             const uint8_t *priv, size_t priv_len, const uint8_t *pub,
                             size_t pub_len);

/* RSA components (big-endian, any may be NULL/0). */
typedef struct {
    const uint8_t *p, *q, *dp, *dq, *qinv, *e, *d, *n;
    size_t p_len, q_len, dp_len, dq_len, qinv_len, e_len, d_len, n_len;
} se05x_rsa_comps;
/* Generate an RSA key pair of `bits` (one APDU, P1 0x62, P2 CRT 00 / raw 4F). */
se05x_status se05x_rsa_generate(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                                uint16_t bits, bool crt);
/* Import with the middleware's component sequence (spec §2.2): keypart
 * SE05X_KEY_PAIR (CRT when p is set, else raw d), SE05X_KEY_PUBLIC (e, n)
 * or SE05X_KEY_PRIVATE. `exists`: no size/policy on the first APDU. */
se05x_status se05x_rsa_import(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                              uint16_t bits, uint8_t keypart, const se05x_rsa_comps *k,
                              bool exists);

/* Key values of an OpenSSL key in SE format (spec §2.2; keyvals.c), for
 * se05x_ec_import / se05x_write_ec_key: Weierstrass curves of the curve
 * table give the big-endian private scalar of field length and 04||X||Y;
 * Ed25519, X25519 and X448 give raw byte strings in the SE's order
 * (se05x_curve_raw_order). The private value only when pair (priv_len 0
 * otherwise). SE05X_ERR_UNSUPPORTED: another key type or a curve not in the
 * table; SE05X_ERR_CRYPTO: values unreadable (e.g. a pair wanted from a
 * public key). Wipe with OPENSSL_cleanse(v, sizeof(*v)). */
typedef struct {
    uint8_t curve;
    uint8_t priv[80];
    size_t priv_len;
    uint8_t pub[1 + 2 * 80];
    size_t pub_len;
} se05x_ec_values;
se05x_status se05x_ec_values_from_pkey(const EVP_PKEY *k, bool pair, se05x_ec_values *v);
/* RSA components for se05x_rsa_import: N and E, and for a pair the CRT
 * components P, Q, DP, DQ, QINV (minimal big-endian, in secure memory).
 * SE05X_ERR_UNSUPPORTED: not RSA or over 4096 bits; SE05X_ERR_CRYPTO: a
 * component missing (e.g. a pair wanted from a public key). Release with
 * se05x_rsa_values_free (wipes). */
typedef struct {
    se05x_rsa_comps c;
    uint16_t bits;
    uint8_t *mem;
} se05x_rsa_values;
se05x_status se05x_rsa_values_from_pkey(const EVP_PKEY *k, bool pair, se05x_rsa_values *v);
void se05x_rsa_values_free(se05x_rsa_values *v);

/* WriteSymmKey: type SE05X_P1_AES / _DES / _HMAC; kek_id 0 = plain key. */
se05x_status se05x_write_symm_key(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                                  uint8_t type, uint32_t kek_id, const uint8_t *key, size_t len);
/* WriteBinary in 500-byte chunks (create: first APDU policy + total length
 * + data; later APDUs offset + data, TAG_POLICY_CHECK on 7.x). `exists`:
 * update in place from offset 0 without length/policy. */
se05x_status se05x_write_binary(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                                const uint8_t *data, size_t len, bool exists);
/* WriteUserID (INS 0x41, auth object). */
se05x_status se05x_write_userid(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                                const uint8_t *value, size_t len);
/* WriteCounter: create with size 1..8; set value (value 0 omitted);
 * increment by one. */
se05x_status se05x_counter_create(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                                  uint16_t size);
se05x_status se05x_counter_set(se05x_conn *c, uint32_t id, uint64_t value, uint16_t size);
se05x_status se05x_counter_increment(se05x_conn *c, uint32_t id);

/* ---- curves ---------------------------------------------------------- */

/* ReadECCurveList: entry i (curve id i+1) is SE05X_CURVE_SET / _NOT_SET. */
se05x_status se05x_read_ec_curve_list(se05x_conn *c, uint8_t list[SE05X_CURVE_LIST_MAX],
                                      size_t *n);
se05x_status se05x_create_ec_curve(se05x_conn *c, uint8_t curve);
se05x_status se05x_set_ec_curve_param(se05x_conn *c, uint8_t curve, uint8_t param,
                                      const uint8_t *val, size_t len);
se05x_status se05x_get_ec_curve_id(se05x_conn *c, uint32_t id, uint8_t *curve);
se05x_status se05x_delete_ec_curve(se05x_conn *c, uint8_t curve);
/* Make sure a Weierstrass curve exists on the SE: if the list says NOT_SET,
 * CreateECCurve + SetECCurveParam A, B, G, N, prime (from OpenSSL). Ed25519
 * is built in; X25519/X448 are created without params on 7.x. */
se05x_status se05x_ec_curve_ensure(se05x_conn *c, uint8_t curve);

/* ---- crypto ---------------------------------------------------------- */

/* ECDSASign over a pre-computed digest; sig receives DER. *sig_len: in cap. */
se05x_status se05x_ecdsa_sign(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *digest,
                              size_t dlen, uint8_t *sig, size_t *sig_len);
/* *valid = SE result 01; result 02 gives *valid = false with SE05X_OK. */
se05x_status se05x_ecdsa_verify(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *digest,
                                size_t dlen, const uint8_t *sig, size_t sig_len, bool *valid);
/* EdDSA (Ed25519, pure): signatures in RFC 8032 form; the wrapper reverses
 * each 32-byte half to/from the SE's byte order. */
se05x_status se05x_eddsa_sign(se05x_conn *c, uint32_t id, const uint8_t *msg, size_t len,
                              uint8_t sig[64]);
se05x_status se05x_eddsa_verify(se05x_conn *c, uint32_t id, const uint8_t *msg, size_t len,
                                const uint8_t sig[64], bool *valid);
/* ECDHGenerateSharedSecret; peer in SE format. *out_len: in cap. */
se05x_status se05x_ecdh(se05x_conn *c, uint32_t id, const uint8_t *peer, size_t peer_len,
                        uint8_t *out, size_t *out_len);
/* RSASign (the SE hashes msg); salt_len > 0 adds TAG_4 (PSS salt length). */
se05x_status se05x_rsa_sign(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *msg,
                            size_t len, uint16_t salt_len, uint8_t *sig, size_t *sig_len);
se05x_status se05x_rsa_verify(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *msg,
                              size_t len, uint16_t salt_len, const uint8_t *sig, size_t sig_len,
                              bool *valid);
se05x_status se05x_rsa_encrypt(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *in,
                               size_t len, uint8_t *out, size_t *out_len);
se05x_status se05x_rsa_decrypt(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *in,
                               size_t len, uint8_t *out, size_t *out_len);
se05x_status se05x_digest_oneshot(se05x_conn *c, uint8_t mode, const uint8_t *data, size_t len,
                                  uint8_t *out, size_t *out_len);
/* CipherOneShot (AES ECB/CBC/CTR); iv may be NULL (ECB). */
se05x_status se05x_cipher_oneshot(se05x_conn *c, uint32_t id, uint8_t mode, bool encrypt,
                                  const uint8_t *iv, size_t iv_len, const uint8_t *in,
                                  size_t len, uint8_t *out, size_t *out_len);
/* MACOneShot generate / validate (HMAC, CMAC). */
se05x_status se05x_mac_oneshot(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *data,
                               size_t len, uint8_t *mac, size_t *mac_len);
se05x_status se05x_mac_validate(se05x_conn *c, uint32_t id, uint8_t algo, const uint8_t *data,
                                size_t len, const uint8_t *mac, size_t mac_len, bool *valid);

#endif
