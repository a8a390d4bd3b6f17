/*
 * pyheapdiff/output.h - formatting shared by every command: human-sized
 * numbers, times, and writing JSON documents built with jansson.
 */
#ifndef PYHEAPDIFF_OUTPUT_H
#define PYHEAPDIFF_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* "512 B", "12.3 KiB", "4.0 MiB"...; returns buf. */
const char *phd_fmt_size(uint64_t bytes, char *buf, size_t cap);
/* "1,234,567"; returns buf. */
const char *phd_fmt_count(uint64_t n, char *buf, size_t cap);
/* "2026-11-25 04:01:02 UTC" from ns since the epoch, "unknown" for 0. */
const char *phd_fmt_time(uint64_t ns, char *buf, size_t cap);
/* Writes doc (stolen) as indented JSON and a newline; returns 0 or -1. */
int phd_json_print(json_t *doc, FILE *out);

#endif
