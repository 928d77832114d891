"""Lowering of NumPy code: calls to NumPy functions and array methods, attributes and indexing.

A call is normalised as :mod:`s2sad.arrays` describes it: operands become arguments, static
parameters (``axis``, ``keepdims``) become keywords with constant values, and a method becomes the
function it calls (``x.sum(0)`` is ``np.sum(w1, axis=0)``).

A list or tuple where NumPy reads an array (``np.sum([a, b])``, ``np.dot([x, 1.0], v)``,
``x[[0, 2]]``) is the array NumPy makes of it, ``w3 = np.array([w1, w2])``, its nested lists made
arrays first and stacked as rows, so derivatives reach the values in it; where NumPy reads a shape
(``np.zeros((n, 2))``, ``x.reshape(n, 1)``) it stays a tuple. In an index, a list (written there,
or held in a name: ``idx = [0, 2]; x[idx]``) is an array of positions, a tuple one position per
axis.

Writing into an array (``out[i] = v``) is a new value in the trace, ``w5 = np.setitem(w4, i, v)``;
it is allowed on arrays the function created itself and that no other name refers to, so the write
cannot be seen elsewhere.
"""

from __future__ import annotations

import libcst as cst
import numpy as np

from .arrays import (
    ARRAY_FUNCTIONS,
    CONCATENATE_INDEX,
    CONCATENATORS,
    INDEX,
    INFO,
    INFO_ATTRIBUTES,
    OWNING,
    SETITEM,
    TRANSPOSE_ATTR,
    TUPLE,
    ArrayOp,
)
from .branches import Unbound
from .loops import assigned_names, names_read
from .ir import Call, Const, Expr, ListValue, Ref, Var
from .primitives import SELECT
from .records import READ_ONLY, Record

# Operations whose result may share memory with their (first) operand.
_SHARING = frozenset(
    {INDEX.name, TRANSPOSE_ATTR.name, SELECT.name, SETITEM.name}
    | {f"np.{name}" for name in ("transpose", "reshape", "ravel", "squeeze", "expand_dims")}
    | {f"np.{name}" for name in ("atleast_1d", "atleast_2d", "atleast_3d", "diag", "diagonal")}
    | {"np.flip", "np.einsum"}  # np.einsum("ij->ji", x) is a view
)
_SYMBOL = {"AddAssign": "+", "SubtractAssign": "-", "MultiplyAssign": "*", "DivideAssign": "/"}
_STATIC_HINT = "write `axis`, `keepdims` and the like as constants (literals or module constants)"


