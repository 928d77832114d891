"""A derivative agrees with calling the function now: after a callee, a module attribute, a constant
an inlined callee reads, a global array or a closure cell is rebound, a derivative made before
runs code built from what the function uses now.

Oracles are analytic derivatives of the function as it is at the call; the second derivatives are
checked against central differences of the analytic first derivative as well.
"""

import importlib
import math
import sys
import textwrap

import numpy as np
import pytest
from pytest import approx

import s2sad
from s2sad import execute

THIS = sys.modules[__name__]


def square(x):
    return x * x


def cube(x):
    return x * x * x


def d_square(x):
    return 2 * x


def d_cube(x):
    return 3 * x * x


helper = square


def uses_helper(x):
    return helper(x) + 1.0


def inner(x):
    return helper(x) * 2.0


def uses_inner(x):
    return inner(x) - x


# Entry points, each made once, before any rebinding, and called at x after it. Each gives the first
# derivative (FIRST) or the second (SECOND) of a function of one number.
FIRST = {
    "grad": lambda f: s2sad.grad(f),
    "value_and_grad": lambda f: (lambda g: lambda x: g(x)[1])(s2sad.value_and_grad(f)),
    "jvp": lambda f: lambda x: s2sad.jvp(f, (x,), (1.0,))[1],
    "vjp": lambda f: lambda x: s2sad.vjp(f, x)[1](1.0)[0],
    "jacobian forward": lambda f: s2sad.jacobian(f, mode="forward"),
    "jacobian reverse": lambda f: s2sad.jacobian(f, mode="reverse"),
    "jacobian auto": lambda f: s2sad.jacobian(f),
    "elementwise_grad": lambda f: s2sad.elementwise_grad(f),
}
SECOND = {
    "hessian": lambda f: s2sad.hessian(f),
    "hvp": lambda f: (lambda h: lambda x: h(x, 1.0))(s2sad.hvp(f)),
    "grad of grad": lambda f: s2sad.grad(s2sad.grad(f)),
}


def central(f, x, h=1e-5):
    """Central difference: error ~h² |f'''| / 6 + ε |f| / h, about 1e-10 for these O(1) values."""
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("entry", FIRST, ids=list(FIRST))
def test_a_rebound_helper_is_followed(entry, monkeypatch):
    derivative = FIRST[entry](uses_helper)
    assert derivative(2.0) == approx(d_square(2.0), rel=1e-14)
    monkeypatch.setattr(THIS, "helper", cube)
    assert derivative(2.0) == approx(d_cube(2.0), rel=1e-14)
    assert FIRST[entry](uses_helper)(2.0) == approx(d_cube(2.0), rel=1e-14)
    monkeypatch.setattr(THIS, "helper", square)
    assert derivative(2.0) == approx(d_square(2.0), rel=1e-14)


@pytest.mark.parametrize("entry", SECOND, ids=list(SECOND))
def test_a_rebound_helper_of_a_helper_is_followed_by_second_derivatives(entry, monkeypatch):
    derivative = FIRST["grad"](uses_inner), SECOND[entry](uses_inner)
    assert derivative[1](1.5) == approx(4.0, rel=1e-14)  # (2 x² - x)'' = 4
    monkeypatch.setattr(THIS, "helper", cube)
    x = 1.5
    assert derivative[0](x) == approx(2 * d_cube(x) - 1.0, rel=1e-14)
    assert derivative[1](x) == approx(12 * x, rel=1e-14)  # (2 x³ - x)'' = 12 x
    assert derivative[1](x) == approx(central(lambda y: 2 * d_cube(y) - 1.0, x), rel=1e-8)


def test_a_trace_made_before_refuses_to_run(monkeypatch):
    trace = s2sad.trace(uses_helper)
    assert trace(2.0) == 5.0
    monkeypatch.setattr(THIS, "helper", cube)
    with pytest.raises(s2sad.StaleTraceError, match="take s2sad.trace"):
        trace(2.0)
    assert s2sad.trace(uses_helper)(2.0) == 9.0


