"""Default arguments and keyword arguments, through every entry point.

A parameter left out takes its default value, as in a call of the function. ``grad``,
``jacobian``, ``hessian`` and ``hvp`` still differentiate with respect to it when ``wrt`` names it
(at its default); ``jvp``, ``vjp``, ``explain`` and ``check_grad`` hold it constant: one tangent
per primal given, one adjoint per primal given. Oracles are analytic derivatives; where one is a second derivative,
central differences of the analytic gradient check it too.
"""

import math

import numpy as np
import pytest
from pytest import approx

import s2sad


def decay(t, x, k=2.0):
    return x * math.exp(-k * t)


def d_decay(t, x, k):
    """The analytic gradient of decay: (d/dt, d/dx, d/dk)."""
    e = math.exp(-k * t)
    return -k * x * e, e, -t * x * e


def hessian_decay(t, x, k):
    """The analytic Hessian of decay in (t, x)."""
    e = math.exp(-k * t)
    return np.array([[k * k * x * e, -k * e], [-k * e, 0.0]])


T, X = 0.3, 1.7


# --- a number as the default --------------------------------------------------------------------


def test_grad_and_value_and_grad_take_the_default_or_the_keyword():
    assert s2sad.grad(decay, wrt=1)(T, X) == approx(d_decay(T, X, 2.0)[1], rel=1e-14)
    assert s2sad.grad(decay, wrt=1)(T, X, k=3.0) == approx(d_decay(T, X, 3.0)[1], rel=1e-14)
    assert s2sad.grad(decay, wrt=1)(T, X, 3.0) == approx(d_decay(T, X, 3.0)[1], rel=1e-14)
    assert s2sad.grad(decay, wrt=1)(x=X, t=T) == approx(d_decay(T, X, 2.0)[1], rel=1e-14)
    # wrt may name the parameter left out: the derivative at its default
    assert s2sad.grad(decay, wrt="k")(T, X) == approx(d_decay(T, X, 2.0)[2], rel=1e-14)
    value, grads = s2sad.value_and_grad(decay, wrt=(0, 1, 2))(T, X)
    assert value == approx(decay(T, X), rel=1e-14)
    assert grads == approx(d_decay(T, X, 2.0), rel=1e-14)


def test_jvp_holds_a_parameter_left_out_constant():
    value, tangent = s2sad.jvp(decay, (T, X), (0.5, 1.0))
    dt, dx, _ = d_decay(T, X, 2.0)
    assert value == approx(decay(T, X), rel=1e-14)
    assert tangent == approx(0.5 * dt + dx, rel=1e-14)
    # all three given: the tangent of k counts
    _, tangent = s2sad.jvp(decay, (T, X, 3.0), (0.0, 0.0, 1.0))
    assert tangent == approx(d_decay(T, X, 3.0)[2], rel=1e-14)


def test_jvp_wants_one_tangent_per_primal():
    with pytest.raises(s2sad.ArgumentError, match="one tangent per primal"):
        s2sad.jvp(decay, (T, X), (0.0, 1.0, 0.0))
    with pytest.raises(s2sad.ArgumentError, match="1 primal"):
        s2sad.jvp(decay, (T,), (1.0,))  # x has no default


def test_vjp_returns_one_adjoint_per_primal_given():
    value, pullback = s2sad.vjp(decay, T, X)
    assert value == approx(decay(T, X), rel=1e-14)
    assert pullback(2.0) == approx(tuple(2.0 * g for g in d_decay(T, X, 2.0)[:2]), rel=1e-14)
    _, pullback = s2sad.vjp(decay, T, X, 3.0)
    assert pullback(1.0) == approx(d_decay(T, X, 3.0), rel=1e-14)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_in_every_mode(mode):
    jacobian = s2sad.jacobian(decay, wrt=(0, 1), mode=mode)
    assert jacobian(T, X) == approx(np.array(d_decay(T, X, 2.0)[:2]), rel=1e-14)
    assert jacobian(T, X, k=3.0) == approx(np.array(d_decay(T, X, 3.0)[:2]), rel=1e-14)
    by_k = s2sad.jacobian(decay, wrt=2, mode=mode)(T, X)
    assert by_k == approx(d_decay(T, X, 2.0)[2], rel=1e-14)


