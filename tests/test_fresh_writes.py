"""Writing into an array the function computed: ``y = x * 2; y[0] = 0``, ``M = np.outer(v, v);
M[0, :] = 0``, ``h = W @ x; h[0] = 1``.

Arithmetic on arrays, ufuncs, products and the functions that compute their result anew always
make a new array, so writing into it changes nothing the caller or another name sees: it is
differentiated as a write into an array made by ``np.zeros``. An alias (``z = y``) is still refused,
and the argument itself is never changed. Oracles: the gradients worked out by hand.
"""

import numpy as np
import pytest

import s2sad

X = np.array([0.3, -0.5, 1.2])
W = np.arange(6.0).reshape(2, 3)


def doubled_then_zeroed(x):
    y = x * 2.0
    y[0] = 0.0
    return np.sum(y**2)  # 4 (x1² + x2²)


def outer_without_its_first_row(v):
    M = np.outer(v, v)
    M[0, :] = 0.0
    return np.sum(M @ v)  # (v1 + v2) (v · v)


def sine_kept_first(x):
    y = np.sin(x)
    y[1:] = 0.0
    return np.sum(y)  # sin x0


def product_with_a_fixed_first(W, x):
    h = W @ x
    h[0] = 1.0
    return np.sum(h**2)  # 1 + (W1 · x)²


def copy_by_arithmetic(x):
    y = x + 0.0
    y[0] = 5.0
    return np.sum(y * x)  # 5 x0 + x1² + x2²


def test_writes_into_computed_arrays_by_hand():
    x0, x1, x2 = X
    s = X @ X
    cases = [
        (doubled_then_zeroed, (X,), [[0.0, 8 * x1, 8 * x2]]),
        (
            outer_without_its_first_row,
            (X,),
            [[2 * x0 * (x1 + x2), s + 2 * x1 * (x1 + x2), s + 2 * x2 * (x1 + x2)]],
        ),
        (sine_kept_first, (X,), [[np.cos(x0), 0.0, 0.0]]),
        (copy_by_arithmetic, (X,), [[5.0, 2 * x1, 2 * x2]]),
    ]
    for f, args, (expected,) in cases:
        np.testing.assert_allclose(s2sad.grad(f)(*args), expected, rtol=1e-14, atol=1e-15)
        value, pullback = s2sad.vjp(f, *args)
        assert value == f(*[a.copy() for a in args])
        np.testing.assert_allclose(pullback(1.0)[0], expected, rtol=1e-14, atol=1e-15)
        slope = s2sad.jvp(f, args, (np.ones(3),))[1]
        assert slope == pytest.approx(sum(expected), rel=1e-13)
    h1 = W[1] @ X
    dW = np.vstack([np.zeros(3), 2 * h1 * X])
    np.testing.assert_allclose(
        s2sad.grad(product_with_a_fixed_first)(W, X), dW, rtol=1e-14, atol=1e-15
    )
    np.testing.assert_array_equal(X, [0.3, -0.5, 1.2])  # the argument is never written into


def written_through_an_alias(x):
    y = x * 2.0
    z = y
    y[0] = 0.0
    return np.sum(z)


def test_an_alias_of_a_computed_array_is_still_refused():
    with pytest.raises(s2sad.UnsupportedSyntaxError, match="`y` and `z` are the same array"):
        s2sad.grad(written_through_an_alias)(X)
