#!/usr/bin/env python3
"""Benchmark of `pyheapdiff report` (issue 7): the whole HTML page (diff,
retention paths of the grown types, dominators, the leak graph) of two
snapshots of one process, the second after a leak, compared with the
commands a user would otherwise run one by one for the same answers.

    PYTHONPATH=build/python python3 bench/bench_report.py [--objects 1000000] [--json FILE]

Wall time is the best of 3 (one run when a run takes over 5 s); peak
memory is the command's own ru_maxrss (os.wait4).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_analyzer import measure  # noqa: E402
from bench_dump import child_env, machine_info  # noqa: E402

CLI = os.path.join(os.path.dirname(HERE), "build", "pyheapdiff")

CHILD = r"""
import gc, sys
sys.path.insert(0, {here!r})
import pyheapdiff
from bench_dump import Heap

class Order:
    def __init__(self, i):
        self.i = i
        self.lines = [i, str(i)]

heap = Heap()
heap.build({units})
orders = {{}}
gc.collect()
a = pyheapdiff.dump({a!r}, collect=False)
for k in range({leaked}):            # the leak: a cache that only grows
    orders[f"order-{{k}}"] = Order(k)
gc.collect()
b = pyheapdiff.dump({b!r}, collect=False)
print(a["objects"], b["objects"])
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--leaked", type=int, default=20_000)
    ap.add_argument("--json")
    ns = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pyheapdiff-report-")
    a, b = os.path.join(tmp, "a.snap"), os.path.join(tmp, "b.snap")
    units = max(1, (ns.objects - 60_000) // 24)
    p = subprocess.run([sys.executable, "-c", CHILD.format(here=HERE, units=units, a=a, b=b, leaked=ns.leaked)],
                       env=child_env(), capture_output=True, text=True)
    if p.returncode:
        sys.exit(p.stderr)
    na, nb = map(int, p.stdout.split()[-2:])
    print(f"machine: {machine_info()}")
    print(f"snapshots: {na:,} -> {nb:,} objects ({ns.leaked:,} leaked Order instances)\n")
    html = os.path.join(tmp, "report.html")
    cmds = {
        "report": [CLI, "report", a, b, "-o", html],
        "diff": [CLI, "diff", a, b],
        "paths --type Order": [CLI, "paths", "--type", "Order", b],
        "dominators": [CLI, "dominators", b],
        "graph --type Order --path": [CLI, "graph", "--type", "Order", "--path", b, "-o",
                                      os.path.join(tmp, "g.svg")],
    }
    rows = {}
    print(f"{'command':28} {'wall s':>8} {'peak MiB':>9} {'B/object':>9}")
    for name, cmd in cmds.items():
        m = measure(cmd, os.path.join(tmp, "out.txt"), 3, 5.0)
        objs = na + nb if name in ("report", "diff") else nb
        m["bytes_per_object"] = m["maxrss"] / objs
        rows[name] = m
        print(f"{name:28} {m['wall']:8.3f} {m['maxrss'] / 2**20:9.1f} {m['bytes_per_object']:9.1f}")
    parts = sum(rows[k]["wall"] for k in cmds if k != "report")
    print(f"\nreport / the four commands run one by one: {rows['report']['wall'] / parts:.2f}"
          f" ({rows['report']['wall']:.3f} s vs {parts:.3f} s); page {os.path.getsize(html):,} bytes")
    if ns.json:
        with open(ns.json, "w") as f:
            json.dump({"machine": machine_info(), "objects": [na, nb], "leaked": ns.leaked,
                       "page_bytes": os.path.getsize(html), "commands": rows}, f, indent=1)


if __name__ == "__main__":
    main()
