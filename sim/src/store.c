/* Crash-safe object store of the simulator. Every persistent secure object
 * lives in its own file DIR/objects/XXXXXXXX.obj (name: se05x/objname.h):
 * magic "SESO", format version, the object's fields and components, then a
 * SHA-256 over everything before it. A change is written to a temporary
 * file, fsync'ed, renamed over the final name and the directory fsync'ed,
 * so a crash at any instant leaves either the old or the new object, never
 * a mix; the command is acknowledged only after that. Stale temporary
 * files are removed and corrupt files quarantined (*.corrupt) when the card
 * opens; a file that is corrupt at load time is treated as absent. Parsed
 * objects and their EVP_PKEYs are cached (objcache.c), but a load always
 * stat()s the object file first and trusts the cache only while the file
 * is unchanged, so several processes sharing DIR (serialised by the flock
 * in sim.c) always see the same state; writes and deletes drop the entry.
 * Transient objects live in memory only and do not count against the
 * persistent memory limit. Also the sesim_obj helpers. */
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

#include "se05x/objname.h"
#include "sim_internal.h"

#define OBJ_MAGIC "SESO"
#define OBJ_FORMAT 1u
#define OBJ_MAX_FILE (256u * 1024u)
#define OBJ_HDR 27u /* fixed header bytes before the policy */

typedef struct {
    char *objdir;
    sesim_obj *trans; /* transient objects */
    size_t ntrans;
    sesim_objcache *cache; /* persistent objects, see objcache.c */
} store_state;

/* ---- sesim_obj helpers ------------------------------------------------ */

void sesim_obj_init(sesim_obj *o) { memset(o, 0, sizeof(*o)); }

void sesim_obj_free(sesim_obj *o)
{
    for (int i = 0; i < SESIM_C_COUNT; i++) {
        if (o->comp[i].v) {
            OPENSSL_cleanse(o->comp[i].v, o->comp[i].len);
            free(o->comp[i].v);
        }
    }
    OPENSSL_cleanse(o, sizeof(*o));
}

se05x_status sesim_obj_set_comp(sesim_obj *o, int comp, const uint8_t *v, size_t len)
{
    if (comp < 0 || comp >= SESIM_C_COUNT || len > 0xFFFF)
        return SE05X_ERR_ARG;
    uint8_t *n = NULL;
    if (len) {
        n = malloc(len);
        if (!n)
            return SE05X_ERR_NOMEM;
        memcpy(n, v, len);
    }
    if (o->comp[comp].v) {
        OPENSSL_cleanse(o->comp[comp].v, o->comp[comp].len);
        free(o->comp[comp].v);
    }
    o->comp[comp].v = n;
    o->comp[comp].len = len;
    return SE05X_OK;
}

size_t sesim_obj_footprint(const sesim_obj *o)
{
    size_t n = OBJ_HDR + o->policy_len + 1 + 32;
    for (int i = 0; i < SESIM_C_COUNT; i++)
        n += 2 + o->comp[i].len;
    return n;
}

static se05x_status obj_copy(sesim_obj *dst, const sesim_obj *src)
{
    *dst = *src;
    for (int i = 0; i < SESIM_C_COUNT; i++) {
        dst->comp[i].v = NULL;
        dst->comp[i].len = 0;
    }
    for (int i = 0; i < SESIM_C_COUNT; i++) {
        if (src->comp[i].len &&
            sesim_obj_set_comp(dst, i, src->comp[i].v, src->comp[i].len) != SE05X_OK) {
            sesim_obj_free(dst);
            return SE05X_ERR_NOMEM;
        }
    }
    return SE05X_OK;
}

/* ---- serialisation ---------------------------------------------------- */

static bool sha256(const uint8_t *d, size_t n, uint8_t out[32])
{
    unsigned int ol = 0;
    return EVP_Digest(d, n, out, &ol, EVP_sha256(), NULL) == 1 && ol == 32;
}

