"""The primitive operations a trace is made of, and which Python objects stand for them.

``PRIMITIVES`` maps a primitive's name to its :class:`~s2sad.ir.Primitive`. ``CALLABLES`` maps the
*identity* of a Python object (``math.sin``, the builtin ``max``) to the primitive it computes, so a
function may call ``math.sin``, ``from math import sin as s`` or ``m.sin`` after ``import math as m``
and still reach the same rule. Derivative rules live apart, in :mod:`s2sad.rules`.

>>> import math
>>> CALLABLES[id(math.sin)].name
'sin'
>>> BINARY_OPERATORS["**"].name
'pow'
"""

from __future__ import annotations

import builtins
import math
import operator

from .ir import (
    PREC_ADD,
    PREC_COMPARE,
    PREC_MUL,
    PREC_NOT,
    PREC_POWER,
    PREC_SELECT,
    PREC_UNARY,
    Primitive,
)

PRIMITIVES: dict[str, Primitive] = {}


def _define(
    name: str, impl, style: str = "call", symbol: str = "", precedence: int = 16, foldable=True
):
    prim = Primitive(name, impl, style, symbol or name, precedence, foldable)
    PRIMITIVES[name] = prim
    return prim


def _select(cond, then, other):
    """``then if cond else other`` as a function, for constant folding."""
    return then if cond else other


def _attribute(obj, attr):
    return getattr(obj, attr)


# --- operators ----------------------------------------------------------------------------------

BINARY_OPERATORS = {
    "+": _define("add", operator.add, "infix", "+", PREC_ADD),
    "-": _define("sub", operator.sub, "infix", "-", PREC_ADD),
    "*": _define("mul", operator.mul, "infix", "*", PREC_MUL),
    "/": _define("truediv", operator.truediv, "infix", "/", PREC_MUL),
    "//": _define("floordiv", operator.floordiv, "infix", "//", PREC_MUL),
    "%": _define("mod", operator.mod, "infix", "%", PREC_MUL),
    "**": _define("pow", operator.pow, "infix", "**", PREC_POWER),
    "@": _define("matmul", operator.matmul, "infix", "@", PREC_MUL),
}
UNARY_OPERATORS = {
    "-": _define("neg", operator.neg, "prefix", "-", PREC_UNARY),
    "+": _define("pos", operator.pos, "prefix", "+", PREC_UNARY),
}
COMPARISONS = {
    "<": _define("lt", operator.lt, "infix", "<", PREC_COMPARE),
    "<=": _define("le", operator.le, "infix", "<=", PREC_COMPARE),
    ">": _define("gt", operator.gt, "infix", ">", PREC_COMPARE),
    ">=": _define("ge", operator.ge, "infix", ">=", PREC_COMPARE),
    "==": _define("eq", operator.eq, "infix", "==", PREC_COMPARE),
    "!=": _define("ne", operator.ne, "infix", "!=", PREC_COMPARE),
}
SELECT = _define("select", _select, "select", "if", PREC_SELECT)
NOT = _define("not", operator.not_, "prefix", "not ", PREC_NOT)
RANGE = _define("range", builtins.range, foldable=False)
REVERSED = _define("reversed", builtins.reversed, foldable=False)
NEW_LIST = _define("new_list", list, "empty", "[]", foldable=False)  # the reverse sweep's tape
LOCALS = _define("locals", builtins.locals, foldable=False)  # for the table of s2sad.explain
ATTRIBUTE = _define("attr", _attribute, "attr", ".", foldable=False)
FORMAT = _define("format", str.format, "fstring", "f", foldable=False)  # an f-string, for print

# --- math functions and builtins ----------------------------------------------------------------

MATH_FUNCTIONS = (
    "sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh exp expm1 exp2 log log1p "
    "log2 log10 sqrt cbrt erf erfc hypot fabs degrees radians"
).split()

CALLABLES: dict[int, Primitive] = {}
_CALLABLE_OBJECTS: list = []  # keeps the objects CALLABLES is keyed by alive, and names them


def _register(obj, prim: Primitive) -> Primitive:
    CALLABLES[id(obj)] = prim
    _CALLABLE_OBJECTS.append(obj)
    return prim


for _name in MATH_FUNCTIONS:
    if hasattr(math, _name):  # exp2 and cbrt are new in Python 3.11
        # Not folded: log(2) in a derivative reads better than 0.6931471805599453.
        _register(getattr(math, _name), _define(_name, getattr(math, _name), foldable=False))
_register(math.pow, _define("math_pow", math.pow, symbol="pow", foldable=False))
for _builtin in (builtins.abs, builtins.max, builtins.min, builtins.float):
    _register(_builtin, _define(_builtin.__name__, _builtin))
_register(builtins.pow, PRIMITIVES["pow"])
for _operator in (operator.add, operator.sub, operator.mul, operator.truediv, operator.pow):
    _register(_operator, PRIMITIVES[_operator.__name__])  # as in reduce(operator.mul, xs)
PRINT = _register(builtins.print, _define("print", builtins.print, foldable=False))

# Operations that raise outside their domain (ValueError, or ZeroDivisionError for // and %) though
# their derivative formula may not: the optimised gradient keeps them, to raise where the function does.
RESTRICTED_DOMAIN = {
    *("log", "log1p", "log2", "log10", "sqrt", "asin", "acos", "acosh", "atanh", "math_pow"),
    *("floordiv", "mod"),
}

# Called with more than two arguments, these fold left: max(a, b, c) is max(max(a, b), c).
VARIADIC = {"max", "min"}


_USER_CALLS: dict = {}  # (kind, id of a Python function) -> its primitive, and the function


def user_call(fn, kind: str = "call") -> Primitive:
    """The primitive for calling a recursive Python function (``kind`` "call"), or for calling one
    of the derivative functions generated for it beside the program ("jvp", "fwd", "bwd"): those are
    called by their own name (``_fact_jvp``), so they have no object to bind."""
    key = (kind, id(fn))
    if key not in _USER_CALLS:
        if kind == "call":
            prim = Primitive(f"call {fn.__qualname__}", fn, "call", fn.__name__, foldable=False)
        else:
            prim = Primitive(
                f"{kind} {fn.__qualname__}", None, "call", f"_{fn.__name__}_{kind}", foldable=False
            )
        _USER_CALLS[key] = (prim, fn)
    return _USER_CALLS[key][0]


def called_function(prim: Primitive):
    """``(kind, function)`` if ``prim`` calls a recursive Python function or a helper generated for
    one; ``None`` otherwise."""
    for (kind, _), (candidate, fn) in _USER_CALLS.items():
        if candidate is prim:
            return kind, fn
    return None


def primitive_for(obj) -> Primitive | None:
    """The primitive a Python object computes, or ``None`` if it has none."""
    return CALLABLES.get(id(obj))


def supported_callables() -> list[str]:
    """Human-readable names of every supported function, for error messages."""
    return sorted(
        (
            obj.__name__
            if obj.__module__ == "builtins"
            else f"{obj.__module__.lstrip('_')}.{obj.__name__}"
        )
        for obj in _CALLABLE_OBJECTS
        if obj is not builtins.print
    )
