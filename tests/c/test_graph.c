/*
 * test_graph.c - property tests of the graph analyses (src/graph/graph.c)
 * against simple reference implementations.
 *
 * Snapshots are built directly in memory (struct phd_snapshot, no file):
 * random graphs of 1..60 nodes with self and duplicate edges, weak
 * (non-retaining) edges, other labels, a sys.modules dict with VALUE edges
 * to "module" objects, root records of every kind, and refcounts that
 * sometimes exceed the retaining in-degree (unknown holders).  For each
 * graph the references are plain: 64-bit bitsets / boolean matrices over
 * at most 64 nodes.
 *
 *   1. root set and reverse (referrer) rows        phd_graph_build
 *   2. three-phase BFS, named_only 0 and 1          phd_graph_bfs(_edges)
 *      the user's modules preferred, --from first  phd_graph_bfs_from
 *   3. strongly connected components                phd_graph_scc
 *   4. dominators and retained sizes                phd_graph_dominators
 *   5. a 1,000,000-node chain and a 200,000-node cycle (no recursion)
 *   6. labels, descriptions and edge_between on a hand-made snapshot
 *   7. module origins (phd_module_origins) on a hand-made snapshot
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/graph.h"
#include "pyheapdiff/types.h"
#include "testutil.h"

#define MAXN 60
#define SUPER 63 /* bit of the super-root in the dominator reference */
typedef uint64_t bits;

/* What the random graphs exercised (printed, and checked to be non-trivial). */
static unsigned long cov_idom, cov_phase_dist[3], cov_big_scc, cov_ret_nontrivial;
#define BIT(v) ((bits)1 << (v))

/* ---- in-memory snapshots ------------------------------------------------ */

/* String ids 0..6 are type names (type id == string id), then attribute names. */
enum { T_OBJECT, T_MODULE, T_STR, T_DICT, T_TYPE, T_INT, T_FUNCTION, N_TYPES };
static const char *g_strings[] = {"object", "module", "str", "dict", "type", "int", "function",
                                  "name", "__dict__", "handler", "app.events", "x"};
#define N_STRINGS (sizeof g_strings / sizeof g_strings[0])
enum { S_NAME = 7, S_DICT = 8, S_HANDLER = 9, S_APP_EVENTS = 10, S_X = 11 };
static struct t_tables g_tab;

/* ---- random graphs ------------------------------------------------------ */

static uint32_t random_label(struct rng *r, uint32_t n, int weak_pct, int value_pct)
{
    if ((int)rng_below(r, 100) < weak_pct)
        return PHD_LABEL_MAKE(PHD_LABEL_WEAK, 0);
    if ((int)rng_below(r, 100) < value_pct)
        return PHD_LABEL_MAKE(PHD_LABEL_VALUE, rng_below(r, n));
    switch (rng_below(r, 6)) {
    case 0:
    case 1:
        return PHD_LABEL_MAKE(PHD_LABEL_NONE, 0);
    case 2:
        return PHD_LABEL_MAKE(PHD_LABEL_INDEX, rng_below(r, 100));
    case 3:
        return PHD_LABEL_MAKE(PHD_LABEL_NAME, S_NAME + rng_below(r, N_STRINGS - S_NAME));
    case 4:
        return PHD_LABEL_MAKE(PHD_LABEL_KEY, 0);
    default:
        return PHD_LABEL_MAKE(PHD_LABEL_TYPE, 0);
    }
}

static struct phd_snapshot *random_snapshot(struct rng *r)
{
    uint32_t n = 1 + (uint32_t)rng_below(r, MAXN);
    static const unsigned maxdeg_choice[] = {1, 2, 3, 4, 6};
    unsigned maxdeg = maxdeg_choice[rng_below(r, 5)];
    static const int weak_choice[] = {0, 10, 35};
    int weak_pct = weak_choice[rng_below(r, 3)];
    static const int unknown_choice[] = {0, 5, 20, 50};
    int unknown_pct = unknown_choice[rng_below(r, 4)];
    static const int module_choice[] = {0, 15, 40};
    int module_pct = module_choice[rng_below(r, 3)];

    /* roots: 0..5 records of random kinds, plus one or two sys.modules dicts */
    uint32_t nrec = (uint32_t)rng_below(r, 6);
    uint32_t nmod = rng_chance(r, 2, 3) ? 1 + (uint32_t)rng_chance(r, 1, 5) : 0;
    uint32_t modnode[2] = {PHD_NONE, PHD_NONE};
    for (uint32_t i = 0; i < nmod; i++)
        modnode[i] = (uint32_t)rng_below(r, n);
    /* out-degrees next, so that the arrays can be sized */
    uint32_t deg[MAXN];
    uint64_t m = 0;
    for (uint32_t u = 0; u < n; u++) {
        deg[u] = (uint32_t)rng_below(r, maxdeg + 1);
        if (rng_chance(r, 1, 20))
            deg[u] += 5; /* a few wide nodes */
        if (u == modnode[0] || u == modnode[1])
            deg[u] += 3;
        m += deg[u];
    }
    struct phd_snapshot *s = t_snapshot_new(&g_tab, "random", n, m, nrec + nmod);
    for (uint32_t i = 0; i < nrec + nmod; i++) {
        uint32_t kind = 1 + (uint32_t)rng_below(r, PHD_ROOT_KIND_MAX);
        uint32_t node = (uint32_t)rng_below(r, n);
        if (i >= nrec) {
            kind = PHD_ROOT_MODULES;
            node = modnode[i - nrec];
        }
        s->roots[i] = (struct phd_root){.kind = kind, .node = node, .thread_id = rng_below(r, 3),
                                        .name = rng_chance(r, 1, 2) ? S_X : UINT32_MAX};
    }
    /* shuffle so the MODULES records are not always last */
    for (uint32_t i = s->n_roots; i > 1; i--) {
        uint32_t j = (uint32_t)rng_below(r, i);
        struct phd_root t = s->roots[i - 1];
        s->roots[i - 1] = s->roots[j];
        s->roots[j] = t;
    }
    for (uint32_t v = 0; v < n; v++) {
        s->type[v] = (int)rng_below(r, 100) < module_pct ? T_MODULE : (uint32_t)rng_below(r, N_TYPES);
        s->size[v] = rng_chance(r, 1, 10) ? 0 : 1 + rng_below(r, 1000);
        s->flags[v] = (uint8_t)rng_below(r, 8);
    }
    uint32_t mods[MAXN], nmods = 0;
    for (uint32_t v = 0; v < n; v++)
        if (s->type[v] == T_MODULE)
            mods[nmods++] = v;
    /* edges, CSR by source */
    uint64_t e = 0;
    for (uint32_t u = 0; u < n; u++) {
        s->edge_start[u] = e;
        int is_mod = u == modnode[0] || u == modnode[1];
        for (uint32_t k = 0; k < deg[u]; k++, e++) {
            uint32_t t;
            if (is_mod && nmods && rng_chance(r, 1, 2))
                t = mods[rng_below(r, nmods)]; /* sys.modules -> a module */
            else if (k > 0 && rng_chance(r, 1, 8))
                t = s->edge_target[e - 1]; /* duplicate */
            else if (rng_chance(r, 1, 10))
                t = u; /* self */
            else
                t = (uint32_t)rng_below(r, n);
            s->edge_target[e] = t;
            s->edge_label[e] = random_label(r, n, weak_pct, is_mod ? 50 : 5);
        }
    }
    s->edge_start[n] = e;
    /* refcounts: retaining in-degree, sometimes more (unknown holder), else at most it */
    uint64_t indeg[MAXN] = {0};
    for (e = 0; e < m; e++)
        if (PHD_LABEL_KIND(s->edge_label[e]) != PHD_LABEL_WEAK)
            indeg[s->edge_target[e]]++;
    uint64_t total = 0;
    for (uint32_t v = 0; v < n; v++) {
        if ((int)rng_below(r, 100) < unknown_pct)
            s->refcnt[v] = indeg[v] + 1 + rng_below(r, 3);
        else
            s->refcnt[v] = rng_below(r, indeg[v] + 1);
        total += phd_snapshot_size(s, v);
    }
    s->total_size = total;
    return s;
}

