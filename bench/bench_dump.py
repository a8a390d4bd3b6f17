#!/usr/bin/env python3
"""Benchmark pyheapdiff.dump() on realistic heaps of ~100k, ~1M and ~3M objects.

    PYTHONPATH=build/python python3 bench/bench_dump.py [--sizes 100k,1m,3m] [--json FILE]
    python3 bench/bench_dump.py --python PYTHON --build BUILD_DIR [--sizes ...]
    python3 bench/bench_dump.py --versions [build,build-py312,...] [--rounds 3] [--json FILE]

Each heap size runs in a fresh subprocess (by default the same interpreter
and PYTHONPATH; with --python/--build that interpreter with
PYTHONPATH=BUILD_DIR/python), which builds the heap, lets one full
gc.collect() settle it, disables automatic GC and then measures, in this
order:

  1. peak extra memory of one dump with values=True and one with values=False
     (VmHWM reset through /proc/self/clear_refs, extra = VmHWM - VmRSS before);
  2. dump time, best of --repeat dumps, collect=False, for values=True and False;
  3. gc.collect() time, best of --repeat (the baseline: what collect=True adds);
  4. a pure-Python walk of the same heap, best of --repeat: gc.get_objects()
     closed under gc.get_referents() with a set of ids (iterative worklist).

Object counts are the dump's own ("objects" in the returned dict): every object
the snapshot records, leaves (str, int, float, bytes) and untracked containers
included.  The heap is sized to that count: the child measures the baseline
interpreter, builds a calibration slice, and scales the rest from the measured
objects per unit.

--versions runs the same benchmark with every CPython build tree it finds
next to bench/ (build*/ directories configured with meson, not sanitized,
whose python/pyheapdiff/ holds an _agent extension; the interpreter is the
one the tree was configured with, -Dpython=...), or with the listed trees.
Versions and sizes are interleaved, --rounds times over (default 3), and
every measurement keeps its best round; the spread between rounds is
reported.  Per-object times are compared with the first version (3.11),
both directly and as ratios to the same run's gc.collect() and Python walk,
which cancel some of the machine's load and the interpreters' own speed.

This is a benchmark, not a test: it prints a table and exits 0 whether or not
the targets are met.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

TARGET_SPEEDUP = 10.0      # dump at least this many times faster than the Python walk
TARGET_BYTES_NOVAL = 12.0  # file bytes per object, values=False
TARGET_MEM = 32.0          # peak extra RSS bytes per object during a dump

SIZE_NAMES = {"100k": 100_000, "1m": 1_000_000, "3m": 3_000_000}


def parse_size(text):
    t = text.strip().lower()
    if t in SIZE_NAMES:
        return SIZE_NAMES[t]
    mult = 1
    if t.endswith("k"):
        mult, t = 1_000, t[:-1]
    elif t.endswith("m"):
        mult, t = 1_000_000, t[:-1]
    return int(float(t) * mult)


def size_label(n):
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# --------------------------------------------------------------------------
# The heap (child side)
# --------------------------------------------------------------------------

class Employee:
    """A plain class: 3.11 stores these attributes as inline values (no dict)."""

    def __init__(self, ident, name, dept, salary, tags, manager):
        self.ident = ident
        self.name = name
        self.dept = dept
        self.salary = salary
        self.tags = tags
        self.reports = []
        self.manager = manager
        if manager is not None:
            manager.reports.append(self)   # manager <-> report: a reference cycle

    def describe(self):
        return f"{self.name} ({self.dept})"


class Point:
    __slots__ = ("x", "y", "label")

    def __init__(self, x, y, label):
        self.x = x
        self.y = y
        self.label = label


class Node:
    __slots__ = ("value", "parent", "children")

    def __init__(self, value, parent):
        self.value = value
        self.parent = parent
        self.children = []
        if parent is not None:
            parent.children.append(self)   # parent <-> child cycle


def make_counter(start):
    count = start

    def incr(step=1):
        nonlocal count
        count += step
        return count

    return incr


SHARED = [f"tag-{k}" for k in range(500)]          # shared strings
DEPTS = [f"department-{k}" for k in range(40)]     # shared strings
TEAM_SIZE = 64
BIG = 1 << 20                                      # ints above the small-int cache


class Heap:
    def __init__(self):
        self.teams = []            # list of team dicts
        self.team = None
        self.lead = None
        self.tree = None
        self.units = 0

    def _new_team(self, i):
        team = {
            "name": f"team-{i // TEAM_SIZE}",
            "dept": DEPTS[(i // TEAM_SIZE) % len(DEPTS)],
            "members": [],
            "records": [],
            "callbacks": [],
            "by_id": {},           # int-keyed dict: KEY edges
            "tree": [],
        }
        team["self"] = team        # a dict that contains itself
        self.teams.append(team)
        self.team = team
        self.lead = None
        self.tree = None

    def build(self, n):
        """Add n units of roughly two dozen objects each."""
        start = self.units
        for i in range(start, start + n):
            if i % TEAM_SIZE == 0:
                self._new_team(i)
            team = self.team
            # instance with inline __dict__ values: instance, int, str, float, 2 lists
            name = f"user-{i:08d}"
            emp = Employee(BIG + i, name, team["dept"], i * 1.25 + 0.5,
                           [SHARED[i % 500], SHARED[(i * 7) % 500]], self.lead)
            if self.lead is None or i % 8 == 0:
                self.lead = emp
            if i % 16 == 0:
                emp.__dict__["note"] = name.upper()  # a materialized __dict__ (+ dict, str)
            # __slots__ instance: instance, 2 floats
            pt = Point(i * 0.5 + 0.1, i * -0.25 - 0.3, SHARED[i % 37])
            # dict record: dict, int, str, tuple of 3 floats, bytes
            rec = {
                "id": BIG * 2 + i,
                "email": f"{name}@example.com",
                "scores": (i / 3.0, i / 7.0, i / 11.0),
                "owner": emp,
                "where": pt,
                "blob": b"%08d:payload" % i,
                "kind": SHARED[i % 11],
            }
            # closure: function, cell, closure tuple, int;  bound method;  tuple
            cb = (make_counter(BIG * 3 + i), emp.describe)
            team["members"].append(emp)
            team["records"].append(rec)
            team["callbacks"].append(cb)
            team["by_id"][emp.ident] = emp
            # a tree of __slots__ nodes with parent/child cycles, one node per 4 units
            if i % 4 == 0:
                node = Node(i, self.tree)
                if self.tree is None or i % 32 == 0:
                    self.tree = node
                    team["tree"].append(node)
        self.units += n


# --------------------------------------------------------------------------
# Measurements (child side)
# --------------------------------------------------------------------------

def read_status():
    out = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def malloc_trim():
    """Give free heap memory back to the OS so a dump cannot hide in it."""
    try:
        import ctypes
        ctypes.CDLL(None).malloc_trim(0)
    except Exception:
        pass


def pure_python_walk():
    objs = gc.get_objects()
    seen = set(map(id, objs))
    stack = objs
    get_referents = gc.get_referents
    add = seen.add
    push = stack.append
    pop = stack.pop
    while stack:
        for r in get_referents(pop()):
            k = id(r)
            if k not in seen:
                add(k)
                push(r)
    return len(seen)


def agent_id(pkg):
    """Path and content hash of the loaded extension (others may rebuild it meanwhile)."""
    import hashlib
    path = pkg._agent.__file__
    with open(path, "rb") as f:
        return {"path": path, "sha256": hashlib.sha256(f.read()).hexdigest()[:16]}


def build_to(heap, target, count, cal_units=500):
    """Grows heap until the process holds about target objects: counts a
    baseline, builds a calibration slice, scales the rest from it.  count()
    returns the objects a dump would write now.  Returns (baseline,
    objects per unit)."""
    import gc
    gc.collect()
    baseline = count()
    heap.build(cal_units)
    gc.collect()
    after_cal = count()
    per_unit = (after_cal - baseline) / cal_units
    heap.build(max(0, round((target - after_cal) / per_unit)))
    return baseline, per_unit


def child(target, repeat, tmpdir):
    import pyheapdiff
    agent = agent_id(pyheapdiff)   # as loaded, before anyone can rebuild it
    global gc
    import gc
    malloc_trim()          # warm up ctypes before the heap exists
    gc.disable()
    snap = os.path.join(tmpdir, f"bench-{os.getpid()}.snap")

    def count():
        return pyheapdiff.dump(snap, collect=False, values=False)["objects"]

    t0 = time.perf_counter()
    heap = Heap()
    baseline, per_unit = build_to(heap, target, count)
    gc.collect()           # settle: free build garbage, untrack atomic tuples/dicts
    build_s = time.perf_counter() - t0
    tracked = len(gc.get_objects())
    print(f"  built {heap.units} units ({per_unit:.1f} objects/unit, baseline {baseline}) "
          f"in {build_s:.1f} s", file=sys.stderr, flush=True)

    res = {"agent": agent, "target": target, "units": heap.units, "objects_per_unit": per_unit,
           "baseline_objects": baseline, "build_seconds": build_s, "gc_tracked": tracked}

    # 1. memory, one dump each, before anything else has churned the allocator
    for values in (True, False):
        malloc_trim()
        ok = reset_hwm()
        rss0 = read_status().get("VmRSS")
        info = pyheapdiff.dump(snap, collect=False, values=values)
        hwm = read_status().get("VmHWM")
        key = "values" if values else "novalues"
        res[f"mem_extra_{key}"] = (hwm - rss0) if (ok and rss0 and hwm) else None
        res[f"mem_rss_before_{key}"] = rss0
        del info

    # 2. dump times, best of `repeat`
    for values in (True, False):
        key = "values" if values else "novalues"
        best = best_agent = None
        for _ in range(repeat):
            t = time.perf_counter()
            info = pyheapdiff.dump(snap, collect=False, values=values)
            dt = time.perf_counter() - t
            if best is None or dt < best:
                best, best_agent = dt, info["seconds"]
        res[f"dump_seconds_{key}"] = best
        res[f"dump_agent_seconds_{key}"] = best_agent
        res[f"bytes_{key}"] = info["bytes"]
        res["objects"] = info["objects"]
        res["edges"] = info["edges"]
        res["shallow_size"] = info["size"]
        res["types"] = info["types"]
        print(f"  dump values={values}: {best:.3f} s, {info['objects']} objects, "
              f"{info['bytes']} bytes", file=sys.stderr, flush=True)
    os.unlink(snap)

    # 3. gc.collect() baseline
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        gc.collect()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    res["gc_collect_seconds"] = best
    print(f"  gc.collect: {best:.3f} s", file=sys.stderr, flush=True)

    # 4. pure-Python walk
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        n = pure_python_walk()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
        gc.collect()
    res["walk_seconds"] = best
    res["walk_objects"] = n
    print(f"  python walk: {best:.3f} s ({n} objects)", file=sys.stderr, flush=True)
    del heap
    return res


# --------------------------------------------------------------------------
# Driver (parent side)
# --------------------------------------------------------------------------

def child_env(build=None):
    """The child's environment: ours, with pyheapdiff's directory on PYTHONPATH
    (BUILD/python first when a build tree is given)."""
    env = dict(os.environ)
    if build is not None:
        pkg_parent = os.path.join(os.path.abspath(build), "python")
        if not os.path.isdir(os.path.join(pkg_parent, "pyheapdiff")):
            sys.exit(f"bench_dump: no {pkg_parent}/pyheapdiff (is {build} a build tree?)")
    else:
        import importlib.util
        spec = importlib.util.find_spec("pyheapdiff")
        if spec is None:
            here = os.path.dirname(os.path.abspath(__file__))
            guess = os.path.join(os.path.dirname(here), "build", "python")
            sys.path.insert(0, guess)
            spec = importlib.util.find_spec("pyheapdiff")
            if spec is None:
                sys.exit("bench_dump: cannot import pyheapdiff; set PYTHONPATH=build/python")
        pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(spec.origin)))
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if build is not None:
        # another tree's package on the path would shadow this one
        parts = [p for p in parts if not os.path.isdir(os.path.join(p, "pyheapdiff"))]
    if pkg_parent not in [os.path.abspath(p) for p in parts]:
        parts.insert(0, pkg_parent)
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def interpreter_version(python):
    """("3.12.1", "3.12", gil_disabled) of an interpreter, by running it."""
    out = subprocess.run([python, "-c",
                          "import sys, sysconfig; print(sys.version.split()[0]); "
                          "print(sysconfig.get_config_var('Py_GIL_DISABLED') or 0)"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    full = out[0]
    return full, ".".join(full.split(".")[:2]), out[1] not in ("0", "None")


def find_builds(root, names=None):
    """The build trees to benchmark: [(build_dir, python, "3.12.1")], one per
    CPython version, in version order.  names: explicit tree names (relative
    to root or absolute); otherwise every build*/ under root that is a meson
    tree, not sanitized, holding python/pyheapdiff/_agent.*.so."""
    import glob
    import shutil
    if names:
        dirs = [n if os.path.isabs(n) else os.path.join(root, n) for n in names]
    else:
        dirs = sorted(glob.glob(os.path.join(root, "build*")))
    found = {}
    for d in dirs:
        opts_file = os.path.join(d, "meson-info", "intro-buildoptions.json")
        sos = glob.glob(os.path.join(d, "python", "pyheapdiff", "_agent.*.so"))
        if not (os.path.isfile(opts_file) and sos):
            if names:
                sys.exit(f"bench_dump: {d} is not a build tree with the agent built")
            continue
        with open(opts_file) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
        if opts.get("b_sanitize", "none") not in ("none", []) and not names:
            continue
        python = shutil.which(opts.get("python", "python3")) or opts.get("python")
        try:
            full, short, nogil = interpreter_version(python)
        except (OSError, subprocess.CalledProcessError):
            print(f"bench_dump: skipping {d}: cannot run {python}", file=sys.stderr)
            continue
        tag = "cpython-" + short.replace(".", "")
        if not any(tag in os.path.basename(so) for so in sos) or nogil:
            print(f"bench_dump: skipping {d}: {python} is {full} but the tree holds "
                  f"{[os.path.basename(x) for x in sos]}", file=sys.stderr)
            continue
        if short in found:
            print(f"bench_dump: {short}: using {found[short][0]}, not {d}", file=sys.stderr)
            continue
        found[short] = (os.path.abspath(d), python, full)
    return [found[k] for k in sorted(found, key=lambda v: tuple(map(int, v.split("."))))]


def machine_info():
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        ncpu = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        ncpu = os.cpu_count()
    mem_gib = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_gib = round(int(line.split()[1]) / 2**20, 1)
                    break
    except OSError:
        pass
    return {"cpu": cpu or platform.processor(), "nproc": ncpu, "mem_total_gib": mem_gib,
            "python": sys.version.split()[0], "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def derive(r):
    o, e = r["objects"], r["edges"]
    d = dict(r)
    d["objects_per_s"] = o / r["dump_seconds_values"]
    d["ns_per_object"] = r["dump_seconds_values"] / o * 1e9
    d["objects_per_s_novalues"] = o / r["dump_seconds_novalues"]
    d["ns_per_object_novalues"] = r["dump_seconds_novalues"] / o * 1e9
    worst_dump = max(r["dump_seconds_values"], r["dump_seconds_novalues"])
    d["walk_speedup"] = r["walk_seconds"] / worst_dump   # what the target is judged on
    d["walk_speedup_values"] = r["walk_seconds"] / r["dump_seconds_values"]
    d["walk_speedup_novalues"] = r["walk_seconds"] / r["dump_seconds_novalues"]
    d["dump_over_gc"] = r["dump_seconds_values"] / r["gc_collect_seconds"]
    d["dump_over_gc_novalues"] = r["dump_seconds_novalues"] / r["gc_collect_seconds"]
    d["bytes_per_object_values"] = r["bytes_values"] / o
    d["bytes_per_object_novalues"] = r["bytes_novalues"] / o
    d["bytes_per_obj_ref_values"] = r["bytes_values"] / (o + e)
    d["bytes_per_obj_ref_novalues"] = r["bytes_novalues"] / (o + e)
    d["edges_per_object"] = e / o
    for k in ("values", "novalues"):
        m = r.get(f"mem_extra_{k}")
        d[f"mem_per_object_{k}"] = None if m is None else m / o
    mems = [d[f"mem_per_object_{k}"] for k in ("values", "novalues")
            if d[f"mem_per_object_{k}"] is not None]
    d["mem_per_object_max"] = max(mems) if mems else None
    d["targets"] = {
        "speedup_vs_walk": d["walk_speedup"] >= TARGET_SPEEDUP,
        "bytes_per_object_novalues": d["bytes_per_object_novalues"] <= TARGET_BYTES_NOVAL,
        "mem_per_object": None if d["mem_per_object_max"] is None
        else d["mem_per_object_max"] <= TARGET_MEM,
    }
    return d


def fmt_table(results, cols=None, extra=()):
    cols = cols or [size_label(r["target"]) for r in results]

    def num(v, spec):
        return "n/a" if v is None else format(v, spec)

    def mb(v):
        return "n/a" if v is None else f"{v / 2**20:.1f} MiB"

    def mark(ok):
        return "n/a" if ok is None else ("met" if ok else "MISSED")

    rows = [
        ("objects (dump)", [f"{r['objects']:,}" for r in results]),
        ("GC-tracked objects", [f"{r['gc_tracked']:,}" for r in results]),
        ("references (edges)", [f"{r['edges']:,}" for r in results]),
        ("edges / object", [num(r["edges_per_object"], ".2f") for r in results]),
        ("objects (Python walk)", [f"{r['walk_objects']:,}" for r in results]),
        ("heap build", [num(r["build_seconds"], ".2f") + " s" for r in results]),
        None,
        ("dump, values=True", [num(r["dump_seconds_values"], ".3f") + " s" for r in results]),
        ("  objects/s", [f"{r['objects_per_s'] / 1e6:.2f} M/s" for r in results]),
        ("  ns/object", [num(r["ns_per_object"], ".0f") for r in results]),
        ("dump, values=False", [num(r["dump_seconds_novalues"], ".3f") + " s" for r in results]),
        ("  objects/s", [f"{r['objects_per_s_novalues'] / 1e6:.2f} M/s" for r in results]),
        ("  ns/object", [num(r["ns_per_object_novalues"], ".0f") for r in results]),
        ("gc.collect() (baseline)", [num(r["gc_collect_seconds"], ".3f") + " s" for r in results]),
        ("  dump / gc.collect, values=True", [num(r["dump_over_gc"], ".2f") + "x" for r in results]),
        ("  dump / gc.collect, values=False",
         [num(r["dump_over_gc_novalues"], ".2f") + "x" for r in results]),
        ("pure-Python walk", [num(r["walk_seconds"], ".3f") + " s" for r in results]),
        ("  walk / dump, values=True", [num(r["walk_speedup_values"], ".2f") + "x" for r in results]),
        ("  walk / dump, values=False",
         [num(r["walk_speedup_novalues"], ".2f") + "x" for r in results]),
        None,
        ("file, values=True", [mb(r["bytes_values"]) for r in results]),
        ("  bytes/object", [num(r["bytes_per_object_values"], ".2f") for r in results]),
        ("  bytes/(object+ref)", [num(r["bytes_per_obj_ref_values"], ".2f") for r in results]),
        ("file, values=False", [mb(r["bytes_novalues"]) for r in results]),
        ("  bytes/object", [num(r["bytes_per_object_novalues"], ".2f") for r in results]),
        ("  bytes/(object+ref)", [num(r["bytes_per_obj_ref_novalues"], ".2f") for r in results]),
        None,
        ("RSS before dump", [mb(r["mem_rss_before_values"]) for r in results]),
        ("peak extra, values=True", [mb(r["mem_extra_values"]) for r in results]),
        ("  bytes/object", [num(r["mem_per_object_values"], ".1f") for r in results]),
        ("peak extra, values=False", [mb(r["mem_extra_novalues"]) for r in results]),
        ("  bytes/object", [num(r["mem_per_object_novalues"], ".1f") for r in results]),
        None,
        (f"target: dump >= {TARGET_SPEEDUP:g}x faster than walk",
         [mark(r["targets"]["speedup_vs_walk"]) for r in results]),
        (f"target: <= {TARGET_BYTES_NOVAL:g} B/object (no previews)",
         [mark(r["targets"]["bytes_per_object_novalues"]) for r in results]),
        (f"target: <= {TARGET_MEM:g} B/object extra memory",
         [mark(r["targets"]["mem_per_object"]) for r in results]),
    ]
    if extra:
        rows += [None] + list(extra)
    w0 = max(len(r[0]) for r in rows if r)
    w = [max(len(c), *(len(r[1][i]) for r in rows if r)) for i, c in enumerate(cols)]
    out = [" " * w0 + "  " + "  ".join(c.rjust(w[i]) for i, c in enumerate(cols))]
    sep = "-" * len(out[0])
    out.append(sep)
    for r in rows:
        if r is None:
            out.append(sep)
            continue
        out.append(r[0].ljust(w0) + "  " + "  ".join(v.rjust(w[i]) for i, v in enumerate(r[1])))
    return "\n".join(out)


TIME_KEYS = ("dump_seconds_values", "dump_seconds_novalues", "dump_agent_seconds_values",
             "dump_agent_seconds_novalues", "gc_collect_seconds", "walk_seconds")
MEM_KEYS = ("mem_extra_values", "mem_extra_novalues")


def run_child(python, env, size, repeat, tmpdir):
    """One fresh interpreter measuring one heap size; the raw result dict."""
    proc = subprocess.run([python, os.path.abspath(__file__), "--child", str(size),
                           "--repeat", str(repeat), "--tmpdir", tmpdir],
                          env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench_dump: {python}: child for {size} failed with status {proc.returncode}")
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def best_of_rounds(rounds):
    """One result from several rounds of the same (version, size): each time
    and memory figure is its best (lowest) round; spread = worst / best - 1."""
    best = dict(min(rounds, key=lambda r: r["dump_seconds_novalues"]))
    spread = {}
    for k in TIME_KEYS + MEM_KEYS:
        vals = [r[k] for r in rounds if r.get(k) is not None]
        if vals:
            best[k] = min(vals)
            spread[k] = max(vals) / min(vals) - 1 if min(vals) > 0 else None
    d = derive(best)
    d["rounds"] = len(rounds)
    d["spread"] = spread
    d["agents"] = sorted({r["agent"]["sha256"] for r in rounds})
    return d


def compare(base, r):
    """Per-object cost of result r against base (same size, the first version)."""
    out = {}
    for key, dump in (("values", "dump_seconds_values"), ("novalues", "dump_seconds_novalues")):
        ns = lambda x: x[dump] / x["objects"]   # noqa: E731
        out[f"ns_ratio_{key}"] = ns(r) / ns(base)
        # the same ratio with each run's dump measured in its own baselines
        out[f"gc_normalised_ratio_{key}"] = (r[dump] / r["gc_collect_seconds"]) / \
            (base[dump] / base["gc_collect_seconds"])
        out[f"walk_normalised_ratio_{key}"] = (r[dump] / r["walk_seconds"]) / \
            (base[dump] / base["walk_seconds"])
    out["within_25pct"] = max(out["ns_ratio_values"], out["ns_ratio_novalues"]) <= 1.25
    return out


def run_versions(args, tmpdir):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    names = [n for n in args.versions.split(",") if n] if args.versions != "auto" else None
    builds = find_builds(root, names)
    if not builds:
        sys.exit("bench_dump: no build tree found (build*/ with python/pyheapdiff/_agent.*.so)")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    info = machine_info()
    print(f"machine: {info['cpu']}, {info['nproc']} cores, {info['mem_total_gib']} GiB, "
          f"{info['platform']}, {info['date']}")
    for d, py, full in builds:
        print(f"  {full}: {py} with {d}")
    envs = {d: child_env(d) for d, _, _ in builds}
    raw = {full: {size: [] for size in sizes} for _, _, full in builds}
    t_all = time.perf_counter()
    for rnd in range(args.rounds):
        for size in sizes:                 # interleaved: load spikes hit every version
            for d, py, full in builds:
                print(f"[round {rnd + 1}/{args.rounds}] {full} {size_label(size)} ...",
                      file=sys.stderr, flush=True)
                raw[full][size].append(run_child(py, envs[d], size, args.repeat, tmpdir))
    versions = {}
    for d, py, full in builds:
        versions[full] = {"python": py, "build": d,
                          "results": [best_of_rounds(raw[full][size]) for size in sizes],
                          "raw": [raw[full][size] for size in sizes]}
    first = builds[0][2]
    for full in versions:
        for i, r in enumerate(versions[full]["results"]):
            r["vs_first"] = compare(versions[first]["results"][i], r)

    for i, size in enumerate(sizes):
        res = [versions[full]["results"][i] for full in versions]
        print(f"\n== {size_label(size)} objects: best of {args.rounds} rounds x {args.repeat} ==")
        rows = [
            ("ns/object vs " + first + ", values=False",
             [f"{r['vs_first']['ns_ratio_novalues']:.2f}x" for r in res]),
            ("ns/object vs " + first + ", values=True",
             [f"{r['vs_first']['ns_ratio_values']:.2f}x" for r in res]),
            ("  in gc.collect units, values=False / True",
             [f"{r['vs_first']['gc_normalised_ratio_novalues']:.2f}x / "
              f"{r['vs_first']['gc_normalised_ratio_values']:.2f}x" for r in res]),
            ("  in Python-walk units, values=False / True",
             [f"{r['vs_first']['walk_normalised_ratio_novalues']:.2f}x / "
              f"{r['vs_first']['walk_normalised_ratio_values']:.2f}x" for r in res]),
            ("target: <= 25% slower per object than " + first,
             ["met" if r["vs_first"]["within_25pct"] else "MISSED" for r in res]),
            ("spread of rounds, dump values=False / True",
             [f"{100 * r['spread']['dump_seconds_novalues']:.0f}% / "
              f"{100 * r['spread']['dump_seconds_values']:.0f}%" for r in res]),
        ]
        print(fmt_table(res, cols=list(versions), extra=rows))
        for r, full in zip(res, versions):
            if len(r["agents"]) > 1:
                print(f"WARNING: {full}: the extension changed between rounds", file=sys.stderr)
    print(f"\nTotal {time.perf_counter() - t_all:.0f} s.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "repeat": args.repeat, "rounds": args.rounds,
                       "baseline_version": first,
                       "targets": {"speedup_vs_walk": TARGET_SPEEDUP,
                                   "bytes_per_object_novalues": TARGET_BYTES_NOVAL,
                                   "mem_extra_per_object": TARGET_MEM,
                                   "max_slowdown_vs_baseline_version": 1.25},
                       "versions": versions}, f, indent=2)
        print(f"results written to {args.json}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100k,1m,3m",
                    help="comma-separated heap sizes in objects (100k, 1m, 3m, 250k, ...)")
    ap.add_argument("--json", metavar="FILE", help="also write machine-readable results here")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (best is kept)")
    ap.add_argument("--tmpdir", default=None, help="where snapshots are written (default: system temp)")
    ap.add_argument("--python", metavar="PATH", default=None,
                    help="interpreter that runs the heaps (default: this one)")
    ap.add_argument("--build", metavar="DIR", default=None,
                    help="build tree whose python/ goes first on the children's PYTHONPATH")
    ap.add_argument("--versions", nargs="?", const="auto", default=None, metavar="TREES",
                    help="benchmark every build*/ tree (or the comma-separated TREES), each with "
                         "the interpreter it was configured with; one table, one JSON")
    ap.add_argument("--rounds", type=int, default=3,
                    help="with --versions: interleaved rounds, best kept (default 3)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    tmpdir = args.tmpdir or tempfile.gettempdir()

    if args.child is not None:
        res = child(args.child, args.repeat, tmpdir)
        sys.stdout.write("RESULT " + json.dumps(res) + "\n")
        return 0
    if args.versions is not None:
        return run_versions(args, tmpdir)

    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    env = child_env(args.build)
    python = args.python or sys.executable
    info = machine_info()
    if args.python:
        info["python"] = interpreter_version(python)[0]
    print(f"machine: {info['cpu']}, {info['nproc']} cores, Python {info['python']}, "
          f"{info['platform']}")
    results = []
    t_all = time.perf_counter()
    for size in sizes:
        print(f"[{size_label(size)}] fresh subprocess ...", file=sys.stderr, flush=True)
        results.append(derive(run_child(python, env, size, args.repeat, tmpdir)))
    agents = {r["agent"]["sha256"] for r in results}
    print(f"agent: {results[0]['agent']['path']} (sha256 {', '.join(sorted(agents))})")
    if len(agents) > 1:
        print("WARNING: the extension changed between sizes (rebuilt meanwhile?); "
              "the columns are not comparable", file=sys.stderr)
    print()
    print(fmt_table(results))
    print(f"\ntimes: best of {args.repeat}, dumps with collect=False; memory: one dump per mode, "
          f"VmHWM - VmRSS before.\nThe walk target is judged on the slower dump mode, the memory "
          f"target on the larger.  Total {time.perf_counter() - t_all:.0f} s.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "repeat": args.repeat,
                       "targets": {"speedup_vs_walk": TARGET_SPEEDUP,
                                   "bytes_per_object_novalues": TARGET_BYTES_NOVAL,
                                   "mem_extra_per_object": TARGET_MEM},
                       "results": results}, f, indent=2)
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
