"""pyheapdiff: snapshots of a Python process's object graph, for finding leaks.

    import pyheapdiff
    pyheapdiff.dump("before.snap")
    ...
    pyheapdiff.dump("after.snap")

then, in a shell: ``pyheapdiff before.snap after.snap``.

The heavy lifting is in the C extension ``pyheapdiff._agent``; this module
keeps the policy: argument handling, file naming, signals.
"""

import gc as _gc
import os
import signal as _signal
import sys as _sys
import sysconfig as _sysconfig


def _unsupported():
    """Why this interpreter cannot run the agent, or None."""
    if _sys.implementation.name != "cpython":
        return _sys.implementation.name
    if _sys.version_info[:2] not in ((3, 11), (3, 12), (3, 13)):
        return "Python %d.%d" % _sys.version_info[:2]
    if _sysconfig.get_config_var("Py_GIL_DISABLED"):
        return "a free-threaded build"
    return None


if _unsupported():
    raise ImportError("pyheapdiff supports CPython 3.11, 3.12 and 3.13 with the GIL, not %s." % _unsupported())

from . import _agent  # noqa: E402

__all__ = ["dump", "dump_on_signal", "track", "FORMAT_VERSION"]
from ._version import __version__  # noqa: E402  (meson.build's project version)

FORMAT_VERSION = _agent.FORMAT_VERSION


def dump(path, *, collect=True, values=True):
    """Write this interpreter's whole object graph to ``path``.

    collect: run a full ``gc.collect()`` first (``False`` keeps unreachable
        cycles in the snapshot, to study them with ``pyheapdiff cycles``).
    values: record short previews of str/bytes/int/float values (``False``
        writes no string or bytes content; names of modules, classes,
        functions and attributes are still recorded).

    Returns a dict with ``objects``, ``edges``, ``bytes`` (file size),
    ``size`` (total shallow size of the objects), ``types``, ``roots``,
    ``seconds`` and ``gc_reader`` (whether a second thread read the GC
    lists ahead: ``False`` when an extension's ``__sizeof__`` stopped it,
    see ``docs/agent.md``).  Raises ``OSError`` naming the path when the file cannot be
    written; no partial file is left behind.  The file is written under a
    temporary name with mode 0600 and renamed over ``path`` (a symbolic
    link there is replaced, not followed); a character device or a FIFO at
    ``path`` is written in place instead (``/dev/full`` raises ``OSError``
    with ``ENOSPC``).
    """
    return _dump(os.fspath(path), collect, values)


def _dump(path, collect, values):
    if collect:
        _gc.collect()  # gc.collect() runs even while the GC is disabled
    # positional: the call then builds no keyword dict (see _agent.c, agent_dump)
    return _agent.dump(path, bool(collect), bool(values), globals())


_signal_state = {"n": 0}


def _expand(pattern, n):
    return pattern.format(pid=os.getpid(), n=n)


def _check_pattern(pattern):
    """pattern as a str that _expand can fill, or ValueError/TypeError now,
    not later inside the code the signal interrupts."""
    pattern = os.fspath(pattern)
    if not isinstance(pattern, str):
        raise TypeError(f"dump_on_signal: pattern must be a str, not {type(pattern).__name__}")
    try:
        _expand(pattern, 1)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"dump_on_signal: bad file pattern {pattern!r}: only {{pid}} and {{n}} may be used "
                         f"(and {{{{ }}}} for braces): {type(exc).__name__}: {exc}") from None
    return pattern


def dump_on_signal(signum=_signal.SIGUSR2, pattern="pyheapdiff-{pid}-{n}.snap", *, collect=True,
                   values=True):
    """Dump a snapshot each time ``signum`` arrives.

    The handler runs on the main thread at the interpreter's next safe
    point, as every Python signal handler does.  ``pattern`` may use
    ``{pid}`` and ``{n}`` (1, 2, ... per process) and ``{{``/``}}`` for
    braces; anything else (``{user}``, an unclosed ``{``) raises
    ``ValueError`` here, when registering.  A failed dump is reported on
    stderr and never raises into the interrupted code.  Returns the previous
    handler.
    """
    pattern = _check_pattern(pattern)

    def _handler(sig, frame):
        _signal_state["n"] += 1
        path = pattern
        try:
            path = _expand(pattern, _signal_state["n"])
            _dump(path, collect, values)
        except Exception as exc:  # never break the program we are in
            try:
                os.write(2, f"pyheapdiff: dump to {path} failed: {exc}\n".encode(errors="replace"))
            except OSError:
                pass

    return _signal.signal(signum, _handler)


from .track import track  # noqa: E402  (last: track.py uses dump)