def test_a_deleted_helper_is_reported_where_it_is_read(monkeypatch):
    g = s2sad.grad(uses_helper)
    assert g(2.0) == 4.0
    monkeypatch.delattr(THIS, "helper")
    with pytest.raises(s2sad.S2SADError, match="`helper` is not defined"):
        g(2.0)


def test_helpers_of_structured_and_array_arguments_are_followed(monkeypatch):
    def of_dict(p):
        return helper(p["a"]) * p["b"]

    def of_array(x):
        return np.sum(helper(x))

    g, h = s2sad.grad(of_dict), s2sad.grad(of_array)
    xs = np.array([1.0, 2.0])
    assert g({"a": 2.0, "b": 3.0}) == approx({"a": 12.0, "b": 4.0})
    assert h(xs) == approx(2 * xs)
    monkeypatch.setattr(THIS, "helper", cube)
    assert g({"a": 2.0, "b": 3.0}) == approx({"a": 36.0, "b": 8.0})
    assert h(xs) == approx(3 * xs * xs)


# --- other modules ------------------------------------------------------------------------------


_count = iter(range(10**6))


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """Import ``name=source`` pairs as modules, each able to import the others by name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made = []

    def make(**sources):
        suffix = next(_count)
        names = {stem: f"s2sad_stale_{stem}_{suffix}" for stem in sources}
        for stem, source in sources.items():
            text = textwrap.dedent(source).format(**names)
            (tmp_path / f"{names[stem]}.py").write_text(text)
        imported = [importlib.import_module(names[stem]) for stem in sources]
        made.extend(names.values())
        return imported

    yield make
    for name in made:
        sys.modules.pop(name, None)


LIBRARY = """
    SCALE = 2.0

    def h(x):
        return x * x

    def scaled(x):
        return SCALE * x * x

    def twice(x):
        return 2.0 * h(x)
"""
USER = """
    import {library}
    from {library} import scaled

    def through_attribute(x):
        return {library}.h(x)

    def through_callee(x):
        return {library}.twice(x)

    def through_constant(x):
        return scaled(x) + x
