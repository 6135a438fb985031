/* el2go dispatcher sessions scripted through an in-memory stream: hello,
 * several requests per message, responses by position, goodbye (SUCCESS and
 * error statuses, nothing sent back), unknown endpoint / payload / missing
 * address, CRL gate with a real X509 CRL check (good, revoked leaf, wrong
 * issuer, bad signature, garbage), APDU forwarding (fake link and the
 * in-process simulator: create a key, read it back), datastore
 * ALLOCATE/WRITE/COMMIT/READ, a session cut mid-transaction, response
 * buffer limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "el2go/agent.h"
#include "el2go/crl.h"
#include "el2go/datastore.h"
#include "se05x/conn.h"
#include "test_el2go_util.h"
#include "testutil.h"

#define SUCCESS NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__SUCCESS
#define ALLOCATE NXP__IOT__DATASTORE_OPERATION__ALLOCATE
#define READ NXP__IOT__DATASTORE_OPERATION__READ
#define WRITE NXP__IOT__DATASTORE_OPERATION__WRITE
#define COMMIT NXP__IOT__DATASTORE_OPERATION__COMMIT
#define DS_PLAIN NXP__IOT__ENDPOINT_TYPE__DS_PLAIN
#define DS_FS NXP__IOT__ENDPOINT_TYPE__DS_FS

static const char CORR[] = "123e4567-e89b-12d3-a456-426614174000";

/* Fake SE link: echoes the APDU's INS as data, SW from ctx (0 = 9000). */
typedef struct {
    unsigned calls;
    uint16_t sw;
    bool link_down;
} fake_link;

static el2go_status fake_apdu(void *ctx, const uint8_t *c, size_t l, uint8_t *r, size_t cap,
                              size_t *rl)
{
    fake_link *f = ctx;
    f->calls++;
    if (f->link_down)
        return EL2GO_ERR_SE;
    uint16_t sw = f->sw ? f->sw : 0x9000;
    r[0] = c[1];
    r[1] = (uint8_t)(sw >> 8);
    r[2] = (uint8_t)sw;
    *rl = 3;
    return EL2GO_OK;
}

typedef struct {
    el2go_datastore *eds, *ds;
    el2go_keystore *ks;
    fake_link link;
    el2go_agent_cfg cfg;
    tbuf m, script;
    el2go_memstream ms;
    el2go_session_result res;
    Nxp__Iot__Responses *out[16];
    int nout;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_int_equal(el2go_ds_plain_new(EL2GO_DATASTORE_ID, &f->eds), EL2GO_OK);
    assert_int_equal(el2go_ds_plain_new(7, &f->ds), EL2GO_OK);
    assert_int_equal(el2go_ks_fn_new(EL2GO_KEYSTORE_ID, fake_apdu, &f->link, &f->ks), EL2GO_OK);
    f->cfg.el2go_ds = f->eds;
    f->cfg.datastores[0] = f->ds;
    f->cfg.n_datastores = 1;
    f->cfg.keystore = f->ks;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    free_out(f->out, f->nout);
    el2go_memstream_free(&f->ms);
    el2go_session_result_clear(&f->res);
    tbuf_free(&f->m);
    tbuf_free(&f->script);
    el2go_ks_free(f->ks);
    el2go_ds_free(f->eds);
    el2go_ds_free(f->ds);
    free(f);
    return 0;
}

static el2go_status run(fx *f, size_t chunk)
{
    el2go_status st = run_script(&f->cfg, &f->script, chunk, &f->ms, &f->res);
    f->nout = parse_out(f->ms.out, f->ms.out_len, f->out);
    assert_true(f->nout >= 0);
    return st;
}

/* ---- basic flow ----------------------------------------------------- */

static void test_hello_goodbye_success(void **state)
{
    fx *f = *state;
    add_hello(&f->m);
    script_msg(&f->script, &f->m);
    add_goodbye(&f->m, SUCCESS, CORR);
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 1), EL2GO_OK);
    assert_int_equal(f->nout, 1); /* nothing at all for the goodbye */
    assert_int_equal(f->out[0]->n_responses, 1);
    Nxp__Iot__AgentHelloResponse *h = f->out[0]->responses[0]->hello;
    assert_non_null(h);
    assert_int_equal(h->version, EL2GO_AGENT_VERSION);
    assert_int_equal(h->communicationbuffersizeresponses, 4096);
    assert_int_equal(h->communicationbuffersizerequests, 0x7FFFFFFF);
    assert_true(h->usemultiplerequestspermessage);
    assert_int_equal(h->n_endpoints, 4);
    assert_int_equal(h->endpoints[0]->type, NXP__IOT__ENDPOINT_TYPE__AGENT);
    assert_int_equal(h->endpoints[1]->endpointid, EL2GO_DATASTORE_ID);
    assert_int_equal(h->endpoints[2]->endpointid, 7);
    assert_int_equal(h->endpoints[3]->type, NXP__IOT__ENDPOINT_TYPE__KS_SSS_SE05X);
    /* additionalData is length-prefixed; no requestCrl in this config */
    assert_int_equal(h->endpoints[0]->additionaldata.len, 3);
    assert_memory_equal(h->endpoints[0]->additionaldata.data, "\x02\x08\x0a", 3);
    assert_true(f->res.goodbye);
    assert_non_null(f->res.report);
    assert_int_equal(f->res.report->status, SUCCESS);
    assert_string_equal(f->res.report->correlationid, CORR);
    assert_int_equal(f->res.messages, 2);
}

