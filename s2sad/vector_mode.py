"""Vector forward mode: the tangents of many directions in one sweep.

In vector mode every tangent carries a leading *batch* axis of size ``k``, one slice per direction:
the tangent of a value of shape ``s`` has shape ``(k,) + s``, and the tangent of a number is a vector
of ``k`` numbers. Seeding the inputs with the ``k`` columns of the identity gives the whole Jacobian
from one sweep, instead of one sweep per column (seed 002: forward mode builds a Jacobian column by
column; here all columns at once).

Elementwise rules keep their form, ``w_dot = cos(x) * x_dot``: the partial ``cos(x)`` broadcasts
against the trailing axes of ``x_dot``. Where an argument has fewer axes than the result (a number
times an array), its tangent gets new axes after the batch axis (``x_dot[:, None]``) so that its
elements line up with the argument's. Operations that move elements shift their axes by one
(``np.sum(t, axis=(1,))`` for ``np.sum(x, axis=0)``) or keep the batch axis in front
(``t @ b``, ``t[:, i]``). Every rule here is chosen from the values' shapes, known while compiling.

>>> from s2sad.ir import Var, Call
>>> from s2sad.primitives import PRIMITIVES
>>> from s2sad.shapes import Kinds, Kind, SCALAR
>>> kinds = Batched(Kinds({"a": Kind((3,)), "s": SCALAR, "w": Kind((3,))}), size=4)
>>> product = Call(PRIMITIVES["mul"], (Var("a"), Var("s")))
>>> vector_tangent(product, Var("w"), kinds)([Var("u"), Var("t")])
s * u + a * t[:, None]
>>> kinds = Batched(Kinds({"m": Kind((3, 2)), "w": Kind((2,))}), size=4)
>>> total = Call(PRIMITIVES["np.sum"], (Var("m"),), (("axis", 0),))
>>> vector_tangent(total, Var("w"), kinds)([Var("t")])
np.sum(t, axis=(1,))
"""

from __future__ import annotations

import numpy as np

from .algebra import apply, filled, is_zero, may_vanish, total
from .array_rules import (
    ARRAY_VARIANTS,
    STRUCTURAL,
    casts_to_integers,
    np_call,
    runtime_call,
    transposed,
)
from .arrays import INDEX, SETITEM
from .errors import S2SADError
from .ir import Assign, Call, Const, Ref, Var
from .naming import Names
from .primitives import PRIMITIVES
from .rules import partials
from .shapes import Kinds

FULL_SLICE = (False, False, False)  # ":" in an index layout


class NotVectorizableError(S2SADError):
    """A statement has no vector-mode form here (a shape unknown while compiling, say)."""

    def __init__(self, message: str):
        super().__init__(message, hint="use one tangent sweep per direction (s2sad.jvp)")


class Batched(Kinds):
    """The kinds of a program's values, for tangents with a leading batch axis of ``size``."""

    def __init__(self, kinds: Kinds, size: int):
        super().__init__(kinds.known, kinds.arrays)
        self.size = size

    def ndim(self, expr) -> int:
        kind = self.of(expr)
        if kind is None:
            raise NotVectorizableError(f"the shape of `{expr}` is not known while compiling")
        return len(kind.shape) if kind.is_array else 0

    def tangent_shape(self, expr) -> tuple:
        kind = self.of(expr)
        if kind is None:
            raise NotVectorizableError(f"the shape of `{expr}` is not known while compiling")
        return (self.size,) + (kind.shape if kind.is_array else ())

    def zeros(self, expr) -> Call:
        """The tangent of a value that depends on no input: zeros of its batched shape."""
        return np_call("zeros", Const(self.tangent_shape(expr)))


def vector_tangent(call: Call, out, kinds: Batched):
    """The function from the arguments' batched tangents (``None`` where inactive) to ``out``'s."""
    name = call.prim.name
    if name == "select" and not kinds.is_scalar(out):
        name = "array select"
        shapes = {kinds.tangent_shape(branch) for branch in call.args[1:]}
        if len(shapes) > 1:  # a number on one path, an array on the other: known only when run
            raise NotVectorizableError(f"the shape of `{out}` depends on the path taken")
    kinds.tangent_shape(out)  # every shape must be known
    if name in VECTOR_RULES:
        rule = VECTOR_RULES[name](*call.args, out=out, params=dict(call.params), kinds=kinds)
    elif name in STRUCTURAL:
        raise NotVectorizableError(f"`{name}` has no vector-mode rule")
    else:
        rule = _elementwise(call, name, out, kinds)
    return lambda dots: _batched(rule(dots), out, kinds)


