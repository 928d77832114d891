"""Lists and tuples of values where NumPy reads an array, and the creators that hold values.

``np.sum([1, a * a, 2])`` sums the array NumPy makes of the list, so the derivative must reach the
values in it, as it must reach the fill value of ``np.full(3, x)``, the end points of
``np.linspace(0.0, x, 5)`` and the pieces of ``np.r_[x, 1.0, x]``; shapes (``np.zeros((n, 2))``)
stay shapes. Every case is checked through several entry points against central differences in
float64 with step 1e-6: for these smooth functions of size O(1) the truncation error is
O(h²) ≈ 1e-12 and the rounding error about 1e-16 / 1e-6 = 1e-10, so a tolerance of 1e-6 is far
above both and far below any real mistake (a dropped derivative is off by O(1)). Second
derivatives are checked against Hessians worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2sad

STEP = 1e-6
TOLERANCE = 1e-6
X = np.array([0.7, 1.9, 2.4])


def central_jacobian(fn, x):
    """∂fn/∂x by central differences, shaped ``fn(x).shape + x.shape``."""
    x = np.asarray(x, dtype=float)
    columns = []
    for index in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[index] = STEP
        high, low = np.asarray(fn(x + step)), np.asarray(fn(x - step))
        columns.append((high - low) / (2 * STEP))
    return np.moveaxis(np.array(columns), 0, -1).reshape(np.shape(fn(x)) + x.shape)


def close(got, expected):
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE)


# --- numbers in, one number out: lists passed to NumPy functions ---------------------------------


def sum_list(a):
    return np.sum([1, a * a, 2])


def sum_tuple(x):
    return np.sum((x, 2 * x))


def nested_list(x):
    return np.sum(np.array([[x, 2 * x], [x**2, x]]) * np.array([[1.0, 2.0], [3.0, 4.0]]))


def nested_constant_row(x):
    return np.sum(np.array([[x, 2.0], [1, 3]]) ** 2)


def dot_lists(x):
    return np.dot([x, 2.0], [x, x])


def mean_list(x):
    return np.mean([x, 2 * x, 3.0])


def max_list(x):
    return np.max([x, 2 * x, 3.0])


def prod_list(x):
    return np.prod([x, 2 * x, 3.0])


def exp_list(x):
    return np.sum(np.exp([x, 2 * x]))


def where_lists(x):
    return np.sum(np.where([True, False], [x, x], [2 * x, 3 * x]))


def maximum_list(x):
    return np.sum(np.maximum([x, 2 * x], 1.0))


def hypot_list(x):
    return np.sum(np.hypot([x, 2 * x], 1.0))


def concatenate_lists(x):
    return np.sum(np.concatenate([[x, 2 * x], [3 * x]]) ** 2)


def stack_lists(x):
    return np.sum(np.stack([[x, 1.0], [2.0, x * x]]) ** 2)


def norm_list(x):
    return np.linalg.norm([x, 2 * x])


def full_fill(x):
    return np.sum(np.full(3, x) ** 2)


def full_like_fill(x):
    return np.sum(np.full_like(np.ones((2, 2)), x) * np.array([[1.0, 2.0], [3.0, 4.0]]))


def linspace_end(x):
    return np.sum(np.linspace(0.0, x, 5) ** 2)


def linspace_both(x):
    return np.sum(np.linspace(x, x * x, num=4, endpoint=False) ** 2)


def r_pieces(x):
    return np.sum(np.r_[x, 1.0, x] ** 2)


def c_pieces(x):
    return np.sum(np.c_[[x, 1.0], [2.0, x]] * np.array([[1.0, 2.0], [3.0, 4.0]]))


NUMBER_CASES = [
    (sum_list, lambda a: 2 * a),
    (sum_tuple, lambda x: 3.0),
    (nested_list, lambda x: 1 + 4 + 3 * 2 * x + 4),
    (nested_constant_row, lambda x: 2 * x),
    (dot_lists, lambda x: 2 * x + 2.0),
    (mean_list, lambda x: 1.0),
    (max_list, lambda x: 2.0),  # at x = 1.7 the largest element is 2x
    (prod_list, lambda x: 12 * x),
    (exp_list, lambda x: np.exp(x) + 2 * np.exp(2 * x)),
    (where_lists, lambda x: 4.0),
    (maximum_list, lambda x: 3.0),
    (hypot_list, lambda x: x / np.hypot(x, 1) + 4 * x / np.hypot(2 * x, 1)),
    (concatenate_lists, lambda x: 28 * x),
    (stack_lists, lambda x: 2 * x + 4 * x**3),
    (norm_list, lambda x: np.sqrt(5.0)),
    (full_fill, lambda x: 6 * x),
    (full_like_fill, lambda x: 10.0),
    (linspace_end, lambda x: 2 * x * np.sum(np.linspace(0.0, 1.0, 5) ** 2)),
    (r_pieces, lambda x: 4 * x),
    (c_pieces, lambda x: 1.0 + 4.0),
]


@pytest.mark.parametrize("fn, derivative", NUMBER_CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_a_list_of_values_passed_to_numpy_is_differentiated(fn, derivative):
    x = 1.7
    value, gradient = s2sad.value_and_grad(fn)(x)
    assert value == fn(x)  # the trace computes exactly what the function does
    close(gradient, derivative(x))
    close(gradient, central_jacobian(lambda v: fn(float(v)), x))
    primal, tangent = s2sad.jvp(fn, (x,), (1.0,))
    assert primal == fn(x)
    close(tangent, derivative(x))
    _, pullback = s2sad.vjp(fn, x)
    close(pullback(1.0)[0], derivative(x))


def test_linspace_with_both_end_points_active():
    x = 1.3
    t = np.arange(4) / 4  # endpoint=False: t = i / num
    expected = np.sum(2 * (x * (1 - t) + x * x * t) * ((1 - t) + 2 * x * t))
    close(s2sad.grad(linspace_both)(x), expected)
    close(s2sad.jvp(linspace_both, (x,), (1.0,))[1], expected)


# --- arrays in, arrays out: every Jacobian mode ----------------------------------------------------


def array_of_elements(x):
    return np.array([[x[0], 2 * x[1]], [x[0] * x[1], 1.0]])


def full_scalar(x):
    return np.full((2, 3), x[0]) * x[1]


def full_row(x):
    return np.full((2, 2), x[:2]) * x[2]


def full_like_array(x):
    return np.full_like(np.ones((2, 2)), x[1]) + x[0]


def linspace_numbers(x):
    return np.linspace(x[0], x[1], 5)


def linspace_arrays(x):
    return np.linspace(x[:2], x[2:], 4)


def linspace_number_and_array(x):
    return np.linspace(x[0], x[1:], 3, endpoint=False)


def r_arrays(x):
    return np.r_[x, 1.0, x[0] * x[1]]


def c_arrays(x):
    return np.c_[x, 2 * x, [1.0, x[0], 3.0]]


def r_matrices(x):
    return np.r_[np.outer(x, x), [x, 2 * x]]


def c_matrices_and_numbers(x):
    return np.c_[np.outer(x, x[:2]), x * x[0]] + np.sum(np.c_[x[0], 1.0, x[1]])


def dot_with_list(x):
    return np.dot(np.outer(x, x), [x[2], 1.0, x[0]])


def constant_list_piece(x):
    return np.concatenate([x, [1.0, 2.0]]) ** 2


def constant_tuple_operand(x):
    return np.maximum(x, (1.0, 2.0, 3.0)) * x


def list_index(x):
    return x[[0, 2, 2]] * x[1]


ARRAY_CASES = [
    array_of_elements,
    full_scalar,
    full_row,
    full_like_array,
    linspace_numbers,
    linspace_arrays,
    linspace_number_and_array,
    r_arrays,
    c_arrays,
    r_matrices,
    c_matrices_and_numbers,
    dot_with_list,
    constant_list_piece,
    constant_tuple_operand,
    list_index,
]


@pytest.mark.parametrize("fn", ARRAY_CASES, ids=lambda fn: fn.__name__)
def test_jacobians_of_lists_and_filled_arrays(fn):
    x = np.array([0.7, 1.9, 2.4, -0.4]) if fn is linspace_arrays else X
    expected = central_jacobian(fn, x)
    for mode in ("forward", "reverse"):
        close(s2sad.jacobian(fn, mode=mode)(x), expected)
    direction = np.linspace(-1.0, 2.0, x.size)
    value, tangent = s2sad.jvp(fn, (x,), (direction,))
    np.testing.assert_array_equal(value, fn(x))
    close(tangent, expected @ direction)
    value, pullback = s2sad.vjp(fn, x)
    cotangent = np.cos(np.arange(np.size(value))).reshape(np.shape(value))
    close(pullback(cotangent)[0], np.tensordot(cotangent, expected, axes=np.ndim(value)))


@pytest.mark.parametrize(
    "fn",
    [
        array_of_elements,
        full_scalar,
        full_row,
        full_like_array,
        linspace_arrays,
        r_arrays,
        c_arrays,
        c_matrices_and_numbers,
    ],
    ids=lambda fn: fn.__name__,
)
def test_vector_mode_carries_all_directions_through_stacked_and_filled_arrays(fn):
    """The forward Jacobian above is one vector sweep here, not a sweep per direction."""
    x = np.array([0.7, 1.9, 2.4, -0.4]) if fn is linspace_arrays else X
    source = s2sad.vector_tangent_source(fn, x)
    assert f"{fn.__name__}_jvps(x, x_dot)" in source


# --- second derivatives ---------------------------------------------------------------------------


def squares_of_a_nested_list(x):
    return np.sum(np.array([[x[0], x[1] ** 2], [x[0] * x[1], 1.0]]) ** 2)


def cubes_of_a_linspace(x):
    return np.sum(np.linspace(x[0], x[1], 5) ** 3)


def filled_times_square(x):
    return np.sum(np.full(3, x[0]) * x[1] ** 2)


def squares_of_pieces(x):
    return np.sum(np.r_[x, x[0] * x[1]] ** 2) + np.sum(np.c_[x, x] ** 2)


def _linspace_hessian(x):
    t = np.linspace(0.0, 1.0, 5)
    y = x[0] * (1 - t) + x[1] * t
    parts = np.stack([1 - t, t])  # ∂y_i/∂x_j
    return np.einsum("i,ji,ki->jk", 6 * y, parts, parts)


SECOND_ORDER_CASES = [
    (  # x0² + x1⁴ + x0² x1² + 1
        squares_of_a_nested_list,
        lambda x: np.array(
            [
                [2 + 2 * x[1] ** 2, 4 * x[0] * x[1]],
                [4 * x[0] * x[1], 12 * x[1] ** 2 + 2 * x[0] ** 2],
            ]
        ),
    ),
    (cubes_of_a_linspace, _linspace_hessian),
    (  # 3 x0 x1²
        filled_times_square,
        lambda x: np.array([[0.0, 6 * x[1]], [6 * x[1], 6 * x[0]]]),
    ),
    (  # 3 (x0² + x1²) + x0² x1²
        squares_of_pieces,
        lambda x: np.array(
            [[6 + 2 * x[1] ** 2, 4 * x[0] * x[1]], [4 * x[0] * x[1], 6 + 2 * x[0] ** 2]]
        ),
    ),
]


@pytest.mark.parametrize(
    "fn, hessian", SECOND_ORDER_CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_second_derivatives_see_the_values_in_lists(fn, hessian):
    x = np.array([0.8, -1.3])
    close(s2sad.hessian(fn)(x), hessian(x))
    direction = np.array([0.3, 2.0])
    close(s2sad.hvp(fn)(x, direction), hessian(x) @ direction)


def integer_casts(x):
    cast = np.array([x, 2 * x], dtype=int) * x + np.full(2, x, np.int32) * x
    return np.sum(cast) + np.sum(np.linspace(0.0, x, 4, dtype=int) * x)


def test_values_cast_to_integers_have_the_derivative_0_as_int_does():
    x = 2.6  # the casts give [2, 5], [2, 2] and [0, 0, 1, 2]: piecewise constant in x
    assert s2sad.grad(integer_casts)(x) == 2 + 5 + 2 + 2 + 0 + 0 + 1 + 2
    assert s2sad.jvp(integer_casts, (x,), (1.0,))[1] == 14.0
    assert s2sad.hessian(integer_casts)(x) == 0.0


def float32_rows(x):
    return np.sum(np.array([[x[0], x[1]], [1.0, x[0]]], dtype=np.float32) * x[0])


def test_a_float_dtype_keeps_the_derivative():
    x = np.array([0.5, 1.5])
    expected = np.array([4 * x[0] + x[1] + 1, x[0]])  # (2 x0 + x1 + 1) x0
    close(s2sad.grad(float32_rows)(x), expected)
    close(s2sad.jacobian(float32_rows, mode="forward")(x), expected)


# --- shapes stay shapes; what has no derivative is refused ----------------------------------------


def shapes_from_an_integer(x, n):
    return np.sum(np.zeros((n, 2)) + x) + np.sum(np.reshape(np.full((2, n), x), (n, 2)) ** 2)


def test_shapes_stay_tuples_and_an_integer_shape_has_no_derivative():
    text = str(s2sad.trace(shapes_from_an_integer))
    assert "np.array" not in text
    x, n = 1.5, 3
    gradient = s2sad.grad(shapes_from_an_integer, wrt=(0, 1))(x, n)
    close(gradient[0], 2 * n + 4 * n * x)
    assert gradient[1] == 0.0


def filled_from_constants(x, n):
    return np.sum(np.full(n, 1.5) * x) + np.sum(np.full_like(x, 2.0) * x * np.linspace(0, 1, n))


def test_a_creator_whose_fill_value_is_constant_has_no_tangent_of_its_own():
    """Only the shape (an integer, differentiated as the float it stands for) or the array giving
    it depend on the inputs: the values filled in do not."""
    x, n = np.array([1.0, 2.0, 4.0]), 3
    t = np.linspace(0, 1, n)
    gradient = s2sad.grad(filled_from_constants, wrt=(0, 1))(x, n)
    close(gradient[0], 1.5 + 2.0 * t)
    assert gradient[1] == 0.0
    direction = np.array([1.0, -1.0, 0.5])
    _, tangent = s2sad.jvp(filled_from_constants, (x, n), (direction, 1.0))
    close(tangent, np.sum((1.5 + 2.0 * t) * direction))
    close(s2sad.jacobian(filled_from_constants, mode="forward")(x, n), 1.5 + 2.0 * t)


def arange_from_a_value(x):
    return np.sum(np.arange(x, 5.0))


def arange_step(x):
    return np.sum(np.arange(0.0, 1.0, x))


def r_with_a_slice(x):
    return np.sum(np.r_[0:3, x])


def r_with_a_directive(x):
    return np.sum(np.r_["0,2", [x, 1.0], [2.0, 3.0]])


@pytest.mark.parametrize(
    "fn", [arange_from_a_value, arange_step, r_with_a_slice, r_with_a_directive]
)
def test_values_whose_derivative_is_dropped_are_refused_where_they_are_used(fn):
    calls = [
        lambda: s2sad.grad(fn)(0.3),
        lambda: s2sad.jvp(fn, (0.3,), (1.0,)),
        lambda: s2sad.jacobian(fn, mode="forward")(0.3),
        lambda: s2sad.hessian(fn)(0.3),
    ]
    for call in calls:
        with pytest.raises(s2sad.NotDifferentiableError) as error:
            call()
        assert error.value.location.line == fn.__code__.co_firstlineno + 1


def dropped_operands_of_other_inputs(x, y):
    return x * (np.sum(np.arange(y, 5.0)) + np.sum(np.r_[0:3, y]) + np.sum(np.arange(4 * x)))


def test_the_same_operations_are_differentiated_where_those_values_are_constant():
    x, y = 0.5, 1.5
    expected = np.sum(np.arange(y, 5.0)) + np.sum(np.r_[0:3, y]) + np.sum(np.arange(4 * x))
    close(s2sad.grad(dropped_operands_of_other_inputs)(x, y), expected)


# --- vector forward mode: pieces whose tangents are zero on some path -----------------------------

C3 = np.array([1.0, 2.0, 3.0])


def numbers_and_a_select(x, y):
    return np.array([x * y, 2.0, y if y > 10 else 1.0, y])


def nested_with_a_select(x, y):
    return np.sum(np.array([[x, y if y > 10 else 1.0], [y, x * y]]) ** 2)


def stack_of_a_select_row(x, y):
    return np.stack([x * C3, np.array([y if x > 10 else 0.0, 2.0, x]), np.zeros(3)])


def one_element_pieces(x, y):
    return np.concatenate([np.array([x]), np.array([y if y > 10 else 1.0]), C3 * x])


def maximum_in_a_list(x, y):
    return np.sum(np.array([max(x * y, 3.0), y, min(x, -1.0)]) ** 2)


def select_of_a_loop_value(x, y):
    a = 2.0
    for _ in range(2):
        a = a + x
    b = y if y > 10 else 1.0
    return np.array([a, b, y])


def select_of_an_element(x):
    b = x[0] if x[1] > 10 else 1.0
    return np.stack([x * C3, np.array([b, x[2], 2.0])])


def columns_with_selects(x):
    return np.c_[x, np.array([max(x[0], 4.0), 1.0, x[1] if x[2] > 9 else 0.0])]


def central_partials(fn, args):
    """Each argument's central-difference Jacobian, the others held fixed."""
    partials = []
    for i in range(len(args)):
        others = list(args)

        def along(v, i=i):
            others[i] = v if np.ndim(args[i]) else float(v)
            return fn(*others)

        partials.append(central_jacobian(along, args[i]))
    return partials


