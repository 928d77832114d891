"""``with`` blocks: the body runs inside the context manager in the primal of every derivative
program; derivatives are compared with ones worked out by hand (tolerances in every_entry)."""

import contextlib
import warnings

import numpy as np
import pytest

import s2sad
from s2sad.runtime import (  # noqa: F401  (names the printed code reads)
    conform,
    derivative_like,
    scalar_seed,
    unbroadcast,
)
from every_entry import check, refused_alike


def reciprocal_sum(x):
    with np.errstate(divide="raise"):  # inside, dividing by zero raises FloatingPointError
        r = 1.0 / x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        total = np.sum(r)
    return total


def test_the_body_runs_inside_the_context(tmp_path):
    x = np.array([1.0, 2.0, -4.0])
    check(reciprocal_sum, (x,), lambda x: (-1.0 / x**2,), tmp_path, lambda x: np.diag(2 / x**3))
    assert np.geterr()["divide"] == "warn"  # left again
    refused_alike(reciprocal_sum, (np.array([1.0, 0.0]),), FloatingPointError, "divide", tmp_path)


def named(x):
    with np.errstate(all="ignore") as state:
        y = x * 2.0
    return y, state


def test_a_named_context_is_refused_at_its_place():
    with pytest.raises(s2sad.UnsupportedSyntaxError) as info:
        s2sad.grad(named)(1.0)
    assert "as name" in info.value.message
    assert "with np.errstate" in info.value.location.text


def in_a_null_context(x):
    with contextlib.nullcontext():
        y = x * 2.0
    return y


def test_any_context_manager(tmp_path):
    check(in_a_null_context, (1.5,), lambda x: (2.0,), tmp_path, lambda x: 0.0)
