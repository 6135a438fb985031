/* Table-driven core of the SE05x command layer: one row per command
 * (header, Le case per spec §2, expected response TLVs in order), the
 * exchange helper (encode, send, check SW, strict TLV parse, error text),
 * and the name tables (object types, applet features, version decoding). */
#include <stdio.h>
#include <string.h>

#include "cmd_internal.h"
#include "conn_internal.h"

#define OPT SE05X_TLV_OPTIONAL
#define T1 SE05X_TAG_1
#define T2 SE05X_TAG_2
#define T3 SE05X_TAG_3
#define T4 SE05X_TAG_4
#define T5 SE05X_TAG_5
#define T6 SE05X_TAG_6
#define NONE SE05X_NE_NONE
#define SHORT SE05X_NE_SHORT
#define EXT SE05X_NE_EXT

/* {tag, flags, min, max}; max 0 = unbounded */
static const se05x_cmd_def CMD_TABLE[CMD__COUNT] = {
    [CMD_GET_VERSION] = {"GetVersion", 0x04, 0x00, 0x20, SHORT, 1, {{T1, 0, 7, 7}}},
    [CMD_GET_EXT_VERSION] = {"GetExtVersion", 0x04, 0x00, 0x21, SHORT, 1, {{T1, 0, 37, 37}}},
    [CMD_GET_TIMESTAMP] = {"GetTimestamp", 0x04, 0x00, 0x3D, SHORT, 1, {{T1, 0, 12, 12}}},
    [CMD_GET_FREE_MEMORY] = {"GetFreeMemory", 0x04, 0x00, 0x22, NONE, 1, {{T1, 0, 2, 4}}},
    [CMD_GET_RANDOM] = {"GetRandom", 0x04, 0x00, 0x49, EXT, 1, {{T1, 0, 0, 0}}},
    [CMD_DELETE_ALL] = {"DeleteAll", 0x04, 0x00, 0x2A, SHORT, 0, {{0}}},
    [CMD_READ_OBJECT] = {"ReadObject", 0x02, 0x00, 0x00, EXT, 1, {{T1, 0, 0, 0}}},
    [CMD_READ_OBJECT_ATTEST_3X] = {"ReadObject(attested)", 0x22, 0x00, 0x00, EXT, 6,
                                   {{T1, 0, 0, 0}, {T2, 0, 1, 0}, {T3, 0, 12, 12},
                                    {T4, 0, 16, 16}, {T5, 0, 18, 18}, {T6, 0, 8, 0}}},
    [CMD_READ_OBJECT_ATTEST_7X] = {"ReadObject(attested)", 0x22, 0x00, 0x00, EXT, 6,
                                   {{T1, OPT, 0, 0}, {T2, 0, 18, 18}, {T3, 0, 1, 0},
                                    {T4, 0, 2, 2}, {SE05X_TAG_TIMESTAMP, 0, 12, 12},
                                    {SE05X_TAG_SIGNATURE, 0, 8, 0}}},
    [CMD_READ_SIZE] = {"ReadSize", 0x02, 0x00, 0x07, NONE, 1, {{T1, 0, 2, 2}}},
    [CMD_READ_ATTRIBUTES_3X] = {"ReadObjectAttributes", 0x02, 0x00, 0x3B, NONE, 1,
                                {{T2, 0, 16, 0}}},
    [CMD_READ_ATTRIBUTES_7X] = {"ReadObjectAttributes", 0x02, 0x00, 0x3B, NONE, 1,
                                {{T3, 0, 19, 0}}},
    [CMD_READ_TYPE] = {"ReadType", 0x02, 0x00, 0x26, NONE, 2, {{T1, 0, 1, 1}, {T2, 0, 1, 1}}},
    [CMD_READ_ID_LIST] = {"ReadIDList", 0x02, 0x00, 0x25, EXT, 2, {{T1, 0, 1, 1}, {T2, OPT, 0, 0}}},
    [CMD_CHECK_OBJECT_EXISTS] = {"CheckObjectExists", 0x04, 0x00, 0x27, NONE, 1, {{T1, 0, 1, 1}}},
    [CMD_DELETE_OBJECT] = {"DeleteSecureObject", 0x04, 0x00, 0x28, NONE, 0, {{0}}},
    [CMD_WRITE_EC_KEY] = {"WriteECKey", 0x01, 0x01, 0x00, NONE, 0, {{0}}},
    [CMD_WRITE_RSA_KEY] = {"WriteRSAKey", 0x01, 0x02, 0x00, NONE, 0, {{0}}},
    [CMD_WRITE_SYMM_KEY] = {"WriteSymmKey", 0x01, 0x00, 0x00, NONE, 0, {{0}}},
    [CMD_WRITE_BINARY] = {"WriteBinary", 0x01, 0x06, 0x00, NONE, 0, {{0}}},
    [CMD_WRITE_USERID] = {"WriteUserID", 0x41, 0x07, 0x00, NONE, 0, {{0}}},
    [CMD_WRITE_COUNTER] = {"WriteCounter", 0x01, 0x08, 0x00, NONE, 0, {{0}}},
    [CMD_CREATE_EC_CURVE] = {"CreateECCurve", 0x01, 0x0B, 0x04, NONE, 0, {{0}}},
    [CMD_SET_EC_CURVE_PARAM] = {"SetECCurveParam", 0x01, 0x0B, 0x40, NONE, 0, {{0}}},
    [CMD_GET_EC_CURVE_ID] = {"GetECCurveId", 0x02, 0x0B, 0x36, NONE, 1, {{T1, 0, 1, 1}}},
    [CMD_READ_EC_CURVE_LIST] = {"ReadECCurveList", 0x02, 0x0B, 0x25, SHORT, 1,
                                {{T1, 0, 0, SE05X_CURVE_LIST_MAX}}},
    [CMD_DELETE_EC_CURVE] = {"DeleteECCurve", 0x04, 0x0B, 0x28, NONE, 0, {{0}}},
    [CMD_ECDSA_SIGN] = {"ECDSASign", 0x03, 0x0C, 0x09, NONE, 1, {{T1, 0, 8, 144}}},
    [CMD_ECDSA_VERIFY] = {"ECDSAVerify", 0x03, 0x0C, 0x0A, NONE, 1, {{T1, 0, 1, 1}}},
    [CMD_EDDSA_SIGN] = {"EdDSASign", 0x03, 0x0C, 0x09, NONE, 1, {{T1, 0, 64, 64}}},
    [CMD_EDDSA_VERIFY] = {"EdDSAVerify", 0x03, 0x0C, 0x0A, NONE, 1, {{T1, 0, 1, 1}}},
    [CMD_ECDH] = {"ECDHGenerateSharedSecret", 0x03, 0x01, 0x0F, EXT, 1, {{T1, 0, 1, 0}}},
    [CMD_RSA_SIGN] = {"RSASign", 0x03, 0x0C, 0x09, EXT, 1, {{T1, 0, 1, 512}}},
    [CMD_RSA_VERIFY] = {"RSAVerify", 0x03, 0x0C, 0x0A, NONE, 1, {{T1, 0, 1, 1}}},
    [CMD_RSA_ENCRYPT] = {"RSAEncrypt", 0x03, 0x02, 0x37, EXT, 1, {{T1, 0, 1, 512}}},
    [CMD_RSA_DECRYPT] = {"RSADecrypt", 0x03, 0x02, 0x38, EXT, 1, {{T1, 0, 0, 512}}},
    [CMD_DIGEST_ONESHOT] = {"DigestOneShot", 0x03, 0x00, 0x0E, NONE, 1, {{T1, 0, 20, 64}}},
    [CMD_CIPHER_ENCRYPT] = {"CipherOneShot(encrypt)", 0x03, 0x0E, 0x37, EXT, 2,
                            {{T1, 0, 0, 0}, {T3, OPT, 16, 16}}},
    [CMD_CIPHER_DECRYPT] = {"CipherOneShot(decrypt)", 0x03, 0x0E, 0x38, EXT, 1, {{T1, 0, 0, 0}}},
    [CMD_MAC_GENERATE] = {"MACOneShot", 0x03, 0x0D, 0x45, NONE, 1, {{T1, 0, 1, 64}}},
    [CMD_MAC_VALIDATE] = {"MACOneShot(validate)", 0x03, 0x0D, 0x46, NONE, 1, {{T1, 0, 1, 1}}},
};

