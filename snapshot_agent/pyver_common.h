/*
 * pyver_common.h - layout readers that are the same in CPython 3.11, 3.12
 * and 3.13, included once by each pyver_3XX.c so that they are compiled
 * against that version's own headers.  Anything that differs between
 * versions belongs in the version files, not here.
 */
#ifndef PHD_AGENT_PYVER_COMMON_H
#define PHD_AGENT_PYVER_COMMON_H

#ifndef Py_BUILD_CORE_MODULE
#define Py_BUILD_CORE_MODULE 1
#endif
#include <Python.h>

#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_gc.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_moduleobject.h"
#include "internal/pycore_object.h"
#include "internal/pycore_pystate.h"

#include "pyver.h"

/* A row of a field table: a member of a struct and its label. */
#define F(type, member, label) {label, offsetof(type, member)}

/* Appends a root to out[k] while k < cap (in the roots functions). */
#define ROOT(o, n)                                                                                                     \
    do {                                                                                                               \
        if (k < cap)                                                                                                   \
            out[k++] = (struct phd_py_root){(PyObject *)(o), (n)};                                                     \
    } while (0)

/* Include/internal/pycore_moduleobject.h: PyModuleObject.md_name. */
PyObject *phd_py_module_name(PyObject *mod) { return ((PyModuleObject *)mod)->md_name; }

/* Include/internal/pycore_frame.h: _PyInterpreterFrame.previous. */
void *phd_py_frame_previous(void *f) { return ((_PyInterpreterFrame *)f)->previous; }

/* Include/cpython/genobject.h: gi_frame_state and gi_iframe (3.11-3.13);
 * the frame is live until FRAME_CLEARED (pycore_frame.h). */
void *phd_py_gen_frame(PyObject *gen)
{
    PyGenObject *g = (PyGenObject *)gen;
    return g->gi_frame_state < FRAME_CLEARED ? (void *)g->gi_iframe : NULL;
}

/* Include/internal/pycore_frame.h: struct _frame (PyFrameObject) f_frame;
 * a frame object owns its frame data once the call has returned. */
void *phd_py_frameobj_frame(PyObject *frame)
{
    _PyInterpreterFrame *f = ((PyFrameObject *)frame)->f_frame;
    return f && f->owner == FRAME_OWNED_BY_FRAME_OBJECT ? f : NULL;
}

/* Include/internal/pycore_gc.h: struct _gc_runtime_state, three
 * generations and the permanent generation, each a circular list of
 * PyGC_Head (two words in front of the object) through _gc_next. */
size_t phd_py_gc_lists(PyInterpreterState *interp, void **out, size_t cap)
{
    struct _gc_runtime_state *gc = &interp->gc;
    size_t n = 0;
    for (int g = 0; g < NUM_GENERATIONS && n < cap; g++)
        out[n++] = &gc->generations[g].head;
    if (n < cap)
        out[n++] = &gc->permanent_generation.head;
    return n;
}

void *phd_py_gc_first(void *head) { return phd_py_gc_next(head, head); }

void *phd_py_gc_next(void *head, void *g)
{
    PyGC_Head *next = _PyGCHead_NEXT((PyGC_Head *)g);
    return next == (PyGC_Head *)head ? NULL : next;
}

PyObject *phd_py_gc_object(void *g) { return (PyObject *)((PyGC_Head *)g + 1); }

/* Object/typeobject.c, _PyObject_ComputedDictPointer: the __dict__ slot
 * of an instance whose class has a tp_dictoffset (not a managed dict). */
static PyObject *common_dict_at_offset(PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    Py_ssize_t off = tp->tp_dictoffset;
    if (off == 0)
        return NULL;
    if (off < 0) {
        Py_ssize_t n = Py_SIZE(obj);
        off += (Py_ssize_t)_PyObject_VAR_SIZE(tp, n < 0 ? -n : n);
    }
    return *(PyObject **)((char *)obj + off);
}

