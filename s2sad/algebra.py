"""Smart constructors: build an expression and simplify it on the way.

Every expression the derivative transforms create goes through :func:`apply`, so generated code never
contains ``+ 0``, ``* 1``, ``- -x`` or arithmetic on two constants. Each identity used here is exact in
IEEE arithmetic (``a + -b == a - b``, ``a * -b == -(a * b)``), except the structural zero ``x * 0 -> 0``,
which is how every AD system treats a derivative that is known to vanish.

>>> from s2sad.ir import Var
>>> from s2sad.printing import format_expr
>>> x, y = Var("x"), Var("y")
>>> format_expr(x * 1 + 0 * y)
'x'
>>> format_expr(y * -x + 2 * 3)
'6 - y * x'
"""

from __future__ import annotations

from numbers import Number

from .ir import Call, Const, Expr, Primitive, Var
from .primitives import PRIMITIVES


def const(value) -> Const:
    return value if isinstance(value, Expr) else Const(value)


def is_const(expr: Expr, value=None) -> bool:
    """Whether ``expr`` is a numeric constant (equal to ``value``, if given)."""
    if not isinstance(expr, Const) or isinstance(expr.value, bool):
        return False
    if not isinstance(expr.value, Number):
        return False
    return value is None or expr.value == value


def is_zero(expr: Expr) -> bool:
    return is_const(expr, 0)


def _is(expr: Expr, name: str) -> bool:
    return isinstance(expr, Call) and expr.prim.name == name


def apply(name: str, *args) -> Expr:
    """``name(*args)`` simplified; plain numbers among ``args`` become constants."""
    return build(PRIMITIVES[name], tuple(const(a) for a in args))


def build(prim: Primitive, args: tuple, params: tuple = ()) -> Expr:
    """``prim(*args)`` simplified."""
    if prim.foldable and args and all(isinstance(a, Const) for a in args) and not params:
        try:  # Python's own arithmetic first: 1.0 * 3 is 3.0, not the 3 an identity would keep
            return Const(prim.impl(*(a.value for a in args)))
        except (ArithmeticError, ValueError, TypeError):
            pass  # leave it for run time, which raises the error where the user can see it
    simplify = _SIMPLIFIERS.get(prim.name)
    if simplify is not None:
        result = simplify(*args)
        if result is not None:
            return result
    return Call(prim, args, params)


def total(terms: list) -> Expr:
    """The sum of ``terms`` (an empty sum is the structural zero ``Const(0.0)``)."""
    result = None
    for term in terms:
        result = term if result is None else result + term
    return Const(0.0) if result is None else result


def substitute(expr: Expr, mapping: dict) -> Expr:
    """``expr`` with variables replaced per ``mapping`` (name -> expression), re-simplified where a
    value took a variable's place. A variable renamed (``w1`` -> ``x``) changes nothing to simplify:
    ``w1 ** 0`` of the trace stays ``x ** 0``, which is an array where ``x`` is one, not ``1.0``."""
    if isinstance(expr, Var):
        return mapping.get(expr.name, expr)
    if isinstance(expr, Call):
        args = tuple(substitute(a, mapping) for a in expr.args)
        if all(new is old for new, old in zip(args, expr.args)):
            return expr
        if all(new is old or isinstance(new, Var) for new, old in zip(args, expr.args)):
            return Call(expr.prim, args, expr.params)
        return build(expr.prim, args, expr.params)
    return expr


def assume(expr: Expr, cond: Expr, truth: bool) -> Expr:
    """``expr`` where ``cond`` is known to be ``truth``: a select on ``cond`` becomes its branch."""
    if not isinstance(expr, Call):
        return expr
    args = tuple(assume(a, cond, truth) for a in expr.args)
    if expr.prim.name == "select" and args[0] == cond:
        return args[1] if truth else args[2]
    if all(new is old for new, old in zip(args, expr.args)):
        return expr
    return build(expr.prim, args, expr.params)


# --- the identities -----------------------------------------------------------------------------


