"""Derivatives of third and higher order: forward sweeps over the Hessian-vector product program.

The second derivative ``∂²f/∂x_i∂x_j`` is one program (:func:`s2sad.programs.hvp_program`: forward
mode over the reverse-mode gradient). Each further order takes that program's tangent again,
transformed like any trace: ``∂³f/∂x_i∂x_j∂x_k`` is the tangent of ``∂²f/∂x_i∂x_j · v`` along
``x_k``, and so on, one direction parameter per order (``x_dot``, then ``x_dot_``, ...). Called
with a direction of 1.0 for each order, the program returns the derivative; the last order's
directions may be unit vectors of several inputs, one column of derivatives each
(:mod:`s2sad.higher` runs it so).
"""

from __future__ import annotations

from .flatten import flatten
from .forward import tangent
from .ir import Function, Return
from .optimize import eliminate_dead, propagate
from .programs import hvp_program, kinds_of


def higher_program(
    trace: Function, wrt: tuple, directions: tuple, orders: tuple, kinds=None
) -> Function:
    """``f_d3(x..., v..., u...)``: the derivative of ``∂f/∂x_i`` (``wrt``, one input) along
    ``directions`` (one input), then along each input tuple of ``orders`` in turn; the directions
    of each order are parameters, after the function's own."""
    program = hvp_program(trace, wrt, directions, True, kinds)
    known = None if kinds is None else dict(kinds)
    _direction_kinds(known, program, directions)
    for names in orders:
        flat = flatten(program)
        jvp = tangent(flat, names, kinds_of(flat, None if known is None else tuple(known.items())))
        final = jvp.body[-1]
        body = jvp.body[:-1] + [Return(final.value[1], final.loc)]
        jvp.body = eliminate_dead(propagate(body, set()), keep_domain_checks=True)
        _direction_kinds(known, jvp, names)
        program = jvp
    chain = ", ".join(wrt + directions + tuple(n for names in orders for n in names))
    program.name = f"{trace.name}_d{len(orders) + 2}"
    program.doc = f"Derivative of {trace.name} with respect to {chain}, by forward mode over "
    program.doc += "forward mode over reverse mode."
    return program


def _direction_kinds(known: dict | None, program: Function, names: tuple) -> None:
    """Record that the last ``len(names)`` parameters of ``program``, the directions of ``names``,
    are of their inputs' kinds."""
    if known is None:
        return
    for direction, name in zip(program.params[len(program.params) - len(names) :], names):
        known[direction] = known[name]
