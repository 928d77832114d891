"""Lists, tuples and 1-d arrays whose length is known at the call, used as sequences.

Benchmark functions as optimisation test suites and DEAP write them (Rosenbrock over
``range(len(x) - 1)`` or over ``zip(x[:-1], x[1:])``, Rastrigin with ``for v in x``, a dot product
with ``zip``, a weighted sum over ``enumerate``, unpacking ``a, b, c = p`` and ``_, n = X.shape``,
``len(x)`` in arithmetic), differentiated for lists, tuples and arrays of 2, 3 and 5 elements in
every entry point, against their gradients worked out by hand and against central differences.
The gradient comes back in its argument's structure: a list for a list, a tuple for a tuple, an
array of the argument's shape for an array.
"""

import math

import numpy as np
import pytest

import s2sad
from s2sad import runtime

RNG = np.random.default_rng(20261207)
KINDS = (list, tuple, np.array)
# The hand-worked gradients are exact formulas evaluated in another order than the generated code,
# so they agree to rounding (values here are at most ~1e4).
EXACT = dict(rtol=1e-10, atol=1e-10)
# Central differences with step 1e-6 in float64: truncation ~h²·f''' (≲1e-8 for these functions
# at |x| ≤ 2) plus rounding ~eps·|f|/h (≲1e-6 for |f| ≲ 1e4): 1e-5 leaves a margin.
DIFFERENCES = dict(rtol=1e-5, atol=1e-5)


# --- functions as they are written in the wild, and their gradients by hand ---------------------


