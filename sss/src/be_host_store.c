/* sss host backend: the object store. One file per object, DIR/XXXXXXXX.obj
 * (name: se05x/objname.h): a 24-byte header (magic "SSSH", version, type,
 * curve, origin, bits, size, policy length, material length, id), the raw
 * policy (TAG_POLICY value), the material, and a SHA-256 of everything
 * before it. Files are written to a temporary name (mode 0600), fsync'ed and
 * linked into place (never replacing an object), then the directory is
 * fsync'ed. Anything that does not check out is SSS_ERR_FORMAT naming the
 * file. Format details: docs/sss-host-backend.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "be_host.h"
#include "se05x/objname.h"
#include "se05x/tlv.h"

#define MAGIC "SSSH"
#define VERSION 1u
#define HDR_LEN 24u
#define SUM_LEN 32u
#define FILE_MAX (HDR_LEN + SE05X_POLICY_MAX_BYTES + 65536u + SUM_LEN)

void host_obj_path(const hstore *st, uint32_t id, char *buf, size_t cap)
{
    se05x_objname_path(st->dir, id, buf, cap);
}

void host_obj_free(hobj *o)
{
    if (o->mat) {
        OPENSSL_cleanse(o->mat, o->matlen);
        free(o->mat);
    }
    OPENSSL_cleanse(o, sizeof(*o));
}

static bool sha256(const uint8_t *d, size_t n, uint8_t out[SUM_LEN])
{
    unsigned int len = 0;
    return EVP_Digest(d, n, out, &len, EVP_sha256(), NULL) == 1 && len == SUM_LEN;
}

/* Read a whole file (at most FILE_MAX bytes). errno-style result. */
static int read_file(const char *path, uint8_t **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno;
    struct stat stt;
    int rc = 0;
    if (fstat(fd, &stt) != 0) {
        rc = errno;
    } else if (!S_ISREG(stt.st_mode) || stt.st_size > (off_t)FILE_MAX) {
        rc = EFBIG;
    } else {
        size_t n = (size_t)stt.st_size, got = 0;
        uint8_t *b = malloc(n ? n : 1);
        if (!b)
            rc = ENOMEM;
        while (!rc && got < n) {
            ssize_t r = read(fd, b + got, n - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                rc = r < 0 ? errno : EIO;
                break;
            }
            got += (size_t)r;
        }
        if (rc) {
            if (b)
                OPENSSL_cleanse(b, n);
            free(b);
        } else {
            *buf = b;
            *len = n;
        }
    }
    close(fd);
    return rc;
}

static bool type_known(uint8_t t)
{
    return t >= SSS_KT_EC_PAIR && t <= SSS_KT_OTHER;
}

/* Check the header and trailer of a file image and fill o. Returns a
 * reason string on failure. */
static const char *parse_image(const uint8_t *b, size_t n, uint32_t id, hobj *o)
{
    uint8_t sum[SUM_LEN];
    if (n < HDR_LEN + SUM_LEN)
        return "truncated";
    if (memcmp(b, MAGIC, 4) != 0)
        return "bad magic";
    if (b[4] != VERSION)
        return "unsupported version";
    size_t plen = se05x_get_u16(b + 14), mlen = se05x_get_u32(b + 16);
    if (plen > SE05X_POLICY_MAX_BYTES || mlen > FILE_MAX || HDR_LEN + plen + mlen + SUM_LEN != n)
        return n < HDR_LEN + plen + mlen + SUM_LEN ? "truncated" : "length mismatch";
    if (!sha256(b, n - SUM_LEN, sum) || CRYPTO_memcmp(sum, b + n - SUM_LEN, SUM_LEN) != 0)
        return "checksum mismatch";
    if (se05x_get_u32(b + 20) != id)
        return "object id does not match the file name";
    if (!type_known(b[5]))
        return "unknown object type";
    o->id = id;
    o->type = b[5];
    o->curve = b[6];
    o->origin = b[7];
    o->bits = se05x_get_u16(b + 8);
    o->size = se05x_get_u32(b + 10);
    o->policy_len = plen;
    memcpy(o->policy, b + HDR_LEN, plen);
    se05x_policy_init(&o->pol);
    if (plen && se05x_policy_parse(o->policy, plen, &o->pol) != SE05X_OK)
        return "malformed policy";
    if (mlen == 0)
        return "no material";
    o->mat = malloc(mlen);
    if (!o->mat)
        return "out of memory";
    memcpy(o->mat, b + HDR_LEN + plen, mlen);
    o->matlen = mlen;
    return NULL;
}