/* Serialise o into a malloc'ed buffer of sesim_obj_footprint(o) bytes. */
static uint8_t *obj_serialise(const sesim_obj *o, size_t *outlen)
{
    size_t n = sesim_obj_footprint(o);
    uint8_t *b = malloc(n);
    if (!b)
        return NULL;
    memcpy(b, OBJ_MAGIC, 4);
    se05x_put_u16(b + 4, OBJ_FORMAT);
    se05x_put_u32(b + 6, o->id);
    b[10] = o->type;
    b[11] = o->curve;
    b[12] = o->origin;
    b[13] = (uint8_t)((o->auth ? 1 : 0) | (o->transient ? 2 : 0));
    se05x_put_u16(b + 14, o->max_attempts);
    se05x_put_u16(b + 16, o->failed_attempts);
    se05x_put_u32(b + 18, o->version);
    se05x_put_u16(b + 22, o->size);
    se05x_put_u16(b + 24, o->policy_len);
    b[26] = SESIM_C_COUNT;
    size_t p = OBJ_HDR;
    memcpy(b + p, o->policy, o->policy_len);
    p += o->policy_len;
    for (int i = 0; i < SESIM_C_COUNT; i++) {
        se05x_put_u16(b + p, (uint16_t)o->comp[i].len);
        p += 2;
        if (o->comp[i].len)
            memcpy(b + p, o->comp[i].v, o->comp[i].len);
        p += o->comp[i].len;
    }
    b[p++] = 0; /* reserved */
    if (!sha256(b, p, b + p)) {
        OPENSSL_clear_free(b, n);
        return NULL;
    }
    *outlen = n;
    return b;
}

static se05x_status obj_parse(const uint8_t *b, size_t n, sesim_obj *o)
{
    uint8_t md[32];
    sesim_obj_init(o);
    if (n < OBJ_HDR + 1 + 32 || memcmp(b, OBJ_MAGIC, 4) != 0 ||
        se05x_get_u16(b + 4) != OBJ_FORMAT || b[26] != SESIM_C_COUNT)
        return SE05X_ERR_IO;
    if (!sha256(b, n - 32, md) || CRYPTO_memcmp(md, b + n - 32, 32) != 0)
        return SE05X_ERR_IO;
    o->id = se05x_get_u32(b + 6);
    o->type = b[10];
    o->curve = b[11];
    o->origin = b[12];
    o->auth = b[13] & 1;
    o->transient = false;
    o->max_attempts = se05x_get_u16(b + 14);
    o->failed_attempts = se05x_get_u16(b + 16);
    o->version = se05x_get_u32(b + 18);
    o->size = se05x_get_u16(b + 22);
    o->policy_len = se05x_get_u16(b + 24);
    size_t end = n - 33, p = OBJ_HDR;
    if (o->policy_len > sizeof(o->policy) || o->policy_len > end - p)
        return SE05X_ERR_IO;
    memcpy(o->policy, b + p, o->policy_len);
    p += o->policy_len;
    for (int i = 0; i < SESIM_C_COUNT; i++) {
        if (end - p < 2)
            goto bad;
        size_t l = se05x_get_u16(b + p);
        p += 2;
        if (l > end - p)
            goto bad;
        if (l && sesim_obj_set_comp(o, i, b + p, l) != SE05X_OK)
            goto bad;
        p += l;
    }
    if (p != end)
        goto bad;
    return SE05X_OK;
bad:
    sesim_obj_free(o);
    return SE05X_ERR_IO;
}

/* ---- files -------------------------------------------------------------- */

static store_state *st(sesim *s) { return (store_state *)s->store; }

static void obj_path(const store_state *ss, uint32_t id, char *out, size_t cap)
{
    se05x_objname_path(ss->objdir, id, out, cap);
}

static se05x_status fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return SE05X_ERR_IO;
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? SE05X_OK : SE05X_ERR_IO;
}

static se05x_status write_all(int fd, const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return SE05X_ERR_IO;
        }
        b += w;
        n -= (size_t)w;
    }
    return SE05X_OK;
}

/* Read a whole file (bounded) into a malloc'ed buffer; its identity (from
 * the open descriptor) into *fid when fid is not NULL. */
