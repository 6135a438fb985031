/* se05x_psa SE driver: the psa_drv_se_t adapter (mbedTLS 3.6,
 * MBEDTLS_PSA_CRYPTO_SE_C) over the core's plain functions, its
 * registration at SE05X_PSA_LOCATION, and registration of existing SE
 * objects as PSA keys. Slot number = SE object id (docs/psa-driver.md).
 * PSA's driver table is process-global, so is the driver's core pointer
 * (the one piece of global mutable state here; set before psa_crypto_init,
 * cleared after mbedtls_psa_crypto_free). */
/* psa_drv_se_t's fields are wrapped in MBEDTLS_PRIVATE(); a driver that
 * fills the table needs to name them. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include <stdatomic.h>

#include <psa/crypto_se_driver.h>

#include "psa_internal.h"

static _Atomic(se05x_psa_core *) g_core;

se05x_psa_core *se05x_psa_driver_core(void)
{
    return atomic_load(&g_core);
}

static psa_status_t core_or_fail(se05x_psa_core **c)
{
    *c = atomic_load(&g_core);
    return *c ? PSA_SUCCESS : PSA_ERROR_BAD_STATE;
}

static psa_status_t slot_to_id(psa_key_slot_number_t slot, uint32_t *id)
{
    if (slot == 0 || slot > UINT32_MAX)
        return PSA_ERROR_INVALID_ARGUMENT;
    *id = (uint32_t)slot;
    return PSA_SUCCESS;
}

static psa_status_t drv_init(psa_drv_se_context_t *ctx, void *persistent, psa_key_location_t loc)
{
    /* The SE session opens lazily on first use: an unreachable SE must not
     * make psa_crypto_init() fail for software keys. */
    return PSA_SUCCESS;
}

/* mbedTLS 3.6 loses PSA_ERROR_ALREADY_EXISTS when it creates or registers
 * an SE key under a PSA id that is already in storage (the status of the
 * storage write is overwritten when its transaction completes), so the
 * driver refuses such ids itself. Called without PSA's slot mutex held. */
static psa_status_t psa_id_unused(const psa_key_attributes_t *attr)
{
    psa_key_attributes_t cur = PSA_KEY_ATTRIBUTES_INIT;
    psa_status_t ps = psa_get_key_attributes(psa_get_key_id(attr), &cur);
    psa_reset_key_attributes(&cur);
    if (ps != PSA_SUCCESS)
        return PSA_SUCCESS;
    se05x_psa_core *c = atomic_load(&g_core);
    if (c)
        se05x_psa_core_seterr(c, "se05x psa: PSA key id 0x%08X already exists",
                              (unsigned)MBEDTLS_SVC_KEY_ID_GET_KEY_ID(psa_get_key_id(attr)));
    return PSA_ERROR_ALREADY_EXISTS;
}

/* Default mapping: SE object id = PSA key id. */
static psa_status_t drv_allocate(psa_drv_se_context_t *ctx, void *persistent,
                                 const psa_key_attributes_t *attr, psa_key_creation_method_t m,
                                 psa_key_slot_number_t *slot)
{
    se05x_psa_core *c;
    psa_status_t ps = core_or_fail(&c);
    if (ps != PSA_SUCCESS)
        return ps;
    uint32_t id = MBEDTLS_SVC_KEY_ID_GET_KEY_ID(psa_get_key_id(attr));
    ps = psa_id_unused(attr);
    if (ps == PSA_SUCCESS)
        ps = se05x_psa_core_check_free(c, id);
    if (ps == PSA_SUCCESS)
        *slot = id;
    return ps;
}

static psa_status_t drv_validate(psa_drv_se_context_t *ctx, void *persistent,
                                 const psa_key_attributes_t *attr, psa_key_creation_method_t m,
                                 psa_key_slot_number_t slot)
{
    se05x_psa_core *c;
    uint32_t id;
    psa_status_t ps = core_or_fail(&c);
    if (ps == PSA_SUCCESS)
        ps = slot_to_id(slot, &id);
    if (ps == PSA_SUCCESS)
        ps = psa_id_unused(attr);
    if (ps != PSA_SUCCESS)
        return ps;
    if (m == PSA_KEY_CREATION_REGISTER)
        return se05x_psa_core_check_key(c, id, psa_get_key_type(attr), psa_get_key_bits(attr));
    return se05x_psa_core_check_free(c, id);
}

static psa_status_t drv_import(psa_drv_se_context_t *ctx, psa_key_slot_number_t slot,
                               const psa_key_attributes_t *attr, const uint8_t *data,
                               size_t len, size_t *bits)
{
    se05x_psa_core *c;
    uint32_t id;
    psa_status_t ps = core_or_fail(&c);
    if (ps == PSA_SUCCESS)
        ps = slot_to_id(slot, &id);
    if (ps != PSA_SUCCESS)
        return ps;
    ps = se05x_psa_core_import(c, id, psa_get_key_type(attr), psa_get_key_usage_flags(attr),
                               data, len, bits);
    if (ps == PSA_SUCCESS && psa_get_key_bits(attr) != 0 && psa_get_key_bits(attr) != *bits) {
        (void)se05x_psa_core_destroy(c, id);
        return PSA_ERROR_INVALID_ARGUMENT;
    }
    return ps;
}

