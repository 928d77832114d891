"""Custom derivative rules (``s2sad.custom_rule``) and ``s2sad.stop_gradient``.

Oracles: the derivative s2sad computes itself for the same function without a rule (where it can read
it), and central differences in float64 with step 1e-6. Their truncation error is O(h²) ≈ 1e-12 times
the third derivative and their rounding error about 1e-16 / 1e-6 = 1e-10 times the function's size, so
a tolerance of 1e-7 (relative and absolute) is well above both and far below any real mistake.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import s2sad

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
import custom_rules  # noqa: E402  (the README's sample: logsumexp and kepler with their rules)
from custom_rules import kepler, logsumexp  # noqa: E402

STEP = 1e-6
TOLERANCE = 1e-7
RNG = np.random.default_rng(6)


def central_difference(fn, args, position):
    """∂fn/∂args[position], element by element (a number for a number)."""
    x = np.asarray(args[position], dtype=float)
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += STEP
        down[index] -= STEP
        at = [list(args), list(args)]
        at[0][position] = up if x.shape else float(up)
        at[1][position] = down if x.shape else float(down)
        grad[index] = (fn(*at[0]) - fn(*at[1])) / (2 * STEP)
    return grad if x.shape else float(grad)


def close(a, b, tolerance=TOLERANCE):
    return np.allclose(a, b, rtol=tolerance, atol=tolerance)


# --- the sample's numerically stable logsumexp, with its rules, and the same body without one ----


def plain_logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def with_rule(x, w):
    return logsumexp(x * w) * 2.0 + np.sum(x)


def without_rule(x, w):
    return plain_logsumexp(x * w) * 2.0 + np.sum(x)


def test_a_call_stays_one_primitive_and_the_derivatives_call_the_rules():
    assert "    w4 = logsumexp(w3)" in str(s2sad.trace(with_rule))
    assert "w4_dot = logsumexp_tangent(w3, w4, w3_dot)" in s2sad.tangent_source(with_rule)
    teaching = s2sad.adjoint_source(with_rule, teaching=True)
    assert "(w4_bar_1,) = logsumexp_adjoint(w3, w4, w4_bar)" in teaching
    assert "    w3_bar = w4_bar_1" in teaching


def test_the_rule_agrees_with_the_derivative_s2sad_computes_itself():
    x, w, direction = RNG.normal(size=5), RNG.normal(size=5), RNG.normal(size=5)
    for wrt in (0, 1, (0, 1)):
        ours, theirs = s2sad.grad(with_rule, wrt=wrt)(x, w), s2sad.grad(without_rule, wrt=wrt)(x, w)
        assert all(close(a, b, 1e-12) for a, b in zip(np.atleast_1d(ours), np.atleast_1d(theirs)))
    ours = s2sad.jvp(with_rule, (x, w), (direction, np.zeros(5)))
    theirs = s2sad.jvp(without_rule, (x, w), (direction, np.zeros(5)))
    assert close(ours, theirs, 1e-12)


def recurrent(x, steps):
    v = x
    for _ in range(steps):
        v = np.tanh(v * 0.5 + logsumexp(v))
    return logsumexp(v)


def recurrent_plain(x, steps):
    v = x
    for _ in range(steps):
        v = np.tanh(v * 0.5 + plain_logsumexp(v))
    return plain_logsumexp(v)


def test_rules_in_a_loop_read_the_values_of_each_iteration_in_both_modes():
    x, direction = RNG.normal(size=4), RNG.normal(size=4)
    gradient = s2sad.grad(recurrent)(x, 5)
    assert close(gradient, s2sad.grad(recurrent_plain)(x, 5), 1e-12)
    assert close(gradient, central_difference(recurrent, (x, 5), 0))
    value, slope = s2sad.jvp(recurrent, (x, 5), (direction, 0))
    assert close(value, recurrent(x, 5), 1e-12) and close(slope, gradient @ direction)
    assert "logsumexp_adjoint(" in s2sad.adjoint_source(recurrent, wrt=0)


def branchy(x, flip):
    if flip > 0:
        y = logsumexp(-x)
    else:
        y = logsumexp(x) * flip
    return y


@pytest.mark.parametrize("flip", [1.0, -2.0])
def test_rules_in_branches(flip):
    x, direction = RNG.normal(size=3), RNG.normal(size=3)
    gradient = s2sad.grad(branchy)(x, flip)
    assert close(gradient, central_difference(branchy, (x, flip), 0))
    assert close(s2sad.jvp(branchy, (x, flip), (direction, 0.0))[1], gradient @ direction)
    assert close(s2sad.grad(branchy, wrt=1)(x, flip), central_difference(branchy, (x, flip), 1))


# --- a black box: a root found by bisection, with the implicit-function derivative ------------------


def orbit(m, e, steps):
    total = 0.0
    for k in range(steps):
        anomaly = kepler(m + 0.1 * k, e)
        if anomaly > 1.0:
            total = total + math.cos(anomaly) * e
        else:
            total = total + anomaly * anomaly
    return total


@pytest.mark.parametrize("wrt", [0, 1, (0, 1)])
def test_a_black_box_in_a_loop_and_a_branch_with_wrt_choosing_inputs(wrt):
    point = (0.3, 0.2, 20)
    expected = [
        central_difference(orbit, point, i) for i in (wrt if isinstance(wrt, tuple) else (wrt,))
    ]
    reverse = np.atleast_1d(s2sad.grad(orbit, wrt=wrt)(*point))
    assert close(reverse, expected)
    names = ("m", "e")
    for i, position in enumerate(wrt if isinstance(wrt, tuple) else (wrt,)):
        tangents = (1.0 * (position == 0), 1.0 * (position == 1), 0)
        assert close(s2sad.jvp(orbit, point, tangents)[1], expected[i]), names[position]


def test_inactive_arguments_get_zero_tangents_of_their_shape():
    received = []

    @s2sad.custom_rule
    def weighted(a, b):
        return np.sum(a * b)

    @weighted.tangent
    def weighted_tangent(a, b, out, a_dot, b_dot):
        received.append(b_dot)
        return np.sum(a_dot * b + a * b_dot)

    def f(a, b):
        return weighted(a, b)

    a, b = np.array([1.0, 2.0]), np.array([[3.0, 4.0], [5.0, 6.0]])
    assert close(s2sad.jvp(f, (a, b), (np.array([1.0, 0.0]), np.zeros((2, 2))))[1], 8.0)
    (b_dot,) = received
    assert np.shape(b_dot) == (2, 2) and not np.any(b_dot)


def test_a_builtin_ufunc_registered_with_keywords_and_several_inputs():
    def f(a, b):
        return np.sum(np.float_power(a, b) ** 2)

    a, b = np.exp(RNG.normal(size=(2, 3))), RNG.normal(size=3)  # a > 0: a**b is real
    assert close(s2sad.grad(f, wrt=0)(a, b), central_difference(f, (a, b), 0))
    assert close(s2sad.grad(f, wrt=1)(a, b), central_difference(f, (a, b), 1))
    da, db = RNG.normal(size=(2, 3)), RNG.normal(size=3)
    slope = s2sad.jvp(f, (a, b), (da, db))[1]
    assert close(
        slope, np.sum(central_difference(f, (a, b), 0) * da) + central_difference(f, (a, b), 1) @ db
    )


s2sad.custom_rule(
    np.float_power,  # a ufunc without a built-in rule
    tangent=lambda a, b, out, a_dot, b_dot: b * out / a * a_dot + out * np.log(a) * b_dot,
    # b is broadcast along the first axis in these tests: its adjoint sums back over it
    adjoint=lambda a, b, out, g: (b * out / a * g, np.sum(out * np.log(a) * g, axis=0)),
)


def test_a_function_s2sad_cannot_read_with_keywords_and_defaults():
    @s2sad.custom_rule
    def softmax_temperature(x, temperature=2.0):
        return np.log(sum([math.exp(v / temperature) for v in x]))  # a comprehension: unsupported

    @softmax_temperature.tangent
    def _(x, temperature, out, x_dot, temperature_dot):
        return np.sum(np.exp(x / temperature - out) * x_dot) / temperature

    @softmax_temperature.adjoint
    def _(x, temperature, out, out_bar):
        return np.exp(x / temperature - out) * out_bar / temperature, None

    def f(x):
        return softmax_temperature(x) + softmax_temperature(x, temperature=4.0)

    x = RNG.normal(size=3)
    assert close(s2sad.grad(f)(x), central_difference(f, (x,), 0))
    assert close(s2sad.vjp(f, x)[1](1.0), s2sad.grad(f)(x))
    assert "softmax_temperature(w1, 4.0)" in str(s2sad.trace(f))


# --- errors --------------------------------------------------------------------------------------


def rule_error(run) -> str:
    with pytest.raises(s2sad.CustomRuleError) as caught:
        run()
    return str(caught.value)


def test_a_tangent_of_the_wrong_shape_is_caught_at_the_first_call():
    @s2sad.custom_rule
    def total(x):
        return np.sum(x)

    total.tangent(lambda x, out, x_dot: x_dot)  # forgot the sum

    def f(x):
        return total(x) * np.ones(2)

    expected = "the tangent rule `<lambda>` of `total` returned a tangent of shape (3,)"
    message = rule_error(lambda: s2sad.jvp(f, (np.ones(3),), (np.ones(3),)))
    assert expected in message
    assert "has shape ()" in message and "total.tangent(lambda" in message
    # in vector mode too, where a runtime helper calls the rule once per direction
    assert expected in rule_error(lambda: s2sad.jacobian(f, mode="forward")(np.ones(3)))


def test_vector_mode_calls_the_tangent_rule_once_per_direction():
    """The rest of the sweep carries all directions; the Jacobian equals the function without a
    rule's in reverse mode (to rounding: rtol 1e-12) and central differences."""
    x, w = np.array([0.3, -1.2, 2.0]), np.array([1.5, 0.5, -0.7])
    assert "each_direction(logsumexp_tangent," in s2sad.vector_tangent_source(
        with_rule, x, w, wrt=(0, 1)
    )
    forward = s2sad.jacobian(with_rule, wrt=(0, 1), mode="forward")(x, w)
    expected = s2sad.jacobian(without_rule, wrt=(0, 1), mode="reverse")(x, w)
    for got, wanted, i in zip(forward, expected, (0, 1)):
        np.testing.assert_allclose(got, wanted, rtol=1e-12)
        close(got, central_difference(with_rule, (x, w), i))


