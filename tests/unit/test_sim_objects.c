/* Unit tests of the simulator's secure-object commands: WriteECKey with the
 * exact MW layouts (spec §12), generation, private-key read refusal,
 * policies (stored, enforced, session entries, REQUIRE_SM), ReadIDList
 * paging and filters, RSA multi-APDU import and generation, chunked
 * binaries, counters, symmetric keys, UserID, curves, delete / DeleteAll,
 * transient objects, the memory limit, and the 3.x type numbering. */
#include "test_sim_util.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/bn.h>

#include "sim_internal.h"

static int setup(void **state)
{
    simfx *f = calloc(1, sizeof(*f));
    tu_setup_dir(f);
    sesim_opts o = tu_opts();
    tu_open(f, &o);
    tu_select(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    simfx *f = *state;
    tu_close(f);
    tu_rm_rf(f->dir);
    free(f);
    return 0;
}

/* Send a command whose payload was built with a TLV writer. */
static uint16_t send_w(simfx *f, uint8_t ins, uint8_t p1, uint8_t p2, se05x_tlvw *w)
{
    assert_int_equal(se05x_tlvw_status(w), SE05X_OK);
    return tu_cmd(f, ins, p1, p2, w->buf, w->len);
}

static uint16_t read_obj(simfx *f, uint32_t id, uint16_t off, uint16_t len)
{
    uint8_t b[32];
    se05x_tlvw w;
    se05x_tlvw_init(&w, b, sizeof(b));
    se05x_tlvw_u32(&w, 0x41, id);
    se05x_tlvw_u16_opt(&w, 0x42, off);
    se05x_tlvw_u16_opt(&w, 0x43, len);
    return send_w(f, 0x02, 0x00, 0x00, &w);
}

static uint16_t simple_id_cmd(simfx *f, uint8_t ins, uint8_t p1, uint8_t p2, uint32_t id)
{
    uint8_t b[8];
    se05x_tlvw w;
    se05x_tlvw_init(&w, b, sizeof(b));
    se05x_tlvw_u32(&w, 0x41, id);
    return send_w(f, ins, p1, p2, &w);
}

static uint8_t resp_u8(simfx *f, uint8_t t)
{
    const uint8_t *v;
    assert_int_equal(tu_resp_tlv(f, t, &v), 1);
    return v[0];
}

static uint16_t resp_u16(simfx *f, uint8_t t)
{
    const uint8_t *v;
    assert_int_equal(tu_resp_tlv(f, t, &v), 2);
    return se05x_get_u16(v);
}

/* A P-256 key pair made by OpenSSL: priv 32 bytes, pub 65 bytes. */
static void p256_pair(uint8_t priv[32], uint8_t pub[65])
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    BIGNUM *d = NULL;
    size_t pl = 0;
    assert_non_null(pk);
    assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d));
    assert_int_equal(BN_bn2binpad(d, priv, 32), 32);
    assert_true(EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub, 65, &pl));
    assert_int_equal(pl, 65);
    BN_free(d);
    EVP_PKEY_free(pk);
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02X", b[i]);
}

static void test_ec_import_exact(void **state)
{
    simfx *f = *state;
    uint8_t priv[32], pub[65];
    char cmd[512], ph[65], qh[131];
    p256_pair(priv, pub);
    hex_of(priv, 32, ph);
    hex_of(pub, 65, qh);
    /* the MW sequence of spec §12 */
    assert_int_equal(tu_tx(f, "80020B2500"), 0x9000);
    const uint8_t *v;
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 17);
    assert_int_equal(v[2], 0x02); /* P-256 left SET by the factory */
    assert_int_equal(v[3], 0x01);
    assert_int_equal(tu_tx(f, "80040027 06 4104EF000001"), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x02);
    snprintf(cmd, sizeof(cmd), "80016100 74 4104EF000001 420103 4320%s 4441%s 4B0400000000", ph, qh);
    assert_int_equal(tu_tx(f, cmd), 0x9000);
    assert_int_equal(f->rlen, 0);
    assert_int_equal(read_obj(f, 0xEF000001, 0, 0), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 65);
    assert_memory_equal(v, pub, 65);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, 0xEF000001), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x29);
    assert_int_equal(resp_u8(f, 0x42), 0x01);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x07, 0xEF000001), 0x9000);
    assert_int_equal(resp_u16(f, 0x41), 32);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x0B, 0x36, 0xEF000001), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x03);
    /* attributes: origin external (01), 7.x in TAG_3 */
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x3B, 0xEF000001), 0x9000);
    int n = tu_resp_tlv(f, 0x43, &v);
    assert_int_equal(n, 14 + 0 + 1 + 4);
    assert_int_equal(se05x_get_u32(v), 0xEF000001);
    assert_int_equal(v[4], 0x29);
    assert_int_equal(v[5], 0x01);
    assert_int_equal(v[14], 0x01);
    /* mismatching pair -> 6A80 */
    pub[40] ^= 1;
    hex_of(pub, 65, qh);
    snprintf(cmd, sizeof(cmd), "80016100 74 4104EF000002 420103 4320%s 4441%s 4B0400000000", ph, qh);
    assert_int_equal(tu_tx(f, cmd), 0x6A80);
    /* wrong private length */
    snprintf(cmd, sizeof(cmd), "80016100 1B 4104EF000002 420103 4310%.32s", ph);
    assert_int_equal(tu_tx(f, cmd), 0x6A80);
}

