"""The functions users call: traces, generated source, gradients, JVPs, VJPs and Jacobians.

Every entry point compiles once per function definition and kind of arguments, and runs plain generated
Python: ``grad(f)`` returns a small dispatcher that picks the gradient compiled for its arguments'
kinds (numbers, or arrays of given shapes; see :mod:`s2sad.dispatch`) and calls it, so a call costs
what the derivative's arithmetic costs and a type check per argument. ``.source`` is the code.

Inputs to differentiate (``wrt``) are given by position, as JAX's ``argnums``, or by parameter name. In a
method, positions count the arguments after ``self``, as the caller writes them.
"""

from __future__ import annotations

import functools
import inspect
import types

import numpy as np

from .errors import ArgumentError, NonScalarOutputError, S2SADError
from .dispatch import dispatcher, functions, like, specialised
from .execute import bound_values
from .ir import Function, leaves
from .pipeline import Spec, compiled, seed_names, trace_of


def _user_facing(fn):
    """Report :class:`S2SADError` from the caller's line, without the compiler's frames."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except S2SADError as err:
            err.__traceback__ = None
            raise err from None

    return wrapper


# --- helpers ------------------------------------------------------------------------------------


def _unwrap(fn):
    """The plain function behind ``fn`` and the object a bound method carries (or ``None``)."""
    if inspect.ismethod(fn):
        return fn.__func__, fn.__self__
    if isinstance(fn, functools.partial):
        raise ArgumentError(
            "functools.partial objects are not supported; differentiate the function itself"
        )
    return fn, None


def _bind(generated, owner):
    return generated if owner is None else types.MethodType(generated, owner)


def _inputs(trace: Function) -> tuple:
    """The parameters that can be differentiated: all but a method's ``self`` or ``cls``."""
    params = trace.params
    return params[1:] if params and params[0] in ("self", "cls") else params


def _wrt_names(trace: Function, wrt) -> tuple:
    """``(names, single)``: the parameters ``wrt`` selects, and whether it named just one."""
    inputs = _inputs(trace)
    known = f"`{trace.name}` has {len(inputs)} parameter(s) to differentiate: {', '.join(inputs) or 'none'}"
    if not inputs:
        raise ArgumentError(f"nothing to differentiate: {known}")
    if wrt is None:
        return inputs, len(inputs) == 1
    single = not isinstance(wrt, (tuple, list))
    names = []
    for item in [wrt] if single else wrt:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise ArgumentError(
                f"wrt={item!r}: give a parameter's position (an int) or its name; {known}"
            )
        if isinstance(item, int):
            if not -len(inputs) <= item < len(inputs):
                raise ArgumentError(f"wrt={item} is out of range; {known}")
            item = inputs[item]
        elif item not in inputs:
            raise ArgumentError(f"wrt={item!r} names no parameter; {known}")
        if item in names:
            raise ArgumentError(f"wrt names `{item}` twice; {known}")
        names.append(item)
    if not names:
        raise ArgumentError(f"wrt is empty: name at least one parameter; {known}")
    return tuple(names), single


def _require_scalar(trace: Function, api: str) -> None:
    ret = trace.body[-1]
    if isinstance(ret.value, tuple):
        raise NonScalarOutputError(
            f"{api} needs a function that returns one number, but `{trace.name}` returns a tuple "
            f"of {len(list(leaves(ret.value)))} values",
            ret.loc,
            "use s2sad.jacobian or s2sad.vjp for several outputs",
        )
    if getattr(ret.value, "value", 0) is None:
        raise NonScalarOutputError(
            f"{api} needs a function that returns a number, but `{trace.name}` returns None",
            ret.loc,
            "add a `return` statement",
        )


def _functions(fn, spec: Spec) -> tuple:
    return functions(fn, spec)


# --- traces and source --------------------------------------------------------------------------


