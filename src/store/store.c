/*
 * store.c - snapshots in SQLite.
 *
 * The schema (docs/sqlite-schema.md) is small and normalised: strings
 * (type names, labels, root names) once in `strings`, objects and edges
 * with integer keys.  An object's id is (snapshot id << 32 | node index),
 * so the rows of one snapshot are one rowid range, inserted in order, and
 * an edge's ends need no lookup.  `type_stats` holds each snapshot's
 * per-type counts and sizes, computed while loading, so that diffs and
 * 'top' of loaded snapshots read a few hundred rows.
 *
 * Bulk loading: prepared statements, one transaction per snapshot, no
 * journal and no sync while a new database is built under a temporary
 * name (renamed at the end, so a failed load leaves nothing), indexes
 * created after the rows.  Loading into an existing database keeps the
 * rollback journal so that a failure rolls back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pyheapdiff/outfile.h"
#include "pyheapdiff/snapvtab.h"
#include "pyheapdiff/store.h"
#include "pyheapdiff/types.h"
#include "pyheapdiff/text.h"
#include "schema.h"

struct phd_store {
    sqlite3 *db;
    char *path;
    struct phd_snapset *set; /* the snapshots behind an in-memory database, or NULL */
};

static const char schema_sql[] =
    "CREATE TABLE snapshots(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  path TEXT NOT NULL,\n"
    "  crc INTEGER NOT NULL,\n"
    "  file_size INTEGER NOT NULL,\n"
    "  format_version INTEGER NOT NULL,\n"
    "  python TEXT NOT NULL,\n"
    "  pointer_size INTEGER NOT NULL,\n"
    "  pid INTEGER NOT NULL,\n"
    "  process_start_ns INTEGER NOT NULL,\n"
    "  timestamp_ns INTEGER NOT NULL,\n"
    "  values_recorded INTEGER NOT NULL,\n"
    "  collected INTEGER NOT NULL,\n"
    "  objects INTEGER NOT NULL,\n"
    "  edges INTEGER NOT NULL,\n"
    "  total_size INTEGER NOT NULL,\n"
    "  loaded_at TEXT NOT NULL,\n"
    "  UNIQUE(crc, file_size, timestamp_ns, pid));\n"
    "CREATE TABLE strings(id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);\n"
    "CREATE TABLE types(\n"
    "  snapshot INTEGER NOT NULL REFERENCES snapshots(id),\n"
    "  id INTEGER NOT NULL,\n"
    "  name INTEGER NOT NULL REFERENCES strings(id),\n"
    "  object INTEGER,\n"
    "  PRIMARY KEY(snapshot, id)) WITHOUT ROWID;\n"
    "CREATE TABLE objects(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  snapshot INTEGER NOT NULL,\n"
    "  address INTEGER NOT NULL,\n"
    "  type INTEGER NOT NULL,\n"
    "  size INTEGER NOT NULL,\n"
    "  refcount INTEGER NOT NULL,\n"
    "  flags INTEGER NOT NULL,\n"
    "  preview);\n"
    "CREATE TABLE edges(\n"
    "  src INTEGER NOT NULL,\n"
    "  seq INTEGER NOT NULL,\n"
    "  dst INTEGER NOT NULL,\n"
    "  kind INTEGER NOT NULL,\n"
    "  label INTEGER,\n"
    "  PRIMARY KEY(src, seq)) WITHOUT ROWID;\n"
    "CREATE TABLE roots(\n"
    "  snapshot INTEGER NOT NULL,\n"
    "  object INTEGER NOT NULL,\n"
    "  kind INTEGER NOT NULL,\n"
    "  thread_id INTEGER NOT NULL,\n"
    "  name INTEGER REFERENCES strings(id));\n"
    "CREATE TABLE type_stats(\n"
    "  snapshot INTEGER NOT NULL,\n"
    "  type INTEGER NOT NULL REFERENCES strings(id),\n"
    "  count INTEGER NOT NULL,\n"
    "  size INTEGER NOT NULL,\n"
    "  origin INTEGER NOT NULL,\n"
    "  PRIMARY KEY(snapshot, type)) WITHOUT ROWID;\n"
    "CREATE TABLE address_index(\n"
    "  snapshot INTEGER PRIMARY KEY,\n"
    "  count INTEGER NOT NULL,\n"
    "  data BLOB NOT NULL);\n"
    PHD_SCHEMA_KINDS_SQL
    PHD_SCHEMA_VIEWS_SQL;

