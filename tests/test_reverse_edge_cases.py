"""Edge cases of the reverse sweep: values whose adjoint is zero on some path, and numbers summed
out of arrays.

- A value that a branch not taken reads, that only a loop running no iteration reads, or that a loop
  carries without its next iteration reading it, has the adjoint zero on that path. For an array
  it must be zeros of its shape: the rules before it (``matmul``, ``reshape``, ``.T``, indexing,
  ``concatenate``) read the shape of the adjoint they are given.
- ``np.sum(v) + x`` differentiated with respect to both: the adjoint of the sum is a copy of the
  seed that the gradient of ``x`` returns, and the summed broadcast is folded into its one reader.
- Two summed broadcasts that meet (``np.sum(a) + np.mean(a) * x``, read at an index) stay an array:
  each may become a number only while the other keeps the shape (a Hessian differentiates such code).

Each case goes through grad, value_and_grad, vjp, jacobian (reverse and forward), hessian and hvp,
against central differences in float64. With a step of 1e-6 the truncation error is O(h²) ≈ 1e-12
times the third derivative and the rounding error about 1e-16 / 1e-6 = 1e-10 times the function's
size (at most ~10 here), so 1e-6 (relative and absolute) is far above both. Second derivatives are
central differences of the gradient (itself checked against the function's differences at the same
points) with a step of 1e-5: rounding ≈ 1e-11 / 1e-5, compared at 1e-5. Points stay well away from
the branch conditions, so no difference straddles one.
"""

from __future__ import annotations

import math
import types

import numpy as np
import pytest

import s2sad

STEP, TOLERANCE = 1e-6, 1e-6
HESSIAN_STEP, HESSIAN_TOLERANCE = 1e-5, 1e-5
RNG = np.random.default_rng(12)

C3 = np.array([0.5, -1.0, 1.5])
C34 = np.arange(12.0).reshape(3, 4) * 0.1
M = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])
V = np.array([0.3, -0.7, 1.1])


def central(fn, args, position, step=STEP):
    """∂fn/∂args[position] by central differences, shaped ``fn(...).shape + arg.shape``."""
    x = np.asarray(args[position], dtype=float)
    columns = []
    for index in np.ndindex(x.shape):
        values = []
        for sign in (1.0, -1.0):
            moved = x.copy()
            moved[index] += sign * step
            shifted = list(args)
            shifted[position] = moved if x.ndim else float(moved)
            values.append(np.asarray(fn(*shifted), dtype=float))
        columns.append((values[0] - values[1]) / (2 * step))
    out_shape = np.shape(columns[0])
    return np.moveaxis(np.array(columns), 0, -1).reshape(out_shape + x.shape)


def close(actual, expected, tolerance=TOLERANCE):
    np.testing.assert_allclose(np.asarray(actual, float), expected, rtol=tolerance, atol=tolerance)


def assert_reverse_modes(fn, args, wrt, second=None):
    """The derivatives of ``fn`` (one number) at ``args`` with respect to the positions ``wrt`` agree
    with central differences in every entry point; second derivatives with respect to ``second``
    (by default every position of ``wrt``)."""
    expected = [central(fn, args, i) for i in wrt]
    grads = s2sad.grad(fn, wrt=wrt)(*args)
    value, vgrads = s2sad.value_and_grad(fn, wrt=wrt)(*args)
    close(value, fn(*args), 1e-12)
    _, pullback = s2sad.vjp(fn, *args)
    cotangents = pullback(1.0)
    jacobians = {mode: s2sad.jacobian(fn, wrt=wrt, mode=mode)(*args) for mode in MODES}
    for k, i in enumerate(wrt):
        close(grads[k], expected[k])
        assert np.shape(grads[k]) == np.shape(args[i])
        close(vgrads[k], expected[k])
        close(cotangents[i], expected[k])
        assert np.shape(cotangents[i]) == np.shape(args[i])
    for mode, jacobian in jacobians.items():
        flat = (
            np.concatenate([np.ravel(j) for j in jacobian])
            if isinstance(jacobian, tuple)
            else jacobian
        )
        close(np.ravel(flat), np.concatenate([np.ravel(e) for e in expected]))
    for i in wrt if second is None else second:
        gradient = s2sad.grad(fn, wrt=i)
        hessian = central(gradient, args, i, HESSIAN_STEP)
        close(s2sad.hessian(fn, wrt=i)(*args), hessian, HESSIAN_TOLERANCE)
        direction = RNG.normal(size=np.shape(args[i]))
        direction = direction if np.ndim(args[i]) else float(direction)
        product = np.tensordot(hessian, direction, axes=np.ndim(direction))
        close(s2sad.hvp(fn, wrt=i)(*args, direction), product, HESSIAN_TOLERANCE)


