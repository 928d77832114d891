"""Branches: if/elif/else, conditional expressions, comparisons, and/or/not, early returns.

Each function is checked on every path, in both modes, against derivatives worked out by hand for the
path taken, and against central differences at points away from the branch boundaries (where the
function is smooth, so the difference quotient converges: h = 1e-6, error O(h^2) + O(eps/h) ~ 1e-10).
"""

import math

import numpy as np
import pytest

import s2sad


def piecewise(x, y):
    if x > 0:
        z = math.sin(x) * y
    elif x > -1:
        z = x * x
    else:
        z = -y
    return z + x


def piecewise_slopes(x, y):
    if x > 0:
        return y * math.cos(x) + 1, math.sin(x)
    if x > -1:
        return 2 * x + 1, 0.0
    return 1.0, -1.0


def absolute(x):
    if x < 0:
        return -x
    return x


def early_in_else(x):
    if x < 1:
        y = x * 3
    else:
        return x * x
    return y + 1


def nested_return(x, y):
    if x > 0:
        if y > 0:
            return x * y
        z = x + y
    else:
        z = x - y
    return z * z


def nested_return_slopes(x, y):
    if x > 0 and y > 0:
        return y, x
    if x > 0:
        return 2 * (x + y), 2 * (x + y)
    return 2 * (x - y), -2 * (x - y)


def conditional_expression(x, y):
    a = x * y if x > y else y * y
    return a + (x if a > 1 else 2.0)


def lazy_and(x):
    # math.log(x) must not run for x <= 0, as Python would not run it.
    if x > 0 and math.log(x) > 1:
        return x * x
    return 3 * x


def lazy_or(x):
    if x <= 0 or math.sqrt(x) < 2:
        return x
    return x * x * x


def chained(x, y):
    if 0 < x < y:
        return x * y
    return x + y


def negated(x):
    if not x > 2:
        return x * x
    return x


def on_intermediate(x):
    y = math.sin(x) * 4
    if y > 1:
        y = y * y
    return y + x


def both_outputs(x, y):
    if x > y:
        return x * y, x
    return y, x + y


def prints_in_branch(x):
    if x > 0:
        print("positive")
    return x * 2


def relu(x):
    return x if x > 0 else 0.0


def central_difference(fn, point, i, h=1e-6):
    plus = list(point)
    minus = list(point)
    plus[i] += h
    minus[i] -= h
    return (fn(*plus) - fn(*minus)) / (2 * h)


def check_both_modes(fn, point, expected):
    n = len(point)
    reverse = s2sad.grad(fn, wrt=tuple(range(n)))(*point)
    forward = [
        s2sad.jvp(fn, point, [1.0 if k == i else 0.0 for k in range(n)])[1] for i in range(n)
    ]
    np.testing.assert_allclose(reverse, expected, rtol=1e-13, atol=0)
    np.testing.assert_allclose(forward, expected, rtol=1e-13, atol=0)
    differences = [central_difference(fn, point, i) for i in range(n)]
    np.testing.assert_allclose(reverse, differences, rtol=1e-6, atol=1e-8)
    assert s2sad.trace(fn)(*point) == fn(*point)


@pytest.mark.parametrize("point", [(0.7, 2.0), (2.5, -1.0), (-0.5, 3.0), (-3.0, 1.5)])
def test_if_elif_else_every_branch(point):
    check_both_modes(piecewise, point, piecewise_slopes(*point))


@pytest.mark.parametrize("x, slope", [(-2.0, -1.0), (3.0, 1.0)])
def test_early_return_from_the_then_branch(x, slope):
    check_both_modes(absolute, (x,), (slope,))


@pytest.mark.parametrize("x, slope", [(0.5, 3.0), (2.0, 4.0)])
def test_early_return_from_the_else_branch(x, slope):
    check_both_modes(early_in_else, (x,), (slope,))


@pytest.mark.parametrize("point", [(1.5, 2.0), (1.5, -0.5), (-1.0, 0.5), (-1.0, -2.0)])
def test_return_from_a_nested_branch_only(point):
    check_both_modes(nested_return, point, nested_return_slopes(*point))


@pytest.mark.parametrize("point", [(3.0, 2.0), (0.5, 2.0), (0.2, 0.3)])
def test_conditional_expressions(point):
    x, y = point
    a = x * y if x > y else y * y
    da = (y, x) if x > y else (0.0, 2 * y)
    expected = (da[0] + (1.0 if a > 1 else 0.0), da[1])
    check_both_modes(conditional_expression, point, expected)


@pytest.mark.parametrize("x, slope", [(-1.0, 3.0), (1.0, 3.0), (4.0, 8.0)])
def test_and_evaluates_lazily(x, slope):
    check_both_modes(lazy_and, (x,), (slope,))


@pytest.mark.parametrize("x, slope", [(-4.0, 1.0), (1.0, 1.0), (9.0, 243.0)])
def test_or_evaluates_lazily(x, slope):
    check_both_modes(lazy_or, (x,), (slope,))


@pytest.mark.parametrize("point, expected", [((1.0, 2.0), (2.0, 1.0)), ((3.0, 2.0), (1.0, 1.0))])
def test_chained_comparison(point, expected):
    check_both_modes(chained, point, expected)


@pytest.mark.parametrize("x, slope", [(1.0, 2.0), (3.0, 1.0)])
def test_not(x, slope):
    check_both_modes(negated, (x,), (slope,))


