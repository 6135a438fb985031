/* Export of provisioned services for other applications (el2go/export.h):
 * SE key references as "SE05X KEY REFERENCE" PEMs (sss/refkey.h), client
 * certificates and server roots as PEM, and services.json (json-c,
 * pretty-printed). Files are
 * written as NAME.tmp and renamed, so a reader never sees half a file. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <json-c/json.h>

#include "el2go/crl.h"
#include "el2go/datastore.h"
#include "el2go/export.h"
#include "sss/refkey.h"
#include "sss/sss.h"

#define CERT_MAX 8192u

static el2go_status efail(char *err, size_t errlen, el2go_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static el2go_status efail(char *err, size_t errlen, el2go_status st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

static el2go_status write_file(const char *dir, const char *name, const void *data, size_t len,
                               char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    ok = f && fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return efail(err, errlen, EL2GO_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    return EL2GO_OK;
}

/* Concatenated DER certificates as PEM (malloc'ed text). */
static char *der_certs_pem(const uint8_t *der, size_t len)
{
    STACK_OF(X509) *sk = el2go_der_certs(der, len);
    BIO *b = sk ? BIO_new(BIO_s_mem()) : NULL;
    bool ok = b != NULL;
    for (int i = 0; ok && i < sk_X509_num(sk); i++)
        ok = PEM_write_bio_X509(b, sk_X509_value(sk, i)) == 1;
    sk_X509_pop_free(sk, X509_free);
    char *p, *out = NULL;
    long n = ok ? BIO_get_mem_data(b, &p) : 0;
    if (n > 0 && (out = malloc((size_t)n + 1))) {
        memcpy(out, p, (size_t)n);
        out[n] = '\0';
    }
    BIO_free(b);
    return out;
}

static bool on_our_keystore(const Nxp__Iot__SssObjectReference *r)
{
    return r && r->has_object_id && (!r->has_endpoint_id || r->endpoint_id == EL2GO_KEYSTORE_ID);
}

/* ---- JSON (json-c) ------------------------------------------------------- */

/* Length of the valid UTF-8 character at p (at most n bytes), 0 if none. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
    unsigned long cp = 0;
    int len = UTF8_getc(p, n > 8 ? 8 : (int)n, &cp);
    if (len <= 0 || len > 4 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return (size_t)len;
}

/* A JSON string of v. The server's strings are not checked to be UTF-8
 * and json-c copies bytes as they are, so each byte that does not start a
 * valid UTF-8 character becomes U+FFFD: the output stays valid UTF-8. */
static json_object *jstring(const char *v)
{
    const unsigned char *p = (const unsigned char *)v;
    size_t n = strlen(v), i = 0, k;
    while (i < n && (k = utf8_char(p + i, n - i)) > 0)
        i += k;
    if (i == n)
        return json_object_new_string(v);
    char *fixed = malloc(3 * n + 1); /* each byte at most U+FFFD (3 bytes) */
    if (!fixed)
        return NULL;
    size_t o = 0;
    for (i = 0; i < n; i += k) {
        if ((k = utf8_char(p + i, n - i)) > 0) {
            memcpy(fixed + o, p + i, k);
            o += k;
        } else {
            memcpy(fixed + o, "\xEF\xBF\xBD", 3);
            o += 3;
            k = 1;
        }
    }
    json_object *j = json_object_new_string_len(fixed, (int)o);
    free(fixed);
    return j;
}

/* Add the string member k unless v is NULL (absent settings are omitted). */
static void jstr(json_object *o, const char *k, const char *v)
{
    if (v)
        json_object_object_add(o, k, jstring(v));
}

