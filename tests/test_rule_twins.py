"""The rules stated twice, once for a math function and once for its NumPy twin, agree with each other
and with a high-precision oracle, at ordinary and at extreme arguments.

A math function (``math.tanh``, the operator ``/``) and its NumPy twin (``np.tanh``, ``np.divide``)
have separate rules: the first in :mod:`s2sad.rules`, the second in :mod:`s2sad.array_rules`, and
builtin operators applied to arrays use the variants of ``ARRAY_VARIANTS``. Two statements of one
derivative can drift apart (``out + 1`` for expm1 rounds to 0 below -37 where ``exp(x)`` does not).

The twins are found from the tables, not listed here: every primitive with a scalar rule is paired
with each NumPy ufunc with a rule that computes the same values at a few sample points, so a twin
added later is checked without editing this file (and the oracle table must then say its
derivative: ``test_every_twin_has_an_oracle``).

The oracle evaluates each analytic derivative at the exact binary value of the argument, in decimal
arithmetic with 60 significant digits (Python's :mod:`decimal`; ``sin`` and ``cos`` by their Taylor
series after reduction by a 60-digit pi), then rounds once to float64. It shares no formula with
the rules: ``tanh'`` is ``sech**2`` computed from ``exp``, not from ``1 - tanh**2``.
"""

import importlib.util
import math
import sys
from decimal import Decimal, localcontext

import numpy as np
import pytest

import s2sad
from s2sad import special_rules
from s2sad.array_rules import ARRAY_VARIANTS
from s2sad.primitives import PRIMITIVES
from s2sad.rules import RULES

try:  # scipy.special's ufuncs with rules are twins too, where SciPy is installed
    import scipy.special  # noqa: F401
except ImportError:
    pass
special_rules.register()

# A rule composes a handful of float64 operations, each within a few ulps (libm and NumPy's own
# implementations are within 4 ulps), so a correct rule is within ~1e-14 of the exact derivative.
# A rule that cancels (1 - tanh(x)**2 at 20, 1 - x**2 near 1) or overflows an intermediate (x**2
# at 1e200) is off in its leading digits, or by the whole value.
RTOL = 1e-13

# --- the twins, from the tables -------------------------------------------------------------------

_SAMPLES = (-0.8, -0.3, 0.2, 0.45, 0.7)


def _values(fn, arity: int) -> list:
    """``fn`` at a few points in (-1, 1), ``None`` where it is not defined."""
    values = []
    for i in range(len(_SAMPLES)):
        args = [_SAMPLES[(i + j) % len(_SAMPLES)] for j in range(arity)]
        try:
            with np.errstate(all="ignore"):
                value = float(fn(*args))
        except (ValueError, ZeroDivisionError, TypeError):
            value = None
        values.append(value if value is not None and math.isfinite(value) else None)
    return values


def _same(a: list, b: list) -> bool:
    both = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    return len(both) >= 2 and all(math.isclose(x, y, rel_tol=1e-12, abs_tol=0) for x, y in both)


def _twins() -> list:
    """``(scalar rule, NumPy rule, arity)``: each math function or operator with a rule, and each
    NumPy (or scipy.special) ufunc with a rule computing the same function; and each builtin
    operator with the array variant of its rule (``**`` on arrays uses ``array pow``)."""
    scalar = [
        name
        for name in RULES
        if name in PRIMITIVES
        and not name.startswith("np.")
        and not PRIMITIVES[name].module
        and PRIMITIVES[name].impl is not None
    ]
    ufuncs = [
        name
        for name in RULES
        if (name.startswith("np.") or PRIMITIVES.get(name) and PRIMITIVES[name].module)
        and isinstance(getattr(PRIMITIVES.get(name), "impl", None), np.ufunc)
    ]
    twins = []
    for name in scalar:
        for arity in (1, 2):
            values = _values(PRIMITIVES[name].impl, arity)
            for twin in ufuncs:
                impl = PRIMITIVES[twin].impl
                if impl.nin == arity and _same(values, _values(impl, arity)):
                    twins.append((name, twin, arity))
    for name, variant in ARRAY_VARIANTS.items():
        arity = next(a for s, _, a in twins if s == name)
        twins.append((name, variant, arity))
    return twins


TWINS = _twins()

# --- the oracle -------------------------------------------------------------------------------------

_DIGITS = 60


