/*
 * test_cycles.c - the cycle summaries (src/graph/cycles.c) against a plain
 * reference on thousands of small random graphs.
 *
 * The reference knows nothing of Tarjan or counting sorts: a reachability
 * matrix over the retaining references (Warshall's closure on 64-bit
 * rows, at most 64 objects) gives the components (u and v are one when
 * each reaches the other) and the cycles (a component of more than one
 * object, or an object that reaches itself: a self reference); what the
 * roots reach is a row of the same matrix.  Each cycle's summary is then
 * counted object by object and the cycles ordered by an insertion sort.
 * The example is checked to be a cycle through the first object, inside
 * its component, as short as the shortest one a plain breadth-first
 * search over the matrix finds, and spelled as the header says.
 *
 * Random graphs: 1..60 objects, weak references, self and duplicate
 * references, unknown holders, some graphs a ring with few chords (long
 * examples, elided), some with no root at all (garbage cycles).  Then a
 * hand-made snapshot whose text is checked in full, and a 1,000,000-object
 * ring and chain (nothing recursive, linear time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pyheapdiff/cycles.h"
#include "pyheapdiff/graph.h"
#include "testutil.h"

#define MAXN 60
typedef uint64_t bits;
#define BIT(v) ((bits)1 << (v))

enum { T_OBJECT, T_MODULE, T_STR, T_DICT, T_TYPE, T_INT, T_FUNCTION, N_TYPES };
static const char *g_strings[] = {"object", "module", "str", "dict", "type", "int", "function",
                                  "name", "next", "items"};
#define N_STRINGS (sizeof g_strings / sizeof g_strings[0])
enum { S_NAMES = 7 };
static struct t_tables g_tab;

/* What the random graphs exercised (checked to be non-trivial). */
static unsigned long cov_cycles, cov_self, cov_garbage, cov_elided, cov_filtered, cov_ties;

/* ---- random graphs ------------------------------------------------------ */

static uint32_t random_label(struct rng *r)
{
    switch (rng_below(r, 8)) {
    case 0:
        return PHD_LABEL_MAKE(PHD_LABEL_WEAK, 0);
    case 1:
    case 2:
        return PHD_LABEL_MAKE(PHD_LABEL_INDEX, rng_below(r, 5));
    case 3:
    case 4:
        return PHD_LABEL_MAKE(PHD_LABEL_NAME, S_NAMES + rng_below(r, N_STRINGS - S_NAMES));
    case 5:
        return PHD_LABEL_MAKE(PHD_LABEL_TYPE, 0);
    default:
        return PHD_LABEL_MAKE(PHD_LABEL_NONE, 0);
    }
}

static struct phd_snapshot *random_snapshot(struct rng *r)
{
    uint32_t n = 1 + (uint32_t)rng_below(r, MAXN);
    struct t_edge ed[MAXN * 8];
    uint64_t m = 0;
    int ring = rng_chance(r, 1, 4);
    unsigned maxdeg = 1 + (unsigned)rng_below(r, 3);
    if (ring) {
        for (uint32_t v = 0; v < n; v++)
            ed[m++] = (struct t_edge){v, (v + 1) % n, random_label(r)};
        for (uint32_t k = (uint32_t)rng_below(r, 3); k > 0; k--)
            ed[m++] = (struct t_edge){(uint32_t)rng_below(r, n), (uint32_t)rng_below(r, n), random_label(r)};
    } else {
        for (uint32_t u = 0; u < n; u++) {
            unsigned deg = (unsigned)rng_below(r, maxdeg + 1);
            for (unsigned k = 0; k < deg; k++) {
                uint32_t t = rng_chance(r, 1, 25) ? u : (uint32_t)rng_below(r, n);
                if (k && rng_chance(r, 1, 8))
                    t = ed[m - 1].dst; /* a duplicate */
                ed[m++] = (struct t_edge){u, t, random_label(r)};
            }
        }
    }
    uint32_t nroots = (uint32_t)rng_below(r, 3);
    struct phd_snapshot *s = t_snapshot_new(&g_tab, "random", n, 0, nroots);
    for (uint32_t i = 0; i < nroots; i++)
        s->roots[i] = (struct phd_root){.kind = PHD_ROOT_FRAME, .node = (uint32_t)rng_below(r, n), .thread_id = 1,
                                        .name = UINT32_MAX};
    /* few types, so that cycles share them and counts tie */
    uint32_t ntypes = 1 + (uint32_t)rng_below(r, N_TYPES);
    for (uint32_t v = 0; v < n; v++) {
        s->type[v] = (uint32_t)rng_below(r, ntypes);
        s->size[v] = rng_chance(r, 1, 10) ? 0 : 8 * (1 + rng_below(r, 4));
        s->total_size += s->size[v];
    }
    t_snapshot_set_edges(s, ed, m);
    for (uint32_t v = 0; v < n; v++)
        if (rng_chance(r, 1, 20))
            s->refcnt[v] += 1; /* an unknown holder */
    return s;
}

