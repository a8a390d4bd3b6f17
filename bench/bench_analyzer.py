#!/usr/bin/env python3
"""Benchmark the pyheapdiff analyzer (load, diff, top) on snapshots of ~1M and ~3M objects.

    PYTHONPATH=build/python python3 bench/bench_analyzer.py [--sizes 1m,3m] [--json FILE]
        [--keep DIR] [--cli build/pyheapdiff]

For each heap size a fresh subprocess (same interpreter, same PYTHONPATH)
builds the heap of bench_dump.py (same mix, sized the same way: the object
count is the snapshot's own, leaves and untracked containers included),
lets one gc.collect() settle it, disables automatic GC and then:

  1. dumps A (collect=False, values=True);
  2. times objgraph.typestats() on heap A (best of --repeat), and one
     objgraph.growth() call (gc.collect() + typestats + compare: the census
     objgraph.show_growth() prints);
  3. changes the heap: frees ~5 % of the units (whole teams: every 20th
     team, a team is 64 units, all its objects reachable only from the
     team), one gc.collect() to free their cycles, then builds ~10 % new
     units and lets one gc.collect() settle again;
  4. dumps B, in the same process, so diff matches objects by address;
  5. times objgraph.typestats() and objgraph.growth() on heap B.

Then the parent runs the CLI on the two snapshots and times each command
(wall time from spawn to exit, best of --repeat, but a command whose first
run took longer than --cheap seconds runs once).  Peak RSS is the child's
own ru_maxrss from os.wait4() (per process, exact; RUSAGE_CHILDREN would
only give a running maximum):

  load A -o fresh.db             (a fresh database each run)
  load A B -o both.db            (a fresh database each run; kept for below)
  diff A.snap B.snap             (end to end, neither loaded)
  diff both.db --snapshot 1 --snapshot 2   (both loaded)
  top A.snap
  top both.db --snapshot 1

Object and reference counts come from 'pyheapdiff info --json'.  The
snapshot files and databases are in the page cache when they are read
(they were just written): the timings are warm-cache figures.

This is a benchmark, not a test: it prints a table per size and a target
summary, and exits 0 whether or not the targets are met.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True   # no __pycache__ in bench/ from importing bench_dump
from bench_dump import Heap, TEAM_SIZE, build_to, parse_size, size_label, child_env, machine_info  # noqa: E402

TARGET_LOAD_OBJ_PER_S = 1_000_000   # load: objects per second, their edges included
TARGET_DIFF_SNAP_S = 2.0            # diff of two 1M-object snapshot files, end to end
TARGET_DIFF_DB_S = 0.2              # diff of two 1M-object snapshots already loaded
TARGET_SIZE = 1_000_000             # the size the targets are stated for

FREE_EVERY = 20                     # free every 20th team: 5 % of the units
ADD_FRACTION = 0.10                 # then add 10 % new units

SIZE_NAMES_HELP = "comma-separated heap sizes in objects (1m, 3m, 500k, ...)"


# --------------------------------------------------------------------------
# Child: build the heap, dump A, change it, dump B, time objgraph
# --------------------------------------------------------------------------

def best_of(fn, repeat):
    best = None
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    return best, out


def child(target, repeat, snap_a, snap_b):
    import gc
    import pyheapdiff
    try:
        import objgraph
    except ImportError:
        objgraph = None
    gc.disable()
    scratch = snap_a + ".count"

    def count():
        return pyheapdiff.dump(scratch, collect=False, values=False)["objects"]

    t0 = time.perf_counter()
    heap = Heap()
    baseline, per_unit = build_to(heap, target, count)
    gc.collect()
    os.unlink(scratch)
    build_s = time.perf_counter() - t0
    res = {"target": target, "baseline_objects": baseline, "objects_per_unit": per_unit,
           "build_seconds": build_s, "units_a": heap.units, "objgraph": objgraph is not None,
           "objgraph_version": getattr(objgraph, "__version__", None)}
    print(f"  built {heap.units} units ({per_unit:.1f} objects/unit) in {build_s:.1f} s",
          file=sys.stderr, flush=True)

    # A
    res["gc_tracked_a"] = len(gc.get_objects())
    info = pyheapdiff.dump(snap_a, collect=False)
    res["dump_a"] = info
    print(f"  dump A: {info['objects']} objects, {info['seconds']:.3f} s",
          file=sys.stderr, flush=True)
    peak = {}
    if objgraph is not None:
        res["typestats_a_seconds"], stats = best_of(objgraph.typestats, repeat)
        res["typestats_a_types"] = len(stats)
        del stats
        t = time.perf_counter()
        objgraph.growth(limit=None, peak_stats=peak)
        res["growth_a_seconds"] = time.perf_counter() - t

    # Change: free every FREE_EVERY-th team (never the one still being filled), add new units.
    t0 = time.perf_counter()
    kept, freed_units, freed_teams = [], 0, 0
    for i, team in enumerate(heap.teams):
        if i % FREE_EVERY == FREE_EVERY // 2 and team is not heap.team:
            freed_units += len(team["members"])
            freed_teams += 1
        else:
            kept.append(team)
    heap.teams = kept
    kept = team = None
    gc.collect()                 # the freed teams are cycles (team["self"], manager<->reports)
    added_units = round(heap.units * ADD_FRACTION)
    heap.build(added_units)
    gc.collect()                 # settle, as before A
    res.update(freed_units=freed_units, freed_teams=freed_teams, added_units=added_units,
               change_seconds=time.perf_counter() - t0, team_size=TEAM_SIZE)
    print(f"  changed: freed {freed_units} units ({freed_teams} teams), added {added_units}",
          file=sys.stderr, flush=True)

    # B
    res["gc_tracked_b"] = len(gc.get_objects())
    info = pyheapdiff.dump(snap_b, collect=False)
    res["dump_b"] = info
    print(f"  dump B: {info['objects']} objects, {info['seconds']:.3f} s",
          file=sys.stderr, flush=True)
    if objgraph is not None:
        res["typestats_b_seconds"], stats = best_of(objgraph.typestats, repeat)
        res["typestats_b_types"] = len(stats)
        del stats
        t = time.perf_counter()
        grown = objgraph.growth(limit=None, peak_stats=peak)
        res["growth_b_seconds"] = time.perf_counter() - t
        res["growth_b_types_grown"] = len(grown)
    return res


# --------------------------------------------------------------------------
# Parent: run the CLI
# --------------------------------------------------------------------------

def file_sha(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()[:16]
    except OSError:
        return None


def run_once(cmd, out_path):
    """Run cmd with stdout to out_path; wall seconds and the child's own rusage."""
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        with open(out_path + ".err", "rb") as f:
            msg = f.read().decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}: {msg}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime,
            "sys": ru.ru_stime, "maxrss": ru.ru_maxrss * 1024}


