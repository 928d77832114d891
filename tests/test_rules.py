"""Every derivative rule of s2sad, checked one primitive at a time, in forward and reverse mode.

Each rule is exercised through a two-line function whose body is one application of the primitive,
and compared against two oracles that share nothing with the compiler's rule table:

1. central finite differences of the plain Python function, in float64;
2. the analytic partial derivatives, written out by hand in the table below.

Forward mode (``s2sad.jvp``) and reverse mode (``s2sad.grad``, ``s2sad.value_and_grad``, ``s2sad.vjp``)
are checked separately, and against each other with the dot-product test ``<v, J u> == <J^T v, u>``.
The documented conventions at non-differentiable and singular points are checked with exact values.
"""

import math
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import s2sad

EPS = sys.float_info.epsilon

# --- tolerances ----------------------------------------------------------------------------------
#
# Finite differences.  D(h) = (f(x + h) - f(x - h)) / (2h) with h = 1e-6 * max(1, |x|).
#   truncation error  ~ h^2 |f'''| / 6   -> about 1e-13 |f'''| at unit scale;
#   rounding error    <= (|f(x+h)| + |f(x-h)|) * eps / (2h) per ulp of error in each evaluation of f.
# Every point in the table lies at least 1e-3 (relative) away from a singularity of f, where
# |f'''| stays below ~1e7 |f'|; the truncation error is then below ~1e-6 / 6 relative to f'.
# Where f' is 0 but f''' is not (x**3 at 0), no bound relative to f' covers the truncation error, so
# it is also estimated from the data: D(2h) - D(h) ~ 3 h^2 f''' / 6, three times that of D(h).
# The check is  |D - ad| <= FD_RTOL |D| + FD_ROUNDING_ULPS * rounding + |D(2h) - D(h)|,  each term
# computed from actual function values, so a derivative near 0 is still checked tightly: there is
# no blanket absolute tolerance that a wrong value of 0 could hide under.
FD_RTOL = 1e-6
FD_ROUNDING_ULPS = 64  # libm is accurate to ~1 ulp; 64 leaves room for composed operations

# Analytic oracle.  The hand-written formula and the rule are algebraically equal, so they differ
# only by rounding, amplified at worst by cancellation such as 1 - tanh(x)**2 (~1e-14 relative at
# the points used).  A wrong rule differs in its leading digits.
ANALYTIC_RTOL = 1e-10

# Dot-product test.  Both sides sum the same products in a different order: a few ulps of the
# magnitude of the terms.
DOT_RTOL = 1e-12


# --- one function per primitive ------------------------------------------------------------------


def f_add(x, y):
    return x + y


def f_sub(x, y):
    return x - y


def f_mul(x, y):
    return x * y


def f_truediv(x, y):
    return x / y


def f_floordiv(x, y):
    return x // y


def f_mod(x, y):
    return x % y


def f_neg(x):
    return -x


def f_pos(x):
    return +x


def f_cube(x):
    return x**3


def f_pow(x, y):
    return x**y


def f_two_pow(x):
    return 2**x


def f_builtin_pow(x, y):
    return pow(x, y)


def f_math_pow(x, y):
    return math.pow(x, y)


def f_sin(x):
    return math.sin(x)


def f_cos(x):
    return math.cos(x)


def f_tan(x):
    return math.tan(x)


def f_asin(x):
    return math.asin(x)


def f_acos(x):
    return math.acos(x)


def f_atan(x):
    return math.atan(x)


def f_atan2(y, x):
    return math.atan2(y, x)


def f_sinh(x):
    return math.sinh(x)


def f_cosh(x):
    return math.cosh(x)


def f_tanh(x):
    return math.tanh(x)


def f_asinh(x):
    return math.asinh(x)


def f_acosh(x):
    return math.acosh(x)


def f_atanh(x):
    return math.atanh(x)


def f_exp(x):
    return math.exp(x)


def f_expm1(x):
    return math.expm1(x)


def f_exp2(x):
    return math.exp2(x)


def f_log(x):
    return math.log(x)


def f_log_base(x, base):
    return math.log(x, base)


def f_log1p(x):
    return math.log1p(x)


def f_log2(x):
    return math.log2(x)


def f_log10(x):
    return math.log10(x)


