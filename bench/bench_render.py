#!/usr/bin/env python3
"""Benchmark of `pyheapdiff graph` (issue 5): render the backreference
graph of leaked objects on a ~1M-object snapshot, end to end (load,
graph, layout, SVG), for several picture sizes around 200 nodes.

    PYTHONPATH=build/python python3 bench/bench_render.py [--objects 1000000] [--json FILE]

Target: depth 3, about 200 nodes, under 1 s.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_dump import child_env, machine_info  # noqa: E402

CLI = os.path.join(os.path.dirname(HERE), "build", "pyheapdiff")

CHILD = r"""
import gc, sys
sys.path.insert(0, {here!r})
import pyheapdiff
from bench_dump import Heap

class Leaked:
    def __init__(self, i):
        self.i = i

heap = Heap()
heap.build({units})
# a leak: every request's handler list keeps a Leaked alive through a dict
registry = {{f"req-{{k}}": [Leaked(k)] for k in range(2000)}}
gc.collect()
info = pyheapdiff.dump({snap!r}, collect=False)
print(info["objects"])
"""


def best_of(cmd, n=3):
    best = None
    for _ in range(n):
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.perf_counter() - t
        if p.returncode:
            sys.exit(f"{cmd}: {p.stderr}")
        best = dt if best is None else min(best, dt)
    return best, p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--json")
    ns = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pyheapdiff-render-")
    snap = os.path.join(tmp, "a.snap")
    units = max(1, (ns.objects - 60_000) // 24)
    p = subprocess.run([sys.executable, "-c", CHILD.format(here=HERE, units=units, snap=snap)],
                       env=child_env(), capture_output=True, text=True)
    if p.returncode:
        sys.exit(p.stderr)
    objects = int(p.stdout.split()[-1])
    print(f"machine: {machine_info()}")
    print(f"snapshot: {objects:,} objects\n")
    rows = []
    print(f"{'picture':46} {'nodes':>6} {'wall (best of 3)':>17}")
    for chosen, too_many in ((20, 10), (60, 60), (100, 100), (150, 150)):
        out = os.path.join(tmp, f"g{chosen}.svg")
        cmd = [CLI, "graph", "--type", "Leaked", "--max-objects", str(chosen), "--too-many", str(too_many),
               "--max-depth", "3", snap, "-o", out]
        secs, _ = best_of(cmd)
        nodes = len(re.findall(r'<g id="node', open(out).read()))
        rows.append({"chosen": chosen, "too_many": too_many, "nodes": nodes, "seconds": secs})
        print(f"{'--max-objects %d --too-many %d --max-depth 3' % (chosen, too_many):46} {nodes:6} {secs:15.3f} s")
    near = min(rows, key=lambda r: abs(r["nodes"] - 200))
    ok = near["seconds"] < 1.0
    print(f"\ntarget: ~200 nodes, depth 3, < 1 s on a ~1M-object snapshot: "
          f"{near['nodes']} nodes in {near['seconds']:.3f} s: {'met' if ok else 'MISSED'}")
    if ns.json:
        with open(ns.json, "w") as f:
            json.dump({"machine": machine_info(), "objects": objects, "rows": rows}, f, indent=2)
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
