/* el2go datastore contents and settings: header/checksum validation (every
 * corruption class), building and reading service descriptors (count, by
 * index, by id, names), FS A/B file selection on open, and the connection
 * settings precedence (command line, environment, datastore, defaults) with
 * the fallback and warning for a corrupted datastore. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "el2go/datastore.h"
#include "el2go/settings.h"
#include "testutil.h"

static uint8_t *two_services(size_t *len)
{
    Nxp__Iot__ServiceDescriptor a = NXP__IOT__SERVICE_DESCRIPTOR__INIT, b = a;
    a.identifier = 101;
    a.has_service_type = 1;
    a.service_type = NXP__IOT__SERVICE_TYPE__AWSSERVICE;
    a.hostname = "a1.iot.example";
    a.has_port = 1;
    a.port = 8883;
    a.has_protocol = 1;
    a.protocol = NXP__IOT__SERVICE_PROTOCOL_TYPE__MQTTS;
    a.password = "secret";
    b.identifier = 0x1122334455667788ull;
    b.has_service_type = 1;
    b.service_type = NXP__IOT__SERVICE_TYPE__AZURESERVICE;
    b.azure_id_scope = "0ne004510C6";
    Nxp__Iot__ServiceDescriptor *arr[] = {&a, &b};
    uint8_t *out;
    assert_int_equal(el2go_dscontent_build(arr, 2, &out, len), EL2GO_OK);
    return out;
}

static void test_build_and_check(void **state)
{
    size_t len;
    uint8_t *d = two_services(&len);
    assert_true(len > EL2GO_DS_HEADER_LEN);
    assert_int_equal(d[32] | (d[33] << 8), len);
    assert_int_equal(d[40], 2);
    char err[100];
    assert_int_equal(el2go_dscontent_check(d, len, err, sizeof(err)), EL2GO_OK);
    assert_true(el2go_dscontent_valid(d, len));
    /* trailing bytes beyond the header length are ignored */
    uint8_t *longer = malloc(len + 3);
    memcpy(longer, d, len);
    memset(longer + len, 0xAA, 3);
    assert_true(el2go_dscontent_valid(longer, len + 3));
    free(longer);

    uint8_t *c = malloc(len);
    /* checksum */
    memcpy(c, d, len);
    c[len - 1] ^= 1;
    assert_int_equal(el2go_dscontent_check(c, len, err, sizeof(err)), EL2GO_ERR_INVALID);
    assert_non_null(strstr(err, "checksum"));
    memcpy(c, d, len);
    c[0] ^= 0x80;
    assert_false(el2go_dscontent_valid(c, len));
    /* version */
    memcpy(c, d, len);
    c[36] = 1;
    assert_int_equal(el2go_dscontent_check(c, len, err, sizeof(err)), EL2GO_ERR_INVALID);
    assert_non_null(strstr(err, "version"));
    /* length: beyond the data, below the header */
    memcpy(c, d, len);
    c[32] = (uint8_t)(len + 1);
    assert_false(el2go_dscontent_valid(c, len));
    c[32] = 43;
    c[33] = 0;
    assert_false(el2go_dscontent_valid(c, len));
    /* truncated header / empty */
    assert_false(el2go_dscontent_valid(d, 43));
    assert_false(el2go_dscontent_valid(NULL, 0));
    free(c);
    free(d);

    /* a descriptor left at identifier 0 still encodes it (it is required) */
    Nxp__Iot__ServiceDescriptor e = NXP__IOT__SERVICE_DESCRIPTOR__INIT;
    Nxp__Iot__ServiceDescriptor *ea[] = {&e};
    uint8_t *o;
    size_t ol;
    assert_int_equal(el2go_dscontent_build(ea, 1, &o, &ol), EL2GO_OK);
    size_t n;
    assert_int_equal(el2go_services_count(o, ol, &n), EL2GO_OK);
    assert_int_equal(n, 1);
    free(o);
}

