"""Edge cases of NumPy code: repeated fancy indices, reductions over several axes, ``np.dot`` of
numbers and of arrays of three axes, ``x ** 0`` at 0, the loop variable after its loop, norms of every
order, casts to integer types, pullbacks that keep what they read, outputs of one element, numbers
broadcast into arrays, and ties of ``max`` and ``min``.

Each case is checked through several entry points (grad, value_and_grad, jvp, vjp, jacobian in both
modes, hessian) against an oracle the implementation does not share: an analytic derivative written
here, or central differences in float64. With a step of 1e-6 the truncation error of a central
difference is O(h²) ≈ 1e-12 times the third derivative and the rounding error about
1e-16 / 1e-6 = 1e-10 times the function's size, so 1e-6 (relative and absolute) is far above both;
second derivatives are central differences of the gradient with a step of 1e-5 (rounding then
≈ 1e-11 / 1e-5), compared at 1e-5.
"""

from __future__ import annotations

import importlib.util
import numpy as np
import pytest

import s2sad

RNG = np.random.default_rng(20261207)
STEP, TOLERANCE = 1e-6, 1e-6
HESSIAN_STEP, HESSIAN_TOLERANCE = 1e-5, 1e-5
ORD = 3  # read by `global_order`, rebound by a test


def central_jacobian(fn, x, step=STEP):
    """∂fn/∂x by central differences, shaped ``fn(x).shape + x.shape`` (as ``s2sad.jacobian``)."""
    x = np.asarray(x, dtype=float)
    columns = []
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        high, low = (fn(v if x.ndim else float(v)) for v in (up, down))
        columns.append((np.asarray(high) - np.asarray(low)) / (2 * step))
    out_shape = np.shape(columns[0])
    return np.moveaxis(np.array(columns), 0, -1).reshape(out_shape + x.shape)


def close(actual, expected, tolerance=TOLERANCE):
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)


def assert_every_mode(fn, x, hessian=True):
    """The derivative of ``fn`` (returning one number) at ``x`` agrees with central differences in
    grad, value_and_grad, jvp, vjp, jacobian (both modes) and, if asked, hessian."""
    expected = central_jacobian(fn, x)
    value, gradient = s2sad.value_and_grad(fn)(x)
    close(value, fn(x), 1e-12)
    close(gradient, expected)
    assert np.shape(gradient) == np.shape(x)
    close(s2sad.grad(fn)(x), expected)
    direction = RNG.normal(size=np.shape(x))
    direction = direction if np.ndim(x) else float(direction)
    close(s2sad.jvp(fn, (x,), (direction,))[1], np.sum(expected * direction))
    close(s2sad.vjp(fn, x)[1](1.0)[0], expected)
    for mode in ("forward", "reverse"):
        close(s2sad.jacobian(fn, mode=mode)(x), expected)
    if hessian:
        gradient_fn = s2sad.grad(fn)
        second = central_jacobian(gradient_fn, x, HESSIAN_STEP)
        close(s2sad.hessian(fn)(x), second, HESSIAN_TOLERANCE)


# --- indexing with repeated positions ------------------------------------------------------------


def read_twice(x):
    return np.sum(x[np.array([0, 0, 1])] * np.array([1.0, 2.0, 3.0]))


def read_twice_squared(x):
    return np.sum(x[np.array([0, 0, 1])] ** 2)


def read_listed(x):
    return np.sum(x[[0, 0, 1]])


def write_listed(x):
    y = np.zeros(3)
    y[[0, 0]] = x
    return np.sum(y)


def test_a_repeated_index_read_adds_up():
    close(s2sad.grad(read_listed)(np.array([1.0, 2.0, 3.0])), [2.0, 1.0, 0.0])
    assert s2sad.grad(write_listed)(1.0) == 1.0
    x = np.array([1.0, 2.0, 3.0])
    # each read contributes: x[0] is read with weights 1 and 2, x[1] with 3
    close(s2sad.grad(read_twice)(x), [3.0, 3.0, 0.0])
    close(s2sad.grad(lambda x: np.sum(x[np.array([0, 0, 1])]))(x), [2.0, 1.0, 0.0])
    assert_every_mode(read_twice, x)
    assert_every_mode(read_twice_squared, x)
    close(s2sad.hessian(read_twice_squared)(x), np.diag([4.0, 2.0, 0.0]))


