/*
 * cmd_leaks.c - leak candidates.
 *
 * pyheapdiff leaks A B [C]: the three-snapshot technique.  A is a baseline,
 * B is taken after the suspect action, C after repeating (or undoing) it.
 * Objects new in B (no object of the same type at the same address in A)
 * that are still alive in C are the candidates, grouped by type and by
 * retention path in the last snapshot, sorted by retained size.  With two
 * snapshots: objects new in B.
 *
 * pyheapdiff orphans A: objects held only by unknown holders (C code or
 * the C stack): unknown-holder roots that no named root reaches, grouped
 * by type (objgraph's get_leaking_objects, with sizes).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/census.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/paths.h"
#include "pyheapdiff/output.h"

/* (address, node) pairs of s sorted by address, as a census's arrays. */
static struct phd_census *by_address(const struct phd_snapshot *s)
{
    struct phd_census *c = phd_census_new(s->path, 0, s->n_nodes);
    if (!c)
        return NULL;
    for (uint32_t v = 0; v < s->n_nodes; v++) {
        c->addr[v] = s->addr[v];
        c->otype[v] = v;
    }
    if (phd_census_sort_objects(c) < 0)
        phd_census_free(&c);
    return c;
}

/* The node of `s` at the address of node v of `from` with the same type
 * name, or PHD_NONE. */
static uint32_t find_same(const struct phd_snapshot *s, const struct phd_census *idx, const struct phd_snapshot *from,
                          uint32_t v)
{
    uint64_t a = from->addr[v];
    size_t lo = 0, hi = idx->n_objs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->addr[mid] < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == idx->n_objs || idx->addr[lo] != a)
        return PHD_NONE;
    uint32_t w = idx->otype[lo];
    return strcmp(phd_snapshot_type_name(s, s->type[w]), phd_snapshot_type_name(from, from->type[v])) == 0 ? w
                                                                                                          : PHD_NONE;
}

/* The chosen objects as a bitset: a byte per object was the difference
 * between under and over 100 bytes per object on a deep heap. */
#define MARKED(m, v) ((m)[(v) >> 3] >> ((v)&7) & 1)
#define MARK(m, v) ((m)[(v) >> 3] |= (uint8_t)(1u << ((v)&7)))

struct tgroup {
    uint32_t type;
    uint64_t count, size, retained;
};

static int by_tgroup(const void *a, const void *b)
{
    const struct tgroup *x = a, *y = b;
    if (x->retained != y->retained)
        return x->retained < y->retained ? 1 : -1;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->type > y->type) - (x->type < y->type);
}

/*
 * Reports the chosen nodes of the last snapshot (MARKED(mark, v)), grouped by
 * type and path.  Retained sizes count each chosen object that has no
 * chosen object above it in the dominator tree.
 */