def rosenbrock(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def rosenbrock_deap(individual):
    return sum(
        100 * (x * x - y) ** 2 + (1.0 - x) ** 2 for x, y in zip(individual[:-1], individual[1:])
    )


def rosenbrock_gradient(x):
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    g[:-1] += -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def rastrigin(x):
    s = 10.0 * len(x)
    for v in x:
        s += v * v - 10.0 * np.cos(2.0 * np.pi * v)
    return s


def rastrigin_deap(individual):
    return 10 * len(individual) + sum(
        gene * gene - 10 * math.cos(2 * math.pi * gene) for gene in individual
    )


def rastrigin_gradient(x):
    x = np.asarray(x, dtype=float)
    return 2.0 * x + 20.0 * np.pi * np.sin(2.0 * np.pi * x)


def weighted(x):
    s = 0.0
    for i, v in enumerate(x):
        s += (i + 1) * v**2
    return s


def weighted_gradient(x):
    x = np.asarray(x, dtype=float)
    return 2.0 * np.arange(1, len(x) + 1) * x


def chained(p):
    return sum([a * b for a, b in zip(p[:-1], p[1:])])


def chained_gradient(p):
    p = np.asarray(p, dtype=float)
    g = np.zeros_like(p)
    g[:-1] += p[1:]
    g[1:] += p[:-1]
    return g


def tail(p):
    return p[0] * sum(p[1:])


def tail_gradient(p):
    p = np.asarray(p, dtype=float)
    return np.concatenate([[np.sum(p[1:])], np.full(len(p) - 1, p[0])])


def styblinski_tang(x):
    return sum(v**4 - 16.0 * v**2 + 5.0 * v for v in x) / 2.0


def styblinski_tang_gradient(x):
    x = np.asarray(x, dtype=float)
    return (4.0 * x**3 - 32.0 * x + 5.0) / 2.0


def ackley(x):
    n = len(x)
    squares = sum([v * v for v in x]) / n
    waves = sum([np.cos(2.0 * np.pi * v) for v in x]) / n
    return -20.0 * np.exp(-0.2 * np.sqrt(squares)) - np.exp(waves) + 20.0 + np.e


def ackley_gradient(x):
    x = np.asarray(x, dtype=float)
    n = len(x)
    root = np.sqrt(np.sum(x * x) / n)
    waves = np.exp(np.sum(np.cos(2.0 * np.pi * x)) / n)
    return (
        4.0 * np.exp(-0.2 * root) * x / (n * root)
        + waves * 2.0 * np.pi * np.sin(2.0 * np.pi * x) / n
    )


BENCHMARKS = [
    (rosenbrock, rosenbrock_gradient),
    (rosenbrock_deap, rosenbrock_gradient),
    (rastrigin, rastrigin_gradient),
    (rastrigin_deap, rastrigin_gradient),
    (weighted, weighted_gradient),
    (chained, chained_gradient),
    (tail, tail_gradient),
    (styblinski_tang, styblinski_tang_gradient),
    (ackley, ackley_gradient),
]
CASES = [
    pytest.param(f, g, kind, n, id=f"{f.__name__}-{kind.__name__}-{n}")
    for f, g in BENCHMARKS
    for kind in KINDS
    for n in (2, 3, 5)
]


def point(kind, n: int):
    return kind(list(RNG.uniform(-2.0, 2.0, size=n)))


def flat(value) -> np.ndarray:
    return np.asarray(value, dtype=float).ravel()


def like(kind, values):
    return kind(list(values)) if kind is not np.array else np.array(values)


def differences(f, x, h: float = 1e-6) -> np.ndarray:
    """Central differences of ``f`` at ``x`` (a list, tuple or array), element by element."""
    kind = type(x) if type(x) is not np.ndarray else np.array
    base = flat(x)
    grad = []
    for i in range(len(base)):
        step = np.zeros_like(base)
        step[i] = h
        grad.append((f(like(kind, base + step)) - f(like(kind, base - step))) / (2 * h))
    return np.array(grad)


def assert_structured_like(gradient, x) -> None:
    """A gradient in its argument's structure: the same container type and length."""
    if isinstance(x, np.ndarray):
        assert type(gradient) is np.ndarray and gradient.shape == x.shape
        assert gradient.dtype == x.dtype
    else:
        assert type(gradient) is type(x) and len(gradient) == len(x)
        assert all(isinstance(g, float) for g in gradient)


# --- every entry point --------------------------------------------------------------------------


@pytest.mark.parametrize("f, gradient, kind, n", CASES)
def test_grad_and_value_and_grad(f, gradient, kind, n):
    x = point(kind, n)
    g = s2sad.grad(f)(x)
    assert_structured_like(g, x)
    np.testing.assert_allclose(flat(g), gradient(x), **EXACT)
    np.testing.assert_allclose(flat(g), differences(f, x), **DIFFERENCES)
    value, g = s2sad.value_and_grad(f)(x)
    assert_structured_like(g, x)
    assert value == pytest.approx(f(x), rel=1e-12)
    np.testing.assert_allclose(flat(g), gradient(x), **EXACT)


@pytest.mark.parametrize("f, gradient, kind, n", CASES)
def test_jvp_and_vjp(f, gradient, kind, n):
    x, v = point(kind, n), point(kind, n)
    value, tangent = s2sad.jvp(f, (x,), (v,))
    assert value == pytest.approx(f(x), rel=1e-12)
    assert tangent == pytest.approx(float(gradient(x) @ flat(v)), rel=1e-10, abs=1e-10)
    value, pullback = s2sad.vjp(f, x)
    (g,) = pullback(1.0)
    assert type(g) is type(x) and len(g) == len(x)
    np.testing.assert_allclose(flat(g), gradient(x), **EXACT)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("f, gradient, kind, n", CASES)
def test_jacobian(f, gradient, kind, n, mode):
    x = point(kind, n)
    jac = s2sad.jacobian(f, mode=mode)(x)
    assert type(jac) is type(x) and len(jac) == len(x)
    np.testing.assert_allclose(flat([np.asarray(j) for j in jac]), gradient(x), **EXACT)


@pytest.mark.parametrize("f, gradient, kind, n", CASES)
def test_hessian_against_differences_of_the_gradient(f, gradient, kind, n):
    x = point(kind, n)
    hess = s2sad.hessian(f)(x)
    matrix = np.array([flat(row) for row in hess])
    columns = [differences(lambda y, i=i: gradient(y)[i], x) for i in range(n)]
    np.testing.assert_allclose(matrix, np.array(columns), rtol=1e-5, atol=1e-4)
    hvp = s2sad.hvp(f)(x, x)
    np.testing.assert_allclose(flat(hvp), np.array(columns) @ flat(x), rtol=1e-5, atol=1e-4)


def printed(source: str, name: str):
    """The function ``name`` of printed derivative code, run in this module's globals with the
    runtime helpers, and the math names code for numbers is printed with (``sin``, ``pi``)."""
    names = {"sin": math.sin, "cos": math.cos, "pi": math.pi}
    namespace = {**globals(), **names, **{fn.__name__: fn for fn in runtime.HELPERS}}
    exec(source, namespace)
    return namespace[name]


@pytest.mark.parametrize("f, gradient, kind, n", CASES)
def test_printed_and_exported_code(f, gradient, kind, n):
    x = point(kind, n)
    leaves = (x,) if isinstance(x, np.ndarray) else tuple(x)
    grad = printed(s2sad.adjoint_source(f, args=(x,)), f"{f.__name__}_grad")
    np.testing.assert_allclose(flat(grad(*leaves)), gradient(x), **EXACT)
    jvp = printed(s2sad.tangent_source(f, args=(x,)), f"{f.__name__}_jvp")
    v = point(kind, n)
    directions = (v,) if isinstance(v, np.ndarray) else tuple(v)
    _, tangent = jvp(*leaves, *directions)
    assert tangent == pytest.approx(float(gradient(x) @ flat(v)), rel=1e-10, abs=1e-10)
    module: dict = {}
    exec(s2sad.export_source(f, args=(x,)), module)
    np.testing.assert_allclose(flat(module[f"{f.__name__}_grad"](*leaves)), gradient(x), **EXACT)


def test_one_derivative_serves_every_length_and_kind():
    grad = s2sad.grad(rastrigin)
    for n in (2, 5, 3, 2):
        for kind in KINDS:
            x = point(kind, n)
            np.testing.assert_allclose(flat(grad(x)), rastrigin_gradient(x), **EXACT)


# --- unpacking and shapes ----------------------------------------------------------------------


def triple(p):
    a, b, c = p
    return a * b**2 + np.exp(c) * a


def triple_gradient(p):
    a, b, c = p
    return np.array([b**2 + np.exp(c), 2.0 * a * b, a * np.exp(c)])


def mean_square(X):
    _, n = X.shape
    m = X.shape[0]
    return np.sum(X**2) / n + m * X[0, 0]


def mean_square_gradient(X):
    g = 2.0 * X / X.shape[1]
    g[0, 0] += X.shape[0]
    return g


@pytest.mark.parametrize("kind", KINDS)
def test_unpacking_a_list_a_tuple_or_an_array(kind):
    p = point(kind, 3)
    for g in (s2sad.grad(triple)(p), s2sad.vjp(triple, p)[1](1.0)[0]):
        assert type(g) is type(p)
        np.testing.assert_allclose(flat(g), triple_gradient(p), **EXACT)
    np.testing.assert_allclose(flat(s2sad.grad(triple)(p)), differences(triple, p), **DIFFERENCES)
    jac = s2sad.jacobian(triple, mode="forward")(p)
    np.testing.assert_allclose(flat([np.asarray(j) for j in jac]), triple_gradient(p), **EXACT)
    hess = np.array([flat(row) for row in s2sad.hessian(triple)(p)])
    columns = [differences(lambda y, i=i: triple_gradient(y)[i], p) for i in range(3)]
    np.testing.assert_allclose(hess, np.array(columns), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("shape", [(2, 3), (3, 5), (1, 2)])
def test_unpacking_a_shape(shape):
    X = RNG.normal(size=shape)
    np.testing.assert_allclose(s2sad.grad(mean_square)(X), mean_square_gradient(X), **EXACT)
    value, g = s2sad.value_and_grad(mean_square)(X)
    assert value == pytest.approx(mean_square(X), rel=1e-12)
    np.testing.assert_allclose(g, mean_square_gradient(X), **EXACT)
    V = RNG.normal(size=shape)
    _, tangent = s2sad.jvp(mean_square, (X,), (V,))
    assert tangent == pytest.approx(np.sum(mean_square_gradient(X) * V), rel=1e-10)
    grad = printed(s2sad.adjoint_source(mean_square, args=(X,)), "mean_square_grad")
    np.testing.assert_allclose(grad(X), mean_square_gradient(X), **EXACT)
    flat_hessian = s2sad.hessian(mean_square)(X).reshape(X.size, X.size)
    np.testing.assert_allclose(flat_hessian, 2.0 / shape[1] * np.eye(X.size), **EXACT)


def dot(p, q):
    s = 0.0
    for a, b in zip(p, q):
        s += a * b
    return s


@pytest.mark.parametrize("kinds", [(list, list), (tuple, np.array), (np.array, np.array)])
@pytest.mark.parametrize("n", [2, 3, 5])
def test_zip_of_two_arguments(kinds, n):
    p, q = point(kinds[0], n), point(kinds[1], n)
    gp, gq = s2sad.grad(dot, wrt=(0, 1))(p, q)
    assert type(gp) is type(p) and type(gq) is type(q)
    np.testing.assert_allclose(flat(gp), flat(q), **EXACT)
    np.testing.assert_allclose(flat(gq), flat(p), **EXACT)
    u, v = point(kinds[0], n), point(kinds[1], n)
    _, tangent = s2sad.jvp(dot, (p, q), (u, v))
    assert tangent == pytest.approx(float(flat(u) @ flat(q) + flat(p) @ flat(v)), rel=1e-12)


def nested(params):
    s = 0.0
    for w in params["w"]:
        s += w * params["b"]
    return s


def test_an_array_inside_a_structure():
    params = {"w": np.array([1.0, 2.0, 3.0]), "b": 0.5}
    g = s2sad.grad(nested)(params)
    np.testing.assert_allclose(g["w"], np.full(3, 0.5), **EXACT)
    assert g["b"] == pytest.approx(6.0)


# --- what code that reads no length keeps, and what printed code refuses -------------------------


def summed(x):
    return np.sum(x**2)


def test_code_that_reads_no_length_serves_every_shape():
    grad = printed(s2sad.adjoint_source(rosenbrock), "rosenbrock_grad")  # len(x) when it runs
    for n in (2, 3, 5):
        x = RNG.normal(size=n)
        np.testing.assert_allclose(grad(x), rosenbrock_gradient(x), **EXACT)
    assert "require_shape" not in s2sad.adjoint_source(summed, args=(np.ones(3),))


def test_printed_and_exported_code_refuse_another_length():
    x = np.array([0.5, -1.0, 2.0])
    grad = printed(s2sad.adjoint_source(rastrigin, args=(x,)), "rastrigin_grad")
    np.testing.assert_allclose(grad(x), rastrigin_gradient(x), **EXACT)
    with pytest.raises(ValueError, match=r"`x` has shape \(4,\).*compiled for shape \(3,\)"):
        grad(np.ones(4))
    module: dict = {}
    exec(s2sad.export_source(triple, args=(x,)), module)
    with pytest.raises(ValueError, match=r"`p` has shape \(2,\)"):
        module["triple_grad"](np.ones(2))


# --- refusals -----------------------------------------------------------------------------------


def grown(x):
    xs = []
    while len(xs) < 3:
        xs.append(x * len(xs))
    return sum(xs)


def looped(x):
    s = 0.0
    for v in x:
        s += v * v
    return s


def refusal(call) -> s2sad.S2SADError:
    with pytest.raises(s2sad.S2SADError) as info:
        call()
    return info.value


def test_a_list_grown_at_run_time_is_refused_with_advice():
    err = refusal(lambda: s2sad.grad(grown)(1.0))
    assert err.location.line == grown.__code__.co_firstlineno + 3
    assert "xs.append" in str(err) and "s += v" in err.hint and "np.zeros(n)" in err.hint


def test_a_number_is_not_a_sequence():
    err = refusal(lambda: s2sad.grad(looped)(2.0))
    assert "`x` is a number here" in err.message
    assert err.location.line == looped.__code__.co_firstlineno + 2


def python_sum(x):
    return sum(x) * x[0]


def test_a_long_array_is_not_unrolled_but_refused_with_the_loop_to_write():
    err = refusal(lambda: s2sad.grad(python_sum)(np.ones(100)))
    assert "100 elements" in err.message and "range(len(x))" in err.hint


def two_loops(x, y):
    s = 0.0
    for i, v in enumerate(x):
        s += (i + 1) * v**2
    for a, b in zip(x, y):
        s += a * np.sin(b)
    return s + v * a  # the loops' names hold the last elements after them


def two_loops_gradient(x, y):
    gx = 2.0 * np.arange(1, len(x) + 1) * x + np.sin(y)
    gx[-1] += 2.0 * x[-1]
    return gx, x * np.cos(y)


@pytest.mark.parametrize("n", [65, 100])
def test_a_loop_over_a_long_array_runs_over_its_positions(n):
    x, y = RNG.normal(size=n), RNG.normal(size=n)
    gx, gy = s2sad.grad(two_loops, wrt=(0, 1))(x, y)
    ex, ey = two_loops_gradient(x, y)
    np.testing.assert_allclose(gx, ex, **EXACT)
    np.testing.assert_allclose(gy, ey, **EXACT)
    np.testing.assert_allclose(s2sad.grad(looped)(x), 2.0 * x, **EXACT)
    _, tangent = s2sad.jvp(two_loops, (x, y), (y, x))
    assert tangent == pytest.approx(ex @ y + ey @ x, rel=1e-10)
    np.testing.assert_allclose(s2sad.hessian(looped)(x), 2.0 * np.eye(n), **EXACT)
    source = s2sad.adjoint_source(two_loops, args=(x, y))
    assert f"range({n})" in source and "x[0]" not in source  # a loop, not unrolled
    grad = printed(source, "two_loops_grad")
    np.testing.assert_allclose(grad(x, y)[0], ex, **EXACT)
    with pytest.raises(ValueError, match="compiled for shape"):
        grad(x[:-1], y[:-1])


def test_unpacking_another_length_is_refused():
    for p in ([1.0, 2.0], np.ones(4)):
        err = refusal(lambda: s2sad.grad(triple)(p))
        assert f"cannot unpack {len(p)} values into 3 names" in err.message


def test_without_arguments_the_trace_asks_for_them():
    err = refusal(lambda: s2sad.trace(looped))
    assert isinstance(err, s2sad.StructureNeededError) and "an array" in err.hint


# --- sequences a called function returns -----------------------------------------------------------


def _rates(a, b):
    return [a * b, a - b, a / (1.0 + b * b)]


def _sum_of_returned(a, b):
    return sum(_rates(a, b))


def _loop_over_returned(a, b):
    total = 0.0
    for i, r in enumerate(_rates(a, b)):
        total = total + (i + 1) * r * r
    return total


def _zip_of_returned(a, b):
    return sum(u * v for u, v in zip(_rates(a, b), (a, b, a * b)))


def _returned_by_hand(a, b):
    """The three functions above and their gradients, written out."""
    r = [a * b, a - b, a / (1.0 + b * b)]
    dr_da = [b, 1.0, 1.0 / (1.0 + b * b)]
    dr_db = [a, -1.0, -2.0 * a * b / (1.0 + b * b) ** 2]
    w = [a, b, a * b]
    dw_da, dw_db = [1.0, 0.0, b], [0.0, 1.0, a]
    return {
        _sum_of_returned: (sum(dr_da), sum(dr_db)),
        _loop_over_returned: tuple(
            sum(2 * (i + 1) * r[i] * d[i] for i in range(3)) for d in (dr_da, dr_db)
        ),
        _zip_of_returned: tuple(
            sum(dr[i] * w[i] + r[i] * dw[i] for i in range(3))
            for dr, dw in ((dr_da, dw_da), (dr_db, dw_db))
        ),
    }


@pytest.mark.parametrize("f", [_sum_of_returned, _loop_over_returned, _zip_of_returned])
def test_a_list_a_called_function_returns_is_a_known_sequence(f):
    a, b = 0.7, -1.3
    expected = _returned_by_hand(a, b)[f]
    np.testing.assert_allclose(s2sad.grad(f, wrt=(0, 1))(a, b), expected, **EXACT)
    np.testing.assert_allclose(s2sad.vjp(f, a, b)[1](1.0), expected, **EXACT)
    slope = s2sad.jvp(f, (a, b), (0.5, -2.0))[1]
    np.testing.assert_allclose(slope, 0.5 * expected[0] - 2.0 * expected[1], **EXACT)