static void test_ec_generate_and_private_read(void **state)
{
    simfx *f = *state;
    const uint8_t *v;
    uint8_t first[65];
    assert_int_equal(tu_tx(f, "80016100 09 4104EF000010 420103"), 0x9000);
    assert_int_equal(read_obj(f, 0xEF000010, 0, 0), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 65);
    assert_int_equal(v[0], 0x04);
    memcpy(first, v, 65);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x3B, 0xEF000010), 0x9000);
    int n = tu_resp_tlv(f, 0x43, &v);
    assert_int_equal(v[n - 5], 0x02); /* origin internal */
    /* regenerate on the existing object: no TAG_2, key part ignored */
    assert_int_equal(tu_tx(f, "80016100 06 4104EF000010"), 0x9000);
    assert_int_equal(read_obj(f, 0xEF000010, 0, 0), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 65);
    assert_memory_not_equal(v, first, 65);
    /* a different curve on the existing object */
    assert_int_equal(tu_tx(f, "80016100 09 4104EF000010 420104"), 0x6985);
    /* private-only key: ReadObject -> 6985 */
    uint8_t priv[32], pub[65];
    char cmd[256], ph[65];
    p256_pair(priv, pub);
    hex_of(priv, 32, ph);
    snprintf(cmd, sizeof(cmd), "80014100 2B 4104EF000011 420103 4320%s", ph);
    assert_int_equal(tu_tx(f, cmd), 0x9000);
    assert_int_equal(read_obj(f, 0xEF000011, 0, 0), 0x6985);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, 0xEF000011), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x2A);
    /* public-only */
    char qh[131];
    hex_of(pub, 65, qh);
    snprintf(cmd, sizeof(cmd), "80012100 4C 4104EF000012 420103 4441%s", qh);
    assert_int_equal(tu_tx(f, cmd), 0x9000);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, 0xEF000012), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x2B);
    /* regenerating a public key object -> 6985 */
    assert_int_equal(tu_tx(f, "80016100 06 4104EF000012"), 0x6985);
    /* missing curve on creation, unknown curve, key part 0 */
    assert_int_equal(tu_tx(f, "80016100 06 4104EF000013"), 0x6A80);
    assert_int_equal(tu_tx(f, "80016100 09 4104EF000013 420133"), 0x6A80);
    assert_int_equal(tu_tx(f, "80010100 09 4104EF000013 420103"), 0x6A80);
    /* EC write on a binary object -> 6985 */
    assert_int_equal(tu_tx(f, "80010600 0E 4104EF000014 43020010 44020102"), 0x9000);
    assert_int_equal(tu_tx(f, "80016100 06 4104EF000014"), 0x6985);
}

static void test_policy(void **state)
{
    simfx *f = *state;
    const uint8_t *v;
    /* spec §12: generation with policy 0x13048000 for auth id 0 */
    assert_int_equal(tu_tx(f, "80016100 14 1109 08 00000000 13048000 4104EF000020 420103"), 0x9000);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x3B, 0xEF000020), 0x9000);
    int n = tu_resp_tlv(f, 0x43, &v);
    assert_int_equal(n, 14 + 9 + 1 + 4);
    uint8_t pol[9] = {0x08, 0, 0, 0, 0, 0x13, 0x04, 0x80, 0x00};
    assert_memory_equal(v + 14, pol, 9);
    /* ALLOW_READ is not granted -> 6986 */
    assert_int_equal(read_obj(f, 0xEF000020, 0, 0), 0x6986);
    /* regeneration needs ALLOW_GEN -> 6986 */
    assert_int_equal(tu_tx(f, "80016100 06 4104EF000020"), 0x6986);
    /* a policy that forbids sign (verify + read only) is stored as given */
    assert_int_equal(tu_tx(f, "80016100 14 1109 08 00000000 08200000 4104EF000021 420103"), 0x9000);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x3B, 0xEF000021), 0x9000);
    tu_resp_tlv(f, 0x43, &v);
    assert_int_equal(se05x_get_u32(v + 19), 0x08200000);
    assert_int_equal(read_obj(f, 0xEF000021, 0, 0), 0x9000);
    /* deleting needs ALLOW_DELETE */
    assert_int_equal(simple_id_cmd(f, 0x04, 0x00, 0x28, 0xEF000021), 0x6986);
    assert_int_equal(simple_id_cmd(f, 0x04, 0x00, 0x28, 0xEF000020), 0x9000);
    /* malformed policies -> 6984 */
    assert_int_equal(tu_tx(f, "80016100 13 1108 07 00000000 130480 4104EF000022 420103"), 0x6984);
    assert_int_equal(tu_tx(f, "80016100 14 1109 09 00000000 13048000 4104EF000022 420103"), 0x6984);
    assert_int_equal(tu_tx(f, "80016100 1D 1112 08 00000000 13048000 08 00000000 13048000"
                              " 4104EF000022 420103"), 0x6984);
    assert_int_equal(tu_tx(f, "80040027 06 4104EF000022"), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x02);
}

