"""Tests of the in-process agent (pyheapdiff.dump and friends).

Each dump runs in a fresh ``python -S`` subprocess (see conftest.py); the
ground truth (gc.get_objects, gc.get_referents, sys.getsizeof, ids) is
taken in that same process by _phdtruth.py, and the snapshot is read back
with the independent reader in snapreader.py.  No expected value is
hard-coded: everything is compared with what the interpreter says.
"""

import collections
import json
import os
import random
import stat
import subprocess
import sys
import textwrap

import pytest

import snapreader
from conftest import BUILD_PY, cli_json, dump_in_subprocess, read_snapshot, run_python, subprocess_env
from snapreader import INDEX, KEY, NAME, NONE, TYPE, VALUE, WEAK


def summarize(counter, n=15):
    return "\n".join(f"  {k}: {v}" for k, v in counter.most_common(n))


# ---------------------------------------------------------------------------
# A varied heap, shared by the completeness, size and referents tests

VARIED = r"""
import abc, array, collections, decimal, enum, functools, io, itertools, re, threading, weakref

class Plain:
    def __init__(self, n):
        self.n = n
        self.items = [n, str(n)]
    def method(self):
        return self.n

class Slotted:
    __slots__ = ("a", "b", "__weakref__")

class SlottedChild(Slotted):
    __slots__ = ("c",)

class MyDict(dict):
    pass

class MyList(list):
    pass

class MyTuple(tuple):
    pass

class MyInt(int):
    pass

class Meta(type):
    pass

class WithMeta(metaclass=Meta):
    pass

class Base(abc.ABC):
    @abc.abstractmethod
    def f(self): ...

class Color(enum.Enum):
    RED = 1

def outer(x):
    def inner():
        return x
    return inner

def gen():
    local = [1, 2]
    yield local

def mk_slotted():
    s = SlottedChild()
    s.a = [1]
    s.c = {"k": [2]}
    return s

keep = {
    "plain": [Plain(i) for i in range(40)],
    "slotted": [mk_slotted() for _ in range(10)],
    "mydict": MyDict(a=[1], b=2),
    "mylist": MyList([[1], 2]),
    "mytuple": MyTuple(([1], 2)),
    "myint": MyInt(5),
    "withmeta": WithMeta(),
    "closures": [outer([i]) for i in range(5)],
    "gen": gen(),
    "bound": Plain(99).method,
    "deque": collections.deque([[1], 2]),
    "od": collections.OrderedDict(a=[1]),
    "dd": collections.defaultdict(list, a=[1]),
    "counter": collections.Counter("abcab"),
    "partial": functools.partial(outer, [1]),
    "count": itertools.count(),
    "wr": weakref.ref(Plain),
    "wkd": weakref.WeakKeyDictionary(),
    "arr": array.array("d", [1.0, 2.0]),
    "dec": decimal.Decimal("3.14"),
    "bio": io.BytesIO(b"xyz"),
    "sio": io.StringIO("xyz"),
    "re": re.compile("x+y"),
    "set": {(1, 2), frozenset({3})},
    "intkeys": {1: [1], 2: [2], (3, 4): [3]},
    "mixedkeys": {"a": [1], 5: [2]},
    "ba": bytearray(b"abc"),
    "mv": memoryview(b"abcd"),
    "exc": ValueError("boom", [1]),
    "color": Color.RED,
    "lock": threading.Lock(),
    "cyc": [],
}
keep["cyc"].append(keep["cyc"])
next(keep["gen"])
"""


@pytest.fixture(scope="module")
def varied(tmp_path_factory):
    d = tmp_path_factory.mktemp("varied")
    return dump_in_subprocess(VARIED + "\nT.dump(referents=True)\n", d, "varied")


def test_every_gc_object_is_in_the_snapshot_with_its_type_name(varied):
    snap, truth = varied.snap, varied.truth
    assert len(truth.objects) > 1000
    missing = collections.Counter()
    wrong = collections.Counter()
    for addr, (tname, _size, _is_class, _managed) in truth.objects.items():
        node = snap.by_addr.get(addr)
        if node is None:
            missing[tname] += 1
        elif node.type != tname:
            wrong[(tname, node.type)] += 1
    assert not missing, f"objects of gc.get_objects() missing from the snapshot:\n{summarize(missing)}"
    assert not wrong, f"(expected type, snapshot type):\n{summarize(wrong)}"
    # user classes are module-qualified, builtins are not
    names = {t for t, *_ in truth.objects.values()}
    assert {"__main__.Plain", "__main__.SlottedChild", "__main__.MyDict", "dict", "list",
            "collections.deque", "collections.OrderedDict", "functools.partial"} <= names


def test_sizes_match_sys_getsizeof(varied):
    """size == sys.getsizeof(o) for every object of gc.get_objects(), plus
    what a lock owns beyond it as tracemalloc measures it (except instances
    of classes with a managed dict: see the next test)."""
    snap, truth = varied.snap, varied.truth
    bad = collections.Counter()
    checked = 0
    for addr, (tname, size, _is_class, managed) in truth.objects.items():
        if size is None or managed:
            continue
        checked += 1
        node = snap.by_addr[addr]
        if node.size != size:
            bad[(tname, size, node.size)] += 1
    assert checked > 1000
    assert not bad, f"(type, sys.getsizeof, snapshot size): count\n{summarize(bad)}"


# The most a values array of a managed-dict instance can take: CPython's
# shared keys hold at most 30 entries (SHARED_KEYS_MAX_SIZE), an array at
# most 31 slots behind a prefix of at most 32 bytes (3.13: its header too).
VALUES_MAX = 32 + 32 * 8


def test_sizes_of_instances_with_managed_dict(varied):
    """Instances of plain Python classes (managed dict / inline values):
    sys.getsizeof (with the two pre-header pointers and the GC header) plus
    their values array, which sys.getsizeof leaves out; its exact size is
    checked against tracemalloc in test_sizes_owned.py."""
    snap, truth = varied.snap, varied.truth
    bad = collections.Counter()
    checked = with_values = 0
    for addr, (tname, size, _is_class, managed) in truth.objects.items():
        if size is None or not managed:
            continue
        checked += 1
        node = snap.by_addr[addr]
        with_values += node.size > size
        if not size <= node.size <= size + VALUES_MAX:
            bad[(tname, size, node.size)] += 1
    assert checked >= 40
    assert with_values >= checked // 2
    assert not bad, f"(type, sys.getsizeof, snapshot size): count\n{summarize(bad)}"


def test_sizes_of_static_types(run_dump):
    """Static (non-heap) type objects are not GC objects, but
    sys.getsizeof(int) still counts a GC header (type is a GC type).
    collections.deque is static in 3.11 and a heap type from 3.12 on:
    gc.is_tracked says which."""
    r = run_dump("""
        import collections
        for t in (int, dict, type, object, collections.deque):
            T.mark(t.__name__, t, tracked=gc.is_tracked(t))
        T.dump(objects=False)
    """)
    bad = {}
    for name, m in r.truth.marks.items():
        node = r.node(name)
        assert node.type == "type"
        assert node.gc_tracked == m["tracked"], name
        if node.size != m["size"]:
            bad[name] = (m["size"], node.size)
    assert not bad, f"static type: (sys.getsizeof, snapshot size): {bad}"


