"""The benchmark's subjects are differentiated as user code is (they live in s2sad's package, where
functions of s2sad itself are refused), and their derivatives are right: the elementwise chain's
against its gradient written out."""

import numpy as np

import s2sad
from s2sad import bench_arrays


def test_the_elementwise_chain_against_its_gradient_by_hand():
    # f = Σ tanh(u) e^(-x²), u = x sin x + 0.5: ∂f/∂x = (1 - tanh² u)(sin x + x cos x) e^(-x²)
    #                                                   - 2x tanh(u) e^(-x²)
    x = np.linspace(-2.0, 2.0, 7)
    u = np.sin(x) * x + 0.5
    by_hand = (1 - np.tanh(u) ** 2) * (np.sin(x) + x * np.cos(x)) * np.exp(
        -x * x
    ) - 2 * x * np.tanh(u) * np.exp(-x * x)
    np.testing.assert_allclose(s2sad.grad(bench_arrays.chain)(x), by_hand, rtol=1e-13, atol=1e-15)
