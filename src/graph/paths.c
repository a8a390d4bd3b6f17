/*
 * paths.c - retention paths grouped in one pass over the breadth-first
 * tree, and spelled only for what is printed (pyheapdiff/paths.h).
 *
 * Grouping by text would spell every path in full: quadratic on a linked
 * list, where the paths of N nodes have N²/2 hops between them.  Instead
 * each node on the chosen nodes' paths gets a *class*: nodes with equal
 * classes have equal path texts.  A class is hash-consed from the pair
 * (class of the parent, token of the hop), the token being the interned
 * text of the hop's label and the node's description, so a path's class
 * costs one table lookup given its parent's, O(objects on the paths) in
 * all.  A class is named by its first node (its *canonical* node), and the
 * table stores only that node's index: the key is recomputed from it when
 * probing (2 bits of the hash kept in the slot skip most recomputations).
 *
 * Three such passes: the middle nodes of the paths (description tokens, an
 * owner's __dict__ taking its owner's class); then the chosen nodes
 * themselves (type-name tokens), each class counted as a group; then,
 * only when some path has a plain-dict key and there are
 * PHD_PATHS_KEYED_MIN groups, the same over the groups' examples with
 * such keys spelled "[…]" (their *shape*): groups of one shape, four or
 * more, are merged.  The per-node class array is walked without a stack:
 * an unresolved chain is linked top-down through the array itself.
 *
 * Memory: 4 bytes per node (the class array, freed when grouping ends), a
 * table of 4 bytes per slot at most 0.7 full for the nodes on the paths,
 * 4 bytes per chosen node for their parents' classes, 8 per group; the
 * groups are sorted in place.  Spelling a path walks it (its length), up
 * to a budget after which a memo of 8 bytes per node takes over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/paths.h"
#include "pyheapdiff/text.h"

#define NODE_MASK 0x1fffffffu /* node indices are below 2^29 */
#define OWNER 0x40000000u     /* class array: an owner's __dict__, folded into it */
#define LINK 0x80000000u      /* class array: unresolved, linked to the child below */
#define LINK_END 0x3fffffffu
#define UNSEEN 0xffffffffu
#define MARKED 0xfffffffeu
#define EMPTY 0xffffffffu
#define NO_CLASS 0xffffffffu

/* ---- spelling helpers ---------------------------------------------------- */

/* Appends text to *buf (len used, cap allocated); on failure frees it. */
static void put(char **buf, size_t *len, size_t *cap, const char *text) { phd_text_append(buf, len, cap, text); }

/* How a path starts: the root's kind and description. */
static void root_text(const struct phd_graph *g, uint32_t r, char *out, size_t cap)
{
    const struct phd_snapshot *s = g->s;
    unsigned kind = g->root_kind[r];
    char tmp[300], d[300];
    if (kind == PHD_ROOT_MODULE || kind == 0 || kind == PHD_ROOT_UNKNOWN) {
        phd_graph_describe(s, r, tmp, sizeof tmp);
        snprintf(out, cap, "%s%s", kind == PHD_ROOT_UNKNOWN ? "[held by C] " : kind == 0 ? "[unreachable] " : "",
                 tmp);
        return;
    }
    uint32_t ri = phd_graph_root_record(g, r);
    const struct phd_root *rec = ri != PHD_NONE ? &s->roots[ri] : NULL;
    if (rec && (kind == PHD_ROOT_FRAME || kind == PHD_ROOT_THREAD))
        snprintf(tmp, sizeof tmp, "[thread %llu] %s", (unsigned long long)rec->thread_id,
                 rec->name != PHD_NONE ? s->str[rec->name] : phd_graph_root_kind_name(kind));
    else if (rec && rec->name != PHD_NONE)
        snprintf(tmp, sizeof tmp, "%s", s->str[rec->name]);
    else
        phd_graph_describe(s, r, tmp, sizeof tmp);
    if (kind == PHD_ROOT_FRAME || kind == PHD_ROOT_THREAD) {
        phd_graph_describe(s, r, d, sizeof d);
        snprintf(out, cap, "%s: %s", tmp, d);
    } else {
        snprintf(out, cap, "%s", tmp);
    }
}