/* ---- the reference ------------------------------------------------------ */

struct ref_cycle {
    uint32_t first, count;
    uint64_t size;
    int reachable;
    bits members;
};

struct ref {
    uint32_t n;
    bits adj[MAXN];   /* retaining references */
    bits reach[MAXN]; /* paths of one reference or more */
    bits rooted;      /* what the roots reach, roots included */
    struct ref_cycle cyc[MAXN];
    uint32_t ncyc;
};

static void ref_build(struct ref *R, const struct phd_graph *g, const uint8_t *want)
{
    const struct phd_snapshot *s = g->s;
    uint32_t n = s->n_nodes;
    memset(R, 0, sizeof *R);
    R->n = n;
    for (uint32_t u = 0; u < n; u++)
        for (uint64_t e = s->edge_start[u]; e < s->edge_start[u + 1]; e++)
            if (phd_edge_retains(s, e))
                R->adj[u] |= BIT(s->edge_target[e]);
    memcpy(R->reach, R->adj, sizeof R->adj);
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < n; i++)
            if (R->reach[i] & BIT(k))
                R->reach[i] |= R->reach[k];
    for (uint32_t r = 0; r < g->n_roots; r++)
        R->rooted |= BIT(g->roots[r]) | R->reach[g->roots[r]];
    bits done = 0;
    for (uint32_t v = 0; v < n; v++) {
        if (done & BIT(v))
            continue;
        struct ref_cycle c = {.first = v, .members = BIT(v)};
        for (uint32_t w = v + 1; w < n; w++)
            if ((R->reach[v] & BIT(w)) && (R->reach[w] & BIT(v)))
                c.members |= BIT(w);
        done |= c.members;
        if (c.members == BIT(v) && !(R->reach[v] & BIT(v)))
            continue; /* one object, no self reference */
        int selected = !want;
        for (uint32_t w = v; w < n; w++) {
            if (!(c.members & BIT(w)))
                continue;
            c.count++;
            c.size += s->size[w];
            c.reachable |= (R->rooted & BIT(w)) != 0;
            selected |= want && want[s->type[w]];
        }
        if (selected)
            R->cyc[R->ncyc++] = c;
    }
    /* largest size first, then by first object: insertion sort */
    for (uint32_t i = 1; i < R->ncyc; i++)
        for (uint32_t j = i; j > 0; j--) {
            struct ref_cycle *a = &R->cyc[j - 1], *b = &R->cyc[j];
            if (a->size > b->size || (a->size == b->size && a->first < b->first))
                break;
            struct ref_cycle t = *a;
            *a = *b;
            *b = t;
        }
}

