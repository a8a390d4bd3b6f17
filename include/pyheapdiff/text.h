/*
 * pyheapdiff/text.h - small text helpers shared by the store and the CLI.
 */
#ifndef PYHEAPDIFF_TEXT_H
#define PYHEAPDIFF_TEXT_H

#include <stddef.h>

/* Is s[0..n) well-formed UTF-8 (structure only: lead and continuation
 * bytes)?  Previews cut at 80 bytes stay valid; bytes previews often not. */
int phd_utf8_valid(const unsigned char *s, size_t n);

#endif
