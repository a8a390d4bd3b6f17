/*
 * snapvtab.c - the tables of a loaded database (docs/sqlite-schema.md),
 * served by an SQLite virtual-table module straight from parsed snapshots.
 *
 * Every row is computed from the snapshot's arrays when SQLite asks for
 * it; nothing is copied.  A table is one module instance over a
 * phd_snapset, its kind given as the module argument:
 *
 *   CREATE VIRTUAL TABLE objects USING phd_snapshot(objects)
 *
 * Rows and ids are exactly those 'pyheapdiff load' writes into a fresh
 * database: snapshot k of the set has id k (or the id the loader gives
 * it), an object's id is id << 32 | node, strings are numbered in the
 * order a load meets them (per snapshot: type names, then the names of
 * references in node order, then root names), type_stats merges types of
 * one name, address_index is the same blob.
 *
 * Access paths (xBestIndex): equality on an object id is one row; ranges
 * of ids (and "snapshot = S") are node ranges; edges by src are the CSR
 * range of the source node; objects by type, edges by dst and objects by
 * address use per-snapshot indexes built the first time a query needs
 * them (a counting sort by type name, the reverse CSR with each
 * reference's source, a sort by address: O(nodes + edges) time, 4 bytes
 * per node and 8 per reference at most, kept with the snapshot).  Constraints are never "omitted": SQLite checks every row we
 * return again, so a constraint value we cannot use exactly (a real, a
 * text) just widens the scan.  A cursor is a few integers: no allocation
 * per row, and at most one row's buffer (a preview, an address-index blob).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pyheapdiff/census.h"
#include "pyheapdiff/snapvtab.h"
#include "pyheapdiff/text.h"
#include "pyheapdiff/types.h"
#include "schema.h"

enum table { T_SNAPSHOTS, T_STRINGS, T_TYPES, T_OBJECTS, T_EDGES, T_ROOTS, T_TYPE_STATS, T_ADDRESS_INDEX, T_COUNT };

/* Column names and declared types as in store.c's schema, so that
 * affinities, typeof() and SELECT * are the same. */
static const struct {
    const char *name;
    const char *decl;
} tables[T_COUNT] = {
    [T_SNAPSHOTS] = {"snapshots",
                     "CREATE TABLE x(id INTEGER, path TEXT, crc INTEGER, file_size INTEGER, format_version INTEGER, "
                     "python TEXT, pointer_size INTEGER, pid INTEGER, process_start_ns INTEGER, timestamp_ns INTEGER, "
                     "values_recorded INTEGER, collected INTEGER, objects INTEGER, edges INTEGER, total_size INTEGER, "
                     "loaded_at TEXT)"},
    [T_STRINGS] = {"strings", "CREATE TABLE x(id INTEGER, text TEXT)"},
    [T_TYPES] = {"types", "CREATE TABLE x(snapshot INTEGER, id INTEGER, name INTEGER, object INTEGER)"},
    [T_OBJECTS] = {"objects", "CREATE TABLE x(id INTEGER, snapshot INTEGER, address INTEGER, type INTEGER, "
                              "size INTEGER, refcount INTEGER, flags INTEGER, preview)"},
    [T_EDGES] = {"edges", "CREATE TABLE x(src INTEGER, seq INTEGER, dst INTEGER, kind INTEGER, label INTEGER)"},
    [T_ROOTS] = {"roots", "CREATE TABLE x(snapshot INTEGER, object INTEGER, kind INTEGER, thread_id INTEGER, "
                          "name INTEGER)"},
    [T_TYPE_STATS] = {"type_stats",
                      "CREATE TABLE x(snapshot INTEGER, type INTEGER, count INTEGER, size INTEGER, origin INTEGER)"},
    [T_ADDRESS_INDEX] = {"address_index", "CREATE TABLE x(snapshot INTEGER, count INTEGER, data BLOB)"},
};

/* One snapshot of the set and what its tables need beyond the arrays. */
struct entry {
    struct phd_snapshot *s;
    int64_t id;
    int64_t *sid;          /* n_strings: strings.id of each string; -1 when no row uses it */
    /* type_stats rows: per type name (merged), ordered by strings.id */
    uint32_t n_stats;
    int64_t *stat_sid;
    uint64_t *stat_count, *stat_size;
    uint8_t *stat_origin;
    uint32_t *trank;       /* n_types: row of type t's name in the stats; UINT32_MAX: no objects */
    /* built on first use */
    uint32_t *by_type_start, *by_type; /* n_stats + 1, n_nodes: nodes grouped by type name */
    uint32_t *rev_start, *rev_edge;    /* n_nodes + 1, n_edges: edges grouped by target */
    uint32_t *rev_src;                 /* n_edges: the source node of rev_edge[j] */
    uint32_t *by_addr;                 /* n_nodes: nodes by address */
    char loaded_at[32];
};

struct phd_snapset {
    struct entry *e;
    int n, cap;
    /* the set's own strings table: strings.id i + 1 is str[i] */
    const char **str;
    uint32_t *str_len;
    uint32_t n_str, str_cap;
    uint32_t *hash;        /* open addressing: string index + 1, 0 empty */
    uint32_t hash_cap;     /* a power of two, at least twice n_str */
    phd_snapset_progress_fn progress;
    void *progress_arg;
};

/* ---- the set ------------------------------------------------------------ */

struct phd_snapset *phd_snapset_new(void) { return calloc(1, sizeof(struct phd_snapset)); }

static void entry_release(struct entry *e)
{
    phd_snapshot_free(&e->s);
    free(e->sid);
    free(e->stat_sid);
    free(e->stat_count);
    free(e->stat_size);
    free(e->stat_origin);
    free(e->trank);
    free(e->by_type_start);
    free(e->by_type);
    free(e->rev_start);
    free(e->rev_edge);
    free(e->rev_src);
    free(e->by_addr);
    memset(e, 0, sizeof *e);
}

void phd_snapset_clear(struct phd_snapset *set)
{
    for (int k = 0; k < set->n; k++)
        entry_release(&set->e[k]);
    set->n = 0;
    set->n_str = 0;
    if (set->hash)
        memset(set->hash, 0, (size_t)set->hash_cap * sizeof *set->hash);
}

