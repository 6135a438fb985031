/* libFuzzer target: datastore contents as read from disk or written by the
 * cloud (spec §4): header/checksum validation, service descriptor walking
 * (count, by index, by id), settings resolution from a connection
 * datastore. Byte 0 chooses whether the checksum is fixed up first so the
 * descriptor parsing behind it is reached. Must never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "el2go/datastore.h"
#include "el2go/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t len = size - 1;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);
    if ((mode & 1) && len >= EL2GO_DS_HEADER_LEN) {
        /* make header length and checksum consistent with the input */
        uint32_t l = (uint32_t)len;
        memcpy(buf + 32, &l, 4); /* little-endian hosts only: fine for fuzzing */
        buf[36] = buf[37] = buf[38] = buf[39] = 0;
        unsigned int ml;
        EVP_Digest(buf + 32, len - 32, buf, &ml, EVP_sha256(), NULL);
    }
    size_t n = 0;
    if (el2go_services_count(buf, len, &n) == EL2GO_OK) {
        for (size_t i = 0; i < n && i < 64; i++) {
            Nxp__Iot__ServiceDescriptor *sd = NULL;
            if (el2go_service_by_index(buf, len, i, &sd) == EL2GO_OK) {
                (void)el2go_service_type_name(sd->service_type);
                (void)el2go_service_protocol_name(sd);
                el2go_service_free(sd);
            }
        }
        Nxp__Iot__ServiceDescriptor *sd = NULL;
        if (el2go_service_by_id(buf, len, mode, &sd) == EL2GO_OK)
            el2go_service_free(sd);
    }
    el2go_settings s;
    char warn[256];
    if (el2go_settings_resolve(NULL, NULL, buf, len, &s, warn, sizeof(warn)) == EL2GO_OK) {
        if (s.source == EL2GO_SRC_DATASTORE && (!s.hostname[0] || s.port == 0))
            __builtin_trap();
        el2go_settings_clear(&s);
    }
    free(buf);
    return 0;
}