def may_vanish(expr: Expr) -> bool:
    """Whether ``expr`` is the structural zero on some path through the selects in it."""
    if is_zero(expr):
        return True
    if not isinstance(expr, Call):
        return False
    if expr.prim.name == "select":
        return may_vanish(expr.args[1]) or may_vanish(expr.args[2])
    if expr.prim.name in ("add", "sub"):
        return all(may_vanish(arg) for arg in expr.args)
    return False


def filled(expr: Expr, zero: Expr) -> Expr:
    """``expr`` with its structural zeros replaced by ``zero`` (zeros of the value's shape, where
    the number 0 would not do): in a select, each branch that may vanish; in a sum, the first term
    (the other broadcasts against it)."""
    if is_zero(expr):
        return zero
    if expr.prim.name == "select":
        cond, *branches = expr.args
        branches = [filled(b, zero) if may_vanish(b) else b for b in branches]
        return Call(expr.prim, (cond, *branches), expr.params)
    first, second = expr.args
    return Call(expr.prim, (filled(first, zero), second), expr.params)


def _add(a, b):
    if is_zero(a):
        return b
    if is_zero(b):
        return a
    if _is(b, "neg"):
        return a - b.args[0]
    if _is(a, "neg"):
        return b - a.args[0]
    if is_const(b) and b.value < 0:
        return a - (-b.value)
    if a == b and not isinstance(a, Const):  # b * b contributes twice: a + a == 2 * a exactly
        return 2 * a
    if _is(a, "select") and _is(b, "select") and a.args[0] == b.args[0]:
        if is_zero(a.args[2]) and is_zero(b.args[1]):  # (p if c else 0) + (0 if c else q)
            return build(PRIMITIVES["select"], (a.args[0], a.args[1], b.args[2]))
        if is_zero(a.args[1]) and is_zero(b.args[2]):
            return build(PRIMITIVES["select"], (a.args[0], b.args[1], a.args[2]))
    return None


def _sub(a, b):
    if is_zero(b):
        return a
    if is_zero(a):
        return -b
    if _is(b, "neg"):
        return a + b.args[0]
    return None


def _mul(a, b):
    if is_zero(a) or is_zero(b):
        return Const(0.0)
    if is_const(a, 1):
        return b
    if is_const(b, 1):
        return a
    if is_const(a, -1):
        return -b
    if is_const(b, -1):
        return -a
    if _is(a, "neg") and _is(b, "neg"):
        return a.args[0] * b.args[0]
    if _is(b, "neg"):
        return -(a * b.args[0])
    if _is(a, "neg") and not isinstance(b, Const):
        return -(a.args[0] * b)
    # x * (1 if c else 0) -> x if c else 0: a router, as the notes draw max
    if _is(b, "select") and any(is_const(v) for v in b.args[1:]):
        cond, then, otherwise = b.args
        return build(PRIMITIVES["select"], (cond, a * then, a * otherwise))
    if _is(a, "select") and any(is_const(v) for v in a.args[1:]):
        cond, then, otherwise = a.args
        return build(PRIMITIVES["select"], (cond, then * b, otherwise * b))
    if _is(b, "truediv") and is_const(b.args[0], 1):  # a * (1 / b) -> a / b, one rounding fewer
        return a / b.args[1]
    return None


def _truediv(a, b):
    if is_const(b, 1):
        return a
    if is_zero(a) and not is_zero(b):
        return Const(0.0)
    if _is(a, "neg"):
        return -(a.args[0] / b)
    return None


def _neg(a):
    if _is(a, "neg"):
        return a.args[0]
    if is_const(a):
        return Const(-a.value)
    if _is(a, "sub"):
        return a.args[1] - a.args[0]
    return None


def _pow(a, b):
    if is_const(b, 1):
        return a
    if is_const(b, 0):
        return Const(1.0)
    return None


def _select(cond, then, other):
    if isinstance(cond, Const):
        return then if cond.value else other
    if then == other:
        return then
    return None


_SIMPLIFIERS = {
    "add": _add,
    "sub": _sub,
    "mul": _mul,
    "truediv": _truediv,
    "neg": _neg,
    "pow": _pow,
    "select": _select,
}