static int report(const char *title, struct phd_snapshot *s, struct phd_graph *g, const uint8_t *mark, long top,
                  int json, json_t *extra)
{
    size_t n = s->n_nodes;
    int rc = -1;
    uint32_t *idom = malloc((n + 1) * sizeof *idom), *parent = NULL, *pedge = NULL;
    uint64_t *ret = malloc((n + 1) * sizeof *ret);
    struct tgroup *tg = calloc((size_t)s->n_types + 1, sizeof *tg);
    uint32_t *members = malloc((n + 1) * sizeof *members);
    struct phd_path_groups pg = {0};
    char *text = NULL;
    size_t cap = 0;
    if (!idom || !ret || !tg || !members || phd_graph_dominators(g, idom, ret) < 0)
        goto out;
    uint64_t count = 0, size = 0, retained = 0;
    for (uint32_t t = 0; t < s->n_types; t++)
        tg[t].type = t;
    for (uint32_t v = 0; v < n; v++) {
        if (!MARKED(mark, v))
            continue;
        /* the total counts v unless another candidate dominates it; its
         * type's row unless a candidate of its own type does */
        int nested = 0, nested_same = 0;
        for (uint32_t d = idom[v]; d != PHD_NONE && !nested_same; d = idom[d]) {
            if (MARKED(mark, d)) {
                nested = 1;
                nested_same = s->type[d] == s->type[v];
            }
        }
        struct tgroup *t = &tg[s->type[v]];
        t->count++;
        t->size += s->size[v];
        count++;
        size += s->size[v];
        if (!nested_same)
            t->retained += ret[v];
        if (!nested)
            retained += ret[v];
    }
    /* the dominator tree is done with: less memory for the paths */
    free(idom);
    free(ret);
    idom = NULL;
    ret = NULL;
    parent = malloc((n + 1) * sizeof *parent);
    pedge = malloc((n + 1) * sizeof *pedge);
    if (!parent || !pedge || phd_graph_bfs_edges(g, 0, parent, pedge, NULL) < 0)
        goto out;
    qsort(tg, s->n_types, sizeof *tg, by_tgroup);
    uint32_t ntg = 0;
    while (ntg < s->n_types && tg[ntg].count)
        ntg++;
    uint32_t shown = top && (uint32_t)top < ntg ? (uint32_t)top : ntg;
    char b1[48], b2[48], b3[48];
    json_t *jt = json ? json_array() : NULL;
    if (!json)
        printf("%s: %s object%s, %s shallow, %s retained\n", cli_esc(title), phd_fmt_count(count, b1, sizeof b1),
               count == 1 ? "" : "s", phd_fmt_size(size, b2, sizeof b2), phd_fmt_size(retained, b3, sizeof b3));
    for (uint32_t k = 0; k < shown; k++) {
        uint32_t t = tg[k].type, nm = 0;
        for (uint32_t v = 0; v < n; v++)
            if (MARKED(mark, v) && s->type[v] == t)
                members[nm++] = v;
        if (phd_path_groups_new(&pg, g, parent, pedge, members, nm) < 0) {
            json_decref(jt);
            goto out;
        }
        size_t w = pg.n;
        if (json) {
            json_t *paths = json_array();
            for (uint32_t i = 0; i < w && i < 3; i++) {
                if (phd_path_groups_text(&pg, i, 0, &text, &cap) < 0) {
                    json_decref(paths);
                    json_decref(jt);
                    goto out;
                }
                json_array_append_new(paths,
                                      json_pack("{s:I, s:o}", "count", (json_int_t)pg.groups[i].count, "path", phd_json_text(text)));
            }
            json_array_append_new(jt, json_pack("{s:o, s:I, s:I, s:I, s:o}", "type", phd_json_text(phd_snapshot_type_name(s, t)), "count",
                                                (json_int_t)tg[k].count, "size", (json_int_t)tg[k].size, "retained",
                                                (json_int_t)tg[k].retained, "paths", paths));
        } else {
            printf("\n%s: %s, %s shallow, %s retained\n", cli_esc(phd_snapshot_type_name(s, t)),
                   phd_fmt_count(tg[k].count, b1, sizeof b1), phd_fmt_size(tg[k].size, b2, sizeof b2),
                   phd_fmt_size(tg[k].retained, b3, sizeof b3));
            for (uint32_t i = 0; i < w && i < 3; i++) {
                if (phd_path_groups_text(&pg, i, 0, &text, &cap) < 0)
                    goto out;
                printf("  %6u × %s\n", pg.groups[i].count, cli_esc(text));
            }
            if (w > 3)
                printf("  (%zu more paths)\n", w - 3);
        }
        phd_path_groups_free(&pg);
    }
    if (json) {
        json_t *doc = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "snapshot", s->path, "objects", (json_int_t)count, "size",
                                (json_int_t)size, "retained", (json_int_t)retained, "omitted_types",
                                (json_int_t)(ntg - shown), "types", jt);
        if (extra)
            json_object_update(doc, extra);
        phd_json_print(doc, stdout);
    } else if (shown < ntg) {
        printf("\n(%u more types; --top 0 shows all)\n", ntg - shown);
    }
    rc = 0;
out:
    free(idom);
    free(parent);
    free(pedge);
    free(ret);
    free(tg);
    free(members);
    phd_path_groups_free(&pg);
    free(text);
    return rc;
}

