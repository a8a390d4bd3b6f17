"""The second thread that reads the GC lists during a dump (docs/agent.md,
"The GC lists, read ahead").

It is safe only while nothing links or unlinks GC objects; CPython's own
code that the dump calls never does, but an extension type's C __sizeof__
may do anything.  The agent stops the reader before calling such code and
follows the lists itself.  These tests build an extension whose __sizeof__
allocates and frees GC-tracked lists (and keeps some) on every call, on a
heap big enough that the reader is still running when the walk meets it,
and check that the dump is complete against gc.get_objects() and that the
process survives, dump after dump.
"""

import os
import subprocess
import sysconfig

import pytest

from conftest import dump_in_subprocess

SIZER_C = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *kept;

/* links and unlinks GC objects: lists made and freed, some kept */
static PyObject *sizer_sizeof(PyObject *self, PyObject *unused)
{
    for (int i = 0; i < 50; i++) {
        PyObject *l = PyList_New(0);
        if (!l)
            return NULL;
        if (i % 10 == 0 && PyList_Append(kept, l) < 0) {
            Py_DECREF(l);
            return NULL;
        }
        Py_DECREF(l);
    }
    return PyLong_FromSsize_t((Py_ssize_t)Py_TYPE(self)->tp_basicsize + 1000);
}

static PyMethodDef sizer_methods[] = {
    {"__sizeof__", sizer_sizeof, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SizerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sizer.Sizer",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_methods = sizer_methods,
};

static struct PyModuleDef sizer_module = {PyModuleDef_HEAD_INIT, "sizer", NULL, -1, NULL};

PyMODINIT_FUNC PyInit_sizer(void)
{
    if (PyType_Ready(&SizerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&sizer_module);
    if (!m)
        return NULL;
    kept = PyList_New(0);
    if (!kept || PyModule_AddObject(m, "kept", Py_NewRef(kept)) < 0)
        return NULL;
    Py_INCREF(&SizerType);
    if (PyModule_AddObject(m, "Sizer", (PyObject *)&SizerType) < 0)
        return NULL;
    return m;
}
"""


@pytest.fixture(scope="module")
def sizer_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("sizer")
    (d / "sizer.c").write_text(SIZER_C)
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    out = d / ("sizer" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-I", sysconfig.get_paths()["include"], str(d / "sizer.c"),
                    "-o", str(out)], check=True, capture_output=True)
    return d


PROGRAM = """
import gc, sys
sys.path.insert(0, {dir!r})
import sizer

gc.disable()
# GC-tracked objects for the reader to read
bulk = [[i] for i in range({bulk})]
if {reachable}:
    # Sizers the walk from the roots meets while the reader is still reading
    s = sizer.Sizer()
    more = [sizer.Sizer() for _ in range(20)]
# Sizers that only garbage cycles hold: the walk from the roots never meets
# them, the last pass does (reading the reader's array, when no Sizer
# stopped the reader before)
for _ in range(30):
    cycle = [sizer.Sizer()]
    cycle.append(cycle)
del cycle
for _ in range(3):
    assert not T.dump(objects=False, collect=False)["gc_reader"]
assert not T.dump(collect=False)["gc_reader"]
"""


@pytest.mark.slow
@pytest.mark.parametrize("reachable", [True, False], ids=["during-the-walk", "in-the-last-pass"])
def test_a_foreign_sizeof_that_changes_the_gc_lists_stops_the_reader(sizer_dir, tmp_path, reachable):
    # under the sanitizers (PYHEAPDIFF_SANITIZE=1, 3-4 times slower) a
    # third of the list, which the reader still takes long enough to read:
    # these two tests were 90 s of the sanitizer stage, the CI run's longest
    bulk = 100_000 if os.environ.get("PYHEAPDIFF_SANITIZE") == "1" else 300_000
    r = dump_in_subprocess(PROGRAM.format(dir=str(sizer_dir), reachable=reachable, bulk=bulk), tmp_path, "sizer",
                           timeout=300)
    snap, truth = r.snap, r.truth
    missing = [a for a in truth.objects if a not in snap.by_addr]
    assert not missing, f"{len(missing)} objects of gc.get_objects() are missing"
    sizers = [n for n in snap.nodes if n.type == "sizer.Sizer"]
    assert len(sizers) == (51 if reachable else 30)
    assert all(n.size == 1016 for n in sizers), {n.size for n in sizers}


STDLIB_PROGRAM = """
import array, decimal, gc, struct
gc.disable()
# the standard library's extension modules (lib-dynload) have C __sizeof__
# methods of their own: CPython's code, which keeps the reader running
early = [struct.Struct("<iq"), array.array("d", [1.0, 2.0]), decimal.Decimal("1.5")]
for _ in range(30):
    cycle = [struct.Struct("<h"), array.array("b", b"ab")]
    cycle.append(cycle)
del cycle
r = T.dump(collect=False)
assert r["gc_reader"], r
"""


@pytest.mark.slow
def test_the_standard_librarys_extension_types_keep_the_reader(tmp_path):
    for mod in ("_struct", "array"):
        file = getattr(__import__(mod), "__file__", None)
        if not file or "/lib-dynload/" not in file:
            pytest.skip(f"{mod} is built into this interpreter, not in lib-dynload")
    r = dump_in_subprocess(STDLIB_PROGRAM, tmp_path, "stdlib", timeout=300)
    snap, truth = r.snap, r.truth
    missing = [a for a in truth.objects if a not in snap.by_addr]
    assert not missing, f"{len(missing)} objects of gc.get_objects() are missing"
    structs = [n for n in snap.nodes if n.type == "_struct.Struct"]
    assert len(structs) == 31
