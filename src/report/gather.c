/*
 * gather.c - what the HTML report shows, gathered from the analyses
 * (include/pyheapdiff/report.h): the diff table (as 'diff'), what leaked
 * with the paths that hold it (the ranking of findings.h, as 'leaks'),
 * the biggest retainers (retainers.h, as 'dominators') and the leak graph
 * of the first finding (render.h, as 'graph --path').  html.c writes the
 * page from it; the CLI only opens the files and picks the options.
 *
 * One dominator tree serves the ranking and the retainers; per-object
 * arrays are freed before the breadth-first search of the paths, so the
 * peak stays that of the dominator tree.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/findings.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/paths.h"
#include "pyheapdiff/render.h"
#include "pyheapdiff/report.h"
#include "pyheapdiff/retainers.h"

#define WHY_TYPES 5     /* findings whose paths are shown */
#define WHY_PATHS 3     /* path groups per type */
#define RETAINERS 10    /* objects and types in "Biggest retainers" */
#define GRAPH_OBJECTS 5 /* instances drawn in the leak graph */

/* Per type id of s: is its name `name` (exactly)?  Returns how many. */
static uint32_t mark_name(const struct phd_snapshot *s, const char *name, uint8_t *mark)
{
    uint32_t n = 0;
    for (uint32_t t = 0; t < s->n_types; t++) {
        mark[t] = strcmp(phd_snapshot_type_name(s, t), name) == 0;
        n += mark[t];
    }
    return n;
}

/* Everything the page shows, and what owns its strings. */
struct phd_report_gathered {
    struct phd_report rep;
    struct phd_diff *diff;
    size_t *keep;
    struct phd_error graph_err; /* the page says why there is no graph */
    struct phd_report_why why[WHY_TYPES];
    struct phd_report_path paths[WHY_TYPES][WHY_PATHS];
    char *texts[WHY_TYPES][WHY_PATHS]; /* malloc'd */
    struct phd_report_retainer ret[RETAINERS];
    char desc[RETAINERS][300];
    struct phd_report_type types[RETAINERS];
    char *svg;
};

static void gather_free(struct phd_report_gathered *x)
{
    phd_diff_free(&x->diff);
    free(x->keep);
    for (size_t k = 0; k < WHY_TYPES; k++)
        for (size_t i = 0; i < WHY_PATHS; i++)
            free(x->texts[k][i]);
    for (size_t k = 0; k < RETAINERS; k++)
        free((char *)x->ret[k].path);
    free(x->svg);
}

/* One "Why they are alive" entry: its first path groups. */
static int why_paths(struct phd_report_gathered *x, size_t k, struct phd_path_groups *pg)
{
    struct phd_report_why *w = &x->why[k];
    w->n_paths = pg->n < WHY_PATHS ? pg->n : WHY_PATHS;
    w->more_paths = pg->n - w->n_paths;
    for (size_t i = 0; i < w->n_paths; i++) {
        size_t cap = 0;
        if (phd_path_groups_text(pg, i, 0, &x->texts[k][i], &cap) < 0)
            return -1;
        x->paths[k][i] = (struct phd_report_path){pg->groups[i].count, x->texts[k][i]};
    }
    w->paths = x->paths[k];
    return 0;
}

/*
 * "Why they are alive": the first WHY_TYPES findings with the grouped
 * paths of their objects (phd_findings_holders); with --type T (gtids,
 * *gk: its finding or -1), T among them, as its finding or, when it is
 * not one, with the paths of all its reachable instances.
 */
