/* Secure-object commands of the simulator, part 2: reads and management
 * (spec §2.3): ReadObject, ReadSize, ReadType, ReadIDList,
 * ReadObjectAttributes, ReadState, CheckObjectExists, DeleteSecureObject,
 * DeleteAll, GetVersion, GetExtVersion, GetFreeMemory, GetRandom.
 * Choices are documented in docs/simulator.md ("Simulator core"). */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_objects.h"

#define IDLIST_PAGE 64u          /* ids per ReadIDList answer */
#define TRANSIENT_FREE 0x1000u   /* reported free transient memory */
#define MAX_RANDOM (SE05X_APDU_MAX - 2u - 4u)

/* Load the object named by TAG_1. */
static uint16_t load_tag1(const sesim_req *r, sesim_obj *o)
{
    uint32_t id;
    uint16_t sw = objc_get_id(r, SE05X_TAG_1, &id);
    return sw == SW_OK ? objc_load(r, id, o) : sw;
}

/* Readable content of o (public part, file, counter...); 6985 if none. */
static uint16_t read_content(const sesim_req *r, const sesim_obj *o, const sesim_comp **out)
{
    int comp = -1;
    switch (o->type) {
    case SESIM_T_EC_PAIR:
    case SESIM_T_EC_PUB:
        comp = SESIM_C_PUB;
        break;
    case SESIM_T_RSA_PAIR:
    case SESIM_T_RSA_PAIR_CRT:
    case SESIM_T_RSA_PUB: {
        uint8_t which;
        if (se05x_tlv_get_u8(tag(r, SE05X_TAG_4), &which) != SE05X_OK)
            return SE05X_SW_WRONG_DATA;
        if (which == 0x00)
            comp = SESIM_C_N;
        else if (which == 0x01)
            comp = SESIM_C_E;
        else
            return SE05X_SW_CONDITIONS;
        break;
    }
    case SESIM_T_BINARY:
    case SESIM_T_COUNTER:
    case SESIM_T_PCR:
        comp = SESIM_C_VALUE;
        break;
    default: /* private keys, secret keys, UserID */
        return SE05X_SW_CONDITIONS;
    }
    if (has(r, SE05X_TAG_4) && !is_rsa(o->type))
        return SE05X_SW_WRONG_DATA;
    if (!o->comp[comp].len)
        return SE05X_SW_CONDITIONS;
    *out = &o->comp[comp];
    return SW_OK;
}

uint16_t objc_read(sesim_req *r)
{
    sesim_obj o;
    uint16_t off, len, sw = load_tag1(r, &o);
    if (sw != SW_OK)
        return sw;
    const sesim_comp *c = NULL;
    if ((sw = objc_opt_u16(r, SE05X_TAG_2, &off)) == SW_OK &&
        (sw = objc_opt_u16(r, SE05X_TAG_3, &len)) == SW_OK &&
        (sw = read_content(r, &o, &c)) == SW_OK &&
        (sw = sesim_policy_check(r, &o, SESIM_AR_READ)) == SW_OK) {
        if (off > c->len || (len && len > c->len - off))
            sw = SE05X_SW_WRONG_DATA;
        else
            se05x_tlvw_bytes(r->out, SE05X_TAG_1, c->v + off, len ? len : c->len - off);
    }
    sesim_obj_free(&o);
    return sw;
}

uint16_t objc_read_size(sesim_req *r)
{
    sesim_obj o;
    uint16_t sw = load_tag1(r, &o);
    if (sw != SW_OK)
        return sw;
    size_t n = 0;
    if (is_ec(o.type))
        n = se05x_curve_field_len(o.curve);
    else if (is_rsa(o.type))
        n = o.size / 8u;
    else if (o.type == SESIM_T_USERID)
        sw = SE05X_SW_CONDITIONS;
    else
        n = o.comp[SESIM_C_VALUE].len;
    if (sw == SW_OK)
        se05x_tlvw_u16(r->out, SE05X_TAG_1, (uint16_t)n);
    sesim_obj_free(&o);
    return sw;
}