json_object *el2go_service_json(const Nxp__Iot__ServiceDescriptor *sd)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "identifier", json_object_new_uint64(sd->identifier));
    jstr(o, "type", sd->has_service_type ? el2go_service_type_name(sd->service_type) : "aws");
    jstr(o, "protocol", el2go_service_protocol_name(sd));
    jstr(o, "hostname", sd->hostname);
    if (sd->has_port)
        json_object_object_add(o, "port", json_object_new_int64(sd->port));
    if (sd->has_timeout_ms)
        json_object_object_add(o, "timeout_ms", json_object_new_int64(sd->timeout_ms));
    jstr(o, "client_id", sd->client_id);
    jstr(o, "username", sd->username);
    jstr(o, "customer_metadata_json", sd->customer_metadata_json);
    jstr(o, "azure_id_scope", sd->azure_id_scope);
    jstr(o, "azure_registration_id", sd->azure_registration_id);
    jstr(o, "azure_global_device_endpoint", sd->azure_global_device_endpoint);
    return o;
}

/* ---- one service -------------------------------------------------------------- */

typedef struct {
    char key_uri[32], key_file[64], cert_uri[32], cert_file[64], ca_file[64];
    char note[200];
} exported;

static el2go_status export_key(const Nxp__Iot__ServiceDescriptor *sd, sss_session *s,
                               const char *dir, exported *x, char *err, size_t errlen)
{
    const Nxp__Iot__SssObjectReference *r = sd->client_key_sss_ref;
    if (!on_our_keystore(r) || !s)
        return EL2GO_OK;
    uint32_t id = r->object_id;
    snprintf(x->key_uri, sizeof(x->key_uri), "se05x:0x%08X", id);
    sss_key *k = NULL;
    uint8_t spki[1024];
    size_t spki_len = sizeof(spki);
    sss_status st = sss_key_open(s, id, &k);
    if (st == SSS_OK)
        st = sss_key_public_der(k, spki, &spki_len);
    sss_key_close(k);
    char *pem = NULL;
    size_t pem_len = 0;
    if (st == SSS_OK)
        st = sss_refkey_encode_pem(id, spki, spki_len, &pem, &pem_len);
    if (st != SSS_OK) {
        snprintf(x->note, sizeof(x->note), "key 0x%08X: %s", id, sss_strerror(st));
        return EL2GO_OK; /* the URI is still useful; the JSON says why */
    }
    snprintf(x->key_file, sizeof(x->key_file), "service-%llu-key.pem",
             (unsigned long long)sd->identifier);
    el2go_status e = write_file(dir, x->key_file, pem, pem_len, err, errlen);
    free(pem);
    return e;
}

static el2go_status export_cert(const Nxp__Iot__ServiceDescriptor *sd, sss_session *s,
                                const char *dir, exported *x, char *err, size_t errlen)
{
    uint8_t *der = NULL;
    size_t len = 0;
    uint8_t buf[CERT_MAX];
    const Nxp__Iot__SssObjectReference *r = sd->client_certificate_sss_ref;
    if (on_our_keystore(r) && s) {
        snprintf(x->cert_uri, sizeof(x->cert_uri), "se05x:0x%08X", r->object_id);
        len = sizeof(buf);
        sss_status st = sss_cert_read_der(s, r->object_id, buf, &len);
        if (st != SSS_OK) {
            snprintf(x->note, sizeof(x->note), "certificate 0x%08X: %s", r->object_id,
                     sss_strerror(st));
            len = 0;
        } else {
            der = buf;
        }
    } else if (sd->has_client_certificate && sd->client_certificate.len) {
        der = sd->client_certificate.data;
        len = sd->client_certificate.len;
    }
    if (!der)
        return EL2GO_OK;
    char *pem = der_certs_pem(der, len);
    if (!pem) {
        snprintf(x->note, sizeof(x->note), "client certificate is not DER X.509");
        return EL2GO_OK;
    }
    snprintf(x->cert_file, sizeof(x->cert_file), "service-%llu-cert.pem",
             (unsigned long long)sd->identifier);
    el2go_status e = write_file(dir, x->cert_file, pem, strlen(pem), err, errlen);
    free(pem);
    return e;
}