const se05x_cmd_def *se05x_cmd_def_get(se05x_cmd_id cmd)
{
    if ((unsigned)cmd >= CMD__COUNT)
        return NULL;
    return &CMD_TABLE[cmd];
}

static bool is_tlv_status(se05x_status st)
{
    return st >= SE05X_ERR_TLV_TRUNCATED && st <= SE05X_ERR_TLV_TRAILING;
}

void se05x_cmd_fail(se05x_conn *c, se05x_cmd_id cmd, bool has_id, uint32_t id, se05x_status st)
{
    const se05x_cmd_def *d = se05x_cmd_def_get(cmd);
    char who[80];
    char detail[256];
    if (has_id)
        snprintf(who, sizeof(who), "%s 0x%08X", d ? d->name : "command", id);
    else
        snprintf(who, sizeof(who), "%s", d ? d->name : "command");
    /* copy first: the detail may live in the buffer we are about to overwrite */
    snprintf(detail, sizeof(detail), "%s", se05x_conn_errmsg(c));
    if (st == SE05X_ERR_SW) {
        uint16_t sw = se05x_conn_last_sw(c);
        se05x_conn_seterr(c, "%s: SE answered %04X (%s)", who, sw, se05x_sw_str(sw));
    } else if (is_tlv_status(st)) {
        se05x_conn_seterr(c, "%s: malformed response (%s)", who, se05x_strerror(st));
    } else if (st == SE05X_ERR_ARG || st == SE05X_ERR_BUFFER || st == SE05X_ERR_RESPONSE ||
               !detail[0]) {
        se05x_conn_seterr(c, "%s: %s", who, se05x_strerror(st));
    } else {
        se05x_conn_seterr(c, "%s: %s: %s", who, se05x_strerror(st), detail);
    }
}

