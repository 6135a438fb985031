/* TEMPORARY stand-ins (link only) for the store and object helpers
 * written by other engineers; deleted by the lead at merge. */
#include <stdarg.h>
#include <string.h>

#include "sim_internal.h"

se05x_status sesim_store_load(sesim *s, uint32_t id, sesim_obj *out) { return SE05X_ERR_NOT_FOUND; }
se05x_status sesim_store_save(sesim *s, const sesim_obj *o) { return SE05X_ERR_UNSUPPORTED; }
void sesim_obj_init(sesim_obj *o) { memset(o, 0, sizeof(*o)); }
void sesim_obj_free(sesim_obj *o) { (void)o; }
void sesim_log(const sesim *s, const char *fmt, ...) { (void)fmt; }
