"""The computation graph of a function (seed 002: "a way of modelling a function into intermediate
steps"): one node per SSA value of its trace, and an edge from each value to every value computed
from it, labelled with the local partial derivative (``∂w3/∂w1 = w2``) taken from the same rules
both modes are generated from (:mod:`s2sad.rules`).

``s2sad.graph(f)`` draws the trace; ``s2sad.graph(f, 2.0, 5.0)`` also writes each value, its adjoint
and the number each partial derivative takes at that point, from the table of :func:`s2sad.explain`.
The DOT text is built here in plain Python; Graphviz's ``dot`` program, when it is installed, turns it
into SVG or PNG.

How it is drawn: inputs are shaded boxes, outputs have a double border. Control flow is drawn as the
trace has it: each block of an ``if`` and each loop body is a box (a cluster) labelled with its
condition or its ``for``/``while`` header. A merge after an ``if`` (``w10 = w3 if w2 else w9``) has
an edge from each branch, whose partial says which one counts. A loop's carried value
(``w5 = w1, then w9``) has an edge from its value on entry and a dashed edge back from its value at
the end of an iteration. Dotted grey edges carry no derivative: comparisons, conditions, loop
counters. At a point, values inside a loop are those of its last iteration and adjoints those of its
first (where the reverse sweep ends), as in the table.

>>> import math, s2sad
>>> def f(x1, x2):
...     return x1 * x2 + math.sin(x1)
>>> g = s2sad.graph(f)
>>> g.edges[:3]
[('w1', 'w3', '∂w3/∂w1 = w2'), ('w2', 'w3', '∂w3/∂w2 = w1'), ('w1', 'w4', '∂w4/∂w1 = cos(w1)')]
>>> s2sad.graph(f, 2.0, 5.0).nodes["w3"]
['w3 = w1 * w2', '= 10', 'w̄3 = 1']
>>> print(g.dot.splitlines()[-2])
  "w4" -> "w5" [label="∂w5/∂w4 = 1"];
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

import numpy as np

from .algebra import const, is_zero, total
from .api import explain, trace
from .errors import user_facing as _user_facing
from .errors import ArgumentError, S2SADError
from .ir import Assign, Call, If, Loop, Primitive, Var
from .traversal import leaves, variables
from .primitives import called_function
from .printing import format_expr
from .custom import is_custom_call
from .array_rules import STRUCTURAL
from .rules import NO_DERIVATIVE, has_rule, partials
from .shapes import Kinds, kind_of

FORMATS = (".svg", ".png", ".dot")
_WHOLE_ARRAY = 6  # arrays of more elements are shown by their shape and corners

INSTALL_HINT = (
    "install Graphviz (apt-get install graphviz, brew install graphviz, conda install graphviz, "
    "or https://graphviz.org/download/)"
)


class GraphvizNotFoundError(S2SADError):
    """Graphviz's ``dot`` program, which turns DOT text into a picture, is not on ``PATH``."""


@dataclass
class Graph:
    """A computation graph: ``dot`` is its DOT text; ``svg()`` renders it with Graphviz.

    ``nodes`` maps each node to the lines of its label, ``edges`` lists ``(tail, head, label)``.
    In a notebook it shows as a picture when Graphviz is installed, as text otherwise.
    """

    name: str
    dot: str
    nodes: dict = field(repr=False)
    edges: list = field(repr=False)

    def svg(self) -> str:
        """The graph as SVG text (raises :class:`GraphvizNotFoundError` without Graphviz)."""
        return render(self.dot, "svg").decode("utf-8")

    def save(self, path: str) -> None:
        """Write the graph to ``path``: ``.dot`` text, or an ``.svg`` or ``.png`` picture."""
        extension = os.path.splitext(path)[1].lower()
        if extension not in FORMATS:
            raise ArgumentError(f"{path}: a graph is saved as {', '.join(FORMATS)}")
        data = self.dot.encode("utf-8") if extension == ".dot" else render(self.dot, extension[1:])
        with open(path, "wb") as out:
            out.write(data)

    def _repr_svg_(self):
        return self.svg() if dot_program() else None  # None: the notebook shows the text instead

    def __str__(self) -> str:
        return self.dot

    def __repr__(self) -> str:
        return f"<s2sad.Graph of {self.name}: {len(self.nodes)} nodes, {len(self.edges)} edges>"


