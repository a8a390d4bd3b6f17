/*
 * output.c - number, size and time formatting, and JSON printing.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pyheapdiff/output.h"
#include "pyheapdiff/text.h"

const char *phd_fmt_size(uint64_t bytes, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(buf, cap, "%" PRIu64 " B", bytes);
        return buf;
    }
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

const char *phd_fmt_count(uint64_t n, char *buf, size_t cap)
{
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%" PRIu64, n);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < cap; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

const char *phd_fmt_time(uint64_t ns, char *buf, size_t cap)
{
    if (!ns) {
        snprintf(buf, cap, "unknown");
        return buf;
    }
    time_t t = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

json_t *phd_json_text(const char *text)
{
    size_t n = strlen(text);
    const unsigned char *s = (const unsigned char *)text;
    if (phd_utf8_valid(s, n))
        return json_stringn(text, n);
    /* at most three bytes out (U+FFFD) for each byte in */
    char *buf = malloc(3 * n + 1);
    if (!buf)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = phd_utf8_char(s + i, n - i);
        if (!k && s[i] == 0xC0 && i + 1 < n && s[i + 1] == 0x80) {
            buf[o++] = 0; /* the reader's NUL */
            k = 2;
        } else if (!k) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            k = 1;
        } else {
            memcpy(buf + o, s + i, k);
            o += k;
        }
        i += k;
    }
    json_t *j = json_stringn(buf, o);
    free(buf);
    return j;
}

int phd_json_print(json_t *doc, FILE *out)
{
    if (!doc)
        return -1;
    int rc = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (rc == 0)
        fputc('\n', out);
    return rc;
}

const char *phd_fmt_delta_count(int64_t d, char *buf, size_t cap)
{
    char tmp[40];
    phd_fmt_count((uint64_t)(d < 0 ? -d : d), tmp, sizeof tmp);
    snprintf(buf, cap, "%s%s", d > 0 ? "+" : d < 0 ? "-" : "", tmp);
    return buf;
}

const char *phd_fmt_delta_size(int64_t d, char *buf, size_t cap)
{
    char tmp[40];
    phd_fmt_size((uint64_t)(d < 0 ? -d : d), tmp, sizeof tmp);
    snprintf(buf, cap, "%s%s", d > 0 ? "+" : d < 0 ? "-" : "", tmp);
    return buf;
}

/* ---- tables ------------------------------------------------------------ */

struct phd_table {
    int ncols;
    char **titles;
    enum phd_align *align;
    char **cells;        /* rows * ncols */
    unsigned char *rule; /* per row: draw a rule above it */
    size_t nrows, cap;
    int pending_rule;
};

struct phd_table *phd_table_new(int ncols)
{
    struct phd_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->titles = calloc((size_t)ncols, sizeof *t->titles);
    t->align = calloc((size_t)ncols, sizeof *t->align);
    if (!t->titles || !t->align)
        phd_table_free(&t);
    return t;
}

void phd_table_free(struct phd_table **tp)
{
    struct phd_table *t = *tp;
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    for (int c = 0; c < t->ncols && t->titles; c++)
        free(t->titles[c]);
    free(t->titles);
    free(t->align);
    free(t->cells);
    free(t->rule);
    free(t);
    *tp = NULL;
}

void phd_table_column(struct phd_table *t, int col, const char *title, enum phd_align align)
{
    free(t->titles[col]);
    t->titles[col] = strdup(title);
    t->align[col] = align;
}

int phd_table_row(struct phd_table *t)
{
    if (t->nrows == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 32;
        char **nc = realloc(t->cells, ncap * (size_t)t->ncols * sizeof *nc);
        if (!nc)
            return -1;
        t->cells = nc;
        unsigned char *nr = realloc(t->rule, ncap);
        if (!nr)
            return -1;
        t->rule = nr;
        t->cap = ncap;
    }
    memset(&t->cells[t->nrows * (size_t)t->ncols], 0, (size_t)t->ncols * sizeof *t->cells);
    t->rule[t->nrows] = (unsigned char)t->pending_rule;
    t->pending_rule = 0;
    t->nrows++;
    return 0;
}

void phd_table_rule(struct phd_table *t) { t->pending_rule = 1; }

int phd_table_cell(struct phd_table *t, int col, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **cell = &t->cells[(t->nrows - 1) * (size_t)t->ncols + (size_t)col];
    free(*cell);
    /* one line per row, nothing a terminal would act on */
    *cell = phd_text_escape_dup(buf);
    return *cell ? 0 : -1;
}

/* Display width of UTF-8 text: code points, which is right for the
 * names and numbers printed here. */
static int text_width(const char *s)
{
    int w = 0;
    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void put_cell(FILE *out, const char *s, int width, enum phd_align align, int last)
{
    int w = text_width(s);
    if (w > width) {
        /* cut to width - 3 code points, then "..." */
        int keep = width > 3 ? width - 3 : 0, seen = 0;
        const char *p = s;
        while (*p && seen <= keep) {
            if (((unsigned char)*p & 0xC0) != 0x80)
                seen++;
            if (seen > keep)
                break;
            p++;
        }
        fprintf(out, "%.*s%s", (int)(p - s), s, width > 3 ? "..." : "");
        return;
    }
    if (align == PHD_RIGHT)
        fprintf(out, "%*s%s", width - w, "", s);
    else if (last)
        fputs(s, out);
    else
        fprintf(out, "%s%*s", s, width - w, "");
}

void phd_table_print(const struct phd_table *t, FILE *out, int max_width)
{
    phd_table_print_indented(t, out, max_width, 0);
}

void phd_table_print_indented(const struct phd_table *t, FILE *out, int max_width, int indent)
{
    int *width = calloc((size_t)t->ncols, sizeof *width);
    if (!width)
        return;
    for (int c = 0; c < t->ncols; c++) {
        width[c] = text_width(t->titles[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            int w = text_width(t->cells[r * (size_t)t->ncols + (size_t)c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    int total = indent;
    for (int c = 0; c < t->ncols; c++)
        total += width[c] + (c ? 2 : 0);
    if (max_width > 0 && total > max_width && width[0] > 12) {
        int cut = total - max_width;
        width[0] = width[0] - cut < 12 ? 12 : width[0] - cut;
        total = max_width;
    }
    fprintf(out, "%*s", indent, "");
    for (int c = 0; c < t->ncols; c++) {
        if (c)
            fputs("  ", out);
        put_cell(out, t->titles[c] ? t->titles[c] : "", width[c], t->align[c], c == t->ncols - 1);
    }
    fputc('\n', out);
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->rule[r]) {
            int len = 0;
            for (int c = 0; c < t->ncols; c++)
                len += width[c] + (c ? 2 : 0);
            fprintf(out, "%*s", indent, "");
            for (int i = 0; i < len; i++)
                fputc('-', out);
            fputc('\n', out);
        }
        fprintf(out, "%*s", indent, "");
        for (int c = 0; c < t->ncols; c++) {
            if (c)
                fputs("  ", out);
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
            put_cell(out, s ? s : "", width[c], t->align[c], c == t->ncols - 1);
        }
        fputc('\n', out);
    }
    free(width);
}
