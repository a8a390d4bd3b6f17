"""End-to-end tests of the graph commands: ``paths``, ``cycles``,
``dominators``, ``leaks`` and ``orphans``.

Every scenario is a fresh interpreter (conftest.dump_in_subprocess) that
builds a known leak and dumps a snapshot; the ground truth (ids, thread
ids, sys.getsizeof sums, BFS distances over gc.get_referents) is computed
inside that program and comes back through _phdtruth's ``extra``/``marks``.
Some results are also checked against independent pure-Python algorithms
(BFS, dominators, Tarjan) run over the snapshot as snapreader.py reads it.

Paths are spelled as graphutil.c spells them: ``module m ['x']`` (a
module's or class's ``__dict__`` folded into its owner), ``.attr``,
``[*]`` (folded list/tuple index; ``example_path`` keeps ``[3]``),
``['key']``, `` → `` between hops, the last hop a bare type name.

Four tests near the end guard bugs found while writing this file, now
fixed: each docstring says what the command must do and what it once did.
"""

import json
import os
import re
from collections import deque

import pytest

import snapreader
from conftest import VALGRIND, assert_usage_error, cli, cli_json, cli_ok, dump_in_subprocess, read_snapshot

ARROW = " → "


# ---------------------------------------------------------------------------
# helpers

def assert_in_order(text, *needles):
    """Every needle occurs in text, each after the previous one."""
    pos = 0
    for n in needles:
        i = text.find(n, pos)
        assert i >= 0, f"{n!r} not found (in order) in {text!r}"
        pos = i + len(n)


def hops(path):
    """References followed by a path: its arrows, plus one for every
    __dict__ folded into a module owner (``module m ['x']``).  (A class's
    or instance's attributes read ``.x`` however they are kept, so the
    text does not say whether a __dict__ was folded there: the paths
    measured with this have none.)"""
    folded = len(re.findall(r"(?:^|→ )(?:\[[^\]]*\] )?(?:module|class) \S+ \['", path))
    return path.count(ARROW) + folded


def run_scenario(tmp_path_factory, name, code, **kw):
    d = tmp_path_factory.mktemp(name)
    return dump_in_subprocess(code, d, name, **kw)


def group_total(doc):
    return sum(g["count"] for g in doc["groups"])


# ---------------------------------------------------------------------------
# the scenario programs (each runs after conftest's PRELUDE: sys, gc, os,
# pyheapdiff, T = _phdtruth, SNAP)

EVENT_BUS = r"""
class EventBus:
    def __init__(self):
        self.handlers = []
    def subscribe(self, handler):
        self.handlers.append(handler)

class Widget:
    def __init__(self, i):
        self.i = i
    def on_event(self, event):
        return self.i, event

bus = EventBus()

def handle_request(i):
    w = Widget(i)
    bus.subscribe(w.on_event)     # never unsubscribed
    return id(w)

T.extra["ids"] = [handle_request(i) for i in range(37)]
T.dump(objects=False)
"""

CACHE = r"""
import types
SRC = '''
class Session:
    def __init__(self, user):
        self.user = user
_CACHE = {}
def get_session(user):
    s = _CACHE.get(user)
    if s is None:
        s = _CACHE[user] = Session(user)
    return s
'''
webcache = types.ModuleType("webcache")
webcache.__file__ = "webcache.py"
sys.modules["webcache"] = webcache
exec(compile(SRC, "webcache.py", "exec"), webcache.__dict__)
users = ["user-%d" % i for i in range(6)]
T.extra["ids"] = [id(webcache.get_session(u)) for u in users + users]
T.extra["keys"] = users
del webcache
T.dump(objects=False)
"""

REGISTRY = r"""
class Registry:
    items = []
    @classmethod
    def register(cls, obj):
        cls.items.append(obj)
        return obj

class Plugin:
    def __init__(self, i):
        self.i = i

T.extra["ids"] = [id(Registry.register(Plugin(i))) for i in range(9)]
T.dump(objects=False)
"""

CLOSURE = r"""
class Secret:
    pass

def make_handler():
    secret_obj = Secret()
    T.mark("secret", secret_obj)
    def handler():
        return secret_obj
    return handler

registered_handler = make_handler()
T.dump(objects=False)
"""

TRACEBACK = r"""
class PendingRequest:
    pass

def process():
    pending_request = PendingRequest()
    T.mark("request", pending_request)
    raise RuntimeError("boom")

try:
    process()
except RuntimeError:
    last_tb = sys.exc_info()[2]
T.dump(objects=False)
"""

THREAD = r"""
import threading

class Job:
    pass

ready = threading.Event()
release = threading.Event()

def worker():
    current_job = Job()
    T.mark("job", current_job)
    T.extra["tid"] = threading.get_ident()
    ready.set()
    release.wait()

t = threading.Thread(target=worker, daemon=True)
t.start()
assert ready.wait(30)
T.extra["main_tid"] = threading.get_ident()
T.dump(objects=False)
release.set()
t.join()
"""

C_HELD = r"""
import ctypes

class Pinned:
    pass
class PinnedChild:
    pass
class Visible:
    pass

o = Pinned()
o.child = PinnedChild()
ctypes.pythonapi.Py_IncRef(ctypes.py_object(o))   # a reference nobody can see
T.mark("pinned", o)
T.mark("child", o.child)
del o
visible = Visible()                                # an extra C reference, but reachable
ctypes.pythonapi.Py_IncRef(ctypes.py_object(visible))
T.dump(objects=False)
"""

# three snapshots of one process: A (baseline), B (after the action), C
# (after the action again).  LEAK=1 keeps part of each batch in a module list.
LEAKS = r"""
LEAK = {leak}
DIR = os.path.dirname(SNAP)

@T.measured
class Order:
    def __init__(self, i):
        self.payload = os.urandom(200 + i)      # private to the order
        self.lines = [OrderLine(i, k) for k in range(3)]

class OrderLine:
    def __init__(self, i, k):
        self.qty = i * 10 + k

ARCHIVE = []

def handle(n, kept):
    orders = [Order(i) for i in range(n)]
    total = sum(len(o.lines) for o in orders)
    if LEAK:
        ARCHIVE.extend(orders[:kept])           # the leak
    return total

handle(30, 5)                                    # warm up
pyheapdiff.dump(os.path.join(DIR, "a.snap"))
before = set(id(o) for o in ARCHIVE)
handle(60, 11)
pyheapdiff.dump(os.path.join(DIR, "b.snap"))
new = [o for o in ARCHIVE if id(o) not in before]
T.extra["leaked_ids"] = [id(o) for o in new]
T.extra["order_sizes"] = sum(T.size_of(o) for o in new)
T.extra["order_payload_sizes"] = sum(T.size_of(o) + T.size_of(o.payload) for o in new)
T.extra["line_ids"] = [id(x) for o in new for x in o.lines]
del new, before
handle(60, 11)
T.dump(objects=False)                             # c.snap is SNAP
"""

