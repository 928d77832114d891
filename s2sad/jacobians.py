"""Jacobian-vector and vector-Jacobian products, and whole Jacobians in either mode."""

from __future__ import annotations

import numpy as np

from .arguments import (
    bind,
    differentiable_params,
    flatten,
    header,
    shaped_like,
    unwrap,
    user_facing,
    wrt_names,
)
from .dispatch import flattened, functions, like
from .errors import ArgumentError
from .ir import leaves
from .pipeline import Spec, trace_of
from .trees import Layout


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
    structured = isinstance(value, tuple)
    count = len(flatten(value)) if structured else 1
    leaf_values = dict(zip(layout.params[len(prefix) :], flat_primals))

    def pullback(y_bar):
        seeds = flatten(y_bar) if structured else [y_bar]
        if len(seeds) != count:
            raise ArgumentError(
                f"pullback expects {count} output adjoint(s) shaped like the output; got {y_bar!r}"
            )
        grads = backward(*residuals, *seeds)
        return layout.group(inputs, grads, lambda g, leaf: like(g, leaf_values[leaf]))

    return value, user_facing(pullback)


@user_facing
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
    plain, owner = unwrap(fn)
    trace = trace_of(plain)
    names, single_input = wrt_names(trace, wrt)
    output = trace.body[-1].value
    rows = len(list(leaves(output)))
    if mode == "auto":
        mode = "forward" if len(names) < rows else "reverse"
    if mode == "forward":
        (tangent_fn,) = functions(plain, Spec("tangent", names))
        tangent_fn = bind(tangent_fn, owner)
    else:
        forward, backward = functions(plain, Spec("split_vjp", names))
        forward = bind(forward, owner)

    def jacobian_at(*args):
        if mode == "forward":
            columns = []
            for j in range(len(names)):
                _, y_dot = tangent_fn(*args, *(1.0 if k == j else 0.0 for k in range(len(names))))
                columns.append(flatten(y_dot))
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
