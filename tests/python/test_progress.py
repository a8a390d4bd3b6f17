"""Progress on stderr (docs/cli.md, "Progress"): shown on a terminal, in
place, cleared at the end; nothing when stderr is not a terminal; nothing
in the first second.  The snapshots come from bench/gen_snapshot (built
with the analyzer), which these tests also check: diff and leaks find the
growth it writes into the later snapshot."""

import json
import os
import re
import subprocess

import pytest

from conftest import BUILD, REPO, cli, cli_tty

GEN = BUILD / "bench" / "gen_snapshot"
FIXTURE = REPO / "fixtures" / "snapshots" / "v1-py311.snap"

COMMANDS = [
    (["info", "A"], ["checking the checksum", "reading objects", "checking addresses"]),
    (["top", "A"], ["reading objects"]),
    (["diff", "A", "B"], ["reading objects", "sorting addresses"]),
    (["paths", "--type", "Session", "B"], ["building the graph", "finding paths"]),
    (["cycles", "B"], ["finding cycles"]),
    (["dominators", "B"], ["computing dominators"]),
    (["leaks", "A", "B"], ["computing dominators", "ranking"]),
    (["report", "A", "B", "-o", "r.html"], ["reading objects"]),
    (["graph", "--type", "Session", "--max-objects", "3", "B", "-o", "g.dot"], ["building the graph"]),
    (["load", "A", "-o", "a.db"], ["loading objects"]),
    (["sql", "A", "SELECT count(*) FROM objects"], ["reading objects"]),
]


@pytest.fixture(scope="module")
def snaps(tmp_path_factory):
    if not GEN.exists():
        pytest.fail(f"{GEN} is not built (meson compile -C {BUILD})", pytrace=False)
    d = tmp_path_factory.mktemp("progress")
    subprocess.run([GEN, "--objects", "200000", d / "a.snap"], check=True, capture_output=True)
    subprocess.run([GEN, "--objects", "200000", "--after", "3000", d / "b.snap"], check=True, capture_output=True)
    return d


def expand(args, d):
    return [str(d / "a.snap") if a == "A" else str(d / "b.snap") if a == "B" else a for a in args]


@pytest.mark.parametrize("args,phases", COMMANDS, ids=[c[0][0] for c in COMMANDS])
def test_progress_on_a_terminal(pyheapdiff_bin, snaps, tmp_path, args, phases):
    status, _, term = cli_tty(pyheapdiff_bin, *expand(args, snaps), cwd=tmp_path, tty="stderr",
                              env={"PYHEAPDIFF_PROGRESS_DELAY": "0"})
    assert status == 0, term
    for phase in phases:
        assert re.search(r"\rpyheapdiff: " + phase + r" +\d+%", term), (phase, term[:2000])
    # rewritten in place with \r and cleared before anything else is
    # written (report's "wrote FILE") and at the end: what stays visible
    # on each line holds no progress
    for line in term.split("\n"):
        assert "%" not in line.rsplit("\r", 1)[-1], repr(term[-300:])


@pytest.mark.parametrize("args,phases", COMMANDS, ids=[c[0][0] for c in COMMANDS])
def test_no_progress_when_stderr_is_not_a_terminal(pyheapdiff_bin, snaps, tmp_path, args, phases):
    with open(tmp_path / "err.txt", "wb") as f:
        p = subprocess.run([pyheapdiff_bin, *expand(args, snaps)], stdout=subprocess.DEVNULL, stderr=f,
                           cwd=tmp_path, env={**os.environ, "PYHEAPDIFF_PROGRESS_DELAY": "0"})
    assert p.returncode == 0
    # report and graph say what they wrote; nothing else is there
    err = (tmp_path / "err.txt").read_bytes()
    assert err == b"" or (err.startswith(b"pyheapdiff: wrote ") and err.count(b"\n") == 1), err


def test_no_progress_in_the_first_second(pyheapdiff_bin, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYHEAPDIFF_PROGRESS_DELAY"}
    status, out, term = cli_tty(pyheapdiff_bin, "dominators", FIXTURE, cwd=tmp_path, tty="stderr", env=env)
    assert status == 0 and out
    assert term == ""


def test_an_error_is_not_written_over_progress(pyheapdiff_bin, snaps, tmp_path):
    status, _, term = cli_tty(pyheapdiff_bin, "paths", "--type", "NoSuchType", snaps / "b.snap", cwd=tmp_path,
                              tty="stderr", env={"PYHEAPDIFF_PROGRESS_DELAY": "0"})
    assert status == 2
    last = term.rstrip("\n").rsplit("\r", 1)[-1]
    assert last.startswith("pyheapdiff: ") and "NoSuchType" in last, repr(term[-300:])


def test_generator_growth_is_found(pyheapdiff_bin, snaps):
    p = cli(pyheapdiff_bin, "diff", "--json", snaps / "a.snap", snaps / "b.snap")
    assert p.returncode == 0, p.stderr
    rows = {r["type"]: r for r in json.loads(p.stdout)["rows"]}
    assert rows["app.cache.Session"]["count_delta"] == 3000
    p = cli(pyheapdiff_bin, "leaks", snaps / "a.snap", snaps / "b.snap")
    assert p.returncode == 0, p.stderr
    first = [ln for ln in p.stdout.splitlines() if ln and not ln.startswith(("new in", " "))][0]
    assert first.startswith("app.cache.Session:"), p.stdout[:1000]
