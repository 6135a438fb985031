/* STUB (to be replaced): crypto command handlers of the simulator. */
#include "sim_internal.h"

const sesim_cmd sesim_cmds_crypto[] = {{0, 0, 0, 0, 0, NULL, NULL, NULL}};
