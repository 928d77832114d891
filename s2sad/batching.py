"""``s2sad.vmap``: a function applied to each example of a batch, as ``jax.vmap`` is written.

Per-example gradients are the common use: ``s2sad.vmap(s2sad.grad(loss), in_axes=(None, 0, 0))(
params, X, y)`` is the gradient of ``loss(params, X[i], y[i])`` for each ``i``, stacked along a
new first axis, leaf by leaf for structured results (a dict of arrays gives a dict of stacked
arrays). ``in_axes`` says, per argument, ``0`` to slice it along its first axis (every leaf of a
structure) or ``None`` to pass it whole to every call.

The examples run one after another: each call is a call of the compiled derivative, so the cost
is that of the examples' derivatives plus a Python loop, not one vectorised sweep. Where the batch
can be written into the function (``X @ w`` instead of ``x @ w``), ``s2sad.jacobian`` of the
per-example losses gives the same numbers in one sweep.
"""

from __future__ import annotations

import functools

import numpy as np

from .errors import ArgumentError, user_facing
from .trees import flatten, tree_of, unflatten


@user_facing
def vmap(fn, in_axes=0):
    """``fn`` mapped over the first axis of the arguments ``in_axes`` marks ``0`` (all of them by
    default; ``None`` passes an argument whole to each call); the results are stacked along a new
    first axis, leaf by leaf.

    >>> import numpy as np, s2sad
    >>> def loss(w, x, y):
    ...     return (np.dot(w, x) - y) ** 2
    >>> X, y = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 0.0])
    >>> s2sad.vmap(s2sad.grad(loss), in_axes=(None, 0, 0))(np.array([2.0, 1.0]), X, y).tolist()
    [[2.0, 0.0], [0.0, 8.0]]
    """
    if not callable(fn):
        raise ArgumentError(f"vmap needs a function, not {fn!r}")
    if not isinstance(in_axes, (tuple, list)):
        _axis(in_axes)

    @functools.wraps(fn)
    def mapped(*args):
        axes = tuple(in_axes) if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
        if len(axes) != len(args):
            raise ArgumentError(
                f"vmap: in_axes={in_axes!r} gives {len(axes)} axes for {len(args)} argument(s)",
                hint="give one axis (0 or None) per argument",
            )
        count = _count(args, tuple(map(_axis, axes)))
        results = [fn(*_example(args, axes, i)) for i in range(count)]
        tree = tree_of(results[0])
        leaves = [flatten(result, tree) for result in results]
        return unflatten(tree, [np.stack(column) for column in zip(*leaves)])

    return user_facing(mapped)


def _axis(axis):
    if axis is None or (axis == 0 and not isinstance(axis, bool)):
        return axis
    raise ArgumentError(
        f"vmap: in_axes entry {axis!r} is not supported",
        hint="map over the first axis (0), or pass the argument whole (None); move another axis "
        "first with np.moveaxis",
    )


def _count(args: tuple, axes: tuple) -> int:
    """The number of examples: the common length of the first axes mapped over."""
    sizes = {}
    for position, (arg, axis) in enumerate(zip(args, axes)):
        if axis is None:
            continue
        for leaf in flatten(arg, tree_of(arg)):
            if np.ndim(leaf) == 0:
                raise ArgumentError(
                    f"vmap: argument {position} is mapped over its first axis, but holds a number",
                    hint="give it in_axes None to pass it whole",
                )
            sizes[np.shape(leaf)[0]] = position
    if not sizes:
        raise ArgumentError("vmap: no argument is mapped over", hint="mark one with in_axes 0")
    if len(sizes) > 1:
        raise ArgumentError(
            f"vmap: the arguments mapped over have first axes of different lengths "
            f"({', '.join(map(str, sorted(sizes)))})",
            hint="give every mapped argument one example per row",
        )
    return next(iter(sizes))


def _example(args: tuple, axes: tuple, i: int) -> tuple:
    """The arguments of example ``i``: row ``i`` of each leaf mapped over, the others whole."""
    picked = []
    for arg, axis in zip(args, axes):
        if axis is None:
            picked.append(arg)
        else:
            tree = tree_of(arg)
            picked.append(unflatten(tree, [leaf[i] for leaf in flatten(arg, tree)]))
    return tuple(picked)
