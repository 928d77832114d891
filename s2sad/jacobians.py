"""Jacobian-vector and vector-Jacobian products, and whole Jacobians in either mode."""

from __future__ import annotations

import math

import numpy as np

from .arguments import (
    bind,
    differentiable_params,
    header,
    shaped_like,
    unwrap,
    wrt_names,
)
from .dispatch import flattened, functions, like, specialised
from .errors import ArgumentError, NonScalarOutputError, user_facing
from .ir import leaves, several
from .jacobian_sweeps import arranged, directionwise_blocks, forward_blocks, reverse_blocks
from .pipeline import Spec, compiled, kinds_of, trace_of, uses_arrays
from .shapes import params_kinds, signature
from .trees import Layout, cotangent_leaves, describe_output, leaves_of, tree_of
from .vector_mode import NotVectorizableError


@user_facing
def jvp(fn, primals, tangents):
    """``(fn(*primals), J·tangents)``: the value and the directional derivative, in one forward sweep.

    ``primals`` and ``tangents`` give one value per parameter, as ``jax.jvp``; a tangent for a
    structured parameter (a dict of arrays, say) has the structure of its primal.

    >>> import s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2
    >>> s2sad.jvp(f, (2.0, 5.0), (1.0, 0.0))
    (10.0, 5.0)
    """
    plain, owner = unwrap(fn)
    trace = header(plain)
    inputs = differentiable_params(trace)
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(inputs) or len(tangents) != len(inputs):
        raise ArgumentError(
            f"jvp: `{trace.name}` takes {len(inputs)} argument(s) ({', '.join(inputs)}); got "
            f"{len(primals)} primal(s) and {len(tangents)} tangent(s)"
        )
    prefix = (owner,) if owner is not None else ()
    (tangent_fn,), layout = flattened(
        plain, Spec("tangent", inputs), trace.params, prefix + primals, len(prefix)
    )
    if Layout(trace.params, prefix + tangents, len(prefix)).structures != layout.structures:
        raise ArgumentError("jvp: each tangent must have the structure of its primal")
    flat_primals = layout.flatten(prefix + primals)[len(prefix) :]
    flat_tangents = layout.flatten(prefix + tangents)[len(prefix) :]
    value, value_dot = bind(tangent_fn, owner)(*flat_primals, *flat_tangents)
    return value, shaped_like(value_dot, value)


@user_facing
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
    plain, owner = unwrap(fn)
    trace = header(plain)
    inputs = differentiable_params(trace)
    prefix = (owner,) if owner is not None else ()
    (forward, backward), layout = flattened(
        plain, Spec("split_vjp", inputs), trace.params, prefix + primals, len(prefix)
    )
    flat_primals = layout.flatten(prefix + primals)[len(prefix) :]
    value, residuals = bind(forward, owner)(*flat_primals)
    tree = tree_of(value)
    leaf_values = dict(zip(layout.params[len(prefix) :], flat_primals))

    def pullback(y_bar):
        seeds = cotangent_leaves(y_bar, tree, trace.name)
        grads = backward(*residuals, *seeds)
        return layout.group(inputs, grads, lambda g, leaf: like(g, leaf_values[leaf]))

    return value, user_facing(pullback)


