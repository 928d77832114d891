"""Derivative programs built from a trace: tangent (one direction or many), gradient, vector-Jacobian
product, the split forward and backward sweeps, and the Hessian-vector product.

Each ``*_program`` function returns IR a reader can print at that stage. The *teaching* form keeps
every statement of the notes (``w1 = x1``, ``w5_bar = 1.0``, ``w3_bar = w5_bar``); the optimised form
propagates copies and constants, so ``w3_bar * w2`` with ``w3_bar = 1.0`` becomes ``w2``, and drops
dead code.

A program is compiled for the kinds of its arguments (``kinds``: numbers, arrays of given shapes), or
without them: the code for numbers of a function that does not use NumPy, run with floats, or, to be
printed or exported (``portable``), the code serving every argument its function can take. That is
code for numbers (ints or floats) where the function does not use NumPy (:func:`for_numbers`), and
else code for numbers and arrays of any shape, which checks shapes when it runs and returns each
derivative like its value (``derivative_like``: zeros of an unused array's shape, never an array
with no axes for a number). Derivatives of numbers are floats in all of them
(:func:`s2sad.conform.floats_made`).
"""

from __future__ import annotations

import math

import numpy as np

from .activity import active_names, is_active
from .array_rules import runtime_call
from .shapes import Kinds, infer
from .conform import conformed, floats_made
from .custom import is_custom_call
from .uniform import scalar_broadcasts_removed
from .errors import (
    NonScalarOutputError,
    NotDifferentiableError,
    UnsupportedSyntaxError,
)
from .flatten import flatten
from .fold import folded
from .forward import tangent
from .ir import Assign, Loop, Call, Comment, Effect, Unpack, Const, Function, Ref, Return, Var
from .naming import Names
from .traversal import (
    blocks,
    defines,
    leaves,
    map_structure,
    several,
    stmt_exprs,
    subexprs,
    variables,
    walk,
)
from .primitives import called_function
from .opaque import may_be_array
from .optimize import eliminate_dead, propagate
from .reverse import adjoint
from .trees import describe_output, keyed, leaf_names, output_tree
from .vector_mode import Batched


def _base(trace: Function, teaching: bool) -> Function:
    """The trace a transform starts from: as the notes write it, or with ``w1 = x1`` copies removed."""
    if teaching:
        return trace
    body = propagate(trace.body, keep=set())
    return Function(trace.name, trace.params, body, trace.defaults, trace.doc, trace.in_place)


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


def kinds_of(base: Function, kinds) -> Kinds:
    """The kinds of ``base``'s values: inferred from its parameters' kinds (``kinds``, pairs of name
    and :class:`~s2sad.shapes.Kind`) when given; else numbers, or unknown if it uses NumPy."""
    if kinds is None:
        return Kinds(arrays=uses_arrays(base))
    known = infer(base, dict(kinds))
    for name, location, message, hint in base.in_place:
        kind = known.known.get(name)
        if kind is not None and kind.is_array:
            raise UnsupportedSyntaxError(message, location, hint)
    return known


def uses_arrays(fn: Function) -> bool:
    """Whether ``fn`` calls NumPy (or indexes a value, or multiplies matrices: numbers have no
    ``@``), calls a function s2sad knows nothing of (but ``int``, ``isinstance``...), or reads an
    array from outside (a module global ``C`` in ``x + C``): its values may be arrays."""
    return any(
        isinstance(e, Call)
        and (e.prim.module or e.prim.name.startswith("np.") or e.prim.name == "matmul")
        or isinstance(e, Call)
        and may_be_array(e.prim)
        or isinstance(e, Ref)
        and isinstance(e.obj, np.ndarray)
        for stmt in walk(fn.body)
        for expr in stmt_exprs(stmt)
        for e in subexprs(expr)
    )


def tangent_program(
    trace: Function, wrt: tuple, teaching: bool, kinds=None, portable: bool = False
) -> Function:
    """``f_jvp(x..., x_dot...) -> (y, y_dot)``."""
    base = _base(trace, teaching)
    jvp = tangent(base, wrt, kinds_of(base, kinds))
    jvp.body = _optimize(jvp.body, set(), teaching)
    if kinds is not None and not teaching:
        jvp.body = folded(jvp.body, dict(kinds))
    if portable:  # the tangent of each output, like that output
        *body, final = jvp.body
        value, dots = final.value
        outputs = list(leaves(value))
        made = iter(
            _portable(base, body, tuple(leaves(dots)), outputs, jvp.params[len(base.params) :])
        )
        jvp.body = body + [Return((value, map_structure(lambda _: next(made), dots)), final.loc)]
    jvp.doc = f"Forward mode (tangent) of {trace.name} with respect to {_wrt_text(wrt)}."
    return jvp


