/*
 * cmd_report.c - pyheapdiff report BEFORE AFTER -o report.html: one
 * self-contained HTML page with what the text commands say about a pair
 * of snapshots: the diff table (as 'diff'), what leaked with the paths
 * that hold it (the library's ranking, include/pyheapdiff/findings.h, as
 * 'leaks'), the biggest retainers (as 'dominators') and the leak graph of
 * the first finding (as 'graph --path').  This file gathers the data
 * through the library functions those commands use; src/report/html.c
 * writes the page.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/census.h"
#include "pyheapdiff/findings.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/paths.h"
#include "pyheapdiff/html.h"
#include "pyheapdiff/output.h"
#include "pyheapdiff/render.h"

#define WHY_TYPES 5     /* findings whose paths are shown */
#define WHY_PATHS 3     /* path groups per type */
#define RETAINERS 10    /* objects and types in "Biggest retainers" */
#define GRAPH_OBJECTS 5 /* instances drawn in the leak graph */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

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
struct gather {
    struct phd_report rep;
    struct phd_report_why why[WHY_TYPES];
    struct phd_report_path paths[WHY_TYPES][WHY_PATHS];
    char *texts[WHY_TYPES][WHY_PATHS]; /* malloc'd */
    struct phd_report_retainer ret[RETAINERS];
    char desc[RETAINERS][300];
    struct phd_report_type types[RETAINERS];
    char *svg;
};

static void gather_free(struct gather *x)
{
    for (size_t k = 0; k < WHY_TYPES; k++)
        for (size_t i = 0; i < WHY_PATHS; i++)
            free(x->texts[k][i]);
    for (size_t k = 0; k < RETAINERS; k++)
        free((char *)x->ret[k].path);
    free(x->svg);
}

