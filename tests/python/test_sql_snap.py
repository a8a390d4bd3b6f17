"""pyheapdiff sql SNAP... QUERY: the tables of a loaded database, served
straight from snapshot files by the virtual tables of src/store/snapvtab.c.

Every query here runs twice, on a database made by 'pyheapdiff load a b' and
on the two .snap files, and must print the same thing; the snapshot form is
read-only like the database form; bad input is one line naming the file.
"""

import os
import sqlite3

import pytest

from conftest import assert_usage_error, cli, cli_json, cli_ok, dump_in_subprocess

PROGRAM = r"""
import weakref

DIR = os.path.dirname(SNAP)

class Bus:
    def __init__(self):
        self.handlers = []

class Widget:
    __slots__ = ("name", "blob", "meta", "__weakref__")
    def __init__(self, i):
        self.name = f"w{i}"
        self.blob = bytes([0xff, 0xfe, i % 256]) * 3      # not UTF-8: a BLOB preview
        self.meta = {"id": i, "tags": ["a", "b"], 3.5: None}
    def on_event(self, e):
        return e

def make_twin():
    class Twin:                # two classes named __main__...Twin: one type_stats row
        pass
    return Twin

T1, T2 = make_twin(), make_twin()
bus = Bus()
keep = [T1(), T2(), T2()]
refs = []

def request(i):
    w = Widget(i)
    bus.handlers.append(w.on_event)
    refs.append(weakref.ref(w))

for i in range(20):
    request(i)
pyheapdiff.dump(os.path.join(DIR, "a.snap"), values=True)
for i in range(20, 70):
    request(i)
pyheapdiff.dump(os.path.join(DIR, "b.snap"), values=True, collect=True)
pyheapdiff.dump(SNAP)
"""


@pytest.fixture(scope="module")
def snaps(tmp_path_factory):
    d = tmp_path_factory.mktemp("sqlsnap")
    dump_in_subprocess(PROGRAM, d, "prog")
    return d / "a.snap", d / "b.snap"


@pytest.fixture(scope="module")
def both_db(snaps, pyheapdiff_bin, tmp_path_factory):
    db = tmp_path_factory.mktemp("sqlsnapdb") / "both.db"
    cli_ok(pyheapdiff_bin, "load", *snaps, "-o", db)
    return db


SNAPSHOT_COLUMNS = ("id, path, crc, file_size, format_version, python, pointer_size, pid, process_start_ns, "
                    "timestamp_ns, values_recorded, collected, objects, edges, total_size")