void phd_snapset_free(struct phd_snapset **setp)
{
    struct phd_snapset *set = *setp;
    if (!set)
        return;
    phd_snapset_clear(set);
    free(set->e);
    free(set->str);
    free(set->str_len);
    free(set->hash);
    free(set);
    *setp = NULL;
}

void phd_snapset_progress(struct phd_snapset *set, phd_snapset_progress_fn fn, void *arg)
{
    set->progress = fn;
    set->progress_arg = arg;
}

/* FNV-1a */
static uint32_t str_hash(const char *t, uint32_t len)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)t[i]) * 16777619u;
    return h;
}

/* The index of text in the set's strings, or UINT32_MAX. */
static uint32_t str_find(const struct phd_snapset *set, const char *t, uint32_t len)
{
    if (!set->hash_cap)
        return UINT32_MAX;
    for (uint32_t h = str_hash(t, len) & (set->hash_cap - 1);; h = (h + 1) & (set->hash_cap - 1)) {
        uint32_t v = set->hash[h];
        if (!v)
            return UINT32_MAX;
        if (set->str_len[v - 1] == len && memcmp(set->str[v - 1], t, len) == 0)
            return v - 1;
    }
}

/* strings.id of text, numbering it when new; -1 when out of memory. */
static int64_t str_intern(struct phd_snapset *set, const char *t, uint32_t len)
{
    uint32_t i = str_find(set, t, len);
    if (i != UINT32_MAX)
        return (int64_t)i + 1;
    if (set->n_str == set->str_cap) {
        uint32_t cap = set->str_cap ? set->str_cap * 2 : 1024;
        const char **ns = realloc(set->str, cap * sizeof *ns);
        if (ns)
            set->str = ns;
        uint32_t *nl = realloc(set->str_len, cap * sizeof *nl);
        if (nl)
            set->str_len = nl;
        if (!ns || !nl)
            return -1;
        set->str_cap = cap;
    }
    if ((uint64_t)(set->n_str + 1) * 2 > set->hash_cap) {
        uint32_t cap = set->hash_cap ? set->hash_cap * 2 : 4096;
        uint32_t *nh = calloc(cap, sizeof *nh);
        if (!nh)
            return -1;
        for (uint32_t j = 0; j < set->n_str; j++) {
            uint32_t h = str_hash(set->str[j], set->str_len[j]) & (cap - 1);
            while (nh[h])
                h = (h + 1) & (cap - 1);
            nh[h] = j + 1;
        }
        free(set->hash);
        set->hash = nh;
        set->hash_cap = cap;
    }
    uint32_t h = str_hash(t, len) & (set->hash_cap - 1);
    while (set->hash[h])
        h = (h + 1) & (set->hash_cap - 1);
    set->str[set->n_str] = t;
    set->str_len[set->n_str] = len;
    set->hash[h] = ++set->n_str;
    return set->n_str;
}

/* Numbers e's strings in the set's table in the order a load meets them. */
static int number_strings(struct phd_snapset *set, struct entry *e)
{
    const struct phd_snapshot *s = e->s;
#define SID(x)                                                                                        \
    do {                                                                                              \
        if (e->sid[(x)] < 0 && (e->sid[(x)] = str_intern(set, s->str[(x)], s->str_len[(x)])) < 0)     \
            return -1;                                                                                \
    } while (0)
    for (uint32_t t = 0; t < s->n_types; t++)
        SID(s->types[t].name);
    for (uint64_t k = 0; k < s->n_edges; k++)
        if (PHD_LABEL_KIND(s->edge_label[k]) == PHD_LABEL_NAME)
            SID(PHD_LABEL_PAYLOAD(s->edge_label[k]));
    for (uint32_t r = 0; r < s->n_roots; r++)
        if (s->roots[r].name != UINT32_MAX)
            SID(s->roots[r].name);
#undef SID
    return 0;
}

struct name_type {
    int64_t sid;
    uint32_t t;
};

static int by_sid_type(const void *a, const void *b)
{
    const struct name_type *x = a, *y = b;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

/* The type_stats rows: per-type totals merged by name, the origin of the
 * first type of the name that has objects (as the loader always did). */
static int build_stats(struct entry *e)
{
    const struct phd_snapshot *s = e->s;
    int rc = -1;
    uint64_t *cnt = calloc((size_t)s->n_types + 1, sizeof *cnt), *sz = calloc((size_t)s->n_types + 1, sizeof *sz);
    struct name_type *nt = malloc(((size_t)s->n_types + 1) * sizeof *nt);
    e->trank = malloc(((size_t)s->n_types + 1) * sizeof *e->trank);
    e->stat_sid = malloc(((size_t)s->n_types + 1) * sizeof *e->stat_sid);
    e->stat_count = malloc(((size_t)s->n_types + 1) * sizeof *e->stat_count);
    e->stat_size = malloc(((size_t)s->n_types + 1) * sizeof *e->stat_size);
    e->stat_origin = malloc((size_t)s->n_types + 1);
    if (!cnt || !sz || !nt || !e->trank || !e->stat_sid || !e->stat_count || !e->stat_size || !e->stat_origin)
        goto out;
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        cnt[s->type[i]]++;
        sz[s->type[i]] += phd_snapshot_size(s, i);
    }
    uint32_t m = 0;
    for (uint32_t t = 0; t < s->n_types; t++) {
        e->trank[t] = UINT32_MAX;
        if (cnt[t])
            nt[m++] = (struct name_type){e->sid[s->types[t].name], t};
    }
    qsort(nt, m, sizeof *nt, by_sid_type);
    uint32_t r = 0;
    for (uint32_t j = 0; j < m; j++) {
        uint32_t t = nt[j].t;
        if (j == 0 || nt[j].sid != nt[j - 1].sid) {
            e->stat_sid[r] = nt[j].sid;
            e->stat_count[r] = 0;
            e->stat_size[r] = 0;
            e->stat_origin[r] = (uint8_t)phd_snapshot_type_origin(s, t);
            r++;
        }
        e->stat_count[r - 1] += cnt[t];
        e->stat_size[r - 1] += sz[t];
        e->trank[t] = r - 1;
    }
    e->n_stats = r;
    rc = 0;
out:
    free(cnt);
    free(sz);
    free(nt);
    return rc;
}