def write_twice(x):
    y = np.zeros(3)
    y[np.array([0, 0])] = x
    return np.sum(y * np.array([2.0, 3.0, 5.0]))


def write_values_twice(v):
    y = np.zeros(4)
    y[np.array([0, 2, 0])] = v * v
    return np.sum(y * np.array([2.0, 3.0, 5.0, 7.0]))


def test_a_repeated_index_write_counts_the_value_that_stays():
    # NumPy keeps one of the values written to a place: the derivative follows the one it keeps
    assert_every_mode(write_twice, 1.5)
    close(s2sad.grad(write_twice)(1.5), 2.0)
    v = np.array([1.0, 2.0, 3.0])
    assert_every_mode(write_values_twice, v)


# --- reductions over several axes ------------------------------------------------------------------


def max_over_two(x):
    return np.sum(np.max(x, axis=(0, 2)) ** 2)


def min_over_two_kept(x):
    return np.sum(np.min(x, axis=(0, 1), keepdims=True) ** 2)


def prod_over_two(x):
    return np.sum(np.prod(x, axis=(0, 2)))


def prod_of_all_kept(x):
    return np.sum(np.prod(x, axis=None, keepdims=True))


def mean_over_two(x):
    return np.sum(np.mean(x, axis=(1, 2)) ** 2)


def sum_over_two(x):
    return np.sum(np.sum(x, axis=(-1, 0)) ** 2)


@pytest.mark.parametrize(
    "fn",
    [
        max_over_two,
        min_over_two_kept,
        prod_over_two,
        prod_of_all_kept,
        mean_over_two,
        sum_over_two,
    ],
)
def test_reductions_over_a_tuple_of_axes(fn):
    x = RNG.normal(size=(2, 3, 2)) + 2.0  # no ties, no zeros
    assert_every_mode(fn, x)


def test_prod_kept_dims_and_max_of_all_axes_analytically():
    x = np.array([1.0, 2.0])
    close(s2sad.grad(prod_of_all_kept)(x), [2.0, 1.0])
    cube = np.arange(8.0).reshape(2, 2, 2)
    expected = np.zeros((2, 2, 2))
    expected[1, 1, :] = 1.0  # the max over axes 0 and 1, for each k, is x[1, 1, k]
    close(s2sad.grad(lambda x: np.sum(np.max(x, axis=(0, 1))))(cube), expected)


# --- np.dot of numbers and of arrays of more axes ----------------------------------------------------


def dot_number_array(x):
    return np.sum(np.dot(2.0, x) * x)


def dot_array_number(x):
    return np.sum(np.dot(x, 1.5) * x)


def dot_cubes(x):
    return np.sum(np.dot(x, x) ** 2)


def dot_cube_vector(x):
    return np.sum(np.dot(x, np.array([1.0, -2.0])) ** 2)


def dot_matrix_cube(x):
    return np.sum(np.dot(x[0], x) ** 2)


@pytest.mark.parametrize(
    "fn, shape",
    [
        (dot_number_array, (3,)),
        (dot_array_number, (2, 2)),
        (dot_cubes, (2, 2, 2)),
        (dot_cube_vector, (2, 3, 2)),
        (dot_matrix_cube, (2, 2, 2)),
    ],
)
def test_dot_of_numbers_and_of_arrays_of_three_axes(fn, shape):
    assert_every_mode(fn, RNG.normal(size=shape))


def test_dot_of_a_number_analytically():
    close(s2sad.grad(lambda x: np.sum(np.dot(2.0, x)))(np.ones(3)), [2.0, 2.0, 2.0])
    close(
        s2sad.grad(lambda x: np.sum(np.dot(x, 1.5)))(np.ones((2, 2))),
        np.full((2, 2), 1.5),
    )