/* The label of the hop parent[w] -> w; *value: a dict value's key label. */
static void hop_label(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge, uint32_t w,
                      int fold, char *lab, size_t cap, int *value)
{
    const struct phd_snapshot *s = g->s;
    uint64_t e = pedge && pedge[w] != PHD_NONE ? pedge[w] : phd_graph_edge_between(s, parent[w], w);
    lab[0] = 0;
    *value = 0;
    if (e == UINT64_MAX)
        return;
    phd_graph_label(s, e, fold, lab, cap);
    *value = PHD_LABEL_KIND(s->edge_label[e]) == PHD_LABEL_VALUE;
}

/* w is a value of its owner's __dict__ (parent[w], folded into the owner
 * parent[parent[w]]): an attribute, spelled ".name" as attributes kept
 * inline or in slots are, when its key is a str that is an identifier.
 * A module's globals keep the dict spelling ("module m ['x']").  Rewrites
 * lab, which holds the hop's "['key']" label. */
static void attr_label(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge, uint32_t w,
                       char *lab, size_t cap)
{
    const struct phd_snapshot *s = g->s;
    uint32_t d = parent[w], owner = d == PHD_NONE ? PHD_NONE : parent[d];
    if (owner == PHD_NONE || strcmp(phd_snapshot_type_name(s, s->type[owner]), "module") == 0)
        return;
    uint64_t e = pedge && pedge[w] != PHD_NONE ? pedge[w] : phd_graph_edge_between(s, d, w);
    if (e == UINT64_MAX || PHD_LABEL_KIND(s->edge_label[e]) != PHD_LABEL_VALUE)
        return;
    uint32_t key = PHD_LABEL_PAYLOAD(s->edge_label[e]);
    char name[PHD_PREVIEW_MAX + 1];
    int l = phd_snapshot_preview(s, key, name, sizeof name - 1);
    if (l <= 0 || l >= PHD_PREVIEW_MAX || strcmp(phd_snapshot_type_name(s, s->type[key]), "str") != 0)
        return;
    for (int i = 0; i < l; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch >= 0x80 ||
              (i && ch >= '0' && ch <= '9')))
            return;
    }
    name[l] = 0;
    snprintf(lab, cap, ".%s", name);
}

/* Is w (reached by label lab) an owner's __dict__, folded into the owner
 * when it is not the last node of a path? */
static int is_owner_dict(const struct phd_snapshot *s, const char *lab, uint32_t w)
{
    return strcmp(lab, ".__dict__") == 0 && strcmp(phd_snapshot_type_name(s, s->type[w]), "dict") == 0;
}

/* ---- interned token texts ------------------------------------------------ */

/* A set of distinct strings in one arena, open addressing on their hashes. */
struct tokens {
    char *arena;
    size_t alen, acap;
    size_t *off; /* per token: its offset in arena */
    uint64_t *hash;
    uint32_t *slot; /* index + 1, 0 free */
    size_t n, cap, tsize;
};

static void tokens_free(struct tokens *t)
{
    free(t->arena);
    free(t->off);
    free(t->hash);
    free(t->slot);
    *t = (struct tokens){0};
}

/* The id of text, added when new; -1 when out of memory. */
static long tokens_add(struct tokens *t, const char *text)
{
    size_t len = strlen(text);
    uint64_t h = phd_fnv1a(text, len);
    if (!t->slot) {
        t->tsize = 64;
        if (!(t->slot = calloc(t->tsize, sizeof *t->slot)))
            return -1;
    }
    size_t i = (size_t)h & (t->tsize - 1);
    for (; t->slot[i]; i = (i + 1) & (t->tsize - 1)) {
        size_t k = t->slot[i] - 1;
        if (t->hash[k] == h && strcmp(t->arena + t->off[k], text) == 0)
            return (long)k;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 64;
        size_t *no = realloc(t->off, nc * sizeof *no);
        if (no)
            t->off = no;
        uint64_t *nh = realloc(t->hash, nc * sizeof *nh);
        if (nh)
            t->hash = nh;
        if (!no || !nh)
            return -1;
        t->cap = nc;
    }
    if (t->alen + len + 1 > t->acap) {
        size_t nc = (t->acap + len + 1) * 2;
        char *na = realloc(t->arena, nc);
        if (!na)
            return -1;
        t->arena = na;
        t->acap = nc;
    }
    memcpy(t->arena + t->alen, text, len + 1);
    t->off[t->n] = t->alen;
    t->alen += len + 1;
    t->hash[t->n] = h;
    t->slot[i] = (uint32_t)++t->n;
    if (2 * t->n > t->tsize) {
        uint32_t *bigger = calloc(2 * t->tsize, sizeof *bigger);
        if (!bigger)
            return -1;
        free(t->slot);
        t->slot = bigger;
        t->tsize *= 2;
        for (size_t j = 0; j < t->n; j++) {
            size_t q = (size_t)t->hash[j] & (t->tsize - 1);
            while (t->slot[q])
                q = (q + 1) & (t->tsize - 1);
            t->slot[q] = (uint32_t)j + 1;
        }
    }
    return (long)t->n - 1;
}

