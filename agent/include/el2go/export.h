/* Export of the provisioned cloud services (the customer datastore's
 * service descriptors, spec §6) for other applications: per service with
 * identifier N, in the output directory,
 *   service-N-key.pem   SE05X KEY REFERENCE (sss/refkey.h) of the SE key
 *                       named by client_key_sss_ref (the key stays in the SE;
 *                       the se05x provider's decoder loads it),
 *   service-N-cert.pem  client certificate (from the SE object named by
 *                       client_certificate_sss_ref, or the embedded one),
 *   service-N-ca.pem    server_certificate roots,
 * and services.json: one object per service with its settings, the se05x:
 * URIs and the file names. Passwords and embedded private keys are never
 * written (the JSON says they exist). */
#ifndef EL2GO_EXPORT_H
#define EL2GO_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "el2go/common.h"
#include "el2go/datastore.h"

typedef struct sss_session sss_session;
struct json_object;

/* The settings of a service as a new json-c object (release with
 * json_object_put): identifier, type, protocol, hostname, port, timeout_ms,
 * client_id, username, customer_metadata_json, azure_id_scope,
 * azure_registration_id, azure_global_device_endpoint; absent settings are
 * omitted, secrets never included. NULL when out of memory. Shared by
 * services.json and `el2go-agent services --json`. */
struct json_object *el2go_service_json(const Nxp__Iot__ServiceDescriptor *sd);

/* contents: a checked datastore (el2go_dscontent_check); s: SE session
 * for keys/certificates referenced on the keystore EL2GO_KEYSTORE_ID (may
 * be NULL: then only embedded material and settings are exported). *count
 * receives the number of services exported. */
el2go_status el2go_export(const uint8_t *contents, size_t len, sss_session *s, const char *dir,
                          size_t *count, char *err, size_t errlen);

#endif
