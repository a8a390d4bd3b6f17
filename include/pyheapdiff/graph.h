/*
 * pyheapdiff/graph.h - the object graph of one snapshot and the analyses
 * over it: the root set, shortest retention paths, strongly connected
 * components (cycles), dominators and retained sizes.
 *
 * Every algorithm is iterative (no recursion over the heap) and linear or
 * near-linear in objects + references.  Weak references are never
 * retaining edges here.
 */
#ifndef PYHEAPDIFF_GRAPH_H
#define PYHEAPDIFF_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapdiff/error.h"
#include "pyheapdiff/format.h"

#define PHD_NONE UINT32_MAX

/* Root kinds of the analysis: the snapshot's (PHD_ROOT_*), plus these. */
enum {
    PHD_ROOT_MODULE = 7,  /* a module in sys.modules */
    PHD_ROOT_UNKNOWN = 8, /* refcount above the references found: held by C code */
    PHD_ROOT_KINDS = 9,
};

struct phd_graph {
    const struct phd_snapshot *s; /* borrowed: must outlive the graph */
    uint32_t n;
    /* referrers over retaining edges: rev_src[rev_start[v] .. rev_start[v+1]),
     * in edge order (a referrer with two references appears twice) */
    uint32_t *rev_start;
    uint32_t *rev_src;
    /* root set, in the order searches start from it (modules first,
     * unknown holders last) */
    uint32_t *roots;
    uint32_t n_roots;
    uint8_t *root_kind; /* per node: 0, or the kind of root it is */
    struct phd_root_ref {
        uint32_t node, rec;
    } *named;           /* named roots and their snapshot root records, by node */
    uint32_t n_named;
    uint32_t n_unknown; /* roots of kind PHD_ROOT_UNKNOWN */
    /* the module roots are roots[0 .. n_modules); root_origin[r] is the
     * origin of module root r (phd_module_origins: the user's, stdlib,
     * third-party...) */
    uint32_t n_modules;
    uint8_t *root_origin;
};

int phd_graph_build(struct phd_graph **out, const struct phd_snapshot *s, struct phd_error *err);
/* The index of the snapshot root record that made v a named root (for a
 * module root: the sys.modules record), or PHD_NONE. */
uint32_t phd_graph_root_record(const struct phd_graph *g, uint32_t v);
void phd_graph_free(struct phd_graph **g);

/* Is snapshot edge e retaining (not weak)? */
static inline int phd_edge_retains(const struct phd_snapshot *s, uint64_t e)
{
    return PHD_LABEL_KIND(s->edge_label[e]) != PHD_LABEL_WEAK;
}

/* How many hops longer a path from one of the user's modules (__main__,
 * the program's own) may be and still be preferred to a path from another
 * module (the standard library's, a third-party package's). */
#define PHD_BFS_USER_BONUS 2

/*
 * Breadth-first search over retaining edges in three phases: from the
 * modules in sys.modules; then, for what they do not reach, from the other
 * named roots (sys, builtins, frames, threads, interpreter); then from
 * unknown holders (skipped when `named_only`).  In the first phase a
 * module that is not the user's (root_origin) starts PHD_BFS_USER_BONUS
 * hops late: a path from the user's modules is taken unless another
 * module's is shorter by more than that (a tie goes to the user's).  A
 * path never passes through a module: each one starts its own.
 * parent[v] is v's predecessor on the path chosen (PHD_NONE for roots and
 * unreachable nodes); dist[v] the path's length in hops (UINT32_MAX when
 * unreachable).  Either output may be NULL.  O(objects + references).
 */
int phd_graph_bfs(const struct phd_graph *g, int named_only, uint32_t *parent, uint32_t *dist);
/* The same, also giving pedge[v]: the snapshot edge from parent[v] to v
 * (PHD_NONE where parent is), so that paths need no edge search. */
int phd_graph_bfs_edges(const struct phd_graph *g, int named_only, uint32_t *parent, uint32_t *pedge,
                        uint32_t *dist);
/* The same with a phase before the others: from the modules from[0..n_from)
 * (module roots; others are ignored) alone, so that whatever they reach
 * gets its shortest path from one of them (`paths --from`). */
int phd_graph_bfs_from(const struct phd_graph *g, int named_only, const uint32_t *from, size_t n_from,
                       uint32_t *parent, uint32_t *pedge, uint32_t *dist);

/* The module roots named `name` or inside that package ("app" gives
 * app, app.models...), in roots[] order, into out[0..cap); returns how
 * many there are (more than cap: only cap are stored). */
size_t phd_graph_modules_named(const struct phd_graph *g, const char *name, uint32_t *out, size_t cap);

/*
 * Strongly connected components over retaining edges (Tarjan's algorithm,
 * iterative, O(V + E)).  comp[v] is v's component id; returns the number
 * of components, or -1 when out of memory.
 */
int64_t phd_graph_scc(const struct phd_graph *g, uint32_t *comp);

/*
 * Dominator tree over retaining edges with a virtual super-root above the
 * root set (semi-NCA, O(E log V)).  idom[v] is v's immediate dominator, or
 * PHD_NONE when it is the super-root (v is a root or only roots reach it)
 * or v is unreachable.  retained[v] (may be NULL) is the total shallow
 * size of what v dominates, itself included (0 when unreachable).  Both
 * arrays must have room for n + 1 entries: the algorithm works in them.
 */
int phd_graph_dominators(const struct phd_graph *g, uint32_t *idom, uint64_t *retained);

/*
 * Text of the label of edge e, the way paths print it: "[3]", "['key']",
 * ".attr", "<key>", "<weak>", ".__class__" or "" (unlabelled).
 * fold_index prints list/tuple indices as "[*]".
 */
void phd_graph_label(const struct phd_snapshot *s, uint64_t e, int fold_index, char *buf, size_t cap);
/* A short description of node v: its type and what identifies it:
 * "module app.events", "function handler", "dict", "str 'abc'". */
void phd_graph_describe(const struct phd_snapshot *s, uint32_t v, char *buf, size_t cap);
/* The first retaining edge from u to v, or UINT64_MAX. */
uint64_t phd_graph_edge_between(const struct phd_snapshot *s, uint32_t u, uint32_t v);
const char *phd_graph_root_kind_name(unsigned kind);

#endif