static se05x_status read_file(const char *path, uint8_t **out, size_t *outlen, sesim_file_id *fid)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? SE05X_ERR_NOT_FOUND : SE05X_ERR_IO;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 0 || (size_t)sb.st_size > OBJ_MAX_FILE) {
        close(fd);
        return SE05X_ERR_IO;
    }
    if (fid)
        sesim_file_id_from_stat(fid, &sb);
    size_t n = (size_t)sb.st_size, got = 0;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        close(fd);
        return SE05X_ERR_NOMEM;
    }
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(b);
        return SE05X_ERR_IO;
    }
    *out = b;
    *outlen = n;
    return SE05X_OK;
}

/* Parse a file image of object id; logs a corrupt one. */
static se05x_status parse_image(sesim *s, const char *path, uint32_t id, const uint8_t *b,
                                size_t n, sesim_obj *out)
{
    se05x_status rc = obj_parse(b, n, out);
    if (rc == SE05X_OK && out->id != id) {
        sesim_obj_free(out);
        rc = SE05X_ERR_IO;
    }
    if (rc != SE05X_OK)
        sesim_log(s, "store: ignoring corrupt object file %s", path);
    return rc;
}

/* Read and parse without the cache (open-time scan). */
static se05x_status load_file(sesim *s, const char *path, uint32_t id, sesim_obj *out)
{
    uint8_t *b;
    size_t n;
    se05x_status rc = read_file(path, &b, &n, NULL);
    if (rc != SE05X_OK)
        return rc;
    rc = parse_image(s, path, id, b, n, out);
    OPENSSL_clear_free(b, n);
    return rc;
}

/* Load a persistent object through the cache: stat() the file, trust an
 * unchanged non-racy entry, else read the file and confirm or (re)fill
 * the entry (objcache.c explains the rules). */
static se05x_status load_cached(sesim *s, const char *path, uint32_t id, sesim_obj *out)
{
    store_state *ss = st(s);
    struct stat sb;
    sesim_file_id fid;
    if (stat(path, &sb) != 0) {
        sesim_objcache_drop(ss->cache, id);
        return errno == ENOENT ? SE05X_ERR_NOT_FOUND : SE05X_ERR_IO;
    }
    sesim_file_id_from_stat(&fid, &sb);
    const sesim_obj *c = sesim_objcache_lookup(ss->cache, id, &fid);
    if (c)
        return obj_copy(out, c);
    int64_t t0 = sesim_objcache_now(); /* before the read: see objcache.c */
    uint8_t *b;
    size_t n;
    se05x_status rc = read_file(path, &b, &n, &fid);
    if (rc != SE05X_OK) {
        sesim_objcache_drop(ss->cache, id);
        return rc;
    }
    c = sesim_objcache_confirm(ss->cache, id, &fid, t0, b, n);
    if (c) {
        OPENSSL_clear_free(b, n);
        return obj_copy(out, c);
    }
    sesim_obj o;
    rc = parse_image(s, path, id, b, n, &o);
    if (rc == SE05X_OK) {
        c = sesim_objcache_put(ss->cache, &fid, t0, b, n, &o);
        if (c)
            rc = obj_copy(out, c);
        else
            *out = o; /* not cached: hand the parsed object over */
    }
    OPENSSL_clear_free(b, n);
    return rc;
}

/* Remove stale temporary files; quarantine corrupt object files. */
static void store_scan(sesim *s)
{
    store_state *ss = st(s);
    DIR *d = opendir(ss->objdir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096], bad[4200];
    while ((e = readdir(d)) != NULL) {
        uint32_t id;
        snprintf(path, sizeof(path), "%s/%s", ss->objdir, e->d_name);
        if (strncmp(e->d_name, ".tmp.", 5) == 0) {
            sesim_log(s, "store: removing stale temporary file %s", path);
            unlink(path);
        } else if (se05x_objname_parse(e->d_name, &id)) {
            sesim_obj o;
            if (load_file(s, path, id, &o) == SE05X_OK) {
                sesim_obj_free(&o);
            } else {
                snprintf(bad, sizeof(bad), "%s.corrupt", path);
                sesim_log(s, "store: quarantining corrupt object file as %s", bad);
                rename(path, bad);
            }
        }
    }
    closedir(d);
    fsync_dir(ss->objdir);
}

