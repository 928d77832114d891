"""Second derivatives (forward mode over the reverse-mode gradient): closed forms, central differences
of s2sad's own gradient, symmetry, control flow, NumPy, and the errors.

Tolerances for differences of the gradient: a central difference with step h = 1e-5 in float64 has a
truncation error of about h²/6 · |f''''| ≈ 2e-11 for the smooth functions here (fourth derivatives of
order 1-10), and a rounding error of about ε · |∇f| / h ≈ 2e-16 · 100 / 1e-5 = 2e-9 for gradients up to
100 in size. rtol 1e-6 and atol 1e-6 sit three orders of magnitude above both and far below any wrong
term (a missing tangent changes the result by order 1).
"""

import math
import os
import sys

import numpy as np
import pytest

import s2sad

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "samples"))

import control_flow  # noqa: E402
import likelihood  # noqa: E402
import networks  # noqa: E402
from test_numpy import f_write_in_loop  # noqa: E402  (first derivatives tested there)

STEP = 1e-5
TOLERANCE = dict(rtol=1e-6, atol=1e-6)


def difference_of_gradient(fn, args, wrt, direction):
    """(∇f(x + h v) − ∇f(x − h v)) / 2h with s2sad's gradient: an oracle for H·v."""
    gradient = s2sad.grad(fn, wrt=wrt)
    plus, minus = list(args), list(args)
    for i, v in zip(wrt, direction):
        plus[i] = args[i] + STEP * v
        minus[i] = args[i] - STEP * v
    return [
        (np.asarray(a) - np.asarray(b)) / (2 * STEP)
        for a, b in zip(gradient(*plus), gradient(*minus))
    ]


def assert_hvp_matches_differences(fn, args, wrt, seed=0):
    rng = np.random.default_rng(seed)
    direction = [rng.normal(size=np.shape(args[i])) for i in wrt]
    direction = [float(v) if np.ndim(v) == 0 else v for v in direction]
    product = s2sad.hvp(fn, wrt=wrt)(*args, *direction)
    expected = difference_of_gradient(fn, args, wrt, direction)
    for ours, theirs, i in zip(product, expected, wrt):
        assert np.shape(ours) == np.shape(args[i])
        np.testing.assert_allclose(ours, theirs, **TOLERANCE)


# --- closed forms ---------------------------------------------------------------------------------


def f_sin(x):
    return math.sin(x)


def f_exp(x):
    return math.exp(2 * x)


def f_cube(x):
    return x**3


def f_log_likelihood(x):
    return math.log(x) - x * x / 2  # a Poisson-like log-likelihood's shape: -1/x² - 1


def f_quotient(x):
    return 1 / (1 + x * x)


