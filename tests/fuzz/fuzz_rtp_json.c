/* libFuzzer target: RTP provisioning files (rtp/common/rtp_json.c) and the
 * strict base64 decoder. Byte 0 selects: even -> rtp_file_parse on the
 * rest; odd -> rtp_b64_decode on the rest as a string. Must never crash,
 * leak, or accept a file that fails the model's own invariants. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        char *s = malloc(len + 1);
        if (!s)
            return 0;
        memcpy(s, text, len);
        s[len] = 0;
        uint8_t *out = NULL;
        size_t n = 0;
        if (rtp_b64_decode(s, &out, &n) == SE05X_OK) {
            char *back = rtp_b64_encode(out, n);
            if (!back || strcmp(back, s) != 0) {
                /* non-canonical trailing bits are the only accepted difference */
                if (!back || strlen(back) != strlen(s))
                    abort();
            }
            free(back);
            free(out);
        }
        free(s);
        return 0;
    }
    rtp_file f;
    char err[256];
    if (rtp_file_parse(text, len, &f, err, sizeof(err)) == SE05X_OK) {
        for (size_t d = 0; d < f.ndevs; d++)
            for (size_t i = 0; i < f.devs[d].nprovs; i++) {
                const rtp_prov *p = &f.devs[d].provs[i];
                if (p->create.len < 4 || p->create.len > RTP_CLIENT_MAX)
                    abort();
                for (size_t w = 0; w < p->nwrites; w++)
                    if (p->writes[w].len < 4 || p->writes[w].len > RTP_CLIENT_MAX)
                        abort();
            }
        rtp_file_free(&f);
    } else if (f.ndevs || f.devs) {
        abort();
    }
    return 0;
}
