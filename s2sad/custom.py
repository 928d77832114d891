"""Custom derivative rules for functions s2sad should not or cannot read, and ``stop_gradient``.

A function registered with :func:`custom_rule` is not inlined: a call to it stays one primitive of the
trace (``w3 = logsumexp(w2)``), and the derivative code calls the rules its author wrote, in the same
form as the built-in rules of :mod:`s2sad.rules` (partials from the arguments and the output ``out``):

- the **tangent** rule takes the arguments, the output and one tangent per argument, and returns the
  output's tangent: ``w3_dot = logsumexp_tangent(w2, w3, w2_dot)``. An argument that does not depend
  on the differentiated inputs gets a zero tangent of its shape (``0.0``, ``np.zeros_like(x)``);
- the **adjoint** rule takes the arguments, the output and the output's adjoint, and returns a tuple
  with one adjoint per argument, each of its argument's shape: ``(w3_bar_1,) =
  logsumexp_adjoint(w2, w3, w3_bar)``. An argument that is not a float or an array (an integer
  option, a string) may get ``None``.

Forward mode needs the tangent, reverse mode the adjoint; a missing one is refused while compiling.
At the first call of a derivative, s2sad checks the shapes the rules return (see
:mod:`s2sad.rule_checks`).

>>> import math, s2sad
>>> @s2sad.custom_rule
... def softplus(x):
...     return math.log1p(math.exp(-abs(x))) + max(x, 0.0)
>>> @softplus.tangent
... def softplus_tangent(x, out, x_dot):
...     return x_dot / (1 + math.exp(-x))
>>> @softplus.adjoint
... def softplus_adjoint(x, out, out_bar):
...     return (out_bar / (1 + math.exp(-x)),)
>>> def f(x):
...     return 2 * softplus(x)
>>> s2sad.grad(f)(0.0), s2sad.jvp(f, (0.0,), (1.0,))[1]
(1.0, 1.0)
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .array_rules import np_call, runtime_call
from .arrays import array_function
from .errors import Location, S2SADError, user_facing
from .ir import Call, Const, Primitive, Ref, Unpack, Var
from .primitives import CALLABLES, PRIMITIVES, primitive_for


class CustomRuleError(S2SADError):
    """A custom rule is missing, registered twice, or returns derivatives of the wrong shape."""


@dataclass(eq=False)
class CustomRule:
    """A function with derivative rules its user wrote, and the primitives that call them."""

    fn: Callable
    tangent: Callable | None = None
    adjoint: Callable | None = None
    primitive: Primitive = field(init=False)

    def __post_init__(self):
        name = _identifier(getattr(self.fn, "__name__", ""), "custom_function")
        self.primitive = Primitive(
            f"custom {name} {id(self.fn):x}", self.fn, "call", name, 16, False
        )

    @property
    def name(self) -> str:
        return self.primitive.symbol

    def rule_primitive(self, role: str) -> Primitive:
        """The primitive calling the ``"tangent"`` or ``"adjoint"`` rule, refused if there is none."""
        rule = getattr(self, role)
        if rule is None:
            other_role = "adjoint" if role == "tangent" else "tangent"
            has = "a custom " + other_role if getattr(self, other_role) else "no custom"
            raise CustomRuleError(
                f"`{self.name}` has {has} rule but no {role} rule, which {_MODES[role]} needs",
                defined_at(self.fn),
                f"register one with @{self.name}.{role} or s2sad.custom_rule({self.name}, "
                f"{role}=...) (see the README, 'Custom rules'), or use {_MODES[other_role]}",
            )
        name = _identifier(getattr(rule, "__name__", ""), f"{self.name}_{role}")
        return Primitive(f"custom {role} {name} {id(rule):x}", rule, "call", name, 16, False)


_MODES = {
    "tangent": "forward mode (s2sad.jvp, jacobian(mode='forward'), hvp, hessian)",
    "adjoint": "reverse mode (s2sad.grad, s2sad.vjp)",
}
BY_NAME: dict[str, CustomRule] = {}  # primitive name -> its rule
_BY_ID: dict[int, CustomRule] = {}  # id of a registered function -> its rule
ROLES: dict[int, tuple] = {}  # id of a rule function -> (its CustomRule, "tangent" or "adjoint")


@user_facing
def custom_rule(fn, *, tangent: Callable | None = None, adjoint: Callable | None = None):
    """Register ``fn`` as a function with its own derivative rules, and return ``fn``.

    Used as a decorator on a Python function, it gives ``fn`` two decorators, ``@fn.tangent`` and
    ``@fn.adjoint``, that register the rules. For a function that takes no attributes (a C builtin
    like ``math.lgamma``, a SciPy ufunc), pass the rules as keywords. Every differentiated function
    calling ``fn`` then uses the rules: register each rule once.
    """
    if primitive_for(fn) is not None or array_function(fn) is not None:
        raise CustomRuleError(
            f"`{getattr(fn, '__name__', fn)}` already has a built-in derivative rule",
            hint="call it directly: s2sad differentiates it already",
        )
    entry = _BY_ID.get(id(fn))
    if entry is None:
        entry = _BY_ID[id(fn)] = CustomRule(fn)
        BY_NAME[entry.primitive.name] = entry
        try:
            fn.tangent = lambda rule: _set(entry, "tangent", rule)
            fn.adjoint = lambda rule: _set(entry, "adjoint", rule)
        except (AttributeError, TypeError):
            pass  # a builtin: its rules come as keywords
    if tangent is not None:
        _set(entry, "tangent", tangent)
    if adjoint is not None:
        _set(entry, "adjoint", adjoint)
    return fn


def _set(entry: CustomRule, role: str, rule: Callable) -> Callable:
    if getattr(entry, role) is not None:
        # Code compiled already calls the first rule: replacing it would leave that code stale.
        raise CustomRuleError(
            f"`{entry.name}` already has a {role} rule, `{getattr(entry, role).__name__}`",
            defined_at(rule),
            f"define `{entry.name}` again (a new function) to give it new rules",
        )
    _check_arity(entry, role, rule)
    setattr(entry, role, rule)
    ROLES[id(rule)] = (entry, role)
    return rule


def _check_arity(entry: CustomRule, role: str, rule: Callable) -> None:
    """Refuse a rule that cannot take the arguments it will be called with."""
    params = parameters(entry.fn)
    try:
        rule_params = list(inspect.signature(rule).parameters.values())
    except (TypeError, ValueError):
        return
    if params is None or any(p.kind is p.VAR_POSITIONAL for p in params + rule_params):
        return  # checked at its first call instead
    names = [p.name for p in params]
    expected = names + ["out"] + ([f"{n}_dot" for n in names] if role == "tangent" else ["out_bar"])
    required = [p for p in rule_params if p.default is p.empty and p.kind in _POSITIONAL]
    if len(required) > len(expected) or len(expected) > len(
        [p for p in rule_params if p.kind in _POSITIONAL]
    ):
        raise CustomRuleError(
            f"the {role} rule `{rule.__name__}` of `{entry.name}` takes {len(rule_params)} "
            f"parameter(s), but is called with {len(expected)}: ({', '.join(expected)})",
            defined_at(rule),
            "give it one parameter for each",
        )


def rule_for(obj) -> CustomRule | None:
    """The custom rule registered for ``obj``, if any."""
    return _BY_ID.get(id(obj))


def defined_at(fn) -> Location | None:
    """Where ``fn`` is defined (its ``def`` line), for error messages; ``None`` for a builtin."""
    try:
        lines, line = inspect.getsourcelines(fn)
        filename = inspect.getsourcefile(fn) or fn.__code__.co_filename
    except (OSError, TypeError, AttributeError):
        return None
    skip = next((i for i, text in enumerate(lines) if not text.lstrip().startswith("@")), 0)
    text = lines[skip].rstrip("\n")  # the `def` line, after any decorators
    column = len(text) - len(text.lstrip())
    return Location(filename, max(line, 1) + skip, column, text, len(text.strip()))


def _identifier(name: str, fallback: str) -> str:
    return name if name.isidentifier() else fallback


# --- stop_gradient ---------------------------------------------------------------------------


def stop_gradient(x):
    """``x`` itself; in a differentiated function, a value no derivative flows through.

    >>> import s2sad
    >>> def f(x):
    ...     return x * s2sad.stop_gradient(x)
    >>> s2sad.grad(f)(3.0)  # x treated as a constant in the second factor: d(x * c)/dx = c
    3.0
    """
    return x


STOP_GRADIENT = PRIMITIVES["stop_gradient"] = Primitive(
    "stop_gradient", stop_gradient, "call", "stop_gradient"
)
CALLABLES[id(stop_gradient)] = STOP_GRADIENT


# --- lowering and derivatives ----------------------------------------------------------------


def lower_call(lowering, prim: Primitive, fn, node, hint: str) -> Var:
    """``w = fn(...)`` for a call to a function with a custom rule (or ``stop_gradient``): its
    arguments bound to its positional parameters in order, defaults filled in, as the rules receive
    them."""
    if any(arg.star for arg in node.args):
        raise lowering.error(node, "`*` arguments are not supported", "pass values one by one")
    nodes = [arg.value for arg in node.args if arg.keyword is None]
    keywords = {arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None}
    params = parameters(fn)
    known = [p.name for p in params or () if p.kind is not p.VAR_POSITIONAL]
    for name in keywords:
        if name not in known:
            raise lowering.error(
                node,
                f"`{prim.symbol}` gets `{name}=`, which is not one of its positional parameters "
                f"({', '.join(known) or 'none known'})",
                "a custom rule receives the positional parameters only: pass values by position",
            )
    if params is None:
        values = nodes
    else:
        try:
            bound = inspect.Signature(params).bind(*nodes, **keywords)
        except TypeError as err:
            raise lowering.error(
                node, f"`{prim.symbol}` cannot be called so: {err}", "pass one value per parameter"
            ) from None
        bound.apply_defaults()
        values = []
        for name, value in bound.arguments.items():
            starred = bound.signature.parameters[name].kind is inspect.Parameter.VAR_POSITIONAL
            values += list(value) if starred else [value]
    called = {id(n) for n in nodes} | {id(n) for n in keywords.values()}
    args = tuple(lowering.expr(v) if id(v) in called else Const(v) for v in values)
    return lowering.emit(prim, args, node, hint)


def parameters(fn) -> list | None:
    """The parameters of ``fn`` a call binds and the rules receive: the positional ones (a ufunc's
    inputs); ``None`` for a builtin that does not say."""
    if isinstance(fn, np.ufunc):  # its signature lists `out` as positional: it is not an input
        return [inspect.Parameter(f"x{i + 1}", _POSITIONAL[0]) for i in range(fn.nin)]
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return [p for p in signature.parameters.values() if p.kind in _POSITIONAL]


_POSITIONAL = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.VAR_POSITIONAL,
)


def tangent_call(call: Call, out, dots: list, kinds, batched: bool = False) -> Call:
    """``w3_dot = f_tangent(w1, w2, w3, w1_dot, 0.0)`` for ``w3 = f(w1, w2)``: the tangent rule,
    given a zero tangent for each inactive argument (``dots`` has ``None`` there). In vector mode
    (``batched``) the rule, written for one direction, is called once per direction by a runtime
    helper while the rest of the sweep carries all directions at once:
    ``w3_dot = each_direction(f_tangent, (False, False, False, True, False), w1, w2, w3, w1_dot, 0.0)``.
    """
    entry = BY_NAME[call.prim.name]
    rule = entry.rule_primitive("tangent")  # refuses a missing rule
    zeros = [dot if dot is not None else _zero(arg, kinds) for arg, dot in zip(call.args, dots)]
    args = (*call.args, out, *zeros)
    if not batched:
        return Call(rule, args)
    flags = (False,) * (len(call.args) + 1) + tuple(dot is not None for dot in dots)
    return runtime_call("each_direction", Ref(rule.symbol, entry.tangent, "value"), flags, *args)


def _zero(arg, kinds):
    """A zero tangent of ``arg``'s shape: ``0.0``, ``np.zeros_like(x)``, or decided at run time."""
    kind = kinds.of(arg)
    if kind is not None and not kind.is_array:
        return Const(0.0)
    if kind is not None:
        return np_call("zeros_like", arg)
    return runtime_call("zero_like", arg)