# Every table and view, key lookups, ranges, joins and counts.  Queries
# without ORDER BY return one row or aggregate.
QUERIES = [
    f"SELECT {SNAPSHOT_COLUMNS} FROM snapshots ORDER BY id",
    "SELECT * FROM strings ORDER BY id",
    "SELECT * FROM types ORDER BY snapshot, id",
    "SELECT * FROM objects ORDER BY id",
    "SELECT * FROM edges ORDER BY src, seq",
    "SELECT * FROM roots ORDER BY rowid",
    "SELECT rowid, * FROM roots WHERE snapshot = 2 ORDER BY rowid",
    "SELECT * FROM type_stats ORDER BY snapshot, type",
    "SELECT * FROM address_index ORDER BY snapshot",
    "SELECT * FROM label_kinds ORDER BY kind",
    "SELECT * FROM root_kinds ORDER BY kind",
    "SELECT * FROM objects_v ORDER BY id",
    "SELECT * FROM edges_v ORDER BY src, seq",
    "SELECT count(*), sum(size), min(id), max(id) FROM objects GROUP BY snapshot ORDER BY snapshot",
    "SELECT count(*), sum(dst), sum(seq), total(label) FROM edges",
    "SELECT kind, count(*) FROM edges GROUP BY kind ORDER BY kind",
    "SELECT typeof(preview), count(*) FROM objects GROUP BY 1 ORDER BY 1",
    # objects by id: equality, text and real values, ranges, IN, NULL
    "SELECT * FROM objects WHERE id = (2 << 32) + 5",
    "SELECT * FROM objects WHERE id = '4294967298'",
    "SELECT * FROM objects WHERE id = 4294967298.0",
    "SELECT * FROM objects WHERE id = 4294967298.5",
    "SELECT * FROM objects WHERE id = NULL",
    "SELECT * FROM objects WHERE id IN ((1 << 32) + 7, (2 << 32) + 9, 12345) ORDER BY id",
    "SELECT id FROM objects WHERE id BETWEEN (2 << 32) + 10 AND (2 << 32) + 20 ORDER BY id",
    "SELECT id FROM objects WHERE id > (1 << 32) + 100 AND id < (1 << 32) + 103 ORDER BY id",
    "SELECT count(*) FROM objects WHERE id >= 2 << 32",
    "SELECT count(*) FROM objects WHERE id < (1 << 32) + 50",
    "SELECT count(*) FROM objects WHERE id > 9223372036854775807",
    "SELECT count(*) FROM objects WHERE snapshot = 2",
    "SELECT count(*) FROM objects WHERE snapshot = 3",
    "SELECT id, size FROM objects WHERE rowid = (1 << 32) + 3",
    "SELECT id, text FROM strings WHERE rowid BETWEEN 3 AND 6 ORDER BY rowid",
    # objects by type and by address
    "SELECT o.* FROM objects o JOIN strings s ON s.id = o.type WHERE s.text = '__main__.Widget' ORDER BY o.id",
    "SELECT * FROM objects_v WHERE type = '__main__.Widget' AND snapshot = 2 ORDER BY id",
    "SELECT count(*) FROM objects_v WHERE type = 'no.such.Type'",
    "SELECT type, count(*) FROM objects_v WHERE type LIKE '%Twin' GROUP BY type",
    "SELECT * FROM objects WHERE type IN (SELECT id FROM strings WHERE text LIKE '%Bus') ORDER BY id",
    "SELECT b.id FROM objects a JOIN objects b ON b.snapshot = 2 AND b.address = a.address "
    "WHERE a.snapshot = 1 AND a.type = (SELECT id FROM strings WHERE text = '__main__.Widget') ORDER BY b.id",
    # edges by src, by dst, by src range
    "SELECT * FROM edges WHERE src = (SELECT min(id) FROM objects_v WHERE type = '__main__.Widget')",
    "SELECT * FROM edges_v WHERE dst = (SELECT min(id) FROM objects_v WHERE type = '__main__.Widget' "
    "AND snapshot = 2) ORDER BY src, seq",
    "SELECT count(*) FROM edges WHERE src >= 2 << 32",
    "SELECT count(*) FROM edges WHERE src BETWEEN (1 << 32) + 10 AND (1 << 32) + 500",
    "SELECT count(*), sum(e.seq) FROM objects_v o JOIN edges e ON e.src = o.id WHERE o.type = 'dict'",
    "SELECT o.type, count(*) FROM edges e JOIN objects_v o ON o.id = e.dst WHERE e.kind = 5 GROUP BY 1 ORDER BY 1",
    # strings, types, type_stats
    "SELECT * FROM strings WHERE text = '__main__.Widget'",
    "SELECT * FROM strings WHERE id = 3",
    "SELECT * FROM strings WHERE id BETWEEN 2 AND 5 ORDER BY id",
    "SELECT * FROM types WHERE snapshot = 2 AND id = 3",
    "SELECT t.*, s.text FROM types t JOIN strings s ON s.id = t.name WHERE s.text LIKE '%Twin' ORDER BY 1, 2",
    "SELECT * FROM type_stats WHERE snapshot = 1 AND type = (SELECT id FROM strings WHERE text = 'str')",
    "SELECT snapshot, count, size, origin FROM type_stats t JOIN strings s ON s.id = t.type "
    "WHERE s.text LIKE '%Twin' ORDER BY 1",
    "SELECT * FROM roots r JOIN root_kinds k ON k.kind = r.kind WHERE r.snapshot = 1 ORDER BY r.rowid",
    # docs/sqlite-schema.md's examples
    "SELECT s.text AS type, t.count, t.size FROM type_stats t JOIN strings s ON s.id = t.type "
    "WHERE t.snapshot = 1 ORDER BY t.count DESC, s.text LIMIT 10",
    "SELECT a.count AS before, b.count AS after FROM type_stats a "
    "JOIN type_stats b ON b.type = a.type AND b.snapshot = 2 "
    "WHERE a.snapshot = 1 AND a.type = (SELECT id FROM strings WHERE text = '__main__.Widget')",
    "SELECT o.type, e.label FROM objects_v x JOIN edges_v e ON e.dst = x.id JOIN objects_v o ON o.id = e.src "
    "WHERE x.snapshot = 2 AND x.address = (SELECT address FROM objects_v WHERE type = '__main__.Bus' "
    "AND snapshot = 2) ORDER BY 1, 2",
    # the README's question
    "SELECT p.type, e.label FROM edges_v e JOIN objects_v p ON p.id = e.src "
    "WHERE e.dst = (SELECT src FROM edges e JOIN objects_v m ON m.id = e.dst "
    "WHERE m.snapshot = 2 AND m.type = 'method' GROUP BY src ORDER BY count(*) DESC LIMIT 1)",
]


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_same_rows_as_a_loaded_database(query, snaps, both_db, pyheapdiff_bin):
    on_db = cli_ok(pyheapdiff_bin, "sql", both_db, query)
    on_snap = cli_ok(pyheapdiff_bin, "sql", *snaps, query)
    assert on_snap.stdout == on_db.stdout
    assert on_snap.stdout.count("\n") >= 1


