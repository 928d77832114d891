"""Derivatives of np.linalg.det, slogdet, inv, solve and cholesky, in every entry point.

Against central differences (see ``rule_oracles`` for the tolerances) on well-conditioned random
matrices: ``A = G + 4 I`` with ``G`` standard normal (3 × 3) has singular values within a small
factor of 4, and the matrices given to ``cholesky`` are ``B Bᵀ + 3 I``, positive definite with
eigenvalues in [3, 20]; and against the analytic gradients where they are one line
(∇ det = det A⁻ᵀ, ∇ log|det| = A⁻ᵀ).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import s2sad
from rule_oracles import RNG, check_everywhere, check_jacobian

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
import gaussians  # noqa: E402

A = RNG.normal(size=(3, 3)) + 4 * np.eye(3)
NEGATIVE = A @ np.diag([1.0, 1.0, -1.0])  # det < 0: slogdet's sign is -1
_B = RNG.normal(size=(3, 3))
SPD = _B @ _B.T + 3 * np.eye(3)
V = RNG.normal(size=3)
M = RNG.normal(size=(3, 2))


def determinant(a):
    return np.linalg.det(a)


def log_determinant(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet + logdet**2


def inverse(a):
    return np.sum(np.sin(np.linalg.inv(a)))


def solved_vector(a, b):
    x = np.linalg.solve(a, b)
    return np.sum(x**3) + x[0] * b[1]


def solved_matrix(a, b):
    return np.sum(np.cos(np.linalg.solve(a, b)))


def factor(s):
    low = np.linalg.cholesky(s)
    return np.sum(low**3) + np.sum(np.log(low * low + 1))


def factor_of_product(b):
    return np.sum(np.linalg.cholesky(b @ b.T + 3 * np.eye(3)) ** 2 * np.arange(9.0).reshape(3, 3))


def volume(a, b):  # several rules chained: det of a matrix solved for
    return np.linalg.det(np.linalg.solve(a, b @ b.T + np.eye(3))) + np.linalg.slogdet(b)[1]


@pytest.mark.parametrize(
    "fn, args",
    [
        (determinant, (A,)),
        (determinant, (NEGATIVE,)),
        (log_determinant, (A,)),
        (log_determinant, (NEGATIVE,)),
        (inverse, (A,)),
        (solved_vector, (A, V)),
        (solved_matrix, (A, M)),
        (factor, (SPD,)),
        (factor_of_product, (_B,)),
        (volume, (A, A.T)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_against_central_differences_in_every_entry_point(fn, args, tmp_path):
    check_everywhere(fn, *args, tmp_path=tmp_path)


def test_the_gradients_of_det_and_slogdet_are_the_analytic_ones():
    inverse_transpose = np.linalg.inv(NEGATIVE).T
    det = np.linalg.det(NEGATIVE)
    got = s2sad.grad(determinant)(NEGATIVE)
    np.testing.assert_allclose(got, det * inverse_transpose, rtol=1e-12, atol=1e-12)
    got = s2sad.grad(lambda a: np.linalg.slogdet(a)[1])(NEGATIVE)
    np.testing.assert_allclose(got, inverse_transpose, rtol=1e-12, atol=1e-12)


def test_cholesky_reads_the_lower_triangle_only():
    """NumPy's factor ignores the entries above the diagonal: their derivative is 0."""
    gradient = s2sad.grad(factor)(SPD)
    assert np.all(gradient[np.triu_indices(3, 1)] == 0)
    assert np.all(gradient[np.tril_indices(3)] != 0)


def matrix_results(a, b):
    return np.linalg.inv(a) + np.linalg.solve(a, b) * np.linalg.det(a)


def vector_result(a, v):
    return np.linalg.solve(a, v) + np.linalg.cholesky(a @ a.T)[:, 0]


@pytest.mark.parametrize(
    "fn, args", [(matrix_results, (A, M[:, :1] @ np.ones((1, 3)))), (vector_result, (A, V))]
)
def test_jacobians_of_array_results_in_both_modes(fn, args):
    check_jacobian(fn, *args)


def stacked(a):
    return np.sum(np.linalg.det(a))


def test_a_stack_of_matrices_is_refused_with_advice():
    with pytest.raises(s2sad.NotDifferentiableError, match="stack") as info:
        s2sad.grad(stacked)(np.stack([A, A]))
    assert info.value.location.line == stacked.__code__.co_firstlineno + 1
    assert "np.linalg.det(a)" in str(info.value)


def test_the_printed_gradient_solves_rather_than_inverts():
    source = s2sad.adjoint_source(solved_matrix, args=(A, M))
    assert "np.linalg.solve(" in source and "np.linalg.inv(" not in source


COV = SPD / 3  # eigenvalues in [1, 7]
GRID = np.linspace(0.0, 3.0, 6)


@pytest.mark.parametrize(
    "fn, args",
    [
        (gaussians.mvn_logpdf, (V, np.cos(V), COV)),
        (gaussians.gp_nll, (0.2, -1.0, GRID, np.sin(GRID))),  # noise e^-2: kernel + 0.14 I
    ],
    ids=["mvn_logpdf", "gp_nll"],
)
def test_the_gaussian_samples_in_every_entry_point(fn, args, tmp_path):
    check_everywhere(fn, *args, tmp_path=tmp_path)


def test_the_gradient_of_the_log_density_in_x_is_the_analytic_one():
    mean = np.cos(V)
    got = s2sad.grad(gaussians.mvn_logpdf)(V, mean, COV)
    np.testing.assert_allclose(got, -np.linalg.solve(COV, V - mean), rtol=1e-12, atol=1e-12)