"""


@pytest.mark.parametrize("entry", FIRST, ids=list(FIRST))
def test_a_rebound_module_attribute_is_followed(entry, modules):
    library, user = modules(library=LIBRARY, user=USER)
    by_attribute = FIRST[entry](user.through_attribute)
    by_callee = FIRST[entry](user.through_callee)
    x = 1.25
    assert by_attribute(x) == approx(2 * x, rel=1e-14)
    assert by_callee(x) == approx(4 * x, rel=1e-14)
    library.h = lambda x: x * x * x  # noqa: E731 (a lambda with source in this file)
    assert by_attribute(x) == approx(3 * x * x, rel=1e-14)
    assert by_callee(x) == approx(6 * x * x, rel=1e-14)  # h is the callee's callee


@pytest.mark.parametrize("entry", FIRST, ids=list(FIRST))
def test_a_constant_an_inlined_callee_reads_in_its_module_is_followed(entry, modules):
    library, user = modules(library=LIBRARY, user=USER)
    derivative = FIRST[entry](user.through_constant)
    x = 0.75
    assert derivative(x) == approx(2 * 2.0 * x + 1.0, rel=1e-14)
    library.SCALE = 5.0
    assert derivative(x) == approx(2 * 5.0 * x + 1.0, rel=1e-14)
    library.SCALE = np.float64(-1.0)
    assert derivative(x) == approx(-2.0 * x + 1.0, rel=1e-14)


@pytest.mark.parametrize("entry", SECOND, ids=list(SECOND))
def test_second_derivatives_follow_another_module(entry, modules):
    library, user = modules(library=LIBRARY, user=USER)
    derivative = SECOND[entry](user.through_constant)
    assert derivative(0.5) == approx(4.0, rel=1e-14)
    library.SCALE = 3.0
    assert derivative(0.5) == approx(6.0, rel=1e-14)


# --- values the code reads when it runs -----------------------------------------------------------


WEIGHTS = np.ones(3)
RATE = 2.0


def weighted(x):
    return np.sum(WEIGHTS * x)


def at_rate(x):
    return RATE * x * x


def test_a_global_array_that_changes_shape(monkeypatch):
    g = s2sad.grad(weighted)
    jac = s2sad.jacobian(weighted, mode="forward")
    x = np.array([1.0, 2.0, 3.0])
    assert g(x) == approx(np.ones(3))
    weights = np.arange(6.0).reshape(2, 3)
    monkeypatch.setattr(THIS, "WEIGHTS", weights)
    # sum(W * x) over the broadcast: d/dx_j = Σ_i W[i, j]
    assert g(x) == approx(weights.sum(axis=0))
    assert jac(x) == approx(weights.sum(axis=0))
    assert g(2.0) == approx(weights.sum())
    monkeypatch.setattr(THIS, "WEIGHTS", np.full(3, 0.5))
    assert g(x) == approx(np.full(3, 0.5))


def test_a_number_read_when_the_code_runs_builds_nothing_new(monkeypatch):
    g, vg = s2sad.grad(at_rate), s2sad.value_and_grad(at_rate)
    assert g(1.5) == 6.0
    compiled = len(execute._cache)
    for rate in (3.0, -1.25, 7.5):
        monkeypatch.setattr(THIS, "RATE", rate)
        assert g(1.5) == approx(2 * rate * 1.5, rel=1e-15)
        assert vg(1.5) == approx((rate * 2.25, 2 * rate * 1.5), rel=1e-15)
    assert len(execute._cache) == compiled
    monkeypatch.setattr(THIS, "RATE", 3)  # an integer, which may set a shape: other code
    assert g(1.5) == 9.0
    monkeypatch.setattr(THIS, "RATE", np.array([1.0, 2.0]))  # an array: other code
    assert s2sad.jacobian(at_rate)(1.5) == approx([3.0, 6.0])


# --- closures -----------------------------------------------------------------------------------


def test_a_closure_cell_holding_a_function():
    def make(act):
        def f(x):
            return act(2.0 * x)

        return f

    f = make(math.sin)
    g, h = s2sad.grad(f), s2sad.hessian(f)
    x = 0.3
    assert g(x) == approx(2 * math.cos(2 * x), rel=1e-14)
    f.__closure__[0].cell_contents = math.exp
    assert g(x) == approx(2 * math.exp(2 * x), rel=1e-14)
    assert h(x) == approx(4 * math.exp(2 * x), rel=1e-14)


def test_a_closure_value_an_inlined_helper_reads():
    k = 2.0

    def scaled(x):
        return k * x * x

    def f(x):
        return scaled(x) + x

    g, jac = s2sad.grad(f), s2sad.jacobian(f, mode="forward")
    assert (g(1.5), jac(1.5)) == (7.0, 7.0)
    k = 3.0
    assert (g(1.5), jac(1.5)) == (10.0, 10.0)
    k = np.float32(0.5)  # another type of number
    assert g(1.5) == approx(2.5)


def test_a_closure_value_of_the_function_itself():
    k = 2.0

    def f(x):
        return k * x * x

    g = s2sad.grad(f)
    compiled = len(execute._cache)
    assert g(1.5) == 6.0
    k = 4.0
    assert g(1.5) == 12.0
    assert len(execute._cache) == compiled  # read when the code runs: nothing to rebuild


def test_a_closure_value_read_by_the_function_and_by_a_function_defined_in_it():
    k = 2.0

    def f(x):
        def scaled(y):
            return k * y

        return scaled(x) * x + k * x

    g = s2sad.grad(f)
    assert g(1.5) == 2 * 2.0 * 1.5 + 2.0  # f = k x² + k x
    k = 3.0
    assert g(1.5) == 2 * 3.0 * 1.5 + 3.0


def test_a_helper_deleted_then_defined_anew(monkeypatch):
    g = s2sad.grad(uses_helper)
    assert g(2.0) == 4.0
    monkeypatch.delattr(THIS, "helper")
    with pytest.raises(s2sad.S2SADError):
        g(2.0)
    monkeypatch.setattr(THIS, "helper", cube, raising=False)
    assert g(2.0) == 12.0
