/*
 * test_floatrepr.c - the float previews' renderer (src/format/floatrepr.c).
 *
 * Its exact integer path (phd_float_repr_fast) against a reference built
 * on the C library: the shortest "%.*e" (which glibc rounds correctly, so
 * at each length it is the nearest decimal) that strtod reads back as x,
 * written in repr's fixed notation.  Where the fast path answers it must
 * agree; where it leaves x to the C library (returns 0) it is counted, and
 * such fallbacks must stay rare in the fixed range.  The whole renderer
 * (phd_float_repr) must agree with the fast path, and with repr() as
 * Python 3.11 wrote it for the values below: exponent notation, zeros,
 * infinities, NaN, subnormals, and the 46 powers of two whose nearest
 * shortest decimal does not read back (their interval is half as wide
 * below).  tests/python/test_float_repr.py checks millions more against
 * repr() itself, through the reader.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/floatrepr.h"
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
    size_t gl = phd_float_repr_fast(x, got);
    CHECKF(gl <= PHD_FLOAT_REPR_MAX && got[gl] == '#', "%a: wrote past its length %zu", x, gl);
    char all[PHD_FLOAT_REPR_MAX + 8];
    memset(all, '#', sizeof all);
    size_t al = phd_float_repr(x, all);
    CHECKF(al > 0 && al <= PHD_FLOAT_REPR_MAX && all[al] == '#', "%a: phd_float_repr wrote %zu bytes", x, al);
    if (wl) {
        n_fixed++;
        CHECKF(wl == al && memcmp(want, all, wl) == 0, "%a: phd_float_repr %.*s, reference %.*s", x, (int)al, all,
               (int)wl, want);
    }
    if (gl == 0) {
        n_fallback += wl != 0;
        return;
    }
    CHECKF(wl == gl && memcmp(want, got, wl) == 0, "%a: %.*s, reference %.*s", x, (int)gl, got, (int)wl,
           wl ? want : "(exponent notation)");
}

/* repr() as CPython 3.11 wrote it */
static void check_repr(double x, const char *want)
{
    char got[PHD_FLOAT_REPR_MAX + 1];
    size_t n = phd_float_repr(x, got);
    CHECKF(n == strlen(want) && memcmp(got, want, n) == 0, "%a: %.*s, repr() %s", x, (int)n, got, want);
}

/* The powers of two 2^k whose nearest shortest decimal (glibc's "%.*e" at
 * the first length that reads back) is not repr()'s: repr(2.0 ** k). */
