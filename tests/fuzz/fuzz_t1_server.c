/* libFuzzer target: the simulator's T=1 server (sim/src/t1_server.c) as a
 * whole, driven in-process over its virtual I2C Unix socket
 * (docs/virtual-i2c.md). LLVMFuzzerInitialize starts sesim_t1_server_start
 * on a temporary socket with a small fake card defined here (echo the
 * command, append 9000) and connects one raw client; that connection is
 * reused across inputs (and re-made only when the server dropped it). A
 * second server, with the fault plan "WTX request before every response",
 * has its own client. Each input starts on the plain server, brings the
 * link to a known state (S(IFS 254), S(RESYNC)), then is read as a list
 * of operations:
 *   op & 7 == 0      raw write: len = next+1, then len data bytes
 *   op & 7 == 1,5    frame write: PCB = next, n = next, n INF bytes; the
 *                    harness adds NAD 5A, LEN and a correct CRC (op bit 3
 *                    set: NAD A5 instead; bit 4 set: LEN off by op >> 5)
 *   op & 7 == 2      read: len = ((op >> 3) << 8 | next) % 1024 + 1
 *   op & 7 == 3,6    read one frame the SE05x way (2, 1, LEN+2 bytes)
 *   op & 7 == 7      switch to server (op >> 3) & 1 and bring it to a known
 *                    state
 *   op & 7 == 4      record-level violation (unknown op, LEN 0, LEN > 1024,
 *                    or a half record and a closed write side): the
 *                    server must close the connection; we reconnect
 * Properties: the server answers every record within 5 s with ACK (writes)
 * or ACK+data / NACK (reads), never anything else; every write leaves an
 * answer frame, and a frame read whole right after the write decodes as a
 * valid SE->host frame; and every 64 inputs a fresh exchange on a NEW
 * connection to each server through the host T=1 engine (open sequence, a
 * short and a chained APDU) still gets echo || 9000. */
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "se05x/apdu.h"
#include "se05x/sockio.h"
#include "se05x/t1.h"
#include "se05x/transport.h"
#include "sesim/servers.h"

#define FZ_TIMEOUT_MS 5000u
#define FZ_CHECK_EVERY 64u

/* Two servers: plain, and one that sends a WTX request before every
 * response (wtx_every = 1 keeps it deterministic across inputs). */
typedef struct {
    sesim_t1_server *srv;
    char path[108];
    int fd;
} fz_link;

static fz_link fz_links[2];
static fz_link *fz_cur = &fz_links[0];
static unsigned long fz_runs;

/* ---- the fake card ------------------------------------------------------ */

static int fz_chan_token;

static void *fz_chan_open(void *ctx)
{
    (void)ctx;
    return &fz_chan_token;
}

static void fz_chan_close(void *chan) { (void)chan; }
static void fz_chan_reset(void *chan) { (void)chan; }

static size_t fz_process(void *chan, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap)
{
    (void)chan;
    size_t n = len + 2 > cap ? cap - 2 : len;
    memcpy(rapdu, capdu, n);
    rapdu[n] = 0x90;
    rapdu[n + 1] = 0x00;
    return n + 2;
}

static size_t fz_atr(void *ctx, uint8_t *out, size_t cap)
{
    /* PVER, VID(5), DLLP len 4: BWT 1000 ms, IFSC 254; PLID, PLP len 0 */
    static const uint8_t atr[] = {0x00, 0xA0, 0x00, 0x00, 0x03, 0x96, 0x04,
                                  0x03, 0xE8, 0x00, 0xFE, 0x02, 0x00};
    (void)ctx;
    size_t n = sizeof atr < cap ? sizeof atr : cap;
    memcpy(out, atr, n);
    return n;
}

static const sesim_card_if fz_card = {
    .ctx = NULL,
    .chan_open = fz_chan_open,
    .chan_close = fz_chan_close,
    .chan_reset = fz_chan_reset,
    .process = fz_process,
    .atr = fz_atr,
};

/* ---- raw client ------------------------------------------------------- */

static void fz_fail(const char *what)
{
    fprintf(stderr, "fuzz_t1_server: %s\n", what);
    abort();
}