static void test_goodbye_error_status(void **state)
{
    fx *f = *state;
    add_goodbye(&f->m, NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__ERR_DEVICE_NOT_WHITELISTED,
                NULL);
    script_msg(&f->script, &f->m);
    /* bytes after the goodbye are never read */
    tbuf_put(&f->script, "\xff\xff", 2);
    assert_int_equal(run(f, 0), EL2GO_OK);
    assert_int_equal(f->ms.out_len, 0);
    assert_int_equal(f->res.report->status,
                     NXP__IOT__UPDATE_STATUS_REPORT__UPDATE_STATUS__ERR_DEVICE_NOT_WHITELISTED);
    assert_null(f->res.report->correlationid);
    /* save / load round trip of the last report */
    char path[] = "/tmp/el2go_report_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(el2go_report_save(path, f->res.report_raw, f->res.report_raw_len), EL2GO_OK);
    Nxp__Iot__UpdateStatusReport *r;
    assert_int_equal(el2go_report_load(path, &r), EL2GO_OK);
    assert_int_equal(r->status, 0x35);
    FILE *mem = tmpfile();
    el2go_report_print(mem, r);
    rewind(mem);
    char line[200] = "";
    assert_non_null(fgets(line, sizeof(line), mem));
    assert_non_null(fgets(line, sizeof(line), mem));
    assert_non_null(strstr(line, "ERR_DEVICE_NOT_WHITELISTED"));
    fclose(mem);
    el2go_report_free(r);
    unlink(path);
    assert_int_equal(el2go_report_load(path, &r), EL2GO_ERR_NOT_FOUND);
}

static void test_eof_before_goodbye(void **state)
{
    fx *f = *state;
    add_hello(&f->m);
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 0), EL2GO_ERR_EOF);
    assert_false(f->res.goodbye);
    assert_int_equal(f->nout, 1);
    /* a message cut in the middle */
    f->script.n--;
    free_out(f->out, f->nout);
    el2go_memstream_free(&f->ms);
    assert_int_equal(run(f, 0), EL2GO_ERR_IO);
    assert_int_equal(f->ms.out_len, 0);
}

static void test_multiple_requests_by_position(void **state)
{
    fx *f = *state;
    const uint8_t a1[] = {0x80, 0x11, 0, 0}, a2[] = {0x80, 0x22, 0, 0};
    add_apdu(&f->m, EL2GO_KEYSTORE_ID, a1, 4);
    add_hello(&f->m);
    add_ds(&f->m, DS_PLAIN, 7, READ, 0, 10, NULL, 0);
    add_apdu(&f->m, EL2GO_KEYSTORE_ID, a2, 4);
    add_goodbye(&f->m, SUCCESS, NULL);
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 0), EL2GO_OK);
    assert_int_equal(f->nout, 1);
    assert_int_equal(f->out[0]->n_responses, 4); /* none for the goodbye */
    Nxp__Iot__ResponsePayload **r = f->out[0]->responses;
    assert_memory_equal(r[0]->apdu->message.data, "\x11\x90\x00", 3);
    assert_non_null(r[1]->hello);
    assert_int_equal(r[2]->datastore->status, NXP__IOT__DATASTORE_STATUS__OK);
    assert_int_equal(r[2]->datastore->data.len, 0);
    assert_memory_equal(r[3]->apdu->message.data, "\x22\x90\x00", 3);
}

static void test_apdu_response_shape(void **state)
{
    fx *f = *state;
    const uint8_t a[] = {0x80, 0x02, 0, 0};
    f->link.sw = 0x6985;
    add_apdu(&f->m, EL2GO_KEYSTORE_ID, a, 4);
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 0), EL2GO_ERR_EOF);
    /* error SW: only the 2-byte status */
    assert_int_equal(f->out[0]->responses[0]->apdu->message.len, 2);
    assert_memory_equal(f->out[0]->responses[0]->apdu->message.data, "\x69\x85", 2);
    /* link failure: FFFF */
    uint8_t out[8];
    size_t ol;
    f->link.link_down = true;
    assert_int_equal(el2go_ks_forward(f->ks, a, 4, out, sizeof(out), &ol), EL2GO_OK);
    assert_int_equal(ol, 2);
    assert_memory_equal(out, "\xff\xff", 2);
    /* too short to be an APDU: not sent, FFFF */
    unsigned calls = f->link.calls;
    f->link.link_down = false;
    assert_int_equal(el2go_ks_forward(f->ks, a, 3, out, sizeof(out), &ol), EL2GO_OK);
    assert_memory_equal(out, "\xff\xff", 2);
    assert_int_equal(f->link.calls, calls);
}