/* One "Why they are alive" entry: its first path groups. */
static int why_paths(struct gather *x, size_t k, struct phd_path_groups *pg)
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
static int gather_why(struct gather *x, const struct phd_graph *g, const struct phd_findings *f, const uint8_t *want,
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
static void gather_graph(struct gather *x, const struct phd_graph *g, const struct phd_findings *f, long gk,
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

int cmd_report(int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("report");
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"top", required_argument, NULL, 'n'},
        {"title", required_argument, NULL, 'T'},  {"type", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *out = "report.html", *title = NULL, *type = NULL;
    long top = 20;
    int c;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'n':
            if (cli_parse_count(cmd, "--top", optarg, &top) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'T':
            title = optarg;
            break;
        case 't':
            type = optarg;
            break;
        case 'h':
            return cli_help(cmd);
        default:
            return cli_bad_option(cmd, c, argc, argv);
        }
    }
    if (argc - optind != 2)
        return cli_fail("report: expected two snapshots, BEFORE and AFTER (see 'pyheapdiff report --help')");
    if (!*out)
        return cli_fail("report: -o needs a file name");

    int status = PHD_EXIT_USAGE;
    struct phd_error err;
    struct phd_snapshot *sa = NULL, *s = NULL;
    struct phd_graph *g = NULL;
    struct phd_census *cs[2] = {NULL, NULL};
    struct phd_diff *d = NULL;
    struct cli_retainers rt = {0};
    struct phd_findings f = {0};
    uint8_t *mark = NULL;
    uint32_t *idom = NULL;
    uint64_t *ret = NULL;
    struct gather *x = calloc(1, sizeof *x);
    size_t *keep = NULL;
    uint32_t *parent = NULL, *pedge = NULL, *tids = NULL, ntids = 0;
    uint8_t *want = NULL;
    char deftitle[600];
    if (!x)
        return cli_fail("report: out of memory");

    /* the diff, as 'diff' computes it */
    if (cli_open_snapshot(argv[optind], &sa) < 0)
        goto out;
    if (phd_census_from_snapshot(&cs[0], sa, 1, &err) < 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    phd_snapshot_free(&sa);
    if (cli_open_graph(argv[optind + 1], &s, &g) < 0)
        goto out;
    if (phd_census_from_snapshot(&cs[1], s, 1, &err) < 0 || phd_diff_compute(&d, cs[0], cs[1], &err) < 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    phd_diff_sort(d, PHD_SORT_SIZE);
    phd_census_drop_objects(cs[1]);
    /* the new objects, while BASELINE's addresses are at hand */
    if (d->matched && phd_findings_mark_new(&mark, cs[0], NULL, s, NULL, &err) < 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    phd_census_drop_objects(cs[0]);
    keep = malloc((d->n + 1) * sizeof *keep);
    want = calloc((size_t)s->n_types + 1, 1);
    if (!keep || !want) {
        cli_fail("report: out of memory");
        goto out;
    }
    x->rep.diff = d;
    x->rep.rows = keep;
    x->rep.n_rows = phd_diff_select(d, 0, 0, (size_t)top, keep, &x->rep.omitted_rows);

    /* the type of the leak graph, when asked for */
    if (type) {
        if (cli_match_type(s, type, &tids, &ntids) < 0)
            goto out;
        mark_name(s, phd_snapshot_type_name(s, tids[0]), want);
    }

    size_t n = s->n_nodes;
    /* what leaked, as 'leaks' ranks it: new objects by what they retain
     * (matched), else the types that grew, user and third-party first */
    idom = malloc((n + 1) * sizeof *idom);
    ret = malloc((n + 1) * sizeof *ret);
    if (!idom || !ret || phd_graph_dominators(g, idom, ret) < 0) {
        cli_fail("%s: out of memory", s->path);
        goto out;
    }
    uint8_t *m = mark;
    mark = NULL;
    if ((d->matched ? phd_findings_rank(&f, g, m, idom, ret, 0, NULL, 0, &err)
                    : phd_findings_growth(&f, g, d, idom, ret, 0, NULL, 0, &err)) < 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    /* biggest retainers, as 'dominators', from the same tree (before the
     * searches' arrays: less memory at the peak) */
    uint32_t *i2 = idom;
    uint64_t *r2 = ret;
    idom = NULL;
    ret = NULL;
    if (cli_retainers_from(g, NULL, i2, r2, &rt) < 0)
        goto out;
    uint32_t top_nodes[RETAINERS];
    size_t n_top = 0;
    for (size_t k = 0; k < rt.n_order && k < RETAINERS; k++) {
        uint32_t v = top_nodes[n_top++] = rt.order[k];
        phd_graph_describe(s, v, x->desc[k], sizeof x->desc[k]);
        x->ret[k] = (struct phd_report_retainer){x->desc[k], NULL, s->addr[v], s->size[v], rt.ret[v]};
    }
    /* the per-object arrays are done with: less memory for the paths */
    free(rt.ret);
    free(rt.order);
    rt.ret = NULL;
    rt.order = NULL;

    /* the leak graph's finding: the first, or --type's */
    long gk = f.n ? 0 : -1;
    if (type) {
        gk = -1;
        for (size_t k = 0; k < f.n && gk < 0; k++)
            if (want[f.items[k].type])
                gk = (long)k;
    }
    parent = malloc((n + 1) * sizeof *parent);
    pedge = malloc((n + 1) * sizeof *pedge);
    if (!parent || !pedge || phd_graph_bfs_edges(g, 0, parent, pedge, NULL) < 0) {
        cli_fail("%s: out of memory", s->path);
        goto out;
    }
    for (size_t k = 0; k < n_top; k++) {
        x->ret[k].path = phd_path_text(g, parent, pedge, top_nodes[k], 0);
        x->rep.n_retainers++;
        if (!x->ret[k].path) {
            cli_fail("%s: out of memory", s->path);
            goto out;
        }
    }
    x->rep.retainers = x->ret;
    for (size_t k = 0; k < rt.n_tord && k < RETAINERS; k++) {
        uint32_t t = rt.tord[k];
        x->types[k] = (struct phd_report_type){phd_snapshot_type_name(s, t), rt.type_ret[t], rt.type_top[t]};
    }
    x->rep.types = x->types;
    x->rep.n_types = rt.n_tord < RETAINERS ? rt.n_tord : RETAINERS;

    /* why they are alive, as 'leaks' */
    if (gather_why(x, g, &f, type ? want : NULL, gk, parent, pedge) < 0) {
        cli_fail("%s: out of memory", s->path);
        goto out;
    }
    free(parent);
    free(pedge);
    parent = pedge = NULL;

    /* the leak graph */
    x->rep.graph_type = gk >= 0 ? phd_findings_name(&f, (size_t)gk) : type ? phd_snapshot_type_name(s, tids[0]) : NULL;
    if (x->rep.graph_type)
        gather_graph(x, g, &f, gk, want, &err);
    else
        x->rep.graph_note = d->matched ? "Nothing new is still retained." : "No type grew.";

    snprintf(deftitle, sizeof deftitle, "%.280s → %.280s", base_name(cs[0]->label), base_name(cs[1]->label));
    x->rep.title = title ? title : deftitle;
    x->rep.version = PHD_VERSION;
    x->rep.before = (struct phd_report_side){cs[0]->label, cs[0]->objects, cs[0]->total_size, cs[0]->hdr.timestamp_ns,
                                             cs[0]->hdr.pid};
    x->rep.after = (struct phd_report_side){cs[1]->label, cs[1]->objects, cs[1]->total_size, cs[1]->hdr.timestamp_ns,
                                            cs[1]->hdr.pid};
    if (phd_report_html_file(&x->rep, out, &err) < 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    if (strcmp(out, "-") != 0)
        fprintf(stderr, "pyheapdiff: wrote %s\n", out);
    status = PHD_EXIT_OK;
out:
    gather_free(x);
    free(x);
    free(keep);
    free(want);
    free(tids);
    free(mark);
    free(idom);
    free(ret);
    phd_findings_free(&f);
    free(parent);
    free(pedge);
    cli_retainers_free(&rt);
    phd_diff_free(&d);
    phd_census_free(&cs[0]);
    phd_census_free(&cs[1]);
    phd_graph_free(&g);
    phd_snapshot_free(&s);
    phd_snapshot_free(&sa);
    return status;
}
