"""The intermediate representation every stage shares, and its printer.

A program is a :class:`Function`: parameters and a body of statements. Expressions are trees of

- :class:`Var`: a local value (``w3``, ``w3_bar``, a parameter);
- :class:`Const`: a literal number, string or ``None``;
- :class:`Ref`: an object from outside the function referred to by name (a module global, a
  constant captured by a closure);
- :class:`Call`: a :class:`Primitive` applied to argument expressions, with static ``params``
  (an attribute name, keyword arguments) that are not values.

Statements are :class:`Assign` (``target = value``), :class:`Effect` (a call run for its side
effect, like ``print``), :class:`Return` and :class:`Comment`. A function returns an expression, a
tuple or :class:`ListValue` of outputs, or a :class:`Built` dict, dataclass or named tuple of them.

The invariant of a *trace* (what :mod:`s2sad.lower` produces, checked by
:func:`s2sad.traversal.check_trace`): every ``Assign`` binds a fresh name, and its value is a
parameter, or one primitive applied to variables, constants and references (no nesting), exactly as
the notes write ``w3 = w1 * w2``. Derivative programs
built from a trace relax this: their expressions may nest (``w1_bar = w4_bar * cos(w1) + w3_bar * w2``).

>>> from s2sad.primitives import PRIMITIVES
>>> Call(PRIMITIVES["mul"], (Var("w1"), Call(PRIMITIVES["add"], (Var("w2"), Const(1)))))
w1 * (w2 + 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

from .errors import Location

# Python's operator precedences, lowest first; used to print the fewest parentheses.
PREC_SELECT = 1
PREC_NOT = 4
PREC_COMPARE = 5
PREC_ADD = 10
PREC_MUL = 11
PREC_UNARY = 12
PREC_POWER = 13
PREC_ATOM = 16


@dataclass(frozen=True, eq=False)
class Primitive:
    """An operation with a derivative rule (or none), and how it prints.

    ``style`` is ``"infix"`` (``a * b``), ``"prefix"`` (``-a``), ``"call"`` (``sin(a)``),
    ``"select"`` (``a if c else b``), ``"attr"`` (``a.name``), ``"method"`` (``a.name(b)``),
    ``"index"`` (``a[b, 1:2]``) or ``"tuple"`` (``(a, b)``). ``symbol`` is the operator for infix and
    prefix operations and the preferred printed name for the others.
    """

    name: str
    impl: Callable
    style: str = "call"
    symbol: str = ""
    precedence: int = PREC_ATOM
    foldable: bool = True
    module: str = ""  # printed as an attribute of this module: np.sin, not sin
    named: tuple = ()  # its last operands are passed by these keywords (omitted where None)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


class Expr:
    """Base of expression nodes. Arithmetic operators build simplified expressions (see algebra)."""

    def _build(self, name: str, *args: object) -> "Expr":
        from .algebra import apply  # late: algebra needs the primitive table, built after the IR

        return apply(name, *args)

    def __add__(self, other):
        return self._build("add", self, other)

    def __radd__(self, other):
        return self._build("add", other, self)

    def __sub__(self, other):
        return self._build("sub", self, other)

    def __rsub__(self, other):
        return self._build("sub", other, self)

    def __mul__(self, other):
        return self._build("mul", self, other)

    def __rmul__(self, other):
        return self._build("mul", other, self)

    def __truediv__(self, other):
        return self._build("truediv", self, other)

    def __rtruediv__(self, other):
        return self._build("truediv", other, self)

    def __pow__(self, other):
        return self._build("pow", self, other)

    def __rpow__(self, other):
        return self._build("pow", other, self)

    def __neg__(self):
        return self._build("neg", self)


@dataclass(frozen=True)
class Var(Expr):
    """A local variable. ``hint`` remembers the user's name for it, for display only."""

    name: str
    hint: str = field(default="", compare=False)

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Const(Expr):
    """A literal value: ``2``, ``0.5``, ``"label"``, ``None``."""

    value: object

    def __repr__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True)
