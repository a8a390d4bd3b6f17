/*
 * census.c - per-type counts and sizes, and the diff of two censuses.
 *
 * Matching objects of two snapshots of one process is a merge of two
 * address-sorted arrays: an address present in both with the same type
 * name is a survivor; otherwise the "after" object is new and the "before"
 * one freed.  Addresses are reused after frees, so a survivor may really
 * be a new object of the same type at a recycled address (docs/cli.md says
 * so); it can never be one of another type.  O(n) after an O(n) radix sort.
 */
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/census.h"
#include "pyheapdiff/progress.h"
#include "pyheapdiff/types.h"

struct phd_census *phd_census_new(const char *label, uint32_t n_types, uint64_t n_objs)
{
    struct phd_census *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->label = strdup(label);
    c->n_types = n_types;
    c->names = calloc((size_t)n_types + 1, sizeof *c->names);
    c->count = calloc((size_t)n_types + 1, sizeof *c->count);
    c->size = calloc((size_t)n_types + 1, sizeof *c->size);
    c->origin = calloc((size_t)n_types + 1, sizeof *c->origin);
    c->n_objs = n_objs;
    if (n_objs) {
        c->addr = malloc(n_objs * sizeof *c->addr);
        c->otype = malloc(n_objs * sizeof *c->otype);
    }
    if (!c->label || !c->names || !c->count || !c->size || !c->origin || (n_objs && (!c->addr || !c->otype)))
        phd_census_free(&c);
    return c;
}

int phd_census_set_name(struct phd_census *c, uint32_t type, const char *name)
{
    free(c->names[type]);
    c->names[type] = strdup(name ? name : "?");
    if (!c->names[type])
        return -1;
    c->origin[type] = (uint8_t)phd_origin_guess(c->names[type]);
    return 0;
}

void phd_census_drop_objects(struct phd_census *c)
{
    free(c->addr);
    free(c->otype);
    c->addr = NULL;
    c->otype = NULL;
    c->n_objs = 0;
}

void phd_census_free(struct phd_census **cp)
{
    struct phd_census *c = *cp;
    if (!c)
        return;
    if (c->names)
        for (uint32_t t = 0; t < c->n_types; t++)
            free(c->names[t]);
    free(c->names);
    free(c->count);
    free(c->size);
    free(c->origin);
    free(c->addr);
    free(c->otype);
    free(c->label);
    free(c);
    *cp = NULL;
}

/* LSD radix sort of (addr, type) pairs by addr, 16 bits a pass, skipping
 * passes where every key has the same digit. */
int phd_census_sort_objects(struct phd_census *c)
{
    size_t n = c->n_objs;
    if (n < 2)
        return 0;
    uint64_t *ka = c->addr, *kb = malloc(n * sizeof *kb);
    uint32_t *va = c->otype, *vb = malloc(n * sizeof *vb);
    size_t *hist = malloc(65536 * sizeof *hist);
    if (!kb || !vb || !hist) {
        free(kb);
        free(vb);
        free(hist);
        return -1;
    }
    phd_progress_begin("sorting addresses", 8 * (uint64_t)n);
    for (unsigned shift = 0; shift < 64; shift += 16) {
        memset(hist, 0, 65536 * sizeof *hist);
        for (size_t i = 0; i < n; i++) {
            phd_progress_tick((shift / 8) * (uint64_t)n + i);
            hist[(ka[i] >> shift) & 0xffff]++;
        }
        if (hist[(ka[0] >> shift) & 0xffff] == n)
            continue; /* all equal in this digit */
        size_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            size_t h = hist[d];
            hist[d] = sum;
            sum += h;
        }
        for (size_t i = 0; i < n; i++) {
            phd_progress_tick((shift / 8 + 1) * (uint64_t)n + i);
            size_t o = hist[(ka[i] >> shift) & 0xffff]++;
            kb[o] = ka[i];
            vb[o] = va[i];
        }
        uint64_t *tk = ka;
        ka = kb;
        kb = tk;
        uint32_t *tv = va;
        va = vb;
        vb = tv;
    }
    phd_progress_end();
    c->addr = ka;
    c->otype = va;
    free(kb);
    free(vb);
    free(hist);
    return 0;
}

static const struct phd_snapshot *name_snap;

static int by_type_name(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(phd_snapshot_type_name(name_snap, x), phd_snapshot_type_name(name_snap, y));
    return c ? c : (x > y) - (x < y);
}

/* A census has one type per distinct name: two classes of one name (a
 * class defined in a function called twice) are one row, as in the
 * database's type_stats. */
