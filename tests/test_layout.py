"""Long generated lines are split exactly as black splits them, without black on the first call.

The oracle is black itself: random statements of the shapes generated code has (assignments of
sums, products, conditional expressions, calls, subscripts, displays; returns of tuples and
dicts; loop and branch headers; ``def`` lines with many parameters), at several indentations and
lengths around black's limit, are laid out by :mod:`s2sad.layout` and by ``black.format_str``,
which must agree byte for byte. Generated programs with long lines are checked the same way.
"""

from __future__ import annotations

import math
import random

import black
import pytest

import s2sad
from s2sad import layout
from s2sad.codegen import black_format

MODE = black.Mode()


class Statements:
    """Random statements in the printer's spelling (black's spacing, the fewest parentheses)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def name(self) -> str:
        return self.rng.choice(["w", "x", "y_bar", "w1_dot", "params_b", "_tape3"]) + str(
            self.rng.randrange(1, 40)
        )

    def atom(self, depth: int) -> str:
        r = self.rng.random()
        if depth <= 0 or r < 0.35:
            return self.rng.choice([self.name(), self.name(), "1.0", "2", "0.5", '"a"'])
        if r < 0.55:
            fn = self.rng.choice(["cos", "np.exp", "hypot", "np.where", "unbroadcast", "abs"])
            args = [self.expr(depth - 1) for _ in range(self.rng.randrange(1, 4))]
            if self.rng.random() < 0.2:
                args.append(f"axis={self.rng.randrange(3)}")
            return f"{fn}({', '.join(args)})"
        if r < 0.65:
            return f"{self.name()}[{self.expr(depth - 1)}]"
        if r < 0.75:
            return (
                f"({self.expr(depth - 1)} if {self.compare(depth - 1)} else {self.expr(depth - 1)})"
            )
        if r < 0.82:
            items = [self.expr(depth - 1) for _ in range(self.rng.randrange(2, 4))]
            return f"[{', '.join(items)}]"
        if r < 0.88:
            return f"({self.expr(depth - 1)},)"
        if r < 0.94:
            return f"{self.name()}.sum(axis={self.rng.randrange(2)}).reshape({self.name()}.shape)"
        return f"({self.expr(depth - 1)}) ** 2"

    def expr(self, depth: int) -> str:
        parts = [self.atom(depth)]
        for _ in range(self.rng.randrange(0, 4)):
            op = self.rng.choice([" + ", " - ", " * ", " / ", " + ", " * "])
            operand = self.atom(depth)
            if op in (" * ", " / ") and _loosest_is_a_sum(operand):
                operand = f"({operand})"
            parts.append(op + operand)
        text = "".join(parts)
        if self.rng.random() < 0.1:
            text = f"-{self.name()} * {self.atom(depth)}"
        return text

    def compare(self, depth: int) -> str:
        op = self.rng.choice([" < ", " > ", " == ", " <= ", " != "])
        return f"{self.atom(depth)}{op}{self.atom(depth)}"

    def ternary(self, depth: int) -> str:
        text = f"{self.expr(depth)} if {self.compare(depth)} else {self.expr(depth)}"
        if self.rng.random() < 0.4:
            text = f"{self.expr(depth)} if {self.compare(depth)} else {text}"
        return text

    def value(self, depth: int) -> str:
        return self.ternary(depth) if self.rng.random() < 0.2 else self.expr(depth)

    def statement(self) -> str:
        depth = self.rng.randrange(1, 4)
        r = self.rng.random()
        if r < 0.5:
            return f"{self.name()} = {self.value(depth)}"
        if r < 0.6:
            targets = ", ".join(self.name() for _ in range(self.rng.randrange(2, 14)))
            return f"{targets} = next({self.name()})"
        if r < 0.72:
            values = [self.value(depth) for _ in range(self.rng.randrange(1, 4))]
            if self.rng.random() < 0.3:
                keys = ['"a"', '"bb"', '"c_1"', '"energy"']
                values.append("{" + ", ".join(f"{k}: {self.atom(1)}" for k in keys) + "}")
            return "return " + ", ".join(values)
        if r < 0.8:
            return f"{self.name()}.append(({', '.join(self.atom(1) for _ in range(8))}))"
        if r < 0.88:
            return f"if {self.compare(depth)} and {self.compare(depth)}:"
        if r < 0.94:
            targets = ", ".join(self.name() for _ in range(self.rng.randrange(1, 16)))
            iterable = self.rng.choice([f"range({self.expr(depth)})", f"reversed({self.name()})"])
            return f"for {targets} in {iterable}:"
        params = [self.name() for _ in range(self.rng.randrange(1, 14))]
        if self.rng.random() < 0.3:
            params.append("x_dot=1.0")
        return f"def f_grad({', '.join(dict.fromkeys(params))}):"


def _loosest_is_a_sum(text: str) -> bool:
    """Whether ``text`` has a ``+`` or ``-`` outside brackets (then a product parenthesises it)."""
    depth = 0
    for i, char in enumerate(text):
        depth += char in "([{"
        depth -= char in ")]}"
        if depth == 0 and text[i : i + 3] in (" + ", " - ", " if"):
            return True
    return False


def _in_a_block(line: str) -> tuple:
    """Source black can parse holding ``line`` at its indentation, and the text after it."""
    levels = (len(line) - len(line.lstrip())) // 4
    opening = "".join("    " * k + "if c:\n" for k in range(levels))
    after = "    " * (levels + 1) + "pass\n" if line.rstrip().endswith(":") else ""
    return opening, after


@pytest.mark.parametrize("seed", range(6))
def test_random_long_statements_are_split_as_black_splits_them(seed):
    statements = Statements(seed)
    checked = 0
    for _ in range(800):
        statement = statements.statement()
        levels = 0 if statement.startswith("def") else statements.rng.randrange(0, 4)
        line = "    " * levels + statement
        if not 80 <= len(line) <= 220:
            continue
        opening, after = _in_a_block(line)
        expected = black.format_str(opening + line + "\n" + after, mode=MODE)
        try:
            lines = layout.split_statement(line)
        except layout.Unsupported:
            continue
        assert opening + "\n".join(lines) + "\n" + after == expected, line
        checked += 1
    assert checked >= 150  # most statements of these shapes are laid out here, not by black


def test_generated_module_with_long_lines_is_black_stable_and_needs_no_black(tmp_path, monkeypatch):
    # Many inputs, each used by several operations: long adjoint sums, returns and signatures.
    names = [f"input_number_{k}" for k in range(9)]
    body = " + ".join(f"math.sin({a}) * {b}" for a, b in zip(names, names[1:] + names[:1]))
    path = tmp_path / "s2sad_long_lines.py"
    path.write_text(
        f"import math\n\n\ndef f({', '.join(names)}):\n    return {body}\n\n\n"
        "def g(x, y):\n    return (x * y if x > y else x - y) * math.cosh(x + y * x + y * y)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__("s2sad_long_lines")
    format_str = black.format_str
    calls = []
    monkeypatch.setattr(black, "format_str", lambda *a, **k: calls.append(a) or format_str(*a, **k))
    sources = [
        make(fn)
        for fn in (module.f, module.g)
        for make in (s2sad.adjoint_source, s2sad.tangent_source)
    ]
    assert not calls  # laid out without black
    # Some statements were too long for one line and were split at a bracket.
    assert any(line.endswith(("(", "[", "{")) for source in sources for line in source.splitlines())
    for source in sources:
        code = [line for line in source.splitlines() if not line.lstrip().startswith(("#", '"'))]
        assert max(len(line) for line in code) <= 88
        assert format_str(source, mode=MODE) == source


def test_a_statement_outside_the_grammar_is_left_to_black():
    # A lambda is never generated; were one long, black would lay it out.
    line = "w = sorted(" + ", ".join(f"value_{k}" for k in range(12)) + ", key=lambda v: v)"
    with pytest.raises(layout.Unsupported):
        layout.split_statement(line)
    assert black_format(line + "\n") == black.format_str(line + "\n", mode=MODE)
