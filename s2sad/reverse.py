"""Reverse mode: turn a trace into its adjoint program.

The forward sweep is the trace itself. The reverse sweep walks it backwards and computes every useful
``wi_bar = ∂y/∂wi`` by the rule of the notes (seed 000): ``w̄j = Σ_i w̄i · ∂wi/∂wj`` over the statements
``i`` that read ``wj``. Each adjoint is written once, as the sum of all its contributions, at the point
where the last contribution is known (just before the statement that defined its variable, walking
backwards): no adjoint is initialised to zero and then added to.

>>> from s2sad.ir import Var, Call, Assign, Function, Return, Const
>>> from s2sad.primitives import PRIMITIVES
>>> body = [Assign(Var("w1"), Var("x")), Assign(Var("w2"), Call(PRIMITIVES["sin"], (Var("w1"),))),
...         Return(Var("w2"))]
>>> sweep = adjoint(Function("f", ("x",), body), ("x",), Const(1.0))
>>> [f"{s.target} = {s.value}" for s in sweep.reverse]
['w2_bar = 1.0', 'w1_bar = w2_bar * cos(w1)']
>>> sweep.grads
(w1_bar,)
"""

from __future__ import annotations

from dataclasses import dataclass

from .activity import active_names, is_active
from .algebra import apply, assume, is_zero, total
from .ir import (
    Assign,
    Call,
    Function,
    If,
    Return,
    Var,
    assigned,
    fresh_name,
    leaves,
    reserved_names,
)
from .rules import NO_DERIVATIVE, partials


def bar_name(name: str) -> str:
    return f"{name}_bar"


@dataclass
class Sweeps:
    """The pieces of an adjoint program, assembled into functions by :mod:`s2sad.pipeline`."""

    forward: list  # the primal sweep: the trace's assignments and effects
    reverse: list  # the reverse sweep: one assignment per useful adjoint
    output: object  # the primal output structure
    grads: tuple  # per differentiated parameter, the expression of its adjoint


def adjoint(trace: Function, wrt: tuple, seeds) -> Sweeps:
    """The adjoint sweeps of ``trace`` with respect to the parameters in ``wrt``.

    ``seeds`` has the shape of the output and gives each output's adjoint: ``Const(1.0)`` for a
    gradient, parameter variables (``y_bar``) for a vector-Jacobian product.
    """
    active = active_names(trace, wrt)
    *statements, ret = trace.body
    assert isinstance(ret, Return)
    contributions: dict = {}
    for leaf, seed in zip(leaves(ret.value), leaves(seeds)):
        if is_active(leaf, active):
            contributions.setdefault(leaf.name, []).append(seed)
    reverse = _reverse_block(statements, contributions, active)

    grads = []
    for name in wrt:
        terms = contributions.get(name, [])
        if len(terms) == 1 and isinstance(terms[0], Var):
            grads.append(terms[0])  # the notes return w1_bar itself for the input copied to w1
        elif terms:
            bar = Var(fresh_name(bar_name(name), reserved_names(trace)))
            reverse.append(Assign(bar, total(terms), trace.body[0].loc))
            grads.append(bar)
        else:
            grads.append(total([]))  # the output does not depend on this input: a true zero
    return Sweeps(statements, reverse, ret.value, tuple(grads))


def _reverse_block(statements: list, contributions: dict, active: set) -> list:
    """The reverse sweep of ``statements``. ``contributions`` maps a variable to the terms of its
    adjoint: those of variables defined here are consumed, the rest are left for the code before."""
    reverse: list = []
    for stmt in reversed(statements):
        if isinstance(stmt, If):
            reverse.extend(_reverse_if(stmt, contributions, active))
        if not isinstance(stmt, Assign) or stmt.target.name not in contributions:
            continue
        bar = Var(bar_name(stmt.target.name))
        reverse.append(Assign(bar, total(contributions.pop(stmt.target.name)), stmt.loc))
        for arg, slope in _slopes(stmt, active):
            term = bar * slope
            if not is_zero(term):
                contributions.setdefault(arg.name, []).append(term)
    return reverse


def _reverse_if(stmt: If, contributions: dict, active: set) -> list:
    """Reverse each branch under the same condition. A variable from before the ``if`` gets one term:
    ``(its adjoint from the then-branch) if cond else (its adjoint from the else-branch)``."""
    exports = []
    reversed_branches = []
    for block, truth in ((stmt.then, True), (stmt.orelse, False)):
        local = assigned(block)
        inner = {
            name: [assume(term, stmt.cond, truth) for term in contributions.pop(name)]
            for name in list(contributions)
            if name in local
        }
        reversed_branches.append(_reverse_block(block, inner, active))
        exports.append(inner)
    then_terms, else_terms = exports
    for name in then_terms.keys() | else_terms.keys():
        term = select(stmt.cond, total(then_terms.get(name, [])), total(else_terms.get(name, [])))
        contributions.setdefault(name, []).append(term)
    if any(reversed_branches):
        return [If(stmt.cond, *reversed_branches, stmt.loc)]
    return []


def select(cond, then, other):
    return apply("select", cond, then, other)


def _slopes(stmt: Assign, active: set):
    """``(argument, ∂target/∂argument)`` for each active argument of ``stmt``."""
    value = stmt.value
    if isinstance(value, Var):
        return [(value, 1)] if is_active(value, active) else []
    if not isinstance(value, Call) or value.prim.name in NO_DERIVATIVE:
        return []
    used = [(i, arg) for i, arg in enumerate(value.args) if is_active(arg, active)]
    if not used:
        return []
    slopes = partials(value.prim.name, value.args, stmt.target)
    return [(arg, slopes[i]) for i, arg in used]
