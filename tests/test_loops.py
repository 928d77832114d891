"""Loops: ``for`` over range(...) and over tuples, ``while``, nested loops and loops with branches,
in both modes, against closed forms and central differences.

Central differences use h = 1e-6 (relative to max(1, |x|)); each function here is smooth at the test
points (no branch boundary within h), so the error is O(h^2 f''') + O(eps |f| / h), below 1e-8
relative for the magnitudes involved; tolerances are 1e-6 relative.
"""

import importlib.util
import math

import numpy as np
import pytest

import s2sad


def euler(x, y, n):
    for i in range(n):
        x = math.sin(x) * y + 0.5 * x
    return x


def stepped(x, start, stop, step):
    s = x
    for i in range(start, stop, step):
        s = s * x + i
    return s


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12 * a:
        x = 0.5 * (x + a / x)
    return x


def halve_until_small(x):
    count = 0
    while x > 1.0:
        x = x / 2.0
        count = count + 1
    return x * count


def weighted(x, y):
    s = 0.0
    for w, v in zip((1.0, 2.0, 3.0), (x, y, x)):
        s += w * v * v
    for i, v in enumerate((x, y)):
        s += i * v
    return s


def oscillator(x, v, dt, steps):
    """Symplectic Euler for x'' = -x: two carried values that feed each other."""
    for i in range(steps):
        v = v - dt * x
        x = x + dt * v
    return x, v


def branchy(x, n):
    s = 0.0
    for i in range(n):
        if (i % 2 == 0) == (x > 0):
            s = s + x * x
        else:
            s = s - math.sin(x) * i
    return s


def nested(x, n, m):
    total = x
    for i in range(n):
        inner = total
        for j in range(m):
            inner = inner * 0.5 + x * j
        total = total + math.tanh(inner)
    return total


def loop_in_branch(x, n):
    if x > 0:
        for i in range(n):
            x = x * x * 0.5
    else:
        x = -x
    return x


def central(fn, args, i, h=1e-6):
    plus, minus = list(args), list(args)
    step = h * max(1.0, abs(args[i]))
    plus[i] += step
    minus[i] -= step
    return (fn(*plus) - fn(*minus)) / (2 * step)


def check(fn, args, wrt, expected=None):
    """Both modes agree with each other to rounding, with finite differences, and with ``expected``."""
    reverse = np.array(s2sad.grad(fn, wrt=wrt)(*args))
    forward = np.array(
        [s2sad.jvp(fn, args, [1.0 if k == i else 0.0 for k in range(len(args))])[1] for i in wrt]
    )
    np.testing.assert_allclose(reverse, forward, rtol=1e-12, atol=1e-14)
    differences = np.array([central(fn, args, i) for i in wrt])
    np.testing.assert_allclose(reverse, differences, rtol=1e-6, atol=1e-9)
    if expected is not None:
        np.testing.assert_allclose(reverse, expected, rtol=1e-12)
    assert s2sad.trace(fn)(*args) == fn(*args)


@pytest.mark.parametrize("n", [0, 1, 2, 50])
def test_for_range_zero_one_and_many_iterations(n):
    check(euler, (0.3, 0.7, n), (0, 1))


def test_zero_iterations_pass_the_adjoint_straight_through():
    assert s2sad.grad(euler, wrt=(0, 1))(0.3, 0.7, 0) == (1.0, 0.0)


@pytest.mark.parametrize("start, stop, step", [(0, 5, 1), (2, 9, 3), (5, 0, -2), (3, 3, 1)])
def test_range_with_start_stop_step(start, stop, step):
    check(stepped, (1.1, start, stop, step), (0,))


@pytest.mark.parametrize("a", [2.0, 0.25, 9.0, 1e4])
def test_while_newton_square_root(a):
    # The loop's trip count depends on a; the derivative is that of the converged sqrt: 1 / (2 sqrt a).
    gradient = s2sad.grad(newton_sqrt)(a)
    assert gradient == pytest.approx(0.5 / math.sqrt(a), rel=1e-9)
    assert s2sad.jvp(newton_sqrt, (a,), (1.0,))[1] == pytest.approx(gradient, rel=1e-12)


@pytest.mark.parametrize("x, trips", [(0.5, 0), (1.5, 1), (40.0, 6)])
def test_while_with_an_integer_counter(x, trips):
    # x * count with x halved `trips` times: d/dx = trips / 2**trips.
    expected = trips / 2**trips
    assert s2sad.grad(halve_until_small)(x) == expected
    assert s2sad.jvp(halve_until_small, (x,), (1.0,))[1] == expected


