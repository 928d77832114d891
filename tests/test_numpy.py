"""NumPy rules against central finite differences, in both modes, on random shapes.

Every case is a small function of arrays returning one number. Its reverse-mode gradient (``grad``) and
its forward-mode directional derivatives (``jvp`` along random directions) are compared with central
differences in float64 with step 1e-6: the truncation error is O(h²) ≈ 1e-12 times the third
derivative and the rounding error about 1e-16 / 1e-6 = 1e-10 times the function's size, so a
tolerance of 1e-6 (relative and absolute) is far above both and far below any real mistake.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2sad
from s2sad.runtime import HELPERS

RNG = np.random.default_rng(20261122)
STEP = 1e-6
TOLERANCE = 1e-6


def central_difference(fn, args, position):
    """∂fn/∂args[position], element by element."""
    x = np.asarray(args[position], dtype=float)
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        shifted = [np.array(a, dtype=float) if isinstance(a, np.ndarray) else a for a in args]
        up, down = x.copy(), x.copy()
        up[index] += STEP
        down[index] -= STEP
        shifted[position] = up if x.ndim else float(up)
        high = fn(*shifted)
        shifted[position] = down if x.ndim else float(down)
        grad[index] = (high - fn(*shifted)) / (2 * STEP)
    return grad


def assert_gradients(fn, *args):
    positions = tuple(range(len(args)))
    grads = s2sad.grad(fn, wrt=positions)(*args)
    for position, grad in zip(positions, grads):
        expected = central_difference(fn, args, position)
        np.testing.assert_allclose(grad, expected, rtol=TOLERANCE, atol=TOLERANCE)
        assert np.shape(grad) == np.shape(args[position])
    # forward mode: the directional derivative along a random direction, J·v, equals ∇f·v
    directions = [RNG.normal(size=np.shape(a)) for a in args]
    directions = [d if np.ndim(a) else float(d) for d, a in zip(directions, args)]
    value, derivative = s2sad.jvp(fn, args, directions)
    assert value == pytest.approx(fn(*args), rel=1e-12, abs=1e-12)
    expected = sum(np.sum(g * d) for g, d in zip(grads, directions))
    assert derivative == pytest.approx(expected, rel=TOLERANCE, abs=TOLERANCE)


def normal(*shape):
    return RNG.normal(size=shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, size=shape)


# --- elementwise functions and broadcasting ------------------------------------------------------


def f_unary(x):
    return np.sum(
        np.sin(x) * np.cos(x)
        + np.tan(x / 4)
        + np.exp(x / 3)
        + np.tanh(x)
        + np.arctan(x)
        + np.sqrt(x * x + 1)
        + np.abs(x)
        + np.square(x)
        + np.expm1(x / 5)
    )


def f_logs(x):
    return np.sum(np.log(x) + np.log1p(x) + np.reciprocal(x) + np.power(x, 2.5) + x**x)


def f_broadcast(a, b):
    return np.sum(a * b + a / (b * b + 1) - b)


def f_scalar_and_array(s, x):
    return np.sum(s * x + s**2 / (1 + x * x))


def f_sigmoid(z):
    return np.sum(1 / (1 + np.exp(-z)))


def f_max_min(a, b):
    return np.sum(np.maximum(a, b) * 2 + np.minimum(a, b) + np.clip(a, -0.5, 0.5))


def f_where(a, b):
    return np.sum(np.where(a > 0, a * b, b**2))


def f_zero_d(x):
    return float(np.sin(x) * x)


@pytest.mark.parametrize(
    "fn, args",
    [
        (f_unary, (normal(5),)),
        (f_unary, (normal(2, 3),)),
        (f_logs, (positive(4),)),
        (f_broadcast, (normal(3, 1), normal(1, 4))),
        (f_broadcast, (normal(4), normal(3, 4))),
        (f_broadcast, (normal(2, 3, 4), normal(3, 1))),
        (f_scalar_and_array, (0.7, normal(3, 2))),
        (f_sigmoid, (normal(6),)),
        (f_max_min, (normal(5), normal(5))),
        (f_max_min, (normal(3, 1), normal(4))),
        (f_where, (normal(6), normal(6))),
    ],
    ids=lambda v: v.__name__ if callable(v) else "",
)
def test_elementwise(fn, args):
    assert_gradients(fn, *args)


# --- linear algebra and shape ----------------------------------------------------------------------


def f_matmul(A, B):
    return np.sum(np.tanh(A @ B))


def f_dot_vector(A, x):
    return np.sum(np.sin(np.dot(A, x)) + A.dot(x) ** 2)


def f_vector_matrix(x, A):
    return np.sum((x @ A) ** 2)


def f_inner_outer(a, b):
    return np.inner(a, b) + np.sum(np.outer(a, b) ** 2)


def f_inner_matrices(A, B):
    return np.sum(np.sin(np.inner(A, B)))


def f_shapes(x):
    y = x.reshape(2, 6).T
    z = np.transpose(y) * np.expand_dims(np.arange(6.0), 0)
    w = np.squeeze(z.reshape(1, 12))
    return np.sum(np.sin(w) * w.ravel()) + np.sum(x.flatten() ** 2)


def f_concat_stack(a, b):
    c = np.concatenate([a, b * 2], axis=0)
    s = np.stack([a, b], axis=1)
    return np.sum(c**3) + np.sum(np.sin(s))


@pytest.mark.parametrize(
    "fn, args",
    [
        (f_matmul, (normal(3, 4), normal(4, 2))),
        (f_dot_vector, (normal(3, 4), normal(4))),
        (f_vector_matrix, (normal(4), normal(4, 3))),
        (f_inner_outer, (normal(3), normal(3))),
        (f_inner_matrices, (normal(2, 3), normal(4, 3))),
        (f_inner_matrices, (normal(2, 2, 3), normal(3))),
        (f_shapes, (normal(3, 4),)),
        (f_concat_stack, (normal(3), normal(3))),
    ],
    ids=lambda v: v.__name__ if callable(v) else "",
)
def test_linear_algebra_and_shape(fn, args):
    assert_gradients(fn, *args)


# --- reductions ------------------------------------------------------------------------------------


def f_reductions(x):
    return (
        np.sum(np.sum(x, axis=0) ** 2)
        + np.sum(np.mean(x, axis=1, keepdims=True) * x)
        + x.mean() ** 2
        + np.sum(np.prod(x, axis=1))
        + np.max(x)
        + np.sum(np.min(x, axis=0))
        + np.linalg.norm(x)
        + np.sum(np.linalg.norm(x, axis=1))
    )


def f_prod_with_zero(x):
    return np.prod(x)


@pytest.mark.parametrize("shape", [(4, 3), (2, 5)])
def test_reductions(shape):
    assert_gradients(f_reductions, normal(*shape))


def test_prod_with_a_zero_element_is_exact():
    x = np.array([0.0, 2.0, 3.0])
    np.testing.assert_allclose(s2sad.grad(f_prod_with_zero)(x), [6.0, 0.0, 0.0])


# --- indexing --------------------------------------------------------------------------------------


def f_index(x):
    return x[0, 1] * x[1:, 0].sum() + np.sum(x[:, 2] ** 2) + np.sum(x[::2] * 3)


def f_mask_and_integers(x):
    chosen = x[x > 0]
    picked = x[np.array([0, 2, 2, 1])]  # a repeated index counts twice
    return np.sum(chosen**2) + np.sum(np.sin(picked))


def f_write_in_loop(x):
    out = np.zeros(x.shape[0])
    for i in range(len(x)):
        if x[i] > 0:
            out[i] = x[i] ** 2
        else:
            out[i] = np.sin(x[i])
    return np.sum(out * out)


def f_write_slice(x):
    out = np.ones(6)
    out[1:4] = x * 2
    out[0] = out[2] * x[0]
    return np.sum(out**2)


@pytest.mark.parametrize(
    "fn, args",
    [
        (f_index, (normal(3, 4),)),
        (f_mask_and_integers, (normal(5),)),
        (f_write_in_loop, (normal(6),)),
        (f_write_slice, (normal(3),)),
    ],
    ids=lambda v: v.__name__ if callable(v) else "",
)
def test_indexing(fn, args):
    assert_gradients(fn, *args)


# --- arguments -------------------------------------------------------------------------------------


def test_float32_gradients_stay_float32():
    x = normal(4).astype(np.float32)
    grad = s2sad.grad(f_sigmoid)(x)
    assert grad.dtype == np.float32 and grad.shape == (4,)
    assert grad.flags.writeable


def test_gradient_of_an_unused_array_is_zeros_of_its_shape():
    def f(x, y):
        return np.sum(x**2)

    _, grad_y = s2sad.grad(f, wrt=(0, 1))(normal(3), normal(2, 2))
    assert grad_y.shape == (2, 2) and not grad_y.any()


def test_a_gradient_equal_to_an_argument_is_a_copy():
    def f(x, y):
        return np.sum(x * y)

    x, y = normal(3), normal(3)
    grad_x, _ = s2sad.grad(f, wrt=(0, 1))(x, y)
    np.testing.assert_array_equal(grad_x, y)
    grad_x[0] = 100.0
    assert y[0] != 100.0


def test_equal_gradients_are_separate_arrays():
    def f(a, b):
        return np.sum((a + b) ** 2)

    a, b = normal(3), normal(3)
    grad_a, grad_b = s2sad.grad(f, wrt=(0, 1))(a, b)
    np.testing.assert_allclose(grad_a, 2 * (a + b), rtol=1e-15)
    grad_a[0] = 100.0
    assert grad_b[0] != 100.0


def test_a_float64_gradient_of_a_float32_argument_is_cast():
    def f(x, w):
        return np.sum(x * w)  # float32 * float64: a float64 gradient for x

    x, w = normal(3).astype(np.float32), normal(3)
    grad = s2sad.grad(f)(x, w)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, w.astype(np.float32), rtol=1e-7)


def test_new_shapes_get_new_code():
    grad = s2sad.grad(f_broadcast, wrt=(0, 1))
    for shapes in [((3, 1), (1, 4)), ((4,), (4,)), ((2, 1), (2, 3))]:
        a, b = normal(*shapes[0]), normal(*shapes[1])
        ga, gb = grad(a, b)
        np.testing.assert_allclose(ga, central_difference(f_broadcast, (a, b), 0), rtol=1e-6)
        assert ga.shape == a.shape and gb.shape == b.shape


def test_integer_array_is_refused():
    with pytest.raises(s2sad.S2SADError, match="integer array"):
        s2sad.grad(f_sigmoid)(np.arange(3))


def test_array_output_is_refused_by_grad():
    def f(x):
        return x * 2

    with pytest.raises(s2sad.S2SADError, match="returns an array of shape"):
        s2sad.grad(f)(normal(3))


def test_writing_into_an_argument_is_refused():
    def f(x):
        x[0] = 1.0
        return np.sum(x)

    with pytest.raises(s2sad.S2SADError, match="copy it first"):
        s2sad.grad(f)(normal(3))


def test_writing_into_a_view_is_refused():
    def f(x):
        y = x.T
        y[0] = 1.0
        return np.sum(x)

    with pytest.raises(s2sad.S2SADError, match="view"):
        s2sad.grad(f)(normal(3))


def _slice_view(x):
    out = np.zeros(3)
    v = out[:2]
    out[0] = x
    return np.sum(v) * x


def _transposed_view(x):
    out = np.zeros((2, 2))
    v = out.T
    out[0, 1] = x
    return np.sum(v) * x


def _reshaped_view_after_a_loop(x, n):
    out = np.zeros(4)
    v = out.reshape(2, 2)
    for i in range(n):
        out[i] = x
    return np.sum(v)


def _view_read_in_the_writing_loop(x, n):
    out = np.zeros(4)
    v = out[:2]
    s = 0.0
    for i in range(n):
        s = s + np.sum(v)  # from the second iteration on, Python's v sees the write below
        out[i] = x
    return s


@pytest.mark.parametrize(
    "f",
    [_slice_view, _transposed_view, _reshaped_view_after_a_loop, _view_read_in_the_writing_loop],
)
def test_reading_a_view_after_its_array_is_written_is_refused(f):
    # In Python the view sees the write; an SSA value could not, so the program is refused.
    with pytest.raises(s2sad.S2SADError, match="may be a view of `out`"):
        s2sad.trace(f)


def test_a_view_taken_again_after_each_write_is_fine():
    def f(x, n):
        out = np.zeros(4)
        v = out[:2]
        s = 0.0
        for i in range(n):
            s = s + np.sum(v)
            out[i] = x
            v = out[:2]
        return s

    # s = 0 + x + 2x for n = 3: value 3x, derivative 3, exactly in floats.
    assert s2sad.trace(f)(2.0, 3) == f(2.0, 3) == 6.0
    assert s2sad.grad(f)(2.0, 3) == 3.0


def test_a_view_read_before_the_write_is_fine():
    def f(x, n):
        out = np.zeros(n + 1)
        out[0] = x
        for i in range(1, n + 1):
            previous = out[i - 1]
            out[i] = previous * x
        return np.sum(out)

    # out = (x, x², x³, x⁴): the derivative of the sum is 1 + 2x + 3x² + 4x³, exactly in floats.
    assert s2sad.trace(f)(2.0, 3) == f(2.0, 3) == 30.0
    assert s2sad.grad(f)(2.0, 3) == 1 + 2 * 2 + 3 * 4 + 4 * 8


def test_unknown_numpy_function_names_it_and_lists_supported():
    def f(x):
        return np.sum(np.fft.fft(x))

    with pytest.raises(s2sad.S2SADError) as info:
        s2sad.grad(f)(normal(3))
    assert "np.fft.fft" in str(info.value) and "np.sum" in str(info.value)


def test_a_constant_range_loop_over_an_array_stays_a_loop():
    def f(x):
        s = 0.0
        for i in range(3):
            s = s + x[i] * x[i + 1]
        return s

    assert "for w2 in range(3):" in str(s2sad.trace(f))  # not unrolled: the index is a value
    x = normal(4)
    expected = [x[1], x[0] + x[2], x[1] + x[3], x[2]]  # ∂/∂x_k of Σ x_i x_{i+1}
    np.testing.assert_allclose(s2sad.grad(f)(x), expected, rtol=1e-15)


def _adds_to_its_argument(x):
    x += 1.0
    return np.sum(x * x)


def _adds_to_an_aliased_array(x):
    a = x * 2
    b = a
    a += x
    return np.sum(b)


@pytest.mark.parametrize(
    "f, seen",
    [(_adds_to_its_argument, "the caller's array"), (_adds_to_an_aliased_array, "the array `b`")],
)
def test_augmented_assignment_that_changes_a_seen_array_is_refused(f, seen):
    with pytest.raises(s2sad.S2SADError, match=f"this changes {seen}.* in place") as info:
        s2sad.grad(f)(normal(3))
    assert "= " in info.value.hint and "+ ..." in info.value.hint


@pytest.mark.parametrize("f", [_adds_to_its_argument, _adds_to_an_aliased_array])
def test_calling_the_trace_with_arrays_refuses_the_same_writes(f):
    """Python changes both names' array, the SSA trace one value: it would return another result."""
    trace = s2sad.trace(f)
    with pytest.raises(s2sad.S2SADError, match="in place"):
        trace(normal(3))
    assert trace(2.0) == f(2.0)  # numbers: `+=` rebinds, the trace is exact


