"""chain_order and chain_product: the bracketing of a Jacobian chain (seed 003).

The dynamic programme is checked against every bracketing enumerated by brute force, its forward and
backward counts against the closed forms of the notes, and chain_product against plain left-to-right
multiplication.
"""

import ast
import functools
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sad
from s2sad import ArgumentError, S2SADError, chain_order, chain_product

# Dimensions up to 30, with many small ones so that ties between bracketings are common; chains of
# one to seven Jacobians (at most 132 bracketings).
DIMS = st.integers(2, 8).flatmap(
    lambda size: st.lists(st.integers(1, 3) | st.integers(1, 30), min_size=size, max_size=size)
)
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)


def bracketings(i, j):
    """Every bracketing of J_j ⋯ J_i as nested pairs, ``(left, right)`` meaning ``left @ right``."""
    if i == j:
        yield i
        return
    for s in range(i, j):
        for left in bracketings(s + 1, j):
            for right in bracketings(i, s):
                yield left, right


def shape_and_cost(tree, dims):
    """The shape of the product ``tree`` stands for and its multiply-adds, from the shapes alone."""
    if isinstance(tree, int):
        return (dims[tree], dims[tree - 1]), 0
    (left_shape, left_cost), (right_shape, right_cost) = (
        shape_and_cost(tree[0], dims),
        shape_and_cost(tree[1], dims),
    )
    assert left_shape[1] == right_shape[0]
    cost = left_shape[0] * left_shape[1] * right_shape[1]
    return (left_shape[0], right_shape[1]), left_cost + right_cost + cost


def cost(tree, dims):
    return shape_and_cost(tree, dims)[1]


def tie_key(tree):
    """Prefer the smallest top split (the shortest right factor), then the same in each part."""
    if isinstance(tree, int):
        return ()
    right = tree[1]
    while not isinstance(right, int):
        right = right[0]
    return right, tie_key(tree[0]), tie_key(tree[1])


def forward_tree(k):
    return 1 if k == 1 else (k, forward_tree(k - 1))


def backward_tree(k):
    return functools.reduce(lambda tree, i: (tree, i), range(k - 1, 0, -1), k)


@SETTINGS
@given(DIMS)
def test_optimal_against_every_bracketing(dims):
    k = len(dims) - 1
    report = chain_order(dims)
    costs = {tree: cost(tree, dims) for tree in bracketings(1, k)}
    least = min(costs.values())
    assert report.optimal == least == costs[report.tree]
    assert report.tree == min((tree for tree in costs if costs[tree] == least), key=tie_key)
    assert report.forward == costs[forward_tree(k)]
    assert report.backward == costs[backward_tree(k)]


@SETTINGS
@given(DIMS)
def test_forward_and_backward_closed_forms(dims):
    """Seed 003: forward n_0 Σ_{k=1}^{t-1} n_k n_{k+1}, backward n_t Σ_{h=0}^{t-2} n_h n_{h+1}."""
    n, t = dims, len(dims) - 1
    report = chain_order(dims)
    assert report.forward == n[0] * sum(n[k] * n[k + 1] for k in range(1, t))
    assert report.backward == n[t] * sum(n[h] * n[h + 1] for h in range(t - 1))


@SETTINGS
@given(DIMS)
def test_bracketing_string_reads_as_the_tree(dims):
    report = chain_order(dims)

    def tree_of(node):
        if isinstance(node, ast.Name):
            return int(node.id[1:])
        assert isinstance(node.op, ast.MatMult)
        return tree_of(node.left), tree_of(node.right)

    expression = ast.parse(report.bracketing.replace(" ", " @ "), mode="eval").body
    assert tree_of(expression) == report.tree


@SETTINGS
@given(DIMS)
def test_monotone_dimensions(dims):
    """Seeds 002 and 004: few inputs and many outputs favour forward mode, the reverse backward."""
    widening = chain_order(sorted(dims))
    assert widening.optimal == widening.forward
    assert chain_order(sorted(dims, reverse=True)).tree == backward_tree(len(dims) - 1)


def test_seed003_network():
    """∂x4/∂θ1 of the notes' network: θ1 = W1 (n1·n0 entries), x1 = W1 x0, x2 = ReLU(x1) (n2 = n1),
    x3 = W3 x2 a scalar, x4 = (x3 - y)² / 2; with n0 = 3, n1 = n2 = 4, then for other n0, n1."""
    n0, n1 = 3, 4
    report = chain_order([n1 * n0, n1, n1, 1, 1])
    assert report.forward == 12 * (4 * 4 + 4 * 1 + 1 * 1) == 252
    assert report.backward == 1 * (12 * 4 + 4 * 4 + 4 * 1) == 68
    assert (report.optimal, report.bracketing) == (68, "((J4 J3) J2) J1")
    for n0, n1 in itertools.product(range(1, 9), repeat=2):
        assert chain_order([n1 * n0, n1, n1, 1, 1]).tree == backward_tree(4)


