/*
 * fuzz.c - parsing and checks shared by the fuzz targets (see fuzz.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "testutil.h"

void fz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz check failed: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* A rejection is one line that names the input. */
static void check_error(const struct phd_error *err)
{
    size_t l = strlen(FZ_NAME);
    FZ_CHECK(strncmp(err->msg, FZ_NAME ": ", l + 2) == 0, err->msg);
    FZ_CHECK(err->msg[l + 2] != 0, err->msg);
    FZ_CHECK(strchr(err->msg, '\n') == NULL, err->msg);
}

static void check_snapshot(const struct phd_snapshot *s);

static struct phd_snapshot *parse(const void *data, size_t size, unsigned flags)
{
    struct phd_snapshot *s = NULL;
    struct phd_error err = {{0}};
    if (phd_snapshot_parse(&s, FZ_NAME, data, size, flags, &err) < 0) {
        FZ_CHECK(s == NULL, "a failed parse returned a snapshot");
        check_error(&err);
        return NULL;
    }
    FZ_CHECK(s != NULL, "a successful parse returned no snapshot");
    if (!(flags & PHD_OPEN_HEADER_ONLY))
        check_snapshot(s);
    return s;
}

struct phd_snapshot *fz_parse(const uint8_t *data, size_t size, unsigned flags, unsigned char **image)
{
    *image = NULL;
    struct phd_snapshot *s = parse(size ? (const void *)data : "", size, flags);
    if (s || size < PHD_HEADER_SIZE + PHD_FOOTER_SIZE)
        return s;
    if (t_get_u32(data + T_CRC_OFFSET(size)) == phd_crc32c(0, data, size - PHD_FOOTER_SIZE))
        return NULL; /* the checksum was right: rejected for another reason */
    unsigned char *copy = malloc(size);
    if (!copy)
        return NULL;
    memcpy(copy, data, size);
    t_patch_crc(copy, size);
    s = parse(copy, size, flags);
    if (s)
        *image = copy;
    else
        free(copy);
    return s;
}

void fz_release(struct phd_snapshot **s, unsigned char **image)
{
    phd_snapshot_free(s);
    free(*image);
    *image = NULL;
}

static void check_snapshot(const struct phd_snapshot *s)
{
    FZ_CHECK(s->n_nodes <= PHD_MAX_NODES, NULL);
    FZ_CHECK(s->edge_start[0] == 0, NULL);
    FZ_CHECK(s->edge_start[s->n_nodes] == s->n_edges, NULL);
    uint64_t total = 0;
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        FZ_CHECK(s->edge_start[i] <= s->edge_start[i + 1], "edge rows out of order");
        FZ_CHECK(s->type[i] < s->n_types, "node type out of range");
        FZ_CHECK((s->flags[i] & ~7u) == 0, NULL);
        total += phd_snapshot_size(s, i);
    }
    FZ_CHECK(total == s->total_size, "sizes do not add up to the footer's total");
    for (uint64_t e = 0; e < s->n_edges; e++) {
        uint32_t lab = s->edge_label[e], pay = PHD_LABEL_PAYLOAD(lab);
        FZ_CHECK(s->edge_target[e] < s->n_nodes, "edge target out of range");
        FZ_CHECK(PHD_LABEL_KIND(lab) != PHD_LABEL_SIBLING, "an unresolved sibling label");
        if (PHD_LABEL_KIND(lab) == PHD_LABEL_VALUE)
            FZ_CHECK(pay < s->n_nodes, "value label names no node");
        if (PHD_LABEL_KIND(lab) == PHD_LABEL_NAME)
            FZ_CHECK(pay < s->n_strings, "name label names no string");
    }
    for (uint32_t t = 0; t < s->n_types; t++) {
        FZ_CHECK(s->types[t].name < s->n_strings, "type name out of range");
        FZ_CHECK(s->types[t].node == UINT32_MAX || s->types[t].node < s->n_nodes, "type node out of range");
    }
    for (uint32_t r = 0; r < s->n_roots; r++) {
        FZ_CHECK(s->roots[r].kind >= 1 && s->roots[r].kind <= PHD_ROOT_KIND_MAX, "root kind out of range");
        FZ_CHECK(s->roots[r].node < s->n_nodes, "root node out of range");
        FZ_CHECK(s->roots[r].name == UINT32_MAX || s->roots[r].name < s->n_strings, "root name out of range");
    }
}
