/* File names of the directory object stores (the simulator's
 * DIR/objects/ in sim/src/store.c and the sss host backend's DIR in
 * sss/src/be_host_store.c): one file per secure object, named
 *
 *     XXXXXXXX.obj
 *
 * where XXXXXXXX is the 32-bit object id as exactly 8 upper-case hex digits
 * (0-9, A-F). This is the only name that denotes an object: anything else
 * in such a directory (temporary files, which the stores name with a
 * leading '.', quarantined "*.obj.corrupt" files, lower-case spellings,
 * lock files) is not an object and is skipped when listing. */
#ifndef SE05X_OBJNAME_H
#define SE05X_OBJNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of an object file name ("XXXXXXXX.obj") without the NUL. */
#define SE05X_OBJNAME_LEN 12u

/* Parse an object file name (the whole string, no directory part). True
 * and *id set for exactly "XXXXXXXX.obj" in upper-case hex; false (id
 * untouched) for anything else. */
bool se05x_objname_parse(const char *name, uint32_t *id);

/* "DIR/XXXXXXXX.obj" for id into buf. False when it does not fit in cap
 * (buf then holds a truncated, NUL-terminated string). */
bool se05x_objname_path(const char *dir, uint32_t id, char *buf, size_t cap);

#endif
