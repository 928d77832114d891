"""Calls of functions s2sad has no rule for, on values that carry no derivative, run as written and
are constants of the derivative (s2sad/opaque.py); on values that do, they are refused with advice.
Derivatives are compared with ones worked out by hand (tolerances in every_entry)."""

import itertools
import math
import warnings
from math import cos, sin  # noqa: F401  (names the printed code for numbers reads)

import numpy as np
import pytest

import s2sad
from s2sad.runtime import (  # noqa: F401  (names the printed code reads)
    conform,
    derivative_like,
    matmul_adjoint,
    scalar_seed,
    unbroadcast,
)
from every_entry import check

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # warnings.warn runs, as written


def bounded_quadratic(x, lo=0.0, hi=10.0):
    inside = np.logical_and(lo < x, x < hi)  # a bounds check on the differentiated value
    if not np.all(inside):
        raise ValueError("out of bounds")
    if not isinstance(x, np.ndarray) or not hasattr(x, "shape"):
        raise TypeError("x must be an array")
    eps = np.finfo(float).eps
    n = int(x.shape[0])
    warnings.warn(f"{n} points")
    d = np.diag(np.arange(n) + 1.0)
    return x @ d @ x + eps * n + np.sum(np.isfinite(x))


def bounded_quadratic_gradient(x):
    return (2 * (np.arange(x.size) + 1.0) * x,)


def method_of_a_string(x, mode="Linear"):
    if mode.lower() == "linear":
        return 3.0 * x
    return x * x


def test_calls_on_inactive_values_are_constants(tmp_path):
    x = np.array([1.0, 2.0, 3.0])
    check(
        bounded_quadratic,
        (x,),
        bounded_quadratic_gradient,
        tmp_path,
        lambda x: np.diag(2 * (np.arange(x.size) + 1.0)),
    )
    with pytest.raises(ValueError, match="out of bounds"):
        s2sad.grad(bounded_quadratic)(np.array([1.0, 20.0]))


def test_a_method_of_a_string(tmp_path):
    check(method_of_a_string, (2.0,), lambda x: (3.0,), tmp_path, lambda x: 0.0)
    assert s2sad.grad(method_of_a_string)(2.0, "square") == pytest.approx(4.0, rel=1e-12)


def test_a_call_is_not_run_while_compiling():
    counter = itertools.count(1)

    def f(x):
        return x * next(counter)

    assert s2sad.grad(f)(1.5) == pytest.approx(1.0, rel=1e-12)  # the first count, not a later
    assert next(counter) == 2  # one call, by the gradient


def flipped(x):
    return np.sum(np.cumsum(np.fliplr(x)))


def next_float_times(x):
    return math.nextafter(x, 0.0) * x


def test_an_unknown_function_of_a_differentiated_value_is_refused_with_advice():
    with pytest.raises(s2sad.UnknownFunctionError) as info:
        s2sad.grad(flipped)(np.ones((2, 2)))
    message = str(info.value)
    assert "np.fliplr(x)" in message and "^" in message
    assert "s2sad.stop_gradient" in message and "custom_rule" in message
    assert "np.flip" in message  # the closest supported names, not every one
    assert "np.zeros_like" not in message
    with pytest.raises(s2sad.UnknownFunctionError, match="math.nextafter"):
        s2sad.grad(next_float_times)(1.5)


def test_stop_gradient_makes_it_a_constant():
    def f(x):
        return x * math.trunc(s2sad.stop_gradient(x))

    assert s2sad.grad(f)(2.5) == pytest.approx(2.0, rel=1e-12)


def copies_into(x):
    y = np.zeros(3)
    np.copyto(y, x)
    return np.sum(y)


def writes_out(x):
    y = np.zeros(3)
    return np.sum(np.negative(x, out=y))


def makes_complex(x):
    return x * abs(complex(1.0, 2.0))


@pytest.mark.parametrize(
    "fn, text",
    [
        (copies_into, "np.copyto(y, x)"),
        (makes_complex, "complex(1.0, 2.0)"),
    ],
)
def test_calls_that_cannot_be_followed_are_refused_at_their_place(fn, text):
    with pytest.raises(s2sad.S2SADError) as info:
        s2sad.grad(fn)(np.ones(3) if fn is copies_into else 1.0)
    assert text in info.value.location.text


def checks_its_type(x):
    if not isinstance(x, (float, int)):
        raise TypeError("a number")
    limits = max([abs(x), 1.0])  # a list given to a function with a rule still works
    return x * np.prod(np.array([2.0, 3.0])) / limits


def test_tuples_and_lists_are_built_where_they_are_passed(tmp_path):
    check(checks_its_type, (0.5,), lambda x: (6.0,), tmp_path, lambda x: 0.0)
    check(checks_its_type, (2.0,), lambda x: (0.0,), tmp_path, lambda x: 0.0)


def complex_literal(x):
    rotation = 2j
    return x * abs(rotation)


def test_a_complex_literal_is_refused_at_its_place():
    with pytest.raises(s2sad.UnsupportedSyntaxError) as info:
        s2sad.grad(complex_literal)(1.0)
    assert "2j" in info.value.message
    assert info.value.location.text.strip() == "rotation = 2j"
    assert "real" in info.value.hint


def noisy(x, n=3):
    rng = np.random.default_rng(7)
    noise = rng.normal(size=n) * 0.0 + np.zeros(int(n))  # a computed keyword argument
    return np.sum(x * x + noise)


def test_a_computed_keyword_argument(tmp_path):
    check(
        noisy, (np.array([1.0, -2.0, 0.5]),), lambda x: (2 * x,), tmp_path, lambda x: 2 * np.eye(3)
    )
    assert "rng.normal(size=" in s2sad.grad(noisy).source or "normal(size=" in s2sad.adjoint_source(
        noisy, args=(np.ones(3),)
    )


def counted(x, n=3):
    if not isinstance(x, (float, int)):
        raise TypeError("a number")
    return x * int(n) + math.sin(x)


def test_code_for_numbers_stays_code_for_numbers(tmp_path):
    check(counted, (1.0,), lambda x: (3 + math.cos(x),), tmp_path, lambda x: -math.sin(x))
    source = s2sad.grad(counted).source
    assert "isinstance(x, w3)" in source and "unbroadcast" not in source  # no array code


def _sorted_in_place(x):
    y = x * 1.0
    y.sort()
    return y[0] * 2.0 + y[-1]


def test_an_array_sorted_in_place_is_refused_with_the_call_to_write():
    with pytest.raises(s2sad.S2SADError, match=r"`\.sort\(\)` changes the array in place") as caught:
        s2sad.grad(_sorted_in_place)(np.array([0.3, -0.5, 1.2]))
    assert "write `y = np.sort(y)`" in str(caught.value)