static psa_status_t drv_generate(psa_drv_se_context_t *ctx, psa_key_slot_number_t slot,
                                 const psa_key_attributes_t *attr, uint8_t *pub, size_t pubcap,
                                 size_t *publen)
{
    se05x_psa_core *c;
    uint32_t id;
    psa_status_t ps = core_or_fail(&c);
    if (ps == PSA_SUCCESS)
        ps = slot_to_id(slot, &id);
    if (ps != PSA_SUCCESS)
        return ps;
    ps = se05x_psa_core_generate(c, id, psa_get_key_type(attr), psa_get_key_bits(attr),
                                 psa_get_key_usage_flags(attr));
    if (ps == PSA_SUCCESS && pub && pubcap && publen)
        ps = se05x_psa_core_export_public(c, id, pub, pubcap, publen);
    return ps;
}

static psa_status_t drv_destroy(psa_drv_se_context_t *ctx, void *persistent,
                                psa_key_slot_number_t slot)
{
    se05x_psa_core *c;
    uint32_t id;
    psa_status_t ps = core_or_fail(&c);
    if (ps == PSA_SUCCESS)
        ps = slot_to_id(slot, &id);
    return ps == PSA_SUCCESS ? se05x_psa_core_destroy(c, id) : ps;
}

static psa_status_t drv_export(psa_drv_se_context_t *ctx, psa_key_slot_number_t slot,
                               uint8_t *out, size_t cap, size_t *len)
{
    /* Private keys never leave the SE; public keys go through p_export_public. */
    return PSA_ERROR_NOT_PERMITTED;
}

static psa_status_t drv_export_public(psa_drv_se_context_t *ctx, psa_key_slot_number_t slot,
                                      uint8_t *out, size_t cap, size_t *len)
{
    se05x_psa_core *c;
    uint32_t id;
    psa_status_t ps = core_or_fail(&c);
    if (ps == PSA_SUCCESS)
        ps = slot_to_id(slot, &id);
    return ps == PSA_SUCCESS ? se05x_psa_core_export_public(c, id, out, cap, len) : ps;
}

static psa_status_t drv_sign(psa_drv_se_context_t *ctx, psa_key_slot_number_t slot,
                             psa_algorithm_t alg, const uint8_t *hash, size_t hlen, uint8_t *sig,
                             size_t cap, size_t *siglen)
{
    se05x_psa_core *c;
    uint32_t id;
    psa_status_t ps = core_or_fail(&c);
    if (ps == PSA_SUCCESS)
        ps = slot_to_id(slot, &id);
    return ps == PSA_SUCCESS ? se05x_psa_core_sign(c, id, alg, hash, hlen, sig, cap, siglen) : ps;
}

static psa_status_t drv_verify(psa_drv_se_context_t *ctx, psa_key_slot_number_t slot,
                               psa_algorithm_t alg, const uint8_t *hash, size_t hlen,
                               const uint8_t *sig, size_t siglen)
{
    se05x_psa_core *c;
    uint32_t id;
    psa_status_t ps = core_or_fail(&c);
    if (ps == PSA_SUCCESS)
        ps = slot_to_id(slot, &id);
    return ps == PSA_SUCCESS ? se05x_psa_core_verify(c, id, alg, hash, hlen, sig, siglen) : ps;
}

static const psa_drv_se_key_management_t key_management = {
    .p_allocate = drv_allocate,
    .p_validate_slot_number = drv_validate,
    .p_import = drv_import,
    .p_generate = drv_generate,
    .p_destroy = drv_destroy,
    .p_export = drv_export,
    .p_export_public = drv_export_public,
};

static const psa_drv_se_asymmetric_t asymmetric = {
    .p_sign = drv_sign,
    .p_verify = drv_verify,
};

static const psa_drv_se_t driver = {
    .hal_version = PSA_DRV_SE_HAL_VERSION,
    .persistent_data_size = 0,
    .p_init = drv_init,
    .key_management = &key_management,
    .asymmetric = &asymmetric,
};

psa_status_t se05x_psa_register(se05x_psa_core *core)
{
    if (!core)
        return PSA_ERROR_INVALID_ARGUMENT;
    psa_status_t ps = psa_register_se_driver(SE05X_PSA_LOCATION, &driver);
    if (ps != PSA_SUCCESS)
        return ps;
    se05x_psa_core_free(atomic_exchange(&g_core, core));
    return PSA_SUCCESS;
}

void se05x_psa_unregister(void)
{
    se05x_psa_core_free(atomic_exchange(&g_core, NULL));
}

psa_status_t se05x_psa_register_object(psa_key_id_t key_id, uint32_t se_id,
                                       psa_key_usage_t usage, psa_algorithm_t alg,
                                       psa_algorithm_t alg2)
{
    se05x_psa_core *c;
    psa_status_t ps = core_or_fail(&c);
    if (ps != PSA_SUCCESS)
        return ps;
    psa_key_type_t type;
    size_t bits;
    ps = se05x_psa_core_key_type(c, se_id, &type, &bits);
    if (ps != PSA_SUCCESS)
        return ps;
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_id(&a, key_id);
    psa_set_key_lifetime(&a, SE05X_PSA_LIFETIME);
    psa_set_key_type(&a, type);
    psa_set_key_bits(&a, bits);
    psa_set_key_usage_flags(&a, usage);
    psa_set_key_algorithm(&a, alg);
    if (alg2)
        psa_set_key_enrollment_algorithm(&a, alg2);
    psa_set_key_slot_number(&a, se_id);
    ps = mbedtls_psa_register_se_key(&a);
    psa_reset_key_attributes(&a);
    return ps;
}
