"""Tests of ``pyheapdiff report``: the self-contained HTML page.

Part 1 reads the page with ``html.parser`` and checks it against truth
that does not come from the report code: the other commands' JSON on the
same snapshots (``diff``, ``paths``, ``dominators``), which
test_analyzer.py and test_graph_cli.py check against the dumping
process's own ground truth, and the fixture program's own count of its
leaked objects.

Part 2 loads the page in headless Chromium (Debian's ``chromium``, which
scripts/setup.sh installs) over the DevTools protocol (tests/python/_cdp.py,
standard library only): it reads the table as the browser renders it,
sorts it by clicking a header like a user and compares the order with
Python's own sort of the same rows, checks that nothing but the file is
loaded and nothing is logged, that a phone-sized viewport does not scroll
sideways and that the dark scheme changes the colours, and takes
screenshots.  A missing browser is a failure, not a skip, unless
PYHEAPDIFF_NO_BROWSER=1 is set.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPO, subprocess_env

FIXTURES = REPO / "fixtures"
DIFF_FIELDS = ["count_before", "count_after", "count_delta", "size_before", "size_after", "size_delta", "new",
               "freed"]


# ---------------------------------------------------------------------------
# helpers

def cli(exe, *args, cwd=None, timeout=120):
    p = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert p.returncode >= 0, f"killed by signal {-p.returncode}: {args}\n{p.stderr}"
    return p


def cli_json(exe, *args):
    p = cli(exe, *args, "--json")
    assert p.returncode == 0 and p.stderr == "", (args, p.returncode, p.stderr)
    return json.loads(p.stdout)


def make_report(exe, before, after, out, *args):
    p = cli(exe, "report", before, after, "-o", out, *args)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    assert p.stderr == f"pyheapdiff: wrote {out}\n"
    return Path(out).read_text(encoding="utf-8")


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag=None, cls=None, **attrs):
        for n in self.iter():
            if tag and n.tag != tag:
                continue
            if cls and cls not in n.attrs.get("class", "").split():
                continue
            if any(n.attrs.get(k.replace("_", "-")) != v for k, v in attrs.items()):
                continue
            yield n

    def find(self, tag=None, cls=None, **attrs):
        return next(self.find_all(tag, cls, **attrs), None)


class Tree(HTMLParser):
    """A strict DOM builder: every element must be closed, in order (void
    elements and <x/> excepted); anything else is an error."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [], None)
        self.cur = self.root
        self.errors = []
        self.decls = []

    def handle_decl(self, decl):
        self.decls.append(decl)

    def handle_pi(self, data):
        self.errors.append(f"processing instruction {data!r}")

    def handle_starttag(self, tag, attrs):
        names = [k for k, _ in attrs]
        if len(names) != len(set(names)):
            self.errors.append(f"duplicate attribute in <{tag}>")
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.cur.tag != tag:
            self.errors.append(f"</{tag}> closes <{self.cur.tag}>")
            return
        self.cur = self.cur.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(html):
    t = Tree()
    t.feed(html)
    t.close()
    assert t.errors == [], t.errors[:5]
    assert t.cur is t.root, f"unclosed <{t.cur.tag}>"
    assert [d.lower() for d in t.decls] == ["doctype html"]
    return t.root


def num(cell):
    v = cell.attrs["data-v"]
    return float(v) if "." in v else int(v)


def diff_table(doc):
    """[(type, [numbers...])] of the growth table's body, and the total."""
    table = doc.find("table", id="diff-table")
    assert table is not None
    rows = []
    for tr in table.find("tbody").find_all("tr"):
        cells = [c for c in tr.children if isinstance(c, Node)]
        rows.append((cells[0].text(), [num(c) for c in cells[1:]]))
    foot = [c for c in table.find("tfoot").find("tr").children if isinstance(c, Node)]
    return rows, (foot[0].text(), [num(c) for c in foot[1:]])


