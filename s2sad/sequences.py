"""Lowering of sequences known in the function: tuples, lists used as fixed containers, comprehensions
and generator expressions, and the builtins that consume them.

A list or tuple the function builds (``xs = [a, b]``, ``[f(v) for v in xs]``) has a length known when
the function is lowered, so it lowers to a tuple of values, each its own SSA variable; a list is a
:class:`~s2sad.ir.ListValue`, so that it keeps the meaning Python gives it where a tuple's differs
(an array indexed with it, a result). Indexing with a constant picks the value; ``sum``, ``min``,
``max``, ``len``, ``tuple`` and ``list`` fold over the values; ``+`` joins two lists or two tuples
and ``*`` repeats one a known number of times; a comprehension or a loop over such a sequence is
unrolled. Lists are never mutated: ``append``, ``+=`` and item assignment are refused.
"""

from __future__ import annotations

import builtins
import functools

import libcst as cst

from .arrays import LENGTH
from .ir import Const, ListValue
from .records import is_dict_method
from .primitives import PRIMITIVES
from .reduce_lowering import reduce_call

MAX_UNROLL = 64  # a sequence longer than this is refused rather than unrolled
# The builtins whose sequence is known from their arguments'.
_ITERATORS = (builtins.range, builtins.zip, builtins.enumerate, builtins.reversed)
SEQUENCE_BUILTINS = (builtins.sum, builtins.tuple, builtins.list)
SEQUENCE_BUILTINS += (functools.reduce,)

FIXED_CONTAINERS = (
    "lists and tuples are fixed containers here: build them whole (`[a, b]`, a comprehension) and "
    "read them by constant index, by unpacking or in a loop"
)
GROWING = (
    "lists and tuples are fixed containers here, and a list grown while the function runs has a "
    "length known only then: accumulate the result in the loop instead (`s += v`), "
    "fill an array made before it (`out = np.zeros(n)`, then `out[i] = v`), or build the list "
    "whole with a comprehension"
)