ROUTES = r"""
import types
from collections import deque

class Target:
    pass
class Holder:
    pass
class Item:
    pass

t = Target()
T.mark("target", t)
chain = [[[[[t]]]]]                        # long: module, dict, 5 lists
far = types.ModuleType("far_module")       # short: module far_module, dict, Holder
sys.modules["far_module"] = far
far.holder = Holder()
far.holder.attr = t
middle = {"m": {"n": t}}                   # middle: module, dict, dict, dict
del t, far

# grouping: 7 objects by one route, 3 by another (alphabetically first)
zzz_many = [Item() for _ in range(7)]
aaa_few = {"x": [Item() for _ in range(3)]}
T.extra["few_ids"] = [id(x) for x in aaa_few["x"]]
T.extra["many_ids"] = [id(x) for x in zzz_many]

def bfs_distance(target_id):
    # an independent breadth-first search from the modules over gc.get_referents
    roots = [m for m in list(sys.modules.values()) if type(m) is types.ModuleType]
    dist = {id(m): 0 for m in roots}
    queue = deque(roots)
    while queue:
        o = queue.popleft()
        d = dist[id(o)]
        for r in gc.get_referents(o):
            if id(r) not in dist:
                dist[id(r)] = d + 1
                if id(r) == target_id:
                    return d + 1
                queue.append(r)
    return None

T.extra["bfs_target"] = bfs_distance(T.marks["target"]["id"])
T.extra["bfs_item"] = bfs_distance(T.extra["few_ids"][0])
T.dump(objects=False)
"""

CYCLES = r"""
gc.disable()
class Left:
    pass
class Right:
    pass
class Loop:
    pass

l = Left()
r = Right()
l.partner = r
r.owner = l
T.mark("left", l)
T.mark("right", r)
del l, r                         # garbage: only the cycle holds them
me = Loop()
me.myself = me                   # a reachable self-reference
survivor = Left()                # keeps the type Left in the snapshot
T.dump(objects=False, collect={collect})
"""

DOMINATORS = r"""
@T.measured
class BlobStore:
    def __init__(self, n, size):
        self._blobs = [os.urandom(size) for _ in range(n)]

class Node:
    def __init__(self, depth):
        self.children = [Node(depth - 1) for _ in range(3)] if depth else []

store = BlobStore(16, 4096)
T.mark("store", store)
T.extra["store_expected"] = (T.size_of(store) + sys.getsizeof(store._blobs)
                             + sum(sys.getsizeof(b) for b in store._blobs))
tree = Node(3)                   # 1 + 3 + 9 + 27 Node objects
T.mark("tree", tree)
T.dump(objects=False)
"""


# ---------------------------------------------------------------------------
# fixtures: one fresh process per scenario, shared by the tests of a scenario

@pytest.fixture(scope="module")
def event_bus(tmp_path_factory):
    return run_scenario(tmp_path_factory, "eventbus", EVENT_BUS)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return run_scenario(tmp_path_factory, "cache", CACHE)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return run_scenario(tmp_path_factory, "registry", REGISTRY)


@pytest.fixture(scope="module")
def closure(tmp_path_factory):
    return run_scenario(tmp_path_factory, "closure", CLOSURE)


@pytest.fixture(scope="module")
def traceback_(tmp_path_factory):
    return run_scenario(tmp_path_factory, "traceback", TRACEBACK)


@pytest.fixture(scope="module")
def thread(tmp_path_factory):
    return run_scenario(tmp_path_factory, "thread", THREAD)


@pytest.fixture(scope="module")
def c_held(tmp_path_factory):
    return run_scenario(tmp_path_factory, "cheld", C_HELD)


@pytest.fixture(scope="module")
def no_leak(tmp_path_factory):
    return run_scenario(tmp_path_factory, "noleak", LEAKS.replace("{leak}", "0"))


@pytest.fixture(scope="module")
def leak(tmp_path_factory):
    return run_scenario(tmp_path_factory, "leak", LEAKS.replace("{leak}", "1"))


@pytest.fixture(scope="module")
def routes(tmp_path_factory):
    return run_scenario(tmp_path_factory, "routes", ROUTES)


@pytest.fixture(scope="module")
def garbage_cycles(tmp_path_factory):
    return run_scenario(tmp_path_factory, "cycles", CYCLES.replace("{collect}", "False"))


@pytest.fixture(scope="module")
def collected_cycles(tmp_path_factory):
    return run_scenario(tmp_path_factory, "collected", CYCLES.replace("{collect}", "True"))


@pytest.fixture(scope="module")
def dominators_run(tmp_path_factory):
    return run_scenario(tmp_path_factory, "dominators", DOMINATORS)


def abc(run):
    d = os.path.dirname(run.path)
    return os.path.join(d, "a.snap"), os.path.join(d, "b.snap"), str(run.path)


# ---------------------------------------------------------------------------
# 1-7. paths of known leaks

def test_paths_event_handler_list(pyheapdiff_bin, event_bus):
    ids = event_bus.truth.extra["ids"]
    doc = cli_json(pyheapdiff_bin, "paths", "--type", "Widget", event_bus.path)
    assert doc["type"] == "Widget"
    assert doc["objects"] == len(ids) and doc["unreachable"] == 0 and doc["omitted_groups"] == 0
    assert len(doc["groups"]) == 1
    g = doc["groups"][0]
    assert g["count"] == len(ids)
    assert g["path"] == ("module __main__ ['bus'] → __main__.EventBus .handlers → list [*] → "
                         "method .__self__ → __main__.Widget")
    assert_in_order(g["path"], ".handlers", "[*]", ".__self__", "__main__.Widget")
    assert int(g["example"], 16) in ids
    # the exact path names the example's index in the handler list
    m = re.search(r"\.handlers → list \[(\d+)\] → method \.__self__", g["example_path"])
    assert m, g["example_path"]
    assert ids[int(m.group(1))] == int(g["example"], 16)
    # the text form says the same
    out = cli_ok(pyheapdiff_bin, "paths", "--type", "Widget", event_bus.path).stdout
    assert out.splitlines()[0] == f"{len(ids)} objects of type Widget: 1 path group"
    assert f"{len(ids):6d} × {g['path']}" in out
    assert f"e.g. {g['example']}" in out


