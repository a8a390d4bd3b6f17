/*
 * graph.c - the analysis graph of a snapshot: referrers, the root set,
 * breadth-first retention paths, strongly connected components and
 * dominators.
 *
 * The snapshot already stores references as compressed sparse rows
 * (edge_start/edge_target); this adds the reverse rows over retaining
 * (non-weak) edges and the root set.  Node arrays are indexed by node
 * index; every traversal uses explicit stacks or queues.
 *
 * The root set, in the order searches start from it: the modules in
 * sys.modules, sys.modules itself, sys, builtins, thread frames, thread
 * state, other interpreter state, then "unknown holders": objects whose
 * refcount is larger than the number of retaining references found to
 * them, so that C code or the C stack holds the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/graph.h"
#include "pyheapdiff/progress.h"
#include "pyheapdiff/text.h"
#include "pyheapdiff/types.h"

static const uint8_t kind_order[] = {PHD_ROOT_MODULE, PHD_ROOT_MODULES, PHD_ROOT_SYSDICT, PHD_ROOT_BUILTINS,
                                     PHD_ROOT_FRAME,  PHD_ROOT_THREAD,  PHD_ROOT_INTERP};

const char *phd_graph_root_kind_name(unsigned kind)
{
    switch (kind) {
    case PHD_ROOT_MODULE:
        return "module";
    case PHD_ROOT_UNKNOWN:
        return "unknown holder";
    default:
        return phd_root_kind_name(kind);
    }
}

void phd_graph_free(struct phd_graph **gp)
{
    struct phd_graph *g = *gp;
    if (!g)
        return;
    free(g->rev_start);
    free(g->rev_src);
    free(g->roots);
    free(g->root_kind);
    free(g->named);
    free(g->root_origin);
    free(g);
    *gp = NULL;
}

static int add_root(struct phd_graph *g, uint32_t v, uint8_t kind, uint32_t rec, uint32_t *named_cap)
{
    if (g->root_kind[v])
        return 0;
    g->root_kind[v] = kind;
    g->roots[g->n_roots++] = v;
    if (rec == PHD_NONE)
        return 0;
    if (g->n_named == *named_cap) {
        uint32_t nc = *named_cap ? *named_cap * 2 : 256;
        struct phd_root_ref *nn = realloc(g->named, nc * sizeof *nn);
        if (!nn)
            return -1;
        g->named = nn;
        *named_cap = nc;
    }
    g->named[g->n_named++] = (struct phd_root_ref){v, rec};
    return 0;
}

static int by_node(const void *a, const void *b)
{
    const struct phd_root_ref *x = a, *y = b;
    return (x->node > y->node) - (x->node < y->node);
}

uint32_t phd_graph_root_record(const struct phd_graph *g, uint32_t v)
{
    struct phd_root_ref key = {v, 0};
    if (!g->n_named)
        return PHD_NONE;
    const struct phd_root_ref *hit = bsearch(&key, g->named, g->n_named, sizeof key, by_node);
    return hit ? hit->rec : PHD_NONE;
}

int phd_graph_build(struct phd_graph **out, const struct phd_snapshot *s, struct phd_error *err)
{
    struct phd_graph *g = calloc(1, sizeof *g);
    *out = NULL;
    if (!g)
        return phd_error_set(err, "%s: out of memory", s->path);
    g->s = s;
    g->n = s->n_nodes;
    size_t n = g->n;
    g->rev_start = calloc(n + 2, sizeof *g->rev_start);
    g->root_kind = calloc(n + 1, 1);
    if (!g->rev_start || !g->root_kind)
        goto nomem;

    /* referrers: count, prefix sums, fill (stable: by source order).  The
     * counts go one slot further up, so that the prefix sums leave the
     * start of v in rev_start[v + 1]; the fill then advances it to the
     * start of v + 1, where it belongs: no array of fill positions. */
    uint64_t m = 0;
    phd_progress_begin("building the graph", 2 * s->n_edges);
    for (uint64_t e = 0; e < s->n_edges; e++) {
        phd_progress_tick(e);
        if (phd_edge_retains(s, e)) {
            g->rev_start[s->edge_target[e] + 2]++;
            m++;
        }
    }
    for (size_t v = 1; v < n; v++)
        g->rev_start[v + 1] += g->rev_start[v];
    g->rev_src = malloc((m + 1) * sizeof *g->rev_src);
    if (!g->rev_src)
        goto nomem;
    for (uint32_t u = 0; u < n; u++) {
        phd_progress_tick(s->n_edges + s->edge_start[u]);
        for (uint64_t e = s->edge_start[u]; e < s->edge_start[u + 1]; e++) {
            if (!phd_edge_retains(s, e))
                continue;
            g->rev_src[g->rev_start[s->edge_target[e] + 1]++] = u;
        }
    }
    g->rev_start[n + 1] = 0;
    phd_progress_end();

    /* roots: counted first (named roots and unknown holders), so that the
     * array has their number of entries, not one per node */
    size_t nroots = s->n_roots;
    for (uint32_t r = 0; r < s->n_roots; r++)
        if (s->roots[r].kind == PHD_ROOT_MODULES)
            nroots += s->edge_start[s->roots[r].node + 1] - s->edge_start[s->roots[r].node];
    for (uint32_t v = 0; v < n; v++)
        if (!phd_snapshot_immortal(s, v) && s->refcnt[v] > g->rev_start[v + 1] - g->rev_start[v])
            nroots++;
    if (!(g->roots = malloc((nroots + 1) * sizeof *g->roots)))
        goto nomem;

    /* roots, by kind priority */
    uint32_t named_cap = 0;
    for (uint32_t r = 0; r < s->n_roots; r++) {
        if (s->roots[r].kind != PHD_ROOT_MODULES)
            continue;
        uint32_t d = s->roots[r].node;
        for (uint64_t e = s->edge_start[d]; e < s->edge_start[d + 1]; e++) {
            uint32_t t = s->edge_target[e];
            if (PHD_LABEL_KIND(s->edge_label[e]) == PHD_LABEL_VALUE &&
                strcmp(phd_snapshot_type_name(s, s->type[t]), "module") == 0)
                if (add_root(g, t, PHD_ROOT_MODULE, r, &named_cap) < 0)
                    goto nomem;
        }
    }
    for (size_t k = 1; k < sizeof kind_order; k++)
        for (uint32_t r = 0; r < s->n_roots; r++)
            if (s->roots[r].kind == kind_order[k])
                if (add_root(g, s->roots[r].node, (uint8_t)s->roots[r].kind, r, &named_cap) < 0)
                    goto nomem;
    for (uint32_t v = 0; v < n; v++) {
        uint64_t indeg = g->rev_start[v + 1] - g->rev_start[v];
        if (!g->root_kind[v] && !phd_snapshot_immortal(s, v) && s->refcnt[v] > indeg) {
            add_root(g, v, PHD_ROOT_UNKNOWN, PHD_NONE, &named_cap);
            g->n_unknown++;
        }
    }
    if (g->n_named)
        qsort(g->named, g->n_named, sizeof *g->named, by_node);
    /* the module roots come first in roots[] */
    while (g->n_modules < g->n_roots && g->root_kind[g->roots[g->n_modules]] == PHD_ROOT_MODULE)
        g->n_modules++;
    if (!(g->root_origin = calloc((size_t)g->n_modules + 1, 1)) ||
        phd_module_origins(s, g->roots, g->n_modules, g->root_origin) < 0)
        goto nomem;
    *out = g;
    return 0;
