"""What each value of a trace is: a Python number, or a NumPy array of a known shape and dtype.

Derivative code depends on it. The adjoint of ``a + b`` where ``a`` has shape ``(3, 1)`` and the sum
``(3, 4)`` sums over axis 1 (NumPy broadcast ``a``); where the shapes agree it needs nothing. When the
arguments' shapes are known (a gradient is compiled for the shapes it is called with), this module
infers every value's shape by running each operation on stand-in arrays of the same shapes, so the
generated code does exactly the reduction needed and no more. Where a shape cannot be known while
compiling (it depends on values, as after ``x[x > 0]``), the value is *unknown* and the generated code
calls :func:`s2sad.runtime.unbroadcast`, which checks at run time.

>>> import numpy as np
>>> from s2sad.ir import Var
>>> kinds = Kinds({"a": Kind((3, 1), "float64"), "s": SCALAR})
>>> kinds.reduced(Var("g"), Var("a"), Kind((3, 4), "float64"))
np.sum(g, axis=(1,), keepdims=True)
>>> kinds.reduced(Var("g"), Var("s"), Kind((3, 4), "float64"))
np.sum(g)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .custom import adjoint_rule_called
from .ir import Call, Const, Expr, If, Loop, Ref, Var, Assign, Unpack
from .lazy_arrays import is_lazy
from .traversal import walk
from .trees import is_plain, tree_signature


@dataclass(frozen=True)
class Kind:
    """A value's kind: ``shape`` is ``None`` for a Python number, else the array's shape."""

    shape: tuple | None
    dtype: str = "float64"
    value: object = None  # a small integer or shape known while compiling (len(x), x.shape)

    @property
    def is_array(self) -> bool:
        return self.shape is not None


SCALAR = Kind(None, "float")


def kind_of(value) -> Kind | None:
    """The kind of a run-time value, or ``None`` for something that is neither number nor array."""
    if isinstance(value, np.ndarray) or is_lazy(value):  # a Dask array: see s2sad.lazy_arrays
        return Kind(tuple(value.shape), value.dtype.str)
    if isinstance(value, (bool, int, np.integer)):
        return Kind(None, "int", value)
    if isinstance(value, (float, np.floating)):
        return SCALAR
    return None


class Kinds:
    """The kinds of a program's values, and the shape-dependent pieces of derivative code."""

    def __init__(self, known: dict | None = None, arrays: bool = True):
        self.known = dict(known or {})
        self.arrays = arrays  # whether an unknown value may be an array

    def of(self, expr) -> Kind | None:
        if isinstance(expr, Var):
            return self.known.get(expr.name, None if self.arrays else SCALAR)
        if isinstance(expr, Const):
            return kind_of(expr.value) or SCALAR
        if isinstance(expr, Ref):
            return kind_of(expr.obj)
        return None if self.arrays else SCALAR

    def is_scalar(self, expr) -> bool:
        kind = self.of(expr)
        return kind is not None and not kind.is_array

    def shape(self, expr):
        """The shape as a constant tuple if known, else an expression computing it."""
        kind = self.of(expr)
        if kind is not None and kind.is_array:
            return Const(kind.shape)
        from .array_rules import np_call  # late: the rules build on this module

        return np_call("shape", expr)

    def reduced(self, term: Expr, arg, out) -> Expr:
        """``term`` (shaped like the output ``out``, a Kind or an expression) summed to ``arg``'s
        shape: NumPy broadcast ``arg`` to the output's shape, so its adjoint sums back."""
        from .array_rules import np_call, runtime_call

        target = self.of(arg)
        result = out if isinstance(out, Kind) or out is None else self.of(out)
        if target is not None and result is not None:
            if target.shape == result.shape or not result.is_array:
                return term
            if not target.is_array:
                return np_call("sum", term)
            lead = len(result.shape) - len(target.shape)
            ones = tuple(
                lead + i
                for i, size in enumerate(target.shape)
                if size == 1 and result.shape[lead + i] != 1
            )
            if not ones:
                return np_call("sum", term, axis=tuple(range(lead)))
            if not lead:
                return np_call("sum", term, axis=ones, keepdims=True)
            summed = np_call("sum", term, axis=tuple(range(lead)) + ones, keepdims=True)
            return np_call("reshape", summed, Const(target.shape))
        return runtime_call("unbroadcast", term, arg)


def infer(trace, params: dict) -> Kinds:
    """The kinds of every value of ``trace`` given its parameters' kinds (``name -> Kind``)."""
    known = dict(params)
    _infer_block(trace.body, known)
    return Kinds(known)


