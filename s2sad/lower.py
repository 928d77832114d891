"""Lower a parsed function to its SSA primal trace.

Each operation gets a fresh variable ``w1, w2, …`` in evaluation order, parameters first
(``w1 = x1``), exactly as the lecture notes number them. Reassignment and augmented assignment bind the
user's name to a new variable, so nothing is ever assigned twice; plain copies (``y = x``) and tuple
packing bind names without emitting code. Callees are resolved to primitives by identity.

Anything outside the supported language raises an :class:`~s2sad.errors.S2SADError` that points at the
construct, before any derivative work starts.

A function defined in a file lowers to (printed by :func:`s2sad.trace`)::

    def f(x1, x2):                      def f(x1, x2):
        return x1 * x2 + math.sin(x1)       w1 = x1
                                            w2 = x2
                                            w3 = w1 * w2
                                            w4 = sin(w1)
                                            w5 = w3 + w4
                                            return w5
"""

from __future__ import annotations

import ast
import inspect
import re
import types

import libcst as cst

from .branches import RESULT, RETURNED, BranchLowering, Unbound, merged_result
from .loops import LoopLowering
from .errors import S2SADError, UnknownFunctionError, UnsupportedSyntaxError
from .frontend import Scope, Source, load
from .ir import Assign, Call, Const, Effect, Expr, Function, Ref, Return, Var, check_trace
from .primitives import (
    ATTRIBUTE,
    BINARY_OPERATORS,
    FORMAT,
    PRINT,
    UNARY_OPERATORS,
    VARIADIC,
    primitive_for,
    supported_callables,
)
from .rules import RULES

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
}
_AUGMENTED = {
    cst.AddAssign: "+",
    cst.SubtractAssign: "-",
    cst.MultiplyAssign: "*",
    cst.DivideAssign: "/",
    cst.FloorDivideAssign: "//",
    cst.ModuloAssign: "%",
    cst.PowerAssign: "**",
}
_UNSUPPORTED_EXPRESSIONS = {
    cst.ListComp: "a list comprehension",
    cst.SetComp: "a set comprehension",
    cst.DictComp: "a dict comprehension",
    cst.GeneratorExp: "a generator expression",
    cst.Lambda: "a lambda inside the function",
    cst.List: "a list",
    cst.Dict: "a dict",
    cst.Set: "a set",
    cst.NamedExpr: "the walrus operator `:=`",
    cst.Await: "`await`",
    cst.Yield: "`yield` (a generator)",
    cst.Imaginary: "a complex number",
}
_UNSUPPORTED_STATEMENTS = {
    cst.With: "a `with` statement",
    cst.Try: "a `try` statement",
    cst.FunctionDef: "a function defined inside the function",
    cst.ClassDef: "a class defined inside the function",
    cst.Global: "a `global` declaration (writes to module variables)",
    cst.Nonlocal: "a `nonlocal` declaration (writes to outer variables)",
    cst.Del: "`del`",
    cst.Assert: "`assert`",
    cst.Raise: "`raise`",
    cst.Import: "an `import` inside the function (import at the top of the module instead)",
    cst.ImportFrom: "an `import` inside the function (import at the top of the module instead)",
    cst.Break: "`break`",
    cst.Continue: "`continue`",
}

Value = object  # an Expr, or a tuple of Values (a tuple the program builds)


def lower(fn: types.FunctionType) -> Function:
    """The SSA trace of ``fn``, checked against the trace invariant."""
    trace = Lowering(load(fn)).run()
    check_trace(trace)
    return trace


