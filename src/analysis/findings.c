/*
 * findings.c - the leak ranking (include/pyheapdiff/findings.h).
 *
 * New objects are found by looking each object of the last snapshot up
 * in the earlier snapshots' censuses (sorted by address; a hit must have
 * the same type name).  The ranking walks the dominator tree once, depth
 * first and without recursion (children lists built from idom, an
 * explicit stack), keeping per type the number of open new ancestors of
 * that type (an object with one open is inside another of its type: its
 * retained size is already counted) and a stack of the open new objects
 * of container types (user, third-party, unknown): the top of that stack
 * is the container a builtin or stdlib object lies inside, if any.  A
 * type all of whose new objects had a container is contents.  O(V) time;
 * the children lists, the walk's stack and its bitset take 12 bytes per
 * object, freed before returning.
 *
 * Types are grouped by name, as in the diff: two classes of one name (a
 * class made in a function called twice) are one finding, under the
 * first type id of the name (canon).
 */
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/findings.h"
#include "pyheapdiff/progress.h"
#include "pyheapdiff/types.h"

/* ---- new objects ------------------------------------------------------- */

/* Does census c hold an object of type name `name` at addr? */
static int census_has(const struct phd_census *c, uint64_t addr, const char *name)
{
    size_t lo = 0, hi = c->n_objs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->addr[mid] < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < c->n_objs && c->addr[lo] == addr; lo++)
        if (strcmp(c->names[c->otype[lo]], name) == 0)
            return 1;
    return 0;
}

int phd_findings_mark_new(uint8_t **mark, const struct phd_census *base, const struct phd_census *again,
                          const struct phd_snapshot *last, uint64_t *new_in_after, struct phd_error *err)
{
    uint64_t fresh = 0;
    *mark = calloc((size_t)last->n_nodes / 8 + 1, 1);
    if (!*mark)
        return phd_error_set(err, "%s: out of memory", last->path);
    for (uint32_t v = 0; v < last->n_nodes; v++) {
        const char *name = phd_snapshot_type_name(last, last->type[v]);
        int is_new = again ? census_has(again, last->addr[v], name) && !census_has(base, last->addr[v], name)
                           : !census_has(base, last->addr[v], name);
        if (is_new)
            PHD_MARK(*mark, v);
        fresh += !again && is_new;
    }
    if (again)
        for (uint64_t i = 0; i < again->n_objs; i++)
            fresh += !census_has(base, again->addr[i], again->names[again->otype[i]]);
    if (new_in_after)
        *new_in_after = fresh;
    return 0;
}

/* ---- types by name ----------------------------------------------------- */

struct named {
    const char *name;
    uint32_t id;
};

