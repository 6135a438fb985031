/* se05x_psa: mbedTLS 3.6 PSA secure-element driver for SE05x keys (issue 5,
 * architecture "provider/psa"). Two layers:
 *   - the core (se05x_psa_core_*): plain functions on an sss session that do
 *     the SE work in PSA terms (key types, algorithms, formats, statuses);
 *     no psa_drv_se_t in sight, so a unified opaque-driver adapter
 *     (mbedTLS 4 / TF-PSA-Crypto) can reuse them unchanged;
 *   - the SE driver adapter (se05x_psa_register): a psa_drv_se_t registered
 *     with psa_register_se_driver() at SE05X_PSA_LOCATION.
 * Key ids: a PSA key at SE05X_PSA_LOCATION lives in the SE object whose id
 * is its slot number; without an explicit slot number the SE object id is
 * the PSA key id itself (docs/psa-driver.md has the full mapping).
 * All SE access goes through one sss session guarded by a mutex. */
#ifndef SE05X_PSA_H
#define SE05X_PSA_H

#include <stddef.h>
#include <stdint.h>

#include <psa/crypto.h>

#include "sss/sss.h"

/* PSA key location of SE05x keys: 0x000001, PSA's "primary secure element".
 * The vendor range (bit 23, e.g. 0x800005) cannot be used: mbedTLS 3.6's
 * secure-element interface accepts locations 1..PSA_MAX_SE_LOCATION (255)
 * only (docs/psa-driver.md). Lifetime of persistent SE05x keys: */
#define SE05X_PSA_LOCATION ((psa_key_location_t)0x000001)
#define SE05X_PSA_LIFETIME \
    PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(PSA_KEY_PERSISTENCE_DEFAULT, SE05X_PSA_LOCATION)

/* ---- core ------------------------------------------------------------ */

typedef struct se05x_psa_core se05x_psa_core;

/* A core on a session opened lazily from cfg (copied; strings too) on first
 * use, and re-tried on the next call if the SE was unreachable. */
psa_status_t se05x_psa_core_new(const sss_session_cfg *cfg, se05x_psa_core **out);
/* A core on an existing session (borrowed: the caller closes it after
 * se05x_psa_core_free). */
psa_status_t se05x_psa_core_new_session(sss_session *s, se05x_psa_core **out);
void se05x_psa_core_free(se05x_psa_core *c);
/* SE object policy given to keys the core creates (generate, import). */
typedef enum {
    SE05X_PSA_SE_POLICY_DEFAULT = 0, /* the SE's default policy (no TAG_POLICY) */
    SE05X_PSA_SE_POLICY_FROM_USAGE,  /* rules from the PSA usage flags, for the
                                        session's auth id (0 without one):
                                        SIGN_* -> SIGN, VERIFY_* -> VERIFY,
                                        DERIVE -> KA, ENCRYPT -> ENC, DECRYPT -> DEC;
                                        always READ and DELETE (export public,
                                        psa_destroy_key) */
} se05x_psa_se_policy;
void se05x_psa_core_set_se_policy(se05x_psa_core *c, se05x_psa_se_policy mode);

/* One line explaining the last failure of this core (thread-unsafe view). */
const char *se05x_psa_core_errmsg(const se05x_psa_core *c);

/* PSA_SUCCESS if no object with id exists (free for creation);
 * PSA_ERROR_ALREADY_EXISTS if occupied; PSA_ERROR_INVALID_ARGUMENT for 0 or
 * a reserved id. */
psa_status_t se05x_psa_core_check_free(se05x_psa_core *c, uint32_t id);
/* The object at id exists and is a key usable with type/bits (registration). */
psa_status_t se05x_psa_core_check_key(se05x_psa_core *c, uint32_t id, psa_key_type_t type,
                                      size_t bits);
/* PSA type and bits of the key object at id (for registering SE objects). */
psa_status_t se05x_psa_core_key_type(se05x_psa_core *c, uint32_t id, psa_key_type_t *type,
                                     size_t *bits);
/* Generate an ECC (SECP_R1 256/384/521) or RSA (2048/3072/4096) key pair
 * inside the SE at id; usage feeds SE05X_PSA_SE_POLICY_FROM_USAGE. */
