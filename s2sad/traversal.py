"""Walking the IR: the expressions a statement evaluates, the blocks it nests, the names it binds,
every statement of a body in program order, the leaves of an output structure; and the checker of
a trace's invariant (see :mod:`s2sad.ir`).

>>> from s2sad.ir import Assign, Return, Var
>>> body = [Assign(Var("w3"), Var("w1") * Var("w2")), Return(Var("w3"))]
>>> sorted(v.name for s in walk(body) for e in stmt_exprs(s) for v in variables(e))
['w1', 'w2', 'w3']
"""

from __future__ import annotations

from typing import Callable, Iterator

from .ir import (
    Assign,
    Built,
    Call,
    Effect,
    Expr,
    Function,
    If,
    ListValue,
    Loop,
    Pop,
    Push,
    Ref,
    Return,
    Stmt,
    Structure,
    Unpack,
    Var,
)

# --- walking ------------------------------------------------------------------------------------


def leaves(value: Structure) -> Iterator[Expr]:
    """The expressions of an output structure, left to right."""
    if isinstance(value, (tuple, Built)):
        for item in value.items if isinstance(value, Built) else value:
            yield from leaves(item)
    else:
        yield value


def map_structure(fn: Callable[[Expr], object], value: Structure):
    """Apply ``fn`` to every expression of an output structure, keeping its shape."""
    if isinstance(value, tuple):
        items = (map_structure(fn, item) for item in value)
        return ListValue(items) if isinstance(value, ListValue) else tuple(items)
    if isinstance(value, Built):
        return Built(value.keys, map_structure(fn, value.items), value.cls)
    return fn(value)


def several(value: Structure) -> bool:
    """Whether an output structure holds several outputs (a tuple, a dict, a dataclass...)."""
    return isinstance(value, (tuple, Built))


def classes(value: Structure) -> Iterator[Ref]:
    """The classes an output structure constructs (``Out`` for ``Out(y=w3)``)."""
    if isinstance(value, tuple):
        for item in value:
            yield from classes(item)
    elif isinstance(value, Built):
        if value.cls is not None:
            yield value.cls
        yield from classes(value.items)


def subexprs(expr: Expr) -> Iterator[Expr]:
    """``expr`` and every expression inside it."""
    yield expr
    if isinstance(expr, Call):
        for arg in expr.args:
            yield from subexprs(arg)


def variables(expr: Expr) -> Iterator[Var]:
    """Every variable ``expr`` reads."""
    return (e for e in subexprs(expr) if isinstance(e, Var))


def stmt_exprs(stmt: Stmt) -> Iterator[Expr]:
    """The expressions a statement evaluates itself (not those of the blocks it contains; for a
    loop, its initial values, its iterable and its next values)."""
    if isinstance(stmt, (Assign, Effect, Unpack)):
        yield stmt.value
    elif isinstance(stmt, Return):
        yield from leaves(stmt.value)
        yield from classes(stmt.value)
    elif isinstance(stmt, If):
        yield stmt.cond
    elif isinstance(stmt, Loop):
        yield from stmt.inits
        if stmt.iterable is not None:
            yield stmt.iterable
        yield from stmt.nexts
        if stmt.exit is not None:
            yield stmt.exit
    elif isinstance(stmt, Push):
        yield stmt.tape
        yield from stmt.values
    elif isinstance(stmt, Pop):
        yield stmt.tape


def blocks(stmt: Stmt) -> tuple:
    """The statement lists nested in ``stmt``."""
    if isinstance(stmt, If):
        return (stmt.then, stmt.orelse)
    if isinstance(stmt, Loop):
        return (stmt.body,)
    return ()


def defines(stmt: Stmt) -> list:
    """The variables ``stmt`` itself binds (not those bound inside its blocks)."""
    if isinstance(stmt, Assign):
        return [stmt.target]
    if isinstance(stmt, Loop):
        targets = stmt.target if isinstance(stmt.target, tuple) else (stmt.target,)
        return list(stmt.headers) + [t for t in targets if t is not None]
    if isinstance(stmt, (Pop, Unpack)):
        return list(stmt.targets)
    return []


def walk(body: list) -> Iterator[Stmt]:
    """Every statement of ``body`` and of the blocks nested in it, in program order."""
    for stmt in body:
        yield stmt
        for block in blocks(stmt):
            yield from walk(block)


def assigned(body: list) -> set:
    """Names bound anywhere in ``body``, nested blocks included."""
    return {var.name for stmt in walk(body) for var in defines(stmt)}


def refs_used(fn: Function) -> Iterator[Ref]:
    for stmt in walk(fn.body):
        for expr in stmt_exprs(stmt):
            yield from (e for e in subexprs(expr) if isinstance(e, Ref))


# --- checking -----------------------------------------------------------------------------------


def check_trace(fn: Function) -> None:
    """Assert the trace invariant: fresh names, one primitive per statement, reads after writes.

    Run after lowering and after every pass over a trace; a failure is a compiler bug, not a user
    error, so it raises ``AssertionError``.
    """
    _check_block(fn.body, set(fn.params), fn.name)
    assert fn.body and isinstance(fn.body[-1], Return), f"{fn.name} does not end in a return"
    assert not any(isinstance(s, Return) for s in walk(fn.body[:-1])), f"{fn.name}: early return"


def _check_block(body: list, defined: set, name: str) -> None:
    for stmt in body:
        if isinstance(stmt, Loop):
            _check_loop(stmt, defined, name)
            continue
        for expr in stmt_exprs(stmt):
            for var in variables(expr):
                assert var.name in defined, f"{var.name} read before it is written in {name}"
        if isinstance(stmt, Unpack):
            defined.update(t.name for t in stmt.targets)
        if isinstance(stmt, Assign):
            assert stmt.target.name not in defined, f"{stmt.target.name} assigned twice in {name}"
            if isinstance(stmt.value, Call):
                nested = [a for a in stmt.value.args if isinstance(a, Call)]
                assert not nested, f"nested call in trace statement {stmt.target.name}"
            defined.add(stmt.target.name)
        for block in blocks(stmt):
            inner = set(defined)
            _check_block(block, inner, name)
            defined |= inner  # read after the If only by merges, in the arm of the branch that ran


def _check_loop(loop: Loop, defined: set, name: str) -> None:
    for expr in loop.inits + ([loop.iterable] if loop.iterable is not None else []):
        for var in variables(expr):
            assert var.name in defined, f"{var.name} read before it is written in {name}"
    inner = defined | {v.name for v in defines(loop)}
    _check_block(loop.body, inner, name)
    for expr in loop.nexts + ([loop.exit] if loop.exit is not None else []):
        for var in variables(expr):
            assert var.name in inner, f"{var.name} read before it is written in {name}"
    defined |= inner
