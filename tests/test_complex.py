"""Complex values are refused, clearly, wherever they would enter a derivative.

s2sad's rules are derivatives of real functions; a complex value run through them gives numbers that
look like derivatives and are not (the tangent of ``np.abs`` at ``3+4j`` came out ``0.6+0.8j``; the
Hessian of ``np.exp`` at ``1+2j`` dropped the imaginary part with only a ComplexWarning). So every
entry point refuses complex arguments, directions and cotangents with an ``ArgumentError`` naming
the argument (a structure's leaf by its path), and a complex constant in the function is refused at
its line. Each message says what to do instead: split the value into real and imaginary parts.
"""

import linecache
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

import s2sad
from s2sad.errors import ArgumentError, UnsupportedSyntaxError

C = 1 + 2j
C_ARRAY = np.array([1j, 2.0])


def square(x):
    return x * x


def exp_sum(x):
    return np.sum(np.exp(x))


def cube(z):
    return z**3


def modulus(z):
    return np.abs(z)


def scaled(x, c):
    return x * c


def norm(v):
    return np.linalg.norm(v)


def product(p):
    return p["a"] * p["b"]


@dataclass
class Pair:
    a: float
    b: float


def pair_product(p):
    return p.a * p.b


def first_times_second(xs):
    return xs[0] * xs[1]