static int fz_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, fz_cur->path, sizeof fz_cur->path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fz_fail("cannot connect to the T=1 server");
    return fd;
}

static void fz_reconnect(void)
{
    if (fz_cur->fd >= 0)
        close(fz_cur->fd);
    fz_cur->fd = fz_connect();
}

/* The server must close the connection now: EOF (or a reset) within the
 * timeout, never data. */
static void fz_expect_close(void)
{
    uint8_t b;
    size_t got = 0;
    se05x_status st = se05x_sock_recv_some(fz_cur->fd, &b, 1, se05x_sock_deadline(FZ_TIMEOUT_MS), &got);
    if (st == SE05X_ERR_TIMEOUT)
        fz_fail("server kept a connection open after a record violation");
    if (st == SE05X_OK && got != 0)
        fz_fail("server sent data after a record violation");
    fz_reconnect();
}

/* Send a record and read the 1-byte reply; false if the server closed. */
static bool fz_xact(const uint8_t *rec, size_t n, uint8_t *reply)
{
    long long dl = se05x_sock_deadline(FZ_TIMEOUT_MS);
    if (se05x_sock_send_all(fz_cur->fd, rec, n, dl) != SE05X_OK)
        return false;
    se05x_status st = se05x_sock_recv_all(fz_cur->fd, reply, 1, dl);
    if (st == SE05X_ERR_TIMEOUT)
        fz_fail("server did not answer a record within 5 s");
    return st == SE05X_OK;
}

/* Master write of buf[n]; false if the connection is gone (reconnected). */
static bool fz_write(const uint8_t *buf, size_t n)
{
    uint8_t rec[3 + SE05X_VI2C_MAX_XFER], ack;
    rec[0] = SE05X_VI2C_OP_WRITE;
    rec[1] = (uint8_t)(n >> 8);
    rec[2] = (uint8_t)n;
    memcpy(rec + 3, buf, n);
    if (!fz_xact(rec, n + 3, &ack)) {
        fz_reconnect(); /* e.g. closed after 64 bad frames in a row */
        return false;
    }
    if (ack != SE05X_VI2C_ACK)
        fz_fail("write not acknowledged with ACK");
    return true;
}

/* Master read of n bytes: 1 = data, 0 = NACK, -1 = connection gone. */
static int fz_read(uint8_t *buf, size_t n)
{
    uint8_t rec[3] = {SE05X_VI2C_OP_READ, (uint8_t)(n >> 8), (uint8_t)n}, ack;
    if (!fz_xact(rec, 3, &ack)) {
        fz_reconnect();
        return -1;
    }
    if (ack == SE05X_VI2C_NACK)
        return 0;
    if (ack != SE05X_VI2C_ACK)
        fz_fail("read answered with neither ACK nor NACK");
    if (se05x_sock_recv_all(fz_cur->fd, buf, n, se05x_sock_deadline(FZ_TIMEOUT_MS)) != SE05X_OK)
        fz_fail("ACKed read without its data");
    return 1;
}

/* Read one frame as the engine does; when check is set it must decode. */
static void fz_read_frame(bool check)
{
    uint8_t fr[SE05X_T1_FRAME_MAX + 2];
    int r = fz_read(fr, 2);
    if (r == 0 && check)
        fz_fail("no answer frame ready after a write (read NACKed)");
    if (r != 1)
        return;
    if (fz_read(fr + 2, 1) != 1)
        return;
    size_t len = fr[2];
    if (len > SE05X_T1_IFS_MAX) {
        if (check)
            fz_fail("SE frame with LEN > 254");
        return;
    }
    if (fz_read(fr + 3, len + 2) != 1) {
        if (check)
            fz_fail("SE frame cut short (NACK after its header)");
        return;
    }
    se05x_t1_frame f;
    se05x_t1_frame_err e = se05x_t1_frame_decode(fr, len + 5, SE05X_T1_NAD_SE, &f);
    if (check && e != SE05X_T1_FRAME_OK) {
        fprintf(stderr, "fuzz_t1_server: SE sent an invalid frame: %s\n", se05x_t1_frame_errstr(e));
        abort();
    }
}