se05x_status sesim_store_open(sesim *s)
{
    store_state *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return SE05X_ERR_NOMEM;
    size_t n = strlen(s->dir) + 16;
    ss->objdir = malloc(n);
    if (!ss->objdir) {
        free(ss);
        return SE05X_ERR_NOMEM;
    }
    snprintf(ss->objdir, n, "%s/objects", s->dir);
    ss->cache = sesim_objcache_new();
    if (!ss->cache) {
        free(ss->objdir);
        free(ss);
        return SE05X_ERR_NOMEM;
    }
    if (mkdir(ss->objdir, 0700) != 0 && errno != EEXIST) {
        sesim_log(s, "store: cannot create %s: %s", ss->objdir, strerror(errno));
        sesim_objcache_free(ss->cache);
        free(ss->objdir);
        free(ss);
        return SE05X_ERR_IO;
    }
    s->store = ss;
    store_scan(s);
    return SE05X_OK;
}

void sesim_store_close(sesim *s)
{
    store_state *ss = st(s);
    if (!ss)
        return;
    sesim_store_drop_transient(s);
    sesim_objcache_free(ss->cache);
    free(ss->objdir);
    free(ss);
    s->store = NULL;
}

/* ---- transient objects ---------------------------------------------- */

static sesim_obj *trans_find(store_state *ss, uint32_t id)
{
    for (size_t i = 0; i < ss->ntrans; i++)
        if (ss->trans[i].id == id)
            return &ss->trans[i];
    return NULL;
}

void sesim_store_drop_transient(sesim *s)
{
    store_state *ss = st(s);
    for (size_t i = 0; i < ss->ntrans; i++)
        sesim_obj_free(&ss->trans[i]);
    free(ss->trans);
    ss->trans = NULL;
    ss->ntrans = 0;
}

static se05x_status trans_save(store_state *ss, const sesim_obj *o)
{
    sesim_obj copy;
    if (obj_copy(&copy, o) != SE05X_OK)
        return SE05X_ERR_NOMEM;
    copy.transient = true;
    sesim_obj *t = trans_find(ss, o->id);
    if (t) {
        sesim_obj_free(t);
        *t = copy;
        return SE05X_OK;
    }
    sesim_obj *n = realloc(ss->trans, (ss->ntrans + 1) * sizeof(*n));
    if (!n) {
        sesim_obj_free(&copy);
        return SE05X_ERR_NOMEM;
    }
    ss->trans = n;
    ss->trans[ss->ntrans++] = copy;
    return SE05X_OK;
}

/* ---- public store API -------------------------------------------------- */

se05x_status sesim_store_load(sesim *s, uint32_t id, sesim_obj *out)
{
    store_state *ss = st(s);
    sesim_obj *t = trans_find(ss, id);
    if (t)
        return obj_copy(out, t);
    char path[4096];
    obj_path(ss, id, path, sizeof(path));
    se05x_status rc = load_cached(s, path, id, out);
    return rc == SE05X_OK ? SE05X_OK : SE05X_ERR_NOT_FOUND;
}

EVP_PKEY *sesim_store_pkey(sesim *s, const sesim_obj *o)
{
    store_state *ss = st(s);
    return sesim_objcache_pkey(ss ? ss->cache : NULL, o);
}

EVP_PKEY_CTX *sesim_store_sign_ctx(sesim *s, const sesim_obj *o)
{
    store_state *ss = st(s);
    return sesim_objcache_sign_ctx(ss ? ss->cache : NULL, o);
}

void sesim_store_cache_stats(sesim *s, sesim_objcache_stats *out)
{
    if (!s) {
        sesim_objcache_get_stats(NULL, out);
        return;
    }
    pthread_mutex_lock(&s->mu); /* the card's process mutex (recursive) */
    store_state *ss = st(s);
    sesim_objcache_get_stats(ss ? ss->cache : NULL, out);
    pthread_mutex_unlock(&s->mu);
}

