/* SE05x elliptic-curve ids (spec §2.4) and the one table that maps them to
 * names (SE05x middleware names, OpenSSL group / key-type names, NIST/RFC
 * aliases) and field lengths. Shared by hostlib, the simulator and sss. */
#ifndef SE05X_CURVES_H
#define SE05X_CURVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/status.h"

enum {
    SE05X_CURVE_NONE = 0x00,
    SE05X_CURVE_NIST_P192 = 0x01,
    SE05X_CURVE_NIST_P224 = 0x02,
    SE05X_CURVE_NIST_P256 = 0x03,
    SE05X_CURVE_NIST_P384 = 0x04,
    SE05X_CURVE_NIST_P521 = 0x05,
    SE05X_CURVE_BP160 = 0x06,
    SE05X_CURVE_BP192 = 0x07,
    SE05X_CURVE_BP224 = 0x08,
    SE05X_CURVE_BP256 = 0x09,
    SE05X_CURVE_BP320 = 0x0A,
    SE05X_CURVE_BP384 = 0x0B,
    SE05X_CURVE_BP512 = 0x0C,
    SE05X_CURVE_SECP160K1 = 0x0D,
    SE05X_CURVE_SECP192K1 = 0x0E,
    SE05X_CURVE_SECP224K1 = 0x0F,
    SE05X_CURVE_SECP256K1 = 0x10,
    SE05X_CURVE_TPM_BN_P256 = 0x11,
    SE05X_CURVE_ED25519 = 0x40,
    SE05X_CURVE_X25519 = 0x41,
    SE05X_CURVE_X448 = 0x43,
};

typedef struct {
    uint8_t id;
    const char *se_name; /* NXP middleware name: "NIST_P256", "ED_25519", ... */
    const char *ossl;    /* OpenSSL group ("prime256v1") or key type ("ED25519"); NULL if none */
    const char *alias;   /* NIST / RFC name ("P-256", "Ed25519"), may be NULL */
    int nid;             /* OpenSSL NID of a Weierstrass group, 0 (NID_undef) otherwise */
    uint8_t field_len;   /* private key / coordinate length in bytes */
    bool raw;            /* Edwards/Montgomery: keys are byte strings, reversed on the SE */
} se05x_curve_info;

/* Entry for a curve id, NULL if unknown. */
const se05x_curve_info *se05x_curve_info_get(uint8_t curve);
/* i-th table entry (0-based), NULL past the end: for iteration. */
const se05x_curve_info *se05x_curve_info_at(size_t i);

/* "NIST_P256", "Brainpool256", "Secp256k1", "ED_25519", ... or NULL. */
const char *se05x_curve_name(uint8_t curve);
/* Accepts middleware names, OpenSSL names, NIST/RFC aliases, SEC 2 spellings
 * and anything OpenSSL resolves to one of the groups (case-insensitive).
 * SE05X_ERR_NOT_FOUND if unknown. */
se05x_status se05x_curve_from_name(const char *name, uint8_t *curve);
/* Private-key / coordinate length in bytes (32 for P-256), 0 if unknown. */
size_t se05x_curve_field_len(uint8_t curve);
/* OpenSSL EC group name of a Weierstrass curve, NULL for others/unknown. */
const char *se05x_curve_ossl_name(uint8_t curve);

/* Byte order of Edwards/Montgomery key values (spec §2.2), converted in
 * place between the RFC 7748 / RFC 8032 byte strings (OpenSSL's raw keys)
 * and the SE's order; the conversion is its own inverse, so it serves both
 * directions. X25519/X448: private keys, public keys and ECDH shared
 * secrets reversed. Ed25519: public keys reversed, the private seed
 * (is_private) unchanged. Weierstrass and unknown curves: unchanged. */
void se05x_curve_raw_order(uint8_t curve, bool is_private, uint8_t *buf, size_t len);

#endif