def _batched(dot, out, kinds: Batched):
    """``dot`` with the batched shape on every path: a select whose branch is the structural zero
    (``u_dot if c else 0.0``, the tangent of ``y if c else 1.0`` or ``max(u, 1.0)``) gets zeros of
    that shape there, so that stacking it with other tangents, or reshaping it, sees the batch
    axis. A tangent that is zero on every path is left to the caller, which drops it."""
    if dot is None or is_zero(dot) or not may_vanish(dot):
        return dot
    return filled(dot, kinds.zeros(out))


def new_axes(dot, count: int):
    """``dot[:, None, ...]``: ``count`` axes of length 1 after the batch axis."""
    if count <= 0:
        return dot
    return Call(INDEX, (dot,), (("index", (FULL_SLICE,) + (None,) * count),))


def _partials(call: Call, name: str, out, kinds: Batched) -> tuple:
    if not all(kinds.is_scalar(a) for a in call.args) and name in ARRAY_VARIANTS:
        name = ARRAY_VARIANTS[name]
    return partials(name, call.args, out)


def _elementwise(call: Call, name: str, out, kinds: Batched):
    """``Σ ∂w/∂a · ȧ``, each ``ȧ`` given as many axes as ``w`` has, so partials broadcast as the
    primal did; broadcast to the full shape where only broadcast arguments were active."""
    slopes = _partials(call, name, out, kinds)
    rank, shape = kinds.ndim(out), kinds.tangent_shape(out)

    def tangent(dots):
        terms, full = [], False
        for slope, dot, arg in zip(slopes, dots, call.args):
            if dot is not None:
                terms.append(slope * new_axes(dot, rank - kinds.ndim(arg)))
                full = full or kinds.tangent_shape(arg) == shape
        result = total(terms)
        return result if full else np_call("broadcast_to", result, Const(shape))

    return tangent


class Slopes:
    """The elementwise parts of a vector sweep, computed once rather than once per direction.

    Where ``w`` is computed elementwise from values of its own shape, all of which depend on one
    batched tangent ``ṙ`` alone, ``ẇ = ∂w/∂r · ṙ`` with ``∂w/∂r`` of ``w``'s shape: the chain rule
    multiplies the slopes of a run of elementwise operations on unbatched arrays, ``k`` times less
    work than carrying all ``k`` directions through each step, and the batched tangent is formed by
    one product where it is read. (Forward mode with a ones seed gives the diagonal of an
    elementwise Jacobian; here that diagonal scales a whole batch.) ``of`` maps a value's name to
    ``(r, ∂w/∂r)``; a nested block starts afresh, since its slopes are not defined after it.

    >>> from s2sad.ir import Var, Call
    >>> from s2sad.shapes import Kinds, Kind
    >>> kinds = Batched(Kinds({n: Kind((3,)) for n in "rsw"}), size=4)
    >>> slopes, dots = Slopes(kinds, Names({"r", "s", "w"})), {"r": Var("r_dot")}
    >>> def show(statements):
    ...     return [f"{s.target} = {s.value}" for s in statements]
    >>> sine = Assign(Var("s"), Call(PRIMITIVES["np.sin"], (Var("r"),)))
    >>> show(slopes.tangent(sine, dots))
    ['ds_dr = np.cos(r)', 's_dot = ds_dr * r_dot']
    >>> product = Assign(Var("w"), Call(PRIMITIVES["mul"], (Var("s"), Var("r"))))
    >>> show(slopes.tangent(product, dots))
    ['dw_dr = r * ds_dr + s', 'w_dot = dw_dr * r_dot']
    """

    def __init__(self, kinds: Batched, names: Names):
        self.kinds, self.names, self.of = kinds, names, {}

    def nested(self) -> "Slopes":
        return Slopes(self.kinds, self.names)

    def tangent(self, stmt: Assign, dots: dict) -> list | None:
        """``[∂w/∂r = …, ẇ = ∂w/∂r · ṙ]`` for ``stmt``, or ``None`` where it is not elementwise in
        one batched tangent (the caller then uses the vector rule)."""
        factored = self._slope(stmt.value, stmt.target, dots)
        if factored is None or is_zero(factored[1]):  # a zero slope: no tangent at all
            return None
        root, slope = factored
        body = []
        if not isinstance(slope, (Var, Const)):
            name = self.names.fresh(f"d{stmt.target.name}_d{root}")
            body.append(Assign(Var(name), slope, stmt.loc))
            slope = Var(name)
        self.of[stmt.target.name] = root, slope
        dot = dots[stmt.target.name] = Var(self.names.dot(stmt.target.name))
        return body + [Assign(dot, slope * dots[root], stmt.loc)]

    def _slope(self, value, out, dots: dict):
        if isinstance(value, Var) and value.name in dots:  # a copy keeps its slope
            return self.of.get(value.name, (value.name, Const(1.0)))
        if not isinstance(value, Call) or value.prim.name in VECTOR_RULES:
            return None
        name = value.prim.name
        if name in STRUCTURAL or name == "select":  # a select reads one side's tangent, lazily
            return None
        shape = self.kinds.tangent_shape(out)
        roots, arg_slopes = set(), []
        for arg in value.args:
            active = isinstance(arg, Var) and arg.name in dots
            if active and self.kinds.tangent_shape(arg) != shape:
                return None  # broadcast: the slope would not line up with the root's tangent
            root, slope = self.of.get(arg.name, (arg.name, Const(1.0))) if active else (None, None)
            roots.add(root)
            arg_slopes.append(slope)
        roots.discard(None)
        if len(roots) != 1:
            return None
        terms = zip(_partials(value, name, out, self.kinds), arg_slopes)
        return roots.pop(), total([p * s for p, s in terms if s is not None])