static void test_goodbye_mid_message(void **state)
{
    fx *f = *state;
    const uint8_t a[] = {0x80, 0x33, 0, 0};
    add_goodbye(&f->m, SUCCESS, NULL);
    add_apdu(&f->m, EL2GO_KEYSTORE_ID, a, 4); /* same message: still answered */
    script_msg(&f->script, &f->m);
    add_hello(&f->m); /* later message: never read */
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 0), EL2GO_OK);
    assert_int_equal(f->nout, 1);
    assert_int_equal(f->out[0]->n_responses, 1);
    assert_memory_equal(f->out[0]->responses[0]->apdu->message.data, "\x33\x90\x00", 3);
    assert_int_equal(f->res.messages, 1);
}

static void test_endpoint_limits(void **state)
{
    fx *f = *state;
    el2go_datastore *d2;
    assert_int_equal(el2go_ds_plain_new(8, &d2), EL2GO_OK);
    f->cfg.datastores[1] = d2;
    f->cfg.n_datastores = 2;
    uint8_t *h;
    size_t hl;
    assert_int_equal(el2go_hello_response_pack(&f->cfg, &h, &hl), EL2GO_OK);
    Nxp__Iot__AgentHelloResponse *r = nxp__iot__agent_hello_response__unpack(NULL, hl, h);
    assert_non_null(r);
    assert_int_equal(r->n_endpoints, 5); /* the reference's max_count */
    assert_int_equal(r->endpoints[3]->endpointid, 8);
    assert_int_equal(r->endpoints[4]->type, NXP__IOT__ENDPOINT_TYPE__KS_SSS_SE05X);
    nxp__iot__agent_hello_response__free_unpacked(r, NULL);
    free(h);
    f->cfg.n_datastores = EL2GO_MAX_DATASTORES + 1;
    el2go_memstream ms;
    el2go_stream st;
    el2go_memstream_init(&ms, NULL, 0, &st);
    assert_int_equal(el2go_session_run(&f->cfg, &st, &f->res), EL2GO_ERR_ARG);
    /* duplicate ids, reserved id, wrong connection datastore id */
    el2go_datastore *dup, *res70;
    assert_int_equal(el2go_ds_plain_new(7, &dup), EL2GO_OK);
    assert_int_equal(el2go_ds_plain_new(EL2GO_DATASTORE_ID, &res70), EL2GO_OK);
    el2go_datastore *bad[][2] = {{f->ds, dup}, {f->ds, res70}};
    for (size_t i = 0; i < 2; i++) {
        f->cfg.datastores[0] = bad[i][0];
        f->cfg.datastores[1] = bad[i][1];
        f->cfg.n_datastores = 2;
        assert_int_equal(el2go_session_run(&f->cfg, &st, &f->res), EL2GO_ERR_ARG);
    }
    f->cfg.datastores[0] = f->ds;
    f->cfg.n_datastores = 1;
    f->cfg.el2go_ds = dup;
    assert_int_equal(el2go_session_run(&f->cfg, &st, &f->res), EL2GO_ERR_ARG);
    f->cfg.el2go_ds = f->eds;
    el2go_keystore *ks7;
    assert_int_equal(el2go_ks_fn_new(7, fake_apdu, &f->link, &ks7), EL2GO_OK);
    f->cfg.keystore = ks7;
    assert_int_equal(el2go_session_run(&f->cfg, &st, &f->res), EL2GO_ERR_ARG);
    assert_non_null(strstr(f->res.err, "duplicate"));
    f->cfg.keystore = f->ks;
    el2go_ks_free(ks7);
    el2go_ds_free(dup);
    el2go_ds_free(res70);
    el2go_ds_free(d2);
}

/* ---- session-ending inputs ------------------------------------------ */

static void expect_end(fx *f, el2go_status want)
{
    assert_int_equal(run(f, 0), want);
    assert_int_equal(f->ms.out_len, 0); /* no answer at all */
    assert_false(f->res.goodbye);
    assert_true(f->res.err[0] != 0);
}

static void test_unknown_endpoint(void **state)
{
    fx *f = *state;
    const uint8_t a[] = {0x80, 0x02, 0, 0};
    add_hello(&f->m);
    add_apdu(&f->m, 0x1234, a, 4);
    script_msg(&f->script, &f->m);
    expect_end(f, EL2GO_ERR_ENDPOINT);
}

static void test_datastore_type_mismatch(void **state)
{
    fx *f = *state;
    add_ds(&f->m, DS_FS, 7, READ, 0, 1, NULL, 0); /* ds 7 is plain */
    script_msg(&f->script, &f->m);
    expect_end(f, EL2GO_ERR_ENDPOINT);
}

static void test_missing_address(void **state)
{
    fx *f = *state;
    Nxp__Iot__AgentCrlRequest c = NXP__IOT__AGENT_CRL_REQUEST__INIT;
    Nxp__Iot__RequestPayload p = NXP__IOT__REQUEST_PAYLOAD__INIT;
    p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_CRL;
    p.crl = &c;
    add_payload(&f->m, -1, 0, &p);
    script_msg(&f->script, &f->m);
    expect_end(f, EL2GO_ERR_ENDPOINT);
}

