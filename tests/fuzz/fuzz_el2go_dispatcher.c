/* libFuzzer target: the el2go dispatcher fed random and mutated server
 * message streams through an in-memory stream. Byte 0 selects the mode
 * (bit 0: CRL gate on; bit 1: 1-byte partial reads; bit 2: FS-like second
 * datastore prefilled with valid contents), the rest is the stream. Every
 * session must end (goodbye, EOF or error) with no transaction left open,
 * no crash, leak or UB; a successful end implies a goodbye. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "el2go/agent.h"
#include "el2go/datastore.h"

static el2go_status fake_apdu(void *ctx, const uint8_t *c, size_t l, uint8_t *r, size_t cap,
                              size_t *rl)
{
    /* echo up to 8 bytes of the command, then an SW derived from INS */
    size_t n = l < 8 ? l : 8;
    for (size_t i = 0; i < n; i++)
        r[i] = c[i];
    r[n] = (c[1] & 1) ? 0x6A : 0x90;
    r[n + 1] = (c[1] & 1) ? 0x82 : 0x00;
    *rl = n + 2;
    return (c[1] == 0xFF) ? EL2GO_ERR_SE : EL2GO_OK;
}

static el2go_status fake_crl(void *ctx, const uint8_t *crl, size_t len, char *err, size_t errlen)
{
    return len > 1 && crl[0] == 0x30 ? EL2GO_OK : EL2GO_ERR_CRL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    el2go_datastore *eds = NULL, *ds = NULL;
    el2go_keystore *ks = NULL;
    if (el2go_ds_plain_new(EL2GO_DATASTORE_ID, &eds) != EL2GO_OK ||
        el2go_ds_plain_new(0, &ds) != EL2GO_OK ||
        el2go_ks_fn_new(EL2GO_KEYSTORE_ID, fake_apdu, NULL, &ks) != EL2GO_OK)
        __builtin_trap();
    if (mode & 4) {
        Nxp__Iot__ServiceDescriptor sd = NXP__IOT__SERVICE_DESCRIPTOR__INIT;
        sd.identifier = 1;
        sd.hostname = "h";
        Nxp__Iot__ServiceDescriptor *arr[] = {&sd};
        uint8_t *c;
        size_t cl;
        if (el2go_dscontent_build(arr, 1, &c, &cl) != EL2GO_OK ||
            el2go_ds_store(ds, c, cl) != EL2GO_OK)
            __builtin_trap();
        free(c);
    }
    el2go_agent_cfg cfg = {.el2go_ds = eds,
                           .datastores = {ds},
                           .n_datastores = 1,
                           .keystore = ks,
                           .request_crl = (mode & 1) != 0,
                           .crl_verify = fake_crl,
                           .max_request = 64 * 1024};
    el2go_memstream ms;
    el2go_stream s;
    el2go_memstream_init(&ms, data + 1, size - 1, &s);
    ms.chunk = (mode & 2) ? 1 : 0;
    el2go_session_result res;
    el2go_status st = el2go_session_run(&cfg, &s, &res);
    if (st == EL2GO_OK && !res.goodbye)
        __builtin_trap();
    if (el2go_ds_in_transaction(eds) || el2go_ds_in_transaction(ds))
        __builtin_trap();
    /* whatever was written must be well-formed delimited Responses */
    size_t pos = 0;
    while (pos < ms.out_len) {
        const uint8_t *m;
        size_t ml;
        if (el2go_delimited_next(ms.out, ms.out_len, &pos, &m, &ml) != EL2GO_OK || ml > 4096)
            __builtin_trap();
    }
    el2go_session_result_clear(&res);
    el2go_memstream_free(&ms);
    el2go_ks_free(ks);
    el2go_ds_free(eds);
    el2go_ds_free(ds);
    return 0;
}
