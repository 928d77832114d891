"""Tangent rules of the operations only derivative code calls, for differentiating it again.

A second derivative (:mod:`s2sad.higher`) runs forward mode over a gradient program, which calls the
helpers of :mod:`s2sad.runtime` and a few NumPy functions that user code does not (``np.broadcast_to``,
``np.take``). Each is *multilinear*: linear in the adjoint or tangent it carries, and in the primal
operand an adjoint is multiplied by, while its other arguments only say which shape to give the result.
Its tangent is therefore the sum, over those linear arguments, of the same call with that argument
replaced by its tangent: ``matmul_adjoint(g, a, b, 0) = g @ b.T`` has tangent
``matmul_adjoint(ġ, a, b, 0) + matmul_adjoint(g, a, ḃ, 0)``, the product rule.

Reverse mode never transforms generated code, so these rules give tangents only. They sit beside the
structural rules of :mod:`s2sad.array_rules` in the same form, and :mod:`s2sad.derivatives` consults both.

>>> from s2sad.ir import Var
>>> from s2sad.array_rules import runtime_call
>>> from s2sad.derivatives import derivative
>>> from s2sad.shapes import Kinds
>>> call = runtime_call("matmul_adjoint", Var("g"), Var("a"), Var("b"), 0)
>>> derivative(call, Var("w"), Kinds()).tangent([Var("g_dot"), Var("a_dot"), Var("b_dot"), None])
matmul_adjoint(g_dot, a, b, 0) + matmul_adjoint(g, a, b_dot, 0)
"""

from __future__ import annotations

from .algebra import apply, total
from .array_rules import RUNTIME, Linear
from .errors import NotDifferentiableError
from .ir import Call, Const
from .primitives import PRIMITIVES


def _forward_only(_):
    raise NotDifferentiableError(
        "reverse mode over generated derivative code is not supported",
        hint="second derivatives are computed by forward mode over the gradient (s2sad.hvp)",
    )


def _swap(call_args: tuple, position: int, new) -> tuple:
    return call_args[:position] + (new,) + call_args[position + 1 :]


GENERATED_CODE_RULES: dict = {}  # primitive name -> rule, as array_rules.STRUCTURAL


def multilinear(prim, linear, extra=None):
    """Register the tangent rule of ``prim``: linear in the argument positions ``linear(args)``
    returns; ``extra(args, dots, params)`` gives further terms (for a division by the output)."""

    def rule(*args, out, params, kinds):
        def tangent(dots):
            terms = [
                Call(prim, _swap(args, i, dots[i]), tuple(params.items()))
                for i in linear(args)
                if dots[i] is not None
            ]
            if extra is not None:
                terms += extra(args, dots, params)
            return total(terms)

        return Linear(tangent, (_forward_only,) * len(args))

    GENERATED_CODE_RULES[prim.name] = rule


def _first(args):
    return (0,)


def _operand(args):
    """The adjoint and the operand it is multiplied by: ``b`` for side 0 (``g @ b.T``), else ``a``."""
    side = args[3].value if isinstance(args[3], Const) else None
    if side not in (0, 1):
        raise NotDifferentiableError("a matrix product adjoint with an unknown side")
    return (0, 2) if side == 0 else (0, 1)


# Linear in the adjoint (or tangent) they carry; the other arguments give shapes, positions, or
# (for max and min) which element is picked, which does not change under a small perturbation.
for _name in (
    "conform",
    "unbroadcast",
    "broadcast_like",
    "index_adjoint",
    "reduction_adjoint",
    "concatenate_adjoint",
    "extreme_adjoint",
    "extreme_tangent",
):
    multilinear(RUNTIME[_name], _first)
multilinear(PRIMITIVES["np.broadcast_to"], _first)
multilinear(PRIMITIVES["np.take"], _first)

# The adjoints of products: linear in the adjoint and in the other operand.
multilinear(RUNTIME["matmul_adjoint"], _operand)
multilinear(RUNTIME["inner_adjoint"], _operand)


def _norm_out_term(args, dots, params):
    """``norm_adjoint(g, x, n) = g · x / n`` (g and n broadcast back along the reduced axes): the
    tangent of ``1 / n`` adds ``-norm_adjoint(g · ṅ / n, x, n)``."""
    g, x, out = args[:3]
    if dots[2] is None:
        return []
    scaled = apply("truediv", apply("mul", g, dots[2]), out)
    return [-Call(RUNTIME["norm_adjoint"], (scaled,) + args[1:], tuple(params.items()))]


def _norm_tangent_out_term(args, dots, params):
    """``norm_tangent(t, x, n) = Σ t · x / n``: the tangent of ``1 / n`` adds ``-(Σ t · x / n) ṅ / n``."""
    if dots[2] is None:
        return []
    call = Call(RUNTIME["norm_tangent"], args, tuple(params.items()))
    return [-apply("truediv", apply("mul", call, dots[2]), args[2])]


multilinear(RUNTIME["norm_adjoint"], lambda args: (0, 1), _norm_out_term)
multilinear(RUNTIME["norm_tangent"], lambda args: (0, 1), _norm_tangent_out_term)


def _prod_operand_term(args, dots, params):
    """``prod_adjoint(g, x, …)`` is not linear in ``x``: its tangent along ``ẋ`` is a helper of its own."""
    if dots[1] is None:
        return []
    g, x, axis, keepdims = args
    return [Call(RUNTIME["prod_adjoint_tangent"], (g, x, dots[1], axis, keepdims))]


multilinear(RUNTIME["prod_adjoint"], _first, _prod_operand_term)

# 1.0 once the output is checked to be one number: constant, so its tangent is zero.
multilinear(RUNTIME["scalar_seed"], lambda args: ())
