"""pytest plugin: fail a test whose run leaves objects behind.

    @pytest.mark.no_leaks                       # a leak of any type
    @pytest.mark.no_leaks(types=["Employee"], max_growth=0, warmup=1)

``pytest --heapdiff`` checks every test function as if it had a bare
``no_leaks`` marker.  A checked test's body first runs ``warmup`` extra
times (caches fill).  Then:

- bare marker: the body runs ROUNDS more times (the last one pytest's own
  call), with a snapshot before each round and after the last; the test
  fails on the types of which every round left new objects alive at the
  end: a leak grows with the number of runs, a cache that was filled once
  does not.  Any type counts, builtins' and libraries' included;
- ``types=[...]``: one measured run between two snapshots; the test fails
  when one of those types has more than ``max_growth`` more objects.

The snapshots of a failing test are kept in ``.pyheapdiff/<test id>/``
under the rootdir (``--heapdiff-dir``); a passing test's are deleted.  See
docs/python-api.md.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from . import _cli, dump
from .track import Tracker

# measured runs of a test with a bare marker (after the warm-up runs)
ROUNDS = 3

_MARKER = ("no_leaks(types=None, max_growth=0, warmup=1): fail when the test leaks: by default, objects "
           f"of any type that each of {ROUNDS} runs leaves alive; with `types`, when those types grow by "
           "more than max_growth during one run; measured after `warmup` runs (pyheapdiff)")


def pytest_addoption(parser):
    group = parser.getgroup("heapdiff", "leak checks with pyheapdiff")
    group.addoption("--heapdiff", action="store_true",
                    help="check every test for leaks, like a bare @pytest.mark.no_leaks")
    group.addoption("--heapdiff-dir", default=".pyheapdiff", metavar="DIR",
                    help="where failing tests' snapshots are kept, relative to the rootdir "
                         "(default: .pyheapdiff)")


def pytest_configure(config):
    config.addinivalue_line("markers", _MARKER)


def _settings(types=None, max_growth=0, warmup=1):
    if isinstance(types, str):
        types = [types]
    if types is not None and not all(isinstance(t, str) for t in types):
        raise TypeError(f"types must be type names, not {types!r}")
    for name, value in (("max_growth", max_growth), ("warmup", warmup)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise TypeError(f"{name} must be an integer >= 0, not {value!r}")
    return types, max_growth, warmup


def _check(item):
    """(types, max_growth, warmup) when the item is checked, else None."""
    if not isinstance(item, pytest.Function):
        return None
    marker = item.get_closest_marker("no_leaks")
    if marker is None:
        return _settings() if item.config.getoption("heapdiff") else None
    try:
        return _settings(*marker.args, **marker.kwargs)
    except TypeError as exc:
        pytest.fail(f"bad @pytest.mark.no_leaks arguments: {exc}", pytrace=False)


# trylast: the innermost wrapper, so that the snapshots are taken right
# around pytest's own call of the test function, inside the output capture
# and logging wrappers, and what those record is not growth.
@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item):
    check = _check(item)
    if check is None:
        return (yield)
    types, max_growth, warmup = check
    for _ in range(warmup):
        item.runtest()
    kept = Path(item.config.rootpath, item.config.getoption("heapdiff_dir"), _dirname(item.nodeid))
    if types is None:
        return (yield from _check_rounds(item, kept, max_growth, warmup))
    # A raising test leaves the tracker with no snapshots and fails as usual.
    with Tracker() as tracker:
        result = yield
    try:
        grown = [r for r in tracker.diff(types) if r["count_delta"] > max_growth]
        if not grown:
            _remove_old(kept)
            return result
        message = _message(tracker, grown, max_growth, warmup)
        _keep([tracker.before, tracker.after], kept)
    finally:
        tracker.remove()
    _fail(item, kept, message, "before.snap", "after.snap")


def _check_rounds(item, kept, max_growth, warmup):
    """The bare marker: ROUNDS runs with a snapshot before each and after
    the last, the last run pytest's own call (the wrapper's yield)."""
    folder = tempfile.mkdtemp(prefix="pyheapdiff-")
    names = ["before.snap"] + [f"round{i}.snap" for i in range(1, ROUNDS)] + ["after.snap"]
    snaps = [os.path.join(folder, n) for n in names]
    try:
        dump(snaps[0])
        for i in range(1, ROUNDS):
            item.runtest()
            dump(snaps[i])
        result = yield
        dump(snaps[ROUNDS])
        leaking, rounds = _leaking(snaps, max_growth)
        if not leaking:
            _remove_old(kept)
            return result
        message = _rounds_message(leaking, rounds, max_growth, warmup)
        _keep(snaps, kept)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _fail(item, kept, message, names[0], names[-1])


def _leaking(snaps, max_growth):
    """The types of which every round left more than max_growth new
    objects alive in the last snapshot (pyheapdiff leaks of each round
    against the end), leaving out those held only by pytest's own
    objects or by holders the snapshot cannot see (_harness_only).  Returns
    ([type], [{type: leaks entry} per round])."""
    last = snaps[-1]
    rounds = []
    for i in range(1, len(snaps)):
        args = ["leaks", "--top", "0", snaps[i - 1], snaps[i]] + ([last] if snaps[i] != last else [])
        rounds.append({t["type"]: t for t in _cli.run_json(args)["types"]})
    leaking = [t for t, entry in rounds[-1].items()
               if all(r.get(t, {}).get("count", 0) > max_growth for r in rounds) and not _harness_only(entry)]
    leaking.sort(key=lambda t: -sum(r[t]["size"] for r in rounds))
    return leaking, rounds


_HARNESS = re.compile(r"(^|[ .\[])(_pytest|pytest|pluggy)\.|^\[held by C\]")


def _harness_only(entry):
    """Whether every path to these objects goes through pytest's or
    pluggy's objects, or starts at a holder the snapshot cannot see (the
    interpreter's stack while pytest runs the test: its captured log
    records, for one).  Neither is the test's leak."""
    return bool(entry["paths"]) and all(_HARNESS.search(p["path"]) for p in entry["paths"])