def test_sizes_of_strs_lists_ints_dicts_and_sets(run_dump):
    """The sizes the dump computes instead of calling __sizeof__ (exact str
    in its compact ASCII form, exact list, int, dict, set, frozenset)
    against sys.getsizeof, with every other form of str beside them:
    Latin-1, UCS-2, UCS-4, empty, with a UTF-8 copy made by the C API,
    3.11's wstr copy, a str subclass; lists over- and exactly allocated;
    empty, small, big, split-table and holed dicts; small and big sets."""
    r = run_dump("""
        import ctypes
        class S(str):
            pass
        def fresh(text):
            return "".join([text[:1], text[1:]])   # not a constant: a new object
        strs = [fresh(t) for t in ("ascii text", "x", "caf\u00e9 latin-1", "\u0436\u0437 ucs-2",
                                   "\U0001f600 ucs-4", "ascii with utf8", "caf\u00e9 with utf8",
                                   "ascii with wstr", "\u0436 with wstr")]
        strs += ["", S("subclass"), S("caf\u00e9 subclass")]
        api = ctypes.pythonapi
        api.PyUnicode_AsUTF8.restype = ctypes.c_char_p
        api.PyUnicode_AsUTF8.argtypes = [ctypes.py_object]
        api.PyUnicode_AsUTF8(strs[5])
        api.PyUnicode_AsUTF8(strs[6])
        if sys.version_info < (3, 12):
            api.PyUnicode_AsUnicode.restype = ctypes.c_void_p
            api.PyUnicode_AsUnicode.argtypes = [ctypes.py_object]
            api.PyUnicode_AsUnicode(strs[7])
            api.PyUnicode_AsUnicode(strs[8])
        grown = []
        for i in range(17):
            grown.append(i)
        lists = [[], [1, 2, 3], list(range(100)), grown]
        ints = [0, 1, -1, 2 ** 30, 2 ** 60, -2 ** 90, 10 ** 100, True]
        class Obj:
            pass
        o = Obj()
        o.a, o.b = 1, 2
        split = o.__dict__                                # shares the class's keys
        holes = {i: i for i in range(50)}
        for i in range(40):
            del holes[i]
        dicts = [{}, {"a": 1}, {i: i for i in range(1000)}, split, holes, dict.fromkeys("abc")]
        sets = [set(), {1, 2}, set(range(1000)), frozenset(), frozenset(range(10))]
        everything = strs + lists + ints + dicts + sets
        T.mark("everything", everything)
        T.extra["sizes"] = [sys.getsizeof(x) for x in everything]
        T.dump(objects=False)
    """)
    node = r.node("everything")
    got = [r.snap.nodes[t].size for t, _, _ in node.edges if r.snap.nodes[t].type != "type"]
    assert got == r.truth.extra["sizes"]


def _edge_multisets(snap, node):
    kept = collections.Counter()
    keys = collections.Counter()
    for target, kind, _ in node.edges:
        addr = snap.nodes[target].addr
        if kind == KEY:
            keys[addr] += 1
        elif kind != WEAK:
            kept[addr] += 1
    return kept, keys


def test_edges_match_gc_get_referents_on_a_sample(varied):
    """For a few hundred GC objects (up to 4 of every type, plus random
    ones): the non-KEY, non-WEAK edge targets are gc.get_referents(o).

    The allowed differences: dict keys (CPython's dict_traverse reports
    the keys of a dict that is not str-keyed, which the agent labels KEY),
    and edges to the values of object members a C type declares in
    tp_members but does not traverse (read from Python as member
    descriptors: _phdtruth.c_member_ids).
    So: no edge target that is not a referent, and every referent that is
    not a non-KEY edge target is a KEY target.  Classes with a metaclass
    other than ``type`` have their own test below."""
    snap, truth = varied.snap, varied.truth
    by_type = collections.defaultdict(list)
    for addr, (tname, _s, is_class, _m) in sorted(truth.objects.items()):
        if is_class and tname != "type":
            continue
        by_type[tname].append(addr)
    rnd = random.Random(20240611)
    sample = set()
    for tname, addrs in by_type.items():
        sample.update(rnd.sample(addrs, min(4, len(addrs))))
    everything = [a for addrs in by_type.values() for a in addrs]
    sample.update(rnd.sample(everything, 150))
    assert len(sample) >= 250
    bad = {}
    for addr in sorted(sample):
        node = snap.by_addr[addr]
        kept, keys = _edge_multisets(snap, node)
        refs = collections.Counter(truth.referents[addr])
        # the agent also follows object members a C type declares but does
        # not traverse (tp_members: a descriptor's __name__, numpy's base)
        extra = truth.not_referents(addr, kept)
        unexplained = (refs - kept) - keys
        if extra or unexplained:
            bad[addr] = (node.type, len(refs), dict(extra), dict(unexplained))
    assert not bad, "edge targets != gc.get_referents:\n" + "\n".join(
        f"  {t}: {n} referents; edges that are no referent {x}; referents without an edge {u}"
        for t, n, x, u in list(bad.values())[:15])


def test_dict_keys_of_general_dicts_are_key_edges_and_referents(varied):
    """A dict with non-str keys: CPython visits its keys, the agent labels
    them KEY (so KEY edges are not always "extras" beyond tp_traverse)."""
    snap, truth = varied.snap, varied.truth
    found = 0
    for addr, (tname, *_r) in truth.objects.items():
        if tname != "dict":
            continue
        node = snap.by_addr[addr]
        keys = [snap.nodes[t] for t, k, _ in node.edges if k == KEY]
        if not any(k.type == "tuple" for k in keys):
            continue
        found += 1
        refs = collections.Counter(truth.referents[addr])
        for k in keys:
            assert refs[k.addr] >= 1
    assert found >= 1


def _metaclass_instances_mismatches(run, select):
    snap, truth = run.snap, run.truth
    bad = {}
    checked = 0
    for addr, (tname, _s, is_class, _m) in truth.objects.items():
        if not is_class or tname == "type" or not select(tname):
            continue
        checked += 1
        node = snap.by_addr[addr]
        kept, keys = _edge_multisets(snap, node)
        refs = collections.Counter(truth.referents[addr])
        missing = (refs - kept) - keys
        extra = truth.not_referents(addr, kept)
        if missing or extra:
            bad[node.preview] = (tname, sorted(snap.by_addr[a].preview or b"" for a in missing),
                                 sorted(snap.by_addr[a].type for a in extra))
    return checked, bad


def test_class_with_python_metaclass_references_its_metaclass(varied):
    """gc.get_referents(C) for a class C whose metaclass is a Python class
    (Meta, abc.ABCMeta, enum.EnumType) includes the metaclass:
    subtype_traverse visits Py_TYPE(C).  The snapshot must have that edge."""
    checked, bad = _metaclass_instances_mismatches(varied, lambda t: True)
    assert checked >= 3
    assert not bad, ("classes with a metaclass: (metaclass, referents without an edge, "
                     f"edges that are no referent):\n{summarize(collections.Counter(bad), 20)}")


@pytest.mark.slow
def test_classes_with_c_metaclass_edges_match_referents(stdlib):
    """ctypes types: their C metaclasses (PyCPointerType, PyCSimpleType...)
    have their own tp_traverse, which reports more than type_traverse."""
    checked, bad = _metaclass_instances_mismatches(stdlib, lambda t: t.startswith("_ctypes."))
    assert checked >= 3
    assert not bad, ("ctypes classes: (metaclass, referents without an edge (previews), "
                     f"edges that are no referent):\n{summarize(collections.Counter(bad), 20)}")


def test_retaining_edges_are_owned_references(varied):
    """Every non-WEAK edge stands for a reference the source owns, so no
    object has more retaining edges pointing at it than its refcount.
    CPython's exceptions: deep-frozen static objects (3.11: refcount
    999999999 and up; 3.12 and later: immortal, recorded as refcount 0) do
    not count their references, immortal objects (refcount 0) have no
    meaningful count, and static types are pointed at without references
    (tp_base, instances of static types)."""
    snap = varied.snap
    inn = collections.Counter()
    for n in snap.nodes:
        if n.refcount >= 999_999_999 or n.refcount == 0:
            continue
        for t, k, _ in n.edges:
            if k != WEAK:
                inn[t] += 1
    bad = collections.Counter()
    for n in snap.nodes:
        if n.refcount and inn[n.index] > n.refcount and not (n.type == "type" and not n.gc_tracked):
            bad[(n.type, n.preview)] += 1
    assert not bad, summarize(bad)


