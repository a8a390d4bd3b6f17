/*
 * pyheapdiff/store.h - the SQLite store: snapshots loaded into a database
 * that users can query (docs/sqlite-schema.md), and census queries that
 * the analysis commands run against it.
 */
#ifndef PYHEAPDIFF_STORE_H
#define PYHEAPDIFF_STORE_H

#include <stdint.h>

#include <sqlite3.h>

#include "pyheapdiff/census.h"
#include "pyheapdiff/error.h"
#include "pyheapdiff/format.h"

#define PHD_SCHEMA_VERSION 2 /* 2: type_stats.origin */
#define PHD_APPLICATION_ID 0x50484453 /* "PHDS" */

struct phd_store;

enum phd_store_mode { PHD_STORE_READ, PHD_STORE_WRITE };
/* Opens an existing pyheapdiff database, checking its application id and
 * schema version.  PHD_STORE_READ opens it read-only. */
int phd_store_open(struct phd_store **out, const char *path, enum phd_store_mode mode, struct phd_error *err);
void phd_store_close(struct phd_store **st);
sqlite3 *phd_store_db(struct phd_store *st);
const char *phd_store_path(const struct phd_store *st);

typedef void (*phd_progress_fn)(void *arg, const char *what, uint64_t done, uint64_t total);

struct phd_load_result {
    int64_t id;        /* the snapshot's id in the database */
    int already;       /* it was there already (same checksum): nothing loaded */
};

/*
 * Loads snapshots into the database at db_path, creating it when missing.
 * A new database is built under a temporary name and renamed at the end;
 * an existing one takes each snapshot in one transaction.  Either way a
 * failure leaves the database as it was.  results gets n entries.
 */
int phd_store_load_files(const char *db_path, const char *const *snap_paths, int n,
                         struct phd_load_result *results, phd_progress_fn progress, void *arg,
                         struct phd_error *err);

/* The ids of the snapshots in the database, ascending (*ids malloc'd). */
int phd_store_snapshot_ids(struct phd_store *st, int64_t **ids, size_t *n, struct phd_error *err);
/* A census of snapshot id; with_objects adds addresses for matching. */
int phd_store_census(struct phd_store *st, int64_t id, int with_objects, struct phd_census **out,
                     struct phd_error *err);

#endif
