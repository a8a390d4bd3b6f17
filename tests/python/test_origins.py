"""Where a type comes from: builtin, standard library, third-party or the
user's own code, decided from facts the agent records (sys.modules,
sys.stdlib_module_names, each module's file under site-packages or not,
__main__) and used by diff --only and top --only.
"""

import pytest

from conftest import cli, cli_json, assert_usage_error

PROGRAM = """
import importlib, logging, json.decoder, collections
sys.path.insert(0, os.path.dirname(SNAP))
with open(os.path.join(os.path.dirname(SNAP), "usermod.py"), "w") as f:
    f.write("class Account:\\n    pass\\n")
import usermod
try:
    import numpy
    arrays = [numpy.zeros(2) for _ in range(3)]
except ImportError:
    arrays = None
T.extra["numpy"] = arrays is not None

class Local:
    pass

T.dump(objects=False, path=SNAP + ".a")
keep = [usermod.Account() for _ in range(7)] + [Local() for _ in range(5)]
handlers = [logging.StreamHandler() for _ in range(4)]
decoders = [json.decoder.JSONDecoder() for _ in range(3)]
more_dicts = [{} for _ in range(11)]
if arrays is not None:
    arrays += [numpy.zeros(2) for _ in range(6)]
T.dump(objects=False)
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    from conftest import dump_in_subprocess
    # not -S: numpy, when installed, is in site-packages
    return dump_in_subprocess(PROGRAM, tmp_path_factory.mktemp("origins"), "origins", flags=())


def test_each_type_gets_the_origin_of_its_module(program, pyheapdiff_bin):
    rows = {r["type"]: r["origin"] for r in cli_json(pyheapdiff_bin, "top", "--top", "0", program.path)["rows"]}
    expected = {
        "__main__.Local": "user",
        "usermod.Account": "user",           # a module of the program's own, outside site-packages
        "logging.StreamHandler": "stdlib",
        "json.decoder.JSONDecoder": "stdlib",
        "collections.OrderedDict": "stdlib",  # a C type of the standard library
        "dict": "builtin",
        "function": "builtin",
    }
    if program.truth.extra["numpy"]:
        expected["numpy.ndarray"] = "third-party"
    got = {t: rows.get(t) for t in expected}
    assert got == expected


def test_diff_only_shows_the_chosen_origins(program, pyheapdiff_bin):
    a, b = str(program.path) + ".a", program.path
    user = cli_json(pyheapdiff_bin, "diff", a, b, "--only", "user")
    assert {r["type"] for r in user["rows"]} == {"__main__.Local", "usermod.Account"}
    assert user["total"]["count_delta"] == 12
    both = cli_json(pyheapdiff_bin, "diff", a, b, "--only", "user", "--only", "stdlib", "--top", "0")
    types = {r["type"] for r in both["rows"]}
    assert {"logging.StreamHandler", "json.decoder.JSONDecoder", "usermod.Account"} <= types
    assert all(r["origin"] in ("user", "stdlib") for r in both["rows"])
    builtin = cli_json(pyheapdiff_bin, "diff", a, b, "--only", "builtin", "--type", "dict")
    assert [r["type"] for r in builtin["rows"]] == ["dict"]
    if program.truth.extra["numpy"]:
        third = cli_json(pyheapdiff_bin, "diff", a, b, "--only", "third-party")
        assert [r["type"] for r in third["rows"]] == ["numpy.ndarray"]


def test_type_filter_and_gates_see_every_row(program, pyheapdiff_bin):
    a, b = str(program.path) + ".a", program.path
    p = cli(pyheapdiff_bin, "diff", a, b, "--type", "Account", "--fail-on-growth", "StreamHandler=3")
    assert p.returncode == 1, p.stderr        # the gate fires on a row --type hides
    assert "usermod.Account" in p.stdout and "StreamHandler" not in p.stdout
    assert "StreamHandler grew by 4" in p.stderr


def test_top_only(program, pyheapdiff_bin):
    rows = cli_json(pyheapdiff_bin, "top", "--only", "user", program.path)["rows"]
    assert {r["type"] for r in rows} == {"__main__.Local", "usermod.Account"}


def test_only_takes_known_words(program, pyheapdiff_bin):
    assert_usage_error(cli(pyheapdiff_bin, "diff", "--only", "mine", program.path, program.path),
                       "--only takes user, third-party, stdlib or builtin", "'mine'")
    assert_usage_error(cli(pyheapdiff_bin, "top", "--only", "unknown", program.path), "--only")
