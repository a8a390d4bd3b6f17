"""Float previews against repr(), over millions of doubles.

The agent writes a float's value by its bits (format version 4) and the
analyzer's reader writes its repr() without Python: its own exact
shortest-digit formatting (src/format/floatrepr.c) where it can prove the
result, the C library's correctly rounded printf and strtod otherwise.
Each test here writes one distribution of doubles (exact bits,
array('d')) to a file, a fresh interpreter reads them into a list, dumps
with values=True, and the preview of every element of that list, as
`pyheapdiff sql` on the snapshot shows it, must be exactly repr(x) as this
interpreter writes it.  About 2.5 million doubles in all:
the values most heaps hold (i / 3.0, random() * 10**k), every exponent the
fixed notation covers with random mantissas, random bit patterns, the
neighbours of powers of two and ten and of repr's notation switches,
decimals halfway between two doubles, 16- and 17-digit decimals,
subnormals, zeros, infinities and NaNs.
"""

import array
import math
import random
import struct
import sys
import decimal
from decimal import Decimal

import pytest

from conftest import cli_json, run_python

pytestmark = pytest.mark.slow  # 2-4 s each; test_format_versions.py has a quick one

N = 300_000  # doubles per distribution

DUMP = r"""
import array, os, sys, pyheapdiff
a = array.array("d")
with open(sys.argv[1], "rb") as f:
    a.fromfile(f, os.path.getsize(sys.argv[1]) // 8)
values = a.tolist()  # one float object per element
del a
pyheapdiff.dump(sys.argv[2], values=True)
print(id(values))
"""


def signed(rng, xs):
    return [-x if rng.random() < 0.5 else x for x in xs]


def from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def fixed_range_bits(rng, n, lo=-16, hi=55):
    """Random mantissas with every binary exponent from 2^lo to 2^hi: all
    of repr's fixed notation (1e-4 to 1e16) and a little beyond."""
    out = []
    for _ in range(n):
        e = rng.randint(lo, hi) + 1023
        out.append(from_bits(rng.getrandbits(1) << 63 | e << 52 | rng.getrandbits(52)))
    return out


def neighbours(x, steps):
    out = [x]
    up = down = x
    for _ in range(steps):
        up = math.nextafter(up, math.inf)
        down = math.nextafter(down, -math.inf)
        out += [up, down]
    return out


