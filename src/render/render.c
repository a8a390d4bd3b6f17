/*
 * render.c - reference graphs with Graphviz.
 *
 * A breadth-first walk from the chosen objects over referrers (or, with
 * refs, references) up to max_depth hops, stopping at roots; a node with
 * more than too_many neighbours draws the first too_many (in node order)
 * and one "N more" node.  Parallel references (a list holding one object
 * N times) are one edge labelled with the first labels and the count
 * ("[0], [3], … ×5000"); too_many counts distinct objects.  With
 * path_only, the union of the chosen objects' shortest retention paths.
 * At most max_nodes objects and max_edges references reach the layout
 * (PHD_RENDER_MAX_*), whatever the options and the heap.  Nodes and edges are added to a
 * cgraph graph in a fixed order (walk order, node order within a step), so
 * the same snapshot and options give the same picture.  Colours follow
 * objgraph: chosen objects red, the rest graded by distance, roots boxed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gvc.h>

#include "pyheapdiff/render.h"
#include "pyheapdiff/outfile.h"
#include "pyheapdiff/text.h"

#define LABEL_MAX 48

struct walk {
    const struct phd_graph *g;
    const struct phd_render_opts *o;
    Agraph_t *ag;
    Agnode_t **an;      /* node index -> drawn node, or NULL */
    uint32_t *depth;
    uint32_t *queue;
    size_t head, tail;
    int drawn, more_id;
    /* caps: every node and edge given to cgraph counts */
    size_t nodes, edges, max_nodes, max_edges;
    int truncated;
    /* refs: per node, its index in targets while expanding (PHD_NONE else) */
    uint32_t *slot;
    struct target {
        uint32_t node, count;
        uint64_t first, second;
    } *targets;
    size_t tcap;
};

/* Text safe for a Graphviz label: control characters and invalid bytes
 * escaped as on a terminal (phd_text_escape, so the SVG stays well-formed
 * XML), then backslashes doubled (the only escape character in plain
 * labels), cut to LABEL_MAX characters. */
