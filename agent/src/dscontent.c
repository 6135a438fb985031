/* Datastore contents (spec §4): the 44-byte little-endian header with its
 * SHA-256 checksum over bytes [32, length), then number_of_services
 * varint-delimited ServiceDescriptor messages; the service descriptor API
 * (count, select by index or by id, free) and the type/protocol names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "el2go/datastore.h"
#include "el2go/frame.h"

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static el2go_status sha256(const uint8_t *d, size_t n, uint8_t out[32])
{
    unsigned int olen = 0;
    if (!EVP_Digest(d, n, out, &olen, EVP_sha256(), NULL) || olen != 32)
        return EL2GO_ERR_CRYPTO;
    return EL2GO_OK;
}

static el2go_status fail(char *err, size_t errlen, el2go_status st, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return st;
}

el2go_status el2go_dscontent_check(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    if (!buf || len < EL2GO_DS_HEADER_LEN)
        return fail(err, errlen, EL2GO_ERR_INVALID, "shorter than the 44-byte header");
    uint32_t total = get_le32(buf + 32);
    if (total < EL2GO_DS_HEADER_LEN || total > len)
        return fail(err, errlen, EL2GO_ERR_INVALID, "header length out of range");
    if (get_le32(buf + 36) != EL2GO_DS_VERSION)
        return fail(err, errlen, EL2GO_ERR_INVALID, "unknown header version");
    uint8_t md[32];
    if (sha256(buf + 32, total - 32, md) != EL2GO_OK)
        return fail(err, errlen, EL2GO_ERR_CRYPTO, "SHA-256 failed");
    if (CRYPTO_memcmp(md, buf, 32) != 0)
        return fail(err, errlen, EL2GO_ERR_INVALID, "checksum mismatch");
    return fail(err, errlen, EL2GO_OK, "");
}

bool el2go_dscontent_valid(const uint8_t *buf, size_t len)
{
    return el2go_dscontent_check(buf, len, NULL, 0) == EL2GO_OK;
}

el2go_status el2go_dscontent_build(Nxp__Iot__ServiceDescriptor *const *sds, size_t n, uint8_t **out,
                                   size_t *len)
{
    if ((!sds && n) || !out || !len || n > UINT32_MAX)
        return EL2GO_ERR_ARG;
    size_t total = EL2GO_DS_HEADER_LEN;
    for (size_t i = 0; i < n; i++) {
        size_t s = nxp__iot__service_descriptor__get_packed_size(sds[i]);
        uint8_t v[EL2GO_VARINT_MAX];
        total += el2go_varint_encode(s, v) + s;
    }
    if (total > UINT32_MAX || total > EL2GO_DS_MAX_SIZE)
        return EL2GO_ERR_TOO_LARGE;
    uint8_t *buf = calloc(1, total);
    if (!buf)
        return EL2GO_ERR_NOMEM;
    size_t pos = EL2GO_DS_HEADER_LEN;
    for (size_t i = 0; i < n; i++) {
        size_t s = nxp__iot__service_descriptor__get_packed_size(sds[i]);
        pos += el2go_varint_encode(s, buf + pos);
        pos += nxp__iot__service_descriptor__pack(sds[i], buf + pos);
    }
    put_le32(buf + 32, (uint32_t)total);
    put_le32(buf + 36, EL2GO_DS_VERSION);
    put_le32(buf + 40, (uint32_t)n);
    if (sha256(buf + 32, total - 32, buf) != EL2GO_OK) {
        free(buf);
        return EL2GO_ERR_CRYPTO;
    }
    *out = buf;
    *len = total;
    return EL2GO_OK;
}

el2go_status el2go_services_count(const uint8_t *buf, size_t len, size_t *n)
{
    if (!n)
        return EL2GO_ERR_ARG;
    el2go_status st = el2go_dscontent_check(buf, len, NULL, 0);
    if (st == EL2GO_OK)
        *n = get_le32(buf + 40);
    return st;
}

/* Walk to service idx; msg and mlen receive its packed bytes. */
static el2go_status seek_service(const uint8_t *buf, size_t len, size_t idx, const uint8_t **msg,
                                 size_t *mlen)
{
    size_t count;
    el2go_status st = el2go_services_count(buf, len, &count);
    if (st != EL2GO_OK)
        return st;
    if (idx >= count)
        return EL2GO_ERR_NOT_FOUND;
    size_t total = get_le32(buf + 32), pos = EL2GO_DS_HEADER_LEN;
    for (size_t i = 0; i <= idx; i++) {
        if (el2go_delimited_next(buf, total, &pos, msg, mlen) != EL2GO_OK)
            return EL2GO_ERR_INVALID;
    }
    return EL2GO_OK;
}

