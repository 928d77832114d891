"""Lists as fixed containers, comprehensions, generator expressions and the builtins over them."""

import math

import numpy as np
import pytest

import s2sad


def dot3(a, b, c, x, y, z):
    w = [a, b, c]
    v = [x, y, z]
    return sum(w[i] * v[i] for i in range(len(w)))


def squares(x, y):
    values = [math.sin(v) for v in (x, y, x * y)]
    return max(values) + min(values) + values[-1]


def pairs(x, y):
    return sum(p * q for p, q in zip([x, y], [y, x]) if True)


def nested_comprehension(x):
    grid = [a * b for a in (x, 2.0) for b in (x, 3.0)]
    return sum(grid, 1.0)


def indexed_loop(x, y):
    coefficients = [1.0, x, y]
    total = 0.0
    for i in range(3):
        total = total + coefficients[i] * x**i
    return total


def slices(a, b, c, d):
    values = (a, b, c, d)
    return sum(values[1:3]) * values[::2][1] + len(values)


def appends(x):
    values = [x]
    values.append(x * 2.0)
    return values[0] * values[-1]


def runtime_index(x, n):
    values = [x, x * 2.0]
    total = 0.0
    for i in range(n):
        total = total + values[i]
    return total


def check(fn, args, expected):
    n = len(args)
    reverse = s2sad.grad(fn, wrt=tuple(range(n)))(*args)
    forward = [s2sad.jvp(fn, args, [1.0 if k == i else 0.0 for k in range(n)])[1] for i in range(n)]
    np.testing.assert_allclose(reverse, expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(forward, expected, rtol=1e-14, atol=1e-15)
    assert s2sad.trace(fn)(*args) == fn(*args)


def test_weighted_sum_with_a_generator_expression():
    # The sum(w[i] * x[i] for i in range(n)): d/dw = x and d/dx = w.
    check(dot3, (1.0, 2.0, 3.0, 4.0, 5.0, 6.0), (4.0, 5.0, 6.0, 1.0, 2.0, 3.0))


def test_list_comprehension_with_max_min_and_negative_index():
    x, y = 0.4, 1.2
    values = [math.sin(v) for v in (x, y, x * y)]
    largest, smallest = values.index(max(values)), values.index(min(values))
    inner = [(1.0, 0.0), (0.0, 1.0), (y, x)]  # d(v)/d(x, y) before the sine
    slopes = [math.cos(v) for v in (x, y, x * y)]
    expected = [sum(slopes[k] * inner[k][j] for k in (largest, smallest, 2)) for j in range(2)]
    check(squares, (x, y), expected)


def test_zip_with_a_condition_known_in_the_function():
    check(pairs, (1.5, 2.5), (2 * 2.5, 2 * 1.5))


def test_nested_comprehension_and_sum_with_a_start():
    # 1 + x^2 + 3x + 2x + 6: derivative 2x + 5.
    check(nested_comprehension, (0.7,), (2 * 0.7 + 5,))


def test_a_constant_range_loop_indexing_a_list_is_unrolled():
    # 1 + x^2 + y x^2: d/dx = 2x + 2xy, d/dy = x^2.
    x, y = 1.5, 0.5
    check(indexed_loop, (x, y), (2 * x + 2 * x * y, x * x))
    assert "for " not in str(s2sad.trace(indexed_loop))


def test_constant_slices_and_len():
    # (b + c) * c + 4
    check(slices, (1.0, 2.0, 3.0, 4.0), (0.0, 3.0, 2.0 + 2 * 3.0, 0.0))


def test_a_list_the_function_built_grows_by_append():
    # x * 2x: d/dx = 4x (tests/test_list_growth.py has the rest of the story)
    assert s2sad.grad(appends)(1.5) == 6.0


def test_a_list_indexed_with_a_value_known_only_at_run_time():
    with pytest.raises(s2sad.S2SADError, match="constant") as info:
        s2sad.grad(runtime_index)
    assert info.value.location.text.strip() == "total = total + values[i]"
