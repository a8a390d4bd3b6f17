/*
 * error.c - filling struct phd_error.
 */
#include <stdarg.h>
#include <stdio.h>

#include "pyheapdiff/error.h"

int phd_error_set(struct phd_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}
