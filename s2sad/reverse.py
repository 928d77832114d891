"""Reverse mode: turn a trace into its adjoint program.

The forward sweep is the trace. The reverse sweep walks it backwards and computes every useful
``wi_bar = ∂y/∂wi`` by the rule of the notes (seed 000): ``w̄j = Σ_i w̄i · ∂wi/∂wj`` over the statements
``i`` that read ``wj``. Each adjoint is written once, as the sum of all its contributions, where the
last contribution becomes known (just before the statement that defined its variable, walking
backwards): no adjoint is initialised to zero and then added to.

Control flow is replayed backwards. An ``if`` is reversed branch by branch under the same condition; a
value from before it gets one term, ``(its adjoint from the then-branch) if cond else (from the else)``.
A loop runs backwards, carrying the adjoints of its carried values; values from before the loop sum
their adjoints over the iterations in an accumulator. What the reverse sweep reads from inside a loop
would be overwritten by the next iteration, so the forward sweep saves exactly those values on a tape
at the end of their block, and the reverse sweep pops them at the start of the mirrored block: memory
grows by a few values per iteration, and a loop whose reverse reads nothing from it saves nothing.

A value that no code on the path taken reads has the adjoint zero there: the structural zero ``0.0``
in a branch that does not read it, in the sum over a loop that ran no iteration, in the adjoint a loop
carries for a value the next iteration does not read. Rules such as ``matmul``, ``reshape`` and
indexing read the shape of the adjoint they are given, so where the value may be an array, such a
zero is made zeros of its shape before anything reads it.

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

import itertools
from dataclasses import dataclass, replace

import numpy as np

from .activity import active_names, is_active
from .algebra import apply, assume, filled, is_zero, may_vanish, total
from .array_rules import np_call, runtime_call
from .ir import Assign, Call, Const, Expr, Function, If, Loop, Pop, Push, Return, Unpack, Var
from .naming import Names
from .traversal import (
    assigned,
    defines,
    leaves,
    map_structure,
    several,
    stmt_exprs,
    variables,
    walk,
)
from .custom import adjoint_step, is_custom_call
from .forward import recursive_callee
from .primitives import NEW_LIST, RANGE, REVERSED, user_call
from .derivatives import NO_DERIVATIVE, derivative
from .errors import located_at
from .shapes import Kinds


@dataclass
class Sweeps:
    """The pieces of an adjoint program, assembled into functions by :mod:`s2sad.pipeline`."""

    forward: list  # the primal sweep: the trace, saving on the tape what the reverse sweep reads
    reverse: list  # the reverse sweep
    output: object  # the primal output structure, in names the reverse sweep leaves alone
    grads: tuple  # per differentiated parameter, the expression of its adjoint


def adjoint(
    trace: Function, wrt: tuple, seeds, kinds: Kinds | None = None, names: Names | None = None
) -> Sweeps:
    """The adjoint sweeps of ``trace`` with respect to the parameters in ``wrt``.

    ``seeds`` has the shape of the output and gives each output's adjoint: ``Const(1.0)`` for a
    gradient, parameter variables (``y_bar``) for a vector-Jacobian product. ``names`` allocates
    the new variables (by default, from the names ``trace`` uses); pass the one that named the seeds.
    """
    names = names or Names.of(trace)
    reverser = _Reverser(active_names(trace, wrt), names, kinds)
    *statements, ret = trace.body
    assert isinstance(ret, Return)
    contributions: dict = {}
    for leaf, seed in zip(leaves(ret.value), leaves(seeds)):
        if is_active(leaf, reverser.active):
            contributions.setdefault(leaf.name, []).append(seed)
    reverse = reverser.block(statements, contributions, in_loop=False)

    grads = []
    for name in wrt:
        terms = contributions.get(name, [])
        if len(terms) == 1 and isinstance(terms[0], Var):
            grads.append(terms[0])  # the notes return w1_bar itself for the input copied to w1
        elif terms:
            bar = Var(names.bar(name))
            reverse.append(Assign(bar, total(terms), trace.body[0].loc))
            grads.append(bar)
        else:
            grads.append(total([]))  # the output does not depend on this input: a true zero
    forward = reverser.save_for_reverse(statements, reverse)
    output = _kept_from_reverse(ret, forward, reverse, names)
    return Sweeps(forward, reverse, output, tuple(grads))


def _kept_from_reverse(ret: Return, forward: list, reverse: list, names: Names):
    """The output, where the reverse sweep rebinds one of its variables (a loop's carried value,
    restored from the tape to what it was in each iteration) first copied, at the end of the
    forward sweep, into a name of its own (``y``, or ``y1, y2, …`` as the outputs' adjoints are
    numbered): a program that returns the value after its reverse sweep returns ``f``'s value."""
    rebound = assigned(reverse)
    number = iter(range(1, len(list(leaves(ret.value))) + 1))
    copies: dict = {}

    def kept(leaf):
        k = next(number)
        if not isinstance(leaf, Var) or leaf.name not in rebound:
            return leaf
        if leaf.name not in copies:
            copies[leaf.name] = Var(names.fresh(f"y{k}" if several(ret.value) else "y"))
            forward.append(Assign(copies[leaf.name], leaf, ret.loc))
        return copies[leaf.name]

    return map_structure(kept, ret.value)


