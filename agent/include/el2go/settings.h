/* Connection settings of the EdgeLock 2GO device link (spec §4): hostname,
 * port, client key/certificate references and trusted roots, taken in the
 * documented order: command line, environment (EDGELOCK2GO_HOSTNAME and
 * EDGELOCK2GO_PORT, both needed), a valid connection datastore
 * (0x70000000), compiled defaults. A corrupted datastore is skipped with a
 * warning. Also builds the connection datastore contents. */
#ifndef EL2GO_SETTINGS_H
#define EL2GO_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "el2go/common.h"

typedef enum {
    EL2GO_SRC_CMDLINE = 1,
    EL2GO_SRC_ENV,
    EL2GO_SRC_DATASTORE,
    EL2GO_SRC_DEFAULT,
} el2go_settings_source;

typedef struct {
    char hostname[256];
    uint16_t port;
    el2go_settings_source source;
    /* From the datastore descriptor when source is DATASTORE, else the
     * SE05x defaults (0x70000010, 0xF0000000/0xF0000001, no roots: the
     * TLS layer then uses its configured roots). */
    uint32_t keystore_id, key_id, cert_id;
    uint8_t *roots; /* concatenated DER, malloc'ed, may be NULL */
    size_t roots_len;
} el2go_settings;

const char *el2go_settings_source_name(el2go_settings_source s);

/* cli_host/cli_port: command-line values (NULL if not given; a host alone
 * uses port 443). ds/ds_len: connection datastore contents (may be NULL).
 * warn (may be NULL) receives warnings such as an ignored corrupted
 * datastore or half-set environment ("" if none). EL2GO_ERR_ARG for an
 * invalid command-line or environment port. */
el2go_status el2go_settings_resolve(const char *cli_host, const char *cli_port, const uint8_t *ds,
                                    size_t ds_len, el2go_settings *out, char *warn, size_t warnlen);
void el2go_settings_clear(el2go_settings *s);

/* Connection datastore contents with one descriptor (identifier 0,
 * hostname, port, key/cert references on keystore ks_id, roots); *out
 * malloc'ed. */
el2go_status el2go_connds_build(const char *host, uint16_t port, uint32_t ks_id, uint32_t key_id,
                                uint32_t cert_id, const uint8_t *roots, size_t roots_len,
                                uint8_t **out, size_t *len);

#endif