static void test_unknown_payload(void **state)
{
    fx *f = *state;
    /* EndpointRequest{type AGENT, id 0, payload {field 99: ""}} */
    const uint8_t msg[] = {0x0a, 0x0a, 0x08, 0x01, 0x10, 0x00, 0xa2, 0x06, 0x03, 0x9a, 0x06, 0x00};
    /* (field 99 = tag 0x31a -> 9a 06) */
    tbuf_varint(&f->script, sizeof(msg));
    tbuf_put(&f->script, msg, sizeof(msg));
    expect_end(f, EL2GO_ERR_ENDPOINT);
}

static void test_payload_not_for_endpoint(void **state)
{
    fx *f = *state;
    /* rpc to the agent endpoint */
    Nxp__Iot__RpcRequest rpc = NXP__IOT__RPC_REQUEST__INIT;
    Nxp__Iot__RequestPayload p = NXP__IOT__REQUEST_PAYLOAD__INIT;
    p.payload_case = NXP__IOT__REQUEST_PAYLOAD__PAYLOAD_RPC;
    p.rpc = &rpc;
    add_payload(&f->m, NXP__IOT__ENDPOINT_TYPE__AGENT, 0, &p);
    script_msg(&f->script, &f->m);
    expect_end(f, EL2GO_ERR_ENDPOINT);
}

static void test_garbage_message(void **state)
{
    fx *f = *state;
    const uint8_t junk[] = {0x04, 0x0a, 0x05, 0x08, 0x01};
    tbuf_put(&f->script, junk, sizeof(junk));
    expect_end(f, EL2GO_ERR_DECODE);
}

static void test_request_too_large(void **state)
{
    fx *f = *state;
    f->cfg.max_request = 16;
    tbuf_varint(&f->script, 17);
    expect_end(f, EL2GO_ERR_TOO_LARGE);
}

/* ---- datastores ----------------------------------------------------- */

static void test_datastore_transaction(void **state)
{
    fx *f = *state;
    assert_int_equal(el2go_ds_store(f->ds, (const uint8_t *)"old", 3), EL2GO_OK);
    add_ds(&f->m, DS_PLAIN, 7, ALLOCATE, -1, 6, NULL, 0);
    add_ds(&f->m, DS_PLAIN, 7, WRITE, 0, -1, (const uint8_t *)"abc", 3);
    add_ds(&f->m, DS_PLAIN, 7, READ, 0, 10, NULL, 0); /* still the old contents */
    script_msg(&f->script, &f->m);
    add_ds(&f->m, DS_PLAIN, 7, WRITE, 3, -1, (const uint8_t *)"def", 3);
    add_ds(&f->m, DS_PLAIN, 7, COMMIT, -1, -1, NULL, 0);
    add_ds(&f->m, DS_PLAIN, 7, READ, 1, 4, NULL, 0);
    add_ds(&f->m, DS_PLAIN, 7, -1, -1, -1, NULL, 0); /* no operation: no answer */
    add_goodbye(&f->m, SUCCESS, NULL);
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 2), EL2GO_OK);
    assert_int_equal(f->nout, 2);
    assert_int_equal(f->out[0]->n_responses, 3);
    assert_int_equal(f->out[0]->responses[0]->datastore->status, NXP__IOT__DATASTORE_STATUS__OK);
    assert_false(f->out[0]->responses[0]->datastore->has_data);
    assert_int_equal(f->out[0]->responses[2]->datastore->data.len, 3);
    assert_memory_equal(f->out[0]->responses[2]->datastore->data.data, "old", 3);
    assert_int_equal(f->out[1]->n_responses, 3);
    assert_int_equal(f->out[1]->responses[2]->datastore->data.len, 4);
    assert_memory_equal(f->out[1]->responses[2]->datastore->data.data, "bcde", 4);
    size_t n;
    const uint8_t *d = el2go_ds_data(f->ds, &n);
    assert_int_equal(n, 6);
    assert_memory_equal(d, "abcdef", 6);
}

static void test_datastore_bad_ops(void **state)
{
    fx *f = *state;
    struct {
        int op, off, len;
        const char *data;
    } cases[] = {
        {COMMIT, -1, -1, NULL},           /* commit without transaction */
        {WRITE, 0, -1, "x"},              /* write without transaction */
        {ALLOCATE, -1, 0, NULL},          /* allocate 0 bytes */
        {ALLOCATE, -1, -1, NULL},         /* allocate without length */
        {ALLOCATE, -1, 0x7FFFFFFF, NULL}, /* more than we accept */
        {READ, -5, 1, NULL},              /* negative offset */
        {READ, 0, 5000, NULL},            /* beyond the response buffer */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f->script.n = 0;
        free_out(f->out, f->nout);
        f->nout = 0;
        el2go_memstream_free(&f->ms);
        el2go_session_result_clear(&f->res);
        add_ds(&f->m, DS_PLAIN, 7, cases[i].op, cases[i].off, cases[i].len,
               (const uint8_t *)cases[i].data, cases[i].data ? 1 : 0);
        script_msg(&f->script, &f->m);
        el2go_status st = run(f, 0);
        if (st == EL2GO_OK || st == EL2GO_ERR_EOF)
            fail_msg("case %zu: %s", i, el2go_strerror(st));
        assert_int_equal(f->ms.out_len, 0);
    }
    /* an unknown operation value (protobuf-c keeps it) ends the session */
    f->script.n = 0;
    el2go_session_result_clear(&f->res);
    el2go_memstream_free(&f->ms);
    add_ds(&f->m, DS_PLAIN, 7, 9, -1, -1, NULL, 0);
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 0), EL2GO_ERR_PROTOCOL);
    assert_int_equal(f->ms.out_len, 0);
    /* write beyond the allocation */
    f->script.n = 0;
    el2go_session_result_clear(&f->res);
    el2go_memstream_free(&f->ms);
    add_ds(&f->m, DS_PLAIN, 7, ALLOCATE, -1, 2, NULL, 0);
    add_ds(&f->m, DS_PLAIN, 7, WRITE, 1, -1, (const uint8_t *)"ab", 2);
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 0), EL2GO_ERR_PROTOCOL);
    assert_false(el2go_ds_in_transaction(f->ds));
}

