"""Print IR functions as Python source, in black's layout.

Generated code refers to outside objects (``math.cos``, a closure constant, ``math.pi``) by the names a
:class:`Namespace` chooses, so that no name ever shadows another and the printed source also runs as
printed, in the globals of the function's module with the stated names besides (math's functions
and the builtins by their own names, the runtime helpers of :mod:`s2sad.runtime` by theirs): an
object goes by its own name (``cos``) unless the program or the module has that name for something
else; then as the module reaches it (``math.cos`` where the module imports math, ``np.sin``); and
failing that by an alias the source binds at its top (``cos_2 = cos``, where a parameter is called
``cos``). What the function reached in NumPy goes by the name NumPy users write, functions and
objects alike (``np.sum``, ``np.pi``, ``np.r_``). Module globals keep their names and are read when
the code runs, as the original function reads them. The generated functions
themselves (``f_grad``, a helper ``_f_jvp`` they call) keep their names too, unless a variable or a
global of the code has it. Each block of code is preceded by a comment quoting the source line it
comes from.
"""

from __future__ import annotations

import os
import sys

from .ir import (
    Assign,
    Const,
    Comment,
    Effect,
    Function,
    Primitive,
    Ref,
    Return,
    If,
    Loop,
    Pop,
    Push,
    Unpack,
)
from .traversal import defines, stmt_exprs, walk, subexprs
from .ir import Call as CallExpr
from .opaque import is_opaque, written
from .primitives import NOT
from .layout import LINE_LENGTH, Unsupported, split_statement
from .printing import MODULE_ALIASES, format_const, format_expr, format_structure


class Namespace:
    """Names for the outside objects a group of functions uses, and how to bind each one.

    ``bindings`` lists ``(name, kind, payload)``: kind ``"object"`` binds ``payload`` itself, kind
    ``"closure"`` binds the current value of the closure variable ``payload`` when the code is loaded.
    ``aliases`` lists ``(alias, name)`` for the lines ``alias = name`` the source opens with. ``scope``
    is the globals of the functions' module, whose names the printed source must not misread.
    """

    def __init__(self, functions: list, scope: dict | None = None):
        self.taken: set = set()
        self.bindings: list = []
        self.aliases: list = []  # (alias, name): `alias = name` opens the source
        self.scope = scope or {}  # the globals of the functions' module
        self._names: dict = {}
        refs, prims = [], []
        for fn in functions:
            self.taken.update(fn.params)
            for stmt in walk(fn.body):
                self.taken.update(var.name for var in defines(stmt))
                for expr in stmt_exprs(stmt):
                    for sub in subexprs(expr):
                        if isinstance(sub, Ref):
                            refs.append(sub)
                        elif isinstance(sub, CallExpr):
                            if sub.prim.style in ("call", "packed"):
                                prims.append(sub.prim)
                            refs += [v for _, v in sub.params if isinstance(v, Ref)]
        siblings = {fn.name for fn in functions}
        for ref in refs:  # module globals are read by their own name: reserve them first
            if ref.origin == "global":
                self.taken.add(ref.name)
                self._names[("global", ref.name)] = ref.name
        self._functions: dict = {}  # a generated function's own name -> the name it is defined by
        for fn in functions:
            self._functions[fn.name] = self._free(fn.name)
        for ref in refs:
            if ref.origin == "closure":
                self._bind(("closure", ref.name), ref.name, "closure", ref.name)
            elif ref.origin == "value" and ref.module in MODULE_ALIASES:  # np.pi, np.r_
                module = sys.modules[ref.module]
                self._bind_object(MODULE_ALIASES[ref.module], module)
            elif ref.origin == "value":
                self._bind_object(ref.name, ref.obj)
        for prim in prims:
            if prim.symbol in siblings and prim.impl is None:
                continue  # a function generated beside this one: called by its own name
            if prim.module:  # np.sin: bind the module as np
                module = sys.modules[prim.module]
                self._bind_object(MODULE_ALIASES[prim.module], module)
            elif not (is_opaque(prim) and self._as_reached(prim.impl, written(prim))):
                self._bind_object(prim.symbol, prim.impl)

    def _free(self, preferred: str) -> str:
        """``preferred``, or ``preferred_2``, ``preferred_3``…: a name nothing else has; taken now."""
        name, suffix = preferred, 1
        while name in self.taken:
            suffix += 1
            name = f"{preferred}_{suffix}"
        self.taken.add(name)
        return name

    def _bind(self, key, preferred: str, kind: str, payload) -> None:
        if key in self._names:
            return
        self._names[key] = name = self._free(preferred)
        self.bindings.append((name, kind, payload))

    def _bind_object(self, preferred: str, obj) -> None:
        """Name ``obj`` so that the source also runs, printed, in the module's globals: by
        ``preferred`` where nothing there or in the code has it; else as the module reaches it
        (``math.cos``, ``np.sin``); else by an alias bound at the top of the source (``cos_2 =
        cos``); else (``preferred`` is a global the code reads) by an alias only s2sad binds."""
        key = ("object", id(obj))
        if key in self._names:
            return
        if preferred not in self.taken and self.scope.get(preferred, obj) is obj:
            self._bind(key, preferred, "object", obj)
            return
        reached = self._reached(obj)
        if reached is not None:
            self._names[key] = reached
        elif preferred in self.scope or ("global", preferred) in self._names:
            self._bind(key, preferred, "object", obj)
        else:  # a parameter has the name: the code reads it under an alias
            self.taken.add(preferred)
            self._names[key] = alias = self._free(preferred)
            self.bindings.append((preferred, "object", obj))
            self.aliases.append((alias, preferred))

    def _as_reached(self, obj, path: str) -> bool:
        """Name ``obj`` as the module's globals reach it, by ``path`` as the function wrote it
        (``warnings.warn``) or otherwise (``np.finfo``), if they do: a function with no rule is
        called as the function calls it, which printed source can run."""
        if getattr(obj, "__module__", None) == "builtins":
            return False  # isinstance, int: by their own names
        base, *rest = path.split(".")
        if base in self.scope and self._usable(base) and _leads_to(self.scope[base], rest, obj):
            module = ("object", id(self.scope[base]))
            self._bind(module, base, "object", self.scope[base])
            self._names.setdefault(("object", id(obj)), ".".join([self._names[module], *rest]))
            return True
        reached = self._reached(obj)
        if reached is not None:
            self._names.setdefault(("object", id(obj)), reached)
        return reached is not None

    def _usable(self, name: str) -> bool:
        """Whether the code may read the module's global ``name`` under that name."""
        return name not in self.taken or self._names.get(("global", name)) == name

    def _reached(self, obj) -> str | None:
        """How the module's globals reach ``obj``: a name bound to it, or ``m.attr`` through a
        module ``m`` it binds (``math.cos``, ``s2sad.runtime.conform``); ``None`` if they do not."""
        for name, value in self.scope.items():
            if value is obj and self._usable(name) and name.isidentifier():
                self._bind(("object", id(obj)), name, "object", obj)
                return name
        attr, module = getattr(obj, "__name__", None), getattr(obj, "__module__", None)
        if not isinstance(attr, str) or not isinstance(module, str):
            return None
        parts = module.split(".")
        for i in range(len(parts), 0, -1):
            base = sys.modules.get(".".join(parts[:i]))
            path = [*parts[i:], attr]
            if base is None or not _leads_to(base, path, obj):
                continue
            bound = self._names.get(("object", id(base)))
            if bound is None:
                bound = next(
                    (
                        n
                        for n, v in self.scope.items()
                        if v is base and self._usable(n) and n.isidentifier()
                    ),
                    None,
                )
                if bound is None:
                    continue
                self._bind(("object", id(base)), bound, "object", base)
            return ".".join([bound, *path])
        return None

    def function_name(self, name: str) -> str:
        """The name the generated function called ``name`` is defined and called by."""
        return self._functions.get(name, name)

    def name_of(self, thing) -> str:
        """The name a called primitive or a reference goes by in this namespace."""
        if isinstance(thing, Primitive):
            if thing.impl is None:  # a function generated beside this one
                return self.function_name(thing.symbol)
            if thing.module:
                return f"{self._names[('object', id(sys.modules[thing.module]))]}.{thing.symbol}"
            return self._names[("object", id(thing.impl))]
        if thing.origin == "global":
            return thing.name
        if thing.origin == "closure":
            return self._names[("closure", thing.name)]
        if thing.module in MODULE_ALIASES:
            return f"{self._names[('object', id(sys.modules[thing.module]))]}.{thing.name}"
        return self._names[("object", id(thing.obj))]


