/*
 * fuzz_reader.c - fuzz target: the snapshot reader alone.
 *
 * Each input is parsed header-only and in full (fuzz.h: with the stored
 * checksum, then with a recomputed one), and everything the analyzer reads
 * from an accepted snapshot is read: every preview, type name and label.
 */
#include <stdlib.h>

#include "fuzz.h"

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
    fz_release(&s, &image);
    return 0;
}