def json_row(r, matched):
    fields = DIFF_FIELDS if matched else DIFF_FIELDS[:6]
    return (r["type"], [r[f] for f in fields])


# ---------------------------------------------------------------------------
# fixtures: the two leaky programs, dumped once per module

def run_fixture(argv, cwd):
    p = subprocess.run([sys.executable, "-S", *map(str, argv)], capture_output=True, text=True, timeout=120,
                       cwd=str(cwd), env=subprocess_env())
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture(scope="module")
def leaky(tmp_path_factory, pyheapdiff_bin):
    d = tmp_path_factory.mktemp("leaky")
    out = run_fixture([FIXTURES / "leaky_cache.py", "--dump-dir", d, "--requests", 120], d)
    counts = json.loads(out.splitlines()[-1])
    html = make_report(pyheapdiff_bin, d / "before.snap", d / "after.snap", d / "report.html")
    return {"dir": d, "before": d / "before.snap", "after": d / "after.snap", "counts": counts,
            "path": d / "report.html", "html": html, "doc": parse(html)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory, pyheapdiff_bin):
    d = tmp_path_factory.mktemp("demo")
    run_fixture([FIXTURES / "demo_leak.py", d, 300], d)
    html = make_report(pyheapdiff_bin, d / "before.snap", d / "after.snap", d / "report.html")
    return {"dir": d, "before": d / "before.snap", "after": d / "after.snap", "path": d / "report.html",
            "html": html, "doc": parse(html)}


# ---------------------------------------------------------------------------
# 1. content

@pytest.mark.parametrize("top", [None, "3", "0"])
def test_growth_table_is_the_diff(pyheapdiff_bin, leaky, tmp_path, top):
    args = ["--top", top] if top else []
    if top:
        doc = parse(make_report(pyheapdiff_bin, leaky["before"], leaky["after"], tmp_path / "r.html", *args))
    else:
        doc = leaky["doc"]
    truth = cli_json(pyheapdiff_bin, "diff", leaky["before"], leaky["after"], *args)
    assert truth["matched"] is True
    rows, total = diff_table(doc)
    assert rows == [json_row(r, True) for r in truth["rows"]]
    assert total == json_row(truth["total"], True)
    more = doc.find("section", id="growth").find("p", cls="more")
    if truth["omitted"]:
        assert more is not None and more.text().startswith(f"{truth['omitted']} more changed type")
    else:
        assert more is None


def test_the_leak_is_the_top_row(leaky):
    rows, _ = diff_table(leaky["doc"])
    c = leaky["counts"]
    growth = c["after"] - c["before"]
    assert rows[0][0] == "__main__.CacheEntry"
    count_before, count_after, count_delta = rows[0][1][:3]
    assert (count_before, count_after, count_delta) == (c["before"], c["after"], growth)
    assert growth == 120 * c["entries_per_request"]
    new, freed = rows[0][1][6:8]
    assert (new, freed) == (growth, 0)


def test_summary_cards(pyheapdiff_bin, leaky):
    truth = cli_json(pyheapdiff_bin, "diff", leaky["before"], leaky["after"])
    cards = {c.find("div", cls="k").text(): c.find("div", cls="v") for c in leaky["doc"].find_all("div", cls="card")}
    assert int(cards["Objects after"].attrs["data-v"]) == truth["after"]["objects"]
    heap = cards["Heap after"]
    assert int(heap.attrs["data-v"]) == truth["after"]["total_size"]
    assert heap.attrs["title"] == f"{truth['after']['total_size']:,} bytes"
    assert cards["Largest growth"].attrs["title"] == "__main__.CacheEntry"
    detail = cards["Objects after"].parent.find("div", cls="d").text()
    delta = truth["after"]["objects"] - truth["before"]["objects"]
    assert detail == f"{delta:+,} since before ({truth['before']['objects']:,})"