/* The length of a shortest cycle through v inside the objects `in`. */
static long ref_shortest_cycle(const struct ref *R, uint32_t v, bits in)
{
    bits frontier = R->adj[v] & in, seen = 0;
    for (long len = 1; frontier; len++) {
        if (frontier & BIT(v))
            return len;
        seen |= frontier;
        bits next = 0;
        for (uint32_t u = 0; u < R->n; u++)
            if (frontier & BIT(u))
                next |= R->adj[u] & in;
        frontier = next & ~(seen & ~BIT(v));
    }
    return 0;
}

/* The example's text spelled the plain way: every part in an array first. */
static void ref_text(const struct phd_snapshot *s, const uint32_t *chain, size_t hops, char *out, size_t cap)
{
    char node[MAXN + 1][300], hop[MAXN + 1][200];
    for (size_t i = 0; i <= hops; i++) {
        if (i == hops)
            snprintf(node[i], sizeof node[i], "%s", phd_snapshot_type_name(s, s->type[chain[i]]));
        else
            phd_graph_describe(s, chain[i], node[i], sizeof node[i]);
        hop[i][0] = 0;
        if (!i)
            continue;
        for (uint64_t e = s->edge_start[chain[i - 1]]; e < s->edge_start[chain[i - 1] + 1]; e++)
            if (s->edge_target[e] == chain[i] && PHD_LABEL_KIND(s->edge_label[e]) != PHD_LABEL_WEAK) {
                phd_graph_label(s, e, 0, hop[i], sizeof hop[i]);
                break;
            }
    }
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; i <= hops; i++) {
        int shown = hops <= 8 || i <= 3 || i >= hops - 2;
        if (!shown)
            continue;
        if (i)
            len += (size_t)snprintf(out + len, cap - len, "%s%s → ", hop[i][0] ? " " : "", hop[i]);
        len += (size_t)snprintf(out + len, cap - len, "%s", node[i]);
        if (hops > 8 && i == 3)
            len += (size_t)snprintf(out + len, cap - len, " → ... (%zu more) ...", hops - 6);
    }
}

/* ---- the checks --------------------------------------------------------- */

static void check_types(struct phd_cycles *c, size_t k, const struct ref_cycle *rc, unsigned long id)
{
    const struct phd_snapshot *s = c->g->s;
    struct phd_cycle_type *t = NULL;
    long nt = phd_cycles_types(c, k, &t);
    CHECKF(nt > 0, "graph %lu: cycle %zu: %ld types", id, k, nt);
    if (nt <= 0)
        return;
    /* counted from the members; listed once each; most objects first */
    uint32_t want[N_TYPES] = {0}, first[N_TYPES];
    long distinct = 0;
    for (uint32_t v = 0; v < s->n_nodes; v++)
        if ((rc->members & BIT(v)) && !want[s->type[v]]++)
            first[distinct++] = s->type[v];
    CHECKF(nt == distinct, "graph %lu: cycle %zu: %ld types, want %ld", id, k, nt, distinct);
    for (long i = 0; i < nt && i < distinct; i++) {
        CHECKF(t[i].type < N_TYPES && t[i].count == want[t[i].type], "graph %lu: type %u counted %u, want %u", id,
               t[i].type, t[i].count, t[i].type < N_TYPES ? want[t[i].type] : 0);
        if (t[i].type < N_TYPES)
            want[t[i].type] = 0; /* a second listing fails the check above */
        CHECK(i == 0 || t[i - 1].count >= t[i].count);
    }
    /* the order of ties: the order of their first objects (a stable
     * insertion sort by count) */
    struct phd_cycle_type o[N_TYPES];
    int tie = 0;
    for (long i = 0; i < distinct; i++) {
        o[i].type = first[i];
        o[i].count = 0;
        for (uint32_t v = 0; v < s->n_nodes; v++)
            o[i].count += (rc->members & BIT(v)) && s->type[v] == first[i];
    }
    for (long i = 1; i < distinct; i++) {
        struct phd_cycle_type x = o[i];
        long j = i;
        for (; j > 0 && o[j - 1].count < x.count; j--)
            o[j] = o[j - 1];
        o[j] = x;
    }
    for (long i = 1; i < distinct; i++)
        tie |= o[i - 1].count == o[i].count;
    cov_ties += tie;
    for (long i = 0; i < nt && i < distinct; i++)
        CHECKF(t[i].type == o[i].type, "graph %lu: cycle %zu: type %ld is %u, want %u", id, k, i, t[i].type,
               o[i].type);
    free(t);
}

