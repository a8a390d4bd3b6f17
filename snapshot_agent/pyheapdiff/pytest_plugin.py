"""pytest plugin: fail a test whose run leaves objects behind.

    @pytest.mark.no_leaks                       # any user-defined type
    @pytest.mark.no_leaks(types=["Employee"], max_growth=0, warmup=1)

``pytest --heapdiff`` checks every test function as if it had a bare
``no_leaks`` marker.  A checked test's body runs ``warmup`` extra times
(caches fill), then a snapshot is taken, the measured run made (pytest's
own call, with the same fixture values) and a second snapshot taken; the
test fails when a checked type has more than ``max_growth`` more objects
than before.  The snapshots of a failing test are kept in
``.pyheapdiff/<test id>/`` under the rootdir (``--heapdiff-dir``); a
passing test's are deleted.  See docs/python-api.md.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from . import _cli
from .track import Tracker

_MARKER = ("no_leaks(types=None, max_growth=0, warmup=1): fail when objects of `types` (default: "
           "every user-defined type) grow by more than max_growth during one run of the test, "
           "measured after `warmup` runs (pyheapdiff)")


def pytest_addoption(parser):
    group = parser.getgroup("heapdiff", "leak checks with pyheapdiff")
    group.addoption("--heapdiff", action="store_true",
                    help="check every test for growth of user-defined types, like a bare "
                         "@pytest.mark.no_leaks")
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
    # A raising test leaves the tracker with no snapshots and fails as usual.
    with Tracker() as tracker:
        result = yield
    try:
        grown = [r for r in tracker.diff(types, user_only=types is None) if r["count_delta"] > max_growth]
        kept = Path(item.config.rootpath, item.config.getoption("heapdiff_dir"), _dirname(item.nodeid))
        if not grown:
            _remove_old(kept)
            return result
        message = _message(tracker, grown, max_growth, warmup)
        _keep(tracker, kept)
    finally:
        tracker.remove()
    rel = os.path.relpath(kept, item.config.rootpath)
    pytest.fail(f"{message}\n\nsnapshots kept in {rel}{os.sep}:\n"
                f"    pyheapdiff diff {Path(rel, 'before.snap')} {Path(rel, 'after.snap')}", pytrace=False)


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


def _keep(tracker, kept):
    base = kept.parent
    if not base.is_dir():
        base.mkdir(parents=True)
        (base / ".gitignore").write_text("# snapshots of leaking tests, made by pyheapdiff\n*\n")
    kept.mkdir(exist_ok=True)
    for f in (tracker.before, tracker.after):
        shutil.move(f, kept / os.path.basename(f))


def _remove_old(kept):
    """A test that passes now drops the snapshots of an earlier failure."""
    for name in ("before.snap", "after.snap"):
        try:
            (kept / name).unlink()
        except FileNotFoundError:
            pass
    try:
        kept.rmdir()
    except OSError:
        pass
