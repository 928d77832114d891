"""Helpers of the rules of :mod:`s2sad.linalg_rules`, copied into exported modules: the two
results of ``np.linalg.slogdet``, each as a function of its own (a trace binds one value per step,
and only the logarithm has a derivative), and ``x + xᵀ``, which the rule of ``cholesky`` forms of
a value it computes once.

>>> import numpy as np
>>> float(slogdet_sign(np.array([[0.0, 2.0], [1.0, 0.0]]))), float(log_abs_det(2 * np.eye(2)))
(-1.0, 1.3862943611198906)
"""

from __future__ import annotations

import numpy as np


def slogdet_sign(a):
    """The sign of ``det(a)`` (0 where ``a`` is singular): ``np.linalg.slogdet(a)[0]``."""
    return np.linalg.slogdet(a)[0]


def log_abs_det(a):
    """``log |det(a)|`` without over- or underflow: ``np.linalg.slogdet(a)[1]``."""
    return np.linalg.slogdet(a)[1]


def plus_transpose(x):
    """``x + xᵀ``, transposing the last two axes (of a matrix, or of one per direction)."""
    return x + np.swapaxes(x, -1, -2)


HELPERS = (slogdet_sign, log_abs_det, plus_transpose)
