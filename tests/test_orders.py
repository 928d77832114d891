"""Derivatives of any order: grad(grad(grad(f))) and beyond, against derivatives worked by hand."""

import math

import numpy as np
import pytest

import s2sad


def quintic(x):
    return x**5 + math.sin(x)


def mixed(x, y):
    return np.exp(x * y) + x**3 * y**2


def named_like_tangents(x_dot, x_dot_):
    return x_dot**4 * x_dot_


def looped(x, n):
    y = 1.0
    for _ in range(n):
        y = y * x
    return y


# f = x⁵ + sin x: f''' = 60x² − cos x, f'''' = 120x + sin x, f⁽⁵⁾ = 120 + cos x, f⁽⁶⁾ = −sin x
QUINTIC = {
    3: lambda x: 60 * x**2 - math.cos(x),
    4: lambda x: 120 * x + math.sin(x),
    5: lambda x: 120 + math.cos(x),
    6: lambda x: -math.sin(x),
}


@pytest.mark.parametrize("order", sorted(QUINTIC))
def test_every_order_of_a_function_of_one_number(order):
    derivative = quintic
    for _ in range(order):
        derivative = s2sad.grad(derivative)
    for x in (-1.3, 0.0, 0.7):
        # the generated programs are the analytic derivatives evaluated in float64: only rounding
        assert derivative(x) == pytest.approx(QUINTIC[order](x), rel=1e-12, abs=1e-12)
        assert type(derivative(x)) is float


def test_mixed_partials_of_third_order():
    x, y = 0.3, 0.8
    e = math.exp(x * y)
    g_xy = s2sad.grad(s2sad.grad(mixed, wrt=0), wrt=1)
    # g_xyy = 2x e + x² y e + 6x², g_xyx = 2y e + x y² e + 12 x y
    g_xyy = 2 * x * e + x * x * y * e + 6 * x * x
    g_xyx = 2 * y * e + x * y * y * e + 12 * x * y
    assert s2sad.grad(g_xy, wrt=1)(x, y) == pytest.approx(g_xyy, rel=1e-13)
    assert s2sad.grad(g_xy, wrt=(0, 1))(x, y) == pytest.approx((g_xyx, g_xyy), rel=1e-13)
    value, third = s2sad.value_and_grad(g_xy, wrt="y")(x, y)
    assert value == pytest.approx(e + x * y * e + 6 * x * x * y, rel=1e-13)  # g_xy itself
    assert third == pytest.approx(g_xyy, rel=1e-13)
    g_xyyx = 2 * e + 2 * x * y * e + 2 * x * y * e + x * x * y * y * e + 12 * x
    assert s2sad.grad(s2sad.grad(g_xy, wrt=1), wrt=0)(x, y) == pytest.approx(g_xyyx, rel=1e-13)


def test_parameters_named_like_the_directions_and_a_loop():
    # ∂³/∂a³ (a⁴ b) = 24 a b
    third = s2sad.grad(s2sad.grad(s2sad.grad(named_like_tangents)))
    assert third(1.5, 2.0) == pytest.approx(24 * 1.5 * 2.0, rel=1e-14)
    # x⁴ by a loop: the fourth derivative is 24, the fifth 0
    fourth = s2sad.grad(s2sad.grad(s2sad.grad(s2sad.grad(looped))))
    assert fourth(0.9, 4) == pytest.approx(24.0, rel=1e-14)
    assert s2sad.grad(fourth)(0.9, 4) == 0.0


def test_a_derivative_that_is_not_one_number_is_refused_at_the_next_order():
    def vector(x, w):
        return np.sum(w * x) * x

    second = s2sad.grad(s2sad.grad(vector, wrt=0), wrt=1)  # ∂²/∂x∂w: an array, like w
    with pytest.raises(s2sad.NonScalarOutputError, match="array of shape"):
        s2sad.grad(second)(0.5, np.ones(3))