def test_adjoints_must_come_as_a_tuple_of_the_arguments_shapes():
    @s2sad.custom_rule
    def scale(x, s):
        return x * s

    def f(x, s):
        return np.sum(scale(x, s))

    @scale.adjoint
    def scale_adjoint(x, s, out, out_bar):
        if np.ndim(s) == 0 and s == 1.0:
            return out_bar * s  # not a tuple
        return out_bar * s, out_bar * x  # s's adjoint not summed to its shape

    x = np.ones(3)
    message = rule_error(lambda: s2sad.grad(f, wrt=(0, 1))(x, 1.0))
    assert "not a tuple of 2 adjoint(s)" in message and "`return (x_bar, s_bar,)`" in message
    message = rule_error(lambda: s2sad.grad(f, wrt=(0, 1))(x, 2.0))
    assert "for argument 2 (`s`), which has shape ()" in message and "shape (3,)" in message
    assert "def scale_adjoint(x, s, out, out_bar):" in message


def test_every_line_calling_a_rule_is_checked_then_the_rule_runs_unwrapped():
    checked = {"over": False}

    @s2sad.custom_rule
    def norm(x):
        return math.sqrt(float(x @ x))

    @norm.adjoint
    def norm_adjoint(x, out, out_bar):
        if len(x) == 2:
            return (out_bar,)  # wrong for the second call site only
        if checked["over"]:
            return (0.0,)  # wrong (a number for an array), which the checker would refuse
        return (x / out * out_bar,)

    def two_sites(x):
        return norm(x) + norm(x[:2])

    def one_site(x):
        return norm(x) * 3

    assert "for argument 1 (`x`), which has shape (2,)" in rule_error(
        lambda: s2sad.grad(two_sites)(np.ones(3))
    )
    gradient = s2sad.grad(one_site)
    assert close(gradient(np.array([3.0, 4.0, 0.0])), [1.8, 2.4, 0.0], 1e-15)
    checked["over"] = True  # the first call was checked; later ones call the rule itself
    assert close(gradient(np.array([3.0, 4.0, 0.0])), [0.0, 0.0, 0.0], 0.0)


