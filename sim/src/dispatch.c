/* Command dispatcher of the simulator: decodes one (already unwrapped)
 * command APDU, answers SELECT and GET DATA itself (applet, card manager,
 * CPLC), then walks the handler tables (objects, crypto, session, and the
 * attestation table of cmd_attest.c) and calls the first matching row with the
 * payload TLVs parsed strictly (ascending, no duplicates, only the row's
 * tags). Status-word choices are documented in docs/simulator.md:
 * malformed APDU or Lc > SE05X_MAX_CMD_DATA -> 6700, bad CLA -> 6E00,
 * applet command before SELECT -> 6D00 (the card manager answers),
 * unknown INS -> 6D00, known INS with unknown P1/P2 -> 6A86, TLV error ->
 * 6A80, response too large -> 6700. Le is never enforced (T=1 does not
 * either), so every ISO case is accepted. */
#include <openssl/evp.h>
#include <string.h>

#include "sim_internal.h"

static const uint8_t IOT_AID[16] = {0xA0, 0x00, 0x00, 0x03, 0x96, 0x54, 0x53, 0x00,
                                    0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00};

/* Applet features (spec §2.10): ECDSA/ECDH, EdDSA, DH Montgomery, HMAC,
 * RSA plain + CRT, AES, DES, PBKDF, FIPS mode disabled. */
#define APPLET_CONFIG 0x13FEu


void sesim_version_info(const sesim *s, uint8_t out[7])
{
    if (s->opts.applet_major == 3) {
        out[0] = 3; out[1] = 5; out[2] = 0;
    } else {
        out[0] = 7; out[1] = 2; out[2] = 0;
    }
    se05x_put_u16(out + 3, APPLET_CONFIG);
    out[5] = 1; /* SecureBox 1.0 */
    out[6] = 0;
}

static size_t sw_only(uint8_t *rapdu, uint16_t sw)
{
    se05x_put_u16(rapdu, sw);
    return 2;
}

static size_t with_data(uint8_t *rapdu, size_t cap, const uint8_t *d, size_t n)
{
    if (n + 2 > cap)
        return sw_only(rapdu, SE05X_SW_WRONG_LENGTH);
    memmove(rapdu, d, n);
    se05x_put_u16(rapdu + n, SE05X_SW_OK);
    return n + 2;
}

static size_t do_select(sesim_chan *ch, const se05x_apdu *a, uint8_t *rapdu, size_t cap)
{
    if (a->p1 != 0x04 || (a->p2 != 0x00 && a->p2 != 0x0C))
        return sw_only(rapdu, SE05X_SW_WRONG_P1P2);
    /* Sessions / secure channels are secure.c's: it sees the SELECT pass
     * through and drops its own state (not done here, to avoid freeing
     * state the caller may still hold). */
    if (a->lc == 0) { /* card manager (issuer security domain) */
        ch->selected = false;
        return sw_only(rapdu, SE05X_SW_OK);
    }
    if (a->lc != sizeof(IOT_AID) || memcmp(a->data, IOT_AID, sizeof(IOT_AID)) != 0) {
        ch->selected = false;
        return sw_only(rapdu, SE05X_SW_FILE_NOT_FOUND);
    }
    ch->selected = true;
    uint8_t v[7];
    sesim_version_info(ch->sim, v);
    if (a->p2 == 0x0C)
        return sw_only(rapdu, SE05X_SW_OK);
    return with_data(rapdu, cap, v, sizeof(v));
}

/* CPLC (GlobalPlatform, 42 bytes), stable per card: derived from the UID. */
static size_t do_cplc(sesim_chan *ch, uint8_t *rapdu, size_t cap)
{
    const uint8_t *uid = ch->sim->uid;
    uint8_t h[32], d[45];
    unsigned int hl = 0;
    if (EVP_Digest(uid, 18, h, &hl, EVP_sha256(), NULL) != 1)
        return sw_only(rapdu, SE05X_SW_NO_DIAGNOSIS);
    d[0] = 0x9F; d[1] = 0x7F; d[2] = 42;
    uint8_t *c = d + 3;
    c[0] = 0x47; c[1] = 0x90;          /* IC fabricator: NXP */
    c[2] = uid[2]; c[3] = uid[3];      /* IC type */
    c[4] = 0x47; c[5] = 0x00;          /* OS id */
    c[6] = 0x10; c[7] = 0x01;          /* OS release date (YDDD) */
    c[8] = 0x07; c[9] = 0x02;          /* OS release level */
    c[10] = h[0]; c[11] = h[1];        /* IC fabrication date */
    memcpy(c + 12, uid + 10, 4);       /* IC serial number */
    memcpy(c + 16, uid + 14, 2);       /* IC batch id */
    memcpy(c + 18, h + 2, 24);         /* module fab/packaging/embedding/perso data */
    return with_data(rapdu, cap, d, sizeof(d));
}

