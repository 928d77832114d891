"""Lower a parsed function to its SSA primal trace: the function, its statements and its names.

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

import re
import types

import libcst as cst

from .branches import (
    BROKE,
    CONTINUED,
    RESULT,
    RETURNED,
    BranchLowering,
    has_exited,
    merged_result,
)
from .array_lowering import ArrayLowering
from .binding import ArgumentBinding, Parameters, parameters_of
from .calling import parameter_names
from .calls import CallLowering, lowered_default
from .checks import CheckLowering
from .contexts import ContextLowering
from .item_updates import ItemUpdateLowering
from .nones import IdentityLowering
from .opaque import OpaqueLowering, is_opaque
from .constructors import ConstructorLowering
from .errors import S2SADError, UnsupportedSyntaxError
from .expressions import SUPPORTED, ExpressionLowering, Value
from .frontend import Scope, Source, load
from .provenance import distinct
from .ir import Assign, Call, Const, Function, ListValue, Ref, Return, Var
from .traversal import check_trace, defines, refs_used, walk
from .lengths import LengthLowering
from .loops import LoopLowering
from .primitives import BINARY_OPERATORS, PRINT
from .reals import HINT, describe, is_complex
from .records import RecordLowering
from .sequences import SequenceLowering, grows_a_list

_AUGMENTED = {
    cst.AddAssign: "+",
    cst.SubtractAssign: "-",
    cst.MultiplyAssign: "*",
    cst.DivideAssign: "/",
    cst.FloorDivideAssign: "//",
    cst.ModuloAssign: "%",
    cst.PowerAssign: "**",
}
_UNSUPPORTED_STATEMENTS = {
    cst.Try: "a `try` statement",
    cst.ClassDef: "a class defined inside the function",
    cst.Global: "a `global` declaration (writes to module variables)",
    cst.Nonlocal: "a `nonlocal` declaration (writes to outer variables)",
    cst.Del: "`del`",
    cst.Import: "an `import` inside the function (import at the top of the module instead)",
    cst.ImportFrom: "an `import` inside the function (import at the top of the module instead)",
}


def lower(fn: types.FunctionType, structures=None) -> Function:
    """The SSA trace of ``fn``, checked against the trace invariant. ``structures`` pairs each
    structured parameter with its :class:`~s2sad.trees.Tree`; ``None`` if they are not known yet."""
    avoid: set = set()
    while True:
        trace = Lowering(load(fn), structures=structures, avoid=avoid).run()
        # A module global an inlined function reads by name may be spelled like one of the trace's
        # variables (`w2`): lower again with another letter.
        clash = _globals_named_like_variables(trace)
        if not clash:
            break
        avoid |= clash
    check_trace(trace)
    return trace


def _globals_named_like_variables(trace: Function) -> set:
    read = {ref.name for ref in refs_used(trace) if ref.origin == "global"}
    return read & ({v.name for s in walk(trace.body) for v in defines(s)} | set(trace.params))


class Lowering(
    ExpressionLowering,
    CallLowering,
    ArgumentBinding,
    ArrayLowering,
    SequenceLowering,
    BranchLowering,
    LoopLowering,
    RecordLowering,
    LengthLowering,
    ConstructorLowering,
    CheckLowering,
    OpaqueLowering,
    IdentityLowering,
    ContextLowering,
    ItemUpdateLowering,
):
    """One lowering of one function: the environment of names and the statements emitted so far."""

    def __init__(
        self, source: Source, caller: "Lowering | None" = None, key=None, structures=None, avoid=()
    ):
        self.source = source
        self.env: dict[str, Value] = {}
        names = _NameCollector()
        source.node.visit(names)
        self.local_names = names.assigned
        self.return_loc = source.location(source.node)
        self.caller = caller
        self.loop_bodies: list = []  # the CST bodies of the loops being lowered, outermost first
        self.arguments_bound: list = []  # the structures bound to parameters (see grow_list)
        if caller is None:
            self.sources: dict = {}  # variable name -> its definition, for the arrays written into
            self.in_place: list = []  # see Function.in_place
            self.loop_targets: dict = {}  # a range loop's variable -> the loop's line
            self.arguments: set = set()  # the parameters: the caller's values
            self.body: list = []
            self.count = 0
            self.prefix = _fresh_prefix(names.all | set(avoid))
            self.calling: tuple = (source.function.__code__,)
            self.root_globals = source.function.__globals__
            code = source.function.__code__
            self.root_params = set(parameter_names(code))
            self.structures = structures
            self.parameter_vars: dict = {}  # variable -> parameter, for those not yet structured
            self.leaf_vars: dict = {}  # variable -> the generated parameter it is bound to
            self.lengths_read: dict = {}  # see LengthLowering.check_lengths
            self.reads: list = []  # see Function.reads
        else:  # an inlined callee: its statements and numbering continue the caller's
            self.body = caller.body
            self.sources = caller.sources
            self.in_place = caller.in_place
            self.loop_targets = caller.loop_targets
            self.arguments = caller.arguments
            self.fresh = caller.fresh
            self.calling = caller.calling + (key,)
            self.root_globals = caller.root_globals
            self.root_params = caller.root_params
            self.structures = caller.structures
            self.parameter_vars = caller.parameter_vars
            self.leaf_vars = caller.leaf_vars
            self.lengths_read = caller.lengths_read
            self.reads = caller.reads
        # What this function's names resolve to is recorded; the generated code reads again
        # when it runs those `origin` does not bind as values.
        relative = source.function.__code__ is self.calling[0]
        live = lambda kind, name: self.origin(kind, name) != "value"  # noqa: E731
        self.scope = Scope(source.function, self.reads, relative, live)

    def origin(self, kind: str, name: str) -> str:
        """How generated code reaches an outside name of this function (see ``ir.Ref``). The
        generated code runs with the outermost function's globals, so an inlined function's globals
        and closure values are bound when the code is loaded, and so is a global of its module
        that the outermost function's parameter of the same name would hide."""
        if kind == "builtin":
            return "value"
        if (
            kind == "global"
            and self.source.function.__globals__ is self.root_globals
            and name not in self.root_params
        ):
            return "global"
        if kind == "closure" and len(self.calling) == 1:
            return "closure"
        return "value"

    # --- errors -----------------------------------------------------------------------------

    def error(
        self, node, message: str, hint: str = SUPPORTED, kind=UnsupportedSyntaxError
    ) -> S2SADError:
        return kind(message, self.source.location(node), hint)

    # --- the function -----------------------------------------------------------------------

    def run(self) -> Function:
        node = self.source.node
        fn = self.source.function
        # The entry points fill in left-out arguments, so a default may be any value.
        signature = self._parameters(node.params, ())
        names = list(signature.names)
        self._require_structures(signature, node.params)
        params = self.bind_parameters(names, node)
        self.return_loc = self.source.location(node)
        if isinstance(node, cst.Lambda):
            self.env[RETURNED], self.env[RESULT] = Const(True), self.expr(node.body)
            self.return_loc = self.source.location(node.body)
        elif isinstance(node.body, cst.SimpleStatementSuite):  # def f(x): return x * x
            self.block([cst.SimpleStatementLine(body=node.body.body)])
        else:
            self.block(node.body.body)
        result = self.output(merged_result(self, node), node)
        self.check_lengths()
        self.body.append(Return(result, self.return_loc))
        name = fn.__name__ if fn.__name__.isidentifier() else "lambda_fn"
        return Function(
            name,
            tuple(params),
            self.body,
            self._shown_defaults(names),
            # shown as in `def f(x, *, k)` where each parameter is one value
            keyword_only=len(signature.keyword_only) if tuple(params) == tuple(names) else 0,
            in_place=tuple(self.in_place),
            reads=distinct(self.reads),
        )

    def _shown_defaults(self, params: list) -> tuple:
        """The defaults the generated signatures show (``k=2.0``), where each is a number, a string
        or None, of a parameter not taken apart as a structure; else none."""
        fn = self.source.function
        code = fn.__code__
        if len(params) != code.co_argcount + code.co_kwonlyargcount:
            return ()  # `*args`, `**kwargs`: the code takes every one by position
        values = self.scope.attribute(fn, "__defaults__") if fn.__defaults__ else ()
        if code.co_kwonlyargcount:  # shown when the defaults are trailing: `x, *, k=0.5`
            keywords = self.scope.attribute(fn, "__kwdefaults__") or {}
            named = params[code.co_argcount :]
            if values and len(keywords) != len(named):
                return ()
            kept = [keywords[n] for n in named[len(named) - len(keywords) :] if n in keywords]
            if len(kept) != len(keywords):  # `*, k=1.0, m`: not trailing
                return ()
            values = (*values, *kept)
        named = params[len(params) - len(values) :] if values else []
        literal = all(type(v) in (int, float, complex, bool, str, type(None)) for v in values)
        if not literal or set(named) & set(dict(self.structures or ())):
            return ()
        return tuple(Const(v) for v in values)

    def _require_structures(self, signature: Parameters, params: cst.Parameters) -> None:
        """``*args`` is a tuple and ``**kwargs`` a dict whatever the call: their code depends on
        how many values and which names the call passes, as a structured argument's does."""
        known = dict(self.structures or ())
        for name, node in (
            (signature.star, params.star_arg),
            (signature.star_star, params.star_kwarg),
        ):
            if name is not None and name not in known:
                what = "a tuple" if name == signature.star else "a dict"
                raise self.structure_needed(node, name, what)

    def _parameters(self, params: cst.Parameters, defaults: tuple) -> Parameters:
        """The function's parameters, each default value it has checked to be one lowering can
        bind into the code."""
        for default in defaults:
            if lowered_default(default) is None:
                param = [p for p in (*params.params, *params.kwonly_params) if p.default][0]
                raise self.error(
                    param,
                    f"a default value of type {type(default).__name__} is not supported here",
                    "use a number, a string, None, an array, or a list or tuple of numbers",
                )
        return parameters_of(params)

    def fresh(self, hint: str = "") -> Var:
        self.count += 1
        return Var(f"{self.prefix}{self.count}", hint)

    def emit(self, prim, args: tuple, node, hint: str = "", params: tuple = ()) -> Var:
        for arg, arg_node in zip(args, _arg_nodes(node, len(args))):
            if not (isinstance(arg, Ref) and isinstance(arg.obj, type)):  # a dtype: astype(float)
                self.atom(arg, arg_node)
            self.require_real(arg, arg_node)
        for _, value in params:  # dtype=complex
            self.require_real(value, node)
        var = self.fresh(hint)
        call = self.sources[var.name] = Call(prim, tuple(args), params)
        self.body.append(Assign(var, call, self.source.location(node)))
        return var

    def require_real(self, value, node) -> None:
        """Refuse a complex constant (a complex global, ``dtype=complex``) at its place: derivative
        rules are real (see :mod:`s2sad.reals`)."""
        name = f"`{value.name}`" if isinstance(value, Ref) else "this constant"
        if isinstance(value, (Ref, Const)):
            value = value.obj if isinstance(value, Ref) else value.value
        if is_complex(value):
            raise self.error(node, f"{name} is {describe(value)}", HINT)

    # --- statements -------------------------------------------------------------------------

    def block(self, statements) -> None:
        """Lower ``statements`` into the current block, stopping where every path has returned."""
        for index, stmt in enumerate(statements):
            if has_exited(self.env):
                return  # unreachable after a return, break or continue, as in Python
            if isinstance(stmt, cst.If):
                self.if_statement(stmt, list(statements[index + 1 :]))
                return
            if isinstance(stmt, cst.FunctionDef):
                self.define_local(stmt)
                continue
            if isinstance(stmt, (cst.For, cst.While)):
                (self.for_statement if isinstance(stmt, cst.For) else self.while_statement)(stmt)
                if self.env.get(RETURNED, Const(False)) != Const(False):  # it may have returned
                    self.after_branch(list(statements[index + 1 :]), stmt)
                    return
                continue
            if isinstance(stmt, cst.With):
                self.with_statement(stmt)
                continue
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if has_exited(self.env):
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
            self.output(value, where)  # checked here, where the caret can point; built at the end
            self.env[RETURNED], self.env[RESULT] = Const(True), value
            if self.return_loc.line == self.source.location(self.source.node).line:
                self.return_loc = self.source.location(where)  # the first return, for messages
        elif isinstance(node, cst.Expr):
            self.expression_statement(node)
        elif isinstance(node, cst.Pass):
            pass
        elif isinstance(node, cst.Raise):
            self.raise_statement(node)
        elif isinstance(node, cst.Assert):
            self.assert_statement(node)
        elif isinstance(node, cst.Break):
            self.env[BROKE] = Const(True)
        elif isinstance(node, cst.Continue):
            self.env[CONTINUED] = Const(True)
        else:
            what = _UNSUPPORTED_STATEMENTS.get(type(node), f"a `{type(node).__name__}` statement")
            raise self.error(node, f"{what} is not supported yet")

    def augmented(self, node: cst.AugAssign) -> None:
        symbol = _AUGMENTED.get(type(node.operator))
        if isinstance(node.target, cst.Subscript) and symbol is not None:
            self.augmented_item(node, symbol)
            return
        if not isinstance(node.target, cst.Name):
            raise self.error(
                node.target,
                "augmented assignment to an attribute mutates a value in place",
                "assign to a new local variable instead",
            )
        if symbol is None:
            raise self.error(
                node, f"the operator `{node.operator.__class__.__name__}` is not supported"
            )
        name = node.target.value
        current = self.name(node.target)
        rhs = self.expr(node.value)
        if isinstance(current, ListValue):
            raise self.error(
                node,
                f"`{name} {symbol}= ...` changes the list `{name}` in place, which every other "
                "name for it would see",
                f"build a new list: `{name} = {name} {symbol} ...`",
            )
        if isinstance(current, tuple) or isinstance(rhs, tuple):  # t += (v,): a new tuple
            self.env[name] = self.sequence_arithmetic(node, symbol, current, rhs)
            return
        if isinstance(current, Var):
            self.note_in_place(current, name, node)
        self.env[name] = self.emit(BINARY_OPERATORS[symbol], (current, rhs), node, name)

    def expression_statement(self, node: cst.Expr) -> None:
        value = node.value
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis)):
            return  # a docstring or a placeholder
        if isinstance(value, cst.Call) and grows_a_list(value, self.env):  # out.append(v)
            self.grow_list(value)
            return
        if isinstance(value, cst.Call) and self.callee(value.func) is PRINT:
            self.print_call(value)
            return
        made = len(self.body)
        self.expr(value)  # evaluated for nothing: checked, then dropped as dead code
        last = self.body[-1] if len(self.body) > made else None
        if isinstance(last, Assign) and isinstance(last.value, Call) and is_opaque(last.value.prim):
            self.body[-1] = self.unused_call(last, value)  # warnings.warn("..."): its effect

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
                value = self.unpacked(value, value_node)
            if len(value) != len(elements):
                raise self.error(
                    value_node,
                    f"cannot unpack {len(value)} values into {len(elements)} names",
                    "make both sides the same length",
                )
            for element, item in zip(elements, value):
                self.bind(element.value, item, value_node)
        elif isinstance(target, cst.Subscript):
            self.index_assignment(target, value, value_node)
        else:
            raise self.error(
                target,
                "assignment to an attribute mutates a value in place",
                "assign to a new local variable instead",
            )

    # --- expressions ------------------------------------------------------------------------


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