class Trace:
    """The SSA primal trace of a function, in the notation of the notes.

    ``str(trace)`` is valid Python that, run, returns what the function returns; calling the trace
    runs exactly that code. ``equations`` lists its statements (``"w3 = w1 * w2"``).
    """

    def __init__(self, fn):
        self._fn = fn
        self.function = trace_of(fn)
        self._compiled = compiled(fn, Spec("trace"))
        (self._run,) = _functions(fn, Spec("trace"))

    @property
    def source(self) -> str:
        return self._compiled.source

    @property
    def equations(self) -> list:
        body = self.source.split(":\n", 1)[1]
        return [
            line.strip()
            for line in body.splitlines()
            if line.strip() and not line.strip().startswith("return")
        ]

    @property
    def namespace(self) -> dict:
        """Globals under which ``exec(str(trace), namespace)`` defines the trace function."""
        return {**self._fn.__globals__, **bound_values(self._compiled, self._fn)}

    def __call__(self, *args):
        return self._run(*args)

    def __str__(self) -> str:
        return self.source.rstrip("\n")

    def __repr__(self) -> str:
        return f"<s2sad.Trace of {self.function.name}: {len(self.equations)} equations>"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the code itself
        printer.text(self.source)


@_user_facing
def trace(fn) -> Trace:
    """The SSA primal trace of ``fn``.

    >>> import math, s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2 + math.sin(x1)
    >>> print(s2sad.trace(f))
    def f(x1, x2):
        w1 = x1
        w2 = x2
        w3 = w1 * w2
        w4 = sin(w1)
        w5 = w3 + w4
        return w5
    """
    fn, _ = _unwrap(fn)
    return Trace(fn)


@_user_facing
def tangent_source(fn, wrt=None, teaching: bool = False) -> str:
    """Source of the forward-mode (tangent) program of ``fn``; ``wrt`` defaults to every parameter.

    ``teaching=True`` keeps every statement as the notes write them (``w1_dot = x1_dot``).

    >>> import s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2
    >>> "w3_dot = x2 * x1_dot + x1 * x2_dot" in s2sad.tangent_source(f)
    True
    """
    fn, _ = _unwrap(fn)
    names, _ = _wrt_names(trace_of(fn), wrt)
    return compiled(fn, Spec("tangent", names, teaching)).source


@_user_facing
def adjoint_source(fn, wrt=None, teaching: bool = False) -> str:
    """Source of the reverse-mode (adjoint) program of ``fn``; ``wrt`` defaults to every parameter.

    For a function with one output this is its gradient, seeded with ``w_bar = 1.0``; for several
    outputs it is the vector-Jacobian product, whose output adjoints are parameters (``y1_bar``).

    >>> import s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2
    >>> "x1_bar = x2" in s2sad.adjoint_source(f)
    True
    """
    fn, _ = _unwrap(fn)
    trace = trace_of(fn)
    names, single = _wrt_names(trace, wrt)
    scalar = not isinstance(trace.body[-1].value, tuple)
    return compiled(fn, Spec("grad" if scalar else "vjp", names, teaching, single)).source


# --- derivatives --------------------------------------------------------------------------------


def _gradient_function(fn, wrt, kind: str):
    plain, owner = _unwrap(fn)
    trace = trace_of(plain)
    _require_scalar(trace, "grad" if kind == "grad" else "value_and_grad")
    names, single = _wrt_names(trace, wrt)
    offset = 1 if owner is not None else 0
    positions = [trace.params.index(name) - offset for name in names]

    def shaped(grads, args):
        if single:
            return like(grads, args[positions[0]], args) if positions[0] < len(args) else grads
        return tuple(
            like(g, args[p], args) if p < len(args) else g for g, p in zip(grads, positions)
        )

    def shape_results(result, args):
        if kind == "value_and_grad":
            return result[0], shaped(result[1], args)
        return shaped(result, args)

    spec = Spec(kind, names, False, single)
    return dispatcher(plain, owner, spec, trace.params, shape_results)