/* Policy decisions through sesim_dispatch with a session auth id. */
static uint16_t dispatch_as(simfx *f, const char *hex, uint32_t auth, bool sm)
{
    uint8_t c[600];
    size_t n = tu_hex(hex, c, sizeof(c));
    size_t l = sesim_dispatch(f->ch, c, n, auth, sm, f->r, sizeof(f->r));
    assert_true(l >= 2);
    f->rlen = l - 2;
    return se05x_get_u16(f->r + l - 2);
}

static void test_policy_sessions(void **state)
{
    simfx *f = *state;
    /* binary readable only by auth object 0x7DA00001 */
    assert_int_equal(tu_tx(f, "80010600 19 1109 08 7DA00001 00300000 4104EF000030 43020004 44020102"),
                     0x9000);
    assert_int_equal(dispatch_as(f, "8002000006 4104EF000030", 0, false), 0x6986);
    assert_int_equal(dispatch_as(f, "8002000006 4104EF000030", 0x7DA00002, false), 0x6986);
    assert_int_equal(dispatch_as(f, "8002000006 4104EF000030", 0x7DA00001, false), 0x9000);
    /* entry for the session id wins over the entry for id 0 */
    assert_int_equal(tu_tx(f, "80010600 1E 1112 08 00000000 00200000 08 7DA00001 00100000"
                              " 4104EF000031 43020004"), 0x9000);
    assert_int_equal(dispatch_as(f, "8002000006 4104EF000031", 0, false), 0x9000);
    assert_int_equal(dispatch_as(f, "8002000006 4104EF000031", 0x7DA00001, false), 0x6986);
    assert_int_equal(dispatch_as(f, "8002000006 4104EF000031", 0x7DA00009, false), 0x9000);
    /* REQUIRE_SM */
    assert_int_equal(tu_tx(f, "80010600 19 1109 08 00000000 00220000 4104EF000032 43020004 44020102"),
                     0x9000);
    assert_int_equal(dispatch_as(f, "8002000006 4104EF000032", 0, false), 0x6982);
    assert_int_equal(dispatch_as(f, "8002000006 4104EF000032", 0, true), 0x9000);
    /* FORBID_ALL */
    assert_int_equal(tu_tx(f, "80010600 15 1109 08 00000000 20200000 4104EF000033 43020004"),
                     0x9000);
    assert_int_equal(dispatch_as(f, "8002000006 4104EF000033", 0, true), 0x6986);
    /* writes need ALLOW_WRITE; an update must repeat the policy exactly */
    assert_int_equal(tu_tx(f, "80010600 0E 4104EF000031 42020000 44020102"), 0x6986);
    assert_int_equal(dispatch_as(f, "80010600 0E 4104EF000031 42020000 44020102", 0x7DA00001, false),
                     0x9000);
    assert_int_equal(dispatch_as(f, "80010600 19 1509 08 00000000 00200000 4104EF000031 42020000"
                                    " 44020102", 0x7DA00001, false), 0x6985);
    /* DeleteAll: only in a FACTORY_RESET session */
    assert_int_equal(tu_tx(f, "8004002A00"), 0x6982);
    assert_int_equal(dispatch_as(f, "8004002A00", 0x7FFF0205, false), 0x9000);
    assert_int_equal(tu_tx(f, "80040027 06 4104EF000030"), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x02);
    assert_int_equal(tu_tx(f, "80040027 06 41047FFF0206"), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x01);
}

static void test_delete_all_keeps(void **state)
{
    simfx *f = *state;
    assert_int_equal(tu_tx(f, "80010600 0A 4104F0000100 43020004"), 0x9000);
    assert_int_equal(tu_tx(f, "80010600 0A 410400000100 43020004"), 0x9000);
    assert_int_equal(dispatch_as(f, "8004002A", 0x7FFF0205, false), 0x9000);
    assert_int_equal(tu_tx(f, "80040027 06 4104F0000100"), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x01);
    assert_int_equal(tu_tx(f, "80040027 06 410400000100"), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x02);
    /* the curve state survives */
    assert_int_equal(tu_tx(f, "80020B2500"), 0x9000);
    const uint8_t *v;
    tu_resp_tlv(f, 0x41, &v);
    assert_int_equal(v[2], 0x02);
}

/* All ids through ReadIDList paging (filter FF). */
static size_t list_all(simfx *f, uint32_t *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char cmd[64];
        const uint8_t *v;
        snprintf(cmd, sizeof(cmd), "80020025000007 4102%04X 4201FF 0000", (unsigned)n);
        assert_int_equal(tu_tx(f, cmd), 0x9000);
        uint8_t more = resp_u8(f, 0x41);
        int l = tu_resp_tlv(f, 0x42, &v);
        assert_true(l >= 0 && l % 4 == 0 && l <= 64 * 4);
        for (int i = 0; i < l / 4; i++) {
            assert_true(n < cap);
            out[n++] = se05x_get_u32(v + 4 * i);
        }
        if (more == 0x01)
            return n;
        assert_int_equal(more, 0x02);
        assert_int_equal(l, 64 * 4);
    }
}

