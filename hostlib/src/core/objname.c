/* Object file names of the directory object stores (se05x/objname.h), the
 * one parser and formatter shared by the simulator's store and the sss host
 * backend's store. */
#include <stdio.h>
#include <string.h>

#include "se05x/objname.h"

#define OBJNAME_HEX 8u
#define OBJNAME_EXT ".obj"

/* Value of an upper-case hex digit, or -1. */
static int upper_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool se05x_objname_parse(const char *name, uint32_t *id)
{
    if (!name || strlen(name) != SE05X_OBJNAME_LEN || strcmp(name + OBJNAME_HEX, OBJNAME_EXT) != 0)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < OBJNAME_HEX; i++) {
        int d = upper_hex(name[i]);
        if (d < 0)
            return false;
        v = (v << 4) | (uint32_t)d;
    }
    *id = v;
    return true;
}

bool se05x_objname_path(const char *dir, uint32_t id, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%08X" OBJNAME_EXT, dir, (unsigned)id);
    return n >= 0 && (size_t)n < cap;
}
