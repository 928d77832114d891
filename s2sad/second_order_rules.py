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
from .array_rules import RUNTIME, Linear, np_call
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
    returns; ``extra(args, dots, kinds)`` gives further terms (for an operand it is not linear in).
    """

    def rule(*args, out, params, kinds):
        def tangent(dots):
            terms = [
                Call(prim, _swap(args, i, dots[i]), tuple(params.items()))
                for i in linear(args)
                if dots[i] is not None
            ]
            if extra is not None:
                terms += extra(args, dots, kinds)
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
    "derivative_like",
    "real_number",
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


def _norm_operand_term(args, dots, kinds):
    """``norm_adjoint(g, x, n, ord, …)`` is ``g`` times the norm's gradient at ``x``, not linear in
    ``x``: its tangent along ``ẋ`` (which moves ``n`` too) is a helper of its own. Those of the
    norms made of singular values are refused."""
    g, x, out, order, axis, keepdims = args
    if dots[1] is None:
        return []
    _refuse_singular_values(x, order, axis, kinds)
    return [Call(RUNTIME["norm_adjoint_tangent"], (g, x, dots[1], out, order, axis, keepdims))]


def _norm_tangent_operand_term(args, dots, kinds):
    """``norm_tangent(t, x, n, …)`` sums ``t`` times the gradient: along ``ẋ`` it sums ``t`` times
    the gradient's tangent."""
    t, x, out, order, axis, keepdims = args
    if dots[1] is None:
        return []
    _refuse_singular_values(x, order, axis, kinds)
    ones = np_call("ones_like", out)
    change = Call(RUNTIME["norm_adjoint_tangent"], (ones, x, dots[1], out, order, axis, keepdims))
    summed = {"axis": _static(axis), "keepdims": _static(keepdims)}
    return [np_call("sum", apply("mul", t, change), **summed)]


def _refuse_singular_values(x, order, axis, kinds) -> None:
    """Second derivatives of the nuclear and spectral norms of a matrix are not supported: refused
    here where the order is a constant (and the array known to be a matrix), else by the helper."""
    order, axis = _static(order), _static(axis)
    kind = kinds.of(x)
    matrix = (isinstance(axis, tuple) and len(axis) == 2) or (
        axis is None and kind is not None and kind.is_array and len(kind.shape) == 2
    )
    if order in ("nuc", -2) or (order == 2 and matrix):
        raise NotDifferentiableError(
            f"second derivatives of np.linalg.norm(x, {order!r}) of a matrix are not supported",
            hint="use the Frobenius norm (ord=None), or the gradient alone",
        )


def _static(arg):
    """A helper's constant argument as a keyword of a NumPy call (a name stays a name)."""
    return arg.value if isinstance(arg, Const) else arg


multilinear(RUNTIME["norm_adjoint"], _first, _norm_operand_term)
multilinear(RUNTIME["norm_tangent"], _first, _norm_tangent_operand_term)
multilinear(RUNTIME["written_adjoint"], _first)
multilinear(RUNTIME["cast_slope"], lambda args: ())
multilinear(RUNTIME["dot_adjoint"], _operand)


def _prod_operand_term(args, dots, kinds):
    """``prod_adjoint(g, x, …)`` is not linear in ``x``: its tangent along ``ẋ`` is a helper of its own."""
    if dots[1] is None:
        return []
    g, x, axis, keepdims = args
    return [Call(RUNTIME["prod_adjoint_tangent"], (g, x, dots[1], axis, keepdims))]


multilinear(RUNTIME["prod_adjoint"], _first, _prod_operand_term)

# 1.0 once the output is checked to be one number: constant, so its tangent is zero.
multilinear(RUNTIME["scalar_seed"], lambda args: ())
# Zeros shaped like a value: constant, so their tangent is zero.
multilinear(RUNTIME["zero_like"], lambda args: ())
