"""Callables that are not plain functions: callable objects (``__call__``), methods of known
instances calling other methods on ``self``, ``functools.partial`` objects, and functions passed
as arguments, differentiated and called, in every entry point.

Oracles: derivatives worked out by hand (exact formulas evaluated in another order than the
generated code: 1e-12 relative) and central differences in float64 with step 1e-5 (error
O(h²·f''') ≈ 1e-10 plus rounding O(eps/h) ≈ 1e-11 for these functions of size ~1: 1e-7).
"""

from __future__ import annotations

import functools
import importlib.util
import math

import numpy as np
import pytest
from pytest import approx

import s2sad

TOL = dict(rel=1e-12, abs=1e-12)


def _flat(value) -> list:
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in _flat(v)]
    return [float(v) for v in np.ravel(value)]


def _same(got, want) -> None:
    assert _flat(got) == approx(_flat(want), **TOL)


def _central(fn, x: float, h: float = 1e-5) -> float:
    return (fn(x + h) - fn(x - h)) / (2 * h)


class Oscillator:
    """A right-hand side object: its parameters are attributes, read when the code runs."""

    def __init__(self, omega, damping):
        self.omega = omega
        self.damping = damping

    def spring(self, x):
        return -self.omega**2 * math.sin(x)

    def energy(self, x, v):
        return 0.5 * v * v - self.spring(x) * x

    def __call__(self, x, v=1.0):
        return self.energy(x, v) - self.damping * v * x


def test_callable_object_in_every_entry_point(tmp_path):
    model = Oscillator(1.5, 0.25)
    x, v = 0.7, 0.4
    w2 = 1.5**2
    # model(x, v) = v²/2 + w² x sin x - d v x
    dx = w2 * (math.sin(x) + x * math.cos(x)) - 0.25 * v
    dv = v - 0.25 * x
    dxx = w2 * (2 * math.cos(x) - x * math.sin(x))
    assert s2sad.grad(model)(x, v) == approx(dx, **TOL)
    _same(s2sad.grad(model, wrt=(0, 1))(x, v), (dx, dv))
    value, gradient = s2sad.value_and_grad(model)(x, v)
    assert value == approx(model(x, v), **TOL) and gradient == approx(dx, **TOL)
    _same(s2sad.jacobian(model, wrt=("x", "v"))(x, v), (dx, dv))
    _same(s2sad.hessian(model, wrt=("x", "v"))(x, v), ((dxx, -0.25), (-0.25, 1.0)))
    assert s2sad.jvp(model, (x, v), (1.0, 2.0))[1] == approx(dx + 2 * dv, **TOL)
    _same(s2sad.vjp(model, x, v)[1](1.0), (dx, dv))
    assert s2sad.grad(model)(x) == approx(_central(model, x), rel=1e-7)  # v's default
    assert s2sad.check_grad(model, x, v).ok


def test_callable_object_attributes_are_read_when_the_code_runs():
    model = Oscillator(1.5, 0.25)
    gradient = s2sad.grad(model, wrt=1)
    assert gradient(0.7, 0.4) == approx(0.4 - 0.25 * 0.7, **TOL)
    model.damping = 2.0
    assert gradient(0.7, 0.4) == approx(0.4 - 2.0 * 0.7, **TOL)


GLOBAL_MODEL = Oscillator(0.5, 0.1)


def calls_a_global_model(x):
    return GLOBAL_MODEL(x, 2.0) + GLOBAL_MODEL.spring(x)


def test_called_objects_and_their_methods_are_inlined():
    x = 0.3
    w2 = 0.25
    # v²/2 + w² x sin x - d v x - w² sin x, v = 2
    expected = w2 * (math.sin(x) + x * math.cos(x)) - 0.1 * 2.0 - w2 * math.cos(x)
    assert s2sad.grad(calls_a_global_model)(x) == approx(expected, **TOL)
    namespace = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}
    namespace.update(calls_a_global_model.__globals__)
    exec(s2sad.adjoint_source(calls_a_global_model), namespace)
    assert namespace["calls_a_global_model_grad"](x) == approx(expected, **TOL)


def power(x, y, n=2, scale=1.0):
    return scale * x**n * y


