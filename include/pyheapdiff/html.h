/*
 * pyheapdiff/html.h - HTML output: an escaping writer over a FILE, and the
 * self-contained HTML report of 'pyheapdiff report' (one file: inline CSS,
 * inline SVG, a small sort script; no network, no external assets).
 *
 * The report is written from plain data the caller gathers (struct
 * phd_report): this module knows HTML, not snapshots or graphs.
 */
#ifndef PYHEAPDIFF_HTML_H
#define PYHEAPDIFF_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pyheapdiff/census.h"
#include "pyheapdiff/error.h"

/* A writer: the first failed write is remembered in `failed`. */
struct phd_html {
    FILE *f;
    int failed;
};

/* Markup, written as is (never text from a snapshot). */
void phd_html_raw(struct phd_html *h, const char *markup);
void phd_html_rawf(struct phd_html *h, const char *fmt, ...) PHD_PRINTF(2, 3);
/* Text or an attribute value: & < > " ' escaped, control characters and
 * the bytes of text that is not UTF-8 replaced by U+FFFD. */
void phd_html_text(struct phd_html *h, const char *text);

/* One side of the comparison. */
struct phd_report_side {
    const char *label; /* the snapshot file */
    uint64_t objects, total_size, timestamp_ns;
    uint32_t pid;
};

/* A group of identical retention paths. */
struct phd_report_path {
    uint64_t count;
    const char *path; /* hops separated by " → " */
};

/* Why the objects of one finding (findings.h) are alive. */
struct phd_report_why {
    const char *type;
    uint64_t objects;   /* matched: its new objects still retained; else its instances */
    uint64_t retained;  /* what they retain */
    int64_t growth;     /* not matched: the growth in count */
    const char *inside; /* contents: the type whose new objects hold them all; else NULL */
    int all_instances;  /* not a finding (report --type): every instance */
    const struct phd_report_path *paths;
    size_t n_paths;     /* shown */
    size_t more_paths;  /* groups not shown */
};

/* An object with a large retained size. */
struct phd_report_retainer {
    const char *desc;   /* phd_graph_describe */
    const char *path;   /* its retention path */
    uint64_t address, size, retained;
};

/* Memory the instances of a type retain. */
struct phd_report_type {
    const char *type;
    uint64_t retained, instances;
};

struct phd_report {
    const char *title;
    const char *version;
    struct phd_report_side before, after;
    /* the diff table: d->rows[rows[k]] for k < n_rows, then d->total */
    const struct phd_diff *diff;
    const size_t *rows;
    size_t n_rows, omitted_rows;
    /* "Why they are alive": the ranking of findings.h; why_matched says
     * whether its objects are new ones matched by address (else the types
     * that grew, with all their instances) */
    const struct phd_report_why *why;
    size_t n_why;
    int why_matched;
    const struct phd_report_retainer *retainers;
    size_t n_retainers;
    const struct phd_report_type *types;
    size_t n_types;
    /* the leak graph: SVG from Graphviz (prolog and DOCTYPE are dropped),
     * or NULL with graph_note saying why there is none */
    const char *graph_type;
    int graph_new;      /* drawn for new objects of graph_type (not any instances) */
    const char *svg;
    const char *graph_note;
};

/* Writes the report as one HTML document; returns 0, or -1 when a write
 * failed. */
int phd_report_html(const struct phd_report *r, FILE *f);
/* Writes it to path under a temporary name in the same directory and
 * renames it into place: a failure leaves nothing behind.  Returns 0, or
 * -1 with err set. */
int phd_report_html_file(const struct phd_report *r, const char *path, struct phd_error *err);

#endif
