/*
 * _agent.c - the in-process heap walker behind pyheapdiff.dump().
 *
 * With the GIL held for the whole dump, this walks every object reachable
 * from the interpreter's roots (sys.modules, sys, builtins, interpreter and
 * thread state, each thread's frame stack) and then every GC-tracked object
 * not reached that way, and streams one node record per object (type, size,
 * refcount, preview) with its labelled references through the shared format
 * writer (src/format/writer.c).  docs/format.md specifies the records.
 *
 * Invariants:
 *  - No Python code runs: no __repr__, __eq__, __hash__, __getattr__ or
 *    Python-level __sizeof__.  Names are found by walking dicts with
 *    PyDict_Next and comparing exact str keys in C; previews are encoded
 *    here without touching the object (no UTF-8 cache is filled in).
 *  - No recursion over the heap: node indices are handed out in discovery
 *    order and a queue holds the breadth-first frontier.  A new root (a "seed") is
 *    only taken once the queue is drained, which is what lets the reader
 *    rebuild edge targets from the "discovered so far" count.
 *  - Extra memory is the visited set (one 8-byte slot per object, at most
 *    3/4 full), the queue (the frontier only) and the writer's fixed
 *    buffer; nothing per object is allocated on the hot path.
 *  - The file is written to a temporary name (mode 0600) and renamed at the
 *    end, or written in place when the path is a device or a FIFO
 *    (src/util/outfile.c); on any failure the temporary is removed and
 *    OSError is raised.
 *
 * This file uses CPython's public and unstable C API only.  Everything
 * that depends on a CPython version's private layouts (frames, instance
 * values and managed dicts, GC lists, interpreter roots, immortality) is
 * behind pyver.h, with one implementation per supported version
 * (pyver_311.c, pyver_312.c, pyver_313.c) chosen by the build.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyver.h"
#include "structmember.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#if defined(__linux__)
#include <semaphore.h> /* sizeof(sem_t): what a _thread lock allocates (owned_by_type) */
#endif
#include <unistd.h>

#include "pyheapdiff/format.h"
#include "pyheapdiff/outfile.h"
#include "pyheapdiff/text.h"
#include "pyheapdiff/thread.h"


#define CHUNK_SIZE (256u << 10)

/* ---- a small pointer-keyed hash map (types, strings, roots, ...) ----- */

struct ptrmap {
    uintptr_t *keys;
    uint64_t *vals;
    size_t mask, used;
};

static size_t ptr_hash(uintptr_t p)
{
    uint64_t h = (uint64_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 29));
}

static void ptrmap_free(struct ptrmap *m)
{
    PyMem_RawFree(m->keys);
    PyMem_RawFree(m->vals);
    memset(m, 0, sizeof *m);
}

static int ptrmap_grow(struct ptrmap *m)
{
    size_t ncap = m->keys ? (m->mask + 1) * 2 : 256;
    uintptr_t *nk = PyMem_RawCalloc(ncap, sizeof *nk);
    uint64_t *nv = PyMem_RawMalloc(ncap * sizeof *nv);
    if (!nk || !nv) {
        PyMem_RawFree(nk);
        PyMem_RawFree(nv);
        return -1;
    }
    if (m->keys) {
        for (size_t i = 0; i <= m->mask; i++) {
            if (!m->keys[i])
                continue;
            size_t j = ptr_hash(m->keys[i]) & (ncap - 1);
            while (nk[j])
                j = (j + 1) & (ncap - 1);
            nk[j] = m->keys[i];
            nv[j] = m->vals[i];
        }
    }
    PyMem_RawFree(m->keys);
    PyMem_RawFree(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->mask = ncap - 1;
    return 0;
}

/* Returns a pointer to the value slot for key, or NULL when absent. */
static uint64_t *ptrmap_get(struct ptrmap *m, const void *key)
{
    if (!m->keys)
        return NULL;
    uintptr_t k = (uintptr_t)key;
    for (size_t j = ptr_hash(k) & m->mask;; j = (j + 1) & m->mask) {
        if (m->keys[j] == k)
            return &m->vals[j];
        if (!m->keys[j])
            return NULL;
    }
}

static int ptrmap_put(struct ptrmap *m, const void *key, uint64_t val)
{
    if (!m->keys || (m->used + 1) * 4 > (m->mask + 1) * 3)
        if (ptrmap_grow(m) < 0)
            return -1;
    uintptr_t k = (uintptr_t)key;
    size_t j = ptr_hash(k) & m->mask;
    while (m->keys[j] && m->keys[j] != k)
        j = (j + 1) & m->mask;
    if (!m->keys[j])
        m->used++;
    m->keys[j] = k;
    m->vals[j] = val;
    return 0;
}

/* ---- per-type information ---------------------------------------------- */

enum walk_kind {
    WALK_NONE,      /* no references (not a GC type) */
    WALK_TRAVERSE,  /* tp_traverse, unlabelled */
    WALK_DICT,
    WALK_LIST,
    WALK_TUPLE,
    WALK_SUBTYPE,   /* a class defined in Python: slots, attributes, type */
    WALK_FUNCTION,
    WALK_CELL,
    WALK_METHOD,
    WALK_MODULE,
    WALK_TYPE,      /* type objects, heap or static */
    WALK_FRAME,
    WALK_CODE,
    WALK_WEAKREF,
    WALK_GEN,       /* generators and coroutines */
};

/* References that hold memory but that tp_traverse does not report (or
 * reports unlabelled), followed after the type's own walk. */
enum extra_refs {
    EXTRA_MEMBERS = 1, /* object members declared in tp_members (C types) */
    EXTRA_NDARRAY = 2, /* numpy.ndarray's base and dtype */
};

enum preview_kind { PV_NONE, PV_STR, PV_BYTES, PV_BYTEARRAY, PV_INT, PV_FLOAT, PV_MODULE, PV_FUNCTION, PV_TYPE, PV_CODE };

/* How an object's size is found: object.__sizeof__'s formula, the type's
 * C __sizeof__, or (exact int, str, list, dict, set, frozenset) what that
 * __sizeof__ computes, without the call and the int it makes. */
enum size_mode { SIZE_DEFAULT, SIZE_CALL, SIZE_INT, SIZE_STR, SIZE_LIST, SIZE_DICT, SIZE_SET };

struct tinfo {
    PyTypeObject *tp;
    uint32_t id;
    uint8_t walk, preview, size_mode, has_default;
    uint8_t extra;         /* EXTRA_*: references tp_traverse does not report */
    uint8_t origin;        /* enum phd_origin of the type's module */
    uint32_t name_sid;
    size_t node;           /* node index of the type object, once known */
    PyCFunction sizeof_fn;
    uint64_t default_size;
    uint32_t owned;        /* bytes every instance owns beyond __sizeof__ */
    uint32_t pre_header;   /* phd_py_sizeof_extra: the same for every instance, */
    uint8_t pre_header_varies; /* unless this is set (instances of type) */
    uint8_t owns_values;   /* phd_py_owns_values */
    uint8_t foreign_size;  /* sizeof_fn is not CPython's own code */
};

/* ---- the dump state -------------------------------------------------- */

#define PEND_MAX 2048
#define RECENT_BITS 12
#define WIN_MAX 256
struct pending {
    PyObject *target;
    unsigned kind;     /* PHD_LABEL_* or EDGE_CLASS, | EDGE_BORROWED, EDGE_CLOSURE */
    unsigned leaf;     /* set by resolve(): a unique leaf, written inline */
    uint64_t payload;
};
/* A node's preview (phd_node_out): a string id, a number, or text. */
struct pview {
    uint32_t sid;  /* UINT32_MAX: none */
    uint8_t kind;  /* enum phd_preview_kind */
    uint8_t len;   /* the text's */
    uint64_t num;  /* kind INT or FLOAT: the value's bits */
    char text[PHD_PREVIEW_MAX];
};

/* Whether a preview was made (flag PHD_NODE_PREVIEW). */
static inline int pview_any(const struct pview *pv)
{
    return pv->len || pv->sid != UINT32_MAX || pv->kind != PHD_PREVIEW_TEXT;
}

/* A record's preview fields from pv. */
static inline void pview_out(struct phd_node_out *rec, const struct pview *pv)
{
    rec->preview = pv->text;
    rec->preview_len = pv->len;
    rec->preview_sid = pv->sid;
    rec->preview_kind = pv->kind;
    rec->preview_num = pv->num;
}

struct wnode {
    PyObject *op;
    uint32_t tid;
    uint8_t flags, staged;
    uint8_t begun;
    uint32_t nedges;
    size_t pend_start;
    uint64_t size, refcnt;
    struct pview pv;
};

struct root {
    PyObject *obj;
    uint32_t kind;
    uint32_t name; /* string id or UINT32_MAX */
    uint64_t thread_id;
};

struct dump {
    struct phd_writer w;
    int values;
    int failed;            /* ENOMEM or a writer errno */

    /* nodes [0, n) have indices; the queue holds the ones not yet written
     * that are not inline (docs/format.md), in index order: positions
     * [qhead, qtail), stored at q[pos - qbase] */
    size_t n;
    size_t n_table;           /* nodes in the visited set (not inline, not far) */
    PyObject **q;
    size_t qhead, qtail, qbase, qcap;
    struct ptrmap rootset;    /* the root objects: never written inline */
    /* visited set (see "the visited set" below) */
    uint64_t *slots;
    unsigned vbits;
    struct ptrmap far;        /* addresses >= 2^48 -> node index */
    /* the objects that are nodes, a bit per 16 bytes of address in
     * 256 KiB regions (see "the node bitmap") */
    struct ptrmap gb_map;     /* region + 1 -> offset of its bitmap in gb */
    unsigned char *gb;
    size_t gb_len, gb_cap;
    uintptr_t gb_last_key;
    size_t gb_last_off;
    int gb_frozen;            /* no more regions: new ones' nodes go to the visited set */
    /* queued edges of the current node */
    struct pending pend[PEND_MAX];
    size_t npend;
    struct wnode win[WIN_MAX];
    size_t nwin;
    /* the most recently resolved targets: most references go to a few
     * shared objects, which this keeps out of the big table */
    struct recent {
        PyObject *op;
        uint32_t idx;
    } recent[1 << RECENT_BITS];

    /* edges of the node being resolved, encoded */
    unsigned char *ebuf;
    size_t elen, ecap;
    struct phd_encoder enc;
    size_t last_target;
    uint64_t n_edges, total_size;

    struct tinfo *types;
    uint32_t n_types, types_cap;
    struct ptrmap type_map;   /* PyTypeObject* -> index in types */
    struct tinfo *last_ti;

    /* strings: encoded records in one growing buffer */
    unsigned char *sbuf;
    size_t slen, scap;
    uint32_t n_strings;
    struct ptrmap str_map;    /* str object or C string -> string id */
    /* closure tuples discovered through their function, with its code,
     * in discovery order: positions [head, tail) of a (see walk_tuple) */
    struct closure_hint {
        PyObject *tuple;
        PyObject *code;
    } *cl;
    size_t cl_head, cl_tail, cl_cap;
    struct ptrmap cl_late;    /* closure tuple discovered before its function -> code */

    struct root *roots;
    size_t n_roots, roots_cap;

    struct ptrmap origins;    /* name_hash(module name) -> enum phd_origin + 1 */

    PyObject *skip_globals;
    uint32_t sid_class;

    /* the GC lists, read ahead by a second thread (see "the GC lists") */
    struct prewalk {
        pthread_t th;
        int running;             /* th started and not yet joined */
        int usable;              /* buf holds the lists as they are */
        int served;              /* the last pass read buf to its end */
        void *lists[8];
        size_t nlists;
        PyObject **buf;
        size_t cap;              /* entries mapped (reserved, not touched) */
        _Atomic size_t ready;    /* entries buf[0, ready) are written */
        _Atomic int state;       /* PW_RUNNING, PW_DONE or PW_FULL */
        _Atomic int stop;        /* the main thread asks it to end */
    } pw;
};

/* Objects captured once at import: the traverse functions we recognise. */
static traverseproc subtype_traverse_fn;
static PyCFunction object_sizeof_fn;

/* The growing buffers (queue, edges, strings) are mapped directly, not
 * taken from malloc: a buffer of several MiB freed by one dump would raise
 * glibc's mmap threshold, and the next dump's would then stay in the
 * process's heap as resident memory after it ends. */
static void *buf_resize(void *p, size_t old, size_t len)
{
    void *r = p ? mremap(p, old, len, MREMAP_MAYMOVE)
                : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return r == MAP_FAILED ? NULL : r;
}

static void buf_free(void *p, size_t len)
{
    if (p)
        munmap(p, len);
}

static void fail_nomem(struct dump *d)
{
    if (!d->failed)
        d->failed = ENOMEM;
}

/* ---- strings --------------------------------------------------------- */

/* Encodes up to cap bytes of UTF-8 from a str without touching it (no
 * UTF-8 cache is created).  Cuts at a character boundary. */
static size_t str_utf8(PyObject *s, char *buf, size_t cap)
{
    if (!PyUnicode_Check(s) || phd_py_str_ready(s) < 0) {
        PyErr_Clear();
        return 0;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    size_t o = 0;
    if (PyUnicode_IS_ASCII(s)) {
        size_t l = (size_t)len < cap ? (size_t)len : cap;
        memcpy(buf, data, l);
        return l;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        char tmp[4];
        size_t k;
        if (c < 0x80) {
            tmp[0] = (char)c;
            k = 1;
        } else if (c < 0x800) {
            tmp[0] = (char)(0xC0 | (c >> 6));
            tmp[1] = (char)(0x80 | (c & 0x3F));
            k = 2;
        } else if (c < 0x10000) {
            if (c >= 0xD800 && c <= 0xDFFF)
                c = 0xFFFD; /* lone surrogate */
            tmp[0] = (char)(0xE0 | (c >> 12));
            tmp[1] = (char)(0x80 | ((c >> 6) & 0x3F));
            tmp[2] = (char)(0x80 | (c & 0x3F));
            k = 3;
        } else {
            tmp[0] = (char)(0xF0 | (c >> 18));
            tmp[1] = (char)(0x80 | ((c >> 12) & 0x3F));
            tmp[2] = (char)(0x80 | ((c >> 6) & 0x3F));
            tmp[3] = (char)(0x80 | (c & 0x3F));
            k = 4;
        }
        if (o + k > cap)
            break;
        memcpy(buf + o, tmp, k);
        o += k;
    }
    return o;
}

static uint32_t string_add(struct dump *d, const char *s, size_t len)
{
    if (d->slen + len + 10 > d->scap) {
        size_t ncap = d->scap ? d->scap * 2 : 65536;
        while (ncap < d->slen + len + 10)
            ncap *= 2;
        unsigned char *nb = buf_resize(d->sbuf, d->scap, ncap);
        if (!nb) {
            fail_nomem(d);
            return 0;
        }
        d->sbuf = nb;
        d->scap = ncap;
    }
    unsigned char *p = phd_varint_put(d->sbuf + d->slen, len);
    memcpy(p, s, len);
    d->slen = (size_t)(p - d->sbuf) + len;
    return d->n_strings++;
}

/* String id for a C string with static lifetime (labels, slot names). */
static uint32_t string_c(struct dump *d, const char *s)
{
    uint64_t *v = ptrmap_get(&d->str_map, s);
    if (v)
        return (uint32_t)*v;
    uint32_t id = string_add(d, s, strlen(s));
    if (ptrmap_put(&d->str_map, s, id) < 0)
        fail_nomem(d);
    return id;
}

/* String id for a str object used as a name (attribute, variable). */
static uint32_t string_obj(struct dump *d, PyObject *s)
{
    uint64_t *v = ptrmap_get(&d->str_map, s);
    if (v)
        return (uint32_t)*v;
    char buf[256];
    size_t l = str_utf8(s, buf, sizeof buf);
    uint32_t id = string_add(d, buf, l);
    if (ptrmap_put(&d->str_map, s, id) < 0)
        fail_nomem(d);
    return id;
}

/* String id for the name of an attribute or variable, or UINT32_MAX when
 * it must not be written: with values=False only identifiers are names.
 * Code gives identifiers; a name set from data (setattr(o, text, v), which
 * 3.11 keeps in the class's shared keys) is content and stays out. */
static uint32_t string_name(struct dump *d, PyObject *s)
{
    if (!d->values && !ptrmap_get(&d->str_map, s) && PyUnicode_IsIdentifier(s) != 1) {
        PyErr_Clear();
        return UINT32_MAX;
    }
    return string_obj(d, s);
}

/* Looks up an exact-str key in a dict without running any Python code. */
static PyObject *dict_get_str(PyObject *dict, const char *name)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    if (!dict || !PyDict_Check(dict))
        return NULL;
    while (PyDict_Next(dict, &pos, &k, &v))
        if (PyUnicode_CheckExact(k) && PyUnicode_CompareWithASCIIString(k, name) == 0)
            return v;
    return NULL;
}

/* ---- where types come from (TYPE_ORIGINS) ------------------------------ */

/* FNV-1a of a name's UTF-8 bytes, never 0 (ptrmap's empty key). */
static uintptr_t name_hash(const char *s, size_t len)
{
    return (uintptr_t)(phd_fnv1a(s, len) | 1);
}

/* The top-level names of sys.stdlib_module_names, hashed: filled when the
 * module is imported (agent_exec), read by dumps; protected by the GIL. */
static struct ptrmap stdlib_names;

static int is_stdlib(const char *name, size_t len)
{
    const char *dot = memchr(name, '.', len);
    return ptrmap_get(&stdlib_names, (const void *)name_hash(name, dot ? (size_t)(dot - name) : len)) != NULL;
}

static int contains(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(s + i, needle, n) == 0)
            return 1;
    return 0;
}

