"""Snapshots written by an earlier release (fixtures/old/: the agent of
commit 91dba38, format version 1 without the TYPE_ORIGINS section) stay
readable by every command, with origins guessed from the names."""

from pathlib import Path

import pytest

from conftest import REPO, cli_json, cli_ok

OLD = REPO / "fixtures" / "old"
BEFORE, AFTER = OLD / "before.snap", OLD / "after.snap"


def test_info_reads_an_old_snapshot(pyheapdiff_bin):
    info = cli_json(pyheapdiff_bin, "info", AFTER)
    assert info["format_version"] == 1 and info["python"].startswith("3.11.")
    assert info["objects"] > 10_000 and info["immortal"] == 0


def test_diff_paths_and_leaks_on_old_snapshots(pyheapdiff_bin):
    rows = {r["type"]: r for r in cli_json(pyheapdiff_bin, "diff", BEFORE, AFTER, "--top", "0")["rows"]}
    widget = rows["__main__.Widget"]
    assert (widget["count_delta"], widget["new"], widget["freed"]) == (40, 40, 0)
    # no recorded origins: the name decides (docs/cli.md)
    assert widget["origin"] == "user" and rows["list"]["origin"] == "builtin"
    user = cli_json(pyheapdiff_bin, "diff", BEFORE, AFTER, "--only", "user")["rows"]
    assert [r["type"] for r in user] == ["__main__.Widget"]
    groups = cli_json(pyheapdiff_bin, "paths", "--type", "Widget", AFTER)["groups"]
    assert [(g["count"], g["path"]) for g in groups] == [
        (39, "module __main__ ['bus'] → __main__.Bus .handlers → list [*] → __main__.Widget"),
        (1, "module __main__ ['w'] → __main__.Widget")]   # the last one is also the global w
    leaks = {t["type"]: t for t in cli_json(pyheapdiff_bin, "leaks", "--top", "0", BEFORE, AFTER)["types"]}
    assert leaks["__main__.Widget"]["count"] == 40


def test_load_and_sql_on_old_snapshots(pyheapdiff_bin, tmp_path):
    db = tmp_path / "old.db"
    cli_ok(pyheapdiff_bin, "load", BEFORE, AFTER, "-o", db)
    rows = cli_json(pyheapdiff_bin, "sql", db, "SELECT count(*) AS n FROM objects_v WHERE snapshot = 2 "
                    "AND type = '__main__.Widget'")
    assert rows == [{"n": 40}]
