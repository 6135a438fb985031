/* The provider's URI syntax: "se05x:0xID" names one SE object (NXP's
 * "nxp:0xID" is accepted as an alias, the "0x" is optional, 1..8 hex
 * digits); the bare scheme "se05x:" / "nxp:" names the whole SE for
 * enumeration. Nothing else is accepted (no whitespace, no suffixes). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "prov.h"

static const char *skip_scheme(const char *uri)
{
    static const char *const schemes[] = {"se05x:", "nxp:"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(uri, schemes[i], n) == 0)
            return uri + n;
    }
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int se05x_uri_parse(const char *uri, bool *all, uint32_t *id)
{
    if (uri == NULL)
        return 0;
    const char *p = skip_scheme(uri);
    if (p == NULL)
        return 0;
    if (*p == '\0') {
        *all = true;
        *id = 0;
        return 1;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    size_t n = 0;
    uint32_t v = 0;
    for (; p[n] != '\0'; n++) {
        int h = hexval(p[n]);
        if (h < 0 || n >= 8)
            return 0;
        v = (v << 4) | (uint32_t)h;
    }
    if (n == 0)
        return 0;
    *all = false;
    *id = v;
    return 1;
}

void se05x_uri_format(uint32_t id, char *buf, size_t len)
{
    snprintf(buf, len, "se05x:0x%08X", (unsigned)id);
}