def vector_tangent_program(trace: Function, wrt: tuple, kinds=()) -> Function:
    """``f_jvps(x..., x_dot...) -> (y, y_dot)`` for all directions at once (vector mode): each
    tangent has a leading axis as long as the inputs in ``wrt`` have elements (``kinds``, pairs of
    parameter and :class:`~s2sad.shapes.Kind`, give their shapes)."""
    base = _base(trace, teaching=False)
    params = dict(kinds or ())
    size = sum(math.prod(params[n].shape) if n in params and params[n].is_array else 1 for n in wrt)
    numbers = not uses_arrays(base) and not any(kind.is_array for kind in params.values())
    known = Kinds(arrays=False) if numbers else infer(base, params)
    jvp = tangent(base, wrt, Batched(known, size))
    jvp.body = _optimize(jvp.body, set(), False)
    if not numbers:
        jvp.body = folded(jvp.body, params)
    jvp.name = f"{trace.name}_jvps"
    jvp.doc = (
        f"Forward mode of {trace.name} with respect to {_wrt_text(wrt)}, {size} directions at once."
    )
    return jvp


def gradient_program(
    trace: Function,
    wrt: tuple,
    teaching: bool,
    with_value: bool,
    single: bool,
    kinds=None,
    portable: bool = False,
) -> Function:
    """``f_grad(x...) -> grads`` (or ``(y, grads)``) for a function with one scalar output."""
    base = _base(trace, teaching)
    known = kinds_of(base, kinds)
    seed = _scalar_seed(base, base.body[-1].value, known)
    sweeps = adjoint(base, wrt, seed, known, adjoint_names(base))
    grads = sweeps.grads[0] if single else sweeps.grads
    result = (sweeps.output, grads) if with_value else grads
    reverse = sweeps.reverse
    if isinstance(seed, Call) and not is_active(base.body[-1].value, active_names(base, wrt)):
        # no reverse sweep reads the seed of an output no input changes: check it is a number anyway
        reverse = [Effect(seed, base.body[-1].loc)] + reverse
    body = sweeps.forward + [Comment("reverse sweep")] + reverse + [Return(result)]
    keep = _names(sweeps.grads) | _names(leaves(sweeps.output))
    name = f"{trace.name}_value_and_grad" if with_value else f"{trace.name}_grad"
    doc = f"Gradient of {trace.name} with respect to {_wrt_text(wrt)}, by reverse mode."
    body = _optimize(body, keep, teaching)
    if kinds is not None:
        body = _for_known_shapes(body, wrt, dict(kinds), teaching, with_value, single)
    elif portable or not uses_arrays(base):
        *body, final = body
        value, grads = final.value if with_value else (None, final.value)
        grads = (grads,) if single else grads
        if portable:
            grads = _portable(base, body, grads, [Var(name) for name in wrt], ())
        else:  # the code for numbers, run with floats
            grads = floats_made(body, grads, set(base.params))
        grads = grads[0] if single else grads
        body.append(Return((value, grads) if with_value else grads, final.loc))
    return Function(name, base.params, body, base.defaults, doc)


def _portable(base: Function, body: list, results: tuple, values: list, floats) -> tuple:
    """``results``, derivatives of ``values`` computed by ``body``, as code that serves every kind
    of argument (printed or exported) returns them. Code for numbers (:func:`for_numbers`) makes
    each a float, also at integer arguments (only the names ``floats``, directions and output
    adjoints, are known to be floats). Code for numbers and arrays makes each like its value when
    it runs: a float for a number, an array of its shape and dtype for an array."""
    if not for_numbers(base):
        return tuple(runtime_call("derivative_like", r, v) for r, v in zip(results, values))
    return floats_made(body, results, set(floats))


def for_numbers(fn: Function) -> bool:
    """Whether the code of ``fn`` printed or exported without example arguments is for numbers:
    ``fn`` does not use NumPy (:func:`uses_arrays`), nor call a function with custom rules, whose
    body s2sad does not read and which may take and give arrays."""
    return not uses_arrays(fn) and not any(
        is_custom_call(e)
        for stmt in walk(fn.body)
        for expr in stmt_exprs(stmt)
        for e in subexprs(expr)
    )


