"""Calls of functions s2sad knows no rule for, on values that carry no derivative.

Code around the mathematics calls functions that have nothing to do with derivatives: a bounds check
(``np.logical_and(lo < b, b < hi)``), ``hasattr(x, "shape")``, ``isinstance(x, np.ndarray)``,
``np.finfo(float).eps``, ``int(n)``, a method of a string. Such a call needs no rule: it is kept as
it is written, a call of the very object the function calls (``np.finfo(float)``), run in the primal
sweep of every derivative program, and its result is a constant of the derivative. Activity analysis
(:mod:`s2sad.activity`) decides, for the inputs differentiated, whether any of its arguments
carries a derivative; only then is the call refused, with advice (:func:`advice`).

Such a call is never folded or run while compiling (it may draw random numbers or read a clock), and
a call whose result is unused is refused: it runs for an effect, such as writing into an array, that
the trace cannot follow.
"""

from __future__ import annotations

import builtins
from dataclasses import replace
import difflib
import math
import operator
import os
import sysconfig
from typing import TYPE_CHECKING

import numpy as np

from .arrays import TUPLE, supported_array_functions
from .derivatives import NO_DERIVATIVE
from .errors import S2SADError, StructureNeededError, UnknownFunctionError, UnsupportedSyntaxError
from .ir import Assign, Call, Const, Effect, ListValue, Primitive, Ref, Var
from .primitives import FORMAT, supported_callables

if TYPE_CHECKING:  # libcst is imported when a first function is lowered, not with s2sad
    import libcst as cst

_PREFIX = "opaque "
_QUERY = "query "
_CALLS: dict = {}  # id of the called object -> (its primitive, the object, kept alive)
_METHODS: dict = {}  # method name -> its primitive

# Built as a list where a function is given one: ``np.diag([1.0, 2.0])``.
LIST = Primitive("opaque list", builtins.list, "packed", "list", foldable=False)

# Where the classes come from that are functions to the code calling them (int, np.finfo).
_LIBRARY_MODULES = {"builtins", "numpy", "math"}

# Calls that make complex values: s2sad's rules are real (see s2sad.reals).
_COMPLEX = (builtins.complex,)


def opaque_function(obj, written: str) -> Primitive:
    """The primitive calling ``obj`` as written (``np.finfo``): printed as a call of ``obj``."""
    key = (id(obj), written)
    entry = _CALLS.get(key)
    if entry is None or entry[1] is not obj:
        name = getattr(obj, "__name__", None)
        symbol = name if isinstance(name, str) and name.isidentifier() else written.split(".")[-1]
        query = any(obj is q for q in _QUERIES)
        prim = Primitive(_name(written, query), obj, "call", symbol, foldable=False)
        entry = _CALLS[key] = (prim, obj)
    return entry[0]


def _name(written: str, query: bool) -> str:
    """A primitive's name: a query's is listed among the operations with no derivative, which
    every mode consults (a name no other primitive has)."""
    if not query:
        return f"{_PREFIX}{written}"
    name = f"{_PREFIX}{_QUERY}{written}"
    NO_DERIVATIVE.add(name)
    return name


def written(prim: Primitive) -> str:
    """How the function wrote the call of ``prim``: ``np.finfo``, ``.lower()``."""
    return prim.name[len(_PREFIX) :].removeprefix(_QUERY)


def opaque_method(name: str) -> Primitive:
    """The primitive calling the method ``name`` of its first operand: ``s.lower()``."""
    if name not in _METHODS:
        _METHODS[name] = Primitive(
            _name(f".{name}()", name in _QUERY_METHODS),
            operator.methodcaller(name),
            "method",
            name,
            foldable=False,
        )
    return _METHODS[name]


