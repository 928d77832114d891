"""One function's derivatives through every entry point, against an oracle the compiler does not share.

``check(fn, args, gradient)`` compares grad, value_and_grad, vjp, jvp (along random directions,
against the gradient's inner product with them), jacobian, the printed ``adjoint_source`` run in the
function's globals, and the module ``export_source`` writes, imported, with ``gradient(*args)``
worked out by hand (one entry per argument). ``hessian`` may be given by hand too, else it is
checked against central differences of the hand-worked gradient. The hand-worked derivatives are
exact formulas evaluated in another order than the generated code, so they agree to rounding:
1e-10 relative. Central differences of a gradient with step 1e-5 err by O(h²·f''') ≈ 1e-10 and by
rounding of O(eps/h) ≈ 1e-11 relative to the gradient's size, so they are compared at 1e-6.
"""

from __future__ import annotations

import importlib.util

import numpy as np

import s2sad

TOL = dict(rtol=1e-10, atol=1e-10)
FD_TOL = dict(rtol=1e-6, atol=1e-6)
RNG = np.random.default_rng(13)


def _flat(value) -> np.ndarray:
    if isinstance(value, (tuple, list)):
        return np.concatenate([_flat(v) for v in value]) if value else np.zeros(0)
    return np.ravel(np.asarray(value, dtype=float))


def _like(args, flat: np.ndarray):
    """``flat``'s numbers laid out like ``args`` (numbers, arrays, tuples of them)."""
    numbers = iter(flat)

    def build(a):
        if isinstance(a, (tuple, list)):
            return type(a)(build(v) for v in a)
        if isinstance(a, np.ndarray):
            return np.array([next(numbers) for _ in range(a.size)]).reshape(a.shape)
        return float(next(numbers))

    return build(args)


def _leaves(args) -> list:
    return [leaf for a in args for leaf in (_leaves(a) if isinstance(a, (tuple, list)) else [a])]


def _close(got, want, what: str, tol=TOL) -> None:
    np.testing.assert_allclose(_flat(got), _flat(want), **tol, err_msg=what)


def _printed(fn, args) -> dict:
    namespace = dict(fn.__globals__)
    source = s2sad.adjoint_source(fn, tuple(range(len(args))), args=args)
    exec(compile(source, f"<printed derivative of {fn.__name__}>", "exec"), namespace)
    return namespace


def _exported(fn, args, tmp_path) -> dict:
    path = tmp_path / f"{fn.__name__}_derivatives.py"
    path.write_text(s2sad.export_source(fn, tuple(range(len(args))), args=args))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


def check(fn, args: tuple, gradient, tmp_path, hessian=None, value=None) -> None:
    """``fn``'s derivatives at ``args`` in every entry point against ``gradient(*args)``."""
    n = len(args)
    wrt = tuple(range(n))
    expected = gradient(*args)
    y = fn(*args) if value is None else value
    _close(s2sad.grad(fn, wrt)(*args), expected, "grad")
    got_value, got = s2sad.value_and_grad(fn, wrt)(*args)
    _close([got_value], [y], "value_and_grad value")
    _close(got, expected, "value_and_grad")
    out, pullback = s2sad.vjp(fn, *args)
    _close([out], [y], "vjp value")
    _close(pullback(1.0), expected, "vjp")
    direction = _like(args, RNG.normal(size=_flat(args).size))
    out, tangent = s2sad.jvp(fn, args, direction)
    _close([tangent], [_flat(expected) @ _flat(direction)], "jvp")
    _close(s2sad.jacobian(fn, wrt)(*args), expected, "jacobian")
    for where, namespace in (
        ("printed", _printed(fn, args)),
        ("exported", _exported(fn, args, tmp_path)),
    ):
        leaves = _leaves(args)  # printed code takes a structure's leaves
        _close(namespace[f"{fn.__name__}_grad"](*leaves), expected, f"{where} gradient")
    if all(isinstance(a, float) for a in args) or n == 1:
        _check_hessian(fn, args, gradient, hessian)


def _check_hessian(fn, args, gradient, hessian) -> None:
    flat = _flat(args)
    if hessian is not None:
        want = np.asarray(hessian(*args), dtype=float).reshape(flat.size, flat.size)
        tol = TOL
    else:
        h = 1e-5
        columns = []
        for i in range(flat.size):
            step = np.zeros_like(flat)
            step[i] = h
            up, down = gradient(*_like(args, flat + step)), gradient(*_like(args, flat - step))
            columns.append((_flat(up) - _flat(down)) / (2 * h))
        want, tol = np.array(columns).T, FD_TOL
    got = s2sad.hessian(fn, tuple(range(len(args))))(*args)
    if len(args) > 1:
        got = np.block(
            [
                [np.reshape(b, (np.size(a), np.size(c))) for c, b in zip(args, row)]
                for a, row in zip(args, got)
            ]
        )
    np.testing.assert_allclose(np.reshape(got, want.shape), want, **tol, err_msg="hessian")


def refused_alike(fn, args: tuple, exception: type, message, tmp_path) -> None:
    """Every entry point raises what ``fn`` raises at ``args``: ``exception`` with ``message``
    (a pattern, or ``None`` for any)."""
    import pytest

    wrt = tuple(range(len(args)))
    calls = [
        lambda: fn(*args),
        lambda: s2sad.grad(fn, wrt)(*args),
        lambda: s2sad.value_and_grad(fn, wrt)(*args),
        lambda: s2sad.vjp(fn, *args),
        lambda: s2sad.jvp(fn, args, args),
        lambda: s2sad.jacobian(fn, wrt)(*args),
        lambda: s2sad.hessian(fn, wrt)(*args),
        lambda: _exported(fn, args, tmp_path)[f"{fn.__name__}_grad"](*_leaves(args)),
    ]
    for call in calls:
        with pytest.raises(exception, match=message):
            call()
