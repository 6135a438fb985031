/* GlobalPlatform SCP03 primitives (spec §5) and the applet-session wrapper
 * format (spec §2.8), implemented once in se05x_core and used by both the
 * host library (platform channel, AESKey sessions) and the simulator (card
 * side). Only AES-128 static keys and security level 0x33
 * (C-MAC | C-DEC | R-MAC | R-ENC) are supported.
 *
 * A se05x_scp03_ctx is one end of a channel. The same object type and the
 * same functions serve both ends; each end calls the functions of its role:
 *
 *   host                                     card
 *   derive(keys, host_chal, card_chal)       derive(keys, host_chal, card_chal)
 *   cryptogram(HOST/CARD)                    cryptogram(CARD) -> INIT UPDATE answer
 *   ext_auth_build() -> 84 82 33 00 10 ..    ext_auth_check(apdu)
 *   wrap_cmd(plain) -> wrapped               unwrap_cmd(wrapped) -> plain
 *   unwrap_rsp(wrapped) -> plain             wrap_rsp(plain) -> wrapped
 *
 * Every wrap_cmd/unwrap_cmd must be followed by exactly one
 * unwrap_rsp/wrap_rsp: the response step applies the counter rule of the
 * channel (se05x_scp03_rule) and so keeps both ends in step. A failed MAC
 * check leaves the context unusable (the caller drops the channel).
 *
 * Library context: a context's crypto runs with the algorithms of its
 * se05x_scp03_algs (ctx->algs, set by the _ex functions): fetched once from
 * one OSSL_LIB_CTX and reused for every operation of the channel. Without
 * one (algs NULL, what the plain functions set) every operation fetches
 * from the process default library context. */
#ifndef SE05X_SCP03_H
#define SE05X_SCP03_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "se05x/status.h"

#define SE05X_SCP03_KEY_LEN 16
#define SE05X_SCP03_CHAL_LEN 8
#define SE05X_SCP03_MAC_LEN 8
/* Security level sent in EXTERNAL AUTHENTICATE P1. */
#define SE05X_SCP03_LEVEL 0x33u
/* Length of the INITIALIZE UPDATE answer (without SW) we emit. */
#define SE05X_SCP03_IU_RSP_LEN 29u
/* Default platform key version (spec §5.1). */
#define SE05X_SCP03_KVN_DEFAULT 0x0Bu

/* KDF derivation constants (spec §5.2). */
enum {
    SE05X_SCP03_DD_CARD_CRYPTO = 0x00,
    SE05X_SCP03_DD_HOST_CRYPTO = 0x01,
    SE05X_SCP03_DD_S_ENC = 0x04,
    SE05X_SCP03_DD_S_MAC = 0x06,
    SE05X_SCP03_DD_S_RMAC = 0x07,
};

/* Counter rules (spec §5.4). */
typedef enum {
    /* applet >= 4.3 (7.x) and every applet-level session: the counter
     * advances after every command, the response IV uses the command's
     * counter value */
    SE05X_SCP03_RULE_7X = 0,
    /* applet 3.x platform SCP ("SCP03" auth in NXP's middleware) */
    SE05X_SCP03_RULE_3X = 1,
} se05x_scp03_rule;

/* Which counter rule applies to platform SCP03 for an applet version. */
se05x_scp03_rule se05x_scp03_rule_for_version(uint8_t major, uint8_t minor);

typedef struct {
    uint8_t enc[SE05X_SCP03_KEY_LEN];
    uint8_t mac[SE05X_SCP03_KEY_LEN];
} se05x_scp03_static;

/* CMAC and AES-128-CBC/ECB fetched once from one library context, with
 * reusable operation contexts. Not thread-safe: one object serves one
 * channel (or one caller) at a time; it outlives every ctx pointing to it. */
typedef struct se05x_scp03_algs se05x_scp03_algs;
/* libctx NULL = the process default context; propq may be NULL. NULL if
 * CMAC or AES-128-CBC/ECB cannot be fetched there (or out of memory). */
se05x_scp03_algs *se05x_scp03_algs_new(OSSL_LIB_CTX *libctx, const char *propq);
void se05x_scp03_algs_free(se05x_scp03_algs *a);
/* The library context a was fetched from (NULL = default). */
OSSL_LIB_CTX *se05x_scp03_algs_libctx(const se05x_scp03_algs *a);

