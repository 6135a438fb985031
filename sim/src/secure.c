/* STUB (to be replaced by the SCP03/session work): outer layer of the
 * simulator. Passes commands straight to the dispatcher. */
#include "sim_internal.h"

const sesim_cmd sesim_cmds_session[] = {{0, 0, 0, 0, 0, NULL, NULL, NULL}};

size_t sesim_secure_process(sesim_chan *ch, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                            size_t cap)
{
    return sesim_dispatch(ch, capdu, len, 0, false, rapdu, cap);
}

void sesim_secure_reset(sesim_chan *ch) { (void)ch; }
