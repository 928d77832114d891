"""Keyword-only parameters, ``*args`` and ``**kwargs``, in the function differentiated and in the
functions it calls, and calls that pass arguments by name or unpack ``*`` and ``**``.

Every derivative is compared with one worked out by hand (exact formulas evaluated in another order
than the generated code, so they agree to rounding: 1e-12 relative), in every entry point: grad,
value_and_grad, jacobian, hessian, jvp, vjp, check_grad, and the printed and exported source where
the function's parameters are numbers.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
from pytest import approx

import s2sad

TOL = dict(rel=1e-12, abs=1e-12)


def _flat(value) -> list:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flat(v)]
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in _flat(v)]
    return [float(v) for v in np.ravel(value)]  # jacobian stacks the numbers of several inputs


def _printed(fn) -> dict:
    """The printed gradient run where it may read math's functions by their own names and the
    function's module globals (see tests/test_printed_names.py)."""
    namespace = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}
    namespace.update(fn.__globals__)
    exec(s2sad.adjoint_source(fn), namespace)
    return namespace


def _same(got, want) -> None:
    assert _flat(got) == approx(_flat(want), **TOL)


# --- keyword-only parameters --------------------------------------------------------------------


def cubic(x, *, k=2.0):
    return k * x**3 + math.sin(k * x)


def cubic_grad(x, k=2.0):  # (d/dx, d/dk)
    return 3 * k * x**2 + k * math.cos(k * x), x**3 + x * math.cos(k * x)


def cubic_hessian(x, k=2.0):
    xx = 6 * k * x - k * k * math.sin(k * x)
    xk = 3 * x**2 + math.cos(k * x) - k * x * math.sin(k * x)
    kk = -x * x * math.sin(k * x)
    return ((xx, xk), (xk, kk))


@pytest.mark.parametrize("keywords", [{}, {"k": 0.7}])
def test_keyword_only_parameter_in_every_entry_point(keywords):
    x = 1.3
    k = keywords.get("k", 2.0)
    dx, dk = cubic_grad(x, k)
    assert s2sad.grad(cubic)(x, **keywords) == approx(dx, **TOL)
    assert s2sad.grad(cubic, wrt="k")(x, **keywords) == approx(dk, **TOL)
    value, grads = s2sad.value_and_grad(cubic, wrt=(0, 1))(x, **keywords)
    assert value == approx(cubic(x, **keywords), **TOL)
    _same(grads, (dx, dk))
    _same(s2sad.jacobian(cubic, wrt=("x", "k"))(x, **keywords), (dx, dk))
    _same(s2sad.hessian(cubic, wrt=("x", "k"))(x, **keywords), cubic_hessian(x, k))
    assert s2sad.grad(s2sad.grad(cubic))(x, **keywords) == approx(cubic_hessian(x, k)[0][0], **TOL)
    assert s2sad.check_grad(cubic, x).ok


def quartic(x, *, k=2.0):
    return k * x**4 - (k * x) ** 2