/* The stats row of the type name sid, or UINT32_MAX. */
static uint32_t stat_find(const struct entry *e, int64_t sid)
{
    uint32_t lo = 0, hi = e->n_stats;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (e->stat_sid[mid] < sid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < e->n_stats && e->stat_sid[lo] == sid ? lo : UINT32_MAX;
}

int phd_snapset_add(struct phd_snapset *set, struct phd_snapshot **sp, int64_t id, const int64_t *sid, int *added,
                    struct phd_error *err)
{
    struct phd_snapshot *s = *sp;
    *sp = NULL;
    *added = 0;
    for (int k = 0; k < set->n; k++) {
        const struct phd_snapshot *o = set->e[k].s;
        if (o->crc == s->crc && o->map_len == s->map_len && o->hdr.timestamp_ns == s->hdr.timestamp_ns &&
            o->hdr.pid == s->hdr.pid) {
            phd_snapshot_free(&s);
            return 0;
        }
    }
    if (set->n == set->cap) {
        int cap = set->cap ? set->cap * 2 : 4;
        struct entry *ne = realloc(set->e, (size_t)cap * sizeof *ne);
        if (!ne)
            goto nomem;
        set->e = ne;
        set->cap = cap;
    }
    struct entry *e = &set->e[set->n];
    memset(e, 0, sizeof *e);
    e->s = s;
    e->id = id;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(e->loaded_at, sizeof e->loaded_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    e->sid = malloc(((size_t)s->n_strings + 1) * sizeof *e->sid);
    if (!e->sid)
        goto fail;
    if (sid) {
        memcpy(e->sid, sid, (size_t)s->n_strings * sizeof *sid);
    } else {
        for (uint32_t i = 0; i < s->n_strings; i++)
            e->sid[i] = -1;
        if (number_strings(set, e) < 0)
            goto fail;
    }
    if (build_stats(e) < 0)
        goto fail;
    set->n++;
    *added = 1;
    return 0;
fail:
    phd_error_set(err, "%s: out of memory", s->path);
    entry_release(e); /* frees s */
    return -1;
nomem:
    phd_error_set(err, "%s: out of memory", s->path);
    phd_snapshot_free(&s);
    return -1;
}

int phd_snapset_open_files(struct phd_snapset **out, const char *const *paths, int n, struct phd_error *err)
{
    struct phd_snapset *set = phd_snapset_new();
    *out = NULL;
    if (!set)
        return phd_error_set(err, "out of memory");
    for (int i = 0; i < n; i++) {
        struct phd_snapshot *s = NULL;
        int added;
        if (phd_snapshot_open(&s, paths[i], 0, err) < 0 ||
            phd_snapset_add(set, &s, (int64_t)set->n + 1, NULL, &added, err) < 0) {
            phd_snapshot_free(&s);
            phd_snapset_free(&set);
            return -1;
        }
    }
    *out = set;
    return 0;
}

/* ---- lazily built indexes ----------------------------------------------- */

/* Nodes grouped by type name (counting sort by stats row): O(nodes). */
static int need_by_type(struct entry *e)
{
    if (e->by_type)
        return 0;
    const struct phd_snapshot *s = e->s;
    uint32_t *start = calloc((size_t)e->n_stats + 2, sizeof *start);
    uint32_t *list = malloc(((size_t)s->n_nodes + 1) * sizeof *list);
    if (!start || !list) {
        free(start);
        free(list);
        return -1;
    }
    for (uint32_t r = 0; r < e->n_stats; r++)
        start[r + 1] = start[r] + (uint32_t)e->stat_count[r];
    for (uint32_t i = 0; i < s->n_nodes; i++)
        list[start[e->trank[s->type[i]]]++] = i;
    /* start[r] now ends row r: shift back */
    memmove(start + 1, start, (size_t)e->n_stats * sizeof *start);
    start[0] = 0;
    e->by_type_start = start;
    e->by_type = list;
    return 0;
}

/* Edges grouped by target, each group in edge order: O(nodes + edges). */
static int need_rev(struct entry *e)
{
    if (e->rev_edge)
        return 0;
    const struct phd_snapshot *s = e->s;
    uint32_t *start = calloc((size_t)s->n_nodes + 2, sizeof *start);
    uint32_t *list = malloc(((size_t)s->n_edges + 1) * sizeof *list);
    uint32_t *src = malloc(((size_t)s->n_edges + 1) * sizeof *src);
    if (!start || !list || !src) {
        free(start);
        free(list);
        free(src);
        return -1;
    }
    for (uint64_t k = 0; k < s->n_edges; k++)
        start[s->edge_target[k] + 2]++;
    for (uint32_t i = 0; i < s->n_nodes; i++)
        start[i + 2] += start[i + 1];
    for (uint32_t i = 0; i < s->n_nodes; i++)
        for (uint32_t k = s->edge_start[i]; k < s->edge_start[i + 1]; k++) {
            uint32_t j = start[s->edge_target[k] + 1]++;
            list[j] = k;
            src[j] = i;
        }
    e->rev_start = start;
    e->rev_edge = list;
    e->rev_src = src;
    return 0;
}

static int by_address(const void *a, const void *b, void *arg)
{
    const uint64_t *addr = arg;
    uint64_t x = addr[*(const uint32_t *)a], y = addr[*(const uint32_t *)b];
    if (x != y)
        return x < y ? -1 : 1;
    return (*(const uint32_t *)a > *(const uint32_t *)b) - (*(const uint32_t *)a < *(const uint32_t *)b);
}

static int need_by_addr(struct entry *e)
{
    if (e->by_addr)
        return 0;
    const struct phd_snapshot *s = e->s;
    uint32_t *list = malloc(((size_t)s->n_nodes + 1) * sizeof *list);
    if (!list)
        return -1;
    for (uint32_t i = 0; i < s->n_nodes; i++)
        list[i] = i;
    qsort_r(list, s->n_nodes, sizeof *list, by_address, s->addr);
    e->by_addr = list;
    return 0;
}

/*
 * address_index.data: the objects sorted by address as pairs of varints
 * (address delta, stats row of the type), built for one row; malloc'd.
 */
static unsigned char *address_blob(const struct entry *e, size_t *len)
{
    const struct phd_snapshot *s = e->s;
    unsigned char *blob = NULL;
    struct phd_census *c = phd_census_new(s->path, 0, s->n_nodes);
    if (!c && s->n_nodes)
        return NULL;
    if (s->n_nodes) {
        memcpy(c->addr, s->addr, (size_t)s->n_nodes * sizeof *c->addr);
        for (uint32_t i = 0; i < s->n_nodes; i++)
            c->otype[i] = e->trank[s->type[i]];
        if (phd_census_sort_objects(c) < 0)
            goto out;
    }
    blob = malloc((size_t)s->n_nodes * 15 + 1);
    if (!blob)
        goto out;
    unsigned char *p = blob;
    uint64_t prev = 0;
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        p = phd_varint_put(p, c->addr[i] - prev);
        prev = c->addr[i];
        p = phd_varint_put(p, c->otype[i]);
    }
    *len = (size_t)(p - blob);
out:
    phd_census_free(&c);
    return blob;
}

/* ---- the module ----------------------------------------------------------- */

struct vtab {
    sqlite3_vtab base;
    struct phd_snapset *set;
    enum table t;
};

enum mode { M_RANGE, M_TYPE, M_DST, M_ADDR, M_BY_DST, M_BY_ADDR };

struct cursor {
    sqlite3_vtab_cursor base;
    struct vtab *tab;
    int k, k_end;          /* entries left to visit: [k, k_end) */
    enum mode mode;
    int64_t idlo, idhi;    /* M_RANGE: ids (or rows) wanted, inclusive */
    int64_t key;           /* M_TYPE: strings.id, M_DST: object id, M_ADDR: address */
    uint64_t pos, end;     /* in M_RANGE the row, else a position in list */
    const uint32_t *list;
    uint64_t row;          /* the current row of entry k */
    uint32_t node;         /* edges: the current row's source node */
    int eof;
    char pv[PHD_PREVIEW_MAX];
};

/* Bits of idxNum: which constraints xFilter gets, in this order. */
enum {
    B_SNAP = 1,      /* snapshot = ? (snapshots: id = ?) */
    B_IDEQ = 2,      /* id = ? (edges: src) */
    B_LO = 4,        /* id >= ? */
    B_LO_GT = 8,     /*   > instead */
    B_HI = 16,       /* id <= ? */
    B_HI_LT = 32,    /*   < instead */
    B_TYPE = 64,     /* objects.type, type_stats.type = ? */
    B_DST = 128,     /* edges.dst = ? */
    B_ADDR = 256,    /* objects.address = ? */
    B_TEXT = 512,    /* strings.text = ? */
    B_ORDER = 1024,  /* a full scan in index order: edges by (dst, src, seq), objects by (snapshot, address, id) */
};

static int vt_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **errp)
{
    int t = T_COUNT;
    if (argc == 4)
        for (t = 0; t < T_COUNT; t++)
            if (strcmp(argv[3], tables[t].name) == 0)
                break;
    if (t == T_COUNT) {
        *errp = sqlite3_mprintf("phd_snapshot: expected one table name (objects, edges, ...)");
        return SQLITE_ERROR;
    }
    int rc = sqlite3_declare_vtab(db, tables[t].decl);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
    struct vtab *v = sqlite3_malloc(sizeof *v);
    if (!v)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof *v);
    v->set = aux;
    v->t = (enum table)t;
    *out = &v->base;
    return SQLITE_OK;
}