/* ---- references --------------------------------------------------------- */

static int popcount64(bits x)
{
    int c = 0;
    while (x) {
        x &= x - 1;
        c++;
    }
    return c;
}

/* Rank of a root kind in the search order (graph.c: modules, sys.modules,
 * sys, builtins, frames, threads, interpreter, unknown holders). */
static int kind_rank(unsigned k)
{
    switch (k) {
    case PHD_ROOT_MODULE:
        return 0;
    case PHD_ROOT_MODULES:
        return 1;
    case PHD_ROOT_SYSDICT:
        return 2;
    case PHD_ROOT_BUILTINS:
        return 3;
    case PHD_ROOT_FRAME:
        return 4;
    case PHD_ROOT_THREAD:
        return 5;
    case PHD_ROOT_INTERP:
        return 6;
    case PHD_ROOT_UNKNOWN:
        return 7;
    default:
        return 99;
    }
}

static int kind_phase(unsigned k)
{
    return k == PHD_ROOT_MODULE ? 0 : k == PHD_ROOT_UNKNOWN ? 2 : 1;
}

struct ref {
    uint32_t n;
    bits adj[MAXN];      /* retaining edges u -> v */
    bits pred[MAXN];     /* retaining edges u -> v, by v */
    uint64_t indeg[MAXN]; /* retaining in-edges, duplicates counted */
    uint8_t kind[MAXN];  /* expected root kind, 0 if not a root */
    bits roots;
};

static void ref_build(struct ref *R, const struct phd_snapshot *s)
{
    memset(R, 0, sizeof *R);
    uint32_t n = R->n = s->n_nodes;
    for (uint32_t u = 0; u < n; u++)
        for (uint64_t e = s->edge_start[u]; e < s->edge_start[u + 1]; e++) {
            uint32_t t = s->edge_target[e];
            if (PHD_LABEL_KIND(s->edge_label[e]) == PHD_LABEL_WEAK)
                continue;
            R->adj[u] |= BIT(t);
            R->pred[t] |= BIT(u);
            R->indeg[t]++;
        }
    /* module roots: "module"-typed targets of VALUE edges from a sys.modules dict */
    bits modules = 0;
    for (uint32_t r = 0; r < s->n_roots; r++) {
        if (s->roots[r].kind != PHD_ROOT_MODULES)
            continue;
        uint32_t d = s->roots[r].node;
        for (uint64_t e = s->edge_start[d]; e < s->edge_start[d + 1]; e++)
            if (PHD_LABEL_KIND(s->edge_label[e]) == PHD_LABEL_VALUE && s->type[s->edge_target[e]] == T_MODULE)
                modules |= BIT(s->edge_target[e]);
    }
    for (uint32_t v = 0; v < n; v++) {
        if (modules & BIT(v)) {
            R->kind[v] = PHD_ROOT_MODULE;
        } else {
            int best = 99;
            for (uint32_t r = 0; r < s->n_roots; r++)
                if (s->roots[r].node == v && kind_rank(s->roots[r].kind) < best) {
                    best = kind_rank(s->roots[r].kind);
                    R->kind[v] = (uint8_t)s->roots[r].kind;
                }
            if (!R->kind[v] && s->refcnt[v] > R->indeg[v])
                R->kind[v] = PHD_ROOT_UNKNOWN;
        }
        if (R->kind[v])
            R->roots |= BIT(v);
    }
}

/* Property 1: the root set and the referrer rows. */
static void check_build(const struct phd_graph *g, const struct phd_snapshot *s, const struct ref *R,
                        unsigned long id)
{
    uint32_t n = s->n_nodes;
    CHECKF(g->n == n && g->s == s, "graph %lu: n %u", id, g->n);
    uint32_t nroots = 0, nunknown = 0;
    for (uint32_t v = 0; v < n; v++) {
        CHECKF(g->root_kind[v] == R->kind[v], "graph %lu: root_kind[%u] = %u, expected %u", id, v,
               g->root_kind[v], R->kind[v]);
        nroots += R->kind[v] != 0;
        nunknown += R->kind[v] == PHD_ROOT_UNKNOWN;
        /* root_rec names the record that made v a root */
        uint32_t rec = phd_graph_root_record(g, v);
        if (R->kind[v] == 0 || R->kind[v] == PHD_ROOT_UNKNOWN) {
            CHECKF(rec == PHD_NONE, "graph %lu: root_rec[%u] = %u for kind %u", id, v, rec, R->kind[v]);
        } else if (R->kind[v] == PHD_ROOT_MODULE) {
            int ok = rec < s->n_roots && s->roots[rec].kind == PHD_ROOT_MODULES;
            if (ok) {
                uint32_t d = s->roots[rec].node;
                ok = 0;
                for (uint64_t e = s->edge_start[d]; e < s->edge_start[d + 1]; e++)
                    ok |= s->edge_target[e] == v && PHD_LABEL_KIND(s->edge_label[e]) == PHD_LABEL_VALUE;
            }
            CHECKF(ok, "graph %lu: module root %u: root_rec %u is not a sys.modules record naming it", id, v, rec);
        } else {
            CHECKF(rec < s->n_roots && s->roots[rec].node == v && s->roots[rec].kind == R->kind[v],
                   "graph %lu: root_rec[%u] = %u", id, v, rec);
        }
    }
    CHECKF(g->n_roots == nroots, "graph %lu: n_roots %u, expected %u", id, g->n_roots, nroots);
    CHECKF(g->n_unknown == nunknown, "graph %lu: n_unknown %u, expected %u", id, g->n_unknown, nunknown);
    /* roots[]: each root once, in search order */
    bits seen = 0;
    int sorted = 1;
    for (uint32_t i = 0; i < g->n_roots && i < n; i++) {
        uint32_t v = g->roots[i];
        CHECKF(v < n && (R->roots & BIT(v)) && !(seen & BIT(v)), "graph %lu: roots[%u] = %u", id, i, v);
        if (v < n)
            seen |= BIT(v);
        if (i && v < n && g->roots[i - 1] < n && kind_rank(R->kind[g->roots[i - 1]]) > kind_rank(R->kind[v]))
            sorted = 0;
    }
    CHECKF(seen == R->roots, "graph %lu: roots[] misses some roots", id);
    CHECKF(sorted, "graph %lu: roots[] not in search order (modules first, unknown holders last)", id);

    /* reverse rows: exactly the retaining in-edges, in edge order */
    CHECKF(g->rev_start[0] == 0, "graph %lu: rev_start[0] = %" PRIu64, id, (uint64_t)g->rev_start[0]);
    for (uint32_t v = 0; v < n; v++) {
        uint64_t a = g->rev_start[v], b = g->rev_start[v + 1];
        CHECKF(b >= a && b - a == R->indeg[v], "graph %lu: node %u has %" PRIu64 " referrers, expected %" PRIu64,
               id, v, b - a, R->indeg[v]);
        if (b < a || b - a != R->indeg[v])
            continue;
        /* the sources of v's retaining in-edges, in edge order */
        int ok = 1;
        uint64_t k = a;
        for (uint32_t u = 0; u < n && ok; u++)
            for (uint64_t e = s->edge_start[u]; e < s->edge_start[u + 1]; e++)
                if (s->edge_target[e] == v && PHD_LABEL_KIND(s->edge_label[e]) != PHD_LABEL_WEAK)
                    ok &= k < b && g->rev_src[k++] == u;
        ok &= k == b;
        CHECKF(ok, "graph %lu: referrer row of node %u is not its retaining in-edges in order", id, v);
    }
}

