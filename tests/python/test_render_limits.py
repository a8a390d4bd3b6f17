"""What reaches Graphviz's layout is bounded (issue 15, item 3).

``graph --refs`` drew one edge per reference, so a list holding one int
5,000 times was 5,000 parallel edges (19.8 s), and a million of them made
``dot_mincross`` overflow its stack.  Parallel references are now one edge
labelled with the first labels and the count, ``--too-many`` counts
distinct objects, and at most PHD_RENDER_MAX_NODES objects and
PHD_RENDER_MAX_EDGES references are laid out, with a note on stderr.
"""
import re
import time

import pytest

from conftest import cli, run_python

MAX_NODES, MAX_EDGES = 400, 600

SCRIPT = r"""
import gc, random, sys
import pyheapdiff
kind, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "same":          # one int, n times
    x = 12345678901
    held = [x] * n
else:                       # n lists, each holding 20 of the others
    random.seed(1)
    held = [[] for _ in range(n)]
    for l in held:
        l.extend(random.choice(held) for _ in range(20))
gc.collect()
pyheapdiff.dump(path, collect=False)
print(hex(id(held)))
"""


def dump(tmp_path, kind, n):
    path = tmp_path / f"{kind}-{n}.snap"
    p = run_python(SCRIPT, [kind, path, n], timeout=300)
    assert p.returncode == 0, p.stderr
    return path, p.stdout.strip()


def dot_edges(text):
    return [line for line in text.splitlines() if " -> " in line]


def timed(exe, *args):
    t = time.monotonic()
    p = cli(exe, *args, timeout=60)
    return p, time.monotonic() - t


@pytest.mark.parametrize("n", [5000, 1_000_000])
def test_parallel_references_are_one_edge(pyheapdiff_bin, tmp_path, n):
    snap, lst = dump(tmp_path, "same", n)
    p = cli(pyheapdiff_bin, "graph", "--refs", "--id", lst, snap, "-o", "-", timeout=60)
    assert p.returncode == 0, p.stderr
    edges = dot_edges(p.stdout)
    assert len(edges) == 1, edges[:5]
    assert f"[0], [1], … ×{n}" in p.stdout
    # laid out and rendered, in well under the 19.8 s that 5,000 edges took
    svg = tmp_path / "g.svg"
    p, secs = timed(pyheapdiff_bin, "graph", "--refs", "--id", lst, snap, "-o", svg)
    assert p.returncode == 0, p.stderr
    assert f"×{n}" in svg.read_text()
    assert secs < 10, secs


def test_too_many_counts_distinct_objects(pyheapdiff_bin, tmp_path):
    snap, lst = dump(tmp_path, "graph", 50)
    p = cli(pyheapdiff_bin, "graph", "--refs", "--id", lst, "--max-depth", "1", "--too-many", "7", snap, "-o", "-")
    assert p.returncode == 0, p.stderr
    drawn = set(re.findall(r"^\s*(n\d+) -> (n\d+)", p.stdout, re.M))
    assert len(drawn) == 7, drawn
    assert "43 more references" in p.stdout


@pytest.mark.parametrize("refs", [True, False])
def test_the_layout_is_capped(pyheapdiff_bin, tmp_path, refs):
    snap, lst = dump(tmp_path, "graph", 5000)
    args = ["graph", "--id", lst, "--too-many", "1000000", "--max-depth", "6", "--no-roots-stop", snap]
    if refs:
        args.insert(1, "--refs")
    p = cli(pyheapdiff_bin, *args, "-o", "-", timeout=60)
    assert p.returncode == 0, p.stderr
    nodes = set(re.findall(r"^\s*(\w+)\s+\[", p.stdout, re.M)) - {"graph", "node", "edge"}
    assert len(nodes) <= MAX_NODES and len(dot_edges(p.stdout)) <= MAX_EDGES
    if refs:
        assert len(nodes) == MAX_NODES or len(dot_edges(p.stdout)) == MAX_EDGES
        assert "the layout's limit" in p.stderr, p.stderr
    svg = tmp_path / "capped.svg"
    p, secs = timed(pyheapdiff_bin, *args, "-o", svg)
    assert p.returncode == 0, p.stderr
    assert svg.stat().st_size > 0
    assert secs < 30, secs