se05x_status se05x_cmd_xchg(se05x_conn *c, const se05x_cmd_req *r, se05x_tlv_item *out)
{
    const se05x_cmd_def *d = se05x_cmd_def_get(r->cmd);
    if (!c || !d)
        return SE05X_ERR_ARG;
    uint8_t local[64];
    uint8_t *rsp = r->rsp ? r->rsp : local;
    size_t cap = r->rsp ? r->rsp_cap : sizeof(local);
    se05x_apdu a = {
        .cla = 0x80,
        .ins = (uint8_t)(d->ins | r->ins_or),
        .p1 = (uint8_t)(d->p1 | r->p1_or),
        .p2 = r->p2_set ? r->p2 : d->p2,
        .data = r->len ? r->data : NULL,
        .lc = r->len,
        .ne = d->ne,
        .extended = false,
    };
    size_t rlen = 0;
    uint16_t sw = 0;
    /* held across the exchange and the error text (recursive mutex) */
    se05x_conn_lock(c);
    se05x_status st = se05x_conn_apdu(c, &a, rsp, cap, &rlen, &sw);
    if (r->rsp_len)
        *r->rsp_len = st == SE05X_OK ? rlen : 0; /* nothing is copied on failure */
    if (st == SE05X_OK && sw != SE05X_SW_OK)
        st = SE05X_ERR_SW;
    if (st == SE05X_OK) {
        if (d->nrsp == 0)
            st = rlen ? SE05X_ERR_TLV_TRAILING : SE05X_OK;
        else
            st = se05x_tlv_expect(rsp, rlen, d->rsp, d->nrsp, out);
    }
    if (st != SE05X_OK)
        se05x_cmd_fail(c, r->cmd, r->has_id, r->id, st);
    se05x_conn_unlock(c);
    return st;
}

