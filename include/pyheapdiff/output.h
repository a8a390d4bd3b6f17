/*
 * pyheapdiff/output.h - formatting shared by every command: human-sized
 * numbers, times, and writing JSON documents built with jansson.
 */
#ifndef PYHEAPDIFF_OUTPUT_H
#define PYHEAPDIFF_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "pyheapdiff/error.h"

/* "512 B", "12.3 KiB", "4.0 MiB"...; returns buf. */
const char *phd_fmt_size(uint64_t bytes, char *buf, size_t cap);
/* "1,234,567"; returns buf. */
const char *phd_fmt_count(uint64_t n, char *buf, size_t cap);
/* "2026-11-25 04:01:02 UTC" from ns since the epoch, "unknown" for 0. */
const char *phd_fmt_time(uint64_t ns, char *buf, size_t cap);
/* A JSON string of an analyzer text (a name, a path): the NUL kept as
 * C0 80 becomes \u0000, any invalid byte U+FFFD.  NULL when out of memory. */
json_t *phd_json_text(const char *text);
/* Writes doc (stolen) as indented JSON and a newline; returns 0 or -1. */
int phd_json_print(json_t *doc, FILE *out);



/*
 * A text table: cells are strings, columns are sized to their content and
 * the first column is cut (with "...") so that a line fits max_width.
 */
enum phd_align { PHD_LEFT, PHD_RIGHT };
struct phd_table;
struct phd_table *phd_table_new(int ncols);
void phd_table_free(struct phd_table **t);
void phd_table_column(struct phd_table *t, int col, const char *title, enum phd_align align);
/* Starts a new row; then phd_table_cell for each column. */
int phd_table_row(struct phd_table *t);
int phd_table_cell(struct phd_table *t, int col, const char *fmt, ...) PHD_PRINTF(3, 4);
/* Draws a rule line before the next row added (e.g. before a total). */
void phd_table_rule(struct phd_table *t);
void phd_table_print(const struct phd_table *t, FILE *out, int max_width);
/* The same with every line indented by indent spaces (counted in max_width). */
void phd_table_print_indented(const struct phd_table *t, FILE *out, int max_width, int indent);
/* "+1,234" / "-12" / "0" */
const char *phd_fmt_delta_count(int64_t d, char *buf, size_t cap);
/* "+1.20 MiB" / "-512 B" / "0 B" */
const char *phd_fmt_delta_size(int64_t d, char *buf, size_t cap);
#endif
