/*
 * cmd_leaks.c - leak candidates: what the evidence says leaked.
 *
 * pyheapdiff leaks A B [C]: the three-snapshot technique.  A is a baseline,
 * B is taken after the suspect action, C after repeating (or undoing) it.
 * Objects new in B (no object of the same type at the same address in A)
 * that are still alive in C, and still retained, are the candidates; with
 * two snapshots, objects new in B.  The library ranks them
 * (include/pyheapdiff/findings.h: the same ranking as the report's): by
 * type, most retained first, the builtin and stdlib contents of leaked
 * instances attributed to them; each type with the grouped retention
 * paths of its new objects.  Two snapshots of different processes fall
 * back to the types that grew, user and third-party first.
 *
 * pyheapdiff orphans A: objects held only by unknown holders (C code or
 * the C stack): unknown-holder roots that no named root reaches, ranked
 * the same way (objgraph's get_leaking_objects, with sizes).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/census.h"
#include "pyheapdiff/findings.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/paths.h"
#include "pyheapdiff/output.h"
#include "pyheapdiff/types.h"

#define PATHS_SHOWN 3 /* path groups per type */

/* Ranks the marked nodes of g (mark taken) into *f: the dominator tree,
 * then the library's ranking; the tree is freed before returning. */
static int rank_marked(struct phd_findings *f, const struct phd_graph *g, uint8_t *mark, unsigned only,
                       const char *const *types, size_t ntypes)
{
    size_t n = g->s->n_nodes;
    struct phd_error err;
    uint32_t *idom = malloc((n + 1) * sizeof *idom);
    uint64_t *ret = malloc((n + 1) * sizeof *ret);
    int rc = -1;
    if (!idom || !ret || phd_graph_dominators(g, idom, ret) < 0) {
        free(mark);
        cli_fail("%s: out of memory", g->s->path);
        goto out;
    }
    if (phd_findings_rank(f, g, mark, idom, ret, only, types, ntypes, &err) < 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    rc = 0;
out:
    free(idom);
    free(ret);
    return rc;
}

/*
 * Prints the selected findings of f, at most top (0: all), each with its
 * first path groups.  note (may be NULL) says how they were found.
 */
static int report(const char *title, const char *note, const struct phd_findings *f, const struct phd_graph *g,
                  long top, int json, json_t *extra)
{
    const struct phd_snapshot *s = g->s;
    size_t n = s->n_nodes;
    int rc = -1;
    uint32_t *parent = malloc((n + 1) * sizeof *parent), *pedge = malloc((n + 1) * sizeof *pedge);
    struct phd_path_groups pg = {0};
    char *text = NULL;
    size_t cap = 0;
    json_t *jt = json ? json_array() : NULL;
    if (!parent || !pedge || phd_graph_bfs_edges(g, 0, parent, pedge, NULL) < 0)
        goto out;
    size_t nsel = 0, shown = 0;
    for (size_t k = 0; k < f->n; k++)
        nsel += f->items[k].selected != 0;
    char b1[48], b2[48], b3[48], b4[48];
    if (!json) {
        printf("%s: %s object%s, %s shallow, %s retained\n", cli_esc(title), phd_fmt_count(f->count, b1, sizeof b1),
               f->count == 1 ? "" : "s", phd_fmt_size(f->size, b2, sizeof b2), phd_fmt_size(f->retained, b3, sizeof b3));
        if (note)
            printf("%s\n", note);
    }
    for (size_t k = 0; k < f->n && (!top || shown < (size_t)top); k++) {
        const struct phd_finding *it = &f->items[k];
        if (!it->selected)
            continue;
        shown++;
        const char *name = phd_findings_name(f, k);
        const char *inside = it->inside != PHD_NONE ? phd_snapshot_type_name(s, it->inside) : NULL;
        if (phd_findings_holders(&pg, f, k, g, parent, pedge) < 0)
            goto out;
        size_t w = pg.n;
        if (json) {
            json_t *paths = json_array();
            for (size_t i = 0; i < w && i < PATHS_SHOWN; i++) {
                if (phd_path_groups_text(&pg, i, 0, &text, &cap) < 0) {
                    json_decref(paths);
                    goto out;
                }
                json_array_append_new(paths, json_pack("{s:I, s:o}", "count", (json_int_t)pg.groups[i].count, "path",
                                                       phd_json_text(text)));
            }
            json_t *row = json_pack("{s:o, s:s, s:I, s:I, s:I, s:I, s:o}", "type", phd_json_text(name), "origin",
                                    phd_origin_name(it->origin), "count", (json_int_t)it->count, "size",
                                    (json_int_t)it->size, "retained", (json_int_t)it->retained, "own_retained",
                                    (json_int_t)it->own, "paths", paths);
            if (inside)
                json_object_set_new(row, "inside", phd_json_text(inside));
            if (!f->matched) {
                json_object_set_new(row, "count_delta", json_integer(it->count_delta));
                json_object_set_new(row, "size_delta", json_integer(it->size_delta));
            }
            json_array_append_new(jt, row);
        } else {
            if (f->matched)
                printf("\n%s: %s, %s shallow, %s retained", cli_esc(name), phd_fmt_count(it->count, b1, sizeof b1),
                       phd_fmt_size(it->size, b2, sizeof b2), phd_fmt_size(it->retained, b3, sizeof b3));
            else
                printf("\n%s: %s objects (%s), %s in the last snapshot, %s retained", cli_esc(name),
                       phd_fmt_delta_count(it->count_delta, b1, sizeof b1),
                       phd_fmt_delta_size(it->size_delta, b2, sizeof b2), phd_fmt_count(it->count, b4, sizeof b4),
                       phd_fmt_size(it->retained, b3, sizeof b3));
            if (inside)
                printf(", all inside new %s", cli_esc(inside));
            else if (f->matched && it->own < it->retained)
                printf(" (%s of its own, the rest in new user and third-party objects)",
                       phd_fmt_size(it->own, b1, sizeof b1));
            printf("\n");
            for (size_t i = 0; i < w && i < PATHS_SHOWN; i++) {
                if (phd_path_groups_text(&pg, i, 0, &text, &cap) < 0)
                    goto out;
                printf("  %6u × %s\n", pg.groups[i].count, cli_esc(text));
            }
            if (w > PATHS_SHOWN)
                printf("  (%zu more paths)\n", w - PATHS_SHOWN);
        }
        phd_path_groups_free(&pg);
    }
    if (json) {
        json_t *doc = json_pack("{s:s, s:I, s:I, s:I, s:I, s:O}", "snapshot", s->path, "objects", (json_int_t)f->count,
                                "size", (json_int_t)f->size, "retained", (json_int_t)f->retained, "omitted_types",
                                (json_int_t)(nsel - shown), "types", jt);
        if (extra)
            json_object_update(doc, extra);
        phd_json_print(doc, stdout);
    } else if (shown < nsel) {
        printf("\n(%zu more types; --top 0 shows all)\n", nsel - shown);
    }
    rc = 0;
out:
    json_decref(jt);
    free(parent);
    free(pedge);
    phd_path_groups_free(&pg);
    free(text);
    return rc;
}

int cmd_leaks(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"top", required_argument, NULL, 'n'},  {"json", no_argument, NULL, 'j'},
        {"only", required_argument, NULL, 'o'}, {"type", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    struct cli_select sel = {0};
    long top = 10;
    int json = 0, c;
    while ((c = getopt_long(argc, argv, ":hn:t:", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_count(cmd, "--top", optarg, &top) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'j':
            json = 1;
            break;
        case 'o':
            if (cli_parse_only(cmd, optarg, &sel.only) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 't':
            if (cli_select_type(cmd, &sel, optarg) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'h':
            return cli_help(cmd);
        default:
            return cli_bad_option(cmd, c, argc, argv);
        }
    }
    /* BASELINE (and AFTER) as censuses, the last with its graph */
    struct cli_inputs in = {0};
    if (cli_open(cmd, argc - optind, argv + optind, &in) < 0)
        return PHD_EXIT_USAGE;
    int ns = in.n_args;
    const struct phd_graph *g = in.g;
    const struct phd_snapshot *last = in.s;
    struct phd_census **cs = in.census;
    struct phd_diff *d = NULL;
    struct phd_findings f = {0};
    struct phd_error err;
    uint8_t *mark = NULL;
    json_t *extra = NULL;
    int status = PHD_EXIT_USAGE;
    int same = 1;
    for (int i = 1; i < ns - 1; i++)
        same &= phd_same_process(&cs[0]->hdr, &cs[i]->hdr);
    same &= phd_same_process(&cs[0]->hdr, &last->hdr);
    if (!same && ns == 3) {
        const char *other = !phd_same_process(&cs[0]->hdr, &cs[1]->hdr) ? cs[1]->label : last->path;
        cli_fail("%s: not from the process of %s (pid or start time differ): the three-snapshot technique matches "
                 "objects by address", other, cs[0]->label);
        goto out;
    }
    char title[1024];
    const char *note = NULL;
    if (same) {
        uint64_t new_in_b = 0;
        if (phd_findings_mark_new(&mark, cs[0], ns == 3 ? cs[1] : NULL, last, &new_in_b, &err) < 0) {
            cli_fail("%s", err.msg);
            goto out;
        }
        phd_census_free(&cs[0]);
        phd_census_free(&cs[1]);
        uint8_t *m = mark;
        mark = NULL;
        if (rank_marked(&f, g, m, sel.only, sel.types, sel.ntypes) < 0)
            goto out;
        if (ns == 3)
            snprintf(title, sizeof title, "new in %.400s and still alive in %.400s", in.args[1], last->path);
        else
            snprintf(title, sizeof title, "new in %.400s", last->path);
        extra = json ? json_pack("{s:I, s:s, s:b, s:I}", "new_in_after", (json_int_t)new_in_b, "technique",
                                 ns == 3 ? "three snapshots" : "two snapshots", "matched", 1, "unreachable",
                                 (json_int_t)f.unreachable)
                     : NULL;
    } else {
        /* two processes: what grew, user and third-party types first */
        if (phd_census_from_snapshot(&cs[1], last, 0, &err) < 0 || phd_diff_compute(&d, cs[0], cs[1], &err) < 0 ||
            phd_findings_growth(&f, g, d, NULL, NULL, sel.only, sel.types, sel.ntypes, &err) < 0) {
            cli_fail("%s", err.msg);
            goto out;
        }
        snprintf(title, sizeof title, "grew from %.400s to %.400s", cs[0]->label, last->path);
        note = "(not one process: objects cannot be matched by address; types that grew, user and third-party "
               "first, with the paths of all their instances)";
        extra = json ? json_pack("{s:s, s:b}", "technique", "growth", "matched", 0) : NULL;
    }
    if (report(title, note, &f, g, top, json, extra) < 0)
        cli_fail("leaks: out of memory");
    else
        status = PHD_EXIT_OK;
out:
    json_decref(extra);
    free(mark);
    phd_findings_free(&f);
    phd_diff_free(&d);
    cli_close(&in);
    return status;
}

int cmd_orphans(const struct cli_command *cmd, int argc, char **argv)
{
    long top = 10;
    int json = 0, p = cli_parse_report_opts(cmd, argc, argv, NULL, &top, &json);
    if (p)
        return p > 0 ? PHD_EXIT_OK : PHD_EXIT_USAGE;
    struct cli_inputs in = {0};
    if (cli_open(cmd, argc - optind, argv + optind, &in) < 0)
        return PHD_EXIT_USAGE;
    const struct phd_snapshot *s = in.s;
    const struct phd_graph *g = in.g;
    int status = PHD_EXIT_USAGE;
    struct phd_findings f = {0};
    uint32_t *dist = malloc(((size_t)s->n_nodes + 1) * sizeof *dist);
    uint8_t *mark = calloc((size_t)s->n_nodes / 8 + 1, 1);
    if (!dist || !mark || phd_graph_bfs(g, 1, NULL, dist) < 0) {
        free(mark);
        cli_fail("%s: out of memory", s->path);
        goto out;
    }
    for (uint32_t v = 0; v < s->n_nodes; v++)
        if (g->root_kind[v] == PHD_ROOT_UNKNOWN && dist[v] == UINT32_MAX)
            PHD_MARK(mark, v);
    free(dist);
    dist = NULL;
    if (rank_marked(&f, g, mark, 0, NULL, 0) < 0)
        goto out;
    if (report("held only by unknown holders (C code or the C stack)", NULL, &f, g, top, json, NULL) == 0)
        status = PHD_EXIT_OK;
    else
        cli_fail("%s: out of memory", s->path);
out:
    free(dist);
    phd_findings_free(&f);
    cli_close(&in);
    return status;
}
