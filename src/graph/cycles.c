/*
 * cycles.c - reference cycles summarised (pyheapdiff/cycles.h): what
 * `cycles` prints.
 *
 * Most components are single objects, so only the cyclic ones (more than
 * one object, or a self reference) get an id, kept per component in cyc[]:
 * every per-cycle array is sized by the cycles, not by the components.
 * The members of each cycle are grouped by a counting sort over the
 * objects (ascending within a cycle), so a cycle's types and example cost
 * its own size, not the heap's.  Everything is iterative: no recursion
 * over the heap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/cycles.h"
#include "pyheapdiff/text.h"

static int by_size(const void *a, const void *b)
{
    const struct phd_cycle *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return (x->first > y->first) - (x->first < y->first);
}

void phd_cycles_free(struct phd_cycles *c)
{
    free(c->items);
    free(c->comp);
    free(c->cyc);
    free(c->mstart);
    free(c->members);
    free(c->par);
    free(c->queue);
    free(c->tcount);
    *c = (struct phd_cycles){0};
}

int phd_cycles_find(struct phd_cycles *out, const struct phd_graph *g, const uint8_t *want, struct phd_error *err)
{
    const struct phd_snapshot *s = g->s;
    size_t n = s->n_nodes;
    struct phd_cycles c = {.g = g};
    uint32_t *dist = malloc((n + 1) * sizeof *dist);
    uint8_t *hastype = NULL;
    c.comp = malloc((n + 1) * sizeof *c.comp);
    int64_t ncomp = c.comp && dist ? phd_graph_scc(g, c.comp) : -1;
    if (ncomp < 0 || phd_graph_bfs(g, 0, NULL, dist) < 0)
        goto nomem;
    /* objects per component, a self reference counting as two */
    if (!(c.cyc = calloc((size_t)ncomp + 1, sizeof *c.cyc)))
        goto nomem;
    for (uint32_t v = 0; v < n; v++)
        c.cyc[c.comp[v]]++;
    for (uint32_t v = 0; v < n; v++) {
        if (c.cyc[c.comp[v]] != 1)
            continue;
        for (uint64_t e = s->edge_start[v]; e < s->edge_start[v + 1]; e++)
            if (s->edge_target[e] == v && phd_edge_retains(s, e))
                c.cyc[c.comp[v]] = 2;
    }
    uint32_t ncyc = 0;
    for (int64_t k = 0; k < ncomp; k++)
        c.cyc[k] = c.cyc[k] > 1 ? ncyc++ : PHD_NONE;
    c.items = calloc((size_t)ncyc + 1, sizeof *c.items);
    c.mstart = calloc((size_t)ncyc + 2, sizeof *c.mstart);
    hastype = want ? calloc((size_t)ncyc + 1, 1) : NULL;
    if (!c.items || !c.mstart || (want && !hastype))
        goto nomem;
    for (uint32_t v = 0; v < n; v++) {
        uint32_t id = c.cyc[c.comp[v]];
        if (id == PHD_NONE)
            continue;
        struct phd_cycle *cy = &c.items[id];
        if (!cy->count) {
            cy->first = v;
            cy->id = id;
        }
        cy->count++;
        cy->size += phd_snapshot_size(s, v);
        cy->reachable |= dist[v] != UINT32_MAX;
        if (want)
            hastype[id] |= want[s->type[v]];
        c.mstart[id + 1]++;
    }
    free(dist);
    dist = NULL;
    /* the members of each cycle, by counting sort: O(V) */
    for (uint32_t k = 0; k < ncyc; k++)
        c.mstart[k + 1] += c.mstart[k];
    if (!(c.members = malloc(((size_t)c.mstart[ncyc] + 1) * sizeof *c.members)))
        goto nomem;
    for (uint32_t v = 0; v < n; v++)
        if (c.cyc[c.comp[v]] != PHD_NONE)
            c.members[c.mstart[c.cyc[c.comp[v]]]++] = v;
    for (uint32_t k = ncyc; k > 0; k--)
        c.mstart[k] = c.mstart[k - 1];
    c.mstart[0] = 0;
    for (uint32_t k = 0; k < ncyc; k++)
        if (!want || hastype[k])
            c.items[c.n++] = c.items[k];
    free(hastype);
    qsort(c.items, c.n, sizeof *c.items, by_size);
    for (size_t k = 0; k < c.n; k++) {
        c.objects += c.items[k].count;
        c.size += c.items[k].size;
        c.unreachable += !c.items[k].reachable;
    }
    *out = c;
    return 0;
nomem:
    free(dist);
    free(hastype);
    phd_cycles_free(&c);
    *out = (struct phd_cycles){0};
    return phd_error_set(err, "%s: out of memory", s->path);
}

