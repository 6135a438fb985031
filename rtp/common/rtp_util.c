/* RTP helpers: device id of a UID (signed big-endian integer in decimal,
 * via libcrypto BIGNUM), strict base64 (libcrypto EVP_DecodeBlock after
 * validating alphabet and padding), hex, object ids and id lists. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "rtp.h"

se05x_status rtp_device_id(const uint8_t *uid, size_t len, char *out, size_t cap)
{
    if (!uid || !len || !out || len > 64)
        return SE05X_ERR_ARG;
    se05x_status st = SE05X_ERR_CRYPTO;
    BIGNUM *v = BN_bin2bn(uid, (int)len, NULL), *m = BN_new();
    char *dec = NULL;
    if (!v || !m)
        goto out;
    if (uid[0] & 0x80) { /* two's complement: value - 2^(8*len) */
        if (!BN_set_bit(m, (int)(8 * len)) || !BN_sub(v, v, m))
            goto out;
    }
    dec = BN_bn2dec(v);
    if (!dec)
        goto out;
    st = strlen(dec) < cap ? SE05X_OK : SE05X_ERR_BUFFER;
    if (st == SE05X_OK)
        memcpy(out, dec, strlen(dec) + 1);
out:
    OPENSSL_free(dec);
    BN_free(v);
    BN_free(m);
    return st;
}

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

se05x_status rtp_b64_decode(const char *in, uint8_t **out, size_t *outlen)
{
    if (!in || !out || !outlen)
        return SE05X_ERR_ARG;
    *out = NULL;
    *outlen = 0;
    size_t n = strlen(in);
    if (n == 0 || n % 4 || n > 0x7FFFFFF0)
        return SE05X_ERR_ARG;
    size_t pad = 0;
    if (in[n - 1] == '=')
        pad = in[n - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_char(in[i]))
            return SE05X_ERR_ARG;
    uint8_t *buf = malloc(n / 4 * 3 + 1);
    if (!buf)
        return SE05X_ERR_NOMEM;
    int r = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n);
    if (r < 0 || (size_t)r < pad) {
        free(buf);
        return SE05X_ERR_ARG;
    }
    *out = buf;
    *outlen = (size_t)r - pad;
    return SE05X_OK;
}

char *rtp_b64_encode(const uint8_t *data, size_t len)
{
    if (len > 0x3FFFFFF0)
        return NULL;
    char *s = malloc(4 * ((len + 2) / 3) + 1);
    if (s)
        EVP_EncodeBlock((unsigned char *)s, data, (int)len);
    return s;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

se05x_status rtp_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
    if (!hex || !len)
        return SE05X_ERR_ARG;
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    size_t n = strlen(hex);
    if (n == 0 || n % 2)
        return SE05X_ERR_ARG;
    if (n / 2 > cap)
        return SE05X_ERR_BUFFER;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return SE05X_ERR_ARG;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return SE05X_OK;
}

se05x_status rtp_parse_objid(const char *s, uint32_t *id)
{
    if (!s || !id)
        return SE05X_ERR_ARG;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    size_t n = strlen(s);
    if (n == 0 || n > 8)
        return SE05X_ERR_ARG;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return SE05X_ERR_ARG;
        v = v << 4 | (uint32_t)h;
    }
    *id = v;
    return SE05X_OK;
}

se05x_status rtp_idlist_add(rtp_idlist *l, uint32_t id)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        uint32_t *p = realloc(l->ids, ncap * sizeof(*p));
        if (!p)
            return SE05X_ERR_NOMEM;
        l->ids = p;
        l->cap = ncap;
    }
    l->ids[l->n++] = id;
    return SE05X_OK;
}

bool rtp_idlist_has(const rtp_idlist *l, uint32_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->ids[i] == id)
            return true;
    return false;
}

void rtp_idlist_free(rtp_idlist *l)
{
    free(l->ids);
    memset(l, 0, sizeof(*l));
}

void rtp_idlist_format(const uint32_t *ids, size_t n, char *buf, size_t cap)
{
    size_t off = 0;
    if (!cap)
        return;
    buf[0] = 0;
    if (!n) {
        snprintf(buf, cap, "-");
        return;
    }
    for (size_t i = 0; i < n && off < cap; i++) {
        int w = snprintf(buf + off, cap - off, "%s0x%08X", i ? ", " : "", ids[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}
