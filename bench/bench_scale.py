#!/usr/bin/env python3
"""Benchmark the analyzer at scale (issue 13, part 3): time, CPU and peak memory per object.

    python3 bench/bench_scale.py synthetic [--objects 100m] [--growth 1m] [--workdir DIR] [--json FILE]
    PYTHONPATH=build/python python3 bench/bench_scale.py real [--objects 30m] [--workdir DIR] [--json FILE]

synthetic: build/bench/gen_snapshot writes A (--objects objects, about
2.5 references each) and B, the same process later (--after: the same
objects at the same addresses, 1 % of the instances replaced, --growth
more app.cache.Session instances with their objects); then every command
runs on them, one at a time.

real: a child Python (this interpreter, PYTHONPATH as given) builds
bench_dump.py's heap (employees with inline values, __slots__ points,
dict records, closures, bound methods, parent/child trees) to about
--objects objects, dumps A with the real agent (values=True,
collect=False), frees every 20th team and adds 10 % more units, dumps B,
and exits; its dump times, file sizes and peak RSS are recorded.  Only
then, with the Python process gone, every command runs on A and B.

Each command is one run (at this size a second run tells little more than
the first): wall time from spawn to exit, CPU time (user + sys) and peak
RSS (ru_maxrss) from os.wait4() of that process alone, the 1-minute load
average before it starts (the machine is shared), and the peak RSS per
object of the largest snapshot it reads ("B/obj"; the target is < 100) and
per object of all it reads ("B/obj all").  Each command runs with an
address-space limit (--limit-gib, default 14) so that one that does not
fit fails instead of pushing others out.  The snapshots are in the page
cache when they are read (warm-cache figures).

This is a benchmark, not a test: it prints a table and exits 0 whether or
not the target is met.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench_dump import machine_info, parse_size  # noqa: E402  (same folder)
TARGET = 100.0  # bytes of peak memory per object


def measure(cmd, limit_gib, cwd, env=None):
    """Runs cmd alone; returns wall, cpu, peak RSS, load average, status and stderr."""
    load = os.getloadavg()[0]

    def limit():
        lim = int(limit_gib * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd, env=env,
                             preexec_fn=limit if limit_gib else None)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    return {"wall_s": round(wall, 2), "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
            "user_s": round(ru.ru_utime, 2), "sys_s": round(ru.ru_stime, 2),
            "peak_rss": ru.ru_maxrss * 1024, "load1": round(load, 2),
            "status": os.waitstatus_to_exitcode(status), "stderr": text[-500:]}


def snapshot_counts(cli, path):
    out = subprocess.run([cli, "info", "--json", path], capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    return {"objects": d["objects"], "references": d["references"], "file_bytes": os.path.getsize(path)}


def run_commands(cli, commands, snaps, counts, limit_gib, workdir):
    rows = []
    for name, args, inputs in commands:
        cmd = [cli, *[snaps[a] if a in snaps else a for a in args]]
        print(f"  {name} ...", file=sys.stderr, flush=True)
        r = measure(cmd, limit_gib, workdir)
        big = max(counts[i]["objects"] for i in inputs)
        allobj = sum(counts[i]["objects"] for i in inputs)
        r.update(name=name, command=" ".join(["pyheapdiff", *args]),
                 bytes_per_object=round(r["peak_rss"] / big, 1), bytes_per_object_all=round(r["peak_rss"] / allobj, 1))
        print(f"    {r['wall_s']} s wall, {r['cpu_s']} s cpu, {r['peak_rss'] / 2**30:.2f} GiB, "
              f"{r['bytes_per_object']} B/obj, load {r['load1']}, exit {r['status']}", file=sys.stderr, flush=True)
        rows.append(r)
    return rows


def table(rows):
    lines = ["| command | wall s | CPU s (user+sys) | peak RSS | B/obj | B/obj all | load | target |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ok = r["status"] == 0 and r["bytes_per_object"] < TARGET
        mark = "met" if ok else ("FAILED (exit %d)" % r["status"] if r["status"] else "missed")
        lines.append(f"| `{r['command']}` | {r['wall_s']:.1f} | {r['cpu_s']:.1f} ({r['user_s']:.1f}+{r['sys_s']:.1f}) | "
                     f"{r['peak_rss'] / 2**30:.2f} GiB | {r['bytes_per_object']:.1f} | {r['bytes_per_object_all']:.1f} | "
                     f"{r['load1']:.2f} | {mark} |")
    return "\n".join(lines)


def synthetic(args, cli):
    gen = os.path.join(args.build, "bench", "gen_snapshot")
    wd = args.workdir
    a, b = os.path.join(wd, "syn-a.snap"), os.path.join(wd, "syn-b.snap")
    res = {"kind": "synthetic", "objects_asked": args.objects, "growth": args.growth, "generate": {}}
    for path, extra in ((a, []), (b, ["--after", str(args.growth)])):
        if args.reuse and os.path.exists(path):
            continue
        print(f"  generating {path} ...", file=sys.stderr, flush=True)
        r = measure([gen, "--objects", str(args.objects), "--seed", "1", *extra, path], 0, wd)
        if r["status"] != 0:
            sys.exit(f"gen_snapshot failed: {r['stderr']}")
        res["generate"][os.path.basename(path)] = r
    snaps = {"A": a, "B": b}
    counts = {k: snapshot_counts(cli, p) for k, p in snaps.items()}
    res["snapshots"] = counts
    commands = [
        ("info", ["info", "A"], ["A"]),
        ("top", ["top", "A"], ["A"]),
        ("diff", ["diff", "A", "B"], ["A", "B"]),
        ("paths", ["paths", "--type", "Session", "B"], ["B"]),
        ("cycles", ["cycles", "B"], ["B"]),
        ("dominators", ["dominators", "B"], ["B"]),
        ("leaks", ["leaks", "A", "B"], ["A", "B"]),
        ("report", ["report", "A", "B", "-o", os.path.join(wd, "syn-report.html")], ["A", "B"]),
        ("graph", ["graph", "--type", "Session", "B", "-o", os.path.join(wd, "syn-graph.dot")], ["B"]),
        ("sql", ["sql", "B", "SELECT count(*) FROM objects_v WHERE type = 'app.cache.Session'"], ["B"]),
    ]
    commands = [c for c in commands if not args.only or c[0] in args.only.split(",")]
    res["commands"] = run_commands(cli, commands, snaps, counts, args.limit_gib, wd)
    return res


def real_child(target, snap_a, snap_b):
    """The heap side (a fresh interpreter): build, dump A, change, dump B."""
    import gc
    import bench_dump
    import pyheapdiff
    gc.disable()
    scratch = snap_a + ".count"

    def count():
        return pyheapdiff.dump(scratch, collect=False, values=False)["objects"]

    t0 = time.perf_counter()
    heap = bench_dump.Heap()
    baseline, per_unit = bench_dump.build_to(heap, target, count)
    gc.collect()
    os.unlink(scratch)
    res = {"build_s": round(time.perf_counter() - t0, 1), "units_a": heap.units, "objects_per_unit": per_unit}
    print(f"  built {heap.units} units in {res['build_s']} s", file=sys.stderr, flush=True)
    res["rss_before_dump"] = bench_dump.read_status().get("VmRSS")
    info = pyheapdiff.dump(snap_a, collect=False)
    res["dump_a"] = {k: info[k] for k in ("objects", "seconds") if k in info}
    res["dump_a"]["file_bytes"] = os.path.getsize(snap_a)
    print(f"  dump A: {info['objects']} objects in {info['seconds']:.1f} s", file=sys.stderr, flush=True)
    kept = [t for i, t in enumerate(heap.teams) if i % 20 != 10 or t is heap.team]
    heap.teams = kept
    kept = None
    gc.collect()
    heap.build(round(heap.units * 0.10))
    gc.collect()
    info = pyheapdiff.dump(snap_b, collect=False)
    res["dump_b"] = {k: info[k] for k in ("objects", "seconds") if k in info}
    res["dump_b"]["file_bytes"] = os.path.getsize(snap_b)
    print(f"  dump B: {info['objects']} objects in {info['seconds']:.1f} s", file=sys.stderr, flush=True)
    res["peak_rss_python"] = bench_dump.read_status().get("VmHWM")
    print(json.dumps(res))


def real(args, cli):
    wd = args.workdir
    a, b = os.path.join(wd, "real-a.snap"), os.path.join(wd, "real-b.snap")
    res = {"kind": "real", "objects_asked": args.objects}
    if not (args.reuse and os.path.exists(a) and os.path.exists(b)):
        print(f"  building a heap of {args.objects} objects ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        # the child runs in the work folder: PYTHONPATH as absolute paths
        # (default: the build's agent)
        paths = os.environ.get("PYTHONPATH") or os.path.join(args.build, "python")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(os.path.abspath(x) for x in paths.split(os.pathsep) if x)}
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(args.objects), a, b],
                           stdout=subprocess.PIPE, text=True, cwd=wd, env=env)
        if p.returncode != 0:
            sys.exit("the heap's process failed")
        res["python"] = json.loads(p.stdout.strip().splitlines()[-1])
        res["python"]["process_s"] = round(time.perf_counter() - t0, 1)
    snaps = {"A": a, "B": b}
    counts = {k: snapshot_counts(cli, p) for k, p in snaps.items()}
    res["snapshots"] = counts
    db = os.path.join(wd, "real-a.db")
    commands = [
        ("diff", ["diff", "A", "B"], ["A", "B"]),
        ("top", ["top", "A"], ["A"]),
        ("paths", ["paths", "--type", "Employee", "B"], ["B"]),
        ("cycles", ["cycles", "B"], ["B"]),
        ("dominators", ["dominators", "B"], ["B"]),
        ("leaks", ["leaks", "A", "B"], ["A", "B"]),
        ("graph", ["graph", "--type", "Employee", "B", "-o", os.path.join(wd, "real-graph.dot")], ["B"]),
        ("report", ["report", "A", "B", "-o", os.path.join(wd, "real-report.html")], ["A", "B"]),
        ("sql", ["sql", "B", "SELECT count(*) FROM objects_v WHERE type = 'bench_dump.Employee'"], ["B"]),
        ("load", ["load", "A", "-o", db], ["A"]),
    ]
    commands = [c for c in commands if not args.only or c[0] in args.only.split(",")]
    if os.path.exists(db):
        os.unlink(db)
    res["commands"] = run_commands(cli, commands, snaps, counts, args.limit_gib, wd)
    return res


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return real_child(int(argv[1]), argv[2], argv[3])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=["synthetic", "real"])
    ap.add_argument("--objects", default=None, help="objects (default 100m synthetic, 30m real)")
    ap.add_argument("--growth", default="1m", help="synthetic: Session instances added in B (default 1m)")
    ap.add_argument("--workdir", default=None, help="where snapshots go (default: a new temporary folder)")
    ap.add_argument("--reuse", action="store_true", help="keep snapshots already in --workdir")
    ap.add_argument("--only", default=None, help="only these commands (comma-separated names)")
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--limit-gib", type=float, default=14.0, help="address-space limit of each command")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    args.objects = parse_size(args.objects or ("100m" if args.kind == "synthetic" else "30m"))
    args.growth = parse_size(args.growth)
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="phd-scale-")
    os.makedirs(args.workdir, exist_ok=True)
    cli = os.path.join(args.build, "pyheapdiff")
    res = {"machine": machine_info(), "load_before": os.getloadavg()}
    res.update(synthetic(args, cli) if args.kind == "synthetic" else real(args, cli))
    for k, c in res["snapshots"].items():
        print(f"{k}: {c['objects']:,} objects, {c['references']:,} references, {c['file_bytes']:,} bytes "
              f"({c['file_bytes'] / c['objects']:.1f} B/obj)")
    print(table(res["commands"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
