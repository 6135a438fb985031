/* Host side of SCP03 channels (spec §5): the channel object used by conn.c
 * for platform SCP03 and by session.c for AESKey sessions, the handshake
 * (INITIALIZE UPDATE / EXTERNAL AUTHENTICATE) over any carrier, opening the
 * platform channel of a connection, and the platform key file parser.
 * All cryptography is in core/scp03.c (shared with the simulator). */
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn_internal.h"
#include "se05x/scp03.h"

struct se05x_scp03_chan {
    se05x_scp03_ctx ctx;
};

se05x_status se05x_scp03_chan_wrap(se05x_scp03_chan *s, const uint8_t *capdu, size_t len,
                                   uint8_t *out, size_t cap, size_t *olen)
{
    if (!s || !capdu || !out || !olen)
        return SE05X_ERR_ARG;
    return se05x_scp03_wrap_cmd(&s->ctx, capdu, len, out, cap, olen);
}

se05x_status se05x_scp03_chan_unwrap(se05x_scp03_chan *s, const uint8_t *rapdu, size_t len,
                                     uint8_t *out, size_t cap, size_t *olen)
{
    if (!s || !rapdu || !out || !olen)
        return SE05X_ERR_ARG;
    return se05x_scp03_unwrap_rsp(&s->ctx, rapdu, len, out, cap, olen);
}

void se05x_scp03_chan_free(se05x_scp03_chan *s)
{
    if (!s)
        return;
    se05x_scp03_ctx_wipe(&s->ctx);
    free(s);
}

/* ---- handshake ------------------------------------------------------- */

static se05x_status initialize_update(se05x_conn *c, se05x_scp03_chan *ch,
                                      const se05x_scp03_static *sk, uint8_t kvn, int rule,
                                      se05x_scp03_send_fn send)
{
    uint8_t cmd[13] = {0x80, 0x50, kvn, 0x00, 0x08};
    uint8_t rsp[SE05X_APDU_MAX];
    size_t rlen = 0, dlen = 0;
    uint16_t sw = 0;
    if (RAND_bytes(cmd + 5, 8) != 1) {
        se05x_conn_seterr(c, "SCP03: no random bytes for the host challenge");
        return SE05X_ERR_CRYPTO;
    }
    se05x_status st = send(c, cmd, sizeof(cmd), rsp, sizeof(rsp), &rlen);
    if (st != SE05X_OK)
        return st;
    if (se05x_rapdu_split(rsp, rlen, &dlen, &sw) != SE05X_OK)
        return SE05X_ERR_RESPONSE;
    c->last_sw = sw;
    if (sw != SE05X_SW_OK) {
        se05x_conn_seterr(c, "SCP03: INITIALIZE UPDATE (key version 0x%02X) rejected: SW %04X (%s)",
                          kvn, sw, se05x_sw_str(sw));
        return SE05X_ERR_SCP;
    }
    st = se05x_scp03_host_iu_check(&ch->ctx, sk, cmd + 5, rsp, dlen, (se05x_scp03_rule)rule);
    if (st == SE05X_ERR_RESPONSE)
        se05x_conn_seterr(c, "SCP03: INITIALIZE UPDATE answer malformed (%zu bytes, want 29 or 32 "
                          "with SCP id 03)", dlen);
    else if (st == SE05X_ERR_SCP)
        se05x_conn_seterr(c, "SCP03: card cryptogram mismatch: the card does not hold these "
                          "static keys (key version 0x%02X); check the key file", kvn);
    if (st == SE05X_ERR_RESPONSE)
        st = SE05X_ERR_SCP;
    return st;
}

static se05x_status external_authenticate(se05x_conn *c, se05x_scp03_chan *ch,
                                          se05x_scp03_send_fn send)
{
    uint8_t cmd[21];
    uint8_t rsp[SE05X_APDU_MAX];
    size_t rlen = 0, dlen = 0;
    uint16_t sw = 0;
    se05x_status st = se05x_scp03_ext_auth_build(&ch->ctx, cmd);
    if (st != SE05X_OK)
        return st;
    st = send(c, cmd, sizeof(cmd), rsp, sizeof(rsp), &rlen);
    if (st != SE05X_OK)
        return st;
    if (se05x_rapdu_split(rsp, rlen, &dlen, &sw) != SE05X_OK)
        return SE05X_ERR_RESPONSE;
    c->last_sw = sw;
    if (sw != SE05X_SW_OK) {
        se05x_conn_seterr(c, "SCP03: EXTERNAL AUTHENTICATE rejected: SW %04X (%s)", sw,
                          se05x_sw_str(sw));
        return SE05X_ERR_SCP;
    }
    se05x_scp03_ext_auth_done(&ch->ctx);
    return SE05X_OK;
}

se05x_status se05x_scp03_chan_open(se05x_conn *c, const se05x_scp03_keys *keys, uint8_t kvn,
                                   int rule, se05x_scp03_send_fn send, se05x_scp03_chan **out)
{
    if (!c || !keys || !send || !out)
        return SE05X_ERR_ARG;
    *out = NULL;
    se05x_scp03_chan *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return SE05X_ERR_NOMEM;
    se05x_scp03_static sk;
    memcpy(sk.enc, keys->enc, 16);
    memcpy(sk.mac, keys->mac, 16);
    se05x_status st = initialize_update(c, ch, &sk, kvn, rule, send);
    OPENSSL_cleanse(&sk, sizeof(sk));
    if (st == SE05X_OK)
        st = external_authenticate(c, ch, send);
    if (st != SE05X_OK) {
        se05x_scp03_chan_free(ch);
        return st;
    }
    *out = ch;
    return SE05X_OK;
}

