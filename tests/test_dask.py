"""Derivative code on Dask arrays (the ``dask`` extra): lazy, and the numbers NumPy gives.

Every entry point differentiates functions of Dask arrays as it does those of NumPy arrays, builds a
Dask graph without computing it (a scheduler callback counts computations: none may happen before
the result is asked for), and gives, once computed, what the same call gives on the NumPy arrays the
Dask arrays hold (to rounding: the chunked sums add in another order, 1e-12 relative). Skipped when
Dask is not installed.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import s2sad

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
from dask.callbacks import Callback  # noqa: E402

CLOSE = dict(rtol=1e-12, atol=1e-12)
SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "dask_loss.py"


class Computations(Callback):
    def __init__(self):
        super().__init__()
        self.count = 0

    def _start(self, dsk):
        self.count += 1


def affine_loss(w, b, X, y):
    r = X @ w + b - y
    return np.mean(r**2) + 0.1 * np.sum(np.tanh(w) ** 2)


def chain(x):
    return np.sum(np.tanh(np.sin(x) * x + 0.5) * np.exp(-x * x))


def rows(X):
    return np.sum(np.tanh(X) * np.arange(X.shape[1]), axis=1)


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(400, 3)), rng.normal(size=400)
    return X, y, da.from_array(X, chunks=(100, 3)), da.from_array(y, chunks=100)


def _lazy_then_equal(lazy, eager):
    leaves_lazy = lazy if isinstance(lazy, tuple) else (lazy,)
    leaves_eager = eager if isinstance(eager, tuple) else (eager,)
    assert all(hasattr(v, "dask") for v in leaves_lazy)  # Dask arrays, not computed numbers
    for got, want in zip(dask.compute(*leaves_lazy), leaves_eager):
        np.testing.assert_allclose(got, want, **CLOSE)


def test_every_entry_point_builds_a_graph_and_computes_nothing(data):
    X, y, lazy_X, lazy_y = data
    w, b = np.array([0.5, -1.0, 2.0]), 0.3
    calls = [
        lambda A, v: s2sad.grad(affine_loss, wrt=(0, 1, 2, 3))(w, b, A, v),
        lambda A, v: s2sad.value_and_grad(affine_loss, wrt=(0, 2))(w, b, A, v)[1],
        lambda A, v: s2sad.vjp(affine_loss, w, b, A, v)[1](1.0),
        lambda A, v: s2sad.jvp(affine_loss, (w, b, A, v), (np.ones(3), 1.0, A * 0.5, v))[1],
        lambda A, v: s2sad.hvp(affine_loss, wrt=0)(w, b, A, v, np.ones(3)),
        lambda A, v: s2sad.hessian(affine_loss, wrt=0)(w, b, A, v),
    ]
    for call in calls:
        with Computations() as counter:
            lazy = call(lazy_X, lazy_y)
        assert counter.count == 0
        _lazy_then_equal(lazy, call(X, y))


def test_an_elementwise_chain_and_jacobians_of_rows(data):
    X, _, lazy_X, _ = data
    x, lazy_x = X[:, 0], lazy_X[:, 0]
    with Computations() as counter:
        gradient = s2sad.grad(chain)(lazy_x)
    assert counter.count == 0
    _lazy_then_equal(gradient, s2sad.grad(chain)(x))
    for mode in ("forward", "reverse"):  # a Jacobian is assembled in memory: computed, not lazy
        jacobian = s2sad.jacobian(rows, mode=mode)(lazy_X[:4])
        np.testing.assert_allclose(
            np.asarray(jacobian), s2sad.jacobian(rows, mode=mode)(X[:4]), **CLOSE
        )


def test_the_sample_runs(capsys):
    spec = importlib.util.spec_from_file_location("dask_loss", SAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()
    assert "dL/dw =" in capsys.readouterr().out