def _infer_block(body: list, known: dict) -> None:
    for stmt in body:
        if isinstance(stmt, Assign):
            kind = infer_value(stmt.value, known)
            if kind is not None:
                known[stmt.target.name] = kind
            else:
                known.pop(stmt.target.name, None)
        elif isinstance(stmt, If):
            _infer_block(stmt.then, known)
            _infer_block(stmt.orelse, known)
        elif isinstance(stmt, Loop):
            _infer_loop(stmt, known)
        elif isinstance(stmt, Unpack):
            # an adjoint rule returns each argument's adjoint in that argument's shape (checked at
            # its first call, s2sad/rule_checks.py); other unpacked results are unknown
            rule = adjoint_rule_called(stmt.value)
            for target, arg in zip(stmt.targets, stmt.value.args):
                kind = infer_value(arg, known) if rule is not None else None
                _set(known, target.name, kind)


def _infer_loop(loop: Loop, known: dict) -> None:
    """Carried values keep their kind if the body gives them back the same kind; else unknown."""
    entering = [infer_value(init, known) for init in loop.inits]
    for header, kind in zip(loop.headers, entering):
        _set(known, header.name, kind and Kind(kind.shape, kind.dtype))
    if isinstance(loop.target, Var) and not _iterates_tape(loop):
        known[loop.target.name] = Kind(None, "int")
    for _ in range(3):
        _infer_block(loop.body, known)
        changed = False
        for header, nxt in zip(loop.headers, loop.nexts):
            now, after = known.get(header.name), infer_value(nxt, known)
            if after is None or now is None or (after.shape, after.dtype) != (now.shape, now.dtype):
                if header.name in known:
                    changed = True
                known.pop(header.name, None)
        if not changed:
            return
    for header in loop.headers:
        known.pop(header.name, None)


def _iterates_tape(loop: Loop) -> bool:
    """Whether a loop (of a gradient program) runs over a tape: ``for w7, w9 in reversed(_tape1)``
    rebinds values saved under the same names, whose kinds are known from where they were saved."""
    iterable = loop.iterable
    return (
        isinstance(iterable, Call)
        and iterable.prim.name == "reversed"
        and isinstance(iterable.args[0], Var)
    )


def _set(known: dict, name: str, kind) -> None:
    if kind is None:
        known.pop(name, None)
    else:
        known[name] = kind


# primitive name -> its result's kind from its array operands' kinds, for operations that stand-in
# arrays of ones do not suit (a singular matrix, for np.linalg.inv)
SHAPE_RULES: dict = {}

# Operations whose result's shape depends on the values of their arguments, not only their shapes.
_VALUE_SHAPED = {
    *("np.zeros", "np.ones", "np.empty", "np.full", "np.eye", "np.identity", "np.arange"),
    *("np.linspace", "np.reshape", "range", "getitem", "np.getitem"),
}


def infer_value(value, known: dict) -> Kind | None:
    """The kind of the expression ``value`` given the kinds ``known`` of variables, or ``None``."""
    if isinstance(value, Var):
        return known.get(value.name)
    if isinstance(value, (Const, Ref)):
        return Kinds().of(value)
    if not isinstance(value, Call):
        return None
    if value.prim.name == "select":
        return _select_kind(value, known)
    by_rule = SHAPE_RULES.get(value.prim.name)
    if by_rule is not None:
        kinds = [infer_value(arg, known) for arg in value.args]
        return None if any(k is None or not k.is_array for k in kinds) else by_rule(*kinds)
    args = []
    for position, arg in enumerate(value.args):
        kind = infer_value(arg, known) if not isinstance(arg, (Ref, Const)) else None
        if isinstance(arg, (Ref, Const)):  # known exactly: a shape (3, 4), an index 0
            args.append(arg.obj if isinstance(arg, Ref) else arg.value)
        elif kind is None:
            return None
        elif kind.is_array:
            if kind.dtype == "bool" or kind.dtype == "|b1":
                if value.prim.name == "np.getitem":
                    return None  # x[mask]: as many elements as the mask has true values
            args.append(np.ones(kind.shape, dtype=kind.dtype))
        elif kind.value is not None:
            args.append(kind.value)
        elif value.prim.name in _VALUE_SHAPED and not _shape_free(value, arg, position):
            return None
        else:
            args.append(0 if kind.dtype == "int" else 0.5)
    if value.prim.impl is None or value.prim.name.startswith("opaque "):
        return None  # (a function s2sad knows nothing of is not run while compiling)
    try:
        with np.errstate(all="ignore"):
            params = {k: _param(v) for k, v in value.params}
            if value.prim.style == "packed":  # np.stack([a, b]): the operands come as one list
                result = value.prim.impl(args, **params)
            else:
                result = value.prim.impl(*args, **params)
    except Exception:  # the stand-ins may not suit (a singular matrix): the kind stays unknown
        return None
    kind = kind_of(result)
    if kind is None and isinstance(result, tuple) and all(isinstance(v, int) for v in result):
        # a shape (n, 2): known only where n is (not from the stand-in for an integer argument)
        return Kind(None, "tuple", result) if _exact(value, known) else None
    if kind is not None and kind.value is not None and not _exact(value, known):
        return Kind(None, kind.dtype)  # a number computed from stand-ins: only its kind is real
    return kind


