"""Printed derivative source runs where the function's module does: names the program takes from the
library (a parameter ``cos``, a global ``sin`` of the module's own) are printed as the module reaches
the library (``math.cos``), or aliased at the top of the source (``conform_2 = conform``).

Oracle: central differences in float64 with step 1e-6; their error is O(h**2 * f''') plus rounding
O(eps / h) ~ 1e-10 for these smooth functions of size ~1, so 1e-6 is a safe tolerance.
"""

import math

import numpy as np
import pytest

import s2sad
from s2sad.runtime import HELPERS

sin = "a module global that is not math.sin"


def f_cos_param(cos, x):
    return math.cos(x) * cos


def f_sin_global(x, y):
    return math.sin(x) * y + math.cos(y)


def f_conform_param(conform, x):
    return np.sum(np.sin(conform) * x) + math.exp(x)


def f_helper_params(unbroadcast, scalar_seed, exp):
    return np.sum(np.cos(unbroadcast) * scalar_seed) + math.sin(exp) * scalar_seed


def f_np_math_params(math_, np_, x):
    return math.sin(x) * math_ + np.sum(np.tanh(np_)) * x


def f_unbroadcast_param(unbroadcast, derivative_like, x):
    a = np.sin(unbroadcast) * x
    return np.sum(a) + np.sum(derivative_like) + math.cos(x)


def f_conform_array(conform, x):
    return np.sum(conform) * x + math.sin(x)


CASES = [
    (f_cos_param, (0.7, -0.4)),
    (f_unbroadcast_param, (np.array([0.3, -0.6, 1.2]), np.array([[1.0, 2.0]]), 0.8)),
    (f_conform_array, (np.array([[0.5, -1.0], [0.25, 2.0]]), 0.4)),
    (f_sin_global, (0.3, 1.1)),
    (f_conform_param, (np.array([0.2, -0.5, 0.9]), 0.6)),
    (f_helper_params, (np.array([[0.1, 0.4], [-0.3, 0.8]]), 0.7, 1.3)),
    (f_np_math_params, (0.4, np.array([0.5, -1.0]), 0.9)),
]


def _stated(fn) -> dict:
    """The names printed source may read besides the module's: math's functions, builtins and the
    runtime helpers by their own names; the module's globals come last and win, as in the module."""
    namespace = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}
    namespace.update({helper.__name__: helper for helper in HELPERS})
    namespace.update(fn.__globals__)
    return namespace


def _run(source: str, fn, entry: str):
    namespace = _stated(fn)
    exec(compile(source, "<printed>", "exec"), namespace)
    return namespace[entry]


def _fd_gradient(fn, args, k, h=1e-6):
    x = np.array(args[k], dtype=float)
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        at = lambda v: fn(*args[:k], v if x.ndim else float(v), *args[k + 1 :])  # noqa: E731
        out[index] = (at(plus) - at(minus)) / (2 * h)
    return out


@pytest.mark.parametrize("fn, args", CASES, ids=[fn.__name__ for fn, _ in CASES])
@pytest.mark.parametrize("teaching", [False, True])
def test_printed_adjoint_runs_in_the_module(fn, args, teaching):
    wrt = tuple(range(len(args)))
    source = s2sad.adjoint_source(fn, teaching=teaching)
    printed = _run(source, fn, f"{fn.__name__}_grad")(*args)
    compiled = s2sad.grad(fn, wrt=wrt)(*args)
    for k in wrt:
        expected = _fd_gradient(fn, args, k)
        np.testing.assert_allclose(printed[k], expected, atol=1e-6)
        np.testing.assert_allclose(compiled[k], expected, atol=1e-6)
    value, gradient = s2sad.value_and_grad(fn, wrt=wrt)(*args)
    assert value == pytest.approx(fn(*args))
    np.testing.assert_allclose(gradient[0], printed[0], atol=1e-12)