se05x_status se05x_conn_scp03_open(se05x_conn *c, const se05x_scp03_keys *keys, uint8_t kvn)
{
    if (!c || !keys)
        return SE05X_ERR_ARG;
    if (!kvn)
        kvn = SE05X_SCP03_KVN_DEFAULT;
    se05x_conn_lock(c);
    /* a new handshake replaces the old channel; it runs in plain */
    se05x_scp03_chan_free(c->pscp);
    c->pscp = NULL;
    if (keys != &c->scp_keys) {
        memcpy(&c->scp_keys, keys, sizeof(*keys));
        c->have_scp_keys = true;
    }
    bool selected = c->version[0] != 0;
    se05x_scp03_rule rule = selected ? se05x_scp03_rule_for_version(c->version[0], c->version[1])
                                     : SE05X_SCP03_RULE_7X;
    se05x_scp03_chan *ch = NULL;
    se05x_status st = se05x_scp03_chan_open(c, keys, kvn, rule, se05x_conn_xfer, &ch);
    if (st == SE05X_OK)
        c->pscp = ch;
    se05x_conn_unlock(c);
    return st;
}

/* ---- key file -------------------------------------------------------- */

static void kerr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void kerr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Parse exactly 32 hex digits from s (trailing blanks allowed). */
static se05x_status parse_key_hex(const char *s, uint8_t out[16], const char **why)
{
    size_t n = 0;
    while (s[n] && !isspace((unsigned char)s[n]))
        n++;
    for (size_t i = n; s[i]; i++) {
        if (!isspace((unsigned char)s[i])) {
            *why = "unexpected text after the key";
            return SE05X_ERR_ARG;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (hexval((unsigned char)s[i]) < 0) {
            *why = "key is not hexadecimal";
            return SE05X_ERR_ARG;
        }
    }
    if (n != 32) {
        *why = "key must be 32 hex digits (AES-128)";
        return SE05X_ERR_ARG;
    }
    for (size_t i = 0; i < 16; i++)
        out[i] = (uint8_t)(hexval((unsigned char)s[2 * i]) << 4 | hexval((unsigned char)s[2 * i + 1]));
    return SE05X_OK;
}

/* One line of the key file; *seen collects the keys found (bits 1/2/4). */
static se05x_status parse_key_line(char *line, se05x_scp03_keys *keys, unsigned *seen,
                                   const char **why)
{
    static const char *names[] = {"ENC", "MAC", "DEK"};
    char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == '#')
        return SE05X_OK;
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]))
        n++;
    for (int k = 0; k < 3; k++) {
        if (n != 3 || strncasecmp(p, names[k], 3) != 0)
            continue;
        if (*seen & (1u << k)) {
            *why = "key given twice";
            return SE05X_ERR_ARG;
        }
        const char *v = p + n;
        while (isspace((unsigned char)*v))
            v++;
        uint8_t *dst = k == 0 ? keys->enc : k == 1 ? keys->mac : keys->dek;
        se05x_status st = parse_key_hex(v, dst, why);
        if (st == SE05X_OK)
            *seen |= 1u << k;
        return st;
    }
    *why = "unknown line (expected ENC, MAC or DEK followed by 32 hex digits)";
    return SE05X_ERR_ARG;
}

se05x_status se05x_scp03_keys_load(const char *path, se05x_scp03_keys *keys, char *err,
                                   size_t errlen)
{
    if (!path || !keys) {
        kerr(err, errlen, "no SCP03 key file given");
        return SE05X_ERR_ARG;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        kerr(err, errlen, "cannot read SCP03 key file %s: %s", path, strerror(errno));
        return SE05X_ERR_IO;
    }
    se05x_scp03_keys k;
    memset(&k, 0, sizeof(k));
    char line[512];
    unsigned seen = 0, lineno = 0;
    const char *why = NULL;
    se05x_status st = SE05X_OK;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            why = "line too long";
            st = SE05X_ERR_ARG;
            break;
        }
        st = parse_key_line(line, &k, &seen, &why);
        if (st != SE05X_OK)
            break;
    }
    if (st == SE05X_OK && ferror(f)) {
        kerr(err, errlen, "cannot read SCP03 key file %s: %s", path, strerror(errno));
        st = SE05X_ERR_IO;
    } else if (st != SE05X_OK) {
        kerr(err, errlen, "%s:%u: %s", path, lineno, why);
    } else if (seen != 7u) {
        kerr(err, errlen, "%s: missing %s key", path,
             !(seen & 1u) ? "ENC" : !(seen & 2u) ? "MAC" : "DEK");
        st = SE05X_ERR_ARG;
    }
    fclose(f);
    OPENSSL_cleanse(line, sizeof(line));
    if (st == SE05X_OK)
        memcpy(keys, &k, sizeof(k));
    OPENSSL_cleanse(&k, sizeof(k));
    return st;
}
