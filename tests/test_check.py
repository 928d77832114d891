"""check_grad: agrees where the derivatives are right, and names each component where they are not."""

import math
import sys
from pathlib import Path

import pytest

import s2sad
from s2sad import rules

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
import lecture  # noqa: E402


def f(x1, x2):
    return x1 * x2 + math.sin(x1)


def two_outputs(x, y):
    return x * y, math.exp(x) - y


@pytest.mark.parametrize("fn, point", [(f, (2.0, 5.0)), (two_outputs, (0.3, -1.2))])
def test_right_derivatives_pass(fn, point):
    report = s2sad.check_grad(fn, *point)
    assert report.ok
    assert set(report.automatic) == {"forward", "reverse"}
    assert "all components agree" in str(report)


def test_every_lecture_function_passes():
    for name in dir(lecture):
        if name.startswith("seed"):
            assert s2sad.check_grad(getattr(lecture, name), 1.3, 0.7).ok


def test_a_wrong_rule_is_caught_and_named(monkeypatch):
    def fresh(x1, x2):  # not compiled before: its derivative uses the broken rule
        return x1 * x2 + math.sin(x1)

    monkeypatch.setitem(rules.RULES, "sin", lambda x, out: rules.cos(x) * 1.001)
    with pytest.raises(s2sad.GradientCheckError) as info:
        s2sad.check_grad(fresh, 2.0, 5.0)
    message = str(info.value)
    assert "d/dx1 by forward mode" in message and "d/dx1 by reverse mode" in message
    assert "d/dx2" not in message  # x2's derivative does not involve sin
    expected = 5 + 1.001 * math.cos(2.0)
    assert repr(expected) in message


def test_the_notes_step_shows_its_error():
    # Seed 002 differences with a step of 0.01 and lands far from AD's 47.30; the check measures
    # that error (the estimates at h and 2h differ by as much) and accounts for it.
    report = s2sad.check_grad(lecture.seed002_f1, 1.0, -1.0, eps=0.01)
    ad = report.automatic["reverse"][0, 0]
    assert round(ad, 2) == 47.30
    assert abs(report.estimate[0, 0] - ad) > 1e-3
    assert report.error[0, 0] >= abs(report.estimate[0, 0] - ad)
    assert report.ok


def test_arrays_are_checked_element_by_element():
    import numpy as np

    def layer(W, x):
        return np.tanh(W @ x), np.sum(x * x)

    W, x = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([0.3, -0.2])
    report = s2sad.check_grad(layer, W, x)
    assert report.ok and report.inputs == (
        "W[0, 0]",
        "W[0, 1]",
        "W[1, 0]",
        "W[1, 1]",
        "x[0]",
        "x[1]",
    )
    # Rows: the two elements of tanh(Wx), then the sum; columns: W's four elements, then x's two.
    assert report.automatic["reverse"].shape == report.estimate.shape == (3, 6)


def test_a_wrong_array_rule_is_caught_at_its_element():
    import numpy as np

    @s2sad.custom_rule
    def cube(x):
        return x**3

    @cube.tangent
    def cube_tangent(x, out, x_dot):
        return 3 * x**2 * x_dot

    @cube.adjoint
    def cube_adjoint(x, out, out_bar):
        return (3 * x * out_bar,)  # wrong: x, not x**2

    def f(x):
        return np.sum(cube(x))

    with pytest.raises(s2sad.GradientCheckError, match=r"d/dx\[1\] by reverse mode") as info:
        s2sad.check_grad(f, np.array([1.0, 2.0]))
    assert "d/dx[0]" not in str(info.value)  # at x = 1 the wrong rule happens to be right


def test_a_notebook_shows_the_report_as_its_table():
    def f(x1, x2):
        return x1 * x2 + math.sin(x1)

    report = s2sad.check_grad(f, 2.0, 5.0)
    page = report._repr_html_()
    assert (
        page.startswith("<table>") and page.count("<tr>") == 1 + 2 * 2
    )  # head, 2 inputs x 2 modes
    assert "<code>x1</code>" in page and "all components agree" in page
    assert repr(report) == "<s2sad.GradientCheck of 2 input(s): all components agree>"
