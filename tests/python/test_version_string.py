"""One version string: meson.build's project version is what the analyzer
prints for ``--version`` (compiled in as PHD_VERSION) and what the agent's
package says in ``pyheapdiff.__version__`` (the _version.py the build
generates), in the build tree here and in an installed wheel in
test_install.py."""

import json
import re

from conftest import BUILD, BUILD_PY, REPO, cli_ok, run_python


def _project_version():
    info = json.loads((BUILD / "meson-info" / "intro-projectinfo.json").read_text())
    return info["version"]


def test_cli_version_is_the_project_version(pyheapdiff_bin):
    out = cli_ok(pyheapdiff_bin, "--version").stdout
    assert out == f"pyheapdiff {_project_version()}\n"
    assert cli_ok(pyheapdiff_bin, "-V").stdout == out


def test_python_version_is_the_cli_version(pyheapdiff_bin):
    p = run_python("import pyheapdiff; print(pyheapdiff.__version__)")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == cli_ok(pyheapdiff_bin, "--version").stdout.split()[-1]


def test_no_version_written_by_hand():
    # the package's version is generated into the build, not in its source
    assert (BUILD_PY / "pyheapdiff" / "_version.py").exists()
    source = (REPO / "snapshot_agent" / "pyheapdiff" / "__init__.py").read_text()
    assert not re.search(r"""^__version__\s*=\s*["']""", source, re.M)
    assert not re.search(r"#define PHD_VERSION ", (REPO / "src" / "cli" / "cli.h").read_text())
