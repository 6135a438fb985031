/* Unit tests of the simulator's factory provisioning (factory.c) and
 * attested reads (cmd_attest.c): the factory certificates chain to
 * DIR/factory-ca.pem and match their key pairs, the reserved objects have
 * the documented content and policies, and attested reads (7.x and 3.x
 * layouts) carry a signature that verifies with the attestation key. */
#include "test_simcrypto_util.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static tfx *g_fx;

static const uint8_t FRESH[16] = {0xF0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* ---- helpers ----------------------------------------------------------------------- */

static sesim_obj load(tfx *f, uint32_t id)
{
    sesim_obj o;
    sesim_obj_init(&o);
    assert_int_equal(sesim_store_load(f->s, id, &o), SE05X_OK);
    return o;
}

typedef struct {
    char p[1024];
} pathbuf;

static pathbuf path_of(tfx *f, const char *name)
{
    pathbuf b;
    snprintf(b.p, sizeof(b.p), "%s/%s", f->dir, name);
    return b;
}

#define path_in(f, name) (path_of((f), (name)).p)

static X509 *read_ca(tfx *f)
{
    FILE *fp = fopen(path_in(f, "factory-ca.pem"), "r");
    assert_non_null(fp);
    X509 *ca = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(ca);
    return ca;
}

static X509 *cert_object(tfx *f, uint32_t id)
{
    sesim_obj o = load(f, id);
    assert_int_equal(o.type, SESIM_T_BINARY);
    const unsigned char *p = o.comp[SESIM_C_VALUE].v;
    X509 *x = d2i_X509(NULL, &p, (long)o.comp[SESIM_C_VALUE].len);
    assert_non_null(x);
    assert_ptr_equal(p, o.comp[SESIM_C_VALUE].v + o.comp[SESIM_C_VALUE].len);
    sesim_obj_free(&o);
    return x;
}

static void uid_hex(tfx *f, char out[37])
{
    sesim_obj u = load(f, 0x7FFF0206);
    assert_int_equal(u.comp[SESIM_C_VALUE].len, 18);
    assert_memory_equal(u.comp[SESIM_C_VALUE].v, f->s->uid, 18);
    for (int i = 0; i < 18; i++)
        snprintf(out + 2 * i, 3, "%02X", u.comp[SESIM_C_VALUE].v[i]);
    sesim_obj_free(&u);
}

static uint32_t user0_rules(const sesim_obj *o)
{
    assert_true(o->policy_len >= 9);
    assert_int_equal(o->policy[0], 8);
    assert_int_equal(se05x_get_u32(o->policy + 1), 0);
    return se05x_get_u32(o->policy + 5);
}

/* ---- factory ------------------------------------------------------------------------- */

static void check_pair_and_cert(tfx *f, X509 *ca, uint32_t kid, uint32_t cid, const char *uid,
                                bool client_auth)
{
    sesim_obj k = load(f, kid);
    assert_int_equal(k.origin, SESIM_ORIGIN_PROVISIONED);
    uint32_t rules = user0_rules(&k);
    assert_true(rules & SESIM_AR_SIGN);
    assert_false(rules & (SESIM_AR_DELETE | SESIM_AR_WRITE));
    EVP_PKEY *kp = sesim_obj_to_pkey(&k);
    assert_non_null(kp);

    X509 *x = cert_object(f, cid);
    /* issued and signed by the factory CA */
    assert_int_equal(X509_check_issued(ca, x), X509_V_OK);
    EVP_PKEY *capub = X509_get0_pubkey(ca);
    assert_int_equal(X509_verify(x, capub), 1);
    /* certifies the key pair's public key */
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), kp), 1);
    /* subject CN = UID hex, version 3, 10+ years */
    char cn[128];
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                          sizeof(cn)) > 0);
    assert_string_equal(cn, uid);
    assert_int_equal(X509_get_version(x), 2);
    int days = 0, secs = 0;
    assert_int_equal(
        ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
    assert_true(days >= 3650);
    if (client_auth)
        assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);

    /* full chain validation with a store holding only the factory CA */
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(st, ca);
    assert_int_equal(X509_STORE_CTX_init(ctx, st, x, NULL), 1);
    if (client_auth)
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    assert_int_equal(X509_verify_cert(ctx), 1);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);

    sesim_obj c = load(f, cid);
    assert_int_equal(c.origin, SESIM_ORIGIN_PROVISIONED);
    assert_int_equal(user0_rules(&c), SESIM_AR_READ);
    sesim_obj_free(&c);
    X509_free(x);
    EVP_PKEY_free(kp);
    sesim_obj_free(&k);
}

