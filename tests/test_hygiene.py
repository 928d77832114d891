"""Whatever the user calls a name, generated code computes what the function computes.

The compiler names what it adds after what it transforms (``w3_bar``, ``x_dot``, ``x_bar_sum1``,
``_tape1``, ``dw7_dw2``, ``f_grad``, ``_f_jvp``) and binds the objects it calls under their own names
(``np``, ``cos``, ``unbroadcast``, ``range``). Here functions are generated whose parameters, locals
and module globals take each of those spellings, and every entry point is checked against central
differences, along with the exported module in its teaching and optimised forms.

Central differences in float64: first derivatives with h = 1e-6 (error O(h^2 f''') + O(eps |f| / h),
below 1e-7 for these smooth functions of size about 1), second derivatives from four values of f with
h = 1e-4 (error O(h^2) + O(eps |f| / h^2), below 1e-6). Each function is smooth near its point: no
branch, loop exit or recursion changes within the step. Tolerances: 1e-6 (first), 1e-5 (second).
"""

import importlib
import sys

import numpy as np
import pytest

import s2sad

# Names of objects generated code calls (bound under these names unless the code uses them).
OBJECTS = ("np", "cos", "sin", "tanh", "unbroadcast", "scalar_seed", "range", "reversed", "next")
OBJECTS += ("list", "len", "zip")

# Spellings the compiler gives the names it generates (for a function `f` with a parameter `x`), and
# the names of the objects generated code calls.
PATTERNS = [
    # adjoints and tangents of parameters, and what is made from them
    *("x_bar", "x_dot", "x_bar_", "x_bar_dot", "x_dot_bar", "x_bar_1", "x_res"),
    *("x_bar_sum1", "x_bar_sum2", "x_bar_sum1_dot", "x_bar_part1", "x_bar_part3"),
    # the trace's own variables and theirs
    *("w1", "w3", "w3_bar", "w3_dot", "w3_bar_dot", "w4_bar_sum2", "w5_bar_1", "w3_res", "v2"),
    *("dw7_dw2", "dw3_dx", "dv5_dx"),
    # tapes, their readers, trip counts, what nobody reads
    *("_tape1", "_tape2", "_tape1_reader", "_tape2_reader", "_trips1", "_trips2", "_", "__"),
    # the outputs, their adjoints, flattened temporaries
    *("y", "y1", "y_bar", "y1_bar", "y_bar_dot", "result_1", "arg_1"),
    # generated functions
    *("f_grad", "f_value_and_grad", "f_jvp", "f_vjp", "f_hvp", "f_jvps", "f_fwd", "f_bwd"),
    *("_f_jvp", "_f_fwd", "_f_bwd", "_residuals", "_s2sad_factory"),
    # objects generated code calls by name
    *OBJECTS,
    # a method's instance, by name only
    *("self", "cls"),
]

# A loop with a branch (a tape read through a reader), a while loop (a trip count), values read
# after the loops; `{P0}`… are parameters and `{L}` a local named after patterns.
LOOPS = """
import math


def f(x, {P0}, {P1}, {P2}, {P3}, {P4}, {P5}):
    s = x
    for i in (0, 1, 2):
        if s > 0.5:
            s = math.sin(s) * {P0} + s * {P1}
        else:
            s = s * s + {P2}
    {L} = s * x + {P4} * {P5}
    t = {L}
    while t < 4.0:
        t = t * 1.5 + math.cos(t) * {P3}
    return t * x + {P0} * x * {P3}
"""

# Arrays: broadcasting (unbroadcast), NumPy (bound as np), vector-mode slopes (dw3_dx).
ARRAYS = """
import numpy


def f(x, {P0}, {P1}, {P2}, {P3}, {P4}, {P5}):
    v = numpy.sin(x) * {P0}
    for i in (0, 1):
        v = numpy.tanh(v * {P1} + x * {P2})
    {L} = numpy.sum(v * v) * {P4}
    return {L} * {P3} + numpy.sum(x * {P0}) - {P5}
"""

