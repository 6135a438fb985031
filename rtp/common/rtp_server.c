/* rtp-server's per-client session (spec el2go-protocol.md §8): START and
 * its echo, UID / version / ID list / curve list reads, then for each
 * GENERATION_COMPLETED provisioning of the device: delete-if-present,
 * curve installation (APDUs from hostlib's encoders via a recording
 * connection), create + write APDUs; result lists; DONE. The provisioning
 * files are loaded and fully validated before the first write is sent. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtp.h"
#include "se05x/commands.h"
#include "se05x/record.h"
#include "se05x/sockio.h"
#include "se05x/tlv.h"

static const uint8_t APDU_UID[] = {0x80, 0x02, 0x00, 0x00, 0x00, 0x00, 0x06, 0x41,
                                   0x04, 0x7F, 0xFF, 0x02, 0x06, 0x00, 0x00};
static const uint8_t APDU_VERSION[] = {0x80, 0x04, 0x00, 0x20, 0x09};
static const uint8_t APDU_IDLIST[] = {0x80, 0x02, 0x00, 0x25, 0x00, 0x00, 0x07, 0x41,
                                      0x02, 0x00, 0x00, 0x42, 0x01, 0xFF, 0x00, 0x00};
static const uint8_t APDU_CURVES[] = {0x80, 0x02, 0x0B, 0x25, 0x00, 0x03, 0x7E};

typedef struct {
    int fd;
    const rtp_server_opts *o;
    rtp_server_result *r;
    uint8_t rsp[RTP_SERVER_MAX];
    size_t rlen;
    /* device state */
    uint8_t major, minor, patch;
    rtp_idlist present;
    uint8_t curves[SE05X_CURVE_LIST_MAX]; /* entry i: curve id i+1 */
    size_t ncurves;
    rtp_idlist ok, failed;
    rtp_file *files;
    size_t nfiles;
} sctx;

static void logline(const sctx *s, const char *fmt, ...)
{
    FILE *f = s->o->log ? s->o->log : stderr;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, "%s rtp-server: %s%s", ts, s->o->peer ? s->o->peer : "", s->o->peer ? ": " : "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
}

static se05x_status stop(sctx *s, se05x_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->r->error, sizeof(s->r->error), fmt, ap);
    va_end(ap);
    return st;
}

static long long deadline(const sctx *s)
{
    return se05x_sock_deadline(s->o->timeout_ms ? s->o->timeout_ms : RTP_TIMEOUT_MS);
}

/* Send a frame and receive the answer with tag `want`. */
static se05x_status roundtrip(sctx *s, uint16_t tag, const uint8_t *p, size_t len, uint16_t want)
{
    char err[200];
    se05x_status st = rtp_send(s->fd, tag, p, len, deadline(s));
    if (st != SE05X_OK)
        return stop(s, st, "cannot send %s: %s", rtp_tag_name(tag),
                    errno ? strerror(errno) : "timeout");
    uint16_t got = 0;
    st = rtp_recv(s->fd, &got, s->rsp, sizeof(s->rsp), &s->rlen, deadline(s), err, sizeof(err));
    if (st != SE05X_OK)
        return stop(s, st, "after %s: %s", rtp_tag_name(tag), err);
    if (got != want)
        return stop(s, SE05X_ERR_PROTOCOL, "after %s the client sent %s (0x%04X), not %s",
                    rtp_tag_name(tag), rtp_tag_name(got), got, rtp_tag_name(want));
    return SE05X_OK;
}

/* One APDU through the client; the response (data || SW) is in s->rsp. */
static se05x_status xchg(sctx *s, const uint8_t *apdu, size_t len)
{
    se05x_status st = roundtrip(s, RTP_TAG_APDU_CMD, apdu, len, RTP_TAG_APDU_RESPONSE);
    if (st == SE05X_OK && s->rlen < 2)
        return stop(s, SE05X_ERR_PROTOCOL, "APDU_RESPONSE of %zu bytes (no status word)",
                    s->rlen);
    return st;
}

