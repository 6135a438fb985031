/* The KS_SSS_SE05X keystore endpoint against an SE that requires platform
 * SCP03 (the se05x-sim daemon with --require-scp and --scp03-keys, over
 * JRCP on loopback): cloud APDUs forwarded with se05x_conn_forward go
 * through the connection's platform SCP03 channel (C-ENC/C-MAC on the
 * wire, plain answers back, last SW and counters updated) and work; a
 * forwarded SELECT goes plain and the channel is re-opened after it;
 * forwarding stays outside a host applet session (UserID) and the
 * session is re-opened after a forwarded SELECT;
 * se05x_conn_raw bypasses the channel and is refused (6982), as is a plain
 * connection; forwarding on a plain SE (in-process simulator) works too;
 * bad arguments and malformed APDUs are rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "el2go/agent.h"
#include "se05x/apdu.h"
#include "se05x/conn.h"
#include "se05x/tlv.h"
#include "testutil.h"

typedef struct {
    char *dir;
    tu_daemon d;
    char keys[1200], conn[64], plain[1200];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fx->dir = tu_tempdir("el2goscp");
    if (!fx->dir)
        return -1;
    snprintf(fx->keys, sizeof(fx->keys), "%s/keys.txt", fx->dir);
    char card[1200];
    snprintf(card, sizeof(card), "%s/card", fx->dir);
    snprintf(fx->plain, sizeof(fx->plain), "sim:%s/plain", fx->dir);
    if (tu_write_scp03_keys(fx->keys) != 0 ||
        tu_scp03_daemon_start(&fx->d, card, fx->keys, fx->conn, sizeof(fx->conn)) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    tu_daemon_stop(&fx->d, 0);
    tu_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static se05x_conn *open_conn(const char *connstr, const char *keyfile)
{
    se05x_conn *c = NULL;
    char err[512] = "";
    se05x_conn_opts o = {.scp03_keyfile = keyfile};
    if (se05x_conn_open_err(connstr, &o, &c, err, sizeof(err)) != SE05X_OK)
        fail_msg("open %s: %s", connstr, err);
    return c;
}

/* Raw command bytes as the cloud sends them, built with the shared encoder. */
static size_t enc(const se05x_apdu *a, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(se05x_apdu_encode(a, out, cap, &n), SE05X_OK);
    return n;
}

static size_t getver(uint8_t *out, size_t cap)
{
    se05x_apdu a = {.cla = 0x80, .ins = 0x04, .p1 = 0, .p2 = 0x20, .ne = SE05X_NE_SHORT};
    return enc(&a, out, cap);
}

static size_t write_binary(uint32_t id, const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
    uint8_t buf[256];
    se05x_tlvw w;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_tlvw_u16(&w, SE05X_TAG_3, (uint16_t)len);
    se05x_tlvw_bytes(&w, SE05X_TAG_4, data, len);
    assert_int_equal(se05x_tlvw_status(&w), SE05X_OK);
    se05x_apdu a = {.cla = 0x80, .ins = 0x01, .p1 = 0x06, .p2 = 0x00, .data = buf, .lc = w.len};
    return enc(&a, out, cap);
}

static size_t read_object(uint32_t id, uint8_t *out, size_t cap)
{
    uint8_t buf[16];
    se05x_tlvw w;
    se05x_tlvw_init(&w, buf, sizeof(buf));
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_apdu a = {.cla = 0x80, .ins = 0x02, .data = buf, .lc = w.len, .ne = SE05X_NE_EXT};
    return enc(&a, out, cap);
}

static uint16_t sw_of(const uint8_t *r, size_t n)
{
    assert_true(n >= 2);
    return (uint16_t)((r[n - 2] << 8) | r[n - 1]);
}

/* Count trace lines starting with prefix. */
static int trace_count(const char *path, const char *prefix)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    fclose(f);
    return n;
}

/* One command through a fresh keystore endpoint on c: the answer's SW and
 * length. */
