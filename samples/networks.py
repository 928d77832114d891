"""The networks of the lecture notes, written as plain NumPy for s2sad to differentiate.

    s2sad samples/networks.py:seed001_loss --reverse

Seed 001 (b): a two-layer network with a sigmoid hidden layer, a regulariser ``R = rᵀh`` and a squared
error::

    z = W1 x + b1,  h = σ(z),  R = rᵀh,  y = W2 h + b2,  ξ = ½‖y − s‖²,  L = ξ + R

with x: N, W1: K×N, b1: K, r: K, W2: M×K, b2: M, s: M.

Seed 003: a network of ReLU layers ``z1 = W1 z0``, ``z2 = W2 δ(z1)``, ``z3 = W3 δ(z2)`` and the loss
``½‖z3 − g‖²``.
"""

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def seed001_loss(x, W1, b1, W2, b2, r, s):
    z = W1 @ x + b1
    h = sigmoid(z)
    R = r @ h
    y = W2 @ h + b2
    xi = 0.5 * np.sum((y - s) ** 2)
    return xi + R


def relu(z):
    return np.maximum(z, 0.0)


def seed003_loss(z0, W1, W2, W3, g):
    z1 = W1 @ z0
    z2 = W2 @ relu(z1)
    z3 = W3 @ relu(z2)
    return 0.5 * np.sum((z3 - g) ** 2)
