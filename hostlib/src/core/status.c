/* Descriptions for se05x_status codes and SE05x status words. */
#include "se05x/status.h"

const char *se05x_strerror(se05x_status st)
{
    switch (st) {
    case SE05X_OK: return "success";
    case SE05X_ERR_ARG: return "invalid argument";
    case SE05X_ERR_NOMEM: return "out of memory";
    case SE05X_ERR_BUFFER: return "buffer too small or data too large";
    case SE05X_ERR_TLV_TRUNCATED: return "TLV truncated: length runs past the end of the data";
    case SE05X_ERR_TLV_LENGTH: return "TLV length invalid or out of range";
    case SE05X_ERR_TLV_DUPLICATE: return "TLV tag duplicated";
    case SE05X_ERR_TLV_ORDER: return "TLV tags out of order";
    case SE05X_ERR_TLV_UNEXPECTED: return "unexpected TLV tag";
    case SE05X_ERR_TLV_MISSING: return "mandatory TLV tag missing";
    case SE05X_ERR_TLV_TRAILING: return "trailing bytes after the last TLV";
    case SE05X_ERR_APDU: return "malformed command APDU";
    case SE05X_ERR_RESPONSE: return "malformed response APDU";
    case SE05X_ERR_SW: return "secure element returned an error status word";
    case SE05X_ERR_TRANSPORT: return "transport I/O error";
    case SE05X_ERR_TIMEOUT: return "timeout waiting for the secure element";
    case SE05X_ERR_PROTOCOL: return "link protocol violation";
    case SE05X_ERR_CONNSTR: return "invalid connection string";
    case SE05X_ERR_SCP: return "secure channel failure";
    case SE05X_ERR_CRYPTO: return "host cryptography failure";
    case SE05X_ERR_UNSUPPORTED: return "not supported";
    case SE05X_ERR_NOT_FOUND: return "not found";
    case SE05X_ERR_IO: return "file I/O error";
    case SE05X_ERR_STATE: return "invalid state for this call";
    case SE05X_ERR_LOCKED: return "resource locked";
    case SE05X_STATUS_COUNT: break;
    }
    return "unknown error";
}

const char *se05x_sw_str(uint16_t sw)
{
    switch (sw) {
    case 0x9000: return "success";
    case 0x6700: return "wrong length";
    case 0x6882: return "secure messaging not supported";
    case 0x6982: return "security status not satisfied";
    case 0x6984: return "data invalid (invalid policy)";
    case 0x6985: return "conditions of use not satisfied";
    case 0x6986: return "command not allowed by object policy";
    case 0x6A80: return "wrong data";
    case 0x6A82: return "file or applet not found";
    case 0x6A84: return "not enough memory";
    case 0x6A86: return "incorrect P1/P2";
    case 0x6A88: return "referenced data not found";
    case 0x6D00: return "instruction not supported";
    case 0x6E00: return "class not supported";
    case 0x6F00: return "no precise diagnosis";
    case 0x66A6: return "APDU throughput error";
    default: break;
    }
    if ((sw & 0xFF00) == 0x6100) return "more data available";
    if ((sw & 0xFF00) == 0x6C00) return "wrong Le";
    return "unknown status word";
}
