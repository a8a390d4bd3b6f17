"""Tests of ``pyheapdiff info`` against a real snapshot and damaged copies.

The expected counts come from the independent Python reader (snapreader),
not from the C reader the CLI uses.
"""

import collections
import json
import re
import struct
import subprocess

import pytest

import snapreader
from conftest import assert_usage_error, cli, dump_in_subprocess


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    run = dump_in_subprocess("""
        class Leaky:
            def __init__(self, i):
                self.i = i
        leak = [Leaky(i) for i in range(321)]
        T.dump(objects=False)
    """, d, "real")
    return run


def info(exe, *args, cwd=None):
    p = subprocess.run([exe, "info", *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd)
    assert p.returncode >= 0, f"killed by signal {-p.returncode}"
    return p


def type_table(snap):
    """type name -> (count, size), aggregated by type id like the CLI."""
    rows = collections.defaultdict(lambda: [0, 0])
    for n in snap.nodes:
        r = rows[n.type_id]
        r[0] += 1
        r[1] += n.size
    return {snap.types[t].name: tuple(v) for t, v in rows.items()}


def test_info_text(pyheapdiff_bin, snapshot):
    snap = snapshot.snap
    p = info(pyheapdiff_bin, snapshot.path)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    out = p.stdout
    assert out.splitlines()[0] == str(snapshot.path)

    def field(name):
        m = re.search(rf"^  {name}\s+(.*)$", out, re.M)
        assert m, f"no {name!r} line in:\n{out}"
        return m.group(1)

    def num(s):
        return int(s.replace(",", ""))

    assert field("format") == f"version {snap.version}"
    assert field("python").startswith("%d.%d.%d, %d-bit" % (*snap.python, snap.pointer_size * 8))
    assert field("process").startswith(f"pid {snap.pid}, started ")
    assert "after gc.collect()" in field("taken")
    m = re.fullmatch(r"([\d,]+) \(([\d,]+) GC-tracked\)", field("objects"))
    assert m, field("objects")
    assert num(m.group(1)) == len(snap.nodes)
    assert num(m.group(2)) == sum(n.gc_tracked for n in snap.nodes)
    assert num(field("references")) == snap.n_edges
    assert num(field("types")) == len(snap.types)
    assert num(field("roots")) == len(snap.roots)

    # the type table: sorted by count, counts as the reader finds them
    table = out.split("most common types", 1)[1].splitlines()[1:]
    rows = [re.match(r"^  (\S.*?)\s+([\d,]+)\s+\S+ \S+\s+\S+ \S+$", line) for line in table if line.strip()]
    assert rows and all(rows), table
    expected = type_table(snap)
    counts = [num(r.group(2)) for r in rows]
    assert counts == sorted(counts, reverse=True)
    assert len(rows) == min(10, len(expected))
    for r in rows:
        assert expected[r.group(1)][0] == num(r.group(2))
    assert counts[0] == max(c for c, _ in expected.values())


def test_info_json(pyheapdiff_bin, snapshot):
    snap = snapshot.snap
    p = info(pyheapdiff_bin, "--json", snapshot.path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["file"] == str(snapshot.path)
    assert doc["format_version"] == snap.version
    assert doc["python"] == "%d.%d.%d" % snap.python
    assert doc["pointer_size"] == snap.pointer_size
    assert doc["pid"] == snap.pid == snapshot.truth.pid
    assert doc["process_start_ns"] == snap.start_time_ns
    assert doc["timestamp_ns"] == snap.timestamp_ns
    assert doc["flags"] == {"values": snap.values, "collected": snap.collected}
    assert doc["objects"] == len(snap.nodes) == snapshot.truth.result["objects"]
    assert doc["gc_tracked"] == sum(n.gc_tracked for n in snap.nodes)
    assert doc["references"] == snap.n_edges == snapshot.truth.result["edges"]
    assert doc["types"] == len(snap.types)
    assert doc["roots"] == len(snap.roots)
    assert doc["total_size"] == snap.total_size == sum(n.size for n in snap.nodes)
    assert doc["file_size"] == snap.file_size == snapshot.truth.result["bytes"]

    expected = type_table(snap)
    top = doc["top_types"]
    assert len(top) == min(10, len(expected))
    keys = [(t["count"], t["size"]) for t in top]
    assert keys == sorted(keys, reverse=True), "top types not sorted by count (then size)"
    for t in top:
        assert expected[t["type"]] == (t["count"], t["size"]), t
    # nothing left out ranks above the last one shown
    shown = {t["type"] for t in top}
    assert all((c, s) <= keys[-1] for name, (c, s) in expected.items() if name not in shown)
    assert expected["__main__.Leaky"][0] == 321


def test_info_json_top(pyheapdiff_bin, snapshot):
    p = info(pyheapdiff_bin, "--json", "--top", "3", snapshot.path)
    assert p.returncode == 0
    assert len(json.loads(p.stdout)["top_types"]) == 3
    p = info(pyheapdiff_bin, "--top", "0", snapshot.path)
    assert p.returncode == 0
    assert "most common types" not in p.stdout
    n = len(snapshot.snap.types)
    p = info(pyheapdiff_bin, "--json", "--top", str(n + 50), snapshot.path)
    assert len(json.loads(p.stdout)["top_types"]) == n


def test_info_help(pyheapdiff_bin):
    p = info(pyheapdiff_bin, "--help")
    assert p.returncode == 0
    assert "usage" in p.stdout.lower() and "--json" in p.stdout
    p = subprocess.run([pyheapdiff_bin, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "info" in p.stdout


@pytest.mark.parametrize("args", [["--bogus"], ["-x"], ["--jsn"]])
def test_info_unknown_option(pyheapdiff_bin, snapshot, args):
    p = info(pyheapdiff_bin, *args, snapshot.path)
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1
    assert args[0] in lines[0]
    assert "--help" in lines[0]  # the hint


@pytest.mark.parametrize("value", ["-1", "abc", "99999999999999999999999"])
def test_info_bad_top_value(pyheapdiff_bin, snapshot, value):
    p = info(pyheapdiff_bin, "--top", value, snapshot.path)
    assert len(p.stderr.splitlines()) == 1 and value in p.stderr
    assert p.returncode == 2, "the error was reported but the command went on"
    assert p.stdout == ""


def test_info_usage_errors(pyheapdiff_bin, snapshot):
    for args in ([], [snapshot.path, snapshot.path], ["--top"]):
        p = info(pyheapdiff_bin, *args)
        assert p.returncode == 2, args
        assert p.stdout == ""
        assert len(p.stderr.splitlines()) == 1


# ---------------------------------------------------------------------------
# Bad input: exit 2, one line on stderr naming the file, nothing on stdout

def _damaged(data):
    n = len(data)
    # find a point in the middle of the NODES chunk payload
    hdr = struct.unpack_from("<H", data, 10)[0]
    kind, _flags, length = struct.unpack_from("<IIQ", data, hdr)
    mid_chunk = hdr + 16 + length // 2
    newer = bytearray(data)  # one past the version this build writes and reads
    newer[8:10] = struct.pack("<H", struct.unpack_from("<H", data, 8)[0] + 1)
    magic = bytearray(data)
    magic[0:8] = b"PYHDSNAQ"
    flipped = bytearray(data)
    flipped[n // 2] ^= 0x5A
    footer_count = bytearray(data)
    footer_count[n - 48] ^= 0x01  # the node count in the footer
    end_magic = bytearray(data)
    end_magic[n - 1] ^= 0xFF
    cases = {
        "empty": b"",
        "magic": bytes(magic),
        "newer_version": bytes(newer),
        "flipped_byte": bytes(flipped),
        "footer_count": bytes(footer_count),
        "end_magic": bytes(end_magic),
        "text_file": b"hello, I am not a snapshot\n" * 10,
    }
    cuts = {"truncated_at_4": 4, "truncated_at_8": 8, "truncated_at_40": 40, "truncated_at_63": 63,
            "truncated_at_64": 64, "truncated_at_70": 70, "truncated_at_80": 80,
            "truncated_first_record": hdr + 16 + 1, "truncated_mid_chunk": mid_chunk,
            "truncated_half": n // 2, "truncated_before_footer": n - 64,
            "truncated_footer_start": n - 63, "truncated_in_footer": n - 20,
            "truncated_last_byte": n - 1}
    for name, cut in cuts.items():
        cases[name] = data[:cut]
    assert kind == snapreader.CHUNK_NODES
    return cases


@pytest.fixture(scope="module")
def damaged_files(snapshot, tmp_path_factory):
    d = tmp_path_factory.mktemp("damaged")
    with open(snapshot.path, "rb") as f:
        data = f.read()
    files = {}
    for name, content in _damaged(data).items():
        p = d / f"bad-{name}.snap"
        p.write_bytes(content)
        files[name] = p
    files["missing"] = d / "no-such-file.snap"
    return files


DAMAGE_CASES = ["missing", "empty", "magic", "newer_version", "flipped_byte", "footer_count",
                "end_magic", "text_file", "truncated_at_4", "truncated_at_8", "truncated_at_40",
                "truncated_at_63", "truncated_at_64", "truncated_at_70", "truncated_at_80",
                "truncated_first_record", "truncated_mid_chunk", "truncated_half",
                "truncated_before_footer", "truncated_footer_start", "truncated_in_footer",
                "truncated_last_byte"]


@pytest.mark.parametrize("json_flag", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("case", DAMAGE_CASES)
def test_info_rejects_bad_input(pyheapdiff_bin, damaged_files, case, json_flag):
    path = damaged_files[case]
    args = (["--json"] if json_flag else []) + [path]
    p = info(pyheapdiff_bin, *args)
    assert p.returncode == 2, (p.returncode, p.stdout[:300], p.stderr)
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert str(path) in lines[0] or path.name in lines[0]
    # the independent reader rejects it as well
    if case != "missing":
        with pytest.raises(snapreader.SnapshotError):
            snapreader.read(path)


def test_info_relative_path_named_in_error(pyheapdiff_bin, damaged_files):
    path = damaged_files["flipped_byte"]
    p = info(pyheapdiff_bin, path.name, cwd=path.parent)
    assert p.returncode == 2
    assert path.name in p.stderr and len(p.stderr.splitlines()) == 1


@pytest.mark.parametrize("word, command", [
    ("backrefs", "paths"), ("show_growth", "diff"), ("show_most_common_types", "top"),
    ("get_leaking_objects", "orphans"), ("find_backref_chain", "paths"), ("show_refs", "graph"),
    ("dominator", "dominators"), ("reprot", "report"), ("lead", "load"),
])
def test_unknown_commands_suggest_the_nearest(pyheapdiff_bin, word, command):
    """objgraph's and heapy's words, and typos, name the command that does it."""
    for args in ([word], ["help", word]):
        assert_usage_error(cli(pyheapdiff_bin, *args), f"unknown command '{word}'; did you mean '{command}'?")


def test_unknown_commands_far_from_any_get_no_suggestion(pyheapdiff_bin):
    line = assert_usage_error(cli(pyheapdiff_bin, "xyzzy"), "unknown command 'xyzzy'")
    assert "did you mean" not in line
