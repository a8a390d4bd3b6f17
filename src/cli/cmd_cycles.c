/*
 * cmd_cycles.c - pyheapdiff cycles SNAPSHOT: reference cycles, as strongly
 * connected components of more than one object (or with a self
 * reference), largest first, with their types, whether the roots reach
 * them (garbage cycles of a collect=False snapshot do not), and one short
 * example cycle spelled with labels.  The analysis is the library's
 * (pyheapdiff/cycles.h); this file parses options and prints.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/cycles.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/output.h"
#include "pyheapdiff/text.h"

/* The example of cycle k spelled, or NULL (none, or out of memory). */
static char *example(struct phd_cycles *c, size_t k)
{
    uint32_t *chain;
    long hops = phd_cycles_example(c, k, &chain);
    char *text = hops > 0 ? phd_cycles_example_text(c->g->s, chain, (size_t)hops) : NULL;
    free(chain);
    return text;
}

int cmd_cycles(const struct cli_command *cmd, int argc, char **argv)
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
    int status = PHD_EXIT_USAGE;
    uint8_t *want = NULL;
    struct phd_cycles c = {0};
    struct phd_cycle_type *types = NULL;
    struct phd_error err;
    if (cli_type_mask(s, type, &want) < 0)
        goto out;
    if (phd_cycles_find(&c, in.g, want, &err) < 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    size_t shown = top && (size_t)top < c.n ? (size_t)top : c.n;
    json_t *arr = json ? json_array() : NULL;
    char b1[48], b2[48];
    if (!json)
        printf("%zu cycle%s: %s objects, %s; %llu unreachable from the roots\n", c.n, c.n == 1 ? "" : "s",
               phd_fmt_count(c.objects, b1, sizeof b1), phd_fmt_size(c.size, b2, sizeof b2),
               (unsigned long long)c.unreachable);
    for (size_t k = 0; k < shown; k++) {
        const struct phd_cycle *cy = &c.items[k];
        long nt = phd_cycles_types(&c, k, &types);
        if (nt < 0) {
            json_decref(arr);
            goto nomem;
        }
        char *ex = example(&c, k);
        if (json) {
            json_t *jt = json_array();
            for (long i = 0; i < nt; i++)
                json_array_append_new(jt, json_pack("{s:o, s:I}", "type", phd_json_text(phd_snapshot_type_name(s, types[i].type)),
                                                    "count", (json_int_t)types[i].count));
            json_array_append_new(arr, json_pack("{s:I, s:I, s:b, s:o, s:o}", "objects", (json_int_t)cy->count,
                                                 "size", (json_int_t)cy->size, "reachable", cy->reachable,
                                                 "types", jt, "example", phd_json_text(ex ? ex : "")));
        } else {
            printf("\n%zu. %s object%s, %s, %s\n   types: ", k + 1, phd_fmt_count(cy->count, b1, sizeof b1),
                   cy->count == 1 ? "" : "s", phd_fmt_size(cy->size, b2, sizeof b2),
                   cy->reachable ? "reachable from the roots" : "UNREACHABLE (garbage)");
            for (long i = 0; i < nt && i < 5; i++)
                printf("%s%s %u", i ? ", " : "", cli_esc(phd_snapshot_type_name(s, types[i].type)), types[i].count);
            printf("%s\n   cycle: %s\n", nt > 5 ? ", ..." : "", ex ? cli_esc(ex) : "?");
        }
        free(ex);
        free(types);
        types = NULL;
    }
    if (json)
        phd_json_print(json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "snapshot", s->path, "cycles", (json_int_t)c.n,
                                 "objects", (json_int_t)c.objects, "size", (json_int_t)c.size, "unreachable",
                                 (json_int_t)c.unreachable, "top", arr),
                       stdout);
    else if (shown < c.n)
        printf("\n(%zu more cycles; --top 0 shows all)\n", c.n - shown);
    status = PHD_EXIT_OK;
    goto out;
nomem:
    cli_fail("%s: out of memory", s->path);
out:
    free(want);
    phd_cycles_free(&c);
    cli_close(&in);
    return status;
}