static const struct {
    int k;
    const char *repr;
} pow2_repr[] = {
    {-1017, "7.120236347223045e-307"},
    {-1007, "7.291122019556398e-304"},
    {-957, "8.209073602596753e-289"},
    {-921, "5.641232424577593e-278"},
    {-808, "5.858190679279809e-244"},
    {-791, "7.678447687145631e-239"},
    {-788, "6.142758149716505e-238"},
    {-778, "6.290184345309701e-235"},
    {-705, "5.940911144672375e-213"},
    {-695, "6.083493012144512e-210"},
    {-662, "5.225680706521042e-200"},
    {-652, "5.351097043477547e-197"},
    {-549, "5.426657103235053e-166"},
    {-509, "5.966672584960166e-154"},
    {-496, "4.887898181599368e-150"},
    {-489, "6.256509672447191e-148"},
    {-383, "5.075883674631299e-116"},
    {-366, "6.653062250012736e-111"},
    {-296, "7.854549544476363e-90"},
    {-140, "7.174648137343064e-43"},
    {-97, "6.310887241768095e-30"},
    {-77, "6.617444900424222e-24"},
    {-44, "5.684341886080802e-14"},
    {-24, "5.960464477539063e-08"},
    {89, "6.189700196426902e+26"},
    {122, "5.316911983139664e+36"},
    {132, "5.444517870735016e+39"},
    {172, "5.986310706507379e+51"},
    {182, "6.129982163463556e+54"},
    {275, "6.070840288205404e+82"},
    {305, "6.518515124270356e+91"},
    {345, "7.167183174968974e+103"},
    {378, "6.156563468186638e+113"},
    {398, "6.455624695217272e+119"},
    {405, "8.263199609878108e+121"},
    {481, "6.243497100631985e+144"},
    {534, "5.623642243178996e+160"},
    {544, "5.758609657015292e+163"},
    {554, "5.896816288783659e+166"},
    {574, "6.183260036827614e+172"},
    {594, "6.483618076376552e+178"},
    {710, "5.386379163185535e+213"},
    {803, "5.334411546303884e+241"},
    {863, "6.150157786156811e+259"},
    {896, "5.282945311356653e+269"},
    {976, "6.386688990511104e+293"},
};

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
    /* zeros, infinities, NaN and subnormals are the C library's */
    double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 5e-324, 1e-310, 1e300};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        char buf[PHD_FLOAT_REPR_MAX];
        CHECKF(phd_float_repr_fast(special[i], buf) == 0, "%a is not left to the C library", special[i]);
    }
    check_repr(0.0, "0.0");
    check_repr(-0.0, "-0.0");
    check_repr(INFINITY, "inf");
    check_repr(-INFINITY, "-inf");
    check_repr(NAN, "nan");
    check_repr(0x0.0000000000001p-1022, "5e-324");
    check_repr(0x0.012688b70e62bp-1022, "1e-310");
    check_repr(0x1.0000000000000p-1022, "2.2250738585072014e-308");
    check_repr(0x1.fffffffffffffp+1023, "1.7976931348623157e+308");
    check_repr(-0x1.ac9a7b3b7302fp-996, "-2.5e-300");
    check_repr(0x1.7e43c8800759cp+996, "1e+300");
    check_repr(0x1.0f0cf064dd592p+73, "1e+22");
    check_repr(0x1.1c37937e08000p+53, "1e+16");
    check_repr(0x1.b69b4ba630f35p+56, "1.2345678901234568e+17");
    check_repr(0x1.987bf7c563caap+86, "1.2345678901234568e+26");
    check_repr(0x1.0000000000000p+53, "9007199254740992.0");
    check_repr(0x1.c6bf526340000p+49, "1000000000000000.0");
    check_repr(0x1.a36e2eb1c432dp-14, "0.0001");
    check_repr(-0x1.4f8b588e368f1p-17, "-1e-05");
    check_repr(0x1.f75104d551d69p-17, "1.5e-05");
    for (size_t i = 0; i < sizeof pow2_repr / sizeof pow2_repr[0]; i++) {
        check_repr(ldexp(1, pow2_repr[i].k), pow2_repr[i].repr);
        char neg[32];
        snprintf(neg, sizeof neg, "-%s", pow2_repr[i].repr);
        check_repr(-ldexp(1, pow2_repr[i].k), neg);
    }
    /* ints */
    char ib[24];
    size_t il = phd_i64_text(INT64_MIN, ib);
    CHECK(il == 20 && memcmp(ib, "-9223372036854775808", 20) == 0);
    il = phd_i64_text(0, ib);
    CHECK(il == 1 && ib[0] == '0');
    il = phd_i64_text(INT64_MAX, ib);
    CHECK(il == 19 && memcmp(ib, "9223372036854775807", 19) == 0);
    /* powers of two in [1e15, 1e16) and the rare boundaries aside, the
     * fixed range does not need the C library (with unsigned __int128; without it
     * 16 and 17 digits do) */
    printf("test_floatrepr: %lu in fixed notation, %lu left to the C library\n", n_fixed, n_fallback);
#if defined(__SIZEOF_INT128__) && defined(__GNUC__)
    CHECKF(n_fallback * 10000 < n_fixed, "%lu of %lu left to the C library", n_fallback, n_fixed);
#endif
    return t_summary("test_floatrepr");
}