static void test_idlist(void **state)
{
    simfx *f = *state;
    char cmd[64];
    const uint8_t *v;
    uint32_t ids[256];
    size_t base = list_all(f, ids, 256);
    assert_true(base >= 1 && base < 40); /* UID and the other factory objects */
    for (unsigned i = 0; i < 70; i++) {
        snprintf(cmd, sizeof(cmd), "80010600 0A 4104%08X 43020001", 0x10000000u - i * 3);
        assert_int_equal(tu_tx(f, cmd), 0x9000);
    }
    assert_int_equal(tu_tx(f, "80016100 09 4104EF000040 420103"), 0x9000);
    /* page 1: 64 ids, sorted, more */
    assert_int_equal(tu_tx(f, "80020025000007410200004201FF0000"), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x02);
    assert_int_equal(tu_resp_tlv(f, 0x42, &v), 64 * 4);
    for (int i = 1; i < 64; i++)
        assert_true(se05x_get_u32(v + 4 * i) > se05x_get_u32(v + 4 * (i - 1)));
    assert_int_equal(se05x_get_u32(v), 0x10000000u - 69 * 3);
    /* page 2: the rest (6 binaries, the EC key, the factory objects) */
    assert_int_equal(tu_tx(f, "80020025000007410200404201FF0000"), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x01);
    assert_int_equal(tu_resp_tlv(f, 0x42, &v), (int)(6 + 1 + base) * 4);
    assert_int_equal(se05x_get_u32(v + 5 * 4), 0x10000000u);
    size_t n = list_all(f, ids, 256);
    assert_int_equal(n, 70 + 1 + base);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_true(ids[i] > ids[i - 1]);
        found |= ids[i] == 0xEF000040 || ids[i] == 0x7FFF0206;
    }
    assert_true(found);
    /* filter: P-256 key pairs only (7.x type) */
    assert_int_equal(tu_tx(f, "80020025 07 4102000042012900"), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x01);
    int l = tu_resp_tlv(f, 0x42, &v);
    found = false;
    for (int i = 0; i < l / 4; i++) {
        assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, se05x_get_u32(v + 4 * i)), 0x9000);
        assert_int_equal(resp_u8(f, 0x41), 0x29);
        assert_int_equal(tu_tx(f, "80020025 07 4102000042012900"), 0x9000);
        tu_resp_tlv(f, 0x42, &v);
        found |= se05x_get_u32(v + 4 * i) == 0xEF000040;
    }
    assert_true(found);
    /* offset beyond the end */
    assert_int_equal(tu_tx(f, "80020025 07 4102100042010B00"), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x01);
    assert_int_equal(tu_resp_tlv(f, 0x42, &v), 0);
}

/* ---- RSA -------------------------------------------------------------------- */

typedef struct {
    uint8_t v[8][300];
    size_t l[8]; /* P Q DP DQ INVQ E D N */
} rsa_parts;

static void rsa_key(unsigned bits, rsa_parts *p)
{
    static const char *names[8] = {OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
                                   OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
                                   OSSL_PKEY_PARAM_RSA_COEFFICIENT1, OSSL_PKEY_PARAM_RSA_E,
                                   OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_N};
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    assert_non_null(pk);
    for (int i = 0; i < 8; i++) {
        BIGNUM *b = NULL;
        assert_true(EVP_PKEY_get_bn_param(pk, names[i], &b));
        p->l[i] = (size_t)BN_bn2bin(b, p->v[i]);
        BN_free(b);
    }
    EVP_PKEY_free(pk);
}

/* One WriteRSAKey APDU with an optional size and one component (tag). */
static uint16_t rsa_write(simfx *f, uint8_t p1, uint8_t p2, uint32_t id, uint16_t bits, uint8_t t,
                          const uint8_t *v, size_t l, bool pad)
{
    uint8_t b[600], tmp[301];
    se05x_tlvw w;
    se05x_tlvw_init(&w, b, sizeof(b));
    se05x_tlvw_u32(&w, 0x41, id);
    se05x_tlvw_u16_opt(&w, 0x42, bits);
    if (t) {
        if (pad && (l & 1)) { /* MW style: odd length left-padded with 00 */
            tmp[0] = 0;
            memcpy(tmp + 1, v, l);
            se05x_tlvw_bytes(&w, t, tmp, l + 1);
        } else {
            se05x_tlvw_bytes(&w, t, v, l);
        }
    }
    return send_w(f, 0x01, p1, p2, &w);
}

static void read_rsa_comp(simfx *f, uint32_t id, uint8_t which, const uint8_t *exp, size_t l)
{
    uint8_t b[16];
    const uint8_t *v;
    se05x_tlvw w;
    se05x_tlvw_init(&w, b, sizeof(b));
    se05x_tlvw_u32(&w, 0x41, id);
    se05x_tlvw_u8(&w, 0x44, which);
    assert_int_equal(send_w(f, 0x02, 0x00, 0x00, &w), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), (int)l);
    assert_memory_equal(v, exp, l);
}

