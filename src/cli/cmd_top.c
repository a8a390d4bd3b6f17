/*
 * cmd_top.c - pyheapdiff top SNAPSHOT: the most common types, with counts,
 * total and average size (objgraph's show_most_common_types, with sizes).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/types.h"
#include "pyheapdiff/census.h"
#include "pyheapdiff/output.h"

static const struct phd_census *sort_census;
static int sort_by_size;

static int by_rank(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    const struct phd_census *c = sort_census;
    uint64_t ka = sort_by_size ? c->size[a] : c->count[a], kb = sort_by_size ? c->size[b] : c->count[b];
    if (ka != kb)
        return ka < kb ? 1 : -1;
    uint64_t sa = sort_by_size ? c->count[a] : c->size[a], sb = sort_by_size ? c->count[b] : c->size[b];
    if (sa != sb)
        return sa < sb ? 1 : -1;
    return strcmp(c->names[a], c->names[b]);
}

int cmd_top(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},        {"top", required_argument, NULL, 't'},
        {"by", required_argument, NULL, 'b'},    {"snapshot", required_argument, NULL, 'S'},
        {"only", required_argument, NULL, 'o'},  {"type", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    struct cli_inputs in = {0};
    struct cli_select sel = {0};
    int json = 0, by_size = 0, c;
    long top = 20;
    while ((c = getopt_long(argc, argv, ":ht:b:S:", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 't':
            if (cli_parse_count(cmd, "--top", optarg, &top) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'b':
            if (strcmp(optarg, "count") == 0)
                by_size = 0;
            else if (strcmp(optarg, "size") == 0)
                by_size = 1;
            else
                return cli_fail("top: --by takes 'count' or 'size', not '%s'", optarg);
            break;
        case 'S':
            if (cli_add_snapshot_id(&in, optarg) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'o':
            if (cli_parse_only(cmd, optarg, &sel.only) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'T':
            if (cli_select_type(cmd, &sel, optarg) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'h':
            return cli_help(cmd);
        default:
            return cli_bad_option(cmd, c, argc, argv);
        }
    }
    if (cli_open(cmd, argc - optind, argv + optind, &in) < 0)
        return PHD_EXIT_USAGE;
    const struct phd_census *cs = in.census[0];

    uint32_t *order = malloc(((size_t)cs->n_types + 1) * sizeof *order);
    if (!order) {
        cli_close(&in);
        return cli_fail("top: out of memory");
    }
    uint32_t n = 0;
    for (uint32_t t = 0; t < cs->n_types; t++)
        if (cs->count[t] && phd_type_selected(cs->names[t], cs->origin[t], sel.only, sel.types, sel.ntypes))
            order[n++] = t;
    sort_census = cs;
    sort_by_size = by_size;
    qsort(order, n, sizeof *order, by_rank);
    uint32_t shown = top && (uint64_t)top < n ? (uint32_t)top : n;

    if (json) {
        json_t *rows = json_array();
        for (uint32_t k = 0; k < shown; k++) {
            uint32_t t = order[k];
            json_array_append_new(rows, json_pack("{s:o, s:s, s:I, s:I, s:I}", "type", phd_json_text(cs->names[t]),
                                                  "origin", phd_origin_name(cs->origin[t]), "count",
                                                  (json_int_t)cs->count[t], "size", (json_int_t)cs->size[t],
                                                  "average_size", (json_int_t)(cs->size[t] / cs->count[t])));
        }
        json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}", "snapshot", cs->label, "by", by_size ? "size" : "count",
                                "objects", (json_int_t)cs->objects, "total_size", (json_int_t)cs->total_size, "omitted",
                                (json_int_t)(n - shown), "rows", rows);
        phd_json_print(doc, stdout);
    } else {
        char b[4][48];
        printf("%s: %s objects, %s\n", cli_esc(cs->label), phd_fmt_count(cs->objects, b[0], sizeof b[0]),
               phd_fmt_size(cs->total_size, b[1], sizeof b[1]));
        struct phd_table *t = phd_table_new(5);
        if (t) {
            phd_table_column(t, 0, "type", PHD_LEFT);
            phd_table_column(t, 1, "count", PHD_RIGHT);
            phd_table_column(t, 2, "size", PHD_RIGHT);
            phd_table_column(t, 3, "average", PHD_RIGHT);
            phd_table_column(t, 4, by_size ? "% of size" : "% of objects", PHD_RIGHT);
            for (uint32_t k = 0; k < shown; k++) {
                uint32_t ty = order[k];
                phd_table_row(t);
                phd_table_cell(t, 0, "%s", cs->names[ty]);
                phd_table_cell(t, 1, "%s", phd_fmt_count(cs->count[ty], b[0], sizeof b[0]));
                phd_table_cell(t, 2, "%s", phd_fmt_size(cs->size[ty], b[1], sizeof b[1]));
                phd_table_cell(t, 3, "%s", phd_fmt_size(cs->size[ty] / cs->count[ty], b[2], sizeof b[2]));
                double pct = by_size ? 100.0 * (double)cs->size[ty] / (double)(cs->total_size ? cs->total_size : 1)
                                     : 100.0 * (double)cs->count[ty] / (double)(cs->objects ? cs->objects : 1);
                phd_table_cell(t, 4, "%.1f%%", pct);
            }
            phd_table_print(t, stdout, cli_output_width());
            phd_table_free(&t);
        }
        if (shown < n)
            printf("(%u more types; --top 0 shows all)\n", n - shown);
    }
    free(order);
    cli_close(&in);
    return PHD_EXIT_OK;
}
