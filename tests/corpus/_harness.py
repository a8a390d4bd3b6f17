"""The corpus programs' common frame: warm up, dump BEFORE, serve N
requests with tracemalloc measuring, dump AFTER.

    python PROGRAM.py OUTDIR N

writes OUTDIR/before.snap, OUTDIR/after.snap and OUTDIR/measure.json
({"requests": N, "tracemalloc_growth": bytes}).  tracemalloc runs from the
start of the warm-up; its growth is the traced memory after the N requests
minus before them, each after gc.collect(), the dumps outside the window.
"""

import gc
import json
import os
import sys
import tracemalloc

import pyheapdiff


def run(handle, warmup=3):
    outdir, n = sys.argv[1], int(sys.argv[2])
    tracemalloc.start()
    for i in range(warmup):
        handle(-1 - i)
    gc.collect()
    pyheapdiff.dump(os.path.join(outdir, "before.snap"), collect=True)
    gc.collect()
    m0 = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        handle(i)
    gc.collect()
    m1 = tracemalloc.get_traced_memory()[0]
    pyheapdiff.dump(os.path.join(outdir, "after.snap"), collect=True)
    with open(os.path.join(outdir, "measure.json"), "w") as f:
        json.dump({"requests": n, "tracemalloc_growth": m1 - m0}, f)