@pytest.mark.parametrize(
    "fn, second",
    [
        (f_sin, lambda x: -math.sin(x)),
        (f_exp, lambda x: 4 * math.exp(2 * x)),
        (f_cube, lambda x: 6 * x),
        (f_log_likelihood, lambda x: -1 / x**2 - 1),
        (f_quotient, lambda x: (6 * x * x - 2) / (1 + x * x) ** 3),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_second_derivatives_of_one_variable(fn, second):
    for x in (0.3, 1.7):
        assert s2sad.grad(s2sad.grad(fn))(x) == pytest.approx(second(x), rel=1e-12)
        assert s2sad.hessian(fn)(x) == pytest.approx(second(x), rel=1e-12)
        assert s2sad.hvp(fn)(x, 2.0) == pytest.approx(2 * second(x), rel=1e-12)


def f_product(x, y):
    return x * x * y + math.sin(x * y)


def test_hessian_of_a_product_is_the_closed_form_and_symmetric():
    x, y = 0.7, -1.3
    s, c = math.sin(x * y), math.cos(x * y)
    expected = ((2 * y - y * y * s, 2 * x + c - x * y * s), (2 * x + c - x * y * s, -x * x * s))
    hessian = s2sad.hessian(f_product, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(np.array(hessian), np.array(expected), rtol=1e-12)
    assert hessian[0][1] == hessian[1][0]
    mixed = s2sad.grad(s2sad.grad(f_product, wrt=0), wrt=1)(x, y)
    assert mixed == pytest.approx(expected[0][1], rel=1e-12)


def test_value_and_grad_of_a_gradient():
    value, second = s2sad.value_and_grad(s2sad.grad(f_cube))(2.0)
    assert (value, second) == (12.0, 12.0)


def test_gradient_of_a_gradient_with_respect_to_several_inputs():
    both = s2sad.grad(s2sad.grad(f_product, wrt="x"), wrt=("x", "y"))(0.7, -1.3)
    np.testing.assert_allclose(both, np.array(s2sad.hessian(f_product, wrt=(0, 1))(0.7, -1.3))[0])


# --- control flow ---------------------------------------------------------------------------------


def f_loop_with_branch(x, y):
    total = 0.0
    for i in range(5):
        if total < 1.0:
            total = total + x * y * math.sin(total + x)
        else:
            total = total * math.exp(-y * i * 0.1)
    return total * x


def f_while_with_break(x):
    y = x
    n = 0
    while n < 50:
        y = y * math.cos(y) + x
        if abs(y) > 3.0:
            break
        n = n + 1
    return y * y


def f_nested_loops(a, b):
    s = 0.0
    for i in range(3):
        t = a
        for j in range(4):
            t = math.sin(t) * b + 0.1 * i
        s = s + t * t
    return s


@pytest.mark.parametrize(
    "fn, args, wrt",
    [
        (control_flow.newton_sqrt, (2.0,), (0,)),
        (control_flow.rk4_decay, (0.7, 1.3, 2.0, 20), (0, 1)),
        (control_flow.projectile_range, (10.0, 0.7, 0.01, 0.01), (0, 1, 2)),
        (control_flow.piecewise, (-0.5,), (0,)),
        (control_flow.piecewise, (0.5,), (0,)),
        (control_flow.piecewise, (2.5,), (0,)),
        (f_loop_with_branch, (0.8, 1.1), (0, 1)),
        (f_while_with_break, (0.4,), (0,)),
        (f_nested_loops, (0.3, 1.2), (0, 1)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_hvp_through_control_flow_matches_differences_of_the_gradient(fn, args, wrt):
    assert_hvp_matches_differences(fn, args, wrt)


def test_newton_sqrt_second_derivative_is_the_closed_form():
    # d²/da² sqrt(a) = -1 / (4 a^1.5), to Newton's tolerance of 1e-12 relative in the residual
    assert s2sad.grad(s2sad.grad(control_flow.newton_sqrt))(2.0) == pytest.approx(
        -1 / (4 * 2.0**1.5), rel=1e-9
    )


# --- NumPy ----------------------------------------------------------------------------------------


def network_arguments(N=4, K=5, M=3, seed=1):
    rng = np.random.default_rng(seed)
    shapes = [(N,), (K, N), (K,), (M, K), (M,), (K,), (M,)]
    return [rng.normal(size=shape) for shape in shapes]


def test_network_hvp_matches_differences_of_the_gradient():
    assert_hvp_matches_differences(networks.seed001_loss, network_arguments(), (0, 1, 2, 3, 4))
    rng = np.random.default_rng(2)
    args = [rng.normal(size=s) for s in [(4,), (5, 4), (5, 5), (3, 5), (3,)]]
    assert_hvp_matches_differences(networks.seed003_loss, args, (0, 1, 2, 3))


def f_rows(A, x):
    return np.sum(np.sin(A @ x) ** 2) + np.linalg.norm(x) + np.max(A) * np.sum(x)


@pytest.mark.parametrize(
    "fn, args, wrt",
    [
        (f_rows, (np.arange(6.0).reshape(2, 3) / 7, np.array([0.3, -0.2, 0.5])), (0, 1)),
        (f_write_in_loop, (np.array([0.5, -0.4, 1.2, -2.0]),), (0,)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_numpy_hvp_matches_differences_of_the_gradient(fn, args, wrt):
    assert_hvp_matches_differences(fn, args, wrt)


def test_hessian_of_arrays_has_the_shape_of_the_inputs_twice():
    A, x = np.arange(6.0).reshape(2, 3) / 7, np.array([0.3, -0.2, 0.5])
    blocks = s2sad.hessian(f_rows, wrt=(0, 1))(A, x)
    assert [[np.shape(b) for b in row] for row in blocks] == [
        [(2, 3, 2, 3), (2, 3, 3)],
        [(3, 2, 3), (3, 3)],
    ]
    np.testing.assert_allclose(blocks[0][1], np.moveaxis(blocks[1][0], 0, -1), rtol=1e-12)
    full = s2sad.hessian(f_rows, wrt=1)(A, x)
    np.testing.assert_allclose(full, full.T, rtol=1e-12)
    np.testing.assert_allclose(full, blocks[1][1])


def test_logistic_hessian_is_the_closed_form():
    rng = np.random.default_rng(3)
    X, y, w = rng.normal(size=(20, 3)), (rng.random(20) < 0.5).astype(float), rng.normal(size=3)
    np.testing.assert_allclose(
        s2sad.hessian(likelihood.logistic_nll)(w, X, y),
        likelihood.logistic_hessian(w, X, y),
        rtol=1e-12,
    )


def test_gaussian_hessian_is_the_closed_form():
    x = np.array([0.3, 1.9, -0.4, 1.1, 0.8])
    hessian = s2sad.hessian(likelihood.gaussian_nll, wrt=(0, 1))(0.5, -0.2, x)
    np.testing.assert_allclose(
        np.array(hessian), likelihood.gaussian_hessian(0.5, -0.2, x), rtol=1e-12
    )


def test_gradient_of_a_gradient_of_arrays():
    x = np.array([0.3, -0.2, 0.5])
    # f = s sum(sin(x)): d/dx (df/ds) = cos(x)
    mixed = s2sad.grad(s2sad.grad(lambda_free_scaled_sum, wrt="s"), wrt="x")(1.5, x)
    np.testing.assert_allclose(mixed, np.cos(x), rtol=1e-12)


def lambda_free_scaled_sum(s, x):
    return s * np.sum(np.sin(x))


# --- the source, and what is refused --------------------------------------------------------------


def test_second_order_source_is_printable_and_runs_the_gradient_backwards():
    source = s2sad.hvp(f_loop_with_branch, wrt=(0, 1)).source
    assert source.startswith("def f_loop_with_branch_hvp(x, y, x_dot, y_dot):")
    assert "# reverse sweep" in source and "_bar_dot" in source
    assert "reversed(_tape1)" in source
    assert s2sad.hvp(f_cube).source == s2sad.hvp_source(f_cube)
    for second in (s2sad.hessian(f_cube), s2sad.grad(s2sad.grad(f_cube))):
        assert second.source.startswith("def f_cube_hvp(x, x_dot):")


def f_two_outputs(x):
    return x, x * x


def f_array_output(x):
    return np.sin(x)


def f_recursive(x, n):
    if n == 0:
        return x
    return math.sin(f_recursive(x, n - 1))


def f_prod(x):
    return np.prod(x)


def test_what_cannot_be_differentiated_twice_says_so():
    with pytest.raises(s2sad.NonScalarOutputError, match="returns a tuple"):
        s2sad.hessian(f_two_outputs)
    with pytest.raises(s2sad.NonScalarOutputError, match="Hessian needs a function that returns"):
        s2sad.hessian(f_array_output)(np.ones(3))
    with pytest.raises(s2sad.NonScalarOutputError, match="returns several"):
        s2sad.grad(s2sad.grad(f_product, wrt=(0, 1)))
    with pytest.raises(s2sad.NonScalarOutputError, match="is an array of shape"):
        s2sad.grad(s2sad.grad(f_rows, wrt=1), wrt=0)(np.ones((2, 3)), np.ones(3))
    with pytest.raises(s2sad.NonScalarOutputError, match="returns several"):
        s2sad.grad(s2sad.grad(s2sad.grad(f_cube), wrt=(0,)))  # a tuple of one: several outputs
    with pytest.raises(s2sad.SourceNotFoundError, match="derivative s2sad generated"):
        s2sad.jvp(s2sad.grad(f_cube), (1.0,), (1.0,))
    with pytest.raises(s2sad.NotDifferentiableError, match="calls itself"):
        s2sad.hvp(f_recursive)(0.5, 3, 1.0)


def products_of_all_but_two(x):
    """H of prod(x) by its definition: ∏ of every element but the i-th and j-th, 0 on the diagonal."""
    n = len(x)
    return np.array(
        [[np.prod(np.delete(x, [i, j])) if i != j else 0.0 for j in range(n)] for i in range(n)]
    )


def f_prod_rows(X):
    return np.sum(np.prod(X, axis=1) ** 2)


@pytest.mark.parametrize(
    "x", [np.array([0.5, -1.2, 2.0, 1.5]), np.array([0.5, 0.0, 2.0, 1.5]), np.zeros(3)]
)
def test_hessian_of_a_product_is_exact_with_zeros(x):
    """Exact (rtol 1e-12) even with zero elements, which a division by x would turn into nan."""
    expected = products_of_all_but_two(x)
    np.testing.assert_allclose(s2sad.hessian(f_prod)(x), expected, rtol=1e-12, atol=1e-15)


def test_hessian_of_products_along_an_axis_matches_differences_of_the_gradient():
    X = np.array([[0.5, 0.0, -1.0], [2.0, -1.0, 0.3]])
    V = np.array([[1.0, -0.5, 0.2], [0.0, 0.7, -1.1]])
    (expected,) = difference_of_gradient(f_prod_rows, (X,), (0,), (V,))
    np.testing.assert_allclose(s2sad.hvp(f_prod_rows)(X, V), expected, **TOLERANCE)


def test_command_line_prints_the_second_order_code(capsys):
    from s2sad.cli import main

    path = os.path.join(os.path.dirname(__file__), "..", "samples", "likelihood.py")
    assert main([f"{path}:gaussian_nll", "--hessian", "--wrt", "mu", "s"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# second order (Hessian-vector product)\ndef gaussian_nll_hvp(")
    # shaped like mu and s where the code runs: it is printed for numbers and arrays alike
    returned = "return derivative_like(mu_bar_dot, mu), derivative_like(s_bar_dot, s)"
    assert returned in out and "# forward mode" not in out


def scaled_cubes(x, scale=2.0):
    return scale * np.sum(x**3)


def test_hvp_directions_follow_the_arguments_given_with_defaults_filled_in():
    """H = diag(6 · scale · x): the direction is the last argument, not the defaulted `scale`."""
    x, v = np.array([1.0, 2.0]), np.array([1.0, -1.0])
    np.testing.assert_allclose(s2sad.hvp(scaled_cubes)(x, v), 12.0 * x * v, rtol=1e-15)
    np.testing.assert_allclose(s2sad.hvp(scaled_cubes)(x, 0.5, v), 3.0 * x * v, rtol=1e-15)
    with pytest.raises(s2sad.ArgumentError, match="one direction per input"):
        s2sad.hvp(scaled_cubes)(x)


def written_then_chosen(x, v):
    """An array written into, then read on one path only: on the other, its adjoint is the 0.0 a
    gradient program writes for an array's zero, whose tangent must have the array's shape."""
    a = np.zeros(3)
    a[2] = np.sum(v * v)
    if x < 3:
        b = a
    else:
        b = np.exp(a)
    return np.sum(b)


@pytest.mark.parametrize("x", [1.0, 4.0])
def test_hessian_of_an_array_chosen_on_one_path(x):
    v = np.array([0.3, -0.7])
    hessian = s2sad.hessian(written_then_chosen, wrt=1)(x, v)
    if x < 3:  # sum(v²)
        expected = 2 * np.eye(2)
    else:  # 2 + exp(s), s = sum(v²): exp(s) (2 I + 4 v vᵀ)
        expected = np.exp(v @ v) * (2 * np.eye(2) + 4 * np.outer(v, v))
    np.testing.assert_allclose(hessian, expected, rtol=1e-12, atol=1e-12)


def _guarded_dot(x, v):
    a = np.zeros(3)
    a[2] = x * x
    b = x * a + np.mean(v)
    if np.mean(v) > -0.5:
        c = 1.0
    else:
        c = np.dot(v, b)  # its adjoint is a number where this branch did not run
    return np.sum(a) + np.sum(b) + c


@pytest.mark.parametrize("v", [[0.17, 1.02, 0.85], [-1.0, -0.5, -0.75]])
def test_hessian_where_an_untaken_branch_leaves_an_adjoint_a_number(v):
    # Written out, with S = v0 + v1 + v2: f = x² + x³ + S + 1 on the first path and
    # x² + x³ + S + v2 x³ + S²/3 on the second.
    x, v = 0.4, np.array(v)
    first = np.mean(v) > -0.5
    hxx = 2 + 6 * x + (0.0 if first else 6 * v[2] * x)
    hxv = np.zeros(3) if first else np.array([0.0, 0.0, 3 * x * x])
    hvv = np.zeros((3, 3)) if first else np.full((3, 3), 2 / 3)
    (Hxx, Hxv), (Hvx, Hvv) = s2sad.hessian(_guarded_dot, wrt=(0, 1))(x, v)
    np.testing.assert_allclose(Hxx, hxx, rtol=1e-14)
    np.testing.assert_allclose(Hxv, hxv, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(Hvx, hxv, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(Hvv, hvv, rtol=1e-14, atol=1e-15)
