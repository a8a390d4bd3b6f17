/*
 * cmd_info.c - pyheapdiff info: a snapshot's header, counts and most
 * common types.  Loading validates the whole file (checksum, structure),
 * so 'info' doubles as a snapshot checker.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "pyheapdiff/format.h"
#include "pyheapdiff/output.h"

struct type_row {
    uint32_t type;
    uint64_t count, size;
};

static int by_count(const void *a, const void *b)
{
    const struct type_row *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->type < y->type ? -1 : x->type > y->type;
}

static const char *py_version(const struct phd_snapshot *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%u.%u.%u", s->hdr.py_major, s->hdr.py_minor, s->hdr.py_micro);
    return buf;
}

int cmd_info(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"top", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c;
    long top = 10;
    while ((c = getopt_long(argc, argv, ":ht:", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 't':
            if (cli_parse_count(cmd, "--top", optarg, &top) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'h':
            return cli_help(cmd);
        default:
            return cli_bad_option(cmd, c, argc, argv);
        }
    }
    struct cli_inputs in = {0};
    if (cli_open(cmd, argc - optind, argv + optind, &in) < 0)
        return PHD_EXIT_USAGE;
    const char *path = in.args[0];
    const struct phd_snapshot *s = in.s;

    struct type_row *rows = calloc((size_t)s->n_types + 1, sizeof *rows);
    if (!rows) {
        cli_close(&in);
        return cli_fail("%s: out of memory", path);
    }
    uint64_t tracked = 0, immortal = 0;
    for (uint32_t t = 0; t < s->n_types; t++)
        rows[t].type = t;
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        rows[s->type[i]].count++;
        rows[s->type[i]].size += phd_snapshot_size(s, i);
        tracked += s->flags[i] & PHD_NODE_GC_TRACKED;
        immortal += (uint64_t)phd_snapshot_immortal(s, i);
    }
    qsort(rows, s->n_types, sizeof *rows, by_count);
    size_t shown = (size_t)top < s->n_types ? (size_t)top : s->n_types;
    size_t file_size = s->map_len;
    char b1[64], b2[64], b3[64];

    if (json) {
        json_t *types = json_array();
        for (size_t r = 0; r < shown; r++)
            json_array_append_new(types, json_pack("{s:o, s:I, s:I}", "type", phd_json_text(phd_snapshot_type_name(s, rows[r].type)),
                                                   "count", (json_int_t)rows[r].count, "size",
                                                   (json_int_t)rows[r].size));
        json_t *doc = json_pack(
            "{s:s, s:i, s:s, s:i, s:I, s:I, s:s, s:I, s:s, s:{s:b, s:b}, s:I, s:I, s:I, s:I, s:i, s:i, s:I, s:I, s:o}",
            "file", path, "format_version", s->hdr.version, "python", py_version(s, b1, sizeof b1),
            "pointer_size", s->hdr.pointer_size, "pid", (json_int_t)s->hdr.pid, "process_start_ns",
            (json_int_t)s->hdr.start_time_ns, "process_start", phd_fmt_time(s->hdr.start_time_ns, b2, sizeof b2),
            "timestamp_ns", (json_int_t)s->hdr.timestamp_ns, "timestamp",
            phd_fmt_time(s->hdr.timestamp_ns, b3, sizeof b3), "flags", "values",
            (s->hdr.flags & PHD_HDR_VALUES) != 0, "collected", (s->hdr.flags & PHD_HDR_COLLECTED) != 0,
            "objects", (json_int_t)s->n_nodes, "gc_tracked", (json_int_t)tracked, "immortal", (json_int_t)immortal, "references",
            (json_int_t)s->n_edges, "types", (int)s->n_types, "roots", (int)s->n_roots, "total_size",
            (json_int_t)s->total_size, "file_size", (json_int_t)file_size, "top_types", types);
        json_object_set_new(doc, "replaced_strings", json_integer(s->n_repaired_strings));
        phd_json_print(doc, stdout);
    } else {
        char c1[32], c2[32];
        printf("%s\n", cli_esc(path));
        printf("  format       version %u\n", s->hdr.version);
        printf("  python       %s, %u-bit\n", py_version(s, b1, sizeof b1), s->hdr.pointer_size * 8u);
        printf("  process      pid %" PRIu64 ", started %s\n", s->hdr.pid,
               phd_fmt_time(s->hdr.start_time_ns, b2, sizeof b2));
        printf("  taken        %s%s%s\n", phd_fmt_time(s->hdr.timestamp_ns, b3, sizeof b3),
               s->hdr.flags & PHD_HDR_COLLECTED ? ", after gc.collect()" : ", without gc.collect()",
               s->hdr.flags & PHD_HDR_VALUES ? "" : ", no value previews");
        printf("  objects      %s (%s GC-tracked", phd_fmt_count(s->n_nodes, c1, sizeof c1),
               phd_fmt_count(tracked, c2, sizeof c2));
        if (immortal)
            printf(", %s immortal", phd_fmt_count(immortal, c1, sizeof c1));
        printf(")\n");
        printf("  references   %s\n", phd_fmt_count(s->n_edges, c1, sizeof c1));
        printf("  types        %s\n", phd_fmt_count(s->n_types, c1, sizeof c1));
        printf("  roots        %s\n", phd_fmt_count(s->n_roots, c1, sizeof c1));
        printf("  total size   %s\n", phd_fmt_size(s->total_size, b1, sizeof b1));
        printf("  file size    %s (%.1f bytes per object)\n", phd_fmt_size(file_size, b1, sizeof b1),
               s->n_nodes ? (double)file_size / s->n_nodes : 0.0);
        if (s->n_repaired_strings)
            printf("  repaired     %u string%s of invalid UTF-8 (bytes shown as U+FFFD)\n", s->n_repaired_strings,
                   s->n_repaired_strings == 1 ? "" : "s");
        if (shown) {
            struct phd_table *t = phd_table_new(4);
            if (t) {
                phd_table_column(t, 0, "most common types", PHD_LEFT);
                phd_table_column(t, 1, "count", PHD_RIGHT);
                phd_table_column(t, 2, "size", PHD_RIGHT);
                phd_table_column(t, 3, "average", PHD_RIGHT);
                for (size_t r = 0; r < shown; r++) {
                    phd_table_row(t);
                    phd_table_cell(t, 0, "%s", phd_snapshot_type_name(s, rows[r].type));
                    phd_table_cell(t, 1, "%s", phd_fmt_count(rows[r].count, c1, sizeof c1));
                    phd_table_cell(t, 2, "%s", phd_fmt_size(rows[r].size, b1, sizeof b1));
                    phd_table_cell(t, 3, "%s",
                                   phd_fmt_size(rows[r].count ? rows[r].size / rows[r].count : 0, b2, sizeof b2));
                }
                printf("\n");
                phd_table_print_indented(t, stdout, cli_output_width(), 2);
                phd_table_free(&t);
            }
        }
    }
    free(rows);
    cli_close(&in);
    return PHD_EXIT_OK;
}
