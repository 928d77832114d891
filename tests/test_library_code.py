"""Library-style code (samples/library_code.py), differentiated unchanged, through every entry point.

Each function is checked against central differences of the function itself, an oracle that shares
nothing with s2sad, and every entry point against it: ``value_and_grad`` returns ``f``'s value, ``grad``
and ``vjp``'s pullback give the central-difference gradient, ``jvp`` along a random direction its
directional derivative, ``jacobian`` in both modes the gradient, ``hessian`` second central
differences and is symmetric, and the exported module (run without s2sad) the same gradient.

Tolerances. First differences with step ``h = 1e-6`` scaled by ``1 + |x|`` have a truncation error of
about ``h² |f'''| / 6`` and a rounding error of about ``ε |f| / h`` (``ε = 2.2e-16``): for these
functions, with values under 10⁴, both stay below ``1e-5`` relative to ``1 + |f'|``; ``rtol = 1e-6``
with ``atol = 1e-5`` leaves room for that. Second differences of ``f`` (step ``1e-4``) err by about
``ε |f| / h² ≈ 2e-8 |f|`` from rounding and ``h² |f''''| / 12`` from truncation, hence ``1e-4`` relative
to the Hessian's scale.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

import s2sad

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "samples"))

import library_code as lib  # noqa: E402

RNG = np.random.default_rng(20261207)
X = RNG.normal(size=(6, 2))
LABELS = (RNG.random(6) > 0.5).astype(float)
TARGETS = RNG.normal(size=6)

# (function, arguments, wrt); every case is twice differentiable at its point.
CASES = {
    "rosenbrock": (lib.rosenbrock, ([0.5, 1.2, -0.3],), 0),
    "rastrigin": (lib.rastrigin, ([0.5, 1.2, -0.3],), 0),
    "ackley": (lib.ackley, ([0.5, 1.2, -0.3],), 0),
    "schaffer": (lib.schaffer, ([0.5, 1.2, -0.3],), 0),
    "weighted_sphere": (lib.weighted_sphere, ([0.5, 1.2, -0.3],), 0),
    "rosen": (lib.rosen, (np.array([0.5, 1.2, -0.3, 0.8]),), 0),
    "booth": (lib.booth, ((1.0, 2.0),), 0),
    "lorenz_speed": (lib.lorenz_speed, (np.array([1.0, 2.0, 3.0]),), 0),
    "lotka_volterra_growth": (lib.lotka_volterra_growth, ([1.0, 2.0],), 0),
    "euler_endpoint": (lib.euler_endpoint, (np.array([1.0, 0.5]),), 0),
    "normal_logpdf": (lib.normal_logpdf, (0.3, 0.1, 2.0), (0, 1, 2)),
    "gaussian_nll": (lib.gaussian_nll, (RNG.normal(size=5), 0.2, 0.1), (1, 2)),
    "log_sum_exp": (lib.log_sum_exp, (RNG.normal(size=(3, 4)),), 0),
    "softmax_cross_entropy": (
        lib.softmax_cross_entropy,
        (RNG.normal(size=(3, 4)), np.eye(4)[[0, 2, 1]]),
        0,
    ),
    "logistic_loss": (lib.logistic_loss, (RNG.normal(size=3), X, LABELS), 0),
    "huber": (lib.huber, (np.array([0.3, -2.5, 1.7, -0.4, 3.1]),), 0),
    "ridge": (lib.ridge, (RNG.normal(size=2), X, TARGETS), 0),
    "polynomial": (lib.polynomial, ([1.0, -2.0, 0.5], 1.3), (0, 1)),
    "quadratic": (
        lib.Quadratic(np.array([[2.0, 0.3], [0.3, 1.0]]), np.array([1.0, -1.0])),
        (np.array([0.2, 0.7]),),
        0,
    ),
}


def _flat(value) -> np.ndarray:
    """The numbers of a number, a list or tuple of numbers, or an array, as one float vector."""
    return np.asarray(value, dtype=float).ravel()


def _like(vector, value):
    """``vector`` put back in the form of ``value``."""
    if isinstance(value, np.ndarray):
        return vector.reshape(value.shape)
    if isinstance(value, (list, tuple)):
        return type(value)(float(v) for v in vector)
    return float(vector[0])


def _positions(wrt):
    return wrt if isinstance(wrt, tuple) else (wrt,)


def _at(args, position, vector):
    args = list(args)
    args[position] = _like(vector, args[position])
    return args


def _central_gradient(f, args, position, h=1e-6):
    x = _flat(args[position])
    out = np.empty_like(x)
    for i in range(x.size):
        step = h * (1 + abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        out[i] = (f(*_at(args, position, up)) - f(*_at(args, position, down))) / (2 * step)
    return out


def _central_hessian(f, args, position, h=1e-4):
    x = _flat(args[position])
    n = x.size
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            total = 0.0
            for si, sj, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                y = x.copy()
                y[i] += si * h
                y[j] += sj * h
                total += sign * f(*_at(args, position, y))
            H[i, j] = total / (4 * h * h)
    return H


def _gradients(result, wrt):
    """Each gradient of ``result`` (one per position of ``wrt``) as a flat vector."""
    parts = result if isinstance(wrt, tuple) else (result,)
    return [_flat(p) for p in parts]


def _close(actual, expected, rtol=1e-6, atol=1e-5):
    scale = 1 + np.max(np.abs(expected))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale)


@pytest.fixture(params=sorted(CASES), scope="module")
def case(request):
    f, args, wrt = CASES[request.param]
    expected = [_central_gradient(f, args, p) for p in _positions(wrt)]
    return f, args, wrt, expected


def test_value_and_grad(case):
    f, args, wrt, expected = case
    value, gradient = s2sad.value_and_grad(f, wrt=wrt)(*args)
    assert value == f(*args)
    for got, want in zip(_gradients(gradient, wrt), expected):
        _close(got, want)


def test_gradient_keeps_the_argument_form(case):
    f, args, wrt, _ = case
    gradient = s2sad.grad(f, wrt=wrt)(*args)
    for position, part in zip(_positions(wrt), gradient if isinstance(wrt, tuple) else (gradient,)):
        given = args[position]
        if isinstance(given, np.ndarray):
            assert isinstance(part, np.ndarray) and part.shape == given.shape
        elif isinstance(given, (list, tuple)):
            assert type(part) is type(given) and len(part) == len(given)
        else:
            assert isinstance(part, float)


def test_jvp_and_vjp(case):
    f, args, wrt, expected = case
    directions = [RNG.normal(size=_flat(args[p]).size) for p in _positions(wrt)]
    tangents = []
    for position, value in enumerate(args):
        if position in _positions(wrt):
            tangents.append(_like(directions[_positions(wrt).index(position)], value))
        else:
            tangents.append(_like(np.zeros(_flat(value).size), value))
    value, derivative = s2sad.jvp(f, tuple(args), tuple(tangents))
    assert value == f(*args)
    _close(derivative, sum(d @ e for d, e in zip(directions, expected)))
    value, pullback = s2sad.vjp(f, *args)
    assert value == f(*args)
    cotangents = pullback(1.0)
    for position, want in zip(_positions(wrt), expected):
        _close(_flat(cotangents[position]), want)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian(case, mode):
    f, args, wrt, expected = case
    J = s2sad.jacobian(f, wrt=wrt, mode=mode)(*args)
    if isinstance(wrt, tuple) and all(np.ndim(args[p]) == 0 for p in wrt):
        _close(_flat(J), np.concatenate(expected))
    else:
        for got, want in zip(_gradients(J, wrt), expected):
            _close(got, want)


def test_hessian(case):
    f, args, wrt, _ = case
    position = _positions(wrt)[0]
    H = s2sad.hessian(f, wrt=position)(*args)
    n = _flat(args[position]).size
    H = np.asarray(H, dtype=float).reshape(n, n)
    want = _central_hessian(f, args, position)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(H, want, rtol=1e-4, atol=1e-4 * (1 + np.max(np.abs(want))))


def test_exported_gradient(case, tmp_path):
    f, args, wrt, expected = case
    if not hasattr(f, "__code__"):
        pytest.skip("export writes module functions; a callable object is differentiated in place")
    names = f.__code__.co_varnames
    source = s2sad.export_source(f, wrt=tuple(names[p] for p in _positions(wrt)), args=args)
    path = tmp_path / f"{f.__name__}_exported.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # An exported function takes a list or tuple parameter as its leaves (``p_0, p_1``), those of a
    # defaulted one too, and returns one derivative per leaf, in order; a parameter left to a None
    # default is a constant of the code (`axis=None`), not one of its parameters.
    bound = inspect.signature(f).bind(*args)
    bound.apply_defaults()
    given = [bound.arguments[n] for n in inspect.signature(f).parameters]
    given = [v for v in given if v is not None]
    leaves = [v for a in given for v in (a if isinstance(a, (list, tuple)) else (a,))]
    gradient = getattr(module, f"{f.__name__}_grad")(*leaves)
    parts = gradient if isinstance(gradient, tuple) else (gradient,)
    _close(np.concatenate([_flat(p) for p in parts]), np.concatenate(expected))
