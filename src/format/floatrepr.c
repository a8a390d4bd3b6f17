/*
 * floatrepr.c - repr(float) and repr(int) for value previews
 * (pyheapdiff/floatrepr.h).
 *
 * The exact integer paths, for finite x with 1e-4 <= |x| < 1e16 (where
 * Python's repr writes fixed notation: the decimal exponent of its digits
 * is in [-4, 16)):
 *
 *  - float_repr_short: at most 15 significant digits with |x| < 1e15, with
 *    doubles only (one scaled rounding and an exact division check);
 *  - float_repr_exact: any number of digits, with 128-bit integers: x is
 *    m * 2^e exactly, scaled by 10^k exactly, and the shortest decimal
 *    strictly inside x's rounding interval is found (16 or 17 digits for
 *    what the short path leaves, fewer in [1e15, 1e16)).
 *
 * Anything neither can prove goes to float_repr_libc: the shortest
 * correctly rounded "%.*e" that strtod reads back.
 */
#include "pyheapdiff/floatrepr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "00" to "99": two digits per division */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                     "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                     "8081828384858687888990919293949596979899";

static size_t u64_digits(uint64_t v, char *buf)
{
    char tmp[20];
    size_t n = sizeof tmp;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        n -= 2;
        memcpy(tmp + n, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        n -= 2;
        memcpy(tmp + n, digit_pairs + 2 * v, 2);
    } else {
        tmp[--n] = (char)('0' + v);
    }
    memcpy(buf, tmp + n, sizeof tmp - n);
    return sizeof tmp - n;
}

/* Writes -|x| or |x| = v * 10^exp (v > 0 without trailing zeros) in fixed
 * notation as repr does: ".0" after an integer, "0.000ddd" below 1.
 * Returns 0 if repr writes it with an exponent (its first digit's decimal
 * exponent below -4 or above 15). */
static size_t put_fixed(int neg, uint64_t v, int exp, char *buf)
{
    char d[20];
    size_t nd = u64_digits(v, d), o = 0;
    int point = (int)nd + exp; /* digits before the decimal point */
    if (point < -3 || point > 16)
        return 0;
    if (neg)
        buf[o++] = '-';
    if (point >= (int)nd) {
        memcpy(buf + o, d, nd);
        o += nd;
        for (int z = (int)nd; z < point; z++)
            buf[o++] = '0';
        buf[o++] = '.';
        buf[o++] = '0';
    } else if (point > 0) {
        memcpy(buf + o, d, (size_t)point);
        o += (size_t)point;
        buf[o++] = '.';
        memcpy(buf + o, d + point, nd - (size_t)point);
        o += nd - (size_t)point;
    } else {
        buf[o++] = '0';
        buf[o++] = '.';
        for (int z = point; z < 0; z++)
            buf[o++] = '0';
        memcpy(buf + o, d, nd);
        o += nd;
    }
    return o;
}

/*
 * The floats most programs hold: 1e-4 <= |x| < 1e15 with at most 15
 * significant digits (prices, measurements, i * 0.5).  With k such that
 * y = |x| * 10^k is in [1e14, 1e15), m = round(y) is tested: m / 10^k ==
 * |x|.  10^k (k <= 22) and m (< 2^53) are exact doubles and IEEE division
 * rounds correctly, so the test is exactly "the decimal m * 10^-k reads
 * back as x".  If any decimal of at most 15 significant digits reads back
 * as x, it is within 2^-53 * y < 0.12 of y once scaled by 10^k, and so is
 * the computed product: the rounding finds it (with trailing zeros) and no
 * other.  Stripping the trailing zeros leaves the fewest digits, which is
 * Python's shortest round-tripping repr (fixed notation in this range).
 * Returns 0 otherwise (16 or 17 digits, or |x| >= 1e15).
 */