se05x_status se05x_cmd_copy_out(const se05x_tlv_item *it, uint8_t *out, size_t *len)
{
    if (!len)
        return SE05X_ERR_ARG;
    if (it->len > *len || (it->len && !out)) {
        *len = it->len;
        return SE05X_ERR_BUFFER;
    }
    if (it->len)
        memcpy(out, it->val, it->len);
    *len = it->len;
    return SE05X_OK;
}

void se05x_cmd_put_policy(se05x_tlvw *w, uint8_t tag, const se05x_obj_opts *o)
{
    if (!o || !o->policy || o->policy->n == 0)
        return;
    uint8_t pol[SE05X_POLICY_MAX_BYTES];
    size_t plen = 0;
    se05x_status st = se05x_policy_serialize(o->policy, pol, sizeof(pol), &plen);
    if (st != SE05X_OK) {
        if (w->err == SE05X_OK)
            w->err = st;
        return;
    }
    se05x_tlvw_bytes(w, tag, pol, plen);
}

uint8_t se05x_cmd_ins_flags(const se05x_obj_opts *o)
{
    if (!o)
        return 0;
    return (uint8_t)((o->transient ? 0x80 : 0) | (o->auth ? 0x40 : 0));
}

/* ---- names -------------------------------------------------------------- */

bool se05x_applet_is_7x(const se05x_conn *c)
{
    const uint8_t *v = c ? se05x_conn_applet_version(c) : NULL;
    return v && v[0] >= 7;
}

void se05x_version_decode(const uint8_t raw[SE05X_VERSION_LEN], se05x_version *v)
{
    v->major = raw[0];
    v->minor = raw[1];
    v->patch = raw[2];
    v->config = se05x_get_u16(raw + 3);
    v->sb_major = raw[5];
    v->sb_minor = raw[6];
}

static const struct {
    uint16_t bit;
    const char *name;
} FEATURES[] = {
    {0x0002, "ECDSA/ECDH/ECDHE"}, {0x0004, "EdDSA"},         {0x0008, "DH-Montgomery"},
    {0x0010, "HMAC"},             {0x0020, "RSA-plain"},     {0x0040, "RSA-CRT"},
    {0x0080, "AES"},              {0x0100, "DES"},           {0x0200, "PBKDF"},
    {0x0400, "TLS"},              {0x0800, "MIFARE-DESFire"}, {0x1000, "FIPS-mode-disabled"},
    {0x2000, "I2C-master"},       {0x4000, "RFU"},
};

size_t se05x_features_format(uint16_t config, char *buf, size_t cap)
{
    size_t need = 0;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof(FEATURES) / sizeof(FEATURES[0]); i++) {
        if (!(config & FEATURES[i].bit))
            continue;
        int w = snprintf(need < cap ? buf + need : NULL, need < cap ? cap - need : 0, "%s%s",
                         need ? "," : "", FEATURES[i].name);
        need += (size_t)w;
    }
    return need;
}