static void test_rsa_import(void **state)
{
    simfx *f = *state;
    rsa_parts k;
    rsa_key(1024, &k);
    const uint32_t id = 0xEF000050;
    /* CRT key pair: P Q DP DQ INVQ E N (tags 43..48, 4A) */
    static const uint8_t order[7] = {0, 1, 2, 3, 4, 5, 7};
    for (int i = 0; i < 7; i++) {
        int c = order[i];
        uint8_t t = (uint8_t)(c == 7 ? 0x4A : 0x43 + c);
        if (i == 3) /* not complete yet: modulus not readable */
            assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, id), 0x9000);
        assert_int_equal(rsa_write(f, i ? 0x02 : 0x62, 0x00, id, i ? 0 : 1024, t, k.v[c], k.l[c], true),
                         0x9000);
    }
    read_rsa_comp(f, id, 0x00, k.v[7], k.l[7]);
    read_rsa_comp(f, id, 0x01, k.v[5], k.l[5]);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, id), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x05);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x07, id), 0x9000);
    assert_int_equal(resp_u16(f, 0x41), 128);
    /* private exponent is never readable */
    uint8_t b[16];
    se05x_tlvw w;
    se05x_tlvw_init(&w, b, sizeof(b));
    se05x_tlvw_u32(&w, 0x41, id);
    se05x_tlvw_u8(&w, 0x44, 0x02);
    assert_int_equal(send_w(f, 0x02, 0x00, 0x00, &w), 0x6985);
    /* raw format on a CRT object -> 6985; component not in the format -> 6A80 */
    assert_int_equal(rsa_write(f, 0x02, 0x4F, id, 0, 0x49, k.v[6], k.l[6], true), 0x6985);

    /* raw key pair: E, D, N */
    const uint32_t id2 = 0xEF000051;
    assert_int_equal(rsa_write(f, 0x62, 0x4F, id2, 1024, 0x48, k.v[5], k.l[5], false), 0x9000);
    assert_int_equal(rsa_write(f, 0x02, 0x4F, id2, 0, 0x43, k.v[0], k.l[0], true), 0x6A80);
    se05x_tlvw_init(&w, b, sizeof(b));
    se05x_tlvw_u32(&w, 0x41, id2);
    se05x_tlvw_u8(&w, 0x44, 0x00);
    assert_int_equal(send_w(f, 0x02, 0x00, 0x00, &w), 0x6985); /* incomplete */
    assert_int_equal(rsa_write(f, 0x02, 0x4F, id2, 0, 0x49, k.v[6], k.l[6], true), 0x9000);
    assert_int_equal(rsa_write(f, 0x02, 0x4F, id2, 0, 0x4A, k.v[7], k.l[7], true), 0x9000);
    read_rsa_comp(f, id2, 0x00, k.v[7], k.l[7]);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, id2), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x04);

    /* public key: (0x22, size, E) then (0x02, N) */
    const uint32_t id3 = 0xEF000052;
    assert_int_equal(rsa_write(f, 0x22, 0x4F, id3, 1024, 0x48, k.v[5], k.l[5], false), 0x9000);
    assert_int_equal(rsa_write(f, 0x02, 0x4F, id3, 0, 0x4A, k.v[7], k.l[7], true), 0x9000);
    read_rsa_comp(f, id3, 0x01, k.v[5], k.l[5]);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, id3), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x08);
    /* wrong modulus length, bad size */
    assert_int_equal(rsa_write(f, 0x22, 0x4F, 0xEF000053, 2048, 0x4A, k.v[7], k.l[7], true), 0x6A80);
    assert_int_equal(rsa_write(f, 0x22, 0x4F, 0xEF000053, 1000, 0x48, k.v[5], k.l[5], true), 0x6A80);
}

static void test_rsa_generate(void **state)
{
    simfx *f = *state;
    const uint8_t *v;
    uint8_t b[16];
    se05x_tlvw w;
    assert_int_equal(rsa_write(f, 0x62, 0x00, 0xEF000060, 512, 0, NULL, 0, false), 0x9000);
    se05x_tlvw_init(&w, b, sizeof(b));
    se05x_tlvw_u32(&w, 0x41, 0xEF000060);
    se05x_tlvw_u8(&w, 0x44, 0x00);
    assert_int_equal(send_w(f, 0x02, 0x00, 0x00, &w), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 64);
    assert_true(v[0] & 0x80);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x3B, 0xEF000060), 0x9000);
    int n = tu_resp_tlv(f, 0x43, &v);
    assert_int_equal(v[n - 5], 0x02);
    assert_int_equal(rsa_write(f, 0x62, 0x4F, 0xEF000061, 1024, 0, NULL, 0, false), 0x9000);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, 0xEF000061), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x04);
    /* generating a public key makes no sense */
    assert_int_equal(rsa_write(f, 0x22, 0x4F, 0xEF000062, 1024, 0, NULL, 0, false), 0x6A80);
}