def test_second_derivatives():
    expected = hessian_decay(T, X, 2.0)
    # central differences of the analytic gradient agree with the analytic Hessian (step 1e-5:
    # truncation ~1e-10 relative, rounding ~1e-11 for these O(1) values)
    h = 1e-5
    column = (np.array(d_decay(T + h, X, 2.0)[:2]) - np.array(d_decay(T - h, X, 2.0)[:2])) / (2 * h)
    assert column == approx(expected[:, 0], rel=1e-8)
    assert np.array(s2sad.hessian(decay, wrt=(0, 1))(T, X)) == approx(expected, rel=1e-13)
    assert s2sad.hessian(decay, wrt=0)(T, X) == approx(expected[0, 0], rel=1e-13)
    assert s2sad.hessian(decay, wrt=1)(T, X, k=3.0) == 0.0
    assert s2sad.hvp(decay, wrt=(0, 1))(T, X, 1.0, 0.0) == approx(expected[:, 0], rel=1e-13)
    assert s2sad.hvp(decay, wrt=1)(T, X, 1.0) == 0.0  # the direction is the last argument
    ddt = s2sad.grad(s2sad.grad(decay, wrt=1), wrt=0)
    assert ddt(T, X) == approx(expected[0, 1], rel=1e-13)
    assert ddt(T, X, k=3.0) == approx(hessian_decay(T, X, 3.0)[0, 1], rel=1e-13)


def test_elementwise_grad_check_grad_explain_and_trace():
    xs = np.array([0.5, 1.7, 2.0])
    slopes = s2sad.elementwise_grad(decay, wrt=1)(T, xs)
    assert slopes == approx(np.full(3, math.exp(-2.0 * T)), rel=1e-14)
    assert s2sad.elementwise_grad(decay, wrt=1)(T, xs, k=1.0) == approx(
        np.full(3, math.exp(-T)), rel=1e-14
    )
    report = s2sad.check_grad(decay, T, X)
    assert report.inputs == ("t", "x")  # k, left out, is held constant
    assert s2sad.check_grad(decay, T, X, wrt=(0, 1, 2)).ok
    assert s2sad.explain(decay, T, X).gradient == approx(d_decay(T, X, 2.0)[:2], rel=1e-14)
    assert s2sad.trace(decay)(T, X) == approx(decay(T, X), rel=1e-15)
    assert s2sad.trace(decay)(T, X, k=3.0) == approx(decay(T, X, 3.0), rel=1e-15)


def test_missing_and_unknown_arguments_are_refused():
    with pytest.raises(s2sad.ArgumentError, match="missing"):
        s2sad.jacobian(decay, wrt=0)(T)
    with pytest.raises(s2sad.ArgumentError, match="unexpected"):
        s2sad.hessian(decay, wrt=0)(T, X, q=1.0)
    with pytest.raises(s2sad.ArgumentError, match="too many"):
        s2sad.elementwise_grad(decay, wrt=1)(T, X, 1.0, 2.0)


def test_rebound_defaults_are_read_at_the_call():
    def scaled(x, k=2.0):
        return k * x * x

    g = s2sad.grad(scaled)
    assert g(1.5) == 6.0
    scaled.__defaults__ = (5.0,)
    assert g(1.5) == 15.0
    assert s2sad.jacobian(scaled)(1.5) == 15.0
    assert s2sad.hessian(scaled)(1.5) == 10.0


# --- structures, arrays and None as defaults ------------------------------------------------------


def with_list(x, c=[1.0, 2.0]):  # noqa: B006 (read, never written)
    return x * x * c[0] + c[1] * x


def with_tuple(x, c=(1.0, 2.0)):
    return x * x * c[0] + c[1] * x


def with_dict(x, p={"a": 1.0, "b": 2.0}):  # noqa: B006
    return x * x * p["a"] + p["b"] * x


def with_array(x, c=np.array([1.0, 2.0])):  # noqa: B008
    return x * x * c[0] + c[1] * x


def with_none(x, unused=None):
    return x * x + 2.0 * x


def with_string(x, label="quadratic"):
    return x * x + 2.0 * x


# Each is x² + 2x with its default: f' = 2x + 2, f'' = 2.
DEFAULTED = [with_list, with_tuple, with_dict, with_array, with_none, with_string]
ENTRY_POINTS = {
    "grad": lambda f, x: s2sad.grad(f)(x),
    "value_and_grad": lambda f, x: s2sad.value_and_grad(f)(x)[1],
    "jvp": lambda f, x: s2sad.jvp(f, (x,), (1.0,))[1],
    "vjp": lambda f, x: s2sad.vjp(f, x)[1](1.0)[0],
    "jacobian forward": lambda f, x: s2sad.jacobian(f, mode="forward")(x),
    "jacobian reverse": lambda f, x: s2sad.jacobian(f, mode="reverse")(x),
    "elementwise_grad": lambda f, x: s2sad.elementwise_grad(f)(x),
    "explain": lambda f, x: s2sad.explain(f, x).gradient[0],
}
SECOND = {
    "hessian": lambda f, x: s2sad.hessian(f)(x),
    "hvp": lambda f, x: s2sad.hvp(f)(x, 1.0),
    "grad of grad": lambda f, x: s2sad.grad(s2sad.grad(f))(x),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=list(ENTRY_POINTS))
