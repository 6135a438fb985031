/* el2go-server fleet store in SQLite: groups, allowlisted devices (by
 * normalized UID), claim codes, secure-object and service definitions per
 * group, and per-device provisioning state. One connection per process;
 * every statement is prepared, bound and finalized locally. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "el2go_server/server.h"

struct el2gs_store {
    sqlite3 *db;
    char err[256];
};

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS groups(name TEXT PRIMARY KEY);"
    "CREATE TABLE IF NOT EXISTS devices(uid TEXT PRIMARY KEY, grp TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL DEFAULT 'NEW', last_seen TEXT NOT NULL DEFAULT '',"
    " last_status INTEGER NOT NULL DEFAULT 0, connections INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS claimcodes(code TEXT PRIMARY KEY, grp TEXT NOT NULL,"
    " lim INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS objects(grp TEXT NOT NULL, name TEXT NOT NULL,"
    " key_id INTEGER NOT NULL, type INTEGER NOT NULL, PRIMARY KEY(grp, key_id));"
    "CREATE TABLE IF NOT EXISTS services(grp TEXT NOT NULL, id INTEGER NOT NULL,"
    " type INTEGER NOT NULL, hostname TEXT, port INTEGER, client_id TEXT, username TEXT,"
    " key_id INTEGER, cert_id INTEGER, azure_scope TEXT, metadata TEXT, PRIMARY KEY(grp, id));"
    "CREATE TABLE IF NOT EXISTS devobjs(uid TEXT NOT NULL, key_id INTEGER NOT NULL,"
    " state INTEGER NOT NULL, serial TEXT NOT NULL DEFAULT '', PRIMARY KEY(uid, key_id));";

bool el2gs_uid_normalize(const char *in, char out[EL2GS_UID_HEX + 1])
{
    static const char hx[] = "0123456789ABCDEF";
    if (!in)
        return false;
    size_t n = strlen(in);
    if (n == 2 + EL2GS_UID_HEX && in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
        for (size_t i = 0; i < EL2GS_UID_HEX; i++) {
            const char *p = strchr(hx, in[2 + i] >= 'a' && in[2 + i] <= 'f' ? in[2 + i] - 32 : in[2 + i]);
            if (!p || !*p)
                return false;
            out[i] = *p;
        }
        out[EL2GS_UID_HEX] = 0;
        return true;
    }
    if (n != 42)
        return false;
    for (size_t i = 0; i < n; i++)
        if (in[i] < '0' || in[i] > '9')
            return false;
    BIGNUM *bn = NULL;
    uint8_t b[18];
    bool ok = BN_dec2bn(&bn, in) == 42 && BN_num_bytes(bn) <= 18 && BN_bn2binpad(bn, b, 18) == 18;
    BN_free(bn);
    if (!ok)
        return false;
    for (size_t i = 0; i < 18; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[EL2GS_UID_HEX] = 0;
    return true;
}

const char *el2gs_prov_state_name(int st)
{
    switch (st) {
    case EL2GS_GENERATION_TRIGGERED: return "GENERATION_TRIGGERED";
    case EL2GS_GENERATION_COMPLETED: return "GENERATION_COMPLETED";
    case EL2GS_GENERATION_FAILED: return "GENERATION_FAILED";
    case EL2GS_PROVISIONING_COMPLETED: return "PROVISIONING_COMPLETED";
    case EL2GS_PROVISIONING_FAILED: return "PROVISIONING_FAILED";
    case EL2GS_GENERATION_ON_CONNECTION: return "GENERATION_ON_CONNECTION";
    default: return "NONE";
    }
}

el2gs_key_type el2gs_key_type_parse(const char *n)
{
    if (!n)
        return 0;
    if (!strcmp(n, "ec-p256"))
        return EL2GS_KEY_EC_P256;
    if (!strcmp(n, "ec-p384"))
        return EL2GS_KEY_EC_P384;
    if (!strcmp(n, "rsa2048"))
        return EL2GS_KEY_RSA2048;
    return 0;
}

const char *el2gs_key_type_name(el2gs_key_type t)
{
    return t == EL2GS_KEY_EC_P256 ? "ec-p256" : t == EL2GS_KEY_EC_P384 ? "ec-p384"
         : t == EL2GS_KEY_RSA2048 ? "rsa2048" : "unknown";
}

static el2go_status dberr(el2gs_store *s, const char *what)
{
    snprintf(s->err, sizeof(s->err), "%s: %s", what, sqlite3_errmsg(s->db));
    return EL2GO_ERR_IO;
}

el2go_status el2gs_store_open(const char *path, el2gs_store **out, char *err, size_t errlen)
{
    el2gs_store *s = calloc(1, sizeof(*s));
    if (!s)
        return EL2GO_ERR_NOMEM;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(s->db, 10000) != SQLITE_OK ||
        sqlite3_exec(s->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        if (err)
            snprintf(err, errlen, "database %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "no memory");
        sqlite3_close(s->db);
        free(s);
        return EL2GO_ERR_IO;
    }
    *out = s;
    return EL2GO_OK;
}

void el2gs_store_close(el2gs_store *s)
{
    if (s) {
        sqlite3_close(s->db);
        free(s);
    }
}

const char *el2gs_store_err(const el2gs_store *s)
{
    return s->err;
}

/* Prepare sql and bind args described by fmt: 's' text, 'i' int64. */
static sqlite3_stmt *prep(el2gs_store *s, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        dberr(s, "prepare");
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 's')
            sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
    }
    va_end(ap);
    return st;
}

