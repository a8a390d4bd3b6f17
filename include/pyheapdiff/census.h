/*
 * pyheapdiff/census.h - what a snapshot holds per type (counts and sizes),
 * optionally every object's address and type for matching, and the
 * comparison of two censuses: the diff behind "pyheapdiff a.snap b.snap".
 *
 * A census can come from a snapshot file (phd_census_from_snapshot) or
 * from a database (phd_store_census in store.h); the diff does not care.
 */
#ifndef PYHEAPDIFF_CENSUS_H
#define PYHEAPDIFF_CENSUS_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapdiff/error.h"
#include "pyheapdiff/format.h"

struct phd_census {
    char *label;          /* the file, or "FILE#ID" for a database snapshot */
    struct phd_header hdr;
    uint64_t objects, total_size;
    uint32_t n_types;
    char **names;         /* n_types module-qualified type names, owned */
    uint64_t *count;      /* per type */
    uint64_t *size;       /* per type, bytes */
    uint8_t *origin;      /* per type, enum phd_origin (types.h) */
    /* Optional (with_objects): every object's address and type index,
     * sorted by address. */
    uint64_t n_objs;
    uint64_t *addr;
    uint32_t *otype;
};

/* Builds a census of s.  with_objects also fills addr/otype.  The census
 * owns copies of everything; s may be freed afterwards. */
int phd_census_from_snapshot(struct phd_census **out, const struct phd_snapshot *s, int with_objects,
                             struct phd_error *err);
/* An empty census with room for n_types types and n_objs objects; used by
 * other builders (the store).  Names are set with phd_census_set_name. */
struct phd_census *phd_census_new(const char *label, uint32_t n_types, uint64_t n_objs);
int phd_census_set_name(struct phd_census *c, uint32_t type, const char *name);
/* Sorts the objects by address (radix sort; O(n)). */
int phd_census_sort_objects(struct phd_census *c);
/* Frees the objects (addr, otype) once the diff is made: its rows keep
 * only the names. */
void phd_census_drop_objects(struct phd_census *c);
void phd_census_free(struct phd_census **c);

/* Same pid and process start time: objects can be matched by address. */
int phd_same_process(const struct phd_header *a, const struct phd_header *b);

struct phd_diff_row {
    const char *name;     /* points into one of the censuses */
    unsigned origin;      /* enum phd_origin: the later snapshot's when it knows */
    uint64_t count_a, count_b, size_a, size_b;
    uint64_t new_, freed, survived; /* only when the diff is matched */
};

struct phd_diff {
    int matched;          /* new/freed/survived are meaningful */
    size_t n;
    struct phd_diff_row *rows;
    struct phd_diff_row total;
};

enum phd_diff_sort { PHD_SORT_SIZE, PHD_SORT_COUNT };

/* Compares a (before) and b (after), one row per type name present in
 * either.  Matching by address happens when both censuses carry objects
 * and come from the same process.  The rows point into a and b. */
int phd_diff_compute(struct phd_diff **out, const struct phd_census *a, const struct phd_census *b,
                     struct phd_error *err);
/* Sorts rows by the change in size (or count), largest growth first. */
void phd_diff_sort(struct phd_diff *d, enum phd_diff_sort by);
/* The rows a report shows, in d's order: the changed ones (all of them
 * with `all`) whose count changed by at least min_delta, at most top (0:
 * no limit).  Their indices go to keep (room for d->n); returns how many,
 * and *omitted counts the qualifying rows beyond top. */
size_t phd_diff_select(const struct phd_diff *d, int all, uint64_t min_delta, size_t top, size_t *keep,
                       size_t *omitted);
/* Keeps the rows of the origins in the mask (PHD_ORIGIN_BIT; 0: any)
 * whose name matches one of types (phd_type_name_matches; none: any), in
 * their order, and recomputes the total over them. */
void phd_diff_filter(struct phd_diff *d, unsigned origins, const char *const *types, size_t n_types);
void phd_diff_free(struct phd_diff **d);

#endif
