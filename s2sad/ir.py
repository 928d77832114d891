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
tuple of outputs, or a :class:`Built` dict, dataclass or named tuple of them.

The invariant of a *trace* (what :mod:`s2sad.lower` produces, checked by :func:`check_trace`): every
``Assign`` binds a fresh name, and its value is a parameter, or one primitive applied to variables,
constants and references (no nesting), exactly as the notes write ``w3 = w1 * w2``. Derivative programs
built from a trace relax this: their expressions may nest (``w1_bar = w4_bar * cos(w1) + w3_bar * w2``).

>>> from s2sad.primitives import PRIMITIVES
>>> Call(PRIMITIVES["mul"], (Var("w1"), Call(PRIMITIVES["add"], (Var("w2"), Const(1)))))
w1 * (w2 + 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Union

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
    """

    name: str
    obj: object = field(compare=False, hash=False)
    origin: str = "value"

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


def reserved_names(fn: Function) -> set:
    """Names a transform of ``fn`` must not give its new variables: parameters and module globals."""
    return set(fn.params) | {ref.name for ref in refs_used(fn) if ref.origin == "global"}


def fresh_name(stem: str, taken: set) -> str:
    """``stem``, or ``stem_``, ``stem__``… if a name in ``taken`` already has that spelling."""
    while stem in taken:
        stem += "_"
    return stem


# --- walking ------------------------------------------------------------------------------------


def leaves(value: Structure) -> Iterator[Expr]:
    """The expressions of an output structure, left to right."""
    if isinstance(value, (tuple, Built)):
        for item in value.items if isinstance(value, Built) else value:
            yield from leaves(item)
    else:
        yield value


def map_structure(fn: Callable[[Expr], object], value: Structure):
    """Apply ``fn`` to every expression of an output structure, keeping its shape."""
    if isinstance(value, tuple):
        return tuple(map_structure(fn, item) for item in value)
    if isinstance(value, Built):
        return Built(value.keys, map_structure(fn, value.items), value.cls)
    return fn(value)


def several(value: Structure) -> bool:
    """Whether an output structure holds several outputs (a tuple, a dict, a dataclass...)."""
    return isinstance(value, (tuple, Built))


def classes(value: Structure) -> Iterator[Ref]:
    """The classes an output structure constructs (``Out`` for ``Out(y=w3)``)."""
    if isinstance(value, tuple):
        for item in value:
            yield from classes(item)
    elif isinstance(value, Built):
        if value.cls is not None:
            yield value.cls
        yield from classes(value.items)


def subexprs(expr: Expr) -> Iterator[Expr]:
    """``expr`` and every expression inside it."""
    yield expr
    if isinstance(expr, Call):
        for arg in expr.args:
            yield from subexprs(arg)


def variables(expr: Expr) -> Iterator[Var]:
    """Every variable ``expr`` reads."""
    return (e for e in subexprs(expr) if isinstance(e, Var))


def stmt_exprs(stmt: Stmt) -> Iterator[Expr]:
    """The expressions a statement evaluates itself (not those of the blocks it contains; for a
    loop, its initial values, its iterable and its next values)."""
    if isinstance(stmt, (Assign, Effect, Unpack)):
        yield stmt.value
    elif isinstance(stmt, Return):
        yield from leaves(stmt.value)
        yield from classes(stmt.value)
    elif isinstance(stmt, If):
        yield stmt.cond
    elif isinstance(stmt, Loop):
        yield from stmt.inits
        if stmt.iterable is not None:
            yield stmt.iterable
        yield from stmt.nexts
        if stmt.exit is not None:
            yield stmt.exit
    elif isinstance(stmt, Push):
        yield stmt.tape
        yield from stmt.values
    elif isinstance(stmt, Pop):
        yield stmt.tape


def blocks(stmt: Stmt) -> tuple:
    """The statement lists nested in ``stmt``."""
    if isinstance(stmt, If):
        return (stmt.then, stmt.orelse)
    if isinstance(stmt, Loop):
        return (stmt.body,)
    return ()


def defines(stmt: Stmt) -> list:
    """The variables ``stmt`` itself binds (not those bound inside its blocks)."""
    if isinstance(stmt, Assign):
        return [stmt.target]
    if isinstance(stmt, Loop):
        targets = stmt.target if isinstance(stmt.target, tuple) else (stmt.target,)
        return list(stmt.headers) + [t for t in targets if t is not None]
    if isinstance(stmt, (Pop, Unpack)):
        return list(stmt.targets)
    return []


def walk(body: list) -> Iterator[Stmt]:
    """Every statement of ``body`` and of the blocks nested in it, in program order."""
    for stmt in body:
        yield stmt
        for block in blocks(stmt):
            yield from walk(block)


def assigned(body: list) -> set:
    """Names bound anywhere in ``body``, nested blocks included."""
    return {var.name for stmt in walk(body) for var in defines(stmt)}


def refs_used(fn: Function) -> Iterator[Ref]:
    for stmt in walk(fn.body):
        for expr in stmt_exprs(stmt):
            yield from (e for e in subexprs(expr) if isinstance(e, Ref))


# --- checking -----------------------------------------------------------------------------------


def check_trace(fn: Function) -> None:
    """Assert the trace invariant: fresh names, one primitive per statement, reads after writes.

    Run after lowering and after every pass over a trace; a failure is a compiler bug, not a user
    error, so it raises ``AssertionError``.
    """
    _check_block(fn.body, set(fn.params), fn.name)
    assert fn.body and isinstance(fn.body[-1], Return), f"{fn.name} does not end in a return"
    assert not any(isinstance(s, Return) for s in walk(fn.body[:-1])), f"{fn.name}: early return"


def _check_block(body: list, defined: set, name: str) -> None:
    for stmt in body:
        if isinstance(stmt, Loop):
            _check_loop(stmt, defined, name)
            continue
        for expr in stmt_exprs(stmt):
            for var in variables(expr):
                assert var.name in defined, f"{var.name} read before it is written in {name}"
        if isinstance(stmt, Unpack):
            defined.update(t.name for t in stmt.targets)
        if isinstance(stmt, Assign):
            assert stmt.target.name not in defined, f"{stmt.target.name} assigned twice in {name}"
            if isinstance(stmt.value, Call):
                nested = [a for a in stmt.value.args if isinstance(a, Call)]
                assert not nested, f"nested call in trace statement {stmt.target.name}"
            defined.add(stmt.target.name)
        for block in blocks(stmt):
            inner = set(defined)
            _check_block(block, inner, name)
            defined |= inner  # read after the If only by merges, in the arm of the branch that ran


def _check_loop(loop: Loop, defined: set, name: str) -> None:
    for expr in loop.inits + ([loop.iterable] if loop.iterable is not None else []):
        for var in variables(expr):
            assert var.name in defined, f"{var.name} read before it is written in {name}"
    inner = defined | {v.name for v in defines(loop)}
    _check_block(loop.body, inner, name)
    for expr in loop.nexts + ([loop.exit] if loop.exit is not None else []):
        for var in variables(expr):
            assert var.name in inner, f"{var.name} read before it is written in {name}"
    defined |= inner
