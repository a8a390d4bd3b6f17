"""``pip install`` of this repository into a fresh virtual environment: the
agent, the analyzer in the environment's bin/, the man page, the pytest11
entry point, ``python -m pyheapdiff`` handing commands to the analyzer; and
an editable install (``pip install -e``) that finds its analyzer too.

Needs PyPI (meson-python, meson and ninja for the builds).  One build for
the module (about 25 s); the editable install reuses its build directory.
Everything runs outside the repository, so nothing imports build/python.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

# a build of the whole project per install: the full run only (pytest.ini)
pytestmark = pytest.mark.slow

PIP = ("-m", "pip", "--disable-pip-version-check", "--no-input")
DUMP = """\
import json, sys
import pyheapdiff
class Leak: pass
a = pyheapdiff.dump("a.snap")
kept = [Leak() for _ in range(300)]
b = pyheapdiff.dump("b.snap")
print(json.dumps({"file": pyheapdiff.__file__, "version": pyheapdiff.__version__, "a": a, "b": b}))
"""


def _run(cmd, cwd, *, check=True, timeout=120, env=None):
    full = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "PYHEAPDIFF_CLI", "VIRTUAL_ENV")}
    full.update(env or {}, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited with {proc.returncode}\n"
                    f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}")
    return proc


def _venv(path, cwd):
    _run([sys.executable, "-m", "venv", path], cwd)
    return path / "bin" / "python"


class Installed:
    def __init__(self, root):
        self.root = root
        self.work = root / "work"
        self.work.mkdir()
        self.build = root / "build"
        self.python = _venv(root / "venv", root)
        _run([self.python, *PIP, "install", f"-Cbuild-dir={self.build}", REPO], root,
             timeout=600)
        self.bin = root / "venv" / "bin" / "pyheapdiff"
        self.dumped = json.loads(_run([self.python, "-c", DUMP], self.work).stdout)

    def python_m(self, *args, check=True, env=None):
        return _run([self.python, "-m", "pyheapdiff", *args], self.work, check=check, env=env)

    def cli(self, *args, check=True):
        return _run([self.bin, *args], self.work, check=check)


@pytest.fixture(scope="module")
def inst(tmp_path_factory):
    return Installed(tmp_path_factory.mktemp("install"))


def test_agent_installed(inst):
    site = Path(inst.dumped["file"]).parent.parent
    assert site.name == "site-packages" and (inst.root / "venv") in site.parents
    source = {p.name for p in (REPO / "snapshot_agent" / "pyheapdiff").glob("*.py")}
    assert source <= {p.name for p in (site / "pyheapdiff").glob("*.py")}
    assert inst.dumped["b"]["objects"] > inst.dumped["a"]["objects"] > 1000


def test_cli_in_bin(inst):
    info = json.loads(inst.cli("info", "--json", "a.snap").stdout)
    assert info["objects"] == inst.dumped["a"]["objects"]
    assert info["references"] == inst.dumped["a"]["edges"]
    found = _run([inst.python, "-c", "from pyheapdiff import _cli; print(_cli.find_cli())"],
                 inst.work).stdout.strip()
    assert found == str(inst.bin)


def test_version_installed(inst):
    # one version: the package's generated _version.py and the analyzer's
    assert inst.cli("--version").stdout == f"pyheapdiff {inst.dumped['version']}\n"


def test_python_m_forwards(inst):
    for args in (["info", "a.snap"], ["diff", "a.snap", "b.snap"], ["--version"],
                 ["paths", "--help"]):
        assert inst.python_m(*args).stdout == inst.cli(*args).stdout, args
    diff = json.loads(inst.python_m("diff", "--json", "a.snap", "b.snap").stdout)
    leak = next(r for r in diff["rows"] if r["type"] == "__main__.Leak")
    assert leak["count_before"] == 0 and leak["count_after"] == 300
    # exit status and stderr are the analyzer's own
    gate = inst.python_m("diff", "a.snap", "b.snap", "--fail-on-growth", "Leak", check=False)
    assert gate.returncode == 1 and "Leak grew by 300 objects" in gate.stderr
    missing = inst.python_m("info", "missing.snap", check=False)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.startswith("pyheapdiff: missing.snap:")


def test_python_m_help_has_run_and_the_commands(inst):
    text = inst.python_m("--help").stdout
    assert "python -m pyheapdiff run" in text
    for name in ("info", "diff", "paths", "graph"):
        assert f"\n  {name} " in text
    run = inst.python_m("run", check=False)
    assert run.returncode == 2 and "usage: python -m pyheapdiff run" in run.stderr


def test_python_m_without_the_cli(inst):
    proc = inst.python_m("info", "a.snap", check=False, env={"PYHEAPDIFF_CLI": "/nonexistent"})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "PYHEAPDIFF_CLI=/nonexistent: not an executable file" in proc.stderr


def test_man_page_installed(inst):
    page = inst.root / "venv" / "man" / "man1" / "pyheapdiff.1"
    assert page.read_text().startswith(".TH PYHEAPDIFF 1")


def test_pytest11_entry_point(inst):
    code = ("import importlib.metadata as m, importlib.util as u; "
            "e = [x for x in m.entry_points(group='pytest11') if x.name == 'pyheapdiff']; "
            "print(e[0].value if e else None, u.find_spec(e[0].module) is not None if e else None)")
    assert _run([inst.python, "-c", code], inst.work).stdout.split() == ["pyheapdiff.pytest_plugin", "True"]


def test_editable_install(inst, tmp_path):
    python = _venv(tmp_path / "venv", tmp_path)
    _run([python, *PIP, "install", "meson-python", "meson", "ninja"], tmp_path, timeout=300)
    _run([python, *PIP, "install", "--no-build-isolation", f"-Cbuild-dir={inst.build}", "-e", REPO],
         tmp_path, timeout=600)
    code = "import pyheapdiff; from pyheapdiff import _cli; print(pyheapdiff.__file__); print(_cli.find_cli())"
    where, cli = _run([python, "-c", code], inst.work).stdout.split()
    assert Path(where) == REPO / "snapshot_agent" / "pyheapdiff" / "__init__.py"
    assert Path(cli) == inst.build / "pyheapdiff"  # not in bin/: see README, Install
    proc = _run([python, "-m", "pyheapdiff", "info", "a.snap"], inst.work)
    assert proc.stdout == inst.cli("info", "a.snap").stdout