typedef struct {
    uint8_t s_enc[16], s_mac[16], s_rmac[16];
    uint8_t host_chal[8], card_chal[8];
    uint8_t mcv[16];     /* MAC chaining value */
    uint8_t ctr[16];     /* encryption counter, big-endian */
    se05x_scp03_rule rule;
    bool derived;        /* session keys present (after INITIALIZE UPDATE) */
    bool open;           /* EXTERNAL AUTHENTICATE done */
    bool pending;        /* a command was wrapped/unwrapped, response step due */
    size_t pending_lc;   /* plain data length of that command */
    se05x_scp03_algs *algs; /* borrowed; NULL = fetch per operation (default context) */
} se05x_scp03_ctx;

/* ---- primitives ------------------------------------------------------ */

/* out = AES-128-CMAC(key, data). */
se05x_status se05x_scp03_cmac(const uint8_t key[16], const uint8_t *data, size_t len,
                              uint8_t out[16]);
/* GP SCP03 KDF (counter mode, PRF AES-CMAC, one 16-byte block): the first
 * lbits/8 bytes (lbits 64 or 128) of CMAC(key, 00*11 | dd | 00 | L | 01 | ctx). */
se05x_status se05x_scp03_kdf(const uint8_t key[16], uint8_t dd, uint16_t lbits,
                             const uint8_t *context, size_t clen, uint8_t *out);
/* The same with the algorithms of a (NULL = fetch from the default context). */
se05x_status se05x_scp03_cmac_ex(se05x_scp03_algs *a, const uint8_t key[16], const uint8_t *data,
                                 size_t len, uint8_t out[16]);
se05x_status se05x_scp03_kdf_ex(se05x_scp03_algs *a, const uint8_t key[16], uint8_t dd,
                                uint16_t lbits, const uint8_t *context, size_t clen,
                                uint8_t *out);

/* ---- handshake ------------------------------------------------------- */

/* Reset ctx, derive S-ENC/S-MAC/S-RMAC from the static keys and the two
 * challenges, set the counter rule. */
se05x_status se05x_scp03_derive(se05x_scp03_ctx *ctx, const se05x_scp03_static *keys,
                                const uint8_t host_chal[8], const uint8_t card_chal[8],
                                se05x_scp03_rule rule);
/* The same, ctx using the algorithms of a from then on (ctx->algs = a). */
se05x_status se05x_scp03_derive_ex(se05x_scp03_ctx *ctx, se05x_scp03_algs *a,
                                   const se05x_scp03_static *keys, const uint8_t host_chal[8],
                                   const uint8_t card_chal[8], se05x_scp03_rule rule);
/* Card (dd = CARD_CRYPTO) or host (dd = HOST_CRYPTO) cryptogram. */
se05x_status se05x_scp03_cryptogram(const se05x_scp03_ctx *ctx, uint8_t dd, uint8_t out[8]);

/* Card: the 29-byte INITIALIZE UPDATE answer for ctx (already derived):
 * diversification data (10) | kvn | 03 | 00 | card challenge | card cryptogram. */
se05x_status se05x_scp03_iu_answer(const se05x_scp03_ctx *ctx, const uint8_t divdata[10],
                                   uint8_t kvn, uint8_t out[29]);

/* Host: parse an INITIALIZE UPDATE answer (29 or 32 bytes, data only),
 * derive the session keys into ctx and check the card cryptogram.
 * SE05X_ERR_RESPONSE: bad length / not SCP03; SE05X_ERR_SCP: cryptogram. */
se05x_status se05x_scp03_host_iu_check(se05x_scp03_ctx *ctx, const se05x_scp03_static *keys,
                                       const uint8_t host_chal[8], const uint8_t *rsp,
                                       size_t len, se05x_scp03_rule rule);
/* The same, ctx using the algorithms of a (ctx->algs = a). */
se05x_status se05x_scp03_host_iu_check_ex(se05x_scp03_ctx *ctx, se05x_scp03_algs *a,
                                          const se05x_scp03_static *keys,
                                          const uint8_t host_chal[8], const uint8_t *rsp,
                                          size_t len, se05x_scp03_rule rule);

/* Host: build EXTERNAL AUTHENTICATE (21 bytes: 84 82 33 00 10 | host
 * cryptogram | C-MAC) and set the MCV. The channel opens (counter 1) once
 * the caller saw SW 9000: se05x_scp03_ext_auth_done(). */
se05x_status se05x_scp03_ext_auth_build(se05x_scp03_ctx *ctx, uint8_t out[21]);
void se05x_scp03_ext_auth_done(se05x_scp03_ctx *ctx);

