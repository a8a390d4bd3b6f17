/*
 * fuzz_graph.c - fuzz target: a snapshot into the analysis graph and
 * every algorithm over it (roots, BFS paths, SCC, cycle summaries,
 * dominators, labels and descriptions, path groups and their texts, the
 * leak ranking), and into a census and a diff.
 *
 * The results are checked against the properties the commands rely on:
 * a BFS parent is one step closer to the roots over a real retaining edge,
 * component and dominator ids are in range, a cycle's members are one
 * component and its example a cycle inside it, unreachable nodes retain
 * nothing, a census counts every object.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pyheapdiff/census.h"
#include "pyheapdiff/cycles.h"
#include "pyheapdiff/findings.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/paths.h"

static void check_bfs(const struct phd_graph *g, int named_only, uint32_t *parent, uint32_t *pedge, uint32_t *dist)
{
    const struct phd_snapshot *s = g->s;
    FZ_CHECK(phd_graph_bfs_edges(g, named_only, parent, pedge, dist) == 0, "BFS out of memory");
    for (uint32_t v = 0; v < g->n; v++) {
        if (parent[v] == PHD_NONE) {
            FZ_CHECK(pedge[v] == PHD_NONE, NULL);
            FZ_CHECK(dist[v] == 0 || dist[v] == UINT32_MAX, "a node at distance > 0 without a parent");
            continue;
        }
        FZ_CHECK(parent[v] < g->n, "BFS parent out of range");
        FZ_CHECK(dist[v] == dist[parent[v]] + 1, "BFS parent not one step closer");
        uint32_t e = pedge[v];
        FZ_CHECK(e >= s->edge_start[parent[v]] && e < s->edge_start[parent[v] + 1], "BFS edge not the parent's");
        FZ_CHECK(s->edge_target[e] == v && phd_edge_retains(s, e), "BFS edge does not retain v");
        FZ_CHECK(phd_graph_edge_between(s, parent[v], v) != UINT64_MAX, NULL);
    }
}

static void check_census(const struct phd_snapshot *s)
{
    struct phd_census *a = NULL, *b = NULL;
    struct phd_diff *d = NULL;
    struct phd_error err;
    if (phd_census_from_snapshot(&a, s, 1, &err) < 0 || phd_census_from_snapshot(&b, s, 0, &err) < 0)
        fz_fail("census", err.msg);
    FZ_CHECK(a->objects == s->n_nodes && a->n_objs == s->n_nodes, "census lost objects");
    for (uint64_t i = 1; i < a->n_objs; i++)
        FZ_CHECK(a->addr[i - 1] <= a->addr[i], "census objects not sorted by address");
    if (phd_diff_compute(&d, a, a, &err) < 0)
        fz_fail("diff", err.msg);
    FZ_CHECK(d->total.count_a == s->n_nodes && d->total.count_b == s->n_nodes, "diff lost objects");
    FZ_CHECK(d->total.size_a == d->total.size_b, NULL);
    phd_diff_sort(d, PHD_SORT_COUNT);
    phd_diff_free(&d);
    if (phd_diff_compute(&d, b, a, &err) < 0)
        fz_fail("diff", err.msg);
    phd_diff_sort(d, PHD_SORT_SIZE);
    FZ_CHECK(d->total.count_a == d->total.count_b, NULL);
    phd_diff_free(&d);
    phd_census_free(&a);
    phd_census_free(&b);
}

/* The cycle summaries against comp (phd_graph_scc) and dist (the full
 * BFS): every object of a component of two or more, or with a self
 * reference, in exactly one cycle; the examples cycles inside them. */
