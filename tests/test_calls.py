"""Calls to other Python functions: inlined into the caller's trace, differentiated like its own code."""

import math
import re
import sys
import textwrap

import numpy as np
import pytest

import s2sad


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def seed002_with_a_helper(u1, u2):
    t3 = math.exp(u1) + math.exp(2 * u2)
    return math.exp(t3) + sigmoid(t3)


def square(v):
    return v * v


def norm2(a, b):
    return math.sqrt(square(a) + square(b))


def deep(x):
    return norm2(x, 2 * x) * sigmoid(x)


def scaled(x, factor=3.0, shift=0.0):
    return factor * x + shift


def with_keywords(x, y):
    return scaled(x, shift=y) + scaled(y, factor=x)


def polar(r, angle):
    return r * math.cos(angle), r * math.sin(angle)


def unpacks(r, angle):
    x, y = polar(r, angle)
    return x * y


def clipped_power(x, n):
    total = 0.0
    for i in range(n):
        total = total + (x if x < 1.0 else 1.0) ** i
    return total


def calls_control_flow(x):
    return clipped_power(x, 4) + clipped_power(x * 0.5, 3)


cube = lambda v: v * v * v  # noqa: E731


def uses_a_lambda(x):
    return cube(x) + 1


def countdown(x, n):
    if n == 0:
        return x
    return countdown(x * 2.0, n - 1)


def test_seed002_with_sigmoid_as_a_function():
    value, (du1, du2) = s2sad.value_and_grad(seed002_with_a_helper, wrt=(0, 1))(1.0, -1.0)
    assert (round(du1, 1), round(du2, 2)) == (47.3, 4.71)
    forward = [s2sad.jvp(seed002_with_a_helper, (1.0, -1.0), d)[1] for d in ((1, 0), (0, 1))]
    np.testing.assert_allclose(forward, [du1, du2], rtol=1e-14)


def test_calls_nested_several_levels_deep():
    # deep(x) = sqrt(5) |x| sigmoid(x); at x > 0: sqrt(5) (s + x s (1 - s)).
    x = 0.7
    s = sigmoid(x)
    expected = math.sqrt(5) * (s + x * s * (1 - s))
    assert s2sad.grad(deep)(x) == pytest.approx(expected, rel=1e-14)
    assert s2sad.jvp(deep, (x,), (1.0,))[1] == pytest.approx(expected, rel=1e-14)


def test_keyword_arguments_and_defaults():
    # scaled(x, shift=y) + scaled(y, factor=x) = 3x + y + x y.
    assert s2sad.grad(with_keywords, wrt=(0, 1))(2.0, 5.0) == (3.0 + 5.0, 1.0 + 2.0)


def test_a_helper_returning_a_tuple():
    # x y = r^2 cos(a) sin(a) = r^2 sin(2a) / 2.
    r, a = 1.5, 0.4
    expected = (r * math.sin(2 * a), r * r * math.cos(2 * a))
    np.testing.assert_allclose(s2sad.grad(unpacks, wrt=(0, 1))(r, a), expected, rtol=1e-14)


@pytest.mark.parametrize("x", [0.5, 2.0])
def test_a_helper_with_loops_and_branches(x):
    def expected(v, n):
        return sum(i * v ** (i - 1) for i in range(1, n)) if v < 1.0 else 0.0

    slope = expected(x, 4) + 0.5 * expected(x * 0.5, 3)
    assert s2sad.grad(calls_control_flow)(x) == pytest.approx(slope, rel=1e-14)
    assert s2sad.jvp(calls_control_flow, (x,), (1.0,))[1] == pytest.approx(slope, rel=1e-14)


def test_a_lambda_bound_to_a_name():
    assert s2sad.grad(uses_a_lambda)(2.0) == 12.0


def test_the_helper_is_inlined_and_its_lines_quoted():
    source = s2sad.adjoint_source(seed002_with_a_helper)
    code = [line for line in source.splitlines() if not line.strip().startswith("#")]
    assert not any("sigmoid(" in line for line in code)  # no call left: the body is inlined
    assert "return 1 / (1 + math.exp(-z))" in source  # and its source line is quoted