static size_t float_repr_short(double x, double ax, char *buf)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (!(ax >= 1e-4 && ax < 1e15))
        return 0;
    int k = 0; /* the k that puts ax * 10^k in [1e14, 1e15) */
    while (k < 22 && ax * p10[k] < 1e14)
        k++;
    double y = ax * p10[k];
    if (y >= 1e15 || y < 1e14)
        return 0;
    uint64_t m = (uint64_t)(y + 0.5);
    if ((double)m / p10[k] != ax)
        return 0;
    while (k > 0 && m % 10 == 0) {
        m /= 10;
        k--;
    }
    return put_fixed(x < 0, m, -k, buf);
}

#if defined(__SIZEOF_INT128__) && defined(__GNUC__)

/* __extension__: -Wpedantic accepts the GNU type with it */
__extension__ typedef unsigned __int128 phd_u128;

static const uint64_t pow10_u64[20] = {
    UINT64_C(1),
    UINT64_C(10),
    UINT64_C(100),
    UINT64_C(1000),
    UINT64_C(10000),
    UINT64_C(100000),
    UINT64_C(1000000),
    UINT64_C(10000000),
    UINT64_C(100000000),
    UINT64_C(1000000000),
    UINT64_C(10000000000),
    UINT64_C(100000000000),
    UINT64_C(1000000000000),
    UINT64_C(10000000000000),
    UINT64_C(100000000000000),
    UINT64_C(1000000000000000),
    UINT64_C(10000000000000000),
    UINT64_C(100000000000000000),
    UINT64_C(1000000000000000000),
    UINT64_C(10000000000000000000),
};

enum { NEAR_OUT, NEAR_IN, NEAR_UNSURE };

/*
 * The multiple of 10^p nearest to the scaled value T = q + frac / 2^sh,
 * given c = floor(q / 10^p) and r = q mod 10^p, against the half-width h
 * of the rounding interval around T (h and frac in units of 2^-sh).
 * NEAR_IN with *cand (in units of 10^p) when it lies strictly inside the
 * interval; of two at the same distance, both inside, the even one, as
 * dtoa's digit loop does (its "j1 == 0 && dig & 1").  NEAR_OUT when it
 * lies strictly outside (then no multiple of 10^p is in the closed
 * interval); NEAR_UNSURE when it lies on the boundary, where reading it
 * back rounds half to even and dtoa decides by x's last bit.
 */
static int nearest(uint64_t c, uint64_t r, int p, phd_u128 frac, unsigned sh, phd_u128 h, uint64_t *cand)
{
    phd_u128 below = ((phd_u128)r << sh) | frac;        /* T - c * 10^p */
    phd_u128 above = ((phd_u128)pow10_u64[p] << sh) - below; /* (c + 1) * 10^p - T */
    phd_u128 dist = below < above ? below : above;
    if (dist > h)
        return NEAR_OUT;
    if (dist == h)
        return NEAR_UNSURE;
    *cand = below < above || (below == above && !(c & 1)) ? c : c + 1;
    return NEAR_IN;
}

/*
 * x = m * 2^(E-52) with 2^52 < m < 2^53 (m = 2^52 is left to dtoa: the
 * interval of a power of two is asymmetric) and -14 <= E <= 53 (the
 * caller's range).  With k = 16 - floor(E * log10(2)), T = |x| * 10^k is
 * in [1e16, 2e17), and in units of 2^-sh, sh = 53 - E (0 to 67):
 *
 *   T = 2m * 10^k (< 2^54 * 10^21 < 2^124), exact;
 *   h = 10^k, half the spacing of doubles at x, scaled by 10^k: every
 *     decimal strictly within h of T reads back as x (round to nearest),
 *     none farther than h does.
 *
 * h > T / 2^54 > 0.55 (in units of 1), so the nearest integer is always
 * strictly inside (17 or 18 digits).  Multiples of 10^(p+1) are multiples
 * of 10^p, so the lengths p with a multiple strictly inside form a range
 * 0..P; P is found by trying p = 1, 2, ... until the nearest multiple of
 * 10^p is outside.  Among the decimals inside, the multiples of 10^P are
 * those with the fewest significant digits (all of them have T's leading
 * digit position unless a power of ten is inside, which then is the one
 * multiple of the largest P), and the nearest of them to T is the closest
 * shortest one (the even one of two as close): Python's repr digits.  A
 * decimal on the boundary on the way, or a result outside fixed notation,
 * returns 0.
 */
