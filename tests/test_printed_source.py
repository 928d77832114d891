"""The printed and the exported derivative code compute what the derivative functions compute.

For each function below, the source ``adjoint_source`` and ``tangent_source`` print without example
arguments is run in the function's own globals (this module imports the names it reads: ``cos``,
``scalar_seed``, ``derivative_like``, ...), and the module ``export_source`` writes is imported;
both are compared with ``grad``, ``vjp`` and ``jvp`` and with derivatives worked out by hand, in
value and in type and shape: a derivative of a number is a float (never an integer, never an array
with no axes), a derivative of an array is an array of its shape and dtype (zeros where the output
does not depend on it).

Code printed for a function that does not use NumPy is code for numbers, as the notes write it; for
one that uses NumPy it serves numbers and arrays of any shape (see ``s2sad.adjoint_source``). The
hand-worked derivatives are exact formulas, evaluated in float64 in another order than the generated
code, so they agree to rounding: 1e-12 relative.
"""

import importlib.util
import math
from math import cos, sin  # noqa: F401  (names the printed code reads)

import numpy as np
import pytest

import s2sad
from s2sad.runtime import (  # noqa: F401  (likewise)
    broadcast_like,
    conform,
    derivative_like,
    matmul_adjoint,
    scalar_seed,
    unbroadcast,
)

TOL = dict(rtol=1e-12, atol=1e-12)
RNG = np.random.default_rng(12)
V = RNG.normal(size=3)
W = RNG.normal(size=(2, 3))


# --- functions, and their derivatives by hand ----------------------------------------------------


def notes(x1, x2):
    return x1 * x2 + math.sin(x1)


def notes_gradient(x1, x2):
    return x2 + math.cos(x1), x1


def affine(x, n):
    return x * n


def affine_gradient(x, n):
    return n, x


def unused(x, v):
    return x * x


def unused_gradient(x, v):
    return 2 * x, np.zeros_like(v) if isinstance(v, np.ndarray) else 0.0


def clipped(x, y):
    return max(x, 0) * y


def clipped_gradient(x, y):  # max routes the adjoint to its first argument on a tie
    return (y if x >= 0 else 0.0), max(x, 0)


def weighted(x, v):
    return np.sum(v) * x


def weighted_gradient(x, v):
    return np.sum(v), x * np.ones_like(v) if isinstance(v, np.ndarray) else x


def numpy_unused(x, v):
    return np.sin(x) * x


def numpy_unused_gradient(x, v):
    return np.sin(x) + x * np.cos(x), np.zeros_like(v) if isinstance(v, np.ndarray) else 0.0


def quadratic(m, x):
    return np.sum((m @ x) ** 2)


def quadratic_gradient(m, x):
    y = m @ x
    return 2 * np.outer(y, x), 2 * m.T @ y


def dotted(x, v):  # `@` without NumPy calls: numbers have no `@`, so this is code for arrays
    return (x * v) @ v


def dotted_gradient(x, v):
    return v @ v, 2 * x * v


GRADIENTS = [
    (notes, notes_gradient, [(2.0, 5.0), (2, 5)]),
    (affine, affine_gradient, [(2.0, 3.0), (2.0, 3), (2, 3)]),
    (unused, unused_gradient, [(1.5, 2.0), (3, 1)]),
    (clipped, clipped_gradient, [(-1.0, 2.0), (1.5, 2.0), (-1, 2)]),
    (weighted, weighted_gradient, [(1.5, V), (1.5, 2.0), (2, V)]),
    (numpy_unused, numpy_unused_gradient, [(0.7, V), (0.7, 2.0), (2, W)]),
    (quadratic, quadratic_gradient, [(W, V)]),
    (dotted, dotted_gradient, [(1.5, V), (2, V)]),
]


def pair(x, y):
    return x * y, x + y


def pair_vjp(x, y, y1_bar, y2_bar):
    return y1_bar * y + y2_bar, y1_bar * x + y2_bar


def waves(x, v):
    return np.sin(x) * v, x * 2.0


def waves_vjp(x, v, y1_bar, y2_bar):
    x_bar = np.sum(y1_bar * np.cos(x) * v) + 2.0 * y2_bar
    return x_bar, y1_bar * np.sin(x) * np.ones_like(v)


