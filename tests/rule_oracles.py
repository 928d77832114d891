"""Checks of derivative rules through every entry point, against central differences in float64.

``check_everywhere(fn, *args)`` takes a function returning one number and compares grad,
value_and_grad, vjp, jvp (along random directions), the forward-mode (vector-mode) jacobian, the
hessian of each argument, the printed gradient (``adjoint_source`` run in the function's globals)
and the module ``export_source`` writes with central differences of ``fn`` itself.
``check_jacobian(fn, *args)`` does the same for a function returning an array, in both modes.

Tolerances: a central difference with step h = 1e-6 errs by O(h² f''') ≈ 1e-12 (truncation) plus
O(eps |f| / h) ≈ 1e-10 (rounding) on the inputs used here (values of order 1, matrices with
condition numbers below about 10), so 1e-6, relative and absolute, is far above both and far below
any wrong rule. The hessian is compared with central differences (h = 1e-5) of the gradient, which
is itself checked against central differences of ``fn`` first: error O(h²) + O(eps / h) ≈ 1e-10,
compared at 1e-5.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

import s2sad
from s2sad import runtime

STEP, TOL = 1e-6, dict(rtol=1e-6, atol=1e-6)
HESSIAN_STEP, HESSIAN_TOL = 1e-5, dict(rtol=1e-5, atol=1e-5)
RNG = np.random.default_rng(20261207)


def central_difference(fn, args, position, step=STEP):
    """∂fn/∂args[position] element by element: shaped ``x.shape + fn's shape``."""
    x = np.asarray(args[position], dtype=float)
    parts = []
    for index in np.ndindex(x.shape):
        sides = []
        for sign in (1, -1):
            moved = x.copy()
            moved[index] += sign * step
            shifted = list(args)
            shifted[position] = moved if x.ndim else float(moved)
            sides.append(np.asarray(fn(*shifted), dtype=float))
        parts.append((sides[0] - sides[1]) / (2 * step))
    return np.array(parts).reshape(x.shape + np.shape(parts[0]))


def _tuple(value, count):
    return value if count > 1 else (value,)


def _each_close(got, expected, what):
    assert len(got) == len(expected), what
    for k, (g, e) in enumerate(zip(got, expected)):
        assert np.shape(g) == np.shape(e), f"{what}[{k}]: shape {np.shape(g)}, not {np.shape(e)}"
        np.testing.assert_allclose(g, e, **TOL, err_msg=f"{what}[{k}]")


def exported(fn, tmp_path) -> dict:
    """The module ``export_source`` writes for ``fn``, imported."""
    path = tmp_path / f"{fn.__name__}_derivatives.py"
    path.write_text(s2sad.export_source(fn))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


def printed(fn) -> dict:
    """The functions ``adjoint_source(fn)`` defines, run in ``fn``'s globals, with the helpers of
    ``s2sad.runtime`` and the names of ``math`` the code reads by their bare names (``cos``,
    ``pi``), which a module running printed code imports (as tests/test_printed_source.py does)."""
    helpers = {helper.__name__: helper for helper in runtime.HELPERS}
    namespace = {**vars(math), **helpers, **fn.__globals__}
    exec(compile(s2sad.adjoint_source(fn), f"<gradient of {fn.__name__}>", "exec"), namespace)
    return namespace


def check_everywhere(fn, *args, tmp_path=None, hessian=True, source=True):
    count = len(args)
    positions = tuple(range(count))
    wrt = positions if count > 1 else 0
    expected = [central_difference(fn, args, i) for i in positions]
    _each_close(_tuple(s2sad.grad(fn, wrt=wrt)(*args), count), expected, "grad")
    value, grads = s2sad.value_and_grad(fn, wrt=wrt)(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-12, atol=1e-12)
    _each_close(_tuple(grads, count), expected, "value_and_grad")
    value, pullback = s2sad.vjp(fn, *args)
    _each_close(pullback(1.0), expected, "vjp")
    directions = [RNG.normal(size=np.shape(a)) for a in args]
    directions = [d if np.ndim(a) else float(d) for d, a in zip(directions, args)]
    _, derivative = s2sad.jvp(fn, args, directions)
    along = sum(np.sum(g * d) for g, d in zip(expected, directions))
    np.testing.assert_allclose(derivative, along, **TOL, err_msg="jvp")
    for i in positions:
        jacobian = s2sad.jacobian(fn, wrt=i, mode="forward")(*args)
        _each_close((jacobian,), (expected[i],), f"jacobian (forward) of argument {i}")
        if hessian:
            gradient = s2sad.grad(fn, wrt=i)
            second = central_difference(gradient, args, i, HESSIAN_STEP)
            got = s2sad.hessian(fn, wrt=i)(*args)
            np.testing.assert_allclose(got, second, **HESSIAN_TOL, err_msg=f"hessian {i}")
    if source:
        name = f"{fn.__name__}_grad"
        _each_close(_tuple(printed(fn)[name](*args), count), expected, "printed gradient")
        if tmp_path is not None:
            module = exported(fn, tmp_path)
            _each_close(_tuple(module[name](*args), count), expected, "exported gradient")
            _, tangent = module[f"{fn.__name__}_jvp"](*args, *directions)
            np.testing.assert_allclose(tangent, along, **TOL, err_msg="exported tangent")


def check_jacobian(fn, *args):
    """A function returning an array: its jacobian in both modes, by argument."""
    for i in range(len(args)):
        axes = np.ndim(args[i])
        numeric = central_difference(fn, args, i)
        expected = np.moveaxis(numeric, list(range(axes)), list(range(-axes, 0)))
        for mode in ("forward", "reverse"):
            got = s2sad.jacobian(fn, wrt=i, mode=mode)(*args)
            np.testing.assert_allclose(got, expected, **TOL, err_msg=f"jacobian ({mode}) {i}")