# --- x ** 0 at 0 -----------------------------------------------------------------------------------


def power_zero(x):
    return x**0


def power_zero_sum(x):
    return np.sum(x**0 + np.power(x, 0) * x)


def test_x_to_the_zero_at_zero_in_every_mode():
    # d/dx x**0 = 0 everywhere, 0 included: no division by zero in the derivative code
    assert s2sad.grad(power_zero)(0.0) == 0.0
    assert s2sad.value_and_grad(power_zero)(0.0) == (1.0, 0.0)
    assert s2sad.jvp(power_zero, (0.0,), (1.0,)) == (1.0, 0.0)
    assert s2sad.vjp(power_zero, 0.0)[1](1.0) == (0.0,)
    for mode in ("forward", "reverse"):
        assert s2sad.jacobian(power_zero, mode=mode)(0.0) == 0.0
    assert s2sad.hessian(power_zero)(0.0) == 0.0
    assert s2sad.grad(s2sad.grad(power_zero))(0.0) == 0.0
    zeros = np.zeros(3)
    value, tangent = s2sad.jvp(power_zero, (zeros,), (np.ones(3),))
    close(value, np.ones(3))  # x ** 0 of an array is an array of ones, not the number 1
    close(tangent, np.zeros(3))
    close(s2sad.elementwise_grad(power_zero)(zeros), np.zeros(3))
    close(s2sad.jacobian(power_zero, mode="reverse")(zeros), np.zeros((3, 3)))
    close(s2sad.grad(power_zero_sum)(zeros), np.ones(3))  # d/dx (1 + x) = 1
    close(s2sad.hessian(power_zero_sum)(zeros), np.zeros((3, 3)))


# --- the loop variable after its loop ----------------------------------------------------------------


def counter_after(x):
    for i in range(3):
        x = x * 2
    return x * i


def counter_before_and_after(x, n):
    i = 5
    for i in range(n):
        x = x * 2
    return x * i


def counter_reassigned(x):
    i = 0
    for i in range(3):
        x = x * x
        i = i + 10
    return x * i


def counter_reassigned_unbound(x):
    for i in range(3):
        x = x * 2
        i = i + 10
    return x * i


def counter_in_a_nested_loop(x):
    for k in range(2):
        for i in range(3):
            x = x * 2
        x = x * (i + k + 1.0)
    return x * k


def test_the_loop_variable_keeps_its_last_value():
    assert s2sad.grad(counter_after)(1.0) == 16.0  # x * 8 * 2
    assert_every_mode(counter_after, 1.3)
    assert_every_mode(counter_reassigned, 1.1)
    assert s2sad.grad(counter_reassigned)(1.1) == pytest.approx(12 * 8 * 1.1**7)
    assert s2sad.grad(counter_in_a_nested_loop)(1.0) == 8 * 3 * 8 * 4 * 1
    assert_every_mode(counter_in_a_nested_loop, 0.7)


def test_a_loop_that_runs_no_iteration_leaves_the_variable_as_it_was():
    assert s2sad.grad(counter_before_and_after)(1.0, 0) == 5.0
    assert s2sad.grad(counter_before_and_after)(1.0, 3) == 16.0
    assert s2sad.jvp(counter_before_and_after, (1.0, 0), (1.0, 0.0)) == (5.0, 5.0)


def test_a_loop_variable_reassigned_in_the_body_with_no_value_before_is_refused():
    with pytest.raises(s2sad.UnsupportedSyntaxError, match="reassigned in its body") as info:
        s2sad.grad(counter_reassigned_unbound)(1.0)
    assert "return x * i" in str(info.value)


# --- norms ---------------------------------------------------------------------------------------


def vector_norm(order):
    def norm(x):
        return np.linalg.norm(x, order)

    return norm


def global_order(x):
    return np.linalg.norm(x, ORD)


def row_norms(x):
    return np.sum(np.linalg.norm(x, 3, axis=1) ** 2)


def column_max_norm_kept(x):
    return np.sum(np.linalg.norm(x, 1, axis=(0, 2), keepdims=True))


