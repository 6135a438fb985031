/* Claim codes on SE05x (spec §5.1): the code is stored as plain ASCII (no
 * terminator) in the binary object 0xF00000E0, protected by policies:
 * the default user (auth id 0) may write and delete but not read; the
 * EdgeLock 2GO user (0xF0000021 when that object exists, i.e. demo parts,
 * else 0xF0000020) may read, write and delete. */
#ifndef EL2GO_CLAIMCODE_H
#define EL2GO_CLAIMCODE_H

#include <stddef.h>

#include "el2go/common.h"
#include "se05x/policy.h"
#include "sss/sss.h"

#define EL2GO_CLAIMCODE_MAX 1024u

/* Read a claim code file: spaces, CR and LF are dropped, reading stops at
 * a NUL. EL2GO_ERR_INVALID if nothing remains or it is not printable
 * ASCII, EL2GO_ERR_TOO_LARGE above EL2GO_CLAIMCODE_MAX. */
el2go_status el2go_claimcode_read_file(const char *path, char *out, size_t cap, size_t *len);
/* The policy set of spec §5.1 for the EL2GO user auth_id. */
el2go_status el2go_claimcode_policy(uint32_t el2go_user, se05x_policy *p);
/* Delete any existing claim code object, then create it with code and the
 * policies (EL2GO user picked as described above). */
el2go_status el2go_claimcode_inject(sss_session *s, const char *code, size_t len, char *err,
                                    size_t errlen);
/* Delete 0xF00000E0 as the default user; EL2GO_ERR_NOT_FOUND if absent. */
el2go_status el2go_claimcode_delete(sss_session *s, char *err, size_t errlen);

#endif