# --- operations that move or combine elements -----------------------------------------------------

VECTOR_RULES: dict = {}


def vector_rule(*names):
    def register(fn):
        for name in names:
            VECTOR_RULES[name] = fn
        return fn

    return register


def _zero_or(dot, like, kinds: Batched):
    return dot if dot is not None else kinds.zeros(like)


@vector_rule("matmul", "np.matmul", "np.dot")
def _(a, b, out, params, kinds):
    """``ȧ @ b`` keeps the batch axis in front for vectors and matrices alike; ``a @ ḃ`` does when
    ``b`` is a matrix, and is written ``ḃ @ a.T`` when ``b`` is a vector."""
    na, nb = kinds.ndim(a), kinds.ndim(b)
    if not (1 <= na <= 2 and 1 <= nb <= 2):
        raise NotVectorizableError(
            "`@` or `np.dot` of a number, or of arrays of more than two axes"
        )

    def tangent(dots):
        da, db = dots
        terms = [apply("matmul", da, b)] if da is not None else []
        if db is not None and nb == 2:
            terms.append(apply("matmul", a, db))
        elif db is not None:
            terms.append(apply("matmul", db, transposed(a) if na == 2 else a))
        return total(terms)

    return tangent


@vector_rule("np.outer")
def _(a, b, out, params, kinds):
    k = kinds.size

    def tangent(dots):
        da, db = dots
        terms = []
        if da is not None:
            terms.append(np_call("reshape", da, Const((k, -1, 1))) * np_call("ravel", b))
        if db is not None:
            terms.append(np_call("reshape", a, Const((-1, 1))) * np_call("reshape", db, (k, 1, -1)))
        return total(terms)

    return tangent


@vector_rule("np.inner")
def _(a, b, out, params, kinds):
    """``inner`` contracts the last axes, so ``inner(ȧ, b)`` keeps the batch axis in front, and
    ``inner(a, ḃ)`` puts it after ``a``'s leading axes: it is moved back to the front."""
    na, nb = kinds.ndim(a), kinds.ndim(b)
    if not (na and nb):
        raise NotVectorizableError("`np.inner` of a number")
    rank = kinds.ndim(out) + 1
    front = (na - 1,) + tuple(range(na - 1)) + tuple(range(na, rank))

    def tangent(dots):
        da, db = dots
        terms = [np_call("inner", da, b)] if da is not None else []
        if db is not None:
            moved = np_call("inner", a, db)
            terms.append(moved if na == 1 else np_call("transpose", moved, axes=front))
        return total(terms)

    return tangent


