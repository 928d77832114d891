"""Negative log-likelihoods whose Hessians have closed forms, to check s2sad's second derivatives and
to fit models by Newton's method. ``python samples/likelihood.py`` fits a logistic regression.

Logistic regression: labels ``y ∈ {0, 1}``, features ``X`` (n × d), weights ``w``, ``z = X w``::

    L(w) = Σ log(1 + exp(z)) − yᵀz,   ∇L = Xᵀ(p − y),   H = Xᵀ diag(p (1 − p)) X,   p = σ(z).

A Gaussian with mean ``mu`` and standard deviation ``exp(s)`` (``s = log σ``, so no constraint), for
``n`` data ``x`` with residuals ``r = x − mu``::

    L(mu, s) = ½ Σ r² e^(−2s) + n s,
    ∂²L/∂mu² = n e^(−2s),   ∂²L/∂mu∂s = 2 Σ r e^(−2s),   ∂²L/∂s² = 2 Σ r² e^(−2s).
"""

import numpy as np

import s2sad


def logistic_nll(w, X, y):
    z = X @ w
    return np.sum(np.log1p(np.exp(z)) - y * z)


def logistic_hessian(w, X, y):
    """The closed form: Xᵀ diag(p (1 − p)) X."""
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (X * (p * (1 - p))[:, None])


def gaussian_nll(mu, s, x):
    r = x - mu
    return 0.5 * np.sum(r * r) * np.exp(-2 * s) + len(x) * s


def gaussian_hessian(mu, s, x):
    """The closed form, as the 2 × 2 matrix of (mu, s)."""
    r, scale = x - mu, np.exp(-2 * s)
    cross = 2 * np.sum(r) * scale
    return np.array([[len(x) * scale, cross], [cross, 2 * np.sum(r * r) * scale]])


def newton_fit(X, y, steps=8):
    """Logistic regression by Newton's method, w ← w − H⁻¹∇L, with s2sad's gradient and Hessian."""
    gradient, hessian = s2sad.grad(logistic_nll), s2sad.hessian(logistic_nll)
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        w = w - np.linalg.solve(hessian(w, X, y), gradient(w, X, y))
    return w


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
    y = (rng.random(200) < 1 / (1 + np.exp(-(X @ np.array([-0.5, 2.0, -1.0]))))).astype(float)
    w = newton_fit(X, y)
    print("fitted weights:", np.round(w, 3))
    H = s2sad.hessian(logistic_nll)(w, X, y)
    print("s2sad's Hessian equals the closed form:", np.allclose(H, logistic_hessian(w, X, y)))