static bool row_matches_ins(const sesim_cmd *c, uint8_t ins)
{
    return (ins & c->ins_mask) == c->ins;
}

static bool row_matches(const sesim_cmd *c, const se05x_apdu *a)
{
    return row_matches_ins(c, a->ins) && (a->p1 & c->p1_mask) == c->p1 && a->p2 == c->p2;
}

/* First matching row; *ins_known tells whether any row knows the INS. */
static const sesim_cmd *find_row(const se05x_apdu *a, bool *ins_known)
{
    const sesim_cmd *tables[] = {sesim_cmds_objects, sesim_cmds_crypto, sesim_cmds_session,
                                 sesim_cmds_attest};
    *ins_known = false;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (const sesim_cmd *c = tables[t]; c->fn; c++) {
            if (row_matches(c, a))
                return c;
            if (row_matches_ins(c, a->ins))
                *ins_known = true;
        }
    }
    return NULL;
}

static size_t run_handler(sesim_chan *ch, const sesim_cmd *c, const se05x_apdu *a,
                          uint32_t auth_id, bool sm, uint8_t *rapdu, size_t cap)
{
    se05x_tlv_set set;
    if (!c->allowed_tags) /* raw payload (e.g. SCP handshake): handler parses it */
        memset(&set, 0, sizeof(set));
    else if (se05x_tlv_parse_set(a->data, a->lc, c->allowed_tags, true, &set) != SE05X_OK)
        return sw_only(rapdu, SE05X_SW_WRONG_DATA);
    se05x_tlvw w;
    size_t ocap = (cap < SE05X_APDU_MAX ? cap : SE05X_APDU_MAX) - 2;
    se05x_tlvw_init(&w, rapdu, ocap);
    sesim_req r = {ch, ch->sim, a, &set, auth_id, sm, &w};
    uint16_t sw = c->fn(&r);
    if (sw != SE05X_SW_OK)
        return sw_only(rapdu, sw);
    if (se05x_tlvw_status(&w) != SE05X_OK)
        return sw_only(rapdu, SE05X_SW_WRONG_LENGTH);
    se05x_put_u16(rapdu + w.len, SE05X_SW_OK);
    return w.len + 2;
}

size_t sesim_dispatch(sesim_chan *ch, const uint8_t *capdu, size_t len, uint32_t auth_id,
                      bool secure_messaging, uint8_t *rapdu, size_t cap)
{
    se05x_apdu a;
    if (!ch || !rapdu || cap < 2)
        return 0;
    if (!capdu || se05x_apdu_decode(capdu, len, &a) != SE05X_OK || a.lc > SE05X_MAX_CMD_DATA)
        return sw_only(rapdu, SE05X_SW_WRONG_LENGTH);
    if (a.cla != 0x00 && a.cla != 0x80 && a.cla != 0x84)
        return sw_only(rapdu, SE05X_SW_CLA_NOT_SUPPORTED);
    if (a.ins == 0xA4) {
        if (a.cla != 0x00)
            return sw_only(rapdu, SE05X_SW_CLA_NOT_SUPPORTED);
        return do_select(ch, &a, rapdu, cap);
    }
    if (a.ins == 0xCA) {
        if (a.p1 == 0x9F && a.p2 == 0x7F)
            return do_cplc(ch, rapdu, cap);
        return sw_only(rapdu, SE05X_SW_REF_NOT_FOUND);
    }
    if (a.cla == 0x00)
        return sw_only(rapdu, SE05X_SW_INS_NOT_SUPPORTED);
    if (!ch->selected)
        return sw_only(rapdu, SE05X_SW_INS_NOT_SUPPORTED);
    bool ins_known;
    const sesim_cmd *c = find_row(&a, &ins_known);
    if (!c)
        return sw_only(rapdu, ins_known ? SE05X_SW_WRONG_P1P2 : SE05X_SW_INS_NOT_SUPPORTED);
    return run_handler(ch, c, &a, auth_id, secure_messaging, rapdu, cap);
}
