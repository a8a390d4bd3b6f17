"""Regression tests for issue 15 (hardening), items 4 to 15: output files
that are not regular files, permissions, stale temporaries, terminal
escapes, strict UTF-8, NUL in names, size overflow, the agent's fork, signal
and exit handling, valid HTML, and sql's JSON, pragmas and time limit."""

import json
import os
import stat
import subprocess
import sys
import threading

import pytest

import snapreader
from conftest import assert_usage_error, cli, run_python, subprocess_env


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """before.snap and after.snap of one process; 30 Widgets grew."""
    d = tmp_path_factory.mktemp("pair")
    code = """
import sys, pyheapdiff
class Widget: pass
keep = []
pyheapdiff.dump(sys.argv[1] + '/before.snap')
keep.extend(Widget() for _ in range(30))
pyheapdiff.dump(sys.argv[1] + '/after.snap')
"""
    p = run_python(code, [d])
    assert p.returncode == 0, p.stderr
    return d


def in_umask(mask):
    return lambda: os.umask(mask)


@pytest.fixture
def devs(tmp_path):
    """Paths of a null and a full character device that a regression can
    not destroy: as root (who could rename a file over /dev/null) private
    nodes made with mknod, otherwise /dev/null and /dev/full, which an
    unprivileged process cannot replace."""
    if os.geteuid() != 0:
        return {"null": "/dev/null", "full": "/dev/full"}
    d = tmp_path / "dev"
    d.mkdir()
    out = {}
    for name, minor in [("null", 3), ("full", 7)]:
        os.mknod(d / name, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        out[name] = str(d / name)
    try:
        with open(out["null"], "wb") as f:
            f.write(b"x")
    except OSError:
        pytest.skip("cannot use device nodes here (a nodev mount?)")
    return out


class FifoReader:
    """Reads a FIFO in a thread; done() returns what it read, unblocking
    the reader when nothing ever opened the FIFO for writing (the bug: the
    FIFO was replaced by a regular file)."""

    def __init__(self, path):
        self.path, self.data = path, None
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        with open(self.path, "rb") as f:
            self.data = f.read()

    def done(self):
        self.t.join(1)
        if self.t.is_alive():
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
            self.t.join(10)
        return self.data or b""


# ---- 4. output paths that are not regular files ---------------------------

def test_dump_writes_through_devices_and_fifos(tmp_path, devs):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = FifoReader(fifo)
    code = """
import errno, os, stat, sys, pyheapdiff
null, full = sys.argv[2:4]
pyheapdiff.dump(null)
assert stat.S_ISCHR(os.stat(null).st_mode)
try:
    pyheapdiff.dump(full)
except OSError as e:
    assert e.errno == errno.ENOSPC and e.filename == full, e
else:
    raise SystemExit('no error from ' + full)
pyheapdiff.dump(sys.argv[1])
"""
    p = run_python(code, [fifo, devs["null"], devs["full"]], timeout=60)
    data = r.done()
    assert p.returncode == 0, p.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    snap = snapreader.parse(data)
    assert len(snap.nodes) > 1000
    assert sorted(n for n in os.listdir(tmp_path) if n != "dev") == ["fifo"]
    assert all(stat.S_ISCHR(os.stat(p).st_mode) for p in devs.values())


def test_dump_replaces_a_symlink_not_its_target(tmp_path):
    (tmp_path / "target").write_text("keep me")
    (tmp_path / "link.snap").symlink_to("target")
    p = run_python("import sys, pyheapdiff; pyheapdiff.dump(sys.argv[1])", [tmp_path / "link.snap"])
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "link.snap").is_symlink()
    assert (tmp_path / "target").read_text() == "keep me"
    snapreader.read(str(tmp_path / "link.snap"))


