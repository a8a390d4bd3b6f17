/*
 * gen_snapshot.c - writes a synthetic snapshot of any size straight in the
 * format (docs/format.md), through the writer and edge encoder the agent
 * uses, for the scale benchmark (bench/bench_scale.py):
 *
 *   gen_snapshot [--objects N] [--seed S] [--after GROWTH] [--churn PERMILLE] OUT.snap
 *
 * The heap looks like a service's: sys.modules holds builtins (whose dict
 * holds the shared leaves: 262 immortal small ints and 4096 interned
 * strings) and 40 application modules.  Each module dict holds functions
 * (code, consts and names tuples, co_code bytes), classes (their dict of
 * methods and an __mro__ tuple that holds the class: a cycle) and
 * registries: lists of instances of six user classes.  An instance has
 * its class (a TYPE edge), an id and a name (unique leaves, written
 * inline), a tags list (mostly interned strings), a meta dict, a pair
 * tuple, often a parent (a back reference to an earlier instance of its
 * class), sometimes a nested app.models.Address whose owner is the
 * instance (a two-object cycle) or a closure whose cell holds the
 * instance (a four-object cycle); a few are also held by a thread's
 * frame, a few by C code (refcount above the references found), and a
 * few unreachable cycles are left for the collector.  About 45 % of the
 * objects are inline leaves, as in the agent's snapshots.
 *
 * --after GROWTH writes the "later" snapshot B of the same process (same
 * pid and start time): the same objects at the same addresses, except
 * that CHURN per mille of the instances (and what they own) were freed
 * and replaced (new addresses), and the app.cache registry holds GROWTH
 * more app.cache.Session instances with their objects: what diff and
 * leaks should find.
 *
 * Deterministic from the seed: every decision about an object comes from
 * a hash of the seed and the object's ordinal among the base objects
 * (not its node index, which growth shifts), and every address from a
 * per-type bump counter, so A and B agree object for object.
 *
 * Streaming: node indices are discovery order (breadth-first), so the
 * only state per object is the queue of objects discovered but not yet
 * written (8 bytes each; about a tenth of the objects at its largest).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyheapdiff/format.h"

/* ---- what the heap is made of --------------------------------------- */

enum type_id {
    T_TYPE, T_MODULE, T_DICT, T_LIST, T_TUPLE, T_STR, T_INT, T_FUNCTION, T_CODE, T_CELL, T_FLOAT, T_BYTES,
    T_CLASS0, /* the user classes follow */
};
#define N_REG_CLASSES 6 /* classes of registry instances */
#define C_ADDRESS 6
#define C_SESSION 7
#define N_CLASSES 8
#define N_TYPES (T_CLASS0 + N_CLASSES)
static const char *const type_names[N_TYPES] = {
    "type", "module", "dict", "list", "tuple", "str", "int", "function", "code", "cell", "float", "bytes",
    "app.models.User", "app.models.Order", "app.models.Product", "app.events.Event", "app.db.Row",
    "app.http.Request", "app.models.Address", "app.cache.Session",
};
static const uint64_t type_size[N_TYPES] = {1072, 72, 232, 56, 56, 49, 28, 152, 176, 40, 24, 33,
                                            56, 56, 56, 56, 56, 56, 56, 56};

/* what a queued object is (struct pend.kind) */
enum kind {
    K_SYSMODULES, K_MODULE, K_BUILTINS_DICT, K_MODDICT, K_POOLSTR, K_SMALLINT, K_FUNCTION, K_CODE, K_CONSTS,
    K_NAMES, K_CLASS, K_CLASSDICT, K_MRO, K_REGISTRY, K_INSTANCE, K_TAGS, K_META, K_PAIR, K_CLOSURE,
    K_CLOSURE_CELLS, K_CELL, K_GARBAGE, K_GARBAGE2,
};