const uint32_t *phd_cycles_members(const struct phd_cycles *c, size_t k, uint32_t *n)
{
    uint32_t id = c->items[k].id;
    *n = c->mstart[id + 1] - c->mstart[id];
    return c->members + c->mstart[id];
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

long phd_cycles_types(struct phd_cycles *c, size_t k, struct phd_cycle_type **out)
{
    const struct phd_snapshot *s = c->g->s;
    uint32_t nm;
    const uint32_t *m = phd_cycles_members(c, k, &nm);
    *out = NULL;
    if (!c->tcount && !(c->tcount = calloc((size_t)s->n_types + 1, sizeof *c->tcount)))
        return -1;
    /* room for every distinct type: at most the members, at most n_types */
    size_t cap = nm < s->n_types ? nm : s->n_types;
    struct phd_cycle_type *t = malloc((cap + 1) * sizeof *t);
    if (!t)
        return -1;
    uint32_t nt = 0;
    for (uint32_t i = 0; i < nm; i++) {
        uint32_t ty = s->type[m[i]];
        if (!c->tcount[ty]++)
            t[nt++].type = ty;
    }
    /* most objects first, ties in the order of their first members: one
     * sort of (count, first seen) keys, O(types log types) */
    uint64_t *key = malloc((nt + 1) * sizeof *key);
    if (!key) {
        for (uint32_t i = 0; i < nt; i++)
            c->tcount[t[i].type] = 0;
        free(t);
        return -1;
    }
    for (uint32_t i = 0; i < nt; i++) {
        key[i] = (uint64_t)(UINT32_MAX - c->tcount[t[i].type]) << 32 | i;
        c->tcount[t[i].type] = 0;
    }
    qsort(key, nt, sizeof *key, cmp_u64);
    for (uint32_t i = 0; i < nt; i++) {
        uint32_t type = t[(uint32_t)key[i]].type;
        key[i] = (uint64_t)type << 32 | (UINT32_MAX - (uint32_t)(key[i] >> 32));
    }
    for (uint32_t i = 0; i < nt; i++) {
        t[i].type = (uint32_t)(key[i] >> 32);
        t[i].count = (uint32_t)key[i];
    }
    free(key);
    *out = t;
    return nt;
}

/* Breadth-first from the cycle's first object over retaining references
 * that stay in its component, until a reference leads back to it. */
long phd_cycles_example(struct phd_cycles *c, size_t k, uint32_t **chain)
{
    const struct phd_snapshot *s = c->g->s;
    size_t n = s->n_nodes;
    *chain = NULL;
    if (!c->par) {
        c->par = malloc((n + 1) * sizeof *c->par);
        c->queue = malloc((n + 1) * sizeof *c->queue);
        if (!c->par || !c->queue) {
            free(c->par);
            free(c->queue);
            c->par = c->queue = NULL;
            return -1;
        }
        for (size_t v = 0; v < n; v++)
            c->par[v] = PHD_NONE;
    }
    uint32_t *par = c->par, *queue = c->queue;
    uint32_t start = c->items[k].first, comp = c->comp[start];
    size_t head = 0, tail = 0;
    uint32_t last = PHD_NONE;
    par[start] = start;
    queue[tail++] = start;
    while (head < tail && last == PHD_NONE) {
        uint32_t u = queue[head++];
        for (uint64_t e = s->edge_start[u]; e < s->edge_start[u + 1]; e++) {
            uint32_t t = s->edge_target[e];
            if (!phd_edge_retains(s, e) || c->comp[t] != comp)
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
    long hops = 0;
    if (last != PHD_NONE) {
        hops = 1;
        for (uint32_t x = last; x != start; x = par[x])
            hops++;
        uint32_t *ch = malloc(((size_t)hops + 1) * sizeof *ch);
        if (ch) {
            size_t i = (size_t)hops;
            ch[i] = start;
            for (uint32_t x = last; i; x = par[x])
                ch[--i] = x;
            *chain = ch;
        } else {
            hops = -1;
        }
    }
    for (size_t q = 0; q < tail; q++)
        par[queue[q]] = PHD_NONE;
    return hops;
}

char *phd_cycles_example_text(const struct phd_snapshot *s, const uint32_t *chain, size_t hops)
{
    size_t len = 0, cap = 256;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = 0;
    char d[300], lab[200];
    for (size_t i = 0; i <= hops; i++) {
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
        if (i == hops) {
            phd_text_append(&out, &len, &cap, phd_snapshot_type_name(s, s->type[chain[i]]));
        } else {
            phd_graph_describe(s, chain[i], d, sizeof d);
            phd_text_append(&out, &len, &cap, d);
        }
        if (hops > 8 && i == 3) {
            snprintf(d, sizeof d, " → ... (%zu more) ...", hops - 6);
            phd_text_append(&out, &len, &cap, d);
            i = hops - 3;
        }
    }
    return out;
}
