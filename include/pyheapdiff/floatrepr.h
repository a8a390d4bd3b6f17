/*
 * pyheapdiff/floatrepr.h - repr(float) and repr(int) without Python, for
 * the value previews of numbers.
 *
 * Since format version 4 the agent writes an int's or a float's value in
 * binary (docs/format.md, NODES) and readers render it here; writers of
 * older versions render it here too.  phd_float_repr writes exactly what
 * Python's repr(x) gives: the shortest digit string that reads back as x
 * (the closest to x among several of that length), in fixed notation when
 * the first digit's decimal exponent is in [-4, 16), else as d.ddde+XX;
 * "nan", "inf", "-inf", "0.0", "-0.0".  Most heaps' values take an exact
 * integer path (1e-4 <= |x| < 1e16, no tie, not a power of two); the rest
 * the C library's correctly rounded printf and strtod.
 */
#ifndef PYHEAPDIFF_FLOATREPR_H
#define PYHEAPDIFF_FLOATREPR_H

#include <stddef.h>
#include <stdint.h>

/* The longest text phd_float_repr writes ("-2.2250738585072014e-308"). */
#define PHD_FLOAT_REPR_MAX 24

/* Writes repr(x) at buf (no NUL, at most PHD_FLOAT_REPR_MAX bytes) and
 * returns its length. */
size_t phd_float_repr(double x, char *buf);

/* Low-level, for tests: repr(x) by the exact integer path alone, or 0 where
 * that path cannot prove the result (outside 1e-4 <= |x| < 1e16, ties,
 * powers of two, 16 or 17 digits without unsigned __int128). */
size_t phd_float_repr_fast(double x, char *buf);

/* Decimal text of v at buf (no NUL, at most 20 bytes plus the sign);
 * returns its length. */
size_t phd_i64_text(int64_t v, char *buf);

/* A number preview's text (docs/format.md, "Numbers by value"): str() of
 * the int64 in bits, or repr() of the double whose bits they are.  At
 * most PHD_FLOAT_REPR_MAX bytes, no NUL; returns the length. */
size_t phd_number_text(int is_float, uint64_t bits, char *buf);

#endif
