"""The point ``--at NAME=VALUE ...`` gives on the command line, and the inputs it differentiates.

A parameter with a default may be left out, and takes its default; one without must be given. A
parameter given twice is refused, as is a name the function does not have. By default the inputs
differentiated are the parameters given, but for integers the function uses as integers (``range``
counts, indices: see :func:`s2sad.arguments.integer_params`), which ``--wrt`` may still name.
"""

from __future__ import annotations

import ast
import inspect

import numpy as np


class UsageError(Exception):
    """A command line that cannot be followed (exit code 2)."""


def point_of(fn, items: list) -> tuple:
    """``(arguments, given)``: the positional arguments ``--at x1=2 x2=5`` gives, in the function's
    order, up to the last parameter given (those between take their defaults), and the names given.
    """
    parameters = inspect.signature(fn).parameters
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = [name for name, p in parameters.items() if p.kind in positional]
    values = {}
    for item in items:
        name, equals, text = item.partition("=")
        if not equals:
            raise UsageError(f"--at {item}: write NAME=VALUE, for example x1=2")
        if name in parameters and name not in params:
            raise UsageError(
                f"--at {item}: {fn.__name__} takes `{name}` as {_kind(parameters[name])}; the "
                "command line gives positional arguments only, so it takes its default"
            )
        if name not in params:
            raise UsageError(
                f"--at {item}: {fn.__name__} has no parameter {name!r} ({', '.join(params)})"
            )
        if name in values:
            raise UsageError(f"--at gives {name} twice: give each parameter once")
        values[name] = _value(item, text, getattr(fn, "__globals__", {}))
    empty = inspect.Parameter.empty
    missing = [p for p in params if p not in values and parameters[p].default is empty]
    if missing:
        raise UsageError(f"--at: give a value for {', '.join(missing)} (it has no default)")
    last = max((params.index(name) for name in values), default=-1)
    point = [values[p] if p in values else parameters[p].default for p in params[: last + 1]]
    return point, tuple(p for p in params if p in values)


def _kind(parameter) -> str:
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
        return "a keyword-only parameter"
    star = "*" if parameter.kind is inspect.Parameter.VAR_POSITIONAL else "**"
    return f"{star}{parameter.name}"


def _value(item: str, text: str, namespace: dict):
    """A number (``2``, ``0.5``), an array written as nested lists (``[[1, 2], [3, 4]]``), a
    structure of those written as a dict or tuple (``{"W": [[1, 2]], "b": 0.5}``), or a dataclass or
    named tuple of the function's module built from them (``Params(w=[1, 2], b=0.5)``)."""
    made = _constructed(item, text, namespace)
    if made is not None:
        return made
    if text.lstrip().startswith(("[", "{", "(")):
        try:
            return _structure(ast.literal_eval(text))
        except (ValueError, SyntaxError, TypeError):
            raise UsageError(
                f"--at {item}: {text!r} is not an array of numbers, nor a dict or tuple of them; "
                'write nested lists, for example W=[[1,2],[3,4]], or p={"W": [[1,2]], "b": 0.5}'
            ) from None
    try:
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise UsageError(f"--at {item}: {text!r} is not a number (nor a list of numbers)") from None


def _constructed(item: str, text: str, namespace: dict):
    """``Params(w=[1, 2], b=0.5)``: a dataclass or named tuple the function's module names, built
    from values ``--at`` reads (nothing else is called); ``None`` for text that is not such a call.
    """
    from .trees import field_names

    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        return None
    cls = namespace.get(call.func.id)
    if not isinstance(cls, type) or field_names(cls) is None:
        raise UsageError(
            f"--at {item}: `{call.func.id}` is not a dataclass or named tuple of the function's "
            "module; give numbers, nested lists, dicts or tuples"
        )
    try:
        args = [_structure(ast.literal_eval(a)) for a in call.args]
        keywords = {k.arg: _structure(ast.literal_eval(k.value)) for k in call.keywords}
        return cls(*args, **keywords)
    except (ValueError, TypeError) as err:
        raise UsageError(f"--at {item}: cannot build {call.func.id} from it ({err})") from None


def _structure(value):
    """A value ``--at`` reads: dicts and tuples are structures, lists of numbers arrays, and a
    list of dicts or tuples a list of structures."""
    if isinstance(value, dict):
        return {key: _structure(item) for key, item in value.items()}
    if isinstance(value, tuple) or (
        isinstance(value, list) and any(isinstance(item, (dict, tuple)) for item in value)
    ):
        return type(value)(_structure(item) for item in value)
    if isinstance(value, list):
        return np.array(value, dtype=float)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(value)
    return value


def inputs_at(fn, point: list, given: tuple, check: bool) -> tuple:
    """The inputs differentiated by default at ``point``: the parameters ``given``, but for
    integers used as integers; for ``--check``, also those the function cannot take a fraction of
    (it would be stepped through them)."""
    from .arguments import integer_params
    from .calling import as_call, completed
    from .check import takes_no_fraction

    args = list(completed(fn, tuple(point)))  # one value per parameter
    params = list(inspect.signature(fn).parameters)
    integers = set(integer_params(fn, None, tuple(args), given))

    def run(values):
        positional, keywords = as_call(fn, tuple(values))
        return fn(*positional, **keywords)

    if check:
        integers |= {n for n in given if takes_no_fraction(run, args, params.index(n))}
    chosen = tuple(name for name in given if name not in integers)
    if given and not chosen and check:
        raise UsageError(
            f"--check: {', '.join(given)} are integers {fn.__name__} uses as integers, which "
            "have no derivative; write an input to differentiate as a float (x=2.0), or name "
            "it with --wrt"
        )
    return chosen or given
