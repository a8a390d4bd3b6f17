/*
 * cmd_dominators.c - pyheapdiff dominators SNAPSHOT: what retains the most
 * memory.  The objects with the largest retained size (the total shallow
 * size of everything they dominate: what would be freed with them), with
 * their retention path, and per type the memory retained by its instances,
 * counting an instance nested in another of its type once (like the
 * dominator views of Eclipse MAT and browser heap snapshots): the library
 * computes them (src/analysis/retainers.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/paths.h"
#include "pyheapdiff/output.h"
#include "pyheapdiff/retainers.h"

int cmd_dominators(const struct cli_command *cmd, int argc, char **argv)
{
    const char *type = NULL;
    int json = 0;
    long top = 10;
    int p = cli_parse_report_opts(cmd, argc, argv, &type, &top, &json);
    if (p)
        return p > 0 ? PHD_EXIT_OK : PHD_EXIT_USAGE;
    struct cli_inputs in = {0};
    if (cli_open(cmd, argc - optind, argv + optind, &in) < 0)
        return PHD_EXIT_USAGE;
    const struct phd_snapshot *s = in.s;
    const struct phd_graph *g = in.g;
    int status = PHD_EXIT_USAGE;
    size_t n = s->n_nodes;
    struct phd_retainers r = {0};
    struct phd_error err;
    uint32_t *parent = NULL, *pedge = NULL;
    uint8_t *want = NULL;
    if (cli_type_mask(s, type, &want) < 0)
        goto out;
    if (phd_retainers_compute(&r, g, want, &err) < 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    /* Only the first `shown` objects are printed: keep their retained
     * sizes and give the per-object arrays back before the search for
     * their paths (12 bytes per object less at its peak) */
    size_t keep = top && (size_t)top < r.n_order ? (size_t)top : r.n_order;
    uint64_t *kept_ret = malloc((keep + 1) * sizeof *kept_ret);
    if (!kept_ret) {
        cli_fail("%s: out of memory", s->path);
        goto out;
    }
    for (size_t k = 0; k < keep; k++)
        kept_ret[k] = r.ret[r.order[k]];
    free(r.ret);
    r.ret = kept_ret; /* now by rank, not by node */
    uint32_t *fit = realloc(r.order, (keep + 1) * sizeof *fit);
    if (fit)
        r.order = fit;
    r.n_order = keep;
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
                                                  (json_int_t)phd_snapshot_size(s, v), "retained", (json_int_t)ret[k], "path",
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
            printf("%3zu. %-10s %5.1f%%  %s (%s, 0x%" PRIx64 ")\n     %s\n", k + 1, phd_fmt_size(ret[k], b1, sizeof b1),
                   s->total_size ? 100.0 * (double)ret[k] / (double)s->total_size : 0.0, cli_esc(d),
                   phd_fmt_size(phd_snapshot_size(s, v), b2, sizeof b2), s->addr[v], path ? cli_esc(path) : "");
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
    free(parent);
    free(pedge);
    phd_retainers_free(&r);
    free(want);
    cli_close(&in);
    return status;
}