/* Card: check an EXTERNAL AUTHENTICATE command (host cryptogram, C-MAC,
 * P1 = 0x33); opens the channel. SE05X_ERR_SCP on any mismatch,
 * SE05X_ERR_APDU if malformed, SE05X_ERR_UNSUPPORTED for another level. */
se05x_status se05x_scp03_ext_auth_check(se05x_scp03_ctx *ctx, const uint8_t *capdu, size_t len);

/* ---- wrapping -------------------------------------------------------- */

/* Host: plain command APDU -> CLA|0x04, C-ENC data, C-MAC. An Le field, if
 * any, is kept after the MAC (not MAC-ed). */
se05x_status se05x_scp03_wrap_cmd(se05x_scp03_ctx *ctx, const uint8_t *capdu, size_t len,
                                  uint8_t *out, size_t cap, size_t *olen);
/* Card: verify C-MAC, decrypt -> plain APDU (CLA without 0x04, Le kept).
 * SE05X_ERR_SCP: MAC/padding wrong (drop the channel); SE05X_ERR_APDU:
 * not a wrapped APDU. */
se05x_status se05x_scp03_unwrap_cmd(se05x_scp03_ctx *ctx, const uint8_t *capdu, size_t len,
                                    uint8_t *out, size_t cap, size_t *olen);
/* Card: response data + SW -> wrapped response (R-ENC, R-MAC on 9000 only;
 * any other SW bare) and counter step. */
se05x_status se05x_scp03_wrap_rsp(se05x_scp03_ctx *ctx, const uint8_t *data, size_t dlen,
                                  uint16_t sw, uint8_t *out, size_t cap, size_t *olen);
/* Host: wrapped response (data || SW) -> plain data || SW and counter step.
 * SE05X_ERR_SCP: R-MAC or padding wrong (drop the channel). */
se05x_status se05x_scp03_unwrap_rsp(se05x_scp03_ctx *ctx, const uint8_t *rapdu, size_t len,
                                    uint8_t *out, size_t cap, size_t *olen);

/* Wipe all key material of ctx. */
void se05x_scp03_ctx_wipe(se05x_scp03_ctx *ctx);

/* ---- platform key file ---------------------------------------------- */

/* Read a key file with lines "ENC <32 hex>", "MAC <32 hex>", "DEK <32 hex>"
 * (any order, labels case-insensitive, # comments and blank lines allowed).
 * The outputs are written only on success. On failure err receives
 * "PATH:LINE: reason" or "PATH: missing MAC key"; SE05X_ERR_IO if the file
 * cannot be read, SE05X_ERR_ARG if its content is wrong. */
se05x_status se05x_scp03_keyfile_read(const char *path, uint8_t enc[16], uint8_t mac[16],
                                      uint8_t dek[16], char *err, size_t errlen);

/* SE050E (OEF 0001A921) development default platform keys, key version
 * 0x0B (public values from NXP AN12436), used by the simulator when no key
 * file is configured. */
extern const uint8_t se05x_scp03_se050e_enc[16], se05x_scp03_se050e_mac[16],
    se05x_scp03_se050e_dek[16];

/* ---- applet-session wrapper (80 05 00 00, spec §2.8) ---------------- */

/* Host: 80 05 00 00 Lc | 10 08 <id> | 41 L <inner>. inner is copied as is
 * (the caller strips Le and SCP-wraps it as needed). Lc short unless the
 * data is >= 255 bytes; no Le. */
se05x_status se05x_sesswrap_build(const uint8_t id[8], const uint8_t *inner, size_t ilen,
                                  uint8_t *out, size_t cap, size_t *olen);
/* Card: parse the data field of an 80 05 command: session id (8 bytes) and
 * inner APDU (pointer into data). SE05X_ERR_TLV_* / SE05X_ERR_APDU when
 * malformed. */
se05x_status se05x_sesswrap_parse(const uint8_t *data, size_t len, uint8_t id[8],
                                  const uint8_t **inner, size_t *ilen);
/* Host: re-encode a plain command APDU the way NXP's middleware sends it
 * inside the wrapper: same header and data, no Le, Lc short unless >= 255. */
se05x_status se05x_sesswrap_inner(const uint8_t *capdu, size_t len, uint8_t *out, size_t cap,
                                  size_t *olen);

/* ---- ECKey sessions (spec §2.8, docs/secure-channels.md "ECKey sessions") */