def test_sizes_are_human_with_exact_bytes_in_titles(leaky):
    table = leaky["doc"].find("table", id="diff-table")
    seen = 0
    for tr in table.find("tbody").find_all("tr"):
        cells = [c for c in tr.children if isinstance(c, Node)]
        for c in (cells[4], cells[5]):  # size before, size after
            v = num(c)
            assert c.attrs["title"] == f"{v:,} bytes"
            assert re.fullmatch(r"\d+(\.\d+)? (B|KiB|MiB|GiB)", c.text()), c.text()
            seen += 1
    assert seen >= 2


def why_articles(doc):
    out = {}
    for art in doc.find("section", id="why").find_all("article", cls="why"):
        h3 = art.find("h3")
        name = "".join(c if isinstance(c, str) else c.text() for c in h3.children
                       if isinstance(c, str) or "count" not in c.attrs.get("class", ""))
        paths = [(int(li.find("span", cls="times").text().rstrip(" ×").replace(",", "")),
                  li.find("code", cls="path").text()) for li in art.find_all("li")]
        out[name.strip()] = paths
    return out


def test_why_they_are_alive_is_the_leaks_ranking(pyheapdiff_bin, leaky, demo):
    """The section is `leaks BEFORE AFTER`: the same types in the same
    order, the leak first, with the paths of the new objects only."""
    for case, leak in ((leaky, "__main__.CacheEntry"), (demo, "__main__.Widget")):
        why = why_articles(case["doc"])
        assert list(why)[0] == leak, list(why)
        truth = cli_json(pyheapdiff_bin, "leaks", "--top", "5", case["before"], case["after"])
        assert list(why) == [t["type"] for t in truth["types"]]
        for t in truth["types"]:
            assert why[t["type"]] == [(g["count"], g["path"]) for g in t["paths"]], t["type"]
        art = next(a for a in case["doc"].find("section", id="why").find_all("article", cls="why")
                   if leak in a.find("h3").text())
        top = truth["types"][0]
        assert art.find("span", cls="count").text().startswith(f"{top['count']:,} new object")
    # the leaks' own paths, as a reader sees them
    assert why_articles(demo["doc"])["__main__.Widget"][0][1] == (
        "module __main__ ['bus'] → __main__.EventBus .handlers → list [*] → method .__self__ → __main__.Widget")
    # the cache's new list per request holds the entries: it ranks by its own size, after them
    out = cli(pyheapdiff_bin, "leaks", leaky["before"], leaky["after"]).stdout
    assert re.search(r"^list: 120, .* retained \(.* of its own, the rest in new user and third-party objects\)$",
                     out, re.M), out
    assert out.index("__main__.CacheEntry: ") < out.index("list: 120, ")
    # the cache's keys (one per request) are folded: one group of every new entry
    # (the entries of the warm-up, before BEFORE, are not new)
    cache = why_articles(leaky["doc"])["__main__.CacheEntry"]
    assert cache == [(leaky["counts"]["after"] - leaky["counts"]["before"],
                      "module __main__ ['_cache'] → dict […] → list [*] → __main__.CacheEntry")]


def test_biggest_retainers_match_dominators(pyheapdiff_bin, demo):
    truth = cli_json(pyheapdiff_bin, "dominators", "--top", "10", demo["after"])
    table = demo["doc"].find("table", id="retainers-table")
    got = []
    for tr in table.find("tbody").find_all("tr"):
        cells = [c for c in tr.children if isinstance(c, Node)]
        addr = re.search(r"0x[0-9a-f]+", cells[2].text()).group(0)
        got.append((num(cells[0]), addr, cells[3].text()))
    assert got == [(o["retained"], o["address"], o["path"]) for o in truth["objects"]]
    types = demo["doc"].find("table", id="types-table")
    got = [(tr.find("th").text(), num([c for c in tr.children if isinstance(c, Node)][1]))
           for tr in types.find("tbody").find_all("tr")]
    assert got == [(t["type"], t["retained"]) for t in truth["types"]]
    # the bus's handler list retains every widget
    assert any("['bus'] → __main__.EventBus .handlers → list" in p for _, _, p in
               [(o["retained"], o["address"], o["path"]) for o in truth["objects"]])