nomem:
    phd_graph_free(&g);
    return phd_error_set(err, "%s: out of memory building the graph", s->path);
}

/* ---- breadth-first search ---------------------------------------------- */

int phd_graph_bfs(const struct phd_graph *g, int named_only, uint32_t *parent, uint32_t *dist)
{
    return phd_graph_bfs_from(g, named_only, NULL, 0, parent, NULL, dist);
}

int phd_graph_bfs_edges(const struct phd_graph *g, int named_only, uint32_t *parent, uint32_t *pedge, uint32_t *dist)
{
    return phd_graph_bfs_from(g, named_only, NULL, 0, parent, pedge, dist);
}

/* The state of one search: the queue holds, in order, the nodes of one
 * level after another (level: hops from the node's root plus its root's
 * late start), so levels need no array of their own. */
struct bfs {
    const struct phd_graph *g;
    uint32_t *queue, *d, *parent, *pedge;
    size_t head, tail;
};

static void bfs_seed(struct bfs *b, uint32_t v)
{
    if (b->d[v] != UINT32_MAX)
        return;
    b->d[v] = 0;
    b->queue[b->tail++] = v;
}

/* Is the r-th root a module of the first phase that starts late? */
static int late_module(const struct phd_graph *g, uint32_t r)
{
    return r < g->n_modules && g->root_origin[r] != PHD_ORIGIN_USER;
}