VJPS = [
    # output adjoints, like directions, are floats (vjp and jvp make integers given them floats)
    (pair, pair_vjp, [((2.0, 3.0), (1.0, 0.5)), ((2, 3), (1.0, 2.0))]),
    (waves, waves_vjp, [((0.4, V), (np.array([1.0, -2.0, 0.5]), 1.5)), ((0.4, 2.0), (1.0, 1.5))]),
]


# --- running the printed and the exported code ---------------------------------------------------


def printed(source: str, fn) -> dict:
    """The functions ``source`` defines, run in ``fn``'s globals."""
    namespace = dict(fn.__globals__)
    exec(compile(source, f"<printed derivative of {fn.__name__}>", "exec"), namespace)
    return namespace


_EXPORTED: dict = {}  # function -> its exported module's namespace: formatting takes a while


def exported(fn, tmp_path) -> dict:
    """The module ``export_source`` writes for ``fn``, imported (once per function)."""
    if fn not in _EXPORTED:
        path = tmp_path / f"{fn.__name__}_derivatives.py"
        path.write_text(s2sad.export_source(fn))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _EXPORTED[fn] = vars(module)
    return _EXPORTED[fn]


def for_numbers(fn) -> bool:
    """Whether the code printed for ``fn`` is code for numbers: ``fn`` does not use NumPy."""
    return fn in (notes, affine, unused, clipped, pair)


def same(got, expected, argument, what: str) -> None:
    """``got`` equals ``expected`` and is what a derivative of ``argument`` is: a float for a
    number, an array of its shape and dtype for an array."""
    if isinstance(argument, np.ndarray):
        assert type(got) is np.ndarray, f"{what}: {got!r} for an array"
        assert (got.shape, got.dtype) == (argument.shape, argument.dtype), what
    else:
        assert isinstance(got, float) and not isinstance(got, np.ndarray), f"{what}: {got!r}"
    np.testing.assert_allclose(got, expected, **TOL, err_msg=what)


def each(results, expected, arguments, what: str) -> None:
    assert len(results) == len(expected) == len(arguments), what
    for k, (got, want, argument) in enumerate(zip(results, expected, arguments)):
        same(got, want, argument, f"{what}[{k}]")


def calls(table):
    return [(fn, oracle, args) for fn, oracle, points in table for args in points]


@pytest.mark.parametrize(
    "fn, oracle, args", calls(GRADIENTS), ids=lambda v: getattr(v, "__name__", "")
)
def test_printed_and_exported_gradients_are_what_grad_computes(fn, oracle, args, tmp_path):
    if for_numbers(fn) and any(isinstance(a, np.ndarray) for a in args):
        pytest.skip("code printed for numbers")
    expected = oracle(*args)
    wrt = (0, 1)
    each(s2sad.grad(fn, wrt=wrt)(*args), expected, args, "grad")
    each(s2sad.value_and_grad(fn, wrt=wrt)(*args)[1], expected, args, "value_and_grad")
    each(s2sad.vjp(fn, *args)[1](1.0), expected, args, "vjp")
    name = f"{fn.__name__}_grad"
    each(printed(s2sad.adjoint_source(fn), fn)[name](*args), expected, args, "printed")
    teaching = printed(s2sad.adjoint_source(fn, teaching=True), fn)[name](*args)
    each(teaching, expected, args, "printed, teaching form")
    each(exported(fn, tmp_path)[name](*args), expected, args, "exported")


@pytest.mark.parametrize(
    "fn, oracle, args", calls(GRADIENTS), ids=lambda v: getattr(v, "__name__", "")
)
def test_printed_and_exported_tangents_are_what_jvp_computes(fn, oracle, args, tmp_path):
    if for_numbers(fn) and any(isinstance(a, np.ndarray) for a in args):
        pytest.skip("code printed for numbers")
    directions = tuple(
        RNG.normal(size=np.shape(a)) if isinstance(a, np.ndarray) else 0.5 for a in args
    )
    gradient = oracle(*args)
    expected = sum(np.sum(g * d) for g, d in zip(gradient, directions))
    value = fn(*args)
    got_value, tangent = s2sad.jvp(fn, args, directions)
    assert got_value == value
    same(tangent, expected, value, "jvp")
    name = f"{fn.__name__}_jvp"
    for what, namespace in [
        ("printed", printed(s2sad.tangent_source(fn), fn)),
        ("exported", exported(fn, tmp_path)),
    ]:
        got_value, tangent = namespace[name](*args, *directions)
        assert got_value == value, what
        same(tangent, expected, value, what)