uint16_t objc_read_type(sesim_req *r)
{
    sesim_obj o;
    uint16_t sw = load_tag1(r, &o);
    if (sw != SW_OK)
        return sw;
    se05x_tlvw_u8(r->out, SE05X_TAG_1, sesim_type_report(r->sim, &o));
    se05x_tlvw_u8(r->out, SE05X_TAG_2, o.transient ? 0x02 : 0x01);
    sesim_obj_free(&o);
    return SW_OK;
}

static bool filter_match(const sesim *s, const sesim_obj *o, uint8_t filter)
{
    return filter == 0xFF || filter == o->type || filter == sesim_type_report(s, o);
}

uint16_t objc_read_idlist(sesim_req *r)
{
    uint16_t offset;
    uint8_t filter = 0xFF;
    uint16_t sw = objc_opt_u16(r, SE05X_TAG_1, &offset);
    if (sw != SW_OK)
        return sw;
    if (has(r, SE05X_TAG_2) && se05x_tlv_get_u8(tag(r, SE05X_TAG_2), &filter) != SE05X_OK)
        return SE05X_SW_WRONG_DATA;
    uint32_t *ids;
    size_t n, matched = 0, out = 0;
    if (sesim_store_list(r->sim, &ids, &n) != SE05X_OK)
        return SE05X_SW_NO_DIAGNOSIS;
    uint8_t buf[IDLIST_PAGE * 4];
    bool more = false;
    for (size_t i = 0; i < n; i++) {
        sesim_obj o;
        if (sesim_id_internal(ids[i]) || sesim_store_load(r->sim, ids[i], &o) != SE05X_OK)
            continue;
        bool m = objc_visible(&o) && filter_match(r->sim, &o, filter);
        sesim_obj_free(&o);
        if (!m)
            continue;
        if (matched++ < offset)
            continue;
        if (out == IDLIST_PAGE) {
            more = true;
            break;
        }
        se05x_put_u32(buf + 4 * out++, ids[i]);
    }
    free(ids);
    se05x_tlvw_u8(r->out, SE05X_TAG_1, more ? 0x02 : 0x01);
    se05x_tlvw_bytes(r->out, SE05X_TAG_2, buf, 4 * out);
    return SW_OK;
}

uint16_t objc_read_attributes(sesim_req *r)
{
    sesim_obj o;
    uint16_t sw = load_tag1(r, &o);
    if (sw != SW_OK)
        return sw;
    uint8_t a[300];
    size_t n = sesim_obj_attributes(r->sim, &o, a, sizeof(a));
    sesim_obj_free(&o);
    if (!n)
        return SE05X_SW_NO_DIAGNOSIS;
    se05x_tlvw_bytes(r->out, r->sim->opts.applet_major == 3 ? SE05X_TAG_2 : SE05X_TAG_3, a, n);
    return SW_OK;
}

uint16_t objc_read_state(sesim_req *r)
{
    if (r->sim->opts.applet_major == 3)
        return SE05X_SW_WRONG_P1P2;
    /* lock state 02 unlocked, restrict mode 00 none, platform SCP 01 required / 02 not */
    uint8_t v[3] = {0x02, 0x00, r->sim->opts.require_platform_scp ? 0x01 : 0x02};
    se05x_tlvw_bytes(r->out, SE05X_TAG_1, v, sizeof(v));
    return SW_OK;
}

uint16_t objc_exists(sesim_req *r)
{
    uint32_t id;
    uint16_t sw = objc_get_id(r, SE05X_TAG_1, &id);
    if (sw != SW_OK)
        return sw;
    sesim_obj o;
    bool ex = objc_load(r, id, &o) == SW_OK;
    if (ex)
        sesim_obj_free(&o);
    se05x_tlvw_u8(r->out, SE05X_TAG_1, ex ? 0x01 : 0x02);
    return SW_OK;
}