class SequenceLowering:
    """The sequence-lowering part of :class:`s2sad.lower.Lowering`."""

    def known_sequence(self, node, ranges: bool = True):
        """The values of ``node`` if it is a sequence whose length is known while lowering: a tuple
        or list, a comprehension, ``zip``/``enumerate``/``reversed`` of such, or (with ``ranges``)
        ``range(...)`` of constants. ``None`` otherwise."""
        if isinstance(node, (cst.Tuple, cst.List, cst.ListComp, cst.GeneratorExp, cst.Subscript)):
            value = self.expr(node)
            return value if isinstance(value, tuple) else self.rows(value, node)
        if isinstance(node, cst.Name):
            value = self.env.get(node.value)
            if isinstance(value, tuple):
                return value
            keys = self.iterated_record(value)
            return keys if keys is not None else self.rows(value, node)
        if isinstance(node, cst.Call) and is_dict_method(node.func):  # params.items()
            entries = self.record_method(node.func, self.expr(node.func.value))
            return entries.values if entries is not None else None
        if not isinstance(node, cst.Call):
            return None
        if not isinstance(node.func, cst.Name) or node.func.value in self.env:
            return self._returned_sequence(node)
        callee = self.scope.lookup(node.func.value)[1]
        if not any(callee is known for known in _ITERATORS):
            return self._returned_sequence(node)
        if callee is builtins.range and ranges:
            emitted = len(self.body)
            bounds = [self.expr(a.value) for a in node.args]
            if all(isinstance(b, Const) and isinstance(b.value, int) for b in bounds):
                return self._limited(
                    node, tuple(Const(i) for i in range(*(b.value for b in bounds)))
                )
            del self.body[emitted:]  # only looked: the loop lowers its bounds itself
            return None
        parts = [self.known_sequence(a.value, ranges) for a in node.args]
        if not parts or any(p is None for p in parts):
            return None
        if callee is builtins.zip:
            return tuple(zip(*parts))
        if callee is builtins.enumerate and len(parts) == 1:
            return tuple((Const(i), v) for i, v in enumerate(parts[0]))
        if callee is builtins.reversed and len(parts) == 1:
            return tuple(reversed(parts[0]))
        return None

    def grow_list(self, node: cst.Call) -> Const:
        """``xs.append(v)`` and ``xs.extend(vs)`` of a list the function built, where the list's
        length stays known while lowering: the name is bound to the longer list. Refused where the
        list grows in a loop that runs when the code runs, or where something else sees it (an
        argument, another name, a caller's name), whose change an SSA value would not show."""
        name, method = node.func.value.value, node.func.attr.value
        old = self.env[name]
        if len(node.args) != 1 or node.args[0].keyword or node.args[0].star:
            raise self.error(node, f"`.{method}` takes one argument here", GROWING)
        if any(lowering.loop_bodies for lowering in self._callers()):
            raise self.error(
                node.func,
                f"`{name}.{method}` grows a list in a loop that runs when the code runs",
                GROWING,
            )
        if self._held_within(old):
            raise self.error(
                node,
                f"`{name}` is an argument's list, or a list inside another value, which this "
                "would change too",
                "build a new list (`ys = xs + [v]`), or append to a list the function made",
            )
        if method == "append":
            added = (self.expr(node.args[0].value),)
        else:
            added = self.known_sequence(node.args[0].value)
            if added is None:
                raise self.error(
                    node.args[0], "`.extend` of something whose length is not known", GROWING
                )
        grown = self._limited(node, ListValue(tuple(old) + tuple(added)))
        for lowering in self._callers():  # every name of the list sees it grow, as in Python
            for key, bound in lowering.env.items():
                if bound is old:
                    lowering.env[key] = grown
        return Const(None)

    def _held_within(self, value) -> bool:
        """Whether ``value`` is (part of) an argument, or held inside another value (a tuple, a
        list, a dict), where growing it would change what an SSA value stands for."""
        for lowering in self._callers():
            if any(_holds(argument, value) for argument in lowering.arguments_bound):
                return True
            if any(bound is not value and _holds(bound, value) for bound in lowering.env.values()):
                return True
        return False

    def _returned_sequence(self, node: cst.Call):
        """The values of a call that returns a tuple or a list (a function inlined here that ends
        in ``return [a, b]``); ``None``, the call left unlowered, for anything else."""
        emitted = len(self.body)
        value = self.expr(node)
        if isinstance(value, tuple):
            return value
        del self.body[emitted:]  # only looked: the caller lowers the call its own way
        return None

    def _limited(self, node, values: tuple) -> tuple:
        if len(values) > MAX_UNROLL:
            raise self.error(
                node,
                f"a sequence of {len(values)} known values is too long to unroll",
                "loop over range(...) with a bound known only when the function runs",
            )
        return values

    def unroll(self, node: cst.For, values: tuple, body: list) -> None:
        """A ``for`` loop over known values: its body, once per value."""
        self._limited(node.iter, values)
        self._refuse_exits(body)
        for value in values:
            self.bind(node.target, value, node.iter)
            self.block(body)

    def list_display(self, node: cst.List) -> tuple:
        if any(isinstance(e, cst.StarredElement) for e in node.elements):
            raise self.error(
                node, "starred elements are not supported", "list the elements one by one"
            )
        return ListValue(self.expr(e.value) for e in node.elements)

    def comprehension(self, node, element=None) -> tuple:
        """``[elt for target in seq if cond ...]``, unrolled over known sequences, as a list (a
        tuple for a generator expression); ``element()`` lowers what each iteration gives (by
        default ``elt``)."""
        results: list = []
        outer_env = dict(self.env)
        try:
            self._unroll_comprehension(
                node.for_in, element or (lambda: self.expr(node.elt)), results
            )
        finally:
            self.env = outer_env  # the comprehension's names do not leak, as in Python 3
        kind = ListValue if isinstance(node, cst.ListComp) else tuple
        return self._limited(node, kind(results))

    def _unroll_comprehension(self, clause: cst.CompFor, element, results: list) -> None:
        values = self.known_sequence(clause.iter)
        if values is None:
            self.refuse_iterating(clause.iter)
            self.need_length(clause.iter)
            raise self.error(
                clause.iter,
                "a comprehension can run over a tuple, a list, an array whose length is known "
                "at the call, range(...) of constants, or zip/enumerate of those",
                "write a `for` loop instead",
            )
        for value in self._limited(clause.iter, values):
            self.bind(clause.target, value, clause.iter)
            if not all(self._known_condition(test.test) for test in clause.ifs):
                continue
            if clause.inner_for_in is not None:
                self._unroll_comprehension(clause.inner_for_in, element, results)
            else:
                results.append(element())

    def _known_condition(self, node) -> bool:
        value = self.expr(node)
        if not isinstance(value, Const):
            raise self.error(
                node,
                "a condition in a comprehension must be known when the function is lowered",
                "compute both cases and choose with `a if c else b`",
            )
        return bool(value.value)

    def sequence_call(self, function, node: cst.Call, hint: str):
        """``sum``, ``tuple`` and ``list`` of a known sequence."""
        if function is functools.reduce:
            return reduce_call(self, node, hint, FIXED_CONTAINERS)
        name = function.__name__
        if (
            any(a.star or a.keyword and a.keyword.value != "start" for a in node.args)
            or not node.args
        ):
            raise self.error(node, f"`{name}` needs one sequence argument here", FIXED_CONTAINERS)
        values = self.known_sequence(node.args[0].value)
        if values is None:
            self.need_length(node.args[0].value)
            raise self.error(
                node.args[0], f"`{name}` of something whose length is not known", FIXED_CONTAINERS
            )
        if function is builtins.list:
            return ListValue(values)
        if function is builtins.tuple:
            return tuple(values)
        start = self.expr(node.args[1].value) if len(node.args) > 1 else None
        return self.fold(
            PRIMITIVES["add"],
            ([start] if start is not None else []) + list(values),
            node,
            hint,
            empty=Const(0),
        )

    def length(self, node: cst.Call, hint: str):
        """``len(v)``: a constant for a sequence or an array whose length is known while lowering,
        else what ``len`` gives when the code runs (an array's length)."""
        if len(node.args) != 1 or node.args[0].keyword or node.args[0].star:
            raise self.error(node, "`len` takes one argument", "")
        arg = node.args[0].value
        if isinstance(arg, cst.Call):  # len(range(...)), len(list(...))
            values = self.known_sequence(arg)
            if values is not None:
                return Const(len(values))
        value = self.expr(arg)
        keys = self.iterated_record(value)
        if isinstance(value, tuple) or keys is not None:
            return Const(len(value if keys is None else keys))
        shape = self.known_length(value, node)
        if shape:
            return Const(shape[0])
        return self.emit(LENGTH, (self.atom(value, node),), node, hint)

    def fold(self, prim, values: list, node, hint: str, empty=None):
        """``values[0] op values[1] op ...``, left to right, as ``sum`` and ``max`` combine."""
        if not values:
            if empty is None:
                raise self.error(node, "an empty sequence has no maximum or minimum", "")
            return empty
        result = values[0]
        for value in values[1:]:
            result = self.emit(prim, (result, value), node, hint)
        return result

    def sequence_arithmetic(self, node, symbol: str, left, right):
        """``left + right`` or ``left * right`` where one of them is a list or tuple, as Python
        computes it: two lists (or two tuples) joined, a sequence repeated a known number of times.
        Anything else with a sequence is refused: Python raises, or (a sequence and an array) NumPy
        would compute elementwise with an array whose kind is not known here."""
        sequences = [isinstance(v, tuple) for v in (left, right)]
        if symbol == "+" and all(sequences):
            if isinstance(left, ListValue) != isinstance(right, ListValue):
                kinds = [_kind(v) for v in (left, right)]
                raise self.error(
                    node,
                    f"`+` of a {kinds[0]} and a {kinds[1]}: Python joins only two lists or two "
                    "tuples",
                    "convert one of them with list(...) or tuple(...)",
                )
            joined = tuple(left) + tuple(right)
            return self._limited(node, ListValue(joined) if isinstance(left, ListValue) else joined)
        if symbol == "*" and sequences.count(True) == 1:
            sequence, count = (left, right) if sequences[0] else (right, left)
            if isinstance(count, Const) and isinstance(count.value, int):
                repeated = tuple(sequence) * count.value
                kind = ListValue if isinstance(sequence, ListValue) else tuple
                return self._limited(node, kind(repeated))
            raise self.error(
                node,
                f"a {_kind(sequence)} repeated by `*` needs a count known when the function is "
                "lowered (an integer constant)",
                "write the count as an integer literal, or build an array with np.array(...) to "
                "multiply its elements",
            )
        what = _kind(left if sequences[0] else right)
        raise self.error(
            node,
            f"`{symbol}` of a {what} and a value: a {what} takes part in arithmetic only as "
            f"`{what} + {what}` and `{what} * count`",
            "make an array of it first (np.array(...)) to compute elementwise",
        )

    def index(self, node: cst.Subscript, base: tuple):
        """``seq[i]`` or ``seq[a:b:c]`` with constants."""
        if len(node.slice) != 1:
            raise self.error(node, "a tuple takes one index", "index with one integer")
        element = node.slice[0].slice
        if isinstance(element, cst.Slice):
            bounds = [
                None if part is None else self.expr(part)
                for part in (element.lower, element.upper, element.step)
            ]
            if all(b is None or isinstance(b, Const) and isinstance(b.value, int) for b in bounds):
                part = base[slice(*(None if b is None else b.value for b in bounds))]
                return ListValue(part) if isinstance(base, ListValue) else tuple(part)
        else:
            position = self.expr(element.value)
            if isinstance(position, Const) and isinstance(position.value, int):
                if -len(base) <= position.value < len(base):
                    return base[position.value]
                raise self.error(
                    node, f"index {position.value} is out of range for {len(base)} values", ""
                )
        raise self.error(
            node,
            "a list or tuple can be indexed only with a constant here",
            "loop over the sequence itself, or over range(...) with constant bounds",
        )