@_user_facing
def grad(fn=None, wrt=0):
    """The gradient of ``fn``, a function returning one number, as generated Python.

    >>> import math, s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2 + math.sin(x1)
    >>> s2sad.grad(f)(2.0, 5.0) == 5 + math.cos(2.0)
    True

    ``wrt`` selects inputs by position or name; a tuple returns a tuple of partial derivatives. Also a
    decorator: ``@s2sad.grad`` or ``@s2sad.grad(wrt=(0, 1))``. The result's ``.source`` is its code.
    """
    if fn is None:
        return _user_facing(lambda f: _gradient_function(f, wrt, "grad"))
    return _gradient_function(fn, wrt, "grad")


@_user_facing
def value_and_grad(fn=None, wrt=0):
    """Like :func:`grad`, but the generated function returns ``(value, gradient)`` from one sweep.

    >>> import s2sad
    >>> def f(x):
    ...     return x * x
    >>> s2sad.value_and_grad(f)(3.0)
    (9.0, 6.0)
    """
    if fn is None:
        return _user_facing(lambda f: _gradient_function(f, wrt, "value_and_grad"))
    return _gradient_function(fn, wrt, "value_and_grad")


@_user_facing
def jvp(fn, primals, tangents):
    """``(fn(*primals), J·tangents)``: the value and the directional derivative, in one forward sweep.

    ``primals`` and ``tangents`` give one number per parameter, as ``jax.jvp``.

    >>> import s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2
    >>> s2sad.jvp(f, (2.0, 5.0), (1.0, 0.0))
    (10.0, 5.0)
    """
    plain, owner = _unwrap(fn)
    trace = trace_of(plain)
    inputs = _inputs(trace)
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(inputs) or len(tangents) != len(inputs):
        raise ArgumentError(
            f"jvp: `{trace.name}` takes {len(inputs)} argument(s) ({', '.join(inputs)}); got "
            f"{len(primals)} primal(s) and {len(tangents)} tangent(s)"
        )
    prefix = (owner,) if owner is not None else ()
    (tangent_fn,) = specialised(plain, Spec("tangent", inputs), trace.params, prefix + primals)
    value, value_dot = _bind(tangent_fn, owner)(*primals, *tangents)
    return value, _shaped_like(value_dot, value)


@_user_facing
def vjp(fn, *primals):
    """``(fn(*primals), pullback)``, as ``jax.vjp``: ``pullback(y_bar)`` returns one adjoint per input.

    The forward sweep runs here, once; each ``pullback`` call runs only the reverse sweep.

    >>> import s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2
    >>> y, pullback = s2sad.vjp(f, 2.0, 5.0)
    >>> y, pullback(1.0)
    (10.0, (5.0, 2.0))
    """
    plain, owner = _unwrap(fn)
    trace = trace_of(plain)
    inputs = _inputs(trace)
    prefix = (owner,) if owner is not None else ()
    forward, backward = specialised(
        plain, Spec("split_vjp", inputs), trace.params, prefix + primals
    )
    value, residuals = _bind(forward, owner)(*primals)
    count = len(seed_names(trace))
    structured = isinstance(trace.body[-1].value, tuple)

    def pullback(y_bar):
        seeds = _flatten(y_bar) if structured else [y_bar]
        if len(seeds) != count:
            raise ArgumentError(
                f"pullback expects {count} output adjoint(s) shaped like the output; got {y_bar!r}"
            )
        return tuple(like(g, x) for g, x in zip(backward(*residuals, *seeds), primals))

    return value, _user_facing(pullback)


def _shaped_like(tangent, value):
    """A tangent with its value's structure, arrays shaped like their values."""
    if isinstance(value, tuple):
        return tuple(_shaped_like(t, v) for t, v in zip(tangent, value))
    return like(tangent, value)


def _flatten(value) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