def f_sqrt(x):
    return math.sqrt(x)


def f_cbrt(x):
    return math.cbrt(x)


def f_erf(x):
    return math.erf(x)


def f_erfc(x):
    return math.erfc(x)


def f_hypot(x, y):
    return math.hypot(x, y)


def f_hypot3(x, y, z):
    return math.hypot(x, y, z)


def f_fabs(x):
    return math.fabs(x)


def f_degrees(x):
    return math.degrees(x)


def f_radians(x):
    return math.radians(x)


def f_abs(x):
    return abs(x)


def f_max(x, y):
    return max(x, y)


def f_min(x, y):
    return min(x, y)


def f_max3(x, y, z):
    return max(x, y, z)


def f_min3(x, y, z):
    return min(x, y, z)


def f_float(x):
    return float(x)


# --- the rule table: primitive, points, analytic partials ---------------------------------------


@dataclass(frozen=True)
class Rule:
    fn: Callable
    points: tuple  # each point is a tuple with one value per parameter
    partials: Callable  # the hand-derived partial derivatives, one per parameter

    @property
    def arity(self):
        return len(self.points[0])


NEW_IN_PYTHON_311 = pytest.mark.skipif(
    not hasattr(math, "cbrt"), reason="math.cbrt and math.exp2 are new in Python 3.11"
)


def rule(name, fn, points, partials):
    marks = NEW_IN_PYTHON_311 if name in ("exp2", "cbrt") else ()
    points = tuple(p if isinstance(p, tuple) else (p,) for p in points)
    return pytest.param(Rule(fn, points, partials), id=name, marks=marks)


LN2, LN10 = math.log(2.0), math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# Hand-derived partials too long to write inline in the table.


def sign(x):
    return 1.0 if x > 0 else -1.0


def d_mod(x, y):  # x % y == x - y * floor(x / y), floor piecewise constant
    return 1.0, -float(math.floor(x / y))


def d_pow(x, y):  # x ** y == exp(y log x)
    return y * x ** (y - 1), x**y * math.log(x)


def d_atan2(y, x):
    return x / (x * x + y * y), -y / (x * x + y * y)


def d_log_base(x, b):  # log(x) / log(b)
    return 1 / (x * math.log(b)), -math.log(x) / (b * math.log(b) ** 2)


def d_erf(x):
    return (TWO_OVER_SQRT_PI * math.exp(-x * x),)


def d_hypot(*xs):
    norm = math.sqrt(sum(t * t for t in xs))
    return tuple(t / norm for t in xs)


def d_max(*xs):  # 1 for the strict maximum (the table has no ties), 0 elsewhere
    return tuple(1.0 if x > max(xs[:i] + xs[i + 1 :]) else 0.0 for i, x in enumerate(xs))


def d_min(*xs):
    return tuple(1.0 if x < min(xs[:i] + xs[i + 1 :]) else 0.0 for i, x in enumerate(xs))


P2 = [(1.5, -2.25), (-3.0, 0.5), (0.0, 7.0)]  # generic points for the binary operators
QUOTIENTS = [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (5.3, 0.7)]
POWERS = [(1.5, 2.5), (0.3, -1.7), (2.0, 0.0), (4.0, 0.5), (3.0, -2.0), (0.01, 3.0)]
UNIT_INTERVAL = [-0.999, -0.5, 0.0, 0.7, 0.999]  # asin and acos, up to 1e-3 from the edges
QUADRANTS = [(1.0, 2.0), (-1.0, -2.0), (1.0, -2.0), (-0.5, 3.0), (2.0, 0.0)]  # (y, x) for atan2
ORDERED2 = [(1.0, 2.0), (3.0, -1.0), (-2.0, -2.5)]
ORDERED3 = [(1.0, 2.0, 3.0), (3.0, 1.0, 2.0), (-3.0, -1.0, -2.0), (-1.0, -3.0, -2.0)]