class Ref(Expr):
    """A named object from outside the function, never differentiated.

    ``origin`` says how generated code reaches it: ``"global"`` reads the module global when the code
    runs (so a rebinding is seen, as the original function would see it); ``"closure"`` reads the
    closure cell when the code is loaded; ``"value"`` binds ``obj`` itself (``math.pi``).
    ``module`` names the module it was reached as an attribute of (``"numpy"`` for ``np.r_``), so
    that code can name it as the function did, as it names that module's functions (see
    ``Primitive.module``).
    """

    name: str
    obj: object = field(compare=False, hash=False)
    origin: str = "value"
    module: str = ""

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Call(Expr):
    """A primitive applied to argument expressions; ``params`` are static (attribute names, keywords)."""

    prim: Primitive
    args: tuple
    params: tuple = ()

    def __repr__(self) -> str:
        from .printing import format_expr  # late: the printer is built on these classes

        return format_expr(self)


@dataclass(frozen=True)
class Built:
    """An output structure the code builds where it returns: a dict (``{"a": w3}``, ``cls`` is
    ``None``) or a dataclass or named tuple (``Out(y=w3)``, ``cls`` the :class:`Ref` to its class);
    ``items[i]`` is the output structure of ``keys[i]``."""

    keys: tuple
    items: tuple
    cls: Ref | None = None


class ListValue(tuple):
    """A list: a tuple of values that Python would hold in a list. While lowering, a list the
    function builds (``[a, b]``, a list comprehension, ``list(...)``) is one, so that indexing an
    array with it reads the positions it holds (``x[idx]`` with ``idx = [0, 2]`` is ``x[[0, 2]]``,
    not ``x[0, 2]``) and a function returning it returns a list; as an output structure it is
    built as a list (``return [w3, w4]``)."""

    def __repr__(self) -> str:
        return repr(list(self))


Structure = Union[Expr, tuple, Built]  # an output: an expression, or a (nested) structure of them


@dataclass
class Assign:
    target: Var
    value: Expr
    loc: Location | None = None


@dataclass
class Effect:
    """A call run for its side effect in the primal sweep (``print``); never differentiated."""

    value: Expr
    loc: Location | None = None


@dataclass
class Return:
    value: Structure
    loc: Location | None = None


@dataclass
class Comment:
    text: str
    loc: Location | None = None


@dataclass
class If:
    """``if cond: then else: orelse``. Values a branch defines reach later code only through a merge,
    an ``Assign`` of ``then_value if cond else else_value`` after the ``If`` (a phi node that Python can
    run: it reads only the branch that ran)."""

    cond: Expr
    then: list
    orelse: list
    loc: Location | None = None


@dataclass
class Loop:
    """A loop whose carried values are explicit, like block arguments.

    ``headers[i]`` starts as ``inits[i]`` and, at the end of every iteration, takes ``nexts[i]`` (all
    at once). A ``for`` loop runs ``target`` over ``iterable``; a ``while`` loop runs while the
    header ``cond`` is true (its next value is the condition evaluated at the end of the body).
    """

    headers: list
    inits: list
    body: list
    nexts: list
    target: Var | None = None
    iterable: Expr | None = None
    cond: Var | None = None
    loc: Location | None = None
    exit: Expr | None = None  # a flag the body sets to leave the loop (`break`, `return` inside it)


@dataclass
class Push:
    """Save values the reverse sweep will read on a tape: ``tape.append((a, b))``."""

    tape: Var
    values: tuple
    loc: Location | None = None


@dataclass
class Pop:
    """Restore them, last in first out: ``a, b = next(reader)``, from an iterator over the tape
    backwards (reading does not consume the tape, so a reverse sweep can run more than once)."""

    tape: Var
    targets: tuple
    loc: Location | None = None


@dataclass
class Unpack:
    """``a, b = value``: the results of a call to a generated function (``y, y_dot = f_jvp(...)``)."""

    targets: tuple
    value: Expr
    loc: Location | None = None


Stmt = Union[Assign, Effect, Return, Comment, If, Loop, Push, Pop, Unpack]


@dataclass
class Function:
    """A function: name, parameters (with default values for the trailing ones), and a body."""

    name: str
    params: tuple
    body: list
    defaults: tuple = ()
    doc: str = ""
    # ``a += b`` where something else sees ``a`` (the caller, another name): fine for numbers, but
    # NumPy would change an array in place. ``(variable, Location, message, hint)`` each, refused
    # once the variable is known to be an array.
    in_place: tuple = ()
    # A trace's: each name lowering resolved, as an s2sad.provenance.Read, to tell whether code
    # built from the trace is still what the function would run.
    reads: tuple = ()
    # How many trailing parameters are keyword-only in the function the trace is of (shown after
    # a `*` in it); derivative code takes every parameter by position.
    keyword_only: int = 0
