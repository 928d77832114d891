"""The functions users call first: traces, generated source, gradients and the table of the notes.

JVPs, VJPs and Jacobians are in :mod:`s2sad.jacobians`, second derivatives in :mod:`s2sad.higher`.

Every entry point compiles once per function definition and kind of arguments, and runs plain generated
Python: ``grad(f)`` returns a small dispatcher that picks the gradient compiled for its arguments'
kinds (numbers, or arrays of given shapes; see :mod:`s2sad.dispatch`) and calls it, so a call costs
what the derivative's arithmetic costs and a type check per argument. ``.source`` is the code.

Inputs to differentiate (``wrt``) are given by position, as JAX's ``argnums``, or by parameter name. In a
method, positions count the arguments after ``self``, as the caller writes them; a function is a method
when it is reached as one (see :mod:`s2sad.arguments`), not because of what its parameters are called.
"""

from __future__ import annotations

import numpy as np

from .arguments import (
    bind,
    chosen_wrt,
    derivative_of,
    differentiable_params,
    example_layout,
    header,
    integer_params,
    is_method,
    require_scalar,
    source_for,
    unwrap,
    wrt_names,
)
from .aux import aux_gradient
from .calling import as_call, completed, given_positionally
from .provenance import current
from .dispatch import dispatcher, functions, known_structures, laid_out
from .execute import bound_values
from .errors import ArgumentError, StaleTraceError, user_facing
from .higher import mark_gradient, second_derivative
from .pipeline import compiled, Spec
from .programs import kinds_of, seed_names
from .traces import DERIVATIVE, trace_of
from .shapes import params_kinds
from .jacobians import split_vjp
from .traversal import several
from .trees import leaves_of, tree_of, unflatten

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
        (self._run,) = functions(fn, Spec("trace"))

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

    @user_facing
    def __call__(self, *args, **keywords):
        if not current(self.function.reads, self._fn):
            raise StaleTraceError(
                f"this trace of `{self.function.name}` was made before a function or value it is "
                "built from was rebound; the equations it shows are not what the function computes "
                "now",
                hint=f"take s2sad.trace({self._fn.__name__}) again",
            )
        args = completed(self._fn, args, keywords)
        if self.function.in_place and any(isinstance(a, np.ndarray) for a in args):
            # `y += 1` where `y` shares an array with another name changes both in Python, but
            # one SSA value only: refused for arrays, as derivatives compiled for them are
            kinds_of(self.function, tuple(params_kinds(self.function.params, args).items()))
        cut = len(args) - self.function.keyword_only  # the trace's keyword-only parameters
        return self._run(*args[:cut], **dict(zip(self.function.params[cut:], args[cut:])))

    def __str__(self) -> str:
        return self.source.rstrip("\n")

    def __repr__(self) -> str:
        return f"<s2sad.Trace of {self.function.name}: {len(self.equations)} equations>"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the code itself
        printer.text(self.source)


@user_facing
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
    fn, _ = unwrap(fn)
    return Trace(fn)


@user_facing
def tangent_source(fn, wrt=None, teaching: bool = False, args=None) -> str:
    """Source of the forward-mode (tangent) program of ``fn``; ``wrt`` defaults to every parameter.

    ``teaching=True`` keeps every statement as the notes write them (``w1_dot = x1_dot``). With
    example arguments (``args=(params, x)``) it is the code compiled for their structures and
    shapes, which a function taking dicts, tuples or dataclasses needs. Without them, it is the
    code for every argument the function can take, as :func:`adjoint_source` says.

    >>> import s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2
    >>> "w3_dot = x2 * x1_dot + x1 * x2_dot" in s2sad.tangent_source(f)
    True
    """
    method = is_method(fn)
    fn, owner = unwrap(fn)
    names, _ = wrt_names(header(fn), wrt, method)
    return source_for(fn, owner, Spec("tangent", names, teaching), args)


