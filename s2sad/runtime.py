"""The few functions generated NumPy code calls where no single NumPy operation does the job.

Generated code calls these only where a plain operation cannot be chosen while compiling: reducing an
adjoint to an operand's shape when the shapes were not known, scattering an adjoint back through an
index, and the adjoints of ``prod``, ``max`` and ``min``. Each is plain NumPy, short, and copied into
exported modules as it is.

>>> import numpy as np
>>> unbroadcast(np.ones((2, 3)), np.zeros((1, 3))).tolist()
[[2.0, 2.0, 2.0]]
>>> index_adjoint(np.array([1.0, 2.0]), np.zeros(3), [0, 0], index=("value",)).tolist()
[3.0, 0.0, 0.0]
>>> setitem(np.zeros(4), 1.0, 1, index=((True, False, False),)).tolist()
[0.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import numpy as np


def unbroadcast(g, like):
    """``g`` summed over the axes along which ``like`` was broadcast to ``g``'s shape."""
    shape = np.shape(like)
    if np.shape(g) == shape:
        return g
    g = np.sum(g, axis=tuple(range(np.ndim(g) - len(shape))))
    ones = tuple(axis for axis, size in enumerate(shape) if size == 1 and np.shape(g)[axis] != 1)
    if ones:
        g = np.sum(g, axis=ones, keepdims=True)
    return g if shape else g[()]


def conform(g, shape, dtype):
    """``g`` as a new array of ``shape`` and ``dtype``: a gradient shaped like its argument."""
    return np.array(np.broadcast_to(g, shape), dtype=dtype)


def broadcast_like(t, like):
    """``t`` broadcast to ``like``'s shape (a tangent of a value that was broadcast)."""
    shape = np.shape(like)
    return t if np.shape(t) == shape else np.broadcast_to(t, shape)


def build_index(values: tuple, layout: tuple):
    """The index ``x[...]`` had: ``layout`` says which parts are values, which are slices (and
    which bounds each slice has), ``None`` or ``...``; ``values`` gives the values in order."""
    values = iter(values)
    parts = []
    for item in layout:
        if item == "value":
            parts.append(next(values))
        elif isinstance(item, tuple):
            parts.append(slice(*(next(values) if has else None for has in item)))
        else:
            parts.append(item)
    return tuple(parts) if len(parts) != 1 else parts[0]


def getitem(array, *values, index):
    """``array[...]``: what ``x[i, 1:n]`` computes (shape inference runs it on stand-ins)."""
    return array[build_index(values, index)]


def index_adjoint(g, like, *values, index):
    """The adjoint of ``like[...]``: zeros shaped like ``like``, with ``g`` added where the index
    read. Repeated integer indices add up, as each read contributed."""
    result = np.zeros(np.shape(like), dtype=np.result_type(like, g))
    np.add.at(result, build_index(values, index), g)
    return result


def setitem(array, value, *values, index):
    """``array`` with ``array[...] = value``, as a new array: how the trace writes into an array."""
    array = array.copy()
    array[build_index(values, index)] = value
    return array