def _for_known_shapes(
    body: list, wrt: tuple, params: dict, teaching=False, with_value=False, single=False
):
    """``body`` (ending in its return) compiled for known shapes: the gradients made like their
    arguments and, outside the teaching form (which keeps every statement of the notes), a summed
    seed kept a number where NumPy broadcasts it anyway and array temporaries folded into their
    single reader (:mod:`s2sad.fold`)."""
    *body, final = body if teaching else scalar_broadcasts_removed(body, params)
    value, grads = final.value if with_value else (None, final.value)
    grads = conformed(body, (grads,) if single else grads, wrt, params)
    grads = grads[0] if single else grads
    body.append(Return((value, grads) if with_value else grads, final.loc))
    return body if teaching else folded(body, params)


def hvp_program(
    trace: Function, wrt: tuple, directions: tuple, single: bool, kinds=None, portable=False
):
    """``f_hvp(x..., v_dot...) -> H·v``: forward mode over the gradient with respect to ``wrt``,
    along the inputs ``directions`` (their tangents ``x_dot`` are the vector ``v``).

    The gradient program is put back in trace form (one operation per statement), then transformed
    in tangent mode like any trace: its tapes save each value's tangent beside it, and the runtime
    helpers it calls have tangent rules (:mod:`s2sad.second_order_rules`).
    """
    base = _base(trace, teaching=False)
    output = base.body[-1].value
    kind = kinds_of(base, kinds).of(output)
    if kind is not None and kind.is_array and kind.shape != ():
        raise NonScalarOutputError(
            f"a Hessian needs a function that returns one number, but `{trace.name}` returns an "
            f"array of shape {kind.shape}",
            base.body[-1].loc,
            "reduce it (np.sum, np.mean), or take s2sad.jacobian of its gradient",
        )
    gradient = gradient_program(trace, wrt, False, False, False, kinds)
    if any(isinstance(s, Unpack) and called_function(s.value.prim) for s in walk(gradient.body)):
        raise NotDifferentiableError(
            f"`{trace.name}` calls itself: second derivatives of recursive functions are not "
            "supported",
            trace.body[-1].loc,
            "turn the recursion into a loop",
        )
    flat = flatten(gradient)
    jvp = tangent(flat, directions, kinds_of(flat, kinds))
    ret = jvp.body[-1]
    body = _optimize(jvp.body[:-1] + [Return(ret.value[1], ret.loc)], set(), teaching=False)
    if kinds is not None:  # compiled for known shapes: H·v made like the inputs here
        params = dict(kinds)
        dots = jvp.params[len(flat.params) :]
        params.update((dot, params[d]) for dot, d in zip(dots, directions) if d in params)
        body = _for_known_shapes(body, wrt, params)
    elif portable:
        *body, final = body
        dots = jvp.params[len(flat.params) :]
        made = _portable(base, body, final.value, [Var(name) for name in wrt], dots)
        body.append(Return(made, final.loc))
    if single:
        body[-1] = Return(body[-1].value[0], body[-1].loc)
    jvp.body = body
    jvp.name = f"{trace.name}_hvp"
    vector = ", ".join(jvp.params[len(flat.params) :])
    if directions == wrt:
        what = f"Hessian of {trace.name} with respect to {_wrt_text(wrt)} times ({vector})"
    else:
        what = f"Gradient of {trace.name} with respect to {_wrt_text(wrt)}, along ({vector})"
    jvp.doc = f"{what}, by forward mode over reverse mode."
    return jvp


def _scalar_seed(base: Function, output, kinds: Kinds):
    """The output's adjoint for a gradient: 1.0, once the output is known to be one number."""
    if several(output):
        raise NonScalarOutputError(
            f"grad needs a function that returns one number, but `{base.name}` returns "
            f"{describe_output(output)}",
            base.body[-1].loc,
            "use s2sad.jacobian or s2sad.vjp for several outputs",
        )
    kind = kinds.of(output)
    if kind is None:
        return runtime_call("scalar_seed", output)
    if kind.is_array and kind.shape != ():  # an array of one element too: a gradient is of a number
        raise NonScalarOutputError(
            f"grad needs a function that returns one number, but `{base.name}` returns an array "
            f"of shape {kind.shape}",
            base.body[-1].loc,
            "reduce it (np.sum, np.mean), or use s2sad.vjp or s2sad.jacobian",
        )
    return Const(1.0)


def seed_names(trace: Function, names: Names | None = None) -> list:
    """Names for the adjoints of the outputs: ``y_bar``, ``y1_bar, y2_bar, …``, or, for a dict or
    dataclass, after each output's path (``y_loss_bar``); allocated by ``names`` (see
    :func:`adjoint_names`)."""
    names = names or adjoint_names(trace)
    output = trace.body[-1].value
    count = len(list(leaves(output)))
    stems = ["y_bar"] if count == 1 else [f"y{i}_bar" for i in range(1, count + 1)]
    if keyed(output_tree(output)):
        stems = [f"{path}_bar" for path in leaf_names("y", output_tree(output), set())]
    return [names.fresh(stem) for stem in stems]


