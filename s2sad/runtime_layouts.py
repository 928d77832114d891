"""Run-time helpers of the rules for joining arrays, diagonals, weights and sorting.

Each is linear in the adjoint it carries and needs only the operands' shapes (see
:mod:`s2sad.layout_rules`). They are copied into exported modules as :mod:`s2sad.runtime`'s helpers
are, so they use NumPy alone.

>>> import numpy as np
>>> joined_layout("vstack", [(3,), (2, 3)])
([(1, 3), (2, 3)], 0)
>>> join_adjoint(np.arange(5.0), 1, "hstack", np.zeros(2), np.zeros(3)).tolist()
[2.0, 3.0, 4.0]
>>> diagonal_scatter(np.array([1.0, 2.0]), (2, 3), 1, 0, 1).tolist()
[[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]
>>> sort_adjoint(np.array([10.0, 20.0, 30.0]), np.array([2.0, 0.5, 1.0]), -1).tolist()
[30.0, 10.0, 20.0]
"""

from __future__ import annotations

import numpy as np


def joined_layout(join, shapes):
    """How ``np.hstack``, ``np.vstack`` or ``np.column_stack`` (``join``) joins arrays of these
    shapes: each one's shape once given the axes the function gives it, and the axis they are
    joined along."""
    if join == "vstack":  # rows: a number is (1, 1), a vector (1, n)
        return [(1,) * (2 - len(s)) + tuple(s) if len(s) < 2 else tuple(s) for s in shapes], 0
    if join == "column_stack":  # columns: a number is (1, 1), a vector (n, 1)
        return [(1, 1) if not s else (s[0], 1) if len(s) == 1 else tuple(s) for s in shapes], 1
    promoted = [tuple(s) or (1,) for s in shapes]  # hstack: vectors end to end, else columns
    return promoted, 0 if len(promoted[0]) == 1 else 1


def join_adjoint(g, k, join, *operands):
    """The part of ``g`` that came from operand ``k`` of ``np.<join>(operands)``, in its shape."""
    shapes, axis = joined_layout(join, [np.shape(x) for x in operands])
    ends = np.cumsum([s[axis] for s in shapes])
    return np.reshape(np.split(g, ends[:-1], axis=axis)[k], np.shape(operands[k]))


def diagonal_scatter(g, shape, offset, axis1, axis2):
    """Zeros of ``shape`` with ``g`` on the diagonal ``np.diagonal(·, offset, axis1, axis2)`` reads
    (``g`` broadcast to it): the adjoint of taking that diagonal."""
    result = np.zeros(shape, dtype=np.result_type(g, 0.0))
    moved = np.moveaxis(result, (axis1, axis2), (-2, -1))  # a view: writing it writes result
    rows, columns = moved.shape[-2:]
    n = max(0, min(rows, columns - offset) if offset >= 0 else min(rows + offset, columns))
    moved[..., np.arange(n) + max(-offset, 0), np.arange(n) + max(offset, 0)] = g
    return result


def diag_adjoint(g, like, k):
    """The adjoint of ``np.diag(like, k)``: for a vector, the diagonal of ``g`` it was put on; for a
    matrix, zeros of its shape with ``g`` on the diagonal that was read."""
    if np.ndim(like) == 1:
        return np.diag(g, k)
    return diagonal_scatter(g, np.shape(like), k, 0, 1)


def weights_like(w, a, axis):
    """The weights of ``np.average(a, axis, weights=w)`` as NumPy broadcasts them against ``a``:
    unchanged if they have its shape, else (a vector along ``axis``) given axes of length 1."""
    if np.shape(w) == np.shape(a):
        return w
    shape = [1] * np.ndim(a)
    shape[axis] = np.size(w)
    return np.reshape(w, shape)


def sort_tangent(t, x, axis):
    """The tangent of ``np.sort(x, axis)``: ``t`` permuted as the sort permutes ``x`` (in the
    stable order at ties); ``t`` may lead with an axis of directions (vector mode)."""
    x, t = np.asarray(x), np.asarray(t)
    lead = t.shape[: t.ndim - x.ndim]
    if axis is None:
        return np.reshape(t, lead + (-1,))[..., np.argsort(x, axis=None, kind="stable")]
    order = np.argsort(x, axis=axis, kind="stable")
    return np.take_along_axis(t, np.broadcast_to(order, t.shape), axis=axis % x.ndim - x.ndim)


def sort_adjoint(g, x, axis):
    """The adjoint of ``x`` from that of ``np.sort(x, axis)``: each element's adjoint goes back to
    the position the sort took it from."""
    x = np.asarray(x)
    adjoint = np.zeros(x.shape, dtype=np.result_type(g, x, 1.0))
    if axis is None:
        np.ravel(adjoint)[np.argsort(x, axis=None, kind="stable")] = np.ravel(g)
        return adjoint
    order = np.argsort(x, axis=axis, kind="stable")
    np.put_along_axis(adjoint, order, np.broadcast_to(g, x.shape), axis=axis)
    return adjoint


HELPERS = (
    joined_layout,
    join_adjoint,
    diagonal_scatter,
    diag_adjoint,
    weights_like,
    sort_tangent,
    sort_adjoint,
)