/* Runs the search from what is queued to the end, level by level; with
 * `late`, the modules that start late join the queue once the level
 * PHD_BFS_USER_BONUS is reached (after that level's other nodes: a tie
 * goes to the user's modules).  Modules are never entered: each starts
 * its own paths. */
static void bfs_run(struct bfs *b, int late)
{
    const struct phd_graph *g = b->g;
    const struct phd_snapshot *s = g->s;
    for (uint32_t level = 0;; level++) {
        if (late && level == PHD_BFS_USER_BONUS) {
            for (uint32_t r = 0; r < g->n_modules; r++)
                if (late_module(g, r))
                    bfs_seed(b, g->roots[r]);
            late = 0;
        }
        if (b->head == b->tail) {
            if (!late)
                return;
            level = PHD_BFS_USER_BONUS - 1; /* nothing left before the late start */
            continue;
        }
        for (size_t end = b->tail; b->head < end;) {
            phd_progress_tick(b->head);
            uint32_t u = b->queue[b->head++];
            for (uint64_t e = s->edge_start[u]; e < s->edge_start[u + 1]; e++) {
                uint32_t t = s->edge_target[e];
                if (b->d[t] != UINT32_MAX || !phd_edge_retains(s, e) || g->root_kind[t] == PHD_ROOT_MODULE)
                    continue;
                b->d[t] = b->d[u] + 1;
                if (b->parent)
                    b->parent[t] = u;
                if (b->pedge)
                    b->pedge[t] = (uint32_t)e;
                b->queue[b->tail++] = t;
            }
        }
    }
}

int phd_graph_bfs_from(const struct phd_graph *g, int named_only, const uint32_t *from, size_t n_from,
                       uint32_t *parent, uint32_t *pedge, uint32_t *dist)
{
    struct bfs b = {g, malloc(((size_t)g->n + 1) * sizeof *b.queue), dist ? dist : malloc(((size_t)g->n + 1) * sizeof *b.d),
                    parent, pedge, 0, 0};
    if (!b.queue || !b.d) {
        free(b.queue);
        if (!dist)
            free(b.d);
        return -1;
    }
    for (uint32_t v = 0; v < g->n; v++) {
        b.d[v] = UINT32_MAX;
        if (parent)
            parent[v] = PHD_NONE;
        if (pedge)
            pedge[v] = PHD_NONE;
    }
    phd_progress_begin("finding paths", g->n);
    /* the modules asked for, alone */
    if (n_from) {
        for (size_t k = 0; k < n_from; k++)
            if (from[k] < g->n && g->root_kind[from[k]] == PHD_ROOT_MODULE)
                bfs_seed(&b, from[k]);
        bfs_run(&b, 0);
    }
    /* the user's modules, then the others late */
    for (uint32_t r = 0; r < g->n_modules; r++)
        if (!late_module(g, r))
            bfs_seed(&b, g->roots[r]);
    bfs_run(&b, 1);
    /* then the other named roots (frames, threads, interpreter); then
     * unknown holders */
    for (int phase = 1; phase < (named_only ? 2 : 3); phase++) {
        for (uint32_t r = 0; r < g->n_roots; r++) {
            unsigned k = g->root_kind[g->roots[r]];
            if (k != PHD_ROOT_MODULE && (k == PHD_ROOT_UNKNOWN) == (phase == 2))
                bfs_seed(&b, g->roots[r]);
        }
        bfs_run(&b, 0);
    }
    phd_progress_end();
    free(b.queue);
    if (!dist)
        free(b.d);
    return 0;
}

size_t phd_graph_modules_named(const struct phd_graph *g, const char *name, uint32_t *out, size_t cap)
{
    size_t n = 0, len = strlen(name);
    char buf[512];
    for (uint32_t r = 0; r < g->n_modules; r++) {
        uint32_t v = g->roots[r];
        int l = phd_snapshot_preview(g->s, v, buf, sizeof buf - 1);
        if (l < 0 || (size_t)l < len || memcmp(buf, name, len) != 0 || ((size_t)l > len && buf[len] != '.'))
            continue;
        if (n < cap)
            out[n] = v;
        n++;
    }
    return n;
}

/* ---- strongly connected components -------------------------------------- */

/*
 * Pearce's space-efficient variant of Tarjan's algorithm ("A space-efficient
 * algorithm for finding strongly connected components", 2016), iterative:
 * one array (comp itself) holds each node's DFS index while it is open and
 * its component number once done (components are numbered down from n - 1
 * and renumbered 0.. at the end), plus the node stack and the call stack of
 * (node, next edge, is-root).  O(V + E), 13 bytes per node of its own.
 */
