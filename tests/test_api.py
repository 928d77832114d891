"""Every public entry point, checked against derivatives worked out by hand."""

import math

import numpy as np
import pytest

import s2sad


def f(x1, x2):
    return x1 * x2 + math.sin(x1)


def g(a, b):
    """g: R^2 -> R^3, Jacobian [[b, a], [2 a, 0], [0, cos b]]."""
    return a * b, a**2, math.sin(b)


def noisy(a, b, c):
    print("primal sweep")
    return a * b * c, a + b + c


F_GRAD = (5 + math.cos(2.0), 2.0)


def g_jacobian(a, b):
    return np.array([[b, a], [2 * a, 0.0], [0.0, math.cos(b)]])


# --- trace --------------------------------------------------------------------------------------


def test_trace_is_valid_python_that_computes_f():
    trace = s2sad.trace(f)
    compile(str(trace), "<trace>", "exec")
    assert trace(2.0, 5.0) == f(2.0, 5.0)
    namespace = trace.namespace
    exec(str(trace), namespace)
    assert namespace["f"](0.3, -1.7) == f(0.3, -1.7)


def test_trace_repr_names_the_function():
    assert "f" in repr(s2sad.trace(f)) and "5 equations" in repr(s2sad.trace(f))


def test_trace_of_tuple_output():
    trace = s2sad.trace(g)
    assert str(trace).rstrip().endswith("return w3, w4, w5")
    assert trace(2.0, 1.0) == g(2.0, 1.0)


# --- generated source ---------------------------------------------------------------------------


def test_tangent_source_defaults_to_every_input():
    source = s2sad.tangent_source(f)
    assert source.startswith("def f_jvp(x1, x2, x1_dot, x2_dot):")
    assert "return w5, w5_dot" in source


def test_tangent_source_for_one_input_has_no_code_for_the_other():
    source = s2sad.tangent_source(f, wrt="x2")
    assert "def f_jvp(x1, x2, x2_dot):" in source
    assert "x1_dot" not in source and "w4_dot" not in source  # sin(x1) does not depend on x2


def test_tangent_source_teaching_form_keeps_the_notes_steps():
    source = s2sad.tangent_source(f, teaching=True)
    for line in ("w1 = x1", "w1_dot = x1_dot", "w3_dot = w2 * w1_dot + w1 * w2_dot"):
        assert line in source


def test_adjoint_source_teaching_form_reads_like_the_notes():
    source = s2sad.adjoint_source(f, wrt=(0, 1), teaching=True)
    for line in (
        "w5_bar = 1.0",
        "w3_bar = w5_bar",
        "w4_bar = w5_bar",
        "w2_bar = w3_bar * w1",
        "w1_bar = w4_bar * cos(w1) + w3_bar * w2",
        "return w1_bar, w2_bar",
    ):
        assert line in source


def test_adjoint_source_optimised_form_is_short():
    source = s2sad.adjoint_source(f, wrt=(0, 1))
    assert "x1_bar = cos(x1) + x2" in source
    assert "w5" not in source  # the primal value is not needed for the gradient


def test_adjoint_source_of_several_outputs_is_a_vjp():
    source = s2sad.adjoint_source(g)
    assert source.startswith("def g_vjp(a, b, y1_bar, y2_bar, y3_bar):")


def test_generated_source_quotes_the_source_lines():
    assert "# line" in s2sad.adjoint_source(f) and "math.sin(x1)" in s2sad.adjoint_source(f)


# --- grad and value_and_grad --------------------------------------------------------------------


def test_grad_defaults_to_the_first_input():
    assert s2sad.grad(f)(2.0, 5.0) == F_GRAD[0]


@pytest.mark.parametrize(
    "wrt, expected", [((0, 1), F_GRAD), (("x1", "x2"), F_GRAD), ((1, 0), F_GRAD[::-1])]
)
def test_grad_with_a_tuple_of_inputs(wrt, expected):
    assert s2sad.grad(f, wrt=wrt)(2.0, 5.0) == expected


@pytest.mark.parametrize("wrt", [1, "x2", -1])
def test_grad_with_one_input_by_position_or_name(wrt):
    assert s2sad.grad(f, wrt=wrt)(2.0, 5.0) == 2.0


def test_grad_accepts_ints_as_the_floats_they_stand_for():
    assert s2sad.grad(f, wrt=(0, 1))(2, 5) == F_GRAD


def test_value_and_grad():
    value, grads = s2sad.value_and_grad(f, wrt=(0, 1))(2.0, 5.0)
    assert value == 10 + math.sin(2.0)
    assert grads == F_GRAD


def test_grad_as_decorator_with_source():
    @s2sad.grad
    def loss(w):
        return (w - 3.0) ** 2

    @s2sad.grad(wrt=(0, 1))
    def both(w, b):
        return w * w * b

    assert loss(5.0) == 4.0
    assert both(2.0, 3.0) == (12.0, 4.0)
    assert "def loss_grad(w):" in loss.source
    assert callable(loss.__wrapped__)


def test_value_and_grad_as_decorator():
    @s2sad.value_and_grad
    def square(x):
        return x * x

    assert square(3.0) == (9.0, 6.0)