static int vt_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

/* Rows of table t in the whole set (an estimate's base). */
static double table_rows(const struct vtab *v)
{
    const struct phd_snapset *set = v->set;
    double n = 0;
    for (int k = 0; k < set->n; k++) {
        const struct phd_snapshot *s = set->e[k].s;
        switch (v->t) {
        case T_SNAPSHOTS:
        case T_ADDRESS_INDEX:
            n += 1;
            break;
        case T_STRINGS:
            break;
        case T_TYPES:
            n += s->n_types;
            break;
        case T_OBJECTS:
            n += s->n_nodes;
            break;
        case T_EDGES:
            n += (double)s->n_edges;
            break;
        case T_ROOTS:
            n += s->n_roots;
            break;
        case T_TYPE_STATS:
            n += set->e[k].n_stats;
            break;
        case T_COUNT:
            break;
        }
    }
    if (v->t == T_STRINGS)
        n = set->n_str;
    return n + 1;
}

/* ORDER BY dst[, src[, seq]] on edges, or snapshot, address[, id] on
 * objects, ascending, over snapshots whose ids ascend. */
static int order_is_index(const struct vtab *v, const sqlite3_index_info *info)
{
    static const int edges[] = {2, 0, 1}, objects[] = {1, 2, 0};
    const int *want = v->t == T_EDGES ? edges : objects;
    int min = v->t == T_EDGES ? 1 : 2;
    if (info->nOrderBy < min || info->nOrderBy > 3)
        return 0;
    for (int i = 0; i < info->nOrderBy; i++)
        if (info->aOrderBy[i].iColumn != want[i] || info->aOrderBy[i].desc)
            return 0;
    for (int k = 1; k < v->set->n; k++)
        if (v->set->e[k].id <= v->set->e[k - 1].id)
            return 0;
    return 1;
}

/*
 * Chooses one access path from the usable constraints (an id, then an
 * address, a type, a target, a text, an id range, the snapshot) and
 * estimates its rows for the planner; never omits a constraint.
 */
