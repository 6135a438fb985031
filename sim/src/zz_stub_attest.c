/* TEMPORARY stand-in for cmd_attest.c (deleted at merge): empty table of
 * attested reads. */
#include "sim_internal.h"

const sesim_cmd sesim_cmds_attest[] = {{0, 0, 0, 0, 0, NULL, NULL, NULL}};
