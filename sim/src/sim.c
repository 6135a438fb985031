/* Card and channel lifecycle of the simulator: options, opening a card
 * directory (creating it and "leaving the factory" on first use), the
 * per-card lock (a recursive process mutex plus flock() on DIR/.lock, both
 * held for exactly one APDU), channels with their volatile state, the ATR,
 * logging, and the sesim_card_if adapter used by the network servers. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sesim/servers.h"
#include "sim_internal.h"

#define UID_ID 0x7FFF0206u

void sesim_opts_default(sesim_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->applet_major = 7;
    o->scp03_kvn = 0x0B;
    o->persistent_mem = 64u * 1024u;
}

void sesim_log(const sesim *s, const char *fmt, ...)
{
    if (s && s->opts.quiet)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "se05x-sim: %s\n", line);
}

/* mkdir -p */
static se05x_status mkdirs(const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return SE05X_ERR_NOMEM;
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            free(p);
            return SE05X_ERR_IO;
        }
        *c = '/';
    }
    se05x_status rc = (mkdir(p, 0700) == 0 || errno == EEXIST) ? SE05X_OK : SE05X_ERR_IO;
    free(p);
    return rc;
}

static void lock_card(sesim *s)
{
    pthread_mutex_lock(&s->mu);
    while (flock(s->lockfd, LOCK_EX) != 0 && errno == EINTR)
        ;
}

static void unlock_card(sesim *s)
{
    flock(s->lockfd, LOCK_UN);
    pthread_mutex_unlock(&s->mu);
}

/* First start: factory objects, P-256 curve set; then cache the UID. */
static se05x_status card_boot(sesim *s)
{
    sesim_obj uid;
    if (!sesim_store_exists(s, UID_ID)) {
        sesim_log(s, "first start in %s: leaving the factory", s->dir);
        se05x_status rc = sesim_curve_install(s, 0x03);
        if (rc == SE05X_OK)
            rc = sesim_factory_provision(s);
        if (rc != SE05X_OK) {
            sesim_log(s, "factory provisioning failed: %s", se05x_strerror(rc));
            return rc;
        }
    }
    if (sesim_store_load(s, UID_ID, &uid) != SE05X_OK)
        return SE05X_ERR_STATE;
    if (uid.comp[SESIM_C_VALUE].len == sizeof(s->uid))
        memcpy(s->uid, uid.comp[SESIM_C_VALUE].v, sizeof(s->uid));
    sesim_obj_free(&uid);
    return SE05X_OK;
}

se05x_status sesim_open(const char *dir, const sesim_opts *opts, sesim **out)
{
    if (!dir || !*dir || !out)
        return SE05X_ERR_ARG;
    *out = NULL;
    sesim *s = calloc(1, sizeof(*s));
    if (!s)
        return SE05X_ERR_NOMEM;
    if (opts)
        s->opts = *opts;
    else
        sesim_opts_default(&s->opts);
    if (s->opts.applet_major != 3)
        s->opts.applet_major = 7;
    if (!s->opts.persistent_mem) /* zero-initialised options */
        s->opts.persistent_mem = 64u * 1024u;
    s->lockfd = -1;
    s->dir = strdup(dir);
    if (!s->dir) {
        free(s);
        return SE05X_ERR_NOMEM;
    }
    se05x_status rc = mkdirs(dir);
    if (rc != SE05X_OK) {
        sesim_log(s, "cannot create card directory %s: %s", dir, strerror(errno));
        free(s->dir);
        free(s);
        return rc;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/.lock", dir);
    s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lockfd < 0) {
        sesim_log(s, "cannot open %s: %s", path, strerror(errno));
        free(s->dir);
        free(s);
        return SE05X_ERR_IO;
    }
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->mu, &ma);
    pthread_mutexattr_destroy(&ma);

    /* platform SCP03 keys: a bad key file is reported now, not at the
     * first INITIALIZE UPDATE */
    rc = sesim_scp03_load_keys(s);
    if (rc != SE05X_OK) {
        sesim_log(s, "cannot load platform SCP03 keys from %s",
                  s->opts.scp03_keyfile ? s->opts.scp03_keyfile : "(defaults)");
        sesim_close(s);
        return rc;
    }
    lock_card(s);
    rc = sesim_store_open(s);
    if (rc == SE05X_OK)
        rc = card_boot(s);
    unlock_card(s);
    if (rc != SE05X_OK) {
        sesim_close(s);
        return rc;
    }
    *out = s;
    return SE05X_OK;
}

