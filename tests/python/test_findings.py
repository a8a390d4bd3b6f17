"""What the evidence says leaked: the ranking `leaks`, `report` and
`paths A B` share (src/analysis/findings.c), end to end with the real
agent.

The main program leaks one small instance per request whose dicts, strs,
tuple and closure are what grows most in the diff, next to an unrelated
cache of weakrefs that grows more than the leaking class in size: the
leaking class must still come first in `leaks` and in the report, with
its holder in its path, and the report's graph must be drawn for it.  A
leak of plain dicts ranks dict first.  Snapshots of two processes fall
back to growth, user types first.
"""

import json
import subprocess
import sys
import textwrap

import pytest

from conftest import subprocess_env
from test_report import make_report, parse, why_articles

SESSIONS = """
import gc, sys, weakref
import pyheapdiff
DIR, N = sys.argv[1], int(sys.argv[2])

class Session:
    def __init__(self, n):
        self.headers = {f"h{n}-{i}": f"value-{n}-{i}" * 3 for i in range(8)}
        self.tags = tuple(f"tag{n}-{i}" for i in range(4))
        token = f"tok{n}"
        self.on_close = lambda: token          # a closure: function, cell, tuple

class Target:
    pass

_sessions = []                                 # the leak
_refs = []                                     # an unrelated, larger cache of weakrefs
_targets = [Target() for _ in range(50)]

def _gone(ref):
    pass

def request(n):
    _sessions.append(Session(n))
    for t in _targets[:10]:
        _refs.append(weakref.ref(t, _gone))
    tmp = {i: str(i) * 5 for i in range(20)}   # temporaries that do not leak
    return len(tmp)

for n in range(20):
    request(n)
gc.collect()
pyheapdiff.dump(DIR + "/a.snap")
for n in range(20, 20 + N):
    request(n)
gc.collect()
pyheapdiff.dump(DIR + "/b.snap")
for n in range(20 + N, 20 + 2 * N):
    request(n)
gc.collect()
pyheapdiff.dump(DIR + "/c.snap")
"""

DICTS = """
import gc, sys
import pyheapdiff
DIR, N = sys.argv[1], int(sys.argv[2])

_log = []

def request(n):
    _log.append({"id": n, "path": f"/item/{n}", "body": "x" * 200 + str(n)})

for n in range(10):
    request(n)
gc.collect()
pyheapdiff.dump(DIR + "/a.snap")
for n in range(10, 10 + N):
    request(n)
gc.collect()
pyheapdiff.dump(DIR + "/b.snap")
"""


def run_program(code, directory, n):
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "prog.py"
    script.write_text(textwrap.dedent(code))
    p = subprocess.run([sys.executable, "-S", str(script), str(directory), str(n)], env=subprocess_env(),
                       cwd=str(directory), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return directory / "a.snap", directory / "b.snap", directory / "c.snap"


def cli(exe, *args):
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=120)


def cli_json(exe, *args):
    p = cli(exe, *args, "--json")
    assert p.returncode == 0 and p.stderr == "", (args, p.stderr)
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    return run_program(SESSIONS, tmp_path_factory.mktemp("sessions"), 200)


@pytest.fixture(scope="module")
def dicts(tmp_path_factory):
    return run_program(DICTS, tmp_path_factory.mktemp("dicts"), 300)


HOLDER = "module __main__ ['_sessions'] → list [*] → __main__.Session"


def test_the_premise_the_leak_is_not_the_largest_growth(pyheapdiff_bin, sessions):
    a, b, _ = sessions
    rows = cli_json(pyheapdiff_bin, "diff", "--top", "0", a, b)["rows"]
    order = [r["type"] for r in rows]
    growth = {r["type"]: r["size_delta"] for r in rows}
    assert order.index("__main__.Session") >= 4, order[:8]
    assert growth["weakref.ReferenceType"] > growth["__main__.Session"], growth
    for t in ("str", "dict", "tuple", "function"):
        assert growth[t] > growth["__main__.Session"], (t, growth)