def _select_kind(value: Call, known: dict) -> Kind | None:
    """``a if c else b``: unknown where ``a`` and ``b`` are arrays of two shapes (a name rebound to
    another shape on one path only) and ``c`` is decided when the code runs; a number beside an
    array takes the array's kind, as it broadcasts to it."""
    cond, then, other = (infer_value(arg, known) for arg in value.args)
    if cond is not None and cond.value is not None:
        return then if cond.value else other
    if then is None or other is None:
        return None
    if then.is_array and other.is_array and (then.shape, then.dtype) != (other.shape, other.dtype):
        return None
    return then if then.is_array else other


# Operands of those operations that give the elements' values, not the shape.
_VALUE_OPERANDS = {"np.full": (1,), "np.linspace": (0, 1)}


def _shape_free(call: Call, arg, position: int) -> bool:
    """Whether the shape of ``call``'s result does not depend on the number ``arg`` is: np.full's
    fill value, np.linspace's end points, an integer position in ``x[i]``."""
    return position in _VALUE_OPERANDS.get(call.prim.name, ()) or _is_index_position(call, arg)


def _is_index_position(call: Call, arg) -> bool:
    """Whether ``arg`` is an integer position in ``x[i]``: the result's shape does not depend on it."""
    if call.prim.name != "np.getitem":
        return False
    layout = dict(call.params)["index"]
    return "value" in layout and not any(isinstance(item, tuple) for item in layout)


def _exact(call: Call, known: dict) -> bool:
    """Whether a number computed while inferring is the real one: every input was known exactly."""
    for arg in call.args:
        if isinstance(arg, Var):
            kind = known.get(arg.name)
            if kind is None or (not kind.is_array and kind.value is None):
                return False
    return True


def _param(value):
    return value.obj if isinstance(value, Ref) else value


def params_kinds(names, values) -> dict:
    """``name -> Kind`` for the arguments of a call (``None`` kinds left out). An integer's value
    is left out too: code is compiled per shape and type, and must serve every ``n``."""
    result = {}
    for name, value in zip(names, values):
        kind = kind_of(value)
        if kind is not None:
            result[name] = Kind(kind.shape, kind.dtype)
    return result


def signature(values) -> tuple:
    """A hashable key for the kinds of ``values``: what a specialisation is compiled for (for a
    structured argument, its structure and its leaves' kinds)."""
    return tuple(
        [
            (
                (v.shape, v.dtype)
                if type(v) is np.ndarray
                else (
                    type(v)
                    if is_plain(v)
                    else (type(v), v.shape, v.dtype) if is_lazy(v) else tree_signature(v)
                )
            )
            for v in values
        ]
    )


# --- kinds certain on every path ------------------------------------------------------------------

# Operations whose result has the broadcast shape of their operands.
_ELEMENTWISE = frozenset({"add", "sub", "mul", "truediv", "pow", "neg"})


def definitions_of(body: list) -> dict:
    """Each name's defining expression in ``body`` (SSA: one each)."""
    return {s.target.name: s.value for s in walk(body) if isinstance(s, Assign)}


def kind_on_every_path(expr, known: dict, definitions: dict):
    """``(shape, dtype)`` of the array ``expr`` on every path, or ``None``. Inference follows one
    side of a ``select`` (``0.0 if c else a_bar`` has the kind of ``a_bar``, as a number beside an
    array broadcasts to it); here a select has a kind only where its branches agree, and so has
    arithmetic on one: ``(0.0 if c else a_bar) + (0.0 if d else b_bar)`` is a number where
    neither branch ran."""
    definition = _definition(expr, definitions)
    if isinstance(definition, Call) and definition.prim.name == "select":
        kinds = {kind_on_every_path(branch, known, definitions) for branch in definition.args[1:]}
        return kinds.pop() if len(kinds) == 1 else None
    if isinstance(definition, Call) and definition.prim.name in _ELEMENTWISE:
        if any(_varies(arg, known, definitions) for arg in definition.args):
            return None
    kind = infer_value(expr, known)
    return (kind.shape, kind.dtype) if kind is not None and kind.is_array else None


def _varies(expr, known: dict, definitions: dict) -> bool:
    """Whether the kind of ``expr`` may depend on the path taken."""
    definition = _definition(expr, definitions)
    if not isinstance(definition, Call):
        return False
    if definition.prim.name == "select":
        return kind_on_every_path(expr, known, definitions) is None and any(
            infer_value(branch, known) is not None and infer_value(branch, known).is_array
            for branch in definition.args[1:]
        )
    return definition.prim.name in _ELEMENTWISE and any(
        _varies(arg, known, definitions) for arg in definition.args
    )


def _definition(expr, definitions: dict):
    """The expression ``expr`` stands for: its own where it is one, a name's definition."""
    return definitions.get(expr.name, expr) if isinstance(expr, Var) else expr
