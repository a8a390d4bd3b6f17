/*
 * pyver.h - everything the agent reads that a CPython release can change.
 *
 * The walk (_agent.c), the visited set and the snapshot writer use only
 * CPython's public and unstable C API plus this interface.  Each supported
 * version has one implementation, chosen by the build (meson.build in
 * python/pyheapdiff/ picks it from the interpreter's version):
 *
 *   pyver_311.c   CPython 3.11
 *   pyver_312.c   CPython 3.12
 *   pyver_313.c   CPython 3.13
 *
 * and pyver_common.h holds the few layout readers that are the same in all
 * of them (compiled against each version's own headers).  A new CPython
 * release means one new pyver_3XX.c; docs/agent.md lists what changed from
 * version to version and what 3.14 would need.
 *
 * Rules every implementation keeps: the GIL is held by the caller; no
 * function here runs Python code, allocates, or changes a reference count.
 * Every offset read from a private structure names, in a comment, the
 * CPython header it comes from.
 */
#ifndef PHD_AGENT_PYVER_H
#define PHD_AGENT_PYVER_H

#include <Python.h>
#include <stddef.h>
#include <stdint.h>

#if defined(Py_GIL_DISABLED) || PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030E0000 || \
    defined(PYPY_VERSION)
#error "pyheapdiff supports CPython 3.11, 3.12 and 3.13 with the GIL (not free-threaded builds or PyPy)."
#endif

/* A labelled reference found by a version-specific reader: name is the
 * attribute or variable name (a str) or NULL. */
typedef void phd_py_visit_fn(void *ctx, PyObject *target, PyObject *name);

/* A struct member holding a strong reference, and the label it gets. */
struct phd_py_field {
    const char *label;
    size_t offset;
};

/* Members read by offset, per object kind; each table ends with a NULL
 * label.  The walker emits a NAME edge per non-NULL member. */
struct phd_py_layout {
    const struct phd_py_field *function; /* PyFunctionObject */
    const struct phd_py_field *code;     /* PyCodeObject (not GC-tracked) */
    const struct phd_py_field *gen;      /* generators, coroutines, async generators */
    const struct phd_py_field *frame;    /* PyFrameObject, besides the frame it owns */
    /* 3.12 and later: more code members behind a pointer (_co_cached) at
     * this offset of PyCodeObject, or 0 */
    size_t code_cached;
    const struct phd_py_field *code_cached_fields;
};
extern const struct phd_py_layout phd_py_layout;

/* The supported version this file was built for, e.g. "3.12". */
extern const char phd_py_version[];

/* ---- objects ----------------------------------------------------------- */

/* 1 for an immortal object (3.12 and later: None, small ints, interned
 * and static strings, static types), whose refcount means nothing. */
int phd_py_is_immortal(PyObject *op);

/* What sys.getsizeof() adds to op's __sizeof__: the pre-header of its
 * type tp (GC header, managed dict and weakref pointers).  op is read only
 * when tp is PyType_Type (3.13: a static type has none); for any other tp
 * the answer is the same for every instance. */
size_t phd_py_sizeof_extra(PyObject *op, PyTypeObject *tp);

/* Memory that op alone owns and sys.getsizeof leaves out, for an instance
 * of a class defined in Python: its attribute values array (3.11 and 3.12:
 * a separate allocation hanging off the pre-header, while no __dict__ is
 * materialised; 3.13: the inline values allocated with the object).  0
 * for every other object.  docs/agent.md, "Sizes", says how exact it is. */
size_t phd_py_owned_values(PyObject *op, PyTypeObject *tp);
/* Whether phd_py_owned_values can be non-zero for instances of tp. */
int phd_py_owns_values(PyTypeObject *tp);

/* int.__sizeof__ of an int (or bool), read from its header without
 * calling it (Objects/longobject.c, int___sizeof___impl: at least one
 * digit is allocated, even for zero). */
size_t phd_py_int_size(PyObject *op);

/* str.__sizeof__ of an exact str read from its header, for the compact
 * ASCII form most strings have (Objects/unicodeobject.c, unicode_sizeof:
 * the struct, the characters and a NUL); 0 for any other form, whose
 * size the caller gets from __sizeof__ itself. */
