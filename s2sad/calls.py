"""Lowering of calls: primitives (``math.sin``, ``max``, ``print``) and other Python functions.

A call to another Python function is *inlined*: its body is lowered into the caller's trace with its
parameters bound to the arguments, so its operations are differentiated like the caller's own and the
generated code calls nothing but primitives. Inlining keeps the derivative readable in one place and
costs no call at run time; the price is that a recursive function cannot be inlined, and is refused.
Functions called from several places are inlined at each call.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import types
from dataclasses import dataclass, replace

import libcst as cst
import numpy as np

from .binding import DictGet, is_dict, parameters_of
from .callables import BoundCall, bound_call, method_of
from .branches import merged_result
from .constructors import Constructor
from .custom import STOP_GRADIENT, CustomRule, lower_call, rule_for
from .errors import S2SADError, UnknownFunctionError
from .arrays import ARRAY_METHODS, LENGTH, ArrayOp, array_function
from .expressions import SUPPORTED, Value, _dotted, _is_module
from .frontend import load
from .ir import Call, Const, Effect, Expr, ListValue, Primitive, Ref
from .opaque import is_opaque, opaque_class, opaque_function, opaque_method
from .primitives import PRINT, VARIADIC, primitive_for, user_call
from .records import Entries
from .rules import RULES
from .sequences import SEQUENCE_BUILTINS, grows_a_list

_MAX_DEPTH = 50  # calls nested deeper than this are refused (a recursion the compiler cannot see)


def _returns_structure(node) -> bool:
    finder = _StructureReturn()
    node.visit(finder)
    return finder.found


class _StructureReturn(cst.CSTVisitor):
    def __init__(self):
        self.found = False

    def visit_Return(self, node: cst.Return) -> None:
        self.found = self.found or isinstance(node.value, (cst.Tuple, cst.Dict, cst.DictComp))


@dataclass(frozen=True, eq=False)
class LocalFunction:
    """A function defined inside the function being lowered, by ``def`` or ``lambda``."""

    node: cst.CSTNode
    owner: object  # the lowering whose names it closes over
    name: str
    defaults: dict  # parameter -> its default value, lowered where the function was defined


class CallLowering:
    """The call-lowering part of :class:`s2sad.lower.Lowering`."""

    def callee(self, func_node):
        """What a call's function expression names: a primitive, a NumPy operation, or a Python
        function to inline."""
        method = self.method(func_node)
        if method is not None:
            return method
        named = isinstance(func_node, (cst.Name, cst.Attribute, cst.Call))  # partial(f, a)(x)
        target = self.expr(func_node) if named else None
        if isinstance(target, (LocalFunction, BoundCall)):
            return target
        parameter = self._unknown_structure(target)
        if parameter is not None:  # f(x) where f is an argument: code for the function given
            raise self.structure_needed(func_node, parameter, "a function")
        if not isinstance(target, Ref):
            raise self.error(func_node, "only functions named directly can be called", SUPPORTED)
        custom = rule_for(target.obj)
        if custom is not None:  # before inlining: its author's rules replace its body
            return custom
        prim = primitive_for(target.obj)
        if prim is not None:
            return prim
        op = array_function(target.obj)
        if op is not None:
            return op
        if target.obj is builtins.len:
            return LENGTH
        if isinstance(target.obj, types.FunctionType) or target.obj in SEQUENCE_BUILTINS:
            return target.obj
        if target.obj is builtins.dict:
            return builtins.dict
        if target.obj is functools.partial:
            return functools.partial
        bound = bound_call(target.obj)  # a bound method, a partial, a callable object
        if bound is not None and bound.leading and bound.leading[0] is target.obj:  # model(x)
            return replace(bound, leading=(target,) + bound.leading[1:])
        if bound is not None:
            return bound
        if isinstance(target.obj, type) and not opaque_class(target.obj):
            return self.class_call(target, func_node)  # a dataclass or named tuple: its fields
        if callable(target.obj):  # no rule: a constant of the derivative, unless active
            return opaque_function(target.obj, _dotted(func_node))
        raise self.error(func_node, f"`{_dotted(func_node)}` cannot be called", SUPPORTED)

    def method(self, func_node):
        """``(op, receiver)`` for ``x.sum`` and the like, where ``x`` is a value, else ``None``."""
        if not isinstance(func_node, cst.Attribute):
            return None
        receiver = self.expr(func_node.value)
        if isinstance(receiver, Ref) and method_of(receiver.obj, func_node.attr.value):
            # model.predict(x), self.inner(x) of a known instance: its class's function
            name = func_node.attr.value
            return BoundCall(self.scope.attribute(type(receiver.obj), name), (receiver,))
        if isinstance(receiver, Ref) and (callable(receiver.obj) or _is_module(receiver.obj)):
            return None
        if func_node.attr.value == "get" and is_dict(receiver):
            return DictGet(receiver)
        entries = self.record_method(func_node, receiver)
        if entries is not None:
            return entries
        if isinstance(receiver, tuple):
            return None
        name = func_node.attr.value
        if name not in ARRAY_METHODS:  # no rule: a constant of the derivative, unless active
            return opaque_method(name), receiver
        return ARRAY_METHODS[name], receiver

    def call(self, node: cst.Call, hint: str) -> Value:
        if grows_a_list(node, self.env):  # out.append(v)
            return self.grow_list(node)
        prim = self.callee(node.func)
        if isinstance(prim, BoundCall):
            return self.inline(prim.function, node, prim.leading, prim.keywords)
        if isinstance(prim, DictGet):  # kwargs.get("scale", 1.0)
            return self.dict_get(prim.record, node)
        if isinstance(prim, Entries):  # params.items()
            if node.args:
                raise self.error(node, f"`.{node.func.attr.value}()` takes no arguments", "")
            return prim.values
        if isinstance(prim, tuple) and is_opaque(prim[0]):  # s.lower()
            return self.opaque_call(prim[0], node, hint, prim[1])
        if isinstance(prim, tuple):  # x.sum(...)
            return self.array_call(prim[0], node, prim[1], hint)
        if isinstance(prim, Primitive) and is_opaque(prim):
            return self.opaque_call(prim, node, hint)
        if isinstance(prim, ArrayOp):
            return self.array_call(prim, node, hint=hint)
        if isinstance(prim, CustomRule):
            return lower_call(self, prim.primitive, prim.fn, node, hint)
        if prim is STOP_GRADIENT:
            return lower_call(self, prim, prim.impl, node, hint)
        if prim is LENGTH:
            return self.length(node, hint)
        if isinstance(prim, types.FunctionType):
            return self.inline_or_opaque(prim, node, _dotted(node.func))
        if isinstance(prim, LocalFunction):
            return self.inline_local(prim, node)
        if prim in SEQUENCE_BUILTINS:
            return self.sequence_call(prim, node, hint)
        if prim is builtins.dict:
            return self.dict_call(node)
        if prim is functools.partial:
            return self.partial_call(node)
        if isinstance(prim, Constructor):
            return self.construct(prim, node)
        if prim.name in VARIADIC and len(node.args) == 1 and not node.args[0].keyword:
            values = self.known_sequence(node.args[0].value)  # max(xs): fold over a known list
            if values is not None:
                return self.fold(prim, list(values), node, hint)
        if prim is PRINT:
            raise self.error(
                node, "print(...) returns nothing useful here", "call print on a line of its own"
            )
        for arg in node.args:
            if arg.keyword is not None or arg.star == "**":
                raise self.error(
                    arg,
                    f"`{_dotted(node.func)}` takes its arguments by position",
                    "pass values by position",
                )
        args, _ = self.call_arguments(node)  # `*` unpacks a tuple or list of known length
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

    def inline(self, fn: types.FunctionType, node: cst.Call, leading=(), keywords=None) -> Value:
        """Lower the body of ``fn`` here, its parameters bound to the arguments of ``node``, after
        ``leading`` and with ``keywords`` (objects a bound method or a partial fixes). A call to a
        function already being lowered (recursion) stays a call: its derivative calls the
        derivative functions generated for it."""
        if fn.__code__ in self.calling and not (leading or keywords):
            return self.recursive_call(fn, node)
        self._refuse_recursion(fn.__code__, node)
        try:
            source = load(fn)
        except S2SADError as err:
            raise self.error(
                node.func,
                f"cannot differentiate through `{_dotted(node.func)}`: {err.message}",
                err.hint,
                UnknownFunctionError,
            ) from None
        callee = type(self)(source, caller=self, key=fn.__code__)
        values = self.scope.attribute(fn, "__defaults__") or ()  # bound into the trace
        keyword_values = self.scope.attribute(fn, "__kwdefaults__") or {}
        params = callee._parameters(source.node.params, values + tuple(keyword_values.values()))
        positional = params.positional[len(params.positional) - len(values) :]
        defaults = dict(zip(positional, map(lowered_default, values)))
        defaults.update({k: lowered_default(v) for k, v in keyword_values.items()})
        fixed = tuple(map(_fixed, leading)), {k: _fixed(v) for k, v in (keywords or {}).items()}
        arguments = self.bind_arguments(fn.__name__, params, defaults, node, *fixed)
        return callee.lower_call(arguments)

    def recursive_call(self, fn: types.FunctionType, node: cst.Call) -> Value:
        """``fn(...)`` left as a call, for a function that calls itself; it must return a number."""
        if _returns_structure(load(fn).node):
            raise self.error(
                node,
                f"`{fn.__name__}` calls itself and returns a tuple or a dict; a recursive function "
                "must return one number",
                "return one number, or turn the recursion into a loop",
                UnknownFunctionError,
            )
        params = parameters_of(load(fn).node.params)
        if not params.plain:
            raise self.error(
                node,
                f"`{fn.__name__}` calls itself and takes `*args`, `**kwargs` or keyword-only "
                "parameters; a recursive function must take its parameters by position",
                "list the parameters one by one, or turn the recursion into a loop",
                UnknownFunctionError,
            )
        values = fn.__defaults__ or ()
        defaults = dict(zip(params.positional[len(params.positional) - len(values) :], values))
        bound = self.bind_arguments(fn.__name__, params, defaults, node)
        args = tuple(self.atom(bound[p], node) for p in params.positional)
        return self.emit(user_call(fn), args, node)

    def inline_local(self, fn: "LocalFunction", node: cst.Call, leading=()) -> Value:
        """Lower a function defined in this one (``def`` or ``lambda``) here, after the values
        ``leading``. Its free names read the enclosing function's names as they are now, as a
        Python closure reads them."""
        self._refuse_recursion(fn.node, node)
        # positions and names are those of the function that defined it, wherever it is called
        callee = type(self)(replace(fn.owner.source, node=fn.node), caller=self, key=fn.node)
        params = callee._parameters(fn.node.params, ())
        arguments = self.bind_arguments(fn.name, params, fn.defaults, node, leading)
        enclosing = {k: v for k, v in fn.owner.env.items() if k not in callee.local_names}
        return callee.lower_call({**enclosing, **arguments})

    def lower_call(self, env: dict) -> Value:
        """Lower this (inlined) function's body with ``env`` bound; its result."""
        self.env = env
        node = self.source.node
        if isinstance(node, cst.Lambda):
            return self.expr(node.body)
        if isinstance(node.body, cst.SimpleStatementSuite):
            self.block([cst.SimpleStatementLine(body=node.body.body)])
        else:
            self.block(node.body.body)
        return merged_result(self, node)

    def define_local(self, node: cst.FunctionDef) -> None:
        """``def`` inside the function: bind its name to a function that is inlined where called."""
        if node.decorators:
            raise self.error(
                node.decorators[0],
                "decorators on a nested function are not supported",
                "define it without decorators",
            )
        self.env[node.name.value] = self.local_function(node, node.name.value)

    def local_function(self, node, name: str) -> "LocalFunction":
        defaults = {}
        for param in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params):
            if param.default is not None:  # evaluated where the function is defined, as in Python
                defaults[param.name.value] = self.expr(param.default)
        return LocalFunction(node, self, name, defaults)

    def _refuse_recursion(self, key, node: cst.Call) -> None:
        name = _dotted(node.func)
        if key in self.calling:
            raise self.error(
                node,
                f"`{name}` calls itself (directly or through other functions); recursion is "
                "not supported yet",
                "write the recursion as a loop",
                UnknownFunctionError,
            )
        if len(self.calling) >= _MAX_DEPTH:
            raise self.error(node, f"calls nested more than {_MAX_DEPTH} deep", "flatten them")

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


def lowered_default(value):
    """An inlined function's default value as lowering binds it: a constant, a tuple or a list of
    them (a :class:`~s2sad.ir.ListValue`), or an array bound into the code; ``None`` if it cannot
    be."""
    if isinstance(value, (list, tuple)):
        items = [lowered_default(v) for v in value]
        if any(item is None for item in items):
            return None
        return ListValue(items) if isinstance(value, list) else tuple(items)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return Ref("default", value, "value")
    if type(value) in (int, float, bool, str, type(None)):
        return Const(value)
    return None


def _fixed(value):
    """An argument a bound method or partial fixes, as lowering binds it: a value it already is
    (the instance ``self`` of ``self.inner(x)``), a constant, or the object bound into the code."""
    if isinstance(value, (Expr, tuple)):
        return value
    lowered = lowered_default(value)
    return lowered if lowered is not None else Ref(type(value).__name__.lower(), value, "value")


def _arity(name: str) -> tuple:
    """How many positional arguments a primitive's rule accepts: (fewest, most)."""
    params = [p for p in inspect.signature(RULES[name]).parameters.values() if p.name != "out"]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 1, 10**6
    return sum(p.default is p.empty for p in params), len(params)
