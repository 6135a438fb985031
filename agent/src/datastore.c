/* DS_FS and DS_PLAIN datastores (spec §2.8). Both keep the committed
 * contents in memory and stage a transaction in a heap buffer of the
 * ALLOCATE'd size; only COMMIT publishes it. DS_FS persists it on the A/B
 * file pair: the staged bytes go to <base>.<w>.tmp, are fsync'ed, renamed to
 * <base>.<w> (atomic), then the previous file is truncated. A crash before
 * the rename leaves the old file current; between rename and truncate both
 * files are valid and the lower index wins (either is a complete version). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "el2go/datastore.h"
#include "nxp/Types.pb-c.h"

struct el2go_datastore {
    uint32_t id;
    bool fs;
    el2go_ds_validator validator;
    char *base;   /* FS: basename of the A/B files */
    int cur_file; /* FS: index of the current file, -1 if none */
    uint8_t *cur; /* committed contents */
    size_t cur_len;
    uint8_t *txn; /* staged transaction, NULL if none */
    size_t txn_len;
};

static bool is_valid(const el2go_datastore *ds, const uint8_t *d, size_t n)
{
    if (ds->validator)
        return ds->validator(d, n);
    return n > 0;
}

static char *file_name(const char *base, int idx, const char *suffix)
{
    size_t n = strlen(base) + 16;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s.%d%s", base, idx, suffix);
    return p;
}

/* Contents may embed client keys or passwords: wipe before freeing. */
static void wipe_free(uint8_t *p, size_t n)
{
    if (p)
        OPENSSL_cleanse(p, n);
    free(p);
}

/* Whole file into a malloc'ed buffer; NULL if missing, unreadable or too big. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(EL2GO_DS_MAX_SIZE + 1);
    size_t n = buf ? fread(buf, 1, EL2GO_DS_MAX_SIZE + 1, f) : 0;
    bool err = ferror(f) != 0;
    fclose(f);
    if (!buf || err || n > EL2GO_DS_MAX_SIZE) {
        wipe_free(buf, n);
        return NULL;
    }
    uint8_t *fit = realloc(buf, n ? n : 1); /* do not keep 1 MiB per store */
    if (fit)
        buf = fit;
    *len = n;
    return buf;
}

static void fs_load(el2go_datastore *ds)
{
    for (int i = 0; i < 2; i++) {
        char *tmp = file_name(ds->base, i, ".tmp");
        if (tmp)
            unlink(tmp); /* a staged file never committed */
        free(tmp);
    }
    for (int i = 0; i < 2 && ds->cur_file < 0; i++) {
        char *p = file_name(ds->base, i, "");
        size_t n = 0;
        uint8_t *d = p ? slurp(p, &n) : NULL;
        free(p);
        if (d && is_valid(ds, d, n)) {
            ds->cur = d;
            ds->cur_len = n;
            ds->cur_file = i;
        } else {
            wipe_free(d, n);
        }
    }
}

el2go_status el2go_ds_fs_open(uint32_t id, const char *basename, el2go_ds_validator v,
                              el2go_datastore **out)
{
    if (!basename || !*basename || !out)
        return EL2GO_ERR_ARG;
    el2go_datastore *ds = calloc(1, sizeof(*ds));
    if (!ds || !(ds->base = strdup(basename))) {
        free(ds);
        return EL2GO_ERR_NOMEM;
    }
    ds->id = id;
    ds->fs = true;
    ds->validator = v;
    ds->cur_file = -1;
    fs_load(ds);
    *out = ds;
    return EL2GO_OK;
}

el2go_status el2go_ds_plain_new(uint32_t id, el2go_datastore **out)
{
    if (!out)
        return EL2GO_ERR_ARG;
    el2go_datastore *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return EL2GO_ERR_NOMEM;
    ds->id = id;
    ds->cur_file = -1;
    *out = ds;
    return EL2GO_OK;
}

void el2go_ds_free(el2go_datastore *ds)
{
    if (!ds)
        return;
    wipe_free(ds->cur, ds->cur_len);
    wipe_free(ds->txn, ds->txn_len);
    free(ds->base);
    free(ds);
}

uint32_t el2go_ds_id(const el2go_datastore *ds) { return ds->id; }

int el2go_ds_type(const el2go_datastore *ds)
{
    return ds->fs ? NXP__IOT__ENDPOINT_TYPE__DS_FS : NXP__IOT__ENDPOINT_TYPE__DS_PLAIN;
}

size_t el2go_ds_size(const el2go_datastore *ds) { return ds->cur_len; }