@pytest.mark.parametrize("x", [0.1, 1.0, 2.0, -1.0])
def test_branch_on_an_intermediate_value(x):
    y = math.sin(x) * 4
    dy = 4 * math.cos(x)
    expected = (2 * y * dy + 1) if y > 1 else (dy + 1)
    check_both_modes(on_intermediate, (x,), (expected,))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("point", [(3.0, 2.0), (1.0, 2.0)])
def test_tuple_results_from_branches(mode, point):
    x, y = point
    expected = [[y, x], [1.0, 0.0]] if x > y else [[0.0, 1.0], [1.0, 1.0]]
    jacobian = s2sad.jacobian(both_outputs, wrt=(0, 1), mode=mode)(*point)
    np.testing.assert_array_equal(jacobian, expected)


def test_print_runs_only_in_the_branch_taken(capsys):
    gradient = s2sad.grad(prints_in_branch)
    assert gradient(1.0) == 2.0
    assert gradient(-1.0) == 2.0
    assert capsys.readouterr().out == "positive\n"


def test_the_branch_taken_decides_the_derivative():
    # As in every AD tool, a comparison on an active value selects the branch actually taken; at the
    # boundary x == 0 relu takes the else branch, whose derivative is 0.
    gradient = s2sad.grad(relu)
    assert (gradient(2.0), gradient(-2.0), gradient(0.0)) == (1.0, 0.0, 0.0)


def test_trace_shows_the_merge_as_runnable_python():
    # Both branches are plain values: the merge alone expresses the branch.
    assert s2sad.trace(relu).equations == ["w1 = x", "w2 = w1 > 0", "w3 = w1 if w2 else 0.0"]
    trace = str(s2sad.trace(piecewise))
    assert "if w3:" in trace and "w10 = w5 if w3 else w9" in trace


def test_adjoint_mirrors_the_branch():
    source = s2sad.adjoint_source(piecewise, teaching=True)
    assert source.count("if w3:") == 2  # once in the forward sweep, once in the reverse sweep


def only_in_one_branch(x):
    if x > 0:
        y = x * 2
    return y


def shapes_differ(x):
    if x > 0:
        return x, x
    return x


def sometimes_nothing(x):
    if x > 0:
        return x, x


def test_a_name_bound_in_one_branch_only_is_an_error():
    with pytest.raises(s2sad.UnsupportedSyntaxError, match="only one branch") as info:
        s2sad.grad(only_in_one_branch)
    assert info.value.location.text.strip() == "return y"


def test_branches_returning_different_shapes_is_an_error():
    with pytest.raises(s2sad.S2SADError, match="different shapes"):
        s2sad.trace(shapes_differ)
    with pytest.raises(s2sad.S2SADError, match="others return nothing"):
        s2sad.trace(sometimes_nothing)


def binds_after_a_branch_that_may_return(x1, x2):
    if x2 < 0.0:
        return x2
    a5 = x2 * 2.0
    if a5 < 0.0:
        a6 = math.cos(x1)
    else:
        if a5 >= 1.0:
            a8 = x1
        elif a5 < 0.5:
            a8 = x2
        else:
            return x1 * x2
        a6 = math.sqrt(1 + x2 * x2) + a8
    a6 *= a5
    return a6


@pytest.mark.parametrize("point", [(0.3, 2.0), (0.3, 0.1), (0.3, 0.3), (0.3, -1.0)])
def test_a_name_bound_after_a_branch_that_may_return(point):
    # `a6` is bound on every path that goes on; the path that returned does not need it.
    x1, x2 = point
    if x2 < 0.0:
        expected = (0.0, 1.0)
    elif 2 * x2 >= 1.0:
        expected = (
            2 * x2,
            2 * x2 * (x2 / math.sqrt(1 + x2 * x2)) + 2 * (math.sqrt(1 + x2 * x2) + x1),
        )
    elif 2 * x2 < 0.5:
        r = math.sqrt(1 + x2 * x2)
        expected = (0.0, 2 * x2 * (x2 / r + 1) + 2 * (r + x2))
    else:
        expected = (x2, x1)
    check_both_modes(binds_after_a_branch_that_may_return, point, expected)


def _two_guarded_uses(x, v):
    s = x
    if x > 0.0:
        s = s + np.sum(v[1:])
    if x > 1.0:
        s = s * v[0]
    return s


@pytest.mark.parametrize("x", [-0.5, 0.5, 2.0])
def test_an_array_read_only_under_untaken_branches_has_a_gradient_of_its_shape(x):
    # Its adjoint is `(0.0 if c else ...) + (0.0 if d else ...)`: a number where neither ran.
    v = np.array([1.0, 2.0, 3.0])
    expected_v = np.zeros(3)  # written out: s = (x + v1 + v2) * v0 on the last path
    if x > 0.0:
        expected_v[1:] = v[0] if x > 1.0 else 1.0
    if x > 1.0:
        expected_v[0] = x + v[1] + v[2]
    for gradient in (
        s2sad.grad(_two_guarded_uses, wrt=(0, 1))(x, v),
        s2sad.vjp(_two_guarded_uses, x, v)[1](1.0),
    ):
        assert isinstance(gradient[1], np.ndarray) and gradient[1].shape == (3,)
        np.testing.assert_allclose(gradient[1], expected_v, rtol=1e-15)