static int gather_why(struct phd_report_gathered *x, const struct phd_graph *g, const struct phd_findings *f, const uint8_t *want,
                      long gk, const uint32_t *parent, const uint32_t *pedge)
{
    const struct phd_snapshot *s = g->s;
    size_t n = 0, pick[WHY_TYPES];
    for (size_t k = 0; k < f->n && n < WHY_TYPES; k++)
        pick[n++] = k;
    int have_g = gk < 0 ? 0 : (size_t)gk < n;
    if (want && !have_g && n == WHY_TYPES)
        n--;
    if (want && !have_g && gk >= 0)
        pick[n++] = (size_t)gk;
    int rc = -1;
    for (size_t j = 0; j < n; j++) {
        const struct phd_finding *it = &f->items[pick[j]];
        struct phd_path_groups pg;
        if (phd_findings_holders(&pg, f, pick[j], g, parent, pedge) < 0)
            return -1;
        x->why[j] = (struct phd_report_why){.type = phd_findings_name(f, pick[j]), .objects = it->count,
                                            .retained = it->retained, .growth = it->count_delta,
                                            .inside = it->inside != PHD_NONE ? phd_snapshot_type_name(s, it->inside)
                                                                             : NULL};
        rc = why_paths(x, j, &pg);
        phd_path_groups_free(&pg);
        if (rc < 0)
            return -1;
    }
    if (want && gk < 0) {
        /* --type T that is not a finding: its reachable instances */
        uint32_t *nodes = malloc(((size_t)s->n_nodes + 1) * sizeof *nodes);
        const char *name = NULL;
        size_t m = 0;
        if (!nodes)
            return -1;
        for (uint32_t v = 0; v < s->n_nodes; v++)
            if (want[s->type[v]] && (parent[v] != PHD_NONE || g->root_kind[v])) {
                nodes[m++] = v;
                name = phd_snapshot_type_name(s, s->type[v]);
            }
        struct phd_path_groups pg;
        if (name && n == WHY_TYPES)
            n--;
        if (name) {
            if (phd_path_groups_new(&pg, g, parent, pedge, nodes, m) < 0) {
                free(nodes);
                return -1;
            }
            x->why[n] = (struct phd_report_why){.type = name, .objects = m, .all_instances = 1};
            rc = why_paths(x, n, &pg);
            phd_path_groups_free(&pg);
            n++;
        }
        free(nodes);
        if (rc < 0 && name)
            return -1;
    }
    x->rep.why = x->why;
    x->rep.n_why = n;
    x->rep.why_matched = f->matched;
    return 0;
}

/* The leak graph: like 'graph --path' with its defaults, for a few new
 * objects of finding gk (>= 0), else a few instances of the types in
 * want. */
static void gather_graph(struct phd_report_gathered *x, const struct phd_graph *g, const struct phd_findings *f, long gk,
                         const uint8_t *want, struct phd_error *err)
{
    const struct phd_snapshot *s = g->s;
    uint32_t chosen[GRAPH_OBJECTS];
    size_t n = 0;
    if (gk >= 0) {
        uint32_t *objs = malloc((f->items[gk].count + 1) * sizeof *objs);
        if (!objs) {
            x->rep.graph_note = "Out of memory.";
            return;
        }
        size_t m = phd_findings_objects(f, (size_t)gk, objs);
        for (; n < m && n < GRAPH_OBJECTS; n++)
            chosen[n] = objs[n];
        free(objs);
        x->rep.graph_new = f->matched;
    } else {
        for (uint32_t v = 0; v < s->n_nodes && n < GRAPH_OBJECTS; v++)
            if (want[s->type[v]])
                chosen[n++] = v;
    }
    if (!n) {
        x->rep.graph_note = "No instance of this type in the after snapshot.";
        return;
    }
    struct phd_render_opts ro = {chosen, n, 0, 1, 3, 10, 1, NULL, NULL, 0, 0, NULL};
    size_t len;
    if (phd_render_graph_data(g, &ro, "svg", &x->svg, &len, err) < 0) {
        x->rep.graph_note = err->msg; /* the page says why; err outlives the page */
        return;
    }
    x->rep.svg = x->svg;
}