RULE_TABLE = [
    # arithmetic
    rule("add", f_add, P2, lambda x, y: (1.0, 1.0)),
    rule("sub", f_sub, P2, lambda x, y: (1.0, -1.0)),
    rule("mul", f_mul, P2, lambda x, y: (y, x)),
    rule("truediv", f_truediv, P2 + [(2.0, 0.01)], lambda x, y: (1 / y, -x / (y * y))),
    rule("floordiv", f_floordiv, QUOTIENTS, lambda x, y: (0.0, 0.0)),
    rule("mod", f_mod, QUOTIENTS, d_mod),
    rule("neg", f_neg, [-2.5, 0.0, 3.75], lambda x: (-1.0,)),
    rule("pos", f_pos, [-2.5, 0.0, 3.75], lambda x: (1.0,)),
    rule("cube", f_cube, [-2.0, -0.5, 0.0, 1.5], lambda x: (3 * x * x,)),
    rule("pow", f_pow, POWERS, d_pow),
    rule("two_pow", f_two_pow, [-1.5, 0.0, 3.2], lambda x: (2.0**x * LN2,)),
    rule("builtin_pow", f_builtin_pow, POWERS, d_pow),
    rule("math_pow", f_math_pow, POWERS, d_pow),
    # trigonometric
    rule("sin", f_sin, [-2.0, 0.0, 0.5, 3.0], lambda x: (math.cos(x),)),
    rule("cos", f_cos, [-2.0, 0.0, 0.5, 3.0], lambda x: (-math.sin(x),)),
    rule("tan", f_tan, [-1.5, -0.3, 0.0, 1.2, 1.5], lambda x: (1 / math.cos(x) ** 2,)),
    rule("asin", f_asin, UNIT_INTERVAL, lambda x: (1 / math.sqrt(1 - x * x),)),
    rule("acos", f_acos, UNIT_INTERVAL, lambda x: (-1 / math.sqrt(1 - x * x),)),
    rule("atan", f_atan, [-10.0, -1.0, 0.0, 0.5, 100.0], lambda x: (1 / (1 + x * x),)),
    rule("atan2", f_atan2, QUADRANTS, d_atan2),
    # hyperbolic
    rule("sinh", f_sinh, [-3.0, -0.5, 0.0, 2.0], lambda x: (math.cosh(x),)),
    rule("cosh", f_cosh, [-3.0, -0.5, 0.0, 2.0], lambda x: (math.sinh(x),)),
    rule("tanh", f_tanh, [-3.0, -0.5, 0.0, 2.0], lambda x: (1 / math.cosh(x) ** 2,)),
    rule("asinh", f_asinh, [-5.0, 0.0, 0.5, 100.0], lambda x: (1 / math.sqrt(x * x + 1),)),
    rule("acosh", f_acosh, [1.001, 1.5, 10.0], lambda x: (1 / math.sqrt((x - 1) * (x + 1)),)),
    rule("atanh", f_atanh, [-0.99, -0.3, 0.0, 0.5, 0.99], lambda x: (1 / ((1 - x) * (1 + x)),)),
    # exponentials and logarithms
    rule("exp", f_exp, [-5.0, 0.0, 1.5, 10.0], lambda x: (math.exp(x),)),
    rule("expm1", f_expm1, [-5.0, -1e-3, 0.0, 1e-8, 2.0], lambda x: (math.exp(x),)),
    rule("exp2", f_exp2, [-2.5, 0.0, 3.0], lambda x: (2.0**x * LN2,)),
    rule("log", f_log, [0.01, 0.5, 1.0, 7.5, 1e3], lambda x: (1 / x,)),
    rule("log_base", f_log_base, [(8.0, 2.0), (0.3, 10.0), (5.0, 0.5), (2.0, 1.01)], d_log_base),
    rule("log1p", f_log1p, [-0.99, -0.5, 0.0, 3.0], lambda x: (1 / (1 + x),)),
    rule("log2", f_log2, [0.01, 1.0, 3.5, 1024.0], lambda x: (1 / (x * LN2),)),
    rule("log10", f_log10, [0.01, 1.0, 3.5, 1e4], lambda x: (1 / (x * LN10),)),
    rule("sqrt", f_sqrt, [0.01, 0.25, 2.0, 1e4], lambda x: (1 / (2 * x**0.5),)),
    rule("cbrt", f_cbrt, [-27.0, -0.5, 0.01, 1.0, 8.0], lambda x: (abs(x) ** (-2 / 3) / 3,)),
    # special functions
    rule("erf", f_erf, [-3.0, -0.5, 0.0, 1.0, 2.5], d_erf),
    rule("erfc", f_erfc, [-3.0, -0.5, 0.0, 1.0, 2.5], lambda x: (-d_erf(x)[0],)),
    rule("hypot", f_hypot, [(3.0, 4.0), (-3.0, 4.0), (1e-3, -2.0), (-5.0, 0.0)], d_hypot),
    rule("hypot3", f_hypot3, [(1.0, 2.0, 2.0), (-1.0, -2.0, 2.0), (0.0, 0.0, -3.0)], d_hypot),
    rule("fabs", f_fabs, [-2.5, -1e-3, 3.0], lambda x: (sign(x),)),
    rule("degrees", f_degrees, [-1.0, 0.0, 2.5], lambda x: (180 / math.pi,)),
    rule("radians", f_radians, [-90.0, 0.0, 45.0], lambda x: (math.pi / 180,)),
    # builtins
    rule("abs", f_abs, [-2.5, -1e-3, 0.75], lambda x: (sign(x),)),
    rule("max", f_max, ORDERED2, d_max),
    rule("min", f_min, ORDERED2, d_min),
    rule("max3", f_max3, ORDERED3, d_max),
    rule("min3", f_min3, ORDERED3, d_min),
    rule("float", f_float, [-2.5, 0.0, 3.0], lambda x: (1.0,)),
]