int cmd_leaks(int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("leaks");
    long top = 10;
    int json = 0, p = cli_parse_report_opts(cmd, argc, argv, NULL, &top, &json);
    if (p)
        return p > 0 ? PHD_EXIT_OK : PHD_EXIT_USAGE;
    int ns = argc - optind;
    if (ns != 2 && ns != 3)
        return cli_fail("leaks: expected BASELINE AFTER [AGAIN] snapshots (see 'pyheapdiff leaks --help')");
    struct phd_snapshot *s[3] = {NULL, NULL, NULL};
    struct phd_graph *g = NULL;
    struct phd_census *ia = NULL, *ic = NULL;
    uint8_t *mark = NULL;
    int status = PHD_EXIT_USAGE;
    for (int i = 0; i < ns; i++) {
        if (i == ns - 1) {
            if (cli_open_graph(argv[optind + i], &s[i], &g) < 0)
                goto out;
        } else if (cli_open_snapshot(argv[optind + i], &s[i]) < 0) {
            goto out;
        }
    }
    for (int i = 1; i < ns; i++) {
        if (!phd_same_process(&s[0]->hdr, &s[i]->hdr)) {
            cli_fail("%s: not from the process of %s (pid or start time differ): leaks matches objects by address",
                     s[i]->path, s[0]->path);
            goto out;
        }
    }
    ia = by_address(s[0]);
    ic = ns == 3 ? by_address(s[1]) : NULL;
    struct phd_snapshot *last = s[ns - 1];
    mark = calloc((size_t)last->n_nodes / 8 + 1, 1);
    if (!ia || (ns == 3 && !ic) || !mark) {
        cli_fail("leaks: out of memory");
        goto out;
    }
    /* new in B: no same-typed object at its address in A */
    uint64_t new_in_b = 0;
    if (ns == 2) {
        for (uint32_t v = 0; v < last->n_nodes; v++)
            if (find_same(s[0], ia, last, v) == PHD_NONE) {
                MARK(mark, v);
                new_in_b++;
            }
    } else {
        /* a node of C is a candidate when B had it (same address and type)
         * and A did not */
        for (uint32_t v = 0; v < last->n_nodes; v++) {
            uint32_t b = find_same(s[1], ic, last, v);
            if (b != PHD_NONE && find_same(s[0], ia, s[1], b) == PHD_NONE)
                MARK(mark, v);
        }
        for (uint32_t v = 0; v < s[1]->n_nodes; v++)
            new_in_b += find_same(s[0], ia, s[1], v) == PHD_NONE;
    }
    char title[256];
    snprintf(title, sizeof title, ns == 3 ? "new in %s and still alive in %s" : "new in %s%s", s[1]->path,
             ns == 3 ? last->path : "");
    /* only the last snapshot is needed from here on */
    phd_census_free(&ia);
    phd_census_free(&ic);
    for (int i = 0; i < ns - 1; i++)
        phd_snapshot_free(&s[i]);
    json_t *extra = json ? json_pack("{s:I, s:s}", "new_in_after", (json_int_t)new_in_b, "technique",
                                     ns == 3 ? "three snapshots" : "two snapshots")
                         : NULL;
    if (report(title, last, g, mark, top, json, extra) < 0)
        cli_fail("leaks: out of memory");
    else
        status = PHD_EXIT_OK;
    json_decref(extra);
out:
    free(mark);
    phd_census_free(&ia);
    phd_census_free(&ic);
    phd_graph_free(&g);
    for (int i = 0; i < 3; i++)
        phd_snapshot_free(&s[i]);
    return status;
}

int cmd_orphans(int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("orphans");
    long top = 10;
    int json = 0, p = cli_parse_report_opts(cmd, argc, argv, NULL, &top, &json);
    if (p)
        return p > 0 ? PHD_EXIT_OK : PHD_EXIT_USAGE;
    if (argc - optind != 1)
        return cli_fail("orphans: expected one snapshot (see 'pyheapdiff orphans --help')");
    struct phd_snapshot *s;
    struct phd_graph *g;
    if (cli_open_graph(argv[optind], &s, &g) < 0)
        return PHD_EXIT_USAGE;
    int status = PHD_EXIT_USAGE;
    uint32_t *dist = malloc(((size_t)s->n_nodes + 1) * sizeof *dist);
    uint8_t *mark = calloc((size_t)s->n_nodes / 8 + 1, 1);
    if (!dist || !mark || phd_graph_bfs(g, 1, NULL, dist) < 0) {
        cli_fail("%s: out of memory", s->path);
        goto out;
    }
    for (uint32_t v = 0; v < s->n_nodes; v++)
        if (g->root_kind[v] == PHD_ROOT_UNKNOWN && dist[v] == UINT32_MAX)
            MARK(mark, v);
    free(dist);
    dist = NULL;
    if (report("held only by unknown holders (C code or the C stack)", s, g, mark, top, json, NULL) == 0)
        status = PHD_EXIT_OK;
    else
        cli_fail("%s: out of memory", s->path);
out:
    free(dist);
    free(mark);
    phd_graph_free(&g);
    phd_snapshot_free(&s);
    return status;
}
