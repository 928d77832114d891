"""Derivative rules of the NumPy operations that join arrays, read or write diagonals, or sum runs.

``np.hstack``, ``np.vstack``, ``np.column_stack``, ``np.atleast_1d/2d/3d``, ``np.diag``,
``np.diagonal``, ``np.trace``, ``np.flip`` and ``np.cumsum`` are *linear*: each is stated once by
:func:`linear`, with its *transpose* (the adjoint: how an output's adjoint passes back to each
operand) and its *batched* form (the same operation on tangents with a leading axis of directions,
for vector mode, where its axes move one place on). The tangent is the operation itself applied to
the tangents, and is not restated. The transposes are NumPy operations that have rules of their
own, or helpers of :mod:`s2sad.runtime_layouts` linear in the adjoint, so second derivatives
(forward mode over the gradient) follow from the same statements.

>>> from s2sad.ir import Var
>>> from s2sad.shapes import Kinds, Kind
>>> kinds = Kinds({"x": Kind((4,)), "w": Kind((4,))})
>>> rule = STRUCTURAL["np.cumsum"](Var("x"), out=Var("w"), params={"axis": 0}, kinds=kinds)
>>> rule.tangent([Var("t")]), rule.adjoints[0](Var("g"))
(np.cumsum(t, axis=0), np.flip(np.cumsum(np.flip(g, axis=0), axis=0), axis=0))
"""

from __future__ import annotations

from .array_rules import RUNTIME, STRUCTURAL, Linear, np_call, runtime_call
from .ir import Call
from .primitives import PRIMITIVES
from .runtime_layouts import joined_layout
from .second_order_rules import multilinear
from .vector_mode import VECTOR_RULES, NotVectorizableError, _shifted_axes


def linear(*names, transpose, batched):
    """Declare the operations ``names`` linear in their operands, jointly (``np.hstack([a, b])``
    is linear in ``(a, b)``): their tangent is the operation on the tangents, zeros standing for
    an inactive operand's. ``transpose(g, k, operands, params, kinds)`` is operand ``k``'s part of
    its adjoint; ``batched(dots, operands, out, params, kinds)`` the tangent in vector mode, from
    the batched tangents of all operands (zeros for the inactive ones)."""

    def declare(name):
        prim = PRIMITIVES[name]

        def rule(*operands, out, params, kinds):
            def tangent(dots):
                pieces = [_zero_or(d, a) for d, a in zip(dots, operands)]
                return Call(prim, tuple(pieces), tuple(params.items()))

            adjoints = tuple(
                (lambda g, k=k: transpose(g, k, operands, params, kinds))
                for k in range(len(operands))
            )
            return Linear(tangent, adjoints)

        def vector(*operands, out, params, kinds):
            def tangent(dots):
                pieces = [d if d is not None else kinds.zeros(a) for d, a in zip(dots, operands)]
                return batched(pieces, operands, out, params, kinds)

            return tangent

        STRUCTURAL[name], VECTOR_RULES[name] = rule, vector

    for name in names:
        declare(name)


def _zero_or(dot, like):
    return dot if dot is not None else np_call("zeros_like", like)


def _shaped_like(part, x, kinds):
    """An adjoint made ``x``'s shape: a number for a number (``np.sum`` of one element)."""
    return np_call("sum", part) if kinds.is_scalar(x) else np_call("reshape", part, kinds.shape(x))


# --- joining arrays -------------------------------------------------------------------------------


def _join_transpose(g, k, operands, params, kinds, join=""):
    part = runtime_call("join_adjoint", g, k, join, *operands)
    return np_call("sum", part) if kinds.is_scalar(operands[k]) else part


def _join_batched(dots, operands, out, params, kinds, join=""):
    """Each batched tangent given the axes the join gives its operand, joined one axis on."""
    shapes, axis = joined_layout(join, [kinds.tangent_shape(a)[1:] for a in operands])
    pieces = [np_call("reshape", d, (kinds.size,) + s) for d, s in zip(dots, shapes)]
    return Call(PRIMITIVES["np.concatenate"], tuple(pieces), (("axis", axis + 1),))


for _join in ("hstack", "vstack", "column_stack"):
    linear(
        f"np.{_join}",
        transpose=lambda *a, join=_join: _join_transpose(*a, join=join),
        batched=lambda *a, join=_join: _join_batched(*a, join=join),
    )

# np.atleast_2d(x) reshapes x: elements keep their order, as for np.reshape.
linear(
    "np.atleast_1d",
    "np.atleast_2d",
    "np.atleast_3d",
    transpose=lambda g, k, operands, params, kinds: _shaped_like(g, operands[0], kinds),
    batched=lambda dots, operands, out, params, kinds: np_call(
        "reshape", dots[0], kinds.tangent_shape(out)
    ),
)


# --- diagonals ------------------------------------------------------------------------------------


def _diagonal_params(params, ndim=None):
    """``(offset, axis1, axis2)`` of ``np.diagonal`` and ``np.trace``, the axes counted from 0 if
    ``ndim`` is given."""
    offset, axis1, axis2 = (
        params.get(k, d) for k, d in (("offset", 0), ("axis1", 0), ("axis2", 1))
    )
    if ndim is None:
        return offset, axis1, axis2
    if not (isinstance(axis1, int) and isinstance(axis2, int)):
        raise NotVectorizableError("the axes of a diagonal are read when the code runs")
    return offset, axis1 % ndim, axis2 % ndim


