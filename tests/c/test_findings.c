/*
 * test_findings.c - the leak ranking (src/analysis/findings.c) against a
 * plain reference on many small random graphs.
 *
 * The dominator tree and retained sizes come from phd_graph_dominators
 * (test_graph.c checks them against their own reference); the reference
 * here is the ranking rule as docs/cli.md states it, the slow way: for
 * each new, reachable object, walk up the dominator tree to find a new
 * object of its type above it (then its retained size is not counted for
 * its type), any selected new object above it (not counted in the
 * total), and the nearest new object of a user, third-party or unknown
 * type (its container).  A builtin or stdlib type's own retained size is
 * that of its objects with neither, less the containers with no
 * container above them that lie below those objects.  A builtin or stdlib type all of whose objects
 * have a container is contents; the order is: the other findings by
 * retained size, count, type id; then the contents, by their container's
 * position, retained size, count, type id.  Two type ids share a name
 * (two classes of one name are one finding).  Marking new objects is
 * checked against a plain scan of both censuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/findings.h"
#include "pyheapdiff/types.h"
#include "testutil.h"

#define MAXN 70

/* What the random graphs exercised (checked to be non-trivial). */
static unsigned long cov_contents, cov_nested, cov_unreachable;

/* Type ids; T_OBJECT2 has T_OBJECT's name (string 0). */
enum { T_OBJECT, T_MODULE, T_STR, T_DICT, T_WIDGET, T_LIB, T_LOGGER, T_OBJECT2, N_TYPES };
static const char *g_strings[] = {"app.Thing", "module", "str", "dict", "app.Widget", "lib.Engine",
                                  "logging.Logger", "x", "y"};
#define N_STRINGS (sizeof g_strings / sizeof g_strings[0])
static struct t_tables g_tab;
static const unsigned g_origin[N_TYPES] = {PHD_ORIGIN_USER,  PHD_ORIGIN_BUILTIN,     PHD_ORIGIN_BUILTIN,
                                           PHD_ORIGIN_BUILTIN, PHD_ORIGIN_USER,      PHD_ORIGIN_THIRD_PARTY,
                                           PHD_ORIGIN_STDLIB, PHD_ORIGIN_USER};

static struct phd_snapshot *random_snapshot(struct rng *r)
{
    uint32_t n = 1 + (uint32_t)rng_below(r, MAXN);
    struct t_edge ed[MAXN * 4];
    uint64_t m = 0;
    struct phd_snapshot *s = t_snapshot_new(&g_tab, "random", n, 0, 1);
    /* a tree (each node's first referrer among the few before it) plus
     * random extra references, some weak; a few nodes left unreachable */
    for (uint32_t v = 0; v < n; v++) {
        s->type[v] = (uint32_t)rng_below(r, N_TYPES);
        s->size[v] = 8 + 8 * rng_below(r, 20);
    }
    s->type[0] = T_MODULE;
    for (uint32_t v = 1; v < n; v++) {
        if (rng_chance(r, 1, 12))
            continue;
        uint32_t lo = v > 6 ? v - 6 : 0;
        ed[m++] = (struct t_edge){lo + (uint32_t)rng_below(r, v - lo), v, PHD_LABEL_MAKE(PHD_LABEL_INDEX, 0)};
    }
    uint32_t more = (uint32_t)rng_below(r, n / 2 + 1);
    for (uint32_t k = 0; k < more; k++)
        ed[m++] = (struct t_edge){(uint32_t)rng_below(r, n), (uint32_t)rng_below(r, n),
                                  PHD_LABEL_MAKE(rng_chance(r, 1, 4) ? PHD_LABEL_WEAK : PHD_LABEL_INDEX, 0)};
    t_snapshot_set_edges(s, ed, m);
    s->roots[0] = (struct phd_root){.kind = PHD_ROOT_FRAME, .node = 0, .thread_id = 1, .name = 7};
    for (uint32_t v = 0; v < n; v++)
        s->total_size += phd_snapshot_size(s, v);
    return s;
}

static int is_container(uint32_t t)
{
    return g_origin[t] != PHD_ORIGIN_BUILTIN && g_origin[t] != PHD_ORIGIN_STDLIB;
}

static uint32_t canon(uint32_t t)
{
    return t == T_OBJECT2 ? T_OBJECT : t;
}

