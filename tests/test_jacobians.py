"""Jacobians in vector forward mode and reverse mode, elementwise_grad.

Oracles: central differences in float64, and stacked single-direction tangents (``s2sad.jvp``, the
ordinary forward mode, one sweep per basis direction) for the vector form of every rule.
"""

import importlib.util
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sad
from s2sad.array_rules import STRUCTURAL
from s2sad.vector_mode import VECTOR_RULES, NotVectorizableError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_sample(name):
    spec = importlib.util.spec_from_file_location(f"sample_{name}", f"{ROOT}/samples/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


control_flow = load_sample("control_flow")
rng = np.random.default_rng(7)


def outputs(value):
    return list(value) if isinstance(value, tuple) else [value]


def central_differences(fn, args, j, h=1e-6):
    """Blocks ∂output/∂args[j], one per output, shaped output.shape + args[j].shape.

    Step and tolerance: with h = 1e-6 the truncation error is about h²·|f'''| ~ 1e-12 and the
    rounding error about eps·|f|/h ~ 2e-16 · 10 / 1e-6 = 2e-9 for values of order 10, so the
    comparisons below use rtol = 1e-6 and atol = 1e-6, far above both and far below any wrong entry.
    """
    x = np.asarray(args[j], dtype=float)
    columns = []
    for e in range(x.size):
        step = np.zeros(x.shape)
        step.flat[e] = h
        shifted = [list(args), list(args)]
        shifted[0][j] = x + step if x.ndim else float(x + step)
        shifted[1][j] = x - step if x.ndim else float(x - step)
        plus, minus = outputs(fn(*shifted[0])), outputs(fn(*shifted[1]))
        columns.append([(np.asarray(p) - np.asarray(m)) / (2 * h) for p, m in zip(plus, minus)])
    return [
        np.stack([c[i] for c in columns], axis=-1).reshape(np.shape(columns[0][i]) + x.shape)
        for i in range(len(columns[0]))
    ]


def stacked_jvps(fn, args, j):
    """Blocks ∂output/∂args[j] from one ordinary tangent sweep per basis direction of args[j]."""
    x = args[j]
    columns = []
    for e in range(np.size(x)):
        tangents = [np.zeros_like(a) if isinstance(a, np.ndarray) else 0.0 for a in args]
        direction = np.zeros(np.shape(x))
        direction.flat[e] = 1.0
        tangents[j] = direction if isinstance(x, np.ndarray) else 1.0
        _, dot = s2sad.jvp(fn, args, tangents)
        value = outputs(fn(*args))
        columns.append([np.broadcast_to(d, np.shape(v)) for d, v in zip(outputs(dot), value)])
    return [
        np.stack([c[i] for c in columns], axis=-1).reshape(np.shape(columns[0][i]) + np.shape(x))
        for i in range(len(columns[0]))
    ]


# --- one function per rule with a vector form -------------------------------------------------


def matrix_products(A, x, B):
    return A @ x, x @ B, A @ B, x @ x, np.dot(A, x), A @ (B @ B.T) @ x


def outer_inner(x, A, C):
    return np.outer(x, A), np.inner(A, C), np.inner(x, x), np.inner(C, x)


def transposes(A, T, x):
    return A.T * 2.0, np.transpose(T, (2, 0, 1)), np.transpose(T, axes=(1, 0, 2)), x.T


def reshapes(A, x):
    return A.reshape(3, 2), A.ravel(), np.expand_dims(x, 0), np.squeeze(A.reshape(1, 2, 3), axis=0)


def reductions(A):
    return (
        np.sum(A, axis=0),
        np.mean(A, axis=-1, keepdims=True),
        np.sum(A),
        np.prod(A, axis=1),
        np.max(A, axis=0),
        np.min(A),
        np.linalg.norm(A, axis=1),
        A.sum(axis=(0, 1)),
    )


def indexing(A, x):
    idx = np.array([2, 0, 2])
    return A[1:, 0], A[:, idx], A[..., 1], A[1], x[idx] * A[0, idx], A[None, 0]


def writes(x, s):
    out = np.zeros((3, 4))
    out[0] = x
    out[1:, 2] = s
    out[2, :2] = x[:2] * s
    return out


def pieces(x, y):
    return (
        np.concatenate([x, y * 2.0]),
        np.stack([x, x * y], axis=-1),
        np.array([x[0], y[1] * 2.0]),
        np.concatenate([np.outer(x, y), np.outer(y, x)], axis=1),
    )


def branches(x, flag):
    y = x * 2.0 if flag > 0 else np.sin(x)
    return y


def broadcasting(col, row, s):
    return col * row + s, col + 1.0, s * row, np.where(col > 0, col * row, row), row**s


def mixed(x, s):
    return np.sum(np.sin(x) * s) + s * s, np.exp(x) * math.cos(s)


def curve(A, c):
    """Elementwise runs after a matrix product: each is differentiated once for all directions."""
    z = A @ c
    return np.tanh(z) * np.exp(-0.5 * z * z) + np.sin(3.0 * z), np.cos(z) / (1.0 + z * z)


def two_roots(x, y):
    """Elementwise in two inputs, whose tangents are different batches: not factored."""
    u = np.sin(x) * y
    return np.exp(u) + x * x, u * np.cos(y)


def number_chain(s, x):
    """A number's elementwise run, then broadcast against an array (shapes differ: not factored)."""
    t = np.sin(s) * s
    return np.exp(t) * x + t * t, np.sum(x * t) * t


RULE_CASES = [
    (matrix_products, (rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(3, 2)))),
    (outer_inner, (rng.normal(size=3), rng.normal(size=(2, 3)), rng.normal(size=(4, 3)))),
    (transposes, (rng.normal(size=(2, 3)), rng.normal(size=(2, 3, 2)), rng.normal(size=2))),
    (reshapes, (rng.normal(size=(2, 3)), rng.normal(size=4))),
    (reductions, (rng.uniform(0.5, 2.0, size=(2, 3)),)),
    (indexing, (rng.normal(size=(3, 3)), rng.normal(size=4))),
    (writes, (rng.normal(size=4), 1.5)),
    (pieces, (rng.normal(size=3), rng.normal(size=3))),
    (branches, (rng.normal(size=3), 1)),
    (branches, (rng.normal(size=3), -1)),
    (broadcasting, (rng.normal(size=(3, 1)), rng.uniform(0.5, 2.0, size=(1, 4)), 0.7)),
    (mixed, (rng.normal(size=3), 0.3)),
    (curve, (rng.normal(size=(5, 3)), rng.normal(size=3))),
    (two_roots, (rng.normal(size=3), rng.normal(size=3))),
    (number_chain, (0.3, rng.normal(size=3))),
]
IDS = [f"{fn.__name__}-{i}" for i, (fn, _) in enumerate(RULE_CASES)]


