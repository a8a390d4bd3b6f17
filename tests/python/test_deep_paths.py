"""Deep retention paths (issue 15, item 1): a linked list of 100,000
``__slots__`` nodes held by a module global, and the same list closed
into a cycle, dumped by the real agent.

Grouping used to spell every path in full, so ``paths``, ``leaks`` and
``report`` were quadratic in the path length: 8.6 s and 594 MB for 5,000
nodes, hours for 100,000.  Now they are linear; each command gets a
generous 60 s (it takes well under a second here), and long paths are
printed with their middle elided (``→ … N more hops … →``) in text, JSON
and the HTML report.
"""
import json
import time

import pytest

from conftest import cli, run_python

N = 100_000

SCRIPT = r"""
import gc, sys
import pyheapdiff

class Node:
    __slots__ = ("next",)
    def __init__(self, next):
        self.next = next

a, b, n, cycle = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "cycle"
gc.collect()
pyheapdiff.dump(a, collect=False, values=True)
head = None
for _ in range(n):
    head = Node(head)
last = head
while last.next is not None:
    last = last.next
if cycle:
    last.next = head
deepest = hex(id(last))
del last
gc.collect()
pyheapdiff.dump(b, collect=False, values=True)
print(deepest)
"""


@pytest.fixture(scope="module", params=["chain", "cycle"])
def deep(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(request.param)
    a, b = d / "a.snap", d / "b.snap"
    p = run_python(SCRIPT, [a, b, N, request.param], timeout=300)
    assert p.returncode == 0, p.stderr
    return a, b, p.stdout.strip(), d


def timed(exe, *args):
    t = time.monotonic()
    p = cli(exe, *args, timeout=60)
    return p, time.monotonic() - t


def test_paths_groups_a_deep_list_in_linear_time(pyheapdiff_bin, deep):
    _a, b, _deepest, _d = deep
    p, secs = timed(pyheapdiff_bin, "paths", "--type", "Node", "--json", b)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["objects"] == N
    # every node is at its own depth: one group each (in the cycle the
    # head and the node before it are both one hop below the global)
    assert len(doc["groups"]) + doc["omitted_groups"] in (N, N - 1)
    first = doc["groups"][0]["path"]
    assert first.startswith("module __main__ ['head'] → ") and first.endswith("__main__.Node"), first
    for g in doc["groups"]:
        assert len(g["path"]) < 1000 and len(g["example_path"]) < 1000
    assert secs < 30, secs


def test_the_deepest_path_is_elided(pyheapdiff_bin, deep):
    _a, b, deepest, _d = deep
    p = cli(pyheapdiff_bin, "paths", "--id", deepest, "--json", b, timeout=60)
    assert p.returncode == 0, p.stderr
    (g,) = json.loads(p.stdout)["groups"]
    # module -> __dict__ -> ['head'] are two hops (the __dict__ shown folded), then N - 1 .next
    hops = N + 1
    for text in (g["path"], g["example_path"]):
        assert text.startswith("module __main__ ['head'] → __main__.Node .next → __main__.Node"), text
        assert f" → … {hops - 10:,} more hops … → __main__.Node .next → " in text, text
        assert text.endswith(".next → __main__.Node"), text
        assert text.count(" → ") < 30
    text = cli(pyheapdiff_bin, "paths", "--id", deepest, b).stdout
    assert f"… {hops - 10:,} more hops …" in text


def test_leaks_on_a_deep_list(pyheapdiff_bin, deep):
    a, b, _deepest, _d = deep
    p, secs = timed(pyheapdiff_bin, "leaks", a, b)
    assert p.returncode == 0, p.stderr
    assert f"__main__.Node: {N:,}" in p.stdout, p.stdout
    assert "module __main__ ['head'] → __main__.Node" in p.stdout
    assert max(len(line) for line in p.stdout.splitlines()) < 1000
    p = cli(pyheapdiff_bin, "leaks", "--json", a, b, timeout=60)
    doc = json.loads(p.stdout)
    (node,) = [t for t in doc["types"] if t["type"] == "__main__.Node"]
    assert node["count"] == N and len(node["paths"]) == 3
    assert secs < 30, secs


def test_report_on_a_deep_list(pyheapdiff_bin, deep):
    a, b, _deepest, d = deep
    out = d / "report.html"
    p, secs = timed(pyheapdiff_bin, "report", a, b, "-o", out)
    assert p.returncode == 0, p.stderr
    page = out.read_text()
    assert "__main__.Node" in page
    assert len(page) < 400_000
    assert secs < 30, secs