@user_facing
def adjoint_source(fn, wrt=None, teaching: bool = False, args=None) -> str:
    """Source of the reverse-mode (adjoint) program of ``fn``; ``wrt`` defaults to every parameter.

    For a function with one output this is its gradient, seeded with ``w_bar = 1.0``; for several
    outputs it is the vector-Jacobian product, whose output adjoints are parameters (``y1_bar``).
    ``args``, example arguments, gives the code compiled for their structures and shapes.

    Without example arguments the code computes what :func:`grad` (or :func:`vjp`) computes, for
    every argument it serves, and returns a derivative of a number as a float, also at integers
    (``float(x2_bar)`` where the derivative is an argument). For a function that uses NumPy it
    serves numbers and arrays of any shape: it checks when it runs that the output is one number
    (``scalar_seed``, which raises ``ValueError`` for an array, as :func:`grad` refuses one) and
    returns each gradient like its argument (``derivative_like``: zeros of its shape for an array
    the output does not depend on). For a function that does not, it is the code for numbers, as
    the notes write it; called with arrays it does not compute their gradient (``v * x`` prints
    ``x_bar = v``): pass example arrays (``args=``) for code for them, which refuses an array
    output with :class:`~s2sad.NonScalarOutputError`.

    >>> import s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2
    >>> "x1_bar = x2" in s2sad.adjoint_source(f)
    True
    >>> def g(p):
    ...     return p["a"] * p["b"]
    >>> "p_a_bar = p_b" in s2sad.adjoint_source(g, args=({"a": 2.0, "b": 3.0},))
    True
    """
    method = is_method(fn)
    fn, owner = unwrap(fn)
    names, single = wrt_names(header(fn), wrt, method)
    structures = None if args is None else known_structures(fn, example_layout(fn, owner, args))
    scalar = not several(trace_of(fn, structures).body[-1].value)
    return source_for(fn, owner, Spec("grad" if scalar else "vjp", names, teaching, single), args)


# --- derivatives --------------------------------------------------------------------------------


def _gradient_function(fn, wrt, kind: str, has_aux: bool = False):
    if has_aux:
        return aux_gradient(fn, wrt, kind)
    if hasattr(fn, DERIVATIVE):  # grad(grad(f)): a second derivative
        return second_derivative(fn, wrt, kind)
    plain, owner = unwrap(fn)
    trace = header(plain)
    require_scalar(trace, "grad" if kind == "grad" else "value_and_grad")
    names, single = wrt_names(trace, wrt, is_method(fn))
    spec = Spec(kind, names, False, single)
    gradient = dispatcher(plain, owner, spec, trace.params)
    return mark_gradient(gradient, fn, names, kind, single)


@user_facing
def grad(fn=None, wrt=None, *, argnums=None, has_aux: bool = False):
    """The gradient of ``fn``, a function returning one number, as generated Python.

    >>> import math, s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2 + math.sin(x1)
    >>> s2sad.grad(f)(2.0, 5.0) == 5 + math.cos(2.0)
    True

    ``wrt`` (or ``argnums``, its name in JAX) selects inputs by position or name, the first by
    default; a tuple returns a tuple of partial derivatives. With ``has_aux=True``, ``fn`` returns a
    pair ``(value, aux)`` and the gradient of ``value`` is returned with ``aux``: ``(gradient,
    aux)`` (see :mod:`s2sad.aux`). Also a decorator: ``@s2sad.grad`` or ``@s2sad.grad(wrt=(0, 1))``.
    The result's ``.source`` is its code.

    >>> def loss(w):
    ...     return w * w, {"w": w}
    >>> s2sad.grad(loss, has_aux=True)(3.0)
    (6.0, {'w': 3.0})
    """
    wrt = chosen_wrt(wrt, argnums)
    if fn is None:
        return user_facing(lambda f: grad(f, wrt, has_aux=has_aux))
    return derivative_of(fn, lambda f: _gradient_function(f, wrt, "grad", has_aux))


@user_facing
def value_and_grad(fn=None, wrt=None, *, argnums=None, has_aux: bool = False):
    """Like :func:`grad`, but the generated function returns ``(value, gradient)`` from one sweep;
    with ``has_aux=True``, ``((value, aux), gradient)``.

    >>> import s2sad
    >>> def f(x):
    ...     return x * x
    >>> s2sad.value_and_grad(f)(3.0)
    (9.0, 6.0)
    """
    wrt = chosen_wrt(wrt, argnums)
    if fn is None:
        return user_facing(lambda f: value_and_grad(f, wrt, has_aux=has_aux))
    return derivative_of(fn, lambda f: _gradient_function(f, wrt, "value_and_grad", has_aux))