def test_paths_unbounded_module_cache(pyheapdiff_bin, cache):
    """Six sessions under six keys of a module's cache dict: the paths
    differ only in the key, so they are one group with the key folded
    ("[…]"); the global's name stays.  The example's exact path names its
    own key."""
    keys = cache.truth.extra["keys"]
    ids = set(cache.truth.extra["ids"])
    assert len(ids) == len(keys)  # the second round hit the cache
    doc = cli_json(pyheapdiff_bin, "paths", "--type", "Session", "--limit", "0", cache.path)
    assert doc["objects"] == len(ids) == group_total(doc)
    assert doc["omitted_groups"] == 0
    (g,) = doc["groups"]
    assert g["path"] == "module webcache ['_CACHE'] → dict […] → webcache.Session"
    assert g["count"] == len(ids)
    assert int(g["example"], 16) in ids
    m = re.fullmatch(r"module webcache \['_CACHE'\] → dict \['(user-\d+)'\] → webcache\.Session",
                     g["example_path"])
    assert m and m.group(1) in keys, g["example_path"]
    # the qualified name selects the same objects
    assert cli_json(pyheapdiff_bin, "paths", "--type", "webcache.Session", "--limit", "0",
                    cache.path)["groups"] == doc["groups"]


KEYED = r"""
class User:
    pass
class Conn:
    pass
# a registry: constant key 'users', then one key per user id (folded)
registry = {"users": {i: User() for i in range(50)}}
# three connections under three names: too few keys to fold, kept apart
pool = {"db": Conn(), "cache": Conn(), "queue": Conn()}
T.extra["users"] = [id(u) for u in registry["users"].values()]
T.extra["conns"] = {k: id(v) for k, v in pool.items()}
T.dump(objects=False)
"""


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    return run_scenario(tmp_path_factory, "keyed", KEYED)


def test_paths_fold_only_the_keys_that_differ(pyheapdiff_bin, keyed):
    doc = cli_json(pyheapdiff_bin, "paths", "--type", "User", keyed.path)
    (g,) = doc["groups"]
    assert g["count"] == len(keyed.truth.extra["users"])
    assert g["path"] == "module __main__ ['registry'] → dict ['users'] → dict […] → __main__.User"
    assert int(g["example"], 16) in keyed.truth.extra["users"]
    assert re.fullmatch(r"module __main__ \['registry'\] → dict \['users'\] → dict \[\d+\] → __main__\.User",
                        g["example_path"]), g["example_path"]


def test_paths_few_keys_stay_apart(pyheapdiff_bin, keyed):
    doc = cli_json(pyheapdiff_bin, "paths", "--type", "Conn", keyed.path)
    conns = keyed.truth.extra["conns"]
    assert sorted(g["path"] for g in doc["groups"]) == sorted(
        f"module __main__ ['pool'] → dict ['{k}'] → __main__.Conn" for k in conns)
    for g in doc["groups"]:
        key = re.search(r"\['(\w+)'\] → __main__\.Conn", g["path"]).group(1)
        assert int(g["example"], 16) == conns[key]


def test_paths_class_attribute_registry(pyheapdiff_bin, registry):
    ids = registry.truth.extra["ids"]
    doc = cli_json(pyheapdiff_bin, "paths", "--type", "Plugin", registry.path)
    assert doc["objects"] == len(ids)
    assert [g["count"] for g in doc["groups"]] == [len(ids)]
    path = doc["groups"][0]["path"]
    # a class attribute is an attribute: ".items", however the class keeps it
    assert path == "module __main__ ['Registry'] → class Registry .items → list [*] → __main__.Plugin"
    assert_in_order(path, "class Registry", ".items", "[*]", "__main__.Plugin")
    assert ".__dict__" not in path  # the class's __dict__ is folded into the class
    example = doc["groups"][0]["example_path"]
    i = int(re.search(r"list \[(\d+)\]", example).group(1))
    assert ids[i] == int(doc["groups"][0]["example"], 16)


def test_paths_closure_cell(pyheapdiff_bin, closure):
    secret = closure.truth.mark("secret")["id"]
    doc = cli_json(pyheapdiff_bin, "paths", "--type", "Secret", closure.path)
    assert doc["objects"] == 1
    g = doc["groups"][0]
    assert int(g["example"], 16) == secret
    assert_in_order(g["path"], "module __main__", "['registered_handler']", "function make_handler.<locals>.handler",
                    ".__closure__", "tuple", ".secret_obj", "cell", ".cell_contents", "__main__.Secret")


def test_paths_traceback_in_global(pyheapdiff_bin, traceback_):
    req = traceback_.truth.mark("request")["id"]
    doc = cli_json(pyheapdiff_bin, "paths", "--type", "PendingRequest", traceback_.path)
    assert doc["objects"] == 1
    g = doc["groups"][0]
    assert int(g["example"], 16) == req
    # module-level traceback -> tb_next (process's traceback) -> tb_frame -> the local
    assert_in_order(g["path"], "module __main__", "['last_tb']", "traceback", "traceback", "frame",
                    ".pending_request", "__main__.PendingRequest")


def test_paths_thread_local(pyheapdiff_bin, thread):
    tid = thread.truth.extra["tid"]
    assert tid != thread.truth.extra["main_tid"]
    job = thread.truth.mark("job")["id"]
    doc = cli_json(pyheapdiff_bin, "paths", "--type", "Job", thread.path)
    assert doc["objects"] == 1
    g = doc["groups"][0]
    assert int(g["example"], 16) == job
    assert g["path"].startswith(f"[thread {tid}] "), g["path"]
    assert_in_order(g["path"], f"[thread {tid}]", "worker", "current_job", "__main__.Job")