/* Property 2: reference BFS, phase by phase, plain BFS over the matrix. */
static void ref_bfs(const struct ref *R, int named_only, uint32_t *dist, int *phase)
{
    bits reached = 0;
    for (uint32_t v = 0; v < R->n; v++) {
        dist[v] = UINT32_MAX;
        phase[v] = -1;
    }
    for (int ph = 0; ph < (named_only ? 2 : 3); ph++) {
        bits src = 0;
        for (uint32_t v = 0; v < R->n; v++)
            if (R->kind[v] && kind_phase(R->kind[v]) == ph && !(reached & BIT(v)))
                src |= BIT(v);
        bits seen = src, cur = src;
        for (uint32_t d = 0; cur; d++) {
            bits next = 0;
            for (uint32_t v = 0; v < R->n; v++) {
                if (!(cur & BIT(v)))
                    continue;
                if (!(reached & BIT(v))) {
                    dist[v] = d;
                    phase[v] = ph;
                    if (d > 0 && !named_only)
                        cov_phase_dist[ph]++;
                }
                next |= R->adj[v];
            }
            cur = next & ~seen;
            seen |= next;
        }
        reached |= seen;
    }
}

static void check_bfs(const struct phd_graph *g, const struct phd_snapshot *s, const struct ref *R,
                      unsigned long id)
{
    uint32_t n = s->n_nodes;
    for (int named_only = 0; named_only <= 1; named_only++) {
        uint32_t dist[MAXN], parent[MAXN], pedge[MAXN], edist[MAXN];
        int phase[MAXN];
        ref_bfs(R, named_only, edist, phase);
        CHECK(phd_graph_bfs_edges(g, named_only, parent, pedge, dist) == 0);
        for (uint32_t v = 0; v < n; v++) {
            CHECKF(dist[v] == edist[v], "graph %lu named_only %d: dist[%u] = %u, expected %u (phase %d)", id,
                   named_only, v, dist[v], edist[v], phase[v]);
            uint32_t p = parent[v];
            if (edist[v] == UINT32_MAX || edist[v] == 0) {
                CHECKF(p == PHD_NONE && pedge[v] == PHD_NONE, "graph %lu named_only %d: node %u (dist %u): parent %u",
                       id, named_only, v, edist[v], p);
                continue;
            }
            int ok = p < n && (R->adj[p] & BIT(v)) && dist[p] != UINT32_MAX && dist[p] + 1 == dist[v] &&
                     phase[p] == phase[v];
            CHECKF(ok, "graph %lu named_only %d: node %u dist %u: parent %u (dist %u) is not a shortest-path predecessor",
                   id, named_only, v, dist[v], p, p < n ? dist[p] : 0);
            uint32_t e = pedge[v];
            CHECKF(ok && e < s->n_edges && s->edge_start[p] <= e && e < s->edge_start[p + 1] && s->edge_target[e] == v &&
                       phd_edge_retains(s, e),
                   "graph %lu named_only %d: pedge[%u] = %u is not a retaining edge %u -> %u", id, named_only, v, e, p, v);
        }
        /* the plain entry point and NULL outputs agree */
        uint32_t dist2[MAXN], parent2[MAXN];
        CHECK(phd_graph_bfs(g, named_only, parent2, dist2) == 0);
        CHECK(memcmp(dist, dist2, n * sizeof *dist) == 0 && memcmp(parent, parent2, n * sizeof *parent) == 0);
        CHECK(phd_graph_bfs(g, named_only, NULL, dist2) == 0 && memcmp(dist, dist2, n * sizeof *dist) == 0);
        CHECK(phd_graph_bfs(g, named_only, parent2, NULL) == 0 && memcmp(parent, parent2, n * sizeof *parent) == 0);
        CHECK(phd_graph_bfs(g, named_only, NULL, NULL) == 0);
    }
}

/* Property 2b: the user's modules preferred (PHD_BFS_USER_BONUS), and
 * `--from` modules first.  root_origin is set at random on the built
 * graph; the reference is one plain BFS per module root (never entering
 * another module), a path's cost its hops plus the bonus for a module
 * that is not the user's.  Every node the modules reach must get a path
 * of least cost, from a user's module when one has that cost; with a
 * from-set F, a node F reaches gets a shortest path from F. */
static unsigned long cov_pref_longer, cov_from;

static uint32_t path_root(const uint32_t *parent, uint32_t v, uint32_t n)
{
    for (uint32_t k = 0; k <= n && parent[v] != PHD_NONE; k++)
        v = parent[v];
    return parent[v] == PHD_NONE ? v : PHD_NONE;
}