static int vt_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
    const struct vtab *v = (const struct vtab *)vt;
    int snap_col = -1, id_col = -1, type_col = -1, dst_col = -1, addr_col = -1, text_col = -1;
    switch (v->t) {
    case T_SNAPSHOTS:
        snap_col = 0;
        break;
    case T_STRINGS:
        id_col = 0;
        text_col = 1;
        break;
    case T_TYPES:
        snap_col = 0;
        id_col = 1;
        break;
    case T_OBJECTS:
        id_col = 0;
        snap_col = 1;
        addr_col = 2;
        type_col = 3;
        break;
    case T_EDGES:
        id_col = 0;
        dst_col = 2;
        break;
    case T_ROOTS:
    case T_ADDRESS_INDEX:
        snap_col = 0;
        break;
    case T_TYPE_STATS:
        snap_col = 0;
        type_col = 1;
        break;
    case T_COUNT:
        break;
    }
    int use[10]; /* constraint index per bit, -1 */
    for (int b = 0; b < 10; b++)
        use[b] = -1;
    int lo_gt = 0, hi_lt = 0;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (!c->usable)
            continue;
        int b = -1, col = c->iColumn;
        /* the rowid is the id where a loaded database has it so */
        if (col < 0)
            col = v->t == T_OBJECTS || v->t == T_STRINGS ? id_col : v->t == T_SNAPSHOTS ? snap_col : -2;
        if (col < 0)
            continue;
        if (c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
            b = col == snap_col ? 0 : col == id_col ? 1 : col == type_col ? 6 : col == dst_col ? 7
                : col == addr_col ? 8 : col == text_col ? 9 : -1;
        } else if (col == id_col && (c->op == SQLITE_INDEX_CONSTRAINT_GT || c->op == SQLITE_INDEX_CONSTRAINT_GE)) {
            b = 2;
            if (use[b] < 0)
                lo_gt = c->op == SQLITE_INDEX_CONSTRAINT_GT;
        } else if (col == id_col && (c->op == SQLITE_INDEX_CONSTRAINT_LT || c->op == SQLITE_INDEX_CONSTRAINT_LE)) {
            b = 4;
            if (use[b] < 0)
                hi_lt = c->op == SQLITE_INDEX_CONSTRAINT_LT;
        }
        if (b >= 0 && use[b] < 0)
            use[b] = i;
    }
    /* bit positions: 0 SNAP, 1 IDEQ, 2 LO, 4 HI, 6 TYPE, 7 DST, 8 ADDR, 9 TEXT */
    double total = table_rows(v), nsnap = v->set->n > 0 ? v->set->n : 1, rows = total;
    int unique = 0;
    if (use[1] >= 0) {
        use[2] = use[4] = use[6] = use[7] = use[8] = use[9] = -1;
        rows = v->t == T_EDGES ? 4 : 1;
        unique = v->t == T_OBJECTS || v->t == T_STRINGS;
        if (v->t == T_TYPES && use[0] < 0)
            rows = nsnap;
    } else if (use[8] >= 0) {
        use[2] = use[4] = use[6] = use[7] = use[9] = -1;
        rows = use[0] >= 0 ? 1 : nsnap;
    } else if (use[6] >= 0) {
        use[2] = use[4] = use[7] = use[9] = -1;
        rows = v->t == T_TYPE_STATS ? (use[0] >= 0 ? 1 : nsnap) : total / 100 / (use[0] >= 0 ? nsnap : 1);
    } else if (use[7] >= 0) {
        use[2] = use[4] = use[9] = -1;
        rows = 4;
    } else if (use[9] >= 0) {
        use[2] = use[4] = -1;
        rows = 1;
        unique = 1;
    } else {
        if (use[2] >= 0)
            rows /= 2;
        if (use[4] >= 0)
            rows /= 2;
        if (use[0] >= 0)
            rows /= nsnap;
    }
    if (use[1] < 0 && use[6] < 0 && use[8] < 0 && use[0] >= 0 && v->t != T_OBJECTS && v->t != T_TYPES)
        rows = total / nsnap;
    if (v->t == T_SNAPSHOTS && use[0] >= 0)
        unique = 1, rows = 1;
    int idx = 0, arg = 1;
    static const int bits[10] = {B_SNAP, B_IDEQ, B_LO, 0, B_HI, 0, B_TYPE, B_DST, B_ADDR, B_TEXT};
    for (int b = 0; b < 10; b++) {
        if (use[b] < 0 || !bits[b])
            continue;
        idx |= bits[b];
        info->aConstraintUsage[use[b]].argvIndex = arg++;
        info->aConstraintUsage[use[b]].omit = 0;
    }
    if ((idx & B_LO) && lo_gt)
        idx |= B_LO_GT;
    if ((idx & B_HI) && hi_lt)
        idx |= B_HI_LT;
    /* a full scan in the order of the index a database has (edges_dst,
     * objects_address): what load builds those indexes from */
    if (!idx && (v->t == T_EDGES || v->t == T_OBJECTS) && order_is_index(v, info)) {
        idx = B_ORDER;
        info->orderByConsumed = 1;
    }
    if (rows < 1)
        rows = 1;
    info->idxNum = idx;
    info->estimatedRows = (sqlite3_int64)rows;
    /* a lookup costs a little more than the rows it returns */
    info->estimatedCost = idx ? rows + 2 : total * 1.1 + 10;
    if (unique)
        info->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
    return SQLITE_OK;
}

static int vt_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
    struct cursor *c = sqlite3_malloc(sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    c->tab = (struct vtab *)vt;
    c->eof = 1;
    *out = &c->base;
    return SQLITE_OK;
}

static int vt_close(sqlite3_vtab_cursor *cur)
{
    sqlite3_free(cur);
    return SQLITE_OK;
}

/* An integer constraint value: 1 with *out set; 0 when it is not an
 * exact integer (the scan then ignores it: SQLite checks rows again);
 * -1 for NULL, which matches nothing. */
static int arg_int(sqlite3_value *v, int64_t *out)
{
    int type = sqlite3_value_type(v);
    if (type == SQLITE_NULL)
        return -1;
    if (type == SQLITE_INTEGER) {
        *out = sqlite3_value_int64(v);
        return 1;
    }
    if (type == SQLITE_FLOAT) {
        double d = sqlite3_value_double(v);
        if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d) {
            *out = (int64_t)d;
            return 1;
        }
    }
    return 0;
}

/* Rows of entry k in table t (for M_RANGE); objects and edges count nodes. */
static uint64_t entry_rows(const struct vtab *v, int k)
{
    const struct entry *e = &v->set->e[k];
    switch (v->t) {
    case T_SNAPSHOTS:
    case T_ADDRESS_INDEX:
        return 1;
    case T_STRINGS:
        return v->set->n_str;
    case T_TYPES:
        return e->s->n_types;
    case T_OBJECTS:
    case T_EDGES:
        return e->s->n_nodes;
    case T_ROOTS:
        return e->s->n_roots;
    case T_TYPE_STATS:
        return e->n_stats;
    case T_COUNT:
        break;
    }
    return 0;
}

/* The id of row 0 of entry k, for tables whose id range is constrained. */
static int64_t entry_base(const struct vtab *v, int k)
{
    if (v->t == T_OBJECTS || v->t == T_EDGES)
        return (int64_t)((uint64_t)v->set->e[k].id << 32);
    return v->t == T_STRINGS ? 1 : 0;
}

