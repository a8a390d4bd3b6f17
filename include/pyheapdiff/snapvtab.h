/*
 * pyheapdiff/snapvtab.h - SQL straight on snapshot files: an SQLite
 * virtual-table module over parsed snapshots that presents the tables of
 * a loaded database (docs/sqlite-schema.md) without copying a row.
 *
 * A phd_snapset holds the snapshots and what the tables need beyond the
 * parsed arrays (string ids, per-type totals, lazily built indexes).
 * 'pyheapdiff sql a.snap b.snap QUERY' opens an in-memory database whose
 * tables are these virtual tables (phd_snapset_db_open); 'pyheapdiff load'
 * fills its real tables from them with INSERT ... SELECT.
 */
#ifndef PYHEAPDIFF_SNAPVTAB_H
#define PYHEAPDIFF_SNAPVTAB_H

#include <stdint.h>

#include <sqlite3.h>

#include "pyheapdiff/error.h"
#include "pyheapdiff/format.h"

struct phd_snapset;

/* Called every 65536 objects while the objects table is read in order. */
typedef void (*phd_snapset_progress_fn)(void *arg, const char *what, uint64_t done, uint64_t total);

struct phd_snapset *phd_snapset_new(void);
/* Frees the set and the snapshots it owns; *set becomes NULL. */
void phd_snapset_free(struct phd_snapset **set);
/* Drops every snapshot of the set (the virtual tables stay usable). */
void phd_snapset_clear(struct phd_snapset *set);
void phd_snapset_progress(struct phd_snapset *set, phd_snapset_progress_fn fn, void *arg);

/*
 * Adds *sp as snapshot `id` (object ids id << 32 | node) and takes it
 * (*sp becomes NULL, also on failure).  sid maps the snapshot's string ids
 * to `strings.id` values: NULL numbers the strings as a load into a fresh
 * database would, in the set's own `strings` table; otherwise sid has
 * n_strings entries (copied) for a database that already holds the strings,
 * and `strings` shows none of them.  A snapshot equal to one already in
 * the set (same CRC, size, timestamp and pid) is dropped, as load would;
 * *added says whether it was added.
 */
int phd_snapset_add(struct phd_snapset *set, struct phd_snapshot **sp, int64_t id, const int64_t *sid,
                    int *added, struct phd_error *err);

/* Opens the files as snapshots 1, 2, ... of a fresh set (duplicates
 * skipped, as load numbers them in a fresh database). */
int phd_snapset_open_files(struct phd_snapset **out, const char *const *paths, int n, struct phd_error *err);

/*
 * Registers the module "phd_snapshot" on db (once per connection) and
 * creates the virtual tables `schema`.`prefix`TABLE for TABLE in snapshots,
 * strings, types, objects, edges, roots, type_stats, address_index.  The
 * set must outlive db's use of them.
 */
int phd_snapvtab_create(sqlite3 *db, struct phd_snapset *set, const char *schema, const char *prefix,
                        struct phd_error *err);

/*
 * A read-only in-memory database that looks like a loaded one: the
 * virtual tables under the schema's table names, label_kinds, root_kinds
 * and the views.  No ATTACH, no extensions, PRAGMA query_only on.  The
 * set must outlive *db.
 */
int phd_snapset_db_open(sqlite3 **db, struct phd_snapset *set, struct phd_error *err);

#endif