/* ---- classes -------------------------------------------------------------- */

/*
 * One hash-consing pass.  cls[v]: the class of v as a middle node (the
 * canonical node's index, OWNER for a folded __dict__), UNSEEN, MARKED (on
 * a path, not yet resolved) or LINK | child while being resolved.
 * keyed: plain-dict keys spelled "[…]" (the shape pass).  A key is a
 * (parent class, token) pair; a slot holds the canonical node, whether its
 * token is a last hop's (type name) and 2 bits of the hash.
 */
struct cons {
    const struct phd_graph *g;
    const uint32_t *parent, *pedge;
    uint32_t *cls;
    int keyed;
    int saw_key;   /* some hop is a plain-dict key */
    const uint32_t *pcls; /* last-hop pass: per entry, the parent's class (| OWNER) */
    const uint32_t *nodes; /* last-hop pass: the entries' nodes */
    struct tokens tok;
    uint32_t *slot;
    size_t tsize;
};

/* The parent class of v (NO_CLASS for a root) | OWNER when the parent is a
 * folded __dict__. */
static uint32_t parent_class(const struct cons *c, uint32_t v)
{
    uint32_t p = c->parent[v];
    return p == PHD_NONE ? NO_CLASS : c->cls[p];
}

/* The token of v: its root text, or its hop's label and its description
 * (last: its type name); pc is parent_class(v).  -1 when out of memory. */
static long token(struct cons *c, uint32_t v, uint32_t pc, int last)
{
    const struct phd_snapshot *s = c->g->s;
    char text[700], lab[200], d[300];
    if (c->parent[v] == PHD_NONE) {
        text[0] = '\x1e';
        root_text(c->g, v, text + 1, sizeof text - 1);
        return tokens_add(&c->tok, text);
    }
    int value;
    hop_label(c->g, c->parent, c->pedge, v, 1, lab, sizeof lab, &value);
    if (value && (pc & OWNER))
        attr_label(c->g, c->parent, c->pedge, v, lab, sizeof lab);
    if (value && !(pc & OWNER)) {
        c->saw_key = 1;
        if (c->keyed)
            snprintf(lab, sizeof lab, "[…]");
    }
    if (last)
        snprintf(d, sizeof d, "%s", phd_snapshot_type_name(s, s->type[v]));
    else
        phd_graph_describe(s, v, d, sizeof d);
    snprintf(text, sizeof text, "%s\x1f%s", lab, d);
    return tokens_add(&c->tok, text);
}

static uint32_t key_hash(uint32_t pc, uint32_t tok)
{
    uint64_t h = ((uint64_t)(pc & (NODE_MASK | LINK)) << 32 | tok) * 0x9e3779b97f4a7c15u;
    return (uint32_t)(h >> 32);
}

static int table_init(struct cons *c, size_t entries)
{
    c->tsize = entries + entries / 2 + 16;
    c->slot = malloc(c->tsize * sizeof *c->slot);
    if (!c->slot)
        return -1;
    memset(c->slot, 0xff, c->tsize * sizeof *c->slot);
    return 0;
}

/*
 * The class of the key (pc, tok) whose would-be canonical entry is e (a
 * node, or with c->pcls an index into c->nodes): the entry found, or e
 * inserted.  Returns the class, or NO_CLASS when out of memory.
 */