def stacked_nuclear(x):
    return np.sum(np.linalg.norm(x, "nuc", axis=(1, 2)))


def p_norm_gradient(x, p):
    """∂‖x‖_p/∂x = sign(x) |x|^(p-1) / ‖x‖_p^(p-1), written out independently."""
    norm = np.sum(np.abs(x) ** p) ** (1 / p)
    return np.sign(x) * np.abs(x) ** (p - 1) / norm ** (p - 1)


@pytest.mark.parametrize("order", [1, 1.5, 2, 3, 4.5])
def test_vector_p_norms(order):
    x = np.array([1.0, -2.5, 0.7, 3.0])
    close(s2sad.grad(vector_norm(order))(x), p_norm_gradient(x, order))
    assert_every_mode(vector_norm(order), x, hessian=order != 1)
    if order == 1:  # piecewise linear: the second derivative is 0
        close(s2sad.hessian(vector_norm(order))(x), np.zeros((4, 4)))


def test_vector_norms_of_infinite_order():
    x = np.array([1.0, -3.0, 0.7, 2.0])
    close(s2sad.grad(vector_norm(np.inf))(x), [0.0, -1.0, 0.0, 0.0])
    close(s2sad.grad(vector_norm(-np.inf))(x), [0.0, 0.0, 1.0, 0.0])
    for order in (np.inf, -np.inf):
        assert_every_mode(vector_norm(order), x, hessian=False)
        close(s2sad.hessian(vector_norm(order))(x), np.zeros((4, 4)))


def test_a_norm_order_read_from_a_module_global_is_read_when_the_code_runs():
    global ORD
    x = np.array([1.0, -2.0, 0.5])
    gradient = s2sad.grad(global_order)
    close(gradient(x), p_norm_gradient(x, 3))
    ORD = 1
    try:
        close(gradient(x), np.sign(x))  # the same compiled code, the order it now reads
    finally:
        ORD = 3


def test_matrix_norms_against_central_differences():
    m = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]])
    for order in (1, -1, np.inf, -np.inf, 2, -2, "nuc", "fro", None):
        norm = vector_norm(order)
        assert_every_mode(norm, m, hessian=order in ("fro", None))


def test_matrix_norms_of_column_and_row_sums_analytically():
    m = np.array([[1.0, -2.0], [-3.0, 4.0]])
    # column sums of |m|: 4, 6 (ord=1 takes the second column); row sums: 3, 7 (inf: the second row)
    close(s2sad.grad(vector_norm(1))(m), [[0.0, -1.0], [0.0, 1.0]])
    close(s2sad.grad(vector_norm(-1))(m), [[1.0, 0.0], [-1.0, 0.0]])
    close(s2sad.grad(vector_norm(np.inf))(m), [[0.0, 0.0], [-1.0, 1.0]])
    close(s2sad.grad(vector_norm(-np.inf))(m), [[1.0, -1.0], [0.0, 0.0]])
    # piecewise linear: the second derivative is 0
    close(s2sad.hessian(vector_norm(1))(m), np.zeros((2, 2, 2, 2)))


def test_the_spectral_and_nuclear_norms_of_a_diagonal_matrix():
    m = np.diag([3.0, -1.0])
    # σ = 3, 1 with u1 v1ᵀ = e1 e1ᵀ and u2 v2ᵀ = -e2 e2ᵀ
    close(s2sad.grad(vector_norm(2))(m), [[1.0, 0.0], [0.0, 0.0]])
    close(s2sad.grad(vector_norm(-2))(m), [[0.0, 0.0], [0.0, -1.0]])
    close(s2sad.grad(vector_norm("nuc"))(m), [[1.0, 0.0], [0.0, -1.0]])
    # rank 1: the zero singular value's vectors take no part (the subgradient of least norm)
    close(s2sad.grad(vector_norm("nuc"))(np.diag([2.0, 0.0])), [[1.0, 0.0], [0.0, 0.0]])


