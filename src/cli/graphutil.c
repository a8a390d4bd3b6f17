/*
 * graphutil.c - what the graph commands (paths, cycles, dominators, leaks,
 * orphans, graph, report) share: matching a type name, and their common
 * options.  Their inputs are opened by cli_open (input.c); retention paths
 * are grouped and spelled by the library (src/graph/paths.c).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/text.h"
#include "pyheapdiff/types.h"
#include "pyheapdiff/graph.h"

int cli_type_name_matches(const char *name, const char *want) { return phd_type_name_matches(name, want); }

int cli_match_type(const struct phd_snapshot *s, const char *name, uint32_t **ids, uint32_t *n)
{
    *ids = malloc(((size_t)s->n_types + 1) * sizeof **ids);
    *n = 0;
    if (!*ids)
        return cli_fail("out of memory"), -1;
    for (uint32_t t = 0; t < s->n_types; t++)
        if (cli_type_name_matches(phd_snapshot_type_name(s, t), name))
            (*ids)[(*n)++] = t;
    if (*n)
        return 0;
    /* suggest the three closest names (by the bare name too) */
    const char *best[3] = {NULL, NULL, NULL};
    size_t bd[3] = {(size_t)-1, (size_t)-1, (size_t)-1};
    for (uint32_t t = 0; t < s->n_types; t++) {
        const char *tn = phd_snapshot_type_name(s, t), *dot = strrchr(tn, '.');
        size_t d = phd_text_distance(name, tn), d2 = dot ? phd_text_distance(name, dot + 1) : d;
        if (d2 < d)
            d = d2;
        if (strstr(tn, name))
            d = d > 1 ? 1 : d;
        for (int k = 0; k < 3; k++) {
            if (d < bd[k]) {
                for (int j = 2; j > k; j--) {
                    bd[j] = bd[j - 1];
                    best[j] = best[j - 1];
                }
                bd[k] = d;
                best[k] = tn;
                break;
            }
        }
    }
    free(*ids);
    *ids = NULL;
    if (best[0] && bd[0] <= strlen(name) / 2 + 2)
        cli_fail("%s: no type '%s'; did you mean %s%s%s%s%s?", s->path, name, best[0], best[1] ? ", " : "",
                 best[1] ? best[1] : "", best[2] ? ", " : "", best[2] ? best[2] : "");
    else
        cli_fail("%s: no type '%s' (see 'pyheapdiff top %s')", s->path, name, s->path);
    return -1;
}

int cli_type_mask(const struct phd_snapshot *s, const char *name, uint8_t **want)
{
    uint32_t *ids = NULL, n = 0;
    *want = NULL;
    if (!name)
        return 0;
    if (cli_match_type(s, name, &ids, &n) < 0)
        return -1;
    if (!(*want = calloc((size_t)s->n_types + 1, 1))) {
        free(ids);
        return cli_fail("%s: out of memory", s->path), -1;
    }
    for (uint32_t k = 0; k < n; k++)
        (*want)[ids[k]] = 1;
    free(ids);
    return 0;
}

int cli_parse_report_opts(const struct cli_command *cmd, int argc, char **argv, const char **type, long *top,
                          int *json)
{
    static const struct option with_type[] = {
        {"type", required_argument, NULL, 't'}, {"top", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const struct option *opts = type ? with_type : with_type + 1;
    int c;
    while ((c = getopt_long(argc, argv, type ? ":ht:n:" : ":hn:", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            *type = optarg;
            break;
        case 'n':
            if (cli_parse_count(cmd, "--top", optarg, top) < 0)
                return -1;
            break;
        case 'j':
            *json = 1;
            break;
        case 'h':
            cli_help(cmd);
            return 1;
        default:
            cli_bad_option(cmd, c, argc, argv);
            return -1;
        }
    }
    return 0;
}

int cli_add_address(const struct cli_command *cmd, const char *val, uint64_t *ids, int *n, int max)
{
    char *end;
    unsigned long long a = strtoull(val, &end, 0);
    if (end == val || *end)
        return cli_fail("%s: --id takes an address such as 0x7f3a2b1c4d50, not '%s'", cmd->name, val), -1;
    if (*n == max)
        return cli_fail("%s: at most %d --id", cmd->name, max), -1;
    ids[(*n)++] = a;
    return 0;
}
