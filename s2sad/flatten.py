"""Trace form for derivative programs, so that they can be differentiated again.

A gradient program nests expressions (``w1_bar = w4_bar * cos(w1) + w3_bar * w2``), while the tangent
transform reads statements as a trace writes them: one primitive applied to variables and constants.
:func:`flatten` names every inner operation, as lowering names the steps of the user's code.

A conditional expression ``a if c else b`` runs only the arm it picks, and the other may divide by
zero or read a value that only a branch not taken defines (``1.0 if w4 else 1.0 / x``). An arm that
computes something therefore becomes a branch of an ``If`` that computes it, followed by the merge
``w = a if c else b`` that a trace uses after every ``if``.

>>> from s2sad.ir import Var, Assign, Function, Return
>>> from s2sad.primitives import PRIMITIVES
>>> x, y = Var("x"), Var("y")
>>> fn = Function("f", ("x", "y"), [Assign(Var("w"), x * y + x), Return(Var("w"))])
>>> [f"{s.target} = {s.value}" for s in flatten(fn).body[:-1]]
['w_1 = x * y', 'w = w_1 + x']
"""

from __future__ import annotations

from dataclasses import replace

from .ir import Assign, Call, Expr, Function, If, Loop, Return, Unpack, Var
from .naming import Names
from .traversal import map_structure


def flatten(fn: Function) -> Function:
    """``fn`` with one operation per assignment, every loop's initial and next values and every
    returned value a variable or a constant."""
    return replace(fn, body=_Flattener(Names.of(fn)).block(fn.body))


class _Flattener:
    def __init__(self, names: Names):
        self.names = names

    def fresh(self, stem: str) -> Var:
        return Var(self.names.numbered(stem))

    def block(self, statements: list) -> list:
        out: list = []
        for stmt in statements:
            if isinstance(stmt, Assign):
                value = self.operation(stmt.value, out, stmt.target.name, stmt.loc)
                out.append(Assign(stmt.target, value, stmt.loc))
            elif isinstance(stmt, If):
                out.append(
                    replace(stmt, then=self.block(stmt.then), orelse=self.block(stmt.orelse))
                )
            elif isinstance(stmt, Loop):
                pairs = list(zip(stmt.headers, stmt.inits, stmt.nexts))
                inits = [self.atom(e, out, h.name, stmt.loc) for h, e, _ in pairs]
                body = self.block(stmt.body)
                nexts = [self.atom(e, body, h.name, stmt.loc) for h, _, e in pairs]
                out.append(replace(stmt, inits=inits, body=body, nexts=nexts))
            elif isinstance(stmt, Return):
                value = map_structure(lambda e: self.atom(e, out, "result", stmt.loc), stmt.value)
                out.append(Return(value, stmt.loc))
            elif isinstance(stmt, Unpack):  # an adjoint rule's call: its arguments named
                args = tuple(self.atom(a, out, "arg", stmt.loc) for a in stmt.value.args)
                out.append(replace(stmt, value=replace(stmt.value, args=args)))
            else:  # comments, effects, tapes: nothing to differentiate inside
                out.append(stmt)
        return out

    def operation(self, expr: Expr, out: list, stem: str, loc) -> Expr:
        """``expr`` as one primitive applied to atoms; the statements computing those atoms are
        appended to ``out`` and named after ``stem``."""
        if not isinstance(expr, Call):
            return expr
        if expr.prim.name == "select":
            return self.select(expr, out, stem, loc)
        args = tuple(self.atom(a, out, stem, loc) for a in expr.args)
        return Call(expr.prim, args, expr.params)

    def atom(self, expr: Expr, out: list, stem: str, loc) -> Expr:
        """A variable or constant holding ``expr``'s value."""
        if not isinstance(expr, Call):
            return expr
        var = self.fresh(stem)
        out.append(Assign(var, self.operation(expr, out, stem, loc), loc))
        return var

    def select(self, expr: Call, out: list, stem: str, loc) -> Call:
        """``a if c else b``: each arm that computes something is computed in its branch only."""
        cond, then, other = expr.args
        cond = self.atom(cond, out, stem, loc)
        if not isinstance(then, Call) and not isinstance(other, Call):
            return Call(expr.prim, (cond, then, other), expr.params)
        then_body: list = []
        else_body: list = []
        then = self.atom(then, then_body, stem, loc)
        other = self.atom(other, else_body, stem, loc)
        out.append(If(cond, then_body, else_body, loc))
        return Call(expr.prim, (cond, then, other), expr.params)