def float_positions(args):
    return [j for j, a in enumerate(args) if isinstance(a, (float, np.ndarray))]


@pytest.mark.parametrize("fn, args", RULE_CASES, ids=IDS)
def test_vector_tangents_equal_stacked_single_direction_tangents(fn, args):
    for j in float_positions(args):
        s2sad.vector_tangent_source(
            fn, *args, wrt=j
        )  # compiles: no fallback to sweeps per direction
        vector = outputs(s2sad.jacobian(fn, wrt=j, mode="forward")(*args))
        for got, expected in zip(vector, stacked_jvps(fn, args, j)):
            np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("fn, args", RULE_CASES, ids=IDS)
def test_both_modes_match_central_differences(fn, args):
    wrt = tuple(float_positions(args))
    forward = s2sad.jacobian(fn, wrt=wrt, mode="forward")(*args)
    reverse = s2sad.jacobian(fn, wrt=wrt, mode="reverse")(*args)
    auto = s2sad.jacobian(fn, wrt=wrt)(*args)
    several = isinstance(fn(*args), tuple)
    for k, j in enumerate(wrt):
        expected = central_differences(fn, args, j)
        for i, block in enumerate(expected):
            for result in (forward, reverse, auto):
                got = (result[i] if several else result)[k]
                assert got.shape == block.shape
                np.testing.assert_allclose(got, block, rtol=1e-6, atol=1e-6)


def test_an_elementwise_run_is_differentiated_once_for_all_directions():
    """After ``z = A @ c`` every value of each output's elementwise run depends on ``ż`` alone:
    its slope ``∂w/∂z`` is computed on unbatched arrays and only the outputs' tangents (and ``ż``
    itself) carry the batch axis."""
    args = next(args for fn, args in RULE_CASES if fn is curve)
    source = s2sad.vector_tangent_source(curve, *args, wrt=1)
    batched = [line.split("=")[0].strip() for line in source.splitlines() if "_dot =" in line]
    assert batched == ["w3_dot", "w11_dot", "w15_dot"], source
    assert "dw15_dw3 = " in source


def test_every_structural_rule_has_a_vector_form():
    assert set(STRUCTURAL) <= set(VECTOR_RULES)


