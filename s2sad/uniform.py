"""Scalar adjoints kept scalar where NumPy would broadcast them anyway.

The adjoint of ``s = np.sum(a)`` is ``s̄`` in every element of ``a``: the reverse sweep writes
``a_bar = np.broadcast_to(s_bar, shape)``. When every use of ``a_bar`` is elementwise arithmetic with
an operand that already has that shape (``a_bar * (2 * w)``), NumPy broadcasts the number by itself,
and the array of copies is never needed: this pass, run on code compiled for known shapes, writes
``s_bar`` there instead.

>>> from s2sad.array_rules import np_call
>>> from s2sad.ir import Assign, Const, Return, Var
>>> from s2sad.shapes import Kind
>>> body = [Assign(Var("g"), np_call("broadcast_to", 0.5, Const((3,)))), Return(Var("g") * Var("w"))]
>>> [str(s.value) for s in scalar_broadcasts_removed(body, {"w": Kind((3,), "<f8")})]
['0.5 * w']
"""

from __future__ import annotations

from .ir import Assign, Call, Const, Function, Var
from .traversal import stmt_exprs, walk
from .optimize import eliminate_dead, propagate, rebound
from .shapes import definitions_of, infer, infer_value, kind_on_every_path

_ELEMENTWISE = frozenset({"add", "sub", "mul", "truediv"})


def scalar_broadcasts_removed(body: list, params: dict) -> list:
    """``body`` with each broadcast of a number that only feeds elementwise arithmetic on arrays
    of the broadcast shape replaced by the number itself (``params``: name -> Kind)."""
    known = infer(Function("", tuple(params), body), params).known
    definitions = definitions_of(body)
    carried = rebound(body)
    mapping = {}
    for stmt in walk(body):
        if not (isinstance(stmt, Assign) and _is_scalar_broadcast(stmt.value, known, carried)):
            continue
        shape = stmt.value.args[1].value
        if all(
            _broadcasts_anyway(use, stmt.target, shape, known, definitions)
            for use in _uses(body, stmt.target)
        ):
            number = stmt.value.args[0]
            mapping[stmt.target.name] = number
            # A number now: it no longer gives the shape to the operations it meets, so it cannot
            # be the array another broadcast counts on (``b1 + b2`` keeps one of them).
            known[stmt.target.name] = infer_value(number, known)
    if not mapping:
        return body
    substituted = propagate(body, carried, mapping)
    return eliminate_dead(substituted, keep_domain_checks=True)


def _is_scalar_broadcast(value, known: dict, carried: set) -> bool:
    """``np.broadcast_to(number, shape)``, with a number that means the same wherever it is read
    (a constant, or a variable no loop rebinds)."""
    if not (isinstance(value, Call) and value.prim.name == "np.broadcast_to"):
        return False
    number, shape = value.args
    if isinstance(number, Var):
        kind = known.get(number.name)
        if kind is None or kind.is_array or number.name in carried:
            return False
    elif not isinstance(number, Const):
        return False
    return isinstance(shape, Const) and isinstance(shape.value, tuple)


def _uses(body: list, var: Var):
    """``(parent, expression)`` for each place ``var`` is read; ``parent`` is ``None`` at the top
    of a statement (an assignment of it, a return, a push)."""
    for stmt in walk(body):
        for expr in stmt_exprs(stmt):
            yield from _occurrences(None, expr, var)


def _occurrences(parent, expr, var: Var):
    if expr == var:
        yield parent
    elif isinstance(expr, Call):
        for arg in expr.args:
            yield from _occurrences(expr, arg, var)


def _broadcasts_anyway(parent, var: Var, shape: tuple, known: dict, definitions: dict) -> bool:
    if not (isinstance(parent, Call) and parent.prim.name in _ELEMENTWISE):
        return False
    for other in parent.args:
        kind = kind_on_every_path(other, known, definitions) if other != var else None
        if kind is not None and kind[0] == shape:
            return True
    return False
