"""Finding and running the ``pyheapdiff`` analyzer (a C program) from Python.

Shared by ``python -m pyheapdiff``, :func:`pyheapdiff.track` and the pytest
plugin, so that all three find the same binary the same way.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig

_EXE = "pyheapdiff" + (".exe" if os.name == "nt" else "")


class CLINotFound(RuntimeError):
    """The analyzer binary is not installed next to this Python."""


def _candidates():
    env = os.environ.get("PYHEAPDIFF_CLI")
    if env:
        yield env
        return
    # A meson build tree: build/python/pyheapdiff/_agent*.so beside
    # build/pyheapdiff (the binary built with this very package).  Also the
    # build directory of an editable install (pip install -e .), which
    # imports the extension from there and puts no binary in bin/.
    from . import _agent
    here = os.path.dirname(os.path.abspath(_agent.__file__))
    yield os.path.join(os.path.dirname(os.path.dirname(here)), _EXE)
    # A virtual environment's or prefix's bin/, where ``pip install`` puts it.
    yield os.path.join(os.path.dirname(sys.executable), _EXE)
    try:
        yield os.path.join(sysconfig.get_path("scripts"), _EXE)
    except KeyError:  # pragma: no cover - exotic install schemes
        pass
    found = shutil.which(_EXE)
    if found:
        yield found


def find_cli():
    """Return the path of the analyzer binary or raise :class:`CLINotFound`.

    Looked for in order: ``$PYHEAPDIFF_CLI``; the meson build tree the
    extension was imported from (build/, or an editable install's); the
    ``bin/`` of this Python's environment; ``$PATH``.
    """
    for path in _candidates():
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    env = os.environ.get("PYHEAPDIFF_CLI")
    if env:
        raise CLINotFound(f"PYHEAPDIFF_CLI={env}: not an executable file")
    raise CLINotFound("the pyheapdiff analyzer is not installed next to this Python "
                      "(pip install pyheapdiff, or set PYHEAPDIFF_CLI)")


def run(args, *, check=True):
    """Run the analyzer with ``args``; return the CompletedProcess (text)."""
    proc = subprocess.run([find_cli(), *map(os.fspath, args)], capture_output=True, text=True)
    if check and proc.returncode not in (0, 1):
        msg = proc.stderr.strip() or f"exit status {proc.returncode}"
        raise RuntimeError(f"pyheapdiff {args[0] if args else ''}: {msg}")
    return proc


def run_json(args):
    """Run the analyzer with ``--json`` and return the decoded document."""
    proc = run([*args, "--json"])
    return json.loads(proc.stdout)
