/*
 * pyheapdiff/cycles.h - reference cycles, as `cycles` prints them.
 *
 * A cycle is a strongly connected component of the retaining references
 * (phd_graph_scc) of more than one object, or of one object that refers to
 * itself.  Each is summarised by its objects, their size, whether a root
 * reaches it (garbage cycles of a collect=False snapshot are not
 * reachable), the types of its objects, and one example: a shortest
 * cycle through its first object, spelled with labels.
 *
 * Finding the cycles takes O(objects + references) and about 12 bytes per
 * object (comp, members, and dist while it runs) plus 4 per component.
 * The types and the example of one cycle take time linear in its objects
 * and references (the types' order: quadratic in the number of distinct
 * types in it, see phd_cycles_types); they are computed only for the
 * cycles asked for, in arrays allocated once and reused.
 */
#ifndef PYHEAPDIFF_CYCLES_H
#define PYHEAPDIFF_CYCLES_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapdiff/error.h"
#include "pyheapdiff/graph.h"

struct phd_cycle {
    uint32_t first;  /* its object with the smallest index */
    uint32_t count;  /* its objects */
    uint64_t size;   /* their shallow size */
    int reachable;   /* a root reaches it (unknown holders count as roots) */
    uint32_t id;     /* private: where its members are */
};

struct phd_cycles {
    const struct phd_graph *g; /* borrowed: must outlive this */
    struct phd_cycle *items;   /* the selected cycles: largest size first, then by first */
    size_t n;
    uint64_t objects, size;    /* the selected cycles' objects and their size */
    uint64_t unreachable;      /* selected cycles no root reaches */
    /* private */
    uint32_t *comp;            /* per object: its component */
    uint32_t *cyc;             /* per component: its cycle's id, or PHD_NONE */
    uint32_t *mstart;          /* per cycle id: its members members[mstart[id] .. mstart[id + 1]) */
    uint32_t *members;         /* ascending within a cycle */
    uint32_t *par, *queue;     /* the example's search (allocated on first use) */
    uint32_t *tcount;          /* the types' count (allocated on first use) */
};

/*
 * The cycles of g with an object of a type t with want[t] set (want
 * NULL: all cycles).  Returns 0, or -1 with err set ("PATH: out of
 * memory"; *out is then empty).  Free with phd_cycles_free.
 */
int phd_cycles_find(struct phd_cycles *out, const struct phd_graph *g, const uint8_t *want, struct phd_error *err);

/* The objects of cycle k, ascending; *n is set to items[k].count. */
const uint32_t *phd_cycles_members(const struct phd_cycles *c, size_t k, uint32_t *n);

struct phd_cycle_type {
    uint32_t type;  /* type id */
    uint32_t count; /* objects of that type in the cycle */
};

/*
 * The types of cycle k's objects into *out (malloc'd; free it), most
 * objects first; returns how many, or -1 when out of memory.  Types of
 * equal count come in the order a selection sort with swaps leaves them
 * (the order `cycles` has always printed) from the order of their first
 * object: O(members + types²) for the distinct types of the cycle.
 */
long phd_cycles_types(struct phd_cycles *c, size_t k, struct phd_cycle_type **out);

/*
 * A shortest cycle through cycle k's first object over retaining
 * references inside the cycle (breadth-first, O(its objects and their
 * references)): *chain (malloc'd; free it) holds hops + 1 objects,
 * chain[0] and chain[hops] being the first object.  Returns hops (>= 1),
 * 0 when there is none (never for a cycle of phd_cycles_find; *chain is
 * then NULL), or -1 when out of memory.
 */
long phd_cycles_example(struct phd_cycles *c, size_t k, uint32_t **chain);

/*
 * The text of a chain (phd_cycles_example): each object described
 * (phd_graph_describe), the last by its type name, joined by
 * " LABEL → " (the first retaining reference's label, phd_graph_label);
 * a chain of more than 8 hops keeps its first 3 and last 3 hops around
 * " → ... (N more) ...".  A malloc'd string, or NULL when out of memory.
 */
char *phd_cycles_example_text(const struct phd_snapshot *s, const uint32_t *chain, size_t hops);

void phd_cycles_free(struct phd_cycles *c);

#endif