def test_orphans_and_held_by_c(pyheapdiff_bin, c_held):
    pinned = c_held.truth.mark("pinned")["id"]
    snap = c_held.snap
    node = snap.by_addr[pinned]
    assert node.refcount == 1 + sum(1 for n in snap.nodes for e in n.edges if e[0] == node.index)
    doc = cli_json(pyheapdiff_bin, "orphans", "--top", "0", c_held.path)
    assert "new_in_after" not in doc and doc["omitted_types"] == 0
    rows = {r["type"]: r for r in doc["types"]}
    assert rows["__main__.Pinned"]["count"] == 1
    assert rows["__main__.Pinned"]["paths"] == [{"count": 1, "path": "[held by C] __main__.Pinned"}]
    assert rows["__main__.Pinned"]["retained"] >= node.size + snap.by_addr[c_held.truth.mark("child")["id"]].size
    assert "__main__.Visible" not in rows      # reachable from a module
    assert "__main__.PinnedChild" not in rows  # reached from the orphan, not an orphan itself
    assert doc["objects"] == sum(r["count"] for r in doc["types"])
    out = cli_ok(pyheapdiff_bin, "orphans", "--top", "0", c_held.path).stdout
    assert "__main__.Pinned: 1," in out and "[held by C] __main__.Pinned" in out

    p = cli_json(pyheapdiff_bin, "paths", "--type", "Pinned", c_held.path)
    assert [(g["count"], g["path"]) for g in p["groups"]] == [(1, "[held by C] __main__.Pinned")]
    p = cli_json(pyheapdiff_bin, "paths", "--type", "PinnedChild", c_held.path)
    assert [g["path"] for g in p["groups"]] == ["[held by C] __main__.Pinned .child → __main__.PinnedChild"]
    p = cli_json(pyheapdiff_bin, "paths", "--type", "Visible", c_held.path)
    assert [g["path"] for g in p["groups"]] == ["module __main__ ['visible'] → __main__.Visible"]


# ---------------------------------------------------------------------------
# 8. leaks: the three-snapshot technique

def test_leaks_of_a_program_that_frees_everything(pyheapdiff_bin, no_leak):
    a, b, c = abc(no_leak)
    assert no_leak.truth.extra["leaked_ids"] == []
    for snaps in ((a, b, c), (a, b)):
        doc = cli_json(pyheapdiff_bin, "leaks", "--top", "0", *snaps)
        assert doc["technique"] == ("three snapshots" if len(snaps) == 3 else "two snapshots")
        types = {r["type"] for r in doc["types"]}
        assert not types & {"__main__.Order", "__main__.OrderLine"}, doc["types"]
        assert doc["snapshot"] == snaps[-1]
    out = cli_ok(pyheapdiff_bin, "leaks", a, b, c).stdout
    assert out.startswith(f"new in {b} and still alive in {c}: ")
    assert "__main__.Order" not in out


def test_leaks_of_a_leaking_program(pyheapdiff_bin, leak):
    a, b, c = abc(leak)
    x = leak.truth.extra
    leaked = x["leaked_ids"]
    assert len(leaked) == 11
    # the truth: the leaked orders are in C, and there are more Orders in C than those
    snap_c = read_snapshot(c)
    assert all(snap_c.by_addr[i].type == "__main__.Order" for i in leaked)
    assert sum(n.type == "__main__.Order" for n in snap_c.nodes) == 5 + 11 + 11  # warm-up, B, C
    doc = cli_json(pyheapdiff_bin, "leaks", "--top", "0", a, b, c)
    assert doc["technique"] == "three snapshots"
    rows = {r["type"]: r for r in doc["types"]}
    order = rows["__main__.Order"]
    assert order["count"] == len(leaked)
    assert order["size"] == x["order_sizes"]
    assert order["retained"] >= x["order_sizes"]
    # each order retains its private payload and lines (counted under Order only once)
    assert order["retained"] >= x["order_payload_sizes"]
    assert order["paths"] == [{"count": len(leaked), "path": "module __main__ ['ARCHIVE'] → list [*] → __main__.Order"}]
    assert rows["__main__.OrderLine"]["count"] == len(x["line_ids"])
    assert doc["new_in_after"] >= len(leaked) + len(x["line_ids"])
    # sorted by what they retain outside new user objects, largest first; then the builtin
    # contents of the orders (their lines list and payload), attributed to them
    own = [r for r in doc["types"] if "inside" not in r]
    assert [r["own_retained"] for r in own] == sorted((r["own_retained"] for r in own), reverse=True)
    assert doc["types"][:len(own)] == own and own[0]["type"] == "__main__.Order"
    contents = {r["type"]: r["inside"] for r in doc["types"][len(own):]}
    assert contents == {"list": "__main__.Order", "bytes": "__main__.Order"}, contents
    # the total does not count what a candidate retains twice: lines and payloads are inside orders
    assert doc["retained"] <= sum(r["retained"] for r in doc["types"])
    assert doc["retained"] >= order["retained"]
    # the text form
    out = cli_ok(pyheapdiff_bin, "leaks", a, b, c).stdout
    assert re.search(rf"^__main__\.Order: {len(leaked)}, ", out, re.M), out
    assert f"{len(leaked):6d} × module __main__ ['ARCHIVE'] → list [*] → __main__.Order" in out


def test_leaks_two_snapshots_and_top(pyheapdiff_bin, leak):
    a, b, c = abc(leak)
    doc = cli_json(pyheapdiff_bin, "leaks", "--top", "0", a, b)
    assert doc["technique"] == "two snapshots" and doc["snapshot"] == b
    rows = {r["type"]: r for r in doc["types"]}
    # new in B: the leaked orders (the other orders of the batch were freed before B)
    assert rows["__main__.Order"]["count"] == len(leak.truth.extra["leaked_ids"])
    one = cli_json(pyheapdiff_bin, "leaks", "--top", "1", a, b, c)
    assert len(one["types"]) == 1
    full = cli_json(pyheapdiff_bin, "leaks", "--top", "0", a, b, c)
    assert one["omitted_types"] == len(full["types"]) - 1
    assert one["types"][0] == full["types"][0]


def test_leaks_needs_one_process(pyheapdiff_bin, leak, no_leak):
    a, b, c = abc(leak)
    other = abc(no_leak)[2]
    assert_usage_error(cli(pyheapdiff_bin, "leaks", a, b, other), "not from the process of")
    assert_usage_error(cli(pyheapdiff_bin, "leaks", a), "expected BASELINE AFTER [AGAIN]")
    assert_usage_error(cli(pyheapdiff_bin, "leaks", a, b, c, c), "expected BASELINE AFTER [AGAIN]")


# ---------------------------------------------------------------------------
# paths: minimality, grouping, --id, --limit, type names

def test_paths_are_shortest(pyheapdiff_bin, routes):
    x = routes.truth.extra
    assert x["bfs_target"] == 3  # module far_module -> its dict -> Holder -> Target
    doc = cli_json(pyheapdiff_bin, "paths", "--type", "Target", routes.path)
    g = doc["groups"][0]
    assert g["path"] == "module far_module ['holder'] → __main__.Holder .attr → __main__.Target"
    assert hops(g["example_path"]) == x["bfs_target"]
    assert x["bfs_item"] == 4  # module __main__ -> its dict -> aaa_few -> list -> Item
    doc = cli_json(pyheapdiff_bin, "paths", "--id", hex(x["few_ids"][0]), routes.path)
    (g,) = doc["groups"]
    assert hops(g["example_path"]) == x["bfs_item"], g


