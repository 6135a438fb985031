/* Unit tests of rtp/common: the framing (frames split into 1-byte writes
 * are reassembled, oversized announced lengths refused, peer close and
 * timeouts reported), strict base64, the JSON model (good files, malformed
 * JSON, trailing data, wrong field types, bad base64, bad object ids,
 * APDUs too short / longer than the client buffer, NUL bytes), the device
 * id of a UID (signed big-endian, like java.math.BigInteger) and the
 * hostlib recorder's encode-only APDUs. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>

#include "rtp.h"
#include "se05x/commands.h"
#include "se05x/record.h"
#include "se05x/sockio.h"

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

typedef struct {
    int fd;
    const uint8_t *buf;
    size_t len;
} dribble_arg;

static void *dribble(void *p)
{
    dribble_arg *a = p;
    for (size_t i = 0; i < a->len; i++) {
        if (write(a->fd, a->buf + i, 1) != 1)
            break;
        usleep(200);
    }
    return NULL;
}

static void test_frame_roundtrip_partial(void **state)
{
    int sv[2];
    pair(sv);
    uint8_t wire[4 + 300];
    wire[0] = 0x80, wire[1] = 0x00, wire[2] = 0x01, wire[3] = 0x2C;
    for (size_t i = 0; i < 300; i++)
        wire[4 + i] = (uint8_t)i;
    dribble_arg a = {sv[1], wire, sizeof(wire)};
    pthread_t th;
    pthread_create(&th, NULL, dribble, &a);
    uint8_t buf[RTP_CLIENT_MAX];
    uint16_t tag = 0;
    size_t len = 0;
    char err[200];
    assert_int_equal(rtp_recv(sv[0], &tag, buf, sizeof(buf), &len, se05x_sock_deadline(5000),
                              err, sizeof(err)), SE05X_OK);
    pthread_join(th, NULL);
    assert_int_equal(tag, RTP_TAG_APDU_CMD);
    assert_int_equal(len, 300);
    assert_memory_equal(buf, wire + 4, 300);
    /* rtp_send writes the same bytes */
    assert_int_equal(rtp_send(sv[1], RTP_TAG_APDU_CMD, wire + 4, 300, SE05X_SOCK_FOREVER),
                     SE05X_OK);
    uint8_t back[sizeof(wire)];
    assert_int_equal(se05x_sock_recv_all(sv[0], back, sizeof(back), se05x_sock_deadline(2000)),
                     SE05X_OK);
    assert_memory_equal(back, wire, sizeof(wire));
    /* empty payload */
    assert_int_equal(rtp_send(sv[1], RTP_TAG_DONE, NULL, 0, SE05X_SOCK_FOREVER), SE05X_OK);
    assert_int_equal(rtp_recv(sv[0], &tag, buf, sizeof(buf), &len, se05x_sock_deadline(2000),
                              err, sizeof(err)), SE05X_OK);
    assert_int_equal(tag, RTP_TAG_DONE);
    assert_int_equal(len, 0);
    assert_int_equal(rtp_send(sv[1], 1, NULL, 70000, SE05X_SOCK_FOREVER), SE05X_ERR_ARG);
    close(sv[0]);
    close(sv[1]);
}

static void test_frame_oversized(void **state)
{
    int sv[2];
    pair(sv);
    uint8_t hdr[4] = {0x80, 0x00, 0x03, 0x7D}; /* 893 > 892 */
    assert_int_equal(write(sv[1], hdr, 4), 4);
    uint8_t buf[RTP_CLIENT_MAX];
    uint16_t tag;
    size_t len = 99;
    char err[200] = "";
    assert_int_equal(rtp_recv(sv[0], &tag, buf, sizeof(buf), &len, se05x_sock_deadline(2000),
                              err, sizeof(err)), SE05X_ERR_BUFFER);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err, "893"));
    /* exactly the buffer size is fine */
    uint8_t big[4 + RTP_CLIENT_MAX] = {0x80, 0x00, 0x03, 0x7C};
    close(sv[0]);
    close(sv[1]);
    pair(sv);
    assert_int_equal(write(sv[1], big, sizeof(big)), (ssize_t)sizeof(big));
    assert_int_equal(rtp_recv(sv[0], &tag, buf, sizeof(buf), &len, se05x_sock_deadline(2000),
                              err, sizeof(err)), SE05X_OK);
    assert_int_equal(len, RTP_CLIENT_MAX);
    close(sv[0]);
    close(sv[1]);
}