def test_norms_along_axes():
    x = RNG.normal(size=(2, 3, 4))
    assert_every_mode(row_norms, x[0])
    assert_every_mode(column_max_norm_kept, x, hessian=False)
    assert_every_mode(stacked_nuclear, x, hessian=False)


def test_norms_where_they_are_zero_have_gradient_zero():
    for order in (None, 1, 2, 3, np.inf):
        close(s2sad.grad(vector_norm(order))(np.zeros(3)), np.zeros(3))
    for order in (1, np.inf, 2, "nuc", "fro"):
        close(s2sad.grad(vector_norm(order))(np.zeros((2, 2))), np.zeros((2, 2)))


def test_the_spectral_norm_at_a_tie_of_singular_values_is_refused(tmp_path):
    """By an S2SADError (a ValueError too), in every mode; in exported code, by a ValueError."""
    refused = s2sad.NoDerivativeHereError
    assert issubclass(refused, s2sad.S2SADError) and issubclass(refused, ValueError)
    for derivative in (s2sad.grad, s2sad.elementwise_grad):
        with pytest.raises(refused, match="two largest singular values") as caught:
            derivative(vector_norm(2))(np.eye(2))
        assert "Frobenius" in str(caught.value)  # the advice
    with pytest.raises(refused, match="second derivatives of np.linalg.norm"):
        s2sad.hessian(vector_norm(2))(np.diag([2.0, 1.0]))
    with pytest.raises(refused, match="two smallest singular values"):
        s2sad.jvp(vector_norm(-2), (np.diag([1.0, 1.0, 3.0]),), (np.ones((3, 3)),))
    with pytest.raises(refused, match="two largest singular values"):
        s2sad.vjp(vector_norm(2), np.eye(2))[1](1.0)
    path = tmp_path / "spectral_norm_derivatives.py"
    path.write_text(s2sad.export_source(vector_norm(2)))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    gradient = next(v for k, v in vars(exported).items() if k.endswith("_grad"))
    with pytest.raises(ValueError, match="two largest singular values"):
        gradient(np.eye(2))
    # off the tie, the gradient u1 v1^T of the largest singular value, e1 e1^T here
    np.testing.assert_allclose(gradient(np.diag([2.0, 1.0])), [[1.0, 0.0], [0.0, 0.0]])


def spectral_norm(x):
    return np.linalg.norm(x, 2)


def smallest_singular_value(x):
    return np.linalg.norm(x, -2)


def nuclear_norm(x):
    return np.linalg.norm(x, "nuc")


@pytest.mark.parametrize("fn", [spectral_norm, smallest_singular_value, nuclear_norm])
def test_second_derivatives_of_norms_of_singular_values_are_refused(fn):
    with pytest.raises(s2sad.NotDifferentiableError, match="second derivatives"):
        s2sad.hessian(fn)(np.diag([3.0, 1.0]))
    # an order known only when the code runs (a closure's) is refused when it runs
    with pytest.raises(ValueError, match="second derivatives"):
        s2sad.hessian(vector_norm(2))(np.diag([3.0, 1.0]))


def zeroth_norm(x):
    return np.linalg.norm(x, 0)


def half_norm(x):
    return np.linalg.norm(x, 0.5)


def negative_norm(x):
    return np.linalg.norm(x, -3)


@pytest.mark.parametrize("fn", [zeroth_norm, half_norm, negative_norm])
def test_norms_without_a_derivative_are_refused_where_they_are_written(fn):
    x = np.array([1.0, 2.0])
    for call in (
        lambda: s2sad.grad(fn)(x),
        lambda: s2sad.jvp(fn, (x,), (x,)),
        lambda: s2sad.jacobian(fn, mode="forward")(x),
    ):
        with pytest.raises(s2sad.NotDifferentiableError, match="have no derivative") as info:
            call()
        assert "return np.linalg.norm(x, " in str(info.value)  # the line, quoted
        assert info.value.location.line == fn.__code__.co_firstlineno + 1


def scaled_by_count(x, c):
    return x * np.linalg.norm(c, 0)