int phd_census_from_snapshot(struct phd_census **out, const struct phd_snapshot *s, int with_objects,
                             struct phd_error *err)
{
    struct phd_census *c = NULL;
    uint32_t *order = malloc(((size_t)s->n_types + 1) * sizeof *order);
    uint32_t *to = malloc(((size_t)s->n_types + 1) * sizeof *to);
    *out = NULL;
    if (!order || !to)
        goto nomem;
    for (uint32_t t = 0; t < s->n_types; t++)
        order[t] = t;
    name_snap = s; /* qsort has no context argument in C11; single-threaded */
    qsort(order, s->n_types, sizeof *order, by_type_name);
    uint32_t distinct = 0;
    for (uint32_t k = 0; k < s->n_types; k++) {
        if (k == 0 || strcmp(phd_snapshot_type_name(s, order[k]), phd_snapshot_type_name(s, order[k - 1])) != 0)
            distinct++;
        to[order[k]] = distinct - 1;
    }
    c = phd_census_new(s->path, distinct, with_objects ? s->n_nodes : 0);
    if (!c)
        goto nomem;
    c->hdr = s->hdr;
    c->objects = s->n_nodes;
    c->total_size = s->total_size;
    for (uint32_t t = 0; t < s->n_types; t++)
        if (!c->names[to[t]] && phd_census_set_name(c, to[t], phd_snapshot_type_name(s, t)) < 0)
            goto nomem;
    for (uint32_t t = 0; t < s->n_types; t++)
        if (s->types[t].origin != PHD_ORIGIN_UNKNOWN)
            c->origin[to[t]] = s->types[t].origin;
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        c->count[to[s->type[i]]]++;
        c->size[to[s->type[i]]] += phd_snapshot_size(s, i);
    }
    if (with_objects && s->n_nodes) { /* no arrays for no objects */
        memcpy(c->addr, s->addr, (size_t)s->n_nodes * sizeof *c->addr);
        for (uint32_t i = 0; i < s->n_nodes; i++)
            c->otype[i] = to[s->type[i]];
        if (phd_census_sort_objects(c) < 0)
            goto nomem;
    }
    free(order);
    free(to);
    *out = c;
    return 0;
nomem:
    free(order);
    free(to);
    phd_census_free(&c);
    return phd_error_set(err, "%s: out of memory", s->path);
}

int phd_same_process(const struct phd_header *a, const struct phd_header *b)
{
    return a->pid == b->pid && a->start_time_ns == b->start_time_ns && a->start_time_ns != 0;
}

/* ---- the diff ---------------------------------------------------------- */

struct name_ref {
    const char *name;
    uint32_t side, type; /* side 0: a, 1: b */
};

static int by_name(const void *x, const void *y)
{
    const struct name_ref *p = x, *q = y;
    int c = strcmp(p->name, q->name);
    if (c)
        return c;
    return p->side != q->side ? (int)p->side - (int)q->side : (p->type > q->type) - (p->type < q->type);
}

/* The total row: the sums over the rows. */
static void diff_total(struct phd_diff *d)
{
    memset(&d->total, 0, sizeof d->total);
    d->total.name = "total";
    for (size_t r = 0; r < d->n; r++) {
        struct phd_diff_row *w = &d->rows[r];
        d->total.count_a += w->count_a;
        d->total.count_b += w->count_b;
        d->total.size_a += w->size_a;
        d->total.size_b += w->size_b;
        d->total.new_ += w->new_;
        d->total.freed += w->freed;
        d->total.survived += w->survived;
    }
}

void phd_diff_filter(struct phd_diff *d, unsigned origins, const char *const *types, size_t n_types)
{
    size_t kept = 0;
    for (size_t r = 0; r < d->n; r++) {
        const struct phd_diff_row *w = &d->rows[r];
        if (phd_type_selected(w->name, w->origin, origins, types, n_types))
            d->rows[kept++] = *w;
    }
    d->n = kept;
    diff_total(d);
}

