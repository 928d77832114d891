"""functools.reduce over lists and tuples of known length, in every entry point.

Against central differences (see ``rule_oracles`` for the tolerances), and against the value
Python's own ``reduce`` computes; refusals point at the call and say what to write.
"""

from __future__ import annotations

import functools
import math
import operator
from functools import reduce
from math import hypot

import numpy as np
import pytest

import s2sad
from rule_oracles import check_everywhere


def blend(a, b):
    return 0.5 * a + math.sin(b) * a


def with_lambda(x, y):
    return functools.reduce(lambda a, b: a * b + 1.0, [x, y, x * y], 0.5)


def with_function(x, y):
    return reduce(blend, (x, y, x + y, 2.0))


def with_local_function(x, y):
    scale = y * y

    def step(total, v):
        return total + scale * v**2

    return reduce(step, [v * x for v in (1.0, 2.0, 3.0)], y)


def with_primitive(x, y):
    return reduce(max, [x, y, 0.3]) + reduce(hypot, [x, y, 1.0]) + reduce(operator.mul, [x, y], 2.0)


def with_operators(x, y):
    return operator.truediv(reduce(operator.add, [x, y, x * y]), 1.5) - operator.pow(x, 3)


def matrices(a, b):
    return np.sum(reduce(lambda p, q: p @ q, [a, b, a.T]) ** 2)


def rows(m):  # a pairwise reduction over zip of two lists
    return reduce(lambda acc, pair: acc + pair[0] * pair[1], zip([m, m * m], [m + 1, 2 * m]), 0.0)


A = np.array([[1.0, 0.5], [-0.3, 2.0]])
B = np.array([[0.2, -1.0], [0.7, 0.4]])


@pytest.mark.parametrize(
    "fn, args",
    [
        (with_lambda, (0.7, -1.2)),
        (with_function, (0.4, 1.1)),
        (with_local_function, (1.3, 0.6)),
        (with_primitive, (0.9, -0.4)),
        (with_operators, (0.9, -0.4)),
        (matrices, (A, B)),
        (rows, (0.8,)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_against_central_differences_in_every_entry_point(fn, args, tmp_path):
    check_everywhere(fn, *args, tmp_path=tmp_path)


def test_the_value_is_python_reduce_s():
    value, _ = s2sad.value_and_grad(with_function, wrt=(0, 1))(0.4, 1.1)
    assert value == with_function(0.4, 1.1)


def empty(x):
    return reduce(lambda a, b: a + b, [])


def unknown_length(x, n):
    return reduce(lambda a, b: a + b * x, range(n), x)


@pytest.mark.parametrize(
    "fn, args, message",
    [(empty, (1.0,), "empty sequence"), (unknown_length, (1.0, 3), "length is not known")],
)
def test_refusals_say_where_and_what_to_write(fn, args, message):
    with pytest.raises(s2sad.S2SADError, match=message) as info:
        s2sad.grad(fn)(*args)
    assert "reduce(" in str(info.value)