/* Run a statement that returns no rows; *changes gets the row count. */
static el2go_status run(el2gs_store *s, sqlite3_stmt *st, int *changes)
{
    if (!st)
        return EL2GO_ERR_IO;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        if (rc == SQLITE_CONSTRAINT) {
            snprintf(s->err, sizeof(s->err), "already exists");
            return EL2GO_ERR_STATE;
        }
        return dberr(s, "write");
    }
    if (changes)
        *changes = sqlite3_changes(s->db);
    return EL2GO_OK;
}

static void cpy(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* BEGIN IMMEDIATE: takes the write lock at once, so what a removal counts
 * and deletes is one consistent snapshot. */
static el2go_status tx_begin(el2gs_store *s)
{
    return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
               ? EL2GO_OK
               : dberr(s, "begin transaction");
}

/* COMMIT when st is EL2GO_OK, else ROLLBACK (keeping the first error). */
static el2go_status tx_end(el2gs_store *s, el2go_status st)
{
    if (st == EL2GO_OK) {
        if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
            return EL2GO_OK;
        st = dberr(s, "commit");
    }
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* Run statements (each bound to the single text argument arg) in order,
 * stopping at the first failure. */
static el2go_status run_all(el2gs_store *s, const char *const *sql, size_t n, const char *arg)
{
    el2go_status st = EL2GO_OK;
    for (size_t i = 0; i < n && st == EL2GO_OK; i++)
        st = run(s, prep(s, sql[i], "s", arg), NULL);
    return st;
}

el2go_status el2gs_group_add(el2gs_store *s, const char *name)
{
    if (!name || !*name || strlen(name) >= 64) {
        snprintf(s->err, sizeof(s->err), "group name must be 1..63 characters");
        return EL2GO_ERR_ARG;
    }
    return run(s, prep(s, "INSERT INTO groups(name) VALUES(?)", "s", name), NULL);
}

el2go_status el2gs_group_exists(el2gs_store *s, const char *name, bool *exists)
{
    sqlite3_stmt *st = prep(s, "SELECT 1 FROM groups WHERE name=?", "s", name);
    if (!st)
        return EL2GO_ERR_IO;
    *exists = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return EL2GO_OK;
}

/* What still refers to group: devices, claim codes, objects, services. */
static el2go_status group_refs(el2gs_store *s, const char *name, int n[4])
{
    sqlite3_stmt *st = prep(s, "SELECT (SELECT count(*) FROM devices WHERE grp=?1),"
                               " (SELECT count(*) FROM claimcodes WHERE grp=?1),"
                               " (SELECT count(*) FROM objects WHERE grp=?1),"
                               " (SELECT count(*) FROM services WHERE grp=?1)", "s", name);
    if (!st)
        return EL2GO_ERR_IO;
    el2go_status e = EL2GO_OK;
    if (sqlite3_step(st) == SQLITE_ROW)
        for (int i = 0; i < 4; i++)
            n[i] = sqlite3_column_int(st, i);
    else
        e = dberr(s, "read");
    sqlite3_finalize(st);
    return e;
}

/* Inside the transaction: refuse a group in use unless force, else delete. */
static el2go_status group_remove_tx(el2gs_store *s, const char *name, bool force)
{
    static const char *const DEL[] = {
        ("DELETE FROM devobjs WHERE uid IN (SELECT uid FROM devices WHERE grp=?1)"
         " AND key_id IN (SELECT key_id FROM objects WHERE grp=?1)"),
        "DELETE FROM objects WHERE grp=?1",
        "DELETE FROM services WHERE grp=?1",
        "DELETE FROM claimcodes WHERE grp=?1",
        "UPDATE devices SET grp='' WHERE grp=?1",
        "DELETE FROM groups WHERE name=?1",
    };
    bool ex = false;
    int n[4] = {0};
    el2go_status e = el2gs_group_exists(s, name, &ex);
    if (e == EL2GO_OK && !ex) {
        snprintf(s->err, sizeof(s->err), "no group named '%s'", name);
        return EL2GO_ERR_NOT_FOUND;
    }
    if (e == EL2GO_OK)
        e = group_refs(s, name, n);
    if (e == EL2GO_OK && !force && (n[0] || n[1] || n[2] || n[3])) {
        snprintf(s->err, sizeof(s->err),
                 "group '%s' is in use: %d device(s), %d claim code(s), %d object(s), "
                 "%d service(s) (remove them first, or use --force)", name, n[0], n[1], n[2], n[3]);
        return EL2GO_ERR_STATE;
    }
    if (e == EL2GO_OK)
        e = run_all(s, DEL, sizeof(DEL) / sizeof(DEL[0]), name);
    return e;
}

el2go_status el2gs_group_remove(el2gs_store *s, const char *name, bool force)
{
    if (!name || !*name) {
        snprintf(s->err, sizeof(s->err), "group name must be 1..63 characters");
        return EL2GO_ERR_ARG;
    }
    el2go_status e = tx_begin(s);
    if (e == EL2GO_OK)
        e = tx_end(s, group_remove_tx(s, name, force));
    return e;
}

el2go_status el2gs_group_list(el2gs_store *s, void (*fn)(void *, const char *), void *ctx)
{
    sqlite3_stmt *st = prep(s, "SELECT name FROM groups ORDER BY name", "");
    if (!st)
        return EL2GO_ERR_IO;
    while (sqlite3_step(st) == SQLITE_ROW)
        fn(ctx, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return EL2GO_OK;
}

static el2go_status need_group(el2gs_store *s, const char *group)
{
    bool ex = false;
    if (!group || !*group)
        return EL2GO_OK;
    el2go_status e = el2gs_group_exists(s, group, &ex);
    if (e == EL2GO_OK && !ex) {
        snprintf(s->err, sizeof(s->err), "no group named '%s' (add it with: groups add)", group);
        return EL2GO_ERR_NOT_FOUND;
    }
    return e;
}

el2go_status el2gs_device_add(el2gs_store *s, const char *uid, const char *group)
{
    el2go_status e = need_group(s, group);
    if (e != EL2GO_OK)
        return e;
    return run(s, prep(s, "INSERT INTO devices(uid, grp) VALUES(?1, ?2) "
                          "ON CONFLICT(uid) DO UPDATE SET grp=?2", "ss", uid, group ? group : ""),
               NULL);
}

static el2go_status device_remove_tx(el2gs_store *s, const char *uid)
{
    int n = 0;
    el2go_status e = run(s, prep(s, "DELETE FROM devices WHERE uid=?", "s", uid), &n);
    if (e == EL2GO_OK && !n) {
        snprintf(s->err, sizeof(s->err), "device %s is not allowlisted", uid);
        return EL2GO_ERR_NOT_FOUND;
    }
    if (e == EL2GO_OK)
        e = run(s, prep(s, "DELETE FROM devobjs WHERE uid=?", "s", uid), NULL);
    return e;
}

el2go_status el2gs_device_remove(el2gs_store *s, const char *uid)
{
    el2go_status e = tx_begin(s);
    if (e == EL2GO_OK)
        e = tx_end(s, device_remove_tx(s, uid));
    return e;
}

static void row_device(sqlite3_stmt *st, el2gs_device *d)
{
    memset(d, 0, sizeof(*d));
    cpy(d->uid, sizeof(d->uid), sqlite3_column_text(st, 0));
    cpy(d->group, sizeof(d->group), sqlite3_column_text(st, 1));
    cpy(d->state, sizeof(d->state), sqlite3_column_text(st, 2));
    cpy(d->last_seen, sizeof(d->last_seen), sqlite3_column_text(st, 3));
    d->last_status = sqlite3_column_int(st, 4);
    d->connections = sqlite3_column_int(st, 5);
}

#define DEV_COLS "SELECT uid, grp, state, last_seen, last_status, connections FROM devices"

el2go_status el2gs_device_get(el2gs_store *s, const char *uid, el2gs_device *d)
{
    sqlite3_stmt *st = prep(s, DEV_COLS " WHERE uid=?", "s", uid);
    if (!st)
        return EL2GO_ERR_IO;
    el2go_status e = EL2GO_ERR_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        row_device(st, d);
        e = EL2GO_OK;
    } else {
        snprintf(s->err, sizeof(s->err), "device %s is not allowlisted", uid);
    }
    sqlite3_finalize(st);
    return e;
}

el2go_status el2gs_device_list(el2gs_store *s, void (*fn)(void *, const el2gs_device *), void *ctx)
{
    sqlite3_stmt *st = prep(s, DEV_COLS " ORDER BY uid", "");
    if (!st)
        return EL2GO_ERR_IO;
    el2gs_device d;
    while (sqlite3_step(st) == SQLITE_ROW) {
        row_device(st, &d);
        fn(ctx, &d);
    }
    sqlite3_finalize(st);
    return EL2GO_OK;
}

el2go_status el2gs_device_record(el2gs_store *s, const char *uid, const char *state, int status)
{
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    return run(s, prep(s, "UPDATE devices SET state=?, last_seen=?, last_status=?, "
                          "connections=connections+1 WHERE uid=?", "ssis", state, now,
                       (long long)status, uid),
               NULL);
}

el2go_status el2gs_devobj_get(el2gs_store *s, const char *uid, uint32_t key_id, int *state,
                              char *serial, size_t serial_len)
{
    sqlite3_stmt *st = prep(s, "SELECT state, serial FROM devobjs WHERE uid=? AND key_id=?", "si",
                            uid, (long long)key_id);
    if (!st)
        return EL2GO_ERR_IO;
    *state = 0;
    if (serial_len)
        serial[0] = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *state = sqlite3_column_int(st, 0);
        if (serial_len)
            cpy(serial, serial_len, sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    return EL2GO_OK;
}

el2go_status el2gs_devobj_set(el2gs_store *s, const char *uid, uint32_t key_id, int state,
                              const char *serial)
{
    return run(s, prep(s, "INSERT INTO devobjs(uid, key_id, state, serial) VALUES(?1, ?2, ?3, ?4) "
                          "ON CONFLICT(uid, key_id) DO UPDATE SET state=?3, serial=?4",
                       "siis", uid, (long long)key_id, (long long)state, serial ? serial : ""),
               NULL);
}

el2go_status el2gs_devobj_list(el2gs_store *s, const char *uid,
                               void (*fn)(void *, uint32_t, int, const char *), void *ctx)
{
    sqlite3_stmt *st =
        prep(s, "SELECT key_id, state, serial FROM devobjs WHERE uid=? ORDER BY key_id", "s", uid);
    if (!st)
        return EL2GO_ERR_IO;
    while (sqlite3_step(st) == SQLITE_ROW)
        fn(ctx, (uint32_t)sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1),
           (const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    return EL2GO_OK;
}

el2go_status el2gs_object_add(el2gs_store *s, const el2gs_object *o)
{
    el2go_status e = need_group(s, o->group);
    if (e != EL2GO_OK)
        return e;
    if (!o->group[0] || !o->type || o->key_id == 0 || o->key_id == 0xFFFFFFFFu) {
        snprintf(s->err, sizeof(s->err), "object needs a group, a key type and an id");
        return EL2GO_ERR_ARG;
    }
    return run(s, prep(s, "INSERT INTO objects(grp, name, key_id, type) VALUES(?,?,?,?)", "ssii",
                       o->group, o->name, (long long)o->key_id, (long long)o->type),
               NULL);
}

static el2go_status object_remove_tx(el2gs_store *s, const char *group, uint32_t key_id)
{
    int n = 0;
    el2go_status e = run(s, prep(s, "DELETE FROM objects WHERE grp=? AND key_id=?", "si", group,
                                 (long long)key_id), &n);
    if (e == EL2GO_OK && !n) {
        snprintf(s->err, sizeof(s->err), "group '%s' has no object 0x%08X", group, key_id);
        return EL2GO_ERR_NOT_FOUND;
    }
    if (e == EL2GO_OK)
        e = run(s, prep(s, "DELETE FROM devobjs WHERE key_id=?2 AND uid IN"
                           " (SELECT uid FROM devices WHERE grp=?1)", "si", group, (long long)key_id),
                NULL);
    return e;
}

el2go_status el2gs_object_remove(el2gs_store *s, const char *group, uint32_t key_id)
{
    el2go_status e = need_group(s, group);
    if (e != EL2GO_OK)
        return e;
    if ((e = tx_begin(s)) == EL2GO_OK)
        e = tx_end(s, object_remove_tx(s, group ? group : "", key_id));
    return e;
}

el2go_status el2gs_object_list(el2gs_store *s, const char *group,
                               void (*fn)(void *, const el2gs_object *), void *ctx)
{
    sqlite3_stmt *st = prep(s, "SELECT grp, name, key_id, type FROM objects "
                               "WHERE ?1 IS NULL OR grp=?1 ORDER BY grp, key_id", "s", group);
    if (!st)
        return EL2GO_ERR_IO;
    el2gs_object o;
    while (sqlite3_step(st) == SQLITE_ROW) {
        memset(&o, 0, sizeof(o));
        cpy(o.group, sizeof(o.group), sqlite3_column_text(st, 0));
        cpy(o.name, sizeof(o.name), sqlite3_column_text(st, 1));
        o.key_id = (uint32_t)sqlite3_column_int64(st, 2);
        o.type = sqlite3_column_int(st, 3);
        fn(ctx, &o);
    }
    sqlite3_finalize(st);
    return EL2GO_OK;
}

el2go_status el2gs_service_add(el2gs_store *s, const el2gs_service *v)
{
    el2go_status e = need_group(s, v->group);
    if (e != EL2GO_OK)
        return e;
    if (!v->group[0] || !v->hostname[0] || !v->port || v->port > 65535) {
        snprintf(s->err, sizeof(s->err), "service needs a group, a hostname and a port 1..65535");
        return EL2GO_ERR_ARG;
    }
    return run(s, prep(s, "INSERT INTO services(grp, id, type, hostname, port, client_id, username,"
                          " key_id, cert_id, azure_scope, metadata) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                       "siisissiiss", v->group, (long long)v->id, (long long)v->type, v->hostname,
                       (long long)v->port, v->client_id, v->username, (long long)v->key_id,
                       (long long)v->cert_id, v->azure_scope, v->metadata),
               NULL);
}

el2go_status el2gs_service_remove(el2gs_store *s, const char *group, uint64_t id)
{
    el2go_status e = need_group(s, group);
    int n = 0;
    if (e == EL2GO_OK)
        e = run(s, prep(s, "DELETE FROM services WHERE grp=? AND id=?", "si", group ? group : "",
                        (long long)id), &n);
    if (e == EL2GO_OK && !n) {
        snprintf(s->err, sizeof(s->err), "group '%s' has no service %llu", group ? group : "",
                 (unsigned long long)id);
        return EL2GO_ERR_NOT_FOUND;
    }
    return e;
}

el2go_status el2gs_service_list(el2gs_store *s, const char *group,
                                void (*fn)(void *, const el2gs_service *), void *ctx)
{
    sqlite3_stmt *st = prep(s, "SELECT grp, id, type, hostname, port, client_id, username, key_id,"
                               " cert_id, azure_scope, metadata FROM services"
                               " WHERE ?1 IS NULL OR grp=?1 ORDER BY grp, id", "s", group);
    if (!st)
        return EL2GO_ERR_IO;
    el2gs_service v;
    while (sqlite3_step(st) == SQLITE_ROW) {
        memset(&v, 0, sizeof(v));
        cpy(v.group, sizeof(v.group), sqlite3_column_text(st, 0));
        v.id = (uint64_t)sqlite3_column_int64(st, 1);
        v.type = sqlite3_column_int(st, 2);
        cpy(v.hostname, sizeof(v.hostname), sqlite3_column_text(st, 3));
        v.port = (uint32_t)sqlite3_column_int64(st, 4);
        cpy(v.client_id, sizeof(v.client_id), sqlite3_column_text(st, 5));
        cpy(v.username, sizeof(v.username), sqlite3_column_text(st, 6));
        v.key_id = (uint32_t)sqlite3_column_int64(st, 7);
        v.cert_id = (uint32_t)sqlite3_column_int64(st, 8);
        cpy(v.azure_scope, sizeof(v.azure_scope), sqlite3_column_text(st, 9));
        cpy(v.metadata, sizeof(v.metadata), sqlite3_column_text(st, 10));
        fn(ctx, &v);
    }
    sqlite3_finalize(st);
    return EL2GO_OK;
}

el2go_status el2gs_claimcode_create(el2gs_store *s, const char *group, int limit, size_t len,
                                    char *code, size_t cap)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if (len < 16 || len > 255 || cap <= len || limit < 1 || !group || !*group) {
        snprintf(s->err, sizeof(s->err), "claim code needs a group, length 16..255, limit >= 1");
        return EL2GO_ERR_ARG;
    }
    el2go_status e = need_group(s, group);
    if (e != EL2GO_OK)
        return e;
    uint8_t r[255];
    if (RAND_bytes(r, (int)len) != 1)
        return EL2GO_ERR_CRYPTO;
    for (size_t i = 0; i < len; i++)
        code[i] = b64[r[i] & 63];
    code[len] = 0;
    OPENSSL_cleanse(r, sizeof(r));
    return run(s, prep(s, "INSERT INTO claimcodes(code, grp, lim) VALUES(?,?,?)", "ssi", code, group,
                       (long long)limit),
               NULL);
}

el2go_status el2gs_claimcode_revoke(el2gs_store *s, const char *code)
{
    int n = 0;
    el2go_status e = run(s, prep(s, "UPDATE claimcodes SET revoked=1 WHERE code=?", "s", code), &n);
    if (e == EL2GO_OK && !n) {
        snprintf(s->err, sizeof(s->err), "no such claim code");
        return EL2GO_ERR_NOT_FOUND;
    }
    return e;
}

static void row_claim(sqlite3_stmt *st, el2gs_claimcode *c)
{
    memset(c, 0, sizeof(*c));
    cpy(c->code, sizeof(c->code), sqlite3_column_text(st, 0));
    cpy(c->group, sizeof(c->group), sqlite3_column_text(st, 1));
    c->limit = sqlite3_column_int(st, 2);
    c->used = sqlite3_column_int(st, 3);
    c->revoked = sqlite3_column_int(st, 4) != 0;
}

el2go_status el2gs_claimcode_get(el2gs_store *s, const char *code, el2gs_claimcode *c)
{
    sqlite3_stmt *st =
        prep(s, "SELECT code, grp, lim, used, revoked FROM claimcodes WHERE code=?", "s", code);
    if (!st)
        return EL2GO_ERR_IO;
    el2go_status e = EL2GO_ERR_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        row_claim(st, c);
        e = EL2GO_OK;
    }
    sqlite3_finalize(st);
    return e;
}

el2go_status el2gs_claimcode_use(el2gs_store *s, const char *code)
{
    return run(s, prep(s, "UPDATE claimcodes SET used=used+1 WHERE code=?", "s", code), NULL);
}

el2go_status el2gs_claimcode_list(el2gs_store *s, void (*fn)(void *, const el2gs_claimcode *),
                                  void *ctx)
{
    sqlite3_stmt *st = prep(s, "SELECT code, grp, lim, used, revoked FROM claimcodes ORDER BY grp", "");
    if (!st)
        return EL2GO_ERR_IO;
    el2gs_claimcode c;
    while (sqlite3_step(st) == SQLITE_ROW) {
        row_claim(st, &c);
        fn(ctx, &c);
    }
    sqlite3_finalize(st);
    return EL2GO_OK;
}