# A recursive function: the derivative of `main` calls helpers generated beside it for `f`
# (_f_jvp, _f_fwd, _f_bwd).
RECURSIVE = """
import math


def f(x, {P0}, {P1}, n):
    if n == 0:
        return x * {P0}
    {L} = f(x, {P0}, {P1}, n - 1)
    return math.sin({L}) * {P1} + x


def main(x, {P0}, {P1}, {P2}, {P3}, {P4}, {P5}):
    return f(x, {P0}, {P1}, 3) * {P2} + {P3} * {P4} - {P5}
"""

# Module globals named after patterns, read by functions inlined into `f`; `y` is also a
# parameter of `f`, which must not hide a global `y` a helper reads.
GLOBAL = """
import math

{P0} = 1.25
{P1} = 0.5
{P2} = 0.75
{P3} = 1.5
{P4} = 0.25
{P5} = 2.0


def scale(z):
    return z * {P0} + {P1} * {P4}


def shift(z):
    return z * {P2} - {P3} / {P5}


def f(x, y):
    s = x
    for i in range(2):
        s = math.sin(scale(s)) + shift(y)
    return scale(s) * y
"""

POINTS = {
    LOOPS: (0.7, 0.9, 1.1, 0.3, 0.5, 0.4, 0.6),
    ARRAYS: (np.array([0.3, -0.5, 0.8]), 0.7, 0.9, 1.2, 0.6, 1.3, 0.2),
    RECURSIVE: (0.6, 0.8, 0.7, 1.1, 0.4, 0.9, 0.3),
    GLOBAL: (0.4, 0.9),
}
KINDS = {LOOPS: "loops", ARRAYS: "arrays", RECURSIVE: "recursive", GLOBAL: "global"}
GROUP = 6  # patterns per generated function


def cases() -> list:
    """Each pattern as a parameter of each template (as a global for GLOBAL), six at a time, with a
    local named after the next group's first pattern."""
    found = []
    for template, kind in KINDS.items():
        names = [p for p in PATTERNS if not (template is GLOBAL and p in ("range", "y"))]
        if template is GLOBAL:
            names.insert(0, "y")  # a global named like a parameter of f, first
        groups = [names[k : k + GROUP] for k in range(0, len(names), GROUP)]
        for k, group in enumerate(groups):
            group = (group + PATTERNS[: GROUP - len(group)])[:GROUP]  # the last group filled up
            local = groups[(k + 1) % len(groups)][0]
            found.append(
                pytest.param(template, tuple(group), local, id=f"{kind}-{'-'.join(group)}")
            )
    return found


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("hygiene")
    sys.path.insert(0, str(path))
    yield path
    sys.path.remove(str(path))


def load(folder, template, patterns, local):
    """The function of ``template`` with its names spelled after ``patterns``, from a file."""
    name = f"hygiene_{KINDS[template]}_{'_'.join(str(PATTERNS.index(p)) for p in patterns)}"
    text = template.format(L=local, **{f"P{k}": p for k, p in enumerate(patterns)})
    (folder / f"{name}.py").write_text(text)
    module = importlib.import_module(name)
    return getattr(module, "main", module.f)


def differences(f, args, h=1e-6):
    """∂f/∂args[i] by central differences, element by element for an array."""
    grads = []
    for i, a in enumerate(args):
        a = np.asarray(a, dtype=float)
        g = np.zeros(a.shape)
        for k in np.ndindex(a.shape):
            up, down = a.copy(), a.copy()
            up[k] += h
            down[k] -= h
            g[k] = (f(*_at(args, i, up)) - f(*_at(args, i, down))) / (2 * h)
        grads.append(g if g.shape else float(g))
    return grads


def second_differences(f, args, h=1e-4):
    """The Hessian of f with respect to its (number) arguments, from four values per entry."""
    n = len(args)
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):

            def at(di, dj):
                point = list(args)
                point[i] += di
                point[j] += dj
                return f(*point)

            H[i, j] = (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)
    return H


def _at(args, i, value):
    return args[:i] + (value if value.shape else float(value),) + args[i + 1 :]


def close(got, expected, tol=1e-6):
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol)