def test_return_value_agrees_with_the_file(varied):
    snap, res = varied.snap, varied.truth.result
    assert {"objects", "edges", "bytes", "seconds"} <= set(res)
    assert res["objects"] == len(snap.nodes)
    assert res["edges"] == snap.n_edges == sum(len(n.edges) for n in snap.nodes)
    assert res["bytes"] == os.path.getsize(varied.path) == snap.file_size
    assert 0 <= res["seconds"] < 60
    if "size" in res:
        assert res["size"] == snap.total_size
    if "types" in res:
        assert res["types"] == len(snap.types)
    if "roots" in res:
        assert res["roots"] == len(snap.roots)


def test_header_fields(varied):
    snap, truth = varied.snap, varied.truth
    assert snap.version == snapreader.FORMAT_VERSION
    assert snap.pointer_size == (8 if sys.maxsize > 2**32 else 4)
    assert snap.python == tuple(sys.version_info[:3])
    assert snap.pid == truth.pid
    assert snap.values and snap.collected
    st = os.stat(varied.path)
    assert snap.timestamp_ns <= st.st_mtime_ns + 10**9
    assert st.st_mtime_ns - snap.timestamp_ns < 60 * 10**9
    assert 0 < snap.start_time_ns <= snap.timestamp_ns
    assert snap.timestamp_ns - snap.start_time_ns < 60 * 10**9


def test_types_table(varied):
    snap = varied.snap
    names = [t.name for t in snap.types]
    assert len(names) == len(set(names)), "a type appears twice in TYPES"
    for t in snap.types:
        if t.node is not None:  # the node is that type object: its preview is its name
            pv = snap.nodes[t.node].preview.decode()
            assert t.name == pv or t.name.endswith("." + pv), (t, snap.nodes[t.node])
    assert sum(t.node is not None for t in snap.types) > len(snap.types) // 2
    # every node's type id is consistent with its type's node, for classes we know
    plain = [n for n in snap.nodes if n.type == "__main__.Plain"]
    assert len(plain) == 41
    ptype = snap.types[plain[0].type_id]
    assert ptype.node is not None and snap.nodes[ptype.node].preview == b"Plain"
    for n in plain:  # an instance refers to its class (TYPE or the first .__class__)
        cls_edges = [t for t, k, p in n.edges if k == TYPE or (k == NAME and p == "__class__")]
        assert cls_edges == [ptype.node]


def test_roots(varied):
    snap = varied.snap
    kinds = collections.Counter(r.kind for r in snap.roots)
    for k in (1, 2, 3):
        assert kinds[k] == 1, kinds
    assert kinds[4] >= 1 and kinds[6] >= 1
    by_kind = {r.kind: snap.nodes[r.node] for r in snap.roots if r.kind in (1, 2, 3)}
    assert all(n.type == "dict" for n in by_kind.values())
    for r in snap.roots:
        if r.kind == 6:
            assert r.thread_id != 0 and r.name
    # the agent's own frames (pyheapdiff/__init__.py) are not roots
    agent_file = str(BUILD_PY / "pyheapdiff" / "__init__.py")
    assert not [r for r in snap.roots if r.name and agent_file in r.name]
    # ... but the caller's are: _phdtruth.dump has a local 'objs'
    assert [r for r in snap.roots if r.kind == 6 and r.name.startswith("dump (") and
            r.name.endswith(" local objs")]


def test_root_objects_are_the_interpreters(run_dump):
    r = run_dump("""
        import builtins
        T.mark("modules", sys.modules)
        T.mark("sysdict", sys.__dict__)
        T.mark("builtins", builtins.__dict__)
        T.dump(objects=False)
    """)
    snap = r.snap
    roots = {rt.kind: rt for rt in snap.roots if rt.kind in (1, 2, 3)}
    assert snap.nodes[roots[1].node].addr == r.truth.mark("modules")["id"]
    assert snap.nodes[roots[2].node].addr == r.truth.mark("sysdict")["id"]
    assert snap.nodes[roots[3].node].addr == r.truth.mark("builtins")["id"]


# ---------------------------------------------------------------------------
# Leaves, untracked containers, previews, values=False

PREVIEW_VALUES = {
    "s_short": "'hello-' + 'x' * 3",
    "s_long": "'L' * 100 + 'tail'",
    "s_utf8": "'\u00e9' * 50",
    "s_cut": "'a' * 79 + '\u20ac'",
    "s_astral": "'b' * 77 + '\U0001F600'",
    "s_empty_not": "chr(0x41) * 2",
    "b_bin": "bytes(range(256))",
    "b_short": "b'\\x00\\x01bin' + b'ary'",
    "ba": "bytearray(b'mutable-bytes')",
    "i_pos": "int('123456789012')",
    "i_neg": "-int('4242424242')",
    "i_min": "-(2 ** 63)",
    "i_max": "2 ** 63 - 1",
    "i_big": "2 ** 70 + 1",
    "b_true": "bool(int('1'))",
    "f_tenth": "float('0.1')",
    "f_third": "1 / int('3')",
    "f_big": "float('1e300') * 1.5",
    "f_int": "float(int('100'))",
    "f_neg": "-float('2.5e-8')",
    "f_subnormal": "float('5e-324')",
    "f_inf": "float('inf')",
    "f_negzero": "-float('0')",
}


def expected_preview(v):
    """The spec's preview of a leaf value, computed with Python."""
    if isinstance(v, bool):
        return str(v).encode()
    if isinstance(v, str):
        out = b""
        for ch in v:
            e = ch.encode("utf-8")
            if len(out) + len(e) > 80:
                break
            out += e
        return out or None
    if isinstance(v, (bytes, bytearray)):
        return bytes(v[:80]) or None
    if isinstance(v, int):
        return str(v).encode() if -(2 ** 63) <= v < 2 ** 63 else None
    if isinstance(v, float):
        return repr(float(v)).encode()
    raise TypeError(v)


@pytest.fixture(scope="module")
def leaves(tmp_path_factory):
    d = tmp_path_factory.mktemp("leaves")
    code = "VALUES = {\n" + "".join(f"    {k!r}: {v},\n" for k, v in PREVIEW_VALUES.items()) + "}\n"
    code += textwrap.dedent("""
        import collections, json as _json
        for k, v in VALUES.items():
            T.mark(k, v)
        ud = {"a": 1, "b": "two", "c": 3.0}
        ut = tuple(range(int("5")))
        nested = (ut, ("x", 1))
        rc_obj = float("98765.4321")
        rc_holder = [rc_obj, rc_obj]
        rc_dict = {"k": rc_obj}
        gc.collect()  # untracks the tuples of atomic values
        T.mark("rc_obj", rc_obj)
        T.extra["rc"] = sys.getrefcount(rc_obj) - 1
        T.mark("ud", ud)
        T.mark("ut", ut)
        T.mark("nested", nested)
        for k in ud:
            T.mark("ud." + k, ud[k])
        T.mark("module", collections)
        T.mark("function", collections.namedtuple)
        T.mark("class", collections.OrderedDict)
        heap_cls = type("Heap", (), {})
        T.mark("heapclass", heap_cls)
        T.mark("code", collections.namedtuple.__code__)
        def f():
            pass
        T.mark("localfunc", f)
        T.extra["names"] = {
            "module": collections.__name__,
            "function": collections.namedtuple.__qualname__,
            "localfunc": f.__qualname__,
            "class": collections.OrderedDict.__qualname__,
            "heapclass": heap_cls.__qualname__,
            "code": collections.namedtuple.__code__.co_qualname,
        }
        T.dump(objects=False)
    """)
    return dump_in_subprocess(code, d, "leaves")