/* The rule (docs/cli.md, "Where a type comes from"): __main__ is the
 * user's; a module loaded from site-packages or dist-packages is
 * third-party, and so is pyheapdiff itself wherever it is loaded from (a
 * tool, not the program); one of sys.stdlib_module_names (its top-level
 * package) is the standard library; any other module is the user's. */
static unsigned module_origin(PyObject *mod, const char *name, size_t len)
{
    if (len == 8 && memcmp(name, "__main__", 8) == 0)
        return PHD_ORIGIN_USER;
    if (len >= 10 && memcmp(name, "pyheapdiff", 10) == 0 && (len == 10 || name[10] == '.'))
        return PHD_ORIGIN_THIRD_PARTY;
    PyObject *file = PyModule_Check(mod) ? dict_get_str(PyModule_GetDict(mod), "__file__") : NULL;
    if (file && PyUnicode_Check(file)) {
        char buf[1024];
        size_t l = str_utf8(file, buf, sizeof buf);
        if (contains(buf, l, "/site-packages/") || contains(buf, l, "/dist-packages/"))
            return PHD_ORIGIN_THIRD_PARTY;
    }
    return is_stdlib(name, len) ? PHD_ORIGIN_STDLIB : PHD_ORIGIN_USER;
}

/* Classifies every module of sys.modules once per dump: name -> origin. */
static void origins_init(struct dump *d)
{
    PyObject *modules = PyImport_GetModuleDict(), *k, *v;
    Py_ssize_t pos = 0;
    while (modules && PyDict_Next(modules, &pos, &k, &v)) {
        char name[512];
        if (!PyUnicode_CheckExact(k))
            continue;
        size_t len = str_utf8(k, name, sizeof name);
        if (ptrmap_put(&d->origins, (const void *)name_hash(name, len), module_origin(v, name, len) + 1) < 0)
            fail_nomem(d);
    }
}

/* The origin of a type: its module's (__module__ of a class, the part of a
 * static type's tp_name before the last dot); the interpreter's own types
 * (no module, or builtins) are builtin. */
static uint8_t type_origin(struct dump *d, PyTypeObject *tp)
{
    char buf[512];
    size_t len = 0;
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        PyObject *mod = dict_get_str(phd_py_type_dict(tp), "__module__");
        if (mod && PyUnicode_Check(mod))
            len = str_utf8(mod, buf, sizeof buf);
    } else if (tp->tp_name) {
        const char *dot = strrchr(tp->tp_name, '.');
        len = dot ? (size_t)(dot - tp->tp_name) : 0;
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        memcpy(buf, tp->tp_name, len);
    }
    if (len == 0 || (len == 8 && memcmp(buf, "builtins", 8) == 0))
        return PHD_ORIGIN_BUILTIN;
    uint64_t *o = ptrmap_get(&d->origins, (const void *)name_hash(buf, len));
    if (o)
        return (uint8_t)(*o - 1);
    /* a module no longer (or never) in sys.modules */
    return is_stdlib(buf, len) ? PHD_ORIGIN_STDLIB : PHD_ORIGIN_UNKNOWN;
}

/* ---- types ----------------------------------------------------------- */

static uint32_t type_name_sid(struct dump *d, PyTypeObject *tp)
{
    char buf[512];
    size_t o = 0;
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        PyHeapTypeObject *ht = (PyHeapTypeObject *)tp;
        PyObject *mod = dict_get_str(phd_py_type_dict(tp), "__module__");
        if (mod && PyUnicode_CheckExact(mod) && PyUnicode_CompareWithASCIIString(mod, "builtins") != 0) {
            o = str_utf8(mod, buf, 200);
            buf[o++] = '.';
        }
        o += str_utf8(ht->ht_qualname, buf + o, sizeof buf - o);
    } else {
        const char *n = tp->tp_name ? tp->tp_name : "?";
        o = strlen(n);
        if (o >= sizeof buf)
            o = sizeof buf - 1;
        memcpy(buf, n, o);
    }
    return string_add(d, buf, o);
}

/* What each instance of tp owns that its __sizeof__ leaves out and that no
 * other object accounts for: a _thread lock's OS lock (Modules/
 * _threadmodule.c: lock_lock and rlock_lock, from PyThread_allocate_lock,
 * a PyMem_RawMalloc'd sem_t where CPython uses POSIX semaphores, as on
 * Linux).  Subclasses defined in Python have their own tp_name and are not
 * matched; other platforms count 0. */
static uint32_t owned_by_type(PyTypeObject *tp)
{
#if defined(__linux__)
    if (strcmp(tp->tp_name, "_thread.lock") == 0 || strcmp(tp->tp_name, "_thread.RLock") == 0)
        return (uint32_t)sizeof(sem_t);
#else
    (void)tp;
#endif
    return 0;
}

/* 1 when fn is code of CPython itself (libpython or the executable it is
 * linked into, built-in modules included, and the standard library's
 * extension modules in its lib-dynload directory, such as _struct or
 * array), which never links or unlinks GC objects in a __sizeof__; 0 for
 * other extension modules' code, which may.  Only CPython's own build
 * installs into ".../pythonX.Y/lib-dynload/"; packages go to
 * site-packages. */
#define PHD_STR2(x) #x
#define PHD_STR(x) PHD_STR2(x)
static int in_core(PyCFunction fn)
{
    static const char dynload[] = "/python" PHD_STR(PY_MAJOR_VERSION) "." PHD_STR(PY_MINOR_VERSION) "/lib-dynload/";
    static void *core_base;
    Dl_info info;
    void *code; /* POSIX: a function's address fits an object pointer */
    _Static_assert(sizeof code == sizeof fn, "function pointers are data pointers' size");
    memcpy(&code, &fn, sizeof code);
    if (!core_base) {
        if (!dladdr((void *)&PyLong_Type, &info) || !info.dli_fbase)
            return 0;
        core_base = info.dli_fbase;
    }
    if (!dladdr(code, &info))
        return 0;
    if (info.dli_fbase == core_base)
        return 1;
    const char *slash = info.dli_fname ? strrchr(info.dli_fname, '/') : NULL;
    size_t dl = sizeof dynload - 1;
    return slash && (size_t)(slash + 1 - info.dli_fname) >= dl && memcmp(slash + 1 - dl, dynload, dl) == 0;
}

/* Finds the C function behind a type's __sizeof__, searching the MRO's
 * dicts by hand.  Returns 1 with *fn set for a METH_NOARGS C method, 0 when
 * the default formula applies (object.__sizeof__, or a Python override we
 * must not call). */
static int find_sizeof(PyTypeObject *tp, PyCFunction *fn)
{
    PyObject *mro = tp->tp_mro;
    if (!mro || !PyTuple_Check(mro))
        return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *base = PyTuple_GET_ITEM(mro, i);
        if (!PyType_Check(base))
            continue;
        PyObject *m = dict_get_str(phd_py_type_dict((PyTypeObject *)base), "__sizeof__");
        if (!m)
            continue;
        if (Py_IS_TYPE(m, &PyMethodDescr_Type)) {
            PyMethodDef *def = ((PyMethodDescrObject *)m)->d_method;
            if ((def->ml_flags & METH_NOARGS) && def->ml_meth != object_sizeof_fn) {
                *fn = def->ml_meth;
                return 1;
            }
        }
        return 0;
    }
    return 0;
}

