"""Derivative code compiled for the kinds of arguments it is called with.

Code for numbers differs from code for arrays, and code for arrays from code for arrays of other shapes
(where NumPy broadcasts, an adjoint sums back). A derivative function is therefore a small dispatcher:
it looks up the code compiled for its arguments' kinds (numbers, or arrays of a shape and dtype),
compiling it the first time, and calls it. For a function that does not use NumPy, called with
floats, it calls the code for numbers straight away.

Before running anything, it checks that the code is built from what the function uses now: the
functions it inlined, the values bound into it and the kinds of the values it reads when it runs
(:mod:`s2sad.provenance`). The check is one generated expression, a few nanoseconds per name; where
it fails, the code is built again, so a derivative always agrees with calling the function now.
Arguments may be given by name, and those left out take the function's defaults
(:mod:`s2sad.calling`).

Gradients of arrays come back as arrays of their argument's shape and dtype (float32 in, float32 out),
writable, even where the math gives a broadcast view or a plain zero. A structured argument (a dict of
arrays, say) is passed to the code as its leaves, and its gradient comes back in its structure
(see :mod:`s2sad.trees`); another structure gets other code.
"""

from __future__ import annotations

import types
import weakref
from dataclasses import replace

import numpy as np

from .errors import ArgumentError, LengthNeededError, S2SADError, StructureNeededError, located
from .calling import completed, positional_only
from .execute import load
from .pipeline import compiled, Spec
from .provenance import current, guard
from .programs import uses_arrays
from .traces import trace_of
from .lazy_arrays import is_lazy
from .runtime import conform
from .shapes import SCALAR, params_kinds, signature
from .trees import Layout, render

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
    """The functions of ``spec`` compiled for the kinds of ``args`` (bound to ``params``): for
    floats given to a function that does not use NumPy, the code for numbers; else code for these
    kinds (integers among numbers too: its derivatives of numbers are made floats, where the code
    for floats need not)."""
    kinds = params_kinds(params, args)
    require_floats(spec.wrt, kinds)
    floats = all(kind == SCALAR for kind in kinds.values())
    if floats and not uses_arrays(trace_of(fn, spec.structures)):
        return functions(fn, spec)
    return functions(fn, replace(spec, kinds=tuple(kinds.items())))


def require_numbers(layout: Layout, wrt: tuple) -> None:
    """Refuse to differentiate with respect to a function passed as an argument."""
    for name in wrt:
        tree = dict(layout.structures).get(name)
        if tree is not None and tree.kind == "callable":
            raise ArgumentError(
                f"`{name}` is a function ({render(tree)}): there is no derivative with respect "
                "to it; code is compiled for the function given",
                hint="name the numbers to differentiate in wrt, by position or name",
            )


def require_floats(wrt: tuple, kinds: dict) -> None:
    """Refuse to differentiate with respect to an integer array (``kinds``: name -> Kind)."""
    for name in wrt:
        kind = kinds.get(name)
        if kind is not None and kind.is_array and kind.dtype[1] not in "fc":
            raise ArgumentError(
                f"`{name}` is an array of {np.dtype(kind.dtype).name}: an integer array has no "
                "derivative (it would be all zeros)",
                hint=f"pass `{name}.astype(float)` to differentiate with respect to it; to hold "
                f"it constant (labels, indices), leave it out of wrt, or for jvp and vjp, which "
                f"differentiate every primal given, pass it bound: "
                f"functools.partial(f, {name}={name})",
            )


def flattened(fn, spec: Spec, params: tuple, args: tuple, skip: int = 0) -> tuple:
    """``(functions, layout)``: the functions of ``spec`` compiled for the structures and kinds of
    ``args``; they take each structured argument's leaves in its place, as ``layout`` lays them out
    (the first ``skip`` arguments, a method's ``self``, are never taken apart; arguments after
    ``params`` are the directions of ``spec``)."""
    return _flattened(fn, spec, params, args, skip)[:2]


