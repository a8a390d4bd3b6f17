/*
 * pyheapdiff/text.h - small text helpers shared by the reader, the store
 * and every output: strict UTF-8, and escaping for terminals.
 */
#ifndef PYHEAPDIFF_TEXT_H
#define PYHEAPDIFF_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a, 64 bits, of n bytes: the hash of names and texts in hash tables
 * (the analyzer's and the agent's). */
static inline uint64_t phd_fnv1a(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/* The length (1-4) of the well-formed UTF-8 character at s[0..n), or 0:
 * strict (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF, no stray continuation bytes. */
size_t phd_utf8_char(const unsigned char *s, size_t n);
/* Is s[0..n) well-formed UTF-8 (strictly, as phd_utf8_char)?  Previews
 * cut at 80 bytes stay valid; bytes previews often not. */
int phd_utf8_valid(const unsigned char *s, size_t n);
/* Copies in[0..n) to out (room for 3 * n bytes) as well-formed UTF-8
 * except for NUL, which becomes C0 80 (the analyzer's one spelling of a
 * NUL inside a name, see text.c); each byte of an invalid sequence
 * becomes U+FFFD and is counted in *replaced (if not NULL).  Returns the
 * length written (no terminator). */
size_t phd_utf8_repair(const unsigned char *in, size_t n, unsigned char *out, size_t *replaced);
/* Text safe for a terminal and for one line of a table: \n \r \t and
 * \0 (the C0 80 NUL) spelled as such, other C0 controls and DEL as \xHH,
 * C1 controls as \u00HH, invalid bytes as \xHH; the rest unchanged.
 * Writes at most cap bytes with a terminator (like snprintf) and returns
 * the full length. */
size_t phd_text_escape(const char *text, char *out, size_t cap);
/* The same in a malloc'd string (NULL when out of memory). */
char *phd_text_escape_dup(const char *text);

/* Edit distance between a and b, ASCII case ignored, for "did you
 * mean" suggestions; strings over 80 bytes count as far (1000). */
size_t phd_text_distance(const char *a, const char *b);

/* Appends text to the growing string *buf (len used, cap allocated); on
 * failure frees it and leaves *buf NULL, so later appends do nothing and
 * the caller checks once at the end. */
void phd_text_append(char **buf, size_t *len, size_t *cap, const char *text);

#endif