static el2go_status export_ca(const Nxp__Iot__ServiceDescriptor *sd, const char *dir, exported *x,
                              char *err, size_t errlen)
{
    if (!sd->has_server_certificate || !sd->server_certificate.len)
        return EL2GO_OK;
    char *pem = der_certs_pem(sd->server_certificate.data, sd->server_certificate.len);
    if (!pem) {
        snprintf(x->note, sizeof(x->note), "server_certificate is not DER X.509");
        return EL2GO_OK;
    }
    snprintf(x->ca_file, sizeof(x->ca_file), "service-%llu-ca.pem",
             (unsigned long long)sd->identifier);
    el2go_status e = write_file(dir, x->ca_file, pem, strlen(pem), err, errlen);
    free(pem);
    return e;
}

/* The services.json entry: the settings plus what was exported. */
static json_object *json_service(const Nxp__Iot__ServiceDescriptor *sd, const exported *x)
{
    json_object *o = el2go_service_json(sd);
    if (!o)
        return NULL;
    if (sd->password)
        json_object_object_add(o, "has_password", json_object_new_boolean(1)); /* never exported */
    if (sd->has_client_key && sd->client_key.len) /* never exported */
        json_object_object_add(o, "has_embedded_key", json_object_new_boolean(1));
    jstr(o, "key_uri", x->key_uri[0] ? x->key_uri : NULL);
    jstr(o, "key_file", x->key_file[0] ? x->key_file : NULL);
    jstr(o, "certificate_uri", x->cert_uri[0] ? x->cert_uri : NULL);
    jstr(o, "certificate_file", x->cert_file[0] ? x->cert_file : NULL);
    jstr(o, "ca_file", x->ca_file[0] ? x->ca_file : NULL);
    jstr(o, "note", x->note[0] ? x->note : NULL);
    return o;
}

/* Export service idx of contents: its files in dir, its entry into arr. */
static el2go_status export_one(const uint8_t *contents, size_t len, size_t idx, sss_session *s,
                               const char *dir, json_object *arr, char *err, size_t errlen)
{
    Nxp__Iot__ServiceDescriptor *sd = NULL;
    el2go_status st = el2go_service_by_index(contents, len, idx, &sd);
    if (st != EL2GO_OK)
        return efail(err, errlen, st, "service %zu is corrupt", idx);
    exported x = {0};
    st = export_key(sd, s, dir, &x, err, errlen);
    if (st == EL2GO_OK)
        st = export_cert(sd, s, dir, &x, err, errlen);
    if (st == EL2GO_OK)
        st = export_ca(sd, dir, &x, err, errlen);
    if (st == EL2GO_OK) {
        json_object *o = json_service(sd, &x);
        if (!o || json_object_array_add(arr, o) != 0) {
            json_object_put(o);
            st = efail(err, errlen, EL2GO_ERR_NOMEM, "out of memory");
        }
    }
    el2go_service_free(sd);
    return st;
}

el2go_status el2go_export(const uint8_t *contents, size_t len, sss_session *s, const char *dir,
                          size_t *count, char *err, size_t errlen)
{
    size_t n = 0;
    *count = 0;
    el2go_status st = el2go_services_count(contents, len, &n);
    if (st != EL2GO_OK)
        return efail(err, errlen, st, "no valid service datastore");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return efail(err, errlen, EL2GO_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    json_object *arr = json_object_new_array();
    if (!arr)
        return efail(err, errlen, EL2GO_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == EL2GO_OK && i < n; i++)
        if ((st = export_one(contents, len, i, s, dir, arr, err, errlen)) == EL2GO_OK)
            (*count)++;
    if (st == EL2GO_OK) {
        int flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE;
        const char *text = json_object_to_json_string_ext(arr, flags);
        char *doc = NULL; /* the document and a final newline */
        int dlen = text ? asprintf(&doc, "%s\n", text) : -1;
        if (dlen < 0)
            st = efail(err, errlen, EL2GO_ERR_NOMEM, "out of memory");
        else
            st = write_file(dir, "services.json", doc, (size_t)dlen, err, errlen);
        if (dlen >= 0)
            free(doc);
    }
    json_object_put(arr);
    return st;
}