def test_a_function_returning_a_tuple_is_refused():
    @s2sad.custom_rule
    def pair(x):
        return x, x

    pair.tangent(lambda x, out, x_dot: x_dot)

    def f(x):
        return pair(x)

    assert "returned a tuple; a function with custom rules must return one" in rule_error(
        lambda: s2sad.jvp(f, (1.0,), (1.0,))
    )


def test_a_missing_rule_is_refused_while_compiling_naming_the_other_mode():
    @s2sad.custom_rule
    def cube(x):
        return x**3

    @cube.tangent
    def cube_tangent(x, out, x_dot):
        return 3 * x**2 * x_dot

    def f(x):
        return cube(x) + 1.0

    assert s2sad.jvp(f, (2.0,), (1.0,)) == (9.0, 12.0)
    message = rule_error(lambda: s2sad.grad(f))
    assert "`cube` has a custom tangent rule but no adjoint rule" in message
    assert "def cube(x):" in message and "@cube.adjoint" in message

    only_adjoint = s2sad.custom_rule(lambda x: 2 * x, adjoint=lambda x, out, g: (2 * g,))

    def g(x):
        return only_adjoint(x)

    assert s2sad.grad(g)(1.0) == 2.0
    assert "no tangent rule, which forward mode" in rule_error(lambda: s2sad.jvp(g, (1.0,), (1.0,)))


