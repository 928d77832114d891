"""Lowering of loops: ``for`` over ``range(...)``, ``while``, and ``for`` over values known when the
function is lowered (a tuple, ``zip`` or ``enumerate`` of tuples), which is unrolled; a loop over
arrays of known length too long to unroll runs over their positions.

A name the body assigns that was bound before the loop is *carried*: it becomes a loop header, a
variable that starts as the value before the loop and takes the value the body computed at the end of
each iteration. The trace prints the carried values explicitly::

    w5 = w1                  # x, on entry
    for w6 in range(w3):
        w7 = sin(w5)
        w8 = w7 * w2
        w5 = w8              # x, for the next iteration

A ``while`` condition becomes a carried value too: evaluated before the loop, and again at the end of
the body, so the loop reads ``while w7:``.
"""

from __future__ import annotations

import builtins

import libcst as cst

from .branches import BROKE, CONTINUED, RESULT, RETURNED, Unbound, _statements
from .arrays import INDEX
from .ir import Call, Const, ListValue, Loop
from .primitives import RANGE, SELECT
from .records import Record
from .sequences import GROWING, indexed_with


def assigned_names(statements) -> set:
    """Names a block of CST statements assigns, nested blocks included."""
    collector = _AssignedNames()
    for stmt in statements:
        stmt.visit(collector)
    return collector.names


def _list_growths(statements) -> dict:
    """The names a block of CST statements calls ``.append`` or ``.extend`` on, each with its
    first such call."""
    collector = _AssignedNames()
    for stmt in statements:
        stmt.visit(collector)
    return collector.grown


def names_read(statements) -> set:
    """Every name a block of CST statements mentions (a superset of those it reads)."""
    collector = _Names()
    for stmt in statements:
        stmt.visit(collector)
    return collector.names


class _Names(cst.CSTVisitor):
    def __init__(self):
        self.names: set = set()

    def visit_Name(self, node) -> None:
        self.names.add(node.value)


class _AssignedNames(cst.CSTVisitor):
    def __init__(self):
        self.names: set = set()
        self.grown: dict = {}  # the names `.append` or `.extend` is called on -> the first call

    def _add(self, target) -> None:
        if isinstance(target, cst.Subscript):  # out[i] = v binds out to a new array value
            target = target.value
        if isinstance(target, cst.Name):
            self.names.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._add(element.value)

    def visit_AssignTarget(self, node) -> None:
        self._add(node.target)

    def visit_AugAssign(self, node) -> None:
        self._add(node.target)

    def visit_Call(self, node) -> None:  # out.append(v) binds out to a longer list
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("append", "extend"):
            self._add(func.value)
            if isinstance(func.value, cst.Name):
                self.grown.setdefault(func.value.value, node)

    def visit_AnnAssign(self, node) -> None:
        self._add(node.target)

    def visit_For(self, node) -> None:
        self._add(node.target)


class _LoopExit(cst.CSTVisitor):
    """Finds ``break``, ``continue`` and ``return`` in a loop body (not in loops nested in it)."""

    def __init__(self):
        self.found = None

    def visit_Break(self, node):
        self.found = self.found or (node, "`break`")

    def visit_Continue(self, node):
        self.found = self.found or (node, "`continue`")

    def visit_Return(self, node):
        self.found = self.found or (node, "`return` from inside a loop")

    def visit_For(self, node):
        return False

    def visit_While(self, node):
        return False