@pytest.mark.parametrize("three", [False, True])
def test_leaks_ranks_the_leaking_class_first(pyheapdiff_bin, sessions, three):
    a, b, c = sessions
    doc = cli_json(pyheapdiff_bin, "leaks", "--top", "0", a, b, *([c] if three else []))
    assert doc["matched"] is True
    first = doc["types"][0]
    assert first["type"] == "__main__.Session" and first["origin"] == "user"
    assert first["count"] == 200
    assert first["paths"] == [{"count": 200, "path": HOLDER}]
    rows = {t["type"]: t for t in doc["types"]}
    # what each session holds counts for Session: its retained size covers its strs and dicts
    assert first["retained"] >= rows["str"]["retained"] and first["retained"] > 5 * first["size"]
    for t in ("tuple", "function", "cell"):
        assert rows[t].get("inside") == "__main__.Session", rows[t]
    # (a stray new str or dict outside the sessions would keep its type out of the contents,
    # but it would rank by what lies outside the sessions: a few bytes)
    for t in ("str", "dict"):
        assert (rows[t].get("inside") == "__main__.Session" or
                rows[t]["own_retained"] < rows[t]["retained"] / 100), rows[t]
        assert doc["types"].index(rows[t]) > doc["types"].index(rows["weakref.ReferenceType"])
    # contents come after every type that leaks by itself, the weakrefs among those
    own = [t["type"] for t in doc["types"] if "inside" not in t]
    assert doc["types"][:len(own)] == [rows[t] for t in own]
    assert "weakref.ReferenceType" in own and own.index("weakref.ReferenceType") > 0
    assert rows["weakref.ReferenceType"]["paths"][0]["path"] == (
        "module __main__ ['_refs'] → list [*] → weakref.ReferenceType")
    # the text form: the leaking class and its holder first
    out = cli(pyheapdiff_bin, "leaks", a, b, *([c] if three else [])).stdout
    blocks = out.split("\n\n")
    assert blocks[1].startswith("__main__.Session: 200, ") and HOLDER in blocks[1], out
    assert "cell: 200, " in out and "all inside new __main__.Session" in out


def test_report_leads_with_the_leaking_class(pyheapdiff_bin, sessions, tmp_path):
    a, b, _ = sessions
    html = make_report(pyheapdiff_bin, a, b, tmp_path / "r.html")
    doc = parse(html)
    why = why_articles(doc)
    leaks = cli_json(pyheapdiff_bin, "leaks", "--top", "5", a, b)
    assert list(why) == [t["type"] for t in leaks["types"]]
    assert list(why)[0] == "__main__.Session"
    assert why["__main__.Session"] == [(200, HOLDER)]
    graph = doc.find("section", id="graph")
    assert graph.find("h2").text() == "Leak graph: __main__.Session"
    labels = " ".join(t.text() for t in graph.find("svg").find_all("text"))
    assert "Session" in labels and "_sessions" in labels, labels
    cards = {c.find("div", cls="k").text(): c.find("div", cls="v") for c in doc.find_all("div", cls="card")}
    assert cards["Leading leak"].attrs["title"] == "__main__.Session"
    assert cards["Largest growth"].attrs["title"] != "__main__.Session"


def test_report_html_is_valid(pyheapdiff_bin, sessions, tmp_path):
    html5lib = pytest.importorskip("html5lib")
    a, b, _ = sessions
    html = make_report(pyheapdiff_bin, a, b, tmp_path / "r.html")
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    parser.parse(html)


def test_a_leak_of_plain_dicts_is_a_dict_leak(pyheapdiff_bin, dicts, tmp_path):
    a, b, _ = dicts
    doc = cli_json(pyheapdiff_bin, "leaks", a, b)
    first = doc["types"][0]
    # (a dict of the process at an address a dict of A had is not new: address reuse)
    assert first["type"] == "dict" and 295 <= first["count"] <= 302 and "inside" not in first
    assert first["paths"][0]["path"] == "module __main__ ['_log'] → list [*] → dict"
    assert first["paths"][0]["count"] >= 295
    page = parse(make_report(pyheapdiff_bin, a, b, tmp_path / "r.html"))
    assert list(why_articles(page))[0] == "dict"
    assert page.find("section", id="graph").find("h2").text() == "Leak graph: dict"


def test_two_processes_fall_back_to_growth(pyheapdiff_bin, sessions, tmp_path):
    a1, _, _ = sessions
    _, _, c2 = run_program(SESSIONS, tmp_path / "run2", 300)
    doc = cli_json(pyheapdiff_bin, "leaks", a1, c2)
    assert doc["matched"] is False and doc["technique"] == "growth"
    assert "new_in_after" not in doc
    first = doc["types"][0]
    assert first["type"] == "__main__.Session" and first["count_delta"] == 600
    origins = [t["origin"] for t in doc["types"]]
    users = [o in ("user", "third-party", "unknown") for o in origins]
    assert users == sorted(users, reverse=True), origins
    out = cli(pyheapdiff_bin, "leaks", a1, c2).stdout
    assert "not one process" in out.splitlines()[1]
    page = parse(make_report(pyheapdiff_bin, a1, c2, tmp_path / "r.html"))
    why = page.find("section", id="why")
    assert "different processes" in why.text()
    assert list(why_articles(page))[0] == "__main__.Session"
    assert page.find("section", id="graph").find("h2").text() == "Leak graph: __main__.Session"
    # three snapshots need one process
    p = cli(pyheapdiff_bin, "leaks", a1, c2, c2)
    assert p.returncode == 2 and "not from the process of" in p.stderr


