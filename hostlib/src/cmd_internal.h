/* Internals of the table-driven command layer (cmd_*.c): the command table
 * (one row per SE05x command: header, Le case, expected response TLVs) and
 * the exchange helper every typed wrapper goes through. */
#ifndef SE05X_CMD_INTERNAL_H
#define SE05X_CMD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/apdu.h"
#include "se05x/commands.h"
#include "se05x/conn.h"
#include "se05x/tlv.h"

#define SE05X_CMD_MAX_RSP_TLVS 6
/* Command payload buffer: the largest command data an applet accepts. */
#define SE05X_CMD_BUF SE05X_MAX_CMD_DATA

typedef enum {
    CMD_GET_VERSION,
    CMD_GET_EXT_VERSION,
    CMD_GET_TIMESTAMP,
    CMD_GET_FREE_MEMORY,
    CMD_GET_RANDOM,
    CMD_DELETE_ALL,
    CMD_READ_OBJECT,
    CMD_READ_OBJECT_ATTEST_3X,
    CMD_READ_OBJECT_ATTEST_7X,
    CMD_READ_SIZE,
    CMD_READ_TYPE,
    CMD_READ_ID_LIST,
    CMD_CHECK_OBJECT_EXISTS,
    CMD_DELETE_OBJECT,
    CMD_WRITE_EC_KEY,
    CMD_WRITE_RSA_KEY,
    CMD_WRITE_SYMM_KEY,
    CMD_WRITE_BINARY,
    CMD_WRITE_USERID,
    CMD_WRITE_COUNTER,
    CMD_CREATE_EC_CURVE,
    CMD_SET_EC_CURVE_PARAM,
    CMD_GET_EC_CURVE_ID,
    CMD_READ_EC_CURVE_LIST,
    CMD_DELETE_EC_CURVE,
    CMD_ECDSA_SIGN,
    CMD_ECDSA_VERIFY,
    CMD_EDDSA_SIGN,
    CMD_EDDSA_VERIFY,
    CMD_ECDH,
    CMD_RSA_SIGN,
    CMD_RSA_VERIFY,
    CMD_RSA_ENCRYPT,
    CMD_RSA_DECRYPT,
    CMD_DIGEST_ONESHOT,
    CMD_CIPHER_ENCRYPT,
    CMD_CIPHER_DECRYPT,
    CMD_MAC_GENERATE,
    CMD_MAC_VALIDATE,
    CMD_READ_ATTRIBUTES_3X,
    CMD_READ_ATTRIBUTES_7X,
    CMD__COUNT
} se05x_cmd_id;

typedef struct {
    const char *name;  /* for error messages ("ReadObject") */
    uint8_t ins, p1, p2;
    uint32_t ne;       /* SE05X_NE_NONE (3 / "4s"), SE05X_NE_SHORT (2), SE05X_NE_EXT (4e) */
    uint8_t nrsp;      /* expected response TLVs (0 = SW only, no data allowed) */
    se05x_tlv_expect_t rsp[SE05X_CMD_MAX_RSP_TLVS];
} se05x_cmd_def;

const se05x_cmd_def *se05x_cmd_def_get(se05x_cmd_id cmd);

/* One exchange. ins_or/p1_or are OR-ed into the table header (transient /
 * auth flags, key part); p2_set overrides P2. has_id names the object in
 * error messages. rsp/rsp_cap hold the answer; out[] (table nrsp entries)
 * points into it. */
typedef struct {
    se05x_cmd_id cmd;
    uint8_t ins_or, p1_or;
    bool p2_set;
    uint8_t p2;
    bool has_id;
    uint32_t id;
    const uint8_t *data;
    size_t len;
    uint8_t *rsp;
    size_t rsp_cap;
    size_t *rsp_len; /* optional: bytes written to rsp (0 if none), for wiping */
} se05x_cmd_req;

se05x_status se05x_cmd_xchg(se05x_conn *c, const se05x_cmd_req *r, se05x_tlv_item *out);

/* Record "Name[ 0xID]: <what>" as the connection's error text. */
void se05x_cmd_fail(se05x_conn *c, se05x_cmd_id cmd, bool has_id, uint32_t id, se05x_status st);

/* Copy a response TLV into a caller buffer (*len: in cap, out size). */
se05x_status se05x_cmd_copy_out(const se05x_tlv_item *it, uint8_t *out, size_t *len);

/* Serialise opts->policy as a TLV with tag (TAG_POLICY / TAG_POLICY_CHECK);
 * nothing if no policy or empty. */
void se05x_cmd_put_policy(se05x_tlvw *w, uint8_t tag, const se05x_obj_opts *o);


/* INS flags from opts (transient 0x80, auth 0x40). */
uint8_t se05x_cmd_ins_flags(const se05x_obj_opts *o);

#endif
