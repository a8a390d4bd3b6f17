/*
 * retainers.c - retained sizes per object and per type, ordered
 * (include/pyheapdiff/retainers.h): what `dominators` prints and the
 * report's "Biggest retainers" shows.
 */
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/findings.h"
#include "pyheapdiff/retainers.h"

static const uint64_t *sort_ret;

static int by_retained(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (sort_ret[x] != sort_ret[y])
        return sort_ret[x] < sort_ret[y] ? 1 : -1;
    return (x > y) - (x < y);
}

/*
 * Per type, the retained size of its instances that have no instance of
 * the same type above them in the dominator tree: a depth-first walk of
 * the tree (children lists from idom) with a count of open ancestors per
 * type.  O(V).
 */
int phd_retainers_per_type(const struct phd_snapshot *s, const uint32_t *idom, const uint64_t *ret,
                           uint64_t *type_ret, uint32_t *type_top)
{
    size_t n = s->n_nodes;
    uint32_t *cstart = calloc(n + 2, sizeof *cstart);
    uint32_t *child = malloc((n + 1) * sizeof *child), *stack = malloc((n + 1) * sizeof *stack);
    uint32_t *open = calloc((size_t)s->n_types + 1, sizeof *open);
    uint8_t *entered = calloc(n / 8 + 1, 1); /* a bit per node */
    int rc = -1;
    if (!cstart || !child || !stack || !open || !entered)
        goto out;
    /* children lists; the super-root's children are nodes with idom NONE */
    for (uint32_t v = 0; v < n; v++)
        if (idom[v] != PHD_NONE)
            cstart[idom[v] + 1]++;
    for (size_t v = 0; v < n; v++)
        cstart[v + 1] += cstart[v];
    for (uint32_t v = 0; v < n; v++)
        if (idom[v] != PHD_NONE)
            child[cstart[idom[v]]++] = v;
    /* the fill moved each start to the next one's: shift back (no array
     * of fill positions, 4 bytes per object less at this peak) */
    for (size_t v = n; v > 0; v--)
        cstart[v] = cstart[v - 1];
    cstart[0] = 0;
    for (uint32_t t = 0; t < s->n_types; t++) {
        type_ret[t] = 0;
        type_top[t] = 0;
    }
    for (uint32_t r = 0; r < n; r++) {
        if (idom[r] != PHD_NONE || !ret[r])
            continue; /* tree roots only (unreachable nodes have ret 0) */
        size_t sp = 0;
        stack[sp++] = r;
        while (sp) {
            uint32_t v = stack[sp - 1];
            uint32_t t = s->type[v];
            if (!PHD_MARKED(entered, v)) {
                PHD_MARK(entered, v);
                if (!open[t]++) {
                    type_ret[t] += ret[v];
                    type_top[t]++;
                }
                for (uint32_t k = cstart[v]; k < cstart[v + 1]; k++)
                    stack[sp++] = child[k];
            } else {
                open[t]--;
                sp--;
            }
        }
    }
    rc = 0;
out:
    free(cstart);
    free(child);
    free(stack);
    free(open);
    free(entered);
    return rc;
}

int phd_retainers_compute(struct phd_retainers *r, const struct phd_graph *g, const uint8_t *want,
                          struct phd_error *err)
{
    size_t n = g->s->n_nodes;
    uint32_t *idom = malloc((n + 1) * sizeof *idom);
    uint64_t *ret = malloc((n + 1) * sizeof *ret);
    if (!idom || !ret || phd_graph_dominators(g, idom, ret) < 0) {
        free(idom);
        free(ret);
        *r = (struct phd_retainers){0};
        return phd_error_set(err, "%s: out of memory", g->s->path);
    }
    return phd_retainers_from(r, g, want, idom, ret, err);
}

int phd_retainers_from(struct phd_retainers *r, const struct phd_graph *g, const uint8_t *want, uint32_t *idom,
                       uint64_t *ret, struct phd_error *err)
{
    const struct phd_snapshot *s = g->s;
    size_t n = s->n_nodes, nt = (size_t)s->n_types + 1;
    *r = (struct phd_retainers){0};
    r->ret = ret;
    r->type_ret = malloc(nt * sizeof *r->type_ret);
    r->type_top = malloc(nt * sizeof *r->type_top);
    r->tord = malloc(nt * sizeof *r->tord);
    if (!r->type_ret || !r->type_top || !r->tord || phd_retainers_per_type(s, idom, r->ret, r->type_ret, r->type_top) < 0)
        goto fail;
    /* the tree is summarised: give its memory back before what follows */
    free(idom);
    idom = NULL;
    if (!(r->order = malloc((n + 1) * sizeof *r->order)))
        goto fail;
    for (uint32_t v = 0; v < n; v++)
        if ((!want || want[s->type[v]]) && r->ret[v])
            r->order[r->n_order++] = v;
    sort_ret = r->ret;
    qsort(r->order, r->n_order, sizeof *r->order, by_retained);
    for (uint32_t t = 0; t < s->n_types; t++)
        if (r->type_top[t] && (!want || want[t]))
            r->tord[r->n_tord++] = t;
    sort_ret = r->type_ret;
    qsort(r->tord, r->n_tord, sizeof *r->tord, by_retained);
    return 0;
fail:
    free(idom);
    phd_retainers_free(r);
    return phd_error_set(err, "%s: out of memory", s->path);
}

void phd_retainers_free(struct phd_retainers *r)
{
    free(r->ret);
    free(r->type_ret);
    free(r->type_top);
    free(r->order);
    free(r->tord);
    *r = (struct phd_retainers){0};
}

