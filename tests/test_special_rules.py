"""scipy.special's expit, logit, log1p, erf, gammaln, digamma, xlogy, xlog1py and logsumexp, and
NumPy's log1p and expm1, in every entry point (skipped where SciPy is not installed).

Against central differences (see ``rule_oracles`` for the tolerances) at points inside each
function's domain and away from its poles (logit and xlogy's ``y`` in (0.2, 0.8) and [0.5, 2],
gammaln and digamma at [0.5, 3.5]); and against the analytic derivatives, which are
one line each, where they use a function the rule does not (polygamma for digamma', the logistic
function written with exp for expit').
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2sad
from rule_oracles import check_everywhere, check_jacobian

special = pytest.importorskip("scipy.special")

X = np.array([0.21, 0.48, 0.77])  # in (0, 1), for logit
P = np.array([0.5, 1.3, 2.0, 3.5])  # positive, for logs, gammaln and digamma


def logistic(x):
    return np.sum(special.expit(3 * x - 1) * special.logit(x))


def logs(x, y):
    return np.sum(special.xlogy(x, y) + special.xlog1py(y, x) + special.log1p(x * y))


def gammas(x):
    return np.sum(special.gammaln(x) * x + special.digamma(x) ** 2)


def errors(x):
    return np.sum(special.erf(x) * np.log1p(x) + np.expm1(-x) * x)


def normaliser(m):
    return np.sum(special.logsumexp(m, axis=1) ** 2) + special.logsumexp(m) * m[0, 1]


def normaliser_kept(m):
    return np.sum(special.logsumexp(m, axis=0, keepdims=True) * m)


def numbers(x, y):  # scipy.special of plain floats
    return special.expit(x) * special.gammaln(y) + special.xlogy(x, y) + special.erf(x * y)


@pytest.mark.parametrize(
    "fn, args",
    [
        (logistic, (X,)),
        (logs, (X + 0.3, P[:3])),
        (gammas, (P,)),
        (errors, (P - 0.4,)),
        (normaliser, (np.arange(12.0).reshape(3, 4) / 5 - 1,)),
        (normaliser_kept, (np.cos(np.arange(6.0)).reshape(2, 3),)),
        (numbers, (0.4, 1.7)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_against_central_differences_in_every_entry_point(fn, args, tmp_path):
    check_everywhere(fn, *args, tmp_path=tmp_path)


def test_against_the_analytic_derivatives():
    exact = dict(rtol=1e-12, atol=1e-12)
    got = s2sad.grad(lambda x: np.sum(special.expit(x)))(P)
    np.testing.assert_allclose(got, np.exp(-P) / (1 + np.exp(-P)) ** 2, **exact)
    got = s2sad.grad(lambda x: np.sum(special.digamma(x)))(P)
    np.testing.assert_allclose(got, special.polygamma(1, P), **exact)
    third = s2sad.hessian(lambda x: special.digamma(x))(1.5)  # digamma'' = polygamma(2, x)
    np.testing.assert_allclose(third, special.polygamma(2, 1.5), **exact)
    m = np.arange(6.0).reshape(2, 3)
    got = s2sad.grad(lambda m: special.logsumexp(m))(m)
    np.testing.assert_allclose(got, np.exp(m) / np.sum(np.exp(m)), **exact)


def softmax_rows(m):
    return np.exp(m - special.logsumexp(m, axis=1, keepdims=True))


def test_jacobian_of_a_softmax_in_both_modes():
    check_jacobian(softmax_rows, np.sin(np.arange(6.0)).reshape(2, 3))


def weighted(m, w):
    return special.logsumexp(m, b=w)


def test_logsumexp_weights_are_refused_where_the_call_is():
    with pytest.raises(s2sad.S2SADError, match="b=") as info:
        s2sad.grad(weighted)(np.ones(3), np.ones(3))
    assert "special.logsumexp(m, b=w)" in str(info.value)


def test_printed_code_calls_special_by_its_module():
    source = s2sad.adjoint_source(gammas)
    assert "special.digamma(" in source and "special.zeta(2," in source
