"""numpy arrays: memory behind views.  ndarray reports no references to the
collector, so without help a view's ``base`` (the array that owns the data)
is unreachable in the snapshot, and a DataFrame's blocks look like 100-byte
objects.  The agent follows ``base`` (and ``dtype``) through numpy's public
ABI without importing numpy; these tests check it against numpy itself.

numpy is installed into the test environments by scripts/setup.sh; where it
is missing the tests skip (and fail under CI, where it must be there).
"""

import os

import pytest

from conftest import cli_json
from snapreader import NAME

try:
    import numpy  # noqa: F401
    HAVE_NUMPY = True
except ImportError:
    HAVE_NUMPY = False

needs_numpy = pytest.mark.skipif(not HAVE_NUMPY and os.environ.get("CI") != "true",
                                 reason="numpy is not installed (scripts/setup.sh installs it)")

VIEWS = """
import numpy as np

class Holder:
    pass

holders = []
for i in range(20):
    h = Holder()
    owner = np.arange(50_000, dtype=np.float64) + i    # 400 KB that only the view keeps
    h.view = owner[100:200]                            # a view: owndata is False
    del owner
    holders.append(h)
T.mark("view", holders[0].view, base_id=id(holders[0].view.base),
       owner_size=sys.getsizeof(holders[0].view.base), nbytes=holders[0].view.base.nbytes,
       owndata=holders[0].view.flags.owndata, dtype_id=id(holders[0].view.dtype))
T.mark("h0", holders[0])
T.dump(objects=False)
"""


@needs_numpy
@pytest.mark.slow
def test_a_view_leads_to_the_array_that_owns_its_memory(run_dump):
    r = run_dump(VIEWS, flags=())   # not -S: numpy lives in site-packages
    m = r.truth.marks["view"]
    assert m["owndata"] is False
    view = r.node("view")
    assert view.type == "numpy.ndarray"
    named = {p: r.snap.nodes[t] for t, k, p in view.edges if k == NAME}
    assert named["base"].addr == m["base_id"]
    assert named["base"].size == m["owner_size"] > m["nbytes"]
    assert named["dtype"].addr == m["dtype_id"]


@needs_numpy
def test_a_holder_of_a_view_retains_the_owners_memory(run_dump, pyheapdiff_bin):
    r = run_dump(VIEWS, flags=())
    m = r.truth.marks["view"]
    doc = cli_json(pyheapdiff_bin, "dominators", "--type", "__main__.Holder", "--top", "0", r.path)
    rows = doc["objects"]
    h0 = [row for row in rows if int(str(row["address"]), 16) == r.truth.marks["h0"]["id"]]
    assert h0, rows[:3]
    assert h0[0]["retained"] >= m["owner_size"]


def test_without_numpy_nothing_changes(run_dump):
    """-S keeps site-packages (and numpy) out: the dump has no numpy type."""
    r = run_dump("""
        T.extra["numpy"] = "numpy" in sys.modules
        T.dump(objects=False)
    """)
    assert r.truth.extra["numpy"] is False
    assert not [n for n in r.snap.nodes if n.type.startswith("numpy.")]
