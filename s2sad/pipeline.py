"""The pipeline: Python function → SSA trace → derivative program → black-formatted source → code.

Each ``*_program`` function returns IR a reader can print at that stage; :func:`compiled` runs the
rest of the way and caches the result. The *teaching* form keeps every statement of the notes
(``w1 = x1``, ``w5_bar = 1.0``, ``w3_bar = w5_bar``); the optimised form propagates copies and
constants, so ``w3_bar * w2`` with ``w3_bar = 1.0`` becomes ``w2``, and drops dead code.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

from .codegen import module_source
from .execute import Compiled, cached, compile_source, origin_of, resolution_signature
from .forward import tangent
from .ir import (
    Comment,
    Const,
    Function,
    Return,
    Var,
    fresh_name,
    leaves,
    map_structure,
    reserved_names,
    stmt_exprs,
    variables,
)
from .lower import lower
from .optimize import eliminate_dead, propagate
from .reverse import adjoint

_traces: dict = {}


def trace_of(fn: types.FunctionType) -> Function:
    """The SSA trace of ``fn``, lowered once per definition."""
    key = (fn.__code__, resolution_signature(fn))
    trace = _traces.get(key)
    if trace is None:
        trace = _traces[key] = lower(fn)
    return trace


def _base(trace: Function, teaching: bool) -> Function:
    """The trace a transform starts from: as the notes write it, or with ``w1 = x1`` copies removed."""
    if teaching:
        return trace
    return Function(
        trace.name, trace.params, propagate(trace.body, keep=set()), trace.defaults, trace.doc
    )


def _optimize(body: list, keep: set, teaching: bool) -> list:
    if not teaching:
        body = eliminate_dead(propagate(body, keep), keep_domain_checks=True)
    if body and isinstance(body[0], Comment):  # the forward sweep was all dead: no divider needed
        body = body[1:]
    return body


def _names(exprs) -> set:
    return {e.name for e in exprs if isinstance(e, Var)}


def _wrt_text(wrt: tuple) -> str:
    return ", ".join(wrt)


def tangent_program(trace: Function, wrt: tuple, teaching: bool) -> Function:
    """``f_jvp(x..., x_dot...) -> (y, y_dot)``."""
    jvp = tangent(_base(trace, teaching), wrt)
    jvp.body = _optimize(jvp.body, set(), teaching)
    jvp.doc = f"Forward mode (tangent) of {trace.name} with respect to {_wrt_text(wrt)}."
    return jvp


def gradient_program(
    trace: Function, wrt: tuple, teaching: bool, with_value: bool, single: bool
) -> Function:
    """``f_grad(x...) -> grads`` (or ``(y, grads)``) for a function with one scalar output."""
    base = _base(trace, teaching)
    output = base.body[-1].value
    sweeps = adjoint(base, wrt, Const(1.0))
    grads = sweeps.grads[0] if single else sweeps.grads
    result = (output, grads) if with_value else grads
    body = sweeps.forward + [Comment("reverse sweep")] + sweeps.reverse + [Return(result)]
    keep = _names(sweeps.grads) | _names(leaves(output))
    name = f"{trace.name}_value_and_grad" if with_value else f"{trace.name}_grad"
    doc = f"Gradient of {trace.name} with respect to {_wrt_text(wrt)}, by reverse mode."
    return Function(name, base.params, _optimize(body, keep, teaching), base.defaults, doc)


def seed_names(trace: Function) -> list:
    """Names for the adjoints of the outputs: ``y_bar`` or ``y1_bar, y2_bar, …``."""
    count = len(list(leaves(trace.body[-1].value)))
    taken = reserved_names(trace) | {f"{p}_bar" for p in trace.params}
    names = ["y_bar"] if count == 1 else [f"y{i}_bar" for i in range(1, count + 1)]
    return [fresh_name(name, taken) for name in names]


def _seeds(trace: Function):
    names = iter(seed_names(trace))
    return map_structure(lambda _: Var(next(names)), trace.body[-1].value)


def vjp_program(trace: Function, wrt: tuple, teaching: bool) -> Function:
    """``f_vjp(x..., y_bar...) -> grads``: both sweeps in one function, for reading."""
    base = _base(trace, teaching)
    sweeps = adjoint(base, wrt, _seeds(trace))
    body = (
        sweeps.forward + [Comment("reverse sweep")] + sweeps.reverse + [Return(tuple(sweeps.grads))]
    )
    params = base.params + tuple(seed_names(trace))
    doc = f"Vector-Jacobian product of {trace.name} with respect to {_wrt_text(wrt)}, by reverse mode."
    return Function(
        f"{trace.name}_vjp", params, _optimize(body, _names(sweeps.grads), teaching), (), doc
    )


def split_vjp_programs(trace: Function, wrt: tuple) -> tuple:
    """``f_fwd(x...) -> (y, residuals)`` and ``f_bwd(residuals..., y_bar...) -> grads``.

    The forward sweep runs once; the reverse sweep can then run for as many output adjoints as needed
    (one per row of a Jacobian) from the residuals, the primal values it reads.
    """
    base = _base(trace, teaching=False)
    seeds = seed_names(trace)
    sweeps = adjoint(base, wrt, _seeds(trace))
    reverse = _optimize(sweeps.reverse + [Return(tuple(sweeps.grads))], _names(sweeps.grads), False)
    assigned = {s.target.name for s in reverse if hasattr(s, "target")}
    read = [v.name for s in reverse for e in stmt_exprs(s) for v in variables(e)]
    residuals = list(dict.fromkeys(n for n in read if n not in assigned and n not in seeds))
    forward_body = sweeps.forward + [Return((sweeps.output, tuple(Var(n) for n in residuals)))]
    fwd = Function(
        f"{trace.name}_fwd", base.params, _optimize(forward_body, set(), False), base.defaults
    )
    bwd = Function(f"{trace.name}_bwd", tuple(residuals) + tuple(seeds), reverse)
    fwd.doc = f"Forward sweep of {trace.name}: its value and the residuals the reverse sweep reads."
    bwd.doc = f"Reverse sweep of {trace.name} with respect to {_wrt_text(wrt)}."
    return fwd, bwd


@dataclass(frozen=True)
class Spec:
    """A transform to compile: ``kind`` is trace, tangent, grad, value_and_grad, vjp or split_vjp."""

    kind: str
    wrt: tuple = ()
    teaching: bool = False
    single: bool = False


def programs(fn: types.FunctionType, spec: Spec) -> list:
    trace = trace_of(fn)
    if spec.kind == "trace":
        return [trace]
    if spec.kind == "tangent":
        return [tangent_program(trace, spec.wrt, spec.teaching)]
    if spec.kind in ("grad", "value_and_grad"):
        return [
            gradient_program(
                trace, spec.wrt, spec.teaching, spec.kind == "value_and_grad", spec.single
            )
        ]
    if spec.kind == "vjp":
        return [vjp_program(trace, spec.wrt, spec.teaching)]
    if spec.kind == "split_vjp":
        return list(split_vjp_programs(trace, spec.wrt))
    raise ValueError(f"unknown transform {spec.kind!r}")


def compiled(fn: types.FunctionType, spec: Spec) -> Compiled:
    """The compiled transform of ``fn``: source, code and bindings, built once per definition."""

    def build() -> Compiled:
        functions = programs(fn, spec)
        source, names = module_source(functions, comments=spec.kind != "trace")
        entries = tuple(f.name for f in functions)
        return compile_source(source, entries, tuple(names.bindings), origin_of(fn))

    return cached(fn, spec, build)