static void test_factory_certs(void **state)
{
    (void)state;
    tfx *f = g_fx;
    char uid[37];
    uid_hex(f, uid);
    X509 *ca = read_ca(f);
    char cn[128], want[128];
    X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof(cn));
    snprintf(want, sizeof(want), "se05x-sim factory root CA %s", uid);
    assert_string_equal(cn, want);
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_verify(ca, X509_get0_pubkey(ca)), 1);

    check_pair_and_cert(f, ca, 0xF0000000, 0xF0000001, uid, true);
    check_pair_and_cert(f, ca, 0xF0000004, 0xF0000005, uid, true);
    check_pair_and_cert(f, ca, 0xF0000012, 0xF0000013, uid, false);

    sesim_obj o = load(f, 0xF0000000);
    assert_int_equal(o.type, SESIM_T_EC_PAIR);
    assert_int_equal(o.curve, 0x03);
    sesim_obj_free(&o);
    o = load(f, 0xF0000004);
    assert_int_equal(o.type, SESIM_T_RSA_PAIR_CRT);
    assert_int_equal(o.comp[SESIM_C_N].len, 256);
    assert_int_equal(o.comp[SESIM_C_P].len, 128);
    sesim_obj_free(&o);
    o = load(f, 0xF0000012);
    assert_true(user0_rules(&o) & SESIM_AR_ATTEST);
    sesim_obj_free(&o);

    /* the CA key file matches the CA certificate and is private */
    FILE *fp = fopen(path_in(f, "factory-ca-key.pem"), "r");
    assert_non_null(fp);
    EVP_PKEY *cakey = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(cakey);
    assert_int_equal(X509_check_private_key(ca, cakey), 1);
    struct stat st;
    assert_int_equal(stat(path_in(f, "factory-ca-key.pem"), &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
    EVP_PKEY_free(cakey);
    X509_free(ca);
}

static void test_factory_reserved(void **state)
{
    (void)state;
    tfx *f = g_fx;
    /* UID object: 18 bytes, read-only, provisioned */
    sesim_obj o = load(f, 0x7FFF0206);
    assert_int_equal(o.type, SESIM_T_BINARY);
    assert_int_equal(o.origin, SESIM_ORIGIN_PROVISIONED);
    assert_int_equal(user0_rules(&o), SESIM_AR_READ);
    sesim_obj_free(&o);

    /* EdgeLock 2GO ECKey auth object: public key only, private half in a file */
    o = load(f, 0xF0000020);
    assert_true(o.auth);
    assert_int_equal(o.type, SESIM_T_EC_PUB);
    assert_null(o.comp[SESIM_C_PRIV].v);
    EVP_PKEY *pub = sesim_obj_to_pkey(&o);
    sesim_obj_free(&o);
    FILE *fp = fopen(path_in(f, "el2go-auth-key.pem"), "r");
    assert_non_null(fp);
    EVP_PKEY *priv = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(priv);
    assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(priv);

    /* KP_ECKEY_USER and FACTORY_RESET */
    o = load(f, 0x7FFF0201);
    assert_int_equal(o.type, SESIM_T_EC_PAIR);
    assert_int_equal(o.curve, 0x03);
    sesim_obj_free(&o);
    o = load(f, 0x7FFF0205);
    assert_true(o.auth);
    assert_int_equal(o.type, SESIM_T_USERID);
    assert_int_equal(o.comp[SESIM_C_VALUE].len, 16);
    assert_memory_equal(o.comp[SESIM_C_VALUE].v, "se05x-sim-reset!", 16);
    sesim_obj_free(&o);

    /* no temporary files left behind */
    assert_int_not_equal(access(path_in(f, ".factory-ca.pem.tmp"), F_OK), 0);
}

/* ---- attestation --------------------------------------------------------------------- */

static void attest_cmd(tfx *f, uint32_t id, uint32_t key, uint8_t algo, size_t freshlen)
{
    se05x_tlvw *w = tfx_begin(f);
    se05x_tlvw_u32(w, SE05X_TAG_1, id);
    se05x_tlvw_u32(w, SE05X_TAG_5, key);
    se05x_tlvw_u8(w, SE05X_TAG_6, algo);
    se05x_tlvw_bytes(w, SE05X_TAG_7, FRESH, freshlen);
}

static void verify_sig(EVP_PKEY *k, const uint8_t *msg, size_t ml, const uint8_t *sig, size_t sl)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, "SHA256", NULL, NULL, k, NULL), 1);
    assert_int_equal(EVP_DigestVerify(m, sig, sl, msg, ml), 1);
    EVP_MD_CTX_free(m);
}