/* labels (string ids 0..) */
enum {
    S_DICT, S_MRO, S_CODE, S_GLOBALS, S_CLOSURE, S_CELL_CONTENTS, S_CONSTS, S_NAMES, S_CO_CODE, S_ID, S_NAME,
    S_TAGS, S_META, S_PAIR, S_PARENT, S_ADDRESS, S_OWNER, S_CALLBACK, S_STREET, S_FRAME, S_STATUS, S_KIND, S_FIXED
};
static const char *const fixed_strings[S_FIXED] = {
    "__dict__", "__mro__", "__code__", "__globals__", "__closure__", "cell_contents", "co_consts", "co_names",
    "co_code", "id", "name", "tags", "meta", "pair", "parent", "address", "owner", "callback", "street",
    "serve (app/server.py:88) local request", "status", "kind",
};
#define N_APP_MODULES 40
#define N_MODULES (N_APP_MODULES + 2) /* builtins, the app modules, app.cache */
#define N_POOL 4096                   /* interned strings */
#define N_SMALLINT 262                /* -5 .. 256 */
#define FUNCS_PER_MODULE 30
#define REGS_PER_MODULE 4
#define N_RECENT 64 /* recent instances per class, for parent references */
#define N_GARBAGE 1000
/* string ids after the fixed ones and the type names */
#define S_TYPE0 S_FIXED
#define S_MODULE0 (S_TYPE0 + N_TYPES)
#define S_POOL0 (S_MODULE0 + N_MODULES)
#define N_STRINGS (S_POOL0 + N_POOL)

/* ---- the generator's state ------------------------------------------ */

/* An object discovered but not yet written. */
struct pend {
    uint8_t kind, flags;
    uint16_t aux;   /* class, module or pool index */
    uint32_t param; /* a node index: the module dict, the owner */
    uint32_t idx;   /* its own node index */
};
enum { F_GROWTH = 1, F_CHURN = 2 };

struct gen {
    uint64_t seed, target, growth;
    int after;      /* writing B */
    unsigned churn; /* per mille of B's instances replaced */
    struct phd_writer w;
    struct phd_encoder enc;
    /* the queue: a ring of pend, indices next .. discovered - 1 */
    struct pend *q;
    size_t qcap, qhead, qlen;
    uint64_t discovered, edges, total_size;
    /* the object being written */
    unsigned char *eb;
    size_t elen, ecap;
    uint32_t nedges;
    uint64_t ord;   /* base objects written so far (inline ones included) */
    uint64_t gord;  /* growth objects written so far */
    uint8_t flags;  /* of the object being written, inherited by what it discovers */
    uint64_t counter[N_TYPES][2]; /* per type: base and growth objects, for addresses */
    uint32_t pool[N_POOL], smallint[N_SMALLINT], class_node[N_CLASSES], moddict[N_MODULES];
    uint32_t recent[N_CLASSES][N_RECENT];
    uint64_t n_recent[N_CLASSES];
    uint32_t builtins_dict;
    uint64_t instances_left, regs_left;
    uint32_t frame_roots[16];
    unsigned n_frame_roots;
    char *strings[N_STRINGS];
};