def test_jacobian_auto_takes_the_mode_whose_rule_exists():
    """One input and three outputs would take forward mode, three inputs and one output reverse;
    with only the other rule registered, the other mode is taken (rows of diag(3x²) either way)."""

    @s2sad.custom_rule
    def cube(x):
        return x**3

    @cube.adjoint
    def cube_adjoint(x, out, out_bar):
        return (3 * x * x * out_bar,)

    @s2sad.custom_rule
    def twice(x):
        return 2 * x

    @twice.tangent
    def twice_tangent(x, out, x_dot):
        return 2 * x_dot

    def spread(s):
        return cube(s) * np.array([1.0, 2.0, 3.0])

    def total(x):
        return np.sum(twice(x))

    np.testing.assert_allclose(s2sad.jacobian(spread)(2.0), [12.0, 24.0, 36.0], rtol=1e-15)
    np.testing.assert_allclose(s2sad.jacobian(total)(np.ones(3)), [2.0, 2.0, 2.0], rtol=1e-15)
    assert "no tangent rule" in rule_error(lambda: s2sad.jacobian(spread, mode="forward")(2.0))


def test_registration_errors():
    assert "already has a built-in derivative rule" in rule_error(
        lambda: s2sad.custom_rule(math.sin)
    )
    assert "already has a tangent rule, `logsumexp_tangent`" in rule_error(
        lambda: logsumexp.tangent(lambda x, out, x_dot: x_dot)
    )
    message = rule_error(lambda: s2sad.custom_rule(math.lgamma, adjoint=lambda x, g: (g,)))
    assert message.endswith("is called with 3: (x, out, out_bar); give it one parameter for each")