def _flattened(fn, spec: Spec, params: tuple, args: tuple, skip: int = 0) -> tuple:
    """``(functions, layout, trace)``: :func:`flattened`, and the trace the code is built from."""
    layout, structures, trace = laid_out(fn, params, args, skip, spec.directions)
    require_numbers(layout, spec.wrt)
    flat = replace(
        spec,
        wrt=layout.leaf_params(spec.wrt),
        directions=layout.leaf_params(spec.directions),
        structures=structures,
    )
    if layout.structures:
        flat = replace(flat, single=False)
    return specialised(fn, flat, layout.params, layout.flatten(args)), layout, trace


def laid_out(fn, params: tuple, args: tuple, skip: int = 0, directions: tuple = ()) -> tuple:
    """``(layout, structures, trace)`` for a call of ``fn`` with ``args``: how they become the
    generated code's parameters, the structures to lower with, and the trace lowered with them."""
    layout = Layout(params, args, skip, directions)
    structures = known_structures(fn, layout)
    return layout, structures, trace_of(fn, structures)


def known_structures(fn, layout: Layout) -> tuple | None:
    """What to lower ``fn`` with for arguments laid out as ``layout``: their structures; if none is
    structured, nothing (the trace every call shares), or, for a function that uses a parameter as
    a structure, the knowledge that none is (where a structure is needed, the lowering says so).
    A function that reads the length of an array (``for v in x``, ``a, b = x``) is lowered with
    the shapes of its numbers and arrays too, as a list is with its length."""
    structures = layout.structures
    if not structures:
        try:
            trace_of(fn)
            return None
        except StructureNeededError:
            structures = ()
    try:
        trace_of(fn, structures)
    except LengthNeededError:
        return structures + layout.shapes
    return structures


def dispatcher(fn, owner, spec: Spec, params: tuple):
    """A function that runs ``spec``'s code for its arguments' kinds; one per function and spec.
    Code compiled for arrays returns gradients shaped like their arguments (see :mod:`.conform`).
    Each call first checks that the code is built from what ``fn`` would use now (its callees,
    the values bound into it: see :mod:`s2sad.provenance`), and builds it again where not."""
    made = _dispatchers.setdefault(fn, {}) if owner is None else {}
    if spec not in made:
        made[spec] = _Dispatcher(fn, owner, spec, params).function
    return made[spec]


# (code for numbers, the general path, the table of code by kinds, the key of arguments in it,
# objects the guard compares with...)
_STATE = "_s2sad_state"