@pytest.mark.parametrize("name", sorted(PREVIEW_VALUES))
def test_leaf_previews(leaves, name):
    value = eval(PREVIEW_VALUES[name])
    node = leaves.node(name)
    m = leaves.truth.mark(name)
    assert node.type == m["type"] == type(value).__name__
    assert node.size == m["size"]
    assert node.preview == expected_preview(value), (node.preview, expected_preview(value))
    assert bool(node.flags & snapreader.NODE_PREVIEW) == (node.preview is not None)
    assert not node.gc_tracked


def test_untracked_containers_are_present(leaves):
    snap = leaves.snap
    for name in ("ud", "ut", "nested"):
        m = leaves.truth.mark(name)
        assert m["tracked"] is False, f"precondition: {name} should be untracked by CPython"
        node = leaves.node(name)
        assert node.type == m["type"]
        assert node.size == m["size"]
        assert not node.gc_tracked
    ud = leaves.node("ud")
    values = {snap.nodes[p].preview: snap.nodes[t].addr for t, k, p in ud.edges if k == VALUE}
    assert values == {b"a": leaves.truth.mark("ud.a")["id"], b"b": leaves.truth.mark("ud.b")["id"],
                      b"c": leaves.truth.mark("ud.c")["id"]}
    ut = leaves.node("ut")
    assert [(k, p) for _, k, p in ut.edges] == [(INDEX, i) for i in range(5)]
    assert [snap.nodes[t].preview for t, _, _ in ut.edges] == [str(i).encode() for i in range(5)]
    nested = leaves.node("nested")
    assert snap.nodes[nested.edges[0][0]].addr == leaves.truth.mark("ut")["id"]


@pytest.mark.parametrize("name", ["module", "function", "localfunc", "class", "heapclass", "code"])
def test_name_previews(leaves, name):
    """Always recorded: a module's name, the __qualname__ of a function,
    class (static C types included) or code object."""
    node = leaves.node(name)
    assert node.type == leaves.truth.mark(name)["type"]
    assert node.preview == leaves.truth.extra["names"][name].encode()


def test_refcount_and_in_edges(leaves):
    """refcount is ob_refcnt at dump time; here every reference to the
    object is from the heap, so it also equals the number of edges to it."""
    snap = leaves.snap
    node = leaves.node("rc_obj")
    assert node.refcount == leaves.truth.extra["rc"] == 4
    sources = sorted((snap.nodes[i].type, k) for i, n in enumerate(snap.nodes)
                     for t, k, _ in n.edges if t == node.index)
    assert sources == [("dict", VALUE), ("dict", VALUE), ("list", INDEX), ("list", INDEX)]


SECRET_CODE = """
    import binascii
    secret = "SeCrEt-" + binascii.hexlify(os.urandom(12)).decode()
    bsecret = b"BySeCrEt-" + binascii.hexlify(os.urandom(12))
    basecret = bytearray(b"BaSeCrEt-" + binascii.hexlify(os.urandom(12)))
    holder = {"s": secret, "b": bsecret, "ba": basecret, "n": 123456789, "f": 2.5}
    T.extra["secrets"] = [secret, bsecret.decode(), basecret.decode()]
    T.mark("n", holder["n"])
    T.mark("f", holder["f"])
    T.mark("s", secret)
    T.dump(SNAP + ".novalues", values=False, objects=False)
    T.dump(SNAP + ".values", values=True, objects=False)
"""


def test_values_false_drops_str_and_bytes_content(run_dump):
    r = run_dump(SECRET_CODE)
    secrets = [s.encode() for s in r.truth.extra["secrets"]]
    with open(str(r.path) + ".novalues", "rb") as f:
        novalues = f.read()
    with open(str(r.path) + ".values", "rb") as f:
        withvalues = f.read()
    for s in secrets:
        assert s in withvalues
        assert s not in novalues
        assert s[:9] not in novalues
    snap = snapreader.parse(novalues, "novalues")
    assert not snap.values and snap.collected
    by = snapreader.index_by_addr(snap)
    for name in ("n", "f", "s"):
        assert by[r.truth.mark(name)["id"]].preview is None
    for n in snap.nodes:
        if n.type in ("str", "bytes", "bytearray", "int", "float", "bool"):
            assert n.preview is None, n
    # names are still recorded
    assert any(n.type == "module" and n.preview == b"sys" for n in snap.nodes)
    assert any(n.type == "function" and n.preview == b"dump" for n in snap.nodes)
    assert "__main__" in snap.strings or any(n.preview == b"__main__" for n in snap.nodes)
    snap2 = snapreader.parse(withvalues, "values")
    assert snap2.values
    by2 = snapreader.index_by_addr(snap2)
    assert by2[r.truth.mark("n")["id"]].preview == b"123456789"
    assert by2[r.truth.mark("f")["id"]].preview == b"2.5"


# ---------------------------------------------------------------------------
# Labels

LABELS = r"""
import threading, weakref

class Payload:
    pass

holder = []

class Plain:
    def __init__(self):
        self.attr_one = Payload()
        self.attr_two = [1, 2]
    def method(self):
        return 1

class Slotted:
    __slots__ = ("slot_a", "slot_b")

def outer():
    free_var = Payload()
    holder.append(free_var)
    default = Payload()
    def inner(a=default, *, kw=Payload()):
        return free_var
    return inner

def genfunc():
    gen_local = Payload()
    holder.append(gen_local)
    yield 1

async def corofunc():
    coro_local = Payload()
    holder.append(coro_local)
    await Awaitable()

class Awaitable:
    def __await__(self):
        yield "suspended"

def failing():
    tb_local = Payload()
    holder.append(tb_local)
    raise ValueError("x")

plain = Plain()
slotted = Slotted()
slotted.slot_b = Payload()
d = {"the_key": Payload(), "other": 1}
lst = [0, 1, Payload()]
tup = (0, Payload())
fn = outer()
g = genfunc()
next(g)
co = corofunc()
co.send(None)
try:
    failing()
except ValueError as exc:
    tb = exc.__traceback__
bm = plain.method
wr_target = Payload()
wr = weakref.ref(wr_target)
code_wr = weakref.ref(Plain.method.__code__)

go = threading.Event()
ready = threading.Event()
def worker():
    thread_local_var = Payload()
    T.mark("thread_local_var", thread_local_var)
    T.extra["tid"] = threading.get_ident()
    ready.set()
    go.wait()
th = threading.Thread(target=worker, name="blocked-worker")
th.start()
ready.wait()

M = T.mark
M("plain", plain); M("plain.attr_one", plain.attr_one); M("plain.attr_two", plain.attr_two)
M("Plain", Plain); M("Plain.__mro__", Plain.__mro__); M("Plain.__bases__", Plain.__bases__)
M("Plain.method", Plain.__dict__["method"]); M("object", object)
M("slotted", slotted); M("slotted.slot_b", slotted.slot_b)
M("d", d); M("d.the_key", d["the_key"])
M("lst", lst); M("lst[2]", lst[2]); M("tup", tup); M("tup[1]", tup[1])
M("fn", fn); M("fn.__closure__", fn.__closure__); M("cell", fn.__closure__[0])
M("free_var", holder[0]); M("fn.__defaults__", fn.__defaults__)
M("fn.__kwdefaults__", fn.__kwdefaults__); M("fn.__code__", fn.__code__)
M("globals", globals())
M("g", g); M("gen_local", holder[1]); M("co", co); M("coro_local", holder[2])
M("tb_frame", tb.tb_next.tb_frame); M("tb_local", holder[3])
M("bm", bm); M("wr", wr); M("wr_target", wr_target)
M("code_wr", code_wr); M("method_code", Plain.method.__code__)
T.dump(objects=False)
go.set()
th.join()
"""


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    d = tmp_path_factory.mktemp("labels")
    return dump_in_subprocess(LABELS, d, "labels")


def edges_to(run, src, dst_mark):
    """Edges (kind, payload) of node src pointing at the marked object."""
    snap = run.snap
    addr = run.truth.mark(dst_mark)["id"]
    return [(k, p) for t, k, p in src.edges if snap.nodes[t].addr == addr]


