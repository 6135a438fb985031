/* Strict SE05x TLV writer and readers (see se05x/tlv.h). Shared by hostlib
 * (command encoding, response parsing) and the simulator (command parsing,
 * response encoding): one implementation of the TLV rules. */
#include "se05x/tlv.h"

#include <string.h>

void se05x_tlvw_init(se05x_tlvw *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->err = SE05X_OK;
}

size_t se05x_tlv_encode_len(size_t len, uint8_t out[3])
{
    if (len <= 0x7F) {
        out[0] = (uint8_t)len;
        return 1;
    }
    if (len <= 0xFF) {
        out[0] = 0x81;
        out[1] = (uint8_t)len;
        return 2;
    }
    out[0] = 0x82;
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    return 3;
}

static void put(se05x_tlvw *w, const uint8_t *data, size_t len)
{
    if (w->err != SE05X_OK)
        return;
    if (len > w->cap - w->len) {
        w->err = SE05X_ERR_BUFFER;
        return;
    }
    if (len)
        memcpy(w->buf + w->len, data, len);
    w->len += len;
}

void se05x_tlvw_raw(se05x_tlvw *w, const uint8_t *data, size_t len) { put(w, data, len); }

void se05x_tlvw_bytes(se05x_tlvw *w, uint8_t tag, const uint8_t *val, size_t len)
{
    uint8_t hdr[4];
    if (len > 0xFFFF) {
        if (w->err == SE05X_OK)
            w->err = SE05X_ERR_BUFFER;
        return;
    }
    hdr[0] = tag;
    size_t n = se05x_tlv_encode_len(len, hdr + 1);
    if (w->err == SE05X_OK && 1 + n + len > w->cap - w->len) {
        w->err = SE05X_ERR_BUFFER; /* nothing of this TLV is written */
        return;
    }
    put(w, hdr, 1 + n);
    put(w, val, len);
}

void se05x_tlvw_bytes_long(se05x_tlvw *w, uint8_t tag, const uint8_t *val, size_t len)
{
    uint8_t hdr[4] = {tag, 0x82, (uint8_t)(len >> 8), (uint8_t)len};
    if (len > 0xFFFF || (w->err == SE05X_OK && 4 + len > w->cap - w->len)) {
        if (w->err == SE05X_OK)
            w->err = SE05X_ERR_BUFFER;
        return;
    }
    put(w, hdr, 4);
    put(w, val, len);
}

void se05x_tlvw_u8(se05x_tlvw *w, uint8_t tag, uint8_t v) { se05x_tlvw_bytes(w, tag, &v, 1); }

void se05x_tlvw_u16(se05x_tlvw *w, uint8_t tag, uint16_t v)
{
    uint8_t b[2];
    se05x_put_u16(b, v);
    se05x_tlvw_bytes(w, tag, b, 2);
}

void se05x_tlvw_u32(se05x_tlvw *w, uint8_t tag, uint32_t v)
{
    uint8_t b[4];
    se05x_put_u32(b, v);
    se05x_tlvw_bytes(w, tag, b, 4);
}

void se05x_tlvw_u8_opt(se05x_tlvw *w, uint8_t tag, uint8_t v)
{
    if (v)
        se05x_tlvw_u8(w, tag, v);
}

void se05x_tlvw_u16_opt(se05x_tlvw *w, uint8_t tag, uint16_t v)
{
    if (v)
        se05x_tlvw_u16(w, tag, v);
}

void se05x_tlvw_u32_opt(se05x_tlvw *w, uint8_t tag, uint32_t v)
{
    if (v)
        se05x_tlvw_u32(w, tag, v);
}

se05x_status se05x_tlv_next(const uint8_t *buf, size_t len, size_t *pos, uint8_t *tag,
                            const uint8_t **val, size_t *vlen)
{
    size_t p = *pos;
    size_t l;
    if (p >= len)
        return SE05X_ERR_TLV_TRUNCATED;
    *tag = buf[p++];
    if (p >= len)
        return SE05X_ERR_TLV_TRUNCATED;
    uint8_t b = buf[p++];
    if (b <= 0x7F) {
        l = b;
    } else if (b == 0x81) {
        if (p + 1 > len)
            return SE05X_ERR_TLV_TRUNCATED;
        l = buf[p++];
    } else if (b == 0x82) {
        if (p + 2 > len)
            return SE05X_ERR_TLV_TRUNCATED;
        l = ((size_t)buf[p] << 8) | buf[p + 1];
        p += 2;
    } else {
        return SE05X_ERR_TLV_LENGTH;
    }
    if (l > len - p)
        return SE05X_ERR_TLV_TRUNCATED;
    *val = buf + p;
    *vlen = l;
    *pos = p + l;
    return SE05X_OK;
}