static uint8_t choose_walk(PyTypeObject *tp)
{
    traverseproc t = tp->tp_traverse;
    if (tp == &PyCode_Type)
        return WALK_CODE;
    if (PyType_IsSubtype(tp, &PyType_Type))
        return WALK_TYPE;
    if (PyType_IsSubtype(tp, &_PyWeakref_RefType) || tp == &_PyWeakref_ProxyType ||
        tp == &_PyWeakref_CallableProxyType)
        return WALK_WEAKREF;
    if (!(tp->tp_flags & Py_TPFLAGS_HAVE_GC) || !t)
        return WALK_NONE;
    if (t == subtype_traverse_fn)
        return WALK_SUBTYPE;
    if (t == PyDict_Type.tp_traverse)
        return WALK_DICT;
    if (t == PyList_Type.tp_traverse)
        return WALK_LIST;
    if (t == PyTuple_Type.tp_traverse)
        return WALK_TUPLE;
    if (t == PyFunction_Type.tp_traverse)
        return WALK_FUNCTION;
    if (t == PyCell_Type.tp_traverse)
        return WALK_CELL;
    if (t == PyMethod_Type.tp_traverse)
        return WALK_METHOD;
    if (t == PyModule_Type.tp_traverse)
        return WALK_MODULE;
    if (t == PyFrame_Type.tp_traverse)
        return WALK_FRAME;
    if (t == PyGen_Type.tp_traverse)
        return WALK_GEN;
    return WALK_TRAVERSE;
}

static uint8_t choose_preview(PyTypeObject *tp)
{
    if (PyType_FastSubclass(tp, Py_TPFLAGS_UNICODE_SUBCLASS))
        return PV_STR;
    if (PyType_FastSubclass(tp, Py_TPFLAGS_BYTES_SUBCLASS))
        return PV_BYTES;
    if (PyType_IsSubtype(tp, &PyByteArray_Type))
        return PV_BYTEARRAY;
    if (PyType_FastSubclass(tp, Py_TPFLAGS_LONG_SUBCLASS))
        return PV_INT;
    if (PyType_IsSubtype(tp, &PyFloat_Type))
        return PV_FLOAT;
    if (PyType_IsSubtype(tp, &PyModule_Type))
        return PV_MODULE;
    if (tp == &PyFunction_Type)
        return PV_FUNCTION;
    if (PyType_FastSubclass(tp, Py_TPFLAGS_TYPE_SUBCLASS))
        return PV_TYPE;
    if (tp == &PyCode_Type)
        return PV_CODE;
    return PV_NONE;
}

/* numpy's public ABI (numpy/ndarraytypes.h, PyArrayObject_fields), the
 * same from numpy 1.7 to 2.x: read without importing or calling numpy. */
struct np_array_fields {
    PyObject_HEAD
    char *data;
    int nd;
    void *dimensions, *strides;
    PyObject *base;  /* the array (or other buffer owner) whose memory this view uses */
    PyObject *descr; /* the dtype */
};

static int is_ndarray_type(PyTypeObject *tp)
{
    for (; tp; tp = tp->tp_base)
        if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) && tp->tp_name && strcmp(tp->tp_name, "numpy.ndarray") == 0)
            return tp->tp_basicsize >= (Py_ssize_t)sizeof(struct np_array_fields);
    return 0;
}

/* Object members in the tp_members of a C type or its C bases (classes
 * defined in Python declare theirs as __slots__, walked by walk_subtype). */
static int has_object_members(PyTypeObject *tp)
{
    for (; tp && tp != &PyBaseObject_Type; tp = tp->tp_base) {
        if (tp->tp_traverse == subtype_traverse_fn)
            continue;
        for (PyMemberDef *m = tp->tp_members; m && m->name; m++)
            if (m->type == T_OBJECT || m->type == T_OBJECT_EX)
                return 1;
    }
    return 0;
}

static uint8_t choose_extra(PyTypeObject *tp, uint8_t walk)
{
    uint8_t extra = 0;
    if (is_ndarray_type(tp))
        extra |= EXTRA_NDARRAY;
    if ((walk == WALK_NONE || walk == WALK_TRAVERSE || walk == WALK_SUBTYPE) && has_object_members(tp))
        extra |= EXTRA_MEMBERS;
    return extra;
}

static struct tinfo *type_info(struct dump *d, PyTypeObject *tp)
{
    if (d->last_ti && d->last_ti->tp == tp)
        return d->last_ti;
    uint64_t *v = ptrmap_get(&d->type_map, tp);
    if (v)
        return d->last_ti = &d->types[*v];
    if (d->n_types == d->types_cap) {
        uint32_t ncap = d->types_cap ? d->types_cap * 2 : 256;
        struct tinfo *nt = PyMem_RawRealloc(d->types, ncap * sizeof *nt);
        if (!nt) {
            fail_nomem(d);
            return NULL;
        }
        d->types = nt;
        d->types_cap = ncap;
    }
    struct tinfo *ti = &d->types[d->n_types];
    memset(ti, 0, sizeof *ti);
    ti->tp = tp;
    ti->id = d->n_types;
    ti->node = (size_t)-1;
    ti->name_sid = type_name_sid(d, tp);
    ti->walk = choose_walk(tp);
    ti->extra = choose_extra(tp, ti->walk);
    ti->origin = type_origin(d, tp);
    ti->preview = choose_preview(tp);
    ti->size_mode = find_sizeof(tp, &ti->sizeof_fn) ? SIZE_CALL : SIZE_DEFAULT;
    if (tp == &PyLong_Type || tp == &PyBool_Type)
        ti->size_mode = SIZE_INT; /* read from the header: no call, no int made */
    else if (tp == &PyUnicode_Type)
        ti->size_mode = SIZE_STR;
    else if (tp == &PyList_Type)
        ti->size_mode = SIZE_LIST;
    else if (tp == &PyDict_Type)
        ti->size_mode = SIZE_DICT;
    else if (tp == &PySet_Type || tp == &PyFrozenSet_Type)
        ti->size_mode = SIZE_SET;
    ti->pre_header_varies = tp == &PyType_Type;
    ti->pre_header = ti->pre_header_varies ? 0 : (uint32_t)phd_py_sizeof_extra(NULL, tp);
    ti->owns_values = (uint8_t)phd_py_owns_values(tp);
    ti->owned = owned_by_type(tp);
    ti->foreign_size = ti->size_mode == SIZE_CALL && !in_core(ti->sizeof_fn);
    if (ptrmap_put(&d->type_map, tp, d->n_types) < 0) {
        fail_nomem(d);
        return NULL;
    }
    d->n_types++;
    return d->last_ti = ti;
}

/* The object's size: sys.getsizeof() without running Python code (the
 * type's C __sizeof__ when it has one, object.__sizeof__'s formula
 * otherwise, plus the type's pre-header, exactly as sys.getsizeof adds it)
 * plus the memory the object alone owns that sys.getsizeof leaves out
 * (instance values arrays, a lock's OS lock; docs/agent.md, "Sizes"). */
static void prewalk_abandon(struct dump *d);

static uint64_t object_size(struct dump *d, PyObject *op, struct tinfo *ti)
{
    Py_ssize_t size = -1;
    if (ti->size_mode == SIZE_INT) {
        size = (Py_ssize_t)phd_py_int_size(op);
    } else if (ti->size_mode == SIZE_LIST) {
        /* Objects/listobject.c, list___sizeof___impl */
        size = ti->tp->tp_basicsize + ((PyListObject *)op)->allocated * (Py_ssize_t)sizeof(PyObject *);
    } else if (ti->size_mode == SIZE_DICT) {
        size = (Py_ssize_t)phd_py_dict_size(op);
    } else if (ti->size_mode == SIZE_SET) {
        /* Objects/setobject.c, set_sizeof: the table when not the small one */
        PySetObject *so = (PySetObject *)op;
        size = ti->tp->tp_basicsize;
        if (so->table != so->smalltable)
            size += (so->mask + 1) * (Py_ssize_t)sizeof(setentry);
    } else if (ti->size_mode == SIZE_STR) {
        size = (Py_ssize_t)phd_py_str_size(op); /* 0: another form, which takes the call */
    }
    if (ti->size_mode == SIZE_CALL || (ti->size_mode == SIZE_STR && size == 0)) {
        size = -1;
        if (ti->foreign_size)
            prewalk_abandon(d); /* code from outside CPython may change the GC lists */
        PyObject *r = ti->sizeof_fn(op, NULL);
        if (r && PyLong_CheckExact(r))
            size = PyLong_AsSsize_t(r);
        Py_XDECREF(r);
        if (size < 0)
            PyErr_Clear();
    }
    if (size < 0) {
        PyTypeObject *tp = ti->tp;
        size = tp->tp_basicsize;
        if (tp->tp_itemsize > 0)
            size += Py_ABS(Py_SIZE(op)) * tp->tp_itemsize;
    }
    /* sys.getsizeof adds the pre-header: the GC header of GC types and,
     * for managed dicts, the dict and values pointers */
    size += ti->pre_header_varies ? (Py_ssize_t)phd_py_sizeof_extra(op, ti->tp) : (Py_ssize_t)ti->pre_header;
    return (uint64_t)size + ti->owned + (ti->owns_values ? phd_py_owned_values(op, ti->tp) : 0);
}

/* ---- previews -------------------------------------------------------- */

/* Fills *pv with a value preview: text, or the value of an int or float
 * (the reader writes its repr: format version 4), or the string id of a
 * name (modules, functions, classes, code), which the string table then
 * holds once however many objects share it. */
static void preview(struct dump *d, PyObject *op, struct tinfo *ti, struct pview *pv)
{
    const size_t cap = PHD_PREVIEW_MAX;
    pv->sid = UINT32_MAX;
    pv->kind = PHD_PREVIEW_TEXT;
    pv->len = 0;
    switch (ti->preview) {
    case PV_STR:
        if (d->values)
            pv->len = (uint8_t)str_utf8(op, pv->text, cap);
        return;
    case PV_BYTES:
        if (d->values) {
            size_t l = (size_t)PyBytes_GET_SIZE(op);
            l = l < cap ? l : cap;
            memcpy(pv->text, PyBytes_AS_STRING(op), l);
            pv->len = (uint8_t)l;
        }
        return;
    case PV_BYTEARRAY:
        if (d->values) {
            size_t l = (size_t)PyByteArray_GET_SIZE(op);
            l = l < cap ? l : cap;
            memcpy(pv->text, PyByteArray_AS_STRING(op), l);
            pv->len = (uint8_t)l;
        }
        return;
    case PV_INT: {
        if (!d->values)
            return;
        if (PyBool_Check(op)) {
            pv->len = (uint8_t)snprintf(pv->text, cap, "%s", op == Py_True ? "True" : "False");
            return;
        }
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(op, &overflow);
        if (overflow || (v == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return;
        }
        pv->kind = PHD_PREVIEW_INT;
        pv->num = (uint64_t)v;
        return;
    }
    case PV_FLOAT:
        /* its bits: the reader writes repr() (pyheapdiff/floatrepr.h),
         * out of this process */
        if (d->values) {
            double x = PyFloat_AS_DOUBLE(op);
            memcpy(&pv->num, &x, sizeof x);
            pv->kind = PHD_PREVIEW_FLOAT;
        }
        return;
    case PV_MODULE: {
        PyObject *name = phd_py_module_name(op);
        if (!name)
            name = dict_get_str(PyModule_GetDict(op), "__name__");
        if (name && PyUnicode_Check(name))
            pv->sid = string_obj(d, name);
        return;
    }
    case PV_FUNCTION: {
        PyObject *q = ((PyFunctionObject *)op)->func_qualname;
        if (q && PyUnicode_Check(q))
            pv->sid = string_obj(d, q);
        return;
    }
    case PV_TYPE: {
        PyTypeObject *tp = (PyTypeObject *)op;
        if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
            PyObject *q = ((PyHeapTypeObject *)tp)->ht_qualname;
            if (q && PyUnicode_Check(q))
                pv->sid = string_obj(d, q);
        } else if (tp->tp_name) {
            const char *dot = strrchr(tp->tp_name, '.');
            pv->sid = string_c(d, dot ? dot + 1 : tp->tp_name);
        }
        return;
    }
    case PV_CODE: {
        PyObject *q = ((PyCodeObject *)op)->co_qualname;
        if (q && PyUnicode_Check(q))
            pv->sid = string_obj(d, q);
        return;
    }
    }
}

/* ---- the visited set ------------------------------------------------ */

/*
 * Address -> node index, open addressing with linear probing, one 64-bit
 * slot per entry and exact without touching the object: one
 * cache miss per lookup.  With a = address >> 3 (below 2^45 for every
 * user-space address on x86-64 and arm64), h = a * C mod 2^45 is a
 * bijection (C odd).  Its top B bits pick the home slot of a 2^B-slot
 * table; the slot stores the remaining 45-B bits of h, the entry's
 * displacement from home (B-10 bits) and index+1 (29 bits).  Home and
 * remainder give back h and so a.  An insert whose displacement would not
 * fit grows the table.  The rare address at or above 2^48 goes to a side
 * map.
 */
#define V_ABITS 45
#define V_IBITS 29
#define V_MINBITS 16
#define V_HMUL 0x9E3779B97F4A7C15ull

static inline uint64_t v_hash(uint64_t a) { return (a * V_HMUL) & ((1ull << V_ABITS) - 1); }