def test_dump_over_an_existing_file_frees_it_and_leaks_nothing(tmp_path):
    """A dump over an existing snapshot holds the old file open across the
    rename and closes it on a thread of its own (docs/agent.md): the old
    file (unreadable to us, too) is replaced, its inode freed, and no
    descriptor or thread is left behind."""
    code = r"""
import os, sys, threading, time, pyheapdiff
path = sys.argv[1]
with open(path, "wb") as f:
    f.write(b"old" * 100000)
os.chmod(path, 0)
fds = sorted(os.listdir("/proc/self/fd"))
threads = len(os.listdir("/proc/self/task"))
for i in range(5):
    pyheapdiff.dump(path, collect=False)
deadline = time.monotonic() + 10
while time.monotonic() < deadline and (sorted(os.listdir("/proc/self/fd")) != fds
                                        or len(os.listdir("/proc/self/task")) != threads):
    time.sleep(0.01)
assert sorted(os.listdir("/proc/self/fd")) == fds, (fds, os.listdir("/proc/self/fd"))
assert len(os.listdir("/proc/self/task")) == threads
"""
    path = tmp_path / "x.snap"
    p = run_python(code, [path], timeout=120)
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(tmp_path)) == ["x.snap"]
    snapreader.read(str(path))


@pytest.mark.parametrize("cmd", ["report", "graph"])
def test_outputs_to_dev_full_fail_cleanly(pyheapdiff_bin, pair, cmd, devs):
    args = ([cmd, pair / "before.snap", pair / "after.snap"] if cmd == "report"
            else [cmd, "--type", "Widget", "--path", pair / "after.snap"])
    p = cli(pyheapdiff_bin, *args, "-o", devs["full"])
    assert_usage_error(p, devs["full"], "No space left on device")
    assert stat.S_ISCHR(os.stat(devs["full"]).st_mode)
    p = cli(pyheapdiff_bin, *args, "-o", devs["null"])
    assert p.returncode == 0, p.stderr
    assert stat.S_ISCHR(os.stat(devs["null"]).st_mode)


def test_report_and_graph_to_stdout_fifo_and_symlink(pyheapdiff_bin, pair, tmp_path):
    p = cli(pyheapdiff_bin, "report", pair / "before.snap", pair / "after.snap", "-o", "-")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("<!DOCTYPE html>") and p.stdout.rstrip().endswith("</html>")
    assert p.stderr == ""
    p = cli(pyheapdiff_bin, "graph", "--type", "Widget", "--path", pair / "after.snap", "-o", "-")
    assert p.returncode == 0 and p.stdout.startswith("digraph"), p.stderr
    # a FIFO is written in place
    fifo = tmp_path / "page.html"
    os.mkfifo(fifo)
    r = FifoReader(fifo)
    p = cli(pyheapdiff_bin, "report", pair / "before.snap", pair / "after.snap", "-o", fifo)
    data = r.done()
    assert p.returncode == 0, p.stderr
    assert data.startswith(b"<!DOCTYPE html>")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    # a symlink is replaced by the new file; its target is untouched
    (tmp_path / "target").write_text("keep me")
    for name, args in [("r.html", ["report", pair / "before.snap", pair / "after.snap"]),
                       ("g.svg", ["graph", "--type", "Widget", "--path", pair / "after.snap"])]:
        (tmp_path / name).symlink_to("target")
        p = cli(pyheapdiff_bin, *args, "-o", tmp_path / name)
        assert p.returncode == 0, p.stderr
        assert not (tmp_path / name).is_symlink()
        assert (tmp_path / "target").read_text() == "keep me"


def test_outputs_that_cannot_be_replaced_are_refused(pyheapdiff_bin, pair, tmp_path):
    (tmp_path / "dir.html").mkdir()
    p = cli(pyheapdiff_bin, "report", pair / "before.snap", pair / "after.snap", "-o", tmp_path / "dir.html")
    assert_usage_error(p, "dir.html")
    assert (tmp_path / "dir.html").is_dir()
    assert sorted(os.listdir(tmp_path)) == ["dir.html"]


def test_load_through_a_dangling_symlink_is_one_clear_error(pyheapdiff_bin, pair, tmp_path):
    (tmp_path / "h.db").symlink_to("nowhere.db")
    p = cli(pyheapdiff_bin, "load", pair / "before.snap", "-o", tmp_path / "h.db")
    assert_usage_error(p, "h.db", "symbolic link")
    assert sorted(os.listdir(tmp_path)) == ["h.db"] and (tmp_path / "h.db").is_symlink()


# ---- 5. databases, reports and graphs get 0600 ----------------------------

