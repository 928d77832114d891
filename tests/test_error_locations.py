"""Refusals point at the right place in the user's file: file, line, column, source line and caret.

Methods and nested functions are parsed from their dedented source; every blank line and every
comment above the refused construct must still count as a line, and columns must count the
indentation taken off. Each refused construct below is marked by a comment naming the text the
caret must underline, so the expected place is read from this file rather than written twice.
"""

import linecache
import math

import numpy as np
import pytest

import s2sad


def expected_place(snippet: str) -> tuple:
    """``(line, column)`` of ``snippet`` on the one line of this file marked ``# refused: snippet``."""
    lines = linecache.getlines(__file__)
    marked = [
        i for i, text in enumerate(lines, 1) if text.rstrip().endswith(f"# refused: {snippet}")
    ]
    assert len(marked) == 1, f"mark {snippet!r} exactly once"
    line = marked[0]
    return line, lines[line - 1].index(snippet)


def refusal(call) -> s2sad.S2SADError:
    with pytest.raises(s2sad.S2SADError) as info:
        call()
    return info.value


def assert_points_at(err: s2sad.S2SADError, snippet: str) -> None:
    """The error's location, and the header, source line and caret it prints, are ``snippet``'s."""
    line, column = expected_place(snippet)
    loc = err.location
    assert loc is not None, str(err)
    assert (loc.filename, loc.line, loc.column) == (__file__, line, column), str(err)
    text = linecache.getline(__file__, line).rstrip("\n")
    assert loc.text == text
    header, shown, caret = str(err).splitlines()[:3]
    assert header == f'  File "{__file__}", line {line}, column {column + 1}'
    assert shown == "    " + text.strip()
    # the caret sits under the snippet and is as wide as it
    start = caret.index("^")
    assert shown[start : start + len(snippet)] == snippet
    assert caret.strip() == "^" * len(snippet)


class Model:
    """A class whose methods have blank lines and comments above the refused lines."""

    scale = 2.0

    def loss(self, x):

        y = x * self.scale

        # a comment, then a blank line

        return sum({y, 1.0})  # refused: {y, 1.0}

    def deep(self, x):
        # a comment at the method's indentation
        # a comment at column 0, further left than the method's body

        if x > 0.0:

            z = x * x

            return z + sum({z})  # refused: {z}
        return x


def test_method_with_blank_lines():
    model = Model()
    assert_points_at(refusal(lambda: s2sad.grad(model.loss)(1.0)), "{y, 1.0}")
    assert_points_at(refusal(lambda: s2sad.jvp(model.loss, (1.0,), (1.0,))), "{y, 1.0}")


def test_method_with_a_comment_further_left():
    model = Model()
    assert_points_at(refusal(lambda: s2sad.grad(model.deep)(1.0)), "{z}")
    assert_points_at(refusal(lambda: s2sad.value_and_grad(model.deep)(1.0)), "{z}")


def test_nested_function():
    def inner(x):

        y = np.sin(x)

        # blank lines and comments above

        return y * sum({x})  # refused: {x}

    assert_points_at(refusal(lambda: s2sad.grad(inner)(1.0)), "{x}")
    assert_points_at(refusal(lambda: s2sad.jacobian(inner, mode="reverse")(1.0)), "{x}")
    assert_points_at(refusal(lambda: s2sad.hessian(inner)(1.0)), "{x}")


def test_function_defined_inside_the_differentiated_one():
    def outer(x):

        def local(z):

            # the refusal is inside a def inside the function

            return z + sum({z, x})  # refused: {z, x}

        return local(x * 2.0)

    assert_points_at(refusal(lambda: s2sad.grad(outer)(1.0)), "{z, x}")


def test_helper_with_blank_lines_and_comments():
    def helper(v):
        # a helper the differentiated function calls

        w = v * v

        # the refused line follows a blank line

        return w + sum({w})  # refused: {w}

    def f(x):

        return helper(x) + 1.0

    assert_points_at(refusal(lambda: s2sad.grad(f)(1.0)), "{w}")
    assert_points_at(refusal(lambda: s2sad.jvp(f, (1.0,), (1.0,))), "{w}")


class Helpers:
    @staticmethod
    def cube(v):

        # a static method: the helper's lines are indented too

        return v * v * v + sum({v})  # refused: {v}


def test_static_method():
    assert_points_at(refusal(lambda: s2sad.grad(Helpers.cube)(1.0)), "{v}")
    assert_points_at(refusal(lambda: s2sad.jacobian(Helpers.cube, mode="forward")(1.0)), "{v}")


def test_comprehension_inside_a_method():
    class Local:
        def f(self, x):

            ys = x * 2.0

            return np.sum([v for v in ys if v > 0.0])  # refused: v > 0.0

    err = refusal(lambda: s2sad.grad(Local().f)(np.ones(2)))
    assert_points_at(err, "v > 0.0")


def test_unknown_function_inside_a_method():
    class Local:
        def f(self, x):

            # a call s2sad cannot follow, after blank lines

            return x + math.nextafter(x, 2.0)  # refused: math.nextafter(x, 2.0)

    err = refusal(lambda: s2sad.grad(Local().f)(1.0))
    assert_points_at(err, "math.nextafter(x, 2.0)")


def test_dedented_keeps_every_line():
    from s2sad.frontend import dedented

    lines = ["    def f(x):\n", "\n", "  \n", "# left\n", "        return x\n"]
    text, removed = dedented(lines)
    assert text.splitlines() == ["def f(x):", "", "", "# left", "    return x"]
    assert removed == (4, 0, 2, 0, 4)