# --- helpers -------------------------------------------------------------------------------------


def unit(n, i):
    return tuple(1.0 if k == i else 0.0 for k in range(n))


def reverse_partials(fn, point):
    """All partials by reverse mode, as a tuple (``grad`` returns a scalar for one parameter)."""
    n = len(point)
    if n == 1:
        g = s2sad.grad(fn)(*point)
        assert not isinstance(g, tuple), "grad with a single wrt must return a number"
        return (g,)
    g = s2sad.grad(fn, wrt=tuple(range(n)))(*point)
    assert isinstance(g, tuple) and len(g) == n
    return g


def forward_partials(fn, point):
    """All partials by forward mode: one tangent sweep per unit direction."""
    n = len(point)
    partials = []
    for i in range(n):
        value, derivative = s2sad.jvp(fn, point, unit(n, i))
        assert value == fn(*point)
        partials.append(derivative)
    return tuple(partials)


def central_difference(fn, point, i, h):
    """``(D, rounding)``: the central difference in argument ``i`` and its rounding-error scale."""
    x = float(point[i])
    plus, minus = list(point), list(point)
    plus[i], minus[i] = x + h, x - h
    f_plus, f_minus = fn(*plus), fn(*minus)
    width = plus[i] - minus[i]  # the step actually taken, after rounding x +- h
    return (f_plus - f_minus) / width, EPS * (abs(f_plus) + abs(f_minus)) / width


def assert_matches_fd(fn, point, partials, mode):
    for i, derivative in enumerate(partials):
        h = 1e-6 * max(1.0, abs(point[i]))
        fd, rounding = central_difference(fn, point, i, h)
        fd_wide, rounding_wide = central_difference(fn, point, i, 2 * h)
        truncation = abs(fd_wide - fd)
        tol = FD_RTOL * abs(fd) + FD_ROUNDING_ULPS * (rounding + rounding_wide) + truncation
        assert abs(derivative - fd) <= tol, (
            f"{mode}: d{fn.__name__}/d(arg {i}) at {point} = {derivative!r}, "
            f"central difference {fd!r} (tolerance {tol:.3g})"
        )


def assert_matches_analytic(fn, point, partials, expected, mode):
    assert len(partials) == len(expected)
    for i, (got, want) in enumerate(zip(partials, expected)):
        assert math.isclose(
            got, want, rel_tol=ANALYTIC_RTOL, abs_tol=0.0
        ), f"{mode}: d{fn.__name__}/d(arg {i}) at {point} = {got!r}, analytic {want!r}"


# --- each rule against the analytic derivative ---------------------------------------------------


@pytest.mark.parametrize("r", RULE_TABLE)
def test_reverse_mode_matches_analytic(r):
    for point in r.points:
        expected = r.partials(*point)
        assert_matches_analytic(r.fn, point, reverse_partials(r.fn, point), expected, "grad")