struct ref_item {
    uint64_t count, size, retained, own;
    int all_inside, any;
    uint32_t containers; /* bitset of container types seen nearest */
};

static void check_one(struct rng *r, unsigned long id)
{
    struct phd_snapshot *s = random_snapshot(r);
    struct phd_graph *g = NULL;
    struct phd_error err;
    uint32_t n = s->n_nodes;
    if (phd_graph_build(&g, s, &err) < 0) {
        CHECKF(0, "graph %lu: %s", id, err.msg);
        t_snapshot_free(&s);
        return;
    }
    uint32_t *idom = malloc((n + 1) * sizeof *idom);
    uint64_t *ret = malloc((n + 1) * sizeof *ret);
    uint8_t *mark = calloc(n / 8 + 1, 1), newv[MAXN];
    CHECK(phd_graph_dominators(g, idom, ret) == 0);
    int density = 1 + (int)rng_below(r, 4);
    for (uint32_t v = 0; v < n; v++) {
        newv[v] = (uint8_t)rng_chance(r, (unsigned)density, 4);
        if (newv[v])
            PHD_MARK(mark, v);
    }
    /* a random selection */
    unsigned origins = rng_chance(r, 1, 3) ? (unsigned)rng_below(r, 32) : 0;
    const char *types[2] = {"Widget", "str"};
    size_t n_types = rng_chance(r, 1, 4) ? 1 + (size_t)rng_below(r, 2) : 0;
    uint8_t sel[N_TYPES];
    for (uint32_t t = 0; t < N_TYPES; t++)
        sel[t] = (uint8_t)phd_type_selected(g_strings[g_tab.types[t].name], g_origin[t], origins, types, n_types);

    /* the reference */
    struct ref_item R[N_TYPES];
    memset(R, 0, sizeof R);
    for (uint32_t t = 0; t < N_TYPES; t++)
        R[t].all_inside = 1;
    uint64_t tcount = 0, tsize = 0, tret = 0, unreach = 0;
    for (uint32_t v = 0; v < n; v++) {
        if (!newv[v])
            continue;
        if (!ret[v]) {
            unreach++;
            cov_unreachable++;
            continue;
        }
        uint32_t t = canon(s->type[v]);
        int same = 0, any_sel = 0;
        uint32_t cont = PHD_NONE;
        for (uint32_t d = idom[v]; d != PHD_NONE; d = idom[d]) {
            if (!newv[d])
                continue;
            uint32_t u = canon(s->type[d]);
            same |= u == t;
            any_sel |= sel[u];
            if (cont == PHD_NONE && is_container(u))
                cont = u;
        }
        R[t].any = 1;
        R[t].count++;
        R[t].size += phd_snapshot_size(s, v);
        if (!same)
            R[t].retained += ret[v];
        if (!same && (is_container(t) || cont == PHD_NONE))
            R[t].own += ret[v];
        /* a top-level container (none above it) is not its builtin
         * ancestors' own: they hold it, it is the leak */
        if (is_container(t) && cont == PHD_NONE)
            for (uint32_t d = idom[v]; d != PHD_NONE; d = idom[d]) {
                if (!newv[d] || is_container(canon(s->type[d])))
                    continue;
                int outer = 1;
                for (uint32_t e = idom[d]; e != PHD_NONE; e = idom[e])
                    outer &= !(newv[e] && canon(s->type[e]) == canon(s->type[d]));
                if (outer)
                    R[canon(s->type[d])].own -= ret[v];
            }
        if (!is_container(t)) {
            if (cont == PHD_NONE)
                R[t].all_inside = 0;
            else
                R[t].containers |= 1u << cont;
        }
        if (sel[t]) {
            tcount++;
            tsize += phd_snapshot_size(s, v);
            if (!any_sel)
                tret += ret[v];
        }
    }

    struct phd_findings f;
    int rc = phd_findings_rank(&f, g, mark, idom, ret, origins, types, n_types, &err);
    CHECKF(rc == 0, "graph %lu: %s", id, err.msg);
    if (rc == 0) {
        CHECKF(f.matched == 1 && f.count == tcount && f.size == tsize && f.retained == tret && f.unreachable == unreach,
               "graph %lu: totals %llu/%llu %llu/%llu %llu/%llu %llu/%llu", id, (unsigned long long)f.count,
               (unsigned long long)tcount, (unsigned long long)f.size, (unsigned long long)tsize,
               (unsigned long long)f.retained, (unsigned long long)tret, (unsigned long long)f.unreachable,
               (unsigned long long)unreach);
        size_t want_n = 0;
        for (uint32_t t = 0; t < N_TYPES; t++)
            want_n += R[t].any;
        CHECKF(f.n == want_n, "graph %lu: %zu findings, want %zu", id, f.n, want_n);
        int pos[N_TYPES];
        for (uint32_t t = 0; t < N_TYPES; t++)
            pos[t] = -1;
        for (size_t k = 0; k < f.n; k++) {
            const struct phd_finding *it = &f.items[k];
            uint32_t t = it->type;
            pos[t] = (int)k;
            CHECKF(t == canon(t) && R[t].any, "graph %lu: finding %zu type %u", id, k, t);
            CHECKF(it->count == R[t].count && it->size == R[t].size && it->retained == R[t].retained,
                   "graph %lu: %s: %llu %llu %llu, want %llu %llu %llu", id, g_strings[t],
                   (unsigned long long)it->count, (unsigned long long)it->size, (unsigned long long)it->retained,
                   (unsigned long long)R[t].count, (unsigned long long)R[t].size,
                   (unsigned long long)R[t].retained);
            CHECKF(it->own == R[t].own, "graph %lu: %s own %llu, want %llu", id, g_strings[t],
                   (unsigned long long)it->own, (unsigned long long)R[t].own);
            CHECK(it->selected == sel[t] && it->origin == g_origin[t]);
            int contents = !is_container(t) && R[t].all_inside && R[t].containers;
            CHECKF((it->inside != PHD_NONE) == contents, "graph %lu: %s inside %u", id, g_strings[t], it->inside);
            cov_contents += it->inside != PHD_NONE;
            cov_nested += it->retained != it->own;
            if (it->inside != PHD_NONE)
                CHECKF(R[t].containers >> it->inside & 1, "graph %lu: %s inside %u", id, g_strings[t], it->inside);
            /* the objects are the marked ones of its name */
            uint32_t objs[MAXN];
            size_t m = phd_findings_objects(&f, k, objs);
            CHECK(m == it->count);
            for (size_t i = 0; i < m; i++)
                CHECK(newv[objs[i]] && ret[objs[i]] && canon(s->type[objs[i]]) == t && (!i || objs[i] > objs[i - 1]));
        }
        /* the order */
        for (size_t k = 1; k < f.n; k++) {
            const struct phd_finding *p = &f.items[k - 1], *q = &f.items[k];
            int pc = p->inside != PHD_NONE, qc = q->inside != PHD_NONE, ok;
            if (pc != qc)
                ok = !pc;
            else if (pc && p->inside != q->inside)
                ok = pos[p->inside] < pos[q->inside];
            else if (pc)
                ok = p->retained > q->retained ||
                     (p->retained == q->retained &&
                      (p->count > q->count || (p->count == q->count && p->type < q->type)));
            else
                ok = p->own > q->own ||
                     (p->own == q->own &&
                      (p->count > q->count || (p->count == q->count && p->type < q->type)));
            CHECKF(ok, "graph %lu: %s before %s", id, g_strings[p->type], g_strings[q->type]);
        }
        phd_findings_free(&f);
    }
    free(idom);
    free(ret);
    phd_graph_free(&g);
    t_snapshot_free(&s);
}