def test_leaks_type_and_only(pyheapdiff_bin, sessions):
    a, b, _ = sessions
    full = cli_json(pyheapdiff_bin, "leaks", "--top", "0", a, b)
    rows = {t["type"]: t for t in full["types"]}
    doc = cli_json(pyheapdiff_bin, "leaks", "--type", "Session", a, b)
    assert [t["type"] for t in doc["types"]] == ["__main__.Session"]
    assert doc["types"][0] == rows["__main__.Session"]
    assert doc["objects"] == 200 and doc["retained"] == rows["__main__.Session"]["retained"]
    two = cli_json(pyheapdiff_bin, "leaks", "--type", "Session", "--type", "weakref.ReferenceType", a, b)
    assert [t["type"] for t in two["types"]] == ["__main__.Session", "weakref.ReferenceType"]
    user = cli_json(pyheapdiff_bin, "leaks", "--top", "0", "--only", "user", a, b)
    assert {t["origin"] for t in user["types"]} == {"user"}
    assert user["types"][0]["type"] == "__main__.Session"
    builtin = cli_json(pyheapdiff_bin, "leaks", "--top", "0", "--only", "builtin", a, b)
    assert {t["origin"] for t in builtin["types"]} == {"builtin"}
    # the contents still name their container, which is not shown
    brows = {t["type"]: t for t in builtin["types"]}
    assert brows["cell"]["inside"] == "__main__.Session" and brows["cell"] == rows["cell"]
    assert [t["type"] for t in builtin["types"]] == [t["type"] for t in full["types"] if t["origin"] == "builtin"]
    both = cli_json(pyheapdiff_bin, "leaks", "--top", "0", "--only", "user", "--only", "builtin", a, b)
    assert {t["origin"] for t in both["types"]} == {"user", "builtin"}
    p = cli(pyheapdiff_bin, "leaks", "--only", "mine", a, b)
    assert p.returncode == 2 and "--only takes user, third-party, stdlib or builtin" in p.stderr
    text = cli(pyheapdiff_bin, "leaks", "--type", "Session", a, b).stdout
    assert text.startswith(f"new in {b}: 200 objects") and "weakref" not in text


def test_paths_of_new_objects(pyheapdiff_bin, sessions, dicts):
    a, b, c = sessions
    all_b = cli_json(pyheapdiff_bin, "paths", "--type", "Session", b)
    assert all_b["objects"] == 220 and "new_since" not in all_b
    new = cli_json(pyheapdiff_bin, "paths", "--type", "Session", a, b)
    assert new["objects"] == 200 and new["new_since"] == str(a)
    assert [(g["count"], g["path"]) for g in new["groups"]] == [(200, HOLDER)]
    # the example is one of the new ones: not at an address of A
    a_addrs = {g["example"] for g in cli_json(pyheapdiff_bin, "paths", "--type", "Session", "--limit", "0",
                                              a)["groups"]}
    assert new["groups"][0]["example"] not in a_addrs
    # without --type: every new object, the same set as leaks counts (plus garbage)
    every = cli_json(pyheapdiff_bin, "paths", "--limit", "0", a, b)
    leaks = cli_json(pyheapdiff_bin, "leaks", a, b)
    assert every["objects"] - every["unreachable"] == leaks["new_in_after"] - leaks["unreachable"]
    assert any(g["path"] == HOLDER for g in every["groups"])
    text = cli(pyheapdiff_bin, "paths", "--type", "Session", a, b).stdout
    assert text.startswith(f"200 new objects of type Session since {a}: 1 path group\n"), text
    # two processes: an error saying what to do
    da, _, _ = dicts
    p = cli(pyheapdiff_bin, "paths", "--type", "Session", da, b)
    assert p.returncode == 2 and "not from the process of" in p.stderr and "give one snapshot" in p.stderr
    p = cli(pyheapdiff_bin, "paths", a, b, c)
    assert p.returncode == 2 and "expected one snapshot, or two" in p.stderr
