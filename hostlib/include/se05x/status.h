/* Status codes returned by every se05x_* (hostlib) and sesim_* (simulator)
 * function, and their human-readable descriptions. Functions return one of
 * these; outputs go through pointers. Status words from the SE are not
 * status codes: a non-9000 SW surfaces as SE05X_ERR_SW with the SW kept
 * by the caller (see se05x_conn_last_sw). */
#ifndef SE05X_STATUS_H
#define SE05X_STATUS_H

#include <stdint.h>

typedef enum {
    SE05X_OK = 0,
    SE05X_ERR_ARG,           /* invalid argument from the caller */
    SE05X_ERR_NOMEM,         /* allocation failed */
    SE05X_ERR_BUFFER,        /* output buffer too small / data too large */
    SE05X_ERR_TLV_TRUNCATED, /* TLV header or value runs past the buffer */
    SE05X_ERR_TLV_LENGTH,    /* bad TLV length form or value length out of range */
    SE05X_ERR_TLV_DUPLICATE, /* a tag appears twice */
    SE05X_ERR_TLV_ORDER,     /* tags not in the expected (ascending) order */
    SE05X_ERR_TLV_UNEXPECTED,/* a tag that is not allowed here */
    SE05X_ERR_TLV_MISSING,   /* a mandatory tag is absent */
    SE05X_ERR_TLV_TRAILING,  /* bytes left after the last TLV */
    SE05X_ERR_APDU,          /* malformed command APDU */
    SE05X_ERR_RESPONSE,      /* response APDU malformed (e.g. shorter than SW) */
    SE05X_ERR_SW,            /* the SE answered a status word other than 9000 */
    SE05X_ERR_TRANSPORT,     /* I/O error on the link */
    SE05X_ERR_TIMEOUT,       /* the peer did not answer in time */
    SE05X_ERR_PROTOCOL,      /* framing protocol violation (T=1, JRCP) */
    SE05X_ERR_CONNSTR,       /* connection string not understood */
    SE05X_ERR_SCP,           /* secure channel failure (cryptogram, MAC) */
    SE05X_ERR_CRYPTO,        /* host-side cryptography failed */
    SE05X_ERR_UNSUPPORTED,   /* feature not supported */
    SE05X_ERR_NOT_FOUND,     /* object or file not found */
    SE05X_ERR_IO,            /* file system error */
    SE05X_ERR_STATE,         /* call not valid in the current state */
    SE05X_ERR_LOCKED,        /* resource locked by another user */
    SE05X_STATUS_COUNT
} se05x_status;

/* Short English description of a status code; never NULL. */
const char *se05x_strerror(se05x_status st);

/* Meaning of an ISO 7816 / SE05x status word (e.g. 0x6985); never NULL. */
const char *se05x_sw_str(uint16_t sw);

/* Common status words (spec §1.5). */
#define SE05X_SW_OK 0x9000u
#define SE05X_SW_WRONG_LENGTH 0x6700u
#define SE05X_SW_SM_NOT_SUPPORTED 0x6882u
#define SE05X_SW_SECURITY_STATUS 0x6982u
#define SE05X_SW_DATA_INVALID 0x6984u
#define SE05X_SW_CONDITIONS 0x6985u
#define SE05X_SW_NOT_ALLOWED 0x6986u
#define SE05X_SW_WRONG_DATA 0x6A80u
#define SE05X_SW_FILE_NOT_FOUND 0x6A82u
#define SE05X_SW_NO_MEMORY 0x6A84u
#define SE05X_SW_WRONG_P1P2 0x6A86u
#define SE05X_SW_REF_NOT_FOUND 0x6A88u
#define SE05X_SW_INS_NOT_SUPPORTED 0x6D00u
#define SE05X_SW_CLA_NOT_SUPPORTED 0x6E00u
#define SE05X_SW_NO_DIAGNOSIS 0x6F00u

#endif