@pytest.fixture(autouse=True)
def warnings_are_errors():
    """A ComplexWarning (an imaginary part silently dropped) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def refused_argument(call, what: str) -> ArgumentError:
    with pytest.raises(ArgumentError) as info:
        call()
    err = info.value
    assert err.message.startswith(f"{what} is "), err.message
    assert "complex" in err.message
    assert "real and imaginary parts" in err.hint
    return err


COMPLEX_VALUES = [
    pytest.param(1 + 2j, id="complex"),
    pytest.param(np.complex128(1 + 2j), id="complex128"),
    pytest.param(np.complex64(2j), id="complex64"),
]


# --- complex arguments, at every entry point ---------------------------------------------------


@pytest.mark.parametrize("z", COMPLEX_VALUES)
def test_gradients_refuse_a_complex_number(z):
    refused_argument(lambda: s2sad.grad(square)(z), "`x`")
    refused_argument(lambda: s2sad.value_and_grad(square)(z), "`x`")
    refused_argument(lambda: s2sad.grad(s2sad.grad(square))(z), "`x`")
    refused_argument(lambda: s2sad.elementwise_grad(square)(z), "`x`")


@pytest.mark.parametrize("z", COMPLEX_VALUES)
def test_products_refuse_a_complex_number(z):
    refused_argument(lambda: s2sad.jvp(modulus, (z,), (1.0,)), "`z`")
    refused_argument(lambda: s2sad.vjp(modulus, z), "`z`")
    refused_argument(lambda: s2sad.hvp(square)(z, 1.0), "`x`")


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobians_refuse_a_complex_number(mode):
    refused_argument(lambda: s2sad.jacobian(cube, mode=mode)(1 + 1j), "`z`")
    refused_argument(lambda: s2sad.jacobian(exp_sum, mode=mode)(np.ones(2, complex)), "`x`")


def test_second_derivatives_refuse_a_complex_number():
    refused_argument(lambda: s2sad.hessian(cube)(1 + 1j), "`z`")
    refused_argument(lambda: s2sad.hessian(exp_sum)(np.array([1 + 2j])), "`x`")
    refused_argument(lambda: s2sad.grad(s2sad.grad(cube))(1 + 2j), "`z`")


def test_check_grad_and_explain_refuse_a_complex_number():
    refused_argument(lambda: s2sad.check_grad(square, 1 + 2j), "`x`")
    refused_argument(lambda: s2sad.check_grad(exp_sum, np.ones(2, complex)), "`x`")
    refused_argument(lambda: s2sad.explain(square, 1j), "`x`")
    refused_argument(lambda: s2sad.tangent_source(square, args=(1j,)), "`x`")


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_arrays_are_refused(dtype):
    z = np.array([1 + 1j, 2.0], dtype=dtype)
    err = refused_argument(lambda: s2sad.grad(norm)(z), "`v`")
    assert np.dtype(dtype).name in err.message
    refused_argument(lambda: s2sad.jvp(modulus, (z,), (np.ones(2),)), "`z`")
    refused_argument(lambda: s2sad.elementwise_grad(square)(z), "`x`")
    refused_argument(lambda: s2sad.vjp(square, z), "`x`")


def test_a_complex_argument_not_differentiated_is_refused_too():
    # c is not differentiated, but it makes the active value x * c complex
    refused_argument(lambda: s2sad.grad(scaled)(1.0, 2j), "`c`")
    refused_argument(lambda: s2sad.grad(scaled, wrt=0)(np.ones(2), np.ones(2, complex)), "`c`")
    refused_argument(lambda: s2sad.jacobian(scaled, mode="forward")(1.0, 1j), "`c`")


def test_complex_leaves_of_structures_are_named_by_their_path():
    refused_argument(lambda: s2sad.grad(product)({"a": 1.0, "b": 2j}), '`p["b"]`')
    refused_argument(lambda: s2sad.grad(pair_product)(Pair(1.0, 2j)), "`p.b`")
    refused_argument(lambda: s2sad.grad(first_times_second)([1.0, 1j]), "`xs[1]`")
    refused_argument(lambda: s2sad.hessian(product)({"a": 1j, "b": 2.0}), '`p["a"]`')
    refused_argument(lambda: s2sad.check_grad(product, {"a": 1.0, "b": 2j}), '`p["b"]`')


def test_complex_tangents_and_directions_are_refused():
    refused_argument(lambda: s2sad.jvp(modulus, (3.0,), (1j,)), "the direction for `z`")
    x = np.ones(2)
    refused_argument(lambda: s2sad.jvp(square, (x,), (x * 1j,)), "the direction for `x`")
    refused_argument(lambda: s2sad.hvp(square)(2.0, 1j), "the direction for `x`")
    p = {"a": 1.0, "b": 2.0}
    refused_argument(
        lambda: s2sad.hvp(product)(p, {"a": 1.0, "b": 1j}), 'the direction for `p["b"]`'
    )


def test_complex_cotangents_are_refused():
    _, pullback = s2sad.vjp(square, 2.0)
    refused_argument(lambda: pullback(1j), "the cotangent for the output of `square`")
    _, pullback = s2sad.vjp(square, np.ones(2))
    refused_argument(
        lambda: pullback(np.ones(2, complex)), "the cotangent for the output of `square`"
    )
    assert pullback(np.ones(2))[0].tolist() == [2.0, 2.0]  # the pullback still works after


def scaled_by_default(x, c=1j):
    return np.abs(x * c)


def test_a_complex_default_is_refused():
    for call in (
        lambda: s2sad.grad(scaled_by_default)(1.0),
        lambda: s2sad.jvp(scaled_by_default, (1.0,), (1.0,)),
        lambda: s2sad.jacobian(scaled_by_default, mode="reverse")(1.0),
    ):
        with pytest.raises(s2sad.S2SADError, match="complex"):
            call()


def test_real_arguments_still_work():
    # d/dx x**3 = 3 x**2, d²/dx² = 6 x
    assert s2sad.grad(cube)(2.0) == 12.0
    assert s2sad.hessian(cube)(2.0) == 12.0
    assert s2sad.jvp(modulus, (-3.0,), (1.0,)) == (3.0, -1.0)
    assert s2sad.grad(norm)(np.array([3.0, 4.0])).tolist() == [0.6, 0.8]


# --- complex constants in the function, refused at their line ------------------------------------


def times_global(x):
    return x * C  # refused: C


def times_array_global(x):
    return np.sum(np.abs(x * C_ARRAY))  # refused: C_ARRAY


def times_literal(x):
    return x * (1 + 2j)  # refused: 2j


def exp_of_literal(x):
    return np.abs(np.exp(1j * x))  # refused: 1j


def complex_dtype(x):
    return np.sum(np.abs(x * np.ones(2, dtype=complex)))  # refused: np.ones(2, dtype=complex)


def cast_to_complex(x):
    return np.sum(np.abs(x.astype(complex) * 2.0))  # refused: x.astype(complex)


def cast_to_named_complex(x):
    return np.sum(np.abs(x.astype("complex64")))  # refused: x.astype("complex64")


def make_closure():
    z = 3j

    def times_closure(x):
        return abs(x * z)  # refused: z

    return times_closure


def marked(fn) -> tuple:
    """``(line, column, snippet)`` of the ``# refused: snippet`` mark in ``fn``'s source."""
    code = fn.__code__
    for line in range(code.co_firstlineno, code.co_firstlineno + 10):
        text = linecache.getline(code.co_filename, line)
        if "# refused: " in text:
            snippet = text.split("# refused: ")[1].strip()
            return line, text.index(snippet), snippet
    raise AssertionError("no mark")


