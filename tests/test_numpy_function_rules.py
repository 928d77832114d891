"""Derivatives of the NumPy functions that join arrays, read diagonals, add or multiply up runs, and
compute statistics: ``np.hstack``, ``np.vstack``, ``np.column_stack``, ``np.stack``,
``np.atleast_1d/2d/3d``, ``np.diag``, ``np.diagonal``, ``np.trace``, ``np.flip``, ``np.cumsum``,
``np.cumprod``, ``np.var``, ``np.std``, ``np.average``, ``np.einsum``, ``np.sort``, ``np.interp``, ``np.triu`` and ``np.tril``.

Each function is checked in every entry point (grad, value_and_grad, jvp, vjp, jacobian in forward
mode, which runs the vector-mode program, and in reverse mode, hessian, and the printed and exported
source) against central differences in float64, on random inputs of several shapes and axes, and,
where the derivative is simple, against its formula. With a step of 1e-6 the truncation error of a
central difference is about 1e-12 times the third derivative and the rounding error about
1e-16 / 1e-6 = 1e-10 times the function's size (of order 1 here), so 1e-6 is far above both. Second
derivatives are second central differences of the function with a step of 1e-4: truncation about
1e-8 times the fourth derivative, rounding about 1e-16 / 1e-8 = 1e-8, compared at 1e-5.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

import s2sad
from s2sad.runtime import (  # noqa: F401  (names the printed code reads)
    broadcast_like,
    conform,
    cumprod_adjoint,
    cumprod_tangent,
    derivative_like,
    diag_adjoint,
    diagonal_scatter,
    einsum_adjoint,
    index_adjoint,
    interp_fp_adjoint,
    interp_slope,
    join_adjoint,
    matmul_adjoint,
    scalar_seed,
    sort_adjoint,
    sort_tangent,
    unbroadcast,
    weights_like,
)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "samples"))

import weighted_logistic  # noqa: E402

RNG = np.random.default_rng(20261207)
STEP, TOLERANCE = 1e-6, 1e-6
SECOND_STEP, SECOND_TOLERANCE = 1e-4, 1e-5


def close(actual, expected, tolerance=TOLERANCE):
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)


def shifted(args, i, index, step):
    moved = [np.array(a, dtype=float) for a in args]
    moved[i][index] += step
    return moved


def central_gradient(fn, args, i):
    x = np.asarray(args[i], dtype=float)
    gradient = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        up, down = shifted(args, i, index, STEP), shifted(args, i, index, -STEP)
        gradient[index] = (fn(*up) - fn(*down)) / (2 * STEP)
    return gradient


def central_hessian(fn, args):
    """∂²fn/∂x² for the first argument, by second central differences."""
    x, h = np.asarray(args[0], dtype=float), SECOND_STEP
    indices = list(np.ndindex(x.shape))
    hessian = np.zeros((len(indices), len(indices)))
    for a, i in enumerate(indices):
        for b, j in enumerate(indices):
            value = 0.0
            for si, sj, sign in ((h, h, 1), (h, -h, -1), (-h, h, -1), (-h, -h, 1)):
                moved = shifted(args, 0, i, si)
                moved[0][j] += sj
                value += sign * fn(*moved)
            hessian[a, b] = value / (4 * h * h)
    return hessian.reshape(x.shape + x.shape)


def central_jacobian(fn, x):
    x = np.asarray(x, dtype=float)
    columns = []
    for index in np.ndindex(x.shape):
        up, down = shifted([x], 0, index, STEP)[0], shifted([x], 0, index, -STEP)[0]
        columns.append((np.asarray(fn(up)) - np.asarray(fn(down))) / (2 * STEP))
    out_shape = np.shape(columns[0])
    return np.moveaxis(np.array(columns), 0, -1).reshape(out_shape + x.shape)


def printed(source: str, fn) -> dict:
    namespace = dict(fn.__globals__)
    exec(compile(source, f"<printed derivative of {fn.__name__}>", "exec"), namespace)
    return namespace


def exported(fn, tmp_path) -> dict:
    path = tmp_path / f"{fn.__name__}_derivatives.py"
    path.write_text(s2sad.export_source(fn))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


def as_tuple(value, count):
    return value if count > 1 else (value,)


def assert_every_entry_point(fn, args, tmp_path, hessian=True):
    """``fn`` (returning one number) has the central differences' derivatives at ``args`` in every
    entry point."""
    wrt = tuple(range(len(args)))
    expected = [central_gradient(fn, args, i) for i in wrt]
    for got, want in zip(s2sad.grad(fn, wrt=wrt)(*args), expected):
        close(got, want)
    value, gradients = s2sad.value_and_grad(fn, wrt=wrt)(*args)
    close(value, fn(*args), 1e-12)
    for got, want in zip(gradients, expected):
        close(got, want)
    directions = tuple(RNG.normal(size=np.shape(a)) for a in args)
    slope = sum(np.sum(e * d) for e, d in zip(expected, directions))
    close(s2sad.jvp(fn, args, directions)[1], slope)
    for got, want in zip(s2sad.vjp(fn, *args)[1](1.0), expected):
        close(got, want)
    name = fn.__name__
    for what, namespace in (
        ("printed", printed(s2sad.adjoint_source(fn) + s2sad.tangent_source(fn), fn)),
        ("printed for these shapes", printed(s2sad.adjoint_source(fn, args=args), fn)),
        ("printed, teaching form", printed(s2sad.adjoint_source(fn, teaching=True), fn)),
        ("exported", exported(fn, tmp_path)),
    ):
        for got, want in zip(as_tuple(namespace[f"{name}_grad"](*args), len(args)), expected):
            close(got, want)
        if f"{name}_jvp" in namespace:
            close(namespace[f"{name}_jvp"](*args, *directions)[1], slope)
    if hessian:
        close(s2sad.hessian(fn)(*args), central_hessian(fn, args), SECOND_TOLERANCE)


def assert_jacobians(fn, x):
    """The Jacobian of ``fn`` (an array of one input) in vector forward mode and in reverse mode."""
    s2sad.vector_tangent_source(fn, x)  # a vector-mode program exists (no sweep per direction)
    expected = central_jacobian(fn, x)
    for mode in ("forward", "reverse"):
        close(s2sad.jacobian(fn, mode=mode)(x), expected)


def normal(*shape):
    return RNG.normal(size=shape)


# --- joining arrays ----------------------------------------------------------------------------


def hstack_vectors(x):
    return np.hstack([x, x * x, 2.0])


def hstack_matrices(x):
    return np.hstack((x, np.sin(x)))


def vstack_mixed(x):
    return np.vstack([x, x[0] * x[1]])


def vstack_vectors(x):
    return np.vstack([x, 3.0 * x])


def column_stack_mixed(x):
    return np.column_stack([x, x[:, 0] ** 2])


def column_stack_vectors(x):
    return np.column_stack([x, np.cos(x)])


def stack_inner(x):
    return np.stack([x, x * x], axis=1)


def stack_last(x):
    return np.stack([x, np.exp(x)], axis=-1)


def at_least_1d(x):
    return np.atleast_1d(x * 2.0)


def at_least_2d(x):
    return np.atleast_2d(x) * 2.0


def at_least_3d(x):
    return np.atleast_3d(x)


# --- diagonals ---------------------------------------------------------------------------------


def diag_of_vector(x):
    return np.diag(x * x)


def diag_of_vector_above(x):
    return np.diag(x, k=1)


def diag_of_vector_below(x):
    return np.diag(x, -2)


def diag_of_matrix(x):
    return np.diag(x * x)


def diag_of_wide_matrix_above(x):
    return np.diag(x, 1)


def diagonal_of_cube(x):
    return np.diagonal(x, offset=1, axis1=1, axis2=2)


def diagonal_method(x):
    return (x * x).diagonal()


def trace_of_square(x):
    return np.trace(x) * x


def trace_of_wide_above(x):
    return np.trace(x, offset=1) * np.ones(2)


def trace_of_cube(x):
    return np.trace(x, axis1=1, axis2=2)


# --- reversing, running sums and products ------------------------------------------------------


def flip_all(x):
    return np.flip(x) * np.arange(x.size).reshape(x.shape)


def flip_rows(x):
    return np.flip(x, axis=1) * x


def upper_triangle(x):
    return np.triu(x) * x + np.tril(x, k=-1)


def sort_last(x):
    return np.sort(x) * x


def sort_rows(x):
    return np.sort(x, axis=0) ** 2


def sort_all(x):
    return np.sort(x, axis=None) * np.arange(x.size)


def cumsum_flat(x):
    return np.cumsum(x * x)


def cumsum_down(x):
    return np.cumsum(x, axis=0) * x


def cumsum_last(x):
    return x.cumsum(-1)


def cumprod_flat(x):
    return np.cumprod(x)


def cumprod_rows(x):
    return np.cumprod(x, axis=1)


def cumprod_down(x):
    return x.cumprod(0)


# --- statistics --------------------------------------------------------------------------------


def var_all(x):
    return np.var(x) * np.ones(2)


def var_down(x):
    return np.var(x, axis=0)


def var_rows_kept(x):
    return np.var(x, axis=1, ddof=1, keepdims=True)


def var_two_axes(x):
    return x.var(axis=(0, 2))


def std_all(x):
    return np.std(x) * np.ones(2)


def std_rows(x):
    return np.std(x, axis=1, ddof=1)


def std_down_kept(x):
    return np.std(x, 0, keepdims=True)


def average_plain(x):
    return np.average(x, axis=0)


def average_all_weighted(x):
    return np.average(x, weights=x * x + 1.0) * np.ones(2)


def average_along_rows(x):
    return np.average(x, axis=1, weights=np.arange(1.0, 4.0))


def average_kept(x):
    return np.average(x, axis=0, weights=np.exp(x), keepdims=True)


STRUCTURAL_CASES = [
    (hstack_vectors, normal(3)),
    (hstack_matrices, normal(2, 3)),
    (vstack_mixed, normal(2, 3)),
    (vstack_vectors, normal(4)),
    (column_stack_mixed, normal(3, 2)),
    (column_stack_vectors, normal(3)),
    (stack_inner, normal(2, 3)),
    (stack_last, normal(3)),
    (at_least_1d, normal(3)),
    (at_least_2d, normal(3)),
    (at_least_3d, normal(2, 3)),
    (diag_of_vector, normal(3)),
    (diag_of_vector_above, normal(3)),
    (diag_of_vector_below, normal(2)),
    (diag_of_matrix, normal(3, 3)),
    (diag_of_wide_matrix_above, normal(3, 4)),
    (diagonal_of_cube, normal(2, 3, 4)),
    (diagonal_method, normal(3, 2)),
    (trace_of_square, normal(3, 3)),
    (trace_of_wide_above, normal(2, 4)),
    (trace_of_cube, normal(2, 3, 3)),
    (flip_all, normal(2, 3)),
    (flip_rows, normal(2, 3)),
    (sort_last, normal(2, 3)),
    (upper_triangle, normal(3, 3)),
    (sort_rows, normal(3, 2)),
    (sort_all, normal(2, 3)),
    (cumsum_flat, normal(2, 3)),
    (cumsum_down, normal(3, 2)),
    (cumsum_last, normal(2, 3)),
    (cumprod_flat, normal(2, 3)),
    (cumprod_rows, np.array([[1.5, 0.0, 2.0, -0.5], [0.0, 0.0, -1.0, 0.7]])),
    (cumprod_rows, normal(2, 4)),
    (cumprod_down, np.array([[0.0, 1.2], [0.8, 0.0], [-1.1, 0.9]])),
    (var_all, normal(2, 3)),
    (var_down, normal(3, 2)),
    (var_rows_kept, normal(2, 3)),
    (var_two_axes, normal(2, 3, 2)),
    (std_all, normal(2, 3)),
    (std_rows, normal(2, 3)),
    (std_down_kept, normal(3, 2)),
    (average_plain, normal(3, 2)),
    (average_all_weighted, normal(2, 3)),
    (average_along_rows, normal(2, 3)),
    (average_kept, normal(3, 2)),
]


@pytest.mark.parametrize("op, x", STRUCTURAL_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_jacobians_in_both_modes(op, x):
    assert_jacobians(op, x)


# Functions of one number built from each operation, for grad, jvp, vjp, hessian and the source.


def sum_hstack_vectors(x):
    return np.sum(np.sin(hstack_vectors(x)))


def sum_vstack_mixed(x):
    return np.sum(np.sin(np.vstack([x, x[0] * x[1]])))


def sum_column_stack_mixed(x):
    return np.sum(np.sin(np.column_stack([x, x[:, 0] ** 2])))


def sum_stack_last(x):
    return np.sum(np.sin(np.stack([x, np.exp(x)], axis=-1)))


def sum_at_least_2d(x):
    return np.sum(np.sin(np.atleast_2d(x)) * np.arange(3.0))


def sum_diag_of_vector(x):
    return np.sum(np.sin(np.diag(x, k=1))) + np.sum(np.diag(x) ** 2)


def sum_diag_of_matrix(x):
    return np.sum(np.sin(np.diag(x, 1)) * np.diag(x))


def sum_diagonal_of_cube(x):
    return np.sum(np.sin(np.diagonal(x, offset=1, axis1=1, axis2=2)))


def sum_trace(x):
    return np.sin(np.trace(x)) + np.trace(x * x, offset=-1)


def sum_triangles(x):
    return np.sum(np.triu(x, k=1) ** 2) + np.sum(np.tril(x) ** 3)


def sum_sort(x):
    # by hand: the k-th smallest element x[order[k]] has weight k + 1 (then sin' there)
    return np.sum(np.sort(x) * np.arange(1, x.shape[-1] + 1)) + np.sum(
        np.sin(np.sort(x, axis=None))
    )


KNOTS = np.array([-1.0, 0.0, 0.5, 2.0])


def sum_interp(x, fp):
    # points inside the knots, away from them (the kinks), and one beyond the last knot
    return np.sum(np.interp(x, KNOTS, fp) ** 2) + np.interp(2.5, KNOTS, fp) * np.sum(x)


def sum_flip(x):
    return np.sum(np.flip(x, axis=0) * x) + np.sum(np.sin(np.flip(x)))


def sum_cumsum(x):
    return np.sum(np.sin(np.cumsum(x, axis=1))) + np.sum(np.cumsum(x) ** 2)


def sum_cumprod(x):
    return np.sum(np.cumprod(x, axis=1)) + np.sum(np.sin(np.cumprod(x)))


def sum_var(x):
    return np.var(x) + np.sum(np.var(x, axis=0, ddof=1) ** 2)


def sum_std(x):
    return np.std(x) + np.sum(np.std(x, axis=1, keepdims=True) * x)


def sum_average(x, w):
    return np.sum(np.average(x, axis=1, weights=w) ** 2) + np.average(x, weights=x * x)


def sum_average_of_weights(w, x):
    return np.sum(np.sin(np.average(x, 0, w)))  # weights given by position, after the axis


def logistic_loss(theta, x):
    """A logistic-regression loss with the intercept's column made by np.hstack."""
    features = np.hstack([np.ones((x.shape[0], 1)), x])
    return np.sum(np.log1p(np.exp(-(features @ theta))))


