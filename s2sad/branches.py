"""Lowering of branches: ``if``/``elif``/``else``, ``a if c else b``, comparisons, ``and``/``or``/``not``,
and ``return`` from inside a branch.

Each branch lowers into a block of its own, from a copy of the names in scope. Where the two branches
leave a name bound to different values, a merge follows the ``If``: ``w7 = w5 if w4 else w6``, the phi
node of SSA written as Python that runs (it reads only the branch that ran). ``and``, ``or`` and
conditional expressions evaluate their operands lazily, as Python does, so an operand that would fail
(``x > 0 and math.log(x) > 1``) is never evaluated when Python would not evaluate it.

A ``return`` inside a branch binds the function's result in that branch. When one branch always
returns, the code after the ``if`` is lowered into the other branch; when a branch only may return,
the code after it runs under ``if not returned``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import libcst as cst

from .errors import Location
from .ir import Const, Expr, If, ListValue, Var
from .primitives import COMPARISONS, NOT, SELECT
from .records import FieldTuple, Record, field_tuple

RETURNED = "<returned>"  # environment key: whether the function has returned on this path
RESULT = "<result>"  # environment key: what it returned
BROKE = "<broke>"  # environment key: whether this path left the loop with `break`
CONTINUED = "<continued>"  # environment key: whether this path skipped to the next iteration
EXITS = (RETURNED, BROKE, CONTINUED)
STOPPED = "<stopped>"  # environment key: the side of an `if not stopped` guard that had stopped
RAISED = "<raised>"  # environment key: this path raised an exception (see s2sad.checks)

_COMPARE = {
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
    cst.Equal: "==",
    cst.NotEqual: "!=",
}


@dataclass(frozen=True)
class Unbound:
    """A name bound on some paths only (one branch of an ``if``, the body of a loop): using it
    afterwards is an error."""

    name: str
    location: Location
    why: str = ""
    hint: str = "assign it before, on every path"

    def message(self) -> str:
        return (
            self.why
            or f"`{self.name}` is assigned in only one branch of the `if` on line {self.location.line}"
        )


def _placeholder(value):
    """A stand-in of the same shape as ``value`` for a path on which it is never read."""
    if isinstance(value, Record):
        return replace(value, values=_placeholder(value.values))
    if isinstance(value, FieldTuple):
        return field_tuple(_placeholder(tuple(value)), value.tree, value.name, value.cls)
    if isinstance(value, tuple):
        return type(value)(_placeholder(v) for v in value)  # a tuple or a ListValue
    return Const(None)


def always_returns(statements, exits=(cst.Return, cst.Raise)) -> bool:
    """Whether every path through ``statements`` ends in ``return`` or ``raise`` (or another of
    ``exits``), judged from the syntax."""
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return any(isinstance(small, exits) for small in last.body)
    if isinstance(last, cst.If):
        orelse = _else_statements(last)
        return (
            orelse is not None
            and always_returns(_statements(last.body), exits)
            and always_returns(orelse, exits)
        )
    return False


def always_exits(statements) -> bool:
    """Whether every path through ``statements`` ends in ``return``, ``raise``, ``break`` or
    ``continue``."""
    return always_returns(statements, (cst.Return, cst.Raise, cst.Break, cst.Continue))


def _raises(statements) -> bool:
    """Whether every path through ``statements`` ends in ``raise``."""
    return always_returns(statements, (cst.Raise,))


def has_exited(env: dict) -> bool:
    """Whether the path ``env`` describes has returned, raised, broken out or continued."""
    return (
        env.get(STOPPED, False)
        or RAISED in env
        or any(env.get(flag) == Const(True) for flag in EXITS)
    )


def _statements(body) -> list:
    """The statements of an indented block, or of a one-line suite (``if c: return x``)."""
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return list(body.body)


def _else_statements(node: cst.If):
    if node.orelse is None:
        return None
    if isinstance(node.orelse, cst.If):  # elif
        return [node.orelse]
    return _statements(node.orelse.body)


class BranchLowering:
    """The branch-lowering half of :class:`s2sad.lower.Lowering`."""

    def if_statement(self, node: cst.If, rest: list) -> None:
        cond = self.condition(node.test)
        then = _statements(node.body)
        orelse = _else_statements(node) or []
        if isinstance(cond, Const):  # known while lowering (`w is None`): only that branch runs
            self.block((then if cond.value else orelse) + rest)
            return
        # A branch that raises reaches nothing after the `if`, so the code after it needs no
        # nesting: it follows the `if`, where only the other branch leads (see _merge).
        if always_exits(then) and not always_exits(orelse) and not _raises(then):
            orelse, rest = orelse + rest, []
        elif always_exits(orelse) and not always_exits(then) and not _raises(orelse):
            then, rest = then + rest, []
        self.branch(cond, lambda: self.block(then), lambda: self.block(orelse), node)
        self.after_branch(rest, node)

    def after_branch(self, rest: list, node) -> None:
        """Lower the statements after an ``if`` (or a loop), under ``if not stopped`` where some path
        may have returned, broken out or continued."""
        flags = [self.env.get(flag, Const(False)) for flag in EXITS]
        if has_exited(self.env) or not rest:
            return
        live = [flag for flag in flags if flag != Const(False)]
        if not live:
            self.block(rest)
            return
        stopped = live[0]
        for flag in live[1:]:  # stopped or flag
            stopped = self.emit(SELECT, (stopped, stopped, flag), node)
        still_running = self.emit(NOT, (stopped,), node)
        self.branch(
            still_running, lambda: self.block(rest), self._mark_stopped, node, always_returns(rest)
        )

    def _mark_stopped(self) -> None:
        """The other side of ``if not stopped``: a path that has already returned or left."""
        self.env[STOPPED] = True

    def branch(self, cond: Expr, lower_then, lower_else, node, settled: bool = False) -> None:
        """Lower two branches under ``cond`` and merge what they bind (``settled``: every path
        has returned by the end)."""
        before = dict(self.env)
        then_body, then_env = self._lower_in_block(lower_then, before)
        else_body, else_env = self._lower_in_block(lower_else, before)
        if then_body or else_body:
            self.body.append(If(cond, then_body, else_body, self.source.location(node)))
        self.env = self._merge(cond, before, then_env, else_env, node, settled)

    def _lower_in_block(self, lower, env: dict):
        outer_body, self.body, self.env = self.body, [], dict(env)
        try:
            lower()
            return self.body, self.env
        finally:
            self.body = outer_body

    def _merge(
        self, cond, before: dict, then_env: dict, else_env: dict, node, settled=False
    ) -> dict:
        """The names after the ``if``. A merge may read only what is defined on every path into it:
        where one path has stopped (returned, broken out, continued) and the other bound a name the
        stopped one did not, the stopped path gets a placeholder ``None`` that is never read. A
        path that raised reaches nothing after the ``if``: the names are the other path's."""
        if RAISED in then_env or RAISED in else_env:
            merged = dict(then_env if RAISED in else_env else else_env)
            if settled and merged.get(RETURNED, Const(False)) != Const(False):
                merged[RETURNED] = Const(True)  # the other path returned or raised
            return merged
        merged = {}
        then_done, else_done = has_exited(then_env), has_exited(else_env)
        for name in then_env.keys() | else_env.keys():
            if name in EXITS or name in (RESULT, STOPPED):
                continue
            unbound = self._loop_variable(name, then_env.get(name), else_env.get(name), node)
            if unbound is not None:
                merged[name] = unbound
            elif name in then_env and name in else_env:
                merged[name] = self._merge_values(cond, then_env[name], else_env[name], node)
            elif then_done != else_done and name in (else_env if then_done else then_env):
                value = (else_env if then_done else then_env)[name]
                placeholder = _placeholder(value)
                pair = (placeholder, value) if then_done else (value, placeholder)
                merged[name] = self._merge_values(cond, *pair, node)
            else:
                merged[name] = Unbound(name, self.source.location(node))
        for flag in EXITS:
            pair = (then_env.get(flag, Const(False)), else_env.get(flag, Const(False)))
            if pair != (Const(False), Const(False)):
                settle = settled and flag == RETURNED
                merged[flag] = Const(True) if settle else self._merge_values(cond, *pair, node)
        results = [then_env.get(RESULT), else_env.get(RESULT)]
        if results != [None, None]:  # a placeholder where a path has no result: it is never read
            present = next(r for r in results if r is not None)
            then_result, else_result = (
                r if r is not None else _placeholder(present) for r in results
            )
            merged[RESULT] = self._merge_values(cond, then_result, else_result, node)
        return merged

    def _loop_variable(self, name: str, then, other, node) -> Unbound | None:
        """A loop's variable, set in one branch only, has a value after the ``if`` only where the
        loop ran an iteration: merging it would read it where Python does not. Reading it after
        the ``if`` is refused instead."""
        for value in (then, other):
            line = self.loop_targets.get(getattr(value, "name", None))
            if line is not None and then != other:
                why = (
                    f"`{name}` is the variable of the loop on line {line}, inside one branch of the "
                    f"`if` on line {self.source.location(node).line}: it has a value only if the "
                    "loop ran"
                )
                return Unbound(name, self.source.location(node), why, "assign it before the loop")
        return None

    def _merge_values(self, cond: Expr, then, other, node):
        if then == other and isinstance(then, ListValue) == isinstance(other, ListValue):
            return then  # (a list equals a tuple of the same values, but is not one)
        if isinstance(then, Unbound) or isinstance(other, Unbound):
            return then if isinstance(then, Unbound) else other
        if isinstance(then, (Record, FieldTuple)) or isinstance(other, (Record, FieldTuple)):
            return self.merged_records(cond, then, other, node)
        if isinstance(then, tuple) or isinstance(other, tuple):
            if not (
                isinstance(then, tuple)
                and isinstance(other, tuple)
                and len(then) == len(other)
                and isinstance(then, ListValue) == isinstance(other, ListValue)
            ):
                raise self.error(
                    node,
                    "the branches of this `if` leave a name bound to values of different shapes",
                    "return or assign tuples (or lists) of the same length in both branches",
                )
            merged = (self._merge_values(cond, a, b, node) for a, b in zip(then, other))
            return ListValue(merged) if isinstance(then, ListValue) else tuple(merged)
        return self.emit(SELECT, (cond, then, other), node)

    # --- expressions that branch ----------------------------------------------------------

    def lazy(self, node) -> tuple:
        """Lower ``node`` into a block of its own: ``(value, statements)``."""
        outer_body, self.body = self.body, []
        try:
            value = self.atom(self.expr(node), node)
            return value, self.body
        finally:
            self.body = outer_body

    def choose(
        self, cond: Expr, then, then_body: list, other, other_body: list, node, hint: str = ""
    ):
        """``then if cond else other``, each side computed only when chosen."""
        if then_body or other_body:
            self.body.append(If(cond, then_body, other_body, self.source.location(node)))
        return self.emit(SELECT, (cond, then, other), node, hint)

    def if_expression(self, node: cst.IfExp, hint: str = "") -> Var:
        cond = self.condition(node.test)
        if isinstance(cond, Const) and isinstance(cond.value, bool):  # x if kwargs else y
            return self.expr(node.body if cond.value else node.orelse, hint)
        then, then_body = self.lazy(node.body)
        other, other_body = self.lazy(node.orelse)
        return self.choose(cond, then, then_body, other, other_body, node, hint)

    def boolean_operation(self, node: cst.BooleanOperation, hint: str = "") -> Var:
        """``a and b`` is ``b if a else a``; ``a or b`` is ``a if a else b``, as Python evaluates them."""
        left = self.atom(self.expr(node.left), node.left)
        right, right_body = self.lazy(node.right)
        if isinstance(node.operator, cst.And):
            return self.choose(left, right, right_body, left, [], node, hint)
        return self.choose(left, left, [], right, right_body, node, hint)

    def comparison(self, node: cst.Comparison, hint: str = "") -> Var:
        """``a < b <= c`` is ``a < b and b <= c``, with ``b`` evaluated once."""
        left = self.atom(self.expr(node.left), node.left)
        result = None
        for target in node.comparisons:
            if isinstance(target.operator, (cst.Is, cst.IsNot)) and len(node.comparisons) == 1:
                return self.identity(left, target, node, hint)  # w is None
            symbol = _COMPARE.get(type(target.operator))
            if symbol is None:
                raise self.error(
                    target,
                    "only the comparisons < <= > >= == != are supported, and `is` or `is not` "
                    "on its own",
                    "compare numbers with these operators",
                )
            if result is None:
                right = self.atom(self.expr(target.comparator), target.comparator)
                result = _known(symbol, left, right)  # len(p) != 2, known while lowering
                if result is None:
                    result = self.emit(COMPARISONS[symbol], (left, right), node, hint)
            else:
                outer_body, self.body = self.body, []
                right = self.atom(self.expr(target.comparator), target.comparator)
                test = self.emit(COMPARISONS[symbol], (left, right), node)
                body, self.body = self.body, outer_body
                result = self.choose(result, test, body, result, [], node, hint)
            left = right
        return result

    def negation(self, node: cst.UnaryOperation, hint: str = "") -> Var:
        value = self.condition(node.expression)
        if isinstance(value, Const) and isinstance(value.value, bool):  # not args
            return Const(not value.value)
        return self.emit(NOT, (value,), node, hint)


def _known(symbol: str, left, right):
    """The comparison of two constants known while lowering (numbers, strings, None), or
    ``None``."""
    simple = (int, float, str, bool, type(None))
    if not all(isinstance(v, Const) and type(v.value) in simple for v in (left, right)):
        return None
    try:
        return Const(bool(COMPARISONS[symbol].impl(left.value, right.value)))
    except TypeError:  # None < 1: Python raises, and so does the code
        return None


def merged_result(lowering, node) -> object:
    """The function's result at its end: what every path returned, or None for paths that fell off."""
    returned = lowering.env.get(RETURNED, Const(False))
    if RAISED in lowering.env:  # every path raised: what follows a call of it never runs
        if lowering.caller is not None:
            lowering.caller.env[RAISED] = Const(True)
        if returned == Const(False):
            return Const(0.0)  # a stand-in result, after the `raise` every path runs
    if returned == Const(False):
        return Const(None)
    result = lowering.env[RESULT]
    if returned == Const(True):
        return result
    if isinstance(result, (tuple, Record)):
        raise lowering.error(
            node,
            "some paths return a tuple or a dict and others return nothing (None)",
            "end every path with a `return` of the same shape",
        )
    return lowering.emit(SELECT, (returned, result, Const(None)), node)
