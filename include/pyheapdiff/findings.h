/*
 * pyheapdiff/findings.h - what the evidence says leaked: the one ranking
 * that `leaks`, `report` (its "Why they are alive" section and its leak
 * graph) and `paths A B` share.
 *
 * A finding is a type whose objects are new in AFTER (no object of the
 * same type name at their address in BASELINE; with AGAIN, also still
 * there in AGAIN) and still retained (some root reaches them).  Findings
 * are ranked by what their new objects retain: the retained size of each
 * new object that has no new object of its own type above it in the
 * dominator tree.  New objects of user, third-party and unknown types
 * are containers; a builtin or standard-library type ranks by what its
 * new objects outside every new container retain, less the new
 * containers below them (`own`): the dicts, strs and closures of leaked
 * instances count for the instances' type, not their own, and a new list
 * or dict holding leaked instances does not outrank them.  A builtin or stdlib type whose new objects all lie
 * inside (are dominated by) new containers is that container type's
 * contents: contents rank after every other finding, each naming its
 * container (`inside`, the nearest container of its first object).  A
 * builtin type that leaks on its own (plain dicts appended to a module
 * list) ranks by its size like any other.
 *
 * Snapshots of two processes cannot be matched by address: then the
 * findings are the types that grew, user, third-party and unknown types
 * first, each group by growth in size, and their objects are all the
 * type's instances in AFTER (matched = 0).
 *
 * Cost: O(objects + references).  Marking new objects takes a bit per
 * object plus the censuses' arrays (12 bytes per object of the earlier
 * snapshots); ranking takes the dominator tree (idom, retained: 12 bytes
 * per object, the caller's) and a depth-first walk of it (12 bytes per
 * object, freed before it returns).  Paths of a finding's objects are
 * grouped by phd_path_groups (paths.h).
 */
#ifndef PYHEAPDIFF_FINDINGS_H
#define PYHEAPDIFF_FINDINGS_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapdiff/census.h"
#include "pyheapdiff/error.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/paths.h"

/* A bitset over the nodes of a snapshot: (n_nodes + 8) / 8 bytes. */
#define PHD_MARKED(m, v) ((m)[(v) >> 3] >> ((v)&7u) & 1u)
#define PHD_MARK(m, v) ((m)[(v) >> 3] |= (uint8_t)(1u << ((v)&7u)))
#define PHD_UNMARK(m, v) ((m)[(v) >> 3] &= (uint8_t) ~(1u << ((v)&7u)))

/*
 * Marks the objects of `last` that are new: with `again` NULL, last is
 * AFTER and an object is new when `base` (BASELINE's census, with
 * objects) has no object of the same type name at its address; with
 * `again` (AFTER's census, with objects), last is AGAIN and an object is
 * new when AFTER had it (same address and type name) and BASELINE did
 * not.  *mark is a malloc'd bitset of last's nodes (free it); *new_in_after
 * (may be NULL) counts AFTER's new objects (with again: the objects of
 * AFTER at no BASELINE address with their type).  The censuses must come
 * from the process of `last` (phd_same_process); the caller checks.
 * Returns 0, or -1 with err set when out of memory.  O(n log n) lookups.
 */
int phd_findings_mark_new(uint8_t **mark, const struct phd_census *base, const struct phd_census *again,
                          const struct phd_snapshot *last, uint64_t *new_in_after, struct phd_error *err);

/* One type of the ranking. */
struct phd_finding {
    uint32_t type;      /* type id in the snapshot: the first of its name */
    unsigned origin;    /* enum phd_origin (phd_snapshot_type_origin) */
    uint64_t count;     /* its objects: new and retained (matched), or all in AFTER */
    uint64_t size;      /* their shallow size */
    uint64_t retained;  /* what they retain, one inside another of its type counted once */
    uint64_t own;       /* the ranking key: retained, less (for builtin and stdlib
                         * types) what lies inside new objects of container types
                         * and what new containers below them retain */
    int64_t count_delta, size_delta; /* growth since BASELINE (matched: count and size) */
    uint32_t inside;    /* contents of another finding: its type id; else PHD_NONE */
    int selected;       /* of the caller's --type and --only */
};

struct phd_findings {
    const struct phd_snapshot *s; /* borrowed: the last snapshot */
    int matched;                  /* 1: new objects by address; 0: growth, no matching */
    uint64_t count, size;         /* the selected findings' objects */
    uint64_t retained;            /* ... those not inside another selected object */
    uint64_t unreachable;         /* new objects no root reaches (not counted) */
    struct phd_finding *items;    /* ranked: most retained first, contents last */
    size_t n;                     /* items, selected or not */
    uint32_t *canon;              /* per type id: the first type id of its name */
    uint8_t *mark;                /* bitset of the objects counted (owned) */
};

/*
 * The ranking of the new objects marked in *mark (a bitset of g's nodes,
 * phd_findings_mark_new; taken: out owns it, unreachable ones unmarked:
 * those that retain nothing, retained[v] == 0, which a real object of
 * non-zero size never is when reachable).
 * idom and retained are phd_graph_dominators' output for g (borrowed).
 * origins/types select the findings (phd_type_selected; 0/none: all):
 * every finding is listed, and unselected ones are flagged, so that
 * contents still find their container.  Returns 0, or -1 with err set
 * (*mark is freed then too).  Free with phd_findings_free.
 */
int phd_findings_rank(struct phd_findings *out, const struct phd_graph *g, uint8_t *mark, const uint32_t *idom,
                      const uint64_t *retained, unsigned origins, const char *const *types, size_t n_types,
                      struct phd_error *err);

/*
 * The ranking without matching (snapshots of two processes): the types
 * of d (phd_diff_compute of BASELINE and g's snapshot) whose count grew,
 * user, third-party and unknown types before builtin and stdlib ones,
 * each by growth in size; their objects are every reachable instance in
 * g's snapshot.  retained may be NULL (then 0), else as for
 * phd_findings_rank.  Returns 0, or -1 with err set.
 */
int phd_findings_growth(struct phd_findings *out, const struct phd_graph *g, const struct phd_diff *d,
                        const uint32_t *idom, const uint64_t *retained, unsigned origins,
                        const char *const *types, size_t n_types, struct phd_error *err);

/* The objects of finding k, ascending (room for items[k].count): returns
 * how many. */
size_t phd_findings_objects(const struct phd_findings *f, size_t k, uint32_t *out);

/*
 * The holders of finding k: the grouped retention paths of its objects
 * (phd_path_groups_new over phd_findings_objects), parent and pedge from
 * phd_graph_bfs_edges on the same graph.  Returns 0, or -1 when out of
 * memory.
 */
int phd_findings_holders(struct phd_path_groups *pg, const struct phd_findings *f, size_t k,
                         const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge);

/* The name of finding k's type. */
const char *phd_findings_name(const struct phd_findings *f, size_t k);

void phd_findings_free(struct phd_findings *f);

#endif
