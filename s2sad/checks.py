"""Lowering of input validation: ``raise`` and ``assert``.

Library code checks its arguments before it computes (``if x.ndim != 1: raise ValueError(...)``,
``assert len(p) == 2``). A check is part of the primal: it runs in every derivative program exactly
where the function runs it, and raises the exception the function raises, built from the same
arguments. It has no derivative of its own. A test that depends on differentiated values
(``if np.any(x < 0): raise ...``) is evaluated at the point the derivative is taken, like any other
branch: where it passes, the derivative is that of the code that runs; where it fails, the
derivative raises. The check is not part of the mathematics, so a direction that would leave the
valid set is not projected back onto it.

A path that raises never reaches later code: where one branch of an ``if`` raises, the names after
the ``if`` are those of the other branch, with no merge. ``assert`` is skipped when Python runs with
``-O``, as Python skips it.
"""

from __future__ import annotations

import sys

import libcst as cst

from .arrays import TUPLE
from .branches import RAISED
from .errors import UnknownFunctionError
from .ir import Call, Const, Effect, Primitive, Ref, Var
from .opaque import is_opaque

_EXCEPTION = (
    "raise an exception class (`raise ValueError`) or an instance built from it "
    '(`raise ValueError(f"x has {x.ndim} dimensions")`)'
)


def _raise(exception, *args):
    raise exception(*args)


# Printed as a statement: ``raise ValueError("...")``; args are the class and what it is built from.
RAISE = Primitive("raise", _raise, "raise", "raise", foldable=False)


class CheckLowering:
    """The ``raise``/``assert`` part of :class:`s2sad.lower.Lowering`."""

    def raise_statement(self, node: cst.Raise) -> None:
        if node.exc is None:
            raise self.error(
                node,
                "a bare `raise` re-raises the exception being handled, and s2sad does not "
                "lower `except` blocks",
                _EXCEPTION,
            )
        if node.cause is not None and not _is_none(node.cause.item):
            raise self.error(
                node.cause,
                "`raise ... from` another exception is not supported",
                "write `from None`",
            )
        cause = (("from_none", True),) if node.cause is not None else ()
        exc = node.exc
        if isinstance(exc, cst.Call):
            cls = self._exception_class(exc.func)
            args = tuple(self._message(arg) for arg in exc.args)
            self.raise_exception(cls, args, node, (("called", True),) + cause)
        else:
            made = self.expr(exc) if isinstance(exc, cst.Name) else None
            if isinstance(made, Var) and _built(self.sources.get(made.name)):
                self.raise_exception(made, (), node, (("called", False),) + cause)  # raise err
                return
            cls = self._exception_class(exc)
            self.raise_exception(cls, (), node, (("called", False),) + cause)

    def raise_exception(self, cls: Ref, args: tuple, node, params: tuple = ()) -> None:
        """Run ``raise cls(*args)`` here; the path goes no further."""
        call = Call(RAISE, (cls, *args), params or (("called", True),))
        self.body.append(Effect(call, self.source.location(node)))
        self.env[RAISED] = Const(True)

    def assert_statement(self, node: cst.Assert) -> None:
        if not __debug__ or sys.flags.optimize:
            return  # python -O drops assertions
        test = self.atom(self.expr(node.test), node.test)
        if isinstance(test, Const) and test.value:
            return
        assertion = Ref("AssertionError", AssertionError, "value")

        def fail() -> None:
            args = () if node.msg is None else (self._message(cst.Arg(node.msg)),)
            self.raise_exception(assertion, args, node)

        if isinstance(test, Const):  # a test known to fail while lowering
            fail()
            return
        self.branch(test, lambda: None, fail, node)

    def _exception_class(self, func_node) -> Ref:
        target = self.expr(func_node) if isinstance(func_node, (cst.Name, cst.Attribute)) else None
        obj = target.obj if isinstance(target, Ref) else None
        is_class = isinstance(obj, type) and issubclass(obj, BaseException)
        if not (is_class or isinstance(obj, BaseException)):
            raise self.error(func_node, "this is not an exception class", _EXCEPTION)
        return target

    def _message(self, arg: cst.Arg):
        """An argument of the exception: a value, or a tuple of values built as one."""
        if arg.keyword is not None or arg.star:
            raise self.error(
                arg,
                "an exception built with keyword or `*` arguments is not supported",
                "pass its arguments by position",
                UnknownFunctionError,
            )
        value = self.expr(arg.value)
        if isinstance(value, tuple):  # x.shape of a known shape: (3, 2)
            return self.emit(TUPLE, tuple(self.atom(v, arg.value) for v in value), arg.value)
        return self.atom(value, arg.value)


def _built(value) -> bool:
    """Whether ``value`` was made by calling something s2sad has no rule for (``err =
    ValueError(...)``): raising it raises what the function raises."""
    return isinstance(value, Call) and is_opaque(value.prim)


def _is_none(node) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"
