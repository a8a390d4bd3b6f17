/*
 * pyheapdiff/error.h - the error record every library call fills.
 *
 * Library functions return 0 on success and a negative value on failure,
 * with a one-line message in struct phd_error that names the file and the
 * problem.  Only the CLI prints it and picks an exit status.
 */
#ifndef PYHEAPDIFF_ERROR_H
#define PYHEAPDIFF_ERROR_H

#if defined(__GNUC__)
#define PHD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PHD_PRINTF(f, a)
#endif

struct phd_error {
    char msg[512];
};

/* Formats the message into err (if non-NULL) and returns -1. */
int phd_error_set(struct phd_error *err, const char *fmt, ...) PHD_PRINTF(2, 3);

#endif