static void check_bfs_pref(struct phd_graph *g, const struct phd_snapshot *s, const struct ref *R, struct rng *r,
                           unsigned long id)
{
    uint32_t n = s->n_nodes;
    static uint32_t hop[MAXN][MAXN]; /* hop[m][v]: hops from module m, UINT32_MAX: none */
    int user[MAXN] = {0}, is_mod[MAXN] = {0}, in_from[MAXN] = {0};
    uint32_t from[MAXN], nfrom = 0;
    CHECKF(g->n_modules <= g->n_roots, "graph %lu: n_modules %u", id, g->n_modules);
    for (uint32_t i = 0; i < g->n_roots; i++) {
        uint32_t v = g->roots[i];
        CHECKF((i < g->n_modules) == (g->root_kind[v] == PHD_ROOT_MODULE), "graph %lu: roots[%u] module %d", id, i,
               g->root_kind[v] == PHD_ROOT_MODULE);
        if (i >= g->n_modules)
            continue;
        g->root_origin[i] = rng_chance(r, 1, 2) ? PHD_ORIGIN_USER : PHD_ORIGIN_STDLIB;
        user[v] = g->root_origin[i] == PHD_ORIGIN_USER;
        is_mod[v] = 1;
        if (rng_chance(r, 1, 4)) {
            from[nfrom++] = v;
            in_from[v] = 1;
        }
    }
    for (uint32_t m = 0; m < n; m++) {
        for (uint32_t v = 0; v < n; v++)
            hop[m][v] = UINT32_MAX;
        if (!is_mod[m])
            continue;
        bits seen = BIT(m), cur = BIT(m);
        for (uint32_t d = 0; cur; d++) {
            bits next = 0;
            for (uint32_t v = 0; v < n; v++)
                if (cur & BIT(v)) {
                    hop[m][v] = d;
                    next |= R->adj[v];
                }
            for (uint32_t v = 0; v < n; v++)
                if (is_mod[v])
                    next &= ~BIT(v);
            cur = next & ~seen;
            seen |= next;
        }
    }
    for (int use_from = 0; use_from <= 1; use_from++) {
        uint32_t parent[MAXN], pedge[MAXN], dist[MAXN], edist[MAXN];
        int phase[MAXN];
        ref_bfs(R, 0, edist, phase);
        CHECK(phd_graph_bfs_from(g, 0, from, use_from ? nfrom : 0, parent, pedge, dist) == 0);
        for (uint32_t v = 0; v < n; v++) {
            uint32_t eff = UINT32_MAX, effF = UINT32_MAX, hmin = UINT32_MAX;
            int user_best = 0;
            for (uint32_t m = 0; m < n; m++) {
                if (!is_mod[m] || hop[m][v] == UINT32_MAX)
                    continue;
                uint32_t c = hop[m][v] + (user[m] ? 0 : PHD_BFS_USER_BONUS);
                if (c < eff)
                    eff = c;
                if (hop[m][v] < hmin)
                    hmin = hop[m][v];
                if (use_from && in_from[m] && hop[m][v] < effF)
                    effF = hop[m][v];
            }
            for (uint32_t m = 0; m < n; m++)
                user_best |= is_mod[m] && user[m] && hop[m][v] == eff;
            CHECKF((dist[v] == UINT32_MAX) == (edist[v] == UINT32_MAX), "graph %lu: node %u reached %d, expected %d",
                   id, v, dist[v] != UINT32_MAX, edist[v] != UINT32_MAX);
            if (dist[v] == UINT32_MAX)
                continue;
            uint32_t root = path_root(parent, v, n);
            CHECKF(root != PHD_NONE, "graph %lu: node %u: its parents do not end at a root", id, v);
            if (root == PHD_NONE)
                continue;
            if (eff == UINT32_MAX) {
                CHECKF(!is_mod[root] && dist[v] == edist[v], "graph %lu: node %u: no module reaches it, yet root %u dist %u",
                       id, v, root, dist[v]);
            } else if (effF != UINT32_MAX) {
                cov_from += dist[v] > 0 && hmin < effF;
                CHECKF(in_from[root] && dist[v] == effF, "graph %lu: node %u: --from path from %u of %u hops, expected %u",
                       id, v, root, dist[v], effF);
            } else {
                uint32_t cost = dist[v] + (user[root] ? 0 : PHD_BFS_USER_BONUS);
                CHECKF(is_mod[root] && cost == eff && (user[root] || !user_best),
                       "graph %lu%s: node %u: path from %u (%s) of %u hops, expected cost %u%s", id,
                       use_from ? " with --from" : "", v, root, user[root] ? "user" : "other", dist[v], eff,
                       user_best ? " from a user's module" : "");
                cov_pref_longer += user[root] && dist[v] > hmin;
            }
            if (parent[v] != PHD_NONE) {
                uint32_t p = parent[v], e = pedge[v];
                CHECKF((R->adj[p] & BIT(v)) && dist[p] + 1 == dist[v] && e < s->n_edges && s->edge_target[e] == v &&
                           s->edge_start[p] <= e && e < s->edge_start[p + 1] && phd_edge_retains(s, e),
                       "graph %lu: node %u: parent %u / edge %u inconsistent", id, v, p, e);
            } else {
                CHECKF(dist[v] == 0 && g->root_kind[v], "graph %lu: node %u: no parent but dist %u", id, v, dist[v]);
            }
        }
    }
    memset(g->root_origin, 0, g->n_modules);
}

/* Property 3: SCCs against the transitive closure. */
static void check_scc(const struct phd_graph *g, const struct ref *R, unsigned long id)
{
    uint32_t n = R->n;
    bits reach[MAXN];
    for (uint32_t v = 0; v < n; v++)
        reach[v] = R->adj[v] | BIT(v);
    for (uint32_t k = 0; k < n; k++) /* Warshall */
        for (uint32_t i = 0; i < n; i++)
            if (reach[i] & BIT(k))
                reach[i] |= reach[k];
    uint32_t comp[MAXN];
    for (uint32_t v = 0; v < n; v++)
        comp[v] = 0xdeadbeef;
    int64_t nc = phd_graph_scc(g, comp);
    uint32_t nexp = 0;
    for (uint32_t v = 0; v < n; v++) {
        int first = 1;
        for (uint32_t u = 0; u < v; u++)
            if ((reach[u] & BIT(v)) && (reach[v] & BIT(u)))
                first = 0;
        nexp += first;
        if (!first && popcount64(reach[v]) > 1)
            cov_big_scc++;
    }
    CHECKF(nc == (int64_t)nexp, "graph %lu: %" PRId64 " components, expected %u", id, nc, nexp);
    bits ids = 0;
    int ok = 1;
    for (uint32_t v = 0; v < n; v++) {
        if (comp[v] >= 64) {
            ok = 0;
            continue;
        }
        ids |= BIT(comp[v]);
        for (uint32_t u = 0; u < n; u++) {
            int same = (reach[u] & BIT(v)) && (reach[v] & BIT(u));
            if (same != (comp[u] == comp[v])) {
                CHECKF(0, "graph %lu: nodes %u and %u: mutually reachable %d, same component %d", id, u, v, same,
                       comp[u] == comp[v]);
                ok = 0;
            }
        }
    }
    CHECKF(ok && popcount64(ids) == (int)nexp && (nc <= 0 || nc >= 64 || ids == (BIT(nc) - 1)),
           "graph %lu: component ids are not 0..%" PRId64 "-1", id, nc);
}

