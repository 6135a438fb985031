/* Session authentication from user text (sss/spec.h), the one parser behind
 * the CLI's --auth/--auth-id/--auth-secret/--auth-key/--scp03 and the
 * provider's auth/auth_id/auth_secret_file/auth_eckey/scp03_keyfile: method
 * names, auth object ids, secrets given as hex or in a file (hex text or
 * raw bytes), with the rules of which method needs what. Also the id and hex
 * parsers both front ends use. Secrets are wiped wherever they were copied. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "sss/spec.h"

#define SECRET_FILE_MAX 4096 /* bigger files are certainly not a secret of ours */

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

bool sss_parse_id(const char *s, uint32_t *id)
{
    if (!s)
        return false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    size_t n = strlen(s);
    if (n == 0 || n > 8)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
        v = (v << 4) | (uint32_t)hexval((unsigned char)s[i]);
    }
    *id = v;
    return true;
}

bool sss_parse_hex(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t n = 0;
    int hi = -1;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (isspace(c) || c == ':') {
            if (hi >= 0)
                return false; /* separator inside a byte */
            continue;
        }
        if (!isxdigit(c))
            return false;
        if (hi < 0) {
            hi = hexval(c);
            continue;
        }
        if (n >= cap)
            return false;
        out[n++] = (uint8_t)(hi << 4 | hexval(c));
        hi = -1;
    }
    if (hi >= 0)
        return false;
    *outlen = n;
    return true;
}

const char *sss_auth_name(sss_auth a)
{
    switch (a) {
    case SSS_AUTH_NONE: return "none";
    case SSS_AUTH_PLATFORM_SCP03: return "platformscp03";
    case SSS_AUTH_USERID: return "userid";
    case SSS_AUTH_AESKEY: return "aeskey";
    case SSS_AUTH_ECKEY: return "eckey";
    }
    return "?";
}

/* ---- helpers ------------------------------------------------------------ */

static bool set(const char *s)
{
    return s != NULL && *s != '\0';
}

static const char *name_or(const char *name, const char *fallback)
{
    return name != NULL ? name : fallback;
}

