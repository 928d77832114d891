"""Augmented assignment into an item or a slice of an array the function made: ``y[1:] += x[:2]``.

It is lowered as ``y[1:] = y[1:] + x[:2]``: a new array value bound to ``y``, as any write into
``y`` is (see :meth:`s2sad.array_lowering.ArrayLowering.index_assignment`, which also refuses writing
into an argument or an array another name shares). For NumPy arrays the two agree, repeated fancy
indices included (``y[[0, 0]] += 1`` adds once). The index is evaluated twice, so it must not call
anything that changes what it returns.
"""

from __future__ import annotations

import libcst as cst

from .primitives import BINARY_OPERATORS


class ItemUpdateLowering:
    """The ``y[i] += v`` part of :class:`s2sad.lower.Lowering`."""

    def augmented_item(self, node: cst.AugAssign, symbol: str) -> None:
        current = self.atom(self.expr(node.target), node.target)
        updated = self.emit(BINARY_OPERATORS[symbol], (current, self.expr(node.value)), node)
        self.index_assignment(node.target, updated, node.value)
