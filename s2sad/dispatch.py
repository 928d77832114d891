"""Derivative code compiled for the kinds of arguments it is called with.

Code for numbers differs from code for arrays, and code for arrays from code for arrays of other shapes
(where NumPy broadcasts, an adjoint sums back). A derivative function is therefore a small dispatcher:
it looks up the code compiled for its arguments' kinds (numbers, or arrays of a shape and dtype),
compiling it the first time, and calls it. For numbers alone the lookup is one dictionary access.

Gradients of arrays come back as arrays of their argument's shape and dtype (float32 in, float32 out),
writable, even where the math gives a broadcast view or a plain zero.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import weakref

import numpy as np

from .errors import ArgumentError, S2SADError
from .execute import load, resolution_signature
from .pipeline import Spec, compiled, trace_of, uses_arrays
from .shapes import params_kinds, signature

_loaded: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_dispatchers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def functions(fn: types.FunctionType, spec: Spec) -> tuple:
    """The compiled functions of ``spec`` for ``fn``, loaded once per function object."""
    unit = compiled(fn, spec)
    per_fn = _loaded.setdefault(fn, {})
    loaded = per_fn.get(unit.filename)
    if loaded is None:
        loaded = per_fn[unit.filename] = load(unit, fn)
        for generated in loaded:
            generated.source = unit.source
            generated.__wrapped__ = fn
    return loaded


def specialised(fn, spec: Spec, params: tuple, args: tuple) -> tuple:
    """The functions of ``spec`` compiled for the kinds of ``args`` (bound to ``params``)."""
    kinds = params_kinds(params, args)
    for name in spec.wrt:
        kind = kinds.get(name)
        if kind is not None and kind.is_array and kind.dtype[1] not in "fc":
            raise ArgumentError(
                f"`{name}` is an array of {np.dtype(kind.dtype).name}: an integer array has no "
                "gradient (it would be all zeros)",
                hint=f"pass `{name}.astype(float)`",
            )
    if not any(kind.is_array for kind in kinds.values()):
        return functions(fn, spec)
    return functions(fn, dataclasses.replace(spec, kinds=tuple(kinds.items())))


def dispatcher(fn, owner, spec: Spec, params: tuple):
    """A function that runs ``spec``'s code for its arguments' kinds; one per function and spec.
    Code compiled for arrays returns gradients shaped like their arguments (see :mod:`.conform`)."""
    made = _dispatchers.setdefault(fn, {}) if owner is None else {}
    key = (spec, resolution_signature(fn))  # a rebound global means new code
    if key not in made:
        made[key] = _dispatcher(fn, owner, spec, params)
    return made[key]


def _dispatcher(fn, owner, spec: Spec, params: tuple):
    (generic,) = functions(fn, spec)
    table = {}
    prefix = (owner,) if owner is not None else ()
    binder = inspect.signature(fn)

    def call(*args, **keywords):
        if keywords:  # by position, as the compiled code is specialised
            bound = binder.bind(*prefix, *args, **keywords)
            bound.apply_defaults()
            args = bound.args[len(prefix) :]
        key = signature(args)
        run = table.get(key)
        if run is None:
            try:
                (run,) = specialised(fn, spec, params, prefix + args)
            except S2SADError as err:  # reported from the caller's line
                err.__traceback__ = None
                raise err from None
            if owner is not None:
                run = types.MethodType(run, owner)
            table[key] = run
        return run(*args)

    if owner is None and not uses_arrays(trace_of(fn)):
        call = _floats_first(generic, call)
    call.source = generic.source
    call.__name__ = call.__qualname__ = generic.__name__
    call.__doc__ = generic.__doc__
    call.__wrapped__ = fn
    return call


def _floats_first(fast, slow):
    """``fast`` (code for numbers) when every argument is a float, else ``slow``: for functions
    that do not use NumPy, the check costs a few nanoseconds per argument and no lookup."""
    params = fast.__code__.co_varnames[: fast.__code__.co_argcount]
    names = ", ".join(params)
    test = " and ".join(f"type({p}) is float" for p in params) or "True"
    source = (
        f"def dispatch({names}):\n"
        f"    if {test}:\n"
        f"        return fast({names})\n"
        f"    return slow({names})\n"
    )
    namespace = {"fast": fast, "slow": slow}
    exec(source, namespace)
    dispatch = namespace["dispatch"]
    dispatch.__defaults__ = fast.__defaults__
    return dispatch


def like(gradient, value, args=()):
    """``gradient`` as an array shaped like ``value`` with its dtype, when ``value`` is an array;
    a copy if it is one of the arguments ``args`` (``f = sum(x * y)`` has ``∂f/∂x = y``)."""
    if type(value) is not np.ndarray:
        return gradient
    if any(gradient is arg for arg in args):
        return gradient.astype(value.dtype)
    if (
        type(gradient) is np.ndarray
        and gradient.shape == value.shape
        and gradient.dtype == value.dtype
        and gradient.base is None  # its own memory: not a broadcast view, nor an argument's
    ):
        return gradient
    return np.array(np.broadcast_to(gradient, value.shape), dtype=value.dtype)