@pytest.mark.parametrize("fn", DEFAULTED, ids=lambda f: f.__name__)
def test_a_default_of_any_kind_in_every_mode(fn, entry):
    assert ENTRY_POINTS[entry](fn, 3.0) == approx(8.0, rel=1e-14)


@pytest.mark.parametrize("entry", SECOND, ids=list(SECOND))
@pytest.mark.parametrize("fn", DEFAULTED, ids=lambda f: f.__name__)
def test_second_derivatives_with_a_default_of_any_kind(fn, entry):
    assert SECOND[entry](fn, 3.0) == approx(2.0, rel=1e-14)


@pytest.mark.parametrize("fn", DEFAULTED, ids=lambda f: f.__name__)
def test_check_grad_with_a_default_of_any_kind(fn):
    assert s2sad.check_grad(fn, 3.0).inputs == ("x",)


def test_a_structured_default_can_be_differentiated_when_given():
    # d/dc of x² c0 + c1 x is (x², x), in the list's structure
    assert s2sad.grad(with_list, wrt=1)(3.0, [1.0, 2.0]) == approx([9.0, 3.0])
    assert s2sad.grad(with_dict, wrt=1)(3.0, {"a": 1.0, "b": 2.0}) == approx({"a": 9.0, "b": 3.0})
    assert s2sad.grad(with_list)(3.0, c=[2.0, 0.0]) == 12.0  # 2 x c0
    assert s2sad.jacobian(with_tuple)(3.0, c=(2.0, 0.0)) == 12.0


def test_generated_signatures_show_defaults_that_are_literals():
    assert s2sad.grad(decay, wrt=1).source.startswith("def decay_grad(t, x, k=2.0):")
    assert s2sad.grad(with_string).source.startswith('def with_string_grad(x, label="quadratic"):')
    assert s2sad.grad(with_list).source.startswith("def with_list_grad(x, c):")  # not a literal


# --- defaults of the functions a function calls ----------------------------------------------------


def affine_list(x, c=[2.0, 1.0]):  # noqa: B006
    return x * c[0] + c[1]


def affine_tuple(x, c=(2.0, 1.0)):
    return x * c[0] + c[1]


def affine_array(x, c=np.array([2.0, 1.0])):  # noqa: B008
    return x * c[0] + c[1]


def affine_dict(x, c={"a": 2.0}):  # noqa: B006
    return x * c["a"]


def squares_list(x):
    return affine_list(x) * x  # 2x² + x


def squares_tuple(x):
    return affine_tuple(x) * x


def squares_array(x):
    return affine_array(x) * x


def squares_dict(x):
    return affine_dict(x) * x


@pytest.mark.parametrize(
    "fn", [squares_list, squares_tuple, squares_array], ids=lambda f: f.__name__
)
def test_a_callee_default_that_is_a_list_a_tuple_or_an_array(fn):
    x = 1.5
    assert s2sad.grad(fn)(x) == approx(4 * x + 1.0, rel=1e-14)
    assert s2sad.jvp(fn, (x,), (1.0,))[1] == approx(4 * x + 1.0, rel=1e-14)
    assert s2sad.jacobian(fn, mode="forward")(x) == approx(4 * x + 1.0, rel=1e-14)
    assert s2sad.hessian(fn)(x) == approx(4.0, rel=1e-14)


def test_a_callee_default_that_is_a_dict_is_refused_at_its_parameter():
    with pytest.raises(s2sad.UnsupportedSyntaxError, match="type dict") as info:
        s2sad.grad(squares_dict)(1.5)
    assert "def affine_dict" in str(info.value)


def test_source_functions_fill_in_left_out_example_arguments():
    assert s2sad.tangent_source(decay, args=(T, X)).startswith("def decay_jvp(t, x, k,")
    assert s2sad.adjoint_source(decay, args=(T, X)).startswith("def decay_grad(t, x, k=2.0):")
    assert "def with_list_grad(x, c_0, c_1):" in s2sad.adjoint_source(with_list, args=(3.0,))
    assert "def with_list_jvp(" in s2sad.export_source(with_list, args=(3.0,))
    with pytest.raises(s2sad.ArgumentError, match="missing"):
        s2sad.hvp_source(decay, args=(T,))