uint16_t objc_delete(sesim_req *r)
{
    sesim_obj o;
    uint16_t sw = load_tag1(r, &o);
    if (sw != SW_OK)
        return sw;
    if (o.id == UID_OBJ_ID || (o.origin == SESIM_ORIGIN_PROVISIONED && is_reserved(o.id)))
        sw = SE05X_SW_CONDITIONS;
    else if (o.origin == SESIM_ORIGIN_PROVISIONED && o.policy_len == 0)
        sw = SE05X_SW_NOT_ALLOWED; /* factory objects need an explicit ALLOW_DELETE */
    else
        sw = sesim_policy_check(r, &o, SESIM_AR_DELETE);
    if (sw == SW_OK && sesim_store_delete(r->sim, o.id) != SE05X_OK)
        sw = SE05X_SW_NO_DIAGNOSIS;
    sesim_obj_free(&o);
    return sw;
}

/* Kept by DeleteAll: applet-reserved ids, the NXP / EdgeLock 2GO range and
 * anything provisioned by the factory. */
static bool delete_all_keeps(const sesim_obj *o)
{
    return is_reserved(o->id) || o->id >= 0xF0000000u || o->origin == SESIM_ORIGIN_PROVISIONED ||
           !objc_visible(o);
}

uint16_t objc_delete_all(sesim_req *r)
{
    if (r->auth_id != FACTORY_RESET_ID)
        return SE05X_SW_SECURITY_STATUS;
    uint32_t *ids;
    size_t n;
    if (sesim_store_list(r->sim, &ids, &n) != SE05X_OK)
        return SE05X_SW_NO_DIAGNOSIS;
    uint16_t sw = SW_OK;
    for (size_t i = 0; i < n; i++) {
        sesim_obj o;
        if (sesim_store_load(r->sim, ids[i], &o) != SE05X_OK)
            continue;
        bool keep = delete_all_keeps(&o);
        sesim_obj_free(&o);
        if (!keep && sesim_store_delete(r->sim, ids[i]) != SE05X_OK)
            sw = SE05X_SW_NO_DIAGNOSIS;
    }
    free(ids);
    return sw;
}

uint16_t objc_version(sesim_req *r)
{
    uint8_t v[7];
    sesim_version_info(r->sim, v);
    se05x_tlvw_bytes(r->out, SE05X_TAG_1, v, sizeof(v));
    return SW_OK;
}

uint16_t objc_ext_version(sesim_req *r)
{
    if (r->sim->opts.applet_major == 3)
        return SE05X_SW_WRONG_P1P2;
    uint8_t v[37];
    sesim_version_info(r->sim, v);
    memset(v + 7, 0xFF, 30); /* every extended feature present */
    se05x_tlvw_bytes(r->out, SE05X_TAG_1, v, sizeof(v));
    return SW_OK;
}

uint16_t objc_free_memory(sesim_req *r)
{
    uint8_t type;
    if (se05x_tlv_get_u8(tag(r, SE05X_TAG_1), &type) != SE05X_OK || type < 1 || type > 3)
        return SE05X_SW_WRONG_DATA;
    size_t free_b = TRANSIENT_FREE;
    if (type == 0x01) {
        size_t used = sesim_store_used(r->sim);
        free_b = used < r->sim->opts.persistent_mem ? r->sim->opts.persistent_mem - used : 0;
    }
    se05x_tlvw_u16(r->out, SE05X_TAG_1, (uint16_t)(free_b > 0x7FFF ? 0x7FFF : free_b));
    return SW_OK;
}

uint16_t objc_random(sesim_req *r)
{
    uint16_t n;
    if (se05x_tlv_get_u16(tag(r, SE05X_TAG_1), &n) != SE05X_OK || n == 0)
        return SE05X_SW_WRONG_DATA;
    if (n > MAX_RANDOM)
        return SE05X_SW_WRONG_LENGTH;
    uint8_t *b = malloc(n);
    if (!b)
        return SE05X_SW_NO_DIAGNOSIS;
    uint16_t sw = SW_OK;
    if (RAND_bytes(b, n) == 1)
        se05x_tlvw_bytes(r->out, SE05X_TAG_1, b, n);
    else
        sw = SE05X_SW_NO_DIAGNOSIS;
    free(b);
    return sw;
}