def _atan_inverse(n: int) -> Decimal:
    """atan(1/n) by its series, for Machin's formula."""
    x, term, total, k = Decimal(1) / n, Decimal(1) / n, Decimal(0), 0
    while term != 0:
        total += term / (2 * k + 1) * (-1) ** k
        term *= x * x
        k += 1
    return total


with localcontext() as _context:
    _context.prec = _DIGITS + 10
    PI = 16 * _atan_inverse(5) - 4 * _atan_inverse(239)


def _taylor(x: Decimal, start: int) -> Decimal:
    """sin (start 1) or cos (start 0) of a reduced argument, |x| <= pi."""
    term = x**start / math.factorial(start)
    total, n = Decimal(0), start
    while abs(term) > Decimal(10) ** (-_DIGITS - 5) * (abs(total) + Decimal(10) ** -400):
        total += term
        term *= -x * x / ((n + 1) * (n + 2))
        n += 2
    return total


def _reduced(x: Decimal) -> Decimal:
    return x - 2 * PI * (x / (2 * PI)).to_integral_value()


def dsin(x):
    return _taylor(_reduced(x), 1)


def dcos(x):
    return _taylor(_reduced(x), 0)


def dsinh(x):
    """sinh, by its series where the difference of exponentials would cancel."""
    if abs(x) > 1:
        return (x.exp() - (-x).exp()) / 2
    term, total, n = x, Decimal(0), 1
    while abs(term) > Decimal(10) ** (-_DIGITS - 5) * abs(x):
        total += term
        term *= x * x / ((n + 1) * (n + 2))
        n += 2
    return total


def dsign(x):
    return Decimal((x > 0) - (x < 0))


LN2, LN10 = Decimal(2).ln, Decimal(10).ln

