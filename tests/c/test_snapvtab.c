/*
 * test_snapvtab.c - the snapshot virtual tables (src/store/snapvtab.c) on
 * random in-memory snapshots.
 *
 * Each round builds two or three random snapshots (0..40 nodes, types that
 * sometimes share a name, every label kind, roots), opens the read-only
 * database over them and checks every access path xBestIndex offers
 * against two oracles: the same query with the column hidden behind a
 * unary plus (SQLite then passes no constraint: a full scan), and a count
 * computed from the arrays.  Ids are probed around every snapshot's
 * range, including ids of no snapshot and of nodes past the end.  Then the
 * planner's choices: EXPLAIN QUERY PLAN names the access path.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/snapvtab.h"
#include "testutil.h"

static const char *const names[] = {"int", "str", "app.Item", "dict", "app.Item", "list"};
#define N_NAMES 6
static const char *const attrs[] = {"x", "payload", "handlers"};

/* A snapshot whose every array is malloc'd, as phd_snapshot_free wants. */
static struct phd_snapshot *random_snapshot(struct rng *r, int k)
{
    struct phd_snapshot *s = calloc(1, sizeof *s);
    uint32_t n = (uint32_t)rng_below(r, 41), ntypes = 1 + (uint32_t)rng_below(r, N_NAMES);
    char path[32];
    snprintf(path, sizeof path, "snap%d", k);
    s->path = strdup(path);
    s->hdr.version = 1;
    s->hdr.pointer_size = 8;
    s->hdr.pid = 100;
    s->hdr.timestamp_ns = (uint64_t)k;
    s->crc = (uint32_t)k;
    s->n_nodes = n;
    s->n_types = ntypes;
    /* strings: the type names (two are "app.Item"), then the attribute names */
    s->n_strings = N_NAMES + 3;
    size_t total = 0;
    for (uint32_t i = 0; i < s->n_strings; i++)
        total += strlen(i < N_NAMES ? names[i] : attrs[i - N_NAMES]) + 1;
    s->str_arena = malloc(total);
    s->str = malloc(s->n_strings * sizeof *s->str);
    s->str_len = malloc(s->n_strings * sizeof *s->str_len);
    char *p = s->str_arena;
    for (uint32_t i = 0; i < s->n_strings; i++) {
        const char *t = i < N_NAMES ? names[i] : attrs[i - N_NAMES];
        s->str[i] = p;
        s->str_len[i] = (uint32_t)strlen(t);
        memcpy(p, t, s->str_len[i] + 1);
        p += s->str_len[i] + 1;
    }
    s->types = calloc(ntypes, sizeof *s->types);
    for (uint32_t t = 0; t < ntypes; t++)
        s->types[t] = (struct phd_type){.name = (uint32_t)rng_below(r, N_NAMES),
                                        .node = n && rng_chance(r, 1, 2) ? (uint32_t)rng_below(r, n) : UINT32_MAX};
    s->addr = malloc((n + 1) * sizeof *s->addr);
    s->size = malloc((n + 1) * sizeof *s->size);
    s->refcnt = malloc((n + 1) * sizeof *s->refcnt);
    s->type = malloc((n + 1) * sizeof *s->type);
    s->flags = malloc(n + 1);
    s->edge_start = malloc((n + 1) * sizeof *s->edge_start);
    uint32_t deg[41];
    uint64_t m = 0;
    for (uint32_t v = 0; v < n; v++) {
        s->addr[v] = 0x1000 + 16 * rng_below(r, 64); /* repeats: several nodes per address */
        s->size[v] = rng_below(r, 100);
        s->refcnt[v] = (uint32_t)rng_below(r, 4);
        s->type[v] = (uint32_t)rng_below(r, ntypes);
        s->flags[v] = (uint8_t)rng_below(r, 2);
        deg[v] = rng_chance(r, 1, 3) ? 0 : (uint32_t)rng_below(r, 6);
        m += deg[v];
        s->total_size += phd_snapshot_size(s, v);
    }
    s->n_edges = m;
    s->edge_target = malloc((m + 1) * sizeof *s->edge_target);
    s->edge_label = malloc((m + 1) * sizeof *s->edge_label);
    uint64_t e = 0;
    for (uint32_t v = 0; v < n; v++) {
        s->edge_start[v] = (uint32_t)e;
        for (uint32_t j = 0; j < deg[v]; j++, e++) {
            s->edge_target[e] = (uint32_t)rng_below(r, n);
            unsigned kind = (unsigned)rng_below(r, 7);
            uint32_t pay = kind == PHD_LABEL_INDEX ? j
                         : kind == PHD_LABEL_VALUE ? (uint32_t)rng_below(r, n)
                         : kind == PHD_LABEL_NAME ? N_NAMES + (uint32_t)rng_below(r, 3) : 0;
            s->edge_label[e] = PHD_LABEL_MAKE(kind, pay);
        }
    }
    s->edge_start[n] = (uint32_t)e;
    s->n_roots = n ? (uint32_t)rng_below(r, 4) : 0;
    s->roots = calloc(s->n_roots + 1, sizeof *s->roots);
    for (uint32_t i = 0; i < s->n_roots; i++)
        s->roots[i] = (struct phd_root){.kind = 1 + (uint32_t)rng_below(r, PHD_ROOT_KIND_MAX),
                                        .node = (uint32_t)rng_below(r, n),
                                        .name = rng_chance(r, 1, 2) ? N_NAMES : UINT32_MAX};
    return s;
}