int phd_diff_compute(struct phd_diff **out, const struct phd_census *a, const struct phd_census *b,
                     struct phd_error *err)
{
    size_t nrefs = (size_t)a->n_types + b->n_types;
    struct name_ref *refs = malloc((nrefs + 1) * sizeof *refs);
    uint32_t *row_of[2] = {malloc(((size_t)a->n_types + 1) * sizeof(uint32_t)),
                           malloc(((size_t)b->n_types + 1) * sizeof(uint32_t))};
    struct phd_diff *d = calloc(1, sizeof *d);
    *out = NULL;
    if (!refs || !row_of[0] || !row_of[1] || !d)
        goto nomem;
    size_t k = 0;
    for (uint32_t t = 0; t < a->n_types; t++)
        refs[k++] = (struct name_ref){a->names[t], 0, t};
    for (uint32_t t = 0; t < b->n_types; t++)
        refs[k++] = (struct name_ref){b->names[t], 1, t};
    qsort(refs, nrefs, sizeof *refs, by_name);
    d->rows = calloc(nrefs + 1, sizeof *d->rows);
    if (!d->rows)
        goto nomem;
    /* one row per distinct name; a snapshot may hold two types of one
     * name (two classes both called app.Item): they share the row */
    for (size_t i = 0; i < nrefs; i++) {
        if (i == 0 || strcmp(refs[i].name, refs[i - 1].name) != 0)
            d->rows[d->n++].name = refs[i].name;
        row_of[refs[i].side][refs[i].type] = (uint32_t)(d->n - 1);
    }
    for (uint32_t t = 0; t < a->n_types; t++) {
        d->rows[row_of[0][t]].count_a += a->count[t];
        d->rows[row_of[0][t]].size_a += a->size[t];
        d->rows[row_of[0][t]].origin = a->origin[t];
    }
    for (uint32_t t = 0; t < b->n_types; t++) {
        d->rows[row_of[1][t]].count_b += b->count[t];
        d->rows[row_of[1][t]].size_b += b->size[t];
        if (b->origin[t] != PHD_ORIGIN_UNKNOWN) /* the later snapshot's word counts */
            d->rows[row_of[1][t]].origin = b->origin[t];
    }
    d->matched = a->addr && b->addr && phd_same_process(&a->hdr, &b->hdr);
    if (d->matched) {
        uint64_t i = 0, j = 0;
        while (i < a->n_objs || j < b->n_objs) {
            if (j >= b->n_objs || (i < a->n_objs && a->addr[i] < b->addr[j])) {
                d->rows[row_of[0][a->otype[i++]]].freed++;
            } else if (i >= a->n_objs || b->addr[j] < a->addr[i]) {
                d->rows[row_of[1][b->otype[j++]]].new_++;
            } else {
                uint32_t ra = row_of[0][a->otype[i++]], rb = row_of[1][b->otype[j++]];
                if (ra == rb) {
                    d->rows[rb].survived++;
                } else {
                    d->rows[ra].freed++;
                    d->rows[rb].new_++;
                }
            }
        }
    }
    diff_total(d);
    free(refs);
    free(row_of[0]);
    free(row_of[1]);
    *out = d;
    return 0;
nomem:
    free(refs);
    free(row_of[0]);
    free(row_of[1]);
    phd_diff_free(&d);
    return phd_error_set(err, "%s: out of memory comparing with %s", b->label, a->label);
}

static enum phd_diff_sort sort_key;

static int by_growth(const void *x, const void *y)
{
    const struct phd_diff_row *p = x, *q = y;
    int64_t dp, dq;
    if (sort_key == PHD_SORT_COUNT) {
        dp = (int64_t)(p->count_b - p->count_a);
        dq = (int64_t)(q->count_b - q->count_a);
    } else {
        dp = (int64_t)(p->size_b - p->size_a);
        dq = (int64_t)(q->size_b - q->size_a);
    }
    if (dp != dq)
        return dp < dq ? 1 : -1;
    return strcmp(p->name, q->name);
}

void phd_diff_sort(struct phd_diff *d, enum phd_diff_sort by)
{
    sort_key = by; /* qsort has no context argument in C11 */
    qsort(d->rows, d->n, sizeof *d->rows, by_growth);
}

size_t phd_diff_select(const struct phd_diff *d, int all, uint64_t min_delta, size_t top, size_t *keep,
                       size_t *omitted)
{
    size_t shown = 0;
    *omitted = 0;
    for (size_t r = 0; r < d->n; r++) {
        const struct phd_diff_row *w = &d->rows[r];
        int64_t dc = (int64_t)(w->count_b - w->count_a), ds = (int64_t)(w->size_b - w->size_a);
        int changed = dc || ds || w->new_ || w->freed;
        uint64_t mag = (uint64_t)(dc < 0 ? -dc : dc);
        if ((!all && !changed) || mag < min_delta)
            continue;
        if (top && shown >= top)
            (*omitted)++;
        else
            keep[shown++] = r;
    }
    return shown;
}

void phd_diff_free(struct phd_diff **dp)
{
    struct phd_diff *d = *dp;
    if (!d)
        return;
    free(d->rows);
    free(d);
    *dp = NULL;
}
