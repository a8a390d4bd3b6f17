"""Tests of ``pyheapdiff.track``: snapshots around a block of this very
process (the pytest process), analysed with the built analyzer.

The leak is real: instances of a class of this module appended to a list
that is a global of this module, so the expected type name and retention
path follow from this module's ``__name__``.
"""

import gc
import os

import pytest

import pyheapdiff
from pyheapdiff import _cli
from pyheapdiff.track import Tracker

LEAKED = []


class Leaky:
    pass


# Settle the class's shared keys: its first few dozen instances get larger
# attribute values arrays (docs/agent.md, "Sizes"), so they differ in size.
for _ in range(40):
    Leaky()


LEAKY = f"{__name__}.Leaky"


@pytest.fixture(autouse=True)
def _analyzer(pyheapdiff_bin, monkeypatch):
    monkeypatch.setenv("PYHEAPDIFF_CLI", pyheapdiff_bin)
    yield
    LEAKED.clear()


def row(rows, name):
    found = [r for r in rows if r["type"] == name]
    assert len(found) <= 1, found
    return found[0] if found else None


@pytest.mark.slow
def test_a_leak_in_the_block_is_growth_with_its_path():
    LEAKED.append(Leaky())  # one before the block: counted in count_before
    with pyheapdiff.track() as t:
        LEAKED.extend(Leaky() for _ in range(7))
    r = row(t.diff(), LEAKY)
    assert r is not None, [x["type"] for x in t.diff()]
    assert (r["count_before"], r["count_after"], r["count_delta"]) == (1, 8, 7)
    assert (r["new"], r["freed"]) == (7, 0)
    assert r["size_delta"] == 7 * r["size_before"] > 0
    groups = t.paths("Leaky")
    assert groups[0]["count"] == 8
    assert groups[0]["path"] == f"module {__name__} ['LEAKED'] → list [*] → {LEAKY}"
    assert LEAKY in t.summary()


@pytest.mark.slow
def test_filters():
    with pyheapdiff.track() as t:
        LEAKED.extend(Leaky() for _ in range(3))
    assert [r["type"] for r in t.diff("Leaky")] == [LEAKY]
    assert [r["type"] for r in t.diff([LEAKY])] == [LEAKY]
    assert t.diff(["eaky", f"{__name__}.Other"]) == []
    everything = t.diff()
    assert row(everything, "list") is not None  # LEAKED's item array grew
    assert [r["type"] for r in t.diff(user_only=True)] == [LEAKY]


@pytest.mark.slow
def test_a_clean_block_shows_no_growth():
    with pyheapdiff.track() as t:
        made = [Leaky() for _ in range(50)]
        del made
    assert row(t.diff(), LEAKY) is None


def test_the_tracker_itself_is_not_growth():
    with pyheapdiff.track() as t:
        pass
    rows = t.diff()
    assert [r for r in rows if r["type"].startswith("pyheapdiff.")] == []
    assert sum(r["count_delta"] for r in rows if r["count_delta"] > 0) <= 2, rows


def test_snapshots_are_removed_when_the_tracker_goes():
    with pyheapdiff.track() as t:
        pass
    folder, before, after = t.dir, t.before, t.after
    assert os.path.isfile(before) and os.path.isfile(after)
    assert "snapshots removed" not in repr(t)
    del t
    gc.collect()
    assert not os.path.exists(folder)


def test_remove_deletes_at_once():
    with pyheapdiff.track() as t:
        pass
    t.remove()
    assert not os.path.exists(t.dir)
    assert "snapshots removed" in repr(t)
    with pytest.raises(RuntimeError, match="removed"):
        t.diff()


def test_keep_keeps_them(tmp_path):
    with pyheapdiff.track(dir=tmp_path / "snaps", keep=True) as t:
        LEAKED.append(Leaky())
    before, after = t.before, t.after
    assert os.path.dirname(before) == str(tmp_path / "snaps")
    del t
    gc.collect()
    assert os.path.isfile(before) and os.path.isfile(after)
    # and they are the snapshots of the block
    from pyheapdiff import _cli
    diff = _cli.run_json(["diff", before, after])
    assert row(diff["rows"], LEAKY)["count_delta"] == 1


def test_a_chosen_folder_is_left_but_the_snapshots_go(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pyheapdiff.track(dir=folder) as t:
        pass
    t.remove()
    assert sorted(os.listdir(folder)) == ["notes.txt"]


def test_a_raising_block_cleans_up():
    t = pyheapdiff.track()
    with pytest.raises(ValueError):
        with t:
            LEAKED.append(Leaky())
            raise ValueError("boom")
    assert t.raised
    assert not os.path.exists(t.dir)
    with pytest.raises(RuntimeError, match="because the block raised"):
        t.paths("Leaky")


def test_a_raising_block_with_keep_has_both_snapshots(tmp_path):
    with pytest.raises(ValueError):
        with pyheapdiff.track(dir=tmp_path, keep=True) as t:
            raise ValueError("boom")
    assert os.path.isfile(t.before) and os.path.isfile(t.after)


def test_misuse_is_explained():
    t = Tracker()
    with pytest.raises(RuntimeError, match="context manager"):
        t.diff()
    with t:
        pass
    with pytest.raises(RuntimeError, match="runs once"):
        with t:
            pass
    with pytest.raises(RuntimeError, match="no type 'NoSuchType'"):
        t.paths("NoSuchType")


def test_values_false_hides_dict_keys():
    with pyheapdiff.track(values=False) as t:
        LEAKED.append(Leaky())
    assert t.paths("Leaky")[0]["path"].startswith(f"module {__name__} [<str>] → list")


def test_user_defined_types():
    """The origins the agent records in this very process (pytest's): the
    test's own classes and conftest's are the user's; the interpreter's,
    the standard library's, pytest's and pluggy's (installed packages) and
    pyheapdiff's own are not."""
    class Local:
        pass
    keep = Local()
    with pyheapdiff.track() as t:
        pass
    origins = {r["type"]: r["origin"] for r in _cli.run_json(["top", "--top", "0", t.after])["rows"]}
    expected = {
        "dict": "builtin",
        "collections.deque": "stdlib",
        "_io.TextIOWrapper": "stdlib",
        "pyheapdiff.track.Tracker": "third-party",
        "_pytest.python.Function": "third-party",
        f"{__name__}.test_user_defined_types.<locals>.Local": "user",
    }
    assert {k: origins.get(k) for k in expected} == expected
    del keep