def test_shapes_unknown_while_compiling_fall_back_to_one_sweep_per_direction():
    def positive_part(x):
        return np.sum(x[x > 0] ** 2) * x

    x = np.array([1.0, -2.0, 3.0])
    with pytest.raises(NotVectorizableError):
        s2sad.vector_tangent_source(positive_part, x)
    expected = central_differences(positive_part, (x,), 0)[0]
    np.testing.assert_allclose(s2sad.jacobian(positive_part, mode="forward")(x), expected, 1e-6)


# --- control flow -------------------------------------------------------------------------------

W = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6], [-0.2, 0.3, 0.1]])


def array_loop(x, n):
    y = x
    for i in range(n):
        y = np.tanh(W @ y) + x * i
    return y


CONTROL = [
    (control_flow.rk4_decay, (0.7, 2.0, 1.5, 20), (0, 1, 2)),
    (control_flow.projectile_range, (20.0, 0.8, 0.01, 0.01), (0, 1, 2)),
    (control_flow.piecewise, (0.4,), (0,)),
    (control_flow.newton_sqrt, (3.0,), (0,)),
    (array_loop, (np.array([0.3, -0.2, 0.5]), 4), (0,)),
]


@pytest.mark.parametrize("fn, args, wrt", CONTROL, ids=[c[0].__name__ for c in CONTROL])
def test_jacobians_through_loops_and_branches(fn, args, wrt):
    results = [s2sad.jacobian(fn, wrt=wrt, mode=m)(*args) for m in ("forward", "reverse", "auto")]
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(results[0], results[2], rtol=1e-12, atol=1e-14)
    expected = np.stack([central_differences(fn, args, j)[0] for j in wrt], axis=-1)
    got = results[0] if len(wrt) > 1 else np.asarray(results[0])[..., None]
    np.testing.assert_allclose(got, expected.reshape(got.shape), rtol=1e-6, atol=1e-6)


# --- shapes of the result -----------------------------------------------------------------------


def two_outputs(x, A, s):
    return A @ x * s, np.sum(x) * s


def test_result_layout_follows_outputs_then_inputs():
    x, A, s = rng.normal(size=3), rng.normal(size=(4, 3)), 2.0
    jac = s2sad.jacobian(two_outputs, wrt=(0, 1, 2))(x, A, s)
    shapes = [[np.shape(block) for block in row] for row in jac]
    assert shapes == [[(4, 3), (4, 4, 3), (4,)], [(3,), (4, 3), ()]]
    single = s2sad.jacobian(two_outputs, wrt=0)(x, A, s)
    assert [b.shape for b in single] == [(4, 3), (3,)]
    np.testing.assert_allclose(single[0], A * s, rtol=1e-15)
    np.testing.assert_allclose(single[1], np.full(3, s), rtol=1e-15)


def test_numbers_give_one_matrix():
    def g(a, b):
        return a * b, a + b, a - b

    assert s2sad.jacobian(g, wrt=(0, 1))(2.0, 3.0).tolist() == [[3.0, 2.0], [1.0, 1.0], [1.0, -1.0]]


def test_auto_counts_elements_not_arguments(monkeypatch):
    # one argument of 5 elements, an output of 2: reverse takes 2 sweeps, forward 5 directions
    from s2sad import jacobians

    taken = []
    real = jacobians.reverse_blocks
    monkeypatch.setattr(jacobians, "reverse_blocks", lambda *a: taken.append(1) or real(*a))
    x = rng.normal(size=5)
    s2sad.jacobian(lambda_free_pair)(x)
    assert taken == [1]
    s2sad.jacobian(two_outputs)(rng.normal(size=2), rng.normal(size=(4, 2)), 1.0)  # 2 in, 5 out
    assert taken == [1]


def lambda_free_pair(x):
    return np.sum(x), np.sum(x * x)


def test_integer_arrays_are_refused():
    with pytest.raises(s2sad.ArgumentError, match="astype"):
        s2sad.jacobian(lambda_free_pair)(np.arange(3))


# --- elementwise_grad ---------------------------------------------------------------------------


def softplus(x):
    return np.log1p(np.exp(x))


def mix(x):
    return MIXER @ x


MIXER = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [3.0, 0.0, 1.0]])


