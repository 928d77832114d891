"""Derivative rules of ``np.linalg``'s ``det``, ``slogdet``, ``inv``, ``solve`` and ``cholesky``.

Each rule is stated once, as the matrix calculus writes it, and serves every mode: its tangent is
written with operations on the last two axes (``@``, ``np.linalg.solve``, ``np.matrix_transpose``,
sums over ``axis=(-2, -1)``), which broadcast over the leading batch axis of vector mode, so the same
statement is the structural rule and the vector-mode rule; its adjoint is built from operations that
have rules of their own, so second derivatives (forward mode over the gradient) follow. With
``X = out``::

    det:       d det = det tr(A⁻¹ dA)           Ā = ḡ det A⁻ᵀ
    slogdet:   d log|det| = tr(A⁻¹ dA)          Ā = ḡ A⁻ᵀ        (its sign has no derivative)
    inv:       dX = -X dA X                     Ā = -Xᵀ ḡ Xᵀ
    solve:     dX = A⁻¹ (dB - dA X)             B̄ = A⁻ᵀ ḡ,  Ā = -B̄ Xᵀ
    cholesky:  dL = L Φ(L⁻¹ dA L⁻ᵀ)             Ā from S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹

``Φ`` keeps the lower triangle and halves the diagonal. Products with ``A⁻¹`` are solves; only the
gradients of ``det`` and ``slogdet``, which *are* ``A⁻ᵀ`` (times a number), form the inverse. At a
singular matrix the derivative code raises ``LinAlgError`` where it solves with it.

``np.linalg.cholesky`` reads only the lower triangle of its argument: the entries above the diagonal
have derivative 0, and an entry below it moves both mirrored entries of the symmetric matrix the
factor is of. The tangent symmetrises the lower triangle of ``dA``, ``E = Φ(dA) + Φ(dA)ᵀ``; the
adjoint is the transpose of that map, ``Ā = Φ(S + Sᵀ)``.

Matrices are 2-D (``solve``'s right-hand side a vector or a matrix); stacks of matrices, and arguments
whose shapes are not known while compiling where the rule depends on them, are refused.

>>> from s2sad.ir import Var
>>> from s2sad.shapes import Kinds, Kind
>>> kinds = Kinds({"a": Kind((3, 3)), "x": Kind((3, 3))})
>>> inverse = STRUCTURAL["np.linalg.inv"](Var("a"), out=Var("x"), params={}, kinds=kinds)
>>> inverse.tangent([Var("a_dot")]), inverse.adjoints[0](Var("g"))
(-(x @ a_dot @ x), -(x.T @ g @ x.T))
"""

from __future__ import annotations

import numpy as np

from .algebra import apply, total
from .array_rules import RUNTIME, STRUCTURAL, Linear, np_call, runtime_call, transposed
from .arrays import ARRAY_FUNCTIONS, _KEEP_ALIVE, LENGTH, ArrayOp, _op, _primitive
from .errors import NotDifferentiableError
from .ir import Call, Const, Primitive
from .primitives import PRIMITIVES
from .rules import NO_DERIVATIVE
from .runtime_linalg import log_abs_det, slogdet_sign
from .shapes import SHAPE_RULES, Kind
from .second_order_rules import multilinear
from .vector_mode import VECTOR_RULES

_op("linalg.det linalg.inv linalg.cholesky matrix_transpose")
_op("linalg.solve", operands=(2, 2))
_primitive("tri", np.tri)  # the mask of Φ, in derivative code only

# sign, logdet = np.linalg.slogdet(a): one step per result; the sign (±1, or 0) is piecewise constant
# (named np.*: code calling them is NumPy code; printed as the helpers, copied into exported modules)
_SIGN = Primitive("np.linalg.slogdet sign", slogdet_sign, "call", "slogdet_sign", foldable=False)
_LOG_ABS_DET = Primitive(
    "np.linalg.slogdet log", log_abs_det, "call", "log_abs_det", foldable=False
)
PRIMITIVES.update({_SIGN.name: _SIGN, _LOG_ABS_DET.name: _LOG_ABS_DET})
NO_DERIVATIVE.add(_SIGN.name)
multilinear(RUNTIME["plus_transpose"], lambda args: (0,))  # linear: its tangent is itself
_SLOGDET = Primitive(
    "np.linalg.slogdet", np.linalg.slogdet, symbol="linalg.slogdet", module="numpy"
)
ARRAY_FUNCTIONS[id(np.linalg.slogdet)] = ArrayOp(_SLOGDET, parts=(_SIGN, _LOG_ABS_DET))
_KEEP_ALIVE.append(np.linalg.slogdet)


# --- shapes, by rule: stand-in arrays of ones are singular ----------------------------------------


def _float_kind(kind: Kind, shape: tuple) -> Kind:
    return Kind(shape, np.result_type(kind.dtype, np.float64).str)


def _solved_kind(a: Kind, b: Kind) -> Kind:
    """NumPy reads a 1-D ``b`` as one vector, anything else as (a stack of) matrices."""
    if len(b.shape) == 1:
        return _float_kind(b, a.shape[:-1])
    return _float_kind(b, np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:])


SHAPE_RULES["np.linalg.inv"] = SHAPE_RULES["np.linalg.cholesky"] = lambda a: _float_kind(a, a.shape)
SHAPE_RULES["np.linalg.solve"] = _solved_kind


# --- the rules -------------------------------------------------------------------------------------


