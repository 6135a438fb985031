/* The SE05x curve table (see se05x/curves.h): one place for curve ids,
 * names and sizes, used by hostlib, the simulator and sss; and the byte
 * order of Edwards/Montgomery key values on the SE. */
#include "se05x/curves.h"

#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <strings.h>

static const se05x_curve_info CURVES[] = {
    {SE05X_CURVE_NIST_P192, "NIST_P192", "prime192v1", "P-192", NID_X9_62_prime192v1, 24, false},
    {SE05X_CURVE_NIST_P224, "NIST_P224", "secp224r1", "P-224", NID_secp224r1, 28, false},
    {SE05X_CURVE_NIST_P256, "NIST_P256", "prime256v1", "P-256", NID_X9_62_prime256v1, 32, false},
    {SE05X_CURVE_NIST_P384, "NIST_P384", "secp384r1", "P-384", NID_secp384r1, 48, false},
    {SE05X_CURVE_NIST_P521, "NIST_P521", "secp521r1", "P-521", NID_secp521r1, 66, false},
    {SE05X_CURVE_BP160, "Brainpool160", "brainpoolP160r1", NULL, NID_brainpoolP160r1, 20, false},
    {SE05X_CURVE_BP192, "Brainpool192", "brainpoolP192r1", NULL, NID_brainpoolP192r1, 24, false},
    {SE05X_CURVE_BP224, "Brainpool224", "brainpoolP224r1", NULL, NID_brainpoolP224r1, 28, false},
    {SE05X_CURVE_BP256, "Brainpool256", "brainpoolP256r1", NULL, NID_brainpoolP256r1, 32, false},
    {SE05X_CURVE_BP320, "Brainpool320", "brainpoolP320r1", NULL, NID_brainpoolP320r1, 40, false},
    {SE05X_CURVE_BP384, "Brainpool384", "brainpoolP384r1", NULL, NID_brainpoolP384r1, 48, false},
    {SE05X_CURVE_BP512, "Brainpool512", "brainpoolP512r1", NULL, NID_brainpoolP512r1, 64, false},
    {SE05X_CURVE_SECP160K1, "Secp160k1", "secp160k1", NULL, NID_secp160k1, 20, false},
    {SE05X_CURVE_SECP192K1, "Secp192k1", "secp192k1", NULL, NID_secp192k1, 24, false},
    {SE05X_CURVE_SECP224K1, "Secp224k1", "secp224k1", NULL, NID_secp224k1, 28, false},
    {SE05X_CURVE_SECP256K1, "Secp256k1", "secp256k1", NULL, NID_secp256k1, 32, false},
    /* TPM BN curve: OpenSSL has no such group */
    {SE05X_CURVE_TPM_BN_P256, "BN_P256", NULL, "BN-P256", NID_undef, 32, false},
    {SE05X_CURVE_ED25519, "ED_25519", "ED25519", "Ed25519", NID_undef, 32, true},
    {SE05X_CURVE_X25519, "MONT_DH_25519", "X25519", NULL, NID_undef, 32, true},
    {SE05X_CURVE_X448, "MONT_DH_448", "X448", NULL, NID_undef, 56, true},
};
#define N_CURVES (sizeof(CURVES) / sizeof(CURVES[0]))

const se05x_curve_info *se05x_curve_info_get(uint8_t curve)
{
    for (size_t i = 0; i < N_CURVES; i++)
        if (CURVES[i].id == curve)
            return &CURVES[i];
    return NULL;
}

const se05x_curve_info *se05x_curve_info_at(size_t i) { return i < N_CURVES ? &CURVES[i] : NULL; }

const char *se05x_curve_name(uint8_t curve)
{
    const se05x_curve_info *ci = se05x_curve_info_get(curve);
    return ci ? ci->se_name : NULL;
}

size_t se05x_curve_field_len(uint8_t curve)
{
    const se05x_curve_info *ci = se05x_curve_info_get(curve);
    return ci ? ci->field_len : 0;
}

const char *se05x_curve_ossl_name(uint8_t curve)
{
    const se05x_curve_info *ci = se05x_curve_info_get(curve);
    return ci && ci->nid != NID_undef ? ci->ossl : NULL;
}

void se05x_curve_raw_order(uint8_t curve, bool is_private, uint8_t *buf, size_t len)
{
    const se05x_curve_info *ci = se05x_curve_info_get(curve);
    if (!ci || !ci->raw || !buf || (is_private && curve == SE05X_CURVE_ED25519))
        return;
    for (size_t i = 0; i < len / 2; i++) {
        uint8_t t = buf[i];
        buf[i] = buf[len - 1 - i];
        buf[len - 1 - i] = t;
    }
}

se05x_status se05x_curve_from_name(const char *name, uint8_t *curve)
{
    if (!name || !curve)
        return SE05X_ERR_ARG;
    for (size_t i = 0; i < N_CURVES; i++) {
        const se05x_curve_info *ci = &CURVES[i];
        if (strcasecmp(name, ci->se_name) == 0 || (ci->ossl && strcasecmp(name, ci->ossl) == 0) ||
            (ci->alias && strcasecmp(name, ci->alias) == 0)) {
            *curve = ci->id;
            return SE05X_OK;
        }
    }
    /* SEC 2 spellings of the X9.62 prime curves and other names OpenSSL
     * resolves (OIDs, long names, NIST names) */
    int nid = OBJ_txt2nid(name);
    if (nid == NID_undef)
        nid = OBJ_sn2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    if (nid == NID_undef && strcasecmp(name, "secp256r1") == 0)
        nid = NID_X9_62_prime256v1;
    if (nid == NID_undef && strcasecmp(name, "secp192r1") == 0)
        nid = NID_X9_62_prime192v1;
    if (nid != NID_undef) {
        for (size_t i = 0; i < N_CURVES; i++)
            if (CURVES[i].nid == nid) {
                *curve = CURVES[i].id;
                return SE05X_OK;
            }
    }
    return SE05X_ERR_NOT_FOUND;
}
