"""Forward mode: turn a trace into its tangent program.

Every active ``wi`` gets a ``wi_dot`` computed right after it, in the same sweep, by the rule of the
notes (seed 000): ``ẇi = Σ_j ∂wi/∂wj · ẇj`` over the active arguments ``wj``. The tangent program takes
the primal inputs and one tangent per differentiated input (``x1_dot``), and returns the primal output
and its tangent.

>>> from s2sad.ir import Var, Call, Assign, Function, Return
>>> from s2sad.primitives import PRIMITIVES
>>> body = [Assign(Var("w1"), Var("x")), Assign(Var("w2"), Call(PRIMITIVES["sin"], (Var("w1"),))),
...         Return(Var("w2"))]
>>> jvp = tangent(Function("f", ("x",), body), ("x",))
>>> [f"{s.target} = {s.value}" for s in jvp.body if isinstance(s, Assign)]
['w1 = x', 'w1_dot = x_dot', 'w2 = sin(w1)', 'w2_dot = cos(w1) * w1_dot']
"""

from __future__ import annotations

from .activity import active_names
from .algebra import is_zero
from .array_rules import np_call
from .custom import adjoint_rule_called, is_custom_call, tangent_call
from .derivatives import NO_DERIVATIVE, derivative
from .errors import located_at
from .ir import (
    Comment,
    Pop,
    Push,
    Unpack,
    If,
    Loop,
    Assign,
    Call,
    Const,
    Effect,
    Function,
    Return,
    Var,
)
from .naming import Names, is_discard
from .traversal import map_structure
from .primitives import called_function, user_call
from .shapes import Kinds
from .vector_mode import Batched, NotVectorizableError, Slopes, vector_tangent


def tangent(trace: Function, wrt: tuple, kinds: Kinds | None = None) -> Function:
    """The tangent program of ``trace`` with respect to the parameters named in ``wrt``; ``kinds``
    says which values are arrays of which shapes (by default, all are numbers). With
    :class:`~s2sad.vector_mode.Batched` kinds, every tangent has a leading axis of directions."""
    active = active_names(
        trace, wrt
    )  # raises where an active value meets an operation with no rule
    names = Names.of(trace)
    dots: dict = {name: Var(names.dot(name)) for name in wrt}
    kinds = kinds or Kinds(arrays=False)
    slopes = Slopes(kinds, names) if isinstance(kinds, Batched) else None
    body = _tangent_block(trace.body, dots, active, kinds, names, slopes)
    params = trace.params + tuple(dots[name].name for name in wrt)
    return Function(f"{trace.name}_jvp", params, body)


def _tangent_block(
    statements: list, dots: dict, active: set, kinds: Kinds, names: Names, slopes=None
) -> list:
    """``statements`` with each active assignment followed by its tangent. ``dots`` maps a variable's
    name to its tangent variable and is shared by nested blocks: a merge after an ``if`` reads the
    tangents of both branches (lazily, like the values). ``names`` names the tangents. In vector
    mode, ``slopes`` factors the elementwise statements (:class:`~s2sad.vector_mode.Slopes`)."""
    body: list = []
    for stmt in statements:
        fn = recursive_callee(stmt)
        if fn is not None and any(getattr(a, "name", None) in dots for a in stmt.value.args):
            if isinstance(kinds, Batched):
                raise NotVectorizableError(f"`{fn.__name__}` calls itself")
            # y, y_dot = _f_jvp(x..., x_dot...): the tangent program generated for f, for all inputs
            dot = dots[stmt.target.name] = Var(names.dot(stmt.target.name))
            args = stmt.value.args
            arg_dots = tuple(dots.get(getattr(a, "name", None), Const(0.0)) for a in args)
            call = Call(user_call(fn, "jvp"), args + arg_dots)
            body.append(Unpack((stmt.target, dot), call, stmt.loc))
            continue
        if isinstance(stmt, Assign):
            body.append(stmt)
            factored = slopes.tangent(stmt, dots) if slopes and not _opaque(stmt.value) else None
            if factored:
                body.extend(factored)
                continue
            derivative = _tangent_of(stmt, dots, kinds)
            if derivative is not None and not is_zero(derivative):
                dot = Var(names.dot(stmt.target.name))
                body.append(Assign(dot, derivative, stmt.loc))
                dots[stmt.target.name] = dot
        elif isinstance(stmt, Unpack) and adjoint_rule_called(stmt.value) is not None:
            body.append(_adjoint_rule_tangent(stmt, dots, kinds, names))
        elif isinstance(stmt, (Effect, Comment)):
            body.append(stmt)
        elif isinstance(stmt, Push):  # a tape (of a gradient program) saves tangents beside values
            body.append(Push(stmt.tape, with_tangents(stmt.values, dots), stmt.loc))
        elif isinstance(stmt, Pop):
            body.append(Pop(stmt.tape, with_tangents(stmt.targets, dots), stmt.loc))
        elif isinstance(stmt, If):
            then = _tangent_block(stmt.then, dots, active, kinds, names, slopes and slopes.nested())
            orelse = _tangent_block(
                stmt.orelse, dots, active, kinds, names, slopes and slopes.nested()
            )
            body.append(If(stmt.cond, then, orelse, stmt.loc))
        elif isinstance(stmt, Loop):
            body.append(_tangent_loop(stmt, dots, active, kinds, names, slopes and slopes.nested()))
        elif isinstance(stmt, Return):
            out_dot = map_structure(lambda leaf: _output_dot(leaf, dots, kinds), stmt.value)
            body.append(Return((stmt.value, out_dot), stmt.loc))
        else:
            raise TypeError(f"tangent: unexpected statement {stmt!r}")
    return body


