/*
 * cmd_report.c - pyheapdiff report BEFORE AFTER -o report.html: one
 * self-contained HTML page with what the text commands say about a pair
 * of snapshots: the diff table (as 'diff'), the retention paths of the
 * types that grew most (as 'paths --type'), the biggest retainers (as
 * 'dominators') and the leak graph of the top grown type (as 'graph
 * --path --type').  This file gathers the data through the functions
 * those commands use; src/report/html.c writes the page.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/census.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/paths.h"
#include "pyheapdiff/html.h"
#include "pyheapdiff/output.h"
#include "pyheapdiff/render.h"

#define WHY_TYPES 5     /* grown types whose paths are shown */
#define WHY_PATHS 3     /* path groups per type */
#define RETAINERS 10    /* objects and types in "Biggest retainers" */
#define GRAPH_OBJECTS 5 /* instances drawn in the leak graph */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static int grew(const struct phd_diff_row *w)
{
    return w->count_b > w->count_a;
}

/* The type of the leak graph: the first grown type (in the diff's order)
 * defined in Python code (a qualified name: app.Widget), else the first
 * grown type; NULL when nothing grew.  Builtins such as str usually grow
 * because of a user type that holds them. */
static const char *graph_type(const struct phd_diff *d)
{
    const char *first = NULL;
    for (size_t k = 0; k < d->n; k++) {
        if (!grew(&d->rows[k]))
            continue;
        if (strchr(d->rows[k].name, '.'))
            return d->rows[k].name;
        if (!first)
            first = d->rows[k].name;
    }
    return first;
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

/* "Why they are alive": the path groups of the first WHY_TYPES grown
 * types, the graph's type among them.  parent/pedge from
 * phd_graph_bfs_edges. */
static int gather_why(struct gather *x, const struct phd_graph *g, const struct phd_diff *d, const char *gtype,
                      const uint32_t *parent, const uint32_t *pedge)
{
    const struct phd_snapshot *s = g->s;
    const char *names[WHY_TYPES];
    size_t n = 0;
    int have_g = 0;
    for (size_t k = 0; k < d->n && n < WHY_TYPES; k++) {
        if (!grew(&d->rows[k]))
            continue;
        names[n++] = d->rows[k].name;
        have_g |= gtype && strcmp(d->rows[k].name, gtype) == 0;
    }
    if (gtype && !have_g) {
        if (n == WHY_TYPES)
            n--;
        names[n++] = gtype;
    }
    uint8_t *mark = calloc((size_t)s->n_types + 1, 1);
    uint32_t *nodes = malloc(((size_t)s->n_nodes + 1) * sizeof *nodes);
    int rc = -1;
    if (!mark || !nodes)
        goto out;
    for (size_t k = 0; k < n; k++) {
        struct phd_report_why *w = &x->why[k];
        size_t m = 0, all = 0;
        mark_name(s, names[k], mark);
        for (uint32_t v = 0; v < s->n_nodes; v++) {
            if (!mark[s->type[v]])
                continue;
            all++;
            if (parent[v] != PHD_NONE || g->root_kind[v]) /* reachable */
                nodes[m++] = v;
        }
        struct phd_path_groups pg;
        if (phd_path_groups_new(&pg, g, parent, pedge, nodes, m) < 0)
            goto out;
        w->type = names[k];
        w->objects = all;
        w->n_paths = pg.n < WHY_PATHS ? pg.n : WHY_PATHS;
        w->more_paths = pg.n - w->n_paths;
        for (size_t i = 0; i < w->n_paths; i++) {
            size_t cap = 0;
            if (phd_path_groups_text(&pg, i, 0, &x->texts[k][i], &cap) < 0) {
                phd_path_groups_free(&pg);
                goto out;
            }
            x->paths[k][i] = (struct phd_report_path){pg.groups[i].count, x->texts[k][i]};
        }
        phd_path_groups_free(&pg);
        w->paths = x->paths[k];
    }
    x->rep.why = x->why;
    x->rep.n_why = n;
    rc = 0;
out:
    free(mark);
    free(nodes);
    return rc;
}

/* The leak graph: like 'graph --path --type T' with its defaults. */
static void gather_graph(struct gather *x, const struct phd_graph *g, const uint8_t *want, struct phd_error *err)
{
    const struct phd_snapshot *s = g->s;
    uint32_t chosen[GRAPH_OBJECTS];
    size_t n = 0;
    for (uint32_t v = 0; v < s->n_nodes && n < GRAPH_OBJECTS; v++)
        if (want[s->type[v]])
            chosen[n++] = v;
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
    phd_census_drop_objects(cs[0]);
    phd_census_drop_objects(cs[1]);
    keep = malloc((d->n + 1) * sizeof *keep);
    want = calloc((size_t)s->n_types + 1, 1);
    if (!keep || !want) {
        cli_fail("report: out of memory");
        goto out;
    }
    x->rep.diff = d;
    x->rep.rows = keep;
    x->rep.n_rows = phd_diff_select(d, 0, 0, (size_t)top, keep, &x->rep.omitted_rows);

    /* the type of the leak graph */
    const char *gtype = NULL;
    if (type) {
        if (cli_match_type(s, type, &tids, &ntids) < 0)
            goto out;
        gtype = phd_snapshot_type_name(s, tids[0]);
    } else {
        gtype = graph_type(d);
    }
    if (gtype)
        mark_name(s, gtype, want);

    /* biggest retainers, as 'dominators' (before the searches' arrays:
     * less memory at the peak) */
    if (cli_retainers_compute(g, NULL, &rt) < 0)
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
    size_t n = s->n_nodes;
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

    /* why they are alive, as 'paths --type' */
    if (gather_why(x, g, d, gtype, parent, pedge) < 0) {
        cli_fail("%s: out of memory", s->path);
        goto out;
    }
    free(parent);
    free(pedge);
    parent = pedge = NULL;

    /* the leak graph */
    x->rep.graph_type = gtype;
    if (gtype)
        gather_graph(x, g, want, &err);
    else
        x->rep.graph_note = "No type grew.";

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