def test_augmented_assignment_of_numbers_and_fresh_arrays_is_fine():
    # For a number, x += 1 rebinds x: the same code is fine where x is a float.
    assert s2sad.grad(_adds_to_its_argument)(2.0) == 2 * 3.0

    def f(x, W, n):
        h = W @ x
        h += x  # h is this function's own array: nothing else sees the change
        total = np.zeros(3)
        for i in range(n):
            total += h * i
        return np.sum(total)

    x, W = normal(3), normal(3, 3)
    # total = h · (0 + 1 + 2) for n = 3, so ∂/∂x = 3 (Wᵀ1 + 1).
    np.testing.assert_allclose(s2sad.grad(f)(x, W, 3), 3 * (W.T @ np.ones(3) + 1), rtol=1e-14)


def _scales_an_element(v, z):
    a = v[0, 1]  # a number where v has two axes: `a *= z` rebinds it, v is unchanged
    a *= z
    return a


def _scales_a_row(v, z):
    a = v[0]  # a view: `a *= z` would write into the caller's array
    a *= z
    return np.sum(a)


def test_augmented_assignment_of_an_element_of_an_argument_is_fine():
    """Exact: a = v[0, 1] z, so ∂a/∂v is z at (0, 1), ∂a/∂z = v[0, 1], ∂²a/∂v[0, 1]∂z = 1."""
    v, z = normal(2, 3), 1.5
    kept = v.copy()
    dv = np.zeros((2, 3))
    dv[0, 1] = z
    value, (gv, gz) = s2sad.value_and_grad(_scales_an_element, wrt=(0, 1))(v, z)
    assert value == v[0, 1] * z and gz == v[0, 1]
    np.testing.assert_array_equal(gv, dv)
    direction_v, direction_z = normal(2, 3), 0.5
    _, tangent = s2sad.jvp(_scales_an_element, (v, z), (direction_v, direction_z))
    np.testing.assert_allclose(tangent, z * direction_v[0, 1] + v[0, 1] * direction_z, rtol=1e-15)
    pulled = s2sad.vjp(_scales_an_element, v, z)[1](2.0)
    np.testing.assert_array_equal(pulled[0], 2.0 * dv)
    assert pulled[1] == 2.0 * v[0, 1]
    second = s2sad.grad(s2sad.grad(_scales_an_element, wrt=1), wrt=0)(v, z)
    expected = np.zeros((2, 3))
    expected[0, 1] = 1.0
    np.testing.assert_array_equal(second, expected)
    namespace = dict(_scales_an_element.__globals__)
    namespace.update((helper.__name__, helper) for helper in HELPERS)  # names printed code calls
    exec(s2sad.adjoint_source(_scales_an_element, wrt=(0, 1), args=(v, z)), namespace)
    printed_v, printed_z = namespace["_scales_an_element_grad"](v, z)
    np.testing.assert_array_equal(printed_v, dv)
    assert printed_z == v[0, 1]
    np.testing.assert_array_equal(v, kept)