def adjoint_names(trace: Function) -> Names:
    """The allocator for an adjoint program of ``trace``: the parameters' adjoints are named first,
    so that the gradients keep their names (``x_bar``) and the seeds give way."""
    names = Names.of(trace)
    for param in trace.params:
        names.bar(param)
    return names


def _seeded(base: Function, trace: Function, wrt: tuple, kinds) -> tuple:
    """``(seed names, adjoint sweeps)`` of a vector-Jacobian product, named by one allocator."""
    names = adjoint_names(base)
    seeds = seed_names(trace, names)
    seed_vars = iter(Var(name) for name in seeds)
    structure = map_structure(lambda _: next(seed_vars), trace.body[-1].value)
    return seeds, adjoint(base, wrt, structure, kinds, names)


def vjp_program(
    trace: Function, wrt: tuple, teaching: bool, kinds=None, portable: bool = False
) -> Function:
    """``f_vjp(x..., y_bar...) -> grads``: both sweeps in one function, for reading."""
    base = _base(trace, teaching)
    seeds, sweeps = _seeded(base, trace, wrt, kinds_of(base, kinds))
    body = (
        sweeps.forward + [Comment("reverse sweep")] + sweeps.reverse + [Return(tuple(sweeps.grads))]
    )
    params = base.params + tuple(seeds)
    doc = f"Vector-Jacobian product of {trace.name} with respect to {_wrt_text(wrt)}, by reverse mode."
    body = _optimize(body, _names(sweeps.grads), teaching)
    if kinds is not None:  # compiled for known shapes: each adjoint made like its input
        body = _for_known_shapes(body, wrt, dict(kinds), teaching)
    elif portable:
        *body, final = body
        made = _portable(base, body, final.value, [Var(name) for name in wrt], seeds)
        body.append(Return(made, final.loc))
    return Function(f"{trace.name}_vjp", params, body, (), doc)


def split_vjp_programs(trace: Function, wrt: tuple, kinds=None) -> tuple:
    """``f_fwd(x...) -> (y, residuals)`` and ``f_bwd(residuals..., y_bar...) -> grads``.

    The forward sweep runs once; the reverse sweep can then run for as many output adjoints as needed
    (one per row of a Jacobian) from the residuals, the primal values it reads.
    """
    base = _base(trace, teaching=False)
    seeds, sweeps = _seeded(base, trace, wrt, kinds_of(base, kinds))
    reverse = _optimize(sweeps.reverse + [Return(tuple(sweeps.grads))], _names(sweeps.grads), False)
    residuals = [n for n in read_before_written(reverse) if n not in seeds]
    forward_body = sweeps.forward + [Return((sweeps.output, tuple(Var(n) for n in residuals)))]
    forward_body = _optimize(forward_body, set(), False)
    # A residual a branch defines exists only where that branch ran, and only there does the reverse
    # sweep read it: elsewhere it is returned as None.
    top_level = {v.name for s in forward_body for v in defines(s)} | set(base.params)
    unset = [Var(n) for n in residuals if n not in top_level]
    placeholders = [Assign(var, Const(None)) for var in unset]
    fwd = Function(f"{trace.name}_fwd", base.params, placeholders + forward_body, base.defaults)
    bwd = Function(f"{trace.name}_bwd", tuple(residuals) + tuple(seeds), reverse)
    fwd.doc = f"Forward sweep of {trace.name}: its value and the residuals the reverse sweep reads."
    bwd.doc = f"Reverse sweep of {trace.name} with respect to {_wrt_text(wrt)}."
    return fwd, bwd


def read_before_written(body: list) -> list:
    """Names ``body`` reads before it assigns them, in the order first read: what it needs from
    outside (a reverse sweep reads a loop's exit values before its reverse loop reassigns them)."""
    written: set = set()
    needed: dict = {}

    def read(exprs) -> None:
        for expr in exprs:
            for var in variables(expr):
                if var.name not in written:
                    needed.setdefault(var.name)

    def visit(statements: list) -> None:
        for stmt in statements:
            if isinstance(stmt, Loop):
                read(stmt.inits + ([stmt.iterable] if stmt.iterable is not None else []))
                written.update(v.name for v in defines(stmt))
                visit(stmt.body)
                read(stmt.nexts + ([stmt.exit] if stmt.exit is not None else []))
                continue
            read(stmt_exprs(stmt))
            written.update(v.name for v in defines(stmt))
            for block in blocks(stmt):
                visit(block)

    visit(body)
    return list(needed)