def function_source(fn: Function, names: Namespace, comments: bool = True) -> str:
    """Unformatted Python source of ``fn`` (run :func:`black_format` on it)."""
    first_default = len(fn.params) - len(fn.defaults)
    params = [
        p if i < first_default else f"{p}={format_const(fn.defaults[i - first_default].value)}"
        for i, p in enumerate(fn.params)
    ]
    if fn.keyword_only:
        params.insert(len(params) - fn.keyword_only, "*")
    lines = [f"def {names.function_name(fn.name)}({', '.join(params)}):"]
    if fn.doc:
        lines.append(f'    """{fn.doc}"""')
    lines.extend(_block_lines(fn.body, "    ", names, comments, [None]))
    return "\n".join(lines) + "\n"


def _block_lines(
    body: list, indent: str, names: Namespace, comments: bool, last_line: list
) -> list:
    """The lines of a block; ``last_line`` holds the source line last quoted in a comment."""
    lines = []
    for stmt in body:
        if isinstance(stmt, Comment):
            lines.append(f"{indent}# {stmt.text}")
            last_line[0] = None
            continue
        if comments and stmt.loc is not None and (stmt.loc.filename, stmt.loc.line) != last_line[0]:
            last_line[0] = (stmt.loc.filename, stmt.loc.line)
            lines.append(f"{indent}# {_where(stmt.loc, names.home)}: {stmt.loc.text.strip()}")
        if isinstance(stmt, Assign):
            lines.extend(_assignment(stmt, names.name_of, indent))
        elif isinstance(stmt, Effect):
            lines.append(f"{indent}{format_expr(stmt.value, names.name_of)}")
        elif isinstance(stmt, Return):
            lines.append(f"{indent}return {format_structure(stmt.value, names.name_of)}")
        elif isinstance(stmt, If):
            then, orelse, cond = stmt.then, stmt.orelse, stmt.cond
            if not then:  # `if not c:` reads better than `if c: pass else:`
                then, orelse, cond = orelse, [], CallExpr(NOT, (cond,))
            lines.append(f"{indent}if {format_expr(cond, names.name_of)}:")
            inner = indent + "    "
            lines.extend(_block_lines(then, inner, names, comments, last_line))
            if orelse:
                lines.append(f"{indent}else:")
                lines.extend(_block_lines(orelse, inner, names, comments, last_line))
            last_line[0] = None  # after a block, say again where the code comes from
        elif isinstance(stmt, Loop):
            lines.extend(_loop_lines(stmt, indent, names, comments, last_line))
        elif isinstance(stmt, Push):
            values = (
                format_structure(tuple(stmt.values), names.name_of)
                if len(stmt.values) > 1
                else None
            )
            text = f"({values})" if values else format_expr(stmt.values[0], names.name_of)
            lines.append(f"{indent}{stmt.tape.name}.append({text})")
        elif isinstance(stmt, Unpack):
            targets = ", ".join(t.name for t in stmt.targets)
            targets = f"({targets},)" if len(stmt.targets) == 1 else targets
            lines.append(f"{indent}{targets} = {format_expr(stmt.value, names.name_of)}")
        elif isinstance(stmt, Pop):
            targets = ", ".join(t.name for t in stmt.targets)
            lines.append(f"{indent}{targets} = next({stmt.tape.name})")
    return lines


