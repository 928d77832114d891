"""NumPy's functions written in Python behind NumPy 2's dispatcher (``np.polyval``, ``np.sinc``,
``np.trapezoid``), and other library functions, handed to s2sad or called without a derivative rule.

Handed to an entry point, a library function is refused with its name and the way to differentiate
it (through a function that calls it), not as "a Python function without source". Called where its
result depends on the inputs, one without a rule is refused at the user's own line, naming it and
saying what to write instead; called on constants only, it runs as it is. The derivative of such a
use is checked against the analytic value (the factor it contributes is a constant).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special

import s2sad


@pytest.mark.parametrize(
    "fn, name",
    [
        (np.polyval, "np.polyval"),
        (np.sinc, "np.sinc"),
        (np.trapezoid, "np.trapezoid"),
        (np.sin, "np.sin"),
        (math.sin, "math.sin"),
        (scipy.special.gammaln, "gammaln"),
    ],
)
@pytest.mark.parametrize("entry", [s2sad.grad, s2sad.value_and_grad, s2sad.jacobian, s2sad.hessian])
def test_a_library_function_handed_over_is_refused_by_name(fn, name, entry):
    with pytest.raises(s2sad.SourceNotFoundError) as info:
        entry(fn)(0.3)
    assert f"`{name}` itself" in info.value.message
    assert "not a Python function" not in info.value.message
    assert f"return {name}(...)" in info.value.hint


def polynomial(p, x):
    return np.polyval(p, x)


def sinc(x):
    return np.sinc(x) * x


def area(y):
    return np.trapezoid(y)


@pytest.mark.parametrize(
    "fn, args, name",
    [
        (polynomial, (np.array([1.0, 2.0]), 0.5), "np.polyval"),
        (sinc, (0.5,), "np.sinc"),
        (area, (np.array([1.0, 2.0, 4.0]),), "np.trapezoid"),
    ],
)
def test_a_library_function_without_a_rule_on_inputs_is_refused_at_the_call(fn, args, name):
    with pytest.raises(s2sad.UnknownFunctionError) as info:
        s2sad.grad(fn, wrt=len(args) - 1)(*args)
    assert f"`{name}`" in info.value.message
    assert info.value.location.filename == __file__
    assert name in info.value.location.text
    assert "custom_rule" in info.value.hint and "stop_gradient" in info.value.hint


def scaled_by_an_area(x):
    return x * np.trapezoid(np.array([1.0, 2.0, 4.0])) + np.polyval(np.array([1.0, 0.0]), 3.0)


def test_a_library_function_of_constants_runs_as_it_is():
    # d/dx (x * trapezoid([1, 2, 4]) + polyval([1, 0], 3)) = (1 + 2) / 2 + (2 + 4) / 2 = 4.5
    assert s2sad.grad(scaled_by_an_area)(2.0) == pytest.approx(4.5, rel=1e-15)
    value, slope = s2sad.value_and_grad(scaled_by_an_area)(2.0)
    assert value == pytest.approx(2.0 * 4.5 + 3.0, rel=1e-15) and slope == pytest.approx(4.5)
    assert s2sad.jvp(scaled_by_an_area, (2.0,), (2.0,))[1] == pytest.approx(9.0, rel=1e-15)