static void check_example(struct phd_cycles *c, size_t k, const struct ref *R, const struct ref_cycle *rc,
                          unsigned long id)
{
    const struct phd_snapshot *s = c->g->s;
    uint32_t *chain = NULL;
    long hops = phd_cycles_example(c, k, &chain);
    long want = ref_shortest_cycle(R, rc->first, rc->members);
    CHECKF(hops == want && want > 0, "graph %lu: cycle %zu: example of %ld hops, want %ld", id, k, hops, want);
    if (hops <= 0 || !chain)
        return;
    CHECK(chain[0] == rc->first && chain[hops] == rc->first);
    for (long i = 0; i < hops; i++)
        CHECKF((rc->members & BIT(chain[i])) && (R->adj[chain[i]] & BIT(chain[i + 1])),
               "graph %lu: hop %ld: %u -> %u", id, i, chain[i], chain[i + 1]);
    char *text = phd_cycles_example_text(s, chain, (size_t)hops);
    static char want_text[MAXN * 600];
    ref_text(s, chain, (size_t)hops, want_text, sizeof want_text);
    CHECKF(text && strcmp(text, want_text) == 0, "graph %lu: example\n  got  %s\n  want %s", id, text ? text : "?",
           want_text);
    cov_elided += hops > 8;
    free(text);
    free(chain);
}

static void check_graph(struct phd_snapshot *s, struct rng *r, unsigned long id)
{
    struct phd_graph *g = NULL;
    struct phd_error err;
    if (phd_graph_build(&g, s, &err) < 0) {
        CHECKF(0, "graph %lu: %s", id, err.msg);
        return;
    }
    uint8_t wantbuf[N_TYPES], *want = NULL;
    if (rng_chance(r, 1, 3)) {
        want = wantbuf;
        for (uint32_t t = 0; t < N_TYPES; t++)
            want[t] = (uint8_t)rng_chance(r, 1, 3);
    }
    static struct ref R;
    ref_build(&R, g, want);
    struct phd_cycles c;
    if (phd_cycles_find(&c, g, want, &err) < 0) {
        CHECKF(0, "graph %lu: %s", id, err.msg);
        phd_graph_free(&g);
        return;
    }
    CHECKF(c.n == R.ncyc, "graph %lu: %zu cycles, want %u", id, c.n, R.ncyc);
    uint64_t objects = 0, size = 0, unreachable = 0;
    for (size_t k = 0; k < c.n && k < R.ncyc; k++) {
        const struct phd_cycle *cy = &c.items[k];
        const struct ref_cycle *rc = &R.cyc[k];
        CHECKF(cy->first == rc->first && cy->count == rc->count && cy->size == rc->size &&
                   !cy->reachable == !rc->reachable,
               "graph %lu: cycle %zu: first %u count %u size %llu reachable %d, want %u %u %llu %d", id, k, cy->first,
               cy->count, (unsigned long long)cy->size, cy->reachable, rc->first, rc->count,
               (unsigned long long)rc->size, rc->reachable);
        uint32_t nm;
        const uint32_t *m = phd_cycles_members(&c, k, &nm);
        bits got = 0;
        int ascending = 1;
        for (uint32_t i = 0; i < nm; i++) {
            got |= BIT(m[i]);
            ascending &= i == 0 || m[i - 1] < m[i];
        }
        CHECKF(nm == rc->count && got == rc->members && ascending, "graph %lu: cycle %zu: members", id, k);
        objects += rc->count;
        size += rc->size;
        unreachable += !rc->reachable;
        cov_cycles++;
        cov_self += rc->count == 1;
        cov_garbage += !rc->reachable;
        cov_filtered += want != NULL;
        check_types(&c, k, rc, id);
        check_example(&c, k, &R, rc, id);
    }
    CHECKF(c.objects == objects && c.size == size && c.unreachable == unreachable,
           "graph %lu: totals %llu %llu %llu", id, (unsigned long long)c.objects, (unsigned long long)c.size,
           (unsigned long long)c.unreachable);
    phd_cycles_free(&c);
    CHECK(c.items == NULL && c.n == 0);
    phd_graph_free(&g);
}

