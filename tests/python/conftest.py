"""Fixtures for the agent and CLI tests.

Every dump happens in a fresh subprocess (``python -S``, so the heap stays
small: no site-packages) with PYTHONPATH=build/python:tests/python.  The
snippet passed to ``run_dump`` runs as ``__main__`` after this prelude::

    import sys, gc, os
    import pyheapdiff
    import _phdtruth as T      # ground truth helpers, see _phdtruth.py
    SNAP = <the snapshot path>

and normally ends with ``T.dump(...)``, which takes the ground truth, dumps
to SNAP and writes the truth as JSON next to it.
"""

import collections
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# PYHEAPDIFF_BUILD picks another build tree (scripts/sanitize.sh: build-asan)
BUILD = Path(os.environ.get("PYHEAPDIFF_BUILD", REPO / "build")).resolve()
BUILD_PY = BUILD / "python"

for p in (str(HERE), str(BUILD_PY)):
    if p not in sys.path:
        sys.path.insert(0, p)

import snapreader  # noqa: E402

PRELUDE = """\
import sys, gc, os
import pyheapdiff
import _phdtruth as T
SNAP = sys.argv[1]
T.init(sys.argv[1], sys.argv[2])
# ---- test snippet ----
"""


def subprocess_env(extra=None):
    env = dict(os.environ)
    paths = [str(BUILD_PY), str(HERE)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("PYTHONSTARTUP", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


_snap_cache = {}


def read_snapshot(path):
    """snapreader.read with a cache keyed by (path, mtime, size)."""
    st = os.stat(path)
    key = (str(path), st.st_mtime_ns, st.st_size)
    snap = _snap_cache.get(key)
    if snap is None:
        snap = snapreader.read(path)
        _snap_cache.clear()
        _snap_cache[key] = snap
    return snap


class Truth:
    """The JSON written by _phdtruth.dump, with ids as ints."""

    def __init__(self, raw):
        self.raw = raw
        self.result = raw["result"]
        self.marks = raw["marks"]
        self.extra = raw["extra"]
        self.pid = raw["pid"]
        self.objects = None
        if raw["objects"] is not None:
            # id -> (type name, size or None, is a class, has a managed dict)
            self.objects = {row[0]: tuple(row[1:]) for row in raw["objects"]}
        self.referents = None
        if raw["referents"] is not None:
            self.referents = {i: r for i, r, _m in raw["referents"]}
            self.members = {i: m for i, _r, m in raw["referents"]}

    def not_referents(self, addr, kept):
        """The edge targets in kept (a Counter of addresses) that are not
        gc.get_referents of the object at addr, leaving out the values of
        object members its C type declares in tp_members, which the agent
        follows whether tp_traverse reports them or not."""
        members = set(self.members[addr])
        return collections.Counter({a: c for a, c in (kept - collections.Counter(self.referents[addr])).items()
                                    if a not in members})

    def mark(self, name):
        return self.marks[name]


class DumpRun:
    def __init__(self, proc, snap_path, truth_path):
        self.proc = proc
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.path = snap_path
        self.truth_path = truth_path
        self._truth = None

    @property
    def snap(self):
        return read_snapshot(self.path)

    @property
    def truth(self):
        if self._truth is None:
            with open(self.truth_path) as f:
                self._truth = Truth(json.load(f))
        return self._truth

    def node(self, mark_name):
        """The snapshot node of a marked object (fails if absent)."""
        m = self.truth.mark(mark_name)
        n = self.snap.by_addr.get(m["id"])
        assert n is not None, f"marked object {mark_name!r} ({m}) is not in the snapshot"
        return n


def run_python(script_text, args=(), *, cwd=None, timeout=120, flags=("-S",), env=None):
    return subprocess.run([sys.executable, *flags, "-c", script_text, *map(str, args)],
                          env=subprocess_env(env), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def pyheapdiff_bin():
    # PYHEAPDIFF_CLI: another analyzer binary (scripts/sanitize.sh runs the
    # end-to-end tests with build-asan/pyheapdiff and the normal agent)
    # a missing build fails the tests that need it: a run without the
    # thing under test must not end green
    exe = Path(os.environ.get("PYHEAPDIFF_CLI") or BUILD / "pyheapdiff")
    if not exe.exists():
        pytest.fail(f"{exe} is not built (meson compile -C {BUILD})", pytrace=False)
    return str(exe)


@pytest.fixture(scope="session", autouse=True)
def _agent_built():
    if not list((BUILD_PY / "pyheapdiff").glob("_agent*.so")):
        pytest.fail(f"the agent is not built in {BUILD_PY} (meson compile -C {BUILD})", pytrace=False)


def pytest_collection_modifyitems(config, items):
    """Files with more slow tests first (each file's own order kept), so
    that the workers of scripts/test.sh's ``pytest -n auto --dist loadfile``
    start the long files first and the short ones fill in at the end."""
    slow = collections.Counter(item.path for item in items if item.get_closest_marker("slow"))
    first = {}
    for i, item in enumerate(items):
        first.setdefault(item.path, i)
    items.sort(key=lambda item: (-slow[item.path], first[item.path]))


def dump_in_subprocess(code, directory, name, *, check=True, timeout=120, env=None, flags=("-S",)):
    """Runs PRELUDE + dedented code as directory/<name>_main.py in a fresh
    interpreter; SNAP is directory/<name>.snap and the ground truth goes to
    directory/<name>.json.  With check=True a non-zero exit fails the test
    with the subprocess's output."""
    directory = Path(directory)
    script = directory / f"{name}_main.py"
    script.write_text(PRELUDE + textwrap.dedent(code))
    snap = directory / f"{name}.snap"
    truth = directory / f"{name}.json"
    proc = subprocess.run([sys.executable, *flags, str(script), str(snap), str(truth)],
                          env=subprocess_env(env), cwd=str(directory), capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"dump subprocess exited with {proc.returncode}\n--- stdout\n{proc.stdout}"
                    f"\n--- stderr\n{proc.stderr}")
    return DumpRun(proc, snap, truth)


@pytest.fixture
def run_dump(tmp_path):
    """run_dump(code, name=None, check=True, timeout=120, env=None) -> DumpRun;
    see dump_in_subprocess.  Files go to tmp_path."""
    counter = [0]

    def run(code, *, name=None, **kw):
        counter[0] += 1
        return dump_in_subprocess(code, tmp_path, name or f"snap{counter[0]}", **kw)

    return run


# ---- running the analyzer ------------------------------------------------

# valgrind, unless the analyzer under test is a sanitizer build (valgrind
# cannot run those; the sanitizers check the same)
SANITIZE = os.environ.get("PYHEAPDIFF_SANITIZE") == "1"
VALGRIND = None if SANITIZE else shutil.which("valgrind")

def cli(exe, *args, cwd=None, timeout=60, env=None, wrapper=(), **kw):
    """Runs the analyzer (under wrapper, e.g. valgrind); env adds variables
    to the environment.  stdout and stderr are text; stdout_bytes keeps the
    raw output (PNG, PDF)."""
    for _ in range(20):
        # another build may be relinking build/pyheapdiff: wait it out
        if os.path.exists(exe):
            break
        time.sleep(0.5)
    p = subprocess.run([*wrapper, exe, *map(str, args)], capture_output=True, timeout=timeout, cwd=cwd,
                       env={**os.environ, **env} if env else None, **kw)
    assert p.returncode >= 0, f"killed by signal {-p.returncode}: {args}\n{p.stderr!r}"
    p.stdout_bytes = p.stdout
    p.stdout = p.stdout.decode("utf-8", "replace")
    p.stderr = p.stderr.decode("utf-8", "replace")
    return p


def cli_tty(exe, *args, cwd=None, cols=100, timeout=60, tty="stdout", env=None):
    """Runs the analyzer with its standard output (tty="stderr": its
    standard error instead) on a terminal (a pty) of cols columns; env adds
    variables to the environment; returns (exit status, stdout text, stderr
    text), the terminal's text with "\r\n" read as "\n"."""
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, cols, 0, 0))
    env = {**{k: v for k, v in os.environ.items() if k != "COLUMNS"}, **(env or {})}
    on_err = tty == "stderr"
    proc = subprocess.Popen([exe, *map(str, args)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if on_err else slave,
                            stderr=slave if on_err else subprocess.PIPE, cwd=cwd, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    pipe = proc.stdout if on_err else proc.stderr
    other = pipe.read().decode("utf-8", "replace")
    pipe.close()
    proc.wait(timeout)
    term = out.decode("utf-8", "replace").replace("\r\n", "\n")
    return (proc.returncode, other, term) if on_err else (proc.returncode, term, other)


def cli_ok(exe, *args, cwd=None):
    p = cli(exe, *args, cwd=cwd)
    assert p.returncode == 0, (args, p.returncode, p.stderr)
    assert p.stderr == "", (args, p.stderr)
    return p


def cli_json(exe, *args, cwd=None):
    return json.loads(cli_ok(exe, *args, "--json", cwd=cwd).stdout)


def assert_usage_error(p, *needles):
    """exit 2, nothing on stdout, exactly one 'pyheapdiff: ' line on stderr
    containing every needle."""
    assert p.returncode == 2, (p.returncode, p.stdout[:500], p.stderr)
    assert p.stdout == "", p.stdout[:500]
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("pyheapdiff: "), lines[0]
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]
