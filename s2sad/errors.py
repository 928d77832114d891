"""Errors a user can cause, all derived from :class:`S2SADError`.

Each error that points at user code carries a :class:`Location` and prints the way Python prints a
``SyntaxError``: file, line and column, the offending source line, a caret under the construct, and a
sentence on what to do instead.

>>> loc = Location("demo.py", 3, 8, "    y = [v for v in x]", 14)
>>> print(UnsupportedSyntaxError("a list comprehension is not supported", loc, hint="write the sum out"))
  File "demo.py", line 3, column 9
    y = [v for v in x]
        ^^^^^^^^^^^^^^
a list comprehension is not supported; write the sum out
"""

from __future__ import annotations

import ast
import contextlib
import functools
import linecache
import re

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A place in user source: 1-based line, 0-based column, the line's text and the span's width."""

    filename: str
    line: int
    column: int
    text: str = ""
    width: int = 1

    def render(self) -> str:
        """The ``File ..., line ...`` header, the source line and a caret, as Python shows them."""
        header = f'  File "{self.filename}", line {self.line}, column {self.column + 1}'
        if not self.text:
            return header
        stripped = self.text.lstrip()
        indent = len(self.text) - len(stripped)
        caret_at = max(self.column - indent, 0)
        width = max(1, min(self.width, len(stripped.rstrip()) - caret_at))
        return f"{header}\n    {stripped.rstrip()}\n    {' ' * caret_at}{'^' * width}"


class S2SADError(Exception):
    """Base class of every error s2sad raises about the user's program or arguments."""

    def __init__(self, message: str, location: Location | None = None, hint: str = ""):
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        sentence = f"{self.message}; {self.hint}" if self.hint else self.message
        if self.location is None:
            return sentence
        return f"{self.location.render()}\n{sentence}"

    # Exceptions are pickled by re-calling __init__ with self.args; keep the fields instead.
    def __reduce__(self):
        return (type(self), (self.message, self.location, self.hint))


class UnsupportedSyntaxError(S2SADError):
    """The function uses a Python construct the compiler does not differentiate."""


class UnknownFunctionError(S2SADError):
    """The function calls something that is neither a primitive with a rule nor differentiable code."""


class NotDifferentiableError(S2SADError):
    """A value the derivative depends on flows through an operation that has no derivative."""


class NoDerivativeHereError(NotDifferentiableError, ValueError):
    """The derivative code, running, met values where an operation has no derivative and no
    convention gives one (``np.linalg.norm(A, 2)`` where the two largest singular values of ``A``
    are equal), or none s2sad computes (a second derivative of a matrix's spectral norm). A
    ``ValueError`` too, as the exported code, which runs without s2sad, raises."""


class SourceNotFoundError(S2SADError):
    """The function's source text cannot be found (a builtin, or a lambda typed at a prompt)."""


class NonScalarOutputError(S2SADError):
    """A gradient was requested of a function whose result is not a single number."""


class ArgumentError(S2SADError):
    """An API call got arguments that do not fit the function (``wrt`` out of range, wrong count)."""


class StructureNeededError(S2SADError):
    """A parameter is used as a structure (``params["W1"]``), and no argument says which one."""


class LengthNeededError(StructureNeededError):
    """A parameter that is not a structure (an array) is used as a sequence of known length
    (``a, b = x``, ``for v in x``, ``len(x)``), and the arguments' shapes were not given."""


class StaleTraceError(S2SADError):
    """A trace is run after a function it inlined (or a value it bound) was rebound: the equations
    it shows are no longer what the function computes."""


def user_facing(fn):
    """``fn``, reporting :class:`S2SADError` as users should see it: their own frames, the frame of
    the entry point they called (at its ``def`` line), and, for an error in their code, a last
    frame at the line the error is about; none of the compiler's frames.

    The wrapper is compiled with every instruction at ``fn``'s ``def`` line in ``fn``'s file, so
    the frame a traceback shows for it is the entry point's own (``File ".../api.py", line 201,
    in grad``); IPython and pytest hide it altogether (``__tracebackhide__``)."""
    code = fn.__code__
    key = (code.co_filename, code.co_firstlineno, fn.__name__, fn.__qualname__)
    made = _wrappers.get(key)
    if made is None:  # compiled once per definition: a pullback is wrapped at every vjp call
        tree = ast.parse(_WRAPPER)
        line = _definition_line(code)
        width = len(linecache.getline(code.co_filename, line).rstrip())
        for node in ast.walk(tree):  # the whole line, so that no caret marks a part of it
            if "lineno" in node._attributes:
                node.lineno = node.end_lineno = line
                node.col_offset, node.end_col_offset = 0, width
        namespace = {"_S2SADError": S2SADError, "_located": located}
        exec(compile(tree, code.co_filename, "exec"), namespace)
        make = namespace["make"]
        named = make(fn).__code__.replace(co_name=fn.__name__, co_qualname=fn.__qualname__)
        made = _wrappers[key] = (make, named)
    make, named = made
    wrapper = make(fn)
    wrapper.__code__ = named
    return functools.wraps(fn)(wrapper)


_wrappers: dict = {}  # (file, first line, name, qualified name) -> (make, the wrapper's code)

_WRAPPER = """
def make(_fn):
    def wrapper(*args, **kwargs):
        __tracebackhide__ = True
        try:
            return _fn(*args, **kwargs)
        except _S2SADError as err:
            raise _located(err) from None
    return wrapper
"""


def _definition_line(code) -> int:
    """The line of the ``def`` that compiled to ``code`` (its first line is its first decorator's)."""
    lines = linecache.getlines(code.co_filename)
    line = code.co_firstlineno
    while line <= len(lines) and lines[line - 1].lstrip().startswith("@"):
        line += 1
    return line


def located(err: S2SADError) -> S2SADError:
    """``err``, its traceback replaced by one frame at the line of the user's code it is about
    (when that line can be read), or by none: the compiler's frames are not the user's concern."""
    err.__traceback__ = None
    place = err.location
    if place is None or not linecache.getline(place.filename, place.line):
        return err
    tree = ast.parse("raise _error")
    for node in ast.walk(tree):  # at the construct, so that Python's caret marks it
        if "lineno" in node._attributes:
            node.lineno = node.end_lineno = place.line
            node.col_offset, node.end_col_offset = place.column, place.column + place.width
    raiser = compile(tree, place.filename, "exec")
    raiser = raiser.replace(co_name=_enclosing_function(place))
    try:
        exec(raiser, {"_error": err})
    except S2SADError as raised:
        err.__traceback__ = raised.__traceback__.tb_next  # the frame of ``raiser`` alone
    err.__context__ = None
    return err


def _enclosing_function(place: Location) -> str:
    """The name of the function whose ``def`` line, or body, holds ``place``'s line."""
    lines = linecache.getlines(place.filename)[: place.line]
    indent = None
    for line in reversed(lines):
        stripped = line.lstrip()
        depth = len(line) - len(stripped)
        if not stripped.strip() or indent is not None and depth >= indent:
            continue  # a blank line, or one inside the block being climbed out of
        found = re.match(r"(?:async\s+)?def\s+(\w+)", stripped)
        if found:
            return found.group(1)
        indent = depth
    return "<module>"


@contextlib.contextmanager
def located_at(location: Location | None):
    """An :class:`S2SADError` raised inside without a location (by a derivative rule, which sees
    expressions, not source) gets ``location``, the statement being differentiated."""
    try:
        yield
    except S2SADError as err:
        if err.location is None:
            err.location = location
        raise