def test_a_helper_from_another_module_reads_that_module(tmp_path, monkeypatch):
    (tmp_path / "s2sad_helper_module.py").write_text(textwrap.dedent("""
            import math as m

            RATE = 3.0


            def grow(x):
                return m.exp(RATE * x)
            """))
    (tmp_path / "s2sad_caller_module.py").write_text(textwrap.dedent("""
            from s2sad_helper_module import grow

            RATE = 100.0  # a different RATE: the helper must use its own module's


            def caller(x):
                return grow(x) * 2.0
            """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import s2sad_caller_module

    gradient = s2sad.grad(s2sad_caller_module.caller)(0.1)
    assert gradient == pytest.approx(2.0 * 3.0 * math.exp(0.3), rel=1e-14)
    source = s2sad.adjoint_source(s2sad_caller_module.caller)
    assert "s2sad_helper_module.py, line" in source
    sys.modules.pop("s2sad_caller_module")
    sys.modules.pop("s2sad_helper_module")


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def root_or_triple(x, n):
    if n <= 0:
        return x
    if x > 1.0:
        return root_or_triple(math.sqrt(x), n - 1) + 1.0
    return root_or_triple(x * 3.0, n - 1)


def calls_recursion(x):
    return power(x, 3) + power(math.sin(x), 2)


def recursive_pair(x, n):
    if n == 0:
        return x, x
    return recursive_pair(x * 2.0, n - 1)


@pytest.mark.parametrize("n", [0, 1, 4])
def test_direct_recursion_with_a_base_case(n):
    x = 1.5
    expected = n * x ** (n - 1) if n else 0.0
    assert s2sad.grad(power)(x, n) == pytest.approx(expected, rel=1e-14)
    assert s2sad.jvp(power, (x, n), (1.0, 0.0))[1] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("x", [0.5, 2.0, 10.0])
def test_recursion_through_branches_against_finite_differences(x):
    # Central differences with h = 1e-6 at points away from the branch boundary x = 1 at every
    # level: error O(h^2) + O(eps / h), far below the 1e-7 tolerance.
    h = 1e-6
    difference = (root_or_triple(x + h, 5) - root_or_triple(x - h, 5)) / (2 * h)
    reverse = s2sad.grad(root_or_triple)(x, 5)
    assert reverse == pytest.approx(difference, rel=1e-7)
    assert s2sad.jvp(root_or_triple, (x, 5), (1.0, 0.0))[1] == pytest.approx(reverse, rel=1e-14)


def test_a_recursive_function_called_from_another():
    x = 0.7
    expected = 3 * x * x + 2 * math.sin(x) * math.cos(x)
    assert s2sad.grad(calls_recursion)(x) == pytest.approx(expected, rel=1e-14)


def test_recursion_stays_a_call_with_generated_derivatives_beside_it():
    # the trace calls the user's function (bound beside the trace's own `power`)
    assert re.search(r"w5 = power\w*\(w1, w4\)", str(s2sad.trace(power)))
    source = s2sad.adjoint_source(power, wrt=0)
    assert "def _power_fwd(x, n):" in source and "def _power_bwd(_residuals, y_bar):" in source
    assert "def _power_jvp(" in s2sad.tangent_source(power, wrt=0)


def test_a_recursive_function_must_return_a_number():
    with pytest.raises(s2sad.UnknownFunctionError, match="calls itself and returns a tuple"):
        s2sad.grad(lambda x: recursive_pair(x, 2)[0])


def shout(x):
    print("called")
    return x * 2.0


def calls_a_printer(x):
    return shout(x) + shout(x * x)


def test_print_in_a_helper_runs_at_each_call(capsys):
    assert s2sad.grad(calls_a_printer)(3.0) == 2.0 + 12.0
    assert capsys.readouterr().out.count("called") == 2


def closes_over_active_values(x, y):
    k = x * y

    def bump(v, c=2.0):
        return v * k + c

    g = lambda v: math.sin(v) * x  # noqa: E731
    return bump(x) + g(y) + bump(y, c=0.0)


def reads_the_enclosing_name_late(x):
    k = x

    def times_k(v):
        return v * k

    k = x * x  # a closure reads the value the name has when it is called
    return times_k(3.0)


def test_nested_def_and_lambda_over_active_values():
    # x^2 y + 2 + x sin(y) + x y^2
    x, y = 0.7, 1.3
    expected = (2 * x * y + math.sin(y) + y * y, x * x + x * math.cos(y) + 2 * x * y)
    np.testing.assert_allclose(
        s2sad.grad(closes_over_active_values, wrt=(0, 1))(x, y), expected, rtol=1e-14
    )
    forward = [s2sad.jvp(closes_over_active_values, (x, y), d)[1] for d in ((1, 0), (0, 1))]
    np.testing.assert_allclose(forward, expected, rtol=1e-14)


def test_a_closure_reads_names_when_called():
    assert reads_the_enclosing_name_late(2.0) == 12.0
    assert s2sad.grad(reads_the_enclosing_name_late)(2.0) == 12.0  # d/dx 3 x^2


def powers_in_a_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + power(x * 0.5, i) * math.sin(s + x)
    return s


def fib_like(x, n):
    if n < 2:
        return x
    return fib_like(x, n - 1) * 0.5 + math.sin(fib_like(x * 0.9, n - 2))


@pytest.mark.parametrize("fn, args", [(powers_in_a_loop, (0.8, 5)), (fib_like, (0.7, 6))])
def test_recursion_in_loops_and_twice_per_call(fn, args):
    # check_grad compares both modes with central differences (its step and tolerance are justified
    # in s2sad.check); n stays an int.
    assert s2sad.check_grad(fn, *args, wrt=0).ok
    _, pullback = s2sad.vjp(fn, *args)
    assert pullback(1.0)[0] == pytest.approx(s2sad.grad(fn)(*args), rel=1e-14)