static void label_text(const char *in, char *out, size_t cap)
{
    char esc[LABEL_MAX * 6 + 8];
    phd_text_escape(in, esc, sizeof esc);
    size_t o = 0, chars = 0;
    for (const unsigned char *p = (const unsigned char *)esc; *p && o + 5 < cap; p++) {
        if ((*p & 0xC0) != 0x80 && ++chars > LABEL_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (*p == '\\')
            out[o++] = '\\';
        out[o++] = (char)*p;
    }
    out[o] = 0;
}

static void set(void *obj, const char *name, const char *value)
{
    agsafeset(obj, (char *)name, (char *)value, "");
}

/* Room for one more node (or edge) under the caps? */
static int room(struct walk *w, int edge)
{
    if (edge ? w->edges < w->max_edges : w->nodes < w->max_nodes)
        return 1;
    w->truncated = 1;
    return 0;
}

/* What a root is, as the first lines of its label: "[module]"; for a
 * thread's frame or state what `paths` names, "[thread N] worker" then
 * "app.py:12" and "local backlog" (the record's "worker (/path/app.py:12)
 * local backlog" split, the file by its base name); for other named roots
 * their name ("[sys.modules]"); "[unknown holder]".  Each line is escaped
 * and cut like other labels. */
static void root_name(const struct phd_graph *g, uint32_t v, char *out, size_t cap)
{
    const struct phd_snapshot *s = g->s;
    unsigned rk = g->root_kind[v];
    uint32_t ri = phd_graph_root_record(g, v);
    const struct phd_root *rec = ri != PHD_NONE && rk != PHD_ROOT_MODULE ? &s->roots[ri] : NULL;
    char a[400], b[300] = "", c[300] = "", ta[LABEL_MAX * 7 + 8], tb[LABEL_MAX * 7 + 8], tc[LABEL_MAX * 7 + 8];
    if (!rec || rec->name == PHD_NONE) {
        snprintf(out, cap, "[%s]", phd_graph_root_kind_name(rk));
        return;
    }
    const char *name = s->str[rec->name];
    if (rk != PHD_ROOT_FRAME && rk != PHD_ROOT_THREAD) {
        snprintf(a, sizeof a, "[%s]", name);
        label_text(a, ta, sizeof ta);
        snprintf(out, cap, "%s", ta);
        return;
    }
    /* "qualname (file:line) what var": the last ") " ends the place */
    const char *open = strstr(name, " ("), *close = NULL;
    for (const char *p = open ? strstr(open, ") ") : NULL; p; p = strstr(p + 1, ") "))
        close = p;
    if (open && close && close > open) {
        const char *place = open + 2, *slash = place;
        for (const char *p = place; p < close; p++)
            if (*p == '/')
                slash = p + 1;
        snprintf(a, sizeof a, "[thread %llu] %.*s", (unsigned long long)rec->thread_id, (int)(open - name), name);
        snprintf(b, sizeof b, "%.*s", (int)(close - slash), slash);
        snprintf(c, sizeof c, "%s", close + 2);
    } else {
        snprintf(a, sizeof a, "[thread %llu] %s", (unsigned long long)rec->thread_id, name);
    }
    label_text(a, ta, sizeof ta);
    label_text(b, tb, sizeof tb);
    label_text(c, tc, sizeof tc);
    snprintf(out, cap, "%s%s%s%s%s", ta, tb[0] ? "\\n" : "", tb, tc[0] ? "\\n" : "", tc);
}

/* The drawn node of v, drawn now if need be; NULL at the node cap. */
static Agnode_t *draw_node(struct walk *w, uint32_t v, uint32_t depth)
{
    if (w->an[v])
        return w->an[v];
    if (!room(w, 0))
        return NULL;
    w->nodes++;
    const struct phd_snapshot *s = w->g->s;
    char name[32], desc[300], text[600], line[700], sz[48];
    snprintf(name, sizeof name, "n%u", v);
    Agnode_t *an = agnode(w->ag, name, 1);
    w->an[v] = an;
    w->drawn++;
    phd_graph_describe(s, v, desc, sizeof desc);
    label_text(desc, text, sizeof text);
    /* containers say how big they are */
    unsigned items = 0, kind_counted = 0;
    const char *tn = phd_snapshot_type_name(s, s->type[v]);
    if (strcmp(tn, "dict") == 0)
        kind_counted = PHD_LABEL_VALUE;
    else if (strcmp(tn, "list") == 0 || strcmp(tn, "tuple") == 0 || strcmp(tn, "set") == 0)
        kind_counted = strcmp(tn, "set") == 0 ? PHD_LABEL_NONE : PHD_LABEL_INDEX;
    int is_tuple = strcmp(tn, "tuple") == 0;
    if (kind_counted || strcmp(tn, "set") == 0) {
        /* a function's __closure__ is a tuple whose items are labelled
         * with the free variables' names */
        for (uint64_t e = s->edge_start[v]; e < s->edge_start[v + 1]; e++) {
            unsigned k = PHD_LABEL_KIND(s->edge_label[e]);
            items += k == kind_counted || (is_tuple && k == PHD_LABEL_NAME);
        }
        snprintf(line, sizeof line, "%s %u item%s", text, items, items == 1 ? "" : "s");
    } else {
        snprintf(line, sizeof line, "%s", text);
    }
    unsigned rk = w->g->root_kind[v];
    if (rk) {
        char r[1800], who[1040];
        root_name(w->g, v, who, sizeof who);
        snprintf(r, sizeof r, "%s\\n%s", who, line);
        snprintf(line, sizeof line, "%.690s", r);
        set(an, "shape", "box");
        set(an, "penwidth", "2");
    }
    if (phd_snapshot_size(s, v) < 1024)
        snprintf(sz, sizeof sz, "%llu B", (unsigned long long)phd_snapshot_size(s, v));
    else
        snprintf(sz, sizeof sz, "%.1f KiB", (double)phd_snapshot_size(s, v) / 1024);
    char full[800];
    snprintf(full, sizeof full, "%s\\n%s", line, sz);
    set(an, "label", full);
    set(an, "style", "filled");
    char colour[48];
    if (depth == 0)
        snprintf(colour, sizeof colour, "#f4a6a6"); /* a chosen object */
    else if (w->o->highlight && w->o->highlight[s->type[v]])
        snprintf(colour, sizeof colour, "#ffd966");
    else if (rk)
        snprintf(colour, sizeof colour, "#b7d3f2");
    else /* objgraph's gradient: greener with distance */
        snprintf(colour, sizeof colour, "0.3 %.3f 1.0", depth > 8 ? 0.1 : 0.6 - 0.06 * depth);
    set(an, "fillcolor", colour);
    return an;
}

/* The edge from -> to, edge e (UINT64_MAX: the first between them), one
 * of count parallel ones (second: the next one's edge, or UINT64_MAX). */
static void draw_edge(struct walk *w, uint32_t from, uint32_t to, uint64_t e, uint64_t second, uint32_t count)
{
    const struct phd_snapshot *s = w->g->s;
    char lab[200] = "", lab2[200] = "", text[300], all[440];
    if (!w->an[from] || !w->an[to] || !room(w, 1))
        return;
    if (e == UINT64_MAX)
        e = phd_graph_edge_between(s, from, to);
    if (e != UINT64_MAX)
        phd_graph_label(s, e, 0, lab, sizeof lab);
    if (second != UINT64_MAX)
        phd_graph_label(s, second, 0, lab2, sizeof lab2);
    if (count <= 1)
        snprintf(all, sizeof all, "%s", lab);
    else if (count == 2 && second != UINT64_MAX)
        snprintf(all, sizeof all, "%s, %s", lab, lab2);
    else if (second != UINT64_MAX)
        snprintf(all, sizeof all, "%s, %s, … ×%u", lab, lab2, count);
    else
        snprintf(all, sizeof all, "%s%s×%u", lab, lab[0] ? " … " : "", count);
    Agedge_t *ae = agedge(w->ag, w->an[from], w->an[to], NULL, 1);
    if (!ae)
        return;
    w->edges++;
    label_text(all, text, sizeof text);
    if (text[0])
        set(ae, "label", text);
    if (e != UINT64_MAX && !phd_edge_retains(s, e))
        set(ae, "style", "dashed");
}

static void draw_more(struct walk *w, uint32_t v, size_t more, int refs)
{
    char name[32], label[64];
    if (!room(w, 0) || !room(w, 1))
        return;
    w->nodes++;
    w->edges++;
    snprintf(name, sizeof name, "more%d", w->more_id++);
    snprintf(label, sizeof label, "%zu more %s", more, refs ? "references" : "referrers");
    Agnode_t *m = agnode(w->ag, name, 1);
    set(m, "label", label);
    set(m, "shape", "note");
    set(m, "style", "filled");
    set(m, "fillcolor", "#eeeeee");
    if (refs)
        agedge(w->ag, w->an[v], m, NULL, 1);
    else
        agedge(w->ag, m, w->an[v], NULL, 1);
}

static int type_ok(const struct walk *w, uint32_t v)
{
    return !w->o->type_ok || w->o->type_ok[w->g->s->type[v]];
}

/* One step of the walk from u: its referrers (or references). */
static void expand(struct walk *w, uint32_t u)
{
    const struct phd_graph *g = w->g;
    const struct phd_snapshot *s = g->s;
    uint32_t d = w->depth[u];
    size_t shown = 0, more = 0;
    uint32_t prev = PHD_NONE;
    if (w->o->refs) {
        /* the distinct targets in order of their first reference, parallel
         * references counted: O(references of u) */
        size_t nt = 0;
        for (uint64_t e = s->edge_start[u]; e < s->edge_start[u + 1]; e++) {
            uint32_t t = s->edge_target[e];
            if (!type_ok(w, t))
                continue;
            if (w->slot[t] != PHD_NONE) {
                struct target *x = &w->targets[w->slot[t]];
                if (x->count++ == 1)
                    x->second = e;
                continue;
            }
            if (nt == w->tcap) {
                size_t nc = w->tcap ? 2 * w->tcap : 64;
                struct target *bigger = realloc(w->targets, nc * sizeof *bigger);
                if (!bigger) {
                    w->truncated = 1; /* out of memory: draw what is gathered */
                    break;
                }
                w->targets = bigger;
                w->tcap = nc;
            }
            w->slot[t] = (uint32_t)nt;
            w->targets[nt++] = (struct target){t, 1, e, UINT64_MAX};
        }
        for (size_t k = 0; k < nt; k++) {
            const struct target *x = &w->targets[k];
            uint32_t t = x->node;
            w->slot[t] = PHD_NONE;
            if (shown == w->o->too_many && !w->an[t]) {
                more++;
                continue;
            }
            if (!w->an[t]) {
                if (!draw_node(w, t, d + 1))
                    continue;
                w->depth[t] = d + 1;
                w->queue[w->tail++] = t;
                shown++;
            }
            draw_edge(w, u, t, x->first, x->second, x->count);
        }
    } else {
        for (uint64_t k = g->rev_start[u]; k < g->rev_start[u + 1]; k++) {
            uint32_t r = g->rev_src[k], count = 1;
            /* a referrer with several references is one edge (they are
             * adjacent: referrers come in source order) */
            while (k + 1 < g->rev_start[u + 1] && g->rev_src[k + 1] == r) {
                k++;
                count++;
            }
            if (r == prev || !type_ok(w, r))
                continue;
            prev = r;
            if (shown == w->o->too_many && !w->an[r]) {
                more++;
                continue;
            }
            if (!w->an[r]) {
                if (!draw_node(w, r, d + 1))
                    continue;
                w->depth[r] = d + 1;
                w->queue[w->tail++] = r;
                shown++;
            }
            draw_edge(w, r, u, UINT64_MAX, UINT64_MAX, count);
        }
    }
    if (more)
        draw_more(w, u, more, w->o->refs);
}

/*
 * Builds the cgraph graph of the picture in w->ag.  Returns 0, or -1 with
 * err set; what it took is released by walk_free either way.
 */
static int walk_build(struct walk *w, const struct phd_graph *g, const struct phd_render_opts *o,
                      struct phd_error *err)
{
    const struct phd_snapshot *s = g->s;
    size_t n = s->n_nodes;
    *w = (struct walk){.g = g, .o = o};
    w->max_nodes = o->max_nodes && o->max_nodes < PHD_RENDER_MAX_NODES ? o->max_nodes : PHD_RENDER_MAX_NODES;
    w->max_edges = o->max_edges && o->max_edges < PHD_RENDER_MAX_EDGES ? o->max_edges : PHD_RENDER_MAX_EDGES;
    w->an = calloc(n + 1, sizeof *w->an);
    w->depth = malloc((n + 1) * sizeof *w->depth);
    w->queue = malloc((n + 1) * sizeof *w->queue);
    if (o->refs && (w->slot = malloc((n + 1) * sizeof *w->slot)))
        memset(w->slot, 0xff, (n + 1) * sizeof *w->slot);
    if (!w->an || !w->depth || !w->queue || (o->refs && !w->slot))
        return phd_error_set(err, "%s: out of memory", s->path);
    w->ag = agopen((char *)"pyheapdiff", Agdirected, NULL);
    if (!w->ag)
        return phd_error_set(err, "%s: Graphviz could not create a graph", s->path);
    agattr(w->ag, AGRAPH, (char *)"rankdir", (char *)"BT");
    agattr(w->ag, AGNODE, (char *)"fontname", (char *)"Helvetica");
    agattr(w->ag, AGNODE, (char *)"fontsize", (char *)"10");
    agattr(w->ag, AGEDGE, (char *)"fontname", (char *)"Helvetica");
    agattr(w->ag, AGEDGE, (char *)"fontsize", (char *)"9");
    for (size_t k = 0; k < o->n_chosen; k++) {
        uint32_t v = o->chosen[k];
        if (w->an[v] || !draw_node(w, v, 0))
            continue;
        w->depth[v] = 0;
        w->queue[w->tail++] = v;
    }
    if (o->path_only) {
        uint32_t *parent = malloc((n + 1) * sizeof *parent), *pedge = malloc((n + 1) * sizeof *pedge);
        if (!parent || !pedge || phd_graph_bfs_edges(g, 0, parent, pedge, NULL) < 0) {
            free(parent);
            free(pedge);
            return phd_error_set(err, "%s: out of memory", s->path);
        }
        for (size_t k = 0; k < o->n_chosen; k++) {
            uint32_t d = 1;
            for (uint32_t v = o->chosen[k]; w->an[v] && parent[v] != PHD_NONE; v = parent[v], d++) {
                uint32_t p = parent[v];
                int fresh = !w->an[p];
                if (!draw_node(w, p, d))
                    break; /* the cap: the rest of this path is left out */
                if (fresh || !agedge(w->ag, w->an[p], w->an[v], NULL, 0))
                    draw_edge(w, p, v, pedge[v], UINT64_MAX, 1);
                if (!fresh)
                    break; /* the rest of this path is drawn already */
            }
        }
        free(parent);
        free(pedge);
    } else {
        while (w->head < w->tail) {
            uint32_t u = w->queue[w->head++];
            if (w->depth[u] >= o->max_depth)
                continue;
            if (o->roots_stop && w->depth[u] > 0 && g->root_kind[u] && !o->refs)
                continue;
            expand(w, u);
        }
    }
    return 0;
}

static void walk_free(struct walk *w)
{
    if (w->ag)
        agclose(w->ag);
    free(w->an);
    free(w->depth);
    free(w->queue);
    free(w->slot);
    free(w->targets);
    *w = (struct walk){0};
}

/* A gvc context with the graph laid out by dot; NULL with err set. */
static GVC_t *layout(struct walk *w, const char *what, struct phd_error *err)
{
    GVC_t *gvc = gvContext();
    if (!gvc || gvLayout(gvc, w->ag, "dot") != 0) {
        if (gvc)
            gvFreeContext(gvc);
        phd_error_set(err, "%s: Graphviz layout 'dot' is not available (install Graphviz's plugins)", what);
        return NULL;
    }
    return gvc;
}

int phd_render_graph(const struct phd_graph *g, const struct phd_render_opts *o, const char *out_path,
                     const char *format, struct phd_error *err)
{
    struct walk w;
    GVC_t *gvc = NULL;
    struct phd_outfile of = {.fd = -1};
    int rc = -1;
    if (walk_build(&w, g, o, err) < 0)
        goto out;
    if (o->truncated)
        *o->truncated = w.truncated;

    /* opened here, not by Graphviz, so that an unwritable place is one
     * error of ours instead of Graphviz's messages; "-" is stdout */
    if (phd_outfile_open(&of, out_path, PHD_OUTFILE_STDOUT, err) < 0)
        goto out;
    FILE *f = phd_outfile_stream(&of, err);
    if (!f)
        goto out;
    if (strcmp(format, "dot") == 0) {
        if (agwrite(w.ag, f) != 0) {
            phd_error_set(err, "%s: cannot write: %s", out_path, strerror(errno ? errno : EIO));
            goto out;
        }
    } else if (!(gvc = layout(&w, out_path, err))) {
        goto out;
    } else {
        int r = gvRender(gvc, w.ag, format, f);
        gvFreeLayout(gvc, w.ag);
        if (r != 0) {
            phd_error_set(err, "%s: Graphviz cannot render %s here (a plugin is missing?)", out_path, format);
            goto out;
        }
    }
    if (phd_outfile_commit(&of, err) < 0)
        goto out;
    rc = w.drawn;
out:
    phd_outfile_abort(&of);
    walk_free(&w);
    if (gvc)
        gvFreeContext(gvc);
    return rc;
}

int phd_render_graph_data(const struct phd_graph *g, const struct phd_render_opts *o, const char *format,
                          char **data, size_t *len, struct phd_error *err)
{
    struct walk w;
    GVC_t *gvc = NULL;
    char *buf = NULL;
    unsigned int n = 0;
    int rc = -1;
    *data = NULL;
    *len = 0;
    if (walk_build(&w, g, o, err) < 0)
        goto out;
    if (o->truncated)
        *o->truncated = w.truncated;
    if (!(gvc = layout(&w, g->s->path, err)))
        goto out;
    int r = gvRenderData(gvc, w.ag, format, &buf, &n);
    gvFreeLayout(gvc, w.ag);
    if (r != 0 || !buf) {
        phd_error_set(err, "%s: Graphviz cannot render %s here (a plugin is missing?)", g->s->path, format);
        goto out;
    }
    /* a copy the caller frees with free(), not gvFreeRenderData */
    *data = malloc((size_t)n + 1);
    if (!*data) {
        phd_error_set(err, "%s: out of memory", g->s->path);
        goto out;
    }
    memcpy(*data, buf, n);
    (*data)[n] = 0;
    *len = n;
    rc = w.drawn;
out:
    if (buf)
        gvFreeRenderData(buf);
    walk_free(&w);
    if (gvc)
        gvFreeContext(gvc);
    return rc;
}
