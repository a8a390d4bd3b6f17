"""Format versions: version 2's inline nodes (unique leaves written behind
their one reference, docs/format.md), version 3's references by address
and version 4's numbers by value as the agent writes them, and snapshots
written by the agent before them (fixtures/snapshots/v1-py311.snap,
v2-py311.snap, v3-py311.snap), which the analyzer and the test reader must
still read.
"""

import os
import sys

import pytest

import snapreader
from conftest import REPO, cli_json, cli_ok

V1_SNAP = REPO / "fixtures" / "snapshots" / "v1-py311.snap"
V2_SNAP = REPO / "fixtures" / "snapshots" / "v2-py311.snap"
V3_SNAP = REPO / "fixtures" / "snapshots" / "v3-py311.snap"
OLD_SNAPS = {1: V1_SNAP, 2: V2_SNAP, 3: V3_SNAP}


def _marker_attrs(snap):
    """{label: (weight preview, count preview)} of the Marker instances."""
    out = {}
    for n in snap.nodes:
        if n.type != "__main__.Marker":
            continue
        attrs = {p: snap.nodes[t] for t, k, p in n.edges if k == snapreader.NAME}
        out[attrs["label"].preview.decode()] = (attrs["weight"].preview, attrs["count"].preview)
    return out


@pytest.mark.parametrize("version", sorted(OLD_SNAPS))
def test_old_snapshots_are_read_by_both_readers(pyheapdiff_bin, version):
    path = OLD_SNAPS[version]
    snap = snapreader.read(path)
    assert snap.version == version
    assert any(n.inline for n in snap.nodes) == (version >= 2)
    info = cli_json(pyheapdiff_bin, "info", str(path))
    assert info["format_version"] == version
    assert info["objects"] == len(snap.nodes) and info["references"] == snap.n_edges
    # the three Marker instances and their unique leaves, as written
    assert _marker_attrs(snap) == {f"marker-{i}": (str(i * 0.5 + 0.25).encode(), str(1000000 + i).encode())
                                   for i in range(3)}
    top = cli_json(pyheapdiff_bin, "top", "--type", "__main__.Marker", str(path))
    rows = {r["type"]: r["count"] for r in top["rows"]}
    assert rows["__main__.Marker"] == 3
    # the C reader's previews: numbers as text in every version before 4
    got = {r["p"] for r in cli_json(pyheapdiff_bin, "sql", str(path),
                                     "SELECT o.preview AS p FROM objects m JOIN edges e ON e.src = m.id "
                                     "JOIN objects o ON o.id = e.dst JOIN strings t ON t.id = m.type "
                                     "JOIN strings n ON n.id = e.label WHERE t.text = '__main__.Marker' "
                                     "AND e.kind = 4 AND n.text IN ('label', 'weight', 'count')")}
    assert got == {f"marker-{i}" for i in range(3)} | {str(i * 0.5 + 0.25) for i in range(3)} \
        | {str(1000000 + i) for i in range(3)}
    # the commands that walk the graph accept it
    cli_ok(pyheapdiff_bin, "paths", "--type", "__main__.Marker", str(path))
    cli_ok(pyheapdiff_bin, "dominators", str(path))


def test_version_1_and_2_diff(tmp_path, pyheapdiff_bin, run_dump):
    """A version 2 snapshot diffs against a version 1 one (other process:
    types only) like any pair."""
    r = run_dump("T.dump(objects=False)")
    d = cli_json(pyheapdiff_bin, "diff", str(V1_SNAP), r.path)
    assert d["rows"]