/* Places node idx with address a (>> 3) into a table of 2^bits slots. */
static int v_place(uint64_t *slots, unsigned bits, uint64_t a, size_t idx)
{
    unsigned remb = V_ABITS - bits, db = bits - 10;
    size_t mask = ((size_t)1 << bits) - 1;
    uint64_t h = v_hash(a), home = h >> remb, rem = h & ((1ull << remb) - 1);
    for (uint64_t disp = 0; disp < (1ull << db); disp++) {
        size_t j = (size_t)(home + disp) & mask;
        if (!slots[j]) {
            slots[j] = (rem << (V_IBITS + db)) | (disp << V_IBITS) | (uint64_t)(idx + 1);
            return 0;
        }
    }
    return -1; /* displacement overflow: grow */
}

/* The table is mapped directly and asks for transparent huge pages: its
 * accesses are random, and with 4 KiB pages nearly every one would also be
 * a TLB miss, which software prefetches do not hide. */
static uint64_t *slots_alloc(unsigned bits)
{
    size_t len = sizeof(uint64_t) << bits;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (len >= (2u << 20))
        madvise(p, len, MADV_HUGEPAGE);
#endif
    return p;
}

static void slots_free(uint64_t *slots, unsigned bits)
{
    if (slots)
        munmap(slots, sizeof(uint64_t) << bits);
}

/* The inverse of V_HMUL modulo 2^64 (so also modulo 2^45): a slot and
 * its position give back the address, so the table rebuilds itself. */
static uint64_t v_hmul_inverse(void)
{
    uint64_t inv = V_HMUL; /* Newton: each step doubles the correct bits */
    for (int i = 0; i < 6; i++)
        inv *= 2 - V_HMUL * inv;
    return inv;
}

static int visited_rebuild(struct dump *d, unsigned bits)
{
    const uint64_t inv = v_hmul_inverse();
    int released = 0;
    for (;; bits++) {
        uint64_t *ns = slots_alloc(bits);
        if (!ns)
            return -1;
        size_t j = 0, old = d->slots ? (size_t)1 << d->vbits : 0;
        if (d->slots) {
            const unsigned ob = d->vbits, oremb = V_ABITS - ob, odb = ob - 10;
            const size_t omask = old - 1;
            /* New homes grow with old positions (the home is the top bits
             * of the hash), so the new table fills front to back: release
             * the old table behind the cursor to keep the peak near the
             * size of the new one. */
            const size_t step = (2u << 20) / sizeof(uint64_t);
            for (; j < old; j++) {
                if (j % step == 0 && j >= 2 * step) {
                    madvise(d->slots + (j - 2 * step), step * sizeof(uint64_t), MADV_DONTNEED);
                    released = 1;
                }
                uint64_t sl = d->slots[j];
                if (!sl)
                    continue;
                uint64_t disp = (sl >> V_IBITS) & ((1ull << odb) - 1);
                uint64_t home = (j - disp) & omask;
                uint64_t h = (home << oremb) | (sl >> (V_IBITS + odb));
                uint64_t a = (h * inv) & ((1ull << V_ABITS) - 1);
                if (v_place(ns, bits, a, (size_t)(sl & ((1ull << V_IBITS) - 1)) - 1) < 0)
                    break;
            }
        }
        if (j < old) {
            /* a displacement overflowed: retry larger, unless part of the
             * old table is gone already (never seen: it takes a run of
             * over 1000 occupied slots in a table at most 3/4 full) */
            slots_free(ns, bits);
            if (released)
                return -1;
            continue;
        }
        slots_free(d->slots, d->vbits);
        d->slots = ns;
        d->vbits = bits;
        return 0;
    }
}

/* Visited-set entries of the previous dump in this process (protected by
 * the GIL): the next table starts big enough for them, saving the
 * rebuilds.  Inline nodes take none. */
static size_t last_node_count;

static int visited_grow(struct dump *d)
{
    if (d->slots)
        return visited_rebuild(d, d->vbits + 1);
    unsigned bits = V_MINBITS;
    while (((uint64_t)last_node_count + last_node_count / 32) * 4 > ((uint64_t)3 << bits))
        bits++;
    return visited_rebuild(d, bits);
}

#define NOT_FOUND ((size_t)-1)

/*
 * The node bitmap.  discover() sets a bit per node (inline ones aside) in
 * a bitmap over its address (one bit per 16 bytes: objects are at least
 * 16 bytes apart), 2 KiB per 256 KiB region of the heap, found through a
 * small map of regions: about 1 % of the heap's size, mostly in cache,
 * where a table from address to index costs a miss per reference.  A set
 * bit says the object is a node; its index is not kept (format version 3
 * writes references to it by address; see discover()).  The last pass
 * over the GC lists, which run roughly in address order, reads it almost
 * sequentially.  Regions stop being added at 1 MiB plus 4 bytes per node
 * (gb_frozen), so memory stays bounded whatever the heap's layout; the
 * objects of the regions left out go to the visited set.
 */
#define GB_SHIFT 18
#define GB_BYTES ((size_t)1 << (GB_SHIFT - 4 - 3))

static unsigned char *nodebit_byte(struct dump *d, PyObject *op, int create, unsigned *bit)
{
    uintptr_t a = (uintptr_t)op, key = (a >> GB_SHIFT) + 1;
    size_t off;
    if (key == d->gb_last_key) {
        off = d->gb_last_off;
    } else {
        uint64_t *v = ptrmap_get(&d->gb_map, (const void *)key);
        if (v) {
            off = (size_t)*v;
        } else {
            if (!create || d->gb_len + GB_BYTES > ((size_t)1 << 20) + 4 * d->n)
                return NULL;
            if (d->gb_len + GB_BYTES > d->gb_cap) {
                size_t ncap = d->gb_cap ? d->gb_cap * 2 : 64 * GB_BYTES;
                unsigned char *nb = buf_resize(d->gb, d->gb_cap, ncap); /* new pages are zero */
                if (!nb)
                    return NULL;
                d->gb = nb;
                d->gb_cap = ncap;
            }
            if (ptrmap_put(&d->gb_map, (const void *)key, d->gb_len) < 0)
                return NULL; /* only slower: the visited set still answers */
            off = d->gb_len;
            d->gb_len += GB_BYTES;
        }
        d->gb_last_key = key;
        d->gb_last_off = off;
    }
    size_t bitno = (a & (((uintptr_t)1 << GB_SHIFT) - 1)) >> 4;
    *bit = 1u << (bitno & 7);
    return d->gb + off + (bitno >> 3);
}

/*
 * The queue of nodes discovered but not yet written, in index order (inline
 * nodes never enter it): position i (qhead <= i < qtail) is q[i - qbase].
 * Written nodes are dropped from the front, so the queue holds only the
 * breadth-first frontier, not one pointer per object.
 */
static inline PyObject *queue_at(struct dump *d, size_t i) { return d->q[i - d->qbase]; }

static int queue_push(struct dump *d, PyObject *op)
{
    if (d->qtail - d->qbase == d->qcap) {
        size_t live = d->qtail - d->qhead;
        if (d->qhead - d->qbase >= d->qcap / 2) {
            memmove(d->q, d->q + (d->qhead - d->qbase), live * sizeof *d->q);
            d->qbase = d->qhead;
        } else {
            PyObject **nq = buf_resize(d->q, d->qcap * sizeof *nq, d->qcap * 2 * sizeof *nq);
            if (!nq)
                return -1;
            d->q = nq;
            d->qcap *= 2;
        }
    }
    d->q[d->qtail++ - d->qbase] = op;
    return 0;
}

static size_t new_node(struct dump *d, PyObject *op);
static int visited_put(struct dump *d, PyObject *op, size_t idx);

/* Finds op's node index in the visited set; with insert, assigns the next
 * index when op is new (appending it to the queue) and sets *is_new.
 * NOT_FOUND: absent (without insert) or out of memory.  See discover(). */
static size_t visit_lookup(struct dump *d, PyObject *op, int insert, int *is_new)
{
    uint64_t a = (uint64_t)(uintptr_t)op >> 3;
    *is_new = 0;
    if (a >> V_ABITS) {
        uint64_t *v = ptrmap_get(&d->far, op);
        if (v)
            return (size_t)*v;
        if (!insert)
            return NOT_FOUND;
    } else {
    retry:;
        unsigned bits = d->vbits, remb = V_ABITS - bits, db = bits - 10;
        size_t mask = ((size_t)1 << bits) - 1;
        uint64_t h = v_hash(a), home = h >> remb;
        uint64_t want = (h & ((1ull << remb) - 1)) << (V_IBITS + db);
        uint64_t hi_mask = ~((1ull << V_IBITS) - 1);
        for (uint64_t disp = 0;; disp++) {
            if (disp >= (1ull << db)) {
                if (!insert)
                    return NOT_FOUND;
                if (visited_grow(d) < 0) {
                    fail_nomem(d);
                    return NOT_FOUND;
                }
                goto retry;
            }
            size_t j = (size_t)(home + disp) & mask;
            uint64_t s = d->slots[j];
            if (!s) {
                if (!insert)
                    return NOT_FOUND;
                break;
            }
            if ((s & hi_mask) == (want | (disp << V_IBITS)))
                return (size_t)(s & ((1ull << V_IBITS) - 1)) - 1;
        }
    }
    /* a new node */
    size_t idx = new_node(d, op);
    if (idx == NOT_FOUND || visited_put(d, op, idx) < 0)
        return NOT_FOUND;
    *is_new = 1;
    return idx;
}

/* The next node index, for op, queued. */
static size_t new_node(struct dump *d, PyObject *op)
{
    if (d->n >= PHD_MAX_NODES || queue_push(d, op) < 0) {
        fail_nomem(d);
        return NOT_FOUND;
    }
    return d->n++;
}

/* Records op's node index idx in the visited set; -1 when out of memory. */
static int visited_put(struct dump *d, PyObject *op, size_t idx)
{
    uint64_t a = (uint64_t)(uintptr_t)op >> 3;
    if (a >> V_ABITS) {
        if (ptrmap_put(&d->far, op, idx) < 0) {
            fail_nomem(d);
            return -1;
        }
    } else {
        d->n_table++;
        while (v_place(d->slots, d->vbits, a, idx) < 0) {
            if (visited_rebuild(d, d->vbits + 1) < 0) {
                fail_nomem(d);
                return -1;
            }
        }
    }
    if (!(a >> V_ABITS) && ((uint64_t)d->n_table * 4 > ((uint64_t)3 << d->vbits))) {
        if (visited_grow(d) < 0) {
            fail_nomem(d);
            return -1;
        }
    }
    return 0;
}

/*
 * Which objects are nodes: the bitmap, and the visited set (format version
 * 3, docs/format.md and docs/agent.md).  An object in a region of the
 * bitmap is a node when its bit is set; its index is not kept (an edge to
 * it gives its address, which the reader turns into the index), except
 * for classes and roots, whose indices the TYPES and ROOTS sections and
 * class edges need: those are in the visited set as well.  Objects in
 * regions without a bitmap (once the bitmap's memory bound was reached,
 * no more regions are made) and above 2^48 are in the visited set only.
 * Returns op's index; OLD_BY_ADDR when it is a node already whose index
 * is not kept; NOT_FOUND when out of memory.  *is_new: a new node.
 */
#define OLD_BY_ADDR ((size_t)-2)
static size_t discover(struct dump *d, PyObject *op, int *is_new)
{
    *is_new = 0;
    if (!((uintptr_t)op >> 48)) {
        unsigned bit;
        unsigned char *b = nodebit_byte(d, op, !d->gb_frozen, &bit);
        if (b) {
            if (*b & bit)
                return OLD_BY_ADDR;
            size_t idx = new_node(d, op);
            if (idx == NOT_FOUND)
                return NOT_FOUND;
            *b |= (unsigned char)bit;
            *is_new = 1;
            if ((PyType_Check(op) || (d->rootset.used && ptrmap_get(&d->rootset, op))) &&
                visited_put(d, op, idx) < 0)
                return NOT_FOUND;
            return idx;
        }
        d->gb_frozen = 1;
    }
    return visit_lookup(d, op, 1, is_new);
}

static size_t visit_find(struct dump *d, PyObject *op)
{
    int is_new;
    return visit_lookup(d, op, 0, &is_new);
}

/* ---- edges -------------------------------------------------------------- */

/*
 * Edges are queued per node and resolved in batches: the visited-set slot
 * of every queued target is prefetched first, then the batch is resolved
 * in order (order matters: it hands out node indices).  This overlaps the
 * cache misses that dominate the walk.
 */
#define EDGE_CLASS 7 /* queued "__class__" edge that may become a TYPE edge */
/* Or'ed into a queued edge's kind: the holder does not own the reference
 * (a weak reference, a key of a split-table dict), so the target's
 * refcount does not count it and the target is never written inline. */
#define EDGE_BORROWED 0x100u
/* Or'ed into a function's "__closure__" edge: a tuple it discovers gets
 * the free variables' names (walk_tuple). */
#define EDGE_CLOSURE 0x200u

