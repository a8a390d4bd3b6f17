/*
 * types.c - type-name matching and type origins (include/pyheapdiff/types.h).
 */
#include <string.h>

#include "pyheapdiff/types.h"

int phd_type_name_matches(const char *name, const char *want)
{
    if (strcmp(name, want) == 0)
        return 1;
    if (strchr(want, '.'))
        return 0;
    size_t n = strlen(name), k = strlen(want);
    return n > k && name[n - k - 1] == '.' && strcmp(name + n - k, want) == 0;
}

int phd_type_selected(const char *name, unsigned origin, unsigned origins, const char *const *types,
                      size_t n_types)
{
    if (origins && !(origins & PHD_ORIGIN_BIT(origin)))
        return 0;
    if (!n_types)
        return 1;
    for (size_t k = 0; k < n_types; k++)
        if (phd_type_name_matches(name, types[k]))
            return 1;
    return 0;
}

static const char *const origin_names[PHD_ORIGIN_COUNT] = {
    [PHD_ORIGIN_UNKNOWN] = "unknown",         [PHD_ORIGIN_BUILTIN] = "builtin", [PHD_ORIGIN_STDLIB] = "stdlib",
    [PHD_ORIGIN_THIRD_PARTY] = "third-party", [PHD_ORIGIN_USER] = "user",
};

const char *phd_origin_name(unsigned origin)
{
    return origin < PHD_ORIGIN_COUNT ? origin_names[origin] : "unknown";
}

int phd_origin_parse(const char *word)
{
    for (int o = 0; o < PHD_ORIGIN_COUNT; o++)
        if (strcmp(word, origin_names[o]) == 0)
            return o;
    return -1;
}

unsigned phd_origin_guess(const char *name)
{
    if (!strchr(name, '.'))
        return PHD_ORIGIN_BUILTIN;
    if (strncmp(name, "__main__.", 9) == 0)
        return PHD_ORIGIN_USER;
    return PHD_ORIGIN_UNKNOWN;
}

unsigned phd_snapshot_type_origin(const struct phd_snapshot *s, uint32_t t)
{
    unsigned o = s->types[t].origin;
    return o != PHD_ORIGIN_UNKNOWN ? o : phd_origin_guess(phd_snapshot_type_name(s, t));
}
