"""Second derivatives through a loop whose tape the reverse sweep restores values (and their
tangents) from, checked against second central differences of ``f`` itself.

In the forward-over-reverse program, ``w7 = 1.0 + w5`` has the tangent ``w7_dot = w5_dot``, a copy.
The reverse sweep restores ``w7, w7_dot`` from the tape of the iteration it undoes, so the copy
no longer holds there: substituting ``w5_dot`` (the last forward iteration's) for the restored
``w7_dot`` gave a wrong, asymmetric Hessian without any error.

Tolerance: the second central difference with step h = 1e-4 in float64 has a truncation error of
about h²/12 · |f''''| ≈ 1e-9 for the smooth functions here (fourth derivatives of order 1-10) and a
rounding error of about 4ε · |f| / h² ≈ 1e-7 for values of order 1; rtol and atol 1e-5 sit two
orders of magnitude above both, and far below the error the defect made (order 0.01 to 10).
"""

import numpy as np
import pytest

import s2sad

STEP = 1e-4
TOLERANCE = dict(rtol=1e-5, atol=1e-5)

C3 = np.array([0.5, -1.0, 1.5])


def quotient_in_a_branch(p, q):
    for k in range(2):
        a = p * q
        q = p if q > 1.0 else a / (1.0 + a)
    return q


def quotient_in_a_while(p, q):
    k = 0
    while k < 20 and q < 1.0:
        a = (p + q) * 3.0
        q = q + 0.5 + np.sin(p if q**2 > 1.0 else a / (1.0 + a * a)) ** 2
        k += 1
    return p + q


def found_by_the_harness(w1, w1_bar, v2, v3):
    """The program the differential harness found it with (parameters named like adjoints)."""
    k3 = 0
    while k3 < 20 and w1_bar < 1.0:
        a4 = ((w1 * C3) + (w1_bar * C3)) @ (v2 @ v3)
        w1_bar = w1_bar + 0.5 + np.sin(w1 if w1_bar**2 > 1.0 else (a4 / (1.0 + a4 * a4))) ** 2
        k3 += 1
    return w1 + w1_bar


V2 = np.linspace(-0.4, 1.3, 12).reshape(3, 4)
V3 = np.array([-0.05, 1.4, 0.7, 1.1])
CASES = [
    (quotient_in_a_branch, (-0.26, -0.33)),
    (quotient_in_a_while, (-0.26, -0.33)),
    (found_by_the_harness, (-0.26177838123204955, -0.3297558199233661, V2, V3)),
]


def second_differences(fn, args) -> np.ndarray:
    """The Hessian of ``fn`` in its first two (number) arguments by second central differences."""

    def at(di, dj):
        moved = list(args)
        moved[0] += di
        moved[1] += dj
        return fn(*moved)

    h = STEP
    hessian = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            e = [(h if k == i else 0.0) + (h if k == j else 0.0) for k in range(2)]
            f = [(h if k == i else 0.0) - (h if k == j else 0.0) for k in range(2)]
            hessian[i, j] = (at(*e) - at(*f) - at(*(-x for x in f)) + at(*(-x for x in e))) / (
                4 * h * h
            )
    return hessian


@pytest.mark.parametrize("fn, args", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_second_derivatives_read_the_tangents_the_tape_restores(fn, args):
    expected = second_differences(fn, args)
    hessian = np.array(s2sad.hessian(fn, wrt=(0, 1))(*args), dtype=float)
    np.testing.assert_allclose(hessian, expected, **TOLERANCE)
    for column in range(2):
        direction = (1.0, 0.0) if column == 0 else (0.0, 1.0)
        product = s2sad.hvp(fn, wrt=(0, 1))(*args, *direction)
        np.testing.assert_allclose(np.array(product, dtype=float), expected[:, column], **TOLERANCE)
    np.testing.assert_allclose(s2sad.grad(s2sad.grad(fn))(*args), expected[0, 0], **TOLERANCE)
    second = s2sad.grad(s2sad.grad(fn, wrt=1), wrt=1)(*args)
    np.testing.assert_allclose(second, expected[1, 1], **TOLERANCE)


def test_printed_second_order_code_reads_the_restored_tangent():
    """The hvp program's source, run on its own, computes what hvp computes."""
    source = s2sad.hvp_source(quotient_in_a_branch, wrt=(0, 1))
    namespace = {"np": np}
    exec(source, namespace)
    expected = second_differences(quotient_in_a_branch, (-0.26, -0.33))
    product = namespace["quotient_in_a_branch_hvp"](-0.26, -0.33, 0.0, 1.0)
    np.testing.assert_allclose(np.array(product, dtype=float), expected[:, 1], **TOLERANCE)
