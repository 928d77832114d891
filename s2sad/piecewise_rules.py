"""Rounding, signs and exact sums: ``math.floor``, ``math.ceil``, ``math.trunc``, ``round``,
``np.floor``, ``np.ceil``, ``np.trunc``, ``np.rint``, ``np.round`` (and ``x.round()``),
``np.around``, ``np.heaviside``, ``math.copysign`` and ``math.fsum``.

The rounding functions, like ``np.sign`` and comparisons, are *piecewise constant*: their derivative
is 0 wherever it exists, which is everywhere but at the jumps. **At a jump the derivative is taken to
be 0 as well**, the one convention for every jump here (``floor`` at an integer, ``round`` half-way,
``heaviside`` at 0 in ``x``, ``copysign`` at 0 in ``y``). Their results carry no derivative, so a
count or an index computed from them (``n = math.floor(x)``) is a constant of the derivative code.

- ``np.heaviside(x, h0)``: 0 in ``x``; in ``h0``, 1 where ``x == 0`` (``h0`` is the value there);
- ``math.copysign(x, y)``, ``|x|`` with the sign of ``y``: ``sign(x) · copysign(1, y)`` in ``x``,
  with ``abs``'s convention at ``x == 0`` (0); 0 in ``y``;
- ``math.fsum(xs)``: the sum of a list or tuple of known length, partial 1 in each.

>>> from s2sad.ir import Var
>>> from s2sad.printing import format_expr
>>> from s2sad.rules import partials
>>> format_expr(partials("copysign", (Var("x"), Var("y")), Var("out"))[0])
'copysign(1.0, y) if x > 0 else -copysign(1.0, y) if x < 0 else 0.0'
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from .algebra import apply
from .array_rules import where
from .arrays import ARRAY_FUNCTIONS, _KEEP_ALIVE, ArrayOp, _op
from .ir import Primitive
from .primitives import PRIMITIVES, _define, _register
from .rules import NO_DERIVATIVE, rule

for _fn in (math.floor, math.ceil, math.trunc, builtins.round, math.copysign):
    _register(_fn, _define(_fn.__name__, _fn))
_op("floor ceil trunc rint")
_op("round around", statics=("decimals",), methods="round")
_op("heaviside", operands=(2, 2))

NO_DERIVATIVE.update(
    {"floor", "ceil", "trunc", "round"}
    | {f"np.{name}" for name in ("floor", "ceil", "trunc", "rint", "round", "around")}
)


@rule("floor", "ceil", "trunc")
def _(x, out):
    """Piecewise constant (this states the arity: the result has no derivative)."""
    return 0


@rule("round")
def _(x, ndigits=None, *, out):
    return 0 if ndigits is None else (0, 0)


@rule("copysign")
def _(x, y, out):
    sign = apply("select", apply("gt", x, 0), 1, apply("select", apply("lt", x, 0), -1, 0))
    return sign * apply("copysign", 1.0, y), 0


@rule("np.heaviside")
def _(x, h0, out):
    return 0, where(apply("eq", x, 0), 1.0, 0.0)


_FSUM = Primitive("fsum", math.fsum, "packed", "fsum", foldable=False)
PRIMITIVES[_FSUM.name] = _FSUM
ARRAY_FUNCTIONS[id(math.fsum)] = ArrayOp(_FSUM, packed=True)  # fsum([a, b]): a list of values
_KEEP_ALIVE.append(math.fsum)
rule("fsum")(lambda *values, out: (1,) * len(values))
