"""Numeric Python written the way libraries write it, differentiated as it is.

Each function below is in the style of a well-known library: benchmarks of evolutionary algorithms
(an individual is a list of floats), optimisation test problems with input validation, ODE
right-hand sides with default parameters, log-likelihoods, and losses of linear models. s2sad
differentiates them unchanged. Run ``python samples/library_code.py`` to see a few gradients beside
their central differences; ``tests/test_library_code.py`` checks every one in every entry point.
"""

import math
from functools import reduce

import numpy as np

# --- evolutionary-algorithm benchmarks: an individual is a list of floats -----------------------


def rosenbrock(individual):
    """Rosenbrock's valley, pairwise over consecutive genes."""
    return sum(
        100 * (x * x - y) ** 2 + (1.0 - x) ** 2 for x, y in zip(individual[:-1], individual[1:])
    )


def rastrigin(individual):
    return 10 * len(individual) + sum(
        gene * gene - 10 * math.cos(2 * math.pi * gene) for gene in individual
    )


def ackley(individual):
    n = len(individual)
    s1 = sum(x**2 for x in individual) / n
    s2 = sum(math.cos(2 * math.pi * x) for x in individual) / n
    return 20 - 20 * math.exp(-0.2 * math.sqrt(s1)) + math.e - math.exp(s2)


def schaffer(individual):
    total = 0.0
    for i in range(len(individual) - 1):
        s = individual[i] ** 2 + individual[i + 1] ** 2
        total += s**0.25 * (math.sin(50 * s**0.1) ** 2 + 1.0)
    return total


def weighted_sphere(individual, weights=(1.0, 2.0, 3.0)):
    return sum(w * x * x for w, x in zip(weights, individual))


# --- an optimisation test problem in the style of scipy.optimize -------------------------------


def rosen(x):
    """The Rosenbrock function, vectorised."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError("x must be one-dimensional")
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2.0) ** 2.0 + (1 - x[:-1]) ** 2.0)


def booth(p):
    x, y = p
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


# --- ODE right-hand sides ----------------------------------------------------------------------


def lorenz(t, state, sigma=10.0, beta=8.0 / 3.0, rho=28.0):
    x, y, z = state
    return np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def lotka_volterra(t, z, params):
    a, b, c, d = params
    prey, predator = z
    return [a * prey - b * prey * predator, -c * predator + d * prey * predator]


def lorenz_speed(state):
    """The squared speed of the Lorenz flow at ``state``."""
    velocity = lorenz(0.0, state)
    return velocity @ velocity


def lotka_volterra_growth(z, params=(1.0, 0.5, 0.3, 0.2)):
    """The total growth rate of both populations."""
    return sum(lotka_volterra(0.0, z, params))


def van_der_pol(t, y, mu=1.5):
    return np.array([y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]])


def euler_endpoint(y0, mu=1.5, steps=20, h=0.05):
    """The state after `steps` explicit Euler steps of the van der Pol oscillator."""
    y = y0
    for k in range(steps):
        y = y + h * van_der_pol(k * h, y, mu)
    return np.sum(y**2)


# --- statistics --------------------------------------------------------------------------------


def normal_logpdf(x, loc=0.0, scale=1.0):
    if scale <= 0:
        raise ValueError("scale must be positive")
    z = (x - loc) / scale
    return -0.5 * z * z - math.log(scale) - 0.5 * math.log(2 * math.pi)


def gaussian_nll(x, mu, log_sigma):
    """Negative log-likelihood of samples `x` (an array) under N(mu, exp(log_sigma)²)."""
    assert x.ndim == 1, "one sample per entry"
    sigma = np.exp(log_sigma)
    n = x.shape[0]
    return n * log_sigma + 0.5 * np.sum(((x - mu) / sigma) ** 2) + 0.5 * n * np.log(2 * np.pi)


def log_sum_exp(a, axis=None):
    a_max = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - a_max), axis=axis, keepdims=True)) + a_max
    return np.sum(out)


def softmax_cross_entropy(logits, labels):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(np.sum(labels * log_probs, axis=1))


# --- losses in the style of scikit-learn -------------------------------------------------------


def logistic_loss(w, X, y, alpha=1e-2, fit_intercept=True):
    if fit_intercept:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * alpha * np.dot(w, w)


def huber(residual, delta=1.0):
    a = np.abs(residual)
    return np.sum(np.where(a <= delta, 0.5 * residual**2, delta * (a - 0.5 * delta)))


def ridge(w, X, y, alpha=1.0):
    r = X @ w - y
    return r @ r / (2 * X.shape[0]) + alpha * np.dot(w, w)


def polynomial(coefficients, x):
    """Horner's rule over a list of coefficients, highest degree first."""
    return reduce(lambda acc, c: acc * x + c, coefficients, 0.0)


class Quadratic:
    """A callable objective, as optimisers are given."""

    def __init__(self, A, b):
        self.A = A
        self.b = b

    def __call__(self, x):
        return 0.5 * x @ self.A @ x - self.b @ x


def main():
    import s2sad

    individual = [0.5, 1.2, -0.3]
    for f in (rosenbrock, rastrigin, ackley):
        g = s2sad.grad(f)(individual)
        h = 1e-6
        central = [
            (
                f(individual[:i] + [v + h] + individual[i + 1 :])
                - f(individual[:i] + [v - h] + individual[i + 1 :])
            )
            / (2 * h)
            for i, v in enumerate(individual)
        ]
        print(
            f"{f.__name__}: gradient {np.round(g, 6)}, central differences {np.round(central, 6)}"
        )


if __name__ == "__main__":
    main()
