/* Helpers shared by the C test programs: temp directories, starting the
 * se05x-sim daemon on an ephemeral port, raw object writes/reads built with
 * the shared TLV writer (so tests do not depend on the typed command layer
 * they may be testing). */
#ifndef SE05X_TESTUTIL_H
#define SE05X_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "se05x/conn.h"

/* mkdtemp under $SE05X_TEST_TMP (or /tmp); returns a malloc'ed path. */
char *tu_tempdir(const char *tag);
/* rm -rf path (best effort). */
void tu_rmtree(const char *path);

typedef struct {
    pid_t pid;
    uint16_t port;
    char portfile[512];
} tu_daemon;

/* Start se05x-sim --dir dir --port 0 [extra args...] (NULL-terminated) and
 * wait until it listens. Returns 0 on success. */
int tu_daemon_start(tu_daemon *d, const char *dir, const char *const *extra);
/* Same on a chosen TCP port (0 = ephemeral). */
int tu_daemon_start_on(tu_daemon *d, const char *dir, uint16_t port, const char *const *extra);
/* SIGTERM (or SIGKILL if hard) and reap; returns the exit status from waitpid. */
int tu_daemon_stop(tu_daemon *d, int hard);

/* The simulator's platform SCP03 test keys as a key file (ENC/MAC/DEK
 * lines) at path; 0 on success. */
int tu_write_scp03_keys(const char *path);
/* se05x-sim on dir requiring platform SCP03 with the keys of keyfile
 * (--require-scp --scp03-keys); conn receives "127.0.0.1:PORT". 0 on success. */
int tu_scp03_daemon_start(tu_daemon *d, const char *dir, const char *keyfile, char *conn,
                          size_t connlen);

/* WriteBinary: create (with total length) or update at offset 0. */
se05x_status tu_write_binary(se05x_conn *c, uint32_t id, const uint8_t *data, size_t len, int create,
                             uint16_t *sw);
/* ReadObject(id, 0, len) into out. */
se05x_status tu_read_object(se05x_conn *c, uint32_t id, uint16_t len, uint8_t *out, size_t cap,
                            size_t *olen, uint16_t *sw);

#endif
