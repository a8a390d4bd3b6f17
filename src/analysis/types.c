/*
 * types.c - type-name matching and type origins (include/pyheapdiff/types.h).
 */
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/text.h"
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

/* ---- module origins ------------------------------------------------------ */

#define ORIGIN_MIXED 0xff /* a package whose types have different origins */
#define NO_FILE -2        /* no __file__, loaded by Python's builtin or frozen importer */
#define MADE -3           /* no __file__ nor importer: made at run time (types.ModuleType) */
#define MAX_STDLIB_DIRS 8

/* The origins of the types under each dotted prefix of their names
 * ("a.b.C": "a" and "a.b"), open addressing over FNV-1a hashes. */
struct prefix {
    const char *p; /* NULL: free */
    uint32_t len;
    uint8_t origin;
};


static struct prefix *prefix_slot(struct prefix *tab, size_t cap, const char *p, size_t len)
{
    size_t i = (size_t)phd_fnv1a(p, len) & (cap - 1);
    while (tab[i].p && !(tab[i].len == len && memcmp(tab[i].p, p, len) == 0))
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* The node's preview as a NUL-terminated string of type str (or a module
 * name), into buf; its length, or -1. */
static int preview_str(const struct phd_snapshot *s, uint32_t v, char *buf, size_t cap)
{
    int l = phd_snapshot_preview(s, v, buf, cap - 1);
    if (l < 0)
        return -1;
    buf[l] = 0;
    return l;
}

/* Is v the class BuiltinImporter or FrozenImporter (a module's
 * __loader__: one compiled into the interpreter)? */
static int builtin_loader(const struct phd_snapshot *s, uint32_t v)
{
    char q[32];
    int l = phd_snapshot_preview(s, v, q, sizeof q - 1);
    if (l < 0 || !phd_snapshot_preview_is_name(s, v))
        return 0;
    q[l] = 0;
    return strcmp(q, "BuiltinImporter") == 0 || strcmp(q, "FrozenImporter") == 0;
}

/* The module's __file__ into buf: its length; without one, NO_FILE for a
 * module the builtin or frozen importer loaded, MADE for one without an
 * importer; -1 when it cannot be told (no dict, no previews). */
static int module_file(const struct phd_snapshot *s, uint32_t m, char *buf, size_t cap)
{
    uint32_t dict = UINT32_MAX;
    for (uint64_t e = s->edge_start[m]; e < s->edge_start[m + 1] && dict == UINT32_MAX; e++) {
        uint32_t lab = s->edge_label[e];
        if (PHD_LABEL_KIND(lab) == PHD_LABEL_NAME && strcmp(s->str[PHD_LABEL_PAYLOAD(lab)], "__dict__") == 0)
            dict = s->edge_target[e];
    }
    if (dict == UINT32_MAX || !(s->hdr.flags & PHD_HDR_VALUES))
        return -1; /* without values, str previews (the keys) are not recorded */
    int builtin = 0;
    for (uint64_t e = s->edge_start[dict]; e < s->edge_start[dict + 1]; e++) {
        uint32_t lab = s->edge_label[e];
        char key[16];
        if (PHD_LABEL_KIND(lab) != PHD_LABEL_VALUE)
            continue;
        int kl = phd_snapshot_preview(s, PHD_LABEL_PAYLOAD(lab), key, sizeof key);
        if (kl == 10 && memcmp(key, "__loader__", 10) == 0)
            builtin |= builtin_loader(s, s->edge_target[e]);
        if (kl != 8 || memcmp(key, "__file__", 8) != 0)
            continue;
        uint32_t f = s->edge_target[e];
        if (strcmp(phd_snapshot_type_name(s, s->type[f]), "str") != 0)
            return -1; /* None: a namespace package */
        return preview_str(s, f, buf, cap);
    }
    return builtin ? NO_FILE : MADE;
}

static int has(const char *s, const char *needle)
{
    return strstr(s, needle) != NULL;
}