SCALAR_CASES = [
    (sum_hstack_vectors, (normal(3),)),
    (sum_vstack_mixed, (normal(2, 3),)),
    (sum_column_stack_mixed, (normal(3, 2),)),
    (sum_stack_last, (normal(3),)),
    (sum_at_least_2d, (normal(3),)),
    (sum_diag_of_vector, (normal(3),)),
    (sum_diag_of_matrix, (normal(3, 4),)),
    (sum_diagonal_of_cube, (normal(2, 2, 3),)),
    (sum_trace, (normal(3, 3),)),
    (sum_flip, (normal(2, 3),)),
    (sum_sort, (normal(2, 3),)),
    (sum_triangles, (normal(3, 4),)),
    (sum_interp, (np.array([-0.7, 0.2, 1.3]), normal(4))),
    (sum_cumsum, (normal(2, 3),)),
    (sum_cumprod, (np.array([[1.5, 0.0, 2.0], [0.0, 0.0, -1.0]]),)),
    (sum_cumprod, (normal(2, 3),)),
    (sum_var, (normal(3, 2),)),
    (sum_std, (normal(2, 3),)),
    (sum_average, (normal(2, 3), RNG.uniform(0.5, 1.5, size=3))),
    (sum_average_of_weights, (RNG.uniform(0.5, 1.5, size=3), normal(3, 2))),
    (logistic_loss, (normal(3), normal(4, 2))),
]


