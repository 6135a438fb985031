/* Declarations shared between the agent library's source files only. */
#ifndef EL2GO_INTERNAL_H
#define EL2GO_INTERNAL_H

#include <stdint.h>

#include "el2go/agent.h"

uint32_t el2go_ks_id(const el2go_keystore *ks);

#endif