def dot_program() -> str | None:
    """The path of Graphviz's ``dot``, or ``None``."""
    return shutil.which("dot")


def render(dot: str, fmt: str) -> bytes:
    """``dot`` rendered by Graphviz in format ``fmt`` (``svg``, ``png``)."""
    program = dot_program()
    if program is None:
        raise GraphvizNotFoundError(
            "Graphviz's `dot` program is not on PATH, so the graph cannot be drawn",
            hint=INSTALL_HINT,
        )
    done = subprocess.run([program, f"-T{fmt}"], input=dot.encode("utf-8"), capture_output=True)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise S2SADError(f"Graphviz could not draw the graph: {message[0] if message else '?'}")
    return done.stdout


@_user_facing
def graph(fn, *args, wrt=None, output: int = 0) -> Graph:
    """The computation graph of ``fn``; with ``args``, annotated with the numbers at that point.

    ``wrt`` and ``output`` choose, as in :func:`s2sad.explain`, which inputs the table is computed
    for and which output's adjoints the nodes show.

    >>> import s2sad
    >>> def f(a, b):
    ...     return (a + b) * (b + 1)
    >>> g = s2sad.graph(f, 2.0, 1.0)
    >>> [label for tail, head, label in g.edges if head == "w5"]
    ['∂w5/∂w3 = w4 = 2', '∂w5/∂w4 = w3 = 3']
    >>> g.nodes["w2"]
    ['w2 = b', '= 1', 'w̄2 = 5']
    """
    table = explain(fn, *args, wrt=wrt, output=output) if args else None
    function = table.trace if table else trace(fn).function  # lowered for args' structures
    drawing = _Drawing(function, table, getattr(fn, "__globals__", {}))
    return Graph(function.name, drawing.dot(), drawing.nodes, drawing.edges)