psa_status_t se05x_psa_core_generate(se05x_psa_core *c, uint32_t id, psa_key_type_t type,
                                     size_t bits, psa_key_usage_t usage);
/* Import in PSA format (ECC pair: private scalar; ECC public: uncompressed
 * point; RSA pair: RSAPrivateKey DER; RSA public: RSAPublicKey DER).
 * *bits receives the key size. */
psa_status_t se05x_psa_core_import(se05x_psa_core *c, uint32_t id, psa_key_type_t type,
                                   psa_key_usage_t usage, const uint8_t *data, size_t len,
                                   size_t *bits);
/* Public key in PSA format (uncompressed point / RSAPublicKey DER). */
psa_status_t se05x_psa_core_export_public(se05x_psa_core *c, uint32_t id, uint8_t *out,
                                          size_t cap, size_t *len);
/* Delete the SE object (an absent object is not an error). */
psa_status_t se05x_psa_core_destroy(se05x_psa_core *c, uint32_t id);
/* Sign a hash: PSA_ALG_ECDSA(h) / PSA_ALG_ECDSA_ANY (raw r||s out),
 * PSA_ALG_RSA_PKCS1V15_SIGN(h) / _RAW, PSA_ALG_RSA_PSS(h). */
psa_status_t se05x_psa_core_sign(se05x_psa_core *c, uint32_t id, psa_algorithm_t alg,
                                 const uint8_t *hash, size_t hlen, uint8_t *sig, size_t cap,
                                 size_t *siglen);
/* Verify on the SE (ECDSA signatures raw r||s, as PSA defines them). */
psa_status_t se05x_psa_core_verify(se05x_psa_core *c, uint32_t id, psa_algorithm_t alg,
                                   const uint8_t *hash, size_t hlen, const uint8_t *sig,
                                   size_t siglen);

/* DER ECDSA-Sig-Value <-> raw r||s (each half field_bytes long). */
psa_status_t se05x_psa_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t field_bytes,
                                        uint8_t *raw, size_t cap, size_t *rawlen);
psa_status_t se05x_psa_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t *der,
                                        size_t cap, size_t *derlen);
/* sss_status -> psa_status_t (documented in docs/psa-driver.md). */
psa_status_t se05x_psa_status(sss_status st);

/* ---- PSA secure-element driver (MBEDTLS_PSA_CRYPTO_SE_C) -------------- */

/* Register the driver at SE05X_PSA_LOCATION; call before psa_crypto_init()
 * (and again after each mbedtls_psa_crypto_free(), which forgets drivers).
 * On success the driver owns core (freed by se05x_psa_unregister or the
 * next successful register); on failure (e.g. PSA_ERROR_ALREADY_EXISTS when
 * registered twice) the caller keeps it. PSA keeps its registered
 * drivers in process-global state until mbedtls_psa_crypto_free(), so the
 * driver keeps its core in one process-global slot too. */
psa_status_t se05x_psa_register(se05x_psa_core *core);
/* Free the driver's core; call after mbedtls_psa_crypto_free(). */
void se05x_psa_unregister(void);
/* The registered core (NULL if none): for error messages. */
se05x_psa_core *se05x_psa_driver_core(void);

/* Register the existing SE object se_id (e.g. a pre-provisioned 0xF0000000)
 * as the persistent PSA key `key_id` at SE05X_PSA_LOCATION, with its type
 * and size read from the SE, the given usage, algorithm policy `alg` and an
 * optional second algorithm `alg2` (mbedTLS's enrolment algorithm, 0 = none;
 * e.g. PKCS#1 v1.5 + PSS for an RSA key used with TLS 1.2 and 1.3).
 * PSA_ERROR_ALREADY_EXISTS if key_id exists. Needs psa_crypto_init() done
 * and the driver registered. */
psa_status_t se05x_psa_register_object(psa_key_id_t key_id, uint32_t se_id,
                                       psa_key_usage_t usage, psa_algorithm_t alg,
                                       psa_algorithm_t alg2);

#endif