def remove_db(path):
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass


def measure(cmd, out_path, repeat, cheap, before=None):
    """Best wall time of up to `repeat` runs (one if the first took > cheap s)."""
    runs = []
    for i in range(repeat):
        if before:
            before()
        runs.append(run_once(cmd, out_path))
        if runs[0]["wall"] > cheap:
            break
    best = min(runs, key=lambda r: r["wall"])
    return {"cmd": cmd, "runs": len(runs), "wall": best["wall"], "cpu": best["cpu"],
            "maxrss": max(r["maxrss"] for r in runs), "all_wall": [r["wall"] for r in runs]}


def cli_json(cli, args, out_path):
    run_once([cli] + args, out_path)
    with open(out_path) as f:
        return json.load(f)


def run_size(size, args, env, cli, workdir):
    os.makedirs(workdir, exist_ok=True)
    snap_a = os.path.join(workdir, "A.snap")
    snap_b = os.path.join(workdir, "B.snap")
    fresh_db = os.path.join(workdir, "fresh.db")
    both_db = os.path.join(workdir, "both.db")
    out = os.path.join(workdir, "out.txt")
    for p in (snap_a, snap_b):
        if os.path.exists(p):
            os.unlink(p)
    remove_db(fresh_db)
    remove_db(both_db)

    print(f"[{size_label(size)}] fresh subprocess: heap, dump A, change, dump B, objgraph ...",
          file=sys.stderr, flush=True)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(size),
                           "--repeat", str(args.repeat), "--snap-a", snap_a, "--snap-b", snap_b],
                          env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench_analyzer: child for {size} failed with status {proc.returncode}")
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")][-1]
    r = json.loads(line[len("RESULT "):])

    cli_sha = file_sha(cli)
    r["cli"] = {"path": cli, "sha256": cli_sha}
    r["info_a"] = cli_json(cli, ["info", "--json", snap_a], out)
    r["info_b"] = cli_json(cli, ["info", "--json", snap_b], out)
    r["diff_json"] = cli_json(cli, ["diff", "--json", "--top", "0", snap_a, snap_b], out)

    rp, ch = args.repeat, args.cheap
    cmds = {}
    print(f"[{size_label(size)}] load A ...", file=sys.stderr, flush=True)
    cmds["load_a"] = measure([cli, "load", snap_a, "-o", fresh_db], out, rp, ch,
                             before=lambda: remove_db(fresh_db))
    r["fresh_db_bytes"] = os.path.getsize(fresh_db)
    print(f"[{size_label(size)}] load A B ...", file=sys.stderr, flush=True)
    cmds["load_ab"] = measure([cli, "load", snap_a, snap_b, "-o", both_db], out, rp, ch,
                              before=lambda: remove_db(both_db))
    r["both_db_bytes"] = os.path.getsize(both_db)
    print(f"[{size_label(size)}] diff, top ...", file=sys.stderr, flush=True)
    cmds["diff_snap"] = measure([cli, "diff", snap_a, snap_b], out, rp, ch)
    with open(out) as f:
        r["diff_snap_header"] = f.readline().strip()
    cmds["diff_db"] = measure([cli, "diff", both_db, "--snapshot", "1", "--snapshot", "2"],
                              out, rp, ch)
    with open(out) as f:
        r["diff_db_header"] = f.readline().strip()
    cmds["top_snap"] = measure([cli, "top", snap_a], out, rp, ch)
    cmds["top_db"] = measure([cli, "top", both_db, "--snapshot", "1"], out, rp, ch)
    r["commands"] = cmds
    r["snap_a_bytes"] = os.path.getsize(snap_a)
    r["snap_b_bytes"] = os.path.getsize(snap_b)
    if file_sha(cli) != cli_sha:
        r["cli_changed"] = True
        print(f"WARNING: {cli} changed while {size_label(size)} was measured (rebuilt?); "
              "re-run", file=sys.stderr)
    for p in (out, out + ".err"):
        if os.path.exists(p):
            os.unlink(p)
    return derive(r)


