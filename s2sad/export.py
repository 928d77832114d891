"""Export derivatives as a standalone Python module that runs without s2sad installed.

``s2sad export FILE.py:FUNCTION -o FUNCTION_grad.py`` (or :func:`export_source`) writes, for each
function, its tangent program ``f_jvp`` (forward mode) and its gradient ``f_grad`` (reverse mode; for a
function with several outputs, the vector-Jacobian product ``f_vjp``), with the helpers a recursive
function needs, under a header saying what generated them, from which file and function, and with
which version of s2sad.

Generated code inside s2sad reaches the objects it calls through closure variables of a factory (see
:mod:`s2sad.execute`). An exported module binds them by import statements instead:

- functions and modules that can be imported by name (``math.cos``, ``numpy.exp``, the builtins,
  which need no import at all) are imported: ``from math import cos, sin``; what the function reads
  as an attribute of NumPy (``np.sum``, ``np.r_``, ``np.float32``) is read from ``import numpy as
  np``, and an object NumPy exports under the name the code uses (``r_``) is imported from it;
- numbers, strings and tuples of them (``math.pi``, a closure constant) are written as literals;
- module globals the function reads (``SCALE``) and recursive functions it calls are imported from
  the function's own module (``from lecture import SCALE``), which must then be importable where the
  exported module runs: keep the two side by side, or the source's folder on ``sys.path``. Importing
  it runs its top-level code, and a global is read once, when the exported module is imported;
- a function with custom rules (:func:`s2sad.custom_rule`) and its rules are imported from the module
  that defines them, like any other function: that module (and s2sad, if it registers the rules) must
  be importable where the exported one runs. ``s2sad.stop_gradient`` is written out as the identity.

Anything else (an object with no import path) is refused with :class:`ExportError`, naming it.

The exported code is the code :func:`s2sad.adjoint_source` and :func:`s2sad.tangent_source` print
without example arguments, and computes what :func:`s2sad.grad`, :func:`s2sad.jvp` and
:func:`s2sad.vjp` compute for every argument it serves, derivatives of numbers as floats. For a
function that uses NumPy that is numbers and arrays of any shape: shapes are checked when the code
runs (a gradient of a function returning an array raises ``ValueError``) and each derivative comes
back like its value, an array of an argument's shape and dtype for an array argument. For a
function that does not, it is the code for numbers, as the notes write it, and the header says so;
``args`` (example arrays) gives code for arrays of their shapes instead.

>>> import math, s2sad
>>> def f(x1, x2):
...     return x1 * x2 + math.sin(x1)
>>> source = s2sad.export_source(f)
>>> "from math import cos, sin" in source and "def f_grad(x1, x2):" in source
True
>>> namespace = {}
>>> exec(source, namespace)
>>> namespace["f_grad"](2.0, 5.0) == s2sad.grad(f, wrt=(0, 1))(2.0, 5.0)
True
"""

from __future__ import annotations

import builtins
import importlib
import math
import inspect
import itertools
import os
import re
import textwrap
import types

from .arguments import (
    example_layout as _example_layout,
    header as _header_of,
    is_method as _is_method,
    require_scalar as _require_scalar,
    unwrap as _unwrap,
    wrt_names as _wrt_names,
)
from .codegen import module_source
from . import runtime
from .custom import stop_gradient
from .dispatch import known_structures
from .errors import ArgumentError, S2SADError, StructureNeededError, user_facing as _user_facing
from .frontend import Scope
from .traversal import refs_used, several
from .helper_programs import helper_programs
from .pipeline import programs, Spec
from .programs import for_numbers
from .traces import trace_of


class ExportError(S2SADError):
    """The derivative uses an object an exported module has no way to bind."""


