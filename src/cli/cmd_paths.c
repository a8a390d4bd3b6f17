/*
 * cmd_paths.c - pyheapdiff paths --type T | --id ADDR SNAPSHOT: why objects
 * are alive.  For each chosen object, the shortest path from the root set
 * (named roots first; unknown holders only for what they do not reach),
 * grouped by the sequence of types and labels with indices folded, most
 * frequent first.  pyheapdiff paths [--type T | --id ADDR] A B: the same
 * for the objects of B that are new since A (matched by address, one
 * process; phd_findings_mark_new).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/census.h"
#include "pyheapdiff/findings.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/output.h"
#include "pyheapdiff/paths.h"

#define MAX_IDS 64

int cmd_paths(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"type", required_argument, NULL, 't'}, {"id", required_argument, NULL, 'i'},
        {"limit", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'},
        {"from", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *from[MAX_IDS];
    int nfrom = 0;
    const char *type = NULL;
    uint64_t ids[MAX_IDS];
    int nids = 0, json = 0, c;
    long limit = 10;
    while ((c = getopt_long(argc, argv, ":ht:i:l:", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            type = optarg;
            break;
        case 'i':
            if (cli_add_address(cmd, optarg, ids, &nids, MAX_IDS) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'l':
            if (cli_parse_count(cmd, "--limit", optarg, &limit) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'j':
            json = 1;
            break;
        case 'f':
            if (nfrom == MAX_IDS)
                return cli_fail("paths: at most %d --from modules", MAX_IDS);
            from[nfrom++] = optarg;
            break;
        case 'h':
            return cli_help(cmd);
        default:
            return cli_bad_option(cmd, c, argc, argv);
        }
    }
    if (cli_check_args(cmd, argc - optind) < 0)
        return PHD_EXIT_USAGE;
    int two = argc - optind == 2;
    if (!type && !nids && !two)
        return cli_fail("paths: say which objects: --type T or --id ADDRESS");
    /* one snapshot with its graph; with two, A as a census first */
    struct cli_inputs in = {0};
    if (cli_open(cmd, argc - optind, argv + optind, &in) < 0)
        return PHD_EXIT_USAGE;
    const struct phd_snapshot *s = in.s;
    const struct phd_graph *g = in.g;
    uint8_t *fresh = NULL;
    if (two) {
        /* the objects new in B, by A's addresses and types */
        struct phd_census *ca = in.census[0];
        struct phd_error err;
        int rc = -1;
        if (!phd_same_process(&ca->hdr, &s->hdr))
            cli_fail("%s: not from the process of %s (pid or start time differ): 'paths A B' shows the objects new "
                     "in B, matched by address; give one snapshot for all the objects",
                     s->path, ca->label);
        else if (phd_findings_mark_new(&fresh, ca, NULL, s, NULL, &err) < 0)
            cli_fail("%s", err.msg);
        else
            rc = 0;
        phd_census_free(&in.census[0]);
        if (rc < 0) {
            cli_close(&in);
            return PHD_EXIT_USAGE;
        }
    }
    int status = PHD_EXIT_USAGE;
    uint32_t *tids = NULL, ntids = 0, *parent = NULL, *pedge = NULL, *chosen = NULL;
    struct phd_path_groups pg = {0};
    size_t nchosen = 0, unreachable = 0, cap = 0;
    char *bytype = NULL, *text = NULL, *exact = NULL;

    if (type && cli_match_type(s, type, &tids, &ntids) < 0)
        goto out;
    parent = malloc(((size_t)s->n_nodes + 1) * sizeof *parent);
    pedge = malloc(((size_t)s->n_nodes + 1) * sizeof *pedge);
    uint32_t *dist = malloc(((size_t)s->n_nodes + 1) * sizeof *dist);
    chosen = malloc(((size_t)s->n_nodes + 1) * sizeof *chosen);
    bytype = calloc((size_t)s->n_types + 1, 1);
    /* --from: the modules (and their submodules) whose paths come first */
    size_t nmods = 0;
    for (int k = 0; k < nfrom && chosen; k++) {
        size_t got = phd_graph_modules_named(g, from[k], chosen + nmods, (size_t)s->n_nodes - nmods);
        if (!got) {
            free(dist);
            cli_fail("%s: no module %s in sys.modules", s->path, cli_esc(from[k]));
            goto out;
        }
        nmods += got;
    }
    if (!parent || !pedge || !dist || !chosen || !bytype ||
        phd_graph_bfs_from(g, 0, chosen, nmods, parent, pedge, dist) < 0) {
        free(dist);
        cli_fail("%s: out of memory", s->path);
        goto out;
    }
    for (uint32_t k = 0; k < ntids; k++)
        bytype[tids[k]] = 1;
    for (uint32_t v = 0; v < s->n_nodes; v++) {
        int want = (!type && !nids) || (type && bytype[s->type[v]]);
        for (int k = 0; k < nids && !want; k++)
            want = s->addr[v] == ids[k];
        if (!want || (fresh && !PHD_MARKED(fresh, v)))
            continue;
        if (dist[v] == UINT32_MAX)
            unreachable++;
        else
            chosen[nchosen++] = v;
    }
    free(dist);
    if (nids && !nchosen && !unreachable && !fresh) {
        cli_fail("%s: no object at %s%" PRIx64 "%s", s->path, "0x", ids[0], nids > 1 ? " (or the other --id)" : "");
        goto out;
    }
    if (phd_path_groups_new(&pg, g, parent, pedge, chosen, nchosen) < 0) {
        cli_fail("%s: out of memory", s->path);
        goto out;
    }
    size_t ngroups = pg.n, shown = limit && (size_t)limit < ngroups ? (size_t)limit : ngroups, xcap = 0;

    if (json) {
        json_t *arr = json_array();
        for (size_t k = 0; k < shown; k++) {
            char addr[32];
            snprintf(addr, sizeof addr, "0x%" PRIx64, s->addr[pg.groups[k].example]);
            if (phd_path_groups_text(&pg, k, 0, &text, &cap) < 0 ||
                phd_path_groups_text(&pg, k, 1, &exact, &xcap) < 0) {
                json_decref(arr);
                cli_fail("%s: out of memory", s->path);
                goto out;
            }
            json_array_append_new(arr, json_pack("{s:I, s:o, s:s, s:o}", "count", (json_int_t)pg.groups[k].count,
                                                 "path", phd_json_text(text), "example", addr, "example_path",
                                                 phd_json_text(exact)));
        }
        json_t *doc = json_pack("{s:s, s:s?, s:I, s:I, s:I, s:o}", "snapshot", s->path, "type", type, "objects",
                                (json_int_t)(nchosen + unreachable), "unreachable", (json_int_t)unreachable,
                                "omitted_groups", (json_int_t)(ngroups - shown), "groups", arr);
        if (fresh)
            json_object_set_new(doc, "new_since", phd_json_text(argv[optind]));
        phd_json_print(doc, stdout);
    } else {
        printf("%zu %sobject%s%s%s%s%s: %zu path group%s\n", nchosen + unreachable, fresh ? "new " : "",
               nchosen + unreachable == 1 ? "" : "s", type ? " of type " : "", type ? cli_esc(type) : "",
               fresh ? " since " : "", fresh ? cli_esc(argv[optind]) : "", ngroups, ngroups == 1 ? "" : "s");
        for (size_t k = 0; k < shown; k++) {
            char addr[32];
            snprintf(addr, sizeof addr, "0x%" PRIx64, s->addr[pg.groups[k].example]);
            if (phd_path_groups_text(&pg, k, 0, &text, &cap) < 0) {
                cli_fail("%s: out of memory", s->path);
                goto out;
            }
            printf("%6u × %s\n", pg.groups[k].count, cli_esc(text));
            printf("         e.g. %s\n", addr);
        }
        if (shown < ngroups)
            printf("(%zu more groups; --limit 0 shows all)\n", ngroups - shown);
        if (unreachable)
            printf("%zu unreachable from every root (garbage awaiting collection: see 'pyheapdiff cycles')\n",
                   unreachable);
    }
    status = PHD_EXIT_OK;
out:
    free(fresh);
    phd_path_groups_free(&pg);
    free(text);
    free(exact);
    free(chosen);
    free(parent);
    free(pedge);
    free(tids);
    free(bytype);
    cli_close(&in);
    return status;
}