# --- stop_gradient -------------------------------------------------------------------------------


def stopped(x):
    y = x
    for _ in range(3):
        y = y * s2sad.stop_gradient(x) + x
    return y


def test_stop_gradient_is_the_identity_and_cuts_the_derivative_in_both_modes():
    assert s2sad.stop_gradient(2.5) == 2.5 and stopped(2.0) == 2.0**4 + 2.0**3 + 2.0**2 + 2.0
    # y = x c³ + x c² + x c + x with c = x held constant: dy/dx = c³ + c² + c + 1 = 15 at 2
    assert s2sad.grad(stopped)(2.0) == 15.0
    assert s2sad.jvp(stopped, (2.0,), (1.0,)) == (30.0, 15.0)
    assert "w4 = stop_gradient(w1)" in str(s2sad.trace(stopped))

    def only_stopped(x):
        return s2sad.stop_gradient(x) * 2.0

    assert s2sad.grad(only_stopped)(1.0) == 0.0


def test_stop_gradient_on_arrays():
    def f(x):
        weights = s2sad.stop_gradient(np.exp(x) / np.sum(np.exp(x)))
        return np.sum(weights * x)

    x, direction = RNG.normal(size=4), RNG.normal(size=4)
    weights = np.exp(x) / np.sum(np.exp(x))
    assert close(s2sad.grad(f)(x), weights, 1e-12)
    assert close(s2sad.jvp(f, (x,), (direction,))[1], weights @ direction, 1e-12)


# --- export --------------------------------------------------------------------------------------

RULES_MODULE = """\
import numpy as np
import s2sad


@s2sad.custom_rule
def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


@logsumexp.tangent
def logsumexp_tangent(x, out, x_dot):
    return np.sum(np.exp(x - out) * x_dot)


@logsumexp.adjoint
def logsumexp_adjoint(x, out, out_bar):
    return (np.exp(x - out) * out_bar,)


def loss(x, scale):
    return logsumexp(x * s2sad.stop_gradient(scale)) * scale
"""


def test_export_imports_the_rules_from_their_module(tmp_path):
    (tmp_path / "rules_module.py").write_text(RULES_MODULE)
    sys.path.insert(0, str(tmp_path))
    try:
        import rules_module
    finally:
        sys.path.remove(str(tmp_path))
    source = s2sad.export_source(rules_module.loss)
    assert "from rules_module import logsumexp, logsumexp_adjoint, logsumexp_tangent" in source
    assert "def stop_gradient(x):" in source and "import s2sad" not in source
    namespace: dict = {}
    sys.path.insert(0, str(tmp_path))  # the exported code imports the rules from their module
    try:
        exec(source, namespace)
    finally:
        sys.path.remove(str(tmp_path))
    x = np.array([0.5, -1.0, 2.0])
    x_bar, scale_bar = namespace["loss_grad"](x, 3.0)
    expected = s2sad.grad(rules_module.loss, wrt=(0, 1))(x, 3.0)
    assert close(x_bar, expected[0], 1e-12) and close(scale_bar, expected[1], 1e-12)
    # The scale inside stop_gradient is a constant: only the outer factor counts.
    assert close(scale_bar, rules_module.logsumexp(x * 3.0), 1e-12)


def uses_float_power(a, b):
    return np.sum(np.float_power(a, b))


def test_export_refuses_a_rule_it_cannot_import():
    # The rules of np.float_power are lambdas: there is no name to import them by.
    with pytest.raises(s2sad.ExportError, match="a function that cannot be imported by name"):
        s2sad.export_source(uses_float_power)


def test_the_samples_of_the_readme():
    s2sad.check_grad(custom_rules.radius, 1.0, 0.3)  # raises if a component disagrees
    scores = np.array([0.5, 2.0, -1.0])
    softmax = np.exp(scores) / np.sum(np.exp(scores))
    assert close(s2sad.grad(custom_rules.softmax_loss)(scores, 1), softmax - [0, 1, 0], 1e-12)
