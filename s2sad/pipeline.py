"""The pipeline: Python function → SSA trace → derivative program → black-formatted source → code.

A :class:`Spec` names a transform; :func:`programs` builds its IR (:mod:`s2sad.traces`,
:mod:`s2sad.programs`, :mod:`s2sad.helper_programs`), and :func:`compiled` runs the rest of the way
and caches the result.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

from .codegen import module_source
from .execute import Compiled, cached, compile_source, origin_of
from .ir import Call, Return
from .orders import higher_program
from .primitives import LOCALS
from .helper_programs import helper_programs
from .programs import (
    gradient_program,
    hvp_program,
    split_vjp_programs,
    tangent_program,
    vector_tangent_program,
    vjp_program,
)
from .traces import trace_of


@dataclass(frozen=True)
class Spec:
    """A transform to compile: ``kind`` is trace, tangent, vector_tangent, grad, value_and_grad, vjp,
    split_vjp, hvp, or explain_tangent / explain_vjp (the teaching forms, returning their variables).
    """

    kind: str
    wrt: tuple = ()
    teaching: bool = False
    single: bool = False
    kinds: tuple | None = None  # (parameter, Kind) pairs the code is specialised for
    structures: tuple | None = None  # (parameter, Tree) pairs, as trace_of takes them
    directions: tuple = ()  # for hvp: the inputs the gradient's tangent is taken along
    orders: tuple = ()  # for hvp: tuples of inputs to take further tangents along, one per order
    # Code to print or export, serving every kind of argument (see s2sad.programs): kinds is None.
    portable: bool = False


def programs(fn: types.FunctionType, spec: Spec) -> list:
    trace = trace_of(fn, spec.structures)
    if spec.kind == "trace":
        return [trace]
    if spec.kind == "tangent":
        return [tangent_program(trace, spec.wrt, spec.teaching, spec.kinds, spec.portable)]
    if spec.kind == "vector_tangent":
        return [vector_tangent_program(trace, spec.wrt, spec.kinds)]
    if spec.kind in ("grad", "value_and_grad"):
        with_value = spec.kind == "value_and_grad"
        program = gradient_program(
            trace, spec.wrt, spec.teaching, with_value, spec.single, spec.kinds, spec.portable
        )
        return [program]
    if spec.kind == "hvp" and spec.orders:
        return [higher_program(trace, spec.wrt, spec.directions, spec.orders, spec.kinds)]
    if spec.kind == "hvp":
        directions = spec.directions
        return [hvp_program(trace, spec.wrt, directions, spec.single, spec.kinds, spec.portable)]
    if spec.kind == "vjp":
        return [vjp_program(trace, spec.wrt, spec.teaching, spec.kinds, spec.portable)]
    if spec.kind == "split_vjp":
        return list(split_vjp_programs(trace, spec.wrt, spec.kinds))
    if spec.kind in ("explain_tangent", "explain_vjp"):
        build = tangent_program if spec.kind == "explain_tangent" else vjp_program
        program = build(trace, spec.wrt, teaching=True, kinds=spec.kinds)
        program.body[-1] = Return(Call(LOCALS, ()))  # every w, w_dot and w_bar, for the table
        return [program]
    raise ValueError(f"unknown transform {spec.kind!r}")


def compiled(fn: types.FunctionType, spec: Spec) -> Compiled:
    """The compiled transform of ``fn``: source, code and bindings, built once per definition."""

    def build() -> Compiled:
        main = programs(fn, spec)
        functions = main + helper_programs(main)
        home = trace_of(fn, spec.structures).body[-1].loc.filename
        comments = spec.kind != "trace"
        source, names = module_source(functions, comments, home, fn.__globals__)
        entries = tuple(names.function_name(f.name) for f in main)
        return compile_source(source, entries, tuple(names.bindings), origin_of(fn))

    return cached(trace_of(fn, spec.structures), spec, build)
