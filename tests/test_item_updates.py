"""``y[i] += v`` into an array the function made is ``y[i] = y[i] + v``; derivatives are compared
with ones worked out by hand (tolerances in every_entry)."""

import numpy as np
import pytest

import s2sad
from s2sad.runtime import (  # noqa: F401  (names the printed code reads)
    conform,
    derivative_like,
    index_adjoint,
    scalar_seed,
    setitem,
    unbroadcast,
    written_adjoint,
)
from every_entry import check


def shifted(x):
    y = np.zeros(3)
    y[1:] += x[:2]  # a slice
    y[0] *= 2.0  # an item
    y[[0, 0]] += x[2]  # a repeated index adds once, as NumPy does
    return np.sum(y * y)


def shifted_gradient(x):
    # y = (x2, x0, x1)
    return (np.array([2 * x[0], 2 * x[1], 2 * x[2]]),)


def test_updates_of_items_and_slices(tmp_path):
    x = np.array([1.0, -2.0, 3.0])
    assert shifted(x) == pytest.approx(np.sum(x * x), rel=1e-12)
    check(shifted, (x,), shifted_gradient, tmp_path, lambda x: 2 * np.eye(3))


def into_an_argument(x):
    x[0] += 1.0
    return np.sum(x)


def test_an_update_of_an_argument_is_refused():
    with pytest.raises(s2sad.UnsupportedSyntaxError) as info:
        s2sad.grad(into_an_argument)(np.ones(2))
    assert "x = x.copy()" in info.value.hint
