"""Arrays whose length is known when the function is lowered, used as sequences.

A list or tuple argument has its length in its structure (see :mod:`s2sad.records`). An array's
length is known at the call as well, and code for arrays is compiled for their shapes anyway. So where
a function reads the length of an array while it is lowered (``a, b, c = x``, ``_, n = X.shape``,
``for v in x``, ``zip(x, y)``, ``enumerate(x)``, ``sum(x)``, ``len(x)``), it is lowered again with the
shapes of its numbers and arrays (:class:`~s2sad.trees.ArrayShape`), and an array of known shape is
the sequence of its rows ``x[0], x[1], …``: indexings the derivative rules know, so the gradient of
``x`` is an array of its shape. A function that reads no length keeps one trace for every shape.

Shapes follow a value through what keeps them known: indexing with constants (``x[1:]``, ``X[0]``),
and elementwise arithmetic of values of known shapes (``x - 1.0``, ``np.sin(x)``).
"""

from __future__ import annotations

from functools import lru_cache

import libcst as cst
import numpy as np

from .array_rules import runtime_call
from .arrays import INDEX
from .errors import LengthNeededError
from .ir import Call, Const, Effect, Var
from .primitives import BINARY_OPERATORS, UNARY_OPERATORS
from .sequences import MAX_UNROLL
from .trees import ArrayShape

# Operations whose result has the broadcast shape of their operands.
_ELEMENTWISE = frozenset(
    [p.name for s, p in BINARY_OPERATORS.items() if s != "@"]
    + [p.name for p in UNARY_OPERATORS.values()]
    + [
        f"np.{name}"
        for name in "sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arctanh exp exp2 "
        "expm1 log log2 log10 log1p sqrt cbrt square reciprocal abs fabs sign negative positive "
        "add subtract multiply divide power maximum minimum fmax fmin arctan2 hypot copy".split()
    ]
)
_ITERATORS = ("zip", "enumerate", "reversed")


@lru_cache(maxsize=256)
def _shapes(structures) -> dict | None:
    """Generated parameter -> its shape, or ``None`` if the lowering was not given shapes."""
    shapes = {name: s.dims for name, s in structures or () if isinstance(s, ArrayShape)}
    return shapes if shapes else None


