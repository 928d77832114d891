"""Run-time helpers of the rule of ``np.interp`` (see :mod:`s2sad.interp_rules`).

``np.interp(x, xp, fp)`` is linear on each segment ``[xp[i], xp[i + 1]]``: there its slope in ``x``
is ``(fp[i + 1] - fp[i]) / (xp[i + 1] - xp[i])``, and its value the weights ``1 - t`` and ``t`` of
``fp[i]`` and ``fp[i + 1]``, ``t = (x - xp[i]) / (xp[i + 1] - xp[i])``. Outside ``[xp[0], xp[-1]]``
it is the end value: slope 0, all the weight on the end. At a knot the segment to its right counts
(the last knot takes the last segment's). They use NumPy alone, for exported modules.

>>> import numpy as np
>>> xp, fp = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 3.0])
>>> interp_slope(np.array([0.5, 2.0, 5.0]), xp, fp).tolist()
[2.0, 0.5, 0.0]
>>> interp_fp_adjoint(np.array([1.0, 1.0]), np.array([0.5, 2.0]), xp, fp).tolist()
[0.5, 1.0, 0.5]
"""

from __future__ import annotations

import numpy as np


def _segments(x, xp):
    """The segment each ``x`` falls in, and its position ``t`` along it, clipped to [0, 1]."""
    xp = np.asarray(xp, dtype=float)
    i = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, len(xp) - 2)
    t = np.clip((np.asarray(x) - xp[i]) / (xp[i + 1] - xp[i]), 0.0, 1.0)
    return i, t


def interp_slope(x, xp, fp):
    """The derivative of ``np.interp(x, xp, fp)`` in ``x``."""
    xp, fp = np.asarray(xp, dtype=float), np.asarray(fp)
    i, _ = _segments(x, xp)
    slope = (fp[i + 1] - fp[i]) / (xp[i + 1] - xp[i])
    return np.where((np.asarray(x) < xp[0]) | (np.asarray(x) > xp[-1]), 0.0, slope)


def interp_fp_adjoint(g, x, xp, fp):
    """The adjoint of ``fp`` from that of ``np.interp(x, xp, fp)``: each point's adjoint shared
    between the two values it interpolates, by their weights."""
    i, t = _segments(x, xp)
    g = np.broadcast_to(g, np.shape(t))
    adjoint = np.zeros(np.shape(fp), dtype=np.result_type(g, 1.0))
    np.add.at(adjoint, i, (1.0 - t) * g)
    np.add.at(adjoint, i + 1, t * g)
    return adjoint


HELPERS = (_segments, interp_slope, interp_fp_adjoint)
