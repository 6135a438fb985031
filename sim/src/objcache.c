/* Per-card cache of parsed persistent objects and their EVP_PKEYs, so that
 * a sign does not re-read, re-hash and re-parse the object file and rebuild
 * the key for every APDU. The store (store.c) stays the only writer of the
 * files; this module only decides when a cached entry may be trusted.
 *
 * An entry remembers the file's identity (device, inode, size, mtime and
 * ctime in ns) and the raw file image it was parsed from. It is trusted
 * without reading the file when a stat() of the object file shows the same
 * identity AND the entry is not "racy": the content was last read at a
 * time V (CLOCK_REALTIME, taken before the read) more than
 * OC_RACY_NS after the file's ctime. Any later change to the file -- by
 * this card handle, another handle or another process on the same DIR
 * (all serialised by the card lock), or even an in-place overwrite from
 * outside -- gives it a new inode (rename) or a ctime >= V - one clock
 * tick, which differs from the cached one. A racy entry (file changed
 * recently, ctime granularity may hide a second change) is confirmed by
 * re-reading the file and comparing the bytes with the cached image; the
 * parsed object and key are kept when they are equal. Writes and deletes
 * through the store drop the entry at once.
 *
 * The EVP_PKEY (and an EVP_PKEY_CTX for signing, re-initialised for every
 * use) is shared only with an object of identical key material, under the
 * card lock, so one handle never uses it from two threads at once.
 *
 * Bounded: OC_MAX_ENTRIES entries (least recently used evicted), files
 * larger than OC_MAX_RAW are not cached. Eviction, replacement and close
 * wipe the cached image and components and free the EVP_PKEY. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_internal.h"

#define OC_MAX_ENTRIES 32u
#define OC_MAX_RAW (16u * 1024u)
#define OC_RACY_NS 50000000LL /* 50 ms: several ticks of the coarse file clock */

typedef struct {
    bool used;
    uint32_t id;
    uint64_t last_use;
    sesim_file_id fid;
    int64_t verified_ns; /* CLOCK_REALTIME before the content was last read */
    uint8_t *raw;        /* file image, wiped on free */
    size_t rawlen;
    sesim_obj obj;
    EVP_PKEY *pkey;      /* built lazily by sesim_objcache_pkey */
    EVP_PKEY_CTX *sctx;  /* signing context on pkey, see sesim_objcache_sign_ctx */
} oc_entry;

struct sesim_objcache {
    oc_entry e[OC_MAX_ENTRIES];
    uint64_t clock; /* use counter for LRU */
    sesim_objcache_stats stats;
};

static int64_t ts_ns(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec; }

int64_t sesim_objcache_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return ts_ns(&t);
}

void sesim_file_id_from_stat(sesim_file_id *f, const struct stat *sb)
{
    memset(f, 0, sizeof(*f));
    f->dev = (uint64_t)sb->st_dev;
    f->ino = (uint64_t)sb->st_ino;
    f->size = (int64_t)sb->st_size;
    f->mtime_ns = ts_ns(&sb->st_mtim);
    f->ctime_ns = ts_ns(&sb->st_ctim);
}

static bool fid_equal(const sesim_file_id *a, const sesim_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

sesim_objcache *sesim_objcache_new(void) { return calloc(1, sizeof(sesim_objcache)); }

static void entry_clear(oc_entry *e)
{
    if (!e->used)
        return;
    EVP_PKEY_CTX_free(e->sctx);
    EVP_PKEY_free(e->pkey);
    if (e->raw)
        OPENSSL_clear_free(e->raw, e->rawlen);
    sesim_obj_free(&e->obj);
    memset(e, 0, sizeof(*e));
}

void sesim_objcache_free(sesim_objcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < OC_MAX_ENTRIES; i++)
        entry_clear(&c->e[i]);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

static oc_entry *find(sesim_objcache *c, uint32_t id)
{
    for (size_t i = 0; i < OC_MAX_ENTRIES; i++)
        if (c->e[i].used && c->e[i].id == id)
            return &c->e[i];
    return NULL;
}

void sesim_objcache_drop(sesim_objcache *c, uint32_t id)
{
    oc_entry *e = c ? find(c, id) : NULL;
    if (e) {
        entry_clear(e);
        c->stats.drops++;
    }
}

void sesim_objcache_clear(sesim_objcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < OC_MAX_ENTRIES; i++)
        entry_clear(&c->e[i]);
}