MODES = ("reverse", "forward")


# --- a number summed out of an array, and values nothing reads -------------------------------------


def sum_plus_number(x, v):
    return np.sum(np.sin(v)) + x


def sum_plus_number_dead(x, v):
    a1 = v + x  # never read
    return np.sum(np.sin(v)) + x


def mean_plus_number(x, v):
    return np.mean(v * v) + x


def sums_plus_number(x, v):
    return np.sum(v) + np.sum(np.cos(v)) * 2.0 + x


def dead_matmul(x, v):
    unused = np.outer(v, v) @ C3
    return np.sum(v * x) + x


def dead_in_loop(x, v):
    r = x
    for i in range(3):
        unused = (np.outer(v, v) @ C3).reshape(3, 1)
        r = r + np.sum(v) * x
    return r


def dead_in_branch(x, v):
    if x > 0.0:
        unused = v.reshape(3, 1) @ v.reshape(1, 3)
        r = np.sum(v) + x
    else:
        r = x * 2.0
    return r


def _dead_inside(a, b):
    unused = np.outer(a, a) * b
    return np.sum(a)


def dead_in_helper(x, v):
    return _dead_inside(v, x) + x


def dead_structure(x, v):
    pair = (v * x, np.outer(v, v))
    table = {"m": np.outer(v, C3)}
    return np.sum(v) + x


def sum_in_loop_plus_number(x, v):
    r = x
    for i in range(2):
        r = r + np.sum(v)
    return r


@pytest.mark.parametrize(
    "fn",
    [
        sum_plus_number,
        sum_plus_number_dead,
        mean_plus_number,
        sums_plus_number,
        dead_matmul,
        dead_in_loop,
        dead_in_branch,
        dead_in_helper,
        dead_structure,
        sum_in_loop_plus_number,
    ],
)
@pytest.mark.parametrize("x", [0.3, -0.4])
def test_numbers_summed_out_of_arrays_and_dead_values(fn, x):
    assert_reverse_modes(fn, (x, V), (0, 1))


def test_the_seed_of_a_summed_array_is_a_number_in_the_source():
    source = s2sad.adjoint_source(sum_plus_number, args=(0.3, V), wrt=(0, 1))
    namespace = {"np": np}
    exec(source, namespace)
    close(namespace["sum_plus_number_grad"](0.3, V)[1], np.cos(V))
    assert "broadcast_to" not in source  # the number meets an array of the shape anyway


def summed_broadcasts_meet(x, v):
    a = np.zeros(3)
    a[1] = v[2]
    a[2] = np.sin(2.0 * C3) @ np.tanh(x * C3)
    return np.sum(a) + max(a.mean(), math.tanh(x) - x * 3) + x * np.sum(v)


@pytest.mark.parametrize("x", [0.57, -0.2])
def test_summed_broadcasts_that_meet_keep_their_shape(x):
    # in the gradient, the adjoint of `a` is broadcast_to(1.0) + broadcast_to(mean's seed / 3),
    # read at an index; forward mode over it (hessian, hvp) must not make both of them numbers
    assert_reverse_modes(summed_broadcasts_meet, (x, V), (0, 1))
    gradient = s2sad.grad(summed_broadcasts_meet, wrt=0)
    close(s2sad.grad(gradient, wrt=0)(x, V), central(gradient, (x, V), 0, HESSIAN_STEP), 1e-5)


