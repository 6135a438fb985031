/* libFuzzer target: the simulator's APDU handling. Each input is a sequence
 * of command APDUs (2-byte big-endian length + bytes) sent after a SELECT
 * on one channel of a card whose state lives in a temporary directory. The
 * simulator must answer every one with a status word and never crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "se05x/apdu.h"
#include "sesim/sesim.h"

static sesim *card;
static sesim_chan *chan;

static const uint8_t SELECT[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00, 0x03, 0x96, 0x54,
                                 0x53, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[] = "fuzz-sim-XXXXXX"; /* in the fuzzer's work directory */
    sesim_opts o;
    if (!mkdtemp(dir))
        abort();
    sesim_opts_default(&o);
    o.quiet = true;
    if (sesim_open(dir, &o, &card) != SE05X_OK || sesim_chan_open(card, &chan) != SE05X_OK)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t rsp[SE05X_APDU_MAX];
    sesim_chan_reset(chan);
    size_t n = sesim_chan_process(chan, SELECT, sizeof(SELECT), rsp, sizeof(rsp));
    if (n < 2)
        abort();
    size_t pos = 0;
    while (pos + 2 <= size) {
        size_t len = ((size_t)data[pos] << 8) | data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = size - pos;
        n = sesim_chan_process(chan, data + pos, len, rsp, sizeof(rsp));
        if (n < 2 || n > sizeof(rsp))
            abort();
        pos += len;
    }
    return 0;
}
