/*
 * fuzz_store.c - fuzz target: a snapshot into the SQLite store, the way
 * 'pyheapdiff load' does it, then read back as 'diff' and 'sql' do.
 *
 * The store loads from files, so an input the reader accepts in memory
 * (fuzz.h) is written to a temporary file and loaded into a new database
 * beside it, in a directory made once per process (on /dev/shm when it
 * exists: no disk traffic).  Inputs the reader rejects stop at the
 * in-memory parse; fuzz_reader covers them.  The database must then hold
 * every object and edge, and its census must agree with the snapshot's;
 * the same tables read straight from the file ('sql SNAP...') must agree
 * with the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "pyheapdiff/store.h"
#include "testutil.h"

static char dir[256];

static void remove_dir(void) { rmdir(dir); }

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q = NULL;
    FZ_CHECK(sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK, sqlite3_errmsg(db));
    FZ_CHECK(sqlite3_step(q) == SQLITE_ROW, sqlite3_errmsg(db));
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static void check_store(const char *db_path, const struct phd_snapshot *s)
{
    struct phd_store *st = NULL;
    struct phd_census *c = NULL, *cs = NULL;
    struct phd_error err;
    int64_t *ids = NULL;
    size_t n = 0;
    if (phd_store_open(&st, db_path, PHD_STORE_READ, &err) < 0 || phd_store_snapshot_ids(st, &ids, &n, &err) < 0)
        fz_fail("store open", err.msg);
    FZ_CHECK(n == 1, "one snapshot loaded");
    if (phd_store_census(st, ids[0], 1, &c, &err) < 0 || phd_census_from_snapshot(&cs, s, 1, &err) < 0)
        fz_fail("store census", err.msg);
    FZ_CHECK(c->objects == s->n_nodes && c->n_objs == s->n_nodes, "the database lost objects");
    uint64_t counted = 0;
    for (uint32_t t = 0; t < c->n_types; t++)
        counted += c->count[t];
    FZ_CHECK(counted == s->n_nodes, "the database's type counts lost objects");
    for (uint64_t i = 0; i < c->n_objs; i++)
        FZ_CHECK(c->addr[i] == cs->addr[i], "the address index differs from the snapshot");
    sqlite3 *db = phd_store_db(st);
    FZ_CHECK(query_int(db, "SELECT count(*) FROM objects_v") == (int64_t)s->n_nodes, "objects_v");
    FZ_CHECK(query_int(db, "SELECT count(*) FROM edges_v") == (int64_t)s->n_edges, "edges_v");
    FZ_CHECK(query_int(db, "SELECT count(*) FROM roots") == (int64_t)s->n_roots, "roots");
    query_int(db, "SELECT count(*) FROM edges_v e JOIN objects_v o ON o.id = e.dst WHERE e.label IS NOT NULL");
    phd_census_free(&c);
    phd_census_free(&cs);
    free(ids);
    phd_store_close(&st);
}

/* The same tables straight from the file (sql SNAP...) agree with the database. */
static void check_snapshot_sql(const char *db_path, const char *snap_path, const struct phd_snapshot *s)
{
    struct phd_store *st = NULL, *dbst = NULL;
    struct phd_error err;
    if (phd_store_open_snapshots(&st, &snap_path, 1, &err) < 0 || phd_store_open(&dbst, db_path, PHD_STORE_READ, &err) < 0)
        fz_fail("sql on the snapshot", err.msg);
    static const char *const q[] = {
        "SELECT count(*) FROM objects_v",
        "SELECT count(*) FROM edges_v",
        "SELECT count(*) FROM roots",
        "SELECT total(size) + total(type) + total(address % 1000003) FROM objects",
        "SELECT total(dst % 1000003) + total(seq) + total(label % 1000003) FROM edges",
        "SELECT total(count * type) FROM type_stats",
        "SELECT count(*) FROM strings",
        "SELECT length(data) FROM address_index",
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        FZ_CHECK(query_int(phd_store_db(st), q[i]) == query_int(phd_store_db(dbst), q[i]), q[i]);
    FZ_CHECK(query_int(phd_store_db(st), "SELECT count(*) FROM objects") == (int64_t)s->n_nodes, "objects");
    phd_store_close(&st);
    phd_store_close(&dbst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *image;
    struct phd_snapshot *s = fz_parse(data, size, 0, &image);
    if (!s)
        return 0;
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        if (!tmp)
            tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/phd-fuzz-XXXXXX", tmp);
        FZ_CHECK(mkdtemp(dir) != NULL, dir);
        atexit(remove_dir);
    }
    char snap[300], db[300];
    snprintf(snap, sizeof snap, "%s/in.snap", dir);
    snprintf(db, sizeof db, "%s/heap.db", dir);
    FILE *f = fopen(snap, "wb");
    FZ_CHECK(f && fwrite(image ? image : data, 1, size, f) == size && fclose(f) == 0, snap);
    const char *paths[] = {snap};
    struct phd_load_result res;
    struct phd_error err;
    if (phd_store_load_files(db, paths, 1, &res, NULL, NULL, &err) < 0)
        fz_fail("load", err.msg);
    FZ_CHECK(!res.already, NULL);
    check_store(db, s);
    check_snapshot_sql(db, snap, s);
    unlink(db);
    unlink(snap);
    fz_release(&s, &image);
    return 0;
}
