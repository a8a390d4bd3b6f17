/*
 * cmd_sql.c - pyheapdiff sql DB "SELECT ...": a read-only query of a
 * database made by 'pyheapdiff load', printed as a table or JSON.  The
 * database is opened read-only and a statement that would write is refused
 * before it runs.  'pyheapdiff sql a.snap b.snap "SELECT ..."' queries the
 * same tables straight from snapshot files (phd_store_open_snapshots).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
    /* one line per row, nothing a terminal acts on (the text of a valid
     * UTF-8 TEXT value has no NUL: sqlite3_column_bytes counts to it) */
    return phd_text_escape_dup((const char *)sqlite3_column_text(q, col));
}

static json_t *cell_json(sqlite3_stmt *q, int col)
{
    switch (sqlite3_column_type(q, col)) {
    case SQLITE_NULL:
        return json_null();
    case SQLITE_INTEGER:
        return json_integer((json_int_t)sqlite3_column_int64(q, col));
    case SQLITE_FLOAT: {
        /* JSON has no infinities (jansson refuses them, and the key went
         * missing): they are the strings JavaScript and Python spell */
        double v = sqlite3_column_double(q, col);
        if (isinf(v))
            return json_string(v > 0 ? "Infinity" : "-Infinity");
        if (isnan(v))
            return json_null();
        return json_real(v);
    }
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

/*
 * What the authorizer saw while one statement was prepared: a PRAGMA
 * that only reads (no value given, and a name below) is allowed although
 * sqlite3_stmt_readonly() says no for some of them (journal_mode,
 * locking_mode: they *could* change the mode).
 */
struct pragma_seen {
    int n, with_value;
    char name[64];
};

static int authorize(void *arg, int action, const char *a1, const char *a2, const char *db, const char *trigger)
{
    (void)db;
    (void)trigger;
    struct pragma_seen *p = arg;
    if (action == SQLITE_PRAGMA) {
        p->n++;
        p->with_value |= a2 != NULL;
        snprintf(p->name, sizeof p->name, "%s", a1 ? a1 : "");
    }
    return SQLITE_OK;
}

static int read_only_pragma(const struct pragma_seen *p)
{
    /* pragmas that report a setting when given no value and that SQLite
     * does not count as read-only */
    static const char *const names[] = {"journal_mode", "locking_mode"};
    if (p->n != 1 || p->with_value)
        return 0;
    for (size_t k = 0; k < sizeof names / sizeof *names; k++)
        if (strcasecmp(p->name, names[k]) == 0)
            return 1;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* sqlite3_progress_handler callback: non-zero stops the statement. */
static int past_deadline(void *arg)
{
    return now_s() > *(const double *)arg;
}

int cmd_sql(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c;
    double timeout = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 't': {
            char *end;
            errno = 0;
            timeout = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(timeout > 0) || timeout > 1e9)
                return cli_fail("sql: --timeout takes a number of seconds > 0, not '%s'", optarg);
            break;
        }
        case 'h':
            return cli_help(cmd);
        default:
            return cli_bad_option(cmd, c, argc, argv);
        }
    }
    /* one database, or snapshot files as one; the query last */
    struct cli_inputs in = {0};
    if (cli_open(cmd, argc - optind, argv + optind, &in) < 0)
        return PHD_EXIT_USAGE;
    const char *path = in.args[0], *sql = argv[argc - 1];
    struct phd_store *st = in.store;
    sqlite3 *db = phd_store_db(st);
    sqlite3_stmt *q = NULL;
    const char *tail = NULL;
    struct pragma_seen seen = {0};
    sqlite3_set_authorizer(db, authorize, &seen);
    int prc = sqlite3_prepare_v2(db, sql, -1, &q, &tail);
    sqlite3_set_authorizer(db, NULL, NULL);
    if (prc != SQLITE_OK) {
        cli_fail("%s: bad query: %s", path, sqlite3_errmsg(db));
        cli_close(&in);
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
        cli_close(&in);
        return cli_fail("%s: give exactly one statement", path);
    }
    if (!sqlite3_stmt_readonly(q) && !read_only_pragma(&seen)) {
        sqlite3_finalize(q);
        cli_close(&in);
        return cli_fail("%s: refused: the statement would change the database (sql is read-only)", path);
    }
    double deadline = now_s() + timeout;
    if (timeout > 0)
        sqlite3_progress_handler(db, 10000, past_deadline, &deadline);
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
        if (rc == SQLITE_INTERRUPT && timeout > 0)
            cli_fail("%s: query stopped: it ran longer than --timeout %g s", path, timeout);
        else
            cli_fail("%s: query failed: %s", path, sqlite3_errmsg(db));
        json_decref(rows);
        phd_table_free(&t);
        sqlite3_finalize(q);
        cli_close(&in);
        return PHD_EXIT_USAGE;
    }
    if (json)
        phd_json_print(rows, stdout);
    else if (t)
        phd_table_print(t, stdout, 0);
    phd_table_free(&t);
    sqlite3_finalize(q);
    cli_close(&in);
    return PHD_EXIT_OK;
}