def with_tangents(values, dots: dict) -> tuple:
    """``values`` followed by the tangents of those that have one: what a tape of a gradient
    program holds once it is differentiated again, so a reverse loop gets back both."""
    return tuple(values) + tuple(dots[v.name] for v in values if v.name in dots)


def recursive_callee(stmt):
    """The Python function an assignment calls, if it is a (recursive) call left in the trace."""
    if isinstance(stmt, Assign) and isinstance(stmt.value, Call):
        found = called_function(stmt.value.prim)
        if found is not None and found[0] == "call":
            return found[1]
    return None


def _tangent_loop(loop: Loop, dots: dict, active: set, kinds: Kinds, names: Names, slopes) -> Loop:
    """The loop with a tangent carried beside each active carried value."""
    carried = [i for i, header in enumerate(loop.headers) if header.name in active]
    for i in carried:
        dots[loop.headers[i].name] = Var(names.dot(loop.headers[i].name))
    body = _tangent_block(loop.body, dots, active, kinds, names, slopes)
    target = loop.target
    if target is not None:  # a loop over a tape rebinds the values it saved, and their tangents
        targets = with_tangents(target if isinstance(target, tuple) else (target,), dots)
        target = targets if len(targets) > 1 else targets[0]

    def dot_of(expr):
        """The tangent a carried value enters with: zeros of its shape if it is inactive."""
        if getattr(expr, "name", None) in dots:
            return dots[expr.name]
        return _zero(expr, kinds)

    return Loop(
        loop.headers + [dots[loop.headers[i].name] for i in carried],
        loop.inits + [dot_of(loop.inits[i]) for i in carried],
        body,
        loop.nexts + [dot_of(loop.nexts[i]) for i in carried],
        target,
        loop.iterable,
        loop.cond,
        loop.loc,
        loop.exit,
    )


def _adjoint_rule_tangent(stmt: Unpack, dots: dict, kinds: Kinds, names: Names) -> Unpack:
    """``w3_bar_1, w3_bar_1_dot = _f_adjoint_jvp(w2, w3, w3_bar, w2_dot, w3_dot, w3_bar_dot)``:
    a custom adjoint rule's results and their tangents, in a gradient differentiated again. The
    rule is plain Python, so its tangent program is generated beside the program like any other."""
    rule = adjoint_rule_called(stmt.value)
    if isinstance(kinds, Batched):
        raise NotVectorizableError(f"`{rule.__name__}` is a custom adjoint rule")
    args = stmt.value.args
    arg_dots = tuple(
        dots[a.name] if isinstance(a, Var) and a.name in dots else _zero(a, kinds) for a in args
    )
    target_dots = []
    for target in stmt.targets:
        if not is_discard(target.name):
            dots[target.name] = Var(names.dot(target.name))
        target_dots.append(dots.get(target.name, Var(names.discard())))
    call = Call(user_call(rule, "jvp"), args + arg_dots)
    return Unpack(stmt.targets + tuple(target_dots), call, stmt.loc)


def _output_dot(leaf, dots: dict, kinds: Kinds):
    """The tangent an output is returned with: in vector mode, zeros of its batched shape if the
    output depends on no input, so that every returned tangent has the batch axis."""
    name = getattr(leaf, "name", None)
    if name in dots:
        return dots[name]
    return kinds.zeros(leaf) if isinstance(kinds, Batched) else Const(0.0)


def _zero(expr, kinds: Kinds):
    """The tangent of a value that depends on no input."""
    if isinstance(kinds, Batched):
        return kinds.zeros(expr)
    return Const(0.0) if kinds.is_scalar(expr) else np_call("zeros_like", expr)


def _opaque(value) -> bool:
    """Whether a value's tangent comes from no rule (inactive) or from the user's own rule."""
    return isinstance(value, Call) and (value.prim.name in NO_DERIVATIVE or is_custom_call(value))


def _tangent_of(stmt: Assign, dots: dict, kinds: Kinds):
    """``ẇ`` for one statement, or ``None`` when the statement is inactive."""
    value = stmt.value
    if isinstance(value, Var):
        return dots.get(value.name)
    if not isinstance(value, Call) or value.prim.name in NO_DERIVATIVE:
        return None
    arg_dots = [dots.get(arg.name) if isinstance(arg, Var) else None for arg in value.args]
    if all(dot is None for dot in arg_dots):
        return None
    if is_custom_call(value):  # the user's tangent rule, called as it is, one direction at a time
        return tangent_call(value, stmt.target, arg_dots, kinds, isinstance(kinds, Batched))
    with located_at(stmt.loc):
        if isinstance(kinds, Batched):
            return vector_tangent(value, stmt.target, kinds)(arg_dots)
        return derivative(value, stmt.target, kinds).tangent(arg_dots)
