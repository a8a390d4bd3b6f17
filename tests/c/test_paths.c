/*
 * test_paths.c - the grouping and spelling of retention paths
 * (src/graph/paths.c) against a plain reference on many small random
 * graphs, and a million-node chain and cycle in linear time.
 *
 * The reference is the rule as the documentation states it, the slow way:
 * every chosen node's path is spelled in full (indices folded), paths are
 * grouped by that text; groups whose texts agree once every plain-dict key
 * is spelled "[…]" are merged when there are four or more of them, folding
 * the keys at the hops where their examples differ; then the text of each
 * group is its example's, elided past 12 hops.  The random graphs are deep
 * trees (each node's first referrer among the few before it, so chains of
 * up to 80 hops) plus random extra references, with owner __dict__s,
 * dict values under keys of a few types, list indices, names, weak
 * references, root records of every kind and unknown holders.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pyheapdiff/graph.h"
#include "pyheapdiff/paths.h"
#include "testutil.h"

#define MAXN 90

enum { T_OBJECT, T_MODULE, T_STR, T_DICT, T_TYPE, T_INT, T_FUNCTION, N_TYPES };
static const char *g_strings[] = {"object", "module", "str", "dict", "type", "int", "function",
                                  "__dict__", "next", "items", "cache"};
#define N_STRINGS (sizeof g_strings / sizeof g_strings[0])
enum { S_DICT = 7, S_NAMES = 8 };
static struct t_tables g_tab;

/* A snapshot from an edge list: every object 16 bytes, refcounts the
 * retaining references plus extra_refs. */
static struct phd_snapshot *snap_build(uint32_t n, struct t_edge *ed, uint64_t m, const struct phd_root *roots,
                                       uint32_t nroots, const uint32_t *type, const uint32_t *extra_refs)
{
    struct phd_snapshot *s = t_snapshot_new(&g_tab, "random", n, 0, nroots);
    memcpy(s->roots, roots, nroots * sizeof *roots);
    for (uint32_t v = 0; v < n; v++) {
        s->size[v] = 16;
        s->type[v] = type[v];
        s->refcnt[v] = extra_refs[v];
    }
    t_snapshot_set_edges(s, ed, m);
    s->total_size = 16 * (uint64_t)n;
    return s;
}

static uint32_t random_label(struct rng *r, uint32_t n, const uint32_t *type, uint32_t dst, int *is_dict_attr)
{
    *is_dict_attr = 0;
    switch (rng_below(r, 9)) {
    case 0:
        return PHD_LABEL_MAKE(PHD_LABEL_NONE, 0);
    case 1:
    case 2:
        return PHD_LABEL_MAKE(PHD_LABEL_INDEX, rng_below(r, 4));
    case 3:
        if (type[dst] == T_DICT) {
            *is_dict_attr = 1;
            return PHD_LABEL_MAKE(PHD_LABEL_NAME, S_DICT);
        }
        /* fall through */
    case 4:
        return PHD_LABEL_MAKE(PHD_LABEL_NAME, S_NAMES + rng_below(r, N_STRINGS - S_NAMES));
    case 5:
    case 6:
    case 7: /* a dict value: its key's label is the key object's type */
        return PHD_LABEL_MAKE(PHD_LABEL_VALUE, rng_below(r, n));
    default:
        return rng_chance(r, 1, 3) ? PHD_LABEL_MAKE(PHD_LABEL_WEAK, 0) : PHD_LABEL_MAKE(PHD_LABEL_TYPE, 0);
    }
}

