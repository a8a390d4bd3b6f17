"""The agent inside a hostile process (issue 6).

Each test proves two things: the process goes on unharmed (it keeps
running, its data is intact, its threads and blocking calls finish with the
results they would have had without a dump), and the snapshot is right
against ground truth taken in the same process (gc.get_objects,
gc.get_referents, sys.getsizeof, id; see conftest.py and _phdtruth.py),
read back with the independent reader (snapreader.py) or, for heaps too
big for a pure-Python reader, with the analyzer's own totals.

PYHEAPDIFF_SANITIZE=1 (set by scripts/sanitize.sh, which runs these tests
with the agent built under ASan+UBSan) skips what is infeasible there: the
gigabyte heaps and the memory measurements (ASan keeps freed memory in
quarantine by design).
"""

import collections
import errno
import json
import os
import stat
import subprocess
import textwrap

import pytest

import snapreader
from conftest import read_snapshot, run_python
from snapreader import INDEX, KEY, NAME, NONE, VALUE
from test_agent import VALUES_MAX, _edge_multisets, _failing_dump

SANITIZE = os.environ.get("PYHEAPDIFF_SANITIZE") == "1"
not_under_sanitizers = pytest.mark.skipif(
    SANITIZE, reason="infeasible under ASan (gigabytes of shadow memory, quarantined frees)")


def edges_vs_referents(snap, truth, addr):
    """(edge targets that are no referent, referents without an edge) of
    the object at addr: both empty when the snapshot's retaining edges are
    exactly gc.get_referents (KEY edges may stand for referent keys)."""
    kept, keys = _edge_multisets(snap, snap.by_addr[addr])
    refs = collections.Counter(truth.referents[addr])
    return dict(truth.not_referents(addr, kept)), dict((refs - kept) - keys)


def dict_items(snap, node):
    """{key preview: value node} of a dict node (VALUE follows its KEY)."""
    return {snap.nodes[node.edges[j - 1][0]].preview: snap.nodes[t]
            for j, (t, k, _) in enumerate(node.edges) if k == VALUE}


def check_marks(run, *, sizes=True, referents=True):
    """Every marked object is in the snapshot with its type, size (as
    _phdtruth computed it) and, when GC-tracked, its referents as edges."""
    snap, truth = run.snap, run.truth
    bad = []
    for name, m in truth.marks.items():
        node = snap.by_addr.get(m["id"])
        if node is None:
            bad.append((name, "missing"))
            continue
        if node.type != m["type"]:
            bad.append((name, "type", m["type"], node.type))
        if sizes and m["size"] is not None:
            # a values array size_of cannot know: at most VALUES_MAX more
            slack = 0 if m.get("exact_size", True) else VALUES_MAX
            if not m["size"] <= node.size <= m["size"] + slack:
                bad.append((name, "size", m["size"], node.size))
        if referents and m["tracked"] and truth.referents and m["id"] in truth.referents:
            extra, missing = edges_vs_referents(snap, truth, m["id"])
            if extra or missing:
                bad.append((name, "edges", sorted(snap.by_addr[a].type for a in extra),
                            sorted(snap.by_addr[a].type for a in missing)))
    assert not bad, "\n".join(map(str, bad))
    return len(truth.marks)


# ---------------------------------------------------------------------------
# Threads mutating containers while the main thread dumps

THREADS = r"""
import threading
sys.setswitchinterval(1e-6)   # switch threads as often as CPython can
BASE, ROUNDS, DUMPS = 100, 200, 8
lst = [object() for _ in range(BASE)]
dct = {f"k{i}": object() for i in range(BASE)}
st = {object() for _ in range(BASE)}
T.mark("lst", lst); T.mark("dct", dct); T.mark("st", st)
T.extra["lst"] = [id(x) for x in lst]
T.extra["dct"] = {k: id(v) for k, v in dct.items()}
T.extra["st"] = sorted(id(x) for x in st)
T.extra["empty_list"] = sys.getsizeof([])
expect_lst, expect_dct, expect_st = list(lst), dict(dct), set(st)
stop = threading.Event()
lock = threading.Lock()
shared = [0]
done = {}

def list_step(n):
    lst.extend(range(ROUNDS))          # grows (reallocates) the item array
    del lst[BASE:]                     # and shrinks it back
    lst.append(n); lst.pop()

def dict_step(n):
    for i in range(ROUNDS):            # resizes the hash table
        dct[(n, i)] = i
    for i in range(ROUNDS):
        del dct[(n, i)]

def set_step(n):
    for i in range(ROUNDS):
        st.add((n, i))
    for i in range(ROUNDS):
        st.discard((n, i))

def worker(n, step):
    mine = []
    while not stop.is_set():
        step(n)
        mine.append(len(mine))
        with lock:
            shared[0] += 1
    done[n] = mine

# one list worker: del lst[BASE:] would drop another's appended item
threads = [threading.Thread(target=worker, args=(n, f)) for n, f in
           enumerate([list_step, dict_step, set_step, dict_step, set_step])]
for t in threads:
    t.start()
results = []
for k in range(DUMPS):
    results.append(pyheapdiff.dump(f"{SNAP}.{k}"))
stop.set()
for t in threads:
    t.join()
T.extra["results"] = [r["objects"] for r in results]
T.extra["final_ok"] = [lst == expect_lst, dct == expect_dct, st == expect_st]
T.extra["rounds"] = {n: len(m) for n, m in done.items()}
T.extra["mine_ok"] = all(m == list(range(len(m))) for m in done.values())
T.extra["shared"] = shared[0]
T.dump(objects=False)
"""