static int ebuf_room(struct dump *d, size_t n)
{
    if (d->elen + n <= d->ecap)
        return 0;
    size_t ncap = d->ecap * 2;
    while (ncap < d->elen + n)
        ncap *= 2;
    unsigned char *nb = buf_resize(d->ebuf, d->ecap, ncap);
    if (!nb) {
        fail_nomem(d);
        return -1;
    }
    d->ebuf = nb;
    d->ecap = ncap;
    return 0;
}

static void resolve(struct dump *d);

static inline void emit(struct dump *d, PyObject *target, unsigned kind, uint64_t payload)
{
    struct pending *e = &d->pend[d->npend++];
    e->target = target;
    e->kind = kind;
    e->payload = payload;
    d->win[d->nwin - 1].nedges++;
    if (d->npend == PEND_MAX)
        resolve(d);
}

static void emit_name(struct dump *d, PyObject *target, const char *label)
{
    if (target)
        emit(d, target, PHD_LABEL_NAME, string_c(d, label));
}

/* The instance's own class: a one-byte TYPE edge once the class object is
 * a node, else a "__class__" edge that discovers it. */
static void emit_type(struct dump *d, PyObject *op)
{
    struct tinfo *ti = type_info(d, Py_TYPE(op));
    if (!ti)
        return;
    emit(d, (PyObject *)Py_TYPE(op), EDGE_CLASS, ti->id);
}

/* An edge labelled with a variable or attribute name (unlabelled when
 * string_name keeps the name out). */
static void emit_named(struct dump *d, PyObject *target, PyObject *name)
{
    uint32_t sid = string_name(d, name);
    if (sid == UINT32_MAX)
        emit(d, target, PHD_LABEL_NONE, 0);
    else
        emit(d, target, PHD_LABEL_NAME, sid);
}

static int visit_plain(PyObject *o, void *arg)
{
    emit((struct dump *)arg, o, PHD_LABEL_NONE, 0);
    return 0;
}

/* ---- labelled walkers, one per recognised tp_traverse ---------------- */

/* PyDict_Next runs no Python code and takes no references. */
static void walk_dict(struct dump *d, PyObject *op)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    /* a split table's keys belong to the class's shared keys, and its
     * values may be the instance's own (3.13 embeds them in the object
     * and a materialised __dict__ points at them: both are walked)
     * (Include/cpython/dictobject.h: ma_values set) */
    unsigned borrowed = ((PyDictObject *)op)->ma_values ? EDGE_BORROWED : 0;
    struct phd_py_dict_entries e;
    if (phd_py_dict_entries(op, &e)) {
        /* a combined table: its entries in order, as PyDict_Next gives them */
        for (const char *p = e.base, *end = e.base + e.n * e.stride; p < end; p += e.stride) {
            v = *(PyObject *const *)(p + e.value_off);
            if (v) {
                emit(d, *(PyObject *const *)(p + e.key_off), PHD_LABEL_KEY, 0);
                emit(d, v, PHD_LABEL_VALUE, 0);
            }
        }
        return;
    }
    while (PyDict_Next(op, &pos, &k, &v)) {
        emit(d, k, PHD_LABEL_KEY | borrowed, 0);
        emit(d, v, PHD_LABEL_VALUE | borrowed, 0);
    }
}

/* A labelled reference from a version-specific reader (pyver.h). */
static void visit_named(void *ctx, PyObject *target, PyObject *name)
{
    struct dump *d = ctx;
    if (name)
        emit_named(d, target, name);
    else
        emit(d, target, PHD_LABEL_NONE, 0);
}

/* The members of a struct that a field table (pyver.h) lists. */
static void emit_fields(struct dump *d, const void *base, const struct phd_py_field *f)
{
    for (; f && f->label; f++)
        emit_name(d, *(PyObject *const *)((const char *)base + f->offset), f->label);
}

static void walk_items(struct dump *d, PyObject **items, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if (items[i])
            emit(d, items[i], PHD_LABEL_INDEX, (uint64_t)i);
}

/*
 * A function's __closure__ tuple gets the names of its free variables as
 * labels.  When resolve() discovers a tuple through a function's
 * "__closure__" edge (EDGE_CLOSURE), it appends the tuple and the
 * function's code to d->cl; the queue stages nodes in discovery order, so
 * such a tuple, when staged, is at the front.  A queue in order instead of
 * a map from tuple to code: no hashing, no random access.  The rare tuple
 * discovered first through some other reference, not staged yet when its
 * function's edge comes, goes to a small map (d->cl_late) instead.
 */
static void closure_push(struct dump *d, PyObject *tuple, PyObject *code)
{
    if (d->cl_tail == d->cl_cap) {
        if (d->cl_head) {
            memmove(d->cl, d->cl + d->cl_head, (d->cl_tail - d->cl_head) * sizeof *d->cl);
            d->cl_tail -= d->cl_head;
            d->cl_head = 0;
        } else {
            size_t ncap = d->cl_cap ? d->cl_cap * 2 : 1024;
            struct closure_hint *n = buf_resize(d->cl, d->cl_cap * sizeof *n, ncap * sizeof *n);
            if (!n) {
                fail_nomem(d);
                return;
            }
            d->cl = n;
            d->cl_cap = ncap;
        }
    }
    d->cl[d->cl_tail].tuple = tuple;
    d->cl[d->cl_tail].code = code;
    d->cl_tail++;
}

/* The "__closure__" edge of the function being resolved leads to tuple,
 * a new node or one discovered before. */
static void closure_edge(struct dump *d, PyObject *tuple, PyObject *code, int is_new)
{
    if (is_new)
        closure_push(d, tuple, code);
    else if (ptrmap_put(&d->cl_late, tuple, (uint64_t)(uintptr_t)code) < 0)
        fail_nomem(d);
}

static void walk_tuple(struct dump *d, PyObject *op)
{
    PyCodeObject *co = NULL;
    if (d->cl_head < d->cl_tail && d->cl[d->cl_head].tuple == op) {
        co = (PyCodeObject *)d->cl[d->cl_head++].code;
    } else if (d->cl_late.used) {
        uint64_t *v = ptrmap_get(&d->cl_late, op);
        co = v ? (PyCodeObject *)(uintptr_t)*v : NULL;
    }
    Py_ssize_t n = Py_SIZE(op);
    if (co && co->co_nfreevars == n) {
        /* a function's __closure__: label cells with the free variable names */
        Py_ssize_t first = co->co_nlocalsplus - co->co_nfreevars;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *item = PyTuple_GET_ITEM(op, i);
            if (item)
                emit_named(d, item, PyTuple_GET_ITEM(co->co_localsplusnames, first + i));
        }
        return;
    }
    walk_items(d, ((PyTupleObject *)op)->ob_item, n);
}

/* Locals, cells and stack of an interpreter frame, named from its code. */
static void walk_iframe(struct dump *d, void *iframe)
{
    struct phd_py_frame f;
    if (!phd_py_frame_read(iframe, &f))
        return;
    emit_name(d, f.frame_obj, "frame");
    emit_name(d, f.locals, "f_locals");
    emit_name(d, f.func, "f_func");
    emit_name(d, f.code, "f_code");
    for (int i = 0; i < f.nslots; i++) {
        PyObject *v = f.localsplus[i];
        if (!v)
            continue;
        if (f.co && i < f.co->co_nlocalsplus)
            emit_named(d, v, PyTuple_GET_ITEM(f.co->co_localsplusnames, i));
        else
            emit_name(d, v, "<stack>");
    }
}

static void walk_base(struct dump *d, PyObject *op, traverseproc t);

static void walk_subtype(struct dump *d, PyObject *op)
{
    PyTypeObject *type = Py_TYPE(op), *base = type;
    traverseproc basetraverse;
    /* the same steps as CPython's subtype_traverse, with names */
    while ((basetraverse = base->tp_traverse) == subtype_traverse_fn) {
        if (Py_SIZE(base)) {
            PyMemberDef *mp = (PyMemberDef *)((char *)base + Py_TYPE(base)->tp_basicsize);
            for (Py_ssize_t i = 0; i < Py_SIZE(base); i++, mp++) {
                if (mp->type != T_OBJECT_EX)
                    continue;
                PyObject *v = *(PyObject **)((char *)op + mp->offset);
                if (v)
                    emit_name(d, v, mp->name);
            }
        }
        base = base->tp_base;
    }
    /* inline or split-table attributes, then the instance's own dict.  A
     * values array holds at most 30 entries (the shared keys' limit): with
     * room for them queued, the attributes stay in pend[mark..] */
    if (d->npend + 64 > PEND_MAX)
        resolve(d);
    size_t mark = d->npend;
    PyObject *dict = phd_py_instance_attrs(op, base, visit_named, d);
    if (dict && PyDict_Check(dict) && ((PyDictObject *)dict)->ma_values && mark <= d->npend)
        for (size_t k = mark; k < d->npend; k++)
            d->pend[k].kind |= EDGE_BORROWED; /* 3.13: the dict walks the same values */
    emit_name(d, dict, "__dict__");
    if ((type->tp_flags & Py_TPFLAGS_HEAPTYPE) &&
        (!basetraverse || !(base->tp_flags & Py_TPFLAGS_HEAPTYPE)))
        emit_type(d, op);
    if (basetraverse)
        walk_base(d, op, basetraverse);
}

static void walk_function(struct dump *d, PyObject *op)
{
    PyFunctionObject *f = (PyFunctionObject *)op;
    emit_fields(d, op, phd_py_layout.function);
    if (f->func_closure) {
        int named = PyTuple_Check(f->func_closure) && PyCode_Check(f->func_code);
        emit(d, f->func_closure, PHD_LABEL_NAME | (named ? EDGE_CLOSURE : 0), string_c(d, "__closure__"));
    }
}

static void walk_type(struct dump *d, PyObject *op)
{
    PyTypeObject *tp = (PyTypeObject *)op;
    emit_name(d, phd_py_type_dict(tp), "__dict__");
    emit_name(d, tp->tp_cache, "__cache__");
    emit_name(d, tp->tp_mro, "__mro__");
    emit_name(d, tp->tp_bases, "__bases__");
    emit_name(d, (PyObject *)tp->tp_base, "__base__");
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        emit_name(d, ((PyHeapTypeObject *)tp)->ht_module, "__module_object__");
        /* a metaclass's own traverse (e.g. ABCMeta) adds nothing we label */
    } else {
        /* static types are not GC objects: these references are extra */
        emit_name(d, phd_py_type_subclasses(tp), "__subclasses__");
    }
}

/* co_weakreflist is borrowed: weak references do not keep code alive */
static void walk_code(struct dump *d, PyObject *op)
{
    emit_fields(d, op, phd_py_layout.code);
    if (phd_py_layout.code_cached) {
        const void *cached = *(const void *const *)((const char *)op + phd_py_layout.code_cached);
        if (cached)
            emit_fields(d, cached, phd_py_layout.code_cached_fields);
    }
}

static void walk_base(struct dump *d, PyObject *op, traverseproc t)
{
    if (t == PyType_Type.tp_traverse)
        walk_type(d, op);
    else if (t == PyDict_Type.tp_traverse)
        walk_dict(d, op);
    else if (t == PyList_Type.tp_traverse)
        walk_items(d, ((PyListObject *)op)->ob_item, Py_SIZE(op));
    else if (t == PyTuple_Type.tp_traverse)
        walk_items(d, ((PyTupleObject *)op)->ob_item, Py_SIZE(op));
    else
        t(op, visit_plain, d);
}