/* Names and values of the entries i < n of a split table's values, the
 * keys coming from the class's shared keys (ht_cached_keys); a value
 * beyond the keys' entries is visited unnamed. */
static void common_visit_values(PyTypeObject *tp, PyObject **values, Py_ssize_t n, phd_py_visit_fn *visit,
                                void *ctx)
{
    PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
    PyDictUnicodeEntry *ent = keys ? DK_UNICODE_ENTRIES(keys) : NULL;
    Py_ssize_t named = keys ? keys->dk_nentries : 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = values[i];
        if (v)
            visit(ctx, v, i < named ? ent[i].me_key : NULL);
    }
}

size_t phd_py_dict_size(PyObject *op) { return (size_t)_PyDict_SizeOf((PyDictObject *)op); }

#if PY_VERSION_HEX >= 0x030C0000
/* Objects/unicodeobject.c, unicode_sizeof (3.12 and 3.13): a compact
 * ASCII str is the struct, its characters and a NUL (its UTF-8 is its
 * data).  3.11's, which also has a wstr copy to rule out, is in
 * pyver_311.c. */
size_t phd_py_str_size(PyObject *op)
{
    PyASCIIObject *a = (PyASCIIObject *)op;
    if (!a->state.compact || !a->state.ascii)
        return 0;
    return sizeof(PyASCIIObject) + (size_t)a->length + 1;
}
#endif

/* Objects/dictobject.c, _PyDict_Next: a combined table's entries are
 * [0, dk_nentries) after the index array, general or unicode-keyed
 * (pycore_dict.h, DK_ENTRIES and DK_UNICODE_ENTRIES); a deleted one has
 * no value.  A split table (ma_values) is left to PyDict_Next, which
 * follows the values' insertion order. */
int phd_py_dict_entries(PyObject *op, struct phd_py_dict_entries *e)
{
    PyDictObject *mp = (PyDictObject *)op;
    PyDictKeysObject *k = mp->ma_keys;
    if (mp->ma_values || !k)
        return 0;
    e->n = (size_t)k->dk_nentries;
    if (k->dk_kind == DICT_KEYS_GENERAL) {
        e->base = (const char *)DK_ENTRIES(k);
        e->stride = sizeof(PyDictKeyEntry);
        e->key_off = offsetof(PyDictKeyEntry, me_key);
        e->value_off = offsetof(PyDictKeyEntry, me_value);
    } else {
        e->base = (const char *)DK_UNICODE_ENTRIES(k);
        e->stride = sizeof(PyDictUnicodeEntry);
        e->key_off = offsetof(PyDictUnicodeEntry, me_key);
        e->value_off = offsetof(PyDictUnicodeEntry, me_value);
    }
    return 1;
}

#if PY_VERSION_HEX < 0x030D0000
/* Objects/dictobject.c, new_values (3.11 and 3.12): a values array of
 * `size` slots is one PyMem_Malloc of a prefix (round_up(size + 2, 8)
 * bytes: the insertion order, its length, and the prefix size in the byte
 * just before the slots) and the slots.  The size is the class's shared
 * keys' usable size when the instance was made, which shrinks by one per
 * new instance until it reaches the number of keys + 1 (init_inline_values),
 * so today's keys give a lower bound and the stored prefix size the range
 * of 8: exact for all but a class's first instances, within 7 slots for
 * those. */
static inline size_t common_split_values_size(const PyDictValues *values, const PyDictKeysObject *keys)
{
    size_t prefix = ((const uint8_t *)values)[-1];
    size_t lo = prefix >= 9 ? prefix - 9 : 0, hi = prefix >= 2 ? prefix - 2 : 0;
    size_t now = keys ? (size_t)keys->dk_nentries + (size_t)keys->dk_usable : lo;
    size_t size = now < lo ? lo : now > hi ? hi : now;
    return prefix + size * sizeof(PyObject *);
}
#endif

#endif