def test_label_dict_value(labels):
    snap = labels.snap
    d = labels.node("d")
    (kind, key), = edges_to(labels, d, "d.the_key")
    assert kind == VALUE
    assert snap.nodes[key].preview == b"the_key"
    assert snap.nodes[key].type == "str"
    # the key object is the target of the edge just before, labelled KEY
    i = [e[0] for e in d.edges].index(snap.by_addr[labels.truth.mark("d.the_key")["id"]].index)
    assert d.edges[i - 1] == (key, KEY, None)
    assert snap.label(d.edges[i]) == "[b'the_key']"


def test_label_instance_attributes_inline_values(labels):
    plain = labels.node("plain")
    assert edges_to(labels, plain, "plain.attr_one") == [(NAME, "attr_one")]
    assert edges_to(labels, plain, "plain.attr_two") == [(NAME, "attr_two")]
    # the instance's __dict__ was never materialised: the values are inline
    assert not [e for e in plain.edges if e[1] == NAME and e[2] == "__dict__"]
    assert not [e for e in plain.edges if e[1] == NONE]
    assert edges_to(labels, plain, "Plain") in ([(TYPE, None)], [(NAME, "__class__")])


def test_label_slots(labels):
    slotted = labels.node("slotted")
    assert edges_to(labels, slotted, "slotted.slot_b") == [(NAME, "slot_b")]
    assert not [e for e in slotted.edges if e[2] == "slot_a"]


def test_label_list_and_tuple_index(labels):
    assert edges_to(labels, labels.node("lst"), "lst[2]") == [(INDEX, 2)]
    lst = labels.node("lst")
    assert [(k, p) for _, k, p in lst.edges] == [(INDEX, 0), (INDEX, 1), (INDEX, 2)]
    assert edges_to(labels, labels.node("tup"), "tup[1]") == [(INDEX, 1)]


def test_label_closure_cells(labels):
    fn = labels.node("fn")
    assert edges_to(labels, fn, "fn.__closure__") == [(NAME, "__closure__")]
    closure = labels.node("fn.__closure__")
    assert edges_to(labels, closure, "cell") == [(NAME, "free_var")]
    assert edges_to(labels, labels.node("cell"), "free_var") == [(NAME, "cell_contents")]


def test_label_many_closures(run_dump):
    """Hundreds of closures with one to four free variables, among plain
    tuples that hold cells too (by index) and functions sharing a code
    object: every closure tuple's cells are named after its own code's
    free variables, whatever order the walk stages them in, and so is one
    the walk queues before it reaches its function."""
    r = run_dump("""
        def make(k, i):
            a, b, c, d = i, [i], str(i), (i,)
            if k == 1:
                return lambda: a
            if k == 2:
                return lambda: (a, b)
            if k == 3:
                return lambda: (c, a, d)
            return lambda: (d, c, b, a)
        fns = [make(i % 4 + 1, i) for i in range(400)]
        plain = [(f.__closure__[0], i) for i, f in enumerate(fns[::7])]   # cells by index
        late = make(4, 999)
        early = [[late.__closure__], late]   # the tuple is queued before its function is walked
        del late
        T.mark("fns", fns)
        T.mark("plain", plain)
        T.mark("early", early)
        T.extra["names"] = [list(f.__code__.co_freevars) for f in fns]
        T.dump()
    """)
    snap = r.snap
    names = r.truth.extra["names"]
    fns = [snap.nodes[t] for t, _, _ in r.node("fns").edges]
    assert len(fns) == 400
    for fn, want in zip(fns, names):
        (closure,) = [snap.nodes[t] for t, k, p in fn.edges if k == NAME and p == "__closure__"]
        assert [(k, p) for _, k, p in closure.edges] == [(NAME, n) for n in want]
    for t, _, _ in r.node("plain").edges:
        assert [k for _, k, _ in snap.nodes[t].edges] == [INDEX, INDEX]
    late = snap.nodes[r.node("early").edges[1][0]]
    (closure,) = [snap.nodes[t] for t, k, p in late.edges if k == NAME and p == "__closure__"]
    assert [(k, p) for _, k, p in closure.edges] == [(NAME, n) for n in names[3]]


def test_dict_items_in_order(run_dump):
    """A dict's KEY and VALUE edges come in items() order, a key before its
    value, for str-keyed and general tables, with deleted entries skipped,
    and for a split table (an instance's materialised __dict__)."""
    r = run_dump("""
        class Obj:
            pass
        o = Obj()
        o.first, o.second, o.third = "v1" * 2, "v2" * 2, "v3" * 2
        strs = {f"k{i}": f"v{i}" * 2 for i in range(30)}
        for i in range(0, 30, 3):
            del strs[f"k{i}"]
        general = {i * 1000: str(i) * 3 for i in range(30)}
        general[(1, 2)] = "tuple key"
        for i in range(5, 25):
            del general[i * 1000]
        dicts = [strs, general, o.__dict__, {}]
        T.mark("dicts", dicts)
        T.extra["items"] = [[[repr(k) if not isinstance(k, str) else k, v] for k, v in d.items()] for d in dicts]
        T.dump()
    """)
    snap = r.snap
    got = []
    for t, _, _ in r.node("dicts").edges:
        d = snap.nodes[t]
        if d.type != "dict":
            continue
        pairs, key = [], None
        for target, kind, payload in d.edges:
            n = snap.nodes[target]
            if kind == KEY:
                key = n
            elif kind == VALUE:
                assert payload == key.index
                k = key.preview.decode() if key.type == "str" else repr(int(key.preview)) if key.type == "int" else "(1, 2)"
                pairs.append([k, n.preview.decode()])
        got.append(pairs)
    assert got == r.truth.extra["items"]


def test_label_function_parts(labels):
    fn = labels.node("fn")
    assert edges_to(labels, fn, "globals") == [(NAME, "__globals__")]
    assert edges_to(labels, fn, "fn.__defaults__") == [(NAME, "__defaults__")]
    assert edges_to(labels, fn, "fn.__kwdefaults__") == [(NAME, "__kwdefaults__")]
    assert edges_to(labels, fn, "fn.__code__") == [(NAME, "__code__")]
    assert fn.preview == b"outer.<locals>.inner"


def test_label_class_parts(labels):
    snap = labels.snap
    cls = labels.node("Plain")
    assert cls.preview == b"Plain"
    assert edges_to(labels, cls, "Plain.__mro__") == [(NAME, "__mro__")]
    assert edges_to(labels, cls, "Plain.__bases__") == [(NAME, "__bases__")]
    dicts = [snap.nodes[t] for t, k, p in cls.edges if k == NAME and p == "__dict__"]
    assert len(dicts) == 1 and dicts[0].type == "dict"
    method = labels.truth.mark("Plain.method")["id"]
    assert [snap.nodes[p].preview for t, k, p in dicts[0].edges
            if k == VALUE and snap.nodes[t].addr == method] == [b"method"]
    mro = labels.node("Plain.__mro__")
    assert [snap.nodes[t].addr for t, _, _ in mro.edges] == [labels.truth.mark("Plain")["id"],
                                                             labels.truth.mark("object")["id"]]


def test_label_bound_method(labels):
    bm = labels.node("bm")
    assert bm.type == "method"
    assert edges_to(labels, bm, "plain") == [(NAME, "__self__")]
    assert sorted(p for _, k, p in bm.edges) == ["__func__", "__self__"]


def test_label_weakref(labels):
    wr = labels.node("wr")
    assert wr.type == "weakref.ReferenceType"
    assert edges_to(labels, wr, "wr_target") == [(WEAK, None)]
    labels.node("wr_target")


