/*
 * cmd_cycles.c - pyheapdiff cycles SNAPSHOT: reference cycles, as strongly
 * connected components of more than one object (or with a self
 * reference), largest first, with their types, whether the roots reach
 * them (garbage cycles of a collect=False snapshot do not), and one short
 * example cycle spelled with labels.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/text.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/output.h"

struct cyc {
    uint32_t comp, cid, first, count;
    uint64_t size;
    int reachable;
};

static int by_size(const void *a, const void *b)
{
    const struct cyc *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return (x->first > y->first) - (x->first < y->first);
}

/* A shortest cycle through `start` inside its component, spelled out. */
static char *example_cycle(const struct phd_graph *g, const uint32_t *comp, uint32_t start, uint32_t *par,
                           uint32_t *queue)
{
    const struct phd_snapshot *s = g->s;
    uint32_t c = comp[start];
    size_t head = 0, tail = 0;
    uint32_t last = PHD_NONE;
    par[start] = start;
    queue[tail++] = start;
    while (head < tail && last == PHD_NONE) {
        uint32_t u = queue[head++];
        for (uint64_t e = s->edge_start[u]; e < s->edge_start[u + 1]; e++) {
            uint32_t t = s->edge_target[e];
            if (!phd_edge_retains(s, e) || comp[t] != c)
                continue;
            if (t == start) {
                last = u;
                break;
            }
            if (par[t] == PHD_NONE) {
                par[t] = u;
                queue[tail++] = t;
            }
        }
    }
    size_t n = 1;
    for (uint32_t x = last; x != start && x != PHD_NONE; x = par[x])
        n++;
    uint32_t *chain = last == PHD_NONE ? NULL : malloc((n + 2) * sizeof *chain);
    size_t len = 0, cap = 256;
    char *out = chain ? malloc(cap) : NULL;
    if (!out) {
        free(chain);
        for (size_t q = 0; q < tail; q++)
            par[queue[q]] = PHD_NONE;
        return NULL;
    }
    out[0] = 0;
    size_t k = n;
    for (uint32_t x = last; k; x = par[x])
        chain[--k] = x;
    chain[n] = start;
    char d[300], lab[200];
    for (size_t i = 0; i <= n; i++) {
        if (i) {
            uint64_t e = phd_graph_edge_between(s, chain[i - 1], chain[i]);
            lab[0] = 0;
            if (e != UINT64_MAX)
                phd_graph_label(s, e, 0, lab, sizeof lab);
            if (lab[0]) {
                phd_text_append(&out, &len, &cap, " ");
                phd_text_append(&out, &len, &cap, lab);
            }
            phd_text_append(&out, &len, &cap, " → ");
        }
        phd_graph_describe(s, chain[i], d, sizeof d);
        phd_text_append(&out, &len, &cap, i == n ? phd_snapshot_type_name(s, s->type[chain[i]]) : d);
        if (n > 8 && i == 3) {
            snprintf(d, sizeof d, " → ... (%zu more) ...", n - 6);
            phd_text_append(&out, &len, &cap, d);
            i = n - 3;
        }
    }
    for (size_t q = 0; q < tail; q++)
        par[queue[q]] = PHD_NONE;
    free(chain);
    return out;
}