/* Sizes of the ECKey handshake values. */
#define SE05X_ECKEY_POINT_LEN 65   /* uncompressed P-256 point 04||X||Y */
#define SE05X_ECKEY_DRSE_LEN 16    /* card random DR.SE (response tag 85) */
#define SE05X_ECKEY_RECEIPT_LEN 16 /* receipt (response tag 86) */
/* Response tags of INTERNAL AUTHENTICATE. */
#define SE05X_ECKEY_TAG_DRSE 0x85u
#define SE05X_ECKEY_TAG_RECEIPT 0x86u

/* Whether the master-key input starts with 00 00 00 01 (applet >= 3.5). */
bool se05x_eckey_counter_prefix(uint8_t major, uint8_t minor);

/* Master key = first 16 bytes of SHA-256([00 00 00 01] || z || DR.SE ||
 * 01 33 88 10); prefix as given by se05x_eckey_counter_prefix. */
se05x_status se05x_eckey_master(const uint8_t *z, size_t zlen,
                                const uint8_t drse[SE05X_ECKEY_DRSE_LEN], bool prefix,
                                uint8_t out[16]);
/* The same with SHA-256 fetched from libctx (NULL = default context). */
se05x_status se05x_eckey_master_ex(OSSL_LIB_CTX *libctx, const uint8_t *z, size_t zlen,
                                   const uint8_t drse[SE05X_ECKEY_DRSE_LEN], bool prefix,
                                   uint8_t out[16]);
/* Receipt = AES-CMAC(master key, A6 TLV || 7F49 TLV as sent). */
se05x_status se05x_eckey_receipt(const uint8_t master[16], const uint8_t *signed_part,
                                 size_t len, uint8_t out[SE05X_ECKEY_RECEIPT_LEN]);
se05x_status se05x_eckey_receipt_ex(se05x_scp03_algs *a, const uint8_t master[16],
                                    const uint8_t *signed_part, size_t len,
                                    uint8_t out[SE05X_ECKEY_RECEIPT_LEN]);
/* Reset ctx to an open session channel keyed from the master key: S-ENC,
 * S-MAC, S-RMAC and the initial MCV with KDF constants 04/06/07/08 and an
 * empty context, counter 1, counter rule 7.x. Used by both ends. */
se05x_status se05x_eckey_channel(se05x_scp03_ctx *ctx, const uint8_t master[16]);
/* The same, ctx using the algorithms of a (ctx->algs = a). */
se05x_status se05x_eckey_channel_ex(se05x_scp03_ctx *ctx, se05x_scp03_algs *a,
                                    const uint8_t master[16]);

/* Host: INTERNAL AUTHENTICATE data without the signature:
 * A6 { 4F 10 <applet AID>, 90 03 AB 01 33, 80 01 88, 81 01 10 } ||
 * 7F49 { B0 41 <host ephemeral point>, F0 01 03 }. This is what the host
 * signs and what the receipt covers. */
se05x_status se05x_eckey_auth_body(const uint8_t point[SE05X_ECKEY_POINT_LEN], uint8_t *out,
                                   size_t cap, size_t *olen);
/* Host: append 5F37 <signature> to the body in buf (*len updated). */
se05x_status se05x_eckey_auth_add_sig(uint8_t *buf, size_t cap, size_t *len,
                                      const uint8_t *sig, size_t siglen);
/* Card: parse INTERNAL AUTHENTICATE data strictly (the layout above, every
 * fixed value checked). *signed_len = length of A6 || 7F49; point and sig
 * point into data. SE05X_ERR_TLV_* / SE05X_ERR_APDU when malformed. */
se05x_status se05x_eckey_auth_parse(const uint8_t *data, size_t len, size_t *signed_len,
                                    const uint8_t **point, const uint8_t **sig, size_t *siglen);

/* P-256 public key from an uncompressed point (NULL if not on the curve). */
EVP_PKEY *se05x_eckey_point_pkey(const uint8_t point[SE05X_ECKEY_POINT_LEN]);
/* ECDH: z (32 bytes) = x-coordinate of priv * peer point. */
se05x_status se05x_eckey_ecdh(EVP_PKEY *priv, const uint8_t peer[SE05X_ECKEY_POINT_LEN],
                              uint8_t z[32]);
/* The same in libctx (NULL = default context). */
EVP_PKEY *se05x_eckey_point_pkey_ex(OSSL_LIB_CTX *libctx,
                                    const uint8_t point[SE05X_ECKEY_POINT_LEN]);
se05x_status se05x_eckey_ecdh_ex(OSSL_LIB_CTX *libctx, EVP_PKEY *priv,
                                 const uint8_t peer[SE05X_ECKEY_POINT_LEN], uint8_t z[32]);

#endif
