"""Shape checks of custom rules, at the first call of the derivative code that calls them.

A tangent has the shape of its value, and an adjoint the shape of the argument it belongs to; a custom
rule that breaks this would otherwise fail far from its cause, or broadcast into a wrong derivative.
Generated code reaches a rule through a closure variable (see :mod:`s2sad.execute`). When derivative
code is loaded, :func:`check_first_calls` puts a checker in that variable instead: it calls the rule,
checks what it returns, and once it has been called from every line of the code that calls the rule,
puts the rule itself back, so later calls cost nothing extra. Each compiled specialisation (numbers,
arrays of given shapes) is checked afresh.

>>> import numpy as np
>>> from s2sad.custom import CustomRule
>>> entry = CustomRule(np.sum, tangent=lambda x, out, x_dot: x_dot)
>>> try:
...     check_result(entry, "tangent", (np.ones(3), 3.0, np.ones(3)), np.ones(3))
... except CustomRuleError as err:
...     print(err.message)
the tangent rule `<lambda>` of `sum` returned a tangent of shape (3,), but its output `sum(...)` has shape ()
"""

from __future__ import annotations

import bisect
import inspect
import linecache
import re
import sys
import types

import numpy as np

from .custom import ROLES, CustomRule, CustomRuleError, defined_at
from .naming import is_discard


def check_first_calls(functions: tuple, filename: str) -> None:
    """Make the rules the freshly loaded ``functions`` call check their results until each line
    calling them (in the generated file ``filename``) has been checked once."""
    lines = linecache.getlines(filename)
    for name, cell in _rule_cells(functions, filename).items():
        entry, role = ROLES[id(cell.cell_contents)]
        pattern = re.compile(rf"(?<![\w.]){re.escape(name)}\(")
        sites = {i + 1: _used(line, name) for i, line in enumerate(lines) if pattern.search(line)}
        cell.cell_contents = _FirstCalls(entry, role, cell, sites)


def _used(line: str, name: str) -> tuple | None:
    """For ``(w3_bar_1, _) = f_adjoint(...)``, which adjoints the code uses: ``(True, False)``
    (``_`` stands for an argument not differentiated there); ``None`` for another line."""
    targets = line.split(f"= {name}(")[0].strip().strip("()").split(",")
    if "=" in line and all(t.strip().isidentifier() for t in targets if t.strip()):
        return tuple(not is_discard(t.strip()) for t in targets if t.strip())
    return None


def _rule_cells(functions: tuple, filename: str) -> dict:
    """Name -> closure cell, for the cells of generated code holding a custom rule (helpers the
    functions call, like ``_f_jvp``, share the factory's cells and are searched too)."""
    found, seen, pending = {}, set(), list(functions)
    while pending:
        fn = pending.pop()
        if id(fn) in seen or fn.__code__.co_filename != filename:
            continue
        seen.add(id(fn))
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
            try:
                value = cell.cell_contents
            except ValueError:  # a cell not filled yet
                continue
            if id(value) in ROLES:
                found[name] = cell
            elif isinstance(value, types.FunctionType):
                pending.append(value)
    return found


class _FirstCalls:
    """Stands for a rule in generated code until every line calling it has been checked."""

    def __init__(self, entry: CustomRule, role: str, cell, sites: dict):
        self.entry, self.role, self.cell = entry, role, cell
        self.rule = getattr(entry, role)
        self.sites = sites  # line -> which adjoints it uses (see _used)
        self.lines = sorted(sites)
        self.unchecked = set(sites)

    def __call__(self, *args):
        result = self.rule(*args)
        # A call spanning several lines runs on one of them: it belongs to the site starting above.
        index = bisect.bisect_right(self.lines, sys._getframe(1).f_lineno) - 1
        site = self.lines[index] if index >= 0 else None
        check_result(self.entry, self.role, args, result, self.sites.get(site))
        self.unchecked.discard(site)
        if not self.unchecked:
            self.cell.cell_contents = self.rule
        return result


def check_result(entry: CustomRule, role: str, args: tuple, result, used=None) -> None:
    """Raise :class:`CustomRuleError` unless ``result`` has the shapes ``role``'s rule must return.
    An adjoint may be ``None`` where ``used`` says the code does not use it (or, ``used`` unknown,
    for an argument that is not a float or an array)."""
    count = (len(args) - 1) // 2 if role == "tangent" else len(args) - 2
    inputs, out = args[:count], args[count]
    rule = getattr(entry, role)
    where = f"the {role} rule `{getattr(rule, '__name__', rule)}` of `{entry.name}`"
    if not _is_value(out):
        raise CustomRuleError(
            f"`{entry.name}` returned a {type(out).__name__}; a function with custom rules must "
            "return one number or one NumPy array",
            defined_at(entry.fn),
            "return several results from several functions",
        )
    if role == "tangent":
        if not _is_value(result) or np.shape(result) != np.shape(out):
            raise CustomRuleError(
                f"{where} returned {_describe(result, 'a tangent')}, but its output "
                f"`{entry.name}(...)` has shape {np.shape(out)}",
                defined_at(rule),
                "a tangent has its value's shape",
            )
        return
    if not isinstance(result, (tuple, list)) or len(result) != len(inputs):
        raise CustomRuleError(
            f"{where} returned {_describe(result, 'a value')}, not a tuple of {len(inputs)} "
            "adjoint(s), one per argument",
            defined_at(rule),
            "return a tuple, even for one argument: `return ("
            + ", ".join(f"{p}_bar" for p in _params(entry, len(inputs)))
            + ",)`",
        )
    for i, (arg, bar) in enumerate(zip(inputs, result)):
        needed = (
            used[i]
            if used and len(used) == len(inputs)
            else isinstance(arg, (float, np.floating, np.ndarray))
        )
        if (bar is None and not needed) or (_is_value(bar) and np.shape(bar) == np.shape(arg)):
            continue
        raise CustomRuleError(
            f"{where} returned {_describe(bar, 'an adjoint')} for argument {i + 1} "
            f"(`{_params(entry, len(inputs))[i]}`), which has "
            f"shape {np.shape(arg)}",
            defined_at(rule),
            "an adjoint has its argument's shape (None only for an argument not differentiated)",
        )


def _is_value(value) -> bool:
    return isinstance(value, (int, float, complex, np.number, np.ndarray)) and not isinstance(
        value, bool
    )


def _describe(value, what: str) -> str:
    if _is_value(value):
        return f"{what} of shape {np.shape(value)}"
    return "None" if value is None else f"a {type(value).__name__}"


def _params(entry: CustomRule, count: int) -> list:
    """The names of the function's first ``count`` parameters, where known (``x1, x2…`` if not)."""
    try:
        params = list(inspect.signature(entry.fn).parameters)[:count]
    except (TypeError, ValueError):
        params = []
    return params + [f"x{i + 1}" for i in range(len(params), count)]
