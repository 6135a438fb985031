/* Unit tests for the JSON of the agent's service export (agent/src/export.c,
 * el2go/export.h): services.json and el2go_service_json are built with
 * json-c, so quotes, backslashes and control characters in the server's
 * strings come back byte for byte when parsed, UTF-8 stays UTF-8 (the old
 * hand-written escaper turned each byte >= 0x7F into a \u00XX code point),
 * bytes that are not UTF-8 become U+FFFD so the file stays valid UTF-8,
 * secrets are never written, and absent settings are omitted. Exports run
 * without an SE session (s = NULL) into a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "el2go/datastore.h"
#include "el2go/export.h"

#define NASTY "q\"b\\s/ nl\n tab\t cr\r bell\x01 us\x1f del\x7f end"
#define UTF8 "h\xc3\xb4st-\xc3\xa9.example" /* "hôst-é.example" */
#define METADATA "{\"k\": [1, \"/x\"], \"u\": \"\\u00e9\"}"

typedef struct {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    const char *base = getenv("SE05X_TEST_TMP");
    snprintf(f->dir, sizeof(f->dir), "%s/el2go_export.XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Datastore contents with the given descriptors (malloc'ed). */
static uint8_t *contents(Nxp__Iot__ServiceDescriptor **sds, size_t n, size_t *len)
{
    uint8_t *out = NULL;
    assert_int_equal(el2go_dscontent_build(sds, n, &out, len), EL2GO_OK);
    return out;
}

/* The text of DIR/services.json (malloc'ed). */
static char *read_json(const fixture *f, size_t *len)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/services.json", f->dir);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *buf = calloc(1, 65536);
    assert_non_null(buf);
    *len = fread(buf, 1, 65535, fp);
    fclose(fp);
    return buf;
}

static const char *member_str(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v))
        fail_msg("member %s missing", k);
    assert_true(json_object_is_type(v, json_type_string));
    return json_object_get_string(v);
}