@pytest.mark.parametrize("fn, oracle, args", calls(VJPS), ids=lambda v: getattr(v, "__name__", ""))
def test_printed_and_exported_vjps_of_several_outputs_are_what_vjp_computes(
    fn, oracle, args, tmp_path
):
    primals, cotangents = args
    expected = oracle(*primals, *cotangents)
    each(s2sad.vjp(fn, *primals)[1](cotangents), expected, primals, "vjp")
    name = f"{fn.__name__}_vjp"
    source = s2sad.adjoint_source(fn)
    assert f"def {name}(" in source and "_grad" not in source
    each(printed(source, fn)[name](*primals, *cotangents), expected, primals, "printed")
    each(exported(fn, tmp_path)[name](*primals, *cotangents), expected, primals, "exported")


# --- the contract of code printed without example arguments --------------------------------------


def sines(v):
    return np.sin(v)


def test_a_gradient_printed_for_numbers_and_arrays_refuses_an_array_output(tmp_path):
    with pytest.raises(s2sad.NonScalarOutputError):
        s2sad.grad(sines)(V)
    for what, namespace in [
        ("printed", printed(s2sad.adjoint_source(sines), sines)),
        ("exported", exported(sines, tmp_path)),
    ]:
        with pytest.raises(ValueError, match="returns one number"):
            namespace["sines_grad"](V)
        assert namespace["sines_grad"](0.5) == pytest.approx(math.cos(0.5), rel=1e-15), what


def constant_waves(x, v):
    return np.sin(V) * 2.0


def test_a_printed_gradient_refuses_an_array_output_no_input_changes(tmp_path):
    """No reverse sweep reads the seed of an output that depends on no input; the gradient still
    checks that the output is one number, as grad does, instead of returning zeros."""
    with pytest.raises(s2sad.NonScalarOutputError):
        s2sad.grad(constant_waves)(0.5, V)
    for what, namespace in [
        ("printed", printed(s2sad.adjoint_source(constant_waves), constant_waves)),
        ("teaching", printed(s2sad.adjoint_source(constant_waves, teaching=True), constant_waves)),
        ("exported", exported(constant_waves, tmp_path)),
    ]:
        with pytest.raises(ValueError, match="returns one number"):
            namespace["constant_waves_grad"](0.5, V)


def waves_and_unused(x, v, u):
    return np.sin(x) * v, x * 2.0


@pytest.mark.parametrize("teaching", [False, True])
def test_a_vjp_printed_for_example_arrays_gives_an_unused_array_zeros_of_its_shape(teaching):
    u = np.ones((2, 2), dtype=np.float32)
    primals, cotangents = (0.4, V, u), (np.array([1.0, -2.0, 0.5]), 1.5)
    source = s2sad.adjoint_source(waves_and_unused, teaching=teaching, args=primals)
    got = printed(source, waves_and_unused)["waves_and_unused_vjp"](*primals, *cotangents)
    x_bar, v_bar = waves_vjp(*primals[:2], *cotangents)
    same(got[1], v_bar, V, "v_bar")
    same(got[2], np.zeros((2, 2)), u, "u_bar")
    np.testing.assert_allclose(got[0], x_bar, **TOL)
    each(
        s2sad.vjp(waves_and_unused, *primals)[1](cotangents)[1:],
        (v_bar, 0.0 * u),
        primals[1:],
        "vjp",
    )


def test_the_unused_array_gets_zeros_of_its_shape_and_dtype(tmp_path):
    v = np.ones((2, 2), dtype=np.float32)
    _, v_bar = exported(numpy_unused, tmp_path)["numpy_unused_grad"](0.3, v)
    assert v_bar.shape == (2, 2) and v_bar.dtype == np.float32 and not v_bar.any()
    _, v_bar = s2sad.grad(numpy_unused, wrt=(0, 1))(0.3, v)
    assert v_bar.shape == (2, 2) and v_bar.dtype == np.float32 and not v_bar.any()


