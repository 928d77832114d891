"""The derivative rule of ``np.interp(x, xp, fp)``, piecewise linear in ``x`` and linear in ``fp``.

Its tangent is ``slope · ẋ + np.interp(x, xp, ḟp)`` (the slope of the segment ``x`` falls in, see
:mod:`s2sad.runtime_interp`), and the adjoints are ``slope · w̄`` for ``x`` and, for ``fp``, each
point's adjoint shared between the two values it interpolates. The knots ``xp`` are the places of
the kinks; a derivative with respect to them is refused.

>>> from s2sad.array_rules import STRUCTURAL
>>> from s2sad.ir import Var
>>> from s2sad.shapes import Kinds
>>> rule = STRUCTURAL["np.interp"](Var("x"), Var("xp"), Var("fp"), out=Var("w"), params={}, kinds=Kinds())
>>> rule.adjoints[0](Var("g"))
g * interp_slope(x, xp, fp)
"""

from __future__ import annotations

from .array_rules import RUNTIME, STRUCTURAL, Linear, np_call, runtime_call
from .errors import NotDifferentiableError
from .second_order_rules import multilinear
from .vector_mode import VECTOR_RULES, NotVectorizableError


def _knots_refused(g=None):
    raise NotDifferentiableError(
        "np.interp is not differentiated with respect to its knots xp",
        hint="make xp a constant of the function (or wrap it in s2sad.stop_gradient)",
    )


def _interp(x, xp, fp, out, params, kinds):
    slope = runtime_call("interp_slope", x, xp, fp)

    def tangent(dots):
        dx, dxp, dfp = dots
        if dxp is not None:
            _knots_refused()
        terms = [slope * dx] if dx is not None else []
        if dfp is not None:
            terms.append(np_call("interp", x, xp, dfp))
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    return Linear(
        tangent,
        (
            lambda g: g * slope,
            _knots_refused,
            lambda g: runtime_call("interp_fp_adjoint", g, x, xp, fp),
        ),
    )


def _interp_batched(x, xp, fp, out, params, kinds):
    def tangent(dots):
        dx, dxp, dfp = dots
        if dxp is not None:
            _knots_refused()
        if dfp is not None:  # np.interp takes one fp: one sweep per direction instead
            raise NotVectorizableError("np.interp along several directions of fp")
        return runtime_call("interp_slope", x, xp, fp) * dx

    return tangent


STRUCTURAL["np.interp"], VECTOR_RULES["np.interp"] = _interp, _interp_batched
multilinear(RUNTIME["interp_slope"], lambda args: (2,))  # piecewise constant in x, linear in fp
multilinear(RUNTIME["interp_fp_adjoint"], lambda args: (0,))  # the weights: constant
