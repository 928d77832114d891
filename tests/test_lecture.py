"""The worked examples of the lecture notes (seeds 000-004), at the notes' points, with the notes' numbers.

The functions live in ``samples/lecture.py``. Expected values are the notes' own (rounded as the notes
round them) and closed forms derived by hand; both modes are checked against each.
"""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import s2sad

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
import lecture  # noqa: E402

E = math.e


def both_modes(fn, point, wrt):
    """The gradient at ``point`` by reverse mode, and by forward mode one direction at a time."""
    reverse = s2sad.grad(fn, wrt=wrt)(*point)
    forward = tuple(
        s2sad.jvp(fn, point, tuple(1.0 if k == i else 0.0 for k in range(len(point))))[1]
        for i in wrt
    )
    return np.array(reverse), np.array(forward)


def test_seed000_graph_de_db_is_5():
    # e = (a + b)(b + 1) at a=2, b=1: de/db = 1*2 + 1*3 = 5 and de/da = b + 1 = 2.
    reverse, forward = both_modes(lecture.seed000_graph, (2.0, 1.0), (0, 1))
    assert reverse.tolist() == [2.0, 5.0]
    assert forward.tolist() == [2.0, 5.0]


def test_seed000_y_at_2_5():
    # y = x1 x2 + sin(x1) at (2, 5): dy/dx1 = 5 + cos(2), dy/dx2 = 2; value 10 + sin(2).
    reverse, forward = both_modes(lecture.seed000_y, (2.0, 5.0), (0, 1))
    expected = [5 + math.cos(2.0), 2.0]
    assert reverse.tolist() == expected
    assert forward.tolist() == expected
    value, _ = s2sad.value_and_grad(lecture.seed000_y, wrt=(0, 1))(2.0, 5.0)
    assert value == 10 + math.sin(2.0)


def test_seed000_simpler():
    # d = a (a + b) at a=4, b=3: c = 7, d = 28, dd/da = c + a = 11, dd/db = a = 4.
    value, grads = s2sad.value_and_grad(lecture.seed000_simpler, wrt=(0, 1))(4.0, 3.0)
    assert value == 28.0
    assert grads == (11.0, 4.0)
    assert both_modes(lecture.seed000_simpler, (4.0, 3.0), (0, 1))[1].tolist() == [11.0, 4.0]


SEED001_JACOBIAN = np.array(
    [
        [math.sin(3), 2 * math.exp(2) + 12 * math.cos(3)],
        [1.0, 2 + math.exp(-1) / (1 + math.exp(-1)) ** 2],
    ]
)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_seed001_jacobian_at_2_1(mode):
    jacobian = s2sad.jacobian(lecture.seed001_f, wrt=(0, 1), mode=mode)(2.0, 1.0)
    assert jacobian.shape == (2, 2)
    np.testing.assert_allclose(jacobian, SEED001_JACOBIAN, rtol=1e-14)


@pytest.mark.parametrize("row, fn", [(0, lecture.seed001_y1), (1, lecture.seed001_y2)])
def test_seed001_rows_step_by_step(row, fn):
    # The step-by-step versions (v0..v8) of each row give the same row of the Jacobian.
    reverse, forward = both_modes(fn, (2.0, 1.0), (0, 1))
    np.testing.assert_allclose(reverse, SEED001_JACOBIAN[row], rtol=1e-14)
    np.testing.assert_allclose(forward, SEED001_JACOBIAN[row], rtol=1e-14)


def test_seed001_values_of_the_table():
    # Table (c): y1(2, 1) = exp(2) + 2 sin(3); y2(2, 1) = 2 + 1 / (1 + exp(-1)).
    assert s2sad.trace(lecture.seed001_y1)(2.0, 1.0) == pytest.approx(math.exp(2) + 2 * math.sin(3))
    assert s2sad.trace(lecture.seed001_y2)(2.0, 1.0) == pytest.approx(2 + 1 / (1 + math.exp(-1)))