def test_paths_shortest_against_bfs_over_the_snapshot(pyheapdiff_bin, routes):
    """Every instance's printed path is as long as a BFS from the modules
    over the snapshot's (independently read) retaining references (all the
    modules here are the user's: none is preferred to another)."""
    snap = routes.snap
    modules = set()
    for r in snap.roots:
        if r.kind == snapreader.ROOT_MODULES:
            modules |= {t for t, k, _ in snap.nodes[r.node].edges
                        if k == snapreader.VALUE and snap.nodes[t].type == "module"}
    dist = {m: 0 for m in modules}
    queue = deque(modules)
    while queue:
        u = queue.popleft()
        for t, k, _ in snap.nodes[u].edges:
            if k != snapreader.WEAK and t not in dist:
                dist[t] = dist[u] + 1
                queue.append(t)
    for addr in routes.truth.extra["few_ids"] + routes.truth.extra["many_ids"] + [routes.truth.mark("target")["id"]]:
        doc = cli_json(pyheapdiff_bin, "paths", "--id", hex(addr), routes.path)
        (g,) = doc["groups"]
        assert hops(g["example_path"]) == dist[snap.by_addr[addr].index], g


def test_paths_grouping_limit_and_id(pyheapdiff_bin, routes):
    x = routes.truth.extra
    doc = cli_json(pyheapdiff_bin, "paths", "--type", "Item", routes.path)
    assert doc["objects"] == 10 and doc["omitted_groups"] == 0
    assert [(g["count"], g["path"]) for g in doc["groups"]] == [
        (7, "module __main__ ['zzz_many'] → list [*] → __main__.Item"),
        (3, "module __main__ ['aaa_few'] → dict ['x'] → list [*] → __main__.Item"),
    ]
    assert int(doc["groups"][0]["example"], 16) in x["many_ids"]
    assert int(doc["groups"][1]["example"], 16) in x["few_ids"]

    # --limit
    one = cli_json(pyheapdiff_bin, "paths", "--type", "Item", "--limit", "1", routes.path)
    assert one["groups"] == doc["groups"][:1] and one["omitted_groups"] == 1 and one["objects"] == 10
    assert cli_json(pyheapdiff_bin, "paths", "--type", "Item", "--limit", "0", routes.path)["groups"] == doc["groups"]
    out = cli_ok(pyheapdiff_bin, "paths", "--type", "Item", "--limit", "1", routes.path).stdout
    assert out.splitlines()[0] == "10 objects of type Item: 2 path groups"
    assert "(1 more groups; --limit 0 shows all)" in out
    assert "['aaa_few']" not in out

    # --id: one object, or several
    addr = x["few_ids"][1]
    one = cli_json(pyheapdiff_bin, "paths", "--id", hex(addr), routes.path)
    assert one["type"] is None and one["objects"] == 1
    assert one["groups"][0]["count"] == 1 and int(one["groups"][0]["example"], 16) == addr
    assert one["groups"][0]["example_path"] == "module __main__ ['aaa_few'] → dict ['x'] → list [1] → __main__.Item"
    assert cli_json(pyheapdiff_bin, "paths", "--id", str(addr), routes.path)["groups"] == one["groups"]
    two = cli_json(pyheapdiff_bin, "paths", "--id", hex(addr), "--id", hex(x["many_ids"][4]), routes.path)
    assert two["objects"] == 2 and group_total(two) == 2
    assert_usage_error(cli(pyheapdiff_bin, "paths", "--id", "0x10", routes.path), "no object at 0x10")
    assert_usage_error(cli(pyheapdiff_bin, "paths", "--id", "zork", routes.path), "--id takes an address")


def test_paths_type_names(pyheapdiff_bin, routes):
    bare = cli_json(pyheapdiff_bin, "paths", "--type", "Item", routes.path)
    qual = cli_json(pyheapdiff_bin, "paths", "--type", "__main__.Item", routes.path)
    assert bare["groups"] == qual["groups"] and qual["type"] == "__main__.Item"
    line = assert_usage_error(cli(pyheapdiff_bin, "paths", "--type", "Itme", routes.path),
                              "no type 'Itme'", "did you mean", "__main__.Item")
    assert line.index("__main__.Item") < line.index("?")
    assert_usage_error(cli(pyheapdiff_bin, "paths", "--type", "Holdr", routes.path), "did you mean __main__.Holder")
    # a qualified name must be exact: no partial module match
    assert_usage_error(cli(pyheapdiff_bin, "paths", "--type", "main.Item", routes.path), "no type 'main.Item'")
    # the other graph commands take the same names
    for cmd in ("cycles", "dominators"):
        assert_usage_error(cli(pyheapdiff_bin, cmd, "--type", "Itme", routes.path), "did you mean __main__.Item")


# ---------------------------------------------------------------------------
# cycles

def test_cycles_garbage_cycle(pyheapdiff_bin, garbage_cycles):
    run = garbage_cycles
    doc = cli_json(pyheapdiff_bin, "cycles", "--type", "Right", run.path)
    assert doc["cycles"] == 1 and doc["objects"] == 2 and doc["unreachable"] == 1
    (c,) = doc["top"]
    assert c["reachable"] is False and c["objects"] == 2
    assert c["size"] == run.snap.by_addr[run.truth.mark("left")["id"]].size + \
        run.snap.by_addr[run.truth.mark("right")["id"]].size
    assert sorted((t["type"], t["count"]) for t in c["types"]) == [("__main__.Left", 1), ("__main__.Right", 1)]
    assert c["example"] in ("__main__.Left .partner → __main__.Right .owner → __main__.Left",
                            "__main__.Right .owner → __main__.Left .partner → __main__.Right"), c["example"]
    # Left matches the same cycle (the survivor Left is in no cycle)
    assert cli_json(pyheapdiff_bin, "cycles", "--type", "Left", run.path)["top"] == doc["top"]
    # in the text form
    out = cli_ok(pyheapdiff_bin, "cycles", "--type", "Right", run.path).stdout
    assert "UNREACHABLE (garbage)" in out and ".partner" in out and ".owner" in out
    # paths knows they are unreachable
    p = cli_json(pyheapdiff_bin, "paths", "--type", "Right", run.path)
    assert p["objects"] == 1 and p["unreachable"] == 1 and p["groups"] == []
    assert "1 unreachable from every root" in cli_ok(pyheapdiff_bin, "paths", "--type", "Right", run.path).stdout
    # and the whole-heap report counts it among the unreachable ones
    full = cli_json(pyheapdiff_bin, "cycles", "--top", "0", run.path)
    assert full["unreachable"] >= 1
    assert sum(not c["reachable"] for c in full["top"]) == full["unreachable"]
    assert any(c["example"] == doc["top"][0]["example"] for c in full["top"])