static void test_services_api(void **state)
{
    size_t len, n;
    uint8_t *d = two_services(&len);
    assert_int_equal(el2go_services_count(d, len, &n), EL2GO_OK);
    assert_int_equal(n, 2);
    Nxp__Iot__ServiceDescriptor *sd;
    assert_int_equal(el2go_service_by_index(d, len, 0, &sd), EL2GO_OK);
    assert_true(sd->identifier == 101);
    assert_string_equal(sd->hostname, "a1.iot.example");
    assert_string_equal(el2go_service_type_name(sd->service_type), "aws");
    assert_string_equal(el2go_service_protocol_name(sd), "MQTTS");
    el2go_service_free(sd);
    assert_int_equal(el2go_service_by_index(d, len, 1, &sd), EL2GO_OK);
    assert_string_equal(el2go_service_type_name(sd->service_type), "azure");
    assert_string_equal(el2go_service_protocol_name(sd), "empty");
    el2go_service_free(sd);
    assert_int_equal(el2go_service_by_index(d, len, 2, &sd), EL2GO_ERR_NOT_FOUND);
    assert_int_equal(el2go_service_by_id(d, len, 0x1122334455667788ull, &sd), EL2GO_OK);
    assert_string_equal(sd->azure_id_scope, "0ne004510C6");
    el2go_service_free(sd);
    assert_int_equal(el2go_service_by_id(d, len, 5, &sd), EL2GO_ERR_NOT_FOUND);
    d[len - 1] ^= 1;
    assert_int_equal(el2go_services_count(d, len, &n), EL2GO_ERR_INVALID);
    assert_int_equal(el2go_service_by_index(d, len, 0, &sd), EL2GO_ERR_INVALID);
    free(d);
    assert_string_equal(el2go_service_type_name(500), "el2go");
    assert_string_equal(el2go_service_type_name(77), "unknown");
}

static void test_corrupt_descriptor_with_good_checksum(void **state)
{
    /* count says 2 but only one descriptor follows; the second one's bytes
     * are not a ServiceDescriptor (identifier missing). */
    Nxp__Iot__ServiceDescriptor a = NXP__IOT__SERVICE_DESCRIPTOR__INIT;
    a.identifier = 1;
    Nxp__Iot__ServiceDescriptor *arr[] = {&a};
    uint8_t *d;
    size_t len;
    assert_int_equal(el2go_dscontent_build(arr, 1, &d, &len), EL2GO_OK);
    uint8_t *x = malloc(len + 3);
    memcpy(x, d, len);
    x[len] = 0x02;     /* delimited message of 2 bytes */
    x[len + 1] = 0x52; /* hostname, length 0: no identifier */
    x[len + 2] = 0x00;
    size_t xl = len + 3;
    x[32] = (uint8_t)xl;
    x[40] = 2;
    /* recompute the checksum with a fresh build trick: build via EVP */
    unsigned int ml;
    assert_true(EVP_Digest(x + 32, xl - 32, x, &ml, EVP_sha256(), NULL));
    size_t n;
    assert_int_equal(el2go_services_count(x, xl, &n), EL2GO_OK);
    assert_int_equal(n, 2);
    Nxp__Iot__ServiceDescriptor *sd;
    assert_int_equal(el2go_service_by_index(x, xl, 1, &sd), EL2GO_ERR_INVALID);
    /* count larger than what is there */
    x[40] = 3;
    assert_true(EVP_Digest(x + 32, xl - 32, x, &ml, EVP_sha256(), NULL));
    assert_int_equal(el2go_service_by_index(x, xl, 2, &sd), EL2GO_ERR_INVALID);
    free(x);
    free(d);
}

static void write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

