/* Claim codes on SE05x (spec §5.1): the code is stored as plain ASCII (no
 * terminator) in the binary object 0xF00000E0, protected by policies:
 * the default user (auth id 0) may write and delete but not read; the
 * EdgeLock 2GO user (0xF0000021 when that object exists, i.e. demo parts,
 * else 0xF0000020) may read, write and delete. Works on hostlib directly:
 * sss refuses to create or delete ids at or above 0x7FFF0000. */
#ifndef EL2GO_CLAIMCODE_H
#define EL2GO_CLAIMCODE_H

#include <stddef.h>

#include "el2go/common.h"
#include "se05x/policy.h"

typedef struct se05x_conn se05x_conn;

#define EL2GO_CLAIMCODE_MAX 1024u

/* Read a claim code file: spaces, CR and LF are dropped, reading stops at
 * a NUL. EL2GO_ERR_INVALID if nothing remains or it is not printable
 * ASCII, EL2GO_ERR_TOO_LARGE above EL2GO_CLAIMCODE_MAX. */
el2go_status el2go_claimcode_read_file(const char *path, char *out, size_t cap, size_t *len);
/* The policy set of spec §5.1 for the EL2GO user auth_id. */
el2go_status el2go_claimcode_policy(uint32_t el2go_user, se05x_policy *p);
/* Delete any existing claim code object, then create it with code and the
 * policies (EL2GO user picked as described above). */
el2go_status el2go_claimcode_inject(se05x_conn *c, const char *code, size_t len, char *err,
                                    size_t errlen);
/* Delete 0xF00000E0 as the default user; EL2GO_ERR_NOT_FOUND if absent. */
el2go_status el2go_claimcode_delete(se05x_conn *c, char *err, size_t errlen);

#endif