static void test_cut_mid_transaction_fs(void **state)
{
    fx *f = *state;
    char *dir = tu_tempdir("el2go_ds");
    char base[512];
    snprintf(base, sizeof(base), "%s/datastore.bin", dir);
    el2go_datastore *fs;
    assert_int_equal(el2go_ds_fs_open(3, base, NULL, &fs), EL2GO_OK);
    assert_int_equal(el2go_ds_store(fs, (const uint8_t *)"version-1", 9), EL2GO_OK);
    f->cfg.datastores[1] = fs;
    f->cfg.n_datastores = 2;
    add_ds(&f->m, DS_FS, 3, ALLOCATE, -1, 9, NULL, 0);
    add_ds(&f->m, DS_FS, 3, WRITE, 0, -1, (const uint8_t *)"vers", 4);
    script_msg(&f->script, &f->m);
    /* the connection drops here */
    assert_int_equal(run(f, 0), EL2GO_ERR_EOF);
    assert_false(el2go_ds_in_transaction(fs));
    size_t n;
    const uint8_t *d = el2go_ds_data(fs, &n);
    assert_int_equal(n, 9);
    assert_memory_equal(d, "version-1", 9);
    el2go_ds_free(fs);
    /* and after a restart */
    assert_int_equal(el2go_ds_fs_open(3, base, NULL, &fs), EL2GO_OK);
    d = el2go_ds_data(fs, &n);
    assert_int_equal(n, 9);
    assert_memory_equal(d, "version-1", 9);
    /* a full transaction switches files and survives a restart */
    assert_int_equal(el2go_ds_store(fs, (const uint8_t *)"version-2!", 10), EL2GO_OK);
    el2go_ds_free(fs);
    assert_int_equal(el2go_ds_fs_open(3, base, NULL, &fs), EL2GO_OK);
    d = el2go_ds_data(fs, &n);
    assert_int_equal(n, 10);
    assert_memory_equal(d, "version-2!", 10);
    el2go_ds_free(fs);
    f->cfg.n_datastores = 1;
    tu_rmtree(dir);
    free(dir);
}

static void test_response_buffer_limit(void **state)
{
    fx *f = *state;
    uint8_t big[3000];
    memset(big, 'x', sizeof(big));
    assert_int_equal(el2go_ds_store(f->ds, big, sizeof(big)), EL2GO_OK);
    add_ds(&f->m, DS_PLAIN, 7, READ, 0, 3000, NULL, 0);
    add_ds(&f->m, DS_PLAIN, 7, READ, 0, 3000, NULL, 0);
    script_msg(&f->script, &f->m);
    expect_end(f, EL2GO_ERR_TOO_LARGE);
}

/* ---- CRL gate ------------------------------------------------------- */

typedef struct {
    EVP_PKEY *ca_key, *other_key, *leaf_key;
    X509 *ca, *other, *leaf;
} pki;

static X509 *mk_cert(const char *cn, long serial, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
                     bool ca)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    if (ca) {
        X509V3_CTX c;
        X509V3_set_ctx(&c, x, x, NULL, NULL, 0);
        X509_EXTENSION *e =
            X509V3_EXT_conf_nid(NULL, &c, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        e = X509V3_EXT_conf_nid(NULL, &c, NID_key_usage, "critical,keyCertSign,cRLSign");
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0);
    return x;
}

static void mk_pki(pki *p)
{
    p->ca_key = EVP_EC_gen("P-256");
    p->other_key = EVP_EC_gen("P-256");
    p->leaf_key = EVP_EC_gen("P-256");
    p->ca = mk_cert("Test EL2GO Root", 1, p->ca_key, NULL, NULL, true);
    p->other = mk_cert("Other CA", 2, p->other_key, NULL, NULL, true);
    p->leaf = mk_cert("abc.device-link.example", 77, p->leaf_key, p->ca, p->ca_key, false);
}

static void free_pki(pki *p)
{
    EVP_PKEY_free(p->ca_key);
    EVP_PKEY_free(p->other_key);
    EVP_PKEY_free(p->leaf_key);
    X509_free(p->ca);
    X509_free(p->other);
    X509_free(p->leaf);
}