static void walk_refs(struct dump *d, PyObject *op, struct tinfo *ti, int is_gc)
{
    switch (ti->walk) {
    case WALK_NONE:
        return;
    case WALK_TRAVERSE:
        if (is_gc)
            ti->tp->tp_traverse(op, visit_plain, d);
        return;
    case WALK_DICT:
        walk_dict(d, op);
        return;
    case WALK_LIST:
        walk_items(d, ((PyListObject *)op)->ob_item, Py_SIZE(op));
        return;
    case WALK_TUPLE:
        walk_tuple(d, op);
        return;
    case WALK_SUBTYPE:
        walk_subtype(d, op);
        return;
    case WALK_FUNCTION:
        walk_function(d, op);
        return;
    case WALK_CELL:
        emit_name(d, PyCell_GET(op), "cell_contents");
        return;
    case WALK_METHOD:
        emit_name(d, PyMethod_GET_FUNCTION(op), "__func__");
        emit_name(d, PyMethod_GET_SELF(op), "__self__");
        return;
    case WALK_MODULE: {
        PyModuleDef *def = PyModule_GetDef(op);
        emit_name(d, PyModule_GetDict(op), "__dict__");
        if (def && def->m_traverse && (def->m_size <= 0 || PyModule_GetState(op)))
            def->m_traverse(op, visit_plain, d);
        return;
    }
    case WALK_TYPE: {
        traverseproc t = ti->tp->tp_traverse;
        if (!is_gc || t == PyType_Type.tp_traverse)
            walk_type(d, op); /* static types: not GC, the extras only */
        else if (t == subtype_traverse_fn)
            walk_subtype(d, op); /* a metaclass defined in Python */
        else
            t(op, visit_plain, d); /* a C metaclass (ctypes...) */
        return;
    }
    case WALK_GEN: {
        /* CPython's gen_traverse, with the frame's locals named */
        emit_fields(d, op, phd_py_layout.gen);
        void *f = phd_py_gen_frame(op);
        if (f)
            walk_iframe(d, f);
        return;
    }
    case WALK_FRAME: {
        emit_fields(d, op, phd_py_layout.frame);
        void *f = phd_py_frameobj_frame(op);
        if (f)
            walk_iframe(d, f);
        return;
    }
    case WALK_CODE:
        walk_code(d, op);
        return;
    case WALK_WEAKREF: {
        PyWeakReference *wr = (PyWeakReference *)op;
        /* a subclass defined in Python adds slots, a dict and its type */
        if (Py_TYPE(op)->tp_traverse == subtype_traverse_fn)
            walk_subtype(d, op);
        else
            emit_name(d, wr->wr_callback, "__callback__");
        if (wr->wr_object && wr->wr_object != Py_None)
            emit(d, wr->wr_object, PHD_LABEL_WEAK | EDGE_BORROWED, 0);
        return;
    }
    }
}

/* ---- references tp_traverse does not report -------------------------- */

/* Names the reference to v among the current node's queued unlabelled
 * edges, or adds it: a member that tp_traverse reports gets its name, one
 * it does not report (non-GC types, or a traverse that skips it) becomes
 * an edge.  Only while all of the node's edges are still queued. */
static void name_member(struct dump *d, PyObject *v, const char *name)
{
    struct wnode *wn = &d->win[d->nwin - 1];
    if (wn->nedges != d->npend - wn->pend_start)
        return; /* part of the node's edges is already written: leave it */
    for (size_t k = wn->pend_start; k < d->npend; k++) {
        struct pending *e = &d->pend[k];
        if (e->target == v) {
            if (e->kind == PHD_LABEL_NONE) {
                e->kind = PHD_LABEL_NAME;
                e->payload = string_c(d, name);
            }
            return;
        }
    }
    emit_name(d, v, name);
}

static void walk_extra(struct dump *d, PyObject *op, struct tinfo *ti)
{
    if (ti->extra & EXTRA_NDARRAY) {
        const struct np_array_fields *a = (const struct np_array_fields *)op;
        if (a->base)
            name_member(d, a->base, "base");
        if (a->descr)
            name_member(d, a->descr, "dtype");
    }
    if (ti->extra & EXTRA_MEMBERS) {
        for (PyTypeObject *tp = ti->tp; tp && tp != &PyBaseObject_Type; tp = tp->tp_base) {
            if (tp->tp_traverse == subtype_traverse_fn)
                continue;
            for (PyMemberDef *m = tp->tp_members; m && m->name; m++) {
                if (m->type != T_OBJECT && m->type != T_OBJECT_EX)
                    continue;
                PyObject *v = *(PyObject **)((char *)op + m->offset);
                if (v)
                    name_member(d, v, m->name);
            }
        }
    }
}

/* ---- node records ------------------------------------------------------ */

/*
 * Nodes go through a window in two phases.  stage() reads a node (type,
 * size, preview) and queues its edges, prefetching the visited-set slot of
 * each target; resolve() then looks the queued targets up in order, hands
 * out new indices, encodes the edges and writes the records of the staged
 * nodes.  Staging up to WIN_MAX queued nodes before resolving keeps many
 * cache misses in flight at once.  A node with more edges than the queue
 * holds is resolved in pieces: it stays staged, its edges so far encoded.
 */
static void write_record(struct dump *d, struct wnode *wn)
{
    struct phd_node_out rec = {.type = wn->tid,
                               .flags = wn->flags,
                               .addr = (uint64_t)(uintptr_t)wn->op,
                               .size = wn->size,
                               .refcnt = wn->refcnt,
                               .nedges = wn->nedges,
                               .edges = d->ebuf,
                               .edges_len = d->elen};
    pview_out(&rec, &wn->pv);
    if (phd_writer_node(&d->w, phd_encoder_addr(&d->enc, wn->tid), 3, &rec) < 0 && !d->failed)
        d->failed = d->w.err ? d->w.err : EIO;
    phd_encoder_end(&d->enc);
    d->n_edges += wn->nedges;
    d->total_size += wn->size;
    d->elen = 0;
}

/*
 * A unique leaf (docs/format.md, "Inline nodes"): an exact str (not
 * interned), int, float or bytes with refcount 1.  Reached through a
 * reference its holder owns, that reference is its only one, so no other
 * edge can lead to it: it is written inline behind that edge and never
 * enters the visited set or the queue.  Immortal objects (3.12+) do not
 * have refcount 1.  Roots are excluded: they are also seeds.
 */
static inline int unique_leaf(struct dump *d, PyObject *op)
{
    if (Py_REFCNT(op) != 1)
        return 0;
    PyTypeObject *tp = Py_TYPE(op);
    if (tp == &PyUnicode_Type) {
        if (PyUnicode_CHECK_INTERNED(op))
            return 0;
    } else if (tp != &PyLong_Type && tp != &PyFloat_Type && tp != &PyBytes_Type) {
        return 0;
    }
    return !d->rootset.used || !ptrmap_get(&d->rootset, op);
}

/* The record of inline node op at p (type, size, preview; refcount 1, no
 * edges); NULL when out of memory. */
static unsigned char *write_inline(struct dump *d, unsigned char *p, PyObject *op)
{
    struct tinfo *ti = type_info(d, Py_TYPE(op));
    if (!ti)
        return NULL;
    struct pview pv;
    uint64_t size = object_size(d, op, ti);
    if (!ti->has_default) {
        ti->default_size = size;
        ti->has_default = 1;
    }
    preview(d, op, ti, &pv);
    unsigned flags = 0;
    if (pview_any(&pv))
        flags |= PHD_NODE_PREVIEW;
    if (size != ti->default_size)
        flags |= PHD_NODE_SIZE;
    struct phd_node_out rec = {.type = ti->id,
                               .flags = flags,
                               .addr = (uint64_t)(uintptr_t)op,
                               .size = size,
                               .refcnt = 1};
    pview_out(&rec, &pv);
    d->total_size += size;
    return phd_encoder_inline(&d->enc, p, 3, &rec);
}

static inline struct recent *recent_slot(struct dump *d, PyObject *op)
{
    return &d->recent[((uint64_t)(uintptr_t)op * V_HMUL) >> (64 - RECENT_BITS)];
}

static void resolve(struct dump *d)
{
    size_t k = 0;
    {
        /* Touch what the queued edges need in one tight loop of independent
         * loads, which the CPU overlaps far better than prefetch hints: the
         * header of each target not resolved recently (is it a unique leaf?
         * a class?); then decide.  Whether it is a node already is the
         * bitmap's answer, mostly from cache. */
        uint64_t sink = 0;
        for (size_t j = 0; j < d->npend; j++) {
            struct pending *e = &d->pend[j];
            e->leaf = 0;
            if (e->kind == EDGE_CLASS || recent_slot(d, e->target)->op == e->target)
                continue;
            e->leaf = 2; /* a candidate */
            sink += (uintptr_t)Py_TYPE(e->target) + (uint64_t)Py_REFCNT(e->target);
        }
        for (size_t j = 0; j < d->npend; j++) {
            struct pending *e = &d->pend[j];
            e->leaf = e->leaf && !(e->kind & EDGE_BORROWED) && unique_leaf(d, e->target);
        }
        __asm__ volatile("" : : "r"(sink));
    }
    for (size_t w = 0; w < d->nwin; w++) {
        struct wnode *wn = &d->win[w];
        size_t end = w + 1 < d->nwin ? d->win[w + 1].pend_start : d->npend;
        if (d->failed || ebuf_room(d, (end - k) * (PHD_EDGE_MAX + PHD_INLINE_MAX)) < 0)
            return;
        if (!wn->begun) {
            wn->begun = 1;
            if (phd_encoder_begin(&d->enc, wn->tid) < 0) {
                fail_nomem(d);
                return;
            }
        }
        unsigned char *p = d->ebuf + d->elen;
        for (; k < end; k++) {
            struct pending *e = &d->pend[k];
            unsigned kind = e->kind & ~(EDGE_BORROWED | EDGE_CLOSURE);
            uint64_t payload = e->payload;
            struct tinfo *cls = NULL;
            if (e->leaf) {
                if (d->n >= PHD_MAX_NODES) {
                    fail_nomem(d);
                    return;
                }
                size_t idx = d->n++;
                if (kind == PHD_LABEL_VALUE)
                    payload = d->last_target;
                p = phd_encoder_edge(&d->enc, p, idx, (uint32_t)idx, PHD_TARGET_INLINE, kind, payload);
                p = write_inline(d, p, e->target);
                if (!p) {
                    fail_nomem(d);
                    return;
                }
                d->last_target = idx;
                continue;
            }
            if (kind == EDGE_CLASS) {
                cls = &d->types[payload];
                if (cls->node != NOT_FOUND) {
                    p = phd_encoder_edge(&d->enc, p, d->n, (uint32_t)cls->node, 0, PHD_LABEL_TYPE, 0);
                    d->last_target = cls->node;
                    continue;
                }
                kind = PHD_LABEL_NAME;
                payload = d->sid_class;
            }
            size_t before = d->n;
            int is_new = 0;
            size_t idx;
            struct recent *rc = recent_slot(d, e->target);
            if (rc->op == e->target) {
                idx = rc->idx == UINT32_MAX ? OLD_BY_ADDR : rc->idx;
            } else {
                idx = discover(d, e->target, &is_new);
                if (idx == NOT_FOUND)
                    return;
                if (idx == OLD_BY_ADDR && cls)
                    idx = visit_find(d, e->target); /* classes are in the visited set */
                rc->op = e->target;
                rc->idx = idx == OLD_BY_ADDR || idx == NOT_FOUND ? UINT32_MAX : (uint32_t)idx;
            }
            if (kind == PHD_LABEL_VALUE)
                payload = d->last_target;
            if (idx == OLD_BY_ADDR || idx == NOT_FOUND) {
                /* a node already, its index not kept: by address */
                if (e->kind & EDGE_CLOSURE)
                    closure_edge(d, e->target, ((PyFunctionObject *)wn->op)->func_code, 0);
                p = phd_encoder_edge_addr(&d->enc, p, (uint64_t)(uintptr_t)e->target >> 3, kind, payload);
                d->last_target = PHD_KEY_BY_ADDR;
                continue;
            }
            if (cls)
                cls->node = idx;
            if (e->kind & EDGE_CLOSURE)
                closure_edge(d, e->target, ((PyFunctionObject *)wn->op)->func_code, is_new);
            p = phd_encoder_edge(&d->enc, p, before, (uint32_t)idx, is_new ? PHD_TARGET_NEW : PHD_TARGET_OLD, kind,
                                 payload);
            d->last_target = idx;
        }
        d->elen = (size_t)(p - d->ebuf);
        if (!wn->staged) {
            /* still being walked: keep it as the window's only node */
            d->win[0] = *wn;
            d->win[0].pend_start = 0;
            d->nwin = 1;
            d->npend = 0;
            return;
        }
        write_record(d, wn);
    }
    d->nwin = 0;
    d->npend = 0;
}

static void stage(struct dump *d, PyObject *op)
{
    struct tinfo *ti = type_info(d, Py_TYPE(op));
    if (!ti)
        return;
    int is_gc = PyObject_IS_GC(op);
    struct wnode *wn = &d->win[d->nwin++];
    wn->op = op;
    wn->tid = ti->id;
    wn->nedges = 0;
    wn->pend_start = d->npend;
    wn->staged = 0;
    wn->size = object_size(d, op, ti);
    /* 0 marks an immortal object (docs/format.md): a live object's
     * refcount is otherwise at least 1 */
    wn->refcnt = phd_py_is_immortal(op) ? 0 : (uint64_t)Py_REFCNT(op);
    if (!ti->has_default) {
        ti->default_size = wn->size;
        ti->has_default = 1;
    }
    preview(d, op, ti, &wn->pv);
    wn->begun = 0;
    unsigned flags = 0;
    if (is_gc && PyObject_GC_IsTracked(op))
        flags |= PHD_NODE_GC_TRACKED;
    if (pview_any(&wn->pv))
        flags |= PHD_NODE_PREVIEW;
    if (wn->size != ti->default_size)
        flags |= PHD_NODE_SIZE;
    wn->flags = flags;
    walk_refs(d, op, ti, is_gc);
    if (ti->extra)
        walk_extra(d, op, ti);
    /* resolve() may have moved this node to slot 0 */
    d->win[d->nwin - 1].staged = 1;
}

