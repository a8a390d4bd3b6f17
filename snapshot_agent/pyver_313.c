/*
 * pyver_313.c - the agent's view of CPython 3.13 internals (pyver.h).
 * Offsets and layouts come from CPython 3.13's Include/internal/ and
 * Include/cpython/ headers, named beside each use.
 *
 * What 3.13 changed for the agent (after 3.12): instance attributes are
 * inline values right after the object header (Py_TPFLAGS_INLINE_VALUES,
 * with a "valid" flag) and the managed dict slot holds only a dict; the
 * thread's innermost frame is ts->current_frame (no C frames); a frame's
 * code is f_executable (a code object, or None in a shim); frame objects
 * gained f_extra_locals and f_locals_cache; static builtin types' state
 * moved to interp->types.builtins.initialized[]; the codecs' state moved
 * to interp->codecs.
 */
#include "pyver_common.h"
#include "internal/pycore_long.h" /* _PyLong_DigitCount */
#include "internal/pycore_tstate.h"

#if PY_VERSION_HEX < 0x030D0000 || PY_VERSION_HEX >= 0x030E0000
#error "pyver_313.c is for CPython 3.13"
#endif

/* Include/cpython/funcobject.h (func_closure is walked by _agent.c) */
static const struct phd_py_field function_fields[] = {
    F(PyFunctionObject, func_code, "__code__"),
    F(PyFunctionObject, func_globals, "__globals__"),
    F(PyFunctionObject, func_builtins, "__builtins__"),
    F(PyFunctionObject, func_module, "__module__"),
    F(PyFunctionObject, func_defaults, "__defaults__"),
    F(PyFunctionObject, func_kwdefaults, "__kwdefaults__"),
    F(PyFunctionObject, func_doc, "__doc__"),
    F(PyFunctionObject, func_name, "__name__"),
    F(PyFunctionObject, func_dict, "__dict__"),
    F(PyFunctionObject, func_annotations, "__annotations__"),
    F(PyFunctionObject, func_qualname, "__qualname__"),
    F(PyFunctionObject, func_typeparams, "__type_params__"),
    {NULL, 0},
};

/* Include/cpython/code.h (co_weakreflist is borrowed; _co_cached below) */
static const struct phd_py_field code_fields[] = {
    F(PyCodeObject, co_consts, "co_consts"),
    F(PyCodeObject, co_names, "co_names"),
    F(PyCodeObject, co_exceptiontable, "co_exceptiontable"),
    F(PyCodeObject, co_localsplusnames, "co_localsplusnames"),
    F(PyCodeObject, co_localspluskinds, "co_localspluskinds"),
    F(PyCodeObject, co_filename, "co_filename"),
    F(PyCodeObject, co_name, "co_name"),
    F(PyCodeObject, co_qualname, "co_qualname"),
    F(PyCodeObject, co_linetable, "co_linetable"),
    {NULL, 0},
};

/* Include/cpython/genobject.h: _PyGenObject_HEAD without gi_code */
static const struct phd_py_field gen_fields[] = {
    F(PyGenObject, gi_name, "__name__"),
    F(PyGenObject, gi_qualname, "__qualname__"),
    F(PyGenObject, gi_exc_state.exc_value, "exc_value"),
    {NULL, 0},
};

/* Include/internal/pycore_frame.h: struct _frame */
static const struct phd_py_field frame_fields[] = {
    F(PyFrameObject, f_back, "f_back"),
    F(PyFrameObject, f_trace, "f_trace"),
    F(PyFrameObject, f_extra_locals, "f_extra_locals"),
    F(PyFrameObject, f_locals_cache, "f_locals_cache"),
    {NULL, 0},
};

/* Include/cpython/code.h: _PyCoCached, filled on first use of co_code,
 * co_varnames, co_cellvars or co_freevars */
static const struct phd_py_field code_cached_fields[] = {
    F(_PyCoCached, _co_code, "co_code"),
    F(_PyCoCached, _co_varnames, "co_varnames"),
    F(_PyCoCached, _co_cellvars, "co_cellvars"),
    F(_PyCoCached, _co_freevars, "co_freevars"),
    {NULL, 0},
};

const struct phd_py_layout phd_py_layout = {function_fields,   code_fields, gen_fields, frame_fields,
                                            offsetof(PyCodeObject, _co_cached), code_cached_fields};