def test_elementwise_grad_of_an_elementwise_function_is_the_grad_of_its_sum():
    x = rng.normal(size=5)
    expected = 1 / (1 + np.exp(-x))  # softplus' = the logistic function
    np.testing.assert_allclose(s2sad.elementwise_grad(softplus)(x), expected, rtol=1e-14)
    np.testing.assert_allclose(s2sad.grad(lambda_free_sum)(x), expected, rtol=1e-14)
    assert s2sad.elementwise_grad(softplus)(0.0) == pytest.approx(0.5, rel=1e-15)


def lambda_free_sum(x):
    return np.sum(softplus(x))


def mixed_sum(x):
    return np.sum(mix(x))


def test_elementwise_grad_sums_rows_where_grad_of_the_sum_sums_columns():
    x = rng.normal(size=3)
    np.testing.assert_allclose(s2sad.elementwise_grad(mix)(x), MIXER.sum(axis=1), rtol=1e-15)
    np.testing.assert_allclose(s2sad.grad(mixed_sum)(x), MIXER.sum(axis=0), rtol=1e-15)
    assert not np.allclose(MIXER.sum(axis=1), MIXER.sum(axis=0))


def test_elementwise_grad_takes_one_input_and_one_output():
    with pytest.raises(s2sad.ArgumentError, match="one input"):
        s2sad.elementwise_grad(two_outputs, wrt=(0, 1))
    with pytest.raises(s2sad.NonScalarOutputError, match="one output"):
        s2sad.elementwise_grad(two_outputs)


# --- property: random shapes --------------------------------------------------------------------


def layer(W, x, b):
    return np.tanh(W @ x + b) * np.sum(x**2, axis=0)


@settings(max_examples=8, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_forward_equals_reverse_for_random_shapes(m, n, p, seed):
    r = np.random.default_rng(seed)
    args = (r.normal(size=(m, n)), r.normal(size=(n, p)), r.normal(size=(m, 1)))
    forward = s2sad.jacobian(layer, wrt=(0, 1, 2), mode="forward")(*args)
    reverse = s2sad.jacobian(layer, wrt=(0, 1, 2), mode="reverse")(*args)
    for f_block, r_block, a in zip(forward, reverse, args):
        assert f_block.shape == (m, p) + a.shape
        np.testing.assert_allclose(f_block, r_block, rtol=1e-12, atol=1e-13)


# --- samples/newton.py --------------------------------------------------------------------------


def test_newton_sample_converges_quadratically_to_the_known_root(capsys):
    newton = load_sample("newton")
    newton.main()
    printed = capsys.readouterr().out
    assert "step 0" in printed and "root: [1. 2. 3.]" in printed
    root, residuals = newton.newton(newton.equations, np.array([1.2, 1.8, 2.7]))
    np.testing.assert_allclose(root, [1.0, 2.0, 3.0], rtol=1e-13)
    assert residuals[-1] < 1e-13
    # quadratic: near the root each residual is at most a small multiple of the previous one squared
    close = [(r, nxt) for r, nxt in zip(residuals, residuals[1:]) if 1e-7 < r < 1e-1]
    assert len(close) >= 2
    assert all(nxt < 2.0 * r * r for r, nxt in close)
    # the Jacobian the sample uses, against the one written by hand
    x, y, z = root
    by_hand = [[2 * x, 2 * y, 2 * z], [y * z, x * z, x * y], [np.exp(x - 1), 1.0, -1.0]]
    np.testing.assert_allclose(s2sad.jacobian(newton.equations)(root), by_hand, rtol=1e-15)


def no_outputs(x):
    return ()


def test_a_function_with_no_outputs_has_an_empty_jacobian():
    for mode in ("auto", "forward", "reverse"):
        assert s2sad.jacobian(no_outputs, mode=mode)(np.ones(2)) == ()


def _number_or_array(x, v):
    if x > 0.0:
        y = x * v  # an array on this path
    else:
        y = x * x  # a number on this one
    return y + np.sum(v)


@pytest.mark.parametrize("x", [0.5, -0.5])
def test_an_output_that_is_a_number_on_one_path_and_an_array_on_another(x):
    # Written out: on the first path d(x v_i + S)/dx = v_i and d/dv_j = x δ_ij + 1; on the second
    # d(x² + S)/dx = 2x and d/dv_j = 1.
    v = np.array([1.0, -2.0, 0.5])
    dx, dv = (v, x * np.eye(3) + 1.0) if x > 0 else (2 * x, np.ones(3))
    for mode in ("forward", "reverse"):
        J = s2sad.jacobian(_number_or_array, wrt=(0, 1), mode=mode)(x, v)
        np.testing.assert_allclose(J[0], dx, rtol=1e-15)
        np.testing.assert_allclose(J[1], dv, rtol=1e-15)
