/* Private helpers shared by the secure-object command modules of the
 * simulator (cmd_objects.c: table and write commands; cmd_objread.c: read
 * and management commands; cmd_curves.c: EC curve management). */
#ifndef SESIM_CMD_OBJECTS_H
#define SESIM_CMD_OBJECTS_H

#include "sim_internal.h"

#define SW_OK SE05X_SW_OK
#define UID_OBJ_ID 0x7FFF0206u
#define FACTORY_RESET_ID 0x7FFF0205u

static inline const se05x_tlv_item *tag(const sesim_req *r, uint8_t t) { return &r->tlv->t[t]; }
static inline bool has(const sesim_req *r, uint8_t t) { return r->tlv->t[t].present; }
static inline bool is_ec(uint8_t type) { return type >= SESIM_T_EC_PAIR && type <= SESIM_T_EC_PUB; }
static inline bool is_rsa(uint8_t type) { return type >= SESIM_T_RSA_PAIR && type <= SESIM_T_RSA_PUB; }
static inline bool is_reserved(uint32_t id) { return (id & 0xFFFF0000u) == 0x7FFF0000u; }

/* Mandatory 4-byte object id in tag t: SW_OK or 6A80. */
uint16_t objc_get_id(const sesim_req *r, uint8_t t, uint32_t *id);
/* Optional 2-byte value (0 when absent): SW_OK or 6A80. */
uint16_t objc_opt_u16(const sesim_req *r, uint8_t t, uint16_t *v);
/* Load a user-visible object: SW_OK, or 6985 when missing/internal. */
uint16_t objc_load(const sesim_req *r, uint32_t id, sesim_obj *o);
/* Save, mapping store errors (memory limit -> 6A84). */
uint16_t objc_save(const sesim_req *r, const sesim_obj *o);
/* Is this object usable by the object commands (not an internal record)? */
bool objc_visible(const sesim_obj *o);

/* Handlers in cmd_objread.c. */
uint16_t objc_read(sesim_req *r);
uint16_t objc_read_size(sesim_req *r);
uint16_t objc_read_type(sesim_req *r);
uint16_t objc_read_idlist(sesim_req *r);
uint16_t objc_read_attributes(sesim_req *r);
uint16_t objc_read_state(sesim_req *r);
uint16_t objc_exists(sesim_req *r);
uint16_t objc_delete(sesim_req *r);
uint16_t objc_delete_all(sesim_req *r);
uint16_t objc_version(sesim_req *r);
uint16_t objc_ext_version(sesim_req *r);
uint16_t objc_free_memory(sesim_req *r);
uint16_t objc_random(sesim_req *r);

/* Handlers in cmd_curves.c. */
uint16_t objc_curve_create(sesim_req *r);
uint16_t objc_curve_param(sesim_req *r);
uint16_t objc_curve_get_id(sesim_req *r);
uint16_t objc_curve_list(sesim_req *r);
uint16_t objc_curve_delete(sesim_req *r);

#endif
