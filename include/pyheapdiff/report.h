/*
 * pyheapdiff/report.h - the gathering of the HTML report: everything the
 * page shows about a pair of snapshots (struct phd_report, html.h), from
 * the library's analyses, so that `report` and any other caller share one
 * rule: the diff, the leak ranking (findings.h), the biggest retainers
 * (retainers.h), the grouped paths (paths.h) and the leak graph (render.h).
 */
#ifndef PYHEAPDIFF_REPORT_H
#define PYHEAPDIFF_REPORT_H

#include <stddef.h>

#include "pyheapdiff/census.h"
#include "pyheapdiff/error.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/html.h"

/* The gathered report and the strings and arrays it owns. */
struct phd_report_gathered;

/*
 * Gathers the report of before -> after: before and after are the
 * censuses of BEFORE and AFTER with objects (phd_census_from_snapshot
 * with_objects; their objects are dropped here), g the graph of AFTER.
 * top: rows of the growth table (0: all); graph_type: the leak graph's
 * type, an exact type name of AFTER, or NULL for the first finding.  The
 * report borrows the censuses and g: they must outlive it.  Returns 0, or
 * -1 with err set.  The caller sets the title and version of
 * phd_report_gathered_report(*out) and writes it (phd_report_html_file).
 */
int phd_report_gather(struct phd_report_gathered **out, struct phd_census *before, struct phd_census *after,
                      const struct phd_graph *g, size_t top, const char *graph_type, struct phd_error *err);
struct phd_report *phd_report_gathered_report(struct phd_report_gathered *x);
void phd_report_gathered_free(struct phd_report_gathered **x);

#endif
