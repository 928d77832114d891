"""Array temporaries read once, folded into the expression that reads them.

NumPy reuses the memory of a temporary array, one that no name refers to, for the result of
arithmetic on it: ``np.tanh(w2 * x + 0.5)`` computes ``w2 * x`` into a new array and adds ``0.5`` in
place, where ``w3 = w2 * x`` then ``w4 = w3 + 0.5`` allocates twice and keeps both arrays alive to
the end of the function. On large arrays (NumPy reuses temporaries from 256 KiB) fresh memory costs
as much as the arithmetic on it, so code compiled for known shapes, outside the teaching form, writes
an array read once by a later assignment of its block into that assignment. Expressions stay short
(at most :data:`MOST_CALLS` operations are folded into one), and a value is never moved past a
statement that rebinds a name it reads (a loop's carried values).

>>> from s2sad.ir import Assign, Return, Var, Call
>>> from s2sad.primitives import PRIMITIVES
>>> from s2sad.shapes import Kind
>>> x, a, b = Var("x"), Var("a"), Var("b")
>>> body = [Assign(a, x * x), Assign(b, Call(PRIMITIVES["np.sin"], (a + 1.0,))), Return(b)]
>>> first, last = folded(body, {"x": Kind((3,), "<f8")})
>>> first.target, first.value, last.value
(b, np.sin(x * x + 1.0), b)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from .algebra import substitute
from .ir import Assign, Call, Effect, Function, If, Return
from .traversal import assigned, blocks, stmt_exprs, subexprs, variables, walk
from .optimize import rebound
from .shapes import infer

MOST_CALLS = 5  # operations in one folded value: beyond this a name reads better than nesting


def folded(body: list, params: dict) -> list:
    """``body`` with its single-use array temporaries folded into their readers (``params``: the
    parameters' kinds, name -> :class:`~s2sad.shapes.Kind`)."""
    known = infer(Function("", tuple(params), body), params).known
    reads = Counter(v.name for s in walk(body) for e in stmt_exprs(s) for v in variables(e))
    returned = {name for s in walk(body) if isinstance(s, Return) for name in _reads(s)}
    carried = rebound(body)

    def foldable(stmt) -> bool:
        kind = known.get(stmt.target.name)
        return (
            isinstance(stmt.value, Call)
            and kind is not None
            and kind.is_array
            and reads[stmt.target.name] == 1
            and stmt.target.name not in carried | returned  # kept in place, named
            and _calls(stmt.value) <= MOST_CALLS
        )

    return _fold_block(body, foldable)


def _fold_block(body: list, foldable) -> list:
    pending: dict = {}  # name -> its (already folded) definition, not yet written out
    result: list = []
    for stmt in body:
        if isinstance(stmt, Assign):
            used = {v.name for v in variables(stmt.value)} & pending.keys()
            value = substitute(stmt.value, {name: pending.pop(name).value for name in used})
            stmt = Assign(stmt.target, value, stmt.loc)
        # whatever this statement reads otherwise, or rebinds under a pending value, is written out;
        # before a call run for its effect (entering a context, a `raise`), everything is
        needed = _reads(stmt) | _rebinds_under(stmt, pending)
        if any(isinstance(s, Effect) for s in walk([stmt])):
            needed |= pending.keys()
        result.extend(pending.pop(name) for name in list(pending) if name in needed)
        if isinstance(stmt, Assign) and foldable(stmt):
            pending[stmt.target.name] = stmt
            continue
        nested = [_fold_block(block, foldable) for block in blocks(stmt)]
        result.append(_with_blocks(stmt, nested) if nested else stmt)
    return result + list(pending.values())


def _reads(stmt) -> set:
    """Names ``stmt`` reads, in its nested blocks too."""
    return {v.name for s in walk([stmt]) for e in stmt_exprs(s) for v in variables(e)}


def _rebinds_under(stmt, pending: dict) -> set:
    """The pending values that read a name ``stmt`` binds, which must be computed before it."""
    bound = assigned([stmt])
    return {
        name
        for name, definition in pending.items()
        if bound & {v.name for v in variables(definition.value)}
    }


def _calls(expr) -> int:
    return sum(isinstance(e, Call) for e in subexprs(expr))


def _with_blocks(stmt, nested: list):
    """``stmt`` (an ``if`` or a loop) with its blocks replaced, in the order :func:`blocks` gives."""
    if isinstance(stmt, If):
        return replace(stmt, then=nested[0], orelse=nested[1])
    return replace(stmt, body=nested[0])