static const char index_sql[] =
    "CREATE INDEX IF NOT EXISTS edges_dst ON edges(dst);\n"
    "CREATE INDEX IF NOT EXISTS objects_address ON objects(snapshot, address);\n"
    "CREATE INDEX IF NOT EXISTS roots_snapshot ON roots(snapshot);\n";

/*
 * A new database gets its two big indexes without CREATE INDEX, whose sort
 * took 40 % of a load: their b-trees are filled in index order, appended
 * like the tables, from the virtual tables' scans in that order (the
 * reverse CSR, the nodes by address), as WITHOUT ROWID tables whose rows
 * are exactly the index's records (the key, then the table's primary
 * key), which sqlite_master then declares to be the indexes.  Same rows,
 * same pages as CREATE INDEX would make (PRAGMA integrity_check agrees,
 * tests/python/test_sql_snap.py); an existing database takes the rows
 * through its indexes as before.
 */
static const char build_sql[] =
    "CREATE TABLE " "phd_build_edges_dst(dst, src, seq, PRIMARY KEY(dst, src, seq)) WITHOUT ROWID;\n"
    "CREATE TABLE " "phd_build_objects_address(snapshot, address, id, PRIMARY KEY(snapshot, address, id)) "
    "WITHOUT ROWID;\n";
static const char build_done_sql[] =
    "PRAGMA writable_schema=ON;\n"
    "UPDATE sqlite_master SET type='index', name='edges_dst', tbl_name='edges', "
    "sql='CREATE INDEX edges_dst ON edges(dst)' WHERE name='phd_build_edges_dst';\n"
    "UPDATE sqlite_master SET type='index', name='objects_address', tbl_name='objects', "
    "sql='CREATE INDEX objects_address ON objects(snapshot, address)' WHERE name='phd_build_objects_address';\n"
    "PRAGMA writable_schema=OFF;\n";

/*
 * How long a command waits for a database another process has locked
 * (a load in progress, a writer in the sqlite3 shell) before it gives up:
 * $PYHEAPDIFF_LOCK_TIMEOUT seconds, 60 by default.
 */
static int lock_timeout_ms(void)
{
    const char *v = getenv("PYHEAPDIFF_LOCK_TIMEOUT");
    char *end;
    double s = v && *v ? strtod(v, &end) : 60.0;
    if (!v || !*v || *end || !(s >= 0) || s > 86400)
        s = 60.0;
    return (int)(s * 1000);
}

/* Why SQLite failed, in words: a busy database says who and how long. */
static const char *db_why(sqlite3 *db, char *buf, size_t size)
{
    if (!db)
        return "out of memory";
    int code = sqlite3_errcode(db) & 0xff;
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
        snprintf(buf, size, "database is locked by another process (waited %g s; PYHEAPDIFF_LOCK_TIMEOUT sets how long)",
                 lock_timeout_ms() / 1000.0);
        return buf;
    }
    if (code == SQLITE_READONLY)
        return "the database is read-only";
    return sqlite3_errmsg(db);
}

static int db_fail(struct phd_error *err, const char *path, sqlite3 *db, const char *what)
{
    char buf[160];
    return phd_error_set(err, "%s: %s: %s", path, what, db_why(db, buf, sizeof buf));
}

static int exec(sqlite3 *db, const char *path, const char *sql, struct phd_error *err)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        char buf[160];
        return phd_error_set(err, "%s: %s", path, db_why(db, buf, sizeof buf));
    }
    return 0;
}

/* The value of an integer pragma; -1 with err set when it cannot be read
 * (a locked database, a file that is not SQLite). */
static int pragma_int(sqlite3 *db, const char *path, const char *sql, int *value, struct phd_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(err, path, db, "not a readable SQLite database");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *value = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_fail(err, path, db, "cannot read the database");
}