static void drain(struct dump *d)
{
    while (!d->failed) {
        /* Touch the headers of the nodes about to be staged in one tight
         * loop of independent loads: the misses overlap (prefetch hints
         * alone barely helped on the machines measured). */
        size_t ahead = d->qtail - d->qhead < WIN_MAX ? d->qtail - d->qhead : WIN_MAX;
        uint64_t sink = 0;
        for (size_t j = 0; j < ahead; j++) {
            PyObject *op = queue_at(d, d->qhead + j);
            PyTypeObject *tp = Py_TYPE(op);
            sink += (uintptr_t)tp;
            /* and the GC header, which stage() reads (tracked?) and which
             * is in the line before the object's a quarter of the time */
            if (PyType_HasFeature(tp, Py_TPFLAGS_HAVE_GC))
                sink += ((const uintptr_t *)op)[-2];
        }
        __asm__ volatile("" : : "r"(sink));
        while (d->qhead < d->qtail && d->nwin < WIN_MAX && d->npend < PEND_MAX / 2 && !d->failed) {
            PyObject *op = queue_at(d, d->qhead++);
            stage(d, op);
        }
        if (!d->nwin)
            break;
        resolve(d);
    }
}

/* Makes op a node if it is not one yet (a seed), draining the queue first
 * so that the reader sees the seed as the next undiscovered index. */
static size_t seed(struct dump *d, PyObject *op)
{
    drain(d);
    if (d->failed)
        return NOT_FOUND;
    int is_new;
    size_t idx = discover(d, op, &is_new);
    drain(d);
    return idx;
}

/* ---- roots ------------------------------------------------------------ */

static void add_root(struct dump *d, PyObject *obj, uint32_t kind, uint32_t name, uint64_t tid)
{
    if (!obj)
        return;
    if (d->n_roots == d->roots_cap) {
        size_t ncap = d->roots_cap ? d->roots_cap * 2 : 256;
        struct root *nr = PyMem_RawRealloc(d->roots, ncap * sizeof *nr);
        if (!nr) {
            fail_nomem(d);
            return;
        }
        d->roots = nr;
        d->roots_cap = ncap;
    }
    d->roots[d->n_roots++] = (struct root){obj, kind, name, tid};
}

static uint32_t frame_root_name(struct dump *d, void *iframe, const struct phd_py_frame *f, const char *what,
                                PyObject *varname)
{
    char buf[512], q[160] = "", file[200] = "", var[100];
    if (f->co) {
        q[str_utf8(f->co->co_qualname, q, sizeof q - 1)] = 0;
        file[str_utf8(f->co->co_filename, file, sizeof file - 1)] = 0;
    }
    if (varname && string_name(d, varname) == UINT32_MAX)
        varname = NULL;
    var[varname ? str_utf8(varname, var, sizeof var - 1) : 0] = 0;
    int line = phd_py_frame_line(iframe);
    int l = snprintf(buf, sizeof buf, "%s (%s:%d) %s%s%s", q, file, line, what, varname ? " " : "", var);
    if (l < 0)
        l = 0;
    if ((size_t)l >= sizeof buf)
        l = sizeof buf - 1;
    return string_add(d, buf, (size_t)l);
}

static void collect_frame_roots(struct dump *d, PyThreadState *ts, int skip_ours)
{
    uint64_t tid = (uint64_t)ts->thread_id;
    int skipping = skip_ours;
    for (void *fp = phd_py_thread_frame(ts); fp; fp = phd_py_frame_previous(fp)) {
        struct phd_py_frame f;
        if (!phd_py_frame_read(fp, &f))
            continue;
        if (skipping && d->skip_globals && f.globals == d->skip_globals)
            continue;
        skipping = 0;
        if (f.frame_obj)
            add_root(d, f.frame_obj, PHD_ROOT_FRAME, frame_root_name(d, fp, &f, "frame object", NULL), tid);
        add_root(d, f.func, PHD_ROOT_FRAME, frame_root_name(d, fp, &f, "function", NULL), tid);
        add_root(d, f.locals, PHD_ROOT_FRAME, frame_root_name(d, fp, &f, "f_locals", NULL), tid);
        for (int i = 0; i < f.nslots; i++) {
            PyObject *v = f.localsplus[i];
            if (!v)
                continue;
            if (f.co && i < f.co->co_nlocalsplus)
                add_root(d, v, PHD_ROOT_FRAME,
                         frame_root_name(d, fp, &f, "local", PyTuple_GET_ITEM(f.co->co_localsplusnames, i)), tid);
            else
                add_root(d, v, PHD_ROOT_FRAME, frame_root_name(d, fp, &f, "stack", NULL), tid);
        }
    }
}

static void collect_roots(struct dump *d, PyThreadState *self)
{
    PyInterpreterState *interp = self->interp;
    struct phd_py_root r[32];
    size_t n = phd_py_interp_roots(interp, r, 32);
    for (size_t i = 0; i < n; i++) {
        /* the first three are the ones every analysis starts from */
        uint32_t kind = i == 0 ? PHD_ROOT_MODULES : i == 1 ? PHD_ROOT_SYSDICT : i == 2 ? PHD_ROOT_BUILTINS
                                                                                     : PHD_ROOT_INTERP;
        add_root(d, r[i].obj, kind, string_c(d, r[i].name), 0);
    }
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts)) {
        uint64_t tid = (uint64_t)ts->thread_id;
        n = phd_py_thread_roots(ts, r, 32);
        for (size_t i = 0; i < n; i++)
            add_root(d, r[i].obj, PHD_ROOT_THREAD, string_c(d, r[i].name), tid);
        collect_frame_roots(d, ts, ts == self);
    }
}

/* Seeds every object of a GC list that the walk has not reached, in list
 * order.  The list is read a batch ahead so that the visited-set slots of
 * the batch can be prefetched: the list is not changed by the walk. */
/*
 * The GC lists.  The last pass visits every object of the GC lists that the
 * walk from the roots did not reach.  Following a list costs one dependent
 * cache miss per GC-tracked object, as in a collection: 12-15% of a dump.
 * So a second thread reads the lists into an array (8 bytes per tracked
 * object) from the start of the dump, while this thread walks the graph,
 * and the last pass reads the array.
 *
 * That is safe because nothing links or unlinks a GC object while the dump
 * runs: this thread holds the GIL throughout, runs no Python code, and
 * CPython's own code that it calls (dict iteration, the C __sizeof__ of
 * CPython's types, float formatting) allocates nothing GC-tracked; the
 * second thread only reads.  Before calling code from outside CPython (an
 * extension type's C __sizeof__, which may allocate or free anything), this
 * thread stops the reader and forgets its array; the last pass then follows
 * the lists itself, as it did before the reader existed.  The order of the
 * nodes is the same either way: the lists' order.
 */
enum { PW_RUNNING, PW_DONE, PW_FULL };
#define PW_BATCH 1024

static void *prewalk_main(void *arg)
{
    struct prewalk *pw = arg;
    size_t n = 0;
    for (size_t l = 0; l < pw->nlists; l++) {
        void *head = pw->lists[l];
        for (void *g = phd_py_gc_first(head); g; g = phd_py_gc_next(head, g)) {
            if (n == pw->cap) {
                atomic_store_explicit(&pw->state, PW_FULL, memory_order_release);
                return NULL;
            }
            pw->buf[n++] = phd_py_gc_object(g);
            if (n % PW_BATCH == 0) {
                if (atomic_load_explicit(&pw->stop, memory_order_relaxed))
                    return NULL;
                atomic_store_explicit(&pw->ready, n, memory_order_release);
            }
        }
    }
    atomic_store_explicit(&pw->ready, n, memory_order_release);
    atomic_store_explicit(&pw->state, PW_DONE, memory_order_release);
    return NULL;
}

/* Starts the reader; without it (no thread, no memory) the last pass
 * follows the lists itself. */
static void prewalk_start(struct dump *d, void **lists, size_t nlists)
{
    struct prewalk *pw = &d->pw;
    memcpy(pw->lists, lists, nlists * sizeof *lists);
    pw->nlists = nlists;
    /* address space only: the pages the reader writes are the memory used */
    for (size_t cap = (size_t)1 << 27; cap >= ((size_t)1 << 20) && !pw->buf; cap >>= 3) {
        void *m = mmap(NULL, cap * sizeof *pw->buf, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m != MAP_FAILED) {
            pw->buf = m;
            pw->cap = cap;
        }
    }
    if (!pw->buf)
        return;
    atomic_init(&pw->ready, 0);
    atomic_init(&pw->state, PW_RUNNING);
    atomic_init(&pw->stop, 0);
    if (phd_thread_start(&pw->th, prewalk_main, pw, 64 * 1024) == 0)
        pw->running = pw->usable = 1;
}

static void prewalk_join(struct prewalk *pw)
{
    if (pw->running) {
        atomic_store_explicit(&pw->stop, 1, memory_order_relaxed);
        pthread_join(pw->th, NULL);
        pw->running = 0;
    }
}

static void prewalk_abandon(struct dump *d)
{
    prewalk_join(&d->pw);
    d->pw.usable = 0;
}

static void prewalk_release(struct dump *d)
{
    prewalk_abandon(d);
    if (d->pw.buf)
        munmap(d->pw.buf, d->pw.cap * sizeof *d->pw.buf);
    d->pw.buf = NULL;
}

/* Visits the GC objects ops[0, n) that are not nodes yet, in order.  From
 * the reader's array (from_array), it stops as soon as the reader has been
 * abandoned: code from outside CPython ran, and the rest of the array may
 * name freed objects; the lists, followed from their start, say which are
 * still there. */
static void visit_gc_objects(struct dump *d, PyObject *const *ops, size_t n, int from_array)
{
    PyObject *batch[64];
    for (size_t i = 0; i < n && !d->failed;) {
        size_t nb = 0;
        for (; i < n && nb < 64; i++) {
            PyObject *op = ops[i];
            unsigned bit;
            const unsigned char *b = nodebit_byte(d, op, 0, &bit);
            if (b && (*b & bit))
                continue; /* a node: the bitmap says so */
            batch[nb++] = op;
        }
        for (size_t k = 0; k < nb && !d->failed; k++) {
            int is_new;
            discover(d, batch[k], &is_new);
            if (is_new)
                drain(d);
            if (from_array && !d->pw.usable)
                return;
        }
    }
}

/* The last pass over the reader's array; 0 when it cannot be used (the
 * reader was stopped or ran out of room) and the lists must be followed. */
static int gc_pass_prewalked(struct dump *d)
{
    struct prewalk *pw = &d->pw;
    size_t i = 0;
    while (pw->usable && !d->failed) {
        size_t ready = atomic_load_explicit(&pw->ready, memory_order_acquire);
        if (i < ready) {
            size_t n = ready - i < 64 ? ready - i : 64;
            visit_gc_objects(d, pw->buf + i, n, 1);
            i += n;
            continue;
        }
        int state = atomic_load_explicit(&pw->state, memory_order_acquire);
        if (state == PW_DONE && i == atomic_load_explicit(&pw->ready, memory_order_acquire))
            return 1;
        if (state == PW_FULL)
            break;
        if (state == PW_RUNNING)
            sched_yield();
    }
    prewalk_abandon(d);
    return d->failed != 0;
}

static void gc_pass(struct dump *d, void **lists, size_t nlists)
{
    if (gc_pass_prewalked(d)) {
        d->pw.served = 1;
        return;
    }
    PyObject *batch[64];
    for (size_t l = 0; l < nlists && !d->failed; l++) {
        void *head = lists[l];
        void *g = phd_py_gc_first(head);
        while (g && !d->failed) {
            size_t nb = 0;
            for (; g && nb < 64; g = phd_py_gc_next(head, g))
                batch[nb++] = phd_py_gc_object(g);
            /* a batch is visited before the list is read further: visiting
             * may (through an extension's __sizeof__) change the list */
            visit_gc_objects(d, batch, nb, 0);
        }
    }
}

/* ---- the dump ---------------------------------------------------------- */

/* The file written by a second thread (phd_writer_background), unless
 * PYHEAPDIFF_WRITER_THREAD=0: for comparing, and for programs that must
 * not see a thread start. */
static int writer_thread_wanted(void)
{
    const char *e = getenv("PYHEAPDIFF_WRITER_THREAD");
    return !(e && strcmp(e, "0") == 0);
}

static uint64_t process_start_ns(void)
{
    /* field 22 of /proc/self/stat (clock ticks after boot) + btime */
    char buf[1024];
    uint64_t start_ticks = 0, btime = 0;
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    /* after ") " come fields 3.. ; starttime is field 22 */
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        if (++field == 22) {
            start_ticks = strtoull(tok, NULL, 10);
            break;
        }
    }
    f = fopen("/proc/stat", "re");
    if (!f)
        return 0;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %llu", (unsigned long long *)&btime) == 1)
            break;
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0 || !btime)
        return 0;
    return btime * 1000000000ull + start_ticks * (1000000000ull / (uint64_t)hz);
}