static sss_status fail(sss_status st, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static sss_status fail(sss_status st, char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

static bool parse_method(const char *v, sss_auth *out)
{
    static const struct {
        const char *name;
        sss_auth auth;
    } methods[] = {
        {"none", SSS_AUTH_NONE},
        {"platformscp03", SSS_AUTH_PLATFORM_SCP03},
        {"platform_scp03", SSS_AUTH_PLATFORM_SCP03},
        {"platformscp", SSS_AUTH_PLATFORM_SCP03},
        {"scp03", SSS_AUTH_PLATFORM_SCP03},
        {"userid", SSS_AUTH_USERID},
        {"aeskey", SSS_AUTH_AESKEY},
        {"eckey", SSS_AUTH_ECKEY},
    };
    if (!set(v)) {
        *out = SSS_AUTH_NONE;
        return true;
    }
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcasecmp(v, methods[i].name) == 0) {
            *out = methods[i].auth;
            return true;
        }
    return false;
}

/* Read a whole small file into buf (SECRET_FILE_MAX bytes). */
static sss_status read_small_file(const char *path, uint8_t *buf, size_t *len, const char *opt,
                                  char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return fail(SSS_ERR_FORMAT, err, errlen, "%s: cannot read %s: %s", opt, path,
                    strerror(errno));
    size_t n = fread(buf, 1, SECRET_FILE_MAX, f);
    bool more = n == SECRET_FILE_MAX && fgetc(f) != EOF;
    bool ioerr = ferror(f) != 0;
    fclose(f);
    if (ioerr)
        return fail(SSS_ERR_FORMAT, err, errlen, "%s: error reading %s", opt, path);
    if (more)
        return fail(SSS_ERR_ARG, err, errlen, "%s: %s is too large for a secret", opt, path);
    *len = n;
    return SSS_OK;
}

/* A secret file: hex text (trailing whitespace ignored) or raw bytes. */
static sss_status secret_from_file(const char *path, sss_auth_spec *out, const char *opt,
                                   char *err, size_t errlen)
{
    uint8_t *buf = malloc(SECRET_FILE_MAX);
    if (buf == NULL)
        return SSS_ERR_NOMEM;
    size_t n = 0, hexlen = 0;
    sss_status st = read_small_file(path, buf, &n, opt, err, errlen);
    if (st == SSS_OK) {
        size_t t = n;
        while (t > 0 && isspace(buf[t - 1]))
            t--;
        if (t > 0 && sss_parse_hex((const char *)buf, t, out->secret, sizeof(out->secret),
                                   &hexlen) && hexlen > 0) {
            out->secret_len = hexlen;
        } else if (n == 0) {
            st = fail(SSS_ERR_ARG, err, errlen, "%s: %s is empty", opt, path);
        } else if (n > sizeof(out->secret)) {
            st = fail(SSS_ERR_ARG, err, errlen,
                      "%s: %s holds %zu bytes (at most %d, raw or as hex text)", opt, path, n,
                      SSS_AUTH_SECRET_MAX);
        } else {
            memcpy(out->secret, buf, n); /* raw bytes */
            out->secret_len = n;
        }
    }
    OPENSSL_cleanse(buf, SECRET_FILE_MAX);
    free(buf);
    return st;
}

/* The secret of a userid / aeskey session from "HEX", "@FILE" or a file. */
static sss_status parse_secret(const sss_auth_text *in, const sss_auth_names *nm,
                               sss_auth_spec *out, char *err, size_t errlen)
{
    const char *m = sss_auth_name(out->auth);
    const char *so = name_or(nm->secret, "auth_secret");
    const char *fo = name_or(nm->secret_file, "auth_secret_file");
    sss_status st;
    if (set(in->secret) && set(in->secret_file))
        return fail(SSS_ERR_ARG, err, errlen, "give %s or %s, not both", so, fo);
    if (set(in->secret_file)) {
        st = secret_from_file(in->secret_file, out, fo, err, errlen);
    } else if (set(in->secret) && in->secret[0] == '@') {
        st = secret_from_file(in->secret + 1, out, so, err, errlen);
    } else if (set(in->secret)) {
        if (!sss_parse_hex(in->secret, strlen(in->secret), out->secret, sizeof(out->secret),
                           &out->secret_len) || out->secret_len == 0)
            return fail(SSS_ERR_ARG, err, errlen, "%s: invalid hex, or more than %d bytes (or "
                        "use @FILE)", so, SSS_AUTH_SECRET_MAX);
        st = SSS_OK;
    } else {
        return fail(SSS_ERR_ARG, err, errlen, "%s %s needs %s", name_or(nm->method, "auth"), m,
                    nm->secret_file != NULL || nm->secret == NULL ? fo : so);
    }
    if (st != SSS_OK)
        return st;
    if (out->auth == SSS_AUTH_AESKEY && out->secret_len != 16)
        return fail(SSS_ERR_ARG, err, errlen, "%s aeskey: the AES key must be 16 bytes, not %zu",
                    name_or(nm->method, "auth"), out->secret_len);
    return SSS_OK;
}

static char *dup_or_null(const char *s, bool *ok)
{
    if (!set(s))
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *ok = false;
    return d;
}

/* Fields given for a method that does not use them. */
static sss_status check_unused(const sss_auth_text *in, const sss_auth_names *nm,
                               const sss_auth_spec *out, char *err, size_t errlen)
{
    bool secret_used = out->auth == SSS_AUTH_USERID || out->auth == SSS_AUTH_AESKEY;
    bool id_used = secret_used || out->auth == SSS_AUTH_ECKEY;
    const char *what = NULL, *applies = NULL;
    if (!secret_used && set(in->secret)) {
        what = name_or(nm->secret, "auth_secret");
        applies = "userid and aeskey";
    } else if (!secret_used && set(in->secret_file)) {
        what = name_or(nm->secret_file, "auth_secret_file");
        applies = "userid and aeskey";
    } else if (out->auth != SSS_AUTH_ECKEY && set(in->eckey)) {
        what = name_or(nm->eckey, "auth_eckey");
        applies = "eckey";
    } else if (!id_used && set(in->auth_id)) {
        what = name_or(nm->auth_id, "auth_id");
        applies = "userid, aeskey and eckey";
    }
    if (what == NULL)
        return SSS_OK;
    return fail(SSS_ERR_ARG, err, errlen, "%s is set but %s is %s (it applies to %s)", what,
                name_or(nm->method, "auth"), sss_auth_name(out->auth), applies);
}

static sss_status parse_spec(const sss_auth_text *in, const sss_auth_names *nm,
                             sss_auth_spec *out, char *err, size_t errlen)
{
    const char *mo = name_or(nm->method, "auth");
    const char *ko = name_or(nm->scp03_keyfile, "scp03_keyfile");
    if (!parse_method(in->method, &out->auth))
        return fail(SSS_ERR_ARG, err, errlen,
                    "%s '%s' is not one of: none, platformscp03 (scp03), userid, aeskey, eckey",
                    mo, in->method);
    if (out->auth == SSS_AUTH_NONE && set(in->scp03_keyfile))
        out->auth = SSS_AUTH_PLATFORM_SCP03; /* a key file alone means platform SCP03 */
    if (out->auth == SSS_AUTH_PLATFORM_SCP03 && !set(in->scp03_keyfile))
        return fail(SSS_ERR_ARG, err, errlen, "%s platformscp03 needs %s", mo, ko);
    sss_status st = check_unused(in, nm, out, err, errlen);
    if (st != SSS_OK)
        return st;
    bool ok = true;
    out->scp03_keyfile = dup_or_null(in->scp03_keyfile, &ok);
    if (!ok)
        return SSS_ERR_NOMEM;
    if (out->auth == SSS_AUTH_NONE || out->auth == SSS_AUTH_PLATFORM_SCP03)
        return SSS_OK;
    const char *m = sss_auth_name(out->auth);
    const char *io = name_or(nm->auth_id, "auth_id");
    if (!set(in->auth_id))
        return fail(SSS_ERR_ARG, err, errlen, "%s %s needs %s (the auth object id, hex)", mo, m,
                    io);
    if (!sss_parse_id(in->auth_id, &out->auth_id))
        return fail(SSS_ERR_ARG, err, errlen, "%s '%s' is not an object id (1 to 8 hex digits)",
                    io, in->auth_id);
    if (out->auth != SSS_AUTH_ECKEY)
        return parse_secret(in, nm, out, err, errlen);
    const char *eo = name_or(nm->eckey, "auth_eckey");
    if (!set(in->eckey))
        return fail(SSS_ERR_ARG, err, errlen, "%s eckey needs %s (the host's EC private key, PEM)",
                    mo, eo);
    if (strstr(in->eckey, "-----BEGIN") == NULL) { /* a path (sss also takes PEM text) */
        FILE *f = fopen(in->eckey, "r");
        if (f == NULL)
            return fail(SSS_ERR_FORMAT, err, errlen, "%s: cannot read %s: %s", eo, in->eckey,
                        strerror(errno));
        fclose(f);
    }
    out->eckey = dup_or_null(in->eckey, &ok);
    return ok ? SSS_OK : SSS_ERR_NOMEM;
}

sss_status sss_auth_spec_parse(const sss_auth_text *in, sss_auth_spec *out, char *err,
                               size_t errlen)
{
    static const sss_auth_names cnf_names = {0};
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    memset(out, 0, sizeof(*out));
    if (in == NULL)
        return SSS_OK;
    sss_status st = parse_spec(in, in->names != NULL ? in->names : &cnf_names, out, err, errlen);
    if (st == SSS_ERR_NOMEM)
        fail(st, err, errlen, "out of memory");
    if (st != SSS_OK)
        sss_auth_spec_clear(out);
    return st;
}

void sss_auth_spec_apply(const sss_auth_spec *spec, sss_session_cfg *cfg)
{
    cfg->auth = spec->auth;
    cfg->auth_id = spec->auth_id;
    cfg->scp03_keyfile = spec->scp03_keyfile;
    cfg->secret = spec->secret_len > 0 ? spec->secret : NULL;
    cfg->secret_len = spec->secret_len;
    cfg->eckey_pem = spec->eckey;
}

void sss_auth_spec_clear(sss_auth_spec *spec)
{
    if (spec == NULL)
        return;
    if (spec->eckey != NULL) /* may be PEM text: a private key */
        OPENSSL_cleanse(spec->eckey, strlen(spec->eckey));
    free(spec->eckey);
    free(spec->scp03_keyfile);
    OPENSSL_cleanse(spec, sizeof(*spec));
}
