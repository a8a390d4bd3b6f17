/*
 * test_roundtrip.c - writes hundreds of random object graphs with the
 * phd_writer_* API and reads them back with phd_snapshot_open() and
 * phd_snapshot_parse(), comparing every array with what was written.
 *
 * A graph is a set of objects with typed, labelled references.  The test
 * numbers the objects exactly as docs/format.md requires (breadth first from
 * the seeds, a new seed only when the queue is empty) and computes the
 * arrays the reader must produce.  The edges are encoded either by the
 * library's phd_encoder_* (as the agent does) or by an independent encoder
 * written here from the spec, which picks at random among the encodings the
 * spec allows (sibling label copy or explicit label; tcode 1 for the
 * sibling's target or an explicit back-reference), so that the reader is
 * tested on every legal encoding, not just the one the library prefers.
 * The sections are written in a random order, sometimes interleaved record
 * by record over many chunks, sometimes with chunks of unknown kinds between
 * them, with 4 KiB or large chunks.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyheapdiff/format.h"
#include "pyheapdiff/text.h"
#include "testutil.h"

#define NONE32 UINT32_MAX

struct ref {
    uint32_t target; /* object id */
    unsigned kind;   /* PHD_LABEL_*; TYPE refs target the object's type object */
    uint64_t payload; /* INDEX: the index; NAME: a string id */
};

struct obj {
    uint64_t addr, size, refcnt;
    uint32_t type;
    unsigned flags;
    unsigned char preview[PHD_PREVIEW_MAX];
    size_t plen;   /* inline preview (flag PREVIEW, psid NONE32) */
    uint32_t psid; /* or a string id as the preview */
    unsigned pkind; /* or, when not PHD_PREVIEW_TEXT, a number's value: */
    uint64_t pnum;
    struct ref *refs;
    size_t nrefs;
};

struct gtype {
    uint32_t name;
    uint32_t obj; /* object id of the type object, or NONE32 */
    uint64_t dsize;
};

struct groot {
    uint32_t kind, obj;
    uint64_t tid;
    uint32_t name; /* string id or NONE32 */
};

/* A graph and, after number_graph(), what the reader must return. */
struct graph {
    struct phd_header hdr;
    uint32_t nobj, nstr, ntypes, nroots;
    unsigned char **str;
    uint32_t *slen;
    struct gtype *types;
    struct groot *roots;
    struct obj *o;

    /* expected results, indexed by node index */
    uint32_t *order;   /* node index -> object id */
    uint32_t *node_of; /* object id -> node index */
    uint64_t *edge_start;
    uint32_t *etarget, *elabel;
    uint64_t nedges, total_size;
    /* what the writer is told about each edge, in node order */
    struct eplan *plan;
};