def test_outputs_are_private_under_umask_000(pyheapdiff_bin, pair, tmp_path):
    runs = [("heap.db", ["load", pair / "before.snap", "-o"]),
            ("r.html", ["report", pair / "before.snap", pair / "after.snap", "-o"]),
            ("g.svg", ["graph", "--type", "Widget", pair / "after.snap", "-o"]),
            ("g.dot", ["graph", "--type", "Widget", pair / "after.snap", "-o"])]
    for name, args in runs:
        p = subprocess.run([pyheapdiff_bin, *map(str, args), str(tmp_path / name)], capture_output=True,
                           preexec_fn=in_umask(0))
        assert p.returncode == 0, p.stderr
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name
    # an existing report replaced gets 0600 too
    (tmp_path / "old.html").write_text("x")
    os.chmod(tmp_path / "old.html", 0o644)
    p = cli(pyheapdiff_bin, "report", pair / "before.snap", pair / "after.snap", "-o", tmp_path / "old.html")
    assert p.returncode == 0
    assert stat.S_IMODE(os.stat(tmp_path / "old.html").st_mode) == 0o600


# ---- 6. a stale temporary named like the dump's own -----------------------

def test_stale_temporary_does_not_block_the_dump(tmp_path):
    code = """
import os, sys, pyheapdiff
path = sys.argv[1]
for n in range(1, 4):
    open(f"{path}.tmp-{os.getpid()}-{n}", "w").close()
pyheapdiff.dump(path)
pyheapdiff.dump(path)
"""
    p = run_python(code, [tmp_path / "a.snap"])
    assert p.returncode == 0, p.stderr
    snapreader.read(str(tmp_path / "a.snap"))
    left = sorted(n for n in os.listdir(tmp_path) if n != "a.snap")
    assert len(left) == 3 and all(os.path.getsize(tmp_path / n) == 0 for n in left)


# ---- 7, 8, 9. names: terminal escapes, strict UTF-8, NUL -------------------

FOOTER = snapreader.FOOTER_SIZE


def fix_crc(data):
    data = bytearray(data)
    n = len(data)
    data[n - FOOTER + 16 + 36: n - FOOTER + 16 + 40] = \
        snapreader.crc32c(bytes(data[: n - FOOTER])).to_bytes(4, "little")
    return bytes(data)


def patched(src, dst, replacements):
    """src with same-length byte replacements in its string table (the
    snapshot is dumped with values=False, so names occur only there) and
    its CRC recomputed, written to dst."""
    data = src.read_bytes()
    for old, new in replacements:
        assert len(old) == len(new) and old in data, old
        data = data.replace(old, new)
    dst.write_bytes(fix_crc(data))
    return dst


HOSTILE = {"clear": "\x1b[2Jclear", "title": "\x1b]0;pwned\x07title", "crlf": "row\r\nbreak",
           "csi": "c1\u009b31mred", "tab": "a\tb"}


@pytest.fixture(scope="module")
def names(tmp_path_factory):
    """A pair of snapshots with classes named with terminal escapes and
    with placeholders that tests patch into invalid UTF-8 and NUL; before
    has none of their instances, after has 3 or 4 of each."""
    d = tmp_path_factory.mktemp("names")
    code = """
import sys, pyheapdiff
names = %r
classes = [type(n, (), {}) for n in names]
Over = type("overQQslash", (), {})
WA = type("WidgetZA", (), {})
WB = type("WidgetZB", (), {})
pyheapdiff.dump(sys.argv[1] + '/before.snap', values=False)
keep = [c() for c in classes for _ in range(3)]
keep += [Over() for _ in range(5)] + [WA() for _ in range(3)] + [WB() for _ in range(4)]
box = {'k': keep}
pyheapdiff.dump(sys.argv[1] + '/after.snap', values=False)
""" % (list(HOSTILE.values()),)
    p = run_python(code, [d])
    assert p.returncode == 0, p.stderr
    reps = [(b"overQQslash", b"over\xc0\xafslash"), (b"WidgetZA", b"Widget\x00A"), (b"WidgetZB", b"Widget\x00B")]
    for side in ("before", "after"):
        patched(d / f"{side}.snap", d / f"{side}-x.snap", reps)
    return d


def no_raw_controls(text):
    bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0]
    assert not bad, (bad, text[:2000])


