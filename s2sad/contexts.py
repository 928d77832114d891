"""Lowering of ``with`` blocks: the body runs inside the context manager, in the primal.

``with np.errstate(divide="ignore"):`` is lowered as Python runs it when nothing raises: the
context manager is made, entered (``w4.__enter__()``), the body's statements follow, and it is left
(``w4.__exit__(None, None, None)``), so the body's primal operations run inside it in every
derivative program. Derivative statements the modes interleave with the body's (tangents) run inside
it too; those of the reverse sweep run after it is left. Where the body raises, the exception
propagates without the context manager's ``__exit__`` seeing it: one that suppresses exceptions
(``contextlib.suppress``) does not suppress them here, and the exception is raised instead.
"""

from __future__ import annotations

import libcst as cst

from .ir import Call, Const, Effect
from .opaque import opaque_method


class ContextLowering:
    """The ``with`` part of :class:`s2sad.lower.Lowering`."""

    def with_statement(self, node: cst.With) -> None:
        if node.asynchronous is not None:
            raise self.error(node, "`async with` is not supported", "use a plain `with`")
        managers = []
        for item in node.items:
            if item.asname is not None:
                raise self.error(
                    item.asname,
                    "`with ... as name` is not supported",
                    "enter the context without naming it (`with np.errstate(...):`)",
                )
            manager = self.atom(self.expr(item.item), item.item)
            self._method_effect(manager, "__enter__", (), item.item)
            managers.append((manager, item.item))
        body = node.body
        if isinstance(body, cst.SimpleStatementSuite):
            self.block([cst.SimpleStatementLine(body=body.body)])
        else:
            self.block(body.body)
        for manager, where in reversed(managers):
            self._method_effect(manager, "__exit__", (Const(None),) * 3, where)

    def _method_effect(self, receiver, name: str, args: tuple, node) -> None:
        call = Call(opaque_method(name), (receiver, *args))
        self.body.append(Effect(call, self.source.location(node)))
