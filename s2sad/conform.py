"""Gradients shaped like their arguments, decided while compiling.

A gradient of an array argument is returned as an array of that argument's shape and dtype, in memory
of its own: not a broadcast view, not the argument itself (``∂/∂x sum(x * y) = y``), not the array
another gradient is (``∂/∂a = ∂/∂b`` of ``sum((a + b)**2)``). Code compiled for known shapes usually
computes exactly that already; this pass finds where it does not and wraps only those results in
:func:`s2sad.runtime.conform`, so a call pays for a copy only where one is needed.

>>> from s2sad.ir import Assign, Call, Var
>>> from s2sad.primitives import PRIMITIVES
>>> from s2sad.shapes import Kind
>>> body = [Assign(Var("w"), Call(PRIMITIVES["mul"], (Var("x"), Var("y"))))]
>>> kinds = {"x": Kind((3,), "<f8"), "y": Kind((3,), "<f8")}
>>> conformed(body, (Var("w"), Var("x")), ("y", "x"), kinds)
(w, conform(x, (3,), "<f8"))

The derivative of a number is a float, as the derivative of a float is: not the integer ``3`` that
``x * n`` gives for ``∂/∂x`` at an integer ``n`` (the seed ``1.0`` is folded away), nor an array
with no axes. :func:`floats_made` wraps in ``float(...)`` only the results that might not be one
already, which for code run with floats is almost never.

Code printed or exported without example arguments serves every kind of argument its function can
take (see :func:`portable`), and makes its derivatives like its arguments when it runs.
"""

from __future__ import annotations

from .array_rules import runtime_call
from .arrays import FRESH
from .ir import Assign, Call, Const, Function, Loop, Var
from .primitives import MATH_FUNCTIONS, PRIMITIVES
from .traversal import walk
from .shapes import definitions_of, infer, kind_on_every_path


def conformed(body: list, grads: tuple, wrt: tuple, params: dict) -> tuple:
    """``grads`` (one per name of ``wrt``) with those that might not be a fresh array of their
    parameter's shape and dtype (``params``: name -> Kind) wrapped in ``conform``."""
    known = infer(Function("", tuple(params), body), params).known
    definitions = definitions_of(body)
    floats = {name for name, kind in params.items() if not kind.is_array and kind.dtype == "float"}
    returned: set = set()
    result = []
    for grad, name in zip(grads, wrt):
        kind = params.get(name)
        if kind is None:
            result.append(grad)
            continue
        if not kind.is_array:  # a number's derivative: a float (of Dask arrays, a lazy one)
            result.append(floats_made(body, (grad,), floats, checked=True)[0])
            continue
        fits = kind_on_every_path(grad, known, definitions) == (kind.shape, kind.dtype)
        if not (fits and _fresh(grad, definitions, params) and grad not in returned):
            grad = runtime_call("conform", grad, kind.shape, kind.dtype)
        returned.add(grad)
        result.append(grad)
    return tuple(result)


def _fresh(expr, definitions: dict, params: dict) -> bool:
    """Whether ``expr`` is certainly an array made by an operation that always makes a new one."""
    if not isinstance(expr, Var) or expr.name in params:
        return False
    definition = definitions.get(expr.name)
    if not isinstance(definition, Call):
        return False
    if definition.prim.name == "select":
        return all(_fresh(branch, definitions, params) for branch in definition.args[1:])
    return definition.prim.name in FRESH


# --- derivatives of numbers are floats --------------------------------------------------------------

# On numbers, these give a float once one operand is a float (``n * 1.0``); those of _EACH give one
# of their operands (or its negative, or its size), so a float only if every operand is one.
_FLOAT_IF_ANY = frozenset({"add", "sub", "mul", "pow", "floordiv", "mod"})
_FLOAT_IF_EACH = frozenset({"neg", "pos", "abs", "max", "min", "select"})
_FLOAT = frozenset({"truediv", "float", "math_pow", *MATH_FUNCTIONS})
_AS_FLOAT = PRIMITIVES["float"]


def floats_made(body: list, results: tuple, floats: set, checked: bool = False) -> tuple:
    """``results`` (derivatives of numbers, computed by ``body``), each that is not certainly a
    float when the names ``floats`` are floats wrapped in ``float(...)`` (with ``checked``, or where
    it may be complex, in ``real_number(...)``). Certainly a float: a float
    constant, a name of ``floats``, a math function, or arithmetic reaching one of those on every
    path (``cos(x) + n``, ``y if c else 0.0`` where ``y`` is a float; not ``n``, nor ``max(x, 0)``).
    """
    definitions: dict = {}
    for stmt in walk(body):
        if isinstance(stmt, Assign):
            definitions.setdefault(stmt.target.name, []).append(stmt.value)
        elif isinstance(stmt, Loop):  # a carried value is its start, then what each pass gives
            for header, init, following in zip(stmt.headers, stmt.inits, stmt.nexts):
                definitions.setdefault(header.name, []).extend([init, following])
    decide = _Floats(definitions, floats)

    def made(r):
        if _may_be_complex(r, definitions, set()):
            return runtime_call("real_number", r)
        if decide(r):
            return r
        if checked and not isinstance(r, Const):  # a Dask number stays lazy through real_number
            return runtime_call("real_number", r)
        return _as_float(r)

    return tuple(made(r) for r in results)


def _may_be_complex(expr, definitions: dict, seen: set) -> bool:
    """Whether ``expr`` is computed from a power with an exponent that is not a constant integer:
    Python's ``(-8.0) ** (1 / 3)`` is complex, and so is everything computed from it."""
    if isinstance(expr, Var):
        if expr.name in seen:
            return False
        seen.add(expr.name)
        return any(_may_be_complex(v, definitions, seen) for v in definitions.get(expr.name, ()))
    if not isinstance(expr, Call):
        return False
    if expr.prim.name in ("pow", "math_pow") and not _integer(expr.args[1]):
        return expr.prim.name == "pow"  # math.pow raises instead
    return expr.prim.name not in _FLOAT and any(
        _may_be_complex(arg, definitions, seen) for arg in expr.args
    )


class _Floats:
    """Whether an expression is certainly a float. A name being decided is assumed to be one (a loop
    carries its own value); where it is not, what was decided assuming it is undecided again."""

    def __init__(self, definitions: dict, floats: set):
        self.definitions, self.floats, self.not_floats = definitions, set(floats), set()

    def __call__(self, expr) -> bool:
        if isinstance(expr, Const):
            return isinstance(expr.value, float)
        if isinstance(expr, Var):
            return self.name(expr.name)
        if not isinstance(expr, Call):
            return False
        name = expr.prim.name
        if name in _FLOAT:
            return True
        if name in _FLOAT_IF_ANY:
            return any(self(arg) for arg in expr.args)
        if name in _FLOAT_IF_EACH:
            return all(self(arg) for arg in (expr.args[1:] if name == "select" else expr.args))
        return False

    def name(self, name: str) -> bool:
        if name in self.floats:
            return True
        values = self.definitions.get(name)
        if name in self.not_floats or not values:  # not: a parameter, a value from a tape
            return False
        before = set(self.floats)
        self.floats.add(name)
        if all(self(value) for value in values):
            return True
        self.floats = before
        self.not_floats.add(name)
        return False


def _integer(expr) -> bool:
    return isinstance(expr, Const) and type(expr.value) in (int, bool)


def _as_float(expr):
    if isinstance(expr, Const) and isinstance(expr.value, (bool, int)):
        return Const(float(expr.value))
    return Call(_AS_FLOAT, (expr,))
