#!/usr/bin/env python3
"""Benchmark SQL straight on snapshots ('pyheapdiff sql A.snap ...') and 'load'.

    PYTHONPATH=build/python python3 bench/bench_sql.py [--sizes 1m] [--repeat 5]
        [--cli build/pyheapdiff] [--baseline-cli OTHER/pyheapdiff] [--json FILE] [--keep DIR]

For each size a fresh interpreter (same PYTHONPATH) builds the heap of
bench_dump.py with the real agent, plus exactly 10,000 instances of a class
__main__.Target, dumps A (values=True), builds 10 % more units and dumps B.
Then the parent times, best of --repeat (rounds interleaved), wall time from
spawn to the event:

  first row    sql A.snap "SELECT * FROM objects_v WHERE type = '__main__.Target'":
               process start to the first row on stdout (the table printer
               writes when the query is done, so this is also the whole query)
  LIMIT 1      the same query with LIMIT 1
  all rows     the same query on a database made by load (for comparison)
  README       the README's query ("The same question in SQL") on A.snap B.snap
  load A       load A -o fresh.db (a fresh database each run), objects/s with
               their references; with --baseline-cli, the same with that
               binary (e.g. the main branch's build) in the same rounds

Peak RSS from os.wait4.  Raw results with --json.  A benchmark, not a test:
it prints a table and exits 0 whether or not the targets are met.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
from bench_dump import Heap, build_to, parse_size, size_label, child_env, machine_info  # noqa: E402

TARGET_FIRST_ROW_S = 0.5           # first row of one type's instances, 1M objects, end to end
TARGET_LOAD_OBJ_PER_S = 500_000    # load, objects with their references
TARGET_SIZE = 1_000_000
N_TARGETS = 10_000

QUERY = "SELECT * FROM objects_v WHERE type = '__main__.Target'"
README_QUERY = ("SELECT p.type, e.label FROM edges_v e JOIN objects_v p ON p.id = e.src "
                "WHERE e.dst = (SELECT src FROM edges e JOIN objects_v m ON m.id = e.dst "
                "WHERE m.snapshot = 2 AND m.type = 'method' GROUP BY src ORDER BY count(*) DESC LIMIT 1)")

CHILD = r"""
import gc, os, sys
sys.path.insert(0, {here!r})
sys.dont_write_bytecode = True
from bench_dump import Heap, build_to
import pyheapdiff

class Target:
    def on_event(self, e):
        return e

class Bus:
    def __init__(self):
        self.handlers = []