bool se05x_type_ec_info(uint8_t type, uint8_t *keypart, uint8_t *curve)
{
    static const uint8_t curves7[] = {
        SE05X_CURVE_NIST_P192, SE05X_CURVE_NIST_P224, SE05X_CURVE_NIST_P256,
        SE05X_CURVE_NIST_P384, SE05X_CURVE_NIST_P521, SE05X_CURVE_BP160,
        SE05X_CURVE_BP192,     SE05X_CURVE_BP224,     SE05X_CURVE_BP256,
        SE05X_CURVE_BP320,     SE05X_CURVE_BP384,     SE05X_CURVE_BP512,
        SE05X_CURVE_SECP160K1, SE05X_CURVE_SECP192K1, SE05X_CURVE_SECP224K1,
        SE05X_CURVE_SECP256K1, SE05X_CURVE_TPM_BN_P256, SE05X_CURVE_ED25519,
        SE05X_CURVE_X25519,    0 /* 0x6D..0x6F unused */, SE05X_CURVE_X448,
    };
    static const uint8_t parts[] = {SE05X_KEY_PAIR, SE05X_KEY_PRIVATE, SE05X_KEY_PUBLIC};
    uint8_t kp, cv;
    if (type >= SE05X_TYPE_EC_KEY_PAIR && type <= SE05X_TYPE_EC_PUB) {
        kp = parts[type - 1];
        cv = SE05X_CURVE_NONE;
    } else if (type >= 0x21 && type <= 0x73) {
        unsigned idx = (unsigned)(type - 0x21) / 4, off = (unsigned)(type - 0x21) % 4;
        if (off == 3 || idx >= sizeof(curves7) || curves7[idx] == 0)
            return false;
        kp = parts[off];
        cv = curves7[idx];
    } else {
        return false;
    }
    if (keypart)
        *keypart = kp;
    if (curve)
        *curve = cv;
    return true;
}

const char *se05x_type_name(uint8_t type)
{
    switch (type) {
    case SE05X_TYPE_EC_KEY_PAIR: return "EC key pair";
    case SE05X_TYPE_EC_PRIV: return "EC private key";
    case SE05X_TYPE_EC_PUB: return "EC public key";
    case SE05X_TYPE_RSA_KEY_PAIR: return "RSA key pair";
    case SE05X_TYPE_RSA_KEY_PAIR_CRT: return "RSA key pair (CRT)";
    case SE05X_TYPE_RSA_PRIV: return "RSA private key";
    case SE05X_TYPE_RSA_PRIV_CRT: return "RSA private key (CRT)";
    case SE05X_TYPE_RSA_PUB: return "RSA public key";
    case SE05X_TYPE_AES: return "AES key";
    case SE05X_TYPE_DES: return "DES key";
    case SE05X_TYPE_BINARY: return "binary";
    case SE05X_TYPE_USERID: return "UserID";
    case SE05X_TYPE_COUNTER: return "counter";
    case SE05X_TYPE_PCR: return "PCR";
    case SE05X_TYPE_CURVE: return "curve";
    case SE05X_TYPE_HMAC: return "HMAC key";
    default: break;
    }
    uint8_t kp, cv;
    if (!se05x_type_ec_info(type, &kp, &cv))
        return "unknown";
    /* 7.x curve-specific EC types: static strings per key part and curve */
#define EC_NAMES(c) {"EC key pair (" c ")", "EC private key (" c ")", "EC public key (" c ")"}
    static const char *const names[][3] = {
        EC_NAMES("NIST_P192"),  EC_NAMES("NIST_P224"),    EC_NAMES("NIST_P256"),
        EC_NAMES("NIST_P384"),  EC_NAMES("NIST_P521"),    EC_NAMES("Brainpool160"),
        EC_NAMES("Brainpool192"), EC_NAMES("Brainpool224"), EC_NAMES("Brainpool256"),
        EC_NAMES("Brainpool320"), EC_NAMES("Brainpool384"), EC_NAMES("Brainpool512"),
        EC_NAMES("Secp160k1"),  EC_NAMES("Secp192k1"),    EC_NAMES("Secp224k1"),
        EC_NAMES("Secp256k1"),  EC_NAMES("BN_P256"),      EC_NAMES("ED_25519"),
        EC_NAMES("MONT_DH_25519"), {NULL, NULL, NULL},    EC_NAMES("MONT_DH_448"),
    };
#undef EC_NAMES
    unsigned idx = (unsigned)(type - 0x21) / 4, off = (unsigned)(type - 0x21) % 4;
    return names[idx][off];
}