@user_facing
def jacobian(fn, wrt=0, mode: str = "auto"):
    """A function computing the Jacobian of ``fn`` with respect to the inputs ``wrt`` selects.

    ``mode="forward"`` runs one vector-mode tangent sweep, all input directions at once;
    ``"reverse"`` one forward sweep, then one reverse sweep per output element; ``"auto"`` takes
    forward when the inputs have fewer elements in all than the outputs, else reverse (seeds 002
    and 004), counted when called. The derivative of an output of shape ``o`` with respect to an
    input of shape ``i`` has shape ``o + i``; for several inputs (a tuple ``wrt``) each output gets
    a tuple, one per input; a tuple of outputs gives a tuple of those. Where every input and output
    is a number, the result is instead one matrix: rows are outputs, columns inputs, without the
    row axis for one output or the column axis for one input.

    >>> import numpy as np, s2sad
    >>> def g(a, b):
    ...     return a * b, a + b
    >>> s2sad.jacobian(g, wrt=(0, 1))(2.0, 3.0).tolist()
    [[3.0, 2.0], [1.0, 1.0]]
    >>> def h(x):
    ...     return x * x
    >>> s2sad.jacobian(h)(np.array([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    if mode not in ("auto", "forward", "reverse"):
        raise ArgumentError(f"mode={mode!r}: choose 'auto', 'forward' or 'reverse'")
    plain, owner = unwrap(fn)
    trace = trace_of(plain)
    names, single = wrt_names(trace, wrt)
    structure = trace.body[-1].value
    prefix = (owner,) if owner is not None else ()
    positions = [trace.params.index(name) - len(prefix) for name in names]
    plans: dict = {}

    def jacobian_at(*args):
        if len(args) <= max(positions):
            raise ArgumentError(
                f"`{trace.name}` takes {len(trace.params) - len(prefix)} argument(s)"
            )
        inputs = [args[p] for p in positions]
        key = (signature(args), tuple(a for a in args if type(a) is int))  # ints may set shapes
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = _Plan(plain, owner, names, prefix + args, structure)
        size = sum(np.size(x) for x in inputs)
        chosen, swept = mode, None
        if mode == "auto":
            outputs = plan.output_size
            if outputs is None:  # a shape known only once the function has run
                swept = plan.reverse()[0](*args)
                outputs = sum(np.size(y) for y in leaves_of(swept[0]))
            chosen = "forward" if size < outputs else "reverse"
        if chosen == "forward":
            blocks = plan.forward(args, inputs)
        else:
            blocks = reverse_blocks(*plan.reverse(), args, inputs, swept)
        return arranged(blocks, structure, single)

    jacobian_at.__name__ = f"{trace.name}_jacobian"
    return user_facing(jacobian_at)


class _Plan:
    """The compiled sweeps of a Jacobian for one kind of arguments, made when first needed."""

    def __init__(self, fn, owner, names: tuple, args: tuple, structure):
        self.fn, self.owner, self.names, self.args = fn, owner, names, args
        trace = trace_of(fn)
        for name, value in zip(trace.params, args):
            if name in names and isinstance(value, np.ndarray) and value.dtype.kind not in "fc":
                raise ArgumentError(
                    f"`{name}` is an array of {value.dtype.name}: an integer array has no "
                    "derivative",
                    hint=f"pass `{name}.astype(float)`",
                )
        self.kinds = tuple(params_kinds(trace.params, args).items())
        arrays = uses_arrays(trace) or any(kind.is_array for _, kind in self.kinds)
        known = kinds_of(trace, self.kinds if arrays else None)
        sizes = [known.of(leaf) for leaf in leaves(structure)]
        self.output_size = None
        if all(kind is not None for kind in sizes):
            self.output_size = sum(math.prod(k.shape) if k.is_array else 1 for k in sizes)
        self._vector = self._reverse = None

    def forward(self, args: tuple, inputs: list) -> list:
        if self._vector is None:
            try:
                (vector_fn,) = functions(
                    self.fn, Spec("vector_tangent", self.names, kinds=self.kinds)
                )
                self._vector = (forward_blocks, bind(vector_fn, self.owner))
            except NotVectorizableError:  # one sweep per direction instead
                spec = Spec("tangent", self.names)
                (tangent_fn,) = specialised(self.fn, spec, trace_of(self.fn).params, self.args)
                self._vector = (directionwise_blocks, bind(tangent_fn, self.owner))
        sweep, program = self._vector
        return sweep(program, args, inputs)

    def reverse(self) -> tuple:
        if self._reverse is None:
            spec = Spec("split_vjp", self.names)
            forward, backward = specialised(self.fn, spec, trace_of(self.fn).params, self.args)
            self._reverse = (bind(forward, self.owner), backward)
        return self._reverse


@user_facing
def vector_tangent_source(fn, *args, wrt=0) -> str:
    """Source of the vector-mode tangent program :func:`jacobian` runs in forward mode, compiled
    for the kinds of ``args``: each ``x_dot`` has a leading axis with one slice per direction.

    >>> import numpy as np, s2sad
    >>> def f(x):
    ...     return np.sum(x * x, axis=0)
    >>> source = s2sad.vector_tangent_source(f, np.ones((2, 3)))
    >>> print(source[source.index("# line"):])
    # line 2: return np.sum(x * x, axis=0)
        w2_dot = 2 * x * x_dot
        w3 = np.sum(x * x, axis=0)
        w3_dot = np.sum(w2_dot, axis=(1,))
        return w3, w3_dot
    <BLANKLINE>
    """
    plain, owner = unwrap(fn)
    trace = trace_of(plain)
    names, _ = wrt_names(trace, wrt)
    prefix = (owner,) if owner is not None else ()
    kinds = tuple(params_kinds(trace.params, prefix + args).items())
    return compiled(plain, Spec("vector_tangent", names, kinds=kinds)).source


@user_facing
def elementwise_grad(fn, wrt=0):
    """The derivative of a function applied elementwise: ``J·1``, from one tangent sweep with a
    tangent of ones, shaped like the output.

    Where ``fn`` works element by element (``y[i]`` depends on ``x[i]`` alone), ``J`` is diagonal
    and ``J·1`` is its diagonal, ``y[i]``'s derivative at ``x[i]``: what ``grad`` of
    ``fn(x).sum()`` gives too, without a reverse sweep. Where it does not, ``J·1`` sums each *row*
    of ``J`` (how much ``y[i]`` moves when every ``x[j]`` moves by 1), while ``grad`` of the sum sums
    each *column* (how much the total moves per ``x[j]``).

    >>> import numpy as np, s2sad
    >>> def f(x):
    ...     return x**3
    >>> s2sad.elementwise_grad(f)(np.array([1.0, 2.0])).tolist()
    [3.0, 12.0]
    """
    plain, owner = unwrap(fn)
    trace = trace_of(plain)
    names, single = wrt_names(trace, wrt)
    if not single:
        raise ArgumentError(
            f"elementwise_grad takes one input, got wrt={wrt!r}",
            hint="call it once per input, or use s2sad.jacobian",
        )
    if several(trace.body[-1].value):
        raise NonScalarOutputError(
            f"elementwise_grad needs a function with one output, but `{trace.name}` returns "
            f"{describe_output(trace.body[-1].value)}",
            trace.body[-1].loc,
            "use s2sad.jacobian for several outputs",
        )
    prefix = (owner,) if owner is not None else ()
    position = trace.params.index(names[0]) - len(prefix)

    def derivative_at(*args):
        if len(args) <= position:
            raise ArgumentError(
                f"`{trace.name}` takes {len(trace.params) - len(prefix)} argument(s)"
            )
        x = args[position]
        spec = Spec("tangent", names)
        (tangent_fn,) = specialised(plain, spec, trace.params, prefix + args)
        ones = np.ones_like(x) if isinstance(x, np.ndarray) else 1.0
        y, y_dot = bind(tangent_fn, owner)(*args, ones)
        return like(y_dot, y)

    derivative_at.__name__ = f"{trace.name}_elementwise_grad"
    return user_facing(derivative_at)
