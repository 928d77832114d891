"""A name rebound to an array of another shape on one path only, and np.logaddexp.

``if fit_intercept: X = np.hstack([X, ones])`` is how linear models add an intercept column: after the
``if``, ``X`` is ``(n, d + 1)`` or ``(n, d)`` depending on a flag read when the code runs. Its shape
is then not known while compiling, and the adjoint of the branch not taken is zeros of *that
branch's* shape. Oracles: the gradients written out by hand (for ``sum(X1 @ w)`` with ``X1`` the
widened matrix, ``∂/∂w = column sums of X1`` and ``∂/∂X = ones ⊗ w[:d]``), and central differences.
"""

import numpy as np
import pytest

import s2sad


def widened_sum(w, X, fit=True):
    if fit:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    return np.sum(X @ w)


X = np.arange(6.0).reshape(3, 2)


@pytest.mark.parametrize("fit", [True, False])
def test_gradients_through_a_rebinding_under_a_flag(fit):
    w = np.array([0.5, -1.0, 2.0]) if fit else np.array([0.5, -1.0])
    wide = np.hstack([X, np.ones((3, 1))]) if fit else X
    dw, dX = s2sad.grad(widened_sum, wrt=(0, 1))(w, X, fit)
    np.testing.assert_allclose(dw, wide.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(dX, np.outer(np.ones(3), w[:2]), rtol=1e-14)
    assert dX.shape == X.shape
    value, pullback = s2sad.vjp(widened_sum, w, X, fit)
    assert value == widened_sum(w, X, fit)
    pw, pX, _ = pullback(1.0)
    np.testing.assert_allclose(pw, dw)
    np.testing.assert_allclose(pX, dX)
    J = s2sad.jacobian(widened_sum, wrt=1, mode="forward")(w, X, fit)
    np.testing.assert_allclose(J, dX)


def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def test_logaddexp_matches_the_logistic_gradient_and_hessian():
    rng = np.random.default_rng(3)
    A, y, w = rng.normal(size=(5, 3)), np.array([0.0, 1.0, 1.0, 0.0, 1.0]), rng.normal(size=3)
    p = 1 / (1 + np.exp(-(A @ w)))
    np.testing.assert_allclose(s2sad.grad(logistic)(w, A, y), A.T @ (p - y) / 5, rtol=1e-12)
    H = s2sad.hessian(logistic)(w, A, y)
    np.testing.assert_allclose(H, A.T @ np.diag(p * (1 - p)) @ A / 5, rtol=1e-12)


def test_logaddexp2_against_central_differences():
    def f(a, b):
        return np.sum(np.logaddexp2(a * a, np.sin(b)))

    a, b = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.1, -0.7])
    da, db = s2sad.grad(f, wrt=(0, 1))(a, b)
    h = 1e-6  # central differences: error ~h² f''' + eps f / h, below 1e-8 here
    for got, which in ((da, 0), (db, 1)):
        for i in range(3):
            step = np.zeros(3)
            step[i] = h
            up = f(a + step, b) if which == 0 else f(a, b + step)
            down = f(a - step, b) if which == 0 else f(a, b - step)
            assert abs(got[i] - (up - down) / (2 * h)) < 1e-8


def log_sum_exp(a, axis=None):
    top = np.max(a, axis=axis, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top)


def log_sum_exp_rows(a):
    return log_sum_exp(a, axis=1)


def _softmax(a, axis):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def test_an_axis_parameter_left_to_its_default_none():
    """The gradient of log-sum-exp is the softmax (over everything for axis=None, per row for 1)."""
    a = np.random.default_rng(5).normal(size=(3, 4))
    np.testing.assert_allclose(s2sad.grad(log_sum_exp)(a), _softmax(a, None), rtol=1e-13)
    np.testing.assert_allclose(s2sad.grad(log_sum_exp_rows)(a), _softmax(a, 1), rtol=1e-13)


def test_an_axis_passed_when_the_code_runs_is_refused_with_the_way_out():
    a = np.ones((2, 3))
    with pytest.raises(s2sad.S2SADError, match="parameter `axis` is a value") as info:
        s2sad.grad(log_sum_exp)(a, 1)
    assert "return f(x, axis=1)" in str(info.value)
