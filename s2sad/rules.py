"""Derivative rules: one entry per primitive, stated as its partial derivatives.

A rule takes the primitive's arguments (as expressions) and its output ``out``, and returns one partial
derivative per argument. Both modes come from the same entry, so they cannot disagree:

- forward (tangent) mode emits  ``w_dot = ∂w/∂a · a_dot + ∂w/∂b · b_dot``
- reverse (adjoint) mode emits  ``a_bar += w_bar · ∂w/∂a``  and  ``b_bar += w_bar · ∂w/∂b``

Partials are built with ordinary arithmetic on expressions (see :mod:`s2sad.algebra`), so a rule reads
like the calculus it states. Writing a rule for a new primitive takes one line::

    @rule("sin")
    def _(x, out):
        return cos(x)

Non-differentiable points follow one documented convention each (listed in the README):
``abs'(0) = 0``; ``max`` and ``min`` route the whole adjoint to their first argument on a tie (that is
the argument Python returns); ``hypot`` has partials 0 at the origin; ``0 ** y`` has partial 0 in ``y``.
Where a derivative is infinite (``sqrt`` at 0, ``asin`` at ±1) the generated code divides by zero and
Python raises ``ZeroDivisionError`` at that line of the derivative code; it is never silently replaced.

>>> from s2sad.ir import Var, Const
>>> from s2sad.printing import format_expr
>>> x, y = Var("x"), Var("y")
>>> [format_expr(p) for p in partials("mul", (x, y), Var("out"))]
['y', 'x']
>>> [format_expr(p) for p in partials("pow", (x, Const(3)), Var("out"))]
['3 * x**2', '0.0 if x == 0 else out * log(x)']
"""

from __future__ import annotations

import math
from typing import Callable

from .algebra import apply
from .ir import Expr

RULES: dict[str, Callable] = {}

# Primitives whose result carries no derivative: comparisons and floor division are piecewise constant
# (their derivative is 0 wherever it exists), an f-string is text, and stop_gradient says so.
NO_DERIVATIVE = {"lt", "le", "gt", "ge", "eq", "ne", "not", "floordiv", "format", "stop_gradient"}


def rule(*names: str):
    """Register the decorated function as the partial-derivative rule of each primitive named."""

    def register(fn: Callable) -> Callable:
        for name in names:
            RULES[name] = fn
        return fn

    return register


def partials(name: str, args: tuple, out: Expr) -> tuple:
    """The partial derivatives of primitive ``name`` at ``args``, one per argument."""
    result = RULES[name](*args, out=out)
    return result if isinstance(result, tuple) else (result,)


def has_rule(name: str) -> bool:
    return name in RULES


def _fn(name: str) -> Callable[..., Expr]:
    return lambda *args: apply(name, *args)


sin, cos, sinh, cosh, exp, log, sqrt = map(
    _fn, ("sin", "cos", "sinh", "cosh", "exp", "log", "sqrt")
)
select = _fn("select")
gt, ge, lt, le, eq = map(_fn, ("gt", "ge", "lt", "le", "eq"))


# --- arithmetic ---------------------------------------------------------------------------------


@rule("add")
def _(x, y, out):
    """Add distributes: the adjoint flows unchanged to both operands."""
    return 1, 1


@rule("sub")
def _(x, y, out):
    return 1, -1


@rule("mul")
def _(x, y, out):
    """Multiply switches: each operand's partial is the other operand."""
    return y, x


@rule("truediv")
def _(x, y, out):
    """-x / y**2 as -(x / y) / y: y**2 overflows (Python raises) or underflows for |y| past 1e154
    or below 1e-154 where the partial itself is an ordinary number."""
    return 1 / y, -out / y


@rule("mod")
def _(x, y, out):
    """x % y == x - y * floor(x / y), and floor is piecewise constant."""
    return 1, -apply("floordiv", x, y)


@rule("pow", "math_pow")
def _(x, y, out):
    """d(x**y) = y x**(y-1) dx + x**y log(x) dy; the dy term is 0 at x == 0 (its limit for y > 0)."""
    return y * x ** (y - 1), select(eq(x, 0), 0.0, out * log(x))


@rule("neg")
def _(x, out):
    return -1


@rule("pos", "float")
def _(x, out):
    return 1


@rule("select")
def _(cond, then, other, out):
    """``then if cond else other`` routes the adjoint to the branch taken."""
    return 0, select(cond, 1, 0), select(cond, 0, 1)