def test_ties_go_to_backward_accumulation():
    assert chain_order([5, 5, 5, 5]).bracketing == "(J3 J2) J1"
    # Of three Jacobians, a palindrome of dimensions costs the same forward and backward.
    report = chain_order([2, 3, 3, 2])
    assert (report.forward, report.backward, report.optimal) == (30, 30, 30)
    assert report.bracketing == "(J3 J2) J1"
    assert chain_order([2, 3, 3, 2]) == report


def test_examples():
    report = chain_order([10, 100, 5, 50])
    assert (report.forward, report.backward, report.optimal) == (7500, 75000, 7500)
    assert report.bracketing == "J3 (J2 J1)" and report.tree == (3, (2, 1))
    # Neither end first: J3 J2 is 1 × 1 (10), J4 times it 10 × 1 (10), times J1 10 × 10 (100).
    report = chain_order([10, 1, 10, 1, 10])
    assert (report.forward, report.backward, report.optimal) == (300, 300, 120)
    assert report.bracketing == "(J4 (J3 J2)) J1"
    single = chain_order([3, 7])
    assert (single.tree, single.bracketing) == (1, "J1")
    assert single.forward == single.backward == single.optimal == 0


def test_report_table():
    lines = str(chain_order([10, 100, 5, 50])).splitlines()
    assert lines[0].startswith("J3 J2 J1 with n0..n3 = 10, 100, 5, 50")
    assert lines[3].split() == ["forward", "J3", "(J2", "J1)", "7500"]
    assert lines[4].split() == ["backward", "(J3", "J2)", "J1", "75000"]
    assert lines[5].split() == ["optimal", "J3", "(J2", "J1)", "7500"]


def random_jacobians(dims, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(-3, 4, size=(dims[i], dims[i - 1])) for i in range(1, len(dims))]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.integers(1, 6), min_size=2, max_size=6), st.integers(0, 2**32 - 1))
def test_product_in_every_order(dims, seed):
    """Integer matrices, so every order must give exactly the left-to-right product J_k ⋯ J_1."""
    mats = random_jacobians(dims, seed)
    expected = functools.reduce(np.matmul, reversed(mats))
    for order in ["optimal", "forward", "backward", *bracketings(1, len(mats))]:
        assert np.array_equal(chain_product(mats, order), expected)


def test_product_of_floats_in_the_optimal_order():
    rng = np.random.default_rng(3)
    dims = [30, 2, 40, 3, 50, 1]
    mats = [rng.standard_normal((dims[i], dims[i - 1])) for i in range(1, len(dims))]
    expected = mats[4] @ mats[3] @ mats[2] @ mats[1] @ mats[0]
    assert np.allclose(chain_product(mats), expected, rtol=1e-12, atol=1e-12)
    assert np.allclose(
        chain_product(mats, chain_order(dims).tree), expected, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    "dims, message",
    [
        ([], "at least two entries"),
        ([3], "at least two entries"),
        ([3, 0], "n1 = 0 is not positive"),
        ([3, 2, -1], "n2 = -1 is not positive"),
        ([3, 2.0], "n1 = 2.0 is not an integer"),
        ([True, 2], "n0 = True is not an integer"),
        (["3", 2], "n0 = '3' is not an integer"),
        (5, "dims must be a list of integers"),
    ],
)
def test_bad_dims(dims, message):
    with pytest.raises(ArgumentError, match=message):
        chain_order(dims)


def test_numpy_integer_dims():
    assert chain_order(np.array([10, 100, 5, 50])) == chain_order([10, 100, 5, 50])


@pytest.mark.parametrize(
    "mats, order, message",
    [
        ([], "optimal", "no Jacobians"),
        ([np.ones(3)], "optimal", r"J1 has shape \(3,\)"),
        ([np.ones((2, 3)), np.ones((4, 3))], "optimal", "J2 needs 2 columns to multiply J1"),
        ([np.ones((2, 3))], "sideways", "unknown order 'sideways'"),
        ([np.ones((2, 2))] * 2, (1, 2), r"not a bracketing of J2 ⋯ J1"),
        ([np.ones((2, 2))] * 3, (3, 2, 1), r"\(3, 2, 1\) is neither"),
        ([np.ones((2, 2))] * 2, (2.0, 1), "2.0 is neither"),
    ],
)
def test_bad_products(mats, order, message):
    with pytest.raises(ArgumentError, match=message):
        chain_product(mats, order)


def test_errors_and_exports():
    assert issubclass(ArgumentError, S2SADError)
    assert {"ChainOrder", "chain_order", "chain_product"} <= set(s2sad.__all__)
    with pytest.raises(AttributeError):
        chain_order([2, 3]).optimal = 0