def derive(r):
    oa, ob = r["info_a"]["objects"], r["info_b"]["objects"]
    ea, eb = r["info_a"]["references"], r["info_b"]["references"]
    c = r["commands"]
    r["objects_a"], r["objects_b"], r["edges_a"], r["edges_b"] = oa, ob, ea, eb
    # objects per command input, for bytes-per-object figures
    inputs = {"load_a": oa, "load_ab": oa + ob, "diff_snap": oa + ob, "diff_db": oa + ob,
              "top_snap": oa, "top_db": oa}
    for k, m in c.items():
        m["input_objects"] = inputs[k]
        m["rss_bytes_per_object"] = m["maxrss"] / inputs[k]
    c["load_a"]["objects_per_s"] = oa / c["load_a"]["wall"]
    c["load_a"]["edges_per_s"] = ea / c["load_a"]["wall"]
    c["load_ab"]["objects_per_s"] = (oa + ob) / c["load_ab"]["wall"]
    c["load_ab"]["edges_per_s"] = (ea + eb) / c["load_ab"]["wall"]
    r["fresh_db_bytes_per_object"] = r["fresh_db_bytes"] / oa
    r["fresh_db_bytes_per_obj_ref"] = r["fresh_db_bytes"] / (oa + ea)
    r["both_db_bytes_per_object"] = r["both_db_bytes"] / (oa + ob)
    t = r["diff_json"]["total"]
    r["diff_matched"] = r["diff_json"]["matched"]
    r["diff_new"], r["diff_freed"] = t.get("new"), t.get("freed")
    if r["objgraph"]:
        r["typestats_pair_seconds"] = r["typestats_a_seconds"] + r["typestats_b_seconds"]
        r["growth_pair_seconds"] = r["growth_a_seconds"] + r["growth_b_seconds"]
        r["diff_snap_over_typestats"] = c["diff_snap"]["wall"] / r["typestats_pair_seconds"]
        r["diff_db_over_typestats"] = c["diff_db"]["wall"] / r["typestats_pair_seconds"]
    r["dump_pair_seconds"] = r["dump_a"]["seconds"] + r["dump_b"]["seconds"]
    judged = r["target"] == TARGET_SIZE
    r["targets"] = {
        "judged": judged,
        "load_objects_per_s": c["load_a"]["objects_per_s"] >= TARGET_LOAD_OBJ_PER_S,
        "diff_snap_seconds": c["diff_snap"]["wall"] < TARGET_DIFF_SNAP_S,
        "diff_db_seconds": c["diff_db"]["wall"] < TARGET_DIFF_DB_S,
    }
    return r


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def mib(v):
    return "n/a" if v is None else f"{v / 2**20:.1f} MiB"