class _Dispatcher:
    """What a derivative function runs: code for numbers called straight away (for a function
    that does not use NumPy), else code looked up by the kinds of its arguments (``table``), and
    the guard that tells whether all of it is still current.

    The function the user holds is generated: it evaluates the guard and tests that its arguments
    are floats in one expression, then calls the code for numbers; anything else takes
    :meth:`call`. When the code is built again, the held function gets the new guard as new
    bytecode over the same closure cells, so the user's reference stays valid."""

    def __init__(self, fn, owner, spec: Spec, params: tuple):
        self.fn, self.owner, self.spec, self.params = fn, owner, spec, params
        self.prefix = (owner,) if owner is not None else ()
        # f_hvp(x..., v...) takes a direction after the arguments, and one more per further order
        self.count = len(spec.directions) + sum(len(names) for names in spec.orders)
        self.arity = fn.__code__.co_argcount - len(self.prefix) + self.count  # all given
        if not positional_only(fn):  # `*args`, keyword-only, `**kwargs`: always completed
            self.arity = -1
        self.function = None
        self.width = None
        self._build()

    def _build(self) -> None:
        """Compile anew: the code for numbers now, code for other kinds as they come."""
        fn, spec = self.fn, self.spec
        try:  # (an error leaves the state as it was: the guard still fails)
            trace = trace_of(fn)
            # The code for numbers runs for floats; a function that uses NumPy has code for the
            # kinds of its arguments only, and shows the code printed for it (s2sad.programs).
            shown = spec if not uses_arrays(trace) else replace(spec, portable=True)
            (generic,) = functions(fn, shown)
        except StructureNeededError:  # its code depends on its arguments' structures
            generic = trace = None
        self.generic, self.table, self.reads = generic, {}, {}
        if trace is not None:
            self._note(trace.reads)
        numbers = trace is not None and self.owner is None and not uses_arrays(trace)
        # Directions after the arguments leave no place for defaults in the held signature.
        positional = not (self.count and fn.__defaults__) and positional_only(fn)
        self.fast = generic if numbers and positional and _floats_testable(generic, fn) else None
        self._install()
        held = self.function
        if generic is None:
            held.source = STRUCTURED_SOURCE
            held.__name__ = held.__qualname__ = f"{trace_name(fn)}_{spec.kind}"
            held.__doc__ = None
        else:
            held.source = generic.source
            held.__name__ = held.__qualname__ = generic.__name__
            held.__doc__ = generic.__doc__
        held.__wrapped__ = fn

    def _note(self, reads) -> bool:
        """Add ``reads`` to what the guard checks; whether any is new."""
        before = len(self.reads)
        for read in reads:
            self.reads.setdefault(read.key, read)
        return len(self.reads) != before

    def _install(self) -> None:
        """Generate the guard (comparing with the objects the reads resolve to now) and the held
        function, or give the held function the new code."""
        fn = self.fn
        params = _params(self.fast) if self.fast is not None else ()
        reads = tuple(self.reads.values())
        if self.width is None:  # the first guard's objects are closure variables, the fastest read
            self.width = len(guard(reads, fn, str, params)[1])
        width = self.width
        slot = lambda i: f"_s2sad_{i}" if i < width else f"{_STATE}[{i - width + 4}]"  # noqa: E731
        test, values = guard(reads, fn, slot, params)
        cells = ", ".join([_STATE] + [f"_s2sad_{i}" for i in range(width)])
        checked = (  # a name that is gone fails the guard
            f"        try:\n"
            f"            _s2sad_ok = {test}\n"
            f"        except Exception:\n"
            f"            _s2sad_ok = False\n"
        )
        if self.fast is not None:  # numbers: straight to their code
            names = ", ".join(params)
            tests = (["_s2sad_ok"] if reads else []) + [f"type({p}) is float" for p in params]
            body = (
                (checked if reads else "") + f"        if {' and '.join(tests) or 'True'}:\n"
                f"            return {_STATE}[0]({names})\n"
                f"        return {_STATE}[1]({names})\n"
            )
        else:  # the code compiled for these kinds of arguments, if there is some yet
            names = "*_s2sad_args, **_s2sad_keywords"
            body = (
                checked
                + f"        if _s2sad_ok and not _s2sad_keywords and len(_s2sad_args) == {self.arity}:\n"
                f"            run = {_STATE}[2].get({_STATE}[3](_s2sad_args))\n"
                f"            if run is not None:\n"
                f"                return run(*_s2sad_args)\n"
                f"        return {_STATE}[1]({names})\n"
            )
        source = (
            f"def _s2sad_dispatch({cells}):\n"
            f"    def current():\n"
            f"        try:\n"
            f"            return {test}\n"
            f"        except Exception:\n"
            f"            return False\n"
            f"    def dispatch({names}):\n"
            + body
            + f"        {cells}  # never run: keeps the cells, whatever the guard reads\n"
            f"    return current, dispatch\n"
        )
        namespace: dict = {}
        exec(compile(source, f"<s2sad: guard of {trace_name(fn)}>", "exec"), namespace)
        factory = types.FunctionType(namespace["_s2sad_dispatch"].__code__, fn.__globals__)
        own = values[:width] + [None] * (width - len(values[:width]))  # unused cells hold None
        state = (self.fast, self.call, self.table, signature, *values[width:])
        self.is_current, made = factory(state, *own)
        made.__defaults__ = fn.__defaults__ if self.fast is not None and not self.count else None
        if self.function is None:
            self.function = made
            return
        held = self.function
        held.__code__ = made.__code__
        held.__defaults__ = made.__defaults__
        for cell, fresh in zip(held.__closure__, made.__closure__):
            cell.cell_contents = fresh.cell_contents

    def _refresh(self) -> None:
        """After the guard failed: if only values the code reads when it runs moved on (to values
        of the same kinds), a new guard; else new code."""
        if current(self.reads.values(), self.fn):
            self._install()
        else:
            self._build()

    def call(self, *args, **keywords):
        """Run the code for the kinds of ``args``, compiling it the first time."""
        if not self.is_current():
            shown = self.function.__defaults__
            self._refresh()
            args = _without_stale_defaults(args, shown, self.function.__defaults__)
        if keywords or len(args) != self.arity:
            args = self._completed(args, keywords)
        key = signature(args)
        run = self.table.get(key)
        if run is None:
            run = self.table[key] = self._specialised(args)
        return run(*args)

    def _completed(self, args: tuple, keywords: dict) -> tuple:
        """Every argument by position, defaults filled in (see :mod:`s2sad.calling`)."""
        fn, prefix, count = self.fn, self.prefix, self.count
        if not count:
            return completed(fn, args, keywords, prefix)
        split = len(args) - count  # the arguments left out before the directions take defaults
        hint = "give its arguments, then one direction per input"
        return completed(fn, args[:split], keywords, prefix, hint) + args[split:]

    def _specialised(self, args: tuple):
        fn, spec, prefix = self.fn, self.spec, self.prefix
        try:
            (run,), layout, trace = _flattened(fn, spec, self.params, prefix + args, len(prefix))
        except S2SADError as err:  # reported at the user's line it is about
            raise located(err) from None
        if self._note(trace.reads):
            self._install()
        if self.owner is not None:
            run = types.MethodType(run, self.owner)
        if layout.structures:
            if self.generic is None:
                self.function.source = run.source
            run = _regrouping(run, spec, layout, prefix)
        return run