static struct phd_snapshot *random_snapshot(struct rng *r)
{
    uint32_t n = 1 + (uint32_t)rng_below(r, MAXN);
    static const uint32_t spans[] = {1, 1, 2, 4, 1000};
    uint32_t span = spans[rng_below(r, 5)];
    uint32_t type[MAXN], extra[MAXN] = {0};
    struct t_edge ed[MAXN * 4];
    uint64_t m = 0;
    int dict_heavy = rng_chance(r, 1, 2);
    for (uint32_t v = 0; v < n; v++) {
        uint32_t t = (uint32_t)rng_below(r, N_TYPES);
        if (dict_heavy && rng_chance(r, 1, 2))
            t = T_DICT;
        type[v] = t;
    }
    /* sometimes a cache: a dict whose values (under keys of several
     * types) hold the rest of the tree */
    uint32_t hub = rng_chance(r, 1, 2) && n > 8 ? (uint32_t)rng_below(r, 4) : PHD_NONE;
    if (hub != PHD_NONE)
        type[hub] = T_DICT;
    for (uint32_t v = 1; v < n; v++) {
        uint32_t lo = v > span ? v - span : 0;
        uint32_t p = lo + (uint32_t)rng_below(r, v - lo);
        int da;
        if (hub != PHD_NONE && v > hub && rng_chance(r, 1, 3)) {
            ed[m++] = (struct t_edge){hub, v, PHD_LABEL_MAKE(PHD_LABEL_VALUE, rng_below(r, n))};
            continue;
        }
        ed[m++] = (struct t_edge){p, v, random_label(r, n, type, v, &da)};
        if (PHD_LABEL_KIND(ed[m - 1].label) == PHD_LABEL_WEAK)
            ed[m - 1].label = PHD_LABEL_MAKE(PHD_LABEL_INDEX, 0);
    }
    uint32_t more = (uint32_t)rng_below(r, n + 1);
    for (uint32_t k = 0; k < more; k++) {
        uint32_t a = (uint32_t)rng_below(r, n), b = (uint32_t)rng_below(r, n);
        int da;
        ed[m++] = (struct t_edge){a, b, random_label(r, n, type, b, &da)};
    }
    struct phd_root roots[4];
    uint32_t nroots = 0;
    roots[nroots++] = (struct phd_root){.kind = 1 + (uint32_t)rng_below(r, PHD_ROOT_KIND_MAX), .node = 0,
                                        .thread_id = 7, .name = rng_chance(r, 1, 2) ? S_NAMES : UINT32_MAX};
    if (rng_chance(r, 1, 3))
        roots[nroots++] = (struct phd_root){.kind = PHD_ROOT_FRAME, .node = (uint32_t)rng_below(r, n),
                                            .thread_id = 9, .name = UINT32_MAX};
    for (uint32_t v = 0; v < n; v++)
        if (rng_chance(r, 1, 15))
            extra[v] = 1; /* an unknown holder */
    return snap_build(n, ed, m, roots, nroots, type, extra);
}

/* ---- the reference ------------------------------------------------------ */

/* Root text as docs/cli.md describes it. */
static void ref_root(const struct phd_graph *g, uint32_t r, char *out, size_t cap)
{
    const struct phd_snapshot *s = g->s;
    unsigned kind = g->root_kind[r];
    char d[300], tmp[300];
    phd_graph_describe(s, r, d, sizeof d);
    if (kind == PHD_ROOT_MODULE || kind == 0 || kind == PHD_ROOT_UNKNOWN) {
        snprintf(out, cap, "%s%s", kind == PHD_ROOT_UNKNOWN ? "[held by C] " : kind == 0 ? "[unreachable] " : "", d);
        return;
    }
    uint32_t ri = phd_graph_root_record(g, r);
    const struct phd_root *rec = ri != PHD_NONE ? &s->roots[ri] : NULL;
    if (rec && (kind == PHD_ROOT_FRAME || kind == PHD_ROOT_THREAD)) {
        snprintf(tmp, sizeof tmp, "[thread %llu] %s", (unsigned long long)rec->thread_id,
                 rec->name != PHD_NONE ? s->str[rec->name] : phd_graph_root_kind_name(kind));
        snprintf(out, cap, "%s: %s", tmp, d);
    } else if (rec && rec->name != PHD_NONE) {
        snprintf(out, cap, "%s", s->str[rec->name]);
    } else {
        snprintf(out, cap, "%s", d);
    }
}

struct hop {
    char lab[200];
    int value, owner;
    uint32_t node;
};

/* The chain of v: hops[0] is the root, hops[i] the hop into position i. */
static size_t ref_chain(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge, uint32_t v,
                        int fold, struct hop *h)
{
    uint32_t tmp[MAXN + 1];
    size_t d = 0;
    for (uint32_t x = v; x != PHD_NONE; x = parent[x])
        tmp[d++] = x;
    for (size_t i = 0; i < d; i++) {
        h[i].node = tmp[d - 1 - i];
        h[i].lab[0] = 0;
        h[i].value = h[i].owner = 0;
        if (i == 0)
            continue;
        uint32_t e = pedge[h[i].node];
        phd_graph_label(g->s, e, fold, h[i].lab, sizeof h[i].lab);
        h[i].value = PHD_LABEL_KIND(g->s->edge_label[e]) == PHD_LABEL_VALUE;
    }
    for (size_t i = 1; i < d; i++)
        h[i].owner = strcmp(h[i].lab, ".__dict__") == 0 && g->s->type[h[i].node] == T_DICT;
    return d - 1;
}