# scalar rule name -> (its partial derivatives, as a function of Decimal arguments; the points,
# ordinary and extreme, where to check them: those with as many arguments as the twin takes)
ORACLE = {
    "add": (lambda x, y: (1, 1), [(1.5, -2.0), (1e300, 1e-300)]),
    "sub": (lambda x, y: (1, -1), [(1.5, -2.0), (1e300, 1e-300)]),
    "mul": (lambda x, y: (y, x), [(1.5, -2.0), (1e300, 1e-300), (1e-200, 3.0)]),
    "truediv": (
        lambda x, y: (1 / y, -x / (y * y)),
        [(1.5, -2.0), (1e200, 1e200), (1e-160, 1e-160), (-3.0, 1e-100)],
    ),
    "pow": (
        lambda x, y: (y * x ** (y - 1), x**y * x.ln()),
        [(2.0, 3.0), (0.5, 10.0), (1e10, 0.5), (1e-100, 2.0), (3.0, -2.5)],
    ),
    "math_pow": (
        lambda x, y: (y * x ** (y - 1), x**y * x.ln()),
        [(2.0, 3.0), (0.5, 10.0), (1e10, 0.5), (1e-100, 2.0), (3.0, -2.5)],
    ),
    "neg": (lambda x: (-1,), [(2.0,), (1e-300,), (-1e300,)]),
    "pos": (lambda x: (1,), [(2.0,), (-1e-300,)]),
    "float": (lambda x: (1,), [(2.0,), (-1e-300,)]),
    "abs": (lambda x: (dsign(x),), [(2.0,), (-1e-300,), (-1e300,)]),
    "fabs": (lambda x: (dsign(x),), [(2.0,), (-1e-300,), (-1e300,)]),
    "max": (
        lambda x, y: (Decimal(x >= y), Decimal(x < y)),
        [(1.0, 2.0), (2.0, 1.0), (-1e-300, 1e-300)],
    ),
    "min": (
        lambda x, y: (Decimal(x <= y), Decimal(x > y)),
        [(1.0, 2.0), (2.0, 1.0), (-1e-300, 1e-300)],
    ),
    "exp": (lambda x: (x.exp(),), [(0.5,), (-40.0,), (-700.0,), (700.0,), (1e-300,)]),
    "exp2": (lambda x: (2**x * LN2(),), [(0.5,), (-1000.0,), (1000.0,), (1e-300,)]),
    "expm1": (lambda x: (x.exp(),), [(0.5,), (-40.0,), (-700.0,), (700.0,), (-1e-10,), (1e-300,)]),
    "log": (lambda x: (1 / x,), [(0.5,), (1e-300,), (1e300,), (1 + 2**-52,)]),
    "log2": (lambda x: (1 / (x * LN2()),), [(0.5,), (1e-300,), (1e300,), (1 + 2**-52,)]),
    "log10": (lambda x: (1 / (x * LN10()),), [(0.5,), (1e-300,), (1e300,), (1 + 2**-52,)]),
    "log1p": (lambda x: (1 / (1 + x),), [(0.5,), (-1 + 2**-40,), (1e-300,), (1e300,)]),
    "erf": (lambda x: (2 / PI.sqrt() * (-x * x).exp(),), [(0.5,), (-3.0,), (1e-300,), (27.0,)]),
    "sqrt": (lambda x: (1 / (2 * x.sqrt()),), [(4.0,), (1e-300,), (1e300,)]),
    "cbrt": (
        lambda x: (1 / (3 * (2 * abs(x).ln() / 3).exp()),),
        [(8.0,), (-2.0,), (1e-300,), (-1e300,)],
    ),
    "hypot": (  # math.hypot(x) is abs(x): np.abs is a twin too
        lambda *xs: tuple(x / sum(x * x for x in xs).sqrt() for x in xs),
        [(-2.0,), (1e-300,), (3.0, -4.0), (1e-300, 1e-300), (1e300, -1e300), (1e-10, 1e10)],
    ),
    "sin": (lambda x: (dcos(x),), [(0.5,), (1e-300,), (100.0,), (1e22,), (-3.0,)]),
    "cos": (lambda x: (-dsin(x),), [(0.5,), (1e-300,), (100.0,), (1e22,), (-3.0,)]),
    "tan": (
        lambda x: (1 / dcos(x) ** 2,),
        [(0.5,), (1e-300,), (100.0,), (math.pi / 2,), (-1.5,)],
    ),
    "asin": (
        lambda x: (1 / (1 - x * x).sqrt(),),
        [(0.5,), (1e-300,), (1 - 2**-40,), (-1 + 2**-40,), (1 - 2**-52,)],
    ),
    "acos": (
        lambda x: (-1 / (1 - x * x).sqrt(),),
        [(0.5,), (1e-300,), (1 - 2**-40,), (-1 + 2**-40,), (1 - 2**-52,)],
    ),
    "atan": (lambda x: (1 / (1 + x * x),), [(0.5,), (1e-300,), (-1e150,), (1e10,)]),
    "atan2": (
        lambda y, x: (x / (x * x + y * y), -y / (x * x + y * y)),
        [(1.0, 2.0), (-3.0, -0.5), (1e200, 1e200), (1e-200, -1e-200), (1e-300, 1.0)],
    ),
    "sinh": (lambda x: ((x.exp() + (-x).exp()) / 2,), [(0.5,), (1e-300,), (700.0,), (-700.0,)]),
    "cosh": (lambda x: (dsinh(x),), [(0.5,), (1e-300,), (1e-10,), (700.0,), (-700.0,)]),
    "tanh": (
        lambda x: (4 * (-2 * abs(x)).exp() / (1 + (-2 * abs(x)).exp()) ** 2,),
        [(0.5,), (1e-300,), (-0.99,), (1.5,), (20.0,), (-40.0,), (300.0,)],
    ),
    "asinh": (lambda x: (1 / (x * x + 1).sqrt(),), [(0.5,), (1e-300,), (1e200,), (-1e10,)]),
    "atanh": (
        lambda x: (1 / (1 - x * x),),
        [(0.5,), (1e-300,), (1 - 2**-40,), (-1 + 2**-40,), (1 - 2**-52,)],
    ),
}


def oracle(name: str, point: tuple) -> tuple:
    with localcontext() as context:
        context.prec = _DIGITS
        context.Emin, context.Emax = -9999, 9999  # no overflow in the intermediates
        partials = ORACLE[name][0](*(Decimal(x) for x in point))
        return tuple(float(Decimal(p)) for p in partials)


def test_every_twin_has_an_oracle():
    assert {s for s, _, _ in TWINS} <= set(ORACLE), "give new twins an entry in ORACLE"


def test_the_tables_give_the_twins():
    """The search finds the twins named in the defect reports, so it is not vacuous."""
    found = {(s, n) for s, n, _ in TWINS}
    assert {("expm1", "np.expm1"), ("tanh", "np.tanh"), ("truediv", "np.divide")} <= found
    assert {("asin", "np.arcsin"), ("pow", "array pow"), ("abs", "array abs")} <= found
    assert ("abs", "np.positive") not in found


# --- the functions differentiated: one application of the primitive, written to a module ----------