def adjoint_step(stmt, bar: Var, active: set, names):
    """``(w3_bar_1, _) = f_adjoint(w1, w2, w3, w3_bar)`` for ``w3 = f(w1, w2)``, and the adjoint
    each active argument receives; ``None`` if ``stmt`` does not call a function with a custom rule.
    ``names`` (a :class:`~s2sad.naming.Names`) allocates the results' variables.
    """
    value = stmt.value
    entry = BY_NAME.get(getattr(getattr(value, "prim", None), "name", None))
    if entry is None:
        return None
    targets, parts = [], []
    for i, arg in enumerate(value.args):
        if isinstance(arg, Var) and arg.name in active:
            targets.append(Var(names.fresh(f"{stmt.target.name}_bar_{i + 1}")))
            parts.append((arg, targets[-1]))
        else:
            targets.append(Var(names.discard()))
    call = Call(entry.rule_primitive("adjoint"), (*value.args, stmt.target, bar))
    return Unpack(tuple(targets), call, stmt.loc), parts


def is_custom_call(value) -> bool:
    return isinstance(value, Call) and value.prim.name in BY_NAME


def missing_rules(statements) -> set:
    """The roles (``"tangent"``, ``"adjoint"``) that some function with custom rules called in
    ``statements`` (all of them, nested blocks included) has no rule for."""
    return {
        role
        for stmt in statements
        if is_custom_call(getattr(stmt, "value", None))
        for role in ("tangent", "adjoint")
        if getattr(BY_NAME[stmt.value.prim.name], role) is None
    }


def adjoint_rule_called(value):
    """The adjoint rule ``value`` calls (in a gradient program), or ``None``."""
    if not isinstance(value, Call):
        return None
    _, role = ROLES.get(id(value.prim.impl), (None, None))
    return value.prim.impl if role == "adjoint" and value.prim.name.startswith("custom ") else None
