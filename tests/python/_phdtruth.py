"""Ground truth for the agent tests, computed inside the dumping subprocess.

The test harness (conftest.run_dump) runs a snippet in a fresh interpreter
with this module imported as ``T``.  The snippet builds objects, may
``T.mark(name, obj)`` some of them, and calls ``T.dump()``, which:

1. takes ``gc.get_objects()`` and keeps that list alive until the dump is
   written, so every object in it is alive (and unchanged) during the dump;
2. records, for each of those objects, its id, its type's name as the agent
   spells it and its size as ``sys.getsizeof`` gives it -- computed
   *before* the dump, without running any Python-level code of the objects
   (no __repr__/__eq__/__hash__/__getattr__/__sizeof__ of user classes);
3. optionally records ``gc.get_referents`` of each object, by id;
4. dumps the snapshot and writes everything as JSON.

Everything the ground-truth code itself creates is created after the
``gc.get_objects()`` call, so it is not part of the checked set.
"""

import _thread
import gc
import json
import os
import sys
import tracemalloc
import types

import pyheapdiff

HEAPTYPE = 1 << 9
HAVE_GC = 1 << 14
TYPE_SUBCLASS = 1 << 31
MANAGED_DICT = 1 << 4  # 3.11: instances keep their dict/values pointers before the object