def test_a_norm_without_a_derivative_of_a_constant_is_not_refused():
    # the number of nonzero entries of c does not depend on x
    assert s2sad.grad(scaled_by_count)(2.0, np.array([1.0, 0.0, 3.0])) == 2.0


# --- casts ---------------------------------------------------------------------------------------


def cast_to_int(x):
    return np.sum(x.astype(int) * x)


def cast_to_bool(x):
    return np.sum(x.astype(bool) * x + x.astype("int32"))


def cast_to_float32(x):
    return np.sum(x.astype(np.float32) * 2.0)


def cast_like(x, other):
    return np.sum(x.astype(other.dtype) * x)


def test_a_cast_to_an_integer_type_has_derivative_zero():
    x = np.array([1.5, -2.5, 3.25])
    # d/dx (int(x) x) = int(x) away from the integers: the cast itself is piecewise constant
    close(s2sad.grad(cast_to_int)(x), [1.0, -2.0, 3.0])
    close(s2sad.grad(cast_to_bool)(x), [1.0, 1.0, 1.0])
    for fn in (cast_to_int, cast_to_bool):
        assert_every_mode(fn, x)
    close(s2sad.grad(cast_to_float32)(x), [2.0, 2.0, 2.0])
    # a dtype known only when the code runs
    close(s2sad.grad(cast_like)(x, np.array([1, 2, 3])), [1.0, -2.0, 3.0])
    close(s2sad.grad(cast_like)(x, np.ones(3)), 2 * x)


# --- a pullback keeps what it read -------------------------------------------------------------------


def square(x):
    return x * x


def weighted(x, y):
    return np.sum(x * y)


def exponential(x):
    return np.exp(x)


def test_a_pullback_does_not_see_later_writes_into_the_arguments():
    x = np.array([1.0, 2.0])
    _, pullback = s2sad.vjp(square, x)
    x[:] = 10.0
    close(pullback(np.ones(2))[0], [2.0, 4.0])
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    _, pullback = s2sad.vjp(weighted, x, y)
    y[:] = 0.0
    x_bar, y_bar = pullback(1.0)
    close(x_bar, [3.0, 4.0])
    x_bar[:] = -1.0  # the gradient is the caller's to change
    close(pullback(1.0)[0], [3.0, 4.0])


def test_a_pullback_does_not_see_later_writes_into_the_value():
    x = np.array([0.0, 1.0])
    value, pullback = s2sad.vjp(exponential, x)
    value[:] = 0.0
    close(pullback(np.ones(2))[0], np.exp([0.0, 1.0]))


def carried_through_loops(x, v):
    for _ in range(2):
        for _ in range(0):  # never runs: the carried value is the caller's array itself
            v = np.tanh(v)
        x = x + np.sum(np.sin(v))
    return np.sum(v**2) + x


def test_a_pullback_does_not_see_later_writes_into_an_array_a_loop_saved():
    v = np.array([0.3, -0.5, 0.2, 0.7])
    expected = central_jacobian(lambda w: carried_through_loops(0.4, w), v)
    _, pullback = s2sad.vjp(carried_through_loops, 0.4, v)
    v += 0.37  # the tape of the loop held `v` itself
    close(pullback(1.0)[1], expected)


# --- outputs that are not one number ------------------------------------------------------------


def first_element(x):
    return x[:1] * 2


def test_an_output_of_one_element_is_not_a_number():
    with pytest.raises(s2sad.NonScalarOutputError, match=r"shape \(1,\)"):
        s2sad.grad(first_element)(np.ones(3))
    with pytest.raises(s2sad.NonScalarOutputError):
        s2sad.value_and_grad(first_element)(np.ones(3))
    with pytest.raises(s2sad.NonScalarOutputError):
        s2sad.hessian(first_element)(np.ones(3))
    close(s2sad.jacobian(first_element)(np.ones(3)), [[2.0, 0.0, 0.0]])


# --- a number broadcast into an array -------------------------------------------------------------

WEIGHTS = np.array([1.0, 2.0, 3.0, 4.0])


def add(x, y):
    return x + y


def sub(x, y):
    return x - y