@pytest.mark.parametrize("r", RULE_TABLE)
def test_reverse_mode_one_input_at_a_time_matches_analytic(r):
    """``wrt=i`` alone makes only one argument active, so the rule is used for that partial alone."""
    for point in r.points:
        expected = r.partials(*point)
        for i in range(r.arity):
            got = s2sad.grad(r.fn, wrt=i)(*point)
            message = f"grad wrt={i} at {point} = {got!r}, analytic {expected[i]!r}"
            assert math.isclose(got, expected[i], rel_tol=ANALYTIC_RTOL, abs_tol=0.0), message
            by_name = s2sad.grad(r.fn, wrt=r.fn.__code__.co_varnames[i])(*point)
            assert by_name == got


@pytest.mark.parametrize("r", RULE_TABLE)
def test_forward_mode_matches_analytic(r):
    for point in r.points:
        expected = r.partials(*point)
        assert_matches_analytic(r.fn, point, forward_partials(r.fn, point), expected, "jvp")


@pytest.mark.parametrize("r", RULE_TABLE)
def test_value_and_grad_matches_analytic_and_exact_value(r):
    wrt = 0 if r.arity == 1 else tuple(range(r.arity))
    for point in r.points:
        value, grads = s2sad.value_and_grad(r.fn, wrt=wrt)(*point)
        assert value == r.fn(*point)
        assert type(value) is type(r.fn(*point))
        grads = (grads,) if r.arity == 1 else grads
        assert_matches_analytic(r.fn, point, grads, r.partials(*point), "value_and_grad")


@pytest.mark.parametrize("r", RULE_TABLE)
def test_vjp_pullback_matches_analytic(r):
    for point in r.points:
        value, pullback = s2sad.vjp(r.fn, *point)
        assert value == r.fn(*point)
        expected = r.partials(*point)
        adjoints = pullback(1.0)
        assert isinstance(adjoints, tuple) and len(adjoints) == r.arity
        assert_matches_analytic(r.fn, point, adjoints, expected, "vjp")
        scaled = pullback(-2.5)  # the pullback is linear in its seed
        assert_matches_analytic(r.fn, point, scaled, [-2.5 * e for e in expected], "vjp")


# --- each rule against finite differences -------------------------------------------------------


@pytest.mark.parametrize("r", RULE_TABLE)
def test_reverse_mode_matches_finite_differences(r):
    for point in r.points:
        assert_matches_fd(r.fn, point, reverse_partials(r.fn, point), "grad")


@pytest.mark.parametrize("r", RULE_TABLE)
def test_forward_mode_matches_finite_differences(r):
    for point in r.points:
        assert_matches_fd(r.fn, point, forward_partials(r.fn, point), "jvp")


@pytest.mark.parametrize("r", RULE_TABLE)
def test_analytic_table_matches_finite_differences(r):
    """The hand-written oracle itself agrees with finite differences (a typo in it would show here)."""
    for point in r.points:
        assert_matches_fd(r.fn, point, r.partials(*point), "table")


# --- forward and reverse mode agree: the dot-product test -------------------------------------


@pytest.mark.parametrize("r", RULE_TABLE)
def test_dot_product_forward_against_reverse(r):
    """For random u and v: v * (J u) from the tangent sweep == (J^T v) . u from the adjoint sweep."""
    rng = np.random.default_rng(20240601)
    for point in r.points:
        for _ in range(3):
            u = tuple(float(t) for t in rng.standard_normal(r.arity))
            v = float(rng.standard_normal())
            _, tangent = s2sad.jvp(r.fn, point, u)
            _, pullback = s2sad.vjp(r.fn, *point)
            adjoint = pullback(v)
            lhs = v * tangent
            rhs = sum(a * t for a, t in zip(adjoint, u))
            scale = sum(abs(a * t) for a, t in zip(adjoint, u))
            assert abs(lhs - rhs) <= DOT_RTOL * scale, (point, u, v, lhs, rhs)


def mixed(x, y, z):
    a = math.sin(x) * y + z**2 - math.atan2(y, x)
    b = math.hypot(x, y, z) / math.exp(z) + math.log(x, y)
    c = max(x, y, z) - math.log1p(z * z) + abs(x - y) + math.atan(x * y)
    d = (x % y) * math.tanh(z) + math.erf(x) ** 2 + 2**y - min(x, z)
    e = math.sqrt(x) * math.acos(z / 2) + math.asinh(y) / math.cosh(z) + math.pow(x, y)
    return a, b, c, d, e