def _call_source(name: str, arity: int) -> str:
    prim = PRIMITIVES[name]
    args = ["x", "y"][:arity]
    if prim.style == "infix":
        return f"x {prim.symbol} y"
    if prim.style == "prefix":
        return f"{prim.symbol}x"
    impl = prim.impl
    module = prim.module or ("numpy" if isinstance(impl, np.ufunc) else impl.__module__)
    return f"{module}.{prim.symbol if prim.module else impl.__name__}({', '.join(args)})"


@pytest.fixture(scope="module")
def functions(tmp_path_factory):
    """``(name, arity) -> function`` applying each twin's primitive once, from a generated module."""
    lines = ["import builtins", "import math", "import numpy", ""]
    lines += ["import scipy.special", ""] if "scipy.special" in sys.modules else []
    names = {}
    for scalar, twin, arity in TWINS:
        for name in (scalar, twin):
            if name in PRIMITIVES and (name, arity) not in names:
                fn = names[name, arity] = f"f{len(names)}"
                params = ", ".join(["x", "y"][:arity])
                lines += [f"def {fn}({params}):", f"    return {_call_source(name, arity)}", "", ""]
    path = tmp_path_factory.mktemp("twins") / "twin_functions.py"
    path.write_text("\n".join(lines))
    spec = importlib.util.spec_from_file_location("twin_functions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {key: getattr(module, fn) for key, fn in names.items()}


def _units(arity: int) -> list:
    return [tuple(1.0 if i == j else 0.0 for j in range(arity)) for i in range(arity)]


def derivatives(fn, point: tuple, arrays: bool) -> dict:
    """Each entry point's partial derivatives of ``fn`` at ``point``, numbers or arrays of one
    element (where the builtin operators use their array variants)."""
    arity = len(point)
    if not arrays:
        wrt = tuple(range(arity))
        found = {
            "grad": s2sad.grad(fn, wrt=wrt)(*point),
            "jvp": tuple(s2sad.jvp(fn, point, unit)[1] for unit in _units(arity)),
        }
    else:
        xs = tuple(np.array([x]) for x in point)
        _, pullback = s2sad.vjp(fn, *xs)
        found = {
            "vjp": tuple(g[0] for g in pullback(np.ones(1))),
            "jvp": tuple(
                s2sad.jvp(fn, xs, tuple(np.array([u]) for u in unit))[1][0]
                for unit in _units(arity)
            ),
        }
    return {mode: tuple(float(d) for d in partials) for mode, partials in found.items()}


def _close(got: float, want: float) -> bool:
    if math.isinf(want) or want == 0:
        return got == want
    return abs(got - want) <= RTOL * abs(want)


@pytest.mark.parametrize(("scalar", "twin", "arity"), TWINS, ids=[f"{s}-{t}" for s, t, _ in TWINS])
def test_twins_agree_with_the_oracle(functions, scalar, twin, arity):
    variant = twin not in PRIMITIVES  # "array pow": the scalar function applied to arrays
    failures = []
    points = [point for point in ORACLE[scalar][1] if len(point) == arity]
    assert points
    for point in points:
        want = oracle(scalar, point)
        runs = [(scalar, functions[scalar, arity], False)]
        runs += (
            [(twin, functions[scalar, arity], True)]
            if variant
            else [
                (twin, functions[twin, arity], False),
                (twin, functions[twin, arity], True),
            ]
        )
        for rule, fn, arrays in runs:
            with np.errstate(all="ignore"):
                found = derivatives(fn, point, arrays)
            for mode, got in found.items():
                if not all(map(_close, got, want)):
                    where = "arrays" if arrays else "numbers"
                    failures.append(f"{rule} {mode} on {where} at {point}: {got}, exact {want}")
    assert not failures, "\n".join(failures)


def tanh_of_number(x):
    return math.tanh(x)


def tanh_of_array(v):
    return np.sum(np.tanh(v))


@pytest.mark.parametrize("fn", [tanh_of_number, tanh_of_array])
def test_the_stable_slope_of_tanh_computes_its_exponential_once(fn):
    """Beyond |x| = 1 the slope of tanh is exp(-2|x|) (1 + |tanh x|)**2, one exponential per element
    (the value itself is checked against the oracle above, at extreme arguments too)."""
    for source in (s2sad.adjoint_source(fn), s2sad.tangent_source(fn)):
        assert source.count("exp(") == 1, source