def reduction_adjoint(g, like, axis, keepdims):
    """``g`` (a reduction of ``like`` over ``axis``) broadcast back to ``like``'s shape."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, np.shape(like))


def prod_adjoint(g, x, axis, keepdims):
    """The adjoint of ``prod(x, axis)``: each element's partial is the product of the others,
    computed from exclusive cumulative products, so zeros in ``x`` are handled exactly."""
    x = np.asarray(x)
    if axis is None:
        return prod_adjoint(g, x.reshape(-1), 0, False).reshape(x.shape)
    moved = np.moveaxis(x, axis, -1)
    before = np.cumprod(np.concatenate([np.ones_like(moved[..., :1]), moved[..., :-1]], -1), -1)
    after = np.flip(
        np.cumprod(
            np.concatenate([np.ones_like(moved[..., :1]), np.flip(moved, -1)[..., :-1]], -1), -1
        ),
        -1,
    )
    others = np.moveaxis(before * after, -1, axis)
    return reduction_adjoint(g, x, axis, keepdims) * others


def prod_adjoint_tangent(g, x, x_dot, axis, keepdims):
    """The tangent of ``prod_adjoint(g, x, axis, keepdims)`` along ``x_dot``: each element's product
    of the others changes by ``Σ_j ẋ_j ∏_{k≠i,j} x_k``. The products before and after each element
    are carried with their tangents along the axis (the product rule, step by step), so zeros in
    ``x`` are handled exactly, as in :func:`prod_adjoint`."""
    x = np.asarray(x, dtype=float)
    x_dot = np.broadcast_to(x_dot, x.shape)
    if axis is None:
        flat = prod_adjoint_tangent(g, x.reshape(-1), x_dot.reshape(-1), 0, False)
        return flat.reshape(x.shape)
    moved, moved_dot = np.moveaxis(x, axis, -1), np.moveaxis(x_dot, axis, -1)
    n = moved.shape[-1]
    sides = []  # the products before each element, then after it, with their tangents
    for order in (range(n), range(n - 1, -1, -1)):
        p, p_dot = np.ones(moved.shape), np.zeros(moved.shape)
        for previous, i in zip(order, list(order)[1:]):
            p[..., i] = p[..., previous] * moved[..., previous]
            p_dot[..., i] = (
                p_dot[..., previous] * moved[..., previous]
                + p[..., previous] * moved_dot[..., previous]
            )
        sides.append((p, p_dot))
    (before, before_dot), (after, after_dot) = sides
    others_dot = np.moveaxis(before_dot * after + before * after_dot, -1, axis)
    return reduction_adjoint(g, x, axis, keepdims) * others_dot


def extreme_adjoint(g, x, out, axis, keepdims):
    """The adjoint of ``max`` or ``min`` of ``x`` over ``axis``: ``g`` goes to the first element
    equal to the result along the axis (the one Python's ``max`` returns on a tie)."""
    x = np.asarray(x)
    hits = x == reduction_adjoint(out, x, axis, keepdims)
    if axis is None:
        first = np.zeros(x.size, dtype=bool)
        first[np.argmax(hits.reshape(-1))] = True
        first = first.reshape(x.shape)
    else:
        position = np.expand_dims(np.argmax(hits, axis=axis), axis)
        first = np.zeros(x.shape, dtype=bool)
        np.put_along_axis(first, position, True, axis=axis)
    return np.where(first, reduction_adjoint(g, x, axis, keepdims), 0.0)


def extreme_tangent(t, x, out, axis, keepdims):
    """The tangent of ``max`` or ``min``: the tangent of the element :func:`extreme_adjoint` picks."""
    picked = extreme_adjoint(np.ones_like(out), x, out, axis, keepdims)
    return np.sum(np.where(picked != 0, t, 0.0), axis=axis, keepdims=keepdims)


def matmul_adjoint(g, a, b, side):
    """The adjoint of ``a @ b`` for operand ``side`` (0 for ``a``, 1 for ``b``), any dimensions:
    vectors are promoted to matrices as ``@`` promotes them, and stacked axes sum back."""
    a2 = a[None, :] if np.ndim(a) == 1 else a
    b2 = b[:, None] if np.ndim(b) == 1 else b
    g2 = np.reshape(g, np.shape(a2 @ b2))
    if side == 0:
        return unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2).reshape(np.shape(a))
    return unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2).reshape(np.shape(b))


def inner_adjoint(g, a, b, side):
    """The adjoint of ``np.inner(a, b)`` (a sum over the last axis of both) for operand ``side``."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * (b if side == 0 else a), a if side == 0 else b)
    lead = np.ndim(a) - 1  # the axes of g that came from a; the rest came from b
    if side == 0:
        return np.tensordot(g, b, axes=(list(range(lead, np.ndim(g))), list(range(np.ndim(b) - 1))))
    return np.tensordot(g, a, axes=(list(range(lead)), list(range(lead))))


def concatenate_adjoint(g, k, axis, *operands):
    """The part of ``g`` that came from operand ``k`` of ``np.concatenate(operands, axis)``."""
    sizes = np.cumsum([np.shape(x)[axis] for x in operands])
    return np.split(g, sizes[:-1], axis=axis)[k]


def norm_adjoint(g, x, out, axis, keepdims):
    """The adjoint of the 2-norm (or Frobenius norm): ``x / norm``, and 0 where the norm is 0."""
    norm = reduction_adjoint(out, x, axis, keepdims)
    return reduction_adjoint(g, x, axis, keepdims) * np.divide(
        x, norm, out=np.zeros(np.shape(x)), where=norm != 0
    )


def norm_tangent(t, x, out, axis, keepdims):
    return np.sum(
        norm_adjoint(np.ones_like(out), x, out, axis, keepdims) * t, axis=axis, keepdims=keepdims
    )


def scalar_seed(y):
    """1.0, the adjoint of a gradient's output, once the output is checked to be one number."""
    if np.size(y) != 1:
        raise ValueError(
            f"grad needs a function that returns one number, not an array of shape {np.shape(y)}; "
            "reduce it (np.sum, np.mean), or use s2sad.vjp or s2sad.jacobian"
        )
    return 1.0


def zero_tangent(x):
    """0.0 for a number, zeros of its shape for an array: the tangent a custom tangent rule gets
    for an inactive argument whose kind was not known while compiling."""
    return np.zeros_like(x) if isinstance(x, np.ndarray) else 0.0


def each_direction(rule, batched, *arguments):
    """A custom tangent rule, written for one direction, in vector mode: called once per direction
    with that direction's slice of each batched tangent (``batched`` marks the arguments that have
    the leading axis of directions), the results stacked along that axis."""
    count = next(len(a) for a, b in zip(arguments, batched) if b)
    slices = [[a[k] if b else a for a, b in zip(arguments, batched)] for k in range(count)]
    return np.stack([rule(*arguments) for arguments in slices])


HELPERS = (
    scalar_seed,
    conform,
    zero_tangent,
    each_direction,
    matmul_adjoint,
    inner_adjoint,
    concatenate_adjoint,
    norm_adjoint,
    norm_tangent,
    build_index,
    setitem,
    unbroadcast,
    broadcast_like,
    index_adjoint,
    reduction_adjoint,
    prod_adjoint,
    prod_adjoint_tangent,
    extreme_adjoint,
    extreme_tangent,
)