MIXED_POINTS = [(1.3, 2.1, -0.4), (0.6, 3.5, 1.2), (2.2, 1.7, 0.3)]


@pytest.mark.parametrize("point", MIXED_POINTS)
def test_dot_product_on_a_function_with_several_outputs(point):
    rng = np.random.default_rng(7)
    _, pullback = s2sad.vjp(mixed, *point)
    for _ in range(5):
        u = rng.standard_normal(3)
        v = rng.standard_normal(5)
        _, tangent = s2sad.jvp(mixed, point, tuple(u))
        adjoint = pullback(tuple(float(t) for t in v))
        lhs = float(np.dot(v, np.array(tangent)))
        rhs = float(np.dot(np.array(adjoint), u))
        scale = float(np.abs(v) @ np.abs(np.array(tangent)) + np.abs(np.array(adjoint)) @ np.abs(u))
        assert abs(lhs - rhs) <= DOT_RTOL * scale, (lhs, rhs)


@pytest.mark.parametrize("point", MIXED_POINTS)
def test_jacobian_forward_and_reverse_agree_with_finite_differences(point):
    forward = s2sad.jacobian(mixed, wrt=(0, 1, 2), mode="forward")(*point)
    reverse = s2sad.jacobian(mixed, wrt=(0, 1, 2), mode="reverse")(*point)
    assert forward.shape == reverse.shape == (5, 3)
    np.testing.assert_allclose(forward, reverse, rtol=DOT_RTOL, atol=0.0)
    for row in range(5):

        def output(*args, row=row):
            return mixed(*args)[row]

        output.__name__ = f"mixed[{row}]"
        assert_matches_fd(output, point, tuple(reverse[row]), "jacobian")


# --- int arguments stand for the floats they equal ----------------------------------------------


def f_square(x):
    return x * x


INT_CASES = [
    (f_square, (3,)),
    (f_square, (-4,)),
    (f_mul, (3, -2)),
    (f_truediv, (3, 2)),
    (f_mod, (7, 3)),
    (f_neg, (5,)),
    (f_cube, (-2,)),
    (f_pow, (2, 3)),
    (f_builtin_pow, (3, 2)),
    (f_math_pow, (2, 5)),
    (f_two_pow, (3,)),
    (f_sin, (2,)),
    (f_exp, (1,)),
    (f_log, (5,)),
    (f_log_base, (8, 2)),
    (f_sqrt, (4,)),
    (f_atan2, (1, -2)),
    (f_hypot, (3, 4)),
    (f_hypot3, (1, 2, 2)),
    (f_abs, (-3,)),
    (f_max, (2, 5)),
    (f_min3, (4, -1, 2)),
    (f_float, (3,)),
]


def _int_case_id(case):
    fn, point = case
    return f"{fn.__name__}{point}"


@pytest.mark.parametrize("fn, point", INT_CASES, ids=map(_int_case_id, INT_CASES))
def test_int_arguments_differentiate_like_floats(fn, point):
    as_float = tuple(float(v) for v in point)
    n = len(point)
    wrt = 0 if n == 1 else tuple(range(n))
    from_ints = s2sad.grad(fn, wrt=wrt)(*point)
    from_floats = s2sad.grad(fn, wrt=wrt)(*as_float)
    from_ints = (from_ints,) if n == 1 else from_ints
    from_floats = (from_floats,) if n == 1 else from_floats
    assert any(g != 0 for g in from_floats)
    for got, want in zip(from_ints, from_floats):
        assert math.isclose(got, want, rel_tol=4 * EPS, abs_tol=0.0), (from_ints, from_floats)
    assert forward_partials(fn, point) == pytest.approx(from_floats, rel=4 * EPS, abs=0.0)
    int_tangents = [s2sad.jvp(fn, point, tuple(int(t) for t in unit(n, i)))[1] for i in range(n)]
    assert int_tangents == pytest.approx(from_floats, rel=4 * EPS, abs=0.0)
    assert_matches_fd(fn, as_float, from_ints, "grad (int arguments)")


