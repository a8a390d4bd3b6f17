"""Every command that reads a snapshot, on structurally damaged snapshots.

test_cli_info.py cuts and flips bytes for ``info`` alone, and
test_graph_cli.py / test_analyzer.py give the other commands a bad
checksum or a truncated file.  This adds what neither covers, for every
command: a cut at every chunk boundary, and damage *behind* a valid
checksum (the CRC recomputed), so that the checks inside the chunks are
what rejects the file - counts that disagree with the content, an edge
target out of range, a string running past its chunk, an overflowing
varint, gigantic declared sizes.  Each must end with exit 2, one line on
stderr naming the file and what is wrong, nothing on stdout, and no output
file (-o, a new database) left behind.
"""

import pathlib
import struct

import pytest

import snapreader
from conftest import assert_usage_error, cli, dump_in_subprocess

FOOTER = snapreader.FOOTER_SIZE


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("badinput")
    run = dump_in_subprocess("""
        class Widget:
            def __init__(self, i):
                self.name = "w%d" % i
        widgets = [Widget(i) for i in range(50)]
        T.dump(objects=False)
    """, d, "good")
    return run.path


def chunks(data):
    """(offset, kind, payload length) of every chunk, the footer last."""
    off, out = struct.unpack_from("<H", data, 10)[0], []
    while off < len(data):
        kind, _flags, length = struct.unpack_from("<IIQ", data, off)
        out.append((off, kind, length))
        off += 16 + length
    assert off == len(data) and out[-1][1] == snapreader.CHUNK_FOOTER
    return out


def first_chunk(data, kind):
    return next((off, length) for off, k, length in chunks(data) if k == kind)