static uint16_t ks_once(se05x_conn *c, const uint8_t *cmd, size_t n, size_t *olen)
{
    el2go_keystore *ks = NULL;
    uint8_t out[600];
    assert_int_equal(el2go_ks_se05x_new(EL2GO_KEYSTORE_ID, c, &ks), EL2GO_OK);
    assert_int_equal(el2go_ks_forward(ks, cmd, n, out, sizeof(out), olen), EL2GO_OK);
    el2go_ks_free(ks);
    return sw_of(out, *olen);
}

/* Create a binary object and read it back through the keystore endpoint;
 * returns after checking every answer is data || 9000. */
static void keystore_roundtrip(se05x_conn *c, uint32_t id)
{
    el2go_keystore *ks = NULL;
    assert_int_equal(el2go_ks_se05x_new(EL2GO_KEYSTORE_ID, c, &ks), EL2GO_OK);
    uint8_t cmd[300], out[600];
    size_t n, olen = 0;
    n = getver(cmd, sizeof(cmd));
    assert_int_equal(el2go_ks_forward(ks, cmd, n, out, sizeof(out), &olen), EL2GO_OK);
    assert_int_equal(sw_of(out, olen), 0x9000);
    assert_true(olen > 2); /* version bytes */
    static const uint8_t data[] = "forwarded through the SE connection";
    n = write_binary(id, data, sizeof(data), cmd, sizeof(cmd));
    assert_int_equal(el2go_ks_forward(ks, cmd, n, out, sizeof(out), &olen), EL2GO_OK);
    assert_int_equal(olen, 2);
    assert_int_equal(sw_of(out, olen), 0x9000);
    n = read_object(id, cmd, sizeof(cmd));
    assert_int_equal(el2go_ks_forward(ks, cmd, n, out, sizeof(out), &olen), EL2GO_OK);
    assert_int_equal(sw_of(out, olen), 0x9000);
    /* answer: TLV 41 <len> <data> */
    assert_true(olen >= 2 + 2 + sizeof(data));
    assert_memory_equal(out + olen - 2 - sizeof(data), data, sizeof(data));
    /* a missing object: the bare SW, as the cloud expects */
    n = read_object(id + 1, cmd, sizeof(cmd));
    assert_int_equal(el2go_ks_forward(ks, cmd, n, out, sizeof(out), &olen), EL2GO_OK);
    assert_int_equal(olen, 2);
    assert_int_not_equal(sw_of(out, olen), 0x9000);
    el2go_ks_free(ks);
}

static void test_forward_over_scp03(void **state)
{
    fixture *fx = *state;
    char trace[1300];
    snprintf(trace, sizeof(trace), "%s/trace.txt", fx->dir);
    setenv("SE05X_APDU_TRACE", trace, 1);
    se05x_conn *c = open_conn(fx->conn, fx->keys);
    unsetenv("SE05X_APDU_TRACE");
    keystore_roundtrip(c, 0x7D000101);
    /* se05x_conn_forward itself: plain answer, last SW, one APDU counted */
    uint8_t cmd[16], out[64];
    size_t n = getver(cmd, sizeof(cmd)), rl = 0;
    se05x_counters before, after;
    se05x_conn_counters(c, &before);
    assert_int_equal(se05x_conn_forward(c, cmd, n, out, sizeof(out), &rl), SE05X_OK);
    se05x_conn_counters(c, &after);
    assert_int_equal(sw_of(out, rl), 0x9000);
    assert_int_equal(se05x_conn_last_sw(c), 0x9000);
    assert_int_equal(after.apdus, before.apdus + 1);
    assert_true(after.bytes_tx > before.bytes_tx + n); /* C-MAC added on the wire */
    se05x_conn_close(c);
    /* the wire carried the GetVersion with CLA 84 (secure messaging) and
     * never in plain after the handshake */
    assert_int_equal(trace_count(trace, "se05x >> 84 04 00 20"), 2);
    assert_int_equal(trace_count(trace, "se05x >> 80 04 00 20"), 0);
}

/* The cloud re-selects the applet (our el2go-server does): the SELECT goes
 * plain, ends the card's channel, and the connection re-opens platform
 * SCP03 so that the next forwarded command still works. */
