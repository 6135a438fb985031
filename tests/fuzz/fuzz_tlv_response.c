/* libFuzzer target: hostlib's parsers of untrusted bytes coming back from an
 * SE (or forwarded by a remote peer): strict response TLV parsing with the
 * layouts of real commands, the tag-set parser, ISO 7816 APDU decoding and
 * response splitting. Must never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "se05x/apdu.h"
#include "se05x/tlv.h"

static const se05x_tlv_expect_t ATTEST7[] = {
    {0x41, SE05X_TLV_OPTIONAL, 0, 0}, {0x42, 0, 18, 18}, {0x43, 0, 1, 0},
    {0x44, 0, 2, 2},                  {0x4F, 0, 12, 12}, {0x52, 0, 8, 0},
};
static const se05x_tlv_expect_t IDLIST[] = {{0x41, 0, 1, 1}, {0x42, SE05X_TLV_OPTIONAL, 0, 0}};
static const se05x_tlv_expect_t ONE[] = {{0x41, 0, 0, 0}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    se05x_tlv_item out[6];
    se05x_tlv_set set;
    se05x_apdu a;
    size_t dlen;
    uint16_t sw;
    static const uint8_t allowed[] = {0x10, 0x11, 0x41, 0x42, 0x43, 0x44, 0x4B, 0};
    if (se05x_rapdu_split(data, size, &dlen, &sw) == SE05X_OK) {
        (void)se05x_tlv_expect(data, dlen, ATTEST7, 6, out);
        (void)se05x_tlv_expect(data, dlen, IDLIST, 2, out);
        if (se05x_tlv_expect(data, dlen, ONE, 1, out) == SE05X_OK && out[0].len > dlen)
            __builtin_trap();
    }
    (void)se05x_tlv_parse_set(data, size, allowed, true, &set);
    (void)se05x_tlv_parse_set(data, size, NULL, false, &set);
    if (se05x_apdu_decode(data, size, &a) == SE05X_OK) {
        if (a.lc && (a.data < data || a.data + a.lc > data + size))
            __builtin_trap();
        uint8_t re[SE05X_APDU_MAX];
        size_t n;
        (void)se05x_apdu_encode(&a, re, sizeof(re), &n);
    }
    return 0;
}