sss_status host_obj_load(sss_session *s, uint32_t id, hobj *o)
{
    char path[4200];
    uint8_t *b = NULL;
    size_t n = 0;
    memset(o, 0, sizeof(*o));
    host_obj_path(host_store(s), id, path, sizeof(path));
    int rc = read_file(path, &b, &n);
    if (rc == ENOENT)
        return host_err(s, SSS_ERR_NOT_FOUND, "object 0x%08X not found", id);
    if (rc == ENOMEM)
        return host_err(s, SSS_ERR_NOMEM, "out of memory reading %s", path);
    if (rc == EFBIG)
        return host_err(s, SSS_ERR_FORMAT, "%s: not a regular object file or too large", path);
    if (rc)
        return host_err(s, SSS_ERR_FORMAT, "%s: cannot read: %s", path, strerror(rc));
    const char *why = parse_image(b, n, id, o);
    OPENSSL_cleanse(b, n);
    free(b);
    if (why) {
        host_obj_free(o);
        return host_err(s, SSS_ERR_FORMAT, "%s: corrupt object file (%s)", path, why);
    }
    return SSS_OK;
}

static sss_status write_all(int fd, const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return SSS_ERR_STATE;
        b += w;
        n -= (size_t)w;
    }
    return SSS_OK;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Build the file image; *img is malloc'ed (wipe + free). */
static sss_status build_image(uint32_t id, sss_key_type type, uint8_t curve, uint16_t bits,
                              uint32_t size, sss_origin origin, const uint8_t *pol, size_t plen,
                              const uint8_t *mat, size_t matlen, uint8_t **img, size_t *n)
{
    size_t len = HDR_LEN + plen + matlen + SUM_LEN;
    uint8_t *b = malloc(len);
    if (!b)
        return SSS_ERR_NOMEM;
    memcpy(b, MAGIC, 4);
    b[4] = VERSION;
    b[5] = (uint8_t)type;
    b[6] = curve;
    b[7] = (uint8_t)origin;
    se05x_put_u16(b + 8, bits);
    se05x_put_u32(b + 10, size);
    se05x_put_u16(b + 14, (uint16_t)plen);
    se05x_put_u32(b + 16, (uint32_t)matlen);
    se05x_put_u32(b + 20, id);
    if (plen)
        memcpy(b + HDR_LEN, pol, plen);
    memcpy(b + HDR_LEN + plen, mat, matlen);
    if (!sha256(b, len - SUM_LEN, b + len - SUM_LEN)) {
        OPENSSL_cleanse(b, len);
        free(b);
        return SSS_ERR_CRYPTO;
    }
    *img = b;
    *n = len;
    return SSS_OK;
}