static size_t float_repr_exact(double x, char *buf)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    uint64_t f = bits & ((UINT64_C(1) << 52) - 1);
    int E = (int)(bits >> 52 & 0x7ff) - 1023;
    if (f == 0 || E < -14 || E > 53)
        return 0;
    uint64_t m = f | UINT64_C(1) << 52;
    /* floor(E * log10(2)): 78913 / 2^18 is close enough for |E| < 1650 */
    int fl = E >= 0 ? (E * 78913) >> 18 : -((-E * 78913 + (1 << 18) - 1) >> 18);
    int k = 16 - fl; /* 1 to 21 */
    unsigned sh = (unsigned)(53 - E);
    phd_u128 h = k <= 19 ? (phd_u128)pow10_u64[k] : (phd_u128)pow10_u64[19] * pow10_u64[k - 19];
    phd_u128 t = (phd_u128)(2 * m) * h;
    uint64_t q = (uint64_t)(t >> sh);
    phd_u128 frac = t & (((phd_u128)1 << sh) - 1);

    uint64_t best = 0, cand = 0;
    int bestp = -1;
    uint64_t c = q / 10, r = q % 10;
    for (int p = 1;; p++) {
        int s = nearest(c, r, p, frac, sh, h, &cand);
        if (s == NEAR_UNSURE)
            return 0;
        if (s == NEAR_OUT)
            break;
        best = cand;
        bestp = p;
        if (p == 17) /* T < 2e17: no multiple of 10^18 is inside */
            break;
        r += (c % 10) * pow10_u64[p];
        c /= 10;
    }
    if (bestp < 0) {
        if (nearest(q, 0, 0, frac, sh, h, &cand) != NEAR_IN)
            return 0;
        best = cand;
        bestp = 0;
    }
    if (best == 0)
        return 0;
    while (best % 10 == 0) {
        best /= 10;
        bestp++;
    }
    return put_fixed(x < 0, best, bestp - k, buf);
}

#else

static size_t float_repr_exact(double x, char *buf)
{
    (void)x;
    (void)buf;
    return 0;
}

#endif

size_t phd_float_repr_fast(double x, char *buf)
{
    double ax = x < 0 ? -x : x;
    if (!(ax >= 1e-4 && ax < 1e16))
        return 0;
    size_t n = float_repr_short(x, ax, buf);
    return n ? n : float_repr_exact(x, buf);
}

/* Adds one unit in the last place to the nd digits at d; returns 1 when
 * they carried out of the first (then d is "100...0" and the caller's
 * exponent goes up by one). */
static int digits_up(char *d, size_t nd)
{
    for (size_t i = nd; i-- > 0;) {
        if (d[i] != '9') {
            d[i]++;
            return 0;
        }
        d[i] = '0';
    }
    d[0] = '1';
    return 1;
}

/* Whether the decimal d[0].d[1..nd-1] * 10^e10 reads back as ax. */
static int reads_back(const char *d, size_t nd, int e10, double ax)
{
    char s[48];
    size_t o = 0;
    s[o++] = d[0];
    s[o++] = '.';
    memcpy(s + o, d + 1, nd - 1);
    o += nd - 1;
    snprintf(s + o, sizeof s - o, "e%d", e10);
    return strtod(s, NULL) == ax;
}

/* Python's formatting of the digits d (no trailing zeros) of |x| =
 * d[0].d[1..] * 10^e10: fixed notation for -4 <= e10 < 16, else
 * d[0][.d[1..]]e(+|-)XX with at least two exponent digits. */