CONSTANTS = [
    (times_global, 1.0),
    (times_array_global, 1.0),
    (times_literal, 1.0),
    (exp_of_literal, 1.0),
    (complex_dtype, np.ones(2)),
    (cast_to_complex, np.ones(2)),
    (cast_to_named_complex, np.ones(2)),
    (make_closure(), 1.0),
]


@pytest.mark.parametrize("fn, x", CONSTANTS, ids=[fn.__name__ for fn, _ in CONSTANTS])
def test_complex_constants_are_refused_at_their_place(fn, x):
    line, column, snippet = marked(fn)
    calls = [
        lambda: s2sad.grad(fn)(x),
        lambda: s2sad.jvp(fn, (x,), (np.ones_like(x),)),
        lambda: s2sad.vjp(fn, x),
        lambda: s2sad.jacobian(fn, mode="forward")(x),
        lambda: s2sad.hessian(fn)(x),
    ]
    for call in calls:
        with pytest.raises(UnsupportedSyntaxError) as info:
            call()
        err = info.value
        assert (err.location.line, err.location.column) == (line, column), str(err)
        assert err.location.width == len(snippet), str(err)
        assert "complex" in err.message and "real and imaginary parts" in err.hint


def test_the_advice_works():
    """|z| of z = x + iy written on the real and imaginary parts: ∂|z|/∂x = x/|z|, ∂|z|/∂y = y/|z|."""

    def modulus_of_parts(x, y):
        return np.hypot(x, y)

    z = 3 + 4j
    assert s2sad.grad(modulus_of_parts, wrt=(0, 1))(z.real, z.imag) == (0.6, 0.8)
    assert math.isclose(s2sad.hessian(modulus_of_parts)(z.real, z.imag), 4.0**2 / 5.0**3)


# --- complex values a real function computes: Python's power of a negative number ------------------


def half_power(x):
    return x**0.5 + x


def half_power_of_difference(x, y):
    return (x - y) ** 1.5


@pytest.mark.parametrize(
    "derivative",
    [
        lambda f, args: s2sad.grad(f)(*args),
        lambda f, args: s2sad.value_and_grad(f)(*args),
        lambda f, args: s2sad.vjp(f, *args),
        lambda f, args: s2sad.jacobian(f, mode="forward")(*args),
        lambda f, args: s2sad.jacobian(f, mode="reverse")(*args),
        lambda f, args: s2sad.hessian(f)(*args),
        lambda f, args: s2sad.grad(s2sad.grad(f))(*args),
        lambda f, args: s2sad.check_grad(f, *args),
    ],
    ids=[
        "grad",
        "value_and_grad",
        "vjp",
        "jacobian-forward",
        "jacobian-reverse",
        "hessian",
        "grad-grad",
        "check_grad",
    ],
)
@pytest.mark.parametrize("f, args", [(half_power, (-1.0,)), (half_power_of_difference, (1.0, 2.0))])
def test_a_complex_value_computed_from_real_arguments_is_refused_when_it_arises(
    derivative, f, args
):
    # (-1.0) ** 0.5 is 1j in Python: a gradient would be complex (it came out 1 - 0.5j), and a
    # Jacobian of real numbers dropped the imaginary part with only a ComplexWarning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        with pytest.raises(s2sad.NoDerivativeHereError, match="complex"):
            derivative(f, args)


def test_where_the_power_is_real_its_derivatives_are_floats():
    # d/dx (x**0.5 + x) = 0.5 x**-0.5 + 1 = 1.25 and d²/dx² = -0.25 x**-1.5 = -1/32 at x = 4
    assert s2sad.grad(half_power)(4.0) == 1.25 and type(s2sad.grad(half_power)(4.0)) is float
    assert s2sad.hessian(half_power)(4.0) == -0.03125
    assert s2sad.jvp(half_power, (4.0,), (1.0,)) == (6.0, 1.25)


def test_jvp_gives_the_derivative_of_the_complex_value_along_a_real_direction():
    # x**0.5 = i sqrt(-x) for x < 0: its derivative along x is -i / (2 sqrt(-x)), -0.5j at -1
    value, slope = s2sad.jvp(half_power, (-1.0,), (1.0,))
    assert value == half_power(-1.0)
    assert abs(slope - (1.0 - 0.5j)) < 1e-15
