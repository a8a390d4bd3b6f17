/*
 * output.c - number, size and time formatting, and JSON printing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pyheapdiff/output.h"

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
