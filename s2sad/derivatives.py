"""One statement's derivative, in the form both modes use, whatever kind of rule the operation has.

For an operation with partial derivatives ``∂w/∂a`` (:mod:`s2sad.rules`, the elementwise rules of
:mod:`s2sad.array_rules`), forward mode sums ``∂w/∂a · ȧ`` and reverse mode adds ``w̄ · ∂w/∂a`` to
``ā``, summed back to ``a``'s shape where NumPy broadcast ``a``. Operations that move elements
(``@``, ``np.sum``, ``x[i]``) give their tangent and adjoint directly.

>>> from s2sad.ir import Var, Call
>>> from s2sad.primitives import PRIMITIVES
>>> from s2sad.shapes import Kinds
>>> step = derivative(Call(PRIMITIVES["mul"], (Var("a"), Var("b"))), Var("w"), Kinds(arrays=False))
>>> step.tangent([Var("a_dot"), None]), step.adjoints[0](Var("w_bar"))
(b * a_dot, w_bar * b)
"""

from __future__ import annotations

from .algebra import total
from .array_rules import (
    ARRAY_VARIANTS,
    NORM_ORDERS,
    STRUCTURAL,
    Linear,
    concatenates_values,
    norm_order_differentiable,
    np_call,
    runtime_call,
)
from .arrays import NO_DERIVATIVE as ARRAY_NO_DERIVATIVE
from .custom import BY_NAME as CUSTOM_RULES
from .ir import Call
from .rules import NO_DERIVATIVE as SCALAR_NO_DERIVATIVE
from .rules import has_rule, partials
from .second_order_rules import GENERATED_CODE_RULES
from . import einsum_rules, interp_rules, layout_rules, statistics_rules  # noqa: F401
from . import linalg_rules, piecewise_rules, special_rules  # noqa: F401  (they register rules)
from .shapes import Kinds

NO_DERIVATIVE = SCALAR_NO_DERIVATIVE | ARRAY_NO_DERIVATIVE


def dropped_operands(call: Call) -> tuple:
    """``(positions, what, hint)``: the operands of ``call`` that change its value as numbers but
    whose derivative no rule gives, so an active value there is refused rather than given the
    derivative 0. Shapes, sizes, indices, signs and comparisons carry no derivative at all."""
    name = call.prim.name
    if name == "np.arange" and len(call.args) > 1:  # start + i * step; the stop only counts
        return (0, 2), "the start and step of `np.arange`", "write `start + step * np.arange(n)`"
    if name == "np.r_" and not concatenates_values(call):
        what = "the values of `np.r_[...]` or `np.c_[...]` with a slice or a directive"
        return tuple(range(1, len(call.args))), what, "list values only, or use np.concatenate"
    if name == "np.linalg.norm" and not norm_order_differentiable(call):
        what = f"the norms `np.linalg.norm` computes with ord={dict(call.params)['ord']!r}"
        return (0,), what, f"use an order that has one: {NORM_ORDERS}"
    return (), "", ""


def has_derivative(name: str) -> bool:
    return (
        has_rule(name) or name in STRUCTURAL or name in CUSTOM_RULES or name in GENERATED_CODE_RULES
    )


def derivative(call: Call, out, kinds: Kinds) -> Linear:
    """How derivatives pass through ``out = call``."""
    name = call.prim.name
    if name == "select" and not kinds.is_scalar(out):
        name = "array select"
    if name in STRUCTURAL:
        return STRUCTURAL[name](*call.args, out=out, params=dict(call.params), kinds=kinds)
    if name in GENERATED_CODE_RULES:  # helpers of derivative code, differentiated again
        rule = GENERATED_CODE_RULES[name]
        return rule(*call.args, out=out, params=dict(call.params), kinds=kinds)
    arrays = not all(kinds.is_scalar(a) for a in call.args)
    if arrays and name in ARRAY_VARIANTS:
        name = ARRAY_VARIANTS[name]
    slopes = partials(name, call.args, out)

    def tangent(dots):
        terms = [slope * dot for slope, dot in zip(slopes, dots) if dot is not None]
        result = total(terms)
        if arrays and not _full_shape(call, dots, out, kinds):
            return _broadcast(result, out, kinds)
        return result

    adjoints = tuple(
        (lambda g, slope=slope, arg=arg: kinds.reduced(g * slope, arg, out))
        for slope, arg in zip(slopes, call.args)
    )
    return Linear(tangent, adjoints)


def _full_shape(call: Call, dots, out, kinds: Kinds) -> bool:
    """Whether a tangent already has the output's shape: an active argument has it."""
    result = kinds.of(out)
    if result is not None and not result.is_array:
        return True
    for arg, dot in zip(call.args, dots):
        kind = kinds.of(arg)
        if (
            dot is not None
            and kind is not None
            and result is not None
            and kind.shape == result.shape
        ):
            return True
    return False


def _broadcast(tangent, out, kinds: Kinds):
    """A tangent from arguments NumPy broadcast, made the shape of the output it belongs to."""
    result = kinds.of(out)
    if result is not None:
        return np_call("broadcast_to", tangent, kinds.shape(out))
    return runtime_call("broadcast_like", tangent, out)
