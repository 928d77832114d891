"""Derivative functions generated beside a program: for a recursive call, ``_f_jvp`` (forward mode)
and ``_f_fwd``/``_f_bwd`` (reverse mode), each with respect to every input of ``f``; for the call to
a custom adjoint rule in a gradient differentiated again, ``_f_adjoint_jvp``, the rule's own tangent.
"""

from __future__ import annotations


from .custom import ROLES, CustomRuleError
from .errors import (
    NonScalarOutputError,
)
from .ir import Call, Unpack, Function, Return, Var
from .naming import Names
from .traversal import several, stmt_exprs, subexprs, walk
from .primitives import called_function, user_call
from .trees import describe_output

from .programs import split_vjp_programs, tangent_program
from .traces import trace_of


def _adjoint_rule_jvp(trace: Function, rule) -> Function:
    """``_f_adjoint_jvp(x..., out, out_bar, x_dot..., out_dot, out_bar_dot)``: the tangent program of
    an adjoint rule, returning its adjoints then their tangents, as one flat tuple."""
    final = trace.body[-1]
    count = len(trace.params) - 2  # one adjoint per argument of the function the rule belongs to
    if not (isinstance(final.value, tuple) and len(final.value) == count):
        raise CustomRuleError(
            f"the adjoint rule `{rule.__name__}` must return a tuple of {count} adjoint(s), one "
            "per argument",
            final.loc,
            "return (x_bar,) for one argument",
        )
    jvp = tangent_program(trace, trace.params, teaching=False)
    values, dots = jvp.body[-1].value
    jvp.body[-1] = Return(tuple(values) + tuple(dots), final.loc)
    jvp.name = user_call(rule, "jvp").symbol
    return jvp


def helper_programs(functions: list) -> list:
    """The derivative functions generated for the recursive calls ``functions`` make, and for those
    they make in turn: ``_f_jvp`` (forward mode), ``_f_fwd`` and ``_f_bwd`` (reverse mode), each
    with respect to every input of ``f``."""
    helpers: list = []
    made: set = set()
    pending = list(functions)
    while pending:
        program = pending.pop()
        for stmt in walk(program.body):
            for expr in stmt_exprs(stmt):
                for call in (e for e in subexprs(expr) if isinstance(e, Call)):
                    found = called_function(call.prim)
                    if found is None or found[0] == "call":
                        continue
                    kind, fn = found
                    group = ("jvp" if kind == "jvp" else "vjp", id(fn))
                    if group not in made:
                        made.add(group)
                        new = _recursion_helpers(kind, fn)
                        helpers += new
                        pending += new
    return helpers


def _recursion_helpers(kind: str, fn) -> list:
    trace = trace_of(fn)
    if id(fn) in ROLES:  # an adjoint rule, differentiated for a second derivative
        return [_adjoint_rule_jvp(trace, fn)]
    if several(trace.body[-1].value):
        raise NonScalarOutputError(
            f"`{fn.__name__}` calls itself and returns {describe_output(trace.body[-1].value)}; a "
            "recursive function must return a number",
            trace.body[-1].loc,
            "return one number, or turn the recursion into a loop",
        )
    inputs = trace.params
    if kind == "jvp":
        jvp = tangent_program(trace, inputs, teaching=False)
        jvp.name = user_call(fn, "jvp").symbol
        return [jvp]
    fwd, bwd = split_vjp_programs(trace, inputs)
    residuals = bwd.params[:-1]
    fwd.name, bwd.name = user_call(fn, "fwd").symbol, user_call(fn, "bwd").symbol
    packed = Names.of(bwd).fresh("_residuals")
    unpack = [Unpack(tuple(Var(r) for r in residuals), Var(packed))] if residuals else []
    bwd.params = (packed, bwd.params[-1])
    bwd.body = unpack + bwd.body
    return [fwd, bwd]