/* One hop's text; fold_key: spell a plain key "[…]". */
static void ref_hop(const struct phd_graph *g, const struct hop *h, size_t i, size_t hops, int fold_key, char *out,
                    size_t cap)
{
    char d[300];
    const char *lab = h[i].value && !h[i - 1].owner && fold_key ? "[…]" : h[i].lab;
    if (i == hops)
        snprintf(d, sizeof d, "%s", phd_snapshot_type_name(g->s, g->s->type[h[i].node]));
    else
        phd_graph_describe(g->s, h[i].node, d, sizeof d);
    snprintf(out, cap, "%s%s → %s", lab[0] ? " " : "", lab, d);
}

/* The text of v's path; mask[i]: fold the plain key at hop i (NULL: none,
 * all: every one); elide: past 12 hops. */
static void ref_text(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge, uint32_t v, int fold,
                     const uint8_t *mask, int all, int elide, char *out, size_t cap)
{
    struct hop h[MAXN + 1];
    size_t hops = ref_chain(g, parent, pedge, v, fold, h), len;
    char t[1000];
    ref_root(g, h[0].node, out, cap);
    for (size_t i = 1; i <= hops; i++) {
        if (elide && hops > PHD_PATHS_MAX_HOPS && i == PHD_PATHS_HEAD + 1) {
            char d[300];
            i = hops - PHD_PATHS_TAIL;
            phd_graph_describe(g->s, h[i].node, d, sizeof d);
            len = strlen(out);
            snprintf(out + len, cap - len, " → … %zu more hops … → %s", hops - PHD_PATHS_TAIL - PHD_PATHS_HEAD,
                     d);
            h[i].owner = strcmp(h[i].lab, ".__dict__") == 0 && g->s->type[h[i].node] == T_DICT;
            continue;
        }
        if (i < hops && h[i].owner)
            continue;
        if (i == hops)
            h[i].owner = 0;
        ref_hop(g, h, i, hops, all || (mask && mask[i]), t, sizeof t);
        len = strlen(out);
        snprintf(out + len, cap - len, "%s", t);
    }
}

struct rgroup {
    char text[8000], shape[8000];
    uint32_t example, count, dead;
};

static int by_rgroup(const void *a, const void *b)
{
    const struct rgroup *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->example > y->example) - (x->example < y->example);
}

static struct rgroup rg[MAXN];
static char big[8000];

/* The reference groups of nodes[0..n) into rg; returns how many. */
static size_t ref_groups(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge,
                         const uint32_t *nodes, size_t n)
{
    size_t ng = 0;
    for (size_t k = 0; k < n; k++) {
        ref_text(g, parent, pedge, nodes[k], 1, NULL, 0, 0, big, sizeof big);
        size_t j = 0;
        while (j < ng && strcmp(rg[j].text, big) != 0)
            j++;
        if (j == ng) {
            snprintf(rg[ng].text, sizeof rg[ng].text, "%s", big);
            ref_text(g, parent, pedge, nodes[k], 1, NULL, 1, 0, rg[ng].shape, sizeof rg[ng].shape);
            rg[ng].example = nodes[k];
            rg[ng].count = 0;
            rg[ng].dead = 0;
            ng++;
        }
        rg[j].count++;
    }
    /* the keyed merge, as before it was in the library */
    uint8_t mask[MAXN + 1];
    uint64_t merged_into[MAXN];
    for (size_t j = 0; j < ng; j++)
        merged_into[j] = j;
    for (size_t j = 0; ng >= PHD_PATHS_KEYED_MIN && j < ng; j++) {
        size_t m = 0;
        for (size_t k = j; k < ng; k++)
            m += !rg[k].dead && strcmp(rg[k].shape, rg[j].shape) == 0;
        if (rg[j].dead || m < PHD_PATHS_KEYED_MIN)
            continue;
        struct hop h0[MAXN + 1], h[MAXN + 1];
        size_t d0 = ref_chain(g, parent, pedge, rg[j].example, 1, h0);
        memset(mask, 0, sizeof mask);
        for (size_t k = j + 1; k < ng; k++) {
            if (rg[k].dead || strcmp(rg[k].shape, rg[j].shape) != 0)
                continue;
            size_t d = ref_chain(g, parent, pedge, rg[k].example, 1, h);
            for (size_t i = 1; i <= d0; i++)
                if (d != d0 || strcmp(h[i].lab, h0[i].lab) != 0)
                    mask[i] = 1;
            rg[j].count += rg[k].count;
            rg[k].dead = 1;
        }
        ref_text(g, parent, pedge, rg[j].example, 1, mask, 0, 1, rg[j].text, sizeof rg[j].text);
        merged_into[j] = UINT64_MAX;
    }
    size_t out = 0;
    for (size_t j = 0; j < ng; j++) {
        if (rg[j].dead)
            continue;
        if (merged_into[j] != UINT64_MAX)
            ref_text(g, parent, pedge, rg[j].example, 1, NULL, 0, 1, rg[j].text, sizeof rg[j].text);
        rg[out++] = rg[j];
    }
    qsort(rg, out, sizeof *rg, by_rgroup);
    return out;
}

