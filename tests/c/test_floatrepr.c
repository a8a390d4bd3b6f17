/*
 * test_floatrepr.c - the agent's float previews (snapshot_agent/floatrepr.c)
 * against a reference built on the C library: the shortest "%.*e" (which
 * glibc rounds correctly, so at each length it is the nearest decimal)
 * that strtod reads back as x, written in repr's fixed notation.  Where
 * phd_float_repr answers it must agree; where it leaves x to dtoa (returns
 * 0) it is counted, and such fallbacks must stay rare in the fixed range.
 * tests/python/test_float_repr.py checks the same against repr() itself.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floatrepr.h"
#include "testutil.h"

/* repr(x) in fixed notation, or 0 when repr uses an exponent (or x is not
 * finite or is zero). */
static size_t ref_repr(double x, char *out)
{
    if (!isfinite(x) || x == 0)
        return 0;
    char s[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*e", prec - 1, x);
        if (strtod(s, NULL) == x)
            break;
    }
    /* s is [-]d[.ddd]e(+|-)XX */
    const char *p = s;
    int neg = *p == '-';
    p += neg;
    char dig[32];
    size_t nd = 0;
    for (; *p != 'e'; p++)
        if (*p != '.')
            dig[nd++] = *p;
    int e10 = atoi(p + 1);
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    if (e10 < -4 || e10 >= 16)
        return 0;
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (e10 < 0) {
        o += (size_t)sprintf(out + o, "0.");
        for (int z = -1; z > e10; z--)
            out[o++] = '0';
        memcpy(out + o, dig, nd);
        o += nd;
    } else {
        for (int i = 0; i <= e10; i++)
            out[o++] = (size_t)i < nd ? dig[i] : '0';
        out[o++] = '.';
        if ((size_t)e10 + 1 < nd) {
            memcpy(out + o, dig + e10 + 1, nd - (size_t)e10 - 1);
            o += nd - (size_t)e10 - 1;
        } else {
            out[o++] = '0';
        }
    }
    return o;
}

static double from_bits(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static unsigned long n_fixed, n_fallback;

static void check(double x)
{
    char want[64], got[PHD_FLOAT_REPR_MAX + 8];
    memset(got, '#', sizeof got);
    size_t wl = ref_repr(x, want);
    size_t gl = phd_float_repr(x, got);
    CHECKF(gl <= PHD_FLOAT_REPR_MAX && got[gl] == '#', "%a: wrote past its length %zu", x, gl);
    if (wl)
        n_fixed++;
    if (gl == 0) {
        n_fallback += wl != 0;
        return;
    }
    CHECKF(wl == gl && memcmp(want, got, wl) == 0, "%a: %.*s, reference %.*s", x, (int)gl, got, (int)wl,
           wl ? want : "(exponent notation)");
}

int main(void)
{
    struct rng r;
    rng_seed(&r, 20261202);
    /* random mantissas at every binary exponent around the fixed range */
    for (int i = 0; i < 400000; i++) {
        uint64_t e = 1023 - 16 + rng_below(&r, 72);
        check(from_bits((rng_next(&r) & (UINT64_C(1) << 63)) | e << 52 | (rng_next(&r) >> 12)));
    }
    /* what heaps hold: i / 3.0, random() * 10^k */
    for (int i = 1; i < 200000; i++)
        check(i / 3.0);
    for (int i = 0; i < 200000; i++)
        check((double)(rng_next(&r) >> 11) / 9007199254740992.0 * pow(10, (double)rng_below(&r, 23) - 5));
    /* random 16- and 17-digit decimals */
    for (int i = 0; i < 200000; i++) {
        char s[64];
        int digits = 16 + (int)rng_below(&r, 2);
        uint64_t d = UINT64_C(1000000000000000) * (digits == 16 ? 1 : 10);
        d += rng_below(&r, d * 9);
        snprintf(s, sizeof s, "%" PRIu64 "e%d", d, (int)rng_below(&r, 21) - 4 - digits);
        check(strtod(s, NULL));
    }
    /* the neighbours of powers of two and ten and of 1e-4, 1e15, 1e16 */
    for (int e = -20; e < 60; e++) {
        double up = ldexp(1, e), down = up;
        for (int s = 0; s < 200; s++, up = nextafter(up, INFINITY), down = nextafter(down, 0)) {
            check(up);
            check(down);
        }
    }
    for (int k = -6; k <= 17; k++) {
        double up = pow(10, k), down = up;
        for (int s = 0; s < 2000; s++, up = nextafter(up, INFINITY), down = nextafter(down, 0)) {
            check(up);
            check(down);
        }
    }
    /* zeros, infinities, NaN and subnormals are dtoa's */
    double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 5e-324, 1e-310, 1e300};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        char buf[PHD_FLOAT_REPR_MAX];
        CHECKF(phd_float_repr(special[i], buf) == 0, "%a is not left to dtoa", special[i]);
    }
    /* powers of two in [1e15, 1e16) and the rare boundaries aside, the
     * fixed range does not need dtoa (with unsigned __int128; without it
     * 16 and 17 digits do) */
    printf("test_floatrepr: %lu in fixed notation, %lu left to dtoa\n", n_fixed, n_fallback);
#if defined(__SIZEOF_INT128__) && defined(__GNUC__)
    CHECKF(n_fallback * 10000 < n_fixed, "%lu of %lu left to dtoa", n_fallback, n_fixed);
#endif
    return t_summary("test_floatrepr");
}