static void dump_release(struct dump *d)
{
    prewalk_release(d);
    phd_writer_release(&d->w);
    phd_encoder_release(&d->enc);
    buf_free(d->q, d->qcap * sizeof *d->q);
    slots_free(d->slots, d->vbits);
    buf_free(d->ebuf, d->ecap);
    PyMem_RawFree(d->types);
    buf_free(d->sbuf, d->scap);
    PyMem_RawFree(d->roots);
    ptrmap_free(&d->type_map);
    ptrmap_free(&d->str_map);
    buf_free(d->cl, d->cl_cap * sizeof *d->cl);
    ptrmap_free(&d->cl_late);
    ptrmap_free(&d->far);
    ptrmap_free(&d->origins);
    ptrmap_free(&d->rootset);
    ptrmap_free(&d->gb_map);
    buf_free(d->gb, d->gb_cap);
}

static void write_tables(struct dump *d)
{
    /* strings: the buffer holds them as encoded records already */
    phd_writer_chunk_begin(&d->w, PHD_CHUNK_STRINGS);
    const unsigned char *p = d->sbuf, *end = d->sbuf + d->slen;
    while (p < end) {
        uint64_t l;
        if (phd_varint_get(&p, end, &l) < 0 || phd_writer_string(&d->w, (const char *)p, (size_t)l) < 0)
            break;
        p += l;
    }
    phd_writer_chunk_begin(&d->w, PHD_CHUNK_TYPES);
    for (uint32_t t = 0; t < d->n_types; t++) {
        struct tinfo *ti = &d->types[t];
        size_t node = visit_find(d, (PyObject *)ti->tp);
        if (phd_writer_type(&d->w, ti->name_sid, node == NOT_FOUND ? UINT32_MAX : (uint32_t)node,
                            ti->default_size) < 0)
            break;
    }
    phd_writer_chunk_begin(&d->w, PHD_CHUNK_TYPE_ORIGINS);
    for (uint32_t t = 0; t < d->n_types; t++)
        if (phd_writer_origin(&d->w, d->types[t].origin) < 0)
            break;
    phd_writer_chunk_begin(&d->w, PHD_CHUNK_ROOTS);
    for (size_t r = 0; r < d->n_roots; r++) {
        struct root *rt = &d->roots[r];
        size_t node = visit_find(d, rt->obj);
        if (node != NOT_FOUND && phd_writer_root(&d->w, rt->kind, (uint32_t)node, rt->thread_id, rt->name) < 0)
            break;
    }
    phd_writer_chunk_end(&d->w);
}

/*
 * The file a dump replaces.  rename() over it drops its last link, and the
 * kernel then frees its pages and blocks while the dump waits: 5-6 ms for
 * a 17 MB snapshot on ext4, 7 % of a dump of a million objects.  Held
 * open (O_PATH: no read permission needed) across the rename, it is freed
 * when that descriptor closes instead, which a detached thread of its own
 * does on another core.  -1: none (a new path, or written in place).
 */
static int replaced_open(const struct phd_outfile *out, const char *path)
{
    return out->tmp[0] ? open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC) : -1;
}

static void *replaced_close_main(void *arg)
{
    close((int)(intptr_t)arg);
    return NULL;
}

static void replaced_close(int fd)
{
    if (fd < 0)
        return;
    pthread_t th;
    if (phd_thread_start(&th, replaced_close_main, (void *)(intptr_t)fd, 64 * 1024) == 0)
        pthread_detach(th);
    else
        close(fd);
}

/*
 * dump(path, collected=True, values=True, skip_globals=None), called with
 * the vectorcall convention: the arguments arrive as a C array, so the call
 * itself creates no tuple or dict that the walk would find on the GC lists
 * as an object "held by C" (and, at a new address in each dump, as one
 * object freed and one new between two snapshots).
 */
static PyObject *agent_dump(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"path", "collected", "values", "skip_globals"};
    PyObject *given[4] = {NULL, NULL, NULL, NULL};
    if (nargs > 4)
        return PyErr_Format(PyExc_TypeError, "dump() takes at most 4 arguments (%zd given)", nargs);
    for (Py_ssize_t i = 0; i < nargs; i++)
        given[i] = args[i];
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int slot = -1;
        for (int j = 0; j < 4 && slot < 0; j++)
            if (PyUnicode_Check(key) && PyUnicode_CompareWithASCIIString(key, names[j]) == 0)
                slot = j;
        if (slot < 0)
            return PyErr_Format(PyExc_TypeError, "dump() got an unexpected keyword argument %R", key);
        if (given[slot])
            return PyErr_Format(PyExc_TypeError, "dump() got multiple values for argument '%s'", names[slot]);
        given[slot] = args[nargs + k];
    }
    if (!given[0])
        return PyErr_Format(PyExc_TypeError, "dump() missing required argument 'path'");
    int collect = given[1] ? PyObject_IsTrue(given[1]) : 1;
    int values = given[2] ? PyObject_IsTrue(given[2]) : 1;
    if (collect < 0 || values < 0)
        return NULL;
    PyObject *path_arg = given[0], *skip = given[3], *path_obj = NULL;
    if (!PyUnicode_FSConverter(path_arg, &path_obj))
        return NULL;
    const char *path = PyBytes_AS_STRING(path_obj);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct dump *d = buf_resize(NULL, 0, sizeof *d); /* zero-filled */
    if (!d) {
        Py_DECREF(path_obj);
        return PyErr_NoMemory();
    }
    d->values = values;
    d->skip_globals = (skip && PyDict_Check(skip)) ? skip : NULL;
    PyObject *result = NULL;
    /* a temporary beside path, renamed over it at the end, or a device or
     * FIFO written in place (src/util/outfile.c) */
    struct phd_outfile out;
    int saved = 0;
    if (phd_outfile_open(&out, path, 0, NULL) < 0) {
        saved = errno;
        goto fail;
    }
    if (phd_writer_init(&d->w, out.fd, CHUNK_SIZE) != 0) {
        saved = ENOMEM;
        goto fail_unlink;
    }
    phd_encoder_init(&d->enc);
    d->qcap = 1u << 14;
    d->q = buf_resize(NULL, 0, d->qcap * sizeof *d->q);
    d->ecap = 4096;
    d->ebuf = buf_resize(NULL, 0, d->ecap);
    if (!d->q || !d->ebuf || visited_grow(d) < 0) {
        saved = ENOMEM;
        goto fail_unlink;
    }
    d->sid_class = string_c(d, "__class__");
    origins_init(d);

    struct phd_header h = {0};
    h.version = PHD_FORMAT_VERSION;
    h.pointer_size = (uint8_t)sizeof(void *);
    h.addr_shift = 3;
    h.py_major = PY_MAJOR_VERSION;
    h.py_minor = PY_MINOR_VERSION;
    h.py_micro = PY_MICRO_VERSION;
    h.flags = (values ? PHD_HDR_VALUES : 0) | (collect ? PHD_HDR_COLLECTED : 0);
    h.pid = (uint64_t)getpid();
    h.start_time_ns = process_start_ns();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    h.timestamp_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
    phd_writer_header(&d->w, &h);
    if (writer_thread_wanted())
        phd_writer_background(&d->w); /* else (no thread) it writes itself */
    phd_writer_chunk_begin(&d->w, PHD_CHUNK_NODES);

    PyThreadState *ts = PyThreadState_Get();
    void *lists[8];
    size_t nlists = phd_py_gc_lists(ts->interp, lists, 8);
    prewalk_start(d, lists, nlists);
    collect_roots(d, ts);
    for (size_t r = 0; r < d->n_roots; r++)
        if (ptrmap_put(&d->rootset, d->roots[r].obj, 1) < 0)
            fail_nomem(d);
    for (size_t r = 0; r < d->n_roots && !d->failed; r++)
        seed(d, d->roots[r].obj);
    gc_pass(d, lists, nlists);
    drain(d);
    prewalk_release(d);
    if (d->failed) {
        saved = d->failed;
        goto fail_unlink;
    }
    write_tables(d);
    struct phd_footer foot = {d->n, d->n_edges, d->total_size, d->n_strings, d->n_types, 0};
    for (size_t r = 0; r < d->n_roots; r++)
        if (visit_find(d, d->roots[r].obj) != NOT_FOUND)
            foot.roots++;
    saved = phd_writer_finish(&d->w, &foot);
    if (saved)
        goto fail_unlink;
    uint64_t bytes = d->w.offset;
    int replaced = replaced_open(&out, path);
    if (phd_outfile_commit(&out, NULL) < 0) {
        saved = errno;
        if (replaced >= 0)
            close(replaced); /* not replaced after all */
        goto fail;
    }
    replaced_close(replaced);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    size_t nodes = d->n, types = d->n_types;
    last_node_count = d->n_table;
    uint64_t edges = d->n_edges, total = d->total_size;
    uint32_t roots = foot.roots;
    int served = d->pw.served;
    dump_release(d);
    buf_free(d, sizeof *d);
    result = Py_BuildValue("{s:O,s:n,s:K,s:K,s:K,s:n,s:I,s:d,s:O}", "path", path_arg, "objects",
                           (Py_ssize_t)nodes, "edges", (unsigned long long)edges, "bytes",
                           (unsigned long long)bytes, "size", (unsigned long long)total, "types",
                           (Py_ssize_t)types, "roots", (unsigned)roots, "seconds", secs, "gc_reader",
                           served ? Py_True : Py_False);
    Py_DECREF(path_obj);
    return result;

fail_unlink:
    phd_writer_release(&d->w); /* its thread writes to out.fd: ended first */
    phd_outfile_abort(&out);
fail:
    dump_release(d);
    buf_free(d, sizeof *d);
    if (saved == ENOMEM)
        PyErr_Format(PyExc_MemoryError, "out of memory while dumping to %s", path);
    else {
        errno = saved;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path_arg);
    }
    Py_DECREF(path_obj);
    return NULL;
}

static PyMethodDef agent_methods[] = {
    {"dump", (PyCFunction)(void (*)(void))agent_dump, METH_FASTCALL | METH_KEYWORDS,
     "dump(path, collected=False, values=True, skip_globals=None) -> dict\n\n"
     "Write the object graph of this interpreter to path; collected only sets the\n"
     "header flag (the caller ran gc.collect()).  Low-level: use pyheapdiff.dump()."},
    {NULL, NULL, 0, NULL},
};

static int agent_exec(PyObject *m)
{
    /* subtype_traverse is static in CPython: take it from a throwaway
     * class, as every class defined in Python without __slots__ tricks
     * shares it.  object.__sizeof__ likewise. */
    PyObject *cls = PyObject_CallFunction((PyObject *)&PyType_Type, "s(){}", "_phd_probe");
    if (!cls)
        return -1;
    subtype_traverse_fn = ((PyTypeObject *)cls)->tp_traverse;
    Py_DECREF(cls);
    PyObject *m_sizeof = dict_get_str(phd_py_type_dict(&PyBaseObject_Type), "__sizeof__");
    if (m_sizeof && Py_IS_TYPE(m_sizeof, &PyMethodDescr_Type))
        object_sizeof_fn = ((PyMethodDescrObject *)m_sizeof)->d_method->ml_meth;
    if (PyModule_AddIntConstant(m, "FORMAT_VERSION", PHD_FORMAT_VERSION) < 0)
        return -1;
    /* sys.stdlib_module_names never changes: hash it once */
    PyObject *names = PySys_GetObject("stdlib_module_names"); /* borrowed */
    PyObject *it = names ? PyObject_GetIter(names) : NULL, *name;
    if (!it) {
        PyErr_Clear();
        return 0;
    }
    while ((name = PyIter_Next(it))) {
        char buf[256];
        size_t len = PyUnicode_Check(name) ? str_utf8(name, buf, sizeof buf) : 0;
        Py_DECREF(name);
        if (len && !ptrmap_get(&stdlib_names, (const void *)name_hash(buf, len)) &&
            ptrmap_put(&stdlib_names, (const void *)name_hash(buf, len), 1) < 0) {
            Py_DECREF(it);
            PyErr_NoMemory();
            return -1;
        }
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return -1;
    return 0;
}

/* The slot's value is a void * holding a function pointer: the C API needs
 * the conversion ISO C leaves undefined and POSIX defines; __extension__
 * tells -Wpedantic so for this one expression. */
static PyModuleDef_Slot agent_slots[] = {
    {Py_mod_exec, __extension__(void *)agent_exec},
    {0, NULL},
};

static struct PyModuleDef agent_module = {
    PyModuleDef_HEAD_INIT, "pyheapdiff._agent", "The pyheapdiff heap walker (C).", 0, agent_methods,
    agent_slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__agent(void) { return PyModuleDef_Init(&agent_module); }