static int check_schema(sqlite3 *db, const char *path, struct phd_error *err)
{
    int app = -1, ver = -1;
    if (pragma_int(db, path, "PRAGMA application_id", &app, err) < 0 ||
        pragma_int(db, path, "PRAGMA user_version", &ver, err) < 0)
        return -1;
    if (app != PHD_APPLICATION_ID)
        return phd_error_set(err, "%s: an SQLite database, but not one pyheapdiff made", path);
    if (ver != PHD_SCHEMA_VERSION)
        return phd_error_set(err, "%s: database schema version %d; this pyheapdiff reads version %d%s", path,
                             ver, PHD_SCHEMA_VERSION,
                             ver > PHD_SCHEMA_VERSION ? " (upgrade pyheapdiff)" : " (load the snapshots again)");
    return 0;
}

int phd_store_open(struct phd_store **out, const char *path, enum phd_store_mode mode, struct phd_error *err)
{
    *out = NULL;
    int kind = phd_file_kind(path, err);
    if (kind == PHD_FILE_ERROR)
        return -1;
    if (kind != PHD_FILE_DATABASE)
        return phd_error_set(err, "%s: not a pyheapdiff database", path);
    struct phd_store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return phd_error_set(err, "%s: out of memory", path);
    }
    int flags = (mode == PHD_STORE_READ ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        db_fail(err, path, st->db, "cannot open database");
        phd_store_close(&st);
        return -1;
    }
    sqlite3_busy_timeout(st->db, lock_timeout_ms());
    if (check_schema(st->db, path, err) < 0) {
        phd_store_close(&st);
        return -1;
    }
    *out = st;
    return 0;
}

int phd_store_open_snapshots(struct phd_store **out, const char *const *paths, int n, struct phd_error *err)
{
    *out = NULL;
    struct phd_store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(paths[0]))) {
        free(st);
        return phd_error_set(err, "%s: out of memory", paths[0]);
    }
    for (int i = 0; i < n; i++) {
        int kind = phd_file_kind(paths[i], err);
        if (kind == PHD_FILE_ERROR)
            goto fail;
        if (kind != PHD_FILE_SNAPSHOT) {
            phd_error_set(err, "%s: not a pyheapdiff snapshot%s", paths[i],
                          kind == PHD_FILE_DATABASE ? " (a database: query it alone)" : "");
            goto fail;
        }
    }
    if (phd_snapset_open_files(&st->set, paths, n, err) < 0 || phd_snapset_db_open(&st->db, st->set, err) < 0)
        goto fail;
    *out = st;
    return 0;
fail:
    phd_store_close(&st);
    return -1;
}

void phd_store_close(struct phd_store **stp)
{
    struct phd_store *st = *stp;
    if (!st)
        return;
    sqlite3_close(st->db);
    phd_snapset_free(&st->set);
    free(st->path);
    free(st);
    *stp = NULL;
}

sqlite3 *phd_store_db(struct phd_store *st) { return st->db; }
const char *phd_store_path(const struct phd_store *st) { return st->path; }

/* ---- loading ---------------------------------------------------------- */

/*
 * Rows go in from the virtual tables of snapvtab.c over the snapshot being
 * loaded (temp.phd_src_objects, ...): one INSERT ... SELECT per table, so
 * SQLite builds each row straight from the snapshot's arrays, with no
 * binding and no statement per row.  The strings the rows refer to are
 * inserted first, in the order the rows meet them (type names, reference
 * names, root names), and handed to the virtual tables as a map.
 */
enum {
    S_SNAP, S_FIND, S_STR_INS, S_STR_GET, S_TYPE, S_OBJ, S_EDGE, S_ROOT, S_STAT, S_ADDR, S_BUILD_DST,
    S_BUILD_ADDR, S_COUNT
};

#define SRC_PREFIX "phd_src_"

