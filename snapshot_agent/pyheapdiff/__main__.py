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


def _run(argv):
    ap = argparse.ArgumentParser(prog="python -m pyheapdiff run",
                                 description="Run a script and dump a snapshot at exit.")
    ap.add_argument("-o", "--output", required=True, help="snapshot file to write")
    ap.add_argument("--no-collect", action="store_true", help="do not gc.collect() before the dump")
    ap.add_argument("--no-values", action="store_true", help="record no value previews")
    ap.add_argument("script")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    ns = ap.parse_args(argv)
    sys.argv = [ns.script] + ns.args
    sys.path.insert(0, os.path.dirname(os.path.abspath(ns.script)))
    status = 0
    try:
        # Run the script in a real __main__ module that stays in sys.modules,
        # as "python script.py" does, so its globals are in the snapshot
        # (runpy.run_path would discard its temporary module first).
        with open(ns.script, "rb") as f:
            code = compile(f.read(), ns.script, "exec")
        main = types.ModuleType("__main__")
        main.__file__ = ns.script
        main.__builtins__ = builtins
        sys.modules["__main__"] = main
        exec(code, main.__dict__)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback
        traceback.print_exc()
        status = 1
    finally:
        try:
            info = pyheapdiff.dump(ns.output, collect=not ns.no_collect, values=not ns.no_values)
            print(f"pyheapdiff: wrote {ns.output}: {info['objects']} objects, "
                  f"{info['edges']} references, {info['bytes']} bytes in {info['seconds']:.3f} s",
                  file=sys.stderr)
        except OSError as exc:
            print(f"pyheapdiff: {exc}", file=sys.stderr)
            status = status or 2
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