/* Check a 7.x attested response in f->out; returns TAG_1 presence. */
static bool check_v7(tfx *f, EVP_PKEY *attest_pub, bool expect_data)
{
    /* every TLV uses the 82 HH LL form */
    size_t p = 0;
    while (p < f->outlen) {
        assert_int_equal(f->out[p + 1], 0x82);
        p += 4 + se05x_get_u16(f->out + p + 2);
    }
    assert_int_equal(p, f->outlen);
    se05x_tlv_expect_t e[6] = {
        {SE05X_TAG_1, SE05X_TLV_OPTIONAL, 0, 0}, {SE05X_TAG_2, 0, 18, 18},
        {SE05X_TAG_3, 0, 1, 0},                 {SE05X_TAG_4, 0, 2, 2},
        {SE05X_TAG_TIMESTAMP, 0, 12, 12},       {SE05X_TAG_SIGNATURE, 0, 8, 0},
    };
    se05x_tlv_item it[6];
    assert_int_equal(se05x_tlv_expect(f->out, f->outlen, e, 6, it), SE05X_OK);
    assert_int_equal(it[0].present, expect_data);
    assert_memory_equal(it[1].val, f->s->uid, 18);
    /* message = SHA-256(80 22 P1 P2 00 00 Lc payload) || TLVs 41..4F */
    uint8_t cmd[600], h[32];
    unsigned int hl = 0;
    const uint8_t hdr[7] = {0x80, 0x22, f->apdu.p1, f->apdu.p2, 0x00, 0x00, (uint8_t)f->apdu.lc};
    memcpy(cmd, hdr, 7);
    memcpy(cmd + 7, f->apdu.data, f->apdu.lc);
    EVP_Digest(cmd, 7 + f->apdu.lc, h, &hl, EVP_sha256(), NULL);
    size_t tlvs = (size_t)(it[5].val - 4 - f->out);
    uint8_t *msg = malloc(32 + tlvs);
    memcpy(msg, h, 32);
    memcpy(msg + 32, f->out, tlvs);
    verify_sig(attest_pub, msg, 32 + tlvs, it[5].val, it[5].len);
    free(msg);
    return it[0].present;
}

static EVP_PKEY *attest_pub(tfx *f)
{
    X509 *x = cert_object(f, 0xF0000013);
    EVP_PKEY *k = X509_get_pubkey(x);
    X509_free(x);
    return k;
}