size_t phd_py_str_size(PyObject *op);

/* dict.__sizeof__ of an exact dict without the call and the int it makes:
 * _PyDict_SizeOf, which it returns (exported by every supported CPython;
 * 3.13 declares it in an internal header). */
size_t phd_py_dict_size(PyObject *op);

/* A dict's combined table, to walk without a call per item: n entries
 * from base, stride bytes apart, each with its key and value pointers at
 * key_off and value_off; an entry without a value was deleted.  Returns 0
 * for a split table (its values apart, in their own order): use
 * PyDict_Next. */
struct phd_py_dict_entries {
    const char *base;
    size_t n, stride, key_off, value_off;
};
int phd_py_dict_entries(PyObject *op, struct phd_py_dict_entries *e);

/* 0 when the str's character data can be read (always, from 3.12 on). */
int phd_py_str_ready(PyObject *s);

/* A type's __dict__ and __subclasses__ dict, borrowed; for static builtin
 * types 3.12 and later keep them in the interpreter state. */
PyObject *phd_py_type_dict(PyTypeObject *tp);
PyObject *phd_py_type_subclasses(PyTypeObject *tp);

/* A module object's name (md_name), borrowed, or NULL. */
PyObject *phd_py_module_name(PyObject *mod);

/*
 * The attributes of an instance of a class defined in Python that live
 * outside a dict object (3.11 and 3.12: values in the pre-header; 3.13:
 * inline values after the header): visit(ctx, value, name) for each.
 * Returns the instance's own __dict__ to be visited as "__dict__" (the
 * managed dict, or the one at tp_dictoffset when base, the first base
 * class not defined in Python, does not have it), or NULL.
 */
PyObject *phd_py_instance_attrs(PyObject *op, PyTypeObject *base, phd_py_visit_fn *visit, void *ctx);

/* ---- frames ------------------------------------------------------------ */

/* What the walker reads from an interpreter frame (_PyInterpreterFrame). */
struct phd_py_frame {
    PyObject *frame_obj, *func, *code, *locals, *globals;
    PyCodeObject *co;       /* the frame's code, or NULL when it has none */
    PyObject **localsplus;  /* locals, cells, free variables, then the stack */
    int nslots;             /* used entries of localsplus */
};

/* The innermost frame of a thread, or NULL; the next outer frame. */
void *phd_py_thread_frame(PyThreadState *ts);
void *phd_py_frame_previous(void *f);
/* Fills *out and returns 1, or returns 0 for a frame that is not yet (or
 * no longer) a Python frame: an incomplete frame or a C-stack shim. */
int phd_py_frame_read(void *f, struct phd_py_frame *out);
/* The line the frame is executing, or -1. */
int phd_py_frame_line(void *f);
/* The frame of a suspended or running generator/coroutine, or NULL when
 * it has finished. */
void *phd_py_gen_frame(PyObject *gen);
/* The frame a frame object owns (a frame that outlived its call), or NULL
 * when the frame lives on a thread's stack or in a generator. */
void *phd_py_frameobj_frame(PyObject *frame);

/* ---- roots and the GC ---------------------------------------------------- */

struct phd_py_root {
    PyObject *obj; /* may be NULL: skipped */
    const char *name;
};

/* The interpreter's and one thread's root objects (sys.modules, codecs,
 * the current exception...).  Returns the number written, at most cap.
 * The interpreter's first three are always sys.modules, sys.__dict__ and
 * builtins.__dict__, in that order (obj NULL where absent). */
size_t phd_py_interp_roots(PyInterpreterState *interp, struct phd_py_root *out, size_t cap);
size_t phd_py_thread_roots(PyThreadState *ts, struct phd_py_root *out, size_t cap);

/* The GC's object lists: up to cap list heads into out; returns count.
 * phd_py_gc_first/next walk one list (NULL at its end). */
size_t phd_py_gc_lists(PyInterpreterState *interp, void **out, size_t cap);
void *phd_py_gc_first(void *head);
void *phd_py_gc_next(void *head, void *g);
PyObject *phd_py_gc_object(void *g);

#endif