def test_cycles_self_reference(pyheapdiff_bin, garbage_cycles):
    doc = cli_json(pyheapdiff_bin, "cycles", "--type", "Loop", garbage_cycles.path)
    assert doc["cycles"] == 1 and doc["unreachable"] == 0
    (c,) = doc["top"]
    assert c["objects"] == 1 and c["reachable"] is True
    assert c["types"] == [{"type": "__main__.Loop", "count": 1}]
    assert c["example"] == "__main__.Loop .myself → __main__.Loop"


def test_cycles_collected(pyheapdiff_bin, collected_cycles):
    doc = cli_json(pyheapdiff_bin, "cycles", "--type", "Left", collected_cycles.path)
    assert doc["cycles"] == 0 and doc["top"] == [] and doc["objects"] == 0
    full = cli_json(pyheapdiff_bin, "cycles", "--top", "0", collected_cycles.path)
    assert full["unreachable"] == 0
    assert not any(t["type"] in ("__main__.Left", "__main__.Right") for c in full["top"] for t in c["types"])
    assert_usage_error(cli(pyheapdiff_bin, "cycles", "--type", "Right", collected_cycles.path), "no type 'Right'")
    assert cli_json(pyheapdiff_bin, "cycles", "--type", "Loop", collected_cycles.path)["cycles"] == 1


def test_cycles_top_and_sizes(pyheapdiff_bin, garbage_cycles):
    full = cli_json(pyheapdiff_bin, "cycles", "--top", "0", garbage_cycles.path)
    assert len(full["top"]) == full["cycles"] > 3
    assert full["objects"] == sum(c["objects"] for c in full["top"])
    assert full["size"] == sum(c["size"] for c in full["top"])
    assert [c["size"] for c in full["top"]] == sorted((c["size"] for c in full["top"]), reverse=True)
    for c in full["top"]:
        assert sum(t["count"] for t in c["types"]) == c["objects"]
        assert c["objects"] > 1 or c["example"].count(ARROW) == 1
    three = cli_json(pyheapdiff_bin, "cycles", "--top", "3", garbage_cycles.path)
    assert three["top"] == full["top"][:3] and three["cycles"] == full["cycles"]
    assert cli_json(pyheapdiff_bin, "cycles", garbage_cycles.path)["top"] == full["top"][:10]  # default --top 10


def test_cycles_against_tarjan_over_the_snapshot(pyheapdiff_bin, garbage_cycles):
    snap = garbage_cycles.snap
    succ = [[t for t, k, _ in n.edges if k != snapreader.WEAK] for n in snap.nodes]
    comps = tarjan(succ)
    cyc = [c for c in comps if len(c) > 1 or c[0] in succ[c[0]]]
    full = cli_json(pyheapdiff_bin, "cycles", "--top", "0", garbage_cycles.path)
    assert full["cycles"] == len(cyc)
    assert full["objects"] == sum(map(len, cyc))
    assert sorted((c["objects"], c["size"]) for c in full["top"]) == \
        sorted((len(c), sum(snap.nodes[v].size for v in c)) for c in cyc)


def tarjan(succ):
    n = len(succ)
    index, low, on, stack, comps, counter = [None] * n, [0] * n, [False] * n, [], [], 0
    for r in range(n):
        if index[r] is not None:
            continue
        index[r] = low[r] = counter
        counter += 1
        stack.append(r)
        on[r] = True
        work = [(r, 0)]
        while work:
            v, i = work[-1]
            if i < len(succ[v]):
                work[-1] = (v, i + 1)
                w = succ[v][i]
                if index[w] is None:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on[w] = True
                    work.append((w, 0))
                elif on[w]:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on[w] = False
                    comp.append(w)
                    if w == v:
                        break
                comps.append(comp)
    return comps


# ---------------------------------------------------------------------------
# dominators

def test_dominators_holder_retains_its_private_list(pyheapdiff_bin, dominators_run):
    run = dominators_run
    store = run.truth.mark("store")["id"]
    expected = run.truth.extra["store_expected"]
    doc = cli_json(pyheapdiff_bin, "dominators", "--type", "BlobStore", run.path)
    (o,) = doc["objects"]
    assert int(o["address"], 16) == store and o["type"] == "__main__.BlobStore"
    assert o["size"] == run.truth.mark("store")["size"]
    assert o["retained"] >= expected
    assert o["retained"] == expected  # nothing else is private to the store
    assert o["path"] == "module __main__ ['store'] → __main__.BlobStore"
    assert doc["types"] == [{"type": "__main__.BlobStore", "retained": o["retained"], "instances": 1}]
    assert doc["total_size"] == run.snap.total_size
    out = cli_ok(pyheapdiff_bin, "dominators", "--type", "BlobStore", run.path).stdout
    assert f"__main__.BlobStore ({o['size']} B, {o['address']})" in out
    assert "module __main__ ['store'] → __main__.BlobStore" in out


def test_dominators_type_nested_in_itself(pyheapdiff_bin, dominators_run):
    run = dominators_run
    root = run.truth.mark("tree")["id"]
    doc = cli_json(pyheapdiff_bin, "dominators", "--type", "Node", "--top", "0", run.path)
    objs = doc["objects"]
    assert len(objs) == 1 + 3 + 9 + 27
    assert int(objs[0]["address"], 16) == root  # the root retains the most
    root_ret = objs[0]["retained"]
    assert root_ret == sum(o["size"] for o in objs) + sum(
        run.snap.nodes[t].size for o in objs for t, k, name in run.snap.by_addr[int(o["address"], 16)].edges
        if k == snapreader.NAME and name == "children")  # every Node and its children list
    (row,) = doc["types"]
    assert row == {"type": "__main__.Node", "retained": root_ret, "instances": 1}
    assert row["retained"] < sum(o["retained"] for o in objs)
    # --top limits both lists
    two = cli_json(pyheapdiff_bin, "dominators", "--type", "Node", "--top", "2", run.path)
    assert two["objects"] == objs[:2] and two["types"] == doc["types"]


