"""What differs between the CPython versions the agent supports (3.11, 3.12,
3.13), checked on whichever interpreter runs this file: scripts/test.sh runs
it under each one it finds.  Immortal objects (3.12+) against the
interpreter's own refcounts, the header's version, the analysis of unknown
holders, and the refusal of interpreters the agent does not support.
"""

import glob
import json
import os
import platform
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, BUILD_PY, REPO, cli_json, subprocess_env

# 3.12 and 3.13 mark an immortal object with a refcount of 2**32 - 1
# (3.14 will use 3 << 30): sys.getrefcount shows it, so anything from
# 1 << 30 up is the ground truth for "immortal"
IMMORTAL_FLOOR = 1 << 30


def test_header_names_this_interpreter(run_dump, pyheapdiff_bin):
    r = run_dump("T.dump(objects=False)")
    info = cli_json(pyheapdiff_bin, "info", r.path)
    assert info["python"] == platform.python_version()


def test_immortal_objects_are_recorded_as_immortal(run_dump, pyheapdiff_bin):
    r = run_dump("""
        import ctypes
        class Plain: pass
        T.mark("None", None, rc=sys.getrefcount(None))
        T.mark("zero", 0, rc=sys.getrefcount(0))
        T.mark("small", 255, rc=sys.getrefcount(255))
        T.mark("int type", int, rc=sys.getrefcount(int))
        T.mark("interned", sys.intern("sys"), rc=sys.getrefcount(sys.intern("sys")))
        big = 10 ** 40
        T.mark("big", big, rc=sys.getrefcount(big))
        plain = Plain()
        T.mark("plain", plain, rc=sys.getrefcount(plain))
        T.mark("Plain", Plain, rc=sys.getrefcount(Plain))
        T.dump(objects=False)
    """)
    snap = r.snap
    wrong = {}
    for name, m in r.truth.marks.items():
        immortal = m["rc"] >= IMMORTAL_FLOOR
        node = r.node(name)
        if (node.refcount == 0) != immortal:
            wrong[name] = (m["rc"], node.refcount)
    assert not wrong, f"(sys.getrefcount, recorded refcount): {wrong}"
    zeros = sum(1 for n in snap.nodes if n.refcount == 0)
    if sys.version_info < (3, 12):
        assert zeros == 0
    else:
        assert r.truth.marks["None"]["rc"] >= IMMORTAL_FLOOR  # the premise
        assert zeros > 1000  # the interned and static strings, small ints, types...
    info = cli_json(pyheapdiff_bin, "info", r.path)
    assert info["immortal"] == zeros


def test_immortal_objects_are_not_held_by_unknown_holders(run_dump, pyheapdiff_bin):
    """orphans lists what only C code holds: the one object given a hidden
    reference, and not the thousands of immortal objects whose refcount
    (a marker) dwarfs the references the snapshot shows."""
    r = run_dump("""
        import ctypes
        class HiddenHolder: pass
        o = HiddenHolder()
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(o))   # a reference nobody can see
        del o
        T.dump(objects=False)
    """)
    doc = cli_json(pyheapdiff_bin, "orphans", "--top", "0", r.path)
    types = {t["type"] for t in doc["types"]}
    assert "__main__.HiddenHolder" in types
    nodes = len(r.snap.nodes)
    assert doc["objects"] < nodes // 50, (doc["objects"], nodes)
    immortal_types = {"NoneType", "bool", "ellipsis", "NotImplementedType"}
    assert not (types & immortal_types), types & immortal_types


def _old_pythons():
    """Interpreters of CPython 3.10 and older that pyenv has here."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = []
    for d in sorted(glob.glob(os.path.join(root, "versions", "3.*"))):
        v = os.path.basename(d).split(".")
        if len(v) >= 2 and v[1].isdigit() and int(v[1]) <= 10:
            exe = os.path.join(d, "bin", f"python{v[0]}.{v[1]}")
            if os.path.exists(exe):
                found.append(exe)
    return found


OLD = _old_pythons()


@pytest.mark.skipif(not OLD, reason="no CPython 3.10 or older on this machine (pyenv)")
@pytest.mark.parametrize("python", OLD[-2:], ids=lambda p: os.path.basename(p))
def test_import_refused_on_an_unsupported_python(python):
    p = subprocess.run([python, "-S", "-c", "import pyheapdiff"], env=subprocess_env(),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: pyheapdiff supports CPython 3.11, 3.12 and 3.13"), p.stderr


@pytest.mark.skipif(not OLD, reason="no CPython 3.10 or older on this machine (pyenv)")
def test_build_refused_on_an_unsupported_python(tmp_path):
    meson = shutil.which("meson") or str(REPO / ".venv" / "bin" / "meson")
    if not os.path.exists(meson):
        pytest.skip("meson is not installed (scripts/setup.sh puts it in .venv/)")
    p = subprocess.run([meson, "setup", str(tmp_path / "b"), f"-Dpython={OLD[-1]}"], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "pyheapdiff supports CPython 3.11, 3.12 and 3.13 with the GIL" in p.stdout + p.stderr


def test_the_agent_exports_only_its_init_function():
    """The extension's symbols are hidden but PyInit__agent: the format
    library linked into it must not clash with another module's."""
    nm = shutil.which("nm")
    if not nm:
        pytest.skip("nm (binutils) is not installed")
    (so,) = (BUILD_PY / "pyheapdiff").glob("_agent*.so")
    out = subprocess.run([nm, "-D", "--defined-only", str(so)], capture_output=True, text=True,
                         check=True).stdout
    exported = sorted(line.split()[-1] for line in out.splitlines() if line.split()[1:2] in (["T"], ["D"], ["B"]))
    assert exported == ["PyInit__agent"], exported


@pytest.mark.slow
def test_build_names_every_missing_system_package(tmp_path):
    """Without the system libraries, meson stops once, naming every
    missing Debian package (not one library at a time)."""
    meson = shutil.which("meson") or str(REPO / ".venv" / "bin" / "meson")
    if not os.path.exists(meson):
        pytest.skip("meson is not installed (scripts/setup.sh puts it in .venv/)")
    env = {**os.environ, "PKG_CONFIG_PATH": str(tmp_path), "PKG_CONFIG_LIBDIR": str(tmp_path)}
    p = subprocess.run([meson, "setup", str(tmp_path / "b")], cwd=REPO, capture_output=True, text=True,
                       timeout=120, env=env)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "missing development packages: libsqlite3-dev, libgraphviz-dev, libjansson-dev" in out
    assert "apt-get install gcc pkg-config libsqlite3-dev libgraphviz-dev libjansson-dev" in out