const char phd_py_version[] = "3.13";

/* Include/object.h: _Py_IsImmortal (the low 32 bits of the refcount negative) */
int phd_py_is_immortal(PyObject *op) { return _Py_IsImmortal(op); }

/* Python/sysmodule.c, _PySys_GetSizeOf (3.13): the pre-header
 * (pycore_object.h, _PyType_PreHeaderSize) except for static types, which
 * are not allocated with one. */
size_t phd_py_sizeof_extra(PyObject *op, PyTypeObject *tp)
{
    if (tp == &PyType_Type && !(((PyTypeObject *)op)->tp_flags & Py_TPFLAGS_HEAPTYPE))
        return 0;
    return _PyType_PreHeaderSize(tp);
}

/* Include/internal/pycore_dict.h, _PyInlineValuesSize (3.13): the inline
 * values are allocated with the object (Objects/typeobject.c,
 * _PyType_AllocNoTrack), a prefix of round_up(capacity, 8) bytes and
 * capacity + 1 pointers (the PyDictValues header and the slots), and
 * object.__sizeof__ does not count them.  A materialised dict that still
 * uses them counts their slots in its own size (_PyDict_SizeOf). */
size_t phd_py_owned_values(PyObject *op, PyTypeObject *tp)
{
    if (!(tp->tp_flags & Py_TPFLAGS_INLINE_VALUES))
        return 0;
    PyDictValues *values = _PyObject_InlineValues(op);
    size_t cap = values->capacity, alloc = cap;
    /* the object was allocated for the keys' usable size before
     * _PyObject_InitInlineValues shrank it by one for the next instance
     * and stored the smaller capacity: while a class's shared keys settle
     * (capacity above today's usable size), one slot more was allocated */
    PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
    if (keys && cap > (size_t)keys->dk_nentries + (size_t)keys->dk_usable)
        alloc = cap + 1;
    size_t size = _Py_SIZE_ROUND_UP(alloc, sizeof(PyObject *)) + (alloc + 1) * sizeof(PyObject *);
    PyDictObject *dict = _PyObject_ManagedDictPointer(op)->dict;
    if (dict && dict->ma_values == values)
        size -= cap * sizeof(PyObject *);
    return size;
}

int phd_py_owns_values(PyTypeObject *tp) { return (tp->tp_flags & Py_TPFLAGS_INLINE_VALUES) != 0; }

/* Objects/longobject.c, int___sizeof___impl (3.13): the digit count
 * is in lv_tag (Include/internal/pycore_long.h, _PyLong_DigitCount) */
size_t phd_py_int_size(PyObject *op)
{
    Py_ssize_t n = _PyLong_DigitCount((PyLongObject *)op);
    return offsetof(PyLongObject, long_value.ob_digit) + (size_t)(n > 1 ? n : 1) * sizeof(digit);
}

int phd_py_str_ready(PyObject *s)
{
    (void)s; /* every str is ready from 3.12 on (no wstr) */
    return 0;
}

/* Include/internal/pycore_typeobject.h: managed_static_type_state, in
 * interp->types.builtins.initialized[] at (size_t)tp_subclasses - 1 for a
 * _Py_TPFLAGS_STATIC_BUILTIN type (Objects/typeobject.c,
 * managed_static_type_index_get). */
static managed_static_type_state *static_state(PyTypeObject *tp)
{
    if (!(tp->tp_flags & _Py_TPFLAGS_STATIC_BUILTIN))
        return NULL;
    size_t i = (size_t)(uintptr_t)tp->tp_subclasses;
    PyInterpreterState *interp = PyInterpreterState_Get();
    if (i == 0 || i > interp->types.builtins.num_initialized)
        return NULL;
    return &interp->types.builtins.initialized[i - 1];
}

PyObject *phd_py_type_dict(PyTypeObject *tp) { return _PyType_GetDict(tp); }

PyObject *phd_py_type_subclasses(PyTypeObject *tp)
{
    if (tp->tp_flags & _Py_TPFLAGS_STATIC_BUILTIN) {
        managed_static_type_state *st = static_state(tp);
        return st ? st->tp_subclasses : NULL;
    }
    /* other static types managed by the runtime (_PyStaticType_InitForExtension)
     * also keep an index there: only a real pointer to a dict is one */
    PyObject *sub = tp->tp_subclasses;
    if ((uintptr_t)sub < 4096 || (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) && !PyDict_Check(sub)))
        return NULL;
    return sub;
}