static void test_frame_close_and_timeout(void **state)
{
    int sv[2];
    pair(sv);
    uint8_t part[6] = {0x81, 0x00, 0x00, 0x05, 0x90, 0x00}; /* 2 of 5 payload bytes */
    assert_int_equal(write(sv[1], part, sizeof(part)), 6);
    uint8_t buf[64];
    uint16_t tag;
    size_t len;
    char err[200] = "";
    assert_int_equal(rtp_recv(sv[0], &tag, buf, sizeof(buf), &len, se05x_sock_deadline(200),
                              err, sizeof(err)), SE05X_ERR_TIMEOUT);
    assert_non_null(strstr(err, "timeout"));
    close(sv[1]);
    assert_int_equal(rtp_recv(sv[0], &tag, buf, sizeof(buf), &len, se05x_sock_deadline(2000),
                              err, sizeof(err)), SE05X_ERR_TRANSPORT);
    assert_non_null(strstr(err, "closed"));
    close(sv[0]);
}

static void test_b64(void **state)
{
    uint8_t *out = NULL;
    size_t n = 0;
    assert_int_equal(rtp_b64_decode("gAQAIAk=", &out, &n), SE05X_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "\x80\x04\x00\x20\x09", 5);
    free(out);
    assert_int_equal(rtp_b64_decode("AAECAw==", &out, &n), SE05X_OK);
    assert_int_equal(n, 4);
    free(out);
    assert_int_equal(rtp_b64_decode("AAECAwQF", &out, &n), SE05X_OK);
    assert_int_equal(n, 6);
    free(out);
    const char *bad[] = {"", "gAQ", "gAQAIAk", "gAQ*IAk=", "gA=AIAk=", "gAQAIA==k===",
                         "gAQA IAk=", "gAQAIAk=\n", "====", "gAQAIAk==", "-_AA"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        out = (uint8_t *)1;
        assert_int_not_equal(rtp_b64_decode(bad[i], &out, &n), SE05X_OK);
        assert_null(out);
    }
    char *e = rtp_b64_encode((const uint8_t *)"\x80\x04\x00\x20\x09", 5);
    assert_string_equal(e, "gAQAIAk=");
    free(e);
}

static void test_device_id(void **state)
{
    uint8_t uid[18] = {0x04, 0x00, 0x50, 0x01};
    char id[64];
    assert_int_equal(rtp_device_id(uid, 18, id, sizeof(id)), SE05X_OK);
    /* 0x040050010000...00 (18 bytes) */
    assert_string_equal(id, "348555487159000638391155531105449405317120");
    uint8_t neg[18];
    memset(neg, 0xFF, sizeof(neg));
    assert_int_equal(rtp_device_id(neg, 18, id, sizeof(id)), SE05X_OK);
    assert_string_equal(id, "-1");
    neg[0] = 0x80;
    memset(neg + 1, 0, 17);
    assert_int_equal(rtp_device_id(neg, 18, id, sizeof(id)), SE05X_OK);
    assert_string_equal(id, "-11150372599265311570767859136324180752990208"); /* -2^143 */
    uint8_t one[2] = {0x00, 0x01};
    assert_int_equal(rtp_device_id(one, 2, id, sizeof(id)), SE05X_OK);
    assert_string_equal(id, "1");
    assert_int_equal(rtp_device_id(uid, 18, id, 10), SE05X_ERR_BUFFER);
}

static void test_objid_hex(void **state)
{
    uint32_t id;
    assert_int_equal(rtp_parse_objid("83000001", &id), SE05X_OK);
    assert_int_equal(id, 0x83000001);
    assert_int_equal(rtp_parse_objid("0x7fff0206", &id), SE05X_OK);
    assert_int_equal(id, 0x7FFF0206);
    assert_int_not_equal(rtp_parse_objid("", &id), SE05X_OK);
    assert_int_not_equal(rtp_parse_objid("123456789", &id), SE05X_OK);
    assert_int_not_equal(rtp_parse_objid("8300000G", &id), SE05X_OK);
    uint8_t b[4];
    size_t n;
    assert_int_equal(rtp_hex_decode("0a0B", b, sizeof(b), &n), SE05X_OK);
    assert_int_equal(n, 2);
    assert_int_not_equal(rtp_hex_decode("0a0", b, sizeof(b), &n), SE05X_OK);
    assert_int_equal(rtp_hex_decode("0102030405", b, sizeof(b), &n), SE05X_ERR_BUFFER);
    char buf[64];
    uint32_t ids[2] = {0x83000001, 0x10};
    rtp_idlist_format(ids, 2, buf, sizeof(buf));
    assert_string_equal(buf, "0x83000001, 0x00000010");
    rtp_idlist_format(ids, 0, buf, sizeof(buf));
    assert_string_equal(buf, "-");
}

