"""Derivative rules of ``np.var``, ``np.std``, ``np.average`` and ``np.cumprod``.

The first three are reductions whose tangent is ``Σ ∂w/∂x · ẋ`` over the reduced axes and whose
adjoint is ``w̄`` broadcast back times ``∂w/∂x``; the partial is stated once, shaped like ``x``, and
serves forward, reverse and vector mode alike. With ``m`` the mean over the axes, ``n`` the number
of elements each result combines and ``d`` the ``ddof``:

- ``var``: ``∂w/∂x = 2 (x - m) / (n - d)``;
- ``std``: ``∂w/∂x = (x - m) / ((n - d) w)``, and 0 where ``w`` is 0 (every element equal: the
  derivative of least magnitude, as ``abs'(0) = 0``);
- ``average`` with weights ``v`` summing to ``s``: ``∂w/∂x = v / s`` and ``∂w/∂v = (x - w) / s``.

They are written with NumPy operations that have rules of their own, so second derivatives follow.
``np.cumprod`` runs a recurrence along its axis (:mod:`s2sad.runtime_cumprod`), exact where the
elements are 0.

>>> from s2sad.ir import Var
>>> from s2sad.shapes import Kinds, Kind
>>> kinds = Kinds({"x": Kind((3, 4)), "w": Kind((4,))})
>>> rule = STRUCTURAL["np.var"](Var("x"), out=Var("w"), params={"axis": 0}, kinds=kinds)
>>> rule.tangent([Var("t")])
np.sum((x - np.mean(x, axis=0, keepdims=True)) * 0.6666666666666666 * t, axis=0)
"""

from __future__ import annotations

from .algebra import apply, total
from .array_rules import (
    RUNTIME,
    STRUCTURAL,
    Linear,
    np_call,
    reduced_count,
    reduction_back,
    runtime_call,
    where,
)
from .ir import Call, Const, Expr
from .second_order_rules import multilinear
from .vector_mode import VECTOR_RULES, _shifted_axes


def _kept(value, params):
    """A reduction's result with its reduced axes kept (of length 1), to broadcast against ``x``."""
    axis, keepdims = params.get("axis"), params.get("keepdims", False)
    return np_call("expand_dims", value, axis=axis) if axis is not None and not keepdims else value


def _spread(x, out, params, kinds, name):
    """``∂w/∂x`` of ``np.var`` or ``np.std``, shaped like ``x``."""
    ddof = params.get("ddof", 0)
    ddof = ddof if isinstance(ddof, Expr) else Const(ddof)
    centred = x - np_call("mean", x, axis=params.get("axis"), keepdims=True)
    dof = reduced_count(x, out, kinds) - ddof
    if name == "np.var":
        return centred * (2 / dof)
    safe = where(apply("eq", out, 0), 1.0, out)
    return centred / (dof * _kept(safe, params))


def _reduce(terms, params, axis):
    kept = {"keepdims": True} if params.get("keepdims", False) else {}
    return np_call("sum", terms, axis=axis, **kept)


def _spread_rule(x, out, params, kinds, name=""):
    slope = _spread(x, out, params, kinds, name)
    return Linear(
        lambda dots: _reduce(slope * dots[0], params, params.get("axis")),
        (lambda g: reduction_back(g, x, params, kinds) * slope,),
    )


def _spread_vector(x, out, params, kinds, name=""):
    slope = _spread(x, out, params, kinds, name)
    return lambda dots: _reduce(slope * dots[0], params, _shifted_axes(x, params, kinds))


for _name in ("np.var", "np.std"):
    STRUCTURAL[_name] = lambda *a, name=_name, **k: _spread_rule(*a, name=name, **k)
    VECTOR_RULES[_name] = lambda *a, name=_name, **k: _spread_vector(*a, name=name, **k)


# --- np.average --------------------------------------------------------------------------------


