/*
 * cmd_sql.c - pyheapdiff sql DB "SELECT ...": a read-only query of a
 * database made by 'pyheapdiff load', printed as a table or JSON.  The
 * database is opened read-only and a statement that would write is refused
 * before it runs.  'pyheapdiff sql a.snap b.snap "SELECT ..."' queries the
 * same tables straight from snapshot files (phd_store_open_snapshots).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/output.h"
#include "pyheapdiff/store.h"
#include "pyheapdiff/text.h"

/* Text of a column value for display: NULL, numbers, text, x'..' blobs. */
static char *cell_text(sqlite3_stmt *q, int col)
{
    int type = sqlite3_column_type(q, col), n = sqlite3_column_bytes(q, col);
    char *s;
    if (type == SQLITE_NULL)
        return strdup("NULL");
    if (type == SQLITE_BLOB || (type == SQLITE_TEXT && !phd_utf8_valid(sqlite3_column_text(q, col), (size_t)n))) {
        const unsigned char *b = sqlite3_column_blob(q, col);
        s = malloc((size_t)n * 2 + 4);
        if (!s)
            return NULL;
        char *p = s;
        *p++ = 'x';
        *p++ = '\'';
        for (int i = 0; i < n; i++)
            p += sprintf(p, "%02x", b[i]);
        *p++ = '\'';
        *p = 0;
        return s;
    }
    const unsigned char *t = sqlite3_column_text(q, col);
    s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    /* one line per row: control characters become spaces */
    for (int i = 0; i < n; i++)
        s[i] = (char)(t[i] < 0x20 ? ' ' : t[i]);
    s[n] = 0;
    return s;
}

static json_t *cell_json(sqlite3_stmt *q, int col)
{
    switch (sqlite3_column_type(q, col)) {
    case SQLITE_NULL:
        return json_null();
    case SQLITE_INTEGER:
        return json_integer((json_int_t)sqlite3_column_int64(q, col));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(q, col));
    default: {
        int n = sqlite3_column_bytes(q, col);
        const unsigned char *t = sqlite3_column_text(q, col);
        if (sqlite3_column_type(q, col) == SQLITE_TEXT && phd_utf8_valid(t, (size_t)n))
            return json_stringn((const char *)t, (size_t)n);
        char *s = cell_text(q, col);
        json_t *j = json_string(s ? s : "");
        free(s);
        return j;
    }
    }
}

int cmd_sql(int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("sql");
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'h':
            return cli_help(cmd);
        default:
            return cli_bad_option(cmd, c, argc, argv);
        }
    }
    int nfiles = argc - optind - 1;
    if (nfiles < 1)
        return cli_fail("sql: expected a database (or snapshots) and one query (see 'pyheapdiff sql --help')");
    const char *path = argv[optind], *sql = argv[argc - 1];
    struct phd_error err;
    int kind = phd_file_kind(path, &err);
    if (kind == PHD_FILE_ERROR)
        return cli_fail("%s", err.msg);
    if (kind != PHD_FILE_SNAPSHOT && nfiles != 1)
        return cli_fail("sql: expected one database or snapshot files, then one query (see 'pyheapdiff sql --help')");
    struct phd_store *st = NULL;
    /* snapshot files: an in-memory database of virtual tables over them */
    if ((kind == PHD_FILE_SNAPSHOT
             ? phd_store_open_snapshots(&st, (const char *const *)&argv[optind], nfiles, &err)
             : phd_store_open(&st, path, PHD_STORE_READ, &err)) < 0)
        return cli_fail("%s", err.msg);
    sqlite3 *db = phd_store_db(st);
    sqlite3_stmt *q = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &q, &tail) != SQLITE_OK) {
        cli_fail("%s: bad query: %s", path, sqlite3_errmsg(db));
        phd_store_close(&st);
        return PHD_EXIT_USAGE;
    }
    /* what follows must be empty: only blanks, comments and semicolons,
     * which SQLite compiles to no statement */
    int more = 0;
    while (tail && *tail && !more) {
        sqlite3_stmt *next = NULL;
        const char *rest = NULL;
        if (sqlite3_prepare_v2(db, tail, -1, &next, &rest) != SQLITE_OK || next)
            more = 1;
        sqlite3_finalize(next);
        if (!rest || rest == tail)
            break;
        tail = rest;
    }
    if (!q || more) {
        sqlite3_finalize(q);
        phd_store_close(&st);
        return cli_fail("%s: give exactly one statement", path);
    }
    if (!sqlite3_stmt_readonly(q)) {
        sqlite3_finalize(q);
        phd_store_close(&st);
        return cli_fail("%s: refused: the statement would change the database (sql is read-only)", path);
    }
    int ncol = sqlite3_column_count(q), rc;
    json_t *rows = json ? json_array() : NULL;
    struct phd_table *t = json ? NULL : phd_table_new(ncol > 0 ? ncol : 1);
    for (int i = 0; t && i < ncol; i++)
        phd_table_column(t, i, sqlite3_column_name(q, i), PHD_LEFT);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (json) {
            json_t *o = json_object();
            for (int i = 0; i < ncol; i++)
                json_object_set_new(o, sqlite3_column_name(q, i), cell_json(q, i));
            json_array_append_new(rows, o);
        } else if (t) {
            phd_table_row(t);
            for (int i = 0; i < ncol; i++) {
                char *s = cell_text(q, i);
                phd_table_cell(t, i, "%s", s ? s : "");
                free(s);
            }
        }
    }
    if (rc != SQLITE_DONE) {
        cli_fail("%s: query failed: %s", path, sqlite3_errmsg(db));
        json_decref(rows);
        phd_table_free(&t);
        sqlite3_finalize(q);
        phd_store_close(&st);
        return PHD_EXIT_USAGE;
    }
    if (json)
        phd_json_print(rows, stdout);
    else if (t)
        phd_table_print(t, stdout, 0);
    phd_table_free(&t);
    sqlite3_finalize(q);
    phd_store_close(&st);
    return PHD_EXIT_OK;
}