el2go_status el2go_service_by_index(const uint8_t *buf, size_t len, size_t idx,
                                    Nxp__Iot__ServiceDescriptor **out)
{
    const uint8_t *msg;
    size_t mlen;
    if (!out)
        return EL2GO_ERR_ARG;
    el2go_status st = seek_service(buf, len, idx, &msg, &mlen);
    if (st != EL2GO_OK)
        return st;
    *out = nxp__iot__service_descriptor__unpack(NULL, mlen, msg);
    return *out ? EL2GO_OK : EL2GO_ERR_INVALID;
}

el2go_status el2go_service_by_id(const uint8_t *buf, size_t len, uint64_t id,
                                 Nxp__Iot__ServiceDescriptor **out)
{
    size_t n;
    if (!out)
        return EL2GO_ERR_ARG;
    el2go_status st = el2go_services_count(buf, len, &n);
    for (size_t i = 0; st == EL2GO_OK && i < n; i++) {
        Nxp__Iot__ServiceDescriptor *sd;
        st = el2go_service_by_index(buf, len, i, &sd);
        if (st == EL2GO_OK && sd->identifier == id) {
            *out = sd;
            return EL2GO_OK;
        }
        if (st == EL2GO_OK)
            el2go_service_free(sd);
    }
    return st == EL2GO_OK ? EL2GO_ERR_NOT_FOUND : st;
}

void el2go_service_free(Nxp__Iot__ServiceDescriptor *sd)
{
    if (!sd)
        return;
    /* Wipe secrets a descriptor may embed before handing memory back. */
    if (sd->password)
        OPENSSL_cleanse(sd->password, strlen(sd->password));
    if (sd->has_client_key && sd->client_key.data)
        OPENSSL_cleanse(sd->client_key.data, sd->client_key.len);
    nxp__iot__service_descriptor__free_unpacked(sd, NULL);
}

const char *el2go_service_type_name(int type)
{
    switch (type) {
    case NXP__IOT__SERVICE_TYPE__AWSSERVICE: return "aws";
    case NXP__IOT__SERVICE_TYPE__GOOGLESERVICE: return "google";
    case NXP__IOT__SERVICE_TYPE__AZURESERVICE: return "azure";
    case NXP__IOT__SERVICE_TYPE__IBMSERVICE: return "ibm";
    case NXP__IOT__SERVICE_TYPE__CUSTOMSERVICE: return "custom";
    case NXP__IOT__SERVICE_TYPE__EL2GOSERVICE: return "el2go";
    }
    return "unknown";
}

const char *el2go_service_protocol_name(const Nxp__Iot__ServiceDescriptor *sd)
{
    if (!sd || !sd->has_protocol)
        return "empty";
    switch (sd->protocol) {
    case NXP__IOT__SERVICE_PROTOCOL_TYPE__HTTPS: return "HTTPS";
    case NXP__IOT__SERVICE_PROTOCOL_TYPE__MQTTS: return "MQTTS";
    case NXP__IOT__SERVICE_PROTOCOL_TYPE__AMQPS: return "AMQPS";
    case NXP__IOT__SERVICE_PROTOCOL_TYPE__XMPP: return "XMPP";
    case NXP__IOT__SERVICE_PROTOCOL_TYPE__DDS: return "DDS";
    case NXP__IOT__SERVICE_PROTOCOL_TYPE__COAP: return "COAP";
    default: return "unknown";
    }
}