int phd_report_gather(struct phd_report_gathered **out, struct phd_census *before, struct phd_census *after,
                      const struct phd_graph *g, size_t top, const char *graph_type, struct phd_error *err)
{
    const struct phd_snapshot *s = g->s;
    struct phd_report_gathered *x = calloc(1, sizeof *x);
    struct phd_retainers rt = {0};
    struct phd_findings f = {0};
    uint8_t *mark = NULL, *want = NULL;
    uint32_t *idom = NULL, *parent = NULL, *pedge = NULL;
    uint64_t *ret = NULL;
    *out = NULL;
    if (!x)
        return phd_error_set(err, "%s: out of memory", s->path);

    /* the diff, as 'diff' computes it */
    if (phd_diff_compute(&x->diff, before, after, err) < 0)
        goto fail;
    struct phd_diff *d = x->diff;
    phd_diff_sort(d, PHD_SORT_SIZE);
    phd_census_drop_objects(after);
    /* the new objects, while BEFORE's addresses are at hand */
    if (d->matched && phd_findings_mark_new(&mark, before, NULL, s, NULL, err) < 0)
        goto fail;
    phd_census_drop_objects(before);
    x->keep = malloc((d->n + 1) * sizeof *x->keep);
    want = calloc((size_t)s->n_types + 1, 1);
    if (!x->keep || !want)
        goto nomem;
    x->rep.diff = d;
    x->rep.rows = x->keep;
    x->rep.n_rows = phd_diff_select(d, 0, 0, top, x->keep, &x->rep.omitted_rows);
    if (graph_type)
        mark_name(s, graph_type, want);

    /* what leaked, as 'leaks' ranks it: new objects by what they retain
     * (matched), else the types that grew, user and third-party first */
    size_t n = s->n_nodes;
    idom = malloc((n + 1) * sizeof *idom);
    ret = malloc((n + 1) * sizeof *ret);
    if (!idom || !ret || phd_graph_dominators(g, idom, ret) < 0)
        goto nomem;
    uint8_t *m = mark;
    mark = NULL;
    if ((d->matched ? phd_findings_rank(&f, g, m, idom, ret, 0, NULL, 0, err)
                    : phd_findings_growth(&f, g, d, idom, ret, 0, NULL, 0, err)) < 0)
        goto fail;
    /* biggest retainers, as 'dominators', from the same tree (before the
     * searches' arrays: less memory at the peak) */
    uint32_t *i2 = idom;
    uint64_t *r2 = ret;
    idom = NULL;
    ret = NULL;
    if (phd_retainers_from(&rt, g, NULL, i2, r2, err) < 0)
        goto fail;
    uint32_t top_nodes[RETAINERS];
    size_t n_top = 0;
    for (size_t k = 0; k < rt.n_order && k < RETAINERS; k++) {
        uint32_t v = top_nodes[n_top++] = rt.order[k];
        phd_graph_describe(s, v, x->desc[k], sizeof x->desc[k]);
        x->ret[k] = (struct phd_report_retainer){x->desc[k], NULL, s->addr[v], phd_snapshot_size(s, v), rt.ret[v]};
    }
    /* the per-object arrays are done with: less memory for the paths */
    free(rt.ret);
    free(rt.order);
    rt.ret = NULL;
    rt.order = NULL;

    /* the leak graph's finding: the first, or graph_type's */
    long gk = f.n ? 0 : -1;
    if (graph_type) {
        gk = -1;
        for (size_t k = 0; k < f.n && gk < 0; k++)
            if (want[f.items[k].type])
                gk = (long)k;
    }
    parent = malloc((n + 1) * sizeof *parent);
    pedge = malloc((n + 1) * sizeof *pedge);
    if (!parent || !pedge || phd_graph_bfs_edges(g, 0, parent, pedge, NULL) < 0)
        goto nomem;
    for (size_t k = 0; k < n_top; k++) {
        x->ret[k].path = phd_path_text(g, parent, pedge, top_nodes[k], 0);
        x->rep.n_retainers++;
        if (!x->ret[k].path)
            goto nomem;
    }
    x->rep.retainers = x->ret;
    for (size_t k = 0; k < rt.n_tord && k < RETAINERS; k++) {
        uint32_t t = rt.tord[k];
        x->types[k] = (struct phd_report_type){phd_snapshot_type_name(s, t), rt.type_ret[t], rt.type_top[t]};
    }
    x->rep.types = x->types;
    x->rep.n_types = rt.n_tord < RETAINERS ? rt.n_tord : RETAINERS;

    /* why they are alive, as 'leaks' */
    if (gather_why(x, g, &f, graph_type ? want : NULL, gk, parent, pedge) < 0)
        goto nomem;
    free(parent);
    free(pedge);
    parent = pedge = NULL;

    /* the leak graph */
    x->rep.graph_type = gk >= 0 ? phd_findings_name(&f, (size_t)gk) : graph_type;
    if (x->rep.graph_type)
        gather_graph(x, g, &f, gk, want, &x->graph_err);
    else
        x->rep.graph_note = d->matched ? "Nothing new is still retained." : "No type grew.";

    x->rep.before = (struct phd_report_side){before->label, before->objects, before->total_size,
                                             before->hdr.timestamp_ns, before->hdr.pid};
    x->rep.after = (struct phd_report_side){after->label, after->objects, after->total_size, after->hdr.timestamp_ns,
                                            after->hdr.pid};
    phd_retainers_free(&rt);
    phd_findings_free(&f);
    free(want);
    *out = x;
    return 0;
nomem:
    phd_error_set(err, "%s: out of memory", s->path);
fail:
    free(mark);
    free(want);
    free(idom);
    free(ret);
    free(parent);
    free(pedge);
    phd_retainers_free(&rt);
    phd_findings_free(&f);
    phd_report_gathered_free(&x);
    return -1;
}

struct phd_report *phd_report_gathered_report(struct phd_report_gathered *x)
{
    return &x->rep;
}

void phd_report_gathered_free(struct phd_report_gathered **xp)
{
    if (!*xp)
        return;
    gather_free(*xp);
    free(*xp);
    *xp = NULL;
}