def test_leak_graph_is_inline_svg_of_the_leaking_type(leaky, demo):
    for case, name in ((leaky, "__main__.CacheEntry"), (demo, "__main__.Widget")):
        sec = case["doc"].find("section", id="graph")
        assert sec.find("h2").text() == f"Leak graph: {name}"
        fig = sec.find("figure", cls="graph")
        svg = fig.find("svg")
        assert svg is not None and "viewbox" in svg.attrs
        labels = " ".join(t.text() for t in svg.find_all("text"))
        assert name.split(".")[-1] in labels
        assert "[module]" in labels  # the path reaches a root
        assert "<?xml" not in case["html"] and "<!DOCTYPE svg" not in case["html"]


def test_self_contained(leaky, demo):
    for case in (leaky, demo):
        html, doc = case["html"], case["doc"]
        assert doc.find("link") is None
        assert doc.find("img") is None and doc.find("iframe") is None
        scripts = list(doc.find_all("script"))
        assert len(scripts) == 1 and "src" not in scripts[0].attrs
        for n in doc.iter():
            for k, v in n.attrs.items():
                if k in ("src", "href", "xlink:href", "action", "srcset", "poster", "data", "formaction"):
                    assert v is None or v.startswith("#"), (n.tag, k, v)
        css = "".join(s.text() for s in doc.find_all("style"))
        css += " ".join(n.attrs.get("style") or "" for n in doc.iter())
        assert "url(" not in css and "@import" not in css
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
        meta = {m.attrs.get("name"): m.attrs.get("content") for m in doc.find_all("meta")}
        assert meta["viewport"] == "width=device-width, initial-scale=1"
        assert doc.find("meta", charset="utf-8") is not None
        assert doc.find("html").attrs["lang"] == "en"


def test_sections_and_sortable_headers(leaky):
    doc = leaky["doc"]
    ids = [s.attrs["id"] for s in doc.find_all("section")]
    assert ids == ["summary", "growth", "why", "retainers", "graph"]
    for s in doc.find_all("section"):
        h2 = s.find("h2")
        assert s.attrs["aria-labelledby"] == h2.attrs["id"]
    ths = list(doc.find("table", id="diff-table").find("thead").find_all("th"))
    assert [th.find("button").text() for th in ths] == ["type", "count before", "count after", "Δcount",
                                                       "size before", "size after", "Δsize", "new", "freed"]
    assert all(th.find("button").attrs["type"] == "button" for th in ths)
    assert [th.attrs.get("aria-sort") for th in ths].count("descending") == 1
    assert ths[6].attrs["aria-sort"] == "descending"


def test_text_is_escaped_and_title(pyheapdiff_bin, leaky, tmp_path):
    title = "<script>alert('x')</script> & \"quotes\" → ü"
    html = make_report(pyheapdiff_bin, leaky["before"], leaky["after"], tmp_path / "t.html", "--title", title)
    doc = parse(html)
    assert doc.find("title").text() == title
    assert doc.find("h1").text() == title
    assert len(list(doc.find_all("script"))) == 1
    assert "<script>alert" not in html


def test_default_title_output_and_determinism(pyheapdiff_bin, leaky, tmp_path):
    shutil.copy(leaky["before"], tmp_path / "a.snap")
    shutil.copy(leaky["after"], tmp_path / "b.snap")
    p = cli(pyheapdiff_bin, "report", "a.snap", "b.snap", cwd=tmp_path)
    assert p.returncode == 0 and p.stderr == "pyheapdiff: wrote report.html\n", p.stderr
    first = (tmp_path / "report.html").read_bytes()
    assert parse(first.decode()).find("title").text() == "a.snap → b.snap"
    p = cli(pyheapdiff_bin, "report", "a.snap", "b.snap", "-o", "again.html", cwd=tmp_path)
    assert p.returncode == 0
    assert (tmp_path / "again.html").read_bytes() == first
    assert sorted(os.listdir(tmp_path)) == ["a.snap", "again.html", "b.snap", "report.html"]


