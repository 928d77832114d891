"""``is None`` tests on parameters that default to None are decided while lowering: an argument that
is None is a constant, and code is compiled for it as for a structure. Derivatives are compared with
ones worked out by hand (tolerances in every_entry)."""

import numpy as np
import pytest

import s2sad
from s2sad.runtime import (  # noqa: F401  (names the printed code reads)
    conform,
    derivative_like,
    scalar_seed,
    unbroadcast,
)
from every_entry import check

X = np.array([1.0, 2.0, -0.5])
W = np.array([0.5, 3.0, 2.0])


def weighted(x, w=None, scale=None):
    if w is None:
        w = np.ones(x.shape[0])
    if scale is not None:
        x = x * scale
    return np.sum(w * x**2)


def test_left_out_it_takes_the_none_branch(tmp_path):
    check(weighted, (X,), lambda x: (2 * x,), tmp_path, lambda x: 2 * np.eye(x.size))


def test_given_it_takes_the_other_branch(tmp_path):
    check(weighted, (X, W), lambda x, w: (2 * w * x, x**2), tmp_path)


def test_both_specialisations_in_one_derivative():
    gradient = s2sad.grad(weighted, (0, 2))
    x_bar, scale_bar = gradient(X, None, 2.0)
    np.testing.assert_allclose(x_bar, 8 * X, rtol=1e-12)
    assert scale_bar == pytest.approx(2 * 2.0 * np.sum(X**2), rel=1e-12)
    np.testing.assert_allclose(s2sad.grad(weighted)(X), 2 * X, rtol=1e-12)  # again the first
    assert s2sad.grad(weighted, (0, 1))(X)[1] is None  # the gradient of None is None


def lookup(x):
    finder = getattr(np, "no_such_function", None)  # None when the code runs: tested then
    if finder is None:
        return x * x
    return x


def test_a_value_the_function_makes_is_tested_when_the_code_runs(tmp_path):
    check(lookup, (1.5,), lambda x: (2 * x,), tmp_path, lambda x: 2.0)
    assert " is None" in s2sad.grad(lookup).source


def test_without_arguments_the_printed_source_asks_for_them():
    with pytest.raises(s2sad.StructureNeededError) as info:
        s2sad.adjoint_source(weighted)
    assert info.value.location.text.strip() == "if w is None:"
    assert "args=" in info.value.hint
    assert "w is None" not in s2sad.adjoint_source(weighted, args=(X,))