static void test_export_round_trip(void **state)
{
    fixture *f = *state;
    Nxp__Iot__ServiceDescriptor a = NXP__IOT__SERVICE_DESCRIPTOR__INIT;
    Nxp__Iot__ServiceDescriptor b = NXP__IOT__SERVICE_DESCRIPTOR__INIT;
    uint8_t key[] = {1, 2, 3};
    a.identifier = 101;
    a.hostname = UTF8;
    a.has_port = 1;
    a.port = 8883;
    a.has_timeout_ms = 1;
    a.timeout_ms = 30000;
    a.client_id = NASTY;
    a.username = "user";
    a.password = "pw-not-exported";
    a.has_client_key = 1;
    a.client_key.data = key;
    a.client_key.len = sizeof(key);
    a.customer_metadata_json = METADATA;
    b.identifier = 0xFFFFFFFFFFFFFFFFull; /* uint64, beyond int64 */
    b.has_service_type = 1;
    b.service_type = NXP__IOT__SERVICE_TYPE__AZURESERVICE;
    b.azure_id_scope = "0ne004510C6";
    Nxp__Iot__ServiceDescriptor *sds[] = {&a, &b};
    size_t len, count = 0;
    uint8_t *c = contents(sds, 2, &len);
    char err[256] = "";
    assert_int_equal(el2go_export(c, len, NULL, f->dir, &count, err, sizeof(err)), EL2GO_OK);
    assert_int_equal(count, 2);
    free(c);

    size_t tlen;
    char *text = read_json(f, &tlen);
    assert_true(tlen > 2 && text[tlen - 1] == '\n');
    assert_null(strstr(text, "pw-not-exported"));
    assert_non_null(strstr(text, UTF8)); /* UTF-8 passes through unescaped */
    for (size_t i = 0; i < tlen; i++) /* no raw control characters but the newlines */
        if ((unsigned char)text[i] < 0x20 && text[i] != '\n')
            fail_msg("raw control character 0x%02x at offset %zu", text[i], i);

    json_object *root = json_tokener_parse(text);
    assert_non_null(root);
    assert_true(json_object_is_type(root, json_type_array));
    assert_int_equal(json_object_array_length(root), 2);
    json_object *s0 = json_object_array_get_idx(root, 0);
    json_object *s1 = json_object_array_get_idx(root, 1), *v;
    assert_true(json_object_object_get_ex(s0, "identifier", &v));
    assert_int_equal(json_object_get_int64(v), 101);
    assert_string_equal(member_str(s0, "type"), "aws");
    assert_string_equal(member_str(s0, "hostname"), UTF8);
    assert_string_equal(member_str(s0, "client_id"), NASTY);
    assert_string_equal(member_str(s0, "username"), "user");
    assert_string_equal(member_str(s0, "customer_metadata_json"), METADATA);
    assert_true(json_object_object_get_ex(s0, "port", &v));
    assert_int_equal(json_object_get_int64(v), 8883);
    assert_true(json_object_object_get_ex(s0, "timeout_ms", &v));
    assert_int_equal(json_object_get_int64(v), 30000);
    assert_true(json_object_object_get_ex(s0, "has_password", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(s0, "has_embedded_key", &v));
    assert_true(json_object_get_boolean(v));
    assert_false(json_object_object_get_ex(s0, "key_uri", NULL)); /* no SE session */

    assert_true(json_object_object_get_ex(s1, "identifier", &v));
    assert_true(json_object_get_uint64(v) == 0xFFFFFFFFFFFFFFFFull);
    assert_string_equal(member_str(s1, "type"), "azure");
    assert_string_equal(member_str(s1, "protocol"), "empty");
    assert_string_equal(member_str(s1, "azure_id_scope"), "0ne004510C6");
    assert_false(json_object_object_get_ex(s1, "hostname", NULL)); /* absent: omitted */
    assert_false(json_object_object_get_ex(s1, "port", NULL));
    assert_false(json_object_object_get_ex(s1, "has_password", NULL));
    json_object_put(root);
    free(text);
}

static void test_export_no_services(void **state)
{
    fixture *f = *state;
    size_t len, count = 7;
    uint8_t *c = contents(NULL, 0, &len);
    assert_int_equal(el2go_export(c, len, NULL, f->dir, &count, NULL, 0), EL2GO_OK);
    assert_int_equal(count, 0);
    free(c);
    size_t tlen;
    char *text = read_json(f, &tlen);
    json_object *root = json_tokener_parse(text);
    assert_non_null(root);
    assert_true(json_object_is_type(root, json_type_array));
    assert_int_equal(json_object_array_length(root), 0);
    json_object_put(root);
    free(text);
}

static void test_export_bad_input(void **state)
{
    fixture *f = *state;
    size_t count = 7;
    char err[256] = "";
    const uint8_t junk[50] = {0};
    assert_int_not_equal(el2go_export(junk, sizeof(junk), NULL, f->dir, &count, err, sizeof(err)),
                         EL2GO_OK);
    assert_int_equal(count, 0);
    assert_non_null(strstr(err, "no valid service datastore"));
    /* an output directory that cannot be created */
    Nxp__Iot__ServiceDescriptor a = NXP__IOT__SERVICE_DESCRIPTOR__INIT;
    Nxp__Iot__ServiceDescriptor *sds[] = {&a};
    size_t len;
    uint8_t *c = contents(sds, 1, &len);
    char bad[128];
    snprintf(bad, sizeof(bad), "%s/missing/sub", f->dir);
    assert_int_equal(el2go_export(c, len, NULL, bad, &count, err, sizeof(err)), EL2GO_ERR_IO);
    assert_non_null(strstr(err, "cannot create"));
    free(c);
}

/* Parse text with json-c's UTF-8 validation on; NULL if invalid. */
static json_object *parse_strict_utf8(const char *text)
{
    json_tokener *tok = json_tokener_new();
    assert_non_null(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex(tok, text, (int)strlen(text));
    json_tokener_free(tok);
    return root;
}

#define FFFD "\xef\xbf\xbd"

static void test_export_invalid_utf8(void **state)
{
    fixture *f = *state;
    Nxp__Iot__ServiceDescriptor a = NXP__IOT__SERVICE_DESCRIPTOR__INIT;
    a.identifier = 7;
    /* stray bytes, a truncated 2-byte character, a UTF-8 encoded surrogate,
     * then valid text */
    a.client_id = "ok\xff\xfe-\xc3(-\xed\xa0\x80-\xc3\xa9";
    a.hostname = UTF8;
    Nxp__Iot__ServiceDescriptor *sds[] = {&a};
    size_t len, count = 0;
    uint8_t *c = contents(sds, 1, &len);
    assert_int_equal(el2go_export(c, len, NULL, f->dir, &count, NULL, 0), EL2GO_OK);
    free(c);
    size_t tlen;
    char *text = read_json(f, &tlen);
    json_object *root = parse_strict_utf8(text);
    if (!root)
        fail_msg("services.json is not valid UTF-8 JSON:\n%s", text);
    json_object *s0 = json_object_array_get_idx(root, 0);
    assert_string_equal(member_str(s0, "client_id"),
                        "ok" FFFD FFFD "-" FFFD "(-" FFFD FFFD FFFD "-\xc3\xa9");
    assert_string_equal(member_str(s0, "hostname"), UTF8); /* valid text untouched */
    json_object_put(root);
    free(text);
}

static void test_service_json_minimal(void **state)
{
    Nxp__Iot__ServiceDescriptor a = NXP__IOT__SERVICE_DESCRIPTOR__INIT;
    a.identifier = 5;
    a.password = "never";
    json_object *o = el2go_service_json(&a);
    assert_non_null(o);
    /* settings only: identifier, type (default aws), protocol */
    assert_int_equal(json_object_object_length(o), 3);
    assert_string_equal(member_str(o, "type"), "aws");
    assert_string_equal(member_str(o, "protocol"), "empty");
    const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED);
    assert_null(strstr(t, "never"));
    assert_string_equal(t, "{ \"identifier\": 5, \"type\": \"aws\", \"protocol\": \"empty\" }");
    json_object_put(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_export_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_no_services, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_invalid_utf8, setup, teardown),
        cmocka_unit_test(test_service_json_minimal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