static uint32_t intern(struct cons *c, uint32_t pc, uint32_t tok, uint32_t e, int last)
{
    uint32_t h = key_hash(pc, tok), tag = h & 3;
    size_t i = (size_t)(((uint64_t)h * c->tsize) >> 32);
    for (;; i = i + 1 == c->tsize ? 0 : i + 1) {
        uint32_t sl = c->slot[i];
        if (sl == EMPTY)
            break;
        if (sl >> 30 != tag)
            continue;
        uint32_t o = sl & NODE_MASK, olast = (sl >> 29) & 1;
        uint32_t onode = c->pcls ? c->nodes[o] : o;
        uint32_t opc = c->pcls ? c->pcls[o] : parent_class(c, onode);
        if ((opc & ~OWNER) != (pc & ~OWNER))
            continue;
        long ot = token(c, onode, opc, (int)olast);
        if (ot < 0)
            return NO_CLASS;
        if ((uint32_t)ot == tok)
            return o;
    }
    c->slot[i] = e | (uint32_t)last << 29 | tag << 30;
    return e;
}

/* Resolves the middle-node class of x and of its unresolved ancestors:
 * climbs linking each to the child below, then resolves top-down. */
static int resolve(struct cons *c, uint32_t x)
{
    const struct phd_snapshot *s = c->g->s;
    uint32_t child = LINK_END, v = x;
    while (v != PHD_NONE && (c->cls[v] == UNSEEN || c->cls[v] == MARKED)) {
        c->cls[v] = LINK | child;
        child = v;
        v = c->parent[v];
    }
    for (v = child; v != LINK_END;) {
        uint32_t below = c->cls[v] & ~LINK, pc = parent_class(c, v);
        char lab[200];
        int value;
        if (c->parent[v] != PHD_NONE) {
            hop_label(c->g, c->parent, c->pedge, v, 1, lab, sizeof lab, &value);
            if (is_owner_dict(s, lab, v)) {
                c->cls[v] = (pc & NODE_MASK) | OWNER;
                v = below;
                continue;
            }
        }
        long t = token(c, v, pc, 0);
        uint32_t k = t < 0 ? NO_CLASS : intern(c, pc, (uint32_t)t, v, 0);
        if (k == NO_CLASS)
            return -1;
        c->cls[v] = k;
        v = below;
    }
    return 0;
}

/* Marks the middle nodes of the paths of nodes[0..n) and counts them. */
static size_t mark_paths(const uint32_t *parent, uint32_t *cls, const uint32_t *nodes, size_t n)
{
    size_t u = 0;
    for (size_t k = 0; k < n; k++)
        for (uint32_t v = parent[nodes[k]]; v != PHD_NONE && cls[v] == UNSEEN; v = parent[v]) {
            cls[v] = MARKED;
            u++;
        }
    return u;
}

/*
 * The class of each node of nodes[0..n) as the last node of its path, into
 * out[k] as an index into nodes (the first node of its class).  cls must
 * be UNSEEN everywhere; it is left holding the middle classes.  Returns 0,
 * -1 when out of memory.
 */
static int classify(struct cons *c, const uint32_t *nodes, size_t n, uint32_t *out)
{
    size_t u = mark_paths(c->parent, c->cls, nodes, n);
    if (table_init(c, u) < 0)
        return -1;
    for (size_t k = 0; k < n; k++)
        if (c->parent[nodes[k]] != PHD_NONE && resolve(c, c->parent[nodes[k]]) < 0)
            return -1;
    free(c->slot);
    c->slot = NULL;
    /* the last hops: out[] holds the parents' classes until replaced */
    for (size_t k = 0; k < n; k++)
        out[k] = parent_class(c, nodes[k]);
    if (table_init(c, n) < 0)
        return -1;
    c->pcls = out;
    c->nodes = nodes;
    /* the table recomputes entries' keys from out[], so the classes go
     * to cls (no longer read: the parents' classes are in out) first */
    for (size_t k = 0; k < n; k++) {
        long t = token(c, nodes[k], out[k], 1);
        uint32_t k2 = t < 0 ? NO_CLASS : intern(c, out[k], (uint32_t)t, (uint32_t)k, 1);
        if (k2 == NO_CLASS)
            return -1;
        c->cls[nodes[k]] = k2;
    }
    for (size_t k = 0; k < n; k++)
        out[k] = c->cls[nodes[k]];
    c->pcls = NULL;
    c->nodes = NULL;
    free(c->slot);
    c->slot = NULL;
    return 0;
}