class _Drawing:
    """Walks a trace and writes its DOT text: nodes in the clusters of their blocks, edges after."""

    def __init__(self, function, table, module_globals: dict):
        self.function = function
        self.table = table
        self.globals = module_globals
        self.rows = {row.name: row for row in table.rows} if table else {}
        self.values = {name: row.value for name, row in self.rows.items()}
        if table:
            self.values.update(table.point)
        # the adjoints by their names in labels (w̄3), for the rules of operations on arrays
        self.values.update(
            {_bar(n): r.adjoint for n, r in self.rows.items() if r.value is not None}
        )
        result = function.body[-1].value
        outputs = [leaf for leaf in leaves(result) if isinstance(leaf, Var)]
        several = isinstance(result, tuple)
        self.outputs = {
            v.name: f"output {i}" if several else "output" for i, v in enumerate(outputs)
        }
        self.nodes: dict = {}
        self.edges: list = []
        self.edge_lines: list = []
        self.clusters = 0
        self.carried: set = set()  # carried values of the loops around: read inside, their value
        # at the point (after the loop) is not the one the last iteration read

    def dot(self) -> str:
        lines = self.block(self.function.body, "  ")
        for tail in dict.fromkeys(tail for tail, _, _ in self.edges):
            if tail not in self.nodes:  # a parameter read directly, without a copy: an input
                lines.append(self.node(tail, [tail] + self.numbers(tail), "  ", "input"))
        title = self.function.name
        if self.table:
            at = ", ".join(f"{k}={_number(v)}" for k, v in self.table.point.items())
            which = f", adjoints of output {self.table.output}" if self.table.output else ""
            title += f" at {at}{which}"
        legend = "\nedges: local partial derivatives"
        head = [
            f"digraph {_quote(self.function.name)} {{",
            "  rankdir=LR;",
            '  fontname="Helvetica";',
            f"  label={_quote(title + legend)}; labelloc=t;",
            '  node [fontname="Helvetica", fontsize=11];',
            '  edge [fontname="Helvetica", fontsize=9];',
        ]
        return "\n".join(head + lines + self.edge_lines + ["}"]) + "\n"

    # --- statements -----------------------------------------------------------------------------

    def block(self, body: list, indent: str) -> list:
        lines = []
        for stmt in body:
            if isinstance(stmt, Assign):
                lines.append(self.assignment(stmt, indent))
            elif isinstance(stmt, If):
                lines += self.branch(stmt, indent)
            elif isinstance(stmt, Loop):
                lines += self.loop(stmt, indent)
            # Return marks outputs (done up front); print() and comments draw nothing
        return lines

    def assignment(self, stmt: Assign, indent: str) -> str:
        target, value = stmt.target.name, stmt.value
        definition = value.name if isinstance(value, Var) else format_expr(value)
        is_input = isinstance(value, Var) and value.name in self.function.params
        lines = [f"{target} = {definition}"] + self.numbers(target)
        if isinstance(value, Var) and not is_input:
            self.edge(value.name, target, f"∂{target}/∂{value.name} = 1")
        elif isinstance(value, Call):
            self.call_edges(stmt.target, value)
        return self.node(target, lines, indent, "input" if is_input else "value")

    def call_edges(self, target: Var, call: Call) -> None:
        args = list(dict.fromkeys(a.name for a in call.args if isinstance(a, Var)))
        prim = call.prim
        recursive = called_function(prim)
        if is_custom_call(call):
            for name in args:
                label = f"∂{target.name}/∂{name}: from the custom rules of {prim.symbol}"
                self.edge(name, target.name, label)
            return
        if prim.name in STRUCTURAL:
            self.structural_edges(target, call, args)
            return
        if prim.name in NO_DERIVATIVE or (not has_rule(prim.name) and recursive is None):
            for name in args:
                self.edge(name, target.name, None)
            return
        if recursive is not None:
            for name in args:
                label = f"∂{target.name}/∂{name}: from the derivative of {prim.symbol}, recursively"
                self.edge(name, target.name, label)
            return
        slopes = partials(prim.name, call.args, target)
        for name in args:
            slope = total([const(s) for s, a in zip(slopes, call.args) if a == Var(name)])
            if is_zero(slope):
                self.edge(name, target.name, None)
                continue
            label = f"∂{target.name}/∂{name} = {format_expr(slope)}"
            number = self.evaluate(slope)
            if number is not None and number != format_expr(slope):
                label += f" = {number}"
            self.edge(name, target.name, label)

    def structural_edges(self, target: Var, call: Call, args: list) -> None:
        """Edges into an operation on whole arrays (``W @ x``, ``np.sum``): a Jacobian too big for
        a label, so each says what the operation's adjoint rule passes back, ``w̄1 += w̄3 @ w2.T``.
        """
        kinds = Kinds({n: kind_of(v) for n, v in self.values.items() if kind_of(v) is not None})
        rule = STRUCTURAL[call.prim.name](
            *call.args, out=target, params=dict(call.params), kinds=kinds
        )
        seed = Var(_bar(target.name))
        for name in args:
            parts = [
                adjoint(seed)
                for adjoint, arg in zip(rule.adjoints, call.args)
                if arg == Var(name) and adjoint is not None
            ]
            if not parts:
                self.edge(name, target.name, None)
                continue
            contribution = total(parts)
            label = f"{_bar(name)} += {format_expr(contribution)}"
            number = self.evaluate(contribution)
            if number is not None:
                label += f" = {number}"
            self.edge(name, target.name, label)

    def branch(self, stmt: If, indent: str) -> list:
        cond = format_expr(stmt.cond)
        lines = []
        for body, label in ((stmt.then, f"if {cond}"), (stmt.orelse, f"else (not {cond})")):
            if body:
                lines += self.cluster(label, body, indent, [])
        return lines

    def loop(self, stmt: Loop, indent: str) -> list:
        if stmt.cond is not None:
            label = f"while {stmt.cond.name}"
        else:
            targets = stmt.target if isinstance(stmt.target, tuple) else (stmt.target,)
            label = f"for {', '.join(t.name for t in targets)} in {format_expr(stmt.iterable)}"
        if stmt.exit is not None:
            label += f", leaving when {format_expr(stmt.exit)}"
        if self.table:
            label += "\nvalues: last iteration; adjoints: first iteration"
        inner = indent + "  "
        nodes = []
        for header, init, nxt in zip(stmt.headers, stmt.inits, stmt.nexts):
            name = header.name
            lines = [f"{name} = {format_expr(init)}, then {format_expr(nxt)}"]
            numbers = self.numbers(name)
            if len(numbers) == 2:  # a carried value's own numbers are taken at two moments
                numbers = [f"{numbers[0]} after the loop", f"{numbers[1]} on entry"]
            lines += numbers
            nodes.append(self.node(name, lines, inner, "value"))
            carries_derivative = header != stmt.cond
            if isinstance(init, Var):
                text = f"∂{name}/∂{init.name} = 1, on entry" if carries_derivative else None
                self.edge(init.name, name, text)
            if isinstance(nxt, Var):
                text = f"∂{name}/∂{nxt.name} = 1, next iteration" if carries_derivative else None
                self.edge(nxt.name, name, text, back=True)
        if stmt.cond is None:
            counter = targets[0].name
            label_text = f"{', '.join(t.name for t in targets)} in {format_expr(stmt.iterable)}"
            nodes.append(self.node(counter, [label_text], inner, "counter"))
            for var in dict.fromkeys(v.name for v in variables(stmt.iterable)):
                self.edge(var, counter, None)
        outer = self.carried
        self.carried = outer | {h.name for h in stmt.headers}
        lines = self.cluster(label, stmt.body, indent, nodes)
        self.carried = outer
        return lines

    def cluster(self, label: str, body: list, indent: str, first: list) -> list:
        self.clusters += 1
        inner = indent + "  "
        return (
            [f"{indent}subgraph cluster_{self.clusters} {{"]
            + [f'{inner}label={_quote(label)}; style="rounded"; color="#999999";']
            + first
            + self.block(body, inner)
            + [f"{indent}}}"]
        )

    # --- nodes, edges and numbers ---------------------------------------------------------------

    def numbers(self, name: str) -> list:
        """``= 10`` and ``w̄3 = 1`` at the point, or nothing without one."""
        row = self.rows.get(name)
        if row is None:
            return []
        if row.value is None:
            return ["not run"]
        return [f"= {_number(row.value)}", f"{_bar(name)} = {_number(row.adjoint)}"]

    def node(self, name: str, lines: list, indent: str, kind: str) -> str:
        if name in self.outputs:
            lines = lines + [self.outputs[name]]
        self.nodes[name] = lines
        attributes = {
            "input": {"shape": "box", "style": "rounded,filled", "fillcolor": "#dbe9f6"},
            "value": {"shape": "ellipse"},
            "counter": {"shape": "ellipse", "style": "dotted", "color": "#777777"},
        }[kind]
        if name in self.outputs:
            style = "rounded,filled" if kind == "input" else "filled"
            attributes.update(peripheries="2", style=style, fillcolor="#fdf3d0")
        text = "".join(f", {key}={_quote(value)}" for key, value in attributes.items())
        return f"{indent}{_quote(name)} [label={_quote(chr(10).join(lines))}{text}];"

    def edge(self, tail: str, head: str, label: str | None, back: bool = False) -> None:
        self.edges.append((tail, head, label))
        if label is None:
            attributes = 'style=dotted, color="#999999", arrowhead=empty'
        else:
            attributes = f"label={_quote(label)}"
            if back:
                attributes += ", style=dashed, constraint=false"
        self.edge_lines.append(f"  {_quote(tail)} -> {_quote(head)} [{attributes}];")

    def evaluate(self, expr) -> str | None:
        """The number ``expr`` takes at the point, as text; ``None`` without one (or a value)."""
        if not self.table:
            return None
        names: dict = {}

        def name_of(thing) -> str:
            if isinstance(thing, Primitive):
                obj = thing.impl
            elif thing.origin == "global":
                obj = self.globals.get(thing.name, thing.obj)
            else:
                obj = thing.obj
            key = f"_o{id(obj)}"
            names[key] = obj
            return key

        env = {}
        for var in variables(expr):
            if self.values.get(var.name) is None or var.name in self.carried:
                return None
            env[var.name] = self.values[var.name]
        text = format_expr(expr, name_of)
        try:
            return _number(eval(text, {"__builtins__": {"float": float}}, {**names, **env}))
        except (ArithmeticError, ValueError) as err:
            return f"undefined here ({type(err).__name__})"


def _number(value) -> str:
    """Six significant digits: enough to follow the notes, short enough for a picture."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value + 0.0:.6g}"  # + 0.0 turns -0.0 into 0.0
    if isinstance(value, np.ndarray) and value.size > _WHOLE_ARRAY:  # its shape and corners
        shape = " × ".join(map(str, value.shape))
        corners = np.array2string(value, threshold=_WHOLE_ARRAY, edgeitems=2, precision=4)
        return f"({shape}) {corners}"
    return str(value)


def _bar(name: str) -> str:
    """``w̄3``: the notes' adjoint of ``w3``."""
    return name[0] + "\u0304" + name[1:]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