def test_graph_type_option(pyheapdiff_bin, demo, tmp_path):
    doc = parse(make_report(pyheapdiff_bin, demo["before"], demo["after"], tmp_path / "r.html", "--type", "EventBus"))
    sec = doc.find("section", id="graph")
    assert sec.find("h2").text() == "Leak graph: __main__.EventBus"
    assert "__main__.EventBus" in why_articles(doc)
    p = cli(pyheapdiff_bin, "report", demo["before"], demo["after"], "-o", tmp_path / "x.html", "--type", "Widgit")
    assert p.returncode == 2 and "did you mean" in p.stderr and len(p.stderr.splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


def assert_one_line_error(p, *needles):
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyheapdiff: "), p.stderr
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])


def test_bad_input_leaves_nothing(pyheapdiff_bin, leaky, tmp_path):
    out = tmp_path / "out.html"
    bad = tmp_path / "bad.snap"
    data = leaky["after"].read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    cases = [
        ([tmp_path / "missing.snap", leaky["after"]], "missing.snap"),
        ([leaky["before"], bad], "bad.snap"),
        ([bad, leaky["after"]], "bad.snap"),
    ]
    empty = tmp_path / "empty.snap"
    empty.write_bytes(b"")
    cases.append(([leaky["before"], empty], "empty.snap"))
    for args, name in cases:
        p = cli(pyheapdiff_bin, "report", *args, "-o", out)
        assert_one_line_error(p, name)
        assert sorted(os.listdir(tmp_path)) == ["bad.snap", "empty.snap"]
    # usage errors
    assert_one_line_error(cli(pyheapdiff_bin, "report", leaky["before"], "-o", out), "two snapshots")
    assert_one_line_error(cli(pyheapdiff_bin, "report", leaky["before"], leaky["after"], "--top", "x"), "--top")
    assert_one_line_error(cli(pyheapdiff_bin, "report", leaky["before"], leaky["after"], "--bogus"), "--bogus")
    assert_one_line_error(cli(pyheapdiff_bin, "report", leaky["before"], leaky["after"], "-o", ""), "-o")
    # a database is refused with a hint
    db = tmp_path / "x.db"
    cli_json(pyheapdiff_bin, "load", leaky["before"], "-o", db)
    assert_one_line_error(cli(pyheapdiff_bin, "report", db, leaky["after"], "-o", out), "x.db", "database")
    assert not out.exists()


def test_unwritable_output(pyheapdiff_bin, leaky, tmp_path):
    nodir = tmp_path / "no" / "such" / "dir" / "r.html"
    assert_one_line_error(cli(pyheapdiff_bin, "report", leaky["before"], leaky["after"], "-o", nodir), nodir,
                          "cannot write")
    # a directory in the way: written under a temporary name, the rename
    # fails, and the temporary file goes
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "keep").write_text("x")
    assert_one_line_error(cli(pyheapdiff_bin, "report", leaky["before"], leaky["after"], "-o", tmp_path / "adir"),
                          "adir")
    assert os.listdir(tmp_path) == ["adir"]
    assert os.listdir(tmp_path / "adir") == ["keep"]


def test_help(pyheapdiff_bin):
    p = cli(pyheapdiff_bin, "report", "--help")
    assert p.returncode == 0 and p.stdout.startswith("usage: pyheapdiff report")
    for opt in ("-o, --output", "--top", "--title", "--type"):
        assert opt in p.stdout
    p = cli(pyheapdiff_bin, "--help")
    assert re.search(r"^  report +", p.stdout, re.M)