void sesim_close(sesim *s)
{
    if (!s)
        return;
    if (s->store) {
        pthread_mutex_lock(&s->mu);
        sesim_store_close(s);
        pthread_mutex_unlock(&s->mu);
    }
    if (s->lockfd >= 0)
        close(s->lockfd);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

const char *sesim_dir(const sesim *s) { return s ? s->dir : NULL; }

/* ATR in the layout of spec §6.1 with the example values. */
size_t sesim_atr(const sesim *s, uint8_t *out, size_t cap)
{
    (void)s;
    static const uint8_t atr[] = {
        0x00,                               /* PVER */
        0xA0, 0x00, 0x00, 0x03, 0x96,       /* VID */
        0x04, 0x03, 0xE8, 0x00, 0xFE,       /* DLLP: BWT 1000 ms, IFSC 254 */
        0x02,                               /* PLID: I2C */
        0x0B, 0x03, 0xE8, 0x08, 0x01,       /* PLP: max clock 1000 kHz, config, MPOT 1 ms */
        0x00, 0x00, 0x00, 0x00, 0x64,       /* RFU, SEGT 100 us */
        0x00, 0x00,                         /* WUT */
        0x09, 's', 'e', '0', '5', 'x', '-', 's', 'i', 'm'};
    if (!out || cap < sizeof(atr))
        return 0;
    memcpy(out, atr, sizeof(atr));
    return sizeof(atr);
}

/* ---- channels -------------------------------------------------------- */

se05x_status sesim_chan_open(sesim *s, sesim_chan **out)
{
    if (!s || !out)
        return SE05X_ERR_ARG;
    sesim_chan *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return SE05X_ERR_NOMEM;
    ch->sim = s;
    *out = ch;
    return SE05X_OK;
}

static void free_crypto_objs(sesim_chan *ch)
{
    for (int i = 0; i < SESIM_MAX_CRYPTO_OBJS; i++) {
        sesim_crypto_obj *c = &ch->cobj[i];
        if (c->used && c->state && c->free_state)
            c->free_state(c->state);
        memset(c, 0, sizeof(*c));
    }
}

/* With the card lock held. */
static void chan_reset_locked(sesim_chan *ch)
{
    ch->selected = false;
    sesim_secure_reset(ch);
    free_crypto_objs(ch);
    sesim_store_drop_transient(ch->sim);
}

void sesim_chan_reset(sesim_chan *ch)
{
    if (!ch)
        return;
    lock_card(ch->sim);
    chan_reset_locked(ch);
    unlock_card(ch->sim);
}

void sesim_chan_close(sesim_chan *ch)
{
    if (!ch)
        return;
    lock_card(ch->sim);
    sesim_secure_reset(ch);
    free_crypto_objs(ch);
    unlock_card(ch->sim);
    free(ch);
}

size_t sesim_chan_process(sesim_chan *ch, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                          size_t cap)
{
    if (!ch || !rapdu || cap < 2)
        return 0;
    if (!capdu) {
        se05x_put_u16(rapdu, SE05X_SW_WRONG_LENGTH);
        return 2;
    }
    lock_card(ch->sim);
    size_t n = sesim_secure_process(ch, capdu, len, rapdu, cap);
    unlock_card(ch->sim);
    if (n < 2 || n > cap) {
        se05x_put_u16(rapdu, SE05X_SW_NO_DIAGNOSIS);
        n = 2;
    }
    return n;
}

/* ---- sesim_card_if adapter -------------------------------------------- */

static void *if_chan_open(void *ctx)
{
    sesim_chan *ch = NULL;
    return sesim_chan_open((sesim *)ctx, &ch) == SE05X_OK ? ch : NULL;
}

static void if_chan_close(void *chan) { sesim_chan_close((sesim_chan *)chan); }
static void if_chan_reset(void *chan) { sesim_chan_reset((sesim_chan *)chan); }

static size_t if_process(void *chan, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap)
{
    return sesim_chan_process((sesim_chan *)chan, capdu, len, rapdu, cap);
}

static size_t if_atr(void *ctx, uint8_t *out, size_t cap) { return sesim_atr((sesim *)ctx, out, cap); }

sesim_card_if sesim_card_if_for(sesim *s)
{
    sesim_card_if c = {s, if_chan_open, if_chan_close, if_chan_reset, if_process, if_atr};
    return c;
}