def _zero(value):
    return np.zeros_like(value) if isinstance(value, np.ndarray) else 0.0


@user_facing
def explain(fn, *args, wrt=None, output: int = 0):
    """The table of the notes at ``args``: each SSA variable's definition, value, tangent for each
    input that is a number (``ẋ = 1`` for that input) and adjoint (of output ``output``; of its sum
    if it is an array), and the gradient. Arguments may be NumPy arrays, and structures of numbers
    and arrays, which show as their leaves, named as the generated code's parameters (``p_W``).
    Parameters left out of ``args`` take their defaults; ``wrt`` defaults to the inputs given,
    but for integers the function uses as integers (``range`` counts, indices: see
    :func:`s2sad.arguments.integer_params`).

    >>> import math, s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2 + math.sin(x1)
    >>> table = s2sad.explain(f, 2.0, 5.0)
    >>> [row.value for row in table.rows] == [2.0, 5.0, 10.0, math.sin(2.0), 10 + math.sin(2.0)]
    True
    >>> table.gradient == (5 + math.cos(2.0), 2.0)
    True
    >>> s2sad.explain(lambda p: p["a"] * p["b"], {"a": 2.0, "b": 3.0}).gradient
    (3.0, 2.0)
    """
    from .table import Explanation, rows_of

    plain, owner = unwrap(fn)
    head = header(plain)
    inputs = differentiable_params(head, is_method(fn))
    given, _ = given_positionally(plain, args, (owner,) if owner is not None else ())
    args = completed(plain, args, prefix=(owner,) if owner is not None else ())
    if wrt is None and len(args) == len(inputs):
        # By default, the inputs given: those left out take their defaults, held constant, and so
        # do integers used as integers (counts, indices), unless they are all there is to show.
        integers = integer_params(plain, owner, args, given)
        wrt = tuple(name for name in given if name not in integers) or given
    names, _ = wrt_names(head, given if wrt is None else wrt, is_method(fn))
    if len(args) != len(inputs):
        raise ArgumentError(
            f"explain: `{head.name}` takes {len(inputs)} argument(s) ({', '.join(inputs)})"
        )
    prefix = (owner,) if owner is not None else ()
    layout, structures, trace = laid_out(plain, head.params, prefix + args, len(prefix))
    flat = layout.flatten(prefix + args)[len(prefix) :]
    names = layout.leaf_params(names)  # a structure's leaves, as the generated code takes them
    count = len(seed_names(trace))
    if not 0 <= output < count:
        raise ArgumentError(f"output={output}: `{trace.name}` has {count} output(s)")
    tangent, adjoint = (
        bind(functions(plain, Spec(kind, names, True, structures=structures))[0], owner)
        for kind in ("explain_tangent", "explain_vjp")
    )
    point = dict(zip(layout.leaf_params(inputs), flat))
    # One tangent sweep per number among the inputs (ẋ = 1 for it, 0 for the others); an array
    # input has no single direction to show, and gets a zero tangent.
    directions = [name for name in names if not isinstance(point[name], np.ndarray)]
    tangent_locals = [
        tangent(*flat, *(1.0 if other == name else _zero(point[other]) for other in names))
        for name in directions or [None]
    ]
    seeds = tuple(1.0 if i == output else 0.0 for i in range(count))
    adjoint_locals = adjoint(*flat, *seeds)
    positional, keywords = as_call(plain, args, prefix)
    value, pullback = split_vjp(fn, positional, keywords, inputs)
    shaped = [
        np.full(np.shape(y), seed) if np.ndim(y) else seed
        for y, seed in zip(leaves_of(value), seeds)
    ]
    adjoints = pullback(unflatten(tree_of(value), shaped))  # of the sum of an array output
    adjoints = dict(zip(point, layout.flatten(prefix + adjoints)[len(prefix) :]))
    gradient = tuple(adjoints[name] for name in names)
    rows = rows_of(trace, tangent_locals, tuple(directions), adjoint_locals)
    return Explanation(
        trace.name, point, tuple(names), output, rows, gradient, tuple(directions), trace
    )