_type_flags = type.__dict__["__flags__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__
_type_name = type.__dict__["__name__"].__get__
_type_module = type.__dict__["__module__"].__get__
_object_sizeof = object.__sizeof__
GC_HEAD = sys.getsizeof([]) - [].__sizeof__()
PTR_SIZE = 8 if sys.maxsize > 2**32 else 4

SNAP = None
TRUTH = None
marks = {}
extra = {}
_name_cache = {}
_sizeof_cache = {}


def init(snap, truth):
    global SNAP, TRUTH
    SNAP, TRUTH = snap, truth


def type_name(t):
    """The agent's name for type t: module-qualified __qualname__ for heap
    types (no prefix for builtins), tp_name for static types."""
    key = id(t)
    name = _name_cache.get(key)
    if name is None:
        if _type_flags(t) & HEAPTYPE:
            mod = _type_dict(t).get("__module__")
            q = _type_qualname(t)
            name = f"{mod}.{q}" if type(mod) is str and mod != "builtins" else q
        else:
            mod = _type_module(t)
            n = _type_name(t)
            name = n if mod == "builtins" else f"{mod}.{n}"
        _name_cache[key] = name
    return name


def _sizeof_is_c(t):
    """True when the __sizeof__ that sys.getsizeof would call is C code."""
    key = id(t)
    r = _sizeof_cache.get(key)
    if r is None:
        r = False
        for k in _type_mro(t) or ():
            d = _type_dict(k)
            if "__sizeof__" in d:
                r = type(d["__sizeof__"]) is types.MethodDescriptorType
                break
        _sizeof_cache[key] = r
    return r


def pre_header_size(t):
    """What CPython 3.11's sys.getsizeof adds to __sizeof__():
    _PyType_PreHeaderSize, the GC header and the managed-dict pointers."""
    flags = _type_flags(t)
    return (GC_HEAD if flags & HAVE_GC else 0) + (2 * PTR_SIZE if flags & MANAGED_DICT else 0)


def traced(make):
    """(bytes that make() allocates itself and keeps, its result), as
    tracemalloc sees them: the blocks still allocated after the call whose
    innermost Python frame is the call (a class) or make's own line (a
    one-line lambda), so what Python code run by the call (an __init__)
    allocates is left out, as is anything a collection would do."""
    collecting = gc.isenabled()
    gc.disable()
    # fill the free lists (a full collection empties them): a call's
    # argument tuple or keyword dict taken from a fresh block and put back
    # on its free list would still count as allocated
    spare = [tuple(range(k)) for k in (1, 2, 3, 4) for _ in range(4)]
    spare += [dict() for _ in range(4)] + [list() for _ in range(4)]
    del spare
    tracemalloc.start(1)
    x = make()
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    if collecting:
        gc.enable()
    code = getattr(make, "__code__", None)
    where = {(__file__, _CALL_LINE)}
    if code is not None:
        where.add((code.co_filename, code.co_firstlineno))
    n = sum(t.size for t in snap.traces if (t.traceback[0].filename, t.traceback[0].lineno) in where)
    return n, x


_CALL_LINE = next(i for i, line in enumerate(open(__file__).read().splitlines(), 1)
                  if line.strip() == "x = make()")  # in traced


def _beyond_getsizeof(make):
    n, x = traced(make)
    return n - sys.getsizeof(x)


# What a lock owns beyond sys.getsizeof (its OS lock), as tracemalloc
# measures it: the agent counts it in the lock's size.
OWNED = {_thread.LockType: _beyond_getsizeof(_thread.allocate_lock),
         _thread.RLock: _beyond_getsizeof(_thread.RLock)}


# id -> bytes an instance of a @measured class took beyond sys.getsizeof
# when it was made (its attribute values array), as tracemalloc saw it
EXTRA = {}


def measured(cls):
    """Class decorator: each instance made from now on is allocated between
    two readings of tracemalloc, and what it took beyond sys.getsizeof is
    kept, so that size_of gives its whole size (the values array of a
    managed-dict instance depends on how many instances came before it)."""
    base_new = cls.__new__

    def __new__(c, *args, **kw):
        if base_new is object.__new__:
            n, obj = traced(lambda: base_new(c))
        else:
            n, obj = traced(lambda: base_new(c, *args, **kw))
        EXTRA[id(obj)] = n - sys.getsizeof(obj)
        return obj

    cls.__new__ = staticmethod(__new__)
    return cls


def size_of(o):
    """The size the agent records: sys.getsizeof(o) when that runs no
    Python code, plus what OWNED says the type owns beyond it, plus, for
    an instance of a @measured class, its values array.  For a class that
    overrides __sizeof__ in Python (which must not be called): what
    sys.getsizeof would return without the override, object.__sizeof__
    plus the pre-header.  Other instances with a managed dict also own a
    values array, which is not counted here (is_exact says which;
    test_sizes_owned.py checks them against tracemalloc)."""
    t = type(o)
    if _sizeof_is_c(t):
        try:
            size = sys.getsizeof(o) + OWNED.get(t, 0)
        except Exception:
            return None
    else:
        size = _object_sizeof(o) + pre_header_size(t)
    return size + EXTRA.get(id(o), 0)


def is_exact(o):
    """False when size_of(o) leaves out a values array it cannot know."""
    return not (_type_flags(type(o)) & MANAGED_DICT) or id(o) in EXTRA


def describe(o):
    t = type(o)
    flags = _type_flags(t)
    return {"id": id(o), "type": type_name(t), "size": size_of(o), "tracked": gc.is_tracked(o),
            "is_class": bool(flags & TYPE_SUBCLASS), "managed": bool(flags & MANAGED_DICT),
            "exact_size": is_exact(o)}


def mark(name, obj, **more):
    d = describe(obj)
    d.update(more)
    marks[name] = d
    return obj


_members = {}


def c_member_ids(o):
    """ids of the values of the members C code declares for type(o) and its
    bases (tp_members, seen from Python as member descriptors of classes
    that have no __slots__): the references tp_traverse may not report."""
    t = type(o)
    ms = _members.get(id(t))  # by id: a metaclass may define __hash__
    if ms is None:
        # type.__getattribute__: a metaclass may define __getattribute__
        dicts = [type.__getattribute__(k, "__dict__") for k in type.__getattribute__(t, "__mro__")]
        ms = _members[id(t)] = [v for d in dicts if "__slots__" not in d
                                for v in d.values() if type(v) is types.MemberDescriptorType]
    out = []
    for m in ms:
        try:
            out.append(id(m.__get__(o, t)))
        except Exception:
            pass
    return out


def dump(path=None, *, collect=True, values=True, objects=True, referents=False):
    """Dumps to path (default: the harness's snapshot path) and writes the
    ground truth next to it.  objects: record every object of
    gc.get_objects() (id, type name, size, is-a-class, has-a-managed-dict);
    referents: also record gc.get_referents of each, by id.  Returns what
    pyheapdiff.dump returned."""
    global _name_cache, _sizeof_cache
    path = SNAP if path is None else path
    objs = gc.get_objects() if objects else None
    # fresh caches: the old ones are in objs and must not change size now
    _name_cache = {}
    _sizeof_cache = {}
    table = None
    refs = None
    if objs is not None:
        table = []
        for o in objs:
            t = type(o)
            flags = _type_flags(t)
            table.append((id(o), type_name(t), size_of(o), bool(flags & TYPE_SUBCLASS),
                          bool(flags & MANAGED_DICT)))
        if referents:
            refs = []
            for o in objs:
                if referents is True or id(o) in referents:
                    refs.append((id(o), [id(r) for r in gc.get_referents(o)], c_member_ids(o)))
    result = pyheapdiff.dump(path, collect=collect, values=values)
    del objs
    if TRUTH:
        out = {
            "result": {k: v for k, v in result.items() if k != "path"},
            "objects": table,
            "referents": refs,
            "marks": marks,
            "extra": extra,
            "pid": os.getpid(),
        }
        with open(TRUTH, "w") as f:
            json.dump(out, f)
    return result