# --- routing: abs, max, min ---------------------------------------------------------------------


@rule("abs", "fabs")
def _(x, out):
    """The sign of x, with abs'(0) = 0 (the subgradient of least magnitude)."""
    return select(gt(x, 0), 1, select(lt(x, 0), -1, 0))


@rule("max")
def _(x, y, out):
    """Max routes the adjoint to the winner; on a tie, to x, the argument Python's max returns."""
    return select(ge(x, y), 1, 0), select(ge(x, y), 0, 1)


@rule("min")
def _(x, y, out):
    """Min routes the adjoint to the smaller argument; on a tie, to x, the one Python's min returns."""
    return select(le(x, y), 1, 0), select(le(x, y), 0, 1)


# --- exponentials and logarithms ----------------------------------------------------------------


@rule("exp")
def _(x, out):
    return out


@rule("exp2")
def _(x, out):
    return out * log(2)


@rule("expm1")
def _(x, out):
    """exp(x), not out + 1: for x < -37 the sum rounds to 0 where the slope is still positive."""
    return exp(x)


@rule("log")
def _(x, base=None, *, out):
    if base is None:
        return 1 / x
    return 1 / (x * log(base)), -out / (base * log(base))


@rule("log2")
def _(x, out):
    return 1 / (x * log(2))


@rule("log10")
def _(x, out):
    return 1 / (x * log(10))


@rule("log1p")
def _(x, out):
    return 1 / (1 + x)


@rule("sqrt")
def _(x, out):
    return 0.5 / out


@rule("cbrt")
def _(x, out):
    return 1 / (3 * out**2)


@rule("hypot")
def _(*args, out):
    """Each partial is x_i / hypot(...); 0 at the origin, where hypot behaves like abs."""
    return tuple(select(eq(out, 0), 0.0, x / out) for x in args)


# --- trigonometric and hyperbolic ---------------------------------------------------------------


@rule("sin")
def _(x, out):
    return cos(x)


@rule("cos")
def _(x, out):
    return -sin(x)


@rule("tan")
def _(x, out):
    return 1 + out**2


@rule("asin")
def _(x, out):
    """1 - x**2 as (1 - x) * (1 + x), exact near ±1 where 1 - x**2 loses digits."""
    return 1 / sqrt((1 - x) * (1 + x))


@rule("acos")
def _(x, out):
    return -1 / sqrt((1 - x) * (1 + x))


@rule("atan")
def _(x, out):
    return 1 / (1 + x**2)


@rule("atan2")
def _(y, x, out):
    """x / (x**2 + y**2) and -y / (x**2 + y**2), divided by hypot(y, x) twice: the squares overflow
    past 1e154 and underflow below 1e-154."""
    r = apply("hypot", y, x)
    return x / r / r, -y / r / r


@rule("sinh")
def _(x, out):
    return cosh(x)


@rule("cosh")
def _(x, out):
    return sinh(x)


@rule("tanh")
def _(x, out):
    """1 - tanh(x)**2 near 0; beyond |x| = 1, where that difference loses digits (and is 0 past
    |x| = 19), the same value as 4 t / (1 + t)**2 with t = exp(-2|x|), which never overflows (as
    1 / cosh(x)**2 would), written t (1 + |tanh x|)**2 (since 1 + |tanh x| = 2 / (1 + t)) so that
    the exponential is computed once."""
    stable = exp(-2 * apply("abs", x)) * (1 + apply("abs", out)) ** 2
    return select(lt(apply("abs", x), 1.0), 1 - out**2, stable)


@rule("asinh")
def _(x, out):
    """1 / sqrt(x**2 + 1) as 1 / hypot(x, 1), which does not overflow for |x| past 1e154."""
    return 1 / apply("hypot", x, 1.0)


@rule("acosh")
def _(x, out):
    return 1 / sqrt(x**2 - 1)


@rule("atanh")
def _(x, out):
    return 1 / ((1 - x) * (1 + x))


@rule("degrees")
def _(x, out):
    return 180 / math.pi


@rule("radians")
def _(x, out):
    return math.pi / 180


# --- special functions --------------------------------------------------------------------------

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


@rule("erf")
def _(x, out):
    return _TWO_OVER_SQRT_PI * exp(-(x**2))


@rule("erfc")
def _(x, out):
    return -_TWO_OVER_SQRT_PI * exp(-(x**2))
