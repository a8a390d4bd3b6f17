/*
 * pyver_312.c - the agent's view of CPython 3.12 internals (pyver.h).
 * Offsets and layouts come from CPython 3.12's Include/internal/ and
 * Include/cpython/ headers, named beside each use.
 *
 * What 3.12 changed for the agent: immortal objects; the managed dict slot
 * holds either the values array (tagged) or the dict (PyDictOrValues);
 * static builtin types keep tp_dict and tp_subclasses in the interpreter
 * (tp_subclasses holds an index there); generators lost gi_code; the
 * frame's function is f_funcobj; functions gained __type_params__; the
 * import state moved to interp->imports; the raised exception is
 * ts->current_exception; co_code lives in the code object's _co_cached.
 */
#include "pyver_common.h"
#include "internal/pycore_long.h" /* _PyLong_DigitCount */

#if PY_VERSION_HEX < 0x030C0000 || PY_VERSION_HEX >= 0x030D0000
#error "pyver_312.c is for CPython 3.12"
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
const char phd_py_version[] = "3.12";

/* Include/object.h: _Py_IsImmortal (refcount _Py_IMMORTAL_REFCNT) */
int phd_py_is_immortal(PyObject *op) { return _Py_IsImmortal(op); }

/* Python/sysmodule.c, _PySys_GetSizeOf (3.12): the type's pre-header
 * (pycore_object.h, _PyType_PreHeaderSize), static types included. */
size_t phd_py_sizeof_extra(PyObject *op, PyTypeObject *tp)
{
    (void)op;
    return _PyType_PreHeaderSize(tp);
}

size_t phd_py_owned_values(PyObject *op, PyTypeObject *tp)
{
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT))
        return 0;
    PyDictOrValues dorv = *_PyObject_DictOrValuesPointer(op);
    if (!_PyDictOrValues_IsValues(dorv))
        return 0; /* a materialised dict owns the values; its size counts them */
    return common_split_values_size(_PyDictOrValues_GetValues(dorv), ((PyHeapTypeObject *)tp)->ht_cached_keys);
}

int phd_py_owns_values(PyTypeObject *tp) { return (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) != 0; }

/* Objects/longobject.c, int___sizeof___impl (3.12): the digit count
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

/* Include/internal/pycore_typeobject.h: static_builtin_state, indexed by
 * (size_t)tp_subclasses - 1 for a _Py_TPFLAGS_STATIC_BUILTIN type
 * (Objects/typeobject.c, static_builtin_index_get). */
static static_builtin_state *static_state(PyTypeObject *tp)
{
    if (!(tp->tp_flags & _Py_TPFLAGS_STATIC_BUILTIN))
        return NULL;
    size_t i = (size_t)(uintptr_t)tp->tp_subclasses;
    PyInterpreterState *interp = PyInterpreterState_Get();
    if (i == 0 || i > interp->types.num_builtins_initialized)
        return NULL;
    return &interp->types.builtins[i - 1];
}

PyObject *phd_py_type_dict(PyTypeObject *tp) { return _PyType_GetDict(tp); }

PyObject *phd_py_type_subclasses(PyTypeObject *tp)
{
    if (tp->tp_flags & _Py_TPFLAGS_STATIC_BUILTIN) {
        static_builtin_state *st = static_state(tp);
        return st ? st->tp_subclasses : NULL;
    }
    return tp->tp_subclasses;
}

/* Objects/typeobject.c, subtype_traverse, and Objects/dictobject.c,
 * _PyObject_VisitInstanceAttributes/_PyObject_VisitManagedDict (3.12):
 * the managed slot (pycore_object.h, _PyObject_DictOrValuesPointer, three
 * words before the object) holds the values array tagged with bit 0, or
 * the dict. */
PyObject *phd_py_instance_attrs(PyObject *op, PyTypeObject *base, phd_py_visit_fn *visit, void *ctx)
{
    PyTypeObject *tp = Py_TYPE(op);
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        PyDictOrValues dorv = *_PyObject_DictOrValuesPointer(op);
        if (_PyDictOrValues_IsValues(dorv)) {
            PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
            if (keys)
                common_visit_values(tp, _PyDictOrValues_GetValues(dorv)->values, keys->dk_nentries, visit, ctx);
            return NULL;
        }
        return _PyDictOrValues_GetDict(dorv);
    }
    if (tp->tp_dictoffset == base->tp_dictoffset)
        return NULL;
    return common_dict_at_offset(op);
}

/* ---- frames: Include/internal/pycore_frame.h (3.12) ---- */

void *phd_py_thread_frame(PyThreadState *ts)
{
    /* Include/cpython/pystate.h: the frame hangs off the C frame */
    return ts->cframe ? ts->cframe->current_frame : NULL;
}

int phd_py_frame_read(void *fp, struct phd_py_frame *out)
{
    _PyInterpreterFrame *f = fp;
    if (f->owner == FRAME_OWNED_BY_CSTACK || _PyFrame_IsIncomplete(f))
        return 0;
    out->frame_obj = (PyObject *)f->frame_obj;
    out->func = f->f_funcobj;
    out->code = (PyObject *)f->f_code;
    out->co = f->f_code;
    out->locals = f->f_locals;
    out->globals = f->f_globals;
    out->localsplus = f->localsplus;
    out->nslots = f->stacktop;
    return 1;
}

int phd_py_frame_line(void *fp) { return PyUnstable_InterpreterFrame_GetLine(fp); }

/* ---- roots ---- */

/* Include/internal/pycore_interp.h and pycore_import.h (3.12) */
size_t phd_py_interp_roots(PyInterpreterState *interp, struct phd_py_root *out, size_t cap)
{
    size_t k = 0;
    ROOT(interp->imports.modules, "sys.modules");
    ROOT(interp->sysdict, "sys.__dict__");
    ROOT(interp->builtins, "builtins.__dict__");
    ROOT(interp->imports.modules_by_index, "modules_by_index");
    ROOT(interp->imports.importlib, "importlib");
    ROOT(interp->imports.import_func, "__import__");
    ROOT(interp->codec_search_path, "codec search path");
    ROOT(interp->codec_search_cache, "codec search cache");
    ROOT(interp->codec_error_registry, "codec error registry");
    ROOT(interp->dict, "interpreter dict");
    ROOT(interp->builtins_copy, "builtins copy");
    return k;
}

/* Include/cpython/pystate.h (3.12) */
size_t phd_py_thread_roots(PyThreadState *ts, struct phd_py_root *out, size_t cap)
{
    size_t k = 0;
    ROOT(ts->dict, "thread state dict");
    ROOT(ts->current_exception, "current exception");
    if (ts->exc_info)
        ROOT(ts->exc_info->exc_value, "handled exception");
    ROOT(ts->async_exc, "async exception");
    ROOT(ts->context, "context");
    return k;
}