/* ---- the tests ---------------------------------------------------------- */

static unsigned long cov_groups, cov_merged, cov_elided, cov_owner;

static void check_graph(struct phd_snapshot *s, struct rng *r, unsigned gi)
{
    struct phd_graph *g = NULL;
    struct phd_error err;
    CHECKF(phd_graph_build(&g, s, &err) == 0, "graph %u: %s", gi, err.msg);
    if (!g)
        return;
    uint32_t n = s->n_nodes, parent[MAXN], pedge[MAXN], nodes[MAXN];
    CHECK(phd_graph_bfs_edges(g, 0, parent, pedge, NULL) == 0);
    size_t nn = 0;
    int how = (int)rng_below(r, 3);
    uint32_t want_type = (uint32_t)rng_below(r, N_TYPES);
    for (uint32_t v = 0; v < n; v++)
        if (how == 0 || (how == 1 && s->type[v] == want_type) || (how == 2 && rng_chance(r, 1, 2)))
            nodes[nn++] = v;
    size_t ng = ref_groups(g, parent, pedge, nodes, nn);
    struct phd_path_groups pg;
    CHECK(phd_path_groups_new(&pg, g, parent, pedge, nodes, nn) == 0);
    CHECKF(pg.n == ng, "graph %u: %zu groups, reference %zu", gi, pg.n, ng);
    char *buf = NULL;
    size_t cap = 0;
    for (size_t k = 0; k < pg.n && k < ng; k++) {
        long l = phd_path_groups_text(&pg, k, 0, &buf, &cap);
        CHECK(l >= 0);
        CHECKF(pg.groups[k].count == rg[k].count && pg.groups[k].example == rg[k].example &&
                   strcmp(buf, rg[k].text) == 0,
               "graph %u group %zu: %u x %.300s (e.g. %u)\n  reference %u x %.300s (e.g. %u)", gi, k,
               pg.groups[k].count, buf, pg.groups[k].example, rg[k].count, rg[k].text, rg[k].example);
        cov_elided += strstr(buf, "more hops") != NULL;
        cov_merged += strstr(buf, "[…]") != NULL;
        CHECK(phd_path_groups_text(&pg, k, 1, &buf, &cap) >= 0);
        ref_text(g, parent, pedge, pg.groups[k].example, 0, NULL, 0, 1, big, sizeof big);
        CHECKF(strcmp(buf, big) == 0, "graph %u group %zu exact: %.300s\n  reference %.300s", gi, k, buf, big);
        char *one = phd_path_text(g, parent, pedge, pg.groups[k].example, 0);
        CHECK(one && strcmp(one, big) == 0);
        free(one);
    }
    for (size_t k = 0; k < ng; k++)
        cov_owner += strstr(rg[k].text, "['") == NULL && strstr(rg[k].text, "__dict__") != NULL;
    cov_groups += pg.n;
    free(buf);
    phd_path_groups_free(&pg);
    CHECK(pg.groups == NULL && pg.n == 0);
    phd_graph_free(&g);
}

static void test_random(unsigned ngraphs, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed);
    for (unsigned i = 0; i < ngraphs; i++) {
        struct phd_snapshot *s = random_snapshot(&r);
        check_graph(s, &r, i);
        t_snapshot_free(&s);
    }
    printf("random graphs: %lu groups, %lu merged by key, %lu elided\n", cov_groups, cov_merged, cov_elided);
    CHECK(cov_merged > 10 && cov_elided > 10);
}