static void test_fs_ab_selection(void **state)
{
    char *dir = tu_tempdir("el2go_ab");
    char base[512], p0[520], p1[520], tmp[530];
    snprintf(base, sizeof(base), "%s/ds.bin", dir);
    snprintf(p0, sizeof(p0), "%s.0", base);
    snprintf(p1, sizeof(p1), "%s.1", base);
    snprintf(tmp, sizeof(tmp), "%s.0.tmp", base);
    size_t len;
    uint8_t *good = two_services(&len);
    uint8_t *bad = malloc(len);
    memcpy(bad, good, len);
    bad[50] ^= 1;
    write_file(p0, bad, len);
    write_file(p1, good, len);
    write_file(tmp, (const uint8_t *)"staged", 6);
    el2go_datastore *ds;
    assert_int_equal(el2go_ds_fs_open(0, base, el2go_dscontent_valid, &ds), EL2GO_OK);
    size_t n;
    const uint8_t *d = el2go_ds_data(ds, &n);
    assert_int_equal(n, len);
    assert_memory_equal(d, good, len);
    assert_int_equal(access(tmp, F_OK), -1); /* stray staged file removed */
    /* commit writes file 0 (the other one) and truncates file 1 */
    uint8_t *other;
    size_t ol;
    Nxp__Iot__ServiceDescriptor a = NXP__IOT__SERVICE_DESCRIPTOR__INIT;
    a.identifier = 9;
    Nxp__Iot__ServiceDescriptor *arr[] = {&a};
    assert_int_equal(el2go_dscontent_build(arr, 1, &other, &ol), EL2GO_OK);
    assert_int_equal(el2go_ds_store(ds, other, ol), EL2GO_OK);
    el2go_ds_free(ds);
    FILE *f = fopen(p1, "rb");
    fseek(f, 0, SEEK_END);
    assert_int_equal(ftell(f), 0);
    fclose(f);
    assert_int_equal(el2go_ds_fs_open(0, base, el2go_dscontent_valid, &ds), EL2GO_OK);
    d = el2go_ds_data(ds, &n);
    assert_int_equal(n, ol);
    assert_memory_equal(d, other, ol);
    el2go_ds_free(ds);
    /* both invalid: empty */
    write_file(p0, bad, len);
    assert_int_equal(el2go_ds_fs_open(0, base, el2go_dscontent_valid, &ds), EL2GO_OK);
    assert_int_equal(el2go_ds_size(ds), 0);
    el2go_ds_free(ds);
    /* bad arguments */
    assert_int_equal(el2go_ds_fs_open(0, "", NULL, &ds), EL2GO_ERR_ARG);
    free(good);
    free(bad);
    free(other);
    tu_rmtree(dir);
    free(dir);
}

/* ---- settings ------------------------------------------------------- */

static int clear_env(void **state)
{
    unsetenv("EDGELOCK2GO_HOSTNAME");
    unsetenv("EDGELOCK2GO_PORT");
    return 0;
}

static uint8_t *conn_ds(const char *host, uint16_t port, size_t *len)
{
    uint8_t *d;
    assert_int_equal(el2go_connds_build(host, port, EL2GO_KEYSTORE_ID, EL2GO_KEY_RSA,
                                        EL2GO_CERT_RSA, (const uint8_t *)"\x30\x00", 2, &d, len),
                     EL2GO_OK);
    return d;
}

static void test_settings_precedence(void **state)
{
    size_t len;
    uint8_t *ds = conn_ds("ds.device-link.example", 7443, &len);
    el2go_settings s;
    char warn[256];
    setenv("EDGELOCK2GO_HOSTNAME", "env.device-link.example", 1);
    setenv("EDGELOCK2GO_PORT", "8443", 1);
    /* 1. command line wins */
    assert_int_equal(el2go_settings_resolve("cli.example", "9443", ds, len, &s, warn, sizeof(warn)),
                     EL2GO_OK);
    assert_string_equal(s.hostname, "cli.example");
    assert_int_equal(s.port, 9443);
    assert_int_equal(s.source, EL2GO_SRC_CMDLINE);
    el2go_settings_clear(&s);
    assert_int_equal(el2go_settings_resolve("cli.example", NULL, ds, len, &s, warn, sizeof(warn)),
                     EL2GO_OK);
    assert_int_equal(s.port, 443);
    el2go_settings_clear(&s);
    /* 2. environment */
    assert_int_equal(el2go_settings_resolve(NULL, NULL, ds, len, &s, warn, sizeof(warn)), EL2GO_OK);
    assert_string_equal(s.hostname, "env.device-link.example");
    assert_int_equal(s.port, 8443);
    assert_int_equal(s.source, EL2GO_SRC_ENV);
    assert_string_equal(warn, "");
    el2go_settings_clear(&s);
    /* 3. datastore (environment half set: ignored with a warning) */
    unsetenv("EDGELOCK2GO_PORT");
    assert_int_equal(el2go_settings_resolve(NULL, NULL, ds, len, &s, warn, sizeof(warn)), EL2GO_OK);
    assert_string_equal(s.hostname, "ds.device-link.example");
    assert_int_equal(s.port, 7443);
    assert_int_equal(s.source, EL2GO_SRC_DATASTORE);
    assert_int_equal(s.key_id, EL2GO_KEY_RSA);
    assert_int_equal(s.cert_id, EL2GO_CERT_RSA);
    assert_int_equal(s.roots_len, 2);
    assert_non_null(strstr(warn, "both"));
    el2go_settings_clear(&s);
    /* 4. defaults */
    unsetenv("EDGELOCK2GO_HOSTNAME");
    assert_int_equal(el2go_settings_resolve(NULL, NULL, NULL, 0, &s, warn, sizeof(warn)), EL2GO_OK);
    assert_int_equal(s.source, EL2GO_SRC_DEFAULT);
    assert_int_equal(s.port, 443);
    assert_int_equal(s.key_id, EL2GO_KEY_ECC);
    assert_null(s.roots);
    assert_string_equal(warn, "");
    el2go_settings_clear(&s);
    free(ds);
}