/* Property 4: dominators by iterative dataflow on dominator sets. */
static void check_dominators(const struct phd_graph *g, const struct phd_snapshot *s, const struct ref *R,
                             unsigned long id)
{
    uint32_t n = R->n;
    /* reachable from the super-root */
    bits reach = R->roots, cur = R->roots;
    while (cur) {
        bits next = 0;
        for (uint32_t v = 0; v < n; v++)
            if (cur & BIT(v))
                next |= R->adj[v];
        cur = next & ~reach;
        reach |= next;
    }
    bits dom[64] = {0};
    dom[SUPER] = BIT(SUPER);
    for (uint32_t v = 0; v < n; v++)
        dom[v] = (reach & BIT(v)) ? reach | BIT(SUPER) : 0;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t v = 0; v < n; v++) {
            if (!(reach & BIT(v)))
                continue;
            bits x = ~(bits)0;
            if (R->roots & BIT(v))
                x &= dom[SUPER];
            for (uint32_t p = 0; p < n; p++)
                if ((R->pred[v] & BIT(p)) && (reach & BIT(p)))
                    x &= dom[p];
            x |= BIT(v);
            if (x != dom[v]) {
                dom[v] = x;
                changed = 1;
            }
        }
    }
    uint32_t idom[MAXN + 1]; /* n + 1: the algorithm's scratch space */
    uint64_t retained[MAXN + 1];
    for (uint32_t v = 0; v < n; v++) {
        idom[v] = 0xdeadbeef;
        retained[v] = 0xdeadbeef;
    }
    CHECK(phd_graph_dominators(g, idom, retained) == 0);
    for (uint32_t v = 0; v < n; v++) {
        uint32_t eidom = PHD_NONE;
        uint64_t eret = 0;
        if (reach & BIT(v)) {
            bits strict = dom[v] & ~BIT(v);
            int want = popcount64(strict);
            uint32_t d = PHD_NONE;
            for (uint32_t c = 0; c < 64; c++)
                if ((strict & BIT(c)) && popcount64(dom[c]) == want)
                    d = c;
            eidom = d == SUPER ? PHD_NONE : d;
            for (uint32_t w = 0; w < n; w++)
                if (dom[w] & BIT(v))
                    eret += phd_snapshot_size(s, w);
            cov_idom += eidom != PHD_NONE;
            cov_ret_nontrivial += eret > phd_snapshot_size(s, v);
        }
        CHECKF(idom[v] == eidom, "graph %lu: idom[%u] = %u, expected %u", id, v, idom[v], eidom);
        CHECKF(retained[v] == eret, "graph %lu: retained[%u] = %" PRIu64 ", expected %" PRIu64, id, v, retained[v],
               eret);
    }
    /* retained may be NULL */
    uint32_t idom2[MAXN + 1];
    CHECK(phd_graph_dominators(g, idom2, NULL) == 0 && memcmp(idom, idom2, n * sizeof *idom) == 0);
}

static void test_random(unsigned ngraphs, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed);
    unsigned long with_unknown = 0, with_modules = 0, with_weak = 0, unreachable_named = 0;
    for (unsigned long id = 0; id < ngraphs; id++) {
        struct phd_snapshot *s = random_snapshot(&r);
        struct phd_graph *g = NULL;
        struct phd_error err = {0};
        if (phd_graph_build(&g, s, &err) != 0 || !g) {
            CHECKF(0, "graph %lu: phd_graph_build failed", id);
            t_snapshot_free(&s);
            continue;
        }
        t_passed++;
        struct ref R;
        ref_build(&R, s);
        check_build(g, s, &R, id);
        check_bfs(g, s, &R, id);
        check_bfs_pref(g, s, &R, &r, id);
        check_scc(g, &R, id);
        check_dominators(g, s, &R, id);

        /* coverage of the generator */
        int unk = 0, mod = 0, weak = 0;
        for (uint32_t v = 0; v < s->n_nodes; v++) {
            unk |= R.kind[v] == PHD_ROOT_UNKNOWN;
            mod |= R.kind[v] == PHD_ROOT_MODULE;
        }
        for (uint64_t e = 0; e < s->n_edges; e++)
            weak |= !phd_edge_retains(s, e);
        with_unknown += unk;
        with_modules += mod;
        with_weak += weak;
        uint32_t d[MAXN];
        int ph[MAXN];
        ref_bfs(&R, 1, d, ph);
        for (uint32_t v = 0; v < s->n_nodes; v++)
            if (d[v] == UINT32_MAX) {
                unreachable_named++;
                break;
            }
        phd_graph_free(&g);
        CHECK(g == NULL);
        t_snapshot_free(&s);
    }
    printf("random graphs: %u (%lu with unknown holders, %lu with module roots, %lu with weak edges, "
           "%lu with nodes unreachable from named roots)\n",
           ngraphs, with_unknown, with_modules, with_weak, unreachable_named);
    printf("  nodes first reached at distance > 0 in phase modules/named/unknown: %lu/%lu/%lu; "
           "nodes in a cycle: %lu; with a non-root immediate dominator: %lu; retaining more than themselves: %lu\n",
           cov_phase_dist[0], cov_phase_dist[1], cov_phase_dist[2], cov_big_scc, cov_idom, cov_ret_nontrivial);
    printf("  user's module chosen over a shorter path: %lu nodes; --from over a shorter path: %lu\n", cov_pref_longer,
           cov_from);
    CHECK(cov_pref_longer > ngraphs / 20 && cov_from > ngraphs / 20);
    CHECK(with_unknown > ngraphs / 4 && with_modules > ngraphs / 4 && with_weak > ngraphs / 4 &&
          unreachable_named > ngraphs / 8);
    CHECK(cov_phase_dist[0] > ngraphs && cov_phase_dist[1] > ngraphs && cov_phase_dist[2] > ngraphs &&
          cov_big_scc > ngraphs && cov_idom > ngraphs && cov_ret_nontrivial > ngraphs);
}

/* A few hand-checked small graphs, so that a bug in the generator or the
 * references cannot hide one in the code under test. */
static void test_small_fixed(void)
{
    /* 0 -> 1 -> 2 -> 3, 0 -> 2 (weak), 3 -> 1, 4 -> 3; FRAME root 0,
     * refcnt of 4 is 1 (unknown holder); 5 isolated. */
    struct phd_snapshot *s = t_snapshot_new(&g_tab, "fixed", 6, 6, 1);
    static const uint32_t src[] = {0, 0, 1, 2, 3, 4}, dst[] = {1, 2, 2, 3, 1, 3};
    for (uint64_t e = 0; e < 6; e++) {
        s->edge_target[e] = dst[e];
        s->edge_label[e] = PHD_LABEL_MAKE(e == 1 ? PHD_LABEL_WEAK : PHD_LABEL_NONE, 0);
    }
    for (uint32_t u = 0, e = 0; u <= 6; u++) {
        while (e < 6 && src[e] < u)
            e++;
        s->edge_start[u] = e;
    }
    for (uint32_t v = 0; v < 6; v++)
        s->size[v] = 10u << v;
    s->refcnt[4] = 1;
    s->refcnt[1] = 2;
    s->roots[0] = (struct phd_root){.kind = PHD_ROOT_FRAME, .node = 0, .name = UINT32_MAX};
    struct phd_graph *g;
    struct phd_error err = {0};
    CHECK(phd_graph_build(&g, s, &err) == 0);
    CHECK(g->n_roots == 2 && g->roots[0] == 0 && g->roots[1] == 4 && g->n_unknown == 1);
    CHECK(g->root_kind[0] == PHD_ROOT_FRAME && g->root_kind[4] == PHD_ROOT_UNKNOWN && g->root_kind[1] == 0);
    uint32_t dist[6], parent[6], comp[6], idom[7]; /* idom: n + 1 entries */
    uint64_t ret[7]; /* n + 1 entries: the algorithm's scratch space */
    phd_graph_bfs(g, 0, parent, dist);
    CHECK(dist[0] == 0 && dist[1] == 1 && dist[2] == 2 && dist[3] == 3 && dist[4] == 0 && dist[5] == UINT32_MAX);
    CHECK(parent[1] == 0 && parent[2] == 1 && parent[3] == 2 && parent[4] == PHD_NONE);
    phd_graph_bfs(g, 1, parent, dist);
    CHECK(dist[3] == 3 && dist[4] == UINT32_MAX);
    CHECK(phd_graph_scc(g, comp) == 4);
    CHECK(comp[1] == comp[2] && comp[2] == comp[3] && comp[0] != comp[1] && comp[4] != comp[1] && comp[5] != comp[0]);
    CHECK(phd_graph_dominators(g, idom, ret) == 0);
    /* 3 is reached from 2 (via 0) and from the root 4, and 1 from 0 and
     * (via 4 -> 3) from 4: only the super-root dominates them */
    CHECK(idom[0] == PHD_NONE && idom[1] == PHD_NONE && idom[2] == 1 && idom[3] == PHD_NONE && idom[4] == PHD_NONE &&
          idom[5] == PHD_NONE);
    CHECK(ret[0] == 10 && ret[1] == 20 + 40 && ret[2] == 40 && ret[3] == 80 && ret[4] == 160 && ret[5] == 0);
    phd_graph_free(&g);
    t_snapshot_free(&s);

    /* the empty snapshot */
    s = t_snapshot_new(&g_tab, "empty", 0, 0, 0);
    CHECK(phd_graph_build(&g, s, &err) == 0 && g->n == 0 && g->n_roots == 0);
    CHECK(phd_graph_bfs(g, 0, parent, dist) == 0);
    CHECK(phd_graph_scc(g, comp) == 0);
    CHECK(phd_graph_dominators(g, idom, ret) == 0);
    phd_graph_free(&g);
    t_snapshot_free(&s);
}