/* ---- spelling ------------------------------------------------------------- */

/*
 * Spelling walks a path to its root: O(its length).  Printing every group
 * of a long list (--limit 0) would make that quadratic, so once the walks
 * have cost more than a few times the nodes, each node's depth and its
 * ancestor at position PHD_PATHS_HEAD are memoised (8 bytes per node,
 * allocated only then) and later walks stop at a memoised node.
 */
struct phd_path_memo {
    uint32_t *depth, *head; /* UNSEEN until known; head PHD_NONE above position HEAD */
    uint64_t walked, budget;
};

static void memo_walked(struct phd_path_memo *m, const struct phd_graph *g, uint64_t steps)
{
    if (!m || m->depth)
        return;
    m->walked += steps;
    if (m->walked <= m->budget)
        return;
    size_t n = (size_t)g->n + 1;
    m->depth = malloc(n * sizeof *m->depth);
    m->head = malloc(n * sizeof *m->head);
    if (!m->depth || !m->head) { /* no memo: walks stay correct, only slower */
        free(m->depth);
        free(m->head);
        m->depth = m->head = NULL;
        m->budget = UINT64_MAX;
        return;
    }
    memset(m->depth, 0xff, n * sizeof *m->depth);
}

/* The depth of x (hops from its root), memoising it and its ancestors'. */
static uint32_t memo_depth(struct phd_path_memo *m, const uint32_t *parent, uint32_t x)
{
    uint32_t y = x, steps = 0;
    while (m->depth[y] == UNSEEN && parent[y] != PHD_NONE) {
        y = parent[y];
        steps++;
    }
    if (m->depth[y] == UNSEEN) { /* a root */
        m->depth[y] = 0;
        m->head[y] = PHD_PATHS_HEAD == 0 ? y : PHD_NONE;
    }
    uint32_t d = m->depth[y] + steps, h = m->head[y];
    if (m->depth[y] < PHD_PATHS_HEAD && d >= PHD_PATHS_HEAD) {
        h = x; /* the ancestor at position HEAD lies on the new stretch */
        for (uint32_t k = d; k > PHD_PATHS_HEAD; k--)
            h = parent[h];
    }
    for (uint32_t z = x, dz = d; z != y; z = parent[z], dz--) {
        m->depth[z] = dz;
        m->head[z] = dz >= PHD_PATHS_HEAD ? h : PHD_NONE;
    }
    return d;
}

/* The nodes of v's path that are spelled: chain[0..m) at positions
 * pos[0..m) (0 is the root), all of them for a path of at most
 * PHD_PATHS_MAX_HOPS hops, else the first PHD_PATHS_HEAD and the last
 * PHD_PATHS_TAIL hops with the node before them.  *hops: the path's length. */
#define SPELLED (PHD_PATHS_MAX_HOPS + 1)
static size_t spelled_nodes(const struct phd_graph *g, const uint32_t *parent, struct phd_path_memo *memo,
                            uint32_t v, uint32_t chain[SPELLED], uint32_t pos[SPELLED], uint32_t *hops)
{
    uint32_t first[SPELLED], ring[PHD_PATHS_HEAD + 1] = {0};
    size_t d = 0;
    if (memo && memo->depth && (d = memo_depth(memo, parent, v)) > PHD_PATHS_MAX_HOPS) {
        size_t m = 0;
        *hops = (uint32_t)d;
        uint32_t x = memo->head[v];
        for (size_t i = PHD_PATHS_HEAD + 1; i-- > 0; x = parent[x]) {
            chain[i] = x;
            pos[i] = (uint32_t)i;
        }
        m = PHD_PATHS_HEAD + 1 + PHD_PATHS_TAIL + 1;
        x = v;
        for (size_t i = m; i-- > PHD_PATHS_HEAD + 1; x = parent[x]) {
            chain[i] = x;
            pos[i] = (uint32_t)(d - (m - 1 - i));
        }
        return m;
    }
    d = 0;
    for (uint32_t x = v; x != PHD_NONE; x = parent[x], d++) {
        if (d < SPELLED)
            first[d] = x;
        ring[d % (PHD_PATHS_HEAD + 1)] = x;
    }
    memo_walked(memo, g, d);
    size_t hopsz = d - 1, m = 0;
    *hops = (uint32_t)hopsz;
    if (hopsz <= PHD_PATHS_MAX_HOPS) {
        for (size_t i = 0; i <= hopsz; i++) {
            chain[m] = first[hopsz - i];
            pos[m++] = (uint32_t)i;
        }
        return m;
    }
    /* ring holds positions 0..HEAD: position i was seen at step hopsz - i */
    for (size_t i = 0; i <= PHD_PATHS_HEAD; i++) {
        chain[m] = ring[(hopsz - i) % (PHD_PATHS_HEAD + 1)];
        pos[m++] = (uint32_t)i;
    }
    for (size_t i = hopsz - PHD_PATHS_TAIL; i <= hopsz; i++) {
        chain[m] = first[hopsz - i];
        pos[m++] = (uint32_t)i;
    }
    return m;
}