# --- values read only on a path not taken --------------------------------------------------------


def branch_matmul(s, x):
    a1 = np.sin(s + C34).T @ (s * C3)
    if s < 0.0:
        x = x + np.dot(a1, a1)
    return x


def branch_reshape(s, v):
    a = (v * s).reshape(3, 1)
    r = s
    if s > 5.0:
        r = r + np.sum(a * C34)
    return r + np.sum(v)


def branch_transpose(s, m):
    a = m * s
    r = s
    if s > 5.0:
        r = r + np.sum(a.T @ C3[:2])
    return r + np.sum(m)


def branch_index(s, v):
    a = np.exp(v * s)
    r = s * s
    if s > 5.0:
        r = r + a[1] + np.sum(a[:2])
    return r


def branch_concatenate(s, v):
    a = np.concatenate([v * s, v])
    r = s
    if s > 5.0:
        r = r + np.sum(a[2:] * 2.0) + np.sum(np.stack([v, v]) @ C3)
    return r


def elif_chain(s, v):
    a = np.outer(v, v)
    b = v @ M.T
    if s > 5.0:
        r = np.sum(a @ C3)
    elif s > 0.0:
        r = s * 3.0
    else:
        r = np.sum(b.reshape(1, 2) @ M)
    return r


def nested_ifs(s, v):
    m = np.outer(np.tanh(v), C3)
    r = s
    if s > 0.0:
        if s > 5.0:
            r = r + np.sum(m.T @ v)
        else:
            r = r * 2.0
    return r


def branch_in_loop(s, v):
    r = 0.0
    for i in range(3):
        a = np.outer(v, C3) * (s + i)
        if s > 5.0:
            r = r + np.sum(a.T @ v)
        else:
            r = r + s
    return r


def _branching_helper(a, s):
    if s > 10.0:
        return np.sum(a.T @ a)
    return s * 2.0


def branch_in_helper(s, v):
    return _branching_helper(np.outer(v, C3), s) + np.sum(v)


def branch_reads_tuple(s, v):
    pair = (np.outer(v, C3), s)
    if s > 5.0:
        return np.sum(pair[0].T @ v)
    return pair[1] * 2.0


def branch_reads_dict(s, v):
    table = {"m": np.outer(v, C3), "k": s}
    if s > 5.0:
        return np.sum(table["m"].T @ v) + table["k"]
    return table["k"] * 2.0


@pytest.mark.parametrize(
    "fn, points",
    [
        (branch_matmul, [0.3, -0.3]),
        (branch_reshape, [0.3, 6.0]),
        (branch_transpose, [0.3, 6.0]),
        (branch_index, [0.3, 6.0]),
        (branch_concatenate, [0.3, 6.0]),
        (elif_chain, [6.0, 0.3, -1.0]),
        (nested_ifs, [6.0, 0.3, -1.0]),
        (branch_in_loop, [0.3, 6.0]),
        (branch_in_helper, [0.3, 11.0]),
        (branch_reads_tuple, [0.3, 6.0]),
        (branch_reads_dict, [0.3, 6.0]),
    ],
)
def test_an_array_read_only_in_a_branch(fn, points):
    other = {"branch_matmul": 1.0, "branch_transpose": M}.get(fn.__name__, V * 0.1)
    for s in points:
        assert_reverse_modes(fn, (s, other), (0, 1))


def read_in_loop(s, v, n):
    a = np.outer(v, C3) * s
    r = s
    for i in range(n):
        r = r + np.sum(a.T @ v)
    return r


def read_in_while(s, v):
    a = np.outer(v, C3) * s
    r = s
    while r < 0.0:
        r = r + np.sum(a.T @ v) + 1.0
    return r


@pytest.mark.parametrize("n", [0, 1, 3])
def test_an_array_read_only_in_a_loop_that_may_run_no_iteration(n):
    assert_reverse_modes(read_in_loop, (0.3, V, n), (0, 1))