static void test_settings_corrupted_datastore(void **state)
{
    size_t len;
    uint8_t *ds = conn_ds("ds.device-link.example", 7443, &len);
    ds[len - 3] ^= 0x55;
    el2go_settings s;
    char warn[256];
    assert_int_equal(el2go_settings_resolve(NULL, NULL, ds, len, &s, warn, sizeof(warn)), EL2GO_OK);
    assert_int_equal(s.source, EL2GO_SRC_DEFAULT);
    assert_non_null(strstr(warn, "checksum"));
    el2go_settings_clear(&s);
    free(ds);
    /* valid but without a usable descriptor (no key reference) */
    Nxp__Iot__ServiceDescriptor a = NXP__IOT__SERVICE_DESCRIPTOR__INIT;
    a.hostname = "x";
    a.has_port = 1;
    a.port = 1;
    Nxp__Iot__ServiceDescriptor *arr[] = {&a};
    assert_int_equal(el2go_dscontent_build(arr, 1, &ds, &len), EL2GO_OK);
    assert_int_equal(el2go_settings_resolve(NULL, NULL, ds, len, &s, warn, sizeof(warn)), EL2GO_OK);
    assert_int_equal(s.source, EL2GO_SRC_DEFAULT);
    assert_non_null(strstr(warn, "usable"));
    el2go_settings_clear(&s);
    free(ds);
}

static void test_settings_bad_values(void **state)
{
    el2go_settings s;
    const char *bad_ports[] = {"0", "65536", "-1", "+5", "12a", ""};
    for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++)
        assert_int_equal(el2go_settings_resolve("h", bad_ports[i], NULL, 0, &s, NULL, 0),
                         EL2GO_ERR_ARG);
    assert_int_equal(el2go_settings_resolve(NULL, "443", NULL, 0, &s, NULL, 0), EL2GO_ERR_ARG);
    char longhost[300];
    memset(longhost, 'a', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = 0;
    assert_int_equal(el2go_settings_resolve(longhost, NULL, NULL, 0, &s, NULL, 0), EL2GO_ERR_ARG);
    setenv("EDGELOCK2GO_HOSTNAME", "h", 1);
    setenv("EDGELOCK2GO_PORT", "99999", 1);
    assert_int_equal(el2go_settings_resolve(NULL, NULL, NULL, 0, &s, NULL, 0), EL2GO_ERR_ARG);
    unsetenv("EDGELOCK2GO_HOSTNAME");
    unsetenv("EDGELOCK2GO_PORT");
    assert_int_equal(el2go_connds_build("", 1, 0, 0, 0, NULL, 0, NULL, NULL), EL2GO_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_check),
        cmocka_unit_test(test_services_api),
        cmocka_unit_test(test_corrupt_descriptor_with_good_checksum),
        cmocka_unit_test(test_fs_ab_selection),
        cmocka_unit_test_setup(test_settings_precedence, clear_env),
        cmocka_unit_test_setup(test_settings_corrupted_datastore, clear_env),
        cmocka_unit_test_setup(test_settings_bad_values, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