/* DER CRL issued under issuer's name, signed by key, revoking serial (0: none). */
static int mk_crl(X509 *issuer, EVP_PKEY *key, long revoked, uint8_t **der)
{
    X509_CRL *crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    ASN1_TIME *t = ASN1_TIME_adj(NULL, time(NULL), 0, -3600);
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_adj(t, time(NULL), 1, 0);
    X509_CRL_set1_nextUpdate(crl, t);
    ASN1_TIME_free(t);
    if (revoked) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        ASN1_INTEGER_set(s, revoked);
        X509_REVOKED_set_serialNumber(r, s);
        ASN1_INTEGER_free(s);
        ASN1_TIME *rt = ASN1_TIME_adj(NULL, time(NULL), 0, -60);
        X509_REVOKED_set_revocationDate(r, rt);
        ASN1_TIME_free(rt);
        X509_CRL_add0_revoked(crl, r);
        X509_CRL_sort(crl);
    }
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    *der = NULL;
    int n = i2d_X509_CRL(crl, der);
    X509_CRL_free(crl);
    assert_true(n > 0);
    return n;
}

typedef struct {
    pki p;
    STACK_OF(X509) * chain;
    uint8_t *roots;
    el2go_crl_check chk;
} crl_fx;

static void crl_setup(crl_fx *c, fx *f)
{
    mk_pki(&c->p);
    c->chain = sk_X509_new_null();
    sk_X509_push(c->chain, c->p.leaf);
    c->roots = NULL;
    int rl = i2d_X509(c->p.ca, &c->roots);
    c->chk = (el2go_crl_check){.peer_chain = c->chain, .roots = c->roots, .roots_len = (size_t)rl};
    f->cfg.request_crl = true;
    f->cfg.crl_verify = el2go_crl_verify_cb;
    f->cfg.crl_ctx = &c->chk;
}

static void crl_teardown(crl_fx *c)
{
    sk_X509_free(c->chain);
    OPENSSL_free(c->roots);
    free_pki(&c->p);
}

static void test_crl_good_opens_gate(void **state)
{
    fx *f = *state;
    crl_fx c;
    crl_setup(&c, f);
    uint8_t *crl;
    int n = mk_crl(c.p.ca, c.p.ca_key, 5 /* someone else */, &crl);
    const uint8_t a[] = {0x80, 0x04, 0, 0};
    add_hello(&f->m);
    script_msg(&f->script, &f->m);
    add_crl(&f->m, crl, (size_t)n);
    add_apdu(&f->m, EL2GO_KEYSTORE_ID, a, 4); /* allowed once the CRL verified */
    script_msg(&f->script, &f->m);
    add_goodbye(&f->m, SUCCESS, NULL);
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 0), EL2GO_OK);
    assert_true(f->res.crl_verified);
    assert_int_equal(f->nout, 2);
    /* hello announces requestCrl: 04 08 0a 10 01 */
    Nxp__Iot__EndpointInformation *ag = f->out[0]->responses[0]->hello->endpoints[0];
    assert_int_equal(ag->additionaldata.len, 5);
    assert_memory_equal(ag->additionaldata.data, "\x04\x08\x0a\x10\x01", 5);
    /* empty AgentCrlResponse */
    assert_int_equal(f->out[1]->responses[0]->message_case,
                     NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_CRL);
    assert_false(f->out[1]->responses[0]->crl->has_error);
    assert_non_null(f->out[1]->responses[1]->apdu);
    OPENSSL_free(crl);
    crl_teardown(&c);
}

static void test_crl_gate_blocks(void **state)
{
    fx *f = *state;
    crl_fx c;
    crl_setup(&c, f);
    add_hello(&f->m);
    script_msg(&f->script, &f->m);
    add_ds(&f->m, DS_PLAIN, 7, READ, 0, 1, NULL, 0);
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 0), EL2GO_ERR_PROTOCOL);
    assert_int_equal(f->nout, 1); /* only the hello was answered */
    assert_non_null(strstr(f->res.err, "CRL"));
    crl_teardown(&c);
}

static void crl_reject(fx *f, const uint8_t *crl, size_t n, const char *why)
{
    add_crl(&f->m, crl, n);
    script_msg(&f->script, &f->m);
    add_goodbye(&f->m, SUCCESS, NULL); /* never reached */
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 0), EL2GO_ERR_CRL);
    assert_false(f->res.crl_verified);
    assert_false(f->res.goodbye);
    /* the CRL response is still sent before the session ends */
    assert_int_equal(f->nout, 1);
    assert_int_equal(f->out[0]->responses[0]->message_case,
                     NXP__IOT__RESPONSE_PAYLOAD__MESSAGE_CRL);
    if (why)
        assert_non_null(strstr(f->res.err, why));
}

static void test_crl_revoked(void **state)
{
    fx *f = *state;
    crl_fx c;
    crl_setup(&c, f);
    uint8_t *crl;
    int n = mk_crl(c.p.ca, c.p.ca_key, 77, &crl);
    crl_reject(f, crl, (size_t)n, "revoked");
    OPENSSL_free(crl);
    crl_teardown(&c);
}

