"""The SQLite store under contention and in hostile places.

- several ``load`` processes at once, into a new or an existing database,
  leave every snapshot exactly once (checked with Python's sqlite3);
- a database locked by another process, or read-only, or in a read-only
  folder, gives exit 2 and one line naming the file and the problem, and is
  left as it was;
- the analyzer frees what it allocates and closes every file descriptor on
  success and on error paths (valgrind memcheck with --track-fds).
"""

import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import VALGRIND, assert_usage_error, cli, cli_json, dump_in_subprocess

LEAF = """
class Leaf:
    pass
keep = [Leaf() for _ in range({n})]
pyheapdiff.dump(SNAP, values={values})
"""


@pytest.fixture(scope="module")
def snaps(tmp_path_factory):
    """Three small snapshots of three processes (different contents)."""
    d = tmp_path_factory.mktemp("snaps")
    out = []
    for i, n in enumerate((100, 200, 300)):
        out.append(dump_in_subprocess(LEAF.format(n=n, values=i % 2 == 0), d, f"s{i}").path)
    return out


def db_rows(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        snaps = con.execute("SELECT path, objects FROM snapshots ORDER BY id").fetchall()
        objects = con.execute("SELECT snapshot, count(*) FROM objects GROUP BY snapshot ORDER BY snapshot").fetchall()
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return snaps, objects
    finally:
        con.close()


def start_loads(exe, db, groups):
    """Starts one 'load' process per group of snapshot paths, all at once."""
    return [subprocess.Popen([exe, "load", "--json", *map(str, g), "-o", str(db)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for g in groups]


def wait_all(procs):
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert err == ""


def check_once_each(db, snaps):
    """Every snapshot is in db exactly once, with all its objects."""
    rows, objects = db_rows(db)
    assert sorted(r[0] for r in rows) == sorted(str(s) for s in snaps)
    assert len(objects) == len(rows)
    assert [o[1] for o in objects] == [r[1] for r in rows]


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_loads_of_one_snapshot_into_a_new_database(pyheapdiff_bin, snaps, tmp_path, round_):
    db = tmp_path / "new.db"
    wait_all(start_loads(pyheapdiff_bin, db, [[snaps[0]]] * 4))
    check_once_each(db, [snaps[0]])
    assert sorted(os.listdir(tmp_path)) == ["new.db"]


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_loads_of_different_snapshots_into_a_new_database(pyheapdiff_bin, snaps, tmp_path, round_):
    """The race the temporary-file-and-rename scheme must not lose: two
    loads both see no database and build one each.  Both snapshots end up
    in the one database."""
    db = tmp_path / "new.db"
    wait_all(start_loads(pyheapdiff_bin, db, [[s] for s in snaps]))
    check_once_each(db, snaps)
    assert sorted(os.listdir(tmp_path)) == ["new.db"]


def test_concurrent_loads_into_an_existing_database(pyheapdiff_bin, snaps, tmp_path):
    db = tmp_path / "x.db"
    cli_json(pyheapdiff_bin, "load", snaps[0], "-o", db)
    wait_all(start_loads(pyheapdiff_bin, db, [[snaps[1], snaps[2]], [snaps[2]], [snaps[1]], [snaps[0], snaps[1]]]))
    check_once_each(db, snaps)


def hold_lock(db, seconds):
    """Holds an exclusive lock on db from another thread with Python's
    sqlite3 (a separate connection, as another process would)."""
    ready = threading.Event()

    def run():
        con = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        con.execute("BEGIN EXCLUSIVE")
        ready.set()
        time.sleep(seconds)
        con.execute("ROLLBACK")
        con.close()

    t = threading.Thread(target=run)
    t.start()
    assert ready.wait(10)
    return t


@pytest.mark.slow
def test_locked_database_load_gives_up_with_a_clear_error(pyheapdiff_bin, snaps, tmp_path):
    db = tmp_path / "x.db"
    cli_json(pyheapdiff_bin, "load", snaps[0], "-o", db)
    before = db_rows(db)
    t = hold_lock(db, 4)
    try:
        start = time.monotonic()
        p = cli(pyheapdiff_bin, "load", snaps[1], "-o", db, env={"PYHEAPDIFF_LOCK_TIMEOUT": "0.5"})
        took = time.monotonic() - start
        assert_usage_error(p, db, "locked by another process", "0.5 s")
        assert 0.4 < took < 3.5
    finally:
        t.join()
    assert db_rows(db) == before
    assert sorted(os.listdir(tmp_path)) == ["x.db"]


@pytest.mark.parametrize("cmd", [["top", "{db}", "--snapshot", "1"], ["sql", "{db}", "SELECT count(*) FROM objects"]])
@pytest.mark.slow
def test_locked_database_read_gives_up_with_a_clear_error(pyheapdiff_bin, snaps, tmp_path, cmd):
    db = tmp_path / "x.db"
    cli_json(pyheapdiff_bin, "load", snaps[0], "-o", db)
    t = hold_lock(db, 3)
    try:
        p = cli(pyheapdiff_bin, *[a.format(db=db) for a in cmd], env={"PYHEAPDIFF_LOCK_TIMEOUT": "0.3"})
        assert_usage_error(p, db, "locked by another process")
    finally:
        t.join()
    # and once the lock is gone, the same command works
    p = cli(pyheapdiff_bin, *[a.format(db=db) for a in cmd])
    assert p.returncode == 0, p.stderr


def test_load_waits_for_a_lock_released_in_time(pyheapdiff_bin, snaps, tmp_path):
    db = tmp_path / "x.db"
    cli_json(pyheapdiff_bin, "load", snaps[0], "-o", db)
    t = hold_lock(db, 1.0)
    try:
        doc = cli_json(pyheapdiff_bin, "load", snaps[1], "-o", db)
    finally:
        t.join()
    assert [s["id"] for s in doc["snapshots"]] == [2]
    check_once_each(db, snaps[:2])


# ---- read-only files and folders ----------------------------------------
# Root ignores permission bits, so as root these run the analyzer as
# 'nobody' (uid 65534) on files in a world-readable folder.

def _as_user():
    if os.geteuid() != 0:
        return {}
    return {"user": 65534, "group": 65534, "extra_groups": []}


@pytest.fixture
def shared_dir():
    d = Path(tempfile.mkdtemp(prefix="phd-ro-"))
    d.chmod(0o755)
    yield d
    d.chmod(0o755)
    shutil.rmtree(d)


@pytest.fixture
def shared_bin(pyheapdiff_bin, shared_dir):
    """The analyzer copied where 'nobody' may run it (the checkout may be
    in a folder only root can enter)."""
    exe = shared_dir.parent / f"{shared_dir.name}-bin"
    exe.mkdir(mode=0o755)
    shutil.copy(pyheapdiff_bin, exe / "pyheapdiff")
    yield str(exe / "pyheapdiff")
    shutil.rmtree(exe)


def test_load_into_a_read_only_database(pyheapdiff_bin, shared_bin, snaps, shared_dir):
    db = shared_dir / "x.db"
    cli_json(pyheapdiff_bin, "load", snaps[0], "-o", db)
    snap = shared_dir / "s1.snap"
    shutil.copy(snaps[1], snap)
    snap.chmod(0o644)
    db.chmod(0o444)
    before = db_rows(db)
    p = cli(shared_bin, "load", snap, "-o", db, **_as_user())
    assert_usage_error(p, db, "read-only")
    assert db_rows(db) == before
    # reading it still works
    p = cli(shared_bin, "top", db, "--snapshot", "1", **_as_user())
    assert p.returncode == 0, p.stderr


def test_load_into_a_read_only_folder(shared_bin, snaps, shared_dir):
    snap = shared_dir / "s0.snap"
    shutil.copy(snaps[0], snap)
    snap.chmod(0o644)
    shared_dir.chmod(0o555)
    p = cli(shared_bin, "load", snap, "-o", shared_dir / "new.db", **_as_user())
    assert_usage_error(p, shared_dir / "new.db")
    assert sorted(os.listdir(shared_dir)) == ["s0.snap"]


# ---- memory and descriptors: valgrind -------------------------------------

SUPP = Path(__file__).resolve().parents[1] / "sanitize" / "valgrind.supp"


def valgrind(exe, args, tmp_path):
    """Runs the analyzer under memcheck; returns (exit code, memcheck log).
    --errors-for-leak-kinds=definite,indirect: blocks still reachable at
    exit (SQLite's and Graphviz's process-lifetime caches) are not leaks."""
    log = tmp_path / "vg.log"
    p = subprocess.run([VALGRIND, "--quiet", "--leak-check=full", f"--suppressions={SUPP}", "--errors-for-leak-kinds=definite,indirect",
                        "--show-leak-kinds=definite,indirect", "--track-fds=yes", "--error-exitcode=99",
                        f"--log-file={log}", exe, *map(str, args)],
                       capture_output=True, text=True, timeout=600)
    return p, log.read_text()


def open_fds(log):
    """The descriptors valgrind found open at exit, other than 0, 1, 2 and
    the log file valgrind itself opened."""
    lines = [ln for ln in log.splitlines() if "Open file descriptor" in ln]
    return [ln for ln in lines if not any(f"descriptor {i}:" in ln for i in (0, 1, 2)) and "vg.log" not in ln]


VG_CASES = {
    # name: (args, expected exit code)
    "info": (["info", "{s0}"], 0),
    "diff": (["diff", "{s0}", "{s1}"], 0),
    "diff_db": (["diff", "{db}", "--snapshot", "1", "--snapshot", "2"], 0),
    "load_new": (["load", "{s0}", "{s1}", "-o", "{tmp}/new.db"], 0),
    "load_again": (["load", "{s0}", "-o", "{db}"], 0),
    "paths": (["paths", "--type", "Leaf", "{s1}"], 0),
    "cycles": (["cycles", "{s1}"], 0),
    "dominators": (["dominators", "{s1}"], 0),
    "leaks": (["leaks", "{t0}", "{t1}", "{t2}"], 0),
    "err_leaks_other_processes": (["leaks", "{s0}", "{s1}", "{s2}"], 2),
    "graph": (["graph", "--type", "Leaf", "--max-depth", "2", "{s1}", "-o", "{tmp}/g.svg"], 0),
    "sql": (["sql", "{db}", "SELECT count(*) FROM objects"], 0),
    "err_corrupt_info": (["info", "{bad}"], 2),
    "err_corrupt_diff": (["diff", "{s0}", "{bad}"], 2),
    "err_corrupt_load_existing": (["load", "{s2}", "{bad}", "-o", "{db}"], 2),
    "err_corrupt_load_new": (["load", "{s0}", "{bad}", "-o", "{tmp}/new2.db"], 2),
    "err_corrupt_paths": (["paths", "--type", "Leaf", "{bad}"], 2),
    "err_corrupt_graph": (["graph", "--type", "Leaf", "{bad}", "-o", "{tmp}/g2.svg"], 2),
    "err_truncated_dominators": (["dominators", "{trunc}"], 2),
    "err_missing": (["diff", "{s0}", "{tmp}/missing.snap"], 2),
    "err_text_db": (["top", "{text}"], 2),
    "err_sql_write": (["sql", "{db}", "DELETE FROM objects"], 2),
    "err_sql_syntax": (["sql", "{db}", "SELEC 1"], 2),
    "err_unwritable_graph": (["graph", "--type", "Leaf", "{s1}", "-o", "{tmp}/no/such/dir/g.svg"], 2),
    "err_no_type": (["paths", "--type", "NoSuchType", "{s1}"], 2),
}


THREE = """
class Leaf:
    pass
keep = []
for i in range(3):
    keep += [Leaf() for _ in range(50)]
    pyheapdiff.dump(os.path.join(os.path.dirname(SNAP), f"t{i}.snap"))
"""


@pytest.fixture(scope="module")
def vg_world(snaps, pyheapdiff_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("vg")
    db = d / "w.db"
    cli_json(pyheapdiff_bin, "load", snaps[0], snaps[1], "-o", db)
    data = bytearray(Path(snaps[1]).read_bytes())
    data[len(data) // 2] ^= 0x5A
    (d / "bad.snap").write_bytes(bytes(data))
    (d / "trunc.snap").write_bytes(Path(snaps[1]).read_bytes()[:len(data) // 3])
    (d / "text.db").write_text("hello\n")
    dump_in_subprocess(THREE, d, "t")
    return {"t0": d / "t0.snap", "t1": d / "t1.snap", "t2": d / "t2.snap", "s0": snaps[0], "s1": snaps[1], "s2": snaps[2], "db": db, "bad": d / "bad.snap",
            "trunc": d / "trunc.snap", "text": d / "text.db"}


@pytest.mark.skipif(VALGRIND is None, reason="no valgrind (scripts/setup.sh installs it), or a sanitizer build "
                    "(which checks leaks with LeakSanitizer instead)")
@pytest.mark.parametrize("case", sorted(VG_CASES))
@pytest.mark.slow
def test_no_leaks_and_no_open_descriptors(case, vg_world, pyheapdiff_bin, tmp_path):
    args, code = VG_CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    db = work / "w.db"
    shutil.copy(vg_world["db"], db)  # loads may add to it
    args = [a.format(tmp=work, **{**vg_world, "db": db}) for a in args]
    p, log = valgrind(pyheapdiff_bin, args, tmp_path)
    assert p.returncode == code, (p.returncode, p.stderr[-2000:], log[-4000:])
    assert "definitely lost" not in log and "indirectly lost" not in log, log[-6000:]
    assert "Invalid read" not in log and "Invalid write" not in log and "uninitialised" not in log, log[-6000:]
    assert open_fds(log) == [], log[-4000:]
    if code == 2:
        assert len(p.stderr.splitlines()) == 1, p.stderr