def _where(loc, home: str) -> str:
    """``line 12``, or ``helpers.py, line 12`` for code inlined from another file."""
    if loc.filename == home:
        return f"line {loc.line}"
    return f"{os.path.basename(loc.filename)}, line {loc.line}"


def _parallel_assignment(targets: list, values: list, indent: str, name_of) -> list:
    """``a, b = x, y``: carried values all take their new values at once."""
    pairs = [(t, v) for t, v in zip(targets, values) if t != v]
    if not pairs:
        return []
    left = ", ".join(t.name for t, _ in pairs)
    right = ", ".join(format_expr(v, name_of) for _, v in pairs)
    return [f"{indent}{left} = {right}"]


def _loop_lines(loop: Loop, indent: str, names: Namespace, comments: bool, last_line: list) -> list:
    name_of = names.name_of
    lines = _parallel_assignment(loop.headers, loop.inits, indent, name_of)
    if loop.cond is not None:
        lines.append(f"{indent}while {loop.cond.name}:")
    else:
        targets = loop.target if isinstance(loop.target, tuple) else (loop.target,)
        target = ", ".join(t.name for t in targets)
        lines.append(f"{indent}for {target} in {format_expr(loop.iterable, name_of)}:")
    inner = indent + "    "
    body = _block_lines(loop.body, inner, names, comments, last_line)
    body += _parallel_assignment(loop.headers, loop.nexts, inner, name_of)
    if loop.exit is not None:  # after the carried values took the values they had when it stopped
        exit_now = isinstance(loop.exit, Const) and loop.exit.value
        body += (
            [f"{inner}break"]
            if exit_now
            else [f"{inner}if {format_expr(loop.exit, name_of)}:", f"{inner}    break"]
        )
    last_line[0] = None
    return lines + (body or [f"{inner}pass"])


def _assignment(stmt: Assign, name_of, indent: str) -> list:
    return [f"{indent}{stmt.target.name} = {format_expr(stmt.value, name_of)}"]


def module_source(
    functions: list, comments: bool = True, home: str = "", scope: dict | None = None
) -> tuple:
    """Black-formatted source of ``functions`` sharing one namespace, and that namespace. Comments
    quote source lines, naming the file when it is not ``home``. ``scope``, the globals of the
    functions' module, is where the printed source runs (see :class:`Namespace`)."""
    names = Namespace(functions, scope)
    names.home = home
    text = "\n\n".join(function_source(fn, names, comments) for fn in functions)
    if names.aliases:
        opening = "".join(f"{alias} = {name}\n" for alias, name in names.aliases)
        text = f"{opening}\n\n{text}"
    return black_format(text), names


def _leads_to(base, path: list, obj) -> bool:
    for attr in path:
        base = getattr(base, attr, None)
    return base is obj


def black_format(text: str) -> str:
    """``text`` as black formats it.

    The printer writes black's layout for every line that fits (spacing, ``x**2``, quotes,
    parentheses); :mod:`s2sad.layout` splits each line too long to fit as black would. Black itself
    runs only for a statement outside the grammar that module lays out; the test suite checks the
    output is black-stable.
    """
    lines = text.splitlines()
    out = []
    for line in lines:
        if len(line) <= LINE_LENGTH or _is_comment(line):
            out.append(line)
            continue
        try:
            out.extend(split_statement(line))
        except Unsupported:
            import black  # a rare statement: black is not imported with s2sad

            return black.format_str(text, mode=black.Mode())
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")