/* The one integer a query returns, with ?1 and ?2 bound; -1 on an error. */
static int64_t scalar(sqlite3 *db, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *q = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        return -1;
    }
    if (sqlite3_bind_parameter_count(q) >= 1)
        sqlite3_bind_int64(q, 1, a);
    if (sqlite3_bind_parameter_count(q) >= 2)
        sqlite3_bind_int64(q, 2, b);
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* The query with and without its constraint usable, and the expected value. */
static void check_pair(sqlite3 *db, const char *indexed, const char *scanned, int64_t a, int64_t b, int64_t want)
{
    int64_t x = scalar(db, indexed, a, b), y = scalar(db, scanned, a, b);
    CHECKF(x == y && x == want, "%s [%" PRId64 ", %" PRId64 "]: indexed %" PRId64 ", scanned %" PRId64
           ", expected %" PRId64, indexed, a, b, x, y, want);
}

static int plan_has(sqlite3 *db, const char *sql, const char *needle)
{
    char buf[512];
    snprintf(buf, sizeof buf, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *q = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, buf, -1, &q, NULL) != SQLITE_OK)
        return 0;
    while (sqlite3_step(q) == SQLITE_ROW)
        if (strstr((const char *)sqlite3_column_text(q, 3), needle))
            found = 1;
    sqlite3_finalize(q);
    return found;
}