@pytest.mark.parametrize(
    "fn, args",
    [
        (numbers_and_a_select, (0.5, 1.5)),
        (nested_with_a_select, (0.5, 1.5)),
        (stack_of_a_select_row, (0.5, 1.5)),
        (one_element_pieces, (0.5, 1.5)),
        (maximum_in_a_list, (0.5, 1.5)),
        (maximum_in_a_list, (4.0, -1.5)),
        (select_of_a_loop_value, (0.5, 1.5)),
        (select_of_an_element, (X,)),
        (columns_with_selects, (X,)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_vector_mode_stacks_tangents_that_are_zero_on_a_path(fn, args):
    """``y if c else 1.0`` (or ``max(u, 3.0)``) has the tangent ``y_dot if c else 0``: in vector
    mode the zero must be zeros of the batched shape, or stacking it next to batched tangents
    fails. Forward (one vector sweep), reverse and central differences must agree."""
    wrt = tuple(range(len(args)))
    forward = s2sad.jacobian(fn, wrt=wrt, mode="forward")(*args)
    reverse = s2sad.jacobian(fn, wrt=wrt, mode="reverse")(*args)
    for got, back, expected in zip(forward, reverse, central_partials(fn, args)):
        close(got, expected)
        close(back, expected)
    assert "directions at once" in s2sad.vector_tangent_source(fn, *args, wrt=wrt)
    if np.ndim(fn(*args)) == 0:
        assert s2sad.check_grad(fn, *args).ok
        close(s2sad.grad(fn, wrt=wrt)(*args), forward)