/* One edge as the writer sees it (the arguments of phd_encoder_edge). */
struct eplan {
    uint32_t target;     /* node index */
    int is_new;          /* discovered by this edge */
    unsigned kind;       /* PHD_LABEL_* (never SIBLING) */
    uint64_t payload;    /* INDEX: index; VALUE: key node; NAME: string id */
    uint64_t discovered; /* node indices handed out before this edge */
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static void graph_free(struct graph *g)
{
    for (uint32_t i = 0; i < g->nstr; i++)
        free(g->str[i]);
    free(g->str);
    free(g->slen);
    free(g->types);
    free(g->roots);
    for (uint32_t i = 0; i < g->nobj; i++)
        free(g->o[i].refs);
    free(g->o);
    free(g->order);
    free(g->node_of);
    free(g->edge_start);
    free(g->etarget);
    free(g->elabel);
    free(g->plan);
    memset(g, 0, sizeof *g);
}

static uint32_t pick_nobj(struct rng *r, int run)
{
    if (run == 0)
        return 0;
    if (run == 1)
        return 1;
    if (run == 2)
        return 2;
    if (rng_chance(r, 1, 10))
        return (uint32_t)rng_below(r, 6);
    return (uint32_t)rng_below(r, 301);
}

static void gen_strings(struct graph *g, struct rng *r, int big)
{
    g->str = xcalloc(g->nstr, sizeof *g->str);
    g->slen = xcalloc(g->nstr, sizeof *g->slen);
    for (uint32_t i = 0; i < g->nstr; i++) {
        uint32_t len = (uint32_t)rng_below(r, 24);
        if (rng_chance(r, 1, 20))
            len = 100 + (uint32_t)rng_below(r, 200); /* two-byte length varint */
        if (big && i == g->nstr / 2)
            len = 5000 + (uint32_t)rng_below(r, 5000); /* larger than a 4 KiB chunk */
        g->slen[i] = len;
        g->str[i] = xcalloc(len + 1, 1);
        for (uint32_t k = 0; k < len; k++)
            g->str[i][k] = (unsigned char)rng_next(r); /* any bytes, NUL included */
    }
}

/* Object i's address: bits shift .. shift+30 hold i, so addresses are
 * unique (a reader rejects two nodes at one address); the other bits say
 * where in the address space it lies. */
static uint64_t gen_addr(struct rng *r, unsigned shift, uint32_t i)
{
    uint64_t a, field = ((1ull << 30) - 1) << shift;
    switch (rng_below(r, 10)) {
    case 0:
        a = 0;
        break;
    case 1:
        a = UINT64_MAX; /* top of the address space */
        break;
    case 2:
        a = rng_next(r); /* anywhere */
        break;
    default:
        a = 0x7f0000000000ull + (rng_below(r, 1ull << 12) << (shift + 30));
        break;
    }
    return ((a & ~field) | ((uint64_t)i << shift)) & ~((1ull << shift) - 1);
}

/* A type's usual first references. */
struct tmpl {
    struct ref *refs;
    size_t n;
};

/* Fills refs[k0 .. n) of an object (self) of a type with random references:
 * self edges, duplicates, every label kind, INDEX with gaps, KEY then
 * VALUE, VALUE after other kinds, TYPE where the type has a type object. */
static void gen_refs(const struct graph *g, struct rng *r, uint32_t self, uint32_t type, struct ref *refs,
                     size_t k0, size_t n, uint64_t *next_index)
{
    for (size_t k = k0; k < n; k++) {
        struct ref *e = &refs[k];
        uint64_t roll = rng_below(r, 100);
        if (roll < 5)
            e->target = self;
        else if (roll < 15 && k)
            e->target = refs[rng_below(r, k)].target; /* duplicate */
        else
            e->target = (uint32_t)rng_below(r, g->nobj);
        e->payload = 0;
        roll = rng_below(r, 100);
        if (roll < 25) {
            e->kind = PHD_LABEL_NONE;
        } else if (roll < 45) {
            uint64_t gap = 0;
            uint64_t gr = rng_below(r, 100);
            if (gr >= 70 && gr < 90)
                gap = 1 + rng_below(r, 5);
            else if (gr >= 90 && gr < 99)
                gap = rng_below(r, 1000000);
            else if (gr == 99)
                gap = 1u << 27;
            if (*next_index + gap >= (1u << 29))
                gap = 0;
            if (*next_index >= (1u << 29)) {
                e->kind = PHD_LABEL_NONE;
            } else {
                e->kind = PHD_LABEL_INDEX;
                e->payload = *next_index + gap;
                *next_index = e->payload + 1;
            }
        } else if (roll < 60) {
            e->kind = PHD_LABEL_KEY;
            if (k + 1 < n) { /* the usual case: a VALUE follows its KEY */
                k++;
                refs[k].kind = PHD_LABEL_VALUE;
                refs[k].target = (uint32_t)rng_below(r, g->nobj);
                refs[k].payload = 0;
            }
        } else if (roll < 64 && k) {
            e->kind = PHD_LABEL_VALUE; /* after any edge: the key is the previous target */
        } else if (roll < 80) {
            e->kind = PHD_LABEL_NAME;
            e->payload = rng_below(r, g->nstr);
        } else if (roll < 90) {
            e->kind = PHD_LABEL_WEAK;
        } else if (g->types[type].obj != NONE32) {
            e->kind = PHD_LABEL_TYPE;
            e->target = g->types[type].obj;
            e->payload = rng_below(r, g->nstr); /* NAME label if it must discover */
        } else {
            e->kind = PHD_LABEL_NONE;
        }
    }
}

static void gen_graph(struct graph *g, struct rng *r, int run)
{
    memset(g, 0, sizeof *g);
    g->hdr.version = PHD_FORMAT_VERSION;
    g->hdr.pointer_size = rng_chance(r, 1, 5) ? 4 : 8;
    static const uint8_t shifts[] = {0, 3, 3, 4};
    g->hdr.addr_shift = shifts[rng_below(r, 4)];
    g->hdr.py_major = 3;
    g->hdr.py_minor = (uint8_t)(8 + rng_below(r, 6));
    g->hdr.py_micro = (uint8_t)rng_below(r, 256);
    g->hdr.flags = (uint32_t)rng_below(r, 4);
    g->hdr.pid = rng_chance(r, 1, 4) ? rng_next(r) : rng_below(r, 1u << 22);
    g->hdr.start_time_ns = rng_chance(r, 1, 5) ? 0 : rng_next(r);
    g->hdr.timestamp_ns = rng_next(r);

    g->nobj = pick_nobj(r, run);
    int big = rng_chance(r, 1, 25);
    if (run == 0) {
        g->nstr = 0;
        g->ntypes = 0;
    } else {
        g->nstr = 1 + (uint32_t)rng_below(r, 60);
        g->ntypes = 1 + (uint32_t)rng_below(r, 12);
    }
    gen_strings(g, r, big);

    g->o = xcalloc(g->nobj, sizeof *g->o);
    g->types = xcalloc(g->ntypes, sizeof *g->types);
    for (uint32_t t = 0; t < g->ntypes; t++) {
        g->types[t].name = (uint32_t)rng_below(r, g->nstr);
        g->types[t].obj = NONE32;
        /* huge sizes, but 301 of them add up to less than 2^63 (PHD_SIZE_MAX) */
        g->types[t].dsize = rng_chance(r, 1, 10) ? rng_bits(r) >> 10 : 16 + 8 * rng_below(r, 20);
    }
    /* distinct type objects for some types */
    for (uint32_t t = 0; t < g->ntypes && g->nobj; t++) {
        if (!rng_chance(r, 2, 3))
            continue;
        uint32_t o = (uint32_t)rng_below(r, g->nobj);
        int taken = 0;
        for (uint32_t u = 0; u < t; u++)
            taken |= g->types[u].obj == o;
        if (!taken)
            g->types[t].obj = o;
    }

    struct tmpl *tmpls = xcalloc(g->ntypes, sizeof *tmpls);
    for (uint32_t t = 0; t < g->ntypes && g->nobj; t++) {
        tmpls[t].n = (size_t)rng_below(r, 21);
        tmpls[t].refs = xcalloc(tmpls[t].n, sizeof *tmpls[t].refs);
        uint64_t next_index = 0;
        gen_refs(g, r, (uint32_t)rng_below(r, g->nobj), t, tmpls[t].refs, 0, tmpls[t].n, &next_index);
    }

    for (uint32_t i = 0; i < g->nobj; i++) {
        struct obj *o = &g->o[i];
        o->type = (uint32_t)rng_below(r, g->ntypes);
        uint64_t dsize = g->types[o->type].dsize;
        o->flags = rng_chance(r, 2, 3) ? PHD_NODE_GC_TRACKED : 0;
        switch (rng_below(r, 4)) {
        case 0: /* the default, implicit */
        case 1:
            o->size = dsize;
            break;
        case 2: /* the default, but written explicitly (allowed) */
            o->size = dsize;
            if (rng_chance(r, 1, 3))
                o->flags |= PHD_NODE_SIZE;
            break;
        default:
            o->size = rng_chance(r, 1, 20) ? rng_next(r) >> 10 : rng_below(r, 100000);
            if (o->size == dsize)
                o->size++;
            o->flags |= PHD_NODE_SIZE;
            break;
        }
        o->refcnt = rng_chance(r, 1, 10) ? rng_bits(r) : rng_below(r, 50);
        o->addr = gen_addr(r, g->hdr.addr_shift, i);
        o->psid = NONE32;
        if (rng_chance(r, 1, 6)) {
            o->psid = (uint32_t)rng_below(r, g->nstr); /* a name preview by string id */
            o->flags |= PHD_NODE_PREVIEW;
        } else if (rng_chance(r, 1, 3)) {
            o->plen = 1 + (size_t)rng_below(r, PHD_PREVIEW_MAX);
            if (rng_chance(r, 1, 5))
                o->plen = PHD_PREVIEW_MAX;
            for (size_t k = 0; k < o->plen; k++)
                o->preview[k] = (unsigned char)rng_next(r);
            o->flags |= PHD_NODE_PREVIEW;
        } else if (rng_chance(r, 1, 4)) {
            /* an int (small, or any 64 bits) or a float (any bits: NaNs,
             * infinities, subnormals too) */
            o->pkind = rng_chance(r, 1, 2) ? PHD_PREVIEW_INT : PHD_PREVIEW_FLOAT;
            o->pnum = rng_chance(r, 1, 3) ? rng_below(r, 300) - 100 : rng_next(r);
            o->flags |= PHD_NODE_PREVIEW;
        }

        size_t n = (size_t)rng_below(r, 7);
        if (rng_chance(r, 1, 15))
            n = 20 + (size_t)rng_below(r, 60);
        if (big && i == g->nobj / 2)
            n = 1200 + (size_t)rng_below(r, 800); /* a record larger than 4 KiB */
        /* half the objects start like their type's template, as instances
         * of one class do (same class, same keys, same globals...), with a
         * few targets or names changed: this is what the sibling coding
         * compresses */
        const struct tmpl *tp = &tmpls[o->type];
        size_t m = 0;
        if (tp->n && rng_chance(r, 1, 2))
            m = rng_chance(r, 3, 4) ? tp->n : (size_t)rng_below(r, tp->n + 1);
        if (n < m)
            n = m + (size_t)rng_below(r, 3);
        if (g->nobj == 0)
            n = m = 0;
        o->refs = xcalloc(n, sizeof *o->refs);
        o->nrefs = n;
        uint64_t next_index = 0;
        for (size_t k = 0; k < m; k++) {
            struct ref *e = &o->refs[k];
            *e = tp->refs[k];
            if (e->kind != PHD_LABEL_TYPE && rng_chance(r, 1, 6))
                e->target = (uint32_t)rng_below(r, g->nobj);
            if (e->kind == PHD_LABEL_NAME && rng_chance(r, 1, 8))
                e->payload = rng_below(r, g->nstr);
            if (e->kind == PHD_LABEL_INDEX)
                next_index = e->payload + 1;
        }
        gen_refs(g, r, i, o->type, o->refs, m, n, &next_index);
    }
    for (uint32_t t = 0; t < g->ntypes; t++)
        free(tmpls[t].refs);
    free(tmpls);

    g->nroots = g->nobj ? (uint32_t)rng_below(r, 12) : 0;
    g->roots = xcalloc(g->nroots, sizeof *g->roots);
    for (uint32_t k = 0; k < g->nroots; k++) {
        g->roots[k].kind = 1 + (uint32_t)rng_below(r, PHD_ROOT_KIND_MAX);
        g->roots[k].obj = (uint32_t)rng_below(r, g->nobj);
        g->roots[k].tid = rng_chance(r, 1, 2) ? 0 : rng_next(r);
        g->roots[k].name = rng_chance(r, 1, 3) ? NONE32 : (uint32_t)rng_below(r, g->nstr);
    }
}

/* Numbers the objects in the order of the spec and plans every edge. */
static void number_graph(struct graph *g, struct rng *r)
{
    uint32_t n = g->nobj;
    g->order = xcalloc(n, sizeof *g->order);
    g->node_of = xcalloc(n, sizeof *g->node_of);
    g->edge_start = xcalloc((size_t)n + 1, sizeof *g->edge_start);
    size_t total_refs = 0;
    for (uint32_t i = 0; i < n; i++) {
        g->node_of[i] = NONE32;
        total_refs += g->o[i].nrefs;
    }
    g->etarget = xcalloc(total_refs, sizeof *g->etarget);
    g->elabel = xcalloc(total_refs, sizeof *g->elabel);
    g->plan = xcalloc(total_refs, sizeof *g->plan);

    /* seeds: the roots in order, then every object in a random order */
    uint32_t *seeds = xcalloc((size_t)g->nroots + n, sizeof *seeds);
    size_t nseeds = 0;
    for (uint32_t k = 0; k < g->nroots; k++)
        seeds[nseeds++] = g->roots[k].obj;
    uint32_t *perm = seeds + nseeds;
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)rng_below(r, i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    nseeds += n;

    uint32_t discovered = 0, head = 0;
    uint64_t e = 0;
    size_t s = 0;
    for (;;) {
        if (head == discovered) { /* queue empty: take the next undiscovered seed */
            while (s < nseeds && g->node_of[seeds[s]] != NONE32)
                s++;
            if (s == nseeds)
                break;
            g->node_of[seeds[s]] = discovered;
            g->order[discovered++] = seeds[s];
        }
        uint32_t i = head++;
        struct obj *o = &g->o[g->order[i]];
        g->edge_start[i] = e;
        g->total_size += o->size;
        for (size_t k = 0; k < o->nrefs; k++) {
            const struct ref *rf = &o->refs[k];
            uint32_t t = rf->target;
            unsigned kind = rf->kind;
            uint64_t payload = 0;
            if (kind == PHD_LABEL_TYPE && g->node_of[t] == NONE32)
                kind = PHD_LABEL_NAME; /* first sighting of the type: a named edge discovers it */
            struct eplan *pl = &g->plan[e];
            pl->discovered = discovered;
            pl->is_new = kind != PHD_LABEL_TYPE && g->node_of[t] == NONE32;
            if (pl->is_new) {
                g->node_of[t] = discovered;
                g->order[discovered++] = t;
            }
            switch (kind) {
            case PHD_LABEL_INDEX:
            case PHD_LABEL_NAME:
                payload = rf->payload;
                break;
            case PHD_LABEL_VALUE:
                payload = g->etarget[e - 1]; /* the key: the previous edge's target */
                break;
            default:
                break;
            }
            pl->target = g->node_of[t];
            pl->kind = kind;
            pl->payload = payload;
            g->etarget[e] = g->node_of[t];
            g->elabel[e] = PHD_LABEL_MAKE(kind, payload);
            e++;
        }
    }
    if (discovered != n) {
        fprintf(stderr, "test bug: numbered %u of %u objects\n", discovered, n);
        exit(2);
    }
    g->edge_start[n] = e;
    g->nedges = e;
    free(seeds);
}

/* ---- encoding ----------------------------------------------------------- */

/* The spec's sibling state, kept by the test's own encoder. */
struct ref_sibling {
    uint64_t addr;
    uint32_t n;
    uint32_t target[PHD_SIBLING_EDGES], label[PHD_SIBLING_EDGES];
};

enum { ENC_LIBRARY, ENC_SPEC_GREEDY, ENC_SPEC_RANDOM };

struct encoder {
    int mode;
    struct phd_encoder lib;
    struct ref_sibling *ref; /* per type id */
    struct rng *r;
    unsigned char *buf;
    size_t cap;
    unsigned long sibling_labels, sibling_targets, back_refs; /* test-encoder statistics */
    unsigned long addr_refs;
    int by_addr;             /* 1: old targets are given by address at random (version 3) */
    uint64_t last_addr;      /* the last one, >> addr_shift (both encoders: the same edges) */
};

static void put_varint(unsigned char **p, uint64_t v)
{
    *p = phd_varint_put(*p, v);
}

/* Encodes the edges of one node from docs/format.md alone.  Where the spec
 * allows a choice, ENC_SPEC_GREEDY always copies from the sibling and
 * ENC_SPEC_RANDOM tosses a coin. */
/* Whether edge e of a node goes by address (version 3): old targets, at
 * random, when the encoder does that. */
static uint64_t node_addr(const struct graph *g, uint32_t node);

static int addr_ref(struct encoder *en, const struct graph *g, const struct eplan *e)
{
    return en->by_addr && !e->is_new && e->kind != PHD_LABEL_TYPE &&
           phd_addr_ref_fits(en->last_addr, node_addr(g, e->target)) && rng_chance(en->r, 1, 4);
}

/* A node's address, >> addr_shift. */
static uint64_t node_addr(const struct graph *g, uint32_t node)
{
    return g->o[g->order[node]].addr >> g->hdr.addr_shift;
}

static unsigned char *spec_encode(struct encoder *en, unsigned char *p, const struct graph *g, uint32_t type,
                                  const struct eplan *pl, size_t n)
{
    struct ref_sibling *sib = &en->ref[type], cur;
    uint64_t next_index = 0;
    int prev_by_addr = 0;
    cur.n = 0;
    for (size_t k = 0; k < n; k++) {
        const struct eplan *e = &pl[k];
        int by_addr = addr_ref(en, g, e);
        /* a VALUE whose key went by address: its label says so */
        uint64_t payload = e->kind == PHD_LABEL_VALUE && prev_by_addr ? PHD_KEY_BY_ADDR : e->payload;
        uint32_t label = PHD_LABEL_MAKE(e->kind, payload);
        int known = k < sib->n;
        int coin = en->mode == ENC_SPEC_GREEDY || rng_chance(en->r, 1, 2);
        uint64_t tcode;
        if (e->kind == PHD_LABEL_TYPE || e->is_new) {
            tcode = 0;
        } else if (by_addr) {
            /* version 3: even codes >= 4, the zigzag address delta from the
             * previous target given by address */
            tcode = 4 + 2 * phd_zigzag((int64_t)(node_addr(g, e->target) - en->last_addr));
            en->last_addr = node_addr(g, e->target);
            en->addr_refs++;
        } else if (known && sib->target[k] == e->target && coin) {
            tcode = 2; /* version 2: 1 is an inline node */
            en->sibling_targets++;
        } else {
            /* version 3: odd codes >= 3, the target is older than discovered */
            tcode = 2 * (e->discovered - e->target) + 1;
            en->back_refs++;
        }
        prev_by_addr = by_addr;
        coin = en->mode == ENC_SPEC_GREEDY || rng_chance(en->r, 1, 2);
        if (known && sib->label[k] == label && coin) {
            put_varint(&p, (tcode << 3) | PHD_LABEL_SIBLING);
            if (e->kind == PHD_LABEL_INDEX)
                next_index = e->payload + 1;
            en->sibling_labels++;
        } else {
            put_varint(&p, (tcode << 3) | e->kind);
            if (e->kind == PHD_LABEL_INDEX) {
                put_varint(&p, e->payload - next_index);
                next_index = e->payload + 1;
            } else if (e->kind == PHD_LABEL_NAME) {
                put_varint(&p, e->payload);
            }
        }
        if (k < PHD_SIBLING_EDGES) {
            cur.target[k] = by_addr ? PHD_NO_TARGET : e->target;
            cur.label[k] = label;
            cur.n = (uint32_t)k + 1;
        }
    }
    sib->n = cur.n;
    memcpy(sib->target, cur.target, sizeof cur.target);
    memcpy(sib->label, cur.label, sizeof cur.label);
    return p;
}

/* Writes the record of node i, encoding its edges on the way as the agent
 * does: begin, edges, record (address delta against the type's sibling),
 * end. */
static int write_node(struct phd_writer *w, const struct graph *g, struct encoder *en, size_t i)
{
    const struct obj *o = &g->o[g->order[i]];
    const struct eplan *pl = &g->plan[g->edge_start[i]];
    size_t n = (size_t)(g->edge_start[i + 1] - g->edge_start[i]);
    if (n * PHD_EDGE_MAX > en->cap) {
        free(en->buf);
        en->cap = n * PHD_EDGE_MAX;
        en->buf = xcalloc(en->cap, 1);
    }
    unsigned char *p = en->buf;
    uint64_t *prev_addr;
    if (en->mode == ENC_LIBRARY) {
        if (phd_encoder_begin(&en->lib, o->type) != 0)
            return -1;
        int prev_by_addr = 0;
        for (size_t k = 0; k < n; k++) {
            int by_addr = addr_ref(en, g, &pl[k]);
            uint64_t payload = pl[k].kind == PHD_LABEL_VALUE && prev_by_addr ? PHD_KEY_BY_ADDR : pl[k].payload;
            if (by_addr) {
                p = phd_encoder_edge_addr(&en->lib, p, node_addr(g, pl[k].target), pl[k].kind, payload);
                en->last_addr = node_addr(g, pl[k].target);
                en->addr_refs++;
            } else {
                p = phd_encoder_edge(&en->lib, p, pl[k].discovered, pl[k].target, pl[k].is_new, pl[k].kind,
                                     payload);
            }
            prev_by_addr = by_addr;
        }
        prev_addr = phd_encoder_addr(&en->lib, o->type);
    } else {
        p = spec_encode(en, p, g, o->type, pl, n);
        prev_addr = &en->ref[o->type].addr;
    }
    struct phd_node_out rec = {
        .type = o->type,
        .flags = o->flags,
        .addr = o->addr,
        .size = o->size,
        .refcnt = o->refcnt,
        .preview = (const char *)o->preview,
        .preview_len = o->plen,
        .preview_sid = o->psid,
        .preview_kind = o->pkind,
        .preview_num = o->pnum,
        .nedges = (uint32_t)n,
        .edges = en->buf,
        .edges_len = (size_t)(p - en->buf),
    };
    int rc = phd_writer_node(w, prev_addr, g->hdr.addr_shift, &rec);
    if (en->mode == ENC_LIBRARY)
        phd_encoder_end(&en->lib);
    return rc;
}

/* ---- writing ------------------------------------------------------------ */

enum { SEC_STRINGS, SEC_TYPES, SEC_NODES, SEC_ROOTS, SEC_N };
static const uint32_t sec_kind[SEC_N] = {PHD_CHUNK_STRINGS, PHD_CHUNK_TYPES, PHD_CHUNK_NODES,
                                          PHD_CHUNK_ROOTS};

static size_t sec_count(const struct graph *g, int sec)
{
    switch (sec) {
    case SEC_STRINGS:
        return g->nstr;
    case SEC_TYPES:
        return g->ntypes;
    case SEC_NODES:
        return g->nobj;
    default:
        return g->nroots;
    }
}

static int write_record(struct phd_writer *w, const struct graph *g, int sec, size_t k, struct encoder *en)
{
    switch (sec) {
    case SEC_STRINGS:
        return phd_writer_string(w, (const char *)g->str[k], g->slen[k]);
    case SEC_TYPES: {
        const struct gtype *t = &g->types[k];
        return phd_writer_type(w, t->name, t->obj == NONE32 ? UINT32_MAX : g->node_of[t->obj], t->dsize);
    }
    case SEC_ROOTS: {
        const struct groot *rt = &g->roots[k];
        return phd_writer_root(w, rt->kind, g->node_of[rt->obj], rt->tid, rt->name);
    }
    default:
        return write_node(w, g, en, k);
    }
}

static void write_unknown_chunk(struct phd_writer *w, struct rng *r)
{
    static const uint32_t kinds[] = {6, 7, 0x100, 0x7ffffffe, 0x80000000u, 0xffffffffu};
    phd_writer_chunk_begin(w, kinds[rng_below(r, sizeof kinds / sizeof kinds[0])]);
    size_t n = 1 + (size_t)rng_below(r, 300);
    unsigned char *p = phd_writer_reserve(w, n);
    if (!p)
        return;
    for (size_t k = 0; k < n; k++)
        p[k] = (unsigned char)rng_next(r); /* garbage: a reader must not look */
    phd_writer_commit(w, p + n);
}

/* Writes g to fd; mode 0: whole sections in a random order, mode 1: records
 * of the four sections interleaved in random batches. */
static int write_graph(int fd, const struct graph *g, struct rng *r, size_t chunk_size, int mode,
                       int unknown, struct encoder *en)
{
    struct phd_writer w;
    if (phd_writer_init(&w, fd, chunk_size) != 0)
        return -1;
    phd_writer_header(&w, &g->hdr);
    /* half of the files are written by the writer's background thread:
     * the reader must not tell them apart */
    if (rng_chance(r, 1, 2) && phd_writer_background(&w) != 0)
        return -1;
    size_t next[SEC_N] = {0};
    int rc = 0;
    int secs[SEC_N] = {0, 1, 2, 3};
    for (int i = SEC_N; i > 1; i--) {
        int j = (int)rng_below(r, (uint64_t)i);
        int t = secs[i - 1];
        secs[i - 1] = secs[j];
        secs[j] = t;
    }
    for (;;) {
        int left[SEC_N], nleft = 0;
        for (int k = 0; k < SEC_N; k++)
            if (next[secs[k]] < sec_count(g, secs[k]))
                left[nleft++] = secs[k];
        if (!nleft)
            break;
        int sec = mode == 0 ? left[0] : left[rng_below(r, (uint64_t)nleft)];
        size_t batch = mode == 0 ? SIZE_MAX : 1 + (size_t)rng_below(r, 40);
        if (unknown && rng_chance(r, 1, 3))
            write_unknown_chunk(&w, r);
        phd_writer_chunk_begin(&w, sec_kind[sec]);
        for (; batch && next[sec] < sec_count(g, sec); batch--, next[sec]++)
            if (write_record(&w, g, sec, next[sec], en) < 0)
                rc = -1;
    }
    if (unknown && rng_chance(r, 1, 2))
        write_unknown_chunk(&w, r);
    struct phd_footer f = {
        .nodes = g->nobj,
        .edges = g->nedges,
        .total_size = g->total_size,
        .strings = g->nstr,
        .types = g->ntypes,
        .roots = g->nroots,
    };
    if (phd_writer_finish(&w, &f) != 0)
        rc = -1;
    phd_writer_release(&w);
    return rc;
}

/* ---- checking ----------------------------------------------------------- */

/* Walks the chunk chain of a written file; counts chunks per known kind and
 * checks that no chunk is empty and that the footer is where it belongs. */
static void walk_chunks(const unsigned char *b, size_t len, size_t counts[SEC_N + 1])
{
    size_t off = PHD_HEADER_SIZE;
    CHECK(len >= PHD_HEADER_SIZE + PHD_FOOTER_SIZE);
    while (off + PHD_CHUNK_HEADER_SIZE <= len) {
        uint32_t kind = t_get_u32(b + off);
        uint64_t clen = t_get_u64(b + off + 8);
        CHECK(t_get_u32(b + off + 4) == 0);
        if (kind == PHD_CHUNK_FOOTER) {
            CHECK(clen == PHD_FOOTER_PAYLOAD);
            CHECK(off + PHD_FOOTER_SIZE == len);
            return;
        }
        CHECK(clen > 0);
        CHECK(clen <= len - off - PHD_CHUNK_HEADER_SIZE);
        int sec = SEC_N;
        for (int k = 0; k < SEC_N; k++)
            if (sec_kind[k] == kind)
                sec = k;
        counts[sec]++;
        off += PHD_CHUNK_HEADER_SIZE + (size_t)clen;
    }
    CHECKF(0, "no footer found by walking the chunks");
}

static int header_equal(const struct phd_header *a, const struct phd_header *b)
{
    return a->version == b->version && a->pointer_size == b->pointer_size && a->addr_shift == b->addr_shift &&
           a->py_major == b->py_major && a->py_minor == b->py_minor && a->py_micro == b->py_micro &&
           a->flags == b->flags && a->pid == b->pid && a->start_time_ns == b->start_time_ns &&
           a->timestamp_ns == b->timestamp_ns;
}

static void check_counts(const struct phd_snapshot *s, const struct graph *g, const char *what, int run)
{
    CHECKF(header_equal(&s->hdr, &g->hdr), "run %d %s: header differs", run, what);
    CHECKF(s->n_nodes == g->nobj, "run %d %s: %u nodes, wrote %u", run, what, s->n_nodes, g->nobj);
    CHECKF(s->n_edges == g->nedges, "run %d %s: %" PRIu64 " edges, wrote %" PRIu64, run, what, s->n_edges,
           g->nedges);
    CHECK(s->n_strings == g->nstr);
    CHECK(s->n_types == g->ntypes);
    CHECK(s->n_roots == g->nroots);
    CHECK(s->total_size == g->total_size);
}

/* Compares a fully loaded snapshot with the graph (one CHECK per array, so
 * that a broken reader reports the first differing element, not thousands). */
static void check_snapshot(const struct phd_snapshot *s, const struct graph *g, const char *what, int run)
{
    unsigned long before = t_failed;
    check_counts(s, g, what, run);
    if (t_failed != before)
        return; /* the arrays cannot be compared */

    /* the reader repairs strings (pyheapdiff/text.h): compare with the
     * repaired bytes, and count the strings that needed it */
    int ok = 1;
    uint32_t repaired = 0;
    for (uint32_t i = 0; i < g->nstr; i++) {
        unsigned char *want = xcalloc(3 * (size_t)g->slen[i] + 1, 1);
        size_t bad = 0, n = phd_utf8_repair(g->str[i], g->slen[i], want, &bad);
        repaired += bad != 0;
        ok &= s->str_len[i] == n && memcmp(s->str[i], want, n) == 0 && s->str[i][n] == 0 &&
              strlen(s->str[i]) == n;
        free(want);
    }
    CHECKF(ok && repaired == s->n_repaired_strings, "run %d %s: strings differ", run, what);

    ok = 1;
    for (uint32_t t = 0; t < g->ntypes; t++) {
        const struct gtype *gt = &g->types[t];
        uint32_t node = gt->obj == NONE32 ? UINT32_MAX : g->node_of[gt->obj];
        ok &= s->types[t].name == gt->name && s->types[t].node == node && s->types[t].default_size == gt->dsize;
        ok &= phd_snapshot_type_name(s, t) == s->str[gt->name];
    }
    CHECKF(ok, "run %d %s: types differ", run, what);
    CHECK(strcmp(phd_snapshot_type_name(s, g->ntypes), "?") == 0);

    ok = 1;
    for (uint32_t k = 0; k < g->nroots; k++) {
        const struct groot *rt = &g->roots[k];
        ok &= s->roots[k].kind == rt->kind && s->roots[k].node == g->node_of[rt->obj] &&
              s->roots[k].thread_id == rt->tid && s->roots[k].name == rt->name;
    }
    CHECKF(ok, "run %d %s: roots differ", run, what);

    uint32_t bad_node = NONE32;
    for (uint32_t i = 0; i < g->nobj && bad_node == NONE32; i++) {
        const struct obj *o = &g->o[g->order[i]];
        int nok = s->addr[i] == o->addr && phd_snapshot_size(s, i) == o->size && s->refcnt[i] == (o->refcnt > UINT32_MAX ? UINT32_MAX : o->refcnt) &&
                  s->type[i] == o->type && s->flags[i] == (o->flags & 7) &&
                  s->edge_start[i] == g->edge_start[i] && s->edge_start[i + 1] == g->edge_start[i + 1];
        /* a preview by string id is the repaired string */
        unsigned char *rep = NULL;
        const unsigned char *want = o->preview;
        size_t wlen = o->plen;
        if (o->psid != NONE32) {
            rep = xcalloc(3 * (size_t)g->slen[o->psid] + 1, 1);
            wlen = phd_utf8_repair(g->str[o->psid], g->slen[o->psid], rep, NULL);
            want = rep;
        }
        char *buf = xcalloc(wlen + 64, 1);
        int pl = phd_snapshot_preview(s, i, buf, wlen + 8);
        if (o->pkind != PHD_PREVIEW_TEXT) {
            /* the text reads back as the value (what the text is exactly:
             * test_floatrepr.c and test_float_repr.py) */
            pl = phd_snapshot_preview(s, i, buf, 63);
            char *end = NULL;
            if (pl <= 0) {
                nok = 0;
            } else if (o->pkind == PHD_PREVIEW_INT) {
                nok &= strtoll(buf, &end, 10) == (long long)(int64_t)o->pnum && end == buf + pl;
            } else {
                double want_x, got_x = strtod(buf, &end);
                memcpy(&want_x, &o->pnum, sizeof want_x);
                uint64_t got_bits;
                memcpy(&got_bits, &got_x, sizeof got_bits);
                nok &= end == buf + pl && (isnan(want_x) ? isnan(got_x) != 0 : got_bits == o->pnum);
            }
        } else if (o->flags & PHD_NODE_PREVIEW) {
            nok &= s->preview[i] != 0 && pl == (int)wlen && memcmp(buf, want, wlen) == 0;
            /* a smaller buffer gets a prefix */
            size_t cap = wlen / 2;
            memset(buf, 0x5a, wlen + 8);
            pl = phd_snapshot_preview(s, i, buf, cap);
            nok &= pl == (int)cap && memcmp(buf, want, cap) == 0 && (unsigned char)buf[cap] == 0x5a;
        } else {
            nok &= s->preview[i] == 0 && pl == -1;
        }
        free(buf);
        free(rep);
        if (!nok)
            bad_node = i;
    }
    CHECKF(bad_node == NONE32, "run %d %s: node %u differs", run, what, bad_node);

    uint64_t bad_edge = UINT64_MAX;
    for (uint64_t e = 0; e < g->nedges && bad_edge == UINT64_MAX; e++)
        if (s->edge_target[e] != g->etarget[e] || s->edge_label[e] != g->elabel[e])
            bad_edge = e;
    CHECKF(bad_edge == UINT64_MAX, "run %d %s: edge %" PRIu64 " differs (target %u label %#x, want %u %#x)",
           run, what, bad_edge, bad_edge == UINT64_MAX ? 0 : s->edge_target[bad_edge],
           bad_edge == UINT64_MAX ? 0 : s->edge_label[bad_edge], bad_edge == UINT64_MAX ? 0 : g->etarget[bad_edge],
           bad_edge == UINT64_MAX ? 0 : g->elabel[bad_edge]);
    char buf[8];
    CHECK(phd_snapshot_preview(s, g->nobj, buf, sizeof buf) == -1);
}

static struct {
    size_t runs, multi_chunk_runs, max_nodes_chunks, unknown_runs, big_chunk_runs, label_kinds[8];
    size_t enc_runs[3], sid_previews, num_previews;
    unsigned long sibling_labels, sibling_targets, back_refs, addr_refs;
} stats;

static void encoder_init(struct encoder *en, int mode, const struct graph *g, struct rng *r)
{
    memset(en, 0, sizeof *en);
    en->mode = mode;
    en->r = r;
    phd_encoder_init(&en->lib);
    en->ref = xcalloc(g->ntypes, sizeof *en->ref);
}

static void encoder_release(struct encoder *en)
{
    stats.sibling_labels += en->sibling_labels;
    stats.sibling_targets += en->sibling_targets;
    stats.back_refs += en->back_refs;
    stats.addr_refs += en->addr_refs;
    phd_encoder_release(&en->lib);
    free(en->ref);
    free(en->buf);
}

static void one_run(int run)
{
    struct rng r;
    rng_seed(&r, 0x5eed0000u + (uint64_t)run);
    struct graph g;
    gen_graph(&g, &r, run);
    number_graph(&g, &r);

    size_t chunk_size = rng_chance(&r, 3, 4) ? 4096 : (rng_chance(&r, 1, 2) ? 1u << 20 : 65536);
    int mode = (int)rng_below(&r, 2);
    int unknown = rng_chance(&r, 1, 4);
    int enc_mode = run % 3; /* library, spec greedy, spec random */

    char path[256];
    int fd = t_mkstemp(path, "roundtrip");
    CHECK(fd >= 0);
    if (fd < 0) {
        graph_free(&g);
        return;
    }
    struct encoder en;
    encoder_init(&en, enc_mode, &g, &r);
    en.by_addr = rng_chance(&r, 1, 2);
    CHECKF(write_graph(fd, &g, &r, chunk_size, mode, unknown, &en) == 0, "run %d: write failed: %s", run,
           strerror(errno));
    close(fd);
    encoder_release(&en);

    struct phd_error err = {{0}};
    struct phd_snapshot *s = NULL;
    int rc = phd_snapshot_open(&s, path, 0, &err);
    CHECKF(rc == 0 && s, "run %d: open failed: %s", run, err.msg);
    if (rc == 0) {
        CHECK(strcmp(s->path, path) == 0);
        check_snapshot(s, &g, "open", run);
        phd_snapshot_free(&s);
        CHECK(s == NULL);
    }

    /* the header-only open: header, counts and checksum, no arrays */
    rc = phd_snapshot_open(&s, path, PHD_OPEN_HEADER_ONLY, &err);
    CHECKF(rc == 0, "run %d: header-only open failed: %s", run, err.msg);
    if (rc == 0) {
        check_counts(s, &g, "header-only", run);
        CHECK(s->addr == NULL && s->edge_target == NULL);
        phd_snapshot_free(&s);
    }

    /* the same bytes parsed from memory (an exact-size heap copy, so that a
     * sanitizer sees any read past the end) */
    size_t len = 0;
    unsigned char *b = t_read_file(path, &len);
    CHECK(b != NULL);
    if (b) {
        size_t counts[SEC_N + 1] = {0};
        walk_chunks(b, len, counts);
        unsigned char *exact = xcalloc(len, 1);
        memcpy(exact, b, len);
        rc = phd_snapshot_parse(&s, "in-memory", exact, len, 0, &err);
        CHECKF(rc == 0, "run %d: parse failed: %s", run, err.msg);
        if (rc == 0) {
            CHECK(strcmp(s->path, "in-memory") == 0);
            check_snapshot(s, &g, "parse", run);
            phd_snapshot_free(&s);
        }
        free(exact);
        stats.runs++;
        if (counts[SEC_NODES] > 1)
            stats.multi_chunk_runs++;
        if (counts[SEC_NODES] > stats.max_nodes_chunks)
            stats.max_nodes_chunks = counts[SEC_NODES];
        if (counts[SEC_N])
            stats.unknown_runs++;
        if (chunk_size > 4096)
            stats.big_chunk_runs++;
        stats.enc_runs[enc_mode]++;
        for (uint32_t i = 0; i < g.nobj; i++) {
            stats.sid_previews += g.o[i].psid != NONE32;
            stats.num_previews += g.o[i].pkind != PHD_PREVIEW_TEXT;
        }
        for (uint64_t e = 0; e < g.nedges; e++)
            stats.label_kinds[PHD_LABEL_KIND(g.elabel[e])]++;
        free(b);
    }
    unlink(path);
    graph_free(&g);
}

/* Returns the payload of the first NODES chunk of a file image, or NULL. */
static const unsigned char *find_nodes_chunk(const unsigned char *b, size_t len, size_t *plen)
{
    size_t off = PHD_HEADER_SIZE;
    while (off + PHD_CHUNK_HEADER_SIZE <= len) {
        uint64_t clen = t_get_u64(b + off + 8);
        if (t_get_u32(b + off) == PHD_CHUNK_NODES) {
            *plen = (size_t)clen;
            return b + off + PHD_CHUNK_HEADER_SIZE;
        }
        if (clen > len - off - PHD_CHUNK_HEADER_SIZE)
            break;
        off += PHD_CHUNK_HEADER_SIZE + (size_t)clen;
    }
    return NULL;
}

/* A hand-checked graph: the exact node order, and the exact bytes of the
 * sibling coding for the library's encoder and the test's greedy one. */
static void test_known_order(void)
{
    /* objects, all of type 0: 0 -> 1, 2 ; 1 -> 0, 3 ; 2 -> 2 ; 3 -> (none) ;
     * 4 -> 1 ; root: 0 */
    struct graph g;
    memset(&g, 0, sizeof g);
    g.hdr.version = 1;
    g.hdr.pointer_size = 8;
    g.hdr.addr_shift = 3;
    g.nobj = 5;
    g.nstr = 1;
    g.ntypes = 1;
    g.nroots = 1;
    g.str = xcalloc(1, sizeof *g.str);
    g.slen = xcalloc(1, sizeof *g.slen);
    g.str[0] = (unsigned char *)strdup("object");
    g.slen[0] = 6;
    g.types = xcalloc(1, sizeof *g.types);
    g.types[0] = (struct gtype){0, NONE32, 16};
    g.roots = xcalloc(1, sizeof *g.roots);
    g.roots[0] = (struct groot){PHD_ROOT_MODULES, 0, 0, NONE32};
    g.o = xcalloc(5, sizeof *g.o);
    static const uint32_t adj[5][3] = {{2, 1, 2}, {2, 0, 3}, {1, 2, 0}, {0, 0, 0}, {1, 1, 0}};
    for (uint32_t i = 0; i < 5; i++) {
        g.o[i].addr = 0x1000 + 16 * i;
        g.o[i].size = 16;
        g.o[i].psid = NONE32;
        g.o[i].refs = xcalloc(3, sizeof *g.o[i].refs);
        g.o[i].nrefs = adj[i][0];
        for (uint32_t k = 0; k < adj[i][0]; k++)
            g.o[i].refs[k] = (struct ref){adj[i][k + 1], PHD_LABEL_NONE, 0};
    }
    struct rng r;
    rng_seed(&r, 99);
    number_graph(&g, &r);
    /* BFS from 0: 0 (seed), 1, 2 (by 0), 3 (by 1); then the seed 4 */
    CHECK(g.node_of[0] == 0 && g.node_of[1] == 1 && g.node_of[2] == 2 && g.node_of[3] == 3 &&
          g.node_of[4] == 4);
    /* node records: head (type 0, no flags), zigzag address delta against the
     * previous node of the type (2 = 16 bytes >> 3, zigzag 4), refcount 0,
     * edge count, edges (tcode << 3 | kind; kind 7 copies the sibling's label) */
    static const unsigned char want[] = {
        0x00, 0x80, 0x08, 0x00, 0x02, 0x00, 0x00, /* N0: addr 0x200; -> 1 (new), 2 (new) */
        0x00, 0x04, 0x00, 0x02, 0x3f, 0x07,       /* N1: -> 0 (discovered 3, t 2*3+1), 3 (new); labels copied */
        0x00, 0x04, 0x00, 0x01, 0x2f,             /* N2: -> 2 (discovered 4, t 2*2+1); label copied */
        0x00, 0x04, 0x00, 0x00,                   /* N3: no edges (its sibling now has none) */
        0x00, 0x04, 0x00, 0x01, 0x48,             /* N4 (a seed): -> 1 (discovered 5, t 2*4+1), explicit */
    };

    for (int enc_mode = ENC_LIBRARY; enc_mode <= ENC_SPEC_RANDOM; enc_mode++) {
        char path[256];
        int fd = t_mkstemp(path, "order");
        if (fd < 0)
            continue;
        struct encoder en;
        encoder_init(&en, enc_mode, &g, &r);
        CHECK(write_graph(fd, &g, &r, 4096, 0, 0, &en) == 0);
        encoder_release(&en);
        close(fd);
        size_t len = 0, plen = 0;
        unsigned char *b = t_read_file(path, &len);
        const unsigned char *nodes = b ? find_nodes_chunk(b, len, &plen) : NULL;
        CHECK(nodes != NULL);
        if (nodes && enc_mode != ENC_SPEC_RANDOM)
            CHECKF(plen == sizeof want && memcmp(nodes, want, plen) == 0, "encoder %d: node records differ",
                   enc_mode);
        free(b);
        struct phd_error err;
        struct phd_snapshot *s;
        CHECKF(phd_snapshot_open(&s, path, 0, &err) == 0, "%s", err.msg);
        if (s) {
            static const uint32_t targets[] = {1, 2, 0, 3, 2, 1};
            CHECK(s->n_edges == 6);
            for (int e = 0; e < 6; e++)
                CHECK(s->edge_target[e] == targets[e] && s->edge_label[e] == PHD_LABEL_NONE);
            CHECK(s->edge_start[0] == 0 && s->edge_start[1] == 2 && s->edge_start[2] == 4 &&
                  s->edge_start[3] == 5 && s->edge_start[4] == 5 && s->edge_start[5] == 6);
            for (uint32_t i = 0; i < 5; i++)
                CHECK(s->addr[i] == 0x1000 + 16 * i);
            CHECK(s->total_size == 80);
            phd_snapshot_free(&s);
        }
        unlink(path);
    }
    graph_free(&g);
}

/* The writer's errors are sticky and reported by phd_writer_finish(). */
static void test_writer_errors(void)
{
    struct phd_writer w;
    struct phd_header h = {.version = 1, .pointer_size = 8, .addr_shift = 3};
    struct phd_footer f = {0};

    CHECK(phd_writer_init(&w, -1, 0) == 0);
    CHECK(w.cap >= 4096); /* chunk sizes below 4 KiB are raised */
    phd_writer_header(&w, &h);
    CHECK(w.err == EBADF);
    phd_writer_chunk_begin(&w, PHD_CHUNK_STRINGS);
    CHECK(phd_writer_reserve(&w, 10) == NULL);
    CHECK(phd_writer_string(&w, "abc", 3) == -1);
    CHECK(phd_writer_type(&w, 0, UINT32_MAX, 16) == -1);
    CHECK(phd_writer_root(&w, 1, 0, 0, UINT32_MAX) == -1);
    uint64_t prev = 0;
    struct phd_node_out n = {0};
    CHECK(phd_writer_node(&w, &prev, 3, &n) == -1);
    CHECK(phd_writer_finish(&w, &f) == EBADF);
    phd_writer_release(&w);
    CHECK(w.buf == NULL);

    /* a full disk: /dev/full fails every write with ENOSPC */
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        CHECK(phd_writer_init(&w, fileno(full), 4096) == 0);
        phd_writer_header(&w, &h);
        phd_writer_chunk_begin(&w, PHD_CHUNK_STRINGS);
        (void)phd_writer_string(&w, "abc", 3);
        CHECK(phd_writer_finish(&w, &f) == ENOSPC);
        phd_writer_release(&w);
        /* the same error from the background thread, over many chunks */
        CHECK(phd_writer_init(&w, fileno(full), 4096) == 0);
        CHECK(phd_writer_background(&w) == 0);
        phd_writer_chunk_begin(&w, PHD_CHUNK_STRINGS);
        int failed = 0;
        for (int i = 0; i < 10000 && !failed; i++)
            failed = phd_writer_string(&w, "a string of some length", 23) < 0;
        CHECK(failed); /* learnt at a hand-over */
        CHECK(phd_writer_finish(&w, &f) == ENOSPC);
        phd_writer_release(&w);
        CHECK(w.buf == NULL && w.bg == NULL);
        fclose(full);
    }