/* Objects/typeobject.c, subtype_traverse, and Objects/dictobject.c,
 * PyObject_VisitManagedDict (3.13): with Py_TPFLAGS_INLINE_VALUES the
 * values follow the object header (pycore_object.h, _PyObject_InlineValues;
 * struct _dictvalues in pycore_dict.h), in use while "valid"; the managed
 * slot (MANAGED_DICT_OFFSET, three words before the object) holds the
 * dict once one was made. */
PyObject *phd_py_instance_attrs(PyObject *op, PyTypeObject *base, phd_py_visit_fn *visit, void *ctx)
{
    PyTypeObject *tp = Py_TYPE(op);
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        if (tp->tp_flags & Py_TPFLAGS_INLINE_VALUES) {
            PyDictValues *values = _PyObject_InlineValues(op);
            if (values->valid)
                common_visit_values(tp, values->values, values->capacity, visit, ctx);
        }
        return (PyObject *)_PyObject_ManagedDictPointer(op)->dict;
    }
    if (tp->tp_dictoffset == base->tp_dictoffset)
        return NULL;
    return common_dict_at_offset(op);
}

/* ---- frames: Include/internal/pycore_frame.h (3.13) ---- */

/* Include/cpython/pystate.h (3.13) */
void *phd_py_thread_frame(PyThreadState *ts) { return ts->current_frame; }

int phd_py_frame_read(void *fp, struct phd_py_frame *out)
{
    _PyInterpreterFrame *f = fp;
    if (f->owner == FRAME_OWNED_BY_CSTACK || _PyFrame_IsIncomplete(f))
        return 0;
    out->frame_obj = (PyObject *)f->frame_obj;
    out->func = f->f_funcobj;
    out->code = f->f_executable;
    out->co = f->f_executable && PyCode_Check(f->f_executable) ? (PyCodeObject *)f->f_executable : NULL;
    out->locals = f->f_locals;
    out->globals = f->f_globals;
    out->localsplus = f->localsplus;
    out->nslots = f->stacktop;
    return 1;
}

int phd_py_frame_line(void *fp)
{
    _PyInterpreterFrame *f = fp;
    return f->f_executable && PyCode_Check(f->f_executable) ? PyUnstable_InterpreterFrame_GetLine(f) : -1;
}

/* ---- roots ---- */

/* Include/internal/pycore_interp.h, pycore_import.h and pycore_codecs.h (3.13) */
size_t phd_py_interp_roots(PyInterpreterState *interp, struct phd_py_root *out, size_t cap)
{
    size_t k = 0;
    ROOT(interp->imports.modules, "sys.modules");
    ROOT(interp->sysdict, "sys.__dict__");
    ROOT(interp->builtins, "builtins.__dict__");
    ROOT(interp->imports.modules_by_index, "modules_by_index");
    ROOT(interp->imports.importlib, "importlib");
    ROOT(interp->imports.import_func, "__import__");
    ROOT(interp->codecs.search_path, "codec search path");
    ROOT(interp->codecs.search_cache, "codec search cache");
    ROOT(interp->codecs.error_registry, "codec error registry");
    ROOT(interp->dict, "interpreter dict");
    ROOT(interp->builtins_copy, "builtins copy");
    return k;
}

/* Include/cpython/pystate.h (3.13) */
size_t phd_py_thread_roots(PyThreadState *ts, struct phd_py_root *out, size_t cap)
{
    size_t k = 0;
    ROOT(ts->dict, "thread state dict");
    ROOT(ts->current_exception, "current exception");
    if (ts->exc_info)
        ROOT(ts->exc_info->exc_value, "handled exception");
    ROOT(ts->async_exc, "async exception");
    ROOT(ts->context, "context");
    /* Include/internal/pycore_tstate.h (3.13): every PyThreadState is a
     * _PyThreadStateImpl, which holds the running asyncio loop */
    ROOT(((_PyThreadStateImpl *)ts)->asyncio_running_loop, "asyncio running loop");
    return k;
}
