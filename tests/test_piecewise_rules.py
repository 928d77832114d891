"""Rounding, signs, heaviside, copysign and fsum, in every entry point.

The rounding functions are piecewise constant: away from their jumps their derivative is 0, which
central differences (see ``rule_oracles`` for the tolerances) confirm at points at least 0.1 from any
jump, far beyond the step 1e-6. At a jump the derivative is 0 by the convention of
:mod:`s2sad.piecewise_rules`, checked exactly where central differences do not apply.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2sad
from rule_oracles import check_everywhere

X = np.array([0.32, -1.71, 2.43, 4.18])  # no element within 0.02 of a jump of the rounding


def rounded(x, y):
    rounded = x * y * round(x) + round(y, 1) * x**2 + math.trunc(x) * y
    return x * math.floor(y) + y * math.ceil(x) + rounded


def rounded_arrays(x):
    rounded = np.round(x) * x**2 + np.around(x, 1) + x.round(1) * x + np.trunc(x) + np.rint(x) * x
    return np.sum(x * np.floor(x) + np.ceil(x) * np.sin(x) + rounded)


def signs(x):
    return np.sum(x**2 * np.sign(x) + np.heaviside(x, 0.5) * np.exp(x))


def step_value(x, h):
    return np.sum(np.heaviside(x, h) * x) * h + h**2


def copied_sign(x, y):
    return math.copysign(x, y) * x + math.copysign(y * y, x)


def exact_sum(x, y):
    return math.fsum([x * y, math.sin(x), y**2]) * x + math.fsum(v * v for v in (x, y))


def counted(x):  # a count computed by floor is a constant of the derivative code
    total = 0.0
    for i in range(math.floor(x)):
        total = total + x * i
    return total


@pytest.mark.parametrize(
    "fn, args",
    [
        (rounded, (1.3, -2.2)),
        (rounded, (-0.6, 3.7)),
        (rounded_arrays, (X,)),
        (signs, (X,)),
        (step_value, (np.array([0.4, 1.5, -2.0, -0.3]), 0.7)),
        (copied_sign, (1.5, -0.8)),
        (copied_sign, (-0.4, 2.0)),
        (exact_sum, (0.7, -1.3)),
        (counted, (4.5,)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_against_central_differences_in_every_entry_point(fn, args, tmp_path):
    check_everywhere(fn, *args, tmp_path=tmp_path)


def test_at_the_jumps_the_derivative_is_zero():
    assert s2sad.grad(lambda x: math.floor(x) + math.ceil(x) + round(x))(2.0) == 0.0
    assert s2sad.grad(lambda x: round(x) * 3.0)(2.5) == 0.0
    grad = s2sad.grad(lambda x: np.sum(np.floor(x) + np.heaviside(x, 0.5) + np.sign(x)))
    np.testing.assert_array_equal(grad(np.array([0.0, 1.0, -3.0])), np.zeros(3))
    # heaviside's value at 0 is h0: its derivative in h0 is 1 there, 0 elsewhere
    assert s2sad.grad(lambda x, h: np.heaviside(x, h), wrt=1)(0.0, 0.3) == 1.0
    assert s2sad.grad(lambda x, h: np.heaviside(x, h), wrt=1)(2.0, 0.3) == 0.0
    # copysign(x, y) at x == 0: abs's convention, 0
    assert s2sad.grad(lambda x, y: math.copysign(x, y))(0.0, -1.0) == 0.0


def test_fsum_of_a_list_of_unknown_length_is_refused_with_advice():
    def summed(x):
        return math.fsum(x)

    with pytest.raises(s2sad.S2SADError, match="list or tuple"):
        s2sad.grad(summed)(np.array([1.0, 2.0]))