def test_square_of_int_three_is_six():
    assert s2sad.grad(f_square)(3) == 6
    assert s2sad.jvp(f_square, (3,), (1,)) == (9, 6)


# --- conventions at non-differentiable points ---------------------------------------------------


def both_modes(fn, point):
    """Every partial, by reverse mode and by forward mode."""
    return reverse_partials(fn, point), forward_partials(fn, point)


@pytest.mark.parametrize("fn", [f_abs, f_fabs])
@pytest.mark.parametrize("x, slope", [(0.0, 0.0), (-0.0, 0.0), (0, 0.0), (2.5, 1.0), (-2.5, -1.0)])
def test_abs_derivative_is_sign_and_zero_at_zero(fn, x, slope):
    reverse, forward = both_modes(fn, (x,))
    assert reverse == (slope,)
    assert forward == (slope,)


@pytest.mark.parametrize(
    "fn, point, expected",
    [
        (f_max, (2.0, 2.0), (1.0, 0.0)),
        (f_max, (-1.5, -1.5), (1.0, 0.0)),
        (f_max, (2, 2.0), (1.0, 0.0)),
        (f_min, (2.0, 2.0), (1.0, 0.0)),
        (f_min, (-1.5, -1.5), (1.0, 0.0)),
        (f_max3, (2.0, 2.0, 2.0), (1.0, 0.0, 0.0)),
        (f_max3, (1.0, 3.0, 3.0), (0.0, 1.0, 0.0)),
        (f_max3, (3.0, 1.0, 3.0), (1.0, 0.0, 0.0)),
        (f_max3, (3.0, 3.0, 1.0), (1.0, 0.0, 0.0)),
        (f_min3, (2.0, 2.0, 2.0), (1.0, 0.0, 0.0)),
        (f_min3, (3.0, 1.0, 1.0), (0.0, 1.0, 0.0)),
        (f_min3, (1.0, 3.0, 1.0), (1.0, 0.0, 0.0)),
        (f_min3, (1.0, 1.0, 3.0), (1.0, 0.0, 0.0)),
    ],
)
def test_max_and_min_route_ties_to_the_leftmost_argument(fn, point, expected):
    reverse, forward = both_modes(fn, point)
    assert reverse == expected
    assert forward == expected


@pytest.mark.parametrize("fn, point", [(f_hypot, (0.0, 0.0)), (f_hypot3, (0.0, 0.0, 0.0))])
def test_hypot_has_zero_partials_at_the_origin(fn, point):
    reverse, forward = both_modes(fn, point)
    zeros = (0.0,) * len(point)
    assert reverse == zeros
    assert forward == zeros


@pytest.mark.parametrize("fn", [f_pow, f_builtin_pow, f_math_pow])
def test_power_at_zero_base_has_zero_partial_in_the_exponent(fn):
    reverse, forward = both_modes(fn, (0.0, 2.5))
    assert reverse == (0.0, 0.0)  # d/dx = 2.5 * 0 ** 1.5 == 0 too
    assert forward == (0.0, 0.0)
    assert s2sad.grad(fn, wrt=1)(0.0, 2.5) == 0.0


def test_power_with_negative_base_and_constant_exponent():
    """With only the base active, no log of the negative base is needed: d/dx x ** 3 == 3 x ** 2."""
    assert s2sad.grad(f_pow, wrt=0)(-2.0, 3.0) == 12.0
    assert s2sad.grad(f_cube)(-2.0) == 12.0
    assert s2sad.jvp(f_cube, (-2.0,), (1.0,)) == (-8.0, 12.0)


def test_floordiv_has_zero_derivative_in_both_arguments():
    for point in [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (0.5, 3.0)]:
        reverse, forward = both_modes(f_floordiv, point)
        assert reverse == (0.0, 0.0)
        assert forward == (0.0, 0.0)


def test_mod_partials_are_one_and_minus_floor_quotient():
    for x, y in [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (-7.5, -2.0), (1.0, 3.0)]:
        expected = (1.0, -float(math.floor(x / y)))
        reverse, forward = both_modes(f_mod, (x, y))
        assert reverse == expected
        assert forward == expected


# --- infinite derivatives raise ZeroDivisionError -----------------------------------------------


