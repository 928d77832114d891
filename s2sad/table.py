"""The evaluation table of the notes: every SSA variable with its value, tangents and adjoint.

``s2sad.explain(f, 2.0, 5.0)`` runs the teaching forms of the tangent program (once per input, seeded
``ẋ = 1`` for that input and ``0`` for the others) and of the adjoint program, and reads every ``wi``,
``wi_dot`` and ``wi_bar`` they computed, as the tables of seeds 000 and 001 lay them out. Values and
tangents come from the tangent program, whose only sweep is forward; adjoints from the adjoint
program's reverse sweep.

Inside a loop, a variable shows its value and tangents from the last iteration that ran and its
adjoint from the first (the reverse sweep ends there). A loop's carried value (``w5`` of
``w5 = w1`` before the loop and ``w5 = w9`` at the end of each iteration) has a row defined as
``w1, then w9``: its value and tangents after the loop, its adjoint on entry (so it equals the
adjoint of ``w1``). A variable of a branch that did not run, or of a loop that ran no iteration, shows
``—``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

from .ir import Assign, Function, Loop, Var
from .traversal import walk
from .printing import format_expr


@dataclass
class Row:
    name: str
    definition: str
    value: object
    tangents: tuple  # one per input
    adjoint: object


@dataclass
class Explanation:
    """The table, and the gradient (or Jacobian row) it leads to."""

    function: str
    point: dict
    inputs: tuple
    output: int
    rows: list
    gradient: tuple
    directions: tuple  # the inputs with a tangent column: those that are numbers
    trace: Function | None = field(default=None, repr=False)  # the trace the rows are of

    def _cells(self) -> list:
        head = (
            ["variable", "definition", "value"] + [f"ẇ = ∂w/∂{n}" for n in self.directions] + ["w̄"]
        )
        body = [
            [r.name, r.definition, _number(r.value)]
            + [_number(t) for t in r.tangents]
            + [_number(r.adjoint)]
            for r in self.rows
        ]
        return [head] + body

    def _heading(self) -> str:
        at = ", ".join(f"{k}={_number(v)}" for k, v in self.point.items())
        return f"{self.function} at {at}"

    def _gradient_line(self) -> str:
        gradient = ", ".join(f"∂y/∂{n} = {_number(g)}" for n, g in zip(self.inputs, self.gradient))
        which = f" of output {self.output}" if self.output else ""
        return f"gradient{which}: {gradient}"

    def __str__(self) -> str:
        cells = self._cells()
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in cells
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join([self._heading(), *lines, self._gradient_line()])

    def _repr_html_(self) -> str:
        cells = self._cells()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cells[0])
        body = "".join(
            "<tr>" + "".join(f"<td><code>{html.escape(c)}</code></td>" for c in row) + "</tr>"
            for row in cells[1:]
        )
        return (
            f"<p><b>{html.escape(self._heading())}</b></p>"
            f"<table><tr>{head}</tr>{body}</table><p>{html.escape(self._gradient_line())}</p>"
        )


def rows_of(trace: Function, tangent_locals: list, directions: tuple, adjoint_locals: dict) -> list:
    """One row per assignment of the trace and per carried value of a loop, in program order.
    ``tangent_locals`` holds the variables of each tangent sweep, one per input of ``directions``
    (at least one sweep, which gives the values)."""
    rows = []
    for stmt in walk(trace.body):
        if isinstance(stmt, Assign):
            value = stmt.value
            definition = value.name if isinstance(value, Var) else format_expr(value)
            rows.append(
                _row(stmt.target.name, definition, tangent_locals, directions, adjoint_locals)
            )
        elif isinstance(stmt, Loop):
            for header, init, nxt in zip(stmt.headers, stmt.inits, stmt.nexts):
                definition = f"{format_expr(init)}, then {format_expr(nxt)}"
                rows.append(
                    _row(header.name, definition, tangent_locals, directions, adjoint_locals)
                )
    return rows


def _row(name, definition, tangent_locals, directions, adjoint_locals) -> Row:
    forward = tangent_locals[0]
    if name not in forward:  # in a branch that did not run, or a loop that ran no iteration
        return Row(name, definition, None, tuple(None for _ in directions), None)
    tangents = tuple(t.get(f"{name}_dot", 0.0) for t in tangent_locals[: len(directions)])
    return Row(name, definition, forward[name], tangents, adjoint_locals.get(f"{name}_bar", 0.0))


def _number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value + 0.0:.10g}"  # + 0.0 turns -0.0 into 0.0
    if isinstance(value, np.ndarray):  # on one line, long arrays summarised
        text = np.array2string(value + 0.0, precision=6, separator=", ", threshold=12)
        return " ".join(text.split())
    return str(value)