def mul(x, y):
    return x * y


def div(x, y):
    return x / y


def mod(x, y):
    return x % y


def pow_(x, y):
    return x**y


OPERATORS = [add, sub, mul, div, mod, pow_]


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("number_first", [True, False])
def test_the_adjoint_of_a_number_broadcast_into_an_array_is_a_number(op, number_first):
    y = np.array([1.5, 2.0, 2.5, 3.5])

    def fn(x, y):
        return op(x, y) if number_first else op(y, x)

    def of_x(x):
        return fn(x, y)

    expected = central_jacobian(of_x, 1.7)  # shape (4,): one derivative per output element
    _, pullback = s2sad.vjp(fn, 1.7, y)
    x_bar = pullback(WEIGHTS)[0]
    assert np.ndim(x_bar) == 0
    close(x_bar, np.sum(WEIGHTS * expected))
    for mode in ("forward", "reverse"):
        jacobian = s2sad.jacobian(fn, wrt=0, mode=mode)(1.7, y)
        assert np.shape(jacobian) == (4,)
        close(jacobian, expected)
    gradient = s2sad.grad(lambda x, y: np.sum(WEIGHTS * fn(x, y)))(1.7, y)
    assert np.ndim(gradient) == 0
    close(gradient, np.sum(WEIGHTS * expected))


def add_global(x):
    return x + WEIGHTS


def mul_global(x):
    return WEIGHTS * x


def pow_global(x):
    return WEIGHTS**x


def div_global(x):
    return WEIGHTS / x


@pytest.mark.parametrize("fn", [add_global, mul_global, pow_global, div_global])
def test_a_number_broadcast_against_a_module_array(fn):
    expected = central_jacobian(fn, 1.3)
    _, pullback = s2sad.vjp(fn, 1.3)
    x_bar = pullback(np.ones(4))[0]
    assert np.ndim(x_bar) == 0
    close(x_bar, np.sum(expected))
    for mode in ("forward", "reverse"):
        close(s2sad.jacobian(fn, mode=mode)(1.3), expected)
    assert_every_mode(lambda x: np.sum(fn(x) ** 2), 1.3)


# --- ties of max and min: the first one takes the derivative -------------------------------------


def largest(x):
    return np.max(x)


def smallest(x):
    return np.min(x)


def largest_per_column(x):
    return np.max(x, axis=0)


def largest_over_two(x):
    return np.max(x, axis=(0, 2))


def largest_square(x):
    return np.max(x * x)


def pairwise_larger(x, y):
    return np.maximum(x, y)


def pairwise_smaller(x, y):
    return np.minimum(x, y)


def builtin_larger(a, b, c):
    return max(a, b, c)


def every_jacobian(fn, x):
    """The Jacobian from every entry point that gives one (a tangent per input direction for jvp)."""
    directions = [np.eye(np.size(x))[k].reshape(np.shape(x)) for k in range(np.size(x))]
    by_jvp = np.stack([s2sad.jvp(fn, (x,), (d,))[1] for d in directions], axis=-1)
    out_shape, size = np.shape(fn(x)), np.size(fn(x))
    seeds = [np.eye(size)[k].reshape(out_shape) for k in range(size)]
    _, pullback = s2sad.vjp(fn, x)
    by_vjp = np.stack([pullback(s)[0] for s in seeds]).reshape(out_shape + np.shape(x))
    return {
        "jvp": by_jvp.reshape(out_shape + np.shape(x)),
        "vjp": by_vjp,
        "forward": s2sad.jacobian(fn, mode="forward")(x),
        "reverse": s2sad.jacobian(fn, mode="reverse")(x),
    }


