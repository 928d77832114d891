"""Where differentiated functions come from, and how the names they use resolve.

Every test compares a derivative with its analytic value: functions from this module, from other
modules, closures, notebook cells, lambdas and methods; aliases of math functions; module globals read
when the generated code runs; caching and re-transformation of redefined functions.
"""

import functools
import importlib
import importlib.util
import itertools
import linecache
import math
import sys
import textwrap
import traceback

import numpy as np
import pytest

import s2sad
from s2sad.pipeline import Spec, compiled

_unique = itertools.count(1)


def approx(value):
    return pytest.approx(value, rel=1e-12, abs=1e-12)


def write_module(tmp_path, source, stem="s2sad_frontend_mod"):
    """Write ``source`` to a fresh module file in ``tmp_path`` and return ``(name, path)``."""
    name = f"{stem}_{next(_unique)}"
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return name, path


def import_file(tmp_path, source):
    """Import ``source`` as a real module file (by spec, without touching ``sys.path``)."""
    name, path = write_module(tmp_path, source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exec_cell(name, source):
    """Run ``source`` as IPython runs a cell: registered in linecache under ``name``, then exec'd."""
    source = textwrap.dedent(source)
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    namespace = {"__name__": "__main__"}
    exec(compile(source, name, "exec"), namespace)
    return namespace


# --- where functions come from -------------------------------------------------------------------


def product_plus_sine(x1, x2):
    return x1 * x2 + math.sin(x1)


def test_module_level_function():
    x1, x2 = 0.7, -1.3
    assert s2sad.grad(product_plus_sine)(x1, x2) == approx(x2 + math.cos(x1))
    assert s2sad.grad(product_plus_sine, wrt=1)(x1, x2) == approx(x1)
    assert s2sad.grad(product_plus_sine, wrt=(0, 1))(x1, x2) == (
        approx(x2 + math.cos(x1)),
        approx(x1),
    )
    assert s2sad.grad(product_plus_sine, wrt="x2")(x1, x2) == approx(x1)


def test_function_from_module_imported_by_name(tmp_path, monkeypatch):
    name, _ = write_module(
        tmp_path,
        """
        import math

        def energy(q, p):
            return 0.5 * p * p + 1.0 - math.cos(q)
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    try:
        q, p = 0.4, 1.5
        dq, dp = s2sad.grad(module.energy, wrt=(0, 1))(q, p)
        assert dq == approx(math.sin(q))
        assert dp == approx(p)
    finally:
        sys.modules.pop(name, None)


def test_closure_over_constant():
    k = 3.0

    def f(x):
        return k * x

    assert s2sad.grad(f)(1.7) == 3.0


def _scaled_square(k):
    def f(x):
        return k * x * x

    return f


def test_each_closure_uses_its_own_value():
    f2, f5 = _scaled_square(2.0), _scaled_square(5.0)
    assert f2.__code__ is f5.__code__
    g2, g5 = s2sad.grad(f2), s2sad.grad(f5)
    assert g2(3.0) == approx(2 * 2.0 * 3.0)
    assert g5(3.0) == approx(2 * 5.0 * 3.0)
    # the first gradient is not overwritten by the second
    assert g2(3.0) == approx(12.0)
    assert s2sad.trace(f2)(3.0) == approx(18.0)
    assert s2sad.trace(f5)(3.0) == approx(45.0)


def test_rebound_closure_variable_is_seen_by_a_new_gradient():
    k = 3.0

    def f(x):
        return k * x * x

    assert s2sad.grad(f)(1.0) == 6.0
    k = 4.0
    assert f(1.0) == 4.0
    # the function now computes 4 x**2; a gradient asked for now must be 8 x
    assert s2sad.grad(f)(1.0) == 8.0


def test_closure_variable_assigned_after_definition():
    def f(x):
        return x * later

    later = 2.5
    assert s2sad.grad(f)(1.0) == 2.5


def test_closure_over_function():
    def make(act):
        def f(x):
            return act(2.0 * x)

        return f

    x = 0.3
    assert s2sad.grad(make(math.sin))(x) == approx(2.0 * math.cos(2.0 * x))
    assert s2sad.grad(make(math.exp))(x) == approx(2.0 * math.exp(2.0 * x))


def test_one_line_definitions(tmp_path):
    module = import_file(
        tmp_path,
        "import math\n"
        "def square(x): return x * x\n"
        "def two_steps(x): y = math.sin(x); return y * x\n",
    )
    x = 0.5
    assert s2sad.grad(module.square)(3.0) == 6.0
    assert s2sad.grad(module.two_steps)(x) == approx(math.cos(x) * x + math.sin(x))


def test_function_in_nested_scopes():
    def outer(scale):
        def middle(shift):
            def f(x):
                return scale * math.exp(x + shift)

            return f

        return middle

    f = outer(2.0)(0.5)
    assert s2sad.grad(f)(1.0) == approx(2.0 * math.exp(1.5))


def cube(x):
    return x * x * x


def test_gradient_of_a_gradient_is_the_second_derivative():
    """The generated gradient is itself a function; differentiating it must not repeat grad(cube)."""
    first = s2sad.grad(cube)
    assert first(1.0) == 3.0
    second = s2sad.grad(first)
    assert second(1.0) == 6.0 and second(2.5) == 15.0  # d²/dx² x³ = 6x


def _doubled(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return fn(x) * 2.0

    return wrapper


@_doubled
def doubled_square(x):
    return x * x


def test_function_wrapped_by_another_decorator():
    """``doubled_square`` is the wrapper (2 x**2), not the body under it (x**2)."""
    assert doubled_square(3.0) == 18.0
    g = s2sad.grad(doubled_square)
    assert g(3.0) == 12.0 and g(-0.5) == -2.0  # d/dx 2x² = 4x, not the body's 2x


# --- aliases and builtins ------------------------------------------------------------------------

ALIASES = """
import math
import math as m
from math import sin as s
from math import exp

mysin = math.sin


def with_from_import(x):
    return s(x) * 2.0


def with_module_alias(x):
    return m.cos(x) + m.log(x)


def with_global_alias(x):
    return mysin(x * x)


def with_plain_from_import(x):
    return exp(3.0 * x)
"""


def test_aliases(tmp_path):
    module = import_file(tmp_path, ALIASES)
    x = 0.8
    assert s2sad.grad(module.with_from_import)(x) == approx(2.0 * math.cos(x))
    assert s2sad.grad(module.with_module_alias)(x) == approx(-math.sin(x) + 1.0 / x)
    assert s2sad.grad(module.with_global_alias)(x) == approx(math.cos(x * x) * 2.0 * x)
    assert s2sad.grad(module.with_plain_from_import)(x) == approx(3.0 * math.exp(3.0 * x))


def absolute(x):
    return abs(x) * 3.0


def larger(x, y):
    return max(x, y) * 2.0


def largest(x, y, z):
    return max(x * x, y, z)


def smaller(x, y):
    return min(x, y)


def test_builtin_abs():
    assert s2sad.grad(absolute)(-2.0) == -3.0
    assert s2sad.grad(absolute)(2.0) == 3.0


def test_builtin_max_and_min():
    assert s2sad.grad(larger, wrt=(0, 1))(1.0, 4.0) == (0.0, 2.0)
    assert s2sad.grad(larger, wrt=(0, 1))(5.0, 4.0) == (2.0, 0.0)
    assert s2sad.grad(largest, wrt=(0, 1, 2))(3.0, 1.0, 2.0) == (6.0, 0.0, 0.0)
    assert s2sad.grad(largest, wrt=(0, 1, 2))(1.0, 2.0, 7.0) == (0.0, 0.0, 1.0)
    assert s2sad.grad(smaller, wrt=(0, 1))(1.0, 4.0) == (1.0, 0.0)


# --- module globals ------------------------------------------------------------------------------


GLOBALS = """
import math

SCALE = 2.0
act = math.sin


def scaled(x):
    return SCALE * x


def activated(x):
    return act(x)
"""


def test_global_constant_is_read_at_run_time(tmp_path):
    module = import_file(tmp_path, GLOBALS)
    g = s2sad.grad(module.scaled)
    assert g(1.5) == 2.0
    module.SCALE = 5.0
    assert g(1.5) == 5.0
    assert s2sad.grad(module.scaled)(1.5) == 5.0
    vg = s2sad.value_and_grad(module.scaled)
    module.SCALE = -1.5
    assert vg(4.0) == (-6.0, -1.5)


def test_rebound_global_function_is_transformed_again(tmp_path):
    module = import_file(tmp_path, GLOBALS)
    x = 0.6
    assert s2sad.grad(module.activated)(x) == approx(math.cos(x))
    module.act = math.cos
    assert s2sad.grad(module.activated)(x) == approx(-math.sin(x))
    module.act = math.exp
    assert s2sad.grad(module.activated)(x) == approx(math.exp(x))


# --- redefinition --------------------------------------------------------------------------------


def test_redefined_function_in_cells_is_transformed_again():
    first = exec_cell(f"<ipython-input-{next(_unique)}-redef>", "def f(x):\n    return x * x\n")
    assert s2sad.grad(first["f"])(3.0) == 6.0
    second = exec_cell(
        f"<ipython-input-{next(_unique)}-redef>", "def f(x):\n    return x * x * x + 1.0\n"
    )
    assert s2sad.grad(second["f"])(3.0) == 27.0
    assert s2sad.grad(first["f"])(3.0) == 6.0


def test_redefined_function_in_reloaded_file(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    name, path = write_module(tmp_path, "import math\n\ndef f(x):\n    return math.sin(x)\n")
    module = importlib.import_module(name)
    try:
        x = 0.9
        old = module.f
        assert s2sad.grad(old)(x) == approx(math.cos(x))
        path.write_text(
            "import math\n\n# a new version\ndef f(x):\n    return math.exp(x) * x + 10.0 * x\n"
        )
        module = importlib.reload(module)
        assert module.f is not old
        assert s2sad.grad(module.f)(x) == approx(math.exp(x) * (x + 1.0) + 10.0)
        assert "exp" in s2sad.trace(module.f).source
    finally:
        sys.modules.pop(name, None)


# --- notebook cells and lambdas ------------------------------------------------------------------


def test_ipython_cell():
    ns = exec_cell(
        "<ipython-input-3-abc>",
        """
        import math

        def loss(w, b):
            z = w * 2.0 + b
            return math.tanh(z)
        """,
    )
    w, b = 0.3, -0.1
    z = 2.0 * w + b
    slope = 1.0 - math.tanh(z) ** 2
    dw, db = s2sad.grad(ns["loss"], wrt=(0, 1))(w, b)
    assert dw == approx(2.0 * slope)
    assert db == approx(slope)
    assert str(s2sad.trace(ns["loss"])).startswith("def loss(w, b):")


def test_ipython_cell_lambda():
    ns = exec_cell("<ipython-input-7-lam>", "square = lambda x: x * x * 0.5\n")
    assert s2sad.grad(ns["square"])(3.0) == 3.0


def test_lambda_in_file():
    assert s2sad.grad(lambda x: x * x)(3.0) == 6.0
    cube = lambda t: t * t * t  # noqa: E731
    assert s2sad.grad(cube)(2.0) == 12.0
    assert s2sad.grad(lambda a, b: a * math.sin(b), wrt=1)(2.0, 0.5) == approx(2.0 * math.cos(0.5))


# --- methods -------------------------------------------------------------------------------------


class Model:
    def __init__(self, scale):
        self.scale = scale

    @s2sad.grad
    def loss(self, w):
        return self.scale * w * w

    @s2sad.grad(wrt=1)
    def second(self, a, b):
        return self.scale * a * b * b

    def energy(self, q):
        return self.scale * math.cos(q)


def test_decorated_method():
    assert Model(1.5).loss(3.0) == approx(2 * 1.5 * 3.0)
    assert Model(-2.0).loss(3.0) == approx(2 * -2.0 * 3.0)


def test_method_wrt_counts_arguments_after_self():
    # d/db (scale * a * b**2) = 2 * scale * a * b
    assert Model(3.0).second(2.0, 5.0) == approx(2 * 3.0 * 2.0 * 5.0)


class Kinds:
    @classmethod
    def by_class(cls, x, y):
        return x * y * y

    @staticmethod
    def static(x, y):
        return x * y * y


def test_classmethod_and_staticmethod():
    # classmethod: positions count after cls; staticmethod: every parameter counts
    assert s2sad.grad(Kinds.by_class)(2.0, 3.0) == 9.0
    assert s2sad.grad(Kinds.by_class, wrt=1)(2.0, 3.0) == 12.0
    assert s2sad.grad(Kinds.static)(2.0, 3.0) == 9.0
    assert s2sad.grad(Kinds.static, wrt=1)(2.0, 3.0) == 12.0


def test_bound_method():
    model = Model(4.0)
    q = 0.25
    assert s2sad.grad(model.energy)(q) == approx(-4.0 * math.sin(q))
    assert s2sad.value_and_grad(model.energy)(q) == (
        approx(4.0 * math.cos(q)),
        approx(-4.0 * math.sin(q)),
    )
    other = Model(-1.0)
    assert s2sad.grad(other.energy)(q) == approx(math.sin(q))


# --- decorator forms -----------------------------------------------------------------------------


@s2sad.grad
def decorated(x):
    return x * x * x


@s2sad.grad(wrt=(0, 1))
def decorated_pair(x, y):
    return x * y * y


@s2sad.value_and_grad
def decorated_value(x):
    return math.exp(2.0 * x)


def test_decorator_forms():
    assert decorated(2.0) == 12.0
    assert decorated_pair(3.0, 2.0) == (4.0, 12.0)
    value, slope = decorated_value(0.5)
    assert value == approx(math.exp(1.0))
    assert slope == approx(2.0 * math.exp(1.0))


@pytest.mark.parametrize("generated", [decorated, decorated_pair, decorated_value])
def test_decorated_source(generated):
    assert "def " in generated.source
    assert "_bar" in generated.source
    compile(generated.source, "<check>", "exec")


# --- print ---------------------------------------------------------------------------------------


def noisy(x, y):
    print("x is", x)
    z = x * y
    print(f"z = {z:.2f}!")
    return z + math.sin(x)


def test_print_runs_once_per_gradient_call(capsys):
    g = s2sad.grad(noisy, wrt=(0, 1))
    x, y = 2.0, 1.25
    assert g(x, y) == (approx(y + math.cos(x)), approx(x))
    assert capsys.readouterr().out == "x is 2.0\nz = 2.50!\n"
    g(x, y)
    g(1.0, 3.0)
    assert capsys.readouterr().out == "x is 2.0\nz = 2.50!\nx is 1.0\nz = 3.00!\n"


def test_print_in_value_and_grad(capsys):
    value, slope = s2sad.value_and_grad(noisy)(1.0, 4.0)
    assert value == approx(4.0 + math.sin(1.0))
    assert slope == approx(4.0 + math.cos(1.0))
    assert capsys.readouterr().out == "x is 1.0\nz = 4.00!\n"


def noisy_pair(x, y):
    print("forward", x)
    return x * y, x + y


def test_print_runs_once_per_forward_sweep(capsys):
    x, y = 2.0, 3.0
    jac = s2sad.jacobian(noisy_pair, wrt=(0, 1), mode="reverse")(x, y)
    assert np.allclose(jac, [[y, x], [1.0, 1.0]])
    assert capsys.readouterr().out == "forward 2.0\n"
    value, pullback = s2sad.vjp(noisy_pair, x, y)
    assert value == (6.0, 5.0)
    assert capsys.readouterr().out == "forward 2.0\n"
    assert pullback((1.0, 0.0)) == (y, x)
    assert pullback((0.0, 1.0)) == (1.0, 1.0)
    assert capsys.readouterr().out == ""


# --- arguments -----------------------------------------------------------------------------------


def test_int_arguments():
    assert s2sad.grad(product_plus_sine)(2, 5) == approx(5 + math.cos(2))
    assert s2sad.grad(product_plus_sine, wrt=1)(2, 5) == approx(2.0)


def with_default(x, a=2.0):
    return a * x * x


def test_default_parameter():
    assert s2sad.grad(with_default)(3.0) == 12.0
    assert s2sad.grad(with_default)(3.0, 5.0) == 30.0
    assert s2sad.grad(with_default, wrt=1)(3.0) == 9.0


def _with_default_factory(scale):
    def f(x, a=scale):
        return a * x * x

    return f


def test_defaults_of_functions_sharing_code():
    f2, f3 = _with_default_factory(2.0), _with_default_factory(3.0)
    assert f2.__code__ is f3.__code__
    assert f2(1.0) == 2.0 and f3(1.0) == 3.0
    assert s2sad.grad(f2)(1.0) == 4.0
    assert s2sad.grad(f3)(1.0) == 6.0


# --- tuples and augmented assignment -------------------------------------------------------------


def swapped(x, y):
    a, b = x, y
    a, b = b, a
    return 2.0 * a + b * b * b


def unpacked(x, y):
    pair = (x * y, x + y)
    p, s = pair
    return p / s


def augmented_chain(x, y):
    z = x
    z += y
    z *= x
    z -= 1.0
    z /= 2.0
    z **= 2
    return z


def several(x, y):
    return x * y, math.sin(x), x + y


def indexed(x, y):
    t = (x * y, x - y, x + y)
    return t[0] * t[-1] + t[1]


def test_swap():
    # swapped = 2y + x**3
    assert s2sad.grad(swapped, wrt=(0, 1))(2.0, 5.0) == (12.0, 2.0)


def test_tuple_unpacking():
    x, y = 2.0, 3.0
    s = x + y
    assert s2sad.grad(unpacked, wrt=(0, 1))(x, y) == (
        approx((y * s - x * y) / s**2),
        approx((x * s - x * y) / s**2),
    )


def test_augmented_assignment_chain():
    x, y = 1.5, 0.5
    u = ((x + y) * x - 1.0) / 2.0  # z before squaring
    du_dx, du_dy = (2.0 * x + y) / 2.0, x / 2.0
    assert s2sad.grad(augmented_chain, wrt=(0, 1))(x, y) == (
        approx(2 * u * du_dx),
        approx(2 * u * du_dy),
    )


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_several_outputs_jacobian(mode):
    x, y = 0.4, 2.5
    expected = np.array([[y, x], [math.cos(x), 0.0], [1.0, 1.0]])
    got = s2sad.jacobian(several, wrt=(0, 1), mode=mode)(x, y)
    assert got.shape == (3, 2)
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_several_outputs_vjp():
    x, y = 0.4, 2.5
    value, pullback = s2sad.vjp(several, x, y)
    assert value == (approx(x * y), approx(math.sin(x)), approx(x + y))
    bx, by = pullback((1.0, 2.0, 3.0))
    assert bx == approx(y + 2.0 * math.cos(x) + 3.0)
    assert by == approx(x + 3.0)


def test_tuple_indexing():
    x, y = 2.0, 3.0
    # (x*y)(x+y) + x - y
    assert s2sad.grad(indexed, wrt=(0, 1))(x, y) == (
        approx(y * (x + y) + x * y + 1.0),
        approx(x * (x + y) + x * y - 1.0),
    )


# --- user names never clash with generated names -------------------------------------------------

cos = 2.0  # a module global that shares its name with math.cos


def uses_global_named_cos(x):
    return math.sin(x) * cos


def parameter_named_cos(cos):
    return math.cos(cos) * cos


def parameters_named_like_ssa(w1, w2):
    return w1 * w2 + math.sin(w1)


def parameter_named_like_adjoint(x, x_bar):
    return x * x * x_bar


def parameter_named_like_tangent(x, x_dot):
    return x * x * x_dot


def test_global_with_a_math_function_name():
    x = 0.7
    assert s2sad.grad(uses_global_named_cos)(x) == approx(2.0 * math.cos(x))


def test_parameter_with_a_math_function_name():
    x = 0.7
    assert s2sad.grad(parameter_named_cos)(x) == approx(math.cos(x) - x * math.sin(x))


def test_parameters_named_like_ssa_variables():
    x1, x2 = 0.7, 2.0
    assert s2sad.grad(parameters_named_like_ssa, wrt=(0, 1))(x1, x2) == (
        approx(x2 + math.cos(x1)),
        approx(x1),
    )


def test_parameter_named_like_an_adjoint():
    x, c = 0.7, 3.0
    assert s2sad.grad(parameter_named_like_adjoint, wrt=(0, 1))(x, c) == (
        approx(2 * x * c),
        approx(x * x),
    )


def test_parameter_named_like_a_tangent():
    x, c = 0.7, 3.0
    value, tangent = s2sad.jvp(parameter_named_like_tangent, (x, c), (1.0, 0.0))
    assert value == approx(x * x * c)
    assert tangent == approx(2 * x * c)
    jac = s2sad.jacobian(parameter_named_like_tangent, wrt=(0, 1), mode="forward")(x, c)
    assert np.allclose(jac, [2 * x * c, x * x])


# --- runtime errors in generated code ------------------------------------------------------------


def root(x):
    return math.sqrt(x) * 3.0


def test_runtime_error_shows_generated_line():
    g = s2sad.grad(root)
    assert g(4.0) == approx(3.0 * 0.5 / 2.0)
    with pytest.raises(ZeroDivisionError) as info:
        g(0.0)
    frames = traceback.extract_tb(info.value.__traceback__)
    last = frames[-1]
    assert last.filename.startswith("<s2sad")
    assert last.line, "the generated line is not shown"
    assert last.line.strip() in g.source
    assert "/" in last.line
    formatted = "".join(traceback.format_exception(info.value))
    assert last.line.strip() in formatted
    assert '"<s2sad' in formatted


# --- caching -------------------------------------------------------------------------------------


def cached_target(x, y):
    return math.exp(x) * y


def test_grad_is_compiled_once():
    first = s2sad.grad(cached_target)
    second = s2sad.grad(cached_target)
    assert first is second
    assert first.source == second.source
    assert s2sad.grad(cached_target, wrt=(0, 1)) is s2sad.grad(cached_target, wrt=(0, 1))
    assert s2sad.value_and_grad(cached_target) is s2sad.value_and_grad(cached_target)
    assert first(1.0, 2.0) == approx(2.0 * math.e)


def test_different_wrt_is_a_different_program():
    by_x = s2sad.grad(cached_target, wrt=0)
    by_y = s2sad.grad(cached_target, wrt=1)
    assert by_x is not by_y
    assert by_x(1.0, 2.0) == approx(2.0 * math.e)
    assert by_y(1.0, 2.0) == approx(math.e)


def test_closures_share_compiled_code():
    f2, f5 = _scaled_square(2.0), _scaled_square(5.0)
    g2, g5 = s2sad.grad(f2), s2sad.grad(f5)
    spec = Spec("grad", ("x",), single=True)
    assert compiled(f2, spec) is compiled(f5, spec)
    assert g2.source == g5.source
    assert g2 is s2sad.grad(f2)
    assert (g2(1.0), g5(1.0)) == (4.0, 10.0)