def test_grad_runs_generated_code_directly():
    """The gradient's frames are the generated code's: an error points into it, one call deep."""

    def g(x):
        return math.log(x)

    with pytest.raises(ValueError) as info:
        s2sad.grad(g)(-1.0)
    frames = [entry.frame.code.raw.co_filename for entry in info.traceback]
    assert frames[-1].startswith("<s2sad"), frames
    assert "def g_grad(x):" in s2sad.grad(g).source


# --- jvp, vjp, jacobian -------------------------------------------------------------------------


def test_jvp_is_value_and_directional_derivative():
    value, slope = s2sad.jvp(f, (2.0, 5.0), (1.0, 0.0))
    assert (value, slope) == (f(2.0, 5.0), F_GRAD[0])
    _, slope = s2sad.jvp(f, (2.0, 5.0), (0.5, -2.0))
    assert slope == pytest.approx(0.5 * F_GRAD[0] - 2.0 * F_GRAD[1], rel=1e-15)


def test_jvp_of_several_outputs():
    value, slopes = s2sad.jvp(g, (2.0, 1.0), (1.0, 1.0))
    assert value == g(2.0, 1.0)
    np.testing.assert_allclose(slopes, g_jacobian(2.0, 1.0) @ [1.0, 1.0], rtol=1e-15)


def test_jvp_checks_the_number_of_arguments():
    with pytest.raises(s2sad.ArgumentError, match="takes 2 argument"):
        s2sad.jvp(f, (2.0,), (1.0,))


def test_vjp_pullback():
    value, pullback = s2sad.vjp(f, 2.0, 5.0)
    assert value == f(2.0, 5.0)
    assert pullback(1.0) == F_GRAD
    assert pullback(2.0) == (2 * F_GRAD[0], 2 * F_GRAD[1])


def test_vjp_of_several_outputs_takes_a_tuple():
    value, pullback = s2sad.vjp(g, 2.0, 1.0)
    assert value == g(2.0, 1.0)
    u = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(pullback(tuple(u)), u @ g_jacobian(2.0, 1.0), rtol=1e-15)
    with pytest.raises(
        s2sad.ArgumentError, match=r"shaped like its output, \(\*, \*, \*\); got \(\*, \*\)"
    ):
        pullback((1.0, 2.0))


def test_vjp_runs_the_forward_sweep_once(capsys):
    _, pullback = s2sad.vjp(noisy, 1.0, 2.0, 3.0)
    pullback((1.0, 0.0))
    pullback((0.0, 1.0))
    assert capsys.readouterr().out.count("primal sweep") == 1


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_modes_agree_with_the_closed_form(mode):
    jacobian = s2sad.jacobian(g, wrt=(0, 1), mode=mode)(2.0, 1.0)
    np.testing.assert_allclose(jacobian, g_jacobian(2.0, 1.0), rtol=1e-15)


def test_jacobian_drops_the_axes_of_a_scalar_output_and_a_single_input():
    assert s2sad.jacobian(f, wrt=(0, 1))(2.0, 5.0).shape == (2,)
    assert s2sad.jacobian(g, wrt=0)(2.0, 1.0).tolist() == [1.0, 4.0, 0.0]
    assert s2sad.jacobian(f, wrt=1)(2.0, 5.0) == 2.0


@pytest.mark.parametrize("wrt, expected", [((0, 1, 2), "reverse"), (0, "forward")])
def test_jacobian_auto_takes_the_cheaper_mode(monkeypatch, wrt, expected):
    # noisy: R^3 -> R^2 takes two reverse sweeps rather than three directions; R -> R^2, one direction
    from s2sad import jacobians

    taken = []
    for name in ("reverse_blocks", "forward_blocks", "directionwise_blocks"):
        real = getattr(jacobians, name)
        monkeypatch.setattr(
            jacobians, name, lambda *a, name=name, real=real: taken.append(name) or real(*a)
        )
    s2sad.jacobian(noisy, wrt=wrt, mode="auto")(1.0, 2.0, 3.0)
    assert taken == [f"{expected}_blocks"]


def test_jacobian_forward_runs_the_primal_once_for_all_directions(capsys):
    s2sad.jacobian(noisy, wrt=(0, 1, 2), mode="forward")(1.0, 2.0, 3.0)
    assert capsys.readouterr().out.count("primal sweep") == 1


def test_jacobian_rejects_an_unknown_mode():
    with pytest.raises(s2sad.ArgumentError, match="mode"):
        s2sad.jacobian(f, mode="sideways")


# --- methods ------------------------------------------------------------------------------------


class Model:
    def __init__(self, scale):
        self.scale = scale

    @s2sad.grad
    def loss(self, w):
        return self.scale * w * w

    def energy(self, x, y):
        return self.scale * x * y


def test_decorated_method_differentiates_after_self():
    assert Model(3.0).loss(2.0) == 12.0


def test_bound_method_positions_count_after_self():
    model = Model(2.0)
    assert s2sad.grad(model.energy, wrt=(0, 1))(3.0, 5.0) == (10.0, 6.0)
    assert s2sad.jvp(model.energy, (3.0, 5.0), (1.0, 0.0)) == (30.0, 10.0)