#define GOOD_PROV(state, objid, apdu)                                                        \
    "{\"provisioningId\": 7, \"state\": \"" state "\", \"secureObject\": {\"type\": "       \
    "\"BINARY_FILE\", \"objectId\": \"" objid "\", \"algorithm\": null, \"extra\": 1}, "     \
    "\"apdus\": {\"createApdu\": {\"apdu\": \"" apdu "\"}, \"writeApdus\": "                 \
    "[{\"apdu\": \"gAQAIAk=\"}]}}"

static void test_json_good(void **state)
{
    const char *t = "[ {\"deviceId\": \"123\", \"rtpProvisionings\": [" GOOD_PROV(
        "GENERATION_COMPLETED", "83000001", "gAQAIAk=") "," GOOD_PROV("PROVISIONING_COMPLETED",
        "0x10", "AAECAw==") "]}, {\"deviceId\": \"-5\", \"rtpProvisionings\": []},"
        " {\"deviceId\": \"9\"} ]\n";
    rtp_file f;
    char err[300] = "";
    assert_int_equal(rtp_file_parse(t, strlen(t), &f, err, sizeof(err)), SE05X_OK);
    assert_int_equal(f.ndevs, 3);
    assert_string_equal(f.devs[0].device_id, "123");
    assert_int_equal(f.devs[0].nprovs, 2);
    const rtp_prov *p = &f.devs[0].provs[0];
    assert_int_equal(p->provisioning_id, 7);
    assert_string_equal(p->state, "GENERATION_COMPLETED");
    assert_string_equal(p->type, "BINARY_FILE");
    assert_string_equal(p->algorithm, "");
    assert_int_equal(p->object_id, 0x83000001);
    assert_int_equal(p->create.len, 5);
    assert_int_equal(p->nwrites, 1);
    assert_int_equal(f.devs[0].provs[1].object_id, 0x10);
    assert_int_equal(f.devs[1].nprovs, 0);
    assert_int_equal(f.devs[2].nprovs, 0);
    rtp_file_free(&f);
}

static void expect_bad(const char *t, size_t len, const char *needle)
{
    rtp_file f;
    char err[300] = "";
    assert_int_not_equal(rtp_file_parse(t, len, &f, err, sizeof(err)), SE05X_OK);
    assert_int_equal(f.ndevs, 0);
    assert_null(f.devs);
    if (!strstr(err, needle)) {
        print_error("error '%s' lacks '%s' (input %s)\n", err, needle, t);
        fail();
    }
}