static void check_cycles(const struct phd_graph *g, const uint32_t *comp, int64_t ncomp, const uint32_t *dist)
{
    const struct phd_snapshot *s = g->s;
    struct phd_cycles c;
    struct phd_error err;
    FZ_CHECK(phd_cycles_find(&c, g, NULL, &err) == 0, "cycles out of memory");
    uint32_t *csize = calloc((size_t)ncomp + 1, sizeof *csize);
    FZ_CHECK(csize != NULL, NULL);
    for (uint32_t v = 0; v < g->n; v++)
        csize[comp[v]]++;
    uint64_t want = 0;
    for (uint32_t v = 0; v < g->n; v++)
        want += csize[comp[v]] > 1 || phd_graph_edge_between(s, v, v) != UINT64_MAX;
    uint64_t objects = 0, size = 0;
    for (size_t k = 0; k < c.n; k++) {
        const struct phd_cycle *cy = &c.items[k];
        uint32_t nm;
        const uint32_t *m = phd_cycles_members(&c, k, &nm);
        FZ_CHECK(nm == cy->count && nm > 0 && m[0] == cy->first, "cycle members");
        FZ_CHECK(nm == csize[comp[cy->first]], "a cycle is not its whole component");
        for (uint32_t i = 1; i < nm; i++)
            FZ_CHECK(m[i - 1] < m[i] && comp[m[i]] == comp[m[0]], "cycle members not one component, ascending");
        FZ_CHECK(!cy->reachable == (dist[cy->first] == UINT32_MAX), "cycle reachability");
        FZ_CHECK(k == 0 || c.items[k - 1].size >= cy->size, "cycles out of order");
        objects += cy->count;
        size += cy->size;
        if (k >= 16)
            continue;
        struct phd_cycle_type *types;
        long nt = phd_cycles_types(&c, k, &types);
        FZ_CHECK(nt > 0, "cycle types");
        uint64_t counted = 0;
        for (long i = 0; i < nt; i++) {
            FZ_CHECK(types[i].type < s->n_types && (i == 0 || types[i - 1].count >= types[i].count), "cycle types");
            counted += types[i].count;
        }
        FZ_CHECK(counted == cy->count, "cycle types lost objects");
        free(types);
        uint32_t *chain;
        long hops = phd_cycles_example(&c, k, &chain);
        FZ_CHECK(hops >= 1 && hops <= (long)nm && chain[0] == cy->first && chain[hops] == cy->first, "cycle example");
        for (long i = 0; i < hops; i++)
            FZ_CHECK(comp[chain[i]] == comp[cy->first] && phd_graph_edge_between(s, chain[i], chain[i + 1]) != UINT64_MAX,
                     "a cycle example's hop is no retaining reference inside the cycle");
        char *text = phd_cycles_example_text(s, chain, (size_t)hops);
        FZ_CHECK(text && strlen(text) < 16 * 1024, "cycle example text");
        free(text);
        free(chain);
    }
    FZ_CHECK(objects == want && c.objects == want && c.size == size && c.size <= s->total_size, "cycles lost objects");
    phd_cycles_free(&c);
    /* the cycles with an object of node 0's type: a subset, each with one */
    if (g->n) {
        uint8_t *wt = calloc((size_t)s->n_types + 1, 1);
        FZ_CHECK(wt != NULL, NULL);
        wt[s->type[0]] = 1;
        FZ_CHECK(phd_cycles_find(&c, g, wt, &err) == 0, "cycles out of memory");
        FZ_CHECK(c.objects <= want, NULL);
        for (size_t k = 0; k < c.n && k < 16; k++) {
            uint32_t nm;
            const uint32_t *m = phd_cycles_members(&c, k, &nm);
            int found = 0;
            for (uint32_t i = 0; i < nm; i++)
                found |= wt[s->type[m[i]]];
            FZ_CHECK(found, "a cycle without the type asked for");
        }
        phd_cycles_free(&c);
        free(wt);
    }
    free(csize);
}