# ---------------------------------------------------------------------------
# 2. in a real browser: headless Chromium over the DevTools protocol

import _cdp  # noqa: E402

NO_BROWSER = os.environ.get("PYHEAPDIFF_NO_BROWSER") == "1"

# every cell of the growth table as the browser shows it: type text and
# the data-v numbers
READ_TABLE = """(() => Array.from(document.querySelectorAll('#diff-table tbody tr')).map(tr =>
    [tr.cells[0].textContent, Array.from(tr.cells).slice(1).map(td => Number(td.getAttribute('data-v')))]))()"""
ARIA = """Array.from(document.querySelectorAll('#diff-table thead th')).map(th => th.getAttribute('aria-sort'))"""


@pytest.fixture(scope="module")
def browser():
    if NO_BROWSER:
        pytest.skip("PYHEAPDIFF_NO_BROWSER=1")
    exe = _cdp.find_chromium()
    assert exe, "no chromium on PATH: scripts/setup.sh installs it (or set PYHEAPDIFF_NO_BROWSER=1)"
    with _cdp.Browser(exe) as b:
        yield b


@pytest.fixture
def page(browser):
    p = browser.new_page()
    for domain in ("Page", "Runtime", "Network", "Log"):
        p.call(f"{domain}.enable")
    p.viewport(1280, 900)
    yield p
    browser.call("Target.closeTarget", {"targetId": p.target})


def console_problems(page):
    out = [e["params"]["exceptionDetails"].get("text") for e in page.events("Runtime.exceptionThrown")]
    out += [e["params"]["type"] for e in page.events("Runtime.consoleAPICalled")
            if e["params"]["type"] in ("error", "warning", "assert")]
    out += [e["params"]["entry"]["text"] for e in page.events("Log.entryAdded")
            if e["params"]["entry"]["level"] in ("error", "warning")]
    return out


def test_browser_table_and_sorting(pyheapdiff_bin, leaky, page, tmp_path):
    url = leaky["path"].as_uri()
    page.navigate(url)
    truth = cli_json(pyheapdiff_bin, "diff", leaky["before"], leaky["after"])
    original = [json_row(r, True) for r in truth["rows"]]
    shown = [(t, [int(v) for v in vals]) for t, vals in page.evaluate(READ_TABLE)]
    assert shown == original
    assert shown[0][0] == "__main__.CacheEntry"
    assert page.evaluate(ARIA)[6] == "descending"

    def after_click(col, how="mouse"):
        sel = f"#diff-table thead th:nth-child({col + 1}) button"
        if how == "mouse":
            page.click(sel)
        else:
            page.press_enter(sel)
        return [(t, [int(v) for v in vals]) for t, vals in page.evaluate(READ_TABLE)]

    # numbers: first click largest first, second click smallest first;
    # ties keep the page's order, as Python's stable sort does
    col = 2  # count after
    got = after_click(col)
    assert got == sorted(original, key=lambda r: r[1][col - 1], reverse=True)
    assert page.evaluate(ARIA) == [None, None, "descending", None, None, None, None, None, None]
    got = after_click(col)
    assert got == sorted(original, key=lambda r: r[1][col - 1])
    assert page.evaluate(ARIA)[col] == "ascending"
    # text: A to Z first, from the keyboard
    got = after_click(0, how="keyboard")
    assert got == sorted(original, key=lambda r: r[0])
    assert page.evaluate(ARIA)[0] == "ascending"
    got = after_click(0)
    assert got == sorted(original, key=lambda r: r[0], reverse=True)
    # a size column: what the bytes say, not the human text
    got = after_click(4)
    assert got == sorted(original, key=lambda r: r[1][3], reverse=True)
    # the total stays in the footer
    assert page.evaluate("document.querySelector('#diff-table tfoot tr').cells[0].textContent") == "total"

    assert console_problems(page) == []
    requests = [e["params"]["request"]["url"] for e in page.events("Network.requestWillBeSent")]
    assert requests == [url], requests
    shot = page.screenshot(tmp_path / "report-1280.png")
    w, h = _cdp.png_size(shot)
    assert w == 1280 and h > 900


