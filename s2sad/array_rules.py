"""Derivative rules of the NumPy operations.

Elementwise functions (``np.sin``, ``np.maximum``…) state their partial derivatives, like the math
functions in :mod:`s2sad.rules`, with NumPy functions so they apply to whole arrays. Operations that
move or combine elements (``@``, ``np.sum``, ``x[i]``, ``np.stack``…) state instead how a tangent
passes through them and how an adjoint passes back, as the notes' tip says: "no shape change:
elementwise product; shape change: dot product; transpose when necessary". ``matmul`` shows the form::

    tangent:  w_dot = a_dot @ b + a @ b_dot
    adjoint:  a_bar = w_bar @ b.T,  b_bar = a.T @ w_bar      (for matrices)

>>> from s2sad.ir import Var
>>> from s2sad.shapes import Kinds, Kind
>>> kinds = Kinds({"a": Kind((3, 4), "float64"), "b": Kind((4, 2), "float64")})
>>> rule = STRUCTURAL["matmul"](Var("a"), Var("b"), out=Var("w"), params={}, kinds=kinds)
>>> rule.adjoints[0](Var("g")), rule.adjoints[1](Var("g"))
(g @ b.T, a.T @ g)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from . import runtime
from .algebra import apply, total
from .arrays import CONCATENATE_INDEX, INDEX, SETITEM, TRANSPOSE_ATTR
from .ir import Call, Const, Expr, Primitive, Ref
from .primitives import PRIMITIVES
from .rules import rule

RUNTIME = {
    fn.__name__: Primitive(f"runtime.{fn.__name__}", fn, "call", fn.__name__, foldable=False)
    for fn in runtime.HELPERS
}


def _const(value):
    return value if isinstance(value, Expr) else Const(value)


def np_call(name: str, *args, **params) -> Call:
    """``np.name(*args, **params)`` as an expression (``params`` are constants)."""
    return Call(PRIMITIVES[f"np.{name}"], tuple(_const(a) for a in args), tuple(params.items()))


def runtime_call(name: str, *args, **params) -> Call:
    """A call to a helper of :mod:`s2sad.runtime`."""
    return Call(RUNTIME[name], tuple(_const(a) for a in args), tuple(params.items()))


def where(cond, a, b) -> Call:
    return np_call("where", cond, a, b)


def transposed(x) -> Call:
    return Call(TRANSPOSE_ATTR, (x,), (("attr", "T"),))


# --- elementwise functions: partial derivatives ----------------------------------------------------


def _np(name):
    return lambda *args: np_call(name, *args)


sin, cos, sinh, cosh, exp, log, sqrt, sign = map(
    _np, ("sin", "cos", "sinh", "cosh", "exp", "log", "sqrt", "sign")
)


def _safe_log(x):
    """log(x) where x != 0, and a harmless 0 where it is (the partial multiplying it is 0 there)."""
    return log(where(apply("eq", x, 0), 1.0, x))


rule("np.sin")(lambda x, out: cos(x))
rule("np.cos")(lambda x, out: -sin(x))
rule("np.tan")(lambda x, out: 1 + out**2)
rule("np.arcsin")(lambda x, out: 1 / sqrt((1 - x) * (1 + x)))  # each as its math twin's rule
rule("np.arccos")(lambda x, out: -1 / sqrt((1 - x) * (1 + x)))
rule("np.arctan")(lambda x, out: 1 / (1 + x**2))
rule("np.sinh")(lambda x, out: cosh(x))
rule("np.cosh")(lambda x, out: sinh(x))
rule("np.arcsinh")(lambda x, out: 1 / np_call("hypot", x, 1.0))
rule("np.arctanh")(lambda x, out: 1 / ((1 - x) * (1 + x)))
rule("np.exp")(lambda x, out: out)
rule("np.exp2")(lambda x, out: out * math.log(2))
rule("np.expm1")(lambda x, out: exp(x))
rule("np.log")(lambda x, out: 1 / x)
rule("np.log2")(lambda x, out: 1 / (x * math.log(2)))
rule("np.log10")(lambda x, out: 1 / (x * math.log(10)))
rule("np.log1p")(lambda x, out: 1 / (1 + x))
rule("np.sqrt")(lambda x, out: 0.5 / out)
rule("np.cbrt")(lambda x, out: 1 / (3 * out**2))
rule("np.square")(lambda x, out: 2 * x)
rule("np.reciprocal")(lambda x, out: -(out**2))
rule("np.abs", "np.fabs")(lambda x, out: sign(x))  # abs'(0) = 0, as for the builtin
rule("np.negative")(lambda x, out: -1)
rule("np.positive", "np.copy")(lambda x, out: 1)


@rule("np.astype")
def _(x, dtype, out):
    """1 for a cast to a type with fractions; 0 to an integer or ``bool`` type, whose values are
    piecewise constant in ``x`` (as ``int(x)``). A dtype the code reads when it runs (a value, a
    global or a closure's) decides there."""
    if isinstance(dtype, Const) or isinstance(dtype, Ref) and dtype.origin == "value":
        return 0 if casts_to_integers(dtype) else 1
    return runtime_call("cast_slope", dtype)


rule("np.add")(lambda x, y, out: (1, 1))
rule("np.subtract")(lambda x, y, out: (1, -1))
rule("np.multiply")(lambda x, y, out: (y, x))
rule("np.divide")(lambda x, y, out: (1 / y, -out / y))


@rule("np.tanh")
def _(x, out):
    """As for math.tanh: 1 - tanh(x)**2 for |x| < 1, else 4 t / (1 + t)**2 with t = exp(-2|x|),
    written t (1 + |tanh x|)**2 to compute the exponential once."""
    stable = exp(-2 * np_call("abs", x)) * (1 + np_call("abs", out)) ** 2
    return where(apply("lt", np_call("abs", x), 1.0), 1 - out**2, stable)


@rule("np.arctan2")
def _(y, x, out):
    r = np_call("hypot", y, x)
    return x / r / r, -y / r / r


@rule("np.logaddexp")
def _(x, y, out):
    """log(exp(x) + exp(y)): the softmax weights exp(x - out) and exp(y - out), which never overflow
    since out >= max(x, y)."""
    return np_call("exp", x - out), np_call("exp", y - out)


@rule("np.logaddexp2")
def _(x, y, out):
    """log2(2**x + 2**y): the weights 2**(x - out) and 2**(y - out), as for logaddexp."""
    return np_call("exp2", x - out), np_call("exp2", y - out)


@rule("np.where")
def _(cond, x, y, out):
    """Routes the adjoint to the argument each element was taken from."""
    return 0, where(cond, 1.0, 0.0), where(cond, 0.0, 1.0)


@rule("np.power", "array pow")
def _(x, y, out):
    """As ``**``, with the ``y`` partial 0 where x == 0, elementwise."""
    return y * x ** (y - 1), where(apply("eq", x, 0), 0.0, out * _safe_log(x))


@rule("array abs")
def _(x, out):
    return sign(x)


@rule("np.maximum", "np.fmax")
def _(x, y, out):
    """On a tie the first argument takes the adjoint, as for the builtin ``max``."""
    first = where(apply("ge", x, y), 1.0, 0.0)
    return first, 1 - first


@rule("np.minimum", "np.fmin")
def _(x, y, out):
    first = where(apply("le", x, y), 1.0, 0.0)
    return first, 1 - first


@rule("np.hypot")
def _(x, y, out):
    """Partials 0 at the origin, as for ``math.hypot``."""
    safe = where(apply("eq", out, 0), 1.0, out)
    return x / safe, y / safe


@rule("np.clip")
def _(x, low, high, out):
    """1 inside [low, high]; outside, the bound that was taken gets the adjoint."""
    below, above = where(apply("lt", x, low), 1.0, 0.0), where(apply("gt", x, high), 1.0, 0.0)
    return 1 - below - above, below, above


# Builtin operators whose scalar rule branches with `if`: on arrays they use these.
ARRAY_VARIANTS = {"pow": "array pow", "abs": "array abs"}


# --- operations that move or combine elements: tangent and adjoint ---------------------------------


@dataclass
class Linear:
    """How derivatives pass through one operation: ``tangent(dots)`` is the output's tangent from
    the arguments' tangents (``None`` for an inactive one); ``adjoints[i](w_bar)`` is argument
    ``i``'s part of its adjoint (``None`` for an argument with no derivative)."""

    tangent: Callable
    adjoints: tuple


STRUCTURAL: dict = {}


def structural(*names):
    def register(fn):
        for name in names:
            STRUCTURAL[name] = fn
        return fn

    return register


def _zero_or(dot, like):
    return dot if dot is not None else np_call("zeros_like", like)


@structural("matmul", "np.matmul")
def _(a, b, out, params, kinds):
    ka, kb = kinds.of(a), kinds.of(b)
    dims = (len(ka.shape), len(kb.shape)) if ka and kb and ka.is_array and kb.is_array else None

    def tangent(dots):
        da, db = dots
        terms = []
        if da is not None:
            terms.append(apply("matmul", da, b))
        if db is not None:
            terms.append(apply("matmul", a, db))
        return total(terms)

    if dims == (2, 2):
        adjoints = (
            lambda g: apply("matmul", g, transposed(b)),
            lambda g: apply("matmul", transposed(a), g),
        )
    elif dims == (1, 2):
        adjoints = (lambda g: apply("matmul", b, g), lambda g: np_call("outer", a, g))
    elif dims == (2, 1):
        adjoints = (lambda g: np_call("outer", g, b), lambda g: apply("matmul", transposed(a), g))
    elif dims == (1, 1):
        adjoints = (lambda g: g * b, lambda g: g * a)
    else:
        adjoints = (
            lambda g: runtime_call("matmul_adjoint", g, a, b, 0),
            lambda g: runtime_call("matmul_adjoint", g, a, b, 1),
        )
    return Linear(tangent, adjoints)


@structural("np.dot")
def _(a, b, out, params, kinds):
    """``np.dot`` is ``@`` for vectors and matrices. For a number it is a product, and for arrays of
    more axes a sum over the last axis of ``a`` and the second-to-last of ``b``, which ``@`` does
    not compute: there both sides use ``np.dot`` itself and :func:`~s2sad.runtime.dot_adjoint`."""
    if dot_is_matmul(a, b, kinds):
        return STRUCTURAL["matmul"](a, b, out=out, params=params, kinds=kinds)
    return Linear(
        lambda dots: total(
            ([np_call("dot", dots[0], b)] if dots[0] is not None else [])
            + ([np_call("dot", a, dots[1])] if dots[1] is not None else [])
        ),
        (
            lambda g: runtime_call("dot_adjoint", g, a, b, 0),
            lambda g: runtime_call("dot_adjoint", g, a, b, 1),
        ),
    )


def dot_is_matmul(a, b, kinds) -> bool:
    """Whether ``np.dot(a, b)`` is ``a @ b``: both are known to be vectors or matrices."""
    ka, kb = kinds.of(a), kinds.of(b)
    return bool(
        ka and kb and ka.is_array and kb.is_array and {len(ka.shape), len(kb.shape)} <= {1, 2}
    )


@structural("np.outer")
def _(a, b, out, params, kinds):
    def tangent(dots):
        da, db = dots
        return total(
            ([np_call("outer", da, b)] if da is not None else [])
            + ([np_call("outer", a, db)] if db is not None else [])
        )

    return Linear(
        tangent,
        (
            lambda g: np_call("reshape", apply("matmul", g, np_call("ravel", b)), kinds.shape(a)),
            lambda g: np_call(
                "reshape", apply("matmul", transposed(g), np_call("ravel", a)), kinds.shape(b)
            ),
        ),
    )


@structural("np.inner")
def _(a, b, out, params, kinds):
    """``inner(a, b)`` sums over the last axis of both; the adjoints contract the rest."""

    def tangent(dots):
        da, db = dots
        return total(
            ([np_call("inner", da, b)] if da is not None else [])
            + ([np_call("inner", a, db)] if db is not None else [])
        )

    return Linear(
        tangent,
        (
            lambda g: runtime_call("inner_adjoint", g, a, b, 0),
            lambda g: runtime_call("inner_adjoint", g, a, b, 1),
        ),
    )


@structural("np.T", "np.transpose")
def _(x, out, params, kinds):
    axes = params.get("axes")
    if axes is None:
        return Linear(lambda dots: transposed(dots[0]), (lambda g: transposed(g),))
    inverse = tuple(sorted(range(len(axes)), key=lambda i: axes[i]))
    return Linear(
        lambda dots: np_call("transpose", dots[0], axes=tuple(axes)),
        (lambda g: np_call("transpose", g, axes=inverse),),
    )


@structural("np.reshape", "np.ravel", "np.squeeze", "np.expand_dims")
def _(x, *shape, out, params, kinds):
    """Elements keep their order: the adjoint is reshaped back."""
    return Linear(
        lambda dots: np_call("reshape", dots[0], kinds.shape(out)),
        (lambda g: np_call("reshape", g, kinds.shape(x)),) + (None,) * len(shape),
    )


def reduced_count(x, out, kinds):
    """How many elements of ``x`` a reduction to ``out`` combines into each of its elements."""
    kx, ko = kinds.of(x), kinds.of(out)
    if kx and kx.is_array and ko:
        return Const(math.prod(kx.shape) // max(1, math.prod(ko.shape or ())))
    return apply("truediv", np_call("size", x), np_call("size", out))


def reduction_back(g, x, params, kinds):
    """``g``, a reduction's adjoint, broadcast back along the axes it reduced: ``x``'s shape."""
    axis, keepdims = params.get("axis"), params.get("keepdims", False)
    if axis is not None and not keepdims:
        g = np_call("expand_dims", g, axis=axis)
    return np_call("broadcast_to", g, kinds.shape(x))


@structural("np.sum")
def _(x, out, params, kinds):
    return Linear(
        lambda dots: np_call("sum", dots[0], **params),
        (lambda g: reduction_back(g, x, params, kinds),),
    )


@structural("np.mean")
def _(x, out, params, kinds):
    count = reduced_count(x, out, kinds)
    return Linear(
        lambda dots: np_call("mean", dots[0], **params),
        (lambda g: reduction_back(g / count, x, params, kinds),),
    )


def _reduction_params(params):
    return params.get("axis"), params.get("keepdims", False)


@structural("np.prod")
def _(x, out, params, kinds):
    axis, keepdims = _reduction_params(params)

    def adjoint(g):
        return runtime_call("prod_adjoint", g, x, axis, keepdims)

    return Linear(
        lambda dots: np_call(
            "sum", apply("mul", adjoint(np_call("ones_like", out)), dots[0]), **params
        ),
        (adjoint,),
    )


@structural("np.max", "np.min", "np.amax", "np.amin")
def _(x, out, params, kinds):
    axis, keepdims = _reduction_params(params)
    return Linear(
        lambda dots: runtime_call("extreme_tangent", dots[0], x, out, axis, keepdims),
        (lambda g: runtime_call("extreme_adjoint", g, x, out, axis, keepdims),),
    )


@structural("np.linalg.norm")
def _(x, out, params, kinds):
    """The helpers take ``ord`` as the code reads it (a module global is read when it runs), and
    choose the gradient of that norm: see :func:`~s2sad.runtime.norm_gradient`."""
    axis, keepdims = _reduction_params(params)
    order = params.get("ord")
    return Linear(
        lambda dots: runtime_call("norm_tangent", dots[0], x, out, order, axis, keepdims),
        (lambda g: runtime_call("norm_adjoint", g, x, out, order, axis, keepdims),),
    )


NORM_ORDERS = "None, 'fro', 'nuc', 1, -1, 2, -2, inf, -inf, and for vectors any p >= 1"


def norm_order_differentiable(call: Call) -> bool:
    """Whether ``np.linalg.norm`` with this ``ord`` has a derivative (a name, as a module global,
    is checked when the derivative runs)."""
    order = dict(call.params).get("ord")
    if isinstance(order, Expr) or order in (None, "fro", "nuc", -1, -2, -math.inf):
        return True
    return isinstance(order, (int, float)) and not isinstance(order, bool) and order >= 1


@structural("np.getitem")
def _(x, *values, out, params, kinds):
    return Linear(
        lambda dots: Call(INDEX, (dots[0], *values), tuple(params.items())),
        (lambda g: runtime_call("index_adjoint", g, x, *values, **params),) + (None,) * len(values),
    )


@structural("np.setitem")
def _(array, value, *values, out, params, kinds):
    def tangent(dots):
        darray, dvalue = dots[0], dots[1]
        return Call(
            SETITEM,
            (_zero_or(darray, array), dvalue if dvalue is not None else Const(0.0), *values),
            tuple(params.items()),
        )

    def value_adjoint(g):
        if _may_repeat(values, kinds):  # only the value written last to a place counts
            part = runtime_call("written_adjoint", g, *values, **params)
        else:
            part = Call(INDEX, (g, *values), tuple(params.items()))
        return kinds.reduced(part, value, None)

    return Linear(
        tangent,
        (lambda g: Call(SETITEM, (g, Const(0.0), *values), tuple(params.items())), value_adjoint)
        + (None,) * len(values),
    )


def _may_repeat(values, kinds) -> bool:
    """Whether an index may name a place twice: it has an integer array (or a value whose kind is
    not known); numbers, slices and boolean masks name each place once."""
    for value in values:
        kind = kinds.of(value)
        if kind is None or kind.is_array and kind.dtype not in ("bool", "|b1"):
            return True
    return False


@structural("array select")
def _(cond, then, other, out, params, kinds):
    """``then if cond else other`` where the values are arrays: the branch not taken gets zeros of
    its shape, not a plain 0, so later array operations see an array. A branch that is a number
    (the ``0.0`` a gradient program writes for an array's zero adjoint on one path) gets zeros of
    the result's shape where that is known, as the code compiled for those shapes expects."""
    result = kinds.of(out)

    def zero(dot, branch):
        if dot is not None:
            return dot
        if kinds.is_scalar(branch) and result is not None and result.is_array:
            return np_call("zeros", Const(result.shape))
        return np_call("zeros_like", branch)

    def tangent(dots):
        return apply("select", cond, zero(dots[1], then), zero(dots[2], other))

    def no_adjoint(branch, g):
        """The adjoint of the branch not taken: zeros of that branch's shape, which differs from the
        result's where a name is rebound to an array of another shape on one path only
        (``X = np.hstack([X, ones])`` under an ``if``)."""
        kind = kinds.of(branch)
        if kind is not None and kind.is_array and (result is None or kind.shape != result.shape):
            return np_call("zeros", Const(kind.shape))
        return np_call("zeros_like", g)

    return Linear(
        tangent,
        (
            None,
            lambda g: apply("select", cond, g, no_adjoint(then, g)),
            lambda g: apply("select", cond, no_adjoint(other, g), g),
        ),
    )


def casts_to_integers(dtype) -> bool:
    """Whether ``dtype`` (a ``dtype=`` parameter or operand) makes the values integers or
    booleans: piecewise constant, so their derivative is 0, as for ``int(x)`` and ``astype``."""
    known = (
        dtype.obj if isinstance(dtype, Ref) else dtype.value if isinstance(dtype, Const) else dtype
    )
    if known is None:
        return False
    try:
        return not np.issubdtype(np.dtype(known), np.inexact)
    except TypeError:  # not a dtype: NumPy refuses it when the function runs
        return False


def _constant_values(count: int) -> Linear:
    """No tangent and no adjoints: the values are integers whatever the operands are."""
    return Linear(lambda dots: None, (None,) * count)


def _pieces(name):
    @structural(name)
    def _(*operands, out, params, kinds):
        axis = params.get("axis", 0)
        if casts_to_integers(params.get("dtype")):
            return _constant_values(len(operands))

        def tangent(dots):  # a tangent of the values' precision, whatever their dtype
            pieces = tuple(_zero_or(d, a) for d, a in zip(dots, operands))
            kept = tuple((k, v) for k, v in params.items() if k != "dtype")
            return Call(PRIMITIVES[name], pieces, kept)

        if name == "np.concatenate":
            adjoints = tuple(
                (lambda g, k=k: runtime_call("concatenate_adjoint", g, k, axis, *operands))
                for k in range(len(operands))
            )
        else:
            adjoints = tuple(
                (lambda g, k=k, a=a: kinds.reduced(np_call("take", g, k, axis=axis), a, None))
                for k, a in enumerate(operands)
            )
        return Linear(tangent, adjoints)


for _name in ("np.concatenate", "np.stack", "np.array"):
    _pieces(_name)


def concatenates_values(call: Call) -> bool:
    """Whether ``np.r_[...]`` (``np.c_``) is given values only: no slices (ranges) or directives."""
    layout = dict(call.params)["index"]
    strings = any(isinstance(a, Const) and isinstance(a.value, str) for a in call.args[1:])
    return all(item == "value" for item in layout) and not strings


@structural("np.r_")
def _(base, *pieces, out, params, kinds):
    """``np.r_[a, b]`` and ``np.c_[a, b]`` put each piece's elements in a block of the result: the
    tangent concatenates the pieces' tangents alike; a piece's adjoint is its block, found where
    the concatenation of ones for that piece and zeros for the others is not 0."""

    def concatenated(parts):
        return Call(CONCATENATE_INDEX, (base, *parts), tuple(params.items()))

    def adjoint(g, k):
        marks = [np_call("ones_like" if j == k else "zeros_like", a) for j, a in enumerate(pieces)]
        block = Call(INDEX, (g, apply("ne", concatenated(marks), 0)), (("index", ("value",)),))
        if kinds.is_scalar(pieces[k]):
            return np_call("sum", block)
        return np_call("reshape", block, kinds.shape(pieces[k]))

    return Linear(
        lambda dots: concatenated([_zero_or(d, a) for d, a in zip(dots[1:], pieces)]),
        (None,) + tuple((lambda g, k=k: adjoint(g, k)) for k in range(len(pieces))),
    )


# --- creators whose elements are their arguments' values ------------------------------------------


@structural("np.full", "np.full_like")
def _(like, fill, *dtype, out, params, kinds):
    """Every element is the fill value (broadcast to the shape): the tangent is filled with its
    tangent and the adjoint sums back to it. The shape, or the array giving it, has none."""
    if casts_to_integers(params.get("dtype", dtype[0] if dtype else None)):
        return _constant_values(2 + len(dtype))

    def tangent(dots):  # none where only the shape's operand is active
        return np_call("full", kinds.shape(out), dots[1]) if dots[1] is not None else None

    return Linear(tangent, (None, lambda g: kinds.reduced(g, fill, out)) + (None,) * len(dtype))


@structural("np.linspace")
def _(start, stop, *num, out, params, kinds):
    """``start + (stop - start) * t`` with ``t = i / (num - 1)`` (``i / num`` without the end
    point), linear in both end points: the tangent is the ``linspace`` of their tangents, and each
    element's adjoint goes to ``start`` weighed by ``1 - t`` and to ``stop`` by ``t`` (those
    weights are themselves a ``linspace``, from 1 to 0 and from 0 to 1)."""
    if casts_to_integers(params.get("dtype")):
        return _constant_values(2 + len(num))
    spacing = {k: v for k, v in params.items() if k in ("num", "endpoint")}
    scalars = kinds.is_scalar(start) and kinds.is_scalar(stop)
    result = kinds.of(out)
    element = replace(result, shape=result.shape[1:]) if result and result.is_array else None

    def weights(falling: bool):
        """Each element's partial: ``1 - t`` (falling, for ``start``) or ``t`` (for ``stop``)."""
        if scalars:
            ends = (Const(1.0), Const(0.0))
        else:  # an element has the broadcast shape of the end points
            like = apply("add", start, stop)
            ends = (np_call("ones_like", like), np_call("zeros_like", like))
        first, last = ends if falling else ends[::-1]
        return np_call("linspace", first, last, *num, **spacing)

    def adjoint(g, falling: bool, end):
        if scalars:
            return np_call("sum", g * weights(falling))
        return kinds.reduced(np_call("sum", g * weights(falling), axis=0), end, element)

    def tangent(dots):  # none where only the number of elements is active
        if dots[0] is None and dots[1] is None:
            return None
        ends = _zero_or(dots[0], start), _zero_or(dots[1], stop)
        return np_call("linspace", *ends, *num, **spacing)

    adjoints = (lambda g: adjoint(g, True, start), lambda g: adjoint(g, False, stop))
    return Linear(tangent, adjoints + (None,) * len(num))
