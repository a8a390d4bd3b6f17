"""pyheapdiff graph: reference graphs rendered with Graphviz.

Each test dumps a small program with a known structure in a fresh
interpreter and checks the picture's content: the DOT text (from -o -) and
the SVG (valid XML, the expected labels), folding of many referrers, the
highlighted and chosen objects, PNG output, determinism and errors.
"""
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import dump_in_subprocess

LEAK = """
class Widget:
    def __init__(self, i):
        self.name = f"w{i}"
    def on_event(self, e):
        return e

class EventBus:
    def __init__(self):
        self.handlers = []

bus = EventBus()
widgets = []
for i in range(25):
    w = Widget(i)
    bus.handlers.append(w.on_event)
shared = Widget(999)
holders = [[shared] for _ in range(30)]
pyheapdiff.dump(SNAP)
"""


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    d = tmp_path_factory.mktemp("render")
    return dump_in_subprocess(LEAK, d, "leak").path


def run(pyheapdiff_bin, *args):
    return subprocess.run([str(pyheapdiff_bin), "graph", *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def test_backrefs_dot_has_the_path_labels(pyheapdiff_bin, snap):
    p = run(pyheapdiff_bin, "--type", "Widget", "--max-objects", "1", "--max-depth", "4", snap, "-o", "-")
    assert p.returncode == 0, p.stderr
    dot = p.stdout
    assert dot.startswith("digraph")
    assert "__main__.Widget" in dot and "method" in dot and "__main__.EventBus" in dot
    for label in ("__self__", "handlers", "['bus']"):
        assert label in dot, label
    # the chosen object is red, roots are boxes
    assert re.search(r'fillcolor="#f4a6a6"', dot)
    assert "shape=box" in dot


def test_svg_is_valid_xml_with_labels(pyheapdiff_bin, snap, tmp_path):
    out = tmp_path / "w.svg"
    p = run(pyheapdiff_bin, "--type", "Widget", "--path", snap, "-o", out)
    assert p.returncode == 0, p.stderr
    root = ET.parse(out).getroot()
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "__main__.Widget" in texts and ".handlers" in texts and "module __main__" in texts
    assert not list(tmp_path.glob("*.tmp-*"))


def test_too_many_referrers_fold(pyheapdiff_bin, snap):
    p = run(pyheapdiff_bin, "--id", hex(0), snap, "-o", "-")
    assert p.returncode == 2  # no object at 0
    # the shared widget has 30 list referrers: 10 drawn, 20 folded
    p = run(pyheapdiff_bin, "--type", "Widget", "--max-objects", "30", "--too-many", "10", "--max-depth", "1",
            "--filter-type", "list", "--filter-type", "Widget", snap, "-o", "-")
    assert p.returncode == 0, p.stderr
    assert "20 more referrers" in p.stdout


def test_refs_and_highlight(pyheapdiff_bin, snap):
    p = run(pyheapdiff_bin, "--type", "EventBus", "--refs", "--max-depth", "2", "--highlight", "method", snap,
            "-o", "-")
    assert p.returncode == 0, p.stderr
    assert "list 25 items" in p.stdout
    assert "#ffd966" in p.stdout  # a highlighted method
    assert "more references" in p.stdout  # 25 handlers > 10


def test_png_and_determinism(pyheapdiff_bin, snap, tmp_path):
    out = tmp_path / "w.png"
    assert run(pyheapdiff_bin, "--type", "Widget", snap, "-o", out).returncode == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    a = run(pyheapdiff_bin, "--type", "Widget", snap, "-o", "-").stdout
    b = run(pyheapdiff_bin, "--type", "Widget", snap, "-o", "-").stdout
    assert a == b


@pytest.mark.parametrize("args, phrase", [
    (["--type", "Widgt", "-o", "-"], "did you mean"),
    (["--type", "Widget", "-o", "x.bmp"], "unknown output type"),
    (["-o", "-"], "say which objects"),
    (["--type", "Widget", "--bogus", "-o", "-"], "unknown option"),
    (["--type", "Widget", "--max-depth", "x", "-o", "-"], "whole number"),
    (["--type", "Widget", "--path", "--refs", "-o", "-"], "do not go together"),
])
def test_errors(pyheapdiff_bin, snap, args, phrase):
    p = run(pyheapdiff_bin, *args, snap)
    assert p.returncode == 2
    assert phrase in p.stderr and p.stderr.count("\n") == 1
    assert p.stdout == ""