def test_dominators_against_a_reference_implementation(pyheapdiff_bin, dominators_run):
    """Retained size of every reachable object, against Cooper-Harvey-
    Kennedy dominators computed in Python over the snapshot as snapreader
    reads it, with the root set of docs/cli.md."""
    snap = dominators_run.snap
    expected = reference_retained(snap)
    doc = cli_json(pyheapdiff_bin, "dominators", "--top", "0", dominators_run.path)
    got = {int(o["address"], 16): o["retained"] for o in doc["objects"]}
    assert len(got) == len(expected)
    bad = [(snap.nodes[v], got.get(snap.nodes[v].addr), r) for v, r in expected.items()
           if got.get(snap.nodes[v].addr) != r]
    assert not bad, bad[:5]
    rets = [o["retained"] for o in doc["objects"]]
    assert rets == sorted(rets, reverse=True)


def reference_retained(snap):
    nodes = snap.nodes
    n = len(nodes)
    succ = [[t for t, k, _ in nd.edges if k != snapreader.WEAK] for nd in nodes]
    indeg = [0] * n
    for s in succ:
        for t in s:
            indeg[t] += 1
    roots, seen = [], set()

    def add(v):
        if v not in seen:
            seen.add(v)
            roots.append(v)

    for r in snap.roots:
        if r.kind == snapreader.ROOT_MODULES:
            for t, k, _ in nodes[r.node].edges:
                if k == snapreader.VALUE and nodes[t].type == "module":
                    add(t)
    for r in snap.roots:
        add(r.node)
    for v in range(n):
        if v not in seen and nodes[v].refcount > indeg[v]:
            add(v)
    SUPER = n
    visited = [False] * (n + 1)
    visited[SUPER] = True
    post, stack = [], [(SUPER, iter(roots))]
    while stack:
        v, it = stack[-1]
        for w in it:
            if not visited[w]:
                visited[w] = True
                stack.append((w, iter(succ[w])))
                break
        else:
            stack.pop()
            post.append(v)
    rpo = post[::-1]
    num = {v: i for i, v in enumerate(rpo)}
    preds = {v: [] for v in rpo}
    for u in rpo[1:]:
        for t in succ[u]:
            preds[t].append(u)
    for r in roots:
        preds[r].append(SUPER)
    idom = {SUPER: SUPER}

    def intersect(a, b):
        while a != b:
            while num[a] > num[b]:
                a = idom[a]
            while num[b] > num[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for v in rpo[1:]:
            new = None
            for p in preds[v]:
                if p in idom:
                    new = p if new is None else intersect(p, new)
            if idom.get(v) != new:
                idom[v] = new
                changed = True
    ret = {v: nodes[v].size for v in rpo[1:]}
    for v in reversed(rpo[1:]):
        if idom[v] != SUPER:
            ret[idom[v]] += ret[v]
    return ret


# ---------------------------------------------------------------------------
# JSON, exit codes and bad inputs

def test_json_of_every_command(pyheapdiff_bin, leak):
    a, b, c = abc(leak)
    keys = {
        ("paths", "--type", "Order"): {"snapshot", "type", "objects", "unreachable", "omitted_groups", "groups"},
        ("cycles",): {"snapshot", "cycles", "objects", "size", "unreachable", "top"},
        ("dominators",): {"snapshot", "total_size", "objects", "types"},
        ("orphans",): {"snapshot", "objects", "size", "retained", "omitted_types", "types"},
    }
    for args, want in keys.items():
        p = cli_ok(pyheapdiff_bin, *args, "--json", c)
        doc = json.loads(p.stdout)
        assert set(doc) == want, args
        assert doc["snapshot"] == c
    doc = json.loads(cli_ok(pyheapdiff_bin, "leaks", "--json", a, b, c).stdout)
    assert set(doc) == {"snapshot", "objects", "size", "retained", "omitted_types", "types", "new_in_after",
                        "technique", "matched", "unreachable"}
    for t in doc["types"]:
        assert set(t) - {"inside"} == {"type", "origin", "count", "size", "retained", "own_retained", "paths"}
    for cmd in ("paths", "cycles", "dominators", "leaks", "orphans"):
        p = cli_ok(pyheapdiff_bin, cmd, "--help")
        assert p.stdout.startswith(f"usage: pyheapdiff {cmd} ")


@pytest.fixture(scope="module")
def bad_inputs(leak, pyheapdiff_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    c = abc(leak)[2]
    data = open(c, "rb").read()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x5A
    (d / "corrupt.snap").write_bytes(bytes(flipped))
    (d / "truncated.snap").write_bytes(data[: len(data) // 3])
    (d / "empty.snap").write_bytes(b"")
    cli_ok(pyheapdiff_bin, "load", c, "-o", d / "heap.db")
    return d


GRAPH_COMMANDS = [("paths", "--type", "Order"), ("cycles",), ("dominators",), ("orphans",)]


@pytest.mark.parametrize("args", GRAPH_COMMANDS, ids=lambda a: a[0])
def test_bad_inputs(pyheapdiff_bin, bad_inputs, args):
    d = bad_inputs
    assert_usage_error(cli(pyheapdiff_bin, *args, d / "heap.db"), "heap.db", "a database", "give the .snap")
    assert_usage_error(cli(pyheapdiff_bin, *args, d / "missing.snap"), "missing.snap", "cannot open")
    assert_usage_error(cli(pyheapdiff_bin, *args, d / "corrupt.snap"), "corrupt.snap", "checksum mismatch")
    assert_usage_error(cli(pyheapdiff_bin, *args, d / "truncated.snap"), "truncated.snap", "truncated")
    assert_usage_error(cli(pyheapdiff_bin, *args, d / "empty.snap"), "empty.snap", "empty file")
    assert_usage_error(cli(pyheapdiff_bin, *args, "--json", d / "missing.snap"), "cannot open")


def test_bad_inputs_of_leaks(pyheapdiff_bin, leak, bad_inputs):
    a, b, c = abc(leak)
    d = bad_inputs
    assert_usage_error(cli(pyheapdiff_bin, "leaks", a, b, d / "heap.db"), "a database", "give the .snap")
    for bad, msg in (("missing.snap", "cannot open"), ("corrupt.snap", "checksum mismatch"),
                     ("truncated.snap", "truncated"), ("empty.snap", "empty file")):
        for pos in range(3):
            snaps = [a, b, c]
            snaps[pos] = d / bad
            assert_usage_error(cli(pyheapdiff_bin, "leaks", *snaps), bad, msg)


def test_usage_errors(pyheapdiff_bin, leak):
    c = abc(leak)[2]
    assert_usage_error(cli(pyheapdiff_bin, "paths", c), "--type T or --id ADDRESS")
    assert_usage_error(cli(pyheapdiff_bin, "paths", "--type", "Order"), "expected one snapshot")
    assert_usage_error(cli(pyheapdiff_bin, "paths", "--type", "Order", c, c, c), "expected one snapshot, or two")
    assert_usage_error(cli(pyheapdiff_bin, "paths", "--type", "Order", "--limit", "-1", c), "--limit")
    assert_usage_error(cli(pyheapdiff_bin, "paths", "--type", "Order", "--limit", "x", c), "--limit")
    for cmd in ("cycles", "dominators", "orphans"):
        assert_usage_error(cli(pyheapdiff_bin, cmd), "expected one snapshot")
        assert_usage_error(cli(pyheapdiff_bin, cmd, "--top", "-2", c), "--top")
        assert_usage_error(cli(pyheapdiff_bin, cmd, "--jsn", c), "unknown option '--jsn'")
    assert_usage_error(cli(pyheapdiff_bin, "orphans", "--type", "Order", c), "unknown option '--type'")
    assert_usage_error(cli(pyheapdiff_bin, "leaks", "--top", "many", c, c), "--top")


# ---------------------------------------------------------------------------
# bugs found by these tests (they fail until fixed)

LONG_NAMES = r"""
gc.disable()
{classes}
objs = [cls() for cls in classes]
for i, o in enumerate(objs):
    setattr(o, attrs[i], objs[(i + 1) % len(objs)])
keep = objs[0]
del objs, o
T.dump(objects=False, collect=False)
"""


def test_cycles_example_keeps_every_hop_of_long_type_names(pyheapdiff_bin, tmp_path):
    """A cycle's example spells every hop and closes on its first object,
    however long the type names.  Was a bug: cmd_cycles.c example_cycle()
    sized its buffer as 64 bytes per hop + 256 and stopped appending once
    fewer than 300 bytes were left, so with ~100-character qualified names
    a two-object cycle A .partner -> B .partner -> A was printed as
    'A .partner → B'."""
    code = LONG_NAMES.format(classes='classes = [type("A" * 95, (), {}), type("B" * 95, (), {})]\n'
                                     'attrs = ["partner", "partner"]')
    run = dump_in_subprocess(code, tmp_path, "longnames")
    a, b = "__main__." + "A" * 95, "__main__." + "B" * 95
    doc = cli_json(pyheapdiff_bin, "cycles", "--type", "A" * 95, run.path)
    (c,) = doc["top"]
    assert c["objects"] == 2
    assert c["example"] in (f"{a} .partner → {b} .partner → {a}", f"{b} .partner → {a} .partner → {b}"), \
        c["example"]


def test_cycles_example_of_long_hops_stays_in_its_buffer(pyheapdiff_bin, tmp_path):
    """A long cycle with long hops is elided (' → ... (N more) ...') and
    closed, with no invalid write under valgrind.  Was a bug: the same
    function added snprintf's return value (the untruncated length) to its
    offset, so after a long hop the offset passed the end of the buffer and
    for more than 8 objects the elision's snprintf wrote at out + len with
    size cap - len wrapped around, a heap buffer overflow (valgrind:
    'Invalid write ... example_cycle (cmd_cycles.c)'), visible without
    valgrind as a truncated example."""
    code = LONG_NAMES.format(classes=(
        'names = [("C%d_" % i + "x" * 180) if i < 3 else ("D3_" + "y" * 280) if i == 3 else ("C%d" % i)'
        ' for i in range(9)]\n'
        'classes = [type(n, (), {}) for n in names]\n'
        'attrs = ["z" * 190 if i == 2 else "nxt" for i in range(9)]'))
    run = dump_in_subprocess(code, tmp_path, "overflow")
    valgrind = VALGRIND
    if valgrind:
        p = cli(pyheapdiff_bin, "cycles", "--type", "C4", "--json", run.path, timeout=120,
                wrapper=(valgrind, "-q", "--error-exitcode=99"))
        assert p.returncode == 0, p.stderr[-3000:]
    doc = cli_json(pyheapdiff_bin, "cycles", "--type", "C4", run.path)
    (c,) = doc["top"]
    assert c["objects"] == 9
    start = c["example"].split(" ", 1)[0]
    assert c["example"].endswith(ARROW + start), c["example"]
    assert "more) ..." in c["example"]


def test_json_keeps_paths_with_long_utf8_keys(pyheapdiff_bin, tmp_path):
    """A path through a dict key that a preview cuts in the middle of a
    UTF-8 character is valid UTF-8, in text and in --json, where every group
    and row is kept.  Was a bug: graph.c preview_text() cut previews at 40
    bytes, splitting a character ('x' + 'é' * 30 printed as
    "['xéé…\\xc3...']"), and jansson refused the string (json_pack returned
    NULL), so with --json the group silently disappeared: paths said
    objects 2 but listed one group (omitted_groups 0); dominators lost the
    object's row."""
    run = dump_in_subprocess("""
        class Val:
            pass
        cache = {"x" + "é" * 30: Val(), "plain": Val()}
        T.dump(objects=False)
    """, tmp_path, "utf8")
    doc = cli_json(pyheapdiff_bin, "paths", "--type", "Val", run.path)
    assert doc["objects"] == 2
    assert len(doc["groups"]) == 2 and group_total(doc) == 2, doc["groups"]
    dom = cli_json(pyheapdiff_bin, "dominators", "--type", "Val", run.path)
    assert len(dom["objects"]) == 2, dom["objects"]
    p = cli_ok(pyheapdiff_bin, "paths", "--type", "Val", run.path)
    p.stdout_bytes.decode("utf-8")  # strict: raises on a cut character


def test_leaks_refuses_a_database_baseline_with_the_hint(pyheapdiff_bin, leak, bad_inputs):
    """docs/cli.md: the graph commands 'read snapshot files (a database
    input is refused with a hint)', leaks too, for BASELINE and AFTER.  Was
    a bug: leaks opened them with phd_snapshot_open directly (not
    cli_open_graph), so a database there got 'not a pyheapdiff snapshot
    (wrong magic)' instead of the hint."""
    a, b, c = abc(leak)
    db = bad_inputs / "heap.db"
    assert_usage_error(cli(pyheapdiff_bin, "leaks", db, b, c), "heap.db", "a database", "give the .snap")
    assert_usage_error(cli(pyheapdiff_bin, "leaks", a, db, c), "heap.db", "a database", "give the .snap")