gc.disable()
heap = Heap()
tmp = os.path.join({d!r}, "count.snap")
build_to(heap, {n} - {k}, lambda: pyheapdiff.dump(tmp)["objects"])
os.unlink(tmp)
bus = Bus()
keep = [Target() for _ in range({k})]
bus.handlers.extend(t.on_event for t in keep[:500])   # bound methods: the README's question
gc.collect()
a = pyheapdiff.dump(os.path.join({d!r}, "A.snap"), values=True)
heap.build(max(1, heap.units // 10))
gc.collect()
b = pyheapdiff.dump(os.path.join({d!r}, "B.snap"), values=True)
print(a["objects"], a["edges"], b["objects"], b["edges"])
"""


def run(cmd, first_line=False):
    """Wall time of cmd (to its first row when first_line), its stdout and peak RSS."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = None
    out = []
    header = p.stdout.readline()
    out.append(header)
    line = p.stdout.readline()
    if line:
        first = time.perf_counter() - t
        out.append(line)
    out.append(p.stdout.read())
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))}: {err.decode(errors='replace')}")
    return {"wall": wall, "first": first if first_line else None, "maxrss": ru.ru_maxrss * 1024,
            "cpu": ru.ru_utime + ru.ru_stime, "stdout": b"".join(out).decode()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1m")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cli", default=os.path.join(os.path.dirname(HERE), "build", "pyheapdiff"))
    ap.add_argument("--baseline-cli", help="another pyheapdiff to time load with, in the same rounds")
    ap.add_argument("--json")
    ap.add_argument("--keep", help="keep the files in this directory")
    args = ap.parse_args()
    info = machine_info()
    results = []
    for size in [parse_size(s) for s in args.sizes.split(",")]:
        d = args.keep or tempfile.mkdtemp(prefix="bench_sql-")
        os.makedirs(d, exist_ok=True)
        code = CHILD.format(here=HERE, d=d, n=size, k=N_TARGETS)
        out = subprocess.run([sys.executable, "-c", code], env=child_env(), check=True, capture_output=True,
                             text=True).stdout.split()
        na, ea, nb, eb = map(int, out[-4:])
        A, B = os.path.join(d, "A.snap"), os.path.join(d, "B.snap")
        db = os.path.join(d, "A.db")
        clis = [("load A", args.cli)] + ([("load A (baseline)", args.baseline_cli)] if args.baseline_cli else [])
        rounds = {k: [] for k in ["first row", "LIMIT 1", "all rows (loaded db)", "README", "load A B",
                                  *[c[0] for c in clis]]}
        readme_answer = None
        for r in range(args.repeat):
            x = run([args.cli, "sql", A, QUERY], first_line=True)
            assert x["stdout"].count("\n") == N_TARGETS + 1, x["stdout"][:200]
            rounds["first row"].append(x)
            rounds["LIMIT 1"].append(run([args.cli, "sql", A, QUERY + " LIMIT 1"], first_line=True))
            x = run([args.cli, "sql", A, B, README_QUERY], first_line=True)
            readme_answer = x["stdout"]
            rounds["README"].append(x)
            for name, exe in clis:
                for suffix in ("", "-journal"):
                    if os.path.exists(db + suffix):
                        os.unlink(db + suffix)
                rounds[name].append(run([exe, "load", A, "-o", db]))
            rounds["all rows (loaded db)"].append(run([args.cli, "sql", db, QUERY], first_line=True))
            both = os.path.join(d, "AB.db")
            if os.path.exists(both):
                os.unlink(both)
            if r < 2:
                rounds["load A B"].append(run([args.cli, "load", A, B, "-o", both]))
        row = {"size": size, "A": {"objects": na, "edges": ea}, "B": {"objects": nb, "edges": eb},
               "readme_answer": readme_answer, "timings": {}}
        print(f"\n== {size_label(size)}: A {na:,} objects ({ea:,} references), B {nb:,} ({eb:,}); "
              f"best of {args.repeat}, spread = worst/best - 1")
        for name, xs in rounds.items():
            key = "first" if xs and xs[0]["first"] is not None else "wall"
            vals = [x[key] for x in xs]
            best, worst = min(vals), max(vals)
            rss = max(x["maxrss"] for x in xs)
            cpu = min(x["cpu"] for x in xs)
            extra = f"  cpu {cpu:.3f} s"
            if name.startswith("load A") and name != "load A B":
                extra += f"  {na / best / 1e6:.2f} M objects/s ({ea / best / 1e6:.2f} M refs/s; by cpu {na / cpu / 1e6:.2f} M/s)"
            print(f"  {name:24s} {best:7.3f} s  (spread {worst / best - 1:4.0%}, peak {rss / 2**20:6.1f} MiB){extra}")
            row["timings"][name] = {"best": best, "all": vals, "metric": key, "maxrss": rss, "best_cpu": cpu,
                                    "all_cpu": [x["cpu"] for x in xs]}
        print("  README's query on A.snap B.snap:\n    " + readme_answer.strip().replace("\n", "\n    "))
        results.append(row)
        if not args.keep:
            shutil.rmtree(d)
    for row in results:
        if row["size"] == TARGET_SIZE:
            t = row["timings"]
            fr = t["first row"]["best"]
            rate = row["A"]["objects"] / t["load A"]["best"]
            if "load A (baseline)" in t:
                print(f"load A against the baseline in the same rounds: {t['load A (baseline)']['best'] / t['load A']['best']:.2f}x "
                      f"wall, {t['load A (baseline)']['best_cpu'] / t['load A']['best_cpu']:.2f}x cpu")
            print(f"\ntargets at {size_label(TARGET_SIZE)}: first row {fr:.3f} s (< {TARGET_FIRST_ROW_S} s: "
                  f"{'met' if fr < TARGET_FIRST_ROW_S else 'missed'}); load {rate / 1e6:.2f} M objects/s "
                  f"(>= {TARGET_LOAD_OBJ_PER_S / 1e6} M: {'met' if rate >= TARGET_LOAD_OBJ_PER_S else 'missed'})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "repeat": args.repeat, "date": time.strftime("%Y-%m-%d %H:%M UTC",
                       time.gmtime()), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