def test_keyword_only_parameter_in_jvp_vjp_and_printed_source(tmp_path):
    x = 0.4
    dx, _ = cubic_grad(x)
    assert s2sad.jvp(cubic, (x,), (0.5,))[1] == approx(0.5 * dx, **TOL)
    assert s2sad.vjp(cubic, x)[1](2.0) == approx((2.0 * dx,), **TOL)
    dx, dk = 4 * 2.0 * x**3 - 2 * 2.0**2 * x, x**4 - 2 * 2.0 * x**2
    # the printed code takes every parameter by position
    _same(_printed(quartic)["quartic_grad"](x, 2.0), (dx, dk))
    path = tmp_path / "quartic_derivatives.py"
    path.write_text(s2sad.export_source(quartic))
    spec = importlib.util.spec_from_file_location("quartic_derivatives", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _same(module.quartic_grad(x, 2.0), (dx, dk))


def required_keyword(x, *, scale):
    return scale * x * x


def test_required_keyword_only_parameter():
    assert s2sad.grad(required_keyword)(3.0, scale=5.0) == approx(30.0, **TOL)
    with pytest.raises(s2sad.ArgumentError, match="scale"):
        s2sad.grad(required_keyword)(3.0)


# --- *args and **kwargs in the function differentiated -------------------------------------------


def weighted(x, *args, s=1.0, **kw):
    return x * args[0] * args[1] ** 2 * s + kw["t"] * x


def test_star_args_are_one_parameter_whose_gradient_is_a_tuple():
    x, a, b, s, t = 1.5, 2.0, 3.0, 0.5, 7.0
    call = (x, a, b)
    assert s2sad.grad(weighted)(*call, s=s, t=t) == approx(a * b * b * s + t, **TOL)
    _same(s2sad.grad(weighted, wrt="args")(*call, s=s, t=t), (x * b * b * s, 2 * x * a * b * s))
    _same(s2sad.grad(weighted, wrt=1)(*call, s=s, t=t), (x * b * b * s, 2 * x * a * b * s))
    _same(s2sad.grad(weighted, wrt=("s", "kw"))(*call, s=s, t=t), (x * a * b * b, {"t": x}))
    value, grads = s2sad.value_and_grad(weighted, wrt=(0, 1))(*call, s=s, t=t)
    assert value == approx(weighted(*call, s=s, t=t), **TOL)
    _same(grads, (a * b * b * s + t, (x * b * b * s, 2 * x * a * b * s)))
    _same(s2sad.jacobian(weighted, wrt="args")(*call, s=s, t=t), (x * b * b * s, 2 * x * a * b * s))
    # d²/d(args)²: [[0, 2xbs], [2xbs, 2xas]]
    hessian = s2sad.hessian(weighted, wrt="args")(*call, s=s, t=t)
    _same(hessian, ((0.0, 2 * x * b * s), (2 * x * b * s, 2 * x * a * s)))


def test_star_args_in_jvp_vjp_and_check_grad():
    def f(x, *args):
        return x * args[0] + args[1] ** 2

    x, a, b = 1.5, 2.0, 3.0
    value, tangent = s2sad.jvp(f, (x, a, b), (1.0, 0.5, -2.0))  # jax.jvp's convention
    assert value == approx(f(x, a, b), **TOL)
    assert tangent == approx(a * 1.0 + x * 0.5 + 2 * b * -2.0, **TOL)
    _, pullback = s2sad.vjp(f, x, a, b)
    _same(pullback(2.0), (2.0 * a, (2.0 * x, 4.0 * b)))
    assert s2sad.check_grad(f, x, a, b).ok


def test_code_is_compiled_for_each_number_of_star_args():
    def total(x, *args):
        return x * sum(args)

    gradient = s2sad.grad(total, wrt=(0, 1))
    _same(gradient(2.0, 1.0), (1.0, (2.0,)))
    _same(gradient(2.0, 1.0, 3.0, 5.0), (9.0, (2.0, 2.0, 2.0)))
    _same(gradient(2.0), (0.0, ()))


def test_trace_of_star_args_needs_the_arguments():
    with pytest.raises(s2sad.StructureNeededError, match="args"):
        s2sad.trace(weighted)


# --- inlined callees --------------------------------------------------------------------------


def logpdf(x, *args, **kwds):
    loc, scale = args
    return -0.5 * ((x - loc) / scale) ** 2 - math.log(scale) + kwds.get("shift", 0.0)


def evaluate(x, *args, **kwargs):
    return logpdf(x, *args, **kwargs) * kwargs["shift"]


def uses_logpdf(x, s):
    return evaluate(x, 1.0, s, shift=2.0) + logpdf(x, s, 3.0)


def test_inlined_star_args_and_kwargs():
    x, s = 0.8, 1.7
    # d/dx: 2 * (-(x-1)/s²) + (-(x-s)/9); d/ds: 2*((x-1)²/s³ - 1/s) + (x-s)/9
    dx = 2 * (-(x - 1.0) / s**2) - (x - s) / 9.0
    ds = 2 * ((x - 1.0) ** 2 / s**3 - 1 / s) + (x - s) / 9.0
    _same(s2sad.grad(uses_logpdf, wrt=(0, 1))(x, s), (dx, ds))
    _same(s2sad.jacobian(uses_logpdf, wrt=(0, 1))(x, s), (dx, ds))
    assert s2sad.jvp(uses_logpdf, (x, s), (1.0, 2.0))[1] == approx(dx + 2 * ds, **TOL)
    _same(s2sad.vjp(uses_logpdf, x, s)[1](1.0), (dx, ds))
    dxx = 2 * (-1 / s**2) - 1 / 9.0
    assert s2sad.hessian(uses_logpdf)(x, s) == approx(dxx, **TOL)
    _same(_printed(uses_logpdf)["uses_logpdf_grad"](x, s), (dx, ds))


def scaled(x, *, k=3.0, p=2):
    return k * x**p


def keyword_only_callee(x):
    return scaled(x, p=3) + scaled(x, k=0.5)


def test_inlined_keyword_only_parameters():
    x = 1.2
    assert s2sad.grad(keyword_only_callee)(x) == approx(9 * x * x + x, **TOL)
    assert s2sad.hessian(keyword_only_callee)(x) == approx(18 * x + 1, **TOL)


def pair(a, b, /, c=1.0):
    return a * b + c * c


def star_calls(x, y):
    p = (x, y)
    opts = {"c": y}
    return pair(*p) + pair(x, *[y, x]) + pair(*p, **opts) + math.hypot(*p)


def test_calls_unpacking_star_and_double_star():
    x, y = 0.7, 2.1
    r = math.hypot(x, y)
    # pair(x, y) = xy + 1; pair(x, y, x) = xy + x²; pair(x, y, c=y) = xy + y²
    dx = y + (y + 2 * x) + y + x / r
    dy = x + x + (x + 2 * y) + y / r
    _same(s2sad.grad(star_calls, wrt=(0, 1))(x, y), (dx, dy))
    _same(s2sad.jacobian(star_calls, wrt=(0, 1))(x, y), (dx, dy))
    _same(s2sad.vjp(star_calls, x, y)[1](1.0), (dx, dy))


def test_unpacking_an_array_is_refused_with_advice():
    def f(x):
        return pair(*x)

    with pytest.raises(s2sad.S2SADError, match="known while lowering") as info:
        s2sad.grad(f)(np.ones(2))
    assert "pass the values" in info.value.hint


def test_binding_errors_are_located():
    def too_many(x):
        return pair(x, x, x, x)

    def unexpected(x):
        return scaled(x, q=1.0)

    def positional_only_by_name(x):
        return pair(x, b=x)

    for fn, words in (
        (too_many, "positional argument"),
        (unexpected, "unexpected argument `q`"),
        (positional_only_by_name, "unexpected argument `b`"),
    ):
        with pytest.raises(s2sad.S2SADError, match=words) as info:
            s2sad.grad(fn)(1.0)
        assert info.value.location is not None


def reduce_with_options(x):
    opts = {"axis": 0}
    return np.sum(np.sum(x * x, **opts) * x[0])


def test_numpy_calls_take_unpacked_arguments():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    # sum_j (sum_i x_ij²) x_0j: d/dx_ij = 2 x_ij x_0j (+ sum_i x_ij² where i = 0)
    expected = 2 * x * x[0] + np.vstack([np.sum(x * x, axis=0), np.zeros(2)])
    np.testing.assert_allclose(s2sad.grad(reduce_with_options)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(s2sad.jacobian(reduce_with_options)(x), expected, rtol=1e-12)


def dispatching(x, *args, **kwargs):
    if not args:
        args = (1.0,)
    scale = kwargs["scale"] if kwargs else 2.0
    return scale * x * args[0] if args else x


def test_star_args_and_kwargs_test_true_when_not_empty():
    x = 1.5
    assert s2sad.grad(dispatching)(x) == approx(2.0, **TOL)  # 2 * x * 1
    assert s2sad.grad(dispatching)(x, 3.0) == approx(6.0, **TOL)  # 2 * x * 3
    assert s2sad.grad(dispatching)(x, 3.0, scale=0.5) == approx(1.5, **TOL)
    _same(s2sad.grad(dispatching, wrt=(0, 1))(x, 3.0), (6.0, (2 * x,)))
    assert s2sad.hessian(dispatching)(x, 3.0) == approx(0.0, abs=1e-15)


def _scaled_sine(x, *, k=0.5):
    return math.sin(x) * k


def test_a_trace_shows_keyword_only_parameters_after_a_star():
    trace = s2sad.trace(_scaled_sine)
    assert str(trace).startswith("def _scaled_sine(x, *, k=0.5):")
    assert trace(0.3) == _scaled_sine(0.3) and trace(0.3, k=2.0) == _scaled_sine(0.3, k=2.0)
    namespace = trace.namespace
    exec(str(trace), namespace)  # the printed trace runs, keyword-only parameter and all
    assert namespace["_scaled_sine"](0.3, k=2.0) == _scaled_sine(0.3, k=2.0)
    assert s2sad.grad(_scaled_sine)(0.3, k=2.0) == pytest.approx(2.0 * math.cos(0.3), rel=1e-15)