def stated_once(*names):
    """Register ``fn(*operands, out, kinds, batched)``, returning a :class:`Linear`, as the
    structural rule of each primitive named and (its tangent, ``batched`` true) as its vector-mode
    rule: the tangent's operations act on the last two axes, whatever axes lead."""

    def register(fn):
        for name in names:
            STRUCTURAL[name] = lambda *args, out, params, kinds: fn(
                *args, out=out, kinds=kinds, batched=False
            )
            VECTOR_RULES[name] = lambda *args, out, params, kinds: fn(
                *args, out=out, kinds=kinds, batched=True
            ).tangent
        return fn

    return register


def _ndim(x, kinds, name: str, allowed=(2,)):
    """The number of axes of ``x`` (``None`` where not known while compiling: the generic code,
    which serves matrices); a stack of matrices is refused."""
    kind = kinds.of(x)
    if kind is None:
        return None
    ndim = len(kind.shape) if kind.is_array else 0
    if ndim not in allowed:
        raise NotDifferentiableError(
            f"the derivative of `{name}` of an array of {ndim} axes is not supported: it is "
            "differentiated for single matrices",
            hint="loop over the matrices of the stack, or index them one by one",
        )
    return ndim


def matrix_transpose(x, kinds):
    """``x`` with its last two axes swapped: ``x.T`` for a value known to be a matrix."""
    kind = kinds.of(x)
    if kind is not None and kind.is_array and len(kind.shape) == 2:
        return transposed(x)
    return np_call("matrix_transpose", x)


@stated_once("np.matrix_transpose")
def _(x, out, kinds, batched):
    """Linear, and its own transpose."""
    return Linear(
        lambda dots: np_call("matrix_transpose", dots[0]),
        (lambda g: np_call("matrix_transpose", g),),
    )


def _number_of_matrix(gradient):
    """The rule of a number-valued function of a matrix whose gradient is ``gradient(a, out)``:
    its tangent sums ``gradient * dA`` over the matrix, its adjoint is ``ḡ * gradient``. Where the
    shape is not known while compiling, the numbers get two axes to line up with the matrix."""

    def rule(a, out, kinds, batched):
        known = _ndim(a, kinds, "np.linalg.det") is not None

        def lifted(number):
            return number if known else np_call("expand_dims", number, axis=(-2, -1))

        weights = gradient(a, lifted(out), kinds)

        def tangent(dots):
            products = weights * dots[0]
            if batched or not known:
                return np_call("sum", products, axis=(-2, -1))
            return np_call("sum", products)

        return Linear(tangent, (lambda g: lifted(g) * weights,))

    return rule


def _inverse_transpose(a, kinds):
    return matrix_transpose(np_call("linalg.inv", a), kinds)


stated_once("np.linalg.det")(
    _number_of_matrix(lambda a, det, kinds: det * _inverse_transpose(a, kinds))
)
stated_once(_LOG_ABS_DET.name)(_number_of_matrix(lambda a, _, kinds: _inverse_transpose(a, kinds)))


@stated_once("np.linalg.inv")
def _(a, out, kinds, batched):
    _ndim(a, kinds, "np.linalg.inv")
    x = out

    def tangent(dots):
        return -apply("matmul", apply("matmul", x, dots[0]), x)

    def adjoint(g):
        xt = matrix_transpose(x, kinds)
        return -apply("matmul", apply("matmul", xt, g), xt)

    return Linear(tangent, (adjoint,))


@stated_once("np.linalg.solve")
def _(a, b, out, kinds, batched):
    """``X = A⁻¹ B``. A vector's batched tangent holds one vector per row: it is solved as the
    columns of its transpose. ``Ā = -B̄ Xᵀ`` is the adjoint of ``A`` in ``A @ X`` for the
    adjoint ``B̄``: ``np.outer`` for a vector, and :func:`~s2sad.runtime.matmul_adjoint` where the
    shape of ``b`` is not known while compiling."""
    _ndim(a, kinds, "np.linalg.solve")
    dims = _ndim(b, kinds, "np.linalg.solve", (1, 2))
    x = out

    def tangent(dots):
        da, db = dots
        rest = total(
            ([db] if db is not None else []) + ([-apply("matmul", da, x)] if da is not None else [])
        )
        if dims == 1 and batched:
            return transposed(np_call("linalg.solve", a, transposed(rest)))
        return np_call("linalg.solve", a, rest)

    def b_adjoint(g):
        return np_call("linalg.solve", matrix_transpose(a, kinds), g)

    def a_adjoint(g):
        if dims == 1:
            return -np_call("outer", b_adjoint(g), x)
        if dims == 2:
            return -apply("matmul", b_adjoint(g), transposed(x))
        return -runtime_call("matmul_adjoint", b_adjoint(g), a, x, 0)

    return Linear(tangent, (a_adjoint, b_adjoint))


@stated_once("np.linalg.cholesky")
def _(a, out, kinds, batched):
    """``L = cholesky(A)``, of the lower triangle of ``A`` (see the module's docstring)."""
    known = _ndim(a, kinds, "np.linalg.cholesky") is not None
    low = out
    n = Const(kinds.of(a).shape[-1]) if known else Call(LENGTH, (a,))
    mask = np_call("tri", n) - 0.5 * np_call("eye", n)  # Φ(M) = M * mask

    def tangent(dots):
        symmetric = runtime_call("plus_transpose", dots[0] * mask)
        halfway = np_call("matrix_transpose", np_call("linalg.solve", low, symmetric))
        return apply("matmul", low, np_call("linalg.solve", low, halfway) * mask)

    def adjoint(g):
        lt = matrix_transpose(low, kinds)
        p = apply("matmul", lt, g) * mask
        halfway = matrix_transpose(np_call("linalg.solve", lt, matrix_transpose(p, kinds)), kinds)
        s = np_call("linalg.solve", lt, halfway)
        return runtime_call("plus_transpose", s) * mask

    return Linear(tangent, (adjoint,))