def test_unique_leaves_are_inline(run_dump, pyheapdiff_bin):
    r = run_dump("""
        class Holder:
            pass
        h = Holder()
        h.text = "".join(["unique", "-", "text"])   # refcount 1: inline
        h.number = int("1000000000007")              # inline (not a constant)
        h.real = float(len("abc")) * 2.6             # inline
        h.blob = bytes(range(5))                     # inline
        shared = "".join(["shared", "-", "text"])
        h.a = shared
        h.b = shared                                 # refcount 3: not inline
        h.floats = [i * 0.25 + 1 for i in range(1000)]
        h.keys = {str(i) + "k": i + 10 ** 9 for i in range(100)}
        T.mark("h", h)
        T.mark("text", h.text)
        T.mark("shared", shared)
        T.dump()
    """)
    snap = r.snap
    assert snap.version == snapreader.FORMAT_VERSION
    h = r.node("h")
    attrs = {p: snap.nodes[t] for t, k, p in h.edges if k == snapreader.NAME}
    for name in ("text", "number", "real", "blob"):
        assert attrs[name].inline and attrs[name].refcount == 1, name
        assert attrs[name].edges == [] and not attrs[name].gc_tracked
    assert attrs["text"].preview == b"unique-text"
    assert attrs["number"].preview == b"1000000000007"
    assert attrs["real"].preview == repr(3.0 * 2.6).encode()
    assert attrs["blob"].preview == bytes(range(5))
    assert not attrs["a"].inline and attrs["a"] is attrs["b"]
    floats = attrs["floats"]
    assert all(snap.nodes[t].inline for t, _, _ in floats.edges)
    assert [snap.nodes[t].preview for t, _, _ in floats.edges] == [repr(i * 0.25 + 1).encode() for i in range(1000)]
    # dict keys and values of a combined table are inline too; labels resolve
    keys = attrs["keys"]
    kv = [(snap.nodes[t].preview, k) for t, k, _ in keys.edges]
    assert all(snap.nodes[t].inline for t, _, _ in keys.edges)
    assert {p for p, k in kv if k == snapreader.KEY} == {(str(i) + "k").encode() for i in range(100)}
    # every object once: no address twice (by_addr checks), and the C reader agrees
    assert len(snap.by_addr) == len(snap.nodes)
    info = cli_json(pyheapdiff_bin, "info", r.path)
    assert info["format_version"] == snapreader.FORMAT_VERSION
    assert info["objects"] == len(snap.nodes) and info["references"] == snap.n_edges
    # an inline leaf's retention path goes through its one holder
    p = cli_ok(pyheapdiff_bin, "paths", "--type", "bytes", r.path).stdout
    assert p


def test_interned_split_keys_and_roots_are_not_inline(run_dump):
    """Objects referenced once by what the walk sees but held elsewhere too
    are never inline: interned strings, the keys of a split-table dict
    (owned by the class's shared keys), a frame's locals (roots)."""
    r = run_dump("""
        class Obj:
            pass
        objs = [Obj() for _ in range(3)]
        for o in objs:
            o.__dict__                       # materialise split-table dicts
            o.alpha_attribute_name = 1.75 * len(objs)
        T.mark("objs", objs)

        def in_a_frame():
            local_text = "".join(["local", "-", "only"])   # held by the frame only
            T.mark("local", local_text)
            T.dump()

        in_a_frame()
    """)
    snap = r.snap
    for n in snap.nodes:
        if n.inline:
            assert n.type in ("str", "int", "float", "bytes") and n.refcount == 1
    assert not r.node("local").inline
    if sys.version_info >= (3, 12):
        assert all(n.refcount != 0 for n in snap.nodes if n.inline)


@pytest.mark.parametrize("values", [True, False])
def test_inline_nodes_without_values(run_dump, values):
    r = run_dump(f"""
        data = [float(i) / 7 for i in range(200)]
        T.mark("data", data)
        T.dump(values={values})
    """)
    node = r.node("data")
    leaves = [r.snap.nodes[t] for t, _, _ in node.edges]
    assert len(leaves) == 200 and all(n.inline and n.type == "float" for n in leaves)
    assert all((n.preview is not None) == values for n in leaves)


def _c_previews(pyheapdiff_bin, path, holder_addr):
    """The previews of a list's items as the C reader writes them (sql on
    the snapshot), in index order; None for an item without one."""
    rows = cli_json(pyheapdiff_bin, "sql", path,
                    "SELECT e.label AS i, o.preview AS p FROM objects l JOIN edges e ON e.src = l.id "
                    f"JOIN objects o ON o.id = e.dst WHERE l.address = {holder_addr} AND e.kind = 1 ORDER BY e.seq")
    assert [x["i"] for x in rows] == list(range(len(rows)))
    return [x["p"] for x in rows]


def test_float_previews_are_repr(run_dump, pyheapdiff_bin):
    """Version 4: a float's value goes by its bits and the reader writes
    it: exactly repr() on edge cases and on many random floats, in both
    readers (the C reader's own formatting; the test reader's repr())."""
    r = run_dump("""
        import random
        rnd = random.Random(1234)
        special = [0.1, 0.2, 0.3, 1 / 3, 2 / 3, 0.0001, 0.00012345, 0.00009999, 1e-5, 1e15, 1e15 - 0.125,
                   999999999999999.9, 123456789012345.6, 12345678901234.56, 9007199254740993.0, 1e16, 1e22, 1e23,
                   -0.5, -0.0, 0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, float("inf"),
                   float("-inf"), float("nan"), 1.5, 100.0, 1234.75, 0.1 + 0.2, 4.35, 2.675, 1.005, 8.41 * 100]
        floats = special + [float(f"{rnd.random() * 10 ** rnd.randint(-5, 16):.{rnd.randint(0, 17)}g}")
                            for _ in range(3000)]
        floats += [rnd.random() * 10 ** rnd.randint(-6, 17) for _ in range(3000)]
        floats += [rnd.randint(-10 ** 6, 10 ** 6) / 2 ** rnd.randint(0, 20) for _ in range(3000)]
        floats = [f * 1.0 + 0.0 if f == f else f for f in floats]   # fresh objects
        T.mark("floats", floats)
        T.extra["reprs"] = [repr(f) for f in floats]
        T.dump()
    """)
    node = r.node("floats")
    want = r.truth.extra["reprs"]
    got = [r.snap.nodes[t].preview.decode() for t, _, _ in node.edges]
    assert got == want
    got = _c_previews(pyheapdiff_bin, r.path, node.addr)
    bad = [(w, g) for w, g in zip(want, got) if w != g]
    assert len(got) == len(want) and not bad, bad[:20]


