/* The RTP JSON provisioning files (spec §8) through json-c: a JSON array of
 * {deviceId, rtpProvisionings: [{provisioningId, state, secureObject{...},
 * apdus{createApdu{apdu}, writeApdus[{apdu}]}}]}. Strict tokenizer, every
 * field type-checked, every APDU base64-decoded and size-checked before the
 * file is accepted. Unknown fields are ignored (EL2GO adds fields). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "rtp.h"

#define RTP_FILE_MAX (16u << 20)

typedef struct {
    char *err;
    size_t errlen;
} perr;

static se05x_status fail(perr *e, const char *fmt, ...)
{
    if (e->err && e->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->err, e->errlen, fmt, ap);
        va_end(ap);
    }
    return SE05X_ERR_ARG;
}

static void bytes_free(rtp_bytes *b)
{
    if (b->data)
        OPENSSL_clear_free(b->data, b->len);
    b->data = NULL;
    b->len = 0;
}

static void prov_free(rtp_prov *p)
{
    bytes_free(&p->create);
    for (size_t i = 0; i < p->nwrites; i++)
        bytes_free(&p->writes[i]);
    free(p->writes);
    memset(p, 0, sizeof(*p));
}

void rtp_file_free(rtp_file *f)
{
    if (!f)
        return;
    for (size_t d = 0; d < f->ndevs; d++) {
        for (size_t i = 0; i < f->devs[d].nprovs; i++)
            prov_free(&f->devs[d].provs[i]);
        free(f->devs[d].provs);
    }
    free(f->devs);
    memset(f, 0, sizeof(*f));
}

/* Member `key` of obj with JSON type t; NULL if absent (or wrong type: *bad). */
static json_object *member(json_object *obj, const char *key, json_type t, bool *bad)
{
    json_object *v = NULL;
    *bad = false;
    if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    if (!json_object_is_type(v, t)) {
        *bad = true;
        return NULL;
    }
    return v;
}

static se05x_status get_str(json_object *obj, const char *key, bool required, char *out,
                            size_t cap, const char *where, perr *e)
{
    bool bad;
    json_object *v = member(obj, key, json_type_string, &bad);
    out[0] = 0;
    if (bad)
        return fail(e, "%s: \"%s\" is not a string", where, key);
    if (!v)
        return required ? fail(e, "%s: \"%s\" is missing", where, key) : SE05X_OK;
    const char *s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s))
        return fail(e, "%s: \"%s\" contains a NUL character", where, key);
    if (strlen(s) >= cap)
        return fail(e, "%s: \"%s\" is too long", where, key);
    memcpy(out, s, strlen(s) + 1);
    return SE05X_OK;
}

/* {"apdu": base64} -> bytes, 4..RTP_CLIENT_MAX long. */
static se05x_status get_apdu(json_object *holder, const char *where, rtp_bytes *out, perr *e)
{
    bool bad;
    if (!json_object_is_type(holder, json_type_object))
        return fail(e, "%s: not an object", where);
    json_object *v = member(holder, "apdu", json_type_string, &bad);
    if (!v)
        return fail(e, "%s: \"apdu\" is %s", where, bad ? "not a string" : "missing");
    const char *s = json_object_get_string(v);
    se05x_status st = rtp_b64_decode(s, &out->data, &out->len);
    if (st == SE05X_ERR_NOMEM)
        return fail(e, "%s: out of memory", where);
    if (st != SE05X_OK || (size_t)json_object_get_string_len(v) != strlen(s))
        return fail(e, "%s: \"apdu\" is not valid base64", where);
    if (out->len < 4 || out->len > RTP_CLIENT_MAX)
        return fail(e, "%s: APDU of %zu bytes (must be 4..%d)", where, out->len, RTP_CLIENT_MAX);
    return SE05X_OK;
}

static se05x_status parse_apdus(json_object *po, rtp_prov *p, const char *where, perr *e)
{
    bool bad;
    char w[256];
    json_object *ap = member(po, "apdus", json_type_object, &bad);
    if (!ap)
        return fail(e, "%s: \"apdus\" is %s", where, bad ? "not an object" : "missing");
    json_object *cr = NULL;
    if (!json_object_object_get_ex(ap, "createApdu", &cr))
        return fail(e, "%s: \"apdus.createApdu\" is missing", where);
    snprintf(w, sizeof(w), "%s: apdus.createApdu", where);
    se05x_status st = get_apdu(cr, w, &p->create, e);
    if (st != SE05X_OK)
        return st;
    json_object *wr = member(ap, "writeApdus", json_type_array, &bad);
    if (bad)
        return fail(e, "%s: \"apdus.writeApdus\" is not an array", where);
    size_t n = wr ? json_object_array_length(wr) : 0;
    if (n) {
        p->writes = calloc(n, sizeof(*p->writes));
        if (!p->writes)
            return fail(e, "%s: out of memory", where);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(w, sizeof(w), "%s: apdus.writeApdus[%zu]", where, i);
        st = get_apdu(json_object_array_get_idx(wr, i), w, &p->writes[i], e);
        p->nwrites = i + 1; /* so that prov_free releases it */
        if (st != SE05X_OK)
            return st;
    }
    return SE05X_OK;
}

