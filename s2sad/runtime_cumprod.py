"""Run-time helpers of the rule for ``np.cumprod`` (see :mod:`s2sad.statistics_rules`).

``y_i = y_{i-1} x_i`` along the axis. Dividing by ``x`` would be wrong where it is 0, so each helper
runs a recurrence along the axis instead, exact whatever the values:

- tangent: ``ẏ_i = x_i ẏ_{i-1} + y_{i-1} ẋ_i`` (the product rule, step by step);
- adjoint: ``x̄_j = y_{j-1} s_j`` with ``s_j = ȳ_j + x_{j+1} s_{j+1}`` (``y_{-1} = 1``), since
  ``∂y_i/∂x_j = y_{j-1} x_{j+1} ⋯ x_i`` for ``j ≤ i``;
- and the adjoint's tangent along ``ẋ``, for second derivatives.

``axis=None`` runs over the flattened array, as ``np.cumprod`` does. Copied into exported modules.

>>> import numpy as np
>>> cumprod_adjoint(np.ones(3), np.array([2.0, 0.0, 5.0]), None).tolist()  # ∂(2 + 0 + 0)
[1.0, 12.0, 0.0]
"""

from __future__ import annotations

import numpy as np


def _along_last(x, axis):
    """``x`` with the axis of the products last (flattened for ``axis=None``), as floats."""
    x = np.asarray(x, dtype=np.result_type(x, 0.0))
    return x.reshape(-1) if axis is None else np.moveaxis(x, axis, -1)


def _exclusive(moved):
    """``y_{i-1}``: the product of the elements before each one (1 for the first)."""
    before = np.ones_like(moved)
    before[..., 1:] = np.cumprod(moved[..., :-1], axis=-1)
    return before


def cumprod_tangent(t, x, axis):
    """The tangent of ``np.cumprod(x, axis)`` along ``t``; ``t`` may have leading axes ``x`` has not
    (the directions of vector mode), which the result keeps."""
    lead = max(0, np.ndim(t) - np.ndim(x))
    axis = None if axis is None else axis % np.ndim(x)  # counted in x, whatever t leads with
    t = np.broadcast_to(t, np.shape(t)[:lead] + np.shape(x))
    moved = _along_last(x, axis)
    t = t.reshape(t.shape[:lead] + (-1,)) if axis is None else np.moveaxis(t, lead + axis, -1)
    before = _exclusive(moved)
    result = np.zeros(np.broadcast_shapes(t.shape, moved.shape), np.result_type(t, moved))
    result[..., 0] = t[..., 0]
    for i in range(1, moved.shape[-1]):
        result[..., i] = moved[..., i] * result[..., i - 1] + before[..., i] * t[..., i]
    return result if axis is None else np.moveaxis(result, -1, lead + axis)


def _suffix(g, moved):
    """``s_j = g_j + x_{j+1} s_{j+1}``, from the last element back."""
    s = np.array(np.broadcast_to(g, moved.shape), dtype=np.result_type(g, moved))
    for j in range(moved.shape[-1] - 2, -1, -1):
        s[..., j] += moved[..., j + 1] * s[..., j + 1]
    return s


def _restored(moved, x, axis):
    return moved.reshape(np.shape(x)) if axis is None else np.moveaxis(moved, -1, axis)


def cumprod_adjoint(g, x, axis):
    """The adjoint of ``np.cumprod(x, axis)``: ``x̄_j = y_{j-1} s_j``."""
    moved = _along_last(x, axis)
    g = np.reshape(g, -1) if axis is None else np.moveaxis(g, axis, -1)
    return _restored(_exclusive(moved) * _suffix(g, moved), x, axis)


def cumprod_adjoint_tangent(g, x, x_dot, axis):
    """The tangent of ``cumprod_adjoint(g, x, axis)`` along ``x_dot`` (``g`` held fixed): the
    product rule on ``y_{j-1} s_j``, with ``ṡ_j = ẋ_{j+1} s_{j+1} + x_{j+1} ṡ_{j+1}``."""
    moved = _along_last(x, axis)
    moved_dot = _along_last(np.broadcast_to(x_dot, np.shape(x)), axis)
    g = np.reshape(g, -1) if axis is None else np.moveaxis(g, axis, -1)
    before, s = _exclusive(moved), _suffix(g, moved)
    before_dot = np.zeros_like(before)  # the tangent of y_{i-1}: that of y, one place on
    before_dot[..., 1:] = cumprod_tangent(moved_dot, moved, -1)[..., :-1]
    s_dot = np.zeros_like(s)
    for j in range(moved.shape[-1] - 2, -1, -1):
        s_dot[..., j] = (
            moved_dot[..., j + 1] * s[..., j + 1] + moved[..., j + 1] * s_dot[..., j + 1]
        )
    return _restored(before_dot * s + before * s_dot, x, axis)


HELPERS = (
    _along_last,
    _exclusive,
    cumprod_tangent,
    _suffix,
    _restored,
    cumprod_adjoint,
    cumprod_adjoint_tangent,
)