class ArrayLowering:
    """The NumPy part of :class:`s2sad.lower.Lowering`."""

    def array_call(self, op: ArrayOp, node: cst.Call, receiver=None, hint: str = "") -> Var:
        """``np.f(...)``, or ``x.f(...)`` with ``receiver`` the value of ``x``."""
        values, keywords = self.call_arguments(node)  # `*` and `**` of known tuples and dicts
        if receiver is not None:
            values.insert(0, receiver)
        name = op.prim.name
        if op.packed and name == "np.array" and values and not isinstance(values[0], tuple):
            return self.atom(values[0], node)  # np.asarray(x) of an array: x itself
        if op.packed:
            if not values or not isinstance(values[0], tuple) or not values[0]:
                raise self.error(node, f"`{name}` takes a list or tuple of values here", "")
            operands, rest = list(values[0]), values[1:]
            if name == "np.array":  # its rows: constants as written, else arrays to stack
                rows = self.operand if _constant(values[0]) else self._rows
                operands = [rows(v, node) for v in operands]
        elif name == "np.reshape" and len(values) > 2:  # x.reshape(3, 4) is x.reshape((3, 4))
            operands, rest = [values[0], tuple(values[1:])], []
        else:
            fewest, most = op.operands
            operands, rest = values[:most], values[most:]
            if len(operands) < fewest:
                raise self.error(node, f"`{name}` needs {fewest} argument(s)", "")
        if len(rest) > len(op.statics) + len(op.named):
            raise self.error(node, f"`{name}` got too many arguments", "")
        params = [(key, self._static(value, node)) for key, value in zip(op.statics, rest)]
        named = dict(zip(op.named, rest[len(op.statics) :]))  # np.average(x, 0, w): weights w
        for key, (value, arg) in keywords.items():
            if key in op.named:  # an operand given by keyword: np.average(x, weights=w)
                named[key] = value
                continue
            if key not in op.statics + op.keywords or key in dict(params):
                raise self.error(
                    arg,
                    f"`{name}` does not take `{key}=` here",
                    f"it takes {', '.join(op.statics + op.keywords) or 'no keywords'}",
                )
            params.append((key, self._static(value, arg)))
        operands += [named.get(key, Const(None)) for key in op.named]
        args = tuple(
            self.operand(value, node) if i in op.shapes else self.array_like(value, node)
            for i, value in enumerate(operands)
        )
        if op.parts:  # sign, logdet = np.linalg.slogdet(a): a tuple of one value per result
            return tuple(self.emit(part, args, node, hint, tuple(params)) for part in op.parts)
        return self.emit(op.prim, args, node, hint, tuple(params))

    def _static(self, value, node):
        """The constant value of a static parameter (an axis, a shape)."""
        if isinstance(value, tuple) and all(isinstance(v, Const) for v in value):
            return tuple(v.value for v in value)
        if isinstance(value, Const):
            return value.value
        if isinstance(value, Ref) and (isinstance(value.obj, type) or not callable(value.obj)):
            return value  # dtype=np.float32, or a module constant
        parameter = self.parameter_vars.get(value.name) if isinstance(value, Var) else None
        if parameter is not None and self.structures is None:
            # `axis=axis` with a parameter that defaults to None: a None argument is a constant in
            # the code compiled for the arguments' structures (see s2sad.nones)
            raise self.structure_needed(node, parameter, "a static argument (an axis, a shape)")
        if parameter is not None:
            raise self.error(
                node,
                f"this argument must be a constant, and the parameter `{parameter}` is a value "
                "passed when the code runs",
                f"differentiate a function that calls this one with `{parameter}` written as a "
                f"constant (`def g(x): return f(x, {parameter}=1)`), or leave it to its default "
                "None",
            )
        raise self.error(node, "this argument must be a constant", _STATIC_HINT)

    def operand(self, value, node) -> Expr:
        """An argument of an array operation: a tuple of values becomes a tuple in the trace
        (a shape), a tuple of constants a constant."""
        if isinstance(value, tuple):
            items = tuple(self.operand(v, node) for v in value)
            if all(isinstance(v, Const) for v in items):
                return Const(tuple(v.value for v in items))
            return self.emit(TUPLE, items, node)
        if isinstance(value, Ref) and isinstance(value.obj, type):
            return value  # a dtype: x.astype(float)
        return self.atom(value, node)

    def array_like(self, value, node) -> Expr:
        """An argument NumPy reads as an array: a list or tuple is ``np.array`` of it."""
        if not isinstance(value, tuple):
            return self.operand(value, node)
        if _constant(value):
            return self.emit(_ARRAY, tuple(self.operand(v, node) for v in value), node)
        return self._rows(value, node)

    def _rows(self, value, node) -> Expr:
        """One element of a list holding values: a nested list is an array of its own (a row of
        the array the list makes, which ``np.array`` stacks), so every row has an array's kind."""
        if not isinstance(value, tuple):
            return self.operand(value, node)
        if not value:
            raise self.error(node, "an empty list inside an array is not supported", "")
        return self.emit(_ARRAY, tuple(self._rows(v, node) for v in value), node)

    def array_attribute(self, base: Expr, attr: str, node, hint: str):
        if attr == "T":
            return self.emit(TRANSPOSE_ATTR, (base,), node, hint, (("attr", "T"),))
        if attr in INFO_ATTRIBUTES:
            known = self.array_info(base, attr, node)
            if known is not None:
                return known
            return self.emit(INFO, (base,), node, hint, (("attr", attr),))
        return None

    def array_index(self, node: cst.Subscript, base: Expr, hint: str = "") -> Var:
        """``x[i]``, ``x[1:n]``, ``x[:, j]``, ``x[mask]``, ``x[idx]``: one ``getitem`` whose layout
        (which parts are values, which are slices) is static and whose values are arguments.
        ``np.r_[a, b]`` and ``np.c_[a, b]`` concatenate their values: a step of their own."""
        pieces = isinstance(base, Ref) and isinstance(base.obj, CONCATENATORS)
        layout, values = self._index(node, pieces)
        prim = CONCATENATE_INDEX if pieces else INDEX
        return self.emit(prim, (base, *values), node, hint, (("index", layout),))

    def _index(self, node: cst.Subscript, pieces: bool = False):
        layout, values = [], []
        for element in node.slice:
            part = element.slice
            if isinstance(part, cst.Slice):
                bounds = [part.lower, part.upper, part.step]
                layout.append(tuple(b is not None for b in bounds))
                values += [self.atom(self.expr(b), b) for b in bounds if b is not None]
            elif isinstance(part.value, cst.Ellipsis):
                layout.append(Ellipsis)
            elif isinstance(part.value, cst.Name) and part.value.value == "None":
                layout.append(None)
            else:
                value = self.expr(part.value)
                whole = len(node.slice) == 1 and not pieces
                if whole and isinstance(value, tuple) and not isinstance(value, ListValue):
                    for item in value:  # x[p] with p = (0, 2) is x[0, 2]: a part per axis
                        self._index_part(item, part.value, layout, values)
                elif pieces:
                    layout.append("value")
                    values.append(self.array_like(value, part.value))
                else:
                    self._index_part(value, part.value, layout, values)
        return tuple(layout), values

    def _index_part(self, value, node, layout: list, values: list) -> None:
        """One part of an index, as NumPy reads it: ``np.newaxis``, a number, or an array of
        positions, which a list or tuple there is (``x[idx]`` with ``idx = [0, 2]`` reads two
        elements, as ``x[[0, 2]]`` does)."""
        if isinstance(value, Ref) and value.obj is None:  # np.newaxis
            layout.append(None)
            return
        if isinstance(value, tuple) and not value:
            raise self.error(node, "an empty list or tuple inside an index is not supported", "")
        layout.append("value")
        read = self.array_like if isinstance(value, tuple) else self.operand
        values.append(read(value, node))

    def index_assignment(self, target: cst.Subscript, value, value_node) -> None:
        """``out[i] = v``: a new array value bound to ``out``, for an array nothing else sees."""
        if not isinstance(target.value, cst.Name):
            raise self.error(target, "only a local array can be written into", "")
        name = target.value.value
        current = self.name(target.value)
        if isinstance(current, tuple):
            raise self.error(
                target,
                "writing into a list or tuple is not supported",
                "build a new list instead",
            )
        if isinstance(current, Record):
            raise self.error(
                target, f"writing into {current.describe()} is not supported", READ_ONLY
            )
        if not isinstance(current, Var) or not self._owned(current):
            raise self.error(
                target,
                f"writing into `{name}` could change an array that is not this function's own "
                "(an argument, or a view of one)",
                f"copy it first: `{name} = {name}.copy()`, or build a new array",
            )
        others = [other for _, other, bound in self._sharing(current, name) if bound == current]
        if others:
            raise self.error(
                target,
                f"`{name}` and `{others[0]}` are the same array here; writing into one changes both",
                f"make a copy first: `{name} = {name}.copy()`",
            )
        layout, values = self._index(target)
        new = self.atom(value, value_node)
        params = (("index", layout),)
        self._retire_views(current, name, target)
        self.env[name] = self.emit(SETITEM, (current, new, *values), target, name, params)

    def note_in_place(self, current: Var, name: str, node) -> None:
        """``name += v``: NumPy changes an array in place, which the caller or another name
        would see; a number is rebound. Noted, and refused once ``name`` is known to be an array."""
        seen = sorted(self._storage(current) & self.arguments)
        seen = seen or [other for _, other, _ in self._sharing(current, name)]
        if seen:
            what = "the caller's array" if seen[0] in self.arguments else f"the array `{seen[0]}`"
            message = f"`{name}` is an array: this changes {what} in place"
            symbol = _SYMBOL.get(type(node.operator).__name__, "+")
            hint = f"write `{name} = {name} {symbol} ...`, which makes a new array"
            # The value `name` holds, where an operation made it (`v[0, 1]`, a number or a view
            # of `v` as `v` has two axes or more); else the argument it copies, whose name
            # survives the propagation of copies.
            made = isinstance(self.sources.get(current.name), Call)
            variable = seen[0] if seen[0] in self.arguments and not made else current.name
            self.in_place.append((variable, self.source.location(node), message, hint))

    def _retire_views(self, written: Var, name: str, target) -> None:
        """Names that may be views of the array being written see the write in Python, but their
        SSA values would not: reading one afterwards is refused (``v = out[:2]; out[0] = x``)."""
        line = self.source.location(target).line
        for lowering, other, bound in list(self._sharing(written, name)):
            if bound == written:
                continue
            if any(
                other in names_read(body) and other not in assigned_names(body)
                for body in lowering.loop_bodies
            ):  # the loop runs again: a read of `other` anywhere in it may follow this write
                raise self.error(
                    target,
                    f"`{other}` may be a view of `{name}`, and the loop writes into `{name}` "
                    f"while it reads `{other}`",
                    f"make `{other}` a copy where it is assigned (`.copy()`)",
                )
            lowering.env[other] = Unbound(
                other,
                self.source.location(target),
                f"`{other}` may be a view of `{name}`, which line {line} writes into, so "
                "its value is ambiguous",
                f"read `{other}` before the write, or make it a copy where it is assigned "
                "(`.copy()`)",
            )

    def _sharing(self, var: Var, name: str):
        """``(lowering, other, value)`` for every other name, here or in a caller, whose value may
        share memory with ``var`` (the value of ``name`` here)."""
        storage = self._storage(var)
        for lowering in self._callers():
            for other, bound in lowering.env.items():
                if (
                    isinstance(bound, Var)
                    and (other != name or lowering is not self)
                    and self._storage(bound) & storage
                ):
                    yield lowering, other, bound

    def _storage(self, var: Var) -> set:
        """Names of the values whose memory ``var`` may share, back to the arrays that own it: a
        slice, reshape or transpose shares its operand's, a write (``setitem``) its array's."""
        found: set = set()
        pending = [var]
        while pending:
            current = pending.pop()
            if current.name in found:
                continue
            found.add(current.name)
            definition = self.sources.get(current.name)
            if isinstance(definition, Var):  # a loop's carried value, as it entered the loop
                pending.append(definition)
            elif isinstance(definition, Call) and definition.prim.name in _SHARING:
                operands = definition.args[1:] if definition.prim is SELECT else definition.args[:1]
                pending.extend(a for a in operands if isinstance(a, Var))
        return found

    def _callers(self):
        lowering = self
        while lowering is not None:
            yield lowering
            lowering = lowering.caller

    def _owned(self, var: Var) -> bool:
        """Whether ``var`` holds an array this function made: not an argument, not a view."""
        definition = self.sources.get(var.name)
        if isinstance(definition, Var):  # a loop's carried value: as it entered the loop
            return self._owned(definition)
        if not isinstance(definition, Call):
            return False
        if definition.prim is SELECT:
            return all(isinstance(a, Var) and self._owned(a) for a in definition.args[1:])
        return definition.prim.name in OWNING


_ARRAY = ARRAY_FUNCTIONS[id(np.array)].prim


def _constant(value) -> bool:
    """Whether a value the program built (a tuple of values, nested) holds only constants."""
    if isinstance(value, tuple):
        return all(_constant(v) for v in value)
    return isinstance(value, Const)