def _kind(value: tuple) -> str:
    return "list" if isinstance(value, ListValue) else "tuple"


def indexed_with(body: list, name: str) -> list:
    """What ``body`` indexes with an expression that reads ``name``: the subscripted expressions."""
    finder = _IndexFinder(name)
    for stmt in body:
        stmt.visit(finder)
    return finder.found


class _IndexFinder(cst.CSTVisitor):
    def __init__(self, name: str):
        self.name = name
        self.found: list = []

    def visit_Subscript(self, node) -> None:
        names = _NameFinder()
        for element in node.slice:
            element.visit(names)
        if self.name in names.names:
            self.found.append(node.value)


class _NameFinder(cst.CSTVisitor):
    def __init__(self):
        self.names: set = set()

    def visit_Name(self, node) -> None:
        self.names.add(node.value)


def grows_a_list(node: cst.Call, env: dict) -> bool:
    """Whether ``node`` is ``xs.append(v)`` or ``xs.extend(vs)`` of a list bound to a name."""
    func = node.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value in ("append", "extend")
        and isinstance(func.value, cst.Name)
        and isinstance(env.get(func.value.value), ListValue)
    )


def _holds(bound, value) -> bool:
    if bound is value:
        return True
    if isinstance(bound, tuple):
        return any(_holds(item, value) for item in bound)
    items = getattr(bound, "values", None)  # a Record
    return isinstance(items, tuple) and any(_holds(item, value) for item in items)