def _without_stale_defaults(args: tuple, shown, now) -> tuple:
    """``args``, as the held function got them with the defaults ``shown``, with those defaults
    (the very objects) replaced by the function's defaults ``now``, where they were rebound."""
    if not shown or shown is now:
        return args
    now = now or ()
    start = len(args) - len(shown)
    tail = [
        now[i - len(shown) + len(now)] if arg is shown[i] and i >= len(shown) - len(now) else arg
        for i, arg in enumerate(args[start:])
    ]
    return args[:start] + tuple(tail)


def _floats_testable(generic, fn) -> bool:
    """Whether the held function can test its arguments with ``type(x) is float``: neither name
    is taken by the function's module or by a parameter."""
    return not {"type", "float"} & (set(fn.__globals__) | set(_params(generic)))


def _params(generated) -> tuple:
    code = generated.__code__
    return code.co_varnames[: code.co_argcount]


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


def like(gradient, value, args=()):
    """``gradient`` as an array shaped like ``value`` with its dtype, when ``value`` is an array;
    a copy if it is one of the arguments ``args`` (``f = sum(x * y)`` has ``∂f/∂x = y``). For a
    number, a float: not an integer, nor an array with no axes."""
    if is_lazy(value) or is_lazy(gradient):  # Dask: kept lazy, never copied
        dtype = getattr(value, "dtype", None)  # of a number: a Dask number, computed when asked
        return gradient if dtype is None else conform(gradient, np.shape(value), dtype)
    if type(value) is not np.ndarray:
        if isinstance(gradient, (float, np.floating)) or not _number(value, gradient):
            return gradient
        return float(gradient)
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


def _number(value, derivative) -> bool:
    """Whether ``value`` is a number and ``derivative`` one too (perhaps as an array of no axes)."""
    numeric = (int, float, np.number)
    return isinstance(value, numeric) and (
        isinstance(derivative, numeric) or type(derivative) is np.ndarray and derivative.ndim == 0
    )
