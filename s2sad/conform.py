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
"""

from __future__ import annotations

from .array_rules import runtime_call
from .arrays import _UNARY
from .ir import Assign, Call, Function, Var
from .traversal import walk
from .shapes import infer

# Operations whose result is always a new array (never an operand, nor a view of one).
_FRESH = frozenset(
    {"add", "sub", "mul", "truediv", "pow", "neg", "matmul"}
    | {f"np.{name}" for name in _UNARY.split() if name != "positive"}
    | {
        f"np.{name}"
        for name in (
            "add subtract multiply divide true_divide power maximum minimum fmax fmin arctan2 "
            "hypot matmul dot outer inner where clip concatenate stack sum mean prod"
        ).split()
    }
)


def conformed(body: list, grads: tuple, wrt: tuple, params: dict) -> tuple:
    """``grads`` (one per name of ``wrt``) with those that might not be a fresh array of their
    parameter's shape and dtype (``params``: name -> Kind) wrapped in ``conform``."""
    known = infer(Function("", tuple(params), body), params).known
    definitions = {s.target.name: s.value for s in walk(body) if isinstance(s, Assign)}
    returned: set = set()
    result = []
    for grad, name in zip(grads, wrt):
        kind = params.get(name)
        if kind is None or not kind.is_array:
            result.append(grad)
            continue
        fits = _kind_of(grad, known, definitions) == (kind.shape, kind.dtype)
        if not (fits and _fresh(grad, definitions, params) and grad not in returned):
            grad = runtime_call("conform", grad, kind.shape, kind.dtype)
        returned.add(grad)
        result.append(grad)
    return tuple(result)


def _kind_of(expr, known: dict, definitions: dict):
    """``(shape, dtype)`` of ``expr`` on every path, or ``None``: a ``select`` has the kind of its
    branches only where they agree (inference follows just one of them)."""
    if not isinstance(expr, Var):
        return None
    definition = definitions.get(expr.name)
    if isinstance(definition, Call) and definition.prim.name == "select":
        kinds = {_kind_of(branch, known, definitions) for branch in definition.args[1:]}
        return kinds.pop() if len(kinds) == 1 else None
    kind = known.get(expr.name)
    return (kind.shape, kind.dtype) if kind is not None and kind.is_array else None


def _fresh(expr, definitions: dict, params: dict) -> bool:
    """Whether ``expr`` is certainly an array made by an operation that always makes a new one."""
    if not isinstance(expr, Var) or expr.name in params:
        return False
    definition = definitions.get(expr.name)
    if not isinstance(definition, Call):
        return False
    if definition.prim.name == "select":
        return all(_fresh(branch, definitions, params) for branch in definition.args[1:])
    return definition.prim.name in _FRESH
