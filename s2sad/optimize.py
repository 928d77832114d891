"""Passes that shorten straight-line programs without changing what they compute.

- :func:`propagate` replaces every variable bound to a plain copy or constant (``w1 = x1``,
  ``w5_bar = 1.0``) by its value, re-simplifying the expressions it lands in, so ``w3_bar * w2`` with
  ``w3_bar = 1.0`` becomes ``w2``.
- :func:`eliminate_dead` drops assignments nothing reads. In the primal sweep it keeps calls to
  functions with a restricted domain (``log``, ``sqrt``, ``asin``…): where the function itself raises
  ``ValueError``, its derivative must raise too, not return a number for a point where ``f`` is undefined.

The teaching form of the notes skips both; the optimised form runs them.

>>> from s2sad.ir import Var, Const, Assign, Return, format_expr
>>> body = [Assign(Var("a"), Const(1.0)), Assign(Var("b"), Var("y") * Var("a")), Return(Var("b"))]
>>> [f"{s.target} = {format_expr(s.value)}" for s in propagate(body, keep=set())[:-1]]
[]
>>> format_expr(propagate(body, keep=set())[-1].value)
'y'
"""

from __future__ import annotations

from .algebra import substitute
from .ir import (
    Assign,
    Call,
    Const,
    Effect,
    If,
    Ref,
    Return,
    Var,
    map_structure,
    stmt_exprs,
    variables,
)
from .primitives import RESTRICTED_DOMAIN


def propagate(body: list, keep: set, mapping: dict | None = None) -> list:
    """``body`` with copies and constants substituted into their uses, except names in ``keep``.

    Every name is assigned once, so a substitution made inside a branch holds wherever the name is
    read: in that branch, and in the arm of a merge that reads it when that branch ran.
    """
    mapping = {} if mapping is None else mapping
    result = []
    for stmt in body:
        if isinstance(stmt, Assign):
            value = substitute(stmt.value, mapping)
            if isinstance(value, (Var, Const, Ref)) and stmt.target.name not in keep:
                mapping[stmt.target.name] = value
                continue
            result.append(Assign(stmt.target, value, stmt.loc))
        elif isinstance(stmt, Effect):
            result.append(Effect(substitute(stmt.value, mapping), stmt.loc))
        elif isinstance(stmt, If):
            then, orelse = propagate(stmt.then, keep, mapping), propagate(
                stmt.orelse, keep, mapping
            )
            result.append(If(substitute(stmt.cond, mapping), then, orelse, stmt.loc))
        elif isinstance(stmt, Return):
            result.append(
                Return(map_structure(lambda e: substitute(e, mapping), stmt.value), stmt.loc)
            )
        else:
            result.append(stmt)
    return result


def eliminate_dead(body: list, live: set = frozenset(), keep_domain_checks: bool = False) -> list:
    """``body`` without the assignments whose targets are never read (by later code or ``live``)."""
    return _live_block(body, set(live), keep_domain_checks)


def _live_block(body: list, needed: set, keep_domain_checks: bool) -> list:
    """The statements of ``body`` that matter; ``needed`` goes in as the names read after ``body``
    and comes out as those read before it."""
    result = []
    for stmt in reversed(body):
        if isinstance(stmt, Assign) and stmt.target.name not in needed:
            if not (keep_domain_checks and _checks_domain(stmt.value)):
                continue
        if isinstance(stmt, If):
            then_needed, else_needed = set(needed), set(needed)
            then = _live_block(stmt.then, then_needed, keep_domain_checks)
            orelse = _live_block(stmt.orelse, else_needed, keep_domain_checks)
            if not then and not orelse:
                continue
            needed |= then_needed | else_needed
            stmt = If(stmt.cond, then, orelse, stmt.loc)
        result.append(stmt)
        for expr in stmt_exprs(stmt):
            needed.update(v.name for v in variables(expr))
    result.reverse()
    return result


def _checks_domain(expr) -> bool:
    return isinstance(expr, Call) and expr.prim.name in RESTRICTED_DOMAIN
