"""The man page (build/pyheapdiff.1, made by scripts/gen_man.py at build
time) renders, and says what ``--help`` says for every command in the
command table of src/cli/main.c."""

import re
import shutil
import subprocess

import pytest

from conftest import BUILD, REPO

MAN = BUILD / "pyheapdiff.1"


def _table_commands():
    text = (REPO / "src" / "cli" / "main.c").read_text()
    names = re.findall(r'^\s*\{"([a-z]+)", cmd_[a-z_]+,', text, re.M)
    assert len(names) >= 10, names
    return names


def _help(exe, *args):
    """What exe prints for args: never nothing (an empty text would match
    any page)."""
    out = subprocess.run([exe, *args], capture_output=True, text=True, check=True).stdout
    assert out.strip(), f"pyheapdiff {' '.join(args)} printed nothing"
    return out


def _words(text):
    return " ".join(text.split())


def _assert_rendered(help_text, rendered):
    """Every line of a help text, but for section labels ("options:"), is
    in the rendered page (whitespace aside: the page refills paragraphs)."""
    flat = _words(rendered)
    for line in help_text.splitlines():
        line = line.removeprefix("usage:").strip()
        if line and not re.fullmatch(r"[a-z]+:", line):
            assert _words(line) in flat, line


@pytest.fixture(scope="module")
def page():
    if not MAN.exists():
        pytest.fail(f"{MAN} is not built (meson compile -C {BUILD})", pytrace=False)
    return MAN.read_text()


@pytest.fixture(scope="module")
def rendered(page):
    if not shutil.which("groff"):
        pytest.skip("groff is not installed")
    proc = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", "-ww", str(MAN)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout


def test_structure(page, pyheapdiff_bin):
    version = _help(pyheapdiff_bin, "--version").split()[-1]
    assert page.startswith(f'.TH PYHEAPDIFF 1 "" "pyheapdiff {version}"')
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "SEE ALSO"):
        assert f"\n.SH {section}\n" in page


def test_every_command_with_its_help(rendered, pyheapdiff_bin):
    commands = _table_commands()
    assert re.findall(r"^   (\S+)$", rendered, re.M) == commands  # the .SS headings
    for name in commands:
        _assert_rendered(_help(pyheapdiff_bin, "help", name), rendered)


def test_top_level_help(rendered, pyheapdiff_bin):
    text = _help(pyheapdiff_bin, "--help")
    assert text.startswith("usage: pyheapdiff "), text[:200]
    _assert_rendered(text, rendered)
