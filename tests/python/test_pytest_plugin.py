"""Tests of the pytest plugin (``pyheapdiff.pytest_plugin``) with pytester.

Each test writes a small test module and runs pytest on it in a fresh
subprocess (so the agent dumps an interpreter of its own), with the plugin
loaded by ``-p pyheapdiff.pytest_plugin`` from the build tree, entry-point
plugins off, and TMPDIR inside the pytester folder to see that no snapshot
folder is left behind.
"""

import importlib.util
import re

import pytest

from conftest import BUILD_PY
from pyheapdiff import _cli

pytest_plugins = ["pytester"]

STAFF = """
import pytest

class Employee:
    pass

STAFF = []
BADGES = []
_DIRECTORY = {}


def lookup(key):
    if key not in _DIRECTORY:
        _DIRECTORY[key] = Employee()
    return _DIRECTORY[key]


@pytest.fixture
def crew():
    return [Employee() for _ in range(4)]
"""


@pytest.fixture
def inner(pytester, monkeypatch, pyheapdiff_bin):
    """inner(source, *args) -> (RunResult, {nodeid: 'PASSED' | 'FAILED' | ...}):
    test_staff.py = STAFF + source, run with the plugin."""
    tmp = pytester.mkdir("tmp")
    monkeypatch.setenv("PYTHONPATH", str(BUILD_PY))
    monkeypatch.setenv("PYHEAPDIFF_CLI", pyheapdiff_bin)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("TMPDIR", str(tmp))

    def run(source, *args):
        pytester.makepyfile(test_staff=STAFF + source)
        result = pytester.runpytest_subprocess("-p", "pyheapdiff.pytest_plugin", "-p", "no:cacheprovider",
                                               "-rA", *args, timeout=300)
        outcomes = dict((m[2], m[1]) for m in re.finditer(r"^(PASSED|FAILED|ERROR) (\S+)",
                                                         result.stdout.str(), re.M))
        assert list(tmp.iterdir()) == [], "a temporary snapshot folder was left behind"
        return result, outcomes

    return run


def kept(pytester):
    base = pytester.path / ".pyheapdiff"
    return sorted(str(p.relative_to(base)) for p in base.rglob("*")) if base.exists() else []


def test_a_leaking_test_fails_with_the_growth_and_the_path(inner, pytester):
    result, outcomes = inner("""
@pytest.mark.no_leaks
def test_hire():
    STAFF.append(Employee())
""")
    assert outcomes == {"test_staff.py::test_hire": "FAILED"}, result.stdout.str()
    out = result.stdout.str()
    # the table row: type, one new employee alive at the end per run, their size
    assert re.search(r"^  test_staff\.Employee +1 +1 +1 +\d+ B$", out, re.M), out
    assert "each of 3 runs (1 warm-up run before them) left more than 0 new objects of 1 type alive" in out
    assert "module test_staff ['STAFF'] → list [*] → test_staff.Employee" in out
    assert "snapshots kept in .pyheapdiff/test_staff.py__test_hire/" in out
    folder = "test_staff.py__test_hire"
    assert kept(pytester) == [".gitignore", folder, f"{folder}/after.snap", f"{folder}/before.snap",
                              f"{folder}/round1.snap", f"{folder}/round2.snap"]
    # they are the measured runs' snapshots: three employees more at the end
    path = pytester.path / ".pyheapdiff" / folder
    rows = _cli.run_json(["diff", path / "before.snap", path / "after.snap"])["rows"]
    assert [r["count_delta"] for r in rows if r["type"] == "test_staff.Employee"] == [3]


def test_a_clean_test_passes_and_keeps_nothing(inner, pytester):
    result, outcomes = inner("""
@pytest.mark.no_leaks
def test_clean(crew):
    staff = [Employee() for _ in range(10)]
    print("captured output is not a leak")
    assert len(staff) + len(crew) == 14
""")
    assert outcomes == {"test_staff.py::test_clean": "PASSED"}, result.stdout.str()
    assert kept(pytester) == []


