"""Custom derivative rules: a numerically stable logsumexp, and a root found by bisection.

``s2sad samples/custom_rules.py:softmax_loss --reverse`` shows the gradient calling the adjoint rule.
"""

import math

import numpy as np

import s2sad


@s2sad.custom_rule
def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


@logsumexp.tangent
def logsumexp_tangent(x, out, x_dot):
    return np.sum(np.exp(x - out) * x_dot)


@logsumexp.adjoint
def logsumexp_adjoint(x, out, out_bar):
    return (np.exp(x - out) * out_bar,)


def softmax_loss(scores, label):
    return logsumexp(scores) - scores[label]


@s2sad.custom_rule
def kepler(m, e):
    """The eccentric anomaly E of an orbit, E - e sin(E) = m, by bisection."""
    low, high = m - 1.0, m + 1.0
    for _ in range(64):
        middle = 0.5 * (low + high)
        if middle - e * math.sin(middle) < m:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


# E - e sin(E) = m: dE (1 - e cos E) = dm + sin(E) de (the implicit function theorem).
@kepler.tangent
def kepler_tangent(m, e, out, m_dot, e_dot):
    return (m_dot + math.sin(out) * e_dot) / (1 - e * math.cos(out))


@kepler.adjoint
def kepler_adjoint(m, e, out, out_bar):
    g = out_bar / (1 - e * math.cos(out))
    return g, g * math.sin(out)


def radius(m, e):
    """Distance from the focus, in units of the semi-major axis."""
    return 1 - e * math.cos(kepler(m, e))