int64_t phd_graph_scc(const struct phd_graph *g, uint32_t *comp)
{
    const struct phd_snapshot *s = g->s;
    size_t n = g->n;
    uint32_t *rindex = comp;
    uint32_t *stack = malloc((n + 1) * sizeof *stack), *cs_node = malloc((n + 1) * sizeof *cs_node);
    uint32_t *cs_edge = malloc((n + 1) * sizeof *cs_edge); /* edge offsets: < 2^32 */
    uint8_t *cs_root = malloc(n + 1);
    int64_t ncomp = -1;
    if (!stack || !cs_node || !cs_edge || !cs_root)
        goto out;
    for (size_t v = 0; v < n; v++)
        rindex[v] = 0;
    uint32_t index = 1;
    int64_t c = (int64_t)n - 1; /* the next component number (reaches -1) */
    size_t sp = 0;
    uint64_t seen = 0; /* nodes visited, for progress */
    phd_progress_begin("finding cycles", n);
    for (uint32_t r = 0; r < n; r++) {
        if (rindex[r])
            continue;
        phd_progress_tick(seen++);
        size_t csp = 0;
        cs_node[csp] = r;
        cs_edge[csp] = s->edge_start[r];
        cs_root[csp++] = 1;
        rindex[r] = index++;
        while (csp) {
            uint32_t v = cs_node[csp - 1];
            uint32_t e = cs_edge[csp - 1];
            if (e < s->edge_start[v + 1]) {
                cs_edge[csp - 1] = e + 1;
                if (!phd_edge_retains(s, e))
                    continue;
                uint32_t w = s->edge_target[e];
                if (!rindex[w]) {
                    phd_progress_tick(seen++);
                    rindex[w] = index++;
                    cs_node[csp] = w;
                    cs_edge[csp] = s->edge_start[w];
                    cs_root[csp++] = 1;
                } else if (rindex[w] < rindex[v]) {
                    rindex[v] = rindex[w];
                    cs_root[csp - 1] = 0;
                }
                continue;
            }
            /* v is done */
            if (cs_root[csp - 1]) {
                index--;
                while (sp && rindex[v] <= rindex[stack[sp - 1]]) {
                    rindex[stack[--sp]] = (uint32_t)c;
                    index--;
                }
                rindex[v] = (uint32_t)c--;
            } else {
                stack[sp++] = v;
            }
            csp--;
            if (csp) {
                uint32_t u = cs_node[csp - 1];
                if (rindex[v] < rindex[u]) {
                    rindex[u] = rindex[v];
                    cs_root[csp - 1] = 0;
                }
            }
        }
    }
    phd_progress_end();
    /* components were numbered n-1, n-2, ...: renumber from 0 */
    for (size_t v = 0; v < n; v++)
        comp[v] = (uint32_t)(n - 1) - rindex[v];
    ncomp = (int64_t)n - 1 - c;
out:
    free(stack);
    free(cs_node);
    free(cs_edge);
    free(cs_root);
    return ncomp;
}

/* ---- dominators ------------------------------------------------------- */

/*
 * Semi-NCA (Georgiadis, Tarjan and Werneck, "Finding dominators in
 * practice"): a depth-first preorder from the super-root, semidominators
 * by path-compressed evaluation in reverse preorder, then immediate
 * dominators as the nearest common ancestor of parent and semidominator.
 * Everything is in preorder numbers; number 0 is the super-root, whose
 * successors are the roots.  O(E log V), iterative throughout.
 */