static bool fz_write_frame(uint8_t nad, uint8_t pcb, const uint8_t *inf, size_t len, int len_delta)
{
    uint8_t fr[SE05X_T1_FRAME_MAX];
    size_t n;
    if (se05x_t1_frame_encode(nad, pcb, inf, len, fr, sizeof fr, &n) != SE05X_OK)
        return false;
    if (len_delta) { /* lie about LEN but keep the CRC right over what is sent */
        fr[2] = (uint8_t)(fr[2] + len_delta);
        uint16_t crc = se05x_t1_crc(fr, n - 2);
        fr[n - 2] = (uint8_t)crc;
        fr[n - 1] = (uint8_t)(crc >> 8);
    }
    return fz_write(fr, n);
}

/* Known state for every input: IFSD 254, sequence numbers 0, no chain. */
static void fz_normalise(void)
{
    static const uint8_t ifs = SE05X_T1_IFS_MAX;
    if (fz_write_frame(SE05X_T1_NAD_HOST, SE05X_T1_S_IFS, &ifs, 1, 0))
        fz_read_frame(true);
    if (!fz_write_frame(SE05X_T1_NAD_HOST, SE05X_T1_S_RESYNC, NULL, 0, 0))
        fz_fail("RESYNC on a fresh connection failed");
    fz_read_frame(true);
}

static void fz_violation(unsigned kind, const uint8_t *p, size_t avail)
{
    uint8_t rec[4] = {SE05X_VI2C_OP_WRITE, 0, 0, 0};
    size_t n = 3;
    switch (kind % 4) {
    case 0: /* unknown operation byte */
        rec[0] = avail && p[0] != SE05X_VI2C_OP_WRITE && p[0] != SE05X_VI2C_OP_READ ? p[0] : 0x00;
        rec[2] = 1;
        break;
    case 1: /* LEN 0 */
        rec[0] = avail && (p[0] & 1) ? SE05X_VI2C_OP_READ : SE05X_VI2C_OP_WRITE;
        break;
    case 2: /* LEN above 1024 */
        rec[0] = SE05X_VI2C_OP_READ;
        rec[1] = (uint8_t)(4u + (avail ? p[0] % 252u : 0u));
        rec[2] = 1; /* 0x0401 at least */
        break;
    default: /* half a record, then EOF */
        rec[2] = 10;
        rec[3] = 0x5A;
        n = 4;
        if (se05x_sock_send_all(fz_cur->fd, rec, n, se05x_sock_deadline(FZ_TIMEOUT_MS)) == SE05X_OK)
            shutdown(fz_cur->fd, SHUT_WR);
        fz_expect_close();
        return;
    }
    (void)se05x_sock_send_all(fz_cur->fd, rec, n, se05x_sock_deadline(FZ_TIMEOUT_MS));
    fz_expect_close();
}

/* ---- end-to-end check on a new connection ------------------------------ */

static void fz_check_fresh_link(const char *path)
{
    se05x_transport *t = NULL;
    char err[256] = "";
    se05x_t1_opts o = {.bwt_ms = 2000};
    if (se05x_t1_socket_open_ex(path, &o, &t, err, sizeof err) != SE05X_OK) {
        fprintf(stderr, "fuzz_t1_server: fresh connection failed: %s\n", err);
        abort();
    }
    static uint8_t cmd[300], rsp[SE05X_APDU_MAX];
    static const size_t lens[] = {22, sizeof cmd};
    for (size_t k = 0; k < 2; k++) {
        size_t rl = 0;
        for (size_t i = 0; i < lens[k]; i++)
            cmd[i] = (uint8_t)(i + k);
        se05x_status st = t->ops->transceive(t, cmd, lens[k], rsp, sizeof rsp, &rl);
        if (st != SE05X_OK || rl != lens[k] + 2 || memcmp(rsp, cmd, lens[k]) != 0 ||
            rsp[rl - 2] != 0x90 || rsp[rl - 1] != 0x00) {
            fprintf(stderr, "fuzz_t1_server: echo exchange failed (%d): %s\n", (int)st, t->err);
            abort();
        }
    }
    t->ops->close(t);
}

/* ---- libFuzzer entry points --------------------------------------------- */

