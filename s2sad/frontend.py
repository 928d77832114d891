"""Find a function's source, parse it with libcst, and resolve the names it uses.

:func:`load` returns a :class:`Source`: the function's CST node, a way to turn any node into a
:class:`~s2sad.errors.Location` in the real file (so messages quote the user's own line), and a
:class:`Scope` that resolves free names through the function's closure, its module's globals and the
builtins, the way Python itself will when the function runs. Callees are later matched to primitives
by the *identity* of the object a name resolves to, never by spelling.

Source comes from :mod:`linecache`, which reads files and the source their modules' loaders serve;
notebook cells (IPython registers each cell in ``linecache``) therefore work like files. libcst is
imported when a function is first parsed, not with s2sad.
"""

from __future__ import annotations

import inspect
import linecache
import os
import re
import types
from dataclasses import dataclass

from .errors import Location, SourceNotFoundError, UnsupportedSyntaxError
from .provenance import FUNCTION, MISSING, ROOT, Read, builtins_of, is_library, is_structural


@dataclass
class Source:
    """A parsed function: its CST node and where each node sits in the user's file."""

    function: types.FunctionType
    node: object  # a libcst FunctionDef or Lambda
    filename: str
    _positions: object
    _first_line: int  # line of the parsed snippet's first line in the file
    _removed: tuple = ()  # columns removed from each line of the snippet before parsing

    def locate_as(self, node, like) -> None:
        """Place ``node``, made while lowering (one application of ``reduce``), where ``like`` is."""
        self._positions = {**self._positions, node: self._positions[like]}

    def location(self, node) -> Location:
        """Where ``node`` is in the user's file, with the line's text for a caret."""
        span = self._positions[node]
        line = span.start.line + self._first_line - 1
        index = span.start.line - 1
        column = span.start.column + (self._removed[index] if index < len(self._removed) else 0)
        text = linecache.getline(self.filename, line).rstrip("\n")
        if span.end.line == span.start.line:
            width = span.end.column - span.start.column
        else:
            width = len(text) - column
        return Location(self.filename, line, column, text, max(width, 1))


def library_name(fn) -> str | None:
    """How code names a function of NumPy, SciPy, math or the builtins (``np.sinc``, ``math.sin``),
    or ``None`` for anything else. NumPy 2 writes many of its functions in Python behind a
    dispatcher object whose ``__wrapped__`` is that Python function: they are library functions."""
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str) or not callable(fn) or isinstance(fn, (types.FunctionType, type)):
        return None
    module = getattr(fn, "__module__", None)
    if not isinstance(module, str):  # a ufunc of SciPy's, say: known by its name only
        known = type(fn).__module__.split(".")[0] in ("numpy", "scipy")
        return name if known else None
    root = module.split(".")[0]
    if root in ("numpy", "scipy", "math", "builtins", "cmath"):
        prefix = {"numpy": "np", "builtins": ""}.get(root, module)
        return f"{prefix}.{name}" if prefix else name
    return None


def require_function(fn) -> None:
    """Raise a clear error unless ``fn`` is a plain Python function s2sad can read."""
    library = library_name(fn)
    if library is not None:  # np.sinc, np.polyval (a dispatcher over NumPy's code), math.sin
        raise SourceNotFoundError(
            f"cannot differentiate `{library}` itself: it is a library function, whose source "
            "s2sad does not read; it differentiates the Python functions that call it",
            hint=f"differentiate a function that calls it: `def f(...): return {library}(...)`; "
            "where a library function has no derivative rule, s2sad says so where it is called",
        )
    if not isinstance(fn, types.FunctionType):
        raise SourceNotFoundError(
            f"cannot differentiate {fn!r}: it is not a Python function with source code",
            hint="pass a function defined with `def` (or a lambda) in a file, module or notebook cell",
        )
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        code = fn.__code__
        text = linecache.getline(code.co_filename, code.co_firstlineno).rstrip("\n")
        column = len(text) - len(text.lstrip())
        raise UnsupportedSyntaxError(
            f"`{fn.__qualname__}` is an `async def`: calling it makes a coroutine, not a number, "
            "and s2sad differentiates functions that compute their result when called",
            Location(code.co_filename, code.co_firstlineno, column, text, len(text) - column),
            "differentiate a plain `def` that computes the value, and await around it",
        )
    if _in_package(fn.__code__.co_filename):
        raise SourceNotFoundError(
            f"`{fn.__qualname__}` is part of s2sad, not code s2sad differentiates",
            hint="call s2sad's functions outside the function you differentiate, and pass their "
            "results to it",
        )


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _in_package(filename: str) -> bool:
    """Whether ``filename`` is one of s2sad's own modules (by where the package is, whatever the
    folders around it are called). The benchmark's subjects are code s2sad differentiates."""
    path = os.path.abspath(filename)
    return os.path.dirname(path) == _PACKAGE and not os.path.basename(path).startswith("bench")