def test_browser_phone_and_dark(demo, page, tmp_path):
    url = demo["path"].as_uri()
    page.viewport(390, 844, mobile=True)
    page.navigate(url)
    m = page.evaluate("""({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        body: document.body.scrollWidth,
        wrap: (w => [w.scrollWidth, w.clientWidth])(document.querySelector('#growth .table-wrap')),
        svg: document.querySelector('#graph svg').getBoundingClientRect().width,
        fig: document.querySelector('#graph figure').clientWidth,
        font: parseFloat(getComputedStyle(document.querySelector('.path')).fontSize)})""")
    assert m["inner"] == 390
    assert m["scroll"] <= m["inner"] and m["body"] <= m["inner"], m  # no sideways scrolling of the page
    assert m["wrap"][0] > m["wrap"][1], m  # the wide table scrolls inside its wrapper
    assert m["svg"] <= m["fig"], m  # the whole graph in view (pinch to zoom)
    assert m["font"] >= 11, m
    assert _cdp.png_size(page.screenshot(tmp_path / "report-phone.png", full_page=False)) == (390, 844)

    colours = "(() => { const c = e => getComputedStyle(document.querySelector(e)); return [c('body').backgroundColor, " \
              "c('body').color, c('#graph figure').backgroundColor, c('section').backgroundColor]; })()"
    page.viewport(1280, 900)
    page.color_scheme("light")
    light = page.evaluate(colours)
    page.color_scheme("dark")
    dark = page.evaluate(colours)

    def lum(css):
        r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert lum(light[0]) > 200 and lum(dark[0]) < 60, (light, dark)
    assert lum(light[1]) < 80 and lum(dark[1]) > 180, (light, dark)
    assert lum(dark[3]) < 60
    assert lum(dark[2]) > 240, dark  # the graph keeps its light card: legible in the dark
    page.screenshot(tmp_path / "report-dark.png")
    assert console_problems(page) == []


def test_nothing_grew(pyheapdiff_bin, demo, tmp_path):
    doc = parse(make_report(pyheapdiff_bin, demo["after"], demo["after"], tmp_path / "same.html"))
    assert doc.find("table", id="diff-table") is None
    assert "No type changed." in doc.find("section", id="growth").text()
    assert "Nothing new is still retained." in doc.find("section", id="why").text()
    graph = doc.find("section", id="graph")
    assert graph.find("svg") is None and "Nothing new is still retained." in graph.text()
    cards = [c.find("div", cls="k").text() for c in doc.find_all("div", cls="card")]
    assert cards == ["Objects after", "Heap after", "Types that grew"]
    # the retainers do not depend on the growth
    assert doc.find("table", id="retainers-table") is not None


def test_different_processes(pyheapdiff_bin, demo, tmp_path):
    """Snapshots of two runs: compared by counts and sizes, no new/freed
    columns; the rows are still the diff's."""
    run_fixture([FIXTURES / "demo_leak.py", tmp_path, 50], tmp_path)
    doc = parse(make_report(pyheapdiff_bin, tmp_path / "after.snap", demo["after"], tmp_path / "r.html"))
    truth = cli_json(pyheapdiff_bin, "diff", tmp_path / "after.snap", demo["after"])
    assert truth["matched"] is False
    rows, total = diff_table(doc)
    assert rows == [json_row(r, False) for r in truth["rows"]]
    assert total == json_row(truth["total"], False)
    heads = [th.text() for th in doc.find("table", id="diff-table").find("thead").find_all("th")]
    assert heads == ["type", "count before", "count after", "Δcount", "size before", "size after", "Δsize"]
    assert "different processes" in doc.find("section", id="summary").text()
    assert "__main__.Widget" in why_articles(doc)