/* ---- binary, counter, symmetric, UserID, PCR -------------------------------- */

static void test_binary_chunks(void **state)
{
    simfx *f = *state;
    uint8_t data[1200], b[600];
    const uint8_t *v;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 3);
    static const uint8_t pol[9] = {0x08, 0, 0, 0, 0, 0x00, 0x38, 0x00, 0x00};
    for (uint16_t off = 0; off < sizeof(data); off += 500) {
        uint16_t n = (uint16_t)(sizeof(data) - off < 500 ? sizeof(data) - off : 500);
        se05x_tlvw w;
        se05x_tlvw_init(&w, b, sizeof(b));
        if (off == 0)
            se05x_tlvw_bytes(&w, 0x11, pol, sizeof(pol));
        else
            se05x_tlvw_bytes(&w, 0x15, pol, sizeof(pol));
        se05x_tlvw_u32(&w, 0x41, 0xEF000070);
        se05x_tlvw_u16_opt(&w, 0x42, off);
        if (off == 0)
            se05x_tlvw_u16(&w, 0x43, sizeof(data));
        se05x_tlvw_bytes(&w, 0x44, data + off, n);
        se05x_tlvw_u32(&w, 0x4B, 0);
        assert_int_equal(send_w(f, 0x01, 0x06, 0x00, &w), 0x9000);
    }
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x07, 0xEF000070), 0x9000);
    assert_int_equal(resp_u16(f, 0x41), sizeof(data));
    for (uint16_t off = 0; off < sizeof(data); off += 500) {
        uint16_t n = (uint16_t)(sizeof(data) - off < 500 ? sizeof(data) - off : 500);
        assert_int_equal(read_obj(f, 0xEF000070, off, n), 0x9000);
        assert_int_equal(tu_resp_tlv(f, 0x41, &v), n);
        assert_memory_equal(v, data + off, n);
    }
    assert_int_equal(read_obj(f, 0xEF000070, 0, 0), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), sizeof(data));
    /* beyond the end */
    assert_int_equal(tu_tx(f, "80010600 0E 4104EF000070 420204B0 44020102"), 0x6A80);
    assert_int_equal(read_obj(f, 0xEF000070, 1100, 101), 0x6A80);
    assert_int_equal(read_obj(f, 0xEF000070, 1201, 0), 0x6A80);
    /* policy check that does not match */
    assert_int_equal(tu_tx(f, "80010600 19 1509 08 00000000 00300000 4104EF000070 42020000 44020102"),
                     0x6985);
    /* creation without length, or too long */
    assert_int_equal(tu_tx(f, "80010600 0A 4104EF000071 44020102"), 0x6A80);
    assert_int_equal(tu_tx(f, "80010600 0A 4104EF000071 43028000"), 0x6A80);
    assert_int_equal(tu_tx(f, "80010600 0E 4104EF000071 43020001 44020102"), 0x6A80);
}

static void test_counter(void **state)
{
    simfx *f = *state;
    const uint8_t *v;
    assert_int_equal(tu_tx(f, "80010800 0A 4104EF000080 42020004"), 0x9000);
    assert_int_equal(read_obj(f, 0xEF000080, 0, 0), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 4);
    assert_int_equal(se05x_get_u32(v), 0);
    assert_int_equal(tu_tx(f, "80010800 06 4104EF000080"), 0x9000);
    assert_int_equal(tu_tx(f, "80010800 06 4104EF000080"), 0x9000);
    assert_int_equal(read_obj(f, 0xEF000080, 0, 0), 0x9000);
    tu_resp_tlv(f, 0x41, &v);
    assert_int_equal(se05x_get_u32(v), 2);
    assert_int_equal(tu_tx(f, "80010800 0C 4104EF000080 430400000100"), 0x9000);
    assert_int_equal(tu_tx(f, "80010800 0C 4104EF000080 430400000050"), 0x6A80); /* decrease */
    assert_int_equal(tu_tx(f, "80010800 0B 4104EF000080 4303000001"), 0x6A80);   /* length */
    assert_int_equal(tu_tx(f, "80010800 0C 4104EF000080 4304FFFFFFFF"), 0x9000);
    assert_int_equal(tu_tx(f, "80010800 06 4104EF000080"), 0x9000);               /* saturates */
    assert_int_equal(read_obj(f, 0xEF000080, 0, 0), 0x9000);
    tu_resp_tlv(f, 0x41, &v);
    assert_int_equal(se05x_get_u32(v), 0xFFFFFFFF);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x07, 0xEF000080), 0x9000);
    assert_int_equal(resp_u16(f, 0x41), 4);
    assert_int_equal(tu_tx(f, "80010800 0A 4104EF000081 42020009"), 0x6A80);
    assert_int_equal(tu_tx(f, "80010800 06 4104EF000081"), 0x6A80);
}