@_user_facing
def jacobian(fn, wrt=0, mode: str = "auto"):
    """A function computing the Jacobian of ``fn``: rows are outputs, columns are inputs.

    ``mode="forward"`` runs one tangent sweep per input, ``"reverse"`` one reverse sweep per output
    (after a single forward sweep); ``"auto"`` picks whichever needs fewer sweeps (seed 002: forward
    when there are fewer inputs than outputs). A scalar output or a single ``wrt`` drops that axis.

    >>> import s2sad
    >>> def g(a, b):
    ...     return a * b, a + b
    >>> s2sad.jacobian(g, wrt=(0, 1))(2.0, 3.0).tolist()
    [[3.0, 2.0], [1.0, 1.0]]
    """
    if mode not in ("auto", "forward", "reverse"):
        raise ArgumentError(f"mode={mode!r}: choose 'auto', 'forward' or 'reverse'")
    plain, owner = _unwrap(fn)
    trace = trace_of(plain)
    names, single_input = _wrt_names(trace, wrt)
    output = trace.body[-1].value
    rows = len(list(leaves(output)))
    if mode == "auto":
        mode = "forward" if len(names) < rows else "reverse"
    if mode == "forward":
        (tangent_fn,) = _functions(plain, Spec("tangent", names))
        tangent_fn = _bind(tangent_fn, owner)
    else:
        forward, backward = _functions(plain, Spec("split_vjp", names))
        forward = _bind(forward, owner)

    def jacobian_at(*args):
        if mode == "forward":
            columns = []
            for j in range(len(names)):
                _, y_dot = tangent_fn(*args, *(1.0 if k == j else 0.0 for k in range(len(names))))
                columns.append(_flatten(y_dot))
            matrix = np.array(columns, dtype=float).T
        else:
            _, residuals = forward(*args)
            matrix = np.array(
                [
                    backward(*residuals, *(1.0 if k == i else 0.0 for k in range(rows)))
                    for i in range(rows)
                ],
                dtype=float,
            )
        if not isinstance(output, tuple):
            matrix = matrix[0]
        if single_input:
            matrix = matrix[..., 0]
        return matrix

    jacobian_at.__name__ = f"{trace.name}_jacobian"
    return jacobian_at


@_user_facing
def explain(fn, *args, wrt=None, output: int = 0):
    """The table of the notes at ``args``: each SSA variable's definition, value, tangent for each
    input (``ẋ = 1`` for that input) and adjoint (of output ``output``), and the gradient.

    >>> import math, s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2 + math.sin(x1)
    >>> table = s2sad.explain(f, 2.0, 5.0)
    >>> [row.value for row in table.rows] == [2.0, 5.0, 10.0, math.sin(2.0), 10 + math.sin(2.0)]
    True
    >>> table.gradient == (5 + math.cos(2.0), 2.0)
    True
    """
    from .table import Explanation, rows_of

    plain, owner = _unwrap(fn)
    trace = trace_of(plain)
    names, _ = _wrt_names(trace, wrt)
    inputs = _inputs(trace)
    if len(args) != len(inputs):
        raise ArgumentError(
            f"explain: `{trace.name}` takes {len(inputs)} argument(s) ({', '.join(inputs)})"
        )
    count = len(seed_names(trace))
    if not 0 <= output < count:
        raise ArgumentError(f"output={output}: `{trace.name}` has {count} output(s)")
    (tangent,) = _functions(plain, Spec("explain_tangent", names, True))
    (adjoint,) = _functions(plain, Spec("explain_vjp", names, True))
    tangent, adjoint = _bind(tangent, owner), _bind(adjoint, owner)
    tangent_locals = [
        tangent(*args, *(1.0 if other == name else 0.0 for other in names)) for name in names
    ]
    adjoint_locals = adjoint(*args, *(1.0 if i == output else 0.0 for i in range(count)))
    gradient = tuple(
        jacobian(fn, wrt=names, mode="reverse")(*args).reshape(count, len(names))[output]
    )
    rows = rows_of(trace, names, tangent_locals, adjoint_locals)
    point = dict(zip(inputs, args))
    return Explanation(trace.name, point, tuple(names), output, rows, gradient)