class _Reverser:
    """One reverse transformation: the active names, the tape, and what each block must save."""

    def __init__(self, active: set, names: Names, kinds: Kinds | None):
        self.active = active
        self.kinds = kinds or Kinds(arrays=False)
        self.names = names
        self.tape_count = 0
        self.pops: dict = {}  # id of a forward branch block -> the Pop that restores its values
        self.reverse_loops: dict = {}  # id of a forward loop body -> the loop that reverses it
        self.loop_reads: dict = {}  # id of a forward loop body -> names its reverse reads
        self.counter = itertools.count(1)
        self._pending: list = []  # tapes to create before the loop being saved
        self._readers: list = []  # (tape, iterator) of its branches, opened by its reverse loop
        self._depth = 0  # how many loops enclose the block being saved
        self.recursive: dict = {}  # target of a recursive call -> the variable of its residuals

    def new_tape(self) -> Var:
        self.tape_count += 1
        return Var(self.names.fresh(f"_tape{self.tape_count}"))

    def block(self, statements: list, contributions: dict, in_loop: bool, pop_first=False) -> list:
        """The reverse of ``statements``. ``contributions`` maps a variable to the terms of its
        adjoint: those of variables defined here are consumed, the rest are left for the code before.
        A branch inside a loop first restores the values its forward block saved (``pop_first``).
        """
        reverse: list = []
        if pop_first:
            pop = self.pops[id(statements)] = Pop(None, ())  # its tape is named once it is used
            reverse.append(pop)
        for stmt in reversed(statements):
            if isinstance(stmt, If):
                reverse.extend(self.branch(stmt, contributions, in_loop))
            elif isinstance(stmt, Loop):
                reverse.extend(self.loop(stmt, contributions))
            if not isinstance(stmt, Assign) or stmt.target.name not in contributions:
                continue
            bar = Var(self.names.bar(stmt.target.name))
            value = self.shaped(total(contributions.pop(stmt.target.name)), stmt.target)
            reverse.append(Assign(bar, value, stmt.loc))
            callee = recursive_callee(stmt)
            if callee is not None:
                reverse.append(self.reverse_call(stmt, callee, bar, contributions))
                continue
            step = adjoint_step(stmt, bar, self.active, self.names)
            if step is not None:  # the user's adjoint rule, called once for all the arguments
                reverse.append(step[0])
                for arg, part in step[1]:
                    contributions.setdefault(arg.name, []).append(part)
                continue
            for arg, term in self.terms(stmt, bar):
                if not is_zero(term):
                    contributions.setdefault(arg.name, []).append(term)
        return reverse

    def branch(self, stmt: If, contributions: dict, in_loop: bool) -> list:
        """Reverse each branch under the same condition."""
        exports = []
        reversed_branches = []
        for block, truth in ((stmt.then, True), (stmt.orelse, False)):
            local = assigned(block)
            inner = {
                name: [assume(term, stmt.cond, truth) for term in contributions.pop(name)]
                for name in list(contributions)
                if name in local
            }
            reversed_branches.append(self.block(block, inner, in_loop, pop_first=in_loop))
            exports.append(inner)
        then_terms, else_terms = exports
        for name in then_terms.keys() | else_terms.keys():
            term = _select(
                stmt.cond, total(then_terms.get(name, [])), total(else_terms.get(name, []))
            )
            contributions.setdefault(name, []).append(term)
        if any(s for s in reversed_branches for s in s if not isinstance(s, Pop)) or in_loop:
            return [If(stmt.cond, *reversed_branches, stmt.loc)]
        return []

    def loop(self, loop: Loop, contributions: dict) -> list:
        """Run the loop backwards, carrying the adjoints of its carried values."""
        carried = [i for i, header in enumerate(loop.headers) if header.name in self.active]
        exits = {i: contributions.pop(loop.headers[i].name, []) for i in carried}
        if not any(exits.values()):
            return []  # nothing after the loop depends on what it carries
        before = self._evaluate_before(loop, contributions)
        bars = {i: Var(self.names.bar(loop.headers[i].name)) for i in carried}
        inner: dict = {}
        for i in carried:  # the back edge: what the body passed on is the carried value's adjoint
            if is_active(loop.nexts[i], self.active):
                inner.setdefault(loop.nexts[i].name, []).append(bars[i])
        body = self.block(loop.body, inner, in_loop=True)
        starts = [
            self.shaped(total(inner.pop(loop.headers[i].name, [])), loop.headers[i])
            for i in carried
        ]
        number = next(self.counter)
        outer = sorted(inner)  # defined before the loop: their adjoints sum over the iterations
        sums = [Var(self.names.fresh(f"{name}_bar_sum{number}")) for name in outer]
        # Runs the index backwards; once the tape is known, the tape itself (see _saved_block).
        if loop.cond is None and loop.exit is None:
            target, iterable = loop.target, Call(REVERSED, (loop.iterable,))
        else:
            target, iterable = Var(self.names.discard()), None
        reverse_loop = Loop(
            [bars[i] for i in carried] + sums,
            [self.shaped(total(exits[i]), loop.headers[i]) for i in carried]
            + [self.zero(Var(name)) for name in outer],
            body,
            starts + [s + total(inner[name]) for s, name in zip(sums, outer)],
            target,
            iterable,
            None,
            loop.loc,
        )
        self.reverse_loops[id(loop.body)] = reverse_loop
        self.loop_reads[id(loop.body)] = _reads(body) | {
            v.name for e in reverse_loop.nexts for v in variables(e)
        }
        for i in carried:
            if is_active(loop.inits[i], self.active):
                contributions.setdefault(loop.inits[i].name, []).append(bars[i])
        for name, running in zip(outer, sums):
            contributions.setdefault(name, []).append(running)
        return before + [reverse_loop]

    def _evaluate_before(self, loop: Loop, contributions: dict) -> list:
        """Adjoint terms still to be summed that read values of the loop (its exit values): the
        reverse loop restores those variables to earlier iterations' values, so evaluate the terms
        now, into variables of their own."""
        overwritten = {v.name for v in defines(loop)} | assigned(loop.body)
        evaluated = []
        for name, terms in contributions.items():
            for k, term in enumerate(terms):
                if any(v.name in overwritten for v in variables(term)):
                    part = Var(self.names.fresh(f"{name}_bar_part{next(self.counter)}"))
                    evaluated.append(Assign(part, term, loop.loc))
                    terms[k] = part
        return evaluated

    def reverse_call(self, stmt: Assign, callee, bar: Var, contributions: dict) -> Unpack:
        """``x1_bar_k, ... = _f_bwd(residuals, y_bar)`` for a recursive call ``y = f(x1, ...)``; the
        forward sweep calls ``_f_fwd`` instead of ``f`` to keep those residuals."""
        residuals = Var(self.names.fresh(f"{stmt.target.name}_res"))
        self.recursive[stmt.target.name] = residuals
        args = stmt.value.args
        arg_bars = tuple(
            Var(self.names.fresh(f"{stmt.target.name}_bar_{i + 1}")) for i in range(len(args))
        )
        for arg, arg_bar in zip(args, arg_bars):
            if is_active(arg, self.active):
                contributions.setdefault(arg.name, []).append(arg_bar)
        return Unpack(arg_bars, Call(user_call(callee, "bwd"), (residuals, bar)), stmt.loc)

    def terms(self, stmt: Assign, bar: Var):
        """``(argument, its part of the adjoint)`` for each active argument of ``stmt``."""
        value = stmt.value
        if isinstance(value, Var):
            return [(value, bar)] if is_active(value, self.active) else []
        if not isinstance(value, Call) or value.prim.name in NO_DERIVATIVE:
            return []
        used = [(i, arg) for i, arg in enumerate(value.args) if is_active(arg, self.active)]
        if not used:
            return []
        with located_at(stmt.loc):
            adjoints = derivative(value, stmt.target, self.kinds).adjoints
            return [(arg, adjoints[i](bar)) for i, arg in used if adjoints[i] is not None]

    def zero(self, var: Var) -> Expr:
        """The zero adjoint of ``var``: ``0.0`` for a number, else zeros of its shape (its shape
        as known while compiling, so the reverse sweep need not keep ``var`` for it, or else read
        when the code runs)."""
        kind = self.kinds.of(var)
        if kind is None:
            return runtime_call("zero_like", var)
        if not kind.is_array:
            return Const(0.0)
        dtype = np.dtype(kind.dtype)
        if np.issubdtype(dtype, np.floating) and dtype != np.float64:
            return np_call("zeros", Const(kind.shape), dtype=dtype.str)
        return np_call("zeros", Const(kind.shape))

    def shaped(self, adjoint: Expr, var: Var) -> Expr:
        """``adjoint`` (of ``var``) with the structural zero it is on a path where nothing reads
        ``var`` made the zeros of ``var``'s shape, unless ``var`` is a number."""
        if self.kinds.is_scalar(var) or not may_vanish(adjoint):
            return adjoint
        return filled(adjoint, self.zero(var))

    # --- the tape ---------------------------------------------------------------------------

    def save_for_reverse(self, statements: list, reverse: list) -> list:
        """The forward sweep, saving on tapes what the reverse sweep reads from inside loops."""
        forward = self._save(statements, set())
        _drop_empty_pops(reverse)
        return forward

    def _save(self, statements: list, read: set) -> list:
        result = []
        for stmt in statements:
            if isinstance(stmt, Assign) and stmt.target.name in self.recursive:
                fwd = Call(user_call(recursive_callee(stmt), "fwd"), stmt.value.args)
                stmt = Unpack((stmt.target, self.recursive[stmt.target.name]), fwd, stmt.loc)
            if isinstance(stmt, If):
                then = self._saved_block(stmt.then, read)
                stmt = replace(stmt, then=then, orelse=self._saved_block(stmt.orelse, read))
            elif isinstance(stmt, Loop):
                outer = self._pending, self._readers
                self._pending, self._readers = [], []
                body_reads = self.loop_reads.get(id(stmt.body), set())
                self._depth += 1
                saved = replace(stmt, body=self._saved_block(stmt.body, body_reads, stmt))
                self._depth -= 1
                result.extend(Assign(tape, Call(NEW_LIST, ())) for tape in self._pending)
                self._open_readers(stmt, self._readers)
                self._pending, self._readers = outer
                self._count_trips(stmt, saved)
                stmt = saved
            result.append(stmt)
        return result

    def _open_readers(self, original: Loop, readers: list) -> None:
        """The reverse loop opens each branch tape of the loop backwards as it starts."""
        reverse_loop = self.reverse_loops.get(id(original.body))
        for tape, reader in readers:
            reverse_loop.headers = reverse_loop.headers + [reader]
            reverse_loop.inits = reverse_loop.inits + [Call(REVERSED, (tape,))]
            reverse_loop.nexts = reverse_loop.nexts + [reader]

    def _count_trips(self, original: Loop, saved: Loop) -> None:
        """A reversed while loop that saved nothing runs as many times as the forward one ran."""
        reverse_loop = self.reverse_loops.get(id(original.body))
        if reverse_loop is None or reverse_loop.iterable is not None:
            return
        trips = Var(self.names.fresh(f"_trips{next(self.counter)}"))
        saved.headers = saved.headers + [trips]
        saved.inits = saved.inits + [Const(0)]
        saved.nexts = saved.nexts + [trips + 1]
        reverse_loop.iterable = Call(RANGE, (trips,))

    def _saved_block(self, block: list, read: set, loop: Loop | None = None) -> list:
        """``block`` of the forward sweep, ending by saving the values it defines that the reverse of
        the enclosing loop body reads (``read``); a loop body also saves its carried values as they
        were when the iteration began. The reverse of a loop body iterates over its tape backwards;
        the reverse of a branch pops its own."""
        saved = self._save(block, read)
        if id(block) not in self.pops and id(block) not in self.reverse_loops:
            return saved  # not in a loop: what it defines is not overwritten before the reverse
        if (
            loop is not None
        ):  # loops inside have their tapes and counters now: their reverse reads them
            read = read | _reads(self.reverse_loops[id(block)].body)
        level = (loop.headers if loop is not None else []) + [
            v for s in saved for v in defines(s) if not (isinstance(s, Loop) and v == s.target)
        ]
        index = loop.target if loop is not None else None
        # The last iteration's value of an invariant serves the reverse sweep, but only for a loop
        # that runs once: a loop inside another runs again in every outer iteration.
        same_every_time = _invariants(loop) if loop is not None and self._depth == 1 else set()
        values = [
            v
            for v in dict.fromkeys(level)
            if v.name in read and v != index and v.name not in same_every_time
        ]
        recomputed = _recomputable(loop, values, same_every_time) if loop is not None else []
        values = [v for v in values if v not in {s.target for s in recomputed}]
        # A loop that iterates its tape backwards, or that may stop early, takes its index from the
        # tape rather than from its range.
        if index is not None and index.name in read and (values or loop.exit is not None):
            values.insert(0, index)
        tape = self.new_tape() if values else None
        if (
            loop is None
        ):  # a branch: its reverse reads the tape through an iterator, not by popping,
            # so the reverse sweep can run again (a Jacobian runs it once per output)
            reader = Var(self.names.fresh(f"{tape.name}_reader")) if tape is not None else None
            self.pops[id(block)].tape, self.pops[id(block)].targets = reader, tuple(values)
            if tape is not None:
                self._readers.append((tape, reader))
        else:
            reverse_loop = self.reverse_loops[id(block)]
            reverse_loop.body[:0] = recomputed
            if values:
                reverse_loop.target = tuple(values) if len(values) > 1 else values[0]
                reverse_loop.iterable = Call(REVERSED, (tape,))
        if values:
            saved.append(Push(tape, tuple(values)))
            self._pending.append(tape)
        return saved