se05x_status se05x_tlv_expect(const uint8_t *buf, size_t len, const se05x_tlv_expect_t *exp,
                              size_t nexp, se05x_tlv_item *out)
{
    size_t pos = 0, i = 0;
    for (size_t k = 0; k < nexp; k++) {
        out[k].val = NULL;
        out[k].len = 0;
        out[k].present = false;
    }
    while (pos < len) {
        uint8_t tag;
        const uint8_t *val;
        size_t vlen;
        se05x_status st = se05x_tlv_next(buf, len, &pos, &tag, &val, &vlen);
        if (st != SE05X_OK)
            return st;
        /* find tag at or after position i */
        size_t k = i;
        while (k < nexp && exp[k].tag != tag) {
            if (!(exp[k].flags & SE05X_TLV_OPTIONAL))
                break;
            k++;
        }
        if (k >= nexp || exp[k].tag != tag) {
            /* known tag seen before (duplicate) or later (order)? */
            for (size_t j = 0; j < nexp; j++) {
                if (exp[j].tag == tag)
                    return out[j].present ? SE05X_ERR_TLV_DUPLICATE : SE05X_ERR_TLV_ORDER;
            }
            return SE05X_ERR_TLV_UNEXPECTED;
        }
        size_t maxl = exp[k].max_len ? exp[k].max_len : 0xFFFF;
        if (vlen < exp[k].min_len || vlen > maxl)
            return SE05X_ERR_TLV_LENGTH;
        out[k].val = val;
        out[k].len = vlen;
        out[k].present = true;
        i = k + 1;
    }
    for (size_t k = 0; k < nexp; k++) {
        if (!(exp[k].flags & SE05X_TLV_OPTIONAL) && !out[k].present)
            return SE05X_ERR_TLV_MISSING;
    }
    return SE05X_OK;
}

se05x_status se05x_tlv_parse_set(const uint8_t *buf, size_t len, const uint8_t *allowed,
                                 bool ascending, se05x_tlv_set *set)
{
    size_t pos = 0;
    int last = -1;
    memset(set, 0, sizeof(*set));
    while (pos < len) {
        uint8_t tag;
        const uint8_t *val;
        size_t vlen;
        se05x_status st = se05x_tlv_next(buf, len, &pos, &tag, &val, &vlen);
        if (st != SE05X_OK)
            return st;
        if (allowed) {
            const uint8_t *a = allowed;
            while (*a && *a != tag)
                a++;
            if (!*a)
                return SE05X_ERR_TLV_UNEXPECTED;
        }
        if (set->t[tag].present)
            return SE05X_ERR_TLV_DUPLICATE;
        if (ascending && (int)tag <= last)
            return SE05X_ERR_TLV_ORDER;
        last = tag;
        set->t[tag].val = val;
        set->t[tag].len = vlen;
        set->t[tag].present = true;
    }
    return SE05X_OK;
}

se05x_status se05x_tlv_get_u8(const se05x_tlv_item *it, uint8_t *v)
{
    if (!it->present)
        return SE05X_ERR_TLV_MISSING;
    if (it->len != 1)
        return SE05X_ERR_TLV_LENGTH;
    *v = it->val[0];
    return SE05X_OK;
}

se05x_status se05x_tlv_get_u16(const se05x_tlv_item *it, uint16_t *v)
{
    if (!it->present)
        return SE05X_ERR_TLV_MISSING;
    if (it->len != 2)
        return SE05X_ERR_TLV_LENGTH;
    *v = se05x_get_u16(it->val);
    return SE05X_OK;
}

se05x_status se05x_tlv_get_u32(const se05x_tlv_item *it, uint32_t *v)
{
    if (!it->present)
        return SE05X_ERR_TLV_MISSING;
    if (it->len != 4)
        return SE05X_ERR_TLV_LENGTH;
    *v = se05x_get_u32(it->val);
    return SE05X_OK;
}