int phd_module_origins(const struct phd_snapshot *s, const uint32_t *modules, size_t n, uint8_t *origins)
{
    /* the table: every dotted prefix of every type name with an origin */
    size_t prefixes = 0;
    for (uint32_t t = 0; t < s->n_types; t++)
        for (const char *p = phd_snapshot_type_name(s, t); *p; p++)
            prefixes += *p == '.';
    size_t cap = 16;
    while (cap < 2 * prefixes + 16)
        cap *= 2;
    struct prefix *tab = calloc(cap, sizeof *tab);
    if (!tab)
        return -1;
    for (uint32_t t = 0; t < s->n_types; t++) {
        unsigned o = s->types[t].origin;
        if (o == PHD_ORIGIN_UNKNOWN || o == PHD_ORIGIN_BUILTIN || o >= PHD_ORIGIN_COUNT)
            continue;
        const char *name = phd_snapshot_type_name(s, t);
        for (const char *p = name; *p; p++) {
            if (*p != '.')
                continue;
            struct prefix *x = prefix_slot(tab, cap, name, (size_t)(p - name));
            if (!x->p)
                *x = (struct prefix){name, (uint32_t)(p - name), (uint8_t)o};
            else if (x->origin != o)
                x->origin = ORIGIN_MIXED;
        }
    }
    /* by types: the module's own, or its closest package's */
    char name[512], file[PHD_PREVIEW_MAX + 1];
    char dirs[MAX_STDLIB_DIRS][PHD_PREVIEW_MAX + 1];
    int ndirs = 0;
    for (size_t k = 0; k < n; k++) {
        origins[k] = PHD_ORIGIN_UNKNOWN;
        int l = preview_str(s, modules[k], name, sizeof name);
        if (l < 0)
            continue;
        if (strcmp(name, "__main__") == 0) {
            origins[k] = PHD_ORIGIN_USER;
            continue;
        }
        if (strncmp(name, "pyheapdiff", 10) == 0 && (name[10] == 0 || name[10] == '.')) {
            origins[k] = PHD_ORIGIN_THIRD_PARTY; /* the tool, not the program (as the agent has it) */
            continue;
        }
        for (size_t len = (size_t)l; len > 0;) {
            struct prefix *x = prefix_slot(tab, cap, name, len);
            if (x->p) {
                origins[k] = x->origin == ORIGIN_MIXED ? PHD_ORIGIN_UNKNOWN : x->origin;
                break;
            }
            while (len > 0 && name[len - 1] != '.')
                len--;
            if (len > 0)
                len--; /* the dot */
        }
        /* the folder the standard library is loaded from: the file's path
         * before its top-level package ("/usr/lib/python3.11" from
         * "/usr/lib/python3.11/logging/__init__.py") */
        if (origins[k] != PHD_ORIGIN_STDLIB || ndirs == MAX_STDLIB_DIRS ||
            module_file(s, modules[k], file, sizeof file) <= 0 || has(file, "/site-packages/") ||
            has(file, "/dist-packages/"))
            continue;
        char *dot = strchr(name, '.'), *at = NULL;
        size_t tl = dot ? (size_t)(dot - name) : (size_t)l;
        for (char *p = strchr(file, '/'); p; p = strchr(p + 1, '/'))
            if (strncmp(p + 1, name, tl) == 0 && (p[1 + tl] == '/' || p[1 + tl] == '.'))
                at = p;
        if (!at || at == file)
            continue;
        *at = 0;
        int seen = 0;
        for (int i = 0; i < ndirs; i++)
            seen |= strcmp(dirs[i], file) == 0;
        if (!seen)
            memcpy(dirs[ndirs++], file, (size_t)(at - file) + 1);
    }
    free(tab);
    /* modules without types: by their file */
    for (size_t k = 0; k < n; k++) {
        if (origins[k] != PHD_ORIGIN_UNKNOWN || preview_str(s, modules[k], name, sizeof name) < 0)
            continue;
        int l = module_file(s, modules[k], file, sizeof file);
        if (l == NO_FILE || l == MADE) {
            /* Cython-compiled extensions make "cython_runtime" and
             * "_cython_3_x_y" at import: a library's, not the program's */
            int cython = strcmp(name, "cython_runtime") == 0 || strncmp(name, "_cython_", 8) == 0;
            origins[k] = l == NO_FILE ? PHD_ORIGIN_STDLIB : cython ? PHD_ORIGIN_THIRD_PARTY : PHD_ORIGIN_USER;
            continue;
        }
        if (l <= 0)
            continue;
        if (has(file, "/site-packages/") || has(file, "/dist-packages/")) {
            origins[k] = PHD_ORIGIN_THIRD_PARTY;
            continue;
        }
        int in_stdlib = 0;
        for (int i = 0; i < ndirs && !in_stdlib; i++) {
            size_t dl = strlen(dirs[i]);
            in_stdlib = strncmp(file, dirs[i], dl) == 0 && file[dl] == '/';
        }
        /* a preview cut at PHD_PREVIEW_MAX bytes may hide the folder */
        if (in_stdlib)
            origins[k] = PHD_ORIGIN_STDLIB;
        else if (ndirs && (size_t)l < PHD_PREVIEW_MAX)
            origins[k] = PHD_ORIGIN_USER;
    }
    return 0;
}
