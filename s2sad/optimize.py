"""Passes that shorten programs without changing what they compute.

- :func:`propagate` replaces every variable bound to a plain copy or constant (``w1 = x1``,
  ``w5_bar = 1.0``) by its value, re-simplifying the expressions it lands in, so ``w3_bar * w2`` with
  ``w3_bar = 1.0`` becomes ``w2``.
- :func:`eliminate_dead` drops assignments nothing reads. In the primal sweep it keeps calls to
  functions with a restricted domain (``log``, ``sqrt``, ``asin``…): where the function itself raises
  ``ValueError``, its derivative must raise too, not return a number for a point where ``f`` is undefined.

The teaching form of the notes skips both; the optimised form runs them.

>>> from s2sad.ir import Var, Const, Assign, Return
>>> from s2sad.printing import format_expr
>>> body = [Assign(Var("a"), Const(1.0)), Assign(Var("b"), Var("y") * Var("a")), Return(Var("b"))]
>>> [f"{s.target} = {format_expr(s.value)}" for s in propagate(body, keep=set())[:-1]]
[]
>>> format_expr(propagate(body, keep=set())[-1].value)
'y'
"""

from __future__ import annotations

from dataclasses import replace

from .algebra import substitute
from .ir import Assign, Call, Const, Effect, If, Loop, Pop, Push, Ref, Return, Unpack, Var
from .traversal import assigned, defines, map_structure, stmt_exprs, variables, walk
from .primitives import RESTRICTED_DOMAIN


def propagate(body: list, keep: set, mapping: dict | None = None) -> list:
    """``body`` with copies and constants substituted into their uses, except names in ``keep``.

    Every name other than a loop's carried values and the values a reverse sweep restores from a tape
    is assigned once, so a substitution made inside a branch or a loop body holds wherever the name
    is read. Names rebound (see :func:`rebound`) change and are never substituted, nor copied into
    another name: ``a = w4`` read after a loop that rebinds ``w4`` means the old ``w4``.

    A caller may seed ``mapping`` with replacements of its own (name -> expression). Each one's
    definition is dropped, and the expression takes the substitutions made before that definition:
    ``a_bar -> s_bar`` where ``s_bar = w6_bar`` and ``w6_bar = 1.0`` are propagated becomes
    ``a_bar -> 1.0``, not a read of a name that is gone.
    """
    if mapping is None:
        mapping = {}
        keep = keep | rebound(body)

    def sub(expr):
        return substitute(expr, mapping)

    result = []
    for stmt in body:
        if isinstance(stmt, Assign):
            if stmt.target.name in mapping:  # seeded by the caller
                mapping[stmt.target.name] = sub(mapping[stmt.target.name])
                continue
            value = sub(stmt.value)
            copies_rebound = isinstance(value, Var) and value.name in keep
            if (
                isinstance(value, (Var, Const, Ref))
                and stmt.target.name not in keep
                and not copies_rebound
            ):
                mapping[stmt.target.name] = value
                continue
            result.append(Assign(stmt.target, value, stmt.loc))
        elif isinstance(stmt, Effect):
            result.append(Effect(sub(stmt.value), stmt.loc))
        elif isinstance(stmt, If):
            then = propagate(stmt.then, keep, mapping)
            orelse = propagate(stmt.orelse, keep, mapping)
            result.append(If(sub(stmt.cond), then, orelse, stmt.loc))
        elif isinstance(stmt, Loop):
            inits = [sub(e) for e in stmt.inits]
            iterable = None if stmt.iterable is None else sub(stmt.iterable)
            inner = propagate(stmt.body, keep, mapping)
            nexts = [sub(e) for e in stmt.nexts]
            exit_ = None if stmt.exit is None else sub(stmt.exit)
            result.append(
                replace(stmt, inits=inits, iterable=iterable, body=inner, nexts=nexts, exit=exit_)
            )
        elif isinstance(stmt, Push):
            result.append(replace(stmt, values=tuple(sub(e) for e in stmt.values)))
        elif isinstance(stmt, Unpack):
            result.append(replace(stmt, value=sub(stmt.value)))
        elif isinstance(stmt, Return):
            result.append(Return(map_structure(sub, stmt.value), stmt.loc))
        else:
            result.append(stmt)
    return result


def rebound(body: list) -> set:
    """Names bound more than once: a loop's carried values and targets, and what a reverse sweep
    restores from a tape (``w7, w7_dot = next(reader)`` rebinds the names the forward sweep bound,
    so a copy ``w7_dot = w5_dot`` made there no longer holds where the restored ``w7_dot`` is read).
    """
    return {v.name for stmt in walk(body) if isinstance(stmt, (Loop, Pop)) for v in defines(stmt)}


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
        if isinstance(stmt, Unpack) and not any(t.name in needed for t in stmt.targets):
            continue
        if isinstance(stmt, Loop):
            stmt = _live_loop(stmt, needed, keep_domain_checks)
            if stmt is not None:
                result.append(stmt)
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


def _live_loop(loop: Loop, needed: set, keep_domain_checks: bool):
    """The loop keeping only the carried values something reads, or ``None`` if nothing does.

    A carried value is live if code after the loop reads it, or if the body reads it to compute a
    live one: grow the live set until it stops growing.
    """
    live = {h.name for h in loop.headers if h.name in needed}
    if loop.cond is not None:
        live.add(loop.cond.name)
    # Values the body computes and code after the loop reads (as the reverse sweep reads a value
    # that is the same in every iteration, from the last one), and the loop variable, whose last
    # value Python keeps after the loop.
    targets = loop.target if isinstance(loop.target, tuple) else (loop.target,)
    read_after = needed & (assigned(loop.body) | {t.name for t in targets if t is not None})
    if loop.exit is not None:
        read_after |= {v.name for v in variables(loop.exit)}
    while True:
        inside = read_after | {
            v.name for h, n in zip(loop.headers, loop.nexts) if h.name in live for v in variables(n)
        }
        body = _live_block(loop.body, inside, keep_domain_checks)
        grown = live | {h.name for h in loop.headers if h.name in inside}
        if grown == live:
            break
        live = grown
    kept = [i for i, h in enumerate(loop.headers) if h.name in live]
    carries_only_its_condition = loop.cond is not None and len(kept) == 1
    if not read_after and not any(not isinstance(s, Assign) for s in walk(body)):
        if not kept or carries_only_its_condition:  # nothing read after it, no print, no tape
            return None
    loop = replace(
        loop,
        headers=[loop.headers[i] for i in kept],
        inits=[loop.inits[i] for i in kept],
        nexts=[loop.nexts[i] for i in kept],
        body=body,
    )
    bound = {v.name for v in defines(loop)} | assigned(loop.body)
    needed -= bound
    needed |= {v.name for e in loop.inits for v in variables(e)}
    if loop.iterable is not None:
        needed |= {v.name for v in variables(loop.iterable)}
    needed |= inside - bound
    return loop


def _checks_domain(expr) -> bool:
    return isinstance(expr, Call) and expr.prim.name in RESTRICTED_DOMAIN