@pytest.mark.parametrize("fn, args", SCALAR_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_every_entry_point_agrees_with_central_differences(fn, args, tmp_path):
    assert_every_entry_point(fn, args, tmp_path)


# --- np.einsum ---------------------------------------------------------------------------------

B = normal(3, 4)
C = normal(2, 3, 4)


def einsum_product(x):
    return np.einsum("ij,jk->ik", x, B)


def einsum_implicit(x):
    return np.einsum("ij,jk", x, x.T)


def einsum_trace(x):
    return np.einsum("ii", x) * np.ones(2)


def einsum_diagonal(x):
    return np.einsum("ii->i", x * x)


def einsum_row_sums(x):
    return np.einsum("ij->i", x)


def einsum_transposed(x):
    return np.einsum("ijk->kji", x)


def einsum_batched_product(x):
    return np.einsum("...ij,...jk->...ik", x, B)


def einsum_broadcast_implicit(x):
    return np.einsum("...j,j", C, x)


def einsum_outer(x):
    return np.einsum("bi,bj->bij", x, x)


def einsum_three(x):
    return np.einsum("ij,jk,kl->il", x, B, B.T)


def einsum_label_broadcast(x):
    return np.einsum("ij,ij->i", x, np.ones((1, 3)) * x[0])


EINSUM_CASES = [
    (einsum_product, normal(2, 3)),
    (einsum_implicit, normal(2, 3)),
    (einsum_trace, normal(3, 3)),
    (einsum_diagonal, normal(3, 3)),
    (einsum_row_sums, normal(2, 3)),
    (einsum_transposed, normal(2, 3, 2)),
    (einsum_batched_product, normal(2, 2, 3)),
    (einsum_broadcast_implicit, normal(4)),
    (einsum_outer, normal(2, 3)),
    (einsum_three, normal(2, 3)),
    (einsum_label_broadcast, normal(2, 3)),
]


@pytest.mark.parametrize("op, x", EINSUM_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_einsum_jacobians_in_both_modes(op, x):
    assert_jacobians(op, x)


def sum_einsum_product(a, b):
    return np.sum(np.sin(np.einsum("ij,jk->ik", a, b)))


def sum_einsum_inner(a, b):
    return np.sin(np.einsum("i,i", a, b)) + np.einsum("i,j->", a, b) ** 2


def sum_einsum_diagonal(a, b):
    return np.sum(np.sin(np.einsum("ii,i->i", a, b)))


def sum_einsum_ellipsis(a, b):
    return np.sum(np.cos(np.einsum("...ij,jk->...ik", a, b)))


def sum_einsum_only_one(a, b):
    return np.sum(np.sin(np.einsum("ij,i->i", a, b)))


def sum_einsum_broadcast(a, b):
    return np.sum(np.sin(np.einsum("ij,ij->ij", a, b)))


SUBSCRIPTS = "ik,k->i"


def sum_einsum_constant_subscripts(a, b):
    return np.sum(np.sin(np.einsum(SUBSCRIPTS, a, b, optimize=True)))


EINSUM_SCALAR_CASES = [
    (sum_einsum_product, (normal(2, 3), normal(3, 2))),
    (sum_einsum_inner, (normal(3), normal(3))),
    (sum_einsum_diagonal, (normal(3, 3), normal(3))),
    (sum_einsum_ellipsis, (normal(2, 2, 3), normal(3, 2))),
    (sum_einsum_only_one, (normal(2, 3), normal(2))),
    (sum_einsum_broadcast, (normal(2, 3), normal(1, 3))),
    (sum_einsum_constant_subscripts, (normal(2, 3), normal(3))),
]


@pytest.mark.parametrize("fn, args", EINSUM_SCALAR_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_einsum_in_every_entry_point(fn, args, tmp_path):
    assert_every_entry_point(fn, args, tmp_path)


def test_an_einsum_adjoint_is_another_einsum_where_shapes_are_known():
    """``ā = einsum("jk,ik->ij", b, w̄)``: one call, written out in the code compiled for shapes."""
    source = s2sad.adjoint_source(sum_einsum_product, args=(normal(2, 3), normal(3, 2)))
    assert 'np.einsum("jk,ik->ij"' in source.replace("'", '"')


def einsum_axis_lists(a, b):
    return np.sum(np.einsum(a, [0, 1], b, [1, 2]))


def test_einsum_with_lists_of_axes_is_refused():
    with pytest.raises(s2sad.S2SADError, match="subscripts as a string"):
        s2sad.grad(einsum_axis_lists)(normal(2, 3), normal(3, 2))


# --- formulas --------------------------------------------------------------------------------


def trace_alone(x):
    return np.trace(x)


def variance(x):
    return np.var(x, ddof=1)


def spread(x):
    return np.std(x)


def running_product(x):
    return np.sum(np.cumprod(x))


def weighted_mean(x, w):
    return np.average(x, weights=w)


def test_derivatives_agree_with_their_formulas():
    x = normal(3, 3)
    close(s2sad.grad(trace_alone)(x), np.eye(3), 1e-12)  # ∂ tr(x) / ∂x = I
    v = normal(5)
    close(s2sad.grad(variance)(v), 2 * (v - v.mean()) / 4, 1e-12)
    close(s2sad.grad(spread)(v), (v - v.mean()) / (5 * np.std(v)), 1e-12)
    # Σ_i Π_{j≤i} x_j at (2, 0, 5): ∂/∂x = (1 + x1 + x1 x2, x0 + x0 x2, x0 x1) = (1, 12, 0)
    close(s2sad.grad(running_product)(np.array([2.0, 0.0, 5.0])), [1.0, 12.0, 0.0], 1e-12)
    w = RNG.uniform(0.5, 1.5, size=5)
    dx, dw = s2sad.grad(weighted_mean, wrt=(0, 1))(v, w)
    close(dx, w / w.sum(), 1e-12)
    close(dw, (v - np.average(v, weights=w)) / w.sum(), 1e-12)


def test_the_spread_of_equal_values_has_derivative_zero():
    """np.std has no derivative where every element is equal; the convention is 0, the derivative
    of least magnitude, as abs'(0) = 0."""
    close(s2sad.grad(spread)(np.full(4, 1.5)), np.zeros(4), 0.0)


def test_printed_names_read_as_numpy_writes_them():
    source = s2sad.tangent_source(weighted_mean)
    assert "np.average(x, weights=w)" in source
    assert "np.cumprod(x)" in s2sad.adjoint_source(running_product)


# --- on values that are not differentiated -----------------------------------------------------

SCALE = np.arange(1.0, 4.0)


def quadratic_form(x):
    return x @ np.diag(SCALE) @ x + np.trace(np.diag(SCALE)) * np.sum(x)


def test_functions_of_constants_are_used_as_they_are():
    x = normal(3)
    close(s2sad.grad(quadratic_form)(x), 2 * SCALE * x + 6.0, 1e-12)


# --- a sample from the gallery -----------------------------------------------------------------


def test_the_weighted_logistic_sample_has_its_closed_form_derivatives():
    sample = weighted_logistic
    X, y, c = normal(6, 2), RNG.integers(0, 2, 6).astype(float), RNG.uniform(0.5, 2.0, 6)
    w = normal(3)
    close(s2sad.grad(sample.loss)(w, X, y, c), sample.closed_gradient(w, X, y, c), 1e-12)
    close(s2sad.hessian(sample.loss)(w, X, y, c), sample.closed_hessian(w, X, y, c), 1e-12)


def test_the_gradient_of_a_sum_of_sorted_values_by_hand():
    x = np.array([[0.3, -1.2, 0.8], [2.0, 0.1, -0.4]])
    expected = np.cos(x)  # each element appears once in the flattened sort
    for row in range(2):
        for k, position in enumerate(np.argsort(x[row])):
            expected[row, position] += k + 1
    np.testing.assert_allclose(s2sad.grad(sum_sort)(x), expected, rtol=1e-14)


def test_interp_by_hand_and_its_knots_refused():
    # on [0, 0.5] the slope is (fp2 - fp1) / 0.5, and x = 0.2 weighs fp1 by 0.6 and fp2 by 0.4
    fp = np.array([1.0, 2.0, -1.0, 0.5])
    assert s2sad.grad(lambda_free_interp)(0.2, fp) == pytest.approx((-1.0 - 2.0) / 0.5, rel=1e-14)
    np.testing.assert_allclose(
        s2sad.grad(lambda_free_interp, wrt=1)(0.2, fp), [0, 0.6, 0.4, 0], rtol=1e-14
    )
    assert s2sad.grad(lambda_free_interp)(3.0, fp) == 0.0  # beyond the last knot: constant
    with pytest.raises(s2sad.NotDifferentiableError, match="knots xp") as caught:
        s2sad.grad(interp_with_knots, wrt=1)(0.2, KNOTS, fp)
    assert caught.value.location is not None and "np.interp" in caught.value.location.text


def lambda_free_interp(x, fp):
    return np.interp(x, KNOTS, fp)


def interp_with_knots(x, xp, fp):
    return np.interp(x, xp, fp)


def test_triangles_by_hand():
    # ∂/∂x of Σ triu(x, 1)² + Σ tril(x)³: 2x above the diagonal, 3x² on and below it
    x = normal(3, 4)
    above = np.triu(np.ones((3, 4)), k=1).astype(bool)
    expected = np.where(above, 2 * x, 3 * x**2)
    np.testing.assert_allclose(s2sad.grad(sum_triangles)(x), expected, rtol=1e-14)