def f_sqrt_power(x):
    return x**0.5


INFINITE_SLOPE = [
    (f_sqrt, 0.0),
    (f_asin, 1.0),
    (f_asin, -1.0),
    (f_acos, -1.0),
    (f_acos, 1.0),
    (f_acosh, 1.0),
    pytest.param(f_cbrt, 0.0, marks=NEW_IN_PYTHON_311),
    (f_sqrt_power, 0.0),
]


@pytest.mark.parametrize(
    "fn, x", INFINITE_SLOPE, ids=lambda v: v.__name__ if callable(v) else repr(v)
)
def test_infinite_derivative_raises_zero_division_in_both_modes(fn, x):
    fn(x)  # the function itself is defined here: only its derivative is infinite
    with pytest.raises(ZeroDivisionError):
        s2sad.grad(fn)(x)
    with pytest.raises(ZeroDivisionError):
        s2sad.value_and_grad(fn)(x)
    with pytest.raises(ZeroDivisionError):
        s2sad.jvp(fn, (x,), (1.0,))
    _, pullback = s2sad.vjp(fn, x)
    with pytest.raises(ZeroDivisionError):
        pullback(1.0)


# --- outside the domain, the derivative raises what the function raises ------------------------


def f_log_unused(x):
    u = math.log(x)
    return x * 2.0


def f_log_base_active(x, base):
    return math.log(x, base) * x


OUTSIDE_DOMAIN = [
    (f_log, (-1.0,)),  # d/dx = 1/x is finite at -1: only the primal sweep can raise
    (f_log, (0.0,)),
    (f_sqrt, (-1.0,)),
    (f_acosh, (0.5,)),
    (f_log1p, (-2.0,)),  # 1/(1+x) is finite at -2
    (f_log2, (-1.0,)),
    (f_log10, (-1.0,)),
    (f_asin, (1.5,)),
    (f_acos, (-1.5,)),
    (f_atanh, (2.0,)),  # 1/(1-x^2) is finite at 2
    (f_atanh, (1.0,)),
    (f_log_base, (-8.0, 2.0)),
    (f_math_pow, (-8.0, 1 / 3)),  # y * x ** (y - 1) is a (complex) number: no error of its own
    (f_log_unused, (-1.0,)),
]


@pytest.mark.parametrize(
    "fn, point", OUTSIDE_DOMAIN, ids=[f"{f.__name__}{p}" for f, p in OUTSIDE_DOMAIN]
)
def test_outside_the_domain_derivatives_raise_value_error_like_the_function(fn, point):
    with pytest.raises(ValueError):
        fn(*point)
    n = len(point)
    wrt = 0 if n == 1 else tuple(range(n))
    with pytest.raises(ValueError):
        s2sad.grad(fn, wrt=wrt)(*point)
    with pytest.raises(ValueError):
        s2sad.grad(fn, wrt=0)(*point)  # only the first argument active
    with pytest.raises(ValueError):
        s2sad.value_and_grad(fn, wrt=wrt)(*point)
    with pytest.raises(ValueError):
        s2sad.jvp(fn, point, unit(n, 0))
    with pytest.raises(ValueError):
        s2sad.vjp(fn, *point)


@pytest.mark.parametrize("fn, point", [(f_floordiv, (7.0, 0.0)), (f_mod, (7.0, 0.0))])
def test_division_by_zero_raises_in_both_modes_like_the_function(fn, point):
    """``x // 0`` and ``x % 0`` raise ZeroDivisionError; so must every derivative at that point,
    whatever the derivative formula needs (``x // y`` has derivative 0, ``x % y`` has 1 in x)."""
    with pytest.raises(ZeroDivisionError):
        fn(*point)
    with pytest.raises(ZeroDivisionError):
        s2sad.jvp(fn, point, (1.0, 0.0))
    with pytest.raises(ZeroDivisionError):
        s2sad.vjp(fn, *point)
    with pytest.raises(ZeroDivisionError):
        s2sad.value_and_grad(fn, wrt=(0, 1))(*point)
    with pytest.raises(ZeroDivisionError):
        s2sad.grad(fn, wrt=0)(*point)
    with pytest.raises(ZeroDivisionError):
        s2sad.grad(fn, wrt=(0, 1))(*point)