@_user_facing
def export_source(
    functions,
    wrt=None,
    teaching: bool = False,
    module: str | None = None,
    origin: str = "",
    args=None,
) -> str:
    """Source of a module holding the tangent and the gradient of each function, runnable without s2sad.

    ``functions`` is one function or a list. ``wrt`` selects inputs by position or name, for every
    function (default: all its inputs); the gradient returns one number for one input, a tuple for
    several. ``module`` is the name under which the functions' module can be imported, for the globals
    they read (default: their ``__module__``); ``origin`` is the source file named in the header.
    ``args``, example arguments of one function, gives the code for their structures (a function
    using a parameter as a dict, say): it takes each structure's leaves as parameters (``p_W``,
    ``p_b``) and returns their derivatives, and serves any shapes of the leaves. The code of a
    function that does not use NumPy is for numbers (ints or floats), whatever ``args`` holds, and
    the header says so: given arrays it does not compute their derivatives; for code compiled for
    example arrays, print ``s2sad.adjoint_source(f, args=...)`` and ``s2sad.tangent_source``.

    >>> import s2sad
    >>> def f(p):
    ...     return p["a"] * p["b"]
    >>> "def f_grad(p_a, p_b):" in s2sad.export_source(f, args=({"a": 1.0, "b": 2.0},))
    True
    """
    given = functions if isinstance(functions, list) else [functions]
    methods = [_is_method(fn) for fn in given]
    functions = [_unwrap(fn)[0] for fn in given]
    if args is not None and len(functions) != 1:
        raise ArgumentError(
            f"args gives the arguments of one function, and {len(functions)} are exported",
            hint="export a function with structured parameters on its own",
        )
    main, numbers = [], []  # numbers: the functions whose code is for numbers
    for fn, method in zip(functions, methods):
        names, structures = _inputs(fn, wrt, args, method)
        trace = trace_of(fn, structures)
        if for_numbers(trace):
            numbers.append(fn.__name__)
        common = dict(structures=structures, portable=True)  # for every kind of argument
        main += programs(fn, Spec("tangent", names, teaching, **common))
        if several(trace.body[-1].value):
            main += programs(fn, Spec("vjp", names, teaching, **common))
        else:
            _require_scalar(trace, "export")
            main += programs(fn, Spec("grad", names, teaching, len(names) == 1, **common))
    generated = main + helper_programs(main)
    home = functions[0].__code__.co_filename
    code, namespace = module_source(generated, True, home, functions[0].__globals__)
    imports = _imports(generated, namespace, functions, module)
    header = _header(functions, origin or os.path.basename(home), numbers)
    bindings = "".join(f"{line}\n" for line in imports)
    entries = ", ".join(f'"{namespace.function_name(program.name)}"' for program in main)
    text = f"{header}{bindings}\n__all__ = [{entries}]\n\n\n{code}"
    import black  # exporting is rare: black is not imported with s2sad

    return black.format_str(text, mode=black.Mode())


def _inputs(fn, wrt, args, method: bool) -> tuple:
    """``(names, structures)``: the generated code's parameters to differentiate with respect to,
    and the structures to lower ``fn`` with (those of ``args``, when given)."""
    if args is None:
        try:
            return _wrt_names(trace_of(fn), wrt, method)[0], None
        except StructureNeededError as err:
            raise StructureNeededError(
                err.message,
                err.location,
                "give example arguments, whose structures the exported code is for: "
                "s2sad.export_source(f, args=(...)), or s2sad export FILE.py:f --at NAME=VALUE ...",
            ) from None
    layout = _example_layout(fn, None, args)
    names, _ = _wrt_names(_header_of(fn), wrt, method)
    return layout.leaf_params(names), known_structures(fn, layout)