static void test_attest_v7(void **state)
{
    (void)state;
    tfx *f = g_fx;
    EVP_PKEY *ak = attest_pub(f);

    /* certificate object: data included and equal to the stored DER */
    attest_cmd(f, 0xF0000001, 0xF0000012, 0x21, 16);
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x9000);
    assert_true(check_v7(f, ak, true));
    sesim_obj c = load(f, 0xF0000001);
    se05x_tlv_item first;
    se05x_tlv_expect_t e1 = {SE05X_TAG_1, 0, 0, 0};
    size_t l1 = 4 + se05x_get_u16(f->out + 2);
    assert_int_equal(se05x_tlv_expect(f->out, l1, &e1, 1, &first), SE05X_OK);
    assert_int_equal(first.len, c.comp[SESIM_C_VALUE].len);
    assert_memory_equal(first.val, c.comp[SESIM_C_VALUE].v, first.len);
    sesim_obj_free(&c);

    /* EC key pair: the public key is returned */
    attest_cmd(f, 0xF0000000, 0xF0000012, 0x21, 16);
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x9000);
    assert_true(check_v7(f, ak, true));
    assert_int_equal(se05x_get_u16(f->out + 2), 65);

    /* symmetric key: not readable, no TAG_1, still attested */
    uint8_t aes[16] = {0};
    tfx_put_value(f, 0x3001, SESIM_T_AES, aes, 16);
    attest_cmd(f, 0x3001, 0xF0000012, 0x21, 16);
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x9000);
    assert_false(check_v7(f, ak, false));

    /* attested attributes: no TAG_1 */
    attest_cmd(f, 0xF0000000, 0xF0000012, 0x21, 16);
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x3B), 0x9000);
    assert_false(check_v7(f, ak, false));

    /* two reads: timestamps differ and increase */
    attest_cmd(f, 0x7FFF0206, 0xF0000012, 0x21, 16);
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x9000);
    uint8_t t1[12], t2[12];
    size_t p = f->outlen;
    se05x_tlv_expect_t e[6] = {
        {SE05X_TAG_1, 0, 0, 0}, {SE05X_TAG_2, 0, 0, 0}, {SE05X_TAG_3, 0, 0, 0},
        {SE05X_TAG_4, 0, 0, 0}, {SE05X_TAG_TIMESTAMP, 0, 0, 0}, {SE05X_TAG_SIGNATURE, 0, 0, 0}};
    se05x_tlv_item it[6];
    assert_int_equal(se05x_tlv_expect(f->out, p, e, 6, it), SE05X_OK);
    memcpy(t1, it[4].val, 12);
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x9000);
    assert_int_equal(se05x_tlv_expect(f->out, f->outlen, e, 6, it), SE05X_OK);
    memcpy(t2, it[4].val, 12);
    assert_true(memcmp(t1, t2, 12) < 0);
    EVP_PKEY_free(ak);
}

static void test_attest_v3(void **state)
{
    (void)state;
    tfx *f = g_fx;
    EVP_PKEY *ak = attest_pub(f);
    f->s->opts.applet_major = 3;
    attest_cmd(f, 0x7FFF0206, 0xF0000012, 0x21, 16);
    uint16_t sw = tfx_call(f, 0x22, 0x00, 0x00);
    f->s->opts.applet_major = 7;
    assert_int_equal(sw, 0x9000);
    se05x_tlv_expect_t e[6] = {{SE05X_TAG_1, 0, 18, 18}, {SE05X_TAG_2, 0, 1, 0},
                               {SE05X_TAG_3, 0, 12, 12}, {SE05X_TAG_4, 0, 16, 16},
                               {SE05X_TAG_5, 0, 18, 18}, {SE05X_TAG_6, 0, 8, 0}};
    se05x_tlv_item it[6];
    assert_int_equal(se05x_tlv_expect(f->out, f->outlen, e, 6, it), SE05X_OK);
    assert_memory_equal(it[0].val, f->s->uid, 18);
    assert_memory_equal(it[3].val, FRESH, 16);
    assert_memory_equal(it[4].val, f->s->uid, 18);
    uint8_t msg[512];
    size_t ml = 0;
    for (int i = 0; i < 5; i++) {
        memcpy(msg + ml, it[i].val, it[i].len);
        ml += it[i].len;
    }
    verify_sig(ak, msg, ml, it[5].val, it[5].len);
    EVP_PKEY_free(ak);
}