def test_code_object_does_not_retain_its_weakrefs(labels):
    """A code object's weak-reference list is a borrowed pointer to the
    weakref object, not a reference: no retaining edge (weakref's refcount
    is 1, held by the global)."""
    code = labels.node("method_code")
    assert labels.node("code_wr").refcount == 1
    assert [e for e in edges_to(labels, code, "code_wr") if e[0] != WEAK] == []


def test_label_frame_locals_of_a_finished_frame(labels):
    """A frame object kept by a traceback owns its locals: NAME edges."""
    frame = labels.node("tb_frame")
    assert frame.type == "frame"
    assert edges_to(labels, frame, "tb_local") == [(NAME, "tb_local")]


def test_label_locals_of_a_suspended_generator(labels):
    """A suspended generator holds its frame's locals; the edge to a local
    should carry the variable's name (spec: frames have locals by name)."""
    g = labels.node("g")
    assert g.type == "generator"
    assert edges_to(labels, g, "gen_local") == [(NAME, "gen_local")]


def test_label_locals_of_a_suspended_coroutine(labels):
    co = labels.node("co")
    assert co.type == "coroutine"
    assert edges_to(labels, co, "coro_local") == [(NAME, "coro_local")]


def test_thread_frame_roots(labels):
    """A thread blocked on an Event: its frames' locals are roots of kind 6
    with that thread's id and a name naming the variable."""
    snap = labels.snap
    tid = labels.truth.extra["tid"]
    target = labels.node("thread_local_var")
    roots = [r for r in snap.roots if r.node == target.index]
    assert roots, "the thread's local is not a root"
    assert [(r.kind, r.thread_id) for r in roots] == [(6, tid)]
    assert "thread_local_var" in roots[0].name
    assert roots[0].name.startswith("worker (") and roots[0].name.endswith(" local thread_local_var")
    # the rest of that thread's stack (threading internals) is there too
    assert any(r.thread_id == tid and "Event.wait" in r.name for r in snap.roots)
    assert {r.thread_id for r in snap.roots if r.kind == 6} >= {tid}
    assert len({r.thread_id for r in snap.roots if r.kind == 6}) == 2


# ---------------------------------------------------------------------------
# collect=

CYCLE = """
    class UniqueCycle:
        pass
    gc.disable()
    a = UniqueCycle(); b = UniqueCycle()
    a.other = b; b.other = a
    del a, b
    T.dump(SNAP + ".nocollect", collect=False, objects=False)
    {enable}
    T.dump(SNAP + ".collect", collect=True, objects=False)
"""


def _count(path, tname):
    snap = read_snapshot(path)
    return snap, sum(n.type == tname for n in snap.nodes)


def test_collect_false_keeps_garbage_cycle_that_collect_true_drops(run_dump):
    r = run_dump(CYCLE.format(enable="gc.enable()"))
    snap, n = _count(str(r.path) + ".nocollect", "__main__.UniqueCycle")
    assert not snap.collected
    assert n == 2
    snap, n = _count(str(r.path) + ".collect", "__main__.UniqueCycle")
    assert snap.collected
    assert n == 0


def test_collect_true_collects_even_when_gc_is_disabled(run_dump):
    """collect=True promises a full gc.collect() (which works with the
    automatic GC disabled) and the header then says COLLECTED."""
    r = run_dump(CYCLE.format(enable=""))
    assert _count(str(r.path) + ".nocollect", "__main__.UniqueCycle")[1] == 2
    snap, n = _count(str(r.path) + ".collect", "__main__.UniqueCycle")
    assert snap.collected
    assert n == 0, "collect=True kept an unreachable cycle (gc was disabled)"


# ---------------------------------------------------------------------------
# Exotic objects