static void test_json_bad(void **state)
{
#define DEV(provs) "[{\"deviceId\": \"1\", \"rtpProvisionings\": [" provs "]}]"
    const char *t;
    t = "[{\"deviceId\": \"1\", ";
    expect_bad(t, strlen(t), "malformed JSON");
    t = "[{\"deviceId\": \"1\"}] x";
    expect_bad(t, strlen(t), "malformed JSON at offset 20");
    t = "[{\"deviceId\" \"1\"}]";
    expect_bad(t, strlen(t), "malformed JSON");
    t = "[{\"deviceId\": \"1\",}]";
    expect_bad(t, strlen(t), "malformed JSON");
    t = "{\"deviceId\": \"1\"}";
    expect_bad(t, strlen(t), "not a JSON array");
    t = "[{\"deviceId\": 1}]";
    expect_bad(t, strlen(t), "not a string");
    t = "[{\"deviceId\": \"12a\"}]";
    expect_bad(t, strlen(t), "not a decimal");
    t = "[{\"rtpProvisionings\": []}]";
    expect_bad(t, strlen(t), "\"deviceId\" is missing");
    t = "[{\"deviceId\": \"1\", \"rtpProvisionings\": {}}]";
    expect_bad(t, strlen(t), "not an array");
    t = DEV(GOOD_PROV("GENERATION_COMPLETED", "83000001", "gAQ*IAk="));
    expect_bad(t, strlen(t), "not valid base64");
    t = DEV(GOOD_PROV("GENERATION_COMPLETED", "83000001", "gAQAIAk"));
    expect_bad(t, strlen(t), "createApdu: \"apdu\" is not valid base64");
    t = DEV(GOOD_PROV("GENERATION_COMPLETED", "83000001", "gAQ="));
    expect_bad(t, strlen(t), "APDU of 2 bytes");
    t = DEV(GOOD_PROV("GENERATION_COMPLETED", "8300000001", "gAQAIAk="));
    expect_bad(t, strlen(t), "objectId");
    t = DEV(GOOD_PROV("GENERATION_COMPLETED", "zz", "gAQAIAk="));
    expect_bad(t, strlen(t), "objectId");
    t = DEV("{\"state\": 2, \"secureObject\": {}, \"apdus\": {}}");
    expect_bad(t, strlen(t), "\"state\" is not a string");
    t = DEV("{\"state\": \"GENERATION_COMPLETED\", \"secureObject\": {\"type\": \"X\", "
            "\"objectId\": \"1\"}, \"apdus\": {\"writeApdus\": []}}");
    expect_bad(t, strlen(t), "createApdu\" is missing");
    t = DEV("{\"state\": \"GENERATION_COMPLETED\", \"secureObject\": {\"type\": \"X\", "
            "\"objectId\": \"1\"}, \"apdus\": {\"createApdu\": {\"apdu\": \"gAQAIAk=\"}, "
            "\"writeApdus\": [{\"apdu\": \"gAQAIAk=\"}, {\"apdu\": 5}]}}");
    expect_bad(t, strlen(t), "writeApdus[1]");
    t = DEV("{\"provisioningId\": \"x\", \"state\": \"S\"}");
    expect_bad(t, strlen(t), "provisioningId");
    /* an APDU longer than the client's 892-byte buffer */
    uint8_t raw[900];
    memset(raw, 0x11, sizeof(raw));
    char *b = rtp_b64_encode(raw, sizeof(raw));
    char *big = malloc(strlen(b) + 512);
    sprintf(big, DEV("{\"state\": \"GENERATION_COMPLETED\", \"secureObject\": {\"type\": \"X\", "
                     "\"objectId\": \"1\"}, \"apdus\": {\"createApdu\": {\"apdu\": \"%s\"}}}"), b);
    expect_bad(big, strlen(big), "APDU of 900 bytes");
    free(big);
    free(b);
    /* NUL byte inside the text */
    const char nul[] = "[{\"deviceId\": \"1\"}]\0 ";
    expect_bad(nul, sizeof(nul) - 1, "NUL");
    expect_bad("", 0, "malformed JSON");
#undef DEV
}

static void test_file_load_missing(void **state)
{
    rtp_file f;
    char err[300] = "";
    assert_int_equal(rtp_file_load("/nonexistent/x.json", &f, err, sizeof(err)), SE05X_ERR_IO);
    assert_non_null(strstr(err, "cannot open"));
}

static void test_recorder(void **state)
{
    se05x_conn *c = NULL;
    se05x_recorder *r = NULL;
    assert_int_equal(se05x_recorder_open(7, 2, &c, &r), SE05X_OK);
    assert_true(se05x_applet_is_7x(c));
    assert_int_equal(se05x_recorder_count(r), 0); /* SELECT not recorded */
    uint8_t data[1100];
    memset(data, 0xAB, sizeof(data));
    assert_int_equal(se05x_write_binary(c, NULL, 0x83000003, data, sizeof(data), false), SE05X_OK);
    assert_int_equal(se05x_recorder_count(r), 3); /* 500-byte chunks */
    size_t len = 0;
    const uint8_t *a = se05x_recorder_get(r, 0, &len);
    assert_non_null(a);
    assert_memory_equal(a, "\x80\x01\x06\x00", 4);
    assert_null(se05x_recorder_get(r, 3, &len));
    se05x_recorder_clear(r);
    /* P-384 installation: ReadECCurveList (answered NOT_SET), Create, 5 params */
    assert_int_equal(se05x_ec_curve_ensure(c, SE05X_CURVE_NIST_P384), SE05X_OK);
    assert_int_equal(se05x_recorder_count(r), 7);
    a = se05x_recorder_get(r, 1, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(a, "\x80\x01\x0B\x04\x03\x41\x01\x04", 8);
    a = se05x_recorder_get(r, 2, &len);
    assert_memory_equal(a, "\x80\x01\x0B\x40", 4);
    se05x_conn_close(c);
    assert_int_equal(se05x_recorder_open(3, 6, &c, &r), SE05X_OK);
    assert_false(se05x_applet_is_7x(c));
    se05x_conn_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_roundtrip_partial), cmocka_unit_test(test_frame_oversized),
        cmocka_unit_test(test_frame_close_and_timeout), cmocka_unit_test(test_b64),
        cmocka_unit_test(test_device_id),               cmocka_unit_test(test_objid_hex),
        cmocka_unit_test(test_json_good),               cmocka_unit_test(test_json_bad),
        cmocka_unit_test(test_file_load_missing),       cmocka_unit_test(test_recorder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
