#!/usr/bin/env python3
"""Benchmark the graph commands (paths, cycles, dominators) on snapshots of ~1M and ~3M objects.

    PYTHONPATH=build/python python3 bench/bench_graph.py [--sizes 1m,3m] [--json FILE]
        [--sample 20] [--keep DIR] [--cli build/pyheapdiff]

For each heap size a fresh subprocess (same interpreter, same PYTHONPATH)
builds the heap of bench_dump.py (same mix, sized the same way: the object
count is the snapshot's own, leaves and untracked containers included) plus
exactly 10,000 instances of a dedicated class `Target`, held the way an
application holds such objects:

  * 5,000 in a module-level registry, REGISTRY = {"group-NN": [Target, ...]}
    (50 lists of 100):  module ['REGISTRY'] -> dict -> list -> Target;
  * 5,000 inside the existing structures: a "watchers" list in the team
    dicts, the teams reached from a module-level Heap instance:
    module ['HEAP'] -> Heap .teams -> list -> dict ['watchers'] -> list -> Target.

Each Target has an int id, a str label and an owner (an Employee of the
heap).  The child lets one gc.collect() settle the heap, disables automatic
GC, dumps a snapshot (collect=False, values=True) and then, in the same
process and on the same heap, times
objgraph.find_backref_chain(obj, objgraph.is_proper_module) for a sample of
Target instances (--sample, half of each holder kind, spread evenly; every
call does its own gc.collect() and one gc.get_referrers() per object it
visits).  Reported: the time per object and the extrapolation to all
10,000 (mean per object x 10,000), and a full gc.collect() of the same heap
for scale.

Then the parent times the CLI on the snapshot (wall time from spawn to
exit, best of --repeat, but a command whose first run took longer than
--cheap seconds runs once; peak RSS is the command's own ru_maxrss from
os.wait4(), also per snapshot object):

  paths --type Target SNAP
  cycles SNAP
  dominators SNAP

and runs each once more with --json (untimed) to report what it found.
The snapshot is in the page cache when it is read (it was just written):
warm-cache figures.  If the analyzer binary changes while a size is
measured (someone rebuilt build/), that size's CLI measurements are
repeated; if sizes end up measured with different binaries, the older ones
are measured again at the end.

This is a benchmark, not a test: it prints a table per size and a target
summary, and exits 0 whether or not the targets are met.
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
sys.dont_write_bytecode = True   # no __pycache__ in bench/ from importing the other benches
from bench_dump import (Heap, build_to, parse_size, size_label, child_env,  # noqa: E402
                        agent_id)
from bench_analyzer import (best_of, file_sha, measure, cli_json, grid, mib,  # noqa: E402
                            secs, ensure_objgraph, add_run_options, host_info)

TARGET_PATHS_S = 1.0                # paths --type Target under 1 s ...
TARGET_PATHS_AT = 1_000_000         # ... on 1M objects
TARGET_DOMINATORS_S = 5.0           # dominators under 5 s ...
TARGET_DOMINATORS_AT = 3_000_000    # ... on 3M objects
TARGET_RSS_PER_OBJECT = 100.0       # peak RSS bytes per snapshot object, every command, every size

N_TARGETS = 10_000                  # Target instances, exactly
REGISTRY_GROUPS = 50                # REGISTRY: 50 lists of 100 (half the Targets)
BIG = 1 << 20                       # ints above the small-int cache

COMMANDS = [("paths", ["paths", "--type", "Target"]),
            ("cycles", ["cycles"]),
            ("dominators", ["dominators"])]


# --------------------------------------------------------------------------
# Child: the heap, the Targets, the dump, objgraph
# --------------------------------------------------------------------------

class Target:
    """The instances the benchmark looks for."""

    def __init__(self, ident, label):
        self.ident = ident      # an int object of its own
        self.label = label      # a unique str
        self.owner = None       # an Employee, set when the Target is attached


# Module-level holders (the child runs this file as __main__, a proper module).
REGISTRY = {}
HEAP = None


def attach_targets(targets, heap):
    """Half into REGISTRY (50 lists), half into 'watchers' lists of the teams."""
    half = len(targets) // 2
    per_group = half // REGISTRY_GROUPS
    members = [e for team in heap.teams for e in team["members"]]
    stride = max(1, len(members) // len(targets))
    for k, t in enumerate(targets):
        t.owner = members[(k * stride) % len(members)]
    for g in range(REGISTRY_GROUPS):
        REGISTRY[f"group-{g:02d}"] = targets[g * per_group:(g + 1) * per_group]
    held = targets[REGISTRY_GROUPS * per_group:]
    teams = heap.teams
    for k, t in enumerate(held):
        team = teams[(k * len(teams)) // len(held)]   # spread evenly over all teams
        team.setdefault("watchers", []).append(t)
    return len(targets) - len(held), len(held)


def sample_picks(n, heap):
    """n (kind, where, index) picks of Targets, half each kind, spread evenly.

    Plain tuples, resolved one at a time: nothing the search could walk
    through (a list of the sample, closures over the module) holds them.
    """
    n_reg = (n + 1) // 2
    n_team = n - n_reg
    keys = sorted(REGISTRY)
    out = []
    for s in range(n_reg):
        g = keys[(s * len(keys)) // n_reg]
        out.append(("registry", g, (s * 37) % len(REGISTRY[g])))
    with_watchers = [i for i, team in enumerate(heap.teams) if team.get("watchers")]
    for s in range(n_team):
        i = with_watchers[(s * len(with_watchers)) // n_team]
        out.append(("team", i, s % len(heap.teams[i]["watchers"])))
    return out


def pick(kind, where, index):
    if kind == "registry":
        return REGISTRY[where][index]
    return HEAP.teams[where]["watchers"][index]


def spell_chain(chain):
    parts = []
    for o in chain:
        if isinstance(o, type(sys)):
            parts.append(f"module {o.__name__}")
        else:
            t = type(o)
            parts.append(t.__qualname__ if t.__module__ == "builtins"
                         else f"{t.__module__}.{t.__qualname__}")
    return " -> ".join(parts)


def child(target, repeat, sample, snap):
    global HEAP
    import gc
    import pyheapdiff
    agent = agent_id(pyheapdiff)
    try:
        import objgraph
    except ImportError:
        objgraph = None
    gc.disable()
    scratch = snap + ".count"

    def count():
        return pyheapdiff.dump(scratch, collect=False, values=False)["objects"]

    # The Targets exist before the baseline is counted, so the sizing of
    # bench_dump.py (baseline, a calibration slice, the rest scaled) covers them.
    t0 = time.perf_counter()
    gc.collect()
    before_targets = count()
    pending = [Target(BIG * 5 + k, f"target-{k:05d}") for k in range(N_TARGETS)]
    heap = HEAP = Heap()
    baseline, per_unit = build_to(heap, target, count)
    in_registry, in_teams = attach_targets(pending, heap)
    del pending
    gc.collect()
    os.unlink(scratch)
    build_s = time.perf_counter() - t0
    n_targets = sum(1 for o in gc.get_objects() if type(o) is Target)
    print(f"  built {heap.units} units ({per_unit:.1f} objects/unit) + {n_targets} Targets "
          f"in {build_s:.1f} s", file=sys.stderr, flush=True)
    res = {"agent": agent, "target": target, "units": heap.units, "objects_per_unit": per_unit,
           "baseline_objects": baseline,
           "target_objects": baseline - before_targets, "build_seconds": build_s,
           "target_instances": n_targets, "targets_in_registry": in_registry,
           "targets_in_teams": in_teams, "teams": len(heap.teams),
           "gc_tracked": len(gc.get_objects()),
           "objgraph": objgraph is not None,
           "objgraph_version": getattr(objgraph, "__version__", None)}

    info = pyheapdiff.dump(snap, collect=False)
    res["dump"] = info
    print(f"  dump: {info['objects']} objects, {info['seconds']:.3f} s",
          file=sys.stderr, flush=True)

    res["gc_collect_seconds"], _ = best_of(gc.collect, repeat)

    if objgraph is not None:
        calls = []
        examples = {}
        for kind, where, index in sample_picks(sample, heap):
            obj = pick(kind, where, index)
            t = time.perf_counter()
            chain = objgraph.find_backref_chain(obj, objgraph.is_proper_module)
            dt = time.perf_counter() - t
            found = len(chain) > 1 and chain[-1] is obj and objgraph.is_proper_module(chain[0])
            calls.append({"kind": kind, "seconds": dt, "found": found,
                          "length": len(chain) - 1})
            examples.setdefault(kind, spell_chain(chain))
            del chain, obj
            print(f"  objgraph.find_backref_chain #{len(calls)} ({kind}): {dt:.3f} s, "
                  f"{'found' if found else 'NOT found'}", file=sys.stderr, flush=True)
        res["objgraph_calls"] = calls
        res["objgraph_examples"] = examples
    return res


# --------------------------------------------------------------------------
# Parent: the CLI
# --------------------------------------------------------------------------

def wait_stable(cli, quiet=5.0, limit=900.0):
    """Wait until the binary exists and its hash has not changed for `quiet` seconds."""
    t_end = time.monotonic() + limit
    last, since = None, time.monotonic()
    while time.monotonic() < t_end:
        sha = file_sha(cli) if os.access(cli, os.X_OK) else None
        if sha != last:
            last, since = sha, time.monotonic()
        elif sha is not None and time.monotonic() - since >= quiet:
            return sha
        time.sleep(1.0)
    sys.exit(f"bench_graph: {cli} did not settle within {limit:.0f} s")


def measure_cli(r, snap, cli, args, workdir, attempts=4):
    """Time the commands on snap; repeat the lot if the binary changed meanwhile."""
    out = os.path.join(workdir, "out.txt")
    lab = size_label(r["target"])
    for attempt in range(attempts):
        sha = wait_stable(cli) if attempt else file_sha(cli)
        try:
            cmds, found = {}, {}
            for key, sub in COMMANDS:
                print(f"[{lab}] {' '.join(sub)} ...", file=sys.stderr, flush=True)
                cmds[key] = measure([cli] + sub + [snap], out, args.repeat, args.cheap)
                with open(out, encoding="utf-8", errors="replace") as f:
                    cmds[key]["first_line"] = f.readline().strip()
                found[key] = cli_json(cli, sub + ["--json", snap], out)
            info = cli_json(cli, ["info", "--json", snap], out)
        except RuntimeError as e:
            if file_sha(cli) != sha:
                print(f"[{lab}] the analyzer changed during the run ({e}); again",
                      file=sys.stderr, flush=True)
                continue
            raise
        if file_sha(cli) != sha:
            print(f"[{lab}] the analyzer changed during the run; measuring again",
                  file=sys.stderr, flush=True)
            continue
        for p in (out, out + ".err"):
            if os.path.exists(p):
                os.unlink(p)
        r["cli"] = {"path": cli, "sha256": sha, "attempts": attempt + 1}
        r["commands"] = cmds
        r["info"] = {k: info[k] for k in ("objects", "gc_tracked", "references", "types",
                                          "roots", "total_size", "file_size")}
        p, c, d = found["paths"], found["cycles"], found["dominators"]
        r["paths_found"] = {"objects": p["objects"], "unreachable": p["unreachable"],
                            "omitted_groups": p.get("omitted_groups", 0),
                            "groups": [{"count": g["count"], "path": g["path"]}
                                       for g in p["groups"]]}
        r["cycles_found"] = {"cycles": c["cycles"], "objects": c["objects"],
                             "size": c["size"], "unreachable": c["unreachable"],
                             "largest": [{"objects": t["objects"], "size": t["size"],
                                          "reachable": t["reachable"]} for t in c["top"][:3]]}
        r["dominators_found"] = {"total_size": d["total_size"],
                                 "top": [{"type": o["type"], "retained": o["retained"],
                                          "path": o["path"]} for o in d["objects"][:3]]}
        return derive(r)
    sys.exit(f"bench_graph: {cli} kept changing during {lab}; gave up after {attempts} tries")


def run_child(size, args, env, snap):
    if os.path.exists(snap):
        os.unlink(snap)
    print(f"[{size_label(size)}] fresh subprocess: heap + {N_TARGETS:,} Targets, dump, "
          f"objgraph ...", file=sys.stderr, flush=True)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(size),
                           "--repeat", str(args.repeat), "--sample", str(args.sample),
                           "--snap", snap],
                          env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench_graph: child for {size} failed with status {proc.returncode}")
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def derive(r):
    objs = r["info"]["objects"]
    r["objects"] = objs
    r["edges"] = r["info"]["references"]
    for m in r["commands"].values():
        m["rss_bytes_per_object"] = m["maxrss"] / objs
    calls = r.get("objgraph_calls")
    if calls:
        ts = [c["seconds"] for c in calls]
        r["objgraph_per_object"] = sum(ts) / len(ts)
        r["objgraph_min"], r["objgraph_max"] = min(ts), max(ts)
        r["objgraph_found"] = sum(1 for c in calls if c["found"])
        r["objgraph_extrapolated"] = r["objgraph_per_object"] * N_TARGETS
        r["objgraph_by_kind"] = {}
        for kind in sorted({c["kind"] for c in calls}):
            k = [c for c in calls if c["kind"] == kind]
            r["objgraph_by_kind"][kind] = {
                "calls": len(k), "per_object": sum(c["seconds"] for c in k) / len(k),
                "lengths": sorted({c["length"] for c in k})}
        r["objgraph_over_paths"] = r["objgraph_extrapolated"] / r["commands"]["paths"]["wall"]
    c = r["commands"]
    r["targets_met"] = {
        "paths_seconds": {"judged": r["target"] == TARGET_PATHS_AT,
                          "ok": c["paths"]["wall"] < TARGET_PATHS_S},
        "dominators_seconds": {"judged": r["target"] == TARGET_DOMINATORS_AT,
                               "ok": c["dominators"]["wall"] < TARGET_DOMINATORS_S},
    }
    for key, _ in COMMANDS:
        r["targets_met"][f"{key}_rss"] = {
            "judged": True, "ok": c[key]["rss_bytes_per_object"] < TARGET_RSS_PER_OBJECT}
    return r


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def fmt_size_table(r):
    c = r["commands"]
    lab = size_label(r["target"])
    pf, cf, df = r["paths_found"], r["cycles_found"], r["dominators_found"]
    lines = [f"== {lab}: {r['objects']:,} objects, {r['edges']:,} references, "
             f"{r['info']['gc_tracked']:,} GC-tracked, snapshot {mib(r['info']['file_size'])}; "
             f"{r['units']:,} units in {r['teams']:,} teams",
             f"   {r['target_instances']:,} Targets ({r['target_objects']:,} objects with their ids and "
             f"labels): {r['targets_in_registry']:,} in REGISTRY (module dict of "
             f"{REGISTRY_GROUPS} lists), {r['targets_in_teams']:,} in team dicts' "
             f"'watchers' lists",
             f"   paths: {pf['objects']:,} Targets, {pf['unreachable']} unreachable, "
             f"{len(pf['groups']) + pf['omitted_groups']} path groups"
             + (f" ({len(pf['groups'])} shown)" if pf["omitted_groups"] else "") + ":"]
    for g in pf["groups"]:
        lines.append(f"     {g['count']:>6,} x {g['path']}")
    big = cf["largest"][0] if cf["largest"] else None
    lines.append(f"   cycles: {cf['cycles']:,} cycles holding {cf['objects']:,} objects "
                 f"({mib(cf['size'])}), {cf['unreachable']:,} unreachable"
                 + (f"; largest {big['objects']:,} objects" if big else ""))
    if df["top"]:
        t = df["top"][0]
        lines.append(f"   dominators: largest retained {mib(t['retained'])} of "
                     f"{mib(df['total_size'])}: {t['path']}")
    if r.get("objgraph_examples"):
        for kind, ex in sorted(r["objgraph_examples"].items()):
            lines.append(f"   objgraph chain ({kind}): {ex}")
    lines.append("")

    rows = []
    names = {"paths": "paths --type Target SNAP", "cycles": "cycles SNAP",
             "dominators": "dominators SNAP"}
    for key, _ in COMMANDS:
        m = c[key]
        rows.append([names[key], secs(m["wall"]), str(m["runs"]), f"{m['cpu']:.2f} s",
                     mib(m["maxrss"]), f"{m['rss_bytes_per_object']:.1f}"])
    rows.append(None)
    rows.append(["in process (same heap):", "", "", "", "", ""])
    rows.append(["  dump (agent, collect=False)", secs(r["dump"]["seconds"]), "1", "", "", ""])
    rows.append(["  gc.collect()", secs(r["gc_collect_seconds"]), str(r["repeat"]), "", "", ""])
    if r.get("objgraph_calls"):
        n = len(r["objgraph_calls"])
        rows.append(["  objgraph.find_backref_chain, per object", secs(r["objgraph_per_object"]),
                     str(n), "", "", ""])
        for kind, k in r["objgraph_by_kind"].items():
            rows.append([f"    held in {kind} (chain length {'/'.join(map(str, k['lengths']))})",
                         secs(k["per_object"]), str(k["calls"]), "", "", ""])
        rows.append(["    min / max", f"{r['objgraph_min']:.3f} / {r['objgraph_max']:.3f} s",
                     "", "", "", ""])
        rows.append(["    chains found", f"{r['objgraph_found']} of {n}", "", "", "", ""])
        rows.append([f"  objgraph, extrapolated to all {N_TARGETS:,}",
                     secs(r["objgraph_extrapolated"]) + f" ({r['objgraph_extrapolated'] / 60:.0f} min)",
                     "", "", "", ""])
        rows.append(["  objgraph 10k / paths --type Target",
                     f"{r['objgraph_over_paths']:,.0f}x", "", "", "", ""])
    else:
        rows.append(["  objgraph", "not installed: skipped", "", "", "", ""])
    header = ["command", "wall (best)", "runs", "cpu", "peak RSS", "RSS B/obj"]
    lines.append(grid(header, rows))
    return "\n".join(lines)


def fmt_summary(results):
    cols = [size_label(r["target"]) for r in results]

    def mark(r, key, value):
        t = r["targets_met"][key]
        verdict = "met" if t["ok"] else "MISSED"
        return f"{value} {verdict}" if t["judged"] else f"{value} ({verdict.lower()})"

    def rss(r, key):
        return mark(r, f"{key}_rss", f"{r['commands'][key]['rss_bytes_per_object']:.1f}")

    rows = [
        ["objects"] + [f"{r['objects'] / 1e6:.2f}M" for r in results],
        ["objgraph, all 10k Targets (extrapolated)"] +
        [secs(r.get("objgraph_extrapolated")) for r in results],
        None,
        [f"target: paths --type Target < {TARGET_PATHS_S:g} s "
         f"({size_label(TARGET_PATHS_AT)})"] +
        [mark(r, "paths_seconds", secs(r["commands"]["paths"]["wall"])) for r in results],
        [f"target: dominators < {TARGET_DOMINATORS_S:g} s "
         f"({size_label(TARGET_DOMINATORS_AT)})"] +
        [mark(r, "dominators_seconds", secs(r["commands"]["dominators"]["wall"]))
         for r in results],
        [f"target: paths peak RSS < {TARGET_RSS_PER_OBJECT:g} B/object"] +
        [rss(r, "paths") for r in results],
        [f"target: cycles peak RSS < {TARGET_RSS_PER_OBJECT:g} B/object"] +
        [rss(r, "cycles") for r in results],
        [f"target: dominators peak RSS < {TARGET_RSS_PER_OBJECT:g} B/object"] +
        [rss(r, "dominators") for r in results],
    ]
    return grid([""] + cols, rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1m,3m",
                    help="comma-separated heap sizes in objects (1m, 3m, 500k, ...)")
    ap.add_argument("--json", metavar="FILE", help="also write machine-readable results here")
    ap.add_argument("--sample", type=int, default=20,
                    help="Target instances objgraph.find_backref_chain is timed on (default 20)")
    add_run_options(ap, "snapshots")
    ap.add_argument("--snap", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child is not None:
        res = child(args.child, args.repeat, args.sample, args.snap)
        sys.stdout.write("RESULT " + json.dumps(res) + "\n")
        return 0

    cli = os.path.abspath(args.cli)
    if not os.access(cli, os.X_OK):
        sys.exit(f"bench_graph: {cli} is not an executable; build it first")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    env = child_env()
    have_objgraph, note = ensure_objgraph()
    info = host_info()
    if note:
        print(f"note: {note}")

    if args.keep:
        base, cleanup = os.path.abspath(args.keep), False
        os.makedirs(base, exist_ok=True)
    else:
        base, cleanup = tempfile.mkdtemp(prefix="pyheapdiff-bench-graph-", dir="/tmp"), True
    results, snaps = [], []
    t_all = time.perf_counter()
    try:
        for size in sizes:
            workdir = os.path.join(base, size_label(size))
            os.makedirs(workdir, exist_ok=True)
            snap = os.path.join(workdir, "graph.snap")
            r = run_child(size, args, env, snap)
            r["repeat"] = args.repeat
            results.append(measure_cli(r, snap, cli, args, workdir))
            snaps.append((snap, workdir))
        # Sizes measured with an older binary (rebuilt between sizes): measure them again.
        for _ in range(3):
            current = wait_stable(cli, quiet=2.0)
            stale = [i for i, r in enumerate(results) if r["cli"]["sha256"] != current]
            if not stale:
                break
            for i in stale:
                print(f"[{size_label(results[i]['target'])}] measured with an older analyzer; "
                      "again", file=sys.stderr, flush=True)
                snap, workdir = snaps[i]
                results[i] = measure_cli(results[i], snap, cli, args, workdir)
    finally:
        if cleanup:
            shutil.rmtree(base, ignore_errors=True)

    shas = {r["cli"]["sha256"] for r in results}
    agents = {r["agent"]["sha256"] for r in results}
    print(f"analyzer: {cli} (sha256 {', '.join(sorted(shas))})")
    print(f"agent: {results[0]['agent']['path']} (sha256 {', '.join(sorted(agents))})")
    if results and results[0].get("objgraph_version"):
        print(f"objgraph {results[0]['objgraph_version']}")
    if len(shas) > 1:
        print("WARNING: the sizes were measured with different analyzer binaries; re-run")
    for r in results:
        print()
        print(fmt_size_table(r))
    print()
    print(f"== targets (paths judged on {size_label(TARGET_PATHS_AT)}, dominators on "
          f"{size_label(TARGET_DOMINATORS_AT)}, other sizes in parentheses, same bar, not "
          "judged; memory judged on every size)")
    print(fmt_summary(results))
    print(f"\nwall: spawn to exit, best of up to {args.repeat} (once when the first run took "
          f"> {args.cheap:g} s), warm page cache; cpu: user+sys of that run; peak RSS: the "
          "command's ru_maxrss (os.wait4), per snapshot object.\nobjgraph: "
          f"find_backref_chain(obj, is_proper_module) on {args.sample} Targets in the dumped "
          "process (each call runs a gc.collect() and one gc.get_referrers() heap scan per "
          f"object it visits); extrapolated = mean x {N_TARGETS:,}.  "
          f"Total {time.perf_counter() - t_all:.0f} s"
          + (f"; snapshots kept in {base}." if not cleanup else "."))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "repeat": args.repeat, "cheap_seconds": args.cheap,
                       "sample": args.sample, "targets_count": N_TARGETS, "objgraph_note": note,
                       "targets": {"paths_seconds": TARGET_PATHS_S,
                                   "paths_judged_at_objects": TARGET_PATHS_AT,
                                   "dominators_seconds": TARGET_DOMINATORS_S,
                                   "dominators_judged_at_objects": TARGET_DOMINATORS_AT,
                                   "rss_bytes_per_object": TARGET_RSS_PER_OBJECT},
                       "results": results}, f, indent=2)
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
