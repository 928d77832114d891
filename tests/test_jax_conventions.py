"""JAX users' conventions: has_aux=True, argnums= as wrt's other name, and the pullback's check of
its cotangent's shape; derivatives against those worked by hand."""

import math

import numpy as np
import pytest

import s2sad


def squared_residuals(w, x):
    r = w * x - 1.0
    return np.sum(r * r), {"residuals": r, "count": 3}


def scalar_with_aux(a, b):
    return a * a * b, a + b


def one_value(a):
    return a * a


def test_has_aux_returns_the_gradient_of_the_first_value_and_the_aux():
    w, x = np.array([1.0, 2.0]), np.array([0.5, 1.5])
    r = w * x - 1.0
    gradient, aux = s2sad.grad(squared_residuals, has_aux=True)(w, x)
    np.testing.assert_allclose(gradient, 2 * r * x, rtol=1e-15)  # ∂/∂w Σ r² = 2 r x
    np.testing.assert_array_equal(aux["residuals"], r)
    assert aux["count"] == 3
    (value, aux), grads = s2sad.value_and_grad(squared_residuals, (0, 1), has_aux=True)(w, x)
    assert value == pytest.approx(np.sum(r * r), rel=1e-15)
    np.testing.assert_allclose(grads[1], 2 * r * w, rtol=1e-15)  # ∂/∂x Σ r² = 2 r w


def test_has_aux_with_numbers_and_as_a_decorator():
    # ∂/∂a a² b = 2ab, ∂/∂b = a²; the aux a + b is returned as computed
    assert s2sad.grad(scalar_with_aux, wrt=(0, 1), has_aux=True)(2.0, 3.0) == ((12.0, 4.0), 5.0)
    decorated = s2sad.grad(has_aux=True, argnums=1)(scalar_with_aux)
    assert decorated(2.0, 3.0) == (4.0, 5.0)


def test_has_aux_refuses_a_function_returning_one_value_and_is_not_differentiated_again():
    with pytest.raises(s2sad.NonScalarOutputError, match="return a pair"):
        s2sad.grad(one_value, has_aux=True)
    with pytest.raises(s2sad.NonScalarOutputError, match="returns several"):
        s2sad.grad(s2sad.grad(scalar_with_aux, has_aux=True))


def test_argnums_is_wrt():
    def f(a, b):
        return a**3 * math.sin(b)

    a, b = 1.5, 0.4
    assert s2sad.grad(f, argnums=1)(a, b) == pytest.approx(a**3 * math.cos(b), rel=1e-15)
    assert s2sad.jacobian(f, argnums=(0, 1))(a, b) == pytest.approx(
        [3 * a * a * math.sin(b), a**3 * math.cos(b)], rel=1e-15
    )
    assert s2sad.hessian(f, argnums=0)(a, b) == pytest.approx(6 * a * math.sin(b), rel=1e-15)
    assert s2sad.hvp(f, argnums=1)(a, b, 1.0) == pytest.approx(-(a**3) * math.sin(b), rel=1e-15)
    with pytest.raises(s2sad.ArgumentError, match="another name for wrt"):
        s2sad.grad(f, wrt=0, argnums=0)


def vector_out(x):
    return x * 2.0, x[0] * x[1]


@pytest.mark.parametrize(
    "cotangent, message",
    [
        (
            (np.ones(2), np.ones(3)),
            "output\\[1\\] of `vector_out` must be shaped like it, a number",
        ),
        (
            (np.ones(3), 1.0),
            "output\\[0\\] of `vector_out` must be shaped like it, an array of shape \\(2,\\); got an array of shape \\(3,\\)",
        ),
        ((1.0, 1.0), "an array of shape \\(2,\\); got a number"),
        (("a", 1.0), "not a number or an array of numbers"),
    ],
)
def test_the_pullback_refuses_a_cotangent_of_another_shape(cotangent, message):
    _, pullback = s2sad.vjp(vector_out, np.array([1.0, 2.0]))
    with pytest.raises(s2sad.ArgumentError, match=message):
        pullback(cotangent)


def test_the_pullback_takes_a_cotangent_shaped_like_the_output():
    x = np.array([1.0, 2.0])
    _, pullback = s2sad.vjp(vector_out, x)
    (x_bar,) = pullback(([1.0, -1.0], 2.0))  # a list for an array, as NumPy users write it
    # Jᵀu: 2u₀ + 2 x₁, -2 + 2 x₀ by hand
    np.testing.assert_array_equal(x_bar, [2.0 + 2 * 2.0, -2.0 + 2 * 1.0])