def test_seed002_f1_at_1_minus_1():
    # The notes: f1(1, -1) = 18.296, t3_bar = 17.4, df1/du1 = 17.4 e = 47.3, df1/du2 = 4.71.
    value, (du1, du2) = s2sad.value_and_grad(lecture.seed002_f1, wrt=(0, 1))(1.0, -1.0)
    assert round(value, 3) == 18.296
    assert round(du1, 1) == 47.3
    assert round(du2, 2) == 4.71
    # And exactly: t3_bar = e^t3 + s(1 - s) with s = sigmoid(t3).
    t3 = E + math.exp(-2)
    s = 1 / (1 + math.exp(-t3))
    t3_bar = math.exp(t3) + s * (1 - s)
    assert du1 == pytest.approx(t3_bar * E, rel=1e-14)
    assert du2 == pytest.approx(t3_bar * 2 * math.exp(-2), rel=1e-14)
    forward = both_modes(lecture.seed002_f1, (1.0, -1.0), (0, 1))[1]
    np.testing.assert_allclose(forward, [du1, du2], rtol=1e-14)


def test_seed002_finite_difference_lesson():
    # The notes estimate df1/du1 with a forward difference of step 0.01 and get 48.19, against AD's
    # 47.3: the truncation error of a one-sided difference is O(step). A central difference with a
    # small step agrees with AD to about 1e-7 relative (error O(h^2) + O(eps / h) at h = 1e-5).
    f1 = lecture.seed002_f1
    ad = s2sad.grad(f1)(1.0, -1.0)
    coarse = (f1(1.01, -1.0) - f1(1.0, -1.0)) / 0.01
    assert round(coarse, 2) == 48.19
    h = 1e-5
    central = (f1(1 + h, -1.0) - f1(1 - h, -1.0)) / (2 * h)
    assert abs(central - ad) < 1e-7 * abs(ad) < abs(coarse - ad)


@pytest.mark.parametrize(
    "point, expected",
    [
        ((1.0, -1.0), (0.0, 1.0)),  # max picks u1: d/du1 = u2 + 1 = 0, d/du2 = u1 = 1
        ((-1.0, 1.0), (1.0, 0.0)),  # max picks u2: d/du1 = u2 = 1, d/du2 = u1 + 1 = 0
        ((2.0, 2.0), (3.0, 2.0)),  # a tie routes to the first argument: (u2 + 1, u1)
    ],
)
def test_seed002_f2_max_routes_the_adjoint(point, expected):
    reverse, forward = both_modes(lecture.seed002_f2, point, (0, 1))
    assert tuple(reverse) == expected
    assert tuple(forward) == expected


@pytest.mark.parametrize("point", [(2.0, 3.0), (5.0, 0.5), (1.5, 10.0)])
def test_seed003_both_modes(point):
    # f = x2 log x1 + sqrt(x2 log x1): with x4 = x2 log x1, df = (1 + 1 / (2 sqrt(x4))) dx4.
    x1, x2 = point
    x4 = x2 * math.log(x1)
    outer = 1 + 1 / (2 * math.sqrt(x4))
    expected = [outer * x2 / x1, outer * math.log(x1)]
    reverse, forward = both_modes(lecture.seed003_f, point, (0, 1))
    np.testing.assert_allclose(reverse, expected, rtol=1e-14)
    np.testing.assert_allclose(forward, expected, rtol=1e-14)


def test_seed004_one_reverse_sweep_gives_every_input():
    # Seed 004: "computes gradients for all inputs" in one reverse sweep; forward needs one per input.
    grads = s2sad.grad(lecture.seed000_y, wrt=("x1", "x2"))(2.0, 5.0)
    assert grads == (5 + math.cos(2.0), 2.0)


def test_trace_of_the_notes():
    # Seed 000 writes the trace of y = x1 x2 + sin(x1) as w1 = x1, ..., w5 = w3 + w4.
    assert s2sad.trace(lecture.seed000_y).equations == [
        "w1 = x1",
        "w2 = x2",
        "w3 = w1 * w2",
        "w4 = sin(w1)",
        "w5 = w3 + w4",
    ]


@pytest.mark.parametrize(
    "name", [n for n in dir(lecture) if n.startswith("seed") and callable(getattr(lecture, n))]
)
def test_every_sample_trace_runs_like_the_function(name):
    fn = getattr(lecture, name)
    point = (1.3, 0.7)
    trace = s2sad.trace(fn)
    assert trace(*point) == fn(*point)
    namespace = trace.namespace
    exec(str(trace), namespace)
    assert namespace[fn.__name__](*point) == fn(*point)