/* Write img to a temporary file, fsync, link to path (no replace). */
static sss_status commit_image(sss_session *s, uint32_t id, const uint8_t *img, size_t n)
{
    const hstore *st = host_store(s);
    char path[4200], tmp[4300];
    host_obj_path(st, id, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s/.%08X.obj.tmp-XXXXXX", st->dir, id);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return host_err(s, SSS_ERR_STATE, "%s: cannot create: %s", tmp, strerror(errno));
    sss_status rc = SSS_OK;
    if (fchmod(fd, 0600) != 0 || write_all(fd, img, n) != SSS_OK || fsync(fd) != 0)
        rc = host_err(s, SSS_ERR_STATE, "%s: cannot write: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == SSS_OK)
        rc = host_err(s, SSS_ERR_STATE, "%s: cannot write: %s", tmp, strerror(errno));
    if (rc == SSS_OK && link(tmp, path) != 0) {
        if (errno == EEXIST)
            rc = host_err(s, SSS_ERR_EXISTS, "object 0x%08X already exists", id);
        else
            rc = host_err(s, SSS_ERR_STATE, "%s: cannot commit: %s", path, strerror(errno));
    }
    unlink(tmp);
    if (rc == SSS_OK)
        fsync_dir(st->dir);
    return rc;
}

sss_status host_obj_store(sss_session *s, uint32_t id, sss_key_type type, uint8_t curve,
                          uint16_t bits, uint32_t size, sss_origin origin,
                          const se05x_policy *pol, const uint8_t *mat, size_t matlen)
{
    uint8_t pbuf[SE05X_POLICY_MAX_BYTES];
    size_t plen = 0;
    if (pol && pol->n && se05x_policy_serialize(pol, pbuf, sizeof(pbuf), &plen) != SE05X_OK)
        return host_err(s, SSS_ERR_ARG, "object 0x%08X: invalid policy", id);
    uint8_t *img = NULL;
    size_t n = 0;
    sss_status rc = build_image(id, type, curve, bits, size, origin, pbuf, plen, mat, matlen,
                                &img, &n);
    if (rc != SSS_OK)
        return host_err(s, rc, "object 0x%08X: cannot encode", id);
    rc = commit_image(s, id, img, n);
    OPENSSL_cleanse(img, n);
    free(img);
    return rc;
}

sss_status host_obj_unlink(sss_session *s, uint32_t id)
{
    char path[4200];
    host_obj_path(host_store(s), id, path, sizeof(path));
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            return host_err(s, SSS_ERR_NOT_FOUND, "object 0x%08X not found", id);
        return host_err(s, SSS_ERR_STATE, "%s: cannot delete: %s", path, strerror(errno));
    }
    fsync_dir(host_store(s)->dir);
    return SSS_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

sss_status host_obj_ids(sss_session *s, uint32_t **ids, size_t *n)
{
    const hstore *st = host_store(s);
    DIR *d = opendir(st->dir);
    if (!d)
        return host_err(s, SSS_ERR_STATE, "%s: cannot list: %s", st->dir, strerror(errno));
    uint32_t *v = NULL;
    size_t cnt = 0, cap = 0;
    sss_status rc = SSS_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint32_t id;
        if (!se05x_objname_parse(e->d_name, &id))
            continue; /* temporary files, lock files, anything else */
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            uint32_t *nv = realloc(v, nc * sizeof(*nv));
            if (!nv) {
                rc = host_err(s, SSS_ERR_NOMEM, "out of memory listing %s", st->dir);
                break;
            }
            v = nv;
            cap = nc;
        }
        v[cnt++] = id;
    }
    closedir(d);
    if (rc != SSS_OK) {
        free(v);
        return rc;
    }
    if (cnt)
        qsort(v, cnt, sizeof(*v), cmp_u32);
    *ids = v;
    *n = cnt;
    return SSS_OK;
}

void host_obj_info(const hobj *o, sss_object_info *info)
{
    memset(info, 0, sizeof(*info));
    info->id = o->id;
    info->type = (sss_key_type)o->type;
    info->curve = o->curve;
    info->bits = o->bits;
    info->size = o->size;
    info->origin = (sss_origin)o->origin;
    info->transient = false;
    info->policy = o->pol;
}

/* The entry for auth id 0, or NULL. */
static const se05x_policy_entry *default_entry(const se05x_policy *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->e[i].auth_id == 0)
            return &p->e[i];
    }
    return NULL;
}

sss_status host_policy_check(sss_session *s, const hobj *o, uint32_t ar, const char *what)
{
    if (o->policy_len == 0)
        return SSS_OK;
    const se05x_policy_entry *e = default_entry(&o->pol);
    const char *why = NULL;
    if (!e)
        why = "no rules for the default user";
    else if (e->ar & SE05X_AR_FORBID_ALL)
        why = "forbid-all";
    else if (e->ar & SE05X_AR_REQUIRE_SM)
        why = "requires secure messaging, which the host backend has not";
    else if (e->ar & SE05X_AR_REQUIRE_PCR_VALUE)
        why = "requires a PCR value, the host backend has no PCRs";
    else if ((e->ar & ar) != ar)
        why = "access rule missing";
    if (!why)
        return SSS_OK;
    return host_err(s, SSS_ERR_DENIED, "key 0x%08X: policy forbids %s (%s)", o->id, what, why);
}