/* Sets up entry c->k: its rows or list; 0 when it has none. */
static int enter(struct cursor *c)
{
    const struct vtab *v = c->tab;
    struct entry *e = &v->set->e[c->k];
    const struct phd_snapshot *s = e->s;
    c->list = NULL;
    c->pos = c->end = 0;
    switch (c->mode) {
    case M_RANGE: {
        uint64_t n = entry_rows(v, c->k);
        int64_t base = entry_base(v, c->k);
        if (c->idhi < base || c->idlo > c->idhi)
            return 0;
        uint64_t lo = c->idlo <= base ? 0 : (uint64_t)c->idlo - (uint64_t)base;
        uint64_t hi = (uint64_t)c->idhi - (uint64_t)base; /* inclusive */
        if (lo >= n)
            return 0;
        if (hi >= n)
            hi = n - 1;
        if (v->t == T_EDGES) {
            c->node = (uint32_t)lo;
            c->pos = s->edge_start[lo];
            c->end = s->edge_start[hi + 1];
        } else {
            c->pos = lo;
            c->end = hi + 1;
        }
        break;
    }
    case M_TYPE: {
        uint32_t r = stat_find(e, c->key);
        if (r == UINT32_MAX)
            return 0;
        if (v->t == T_TYPE_STATS) {
            c->pos = r; /* the stats row itself, no list */
            c->end = (uint64_t)r + 1;
            break;
        }
        if (need_by_type(e) < 0)
            return -1;
        c->list = e->by_type + e->by_type_start[r];
        c->end = e->by_type_start[r + 1] - e->by_type_start[r];
        break;
    }
    case M_DST: {
        if (c->key >> 32 != e->id || (uint64_t)(c->key & 0xffffffff) >= s->n_nodes)
            return 0;
        if (need_rev(e) < 0)
            return -1;
        uint32_t node = (uint32_t)(c->key & 0xffffffff);
        c->list = e->rev_edge + e->rev_start[node];
        c->end = e->rev_start[node + 1] - e->rev_start[node];
        break;
    }
    case M_BY_DST:
        if (need_rev(e) < 0)
            return -1;
        c->list = e->rev_edge;
        c->end = s->n_edges;
        break;
    case M_BY_ADDR:
        if (need_by_addr(e) < 0)
            return -1;
        c->list = e->by_addr;
        c->end = s->n_nodes;
        break;
    case M_ADDR: {
        if (need_by_addr(e) < 0)
            return -1;
        uint64_t want = (uint64_t)c->key;
        uint32_t lo = 0, hi = s->n_nodes;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (s->addr[e->by_addr[mid]] < want)
                lo = mid + 1;
            else
                hi = mid;
        }
        uint32_t end = lo;
        while (end < s->n_nodes && s->addr[e->by_addr[end]] == want)
            end++;
        c->list = e->by_addr + lo;
        c->end = end - lo;
        break;
    }
    }
    return c->pos < c->end;
}

/* Makes c->pos of entry c->k the current row. */
static void set_row(struct cursor *c)
{
    const struct entry *e = &c->tab->set->e[c->k];
    const struct phd_snapshot *s = e->s;
    c->row = c->list ? c->list[c->pos] : c->pos;
    if (c->tab->t == T_EDGES) {
        if (c->list) /* a stretch of the reverse index: its sources beside it */
            c->node = e->rev_src[(c->list - e->rev_edge) + c->pos];
        else
            while (s->edge_start[c->node + 1] <= c->row)
                c->node++;
    }
}

/* Moves to the first row at or after (k, pos); sets eof at the end. */
static int settle(struct cursor *c, int fresh)
{
    for (;;) {
        if (!fresh && c->pos < c->end)
            break;
        if (!fresh)
            c->k++;
        fresh = 0;
        if (c->k >= c->k_end) {
            c->eof = 1;
            return SQLITE_OK;
        }
        int r = enter(c);
        if (r < 0)
            return SQLITE_NOMEM;
        if (r > 0)
            break;
    }
    set_row(c);
    return SQLITE_OK;
}

static int vt_filter(sqlite3_vtab_cursor *cur, int idx, const char *idx_str, int argc, sqlite3_value **argv)
{
    (void)idx_str;
    (void)argc;
    struct cursor *c = (struct cursor *)cur;
    const struct vtab *v = c->tab;
    const struct phd_snapset *set = v->set;
    int a = 0, r;
    int64_t x;
    c->eof = 0;
    c->mode = M_RANGE;
    c->idlo = INT64_MIN;
    c->idhi = INT64_MAX;
    c->k = 0;
    c->k_end = v->t == T_STRINGS ? (set->n_str ? 1 : 0) : set->n;
    c->pos = c->end = 0;
#define EMPTY()                                                                                       \
    do {                                                                                              \
        c->eof = 1;                                                                                   \
        return SQLITE_OK;                                                                             \
    } while (0)
    /* the entries with this snapshot id: the ids ascend in sql's sets, but
     * not necessarily in a loader's */
    if (idx & B_SNAP) {
        if ((r = arg_int(argv[a++], &x)) < 0)
            EMPTY();
        if (r > 0 && v->t != T_STRINGS) {
            int k = 0;
            while (k < set->n && set->e[k].id != x)
                k++;
            if (k == set->n)
                EMPTY();
            c->k = k;
            c->k_end = k + 1;
        }
    }
    if (idx & B_IDEQ) {
        if ((r = arg_int(argv[a++], &x)) < 0)
            EMPTY();
        if (r > 0) {
            c->idlo = c->idhi = x;
            if (v->t == T_OBJECTS || v->t == T_EDGES) {
                int k = c->k;
                while (k < c->k_end && set->e[k].id != (x >> 32))
                    k++;
                if (k == c->k_end)
                    EMPTY();
                c->k = k;
                c->k_end = k + 1;
            }
        }
    }
    if (idx & B_LO) {
        if ((r = arg_int(argv[a++], &x)) < 0)
            EMPTY();
        if (r > 0) {
            if ((idx & B_LO_GT) && x == INT64_MAX)
                EMPTY();
            c->idlo = (idx & B_LO_GT) ? x + 1 : x;
        }
    }
    if (idx & B_HI) {
        if ((r = arg_int(argv[a++], &x)) < 0)
            EMPTY();
        if (r > 0) {
            if ((idx & B_HI_LT) && x == INT64_MIN)
                EMPTY();
            int64_t hi = (idx & B_HI_LT) ? x - 1 : x;
            if (hi < c->idhi)
                c->idhi = hi;
        }
    }
    if (idx & (B_TYPE | B_DST | B_ADDR)) {
        if ((r = arg_int(argv[a++], &x)) < 0)
            EMPTY();
        if (r > 0) {
            c->key = x;
            c->mode = (idx & B_TYPE) ? M_TYPE : (idx & B_DST) ? M_DST : M_ADDR;
        }
    }
    if (idx & B_TEXT) {
        sqlite3_value *val = argv[a++];
        int type = sqlite3_value_type(val);
        if (type == SQLITE_NULL)
            EMPTY();
        if (type != SQLITE_BLOB) {
            const char *t = (const char *)sqlite3_value_text(val);
            if (!t)
                return SQLITE_NOMEM;
            uint32_t i = str_find(set, t, (uint32_t)sqlite3_value_bytes(val));
            if (i == UINT32_MAX)
                EMPTY();
            c->idlo = c->idhi = (int64_t)i + 1;
        }
    }
#undef EMPTY
    if (idx & B_ORDER)
        c->mode = v->t == T_EDGES ? M_BY_DST : M_BY_ADDR;
    return settle(c, 1);
}