/* ---- property 5: long chains --------------------------------------------- */

static void test_long(uint32_t n, int cycle)
{
    uint64_t m = cycle ? n : n - 1;
    struct phd_snapshot *s = t_snapshot_new(&g_tab, cycle ? "cycle" : "chain", n, m, 1);
    for (uint32_t v = 0; v < n; v++) {
        s->edge_start[v] = v;
        if (v < m)
            s->edge_target[v] = v + 1 == n ? 0 : v + 1;
        s->size[v] = 1;
        s->refcnt[v] = 1;
    }
    s->edge_start[n] = m;
    s->roots[0] = (struct phd_root){.kind = PHD_ROOT_FRAME, .node = 0, .name = UINT32_MAX};
    struct phd_graph *g;
    struct phd_error err = {0};
    CHECK(phd_graph_build(&g, s, &err) == 0);
    /* chain: node 0 has refcnt 1 and no referrer, but is a FRAME root first */
    CHECKF(g->n_roots == 1 && g->roots[0] == 0 && g->n_unknown == 0, "%s: %u roots", s->path, g->n_roots);
    uint32_t *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b);
    uint64_t *ret = malloc((n + 1) * sizeof *ret);
    CHECK(phd_graph_bfs(g, 0, a, b) == 0);
    CHECKF(b[n - 1] == n - 1 && a[n - 1] == n - 2 && b[0] == 0 && a[0] == PHD_NONE, "%s: dist of the last node %u",
           s->path, b[n - 1]);
    int64_t nc = phd_graph_scc(g, a);
    CHECKF(nc == (cycle ? 1 : (int64_t)n), "%s: %" PRId64 " components", s->path, nc);
    if (!cycle)
        CHECK(a[0] != a[1] && a[n - 2] != a[n - 1]);
    CHECK(phd_graph_dominators(g, a, ret) == 0);
    int ok = a[0] == PHD_NONE;
    for (uint32_t k = 1; k < n; k++)
        ok &= a[k] == k - 1;
    CHECKF(ok, "%s: idom of node k is not k - 1", s->path);
    CHECKF(ret[0] == n && ret[n - 1] == 1 && ret[n / 2] == n - n / 2, "%s: retained[0] = %" PRIu64, s->path, ret[0]);
    phd_graph_free(&g);
    free(a);
    free(b);
    free(ret);

    /* a long back edge: last -> 1 makes the semidominator search of node 1
     * evaluate (and path-compress) the whole chain */
    if (!cycle) {
        s->n_edges = m + 1;
        s->edge_target = realloc(s->edge_target, (m + 1) * sizeof *s->edge_target);
        s->edge_label = realloc(s->edge_label, (m + 1) * sizeof *s->edge_label);
        s->edge_target[m] = 1;
        s->edge_label[m] = PHD_LABEL_MAKE(PHD_LABEL_NONE, 0);
        s->edge_start[n] = m + 1;
        CHECK(phd_graph_build(&g, s, &err) == 0);
        a = malloc((n + 1) * sizeof *a);
        CHECK(phd_graph_scc(g, a) == 2);
        CHECK(phd_graph_dominators(g, a, NULL) == 0);
        ok = a[0] == PHD_NONE;
        for (uint32_t k = 1; k < n; k++)
            ok &= a[k] == k - 1;
        CHECKF(ok, "chain with a back edge: idom of node k is not k - 1");
        phd_graph_free(&g);
        free(a);
    }
    t_snapshot_free(&s);
}

/* ---- labels and descriptions --------------------------------------------- */

/* Appends a preview record ((len << 1) then the bytes, or (sid << 1) | 1) to
 * the map and points node v's preview at it. */
static void add_preview(struct phd_snapshot *s, unsigned char *map, size_t *len, uint32_t v, const char *text,
                        int sid)
{
    s->preview[v] = *len;
    unsigned char *p = map + *len;
    if (sid >= 0) {
        p = phd_varint_put(p, ((uint64_t)sid << 1) | 1);
    } else {
        size_t l = strlen(text);
        p = phd_varint_put(p, (uint64_t)l << 1);
        memcpy(p, text, l);
        p += l;
    }
    *len = (size_t)(p - map);
}

static void check_str(const char *what, const char *got, const char *want)
{
    CHECKF(strcmp(got, want) == 0, "%s: \"%s\", expected \"%s\"", what, got, want);
}

