"""What derivative code was built from, and whether that is still what the function would use.

Lowering resolves names to objects: ``helper`` to the function it inlines, ``np`` to a module,
``mymod.SCALE`` to a number it binds into the code, a global array to one whose shape the code is
compiled for. Each resolution is a :class:`Read`. Code built from a trace is current while every
read of the trace resolves as it did: a function or module (and any value bound into the code) to
the very same object, a value the code reads again when it runs (a global number, an array) to one
of the same *kind* (a float for a float, an array of the same shape and dtype for an array, the
same integer where an integer can set a shape). The libraries the rules are written for and
their functions (``np``, ``math.sin``, ``np.sum``) are not reads: the rules are matched to them
once, and rebinding ``np`` or replacing ``np.sum`` afterwards is not followed.

Reads of the differentiated function's own names are kept relative to it (:data:`ROOT`), so the
closures one ``def`` makes share a trace, each checked against its own cells; reads made while
inlining a callee name the callee's globals dict, closure cell or the object whose attribute was
read, which the callee's identity (itself a read) fixes.

:func:`guard` turns reads into one Python expression that a derivative evaluates on every call, a
few nanoseconds per read: names of the function's module are read as globals (CPython caches those
lookups), and the objects compared with are the evaluating function's closure variables.
"""

from __future__ import annotations

import builtins
import keyword
import types
from dataclasses import dataclass

import numpy as np

ROOT = "root"  # resolved through the differentiated function's closure, globals and builtins
FUNCTION = "function"  # an attribute of the differentiated function itself (its defaults)
MISSING = object()  # what a name resolves to once it is gone


@dataclass(frozen=True, eq=False)
class Read:
    """``name`` resolved in ``where`` (:data:`ROOT`, :data:`FUNCTION`, a globals dict, a closure
    cell, or an object whose attribute was read) to ``obj``. ``live``: the generated code reads the
    name again when it runs, so only the kind of ``obj`` is built in."""

    where: object
    name: str
    obj: object
    live: bool = False

    @property
    def key(self) -> tuple:
        """What is read: the same name in the same place is one read."""
        return (self.where if isinstance(self.where, str) else id(self.where), self.name)


def distinct(reads) -> tuple:
    """``reads`` without repeats (a name read at each use)."""
    seen: dict = {}
    for read in reads:
        seen.setdefault((read.key, id(read.obj), read.live), read)
    return tuple(seen.values())


def builtins_of(namespace: dict) -> dict:
    """The builtins a function with globals ``namespace`` sees."""
    found = namespace.get("__builtins__", builtins)
    return found if isinstance(found, dict) else vars(found)


def _container(read: Read, fn: types.FunctionType, cells: dict):
    """Where ``read.name`` is looked up for ``fn`` (whose closure cells by name are ``cells``): a
    globals dict, a cell or an object."""
    if read.where is ROOT:
        return cells.get(read.name, fn.__globals__)
    return fn if read.where is FUNCTION else read.where


def _resolve(name: str, where):
    """What ``name`` resolves to now in ``where``, or :data:`MISSING`."""
    if isinstance(where, dict):
        if name in where:
            return where[name]
        return builtins_of(where).get(name, MISSING)
    if isinstance(where, types.CellType):
        try:
            return where.cell_contents
        except ValueError:  # not filled yet
            return MISSING
    return getattr(where, name, MISSING)


def current(reads, fn: types.FunctionType) -> bool:
    """Whether every read resolves as when the code was built (see the module docstring)."""
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    for read in reads:
        now = _resolve(read.name, _container(read, fn, cells))
        if now is not read.obj and not (read.live and same_kind(now, read.obj)):
            return False
    return True


def same_kind(a, b) -> bool:
    """Whether code built for the value ``b`` serves ``a``: numbers of one type, arrays of one shape
    and dtype, equal integers and strings (a length, a shape), equal tuples of those."""
    key = _kind(b)
    return key is not None and _kind(a) == key


def _kind(value):
    if isinstance(value, np.ndarray):
        return (np.ndarray, value.shape, value.dtype.str)
    if isinstance(value, (bool, int, str)) or value is None:
        return (type(value), value)
    if isinstance(value, (float, complex, np.number)):
        return type(value)
    if type(value) is tuple and all(isinstance(v, (bool, int, float, str)) for v in value):
        return (tuple, value)
    return None  # anything else is built in as itself


def is_structural(obj) -> bool:
    """Whether lowering used ``obj`` itself (a function it inlined or matched to a primitive, a
    module, a class), not just a value the code reads when it runs."""
    return callable(obj) or isinstance(obj, types.ModuleType)


LIBRARIES = ("math", "cmath", "numpy")  # the modules whose functions the rules are written for


def is_library(obj) -> bool:
    """Whether ``obj`` is one of :data:`LIBRARIES` or a submodule of one."""
    return isinstance(obj, types.ModuleType) and obj.__name__.split(".")[0] in LIBRARIES


def guard(reads, fn: types.FunctionType, slot, taken=()) -> tuple:
    """``(expression, values)``: Python source, evaluated with ``fn``'s globals, that is true while
    each read resolves to the object it resolves to now (for a live number: to one of its type).
    ``slot(i)`` names the place the expression finds ``values[i]``, an object it compares with.
    Names in ``taken`` (the parameters of the function evaluating it) are not read as globals. Where
    a name is gone the expression raises, which its caller takes for a change."""
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    values: list = []
    seen: set = set()
    terms = []

    def bound(obj) -> str:
        values.append(obj)
        return slot(len(values) - 1)

    bound_in = {read.key for read in reads if not read.live}  # somewhere, the object itself
    for read in reads:
        where = _container(read, fn, cells)
        if (id(where), read.name) in seen:
            continue
        seen.add((id(where), read.name))
        now = _resolve(read.name, where)
        name = read.name
        if where is fn.__globals__ and _plain_name(name) and name not in taken:
            value = name  # a global lookup, which the interpreter caches
        elif isinstance(where, dict):
            namespace, fallback = bound(where), bound(builtins_of(where))
            value = f"({namespace}[{name!r}] if {name!r} in {namespace} else {fallback}[{name!r}])"
        elif isinstance(where, types.CellType):
            value = f"{bound(where)}.cell_contents"
        elif _plain_name(name):
            value = f"{bound(where)}.{name}"
        else:
            value = f"getattr({bound(where)}, {name!r})"
        if read.key not in bound_in and type(now) in (float, complex):
            terms.append(f"{bound(type)}({value}) is {bound(type(now))}")
        else:
            terms.append(f"{value} is {bound(now)}")
    return " and ".join(terms) or "True", values


def _plain_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)
