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

import functools

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


class SourceNotFoundError(S2SADError):
    """The function's source text cannot be found (a builtin, or a lambda typed at a prompt)."""


class NonScalarOutputError(S2SADError):
    """A gradient was requested of a function whose result is not a single number."""


class ArgumentError(S2SADError):
    """An API call got arguments that do not fit the function (``wrt`` out of range, wrong count)."""


class StructureNeededError(S2SADError):
    """A parameter is used as a structure (``params["W1"]``), and no argument says which one."""


class StaleTraceError(S2SADError):
    """A trace is run after a function it inlined (or a value it bound) was rebound: the equations
    it shows are no longer what the function computes."""


def user_facing(fn):
    """Report :class:`S2SADError` from the caller's line, without the compiler's frames."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except S2SADError as err:
            err.__traceback__ = None
            raise err from None

    return wrapper
