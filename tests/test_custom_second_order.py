"""Second derivatives through functions with custom rules: the Hessian-vector product differentiates
the gradient program again, so the call to a custom adjoint rule needs a tangent of its own, which
s2sad generates from the rule's Python source (``_softplus_adjoint_jvp``), while the call to the
custom function itself takes the user's tangent rule.

Oracles: closed-form second derivatives, and central differences of s2sad's gradient along a
direction. Tolerances for the differences: step h = 1e-5 in float64 gives a truncation error of
about h²/6 · |f''''| ≈ 2e-11 (fourth derivatives of order 1 here) and a rounding error of about
ε · |∇f| / h ≈ 2e-16 · 10 / 1e-5 = 2e-10; rtol = atol = 1e-6 sits far above both and far below a
missing term, which changes results by order 0.1 or more.
"""

import math
import os
import sys

import numpy as np
import pytest

import s2sad

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "samples"))

from custom_rules import logsumexp  # noqa: E402  (the sample's, with both rules)

TOLERANCE = dict(rtol=1e-6, atol=1e-6)


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


@s2sad.custom_rule
def softplus(x):
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


@softplus.tangent
def softplus_tangent(x, out, x_dot):
    return x_dot / (1 + math.exp(-x))


@softplus.adjoint
def softplus_adjoint(x, out, out_bar):
    return (out_bar / (1 + math.exp(-x)),)


def x_softplus(x):
    return x * softplus(x)


def lse_of_squares(x):
    return logsumexp(x * x) + np.sum(x)


def softplus_loop(x, y):
    for _ in range(3):
        x = softplus(x * y) - 0.5 * x
    return x * y


@pytest.mark.parametrize("x", [-2.0, -0.3, 0.0, 0.7, 3.0])
def test_numbers_against_the_closed_form(x):
    """f = x·sp(x): f' = sp(x) + x·σ(x), f'' = 2σ(x) + x·σ(x)(1 − σ(x))."""
    s = sigmoid(x)
    expected = 2 * s + x * s * (1 - s)
    assert s2sad.grad(s2sad.grad(x_softplus))(x) == pytest.approx(expected, rel=1e-12)
    assert s2sad.hessian(x_softplus)(x) == pytest.approx(expected, rel=1e-12)
    assert s2sad.hvp(x_softplus)(x, 2.0) == pytest.approx(2 * expected, rel=1e-12)


def test_arrays_against_the_closed_form():
    """f = lse(x²) + Σx with p = softmax(x²): ∂f/∂x_i = 2 x_i p_i + 1 and
    H_ij = 2 δ_ij p_i + 4 x_i x_j p_i (δ_ij − p_j)."""
    x = np.array([0.3, -0.2, 0.5, 1.1])
    p = np.exp(x * x) / np.sum(np.exp(x * x))
    expected = 2 * np.diag(p) + 4 * np.outer(x * p, x) * (np.eye(4) - p)
    np.testing.assert_allclose(s2sad.hessian(lse_of_squares)(x), expected, rtol=1e-12)
    v = np.array([1.0, -2.0, 0.5, 0.0])
    np.testing.assert_allclose(s2sad.hvp(lse_of_squares)(x, v), expected @ v, rtol=1e-12)


def test_a_rule_in_a_loop_against_differences_of_the_gradient():
    args, h = (0.4, 1.3), 1e-5
    gradient = s2sad.grad(softplus_loop, wrt=(0, 1))
    for direction in [(1.0, 0.0), (0.0, 1.0), (0.6, -0.8)]:
        plus = gradient(*(a + h * d for a, d in zip(args, direction)))
        minus = gradient(*(a - h * d for a, d in zip(args, direction)))
        expected = [(p - m) / (2 * h) for p, m in zip(plus, minus)]
        got = s2sad.hvp(softplus_loop, wrt=(0, 1))(*args, *direction)
        np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_the_generated_code_calls_the_tangent_of_the_adjoint_rule():
    source = s2sad.hvp_source(x_softplus)
    assert "softplus_tangent(" in source
    assert "= _softplus_adjoint_jvp(" in source
    assert "_logsumexp_adjoint_jvp(" in s2sad.hvp_source(lse_of_squares)
    assert "def _softplus_adjoint_jvp(x, out, out_bar, x_dot, out_dot, out_bar_dot):" in source


def test_a_missing_tangent_rule_is_refused_naming_the_second_derivative():
    @s2sad.custom_rule
    def cube(x):
        return x * x * x

    @cube.adjoint
    def cube_adjoint(x, out, out_bar):
        return (3 * x * x * out_bar,)

    def f(x):
        return cube(x) + x

    assert s2sad.grad(f)(2.0) == 13.0
    with pytest.raises(s2sad.CustomRuleError, match="no tangent rule.*hessian"):
        s2sad.hessian(f)(2.0)


def test_an_adjoint_rule_that_does_not_return_a_tuple_is_refused():
    @s2sad.custom_rule
    def square(x):
        return x * x

    @square.tangent
    def square_tangent(x, out, x_dot):
        return 2 * x * x_dot

    @square.adjoint
    def square_adjoint(x, out, out_bar):
        return 2 * x * out_bar

    def f(x):
        return square(x) * x

    with pytest.raises(s2sad.CustomRuleError, match="must return a tuple of 1 adjoint") as caught:
        s2sad.hvp(f)(1.0, 1.0)
    assert "return 2 * x * out_bar" in str(caught.value)


def test_an_adjoint_rule_s2sad_cannot_read_is_refused_at_its_line():
    unreadable = np.frompyfunc(lambda x: x, 1, 1)

    @s2sad.custom_rule
    def ident(x):
        return x

    @ident.tangent
    def ident_tangent(x, out, x_dot):
        return x_dot

    @ident.adjoint
    def ident_adjoint(x, out, out_bar):
        return (unreadable(out_bar),)

    def f(x):
        return ident(x) * x

    with pytest.raises(s2sad.S2SADError) as caught:
        s2sad.hessian(f)(1.0)
    assert "unreadable(out_bar)" in str(caught.value)
