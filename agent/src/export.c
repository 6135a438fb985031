/* Export of provisioned services for other applications (el2go/export.h):
 * SE key references as "SE05X KEY REFERENCE" PEMs (sss/refkey.h), client
 * certificates and server roots as PEM, and services.json. Files are
 * written as NAME.tmp and renamed, so a reader never sees half a file. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

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

/* ---- JSON ------------------------------------------------------------------ */

typedef struct {
    FILE *f;
    bool first;
} jobj;

static void jkey(jobj *j, const char *k)
{
    fprintf(j->f, "%s\"%s\": ", j->first ? "" : ", ", k);
    j->first = false;
}

static void jstr(jobj *j, const char *k, const char *v)
{
    if (!v)
        return;
    jkey(j, k);
    fputc('"', j->f);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(j->f, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7F)
            fprintf(j->f, "\\u%04x", *p);
        else
            fputc(*p, j->f);
    }
    fputc('"', j->f);
}

static void jnum(jobj *j, const char *k, unsigned long long v)
{
    jkey(j, k);
    fprintf(j->f, "%llu", v);
}

static void jbool(jobj *j, const char *k, bool v)
{
    jkey(j, k);
    fputs(v ? "true" : "false", j->f);
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

static void json_service(FILE *f, const Nxp__Iot__ServiceDescriptor *sd, const exported *x,
                         bool last)
{
    jobj j = {.f = f, .first = true};
    fputs("  {", f);
    jnum(&j, "identifier", sd->identifier);
    jstr(&j, "type", sd->has_service_type ? el2go_service_type_name(sd->service_type) : "aws");
    jstr(&j, "protocol", el2go_service_protocol_name(sd));
    jstr(&j, "hostname", sd->hostname);
    if (sd->has_port)
        jnum(&j, "port", sd->port);
    if (sd->has_timeout_ms)
        jnum(&j, "timeout_ms", sd->timeout_ms);
    jstr(&j, "client_id", sd->client_id);
    jstr(&j, "username", sd->username);
    if (sd->password)
        jbool(&j, "has_password", true); /* never exported */
    if (sd->has_client_key && sd->client_key.len)
        jbool(&j, "has_embedded_key", true); /* never exported */
    jstr(&j, "key_uri", x->key_uri[0] ? x->key_uri : NULL);
    jstr(&j, "key_file", x->key_file[0] ? x->key_file : NULL);
    jstr(&j, "certificate_uri", x->cert_uri[0] ? x->cert_uri : NULL);
    jstr(&j, "certificate_file", x->cert_file[0] ? x->cert_file : NULL);
    jstr(&j, "ca_file", x->ca_file[0] ? x->ca_file : NULL);
    jstr(&j, "customer_metadata_json", sd->customer_metadata_json);
    jstr(&j, "azure_id_scope", sd->azure_id_scope);
    jstr(&j, "azure_registration_id", sd->azure_registration_id);
    jstr(&j, "azure_global_device_endpoint", sd->azure_global_device_endpoint);
    jstr(&j, "note", x->note[0] ? x->note : NULL);
    fprintf(f, "}%s\n", last ? "" : ",");
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
    char *json = NULL;
    size_t json_len = 0;
    FILE *jf = open_memstream(&json, &json_len);
    if (!jf)
        return efail(err, errlen, EL2GO_ERR_NOMEM, "out of memory");
    fputs("[\n", jf);
    for (size_t i = 0; st == EL2GO_OK && i < n; i++) {
        Nxp__Iot__ServiceDescriptor *sd = NULL;
        st = el2go_service_by_index(contents, len, i, &sd);
        if (st != EL2GO_OK) {
            efail(err, errlen, st, "service %zu is corrupt", i);
            break;
        }
        exported x = {0};
        st = export_key(sd, s, dir, &x, err, errlen);
        if (st == EL2GO_OK)
            st = export_cert(sd, s, dir, &x, err, errlen);
        if (st == EL2GO_OK)
            st = export_ca(sd, dir, &x, err, errlen);
        if (st == EL2GO_OK) {
            json_service(jf, sd, &x, i + 1 == n);
            (*count)++;
        }
        el2go_service_free(sd);
    }
    fputs("]\n", jf);
    fclose(jf);
    if (st == EL2GO_OK)
        st = write_file(dir, "services.json", json, json_len, err, errlen);
    free(json);
    return st;
}