@pytest.mark.slow
def test_warm_up_runs_fill_caches_first(inner, pytester):
    """With types, one measured run: a cache filled in it is growth unless
    a warm-up run filled it first.  The bare marker needs no warm-up for
    that: a cache filled once does not grow with the runs."""
    result, outcomes = inner("""
@pytest.mark.no_leaks(types=["Employee"], warmup=0)
def test_cold():
    lookup("a")

@pytest.mark.no_leaks(types=["Employee"], warmup=1)
def test_warm():
    lookup("b")

@pytest.mark.no_leaks(warmup=0)
def test_cold_bare():
    lookup("c")
""")
    assert outcomes == {"test_staff.py::test_cold": "FAILED", "test_staff.py::test_warm": "PASSED",
                        "test_staff.py::test_cold_bare": "PASSED"}, result.stdout.str()
    assert "no warm-up run" in result.stdout.str()
    assert "module test_staff ['_DIRECTORY'] → dict ['a'] → test_staff.Employee" in result.stdout.str()
    assert "test_staff.py__test_warm" not in kept(pytester)


UNMARKED = """
def test_unmarked_leak():
    STAFF.append(Employee())

def test_unmarked_clean():
    assert [Employee()]
"""


@pytest.mark.slow
def test_heapdiff_checks_unmarked_tests(inner):
    result, outcomes = inner(UNMARKED, "--heapdiff")
    assert outcomes == {"test_staff.py::test_unmarked_leak": "FAILED",
                        "test_staff.py::test_unmarked_clean": "PASSED"}, result.stdout.str()
    assert "module test_staff ['STAFF'] → list [*] → test_staff.Employee" in result.stdout.str()


def test_without_heapdiff_unmarked_tests_are_not_checked(inner, pytester):
    result, outcomes = inner(UNMARKED)
    assert set(outcomes.values()) == {"PASSED"}, result.stdout.str()
    assert kept(pytester) == []


@pytest.mark.slow
def test_types_and_max_growth(inner):
    result, outcomes = inner("""
@pytest.mark.no_leaks(types=["Badge"])
def test_other_type_named():
    STAFF.append(Employee())

@pytest.mark.no_leaks(types=["Employee"])
def test_bare_name():
    STAFF.append(Employee())

@pytest.mark.no_leaks(types="test_staff.Employee")
def test_qualified_name():
    STAFF.append(Employee())

@pytest.mark.no_leaks(types=["dict"])
def test_builtin_named():
    BADGES.append({"n": 1})

@pytest.mark.no_leaks
def test_builtin_checked_by_default():
    BADGES.append({"n": 1})

@pytest.mark.no_leaks(max_growth=2)
def test_two_allowed():
    STAFF.extend([Employee(), Employee()])

@pytest.mark.no_leaks(max_growth=1)
def test_two_too_many():
    STAFF.extend([Employee(), Employee()])
""")
    assert outcomes == {
        "test_staff.py::test_other_type_named": "PASSED",
        "test_staff.py::test_bare_name": "FAILED",
        "test_staff.py::test_qualified_name": "FAILED",
        "test_staff.py::test_builtin_named": "FAILED",
        "test_staff.py::test_builtin_checked_by_default": "FAILED",
        "test_staff.py::test_two_allowed": "PASSED",
        "test_staff.py::test_two_too_many": "FAILED",
    }, result.stdout.str()
    assert "grew by more than 0 objects during" in result.stdout.str()
    assert "left more than 1 new object of 1 type alive" in result.stdout.str()
    assert "module test_staff ['BADGES'] → list [*] → dict" in result.stdout.str()


