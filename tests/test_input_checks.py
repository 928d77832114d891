"""Input validation (``raise``, ``assert``) runs in every derivative as in the function, and has no
derivative: where the check passes the derivatives are those worked out by hand (tolerances in
every_entry), and where it fails every entry point raises the function's own exception."""

import math
from math import cos, log, sin  # noqa: F401  (names the printed code for numbers reads)

import numpy as np
import pytest

import s2sad
from s2sad.runtime import (  # noqa: F401  (names the printed code reads)
    derivative_like,
    matmul_adjoint,
    real_number,
    scalar_seed,
    unbroadcast,
)
from every_entry import check, refused_alike


class DomainError(ValueError):
    pass


def weighted_roots(x, k):
    if x.ndim != 1:
        raise ValueError(f"x must be 1-d, got {x.ndim} dimensions")
    if np.min(x) < 0:  # a test on the differentiated values themselves
        raise DomainError("x must be non-negative")
    assert k > 0, "k must be positive"
    return np.sum(np.sqrt(x) * k)


def weighted_roots_gradient(x, k):
    return 0.5 * k / np.sqrt(x), np.sum(np.sqrt(x))


def _two_parameters(p):
    if len(p) != 2:
        raise DomainError(f"expected 2 parameters, got {len(p)}")


def pendulum(p):
    _two_parameters(p)  # a check in a helper, called for its effect
    a, b = p
    for i in range(3):
        if a * i > 100.0:
            raise OverflowError("the swing is too large") from None
    return a * math.sin(b) + a * a


def pendulum_gradient(p):
    a, b = p
    return ((math.sin(b) + 2 * a, a * math.cos(b)),)


def pendulum_hessian(p):
    a, b = p
    return [[2.0, math.cos(b)], [math.cos(b), -a * math.sin(b)]]


def method_table(x, method="square"):
    if method == "square":
        return x * x
    if method == "cube":
        return x * x * x
    raise ValueError(f"unknown method {method!r}")


def assert_on_value(x):
    assert x > 0
    return math.log(x)


def test_checks_that_pass_leave_the_derivatives_of_the_rest(tmp_path):
    x = np.array([1.0, 4.0, 2.25])
    check(weighted_roots, (x, 2.0), weighted_roots_gradient, tmp_path)


def test_checks_in_a_helper_and_in_a_loop(tmp_path):
    check(pendulum, ((1.5, 0.3),), pendulum_gradient, tmp_path, pendulum_hessian)


def test_a_raise_after_every_return(tmp_path):
    check(method_table, (1.5,), lambda x: (2 * x,), tmp_path, lambda x: 2.0)
    assert s2sad.grad(method_table)(1.5, "cube") == pytest.approx(3 * 1.5**2, rel=1e-12)
    with pytest.raises(ValueError, match="unknown method 'cosine'"):
        s2sad.grad(method_table)(1.5, "cosine")


def test_an_assert_on_the_differentiated_value(tmp_path):
    check(assert_on_value, (2.0,), lambda x: (1 / x,), tmp_path, lambda x: -1 / x**2)
    refused_alike(assert_on_value, (-1.0,), AssertionError, None, tmp_path)


@pytest.mark.parametrize(
    "args, exception, message",
    [
        ((np.ones((2, 2)), 2.0), ValueError, "x must be 1-d, got 2 dimensions"),
        ((np.array([-1.0, 1.0]), 2.0), DomainError, "x must be non-negative"),
        ((np.array([1.0, 1.0]), -2.0), AssertionError, "k must be positive"),
    ],
)
def test_failed_checks_raise_the_functions_exception(args, exception, message, tmp_path):
    refused_alike(weighted_roots, args, exception, message, tmp_path)


def test_a_check_decided_while_lowering_raises_when_called(tmp_path):
    # len(p) is known from the argument: the check fails before `a, b = p` would be refused
    refused_alike(
        pendulum, ((1.0, 2.0, 3.0),), DomainError, "expected 2 parameters, got 3", tmp_path
    )
    refused_alike(pendulum, ((101.0, 2.0),), OverflowError, "the swing is too large", tmp_path)


def test_the_printed_check_is_the_functions():
    source = s2sad.adjoint_source(weighted_roots, args=(np.ones(2), 1.0))
    assert 'raise DomainError("x must be non-negative")' in source
    assert 'raise AssertionError("k must be positive")' in source
    assert "_bar" not in source.split("raise AssertionError")[0]  # checks are in the primal sweep


def always_raises(x):
    raise NotImplementedError("subclasses define this")


def test_a_function_that_always_raises(tmp_path):
    refused_alike(always_raises, (1.0,), NotImplementedError, "subclasses define this", tmp_path)


def bare_raise(x):
    raise


def raise_from(x, err):
    raise ValueError("bad") from err


def raise_a_number(x):
    raise x


@pytest.mark.parametrize(
    "fn, caret",
    [(bare_raise, "raise"), (raise_from, "err"), (raise_a_number, "x")],
)
def test_raises_that_cannot_be_followed_are_refused_at_their_place(fn, caret):
    with pytest.raises(s2sad.UnsupportedSyntaxError) as info:
        s2sad.grad(fn)(1.0)
    assert info.value.location.text.strip().startswith("raise")
    assert "^" in str(info.value)


def raises_what_it_built(x):
    if x > 10.0:
        err = OverflowError(f"{x} is too large")
        raise err
    return x * x


def test_raising_an_exception_built_before(tmp_path):
    check(raises_what_it_built, (3.0,), lambda x: (2 * x,), tmp_path, lambda x: 2.0)
    refused_alike(raises_what_it_built, (11.0,), OverflowError, "11.0 is too large", tmp_path)
