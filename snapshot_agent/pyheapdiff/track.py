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

from . import dump


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
            (``app.models.Employee``) or a bare class name (``Employee``)
            (``pyheapdiff diff --type``).
        user_only: keep only the program's own types, whose ``origin`` is
            ``"user"`` (``pyheapdiff diff --only user``; docs/cli.md, "Where
            a type comes from").
        """
        from . import _cli
        if isinstance(types, str):
            types = [types]
        before, after = self._snapshots()
        if types is not None and not types:
            return []
        args = ["diff", "--top", "0"]
        for t in types or ():
            args += ["--type", t]
        if user_only:
            args += ["--only", "user"]
        return _cli.run_json(args + [before, after])["rows"]

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
