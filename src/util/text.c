/*
 * text.c - strict UTF-8, the reader's repair of table strings, and the
 * one escaping of text for terminals that every text output uses.
 *
 * Inside the analyzer a NUL byte of a snapshot's string is kept as the
 * two bytes C0 80 (as Java's "modified UTF-8" does), so that names stay
 * C strings and stay whole: `Widget\0A` and `Widget\0B` are two names.
 * C0 80 is never valid UTF-8, and the reader replaces every invalid
 * sequence of the file with U+FFFD first, so C0 80 in a string can only
 * mean NUL.  Printing turns it into `\0` (text), `\u0000` (JSON) or
 * U+FFFD (HTML, SVG, which cannot carry a NUL).
 */
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/text.h"

size_t phd_utf8_char(const unsigned char *s, size_t n)
{
    if (!n)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t k;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        k = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0/C1 (overlong) or F5..FF */
    }
    if (n < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t j = 2; j < k; j++)
        if ((s[j] & 0xC0) != 0x80)
            return 0;
    return k;
}

int phd_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = phd_utf8_char(s + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

size_t phd_utf8_repair(const unsigned char *in, size_t n, unsigned char *out, size_t *replaced)
{
    size_t o = 0, i = 0;
    while (i < n) {
        size_t k = phd_utf8_char(in + i, n - i);
        if (k && in[i] == 0) {
            out[o++] = 0xC0;
            out[o++] = 0x80;
        } else if (k) {
            memcpy(out + o, in + i, k);
            o += k;
        } else {
            /* one U+FFFD per invalid byte: simple, and never merges two
             * differently broken names into one */
            out[o++] = 0xEF;
            out[o++] = 0xBF;
            out[o++] = 0xBD;
            k = 1;
            if (replaced)
                ++*replaced;
        }
        i += k;
    }
    return o;
}

size_t phd_text_escape(const char *text, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), o = 0;
    char buf[8];
#define PUT(str, len)                                                                              \
    do {                                                                                           \
        for (size_t q_ = 0; q_ < (len); q_++, o++)                                                 \
            if (o + 1 < cap)                                                                       \
                out[o] = (str)[q_];                                                                \
    } while (0)
    for (size_t i = 0; i < n;) {
        size_t k = phd_utf8_char(s + i, n - i);
        unsigned c = s[i];
        if (!k && c == 0xC0 && i + 1 < n && s[i + 1] == 0x80) {
            PUT("\\0", 2); /* a NUL kept by the reader */
            k = 2;
        } else if (!k) {
            buf[0] = '\\', buf[1] = 'x', buf[2] = hex[c >> 4], buf[3] = hex[c & 15];
            PUT(buf, 4);
            k = 1;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            buf[0] = '\\', buf[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            PUT(buf, 2);
        } else if (c < 0x20 || c == 0x7f) {
            buf[0] = '\\', buf[1] = 'x', buf[2] = hex[c >> 4], buf[3] = hex[c & 15];
            PUT(buf, 4);
        } else if (c == 0xC2 && s[i + 1] < 0xA0) {
            /* C1 controls (U+0080..U+009F): 0x9B is a CSI on many terminals */
            unsigned u = s[i + 1];
            buf[0] = '\\', buf[1] = 'u', buf[2] = '0', buf[3] = '0', buf[4] = hex[u >> 4], buf[5] = hex[u & 15];
            PUT(buf, 6);
        } else {
            PUT((const char *)s + i, k);
        }
        i += k;
    }
#undef PUT
    if (cap)
        out[o < cap ? o : cap - 1] = 0;
    return o;
}

char *phd_text_escape_dup(const char *text)
{
    size_t n = phd_text_escape(text, NULL, 0);
    char *out = malloc(n + 1);
    if (out)
        phd_text_escape(text, out, n + 1);
    return out;
}

size_t phd_text_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 80 || lb > 80)
        return 1000;
    size_t row[81], prev[81];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;
            size_t sub = prev[j - 1] + (ca != cb), del = prev[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, row, (lb + 1) * sizeof *row);
    }
    return prev[lb];
}

void phd_text_append(char **buf, size_t *len, size_t *cap, const char *text)
{
    if (!*buf)
        return;
    size_t l = strlen(text);
    if (*len + l + 1 > *cap) {
        size_t nc = (*cap + l + 1) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb) {
            free(*buf);
            *buf = NULL;
            return;
        }
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, text, l + 1);
    *len += l;
}
