"""s2sad.vmap: per-example gradients, checked against the gradient worked by hand per example and
against s2sad.jacobian of the batched losses, which computes them in one sweep."""

import numpy as np
import pytest

import s2sad


def logistic_loss(p, x, y):
    z = np.dot(p["w"], x) + p["b"]
    return np.log(1.0 + np.exp(-y * z))


def batched_losses(p, X, y):
    z = X @ p["w"] + p["b"]
    return np.log(1.0 + np.exp(-y * z))


def test_per_example_gradients_of_a_structured_parameter():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(5, 3)), np.sign(rng.normal(size=5))
    p = {"w": rng.normal(size=3), "b": 0.2}
    grads = s2sad.vmap(s2sad.grad(logistic_loss), in_axes=(None, 0, 0))(p, X, y)
    # ∂/∂z log(1 + e^{-yz}) = -y σ(-yz): times x for w, times 1 for b
    s = -y / (1.0 + np.exp(y * (X @ p["w"] + p["b"])))
    np.testing.assert_allclose(grads["w"], s[:, None] * X, rtol=1e-13)
    np.testing.assert_allclose(grads["b"], s, rtol=1e-13)
    jac = s2sad.jacobian(batched_losses)(p, X, y)  # row i: the gradient of loss i
    np.testing.assert_allclose(grads["w"], jac["w"], rtol=1e-13)
    np.testing.assert_allclose(grads["b"], jac["b"], rtol=1e-13)


def test_every_argument_mapped_by_default_and_tuples_of_results():
    def f(a, b):
        return a * b, a + b

    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    products, sums = s2sad.vmap(s2sad.grad(lambda u, v: u * u * v, wrt=(0, 1)))(a, b)
    np.testing.assert_array_equal(products, 2 * a * b)  # ∂/∂u u²v = 2uv
    np.testing.assert_array_equal(sums, a * a)  # ∂/∂v = u²
    np.testing.assert_array_equal(s2sad.vmap(f)(a, b)[1], a + b)


@pytest.mark.parametrize(
    "in_axes, args, message",
    [
        ((0, 0), (np.ones(2), np.ones(3)), "different lengths"),
        ((0,), (np.ones(2), np.ones(2)), "gives 1 axes for 2"),
        ((None, None), (np.ones(2), np.ones(2)), "no argument is mapped"),
        ((0, 0), (np.ones(2), 1.0), "holds a number"),
        ((1, 0), (np.ones(2), np.ones(2)), "in_axes entry 1"),
    ],
)
def test_what_cannot_be_mapped_is_refused(in_axes, args, message):
    with pytest.raises(s2sad.ArgumentError, match=message):
        s2sad.vmap(lambda u, v: u * v, in_axes=in_axes)(*args)
