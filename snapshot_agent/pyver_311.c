/*
 * pyver_311.c - the agent's view of CPython 3.11 internals (pyver.h).
 * Offsets and layouts come from CPython 3.11's Include/internal/ and
 * Include/cpython/ headers, named beside each use.
 */
#include "pyver_common.h"

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030C0000
#error "pyver_311.c is for CPython 3.11"
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
    {NULL, 0},
};

/* Include/cpython/code.h (co_weakreflist is borrowed) */
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
    F(PyCodeObject, _co_code, "co_code"),
    {NULL, 0},
};

/* Include/cpython/genobject.h: 3.11 still has gi_code */
static const struct phd_py_field gen_fields[] = {
    F(PyGenObject, gi_code, "gi_code"),
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

const struct phd_py_layout phd_py_layout = {function_fields, code_fields, gen_fields, frame_fields, 0, NULL};
const char phd_py_version[] = "3.11";

int phd_py_is_immortal(PyObject *op)
{
    (void)op; /* immortal objects came with 3.12 */
    return 0;
}

/* Python/sysmodule.c, _PySys_GetSizeOf (3.11): the type's pre-header
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
    PyDictValues *values = *_PyObject_ValuesPointer(op);
    return values ? common_split_values_size(values, ((PyHeapTypeObject *)tp)->ht_cached_keys) : 0;
}

/* Objects/unicodeobject.c, unicode_sizeof (3.11): a compact ASCII str
 * without a wstr copy (made only by the deprecated Py_UNICODE API) is the
 * struct, its characters and a NUL. */
size_t phd_py_str_size(PyObject *op)
{
    PyASCIIObject *a = (PyASCIIObject *)op;
    if (!a->state.compact || !a->state.ascii || !a->state.ready || a->wstr)
        return 0;
    return sizeof(PyASCIIObject) + (size_t)a->length + 1;
}

int phd_py_owns_values(PyTypeObject *tp) { return (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) != 0; }

/* Objects/longobject.c, int___sizeof___impl (3.11): ob_size is the signed
 * digit count */
size_t phd_py_int_size(PyObject *op)
{
    Py_ssize_t n = Py_ABS(Py_SIZE(op));
    return offsetof(PyLongObject, ob_digit) + (size_t)(n > 1 ? n : 1) * sizeof(digit);
}

int phd_py_str_ready(PyObject *s) { return PyUnicode_READY(s); }

PyObject *phd_py_type_dict(PyTypeObject *tp) { return tp->tp_dict; }
PyObject *phd_py_type_subclasses(PyTypeObject *tp) { return tp->tp_subclasses; }

/* Objects/typeobject.c, subtype_traverse, and Objects/dictobject.c,
 * _PyObject_VisitInstanceAttributes (3.11): the values array hangs off
 * the pre-header (_PyObject_ValuesPointer), its keys are the class's
 * shared keys; a materialized dict sits in the managed dict slot. */
PyObject *phd_py_instance_attrs(PyObject *op, PyTypeObject *base, phd_py_visit_fn *visit, void *ctx)
{
    PyTypeObject *tp = Py_TYPE(op);
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        PyDictValues *values = *_PyObject_ValuesPointer(op);
        PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
        if (values && keys)
            common_visit_values(tp, values->values, keys->dk_nentries, visit, ctx);
    }
    if (tp->tp_dictoffset == base->tp_dictoffset)
        return NULL;
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)
        return *_PyObject_ManagedDictPointer(op);
    return common_dict_at_offset(op);
}

/* ---- frames: Include/internal/pycore_frame.h (3.11) ---- */

void *phd_py_thread_frame(PyThreadState *ts)
{
    /* Include/cpython/pystate.h: the frame hangs off the C frame */
    return ts->cframe ? ts->cframe->current_frame : NULL;
}

int phd_py_frame_read(void *fp, struct phd_py_frame *out)
{
    _PyInterpreterFrame *f = fp;
    if (_PyFrame_IsIncomplete(f))
        return 0;
    out->frame_obj = (PyObject *)f->frame_obj;
    out->func = (PyObject *)f->f_func;
    out->code = (PyObject *)f->f_code;
    out->co = f->f_code;
    out->locals = f->f_locals;
    out->globals = f->f_globals;
    out->localsplus = f->localsplus;
    out->nslots = f->stacktop;
    return 1;
}

int phd_py_frame_line(void *fp)
{
    _PyInterpreterFrame *f = fp;
    return PyCode_Addr2Line(f->f_code, _PyInterpreterFrame_LASTI(f) * (int)sizeof(_Py_CODEUNIT));
}

/* ---- roots ---- */

/* Include/internal/pycore_interp.h (3.11) */
size_t phd_py_interp_roots(PyInterpreterState *interp, struct phd_py_root *out, size_t cap)
{
    size_t k = 0;
    ROOT(interp->modules, "sys.modules");
    ROOT(interp->sysdict, "sys.__dict__");
    ROOT(interp->builtins, "builtins.__dict__");
    ROOT(interp->modules_by_index, "modules_by_index");
    ROOT(interp->importlib, "importlib");
    ROOT(interp->import_func, "__import__");
    ROOT(interp->codec_search_path, "codec search path");
    ROOT(interp->codec_search_cache, "codec search cache");
    ROOT(interp->codec_error_registry, "codec error registry");
    ROOT(interp->dict, "interpreter dict");
    ROOT(interp->builtins_copy, "builtins copy");
    return k;
}

/* Include/cpython/pystate.h (3.11): the raised exception is curexc_* */
size_t phd_py_thread_roots(PyThreadState *ts, struct phd_py_root *out, size_t cap)
{
    size_t k = 0;
    ROOT(ts->dict, "thread state dict");
    ROOT(ts->curexc_value, "current exception");
    if (ts->exc_info)
        ROOT(ts->exc_info->exc_value, "handled exception");
    ROOT(ts->async_exc, "async exception");
    ROOT(ts->context, "context");
    return k;
}