def load(fn) -> Source:
    """Parse the source of ``fn`` (a plain function or lambda)."""
    require_function(fn)
    code = fn.__code__
    filename = code.co_filename
    linecache.checkcache(filename)  # a file edited since it was read is read again
    found = _block(code, linecache.getlines(filename, fn.__globals__))
    if found is None:
        raise SourceNotFoundError(
            f"cannot find the source of `{fn.__qualname__}` (defined in {code.co_filename})",
            hint="define the function in a file, a module or a notebook cell; functions typed at an "
            "interactive prompt have no source s2sad can read",
        )
    if fn.__name__ == "<lambda>":
        return _load_lambda(fn, filename)
    lines, first_line = found
    text, removed = dedented(lines)
    node, positions = _parsed_function(text, filename, first_line, removed)
    return Source(fn, node, filename, positions, first_line, removed)


# The line a definition starts on, as inspect finds it: a def, a lambda or a decorator.
_DEFINITION = re.compile(r"^(\s*def\s)|(\s*async\s+def\s)|(.*(?<!\w)lambda(:|\s))|^(\s*@)")


def _block(code: types.CodeType, lines: list) -> tuple | None:
    """``(lines, first line)`` of the definition that compiled to ``code``, or ``None``.

    The lines come from the code object's own file and first line, read through :mod:`linecache`
    with the function's globals (whose loader serves source that is not in a file), as
    :func:`inspect.getsourcelines` reads them, but without its search of ``sys.modules`` for the
    module, which costs more than parsing the function. From the code object, not the function:
    inspect would follow a decorator's ``__wrapped__`` to another function's source.
    """
    index = code.co_firstlineno - 1
    if not lines or not 0 <= index < len(lines):
        return None
    while index > 0 and not _DEFINITION.match(lines[index]):
        index -= 1
    return inspect.getblock(lines[index:]), index + 1


_parsed: dict = {}  # (text, filename, first line) -> (FunctionDef node, positions)


def _parsed_function(text: str, filename: str, first_line: int, removed: tuple) -> tuple:
    """The ``def`` in ``text`` and its nodes' positions, parsed once per text: libcst's parse and
    position metadata cost more than the rest of lowering, and every derivative of one function,
    and every closure one ``def`` makes, reads the same text."""
    key = (text, filename, first_line)
    found = _parsed.get(key)
    if found is None:
        import libcst as cst
        from libcst.metadata import MetadataWrapper, PositionProvider

        module = _parse(text, filename, first_line, removed)
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        node = next(n for n in module.body if isinstance(n, cst.FunctionDef))
        found = _parsed[key] = (node, positions)
    return found


def dedented(lines: list) -> tuple:
    r"""``(text, removed)``: the lines of a method or nested function with the first line's
    indentation taken off each line that has it, and the columns taken off each line. Every line
    stays a line (a blank one keeps its newline), so line numbers in the text match the file's.

    >>> dedented(["    def f(x):\n", "\n", "        return x\n"])
    ('def f(x):\n\n    return x\n', (4, 0, 4))
    """
    indent = len(lines[0]) - len(lines[0].lstrip())
    kept, removed = [], []
    for line in lines:
        if not line.strip():
            cut = len(line) - len(line.lstrip(" \t"))  # blank: only its newline is kept
        else:
            cut = indent if line[:indent].isspace() else 0  # a comment may sit further left
        kept.append(line[cut:])
        removed.append(cut)
    return "".join(kept), tuple(removed)


