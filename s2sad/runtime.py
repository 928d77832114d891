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

from .errors import NoDerivativeHereError
from .runtime_cumprod import HELPERS as CUMPROD_HELPERS
from .runtime_cumprod import cumprod_adjoint, cumprod_adjoint_tangent, cumprod_tangent  # noqa: F401
from .runtime_einsum import HELPERS as EINSUM_HELPERS
from .runtime_einsum import einsum_adjoint, einsum_parts  # noqa: F401
from .runtime_interp import HELPERS as INTERP_HELPERS
from .runtime_interp import interp_fp_adjoint, interp_slope  # noqa: F401
from .runtime_layouts import HELPERS as LAYOUT_HELPERS
from .runtime_linalg import HELPERS as LINALG_HELPERS
from .runtime_linalg import log_abs_det, plus_transpose, slogdet_sign  # noqa: F401
from .runtime_layouts import (  # noqa: F401  (helpers of the layout rules, here with the others)
    diag_adjoint,
    diagonal_scatter,
    join_adjoint,
    joined_layout,
    weights_like,
    sort_adjoint,
    sort_tangent,
)


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
    """``g`` as a new array of ``shape`` and ``dtype``: a gradient shaped like its argument (a
    Dask array stays one, which is never written into: it needs no memory of its own)."""
    if type(g).__module__.startswith("dask."):
        g = np.broadcast_to(g, shape)
        return g if g.dtype == dtype else g.astype(dtype)
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


def written_adjoint(g, *values, index):
    """``g[...]``, the adjoint of the value ``array[...] = value`` wrote, for an index that may
    name a place more than once (``y[[0, 0]] = v``): only the element written last to a place stays
    in the array, so only that one gets the place's adjoint. The same write, replayed with element
    numbers, tells which."""
    where = build_index(values, index)
    part = np.asarray(g)[where]
    numbers = np.arange(part.size).reshape(part.shape)
    written = np.full(np.shape(g), -1)
    written[where] = numbers
    return np.where(written[where] == numbers, part, 0.0)


def reduction_adjoint(g, like, axis, keepdims):
    """``g`` (a reduction of ``like`` over ``axis``) broadcast back to ``like``'s shape."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, np.shape(like))


def reduced_last(x, axis):
    """``x`` with the axes a reduction over ``axis`` (``None``, an axis or a tuple of axes) runs over
    moved to the end, in their order, and made one axis: a reduction over several axes is then one
    over the last axis."""
    x = np.asarray(x)
    axes = reduced_axes(np.ndim(x), axis)
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, kept + list(axes))
    return moved.reshape(moved.shape[: len(kept)] + (-1,))


def reduced_axes(ndim, axis) -> tuple:
    """The axes, counted from 0, that a reduction over ``axis`` runs over."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))


def restored(flat, shape, axis):
    """The inverse of :func:`reduced_last`: ``flat`` back in an array of ``shape``."""
    axes = reduced_axes(len(shape), axis)
    kept = [a for a in range(len(shape)) if a not in axes]
    moved = np.reshape(flat, tuple(shape[a] for a in kept + list(axes)))
    return np.transpose(moved, np.argsort(kept + list(axes)))


def prod_adjoint(g, x, axis, keepdims):
    """The adjoint of ``prod(x, axis)``: each element's partial is the product of the others,
    computed from exclusive cumulative products, so zeros in ``x`` are handled exactly."""
    x = np.asarray(x)
    flat = reduced_last(x, axis)
    ones = np.ones_like(flat[..., :1])
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], -1), -1)
    after = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], -1), -1), -1)
    return reduction_adjoint(g, x, axis, keepdims) * restored(before * after, x.shape, axis)


def prod_adjoint_tangent(g, x, x_dot, axis, keepdims):
    """The tangent of ``prod_adjoint(g, x, axis, keepdims)`` along ``x_dot``: each element's product
    of the others changes by ``Σ_j ẋ_j ∏_{k≠i,j} x_k``. The products before and after each element
    are carried with their tangents along the axis (the product rule, step by step), so zeros in
    ``x`` are handled exactly, as in :func:`prod_adjoint`."""
    x = np.asarray(x, dtype=float)
    moved = reduced_last(x, axis)
    moved_dot = reduced_last(np.broadcast_to(x_dot, x.shape), axis)
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
    others_dot = restored(before_dot * after + before * after_dot, x.shape, axis)
    return reduction_adjoint(g, x, axis, keepdims) * others_dot