@pytest.mark.parametrize("cmd", ["diff", "top", "paths", "leaks", "dominators", "cycles", "info", "orphans"])
def test_text_outputs_escape_control_characters(pyheapdiff_bin, names, cmd):
    a, b = names / "before-x.snap", names / "after-x.snap"
    args = {"diff": [a, b, "--top", "0"], "top": [b, "--top", "0"], "paths": ["--type", "__main__.\x1b[2Jclear", b],
            "leaks": [a, b, "--top", "0"], "dominators": [b, "--top", "0"], "cycles": [b, "--top", "0"],
            "info": [b, "--top", "100000"], "orphans": [b, "--top", "0"]}[cmd]
    p = cli(pyheapdiff_bin, cmd, *args)
    assert p.returncode == 0, p.stderr
    no_raw_controls(p.stdout)
    if cmd in ("diff", "top", "leaks", "info"):
        for spelled in ["\\x1b[2Jclear", "\\x1b]0;pwned\\x07title", "row\\r\\nbreak", "c1\\u009b31mred", "a\\tb",
                        "Widget\\0A", "Widget\\0B", "over\ufffd\ufffdslash"]:
            assert spelled in p.stdout, (spelled, p.stdout[:3000])
    if cmd == "paths":
        assert "\\x1b[2Jclear" in p.stdout and "3 ×" in p.stdout


def test_sql_escapes_control_characters(pyheapdiff_bin, names, tmp_path):
    db = tmp_path / "h.db"
    cli(pyheapdiff_bin, "load", names / "after.snap", "-o", db)
    p = cli(pyheapdiff_bin, "sql", db, "SELECT DISTINCT type FROM objects_v WHERE type LIKE '%row%' "
                                      "OR type LIKE '%clear' OR type LIKE '%title'")
    assert p.returncode == 0, p.stderr
    no_raw_controls(p.stdout)
    assert "row\\r\\nbreak" in p.stdout and "\\x1b[2Jclear" in p.stdout


def test_invalid_utf8_is_replaced_and_counted(pyheapdiff_bin, names, tmp_path):
    b = names / "after-x.snap"
    top = json.loads(cli(pyheapdiff_bin, "top", b, "--top", "0", "--json").stdout)
    assert sum(r["count"] for r in top["rows"]) == top["objects"]
    assert sum(r["size"] for r in top["rows"]) == top["total_size"]
    assert top["omitted"] == 0
    assert [r["count"] for r in top["rows"] if r["type"] == "__main__.over\ufffd\ufffdslash"] == [5]
    info = json.loads(cli(pyheapdiff_bin, "info", b, "--json").stdout)
    assert info["replaced_strings"] >= 1
    assert json.loads(cli(pyheapdiff_bin, "info", names / "after.snap", "--json").stdout)["replaced_strings"] == 0
    # the SVG is well-formed XML, the report valid UTF-8
    import xml.dom.minidom
    p = cli(pyheapdiff_bin, "graph", "--type", "__main__.over\ufffd\ufffdslash", b, "-o", tmp_path / "g.svg")
    assert p.returncode == 0, p.stderr
    xml.dom.minidom.parse(str(tmp_path / "g.svg"))
    p = cli(pyheapdiff_bin, "report", names / "before-x.snap", b, "-o", tmp_path / "r.html", "--top", "0")
    assert p.returncode == 0, p.stderr
    html = (tmp_path / "r.html").read_bytes().decode("utf-8")  # strict
    assert "over\ufffd\ufffdslash" in html


def test_nul_in_a_name_keeps_names_apart(pyheapdiff_bin, names):
    a, b = names / "before-x.snap", names / "after-x.snap"
    d = json.loads(cli(pyheapdiff_bin, "diff", a, b, "--top", "0", "--json").stdout)
    rows = {r["type"]: r["count_delta"] for r in d["rows"]}
    assert rows.get("__main__.Widget\0A") == 3 and rows.get("__main__.Widget\0B") == 4, \
        {k: v for k, v in rows.items() if "Widget" in k}
    assert "__main__.Widget" not in rows
    # a gate on the truncated name no longer sees the sum
    p = cli(pyheapdiff_bin, "diff", a, b, "--fail-on-growth", "Widget=5")
    assert p.returncode == 0, p.stderr
    p = cli(pyheapdiff_bin, "top", b, "--top", "0")
    assert "__main__.Widget\\0A" in p.stdout and "__main__.Widget\\0B" in p.stdout


# ---- 14. the report is valid HTML ------------------------------------------

