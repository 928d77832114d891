"""Lists keep their meaning as lists: as an index, in ``+`` and ``*``, and as a result.

NumPy reads a list in an index as an array of positions (``a[idx]`` with ``idx = [0, 2]`` is
``a[[0, 2]]``, two elements) and a tuple as one position per axis (``a[(0, 2)]`` is ``a[0, 2]``, one
element of a matrix), so a list held in a name, built by a comprehension, by ``list(...)``, by
slicing, ``+`` or ``*``, read from a module global or given as a default must index as the list it
is, reading and writing, with repeated positions adding up in the derivative of a read. A function
returning a list returns a list, and so do its derivatives.

Oracles: central differences in float64 (step 1e-6; for these smooth functions of size O(1) the
truncation error is O(h²) ≈ 1e-12 and the rounding error about 1e-16 / 1e-6 = 1e-10, so a
tolerance of 1e-6 is far above both and far below a real mistake, which is off by O(1)); second
differences with step 1e-4 for Hessians (truncation O(h²) ≈ 1e-8, rounding ≈ 1e-16 / 1e-8 = 1e-8,
so a tolerance of 1e-5); derivatives worked out by hand; and the values the function itself
returns, which the derivatives must return exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2sad

STEP = 1e-6
TOLERANCE = 1e-6
V = np.array([0.7, -1.3, 2.1])
M = np.array([[0.4, -1.1, 0.9], [1.6, 0.3, -0.8], [-0.5, 1.2, 0.6]])
POSITIONS = [0, 2, 0]  # a module global read when the code runs; 0 twice
PAIR = (0, 2)  # a tuple global: one position per axis


def central_jacobian(fn, x):
    """∂fn/∂x by central differences, shaped ``fn(x).shape + x.shape``."""
    columns = []
    for index in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[index] = STEP
        columns.append((np.asarray(fn(x + step)) - np.asarray(fn(x - step))) / (2 * STEP))
    return np.moveaxis(np.array(columns), 0, -1).reshape(np.shape(fn(x)) + x.shape)


def central_hessian(fn, x, h=1e-4):
    n = x.size
    hessian = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.zeros(n), np.zeros(n)
            ei[i], ej[j] = h, h
            ei, ej = ei.reshape(x.shape), ej.reshape(x.shape)
            hessian[i, j] = (
                fn(x + ei + ej) - fn(x + ei - ej) - fn(x - ei + ej) + fn(x - ei - ej)
            ) / (4 * h * h)
    return hessian.reshape(x.shape + x.shape)


def close(got, expected, tolerance=TOLERANCE):
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def smooth(values):
    """A function of what an index read, with a second derivative of its own."""
    return np.sum(np.sin(values) + values**2)


# --- reading with a list that is not written in the index -------------------------------------


def read_variable(a):
    idx = [0, 2, 0]
    return smooth(a[idx])


def read_comprehension(a):
    idx = [2 * i for i in range(2)] + [0]
    return smooth(a[idx])


def read_list_call(a):
    idx = list((0, 2, 0))
    return smooth(a[idx])


def read_slice(a):
    idx = [1, 0, 2, 0][1:]
    return smooth(a[idx])


def read_repeated(a):
    idx = ([0, 2] * 2)[:3]
    return smooth(a[idx])


def read_global(a):
    return smooth(a[POSITIONS])


def read_default(a, idx=[0, 2, 0]):
    return smooth(a[idx])


def pick(a, idx=[0, 2, 0]):
    return a[idx]


def read_helper_default(a):
    return smooth(pick(a))


def read_helper_argument(a):
    positions = [0, 2, 0]
    return smooth(pick(a, positions))


def read_in_branches(a):
    if np.sum(a) > -100.0:  # true at every point of the tests
        idx = [0, 2, 0]
    else:
        idx = [1, 1, 1]
    return smooth(a[idx])


READS = [
    read_variable,
    read_comprehension,
    read_list_call,
    read_slice,
    read_repeated,
    read_global,
    read_default,
    read_helper_default,
    read_helper_argument,
    read_in_branches,
]


@pytest.mark.parametrize("fn", READS, ids=lambda fn: fn.__name__)
@pytest.mark.parametrize("x", [V, M], ids=["vector", "matrix"])
def test_a_list_in_a_name_reads_the_positions_it_holds(fn, x):
    # every one of these reads the positions 0, 2, 0 of the first axis (rows of a matrix)
    expected_value = smooth(x[np.array([0, 2, 0])])
    value = fn(x)
    assert value == expected_value
    assert s2sad.trace(fn)(x) == value
    got_value, gradient = s2sad.value_and_grad(fn)(x)
    assert got_value == value
    numeric = central_jacobian(fn, x)
    close(gradient, numeric)
    # by hand: d/dx (sin x + x²) = cos x + 2x, once per read, so position 0 counts twice
    by_hand = np.zeros_like(x)
    for row in (0, 2, 0):
        by_hand[row] += np.cos(x[row]) + 2 * x[row]
    close(gradient, by_hand)
    direction = np.linspace(0.5, -0.5, x.size).reshape(x.shape)
    primal, tangent = s2sad.jvp(fn, (x,), (direction,))
    assert primal == value
    close(tangent, np.sum(numeric * direction))
    primal, pullback = s2sad.vjp(fn, x)
    assert primal == value
    close(pullback(1.0)[0], numeric)
    close(s2sad.jacobian(fn, mode="forward")(x), numeric)
    close(s2sad.jacobian(fn, mode="reverse")(x), numeric)


@pytest.mark.parametrize("fn", [read_variable, read_global, read_default, read_slice])
def test_second_derivatives_of_a_list_index(fn):
    close(s2sad.hessian(fn)(V), central_hessian(fn, V), 1e-5)
    close(s2sad.hessian(fn)(M), central_hessian(fn, M), 1e-5)
    close(s2sad.hvp(fn)(V, np.ones(3)), central_hessian(fn, V) @ np.ones(3), 1e-5)


def read_list_argument(a, idx):
    return smooth(a[idx])


def test_a_list_argument_indexes_as_a_list_and_a_tuple_as_positions_per_axis():
    for idx, expected in [([0, 2], M[[0, 2]]), ((0, 2), M[0, 2])]:
        value, gradient = s2sad.value_and_grad(read_list_argument)(M, idx)
        assert value == read_list_argument(M, idx) == smooth(expected)
        close(gradient, central_jacobian(lambda m: read_list_argument(m, idx), M))


def read_tuple_variable(a):
    pair = (0, 2)
    return smooth(a[pair])


def read_tuple_global(a):
    return smooth(a[PAIR])


def read_tuple_of_lists(a):
    where = ([0, 2, 2], [1, 1, 0])  # one list per axis: the elements (0, 1), (2, 1), (2, 0)
    return smooth(a[where])


def read_nested_list(a):
    rows = [[0, 1], [1, 1]]  # an array of positions of shape (2, 2)
    return smooth(a[rows])


@pytest.mark.parametrize(
    "fn, expected",
    [
        (read_tuple_variable, smooth(M[0, 2])),
        (read_tuple_global, smooth(M[0, 2])),
        (read_tuple_of_lists, smooth(np.array([M[0, 1], M[2, 1], M[2, 0]]))),
        (read_nested_list, smooth(M[np.array([[0, 1], [1, 1]])])),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_tuples_index_one_position_per_axis(fn, expected):
    assert fn(M) == expected
    assert s2sad.trace(fn)(M) == expected
    value, gradient = s2sad.value_and_grad(fn)(M)
    assert value == expected
    numeric = central_jacobian(fn, M)
    close(gradient, numeric)
    close(s2sad.jacobian(fn, mode="forward")(M), numeric)


def gathered(a):
    idx = [2, 0, 2]
    return a[idx] * np.array([1.0, 2.0, 3.0]) + len(idx)


def test_a_gather_by_a_list_has_the_jacobian_of_its_positions():
    # row k of the Jacobian is weight k at position idx[k]
    expected = np.zeros((3, 3))
    expected[[0, 1, 2], [2, 0, 2]] = [1.0, 2.0, 3.0]
    assert np.array_equal(s2sad.trace(gathered)(V), gathered(V))
    for mode in ("forward", "reverse"):
        close(s2sad.jacobian(gathered, mode=mode)(V), expected)
    y, pullback = s2sad.vjp(gathered, V)
    assert np.array_equal(y, gathered(V))
    close(pullback(np.array([1.0, 10.0, 100.0]))[0], [20.0, 0.0, 301.0])


# --- writing with a list -----------------------------------------------------------------------

WEIGHTS = np.array([1.0, 2.0, 3.0, 4.0])


def write_variable(a):
    out = np.zeros(4)
    idx = [0, 2, 0]  # position 0 keeps the last value written there, a[2]
    out[idx] = np.sin(a)
    return np.sum(out * WEIGHTS)


def write_global(a):
    out = np.zeros(4)
    out[POSITIONS] = np.sin(a)
    return np.sum(out * WEIGHTS)


def write_read_back(a):
    out = np.ones(4)
    idx = [1, 3]
    out[idx] = a[idx[:1] + [2]] ** 2  # writes a[0]² at 1 and a[2]² at 3
    return np.sum(out * WEIGHTS)


def write_rows(a):
    out = np.zeros((3, 3))
    idx = [2, 0, 2]  # row 2 keeps a's last row
    out[idx] = a * a
    return out


@pytest.mark.parametrize("fn", [write_variable, write_global, write_read_back])
def test_writing_with_a_list(fn):
    x = np.array([0.3, -0.6, 1.2])
    value = fn(x)
    assert s2sad.trace(fn)(x) == value
    got, gradient = s2sad.value_and_grad(fn)(x)
    assert got == value
    numeric = central_jacobian(fn, x)
    close(gradient, numeric)
    _, tangent = s2sad.jvp(fn, (x,), (np.ones(3),))
    close(tangent, np.sum(numeric))
    close(s2sad.jacobian(fn, mode="forward")(x), numeric)
    close(s2sad.hessian(fn)(x), central_hessian(fn, x), 1e-5)


def test_a_write_with_repeated_positions_counts_the_value_that_stays():
    x = np.array([0.3, -0.6, 1.2])
    # out = [sin a2, 0, sin a1, 0]: the value written first at position 0 is overwritten
    by_hand = np.array([0.0, 3.0 * np.cos(x[1]), 1.0 * np.cos(x[2])])
    close(s2sad.grad(write_variable)(x), by_hand)
    close(s2sad.grad(write_global)(x), by_hand)


def test_writing_rows_with_a_list_in_both_modes():
    value = write_rows(M)
    assert np.array_equal(s2sad.trace(write_rows)(M), value)
    numeric = central_jacobian(write_rows, M)
    for mode in ("forward", "reverse"):
        close(s2sad.jacobian(write_rows, mode=mode)(M), numeric)
    y, pullback = s2sad.vjp(write_rows, M)
    assert np.array_equal(y, value)
    cotangent = np.arange(9.0).reshape(3, 3)
    close(pullback(cotangent)[0], np.tensordot(cotangent, numeric, axes=2))
    # by hand: rows 0 and 2 of a are overwritten in row 2, so only a's rows 1 and 2 count
    by_hand = 2 * M * cotangent[[2, 0, 2]]
    by_hand[0] = 0.0
    close(pullback(cotangent)[0], by_hand)


# --- lists as results --------------------------------------------------------------------------


def return_list(a):
    return [a * 2.0, np.sum(a * a)]


def return_built_list(x):
    xs = [x * x] + [3.0 * x] * 2
    return xs


def return_nested(x):
    return {"pair": (x, [x * x]), "list": [2.0 * x]}


def return_tuple(x):
    return (x * x, 3.0 * x)


def test_a_function_returning_a_list_returns_a_list_and_so_do_its_derivatives():
    value = return_list(V)
    traced = s2sad.trace(return_list)(V)
    assert type(traced) is list and np.array_equal(traced[0], value[0])
    assert traced[1] == value[1]
    primal, tangent = s2sad.jvp(return_list, (V,), (np.ones(3),))
    assert type(primal) is list and type(tangent) is list
    assert np.array_equal(primal[0], value[0]) and primal[1] == value[1]
    close(tangent[0], 2.0 * np.ones(3))
    close(tangent[1], 2.0 * np.sum(V))
    primal, pullback = s2sad.vjp(return_list, V)
    assert type(primal) is list and primal[1] == value[1]
    (gradient,) = pullback([np.ones(3), 1.0])
    close(gradient, 2.0 + 2.0 * V)
    for mode in ("forward", "reverse"):
        blocks = s2sad.jacobian(return_list, mode=mode)(V)
        assert type(blocks) is list
        close(blocks[0], central_jacobian(lambda a: return_list(a)[0], V))
        close(blocks[1], central_jacobian(lambda a: return_list(a)[1], V))


def test_lists_and_tuples_inside_results_keep_their_kinds():
    x = 1.5
    assert return_built_list(x) == s2sad.trace(return_built_list)(x) == [2.25, 4.5, 4.5]
    primal, tangent = s2sad.jvp(return_built_list, (x,), (1.0,))
    assert primal == [2.25, 4.5, 4.5] and type(tangent) is list
    close(tangent, [3.0, 3.0, 3.0])
    nested = s2sad.trace(return_nested)(x)
    assert nested == return_nested(x) == {"pair": (1.5, [2.25]), "list": [3.0]}
    _, tangent = s2sad.jvp(return_nested, (x,), (1.0,))
    assert type(tangent["pair"]) is tuple and type(tangent["pair"][1]) is list
    assert type(tangent["list"]) is list
    close(tangent["pair"][1][0], 3.0)
    for mode in ("forward", "reverse"):
        jacobian = s2sad.jacobian(return_nested, mode=mode)(x)
        assert type(jacobian["list"]) is list
        close(jacobian["list"][0], 2.0)
    primal, tangent = s2sad.jvp(return_tuple, (x,), (1.0,))
    assert type(primal) is tuple and type(tangent) is tuple


def test_the_source_builds_the_list_it_returns():
    assert str(s2sad.trace(return_list)).endswith("return [w2, w4]")
    assert "], [" in s2sad.tangent_source(return_list)


def test_a_list_result_is_not_a_number_for_grad():
    with pytest.raises(s2sad.S2SADError, match="returns a list of 2 values"):
        s2sad.grad(return_list)(V)


# --- what Python refuses, and what would change a list in place --------------------------------


def list_plus_tuple(x):
    return [x] + (x,)


def list_times_value(x, n):
    return [x] * n


def list_plus_number(x):
    return [x, x] + x


def extend_in_place(x):
    xs = [x]
    xs += [2.0 * x]
    return xs


def index_with_empty_list(a):
    return np.sum(a[[]])


def list_or_tuple(x):
    if x > 0:
        xs = [x, x]
    else:
        xs = (x, x)
    return xs[0]


@pytest.mark.parametrize(
    "fn, message",
    [
        (list_plus_tuple, "Python joins only two lists or two tuples"),
        (list_times_value, "needs a count known when the function is lowered"),
        (list_plus_number, "takes part in arithmetic only as"),
        (extend_in_place, "changes the list `xs` in place"),
        (index_with_empty_list, "an empty list or tuple inside an index"),
        (list_or_tuple, "values of different shapes"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_refused_at_the_line(fn, message):
    with pytest.raises(s2sad.S2SADError, match=message) as info:
        s2sad.trace(fn)
    assert info.value.location.line > 0


def tuple_grows(a):
    t = (0,)
    t += (2,)
    return smooth(a[list(t) + [0]])


def test_a_tuple_extended_by_augmented_assignment_is_a_new_tuple():
    assert tuple_grows(M) == s2sad.trace(tuple_grows)(M)
    value, gradient = s2sad.value_and_grad(tuple_grows)(M)
    assert value == read_variable(M)
    close(gradient, central_jacobian(tuple_grows, M))