def test_same_rows_as_json(snaps, both_db, pyheapdiff_bin):
    q = "SELECT * FROM objects_v WHERE snapshot = 1 ORDER BY id"
    assert cli_json(pyheapdiff_bin, "sql", *snaps, q) == cli_json(pyheapdiff_bin, "sql", both_db, q)


def test_the_snapshot_tables_are_the_database_tables(snaps, both_db, pyheapdiff_bin):
    """Same table and view names, same columns and declared types."""
    q = ("SELECT m.name, m.type, p.cid, p.name, p.type FROM sqlite_master m, pragma_table_info(m.name) p "
         "WHERE m.name NOT LIKE 'sqlite%' ORDER BY m.name, p.cid")
    db = [r.split()[:2] + r.split()[2:] for r in cli_ok(pyheapdiff_bin, "sql", both_db, q).stdout.splitlines()]
    sn = [r.split()[:2] + r.split()[2:] for r in cli_ok(pyheapdiff_bin, "sql", *snaps, q).stdout.splitlines()]
    # a virtual table reports type 'table'; the indexes have no columns here
    assert [(r[0], r[2:]) for r in sn] == [(r[0], r[2:]) for r in db]


def test_numbering_like_a_fresh_load(snaps, pyheapdiff_bin, tmp_path):
    """The first file is snapshot 1; a file given twice is one snapshot, as
    load numbers them; b alone is snapshot 1."""
    q = "SELECT id, path, objects FROM snapshots ORDER BY id"
    a, b = snaps
    cli_ok(pyheapdiff_bin, "load", b, a, b, "-o", tmp_path / "x.db")
    assert cli_ok(pyheapdiff_bin, "sql", b, a, b, q).stdout == cli_ok(pyheapdiff_bin, "sql", tmp_path / "x.db",
                                                                      q).stdout
    out = cli_json(pyheapdiff_bin, "sql", b, "SELECT min(id) >> 32 AS s, count(*) AS n FROM objects")
    assert out[0]["s"] == 1 and out[0]["n"] > 0


def test_a_new_database_has_whole_indexes(both_db):
    """load builds a new database's edges_dst and objects_address in index
    order (store.c, build_sql): SQLite must see them as the indexes CREATE
    INDEX would make, with every row, and use them."""
    con = sqlite3.connect(both_db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                          "ORDER BY rowid")] == ["edges_dst", "objects_address", "roots_snapshot"]
        assert not con.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'phd_%'").fetchone()[0]
        n = con.execute("SELECT count(*) FROM edges").fetchone()[0]
        assert con.execute("SELECT count(*) FROM edges INDEXED BY edges_dst WHERE dst >= 0").fetchone()[0] == n
        n = con.execute("SELECT count(*) FROM objects").fetchone()[0]
        assert con.execute("SELECT count(*) FROM objects INDEXED BY objects_address "
                           "WHERE snapshot >= 0").fetchone()[0] == n
        plan = con.execute("EXPLAIN QUERY PLAN SELECT * FROM edges WHERE dst = 5").fetchall()
        assert "edges_dst" in str(plan)
    finally:
        con.close()


def test_load_into_an_existing_database_gives_the_same_rows(snaps, both_db, pyheapdiff_bin, tmp_path):
    """Loading b into a database holding a (strings numbered by the database)
    writes what loading both at once does."""
    db = tmp_path / "two.db"
    cli_ok(pyheapdiff_bin, "load", snaps[0], "-o", db)
    cli_ok(pyheapdiff_bin, "load", snaps[1], "-o", db)
    x, y = sqlite3.connect(db), sqlite3.connect(both_db)
    try:
        for t in ("strings", "types", "objects", "edges", "roots", "type_stats", "address_index"):
            assert list(x.execute(f"SELECT * FROM {t}")) == list(y.execute(f"SELECT * FROM {t}")), t
        q = f"SELECT {SNAPSHOT_COLUMNS} FROM snapshots"
        assert list(x.execute(q)) == list(y.execute(q))
        q = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
        assert list(x.execute(q)) == list(y.execute(q))
        assert x.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        x.close()
        y.close()