static size_t put_repr(int neg, const char *d, size_t nd, int e10, char *buf)
{
    size_t o = 0;
    if (e10 >= -4 && e10 < 16) {
        uint64_t v = 0;
        for (size_t i = 0; i < nd; i++)
            v = v * 10 + (uint64_t)(d[i] - '0');
        return put_fixed(neg, v, e10 + 1 - (int)nd, buf);
    }
    if (neg)
        buf[o++] = '-';
    buf[o++] = d[0];
    if (nd > 1) {
        buf[o++] = '.';
        memcpy(buf + o, d + 1, nd - 1);
        o += nd - 1;
    }
    buf[o++] = 'e';
    buf[o++] = e10 < 0 ? '-' : '+';
    unsigned ae = (unsigned)(e10 < 0 ? -e10 : e10);
    if (ae >= 100)
        buf[o++] = (char)('0' + ae / 100);
    buf[o++] = (char)('0' + ae / 10 % 10);
    buf[o++] = (char)('0' + ae % 10);
    return o;
}

/*
 * Any finite non-zero x: the fewest digits p (1 to 17) whose correctly
 * rounded "%.*e" (glibc rounds exactly, ties to even) reads back as x.  At
 * each length that decimal is the nearest one to x, so if any decimal of
 * p digits reads back, it does, with one exception: a power of two, whose
 * interval is half as wide below it as above, where the nearest may fall
 * below and the next one up still read back; that one is tried too.
 */
static size_t float_repr_libc(double x, char *buf)
{
    double ax = fabs(x);
    int pow2 = 0;
    {
        int e;
        pow2 = frexp(ax, &e) == 0.5;
    }
    char s[48], d[24];
    size_t nd = 0;
    int e10 = 0;
    for (int p = 1; p <= 17; p++) {
        snprintf(s, sizeof s, "%.*e", p - 1, ax);
        /* s is d[.ddd]e(+|-)XX */
        const char *q = s;
        nd = 0;
        for (; *q && *q != 'e'; q++)
            if (*q >= '0' && *q <= '9')
                d[nd++] = *q;
        e10 = atoi(q + 1);
        if (strtod(s, NULL) == ax)
            break;
        if (pow2 && strtod(s, NULL) < ax) {
            char up[24];
            memcpy(up, d, nd);
            int e = e10 + digits_up(up, nd);
            if (reads_back(up, nd, e, ax)) {
                memcpy(d, up, nd);
                e10 = e;
                break;
            }
        }
    }
    while (nd > 1 && d[nd - 1] == '0')
        nd--;
    return put_repr(x < 0, d, nd, e10, buf);
}

size_t phd_float_repr(double x, char *buf)
{
    size_t n = phd_float_repr_fast(x, buf);
    if (n)
        return n;
    if (isnan(x)) {
        memcpy(buf, "nan", 3);
        return 3;
    }
    if (isinf(x)) {
        memcpy(buf, x < 0 ? "-inf" : "inf", x < 0 ? 4 : 3);
        return x < 0 ? 4 : 3;
    }
    if (x == 0) {
        memcpy(buf, signbit(x) ? "-0.0" : "0.0", signbit(x) ? 4 : 3);
        return signbit(x) ? 4 : 3;
    }
    return float_repr_libc(x, buf);
}

size_t phd_i64_text(int64_t v, char *buf)
{
    if (v < 0) {
        buf[0] = '-';
        return 1 + u64_digits(0 - (uint64_t)v, buf + 1);
    }
    return u64_digits((uint64_t)v, buf);
}

size_t phd_number_text(int is_float, uint64_t bits, char *buf)
{
    if (!is_float)
        return phd_i64_text((int64_t)bits, buf);
    double x;
    memcpy(&x, &bits, sizeof x);
    return phd_float_repr(x, buf);
}