def html_errors(data):
    """Parse errors of a WHATWG parser (html5lib), each as (line, col, code)."""
    html5lib = pytest.importorskip("html5lib")
    p = html5lib.HTMLParser(strict=False)
    p.parse(data)
    return [(pos[0], pos[1], code) for pos, code, _ in p.errors]


def test_report_is_valid_html(pyheapdiff_bin, pair, names, tmp_path):
    for a, b in [(pair / "before.snap", pair / "after.snap"),
                 (names / "before-x.snap", names / "after-x.snap")]:
        p = cli(pyheapdiff_bin, "report", a, b, "-o", tmp_path / "r.html", "--top", "0")
        assert p.returncode == 0, p.stderr
        data = (tmp_path / "r.html").read_bytes()
        data.decode("utf-8")  # strict
        assert html_errors(data) == []


# ---- 15. sql: infinities in JSON, read-only pragmas, --timeout ---------------

@pytest.fixture(scope="module")
def db(pyheapdiff_bin, pair, tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "heap.db"
    p = cli(pyheapdiff_bin, "load", pair / "before.snap", "-o", path)
    assert p.returncode == 0, p.stderr
    return path


def test_sql_json_writes_infinities_as_strings(pyheapdiff_bin, db):
    p = cli(pyheapdiff_bin, "sql", "--json", db, "SELECT 1e999 AS up, -1e999 AS down, 0.5 AS half")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == [{"up": "Infinity", "down": "-Infinity", "half": 0.5}]
    assert float(json.loads(p.stdout)[0]["down"]) == float("-inf")


@pytest.mark.parametrize("pragma", ["journal_mode", "main.journal_mode", "locking_mode", "user_version",
                                    "main.page_count"])
def test_sql_allows_pragmas_that_only_read(pyheapdiff_bin, db, pragma):
    p = cli(pyheapdiff_bin, "sql", "--json", db, f"PRAGMA {pragma}")
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)) == 1


@pytest.mark.parametrize("pragma", ["journal_mode=WAL", "main.journal_mode = delete", "user_version=3",
                                    "wal_checkpoint", "incremental_vacuum", "journal_mode('wal')"])
def test_sql_still_refuses_pragmas_that_write(pyheapdiff_bin, db, pragma):
    p = cli(pyheapdiff_bin, "sql", db, f"PRAGMA {pragma}")
    assert_usage_error(p, "refused")


def test_sql_timeout(pyheapdiff_bin, db):
    import time
    forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    t0 = time.monotonic()
    p = cli(pyheapdiff_bin, "sql", "--timeout", "0.3", db, forever, timeout=60)
    assert time.monotonic() - t0 < 20
    assert_usage_error(p, str(db), "--timeout 0.3 s")
    p = cli(pyheapdiff_bin, "sql", "--timeout", "5", "--json", db, "SELECT count(*) AS n FROM objects")
    assert p.returncode == 0 and json.loads(p.stdout)[0]["n"] > 1000, p.stderr
    for bad in ["0", "-1", "abc", "nan"]:
        assert_usage_error(cli(pyheapdiff_bin, "sql", "--timeout", bad, db, "SELECT 1"), "--timeout")


# ---- 11, 12, 13. the agent: fork, signal patterns, run's exit handling -------

def run_cmd(tmp_path, script_text, *opts, name="script.py"):
    script = tmp_path / name
    if script_text is not None:
        script.write_text(script_text)
    return subprocess.run([sys.executable, "-S", "-m", "pyheapdiff", "run", *opts, "-o", str(tmp_path / "out.snap"),
                           str(script)], cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True,
                          timeout=120)


def plain(tmp_path, name="script.py"):
    return subprocess.run([sys.executable, "-S", str(tmp_path / name)], cwd=tmp_path, env=subprocess_env(),
                          capture_output=True, text=True, timeout=120)


FORK = """
import os
pid = os.fork()
if pid == 0:
    child_only = ["child"] * 7
else:
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    parent_only = "parent"
"""


