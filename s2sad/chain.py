"""The cheapest order to multiply the Jacobians of a chain of functions (seed 003).

For ``f = f_k ∘ … ∘ f_1`` with ``f_i: R^(n_{i-1}) → R^(n_i)``, the chain rule gives the Jacobian
``J = J_k ⋯ J_2 J_1``, where ``J_i`` is ``n_i × n_{i-1}``. Matrix multiplication is associative, so
the product may be bracketed in any way; the cost depends on the bracketing:

- forward accumulation, ``J_k (⋯ (J_3 (J_2 J_1)))``, costs ``n_0 Σ_{i=1}^{k-1} n_i n_{i+1}``;
- backward accumulation, ``((J_k J_{k-1}) J_{k-2}) ⋯ J_1``, costs ``n_k Σ_{i=0}^{k-2} n_i n_{i+1}``;
- the cheapest bracketing is found by dynamic programming on the dimensions (the matrix-chain
  problem), in O(k³) time.

Costs count scalar multiply-adds: an ``a × b`` matrix times a ``b × c`` one costs ``a·b·c``.
``dims`` lists ``n_0, n_1, …, n_k``, input first, in the order the functions are applied; the
Jacobians are likewise given ``J_1`` first.

>>> report = chain_order([12, 4, 4, 1, 1])
>>> print(report)
J4 J3 J2 J1 with n0..n4 = 12, 4, 4, 1, 1 (Ji is ni × n(i-1)); a×b times b×c costs a·b·c
order     bracketing       multiply-adds
--------  ---------------  -------------
forward   J4 (J3 (J2 J1))            252
backward  ((J4 J3) J2) J1             68
optimal   ((J4 J3) J2) J1             68
>>> report.tree
(((4, 3), 2), 1)
>>> import numpy as np
>>> chain_product([np.ones((3, 2)), np.ones((1, 3))], order="forward")
array([[3., 3.]])
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .errors import ArgumentError, user_facing

# A bracketing: ``i`` stands for J_i, a pair ``(left, right)`` for the product ``left @ right``.
Tree = int | tuple


@dataclass(frozen=True)
class ChainOrder:
    """The cheapest bracketing of ``J_k ⋯ J_1`` and the multiply-adds of each order.

    ``tree`` is the bracketing as nested pairs (``(3, (2, 1))`` is ``J3 (J2 J1)``), which
    :func:`chain_product` accepts as its ``order``; ``optimal`` is its cost.
    """

    dims: tuple[int, ...]
    tree: Tree
    optimal: int

    @property
    def bracketing(self) -> str:
        """The optimal bracketing in the notes' notation, e.g. ``J3 (J2 J1)``."""
        return _show(self.tree)

    @property
    def forward(self) -> int:
        """Multiply-adds of forward accumulation, ``J_k (⋯ (J_2 J_1))``."""
        return _cost(_forward_tree(len(self.dims) - 1), self.dims)

    @property
    def backward(self) -> int:
        """Multiply-adds of backward accumulation, ``((J_k J_{k-1}) ⋯) J_1``."""
        return _cost(_backward_tree(len(self.dims) - 1), self.dims)

    def __str__(self) -> str:
        k = len(self.dims) - 1
        rows = [
            ("forward", _show(_forward_tree(k)), self.forward),
            ("backward", _show(_backward_tree(k)), self.backward),
            ("optimal", self.bracketing, self.optimal),
        ]
        wide = max(len("bracketing"), *(len(row[1]) for row in rows))
        product = " ".join(f"J{i}" for i in range(k, 0, -1))
        lines = [
            f"{product} with n0..n{k} = {', '.join(map(str, self.dims))} (Ji is ni × n(i-1)); "
            "a×b times b×c costs a·b·c",
            f"{'order':8}  {'bracketing':{wide}}  multiply-adds",
            f"{'-' * 8}  {'-' * wide}  {'-' * 13}",
        ]
        lines += [f"{name:8}  {text:{wide}}  {cost:13}" for name, text, cost in rows]
        return "\n".join(lines)