static int vt_next(sqlite3_vtab_cursor *cur)
{
    struct cursor *c = (struct cursor *)cur;
    c->pos++;
    if (c->tab->t == T_OBJECTS && !c->list && (c->pos & 0xffff) == 0 && c->tab->set->progress) {
        const struct phd_snapshot *s = c->tab->set->e[c->k].s;
        c->tab->set->progress(c->tab->set->progress_arg, s->path, c->pos, s->n_nodes);
    }
    return settle(c, 0);
}

static int vt_eof(sqlite3_vtab_cursor *cur) { return ((struct cursor *)cur)->eof; }

static void result_string(sqlite3_context *ctx, const struct entry *e, uint32_t str)
{
    if (str == UINT32_MAX || e->sid[str] < 0)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int64(ctx, e->sid[str]);
}

static int vt_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    struct cursor *c = (struct cursor *)cur;
    const struct phd_snapset *set = c->tab->set;
    const struct entry *e = &set->e[c->k];
    const struct phd_snapshot *s = e->s;
    const int64_t base = (int64_t)((uint64_t)e->id << 32);
    const uint64_t row = c->row;
    switch (c->tab->t) {
    case T_SNAPSHOTS:
        switch (col) {
        case 0: sqlite3_result_int64(ctx, e->id); break;
        case 1: sqlite3_result_text(ctx, s->path, -1, SQLITE_STATIC); break;
        case 2: sqlite3_result_int64(ctx, (int64_t)s->crc); break;
        case 3: sqlite3_result_int64(ctx, (int64_t)s->map_len); break;
        case 4: sqlite3_result_int(ctx, s->hdr.version); break;
        case 5: {
            char py[32];
            snprintf(py, sizeof py, "%u.%u.%u", s->hdr.py_major, s->hdr.py_minor, s->hdr.py_micro);
            sqlite3_result_text(ctx, py, -1, SQLITE_TRANSIENT);
            break;
        }
        case 6: sqlite3_result_int(ctx, s->hdr.pointer_size); break;
        case 7: sqlite3_result_int64(ctx, (int64_t)s->hdr.pid); break;
        case 8: sqlite3_result_int64(ctx, (int64_t)s->hdr.start_time_ns); break;
        case 9: sqlite3_result_int64(ctx, (int64_t)s->hdr.timestamp_ns); break;
        case 10: sqlite3_result_int(ctx, (s->hdr.flags & PHD_HDR_VALUES) != 0); break;
        case 11: sqlite3_result_int(ctx, (s->hdr.flags & PHD_HDR_COLLECTED) != 0); break;
        case 12: sqlite3_result_int64(ctx, s->n_nodes); break;
        case 13: sqlite3_result_int64(ctx, (int64_t)s->n_edges); break;
        case 14: sqlite3_result_int64(ctx, (int64_t)s->total_size); break;
        case 15: sqlite3_result_text(ctx, e->loaded_at, -1, SQLITE_TRANSIENT); break;
        }
        break;
    case T_STRINGS:
        if (col == 0)
            sqlite3_result_int64(ctx, (int64_t)row + 1);
        else
            sqlite3_result_text(ctx, set->str[row], (int)set->str_len[row], SQLITE_STATIC);
        break;
    case T_TYPES: {
        const struct phd_type *t = &s->types[row];
        switch (col) {
        case 0: sqlite3_result_int64(ctx, e->id); break;
        case 1: sqlite3_result_int64(ctx, (int64_t)row); break;
        case 2: result_string(ctx, e, t->name); break;
        case 3:
            if (t->node == UINT32_MAX)
                sqlite3_result_null(ctx);
            else
                sqlite3_result_int64(ctx, base | t->node);
            break;
        }
        break;
    }
    case T_OBJECTS: {
        uint32_t i = (uint32_t)row;
        switch (col) {
        case 0: sqlite3_result_int64(ctx, base | i); break;
        case 1: sqlite3_result_int64(ctx, e->id); break;
        case 2: sqlite3_result_int64(ctx, (int64_t)s->addr[i]); break;
        case 3: result_string(ctx, e, s->types[s->type[i]].name); break;
        case 4: sqlite3_result_int64(ctx, (int64_t)phd_snapshot_size(s, i)); break;
        case 5: sqlite3_result_int64(ctx, (int64_t)s->refcnt[i]); break;
        case 6: sqlite3_result_int(ctx, s->flags[i] & PHD_NODE_GC_TRACKED); break;
        case 7: {
            int n = phd_snapshot_preview(s, i, c->pv, sizeof c->pv);
            if (n < 0)
                sqlite3_result_null(ctx);
            else if (phd_utf8_valid((const unsigned char *)c->pv, (size_t)n))
                sqlite3_result_text(ctx, c->pv, n, SQLITE_TRANSIENT);
            else
                sqlite3_result_blob(ctx, c->pv, n, SQLITE_TRANSIENT);
            break;
        }
        }
        break;
    }
    case T_EDGES: {
        uint32_t lab = s->edge_label[row], kind = PHD_LABEL_KIND(lab), pay = PHD_LABEL_PAYLOAD(lab);
        switch (col) {
        case 0: sqlite3_result_int64(ctx, base | c->node); break;
        case 1: sqlite3_result_int64(ctx, (int64_t)(row - s->edge_start[c->node])); break;
        case 2: sqlite3_result_int64(ctx, base | s->edge_target[row]); break;
        case 3: sqlite3_result_int(ctx, (int)kind); break;
        case 4:
            if (kind == PHD_LABEL_INDEX)
                sqlite3_result_int64(ctx, pay);
            else if (kind == PHD_LABEL_VALUE)
                sqlite3_result_int64(ctx, base | pay);
            else if (kind == PHD_LABEL_NAME)
                result_string(ctx, e, pay);
            else
                sqlite3_result_null(ctx);
            break;
        }
        break;
    }
    case T_ROOTS: {
        const struct phd_root *rt = &s->roots[row];
        switch (col) {
        case 0: sqlite3_result_int64(ctx, e->id); break;
        case 1: sqlite3_result_int64(ctx, base | rt->node); break;
        case 2: sqlite3_result_int(ctx, (int)rt->kind); break;
        case 3: sqlite3_result_int64(ctx, (int64_t)rt->thread_id); break;
        case 4: result_string(ctx, e, rt->name); break;
        }
        break;
    }
    case T_TYPE_STATS:
        switch (col) {
        case 0: sqlite3_result_int64(ctx, e->id); break;
        case 1: sqlite3_result_int64(ctx, e->stat_sid[row]); break;
        case 2: sqlite3_result_int64(ctx, (int64_t)e->stat_count[row]); break;
        case 3: sqlite3_result_int64(ctx, (int64_t)e->stat_size[row]); break;
        case 4: sqlite3_result_int(ctx, e->stat_origin[row]); break;
        }
        break;
    case T_ADDRESS_INDEX:
        switch (col) {
        case 0: sqlite3_result_int64(ctx, e->id); break;
        case 1: sqlite3_result_int64(ctx, s->n_nodes); break;
        case 2: {
            size_t len = 0;
            unsigned char *blob = address_blob(e, &len);
            if (!blob)
                return SQLITE_NOMEM;
            sqlite3_result_blob64(ctx, blob, len, free);
            break;
        }
        }
        break;
    case T_COUNT:
        break;
    }
    return SQLITE_OK;
}