def test_loops_over_tuples_zip_and_enumerate_are_unrolled():
    x, y = 1.5, -2.0
    check(weighted, (x, y), (0, 1), (8 * x, 4 * y + 1))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_two_carried_values_feeding_each_other(mode):
    args = (1.0, 0.0, 0.1, 30)
    jacobian = s2sad.jacobian(oscillator, wrt=(0, 1), mode=mode)(*args)
    columns = []
    for i in (0, 1):
        plus, minus = list(args), list(args)
        plus[i] += 1e-6
        minus[i] -= 1e-6
        columns.append((np.array(oscillator(*plus)) - np.array(oscillator(*minus))) / 2e-6)
    np.testing.assert_allclose(jacobian, np.array(columns).T, rtol=1e-6)
    # The map is linear, so the Jacobian is the matrix power of one step's matrix.
    step = np.array([[1 - 0.1 * 0.1, 0.1], [-0.1, 1.0]])
    np.testing.assert_allclose(jacobian, np.linalg.matrix_power(step, 30), rtol=1e-12)


@pytest.mark.parametrize("x", [0.8, -0.8])
@pytest.mark.parametrize("n", [0, 1, 7])
def test_branches_inside_a_loop_taken_both_ways(x, n):
    check(branchy, (x, n), (0,))


@pytest.mark.parametrize("n, m", [(0, 3), (3, 0), (3, 4)])
def test_nested_loops(n, m):
    check(nested, (0.4, n, m), (0,))


@pytest.mark.parametrize("x, n", [(0.9, 3), (-0.9, 3), (0.9, 0)])
def test_loop_inside_a_branch(x, n):
    check(loop_in_branch, (x, n), (0,))


def test_tape_saves_a_few_values_per_iteration():
    source = s2sad.adjoint_source(euler, wrt=(0, 1))
    assert "_tape1.append(w5)" in source  # x at the start of the iteration, and nothing else:
    assert "for w5 in reversed(_tape1):" in source
    assert source.count("w6 = sin(w5)") == 2  # sin(x) is computed again rather than saved


def test_a_loop_that_overwrites_nothing_active_saves_nothing():
    # Newton's loop carries x; the reverse sweep reads x each iteration, so x is saved. A loop whose
    # body the reverse sweep never reads from saves nothing but its trip count.
    source = s2sad.adjoint_source(halve_until_small)
    assert "_tape" not in source and "_trips" in source


def test_integer_counters_get_no_derivative_code():
    source = s2sad.tangent_source(halve_until_small)
    # count is carried as w2 and incremented into w7: neither gets a tangent.
    assert "w2_dot" not in source and "w7_dot" not in source
    assert "w3_dot" in source  # x is carried as w3 and does


def test_print_inside_a_loop_runs_once_per_iteration(capsys):
    def show(x, n):  # noqa: ANN001 - a function defined in a test, closing over nothing
        for i in range(n):
            print("step")
            x = x * 2.0
        return x

    _, pullback = s2sad.vjp(show, 1.0, 3)
    assert pullback(1.0)[0] == 8.0
    assert capsys.readouterr().out.count("step") == 3


def only_in_loop(x, n):
    for i in range(n):
        y = x * i
    return y


def breaks(x, n):
    for i in range(n):
        x = x * 1.5 + math.sin(x)
        if x > 10.0:
            break
        x = x + 0.1 * i
    return x


def skips_odd(x, n):
    s = 0.0
    for i in range(n):
        if i % 2 == 1:
            continue
        s = s + math.sin(x * i)
    return s


def returns_from_loop(x, n):
    for i in range(n):
        x = x * x + 0.5
        if x > 3.0:
            return x * 2.0
    return -x


def newton_with_break(a):
    x = a
    k = 0
    while True:
        x = 0.5 * (x + a / x)
        k = k + 1
        if abs(x * x - a) < 1e-12 * a or k > 50:
            break
    return x


def breaks_in_a_tuple_loop(x):
    for v in (1.0, 2.0):
        if x > v:
            break
    return x


def test_a_name_assigned_only_in_the_loop_is_an_error():
    with pytest.raises(s2sad.UnsupportedSyntaxError, match="only inside the loop"):
        s2sad.trace(only_in_loop)


@pytest.mark.parametrize("x, n", [(1.2, 6), (0.1, 3), (0.1, 0), (30.0, 4)])
def test_break_on_the_first_the_last_or_no_iteration(x, n):
    # (30, 4) breaks in the first iteration, (0.1, 3) never breaks, (1.2, 6) breaks after a few.
    check(breaks, (x, n), (0,))


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_continue(n):
    x = 0.7
    expected = sum(i * math.cos(x * i) for i in range(n) if i % 2 == 0)
    check(skips_odd, (x, n), (0,), (expected,))


