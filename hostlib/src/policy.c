/* Object policies (see se05x/policy.h): entry table with merging per auth
 * object id, TAG_POLICY serialisation / parsing, and the access-rule name
 * table shared by the library and the se05x CLI. */
#include "se05x/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "se05x/tlv.h"

typedef struct {
    uint32_t bit;
    const char *name;  /* canonical name, used by se05x_ar_format */
    const char *alias; /* accepted by se05x_ar_parse, may be NULL */
} ar_name;

static const ar_name AR_NAMES[] = {
    {SE05X_AR_TLS_KDF, "tls_kdf", NULL},
    {SE05X_AR_TLS_PMS, "tls_pms", NULL},
    {SE05X_AR_FORBID_ALL, "forbid_all", NULL},
    {SE05X_AR_SIGN, "sign", NULL},
    {SE05X_AR_VERIFY, "verify", NULL},
    {SE05X_AR_KA, "ka", "key_agreement"},
    {SE05X_AR_ENC, "encrypt", "enc"},
    {SE05X_AR_DEC, "decrypt", "dec"},
    {SE05X_AR_KDF, "kdf", "hkdf"},
    {SE05X_AR_WRAP, "wrap", NULL},
    {SE05X_AR_READ, "read", NULL},
    {SE05X_AR_WRITE, "write", NULL},
    {SE05X_AR_GEN, "gen", "generate"},
    {SE05X_AR_DELETE, "delete", NULL},
    {SE05X_AR_REQUIRE_SM, "require_sm", "sm"},
    {SE05X_AR_REQUIRE_PCR_VALUE, "require_pcr", NULL},
    {SE05X_AR_ATTESTATION, "attest", "attestation"},
    {SE05X_AR_DESFIRE_AUTH, "desfire_auth", NULL},
    {SE05X_AR_DESFIRE_DUMP, "desfire_dump", NULL},
    {SE05X_AR_IMPORT_EXPORT, "import_export", NULL},
    {SE05X_AR_FORBID_DERIVED_OUTPUT, "forbid_derived_output", NULL},
    {SE05X_AR_KDF_EXT_RANDOM, "kdf_ext_random", NULL},
    {SE05X_AR_DESFIRE_CHANGEKEY, "desfire_changekey", NULL},
    {SE05X_AR_DERIVED_INPUT, "derived_input", NULL},
    {SE05X_AR_PBKDF, "pbkdf", NULL},
    {SE05X_AR_DESFIRE_KDF, "desfire_kdf", NULL},
    {SE05X_AR_FORBID_EXTERNAL_IV, "forbid_external_iv", NULL},
    {SE05X_AR_HMAC_PEPPER, "hmac_pepper", NULL},
    {SE05X_AR_INTERNAL_SIGN, "internal_sign", NULL},
};

#define N_AR_NAMES (sizeof(AR_NAMES) / sizeof(AR_NAMES[0]))

void se05x_policy_init(se05x_policy *p)
{
    if (p)
        memset(p, 0, sizeof(*p));
}

static se05x_policy_entry *find_entry(se05x_policy *p, uint32_t auth_id)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->e[i].auth_id == auth_id)
            return &p->e[i];
    return NULL;
}

se05x_status se05x_policy_add_ext(se05x_policy *p, uint32_t auth_id, uint32_t ar,
                                  const uint8_t *ext, size_t ext_len)
{
    if (!p || ext_len > SE05X_POLICY_MAX_EXT || (ext_len && !ext))
        return SE05X_ERR_ARG;
    se05x_policy_entry *e = find_entry(p, auth_id);
    if (e) {
        if (ext_len) {
            if (e->ext_len && (e->ext_len != ext_len || memcmp(e->ext, ext, ext_len) != 0))
                return SE05X_ERR_ARG;
            memcpy(e->ext, ext, ext_len);
            e->ext_len = (uint8_t)ext_len;
        }
        e->ar |= ar;
        return SE05X_OK;
    }
    if (p->n >= SE05X_POLICY_MAX_ENTRIES)
        return SE05X_ERR_BUFFER;
    e = &p->e[p->n++];
    memset(e, 0, sizeof(*e));
    e->auth_id = auth_id;
    e->ar = ar;
    if (ext_len)
        memcpy(e->ext, ext, ext_len);
    e->ext_len = (uint8_t)ext_len;
    return SE05X_OK;
}

se05x_status se05x_policy_add(se05x_policy *p, uint32_t auth_id, uint32_t ar)
{
    return se05x_policy_add_ext(p, auth_id, ar, NULL, 0);
}