static uint16_t rsp_sw(const sctx *s)
{
    return (uint16_t)(s->rsp[s->rlen - 2] << 8 | s->rsp[s->rlen - 1]);
}

/* Data of a response that must be 9000 with one TLV 0x41 of min..max bytes
 * (the TLV header form is not assumed). */
static se05x_status rsp_tlv41(sctx *s, const char *what, size_t min, size_t max,
                              se05x_tlv_item *it, size_t nexp)
{
    if (rsp_sw(s) != 0x9000)
        return stop(s, SE05X_ERR_SW, "%s: SE answered %04X", what, rsp_sw(s));
    se05x_tlv_expect_t exp[2] = {{SE05X_TAG_1, 0, (uint16_t)min, (uint16_t)max},
                                 {SE05X_TAG_2, SE05X_TLV_OPTIONAL, 0, 0}};
    se05x_status st = se05x_tlv_expect(s->rsp, s->rlen - 2, exp, nexp, it);
    if (st != SE05X_OK)
        return stop(s, SE05X_ERR_RESPONSE, "%s: malformed answer (%s)", what, se05x_strerror(st));
    return SE05X_OK;
}

static se05x_status read_device(sctx *s)
{
    se05x_tlv_item it[2];
    se05x_status st = xchg(s, APDU_UID, sizeof(APDU_UID));
    if (st == SE05X_OK)
        st = rsp_tlv41(s, "UID read", SE05X_UID_LEN, SE05X_UID_LEN, it, 1);
    if (st == SE05X_OK &&
        rtp_device_id(it[0].val, it[0].len, s->r->device_id, sizeof(s->r->device_id)) != SE05X_OK)
        st = stop(s, SE05X_ERR_CRYPTO, "cannot convert the UID to a device id");
    if (st == SE05X_OK)
        st = xchg(s, APDU_VERSION, sizeof(APDU_VERSION));
    if (st == SE05X_OK)
        st = rsp_tlv41(s, "GetVersion", SE05X_VERSION_LEN, SE05X_VERSION_LEN, it, 1);
    if (st != SE05X_OK)
        return st;
    s->major = it[0].val[0];
    s->minor = it[0].val[1];
    s->patch = it[0].val[2];
    st = xchg(s, APDU_IDLIST, sizeof(APDU_IDLIST));
    /* 41: more indicator, 42: the ids */
    if (st == SE05X_OK) {
        se05x_tlv_expect_t exp[2] = {{SE05X_TAG_1, 0, 1, 1}, {SE05X_TAG_2, SE05X_TLV_OPTIONAL, 0, 0}};
        if (rsp_sw(s) != 0x9000)
            return stop(s, SE05X_ERR_SW, "ReadIDList: SE answered %04X", rsp_sw(s));
        if (se05x_tlv_expect(s->rsp, s->rlen - 2, exp, 2, it) != SE05X_OK || it[1].len % 4)
            return stop(s, SE05X_ERR_RESPONSE, "ReadIDList: malformed answer");
        for (size_t i = 0; i + 4 <= it[1].len; i += 4)
            if (rtp_idlist_add(&s->present, se05x_get_u32(it[1].val + i)) != SE05X_OK)
                return stop(s, SE05X_ERR_NOMEM, "out of memory");
    }
    if (st == SE05X_OK)
        st = xchg(s, APDU_CURVES, sizeof(APDU_CURVES));
    if (st == SE05X_OK)
        st = rsp_tlv41(s, "ReadECCurveList", 0, SE05X_CURVE_LIST_MAX, it, 1);
    if (st == SE05X_OK) {
        memcpy(s->curves, it[0].val, it[0].len);
        s->ncurves = it[0].len;
    }
    return st;
}

/* ---- provisioning files ---------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_json_name(const char *n)
{
    size_t l = strlen(n);
    return l > 5 && strcmp(n + l - 5, ".json") == 0;
}

/* Load every *.json of the directory (with -o: whose name contains the id),
 * in name order. Bad files are logged and skipped (counted). */
