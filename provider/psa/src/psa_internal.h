/* se05x_psa private declarations: key-format conversions between PSA's
 * export/import formats and the DER forms sss takes (psa_format.c). */
#ifndef SE05X_PSA_INTERNAL_H
#define SE05X_PSA_INTERNAL_H

#include "se05x_psa.h"

/* PSA import data of `type` -> DER for sss_key_import (*der malloc'ed;
 * caller cleanses and frees), with the import kind and the key size. */
psa_status_t se05x_psa_psa_to_der(psa_key_type_t type, const uint8_t *data, size_t len,
                                  uint8_t **der, size_t *derlen, sss_import_kind *kind,
                                  size_t *bits);
/* DER SubjectPublicKeyInfo -> PSA public-key format (EC point / RSAPublicKey). */
psa_status_t se05x_psa_spki_to_psa(const uint8_t *spki, size_t len, uint8_t *out, size_t cap,
                                   size_t *outlen);

/* Set the core's error line (for the driver adapter). */
void se05x_psa_core_seterr(se05x_psa_core *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