class _Weights:
    """The weights of ``np.average(x, axis, weights=v)`` as NumPy broadcasts them against ``x``
    (a vector along ``axis`` gets axes of length 1), their sum ``s`` over the axes (kept), and
    ``x - w``, the deviation the weights' partial is made of."""

    def __init__(self, x, v, out, params, kinds):
        self.x, self.v, self.params, self.kinds = x, v, params, kinds
        self.broadcast = self.like(v)
        self.sum = np_call("sum", self.broadcast, axis=params.get("axis"), keepdims=True)
        self.deviation = x - _kept(out, params)

    def like(self, value, batch=()):
        """``value`` (the weights or a tangent of them, with the ``batch`` axes in front) shaped to
        broadcast against ``x``."""
        kx, kv = self.kinds.of(self.x), self.kinds.of(self.v)
        if not (kx and kv and kx.is_array and kv.is_array):
            return runtime_call("weights_like", value, self.x, self.params.get("axis"))
        if kx.shape == kv.shape:  # a batched tangent of them broadcasts as they do
            return value
        shape = [1] * len(kx.shape)
        shape[self.params["axis"] % len(kx.shape)] = kv.shape[0]
        return np_call("reshape", value, tuple(batch) + tuple(shape))

    def weights_adjoint(self, g):
        """``w̄ (x - w) / s``, summed back to the weights' shape."""
        term = reduction_back(g, self.x, self.params, self.kinds) * self.deviation / self.sum
        kx, kv = self.kinds.of(self.x), self.kinds.of(self.v)
        if kx and kv and kx.is_array and kv.is_array:
            if kx.shape == kv.shape:
                return term
            axis = self.params["axis"] % len(kx.shape)
            return np_call("sum", term, axis=tuple(a for a in range(len(kx.shape)) if a != axis))
        reduced = runtime_call("unbroadcast", term, self.broadcast)
        return np_call("reshape", reduced, self.kinds.shape(self.v))

    def tangent_terms(self, dots, batch=()):
        dx, dv = dots
        terms = [] if dx is None else [dx * self.broadcast]
        if dv is not None:
            terms.append(self.like(dv, batch) * self.deviation)
        return total(terms) / self.sum


def _unweighted(params):
    return {k: v for k, v in params.items() if k in ("axis", "keepdims")}


def _average_rule(x, v, out, params, kinds):
    if v == Const(None):  # the mean
        mean = STRUCTURAL["np.mean"](x, out=out, params=_unweighted(params), kinds=kinds)
        return Linear(lambda dots: mean.tangent(dots[:1]), mean.adjoints + (None,))
    weights = _Weights(x, v, out, params, kinds)
    return Linear(
        lambda dots: _reduce(weights.tangent_terms(dots), params, params.get("axis")),
        (
            lambda g: reduction_back(g, x, params, kinds) * weights.broadcast / weights.sum,
            weights.weights_adjoint,
        ),
    )


def _average_vector(x, v, out, params, kinds):
    axes = _shifted_axes(x, params, kinds)
    if v == Const(None):
        return lambda dots: np_call(
            "mean", dots[0], axis=axes, keepdims=params.get("keepdims", False)
        )
    weights = _Weights(x, v, out, params, kinds)
    batch = (kinds.size,)
    return lambda dots: _reduce(weights.tangent_terms(dots, batch), params, axes)


STRUCTURAL["np.average"] = _average_rule
VECTOR_RULES["np.average"] = _average_vector


# --- np.cumprod ----------------------------------------------------------------------------------


def _cumprod_rule(x, out, params, kinds):
    axis = params.get("axis")
    return Linear(
        lambda dots: runtime_call("cumprod_tangent", dots[0], x, axis),
        (lambda g: runtime_call("cumprod_adjoint", g, x, axis),),
    )


def _cumprod_vector(x, out, params, kinds):
    return lambda dots: runtime_call("cumprod_tangent", dots[0], x, params.get("axis"))


STRUCTURAL["np.cumprod"] = _cumprod_rule
VECTOR_RULES["np.cumprod"] = _cumprod_vector


def _cumprod_adjoint_term(args, dots, kinds):
    """``cumprod_adjoint(g, x, axis)`` is linear in ``g`` only: along ``ẋ`` it changes by a helper
    of its own."""
    g, x, axis = args
    if dots[1] is None:
        return []
    return [Call(RUNTIME["cumprod_adjoint_tangent"], (g, x, dots[1], axis))]


multilinear(RUNTIME["cumprod_adjoint"], lambda args: (0,), _cumprod_adjoint_term)