static const char *const load_sql[S_COUNT] = {
    [S_SNAP] = "INSERT INTO snapshots(path, crc, file_size, format_version, python, pointer_size, pid, "
               "process_start_ns, timestamp_ns, values_recorded, collected, objects, edges, total_size, "
               "loaded_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_FIND] = "SELECT id FROM snapshots WHERE crc=? AND file_size=? AND timestamp_ns=? AND pid=?",
    [S_STR_INS] = "INSERT OR IGNORE INTO strings(text) VALUES(?)",
    [S_STR_GET] = "SELECT id FROM strings WHERE text=?",
    [S_TYPE] = "INSERT INTO main.types SELECT * FROM temp." SRC_PREFIX "types",
    [S_OBJ] = "INSERT INTO main.objects SELECT * FROM temp." SRC_PREFIX "objects",
    [S_EDGE] = "INSERT INTO main.edges SELECT * FROM temp." SRC_PREFIX "edges",
    [S_ROOT] = "INSERT INTO main.roots SELECT * FROM temp." SRC_PREFIX "roots",
    [S_STAT] = "INSERT INTO main.type_stats SELECT * FROM temp." SRC_PREFIX "type_stats",
    [S_ADDR] = "INSERT INTO main.address_index SELECT * FROM temp." SRC_PREFIX "address_index",
    /* a new database only: the indexes' records, in index order */
    [S_BUILD_DST] = "INSERT INTO main.phd_build_edges_dst SELECT dst, src, seq FROM temp." SRC_PREFIX "edges "
                    "ORDER BY dst, src, seq",
    [S_BUILD_ADDR] = "INSERT INTO main.phd_build_objects_address SELECT snapshot, address, id FROM temp." SRC_PREFIX
                     "objects ORDER BY snapshot, address, id",
};

struct loader {
    sqlite3 *db;
    const char *db_path;
    sqlite3_stmt *st[S_COUNT];
    struct phd_snapset *set; /* the snapshot being loaded, behind temp.phd_src_* */
    int fresh;               /* a new database: indexes built in order (build_sql) */
    struct phd_error *err;
    phd_progress_fn progress;
    void *arg;
};

static int step_done(struct loader *l, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_fail(l->err, l->db_path, l->db, what);
    return 0;
}

