"""Lowering of expressions: names, constants, attributes, arithmetic, tuples, dicts, f-strings.

Each operation is emitted as one statement with a fresh variable (``w3 = w1 * w2``); a name resolves
to the value it holds now (the environment), or, for a name the function does not assign, to the
object Python would find in the closure, the module or the builtins.
"""

from __future__ import annotations

import ast
import types

import libcst as cst

from .branches import Unbound
from .callables import is_callable_object
from .ir import Assign, Call, Const, Expr, ListValue, Ref, Var
from .records import Record
from .sequences import FIXED_CONTAINERS, GROWING
from .primitives import ATTRIBUTE, BINARY_OPERATORS, FORMAT, UNARY_OPERATORS
from .reals import HINT as COMPLEX_HINT

SUPPORTED = (
    "s2sad differentiates assignments (also `+=` and tuple unpacking), arithmetic `+ - * / ** // %`, "
    "calls to math functions and abs/max/min/pow, `if`/`elif`/`else` and conditional expressions, "
    "`for` over range(...) or a tuple, `while`, print(...) and `return`"
)

_BINARY = {
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.FloorDivide: "//",
    cst.Modulo: "%",
    cst.Power: "**",
    cst.MatrixMultiply: "@",
}
_UNSUPPORTED_EXPRESSIONS = {
    cst.SetComp: "a set comprehension",
    cst.Set: "a set",
    cst.NamedExpr: "the walrus operator `:=`",
    cst.Await: "`await`",
    cst.Yield: "`yield` (a generator)",
}
Value = object  # an Expr, or a tuple of Values (a tuple the program builds)