# Functions whose results carry no derivative whatever their arguments: types, shapes, truth
# values, positions. Applied to a value with a derivative they are still constants of it.
_QUERIES = {
    *(builtins.isinstance, builtins.issubclass, builtins.hasattr, builtins.callable),
    *(builtins.type, builtins.id, builtins.int, builtins.bool, builtins.str, builtins.repr),
    *(math.isfinite, math.isnan, math.isinf, math.isclose),
    *(np.isfinite, np.isnan, np.isinf, np.isposinf, np.isneginf, np.signbit, np.isclose),
    *(np.allclose, np.array_equal, np.isscalar, np.ndim, np.shape, np.size, np.iscomplexobj),
    *(np.isrealobj, np.all, np.any, np.logical_and, np.logical_or, np.logical_not),
    *(np.logical_xor, np.argmax, np.argmin, np.argsort, np.nonzero, np.count_nonzero),
    *(np.result_type, np.finfo, np.iinfo),
}
_QUERY_METHODS = {"any", "all", "argmax", "argmin", "argsort", "nonzero"}


def is_opaque(prim: Primitive) -> bool:
    """Whether ``prim`` calls a function s2sad has no rule for (see the module doc)."""
    return isinstance(prim, Primitive) and prim.name.startswith(_PREFIX)


def refusal(prim: Primitive, wrt: tuple) -> tuple:
    """``(error class, message, hint)`` for an unknown function applied to a value that depends
    on the inputs ``wrt``. A class of the user's own (neither a dataclass nor a named tuple) is
    one whose constructor s2sad cannot follow."""
    cls = prim.impl
    if isinstance(cls, type) and cls.__module__ not in _LIBRARY_MODULES:
        return (
            UnsupportedSyntaxError,
            f"`{written(prim)}` is a class that is neither a dataclass nor a named tuple: s2sad "
            "cannot follow what its constructor stores",
            "make it a @dataclass or a typing.NamedTuple, or return a dict or a tuple",
        )
    return (
        UnknownFunctionError,
        f"`{written(prim)}` has no derivative rule, and the value it is applied to depends on "
        f"the input(s) {', '.join(wrt)}",
        advice(prim),
    )


def may_be_array(prim: Primitive) -> bool:
    """Whether ``prim`` calls a function s2sad knows nothing of that may return an array: any but
    the builtins and ``math`` queries (``int``, ``isinstance``, ``math.isfinite``), so that code for
    numbers calling only those is still code for numbers."""
    if not is_opaque(prim):
        return False
    plain = prim.style == "call" and getattr(prim.impl, "__module__", None) in ("builtins", "math")
    return not (plain and prim.name in NO_DERIVATIVE)


def advice(prim: Primitive) -> str:
    """What to write instead of an unknown function applied to a value with a derivative."""
    close = difflib.get_close_matches(
        written(prim).strip(".()"), supported_callables() + supported_array_functions(), n=3
    )
    near = f"; supported functions with close names: {', '.join(close)}" if close else ""
    return (
        "wrap the argument in s2sad.stop_gradient(...) if the result is a constant of the "
        "derivative, or give the function its derivative with @s2sad.custom_rule" + near
    )