/* A list of n nodes held by a module's global (or closed into a cycle):
 * every node chosen, n groups; linear time (well under a second for a
 * million: the quadratic grouping took minutes for 20,000). */
static void test_long(uint32_t n, int cycle)
{
    struct t_edge *ed = malloc(((size_t)n + 4) * sizeof *ed);
    uint32_t *type = malloc(((size_t)n + 2) * sizeof *type), *extra = calloc((size_t)n + 2, sizeof *extra);
    /* node 0: a module; 1: its __dict__; 2..n+1: the list */
    uint32_t nn = n + 2;
    type[0] = T_MODULE;
    type[1] = T_DICT;
    ed[0] = (struct t_edge){0, 1, PHD_LABEL_MAKE(PHD_LABEL_NAME, S_DICT)};
    ed[1] = (struct t_edge){1, 2, PHD_LABEL_MAKE(PHD_LABEL_NAME, S_NAMES)};
    for (uint32_t v = 2; v < nn; v++) {
        type[v] = T_OBJECT;
        if (v + 1 < nn)
            ed[v] = (struct t_edge){v, v + 1, PHD_LABEL_MAKE(PHD_LABEL_NAME, S_NAMES)};
    }
    if (cycle)
        ed[nn - 1] = (struct t_edge){nn - 1, 2, PHD_LABEL_MAKE(PHD_LABEL_NAME, S_NAMES)};
    struct phd_root root = {.kind = PHD_ROOT_FRAME, .node = 0, .thread_id = 1, .name = UINT32_MAX};
    struct phd_snapshot *s = snap_build(nn, ed, cycle ? nn : nn - 1, &root, 1, type, extra);
    struct phd_graph *g = NULL;
    struct phd_error err;
    CHECK(phd_graph_build(&g, s, &err) == 0);
    uint32_t *parent = malloc((size_t)nn * sizeof *parent), *pedge = malloc((size_t)nn * sizeof *pedge);
    uint32_t *nodes = malloc((size_t)nn * sizeof *nodes);
    CHECK(phd_graph_bfs_edges(g, 0, parent, pedge, NULL) == 0);
    for (uint32_t v = 0; v < n; v++)
        nodes[v] = v + 2;
    clock_t t0 = clock();
    struct phd_path_groups pg;
    CHECK(phd_path_groups_new(&pg, g, parent, pedge, nodes, n) == 0);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECKF(pg.n == n, "%zu groups", pg.n);
    char *buf = NULL;
    size_t cap = 0;
    CHECK(phd_path_groups_text(&pg, pg.n - 1, 0, &buf, &cap) > 0);
    /* the last node is n + 1 hops from the module (its __dict__ folded) */
    CHECKF(n != 1000000 || strstr(buf, "→ … 999,991 more hops … →"), "%s", buf);
    CHECKF(strlen(buf) < 400, "%zu bytes", strlen(buf));
    /* every group spelled (--limit 0): linear in all, the memo taking over
     * from the walks; a sample against the walk alone */
    clock_t t1 = clock();
    for (size_t k = 0; k < pg.n; k++) {
        CHECK(phd_path_groups_text(&pg, k, 0, &buf, &cap) > 0);
        if (k % 9973 == 0 || k + 1 == pg.n) {
            char *one = phd_path_text(g, parent, pedge, pg.groups[k].example, 1);
            CHECKF(one && strcmp(one, buf) == 0, "group %zu: %s\n  walk: %s", k, buf, one ? one : "?");
            free(one);
        }
    }
    double all = (double)(clock() - t1) / CLOCKS_PER_SEC;
    printf("  every group spelled in %.3f s\n", all);
    CHECKF(all < 20, "%.1f s", all);
    printf("%s of %u: grouped in %.3f s; last: %s\n", cycle ? "cycle" : "chain", n, secs, buf);
    CHECKF(secs < 10, "%.1f s", secs);
    free(buf);
    phd_path_groups_free(&pg);
    free(parent);
    free(pedge);
    free(nodes);
    phd_graph_free(&g);
    t_snapshot_free(&s);
    free(ed);
    free(type);
    free(extra);
}

int main(int argc, char **argv)
{
    unsigned ngraphs = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 3000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 20261202;
    t_tables_init(&g_tab, g_strings, (uint32_t)N_STRINGS, N_TYPES);
    test_random(ngraphs, seed);
    test_long(1000000, 0);
    test_long(1000000, 1);
    return t_summary("test_paths");
}
