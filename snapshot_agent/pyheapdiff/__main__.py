"""python -m pyheapdiff run -o out.snap script.py [args...]
python -m pyheapdiff COMMAND ...  (any command of the pyheapdiff analyzer)

``run`` runs a script as ``__main__`` and dumps a snapshot when it ends
(normally, by an exception or by ``sys.exit``).  Everything else is handed
to the analyzer binary (see ``_cli.find_cli``) with the same arguments, so
``python -m pyheapdiff diff a.snap b.snap`` is ``pyheapdiff diff a.snap b.snap``.
"""

import argparse
import builtins
import os
import sys
import types

import pyheapdiff
from pyheapdiff import _cli


def _fork_path(path, pid):
    """out.snap -> out-4243.snap: where a forked child's snapshot goes."""
    root, ext = os.path.splitext(path)
    return f"{root}-{pid}{ext}"


def _report(exc):
    """Prints exc as "python script.py" would, through sys.excepthook,
    without the frame of this module that exec'd the script."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
        exc.__traceback__ = tb  # the default hook prints the exception's own
    sys.excepthook(type(exc), exc, tb)


def _run(argv):
    ap = argparse.ArgumentParser(prog="python -m pyheapdiff run",
                                 description="Run a script and dump a snapshot at exit.  The exit "
                                             "status and messages are python's own for the script.")
    ap.add_argument("-o", "--output", required=True, help="snapshot file to write")
    ap.add_argument("--no-collect", action="store_true", help="do not gc.collect() before the dump")
    ap.add_argument("--no-values", action="store_true", help="record no value previews")
    ap.add_argument("--dump-forks", action="store_true",
                    help="processes forked by the script that end by returning or raising dump too, "
                         "each to OUTPUT with its pid before the extension (out-4243.snap); "
                         "by default only the process run started dumps")
    ap.add_argument("script")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    ns = ap.parse_args(argv)
    # What "python script.py" does with a script it cannot read or compile:
    # one message, exit status 2 (1 for a syntax error), and here no
    # snapshot, since nothing ran.
    try:
        with open(ns.script, "rb") as f:
            source = f.read()
    except OSError as exc:
        print(f"python -m pyheapdiff run: can't open file {os.path.abspath(ns.script)!r}: "
              f"[Errno {exc.errno}] {exc.strerror}", file=sys.stderr)
        return 2
    try:
        code = compile(source, ns.script, "exec")
    except (SyntaxError, ValueError) as exc:
        sys.excepthook(type(exc), exc.with_traceback(None), None)
        return 1
    sys.argv = [ns.script] + ns.args
    sys.path.insert(0, os.path.dirname(os.path.abspath(ns.script)))
    owner = os.getpid()
    status, pending = 0, None
    try:
        # Run the script in a real __main__ module that stays in sys.modules,
        # as "python script.py" does, so its globals are in the snapshot
        # (runpy.run_path would discard its temporary module first).
        main = types.ModuleType("__main__")
        main.__file__ = ns.script
        main.__builtins__ = builtins
        sys.modules["__main__"] = main
        exec(code, main.__dict__)
    except SystemExit as exc:
        pending = exc  # raised again below: python prints its message and exits with its code
    except KeyboardInterrupt as exc:
        _report(exc)
        pending = exc
    except BaseException as exc:
        _report(exc)
        status = 1
    # A child forked by the script comes back here too: it must not
    # overwrite the parent's snapshot (with its own pid) unless asked.
    output = ns.output
    if os.getpid() != owner:
        output = _fork_path(ns.output, os.getpid()) if ns.dump_forks else None
    if output is not None:
        try:
            info = pyheapdiff.dump(output, collect=not ns.no_collect, values=not ns.no_values)
            print(f"pyheapdiff: wrote {output}: {info['objects']} objects, "
                  f"{info['edges']} references, {info['bytes']} bytes in {info['seconds']:.3f} s",
                  file=sys.stderr)
        except OSError as exc:
            print(f"pyheapdiff: {exc}", file=sys.stderr)
            if status == 0 and (pending is None or (isinstance(pending, SystemExit)
                                                    and pending.code in (None, 0))):
                status, pending = 2, None
    if isinstance(pending, KeyboardInterrupt):
        # python ends a script interrupted by ^C by killing itself with
        # SIGINT after its shutdown (status 130 in a shell): raising it on
        # does the same; the traceback was printed above, once.
        sys.excepthook = lambda *args: None
    if pending is not None:
        raise pending.with_traceback(None)
    return status


_RUN_HELP = """\
usage: python -m pyheapdiff run -o out.snap script.py [args...]
       python -m pyheapdiff COMMAND ...

  run          run a script and dump a snapshot when it ends
               (python -m pyheapdiff run --help)

Every other command is the pyheapdiff analyzer's:
"""


def _forward(argv):
    """Replaces this process with the analyzer run on argv."""
    if not argv or (len(argv) == 1 and argv[0] in ("-h", "--help", "help")):
        print(_RUN_HELP, file=sys.stdout if argv else sys.stderr)
    try:
        cli = _cli.find_cli()
    except _cli.CLINotFound as exc:
        print(f"pyheapdiff: {exc}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name != "posix":
        import subprocess
        return subprocess.call([cli, *argv])
    os.execv(cli, [cli, *argv])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "run":
        return _run(argv[1:])
    return _forward(argv)


if __name__ == "__main__":
    sys.exit(main())