@pytest.mark.slow
def test_threads_mutating_containers_during_dumps(run_dump):
    r = run_dump(THREADS, timeout=180)
    x = r.truth.extra
    # the process and its threads went on unharmed
    assert x["final_ok"] == [True, True, True]
    assert x["mine_ok"], "a thread's own list lost or reordered items"
    assert len(x["rounds"]) == 5 and all(v > 0 for v in x["rounds"].values()), x["rounds"]
    assert x["shared"] == sum(x["rounds"].values())
    base_lst, base_dct, base_st = x["lst"], x["dct"], set(x["st"])
    for k, objects in enumerate(x["results"]):
        snap = read_snapshot(f"{r.path}.{k}")
        assert len(snap.nodes) == objects
        by = snap.by_addr
        # the list: items 0..n-1 in order, the first BASE the base items,
        # the rest ints of a lister's extend (or a lister's id), and a size
        # that holds at least n pointers
        lst = by[r.truth.mark("lst")["id"]]
        assert [(kind, p) for _, kind, p in lst.edges] == [(INDEX, i) for i in range(len(lst.edges))]
        targets = [snap.nodes[t] for t, _, _ in lst.edges]
        assert [t.addr for t in targets[:100]] == base_lst
        assert all(t.type == "int" for t in targets[100:])
        assert lst.size >= x["empty_list"] + 8 * len(lst.edges)
        # the dict: KEY, VALUE pairs, distinct keys, every base entry
        dct = by[r.truth.mark("dct")["id"]]
        kinds = [kind for _, kind, _ in dct.edges]
        assert kinds == [KEY, VALUE] * (len(kinds) // 2)
        pairs = [(snap.nodes[dct.edges[i][0]], snap.nodes[dct.edges[i + 1][0]])
                 for i in range(0, len(kinds), 2)]
        assert len({kn.index for kn, _ in pairs}) == len(pairs)
        found = {kn.preview.decode(): vn.addr for kn, vn in pairs if kn.type == "str"}
        assert found == base_dct
        assert all(kn.type == "tuple" for kn, _ in pairs if kn.type != "str")
        # the set: distinct members, every base member
        st = by[r.truth.mark("st")["id"]]
        members = [t for t, _, _ in st.edges]
        assert len(set(members)) == len(members)
        addrs = {snap.nodes[t].addr for t in members}
        assert base_st <= addrs
        assert all(snap.nodes[t].type == "tuple" for t in members if snap.nodes[t].addr not in base_st)


# ---------------------------------------------------------------------------
# Dunders that print, sleep forever or spin: none is called

HANGING = r"""
import time
MODE = "@MODE@"
ARMED = [False]
LOG = os.open(SNAP + ".calls", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

def hostile(what, result=None):
    if not ARMED[0]:
        return result
    os.write(LOG, what.encode() + b"\n")
    print("HOSTILE CALL", what, flush=True)
    if MODE == "sleep":
        time.sleep(3600)
    elif MODE == "spin":
        while True:
            pass
    return result

class Meta(type):
    def __repr__(cls): return hostile("meta.repr", "Meta")
    def __getattribute__(cls, n): hostile("meta.getattribute"); return type.__getattribute__(cls, n)
    def __getattr__(cls, n): hostile("meta.getattr"); raise AttributeError(n)
    def __eq__(cls, o): return hostile("meta.eq", cls is o)
    def __hash__(cls): return hostile("meta.hash", 1)
    def __sizeof__(cls): return hostile("meta.sizeof", 10**6)
    def __instancecheck__(cls, o): return hostile("meta.instancecheck", False)
    def __subclasscheck__(cls, o): return hostile("meta.subclasscheck", False)
    def __len__(cls): return hostile("meta.len", 0)
    def __iter__(cls): hostile("meta.iter"); return iter(())

class Hostile(metaclass=Meta):
    def __init__(self, i):
        self.i = i
        self.payload = [i]
    def __repr__(self): return hostile("repr", "h")
    def __str__(self): return hostile("str", "h")
    def __eq__(self, o): return hostile("eq", self is o)
    def __hash__(self): return hostile("hash", 7)
    def __getattr__(self, n): hostile("getattr"); raise AttributeError(n)
    def __getattribute__(self, n): hostile("getattribute"); return object.__getattribute__(self, n)
    def __sizeof__(self): return hostile("sizeof", 10**6)
    def __del__(self): hostile("del")
    def __len__(self): return hostile("len", 0)
    def __iter__(self): hostile("iter"); return iter(())
    def __bool__(self): return hostile("bool", True)
    def __index__(self): return hostile("index", 0)
    def __dir__(self): hostile("dir"); return []

class HList(list):
    def __len__(self): return hostile("list.len", 0)
    def __iter__(self): hostile("list.iter"); return iter(())
    def __getitem__(self, i): return hostile("list.getitem", None)
    def __sizeof__(self): return hostile("list.sizeof", 10**6)

class HDict(dict):
    def __iter__(self): hostile("dict.iter"); return iter(())
    def __len__(self): return hostile("dict.len", 0)
    def __getitem__(self, k): return hostile("dict.getitem", None)
    def keys(self): hostile("dict.keys"); return []
    def items(self): hostile("dict.items"); return []

class HStr(str):
    def __str__(self): return hostile("strsub.str", "s")
    def __repr__(self): return hostile("strsub.repr", "s")
    def __eq__(self, o): return hostile("strsub.eq", False)
    def __hash__(self): return hostile("strsub.hash", 3)
    def __len__(self): return hostile("strsub.len", 0)

gc.disable()   # the garbage cycle below must wait for the dump
objs = {
    "h": Hostile(1),
    "keyed": {Hostile(2): Hostile(3), "plain": Hostile(4)},
    "hset": {Hostile(5), Hostile(6)},
    "hlist": HList([Hostile(7), 8]),
    "hdict": HDict(a=Hostile(9)),
    "hstr": HStr("hostile-str"),
    "strkeys": {HStr("k1"): 1, HStr("k2"): Hostile(10)},
    "cls": Hostile,
}
for k, v in objs.items():
    T.mark(k, v)
g1, g2 = Hostile(11), Hostile(12)
g1.other, g2.other = g2, g1
T.mark("garbage", g1)
del g1, g2
ARMED[0] = True
T.dump(collect=False, referents=True)   # collect=True would run the cycle's __del__
ARMED[0] = False
os.close(LOG)
"""


@pytest.mark.parametrize("mode", ["print", "sleep", "spin"])
@pytest.mark.slow
def test_dunders_that_print_or_hang_are_never_called(run_dump, tmp_path, mode):
    try:
        r = run_dump(HANGING.replace("@MODE@", mode), name="hanging", timeout=60)
    except subprocess.TimeoutExpired:
        with open(tmp_path / "hanging.snap.calls") as f:
            pytest.fail(f"the dump hung: it called {f.read().split()}")
    with open(str(r.path) + ".calls") as f:
        assert f.read() == ""
    assert "HOSTILE" not in r.stdout + r.stderr
    assert check_marks(r) == 9
    snap = r.snap
    h = r.node("h")
    assert {p for _, k, p in h.edges if k == NAME} >= {"i", "payload"}
    assert h.size < 10**6  # the formula, not the override
    hlist = r.node("hlist")
    assert [(k, p) for _, k, p in hlist.edges if k == INDEX] == [(INDEX, 0), (INDEX, 1)]
    hstr = r.node("hstr")
    assert hstr.type == "__main__.HStr" and hstr.preview == b"hostile-str"
    garbage = r.node("garbage")
    other = [t for t, k, p in garbage.edges if k == NAME and p == "other"]
    assert len(other) == 1 and snap.nodes[other[0]].type == "__main__.Hostile"


# ---------------------------------------------------------------------------
# Big heaps: a dict with ten million keys and a 1 GiB bytes object

BIG_DICT = r"""
import json
N, FIRST = 10_000_000, 10**9
BEFORE = SNAP + ".before"
big = res = None             # every global exists before the first dump
pyheapdiff.dump(BEFORE)
big = dict.fromkeys(range(FIRST, FIRST + N))
res = pyheapdiff.dump(SNAP)
truth = {"n": N, "dict_size": sys.getsizeof(big), "keys_size": sum(map(sys.getsizeof, big)),
         "intact": len(big) == N and min(big) == FIRST and max(big) == FIRST + N - 1,
         "result": res, "elapsed": res["seconds"]}
with open(SNAP + ".json", "w") as f:
    json.dump(truth, f)
os._exit(0)  # skip freeing ten million ints
"""


@not_under_sanitizers
@pytest.mark.slow
def test_dict_with_ten_million_keys(tmp_path, pyheapdiff_bin):
    """Two dumps of one process, before and after building the dict: the
    analyzer's diff must show exactly the dict and its 10M int keys (new,
    with their sys.getsizeof sizes) and 2 x 10M more references."""
    snap = tmp_path / "big.snap"
    code = "import sys, os\nimport pyheapdiff\nSNAP = sys.argv[1]\n" + BIG_DICT
    p = run_python(code, [snap], timeout=600)
    assert p.returncode == 0, p.stderr
    with open(str(snap) + ".json") as f:
        truth = json.load(f)
    n = truth["n"]
    assert truth["intact"]
    res = truth["result"]
    print(f"10M-key dict: {res['objects']} objects, {res['edges']} references, "
          f"{res['bytes'] / 2**20:.1f} MiB file, dump {truth['elapsed']:.2f} s")
    before = json.loads(subprocess.run([pyheapdiff_bin, "info", "--json", str(snap) + ".before"],
                                       capture_output=True, text=True, check=True).stdout)
    after = json.loads(subprocess.run([pyheapdiff_bin, "info", "--json", str(snap)],
                                      capture_output=True, text=True, check=True).stdout)
    assert after["objects"] == res["objects"] and after["references"] == res["edges"]
    assert after["objects"] - before["objects"] == n + 1
    assert after["references"] - before["references"] == 2 * n  # KEY + VALUE per entry
    d = subprocess.run([pyheapdiff_bin, "diff", "--json", str(snap) + ".before", str(snap)],
                       capture_output=True, text=True, timeout=600)
    assert d.returncode == 0, d.stderr
    rows = {row["type"]: row for row in json.loads(d.stdout)["rows"]}
    assert rows["int"]["count_delta"] == n and rows["int"]["new"] == n and rows["int"]["freed"] == 0
    assert rows["int"]["size_delta"] == truth["keys_size"]
    assert rows["dict"]["count_delta"] == 1 and rows["dict"]["new"] == 1
    assert rows["dict"]["size_delta"] == truth["dict_size"]


BIG_BYTES = r"""
import time, resource
ba = bytearray(1 << 30)
ba[:4] = b"HEAD"
ba[-4:] = b"TAIL"
blob = bytes(ba)
del ba
T.mark("blob", blob)
T.extra["maxrss_before"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.monotonic()
T.dump(objects=False)
T.extra["elapsed"] = time.monotonic() - t
T.extra["maxrss_after"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
T.extra["intact"] = len(blob) == 1 << 30 and blob[:4] == b"HEAD" and blob[-4:] == b"TAIL"
import json
with open(T.TRUTH) as f:
    d = json.load(f)
d["extra"] = T.extra
with open(T.TRUTH, "w") as f:
    json.dump(d, f)
"""


@not_under_sanitizers
@pytest.mark.slow
def test_one_gib_bytes_object(run_dump):
    r = run_dump(BIG_BYTES, timeout=300)
    x = r.truth.extra
    assert x["intact"]
    node = r.node("blob")
    m = r.truth.mark("blob")
    assert node.type == "bytes" and node.size == m["size"] > 1 << 30
    assert node.preview == b"HEAD" + bytes(76)
    assert r.snap.total_size >= node.size
    assert os.path.getsize(r.path) < 4 << 20  # the content is not in the file
    # the dump copied nothing of it: the peak grew by far less than 1 GiB
    assert x["maxrss_after"] - x["maxrss_before"] < 64 << 10  # KiB
    print(f"1 GiB bytes: dump {x['elapsed'] * 1000:.1f} ms")


# ---------------------------------------------------------------------------
# Suspended generators and coroutines, a running event loop, C types mid-use

SUSPENDED = r"""
import array, asyncio, collections, contextlib, ctypes, decimal, functools, io, itertools
import re, sqlite3

def gen_in_loop():
    acc = []
    for item in iter([1, 2, 3]):       # the iterator is on the value stack
        with contextlib.suppress(KeyError):
            try:
                acc.append(item)
                yield acc
            finally:
                acc.append(-item)

def delegating():
    outer_local = ["outer"]
    result = yield from gen_in_loop()
    yield outer_local, result

async def agen():
    agen_local = ["agen"]
    for i in range(3):
        yield agen_local, i

class Suspend:
    def __await__(self):
        yield "suspended"

async def inner():
    inner_local = {"inner": 1}
    await Suspend()
    return inner_local

async def outer():
    outer_local = ["outer"]
    return outer_local, await inner()

g = gen_in_loop(); next(g); next(g)
dg = delegating(); next(dg)
ag = agen()
step = ag.asend(None)
try:
    step.send(None)
except StopIteration:
    pass
co = outer(); co.send(None)

conn = sqlite3.connect(":memory:")
conn.execute("create table t (a, b)")
conn.executemany("insert into t values (?, ?)", [(i, str(i)) for i in range(100)])
cur = conn.execute("select a, b from t")
cur.fetchmany(10)                     # a cursor mid-iteration
arr = array.array("d", range(1000))
c_arr = (ctypes.c_double * 100)()
callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda v: v)
ctx = decimal.Context(prec=50)
dec = ctx.divide(decimal.Decimal(1), decimal.Decimal(7))
grouped = itertools.groupby("aaabbbccc"); next(grouped)
tee_a, tee_b = itertools.tee(range(10)); next(tee_a)
sliced = itertools.islice(itertools.count(), 5, None, 2); next(sliced)
buffered = io.BufferedReader(io.BytesIO(b"x" * 10000)); buffered.read(10)
text = io.TextIOWrapper(io.BytesIO(b"line\n" * 100)); text.readline()
dq = collections.deque(range(100), maxlen=50)
part = functools.partial(functools.reduce, lambda a, b: a + b, initial=[0])
pattern = re.compile(r"(?P<user>\w+)@(?P<host>\w+)")
scanner = pattern.scanner("a@b c@d"); scanner.search()

class Meta(type):
    @classmethod
    def __prepare__(mcls, name, bases):
        return collections.OrderedDict(prepared=[name])
    def __call__(cls, *a):
        return super().__call__(*a)

class Base(metaclass=Meta):
    def __init_subclass__(cls, **kw):
        cls.registered = [cls.__name__]

class Child(Base):
    pass

class CMeta(type(ctypes.Structure), Meta):
    pass

Dynamic = Meta("Dynamic", (Child,), {"x": [1]})

objs = dict(g=g, dg=dg, ag=ag, step=step, co=co, conn=conn, cur=cur, arr=arr, c_arr=c_arr,
            callback=callback, ctx=ctx, dec=dec, grouped=grouped, tee_a=tee_a, tee_b=tee_b,
            sliced=sliced, buffered=buffered, text=text, dq=dq, part=part, pattern=pattern,
            scanner=scanner, Meta=Meta, Base=Base, Child=Child, child=Child(), CMeta=CMeta,
            Dynamic=Dynamic)

async def main():
    # a running event loop with tasks suspended in sleeps and on a future
    fut = asyncio.get_running_loop().create_future()
    async def waiter(n):
        local_in_task = [n]
        await asyncio.sleep(3600)
    async def on_future():
        return await fut
    tasks = [asyncio.create_task(waiter(n)) for n in range(3)] + [asyncio.create_task(on_future())]
    await asyncio.sleep(0)
    objs.update(task=tasks[0], fut=fut, loop=asyncio.get_running_loop())
    for k, v in objs.items():
        T.mark(k, v)
    T.dump(referents=True)
    fut.set_result("done")
    for t in tasks[:3]:
        t.cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    T.extra["after"] = [type(x).__name__ for x in done]

asyncio.run(main())
# the process goes on: everything suspended resumes as a fresh copy
# advanced the same way (never dumped) does
fresh_g = gen_in_loop(); next(fresh_g); next(fresh_g)
fresh_dg = delegating(); next(fresh_dg)
T.extra["g"] = [list(g), list(fresh_g)]
T.extra["dg"] = [list(dg), list(fresh_dg)]
T.extra["rows"] = len(cur.fetchall())
T.extra["co"] = None
try:
    co.send(None)
except StopIteration as e:
    T.extra["co"] = [e.value[0], sorted(e.value[1])]
import json
with open(T.TRUTH) as f:
    d = json.load(f)
d["extra"] = T.extra
with open(T.TRUTH, "w") as f:
    json.dump(d, f)
"""


@pytest.fixture(scope="module")
def suspended(tmp_path_factory):
    from conftest import dump_in_subprocess
    return dump_in_subprocess(SUSPENDED, tmp_path_factory.mktemp("suspended"), "suspended")


@pytest.mark.slow
def test_suspended_generators_coroutines_and_c_types(suspended):
    r = suspended
    x = r.truth.extra
    assert x["after"] == ["CancelledError"] * 3 + ["str"]
    assert x["g"][0] == x["g"][1] and x["g"][0]
    assert x["dg"][0] == x["dg"][1] and x["dg"][0][-1] == [["outer"], None]
    assert x["rows"] == 90
    assert x["co"] == [["outer"], ["inner"]]
    # classes with a metaclass other than type: referents are checked by
    # test_agent's metaclass tests; here type and size
    classes = {"Meta", "Base", "Child", "CMeta", "Dynamic"}
    snap, truth = r.snap, r.truth
    for name in classes:
        m = truth.mark(name)
        assert r.node(name).type == m["type"] and r.node(name).size == m["size"]
    for name in classes:
        del truth.marks[name]
    assert check_marks(r) == 26
    # suspended frames: locals by name, the loop's iterator on the stack
    g = r.node("g")
    names = {p for _, k, p in g.edges if k == NAME}
    assert {"acc", "item"} <= names
    assert any(snap.nodes[t].type == "list_iterator" for t, k, p in g.edges if p == "<stack>")
    co = r.node("co")
    assert "outer_local" in {p for _, k, p in co.edges if k == NAME}


@pytest.mark.slow
def test_every_object_present_inside_a_running_event_loop(suspended):
    snap, truth = suspended.snap, suspended.truth
    missing = collections.Counter(t for a, (t, *_r) in truth.objects.items() if a not in snap.by_addr)
    assert not missing, missing.most_common(10)
    wrong = collections.Counter((t, snap.by_addr[a].type) for a, (t, *_r) in truth.objects.items()
                                if snap.by_addr[a].type != t)
    assert not wrong, wrong.most_common(10)
    # every task frame's local is reachable: a coroutine node names it
    assert sum(1 for n in snap.nodes for _, k, p in n.edges if k == NAME and p == "local_in_task") == 3


# ---------------------------------------------------------------------------
# No disk space, no permission

@pytest.fixture
def mount_point(tmp_path):
    """mount_point(options) mounts a tmpfs with those options at a fresh
    directory and returns it; everything is unmounted at teardown."""
    mounted = []

    def mount(options):
        d = tmp_path / f"mnt{len(mounted)}"
        d.mkdir()
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(d)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
        mounted.append(d)
        return d

    yield mount
    for d in reversed(mounted):
        subprocess.run(["umount", str(d)], check=True)


@pytest.mark.parametrize("heap", ["small", "large"])
def test_dump_onto_a_full_filesystem(tmp_path, mount_point, heap):
    """A 64 KiB tmpfs: ENOSPC at the first 256 KiB chunk (large heap) or
    at the end (small heap); nothing is left on it, the process goes on and
    its next dump elsewhere is complete."""
    d = mount_point("size=64k,mode=0755")
    target = str(d / "x.snap")
    setup = "big = [str(i) * 3 for i in range(300_000)]" if heap == "large" else ""
    out = _failing_dump(tmp_path, target, setup, "big = None" if setup else "")
    assert out["error"] == ["OSError", errno.ENOSPC, target]
    assert out["listing"] == []
    st = os.statvfs(d)
    assert st.f_bfree == st.f_blocks, "blocks of a removed temporary are still in use"


def test_dump_onto_a_read_only_filesystem(tmp_path, mount_point):
    d = mount_point("size=1m,ro")
    target = str(d / "x.snap")
    out = _failing_dump(tmp_path, target)
    assert out["error"] == ["OSError", errno.EROFS, target]
    assert out["listing"] == []


def test_dump_over_an_existing_file_on_a_read_only_bind_mount(tmp_path, mount_point):
    """Even root cannot write through a read-only bind mount: the old
    snapshot stays as it was."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "x.snap").write_bytes(b"previous")
    d = tmp_path / "ro"
    d.mkdir()
    p = subprocess.run(["mount", "--bind", "-o", "ro", str(src), str(d)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {p.stderr.strip()}")
    try:
        if os.access(d, os.W_OK) and subprocess.run(["touch", str(d / "probe")]).returncode == 0:
            pytest.skip("the bind mount is writable (old kernel: ro needs a remount)")
        out = _failing_dump(tmp_path, str(d / "x.snap"))
        assert out["error"] == ["OSError", errno.EROFS, str(d / "x.snap")]
        assert out["listing"] == ["x.snap"]
        assert (src / "x.snap").read_bytes() == b"previous"
    finally:
        subprocess.run(["umount", str(d)], check=True)


def test_dump_into_an_immutable_directory(tmp_path):
    """chattr +i denies even root: PermissionError, nothing created."""
    d = tmp_path / "immutable"
    d.mkdir()
    p = subprocess.run(["chattr", "+i", str(d)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {p.stderr.strip()}")
    try:
        out = _failing_dump(tmp_path, str(d / "x.snap"))
        assert out["error"] == ["PermissionError", errno.EPERM, str(d / "x.snap")]
        assert out["listing"] == []
    finally:
        subprocess.run(["chattr", "-i", str(d)], check=True)


# ---------------------------------------------------------------------------
# A signal-triggered dump during heavy allocation and during blocking calls

SIGNALLED = r"""
import json, os, signal, subprocess, sys, time
import pyheapdiff
d = sys.argv[1]
SNAP1 = os.path.join(d, f"sig-{os.getpid()}-1.snap")
pyheapdiff.dump_on_signal(signal.SIGUSR2, os.path.join(d, "sig-{pid}-{n}.snap"))
SENDER = '''
import os, signal, sys, time
pid, fd, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
time.sleep(delay)
os.kill(pid, signal.SIGUSR2)
time.sleep(delay)
if fd >= 0:
    os.write(fd, b"payload")
'''
def sender(fd=-1, delay=0.3):
    return subprocess.Popen([sys.executable, "-S", "-c", SENDER, str(os.getpid()), str(fd), str(delay)],
                            pass_fds=(fd,) if fd >= 0 else ())
out = {"pid": os.getpid()}
"""

ALLOCATING = SIGNALLED + r"""
data = []
child = sender(delay=0.1)
t0 = time.monotonic()
i = 0
while not os.path.exists(SNAP1) and time.monotonic() - t0 < 30:
    for _ in range(100):
        data.append({"i": i, "blob": bytearray(8192)})
        i += 1
for _ in range(1000):
    data.append({"i": i, "blob": bytearray(8192)})
    i += 1
child.wait()
out.update(data=id(data), n=i, intact=len(data) == i and all(x["i"] == k and len(x["blob"]) == 8192
                                                            for k, x in enumerate(data)))
print(json.dumps(out))
"""


@pytest.mark.slow
def test_signal_during_heavy_allocation(tmp_path):
    p = run_python(ALLOCATING, [tmp_path], timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    out = json.loads(p.stdout)
    assert out["intact"]
    snap = read_snapshot(tmp_path / f"sig-{out['pid']}-1.snap")
    assert snap.pid == out["pid"]
    data = snap.by_addr[out["data"]]
    n = len(data.edges)
    assert 0 < n < out["n"], "the dump did not happen while the list grew"
    assert [(k, p) for _, k, p in data.edges] == [(INDEX, i) for i in range(n)]
    for k, (t, _, _) in enumerate(data.edges):
        vals = dict_items(snap, snap.nodes[t])
        assert vals[b"i"].preview == str(k).encode()
        assert vals[b"blob"].type == "bytearray" and vals[b"blob"].size > 8192


BLOCKING = {
    "sleep": ("", "t = time.monotonic(); time.sleep(0.8); result = time.monotonic() - t >= 0.8"),
    "read": ("r, w = os.pipe()", "result = os.read(r, 100) == b'payload'"),
    "select": ("import select; r, w = os.pipe()",
               "result = select.select([r], [], [], 30)[0] == [r] and os.read(r, 100) == b'payload'"),
    "recv": ("import socket; a, b = socket.socketpair(); r, w = a, b.fileno()",
             "result = a.recv(100) == b'payload'"),
}


@pytest.mark.parametrize("call", sorted(BLOCKING))
@pytest.mark.slow
def test_signal_during_a_blocking_call(tmp_path, call):
    """The main thread blocks in a system call; a child process sends the
    signal, then (after the dump) the data the call waits for.  PEP 475
    retries the call after the handler: it returns its normal result."""
    setup, block = BLOCKING[call]
    code = SIGNALLED + setup + "\n" + textwrap.dedent(f"""
        child = sender(w if {call!r} != "sleep" else -1)
        {block}  # BLOCKING-LINE
        child.wait()
        out["result"] = result
        print(json.dumps(out))
    """)
    line = code.splitlines().index(next(ln for ln in code.splitlines() if ln.endswith("# BLOCKING-LINE"))) + 1
    p = run_python(code, [tmp_path], timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    out = json.loads(p.stdout)
    assert out["result"] is True
    snap = read_snapshot(tmp_path / f"sig-{out['pid']}-1.snap")
    assert snap.pid == out["pid"]
    # the module's frame was at the blocking call when the dump ran
    frames = [r.name for r in snap.roots if r.kind == snapreader.ROOT_FRAME and r.name.startswith("<module>")]
    assert frames and all(f"<string>:{line})" in n for n in frames), (line, frames)


# ---------------------------------------------------------------------------
# Memory comes back after a dump

MEMORY = r"""
import array, json
PAGE = os.sysconf("SC_PAGE_SIZE")
buf = bytearray(200)
fd = os.open("/proc/self/statm", os.O_RDONLY)
def rss():
    n = os.preadv(fd, [buf], 0)
    return int(bytes(buf[:n]).split()[1]) * PAGE
status = bytearray(4096)
sfd = os.open("/proc/self/status", os.O_RDONLY)
def hwm():
    n = os.preadv(sfd, [status], 0)
    return int(bytes(status[:n]).split(b"VmHWM:")[1].split()[0]) << 10
hwm()
keep = [{"i": i, "s": str(i)} for i in range(300_000)]
res = array.array("q", [0] * 11)   # measurements go here: no new objects
def measure(slot):
    gc.collect()
    res[slot] = rss(); res[slot + 1] = sys.getallocatedblocks(); res[slot + 2] = len(gc.get_objects())
measure(0); measure(0)
res[9] = hwm()
pyheapdiff.dump(SNAP)
res[10] = hwm()
measure(3)
for k in range(10):
    pyheapdiff.dump(SNAP)
measure(6)
print(json.dumps({"m": list(res[:9]), "hwm": res[10] - res[9]}))
"""


@not_under_sanitizers
@pytest.mark.slow
def test_memory_returns_after_dumps(tmp_path):
    """RSS, allocated blocks and GC objects after one dump and after ten
    more: the agent frees all it took (its peak is several MiB here, so
    the test could see a leak)."""
    p = run_python("import sys, gc, os\nimport pyheapdiff\nSNAP = sys.argv[1]\n" + MEMORY,
                   [tmp_path / "m.snap"])
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    m = out["m"]
    rss0, blocks0, objs0, rss1, blocks1, objs1, rss2, blocks2, objs2 = m
    print(f"memory: peak +{out['hwm'] / 2**20:.1f} MiB during the first dump; RSS after it "
          f"{(rss1 - rss0) / 1024:+.0f} KiB, after 10 more {(rss2 - rss1) / 1024:+.0f} KiB")
    assert out["hwm"] > 4 << 20, "the dump's own memory is too small to measure anything"
    assert abs(rss1 - rss0) < 1 << 20 and abs(rss2 - rss0) < 1 << 20
    # nothing left behind: not one object more, not one allocated block more
    # (CPython 3.13 now and then frees one cached block of its own while the
    # dump runs, so the count may go down by one; it never may go up)
    assert objs1 == objs0 and blocks0 - 1 <= blocks1 <= blocks0, "the first dump left objects or blocks behind"
    assert objs2 == objs0 and blocks0 - 1 <= blocks2 <= blocks0, "repeated dumps left objects or blocks behind"


# ---------------------------------------------------------------------------
# Privacy: values=False writes no str or bytes content; files are 0600

PRIVATE = r"""
import binascii, sys
tag = binascii.hexlify(os.urandom(8)).decode()
def s(where, ch="-"):
    return f"SeCrEt{ch}{where}{ch}{tag}"
secrets = {}
def keep(where, value):
    secrets[where] = value if isinstance(value, str) else value.decode("latin-1")
    return value

class Holder:
    pass
class Slotted:
    __slots__ = ("slot",)
class SubStr(str):
    pass
def closure(v):
    def f():
        return v
    return f
def suspended(v):
    local = v
    yield local

h = Holder()
h.attr = keep("attr", s("attr"))
sl = Slotted(); sl.slot = keep("slot", s("slot"))
setattr(h, keep("attrname", s("attrname")), 1)          # a name made of data
setattr(Holder, keep("classattr", s("classattr")), 1)
globals()[keep("globalname", s("globalname"))] = 1
heap = {
    "dictvalue": keep("dictvalue", s("dictvalue")),
    keep("dictkey", s("dictkey")): 1,
    keep("byteskey", s("byteskey").encode()): 1,
    "list": [keep("list", s("list"))],
    "tuple": (keep("tuple", s("tuple")),),
    "set": {keep("set", s("set"))},
    "frozenset": frozenset({keep("frozenset", s("frozenset"))}),
    "interned": sys.intern(keep("interned", s("interned"))),
    "latin1": keep("latin1", s("latin1", "\u00e9")),
    "ucs2": keep("ucs2", s("ucs2", "\u20ac")),
    "ucs4": keep("ucs4", s("ucs4", "\U0001F600")),
    "substr": SubStr(keep("substr", s("substr"))),
    "bytes": keep("bytes", s("bytes").encode()),
    "bytearray": bytearray(keep("bytearray", s("bytearray").encode())),
    "memoryview": memoryview(keep("memoryview", s("memoryview").encode())),
    "exception": ValueError(keep("exception", s("exception"))),
    "closure": closure(keep("closure", s("closure"))),
    "code": compile(f"x = {keep('const', s('const'))!r}", "<private>", "exec"),
    "generator": suspended(keep("genlocal", s("genlocal"))),
}
next(heap["generator"])
T.extra["secrets"] = secrets
T.dump(SNAP + ".novalues", values=False, objects=False)
T.dump(SNAP + ".values", values=True, objects=False)
"""


def encodings(text):
    out = {}
    for enc in ("utf-8", "latin-1", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        try:
            out[enc] = text.encode(enc)
        except UnicodeEncodeError:
            pass
    return out


def test_values_false_writes_no_heap_text(run_dump):
    r = run_dump(PRIVATE)
    secrets = r.truth.extra["secrets"]
    assert len(secrets) == 24
    with open(str(r.path) + ".novalues", "rb") as f:
        novalues = f.read()
    with open(str(r.path) + ".values", "rb") as f:
        withvalues = f.read()
    # with values=True every secret is there (so the search below can fail)
    assert [w for w, t in secrets.items() if t.encode("utf-8") not in withvalues and
            t.encode("latin-1", "ignore") not in withvalues] == []
    found = [(w, enc) for w, t in secrets.items() for enc, b in encodings(t).items() if b in novalues]
    assert found == [], "heap text in a values=False snapshot"
    # the distinctive random part alone, in any encoding, is absent too
    tag = secrets["attr"].rsplit("-", 1)[1]
    assert [enc for enc, b in encodings(tag).items() if b in novalues] == []
    # the snapshot is still useful: the objects and their references exist
    snap = snapreader.parse(novalues, "novalues")
    holder = [n for n in snap.nodes if n.type == "__main__.Holder"]
    assert len(holder) == 1
    labels = [(k, p) for _, k, p in holder[0].edges]
    assert (NAME, "attr") in labels              # an identifier: kept
    assert (NONE, None) in labels                # the data-made name: unlabelled
    assert len(labels) == 3


@pytest.mark.parametrize("umask", [0o777, 0o277, 0o077, 0o022, 0o000])
def test_snapshot_is_0600_whatever_the_umask(run_dump, umask):
    r = run_dump(f"""
        os.umask({umask:#o})
        pyheapdiff.dump(SNAP)
    """)
    assert stat.S_IMODE(os.stat(r.path).st_mode) == 0o600
    read_snapshot(r.path)