static se05x_status load_files(sctx *s)
{
    DIR *d = opendir(s->o->dir);
    if (!d)
        return stop(s, SE05X_ERR_IO, "cannot open directory %s: %s", s->o->dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    se05x_status st = SE05X_OK;
    while ((e = readdir(d)) && st == SE05X_OK) {
        if (!is_json_name(e->d_name) ||
            (s->o->optimize && !strstr(e->d_name, s->r->device_id)))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **p = realloc(names, cap * sizeof(*p));
            if (!p) {
                st = SE05X_ERR_NOMEM;
                break;
            }
            names = p;
        }
        if (!(names[n] = strdup(e->d_name)))
            st = SE05X_ERR_NOMEM;
        else
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    if (st == SE05X_OK && n && !(s->files = calloc(n, sizeof(*s->files))))
        st = SE05X_ERR_NOMEM;
    for (size_t i = 0; i < n && st == SE05X_OK; i++) {
        char path[4096], err[300];
        snprintf(path, sizeof(path), "%s/%s", s->o->dir, names[i]);
        if (rtp_file_load(path, &s->files[s->nfiles], err, sizeof(err)) == SE05X_OK) {
            s->nfiles++;
        } else {
            s->r->bad_files++;
            logline(s, "error: %s: %s (file skipped)", path, err);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (st != SE05X_OK)
        return stop(s, st, "out of memory");
    return SE05X_OK;
}

/* ---- provisioning ------------------------------------------------------ */

static bool is_montgomery(uint8_t curve)
{
    return curve == SE05X_CURVE_X25519 || curve == SE05X_CURVE_X448;
}

/* Curve of an EC algorithm name ("NIST_P256", "SECP256R1", "BRAINPOOLP256R1",
 * "ID_ECC_ED_25519", ...); false for non-EC algorithms. */
static bool algo_curve(const char *algo, uint8_t *curve)
{
    if (!algo[0])
        return false;
    if (strncasecmp(algo, "ID_ECC_", 7) == 0)
        algo += 7;
    return se05x_curve_from_name(algo, curve) == SE05X_OK;
}

static bool curve_installed(const sctx *s, uint8_t curve)
{
    return curve >= 1 && curve <= s->ncurves && s->curves[curve - 1] == SE05X_CURVE_SET;
}

/* Send the recorded curve APDUs (without the recorder's ReadECCurveList).
 * Without -f each must answer 9000 (CreateECCurve also 6985: exists). */
static se05x_status send_curve_apdus(sctx *s, se05x_recorder *rec, const rtp_prov *p, bool *ok)
{
    *ok = true;
    for (size_t i = 0; i < se05x_recorder_count(rec) && *ok; i++) {
        size_t len = 0;
        const uint8_t *a = se05x_recorder_get(rec, i, &len);
        if (len >= 4 && a[1] == 0x02 && a[2] == 0x0B && a[3] == 0x25)
            continue; /* the recorder's own ReadECCurveList */
        se05x_status st = xchg(s, a, len);
        if (st != SE05X_OK)
            return st;
        uint16_t sw = rsp_sw(s);
        bool create = a[1] == 0x01 && a[2] == 0x0B && a[3] == 0x04;
        if (!s->o->force_curves && sw != 0x9000 && !(create && sw == 0x6985)) {
            logline(s, "device %s: object 0x%08X: curve installation APDU %zu answered %04X",
                    s->r->device_id, p->object_id, i, sw);
            *ok = false;
        }
    }
    return SE05X_OK;
}

static se05x_status install_curve(sctx *s, const rtp_prov *p, uint8_t curve, bool *ok)
{
    *ok = true;
    if (curve == SE05X_CURVE_ED25519)
        return SE05X_OK; /* built into the applet */
    if (is_montgomery(curve) && s->major < 5)
        return SE05X_OK;
    if (!s->o->force_curves && curve_installed(s, curve))
        return SE05X_OK;
    se05x_conn *c = NULL;
    se05x_recorder *rec = NULL;
    se05x_status st = se05x_recorder_open(s->major, s->minor, &c, &rec);
    if (st != SE05X_OK)
        return stop(s, st, "cannot build curve APDUs: %s", se05x_strerror(st));
    st = is_montgomery(curve) ? se05x_create_ec_curve(c, curve) : se05x_ec_curve_ensure(c, curve);
    if (st != SE05X_OK) {
        logline(s, "device %s: object 0x%08X: cannot install curve %s: %s", s->r->device_id,
                p->object_id, se05x_curve_name(curve), se05x_conn_errmsg(c));
        *ok = false;
    } else {
        st = send_curve_apdus(s, rec, p, ok);
    }
    se05x_conn_close(c);
    if (st == SE05X_OK && *ok && curve >= 1 && curve <= SE05X_CURVE_LIST_MAX) {
        s->curves[curve - 1] = SE05X_CURVE_SET;
        if (s->ncurves < curve)
            s->ncurves = curve;
    }
    return st == SE05X_ERR_SW || st == SE05X_ERR_UNSUPPORTED || st == SE05X_ERR_CRYPTO
               ? SE05X_OK : st;
}

static bool ends_9000(const sctx *s) { return rsp_sw(s) == 0x9000; }

/* One provisioning; *ok false = failed (logged). Errors abort the session. */
static se05x_status provision(sctx *s, const rtp_prov *p, bool *ok)
{
    const char *dev = s->r->device_id;
    se05x_status st;
    *ok = false;
    if (rtp_idlist_has(&s->present, p->object_id)) {
        uint8_t del[] = {0x80, 0x04, 0x00, 0x28, 0x06, 0x41, 0x04,
                         (uint8_t)(p->object_id >> 24), (uint8_t)(p->object_id >> 16),
                         (uint8_t)(p->object_id >> 8), (uint8_t)p->object_id};
        if ((st = xchg(s, del, sizeof(del))) != SE05X_OK)
            return st;
        if (s->rlen != 2 || !ends_9000(s)) {
            logline(s, "device %s: object 0x%08X: delete answered %04X, not 9000", dev,
                    p->object_id, rsp_sw(s));
            return SE05X_OK;
        }
    }
    uint8_t curve = 0;
    if ((!strcasecmp(p->type, "KEYPAIR") || !strcasecmp(p->type, "STATIC_PUBLIC_KEY")) &&
        algo_curve(p->algorithm, &curve)) {
        bool cok = false;
        if ((st = install_curve(s, p, curve, &cok)) != SE05X_OK)
            return st;
        if (!cok)
            return SE05X_OK;
    }
    if ((st = xchg(s, p->create.data, p->create.len)) != SE05X_OK)
        return st;
    if (!ends_9000(s)) {
        logline(s, "device %s: object 0x%08X: create APDU answered %04X", dev, p->object_id,
                rsp_sw(s));
        return SE05X_OK;
    }
    for (size_t i = 0; i < p->nwrites; i++) {
        if ((st = xchg(s, p->writes[i].data, p->writes[i].len)) != SE05X_OK)
            return st;
        if (!ends_9000(s)) {
            logline(s, "device %s: object 0x%08X: write APDU %zu answered %04X", dev,
                    p->object_id, i, rsp_sw(s));
            return SE05X_OK;
        }
    }
    *ok = true;
    return SE05X_OK;
}

static se05x_status provision_all(sctx *s)
{
    for (size_t f = 0; f < s->nfiles; f++) {
        for (size_t d = 0; d < s->files[f].ndevs; d++) {
            const rtp_device *dev = &s->files[f].devs[d];
            if (strcmp(dev->device_id, s->r->device_id) != 0)
                continue;
            s->r->known = true;
            for (size_t i = 0; i < dev->nprovs; i++) {
                const rtp_prov *p = &dev->provs[i];
                if (strcmp(p->state, "GENERATION_COMPLETED") != 0) {
                    if (strcmp(p->state, "PROVISIONING_COMPLETED") != 0)
                        logline(s, "warning: device %s: provisioning %lld (object 0x%08X) in "
                                "state %s: skipped", s->r->device_id, p->provisioning_id,
                                p->object_id, p->state);
                    s->r->skipped++;
                    continue;
                }
                bool ok = false;
                se05x_status st = provision(s, p, &ok);
                if (st != SE05X_OK)
                    return st;
                st = rtp_idlist_add(ok ? &s->ok : &s->failed, p->object_id);
                if (st == SE05X_OK && ok && !rtp_idlist_has(&s->present, p->object_id))
                    st = rtp_idlist_add(&s->present, p->object_id);
                if (st != SE05X_OK)
                    return stop(s, st, "out of memory");
            }
        }
    }
    return SE05X_OK;
}

static se05x_status send_list(sctx *s, uint16_t tag, uint16_t want, const rtp_idlist *l)
{
    if (!l->n)
        return SE05X_OK;
    if (l->n > 0xFFFF / 4)
        return stop(s, SE05X_ERR_BUFFER, "result list too long");
    uint8_t *buf = malloc(4 * l->n);
    if (!buf)
        return stop(s, SE05X_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < l->n; i++)
        se05x_put_u32(buf + 4 * i, l->ids[i]);
    se05x_status st = roundtrip(s, tag, buf, 4 * l->n, want);
    free(buf);
    return st;
}

static void summary(sctx *s, se05x_status st)
{
    char okl[512], fl[512];
    rtp_idlist_format(s->ok.ids, s->ok.n, okl, sizeof(okl));
    rtp_idlist_format(s->failed.ids, s->failed.n, fl, sizeof(fl));
    const char *dev = s->r->device_id[0] ? s->r->device_id : "?";
    if (st != SE05X_OK)
        logline(s, "device %s: ABORTED (%s); provisioned %zu [%s], failed %zu [%s]", dev,
                s->r->error, s->ok.n, okl, s->failed.n, fl);
    else if (!s->r->known)
        logline(s, "device %s (applet %u.%u.%u): unknown device, no provisionings in %zu file(s)"
                "%s; DONE", dev, s->major, s->minor, s->patch, s->nfiles,
                s->r->bad_files ? " (some files were bad)" : "");
    else
        logline(s, "device %s (applet %u.%u.%u): provisioned %zu [%s], failed %zu [%s], "
                "skipped %zu%s; DONE", dev, s->major, s->minor, s->patch, s->ok.n, okl,
                s->failed.n, fl, s->r->skipped, s->r->bad_files ? ", some files were bad" : "");
}

se05x_status rtp_server_session(int fd, const rtp_server_opts *o, rtp_server_result *r)
{
    if (!o || !r || !o->dir)
        return SE05X_ERR_ARG;
    memset(r, 0, sizeof(*r));
    sctx *s = calloc(1, sizeof(*s));
    if (!s)
        return SE05X_ERR_NOMEM;
    s->fd = fd;
    s->o = o;
    s->r = r;
    se05x_status st = roundtrip(s, RTP_TAG_START, NULL, 0, RTP_TAG_START);
    if (st == SE05X_OK)
        st = read_device(s);
    if (st == SE05X_OK)
        st = load_files(s);
    if (st == SE05X_OK)
        st = provision_all(s);
    if (st == SE05X_OK)
        st = send_list(s, RTP_TAG_PROVISIONED_LIST, RTP_TAG_PROVISIONED_LIST_RESPONSE, &s->ok);
    if (st == SE05X_OK)
        st = send_list(s, RTP_TAG_FAILED_LIST, RTP_TAG_FAILED_LIST_RESPONSE, &s->failed);
    if (st == SE05X_OK) {
        st = rtp_send(fd, RTP_TAG_DONE, NULL, 0, deadline(s));
        if (st != SE05X_OK)
            stop(s, st, "cannot send DONE");
        else
            r->completed = true;
    }
    r->provisioned = s->ok.n;
    r->failed = s->failed.n;
    summary(s, st);
    for (size_t i = 0; i < s->nfiles; i++)
        rtp_file_free(&s->files[i]);
    free(s->files);
    rtp_idlist_free(&s->present);
    rtp_idlist_free(&s->ok);
    rtp_idlist_free(&s->failed);
    free(s);
    return st;
}