def test_failing_tests_fail_as_usual(inner, pytester):
    result, outcomes = inner("""
CALLS = []

@pytest.mark.no_leaks
def test_broken():
    STAFF.append(Employee())
    assert 1 == 2

@pytest.mark.no_leaks
def test_fails_in_the_measured_run():
    CALLS.append(1)
    assert len(CALLS) == 1

@pytest.mark.no_leaks(max_growth=-1)
def test_bad_marker():
    pass
""")
    assert set(outcomes.values()) == {"FAILED"} and len(outcomes) == 3, result.stdout.str()
    out = result.stdout.str()
    assert "assert 1 == 2" in out and "assert 2 == 1" in out
    assert "bad @pytest.mark.no_leaks arguments: max_growth must be an integer >= 0, not -1" in out
    assert "pyheapdiff: " not in out
    assert kept(pytester) == []


def test_a_fixed_test_drops_its_old_snapshots(inner, pytester):
    test = "@pytest.mark.no_leaks\ndef test_hire():\n    {}\n"
    _, outcomes = inner(test.format("STAFF.append(Employee())"))
    assert outcomes == {"test_staff.py::test_hire": "FAILED"}
    assert "test_staff.py__test_hire/after.snap" in kept(pytester)
    _, outcomes = inner(test.format("Employee()"))
    assert outcomes == {"test_staff.py::test_hire": "PASSED"}
    assert kept(pytester) == [".gitignore"]


LIBRARY_LEAKS = """
import logging

import numpy

LOG = logging.getLogger("staff")
FRAMES = {}


@pytest.mark.no_leaks
def test_array_per_call_in_a_module_dict():
    FRAMES[len(FRAMES)] = numpy.zeros(64)


@pytest.mark.no_leaks
def test_handler_per_call():
    LOG.addHandler(logging.StreamHandler())
"""

CLEAN_WITH_LIBRARIES = """
import functools
import logging
import re
import typing

import numpy

LOG = logging.getLogger("staff.clean")


@functools.lru_cache(maxsize=32)
def parse(text):
    return re.compile(text)


@pytest.mark.no_leaks
def test_caches_warm_but_do_not_grow():
    parse(r"\\d+-\\w+")
    re.match(r"[a-z]+\\d", "abc1")
    typing.Optional[typing.List[int]]
    logging.getLogger("staff.clean.sub").info("hello %s", 1)
    LOG.warning("logged, and kept by pytest for the report")
    assert numpy.arange(10).sum() == 45


@pytest.mark.no_leaks
def test_import_time_state():
    import json.decoder
    import decimal
    assert decimal.Decimal("1.5") + 1 == decimal.Decimal("2.5")
    assert json.decoder.JSONDecoder().decode("[1]") == [1]
"""


# find_spec, not import: pytester restores sys.modules after each test,
# and numpy cannot be imported twice into one process
needs_numpy = pytest.mark.skipif(importlib.util.find_spec("numpy") is None,
                                 reason="numpy is not installed (scripts/setup.sh installs it)")


@needs_numpy
def test_the_bare_marker_catches_leaks_of_library_types(inner, pytester):
    result, outcomes = inner(LIBRARY_LEAKS)
    assert outcomes == {"test_staff.py::test_array_per_call_in_a_module_dict": "FAILED",
                        "test_staff.py::test_handler_per_call": "FAILED"}, result.stdout.str()
    out = result.stdout.str()
    assert re.search(r"^  numpy\.ndarray +1 +1 +1 ", out, re.M), out
    assert re.search(r"^  logging\.StreamHandler +1 +1 +1 ", out, re.M), out
    assert "module test_staff ['FRAMES'] → dict [" in out
    assert "logging.Logger .handlers → list [*] → logging.StreamHandler" in out


@needs_numpy
def test_the_bare_marker_passes_clean_tests_that_warm_caches(inner, pytester):
    result, outcomes = inner(CLEAN_WITH_LIBRARIES)
    assert outcomes == {"test_staff.py::test_caches_warm_but_do_not_grow": "PASSED",
                        "test_staff.py::test_import_time_state": "PASSED"}, result.stdout.str()
    assert kept(pytester) == []