static void analyse(const struct phd_snapshot *s)
{
    struct phd_graph *g = NULL;
    struct phd_error err;
    if (phd_graph_build(&g, s, &err) < 0)
        fz_fail("graph build", err.msg);
    size_t n1 = (size_t)g->n + 1;
    uint32_t *parent = malloc(n1 * sizeof *parent), *pedge = malloc(n1 * sizeof *pedge);
    uint32_t *dist = malloc(n1 * sizeof *dist), *comp = malloc(n1 * sizeof *comp);
    uint32_t *idom = malloc(n1 * sizeof *idom);
    uint64_t *retained = malloc(n1 * sizeof *retained);
    if (!parent || !pedge || !dist || !comp || !idom || !retained)
        abort();
    for (uint32_t r = 0; r < g->n_roots; r++) {
        FZ_CHECK(g->roots[r] < g->n && g->root_kind[g->roots[r]] != 0, "bad root");
        uint32_t rec = phd_graph_root_record(g, g->roots[r]);
        FZ_CHECK(rec == PHD_NONE || rec < s->n_roots, "root record out of range");
    }
    check_bfs(g, 1, parent, pedge, dist);
    check_bfs(g, 0, parent, pedge, dist);

    int64_t nc = phd_graph_scc(g, comp);
    FZ_CHECK(nc >= 0 && (g->n == 0 || nc >= 1) && nc <= (int64_t)g->n, "SCC count");
    for (uint32_t v = 0; v < g->n; v++)
        FZ_CHECK(comp[v] < (uint64_t)nc, "component id out of range");
    /* two nodes that retain each other are one component (checked where
     * the way back is cheap to look for) */
    for (uint32_t u = 0; u < g->n; u++) {
        for (uint64_t e = s->edge_start[u]; e < s->edge_start[u + 1]; e++) {
            uint32_t t = s->edge_target[e];
            if (phd_edge_retains(s, e) && s->edge_start[t + 1] - s->edge_start[t] <= 64 &&
                phd_graph_edge_between(s, t, u) != UINT64_MAX)
                FZ_CHECK(comp[u] == comp[t], "a two-node cycle split over components");
        }
    }
    check_cycles(g, comp, nc, dist);

    FZ_CHECK(phd_graph_dominators(g, idom, retained) == 0, "dominators out of memory");
    for (uint32_t v = 0; v < g->n; v++) {
        if (dist[v] == UINT32_MAX) { /* dist is from the full BFS: the same roots */
            FZ_CHECK(idom[v] == PHD_NONE && retained[v] == 0, "an unreachable node dominates something");
        } else if (idom[v] != PHD_NONE) {
            FZ_CHECK(idom[v] < g->n && dist[idom[v]] < dist[v], "immediate dominator not above the node");
        }
    }

    /* path groups of every node (ascending): every node in one group */
    uint32_t *nodes = comp; /* done with */
    for (uint32_t v = 0; v < g->n; v++)
        nodes[v] = v;
    struct phd_path_groups pg;
    FZ_CHECK(phd_path_groups_new(&pg, g, parent, pedge, nodes, g->n) == 0, "path groups out of memory");
    uint64_t total = 0;
    char *text = NULL;
    size_t cap = 0;
    for (size_t k = 0; k < pg.n; k++) {
        FZ_CHECK(pg.groups[k].count > 0 && pg.groups[k].example < g->n, "bad path group");
        FZ_CHECK(k == 0 || pg.groups[k - 1].count >= pg.groups[k].count, "path groups out of order");
        total += pg.groups[k].count;
        if (k < 16) {
            FZ_CHECK(phd_path_groups_text(&pg, k, k & 1, &text, &cap) >= 0, "path text out of memory");
            FZ_CHECK(strlen(text) < 16 * 1024, "a path text not elided");
        }
    }
    FZ_CHECK(total == g->n, "path groups lost objects");
    free(text);
    phd_path_groups_free(&pg);

    /* the leak ranking of every other object, taken as new */
    uint8_t *mark = calloc((size_t)g->n / 8 + 1, 1);
    FZ_CHECK(mark != NULL, NULL);
    uint64_t want = 0;
    for (uint32_t v = 1; v < g->n; v += 2) {
        PHD_MARK(mark, v);
        want += retained[v] != 0; /* the ranking's reachable: retains something */
    }
    struct phd_findings f;
    FZ_CHECK(phd_findings_rank(&f, g, mark, idom, retained, 0, NULL, 0, &err) == 0, "ranking out of memory");
    uint64_t counted = 0;
    for (size_t k = 0; k < f.n; k++) {
        const struct phd_finding *it = &f.items[k];
        counted += it->count;
        FZ_CHECK(it->count > 0 && it->own <= it->retained && it->retained <= s->total_size, "bad finding");
        FZ_CHECK(k == 0 || f.items[k - 1].inside == PHD_NONE || it->inside != PHD_NONE, "contents before a finding");
    }
    FZ_CHECK(counted == want && f.count == want && f.retained <= s->total_size, "the ranking lost objects");
    if (f.n) {
        FZ_CHECK(phd_findings_holders(&pg, &f, 0, g, parent, pedge) == 0, "holders out of memory");
        total = 0;
        for (size_t k = 0; k < pg.n; k++)
            total += pg.groups[k].count;
        FZ_CHECK(total == f.items[0].count, "holders lost objects");
        phd_path_groups_free(&pg);
    }
    phd_findings_free(&f);

    char buf[256];
    uint64_t ne = s->n_edges < 4096 ? s->n_edges : 4096;
    for (uint64_t e = 0; e < ne; e++) {
        phd_graph_label(s, e, (int)(e & 1), buf, sizeof buf);
        FZ_CHECK(strlen(buf) < sizeof buf, NULL);
    }
    for (uint32_t v = 0; v < g->n && v < 4096; v++) {
        phd_graph_describe(s, v, buf, sizeof buf); /* empty for a type named "" */
        FZ_CHECK(strlen(buf) < sizeof buf, NULL);
    }
    free(parent);
    free(pedge);
    free(dist);
    free(comp);
    free(idom);
    free(retained);
    phd_graph_free(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *image;
    struct phd_snapshot *s = fz_parse(data, size, 0, &image);
    if (!s)
        return 0;
    analyse(s);
    check_census(s);
    fz_release(&s, &image);
    return 0;
}
