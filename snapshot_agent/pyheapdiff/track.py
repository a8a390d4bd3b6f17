"""``with pyheapdiff.track() as t:``: snapshots around a block, analysed in place.

    with pyheapdiff.track() as t:
        run_the_suspect_code()
    t.diff()                 # what grew: one dict per type, as `pyheapdiff diff --json` rows
    t.paths("Employee")      # why they are alive: grouped retention paths in the after snapshot
    print(t.summary())       # the analyzer's diff table

The analysis runs the ``pyheapdiff`` analyzer (see ``_cli.py``) on the two
snapshot files.  Everything the tracker needs is created, and every module
it needs imported, before the first dump, so the tracker itself never shows
up as growth.  Modules are imported inside the methods, not here, because
``import pyheapdiff`` imports this module and should stay small: every
snapshot records the modules of the process it is taken in.
"""

import os
import sys

from . import dump

_NOT_USER = frozenset({"pyheapdiff", "pytest", "_pytest", "pluggy"})


class Tracker:
    """Dumps ``before.snap`` on entering the block and ``after.snap`` on leaving it.

    dir: the folder for the two snapshots; by default a new temporary folder.
    keep: ``False`` (default) deletes the snapshots when the tracker is
        garbage-collected, when :meth:`remove` is called or at interpreter
        exit; right away when the block raised (then nothing is analysed).
        A temporary folder is deleted with them, a ``dir`` you chose never
        is (only the two files).  ``True`` leaves them for you.
    values: record short str/bytes/number previews, as ``pyheapdiff.dump``
        does.  On by default because retention paths name module globals
        and dict entries by their keys, which are str values: with
        ``values=False`` a path reads ``module app [<str>] → list`` instead
        of ``module app ['cache'] → list``.

    ``before`` and ``after`` are the snapshot paths, ``dir`` their folder.
    """

    def __init__(self, dir=None, *, keep=False, values=True):
        self.dir = None if dir is None else os.fspath(dir)
        self.keep = keep
        self.values = values
        self.before = self.after = None
        self.raised = False
        self.removed = False
        self._temporary = dir is None
        self._finalizer = None

    def __enter__(self):
        if self.before is not None:
            raise RuntimeError("a tracker runs once; make a new pyheapdiff.track()")
        import tempfile
        import weakref
        if self._temporary:
            self.dir = tempfile.mkdtemp(prefix="pyheapdiff-")
        else:
            os.makedirs(self.dir, exist_ok=True)
        self.before = os.path.join(self.dir, "before.snap")
        self.after = os.path.join(self.dir, "after.snap")
        if not self.keep:
            self._finalizer = weakref.finalize(self, _remove, self.dir, self._temporary,
                                               (self.before, self.after))
        try:
            dump(self.before, collect=True, values=self.values)
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.raised = exc_type is not None
        if self.raised and not self.keep:
            self.remove()
            return False
        try:
            dump(self.after, collect=True, values=self.values)
        except BaseException:
            if not self.keep:
                self.remove()
            raise
        return False

    def remove(self):
        """Delete the snapshots now, whatever ``keep`` says."""
        if self._finalizer is not None:
            self._finalizer()  # runs _remove once, then never again
        elif self.dir is not None:
            _remove(self.dir, self._temporary, (self.before, self.after))
        self.removed = True

    def _snapshots(self):
        if self.before is None:
            raise RuntimeError("use the tracker as a context manager first: with pyheapdiff.track() as t: ...")
        if self.removed:
            raise RuntimeError(f"the snapshots in {self.dir} were removed"
                               + (" because the block raised" if self.raised else ""))
        return self.before, self.after

    def diff(self, types=None, *, user_only=False):
        """What changed between the snapshots: the rows of ``pyheapdiff diff
        --json`` (every changed type, largest growth in size first), dicts
        with ``type``, ``count_before``, ``count_after``, ``count_delta``,
        ``size_before``, ``size_after``, ``size_delta``, ``new``, ``freed``
        and ``survived`` (sizes in bytes).

        types: keep only these types, each a qualified name
            (``app.models.Employee``) or a bare class name (``Employee``), as
            the analyzer matches them.
        user_only: keep only user-defined types (see :func:`is_user_type`).
        """
        from . import _cli
        if isinstance(types, str):
            types = [types]
        before, after = self._snapshots()
        rows = _cli.run_json(["diff", "--top", "0", before, after])["rows"]
        if types is not None:
            rows = [r for r in rows if any(type_name_matches(r["type"], t) for t in types)]
        if user_only:
            rows = [r for r in rows if is_user_type(r["type"])]
        return rows

    def paths(self, type_name, limit=10):
        """Why the instances of ``type_name`` in the after snapshot are alive:
        the groups of ``pyheapdiff paths --type T --json``, most objects
        first, dicts with ``count``, ``path``, ``example`` (an address) and
        ``example_path``.  ``limit``: groups to return (0: all).  An unknown
        type raises ``RuntimeError`` with the analyzer's suggestions."""
        from . import _cli
        _, after = self._snapshots()
        return _cli.run_json(["paths", "--type", type_name, "--limit", str(limit), after])["groups"]

    def summary(self, top=10):
        """The analyzer's diff table (``pyheapdiff diff --top N``), as text."""
        from . import _cli
        return _cli.run(["diff", "--top", str(top), *self._snapshots()]).stdout

    def __repr__(self):
        if self.before is None:
            state = "not entered"
        elif self.removed:
            state = "snapshots removed"
        else:
            state = "before.snap, after.snap" if os.path.exists(self.after) else "before.snap, block running"
        return f"<pyheapdiff.track {self.dir or '(temporary folder)'}: {state}>"


track = Tracker


def _remove(directory, temporary, files):
    if temporary:
        import shutil
        shutil.rmtree(directory, ignore_errors=True)
        return
    for f in files:
        try:
            os.remove(f)
        except FileNotFoundError:
            pass


def type_name_matches(name, want):
    """The analyzer's rule: ``want`` equals ``name``, or ``want`` has no dot
    and is the last dotted part of ``name`` (``Widget`` matches ``app.ui.Widget``)."""
    return name == want or ("." not in want and name.endswith("." + want))


def is_user_type(name):
    """Whether the type with this snapshot name (``module.QualName``) is the
    program's own, judged in this process (where the snapshots were taken):

    - builtins (names without a module: ``dict``) are not;
    - types of the standard library (``sys.stdlib_module_names``), of
      built-in modules, of pyheapdiff, pytest or pluggy (by the name's
      first part) are not;
    - the type's module is the longest dotted prefix of the name found in
      ``sys.modules``; a type whose module is not there is (nothing shows
      that it is a library's);
    - a module whose file lies in the standard library or in a
      site-packages (or dist-packages) folder is not: installed packages
      are libraries;
    - every other module is: ``__main__``, your packages, test modules,
      conftest files, modules without a file.
    """
    if "." not in name:
        return False
    parts = name.split(".")
    if parts[0] in sys.stdlib_module_names or parts[0] in sys.builtin_module_names or parts[0] in _NOT_USER:
        return False
    for i in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:i]))
        if module is not None:
            break
    else:
        return True
    path = getattr(module, "__file__", None)
    if not isinstance(path, str):
        return True
    return not _in_library(path)


_library_dirs = None


def _in_library(path):
    global _library_dirs
    if _library_dirs is None:
        import site
        import sysconfig
        dirs = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
        _library_dirs = tuple(os.path.realpath(d) + os.sep for d in dirs if d)
    return os.path.realpath(path).startswith(_library_dirs)
