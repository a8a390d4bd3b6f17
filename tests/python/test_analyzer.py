"""Tests of the analysis commands: ``load``, ``diff`` (also ``pyheapdiff A B``),
``top`` and ``sql``.

Ground truth is independent of the C code: it is computed inside the
dumping subprocess with gc.get_objects(), sys.getsizeof() and id() (user
classes are always GC-tracked, so gc.get_objects() sees every instance), or
read back from the snapshot with the pure-Python reader (snapreader.py),
or, for the database, read with Python's sqlite3 module.

The main fixture (``world``) is one process that builds instances of a few
classes, dumps A, frees some, allocates others, dumps B and records, for
each dump, the count, total size and ids of the instances of every class.

Tests that fail on purpose, each showing a bug in the C code (see its
docstring): test_failed_load_of_several_into_existing_db_changes_nothing,
test_sql_two_statements_separated_by_an_empty_one,
test_sql_one_statement_with_a_trailing_comment,
test_top_with_a_top_value_beyond_32_bits,
test_top_merges_types_of_one_name_like_the_database.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import snapreader
from conftest import REPO, assert_usage_error, cli, cli_json, cli_ok, cli_tty, dump_in_subprocess, subprocess_env

FIXTURES = REPO / "fixtures"
APPLICATION_ID = 0x50484453  # "PHDS"
SCHEMA_VERSION = 2
MAX_COLUMNS = 100


# ---------------------------------------------------------------------------
# helpers

_snaps = {}


def snapshot(path):
    """snapreader.read, cached per path for the whole module."""
    key = str(path)
    if key not in _snaps:
        _snaps[key] = snapreader.read(path)
    return _snaps[key]


def census_by_name(snap):
    """type name -> [count, size] from the independent reader (merged by
    name, as diff rows and the database's type_stats are)."""
    out = {}
    for n in snap.nodes:
        r = out.setdefault(snap.types[n.type_id].name, [0, 0])
        r[0] += 1
        r[1] += n.size
    return out


def rows_by_type(doc):
    rows = {r["type"]: r for r in doc["rows"]}
    assert len(rows) == len(doc["rows"]), "a type appears twice among the rows"
    return rows


def width(line):
    return len(line)  # code points: the CLI's names and numbers are one column each


# ---------------------------------------------------------------------------
# the fixture programs

# Runs after conftest's PRELUDE (sys, gc, os, pyheapdiff, T, SNAP).
WORLD = r"""
import json

DIR = os.path.dirname(SNAP)
A = os.path.join(DIR, "a.snap")
B = os.path.join(DIR, "b.snap")
REG = {}

def user(cls):
    REG[cls] = "__main__." + cls.__qualname__
    return T.measured(cls)

def census():
    # what the snapshot must say about the user classes: count, total
    # size (sys.getsizeof and the values array that tracemalloc saw each
    # instance allocate) and the ids of the instances
    gc.collect()  # dump(collect=True) collects too; nothing is left to collect after this
    objs = gc.get_objects()
    out = {}
    for o in objs:
        name = REG.get(type(o))
        if name is not None:
            row = out.setdefault(name, [0, 0, []])
            row[0] += 1
            row[1] += T.size_of(o)
            row[2].append(id(o))
    del objs
    return out

@user
class Small:
    def __init__(self, i):
        self.i = i
        self.tag = "small"

@user
class Slotted:
    __slots__ = ("a", "b", "c")
    def __init__(self, i):
        self.a = i
        self.b = self.c = None

@user
class Bag(list):          # variable size: sys.getsizeof depends on the list
    pass

@user
class Gone:               # all instances freed between A and B
    pass

@user
class Item:               # the matching experiment
    __slots__ = ("n",)
    def __init__(self, n):
        self.n = n

@user
class Payload:
    def __init__(self, v):
        self.v = v

@user
class Holder:             # labelled edges, checked in the database
    def __init__(self):
        self.payload = Payload(1)
        self.mapping = {"alpha": Payload(2), "beta": 2}
        self.seq = [1, 2, Payload(3)]

@user
class Outer:
    @user
    class Inner:          # a nested class: "__main__.Outer.Inner"
        pass

def settle(*makers):
    # a class's first few dozen instances get larger values arrays, which
    # the agent knows only within a few slots on 3.11 and 3.12
    # (docs/agent.md, "Sizes"; test_sizes_owned.py): the instances checked
    # here come after them
    for make in makers:
        for _ in range(40):
            make()

settle(lambda: Small(0), Bag, Gone, lambda: Payload(0), Holder, Outer.Inner)

N, K, M = 400, 150, 220

small = [Small(i) for i in range(700)]
slotted = [Slotted(i) for i in range(300)]
bags = [Bag(range(i % 17)) for i in range(40)]
gone = [Gone() for _ in range(50)]
items = [Item(i) for i in range(N)]
inner = [Outer.Inner() for _ in range(30)]
holder = Holder()
marks = {
    "holder": id(holder), "payload": id(holder.payload), "mapping": id(holder.mapping),
    "alpha": id(holder.mapping["alpha"]), "seq": id(holder.seq), "seq2": id(holder.seq[2]),
    "Holder": id(Holder),
}

truth_a = census()
pyheapdiff.dump(A, collect=True, values=True)

small += [Small(i) for i in range(300)]
del slotted[:50]
bags += [Bag(range(i % 23)) for i in range(50)]
bags[0].extend(range(100))       # a survivor that grew
gone.clear()
inner += [Outer.Inner() for _ in range(7)]

# free K of the N items (scattered), then allocate M new ones: the new
# ones may land on the freed addresses
to_free = [items[i] for i in range(0, 2 * K, 2)]
freed_ids = [id(x) for x in to_free]
keep_ids = set(id(x) for x in items) - set(freed_ids)
items = [x for x in items if id(x) in keep_ids]
del to_free
new_items = [Item(-i) for i in range(M)]
new_ids = [id(x) for x in new_items]
reused = len(set(freed_ids) & set(new_ids))
items += new_items
del new_items

@user
class Fresh:               # a class that did not exist at A
    pass
settle(Fresh)
fresh = [Fresh() for _ in range(120)]

LongName = user(type("Long" + "N" * 140, (), {"__module__": "__main__"}))
settle(LongName)
longs = [LongName() for _ in range(3)]

truth_b = census()
pyheapdiff.dump(B, collect=True, values=True)

with open(T.TRUTH, "w") as f:
    json.dump({"a": truth_a, "b": truth_b, "pid": os.getpid(), "marks": marks,
               "N": N, "K": K, "M": M, "reused": reused}, f)
"""

OTHER = r"""
class Small:
    pass
small = [Small() for _ in range(10)]
pyheapdiff.dump(SNAP)
"""

DUP = r"""
import json
def make():
    class Twin:
        pass
    return Twin
first, second = make(), make()
keep1 = [first() for _ in range(30)]
keep2 = [second() for _ in range(20)]
pyheapdiff.dump(SNAP.replace(".snap", "-a.snap"))
ids_a = {id(o) for o in keep1 + keep2}
del keep1[:10]
third = make()
keep3 = [third() for _ in range(15)]
keep2 += [second() for _ in range(5)]
ids_b = {id(o) for o in keep1 + keep2 + keep3}
pyheapdiff.dump(SNAP)
with open(T.TRUTH, "w") as f:
    json.dump({"survived": len(ids_a & ids_b), "new": len(ids_b - ids_a), "freed": len(ids_a - ids_b)}, f)
"""


class World:
    def __init__(self, run, d):
        self.dir = Path(d)
        self.a = self.dir / "a.snap"
        self.b = self.dir / "b.snap"
        with open(run.truth_path) as f:
            self.truth = json.load(f)

    @property
    def snap_a(self):
        return snapshot(self.a)

    @property
    def snap_b(self):
        return snapshot(self.b)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("world")
    run = dump_in_subprocess(WORLD, d, "world")
    return World(run, d)


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    """A snapshot of another process."""
    d = tmp_path_factory.mktemp("other")
    return dump_in_subprocess(OTHER, d, "other").path


@pytest.fixture(scope="module")
def world_db(world, pyheapdiff_bin, tmp_path_factory):
    """world A and B loaded into one database (ids 1 and 2); do not modify."""
    db = tmp_path_factory.mktemp("db") / "world.db"
    doc = cli_json(pyheapdiff_bin, "load", world.a, world.b, "-o", db)
    assert [s["id"] for s in doc["snapshots"]] == [1, 2]
    return db


@pytest.fixture(scope="module")
def bad_snap(world, tmp_path_factory):
    """A copy of world B with one byte in the middle flipped."""
    p = tmp_path_factory.mktemp("bad") / "corrupt.snap"
    data = bytearray(world.b.read_bytes())
    data[len(data) // 2] ^= 0x5A
    p.write_bytes(bytes(data))
    return p


@pytest.fixture(scope="module")
def diff_ab(world, pyheapdiff_bin):
    return cli_json(pyheapdiff_bin, "diff", "--top", "0", world.a, world.b)


def db_connect(path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


# ---------------------------------------------------------------------------
# 1. diff and top against the ground truth

def test_diff_counts_and_sizes_of_user_classes(world, diff_ab):
    ta, tb = world.truth["a"], world.truth["b"]
    rows = rows_by_type(diff_ab)
    names = set(ta) | set(tb)
    assert "__main__.Outer.Inner" in names and "__main__.Fresh" in names and "__main__.Gone" in names
    for name in sorted(names):
        ca, sa = ta.get(name, [0, 0])[:2]
        cb, sb = tb.get(name, [0, 0])[:2]
        if (ca, sa) == (cb, sb):
            # unchanged: not a row unless objects were replaced (new/freed)
            if name in rows:
                assert rows[name]["new"] or rows[name]["freed"], rows[name]
            else:
                continue
        assert name in rows, f"{name} changed ({ca},{sa}) -> ({cb},{sb}) but has no row"
        r = rows[name]
        assert (r["count_before"], r["count_after"]) == (ca, cb), name
        assert (r["size_before"], r["size_after"]) == (sa, sb), name
        assert r["count_delta"] == cb - ca, name
        assert r["size_delta"] == sb - sa, name
    # the fixture's changes are all visible
    assert rows["__main__.Small"]["count_delta"] == 300
    assert rows["__main__.Slotted"]["count_delta"] == -50
    assert rows["__main__.Gone"]["count_after"] == 0
    assert rows["__main__.Fresh"]["count_before"] == 0
    assert rows["__main__.Bag"]["size_delta"] > 0


def test_diff_with_all_rows_matches_the_reader(world, pyheapdiff_bin):
    """Every type of either snapshot, as the independent reader counts it."""
    doc = cli_json(pyheapdiff_bin, "diff", "--all", "--top", "0", world.a, world.b)
    ca, cb = census_by_name(world.snap_a), census_by_name(world.snap_b)
    rows = rows_by_type(doc)
    assert set(rows) == set(ca) | set(cb)
    for name, r in rows.items():
        a, b = ca.get(name, [0, 0]), cb.get(name, [0, 0])
        assert (r["count_before"], r["size_before"], r["count_after"], r["size_after"]) == (*a, *b), name
        assert r["count_delta"] == b[0] - a[0] and r["size_delta"] == b[1] - a[1], name


def test_diff_totals_are_the_snapshots(world, diff_ab):
    sa, sb = world.snap_a, world.snap_b
    tot = diff_ab["total"]
    assert tot["type"] == "total"
    assert (tot["count_before"], tot["count_after"]) == (len(sa.nodes), len(sb.nodes))
    assert (tot["size_before"], tot["size_after"]) == (sa.total_size, sb.total_size)
    assert tot["count_delta"] == len(sb.nodes) - len(sa.nodes)
    assert tot["size_delta"] == sb.total_size - sa.total_size
    for side, snap, path in (("before", sa, world.a), ("after", sb, world.b)):
        s = diff_ab[side]
        assert s["snapshot"] == str(path)
        assert s["objects"] == len(snap.nodes)
        assert s["total_size"] == snap.total_size
        assert s["pid"] == snap.pid == world.truth["pid"]


def top_expected(snap, by):
    """(name, count, size) sorted as top documents it: by the key, then the
    other, descending, then by name."""
    rows = [(n, c, s) for n, (c, s) in census_by_name(snap).items()]
    if by == "count":
        rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
    else:
        rows.sort(key=lambda r: (-r[2], -r[1], r[0]))
    return rows


@pytest.mark.parametrize("by", ["count", "size"])
@pytest.mark.parametrize("which", ["a", "b"])
def test_top_against_truth_and_reader(world, pyheapdiff_bin, by, which):
    path = world.a if which == "a" else world.b
    snap = snapshot(path)
    truth = world.truth[which]
    doc = cli_json(pyheapdiff_bin, "top", "--by", by, "--top", "0", path)
    assert doc["by"] == by
    assert doc["snapshot"] == str(path)
    assert doc["objects"] == len(snap.nodes)
    assert doc["total_size"] == snap.total_size
    assert doc["omitted"] == 0
    rows = rows_by_type(doc)
    for name, (count, size, _ids) in truth.items():
        assert (rows[name]["count"], rows[name]["size"]) == (count, size), name
        assert rows[name]["average_size"] == size // count
    got = [(r["type"], r["count"], r["size"]) for r in doc["rows"]]
    assert got == top_expected(snap, by)
    # the user classes keep the truth's relative order
    key = (lambda n: (-truth[n][0], -truth[n][1], n)) if by == "count" else \
        (lambda n: (-truth[n][1], -truth[n][0], n))
    user_order = [r["type"] for r in doc["rows"] if r["type"] in truth]
    assert user_order == sorted(truth, key=key)


def test_top_with_a_top_value_beyond_32_bits(world, pyheapdiff_bin):
    """--top N with N larger than the number of types shows every type,
    however large N is ('diff --top' does; 'top' truncates N to 32 bits,
    so 2**32 shows no row and 2**32 + 1 one row)."""
    ntypes = len(census_by_name(world.snap_b))
    assert len(cli_json(pyheapdiff_bin, "diff", "--top", str(2**32 + 1), "--all", world.a, world.b)["rows"]) >= ntypes
    for n in (ntypes + 1, 2**31, 2**32, 2**32 + 1):
        doc = cli_json(pyheapdiff_bin, "top", "--top", str(n), world.b)
        assert (len(doc["rows"]), doc["omitted"]) == (ntypes, 0), n


def test_top_limits_and_text(world, pyheapdiff_bin):
    snap = world.snap_b
    ntypes = len(census_by_name(snap))
    doc = cli_json(pyheapdiff_bin, "top", "--top", "5", world.b)
    assert len(doc["rows"]) == 5 and doc["omitted"] == ntypes - 5
    assert [(r["type"], r["count"], r["size"]) for r in doc["rows"]] == top_expected(snap, "count")[:5]
    assert len(cli_json(pyheapdiff_bin, "top", world.b)["rows"]) == min(20, ntypes)  # the default

    p = cli_ok(pyheapdiff_bin, "top", "--top", "0", world.b.name, cwd=world.dir)
    lines = p.stdout.splitlines()
    assert lines[0].startswith(f"{world.b.name}: ")
    assert lines[0].startswith(f"{world.b.name}: {len(snap.nodes):,} objects")
    # not a terminal: full names; a terminal: its width
    assert any(line.startswith("__main__.LongNNN") and "..." not in line for line in lines)
    status, out, _ = cli_tty(pyheapdiff_bin, "top", "--top", "0", world.b.name, cwd=world.dir, cols=MAX_COLUMNS)
    assert status == 0
    tty_lines = out.splitlines()
    assert all(width(line) <= MAX_COLUMNS for line in tty_lines), max(tty_lines, key=width)
    assert any(line.startswith("__main__.LongNNN") and "..." in line for line in tty_lines)
    # the Small row of the text table
    small = [line for line in lines if line.startswith("__main__.Small ")]
    assert len(small) == 1
    assert f"{world.truth['b']['__main__.Small'][0]:,}" in small[0].split()


# ---------------------------------------------------------------------------
# 2. matching objects by address: new / freed / survived

def test_matched_new_freed_survived_of_item(world, diff_ab):
    t = world.truth
    N, K, M, reused = t["N"], t["K"], t["M"], t["reused"]
    assert diff_ab["matched"] is True
    r = rows_by_type(diff_ab)["__main__.Item"]
    assert r["count_before"] == N and r["count_after"] == N - K + M
    assert r["survived"] == N - K + reused
    assert r["new"] == M - reused
    assert r["freed"] == K - reused


def test_matched_counts_of_every_user_class(world, diff_ab):
    """survived/new/freed by the ids the process saw at each dump."""
    rows = rows_by_type(diff_ab)
    ta, tb = world.truth["a"], world.truth["b"]
    for name in set(ta) | set(tb):
        ida = set(ta.get(name, [0, 0, []])[2])
        idb = set(tb.get(name, [0, 0, []])[2])
        expect = {"survived": len(ida & idb), "new": len(idb - ida), "freed": len(ida - idb)}
        if name not in rows:
            assert expect["new"] == expect["freed"] == 0 and ida == idb, name
            continue
        got = {k: rows[name][k] for k in expect}
        assert got == expect, name


def test_matched_totals_add_up(world, diff_ab):
    tot = diff_ab["total"]
    assert tot["survived"] + tot["freed"] == tot["count_before"]
    assert tot["survived"] + tot["new"] == tot["count_after"]
    rows = diff_ab["rows"]
    for r in rows:
        assert r["survived"] + r["freed"] == r["count_before"], r
        assert r["survived"] + r["new"] == r["count_after"], r
    # with --top 0 only unchanged types are left out, so the columns sum up
    assert sum(r["new"] for r in rows) == tot["new"]
    assert sum(r["freed"] for r in rows) == tot["freed"]


def test_diff_of_two_processes_is_not_matched(world, other, pyheapdiff_bin):
    doc = cli_json(pyheapdiff_bin, "diff", "--top", "0", world.a, other)
    assert doc["matched"] is False
    assert doc["rows"]
    for r in doc["rows"] + [doc["total"]]:
        for k in ("new", "freed", "survived"):
            assert k not in r, r
    assert doc["before"]["pid"] != doc["after"]["pid"]
    p = cli_ok(pyheapdiff_bin, "diff", world.a, other)
    assert "not matched" in p.stdout.splitlines()[0]
    header = p.stdout.splitlines()[1].split()
    assert "new" not in header and "freed" not in header


# ---------------------------------------------------------------------------
# 3. the database, read with Python's sqlite3

def test_db_schema(world_db):
    con = db_connect(world_db)
    try:
        kinds = dict(con.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')"))
        for t in ("snapshots", "strings", "types", "objects", "edges", "roots", "type_stats", "address_index"):
            assert kinds.get(t) == "table", (t, kinds)
        for v in ("objects_v", "edges_v"):
            assert kinds.get(v) == "view", (v, kinds)
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()


def test_db_snapshot_rows_match_the_files(world, world_db):
    con = db_connect(world_db)
    try:
        rows = con.execute("SELECT id, path, objects, edges, total_size, pid, process_start_ns, timestamp_ns, "
                           "file_size FROM snapshots ORDER BY id").fetchall()
        assert [r[0] for r in rows] == [1, 2]
        for (sid, path, objects, edges, total, pid, start, ts, fsize), snap, p in zip(
                rows, (world.snap_a, world.snap_b), (world.a, world.b)):
            assert path == str(p)
            assert (objects, edges, total) == (len(snap.nodes), snap.n_edges, snap.total_size)
            assert (pid, start, ts) == (snap.pid, snap.start_time_ns, snap.timestamp_ns)
            assert fsize == p.stat().st_size
            n_obj, size = con.execute("SELECT count(*), sum(size) FROM objects WHERE snapshot=?", (sid,)).fetchone()
            assert (n_obj, size) == (len(snap.nodes), snap.total_size)
            n_edges = con.execute("SELECT count(*) FROM edges WHERE src >> 32 = ?", (sid,)).fetchone()[0]
            assert n_edges == snap.n_edges
            assert con.execute("SELECT count(*) FROM types WHERE snapshot=?", (sid,)).fetchone()[0] == len(snap.types)
            idx = con.execute("SELECT count FROM address_index WHERE snapshot=?", (sid,)).fetchone()
            assert idx == (len(snap.nodes),)
            # the objects are the reader's nodes, address for address
            got = dict(con.execute("SELECT address, size FROM objects WHERE snapshot=?", (sid,)))
            assert got == {n.addr: n.size for n in snap.nodes}
    finally:
        con.close()


def test_db_type_stats(world, world_db):
    con = db_connect(world_db)
    try:
        stats = {(s, name): (c, z) for s, name, c, z in con.execute(
            "SELECT t.snapshot, s.text, t.count, t.size FROM type_stats t JOIN strings s ON s.id = t.type")}
        grouped = {(s, name): (c, z) for s, name, c, z in con.execute(
            "SELECT o.snapshot, s.text, count(*), sum(o.size) FROM objects o JOIN strings s ON s.id = o.type "
            "GROUP BY o.snapshot, o.type")}
        assert stats == grouped
        for sid, which in ((1, "a"), (2, "b")):
            for name, (count, size, _ids) in world.truth[which].items():
                assert stats[(sid, name)] == (count, size), (sid, name)
            reader = census_by_name(snapshot(world.a if which == "a" else world.b))
            assert {n: tuple(v) for n, v in reader.items()} == {n: v for (s, n), v in stats.items() if s == sid}
    finally:
        con.close()


def test_db_edge_labels(world, world_db):
    m = world.truth["marks"]
    con = db_connect(world_db)
    try:
        for sid in (1, 2):
            def out_edges(addr):
                return con.execute(
                    "SELECT e.label, e.kind, d.address FROM edges_v e JOIN objects s ON s.id = e.src "
                    "JOIN objects d ON d.id = e.dst WHERE s.snapshot = ? AND s.address = ? ORDER BY e.seq",
                    (sid, addr)).fetchall()

            holder = out_edges(m["holder"])
            assert holder, "the Holder instance is not in the database"
            assert (".payload", "name", m["payload"]) in holder
            assert (".mapping", "name", m["mapping"]) in holder
            # the class edge is a TYPE edge or a NAME edge '__class__' (docs/format.md): same label
            cls = [e for e in holder if e[0] == ".__class__"]
            assert len(cls) == 1 and cls[0][1] in ("type", "name") and cls[0][2] == m["Holder"], holder
            seq = [e for e in holder if e[0] == ".seq"]
            assert len(seq) == 1 and seq[0][2] == m["seq"]
            mapping = out_edges(m["mapping"])
            assert ("['alpha']", "value", m["alpha"]) in mapping
            assert any(lab == "<key>" for lab, _, _ in mapping)
            items = out_edges(m["seq"])
            assert [lab for lab, _, _ in items] == ["[0]", "[1]", "[2]"]
            assert items[2][2] == m["seq2"]
            # objects_v shows the holder with its type and address
            row = con.execute("SELECT type, address, gc_tracked FROM objects_v WHERE snapshot = ? AND address = ?",
                              (sid, f"0x{m['holder']:x}")).fetchone()
            assert row == ("__main__.Holder", f"0x{m['holder']:x}", 1)
    finally:
        con.close()


def test_db_roots(world, world_db):
    con = db_connect(world_db)
    try:
        for sid, snap in ((1, world.snap_a), (2, world.snap_b)):
            rows = con.execute("SELECT k.name, r.object FROM roots r JOIN root_kinds k ON k.kind = r.kind "
                               "WHERE r.snapshot = ?", (sid,)).fetchall()
            assert len(rows) == len(snap.roots) > 0
            kinds = {k for k, _ in rows}
            assert {"modules", "sys", "builtins"} <= kinds
            # every root object is an object of that snapshot
            for _, obj in rows:
                assert obj >> 32 == sid
                assert con.execute("SELECT 1 FROM objects WHERE id = ?", (obj,)).fetchone()
            mods = [obj for k, obj in rows if k == "modules"]
            assert con.execute("SELECT type FROM objects_v WHERE id = ?", (mods[0],)).fetchone() == ("dict",)
    finally:
        con.close()


def test_sql_command_agrees_with_sqlite3(world_db, pyheapdiff_bin):
    q = "SELECT s.text AS type, t.count AS n FROM type_stats t JOIN strings s ON s.id = t.type " \
        "WHERE t.snapshot = 2 ORDER BY t.count DESC, s.text LIMIT 7"
    doc = json.loads(cli_ok(pyheapdiff_bin, "sql", "--json", world_db, q).stdout)
    con = db_connect(world_db)
    try:
        expect = [{"type": a, "n": b} for a, b in con.execute(q)]
    finally:
        con.close()
    assert doc == expect
    # text: a header line and one line per row
    p = cli_ok(pyheapdiff_bin, "sql", world_db, q)
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["type", "n"]
    assert [line.split() for line in lines[1:]] == [[r["type"], str(r["n"])] for r in expect]
    # NULLs and trailing semicolon
    assert json.loads(cli_ok(pyheapdiff_bin, "sql", "--json", world_db, "SELECT NULL AS x, 1.5 AS y;").stdout) == \
        [{"x": None, "y": 1.5}]


# ---------------------------------------------------------------------------
# 4. load

def snapshot_count(db):
    con = db_connect(db)
    try:
        return con.execute("SELECT count(*) FROM snapshots").fetchone()[0], \
            con.execute("SELECT count(*) FROM objects").fetchone()[0]
    finally:
        con.close()


def test_load_twice_reports_already_loaded(world, pyheapdiff_bin, tmp_path):
    db = tmp_path / "x.db"
    doc = cli_json(pyheapdiff_bin, "load", world.a, world.b, "-o", db)
    assert doc["database"] == str(db)
    assert [(s["snapshot"], s["id"], s["already_loaded"]) for s in doc["snapshots"]] == \
        [(str(world.a), 1, False), (str(world.b), 2, False)]
    before = snapshot_count(db)
    assert before[0] == 2
    doc = cli_json(pyheapdiff_bin, "load", world.a, "-o", db)
    assert [(s["id"], s["already_loaded"]) for s in doc["snapshots"]] == [(1, True)]
    assert snapshot_count(db) == before
    p = cli_ok(pyheapdiff_bin, "load", world.b, "--output", db)
    assert f"{world.b}: already loaded as snapshot 2 in {db}" in p.stdout
    assert snapshot_count(db) == before
    # a copy of a loaded snapshot under another name is the same snapshot
    copy = tmp_path / "copy.snap"
    shutil.copy(world.a, copy)
    doc = cli_json(pyheapdiff_bin, "load", copy, "-o", db)
    assert doc["snapshots"][0]["already_loaded"] is True and doc["snapshots"][0]["id"] == 1
    assert snapshot_count(db) == before


def test_load_same_snapshot_twice_in_one_command(world, pyheapdiff_bin, tmp_path):
    db = tmp_path / "x.db"
    doc = cli_json(pyheapdiff_bin, "load", world.a, world.a, world.b, "-o", db)
    assert [(s["id"], s["already_loaded"]) for s in doc["snapshots"]] == [(1, False), (1, True), (2, False)]
    assert snapshot_count(db) == (2, len(world.snap_a.nodes) + len(world.snap_b.nodes))


def test_load_text_output(world, pyheapdiff_bin, tmp_path):
    db = tmp_path / "t.db"
    p = cli_ok(pyheapdiff_bin, "load", world.a, "-o", db)
    lines = p.stdout.splitlines()
    assert lines[0] == f"{world.a}: loaded as snapshot 1 in {db}"
    assert re.fullmatch(r"\(\d+\.\d\d s\)", lines[1]), lines


def test_load_default_output_name(world, pyheapdiff_bin, tmp_path):
    shutil.copy(world.a, tmp_path / "a.snap")
    shutil.copy(world.b, tmp_path / "b.snap")
    doc = cli_json(pyheapdiff_bin, "load", "a.snap", "b.snap", cwd=tmp_path)
    assert doc["database"] == "a.db"
    assert (tmp_path / "a.db").is_file()
    assert not (tmp_path / "b.db").exists()
    assert snapshot_count(tmp_path / "a.db")[0] == 2
    # an absolute path: beside the snapshot
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copy(world.a, sub / "first.snap")
    cli_json(pyheapdiff_bin, "load", sub / "first.snap")
    assert (sub / "first.db").is_file()
    assert sorted(os.listdir(sub)) == ["first.db", "first.snap"]


def test_failed_load_of_new_db_leaves_nothing(world, bad_snap, pyheapdiff_bin, tmp_path):
    db = tmp_path / "x.db"
    p = cli(pyheapdiff_bin, "load", world.a, bad_snap, "-o", db)
    assert_usage_error(p, bad_snap)
    assert sorted(os.listdir(tmp_path)) == [], os.listdir(tmp_path)


def test_failed_load_into_existing_db_changes_nothing(world, bad_snap, pyheapdiff_bin, tmp_path):
    db = tmp_path / "x.db"
    cli_json(pyheapdiff_bin, "load", world.a, "-o", db)
    before = snapshot_count(db)
    p = cli(pyheapdiff_bin, "load", bad_snap, "-o", db)
    assert_usage_error(p, bad_snap)
    assert snapshot_count(db) == before
    assert sorted(os.listdir(tmp_path)) == ["x.db"]


def test_failed_load_of_several_into_existing_db_changes_nothing(world, bad_snap, pyheapdiff_bin, tmp_path):
    """'load --help' and store.h: "A failed load leaves DB as it was" -- also
    when the snapshots before the bad one in the list were fine."""
    db = tmp_path / "x.db"
    cli_json(pyheapdiff_bin, "load", world.a, "-o", db)
    before = snapshot_count(db)
    p = cli(pyheapdiff_bin, "load", world.b, bad_snap, "-o", db)
    assert_usage_error(p, bad_snap)
    assert snapshot_count(db) == before, "the load failed (exit 2) but world B was committed to the database"


@pytest.mark.parametrize("content", [b"precious notes\n", b""], ids=["text", "empty"])
def test_load_refuses_to_overwrite_other_files(world, pyheapdiff_bin, tmp_path, content):
    out = tmp_path / "notes.db"
    out.write_bytes(content)
    p = cli(pyheapdiff_bin, "load", world.a, "-o", out)
    assert_usage_error(p, out, "not")
    assert out.read_bytes() == content
    assert sorted(os.listdir(tmp_path)) == ["notes.db"]


def test_load_refuses_foreign_databases(world, pyheapdiff_bin, tmp_path):
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    data = foreign.read_bytes()
    assert_usage_error(cli(pyheapdiff_bin, "load", world.a, "-o", foreign), foreign)
    assert foreign.read_bytes() == data


# ---------------------------------------------------------------------------
# 5. inputs: databases, --snapshot, mixing

def test_diff_of_db_equals_diff_of_files(world, world_db, pyheapdiff_bin):
    for extra in ([], ["--all"], ["--sort", "count"]):
        files = cli_json(pyheapdiff_bin, "diff", "--top", "0", *extra, world.a, world.b)
        db = cli_json(pyheapdiff_bin, "diff", "--top", "0", *extra, world_db, "--snapshot", "1", "--snapshot", "2")
        assert db["rows"] == files["rows"], extra
        assert db["total"] == files["total"]
        assert db["matched"] is files["matched"] is True
        assert db["before"]["snapshot"] == f"{world_db}#1"
        assert db["after"]["snapshot"] == f"{world_db}#2"
        for side in ("before", "after"):
            for k in ("objects", "total_size", "pid", "timestamp"):
                assert db[side][k] == files[side][k], (side, k)
    # reversed
    files = cli_json(pyheapdiff_bin, "diff", "--top", "0", world.b, world.a)
    db = cli_json(pyheapdiff_bin, "diff", "--top", "0", world_db, "--snapshot", "2", "--snapshot", "1")
    assert db["rows"] == files["rows"]


def test_mixing_snap_and_db(world, world_db, pyheapdiff_bin):
    files = cli_json(pyheapdiff_bin, "diff", "--top", "0", world.a, world.b)
    mixed = cli_json(pyheapdiff_bin, "diff", "--top", "0", world.a, world_db, "--snapshot", "2")
    assert mixed["rows"] == files["rows"] and mixed["matched"] is True
    mixed = cli_json(pyheapdiff_bin, "diff", "--top", "0", "--snapshot", "1", world_db, world.b)
    assert mixed["rows"] == files["rows"] and mixed["total"] == files["total"]


def test_one_snapshot_db_needs_no_id(world, pyheapdiff_bin, tmp_path):
    da, db = tmp_path / "a.db", tmp_path / "b.db"
    cli_json(pyheapdiff_bin, "load", world.a, "-o", da)
    cli_json(pyheapdiff_bin, "load", world.b, "-o", db)
    files = cli_json(pyheapdiff_bin, "diff", "--top", "0", world.a, world.b)
    dbs = cli_json(pyheapdiff_bin, "diff", "--top", "0", da, db)
    assert dbs["rows"] == files["rows"]
    p = cli_ok(pyheapdiff_bin, da, db)  # plain form with databases
    assert p.stdout.splitlines()[0].startswith(f"{da}#1 -> {db}#1: same process")


def test_top_of_db_equals_top_of_file(world, world_db, pyheapdiff_bin):
    for by in ("count", "size"):
        f = cli_json(pyheapdiff_bin, "top", "--top", "0", "--by", by, world.b)
        d = cli_json(pyheapdiff_bin, "top", "--top", "0", "--by", by, "--snapshot", "2", world_db)
        assert d["rows"] == f["rows"]
        assert (d["objects"], d["total_size"], d["snapshot"]) == (f["objects"], f["total_size"], f"{world_db}#2")


def test_db_with_two_snapshots_needs_an_id(world_db, pyheapdiff_bin):
    assert_usage_error(cli(pyheapdiff_bin, "top", world_db), world_db, "--snapshot")
    assert_usage_error(cli(pyheapdiff_bin, "diff", world_db, world_db), world_db, "--snapshot")


@pytest.mark.parametrize("args", [
    ["top", "--snapshot", "3", "{db}"],
    ["diff", "{db}", "--snapshot", "1", "--snapshot", "9"],
    ["diff", "{a}", "{db}", "--snapshot", "42"],
])
def test_unknown_snapshot_id(world, world_db, pyheapdiff_bin, args):
    args = [a.format(db=world_db, a=world.a) for a in args]
    bad = [a for a in args if a.isdigit() and a not in ("1",)][0]
    assert_usage_error(cli(pyheapdiff_bin, *args), world_db, f"no snapshot with id {bad}")


@pytest.mark.parametrize("args", [
    ["top", "--snapshot", "1", "{a}"],                                  # id for a file
    ["diff", "{db}", "--snapshot", "1", "--snapshot", "2", "--snapshot", "1"],
    ["top", "--snapshot", "0", "{db}"],
    ["top", "--snapshot", "x", "{db}"],
])
def test_bad_snapshot_options(world, world_db, pyheapdiff_bin, args):
    args = [a.format(db=world_db, a=world.a) for a in args]
    assert_usage_error(cli(pyheapdiff_bin, *args), "snapshot")


# ---------------------------------------------------------------------------
# 6. errors: exit 2, one line on stderr naming the file or problem, no stdout

@pytest.fixture(scope="module")
def bad_dbs(world_db, tmp_path_factory):
    d = tmp_path_factory.mktemp("baddb")
    v99 = d / "v99.db"
    shutil.copy(world_db, v99)
    con = sqlite3.connect(v99)
    con.execute("PRAGMA user_version=99")
    con.commit()
    con.close()
    v0 = d / "v0.db"
    shutil.copy(world_db, v0)
    con = sqlite3.connect(v0)
    con.execute("PRAGMA user_version=0")
    con.commit()
    con.close()
    foreign = d / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE objects(id INTEGER)")
    con.commit()
    con.close()
    text = d / "text.db"
    text.write_text("not a database\n")
    return {"v99": v99, "v0": v0, "foreign": foreign, "text": text, "missing": d / "missing.snap"}


ERROR_CASES = {
    # name: (args, needles); {a} {b} world files, {db} world_db, {bad} corrupt snapshot, {v99} ...
    "diff_missing": (["diff", "{missing}", "{b}"], ["{missing}", "No such file"]),
    "diff_missing_after": (["diff", "{a}", "{missing}"], ["{missing}", "No such file"]),
    "plain_missing_after": (["{a}", "{missing}"], ["{missing}", "No such file"]),
    "plain_missing_before": (["{missing}", "{b}"], ["{missing}"]),
    "top_missing": (["top", "{missing}"], ["{missing}", "No such file"]),
    "load_missing": (["load", "{missing}", "-o", "{tmp}/new.db"], ["{missing}"]),
    "sql_missing": (["sql", "{missing}", "SELECT 1"], ["{missing}"]),
    "diff_corrupt": (["diff", "{a}", "{bad}"], ["{bad}", "checksum"]),
    "plain_corrupt": (["{bad}", "{a}"], ["{bad}", "checksum"]),
    "top_corrupt": (["top", "{bad}"], ["{bad}", "checksum"]),
    "load_corrupt": (["load", "{bad}", "-o", "{tmp}/new.db"], ["{bad}", "checksum"]),
    "diff_v99": (["diff", "{v99}", "--snapshot", "1", "--snapshot", "2"], ["{v99}", "version 99"]),
    "top_v99": (["top", "{v99}", "--snapshot", "1"], ["{v99}", "version 99"]),
    "sql_v99": (["sql", "{v99}", "SELECT 1"], ["{v99}", "version 99"]),
    "load_v99": (["load", "{a}", "-o", "{v99}"], ["{v99}", "version 99"]),
    "top_v0": (["top", "{v0}", "--snapshot", "1"], ["{v0}", "schema version 0"]),
    "sql_v0": (["sql", "{v0}", "SELECT 1"], ["{v0}", "schema version 0"]),
    "diff_foreign": (["diff", "{foreign}", "{a}"], ["{foreign}", "not one pyheapdiff made"]),
    "top_foreign": (["top", "{foreign}"], ["{foreign}", "not one pyheapdiff made"]),
    "sql_foreign": (["sql", "{foreign}", "SELECT * FROM objects"], ["{foreign}", "not one pyheapdiff made"]),
    "top_text": (["top", "{text}"], ["{text}"]),
    "sql_text": (["sql", "{text}", "SELECT 1"], ["{text}"]),
    "sql_syntax": (["sql", "{db}", "SELEC 1"], ["{db}", "syntax error"]),
    "sql_no_table": (["sql", "{db}", "SELECT * FROM no_such_table"], ["{db}", "no_such_table"]),
    "sql_empty": (["sql", "{db}", ""], ["{db}", "one statement"]),
    "sql_two_statements": (["sql", "{db}", "SELECT 1; SELECT 2"], ["{db}", "one statement"]),
    "sql_two_statements_write": (["sql", "{db}", "SELECT 1; DELETE FROM objects"], ["{db}"]),
    "sql_delete": (["sql", "{db}", "DELETE FROM objects"], ["{db}", "read-only"]),
    "sql_insert": (["sql", "{db}", "INSERT INTO strings(text) VALUES ('x')"], ["{db}", "read-only"]),
    "sql_update": (["sql", "{db}", "UPDATE objects SET size = 0"], ["{db}", "read-only"]),
    "sql_drop": (["sql", "{db}", "DROP TABLE edges"], ["{db}", "read-only"]),
    "sql_create": (["sql", "{db}", "CREATE TABLE t(x)"], ["{db}", "read-only"]),
    "sql_pragma_user_version": (["sql", "{db}", "PRAGMA user_version=7"], ["{db}", "read-only"]),
    "sql_pragma_application_id": (["sql", "{db}", "PRAGMA application_id=7"], ["{db}", "read-only"]),
    "sql_pragma_journal_mode": (["sql", "{db}", "PRAGMA journal_mode=WAL"], ["{db}"]),
    "sql_vacuum": (["sql", "{db}", "VACUUM"], ["{db}"]),
    # a snapshot is queried directly (test_sql_snap.py); a database among snapshots is not
    "sql_snap_then_db": (["sql", "{a}", "{db}", "SELECT 1"], ["{db}", "not a pyheapdiff snapshot"]),
    "sql_one_arg": (["sql", "{db}"], ["sql"]),
    "sql_three_args": (["sql", "{db}", "SELECT 1", "SELECT 2"], ["sql"]),
    "diff_unknown_option": (["diff", "--jsonn", "{a}", "{b}"], ["--jsonn", "pyheapdiff diff --help"]),
    "plain_unknown_option": (["{a}", "{b}", "--bogus"], ["--bogus", "--help"]),
    "top_unknown_option": (["top", "--bogus", "{a}"], ["--bogus", "pyheapdiff top --help"]),
    "top_unknown_short": (["top", "-x", "{a}"], ["-x", "pyheapdiff top --help"]),
    "load_unknown_option": (["load", "--bogus", "{a}"], ["--bogus", "pyheapdiff load --help"]),
    "sql_unknown_option": (["sql", "--bogus", "{db}", "SELECT 1"], ["--bogus", "pyheapdiff sql --help"]),
    "diff_bad_sort": (["diff", "--sort", "name", "{a}", "{b}"], ["--sort", "name"]),
    "diff_missing_sort": (["diff", "{a}", "{b}", "--sort"], ["--sort"]),
    "top_bad_by": (["top", "--by", "weight", "{a}"], ["--by", "weight"]),
    "top_bad_top": (["top", "--top", "-1", "{a}"], ["--top", "-1"]),
    "top_bad_top_word": (["top", "--top", "ten", "{a}"], ["--top", "ten"]),
    "diff_bad_top": (["diff", "--top", "abc", "{a}", "{b}"], ["--top", "abc"]),
    "diff_huge_top": (["diff", "--top", "99999999999999999999999", "{a}", "{b}"], ["--top"]),
    "diff_bad_min_delta": (["diff", "--min-delta", "-5", "{a}", "{b}"], ["--min-delta", "-5"]),
    "diff_bad_gate_limit": (["diff", "--fail-on-growth", "Small=x", "{a}", "{b}"], ["fail-on-growth", "x"]),
    "diff_empty_gate": (["diff", "--fail-on-growth", "=3", "{a}", "{b}"], ["fail-on-growth"]),
    "diff_no_input": (["diff"], ["diff", "two snapshots"]),
    "diff_one_input": (["diff", "{a}"], ["2 snapshots"]),
    "diff_three_inputs": (["diff", "{a}", "{b}", "{a}"], ["diff", "two snapshots"]),
    "plain_three_inputs": (["{a}", "{b}", "{a}"], ["two snapshots"]),
    "top_no_input": (["top"], ["top", "one snapshot"]),
    "top_two_inputs": (["top", "{a}", "{b}"], ["top", "one snapshot"]),
    "load_no_input": (["load", "-o", "{tmp}/new.db"], ["load"]),
    "load_missing_output_value": (["load", "{a}", "-o"], ["-o", "needs a value"]),
    "unknown_command": (["frobnicate"], ["frobnicate", "--help"]),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_errors(case, world, world_db, bad_snap, bad_dbs, pyheapdiff_bin, tmp_path):
    args, needles = ERROR_CASES[case]
    subst = {"a": world.a, "b": world.b, "db": world_db, "bad": bad_snap, "tmp": tmp_path, **bad_dbs}
    args = [a.format(**subst) for a in args]
    needles = [n.format(**subst) for n in needles]
    before = snapshot_count(world_db)
    p = cli(pyheapdiff_bin, *args)
    assert_usage_error(p, *needles)
    # nothing was created or changed
    assert os.listdir(tmp_path) == []
    assert snapshot_count(world_db) == before
    con = db_connect(world_db)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert con.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
        assert {r[0] for r in con.execute("SELECT name FROM sqlite_master")} >= {"edges", "objects"}
    finally:
        con.close()


def test_sql_two_statements_separated_by_an_empty_one(world_db, pyheapdiff_bin):
    """'SELECT 1;; SELECT 2' is two statements (with an empty one between):
    sql must refuse it like 'SELECT 1; SELECT 2', not run the first and
    silently drop the second."""
    for q in ("SELECT 1;; SELECT 2", "SELECT 1; ; DELETE FROM objects"):
        p = cli(pyheapdiff_bin, "sql", world_db, q)
        assert_usage_error(p, world_db, "one statement")


def test_sql_one_statement_with_a_trailing_comment(world_db, pyheapdiff_bin):
    """A comment after the one statement is not a second statement
    (sqlite3.complete_statement and Python's sqlite3 agree); 'SELECT 1 -- c'
    is accepted, so 'SELECT 1; -- c' should be too."""
    assert sqlite3.complete_statement("SELECT 1; -- c")
    cli_ok(pyheapdiff_bin, "sql", world_db, "SELECT 1 -- c")
    for q in ("SELECT 1; -- the count", "SELECT 1; /* c */"):
        p = cli(pyheapdiff_bin, "sql", "--json", world_db, q)
        assert (p.returncode, p.stderr) == (0, ""), (q, p.returncode, p.stderr)
        assert json.loads(p.stdout) == [{"1": 1}]


def test_sql_read_only_statements_are_allowed(world_db, pyheapdiff_bin):
    for q in ("PRAGMA user_version", "SELECT count(*) FROM edges_v", "WITH x AS (SELECT 1 AS v) SELECT v FROM x",
              "EXPLAIN SELECT * FROM objects", "  SELECT 1 ;  "):
        cli_ok(pyheapdiff_bin, "sql", world_db, q)
    doc = json.loads(cli_ok(pyheapdiff_bin, "sql", "--json", world_db, "PRAGMA user_version").stdout)
    assert doc == [{"user_version": SCHEMA_VERSION}]


# ---------------------------------------------------------------------------
# 7. --fail-on-growth

def test_fail_on_growth_exit_status(world, pyheapdiff_bin):
    growth = world.truth["b"]["__main__.Small"][0] - world.truth["a"]["__main__.Small"][0]
    assert growth == 300
    for gate in ("__main__.Small", "Small", f"Small={growth - 1}", f"__main__.Small={growth - 1}"):
        p = cli(pyheapdiff_bin, "diff", "--fail-on-growth", gate, world.a, world.b)
        assert p.returncode == 1, (gate, p.returncode, p.stderr)
        lines = p.stderr.splitlines()
        assert len(lines) == 1, p.stderr
        assert lines[0].startswith("pyheapdiff: ") and gate.split("=")[0] in lines[0]
        assert f"grew by {growth} objects" in lines[0]
        assert "__main__.Small" in p.stdout  # the report is still printed
    for gate in (f"Small={growth}", f"__main__.Small={growth + 1000}", "Slotted", "Gone", "NoSuchClass",
                 "mall", "main__.Small"):
        p = cli(pyheapdiff_bin, "diff", "--fail-on-growth", gate, world.a, world.b)
        assert p.returncode == 0, (gate, p.stderr)
        assert p.stderr == ""
    # plain form, nested class by bare and qualified name
    inner = world.truth["b"]["__main__.Outer.Inner"][0] - world.truth["a"]["__main__.Outer.Inner"][0]
    assert inner == 7
    for gate in ("Inner", "__main__.Outer.Inner", "Inner=6"):
        p = cli(pyheapdiff_bin, world.a, world.b, "--fail-on-growth", gate)
        assert p.returncode == 1, gate
        assert "grew by 7 objects" in p.stderr
    assert cli(pyheapdiff_bin, world.a, world.b, "--fail-on-growth", "Inner=7").returncode == 0


def test_fail_on_growth_json_gates(world, pyheapdiff_bin):
    p = cli(pyheapdiff_bin, "diff", "--json", world.a, world.b, "--fail-on-growth", "Small",
            "--fail-on-growth", "Fresh=200", "--fail-on-growth", "__main__.Slotted",
            "--fail-on-growth", "NoSuchClass=3")
    assert p.returncode == 1
    assert len(p.stderr.splitlines()) == 1 and "Small grew by 300 objects (limit 0)" in p.stderr
    doc = json.loads(p.stdout)
    assert doc["gates"] == [
        {"type": "Small", "limit": 0, "growth": 300, "found": True, "failed": True},
        {"type": "Fresh", "limit": 200, "growth": 120, "found": True, "failed": False},
        {"type": "__main__.Slotted", "limit": 0, "growth": -50, "found": True, "failed": False},
        {"type": "NoSuchClass", "limit": 3, "growth": 0, "found": False, "failed": False},
    ]
    # the gate looks at every type, not only the rows shown
    p = cli(pyheapdiff_bin, "diff", "--json", "--top", "1", "--fail-on-growth", "Fresh", world.a, world.b)
    assert p.returncode == 1
    assert json.loads(p.stdout)["gates"][0]["growth"] == 120
    assert cli_json(pyheapdiff_bin, "diff", world.a, world.b)["gates"] == []


def test_fail_on_growth_on_databases(world_db, pyheapdiff_bin):
    p = cli(pyheapdiff_bin, "diff", world_db, "--snapshot", "1", "--snapshot", "2", "--fail-on-growth", "Small=10")
    assert p.returncode == 1 and "grew by 300 objects (limit 10)" in p.stderr


# ---------------------------------------------------------------------------
# 8. options and output shapes

def changed(r):
    return r["count_delta"] != 0 or r["size_delta"] != 0 or r.get("new", 0) or r.get("freed", 0)


def test_diff_default_order_and_top(world, pyheapdiff_bin, diff_ab):
    rows = diff_ab["rows"]
    assert diff_ab["sort"] == "size" and diff_ab["omitted"] == 0
    keys = [(-r["size_delta"], r["type"]) for r in rows]
    assert keys == sorted(keys)
    assert all(changed(r) for r in rows)
    d = cli_json(pyheapdiff_bin, "diff", world.a, world.b)  # default --top 20
    assert d["rows"] == rows[:20] and d["omitted"] == max(0, len(rows) - 20)
    for n in (1, 3):
        d = cli_json(pyheapdiff_bin, "diff", "--top", str(n), world.a, world.b)
        assert d["rows"] == rows[:n]
        assert d["omitted"] == len(rows) - n
        assert d["total"] == diff_ab["total"]  # the total is of everything


def test_diff_sort_count(world, pyheapdiff_bin, diff_ab):
    d = cli_json(pyheapdiff_bin, "diff", "--sort", "count", "--top", "0", world.a, world.b)
    assert d["sort"] == "count"
    keys = [(-r["count_delta"], r["type"]) for r in d["rows"]]
    assert keys == sorted(keys)
    assert sorted(d["rows"], key=lambda r: r["type"]) == sorted(diff_ab["rows"], key=lambda r: r["type"])
    assert d["rows"][0]["count_delta"] == max(r["count_delta"] for r in diff_ab["rows"])
    # Small (+300) outranks Fresh (+120) by count
    order = [r["type"] for r in d["rows"]]
    assert order.index("__main__.Small") < order.index("__main__.Fresh") < order.index("__main__.Slotted")


def test_diff_min_delta(world, pyheapdiff_bin, diff_ab):
    for n in (1, 7, 50, 300, 301):
        d = cli_json(pyheapdiff_bin, "diff", "--top", "0", "--min-delta", str(n), world.a, world.b)
        assert d["rows"] == [r for r in diff_ab["rows"] if abs(r["count_delta"]) >= n], n
    rows = rows_by_type(cli_json(pyheapdiff_bin, "diff", "--top", "0", "--min-delta", "50", world.a, world.b))
    assert "__main__.Slotted" in rows  # a shrink of 50 counts
    assert "__main__.Outer.Inner" not in rows  # +7


def test_diff_all(world, pyheapdiff_bin, diff_ab):
    d = cli_json(pyheapdiff_bin, "diff", "--all", "--top", "0", world.a, world.b)
    ca, cb = census_by_name(world.snap_a), census_by_name(world.snap_b)
    assert len(d["rows"]) == len(set(ca) | set(cb))
    unchanged = [r for r in d["rows"] if not changed(r)]
    assert unchanged, "the fixture has types that did not change"
    assert [r for r in d["rows"] if changed(r)] == diff_ab["rows"]
    assert all(r["count_delta"] == 0 and r["size_delta"] == 0 for r in unchanged)
    # --all with --top
    d5 = cli_json(pyheapdiff_bin, "diff", "--all", "--top", "5", world.a, world.b)
    assert d5["rows"] == d["rows"][:5] and d5["omitted"] == len(d["rows"]) - 5


def test_diff_json_shape(world, diff_ab, other, pyheapdiff_bin):
    assert list(diff_ab) == ["before", "after", "matched", "sort", "rows", "omitted", "total", "gates"]
    for side in ("before", "after"):
        assert list(diff_ab[side]) == ["snapshot", "objects", "total_size", "pid", "timestamp"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", diff_ab[side]["timestamp"])
    keys = ["type", "count_before", "count_after", "count_delta", "size_before", "size_after", "size_delta"]
    for r in diff_ab["rows"] + [diff_ab["total"]]:
        origin = ["origin"] if r is not diff_ab["total"] else []
        assert list(r) == keys + origin + ["new", "freed", "survived"]
        assert all(isinstance(r[k], int) for k in keys[1:])
        assert r.get("origin", "user") in ("builtin", "stdlib", "third-party", "user", "unknown")
    d = cli_json(pyheapdiff_bin, "diff", world.a, other)
    for r in d["rows"] + [d["total"]]:
        assert list(r) == keys + (["origin"] if r is not d["total"] else [])


def test_top_json_shape(world, pyheapdiff_bin):
    doc = cli_json(pyheapdiff_bin, "top", "--by", "size", world.a)
    assert list(doc) == ["snapshot", "by", "objects", "total_size", "omitted", "rows"]
    for r in doc["rows"]:
        assert list(r) == ["type", "origin", "count", "size", "average_size"]


def test_load_and_sql_json_shape(world, pyheapdiff_bin, tmp_path):
    db = tmp_path / "s.db"
    doc = cli_json(pyheapdiff_bin, "load", world.a, "-o", db)
    assert list(doc) == ["database", "snapshots", "seconds"]
    assert isinstance(doc["seconds"], float) and doc["seconds"] >= 0
    assert list(doc["snapshots"][0]) == ["snapshot", "id", "already_loaded"]
    rows = json.loads(cli_ok(pyheapdiff_bin, "sql", "--json", db, "SELECT id, path FROM snapshots").stdout)
    assert rows == [{"id": 1, "path": str(world.a)}]
    assert json.loads(cli_ok(pyheapdiff_bin, "sql", "--json", db, "SELECT 1 WHERE 0").stdout) == []


def diff_text_rows(stdout):
    """Data rows of the diff text table: (type, [the other cells])."""
    lines = stdout.splitlines()
    assert lines[1].split()[0] == "type"
    out = []
    for line in lines[2:]:
        if line.startswith("---"):
            break
        out.append(line)
    return out


def test_diff_text(world, pyheapdiff_bin, diff_ab):
    p = cli_ok(pyheapdiff_bin, "diff", "--top", "0", world.a.name, world.b.name, cwd=world.dir)
    lines = p.stdout.splitlines()
    assert lines[0] == "a.snap -> b.snap: same process, objects matched by address"
    assert lines[1].split() == ["type", "count", "A", "count", "B", "Δcount", "size", "A", "size", "B", "Δsize",
                                "new", "freed"]
    rows = diff_text_rows(p.stdout)
    assert len(rows) == len(diff_ab["rows"])
    by_name = {}
    for line in rows:
        cells = re.split(r"\s{2,}", line.strip())
        by_name[cells[0]] = cells
    small = by_name["__main__.Small"]
    r = rows_by_type(diff_ab)["__main__.Small"]
    assert small[1:4] == [f"{r['count_before']:,}", f"{r['count_after']:,}", f"+{r['count_delta']:,}"]
    assert small[-2:] == [f"{r['new']:,}", f"{r['freed']:,}"]
    slotted = by_name["__main__.Slotted"]
    assert slotted[3] == "-50"
    total = [line for line in lines if line.startswith("total ")]
    assert len(total) == 1
    assert f"{diff_ab['total']['count_after']:,}" in total[0].split()
    # not a terminal: the long class name is whole
    assert any(line.startswith("__main__.LongNNN") and "..." not in line for line in rows)


@pytest.mark.parametrize("args", [
    ["diff"], ["diff", "--all"], ["diff", "--sort", "count", "--top", "3"], ["plain"],
    ["diff", "--min-delta", "100000"],
])
def test_text_output_fits_the_terminal(world, other, pyheapdiff_bin, args, tmp_path):
    """On a terminal of 100 columns the tables fit it (the long class name
    cut with "..."); on a wide one nothing is cut."""
    shutil.copy(other, tmp_path / "o.snap")
    shutil.copy(world.a, tmp_path / "a.snap")
    shutil.copy(world.b, tmp_path / "b.snap")
    cmd = args[1:] if args[0] == "plain" else args
    for pair in (["a.snap", "b.snap"], ["a.snap", "o.snap"]):
        status, out, err = cli_tty(pyheapdiff_bin, *cmd, *pair, cwd=tmp_path, cols=MAX_COLUMNS)
        assert status == 0 and err == "", err
        lines = out.splitlines()
        assert all(width(line) <= MAX_COLUMNS for line in lines), max(lines, key=width)
        if "--all" in args and pair[1] == "b.snap":
            assert any(line.startswith("__main__.LongNNN") and "..." in line for line in lines)
            _, wide, _ = cli_tty(pyheapdiff_bin, *cmd, *pair, cwd=tmp_path, cols=300)
            assert any(line.startswith("__main__.LongNNN") and "..." not in line for line in wide.splitlines())
        if "--min-delta" in args:
            assert "(no type changed)" in lines
        if "--top" in args:
            assert re.fullmatch(r"\(\d+ more changed types?; --top 0 shows all\)", lines[-1]), lines[-1]


def test_help_of_commands(pyheapdiff_bin):
    for c in ("diff", "top", "load", "sql"):
        p = cli_ok(pyheapdiff_bin, c, "--help")
        assert p.stdout.startswith(f"usage: pyheapdiff {c}")
        assert cli_ok(pyheapdiff_bin, "help", c).stdout == p.stdout


# ---------------------------------------------------------------------------
# top of two classes that share a name

TWIN = "__main__.make.<locals>.Twin"


@pytest.fixture(scope="module")
def dup(tmp_path_factory, pyheapdiff_bin):
    """Two snapshots of a process with three classes all named
    __main__.make.<locals>.Twin, and a database of both."""
    d = tmp_path_factory.mktemp("dup")
    run = dump_in_subprocess(DUP, d, "dup")
    db = d / "dup.db"
    cli_json(pyheapdiff_bin, "load", d / "dup-a.snap", run.path, "-o", db)
    with open(run.truth_path) as f:
        truth = json.load(f)
    return {"a": d / "dup-a.snap", "b": run.path, "db": db, "truth": truth}


def test_diff_merges_types_of_one_name(dup, pyheapdiff_bin):
    assert sum(1 for t in snapshot(dup["b"]).types if t.name == TWIN) == 3
    files = cli_json(pyheapdiff_bin, "diff", "--top", "0", dup["a"], dup["b"])
    twin = [r for r in files["rows"] if r["type"] == TWIN]
    assert len(twin) == 1
    t = dup["truth"]
    assert (twin[0]["count_before"], twin[0]["count_after"]) == (50, 60)
    assert {k: twin[0][k] for k in ("survived", "new", "freed")} == t
    db = cli_json(pyheapdiff_bin, "diff", "--top", "0", dup["db"], "--snapshot", "1", "--snapshot", "2")
    assert db["rows"] == files["rows"]


def test_top_merges_types_of_one_name_like_the_database(dup, pyheapdiff_bin):
    """Two classes with one qualified name (a class statement run twice):
    diff and the database merge them into one row by name; top of the
    snapshot file should give the same rows as top of its database."""
    snap = snapshot(dup["a"])
    assert sum(1 for t in snap.types if t.name == TWIN) == 2
    from_db = cli_json(pyheapdiff_bin, "top", "--top", "0", "--snapshot", "1", dup["db"])
    twins = [r for r in from_db["rows"] if r["type"] == TWIN]
    assert [(r["count"]) for r in twins] == [50]
    from_file = cli_json(pyheapdiff_bin, "top", "--top", "0", dup["a"])
    names = [r["type"] for r in from_file["rows"]]
    assert names.count(TWIN) == 1, \
        "top of the .snap lists the name twice (30 and 20) where top of the .db has one row of 50"
    assert from_file["rows"] == from_db["rows"]


# ---------------------------------------------------------------------------
# 9. end to end: the leaky cache

LEAKY = FIXTURES / "leaky_cache.py"


def run_leaky(args, cwd):
    p = subprocess.run([sys.executable, "-S", str(LEAKY), *map(str, args)], capture_output=True, text=True,
                       timeout=120, cwd=str(cwd), env=subprocess_env())
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


def test_leaky_cache_leak_is_first(pyheapdiff_bin, tmp_path):
    requests = 150
    report = run_leaky(["--dump-dir", tmp_path, "--requests", requests], tmp_path)
    growth = report["after"] - report["before"]
    assert growth == requests * report["entries_per_request"]
    a, b = tmp_path / "before.snap", tmp_path / "after.snap"
    for args in ([], ["--sort", "count"], ["--sort", "size"]):
        doc = cli_json(pyheapdiff_bin, a, b, *args)  # plain "pyheapdiff A B"
        first = doc["rows"][0]
        assert first["type"] == "__main__.CacheEntry", (args, doc["rows"][:3])
        assert first["count_delta"] == growth
        assert (first["count_before"], first["count_after"]) == (report["before"], report["after"])
        assert first["new"] == growth and first["freed"] == 0
        p = cli_ok(pyheapdiff_bin, a.name, b.name, *args, cwd=tmp_path)
        assert p.stdout.splitlines()[2].startswith("__main__.CacheEntry ")
    # the CI gate catches it, by bare name
    p = cli(pyheapdiff_bin, a, b, "--fail-on-growth", f"CacheEntry={growth // 2}")
    assert p.returncode == 1 and f"CacheEntry grew by {growth} objects" in p.stderr
    # and the database tells the same story
    db = tmp_path / "leak.db"
    cli_json(pyheapdiff_bin, "load", a, b, "-o", db)
    d = cli_json(pyheapdiff_bin, "diff", db, "--snapshot", "1", "--snapshot", "2", "--sort", "count")
    assert d["rows"][0]["type"] == "__main__.CacheEntry" and d["rows"][0]["count_delta"] == growth
    rows = json.loads(cli_ok(pyheapdiff_bin, "sql", "--json", db,
                             "SELECT snapshot, count(*) AS n FROM objects_v WHERE type = '__main__.CacheEntry' "
                             "GROUP BY snapshot ORDER BY snapshot").stdout)
    assert rows == [{"snapshot": 1, "n": report["before"]}, {"snapshot": 2, "n": report["after"]}]


def test_leaky_cache_under_pyheapdiff_run(pyheapdiff_bin, tmp_path):
    """Two runs of the program under 'python -m pyheapdiff run', a short and
    a long one: different processes, so nothing is matched, but the leak is
    still the first row by size and by count."""
    reports = {}
    for name, n in (("short", 5), ("long", 120)):
        out = tmp_path / f"{name}.snap"
        p = subprocess.run([sys.executable, "-S", "-m", "pyheapdiff", "run", "-o", str(out), str(LEAKY),
                            "--requests", str(n)], capture_output=True, text=True, timeout=120,
                           cwd=str(tmp_path), env=subprocess_env())
        assert p.returncode == 0, p.stderr
        reports[name] = json.loads(p.stdout.splitlines()[-1])
    growth = reports["long"]["after"] - reports["short"]["after"]
    assert growth == 115 * reports["long"]["entries_per_request"]
    for args in ([], ["--sort", "count"]):
        doc = cli_json(pyheapdiff_bin, tmp_path / "short.snap", tmp_path / "long.snap", *args)
        assert doc["matched"] is False
        assert doc["rows"][0]["type"] == "__main__.CacheEntry", doc["rows"][:3]
        assert doc["rows"][0]["count_delta"] == growth
    top = cli_json(pyheapdiff_bin, "top", "--by", "size", "--top", "0", tmp_path / "long.snap")
    entry = rows_by_type(top)["__main__.CacheEntry"]
    assert entry["count"] == reports["long"]["after"]
