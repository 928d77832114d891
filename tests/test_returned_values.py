"""What an entry point returns as the function's value is the function's value, exactly.

A reverse sweep runs loops backwards, restoring each carried value from the tape to what it was in
that iteration; a program that returns the value after its reverse sweep (value_and_grad) must return
the forward value, never one the reverse sweep rebound. Each function here is checked through every
entry point that returns a value (value_and_grad, vjp, jvp, value_and_grad of a gradient), with ``==``
against calling it: the generated forward sweep runs the same operations in the same order, so the
floats agree bit for bit. Derivatives are checked against central differences in float64 with
h = 1e-6: each function is smooth near the point (no branch or loop exit changes within h), so the
error is O(h^2 f''') + O(eps |f| / h), below 1e-7 here; the tolerance is 1e-6 relative and absolute.
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest

import s2sad

H = 1e-6
TOL = dict(rtol=1e-6, atol=1e-6)


# --- loops of every shape -------------------------------------------------------------------------


def for_range(x):
    for i in range(3):
        x = math.sin(x) * 1.5
    return x


def while_loop(x):
    while x < 10.0:
        x = x * 1.7 + math.sin(x)
    return x


def with_break(x):
    for i in range(6):
        if x > 2.0:
            break
        x = x * 1.7 + 0.1
    return x


def branch_in_loop(x):
    for i in range(4):
        if x > 1.0:
            x = math.cos(x) + 0.5 * x
        else:
            x = x * x + 0.7
    return x


def nested(x, y):
    for i in range(3):
        for j in range(2):
            x = math.sin(x * y) + x
        y = y * 0.9 + x * 0.1
    return x


def two_loops(x):
    s = x
    for i in range(3):
        s = math.sin(s) + x
    t = s
    for i in range(2):
        t = t * s + 0.5
    return t


def after_the_loop(x):
    s = x
    for i in range(3):
        s = math.sin(s) * 1.2
    return s * x + math.exp(s)


def tuple_carried(x, y):
    a, b = x, y
    for i in range(3):
        a, b = math.sin(b) + a, a * b
    return a + b


def over_a_tuple(x, y):
    s = x
    for v in (x, y, x * y):
        s = math.sin(s) * v + s
    return s


def _helper_loop(z):
    for i in range(3):
        z = math.sin(z) * 1.3
    return z


def loop_in_helper(x):
    return _helper_loop(x) * _helper_loop(2.0 * x)


def returns_loop_value_twice(x):
    for i in range(2):
        x = math.sin(x) + x
    return x + 0.0 * x


def array_carried(x):
    v = x
    for i in range(3):
        v = np.sin(v) * 1.4 + 0.1
    return np.sum(v * v)


def over_array_rows(m):
    s = 0.0
    for i in range(3):
        s = s * 0.5 + np.sum(np.sin(m[i]) * s + m[i])
    return s


SCALARS = [
    (for_range, (0.7,)),
    (while_loop, (0.7,)),
    (with_break, (0.7,)),
    (branch_in_loop, (0.4,)),
    (nested, (0.3, 0.8)),
    (two_loops, (0.6,)),
    (after_the_loop, (0.9,)),
    (tuple_carried, (0.3, 0.6)),
    (over_a_tuple, (0.4, 0.9)),
    (loop_in_helper, (0.5,)),
    (returns_loop_value_twice, (0.8,)),
]
ARRAYS = [
    (array_carried, (np.array([0.2, -0.4, 0.9]),)),
    (over_array_rows, (np.array([[0.1, 0.5], [0.7, -0.3], [0.2, 0.4]]),)),
]


def differences(f, args):
    """Central differences of f with respect to each argument (element by element for arrays)."""
    result = []
    for i, a in enumerate(args):
        a = np.asarray(a, dtype=float)
        g = np.zeros(a.shape)
        for k in np.ndindex(a.shape):
            up, down = a.copy(), a.copy()
            up[k] += H
            down[k] -= H
            lift = lambda v: v if v.shape else float(v)  # noqa: E731
            at = lambda v: args[:i] + (lift(v),) + args[i + 1 :]  # noqa: E731
            g[k] = (f(*at(up)) - f(*at(down))) / (2 * H)
        result.append(g if g.shape else float(g))
    return result


def ids(cases):
    return [f.__name__ for f, _ in cases]


@pytest.mark.parametrize("f, args", SCALARS + ARRAYS, ids=ids(SCALARS + ARRAYS))
def test_value_and_grad_returns_the_value_of_f(f, args):
    wrt = tuple(range(len(args)))
    value, grads = s2sad.value_and_grad(f, wrt=wrt)(*args)
    assert value == f(*args)
    for got, expected in zip(grads, differences(f, args)):
        np.testing.assert_allclose(got, expected, **TOL)
    # the gradient alone agrees with the gradient returned beside the value
    for got, alone in zip(grads, s2sad.grad(f, wrt=wrt)(*args)):
        np.testing.assert_array_equal(got, alone)


@pytest.mark.parametrize("f, args", SCALARS + ARRAYS, ids=ids(SCALARS + ARRAYS))
def test_vjp_and_jvp_return_the_value_of_f(f, args):
    value, pullback = s2sad.vjp(f, *args)
    assert value == f(*args)
    expected = differences(f, args)
    for got, want in zip(pullback(1.0), expected):
        np.testing.assert_allclose(got, want, **TOL)
    assert value == f(*args)  # running the reverse sweep changes nothing returned before
    zeros = [np.zeros_like(a) if isinstance(a, np.ndarray) else 0.0 for a in args]
    for i, arg in enumerate(args):
        direction = list(zeros)
        direction[i] = np.ones_like(arg) if isinstance(arg, np.ndarray) else 1.0
        y, y_dot = s2sad.jvp(f, args, tuple(direction))
        assert y == f(*args)
        np.testing.assert_allclose(y_dot, np.sum(expected[i]), **TOL)


@pytest.mark.parametrize("f, args", SCALARS[:6], ids=ids(SCALARS[:6]))
def test_value_and_grad_of_a_gradient_returns_the_gradient(f, args):
    gradient = s2sad.grad(f)
    value, second = s2sad.value_and_grad(gradient)(*args)
    assert value == gradient(*args)
    np.testing.assert_allclose(second, differences(gradient, args)[0], rtol=1e-5, atol=1e-5)


def square(x):
    return x * x


def test_the_value_is_copied_before_the_reverse_sweep_only_where_it_rebinds_it():
    source = s2sad.value_and_grad(for_range).source
    forward, reverse = source.split("# reverse sweep")
    assert "    y = w3\n" in forward and "return y, " in reverse
    assert "y =" not in s2sad.grad(for_range).source  # a gradient alone needs no copy
    assert "y =" not in s2sad.value_and_grad(square).source  # nor code without a loop


# --- structured results and arguments ---------------------------------------------------------------


@dataclass
class Motion:
    position: float
    speed: float


def simulate(x, v):
    for i in range(4):
        v = v - 0.1 * math.sin(x)
        x = x + 0.1 * v
    return Motion(x, v)


def as_dict(x, v):
    for i in range(3):
        x, v = x + 0.1 * v, v - 0.1 * x
    return {"x": x, "energy": x * x + v * v}


def as_tuple(x):
    s = x
    for i in range(3):
        s = math.sin(s) + x
    return s, s * x


@pytest.mark.parametrize("f", [simulate, as_dict, as_tuple])
def test_structured_results_are_the_values_of_f(f):
    args = (0.6, 0.2)[: f.__code__.co_argcount]
    value, pullback = s2sad.vjp(f, *args)
    assert value == f(*args)
    pullback(value)  # any cotangent: its structure is the result's
    assert value == f(*args)
    y, _ = s2sad.jvp(f, args, (1.0,) * len(args))
    assert y == f(*args)


def loss(p, x):
    for i in range(3):
        x = np.tanh(p["W"] @ x + p["b"])
    return np.sum(x * x)


def test_value_and_grad_with_a_structured_argument_returns_the_value():
    p = {"W": np.array([[0.5, -0.2], [0.1, 0.3]]), "b": np.array([0.1, -0.1])}
    x = np.array([0.4, 0.7])
    value, grad = s2sad.value_and_grad(loss)(p, x)
    assert value == loss(p, x)
    for key in p:
        expected = differences(lambda leaf: loss({**p, key: leaf}, x), (p[key],))[0]
        np.testing.assert_allclose(grad[key], expected, **TOL)


def test_jacobian_and_hessian_of_a_loop_agree_with_differences():
    # no value is returned here; the sweeps that compute them run the reverse loop, which must not
    # disturb values the reverse sweep reads later
    x = 0.7
    h = 1e-4  # second differences of the gradient: the error is O(h^2), below 1e-6 here
    expected = (s2sad.grad(for_range)(x + h) - s2sad.grad(for_range)(x - h)) / (2 * h)
    np.testing.assert_allclose(s2sad.hessian(for_range)(x), expected, rtol=1e-6, atol=1e-6)
    for mode in ("forward", "reverse"):
        J = s2sad.jacobian(as_tuple, mode=mode)(x)
        want = [differences(lambda t, k=k: as_tuple(t)[k], (x,))[0] for k in range(2)]
        np.testing.assert_allclose(J, want, **TOL)