/* Is the hop at position i of a path of `hops` hops folded by mask? */
static int key_folded(uint64_t mask, uint32_t i, uint32_t hops)
{
    return (i <= 31 && (mask >> i & 1)) || (hops - i <= 31 && (mask >> (32 + hops - i) & 1));
}

/* The bit of mask for position i of a path of `hops` hops. */
static uint64_t key_bit(uint32_t i, uint32_t hops)
{
    if (hops <= PHD_PATHS_MAX_HOPS || i <= PHD_PATHS_HEAD)
        return (uint64_t)1 << i;
    return (uint64_t)1 << (32 + hops - i);
}

/* "1,234,567" */
static void fmt_count(uint64_t n, char *out)
{
    char tmp[32];
    int l = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)n), o = 0;
    for (int i = 0; i < l; i++) {
        if (i && (l - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = 0;
}

/* Spells v's path into *buf (reused, grown); fold: indices "[*]"; mask:
 * plain-dict keys spelled "[…]".  Returns its length, -1 when out of
 * memory (*buf freed).  O(length of the path). */
static long spell(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge,
                  struct phd_path_memo *memo, uint32_t v, int fold, uint64_t mask, char **buf, size_t *cap)
{
    const struct phd_snapshot *s = g->s;
    uint32_t chain[SPELLED], pos[SPELLED], hops;
    size_t m = spelled_nodes(g, parent, memo, v, chain, pos, &hops), len = 0;
    char tmp[700], lab[200];
    if (!*buf) {
        *cap = 256;
        if (!(*buf = malloc(*cap)))
            return -1;
    }
    (*buf)[0] = 0;
    root_text(g, chain[0], tmp, sizeof tmp);
    put(buf, &len, cap, tmp);
    int owner = 0, value;
    for (size_t k = 1; k < m; k++) {
        uint32_t w = chain[k], i = pos[k];
        if (i != pos[k - 1] + 1) {
            /* the elided middle; the node after it stands alone */
            char n[32];
            fmt_count(i - pos[k - 1], n);
            snprintf(tmp, sizeof tmp, " → … %s more hops … → ", n);
            put(buf, &len, cap, tmp);
            phd_graph_describe(s, w, tmp, sizeof tmp);
            put(buf, &len, cap, tmp);
            hop_label(g, parent, pedge, w, fold, lab, sizeof lab, &value);
            owner = is_owner_dict(s, lab, w);
            continue;
        }
        hop_label(g, parent, pedge, w, fold, lab, sizeof lab, &value);
        int was_owner = owner;
        owner = i < hops && is_owner_dict(s, lab, w);
        if (owner)
            continue;
        if (value && !was_owner && key_folded(mask, i, hops))
            snprintf(lab, sizeof lab, "[…]");
        if (value && was_owner)
            attr_label(g, parent, pedge, w, lab, sizeof lab);
        if (lab[0]) {
            put(buf, &len, cap, " ");
            put(buf, &len, cap, lab);
        }
        put(buf, &len, cap, " → ");
        if (i == hops)
            put(buf, &len, cap, phd_snapshot_type_name(s, s->type[w]));
        else {
            phd_graph_describe(s, w, tmp, sizeof tmp);
            put(buf, &len, cap, tmp);
        }
    }
    return *buf ? (long)len : -1;
}

/* ---- groups --------------------------------------------------------------- */

/* Does group x come before y: more objects, then the smaller example? */
static int before(const struct phd_path_group *x, const struct phd_path_group *y)
{
    return x->count != y->count ? x->count > y->count : x->example < y->example;
}

/* Heapsort, in place: qsort may take a copy of the array (glibc's merge
 * sort), a million groups on a linked list. */
static void sort_groups(struct phd_path_group *a, size_t n)
{
    size_t sorted = 1;
    while (sorted < n && !before(&a[sorted], &a[sorted - 1]))
        sorted++;
    if (sorted >= n)
        return; /* often: groups of one object each come in order */
    for (size_t k = n; k-- > 0;) {
        for (size_t i = k, c; (c = 2 * i + 1) < n; i = c) { /* sift down, heap of the "last" first */
            if (c + 1 < n && before(&a[c], &a[c + 1]))
                c++;
            if (!before(&a[i], &a[c]))
                break;
            struct phd_path_group t = a[i];
            a[i] = a[c];
            a[c] = t;
        }
    }
    for (size_t end = n; end > 1;) {
        struct phd_path_group t = a[0];
        a[0] = a[--end];
        a[end] = t;
        for (size_t i = 0, c; (c = 2 * i + 1) < end; i = c) {
            if (c + 1 < end && before(&a[c], &a[c + 1]))
                c++;
            if (!before(&a[i], &a[c]))
                break;
            t = a[i];
            a[i] = a[c];
            a[c] = t;
        }
    }
}

/* The bits of the spelled hops where the paths of a and b differ in their
 * labels (indices folded): all of them when the lengths differ. */
static uint64_t differing_keys(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge,
                               struct phd_path_memo *memo, uint32_t a, uint32_t b)
{
    uint32_t ca[SPELLED], pa[SPELLED], ha, cb[SPELLED], pb[SPELLED], hb;
    size_t ma = spelled_nodes(g, parent, memo, a, ca, pa, &ha), mb = spelled_nodes(g, parent, memo, b, cb, pb, &hb);
    uint64_t mask = 0;
    for (size_t k = 1; k < ma; k++) {
        char la[200], lb[200];
        int va, vb;
        if (ha != hb || mb != ma) {
            mask |= key_bit(pa[k], ha);
            continue;
        }
        hop_label(g, parent, pedge, ca[k], 1, la, sizeof la, &va);
        hop_label(g, parent, pedge, cb[k], 1, lb, sizeof lb, &vb);
        if (strcmp(la, lb) != 0)
            mask |= key_bit(pa[k], ha);
    }
    return mask;
}

/*
 * Merges the groups whose paths differ only in plain-dict keys, when there
 * are PHD_PATHS_KEYED_MIN or more of one shape: the shape pass over the
 * groups' examples, then per shape the count summed into its first group
 * and the differing keys' bits.  shape and cls are scratch (G and n
 * entries).  Returns 0, -1 when out of memory.
 */
static int merge_keyed(struct phd_path_groups *pg, struct cons *c, uint32_t *shape)
{
    size_t G = pg->n, merged = 0;
    uint32_t *ex = malloc((G + 1) * sizeof *ex);
    if (!ex)
        return -1;
    for (size_t k = 0; k < G; k++)
        ex[k] = pg->groups[k].example;
    memset(c->cls, 0xff, (size_t)c->g->n * sizeof *c->cls);
    c->keyed = 1;
    int rc = classify(c, ex, G, shape);
    free(ex);
    if (rc < 0)
        return -1;
    /* members per shape (shape[k] <= k: its first group) */
    uint32_t *cnt = c->cls;
    memset(cnt, 0, G * sizeof *cnt);
    for (size_t k = 0; k < G; k++)
        cnt[shape[k]]++;
    for (size_t k = 0; k < G; k++)
        if (shape[k] == k && cnt[k] >= PHD_PATHS_KEYED_MIN)
            merged++;
    if (!merged)
        return 0;
    if (!(pg->keys = calloc(merged, sizeof *pg->keys)))
        return -1;
    /* cnt[h] of a merging first group becomes 1 + its index in keys */
    for (size_t k = 0; k < G; k++) {
        uint32_t h = shape[k];
        if (h == k && cnt[h] >= PHD_PATHS_KEYED_MIN) {
            pg->keys[pg->n_keys] = (struct phd_path_keys){pg->groups[k].example, 0};
            cnt[h] = (uint32_t)(++pg->n_keys | LINK);
            continue;
        }
        if (!(cnt[h] & LINK))
            continue;
        struct phd_path_group *head = &pg->groups[h];
        pg->keys[(cnt[h] & ~LINK) - 1].mask |=
            differing_keys(c->g, c->parent, c->pedge, pg->memo, head->example, pg->groups[k].example);
        head->count += pg->groups[k].count;
        pg->groups[k].count = 0;
    }
    size_t out = 0;
    for (size_t k = 0; k < G; k++)
        if (pg->groups[k].count)
            pg->groups[out++] = pg->groups[k];
    pg->n = out;
    return 0;
}

int phd_path_groups_new(struct phd_path_groups *pg, const struct phd_graph *g, const uint32_t *parent,
                        const uint32_t *pedge, const uint32_t *nodes, size_t n)
{
    struct cons c = {g, parent, pedge, NULL, 0, 0, NULL, NULL, {0}, NULL, 0};
    /* peak: cls and out with one table; then cls and the groups */
    uint32_t *cls = malloc(((size_t)g->n + 1) * sizeof *cls), *out = malloc((n + 1) * sizeof *out);
    *pg = (struct phd_path_groups){.g = g, .parent = parent, .pedge = pedge};
    if (!cls || !out || !(pg->memo = calloc(1, sizeof *pg->memo)))
        goto fail;
    pg->memo->budget = 4 * (uint64_t)g->n + 1000000;
    memset(cls, 0xff, (size_t)g->n * sizeof *cls);
    c.cls = cls;
    if (classify(&c, nodes, n, out) < 0)
        goto fail;
    /* count each class (out[k]: the index of its first node) */
    memset(cls, 0, n * sizeof *cls);
    size_t G = 0;
    for (size_t k = 0; k < n; k++)
        G += cls[out[k]]++ == 0;
    free(out);
    out = NULL;
    if (!(pg->groups = malloc((G + 1) * sizeof *pg->groups)))
        goto fail;
    for (size_t k = 0; k < n; k++)
        if (cls[k])
            pg->groups[pg->n++] = (struct phd_path_group){nodes[k], cls[k]};
    if (c.saw_key && pg->n >= PHD_PATHS_KEYED_MIN) {
        if (!(out = malloc((G + 1) * sizeof *out)) || merge_keyed(pg, &c, out) < 0)
            goto fail;
    }
    free(cls);
    free(out);
    free(c.slot);
    tokens_free(&c.tok);
    sort_groups(pg->groups, pg->n);
    return 0;
fail:
    free(cls);
    free(out);
    free(c.slot);
    tokens_free(&c.tok);
    phd_path_groups_free(pg);
    return -1;
}

void phd_path_groups_free(struct phd_path_groups *pg)
{
    if (pg->memo) {
        free(pg->memo->depth);
        free(pg->memo->head);
        free(pg->memo);
    }
    free(pg->groups);
    free(pg->keys);
    *pg = (struct phd_path_groups){0};
}

long phd_path_groups_text(struct phd_path_groups *pg, size_t k, int exact, char **buf, size_t *cap)
{
    const struct phd_path_group *x = &pg->groups[k];
    uint64_t mask = 0;
    /* the merged groups' keys, by example (ascending): binary search */
    for (size_t lo = 0, hi = pg->n_keys; !exact && lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        if (pg->keys[mid].example == x->example) {
            mask = pg->keys[mid].mask;
            break;
        }
        if (pg->keys[mid].example < x->example)
            lo = mid + 1;
        else
            hi = mid;
    }
    return spell(pg->g, pg->parent, pg->pedge, pg->memo, x->example, !exact, mask, buf, cap);
}

char *phd_path_text(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge, uint32_t v, int fold)
{
    char *buf = NULL;
    size_t cap = 0;
    if (spell(g, parent, pedge, NULL, v, fold, 0, &buf, &cap) < 0)
        return NULL;
    return buf;
}