static void test_forward_select(void **state)
{
    fixture *fx = *state;
    static const uint8_t aid[16] = {0xA0, 0x00, 0x00, 0x03, 0x96, 0x54, 0x53, 0x00,
                                    0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00};
    se05x_apdu sel = {.cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x00, .data = aid,
                      .lc = sizeof(aid), .ne = SE05X_NE_SHORT};
    const char *conns[] = {fx->conn, fx->plain};
    const char *keys[] = {fx->keys, NULL};
    for (int i = 0; i < 2; i++) {
        se05x_conn *c = open_conn(conns[i], keys[i]);
        el2go_keystore *ks = NULL;
        assert_int_equal(el2go_ks_se05x_new(EL2GO_KEYSTORE_ID, c, &ks), EL2GO_OK);
        uint8_t cmd[64], out[64];
        size_t n = enc(&sel, cmd, sizeof(cmd)), olen = 0;
        for (int round = 0; round < 2; round++) {
            assert_int_equal(el2go_ks_forward(ks, cmd, n, out, sizeof(out), &olen), EL2GO_OK);
            assert_int_equal(olen, 7 + 2); /* applet version || 9000 */
            assert_int_equal(sw_of(out, olen), 0x9000);
            uint8_t gv[16];
            size_t gn = getver(gv, sizeof(gv));
            assert_int_equal(el2go_ks_forward(ks, gv, gn, out, sizeof(out), &olen), EL2GO_OK);
            assert_int_equal(sw_of(out, olen), 0x9000);
        }
        el2go_ks_free(ks);
        se05x_conn_close(c);
    }
}

/* With a host applet session open (UserID), forwarded commands still go
 * outside it (no 80 05 wrapper, the cloud brings its own sessions) but
 * inside platform SCP03; after a forwarded SELECT the connection has its
 * session back. */
static void test_forward_outside_host_session(void **state)
{
    fixture *fx = *state;
    static const uint8_t userid[] = {0xC0, 0x01, 0x02, 0x03, 0x04};
    char trace[1300];
    snprintf(trace, sizeof(trace), "%s/trace-session.txt", fx->dir);
    setenv("SE05X_APDU_TRACE", trace, 1);
    se05x_conn *c = open_conn(fx->conn, fx->keys);
    unsetenv("SE05X_APDU_TRACE");
    uint8_t data[64], cmd[96], out[64];
    se05x_tlvw w;
    se05x_tlvw_init(&w, data, sizeof(data));
    se05x_tlvw_u32(&w, SE05X_TAG_1, 0x7DA00001);
    se05x_tlvw_bytes(&w, SE05X_TAG_2, userid, sizeof(userid));
    se05x_apdu wu = {.cla = 0x80, .ins = 0x41, .p1 = 0x07, .p2 = 0x00, .data = data, .lc = w.len};
    size_t n = enc(&wu, cmd, sizeof(cmd)), olen = 0;
    assert_int_equal(ks_once(c, cmd, n, &olen), 0x9000);
    assert_int_equal(se05x_session_open_userid(c, 0x7DA00001, userid, sizeof(userid)), SE05X_OK);
    int wrapped_before = trace_count(trace, "se05x >> 84 05");
    n = getver(cmd, sizeof(cmd));
    assert_int_equal(ks_once(c, cmd, n, &olen), 0x9000);
    assert_int_equal(trace_count(trace, "se05x >> 84 04 00 20"), 1);
    assert_int_equal(trace_count(trace, "se05x >> 84 05"), wrapped_before);
    /* the host's own commands do use the session */
    se05x_apdu gv = {.cla = 0x80, .ins = 0x04, .p1 = 0, .p2 = 0x20, .ne = SE05X_NE_SHORT};
    assert_int_equal(se05x_conn_apdu_ok(c, &gv, out, sizeof(out), &olen), SE05X_OK);
    assert_int_equal(trace_count(trace, "se05x >> 84 05"), wrapped_before + 1);
    /* a forwarded SELECT ends session and channel on the card: both back */
    static const uint8_t aid[16] = {0xA0, 0x00, 0x00, 0x03, 0x96, 0x54, 0x53, 0x00,
                                    0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00};
    se05x_apdu sel = {.cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x00, .data = aid,
                      .lc = sizeof(aid), .ne = SE05X_NE_SHORT};
    n = enc(&sel, cmd, sizeof(cmd));
    assert_int_equal(ks_once(c, cmd, n, &olen), 0x9000);
    assert_true(se05x_session_active(c));
    int wrapped_after = trace_count(trace, "se05x >> 84 05"); /* + the re-open's Verify */
    assert_int_equal(se05x_conn_apdu_ok(c, &gv, out, sizeof(out), &olen), SE05X_OK);
    assert_int_equal(trace_count(trace, "se05x >> 84 05"), wrapped_after + 1);
    /* open, forwarded, and the re-setup (SELECT, SCP03, session) after it */
    assert_int_equal(trace_count(trace, "se05x >> 00 A4 04 00"), 3);
    se05x_conn_close(c);
}

