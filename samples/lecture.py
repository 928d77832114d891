"""Every worked function of the lecture notes (seeds 000-004), as plain Python.

Run ``s2sad samples/lecture.py`` to print the trace, tangent and adjoint of each, or name one:
``s2sad samples/lecture.py:seed000_y``. Each docstring gives the point the notes evaluate it at and
the numbers they find there; ``tests/test_lecture.py`` checks every one.
"""

import math


def seed000_graph(a, b):
    """Seed 000 and 002: e = (a + b) * (b + 1). At a=2, b=1: de/db = 1*2 + 1*3 = 5."""
    c = a + b
    d = b + 1
    e = c * d
    return e


def seed000_y(x1, x2):
    """Seeds 000 and 004: y = x1 * x2 + sin(x1). At (2, 5): dy/dx1 = 5 + cos(2), dy/dx2 = 2."""
    return x1 * x2 + math.sin(x1)


def seed000_simpler(a, b):
    """Seed 000, "simpler": d = a * (a + b). At a=4, b=3: c = 7, d = 28, dd/da = 11, dd/db = 4."""
    c = a + b
    d = a * c
    return d


def seed001_y1(x1, x2):
    """Seed 001, first row: y1 = exp(2 x2) + x1 sin(3 x2**2). At (2, 1): exp(2) + 2 sin(3);
    gradient (sin(3), 2 exp(2) + 12 cos(3))."""
    v0 = x1
    v1 = x2
    v2 = 2 * v1
    v3 = math.exp(v2)
    v4 = v1**2
    v5 = 3 * v4
    v6 = math.sin(v5)
    v7 = v0 * v6
    v8 = v3 + v7
    return v8


def seed001_y2(x1, x2):
    """Seed 001, second row: y2 = x1 x2 + 1 / (1 + exp(-x2)). At (2, 1): 2 + 1 / (1 + exp(-1));
    gradient (1, 2 + exp(-1) / (1 + exp(-1))**2)."""
    v0 = x1
    v1 = x2
    v2 = v0 * v1
    v3 = -v1
    v4 = math.exp(v3)
    v5 = 1 + v4
    v6 = 1 / v5
    v7 = v2 + v6
    return v7


def seed001_f(x1, x2):
    """Seed 001: both rows at once, f: R^2 -> R^2. Its Jacobian at (2, 1) is
    [[sin(3), 2 exp(2) + 12 cos(3)], [1, 2 + exp(-1) / (1 + exp(-1))**2]]."""
    y1 = math.exp(2 * x2) + x1 * math.sin(3 * x2**2)
    y2 = x1 * x2 + 1 / (1 + math.exp(-x2))
    return y1, y2


def seed002_f1(u1, u2):
    """Seed 002: f1 = exp(t3) + sigmoid(t3) with t3 = exp(u1) + exp(2 u2). At (1, -1): f1 = 18.296,
    t3_bar = 17.4, df1/du1 = 17.4 e = 47.3, df1/du2 = 17.4 * 2 exp(-2) = 4.71."""
    t1 = math.exp(u1)
    t2 = math.exp(2 * u2)
    t3 = t1 + t2
    t4 = math.exp(t3)
    t5 = 1 / (1 + math.exp(-t3))
    return t4 + t5


def seed002_f2(u1, u2):
    """Seed 002: f2 = u1 u2 + max(u1, u2). Max routes the adjoint to the larger input."""
    return u1 * u2 + max(u1, u2)


def seed003_f(x1, x2):
    """Seed 003 (slides 25 and 29): f = x2 log(x1) + sqrt(x2 log(x1)), in both modes.
    df/dx1 = (x2 / x1) (1 + 1 / (2 sqrt(x2 log x1))), df/dx2 = log(x1) (1 + 1 / (2 sqrt(x2 log x1))).
    """
    x3 = math.log(x1)
    x4 = x2 * x3
    x5 = math.sqrt(x4)
    x6 = x4 + x5
    return x6