static void die(const char *msg)
{
    fprintf(stderr, "gen_snapshot: %s\n", msg);
    exit(1);
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* The k-th random number of the object being written. */
static uint64_t rnd(const struct gen *g, unsigned k)
{
    uint64_t o = g->flags & F_GROWTH ? g->gord | 1ull << 55 : g->ord;
    return mix(g->seed ^ mix((o << 8) | k));
}

static void push(struct gen *g, struct pend p)
{
    if (g->qlen == g->qcap) {
        size_t ncap = g->qcap ? g->qcap * 2 : 1 << 16;
        struct pend *nq = malloc(ncap * sizeof *nq);
        if (!nq)
            die("out of memory for the queue");
        for (size_t k = 0; k < g->qlen; k++)
            nq[k] = g->q[(g->qhead + k) % g->qcap];
        free(g->q);
        g->q = nq;
        g->qcap = ncap;
        g->qhead = 0;
    }
    g->q[(g->qhead + g->qlen++) % g->qcap] = p;
}

static struct pend pop(struct gen *g)
{
    struct pend p = g->q[g->qhead];
    g->qhead = (g->qhead + 1) % g->qcap;
    g->qlen--;
    return p;
}

/* The address of the next object of type t: a region per type, growth
 * and replaced objects elsewhere in it, so that A and B agree on the rest. */
static uint64_t alloc_addr(struct gen *g, uint32_t t, uint8_t flags)
{
    uint64_t base = 0x7f0000000000u + ((uint64_t)t << 37);
    if (flags & F_GROWTH)
        return base + (1ull << 36) + g->counter[t][1]++ * 64;
    uint64_t a = base + g->counter[t][0]++ * 64;
    return flags & F_CHURN ? a + (1ull << 35) : a;
}

static void edge_room(struct gen *g)
{
    size_t need = g->elen + PHD_EDGE_MAX + PHD_INLINE_MAX;
    if (need > g->ecap) {
        size_t nc = g->ecap ? g->ecap * 2 : 4096;
        while (nc < need)
            nc *= 2;
        unsigned char *nb = realloc(g->eb, nc);
        if (!nb)
            die("out of memory for a record");
        g->eb = nb;
        g->ecap = nc;
    }
}

static void emit(struct gen *g, uint32_t target, int how, unsigned kind, uint64_t payload)
{
    edge_room(g);
    unsigned char *end = phd_encoder_edge(&g->enc, g->eb + g->elen, g->discovered, target, how, kind, payload);
    g->elen = (size_t)(end - g->eb);
    g->nedges++;
}

/* An edge to an object discovered before. */
static void edge_old(struct gen *g, uint32_t target, unsigned kind, uint64_t payload)
{
    emit(g, target, PHD_TARGET_OLD, kind, payload);
}

/* An edge discovering a new object, queued; returns its node index. */
static uint32_t edge_new(struct gen *g, struct pend p, unsigned kind, uint64_t payload)
{
    uint32_t v = (uint32_t)g->discovered;
    emit(g, v, PHD_TARGET_NEW, kind, payload);
    g->discovered++;
    p.flags |= g->flags;
    p.idx = v;
    push(g, p);
    return v;
}

/* An edge discovering a unique leaf, written inline behind it. */
static uint32_t edge_inline(struct gen *g, uint32_t type, unsigned kind, uint64_t payload, const char *preview,
                            size_t plen, uint64_t size)
{
    uint32_t v = (uint32_t)g->discovered;
    emit(g, v, PHD_TARGET_INLINE, kind, payload);
    g->discovered++;
    struct phd_node_out n = {.type = type, .addr = alloc_addr(g, type, g->flags), .size = size,
                             .preview = preview, .preview_len = plen, .preview_sid = UINT32_MAX};
    n.flags = (size != type_size[type] ? PHD_NODE_SIZE : 0) | (plen ? PHD_NODE_PREVIEW : 0);
    unsigned char *end = phd_encoder_inline(&g->enc, g->eb + g->elen, 3, &n);
    if (!end)
        die("out of memory");
    g->elen = (size_t)(end - g->eb);
    g->total_size += size;
    if (g->flags & F_GROWTH)
        g->gord++;
    else
        g->ord++;
    return v;
}

static void inline_str(struct gen *g, unsigned kind, uint64_t payload, const char *prefix, uint64_t v)
{
    char buf[48];
    int len = snprintf(buf, sizeof buf, "%s%llu", prefix, (unsigned long long)v);
    edge_inline(g, T_STR, kind, payload, buf, (size_t)len, 49 + (uint64_t)len);
}

static void inline_int(struct gen *g, unsigned kind, uint64_t payload, uint64_t v)
{
    char buf[24];
    int len = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    edge_inline(g, T_INT, kind, payload, buf, (size_t)len, v < (1u << 30) ? 28 : 32);
}

static void inline_float(struct gen *g, unsigned kind, uint64_t payload, uint64_t v)
{
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%.3f", (double)(v % 1000000) / 1000.0);
    edge_inline(g, T_FLOAT, kind, payload, buf, (size_t)len, 24);
}

/* ---- one object per kind -------------------------------------------- */

static void write_instance(struct gen *g, uint32_t self, unsigned cls, uint32_t owner)
{
    uint32_t t = T_CLASS0 + cls;
    edge_old(g, g->class_node[cls], PHD_LABEL_TYPE, 0);
    inline_int(g, PHD_LABEL_NAME, S_ID, g->ord);
    if (cls == C_ADDRESS) {
        inline_str(g, PHD_LABEL_NAME, S_STREET, "street ", rnd(g, 1) % 100000);
        edge_old(g, owner, PHD_LABEL_NAME, S_OWNER); /* a two-object cycle */
        return;
    }
    inline_str(g, PHD_LABEL_NAME, S_NAME, type_names[t] + 4, g->ord);
    edge_old(g, g->pool[rnd(g, 3) % N_POOL], PHD_LABEL_NAME, S_STATUS);
    edge_old(g, g->smallint[rnd(g, 4) % N_SMALLINT], PHD_LABEL_NAME, S_KIND);
    edge_new(g, (struct pend){.kind = K_TAGS}, PHD_LABEL_NAME, S_TAGS);
    edge_new(g, (struct pend){.kind = K_META}, PHD_LABEL_NAME, S_META);
    edge_new(g, (struct pend){.kind = K_PAIR}, PHD_LABEL_NAME, S_PAIR);
    uint64_t r = rnd(g, 2);
    if (r % 2 && g->n_recent[cls])
        edge_old(g, g->recent[cls][(r >> 8) % (g->n_recent[cls] < N_RECENT ? g->n_recent[cls] : N_RECENT)],
                 PHD_LABEL_NAME, S_PARENT);
    if (r % 10 == 3)
        edge_new(g, (struct pend){.kind = K_INSTANCE, .aux = C_ADDRESS, .param = self}, PHD_LABEL_NAME, S_ADDRESS);
    if (r % 33 == 5)
        edge_new(g, (struct pend){.kind = K_CLOSURE, .param = self}, PHD_LABEL_NAME, S_CALLBACK);
    if (!(g->flags & F_GROWTH))
        g->recent[cls][g->n_recent[cls]++ % N_RECENT] = self;
    (void)t;
}

static void write_function(struct gen *g, struct pend p, int closure)
{
    edge_new(g, (struct pend){.kind = K_CODE}, PHD_LABEL_NAME, S_CODE);
    edge_old(g, closure ? g->moddict[1] : p.param, PHD_LABEL_NAME, S_GLOBALS);
    edge_old(g, g->pool[rnd(g, 1) % N_POOL], PHD_LABEL_NAME, S_NAME);
    if (closure)
        edge_new(g, (struct pend){.kind = K_CLOSURE_CELLS, .param = p.param}, PHD_LABEL_NAME, S_CLOSURE);
}

/* Writes the node of queue entry p. */
static void write_node(struct gen *g, struct pend p)
{
    uint32_t i = p.idx;
    uint32_t type;
    uint64_t size = 0, refcnt = 1;
    unsigned flags = 0;
    const char *preview = NULL;
    size_t plen = 0;
    uint32_t psid = UINT32_MAX;
    char pbuf[48];
    switch (p.kind) {
    case K_SYSMODULES: case K_BUILTINS_DICT: case K_MODDICT: case K_CLASSDICT: case K_META:
    case K_GARBAGE: type = T_DICT; flags = PHD_NODE_GC_TRACKED; break;
    case K_MODULE: type = T_MODULE; flags = PHD_NODE_GC_TRACKED; psid = S_MODULE0 + p.aux; break;
    case K_POOLSTR: type = T_STR; refcnt = 0; break;
    case K_SMALLINT: type = T_INT; refcnt = 0; break;
    case K_FUNCTION: case K_CLOSURE: type = T_FUNCTION; flags = PHD_NODE_GC_TRACKED;
        psid = S_POOL0 + (uint32_t)(rnd(g, 0) % N_POOL); break;
    case K_CODE: type = T_CODE; break;
    case K_CONSTS: case K_NAMES: case K_MRO: case K_PAIR: case K_CLOSURE_CELLS:
        type = T_TUPLE; flags = PHD_NODE_GC_TRACKED; break;
    case K_CLASS: type = T_TYPE; flags = PHD_NODE_GC_TRACKED; psid = S_TYPE0 + T_CLASS0 + p.aux; break;
    case K_REGISTRY: case K_TAGS: case K_GARBAGE2: type = T_LIST; flags = PHD_NODE_GC_TRACKED; break;
    case K_INSTANCE: type = T_CLASS0 + p.aux; flags = PHD_NODE_GC_TRACKED; break;
    case K_CELL: type = T_CELL; flags = PHD_NODE_GC_TRACKED; break;
    default: die("bad kind");
    }
    g->flags = p.flags & (F_GROWTH | F_CHURN);
    if (p.kind == K_INSTANCE && !(g->flags & F_GROWTH) && g->after &&
        rnd(g, 7) % 1000 < g->churn)
        g->flags |= F_CHURN; /* in B: freed and replaced since A */
    uint64_t addr = alloc_addr(g, type, g->flags);
    if (phd_encoder_begin(&g->enc, type) < 0)
        die("out of memory");
    g->elen = 0;
    g->nedges = 0;
    uint64_t nitems = 0;
    switch (p.kind) {
    case K_SYSMODULES:
        for (uint32_t m = 0; m < N_MODULES; m++) {
            uint32_t k = edge_inline(g, T_STR, PHD_LABEL_KEY, 0, g->strings[S_MODULE0 + m],
                                     strlen(g->strings[S_MODULE0 + m]), 49 + strlen(g->strings[S_MODULE0 + m]));
            edge_new(g, (struct pend){.kind = K_MODULE, .aux = (uint16_t)m}, PHD_LABEL_VALUE, k);
        }
        size = 4696;
        break;
    case K_MODULE:
        g->moddict[p.aux] = edge_new(g, (struct pend){.kind = p.aux ? K_MODDICT : K_BUILTINS_DICT, .aux = p.aux},
                                     PHD_LABEL_NAME, S_DICT);
        if (!p.aux)
            g->builtins_dict = g->moddict[0];
        break;
    case K_BUILTINS_DICT:
        for (uint32_t j = 0; j < N_POOL; j++) {
            uint32_t k = g->pool[j] = edge_new(g, (struct pend){.kind = K_POOLSTR, .aux = (uint16_t)j},
                                               PHD_LABEL_KEY, 0);
            if (j < N_SMALLINT)
                g->smallint[j] = edge_new(g, (struct pend){.kind = K_SMALLINT, .aux = (uint16_t)j},
                                          PHD_LABEL_VALUE, k);
            else
                edge_old(g, g->smallint[j % N_SMALLINT], PHD_LABEL_VALUE, k);
        }
        size = 147544;
        break;
    case K_POOLSTR:
        preview = g->strings[S_POOL0 + p.aux];
        plen = strlen(preview);
        size = 49 + plen;
        flags |= PHD_NODE_PREVIEW;
        break;
    case K_SMALLINT:
        plen = (size_t)snprintf(pbuf, sizeof pbuf, "%d", (int)p.aux - 5);
        preview = pbuf;
        break;
    case K_MODDICT: {
        uint32_t k = g->pool[0];
        edge_old(g, k, PHD_LABEL_KEY, 0);
        edge_inline(g, T_STR, PHD_LABEL_VALUE, k, g->strings[S_MODULE0 + p.aux],
                    strlen(g->strings[S_MODULE0 + p.aux]), 49 + strlen(g->strings[S_MODULE0 + p.aux]));
        nitems = 1;
        for (unsigned f = 0; f < FUNCS_PER_MODULE; f++, nitems++) {
            k = g->pool[(rnd(g, 10 + f) % (N_POOL - 1)) + 1];
            edge_old(g, k, PHD_LABEL_KEY, 0);
            edge_new(g, (struct pend){.kind = K_FUNCTION, .param = i}, PHD_LABEL_VALUE, k);
        }
        for (unsigned c = 0; c < N_CLASSES; c++) {
            unsigned home = c == C_SESSION ? N_MODULES - 1 : 1 + c % N_APP_MODULES;
            if (home != p.aux)
                continue;
            k = g->pool[(rnd(g, 50 + c) % (N_POOL - 1)) + 1];
            edge_old(g, k, PHD_LABEL_KEY, 0);
            g->class_node[c] = edge_new(g, (struct pend){.kind = K_CLASS, .aux = (uint16_t)c, .param = i},
                                        PHD_LABEL_VALUE, k);
            nitems++;
        }
        unsigned nregs = p.aux == N_MODULES - 1 ? 1 : REGS_PER_MODULE;
        for (unsigned r = 0; r < nregs; r++, nitems++) {
            k = g->pool[(rnd(g, 60 + r) % (N_POOL - 1)) + 1];
            edge_old(g, k, PHD_LABEL_KEY, 0);
            edge_new(g, (struct pend){.kind = K_REGISTRY, .aux = (uint16_t)p.aux}, PHD_LABEL_VALUE, k);
        }
        size = 64 + nitems * 48;
        break;
    }
    case K_FUNCTION:
    case K_CLOSURE:
        write_function(g, p, p.kind == K_CLOSURE);
        break;
    case K_CODE: {
        edge_new(g, (struct pend){.kind = K_CONSTS}, PHD_LABEL_NAME, S_CONSTS);
        edge_new(g, (struct pend){.kind = K_NAMES}, PHD_LABEL_NAME, S_NAMES);
        uint64_t len = 16 + rnd(g, 1) % 200;
        edge_inline(g, T_BYTES, PHD_LABEL_NAME, S_CO_CODE, NULL, 0, 33 + len);
        size = 176 + len;
        break;
    }
    case K_CONSTS:
    case K_NAMES:
    case K_TAGS: {
        nitems = rnd(g, 1) % (p.kind == K_TAGS ? 13 : 6);
        unsigned kind = PHD_LABEL_INDEX;
        for (uint64_t j = 0; j < nitems; j++) {
            uint64_t r = rnd(g, 2 + (unsigned)j);
            if (p.kind == K_CONSTS)
                edge_old(g, g->smallint[r % N_SMALLINT], kind, j);
            else if (p.kind == K_TAGS && r % 7 == 0)
                inline_str(g, kind, j, "tag-", r >> 40);
            else
                edge_old(g, g->pool[r % N_POOL], kind, j);
        }
        size = (p.kind == K_TAGS ? 56 : 40) + 8 * nitems;
        break;
    }
    case K_CLASS:
        edge_new(g, (struct pend){.kind = K_CLASSDICT, .param = p.param}, PHD_LABEL_NAME, S_DICT);
        edge_new(g, (struct pend){.kind = K_MRO, .param = i}, PHD_LABEL_NAME, S_MRO);
        break;
    case K_CLASSDICT:
        for (unsigned f = 0; f < 6; f++) {
            uint32_t k = g->pool[(rnd(g, 10 + f) % (N_POOL - 1)) + 1];
            edge_old(g, k, PHD_LABEL_KEY, 0);
            edge_new(g, (struct pend){.kind = K_FUNCTION, .param = p.param}, PHD_LABEL_VALUE, k);
        }
        size = 360;
        break;
    case K_MRO:
        edge_old(g, p.param, PHD_LABEL_INDEX, 0); /* the class itself: a cycle */
        size = 48;
        break;
    case K_REGISTRY: {
        if (p.aux == N_MODULES - 1) {
            /* app.cache: a thousand sessions in A; B adds the growth */
            uint64_t n = 1000;
            for (uint64_t j = 0; j < n + g->growth; j++) {
                uint8_t f = j < n ? 0 : F_GROWTH;
                uint32_t v = (uint32_t)g->discovered;
                emit(g, v, PHD_TARGET_NEW, PHD_LABEL_INDEX, j);
                g->discovered++;
                push(g, (struct pend){.kind = K_INSTANCE, .aux = C_SESSION, .flags = f, .idx = v});
            }
            nitems = n + g->growth;
        } else {
            nitems = g->instances_left / g->regs_left;
            g->instances_left -= nitems;
            g->regs_left--;
            unsigned cls = (unsigned)(rnd(g, 1) % N_REG_CLASSES);
            for (uint64_t j = 0; j < nitems; j++) {
                unsigned c = j % 10 == 9 ? (unsigned)(mix(g->seed + j) % N_REG_CLASSES) : cls;
                uint32_t v = (uint32_t)g->discovered;
                emit(g, v, PHD_TARGET_NEW, PHD_LABEL_INDEX, j);
                g->discovered++;
                push(g, (struct pend){.kind = K_INSTANCE, .aux = (uint16_t)c, .flags = g->flags, .idx = v});
            }
        }
        size = 56 + 8 * nitems;
        break;
    }
    case K_INSTANCE:
        write_instance(g, i, p.aux, p.param);
        if (p.aux != C_ADDRESS && g->n_frame_roots < 16 && rnd(g, 9) % 100000 == 0)
            g->frame_roots[g->n_frame_roots++] = i;
        if (rnd(g, 8) % 200000 == 1)
            refcnt = 2; /* also held by C code: an unknown holder */
        break;
    case K_META:
        nitems = 2 + rnd(g, 1) % 9;
        for (uint64_t j = 0; j < nitems; j++) {
            uint64_t r = rnd(g, 2 + (unsigned)j);
            uint32_t k = g->pool[(r >> 32) % N_POOL];
            edge_old(g, k, PHD_LABEL_KEY, 0);
            switch (r % 10) {
            case 0: case 1: case 2: inline_str(g, PHD_LABEL_VALUE, k, "v", r >> 44); break;
            case 3: case 4: inline_int(g, PHD_LABEL_VALUE, k, (r >> 20) % 100000000); break;
            case 5: inline_float(g, PHD_LABEL_VALUE, k, r >> 20); break;
            case 6: case 7: edge_old(g, g->smallint[(r >> 20) % N_SMALLINT], PHD_LABEL_VALUE, k); break;
            default: edge_old(g, g->pool[(r >> 20) % N_POOL], PHD_LABEL_VALUE, k); break;
            }
        }
        size = nitems <= 5 ? 232 : 360;
        break;
    case K_PAIR:
        edge_old(g, g->smallint[rnd(g, 1) % N_SMALLINT], PHD_LABEL_INDEX, 0);
        inline_float(g, PHD_LABEL_INDEX, 1, rnd(g, 2));
        size = 56;
        break;
    case K_CLOSURE_CELLS:
        edge_new(g, (struct pend){.kind = K_CELL, .param = p.param}, PHD_LABEL_INDEX, 0);
        size = 48;
        break;
    case K_CELL:
        edge_old(g, p.param, PHD_LABEL_NAME, S_CELL_CONTENTS); /* back to the instance */
        break;
    case K_GARBAGE:
        /* an unreachable cycle: dict -> list -> dict */
        edge_old(g, g->pool[rnd(g, 1) % N_POOL], PHD_LABEL_KEY, 0);
        edge_new(g, (struct pend){.kind = K_GARBAGE2, .param = i}, PHD_LABEL_VALUE, g->pool[rnd(g, 1) % N_POOL]);
        break;
    case K_GARBAGE2:
        edge_old(g, p.param, PHD_LABEL_INDEX, 0);
        size = 64;
        break;
    }
    if (!size)
        size = type_size[type];
    if (size != type_size[type])
        flags |= PHD_NODE_SIZE;
    if (plen)
        flags |= PHD_NODE_PREVIEW;
    if (psid != UINT32_MAX)
        flags |= PHD_NODE_PREVIEW;
    phd_encoder_end(&g->enc);
    struct phd_node_out n = {.type = type, .flags = flags, .addr = addr, .size = size, .refcnt = refcnt,
                             .preview = preview, .preview_len = plen, .preview_sid = psid,
                             .nedges = g->nedges, .edges = g->eb, .edges_len = g->elen};
    if (phd_writer_node(&g->w, phd_encoder_addr(&g->enc, type), 3, &n) < 0)
        die(strerror(g->w.err));
    g->edges += g->nedges;
    g->total_size += size;
    if (g->flags & F_GROWTH)
        g->gord++;
    else
        g->ord++;
}

/* Objects per registry instance, measured on this generator (tags, meta,
 * pair, their inline leaves, nested addresses and closures). */
#define OBJECTS_PER_INSTANCE 12.1

static void usage(void)
{
    fputs("usage: gen_snapshot [--objects N] [--seed S] [--after GROWTH] [--churn PERMILLE] OUT.snap\n", stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    static struct gen gs;
    struct gen *g = &gs;
    g->target = 1000000;
    g->seed = 1;
    int after = 0;
    static const struct option opts[] = {{"objects", required_argument, NULL, 'n'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"after", required_argument, NULL, 'a'},
                                         {"churn", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    g->churn = 10;
    int c;
    while ((c = getopt_long(argc, argv, "n:s:a:c:", opts, NULL)) != -1) {
        switch (c) {
        case 'n': g->target = strtoull(optarg, NULL, 10); break;
        case 's': g->seed = strtoull(optarg, NULL, 10); break;
        case 'a': g->growth = strtoull(optarg, NULL, 10); after = 1; break;
        case 'c': g->churn = (unsigned)strtoul(optarg, NULL, 10); break;
        default: usage();
        }
    }
    if (optind + 1 != argc || g->target < 100000 || g->target > PHD_MAX_NODES - 2 * g->growth * 12)
        usage();
    g->after = after;

    /* strings: labels, type names, module names, the interned pool */
    for (unsigned k = 0; k < S_FIXED; k++)
        g->strings[k] = strdup(fixed_strings[k]);
    for (unsigned t = 0; t < N_TYPES; t++)
        g->strings[S_TYPE0 + t] = strdup(type_names[t]);
    char buf[64];
    for (unsigned m = 0; m < N_MODULES; m++) {
        if (m == 0)
            snprintf(buf, sizeof buf, "builtins");
        else if (m == N_MODULES - 1)
            snprintf(buf, sizeof buf, "app.cache");
        else
            snprintf(buf, sizeof buf, "app.mod%02u", m);
        g->strings[S_MODULE0 + m] = strdup(buf);
    }
    static const char *const words[] = {"user", "order", "item", "price", "status", "created", "updated",
                                        "handler", "request", "session", "count", "value", "key", "data"};
    g->strings[S_POOL0] = strdup("__name__");
    for (unsigned j = 1; j < N_POOL; j++) {
        snprintf(buf, sizeof buf, "%s_%u", words[j % 14], j / 14);
        g->strings[S_POOL0 + j] = strdup(buf);
    }

    int fd = open(argv[optind], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(argv[optind]);
        return 1;
    }
    if (phd_writer_init(&g->w, fd, 1 << 20) != 0 || phd_encoder_init(&g->enc) != 0)
        die("out of memory");
    struct phd_header h = {.pointer_size = 8, .addr_shift = 3, .py_major = 3, .py_minor = 12, .py_micro = 3,
                           .flags = PHD_HDR_VALUES | PHD_HDR_COLLECTED, .pid = 4242 + g->seed,
                           .start_time_ns = 1764000000000000000ull + g->seed * 1000000000ull,
                           .timestamp_ns = 1764000000000000000ull + (after ? 600 : 60) * 1000000000ull};
    phd_writer_header(&g->w, &h);
    g->regs_left = (uint64_t)N_APP_MODULES * REGS_PER_MODULE;
    uint64_t fixed = 20000; /* modules, functions, classes, the pool */
    g->instances_left = g->target > fixed ? (uint64_t)((double)(g->target - fixed) / OBJECTS_PER_INSTANCE) : 0;

    phd_writer_chunk_begin(&g->w, PHD_CHUNK_NODES);
    push(g, (struct pend){.kind = K_SYSMODULES, .idx = 0});
    g->discovered = 1;
    unsigned garbage = 0;
    for (;;) {
        if (!g->qlen) {
            /* every node discovered has its record: the next is a seed */
            if (garbage == N_GARBAGE)
                break;
            garbage++; /* an unreachable cycle */
            push(g, (struct pend){.kind = K_GARBAGE, .idx = (uint32_t)g->discovered});
            g->discovered++;
        }
        write_node(g, pop(g));
        if (g->discovered > PHD_MAX_NODES)
            die("more than 2^29 - 1 objects");
    }
    if (g->edges > UINT32_MAX)
        die("more than 2^32 - 1 references");

    phd_writer_chunk_begin(&g->w, PHD_CHUNK_STRINGS);
    for (unsigned k = 0; k < N_STRINGS; k++)
        phd_writer_string(&g->w, g->strings[k], strlen(g->strings[k]));
    phd_writer_chunk_begin(&g->w, PHD_CHUNK_TYPES);
    for (unsigned t = 0; t < N_TYPES; t++)
        phd_writer_type(&g->w, S_TYPE0 + t, t >= T_CLASS0 ? g->class_node[t - T_CLASS0] : UINT32_MAX,
                        type_size[t]);
    phd_writer_chunk_begin(&g->w, PHD_CHUNK_TYPE_ORIGINS);
    for (unsigned t = 0; t < N_TYPES; t++)
        phd_writer_origin(&g->w, t >= T_CLASS0 ? PHD_ORIGIN_USER : PHD_ORIGIN_BUILTIN);
    phd_writer_chunk_begin(&g->w, PHD_CHUNK_ROOTS);
    phd_writer_root(&g->w, PHD_ROOT_MODULES, 0, 0, UINT32_MAX);
    phd_writer_root(&g->w, PHD_ROOT_BUILTINS, g->builtins_dict, 0, UINT32_MAX);
    for (unsigned k = 0; k < g->n_frame_roots; k++)
        phd_writer_root(&g->w, PHD_ROOT_FRAME, g->frame_roots[k], 1, S_FRAME);
    struct phd_footer f = {.nodes = g->discovered, .edges = g->edges, .total_size = g->total_size,
                           .strings = N_STRINGS, .types = N_TYPES, .roots = 2 + g->n_frame_roots};
    int err = phd_writer_finish(&g->w, &f);
    if (err || close(fd) < 0) {
        fprintf(stderr, "gen_snapshot: %s: %s\n", argv[optind], strerror(err ? err : errno));
        return 1;
    }
    printf("{\"objects\": %llu, \"references\": %llu, \"bytes\": %llu, \"queue_max\": %zu}\n",
           (unsigned long long)g->discovered, (unsigned long long)g->edges, (unsigned long long)g->w.offset,
           g->qcap);
    phd_writer_release(&g->w);
    phd_encoder_release(&g->enc);
    free(g->q);
    free(g->eb);
    for (unsigned k = 0; k < N_STRINGS; k++)
        free(g->strings[k]);
    return 0;
}