@pytest.mark.parametrize("x, n", [(0.9, 4), (0.1, 2), (2.0, 3)])
def test_return_from_inside_a_loop(x, n):
    check(returns_from_loop, (x, n), (0,))


@pytest.mark.parametrize("a", [3.0, 0.5])
def test_while_true_with_break(a):
    assert s2sad.grad(newton_with_break)(a) == pytest.approx(0.5 / math.sqrt(a), rel=1e-9)
    check(newton_with_break, (a,), (0,))


def test_break_stops_the_loop_after_the_carried_values_are_updated():
    lines = [line.strip() for line in str(s2sad.trace(breaks)).splitlines()]
    assert lines.index("w4 = w11") < lines.index("if w12:") < lines.index("break")


def test_break_in_a_loop_over_a_tuple_is_refused():
    with pytest.raises(s2sad.UnsupportedSyntaxError, match="`break`") as info:
        s2sad.grad(breaks_in_a_tuple_loop)
    assert info.value.location.text.strip() == "break"


def branch_values_in_a_loop(x, n):
    a = x
    for i in range(n):
        if a < 1.0:
            b = math.sin(a)
            a = a + b * b + 0.5
        a = a * 1.1
    return a, a * x


def test_the_reverse_sweep_can_run_again_from_the_same_forward_sweep():
    # A Jacobian by reverse mode runs one reverse sweep per output from one forward sweep, and a
    # pullback may be called many times: reading the tapes must not use them up.
    args = (0.2, 4)
    forward = s2sad.jacobian(branch_values_in_a_loop, wrt=0, mode="forward")(*args)
    reverse = s2sad.jacobian(branch_values_in_a_loop, wrt=0, mode="reverse")(*args)
    np.testing.assert_allclose(reverse, forward, rtol=1e-12)
    _, pullback = s2sad.vjp(branch_values_in_a_loop, *args)
    first = pullback((1.0, 0.0))
    assert pullback((1.0, 0.0)) == first
    assert pullback((0.0, 1.0))[0] == pytest.approx(forward[1], rel=1e-12)


def while_inside_for(x):
    for i in range(2):
        a = abs(x)
        k = 0
        while k < 4 and x < 1.0:
            x = x + (abs(a) + 0.5)
            k = k + 1
    return x, x


@pytest.mark.parametrize("x, slope", [(0.3, 2.0), (-2.0, -1.0), (5.0, 1.0)])
def test_an_inner_loop_tape_per_outer_iteration(x, slope):
    # The inner while loop runs a different number of times in each outer iteration; its tape is
    # made afresh each time and saved on the outer loop's tape. x + |x| + 0.5 per inner step:
    # slope 1 + sign(x) per step that ran, as the closed forms at these points give.
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(
            s2sad.jacobian(while_inside_for, mode=mode)(x), [slope, slope], rtol=1e-12
        )


def invariant_in_an_inner_loop(x):
    a = abs(x)
    for i in range(2):
        for j in range(1):
            x = x / (1 + abs(a) * abs(a))
        a += math.tanh(abs(a))
    return x


@pytest.mark.parametrize("x", [0.0137, 0.3, -0.4])
def test_values_invariant_in_an_inner_loop_differ_between_outer_iterations(x):
    # `1 + |a|^2` is the same in every iteration of the inner loop but not of the outer one: the
    # reverse sweep must not take the last outer iteration's value for every outer iteration.
    check(invariant_in_an_inner_loop, (x,), (0,))


def test_a_loop_variable_set_in_one_branch_is_unbound_after_the_if(tmp_path):
    # A loop that runs no iteration leaves its variable unset; after the `if`, Python would
    # read it only where the loop ran, so reading it is refused, and not reading it is fine.
    source = tmp_path / "loop_variable.py"
    source.write_text(
        "def fine(x, n):\n"
        "    if x < 0.0:\n"
        "        for i in range(n):\n"
        "            x = x * 2.0\n"
        "    return x\n"
        "\n\n"
        "def reads_it(x, n):\n"
        "    if x < 0.0:\n"
        "        for i in range(n):\n"
        "            x = x * 2.0\n"
        "    return x + i\n"
    )
    spec = importlib.util.spec_from_file_location("loop_variable", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    teaching = s2sad.tangent_source(module.fine, wrt="x", teaching=True)
    namespace: dict = {}
    exec(teaching, namespace)
    assert namespace["fine_jvp"](-1.0, 0, 1.0) == (-1.0, 1.0)  # no iteration: x itself
    assert namespace["fine_jvp"](-1.0, 2, 1.0) == (-4.0, 4.0)
    with pytest.raises(s2sad.S2SADError, match="variable of the loop on line 10") as info:
        s2sad.trace(module.reads_it)
    assert info.value.location.line == 12
