/*
 * cmd_diff.c - pyheapdiff diff A B (and plain "pyheapdiff A B"): what grew
 * between two snapshots, per type, with sizes; matched by address when both
 * come from one process.  --fail-on-growth turns it into a CI leak gate.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/census.h"
#include "pyheapdiff/output.h"
#include "pyheapdiff/types.h"

#define MAX_GATES 32

struct gate {
    const char *type;
    uint64_t limit;
};

/* A row of the diff, or its total (is_total: no origin). */
static json_t *row_json(const struct phd_diff_row *r, int matched, int is_total)
{
    json_t *o = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "type", phd_json_text(r->name), "count_before",
                          (json_int_t)r->count_a, "count_after", (json_int_t)r->count_b, "count_delta",
                          (json_int_t)(r->count_b - r->count_a), "size_before", (json_int_t)r->size_a, "size_after",
                          (json_int_t)r->size_b, "size_delta", (json_int_t)(r->size_b - r->size_a));
    if (!is_total)
        json_object_set_new(o, "origin", json_string(phd_origin_name(r->origin)));
    if (matched) {
        json_object_set_new(o, "new", json_integer((json_int_t)r->new_));
        json_object_set_new(o, "freed", json_integer((json_int_t)r->freed));
        json_object_set_new(o, "survived", json_integer((json_int_t)r->survived));
    }
    return o;
}

static json_t *side_json(const struct phd_census *c)
{
    char t[64];
    return json_pack("{s:s, s:I, s:I, s:I, s:s}", "snapshot", c->label, "objects", (json_int_t)c->objects,
                     "total_size", (json_int_t)c->total_size, "pid", (json_int_t)c->hdr.pid, "timestamp",
                     phd_fmt_time(c->hdr.timestamp_ns, t, sizeof t));
}

static void add_row(struct phd_table *t, const struct phd_diff_row *r, int matched)
{
    char b[8][48];
    phd_table_row(t);
    phd_table_cell(t, 0, "%s", r->name);
    phd_table_cell(t, 1, "%s", phd_fmt_count(r->count_a, b[0], sizeof b[0]));
    phd_table_cell(t, 2, "%s", phd_fmt_count(r->count_b, b[1], sizeof b[1]));
    phd_table_cell(t, 3, "%s", phd_fmt_delta_count((int64_t)(r->count_b - r->count_a), b[2], sizeof b[2]));
    phd_table_cell(t, 4, "%s", phd_fmt_size(r->size_a, b[3], sizeof b[3]));
    phd_table_cell(t, 5, "%s", phd_fmt_size(r->size_b, b[4], sizeof b[4]));
    phd_table_cell(t, 6, "%s", phd_fmt_delta_size((int64_t)(r->size_b - r->size_a), b[5], sizeof b[5]));
    if (matched) {
        phd_table_cell(t, 7, "%s", phd_fmt_count(r->new_, b[6], sizeof b[6]));
        phd_table_cell(t, 8, "%s", phd_fmt_count(r->freed, b[7], sizeof b[7]));
    }
}