def _recomputable(loop: Loop, values: list, invariant: set) -> list:
    """The statements of a loop body the reverse iteration can run again instead of saving their
    results: one primitive of values it has anyway (the carried values it saves, values that do not
    change in the loop, results recomputed before). Running ``sin(x)`` again costs less than keeping
    its value in a tuple on the tape, in time and in memory."""
    changing = {v.name for v in defines(loop)} | assigned(loop.body)
    saved_headers = {v.name for v in values if v in loop.headers}
    available = set(saved_headers)
    wanted = {v.name for v in values} - saved_headers
    recomputed = []
    for stmt in loop.body:
        if not isinstance(stmt, Assign) or stmt.target.name not in wanted:
            continue
        if is_custom_call(stmt.value):  # the user's function may cost more than a tape entry
            continue
        reads = [v.name for v in variables(stmt.value)]
        if all(name in available or name not in changing or name in invariant for name in reads):
            recomputed.append(stmt)
            available.add(stmt.target.name)
    return recomputed


def _invariants(loop: Loop) -> set:
    """Names the loop body computes from values that do not change while it runs: each iteration
    computes the same value, so the one left after the loop serves the reverse sweep unsaved (and a
    loop that never ran never has its reverse read it)."""
    changing = {v.name for v in defines(loop)} | assigned(loop.body)
    invariant: set = set()
    for stmt in loop.body:
        if isinstance(stmt, Assign) and all(
            v.name in invariant or v.name not in changing for v in variables(stmt.value)
        ):
            invariant.add(stmt.target.name)
    return invariant


def _reads(body: list) -> set:
    return {v.name for s in walk(body) for e in stmt_exprs(s) for v in variables(e)}


def _drop_empty_pops(body: list) -> None:
    """Remove the pops of blocks that saved nothing, and reverse branches left with nothing."""
    for stmt in body:
        if isinstance(stmt, If):
            _drop_empty_pops(stmt.then)
            _drop_empty_pops(stmt.orelse)
        elif isinstance(stmt, Loop):
            _drop_empty_pops(stmt.body)
    body[:] = [
        s
        for s in body
        if not (isinstance(s, Pop) and not s.targets)
        and not (isinstance(s, If) and not s.then and not s.orelse)
    ]


def _select(cond, then, other):
    return apply("select", cond, then, other)