def test_code_for_numbers_says_so():
    source = s2sad.export_source([notes, weighted])
    assert "The derivatives of notes take numbers (ints or floats), not arrays." in " ".join(
        line.lstrip("# ") for line in source.splitlines()
    )
    # a function that uses NumPy gets code for numbers and arrays: nothing to say
    assert "weighted take" not in source.replace("\n# ", " ")


def test_the_notes_example_prints_as_the_notes_write_it():
    # at integer arguments x2_bar = x1 is an integer: the printed code makes it a float
    source = s2sad.adjoint_source(notes)
    assert "x1_bar = cos(x1) + x2\n    x2_bar = x1\n    return x1_bar, float(x2_bar)\n" in source
    teaching = s2sad.adjoint_source(notes, teaching=True)
    assert "float(" not in teaching  # every adjoint there is a product with the seed 1.0


# --- every entry point returns floats for numbers -----------------------------------------------


def cube(x):
    return x * x * x


def scaled(x, n):
    return x * n


@pytest.mark.parametrize("x", [2, 2.0, np.int64(2), True], ids=repr)
def test_derivatives_of_numbers_are_floats_at_integers_too(x):
    """``3x²`` and ``6x`` at an integer: the seed 1.0 folded away leaves integer arithmetic, which
    the code compiled for integers makes floats again."""
    d, dd = 3.0 * x * x, 6.0 * x  # (np.float64 is a float too)
    results = {
        "grad": s2sad.grad(cube)(x),
        "value_and_grad": s2sad.value_and_grad(cube)(x)[1],
        "vjp": s2sad.vjp(cube, x)[1](1)[0],
        "jvp": s2sad.jvp(cube, (x,), (1,))[1],
        "jacobian forward": s2sad.jacobian(cube, mode="forward")(x),
        "jacobian reverse": s2sad.jacobian(cube, mode="reverse")(x),
        "hessian": s2sad.hessian(cube)(x),
        "hvp": s2sad.hvp(cube)(x, 1.0),
        "grad of grad": s2sad.grad(s2sad.grad(cube))(x),
    }
    for what, got in results.items():
        expected = dd if what in ("hessian", "hvp", "grad of grad") else d
        assert isinstance(got, float) and got == expected, (what, got)
    assert s2sad.value_and_grad(cube)(x)[0] == cube(x)  # the value is the function's own


def test_an_integer_argument_does_not_make_a_derivative_an_integer():
    assert s2sad.grad(scaled)(2.0, 3) == 3.0 and type(s2sad.grad(scaled)(2.0, 3)) is float
    gradient = s2sad.grad(scaled, wrt=(0, 1))(2, 3)
    assert gradient == (3.0, 2.0) and all(type(g) is float for g in gradient)
    jacobian = s2sad.jacobian(pair, wrt=(0, 1))(2, 3)
    assert jacobian.dtype == float and jacobian.tolist() == [[3.0, 2.0], [1.0, 1.0]]


def test_a_number_argument_of_a_numpy_function_gets_a_float_not_an_array():
    # np.broadcast_to(s, np.shape(v)) is an array with no axes where v is a number
    for derivative in [
        s2sad.grad(weighted, wrt=(0, 1))(1.5, 2.0),
        s2sad.vjp(weighted, 1.5, 2.0)[1](1.0),
    ]:
        assert derivative == (2.0, 1.5) and all(isinstance(d, float) for d in derivative)
        assert not any(isinstance(d, np.ndarray) for d in derivative)


def test_a_float_gradient_stays_a_float_where_the_function_computes_an_integer():
    # y_bar = max(x, 0) is the integer 0 for x < 0, even at float arguments
    gradient = s2sad.grad(clipped, wrt=(0, 1))(-1.0, 2.0)
    assert gradient == (0.0, 0.0) and all(type(g) is float for g in gradient)


def filled(x, n):
    return np.sum(np.reshape(np.full((2, n), x), (n, 2)) ** 2)


def test_a_shape_built_from_an_integer_argument_is_not_taken_from_a_stand_in():
    # (n, 2) is known only when the code runs; 2 x summed over 2n elements: 4 n x
    x = np.array([1.5])
    gradient = s2sad.grad(filled)(x, 3)
    np.testing.assert_allclose(gradient, [4 * 3 * 1.5], **TOL)
    assert s2sad.grad(filled)(1.5, 3) == pytest.approx(18.0, rel=1e-15)