@pytest.mark.parametrize("query, plan", [
    ("SELECT * FROM objects WHERE id = 4294967300", "INDEX 2:"),
    ("SELECT * FROM objects WHERE snapshot = 2", "INDEX 1:"),
    ("SELECT * FROM objects WHERE id BETWEEN 1 AND 9", "INDEX 20:"),
    ("SELECT * FROM objects WHERE type = 7 AND snapshot = 1", "INDEX 65:"),
    ("SELECT * FROM objects WHERE address = 7", "INDEX 256:"),
    ("SELECT * FROM edges WHERE src = 4294967300", "INDEX 2:"),
    ("SELECT * FROM edges WHERE dst = 4294967300", "INDEX 128:"),
    ("SELECT * FROM strings WHERE text = 'str'", "INDEX 512:"),
    ("SELECT * FROM objects_v WHERE type = 'str'", "SCAN o VIRTUAL TABLE INDEX 64:"),
    ("SELECT * FROM edges_v WHERE src = 4294967300", "SCAN ko VIRTUAL TABLE INDEX 2:"),
    ("SELECT * FROM objects WHERE rowid = 4294967300", "INDEX 2:"),
])
def test_constraints_are_used(query, plan, snaps, pyheapdiff_bin):
    """xBestIndex turns ids, sources, targets, types, addresses and texts
    into lookups (the plan names the access path as INDEX bits)."""
    out = cli_ok(pyheapdiff_bin, "sql", *snaps, "EXPLAIN QUERY PLAN " + query).stdout
    assert plan in out, out
    assert "INDEX 0:" not in out.split("SCAN ", 1)[1].split("\n")[0], out


REFUSED = [
    "INSERT INTO objects SELECT * FROM objects",
    "DELETE FROM edges",
    "UPDATE strings SET text = 'x'",
    "INSERT INTO label_kinds VALUES (9, 'x')",
    "DROP TABLE objects",
    "DROP VIEW objects_v",
    "CREATE TABLE t(x)",
    "CREATE TEMP TABLE t(x)",
    "ATTACH '{tmp}/x.db' AS x",
    "VACUUM INTO '{tmp}/x.db'",
    "VACUUM",
    "SELECT load_extension('{tmp}/x')",
    "SELECT 1; SELECT 2",
    "SELECT * FROM no_such_table",
]


@pytest.mark.parametrize("query", REFUSED, ids=range(len(REFUSED)))
def test_read_only(query, snaps, pyheapdiff_bin, tmp_path):
    before = [p.stat().st_mtime_ns for p in snaps]
    p = cli(pyheapdiff_bin, "sql", *snaps, query.format(tmp=tmp_path))
    assert_usage_error(p, snaps[0])
    assert os.listdir(tmp_path) == []
    assert [p.stat().st_mtime_ns for p in snaps] == before


@pytest.mark.parametrize("query", ["PRAGMA query_only = 0", "PRAGMA writable_schema = 1", "PRAGMA journal_mode"])
def test_pragmas_as_on_a_database(query, snaps, both_db, pyheapdiff_bin, tmp_path):
    """A pragma that sets a flag of the connection, or only reads a setting,
    is treated as on a database (cmd_sql.c decides) and changes no file."""
    before = [p.stat().st_mtime_ns for p in snaps]
    on_db = cli(pyheapdiff_bin, "sql", both_db, query)
    on_snap = cli(pyheapdiff_bin, "sql", *snaps, query)
    assert on_snap.returncode == on_db.returncode
    assert [p.stat().st_mtime_ns for p in snaps] == before
    assert os.listdir(tmp_path) == []


def test_bad_input(snaps, pyheapdiff_bin, tmp_path, both_db):
    a, b = snaps
    data = bytearray(b.read_bytes())
    data[len(data) // 2] ^= 0x5A
    damaged = tmp_path / "damaged.snap"
    damaged.write_bytes(bytes(data))
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    cases = [
        ([a, damaged], [damaged]),
        ([damaged, a], [damaged]),
        ([a, tmp_path / "missing.snap"], ["missing.snap"]),
        ([tmp_path / "missing.snap", a], ["missing.snap"]),
        ([a, text], [text, "not a pyheapdiff snapshot"]),
        ([a, both_db], [both_db, "not a pyheapdiff snapshot"]),
        ([a, tmp_path], [tmp_path]),
    ]
    for files, needles in cases:
        p = cli(pyheapdiff_bin, "sql", *files, "SELECT count(*) FROM objects")
        assert_usage_error(p, *needles)
    # a query is needed; a database takes no other file
    assert_usage_error(cli(pyheapdiff_bin, "sql", a), "sql")
    assert_usage_error(cli(pyheapdiff_bin, "sql", both_db, a, "SELECT 1"), "sql")
    assert sorted(os.listdir(tmp_path)) == ["damaged.snap", "notes.txt"]
