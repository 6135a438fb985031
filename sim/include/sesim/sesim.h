/* se05x-sim public API: a virtual SE05x IoT applet (7.x by default) whose
 * persistent state lives in a directory. A `sesim` is the card (its store);
 * a `sesim_chan` is one logical connection to it (selection state, applet
 * sessions, secure channel, crypto objects: all volatile, per connection).
 *
 * Every call to sesim_chan_process() handles exactly one command APDU while
 * holding both a process-wide mutex and an flock() on DIR/.lock, so several
 * threads, connections and processes that open the same directory are
 * served one APDU at a time. Committed object changes are atomic on disk. */
#ifndef SESIM_SESIM_H
#define SESIM_SESIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se05x/status.h"

typedef struct sesim sesim;
typedef struct sesim_chan sesim_chan;

typedef struct {
    int applet_major;            /* 7 (default) or 3: selects the 3.x profile */
    bool require_platform_scp;   /* refuse plain commands after SELECT (6982) */
    const char *scp03_keyfile;   /* platform SCP03 static keys (ENC/MAC/DEK lines);
                                    NULL = the SE050E development defaults */
    uint8_t scp03_kvn;           /* key version number, default 0x0B */
    size_t persistent_mem;       /* bytes of persistent memory, default 64 KiB */
    bool quiet;                  /* no log lines on stderr */
} sesim_opts;

void sesim_opts_default(sesim_opts *o);

/* Open (creating and "leaving the factory" on first use) the card in dir. */
se05x_status sesim_open(const char *dir, const sesim_opts *opts, sesim **out);
void sesim_close(sesim *s);

/* ATR reported by the transports (T=1 GET ATR, JRCP WAIT_FOR_CARD). */
size_t sesim_atr(const sesim *s, uint8_t *out, size_t cap);

se05x_status sesim_chan_open(sesim *s, sesim_chan **out);
void sesim_chan_close(sesim_chan *ch);
/* Cold reset / power cycle of this connection: deselects the applet, drops
 * sessions, secure channels and transient objects. */
void sesim_chan_reset(sesim_chan *ch);

/* Process one command APDU. Always writes a response of at least 2 bytes
 * (data || SW) and returns its length. cap must be >= SE05X_APDU_MAX. */
size_t sesim_chan_process(sesim_chan *ch, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                          size_t cap);

/* Directory the card lives in. */
const char *sesim_dir(const sesim *s);

#endif