/* phd_findings_mark_new against a scan: objects of B at addresses where A
 * has nothing, or something of another type name. */
static void check_mark_new(struct rng *r, unsigned long id)
{
    struct phd_snapshot *a = random_snapshot(r), *b = random_snapshot(r);
    struct phd_census *ca = NULL;
    struct phd_error err;
    /* addresses overlap: some of B's are A's */
    for (uint32_t v = 0; v < b->n_nodes; v++)
        b->addr[v] = 0x10000 + 64 * rng_below(r, MAXN);
    CHECK(phd_census_from_snapshot(&ca, a, 1, &err) == 0);
    uint8_t *mark = NULL;
    uint64_t fresh = 0, want = 0;
    CHECK(phd_findings_mark_new(&mark, ca, NULL, b, &fresh, &err) == 0);
    for (uint32_t v = 0; v < b->n_nodes; v++) {
        int found = 0;
        for (uint32_t w = 0; w < a->n_nodes; w++)
            found |= a->addr[w] == b->addr[v] &&
                     strcmp(phd_snapshot_type_name(a, a->type[w]), phd_snapshot_type_name(b, b->type[v])) == 0;
        CHECKF((int)PHD_MARKED(mark, v) == !found, "census %lu: node %u", id, v);
        want += !found;
    }
    CHECK(fresh == want);
    free(mark);
    phd_census_free(&ca);
    t_snapshot_free(&a);
    t_snapshot_free(&b);
}

