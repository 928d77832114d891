"""Lists grown with ``.append`` and ``.extend`` where their length stays known while lowering.

Library code builds lists of features or terms with ``out = []`` and ``out.append(v)`` in a loop over
a list of known length or over ``range`` of a constant: those loops are unrolled, and the list is one
value per element, as a comprehension's is. Every name of the list sees it grow, as in Python (an
alias, a helper that appends to the list it is given). Where the length would depend on the run (a
loop over ``range(n)`` of an argument, a ``while`` loop, a branch), or where the list belongs to the
caller (an argument, a list inside another value), the call is refused at its line with what to
write instead. Oracles: the gradients worked out by hand, and central differences.
"""

import math

import numpy as np
import pytest

import s2sad

EXACT = dict(rtol=1e-12, atol=1e-12)


def squares_of(xs):
    out = []
    for v in xs:
        out.append(v * v)
    return sum(out)


def features(x):
    feats = []
    for k in range(3):
        feats.append(x[k] * (k + 1))
    feats.extend([x[0] * x[1], math.sin(x[2])])
    return np.sum(np.array(feats) ** 2)


def features_by_hand(x):
    x0, x1, x2 = x
    return np.array(
        [
            2 * x0 + 2 * x0 * x1 * x1,
            8 * x1 + 2 * x0 * x0 * x1,
            18 * x2 + 2 * math.sin(x2) * math.cos(x2),
        ]
    )


def through_an_alias(x):
    a = [x]
    b = a
    a.append(2.0 * x)
    return sum(b) * x  # b sees the append: 3 x², derivative 6x


def _push(lst, v):
    lst.append(v)


def through_a_helper(x):
    out = [x]
    _push(out, x * x)
    return sum(out)  # x + x², derivative 1 + 2x


def test_a_list_appended_to_in_a_loop_over_a_list():
    xs = [0.3, -0.5, 1.2]
    expected = [2 * v for v in xs]
    np.testing.assert_allclose(s2sad.grad(squares_of)(xs), expected, **EXACT)
    value, pullback = s2sad.vjp(squares_of, xs)
    assert value == squares_of(xs)
    np.testing.assert_allclose(pullback(1.0)[0], expected, **EXACT)
    hessian = s2sad.hessian(squares_of)(xs)
    np.testing.assert_allclose(np.array(hessian, dtype=float), 2 * np.eye(3), **EXACT)


def test_a_list_appended_to_and_extended_in_a_range_loop_of_a_constant():
    x = np.array([0.3, -0.5, 1.2])
    np.testing.assert_allclose(s2sad.grad(features)(x), features_by_hand(x), **EXACT)
    direction = np.array([0.5, -1.0, 2.0])
    slope = s2sad.jvp(features, (x,), (direction,))[1]
    np.testing.assert_allclose(slope, features_by_hand(x) @ direction, **EXACT)
    np.testing.assert_allclose(
        s2sad.jacobian(features, mode="forward")(x), features_by_hand(x), **EXACT
    )


@pytest.mark.parametrize(
    "f, slope", [(through_an_alias, lambda x: 6 * x), (through_a_helper, lambda x: 1 + 2 * x)]
)
def test_every_name_of_the_list_sees_it_grow(f, slope):
    assert s2sad.grad(f)(0.7) == pytest.approx(slope(0.7), rel=1e-14)
    assert s2sad.value_and_grad(f)(0.7)[0] == f(0.7)


def grows_in_a_run_time_loop(x, n):
    out = []
    for i in range(n):
        out.append(x * i)
    return sum(out)


def grows_in_a_while_loop(x):
    out, k = [], 0
    while k < 3:
        out.append(x)
        k += 1
    return sum(out)


def grows_on_one_branch(x):
    out = [x]
    if x > 0:
        out.append(x * x)
    return sum(out)


def grows_inside_a_tuple(x):
    out = [x]
    pair = (out, 1.0)
    out.append(x)
    return sum(pair[0])


@pytest.mark.parametrize(
    "f, args, message",
    [
        (grows_in_a_run_time_loop, (0.5, 3), "`out.append` grows a list in a loop that runs"),
        (grows_in_a_while_loop, (0.5,), "`out.append` grows a list in a loop that runs"),
        (grows_on_one_branch, (0.5,), "values of different shapes"),
        (grows_inside_a_tuple, (0.5,), "a list inside another value"),
    ],
)
def test_a_list_whose_growth_would_not_be_followed_is_refused_at_its_line(f, args, message):
    with pytest.raises(s2sad.UnsupportedSyntaxError, match=message) as caught:
        s2sad.grad(f)(*args)
    assert "test_list_growth.py" in str(caught.value)
