"""Writes the pyheapdiff(1) man page from the analyzer's own help texts.

    python3 scripts/gen_man.py build/pyheapdiff pyheapdiff.1

Runs ``pyheapdiff --help``, ``--version`` and ``help COMMAND`` for every
command the top-level help lists, so the page says what ``--help`` says (the
texts live in the command table of src/cli/main.c).  Each help text is read
as blocks separated by blank lines: a ``usage:`` block, paragraphs, and
labelled blocks (``options:``, ``example:``) whose indented lines are either
a definition list (``  TERM  description``, continued by deeper-indented
lines) or literal text.
"""

import re
import subprocess
import sys

_DEF = re.compile(r"^  (\S(?:.*?\S)?)\s{2,}(\S.*)$")
_CONT = re.compile(r"^\s{3,}(\S.*)$")


def _help(exe, *args):
    return subprocess.run([exe, *args], check=True, capture_output=True, text=True).stdout


def _esc(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if c.isascii() else f"\\[u{ord(c):04X}]" for c in text)
    return "\\&" + text if text[:1] in (".", "'") else text


def _definitions(lines):
    """[(term, description)] when every line is a definition or its
    continuation, else None."""
    items = []
    for line in lines:
        m = _DEF.match(line)
        if m:
            items.append([m.group(1), m.group(2)])
        elif items and _CONT.match(line):
            items[-1][1] += " " + line.strip()
        else:
            return None
    return items


def _block(lines):
    """troff for one block of a help text (usage blocks are handled by the caller)."""
    out = []
    label = None
    if lines[0].endswith(":") and not lines[0].startswith(" ") and len(lines) > 1:
        label, lines = lines[0][:-1], lines[1:]
        out += [".PP", f"\\fI{_esc(label.capitalize())}:\\fR"]
    items = _definitions(lines) if label else None
    if items is not None:
        for term, desc in items:
            out += [".TP", f"\\fB{_esc(term)}\\fR", _esc(desc)]
    elif label:
        out += [".RS", ".nf", *(_esc(line.strip()) for line in lines), ".fi", ".RE"]
    else:
        out += [".PP", *(_esc(line.strip()) for line in lines)]
    return out


def _blocks(text):
    return [b.splitlines() for b in re.split(r"\n\s*\n", text.strip("\n"))]


def _usage(lines):
    """A usage block: one command line a line, the command in bold."""
    out = [".nf"]
    for line in lines:
        m = re.match(r"(?:usage:)?\s*(pyheapdiff(?: [a-z]+)?)\s*(.*)", line)
        if m:
            out.append(f"\\fB{_esc(m.group(1))}\\fR {_esc(m.group(2))}".rstrip())
        else:  # the usage line goes on
            out.append("    " + _esc(line.strip()))
    return out + [".fi"]


def _page(exe):
    version = _help(exe, "--version").split()[-1]
    top = _blocks(_help(exe, "--help"))
    commands = next(_definitions(b[1:]) for b in top if b[0] == "commands:")
    out = [f'.TH PYHEAPDIFF 1 "" "pyheapdiff {version}" "User Commands"',
           ".nh", ".SH NAME", "pyheapdiff \\- find memory leaks in Python programs from heap snapshots",
           ".SH SYNOPSIS"]
    for b in top:
        if b[0].startswith("usage:"):
            out += _usage(b + ["pyheapdiff --help | help COMMAND | COMMAND --help | --version"])
    out.append(".SH DESCRIPTION")
    for b in top:
        if not b[0].startswith("usage:"):
            out += _block(b)
    out.append(".SH COMMANDS")
    for name, _ in commands:
        out.append(f".SS {name}")
        for b in _blocks(_help(exe, "help", name)):
            out += _usage(b) if b[0].startswith("usage:") else _block(b)
    out += [".SH SEE ALSO",
            "\\fBpython \\-m pyheapdiff run \\-\\-help\\fR: run a script and dump a snapshot when it ends.",
            ".br",
            "docs/cli.md, docs/format.md and docs/sqlite\\-schema.md in the pyheapdiff sources."]
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: gen_man.py PYHEAPDIFF OUTPUT")
    page = _page(argv[1])
    with open(argv[2], "w") as f:
        f.write(page)


if __name__ == "__main__":
    main(sys.argv)
