/* SE05x object policies (spec §3.1): named access rules (SE05X_AR_*),
 * entries per authentication object id (rules for the same id are merged),
 * serialisation to the TAG_POLICY value `L | auth id (4) | AR (4) | ext`,
 * parsing of such a value, and conversion between access-rule bitmaps and
 * comma-separated names ("sign,verify,read") for the CLI. */
#ifndef SE05X_POLICY_H
#define SE05X_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/status.h"

/* Access-rule bits (4-byte big-endian bitmap; 3.x / 7.x names). */
#define SE05X_AR_TLS_KDF 0x80000000u           /* 7.x */
#define SE05X_AR_TLS_PMS 0x40000000u           /* 7.x */
#define SE05X_AR_FORBID_ALL 0x20000000u
#define SE05X_AR_SIGN 0x10000000u
#define SE05X_AR_VERIFY 0x08000000u
#define SE05X_AR_KA 0x04000000u
#define SE05X_AR_ENC 0x02000000u
#define SE05X_AR_DEC 0x01000000u
#define SE05X_AR_KDF 0x00800000u               /* 3.x KDF, 7.x HKDF */
#define SE05X_AR_HKDF SE05X_AR_KDF
#define SE05X_AR_WRAP 0x00400000u
#define SE05X_AR_READ 0x00200000u
#define SE05X_AR_WRITE 0x00100000u
#define SE05X_AR_GEN 0x00080000u
#define SE05X_AR_DELETE 0x00040000u
#define SE05X_AR_REQUIRE_SM 0x00020000u
#define SE05X_AR_REQUIRE_PCR_VALUE 0x00010000u /* + PCR id (4) + 32-byte value */
#define SE05X_AR_ATTESTATION 0x00008000u
#define SE05X_AR_DESFIRE_AUTH 0x00004000u
#define SE05X_AR_DESFIRE_DUMP 0x00002000u
#define SE05X_AR_IMPORT_EXPORT 0x00001000u
#define SE05X_AR_FORBID_DERIVED_OUTPUT 0x00000800u /* 7.x */
#define SE05X_AR_KDF_EXT_RANDOM 0x00000400u    /* 7.x */
#define SE05X_AR_DESFIRE_CHANGEKEY 0x00000200u /* 7.x, + 4-byte ext */
#define SE05X_AR_DERIVED_INPUT 0x00000100u     /* 7.x, + 4-byte ext */
#define SE05X_AR_PBKDF 0x00000080u             /* 7.x */
#define SE05X_AR_DESFIRE_KDF 0x00000040u       /* 7.x */
#define SE05X_AR_FORBID_EXTERNAL_IV 0x00000020u /* 7.x */
#define SE05X_AR_HMAC_PEPPER 0x00000010u       /* 7.x */
#define SE05X_AR_INTERNAL_SIGN 0x00000008u     /* 7.x SE051H, + 4-byte ext */

/* Limits (NXP middleware): an entry is at most 55 bytes (L byte included),
 * a whole policy at most 256 bytes. */
#define SE05X_POLICY_MAX_ENTRIES 16
#define SE05X_POLICY_MAX_EXT 46
#define SE05X_POLICY_MAX_BYTES 256

typedef struct {
    uint32_t auth_id; /* 0 = default / sessionless user */
    uint32_t ar;      /* SE05X_AR_* bits */
    uint8_t ext[SE05X_POLICY_MAX_EXT];
    uint8_t ext_len;
} se05x_policy_entry;

typedef struct {
    se05x_policy_entry e[SE05X_POLICY_MAX_ENTRIES];
    size_t n;
} se05x_policy;

void se05x_policy_init(se05x_policy *p);
/* Add rules for auth_id; merged into an existing entry for the same id.
 * SE05X_ERR_BUFFER when the entry table is full. */
se05x_status se05x_policy_add(se05x_policy *p, uint32_t auth_id, uint32_t ar);
/* Add rules with an extension (e.g. REQUIRE_PCR_VALUE: PCR id || 32-byte
 * value). Merging with an entry that already has a different extension is
 * SE05X_ERR_ARG. */
se05x_status se05x_policy_add_ext(se05x_policy *p, uint32_t auth_id, uint32_t ar,
                                  const uint8_t *ext, size_t ext_len);
/* Serialise as the TAG_POLICY value. An empty policy gives *len = 0. */
se05x_status se05x_policy_serialize(const se05x_policy *p, uint8_t *out, size_t cap, size_t *len);
/* Parse a TAG_POLICY value (e.g. from object attributes). Entries shorter
 * than 8 or running past the end give SE05X_ERR_TLV_LENGTH. */
se05x_status se05x_policy_parse(const uint8_t *buf, size_t len, se05x_policy *p);

/* Name of one access-rule bit ("sign", "read", ...); NULL if unknown. */
const char *se05x_ar_name(uint32_t bit);
/* Parse "sign,verify,read" (also '|' or '+' separators, case-insensitive,
 * "0x..." hex bitmaps allowed) into *ar. On error, err names the bad word. */
se05x_status se05x_ar_parse(const char *names, uint32_t *ar, char *err, size_t errlen);
/* Format *ar as comma-separated names (unknown bits as 0x........).
 * Returns the length that the full text needs (like snprintf). */
size_t se05x_ar_format(uint32_t ar, char *buf, size_t cap);

#endif