def _rounds_message(leaking, rounds, max_growth, warmup):
    runs = "no warm-up run" if warmup == 0 else f"{warmup} warm-up run{'s' * (warmup > 1)}"
    n = len(rounds)
    header = ("type", *(f"run {i}" for i in range(1, n + 1)), "size")
    table = [(t, *(f"{r[t]['count']:,}" for r in rounds), f"{sum(r[t]['size'] for r in rounds):,} B")
             for t in leaking]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    lines = [f"pyheapdiff: each of {n} runs ({runs} before them) left more than {max_growth} new "
             f"object{'s' * (max_growth != 1)} of {len(leaking)} type{'s' * (len(leaking) > 1)} alive at "
             "the end; new objects alive at the end, per run:", ""]
    for row in [header, *table]:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  " + "  ".join(cells).rstrip())
    for t in leaking[:5]:
        entry = rounds[-1][t]
        if entry["paths"]:
            top = entry["paths"][0]
            lines += ["", f"{t}: {entry['count']:,} new in the last run, {top['count']:,} of them retained by",
                      f"    {top['path']}"]
    return "\n".join(lines)


def _fail(item, kept, message, first, last):
    rel = os.path.relpath(kept, item.config.rootpath)
    pytest.fail(f"{message}\n\nsnapshots kept in {rel}{os.sep}:\n"
                f"    pyheapdiff diff {Path(rel, first)} {Path(rel, last)}", pytrace=False)


def _dirname(nodeid):
    """A test id as one folder name: tests/test_a.py::test_b[x-1] -> tests_test_a.py__test_b_x-1_."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", nodeid)[-200:]


def _message(tracker, grown, max_growth, warmup):
    runs = "no warm-up run" if warmup == 0 else f"{warmup} warm-up run{'s' * (warmup > 1)}"
    header = ("type", "before", "after", "growth", "size growth")
    table = [(r["type"], f"{r['count_before']:,}", f"{r['count_after']:,}", f"{r['count_delta']:+,}",
              f"{r['size_delta']:+,} B") for r in grown]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    lines = [f"pyheapdiff: {len(grown)} type{'s' * (len(grown) > 1)} grew by more than {max_growth} "
             f"object{'s' * (max_growth != 1)} during the measured run ({runs} before it):", ""]
    for row in [header, *table]:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  " + "  ".join(cells).rstrip())
    # leaks: the paths of the objects new in the after snapshot only, not
    # of every instance (older ones may be held elsewhere).
    new = {t["type"]: t for t in _cli.run_json(["leaks", "--top", "0", tracker.before, tracker.after])["types"]}
    for r in grown[:5]:
        entry = new.get(r["type"])
        if entry and entry["paths"]:
            top = entry["paths"][0]
            lines += ["", f"{r['type']}: {entry['count']:,} new, {top['count']:,} of them retained by",
                      f"    {top['path']}"]
    return "\n".join(lines)


def _keep(snaps, kept):
    base = kept.parent
    if not base.is_dir():
        base.mkdir(parents=True)
        (base / ".gitignore").write_text("# snapshots of leaking tests, made by pyheapdiff\n*\n")
    _remove_old(kept)
    kept.mkdir(exist_ok=True)
    for f in snaps:
        shutil.move(f, kept / os.path.basename(f))


def _remove_old(kept):
    """A test that passes now drops the snapshots of an earlier failure."""
    for f in kept.glob("*.snap") if kept.is_dir() else ():
        f.unlink()
    try:
        kept.rmdir()
    except OSError:
        pass
