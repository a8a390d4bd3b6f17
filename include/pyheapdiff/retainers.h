/*
 * pyheapdiff/retainers.h - what retains the most memory: retained sizes
 * per object and per type from the dominator tree, and both ordered, as
 * `dominators` prints them and the report's "Biggest retainers" shows
 * them.
 *
 * A type's retained size counts its instances that have no instance of
 * the same type above them in the dominator tree (like the dominator views
 * of Eclipse MAT and browser heap snapshots).  O(V) after the dominator
 * tree, plus the sorts; the per-type walk takes 13 bytes per object while
 * it runs.
 */
#ifndef PYHEAPDIFF_RETAINERS_H
#define PYHEAPDIFF_RETAINERS_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapdiff/error.h"
#include "pyheapdiff/graph.h"

struct phd_retainers {
    uint64_t *ret;      /* per node: retained size (0: unreachable) */
    uint64_t *type_ret; /* per type: its top-level instances' retained size */
    uint32_t *type_top; /* per type: how many top-level instances */
    uint32_t *order;    /* nodes with ret > 0 (of the wanted types), largest retained first */
    size_t n_order;
    uint32_t *tord;     /* types with instances (wanted), largest type_ret first */
    uint32_t n_tord;
};

/* Per type of s: type_ret and type_top as above (room for n_types each),
 * from phd_graph_dominators' idom and retained.  Returns 0, or -1 when
 * out of memory. */
int phd_retainers_per_type(const struct phd_snapshot *s, const uint32_t *idom, const uint64_t *ret,
                           uint64_t *type_ret, uint32_t *type_top);

/* The dominator tree of g, then everything above, for the types with
 * want[t] set (want NULL: all).  Returns 0, or -1 with err set.  Free
 * with phd_retainers_free. */
int phd_retainers_compute(struct phd_retainers *r, const struct phd_graph *g, const uint8_t *want,
                          struct phd_error *err);
/* The same from a dominator tree the caller computed: takes idom (freed
 * before returning) and ret (r->ret), also on failure. */
int phd_retainers_from(struct phd_retainers *r, const struct phd_graph *g, const uint8_t *want, uint32_t *idom,
                       uint64_t *ret, struct phd_error *err);
void phd_retainers_free(struct phd_retainers *r);

#endif