class Lowering(BranchLowering, LoopLowering):
    """One lowering of one function: the environment of names and the statements emitted so far."""

    def __init__(self, source: Source):
        self.source = source
        self.scope = Scope(source.function)
        self.env: dict[str, Value] = {}
        self.body: list = []
        self.count = 0
        names = _NameCollector()
        source.node.visit(names)
        self.local_names = names.assigned
        self.prefix = _fresh_prefix(names.all)

    # --- errors -----------------------------------------------------------------------------

    def error(
        self, node, message: str, hint: str = SUPPORTED, kind=UnsupportedSyntaxError
    ) -> S2SADError:
        return kind(message, self.source.location(node), hint)

    # --- the function -----------------------------------------------------------------------

    def run(self) -> Function:
        node = self.source.node
        fn = self.source.function
        params = self._parameters(node.params)
        for name in params:
            var = self.fresh(name)
            self.body.append(Assign(var, Var(name), self.source.location(node)))
            self.env[name] = var
        self.return_loc = self.source.location(node)
        if isinstance(node, cst.Lambda):
            self.env[RETURNED], self.env[RESULT] = Const(True), self.expr(node.body)
            self.return_loc = self.source.location(node.body)
        elif isinstance(node.body, cst.SimpleStatementSuite):  # def f(x): return x * x
            self.block([cst.SimpleStatementLine(body=node.body.body)])
        else:
            self.block(node.body.body)
        result = self.structure(merged_result(self, node), node)
        self.body.append(Return(result, self.return_loc))
        name = fn.__name__ if fn.__name__.isidentifier() else "lambda_fn"
        defaults = tuple(Const(v) for v in (fn.__defaults__ or ()))
        return Function(name, tuple(params), self.body, defaults)

    def _parameters(self, params: cst.Parameters) -> list:
        for extra, what in (
            (params.star_arg, "`*args`"),
            (params.star_kwarg, "`**kwargs`"),
        ):
            if isinstance(extra, cst.Param):
                raise self.error(
                    extra, f"{what} is not supported", "list the parameters one by one"
                )
        if params.kwonly_params:
            raise self.error(
                params.kwonly_params[0],
                "keyword-only parameters are not supported",
                "make them positional",
            )
        for default in self.source.function.__defaults__ or ():
            if not isinstance(default, (int, float, str, type(None))):
                param = [p for p in params.params if p.default is not None][0]
                raise self.error(
                    param,
                    f"a default value of type {type(default).__name__} is not supported",
                    "use a number, a string or None as the default",
                )
        return [p.name.value for p in (*params.posonly_params, *params.params)]

    def fresh(self, hint: str = "") -> Var:
        self.count += 1
        return Var(f"{self.prefix}{self.count}", hint)

    def emit(self, prim, args: tuple, node, hint: str = "", params: tuple = ()) -> Var:
        for arg, arg_node in zip(args, _arg_nodes(node, len(args))):
            self.atom(arg, arg_node)
        var = self.fresh(hint)
        self.body.append(Assign(var, Call(prim, tuple(args), params), self.source.location(node)))
        return var

    # --- statements -------------------------------------------------------------------------

    def block(self, statements) -> None:
        """Lower ``statements`` into the current block, stopping where every path has returned."""
        for index, stmt in enumerate(statements):
            if self.env.get(RETURNED) == Const(True):
                return  # unreachable after a return, as in Python
            if isinstance(stmt, cst.If):
                self.if_statement(stmt, list(statements[index + 1 :]))
                return
            if isinstance(stmt, cst.For):
                self.for_statement(stmt)
                continue
            if isinstance(stmt, cst.While):
                self.while_statement(stmt)
                continue
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if self.env.get(RETURNED) == Const(True):
                        return
                    self.statement(small)
            else:
                what = _UNSUPPORTED_STATEMENTS.get(
                    type(stmt), f"a `{type(stmt).__name__}` statement"
                )
                raise self.error(stmt, f"{what} is not supported yet")

    def statement(self, node) -> None:
        if isinstance(node, cst.Assign):
            hint = (
                node.targets[0].target.value if isinstance(node.targets[0].target, cst.Name) else ""
            )
            value = self.expr(node.value, hint)
            for target in node.targets:
                self.bind(target.target, value, node.value)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                hint = node.target.value if isinstance(node.target, cst.Name) else ""
                self.bind(node.target, self.expr(node.value, hint), node.value)
        elif isinstance(node, cst.AugAssign):
            self.augmented(node)
        elif isinstance(node, cst.Return):
            value = Const(None) if node.value is None else self.expr(node.value)
            where = node.value if node.value is not None else node
            self.env[RETURNED], self.env[RESULT] = Const(True), self.structure(value, where)
            if self.return_loc.line == self.source.location(self.source.node).line:
                self.return_loc = self.source.location(where)  # the first return, for messages
        elif isinstance(node, cst.Expr):
            self.expression_statement(node)
        elif isinstance(node, cst.Pass):
            pass
        else:
            what = _UNSUPPORTED_STATEMENTS.get(type(node), f"a `{type(node).__name__}` statement")
            raise self.error(node, f"{what} is not supported yet")

    def augmented(self, node: cst.AugAssign) -> None:
        if not isinstance(node.target, cst.Name):
            raise self.error(
                node.target,
                "augmented assignment to an attribute or item mutates a value in place",
                "assign to a new local variable instead",
            )
        symbol = _AUGMENTED.get(type(node.operator))
        if symbol is None:
            raise self.error(
                node, f"the operator `{node.operator.__class__.__name__}` is not supported"
            )
        name = node.target.value
        current = self.name(node.target)
        rhs = self.expr(node.value)
        self.env[name] = self.emit(BINARY_OPERATORS[symbol], (current, rhs), node, name)

    def expression_statement(self, node: cst.Expr) -> None:
        value = node.value
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis)):
            return  # a docstring or a placeholder
        if isinstance(value, cst.Call) and self.callee(value.func) is PRINT:
            self.print_call(value)
            return
        self.expr(value)  # evaluated for nothing: checked, then dropped as dead code

    def print_call(self, node: cst.Call) -> None:
        args, params = [], []
        for arg in node.args:
            if arg.keyword is not None:
                if arg.keyword.value not in ("sep", "end", "flush"):
                    raise self.error(
                        arg, f"print's `{arg.keyword.value}=` is not supported", "print to stdout"
                    )
                value = self.expr(arg.value)
                if not isinstance(value, Const):
                    raise self.error(
                        arg.value, "print's keyword arguments must be constants", "write a literal"
                    )
                params.append((arg.keyword.value, value.value))
            else:
                if arg.star:
                    raise self.error(
                        arg, "`*` in a call is not supported", "pass the arguments one by one"
                    )
                args.append(self.atom(self.expr(arg.value), arg.value))
        self.body.append(
            Effect(Call(PRINT, tuple(args), tuple(params)), self.source.location(node))
        )

    def bind(self, target, value: Value, value_node) -> None:
        if isinstance(target, cst.Name):
            self.env[target.value] = value
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = target.elements
            if any(isinstance(e, cst.StarredElement) for e in elements):
                raise self.error(
                    target, "starred unpacking is not supported", "unpack every element by name"
                )
            if not isinstance(value, tuple):
                raise self.error(
                    value_node, "cannot unpack a single value", "unpack a tuple of the same length"
                )
            if len(value) != len(elements):
                raise self.error(
                    value_node,
                    f"cannot unpack {len(value)} values into {len(elements)} names",
                    "make both sides the same length",
                )
            for element, item in zip(elements, value):
                self.bind(element.value, item, value_node)
        else:
            raise self.error(
                target,
                "assignment to an attribute or item mutates a value in place",
                "assign to a new local variable instead",
            )

    def structure(self, value: Value, node):
        """A returned value: one expression or a (nested) tuple of them."""
        if isinstance(value, tuple):
            return tuple(self.structure(v, node) for v in value)
        return self.atom(value, node)

    # --- expressions ------------------------------------------------------------------------

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
            return self.subscript(node)
        if isinstance(node, cst.IfExp):
            return self.if_expression(node, hint)
        if isinstance(node, cst.BooleanOperation):
            return self.boolean_operation(node, hint)
        if isinstance(node, cst.Comparison):
            return self.comparison(node, hint)
        if isinstance(node, cst.FormattedString):
            return self.formatted(node)
        what = _UNSUPPORTED_EXPRESSIONS.get(type(node), f"the expression `{type(node).__name__}`")
        raise self.error(node, f"{what} is not supported yet")

    def atom(self, value: Value, node) -> Expr:
        """``value`` as one operand: not a tuple, not a module or function."""
        if isinstance(value, tuple):
            raise self.error(
                node, "a tuple cannot be used as a number here", "unpack it or index it first"
            )
        if (
            isinstance(value, Ref)
            and callable(value.obj)
            or isinstance(value, Ref)
            and _is_module(value.obj)
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
                raise self.error(node, value.message(), "assign it before, on every path")
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
        return Ref(name, obj, "value" if kind == "builtin" else kind)

    def attribute(self, node: cst.Attribute, hint: str) -> Value:
        base = self.expr(node.value)
        attr = node.attr.value
        if isinstance(base, Ref) and _is_module(base.obj):
            if not hasattr(base.obj, attr):
                raise self.error(
                    node, f"module `{base.name}` has no attribute `{attr}`", "check the spelling"
                )
            return Ref(attr, getattr(base.obj, attr), "value")
        if isinstance(base, tuple):
            raise self.error(node, "attributes of a tuple are not supported", SUPPORTED)
        return self.emit(ATTRIBUTE, (base,), node, hint, (("attr", attr),))

    def binary(self, node: cst.BinaryOperation, hint: str) -> Value:
        symbol = _BINARY.get(type(node.operator))
        if symbol is None:
            op = node.operator.__class__.__name__
            raise self.error(node, f"the operator `{op}` is not supported yet", SUPPORTED)
        left = self.expr(node.left)
        right = self.expr(node.right)
        return self.emit(BINARY_OPERATORS[symbol], (left, right), node, hint)

    def unary(self, node: cst.UnaryOperation, hint: str) -> Value:
        if isinstance(node.operator, cst.Minus) and isinstance(
            node.expression, (cst.Integer, cst.Float)
        ):
            return Const(-ast.literal_eval(node.expression.value))  # a negative literal
        if isinstance(node.operator, cst.Minus):
            return self.emit(UNARY_OPERATORS["-"], (self.expr(node.expression),), node, hint)
        if isinstance(node.operator, cst.Plus):
            return self.emit(UNARY_OPERATORS["+"], (self.expr(node.expression),), node, hint)
        if isinstance(node.operator, cst.Not):
            return self.negation(node, hint)
        raise self.error(node, "bitwise `~` is not supported", SUPPORTED)

    def callee(self, func_node):
        """The primitive a call's function expression names, or raise a clear error."""
        target = self.expr(func_node) if isinstance(func_node, (cst.Name, cst.Attribute)) else None
        if not isinstance(target, Ref):
            raise self.error(func_node, "only functions named directly can be called", SUPPORTED)
        prim = primitive_for(target.obj)
        if prim is not None:
            return prim
        name = _dotted(func_node)
        if isinstance(target.obj, types.FunctionType):
            raise self.error(
                func_node,
                f"`{name}` is a Python function; calls to other functions are not differentiated yet",
                "inline its body into this function",
                UnknownFunctionError,
            )
        raise self.error(
            func_node,
            f"`{name}` has no derivative rule",
            "supported functions: " + ", ".join(supported_callables()),
            UnknownFunctionError,
        )

    def call(self, node: cst.Call, hint: str) -> Value:
        prim = self.callee(node.func)
        if prim is PRINT:
            raise self.error(
                node, "print(...) returns nothing useful here", "call print on a line of its own"
            )
        for arg in node.args:
            if arg.keyword is not None or arg.star:
                raise self.error(
                    arg, "keyword and `*` arguments are not supported", "pass values by position"
                )
        args = [self.expr(arg.value) for arg in node.args]
        low, high = _arity(prim.name)
        if not low <= len(args) <= high and not (prim.name in VARIADIC and len(args) > 2):
            expected = str(low) if low == high else f"{low} to {high}"
            if prim.name in VARIADIC:
                hint_text = "pass two or more numbers as separate arguments, not a sequence"
            else:
                hint_text = f"pass {expected} argument(s)"
            raise self.error(
                node,
                f"`{_dotted(node.func)}` takes {expected} argument(s), got {len(args)}",
                hint_text,
            )
        if prim.name in VARIADIC:  # max(a, b, c) == max(max(a, b), c), ties still going left
            result = args[0]
            for arg in args[1:]:
                result = self.emit(prim, (result, arg), node, hint)
            return result
        return self.emit(prim, tuple(args), node, hint)

    def tuple(self, node: cst.Tuple) -> tuple:
        if any(isinstance(e, cst.StarredElement) for e in node.elements):
            raise self.error(
                node, "starred elements are not supported", "list the elements one by one"
            )
        return tuple(self.expr(e.value) for e in node.elements)

    def subscript(self, node: cst.Subscript) -> Value:
        base = self.expr(node.value)
        index = None
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            index = self.expr(node.slice[0].slice.value)
        if isinstance(base, tuple) and isinstance(index, Const) and isinstance(index.value, int):
            if -len(base) <= index.value < len(base):
                return base[index.value]
            raise self.error(
                node, f"index {index.value} is out of range for a tuple of {len(base)}", ""
            )
        raise self.error(
            node, "indexing is supported only on tuples, with a constant integer", SUPPORTED
        )

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


class _NameCollector(cst.CSTVisitor):
    """Every identifier in the function, and those it assigns (which Python makes local)."""

    def __init__(self):
        self.all: set = set()
        self.assigned: set = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.all.add(node.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.assigned.update(_target_names(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.assigned.update(_target_names(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.assigned.update(_target_names(node.target))


def _target_names(target) -> list:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for e in target.elements for name in _target_names(e.value)]
    return []


def _fresh_prefix(names: set) -> str:
    """``w`` as in the notes, unless the function already uses names like ``w1``."""
    for prefix in ("w", "v", "t", "u", "z"):
        if not any(re.fullmatch(rf"{prefix}\d+\w*", name) for name in names):
            return prefix
    return "ssa_w"


def _arity(name: str) -> tuple:
    """How many positional arguments a primitive's rule accepts: (fewest, most)."""
    params = [p for p in inspect.signature(RULES[name]).parameters.values() if p.name != "out"]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 1, 10**6
    return sum(p.default is p.empty for p in params), len(params)


def _arg_nodes(node, count: int) -> list:
    """The CST nodes of an emitted operation's operands, for error carets (the node itself if unknown)."""
    if isinstance(node, cst.BinaryOperation):
        return [node.left, node.right]
    if isinstance(node, cst.Call):
        return [a.value for a in node.args][:count] + [node] * max(0, count - len(node.args))
    if isinstance(node, cst.UnaryOperation):
        return [node.expression]
    if isinstance(node, cst.AugAssign):
        return [node.target, node.value]
    return [node] * count


def _dotted(node) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return "this"


def _is_module(obj) -> bool:
    return isinstance(obj, types.ModuleType)
