"""A logistic-regression loss as scikit-learn style code writes it: the intercept's column joined to
the features with ``np.hstack``, sample weights averaged with ``np.average``, an L2 penalty.
``python samples/weighted_logistic.py`` prints the gradient s2sad derives beside the closed form.

With ``A = [1 | X]`` (n × (d + 1)), ``z = A w``, ``p = σ(z)``, sample weights ``c`` summing to ``C``::

    L(w) = Σ c (log(1 + exp(z)) − y z) / C + ½ λ |w|²,
    ∇L = Aᵀ (c (p − y)) / C + λ w,   H = Aᵀ diag(c p (1 − p) / C) A + λ I.
"""

import numpy as np

import s2sad

PENALTY = 0.1


def loss(w, X, y, c):
    A = np.hstack([np.ones((X.shape[0], 1)), X])
    z = A @ w
    return np.average(np.log1p(np.exp(z)) - y * z, weights=c) + 0.5 * PENALTY * (w @ w)


def closed_gradient(w, X, y, c):
    A = np.hstack([np.ones((X.shape[0], 1)), X])
    p = 1 / (1 + np.exp(-(A @ w)))
    return A.T @ (c * (p - y)) / np.sum(c) + PENALTY * w


def closed_hessian(w, X, y, c):
    A = np.hstack([np.ones((X.shape[0], 1)), X])
    p = 1 / (1 + np.exp(-(A @ w)))
    return A.T @ (A * (c * p * (1 - p) / np.sum(c))[:, None]) + PENALTY * np.eye(len(w))


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X, y, c = rng.normal(size=(8, 2)), rng.integers(0, 2, 8), rng.uniform(0.5, 2.0, 8)
    w = rng.normal(size=3)
    print("s2sad:      ", s2sad.grad(loss)(w, X, y, c))
    print("closed form:", closed_gradient(w, X, y, c))