static void test_symm_userid_pcr(void **state)
{
    simfx *f = *state;
    const uint8_t *v;
    assert_int_equal(tu_tx(f, "80010300 18 4104EF000090 4310 000102030405060708090A0B0C0D0E0F"), 0x9000);
    assert_int_equal(read_obj(f, 0xEF000090, 0, 0), 0x6985);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x07, 0xEF000090), 0x9000);
    assert_int_equal(resp_u16(f, 0x41), 16);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, 0xEF000090), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x09);
    assert_int_equal(tu_tx(f, "80010300 17 4104EF000091 430F 000102030405060708090A0B0C0D0E"), 0x6A80);
    /* HMAC key into the AES object -> type mismatch */
    assert_int_equal(tu_tx(f, "80010500 0A 4104EF000090 43020102"), 0x6985);
    assert_int_equal(tu_tx(f, "80010500 0A 4104EF000092 43020102"), 0x9000);
    /* KEK: unwrap failure with garbage */
    assert_int_equal(tu_tx(f, "80010300 26 4104EF000093 4204EF000090 4318 000102030405060708090A0B"
                              "0C0D0E0F1011121314151617"), 0x6A80);
    /* AESKey authentication object with max attempts */
    assert_int_equal(tu_tx(f, "80410300 1C 12020005 41047DA00002 4310 404142434445464748494A4B4C4D4E4F"),
                     0x9000);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x3B, 0x7DA00002), 0x9000);
    tu_resp_tlv(f, 0x43, &v);
    assert_int_equal(v[5], 0x02);
    assert_int_equal(se05x_get_u16(v + 12), 5);
    /* max attempts on a non-auth object */
    assert_int_equal(tu_tx(f, "80010300 1C 12020005 41047DA00003 4310 404142434445464748494A4B4C4D4E4F"),
                     0x6A80);
    /* UserID 4..16 bytes */
    assert_int_equal(tu_tx(f, "80410700 0D 41047DA00001 4205C001020304"), 0x9000);
    assert_int_equal(read_obj(f, 0x7DA00001, 0, 0), 0x6985);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x07, 0x7DA00001), 0x6985);
    assert_int_equal(tu_tx(f, "80410700 0B 41047DA00004 4203C00102"), 0x6A80);
    assert_int_equal(tu_tx(f, "80010700 0D 41047DA00004 4205C001020304"), 0x9000);
    /* PCR: create, extend, reset */
    assert_int_equal(tu_tx(f, "80010900 28 4104EF0000A0 4220 0000000000000000000000000000000000000000000000000000000000000000"),
                     0x9000);
    assert_int_equal(tu_tx(f, "80010900 0B 4104EF0000A0 4303 616263"), 0x9000);
    assert_int_equal(read_obj(f, 0xEF0000A0, 0, 0), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 32);
    assert_int_not_equal(v[0] | v[1] | v[2], 0);
    assert_int_equal(tu_tx(f, "80010900 06 4104EF0000A0"), 0x9000);
    assert_int_equal(read_obj(f, 0xEF0000A0, 0, 0), 0x9000);
    tu_resp_tlv(f, 0x41, &v);
    assert_int_equal(v[0] | v[31], 0);
}

static void test_curves(void **state)
{
    simfx *f = *state;
    const uint8_t *v;
    assert_int_equal(tu_tx(f, "80010B04 03 410103"), 0x6985); /* exists */
    assert_int_equal(tu_tx(f, "80010B04 03 410104"), 0x9000);
    assert_int_equal(tu_tx(f, "80016100 09 4104EF0000B0 420104"), 0x6985); /* not SET */
    assert_int_equal(tu_tx(f, "80010B40 03 410105"), 0x6A80);
    /* A, B, G, N, prime for P-384 (lengths checked) */
    char cmd[512], val[300];
    static const uint8_t params[5] = {0x01, 0x02, 0x04, 0x08, 0x10};
    static const size_t lens[5] = {48, 48, 97, 48, 48};
    for (int i = 0; i < 5; i++) {
        memset(val, 'A', 2 * lens[i]);
        val[2 * lens[i]] = 0;
        snprintf(cmd, sizeof(cmd), "80010B40 %02zX 410104 4201%02X 43%02zX%s", 3 + 3 + 2 + lens[i],
                 params[i], lens[i], val);
        if (i == 2) {
            /* wrong G length first */
            char bad[512];
            snprintf(bad, sizeof(bad), "80010B40 %02zX 410104 4201%02X 43%02zX%s", (size_t)(3 + 3 + 2 + 48),
                     params[i], (size_t)48, val + 98);
            assert_int_equal(tu_tx(f, bad), 0x6A80);
        }
        assert_int_equal(tu_tx(f, cmd), 0x9000);
    }
    assert_int_equal(tu_tx(f, "80020B2500"), 0x9000);
    tu_resp_tlv(f, 0x41, &v);
    assert_int_equal(v[3], 0x02);
    assert_int_equal(tu_tx(f, "80016100 09 4104EF0000B0 420104"), 0x9000);
    assert_int_equal(read_obj(f, 0xEF0000B0, 0, 0), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x41, &v), 97);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, 0xEF0000B0), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x2D);
    /* curve in use */
    assert_int_equal(tu_tx(f, "80040B28 03 410104"), 0x6985);
    assert_int_equal(simple_id_cmd(f, 0x04, 0x00, 0x28, 0xEF0000B0), 0x9000);
    assert_int_equal(tu_tx(f, "80040B28 03 410104"), 0x9000);
    assert_int_equal(tu_tx(f, "80040B28 03 410104"), 0x6985);
    assert_int_equal(tu_tx(f, "80010B04 03 410177"), 0x6A80);
    /* internal curve records are invisible */
    assert_int_equal(tu_tx(f, "80040027 06 41047FFFFC03"), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x02);
    assert_int_equal(read_obj(f, 0x7FFFFC03, 0, 0), 0x6985);
    assert_int_equal(tu_tx(f, "80010600 0A 41047FFFFC03 43020001"), 0x6985);
}

