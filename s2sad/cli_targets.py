"""What the command line reads: the file or module a target names, and its functions.

A file is run as a module of its own, with its folder first on the path (so that it imports its
neighbours); a module is imported with the current folder first on the path, as ``python -m``
imports it. What goes wrong there is the user's (:class:`UserError`, exit code 1), said in one
message: a file that does not parse as Python shows it, with line, column and caret.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback

from .callables import plain_function
from .errors import Location


class UserError(Exception):
    """A problem with the file or function named on the command line (exit code 1)."""


def load_module(target: str, is_module: bool):
    """The module named by ``target`` (before any ``:FUNCTION``). A module is imported with the
    current folder first on the path, as ``python -m`` imports it."""
    if is_module:
        sys.path.insert(0, os.getcwd())
        try:
            return importlib.import_module(target)
        except SyntaxError as err:
            raise UserError(syntax_error(err)) from None
        except ImportError as err:
            raise UserError(f"cannot import module {target!r}: {err}") from None
        finally:
            sys.path.remove(os.getcwd())
    if not os.path.isfile(target):
        raise UserError(f"no such file: {target}")
    name = "_s2sad_cli_" + os.path.splitext(os.path.basename(target))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, target)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise UserError(syntax_error(err)) from None
    except Exception as err:  # the file's own top-level code failed: say where, without a traceback
        here = os.path.abspath(target)
        tb = traceback.extract_tb(err.__traceback__)
        lines = [f.lineno for f in tb if os.path.abspath(f.filename) == here]
        where = f", line {lines[-1]}" if lines else ""
        raise UserError(f"running {target}{where} raised {type(err).__name__}: {err}") from None
    finally:
        sys.path.pop(0)
    return module


def syntax_error(err: SyntaxError) -> str:
    """A file that does not parse, shown as Python shows it: file, line and column, the line, a
    caret under the place, and what is wrong."""
    column = (err.offset or 1) - 1
    width = 1
    if err.end_lineno == err.lineno and err.end_offset:
        width = max(1, err.end_offset - (err.offset or 1))
    place = Location(err.filename or "<unknown>", err.lineno or 0, column, err.text or "", width)
    return f"{place.render()}\n{type(err).__name__}: {err.msg}"


def functions_of(module, name: str | None) -> list:
    if name is not None:
        fn = getattr(module, name, None)
        if fn is None or not callable(fn):
            raise UserError(
                f"{module.__name__.replace('_s2sad_cli_', '')} has no function {name!r}"
            )
        return [plain_function(fn) or fn]  # a partial, a callable object: the function it runs
    found = [
        fn
        for fn in vars(module).values()
        if inspect.isfunction(fn)
        and fn.__module__ == module.__name__
        and not fn.__name__.startswith("_")
    ]
    if not found:
        raise UserError("no functions found; name one as FILE.py:FUNCTION")
    return found