class LengthLowering:
    """The part of :class:`s2sad.lower.Lowering` that knows the shapes of arrays."""

    def shape_of(self, value) -> tuple | None:
        """The shape of ``value`` where it is known while lowering (``()`` for a number)."""
        if isinstance(value, Const):
            number = isinstance(value.value, (int, float)) and not isinstance(value.value, bool)
            return () if number else None
        if not isinstance(value, Var):
            return None
        leaf = self.leaf_vars.get(value.name)
        if leaf is not None:
            return (_shapes(self.structures) or {}).get(leaf)
        definition = self.sources.get(value.name)
        if not isinstance(definition, Call):
            return None
        name = definition.prim.name
        if definition.prim is INDEX:
            return self._indexed_shape(definition)
        if name in _ELEMENTWISE and not definition.params:
            shapes = [self.shape_of(arg) for arg in definition.args]
            if all(shape is not None for shape in shapes):
                try:
                    return np.broadcast_shapes(*shapes)
                except ValueError:  # NumPy raises when the code runs
                    return None
        return None

    def _indexed_shape(self, definition: Call) -> tuple | None:
        """The shape of ``x[...]`` with constant parts, as NumPy gives it."""
        base = self.shape_of(definition.args[0])
        values = list(definition.args[1:])
        if not base or not all(isinstance(v, Const) for v in values):
            return None
        parts = []
        for part in dict(definition.params)["index"]:
            if isinstance(part, tuple):  # a slice: which of its bounds are given
                parts.append(slice(*(values.pop(0).value if given else None for given in part)))
            elif part == "value":
                parts.append(values.pop(0).value)
            else:
                parts.append(part)  # Ellipsis or None
        try:
            return np.empty(base)[tuple(parts)].shape
        except (IndexError, TypeError, ValueError):  # NumPy raises when the code runs
            return None

    def known_length(self, value, node) -> tuple | None:
        """The shape of ``value`` for code that depends on it (unrolled over it, unpacking it):
        the parameters it comes from are then checked, when the code runs, to have the shapes it
        was compiled for (see :meth:`check_lengths`)."""
        shape = self.shape_of(value)
        if shape is not None:
            for var in self._leaves_behind(value, known=True):
                self.lengths_read.setdefault(var.name, (var, self.source.location(node)))
        return shape

    def check_lengths(self) -> None:
        """Check, right after the parameters are bound, that each array whose length the code
        read has the shape it was compiled for: the printed and exported code serve those shapes
        only, and raise for others rather than compute with a wrong number of elements."""
        checks = []
        for var, where in self.lengths_read.values():
            leaf = self.leaf_vars[var.name]
            call = runtime_call("require_shape", var, self.shape_of(var), leaf)
            checks.append(Effect(call, where))
        at = len(self.leaf_vars)  # the parameters' assignments come first
        self.body[at:at] = checks

    def rows(self, value, node) -> tuple | None:
        """``value[0], value[1], …`` for an array of known shape (with one axis or more), what
        iterating it gives; ``None`` for anything else."""
        shape = self.known_length(value, node) if isinstance(value, Var) else None
        if not shape:
            return None
        if shape[0] > MAX_UNROLL:
            raise self.error(
                node,
                f"an array of {shape[0]} elements is too long to unroll a loop over it",
                "loop over it with `for`, or over its positions: `for i in range(len(x))`, "
                "reading `x[i]`; or compute with whole arrays (np.sum, np.dot)",
            )
        index = (("index", ("value",)),)
        return tuple(self.emit(INDEX, (value, Const(i)), node, "", index) for i in range(shape[0]))

    def long_arrays(self, node) -> tuple | None:
        """``(arrays, enumerated, n)`` where ``node`` (what a ``for`` loop runs over) is an array
        of known length too long to unroll, or ``zip`` or ``enumerate`` of such named arrays
        (``n``: the number of iterations); ``None`` for anything else."""
        enumerated = False
        parts = [node]
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            if node.func.value not in ("zip", "enumerate") or node.func.value in self.env:
                return None
            if any(arg.keyword or arg.star for arg in node.args):
                return None
            enumerated = node.func.value == "enumerate"
            parts = [arg.value for arg in node.args]
            if enumerated and len(parts) != 1:
                return None
        if not parts or not all(isinstance(part, cst.Name) for part in parts):
            return None
        arrays = [self.env.get(part.value) for part in parts]
        shapes = [self.shape_of(a) if isinstance(a, Var) else None for a in arrays]
        if not all(shapes) or min(s[0] for s in shapes) <= MAX_UNROLL:
            return None
        for array, part in zip(arrays, parts):
            self.known_length(array, part)
        return arrays, enumerated, min(s[0] for s in shapes)

    def array_info(self, base, attr: str, node):
        """``x.shape``, ``x.ndim`` or ``x.size`` as a constant, where the shape of ``x`` is known."""
        if attr not in ("shape", "ndim", "size"):
            return None
        shape = self.known_length(base, node)
        if shape is None:
            return None
        return Const({"shape": shape, "ndim": len(shape), "size": int(np.prod(shape))}[attr])

    def need_length(self, node, values=None) -> None:
        """Where the sequence ``node`` (of ``values``: by default what ``node`` iterates) has no
        known length: if that is because the arguments' structures (or, for arrays, shapes) were
        not given, say so, so that the function is lowered again with them; for a number, refuse.
        Else return, and let the caller refuse."""
        shapes = _shapes(self.structures)
        for value in self._sequences_in(node) if values is None else values:
            for var in self._leaves_behind(value):
                leaf = self.leaf_vars[var.name]
                parameter = self.parameter_vars.get(var.name)
                if self.structures is None and parameter is not None:
                    raise self.structure_needed(node, parameter, "a sequence")
                if shapes is None:
                    raise LengthNeededError(
                        f"`{leaf}` is used as a sequence here, so its derivative depends on the "
                        "length of the argument passed for it",
                        self.source.location(node),
                        "call the derivative with that argument and code is compiled for its "
                        "shape; to read that code, give example arguments: "
                        "s2sad.adjoint_source(f, args=(...))",
                    )
                if shapes.get(leaf) == ():
                    raise self.error(
                        node,
                        f"`{leaf}` is a number here, and a number is not a sequence",
                        "pass a list, a tuple or an array for it",
                    )

    def _sequences_in(self, node) -> list:
        """The values ``node`` iterates: itself, or the arguments of ``zip``/``enumerate``."""
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            if node.func.value in _ITERATORS and node.func.value not in self.env:
                return [v for arg in node.args for v in self._sequences_in(arg.value)]
            return []
        if isinstance(node, cst.Name):
            value = self.env.get(node.value)
            return [value] if value is not None else []
        if isinstance(node, (cst.Subscript, cst.Attribute)):  # x[1:], params["w"], X.shape
            return [self.expr(node)]
        return []

    def _leaves_behind(self, value, known: bool = False) -> list:
        """The parameters (as their variables) the value ``value`` is computed from (through
        indexing, ``.shape`` and arithmetic) whose shape is not known, or is ``()``; or, with
        ``known``, those whose shape is known."""
        found, pending, seen = [], [value], set()
        while pending:
            current = pending.pop()
            if not isinstance(current, Var) or current.name in seen:
                continue
            seen.add(current.name)
            if current.name in self.leaf_vars:
                shape = self.shape_of(current)
                if (shape is not None) if known else shape in (None, ()):
                    found.append(current)
                continue
            definition = self.sources.get(current.name)
            if isinstance(definition, Call):
                pending.extend(definition.args)
        return found

    def unpacked(self, value, node) -> tuple:
        """``value`` as the values ``a, b = value`` binds: a tuple, the rows of an array of known
        shape, or the numbers of a constant tuple (``X.shape``); refused otherwise."""
        if isinstance(value, Const) and isinstance(value.value, tuple):
            return tuple(Const(v) for v in value.value)
        rows = self.rows(value, node)
        if rows is not None:
            return rows
        self.refuse_unpacking(value, node)
        self.need_length(node)
        self._refuse_info(value, node)
        raise self.error(node, "cannot unpack a single value", "unpack a tuple of the same length")

    def _refuse_info(self, value, node) -> None:
        """``_, n = X.shape`` where the shape of ``X`` is not known: say so for ``X``."""
        definition = self.sources.get(value.name) if isinstance(value, Var) else None
        if isinstance(definition, Call) and dict(definition.params).get("attr") == "shape":
            self.need_length(node, definition.args[:1])