static int by_name_id(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

/* canon[t]: the smallest type id with t's name. */
static uint32_t *make_canon(const struct phd_snapshot *s)
{
    uint32_t *canon = malloc(((size_t)s->n_types + 1) * sizeof *canon);
    struct named *nm = malloc(((size_t)s->n_types + 1) * sizeof *nm);
    if (!canon || !nm) {
        free(canon);
        free(nm);
        return NULL;
    }
    for (uint32_t t = 0; t < s->n_types; t++)
        nm[t] = (struct named){phd_snapshot_type_name(s, t), t};
    qsort(nm, s->n_types, sizeof *nm, by_name_id);
    for (uint32_t k = 0; k < s->n_types; k++)
        canon[nm[k].id] = k && strcmp(nm[k].name, nm[k - 1].name) == 0 ? canon[nm[k - 1].id] : nm[k].id;
    free(nm);
    return canon;
}

static int container_origin(unsigned origin)
{
    return origin != PHD_ORIGIN_BUILTIN && origin != PHD_ORIGIN_STDLIB;
}

/* ---- the walk ---------------------------------------------------------- */

/* Per canonical type, while walking. */
struct acc {
    uint32_t open;      /* open marked ancestors of this type */
    uint32_t inside;    /* the container of the first object, or PHD_NONE */
    uint8_t outside;    /* an object had no container */
    uint8_t selected, container;
    uint64_t sum_enter; /* the walk's top_sum when its open outermost object was entered */
};

/* The walk's state besides the per-type accumulators. */
struct walk {
    uint32_t open_sel; /* open selected marked ancestors */
    uint64_t top_sum;  /* retained sizes of the containers entered outside every container */
};

/*
 * Adds marked object v to its finding; ctop is the nearest open container
 * (or PHD_NONE).  A builtin or stdlib object outside every new container
 * that is not inside another of its type counts for its type's own
 * retained size, less the containers below it (leave() subtracts them:
 * the top-level containers entered while it is open), so that a new list
 * of leaked instances does not outrank the instances.
 */
static void enter(struct phd_findings *f, struct acc *a, struct walk *w, const uint64_t *ret, uint32_t v,
                  uint32_t ctop, int attribute)
{
    const struct phd_snapshot *s = f->s;
    uint32_t t = f->canon[s->type[v]];
    struct phd_finding *it = &f->items[t];
    uint64_t r = ret ? ret[v] : 0;
    it->count++;
    it->size += phd_snapshot_size(s, v);
    int outermost = !a[t].open++;
    if (outermost)
        it->retained += r;
    if (a[t].selected) {
        f->count++;
        f->size += phd_snapshot_size(s, v);
        if (!w->open_sel++)
            f->retained += r;
    }
    if (!attribute || a[t].container) {
        if (outermost)
            it->own += r;
        if (attribute && ctop == PHD_NONE)
            w->top_sum += r;
    } else if (ctop == PHD_NONE) {
        a[t].outside = 1;
        if (outermost) {
            it->own += r;
            a[t].sum_enter = w->top_sum;
        }
    } else if (a[t].inside == PHD_NONE) {
        a[t].inside = f->canon[s->type[ctop]];
    }
}

/* Undoes enter() when the walk leaves marked object v; csp: the open
 * containers, v's own included. */
static void leave(struct phd_findings *f, struct acc *a, struct walk *w, uint32_t v, size_t csp)
{
    uint32_t t = f->canon[f->s->type[v]];
    if (!--a[t].open && !a[t].container && !csp)
        f->items[t].own -= w->top_sum - a[t].sum_enter;
    if (a[t].selected)
        w->open_sel--;
}

/*
 * Counts the marked objects per type (f->items indexed by canonical type
 * id) walking the dominator tree depth first; unmarks (and counts in
 * f->unreachable) marked objects no root reaches.  Without idom, a plain
 * scan: counts and sizes only.
 */
static int walk(struct phd_findings *f, const struct phd_graph *g, struct acc *a, const uint32_t *idom,
                const uint64_t *ret, int attribute)
{
    const struct phd_snapshot *s = f->s;
    size_t n = s->n_nodes;
    uint8_t *mark = f->mark;
    struct walk w = {0, 0};
    if (!idom || !ret) {
        for (uint32_t v = 0; v < n; v++)
            if (PHD_MARKED(mark, v)) {
                enter(f, a, &w, NULL, v, PHD_NONE, 0);
                leave(f, a, &w, v, 1);
            }
        return 0;
    }
    for (uint32_t v = 0; v < n; v++)
        if (PHD_MARKED(mark, v) && !ret[v]) {
            PHD_UNMARK(mark, v);
            f->unreachable++;
        }
    int rc = -1;
    uint32_t *cstart = calloc(n + 2, sizeof *cstart), *child = malloc((n + 1) * sizeof *child);
    uint32_t *stack = malloc((n + 1) * sizeof *stack), *cstack = NULL;
    uint8_t *entered = calloc(n / 8 + 1, 1);
    size_t ccap = 0, csp = 0;
    if (!cstart || !child || !stack || !entered)
        goto out;
    /* children lists: counting sort of the nodes by idom */
    for (uint32_t v = 0; v < n; v++)
        if (idom[v] != PHD_NONE)
            cstart[idom[v] + 1]++;
    for (size_t v = 0; v < n; v++)
        cstart[v + 1] += cstart[v];
    for (uint32_t v = 0; v < n; v++)
        if (idom[v] != PHD_NONE)
            child[cstart[idom[v]]++] = v;
    /* the fill moved each start to the next one's: shift back */
    for (size_t v = n; v > 0; v--)
        cstart[v] = cstart[v - 1];
    cstart[0] = 0;
    uint64_t seen = 0;
    phd_progress_begin("ranking", n);
    for (uint32_t r = 0; r < n; r++) {
        if (idom[r] != PHD_NONE || !ret[r])
            continue; /* tree roots only; unreachable nodes have ret 0 */
        size_t sp = 0;
        stack[sp++] = r;
        while (sp) {
            uint32_t v = stack[sp - 1];
            int m = PHD_MARKED(mark, v);
            uint32_t t = f->canon[s->type[v]];
            if (!PHD_MARKED(entered, v)) {
                phd_progress_tick(seen++);
                PHD_MARK(entered, v);
                if (m) {
                    enter(f, a, &w, ret, v, csp ? cstack[csp - 1] : PHD_NONE, attribute);
                    if (attribute && a[t].container) {
                        if (csp == ccap) {
                            size_t nc = ccap ? 2 * ccap : 1024;
                            uint32_t *ns = realloc(cstack, nc * sizeof *ns);
                            if (!ns)
                                goto out;
                            cstack = ns;
                            ccap = nc;
                        }
                        cstack[csp++] = v;
                    }
                }
                for (uint32_t k = cstart[v]; k < cstart[v + 1]; k++)
                    stack[sp++] = child[k];
            } else {
                if (m) {
                    leave(f, a, &w, v, attribute ? csp : 1);
                    if (attribute && a[t].container)
                        csp--;
                }
                sp--;
            }
        }
    }
    rc = 0;
out:
    phd_progress_end();
    free(cstart);
    free(child);
    free(stack);
    free(cstack);
    free(entered);
    return rc;
}

/* ---- ranking ----------------------------------------------------------- */

/* Sort keys: the group (0 first), then rank within it, larger first. */
struct key {
    uint32_t group;
    uint64_t crank; /* contents: their container's position */
    int64_t by, then;
    uint32_t type;
};
static const struct key *sort_keys;

static int by_key(const void *x, const void *y)
{
    const struct key *p = &sort_keys[*(const uint32_t *)x], *q = &sort_keys[*(const uint32_t *)y];
    if (p->group != q->group)
        return p->group < q->group ? -1 : 1;
    if (p->crank != q->crank)
        return p->crank < q->crank ? -1 : 1;
    if (p->by != q->by)
        return p->by < q->by ? 1 : -1;
    if (p->then != q->then)
        return p->then < q->then ? 1 : -1;
    return (p->type > q->type) - (p->type < q->type);
}

/* The type ids with keep[t], in the order of keys (qsort has no context
 * argument in C11: sort_keys; single-threaded); *n of them, malloc'd. */
static uint32_t *sorted_ids(const struct key *keys, const uint8_t *keep, uint32_t n_types, size_t *n)
{
    uint32_t *idx = malloc(((size_t)n_types + 1) * sizeof *idx);
    *n = 0;
    if (!idx)
        return NULL;
    for (uint32_t t = 0; t < n_types; t++)
        if (keep[t])
            idx[(*n)++] = t;
    sort_keys = keys;
    qsort(idx, *n, sizeof *idx, by_key);
    return idx;
}

/* Replaces the per-type records by the kept ones, in the order of keys. */
static int order(struct phd_findings *f, const struct key *keys, const uint8_t *keep)
{
    size_t n;
    uint32_t *idx = sorted_ids(keys, keep, f->s->n_types, &n);
    struct phd_finding *items = malloc((n + 1) * sizeof *items);
    if (!idx || !items) {
        free(idx);
        free(items);
        return -1;
    }
    for (size_t k = 0; k < n; k++)
        items[k] = f->items[idx[k]];
    free(idx);
    free(f->items);
    f->items = items;
    f->n = n;
    return 0;
}

/* The common start: canonical types, per-type accumulators, selection. */
static struct acc *start(struct phd_findings *f, const struct phd_graph *g, unsigned origins,
                         const char *const *types, size_t n_types)
{
    const struct phd_snapshot *s = g->s;
    f->s = s;
    f->canon = make_canon(s);
    f->items = calloc((size_t)s->n_types + 1, sizeof *f->items);
    struct acc *a = calloc((size_t)s->n_types + 1, sizeof *a);
    if (!f->canon || !f->items || !a) {
        free(a);
        return NULL;
    }
    for (uint32_t t = 0; t < s->n_types; t++) {
        unsigned o = phd_snapshot_type_origin(s, t);
        const char *name = phd_snapshot_type_name(s, t);
        f->items[t] = (struct phd_finding){.type = t, .origin = o, .inside = PHD_NONE};
        a[t] = (struct acc){0, PHD_NONE, 0, (uint8_t)phd_type_selected(name, o, origins, types, n_types),
                            (uint8_t)container_origin(o), 0};
        f->items[t].selected = a[t].selected;
    }
    return a;
}

int phd_findings_rank(struct phd_findings *out, const struct phd_graph *g, uint8_t *mark, const uint32_t *idom,
                      const uint64_t *retained, unsigned origins, const char *const *types, size_t n_types,
                      struct phd_error *err)
{
    const struct phd_snapshot *s = g->s;
    *out = (struct phd_findings){0};
    out->matched = 1;
    out->mark = mark;
    struct key *keys = NULL;
    uint8_t *keep = NULL;
    struct acc *a = start(out, g, origins, types, n_types);
    if (!a || walk(out, g, a, idom, retained, 1) < 0)
        goto nomem;
    keys = calloc((size_t)s->n_types + 1, sizeof *keys);
    keep = calloc((size_t)s->n_types + 1, 1);
    if (!keys || !keep)
        goto nomem;
    /* the findings that are not contents, by what they retain; then the
     * contents, in their containers' order */
    for (uint32_t t = 0; t < s->n_types; t++) {
        struct phd_finding *it = &out->items[t];
        it->count_delta = (int64_t)it->count;
        it->size_delta = (int64_t)it->size;
        if (it->count && !a[t].container && !a[t].outside && a[t].inside != PHD_NONE)
            it->inside = a[t].inside;
        keys[t] = (struct key){0, 0, (int64_t)it->own, (int64_t)it->count, t};
        keep[t] = it->count && it->inside == PHD_NONE;
    }
    size_t nfirst;
    uint32_t *first = sorted_ids(keys, keep, s->n_types, &nfirst);
    if (!first)
        goto nomem;
    for (size_t k = 0; k < nfirst; k++)
        keys[first[k]].crank = k;
    free(first);
    for (uint32_t t = 0; t < s->n_types; t++) {
        struct phd_finding *it = &out->items[t];
        if (it->inside != PHD_NONE) {
            keys[t].group = 1;
            keys[t].crank = keys[it->inside].crank;
            keys[t].by = (int64_t)it->retained;
        }
        keep[t] = it->count > 0;
    }
    if (order(out, keys, keep) < 0)
        goto nomem;
    free(keys);
    free(keep);
    free(a);
    return 0;
nomem:
    free(keys);
    free(keep);
    free(a);
    phd_findings_free(out);
    return phd_error_set(err, "%s: out of memory ranking the new objects", s->path);
}

static int by_row_name(const void *x, const void *y)
{
    const struct phd_diff_row *p = *(const struct phd_diff_row *const *)x, *q = *(const struct phd_diff_row *const *)y;
    return strcmp(p->name, q->name);
}

int phd_findings_growth(struct phd_findings *out, const struct phd_graph *g, const struct phd_diff *d,
                        const uint32_t *idom, const uint64_t *retained, unsigned origins,
                        const char *const *types, size_t n_types, struct phd_error *err)
{
    const struct phd_snapshot *s = g->s;
    *out = (struct phd_findings){0};
    struct key *keys = NULL;
    uint8_t *keep = NULL;
    const struct phd_diff_row **rows = malloc((d->n + 1) * sizeof *rows), **row_of = NULL;
    struct acc *a = start(out, g, origins, types, n_types);
    out->matched = 0;
    if (!a || !rows)
        goto nomem;
    /* each type's diff row, by name */
    for (size_t r = 0; r < d->n; r++)
        rows[r] = &d->rows[r];
    qsort(rows, d->n, sizeof *rows, by_row_name);
    row_of = calloc((size_t)s->n_types + 1, sizeof *row_of);
    keep = calloc((size_t)s->n_types + 1, 1);
    keys = calloc((size_t)s->n_types + 1, sizeof *keys);
    out->mark = calloc((size_t)s->n_nodes / 8 + 1, 1);
    if (!row_of || !keep || !keys || !out->mark)
        goto nomem;
    for (uint32_t t = 0; t < s->n_types; t++) {
        struct phd_diff_row want = {.name = phd_snapshot_type_name(s, t)};
        const struct phd_diff_row *pw = &want, **hit = bsearch(&pw, rows, d->n, sizeof *rows, by_row_name);
        if (hit && (*hit)->count_b > (*hit)->count_a)
            row_of[out->canon[t]] = *hit;
    }
    for (uint32_t v = 0; v < s->n_nodes; v++)
        if (row_of[out->canon[s->type[v]]])
            PHD_MARK(out->mark, v);
    if (walk(out, g, a, idom, retained, 0) < 0)
        goto nomem;
    out->unreachable = 0; /* not new objects: nothing to say */
    /* user, third-party and unknown types first, by growth in size */
    for (uint32_t t = 0; t < s->n_types; t++) {
        struct phd_finding *it = &out->items[t];
        const struct phd_diff_row *w = row_of[t];
        if (!w)
            continue;
        it->count_delta = (int64_t)(w->count_b - w->count_a);
        it->size_delta = (int64_t)(w->size_b - w->size_a);
        keys[t] = (struct key){!a[t].container, 0, it->size_delta, it->count_delta, t};
        keep[t] = 1;
    }
    if (order(out, keys, keep) < 0)
        goto nomem;
    free(rows);
    free(row_of);
    free(keys);
    free(keep);
    free(a);
    return 0;
nomem:
    free(rows);
    free(row_of);
    free(keys);
    free(keep);
    free(a);
    phd_findings_free(out);
    return phd_error_set(err, "%s: out of memory ranking the types that grew", s->path);
}

size_t phd_findings_objects(const struct phd_findings *f, size_t k, uint32_t *out)
{
    const struct phd_snapshot *s = f->s;
    uint32_t t = f->items[k].type;
    size_t m = 0;
    for (uint32_t v = 0; v < s->n_nodes && m < f->items[k].count; v++)
        if (PHD_MARKED(f->mark, v) && f->canon[s->type[v]] == t)
            out[m++] = v;
    return m;
}

int phd_findings_holders(struct phd_path_groups *pg, const struct phd_findings *f, size_t k,
                         const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge)
{
    *pg = (struct phd_path_groups){0};
    uint32_t *objs = malloc((f->items[k].count + 1) * sizeof *objs);
    if (!objs)
        return -1;
    size_t m = phd_findings_objects(f, k, objs);
    int rc = phd_path_groups_new(pg, g, parent, pedge, objs, m);
    free(objs);
    return rc;
}

const char *phd_findings_name(const struct phd_findings *f, size_t k)
{
    return phd_snapshot_type_name(f->s, f->items[k].type);
}

void phd_findings_free(struct phd_findings *f)
{
    free(f->items);
    free(f->canon);
    free(f->mark);
    *f = (struct phd_findings){0};
}
