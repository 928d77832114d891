"""Derivative code compiled for the kinds of arguments it is called with.

Code for numbers differs from code for arrays, and code for arrays from code for arrays of other shapes
(where NumPy broadcasts, an adjoint sums back). A derivative function is therefore a small dispatcher:
it looks up the code compiled for its arguments' kinds (numbers, or arrays of a shape and dtype),
compiling it the first time, and calls it. For numbers alone the lookup is one dictionary access.

Gradients of arrays come back as arrays of their argument's shape and dtype (float32 in, float32 out),
writable, even where the math gives a broadcast view or a plain zero. A structured argument (a dict of
arrays, say) is passed to the code as its leaves, and its gradient comes back in its structure
(see :mod:`s2sad.trees`); another structure gets other code.
"""

from __future__ import annotations

import inspect
import types
import weakref
from dataclasses import replace

import numpy as np

from .errors import ArgumentError, S2SADError, StructureNeededError
from .execute import load, resolution_signature
from .pipeline import compiled, Spec
from .programs import uses_arrays
from .traces import trace_of
from .shapes import params_kinds, signature
from .trees import Layout

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
    require_floats(spec.wrt, kinds)
    if not any(kind.is_array for kind in kinds.values()):
        return functions(fn, spec)
    return functions(fn, replace(spec, kinds=tuple(kinds.items())))


def require_floats(wrt: tuple, kinds: dict) -> None:
    """Refuse to differentiate with respect to an integer array (``kinds``: name -> Kind)."""
    for name in wrt:
        kind = kinds.get(name)
        if kind is not None and kind.is_array and kind.dtype[1] not in "fc":
            raise ArgumentError(
                f"`{name}` is an array of {np.dtype(kind.dtype).name}: an integer array has no "
                "derivative (it would be all zeros)",
                hint=f"pass `{name}.astype(float)`",
            )


def flattened(fn, spec: Spec, params: tuple, args: tuple, skip: int = 0) -> tuple:
    """``(functions, layout)``: the functions of ``spec`` compiled for the structures and kinds of
    ``args``; they take each structured argument's leaves in its place, as ``layout`` lays them out
    (the first ``skip`` arguments, a method's ``self``, are never taken apart; arguments after
    ``params`` are the directions of ``spec``)."""
    layout, structures, _ = laid_out(fn, params, args, skip, spec.directions)
    flat = replace(
        spec,
        wrt=layout.leaf_params(spec.wrt),
        directions=layout.leaf_params(spec.directions),
        structures=structures,
    )
    if layout.structures:
        flat = replace(flat, single=False)
    return specialised(fn, flat, layout.params, layout.flatten(args)), layout


def laid_out(fn, params: tuple, args: tuple, skip: int = 0, directions: tuple = ()) -> tuple:
    """``(layout, structures, trace)`` for a call of ``fn`` with ``args``: how they become the
    generated code's parameters, the structures to lower with, and the trace lowered with them."""
    layout = Layout(params, args, skip, directions)
    structures = known_structures(fn, layout)
    return layout, structures, trace_of(fn, structures)


def known_structures(fn, layout: Layout) -> tuple | None:
    """What to lower ``fn`` with for arguments laid out as ``layout``: their structures; if none is
    structured, nothing (the trace every call shares), or, for a function that uses a parameter as
    a structure, the knowledge that none is (where a structure is needed, the lowering says so)."""
    if layout.structures:
        return layout.structures
    try:
        trace_of(fn)
    except StructureNeededError:
        return ()
    return None


def dispatcher(fn, owner, spec: Spec, params: tuple):
    """A function that runs ``spec``'s code for its arguments' kinds; one per function and spec.
    Code compiled for arrays returns gradients shaped like their arguments (see :mod:`.conform`)."""
    made = _dispatchers.setdefault(fn, {}) if owner is None else {}
    key = (spec, resolution_signature(fn))  # a rebound global means new code
    if key not in made:
        made[key] = _dispatcher(fn, owner, spec, params)
    return made[key]


def _dispatcher(fn, owner, spec: Spec, params: tuple):
    try:
        (generic,) = functions(fn, spec)
    except StructureNeededError:  # its code depends on its arguments' structures
        generic = None
    table = {}
    prefix = (owner,) if owner is not None else ()
    binder = inspect.signature(fn)
    count = len(spec.directions)  # f_hvp(x..., v...) takes a direction after the arguments

    def call(*args, **keywords):
        if keywords:  # by position, as the compiled code is specialised
            bound = binder.bind(*prefix, *args, **keywords)
            bound.apply_defaults()
            args = bound.args[len(prefix) :]
        if count and len(prefix) + len(args) - count < len(params):
            # the arguments left out before the directions take their defaults
            try:
                bound = binder.bind(*prefix, *args[: len(args) - count])
            except TypeError as err:
                raise ArgumentError(
                    f"`{trace_name(fn)}`: {err}",
                    hint="give its arguments, then one direction per input",
                ) from None
            bound.apply_defaults()
            args = bound.args[len(prefix) :] + args[len(args) - count :]
        key = signature(args)
        run = table.get(key)
        if run is None:
            try:
                (run,), layout = flattened(fn, spec, params, prefix + args, len(prefix))
            except S2SADError as err:  # reported from the caller's line
                err.__traceback__ = None
                raise err from None
            if owner is not None:
                run = types.MethodType(run, owner)
            if layout.structures:
                if generic is None:
                    dispatch.source = run.source
                run = _regrouping(run, spec, layout, prefix)
            table[key] = run
        return run(*args)

    dispatch = call
    if generic is None:
        dispatch.source = STRUCTURED_SOURCE
        dispatch.__name__ = dispatch.__qualname__ = f"{trace_name(fn)}_{spec.kind}"
    else:
        if owner is None and not uses_arrays(trace_of(fn)):
            dispatch = _floats_first(generic, call)
        dispatch.source = generic.source
        dispatch.__name__ = dispatch.__qualname__ = generic.__name__
        dispatch.__doc__ = generic.__doc__
    dispatch.__wrapped__ = fn
    return dispatch


STRUCTURED_SOURCE = (
    "# This function's parameters are structures, so its code depends on the structures it is\n"
    "# called with; `.source` shows the code compiled for the last new structure.\n"
)


def trace_name(fn) -> str:
    """The name generated code gives ``fn``: its own, or ``lambda_fn``."""
    return fn.__name__ if fn.__name__.isidentifier() else "lambda_fn"


def _regrouping(run, spec: Spec, layout: Layout, prefix: tuple):
    """``run`` (code taking the leaves of structured arguments) called with the structures
    themselves; gradients come back in their arguments' structures, leaves shaped like theirs."""
    skip = len(prefix)
    with_value = spec.kind == "value_and_grad"

    def call(*args):
        flat = layout.flatten(prefix + args)
        result = run(*flat[skip:])
        value, grads = result if with_value else (None, result)
        leaves = dict(zip(layout.params, flat))
        grouped = layout.group(spec.wrt, grads, lambda g, leaf: like(g, leaves[leaf], flat))
        grads = grouped[0] if spec.single else grouped
        return (value, grads) if with_value else grads

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
