"""The networks of the notes (samples/networks.py): s2sad's gradients against hand-written backprop
from the notes' own formulas, against central differences, and a training loop whose loss falls."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

import s2sad
from s2sad.bench_arrays import hand_seed001 as seed001_backprop  # the notes' backprop

SAMPLES = pathlib.Path(__file__).resolve().parent.parent / "samples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, SAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


networks = load("networks")


def seed001_point(N, K, M, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(N,), (K, N), (K,), (M, K), (M,), (K,), (M,)]
    return [rng.normal(size=shape) for shape in shapes]


@pytest.mark.parametrize("N, K, M", [(3, 4, 2), (5, 1, 3), (64, 128, 10)])
def test_seed001_network_matches_the_notes_backprop(N, K, M):
    args = seed001_point(N, K, M)
    grads = s2sad.grad(networks.seed001_loss, wrt=(0, 1, 2, 3, 4))(*args)
    for ours, theirs in zip(grads, seed001_backprop(*args)):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_seed001_network_in_float32_stays_float32():
    args = [a.astype(np.float32) for a in seed001_point(3, 4, 2)]
    grads = s2sad.grad(networks.seed001_loss, wrt=(0, 1, 2, 3, 4))(*args)
    assert all(g.dtype == np.float32 for g in grads)
    expected = seed001_backprop(*[a.astype(float) for a in args])
    for ours, theirs in zip(grads, expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)  # float32 rounding


def test_seed003_relu_network_against_central_differences():
    rng = np.random.default_rng(3)
    z0, W1, W2, W3, g = (rng.normal(size=s) for s in [(3,), (4, 3), (4, 4), (2, 4), (2,)])
    grads = s2sad.grad(networks.seed003_loss, wrt=(1, 2, 3))(z0, W1, W2, W3, g)
    step = 1e-6  # central differences: error ~1e-10 here; kinks of ReLU are not near (checked)
    for grad, position in zip(grads, (1, 2, 3)):
        args = [z0, W1, W2, W3, g]
        expected = np.zeros_like(args[position])
        for index in np.ndindex(expected.shape):
            up = [a.copy() for a in args]
            down = [a.copy() for a in args]
            up[position][index] += step
            down[position][index] -= step
            high, low = networks.seed003_loss(*up), networks.seed003_loss(*down)
            expected[index] = (high - low) / (2 * step)
        np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-7)
    assert np.min(np.abs(W1 @ z0)) > 1e-3 and np.min(np.abs(W2 @ np.maximum(W1 @ z0, 0))) > 1e-3


def test_training_loop_loss_falls():
    history = load("train_mlp").train(steps=150, report=lambda line: None)
    assert history[-1] < 0.5 * history[0]
    assert all(b <= a + 1e-3 for a, b in zip(history, history[1:]))