static void test_attest_bad(void **state)
{
    (void)state;
    tfx *f = g_fx;
    attest_cmd(f, 0xF0000001, 0xF0000012, 0x21, 15); /* freshness length */
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x6A80);
    attest_cmd(f, 0xF0000001, 0xF0000012, 0x0A, 16); /* not an ECDSA algorithm */
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x6A80);
    attest_cmd(f, 0x0BADBEEF, 0xF0000012, 0x21, 16); /* no such object */
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x6985);
    attest_cmd(f, 0xF0000001, 0xF0000020, 0x21, 16); /* public key cannot attest */
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x6985);
    attest_cmd(f, 0xF0000001, 0xF0000004, 0x21, 16); /* RSA key: not an EC attestation key */
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x6985);
    /* a key whose policy lacks ALLOW_ATTESTATION */
    EVP_PKEY *k = tfx_ec("P-256");
    tfx_put_pkey(f, 0x3002, k, 0, SESIM_AR_SIGN | SESIM_AR_READ);
    attest_cmd(f, 0xF0000001, 0x3002, 0x21, 16);
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x6986);
    EVP_PKEY_free(k);
    /* offset beyond a binary object's end */
    attest_cmd(f, 0x7FFF0206, 0xF0000012, 0x21, 16);
    tfx_begin(f);
    se05x_tlvw_u32(&f->w, SE05X_TAG_1, 0x7FFF0206);
    se05x_tlvw_u16(&f->w, SE05X_TAG_2, 19);
    se05x_tlvw_u32(&f->w, SE05X_TAG_5, 0xF0000012);
    se05x_tlvw_u8(&f->w, SE05X_TAG_6, 0x21);
    se05x_tlvw_bytes(&f->w, SE05X_TAG_7, FRESH, 16);
    assert_int_equal(tfx_call(f, 0x22, 0x00, 0x00), 0x6A80);
}

/* TAG_3 of an attested read is the object's attribute record. */
static void test_attest_attributes(void **state)
{
    (void)state;
    tfx *f = g_fx;
    uint32_t ids[] = {0xF0000000, 0x7FFF0205, 0xF0000020};
    for (int i = 0; i < 3; i++) {
        attest_cmd(f, ids[i], 0xF0000012, 0x21, 16);
        assert_int_equal(tfx_call(f, 0x22, 0x00, 0x3B), 0x9000);
        se05x_tlv_expect_t e[5] = {{SE05X_TAG_2, 0, 18, 18},   {SE05X_TAG_3, 0, 1, 0},
                                   {SE05X_TAG_4, 0, 2, 2},     {SE05X_TAG_TIMESTAMP, 0, 12, 12},
                                   {SE05X_TAG_SIGNATURE, 0, 8, 0}};
        se05x_tlv_item it[5];
        assert_int_equal(se05x_tlv_expect(f->out, f->outlen, e, 5, it), SE05X_OK);
        sesim_obj o = load(f, ids[i]);
        uint8_t a[300];
        size_t n = sesim_obj_attributes(f->s, &o, a, sizeof(a));
        assert_int_equal(it[1].len, n);
        assert_memory_equal(it[1].val, a, n);
        assert_int_equal(se05x_get_u32(it[1].val), ids[i]);
        assert_int_equal(it[1].val[5], o.auth ? 0x02 : 0x01);
        sesim_obj_free(&o);
    }
}

static int group_setup(void **state)
{
    (void)state;
    g_fx = tfx_open();
    return g_fx ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    tfx_close(g_fx);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_factory_certs), cmocka_unit_test(test_factory_reserved),
        cmocka_unit_test(test_attest_v7),     cmocka_unit_test(test_attest_v3),
        cmocka_unit_test(test_attest_bad),    cmocka_unit_test(test_attest_attributes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