def dist_thirds(rng):
    # the benchmark heap's floats: i / 3.0 (16 or 17 significant digits
    # for two thirds of them), and a few other small divisors
    xs = [i / 3.0 for i in range(1, N // 2)]
    xs += [i / d for i in range(1, N // 10) for d in (7.0, 9.0, 11.0, 13.0, 49.0)]
    return xs


def dist_scaled(rng):
    # random() * 10**k for k in -5..17: either side of 1e-4 and 1e16
    return signed(rng, [rng.random() * 10.0 ** rng.randint(-5, 17) for _ in range(N)])


def dist_fixed_bits(rng):
    return fixed_range_bits(rng, N)


def dist_random_bits(rng):
    # every exponent (most need exponent notation: dtoa), subnormals,
    # infinities and NaNs included
    return [from_bits(rng.getrandbits(64)) for _ in range(N)]


def dist_boundaries(rng):
    xs = []
    for e in range(-30, 64):  # powers of two: asymmetric intervals
        xs += neighbours(2.0 ** e, 40)
    for k in range(-8, 20):  # powers of ten, their multiples, 99..9 before them
        for j in range(1, 10):
            xs += neighbours(float(f"{j}e{k}"), 30)
        for nines in range(13, 19):
            xs += neighbours(float(f"{'9' * nines}e{k - nines}"), 10)
    for x in (1e-4, 1e15, 1e16, 2.0 ** 53, 2.0 ** 52, 2.0 ** 54, 9007199254740993.0):
        xs += neighbours(x, 3000)
    while len(xs) < N:  # near 1e-4 and 1e16, where repr switches notation
        xs.append(rng.uniform(0.99e-4, 1.01e-4))
        xs.append(rng.uniform(0.99e16, 1.01e16))
    return signed(rng, xs)


def dist_decimals(rng):
    # random 15-, 16- and 17-digit decimals read as doubles, at every
    # exponent of the fixed notation: what repr gives back is these or
    # shorter ones
    xs = []
    for _ in range(N):
        digits = rng.choice((15, 16, 16, 17, 17))
        d = rng.randrange(10 ** (digits - 1), 10 ** digits)
        xs.append(float(f"{d}e{rng.randint(-4 - digits, 17 - digits)}"))
    return signed(rng, xs)


def dist_halfway(rng):
    # decimals exactly halfway between two neighbouring doubles (read back
    # with round-half-even), and the doubles either side of them
    xs = []
    exact = decimal.Context(prec=200)  # doubles here have at most 120 digits
    for x in fixed_range_bits(rng, N // 3, -14, 53):
        up = math.nextafter(x, math.inf)
        mid = exact.divide(exact.add(Decimal(x), Decimal(up)), 2)
        assert Decimal(x) < mid < Decimal(up) and exact.multiply(mid, 2) == exact.add(Decimal(x), Decimal(up))
        xs += [float(str(mid)), x, up]
    return xs


def dist_special(rng):
    xs = [0.0, -0.0, math.inf, -math.inf, math.nan, -math.nan, 5e-324, -5e-324,
          sys.float_info.max, -sys.float_info.max, sys.float_info.min, -sys.float_info.min]
    while len(xs) < N // 2:  # subnormals, then tiny and huge normals
        xs.append(from_bits(rng.getrandbits(1) << 63 | rng.getrandbits(52)))
    while len(xs) < N:
        e = rng.choice((1, 2, 3, 2046, 2045, 2044))
        xs.append(from_bits(rng.getrandbits(1) << 63 | e << 52 | rng.getrandbits(52)))
    return xs


DISTRIBUTIONS = {
    "thirds": dist_thirds,
    "scaled": dist_scaled,
    "fixed_bits": dist_fixed_bits,
    "random_bits": dist_random_bits,
    "boundaries": dist_boundaries,
    "decimals": dist_decimals,
    "halfway": dist_halfway,
    "special": dist_special,
}


def check_previews(values, tmp_path, pyheapdiff_bin):
    """Dumps values in a fresh interpreter; returns (checked, mismatches)
    of the C reader's previews (sql on the snapshot)."""
    vals = array.array("d", values)
    src, snap_path = tmp_path / "values.bin", tmp_path / "floats.snap"
    with open(src, "wb") as f:
        vals.tofile(f)
    p = run_python(DUMP, (src, snap_path), timeout=600)
    assert p.returncode == 0, p.stderr
    rows = cli_json(pyheapdiff_bin, "sql", str(snap_path),
                    "SELECT e.label AS i, o.preview AS p, typeof(o.preview) AS t FROM objects l "
                    "JOIN edges e ON e.src = l.id JOIN objects o ON o.id = e.dst "
                    f"WHERE l.address = {int(p.stdout)} AND e.kind = 1 ORDER BY e.seq")
    checked, bad = 0, []
    for row in rows:
        checked += 1
        want = repr(vals[row["i"]])
        if row["p"] != want or row["t"] != "text":
            bad.append((vals[row["i"]].hex(), want, row["p"]))
    return checked, bad


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_float_previews_equal_repr(name, tmp_path, pyheapdiff_bin):
    rng = random.Random(f"float-repr-{name}")
    values = DISTRIBUTIONS[name](rng)
    checked, bad = check_previews(values, tmp_path, pyheapdiff_bin)
    assert checked == len(values)
    assert not bad, f"{len(bad)} of {checked} previews differ from repr() (x.hex(), repr, preview):\n" + \
        "\n".join(map(str, bad[:30]))