static void test_text(void)
{
    /*
     * 0 dict (sys.modules)   1 str 'app.events'   2 module (preview: string id "app.events")
     * 3 object               4 str (60 chars)     5 int 42
     * 6 type Foo             7 str "a\tb\x7f"     8 function (preview: string id "handler")
     * 9 object, no preview   10 dict, no preview
     */
    enum { N = 11 };
    static const uint32_t types[N] = {T_DICT, T_STR,    T_MODULE, T_OBJECT, T_STR,  T_INT,
                                      T_TYPE, T_STR,    T_FUNCTION, T_OBJECT, T_DICT};
    struct {
        uint32_t src, dst, label;
        const char *text, *folded;
    } edges[] = {
        {0, 1, PHD_LABEL_MAKE(PHD_LABEL_KEY, 0), "<key>", "<key>"},
        {0, 2, PHD_LABEL_MAKE(PHD_LABEL_VALUE, 1), "['app.events']", "['app.events']"},
        {0, 5, PHD_LABEL_MAKE(PHD_LABEL_KEY, 0), "<key>", "<key>"},
        {0, 3, PHD_LABEL_MAKE(PHD_LABEL_VALUE, 5), "[42]", "[42]"},
        {0, 9, PHD_LABEL_MAKE(PHD_LABEL_KEY, 0), "<key>", "<key>"},
        {0, 3, PHD_LABEL_MAKE(PHD_LABEL_VALUE, 9), "[<object>]", "[<object>]"},
        {0, 4, PHD_LABEL_MAKE(PHD_LABEL_KEY, 0), "<key>", "<key>"},
        {0, 10, PHD_LABEL_MAKE(PHD_LABEL_VALUE, 4), "['0123456789abcdefghijklmnopqrstuvwxyzABCD...']",
         "['0123456789abcdefghijklmnopqrstuvwxyzABCD...']"},
        {0, 7, PHD_LABEL_MAKE(PHD_LABEL_KEY, 0), "<key>", "<key>"},
        {0, 8, PHD_LABEL_MAKE(PHD_LABEL_VALUE, 7), "['a?b?']", "['a?b?']"},
        {3, 9, PHD_LABEL_MAKE(PHD_LABEL_WEAK, 0), "<weak>", "<weak>"},
        {3, 9, PHD_LABEL_MAKE(PHD_LABEL_INDEX, 3), "[3]", "[*]"},
        {3, 10, PHD_LABEL_MAKE(PHD_LABEL_INDEX, 12345), "[12345]", "[*]"},
        {3, 5, PHD_LABEL_MAKE(PHD_LABEL_NAME, S_NAME), ".name", ".name"},
        {3, 10, PHD_LABEL_MAKE(PHD_LABEL_NAME, S_DICT), ".__dict__", ".__dict__"},
        {3, 2, PHD_LABEL_MAKE(PHD_LABEL_WEAK, 0), "<weak>", "<weak>"},
        {3, 6, PHD_LABEL_MAKE(PHD_LABEL_TYPE, 0), ".__class__", ".__class__"},
        {3, 7, PHD_LABEL_MAKE(PHD_LABEL_NONE, 0), "", ""},
        {8, 8, PHD_LABEL_MAKE(PHD_LABEL_NAME, S_X), ".x", ".x"},
    };
    enum { M = sizeof edges / sizeof edges[0] };
    struct phd_snapshot *s = t_snapshot_new(&g_tab, "text", N, M, 1);
    for (uint32_t v = 0; v < N; v++) {
        s->type[v] = types[v];
        s->size[v] = 100 + v;
    }
    uint32_t u = 0;
    for (uint64_t e = 0; e < M; e++) {
        while (u <= edges[e].src)
            s->edge_start[u++] = e;
        s->edge_target[e] = edges[e].dst;
        s->edge_label[e] = edges[e].label;
    }
    while (u <= N)
        s->edge_start[u++] = M;
    s->roots[0] = (struct phd_root){.kind = PHD_ROOT_MODULES, .node = 0, .name = UINT32_MAX};

    /* previews: offset 0 means "none", so the map starts with a pad byte */
    static unsigned char map[1024];
    size_t len = 1;
    s->preview = calloc(N, sizeof *s->preview);
    add_preview(s, map, &len, 1, "app.events", -1);
    add_preview(s, map, &len, 2, NULL, S_APP_EVENTS);
    add_preview(s, map, &len, 4, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX", -1);
    add_preview(s, map, &len, 5, "42", -1);
    add_preview(s, map, &len, 6, "Foo", -1);
    add_preview(s, map, &len, 7, "a\tb\x7f", -1);
    add_preview(s, map, &len, 8, NULL, S_HANDLER);
    s->map = map;
    s->map_len = len;
    s->hdr.flags = PHD_HDR_VALUES;

    char buf[128];
    for (uint64_t e = 0; e < M; e++) {
        char what[64];
        snprintf(what, sizeof what, "label of edge %" PRIu64, e);
        phd_graph_label(s, e, 0, buf, sizeof buf);
        check_str(what, buf, edges[e].text);
        snprintf(what, sizeof what, "folded label of edge %" PRIu64, e);
        phd_graph_label(s, e, 1, buf, sizeof buf);
        check_str(what, buf, edges[e].folded);
    }
    /* a short buffer truncates, NUL-terminated */
    memset(buf, 'Z', sizeof buf);
    phd_graph_label(s, 12, 0, buf, 4);
    check_str("label in 4 bytes", buf, "[12");

    static const char *const desc[N] = {"dict",
                                        "str 'app.events'",
                                        "module app.events",
                                        "object",
                                        "str '0123456789abcdefghijklmnopqrstuvwxyzABCD...'",
                                        "int 42",
                                        "class Foo",
                                        "str 'a?b?'",
                                        "function handler",
                                        "object",
                                        "dict"};
    for (uint32_t v = 0; v < N; v++) {
        char what[64];
        snprintf(what, sizeof what, "description of node %u", v);
        phd_graph_describe(s, v, buf, sizeof buf);
        check_str(what, buf, desc[v]);
    }
    phd_graph_describe(s, 2, buf, 8);
    check_str("description in 8 bytes", buf, "module ");

    /* edge_between: the first retaining edge, never a weak one */
    CHECK(phd_graph_edge_between(s, 0, 2) == 1);
    CHECK(phd_graph_edge_between(s, 0, 3) == 3);  /* first of two */
    CHECK(phd_graph_edge_between(s, 3, 9) == 11); /* the weak edge 10 comes first */
    CHECK(phd_graph_edge_between(s, 3, 10) == 12);
    CHECK(phd_graph_edge_between(s, 3, 2) == UINT64_MAX); /* weak only */
    CHECK(phd_graph_edge_between(s, 2, 0) == UINT64_MAX);
    CHECK(phd_graph_edge_between(s, 8, 8) == 18);
    CHECK(phd_graph_edge_between(s, 9, 9) == UINT64_MAX);

    /* the module in sys.modules is a root of kind MODULE; the dict's other
     * VALUE targets are not modules */
    struct phd_graph *g;
    struct phd_error err = {0};
    CHECK(phd_graph_build(&g, s, &err) == 0);
    CHECK(g->root_kind[2] == PHD_ROOT_MODULE && phd_graph_root_record(g, 2) == 0 && g->roots[0] == 2);
    CHECK(g->root_kind[0] == PHD_ROOT_MODULES && phd_graph_root_record(g, 0) == 0 && g->n_roots == 2);
    CHECK(g->root_kind[3] == 0 && g->root_kind[8] == 0 && g->root_kind[10] == 0);
    phd_graph_free(&g);
    phd_graph_free(&g); /* NULL: no-op */

    check_str("kind name 7", phd_graph_root_kind_name(PHD_ROOT_MODULE), "module");
    check_str("kind name 8", phd_graph_root_kind_name(PHD_ROOT_UNKNOWN), "unknown holder");
    check_str("kind name 1", phd_graph_root_kind_name(PHD_ROOT_MODULES), "modules");
    check_str("kind name 6", phd_graph_root_kind_name(PHD_ROOT_FRAME), "frame");
    t_snapshot_free(&s);
}

/* Property 7: where each module comes from.  A hand-made snapshot of
 * modules, each a module node with a preview (its name), a __dict__ and
 * in it __file__ and __loader__ when the case has them; types with
 * recorded origins for the modules that define some. */
static void test_module_origins(void)
{
    enum { MT_OBJECT, MT_MODULE, MT_DICT, MT_STR, MT_TYPE, MT_NONE, MT_USER, MT_STDLIB, MT_MIXED_A, MT_MIXED_B,
           MT_THIRD, N_MT };
    static const char *strs[] = {"object", "module", "dict", "str", "type", "NoneType", "app.models.User",
                                 "logging.Logger", "mixed.A", "mixed.B", "pandas.core.frame.DataFrame",
                                 "__dict__", "BuiltinImporter", "__main__", "app", "app.util", "logging",
                                 "posixpath", "helpers", "six", "sys", "far", "cython_runtime", "mixed",
                                 "pyheapdiff.track", "pandas.io"};
    enum { N_STRS = sizeof strs / sizeof strs[0], S_DICTNAME = 11, S_BUILTIN = 12, S_MODNAMES = 13 };
    static uint32_t lens[N_STRS];
    static struct phd_type mtypes[N_MT];
    static const uint8_t morigin[N_MT] = {[MT_USER] = PHD_ORIGIN_USER, [MT_STDLIB] = PHD_ORIGIN_STDLIB,
                                          [MT_MIXED_A] = PHD_ORIGIN_USER, [MT_MIXED_B] = PHD_ORIGIN_THIRD_PARTY,
                                          [MT_THIRD] = PHD_ORIGIN_THIRD_PARTY};
    for (uint32_t i = 0; i < N_STRS; i++)
        lens[i] = (uint32_t)strlen(strs[i]);
    for (uint32_t i = 0; i < N_MT; i++)
        mtypes[i] = (struct phd_type){.name = i, .node = UINT32_MAX, .default_size = 16, .origin = morigin[i]};
    /* name (a string id), __file__ or NULL, loader: 0 none, 1 BuiltinImporter, 2 __file__ = None */
    static const struct {
        int name;
        const char *file;
        int loader;
        uint8_t want, want_novalues;
    } mods[] = {
        {13, "/home/u/proj/main.py", 0, PHD_ORIGIN_USER, PHD_ORIGIN_USER},              /* __main__ */
        {14, "/home/u/proj/app/__init__.py", 0, PHD_ORIGIN_USER, PHD_ORIGIN_USER},      /* types under app. */
        {15, "/home/u/proj/app/util.py", 0, PHD_ORIGIN_USER, PHD_ORIGIN_USER},          /* its package's */
        {16, "/usr/lib/python3.11/logging/__init__.py", 0, PHD_ORIGIN_STDLIB, PHD_ORIGIN_STDLIB},
        {17, "/usr/lib/python3.11/posixpath.py", 0, PHD_ORIGIN_STDLIB, PHD_ORIGIN_UNKNOWN}, /* no types: file */
        {18, "/home/u/proj/helpers.py", 0, PHD_ORIGIN_USER, PHD_ORIGIN_UNKNOWN},
        {19, "/v/lib/python3.11/site-packages/six.py", 0, PHD_ORIGIN_THIRD_PARTY, PHD_ORIGIN_UNKNOWN},
        {20, NULL, 1, PHD_ORIGIN_STDLIB, PHD_ORIGIN_UNKNOWN},                          /* sys: built in */
        {21, NULL, 0, PHD_ORIGIN_USER, PHD_ORIGIN_UNKNOWN},                            /* made at run time */
        {22, NULL, 0, PHD_ORIGIN_THIRD_PARTY, PHD_ORIGIN_UNKNOWN},                     /* Cython's */
        {23, "/home/u/proj/mixed.py", 0, PHD_ORIGIN_USER, PHD_ORIGIN_UNKNOWN},         /* types disagree: file */
        {24, "/home/u/proj/pyheapdiff/track.py", 0, PHD_ORIGIN_THIRD_PARTY, PHD_ORIGIN_THIRD_PARTY},
        {25, NULL, 2, PHD_ORIGIN_THIRD_PARTY, PHD_ORIGIN_THIRD_PARTY},                 /* pandas.io: pandas's types */
    };
    enum { NM = sizeof mods / sizeof mods[0] };
    /* nodes per module: module, dict, key "__file__", its value, key "__loader__", the loader */
    enum { PER = 6, N = NM * PER + 1 };
    uint32_t n_edges = 0;
    static uint32_t src[N * 4], dst[N * 4], lab[N * 4];
    struct phd_snapshot *s = t_snapshot_new(&g_tab, "modules", N, N * 4, 0);
    s->str = strs;
    s->str_len = lens;
    s->n_strings = N_STRS;
    s->types = mtypes;
    s->n_types = N_MT;
    static unsigned char map[8192];
    size_t len = 1;
    s->preview = calloc(N, sizeof *s->preview);
    uint32_t modnodes[NM];
    for (uint32_t k = 0; k < NM; k++) {
        uint32_t m = k * PER, d = m + 1, fk = m + 2, fv = m + 3, lk = m + 4, lv = m + 5;
        modnodes[k] = m;
        s->type[m] = MT_MODULE;
        s->type[d] = MT_DICT;
        s->type[fk] = s->type[lk] = MT_STR;
        s->type[fv] = mods[k].loader == 2 ? MT_NONE : MT_STR;
        s->type[lv] = MT_TYPE;
        add_preview(s, map, &len, m, NULL, mods[k].name);
        add_preview(s, map, &len, fk, "__file__", -1);
        add_preview(s, map, &len, lk, "__loader__", -1);
        add_preview(s, map, &len, lv, NULL, S_BUILTIN);
        if (mods[k].file)
            add_preview(s, map, &len, fv, mods[k].file, -1);
        src[n_edges] = m, dst[n_edges] = d, lab[n_edges++] = PHD_LABEL_MAKE(PHD_LABEL_NAME, S_DICTNAME);
        if (mods[k].file || mods[k].loader == 2) {
            src[n_edges] = d, dst[n_edges] = fk, lab[n_edges++] = PHD_LABEL_MAKE(PHD_LABEL_KEY, 0);
            src[n_edges] = d, dst[n_edges] = fv, lab[n_edges++] = PHD_LABEL_MAKE(PHD_LABEL_VALUE, fk);
        }
        if (mods[k].loader == 1) {
            src[n_edges] = d, dst[n_edges] = lk, lab[n_edges++] = PHD_LABEL_MAKE(PHD_LABEL_KEY, 0);
            src[n_edges] = d, dst[n_edges] = lv, lab[n_edges++] = PHD_LABEL_MAKE(PHD_LABEL_VALUE, lk);
        }
    }
    s->map = map;
    s->map_len = len;
    s->n_edges = n_edges;
    uint32_t u = 0;
    for (uint32_t e = 0; e < n_edges; e++) {
        while (u <= src[e])
            s->edge_start[u++] = e;
        s->edge_target[e] = dst[e];
        s->edge_label[e] = lab[e];
    }
    while (u <= N)
        s->edge_start[u++] = n_edges;
    for (int values = 1; values >= 0; values--) {
        s->hdr.flags = values ? PHD_HDR_VALUES : 0;
        uint8_t got[NM];
        CHECK(phd_module_origins(s, modnodes, NM, got) == 0);
        for (uint32_t k = 0; k < NM; k++) {
            uint8_t want = values ? mods[k].want : mods[k].want_novalues;
            CHECKF(got[k] == want, "module %s (values %d): origin %s, expected %s", strs[mods[k].name], values,
                   phd_origin_name(got[k]), phd_origin_name(want));
        }
    }
    t_snapshot_free(&s);
}

/* test_graph [graphs [seed]]: more random graphs or another seed, for a
 * longer search; meson runs the defaults. */
int main(int argc, char **argv)
{
    unsigned ngraphs = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 2000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 20261125;
    t_tables_init(&g_tab, g_strings, (uint32_t)N_STRINGS, N_TYPES);
    test_small_fixed();
    test_text();
    test_module_origins();
    test_random(ngraphs, seed);
    test_long(1000000, 0);
    test_long(200000, 1);
    return t_summary("test_graph");
}
