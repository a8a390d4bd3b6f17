/*
 * fuzz_reader.c - fuzz target: the snapshot reader alone.
 *
 * Each input is parsed header-only and in full (fuzz.h: with the stored
 * checksum, then with a recomputed one), and everything the analyzer reads
 * from an accepted snapshot is read: every preview, type name and label.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int by_addr(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *image;
    struct phd_snapshot *s = fz_parse(data, size, PHD_OPEN_HEADER_ONLY, &image);
    fz_release(&s, &image);
    s = fz_parse(data, size, 0, &image);
    if (!s)
        return 0;
    char buf[PHD_PREVIEW_MAX];
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        int l = phd_snapshot_preview(s, i, buf, sizeof buf);
        FZ_CHECK(l <= PHD_PREVIEW_MAX, "preview longer than the format allows");
        FZ_CHECK(phd_snapshot_type_name(s, s->type[i]) != NULL, NULL);
    }
    for (uint64_t e = 0; e < s->n_edges; e++)
        FZ_CHECK(phd_label_kind_name(PHD_LABEL_KIND(s->edge_label[e])) != NULL, NULL);
    for (uint32_t r = 0; r < s->n_roots; r++)
        FZ_CHECK(phd_root_kind_name(s->roots[r].kind) != NULL, NULL);
    /* an accepted snapshot has one node per address (docs/format.md) */
    uint64_t *addr = malloc(((size_t)s->n_nodes + 1) * sizeof *addr);
    FZ_CHECK(addr != NULL, "out of memory");
    memcpy(addr, s->addr, (size_t)s->n_nodes * sizeof *addr);
    qsort(addr, s->n_nodes, sizeof *addr, by_addr);
    for (uint32_t i = 1; i < s->n_nodes; i++)
        FZ_CHECK(addr[i] != addr[i - 1], "two nodes at one address accepted");
    free(addr);
    fz_release(&s, &image);
    return 0;
}