static void fz_cleanup(void)
{
    char dir[sizeof fz_links[0].path];
    memcpy(dir, fz_links[0].path, sizeof dir);
    for (size_t i = 0; i < 2; i++) {
        if (fz_links[i].fd >= 0)
            close(fz_links[i].fd);
        sesim_t1_server_stop(fz_links[i].srv);
    }
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        rmdir(dir);
    }
}

/* libFuzzer's per-input leak check (__lsan_do_recoverable_leak_check) runs
 * while the server's threads are alive and churning (a new thread per
 * reconnection, thread ids wrapping quickly): it then reports allocations
 * of live client threads as leaks (google/sanitizers#757). So it is turned
 * off here (appended flag: libFuzzer parses flags after this hook), and
 * leaks are found by LeakSanitizer's check at exit instead, which runs
 * after fz_cleanup has stopped the server and joined every thread. */
static void fz_disable_per_input_leak_check(int *argc, char ***argv)
{
    static char flag[] = "-detect_leaks=0";
    static char *args[256];
    if (*argc < 1 || *argc >= 255)
        return;
    memcpy(args, *argv, (size_t)*argc * sizeof *args);
    args[(*argc)++] = flag;
    args[*argc] = NULL;
    *argv = args;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_disable_per_input_leak_check(argc, argv);
    char dir[] = "/tmp/fz-t1s-XXXXXX";
    if (!mkdtemp(dir))
        fz_fail("mkdtemp failed");
    static const sesim_t1_faults wtx_always = {.wtx_every = 1};
    for (size_t i = 0; i < 2; i++) {
        fz_cur = &fz_links[i];
        snprintf(fz_cur->path, sizeof fz_cur->path, "%s/vi2c%zu.sock", dir, i);
        if (sesim_t1_server_start(&fz_card, fz_cur->path, i ? &wtx_always : NULL, &fz_cur->srv) !=
            SE05X_OK)
            fz_fail("sesim_t1_server_start failed");
        fz_cur->fd = fz_connect();
    }
    fz_cur = &fz_links[0];
    atexit(fz_cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    bool fresh = false; /* a write happened and nothing of its answer was read */
    fz_cur = &fz_links[0];
    fz_normalise();
    while (pos < size) {
        uint8_t op = data[pos++];
        const uint8_t *p = data + pos;
        size_t avail = size - pos;
        switch (op & 7u) {
        case 0: {
            size_t n = avail ? (size_t)p[0] + 1 : 1;
            if (avail)
                pos++;
            if (n > size - pos)
                n = size - pos;
            if (n == 0)
                break;
            fresh = fz_write(data + pos, n);
            pos += n;
            break;
        }
        case 1:
        case 5: {
            uint8_t pcb = avail > 0 ? p[0] : 0, n = avail > 1 ? p[1] : 0;
            pos += avail > 2 ? 2 : avail;
            if (n > SE05X_T1_IFS_MAX)
                n = SE05X_T1_IFS_MAX;
            if (n > size - pos)
                n = (uint8_t)(size - pos);
            uint8_t nad = (op & 0x08u) ? SE05X_T1_NAD_SE : SE05X_T1_NAD_HOST;
            int delta = (op & 0x10u) ? (int)(op >> 5) + 1 : 0;
            fresh = fz_write_frame(nad, pcb, data + pos, n, delta);
            pos += n;
            break;
        }
        case 2: {
            static uint8_t buf[SE05X_VI2C_MAX_XFER];
            size_t n = ((((size_t)op >> 3) << 8) | (avail ? p[0] : 0u)) % SE05X_VI2C_MAX_XFER + 1;
            pos += avail ? 1 : 0;
            (void)fz_read(buf, n);
            fresh = false;
            break;
        }
        case 3:
        case 6:
            fz_read_frame(fresh);
            fresh = false;
            break;
        case 7:
            fz_cur = &fz_links[(op >> 3) & 1u];
            fz_normalise();
            fresh = false;
            break;
        default:
            fz_violation(op >> 3, p, avail);
            fz_normalise();
            fresh = false;
            break;
        }
    }
    if (++fz_runs % FZ_CHECK_EVERY == 0) {
        fz_check_fresh_link(fz_links[0].path);
        fz_check_fresh_link(fz_links[1].path);
    }
    return 0;
}