static void test_crl_wrong_issuer(void **state)
{
    fx *f = *state;
    crl_fx c;
    crl_setup(&c, f);
    uint8_t *crl;
    int n = mk_crl(c.p.other, c.p.other_key, 0, &crl);
    crl_reject(f, crl, (size_t)n, NULL);
    OPENSSL_free(crl);
    crl_teardown(&c);
}

static void test_crl_bad_signature(void **state)
{
    fx *f = *state;
    crl_fx c;
    crl_setup(&c, f);
    uint8_t *crl;
    int n = mk_crl(c.p.ca, c.p.other_key, 0, &crl); /* CA's name, other key */
    crl_reject(f, crl, (size_t)n, NULL);
    OPENSSL_free(crl);
    crl_teardown(&c);
}

static void test_crl_garbage_and_missing_verifier(void **state)
{
    fx *f = *state;
    crl_fx c;
    crl_setup(&c, f);
    crl_reject(f, (const uint8_t *)"\x30\x03\x02\x01\x01", 5, "CRL");
    /* untrusted root: the chain does not verify */
    uint8_t *crl;
    int n = mk_crl(c.p.ca, c.p.ca_key, 0, &crl);
    uint8_t *other = NULL;
    int ol = i2d_X509(c.p.other, &other);
    el2go_crl_check chk2 = {.peer_chain = c.chain, .roots = other, .roots_len = (size_t)ol};
    char err[200];
    assert_int_equal(el2go_crl_verify(&chk2, crl, (size_t)n, err, sizeof(err)), EL2GO_ERR_CRL);
    assert_int_equal(el2go_crl_verify(&c.chk, crl, (size_t)n, err, sizeof(err)), EL2GO_OK);
    /* CRL not valid yet / expired: verify at a time far in the future */
    c.chk.at = time(NULL) + 30 * 86400;
    assert_int_equal(el2go_crl_verify(&c.chk, crl, (size_t)n, err, sizeof(err)), EL2GO_ERR_CRL);
    OPENSSL_free(other);
    /* no verifier configured: fail closed */
    f->script.n = 0;
    free_out(f->out, f->nout);
    el2go_memstream_free(&f->ms);
    el2go_session_result_clear(&f->res);
    f->cfg.crl_verify = NULL;
    crl_reject(f, crl, (size_t)n, "verifier");
    OPENSSL_free(crl);
    crl_teardown(&c);
}

static void test_crl_intermediate_chain(void **state)
{
    /* root -> intermediate -> leaf: the CRL must come from the leaf's issuer
     * (the intermediate); a CRL from the root does not cover the leaf. Two
     * concatenated roots are accepted. */
    pki p;
    mk_pki(&p);
    EVP_PKEY *ik = EVP_EC_gen("P-256"), *lk = EVP_EC_gen("P-256");
    X509 *inter = mk_cert("Issuing CA", 3, ik, p.ca, p.ca_key, true);
    X509 *leaf = mk_cert("srv.example", 99, lk, inter, ik, false);
    STACK_OF(X509) *chain = sk_X509_new_null();
    sk_X509_push(chain, leaf);
    sk_X509_push(chain, inter);
    uint8_t *r1 = NULL, *r2 = NULL;
    int l1 = i2d_X509(p.other, &r1), l2 = i2d_X509(p.ca, &r2);
    uint8_t *roots = malloc((size_t)(l1 + l2));
    memcpy(roots, r1, (size_t)l1);
    memcpy(roots + l1, r2, (size_t)l2);
    STACK_OF(X509) *parsed = el2go_der_certs(roots, (size_t)(l1 + l2));
    assert_non_null(parsed);
    assert_int_equal(sk_X509_num(parsed), 2);
    sk_X509_pop_free(parsed, X509_free);
    assert_null(el2go_der_certs(roots, (size_t)(l1 + l2 - 1))); /* truncated */
    el2go_crl_check chk = {.peer_chain = chain, .roots = roots, .roots_len = (size_t)(l1 + l2)};
    char err[200];
    uint8_t *crl;
    int n = mk_crl(inter, ik, 0, &crl);
    assert_int_equal(el2go_crl_verify(&chk, crl, (size_t)n, err, sizeof(err)), EL2GO_OK);
    OPENSSL_free(crl);
    n = mk_crl(inter, ik, 99, &crl);
    assert_int_equal(el2go_crl_verify(&chk, crl, (size_t)n, err, sizeof(err)), EL2GO_ERR_CRL);
    assert_non_null(strstr(err, "revoked"));
    OPENSSL_free(crl);
    n = mk_crl(p.ca, p.ca_key, 0, &crl);
    assert_int_equal(el2go_crl_verify(&chk, crl, (size_t)n, err, sizeof(err)), EL2GO_ERR_CRL);
    OPENSSL_free(crl);
    /* trailing bytes after the CRL, no chain */
    n = mk_crl(inter, ik, 0, &crl);
    uint8_t *longer = malloc((size_t)n + 1);
    memcpy(longer, crl, (size_t)n);
    longer[n] = 0;
    assert_int_equal(el2go_crl_verify(&chk, longer, (size_t)n + 1, err, sizeof(err)),
                     EL2GO_ERR_DECODE);
    el2go_crl_check none = {0};
    assert_int_equal(el2go_crl_verify(&none, crl, (size_t)n, err, sizeof(err)), EL2GO_ERR_ARG);
    free(longer);
    OPENSSL_free(crl);
    free(roots);
    OPENSSL_free(r1);
    OPENSSL_free(r2);
    sk_X509_free(chain);
    X509_free(inter);
    X509_free(leaf);
    EVP_PKEY_free(ik);
    EVP_PKEY_free(lk);
    free_pki(&p);
}