class OpaqueLowering:
    """The unknown-call part of :class:`s2sad.lower.Lowering`."""

    def opaque_call(self, prim: Primitive, node: cst.Call, hint: str, receiver=None) -> Var:
        """``prim`` applied to the call's arguments (after ``receiver``, for a method)."""
        obj = prim.impl
        if obj in _COMPLEX:
            raise self.error(
                node,
                f"`{obj.__name__}(...)` makes a complex number",
                "s2sad differentiates real code: keep the real and imaginary parts as two reals",
            )
        args, params = [] if receiver is None else [self._opaque_operand(receiver, node.func)], []
        computed: list = []  # keyword arguments whose values the code computes
        for arg in node.args:
            if arg.star:
                raise self.error(
                    arg,
                    f"`{arg.star}` in a call of this function is not supported",
                    "pass values one by one",
                )
            value = self._opaque_operand(self.expr(arg.value), arg.value)
            if arg.keyword is None:
                args.append(value)
            elif arg.keyword.value == "out":
                raise self.error(
                    arg, "`out=` writes into an array in place", "use the returned value"
                )
            elif isinstance(value, (Const, Ref)):
                params.append((arg.keyword.value, value if isinstance(value, Ref) else value.value))
            else:  # rng.normal(size=n): an operand, passed by its keyword after the others
                computed.append((arg.keyword.value, value))
        if computed:
            prim = replace(prim, named=tuple(key for key, _ in computed))
            args += [value for _, value in computed]
        for arg in args:
            self.require_real(arg, node)
        var = self.fresh(hint)
        call = self.sources[var.name] = Call(prim, tuple(args), tuple(params))
        self.body.append(Assign(var, call, self.source.location(node)))
        return var

    def _opaque_operand(self, value, node):
        """An argument of an unknown function: a value, a function or class (``isinstance(x,
        float)``), or a tuple or list of those, built where it is passed."""
        if isinstance(value, Ref):
            return value
        if isinstance(value, tuple):
            items = tuple(self._opaque_operand(v, node) for v in value)
            var = self.fresh()
            prim, args = (LIST, items) if isinstance(value, ListValue) else (TUPLE, items)
            self.body.append(Assign(var, Call(prim, args), self.source.location(node)))
            return var
        return self.atom(value, node)

    def inline_or_opaque(self, fn, node: cst.Call, written: str):
        """A Python function, inlined; or, for a library's function (the standard library's,
        an installed package's) whose code s2sad cannot lower, called as it is: a constant of the
        derivative, refused only where an argument carries a derivative."""
        if not _library_function(fn):
            return self.inline(fn, node)
        made, in_place = len(self.body), len(self.in_place)
        try:
            return self.inline(fn, node)
        except StructureNeededError:
            raise  # the caller asks again with the arguments' structures
        except S2SADError:
            del self.body[made:], self.in_place[in_place:]
            return self.opaque_call(opaque_function(fn, written), node, "")

    def unused_call(self, assign: Assign, node: cst.Call) -> Effect:
        """A call of an unknown function as a statement of its own (``warnings.warn(...)``) runs
        for its effect, kept where it is. Given a value that could be changed in place (an array,
        anything but a constant or a string made here), it is refused: the trace could not follow
        the change."""
        for arg in assign.value.args:
            made = next(
                (s.value for s in self.body if isinstance(s, Assign) and s.target == arg), None
            )
            formatted = isinstance(made, Call) and made.prim is FORMAT
            if not (formatted or isinstance(arg, Const) or _constant_ref(arg)):
                self._refuse_unused(node)
        return Effect(assign.value, assign.loc)

    def _refuse_unused(self, node: cst.Call) -> None:
        method = getattr(getattr(node.func, "attr", None), "value", None)  # y.sort()
        if method in _IN_PLACE:  # an array method that changes the array
            name = getattr(node.func.value, "value", "y")  # the array's name, where it has one
            raise self.error(
                node,
                f"`.{method}()` changes the array in place, which an SSA value cannot show",
                f"write `{name} = {_IN_PLACE[method].format(name)}`, which makes a new array",
                UnknownFunctionError,
            )
        raise self.error(
            node,
            "this call's result is unused, so it runs for an effect (changing an array in "
            "place, say) that s2sad cannot follow",
            "use the value it returns, or call it outside the function",
            UnknownFunctionError,
        )


# The array methods that change their array, and the expression that makes the new one instead.
_IN_PLACE = {"sort": "np.sort({})", "fill": "np.full_like({}, value)"}


_LIBRARY_DIRS = tuple(
    {
        os.path.realpath(sysconfig.get_paths()[key]) + os.sep
        for key in ("stdlib", "purelib", "platlib")
    }
)


def _library_function(fn) -> bool:
    """Whether ``fn`` is defined in the standard library or an installed package."""
    return os.path.realpath(fn.__code__.co_filename).startswith(_LIBRARY_DIRS)


def _constant_ref(arg) -> bool:
    """A module, function or class, or a number (not an array) from outside the function."""
    return isinstance(arg, Ref) and not hasattr(arg.obj, "__setitem__")


def opaque_class(cls: type) -> bool:
    """Whether calling ``cls`` is a call of an unknown function: a class that is neither a
    dataclass nor a named tuple (whose fields s2sad follows), such as ``int`` or ``np.finfo``."""
    from .trees import field_names  # late: trees needs the IR's structures

    return field_names(cls) is None
