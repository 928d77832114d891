"""``functools.reduce(f, xs)`` and ``functools.reduce(f, xs, initial)`` over a list or tuple whose
length is known while lowering (see :mod:`s2sad.sequences`): ``f`` is applied left to right, as
``reduce`` applies it, each application inlined like any call, so the trace holds
``f(f(initial, xs[0]), xs[1])`` written out. ``f`` is a ``lambda``, a function defined in the code or
in Python, or a function with a rule (``max``, ``math.hypot``, ``operator.mul``).

>>> import functools, s2sad
>>> def product(x, y, z):
...     return functools.reduce(lambda a, b: a * b, [x, y, z], 1.0)
>>> s2sad.grad(product, wrt=(0, 1, 2))(2.0, 3.0, 5.0)
(15.0, 10.0, 6.0)
"""

from __future__ import annotations

import types

import libcst as cst

from .ir import Primitive

HINT = "reduce a list or tuple of known length with a lambda or a Python function"


def reduce_call(lowering, node: cst.Call, hint: str, unknown_length: str):
    """The value of ``functools.reduce(...)`` at ``node``; ``unknown_length`` is the advice for a
    sequence whose length is not known."""
    args = node.args
    if not 2 <= len(args) <= 3 or any(a.star or a.keyword is not None for a in args):
        raise lowering.error(
            node, "`reduce` takes a function, a sequence and an initial value by position", HINT
        )
    values = lowering.known_sequence(args[1].value)
    if values is None:
        lowering.need_length(args[1].value)  # a parameter: lowered again with its length
        raise lowering.error(
            args[1], "`reduce` of something whose length is not known", unknown_length
        )
    items = ([lowering.expr(args[2].value)] if len(args) == 3 else []) + list(values)
    if not items:
        raise lowering.error(
            node, "`reduce` of an empty sequence with no initial value", "pass an initial value"
        )
    given = args[0].value
    function = lowering.expr(given) if isinstance(given, cst.Lambda) else lowering.callee(given)
    step = node.with_changes(args=())  # one application, its two values bound by position
    lowering.source.locate_as(step, node)
    result = items[0]
    for item in items[1:]:
        result = _apply(lowering, function, step, (result, item), hint, args[0])
    return result


def _apply(lowering, function, step, values: tuple, hint: str, where):
    from .calls import LocalFunction  # late: calls reads sequences, which reads this module

    if isinstance(function, types.FunctionType):
        return lowering.inline(function, step, leading=values)
    if isinstance(function, LocalFunction):
        return lowering.inline_local(function, step, leading=values)
    if isinstance(function, Primitive):  # max, math.hypot, operator.mul
        atoms = tuple(lowering.atom(value, step) for value in values)
        return lowering.emit(function, atoms, step, hint)
    raise lowering.error(
        where, "`reduce` here takes a lambda, a Python function or a function with a rule", HINT
    )