@pytest.mark.parametrize("s", [0.3, -0.3])
def test_an_array_read_only_in_a_while_loop_that_may_run_no_iteration(s):
    assert_reverse_modes(read_in_while, (s, V * 0.1), (0, 1))


def carried_not_read_again(s, v):
    # `a` changes shape, (3, 1) to (4, 1), and no iteration reads the value the last one left
    a = v.reshape(3, 1) * s
    r = 0.0
    for i in range(2):
        a = (C34 * s).T @ v.reshape(3, 1)
        r = r + np.sum(a.T @ a)
    return r + np.sum(v)


def carried_read_after(s, v):
    a = v.reshape(3, 1) * s
    r = 0.0
    for i in range(2):
        a = (C34 * s).T @ v.reshape(3, 1)
        r = r + np.sum(a.T @ a)
    return r + np.sum(a[:2]) + np.sum(v)


def carried_same_shape(s, v):
    a = np.outer(v, C3) * s
    r = 0.0
    for i in range(3):
        a = np.outer(v * (s + i), C3)
        r = r + np.sum(a.T @ v)
    return r


@pytest.mark.parametrize("fn", [carried_not_read_again, carried_read_after, carried_same_shape])
def test_an_array_a_loop_carries_but_does_not_read_again(fn):
    assert_reverse_modes(fn, (0.3, V), (0, 1))


# --- outputs that are arrays or structures: vjp and jacobian -------------------------------------


def array_out_branch(s, v):
    a = np.outer(v, C3) * s
    out = v * s
    if s > 5.0:
        out = out + a.T @ v
    return out


def array_out_loop(s, v, n):
    a = np.outer(v, C3) * s
    out = v * s
    for i in range(n):
        out = out + a.T @ v
    return out


def dict_out_branch(s, v):
    a = np.outer(v, C3) * s
    if s > 5.0:
        return {"y": a.T @ v, "z": s}
    return {"y": v * s, "z": s * s}


@pytest.mark.parametrize(
    "fn, args",
    [
        (array_out_branch, (0.3, V)),
        (array_out_branch, (6.0, V)),
        (array_out_loop, (0.3, V, 0)),
        (array_out_loop, (0.3, V, 2)),
    ],
)
def test_array_outputs_through_vjp_and_jacobian(fn, args):
    expected = [central(fn, args, i) for i in (0, 1)]
    for mode in MODES:
        jacobian = s2sad.jacobian(fn, wrt=(0, 1), mode=mode)(*args)
        for got, want in zip(jacobian, expected):
            close(got, want)
    u = np.array([1.0, -2.0, 0.5])
    _, pullback = s2sad.vjp(fn, *args)
    cotangents = pullback(u)
    for i in (0, 1):
        close(cotangents[i], np.tensordot(u, expected[i], axes=1))


@pytest.mark.parametrize("s", [0.3, 6.0])
def test_structured_output_through_vjp(s):
    _, pullback = s2sad.vjp(dict_out_branch, s, V)
    cotangents = pullback({"y": np.array([1.0, 0.5, -1.0]), "z": 2.0})

    def weighted(s, v):
        out = dict_out_branch(s, v)
        return np.dot(out["y"], [1.0, 0.5, -1.0]) + 2.0 * out["z"]

    for i in (0, 1):
        close(cotangents[i], central(weighted, (s, V), i))


# --- the printed source ----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [(0.3, 1.0), None])
def test_exported_gradient_of_an_array_read_only_in_a_branch(args):
    # without example arguments the shapes are known only when the code runs
    source = s2sad.export_source(branch_matmul, args=args, wrt=(0, 1))
    module = types.ModuleType("exported")
    module.C3, module.C34 = C3, C34
    exec(source, module.__dict__)
    for s in (0.3, -0.3):
        got = module.branch_matmul_grad(s, 1.0)
        for k in (0, 1):
            close(got[k], central(branch_matmul, (s, 1.0), k))