def test_million_deep_linked_structures(run_dump, pyheapdiff_bin):
    r = run_dump("""
        head = None
        for _ in range(1_000_000):
            head = [head]
        class Link:
            __slots__ = ("next",)
        chain = None
        for _ in range(200_000):
            l = Link(); l.next = chain; chain = l
        res = pyheapdiff.dump(SNAP)
        print(res["objects"], res["edges"], flush=True)
        os._exit(0)  # skip tearing down the chains
    """, timeout=120)
    objects, edges = map(int, r.stdout.split())
    assert objects > 1_200_000
    out = subprocess.run([pyheapdiff_bin, "info", "--json", str(r.path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["objects"] == objects and info["references"] == edges
    top = {t["type"]: t["count"] for t in info["top_types"]}
    assert top["list"] >= 1_000_000
    assert top["__main__.Link"] == 200_000


HOSTILE = r"""
CALLS = []
ARMED = [False]
LOG = os.open(SNAP + ".calls", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

def record(what):
    if ARMED[0]:
        CALLS.append(what)
        os.write(LOG, what.encode() + b"\n")
        print("HOSTILE CALL", what)

class HostileMeta(type):
    def __repr__(cls): record("meta.repr"); raise RuntimeError("repr")
    def __getattribute__(cls, n): record("meta.getattribute:" + n); return type.__getattribute__(cls, n)
    def __eq__(cls, o): record("meta.eq"); raise RuntimeError
    def __hash__(cls): record("meta.hash"); return 1
    def __sizeof__(cls): record("meta.sizeof"); raise RuntimeError

class Hostile(metaclass=HostileMeta):
    __slots__ = ("a", "b", "__dict__", "__weakref__")
    def __repr__(self): record("repr"); raise RuntimeError("repr")
    def __str__(self): record("str"); raise RuntimeError("str")
    def __eq__(self, o): record("eq"); raise RuntimeError("eq")
    def __hash__(self): record("hash"); raise RuntimeError("hash")
    def __getattr__(self, n): record("getattr:" + n); raise RuntimeError("getattr")
    def __getattribute__(self, n): record("getattribute:" + n); raise RuntimeError("getattribute")
    def __sizeof__(self): record("sizeof"); raise RuntimeError("sizeof")
    def __del__(self): record("del")
    def __len__(self): record("len"); raise RuntimeError
    def __index__(self): record("index"); raise RuntimeError
    def __class_getitem__(cls, i): record("class_getitem")
    @property
    def __class__(self): record("__class__"); raise RuntimeError

class HostileKey(str):
    def __eq__(self, o): record("key.eq"); return str.__eq__(self, o)
    def __hash__(self): record("key.hash"); return str.__hash__(self)

class SizedInPython:
    __slots__ = ("x",)
    def __sizeof__(self): record("SizedInPython.sizeof"); return 10**6

class PyFloat(float):
    def __repr__(self): record("float.repr"); raise RuntimeError
class PyInt(int):
    def __index__(self): record("int.index"); raise RuntimeError
    def __int__(self): record("int.int"); raise RuntimeError
class PyStr(str):
    def __str__(self): record("str.str"); raise RuntimeError

hostiles = [Hostile() for _ in range(3)]
object.__setattr__(hostiles[0], "a", [1])
object.__setattr__(hostiles[0], "dynamic", {"x": 1})
kd = {HostileKey("k1"): Hostile(), HostileKey("k2"): 2}
sized = SizedInPython()
leaves = [PyFloat(1.5), PyInt(7), PyStr("pystr")]
T.mark("h0", hostiles[0])
T.mark("Hostile", Hostile)
T.mark("kd", kd)
T.mark("sized", sized)
for i, v in enumerate(leaves):
    T.mark(f"leaf{i}", v)
ARMED[0] = True
res = T.dump(referents=True)
ARMED[0] = False
T.extra["calls"] = CALLS
os.close(LOG)
import json as _j
with open(T.TRUTH) as _f:
    _d = _j.load(_f)
_d["extra"]["calls"] = CALLS
with open(T.TRUTH, "w") as _f:
    _j.dump(_d, _f)
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    return dump_in_subprocess(HOSTILE, d, "hostile")


def test_hostile_dunders_are_never_called(hostile):
    r = hostile
    assert r.truth.extra["calls"] == []
    with open(str(r.path) + ".calls") as f:
        assert f.read() == ""
    assert "HOSTILE" not in r.stdout
    snap = r.snap
    h0 = r.node("h0")
    assert h0.type == "__main__.Hostile"
    names = {p for _, k, p in h0.edges if k == NAME}
    # "dynamic" is a managed-dict attribute: a NAME edge where CPython keeps
    # it as an inline value (3.11, 3.12), a key of the instance's __dict__
    # where the class has __dict__ in __slots__ and no inline values (3.13)
    for t, k, p in h0.edges:
        if k == NAME and p == "__dict__":
            names |= {snap.nodes[kt].preview.decode() for kt, kk, _ in snap.nodes[t].edges if kk == KEY}
    assert {"a", "dynamic"} <= names
    assert r.node("Hostile").type == "__main__.HostileMeta"
    kd = r.node("kd")
    assert sorted(snap.nodes[p].preview for _, k, p in kd.edges if k == VALUE) == [b"k1", b"k2"]
    for i, (tname, pv) in enumerate([("__main__.PyFloat", b"1.5"), ("__main__.PyInt", b"7"),
                                     ("__main__.PyStr", b"pystr")]):
        n = r.node(f"leaf{i}")
        assert (n.type, n.preview) == (tname, pv)


def test_python_level_sizeof_gets_the_formula(hostile):
    """A class overriding __sizeof__ in Python: the spec's formula
    (object.__sizeof__ plus the pre-header), not the override's value."""
    r = hostile
    sized = r.node("sized")
    assert sized.size == r.truth.mark("sized")["size"]
    assert sized.size < 10**6


def test_hostile_objects_edges_match_referents(hostile):
    r = hostile
    snap, truth = r.snap, r.truth
    for name in ("h0", "kd", "sized"):
        addr = truth.mark(name)["id"]
        kept, keys = _edge_multisets(snap, snap.by_addr[addr])
        refs = collections.Counter(truth.referents[addr])
        assert not truth.not_referents(addr, kept) and not (refs - kept) - keys, name


STDLIB = r"""
import array, collections, ctypes, decimal, fractions, functools, io, itertools
import operator, re, sqlite3, types, weakref, enum, abc, datetime

class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]

class Meta(type):
    def __new__(mcls, name, bases, ns):
        ns["added_by_meta"] = [name]
        return super().__new__(mcls, name, bases, ns)

class WithMeta(metaclass=Meta):
    pass

class SubMeta(Meta):
    pass

class Deeper(WithMeta, metaclass=SubMeta):
    pass

class Shape(abc.ABC):
    @abc.abstractmethod
    def area(self): ...

class Flag(enum.IntFlag):
    A = 1
    B = 2

def gen():
    x = [1]
    yield x
    yield 2

async def agen():
    y = [2]
    yield y

class Suspend:
    def __await__(self):
        yield "suspended"

async def coro():
    z = [3]
    await Suspend()

conn = sqlite3.connect(":memory:")
conn.execute("create table t (a)")
cursor = conn.execute("select 1")
tmpfile = open(SNAP + ".txt", "w+")
g = gen(); next(g)
ag = agen(); agi = ag.__anext__()
c = coro()
c.send(None)
objs = {
    "sqlite_conn": conn,
    "sqlite_cursor": cursor,
    "array": array.array("i", range(100)),
    "ctypes_array": (ctypes.c_int * 50)(),
    "ctypes_struct": Point(1, 2.0),
    "ctypes_ptr": ctypes.pointer(ctypes.c_long(5)),
    "decimal": decimal.Decimal("1.10"),
    "fraction": fractions.Fraction(1, 3),
    "count": itertools.count(5),
    "chain": itertools.chain([1], [2]),
    "bytesio": io.BytesIO(b"abc" * 100),
    "stringio": io.StringIO("abc"),
    "textio": tmpfile,
    "deque": collections.deque(range(10), maxlen=20),
    "partial": functools.partial(print, 1, sep=""),
    "pattern": re.compile(r"(\w+)@(\w+)"),
    "match": re.match(r"a(b)", "ab"),
    "itemgetter": operator.itemgetter(1),
    "mappingproxy": types.MappingProxyType({"a": 1}),
    "simplens": types.SimpleNamespace(a=[1]),
    "generator": g,
    "asyncgen": ag,
    "coroutine": c,
    "withmeta": WithMeta,
    "deeper": Deeper,
    "deeper_inst": Deeper(),
    "abc": Shape,
    "flag": Flag.A | Flag.B,
    "datetime": datetime.datetime(2020, 1, 2, 3, 4, 5),
    "proxy": weakref.proxy(WithMeta),
    "wvd": weakref.WeakValueDictionary(),
    "lru": functools.lru_cache(maxsize=4)(lambda v: v),
    "staticmethod": staticmethod(len),
    "classmethod": classmethod(len),
    "property": property(len),
    "slice": slice(1, 2, 3),
    "range": range(10),
    "frozenset": frozenset({1, 2}),
    "complex": complex(1, 2),
    "ellipsis": ...,
    "notimpl": NotImplemented,
    "memoryview": memoryview(bytearray(b"xyz")),
    "cell_less_lambda": lambda: 0,
}
objs["lru"](1)
for k, v in objs.items():
    T.mark(k, v)
T.dump(referents=True)
"""


@pytest.fixture(scope="module")
def stdlib(tmp_path_factory):
    d = tmp_path_factory.mktemp("stdlib")
    return dump_in_subprocess(STDLIB, d, "stdlib")


@pytest.mark.slow
def test_stdlib_c_types_dump_correctly(stdlib):
    snap, truth = stdlib.snap, stdlib.truth
    bad = []
    for name, m in truth.marks.items():
        node = stdlib.node(name)
        if node.type != m["type"]:
            bad.append((name, "type", m["type"], node.type))
        # managed-dict instances and classes with a Python metaclass have
        # their own tests above
        if m["size"] is not None and node.size != m["size"] and not m["managed"]:
            bad.append((name, "size", m["size"], node.size))
        if m["tracked"] != node.gc_tracked and m["type"] not in ("tuple", "dict"):
            bad.append((name, "tracked", m["tracked"], node.gc_tracked))
        if m["tracked"] and m["id"] in truth.referents and not (m["is_class"] and m["type"] != "type"):
            kept, keys = _edge_multisets(snap, node)
            refs = collections.Counter(truth.referents[m["id"]])
            extra = truth.not_referents(m["id"], kept)
            if extra or (refs - kept) - keys:
                bad.append((name, "edges", sorted(snap.by_addr[a].type for a in refs - kept),
                            sorted(snap.by_addr[a].type for a in extra)))
    assert not bad, "\n".join(map(str, bad))
    assert stdlib.node("sqlite_conn").type == "sqlite3.Connection"
    assert stdlib.node("deque").type == "collections.deque"
    assert stdlib.node("deeper").type == "__main__.SubMeta"


def test_every_object_present_with_stdlib_heap(stdlib):
    snap, truth = stdlib.snap, stdlib.truth
    missing = [t for a, (t, *_r) in truth.objects.items() if a not in snap.by_addr]
    assert not missing
    wrong = collections.Counter((t, snap.by_addr[a].type) for a, (t, *_r) in truth.objects.items()
                                if snap.by_addr[a].type != t)
    assert not wrong, summarize(wrong)


# ---------------------------------------------------------------------------
# File hygiene

def test_snapshot_mode_is_0600(run_dump):
    r = run_dump("""
        os.umask(0o022)
        pyheapdiff.dump(SNAP)
    """)
    assert stat.S_IMODE(os.stat(r.path).st_mode) == 0o600
    # overwriting an existing, more permissive file
    os.chmod(r.path, 0o644)
    r2 = run_dump("""
        os.umask(0)
        pyheapdiff.dump(SNAP)
    """, name=r.path.stem)
    assert stat.S_IMODE(os.stat(r2.path).st_mode) == 0o600
    read_snapshot(r2.path)


FAILING_DUMP = r"""
import json as _json
target = sys.argv[1]
out = {{}}
{setup}
try:
    pyheapdiff.dump(target)
except OSError as e:
    out["error"] = [type(e).__name__, e.errno, e.filename]
except BaseException as e:
    out["error"] = [type(e).__name__, None, repr(e)]
else:
    out["error"] = None
out["listing"] = sorted(os.listdir(os.path.dirname(target))) if os.path.isdir(os.path.dirname(target)) else None
{teardown}
res = pyheapdiff.dump(SNAP_OK)
out["second"] = res["objects"]
print(_json.dumps(out))
"""


def _failing_dump(tmp_path, target, setup="", teardown=""):
    ok = tmp_path / "ok" / "second.snap"
    ok.parent.mkdir(exist_ok=True)
    code = "import sys, os\nimport pyheapdiff\nSNAP_OK = sys.argv[2]\n" + FAILING_DUMP.format(
        setup=textwrap.dedent(setup), teardown=textwrap.dedent(teardown))
    p = run_python(code, [target, ok])
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["second"] > 0
    snap = read_snapshot(ok)
    assert len(snap.nodes) == out["second"]
    assert os.listdir(ok.parent) == ["second.snap"]
    return out


def test_dump_into_missing_directory(tmp_path):
    target = str(tmp_path / "no" / "such" / "dir" / "x.snap")
    out = _failing_dump(tmp_path, target)
    assert out["error"] == ["FileNotFoundError", 2, target]
    assert not (tmp_path / "no").exists()


def test_dump_into_unwritable_directory(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    os.chmod(d, 0o500)
    target = str(d / "x.snap")
    try:
        out = _failing_dump(tmp_path, target)
        if out["error"] is None and os.geteuid() == 0:
            pytest.skip("running as root: permissions are not enforced")
        assert out["error"] == ["PermissionError", 13, target]
        assert out["listing"] == []
    finally:
        os.chmod(d, 0o700)


@pytest.mark.parametrize("heap", ["small", "large"])
def test_dump_hitting_the_file_size_limit(tmp_path, heap):
    """RLIMIT_FSIZE with SIGXFSZ ignored: write() fails with EFBIG, either
    when the final (only) chunk is flushed (small heap) or while nodes
    stream out in 256 KiB chunks (large heap)."""
    d = tmp_path / "lim"
    d.mkdir()
    target = str(d / "x.snap")
    setup = """
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        big = [str(i) * 3 for i in range(300_000)] if HEAP == "large" else None
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, hard))
    """.replace("HEAP", repr(heap))
    teardown = """
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        big = None
    """
    out = _failing_dump(tmp_path, target, setup, teardown)
    import errno
    assert out["error"] == ["OSError", errno.EFBIG, target]
    assert out["listing"] == [], "a partial or temporary file was left behind"


def test_failed_dump_leaves_existing_file_alone(tmp_path):
    d = tmp_path / "keep"
    d.mkdir()
    target = d / "x.snap"
    target.write_bytes(b"previous")
    setup = """
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    """
    out = _failing_dump(tmp_path, str(target), setup,
                        "resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))")
    import errno
    assert out["error"] == ["OSError", errno.EFBIG, str(target)]
    assert out["listing"] == ["x.snap"]
    assert target.read_bytes() == b"previous"


# ---------------------------------------------------------------------------
# dump_on_signal and python -m pyheapdiff run

def test_dump_on_signal(tmp_path):
    code = textwrap.dedent("""
        import os, signal, sys, time, json
        import pyheapdiff
        d = sys.argv[1]
        class SignalMarker:
            pass
        marker = SignalMarker()
        prev = pyheapdiff.dump_on_signal(signal.SIGUSR2, os.path.join(d, "s-{pid}-{n}.snap"))
        os.kill(os.getpid(), signal.SIGUSR2)
        time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGUSR2)
        time.sleep(0.01)
        print(json.dumps([os.getpid(), prev == signal.SIG_DFL, id(marker)]))
    """)
    p = run_python(code, [tmp_path])
    assert p.returncode == 0, p.stderr
    pid, prev_default, marker = json.loads(p.stdout)
    assert prev_default
    assert sorted(os.listdir(tmp_path)) == [f"s-{pid}-1.snap", f"s-{pid}-2.snap"]
    snap = read_snapshot(tmp_path / f"s-{pid}-1.snap")
    assert snap.pid == pid
    assert snap.by_addr[marker].type == "__main__.SignalMarker"
    # the handler (in the pyheapdiff package) is not among the frame roots
    assert not [r for r in snap.roots if r.kind == 6 and "_handler" in r.name]
    assert [r for r in snap.roots if r.kind == 6 and r.name.startswith("<module>")]
    read_snapshot(tmp_path / f"s-{pid}-2.snap")


def test_dump_on_signal_failure_does_not_raise(tmp_path):
    code = textwrap.dedent("""
        import os, signal, sys, time
        import pyheapdiff
        pyheapdiff.dump_on_signal(signal.SIGUSR2, os.path.join(sys.argv[1], "missing", "s-{n}.snap"))
        os.kill(os.getpid(), signal.SIGUSR2)
        time.sleep(0.01)
        print("still running")
    """)
    p = run_python(code, [tmp_path])
    assert p.returncode == 0
    assert p.stdout == "still running\n"
    assert "s-1.snap" in p.stderr and "pyheapdiff" in p.stderr
    assert os.listdir(tmp_path) == []


RUN_SCRIPT = """
import sys, json
class ScriptMarker:
    pass
LEFT_IN_GLOBAL = ScriptMarker()
BYTES_IN_GLOBAL = bytearray(b"script-global-" + sys.argv[1].encode())
with open(sys.argv[1] + ".argv", "w") as f:
    json.dump(sys.argv, f)
"""


def test_python_m_pyheapdiff_run(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(RUN_SCRIPT)
    out = tmp_path / "out.snap"
    p = subprocess.run([sys.executable, "-S", "-m", "pyheapdiff", "run", "-o", str(out), "script.py",
                        "argvalue"], cwd=tmp_path, env=subprocess_env(), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with open(tmp_path / "argvalue.argv") as f:
        assert json.load(f) == ["script.py", "argvalue"]
    assert "wrote" in p.stderr
    snap = read_snapshot(out)
    assert snap.pid != os.getpid()
    marker = [n for n in snap.nodes if n.type == "__main__.ScriptMarker"]
    assert len(marker) == 1, "the object the script left in a global is not in the snapshot"
    assert any(n.preview == b"script-global-argvalue" for n in snap.nodes)


def test_python_m_pyheapdiff_run_exit_status(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import sys\nsys.exit(3)\n")
    out = tmp_path / "out.snap"
    p = subprocess.run([sys.executable, "-S", "-m", "pyheapdiff", "run", "-o", str(out), str(script)],
                       env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 3
    read_snapshot(out)
    p = subprocess.run([sys.executable, "-S", "-m", "pyheapdiff"], env=subprocess_env(),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "usage" in p.stderr


def test_two_dumps_in_a_row_show_nothing_new(run_dump, pyheapdiff_bin):
    """With nothing done between two dumps, nothing is new and nothing is
    freed, however the allocator moved in between: the dump's own call
    creates no argument tuple or keyword dict that the walk would find as
    an object held by C at a new address each time."""
    r = run_dump("""
        junk = [{"k": i} for i in range(200_000)]
        pyheapdiff.dump(SNAP + ".a")
        more = [{"k": i} for i in range(200_000)]
        del more
        pyheapdiff.dump(SNAP + ".b")
        T.dump(objects=False)
    """)
    rows = cli_json(pyheapdiff_bin, "diff", str(r.path) + ".a", str(r.path) + ".b", "--top", "0")["rows"]
    changed = [(x["type"], x["new"], x["freed"]) for x in rows if x["new"] or x["freed"]]
    assert changed == []