static se05x_status parse_prov(json_object *po, rtp_prov *p, const char *where, perr *e)
{
    bool bad;
    if (!json_object_is_type(po, json_type_object))
        return fail(e, "%s: not an object", where);
    json_object *pid = member(po, "provisioningId", json_type_int, &bad);
    if (bad)
        return fail(e, "%s: \"provisioningId\" is not an integer", where);
    p->provisioning_id = pid ? (long long)json_object_get_int64(pid) : 0;
    se05x_status st = get_str(po, "state", true, p->state, sizeof(p->state), where, e);
    if (st != SE05X_OK)
        return st;
    json_object *so = member(po, "secureObject", json_type_object, &bad);
    if (!so)
        return fail(e, "%s: \"secureObject\" is %s", where, bad ? "not an object" : "missing");
    char sow[256], objid[32];
    snprintf(sow, sizeof(sow), "%s: secureObject", where);
    if ((st = get_str(so, "type", true, p->type, sizeof(p->type), sow, e)) != SE05X_OK ||
        (st = get_str(so, "algorithm", false, p->algorithm, sizeof(p->algorithm), sow, e)) !=
            SE05X_OK ||
        (st = get_str(so, "name", false, p->name, sizeof(p->name), sow, e)) != SE05X_OK ||
        (st = get_str(so, "objectId", true, objid, sizeof(objid), sow, e)) != SE05X_OK)
        return st;
    if (rtp_parse_objid(objid, &p->object_id) != SE05X_OK)
        return fail(e, "%s: \"objectId\" '%s' is not a hex object id", sow, objid);
    /* apdus are only needed (and checked) for provisionings to be sent,
     * but a file is accepted only when all of them are well-formed */
    return parse_apdus(po, p, where, e);
}

static se05x_status parse_device(json_object *dobj, rtp_device *d, size_t di, perr *e)
{
    char where[160];
    bool bad;
    snprintf(where, sizeof(where), "device [%zu]", di);
    if (!json_object_is_type(dobj, json_type_object))
        return fail(e, "%s: not an object", where);
    se05x_status st = get_str(dobj, "deviceId", true, d->device_id, sizeof(d->device_id), where, e);
    if (st != SE05X_OK)
        return st;
    const char *s = d->device_id;
    if (*s == '-')
        s++;
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return fail(e, "%s: \"deviceId\" '%s' is not a decimal number", where, d->device_id);
    snprintf(where, sizeof(where), "device %s", d->device_id);
    json_object *pa = member(dobj, "rtpProvisionings", json_type_array, &bad);
    if (bad)
        return fail(e, "%s: \"rtpProvisionings\" is not an array", where);
    size_t n = pa ? json_object_array_length(pa) : 0;
    if (n) {
        d->provs = calloc(n, sizeof(*d->provs));
        if (!d->provs)
            return fail(e, "%s: out of memory", where);
    }
    for (size_t i = 0; i < n; i++) {
        char pw[200];
        snprintf(pw, sizeof(pw), "%s: rtpProvisionings[%zu]", where, i);
        d->nprovs = i + 1;
        st = parse_prov(json_object_array_get_idx(pa, i), &d->provs[i], pw, e);
        if (st != SE05X_OK)
            return st;
    }
    return SE05X_OK;
}

se05x_status rtp_file_parse(const char *text, size_t len, rtp_file *out, char *err,
                            size_t errlen)
{
    perr e = {err, errlen};
    if (!text || !out)
        return SE05X_ERR_ARG;
    memset(out, 0, sizeof(*out));
    if (len > INT32_MAX || memchr(text, 0, len))
        return fail(&e, "not a JSON text (NUL byte or too large)");
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return fail(&e, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    se05x_status st = SE05X_OK;
    if (!root || jerr != json_tokener_success) {
        st = fail(&e, "malformed JSON at offset %zu: %s", used,
                  jerr == json_tokener_continue ? "unexpected end of input"
                                                : json_tokener_error_desc(jerr));
    } else {
        while (used < len && strchr(" \t\r\n", text[used]))
            used++;
        if (used < len)
            st = fail(&e, "malformed JSON: trailing data at offset %zu", used);
        else if (!json_object_is_type(root, json_type_array))
            st = fail(&e, "the top level is not a JSON array of devices");
    }
    size_t n = st == SE05X_OK ? json_object_array_length(root) : 0;
    if (n) {
        out->devs = calloc(n, sizeof(*out->devs));
        if (!out->devs)
            st = fail(&e, "out of memory");
    }
    for (size_t i = 0; i < n && st == SE05X_OK; i++) {
        out->ndevs = i + 1;
        st = parse_device(json_object_array_get_idx(root, i), &out->devs[i], i, &e);
    }
    if (st != SE05X_OK)
        rtp_file_free(out);
    json_object_put(root);
    json_tokener_free(tok);
    return st;
}

se05x_status rtp_file_load(const char *path, rtp_file *out, char *err, size_t errlen)
{
    perr e = {err, errlen};
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(&e, "cannot open: %s", strerror(errno)), SE05X_ERR_IO;
    char *buf = malloc(RTP_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, RTP_FILE_MAX + 1, f) : 0;
    bool rerr = ferror(f);
    fclose(f);
    se05x_status st;
    if (!buf)
        st = fail(&e, "out of memory");
    else if (rerr)
        st = fail(&e, "read error"), st = SE05X_ERR_IO;
    else if (n > RTP_FILE_MAX)
        st = fail(&e, "larger than %u bytes", RTP_FILE_MAX);
    else
        st = rtp_file_parse(buf, n, out, err, errlen);
    if (buf)
        OPENSSL_clear_free(buf, RTP_FILE_MAX + 1);
    return st;
}