@pytest.mark.parametrize("fn, args", CASES, ids=[fn.__name__ for fn, _ in CASES])
@pytest.mark.parametrize("teaching", [False, True])
def test_printed_tangent_runs_in_the_module(fn, args, teaching):
    source = s2sad.tangent_source(fn, teaching=teaching)
    jvp_printed = _run(source, fn, f"{fn.__name__}_jvp")
    rng = np.random.default_rng(0)
    dots = [rng.uniform(-1, 1, np.shape(a)) if np.ndim(a) else rng.uniform(-1, 1) for a in args]
    y, y_dot = jvp_printed(*args, *dots)
    expected = sum(np.sum(_fd_gradient(fn, args, k) * dots[k]) for k in range(len(args)))
    assert y == pytest.approx(fn(*args))
    assert y_dot == pytest.approx(expected, abs=1e-6)
    _, compiled_dot = s2sad.jvp(fn, args, tuple(dots))
    assert compiled_dot == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("fn, args", CASES[:2], ids=[fn.__name__ for fn, _ in CASES[:2]])
def test_printed_trace_runs_in_the_module(fn, args):
    trace = s2sad.trace(fn)
    assert _run(str(trace), fn, fn.__name__)(*args) == pytest.approx(fn(*args))


def test_a_taken_name_is_printed_as_the_module_reaches_it():
    assert "math.cos(w2)" in s2sad.adjoint_source(f_cos_param, teaching=True)
    assert "math.sin(" in s2sad.tangent_source(f_sin_global)


# A module that does not import s2sad: the runtime helpers, and math.cos where it imports only
# math.sin, are reached through an alias the source binds at its top.
PLAIN_MODULE = """
from math import sin

import numpy as np


def g(cos, x):
    return sin(x) * cos


def h(conform, unbroadcast, x):
    return np.sum(np.sin(unbroadcast) * x) + np.sum(conform) * x
"""


def test_names_nothing_in_the_module_reaches_are_aliased_at_the_top(tmp_path, monkeypatch):
    (tmp_path / "plain_names_module.py").write_text(PLAIN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import plain_names_module as module

    g_args = (0.7, -0.4)
    h_args = (np.array([[0.5, -1.0], [0.25, 2.0]]), np.array([0.3, -0.6]), 0.4)
    source = s2sad.adjoint_source(module.g, teaching=True)
    assert source.startswith("cos_2 = cos\n")
    for fn, args in ((module.g, g_args), (module.h, h_args)):
        wrt = tuple(range(len(args)))
        for teaching in (False, True):
            for example in (None, args):
                text = s2sad.adjoint_source(fn, teaching=teaching, args=example)
                printed = _run(text, fn, f"{fn.__name__}_grad")(*args)
                for k in wrt:
                    expected = _fd_gradient(fn, args, k)
                    np.testing.assert_allclose(printed[k], expected, atol=1e-6)
                    np.testing.assert_allclose(
                        s2sad.grad(fn, wrt=wrt)(*args)[k], expected, atol=1e-6
                    )
                dots = [np.ones_like(a) if np.ndim(a) else 0.5 for a in args]
                text = s2sad.tangent_source(fn, teaching=teaching, args=example)
                _, y_dot = _run(text, fn, f"{fn.__name__}_jvp")(*args, *dots)
                _, compiled_dot = s2sad.jvp(fn, args, tuple(dots))
                assert y_dot == pytest.approx(compiled_dot, abs=1e-12)
    assert "conform_2 = conform" in s2sad.adjoint_source(module.h, args=h_args)
    namespace = _stated(module.g)
    exec(str(s2sad.trace(module.g)), namespace)
    assert namespace["g"](*g_args) == pytest.approx(module.g(*g_args))


def test_exported_module_binds_the_aliases(tmp_path, monkeypatch):
    (tmp_path / "plain_names_export.py").write_text(PLAIN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import plain_names_export as module

    for fn, args in ((module.g, (0.7, -0.4)), (module.h, (np.ones((2, 2)), np.array([0.3]), 0.4))):
        path = tmp_path / f"{fn.__name__}_derivatives.py"
        path.write_text(s2sad.export_source(fn, args=args))
        namespace = {}
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        printed = namespace[f"{fn.__name__}_grad"](*args)
        for k in range(len(args)):
            np.testing.assert_allclose(printed[k], _fd_gradient(fn, args, k), atol=1e-6)