def test_partial_with_frozen_positional_and_keyword_arguments(tmp_path):
    f = functools.partial(power, 3.0, scale=2.0)  # f(y, n=2) = 2 * 9 * y
    assert s2sad.grad(f)(1.5) == approx(18.0, **TOL)
    cube = functools.partial(power, n=3, scale=0.5)  # 0.5 x³ y
    x, y = 1.2, 0.7
    _same(s2sad.grad(cube, wrt=(0, 1))(x, y), (1.5 * x * x * y, 0.5 * x**3))
    assert s2sad.grad(cube, wrt="scale")(x, y) == approx(x**3 * y, **TOL)
    assert s2sad.grad(cube)(x, y, scale=4.0) == approx(12 * x * x * y, **TOL)
    assert s2sad.hessian(cube)(x, y) == approx(3 * x * y, **TOL)
    assert s2sad.jvp(cube, (x, y), (1.0, 0.0))[1] == approx(1.5 * x * x * y, **TOL)
    _same(s2sad.vjp(cube, x, y)[1](1.0), (1.5 * x * x * y, 0.5 * x**3))
    assert s2sad.check_grad(cube, x, y).ok
    path = tmp_path / "cube_derivatives.py"
    path.write_text(s2sad.export_source(cube))
    spec = importlib.util.spec_from_file_location("cube_derivatives", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _same(module.power_grad(x, y, 3, 0.5)[:2], (1.5 * x * x * y, 0.5 * x**3))


def test_partial_called_inside_a_function():
    halve = functools.partial(power, n=1, scale=0.5)

    def f(x):
        return halve(x, x) + halve(2.0, x * x)

    # 0.5 x² + x²
    assert s2sad.grad(f)(1.3) == approx(3 * 1.3, **TOL)


def integrate(f, x):
    return f(x) + f(2 * x)


def test_function_passed_as_an_argument():
    x = 0.9
    gradient = s2sad.grad(integrate, wrt=1)
    assert gradient(math.sin, x) == approx(math.cos(x) + 2 * math.cos(2 * x), **TOL)
    assert gradient(np.exp, x) == approx(math.exp(x) + 2 * math.exp(2 * x), **TOL)
    assert gradient(lambda t: t**3, x) == approx(3 * x * x + 24 * x * x, **TOL)
    model = Oscillator(1.0, 0.0)
    assert gradient(model.spring, x) == approx(-math.cos(x) - 2 * math.cos(2 * x), **TOL)
    assert gradient(math.sin, x) == approx(math.cos(x) + 2 * math.cos(2 * x), **TOL)
    value, slope = s2sad.value_and_grad(integrate, wrt="x")(math.tanh, x)
    assert value == approx(integrate(math.tanh, x), **TOL)
    assert slope == approx(_central(lambda t: integrate(math.tanh, t), x), rel=1e-7)
    d2 = -math.sin(x) - 4 * math.sin(2 * x)
    assert s2sad.hessian(integrate, wrt=1)(math.sin, x) == approx(d2, **TOL)
    assert s2sad.jacobian(integrate, wrt=1)(math.cos, x) == approx(
        -math.sin(x) - 2 * math.sin(2 * x), **TOL
    )
    _, pullback = s2sad.vjp(functools.partial(integrate, math.sin), x)
    assert pullback(2.0) == approx((2 * (math.cos(x) + 2 * math.cos(2 * x)),), **TOL)


def test_no_derivative_with_respect_to_a_function():
    with pytest.raises(s2sad.ArgumentError, match="`f` is a function") as info:
        s2sad.grad(integrate)(math.sin, 1.0)
    assert "wrt" in info.value.hint


class Chain:
    """A bound method calling other methods on ``self``."""

    def __init__(self, a):
        self.a = a

    def inner(self, x):
        return self.a * x * x

    def outer(self, x, y):
        return self.inner(x) * y + math.sin(self.inner(y))

    @s2sad.grad
    def outer_grad(self, x, y):
        return self.inner(x) * y + math.sin(self.inner(y))


class Linear(Chain):
    def inner(self, x):  # overrides: its instances' derivatives run this one
        return self.a * x


def test_bound_method_calling_methods_on_self_in_every_entry_point(tmp_path):
    chain = Chain(1.5)
    x, y = 0.7, 0.4
    a = 1.5
    # outer = a x² y + sin(a y²)
    dx, dy = 2 * a * x * y, a * x * x + 2 * a * y * math.cos(a * y * y)
    dxx, dxy = 2 * a * y, 2 * a * x
    dyy = 2 * a * math.cos(a * y * y) - (2 * a * y) ** 2 * math.sin(a * y * y)
    _same(s2sad.grad(chain.outer, wrt=(0, 1))(x, y), (dx, dy))
    value, gradient = s2sad.value_and_grad(chain.outer)(x, y)
    assert value == approx(chain.outer(x, y), **TOL) and gradient == approx(dx, **TOL)
    _same(s2sad.jacobian(chain.outer, wrt=(0, 1))(x, y), (dx, dy))
    _same(s2sad.hessian(chain.outer, wrt=(0, 1))(x, y), ((dxx, dxy), (dxy, dyy)))
    assert s2sad.jvp(chain.outer, (x, y), (1.0, -1.0))[1] == approx(dx - dy, **TOL)
    _same(s2sad.vjp(chain.outer, x, y)[1](1.0), (dx, dy))
    assert s2sad.check_grad(chain.outer, x, y).ok
    assert chain.outer_grad(x, y) == approx(dx, **TOL)
    chain.a = 2.0  # read when the code runs
    assert s2sad.grad(chain.outer)(x, y) == approx(2 * 2.0 * x * y, **TOL)


def test_a_subclass_overriding_a_method_gets_its_own_derivative():
    x, y = 0.7, 0.4
    linear = Linear(1.5)
    # outer = a x y + sin(a y)
    assert s2sad.grad(linear.outer)(x, y) == approx(1.5 * y, **TOL)
    assert linear.outer_grad(x, y) == approx(1.5 * y, **TOL)
    assert Chain(1.5).outer_grad(x, y) == approx(2 * 1.5 * x * y, **TOL)


def passes_local_functions(x):
    k = 3.0

    def scaled(t, *, p=2):
        return k * t**p

    return integrate(lambda t: t * t * k, x) + integrate(scaled, x) + integrate(math.sin, x)


def test_local_functions_passed_to_an_inlined_function():
    x = 0.5
    # 2 * (3 t² at x and 2x) + sin: d/dx = 2 * 3 * (2x + 8x) + cos x + 2 cos 2x
    expected = 2 * 3.0 * (2 * x + 8 * x) + math.cos(x) + 2 * math.cos(2 * x)
    assert s2sad.grad(passes_local_functions)(x) == approx(expected, **TOL)
    assert s2sad.hessian(passes_local_functions)(x) == approx(
        2 * 3.0 * 10 - math.sin(x) - 4 * math.sin(2 * x), **TOL
    )


def test_command_line_takes_a_partial_and_a_callable_object(tmp_path, capsys):
    from s2sad.cli import main

    path = tmp_path / "objectives.py"
    path.write_text(
        "import functools, math\n"
        "def power(x, y, n=2):\n"
        "    return x**n * y\n"
        "cube = functools.partial(power, n=3)\n"
        "class Wave:\n"
        "    def __call__(self, x):\n"
        "        return 2.0 * math.sin(x)\n"
        "wave = Wave()\n"
    )
    assert main([f"{path}:cube", "--at", "x=2.0", "y=0.5", "--check"]) == 0
    assert "all components agree" in capsys.readouterr().out  # against central differences
    assert main([f"{path}:wave", "--at", "x=0.3", "--check"]) == 0
    assert "all components agree" in capsys.readouterr().out
    assert main([f"{path}:cube"]) == 0
    assert "def power_grad" in capsys.readouterr().out


def builds_partials(x):
    g = functools.partial(power, n=3)
    return (
        g(x, 2.0) + functools.partial(power, 2.0)(x) + integrate(functools.partial(power, y=x), x)
    )


def test_partials_built_in_the_function():
    x = 0.5
    # 2 x³ + 4 x + (x² x + (2x)² x) = 7 x³ + 4 x
    assert s2sad.grad(builds_partials)(x) == approx(21 * x * x + 4, **TOL)
    assert s2sad.hessian(builds_partials)(x) == approx(42 * x, **TOL)
    assert s2sad.vjp(builds_partials, x)[1](1.0) == approx((21 * x * x + 4,), **TOL)


# --- partials of NumPy and math functions -----------------------------------------------------------

column_sums = functools.partial(np.sum, axis=0)


def squared_column_sums(X):
    return np.sum(column_sums(X) ** 2)


def power_of_two(x):
    p = functools.partial(math.pow, 2.0)
    return p(x) * x


def test_a_partial_of_a_numpy_or_math_function_is_that_call():
    # Σ_j (Σ_i X_ij)²: ∂/∂X_ij = 2 Σ_i X_ij; d/dx 2^x x = 2^x (x ln 2 + 1)
    X = np.arange(6.0).reshape(2, 3)
    expected = np.broadcast_to(2 * X.sum(axis=0), X.shape)
    np.testing.assert_allclose(s2sad.grad(squared_column_sums)(X), expected, rtol=1e-15)
    np.testing.assert_allclose(s2sad.vjp(squared_column_sums, X)[1](1.0)[0], expected, rtol=1e-15)
    x = 0.7
    slope = 2.0**x * (x * math.log(2.0) + 1)
    assert s2sad.grad(power_of_two)(x) == pytest.approx(slope, rel=1e-14)
    assert s2sad.jvp(power_of_two, (x,), (1.0,))[1] == pytest.approx(slope, rel=1e-14)
    curvature = 2.0**x * math.log(2.0) * (x * math.log(2.0) + 2)
    assert s2sad.hessian(power_of_two)(x) == pytest.approx(curvature, rel=1e-13)