class ExpressionLowering:
    """The expression-lowering part of :class:`s2sad.lower.Lowering`."""

    def expr(self, node, hint: str = "") -> Value:
        if isinstance(node, (cst.Integer, cst.Float)):
            return Const(ast.literal_eval(node.value))
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            return Const(node.evaluated_value)
        if isinstance(node, cst.Name):
            return self.name(node)
        if isinstance(node, cst.Attribute):
            return self.attribute(node, hint)
        if isinstance(node, cst.BinaryOperation):
            return self.binary(node, hint)
        if isinstance(node, cst.UnaryOperation):
            return self.unary(node, hint)
        if isinstance(node, cst.Call):
            return self.call(node, hint)
        if isinstance(node, cst.Tuple):
            return self.tuple(node)
        if isinstance(node, cst.Subscript):
            return self.subscript(node, hint)
        if isinstance(node, cst.IfExp):
            return self.if_expression(node, hint)
        if isinstance(node, cst.BooleanOperation):
            return self.boolean_operation(node, hint)
        if isinstance(node, cst.Comparison):
            return self.comparison(node, hint)
        if isinstance(node, cst.List):
            return self.list_display(node)
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            return self.comprehension(node)
        if isinstance(node, cst.Dict):
            return self.dict_display(node)
        if isinstance(node, cst.DictComp):
            return self.dict_comprehension(node)
        if isinstance(node, cst.Lambda):
            return self.local_function(node, hint or "lambda")
        if isinstance(node, cst.FormattedString):
            return self.formatted(node)
        if isinstance(node, cst.Imaginary):
            raise self.error(node, f"`{node.value}` is a complex number", COMPLEX_HINT)
        what = _UNSUPPORTED_EXPRESSIONS.get(type(node), f"the expression `{type(node).__name__}`")
        raise self.error(node, f"{what} is not supported yet")

    def atom(self, value: Value, node) -> Expr:
        """``value`` as one operand: not a tuple, not a module or function."""
        if isinstance(value, tuple):
            what = "list" if isinstance(value, ListValue) else "tuple"
            raise self.error(
                node, f"a {what} cannot be used as a number here", "unpack it or index it first"
            )
        if isinstance(value, Record):
            raise self.error(
                node,
                f"{value.describe()} cannot be used as a number here",
                'read one of its entries: `params["key"]` or `p.field`',
            )
        if (
            not isinstance(value, Expr)
            or isinstance(value, Ref)
            and (callable(value.obj) and not is_callable_object(value.obj) or _is_module(value.obj))
        ):
            raise self.error(
                node, f"`{value.name}` is a function or module, not a value", SUPPORTED
            )
        return value

    def name(self, node: cst.Name) -> Value:
        name = node.value
        if name in self.env:
            value = self.env[name]
            if isinstance(value, Unbound):
                raise self.error(node, value.message(), value.hint)
            return value
        if name in ("True", "False", "None"):
            return Const({"True": True, "False": False, "None": None}[name])
        if name in self.local_names:
            raise self.error(
                node, f"local variable `{name}` is used before it is assigned", "assign it first"
            )
        kind, obj = self.scope.lookup(name)
        if kind is None:
            raise self.error(
                node, f"name `{name}` is not defined", "define it in the module or the function"
            )
        return Ref(name, obj, self.origin(kind, name))

    def attribute(self, node: cst.Attribute, hint: str) -> Value:
        base = self.expr(node.value)
        attr = node.attr.value
        if isinstance(base, Ref) and _is_module(base.obj):
            if not hasattr(base.obj, attr):
                raise self.error(
                    node, f"module `{base.name}` has no attribute `{attr}`", "check the spelling"
                )
            obj = self.scope.attribute(base.obj, attr)
            return Ref(attr, obj, "value", base.obj.__name__)
        field = self.record_field(node, base, attr)
        if field is not None:
            return field
        if isinstance(base, tuple):
            hint = GROWING if attr in ("append", "extend", "insert") else FIXED_CONTAINERS
            raise self.error(node, f"`.{attr}` of a list or tuple is not supported", hint)
        array_attribute = self.array_attribute(self.atom(base, node.value), attr, node, hint)
        if array_attribute is not None:
            return array_attribute
        return self.emit(ATTRIBUTE, (base,), node, hint, (("attr", attr),))

    def binary(self, node: cst.BinaryOperation, hint: str) -> Value:
        symbol = _BINARY.get(type(node.operator))
        if symbol is None:
            op = node.operator.__class__.__name__
            raise self.error(node, f"the operator `{op}` is not supported yet", SUPPORTED)
        left = self.expr(node.left)
        right = self.expr(node.right)
        if isinstance(left, tuple) or isinstance(right, tuple):  # [a] + [b], (a,) * 2
            return self.sequence_arithmetic(node, symbol, left, right)
        if symbol in _INTEGER_ARITHMETIC and _integer(left) and _integer(right):
            if symbol not in ("//", "%") or right.value != 0:  # len(p) - 1: a length, an index
                return Const(BINARY_OPERATORS[symbol].impl(left.value, right.value))
        return self.emit(BINARY_OPERATORS[symbol], (left, right), node, hint)

    def unary(self, node: cst.UnaryOperation, hint: str) -> Value:
        if isinstance(node.operator, cst.Minus) and isinstance(
            node.expression, (cst.Integer, cst.Float)
        ):
            return Const(-ast.literal_eval(node.expression.value))  # a negative literal
        if isinstance(node.operator, cst.Minus):
            operand = self.expr(node.expression)
            if _constant_number(operand):  # -np.inf, -math.pi: a constant too, as an argument
                return Const(-operand.obj)  # that must be one (an ``ord``, an ``axis``) needs
            return self.emit(UNARY_OPERATORS["-"], (operand,), node, hint)
        if isinstance(node.operator, cst.Plus):
            return self.emit(UNARY_OPERATORS["+"], (self.expr(node.expression),), node, hint)
        if isinstance(node.operator, cst.Not):
            return self.negation(node, hint)
        raise self.error(node, "bitwise `~` is not supported", SUPPORTED)

    def tuple(self, node: cst.Tuple) -> tuple:
        if any(isinstance(e, cst.StarredElement) for e in node.elements):
            raise self.error(
                node, "starred elements are not supported", "list the elements one by one"
            )
        return tuple(self.expr(e.value) for e in node.elements)

    def subscript(self, node: cst.Subscript, hint: str = "") -> Value:
        base = self.expr(node.value)
        if isinstance(base, Const) and type(base.value) is tuple:  # X.shape[1] of a known shape
            part = node.slice[0].slice if len(node.slice) == 1 else None
            if isinstance(part, cst.Slice) or _integer(self.expr(part.value)):
                base = tuple(Const(v) for v in base.value)
        if isinstance(base, tuple):
            return self.index(node, base)
        entry = self.record_item(node, base)
        if entry is not None:
            return entry
        return self.array_index(node, self.atom(base, node.value), hint)

    def formatted(self, node: cst.FormattedString) -> Var:
        parts, args = [], []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
                continue
            spec = part.format_spec or ()
            if any(not isinstance(s, cst.FormattedStringText) for s in spec):
                raise self.error(
                    part, "nested fields in a format spec are not supported", "write the spec out"
                )
            args.append(self.atom(self.expr(part.expression), part.expression))
            parts.append(
                (part.conversion, "".join(s.value for s in spec) if part.format_spec else None)
            )
        params = (("start", node.start), ("end", node.end), ("parts", tuple(parts)))
        var = self.fresh()
        self.body.append(Assign(var, Call(FORMAT, tuple(args), params), self.source.location(node)))
        return var


_INTEGER_ARITHMETIC = ("+", "-", "*", "//", "%")


def _integer(value) -> bool:
    """Whether ``value`` is an integer constant: arithmetic on such is done while lowering, so a
    length or an index computed from constants is one too (``p[i + 1]`` in an unrolled loop)."""
    return isinstance(value, Const) and type(value.value) is int


def _constant_number(value) -> bool:
    """Whether ``value`` is a number fixed when the function is lowered (``np.inf``, ``math.pi``),
    not a module global, which the code reads when it runs."""
    return (
        isinstance(value, Ref)
        and value.origin == "value"
        and isinstance(value.obj, (int, float))
        and not isinstance(value.obj, bool)
    )


def _dotted(node) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return "this"


def _is_module(obj) -> bool:
    return isinstance(obj, types.ModuleType)