def _diag_transpose(g, k, operands, params, kinds):
    """``np.diag`` puts a vector on a diagonal (its adjoint reads that diagonal back) or reads the
    diagonal of a matrix (its adjoint writes it on zeros of the matrix's shape)."""
    x, offset = operands[0], params.get("k", 0)
    kind = kinds.of(x)
    if kind is None or not kind.is_array:
        return runtime_call("diag_adjoint", g, x, offset)
    if len(kind.shape) == 1:
        return np_call("diag", g, **params)
    return runtime_call("diagonal_scatter", g, kinds.shape(x), offset, 0, 1)


def _diag_batched(dots, operands, out, params, kinds):
    offset = params.get("k", 0)
    if kinds.ndim(operands[0]) == 1:
        return runtime_call("diagonal_scatter", dots[0], kinds.tangent_shape(out), offset, 1, 2)
    return np_call("diagonal", dots[0], offset=offset, axis1=1, axis2=2)


linear("np.diag", transpose=_diag_transpose, batched=_diag_batched)


def _diagonal_transpose(g, k, operands, params, kinds, trace=False):
    """Zeros of the operand's shape with ``g`` on the diagonal (``np.trace`` sums the diagonal, so
    every element of it gets ``g``)."""
    if trace:
        g = np_call("expand_dims", g, axis=-1)
    shape = kinds.shape(operands[0])
    return runtime_call("diagonal_scatter", g, shape, *_diagonal_params(params))


def _diagonal_batched(dots, operands, out, params, kinds, trace=False):
    offset, axis1, axis2 = _diagonal_params(params, kinds.ndim(operands[0]))
    name = "trace" if trace else "diagonal"
    return np_call(name, dots[0], offset=offset, axis1=axis1 + 1, axis2=axis2 + 1)


linear("np.diagonal", transpose=_diagonal_transpose, batched=_diagonal_batched)
linear(
    "np.trace",
    transpose=lambda *a: _diagonal_transpose(*a, trace=True),
    batched=lambda *a: _diagonal_batched(*a, trace=True),
)


# --- reversing and running sums -------------------------------------------------------------------


def _batched_axis(operands, params, kinds):
    """The ``axis`` of a batched tangent: one on, or every axis but the directions' for ``None``."""
    return _shifted_axes(operands[0], params, kinds)


linear(
    "np.flip",
    transpose=lambda g, k, operands, params, kinds: np_call("flip", g, **params),
    batched=lambda dots, operands, out, params, kinds: np_call(
        "flip", dots[0], axis=_batched_axis(operands, params, kinds)
    ),
)


# A triangle keeps some elements and zeroes the others, the same ones in any stack of matrices: its
# own transpose, and the directions' axis in front changes nothing.
for _name in ("triu", "tril"):
    linear(
        f"np.{_name}",
        transpose=lambda g, k, operands, params, kinds, name=_name: np_call(name, g, **params),
        batched=lambda dots, operands, out, params, kinds, name=_name: np_call(
            name, dots[0], **params
        ),
    )


def _cumsum_transpose(g, k, operands, params, kinds):
    """Each element is added into every later sum: its adjoint is the sum of the adjoints from it
    to the end, a running sum taken backwards (of the flattened array for ``axis=None``)."""
    axis = params.get("axis")
    if axis is None:
        backwards = np_call("flip", np_call("cumsum", np_call("flip", g)))
        return _shaped_like(backwards, operands[0], kinds)
    flipped = np_call("cumsum", np_call("flip", g, axis=axis), axis=axis)
    return np_call("flip", flipped, axis=axis)


def _cumsum_batched(dots, operands, out, params, kinds):
    if params.get("axis") is None:  # each direction's flattened tangent
        return np_call("cumsum", np_call("reshape", dots[0], (kinds.size, -1)), axis=1)
    return np_call("cumsum", dots[0], axis=_batched_axis(operands, params, kinds)[0])


linear("np.cumsum", transpose=_cumsum_transpose, batched=_cumsum_batched)


# The helpers the transposes call are linear in the adjoint they carry (their first argument).
for _helper in ("join_adjoint", "diagonal_scatter", "diag_adjoint", "weights_like"):
    multilinear(RUNTIME[_helper], lambda args: (0,))


# --- sorting ----------------------------------------------------------------------------------------


def _sort(x, out, params, kinds):
    """``np.sort`` permutes its operand, by an order that stays the same under a small change of
    it away from ties (at a tie, the stable order): linear there, in the tangent and the adjoint,
    which helpers permute when the code runs."""
    axis = params.get("axis", -1)
    return Linear(
        lambda dots: runtime_call("sort_tangent", dots[0], x, axis),
        (lambda g: runtime_call("sort_adjoint", g, x, axis),),
    )


def _sort_batched(x, out, params, kinds):
    return lambda dots: runtime_call("sort_tangent", dots[0], x, params.get("axis", -1))


STRUCTURAL["np.sort"], VECTOR_RULES["np.sort"] = _sort, _sort_batched
for _helper in ("sort_tangent", "sort_adjoint"):  # the order is locally constant
    multilinear(RUNTIME[_helper], lambda args: (0,))
