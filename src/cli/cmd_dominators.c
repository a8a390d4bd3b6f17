/*
 * cmd_dominators.c - pyheapdiff dominators SNAPSHOT: what retains the most
 * memory.  The objects with the largest retained size (the total shallow
 * size of everything they dominate: what would be freed with them), with
 * their retention path, and per type the memory retained by its instances,
 * counting an instance nested in another of its type once (like the
 * dominator views of Eclipse MAT and browser heap snapshots).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/paths.h"
#include "pyheapdiff/output.h"

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
int cli_type_retained(const struct phd_snapshot *s, const uint32_t *idom, const uint64_t *ret, uint64_t *type_ret,
                      uint32_t *type_top)
{
    size_t n = s->n_nodes;
    uint32_t *cstart = calloc(n + 2, sizeof *cstart);
    uint32_t *child = malloc((n + 1) * sizeof *child), *stack = malloc((n + 1) * sizeof *stack);
    uint32_t *open = calloc((size_t)s->n_types + 1, sizeof *open);
    uint8_t *entered = calloc(n + 1, 1);
    int rc = -1;
    if (!cstart || !child || !stack || !open || !entered)
        goto out;
    /* children lists; the super-root's children are nodes with idom NONE */
    for (uint32_t v = 0; v < n; v++)
        if (idom[v] != PHD_NONE)
            cstart[idom[v] + 1]++;
    for (size_t v = 0; v < n; v++)
        cstart[v + 1] += cstart[v];
    uint32_t *fill = malloc((n + 1) * sizeof *fill);
    if (!fill)
        goto out;
    memcpy(fill, cstart, n * sizeof *fill);
    for (uint32_t v = 0; v < n; v++)
        if (idom[v] != PHD_NONE)
            child[fill[idom[v]]++] = v;
    free(fill);
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
            if (!entered[v]) {
                entered[v] = 1;
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

int cli_retainers_compute(const struct phd_graph *g, const uint8_t *want, struct cli_retainers *r)
{
    size_t n = g->s->n_nodes;
    uint32_t *idom = malloc((n + 1) * sizeof *idom);
    uint64_t *ret = malloc((n + 1) * sizeof *ret);
    if (!idom || !ret || phd_graph_dominators(g, idom, ret) < 0) {
        free(idom);
        free(ret);
        *r = (struct cli_retainers){0};
        cli_fail("%s: out of memory", g->s->path);
        return -1;
    }
    return cli_retainers_from(g, want, idom, ret, r);
}

int cli_retainers_from(const struct phd_graph *g, const uint8_t *want, uint32_t *idom, uint64_t *ret,
                       struct cli_retainers *r)
{
    const struct phd_snapshot *s = g->s;
    size_t n = s->n_nodes, nt = (size_t)s->n_types + 1;
    *r = (struct cli_retainers){0};
    r->ret = ret;
    r->type_ret = malloc(nt * sizeof *r->type_ret);
    r->type_top = malloc(nt * sizeof *r->type_top);
    r->tord = malloc(nt * sizeof *r->tord);
    if (!r->type_ret || !r->type_top || !r->tord || cli_type_retained(s, idom, r->ret, r->type_ret, r->type_top) < 0)
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
    cli_retainers_free(r);
    cli_fail("%s: out of memory", s->path);
    return -1;
}

void cli_retainers_free(struct cli_retainers *r)
{
    free(r->ret);
    free(r->type_ret);
    free(r->type_top);
    free(r->order);
    free(r->tord);
    *r = (struct cli_retainers){0};
}

int cmd_dominators(int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("dominators");
    const char *type = NULL;
    int json = 0;
    long top = 10;
    int p = cli_parse_report_opts(cmd, argc, argv, &type, &top, &json);
    if (p)
        return p > 0 ? PHD_EXIT_OK : PHD_EXIT_USAGE;
    if (argc - optind != 1)
        return cli_fail("dominators: expected one snapshot (see 'pyheapdiff dominators --help')");
    struct phd_snapshot *s;
    struct phd_graph *g;
    if (cli_open_graph(argv[optind], &s, &g) < 0)
        return PHD_EXIT_USAGE;
    int status = PHD_EXIT_USAGE;
    size_t n = s->n_nodes;
    struct cli_retainers r = {0};
    uint32_t *tids = NULL, ntids = 0, *parent = NULL, *pedge = NULL;
    uint8_t *want = NULL;
    if (type) {
        if (cli_match_type(s, type, &tids, &ntids) < 0)
            goto out;
        if (!(want = calloc((size_t)s->n_types + 1, 1))) {
            cli_fail("%s: out of memory", s->path);
            goto out;
        }
        for (uint32_t k = 0; k < ntids; k++)
            want[tids[k]] = 1;
    }
    if (cli_retainers_compute(g, want, &r) < 0)
        goto out;
    parent = malloc((n + 1) * sizeof *parent);
    pedge = malloc((n + 1) * sizeof *pedge);
    if (!parent || !pedge || phd_graph_bfs_edges(g, 0, parent, pedge, NULL) < 0) {
        cli_fail("%s: out of memory", s->path);
        goto out;
    }
    const uint32_t *order = r.order, *tord = r.tord, *type_top = r.type_top;
    const uint64_t *ret = r.ret, *type_ret = r.type_ret;
    size_t shown = top && (size_t)top < r.n_order ? (size_t)top : r.n_order;
    size_t tshown = top && (size_t)top < r.n_tord ? (size_t)top : r.n_tord;

    char b1[48], b2[48], addr[32];
    if (json) {
        json_t *objs = json_array(), *types = json_array();
        for (size_t k = 0; k < shown; k++) {
            uint32_t v = order[k];
            char *path = phd_path_text(g, parent, pedge, v, 0);
            snprintf(addr, sizeof addr, "0x%" PRIx64, s->addr[v]);
            json_array_append_new(objs, json_pack("{s:s, s:o, s:I, s:I, s:o}", "address", addr, "type",
                                                  phd_json_text(phd_snapshot_type_name(s, s->type[v])), "size",
                                                  (json_int_t)s->size[v], "retained", (json_int_t)ret[v], "path",
                                                  phd_json_text(path ? path : "")));
            free(path);
        }
        for (size_t k = 0; k < tshown; k++)
            json_array_append_new(types, json_pack("{s:o, s:I, s:I}", "type", phd_json_text(phd_snapshot_type_name(s, tord[k])),
                                                   "retained", (json_int_t)type_ret[tord[k]], "instances",
                                                   (json_int_t)type_top[tord[k]]));
        phd_json_print(json_pack("{s:s, s:I, s:o, s:o}", "snapshot", s->path, "total_size", (json_int_t)s->total_size,
                                 "objects", objs, "types", types),
                       stdout);
    } else {
        printf("%s: %s in all; largest retained sizes\n", cli_esc(s->path), phd_fmt_size(s->total_size, b1, sizeof b1));
        for (size_t k = 0; k < shown; k++) {
            uint32_t v = order[k];
            char *path = phd_path_text(g, parent, pedge, v, 0), d[300];
            phd_graph_describe(s, v, d, sizeof d);
            printf("%3zu. %-10s %5.1f%%  %s (%s, 0x%" PRIx64 ")\n     %s\n", k + 1, phd_fmt_size(ret[v], b1, sizeof b1),
                   s->total_size ? 100.0 * (double)ret[v] / (double)s->total_size : 0.0, cli_esc(d),
                   phd_fmt_size(s->size[v], b2, sizeof b2), s->addr[v], path ? cli_esc(path) : "");
            free(path);
        }
        printf("\nretained per type (an instance inside another of its type counted once)\n");
        struct phd_table *t = phd_table_new(4);
        if (t) {
            phd_table_column(t, 0, "type", PHD_LEFT);
            phd_table_column(t, 1, "retained", PHD_RIGHT);
            phd_table_column(t, 2, "% of heap", PHD_RIGHT);
            phd_table_column(t, 3, "top-level instances", PHD_RIGHT);
            for (size_t k = 0; k < tshown; k++) {
                uint32_t ty = tord[k];
                phd_table_row(t);
                phd_table_cell(t, 0, "%s", phd_snapshot_type_name(s, ty));
                phd_table_cell(t, 1, "%s", phd_fmt_size(type_ret[ty], b1, sizeof b1));
                phd_table_cell(t, 2, "%.1f%%", s->total_size ? 100.0 * (double)type_ret[ty] / (double)s->total_size : 0.0);
                phd_table_cell(t, 3, "%s", phd_fmt_count(type_top[ty], b2, sizeof b2));
            }
            phd_table_print(t, stdout, cli_output_width());
            phd_table_free(&t);
        }
    }
    status = PHD_EXIT_OK;
out:
    free(tids);
    free(parent);
    free(pedge);
    cli_retainers_free(&r);
    free(want);
    phd_graph_free(&g);
    phd_snapshot_free(&s);
    return status;
}