def secs(v):
    return "n/a" if v is None else f"{v:.3f} s"


def grid(header, rows):
    """rows: lists of cells, or None for a separator.  First column left-aligned."""
    ncol = len(header)
    w = [max(len(header[i]), *(len(row[i]) for row in rows if row)) for i in range(ncol)]

    def line(cells):
        return "  ".join(c.ljust(w[0]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(cells))

    out = [line(header)]
    sep = "-" * len(out[0])
    out.append(sep)
    for row in rows:
        out.append(sep if row is None else line(row).rstrip())
    return "\n".join(out)


def fmt_size_table(r):
    c = r["commands"]
    lab = size_label(r["target"])
    lines = [f"== {lab}: A {r['objects_a']:,} objects, {r['edges_a']:,} references, "
             f"{mib(r['snap_a_bytes'])};  B {r['objects_b']:,} objects, {r['edges_b']:,} "
             f"references, {mib(r['snap_b_bytes'])}",
             f"   heap change A -> B: freed {r['freed_units']:,} of {r['units_a']:,} units "
             f"({100 * r['freed_units'] / r['units_a']:.1f} %, {r['freed_teams']} teams of "
             f"{r['team_size']}), added {r['added_units']:,} "
             f"({100 * r['added_units'] / r['units_a']:.1f} %); "
             f"GC-tracked {r['gc_tracked_a']:,} -> {r['gc_tracked_b']:,}",
             f"   diff: {r['diff_snap_header']}",
             f"         matched={str(r['diff_matched']).lower()}, new {r['diff_new']:,}, "
             f"freed {r['diff_freed']:,} (lower bounds: reused addresses count as survivors)",
             ""]

    def tput(m):
        if "objects_per_s" not in m:
            return ""
        return f"{m['objects_per_s'] / 1e6:.2f} M obj/s, {m['edges_per_s'] / 1e6:.2f} M edges/s"

    names = [("load_a", "load A -o fresh.db"),
             ("load_ab", "load A B -o both.db"),
             ("diff_snap", "diff A.snap B.snap (neither loaded)"),
             ("diff_db", "diff both.db --snapshot 1 --snapshot 2"),
             ("top_snap", "top A.snap"),
             ("top_db", "top both.db --snapshot 1")]
    rows = []
    for k, name in names:
        m = c[k]
        rows.append([name, secs(m["wall"]), f"{m['runs']}", f"{m['cpu']:.2f} s", tput(m),
                     mib(m["maxrss"]), f"{m['rss_bytes_per_object']:.1f}"])
    rows.append(None)
    rows.append(["in process (same heaps):", "", "", "", "", "", ""])
    rows.append(["  dump A + dump B (agent, collect=False)", secs(r["dump_pair_seconds"]),
                 "1", "", "", "", ""])
    if r["objgraph"]:
        rows.append(["  objgraph.typestats() on A", secs(r["typestats_a_seconds"]),
                     str(r["repeat"]), "", "", "", ""])
        rows.append(["  objgraph.typestats() on B", secs(r["typestats_b_seconds"]),
                     str(r["repeat"]), "", "", "", ""])
        rows.append(["  2 x typestats (show_growth's census)", secs(r["typestats_pair_seconds"]),
                     "", "", "", "", ""])
        rows.append(["  objgraph.growth() on A, on B (+gc.collect)",
                     secs(r["growth_pair_seconds"]), "1", "", "", "", ""])
        rows.append(["  diff A.snap B.snap / 2 x typestats",
                     f"{r['diff_snap_over_typestats']:.2f}x", "", "", "", "", ""])
        rows.append(["  diff both.db #1 #2 / 2 x typestats",
                     f"{r['diff_db_over_typestats']:.2f}x", "", "", "", "", ""])
    else:
        rows.append(["  objgraph", "not installed: skipped", "", "", "", "", ""])
    rows.append(None)
    rows.append(["fresh.db (A)", mib(r["fresh_db_bytes"]), "", "",
                 f"{r['fresh_db_bytes_per_object']:.1f} B/obj, "
                 f"{r['fresh_db_bytes_per_obj_ref']:.1f} B/(obj+ref)", "", ""])
    rows.append(["both.db (A, B)", mib(r["both_db_bytes"]), "", "",
                 f"{r['both_db_bytes_per_object']:.1f} B/obj", "", ""])
    header = ["command", "wall (best)", "runs", "cpu", "throughput / size", "peak RSS",
              "RSS B/obj"]
    lines.append(grid(header, rows))
    return "\n".join(lines)


def fmt_summary(results):
    cols = [size_label(r["target"]) for r in results]

    def mark(r, key, value):
        ok = r["targets"][key]
        verdict = "met" if ok else "MISSED"
        return f"{value} {verdict}" if r["targets"]["judged"] else f"{value} ({verdict.lower()})"

    rows = [
        ["objects A / B"] + [f"{r['objects_a'] / 1e6:.2f}M / {r['objects_b'] / 1e6:.2f}M"
                             for r in results],
        ["load A: objects/s"] + [f"{r['commands']['load_a']['objects_per_s'] / 1e6:.2f} M/s"
                                 for r in results],
        ["load A: edges/s"] + [f"{r['commands']['load_a']['edges_per_s'] / 1e6:.2f} M/s"
                               for r in results],
        ["diff, neither loaded"] + [secs(r["commands"]["diff_snap"]["wall"]) for r in results],
        ["diff, both loaded"] + [secs(r["commands"]["diff_db"]["wall"]) for r in results],
        ["objgraph 2 x typestats()"] + [secs(r.get("typestats_pair_seconds")) for r in results],
        None,
        [f"target: load >= {TARGET_LOAD_OBJ_PER_S / 1e6:g}M objects/s"] +
        [mark(r, "load_objects_per_s",
              f"{r['commands']['load_a']['objects_per_s'] / 1e6:.2f}M") for r in results],
        [f"target: diff < {TARGET_DIFF_SNAP_S:g} s, neither loaded"] +
        [mark(r, "diff_snap_seconds", secs(r["commands"]["diff_snap"]["wall"]))
         for r in results],
        [f"target: diff < {TARGET_DIFF_DB_S:g} s, both loaded"] +
        [mark(r, "diff_db_seconds", secs(r["commands"]["diff_db"]["wall"])) for r in results],
    ]
    return grid([""] + cols, rows)


def ensure_objgraph():
    try:
        import objgraph  # noqa: F401
        return True, None
    except ImportError:
        pass
    print("objgraph missing: pip install objgraph ...", file=sys.stderr, flush=True)
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "objgraph"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode == 0:
        import importlib
        importlib.invalidate_caches()
        try:
            import objgraph  # noqa: F401,F811
            return True, None
        except ImportError:
            pass
    last = (p.stdout.strip().splitlines() or ["?"])[-1]
    return False, f"objgraph could not be installed ({last}); its columns are skipped"


def add_run_options(ap, kept):
    """The options of the benchmarks that run the analyzer on heaps built in
    a child process (this one and bench_graph.py); kept: what --keep keeps."""
    ap.add_argument("--keep", metavar="DIR",
                    help=f"write {kept} under DIR/SIZE and keep them "
                         "(default: a temporary directory under /tmp, removed at the end)")
    ap.add_argument("--cli", default=os.path.join(os.path.dirname(HERE), "build", "pyheapdiff"),
                    help="the analyzer binary (default: build/pyheapdiff)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (best kept)")
    ap.add_argument("--cheap", type=float, default=10.0,
                    help="run a CLI command only once when its first run takes longer (s)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)


def host_info():
    """machine_info() and the RAM, printed as the report's 'machine:' line."""
    info = machine_info()
    try:
        with open("/proc/meminfo") as f:
            info["mem_total"] = int(f.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        info["mem_total"] = None
    ram = "" if info["mem_total"] is None else f"{info['mem_total'] / 2**30:.0f} GiB RAM, "
    print(f"machine: {info['cpu']}, {info['nproc']} cores, {ram}Python {info['python']}, "
          f"{info['platform']}")
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1m,3m", help=SIZE_NAMES_HELP)
    ap.add_argument("--json", metavar="FILE", help="also write machine-readable results here")
    add_run_options(ap, "snapshots and databases")
    ap.add_argument("--snap-a", help=argparse.SUPPRESS)
    ap.add_argument("--snap-b", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child is not None:
        res = child(args.child, args.repeat, args.snap_a, args.snap_b)
        sys.stdout.write("RESULT " + json.dumps(res) + "\n")
        return 0

    cli = os.path.abspath(args.cli)
    if not os.access(cli, os.X_OK):
        sys.exit(f"bench_analyzer: {cli} is not an executable; build it first")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    env = child_env()
    have_objgraph, note = ensure_objgraph()
    info = host_info()
    print(f"analyzer: {cli} (sha256 {file_sha(cli)})")
    if note:
        print(f"note: {note}")

    if args.keep:
        base, cleanup = os.path.abspath(args.keep), False
        os.makedirs(base, exist_ok=True)
    else:
        base, cleanup = tempfile.mkdtemp(prefix="pyheapdiff-bench-", dir="/tmp"), True
    results = []
    t_all = time.perf_counter()
    try:
        for size in sizes:
            r = run_size(size, args, env, cli, os.path.join(base, size_label(size)))
            r["repeat"] = args.repeat
            results.append(r)
            print()
            print(fmt_size_table(r), flush=True)
    finally:
        if cleanup:
            shutil.rmtree(base, ignore_errors=True)
    shas = {r["cli"]["sha256"] for r in results}
    if len(shas) > 1 or any(r.get("cli_changed") for r in results):
        print("\nWARNING: the analyzer binary changed during the run (rebuilt meanwhile?); "
              "the figures are not comparable: re-run")
    print()
    print("== targets (stated for 1M-object snapshots; other sizes in parentheses, "
          "same bar, not judged)")
    print(fmt_summary(results))
    print(f"\nwall: spawn to exit, best of up to {args.repeat} (once when the first run took "
          f"> {args.cheap:g} s), warm page cache; cpu: user+sys of that run; peak RSS: the "
          "command's ru_maxrss (os.wait4), per object of its inputs (A, or A+B for load A B "
          "and diff).\nload counts objects of the snapshot with their edges (objects/s is the "
          "target metric).  objgraph.typestats() counts GC-tracked objects only (no leaves, "
          "no sizes, no new/freed); growth() adds a gc.collect().  "
          f"Total {time.perf_counter() - t_all:.0f} s"
          + (f"; files kept in {base}." if not cleanup else "."))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "repeat": args.repeat, "cheap_seconds": args.cheap,
                       "objgraph_note": note,
                       "targets": {"load_objects_per_s": TARGET_LOAD_OBJ_PER_S,
                                   "diff_snap_seconds": TARGET_DIFF_SNAP_S,
                                   "diff_db_seconds": TARGET_DIFF_DB_S,
                                   "judged_at_objects": TARGET_SIZE},
                       "results": results}, f, indent=2)
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