@user_facing
def chain_order(dims) -> ChainOrder:
    """The cheapest bracketing of ``J_k ⋯ J_1`` for ``dims = [n_0, …, n_k]``.

    ``J_i`` is ``n_i × n_{i-1}``. The matrix-chain dynamic programme: the cheapest product
    ``J_j ⋯ J_i`` splits as ``(J_j ⋯ J_{s+1}) (J_s ⋯ J_i)`` at the ``s`` minimising the two parts'
    costs plus ``n_j n_s n_{i-1}``; O(k³) time, O(k²) space. Ties go to the smallest ``s``, so
    whenever backward accumulation is among the cheapest orders it is the one returned.
    """
    n = _check_dims(dims)
    k = len(n) - 1
    # cost[i, j], split[i, j]: the least multiply-adds of J_j ⋯ J_i and the split achieving it
    cost, split = {(i, i): 0 for i in range(1, k + 1)}, {}
    for j in range(2, k + 1):
        for i in range(j - 1, 0, -1):
            cost[i, j], split[i, j] = min(
                (cost[s + 1, j] + cost[i, s] + n[j] * n[s] * n[i - 1], s) for s in range(i, j)
            )

    def tree(i: int, j: int) -> Tree:
        return i if i == j else (tree(split[i, j] + 1, j), tree(i, split[i, j]))

    return ChainOrder(n, tree(1, k), cost[1, k])


@user_facing
def chain_product(jacobians, order="optimal") -> np.ndarray:
    """``J_k ⋯ J_1`` for ``jacobians = [J_1, …, J_k]`` (``J_1`` first), multiplied in ``order``.

    ``order`` is ``"optimal"`` (the bracketing of :func:`chain_order`), ``"forward"``,
    ``"backward"``, or a bracketing as nested pairs such as ``(3, (2, 1))``.
    """
    mats = [np.asarray(jacobian) for jacobian in jacobians]
    if not mats:
        raise ArgumentError("no Jacobians to multiply")
    for i, mat in enumerate(mats, 1):
        if mat.ndim != 2:
            raise ArgumentError(f"J{i} has shape {mat.shape}; each Jacobian must be a 2-D array")
    for i in range(1, len(mats)):
        if mats[i].shape[1] != mats[i - 1].shape[0]:
            raise ArgumentError(
                f"J{i + 1} has shape {mats[i].shape} and J{i} has shape {mats[i - 1].shape}: "
                f"J{i + 1} needs {mats[i - 1].shape[0]} columns to multiply J{i}"
            )
    k = len(mats)
    if isinstance(order, str):
        trees = {"forward": _forward_tree, "backward": _backward_tree}
        if order == "optimal":
            tree = chain_order([mats[0].shape[1]] + [mat.shape[0] for mat in mats]).tree
        elif order in trees:
            tree = trees[order](k)
        else:
            raise ArgumentError(f"unknown order {order!r}; use 'optimal', 'forward' or 'backward'")
    else:
        tree = order
        if list(_leaves(tree)) != list(range(k, 0, -1)):
            raise ArgumentError(f"{order!r} is not a bracketing of J{k} ⋯ J1, e.g. (2, 1) is J2 J1")

    def evaluate(tree: Tree) -> np.ndarray:
        return mats[tree - 1] if isinstance(tree, int) else evaluate(tree[0]) @ evaluate(tree[1])

    return evaluate(tree)


def _check_dims(dims) -> tuple[int, ...]:
    try:
        n = tuple(dims)
    except TypeError:
        raise ArgumentError(f"dims must be a list of integers, not {dims!r}") from None
    if len(n) < 2:
        raise ArgumentError(f"dims {list(n)} needs at least two entries, n0 and n1")
    for i, d in enumerate(n):
        if not isinstance(d, numbers.Integral) or isinstance(d, bool):
            raise ArgumentError(f"n{i} = {d!r} is not an integer")
        if d <= 0:
            raise ArgumentError(f"n{i} = {d} is not positive")
    return tuple(int(d) for d in n)


def _forward_tree(k: int) -> Tree:
    tree = 1
    for i in range(2, k + 1):
        tree = (i, tree)
    return tree


def _backward_tree(k: int) -> Tree:
    tree = k
    for i in range(k - 1, 0, -1):
        tree = (tree, i)
    return tree


def _leaves(tree):
    if isinstance(tree, int) and not isinstance(tree, bool):
        yield tree
    elif isinstance(tree, tuple) and len(tree) == 2:
        yield from _leaves(tree[0])
        yield from _leaves(tree[1])
    else:
        raise ArgumentError(f"{tree!r} is neither a factor number nor a pair")


def _cost(tree: Tree, n: tuple[int, ...]) -> int:
    """Multiply-adds of ``tree``; its product spans ``J_j ⋯ J_i`` and is ``n_j × n_{i-1}``."""

    def walk(tree: Tree) -> tuple[int, int, int]:
        if isinstance(tree, int):
            return 0, tree, tree
        (left_cost, j, _), (right_cost, s, i) = walk(tree[0]), walk(tree[1])
        return left_cost + right_cost + n[j] * n[s] * n[i - 1], j, i

    return walk(tree)[0]


def _show(tree: Tree, top: bool = True) -> str:
    if isinstance(tree, int):
        return f"J{tree}"
    text = f"{_show(tree[0], False)} {_show(tree[1], False)}"
    return text if top else f"({text})"