/* ---- hand-made and large ------------------------------------------------- */

/* 0 frame root -> 1 dict; 1 ['x'-less: .name] -> 2 object [3] -> 1 (a
 * two-object cycle), 3 -> 3 (a self reference, garbage), 4 -> 5 -> 4 weak
 * (no cycle). */
static void test_fixed(void)
{
    struct phd_snapshot *s = t_snapshot_new(&g_tab, "fixed", 6, 0, 1);
    struct t_edge ed[] = {
        {0, 1, PHD_LABEL_MAKE(PHD_LABEL_NONE, 0)},         {1, 2, PHD_LABEL_MAKE(PHD_LABEL_NAME, S_NAMES)},
        {2, 1, PHD_LABEL_MAKE(PHD_LABEL_INDEX, 3)},        {3, 3, PHD_LABEL_MAKE(PHD_LABEL_NAME, S_NAMES + 1)},
        {4, 5, PHD_LABEL_MAKE(PHD_LABEL_NONE, 0)},         {5, 4, PHD_LABEL_MAKE(PHD_LABEL_WEAK, 0)},
    };
    uint32_t types[6] = {T_FUNCTION, T_DICT, T_OBJECT, T_INT, T_STR, T_STR};
    for (uint32_t v = 0; v < 6; v++) {
        s->type[v] = types[v];
        s->size[v] = 10 + v;
    }
    t_snapshot_set_edges(s, ed, sizeof ed / sizeof ed[0]);
    s->roots[0] = (struct phd_root){.kind = PHD_ROOT_FRAME, .node = 0, .thread_id = 1, .name = UINT32_MAX};
    struct phd_graph *g = NULL;
    struct phd_error err;
    CHECK(phd_graph_build(&g, s, &err) == 0);
    struct phd_cycles c;
    CHECK(phd_cycles_find(&c, g, NULL, &err) == 0);
    CHECKF(c.n == 2 && c.objects == 3 && c.size == 11 + 12 + 13 && c.unreachable == 1, "%zu cycles", c.n);
    if (c.n == 2) {
        CHECK(c.items[0].first == 1 && c.items[0].count == 2 && c.items[0].reachable);
        CHECK(c.items[1].first == 3 && c.items[1].count == 1 && !c.items[1].reachable);
        const char *want[2] = {"dict .name → object [3] → dict", "int .next → int"};
        for (size_t k = 0; k < 2; k++) {
            uint32_t *chain;
            long hops = phd_cycles_example(&c, k, &chain);
            char *text = hops > 0 ? phd_cycles_example_text(s, chain, (size_t)hops) : NULL;
            CHECKF(text && strcmp(text, want[k]) == 0, "cycle %zu: %s", k, text ? text : "?");
            free(text);
            free(chain);
        }
    }
    phd_cycles_free(&c);
    /* only the cycles with an int */
    uint8_t want[N_TYPES] = {[T_INT] = 1};
    CHECK(phd_cycles_find(&c, g, want, &err) == 0);
    CHECK(c.n == 1 && c.items[0].first == 3 && c.objects == 1 && c.unreachable == 1);
    phd_cycles_free(&c);
    phd_graph_free(&g);
    t_snapshot_free(&s);

    /* no objects at all */
    s = t_snapshot_new(&g_tab, "empty", 0, 0, 0);
    CHECK(phd_graph_build(&g, s, &err) == 0);
    CHECK(phd_cycles_find(&c, g, NULL, &err) == 0 && c.n == 0 && c.objects == 0);
    phd_cycles_free(&c);
    phd_graph_free(&g);
    t_snapshot_free(&s);
}

