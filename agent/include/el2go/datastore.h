/* Datastores (spec §2.8, §4): DS_FS (two files <base>.0/<base>.1, A/B
 * switched at COMMIT) and DS_PLAIN (two heap buffers). A transaction is
 * ALLOCATE(length), WRITE(offset, data)..., COMMIT; until COMMIT readers see
 * the previous contents, and a transaction that never commits (session cut)
 * leaves them untouched. Datastore contents: a 44-byte header (SHA-256 over
 * bytes [32, length), u32 length, u32 version 0, u32 service count, all
 * little-endian) followed by delimited ServiceDescriptor messages. */
#ifndef EL2GO_DATASTORE_H
#define EL2GO_DATASTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "el2go/common.h"
#include "nxp/ServiceDescriptor.pb-c.h"

typedef struct el2go_datastore el2go_datastore;

/* Decides whether stored contents are usable (NULL: any non-empty data). */
typedef bool (*el2go_ds_validator)(const uint8_t *data, size_t len);

/* FS datastore on <basename>.0 and <basename>.1. The first valid file is
 * the current contents; an invalid or missing pair starts empty. */
el2go_status el2go_ds_fs_open(uint32_t id, const char *basename, el2go_ds_validator v,
                              el2go_datastore **out);
/* RAM datastore, initially empty. */
el2go_status el2go_ds_plain_new(uint32_t id, el2go_datastore **out);
void el2go_ds_free(el2go_datastore *ds);

uint32_t el2go_ds_id(const el2go_datastore *ds);
/* Endpoint type: NXP__IOT__ENDPOINT_TYPE__DS_FS or __DS_PLAIN. */
int el2go_ds_type(const el2go_datastore *ds);
/* Committed size in bytes. */
size_t el2go_ds_size(const el2go_datastore *ds);
bool el2go_ds_in_transaction(const el2go_datastore *ds);

/* Start (or restart) a transaction for len bytes (1..EL2GO_DS_MAX_SIZE). */
el2go_status el2go_ds_allocate(el2go_datastore *ds, size_t len);
/* Write inside the allocated length (EL2GO_ERR_PROTOCOL outside or without
 * a transaction). */
el2go_status el2go_ds_write(el2go_datastore *ds, size_t off, const uint8_t *data, size_t len);
/* Make the transaction the current contents (FS: written to a temp file,
 * fsync'ed and renamed over the A/B file, then the old file truncated). */
el2go_status el2go_ds_commit(el2go_datastore *ds);
/* Drop an open transaction. */
void el2go_ds_abort(el2go_datastore *ds);
/* Read committed contents from off: *got = min(len, size - off). */
el2go_status el2go_ds_read(const el2go_datastore *ds, size_t off, uint8_t *out, size_t len,
                           size_t *got);
/* Borrow the committed contents (valid until the next commit/free). */
const uint8_t *el2go_ds_data(const el2go_datastore *ds, size_t *len);
/* allocate + write + commit in one go. */
el2go_status el2go_ds_store(el2go_datastore *ds, const uint8_t *data, size_t len);

/* ---- contents (spec §4) --------------------------------------------- */

#define EL2GO_DS_HEADER_LEN 44u
#define EL2GO_DS_VERSION 0u

/* EL2GO_OK if the header reads, length fits the data and is >= 44,
 * version == 0 and the SHA-256 matches; err (may be NULL) says why not. */
el2go_status el2go_dscontent_check(const uint8_t *buf, size_t len, char *err, size_t errlen);
/* Validator for el2go_ds_fs_open (el2go_dscontent_check == EL2GO_OK). */
bool el2go_dscontent_valid(const uint8_t *buf, size_t len);
/* Build header + delimited descriptors; *out malloc'ed. The required
 * identifier is always encoded (0 when the caller left it unset). */
el2go_status el2go_dscontent_build(Nxp__Iot__ServiceDescriptor *const *sds, size_t n, uint8_t **out,
                                   size_t *len);

/* ---- service descriptors (on checked contents) ---------------------- */

el2go_status el2go_services_count(const uint8_t *buf, size_t len, size_t *n);
/* Unpacked descriptor; free with el2go_service_free. */
el2go_status el2go_service_by_index(const uint8_t *buf, size_t len, size_t idx,
                                    Nxp__Iot__ServiceDescriptor **out);
el2go_status el2go_service_by_id(const uint8_t *buf, size_t len, uint64_t id,
                                 Nxp__Iot__ServiceDescriptor **out);
void el2go_service_free(Nxp__Iot__ServiceDescriptor *sd);
/* "aws", "google", "azure", "ibm", "custom", "el2go"; "unknown". */
const char *el2go_service_type_name(int type);
/* "HTTPS", "MQTTS", ...; "empty" when the descriptor has no protocol. */
const char *el2go_service_protocol_name(const Nxp__Iot__ServiceDescriptor *sd);

#endif