def varint(data, pos):
    """(value, position after it)"""
    v = shift = 0
    while True:
        b = data[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, pos


def fix_crc(data):
    data = bytearray(data)
    n = len(data)
    struct.pack_into("<I", data, n - FOOTER + 16 + 36, snapreader.crc32c(bytes(data[: n - FOOTER])))
    return bytes(data)


def set_footer(data, offset, fmt, value):
    """Footer payload field at offset (docs/format.md, "Footer") set to value."""
    data = bytearray(data)
    struct.pack_into(fmt, data, len(data) - FOOTER + 16 + offset, value)
    return fix_crc(data)


def edge_target_before_node_0(data):
    """The first edge of node 0 points 14 nodes back: before node 0."""
    off, _ = first_chunk(data, snapreader.CHUNK_NODES)
    pos = off + 16
    head, pos = varint(data, pos)
    _addr, pos = varint(data, pos)
    if head & 4:  # SIZE
        _size, pos = varint(data, pos)
    _refcnt, pos = varint(data, pos)
    if head & 2:  # PREVIEW
        pv, pos = varint(data, pos)
        if not pv & 1:
            pos += pv >> 1
    nedges, pos = varint(data, pos)
    assert nedges > 0 and data[pos] < 0x80, "node 0 has no one-byte first edge"
    data = bytearray(data)
    data[pos] = 15 << 3  # tcode 15, kind NONE: target discovered - 14
    return fix_crc(data)


def string_past_chunk(data):
    """The last string of the first STRINGS chunk one byte longer than what is left."""
    off, length = first_chunk(data, snapreader.CHUNK_STRINGS)
    pos, end = off + 16, off + 16 + length
    while True:
        n, after = varint(data, pos)
        if after + n == end:
            break
        pos = after + n
    assert after - pos == 1 and n + 1 < 0x80, "the last string's length is not one byte"
    data = bytearray(data)
    data[pos] = n + 1
    return fix_crc(data)


def overflowing_varint(data):
    off, length = first_chunk(data, snapreader.CHUNK_NODES)
    assert length >= 11
    data = bytearray(data)
    data[off + 16: off + 27] = b"\xff" * 11
    return fix_crc(data)


def huge_chunk_length(data):
    off, _ = first_chunk(data, snapreader.CHUNK_NODES)
    data = bytearray(data)
    struct.pack_into("<Q", data, off + 8, 1 << 62)
    return fix_crc(data)


def flipped(data):
    off, length = first_chunk(data, snapreader.CHUNK_NODES)
    data = bytearray(data)
    data[off + 16 + length // 2] ^= 0x5A
    return bytes(data)


# name -> (damage, what the message must say)
STRUCTURAL = {
    "count_nodes": (lambda d: set_footer(d, 0, "<Q", struct.unpack_from("<Q", d, len(d) - 48)[0] + 1),
                    "nodes, found"),
    "count_edges": (lambda d: set_footer(d, 8, "<Q", struct.unpack_from("<Q", d, len(d) - 40)[0] - 1),
                    "more than the footer allows"),
    "count_strings": (lambda d: set_footer(d, 24, "<I", struct.unpack_from("<I", d, len(d) - 24)[0] + 1),
                      "strings, found"),
    "count_types": (lambda d: set_footer(d, 28, "<I", struct.unpack_from("<I", d, len(d) - 20)[0] + 1),
                    "types, found"),
    "count_roots": (lambda d: set_footer(d, 32, "<I", struct.unpack_from("<I", d, len(d) - 16)[0] + 1),
                    "roots, found"),
    "total_size": (lambda d: set_footer(d, 16, "<Q", struct.unpack_from("<Q", d, len(d) - 32)[0] + 1),
                   "sizes add up to"),
    "edge_target": (edge_target_before_node_0, "before node 0"),
    "string_length": (string_past_chunk, "runs past its chunk"),
    "varint": (overflowing_varint, "varint"),
    "checksum": (flipped, "checksum mismatch"),
    "huge_chunk": (huge_chunk_length, "past the end of the data"),
    "huge_nodes": (lambda d: set_footer(d, 0, "<Q", 1 << 28), "too large"),
    "huge_edges": (lambda d: set_footer(d, 8, "<Q", 1 << 40), "too large"),
    "huge_strings": (lambda d: set_footer(d, 24, "<I", 0xFFFFFFFF), "too large"),
}


@pytest.fixture(scope="module")
def damaged(good, tmp_path_factory):
    """name -> (path, needle) for every damaged copy of the good snapshot."""
    d = tmp_path_factory.mktemp("damaged")
    data = good.read_bytes()
    cases = {}
    for name, (damage, needle) in STRUCTURAL.items():
        cases[name] = (damage(data), needle)
    for off, kind, _ in chunks(data):
        # before the chunk, in its header, right after its header
        for cut in (off, off + 8, off + 16):
            cases[f"cut_{cut}_kind_{kind:x}"] = (data[:cut], "truncated")
    files = {}
    for name, (content, needle) in cases.items():
        p = d / f"bad-{name}.snap"
        p.write_bytes(content)
        files[name] = (p, needle)
    return files


# Every command that reads snapshots; {bad} is the damaged file, {good} the
# intact one, {out} an output path that must not appear.
COMMANDS = {
    "info": ["info", "{bad}"],
    "info_json": ["info", "--json", "{bad}"],
    "top": ["top", "{bad}"],
    "diff_after": ["diff", "{good}", "{bad}"],
    "diff_before": ["diff", "{bad}", "{good}"],
    "plain_diff": ["{good}", "{bad}"],
    "load": ["load", "{bad}", "-o", "{out}"],
    "load_second": ["load", "{good}", "{bad}", "-o", "{out}"],
    "paths": ["paths", "--type", "Widget", "{bad}"],
    "cycles": ["cycles", "{bad}"],
    "dominators": ["dominators", "{bad}"],
    "leaks": ["leaks", "{good}", "{good}", "{bad}"],
    "orphans": ["orphans", "{bad}"],
    "graph": ["graph", "--type", "Widget", "{bad}", "-o", "{out}"],
}


def check_rejected(exe, command, bad, needle, good, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / ("heap.db" if command[0] == "load" else "graph.svg")
    args = [a.format(bad=bad, good=good, out=out) for a in command]
    p = cli(exe, *args, cwd=out_dir)
    line = assert_usage_error(p, bad.name)
    assert needle in line, (needle, line)
    assert not any(out_dir.iterdir()), f"{command[0]} left {[f.name for f in out_dir.iterdir()]}"


@pytest.mark.parametrize("case", list(STRUCTURAL))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_structural_damage(pyheapdiff_bin, damaged, good, tmp_path, command, case):
    bad, needle = damaged[case]
    check_rejected(pyheapdiff_bin, COMMANDS[command], bad, needle, good, tmp_path)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_cut_at_every_chunk_boundary(pyheapdiff_bin, damaged, good, tmp_path, command):
    cuts = [name for name in damaged if name.startswith("cut_")]
    assert len(cuts) >= 3 * 5, cuts  # header-to-footer: four sections and the footer at least
    for name in cuts:
        bad, needle = damaged[name]
        check_rejected(pyheapdiff_bin, COMMANDS[command], bad, needle, good, tmp_path)


@pytest.mark.slow
def test_independent_reader_rejects_them_too(damaged):
    """snapreader, written from docs/format.md alone, rejects every case as
    well: the damage is damage by the specification, not a quirk of the C
    reader."""
    for name, (path, _needle) in damaged.items():
        with pytest.raises(snapreader.SnapshotError):
            snapreader.read(path)


DUP_ADDRESS = pathlib.Path(__file__).parent.parent / "fuzz" / "regressions" / "dup-address.bin"


@pytest.mark.parametrize("command", ["info", "paths", "graph-id", "graph"])
def test_two_nodes_at_one_address(pyheapdiff_bin, tmp_path, command):
    """Issue 15: a crafted snapshot with two nodes at one address made
    ``graph --id`` overflow its array of chosen objects (glibc abort).  Such
    a snapshot is corrupt: every command rejects it at read time, exit 2,
    one line naming the file, nothing written."""
    bad = tmp_path / "dup.snap"
    bad.write_bytes(DUP_ADDRESS.read_bytes())
    args = {
        "info": ["info", "{bad}"],
        "paths": ["paths", "--id", "0x1010", "{bad}"],
        "graph-id": ["graph", "--id", "0x1010", "--id", "0x1010", "{bad}", "-o", "{out}"],
        "graph": COMMANDS["graph"],
    }[command]
    check_rejected(pyheapdiff_bin, args, bad, "have the same address 0x1010", bad, tmp_path)
    with pytest.raises(snapreader.SnapshotError, match="same address"):
        snapreader.read(bad)