@pytest.mark.parametrize(
    "fn, x, expected",
    [
        # the first maximum in the order x.flat reads the elements (rows first)
        (largest, [[1.0, 3.0], [3.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]]),
        (largest, [3.0, 3.0, 3.0], [1.0, 0.0, 0.0]),
        (smallest, [[0.0, 1.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]]),
        (
            largest_per_column,
            [[2.0, 1.0], [2.0, 1.0]],
            [[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]]],
        ),
    ],
)
def test_ties_of_max_and_min_go_to_the_first_in_every_mode(fn, x, expected):
    x = np.array(x)
    for name, jacobian in every_jacobian(fn, x).items():
        close(jacobian, expected)
    if np.ndim(fn(x)) == 0:
        close(s2sad.grad(fn)(x), expected)
        close(s2sad.value_and_grad(fn)(x)[1], expected)


def test_ties_over_several_axes_go_to_the_first_in_the_order_of_those_axes():
    x = np.ones((2, 2, 2))
    expected = np.zeros((2, 2, 2, 2))  # output [j] picks x[0, j, 0]
    expected[0, 0, 0, 0] = expected[1, 0, 1, 0] = 1.0
    for name, jacobian in every_jacobian(largest_over_two, x).items():
        close(jacobian, expected)


def test_a_tie_of_max_in_second_derivatives():
    x = np.array([-2.0, 2.0])  # x * x ties at 4: the first element counts
    close(s2sad.grad(largest_square)(x), [-4.0, 0.0])
    close(s2sad.hessian(largest_square)(x), [[2.0, 0.0], [0.0, 0.0]])
    close(s2sad.hvp(largest_square)(x, np.array([1.0, 1.0])), [2.0, 0.0])


@pytest.mark.parametrize("fn", [pairwise_larger, pairwise_smaller])
def test_ties_of_maximum_and_minimum_go_to_the_first_argument_in_every_mode(fn):
    x = np.array([1.0, 2.0])
    identity, zero = np.eye(2), np.zeros((2, 2))
    for mode in ("forward", "reverse"):
        close(s2sad.jacobian(fn, wrt=(0, 1), mode=mode)(x, x), (identity, zero))
    close(s2sad.jvp(fn, (x, x), (np.ones(2), np.zeros(2)))[1], [1.0, 1.0])
    close(s2sad.jvp(fn, (x, x), (np.zeros(2), np.ones(2)))[1], [0.0, 0.0])
    _, pullback = s2sad.vjp(fn, x, x)
    close(pullback(np.ones(2)), (np.ones(2), np.zeros(2)))
    summed = s2sad.grad(lambda x, y: np.sum(fn(x, y) ** 2), wrt=(0, 1))(x, x)
    close(summed, (2 * x, np.zeros(2)))
    hessian = s2sad.hessian(lambda x, y: np.sum(fn(x, y) ** 2), wrt=(0, 1))(x, x)
    close(hessian[0][0], 2 * identity)
    for block in (hessian[0][1], hessian[1][0], hessian[1][1]):
        close(block, zero)


def test_ties_of_the_builtin_max_go_to_the_first_argument_as_the_readme_says():
    assert s2sad.grad(builtin_larger, wrt=(0, 1, 2))(1.0, 1.0, 1.0) == (1.0, 0.0, 0.0)
    for mode in ("forward", "reverse"):
        jacobian = s2sad.jacobian(builtin_larger, wrt=(0, 1, 2), mode=mode)(1.0, 1.0, 1.0)
        close(jacobian, [1.0, 0.0, 0.0])
    close(s2sad.jvp(builtin_larger, (1.0, 1.0, 1.0), (0.0, 1.0, 1.0))[1], 0.0)


def _log_where_positive(x):
    return np.sum(np.where(x > 0, np.log(x), 0.0))


def _log_of_guarded(x):
    return np.sum(np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), 0.0))


def test_where_with_a_side_not_finite_is_nan_there_and_the_guard_fixes_it():
    # As documented (docs/language.md): 0 · (1/x) at x = 0 is nan; guarded, d/dx log x = 1/x, 0 at 0
    x = np.array([0.0, 1.0, 2.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        unguarded = s2sad.grad(_log_where_positive)(x)
    assert np.isnan(unguarded[0]) and unguarded[1:].tolist() == [1.0, 0.5]
    assert s2sad.grad(_log_of_guarded)(x).tolist() == [0.0, 1.0, 0.5]