/* A leaked Widget holding a dict holding a str, held by a module list;
 * a plain dict leaked beside it, alone: Widget first, the dict on its
 * own, the str the Widget's contents. */
static void test_fixed(void)
{
    /* 0 module -> 1 list(dict type here) -> 2 Widget -> 3 dict -> 4 str;
     * 1 -> 5 dict (plain, alone) */
    struct phd_snapshot *s = t_snapshot_new(&g_tab, "fixed", 6, 0, 1);
    uint32_t types[6] = {T_MODULE, T_OBJECT, T_WIDGET, T_DICT, T_STR, T_DICT};
    uint64_t sizes[6] = {100, 56, 48, 200, 1000, 64};
    struct t_edge ed[5] = {{0, 1, 0}, {1, 2, 0}, {1, 5, 0}, {2, 3, 0}, {3, 4, 0}};
    for (int k = 0; k < 5; k++)
        ed[k].label = PHD_LABEL_MAKE(PHD_LABEL_INDEX, 0);
    t_snapshot_set_edges(s, ed, 5);
    for (int v = 0; v < 6; v++) {
        s->type[v] = types[v];
        s->size[v] = sizes[v];
        s->total_size += sizes[v];
    }
    s->roots[0] = (struct phd_root){.kind = PHD_ROOT_FRAME, .node = 0, .thread_id = 1, .name = 7};
    struct phd_graph *g = NULL;
    struct phd_error err;
    CHECK(phd_graph_build(&g, s, &err) == 0);
    uint32_t idom[7];
    uint64_t ret[7];
    CHECK(phd_graph_dominators(g, idom, ret) == 0);
    uint8_t *mark = calloc(1, 1);
    for (uint32_t v = 2; v < 6; v++)
        PHD_MARK(mark, v);
    struct phd_findings f;
    CHECK(phd_findings_rank(&f, g, mark, idom, ret, 0, NULL, 0, &err) == 0);
    CHECK(f.n == 3);
    if (f.n == 3) {
        CHECK(f.items[0].type == T_WIDGET && f.items[0].retained == 1248 && f.items[0].inside == PHD_NONE);
        CHECK(f.items[1].type == T_DICT && f.items[1].count == 2 && f.items[1].inside == PHD_NONE &&
              f.items[1].retained == 1264 && f.items[1].own == 64);
        CHECK(f.items[2].type == T_STR && f.items[2].inside == T_WIDGET);
        CHECK(f.count == 4 && f.retained == 1248 + 64);
    }
    phd_findings_free(&f);
    phd_graph_free(&g);
    t_snapshot_free(&s);
}

int main(int argc, char **argv)
{
    unsigned ngraphs = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 5000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 20261202;
    t_tables_init(&g_tab, g_strings, (uint32_t)N_STRINGS, N_TYPES);
    for (uint32_t t = 0; t < N_TYPES; t++) {
        g_tab.types[t].name = t == T_OBJECT2 ? T_OBJECT : t;
        g_tab.types[t].origin = (uint8_t)g_origin[t];
    }
    struct rng r;
    rng_seed(&r, seed);
    for (unsigned long k = 0; k < ngraphs; k++)
        check_one(&r, k);
    for (unsigned long k = 0; k < ngraphs / 10; k++)
        check_mark_new(&r, k);
    test_fixed();
    printf("coverage: %lu contents, %lu partly inside containers, %lu unreachable new objects\n", cov_contents,
           cov_nested, cov_unreachable);
    CHECK(cov_contents > ngraphs / 20 && cov_nested > ngraphs / 20 && cov_unreachable > ngraphs / 20);
    return t_summary("test_findings");
}