static void test_delete(void **state)
{
    simfx *f = *state;
    assert_int_equal(simple_id_cmd(f, 0x04, 0x00, 0x28, 0xEF0000C0), 0x6985);
    assert_int_equal(tu_tx(f, "80010600 0A 4104EF0000C0 43020001"), 0x9000);
    assert_int_equal(simple_id_cmd(f, 0x04, 0x00, 0x28, 0xEF0000C0), 0x9000);
    assert_int_equal(simple_id_cmd(f, 0x04, 0x00, 0x27, 0xEF0000C0), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x02);
    assert_int_equal(simple_id_cmd(f, 0x04, 0x00, 0x28, 0x7FFF0206), 0x6985);
}

static void test_transient(void **state)
{
    simfx *f = *state;
    assert_int_equal(tu_tx(f, "80810600 0E 4104EF0000D0 43020002 4402ABCD"), 0x9000);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, 0xEF0000D0), 0x9000);
    assert_int_equal(resp_u8(f, 0x42), 0x02);
    assert_int_equal(read_obj(f, 0xEF0000D0, 0, 0), 0x9000);
    /* an update of a transient object stays transient */
    assert_int_equal(tu_tx(f, "80010600 0A 4104EF0000D0 44020102"), 0x9000);
    sesim_chan_reset(f->ch);
    tu_select(f);
    assert_int_equal(simple_id_cmd(f, 0x04, 0x00, 0x27, 0xEF0000D0), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x02);
}

static void test_memory_limit(void **state)
{
    simfx *f = *state;
    tu_close(f);
    sesim_opts o = tu_opts();
    tu_open(f, &o);
    size_t base = sesim_store_used(f->s); /* whatever the factory left */
    tu_close(f);
    o.persistent_mem = base + 4096;
    tu_open(f, &o);
    tu_select(f);
    assert_int_equal(tu_tx(f, "80040022 03 410101"), 0x9000);
    uint16_t free0 = resp_u16(f, 0x41);
    assert_int_equal(free0, 4096);
    assert_int_equal(tu_tx(f, "80010600 0A 4104EF0000E0 43020400"), 0x9000);
    assert_int_equal(tu_tx(f, "80040022 03 410101"), 0x9000);
    assert_true(resp_u16(f, 0x41) <= free0 - 1024);
    assert_int_equal(tu_tx(f, "80010600 0A 4104EF0000E1 43020C00"), 0x6A84);
    assert_int_equal(simple_id_cmd(f, 0x04, 0x00, 0x27, 0xEF0000E1), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x02);
    /* a key does not fit either; a small object still does */
    assert_int_equal(tu_tx(f, "80010600 0A 4104EF0000E2 43020AC0"), 0x9000);
    assert_int_equal(tu_tx(f, "80016100 09 4104EF0000E3 420103"), 0x6A84);
    assert_int_equal(tu_tx(f, "80010600 0A 4104EF0000E4 43020010"), 0x9000);
    /* the limit holds after reopening */
    tu_close(f);
    tu_open(f, &o);
    tu_select(f);
    assert_int_equal(tu_tx(f, "80010600 0A 4104EF0000E5 43020800"), 0x6A84);
}

static void test_profile3_types(void **state)
{
    simfx *f = *state;
    tu_close(f);
    sesim_opts o = tu_opts();
    o.applet_major = 3;
    tu_open(f, &o);
    tu_select(f);
    assert_int_equal(tu_tx(f, "80016100 09 4104EF0000F0 420103"), 0x9000);
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x26, 0xEF0000F0), 0x9000);
    assert_int_equal(resp_u8(f, 0x41), 0x01);
    const uint8_t *v;
    assert_int_equal(simple_id_cmd(f, 0x02, 0x00, 0x3B, 0xEF0000F0), 0x9000);
    assert_int_equal(tu_resp_tlv(f, 0x42, &v), 14 + 1 + 1);
    assert_int_equal(tu_tx(f, "80020025 07 4102000042010100"), 0x9000);
    int l = tu_resp_tlv(f, 0x42, &v);
    assert_true(l >= 4 && l % 4 == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ec_import_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ec_generate_and_private_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_all_keeps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idlist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_generate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symm_userid_pcr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_curves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile3_types, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
