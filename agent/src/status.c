/* Text for el2go_status codes. */
#include "el2go/common.h"

const char *el2go_strerror(el2go_status st)
{
    switch (st) {
    case EL2GO_OK: return "ok";
    case EL2GO_ERR_ARG: return "invalid argument";
    case EL2GO_ERR_NOMEM: return "out of memory";
    case EL2GO_ERR_EOF: return "peer closed the connection";
    case EL2GO_ERR_IO: return "I/O error or truncated message";
    case EL2GO_ERR_TOO_LARGE: return "too large";
    case EL2GO_ERR_DECODE: return "malformed message";
    case EL2GO_ERR_PROTOCOL: return "protocol violation";
    case EL2GO_ERR_ENDPOINT: return "unknown endpoint or payload";
    case EL2GO_ERR_CRL: return "CRL check failed";
    case EL2GO_ERR_STATE: return "invalid state";
    case EL2GO_ERR_NOT_FOUND: return "not found";
    case EL2GO_ERR_INVALID: return "invalid datastore contents";
    case EL2GO_ERR_SE: return "secure element error";
    case EL2GO_ERR_CRYPTO: return "cryptography error";
    case EL2GO_ERR_UNSUPPORTED: return "not supported";
    }
    return "unknown error";
}