bool el2go_ds_in_transaction(const el2go_datastore *ds) { return ds->txn != NULL; }

el2go_status el2go_ds_allocate(el2go_datastore *ds, size_t len)
{
    if (!ds || len == 0)
        return EL2GO_ERR_PROTOCOL;
    if (len > EL2GO_DS_MAX_SIZE)
        return EL2GO_ERR_TOO_LARGE;
    uint8_t *p = calloc(1, len);
    if (!p)
        return EL2GO_ERR_NOMEM;
    wipe_free(ds->txn, ds->txn_len); /* ALLOCATE inside a transaction restarts it */
    ds->txn = p;
    ds->txn_len = len;
    return EL2GO_OK;
}

el2go_status el2go_ds_write(el2go_datastore *ds, size_t off, const uint8_t *data, size_t len)
{
    if (!ds || (!data && len))
        return EL2GO_ERR_ARG;
    if (!ds->txn || off > ds->txn_len || len > ds->txn_len - off)
        return EL2GO_ERR_PROTOCOL;
    if (len)
        memcpy(ds->txn + off, data, len);
    return EL2GO_OK;
}

static el2go_status write_file(const char *path, const uint8_t *d, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return EL2GO_ERR_IO;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, d + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return EL2GO_ERR_IO;
        }
        done += (size_t)w;
    }
    int rc = fsync(fd);
    return close(fd) == 0 && rc == 0 ? EL2GO_OK : EL2GO_ERR_IO;
}

static void sync_dir(const char *base)
{
    char *copy = strdup(base);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

static el2go_status fs_commit(el2go_datastore *ds)
{
    int w = ds->cur_file == 0 ? 1 : 0;
    char *tmp = file_name(ds->base, w, ".tmp");
    char *dst = file_name(ds->base, w, "");
    char *old = ds->cur_file >= 0 ? file_name(ds->base, ds->cur_file, "") : NULL;
    el2go_status st = tmp && dst && (old || ds->cur_file < 0) ? EL2GO_OK : EL2GO_ERR_NOMEM;
    if (st == EL2GO_OK)
        st = write_file(tmp, ds->txn, ds->txn_len);
    if (st == EL2GO_OK && rename(tmp, dst) != 0)
        st = EL2GO_ERR_IO;
    if (st == EL2GO_OK) {
        sync_dir(ds->base);
        if (old && truncate(old, 0) != 0)
            st = EL2GO_OK; /* the new file is current either way */
        ds->cur_file = w;
    } else if (tmp) {
        unlink(tmp);
    }
    free(tmp);
    free(dst);
    free(old);
    return st;
}

el2go_status el2go_ds_commit(el2go_datastore *ds)
{
    if (!ds)
        return EL2GO_ERR_ARG;
    if (!ds->txn)
        return EL2GO_ERR_PROTOCOL;
    if (ds->fs) {
        el2go_status st = fs_commit(ds);
        if (st != EL2GO_OK)
            return st;
    }
    wipe_free(ds->cur, ds->cur_len);
    ds->cur = ds->txn;
    ds->cur_len = ds->txn_len;
    ds->txn = NULL;
    ds->txn_len = 0;
    return EL2GO_OK;
}

void el2go_ds_abort(el2go_datastore *ds)
{
    if (!ds)
        return;
    wipe_free(ds->txn, ds->txn_len);
    ds->txn = NULL;
    ds->txn_len = 0;
}

el2go_status el2go_ds_read(const el2go_datastore *ds, size_t off, uint8_t *out, size_t len,
                           size_t *got)
{
    if (!ds || !got || (!out && len))
        return EL2GO_ERR_ARG;
    *got = 0;
    if (off >= ds->cur_len)
        return EL2GO_OK;
    size_t n = ds->cur_len - off < len ? ds->cur_len - off : len;
    if (n)
        memcpy(out, ds->cur + off, n);
    *got = n;
    return EL2GO_OK;
}

const uint8_t *el2go_ds_data(const el2go_datastore *ds, size_t *len)
{
    *len = ds->cur_len;
    return ds->cur;
}

el2go_status el2go_ds_store(el2go_datastore *ds, const uint8_t *data, size_t len)
{
    el2go_status st = el2go_ds_allocate(ds, len);
    if (st == EL2GO_OK)
        st = el2go_ds_write(ds, 0, data, len);
    if (st == EL2GO_OK)
        st = el2go_ds_commit(ds);
    if (st != EL2GO_OK)
        el2go_ds_abort(ds);
    return st;
}