/* ---- APDUs to the in-process simulator ------------------------------ */

static void test_apdu_to_simulator(void **state)
{
    fx *f = *state;
    char *dir = tu_tempdir("el2go_sim");
    char cs[600];
    snprintf(cs, sizeof(cs), "sim:%s", dir);
    se05x_conn *c;
    assert_int_equal(se05x_conn_open(cs, NULL, &c), SE05X_OK);
    el2go_keystore *ks;
    assert_int_equal(el2go_ks_se05x_new(EL2GO_KEYSTORE_ID, c, &ks), EL2GO_OK);
    f->cfg.keystore = ks;
    /* WriteECKey (generate P-256 pair at 0xEF000010), ReadObject (public
     * key), ReadObject of a missing object, and the spec's UID read. */
    const uint8_t gen[] = {0x80, 0x01, 0x61, 0x00, 0x09, 0x41, 0x04,
                           0xEF, 0x00, 0x00, 0x10, 0x42, 0x01, 0x03};
    const uint8_t rd[] = {0x80, 0x02, 0x00, 0x00, 0x06, 0x41, 0x04, 0xEF, 0x00, 0x00, 0x10, 0x00};
    const uint8_t missing[] = {0x80, 0x02, 0x00, 0x00, 0x06, 0x41,
                               0x04, 0xEF, 0x00, 0x00, 0x99, 0x00};
    const uint8_t uid[] = {0x80, 0x02, 0x00, 0x00, 0x00, 0x00, 0x06, 0x41,
                           0x04, 0x7f, 0xff, 0x02, 0x06, 0x00, 0x00};
    add_apdu(&f->m, EL2GO_KEYSTORE_ID, gen, sizeof(gen));
    add_apdu(&f->m, EL2GO_KEYSTORE_ID, rd, sizeof(rd));
    add_apdu(&f->m, EL2GO_KEYSTORE_ID, missing, sizeof(missing));
    script_msg(&f->script, &f->m);
    add_apdu(&f->m, EL2GO_KEYSTORE_ID, uid, sizeof(uid));
    add_goodbye(&f->m, SUCCESS, NULL);
    script_msg(&f->script, &f->m);
    assert_int_equal(run(f, 0), EL2GO_OK);
    assert_int_equal(f->nout, 2);
    ProtobufCBinaryData *r0 = &f->out[0]->responses[0]->apdu->message;
    ProtobufCBinaryData *r1 = &f->out[0]->responses[1]->apdu->message;
    ProtobufCBinaryData *r2 = &f->out[0]->responses[2]->apdu->message;
    ProtobufCBinaryData *r3 = &f->out[1]->responses[0]->apdu->message;
    assert_int_equal(r0->len, 2);
    assert_memory_equal(r0->data, "\x90\x00", 2);
    /* 41 41 04 X Y 90 00: the public key of the key just created */
    assert_int_equal(r1->len, 2 + 65 + 2);
    assert_int_equal(r1->data[0], 0x41);
    assert_int_equal(r1->data[2], 0x04);
    assert_memory_equal(r1->data + r1->len - 2, "\x90\x00", 2);
    assert_int_equal(r2->len, 2); /* bare error SW */
    assert_true(r2->data[0] != 0x90);
    assert_int_equal(r3->len, 2 + 18 + 2);
    assert_memory_equal(r3->data + r3->len - 2, "\x90\x00", 2);
    el2go_ks_free(ks);
    se05x_conn_close(c);
    f->cfg.keystore = f->ks;
    tu_rmtree(dir);
    free(dir);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_hello_goodbye_success),
        T(test_goodbye_error_status),
        T(test_eof_before_goodbye),
        T(test_multiple_requests_by_position),
        T(test_apdu_response_shape),
        T(test_goodbye_mid_message),
        T(test_endpoint_limits),
        T(test_unknown_endpoint),
        T(test_datastore_type_mismatch),
        T(test_missing_address),
        T(test_unknown_payload),
        T(test_payload_not_for_endpoint),
        T(test_garbage_message),
        T(test_request_too_large),
        T(test_datastore_transaction),
        T(test_datastore_bad_ops),
        T(test_cut_mid_transaction_fs),
        T(test_response_buffer_limit),
        T(test_crl_good_opens_gate),
        T(test_crl_gate_blocks),
        T(test_crl_revoked),
        T(test_crl_wrong_issuer),
        T(test_crl_bad_signature),
        T(test_crl_garbage_and_missing_verifier),
        cmocka_unit_test(test_crl_intermediate_chain),
        T(test_apdu_to_simulator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