se05x_status se05x_policy_serialize(const se05x_policy *p, uint8_t *out, size_t cap, size_t *len)
{
    if (!p || !len || (cap && !out))
        return SE05X_ERR_ARG;
    size_t pos = 0;
    for (size_t i = 0; i < p->n; i++) {
        const se05x_policy_entry *e = &p->e[i];
        size_t elen = 1 + 8 + e->ext_len;
        if (pos + elen > cap || pos + elen > SE05X_POLICY_MAX_BYTES)
            return SE05X_ERR_BUFFER;
        out[pos] = (uint8_t)(8 + e->ext_len);
        se05x_put_u32(out + pos + 1, e->auth_id);
        se05x_put_u32(out + pos + 5, e->ar);
        if (e->ext_len)
            memcpy(out + pos + 9, e->ext, e->ext_len);
        pos += elen;
    }
    *len = pos;
    return SE05X_OK;
}

se05x_status se05x_policy_parse(const uint8_t *buf, size_t len, se05x_policy *p)
{
    if (!p || (len && !buf))
        return SE05X_ERR_ARG;
    se05x_policy_init(p);
    size_t pos = 0;
    while (pos < len) {
        size_t l = buf[pos];
        if (l < 8 || l - 8 > SE05X_POLICY_MAX_EXT)
            return SE05X_ERR_TLV_LENGTH;
        if (l > len - pos - 1)
            return SE05X_ERR_TLV_TRUNCATED;
        if (p->n >= SE05X_POLICY_MAX_ENTRIES)
            return SE05X_ERR_BUFFER;
        se05x_policy_entry *e = &p->e[p->n++];
        e->auth_id = se05x_get_u32(buf + pos + 1);
        e->ar = se05x_get_u32(buf + pos + 5);
        e->ext_len = (uint8_t)(l - 8);
        memcpy(e->ext, buf + pos + 9, e->ext_len);
        pos += 1 + l;
    }
    return SE05X_OK;
}

const char *se05x_ar_name(uint32_t bit)
{
    for (size_t i = 0; i < N_AR_NAMES; i++)
        if (AR_NAMES[i].bit == bit)
            return AR_NAMES[i].name;
    return NULL;
}

static bool word_to_bit(const char *w, size_t n, uint32_t *bit)
{
    for (size_t i = 0; i < N_AR_NAMES; i++) {
        const char *a = AR_NAMES[i].name, *b = AR_NAMES[i].alias;
        if ((strlen(a) == n && strncasecmp(a, w, n) == 0) ||
            (b && strlen(b) == n && strncasecmp(b, w, n) == 0)) {
            *bit = AR_NAMES[i].bit;
            return true;
        }
    }
    /* "allow_sign" style names as in NXP's documentation */
    if (n > 6 && strncasecmp(w, "allow_", 6) == 0)
        return word_to_bit(w + 6, n - 6, bit);
    return false;
}

static bool word_to_hex(const char *w, size_t n, uint32_t *v)
{
    if (n < 3 || n > 10 || w[0] != '0' || (w[1] != 'x' && w[1] != 'X'))
        return false;
    uint32_t r = 0;
    for (size_t i = 2; i < n; i++) {
        if (!isxdigit((unsigned char)w[i]))
            return false;
        r = (r << 4) | (uint32_t)(isdigit((unsigned char)w[i]) ? w[i] - '0'
                                                               : (tolower((unsigned char)w[i]) - 'a' + 10));
    }
    *v = r;
    return true;
}

se05x_status se05x_ar_parse(const char *names, uint32_t *ar, char *err, size_t errlen)
{
    if (!names || !ar)
        return SE05X_ERR_ARG;
    uint32_t acc = 0;
    const char *s = names;
    bool any = false;
    while (*s) {
        while (*s == ',' || *s == '|' || *s == '+' || isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        const char *w = s;
        while (*s && *s != ',' && *s != '|' && *s != '+' && !isspace((unsigned char)*s))
            s++;
        size_t n = (size_t)(s - w);
        uint32_t bit;
        if (!word_to_bit(w, n, &bit) && !word_to_hex(w, n, &bit)) {
            if (err && errlen)
                snprintf(err, errlen, "unknown access rule '%.*s'", (int)(n > 64 ? 64 : n), w);
            return SE05X_ERR_ARG;
        }
        acc |= bit;
        any = true;
    }
    if (!any) {
        if (err && errlen)
            snprintf(err, errlen, "empty access-rule list");
        return SE05X_ERR_ARG;
    }
    *ar = acc;
    return SE05X_OK;
}

size_t se05x_ar_format(uint32_t ar, char *buf, size_t cap)
{
    size_t need = 0;
    if (cap)
        buf[0] = '\0';
    for (int b = 31; b >= 0; b--) {
        uint32_t bit = 1u << b;
        if (!(ar & bit))
            continue;
        const char *n = se05x_ar_name(bit);
        char hex[16];
        if (!n) {
            snprintf(hex, sizeof(hex), "0x%08X", bit);
            n = hex;
        }
        int w = snprintf(need < cap ? buf + need : NULL, need < cap ? cap - need : 0, "%s%s",
                         need ? "," : "", n);
        need += (size_t)w;
    }
    return need;
}
