/* UpdateStatusReport handling (spec §2.9): names of the status codes,
 * human-readable printing of a report (overall status, claim / RTP / CSP
 * statuses with their details, correlation id) and persistence of the last
 * report as its packed protobuf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "el2go/agent.h"

const char *el2go_update_status_name(int st)
{
    switch (st) {
    case 0x00: return "UNKNOWN";
    case 0x01: return "SUCCESS";
    case 0x10: return "ERR_ENCODING";
    case 0x11: return "ERR_PROTOCOL";
    case 0x12: return "ERR_MEMORY_READ";
    case 0x13: return "ERR_MEMORY_WRITE";
    case 0x14: return "ERR_SSS_COMMUNICATION";
    case 0x15: return "ERR_SSS_VERSION";
    case 0x16: return "ERR_SSS_SECURE_CHANNEL";
    case 0x20: return "ERR_CONFIGURATION";
    case 0x21: return "ERR_CONFIGURATION_TOO_MANY_DATASTORES";
    case 0x22: return "ERR_CONFIGURATION_TOO_MANY_KEYSTORES";
    case 0x32: return "ERR_CONFIGURATION_SNI_MISSING";
    case 0x33: return "ERR_CONFIGURATION_SNI_INVALID";
    case 0x34: return "ERR_CONNECTION_QUOTA_EXCEEDED";
    case 0x35: return "ERR_DEVICE_NOT_WHITELISTED";
    case 0x40: return "ERR_UPDATE_FAILED";
    case 0x50: return "ERR_INTERNAL";
    case 0x51: return "ERR_TIMEOUT";
    }
    return "(unknown code)";
}

/* Name of a value of one of the nested status enums via its descriptor. */
static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    return ev ? ev->name : "(unknown code)";
}

static void print_claim(FILE *f, const Nxp__Iot__AgentClaimStatus *c)
{
    const ProtobufCEnumDescriptor *d = &nxp__iot__agent_claim_status__claim_status__descriptor;
    fprintf(f, "Status for claiming: 0x%04x: %s\n", c->status, enum_name(d, c->status));
    for (size_t i = 0; i < c->n_details; i++)
        fprintf(f, "  On endpoint 0x%08x, status: 0x%04x: %s\n", c->details[i]->endpointid,
                c->details[i]->status, enum_name(d, c->details[i]->status));
}

static void print_rtp(FILE *f, const Nxp__Iot__AgentRtpStatus *r)
{
    const ProtobufCEnumDescriptor *d = &nxp__iot__agent_rtp_status__rtp_status__descriptor;
    fprintf(f, "Status for remote trust provisioning: 0x%04x: %s\n", r->status,
            enum_name(d, r->status));
    for (size_t i = 0; i < r->n_details; i++)
        fprintf(f, "  On endpoint 0x%08x, for object 0x%08x, status: 0x%04x: %s\n",
                r->details[i]->endpointid, r->details[i]->objectid, r->details[i]->status,
                enum_name(d, r->details[i]->status));
}

static void print_csp(FILE *f, const Nxp__Iot__AgentCspStatus *c)
{
    const ProtobufCEnumDescriptor *d = &nxp__iot__agent_csp_status__csp_status__descriptor;
    fprintf(f, "Status for cloud service provisioning: 0x%04x: %s\n", c->status,
            enum_name(d, c->status));
    for (size_t i = 0; i < c->n_details; i++)
        fprintf(f, "  On endpoint 0x%08x, for service %llu, status: 0x%04x: %s\n",
                c->details[i]->endpointid, (unsigned long long)c->details[i]->serviceid,
                c->details[i]->status, enum_name(d, c->details[i]->status));
}

void el2go_report_print(FILE *f, const Nxp__Iot__UpdateStatusReport *r)
{
    if (!r) {
        fprintf(f, "No status report.\n");
        return;
    }
    int st = r->has_status ? (int)r->status : 0;
    fprintf(f, "Update status report:\n");
    fprintf(f, "Overall status: 0x%04x: %s\n", st, el2go_update_status_name(st));
    if (r->claimstatus)
        print_claim(f, r->claimstatus);
    if (r->rtpstatus)
        print_rtp(f, r->rtpstatus);
    if (r->cspstatus)
        print_csp(f, r->cspstatus);
    if (r->correlationid)
        fprintf(f, "Correlation ID: %s\n", r->correlationid);
}

el2go_status el2go_report_save(const char *path, const uint8_t *raw, size_t len)
{
    if (!path || (!raw && len))
        return EL2GO_ERR_ARG;
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        return EL2GO_ERR_NOMEM;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    el2go_status st = f ? EL2GO_OK : EL2GO_ERR_IO;
    if (f && len && fwrite(raw, 1, len, f) != len)
        st = EL2GO_ERR_IO;
    if (f && fclose(f) != 0)
        st = EL2GO_ERR_IO;
    if (st == EL2GO_OK && rename(tmp, path) != 0)
        st = EL2GO_ERR_IO;
    if (st != EL2GO_OK)
        remove(tmp);
    free(tmp);
    return st;
}

el2go_status el2go_report_load(const char *path, Nxp__Iot__UpdateStatusReport **out)
{
    if (!path || !out)
        return EL2GO_ERR_ARG;
    FILE *f = fopen(path, "rb");
    if (!f)
        return EL2GO_ERR_NOT_FOUND;
    uint8_t buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), f);
    bool big = !feof(f);
    fclose(f);
    if (big)
        return EL2GO_ERR_TOO_LARGE;
    *out = nxp__iot__update_status_report__unpack(NULL, n, buf);
    return *out ? EL2GO_OK : EL2GO_ERR_DECODE;
}

void el2go_report_free(Nxp__Iot__UpdateStatusReport *r)
{
    if (r)
        nxp__iot__update_status_report__free_unpacked(r, NULL);
}