/* The rowid a loaded database would give the row where it has one. */
static int vt_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out)
{
    const struct cursor *c = (const struct cursor *)cur;
    const struct phd_snapset *set = c->tab->set;
    const struct entry *e = &set->e[c->k];
    switch (c->tab->t) {
    case T_OBJECTS:
        *out = (int64_t)((uint64_t)e->id << 32) | (int64_t)c->row;
        break;
    case T_STRINGS:
        *out = (int64_t)c->row + 1;
        break;
    case T_SNAPSHOTS:
    case T_ADDRESS_INDEX:
        *out = e->id;
        break;
    case T_ROOTS: {
        int64_t before = 0;
        for (int k = 0; k < c->k; k++)
            before += set->e[k].s->n_roots;
        *out = before + (int64_t)c->row + 1;
        break;
    }
    default:
        *out = ((int64_t)c->k << 40) | (int64_t)c->row;
    }
    return SQLITE_OK;
}

static const sqlite3_module module = {
    .iVersion = 1,
    .xCreate = vt_connect,
    .xConnect = vt_connect,
    .xBestIndex = vt_best_index,
    .xDisconnect = vt_disconnect,
    .xDestroy = vt_disconnect,
    .xOpen = vt_open,
    .xClose = vt_close,
    .xFilter = vt_filter,
    .xNext = vt_next,
    .xEof = vt_eof,
    .xColumn = vt_column,
    .xRowid = vt_rowid,
};

int phd_snapvtab_create(sqlite3 *db, struct phd_snapset *set, const char *schema, const char *prefix,
                        struct phd_error *err)
{
    if (sqlite3_create_module_v2(db, "phd_snapshot", &module, set, NULL) != SQLITE_OK)
        return phd_error_set(err, "cannot register the snapshot tables: %s", sqlite3_errmsg(db));
    for (int t = 0; t < T_COUNT; t++) {
        char *sql = sqlite3_mprintf("CREATE VIRTUAL TABLE \"%w\".\"%w%w\" USING phd_snapshot(%s)", schema, prefix,
                                    tables[t].name, tables[t].name);
        int rc = sql ? sqlite3_exec(db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
        sqlite3_free(sql);
        if (rc != SQLITE_OK)
            return phd_error_set(err, "cannot create the snapshot tables: %s", sqlite3_errmsg(db));
    }
    return 0;
}

/* What a query on the snapshot database may not do beyond what
 * sqlite3_stmt_readonly() catches: reach other files or undo query_only. */
static int authorize(void *arg, int action, const char *a, const char *b, const char *c, const char *d)
{
    (void)arg;
    (void)b;
    (void)c;
    (void)d;
    switch (action) {
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
        return SQLITE_DENY;
    case SQLITE_PRAGMA:
        if (a && (sqlite3_stricmp(a, "query_only") == 0 || sqlite3_stricmp(a, "writable_schema") == 0 ||
                  sqlite3_stricmp(a, "trusted_schema") == 0))
            return SQLITE_DENY;
        return SQLITE_OK;
    default:
        return SQLITE_OK;
    }
}

int phd_snapset_db_open(sqlite3 **out, struct phd_snapset *set, struct phd_error *err)
{
    sqlite3 *db = NULL;
    *out = NULL;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        phd_error_set(err, "cannot open an in-memory database: %s", db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int *)NULL);
    /* an in-memory database may create files: no ATTACH at all, whatever
     * authorizer a caller installs instead of ours */
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    if (phd_snapvtab_create(db, set, "main", "", err) < 0)
        goto fail;
    if (sqlite3_exec(db, PHD_SCHEMA_KINDS_SQL PHD_SCHEMA_VIEWS_SQL "PRAGMA query_only=1;", NULL, NULL, NULL) !=
        SQLITE_OK) {
        phd_error_set(err, "cannot create the snapshot views: %s", sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_set_authorizer(db, authorize, NULL);
    *out = db;
    return 0;
fail:
    sqlite3_close(db);
    return -1;
}