    /* a good empty snapshot: header + footer only, 128 bytes */
    char path[256];
    int fd = t_mkstemp(path, "empty");
    if (fd >= 0) {
        CHECK(phd_writer_init(&w, fd, 4096) == 0);
        phd_writer_header(&w, &h);
        phd_writer_chunk_begin(&w, PHD_CHUNK_NODES); /* empty chunks are not written */
        phd_writer_chunk_end(&w);
        CHECK(phd_writer_finish(&w, &f) == 0);
        CHECK(w.offset == PHD_HEADER_SIZE + PHD_FOOTER_SIZE);
        phd_writer_release(&w);
        close(fd);
        struct phd_error err;
        struct phd_snapshot *s;
        CHECKF(phd_snapshot_open(&s, path, 0, &err) == 0, "%s", err.msg);
        if (s) {
            CHECK(s->n_nodes == 0 && s->n_edges == 0 && s->n_strings == 0 && s->map_len == 128);
            phd_snapshot_free(&s);
        }
        unlink(path);
    }
}

static void test_names(void)
{
    CHECK(strcmp(phd_root_kind_name(PHD_ROOT_MODULES), "modules") == 0);
    CHECK(strcmp(phd_root_kind_name(PHD_ROOT_FRAME), "frame") == 0);
    CHECK(strcmp(phd_root_kind_name(0), "?") == 0);
    CHECK(strcmp(phd_root_kind_name(7), "?") == 0);
    CHECK(strcmp(phd_root_kind_name(UINT32_MAX), "?") == 0);
    CHECK(strcmp(phd_label_kind_name(PHD_LABEL_NONE), "none") == 0);
    CHECK(strcmp(phd_label_kind_name(PHD_LABEL_VALUE), "value") == 0);
    CHECK(strcmp(phd_label_kind_name(PHD_LABEL_TYPE), "type") == 0);
    CHECK(strcmp(phd_label_kind_name(7), "?") == 0);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 400;
    test_names();
    test_writer_errors();
    test_known_order();
    for (int run = 0; run < runs; run++)
        one_run(run);
    printf("%zu graphs (library encoder %zu, spec greedy %zu, spec random %zu); %zu with several NODES "
           "chunks (max %zu), %zu with unknown chunks, %zu with chunks > 4 KiB; %zu string-id previews, %zu numbers\n",
           stats.runs, stats.enc_runs[0], stats.enc_runs[1], stats.enc_runs[2], stats.multi_chunk_runs,
           stats.max_nodes_chunks, stats.unknown_runs, stats.big_chunk_runs, stats.sid_previews, stats.num_previews);
    printf("test encoders: %lu sibling labels, %lu sibling targets, %lu back-references, %lu by address; edges "
           "by label kind:",
           stats.sibling_labels, stats.sibling_targets, stats.back_refs, stats.addr_refs);
    for (int k = 0; k < 7; k++)
        printf(" %s %zu", phd_label_kind_name((uint32_t)k), stats.label_kinds[k]);
    printf("\n");
    /* the generator must actually have produced what it is meant to cover */
    CHECK(runs < 100 || stats.multi_chunk_runs >= 10);
    CHECK(runs < 100 || stats.unknown_runs >= 10);
    CHECK(runs < 100 || stats.big_chunk_runs >= 10);
    CHECK(runs < 100 || (stats.sibling_labels >= 100 && stats.sibling_targets >= 100 && stats.back_refs >= 100 &&
                         stats.addr_refs >= 100));
    CHECK(runs < 100 || stats.sid_previews >= 100);
    CHECK(runs < 100 || stats.num_previews >= 100);
    for (int k = 0; k < 7; k++)
        CHECKF(runs < 100 || stats.label_kinds[k] > 0, "no %s edges generated", phd_label_kind_name((uint32_t)k));
    return t_summary("test_roundtrip");
}