@vector_rule("np.T", "np.transpose")
def _(x, out, params, kinds):
    n = kinds.ndim(x)
    axes = params.get("axes")
    order = tuple(reversed(range(n))) if axes is None else tuple(a % n for a in axes)
    batched = (0,) + tuple(a + 1 for a in order)
    return lambda dots: np_call("transpose", dots[0], axes=batched)


@vector_rule("np.reshape", "np.ravel", "np.squeeze", "np.expand_dims")
def _(x, *shape, out, params, kinds):
    return lambda dots: np_call("reshape", dots[0], Const(kinds.tangent_shape(out)))


def _shifted_axes(x, params, kinds: Batched) -> tuple:
    """The batched tangent's axes a reduction of ``x`` over ``params["axis"]`` runs over."""
    n = kinds.ndim(x)
    axis = params.get("axis")
    axes = range(n) if axis is None else axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(a % n + 1 for a in axes)


def _reduction(np_name):
    def rule(x, out, params, kinds):
        batched = {**params, "axis": _shifted_axes(x, params, kinds)}
        return lambda dots: np_call(np_name, dots[0], **batched)

    return rule


vector_rule("np.sum")(_reduction("sum"))
vector_rule("np.mean")(_reduction("mean"))


def _weighted_sum(partial_of):
    """Reductions whose tangent is ``Σ ∂w/∂x · ẋ`` over the reduced axes, with ``∂w/∂x`` (shaped
    like ``x``) from the adjoint helper applied to ones."""

    def rule(x, out, params, kinds):
        axis, keepdims = params.get("axis"), params.get("keepdims", False)
        weights = partial_of(np_call("ones_like", out), x, out, axis, keepdims)
        axes = _shifted_axes(x, params, kinds)
        return lambda dots: np_call("sum", weights * dots[0], axis=axes, keepdims=keepdims)

    return rule


vector_rule("np.prod")(
    _weighted_sum(lambda g, x, out, axis, keep: runtime_call("prod_adjoint", g, x, axis, keep))
)
vector_rule("np.max", "np.min", "np.amax", "np.amin")(
    _weighted_sum(
        lambda g, x, out, axis, keep: runtime_call("extreme_adjoint", g, x, out, axis, keep)
    )
)


@vector_rule("np.linalg.norm")
def _(x, out, params, kinds):
    order = params.get("ord")
    gradient = _weighted_sum(
        lambda g, x, out, axis, keep: runtime_call("norm_adjoint", g, x, out, order, axis, keep)
    )
    return gradient(x, out, params, kinds)


def _batched_index(values, layout, kinds: Batched) -> tuple:
    """``layout`` with ``:`` in front for the batch axis. NumPy moves the axes of array indices to
    the front when something separates them (``x[i, :, j]``), so those are refused."""
    if any(isinstance(v, Ref) and isinstance(v.obj, tuple) for v in values):
        # x[PAIR], with PAIR = (0, 2) read when the code runs, is x[0, 2]; x_dot[:, PAIR] is not
        raise NotVectorizableError("an index that is a tuple read when the code runs")
    positions = [p for p, item in enumerate(layout) if item == "value"]
    arrays = [v for v in values if kinds.of(v) is None or kinds.of(v).is_array]
    if arrays and positions and positions[-1] - positions[0] + 1 != len(positions):
        raise NotVectorizableError("array indices separated by a slice")
    return (FULL_SLICE,) + tuple(layout)


def _index_ndim(x, values, layout, kinds: Batched) -> int:
    """The number of axes of ``x[...]``: each index value takes one axis (a boolean mask as many as
    it has), ``None`` adds one, and array indices add the axes of their broadcast shape."""
    taken, added, advanced = 0, 0, 0
    value_kinds = iter([kinds.of(v) for v in values])
    for item in layout:
        if item is None:
            added += 1
        elif isinstance(item, tuple):
            for _ in range(sum(item)):
                next(value_kinds)
        elif item == "value":
            kind = next(value_kinds)
            if kind is None:
                raise NotVectorizableError("an index whose shape is not known while compiling")
            is_mask = kind.is_array and kind.dtype in ("bool", "|b1")
            taken += len(kind.shape) if is_mask else 1
            if kind.is_array:  # a mask stands for the 1-D array of its true positions
                advanced = max(advanced, 1 if is_mask else len(kind.shape))
    return kinds.ndim(x) - taken + added + advanced


