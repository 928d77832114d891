"""Compile generated source once, cache it, and load it as ordinary Python functions.

Generated functions run with the user's module as their globals, so module constants are read when the
code runs, exactly as the original function reads them. The objects the code needs besides (``cos``, a
closure constant) reach it as closure variables of a small factory, which is also the fastest way
CPython looks a name up. The source is registered in :mod:`linecache` under a name like
``<s2sad: f_grad from demo.py:3>``, so a traceback inside derivative code shows the generated line.

Compiled code is cached by the trace it was built from and the transform requested; a redefined
function, or one whose callees were rebound, has a new trace (see :mod:`s2sad.traces`) and is
transformed afresh.
"""

from __future__ import annotations

import itertools
import linecache
import os
import textwrap
import types
from dataclasses import dataclass
from typing import Callable

from .frontend import Scope
from .rule_checks import check_first_calls

_FACTORY = "_s2sad_factory"
_counter = itertools.count(1)
_cache: dict = {}
_generated_files: set = set()


@dataclass(frozen=True)
class Compiled:
    """Generated source, compiled: ``entries`` name the functions ``load`` returns."""

    source: str
    entries: tuple
    bindings: tuple  # (name, kind, payload): see codegen.Namespace
    code: types.CodeType  # the factory's code
    filename: str


def compile_source(source: str, entries: tuple, bindings: tuple, origin: str) -> Compiled:
    """Compile ``source`` (black-formatted functions) inside a factory that binds ``bindings``."""
    filename = f"<s2sad: {entries[0]} from {origin} #{next(_counter)}>"
    params = ", ".join(name for name, _, _ in bindings)
    text = (
        f"def {_FACTORY}({params}):\n"
        + textwrap.indent(source, "    ")
        + f"    return ({', '.join(entries)},)\n"
    )
    module_code = compile(text, filename, "exec")
    code = next(
        c for c in module_code.co_consts if isinstance(c, types.CodeType) and c.co_name == _FACTORY
    )
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)  # mtime None: never evicted
    _generated_files.add(filename)
    return Compiled(source, entries, tuple(bindings), code, filename)


def load(compiled: Compiled, fn: types.FunctionType) -> tuple:
    """The generated functions, bound to ``fn``'s globals, closure cells and default values.

    Closure variables of ``fn`` reach the generated code through ``fn``'s own cells, so the code sees
    what ``fn`` sees: a later rebinding in the enclosing function included.
    """
    factory = types.FunctionType(compiled.code, fn.__globals__, _FACTORY)
    made = factory(*bound_values(compiled, fn).values())
    check_first_calls(made, compiled.filename)
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    shared = {
        name: cells[payload] for name, kind, payload in compiled.bindings if kind == "closure"
    }
    return tuple(_rebind(generated, shared, fn.__defaults__) for generated in made)


def _rebind(generated: types.FunctionType, shared: dict, defaults):
    """``generated`` with the cells named in ``shared`` swapped in, and the user's default values."""
    if generated.__defaults__ is not None:
        generated.__defaults__ = defaults
    if not shared or not generated.__closure__:
        return generated
    closure = tuple(
        shared.get(name, cell)
        for name, cell in zip(generated.__code__.co_freevars, generated.__closure__)
    )
    return types.FunctionType(
        generated.__code__,
        generated.__globals__,
        generated.__name__,
        generated.__defaults__,
        closure,
    )


def bound_values(compiled: Compiled, fn: types.FunctionType) -> dict:
    """Name -> object for everything the generated code binds, closure values read now."""
    scope = Scope(fn)
    return {
        name: payload if kind == "object" else scope.closure_value(payload)
        for name, kind, payload in compiled.bindings
    }


def cached(trace, spec: tuple, build: Callable[[], Compiled]) -> Compiled:
    """The compiled transform ``spec`` of ``trace``, built by ``build()`` the first time. Traces are
    kept (see :mod:`s2sad.traces`), so their identities stay theirs."""
    key = (id(trace), spec)
    compiled = _cache.get(key)
    if compiled is None:
        compiled = _cache[key] = build()
    return compiled


def is_generated(fn: types.FunctionType) -> bool:
    """Whether ``fn`` is code this module compiled."""
    return fn.__code__.co_filename in _generated_files


def origin_of(fn: types.FunctionType) -> str:
    """``demo.py:3``: where ``fn`` is defined, for generated file names and headers."""
    code = fn.__code__
    return f"{os.path.basename(code.co_filename)}:{code.co_firstlineno}"