def test_int_previews_by_value(run_dump, pyheapdiff_bin):
    """Version 4: an int that fits in 64 signed bits goes by value and reads
    back as str(); a bigger one has no preview; bools stay text."""
    r = run_dump("""
        import random
        rnd = random.Random(99)
        ints = [0, 1, -1, 255, 256, -5, 2 ** 63 - 1, -2 ** 63, 2 ** 63, -2 ** 63 - 1, 10 ** 30, True, False]
        ints += [rnd.randint(-2 ** 63, 2 ** 63 - 1) for _ in range(2000)]
        ints += [rnd.randint(-10 ** 6, 10 ** 6) for _ in range(2000)]
        T.mark("ints", ints)
        T.extra["strs"] = [str(i) if -2 ** 63 <= i < 2 ** 63 else None for i in ints]
        T.dump()
    """)
    node = r.node("ints")
    want = r.truth.extra["strs"]
    got = [r.snap.nodes[t].preview for t, _, _ in node.edges]
    assert got == [None if w is None else w.encode() for w in want]
    assert _c_previews(pyheapdiff_bin, r.path, node.addr) == want


def test_references_by_address_resolve_alike_in_both_readers(run_dump, pyheapdiff_bin):
    """Version 3: a reference to an object written long before is given by
    its address; the C reader (through sql's virtual tables) and the test
    reader turn every one into the same node, VALUE labels included (a dict
    whose keys are old objects)."""
    r = run_dump("""
        class Item:
            pass
        items = [Item() for _ in range(3000)]
        later = [[items[(i * 7919) % 3000]] for i in range(3000)]   # old targets, far back
        by_item = {it: i for i, it in enumerate(reversed(items))}    # old keys: VALUE after an address
        T.mark("items", items)
        T.dump(referents={id(x) for x in later[:50]} | {id(by_item), id(items)})
    """)
    assert r.snap.version >= 3
    assert r.snap.n_by_address > 3000, r.snap.n_by_address
    _check_edges_alike(r, pyheapdiff_bin)


def _check_edges_alike(r, pyheapdiff_bin):
    """Every edge and VALUE label as the C reader (sql's virtual tables)
    and the test reader see them, and the referents gc reports."""
    snap = r.snap
    rows = cli_json(pyheapdiff_bin, "sql", "--json", r.path,
                    "SELECT src & 4294967295 AS s, seq, dst & 4294967295 AS d, kind, label & 4294967295 AS l "
                    "FROM edges ORDER BY src, seq")
    assert len(rows) == snap.n_edges
    want = []
    for n in snap.nodes:
        for k, (t, kind, payload) in enumerate(n.edges):
            want.append((n.index, k, t, kind, payload if kind == snapreader.VALUE else None))
    got = [(x["s"], x["seq"], x["d"], x["kind"], x["l"] if x["kind"] == snapreader.VALUE else None) for x in rows]
    assert got == want
    for addr, referents in r.truth.referents.items():
        node = snap.by_addr[addr]
        assert sorted(snap.nodes[t].addr for t, _, _ in node.edges if snap.nodes[t].addr in set(referents)) \
            == sorted(referents), hex(addr)


@pytest.mark.skipif(os.environ.get("PYHEAPDIFF_SANITIZE") == "1", reason="180 MB of big objects")
def test_a_sparse_heap_past_the_bitmaps_bound(run_dump, pyheapdiff_bin):
    """Objects far apart (each big bytes object in a block of its own): the
    dump's node bitmap reaches its memory bound, and the objects of later
    regions get indices in the visited set instead; old references to both
    kinds resolve alike in both readers."""
    r = run_dump("""
        class Holder:
            pass
        holders = []
        for i in range(1200):
            h = Holder()
            h.blob = bytes(150_000)
            holders.append(h)
        for i, h in enumerate(holders):
            h.peer = holders[(i * 7) % len(holders)]
            h.blob2 = holders[(i * 11) % len(holders)].blob
        T.dump(collect=False, referents={id(h) for h in holders[::50]})
    """, timeout=300)
    assert r.snap.n_by_address > 1000
    _check_edges_alike(r, pyheapdiff_bin)