/* A ring of n objects (one cycle, its example n hops, elided) or a chain
 * (none): no recursion, linear time. */
static void test_long(uint32_t n, int ring)
{
    struct phd_snapshot *s = t_snapshot_new(&g_tab, ring ? "ring" : "chain", n, 0, 1);
    struct t_edge *ed = malloc((size_t)n * sizeof *ed);
    uint64_t m = 0;
    for (uint32_t v = 0; v < n; v++) {
        s->size[v] = 16;
        s->type[v] = v % 2 ? T_DICT : T_OBJECT;
        if (ring || v + 1 < n)
            ed[m++] = (struct t_edge){v, (v + 1) % n, PHD_LABEL_MAKE(PHD_LABEL_NAME, S_NAMES + 1)};
    }
    t_snapshot_set_edges(s, ed, m);
    free(ed);
    s->roots[0] = (struct phd_root){.kind = PHD_ROOT_FRAME, .node = 0, .thread_id = 1, .name = UINT32_MAX};
    struct phd_graph *g = NULL;
    struct phd_error err;
    CHECK(phd_graph_build(&g, s, &err) == 0);
    clock_t t0 = clock();
    struct phd_cycles c;
    CHECK(phd_cycles_find(&c, g, NULL, &err) == 0);
    CHECKF(c.n == (ring ? 1u : 0u), "%s: %zu cycles", s->path, c.n);
    if (ring && c.n == 1) {
        CHECK(c.items[0].count == n && c.items[0].size == 16 * (uint64_t)n && c.items[0].reachable);
        struct phd_cycle_type *t;
        CHECK(phd_cycles_types(&c, 0, &t) == 2 && t[0].count == n / 2 + n % 2);
        free(t);
        uint32_t *chain;
        long hops = phd_cycles_example(&c, 0, &chain);
        CHECKF(hops == (long)n, "%ld hops", hops);
        char *text = hops > 0 ? phd_cycles_example_text(s, chain, (size_t)hops) : NULL;
        char want[200];
        snprintf(want, sizeof want, "object .next → dict .next → object .next → dict → ... (%u more) ... .next → "
                                    "object .next → dict .next → object", n - 6);
        CHECKF(text && strcmp(text, want) == 0, "%s", text ? text : "?");
        free(text);
        free(chain);
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("%s of %u: %.3f s\n", s->path, n, secs);
    CHECKF(secs < 10, "%.1f s", secs);
    phd_cycles_free(&c);
    phd_graph_free(&g);
    t_snapshot_free(&s);
}

int main(int argc, char **argv)
{
    unsigned long ngraphs = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 20261202;
    t_tables_init(&g_tab, g_strings, (uint32_t)N_STRINGS, N_TYPES);
    struct rng r;
    rng_seed(&r, seed);
    for (unsigned long i = 0; i < ngraphs; i++) {
        struct phd_snapshot *s = random_snapshot(&r);
        check_graph(s, &r, i);
        t_snapshot_free(&s);
    }
    printf("random graphs: %lu cycles, %lu self references, %lu garbage, %lu examples elided, %lu filtered, "
           "%lu with tied type counts\n",
           cov_cycles, cov_self, cov_garbage, cov_elided, cov_filtered, cov_ties);
    CHECK(cov_self > ngraphs / 20 && cov_garbage > ngraphs / 20 && cov_elided > ngraphs / 50 &&
          cov_filtered > ngraphs / 20 && cov_ties > ngraphs / 20);
    test_fixed();
    test_long(1000000, 1);
    test_long(1000000, 0);
    return t_summary("test_cycles");
}