int phd_graph_dominators(const struct phd_graph *g, uint32_t *idom_out, uint64_t *retained)
{
    const struct phd_snapshot *s = g->s;
    size_t n = g->n, N = n + 1; /* + super-root */
    const uint32_t SUPER = (uint32_t)n;
    /* Six arrays of N uint32, three of them in the caller's arrays (12
     * bytes per object of our own): `pre` lives in idom_out until the
     * immediate dominators overwrite it, `semi` and `label` in `retained`
     * until retained sizes are computed; idom is computed in place of the
     * DFS parents, and the DFS stack lives in `label` before labels are. */
    uint32_t *pre = idom_out;                  /* node -> preorder (PHD_NONE: unreached) */
    uint32_t *vert = malloc(N * sizeof *vert); /* preorder -> node */
    uint32_t *par = malloc(N * sizeof *par);   /* preorder -> DFS parent; then idom */
    uint32_t *scratch = retained ? (uint32_t *)retained : malloc(2 * N * sizeof *scratch);
    uint32_t *semi = scratch;                  /* DFS: next edge offset of the stacked node */
    uint32_t *label = scratch ? scratch + N : NULL; /* DFS: the stack */
    uint32_t *anc = malloc(N * sizeof *anc);
    uint32_t *path = NULL;
    size_t path_cap = 0;
    int rc = -1;
    if (!vert || !par || !scratch || !anc)
        goto out;
    for (size_t v = 0; v < N; v++)
        pre[v] = PHD_NONE;

    /* iterative DFS; the super-root's "edges" are the roots.  stack[k] is
     * a node, semi[pre[node]] its next edge offset. */
    uint32_t *stack = label, cnt = 0;
    size_t sp = 0;
    pre[SUPER] = cnt;
    vert[cnt] = SUPER;
    par[cnt] = 0;
    semi[cnt] = 0;
    cnt++;
    stack[sp++] = SUPER;
    /* progress: the search, the semidominators and the rest, n each */
    phd_progress_begin("computing dominators", 3 * (uint64_t)N);
    while (sp) {
        phd_progress_tick(cnt);
        uint32_t v = stack[sp - 1], pv = pre[v];
        uint64_t k = semi[pv];
        uint32_t w;
        if (v == SUPER) {
            if (k >= g->n_roots) {
                sp--;
                continue;
            }
            w = g->roots[k];
        } else {
            uint64_t e = s->edge_start[v] + k;
            if (e >= s->edge_start[v + 1]) {
                sp--;
                continue;
            }
            if (!phd_edge_retains(s, e)) {
                semi[pv] = (uint32_t)(k + 1);
                continue;
            }
            w = s->edge_target[e];
        }
        semi[pv] = (uint32_t)(k + 1);
        if (pre[w] != PHD_NONE)
            continue;
        pre[w] = cnt;
        vert[cnt] = w;
        par[cnt] = pv;
        semi[cnt] = 0;
        cnt++;
        stack[sp++] = w;
    }

    for (uint32_t i = 0; i < cnt; i++) {
        semi[i] = i;
        label[i] = i;
        anc[i] = PHD_NONE;
    }
    /* semidominators, in reverse preorder */
    for (uint32_t i = cnt - 1; i >= 1; i--) {
        phd_progress_tick((uint64_t)N + (cnt - i));
        uint32_t w = vert[i];
        uint64_t a = g->rev_start[w], b = g->rev_start[w + 1];
        int from_super = g->root_kind[w] != 0;
        for (uint64_t k = a; k < b + (uint64_t)from_super; k++) {
            uint32_t v = k < b ? pre[g->rev_src[k]] : 0;
            if (v == PHD_NONE)
                continue;
            /* eval(v): the minimum-semi label on v's path in the forest */
            uint32_t u = v;
            if (anc[v] != PHD_NONE) {
                /* compress: collect the path, then fold labels top-down */
                size_t top = 0;
                uint32_t x = v;
                while (anc[anc[x]] != PHD_NONE) {
                    if (top == path_cap) {
                        size_t nc = path_cap ? path_cap * 2 : 64;
                        uint32_t *np = realloc(path, nc * sizeof *np);
                        if (!np)
                            goto out;
                        path = np;
                        path_cap = nc;
                    }
                    path[top++] = x;
                    x = anc[x];
                }
                while (top) {
                    x = path[--top];
                    uint32_t ax = anc[x];
                    if (semi[label[ax]] < semi[label[x]])
                        label[x] = label[ax];
                    anc[x] = anc[ax];
                }
                u = label[v];
            }
            if (semi[u] < semi[i])
                semi[i] = semi[u];
        }
        anc[i] = par[i];
    }
    /* immediate dominators, in place of the parents: the nearest common
     * ancestor of parent and semidominator (idom[d] for d < i is final) */
    uint32_t *idom = par;
    idom[0] = 0;
    for (uint32_t i = 1; i < cnt; i++) {
        phd_progress_tick(2 * (uint64_t)N + i);
        uint32_t d = par[i];
        while (d > semi[i])
            d = idom[d];
        idom[i] = d;
    }
    if (retained) {
        /* (semi and label are done with) bottom-up over the preorder:
         * children come after their idom */
        for (size_t v = 0; v < n; v++)
            retained[v] = pre[v] == PHD_NONE ? 0 : phd_snapshot_size(s, v);
        for (uint32_t i = cnt - 1; i >= 1; i--)
            if (idom[i] != 0)
                retained[vert[idom[i]]] += retained[vert[i]];
    }
    /* pre is done with: unreached nodes keep PHD_NONE, the rest get idom */
    for (uint32_t i = 1; i < cnt; i++)
        idom_out[vert[i]] = idom[i] == 0 ? PHD_NONE : vert[idom[i]];
    rc = 0;
out:
    phd_progress_end();
    free(vert);
    free(par);
    if (!retained)
        free(scratch);
    free(anc);
    free(path);
    return rc;
}