@vector_rule("np.getitem")
def _(x, *values, out, params, kinds):
    index = _batched_index(values, params["index"], kinds)
    return lambda dots: Call(INDEX, (dots[0], *values), (("index", index),))


@vector_rule("np.setitem")
def _(array, value, *values, out, params, kinds):
    layout = params["index"]
    index = _batched_index(values, layout, kinds)
    lift = _index_ndim(array, values, layout, kinds) - kinds.ndim(value)
    if lift < 0:
        raise NotVectorizableError(
            "a value with more axes than the part of the array it is written to"
        )

    def tangent(dots):
        darray = _zero_or(dots[0], array, kinds)
        dvalue = new_axes(dots[1], lift) if dots[1] is not None else Const(0.0)
        return Call(SETITEM, (darray, dvalue, *values), (("index", index),))

    return tangent


@vector_rule("array select")
def _(cond, then, other, out, params, kinds):
    return lambda dots: apply(
        "select", cond, _zero_or(dots[1], then, kinds), _zero_or(dots[2], other, kinds)
    )


def _pieces(name: str, axis_of):
    def rule(*operands, out, params, kinds):
        if params.get("axis", 0) is None:
            raise NotVectorizableError(f"`{name}` of flattened pieces")
        if casts_to_integers(params.get("dtype")):
            return lambda dots: None
        axis = axis_of(params.get("axis", 0), kinds, out, operands)
        stack = PRIMITIVES["np.concatenate" if name == "np.concatenate" else "np.stack"]

        def tangent(dots):
            pieces = tuple(_zero_or(d, a, kinds) for d, a in zip(dots, operands))
            return Call(stack, pieces, (("axis", axis),))

        return tangent

    vector_rule(name)(rule)


_pieces("np.concatenate", lambda axis, kinds, out, ops: axis % kinds.ndim(out) + 1)
_pieces("np.stack", lambda axis, kinds, out, ops: axis % kinds.ndim(out) + 1)
_pieces("np.array", lambda axis, kinds, out, ops: 1)  # np.array([a, b]) stacks along axis 0


@vector_rule("np.r_")
def _(base, *pieces, out, params, kinds):
    """``np.r_`` joins its pieces along their first axis (a number is one element), ``np.c_``
    along their last, each made a matrix first (a number ``(1, 1)``, a vector a column): each
    piece's batched tangent takes that shape, and they join along that axis after the batch axis."""
    columns = isinstance(base.obj, type(np.c_))

    def shaped(dot, piece):
        shape = kinds.tangent_shape(piece)[1:]
        if columns:
            shape = {0: (1, 1), 1: shape + (1,)}.get(len(shape), shape)
        return np_call("reshape", _zero_or(dot, piece, kinds), (kinds.size,) + (shape or (1,)))

    def tangent(dots):
        parts = tuple(shaped(dot, piece) for dot, piece in zip(dots[1:], pieces))
        return Call(PRIMITIVES["np.concatenate"], parts, (("axis", -1 if columns else 1),))

    return tangent


@vector_rule("np.full", "np.full_like")
def _(like, fill, *dtype, out, params, kinds):
    """Each direction's fill tangent, its axes lined up with the fill value's, fills its slice."""
    if casts_to_integers(params.get("dtype", dtype[0] if dtype else None)):
        return lambda dots: None
    lift = kinds.ndim(out) - kinds.ndim(fill)
    if lift < 0:
        raise NotVectorizableError("a fill value with more axes than the array it fills")
    shape = Const(kinds.tangent_shape(out))
    return lambda dots: (
        np_call("full", shape, new_axes(dots[1], lift)) if dots[1] is not None else None
    )


@vector_rule("np.linspace")
def _(start, stop, *num, out, params, kinds):
    """The end points' tangents, lined up with one element, spaced along the axis after the
    batch axis."""
    if casts_to_integers(params.get("dtype")):
        return lambda dots: None
    rank = kinds.ndim(out) - 1
    spacing = {k: v for k, v in params.items() if k in ("num", "endpoint")}

    def end(dot, arg):
        return new_axes(_zero_or(dot, arg, kinds), rank - kinds.ndim(arg))

    def tangent(dots):
        if dots[0] is None and dots[1] is None:
            return None
        ends = end(dots[0], start), end(dots[1], stop)
        return np_call("linspace", *ends, *num, axis=1, **spacing)

    return tangent
