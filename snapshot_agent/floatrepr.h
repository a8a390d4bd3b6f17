/*
 * floatrepr.h - repr(float) for the agent's value previews, without dtoa
 * for the values most heaps hold.
 *
 * phd_float_repr writes what Python's repr(x) gives (the shortest digit
 * string that reads back as x, the closest to x among several; fixed
 * notation) for finite x with 1e-4 <= |x| < 1e16 whenever it can prove the
 * result, and returns 0 otherwise: out of that range, NaN, infinities,
 * zeros, and the cases it leaves to dtoa (a decimal exactly on the
 * rounding boundary, powers of two, which have an asymmetric interval, and
 * 16- or 17-digit values on a compiler without unsigned __int128).  The caller then uses
 * PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL).
 *
 * Pure C11, no Python API; the symbols are hidden in the extension
 * (py.extension_module builds with hidden visibility).
 */
#ifndef PHD_AGENT_FLOATREPR_H
#define PHD_AGENT_FLOATREPR_H

#include <stddef.h>
#include <stdint.h>

/* The longest text phd_float_repr writes ("-0.000" and 17 digits). */
#define PHD_FLOAT_REPR_MAX 24

/* Writes repr(x) at buf (no NUL, at most PHD_FLOAT_REPR_MAX bytes) and
 * returns its length, or returns 0 when it leaves x to dtoa. */
size_t phd_float_repr(double x, char *buf);

/* Decimal digits of v at buf (no NUL, at most 20); returns their number. */
size_t phd_u64_digits(uint64_t v, char *buf);

#endif
