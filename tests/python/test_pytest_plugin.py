"""Tests of the pytest plugin (``pyheapdiff.pytest_plugin``) with pytester.

Each test writes a small test module and runs pytest on it in a fresh
subprocess (so the agent dumps an interpreter of its own), with the plugin
loaded by ``-p pyheapdiff.pytest_plugin`` from the build tree, entry-point
plugins off, and TMPDIR inside the pytester folder to see that no snapshot
folder is left behind.
"""

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
    # the table row: type, count before (the warm-up's employee), after, growth
    assert re.search(r"^  test_staff\.Employee +1 +2 +\+1 +\+\d+ B$", out, re.M), out
    assert "module test_staff ['STAFF'] → list [*] → test_staff.Employee" in out
    assert "snapshots kept in .pyheapdiff/test_staff.py__test_hire/" in out
    assert kept(pytester) == [".gitignore", "test_staff.py__test_hire", "test_staff.py__test_hire/after.snap",
                              "test_staff.py__test_hire/before.snap"]
    # they are the measured run's snapshots
    folder = pytester.path / ".pyheapdiff" / "test_staff.py__test_hire"
    rows = _cli.run_json(["diff", folder / "before.snap", folder / "after.snap"])["rows"]
    assert [r["count_delta"] for r in rows if r["type"] == "test_staff.Employee"] == [1]


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
    result, outcomes = inner("""
@pytest.mark.no_leaks(warmup=0)
def test_cold():
    lookup("a")

@pytest.mark.no_leaks(warmup=1)
def test_warm():
    lookup("b")
""")
    assert outcomes == {"test_staff.py::test_cold": "FAILED", "test_staff.py::test_warm": "PASSED"}, \
        result.stdout.str()
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
def test_builtin_not_checked_by_default():
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
        "test_staff.py::test_builtin_not_checked_by_default": "PASSED",
        "test_staff.py::test_two_allowed": "PASSED",
        "test_staff.py::test_two_too_many": "FAILED",
    }, result.stdout.str()
    assert "grew by more than 1 object during" in result.stdout.str()


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
