#!/usr/bin/env python3
"""Benchmark of deep retention paths (issue 15, item 1): `paths`, `leaks`
and `report` on a singly linked list of `__slots__` nodes held by a module
global (`head = Node(head)` N times: the last node's path is N hops long)
and on the same list closed into a cycle, with the real agent.

    PYTHONPATH=build/python python3 bench/bench_chain.py [--nodes 1000000] [--json FILE]

For each shape one process dumps A (before the list exists) and B (after),
so `leaks A B` and `report A B` see the whole list as new.  Wall time is
the best of 3 (one run when a run takes over 5 s); peak memory is the
command's own ru_maxrss (os.wait4), divided by the objects of B.  The
commands `cycles` and `dominators`, which never spelled paths, are the
reference.  Targets: under 2 s and under 100 bytes per object.
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
import pyheapdiff

class Node:
    __slots__ = ("next",)
    def __init__(self, next):
        self.next = next

gc.collect()
a = pyheapdiff.dump({a!r}, collect=False, values=False)
head = None
for _ in range({n}):
    head = Node(head)
if {cycle}:
    tail = head
    while tail.next is not None:
        tail = tail.next
    tail.next = head
gc.collect()
b = pyheapdiff.dump({b!r}, collect=False, values=False)
print(a["objects"], b["objects"])
"""

COMMANDS = {
    "paths": ["paths", "--type", "Node", "{b}"],
    "paths --json": ["paths", "--type", "Node", "--json", "{b}"],
    "paths A B": ["paths", "--type", "Node", "{a}", "{b}"],
    "leaks": ["leaks", "{a}", "{b}"],
    "report": ["report", "{a}", "{b}", "-o", "{out}"],
    "cycles": ["cycles", "{b}"],
    "dominators": ["dominators", "{b}"],
}


def run_shape(shape, n, tmp, repeat):
    a, b = os.path.join(tmp, f"{shape}-a.snap"), os.path.join(tmp, f"{shape}-b.snap")
    p = subprocess.run([sys.executable, "-c", CHILD.format(a=a, b=b, n=n, cycle=shape == "cycle")],
                       env=child_env(), capture_output=True, text=True)
    if p.returncode:
        sys.exit(p.stderr)
    objs_a, objs_b = map(int, p.stdout.split())
    res = {"shape": shape, "nodes": n, "objects_a": objs_a, "objects_b": objs_b, "commands": {}}
    for name, args in COMMANDS.items():
        cmd = [CLI] + [x.format(a=a, b=b, out=os.path.join(tmp, "report.html")) for x in args]
        m = measure(cmd, os.path.join(tmp, "out.txt"), repeat, 5.0)
        m["bytes_per_object"] = m["maxrss"] / objs_b
        res["commands"][name] = m
        print(f"{shape:6} {name:13} {m['wall']:7.3f} s wall {m['cpu']:6.3f} s cpu  {m['maxrss'] / 2**20:7.1f} MiB  "
              f"{m['bytes_per_object']:6.1f} B/object", flush=True)
    for f in (a, b):
        os.unlink(f)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json")
    ns = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pyheapdiff-chain-")
    out = {"machine": machine_info(), "results": []}
    for shape in ("chain", "cycle"):
        out["results"].append(run_shape(shape, ns.nodes, tmp, ns.repeat))
    ok = all(m["wall"] < 2.0 and m["bytes_per_object"] < 100
             for r in out["results"] for k, m in r["commands"].items() if k not in ("cycles", "dominators"))
    print("targets (< 2 s, < 100 B/object for paths, leaks, report):", "met" if ok else "MISSED")
    if ns.json:
        with open(ns.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