def _header(functions: list, origin: str, numbers: list) -> str:
    """The header comment and docstring; ``numbers`` names the functions whose code is for numbers."""
    from . import __version__  # late: the package is still being initialised when this is imported

    names = ", ".join(fn.__name__ for fn in functions)
    which = "function" if len(functions) == 1 else "functions"
    text = (
        f"Generated by s2sad {__version__} from {origin}, {which} {names}: tangent programs "
        "(forward mode, *_jvp) and gradients (reverse mode, *_grad; *_vjp for several outputs). "
        "It runs without s2sad installed. Regenerate it, rather than edit it, when the source changes."
    )
    if numbers:
        text += (
            f" The derivatives of {', '.join(numbers)} take numbers (ints or floats), not arrays."
        )
    comment = textwrap.fill(
        text,
        98,
        initial_indent="# ",
        subsequent_indent="# ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return f'{comment}\n"""Derivatives of {names}, generated by s2sad {__version__}."""\n\n'


def _imports(generated: list, namespace, functions: list, module: str | None) -> list:
    """Import statements and literal assignments binding every outside name the code uses."""
    home = functions[0].__module__
    importable = module or home
    from_imports: dict = {}
    lines = []
    helpers = [(n, obj) for n, kind, obj in namespace.bindings if obj in runtime.HELPERS]
    globals_read = {r.name for fn in generated for r in refs_used(fn) if r.origin == "global"}
    renamed = _helper_names(globals_read, namespace, generated) if helpers else {}
    if helpers:  # the few NumPy helpers derivative code calls: copied in, so s2sad is not needed
        lines.append("import numpy as np")
        copies = [_helper_source(fn) for fn in runtime.HELPERS] + [_NO_DERIVATIVE_HERE]
        lines += [_renamed(text, renamed) for text in copies]
        for name, fn in helpers:
            if name != renamed.get(fn.__name__, fn.__name__):
                lines.append(f"{name} = {renamed.get(fn.__name__, fn.__name__)}")
    for name, kind, payload in namespace.bindings:
        obj = _closure_value(functions, payload) if kind == "closure" else payload
        if obj in runtime.HELPERS:
            continue
        if obj is stop_gradient:  # the identity, written out so the module does not need s2sad
            lines.append(f"\n\ndef {name}(x):\n    return x  # s2sad.stop_gradient\n")
            continue
        line = _binding(name, obj, home, importable, from_imports)
        if line:
            lines.append(line)
    copied = {"np", *(renamed.get(name, name) for name in _copied_names())} if helpers else set()
    copied_numpy = runtime.np
    for fn in generated:
        for ref in refs_used(fn):
            if ref.origin == "global":
                _require_importable(importable, f"the module global `{ref.name}`")
                if ref.name in copied and ref.obj is not copied_numpy:  # a name the copy takes
                    raise ExportError(
                        f"cannot export: the derivative reads the module global `{ref.name}`, "
                        "and the exported module defines a NumPy helper of that name",
                        hint=f"rename the global `{ref.name}`",
                    )
                from_imports.setdefault(importable, set()).add((ref.name, ref.name))
    statements = []
    for source in sorted(from_imports):
        items = sorted(from_imports[source])
        text = ", ".join(attr if attr == alias else f"{attr} as {alias}" for attr, alias in items)
        statements.append(f"from {source} import {text}")
    imports = sorted({line for line in lines if line.startswith("import ")})
    return imports + statements + [line for line in lines if not line.startswith("import ")]


# What the copied helpers raise at a point with no derivative: in s2sad, an S2SADError that is also
# a ValueError; in the exported module, which runs without s2sad, a ValueError of the same name.
_NO_DERIVATIVE_HERE = '''

class NoDerivativeHereError(ValueError):
    """No derivative at this point (np.linalg.norm(x, 2) at a tie of singular values)."""

    def __init__(self, message, location=None, hint=""):
        super().__init__(f"{message}; {hint}" if hint else message)
'''


def _helper_source(fn) -> str:
    return "\n\n" + inspect.getsource(fn)


def _copied_names() -> list:
    """The names the copied helpers define in the exported module."""
    return [fn.__name__ for fn in runtime.HELPERS] + ["NoDerivativeHereError"]


def _helper_names(globals_read: set, namespace, generated: list) -> dict:
    """A new name for each copied helper named like a module global the code reads (a user's
    ``unbroadcast``), so that the global keeps its own name: the alias the generated code calls
    the helper by, where that differs, else the first ``name_k`` no other name of the module takes.
    """
    taken = globals_read | set(_copied_names()) | {fn.name for fn in generated}
    taken |= {name for name, _, _ in namespace.bindings}
    aliases = {obj.__name__: name for name, _, obj in namespace.bindings if obj in runtime.HELPERS}
    renamed = {}
    for name in _copied_names():
        if name not in globals_read:
            continue
        alias = aliases.get(name, name)
        if alias == name:
            alias = next(f"{name}_{k}" for k in itertools.count(1) if f"{name}_{k}" not in taken)
        taken.add(alias)
        renamed[name] = alias
    return renamed


def _renamed(text: str, renamed: dict) -> str:
    """``text`` (a copied helper's source) with each name of ``renamed`` replaced where it stands
    as a name, not as an attribute (``np.conform`` would stay)."""
    for old, new in renamed.items():
        text = re.sub(rf"(?<![.\w]){re.escape(old)}\b", new, text)
    return text


def _closure_value(functions: list, name: str):
    for fn in functions:
        if name in fn.__code__.co_freevars:
            return Scope(fn).closure_value(name)
    raise ExportError(f"cannot export: no function has the closure variable `{name}`")


def _binding(name: str, obj, home: str, importable: str, from_imports: dict) -> str | None:
    """A line binding ``name`` to ``obj`` (``import numpy as np``, ``name = 0.5``), or ``None`` when
    ``from_imports`` got it or it is a builtin under its own name."""
    if isinstance(obj, types.ModuleType):
        return f"import {obj.__name__}" + ("" if name == obj.__name__ else f" as {name}")
    if _is_literal(obj):
        return f"{name} = {_literal(obj)}"
    source = getattr(obj, "__module__", None)
    attr = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if attr is None and source:  # an instance (`from numpy import r_`): its class's module says
        package = source.split(".")[0]  # only where the class is; the package may export it
        if _found(package, name, obj):
            source, attr = package, name
    if source == "builtins" and getattr(builtins, attr, None) is obj:
        if name == attr:
            return None
    elif source == home and attr.isidentifier():
        _require_importable(importable, f"`{attr}`")
        source = importable
    elif source == home or not _found(source, attr, obj):  # a lambda or a nested function
        raise ExportError(
            f"cannot export: the derivative uses `{name}`, a {type(obj).__name__} that cannot be "
            "imported by name",
            hint="bind it to a module-level name in an importable module",
        )
    from_imports.setdefault(source, set()).add((attr, name))
    return None


def _found(source, attr, obj) -> bool:
    if not source or not attr or "<" in attr or "." in attr:
        return False
    try:
        return getattr(importlib.import_module(source), attr, None) is obj
    except ImportError:
        return False


def _require_importable(module: str, what: str) -> None:
    if module == "__main__" or not all(part.isidentifier() for part in module.split(".")):
        raise ExportError(
            f"cannot export: the derivative reads {what} from module {module!r}, which cannot be "
            "imported by name",
            hint="define the function in a module file and export it from there",
        )


def _is_literal(obj) -> bool:
    if isinstance(obj, float):
        return True
    if isinstance(obj, (bool, int, complex, str, bytes, type(None))):
        return True
    return isinstance(obj, tuple) and all(_is_literal(item) for item in obj)


def _literal(obj) -> str:
    if isinstance(obj, float) and not math.isfinite(obj):
        return f'float("{obj}")'
    if isinstance(obj, tuple):
        items = [_literal(item) for item in obj]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    return repr(obj)