def _load_lambda(fn, filename: str) -> Source:
    """Lambdas have no block of their own: parse the whole file and find the one that made ``fn``."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    text = "".join(linecache.getlines(filename, fn.__globals__))
    module = _parse(text, filename, 1)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    code = fn.__code__
    wanted = list(code.co_varnames[: code.co_argcount])
    candidates = [
        node
        for node in _lambdas(wrapper.module)
        if positions[node].start.line == code.co_firstlineno
        and [p.name.value for p in node.params.params] == wanted
    ]
    if len(candidates) != 1:
        raise SourceNotFoundError(
            f"cannot tell which lambda on line {code.co_firstlineno} of {filename} is being differentiated",
            hint="give the function a name with `def`",
        )
    return Source(fn, candidates[0], filename, positions, 1)


def _lambdas(module) -> list:
    """The lambdas in a parsed module."""
    import libcst as cst

    found = []

    class Finder(cst.CSTVisitor):
        def visit_Lambda(self, node: cst.Lambda) -> None:
            found.append(node)

    module.visit(Finder())
    return found


def _parse(text: str, filename: str, first_line: int, removed: tuple = ()):
    """The libcst module of ``text``, or a located refusal of what it cannot parse."""
    import libcst as cst

    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as err:
        line = err.raw_line + first_line - 1
        column = err.raw_column + (removed[err.raw_line - 1] if err.raw_line <= len(removed) else 0)
        location = Location(filename, line, column, linecache.getline(filename, line).rstrip("\n"))
        raise UnsupportedSyntaxError(
            "cannot parse this source", location, hint=err.message
        ) from None


class Scope:
    """Resolves the free names of a function as Python will: closure, then globals, then builtins.

    Given ``reads``, a list, each resolution is appended to it as a :class:`~s2sad.provenance.Read`
    (what code built from it depends on), except for the library modules the rules are written
    for and their functions (see :mod:`s2sad.provenance`). ``relative``: ``fn`` is the function being differentiated,
    whose reads are checked against whichever function shares its code; ``live(kind, name)``: the
    generated code reads the name again when it runs (``kind`` as :meth:`lookup` returns it)."""

    def __init__(self, fn: types.FunctionType, reads: list | None = None, relative=True, live=None):
        self.fn = fn
        code = fn.__code__
        self._cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
        self._globals = fn.__globals__
        self._builtins = builtins_of(self._globals)
        self._reads = reads
        self._relative = relative
        self._live = live

    def lookup(self, name: str):
        """``(kind, object)`` with kind ``"closure"``, ``"global"`` or ``"builtin"``; ``(None, None)``
        if the name is not defined anywhere."""
        kind, obj = self._lookup(name)
        if self._reads is not None and not is_library(obj):
            where = ROOT if self._relative else self._cells.get(name, self._globals)
            live = kind is not None and self._live(kind, name) and not is_structural(obj)
            self._reads.append(Read(where, name, MISSING if kind is None else obj, live))
        return kind, obj

    def _lookup(self, name: str):
        if name in self._cells:
            try:
                return "closure", self._cells[name].cell_contents
            except (
                ValueError
            ):  # a cell not yet filled: the name is assigned later in the outer scope
                return None, None
        if name in self._globals:
            return "global", self._globals[name]
        if name in self._builtins:
            return "builtin", self._builtins[name]
        return None, None

    def attribute(self, obj, name: str):
        """``obj.name`` (a module's attribute, a callee's defaults), recorded as a read unless
        ``obj`` is a library module the derivative rules are written for (``math.sin``, ``np.sum``:
        replacing those in their module is not followed)."""
        value = getattr(obj, name)
        if self._reads is not None and not is_library(obj):
            where = FUNCTION if obj is self.fn and self._relative else obj
            self._reads.append(Read(where, name, value))
        return value

    def closure_value(self, name: str):
        """The current value of a closure variable (read again each time code is loaded)."""
        return self._cells[name].cell_contents