def test_run_forked_child_does_not_overwrite_the_snapshot(tmp_path):
    p = run_cmd(tmp_path, FORK)
    assert p.returncode == 0, p.stderr
    snap = snapreader.read(str(tmp_path / "out.snap"))
    assert snap.pid != os.getpid()
    assert p.stderr.count("wrote") == 1, p.stderr
    assert sorted(os.listdir(tmp_path)) == ["out.snap", "script.py"]
    # asked for: the child dumps to out-PID.snap
    p = run_cmd(tmp_path, FORK, "--dump-forks")
    assert p.returncode == 0, p.stderr
    kids = [n for n in os.listdir(tmp_path) if n.startswith("out-")]
    assert len(kids) == 1, os.listdir(tmp_path)
    child = snapreader.read(str(tmp_path / kids[0]))
    assert kids[0] == f"out-{child.pid}.snap"
    assert snapreader.read(str(tmp_path / "out.snap")).pid != child.pid


@pytest.mark.parametrize("pattern", ["x-{user}.snap", "x-{.snap", "x-}.snap", "x-{0}.snap", "x-{n:q}.snap",
                                     "x-{pid.real.x}.snap"])
def test_dump_on_signal_checks_the_pattern_when_registering(pattern):
    code = f"""
import signal, pyheapdiff
try:
    pyheapdiff.dump_on_signal(signal.SIGUSR2, {pattern!r})
except ValueError as e:
    assert {pattern!r} in str(e), e
    assert signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL
    print("refused")
"""
    p = run_python(code)
    assert p.returncode == 0 and p.stdout.strip() == "refused", (p.stdout, p.stderr)


def test_dump_on_signal_accepts_good_patterns(tmp_path):
    code = """
import os, signal, sys, pyheapdiff
os.chdir(sys.argv[1])
pyheapdiff.dump_on_signal(signal.SIGUSR2, "a-{pid}-{n:03d}-{{x}}.snap")
os.kill(os.getpid(), signal.SIGUSR2)
print(sorted(os.listdir(".")))
"""
    p = run_python(code, [tmp_path])
    assert p.returncode == 0, p.stderr
    assert os.listdir(tmp_path) and os.listdir(tmp_path)[0].endswith("-001-{x}.snap")


def test_run_sys_exit_with_a_message(tmp_path):
    text = "import sys\nsys.exit('fatal: config missing')\n"
    p, q = run_cmd(tmp_path, text), plain(tmp_path)
    assert (p.returncode, q.returncode) == (1, 1)
    assert "fatal: config missing\n" in p.stderr and q.stderr == "fatal: config missing\n"
    snapreader.read(str(tmp_path / "out.snap"))
    for code, want in [("None", 0), ("0", 0), ("5", 5), ("True", 1), ("[1]", 1)]:
        p = run_cmd(tmp_path, f"import sys\nsys.exit({code})\n")
        q = plain(tmp_path)
        assert p.returncode == q.returncode == want, (code, p.returncode, q.returncode, p.stderr)
        assert q.stderr in p.stderr


def test_run_keyboard_interrupt_is_pythons(tmp_path):
    text = "import atexit\natexit.register(lambda: print('atexit ran'))\nraise KeyboardInterrupt\n"
    p, q = run_cmd(tmp_path, text), plain(tmp_path)
    assert q.returncode == -2  # python kills itself with SIGINT: 130 in a shell
    assert p.returncode == q.returncode, p.stderr
    assert p.stdout == q.stdout == "atexit ran\n"
    assert p.stderr.startswith(q.stderr), (p.stderr, q.stderr)  # the same traceback, once
    assert p.stderr.count("Traceback") == 1 and "pyheapdiff" not in p.stderr.split("KeyboardInterrupt")[0]
    snapreader.read(str(tmp_path / "out.snap"))


def test_run_exception_traceback_is_the_scripts(tmp_path):
    text = "def f():\n    raise ValueError('boom')\nf()\n"
    p, q = run_cmd(tmp_path, text), plain(tmp_path)
    assert p.returncode == q.returncode == 1
    # the same frames as python's own traceback, none of pyheapdiff's
    assert p.stderr.count('File "') == q.stderr.count('File "') == 2, p.stderr
    assert "pyheapdiff/__main__.py" not in p.stderr and "ValueError: boom\n" in p.stderr
    snapreader.read(str(tmp_path / "out.snap"))


def test_run_missing_script(tmp_path):
    p = run_cmd(tmp_path, None, name="missing.py")
    assert p.returncode == 2
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and "missing.py" in lines[0] and "No such file or directory" in lines[0], p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "out.snap").exists()