bool sesim_store_exists(sesim *s, uint32_t id)
{
    sesim_obj o;
    if (sesim_store_load(s, id, &o) != SE05X_OK)
        return false;
    sesim_obj_free(&o);
    return true;
}

static size_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0 ? (size_t)sb.st_size : 0;
}

se05x_status sesim_store_save(sesim *s, const sesim_obj *o)
{
    store_state *ss = st(s);
    if (o->transient)
        return trans_save(ss, o);
    char path[4096], tmp[4200];
    obj_path(ss, o->id, path, sizeof(path));
    sesim_objcache_drop(ss->cache, o->id); /* whatever happens below */
    size_t n;
    size_t used = sesim_store_used(s) - file_size(path);
    if (used + sesim_obj_footprint(o) > s->opts.persistent_mem)
        return SE05X_ERR_BUFFER;
    uint8_t *b = obj_serialise(o, &n);
    if (!b)
        return SE05X_ERR_NOMEM;
    snprintf(tmp, sizeof(tmp), "%s/.tmp.%08X.%ld", ss->objdir, (unsigned)o->id, (long)getpid());
    se05x_status rc = SE05X_ERR_IO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        rc = write_all(fd, b, n);
        if (rc == SE05X_OK && fsync(fd) != 0)
            rc = SE05X_ERR_IO;
        if (close(fd) != 0)
            rc = SE05X_ERR_IO;
        if (rc == SE05X_OK && rename(tmp, path) != 0)
            rc = SE05X_ERR_IO;
        if (rc == SE05X_OK)
            rc = fsync_dir(ss->objdir);
        if (rc != SE05X_OK)
            unlink(tmp);
    }
    OPENSSL_clear_free(b, n);
    if (rc != SE05X_OK)
        sesim_log(s, "store: cannot write object %08X: %s", (unsigned)o->id, strerror(errno));
    return rc;
}

se05x_status sesim_store_delete(sesim *s, uint32_t id)
{
    store_state *ss = st(s);
    sesim_obj *t = trans_find(ss, id);
    if (t) {
        sesim_obj_free(t);
        *t = ss->trans[--ss->ntrans];
        return SE05X_OK;
    }
    char path[4096];
    obj_path(ss, id, path, sizeof(path));
    sesim_objcache_drop(ss->cache, id);
    if (unlink(path) != 0)
        return errno == ENOENT ? SE05X_ERR_NOT_FOUND : SE05X_ERR_IO;
    return fsync_dir(ss->objdir);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

se05x_status sesim_store_list(sesim *s, uint32_t **ids, size_t *n)
{
    store_state *ss = st(s);
    size_t cap = 16 + ss->ntrans, cnt = 0;
    uint32_t *v = malloc(cap * sizeof(*v));
    if (!v)
        return SE05X_ERR_NOMEM;
    for (size_t i = 0; i < ss->ntrans; i++)
        v[cnt++] = ss->trans[i].id;
    DIR *d = opendir(ss->objdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            uint32_t id;
            if (!se05x_objname_parse(e->d_name, &id) || trans_find(ss, id))
                continue;
            if (cnt == cap) {
                uint32_t *nv = realloc(v, 2 * cap * sizeof(*v));
                if (!nv) {
                    closedir(d);
                    free(v);
                    return SE05X_ERR_NOMEM;
                }
                v = nv;
                cap *= 2;
            }
            v[cnt++] = id;
        }
        closedir(d);
    }
    qsort(v, cnt, sizeof(*v), cmp_u32);
    *ids = v;
    *n = cnt;
    return SE05X_OK;
}

size_t sesim_store_used(sesim *s)
{
    store_state *ss = st(s);
    size_t used = 0;
    DIR *d = opendir(ss->objdir);
    if (!d)
        return 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        uint32_t id;
        if (!se05x_objname_parse(e->d_name, &id))
            continue;
        snprintf(path, sizeof(path), "%s/%s", ss->objdir, e->d_name);
        used += file_size(path);
    }
    closedir(d);
    return used;
}
