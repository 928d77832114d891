"""The NumPy operations s2sad differentiates, and how a call to one is written in a trace.

Each supported NumPy function (found by identity, like the math functions: ``np.sin``,
``numpy.linalg.norm``, ``from numpy import exp``) and each array method (``x.sum()``, ``x.dot(y)``,
``x.reshape(3, 4)``) maps to an :class:`ArrayOp`: its primitive, the parameters that are array
*operands* (differentiated), and the parameters that are *static* (``axis``, ``keepdims``: constants
written as keywords in the trace, ``np.sum(w1, axis=0)``). Methods are written as the functions they
call: ``x.sum(0)`` becomes ``np.sum(w1, axis=0)``. Their derivative rules are in
:mod:`s2sad.array_rules`.

>>> import numpy as np
>>> ARRAY_FUNCTIONS[id(np.sum)].prim.name, ARRAY_FUNCTIONS[id(np.sum)].statics
('np.sum', ('axis',))
>>> ARRAY_METHODS["dot"].prim is ARRAY_FUNCTIONS[id(np.dot)].prim
True
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from . import runtime
from .ir import PREC_ATOM, Primitive
from .primitives import PRIMITIVES


@dataclass(frozen=True)
class ArrayOp:
    """How to read a call to one NumPy operation."""

    prim: Primitive
    operands: tuple = (1, 1)  # how many leading positional arguments are values: (fewest, most)
    statics: tuple = ()  # positional parameters after the operands, written as keywords
    keywords: tuple = ()  # further keyword parameters accepted (constants)
    packed: bool = False  # the operands come as one sequence: np.concatenate([a, b])
    shapes: tuple = ()  # positions of operands that are shapes: a tuple there is not an array
    parts: tuple = ()  # a function of several results (slogdet): one primitive per result
    named: tuple = ()  # operands passed by keyword (np.average's weights), last, None if absent


ARRAY_FUNCTIONS: dict = {}  # id of a NumPy object -> its ArrayOp
ARRAY_METHODS: dict = {}  # name of an ndarray method -> its ArrayOp
_KEEP_ALIVE: list = []

# Attributes of an array that describe it and carry no derivative.
INFO_ATTRIBUTES = ("shape", "ndim", "size", "dtype")

# Operations whose result is a new array. Those of FILLED hold their arguments' values (a fill
# value, end points) and are differentiated; the others are constant (never active).
CREATORS = (
    "zeros ones empty full eye identity arange linspace zeros_like ones_like empty_like full_like"
)
FILLED = ("full", "full_like", "linspace")


def _primitive(name: str, impl, symbol: str = "", style: str = "call") -> Primitive:
    prim = Primitive(
        f"np.{name}", impl, style, symbol or name, PREC_ATOM, foldable=False, module="numpy"
    )
    PRIMITIVES[prim.name] = prim
    return prim


def _op(names: str, *, methods: str = "", **spec) -> None:
    for name in names.split():
        obj = operator.attrgetter(name)(np)
        if id(obj) in ARRAY_FUNCTIONS:  # np.absolute is np.abs: keep the first, shorter name
            continue
        style = "packed" if spec.get("packed") else "call"
        op = ArrayOp(_primitive(name, obj, style=style), **spec)
        ARRAY_FUNCTIONS[id(obj)] = op
        _KEEP_ALIVE.append(obj)
        if name in methods.split():
            ARRAY_METHODS[name] = op


_UNARY = (
    "sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arctanh exp exp2 expm1 log log2 "
    "log10 log1p sqrt cbrt square reciprocal abs absolute fabs sign negative positive"
)
_op(_UNARY)
_op(
    "add subtract multiply divide true_divide power maximum minimum fmax fmin arctan2 hypot "
    "logaddexp logaddexp2",
    operands=(2, 2),
)
_op("where", operands=(3, 3))
_op("clip", operands=(3, 3), methods="clip")
_op(
    "sum mean prod max min amax amin",
    statics=("axis",),
    keywords=("keepdims",),
    methods="sum mean prod max min",
)
_op("linalg.norm", statics=("ord", "axis"), keywords=("keepdims",))
_op("dot matmul outer inner", operands=(2, 2), methods="dot")
_op("transpose", statics=("axes",), methods="transpose")
_op("reshape", operands=(1, 2), methods="reshape", shapes=(1,))  # x.reshape(n, 1): shape a value
_op("ravel", methods="ravel")
_op("squeeze", statics=("axis",), methods="squeeze")
_op("expand_dims", statics=("axis",))
_op("concatenate stack", operands=(1, 1), statics=("axis",), packed=True)
_op("copy", methods="copy")
_op("hstack vstack column_stack", packed=True)
_op("atleast_1d atleast_2d atleast_3d")
_op("diag", statics=("k",))
_op("diagonal trace", statics=("offset", "axis1", "axis2"), methods="diagonal trace")
_op("flip", statics=("axis",))
_op("triu tril", statics=("k",))
_op("sort", statics=("axis", "kind"))  # not x.sort(), which sorts in place
_op("interp", operands=(3, 3))
_op("cumsum cumprod", statics=("axis",), methods="cumsum cumprod")
_op("var std", statics=("axis",), keywords=("ddof", "keepdims"), methods="var std")
_op("einsum", operands=(2, 64), keywords=("optimize",))  # the subscripts, then the operands
_op("zeros ones empty", operands=(1, 3), keywords=("dtype",), shapes=(0,))
_op("full", operands=(2, 3), keywords=("dtype",), shapes=(0,))
_op("full_like", operands=(2, 3), keywords=("dtype",))
_op("linspace", operands=(2, 3), keywords=("num", "endpoint", "dtype"))
_op(CREATORS, operands=(0, 3), keywords=("dtype",))
ARRAY_METHODS["flatten"] = ARRAY_METHODS["ravel"]  # a copy rather than a view: the same values
ARRAY_METHODS["astype"] = ArrayOp(_primitive("astype", np.ndarray.astype, style="method"), (2, 2))
ARRAY_FUNCTIONS[id(np.array)] = ARRAY_FUNCTIONS[id(np.asarray)] = ArrayOp(
    _primitive("array", np.array, style="packed"), packed=True, keywords=("dtype",)
)
_KEEP_ALIVE += [np.array, np.asarray]


def _average(a, weights=None, **params):
    """``np.average`` with its weights as its second operand (NumPy's second parameter is axis)."""
    return np.average(a, weights=weights, **params)


ARRAY_FUNCTIONS[id(np.average)] = ArrayOp(
    Primitive("np.average", _average, "call", "average", PREC_ATOM, False, "numpy", ("weights",)),
    statics=("axis",),
    keywords=("keepdims",),
    named=("weights",),
)
PRIMITIVES["np.average"] = ARRAY_FUNCTIONS[id(np.average)].prim
_KEEP_ALIVE.append(np.average)

INDEX = _primitive("getitem", runtime.getitem, style="index")
# np.r_[a, 1.0, b] and np.c_[a, b]: indexing an object that concatenates the values it is given,
# a step of its own with their derivatives (the values are its operands, after the object).
CONCATENATORS = (type(np.r_), type(np.c_))
CONCATENATE_INDEX = _primitive("r_", runtime.getitem, "np.r_[...]", style="index")
TRANSPOSE_ATTR = Primitive("np.T", lambda x, attr: x.T, "attr", "T", foldable=False)  # x.T
PRIMITIVES[TRANSPOSE_ATTR.name] = TRANSPOSE_ATTR
for _name in ("shape", "size", "broadcast_to", "take"):  # used by derivative code only
    _primitive(_name, getattr(np, _name))


SETITEM = Primitive("np.setitem", runtime.setitem, "call", "setitem", foldable=False)
PRIMITIVES[SETITEM.name] = SETITEM
INFO = Primitive(
    "info", lambda x, attr: getattr(x, attr), "attr", ".", foldable=False
)  # x.shape: no derivative
PRIMITIVES["info"] = INFO
TUPLE = Primitive("tuple", lambda *items: items, "tuple", foldable=False)  # (n, 1) as a shape
PRIMITIVES["tuple"] = TUPLE
LENGTH = Primitive("len", len, "call", "len", foldable=False)  # len(x) of an array
PRIMITIVES["len"] = LENGTH

# Operations whose result is a new array, never a view of an argument: an array the function may
# write into.
# Operations whose result is always a new array (never an operand, nor a view of one): arithmetic
# on arrays, ufuncs, products, and the functions that compute their result anew.
FRESH = frozenset(
    {"add", "sub", "mul", "truediv", "pow", "neg", "matmul"}
    | {f"np.{name}" for name in _UNARY.split() if name != "positive"}
    | {
        f"np.{name}"
        for name in (
            "add subtract multiply divide true_divide power maximum minimum fmax fmin arctan2 "
            "hypot logaddexp logaddexp2 matmul dot outer inner where clip concatenate stack sum "
            "mean prod sort triu tril"
        ).split()
    }
)
# Operations whose result is an array of the function's own, which it may write into.
OWNING = (
    frozenset(
        {
            f"np.{name}"
            for name in (
                CREATORS
                + " copy array concatenate stack astype r_ hstack vstack column_stack cumsum"
                " cumprod"
            ).split()
        }
        | {"np.setitem"}
    )
    | FRESH
)
NO_DERIVATIVE = frozenset(
    {f"np.{name}" for name in CREATORS.split() if name not in FILLED}
    | {"info", "tuple", "len", "np.sign", "np.shape", "np.size"}
)


def array_function(obj) -> ArrayOp | None:
    """The :class:`ArrayOp` of a NumPy object, or ``None``."""
    return ARRAY_FUNCTIONS.get(id(obj))


def supported_array_functions() -> list:
    """``np.sin``, … and ``x.sum()``, …: every supported name, for error messages."""
    functions = sorted(op.prim.name for op in ARRAY_FUNCTIONS.values())
    return list(dict.fromkeys(functions)) + [f"x.{name}()" for name in sorted(ARRAY_METHODS)]
