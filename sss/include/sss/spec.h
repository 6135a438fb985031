/* Parsing of the text a user gives to reach SE05x objects, shared by the
 * se05x CLI (--auth*, --policy) and the OpenSSL provider (openssl.cnf and
 * environment, genpkey's se05x-policy): object ids, hex strings, session
 * authentication (method, auth object id, UserID value or AES key, host EC
 * key, platform SCP03 key file) and object policies. One parser per concept:
 * both front ends call these and only choose the option names shown in the
 * error messages. */
#ifndef SSS_SPEC_H
#define SSS_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/policy.h"
#include "sss/sss.h"

/* Object id: hex with or without "0x", 1..8 digits ("7DA00001"). */
bool sss_parse_id(const char *s, uint32_t *id);
/* Hex over the first len characters of s (spaces, tabs, newlines and ':'
 * allowed between bytes, not inside one). False on odd digits, another
 * character or more than cap bytes; *outlen gets the byte count. */
bool sss_parse_hex(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen);

/* Longest secret of a session: a UserID value (1..16 bytes) or an AES key
 * (exactly 16 bytes). */
#define SSS_AUTH_SECRET_MAX 16

/* How the caller names its options, for error messages ("--auth-id" in the
 * CLI, "auth_id" in openssl.cnf). NULL fields fall back to the openssl.cnf
 * names. */
typedef struct {
    const char *method, *auth_id, *secret, *secret_file, *eckey, *scp03_keyfile;
} sss_auth_names;

/* The text of an authentication choice (any field may be NULL or ""). */
typedef struct {
    /* none | platformscp03 (also scp03, platform_scp03, platformscp) |
     * userid | aeskey | eckey; case-insensitive; unset = none */
    const char *method;
    const char *auth_id;       /* auth object id (hex) for userid/aeskey/eckey */
    const char *secret;        /* HEX, or @FILE: UserID value or AES key */
    const char *secret_file;   /* FILE with that secret (hex text or raw bytes) */
    const char *eckey;         /* PEM file (or PEM text): the host's EC private key (eckey) */
    const char *scp03_keyfile; /* platform SCP03 keys; alone it means platformscp03 */
    const sss_auth_names *names;
} sss_auth_text;

/* A checked authentication choice. The secret stays here until
 * sss_auth_spec_clear() wipes it. */
typedef struct {
    sss_auth auth;
    uint32_t auth_id;
    uint8_t secret[SSS_AUTH_SECRET_MAX];
    size_t secret_len;
    char *eckey;         /* owned path (or PEM text), NULL unless eckey */
    char *scp03_keyfile; /* owned path or NULL (combines with a session auth) */
} sss_auth_spec;

/* Check and convert. A secret file holding hex text (trailing whitespace
 * ignored) is read as hex, any other content as the raw bytes. Rules:
 * platformscp03 needs scp03_keyfile; userid and aeskey need auth_id and
 * exactly one of secret / secret_file (userid 1..16 bytes, aeskey 16);
 * eckey needs auth_id and eckey (a readable file or PEM text); a secret, key or id for a
 * method that does not use it is refused. On failure *out is cleared, err
 * (never holding secret bytes) gets one line and SSS_ERR_ARG (bad value),
 * SSS_ERR_FORMAT (unreadable secret) or SSS_ERR_NOMEM is returned. */
sss_status sss_auth_spec_parse(const sss_auth_text *in, sss_auth_spec *out, char *err,
                               size_t errlen);
/* Point the auth fields of cfg at spec (which must outlive the call to
 * sss_session_open). */
void sss_auth_spec_apply(const sss_auth_spec *spec, sss_session_cfg *cfg);
/* Wipe the secret and free the paths; the spec becomes "none". */
void sss_auth_spec_clear(sss_auth_spec *spec);
/* "none", "platformscp03", "userid", "aeskey", "eckey". */
const char *sss_auth_name(sss_auth a);

/* Object policy text: entries separated by ';', each "[AUTHID:]rules" with
 * AUTHID a hex auth object id (default 0: every session / no session) and
 * rules as for se05x_ar_parse ("sign,verify,read", '|' or '+' also
 * separate, or a "0x..." bitmap). Rules for the same id merge. On failure
 * err names the problem and SSS_ERR_ARG is returned (SSS_ERR_NOMEM). */
sss_status sss_policy_parse_text(const char *rules, se05x_policy *p, char *err, size_t errlen);

#endif