static void round_(struct rng *r)
{
    int nsnap = 2 + (int)rng_below(r, 2);
    struct phd_snapset *set = phd_snapset_new();
    struct phd_error err;
    /* the snapshots stay readable through the set, which owns them */
    const struct phd_snapshot *snap[3];
    for (int k = 0; k < nsnap; k++) {
        struct phd_snapshot *s = random_snapshot(r, k);
        int added = 0;
        snap[k] = s;
        CHECK(phd_snapset_add(set, &s, k + 1, NULL, &added, &err) == 0 && added);
    }
    sqlite3 *db = NULL;
    CHECK(phd_snapset_db_open(&db, set, &err) == 0);
    if (!db) {
        phd_snapset_free(&set);
        return;
    }
    int64_t all_objects = 0, all_edges = 0;
    for (int k = 0; k < nsnap; k++) {
        const struct phd_snapshot *s = snap[k];
        const int64_t base = (int64_t)(k + 1) << 32;
        all_objects += s->n_nodes;
        all_edges += (int64_t)s->n_edges;
        /* ids: every node, one past the end, and the neighbours of the range */
        for (int64_t v = -1; v <= (int64_t)s->n_nodes + 1; v++) {
            int64_t id = base + v, exists = v >= 0 && v < (int64_t)s->n_nodes;
            check_pair(db, "SELECT count(*) FROM objects WHERE id = ?1", "SELECT count(*) FROM objects WHERE +id = ?1",
                       id, 0, exists);
            check_pair(db, "SELECT count(*) FROM objects WHERE rowid = ?1",
                       "SELECT count(*) FROM objects WHERE +rowid = ?1", id, 0, exists);
            int64_t out = exists ? s->edge_start[v + 1] - s->edge_start[v] : 0, in = 0, seqsum = 0;
            for (uint64_t e = 0; exists && e < s->n_edges; e++)
                in += s->edge_target[e] == (uint32_t)v;
            for (int64_t j = 0; j < out; j++)
                seqsum += j;
            check_pair(db, "SELECT count(*) FROM edges WHERE src = ?1", "SELECT count(*) FROM edges WHERE +src = ?1",
                       id, 0, out);
            check_pair(db, "SELECT coalesce(sum(seq), 0) FROM edges WHERE src = ?1",
                       "SELECT coalesce(sum(seq), 0) FROM edges WHERE +src = ?1", id, 0, seqsum);
            check_pair(db, "SELECT count(*) FROM edges WHERE dst = ?1", "SELECT count(*) FROM edges WHERE +dst = ?1",
                       id, 0, in);
            if (exists) {
                uint64_t want = 0;
                for (uint32_t u = 0; u < s->n_nodes; u++)
                    want += s->addr[u] == s->addr[v];
                check_pair(db, "SELECT count(*) FROM objects WHERE snapshot = ?2 AND address = ?1",
                           "SELECT count(*) FROM objects WHERE +snapshot = ?2 AND +address = ?1",
                           (int64_t)s->addr[v], k + 1, (int64_t)want);
            }
        }
        /* id ranges that start or end inside, before and after the snapshot */
        for (int t = 0; t < 20; t++) {
            int64_t lo = base + (int64_t)rng_below(r, s->n_nodes + 4) - 2;
            int64_t hi = lo + (int64_t)rng_below(r, s->n_nodes + 4) - 1;
            int64_t want = 0, ewant = 0;
            for (int64_t v = 0; v < (int64_t)s->n_nodes; v++)
                if (base + v >= lo && base + v <= hi) {
                    want++;
                    ewant += s->edge_start[v + 1] - s->edge_start[v];
                }
            check_pair(db, "SELECT count(*) FROM objects WHERE id BETWEEN ?1 AND ?2",
                       "SELECT count(*) FROM objects WHERE +id BETWEEN ?1 AND ?2", lo, hi, want);
            check_pair(db, "SELECT count(*) FROM objects WHERE id > ?1 - 1 AND id < ?2 + 1",
                       "SELECT count(*) FROM objects WHERE +id > ?1 - 1 AND +id < ?2 + 1", lo, hi, want);
            check_pair(db, "SELECT count(*) FROM edges WHERE src >= ?1 AND src <= ?2",
                       "SELECT count(*) FROM edges WHERE +src >= ?1 AND +src <= ?2", lo, hi, ewant);
        }
        /* objects by type name, merged over types that share it */
        for (int nm = 0; nm < N_NAMES; nm++) {
            int64_t want = 0;
            for (uint32_t v = 0; v < s->n_nodes; v++)
                want += strcmp(s->str[s->types[s->type[v]].name], names[nm]) == 0;
            char sql[256], scan[256];
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM objects WHERE snapshot = ?1 AND type = "
                     "(SELECT id FROM strings WHERE text = '%s')", names[nm]);
            snprintf(scan, sizeof scan,
                     "SELECT count(*) FROM objects WHERE +snapshot = ?1 AND +type = "
                     "(SELECT id FROM strings WHERE +text = '%s')", names[nm]);
            check_pair(db, sql, scan, k + 1, 0, want);
            snprintf(sql, sizeof sql,
                     "SELECT coalesce(sum(count), 0) FROM type_stats WHERE snapshot = ?1 AND type = "
                     "(SELECT id FROM strings WHERE text = '%s')", names[nm]);
            snprintf(scan, sizeof scan,
                     "SELECT coalesce(sum(count), 0) FROM type_stats WHERE +snapshot = ?1 AND +type = "
                     "(SELECT id FROM strings WHERE +text = '%s')", names[nm]);
            check_pair(db, sql, scan, k + 1, 0, want);
        }
        check_pair(db, "SELECT count(*) FROM roots WHERE snapshot = ?1", "SELECT count(*) FROM roots WHERE +snapshot = ?1",
                   k + 1, 0, s->n_roots);
        check_pair(db, "SELECT count(*) FROM types WHERE snapshot = ?1 AND id = 0",
                   "SELECT count(*) FROM types WHERE +snapshot = ?1 AND +id = 0", k + 1, 0, 1);
    }
    check_pair(db, "SELECT count(*) FROM objects", "SELECT count(*) FROM objects WHERE +id IS NOT NULL", 0, 0,
               all_objects);
    check_pair(db, "SELECT count(*) FROM edges", "SELECT count(*) FROM edges WHERE +src IS NOT NULL", 0, 0, all_edges);
    check_pair(db, "SELECT count(*) FROM edges_v", "SELECT count(*) FROM edges", 0, 0, all_edges);
    check_pair(db, "SELECT count(*) FROM objects_v", "SELECT count(*) FROM objects", 0, 0, all_objects);
    check_pair(db, "SELECT count(*) FROM objects WHERE id = NULL", "SELECT 0", 0, 0, 0);
    int64_t item = 0; /* a type name is in strings when a type of some snapshot has it */
    for (int k = 0; k < nsnap; k++)
        for (uint32_t t = 0; t < snap[k]->n_types; t++)
            item |= strcmp(snap[k]->str[snap[k]->types[t].name], "app.Item") == 0;
    check_pair(db, "SELECT count(*) FROM strings WHERE text = 'app.Item'",
               "SELECT count(*) FROM strings WHERE +text = 'app.Item'", 0, 0, item);
    check_pair(db, "SELECT count(*) FROM snapshots WHERE id = ?1", "SELECT count(*) FROM snapshots WHERE +id = ?1",
               2, 0, 1);
    /* the access paths chosen (the INDEX number is the idxNum bits of snapvtab.c) */
    CHECK(plan_has(db, "SELECT * FROM objects WHERE id = 5", "INDEX 2:"));
    CHECK(plan_has(db, "SELECT * FROM objects WHERE snapshot = 1 AND type = 3", "INDEX 65:"));
    CHECK(plan_has(db, "SELECT * FROM edges WHERE src = 5", "INDEX 2:"));
    CHECK(plan_has(db, "SELECT * FROM edges WHERE dst = 5", "INDEX 128:"));
    CHECK(plan_has(db, "SELECT * FROM objects WHERE id >= 5 AND id < 9", "INDEX 52:"));
    CHECK(plan_has(db, "SELECT * FROM objects_v WHERE type = 'int'", "SCAN o VIRTUAL TABLE INDEX 64:"));
    CHECK(plan_has(db, "SELECT * FROM objects_v WHERE type = 'int'", "SCAN s VIRTUAL TABLE INDEX 512:"));
    CHECK(plan_has(db, "SELECT * FROM objects WHERE +id = 5", "INDEX 0:"));
    sqlite3_close(db);
    phd_snapset_free(&set);
}

int main(void)
{
    struct rng r;
    rng_seed(&r, 13);
    for (int i = 0; i < 300; i++)
        round_(&r);
    return t_summary("test_snapvtab");
}