/* ---- text ------------------------------------------------------------- */

/* A node's preview as printable UTF-8, cut at maxlen bytes on a character
 * boundary; bytes that are not valid UTF-8 (bytes previews) become '?'.
 * A name (a module's, a function's or class's __qualname__) is an
 * identity, not a value: it is never cut (up to the room in buf). */
static void preview_text(const struct phd_snapshot *s, uint32_t v, char *buf, size_t cap, size_t maxlen)
{
    char pv[512];
    int l = phd_snapshot_preview(s, v, pv, sizeof pv - 1);
    if (l < 0) {
        buf[0] = 0;
        return;
    }
    if (phd_snapshot_preview_is_name(s, v))
        maxlen = cap;
    if (maxlen + 4 > cap)
        maxlen = cap > 4 ? cap - 4 : 0;
    size_t n = (size_t)l, cut = n;
    if (cut > maxlen) {
        cut = maxlen;
        while (cut > 0 && ((unsigned char)pv[cut] & 0xC0) == 0x80)
            cut--;
    }
    int valid = phd_utf8_valid((const unsigned char *)pv, cut);
    size_t o = 0;
    for (size_t i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)pv[i];
        buf[o++] = (char)(c < 0x20 || c == 0x7f || (!valid && c >= 0x80) ? '?' : c);
    }
    if (cut < n) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = 0;
}

void phd_graph_label(const struct phd_snapshot *s, uint64_t e, int fold_index, char *buf, size_t cap)
{
    uint32_t lab = s->edge_label[e], pay = PHD_LABEL_PAYLOAD(lab);
    switch (PHD_LABEL_KIND(lab)) {
    case PHD_LABEL_INDEX:
        if (fold_index)
            snprintf(buf, cap, "[*]");
        else
            snprintf(buf, cap, "[%u]", pay);
        return;
    case PHD_LABEL_KEY:
        snprintf(buf, cap, "<key>");
        return;
    case PHD_LABEL_VALUE: {
        char pv[64];
        const char *tn = phd_snapshot_type_name(s, s->type[pay]);
        preview_text(s, pay, pv, sizeof pv, 40);
        if (!pv[0])
            snprintf(buf, cap, "[<%s>]", tn);
        else if (strcmp(tn, "str") == 0)
            snprintf(buf, cap, "['%s']", pv);
        else
            snprintf(buf, cap, "[%s]", pv);
        return;
    }
    case PHD_LABEL_NAME:
        snprintf(buf, cap, ".%s", s->str[pay]);
        return;
    case PHD_LABEL_WEAK:
        snprintf(buf, cap, "<weak>");
        return;
    case PHD_LABEL_TYPE:
        snprintf(buf, cap, ".__class__");
        return;
    default:
        buf[0] = 0;
    }
}

void phd_graph_describe(const struct phd_snapshot *s, uint32_t v, char *buf, size_t cap)
{
    const char *tn = phd_snapshot_type_name(s, s->type[v]);
    char pv[260];
    preview_text(s, v, pv, sizeof pv, 40);
    if (!pv[0])
        snprintf(buf, cap, "%s", tn);
    else if (strcmp(tn, "str") == 0)
        snprintf(buf, cap, "str '%s'", pv);
    else if (strcmp(tn, "type") == 0 || strcmp(tn, "abc.ABCMeta") == 0)
        snprintf(buf, cap, "class %s", pv);
    else
        snprintf(buf, cap, "%s %s", tn, pv);
}

uint64_t phd_graph_edge_between(const struct phd_snapshot *s, uint32_t u, uint32_t v)
{
    for (uint64_t e = s->edge_start[u]; e < s->edge_start[u + 1]; e++)
        if (s->edge_target[e] == v && phd_edge_retains(s, e))
            return e;
    return UINT64_MAX;
}