def test_augmented_assignment_of_a_view_of_an_argument_is_refused():
    with pytest.raises(s2sad.S2SADError, match="this changes the caller's array.* in place"):
        s2sad.grad(_scales_a_row)(normal(2, 3), 1.5)
    with pytest.raises(s2sad.S2SADError, match="this changes the caller's array.* in place"):
        s2sad.grad(_scales_an_element)(normal(2, 3, 2), 1.5)  # v[0, 1] is a row of v here


def test_code_compiled_for_one_integer_serves_another():
    def f(x, n):
        return np.sum(np.ones(n) * x)  # the shape depends on n's value, not on its type

    grad = s2sad.grad(f)
    x = normal(1)
    assert grad(x, 3)[0] == 3.0 and grad(x, 4)[0] == 4.0

    def g(x, n):
        return np.sum(x[:n] ** 2)

    x = np.arange(5.0)
    np.testing.assert_array_equal(s2sad.grad(g)(x, 2), [0, 2, 0, 0, 0])
    np.testing.assert_array_equal(s2sad.grad(g)(x, 4), [0, 2, 4, 6, 0])


def test_astype_inside_the_function():
    def f(W, x):
        h = np.tanh(np.dot(W[:, :2], x[:2]))
        return np.sum(h.astype(float) ** 2) + np.sum(x.astype(np.float64))

    W, x = normal(3, 4), normal(4)
    h = np.tanh(W[:, :2] @ x[:2])
    # ∂/∂x: 2h(1 - h²) through W[:, :2] for x's first two entries, plus 1 from the sum of x.
    expected = np.ones(4)
    expected[:2] += W[:, :2].T @ (2 * h * (1 - h**2))
    np.testing.assert_allclose(s2sad.grad(f, wrt=1)(W, x), expected, rtol=1e-13)
