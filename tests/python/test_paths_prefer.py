"""paths prefers the user's modules, --from, attribute and name labels
(issue 12 item 6), and graph's labels and default output (item 7)."""

import os
import subprocess

import pytest

from conftest import cli, cli_ok, cli_json, assert_usage_error, dump_in_subprocess

PROGRAM = """
import asyncio, logging, threading, concurrent.futures
state = {"log": logging.getLogger("svc")}   # the user's: two hops to the logger

async def handle(i):
    logging.getLogger("svc.requests").addHandler(logging.StreamHandler())
    await asyncio.sleep(0)

async def main():
    await asyncio.gather(*(handle(i) for i in range(5)))
asyncio.run(main())

class Engine:
    pass
class Listener:
    pass
engine = Engine()
engine.__dict__                              # a dict of its own, not inline values
engine.dispatch = [Listener()]

def make_listener_with_a_long_qualified_name_for_the_test():
    def wrap_before_cursor_execute_and_a_few_more_words():
        return target
    target = Listener()
    return wrap_before_cursor_execute_and_a_few_more_words
hooks = [make_listener_with_a_long_qualified_name_for_the_test()]

# a module of the program's own that defines no class: its origin comes
# from its file (outside site-packages and the standard library's folder)
sys.path.insert(0, os.path.dirname(SNAP))
with open(os.path.join(os.path.dirname(SNAP), "userstate.py"), "w") as f:
    f.write("held = []\\ndeep = []\\n")
import userstate
class Near:
    pass
class Far:
    pass
near, far = Near(), Far()
userstate.held.append(near)          # 3 hops: module userstate, its dict, list
logging._phd_near = near             # 2 hops from the standard library: the user's wins
userstate.deep.append([[[far]]])     # 6 hops
logging._phd_far = far               # 2 hops: shorter by more than 2, the standard library's wins
del near, far

ready, done = threading.Event(), threading.Event()
def worker():
    backlog = [Listener()]
    ready.set()
    done.wait()
th = threading.Thread(target=worker)
th.start()
ready.wait()
T.dump(objects=False)
done.set()
th.join()
"""


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    return dump_in_subprocess(PROGRAM, tmp_path_factory.mktemp("prefer"), "prefer", flags=()).path


def test_a_users_module_wins_over_a_shorter_stdlib_path(pyheapdiff_bin, snap):
    groups = cli_json(pyheapdiff_bin, "paths", "--type", "StreamHandler", snap)["groups"]
    assert [g["path"] for g in groups] == [
        "module __main__ ['state'] → dict ['log'] → logging.Logger .manager → logging.Manager .loggerDict"
        " → dict ['svc.requests'] → logging.Logger .handlers → list [*] → logging.StreamHandler"]


def test_from_asks_for_paths_from_a_module(pyheapdiff_bin, snap):
    groups = cli_json(pyheapdiff_bin, "paths", "--type", "StreamHandler", "--from", "concurrent", snap)["groups"]
    assert groups[0]["path"].startswith("module concurrent.futures._base ['LOGGER'] → logging.Logger .manager")
    assert groups[0]["count"] == 5
    p = cli(pyheapdiff_bin, "paths", "--type", "StreamHandler", "--from", "no.such.module", snap)
    assert_usage_error(p, "no module no.such.module")


def test_attributes_read_dot_name_and_names_are_whole(pyheapdiff_bin, snap):
    paths = [g["path"] for g in cli_json(pyheapdiff_bin, "paths", "--type", "Listener", "--limit", "0", snap)["groups"]]
    assert "module __main__ ['engine'] → __main__.Engine .dispatch → list [*] → __main__.Listener" in paths
    assert ("module __main__ ['hooks'] → list [*] → function make_listener_with_a_long_qualified_name_for_the_test"
            ".<locals>.wrap_before_cursor_execute_and_a_few_more_words .__closure__ → tuple .target → cell"
            " .cell_contents → __main__.Listener") in paths


def test_graph_labels_frames_and_closures(pyheapdiff_bin, snap):
    dot = cli_ok(pyheapdiff_bin, "graph", "--type", "Listener", "--max-objects", "10", "--path", "-o", "-",
                 snap).stdout
    assert "tuple 1 item\\n" in dot
    assert "] worker\\n" in dot and "\\nlocal backlog\\n" in dot and "[frame]" not in dot


def test_graph_without_o_writes_a_default_file_and_never_replaces_one(pyheapdiff_bin, snap, tmp_path):
    for expected in ("pyheapdiff-Listener.svg", "pyheapdiff-Listener-2.svg"):
        p = cli(pyheapdiff_bin, "graph", "--type", "__main__.Listener", snap, cwd=tmp_path)
        assert p.returncode == 0 and p.stdout == ""
        assert f"pyheapdiff: wrote {expected}:" in p.stderr
        assert (tmp_path / expected).read_text().lstrip().startswith("<?xml")
        assert (tmp_path / expected).stat().st_mode & 0o777 == 0o600
    # a failure leaves no reserved name behind
    p = cli(pyheapdiff_bin, "graph", "--type", "NoSuchType", snap, cwd=tmp_path)
    assert p.returncode == 2
    assert sorted(os.listdir(tmp_path)) == ["pyheapdiff-Listener-2.svg", "pyheapdiff-Listener.svg"]


def test_the_preference_holds_within_two_hops(pyheapdiff_bin, snap):
    near = cli_json(pyheapdiff_bin, "paths", "--type", "Near", snap)["groups"]
    far = cli_json(pyheapdiff_bin, "paths", "--type", "Far", snap)["groups"]
    assert [g["path"] for g in near] == ["module userstate ['held'] → list [*] → __main__.Near"]
    assert [g["path"] for g in far] == ["module logging ['_phd_far'] → __main__.Far"]
    # --from a module that does not reach them leaves their paths as they were
    assert cli_json(pyheapdiff_bin, "paths", "--type", "Near", "--from", "json", snap)["groups"] == near
