/* EC curve management of the simulator (spec §2.4): CreateECCurve,
 * SetECCurveParam, GetECCurveId, ReadECCurveList, DeleteECCurve, and the
 * curve state used by WriteECKey. A curve is an internal record stored at
 * SESIM_CURVE_OBJ_BASE | curve id (hidden from the object commands) whose
 * value is the bitmap of parameters set (01 A, 02 B, 04 G, 08 N, 10 prime).
 * Parameter values are length-checked, not stored: the simulator computes
 * with OpenSSL's named curves. Ed25519 is always present; X25519/X448 only
 * need CreateECCurve; Weierstrass curves need all five parameters. */
#include <stdlib.h>

#include "cmd_objects.h"

#define ALL_PARAMS 0x1Fu

static bool weier(uint8_t c) { return c >= 0x01 && c <= 0x11; }
static bool curve_known(uint8_t c) { return weier(c) || c == 0x40 || c == 0x41 || c == 0x43; }

static bool curve_load(sesim *s, uint8_t c, sesim_obj *o)
{
    if (sesim_store_load(s, SESIM_CURVE_OBJ_BASE | c, o) != SE05X_OK)
        return false;
    if (o->type != SESIM_T_CURVE || o->comp[SESIM_C_VALUE].len != 1) {
        sesim_obj_free(o);
        return false;
    }
    return true;
}

bool sesim_curve_is_set(sesim *s, uint8_t curve)
{
    if (curve == 0x40)
        return true;
    if (!curve_known(curve))
        return false;
    sesim_obj o;
    if (!curve_load(s, curve, &o))
        return false;
    bool set = !weier(curve) || o.comp[SESIM_C_VALUE].v[0] == ALL_PARAMS;
    sesim_obj_free(&o);
    return set;
}

static se05x_status curve_save(sesim *s, uint8_t curve, uint8_t bitmap)
{
    sesim_obj o;
    sesim_obj_init(&o);
    o.id = SESIM_CURVE_OBJ_BASE | curve;
    o.type = SESIM_T_CURVE;
    o.curve = curve;
    o.origin = SESIM_ORIGIN_EXTERNAL;
    se05x_status rc = sesim_obj_set_comp(&o, SESIM_C_VALUE, &bitmap, 1);
    if (rc == SE05X_OK)
        rc = sesim_store_save(s, &o);
    sesim_obj_free(&o);
    return rc;
}

se05x_status sesim_curve_install(sesim *s, uint8_t curve)
{
    if (!curve_known(curve) || curve == 0x40)
        return SE05X_ERR_ARG;
    return curve_save(s, curve, weier(curve) ? ALL_PARAMS : 0);
}

static uint16_t get_curve(const sesim_req *r, uint8_t *c)
{
    if (se05x_tlv_get_u8(tag(r, SE05X_TAG_1), c) != SE05X_OK || !curve_known(*c))
        return SE05X_SW_WRONG_DATA;
    return SW_OK;
}

uint16_t objc_curve_create(sesim_req *r)
{
    uint8_t c;
    sesim_obj o;
    uint16_t sw = get_curve(r, &c);
    if (sw != SW_OK)
        return sw;
    if (c == 0x40 || curve_load(r->sim, c, &o)) {
        if (c != 0x40)
            sesim_obj_free(&o);
        return SE05X_SW_CONDITIONS;
    }
    se05x_status rc = curve_save(r->sim, c, 0);
    if (rc == SE05X_ERR_BUFFER)
        return SE05X_SW_NO_MEMORY;
    return rc == SE05X_OK ? SW_OK : SE05X_SW_NO_DIAGNOSIS;
}

/* Expected value length of a parameter, 0 = unknown curve size (any). */
static bool param_len_ok(uint8_t c, uint8_t param, size_t len)
{
    size_t f = se05x_curve_field_len(c);
    if (len == 0 || len > 133)
        return false;
    if (!f)
        return true;
    switch (param) {
    case 0x01: case 0x02: case 0x10: return len == f;
    case 0x04: return len == 2 * f + 1;
    case 0x08: return len <= f + 1;
    default: return false;
    }
}

uint16_t objc_curve_param(sesim_req *r)
{
    uint8_t c, param;
    sesim_obj o;
    uint16_t sw = get_curve(r, &c);
    if (sw != SW_OK)
        return sw;
    const se05x_tlv_item *val = tag(r, SE05X_TAG_3);
    if (se05x_tlv_get_u8(tag(r, SE05X_TAG_2), &param) != SE05X_OK || !val->present)
        return SE05X_SW_WRONG_DATA;
    if (param != 0x01 && param != 0x02 && param != 0x04 && param != 0x08 && param != 0x10)
        return SE05X_SW_WRONG_DATA;
    if (!weier(c))
        return SE05X_SW_CONDITIONS;
    if (!param_len_ok(c, param, val->len))
        return SE05X_SW_WRONG_DATA;
    if (!curve_load(r->sim, c, &o))
        return SE05X_SW_CONDITIONS;
    uint8_t bitmap = o.comp[SESIM_C_VALUE].v[0] | param;
    sesim_obj_free(&o);
    se05x_status rc = curve_save(r->sim, c, bitmap);
    if (rc == SE05X_ERR_BUFFER)
        return SE05X_SW_NO_MEMORY;
    return rc == SE05X_OK ? SW_OK : SE05X_SW_NO_DIAGNOSIS;
}

uint16_t objc_curve_get_id(sesim_req *r)
{
    uint32_t id;
    sesim_obj o;
    uint16_t sw = objc_get_id(r, SE05X_TAG_1, &id);
    if (sw == SW_OK)
        sw = objc_load(r, id, &o);
    if (sw != SW_OK)
        return sw;
    if (is_ec(o.type))
        se05x_tlvw_u8(r->out, SE05X_TAG_1, o.curve);
    else
        sw = SE05X_SW_CONDITIONS;
    sesim_obj_free(&o);
    return sw;
}

uint16_t objc_curve_list(sesim_req *r)
{
    uint8_t list[17];
    for (uint8_t c = 1; c <= 17; c++)
        list[c - 1] = sesim_curve_is_set(r->sim, c) ? 0x02 : 0x01;
    se05x_tlvw_bytes(r->out, SE05X_TAG_1, list, sizeof(list));
    return SW_OK;
}

/* Does any EC object use curve c? */
static bool curve_in_use(sesim *s, uint8_t c)
{
    uint32_t *ids;
    size_t n;
    bool used = false;
    if (sesim_store_list(s, &ids, &n) != SE05X_OK)
        return true;
    for (size_t i = 0; i < n && !used; i++) {
        sesim_obj o;
        if (sesim_id_internal(ids[i]) || sesim_store_load(s, ids[i], &o) != SE05X_OK)
            continue;
        used = is_ec(o.type) && o.curve == c;
        sesim_obj_free(&o);
    }
    free(ids);
    return used;
}

uint16_t objc_curve_delete(sesim_req *r)
{
    uint8_t c;
    sesim_obj o;
    uint16_t sw = get_curve(r, &c);
    if (sw != SW_OK)
        return sw;
    if (c == 0x40 || !curve_load(r->sim, c, &o))
        return SE05X_SW_CONDITIONS;
    sesim_obj_free(&o);
    if (curve_in_use(r->sim, c))
        return SE05X_SW_CONDITIONS;
    return sesim_store_delete(r->sim, SESIM_CURVE_OBJ_BASE | c) == SE05X_OK ? SW_OK
                                                                            : SE05X_SW_NO_DIAGNOSIS;
}