/* The database id of a string, inserting it when new. */
static int string_id(struct loader *l, const char *text, size_t len, int64_t *id)
{
    sqlite3_stmt *ins = l->st[S_STR_INS], *get = l->st[S_STR_GET];
    sqlite3_bind_text(ins, 1, text, (int)len, SQLITE_STATIC);
    if (step_done(l, ins, "inserting a string") < 0)
        return -1;
    sqlite3_bind_text(get, 1, text, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(get);
    *id = rc == SQLITE_ROW ? sqlite3_column_int64(get, 0) : -1;
    sqlite3_reset(get);
    if (rc != SQLITE_ROW)
        return db_fail(l->err, l->db_path, l->db, "reading a string id");
    return 0;
}

/* Takes *sp (NULL afterwards). */
static int load_one(struct loader *l, struct phd_snapshot **sp, struct phd_load_result *res)
{
    sqlite3_stmt **st = l->st;
    struct phd_snapshot *s = *sp;
    int64_t *sid = NULL;
    int rc = -1;

    /* already loaded? */
    sqlite3_bind_int64(st[S_FIND], 1, (int64_t)s->crc);
    sqlite3_bind_int64(st[S_FIND], 2, (int64_t)s->map_len);
    sqlite3_bind_int64(st[S_FIND], 3, (int64_t)s->hdr.timestamp_ns);
    sqlite3_bind_int64(st[S_FIND], 4, (int64_t)s->hdr.pid);
    if (sqlite3_step(st[S_FIND]) == SQLITE_ROW) {
        res->id = sqlite3_column_int64(st[S_FIND], 0);
        res->already = 1;
        sqlite3_reset(st[S_FIND]);
        phd_snapshot_free(sp);
        return 0;
    }
    sqlite3_reset(st[S_FIND]);

    char py[32], when[32];
    snprintf(py, sizeof py, "%u.%u.%u", s->hdr.py_major, s->hdr.py_minor, s->hdr.py_micro);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    sqlite3_stmt *ss = st[S_SNAP];
    sqlite3_bind_text(ss, 1, s->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ss, 2, (int64_t)s->crc);
    sqlite3_bind_int64(ss, 3, (int64_t)s->map_len);
    sqlite3_bind_int(ss, 4, s->hdr.version);
    sqlite3_bind_text(ss, 5, py, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(ss, 6, s->hdr.pointer_size);
    sqlite3_bind_int64(ss, 7, (int64_t)s->hdr.pid);
    sqlite3_bind_int64(ss, 8, (int64_t)s->hdr.start_time_ns);
    sqlite3_bind_int64(ss, 9, (int64_t)s->hdr.timestamp_ns);
    sqlite3_bind_int(ss, 10, (s->hdr.flags & PHD_HDR_VALUES) != 0);
    sqlite3_bind_int(ss, 11, (s->hdr.flags & PHD_HDR_COLLECTED) != 0);
    sqlite3_bind_int64(ss, 12, s->n_nodes);
    sqlite3_bind_int64(ss, 13, (int64_t)s->n_edges);
    sqlite3_bind_int64(ss, 14, (int64_t)s->total_size);
    sqlite3_bind_text(ss, 15, when, -1, SQLITE_TRANSIENT);
    if (step_done(l, ss, "recording the snapshot") < 0)
        goto out;
    int64_t id = sqlite3_last_insert_rowid(l->db);
    res->id = id;
    res->already = 0;

    /* strings: only those the rows refer to (type names, names, roots),
     * in the order the rows meet them */
    sid = malloc(((size_t)s->n_strings + 1) * sizeof *sid);
    if (!sid) {
        phd_error_set(l->err, "%s: out of memory", l->db_path);
        goto out;
    }
    for (uint32_t i = 0; i < s->n_strings; i++)
        sid[i] = -1;
#define SID(x)                                                                                        \
    do {                                                                                              \
        if (sid[(x)] < 0 && string_id(l, s->str[(x)], s->str_len[(x)], &sid[(x)]) < 0)               \
            goto out;                                                                                 \
    } while (0)
    for (uint32_t t = 0; t < s->n_types; t++)
        SID(s->types[t].name);
    for (uint64_t e = 0; e < s->n_edges; e++)
        if (PHD_LABEL_KIND(s->edge_label[e]) == PHD_LABEL_NAME)
            SID(PHD_LABEL_PAYLOAD(s->edge_label[e]));
    for (uint32_t r = 0; r < s->n_roots; r++)
        if (s->roots[r].name != UINT32_MAX)
            SID(s->roots[r].name);
#undef SID

    /* the rows, table by table, from the virtual tables over s */
    const char *path = s->path;
    int added;
    phd_snapset_clear(l->set);
    if (phd_snapset_add(l->set, sp, id, sid, &added, l->err) < 0)
        goto out;
    if (l->progress)
        l->progress(l->arg, path, 0, 1);
    static const struct {
        int stmt;
        const char *what;
    } copy[] = {{S_TYPE, "inserting types"}, {S_OBJ, "inserting objects"}, {S_EDGE, "inserting edges"},
                {S_ROOT, "inserting roots"}, {S_ADDR, "inserting the address index"},
                {S_STAT, "inserting type statistics"}};
    for (size_t k = 0; k < sizeof copy / sizeof copy[0]; k++) {
        if (step_done(l, st[copy[k].stmt], copy[k].what) < 0)
            goto out;
        /* the objects' previews brought the whole file in: give it back
         * before the edges' reverse index is built (15-18 bytes per
         * object less at the load's peak) */
        if (copy[k].stmt == S_OBJ)
            phd_snapshot_drop_pages(s);
    }
    if (l->fresh && (step_done(l, st[S_BUILD_DST], "indexing edges") < 0 ||
                     step_done(l, st[S_BUILD_ADDR], "indexing objects") < 0))
        goto out;
    if (l->progress)
        l->progress(l->arg, path, 1, 1);
    rc = 0;
out:
    phd_snapset_clear(l->set);
    phd_snapshot_free(sp);
    free(sid);
    return rc;
}

static void finalize_all(struct loader *l)
{
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(l->st[i]);
    memset(l->st, 0, sizeof l->st);
}

/*
 * Puts the finished temporary database at path unless a file is there
 * already: link() fails with EEXIST when another load created path while
 * this one was building.  Returns 0, 1 when path exists, -1 on errors.
 * Filesystems without hard links fall back to rename().
 */
static int publish_new(const char *tmp, const char *path, struct phd_error *err)
{
    if (link(tmp, path) == 0) {
        unlink(tmp);
        return 0;
    }
    if (errno == EEXIST)
        return 1;
    if ((errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP || errno == ENOSYS) && rename(tmp, path) == 0)
        return 0;
    return phd_error_set(err, "%s: cannot put %s into place: %s", path, tmp, strerror(errno));
}

static int load_attempt(const char *db_path, const char *const *snap_paths, int n,
                        struct phd_load_result *results, phd_progress_fn progress, void *arg,
                        struct phd_error *err, int *raced);

int phd_store_load_files(const char *db_path, const char *const *snap_paths, int n,
                         struct phd_load_result *results, phd_progress_fn progress, void *arg,
                         struct phd_error *err)
{
    /* A new database is built privately; when another load published one
     * at the same path meanwhile, load into that one instead (its
     * transaction then decides what is already there). */
    int raced = 0;
    int rc = load_attempt(db_path, snap_paths, n, results, progress, arg, err, &raced);
    if (rc < 0 && raced)
        rc = load_attempt(db_path, snap_paths, n, results, progress, arg, err, &raced);
    if (rc < 0 && raced) /* published twice by others under our feet: never leave err empty */
        phd_error_set(err, "%s: another process keeps creating it; try again", db_path);
    return rc;
}

static int load_attempt(const char *db_path, const char *const *snap_paths, int n,
                        struct phd_load_result *results, phd_progress_fn progress, void *arg,
                        struct phd_error *err, int *raced)
{
    *raced = 0;
    /* no memory statistics: they take a global mutex on every malloc (a
     * no-op once SQLite is initialised, which is fine) */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    struct loader *L = calloc(1, sizeof *L);
    if (!L)
        return phd_error_set(err, "%s: out of memory", db_path);
    L->db_path = db_path;
    L->err = err;
    L->progress = progress;
    L->arg = arg;
    char tmp[4096] = "";
    int fresh = access(db_path, F_OK) != 0, rc = -1;
    struct stat lst;
    if (fresh && lstat(db_path, &lst) == 0) {
        /* a symbolic link to nothing: link() would never replace it */
        phd_error_set(err, "%s: a symbolic link to a missing file; not loading through it", db_path);
        goto out;
    }

    if (fresh) {
        /* an empty file of mode 0600 (whatever the umask) that SQLite then
         * opens as a new database: its previews can hold secrets */
        int fd = phd_tmpfile_create(db_path, tmp, sizeof tmp);
        if (fd < 0) {
            phd_error_set(err, "%s: cannot create database: %s", db_path,
                          fd == -ENAMETOOLONG ? "path too long" : strerror(-fd));
            goto out;
        }
        close(fd);
        if (sqlite3_open_v2(tmp, &L->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
            db_fail(err, db_path, L->db, "cannot create database");
            goto out;
        }
        char pragmas[256];
        snprintf(pragmas, sizeof pragmas,
                 "PRAGMA page_size=16384; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
                 "PRAGMA locking_mode=EXCLUSIVE; PRAGMA application_id=%d; PRAGMA user_version=%d;",
                 PHD_APPLICATION_ID, PHD_SCHEMA_VERSION);
        if (exec(L->db, db_path, pragmas, err) < 0 || exec(L->db, db_path, schema_sql, err) < 0 ||
            exec(L->db, db_path, build_sql, err) < 0)
            goto out;
    } else {
        int kind = phd_file_kind(db_path, err);
        if (kind == PHD_FILE_ERROR)
            goto out;
        if (kind != PHD_FILE_DATABASE) {
            phd_error_set(err, "%s: exists and is not a pyheapdiff database; not overwriting it", db_path);
            goto out;
        }
        if (sqlite3_open_v2(db_path, &L->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
            db_fail(err, db_path, L->db, "cannot open database");
            goto out;
        }
        sqlite3_busy_timeout(L->db, lock_timeout_ms());
        if (check_schema(L->db, db_path, err) < 0 || exec(L->db, db_path, "PRAGMA synchronous=OFF;", err) < 0)
            goto out;
        if (sqlite3_db_readonly(L->db, "main") == 1) {
            phd_error_set(err, "%s: cannot load into it: the database is read-only (%s)", db_path,
                          access(db_path, W_OK) != 0 ? strerror(errno) : "opened read-only");
            goto out;
        }
    }
    if (exec(L->db, db_path, "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA threads=2;", err) < 0)
        goto out;
    if (!(L->set = phd_snapset_new())) {
        phd_error_set(err, "%s: out of memory", db_path);
        goto out;
    }
    phd_snapset_progress(L->set, progress, arg);
    if (phd_snapvtab_create(L->db, L->set, "temp", SRC_PREFIX, err) < 0)
        goto out;
    L->fresh = fresh;
    for (int i = 0; i < S_COUNT; i++) {
        if (!fresh && (i == S_BUILD_DST || i == S_BUILD_ADDR))
            continue;
        if (sqlite3_prepare_v3(L->db, load_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &L->st[i], NULL) != SQLITE_OK) {
            db_fail(err, db_path, L->db, "preparing the load");
            goto out;
        }
    }
    /* one transaction for every snapshot: all are loaded, or none.
     * IMMEDIATE: a concurrent load of the same file waits, then sees it. */
    if (exec(L->db, db_path, "BEGIN IMMEDIATE;", err) < 0)
        goto out;
    for (int k = 0; k < n; k++) {
        struct phd_snapshot *s = NULL;
        int r = phd_snapshot_open(&s, snap_paths[k], 0, err);
        if (r == 0)
            r = load_one(L, &s, &results[k]);
        phd_snapshot_free(&s);
        if (r < 0) {
            sqlite3_exec(L->db, "ROLLBACK;", NULL, NULL, NULL);
            goto out;
        }
    }
    if (exec(L->db, db_path, "COMMIT;", err) < 0)
        goto out;
    if (progress)
        progress(arg, "indexes", 0, 0);
    if (exec(L->db, db_path, fresh ? "CREATE INDEX roots_snapshot ON roots(snapshot);" : index_sql, err) < 0)
        goto out;
    finalize_all(L);
    if (fresh && exec(L->db, db_path, build_done_sql, err) < 0)
        goto out;
    finalize_all(L);
    if (sqlite3_close(L->db) != SQLITE_OK) {
        db_fail(err, db_path, L->db, "closing database");
        L->db = NULL;
        goto out;
    }
    L->db = NULL;
    if (fresh) {
        int p = publish_new(tmp, db_path, err);
        if (p != 0) {
            *raced = p == 1;
            goto out;
        }
    }
    tmp[0] = 0;
    rc = 0;
out:
    finalize_all(L);
    if (L->db)
        sqlite3_close(L->db);
    phd_snapset_free(&L->set);
    if (fresh && tmp[0])
        unlink(tmp);
    free(L);
    return rc;
}

/* ---- queries ---------------------------------------------------------- */

int phd_store_snapshot_ids(struct phd_store *st, int64_t **ids, size_t *n, struct phd_error *err)
{
    sqlite3_stmt *q = NULL;
    size_t cap = 16;
    *ids = malloc(cap * sizeof **ids);
    *n = 0;
    if (!*ids)
        return phd_error_set(err, "%s: out of memory", st->path);
    if (sqlite3_prepare_v2(st->db, "SELECT id FROM snapshots ORDER BY id", -1, &q, NULL) != SQLITE_OK)
        goto fail;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            int64_t *ni = realloc(*ids, cap * 2 * sizeof *ni);
            if (!ni)
                goto fail;
            *ids = ni;
            cap *= 2;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(q, 0);
    }
    if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(q);
    return 0;
fail:
    db_fail(err, st->path, st->db, "listing snapshots");
    sqlite3_finalize(q);
    free(*ids);
    *ids = NULL;
    return -1;
}

struct name_id {
    int64_t sid;
    uint32_t type;
};

static int by_sid(const void *a, const void *b)
{
    const struct name_id *x = a, *y = b;
    return (x->sid > y->sid) - (x->sid < y->sid);
}

int phd_store_census(struct phd_store *st, int64_t id, int with_objects, struct phd_census **out,
                     struct phd_error *err)
{
    sqlite3_stmt *q = NULL;
    struct phd_census *c = NULL;
    struct name_id *map = NULL;
    char label[4200];
    uint32_t ntypes = 0;
    *out = NULL;
    snprintf(label, sizeof label, "%s#%lld", st->path, (long long)id);

    if (sqlite3_prepare_v2(st->db,
                           "SELECT pid, process_start_ns, timestamp_ns, objects, total_size, python, pointer_size, "
                           "values_recorded, collected, format_version, "
                           "(SELECT count(*) FROM type_stats WHERE snapshot = ?1) FROM snapshots WHERE id = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        goto dbfail;
    sqlite3_bind_int64(q, 1, id);
    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_finalize(q);
        return phd_error_set(err, "%s: no snapshot with id %lld (see 'pyheapdiff sql %s \"SELECT * FROM snapshots\"')",
                             st->path, (long long)id, st->path);
    }
    ntypes = (uint32_t)sqlite3_column_int64(q, 10);
    uint64_t objects = (uint64_t)sqlite3_column_int64(q, 3);
    c = phd_census_new(label, ntypes, with_objects ? objects : 0);
    if (!c)
        goto nomem;
    c->hdr.pid = (uint64_t)sqlite3_column_int64(q, 0);
    c->hdr.start_time_ns = (uint64_t)sqlite3_column_int64(q, 1);
    c->hdr.timestamp_ns = (uint64_t)sqlite3_column_int64(q, 2);
    c->objects = objects;
    c->total_size = (uint64_t)sqlite3_column_int64(q, 4);
    unsigned a = 0, b = 0, cc = 0;
    sscanf((const char *)sqlite3_column_text(q, 5), "%u.%u.%u", &a, &b, &cc);
    c->hdr.py_major = (uint8_t)a;
    c->hdr.py_minor = (uint8_t)b;
    c->hdr.py_micro = (uint8_t)cc;
    c->hdr.pointer_size = (uint8_t)sqlite3_column_int(q, 6);
    c->hdr.flags = (sqlite3_column_int(q, 7) ? PHD_HDR_VALUES : 0) | (sqlite3_column_int(q, 8) ? PHD_HDR_COLLECTED : 0);
    c->hdr.version = (uint16_t)sqlite3_column_int(q, 9);
    sqlite3_finalize(q);
    q = NULL;

    map = malloc(((size_t)ntypes + 1) * sizeof *map);
    if (!map)
        goto nomem;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT t.type, s.text, t.count, t.size, t.origin FROM type_stats t "
                           "JOIN strings s ON s.id = t.type "
                           "WHERE t.snapshot = ? ORDER BY t.type",
                           -1, &q, NULL) != SQLITE_OK)
        goto dbfail;
    sqlite3_bind_int64(q, 1, id);
    uint32_t t = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && t < ntypes) {
        map[t] = (struct name_id){sqlite3_column_int64(q, 0), t};
        if (phd_census_set_name(c, t, (const char *)sqlite3_column_text(q, 1)) < 0)
            goto nomem;
        c->count[t] = (uint64_t)sqlite3_column_int64(q, 2);
        c->size[t] = (uint64_t)sqlite3_column_int64(q, 3);
        int origin = sqlite3_column_int(q, 4);
        if (origin > PHD_ORIGIN_UNKNOWN && origin < PHD_ORIGIN_COUNT)
            c->origin[t] = (uint8_t)origin;
        t++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        goto dbfail;
    sqlite3_finalize(q);
    q = NULL;
    c->n_types = t;
    qsort(map, t, sizeof *map, by_sid);

    if (with_objects) {
        if (sqlite3_prepare_v2(st->db, "SELECT count, data FROM address_index WHERE snapshot = ?", -1, &q, NULL) !=
            SQLITE_OK)
            goto dbfail;
        sqlite3_bind_int64(q, 1, id);
        if (sqlite3_step(q) != SQLITE_ROW)
            goto dbfail;
        uint64_t n = (uint64_t)sqlite3_column_int64(q, 0);
        const unsigned char *p = sqlite3_column_blob(q, 1), *end;
        if (!p) /* an empty blob (no objects) is NULL */
            p = (const unsigned char *)"";
        end = p + sqlite3_column_bytes(q, 1);
        if (n > objects)
            goto corrupt;
        uint64_t prev = 0, delta, rank;
        for (uint64_t i = 0; i < n; i++) {
            if (phd_varint_get(&p, end, &delta) < 0 || phd_varint_get(&p, end, &rank) < 0 || rank >= t)
                goto corrupt;
            prev += delta;
            c->addr[i] = prev;
            c->otype[i] = (uint32_t)rank;
        }
        c->n_objs = n;
        sqlite3_finalize(q);
        q = NULL;
    }
    free(map);
    *out = c;
    return 0;
corrupt:
    sqlite3_finalize(q);
    phd_census_free(&c);
    free(map);
    return phd_error_set(err, "%s: damaged database: the address index does not decode", label);
dbfail:
    db_fail(err, st->path, st->db, "reading snapshot");
    sqlite3_finalize(q);
    phd_census_free(&c);
    free(map);
    return -1;
nomem:
    sqlite3_finalize(q);
    phd_census_free(&c);
    free(map);
    return phd_error_set(err, "%s: out of memory", label);
}
