"""Gaussian log-densities as statistics code writes them, with np.linalg, differentiated as they are.

``mvn_logpdf`` is the log-density of a multivariate normal in the way ``scipy.stats`` spells it out
(``slogdet`` for the normaliser, ``solve`` for the Mahalanobis distance); ``gp_nll`` is the negative
log marginal likelihood of a Gaussian process with a squared-exponential kernel, through the
Cholesky factor, whose gradient in the kernel's log length scale and log noise is what a
hyperparameter fit follows. Run ``python samples/gaussians.py`` to see both gradients beside central
differences; ``tests/test_linalg_rules.py`` checks them in every entry point.
"""

import math

import numpy as np


def mvn_logpdf(x, mean, cov):
    deviation = x - mean
    sign, logdet = np.linalg.slogdet(cov)
    mahalanobis = deviation @ np.linalg.solve(cov, deviation)
    return -0.5 * (len(x) * math.log(2 * math.pi) + logdet + mahalanobis)


def gp_nll(log_length, log_noise, x, y):
    gaps = x[:, None] - x[None, :]
    kernel = np.exp(-0.5 * gaps**2 / np.exp(2 * log_length))
    kernel = kernel + np.exp(2 * log_noise) * np.eye(len(x))
    low = np.linalg.cholesky(kernel)
    alpha = np.linalg.solve(low.T, np.linalg.solve(low, y))
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(low))) + 0.5 * len(x) * math.log(2 * math.pi)


def main():
    import s2sad

    x = np.linspace(0.0, 3.0, 6)
    y = np.sin(x)
    gradient = s2sad.grad(gp_nll, wrt=(0, 1))(0.2, -1.0, x, y)
    step = 1e-6
    differences = (
        (gp_nll(0.2 + step, -1.0, x, y) - gp_nll(0.2 - step, -1.0, x, y)) / (2 * step),
        (gp_nll(0.2, -1.0 + step, x, y) - gp_nll(0.2, -1.0 - step, x, y)) / (2 * step),
    )
    print("gp_nll gradient (log length, log noise):", gradient)
    print("central differences:                    ", differences)
    cov = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 1.5]])
    point, mean = np.array([0.5, -1.0, 0.2]), np.zeros(3)
    print("mvn_logpdf gradient in x:", s2sad.grad(mvn_logpdf)(point, mean, cov))
    print("analytic, -cov⁻¹ (x - mean):", -np.linalg.solve(cov, point - mean))


if __name__ == "__main__":
    main()
