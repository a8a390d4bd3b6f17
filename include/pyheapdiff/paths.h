/*
 * pyheapdiff/paths.h - retention paths grouped and spelled: what `paths`,
 * `leaks`, `report`, `dominators` and `pyheapdiff.track().paths()` print.
 *
 * A retention path is the chain root -> ... -> v of the breadth-first tree
 * (parent, pedge, dist from phd_graph_bfs_edges), spelled as types and
 * labels: the root's description, then per hop " LABEL → DESCRIPTION" (the
 * last object by its type name), an owner's __dict__ folded into the owner
 * ("module m ['x']"; for any other owner an entry under an identifier is
 * an attribute, ".x", as inline and slot attributes are).  Names of
 * modules, functions and classes are never cut.  Grouping folds list indices to "[*]"; groups that
 * differ only in the keys of plain dicts are merged when there are
 * PHD_PATHS_KEYED_MIN or more of them, the differing keys spelled "[…]".
 *
 * Paths are never spelled in full to be grouped: a path is its parent's
 * path plus one hop, so groups come from one pass over the tree that
 * hash-conses (parent's class, hop) pairs.  Text is spelled only for what
 * is printed, and a path longer than PHD_PATHS_MAX_HOPS hops keeps its
 * first PHD_PATHS_HEAD and last PHD_PATHS_TAIL hops around
 * " → … N more hops … → ".  Grouping takes O(objects on the paths), and
 * about 4 bytes per object plus 12 per group and 8 per chosen object.
 */
#ifndef PYHEAPDIFF_PATHS_H
#define PYHEAPDIFF_PATHS_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapdiff/graph.h"

#define PHD_PATHS_MAX_HOPS 12 /* longer paths are spelled with their middle elided */
#define PHD_PATHS_HEAD 5      /* hops kept before the elision */
#define PHD_PATHS_TAIL 5      /* hops kept after it */
#define PHD_PATHS_KEYED_MIN 4 /* groups differing only in plain-dict keys merge from this many */

struct phd_path_group {
    uint32_t example; /* the group's object with the smallest index */
    uint32_t count;   /* objects in the group */
};

/* The hops a merged group spells "[…]": bit i (1..31) folds hop i from
 * the root, bit 32 + j the hop j from the end (j = hops - i, 0..31). */
struct phd_path_keys {
    uint32_t example; /* the merged group's */
    uint64_t mask;
};

/* Groups of nodes[0..n) by path: most frequent first, then by example.
 * Borrows g, parent and pedge: they must outlive it. */
struct phd_path_memo;

struct phd_path_groups {
    struct phd_path_group *groups;
    size_t n;
    struct phd_path_keys *keys; /* the merged groups, by example */
    size_t n_keys;
    /* what spelling needs (borrowed), and its memo (private) */
    const struct phd_graph *g;
    const uint32_t *parent, *pedge;
    struct phd_path_memo *memo;
};

/*
 * Groups the retention paths of nodes[0..n) (ascending node indices;
 * unreachable nodes are allowed: their path is "[unreachable] ...").
 * parent and pedge come from phd_graph_bfs_edges.  Returns 0, or -1
 * when out of memory (*out is then empty).  Free with phd_path_groups_free.
 */
int phd_path_groups_new(struct phd_path_groups *out, const struct phd_graph *g, const uint32_t *parent,
                        const uint32_t *pedge, const uint32_t *nodes, size_t n);
void phd_path_groups_free(struct phd_path_groups *pg);

/*
 * The text of group k (exact 0: as grouped, indices "[*]" and merged keys
 * "[…]"; exact 1: the example's own path, "[17]", "['key']") into *buf,
 * a malloc'd buffer of *cap bytes that grows as needed (*buf may start
 * NULL).  Returns the length, or -1 when out of memory (*buf freed).
 * O(length of the path), O(1) amortised once many long paths have been
 * spelled (then 8 bytes per object are taken for a memo); long paths are
 * printed elided.
 */
long phd_path_groups_text(struct phd_path_groups *pg, size_t k, int exact, char **buf, size_t *cap);

/* The retention path of v alone, elided like the groups' (fold: indices
 * as "[*]"); a malloc'd string, NULL when out of memory.  O(length of the
 * path). */
char *phd_path_text(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge, uint32_t v, int fold);

#endif
