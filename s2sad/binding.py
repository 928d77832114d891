"""Binding a call's arguments to an inlined function's parameters, as Python binds them.

An inlined function may take positional-only and keyword-only parameters, ``*args`` and ``**kwargs``;
a call may pass arguments by name and unpack a tuple or list (``g(*params)``) or a dict
(``g(**options)``) whose length or keys are known while lowering. Binding happens while lowering, so
the generated code calls nothing: ``*args`` becomes the tuple of the values passed for it, and
``**kwargs`` the dict of them (a :class:`~s2sad.records.Record`), which the body indexes, unpacks and
passes on like any tuple or dict it builds.

>>> import s2sad
>>> def logpdf(x, *args, scale=1.0, **kwds):
...     return -x * x * args[0] / scale + kwds["shift"]
>>> def f(x):
...     return logpdf(x, 2.0, scale=4.0, shift=1.0)
>>> s2sad.grad(f)(3.0)  # d/dx (-2 x**2 / 4 + 1) = -x
-3.0
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import libcst as cst

from .callables import BoundCall, bound_call, forwarding
from .constructors import dict_record
from .ir import Const, Expr, Ref
from .expressions import _dotted
from .records import Record


@dataclass(frozen=True)
class Parameters:
    """A ``def``'s or ``lambda``'s parameters by kind, in the order Python lists them."""

    positional_only: tuple
    positional: tuple  # positional-only first, then those that may also be named
    star: str | None  # the name of ``*args``
    keyword_only: tuple
    star_star: str | None  # the name of ``**kwargs``

    @property
    def names(self) -> tuple:
        """Every parameter, as :func:`inspect.signature` orders them."""
        stars = (self.star,) if self.star else ()
        return (
            self.positional
            + stars
            + self.keyword_only
            + ((self.star_star,) if self.star_star else ())
        )

    @property
    def plain(self) -> bool:
        """Whether every parameter is positional (no ``*``, keyword-only nor ``**``)."""
        return not (self.star or self.keyword_only or self.star_star)


def parameters_of(params: cst.Parameters) -> Parameters:
    """The :class:`Parameters` of a libcst parameter list."""
    only = tuple(p.name.value for p in params.posonly_params)
    star = params.star_arg.name.value if isinstance(params.star_arg, cst.Param) else None
    star_star = params.star_kwarg.name.value if isinstance(params.star_kwarg, cst.Param) else None
    return Parameters(
        only,
        only + tuple(p.name.value for p in params.params),
        star,
        tuple(p.name.value for p in params.kwonly_params),
        star_star,
    )


def is_dict(value) -> bool:
    """Whether ``value`` is a dict while lowering (a ``**kwargs``, a dict argument or display)."""
    return isinstance(value, Record) and value.tree.kind == "dict"


@dataclass(frozen=True)
class DictGet:
    """``kwargs.get``: what a call of it reads is known while lowering."""

    record: Record


class ArgumentBinding:
    """The argument-binding part of :class:`s2sad.lower.Lowering`."""

    def call_arguments(self, node: cst.Call, leading=(), fixed=None) -> tuple:
        """``(positional, keywords)``: the values a call passes, ``*`` and ``**`` unpacked, after
        the values ``leading`` and with ``fixed`` keywords it may override; ``keywords`` maps each
        name to ``(value, node)``."""
        positional = list(leading)
        keywords = {key: (value, node) for key, value in (fixed or {}).items()}
        given: dict = {}
        for arg in node.args:
            if arg.star == "*":
                positional.extend(self._unpacked(arg))
            elif arg.star == "**":
                for key, value in self._unpacked_dict(arg):
                    self._keyword(given, key, value, arg, node)
            elif arg.keyword is not None:
                self._keyword(given, arg.keyword.value, self.expr(arg.value), arg, node)
            else:
                positional.append(self.expr(arg.value))
        return positional, {**keywords, **given}

    def _keyword(self, keywords: dict, key: str, value, arg, node) -> None:
        if key in keywords:
            raise self.error(
                arg,
                f"`{_dotted(node.func)}` got the argument `{key}` twice",
                "pass each argument once",
            )
        keywords[key] = (value, arg)

    def _unpacked(self, arg: cst.Arg) -> list:
        value = self.expr(arg.value)
        if isinstance(value, tuple):  # a tuple, a list, a named tuple
            return list(value)
        parameter = self._unknown_structure(value)
        if parameter is not None:
            raise self.structure_needed(arg.value, parameter, "a tuple")
        raise self.error(
            arg,
            "`*` unpacks a tuple or list whose length is known while lowering; this is "
            + ("an array" if not isinstance(value, Record) else value.describe()),
            "pass the values one by one, or a tuple or list of them",
        )

    def _unpacked_dict(self, arg: cst.Arg) -> list:
        value = self.expr(arg.value)
        if is_dict(value):
            if all(isinstance(key, str) for key in value.tree.keys):
                return list(zip(value.tree.keys, value.values))
        parameter = self._unknown_structure(value)
        if parameter is not None:
            raise self.structure_needed(arg.value, parameter, "a dict")
        raise self.error(
            arg,
            "`**` unpacks a dict with string keys known while lowering",
            'pass the arguments by name, or a dict display: `{"a": a}`',
        )

    def partial_call(self, node: cst.Call):
        """``functools.partial(f, a, k=b)`` in the function: what calling it inlines (``f`` with
        ``a`` first and ``k=b``), a value that is called, passed on, never computed with."""
        values, keywords = self.call_arguments(node)
        target = values[0] if values else None
        inner = target if isinstance(target, BoundCall) else None
        if isinstance(target, Ref) and isinstance(target.obj, types.FunctionType):
            inner = BoundCall(target.obj)
        elif isinstance(target, Ref):
            inner = bound_call(target.obj)
            if inner is not None and inner.leading and inner.leading[0] is target.obj:
                inner = BoundCall(inner.function, (target,) + inner.leading[1:], inner.keywords)
            elif inner is None and callable(target.obj):  # partial(math.pow, 2.0)
                inner = BoundCall(forwarding(target.obj, bool(keywords)))
        if inner is None:
            raise self.error(
                node,
                "functools.partial of this is not supported here: it takes a Python function "
                "named directly (or a method, a callable object or another partial)",
                "define the function with `def` at the top of a module, or call it directly",
            )
        fixed = {key: value for key, (value, _) in keywords.items()}
        return BoundCall(
            inner.function, inner.leading + tuple(values[1:]), {**inner.keywords, **fixed}
        )

    def condition(self, node):
        """The value of a test: a tuple, list or dict known while lowering tests true when it is
        not empty, as Python tests it (``if kwargs:``, ``if not args``); anything else is a
        number."""
        value = self.expr(node)
        if isinstance(value, tuple):
            return Const(len(value) > 0)
        if is_dict(value):
            return Const(len(value.values) > 0)
        return self.atom(value, node)

    def dict_get(self, record: Record, node: cst.Call):
        """``kwargs.get(key)`` or ``kwargs.get(key, default)`` with a constant key: the entry's
        value if the dict has the key, else the default (``None`` if none is given)."""
        args = [self.expr(arg.value) for arg in node.args]
        if any(arg.keyword or arg.star for arg in node.args) or not 1 <= len(args) <= 2:
            raise self.error(node, "`.get` takes a key and a default", "write d.get(key, default)")
        key = args[0]
        if not isinstance(key, Const):
            raise self.error(
                node.args[0],
                "`.get` of a dict needs a key known while lowering",
                "use a string constant as the key",
            )
        if key.value in record.tree.keys:
            return record.values[record.tree.keys.index(key.value)]
        return args[1] if len(args) == 2 else Const(None)

    def bind_arguments(
        self, name: str, params: Parameters, defaults: dict, node: cst.Call, leading=(), fixed=None
    ) -> dict:
        """The callee's parameters bound to the call's arguments, as Python would bind them;
        ``defaults`` maps parameters to their default values (constants or lowered values);
        ``leading`` and ``fixed`` as :meth:`call_arguments` takes them."""
        positional, keywords = self.call_arguments(node, leading, fixed)
        named = [p for p in params.positional if p not in params.positional_only]
        if len(positional) > len(params.positional) and params.star is None:
            raise self.error(
                node,
                f"`{name}` takes {len(params.positional)} positional argument(s), got "
                f"{len(positional)}",
                "pass as many arguments as it has parameters",
            )
        bound = dict(zip(params.positional, positional))
        extra: dict = {}
        for key, (value, arg) in keywords.items():
            if key in bound:
                raise self.error(
                    arg, f"`{name}` got two values for `{key}`", "pass each argument once"
                )
            if key in named or key in params.keyword_only:
                bound[key] = value
            elif params.star_star is not None:
                extra[key] = value
            else:
                known = ", ".join(named + list(params.keyword_only)) or "none"
                raise self.error(
                    arg,
                    f"`{name}` got an unexpected argument `{key}`",
                    f"the parameters it takes by name are {known}",
                )
        if params.star is not None:
            bound[params.star] = tuple(positional[len(params.positional) :])
        if params.star_star is not None:
            bound[params.star_star] = dict_record(extra)
        for param, default in defaults.items():
            bound.setdefault(
                param, default if isinstance(default, (Expr, tuple)) else Const(default)
            )
        missing = [p for p in params.names if p not in bound]
        if missing:
            raise self.error(
                node,
                f"`{name}` is missing argument(s) {', '.join(missing)}",
                "pass every parameter that has no default",
            )
        return {p: bound[p] for p in params.names}