class LoopLowering:
    """The loop-lowering part of :class:`s2sad.lower.Lowering`."""

    def for_statement(self, node: cst.For) -> None:
        self._refuse_extras(node)
        body = _statements(node.body)
        long = self.long_arrays(node.iter)
        if long is not None:
            self._array_loop(node, body, *long)
            return
        values = self.known_sequence(node.iter, ranges=False)
        if values is None and (
            isinstance(node.target, cst.Name)
            and self._indexes_a_sequence(body, node.target.value)
            or self._grows_a_list(body)
        ):
            values = self.known_sequence(node.iter)  # range of constants: unrolled, the index known
        if values is not None:
            self.unroll(node, values, body)
            return
        self.refuse_iterating(node.iter)
        self.need_length(node.iter)
        args = self._range_arguments(node.iter)
        if not isinstance(node.target, cst.Name):
            raise self.error(
                node.target, "the loop variable of a range loop must be a plain name", ""
            )
        target = self.fresh(node.target.value)
        iterable = Call(RANGE, tuple(args))
        self._loop(node, body, target=target, iterable=iterable, name=node.target.value)

    def _array_loop(self, node: cst.For, body: list, arrays: list, enumerated: bool, n: int):
        """``for v in x``, ``for a, b in zip(x, y)`` or ``for i, v in enumerate(x)`` over arrays too
        long to unroll: a loop over ``range(n)`` whose body first reads the elements at its index.
        After it, the loop's names hold the last elements, as in Python (``n`` is at least 1)."""
        index = self.fresh("i")
        rows = (("index", ("value",)),)

        def elements(position) -> object:
            items = tuple(self.emit(INDEX, (a, position), node.iter, "", rows) for a in arrays)
            if enumerated:
                return position, items[0]
            return items if len(items) > 1 else items[0]

        def bind() -> None:
            self.bind(node.target, elements(index), node.iter)

        iterable = Call(RANGE, (Const(n),))
        self._loop(node, body, target=index, iterable=iterable, prologue=bind)
        self.bind(node.target, elements(Const(n - 1)), node.iter)

    def _indexes_a_sequence(self, body: list, index: str) -> bool:
        """Whether ``body`` indexes with ``index`` a tuple or list, which needs the index known
        while lowering (an array can be indexed by a value only known at run time)."""
        for base in indexed_with(body, index):
            if not isinstance(base, cst.Name) or isinstance(
                self.env.get(base.value), (tuple, Record)
            ):
                return True
            if base.value not in self.env and base.value not in self.local_names:
                return True  # a global or closure sequence
        return False

    def _grows_a_list(self, body: list) -> bool:
        """Whether ``body`` appends to a list bound before the loop (unrolled where it can be, so
        that the list's length stays known)."""
        return any(isinstance(self.env.get(n), ListValue) for n in _list_growths(body))

    def while_statement(self, node: cst.While) -> None:
        self._refuse_extras(node)
        body = _statements(node.body)
        self._loop(node, body, test=node.test)

    # --- the general loop -------------------------------------------------------------------

    def _loop(
        self, node, body: list, target=None, iterable=None, name=None, test=None, prologue=None
    ) -> None:
        carried = sorted(
            n
            for n in assigned_names(body)
            if n in self.env and not isinstance(self.env[n], Unbound) and n != name
        )
        grown = _list_growths(body)
        for carried_name in carried:
            if carried_name in grown and isinstance(self.env[carried_name], ListValue):
                raise self.error(
                    grown[carried_name].func,
                    f"`{carried_name}.{grown[carried_name].func.attr.value}` grows a list in a loop "
                    "that runs when the code runs",
                    GROWING,
                )
            if isinstance(self.env[carried_name], (tuple, Record)):
                raise self.error(
                    node,
                    f"`{carried_name}` holds a structure and is reassigned in the loop",
                    "carry numbers around a loop; unpack the tuple before the loop",
                )
        headers = [self.fresh(n) for n in carried]
        inits = [self.env[n] for n in carried]
        # The loop variable keeps its last value after the loop, which is the value it had before
        # when the loop runs no iteration: where it had one, it is carried too (its next value is
        # what the body leaves in it, the target unless the body reassigns it).
        counter = name is not None and _plain(self.env.get(name))
        if counter:
            headers.append(self.fresh(name))
            inits.append(self.env[name])
        self.sources.update((h.name, i) for h, i in zip(headers, inits))
        if test is not None:
            cond = self.fresh()
            headers.append(cond)
            inits.append(self.atom(self.expr(test), test))
        before = dict(self.env)
        outer_body, self.body = self.body, []
        self.env = {
            **self.env,
            **dict(zip(carried, headers)),
            BROKE: Const(False),
            CONTINUED: Const(False),
        }
        for flag in (RETURNED, RESULT):
            self.env.pop(flag, None)  # inside the loop, nothing has returned yet
        if name is not None:
            self.env[name] = target
        if prologue is not None:  # what the loop binds from its index (see _array_loop)
            prologue()
        self.loop_bodies.append(body)
        try:
            self.block(body)
        finally:
            self.loop_bodies.pop()
        returned, result = self.env.get(RETURNED, Const(False)), self.env.get(RESULT)
        stop = self._either(self.env.get(BROKE, Const(False)), returned, node)
        nexts = [self.env[n] for n in carried]
        last = self.env.get(name) if name is not None else None
        if counter:
            nexts.append(last)
        if test is not None:  # the condition is evaluated again only if the body did not stop
            value, evaluation = self.lazy(test)
            nexts.append(
                value
                if stop == Const(False)
                else self.choose(stop, Const(False), [], value, evaluation, test)
            )
            if stop == Const(False):
                self.body.extend(evaluation)
        if returned != Const(False):  # the function's result, carried out of the loop
            if isinstance(result, (tuple, Record)):
                raise self.error(
                    node,
                    "returning a tuple or a dict from inside a loop is not supported yet",
                    "assign the values in the loop, `break`, and return them after it",
                )
            returned_header, result_header = self.fresh(), self.fresh()
            headers += [returned_header, result_header]
            inits += [Const(False), Const(None)]
            nexts += [returned, result]
        for carried_name, value in zip(carried + [name] * counter, nexts):
            if isinstance(value, (tuple, Record, Unbound)):
                raise self.error(node, f"`{carried_name}` does not stay a number in the loop", "")
        inner_env, loop_body, self.body = self.env, self.body, outer_body
        exit_flag = None if stop == Const(False) or test is not None else stop
        loop = Loop(headers, inits, loop_body, nexts, target, iterable, cond if test else None)
        loop.loc, loop.exit = self.source.location(node), exit_flag
        self.body.append(loop)
        self.env = dict(before)
        self.env.update(zip(carried, headers))
        for outer, value in inner_env.items():  # views the loop's writes made ambiguous stay so
            if isinstance(value, Unbound) and outer in before and outer not in carried:
                self.env[outer] = value
        if returned != Const(False):
            self.env[RETURNED], self.env[RESULT] = returned_header, result_header
        line = self.source.location(node).line
        if counter:
            self.env[name] = headers[len(carried)]
        elif name is not None and last is target:
            self.env[name] = target
            self.loop_targets[target.name] = line  # unbound if the loop ran no iteration
        elif name is not None:  # reassigned in the body, and unbound where no iteration ran
            self.env[name] = Unbound(
                name,
                self.source.location(node),
                f"`{name}`, the variable of the loop on line {line}, is reassigned in its body "
                "and has no value before the loop",
                "assign it before the loop",
            )
        for local in assigned_names(body) - set(carried) - {name}:
            if local in inner_env:
                self.env[local] = Unbound(
                    local, self.source.location(node), _only_in_loop(local, line)
                )

    def _either(self, a, b, node):
        """``a or b`` for flags, emitted only when neither is known."""
        if a == Const(False) or b == Const(True):
            return b
        if b == Const(False) or a == Const(True):
            return a
        return self.emit(SELECT, (a, a, b), node)

    # --- what a loop may iterate over ---------------------------------------------------------

    def _range_arguments(self, node) -> list:
        if isinstance(node, cst.Call) and isinstance(node.func, (cst.Name, cst.Attribute)):
            callee = self.expr(node.func)
            if getattr(callee, "obj", None) is builtins.range:
                if not 1 <= len(node.args) <= 3 or any(a.keyword or a.star for a in node.args):
                    raise self.error(node, "range takes 1 to 3 positional arguments", "")
                return [self.atom(self.expr(a.value), a.value) for a in node.args]
        raise self.error(
            node,
            "a `for` loop can run over range(...), a list or tuple, an array whose length is "
            "known at the call, or zip/enumerate of those",
            "write `for i in range(n)` and index, or loop over a tuple",
        )

    # --- what is refused ----------------------------------------------------------------------

    def _refuse_extras(self, node) -> None:
        if getattr(node, "orelse", None) is not None:
            raise self.error(
                node, "an `else` clause on a loop is not supported", "move it after the loop"
            )
        if getattr(node, "asynchronous", None) is not None:
            raise self.error(node, "`async for` is not supported", "use a plain `for` loop")

    def _refuse_exits(self, body: list) -> None:
        finder = _LoopExit()
        for stmt in body:
            stmt.visit(finder)
        if finder.found:
            exit_node, what = finder.found
            raise self.error(
                exit_node,
                f"{what} inside a loop is not supported yet",
                "compute the result with the loop running to its end (a flag carried in the loop "
                "and an `if` on it)",
            )


def _plain(value) -> bool:
    """Whether a name's value before a loop can be carried through it (not a structure, bound)."""
    return value is not None and not isinstance(value, (tuple, Record, Unbound))


def _only_in_loop(name: str, line: int) -> str:
    return f"`{name}` is assigned only inside the loop on line {line}"
