"""Print IR expressions as Python source, with the fewest parentheses precedence needs and the
spacing black uses (``x**2`` between simple operands, ``-(x**2)``, double quotes), so generated code
is already in black's layout.

>>> from s2sad.ir import Call, Const, Var
>>> from s2sad.primitives import PRIMITIVES
>>> print(format_expr(Call(PRIMITIVES["mul"], (Var("w1"), Call(PRIMITIVES["add"], (Var("w2"), Const(1)))))))
w1 * (w2 + 1)
"""

from __future__ import annotations

import math
from typing import Callable

from .ir import (
    Built,
    ListValue,
    PREC_ATOM,
    PREC_COMPARE,
    PREC_NOT,
    PREC_POWER,
    PREC_SELECT,
    PREC_UNARY,
    Call,
    Const,
    Expr,
    Primitive,
    Ref,
    Structure,
    Var,
)


def format_const(value: object) -> str:
    if isinstance(value, tuple):
        items = [format_const(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    text = repr(value)
    if isinstance(value, str) and text[0] == "'" and '"' not in text:
        return f'"{text[1:-1]}"'  # black's preference, when it needs no more escapes
    return text


def format_expr(expr: Expr, name_of: Callable[[Primitive], str] | None = None) -> str:
    """Python source for ``expr``, with the parentheses precedence requires and no more.

    ``name_of`` gives the name a called primitive or a :class:`Ref` goes by in the generated code; by
    default its preferred name (``sin``).
    """
    return _format(expr, name_of or _preferred_name)[0]


MODULE_ALIASES = {"numpy": "np"}  # the names modules go by in generated code, as users write them


def _preferred_name(thing) -> str:
    if not isinstance(thing, Primitive):
        alias = MODULE_ALIASES.get(thing.module)
        return f"{alias}.{thing.name}" if alias else thing.name
    return f"{MODULE_ALIASES[thing.module]}.{thing.symbol}" if thing.module else thing.symbol


def _format(expr: Expr, name_of) -> tuple[str, int]:
    if isinstance(expr, Var):
        return expr.name, PREC_ATOM
    if isinstance(expr, Ref):
        return name_of(expr), PREC_ATOM
    if isinstance(expr, Const):
        text = format_const(expr.value)
        negative = isinstance(expr.value, (int, float)) and text.startswith("-")
        return text, PREC_UNARY if negative else PREC_ATOM
    prim = expr.prim

    def sub(arg: Expr, least: int) -> str:
        text, prec = _format(arg, name_of)
        return f"({text})" if prec < least else text

    if prim.style == "infix":
        p = prim.precedence
        left, right = expr.args
        if prim.precedence == PREC_POWER:  # right-associative; a unary operand on the left needs ()
            op = "**" if _simple_base(left) and _simple_exponent(right) else " ** "
            return f"{sub(left, PREC_POWER + 1)}{op}{sub(right, PREC_UNARY)}", p
        if p == PREC_COMPARE:  # comparisons chain in Python: parenthesise both sides
            return f"{sub(left, p + 1)} {prim.symbol} {sub(right, p + 1)}", p
        return f"{sub(left, p)} {prim.symbol} {sub(right, p + 1)}", p
    if prim.style == "prefix" and prim.precedence == PREC_NOT:
        return f"not {sub(expr.args[0], PREC_NOT)}", PREC_NOT
    if prim.style == "prefix":  # -(x**2), not -x**2: the form black writes, and clearer
        operand = expr.args[0]
        least = (
            PREC_POWER + 1
            if isinstance(operand, Call) and operand.prim.precedence == PREC_POWER
            else PREC_UNARY
        )
        return f"{prim.symbol}{sub(operand, least)}", PREC_UNARY
    if prim.style == "select":
        cond, then, other = expr.args
        text = f"{sub(then, PREC_SELECT + 1)} if {sub(cond, PREC_SELECT + 1)} else {sub(other, PREC_SELECT)}"
        return text, PREC_SELECT
    if prim.style == "attr":
        return f"{sub(expr.args[0], PREC_ATOM)}.{dict(expr.params)['attr']}", PREC_ATOM
    if prim.style == "empty":
        return prim.symbol, PREC_ATOM
    if prim.style == "index":
        return f"{sub(expr.args[0], PREC_ATOM)}[{_format_index(expr, name_of)}]", PREC_ATOM
    if prim.style == "tuple":
        return _format_item(expr.args, name_of), PREC_ATOM
    if prim.style == "fstring":
        return _format_fstring(expr, name_of), PREC_ATOM
    if prim.style == "raise":  # a statement: raise ValueError(w3), raise KeyError from None
        return _format_raise(expr, name_of), PREC_ATOM
    args = [format_expr(arg, name_of) for arg in expr.args]
    if prim.named:  # np.average(w1, weights=w2): the last operands by keyword, unless None
        first = len(args) - len(prim.named)
        given = zip(prim.named, args[first:], expr.args[first:])
        args = args[:first] + [f"{key}={text}" for key, text, arg in given if arg != Const(None)]
    if prim.style == "packed":  # np.stack([a, b], axis=0)
        args = [f"[{', '.join(args)}]"]
    keywords = [f"{key}={_format_param(value, name_of)}" for key, value in expr.params]
    if prim.style == "method":  # x.astype(float)
        return (
            f"{sub(expr.args[0], PREC_ATOM)}.{prim.symbol}({', '.join(args[1:] + keywords)})",
            PREC_ATOM,
        )
    return f"{name_of(prim)}({', '.join(args + keywords)})", PREC_ATOM


def _format_param(value, name_of) -> str:
    return name_of(value) if isinstance(value, Ref) else format_const(value)


def _format_index(expr: Call, name_of) -> str:
    """``i, 1:n, ::2`` from an index's layout (``params["index"]``) and its values (``args[1:]``)."""
    values = iter(expr.args[1:])
    parts = []
    for item in dict(expr.params)["index"]:
        if item == "value":
            parts.append(format_expr(next(values), name_of))
        elif item is None:
            parts.append("None")
        elif item is Ellipsis:
            parts.append("...")
        else:  # a slice: which of start, stop and step it has
            bounds = [format_expr(next(values), name_of) if has else "" for has in item]
            parts.append(":".join(bounds[:2]) + (f":{bounds[2]}" if item[2] else ""))
    return ", ".join(parts) if len(parts) != 1 or parts[0] else "()"


def _simple_base(expr: Expr) -> bool:
    """Whether black writes ``x**2`` rather than ``x ** 2`` for this left operand: a name, a
    non-negative number, or an attribute chain of those."""
    if isinstance(expr, (Var, Ref)):
        return True
    if isinstance(expr, Const):
        return (
            isinstance(expr.value, (int, float)) and math.isfinite(expr.value) and expr.value >= 0
        )
    return isinstance(expr, Call) and expr.prim.style == "attr" and _simple_base(expr.args[0])


def _simple_exponent(expr: Expr) -> bool:
    """The same for a right operand, which may also carry a unary sign or start a power chain."""
    if isinstance(expr, Const):
        return isinstance(expr.value, (int, float)) and math.isfinite(expr.value)
    if isinstance(expr, Call) and expr.prim.style == "prefix":
        return _simple_base(expr.args[0])
    if isinstance(expr, Call) and expr.prim.precedence == PREC_POWER:
        return _simple_base(expr.args[0])
    return _simple_base(expr)


def _format_fstring(expr: Call, name_of) -> str:
    params = dict(expr.params)
    args = iter(expr.args)
    text = []
    for part in params["parts"]:
        if isinstance(part, str):
            text.append(part)
            continue
        conversion, spec = part
        field_text = format_expr(next(args), name_of)
        text.append(
            "{"
            + field_text
            + (f"!{conversion}" if conversion else "")
            + (f":{spec}" if spec is not None else "")
            + "}"
        )
    start, end, body = params["start"], params["end"], "".join(text)
    if end == "'" and '"' not in body and "\\" not in body:  # black's quote preference
        start, end = start[:-1] + '"', '"'
    return start + body + end


def _format_raise(expr: Call, name_of) -> str:
    params = dict(expr.params)
    cls, *args = (format_expr(arg, name_of) for arg in expr.args)
    built = f"{cls}({', '.join(args)})" if params.get("called") else cls
    return f"raise {built}" + (" from None" if params.get("from_none") else "")


def format_structure(value: Structure, name_of=None) -> str:
    """Source for an output: ``w5``; ``w5, w8`` for a tuple; nested tuples and 1-tuples in
    parentheses; ``[w5, w8]`` for a list; ``{"a": w5}`` for a dict, ``Out(y=w5)`` for a dataclass
    or named tuple (fields by name, in the class's order, so the reader need not count them)."""
    name_of = name_of or _preferred_name
    if isinstance(value, tuple) and not isinstance(value, ListValue) and len(value) > 1:
        return ", ".join(_format_item(item, name_of) for item in value)
    return _format_item(value, name_of)


def _format_item(value: Structure, name_of) -> str:
    if isinstance(value, Built):
        items = [_format_item(item, name_of) for item in value.items]
        if value.cls is None:
            entries = (f"{format_const(k)}: {item}" for k, item in zip(value.keys, items))
            return "{" + ", ".join(entries) + "}"
        arguments = ", ".join(f"{k}={item}" for k, item in zip(value.keys, items))
        return f"{name_of(value.cls)}({arguments})"
    if not isinstance(value, tuple):
        return format_expr(value, name_of)
    if isinstance(value, ListValue):
        return "[" + ", ".join(_format_item(item, name_of) for item in value) + "]"
    if len(value) == 1:
        return f"({_format_item(value[0], name_of)},)"
    return "(" + ", ".join(_format_item(item, name_of) for item in value) + ")"
