"""The NumPy part of the benchmark (run by ``python -m s2sad.bench``).

- the seed-001 network (samples/networks.py) at N=64, K=128, M=10 and at K=1024: s2sad's gradient
  with respect to W1, b1, W2, b2 and x against backprop written by hand from the notes' formulas
  (target ≤ 1.3×);
- an elementwise chain on a vector of 10^5 elements: gradient ÷ primal (target ≤ 3);
- the Hessian-vector product of the seed-001 network loss with respect to x, W1, b1, W2, b2 (forward
  mode over the gradient): its time ÷ the gradient's (target ≤ 3);
- the forward Jacobian of a function R^10 → R^1000: one vector-mode sweep against 10 ordinary
  tangent sweeps, one per input direction (target ≥ 5× faster).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from . import api, higher, jacobians
from .bench import best_times
from .dispatch import specialised
from .pipeline import Spec

NETWORKS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples", "networks.py"
)


def hand_seed001(x, W1, b1, W2, b2, r, s):
    """Seed 001 (b) by hand: the forward pass, then ȳ = y − s, h̄ = r + W2ᵀȳ, z̄ = h̄ ∘ σ'(z)."""
    z = W1 @ x + b1
    h = 1 / (1 + np.exp(-z))
    y = W2 @ h + b2
    y_bar = y - s
    h_bar = r + W2.T @ y_bar
    z_bar = h_bar * h * (1 - h)
    return W1.T @ z_bar, np.outer(z_bar, x), z_bar, np.outer(y_bar, h), y_bar


def chain(x):
    return np.sum(np.tanh(np.sin(x) * x + 0.5) * np.exp(-x * x))


CURVE_BASIS = np.cos(np.outer(np.linspace(0.0, np.pi, 1000), np.arange(10)))


def curve(c):
    """R^10 → R^1000: a curve sampled at 1000 points, shaped by 10 coefficients."""
    z = CURVE_BASIS @ c
    return np.tanh(z) * np.exp(-0.5 * z * z) + np.sin(3.0 * z)


def jacobian_ratio(quick: bool) -> tuple:
    """Time of 10 tangent sweeps ÷ one vector-mode sweep for the Jacobian of :func:`curve`, and
    the vector sweep's time. Both build the 1000×10 matrix; the sweeps call the compiled tangent
    program directly, with nothing else around it."""
    c = np.random.default_rng(2).normal(size=10) / 3
    vector = jacobians.jacobian(curve, mode="forward")
    (tangent,) = specialised(curve, Spec("tangent", ("c",)), ("c",), (c,))
    directions = np.eye(10)

    def sweeps(c):
        return np.stack([tangent(c, e)[1] for e in directions], axis=1)

    assert np.allclose(vector(c), sweeps(c), rtol=1e-13, atol=1e-15)
    one, many = best_times([vector, sweeps], (c,), 100 if quick else 1000)
    return many / one, one


def _networks():
    spec = importlib.util.spec_from_file_location("s2sad_bench_networks", NETWORKS)
    networks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(networks)
    return networks


def _network_cases():
    """``(networks, (N, K, M), rng, shapes, args, gradient)`` for each size of the seed-001 network measured."""
    networks = _networks()
    for N, K, M in [(64, 128, 10), (64, 1024, 10)]:
        rng = np.random.default_rng(0)
        shapes = [(N,), (K, N), (K,), (M, K), (M,), (K,), (M,)]
        args = [rng.normal(size=shape) for shape in shapes]
        gradient = api.grad(networks.seed001_loss, wrt=(0, 1, 2, 3, 4))
        yield networks, (N, K, M), rng, shapes, args, gradient


def network_rows(quick: bool) -> list:
    """``(N, K, M, primal s, s2sad s, hand s)`` for the seed-001 network."""
    rows = []
    for networks, sizes, _, _, args, gradient in _network_cases():
        for ours, theirs in zip(gradient(*args), hand_seed001(*args)):
            assert np.allclose(ours, theirs, rtol=1e-10, atol=1e-12)
        number = 200 if quick else 2000
        times = best_times([networks.seed001_loss, gradient, hand_seed001], args, number)
        rows.append((*sizes, *times))
    return rows


def hvp_rows(quick: bool) -> list:
    """``(N, K, M, gradient s, Hessian-vector product s)`` for the seed-001 network loss."""
    rows = []
    for networks, sizes, rng, shapes, args, gradient in _network_cases():
        v = [rng.normal(size=shape) for shape in shapes[:5]]
        product = higher.hvp(networks.seed001_loss, wrt=(0, 1, 2, 3, 4))
        times = best_times([gradient, lambda *a: product(*a, *v)], args, 200 if quick else 2000)
        rows.append((*sizes, *times))
    return rows


def chain_ratio(quick: bool) -> tuple:
    """Gradient ÷ primal of :func:`chain` on 10^5 elements, and the primal's time."""
    x = np.random.default_rng(1).normal(size=100_000)
    gradient = api.grad(chain)
    primal, grad = best_times([chain, gradient], (x,), 10 if quick else 50)
    return grad / primal, primal


def report(quick: bool) -> None:
    print()
    print("Seed-001 network (samples/networks.py), gradient w.r.t. x, W1, b1, W2, b2:")
    print(f"{'N':>5}{'K':>6}{'M':>4}{'primal':>11}{'s2sad':>11}{'hand':>11}{'s2sad/hand':>12}")
    for N, K, M, primal, ours, hand in network_rows(quick):
        print(
            f"{N:>5}{K:>6}{M:>4}{primal * 1e6:9.1f}µs{ours * 1e6:9.1f}µs{hand * 1e6:9.1f}µs"
            f"{ours / hand:11.2f}x"
        )
    ratio, primal = chain_ratio(quick)
    print()
    print("Elementwise chain on 10^5 elements, sum(tanh(sin(x) * x + 0.5) * exp(-x * x)):")
    print(f"  primal {primal * 1e3:.2f} ms; gradient/primal {ratio:.2f}x")
    print()
    print("Seed-001 network loss, Hessian-vector product w.r.t. x, W1, b1, W2, b2:")
    print(f"{'N':>5}{'K':>6}{'M':>4}{'gradient':>11}{'H·v':>11}{'H·v/gradient':>14}")
    for N, K, M, gradient, product in hvp_rows(quick):
        print(
            f"{N:>5}{K:>6}{M:>4}{gradient * 1e6:9.1f}µs{product * 1e6:9.1f}µs"
            f"{product / gradient:13.2f}x"
        )
    ratio, vector = jacobian_ratio(quick)
    print()
    print("Forward Jacobian of R^10 -> R^1000 (curve), one vector-mode sweep vs 10 tangent sweeps:")
    print(f"  vector mode {vector * 1e6:.1f} µs; 10 sweeps / vector mode {ratio:.1f}x")
