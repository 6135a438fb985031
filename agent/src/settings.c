/* Connection settings precedence (spec §4) and the connection datastore
 * builder. Unlike the reference agent we do not skip descriptors whose
 * service_type is EL2GOSERVICE (docs/agent.md): the first descriptor with a
 * hostname, a port and a complete client_key_sss_ref is used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "el2go/datastore.h"
#include "el2go/settings.h"

const char *el2go_settings_source_name(el2go_settings_source s)
{
    switch (s) {
    case EL2GO_SRC_CMDLINE: return "command line";
    case EL2GO_SRC_ENV: return "environment";
    case EL2GO_SRC_DATASTORE: return "datastore";
    case EL2GO_SRC_DEFAULT: return "compiled defaults";
    }
    return "?";
}

static bool parse_port(const char *s, uint16_t *port)
{
    char *end;
    if (!s || !*s)
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v == 0 || v > 65535 || s[0] == '-' || s[0] == '+')
        return false;
    *port = (uint16_t)v;
    return true;
}

static bool set_host(el2go_settings *o, const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n >= sizeof(o->hostname))
        return false;
    memcpy(o->hostname, h, n + 1);
    return true;
}

static void append(char *warn, size_t warnlen, const char *msg)
{
    if (!warn || !warnlen)
        return;
    size_t used = strlen(warn);
    snprintf(warn + used, warnlen - used, "%s%s", used ? "; " : "", msg);
}

static bool sd_usable(const Nxp__Iot__ServiceDescriptor *sd)
{
    const Nxp__Iot__SssObjectReference *k = sd->client_key_sss_ref;
    return sd->hostname && *sd->hostname && sd->has_port && sd->port > 0 && sd->port <= 65535 &&
           k && k->has_type && k->has_endpoint_id && k->has_object_id;
}

static bool from_datastore(const uint8_t *ds, size_t len, el2go_settings *o)
{
    size_t n = 0;
    if (el2go_services_count(ds, len, &n) != EL2GO_OK)
        return false;
    for (size_t i = 0; i < n; i++) {
        Nxp__Iot__ServiceDescriptor *sd;
        if (el2go_service_by_index(ds, len, i, &sd) != EL2GO_OK)
            return false;
        bool ok = sd_usable(sd) && set_host(o, sd->hostname);
        if (ok) {
            o->port = (uint16_t)sd->port;
            o->keystore_id = sd->client_key_sss_ref->endpoint_id;
            o->key_id = sd->client_key_sss_ref->object_id;
            if (sd->client_certificate_sss_ref && sd->client_certificate_sss_ref->has_object_id)
                o->cert_id = sd->client_certificate_sss_ref->object_id;
            if (sd->has_server_certificate && sd->server_certificate.len &&
                (o->roots = malloc(sd->server_certificate.len))) {
                memcpy(o->roots, sd->server_certificate.data, sd->server_certificate.len);
                o->roots_len = sd->server_certificate.len;
            }
        }
        el2go_service_free(sd);
        if (ok)
            return true;
    }
    return false;
}

el2go_status el2go_settings_resolve(const char *cli_host, const char *cli_port, const uint8_t *ds,
                                    size_t ds_len, el2go_settings *o, char *warn, size_t warnlen)
{
    if (!o)
        return EL2GO_ERR_ARG;
    memset(o, 0, sizeof(*o));
    if (warn && warnlen)
        warn[0] = 0;
    o->keystore_id = EL2GO_KEYSTORE_ID;
    o->key_id = EL2GO_KEY_ECC;
    o->cert_id = EL2GO_CERT_ECC;
    o->port = EL2GO_DEFAULT_PORT;

    if (cli_host || cli_port) {
        if (!cli_host || !set_host(o, cli_host))
            return EL2GO_ERR_ARG;
        if (cli_port && !parse_port(cli_port, &o->port))
            return EL2GO_ERR_ARG;
        o->source = EL2GO_SRC_CMDLINE;
        return EL2GO_OK;
    }
    const char *eh = getenv("EDGELOCK2GO_HOSTNAME"), *ep = getenv("EDGELOCK2GO_PORT");
    if (eh && *eh && ep && *ep) {
        if (!set_host(o, eh) || !parse_port(ep, &o->port))
            return EL2GO_ERR_ARG;
        o->source = EL2GO_SRC_ENV;
        return EL2GO_OK;
    }
    if ((eh && *eh) || (ep && *ep))
        append(warn, warnlen,
               "EDGELOCK2GO_HOSTNAME and EDGELOCK2GO_PORT must both be set; environment ignored");
    if (ds && ds_len) {
        char why[96];
        if (el2go_dscontent_check(ds, ds_len, why, sizeof(why)) != EL2GO_OK) {
            char msg[160];
            snprintf(msg, sizeof(msg), "connection datastore ignored (%s)", why);
            append(warn, warnlen, msg);
        } else if (from_datastore(ds, ds_len, o)) {
            o->source = EL2GO_SRC_DATASTORE;
            return EL2GO_OK;
        } else {
            append(warn, warnlen, "connection datastore has no usable service descriptor");
        }
    }
    /* compiled defaults */
    memset(o, 0, sizeof(*o));
    o->keystore_id = EL2GO_KEYSTORE_ID;
    o->key_id = EL2GO_KEY_ECC;
    o->cert_id = EL2GO_CERT_ECC;
    o->port = EL2GO_DEFAULT_PORT;
    snprintf(o->hostname, sizeof(o->hostname), "%s", EL2GO_DEFAULT_HOSTNAME);
    o->source = EL2GO_SRC_DEFAULT;
    return EL2GO_OK;
}

void el2go_settings_clear(el2go_settings *s)
{
    if (!s)
        return;
    free(s->roots);
    memset(s, 0, sizeof(*s));
}

el2go_status el2go_connds_build(const char *host, uint16_t port, uint32_t ks_id, uint32_t key_id,
                                uint32_t cert_id, const uint8_t *roots, size_t roots_len,
                                uint8_t **out, size_t *len)
{
    if (!host || !*host || !out || !len)
        return EL2GO_ERR_ARG;
    Nxp__Iot__ServiceDescriptor sd = NXP__IOT__SERVICE_DESCRIPTOR__INIT;
    Nxp__Iot__SssObjectReference key = NXP__IOT__SSS_OBJECT_REFERENCE__INIT;
    Nxp__Iot__SssObjectReference cert = NXP__IOT__SSS_OBJECT_REFERENCE__INIT;
    key.has_type = cert.has_type = 1;
    key.type = cert.type = NXP__IOT__ENDPOINT_TYPE__KS_SSS_SE05X;
    key.has_endpoint_id = cert.has_endpoint_id = 1;
    key.endpoint_id = cert.endpoint_id = ks_id;
    key.has_object_id = cert.has_object_id = 1;
    key.object_id = key_id;
    cert.object_id = cert_id;
    sd.identifier = 0;
    sd.hostname = (char *)host;
    sd.has_port = 1;
    sd.port = port;
    sd.client_key_sss_ref = &key;
    sd.client_certificate_sss_ref = &cert;
    if (roots && roots_len) {
        sd.has_server_certificate = 1;
        sd.server_certificate.data = (uint8_t *)roots;
        sd.server_certificate.len = roots_len;
    }
    Nxp__Iot__ServiceDescriptor *arr[1] = {&sd};
    return el2go_dscontent_build(arr, 1, out, len);
}