static bool racy(const oc_entry *e) { return e->fid.ctime_ns + OC_RACY_NS >= e->verified_ns; }

const sesim_obj *sesim_objcache_lookup(sesim_objcache *c, uint32_t id, const sesim_file_id *fid)
{
    oc_entry *e = c ? find(c, id) : NULL;
    if (!e)
        return NULL;
    if (!fid_equal(&e->fid, fid)) {
        entry_clear(e); /* the file changed: the entry is useless now */
        c->stats.stale++;
        return NULL;
    }
    if (racy(e))
        return NULL; /* keep it: sesim_objcache_confirm may revive it */
    e->last_use = ++c->clock;
    c->stats.hits++;
    return &e->obj;
}

const sesim_obj *sesim_objcache_confirm(sesim_objcache *c, uint32_t id, const sesim_file_id *fid,
                                        int64_t read_ns, const uint8_t *raw, size_t rawlen)
{
    oc_entry *e = c ? find(c, id) : NULL;
    if (!e)
        return NULL;
    if (e->rawlen != rawlen || CRYPTO_memcmp(e->raw, raw, rawlen) != 0) {
        entry_clear(e);
        c->stats.stale++;
        return NULL;
    }
    e->fid = *fid;
    e->verified_ns = read_ns;
    e->last_use = ++c->clock;
    c->stats.confirms++;
    return &e->obj;
}

static oc_entry *victim(sesim_objcache *c)
{
    oc_entry *v = &c->e[0];
    for (size_t i = 0; i < OC_MAX_ENTRIES; i++) {
        if (!c->e[i].used)
            return &c->e[i];
        if (c->e[i].last_use < v->last_use)
            v = &c->e[i];
    }
    c->stats.evictions++;
    return v;
}

const sesim_obj *sesim_objcache_put(sesim_objcache *c, const sesim_file_id *fid, int64_t read_ns,
                                    const uint8_t *raw, size_t rawlen, sesim_obj *o)
{
    if (!c || rawlen > OC_MAX_RAW || o->transient)
        return NULL;
    oc_entry *old = find(c, o->id);
    if (old)
        entry_clear(old); /* replaced below */
    uint8_t *copy = malloc(rawlen ? rawlen : 1);
    if (!copy)
        return NULL;
    memcpy(copy, raw, rawlen);
    oc_entry *e = victim(c);
    entry_clear(e);
    e->used = true;
    e->id = o->id;
    e->fid = *fid;
    e->verified_ns = read_ns;
    e->raw = copy;
    e->rawlen = rawlen;
    e->obj = *o; /* takes the components over */
    sesim_obj_init(o);
    e->last_use = ++c->clock;
    c->stats.fills++;
    return &e->obj;
}

/* Same key material as the cached object (what the EVP_PKEY is built from)? */
static bool same_key(const sesim_obj *a, const sesim_obj *b)
{
    if (a->id != b->id || a->type != b->type || a->curve != b->curve)
        return false;
    for (int i = 0; i < SESIM_C_COUNT; i++) {
        if (a->comp[i].len != b->comp[i].len)
            return false;
        if (a->comp[i].len && CRYPTO_memcmp(a->comp[i].v, b->comp[i].v, a->comp[i].len) != 0)
            return false;
    }
    return true;
}

EVP_PKEY *sesim_objcache_pkey(sesim_objcache *c, const sesim_obj *o)
{
    oc_entry *e = c && !o->transient ? find(c, o->id) : NULL;
    if (!e || !same_key(&e->obj, o))
        return sesim_obj_to_pkey(o);
    if (!e->pkey) {
        e->pkey = sesim_obj_to_pkey(o);
        if (!e->pkey)
            return NULL;
        c->stats.pkey_builds++;
    } else {
        c->stats.pkey_hits++;
    }
    return EVP_PKEY_up_ref(e->pkey) == 1 ? e->pkey : NULL;
}

EVP_PKEY_CTX *sesim_objcache_sign_ctx(sesim_objcache *c, const sesim_obj *o)
{
    oc_entry *e = c && !o->transient ? find(c, o->id) : NULL;
    if (!e || !e->pkey || !same_key(&e->obj, o))
        return NULL;
    if (!e->sctx)
        e->sctx = EVP_PKEY_CTX_new_from_pkey(NULL, e->pkey, NULL);
    return e->sctx;
}

void sesim_objcache_get_stats(const sesim_objcache *c, sesim_objcache_stats *out)
{
    if (c)
        *out = c->stats;
    else
        memset(out, 0, sizeof(*out));
}