def numbers_only(s, x):
    a = math.sin(s) * x
    if s > 0.0:
        x = x + a * a
    return x


def test_a_number_read_only_in_a_branch_keeps_the_zero_adjoint():
    source = s2sad.adjoint_source(numbers_only, args=(0.3, 1.0), wrt=(0, 1))
    assert "zero" not in source  # a number's zero adjoint is 0.0, with no array made for it
    for s in (0.3, -0.3):
        assert_reverse_modes(numbers_only, (s, 1.0), (0, 1))


# --- second derivatives of arrays nothing reads ---------------------------------------------------
# The adjoint of an array that is overwritten, or written into and then overwritten, is zero; the
# tangent of the reverse sweep (hessian, hvp, grad of grad) indexes and copies it, so it must be
# zeros of the array's shape, not the number 0.0.


def written_then_overwritten(x, v):
    a = np.zeros(3)
    a[2] = np.sin(2.0 * C3) @ np.tanh(x * C3)
    a[0] = x * x
    a = v * x
    return np.sum(a * a) + x


def written_then_read_in_part(x, v):
    a = np.zeros(3)
    a[2] = np.sin(2.0 * C3) @ np.tanh(x * C3)
    b = max(a.mean(), math.tanh(x) - 3.0 * x)
    return np.sum(v) + np.sum(a) + b + x


def overwritten(x, v):
    a = np.sin(x * v)
    a = np.cos(v) * x
    return np.sum(a * v)


def written_in_loop_then_overwritten(x, v):
    a = np.zeros(3)
    for i in range(3):
        a[i] = v[i] * x
    a = v * v * x
    return np.sum(a) * x


@pytest.mark.parametrize(
    "fn",
    [
        written_then_overwritten,
        written_then_read_in_part,
        overwritten,
        written_in_loop_then_overwritten,
    ],
)
def test_second_derivatives_of_arrays_nothing_reads(fn):
    assert_reverse_modes(fn, (0.4, V), (0, 1))
    gradient = s2sad.grad(fn, wrt=0)
    second = s2sad.grad(gradient, wrt=0)(0.4, V)
    assert isinstance(second, float)
    close(second, central(gradient, (0.4, V), 0, HESSIAN_STEP), HESSIAN_TOLERANCE)
    hessian = s2sad.hessian(fn, wrt=1)(0.4, V)
    assert isinstance(hessian, np.ndarray) and hessian.shape == (3, 3)


# --- an array read only by a branch's test, on a path that returns early ---------------------------


def early_return_on_test(x, v):
    if np.sum(v) > 1.0:
        return x * x
    return x * np.sum(v * v)


def early_return_on_element(x, m):
    if m[0, 1] > 0.0:
        return math.sin(x)
    y = x * np.sum(m @ C3)
    return y * y


def early_return_on_derived(x, v):
    a = v * 2.0  # the path that returns early reads `a` only in the test
    if a[0] > 0.0:
        return x * x
    return np.sum(a * a) * x


@pytest.mark.parametrize(
    "fn, points",
    [
        (early_return_on_test, [V * 2.0, V * 0.1]),
        (early_return_on_element, [M, -M]),
        (early_return_on_derived, [V, -V]),
    ],
)
def test_an_array_read_only_by_the_test_of_an_early_return(fn, points):
    for arg in points:
        assert_reverse_modes(fn, (0.7, arg), (0, 1))
        gradient = s2sad.grad(fn, wrt=1)(0.7, arg)
        assert isinstance(gradient, np.ndarray) and gradient.shape == arg.shape
        value, (dx, dv) = s2sad.value_and_grad(fn, wrt=(0, 1))(0.7, arg)
        assert isinstance(dx, float) and isinstance(dv, np.ndarray) and dv.shape == arg.shape
        product = s2sad.hvp(fn, wrt=1)(0.7, arg, np.ones_like(arg))
        assert isinstance(product, np.ndarray) and product.shape == arg.shape
