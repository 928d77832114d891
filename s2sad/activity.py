"""Activity analysis: which values carry a derivative with respect to the chosen inputs.

A value is *active* when it depends on a differentiated input through operations that have a
derivative. Inactive values (constants, values computed only from other inputs, comparisons) get no
derivative code at all: that is the structural zero of the notes' ``ẇ2 = 0``.

>>> from s2sad.ir import Var, Call, Assign, Function, Return
>>> from s2sad.primitives import PRIMITIVES
>>> body = [Assign(Var("w1"), Var("x")), Assign(Var("w2"), Var("y")),
...         Assign(Var("w3"), Call(PRIMITIVES["mul"], (Var("w2"), Var("w2")))), Return(Var("w3"))]
>>> sorted(active_names(Function("f", ("x", "y"), body), ("x",)))
['w1', 'x']
"""

from __future__ import annotations

from .errors import NotDifferentiableError
from .opaque import is_opaque, refusal, written
from .ir import Assign, Call, Function, If, Loop, Unpack, Var
from .naming import is_discard
from .primitives import called_function
from .derivatives import NO_DERIVATIVE, dropped_operands, has_derivative


def active_names(fn: Function, wrt: tuple) -> set:
    """Names of the variables of ``fn`` that depend on the parameters in ``wrt``.

    Raises :class:`NotDifferentiableError` where an active value flows into an operation with no rule.
    """
    active = set(wrt)
    _mark_block(fn.body, active, wrt)
    return active


def _mark_block(body: list, active: set, wrt: tuple) -> None:
    for stmt in body:
        if isinstance(stmt, Assign) and _is_active_assignment(stmt, active, wrt):
            active.add(stmt.target.name)
        elif isinstance(stmt, Unpack) and any(is_active(a, active) for a in stmt.value.args):
            # an adjoint rule's results, in a gradient differentiated again (forward.py)
            active.update(t.name for t in stmt.targets if not is_discard(t.name))
        elif isinstance(stmt, If):
            _mark_block(stmt.then, active, wrt)
            _mark_block(stmt.orelse, active, wrt)
        elif isinstance(stmt, Loop):
            # A carried value is active if it enters active or the body makes it active: iterate
            # until nothing changes (each round can only add names).
            while True:
                for header, init, nxt in zip(stmt.headers, stmt.inits, stmt.nexts):
                    if is_active(init, active) or is_active(nxt, active):
                        active.add(header.name)
                size = len(active)
                _mark_block(stmt.body, active, wrt)
                for header, nxt in zip(stmt.headers, stmt.nexts):
                    if is_active(nxt, active):
                        active.add(header.name)
                if len(active) == size:
                    break


def _is_active_assignment(stmt: Assign, active: set, wrt: tuple) -> bool:
    value = stmt.value
    if isinstance(value, Var):
        return value.name in active
    if not isinstance(value, Call):
        return False
    if not any(isinstance(a, Var) and a.name in active for a in value.args):
        return False
    positions, what, hint = dropped_operands(value)
    if any(is_active(value.args[i], active) for i in positions if i < len(value.args)):
        raise NotDifferentiableError(
            f"{what} have no derivative, and here they depend on the input(s) {', '.join(wrt)}",
            stmt.loc,
            hint,
        )
    if value.prim.name in NO_DERIVATIVE:
        return False
    if is_opaque(value.prim):
        error, message, hint = refusal(value.prim, wrt)
        raise error(message, stmt.loc, hint)
    if not has_derivative(value.prim.name) and called_function(value.prim) is None:
        raise NotDifferentiableError(
            f"{_describe(value)} has no derivative, and the value it is applied to depends on "
            f"the input(s) {', '.join(wrt)}",
            stmt.loc,
            "differentiate with respect to other inputs, or compute this from constants only",
        )
    return True


def _describe(call: Call) -> str:
    if is_opaque(call.prim):
        return f"`{written(call.prim)}`"
    if call.prim.style == "attr":
        return f"reading the attribute `.{dict(call.params)['attr']}`"
    if call.prim.style in ("infix", "prefix"):
        return f"the operator `{call.prim.symbol}`"
    return f"`{call.prim.symbol}`"


def is_active(expr, active: set) -> bool:
    return isinstance(expr, Var) and expr.name in active
