#!/usr/bin/env python3
"""CPU time of one pyheapdiff.dump() on bench_dump.py's heap, per object.

    PYTHONPATH=BUILD/python python3 bench/bench_dump_cpu.py [OBJECTS]

Builds the heap of bench/bench_dump.py (default 1,000,000 objects), then
times 5 dumps with values=True and 5 with values=False (collect=False) with
time.thread_time(), and prints one JSON line: the agent loaded, the objects
dumped and the best ns/object of each mode.  CPU time of this thread only,
which a shared machine disturbs far less than wall time; to compare two
agents, run this alternately with each (separate processes), several
times, and compare the best figures (docs/performance.md).
"""

import gc
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_dump  # noqa: E402

import pyheapdiff  # noqa: E402


def main():
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    gc.disable()
    fd, snap = tempfile.mkstemp(suffix=".snap")
    os.close(fd)
    try:
        heap = bench_dump.Heap()
        bench_dump.build_to(heap, target,
                            lambda: pyheapdiff.dump(snap, collect=False, values=False)["objects"])
        gc.collect()
        out = {"agent": pyheapdiff._agent.__file__}
        for values in (True, False):
            best = None
            for _ in range(5):
                t0 = time.thread_time()
                r = pyheapdiff.dump(snap, collect=False, values=values)
                t = time.thread_time() - t0
                best = t if best is None else min(best, t)
            out["objects"] = r["objects"]
            out["ns_per_object_values" if values else "ns_per_object_novalues"] = best / r["objects"] * 1e9
    finally:
        os.unlink(snap)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