int cmd_diff(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},          {"top", required_argument, NULL, 't'},
        {"sort", required_argument, NULL, 's'},    {"min-delta", required_argument, NULL, 'm'},
        {"snapshot", required_argument, NULL, 'S'}, {"fail-on-growth", required_argument, NULL, 'f'},
        {"all", no_argument, NULL, 'a'},           {"help", no_argument, NULL, 'h'},
        {"only", required_argument, NULL, 'o'},    {"type", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    struct cli_inputs in = {0};
    struct gate gates[MAX_GATES];
    struct cli_select sel = {0};
    int ngates = 0, json = 0, all = 0, c;
    long top = 20, min_delta = 0;
    enum phd_diff_sort sort = PHD_SORT_SIZE;
    while ((c = getopt_long(argc, argv, ":ht:s:m:S:f:", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'a':
            all = 1;
            break;
        case 'o':
            if (cli_parse_only(cmd, optarg, &sel.only) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'T':
            if (cli_select_type(cmd, &sel, optarg) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 't':
            if (cli_parse_count(cmd, "--top", optarg, &top) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'm':
            if (cli_parse_count(cmd, "--min-delta", optarg, &min_delta) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 's':
            if (strcmp(optarg, "size") == 0)
                sort = PHD_SORT_SIZE;
            else if (strcmp(optarg, "count") == 0)
                sort = PHD_SORT_COUNT;
            else
                return cli_fail("diff: --sort takes 'size' or 'count', not '%s'", optarg);
            break;
        case 'S':
            if (cli_add_snapshot_id(&in, optarg) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'f': {
            if (ngates == MAX_GATES)
                return cli_fail("diff: at most %d --fail-on-growth gates", MAX_GATES);
            char *eq = strchr(optarg, '=');
            long lim = 0;
            if (eq) {
                *eq = 0;
                if (cli_parse_count(cmd, "--fail-on-growth TYPE=N", eq + 1, &lim) < 0)
                    return PHD_EXIT_USAGE;
            }
            if (!*optarg)
                return cli_fail("diff: --fail-on-growth needs a type name: TYPE or TYPE=N");
            gates[ngates++] = (struct gate){optarg, (uint64_t)lim};
            break;
        }
        case 'h':
            return cli_help(cmd);
        default:
            return cli_bad_option(cmd, c, argc, argv);
        }
    }
    if (argc - optind > CLI_MAX_INPUTS)
        return cli_fail("diff: too many inputs");
    /* BEFORE and AFTER as censuses with objects (one database path with
     * two --snapshot ids stands for both) */
    if (cli_open(cmd, argc - optind, argv + optind, &in) < 0)
        return PHD_EXIT_USAGE;
    struct phd_census **cs = in.census;
    struct phd_error err;
    struct phd_diff *d = NULL;
    if (phd_diff_compute(&d, cs[0], cs[1], &err) < 0) {
        cli_close(&in);
        return cli_fail("%s", err.msg);
    }
    phd_diff_sort(d, sort);

    /* gates */
    int status = PHD_EXIT_OK;
    json_t *jgates = json ? json_array() : NULL;
    for (int g = 0; g < ngates; g++) {
        int64_t grew = 0;
        int found = 0;
        for (size_t r = 0; r < d->n; r++) {
            if (cli_type_name_matches(d->rows[r].name, gates[g].type)) {
                grew += (int64_t)(d->rows[r].count_b - d->rows[r].count_a);
                found = 1;
            }
        }
        int failed = grew > (int64_t)gates[g].limit;
        if (failed) {
            status = PHD_EXIT_FINDING;
            fprintf(stderr, "pyheapdiff: %s grew by %" PRId64 " object%s (limit %" PRIu64 ")\n", cli_esc(gates[g].type), grew,
                    grew == 1 ? "" : "s", gates[g].limit);
        }
        if (jgates)
            json_array_append_new(jgates, json_pack("{s:s, s:I, s:I, s:b, s:b}", "type", gates[g].type, "limit",
                                                    (json_int_t)gates[g].limit, "growth", (json_int_t)grew, "found",
                                                    found, "failed", failed));
    }

    /* the rows shown: of the --only origins and --type names, changed
     * ones (or all), past --min-delta, --top; the gates saw every row */
    if (sel.only || sel.ntypes)
        phd_diff_filter(d, sel.only, sel.types, sel.ntypes);
    size_t omitted = 0;
    size_t *keep = malloc((d->n + 1) * sizeof *keep);
    if (!keep) {
        json_decref(jgates);
        phd_diff_free(&d);
        cli_close(&in);
        return cli_fail("diff: out of memory");
    }
    size_t shown = phd_diff_select(d, all, (uint64_t)min_delta, (size_t)top, keep, &omitted);

    if (json) {
        json_t *rows = json_array();
        for (size_t k = 0; k < shown; k++)
            json_array_append_new(rows, row_json(&d->rows[keep[k]], d->matched, 0));
        json_t *doc = json_pack("{s:o, s:o, s:b, s:s, s:o, s:I, s:o, s:o}", "before", side_json(cs[0]), "after",
                                side_json(cs[1]), "matched", d->matched, "sort", sort == PHD_SORT_SIZE ? "size" : "count",
                                "rows", rows, "omitted", (json_int_t)omitted, "total", row_json(&d->total, d->matched, 1),
                                "gates", jgates);
        phd_json_print(doc, stdout);
    } else {
        printf("%s -> %s: %s\n", cli_esc(cs[0]->label), cli_esc(cs[1]->label),
               d->matched ? "same process, objects matched by address" : "objects not matched (different processes)");
        struct phd_table *t = phd_table_new(d->matched ? 9 : 7);
        if (t) {
            phd_table_column(t, 0, "type", PHD_LEFT);
            phd_table_column(t, 1, "count A", PHD_RIGHT);
            phd_table_column(t, 2, "count B", PHD_RIGHT);
            phd_table_column(t, 3, "Δcount", PHD_RIGHT);
            phd_table_column(t, 4, "size A", PHD_RIGHT);
            phd_table_column(t, 5, "size B", PHD_RIGHT);
            phd_table_column(t, 6, "Δsize", PHD_RIGHT);
            if (d->matched) {
                phd_table_column(t, 7, "new", PHD_RIGHT);
                phd_table_column(t, 8, "freed", PHD_RIGHT);
            }
            for (size_t k = 0; k < shown; k++)
                add_row(t, &d->rows[keep[k]], d->matched);
            phd_table_rule(t);
            add_row(t, &d->total, d->matched);
            phd_table_print(t, stdout, cli_output_width());
            phd_table_free(&t);
        }
        if (omitted)
            printf("(%zu more changed type%s; --top 0 shows all)\n", omitted, omitted == 1 ? "" : "s");
        if (!shown)
            printf("(no type changed)\n");
    }
    free(keep);
    phd_diff_free(&d);
    cli_close(&in);
    return status;
}