@pytest.mark.parametrize("template, patterns, local", cases())
def test_names_like_generated_ones_change_nothing(folder, template, patterns, local):
    f = load(folder, template, patterns, local)
    args = POINTS[template]
    wrt = tuple(range(len(args)))
    expected = differences(f, args)

    close(s2sad.grad(f, wrt=wrt)(*args), expected)
    value, grads = s2sad.value_and_grad(f, wrt=wrt)(*args)
    assert value == f(*args)
    close(grads, expected)
    y, pullback = s2sad.vjp(f, *args)
    assert y == f(*args)
    close(pullback(1.0), expected)
    for i in range(len(args)):
        direction = [np.zeros_like(a) if isinstance(a, np.ndarray) else 0.0 for a in args]
        direction[i] = np.ones_like(args[i]) if isinstance(args[i], np.ndarray) else 1.0
        y, y_dot = s2sad.jvp(f, args, tuple(direction))
        assert y == f(*args)
        np.testing.assert_allclose(y_dot, np.sum(expected[i]), rtol=1e-6, atol=1e-6)
    for mode in ("forward", "reverse"):
        close(s2sad.jacobian(f, wrt=wrt, mode=mode)(*args), expected)
    if template in (LOOPS, GLOBAL):  # numbers only; recursion has no second derivatives
        H = s2sad.hessian(f, wrt=wrt)(*args)
        np.testing.assert_allclose(np.array(H), second_differences(f, args), rtol=1e-5, atol=1e-5)
    if template is not ARRAYS or set(patterns) & set(OBJECTS):
        _check_exported(f, args, expected)  # (an array module copies in NumPy helpers: slow)


def _check_exported(f, args, expected):
    """The exported module, in both forms, run without s2sad: its tangent and its gradient."""
    for teaching in (False, True):
        source = s2sad.export_source(f, teaching=teaching)
        namespace: dict = {}
        exec(compile(source, "<exported>", "exec"), namespace)
        tangent_fn, gradient_fn = (namespace[name] for name in namespace["__all__"])
        close(gradient_fn(*args), expected)
        ones = [np.ones_like(a) if isinstance(a, np.ndarray) else 1.0 for a in args]
        y, y_dot = tangent_fn(*args, *ones)  # along every input at once
        assert y == f(*args)
        total = sum(np.sum(g) for g in expected)
        np.testing.assert_allclose(np.sum(y_dot), total, rtol=1e-6, atol=1e-6)


HELPER_GLOBAL = """
import numpy

unbroadcast = 2.0
conform = 0.5
NoDerivativeHereError = 3.0


def f(x, a):
    return numpy.sum(x * a) * unbroadcast + conform * NoDerivativeHereError * numpy.sum(x)
"""


def test_an_export_renames_a_copied_helper_named_like_a_global_the_code_reads(folder):
    """The exported module copies NumPy helpers (unbroadcast, conform, the error the norm helpers
    raise); one named like a user's global is renamed there, and the global keeps its name.
    Exact: f = 2 a Σx + 1.5 Σx, so ∂f/∂x = 2 a + 1.5 and ∂f/∂a = 2 Σx."""
    (folder / "hygiene_helper_global.py").write_text(HELPER_GLOBAL)
    f = importlib.import_module("hygiene_helper_global").f
    x = np.array([1.0, 2.0])
    expected = ([7.5, 7.5], 6.0)
    close(s2sad.grad(f, wrt=(0, 1))(x, 3.0), expected)  # in s2sad, it is bound apart
    source = s2sad.export_source(f)
    assert "from hygiene_helper_global import NoDerivativeHereError, conform, unbroadcast" in source
    for name in ("unbroadcast", "conform", "NoDerivativeHereError"):
        assert f"def {name}(" not in source and f"class {name}(" not in source
    (folder / "hygiene_helper_global_derivatives.py").write_text(source)
    exported = importlib.import_module("hygiene_helper_global_derivatives")
    close(exported.f_grad(x, 3.0), expected)
    y, y_dot = exported.f_jvp(x, 3.0, np.ones(2), 1.0)
    np.testing.assert_allclose(y_dot, sum(np.sum(g) for g in expected), rtol=1e-12)
    assert y == f(x, 3.0)