static void test_raw_refused(void **state)
{
    fixture *fx = *state;
    se05x_conn *c = open_conn(fx->conn, fx->keys);
    uint8_t cmd[16], out[64];
    size_t n = getver(cmd, sizeof(cmd)), rl = 0;
    /* se05x_conn_raw skips the channel: the SE sees a plain command */
    assert_int_equal(se05x_conn_raw(c, cmd, n, out, sizeof(out), &rl), SE05X_OK);
    assert_int_equal(sw_of(out, rl), 0x6982);
    assert_int_equal(se05x_conn_last_sw(c), 0x6982);
    se05x_conn_close(c);
    /* a plain connection: the keystore answers the SE's refusal */
    c = open_conn(fx->conn, NULL);
    size_t olen = 0;
    assert_int_equal(ks_once(c, cmd, n, &olen), 0x6982);
    assert_int_equal(olen, 2);
    se05x_conn_close(c);
}

static void test_forward_plain(void **state)
{
    fixture *fx = *state;
    se05x_conn *c = open_conn(fx->plain, NULL);
    keystore_roundtrip(c, 0x7D000201);
    se05x_conn_close(c);
}

static void test_forward_bad_input(void **state)
{
    fixture *fx = *state;
    se05x_conn *c = open_conn(fx->conn, fx->keys);
    uint8_t cmd[16], out[64];
    size_t n = getver(cmd, sizeof(cmd)), rl = 0;
    assert_int_equal(se05x_conn_forward(NULL, cmd, n, out, sizeof(out), &rl), SE05X_ERR_ARG);
    assert_int_equal(se05x_conn_forward(c, NULL, n, out, sizeof(out), &rl), SE05X_ERR_ARG);
    assert_int_equal(se05x_conn_forward(c, cmd, n, NULL, sizeof(out), &rl), SE05X_ERR_ARG);
    assert_int_equal(se05x_conn_forward(c, cmd, n, out, sizeof(out), NULL), SE05X_ERR_ARG);
    /* not an APDU: the channel cannot wrap it, nothing is sent */
    se05x_counters before, after;
    se05x_conn_counters(c, &before);
    assert_int_not_equal(se05x_conn_forward(c, cmd, 3, out, sizeof(out), &rl), SE05X_OK);
    se05x_conn_counters(c, &after);
    assert_int_equal(after.apdus, before.apdus);
    /* an answer that does not fit: reported, the channel stays usable */
    assert_int_equal(se05x_conn_forward(c, cmd, n, out, 4, &rl), SE05X_ERR_BUFFER);
    assert_non_null(strstr(se05x_conn_errmsg(c), "exceeds"));
    assert_int_equal(se05x_conn_forward(c, cmd, n, out, sizeof(out), &rl), SE05X_OK);
    assert_int_equal(sw_of(out, rl), 0x9000);
    /* the keystore answers FFFF for commands it does not send */
    size_t olen = 0;
    assert_int_equal(ks_once(c, cmd, 3, &olen), 0xFFFF);
    assert_int_equal(olen, 2);
    se05x_conn_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_over_scp03),
        cmocka_unit_test(test_forward_select),
        cmocka_unit_test(test_forward_outside_host_session),
        cmocka_unit_test(test_raw_refused),
        cmocka_unit_test(test_forward_plain),
        cmocka_unit_test(test_forward_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