def first_hit(hits):
    """One-hot along the last axis: the first position where ``hits`` is true there (or the first
    position, where none is)."""
    first = np.zeros(np.shape(hits), dtype=bool)
    np.put_along_axis(first, np.argmax(hits, axis=-1)[..., None], True, axis=-1)
    return first


def extreme_adjoint(g, x, out, axis, keepdims):
    """The adjoint of ``max`` or ``min`` of ``x`` over ``axis``: ``g`` goes to the first element
    equal to the result (the one Python's ``max`` returns on a tie), in the order ``x.flat`` reads
    the reduced axes."""
    x = np.asarray(x)
    hits = reduced_last(x == reduction_adjoint(out, x, axis, keepdims), axis)
    picked = restored(first_hit(hits), x.shape, axis)
    return np.where(picked, reduction_adjoint(g, x, axis, keepdims), 0.0)


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


def dot_adjoint(g, a, b, side):
    """The adjoint of ``np.dot(a, b)`` for operand ``side``, any dimensions: a product by a number,
    or a sum over the last axis of ``a`` and the last axis of ``b`` (its second-to-last when it has
    two or more), the other axes of ``a`` coming first in the result."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * (b if side == 0 else a), a if side == 0 else b)
    lead, nb = np.ndim(a) - 1, np.ndim(b)  # the axes of g that came from a; then those of b
    contracted = nb - 2 if nb > 1 else 0  # the axis of b that is summed over
    if side == 0:
        b_axes = [i for i in range(nb) if i != contracted]
        return np.tensordot(g, b, axes=(list(range(lead, np.ndim(g))), b_axes))
    result = np.tensordot(a, g, axes=(list(range(lead)), list(range(lead))))
    return np.moveaxis(result, 0, contracted)


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


def norm_adjoint(g, x, out, ord, axis, keepdims):
    """The adjoint of ``np.linalg.norm(x, ord, axis, keepdims)``: ``g`` times the gradient of the
    norm (:func:`norm_gradient`), broadcast back along the axes it reduced."""
    return reduction_adjoint(g, x, axis, keepdims) * norm_gradient(x, out, ord, axis, keepdims)


def norm_tangent(t, x, out, ord, axis, keepdims):
    """The tangent of ``np.linalg.norm``: the gradient times ``t``, summed over the reduced axes."""
    gradient = norm_gradient(x, out, ord, axis, keepdims)
    return np.sum(gradient * t, axis=axis, keepdims=keepdims)


def norm_adjoint_tangent(g, x, x_dot, out, ord, axis, keepdims):
    """The tangent of ``norm_adjoint(g, x, norm(x), ...)`` along ``x_dot`` (``g`` held fixed), for a
    second derivative. The gradient ``sign(x) (|x| / n)^(p-1)`` of a p-norm changes by
    ``(p-1) ((|x|/n)^(p-2) ẋ - sign(x) (|x|/n)^(p-1) ṅ) / n``; those of the 1- and inf-norms are
    piecewise constant. Matrix norms other than Frobenius's raise
    :class:`~s2sad.errors.NoDerivativeHereError`."""
    x = np.asarray(x)
    x_dot = np.broadcast_to(x_dot, x.shape)
    axes = norm_axes(x, ord, axis)
    frobenius = ord is None or ord == "fro"
    if frobenius or (len(axes) == 1 and ord not in (1, np.inf, -np.inf)):
        p = 2 if frobenius else ord
        norm = reduction_adjoint(out, x, axis, keepdims)
        gradient = norm_gradient(x, out, ord, axis, keepdims)
        norm_dot = np.sum(gradient * x_dot, axis=axis, keepdims=keepdims)
        ratio = np.divide(np.abs(x), norm, out=np.zeros(np.shape(x)), where=norm != 0)
        change = ratio ** (p - 2) * x_dot - np.sign(x) * ratio ** (p - 1) * reduction_adjoint(
            norm_dot, x, axis, keepdims
        )
        gradient_dot = (p - 1) * np.divide(change, norm, out=np.zeros(np.shape(x)), where=norm != 0)
    elif len(axes) == 1 or ord in (1, -1, np.inf, -np.inf):
        gradient_dot = np.zeros(np.shape(x))
    else:
        raise NoDerivativeHereError(
            f"second derivatives of np.linalg.norm(x, {ord!r}) of a matrix are not supported",
            hint="use the Frobenius norm (ord='fro') in a function differentiated twice",
        )
    return reduction_adjoint(g, x, axis, keepdims) * gradient_dot


def norm_axes(x, ord, axis):
    """The axes ``np.linalg.norm(x, ord, axis)`` takes a norm over: one for a vector norm, two for a
    matrix norm, ``None`` for the 2-norm of all elements (no ``ord``, no ``axis``)."""
    if axis is None:
        return None if ord is None else tuple(range(np.ndim(x)))
    return reduced_axes(np.ndim(x), axis)


def norm_gradient(x, out, ord, axis, keepdims):
    """The gradient of each norm ``np.linalg.norm(x, ord, axis, keepdims)`` computes, shaped like
    ``x``. At a point where a norm has no derivative, the subgradient of least magnitude when there
    is one: 0 where the norm is 0, and, on a tie for the largest entry (``ord=inf``) or column (matrix
    ``ord=1``), the first, as for ``max``. A tie of singular values has none: it raises
    :class:`~s2sad.errors.NoDerivativeHereError` (a ``ValueError`` in exported code).
    """
    x = np.asarray(x)
    axes = norm_axes(x, ord, axis)
    norm = reduction_adjoint(out, x, axis, keepdims)
    if ord is None or ord == "fro" or (ord == 2 and len(axes) == 1):
        return np.divide(x, norm, out=np.zeros(np.shape(x)), where=norm != 0)
    if len(axes) == 1:
        return _vector_norm_gradient(x, norm, ord, axes[0])
    return np.moveaxis(_matrix_norm_gradient(np.moveaxis(x, axes, (-2, -1)), ord), (-2, -1), axes)


def _vector_norm_gradient(x, norm, ord, axis):
    """``sign(x) (|x| / norm)^(p-1)`` for a p-norm, ``p >= 1``; the sign of the first largest
    (``inf``) or smallest (``-inf``) entry for the others."""
    size, sign = np.abs(x), np.sign(x)
    if ord in (np.inf, -np.inf):
        picked = np.moveaxis(first_hit(np.moveaxis(size == norm, axis, -1)), -1, axis)
        return np.where(picked, sign, 0.0)
    if not ord >= 1:
        raise NoDerivativeHereError(
            f"np.linalg.norm with ord={ord!r} has no derivative here", hint="ord >= 1 has"
        )
    ratio = np.divide(size, norm, out=np.zeros(np.shape(x)), where=norm != 0)
    return sign * ratio ** (ord - 1)


def _matrix_norm_gradient(m, ord):
    """The gradient of a matrix norm of each matrix in the last two axes of ``m``."""
    if ord in (1, -1, np.inf, -np.inf):  # the largest (smallest) column or row sum of |m|
        sums_over = -2 if ord in (1, -1) else -1
        sums = np.sum(np.abs(m), axis=sums_over)
        pick = np.argmax(sums, axis=-1) if ord > 0 else np.argmin(sums, axis=-1)
        one_hot = np.arange(sums.shape[-1]) == pick[..., None]
        return np.sign(m) * np.expand_dims(one_hot, sums_over)
    u, s, vh = np.linalg.svd(m, full_matrices=False)
    small = max(m.shape[-2:]) * np.finfo(float).eps * s[..., :1]  # as np.linalg.matrix_rank
    if ord == "nuc":  # U V^T over the singular values that are not zero
        return (u * (s > small)[..., None, :]) @ vh
    if ord not in (2, -2):
        raise NoDerivativeHereError(
            f"np.linalg.norm with ord={ord!r} has no derivative for matrices",
            hint="use ord=2, -2, 1, -1, inf, -inf, 'fro' or 'nuc'",
        )
    k = 0 if ord == 2 else -1
    picked = s[..., k]
    if s.shape[-1] > 1:
        gap = s[..., 0] - s[..., 1] if k == 0 else s[..., -2] - s[..., -1]
        if np.any((gap <= small[..., 0]) & (picked > small[..., 0])):
            which = "largest" if k == 0 else "smallest"
            raise NoDerivativeHereError(
                f"np.linalg.norm(x, {ord}) has no derivative here: the two {which} singular values "
                "of x are equal, so no single pair of singular vectors gives the gradient",
                hint="differentiate at a point without the tie, or use the Frobenius norm "
                "(ord='fro'), which has a derivative everywhere but at 0",
            )
    outer = u[..., :, k, None] * vh[..., None, k, :]
    return np.where((picked > small[..., 0])[..., None, None], outer, 0.0)


def scalar_seed(y):
    """1.0, the adjoint of a gradient's output, once the output is checked to be one number (not an
    array, even of one element: a gradient is of a number)."""
    if np.ndim(y) != 0:
        raise ValueError(
            f"grad needs a function that returns one number, not an array of shape {np.shape(y)}; "
            "reduce it (np.sum, np.mean), or use s2sad.vjp or s2sad.jacobian"
        )
    return 1.0


def real_number(d):
    """``d``, a derivative of a number, as a float: a complex ``d`` raises
    :class:`~s2sad.errors.NoDerivativeHereError` (Python's ``x ** 0.5`` at a negative ``x`` is
    complex, and s2sad differentiates real functions)."""
    if type(d).__module__.startswith("dask."):  # a Dask number: computed when asked
        return d
    if isinstance(d, complex):
        raise NoDerivativeHereError(
            f"the derivative is the complex number {d!r} here: a power of a negative number with "
            "a fractional exponent (x ** 0.5 at x < 0) is complex in Python, and s2sad "
            "differentiates real functions",
            hint="keep the base positive where the function is differentiated, or write "
            "math.sqrt(x) or abs(x) ** p",
        )
    return float(d)


def derivative_like(d, x):
    """``d``, a derivative of the value ``x`` (the gradient of an argument, the tangent of an output),
    made like ``x``, as code compiled for known shapes makes it while compiling: for a number, a
    float (not an integer, nor an array with no axes); for an array, an array of its shape and
    dtype in memory of its own (zeros for the structural zero ``0.0``, a copy of a broadcast view
    or of an argument)."""
    if not isinstance(x, np.ndarray):
        return d if isinstance(d, (float, np.floating)) else real_number(d)
    return np.array(np.broadcast_to(d, x.shape), dtype=x.dtype)


def cast_slope(dtype):
    """The derivative of ``x.astype(dtype)``: 1 for a type with fractions (a float or complex
    type), 0 for one without (an integer or ``bool``), whose values are piecewise constant."""
    return 1.0 if np.issubdtype(np.dtype(dtype), np.inexact) else 0.0


def zero_like(x):
    """0.0 for a number, zeros of its shape for an array: the tangent a custom tangent rule gets
    for an inactive argument, or the adjoint of a value nothing read on the path taken, whose kind
    was not known while compiling."""
    return np.zeros_like(x) if isinstance(x, np.ndarray) else 0.0


def each_direction(rule, batched, *arguments):
    """A custom tangent rule, written for one direction, in vector mode: called once per direction
    with that direction's slice of each batched tangent (``batched`` marks the arguments that have
    the leading axis of directions), the results stacked along that axis."""
    count = next(len(a) for a, b in zip(arguments, batched) if b)
    slices = [[a[k] if b else a for a, b in zip(arguments, batched)] for k in range(count)]
    return np.stack([rule(*arguments) for arguments in slices])


def require_shape(x, shape, name):
    """Refuse an argument of another shape than ``shape``, for code that read the length of ``x``
    while it was compiled (its loops over ``x`` unrolled, its unpacking of ``x`` done)."""
    if np.shape(x) != shape:
        raise ValueError(
            f"`{name}` has shape {np.shape(x)}, but this code was compiled for shape {shape}; "
            "generate it again for this argument"
        )


HELPERS = (
    scalar_seed,
    require_shape,
    real_number,
    derivative_like,
    cast_slope,
    conform,
    zero_like,
    each_direction,
    matmul_adjoint,
    dot_adjoint,
    inner_adjoint,
    concatenate_adjoint,
    norm_adjoint,
    norm_tangent,
    norm_adjoint_tangent,
    norm_axes,
    norm_gradient,
    _vector_norm_gradient,
    _matrix_norm_gradient,
    build_index,
    setitem,
    written_adjoint,
    unbroadcast,
    broadcast_like,
    index_adjoint,
    reduction_adjoint,
    reduced_last,
    reduced_axes,
    restored,
    prod_adjoint,
    prod_adjoint_tangent,
    first_hit,
    extreme_adjoint,
    extreme_tangent,
    *LAYOUT_HELPERS,
    *INTERP_HELPERS,
    *CUMPROD_HELPERS,
    *EINSUM_HELPERS,
    *LINALG_HELPERS,
)