int cmd_cycles(const struct cli_command *cmd, int argc, char **argv)
{
    const char *type = NULL;
    int json = 0;
    long top = 10;
    int p = cli_parse_report_opts(cmd, argc, argv, &type, &top, &json);
    if (p)
        return p > 0 ? PHD_EXIT_OK : PHD_EXIT_USAGE;
    if (argc - optind != 1)
        return cli_fail("cycles: expected one snapshot (see 'pyheapdiff cycles --help')");
    struct phd_snapshot *s;
    struct phd_graph *g;
    if (cli_open_graph(argv[optind], &s, &g) < 0)
        return PHD_EXIT_USAGE;
    int status = PHD_EXIT_USAGE;
    size_t n = s->n_nodes;
    uint32_t *tids = NULL, ntids = 0;
    uint32_t *comp = malloc((n + 1) * sizeof *comp), *dist = malloc((n + 1) * sizeof *dist);
    uint32_t *csize = NULL, *par = malloc((n + 1) * sizeof *par), *queue = malloc((n + 1) * sizeof *queue);
    uint8_t *hastype = NULL;
    struct cyc *cycles = NULL;
    char *want = NULL;
    uint32_t *mstart = NULL, *members = NULL;
    if (type && cli_match_type(s, type, &tids, &ntids) < 0)
        goto out;
    int64_t ncomp = comp && dist && par && queue ? phd_graph_scc(g, comp) : -1;
    if (ncomp < 0 || phd_graph_bfs(g, 0, NULL, dist) < 0)
        goto nomem;
    /* Most components are single objects: number only the cyclic ones
     * (more than one object, or a self reference), reusing csize for the
     * numbers, so per-cycle arrays stay small. */
    csize = calloc((size_t)ncomp + 1, sizeof *csize);
    want = calloc((size_t)s->n_types + 1, 1);
    if (!csize || !want)
        goto nomem;
    for (uint32_t k = 0; k < ntids; k++)
        want[tids[k]] = 1;
    for (uint32_t v = 0; v < n; v++)
        csize[comp[v]]++;
    for (uint32_t v = 0; v < n; v++) {
        par[v] = PHD_NONE;
        if (csize[comp[v]] != 1)
            continue;
        for (uint64_t e = s->edge_start[v]; e < s->edge_start[v + 1]; e++)
            if (s->edge_target[e] == v && phd_edge_retains(s, e))
                csize[comp[v]] = 2; /* counts as cyclic */
    }
    uint32_t ncyc_all = 0;
    for (int64_t k = 0; k < ncomp; k++)
        csize[k] = csize[k] > 1 ? ncyc_all++ : PHD_NONE;
    cycles = calloc((size_t)ncyc_all + 1, sizeof *cycles);
    hastype = calloc((size_t)ncyc_all + 1, 1);
    mstart = calloc((size_t)ncyc_all + 2, sizeof *mstart);
    if (!cycles || !hastype || !mstart)
        goto nomem;
    for (uint32_t v = 0; v < n; v++) {
        uint32_t cid = csize[comp[v]];
        if (cid == PHD_NONE)
            continue;
        struct cyc *cy = &cycles[cid];
        if (!cy->count) {
            cy->comp = comp[v];
            cy->cid = cid;
            cy->first = v;
        }
        cy->count++;
        cy->size += phd_snapshot_size(s, v);
        cy->reachable |= dist[v] != UINT32_MAX;
        hastype[cid] |= want[s->type[v]];
        mstart[cid + 1]++;
    }
    /* members of each cycle, by counting sort: O(V) */
    for (uint32_t k = 0; k < ncyc_all; k++)
        mstart[k + 1] += mstart[k];
    members = malloc(((size_t)mstart[ncyc_all] + 1) * sizeof *members);
    if (!members)
        goto nomem;
    for (uint32_t v = 0; v < n; v++)
        if (csize[comp[v]] != PHD_NONE)
            members[mstart[csize[comp[v]]]++] = v;
    for (uint32_t k = ncyc_all; k > 0; k--)
        mstart[k] = mstart[k - 1];
    mstart[0] = 0;
    size_t ncyc = 0;
    for (uint32_t k = 0; k < ncyc_all; k++)
        if (!type || hastype[k])
            cycles[ncyc++] = cycles[k];
    qsort(cycles, ncyc, sizeof *cycles, by_size);
    size_t shown = top && (size_t)top < ncyc ? (size_t)top : ncyc;
    uint64_t total_objs = 0, total_bytes = 0, garbage = 0;
    for (size_t k = 0; k < ncyc; k++) {
        total_objs += cycles[k].count;
        total_bytes += cycles[k].size;
        garbage += !cycles[k].reachable;
    }
    /* per cycle: the types in it */
    uint32_t *tcount = calloc((size_t)s->n_types + 1, sizeof *tcount);
    uint32_t *seen = malloc(((size_t)s->n_types + 1) * sizeof *seen);
    if (!tcount || !seen) {
        free(tcount);
        free(seen);
        goto nomem;
    }
    json_t *arr = json ? json_array() : NULL;
    char b1[48], b2[48];
    if (!json)
        printf("%zu cycle%s: %s objects, %s; %llu unreachable from the roots\n", ncyc, ncyc == 1 ? "" : "s",
               phd_fmt_count(total_objs, b1, sizeof b1), phd_fmt_size(total_bytes, b2, sizeof b2),
               (unsigned long long)garbage);
    for (size_t k = 0; k < shown; k++) {
        struct cyc *cy = &cycles[k];
        uint32_t nseen = 0;
        for (uint32_t m = mstart[cy->cid]; m < mstart[cy->cid + 1]; m++) {
            uint32_t v = members[m];
            if (!tcount[s->type[v]]++)
                seen[nseen++] = s->type[v];
        }
        /* sort the types by count, a few only */
        for (uint32_t i = 0; i < nseen; i++)
            for (uint32_t j = i + 1; j < nseen; j++)
                if (tcount[seen[j]] > tcount[seen[i]]) {
                    uint32_t t = seen[i];
                    seen[i] = seen[j];
                    seen[j] = t;
                }
        char *ex = example_cycle(g, comp, cy->first, par, queue);
        if (json) {
            json_t *types = json_array();
            for (uint32_t i = 0; i < nseen; i++)
                json_array_append_new(types, json_pack("{s:o, s:I}", "type", phd_json_text(phd_snapshot_type_name(s, seen[i])),
                                                       "count", (json_int_t)tcount[seen[i]]));
            json_array_append_new(arr, json_pack("{s:I, s:I, s:b, s:o, s:o}", "objects", (json_int_t)cy->count,
                                                 "size", (json_int_t)cy->size, "reachable", cy->reachable,
                                                 "types", types, "example", phd_json_text(ex ? ex : "")));
        } else {
            printf("\n%zu. %s object%s, %s, %s\n   types: ", k + 1, phd_fmt_count(cy->count, b1, sizeof b1),
                   cy->count == 1 ? "" : "s", phd_fmt_size(cy->size, b2, sizeof b2),
                   cy->reachable ? "reachable from the roots" : "UNREACHABLE (garbage)");
            for (uint32_t i = 0; i < nseen && i < 5; i++)
                printf("%s%s %u", i ? ", " : "", cli_esc(phd_snapshot_type_name(s, seen[i])), tcount[seen[i]]);
            printf("%s\n   cycle: %s\n", nseen > 5 ? ", ..." : "", ex ? cli_esc(ex) : "?");
        }
        free(ex);
        for (uint32_t i = 0; i < nseen; i++)
            tcount[seen[i]] = 0;
    }
    free(tcount);
    free(seen);
    if (json)
        phd_json_print(json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "snapshot", s->path, "cycles", (json_int_t)ncyc,
                                 "objects", (json_int_t)total_objs, "size", (json_int_t)total_bytes, "unreachable",
                                 (json_int_t)garbage, "top", arr),
                       stdout);
    else if (shown < ncyc)
        printf("\n(%zu more cycles; --top 0 shows all)\n", ncyc - shown);
    status = PHD_EXIT_OK;
    goto out;
nomem:
    cli_fail("%s: out of memory", s->path);
out:
    free(tids);
    free(comp);
    free(dist);
    free(csize);
    free(hastype);
    free(want);
    free(cycles);
    free(mstart);
    free(members);
    free(par);
    free(queue);
    phd_graph_free(&g);
    phd_snapshot_free(&s);
    return status;
}
